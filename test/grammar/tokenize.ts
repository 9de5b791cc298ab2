// Tokenizes text with the project's grammars through vscode-textmate and Oniguruma (wasm), the engine VS Code uses,
// and renders the tokens as a readable snapshot.
//
// The injection grammar needs a host: VS Code's own C grammar is not vendored here. HOST_C_GRAMMAR below is a small
// stand-in with the scopes the injection selector depends on (comments, strings) plus a few C basics, so the tests
// show that the injection applies in code and stays out of comments and strings, the way it will on top of the real one.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { INITIAL, Registry, parseRawGrammar, type IGrammar, type IRawGrammar } from 'vscode-textmate';
import { OnigScanner, OnigString, loadWASM } from 'vscode-oniguruma';

const require = createRequire(join(REPO, 'package.json'));
export const SYNTAXES_DIR = join(REPO, 'syntaxes');

export const HOST_C_GRAMMAR = {
  scopeName: 'source.c',
  name: 'C (test host)',
  patterns: [
    { name: 'comment.line.double-slash.c', match: '//.*$' },
    { name: 'comment.block.c', begin: '/\\*', end: '\\*/' },
    {
      name: 'string.quoted.double.c',
      begin: '"',
      end: '"',
      patterns: [{ name: 'constant.character.escape.c', match: '\\\\.' }],
    },
    { name: 'meta.preprocessor.include.c', match: '^\\s*#\\s*include\\s+[<"][^>"]*[>"]' },
    { name: 'keyword.control.c', match: '\\b(?:return|if|else|for|while|sizeof)\\b' },
    { name: 'storage.type.c', match: '\\b(?:struct|int|char|void|long|__u32|__u64)\\b' },
    { name: 'constant.numeric.c', match: '\\b\\d+\\b' },
  ],
};

let onigReady: Promise<void> | undefined;
function loadOniguruma(): Promise<void> {
  if (!onigReady) {
    const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    onigReady = loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer);
  }
  return onigReady;
}

/** Parses a grammar file from syntaxes/ (the built JSON, as the extension ships it). */
export function grammarFile(name: string): IRawGrammar {
  const path = join(SYNTAXES_DIR, name);
  return parseRawGrammar(readFileSync(path, 'utf8'), path);
}

/**
 * A registry with a C grammar (the test host unless `hostCGrammarPath` names another, e.g. VS Code's own), the XDP
 * injection into it and the bytecode grammar.
 */
export async function loadGrammars(hostCGrammarPath?: string): Promise<{ c: IGrammar; bytecode: IGrammar }> {
  await loadOniguruma();
  const raw: Record<string, IRawGrammar> = {
    'source.c': hostCGrammarPath
      ? parseRawGrammar(readFileSync(hostCGrammarPath, 'utf8'), hostCGrammarPath)
      : parseRawGrammar(JSON.stringify(HOST_C_GRAMMAR), 'host-c.json'),
    'source.c.xdp-injection': grammarFile('xdp-c.injection.tmLanguage.json'),
    'source.xdp-bytecode': grammarFile('xdp-bytecode.tmLanguage.json'),
  };
  const registry = new Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources: string[]) => new OnigScanner(sources),
      createOnigString: (s: string) => new OnigString(s),
    }),
    loadGrammar: async (scopeName: string) => raw[scopeName] ?? null,
    // What VS Code derives from `contributes.grammars[].injectTo` in package.json.
    getInjections: (scopeName: string) => (scopeName === 'source.c' ? ['source.c.xdp-injection'] : undefined),
  });
  const c = await registry.loadGrammar('source.c');
  const bytecode = await registry.loadGrammar('source.xdp-bytecode');
  if (!c || !bytecode) throw new Error('grammar registry did not load source.c / source.xdp-bytecode');
  return { c, bytecode };
}

export interface Token {
  line: number;
  text: string;
  scopes: string[];
}

/** Tokens of every line; the root scope is dropped from each token's scopes. */
export function tokenize(grammar: IGrammar, text: string): Token[] {
  const out: Token[] = [];
  let state = INITIAL;
  text.split('\n').forEach((lineText, line) => {
    const r = grammar.tokenizeLine(lineText, state);
    for (const t of r.tokens) {
      out.push({ line, text: lineText.slice(t.startIndex, t.endIndex), scopes: t.scopes.slice(1) });
    }
    state = r.ruleStack;
  });
  return out;
}

/** The innermost scopes of the first token whose text is `text` on a line containing `lineHas`. */
export function scopesOf(tokens: Token[], source: string, lineHas: string, text: string): string[] {
  const lines = source.split('\n');
  const line = lines.findIndex((l) => l.includes(lineHas));
  if (line < 0) throw new Error(`no line contains ${JSON.stringify(lineHas)}`);
  const tok = tokens.find((t) => t.line === line && t.text.trim() === text);
  if (!tok) {
    const seen = tokens.filter((t) => t.line === line).map((t) => JSON.stringify(t.text));
    throw new Error(`line ${line + 1} has no token ${JSON.stringify(text)}; tokens: ${seen.join(' ')}`);
  }
  return tok.scopes;
}

/**
 * A snapshot: each source line after `>`, then one row per token that is not blank: the token text, then its scopes
 * (`-` when it has none besides the root). Plain text is kept so that a rule that starts matching too much shows up.
 */
export function renderSnapshot(grammar: IGrammar, text: string): string {
  const tokens = tokenize(grammar, text);
  const rows: string[] = [];
  text.split('\n').forEach((lineText, line) => {
    if (line === text.split('\n').length - 1 && lineText === '') return;
    rows.push(`>${lineText}`);
    for (const t of tokens.filter((t) => t.line === line && t.text.trim() !== '')) {
      rows.push(` ${JSON.stringify(t.text).padEnd(24)} ${t.scopes.length ? t.scopes.join(' ') : '-'}`);
    }
  });
  return rows.join('\n') + '\n';
}
