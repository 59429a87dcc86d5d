// Starts `snnc lsp` as a language server when an snnc executable is found
// (setting `snnc.path`, else `snnc` on PATH). Without one the extension
// still contributes highlighting and editing rules, and stays silent: a
// user who only reads models should not be nagged to install the compiler.
'use strict';

const fs = require('fs');
const path = require('path');
const vscode = require('vscode');

/** @type {import('vscode-languageclient/node').LanguageClient | undefined} */
let client;

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The snnc executable to run, or undefined when none can be found. */
function findSnnc() {
  const configured = vscode.workspace.getConfiguration('snnc').get('path', '').trim();
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

async function activate(context) {
  const command = findSnnc();
  if (!command) {
    const configured = vscode.workspace.getConfiguration('snnc').get('path', '').trim();
    if (configured) {
      vscode.window.showWarningMessage(`snnc.path is set to "${configured}", which is not an executable; only highlighting is active.`);
    }
    return;
  }
  // Loaded only when a server will run, so highlighting never depends on it.
  const { LanguageClient, TransportKind } = require('vscode-languageclient/node');
  const serverOptions = {
    run: { command, args: ['lsp'], transport: TransportKind.stdio },
    debug: { command, args: ['lsp'], transport: TransportKind.stdio },
  };
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'snn' }, { scheme: 'untitled', language: 'snn' }],
  };
  client = new LanguageClient('snnc', 'snnc language server', serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => client && client.stop() });
  try {
    await client.start();
  } catch (err) {
    // An snnc without the `lsp` subcommand (older build): keep highlighting.
    vscode.window.showWarningMessage(`snnc lsp could not start (${err && err.message ? err.message : err}); only highlighting is active.`);
    client = undefined;
  }
}

async function deactivate() {
  if (client) await client.stop();
}

module.exports = { activate, deactivate };
