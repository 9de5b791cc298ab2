// Builds the TextMate grammars: syntaxes/*.tmLanguage.yaml -> syntaxes/*.tmLanguage.json.
// The JSON files are committed (the .vsix ships them); test/grammar checks that they equal a fresh build.
// Usage: node scripts/build-grammars.mjs [--check]   (--check: exit 1 if a committed JSON file is out of date)
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load as loadYaml } from 'js-yaml';

const syntaxesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'syntaxes');

/** The JSON text for one YAML grammar, or an error naming the file and the YAML position. */
export function buildGrammar(yamlPath) {
  let doc;
  try {
    doc = loadYaml(readFileSync(yamlPath, 'utf8'), { filename: yamlPath });
  } catch (e) {
    throw new Error(`${yamlPath}: ${e.message}`);
  }
  if (!doc || typeof doc !== 'object' || typeof doc.scopeName !== 'string') {
    throw new Error(`${yamlPath}: not a TextMate grammar (no scopeName at the top level)`);
  }
  checkRegexes(yamlPath, doc, []);
  return JSON.stringify(doc, null, 2) + '\n';
}

// Oniguruma syntax is checked when the grammar is tokenized (test/grammar); here only that every match/begin/end is
// a string, so that a YAML slip (an unquoted value that parsed as a number or a map) is caught with its path.
function checkRegexes(file, node, path) {
  if (Array.isArray(node)) {
    node.forEach((v, i) => checkRegexes(file, v, [...path, String(i)]));
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'match' || k === 'begin' || k === 'end' || k === 'while') && typeof v !== 'string') {
        throw new Error(`${file}: ${[...path, k].join('.')} must be a string, got ${JSON.stringify(v)}`);
      }
      checkRegexes(file, v, [...path, k]);
    }
  }
}

export function grammarSources() {
  return readdirSync(syntaxesDir)
    .filter((f) => f.endsWith('.tmLanguage.yaml'))
    .sort()
    .map((f) => ({ yaml: join(syntaxesDir, f), json: join(syntaxesDir, f.replace(/\.yaml$/, '.json')) }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const { yaml: src, json } of grammarSources()) {
    const text = buildGrammar(src);
    if (check) {
      if (!existsSync(json) || readFileSync(json, 'utf8') !== text) {
        console.error(`${json} is out of date with ${src}; run: node scripts/build-grammars.mjs`);
        stale++;
      }
    } else if (!existsSync(json) || readFileSync(json, 'utf8') !== text) {
      writeFileSync(json, text);
    }
  }
  process.exit(stale ? 1 : 0);
}
