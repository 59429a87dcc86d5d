// Tokenises every examples/*.snn and stdlib/*.snn with the real TextMate
// engine (vscode-textmate + Oniguruma, as VS Code does) and compares the
// tokens with committed snapshots, then checks a few scopes that must hold
// whatever the snapshots say. `UPDATE=1 node test.mjs` re-blesses snapshots.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import vsctm from 'vscode-textmate';
import oniguruma from 'vscode-oniguruma';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const grammarPath = path.join(root, 'spec', 'snn.tmLanguage.json');
const snapshotDir = path.join(here, 'snapshots');
const update = process.env.UPDATE === '1';

const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));

const registry = new vsctm.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (s) => new oniguruma.OnigString(s),
  }),
  loadGrammar: async (scopeName) => {
    if (scopeName !== 'source.snn') return null;
    return vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath);
  },
});
const grammar = await registry.loadGrammar('source.snn');

/** Tokens of `text`: [{ line, text, scopes }] with the root scope left out. */
function tokenize(text) {
  const out = [];
  let state = vsctm.INITIAL;
  text.split(/\r?\n/).forEach((line, i) => {
    const r = grammar.tokenizeLine(line, state);
    for (const t of r.tokens) {
      const piece = line.slice(t.startIndex, t.endIndex);
      out.push({ line: i + 1, text: piece, scopes: t.scopes.slice(1) });
    }
    state = r.ruleStack;
  });
  return out;
}

/** Snapshot form: one line per token that is not bare whitespace. */
function render(tokens) {
  return tokens
    .filter((t) => t.text.trim() !== '' || t.scopes.length > 0)
    .map((t) => `${JSON.stringify(t.text).slice(1, -1)}\t${t.scopes.join(' ') || '-'}`)
    .join('\n') + '\n';
}

const failures = [];
function fail(msg) { failures.push(msg); }

// --- snapshots -------------------------------------------------------------
const sources = ['examples', 'stdlib'].flatMap((dir) => {
  const d = path.join(root, dir);
  if (!fs.existsSync(d)) return [];
  return fs.readdirSync(d).filter((f) => f.endsWith('.snn')).sort()
    .map((f) => ({ name: `${dir}-${f}`, file: path.join(d, f) }));
});
if (sources.length === 0) fail('no examples/*.snn or stdlib/*.snn found');
fs.mkdirSync(snapshotDir, { recursive: true });
const expectedSnapshots = new Set();
for (const { name, file } of sources) {
  const snapName = `${name}.tokens.txt`;
  expectedSnapshots.add(snapName);
  const snapPath = path.join(snapshotDir, snapName);
  const actual = render(tokenize(fs.readFileSync(file, 'utf8')));
  if (update) { fs.writeFileSync(snapPath, actual); continue; }
  if (!fs.existsSync(snapPath)) { fail(`${snapName}: missing snapshot (run UPDATE=1 node test.mjs)`); continue; }
  const expected = fs.readFileSync(snapPath, 'utf8');
  if (expected !== actual) {
    const a = expected.split('\n'); const b = actual.split('\n');
    const diffs = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) diffs.push(`  token ${i + 1}:\n    - ${a[i] ?? '(none)'}\n    + ${b[i] ?? '(none)'}`);
    }
    fail(`${snapName}: ${diffs.length} token line(s) differ; first ones:\n${diffs.slice(0, 5).join('\n')}`);
  }
}
for (const f of fs.readdirSync(snapshotDir)) {
  if (!expectedSnapshots.has(f)) {
    if (update) fs.unlinkSync(path.join(snapshotDir, f));
    else fail(`${f}: snapshot for a file that no longer exists (run UPDATE=1 node test.mjs)`);
  }
}

// --- targeted assertions -----------------------------------------------------
/** Asserts that `piece`, the `nth` occurrence in `src`, has a scope starting with `scope`. */
function expectScope(src, piece, scope, nth = 0) {
  const toks = tokenize(src).filter((t) => t.text === piece);
  const t = toks[nth];
  if (!t) { fail(`in ${JSON.stringify(src)}: no token ${JSON.stringify(piece)}`); return; }
  if (!t.scopes.some((s) => s === scope || s.startsWith(scope + '.'))) {
    fail(`in ${JSON.stringify(src)}: ${JSON.stringify(piece)} has [${t.scopes.join(', ')}], expected ${scope}`);
  }
}
function expectNoScope(src, piece, scope) {
  for (const t of tokenize(src).filter((t) => t.text === piece)) {
    if (t.scopes.some((s) => s === scope || s.startsWith(scope + '.'))) {
      fail(`in ${JSON.stringify(src)}: ${JSON.stringify(piece)} must not be ${scope}, has [${t.scopes.join(', ')}]`);
    }
  }
}

expectScope('delay 10 ms', '10', 'constant.numeric');
expectScope('delay 10 ms', 'ms', 'keyword.other.unit');
expectScope('param C: uF/cm^2 = 1 uF/cm^2', 'uF/cm^2', 'support.type.unit');
expectScope('param C: uF/cm^2 = 1 uF/cm^2', 'uF/cm^2', 'keyword.other.unit', 1);
expectScope('param R: Mohm = 1 Mohm', 'Mohm', 'keyword.other.unit', 1);
expectScope('x = 10 mV / tau', 'mV', 'keyword.other.unit');
expectNoScope('x = 10 mV / tau', 'tau', 'keyword.other.unit');
expectScope('state g: [w] = 0', '[w]', 'support.type.unit');
expectNoScope('record V of E[0:10] every 1 ms', '10', 'support.type.unit');
expectScope('    dV/dt = (V_rest - V) / tau', 'V', 'variable.other.state');
expectScope('    dV/dt = (V_rest - V) / tau', '/dt', 'entity.name.function.derivative');
expectScope('    param tau: ms = 10 ms', 'param', 'storage.modifier.member');
expectScope('neuron LIF {', 'neuron', 'storage.type.model');
expectScope('neuron LIF {', 'LIF', 'entity.name.type');
expectScope('spike when V >= V_th', 'spike', 'keyword.other.event');
expectScope('integrate rk4', 'rk4', 'support.constant.integration-method');
expectScope('    connect fixed_prob(0.02)', 'fixed_prob', 'support.function.connect');
expectScope('V ~ uniform(-60 mV, -50 mV)', 'uniform', 'support.function.random');
expectScope('V ~ uniform(-60 mV, -50 mV)', '~', 'keyword.operator.distribution');
expectScope('I = exp(-t / tau)', 'exp', 'support.function.math');
expectScope('projection E -> E, I {', '->', 'keyword.operator.arrow');
expectScope('on_pre { g += w }', '+=', 'keyword.operator.assignment.compound');
expectScope('on_pre { g += w }', 'w', 'variable.language');
expectScope('on_post { w = clip(w + Apre, 0, w_max) }', 'on_post', 'keyword.other.event');
expectScope('param delay: ms = 1 ms', 'delay', 'variable.other');
expectScope('    delay 1 ms', 'delay', 'keyword.other.network.contextual');
expectScope('x = 1 // note', ' note', 'comment.line.double-slash');
expectScope('/// Leaky integrate-and-fire.', ' Leaky integrate-and-fire.', 'comment.line.documentation');
expectScope('a /* b */ c', ' b ', 'comment.block');
expectScope('connect from_file("edges.npy")', 'edges.npy', 'string.quoted.double');
expectScope('import std.{LIF, Expon}', 'import', 'keyword.control.import');
expectScope('    dt = 0.1 ms', 'dt', 'variable.language.setting');

if (update) console.log(`blessed ${sources.length} snapshot(s)`);
if (failures.length) {
  console.error(`${failures.length} failure(s):\n` + failures.map((f) => `- ${f}`).join('\n'));
  process.exit(1);
}
console.log(`ok: ${sources.length} snapshot(s) match, targeted assertions pass`);
