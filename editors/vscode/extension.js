// Starts `snnc lsp` as a language server when an snnc executable is found
// (setting `snnc.path`, else `snnc` on PATH). Without one the extension
// still contributes highlighting and editing rules, and stays silent: a
// user who only reads models should not be nagged to install the compiler.
// A server that fails to start or keeps crashing is reported once, in the
// output channel and one warning, never as a stream of popups.
'use strict';

const fs = require('fs');
const path = require('path');
const { execFile } = require('child_process');
const vscode = require('vscode');

/** @type {import('vscode-languageclient/node').LanguageClient | undefined} */
let client;
/** @type {vscode.OutputChannel | undefined} */
let output;
let warned = false;

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function configuredPath() {
  return vscode.workspace.getConfiguration('snnc').get('path', '').trim();
}

/** The snnc executable to run, or undefined when none can be found. */
function findSnnc() {
  const configured = configuredPath();
  if (configured) {
    return isExecutable(configured) ? configured : undefined;
  }
  const names = process.platform === 'win32' ? ['snnc.exe', 'snnc.cmd', 'snnc'] : ['snnc'];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

/** Whether `command --help` lists the `lsp` subcommand (older builds lack it). */
function hasLsp(command) {
  return new Promise((resolve) => {
    execFile(command, ['--help'], { timeout: 5000 }, (err, stdout) => {
      resolve(!err && /^\s+lsp\b/m.test(String(stdout)));
    });
  });
}

/** One warning per session, whatever goes wrong how often. */
function warnOnce(message) {
  if (output) output.appendLine(message);
  if (warned) return;
  warned = true;
  vscode.window.showWarningMessage(message);
}

async function start(context) {
  const command = findSnnc();
  if (!command) {
    if (configuredPath()) {
      warnOnce(`snnc.path is set to "${configuredPath()}", which is not an executable; only highlighting is active.`);
    }
    return;
  }
  if (!(await hasLsp(command))) {
    warnOnce(`${command} has no \`lsp\` subcommand (an older snnc?); only highlighting is active.`);
    return;
  }
  // Loaded only when a server will run, so highlighting never depends on it.
  const {
    LanguageClient,
    TransportKind,
    ErrorAction,
    CloseAction,
    RevealOutputChannelOn,
  } = require('vscode-languageclient/node');
  const serverOptions = {
    run: { command, args: ['lsp'], transport: TransportKind.stdio },
    debug: { command, args: ['lsp'], transport: TransportKind.stdio },
  };
  // Restart a crashed server a few times, silently; then give up with one warning.
  const restarts = [];
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'snn' }, { scheme: 'untitled', language: 'snn' }],
    outputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationFailedHandler: (err) => {
      warnOnce(`snnc lsp failed to initialize (${err && err.message ? err.message : err}); only highlighting is active.`);
      return false;
    },
    errorHandler: {
      error: () => ({ action: ErrorAction.Continue, handled: true }),
      closed: () => {
        const now = Date.now();
        restarts.push(now);
        while (restarts.length && now - restarts[0] > 3 * 60 * 1000) restarts.shift();
        if (restarts.length <= 4) {
          return { action: CloseAction.Restart, handled: true };
        }
        warnOnce('snnc lsp stopped repeatedly; see the "snnc" output channel. Only highlighting is active.');
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    },
  };
  client = new LanguageClient('snnc', 'snnc language server', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    warnOnce(`snnc lsp could not start (${err && err.message ? err.message : err}); only highlighting is active.`);
    client = undefined;
  }
}

async function stop() {
  const c = client;
  client = undefined;
  if (c) {
    try {
      await c.stop();
    } catch {
      // already stopped
    }
  }
}

async function activate(context) {
  output = vscode.window.createOutputChannel('snnc');
  context.subscriptions.push(output);
  context.subscriptions.push({ dispose: () => { stop(); } });
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration('snnc.path')) return;
      await stop();
      warned = false;
      await start(context);
    }),
  );
  await start(context);
}

async function deactivate() {
  await stop();
}

module.exports = { activate, deactivate };
