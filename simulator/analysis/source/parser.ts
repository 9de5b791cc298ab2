// The C parser of the source tier: tree-sitter C compiled to WebAssembly (web-tree-sitter + tree-sitter-c), so nothing
// is built natively. Initialisation is asynchronous and happens once (`initParser`); after that every parse is
// synchronous. The last tree of each file is kept so that the next version of the same document is parsed
// incrementally (tree.edit + parse with the old tree), which is what keeps a keystroke in a 2,000-line file cheap.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Language, Parser, type Node, type Tree } from 'web-tree-sitter';

export type { Node, Tree };

const WASM_FILES = { runtime: 'tree-sitter.wasm', c: 'tree-sitter-c.wasm' } as const;
const WASM_MODULES = { runtime: 'web-tree-sitter/tree-sitter.wasm', c: 'tree-sitter-c/tree-sitter-c.wasm' } as const;

let parser: Parser | undefined;
let initialising: Promise<void> | undefined;

/**
 * Where the two .wasm files are. The package is CommonJS (no "type": "module"), both under tsx and in the esbuild
 * bundles (dist/cli.js, dist/server.js), so `__dirname` is this module's folder or the bundle's. Tried in order: an
 * explicit directory, `XDP_LENS_WASM_DIR`, the files next to this module or bundle (a packaged extension copies them
 * into dist/), then node_modules resolved from here and from the working directory.
 */
export function locateWasm(dir?: string): { runtime: string; c: string; tried: string[] } {
  const tried: string[] = [];
  const dirs = [dir, process.env.XDP_LENS_WASM_DIR, typeof __dirname === 'string' ? __dirname : undefined].filter(
    (d): d is string => typeof d === 'string' && d.length > 0,
  );
  for (const d of dirs) {
    const runtime = join(d, WASM_FILES.runtime);
    const c = join(d, WASM_FILES.c);
    tried.push(d);
    if (existsSync(runtime) && existsSync(c)) return { runtime, c, tried };
  }
  const bases: string[] = [];
  if (typeof __dirname === 'string') bases.push(join(__dirname, 'index.js'));
  bases.push(join(process.cwd(), 'package.json'));
  for (const base of bases) {
    try {
      const req = createRequire(base);
      const found = { runtime: req.resolve(WASM_MODULES.runtime), c: req.resolve(WASM_MODULES.c), tried };
      return found;
    } catch {
      tried.push(dirname(base));
    }
  }
  throw new Error(
    `source analysis: cannot find ${WASM_FILES.runtime} and ${WASM_FILES.c} (looked in ${tried.join(', ')}); ` +
      'install the npm packages web-tree-sitter and tree-sitter-c, or set XDP_LENS_WASM_DIR to a folder holding both files',
  );
}

export async function initParser(wasmDir?: string): Promise<void> {
  if (parser) return;
  if (!initialising) {
    initialising = (async () => {
      const files = locateWasm(wasmDir);
      await Parser.init({ locateFile: () => files.runtime });
      const language = await Language.load(files.c);
      const p = new Parser();
      p.setLanguage(language);
      parser = p;
    })();
    initialising.catch(() => {
      initialising = undefined;
    });
  }
  await initialising;
}

export function parserReady(): boolean {
  return parser !== undefined;
}

/**
 * Function-like and attribute macros that tree-sitter cannot know (they come from bpf_helpers.h) and that would
 * derail the parse of the declaration they sit in. They are replaced by spaces of the same length, so every position
 * in the tree is still a position in the user's text. Section names are remembered by offset.
 */
const BLANKED = /\b(?:SEC|__section)\s*\(\s*"((?:[^"\\\n]|\\.)*)"\s*\)|\b(?:__always_inline|__noinline|__inline__|__inline|__weak|__hidden|__ksym|__kconfig|__maybe_unused)\b/g;

export interface SectionMark {
  offset: number;
  end: number;
  name: string;
}

/**
 * `#ifdef __cplusplus` / `extern "C" {` / `#endif` and the closing `}` of a header shared with C++: tree-sitter
 * parses the unbalanced brace as a linkage block that swallows the rest of the header into the `#ifdef` (which C
 * never takes), so the header's macros and structs were lost. Those lines are C++ only; they are blanked too.
 */
const CPLUSPLUS_ONLY = /^([ \t]*#[ \t]*if(?:def[ \t]+__cplusplus|[ \t]+defined[ \t]*\(?[ \t]*__cplusplus[ \t]*\)?)[ \t]*(?:\/\/[^\n]*|\/\*[^\n]*?\*\/)?[ \t]*\r?\n)((?:[ \t]*(?:extern[ \t]+"C"[ \t]*\{|\})[ \t]*(?:\/\/[^\n]*|\/\*[^\n]*?\*\/)?[ \t]*\r?\n)+)(?=[ \t]*#[ \t]*endif\b)/gm;

export function blankMacros(text: string): { text: string; sections: SectionMark[] } {
  const sections: SectionMark[] = [];
  const out = text
    .replace(BLANKED, (m: string, name: string | undefined, offset: number) => {
      if (name !== undefined) sections.push({ offset, end: offset + m.length, name });
      return m.replace(/[^\n]/g, ' ');
    })
    .replace(CPLUSPLUS_ONLY, (_m: string, head: string, body: string) => head + body.replace(/[^\r\n]/g, ' '));
  return { text: out, sections };
}

interface CachedTree {
  text: string;
  tree: Tree;
}

const MAX_CACHED_TREES = 32;
const trees = new Map<string, CachedTree>();

/** Largest text the tier parses; past this a file is not source an editor types in. */
export const MAX_SOURCE_CHARS = 8 * 1024 * 1024;

/**
 * Parses `text` (already blanked) as C. The previous tree for `key` is reused for an incremental parse when there is
 * one. Returns undefined only when the parser gave up (it does not for any input seen so far).
 */
export function parseC(key: string, text: string): Tree | undefined {
  if (!parser) throw new Error('source analysis: initSourceAnalysis() must be awaited before analyzeSource()');
  const cached = trees.get(key);
  if (cached && cached.text === text) {
    trees.delete(key);
    trees.set(key, cached);
    return cached.tree;
  }
  let tree: Tree | null = null;
  if (cached) {
    const edit = singleEdit(cached.text, text);
    cached.tree.edit(edit);
    tree = parser.parse(text, cached.tree);
    cached.tree.delete();
    trees.delete(key);
  } else {
    tree = parser.parse(text);
  }
  if (!tree) return undefined;
  trees.set(key, { text, tree });
  return tree;
}

/** Frees the least recently parsed trees beyond the cache size, never one of `inUse` (the analysis just done). */
export function trimTreeCache(inUse: ReadonlySet<string>): void {
  for (const key of [...trees.keys()]) {
    if (trees.size <= MAX_CACHED_TREES) break;
    if (inUse.has(key)) continue;
    trees.get(key)?.tree.delete();
    trees.delete(key);
  }
}

/** Parses a small snippet (a macro expansion) without touching the per-file cache. The caller deletes the tree. */
export function parseSnippet(text: string): Tree | undefined {
  if (!parser) throw new Error('source analysis: initSourceAnalysis() must be awaited before analyzeSource()');
  return parser.parse(text) ?? undefined;
}

/** The one edit that turns `a` into `b`: common prefix and suffix kept, the middle replaced. */
function singleEdit(a: string, b: string) {
  let start = 0;
  const min = Math.min(a.length, b.length);
  while (start < min && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a.charCodeAt(endA - 1) === b.charCodeAt(endB - 1)) {
    endA--;
    endB--;
  }
  return {
    startIndex: start,
    oldEndIndex: endA,
    newEndIndex: endB,
    startPosition: pointAt(a, start),
    oldEndPosition: pointAt(a, endA),
    newEndPosition: pointAt(b, endB),
  };
}

function pointAt(text: string, index: number): { row: number; column: number } {
  let row = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    row++;
    lineStart = i + 1;
  }
  return { row, column: index - lineStart };
}
