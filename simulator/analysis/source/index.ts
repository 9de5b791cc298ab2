// The source tier: analysis of XDP programs on the C text as it is typed, no compiler involved. It parses the file
// (and its local includes) with tree-sitter, finds the programs (functions in `xdp*` sections and what they call),
// and runs the abstract interpreter of interp.ts over each. Total by design: any text, however broken, gives a
// list of findings (possibly empty), never an exception once `initSourceAnalysis` has resolved.
import type { Finding } from '../findings.ts';
import { Analyzer, type DriverMode } from './interp.ts';
import { MAX_SOURCE_CHARS, initParser, parserReady, trimTreeCache } from './parser.ts';
import { trimSnippets, collect, type FunctionDecl } from './unit.ts';
import { attachedMap, isXdpProgram, isXdpSectionName } from '../xdp-programs.ts';

export interface SourceOptions {
  driverMode?: DriverMode;
  includeDirs?: string[];
  /** `-D`/`-U` of the compile command (name -> value, null for -U), for `#if` decisions. */
  defines?: Map<string, string | null>;
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
  return isXdpSectionName(name);
}

export function analyzeSource(file: string, text: string, opts: SourceOptions = {}): Finding[] {
  if (!parserReady()) throw new Error('source analysis: initSourceAnalysis() must be awaited before analyzeSource()');
  if (text.length > MAX_SOURCE_CHARS || !/\bxdp/.test(text)) return [];
  const decls = collect(file, text, { includeDirs: opts.includeDirs, readFile: opts.readFile, defines: opts.defines });
  try {
    const driverMode = opts.driverMode ?? 'native';
    const types = JSON.stringify([[...decls.structs], [...decls.typedefs]]);
    const previous = resultCache.get(file);
    const next = new Map<string, CachedProgram>();
    const findings = new Map<string, Finding>();
    for (const fn of programs(decls.functions.values(), file)) {
      let entry = previous?.get(fn.name);
      if (!entry || entry.types !== types || entry.driverMode !== driverMode || entry.key !== functionsKey(fn, entry.callees, decls) || entry.context !== usedKey(entry.used, decls)) {
        // A devmap/cpumap program runs on a frame already redirected (a page the driver gave writable): no driver mode.
        const analyzer = new Analyzer(decls, attachedMap(fn.section) ? 'native' : driverMode);
        try {
          analyzer.runProgram(fn);
        } catch {
          // One program the interpreter cannot follow does not cost the others their findings.
        }
        const callees = [...analyzer.inlined].map((f) => f.name).sort();
        const used = [...analyzer.used].sort();
        entry = { driverMode, types, used, context: usedKey(used, decls), callees, key: functionsKey(fn, callees, decls), findings: [...analyzer.findings.values()] };
      }
      next.set(fn.name, entry);
      for (const f of entry.findings) {
        // One place reported by two programs (a helper both call): one finding, naming where each returns it.
        const key = `${f.rule}\0${f.file}\0${f.line}\0${f.column}`;
        const had = findings.get(key);
        const extra = had ? (f.related ?? []).filter((r) => !had.related?.some((h) => h.file === r.file && h.line === r.line)) : [];
        findings.set(key, had ? (extra.length ? { ...had, related: [...(had.related ?? []), ...extra] } : had) : f);
      }
    }
    resultCache.delete(file);
    resultCache.set(file, next);
    while (resultCache.size > MAX_CACHED_FILES) resultCache.delete(resultCache.keys().next().value as string);
    return [...findings.values()].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  } finally {
    trimTreeCache(new Set(decls.units.map((u) => u.file)));
    trimSnippets();
  }
}

/**
 * Findings per program of a file from its last analysis. A program is analysed again only when something it
 * depends on changed: its own text or position, a function it called (text or position), a declaration it looked
 * up (macro, enum, global, map, function, also one that did not exist then), the struct layouts or the driver mode.
 * Typing inside one program, or in a map another program uses, leaves the other programs' results as they were.
 */
interface CachedProgram {
  driverMode: string;
  types: string;
  used: string[];
  context: string;
  callees: string[];
  key: string;
  findings: Finding[];
}

const MAX_CACHED_FILES = 32;
const resultCache = new Map<string, Map<string, CachedProgram>>();

function usedKey(names: string[], decls: ReturnType<typeof collect>): string {
  return JSON.stringify(
    names.map((n) => [n, decls.macros.get(n), decls.enums.get(n), decls.globals.get(n), decls.maps.get(n), decls.functions.has(n)]),
  );
}

function functionsKey(fn: FunctionDecl, callees: string[], decls: ReturnType<typeof collect>): string {
  const parts: string[] = [];
  for (const name of [fn.name, ...callees]) {
    const f = name === fn.name ? fn : decls.functions.get(name);
    if (!f) {
      parts.push(`${name}:missing`);
      continue;
    }
    parts.push(`${f.unit.file}:${f.node.startPosition.row}:${f.unit.text.slice(f.node.startIndex, f.node.endIndex)}`);
  }
  return parts.join('\0');
}

/**
 * The XDP programs of `file`: functions in an `xdp*` section. A file with no section marks at all (half-typed, or
 * written for a loader that names sections itself) falls back to its non-static functions taking `struct xdp_md *`.
 */
function programs(functions: Iterable<FunctionDecl>, file: string): FunctionDecl[] {
  const all = [...functions].filter((f) => f.unit.file === file);
  const marked = all.filter((f) => f.section !== undefined);
  // A section a loader names (SEC("start") loaded with `ip link ... xdp obj x.o sec start`) holds an XDP program
  // when its function takes a `struct xdp_md *` (xdp-programs.ts).
  if (marked.length > 0) return marked.filter((f) => isXdpProgram(f.section!, takesXdpMd(f)));
  return all.filter((f) => !f.isStatic && takesXdpMd(f));
}

function takesXdpMd(f: FunctionDecl): boolean {
  return f.params.length >= 1 && f.params[0].type.ptr === 1 && /\bxdp_md\b/.test(f.params[0].type.base);
}
