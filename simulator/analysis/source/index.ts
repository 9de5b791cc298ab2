// The source tier: analysis of XDP programs on the C text as it is typed, no compiler involved. It parses the file
// (and its local includes) with tree-sitter, finds the programs (functions in `xdp*` sections and what they call),
// and runs the abstract interpreter of interp.ts over each. Total by design: any text, however broken, gives a
// list of findings (possibly empty), never an exception once `initSourceAnalysis` has resolved.
import type { Finding } from '../findings.ts';
import { Analyzer, type DriverMode } from './interp.ts';
import { MAX_SOURCE_CHARS, initParser, parserReady, trimTreeCache } from './parser.ts';
import { trimSnippets, collect, type FunctionDecl } from './unit.ts';

export interface SourceOptions {
  driverMode?: DriverMode;
  includeDirs?: string[];
  /** Reads an included file; undefined when it does not exist. Defaults to the file system. */
  readFile?: (path: string) => string | undefined;
}

/** Loads the WebAssembly parser once; every later call resolves at once. `wasmDir` overrides where the .wasm files are. */
export async function initSourceAnalysis(wasmDir?: string): Promise<void> {
  await initParser(wasmDir);
}

export function sourceAnalysisReady(): boolean {
  return parserReady();
}

/** Section names of XDP programs: `xdp`, `xdp.frags`, `xdp/foo`, `xdp_devmap/...`, legacy `xdp_prog` and the like. */
export function isXdpSection(name: string): boolean {
  return /^xdp/.test(name);
}

export function analyzeSource(file: string, text: string, opts: SourceOptions = {}): Finding[] {
  if (!parserReady()) throw new Error('source analysis: initSourceAnalysis() must be awaited before analyzeSource()');
  if (text.length > MAX_SOURCE_CHARS || !/\bxdp/.test(text)) return [];
  const decls = collect(file, text, { includeDirs: opts.includeDirs, readFile: opts.readFile });
  try {
    const analyzer = new Analyzer(decls, opts.driverMode ?? 'native');
    for (const fn of programs(decls.functions.values(), file)) {
      try {
        analyzer.runProgram(fn);
      } catch {
        // One program the interpreter cannot follow does not cost the others their findings.
      }
    }
    return [...analyzer.findings.values()].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  } finally {
    trimTreeCache(new Set(decls.units.map((u) => u.file)));
    trimSnippets();
  }
}

/**
 * The XDP programs of `file`: functions in an `xdp*` section. A file with no section marks at all (half-typed, or
 * written for a loader that names sections itself) falls back to its non-static functions taking `struct xdp_md *`.
 */
function programs(functions: Iterable<FunctionDecl>, file: string): FunctionDecl[] {
  const all = [...functions].filter((f) => f.unit.file === file);
  const marked = all.filter((f) => f.section !== undefined);
  if (marked.length > 0) return marked.filter((f) => isXdpSection(f.section!));
  return all.filter((f) => !f.isStatic && f.params.length >= 1 && f.params[0].type.ptr === 1 && /\bxdp_md\b/.test(f.params[0].type.base));
}
