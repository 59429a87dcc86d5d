// The grammar and language configuration live in spec/ (the single source,
// checked against the compiler's vocabulary by compiler/tests/editor_grammar.rs);
// the extension gets gitignored copies at package time instead of a hand copy.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ext = path.resolve(here, '..');
const spec = path.resolve(ext, '..', '..', 'spec');

fs.mkdirSync(path.join(ext, 'syntaxes'), { recursive: true });
fs.copyFileSync(path.join(spec, 'snn.tmLanguage.json'), path.join(ext, 'syntaxes', 'snn.tmLanguage.json'));
fs.copyFileSync(path.join(spec, 'language-configuration.json'), path.join(ext, 'language-configuration.json'));
console.log('copied spec/snn.tmLanguage.json and spec/language-configuration.json');
