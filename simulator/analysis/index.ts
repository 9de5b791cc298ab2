// One entry point for both analysis tiers, shared by `xdp-lens check` and the language server:
// the source tier (tree-sitter, as you type) and the bytecode tier (the compiled object, on save), merged so that a
// mistake both tiers find is reported once. Compiler errors come back as findings too (rule `compile-error`).
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { compileC, type CompileOptions, type CompileResult } from '../compile.ts';
import { INPUT_LIMITS, readInputText } from '../input.ts';
import { flagsFromCompileCommands } from '../compile-commands.ts';
import { loadObject } from '../elf/index.ts';
import type { DriverMode } from '../driver/profiles.ts';
import type { Finding } from './findings.ts';
import { initSourceAnalysis, analyzeSource } from './source/index.ts';
import { definesFromFlags } from './source/preproc.ts';
import { analyzeObject, analyzeObjectReport, inlinedCallsOf, RETURN_RULES, type ReturnTwin } from './bytecode.ts';
import { buildTwin } from '../return-lines.ts';
import { verifyWithKernel } from './verifier.ts';
import { analysedAsXdp } from './xdp-programs.ts';
import type { LoadedObject } from '../elf/types.ts';
import { VERIFIER_RULES, loadRefusals, type VerifierRefusal } from '../verifier-refusals.ts';

export type { Finding } from './findings.ts';
export { initSourceAnalysis, analyzeSource, analyzeObject };

export interface AnalyzeOptions {
  driverMode?: DriverMode;
  /** Run the bytecode tier (compiles with clang). Default true. */
  bytecode?: boolean;
  clang?: string;
  /** Extra clang flags. */
  flags?: string[];
  includeDirs?: string[];
  /** A compile_commands.json to take include directories and defines from. */
  compileCommands?: string;
  /** Also load the object into the running kernel and report what its verifier refuses (root, bpftool, bpffs). */
  kernel?: boolean;
  cacheDir?: string;
  /** BTF file to resolve CO-RE relocations against (default: /sys/kernel/btf/vmlinux, else the program's own BTF). */
  btf?: string;
}

export interface AnalysisResult {
  findings: Finding[];
  /** Things the user should know that are not findings ("clang not found: only the source analysis ran"). */
  notes: string[];
  /** Milliseconds spent per tier, for logs and benchmarks. */
  timings: { source: number; compile?: number; bytecode?: number };
}

const clangChecked = new Map<string, boolean>();
export function clangAvailable(clang = process.env.XDP_LENS_CLANG ?? 'clang'): boolean {
  let ok = clangChecked.get(clang);
  if (ok === undefined) {
    const r = spawnSync(clang, ['--version'], { stdio: 'ignore' });
    ok = !r.error && r.status === 0;
    clangChecked.set(clang, ok);
  }
  return ok;
}

/** Include directories and flags after applying a compilation database, or a note explaining why it was not used. */
export function effectiveCompileOptions(file: string, opts: AnalyzeOptions): { compile: CompileOptions; note?: string } {
  const includeDirs = [...(opts.includeDirs ?? [])];
  const flags = [...(opts.flags ?? [])];
  let note: string | undefined;
  if (opts.compileCommands) {
    const cc = flagsFromCompileCommands(opts.compileCommands, file);
    if (typeof cc === 'string') note = cc;
    else {
      for (const d of cc.includeDirs) includeDirs.push(d);
      for (const f of cc.flags) flags.push(f);
    }
  }
  return { compile: { clang: opts.clang, flags, includeDirs, cacheDir: opts.cacheDir }, note };
}

/** The source tier alone: synchronous once `initSourceAnalysis` has resolved. */
export function sourceFindings(file: string, text: string, opts: AnalyzeOptions): Finding[] {
  const { compile } = effectiveCompileOptions(file, opts);
  try {
    return analyzeSource(file, text, { driverMode: opts.driverMode, includeDirs: compile.includeDirs, defines: definesFromFlags(compile.flags ?? []) });
  } catch (e) {
    // The source tier is total by design; this only guards the editor against a bug in it.
    return [internalError(file, 'source', e)];
  }
}

/** The bytecode tier on the file as saved on disk: compile, load, analyse. */
export function bytecodeFindings(
  file: string,
  opts: AnalyzeOptions,
  /** The compile of this file with these options, already done (the language server compiles without blocking). */
  precompiled?: { result: CompileResult; ms: number },
): { findings: Finding[]; notes: string[]; compileMs: number; analyzeMs: number; command?: string[]; cached?: boolean; walked?: WalkedProgram[]; clangMissing?: string } {
  const notes: string[] = [];
  const { compile, note } = effectiveCompileOptions(file, opts);
  if (note) notes.push(note);
  const clang = compile.clang ?? process.env.XDP_LENS_CLANG ?? 'clang';
  if (!clangAvailable(clang)) {
    const missing = `clang not found (${clang}): only the source analysis ran. Install clang (Debian/Ubuntu: apt install clang llvm libbpf-dev) or set xdpLens.clang.path.`;
    notes.push(missing);
    // Also on its own: an editor may show it as a standing state rather than a pop-up (server.ts).
    return { findings: [], notes, compileMs: 0, analyzeMs: 0, clangMissing: missing };
  }
  const t0 = performance.now();
  const r = precompiled?.result ?? compileC(file, compile);
  const compileMs = precompiled?.ms ?? performance.now() - t0;
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (!r.objectPath || errors.length) {
    const findings: Finding[] = (errors.length ? errors : [{ file, line: 1, column: 1, severity: 'error' as const, message: r.stderr.trim() || 'clang failed' }]).map((d) => ({
      ...backendPlace(d, file),
      endLine: Math.max(1, backendPlace(d, file).line),
      endColumn: backendPlace(d, file).column + 1,
      severity: 'error',
      rule: 'compile-error',
      message: /error in backend: Cannot select: .*\b[su](?:div|rem)\b/.test(d.message) && /\bs(?:div|rem)\b/.test(d.message)
        ? 'clang cannot compile this signed division or remainder for BPF (before -mcpu=v4 the instruction set has only unsigned `/` and `%`): make the operands unsigned, e.g. `(__u32)x % 2`.'
        : d.message,
      tier: 'bytecode',
    }));
    notes.push(`${file}: the bytecode analysis did not run: clang could not compile the file (${findings.length} compile error${findings.length === 1 ? '' : 's'}, reported as compile-error); the findings are the source analysis's.`);
    return { findings, notes, compileMs, analyzeMs: 0, command: r.command };
  }
  const t1 = performance.now();
  let findings: Finding[] = [];
  let walked: WalkedProgram[] | undefined;
  try {
    const { object, diagnostics } = loadObject(readFileSync(r.objectPath), file, { btf: opts.btf });
    if (!object) {
      notes.push(`${file}: the bytecode analysis did not run: the object could not be loaded; the findings are the source analysis's.`);
      for (const d of diagnostics) notes.push(d.message); // no spread: one per instruction possible
    } else {
      // An XDP program with load errors is not analysed (analyzeObject skips it); its errors are the notes. Errors of
      // the tc/tracing programs beside it (and of maps only they use) are not reported: only XDP programs are analysed.
      const xdp = new Set(object.programs.filter((p) => analysedAsXdp(object, p)).map((p) => p.name));
      for (const d of diagnostics.filter((x) => x.severity === 'error' && (x.program === undefined ? x.map === undefined : xdp.has(x.program)))) notes.push(d.message);
      for (const n of object.notes ?? []) notes.push(n);
      for (const p of object.programs) {
        if (analysedAsXdp(object, p) && p.loadErrors?.length) notes.push(`${file}: program ${p.name}: the bytecode analysis did not run: it could not be loaded (${p.loadErrors.length} load error${p.loadErrors.length === 1 ? '' : 's'}); its findings are the source analysis's.`);
      }
      const rep = analyzeObjectReport(object, { driverMode: opts.driverMode, twin: () => returnTwin(file, { ...compile, btf: opts.btf }), inlinedCalls: inlinedCallsOf(r.objectPath) });
      findings = rep.findings;
      for (const f of predictedRefusals(object, file, findings)) findings.push(f);
      walked = rep.programs.map((p) => ({ program: p.program, complete: p.complete, spans: p.spans }));
      for (const p of rep.programs) {
        if (!p.complete && p.gaveUp) notes.push(`${file}: program ${p.program}: the bytecode analysis stopped early (${p.gaveUp}); the paths it did not reach have the source analysis's findings only.`);
      }
    }
  } catch (e) {
    findings = [internalError(file, 'bytecode', e)];
  }
  if (opts.kernel) {
    const v = verifyWithKernel(r.objectPath, file);
    if (v.skipped) notes.push(`kernel verifier not run: ${v.skipped}`);
    for (const f of v.findings) findings.push(f);
  }
  return { findings, notes, compileMs, analyzeMs: performance.now() - t1, command: r.command, cached: r.cached, walked };
}

/**
 * The refusals `run` predicts before its first packet from the simulator's verifier model (verifier-refusals.ts
 * loadRefusals: stack limits, numbers the verifier cannot bound, helper arguments, kfuncs, ...) for each XDP program
 * the bytecode tier analysed, as findings of rule `verifier` (the kernel tier's rule: one mistake, whichever tier saw
 * it). The bytecode tier's own refusals (`bytecode`) are the rest of what run predicts.
 */
function predictedRefusals(object: LoadedObject, file: string, bytecode: Finding[]): Finding[] {
  const out: Finding[] = [];
  let lines: string[] | undefined;
  const textOf = (f: string, line: number): string => {
    if (resolve(f) !== resolve(file)) return '';
    try {
      lines ??= readFileSync(file, 'utf8').split('\n');
    } catch {
      lines = [];
    }
    return lines[line - 1] ?? '';
  };
  for (const p of object.programs) {
    if (!analysedAsXdp(object, p) || p.loadErrors?.length) continue;
    const refused = bytecode.some((f) => f.program === p.name && VERIFIER_RULES.has(String(f.rule)));
    let list: VerifierRefusal[];
    try {
      list = loadRefusals(object, p, refused);
    } catch {
      continue; // like the bytecode tier: a bug in the model must not stop the analysis
    }
    for (const r of list) {
      const at = r.file || file;
      const line = r.line ?? 1;
      const text = textOf(at, line).replace(/\s+$/, '');
      const column = text ? text.length - text.trimStart().length + 1 : 1;
      // A plain first word capitalised ("the verifier refuses" -> "The verifier refuses"), never a name (bpf_..., tail_call).
      const message = /^[a-z]+ /.test(r.message) ? r.message[0]!.toUpperCase() + r.message.slice(1) : r.message;
      out.push({ file: at, line, column, endLine: line, endColumn: Math.max(column + 1, text.length + 1), severity: 'error', rule: 'verifier',
        message, tier: 'bytecode', program: p.name });
    }
  }
  return out;
}

/**
 * Where a clang error is: its own position, or, for an error of the code generator ("error in backend: Cannot
 * select: ... i64 = sdiv ..., prog.c:111:18", reported without a position), the place of the source it names.
 */
function backendPlace(d: { file?: string; line: number; column: number; message: string }, file: string): { file: string; line: number; column: number } {
  const at = { file: d.file || file, line: Math.max(1, d.line), column: Math.max(1, d.column) };
  if (d.line > 1 || !/error in backend/.test(d.message)) return at;
  const abs = resolve(file);
  for (const m of d.message.matchAll(/([^\s,:]+\.[ch]):(\d+):(\d+)/g)) {
    if (resolve(m[1]!) === abs) return { file, line: Number(m[2]), column: Math.max(1, Number(m[3])) };
  }
  return at;
}

/**
 * The marked twin of the file as saved (see return-lines.ts), so that findings about returned values go to the
 * `return` statement each path left through; undefined when it cannot be built (then the slot's line is used).
 */
function returnTwin(file: string, compile: CompileOptions & { btf?: string }): ReturnTwin | undefined {
  let text: string;
  try {
    text = readInputText(file, 'C source', INPUT_LIMITS.source);
  } catch {
    return undefined;
  }
  const t = buildTwin(file, text, compile);
  if (typeof t === 'string') return undefined;
  return { obj: t.obj, markers: t.markers, range: t.range, file, text };
}

/** Both tiers on a file; `text` is the current contents (defaults to the file on disk). */
export async function analyzeFile(file: string, text: string | undefined, opts: AnalyzeOptions = {}): Promise<AnalysisResult> {
  await initSourceAnalysis();
  const notes: string[] = [];
  const src = text ?? readInputText(file, 'C source', INPUT_LIMITS.source);
  const t0 = performance.now();
  const source = sourceFindings(file, src, opts);
  const timings: AnalysisResult['timings'] = { source: performance.now() - t0 };
  let bytecode: Finding[] = [];
  let walked: WalkedProgram[] | undefined;
  if (opts.bytecode !== false) {
    const b = bytecodeFindings(file, opts);
    bytecode = b.findings;
    walked = b.walked;
    for (const n of b.notes) notes.push(n);
    timings.compile = b.compileMs;
    timings.bytecode = b.analyzeMs;
  }
  return { findings: mergeFindings(source, sameFileNames(file, bytecode), walked && sameSpanNames(file, walked)), notes, timings };
}

/** Clang and line info name the file by its absolute path; report it the way the user named it. */
export function sameFileNames(file: string, findings: Finding[]): Finding[] {
  const abs = resolve(file);
  return findings.map((f) => (f.file !== file && resolve(f.file) === abs ? { ...f, file } : f));
}

/** An XDP program the bytecode tier walked: whether the walk finished, and the source lines its code comes from. */
export interface WalkedProgram {
  program: string;
  complete: boolean;
  spans: { file: string; from: number; to: number }[];
}

export function sameSpanNames(file: string, walked: WalkedProgram[]): WalkedProgram[] {
  const abs = resolve(file);
  return walked.map((w) => ({ ...w, spans: w.spans.map((s) => (s.file !== file && resolve(s.file) === abs ? { ...s, file } : s)) }));
}

/**
 * Rules the kernel verifier decides on the compiled code. The source tier reads the C as written; clang may move an
 * access past the check that guards it (a header field read into a local above `if (p + n > data_end)` and used
 * only below it is loaded below it), and then the kernel loads the program. When the bytecode tier walked every
 * program whose code comes from the finding's line to the end and found no such refusal in them, the source
 * finding is a false alarm and is dropped. Likewise a stale packet pointer: the source tier does not tell a callee's
 * return after `bpf_xdp_adjust_meta` from its return without it (`if (!ret)` after `ret = handle(ctx)`), the
 * compiled code's walk does.
 */
const DECIDED_ON_BYTECODE: ReadonlySet<string> = new Set(['unchecked-packet-access', 'stale-packet-pointer']);

/**
 * Rules whose findings are the verifier refusing the program at load time. pointer-misuse is the bytecode tier's only
 * (`ctx->data_end -= 4` at -mcpu=v3 is a 32-bit add on data_end to it, a ctx store to the source tier: one statement).
 */
const REFUSALS: ReadonlySet<string> = new Set(['ctx-write', 'readonly-write', 'unchecked-packet-access', 'stale-packet-pointer', 'map-value-null', 'pointer-misuse']);

function holdingPrograms(f: Finding, walked: WalkedProgram[]): WalkedProgram[] {
  return walked.filter((w) => w.spans.some((s) => s.file === f.file && s.from <= f.line && f.line <= s.to));
}

function provenByBytecode(f: Finding, backed: Set<Finding>, walked: WalkedProgram[]): boolean {
  const holding = holdingPrograms(f, walked);
  if (!holding.length || holding.some((w) => !w.complete)) return false;
  return !backed.has(f);
}

/**
 * The source findings of the rules decided on the compiled code that a bytecode finding stands behind: for each
 * bytecode finding, the nearest source finding of its rule in a program that holds it (same file first). A refusal
 * the bytecode tier found elsewhere in the program does not keep a source finding it does not match.
 */
function backedByBytecode(source: Finding[], bytecode: Finding[], walked: WalkedProgram[]): Set<Finding> {
  const backed = new Set<Finding>();
  for (const b of bytecode) {
    if (!DECIDED_ON_BYTECODE.has(String(b.rule))) continue;
    let best: Finding | undefined;
    let dist = Infinity;
    for (const f of source) {
      if (f.rule !== b.rule || !holdingPrograms(f, walked).some((w) => w.program === b.program)) continue;
      const d = f.file === b.file ? Math.abs(f.line - b.line) : 1e9 + f.line;
      if (d < dist) {
        dist = d;
        best = f;
      }
    }
    if (best) backed.add(best);
  }
  return backed;
}

/**
 * Source findings first; a bytecode finding is dropped when the source tier already reported it:
 *  - the same rule on the same line of the same file (the source one has the better range and the quick fixes);
 *  - for a finding about a returned value whose line is only where clang put the instruction (no marked twin), the
 *    same rule in the same program wherever the source tier placed it;
 *  - otherwise, whatever line each tier chose: the tiers' remaining findings of one rule in one program are paired,
 *    nearest line first (same file before another file: clang's line info names the header an inlined helper is in,
 *    the source tier the line in the program that leads there), and a paired bytecode finding is not shown. Where
 *    the bytecode tier found more of a rule in a program than the source tier, the unpaired ones are shown.
 * With `walked` (the bytecode tier's walk), a source finding of a rule the kernel decides on the compiled code is
 * dropped where that walk proved it wrong (DECIDED_ON_BYTECODE). Sorted by position.
 */
export function mergeFindings(source: Finding[], bytecode: Finding[], walked?: WalkedProgram[]): Finding[] {
  const key = (f: Finding) => `${f.file}\0${f.line}\0${f.rule}`;
  const seen = new Set<string>();
  const sourcePrograms = new Set<string>();
  for (const f of source) if (f.program && RETURN_RULES.has(String(f.rule))) sourcePrograms.add(`${f.file}\0${f.program}\0${f.rule}`);
  // A source finding about a value a callee returns names the `return`s that pass the same value on (related
  // "returned here too", "<program> returns it here"), in this program and in the others that call the same helper:
  // the bytecode tier's findings there are that one mistake.
  const alsoReturned = new Set<string>();
  for (const f of source) {
    if (!RETURN_RULES.has(String(f.rule))) continue;
    for (const r of f.related ?? []) alsoReturned.add(`${r.file}\0${r.line}\0${f.rule}`);
  }
  const backed = walked ? backedByBytecode(source, bytecode, walked) : new Set<Finding>();
  const kept: Finding[] = [];
  for (const f of [...source, ...bytecode]) {
    if (seen.has(key(f))) continue;
    if (f.tier === 'bytecode' && alsoReturned.has(`${f.file}\0${f.line}\0${f.rule}`)) continue;
    // An unchanged XDP_TX the bytecode walk reaches only through a global function's result it cannot tie to the
    // function's returns: the source tier followed those returns and judged that path itself.
    if (f.tier === 'bytecode' && f.pastGlobal) continue;
    if (walked && f.tier !== 'bytecode' && DECIDED_ON_BYTECODE.has(String(f.rule)) && provenByBytecode(f, backed, walked)) continue;
    if (f.tier === 'bytecode' && f.onReturn === false && f.program && sourcePrograms.has(`${f.file}\0${f.program}\0${f.rule}`)) continue;
    seen.add(key(f));
    kept.push(f);
  }
  const paired = pairAcrossTiers(kept, source, bytecode);
  // One refusal per statement: where the source tier reports a load-time refusal on a line, a bytecode refusal of
  // another rule on that line is the same statement seen through the compiled code (`ctx->data_end -= 4` is a store
  // into the context to the source tier, arithmetic on data_end to the verifier, which stops at the first).
  const refusedLines = new Set(kept.filter((f) => f.tier === 'source' && REFUSALS.has(String(f.rule))).map((f) => `${f.file}\0${f.line}\0${f.program ?? ''}`));
  // The kernel tier names no program: its refusal on a line where another tier already reports a refusal (or the
  // same rule) is that finding, in the kernel's words.
  const analysedLines = new Set(kept.filter((f) => f.tier !== 'verifier' && (REFUSALS.has(String(f.rule)) || f.rule === 'verifier')).map((f) => `${f.file}\0${f.line}`));
  // A refusal the verifier model predicts (rule verifier, bytecode tier) on a line where another finding already reports
  // a refusal (an unchecked map value, a packet bound) is that finding's mistake, which the specific finding names.
  const specificLines = new Set(kept.filter((f) => f.tier !== 'verifier' && REFUSALS.has(String(f.rule))).map((f) => `${f.file}\0${f.line}`));
  const out = kept.filter(
    (f) =>
      !paired.has(f) &&
      !(f.tier === 'bytecode' && f.rule === 'verifier' && specificLines.has(`${f.file}\0${f.line}`)) &&
      !(f.tier === 'bytecode' && REFUSALS.has(String(f.rule)) && refusedLines.has(`${f.file}\0${f.line}\0${f.program ?? ''}`)) &&
      !(f.tier === 'verifier' && (REFUSALS.has(String(f.rule)) || f.rule === 'verifier') && analysedLines.has(`${f.file}\0${f.line}`)),
  );
  // A return the source tier reports as giving no XDP action (a parser's status codes returned as the verdict): the
  // bytecode tier's XDP_TX / XDP_REDIRECT complaints about the same return are about those codes (3, 4) too.
  const invalidReturns = new Set(out.filter((f) => f.tier === 'source' && f.rule === 'invalid-action').map((f) => `${f.file}\0${f.line}`));
  // A key variable smaller than the map's key that the verifier refuses (the read runs past the frame) is that
  // refusal, already reported in the verifier's words: the source tier's map-arg-size there says it again.
  const refusedAt = new Set(out.filter((f) => f.tier !== 'source' && (REFUSALS.has(String(f.rule)) || f.rule === 'verifier')).map((f) => `${f.file}\0${f.line}`));
  const shown = out.filter(
    (f) =>
      !(f.tier === 'bytecode' && (f.rule === 'tx-unmodified' || f.rule === 'redirect-without-target') && invalidReturns.has(`${f.file}\0${f.line}`)) &&
      !(f.rule === 'map-arg-size' && [f, ...(f.related ?? [])].some((r) => refusedAt.has(`${r.file}\0${r.line}`))),
  );
  shown.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || String(a.rule).localeCompare(String(b.rule)));
  return linkRepeats(shown);
}

/**
 * The bytecode findings that stand for a source finding on another line: per rule and program, the source and
 * bytecode findings not matched on their own line are paired, the nearest pair first (same file before another).
 */
function pairAcrossTiers(findings: Finding[], source: Finding[], bytecode: Finding[]): Set<Finding> {
  const at = (f: Finding) => `${f.file}\0${f.line}\0${f.rule}`;
  const sourceLines = new Set(source.map(at));
  const bytecodeLines = new Set(bytecode.map(at));
  // A returned XDP_TX/XDP_REDIRECT under read-only pages (source tier, on its return) is no store the bytecode tier
  // may have placed elsewhere.
  const open = (tier: Finding['tier'], other: Set<string>) =>
    findings.filter((f) => f.tier === tier && f.program && f.rule !== 'compile-error' && !(f.rule === 'readonly-page-write' && f.onReturn) && !other.has(at(f)));
  const src = open('source', bytecodeLines);
  const byt = open('bytecode', sourceLines);
  const pairs: { s: Finding; b: Finding; d: number }[] = [];
  for (const s of src) {
    for (const b of byt) {
      if (s.program !== b.program || s.rule !== b.rule) continue;
      // Falling off the end (source, on the closing brace) is not a value returned by a `return` statement.
      if (s.onReturn === false && b.onReturn === true) continue;
      pairs.push({ s, b, d: s.file === b.file ? Math.abs(s.line - b.line) : 1e9 + b.line });
    }
  }
  pairs.sort((x, y) => x.d - y.d);
  const usedSource = new Set<Finding>();
  const dropped = new Set<Finding>();
  for (const { s, b } of pairs) {
    if (usedSource.has(s) || dropped.has(b)) continue;
    usedSource.add(s);
    dropped.add(b);
  }
  return dropped;
}

/**
 * One mistake repeated on many lines (six stores into a read-only page) keeps its finding on each line, with one
 * text, and every repeat links to the first (relatedInformation), so the reader sees the pattern once.
 */
function linkRepeats(findings: Finding[]): Finding[] {
  const first = new Map<string, Finding>();
  return findings.map((f) => {
    const key = `${f.file}\0${f.rule}\0${f.message}`;
    const head = first.get(key);
    if (!head) {
      first.set(key, f);
      return f;
    }
    const link = { file: head.file, line: head.line, column: head.column, endLine: head.endLine, endColumn: head.endColumn, message: `the same mistake, first reported on line ${head.line}` };
    return { ...f, related: [...(f.related ?? []), link] };
  });
}

function internalError(file: string, tier: 'source' | 'bytecode', e: unknown): Finding {
  return {
    file,
    line: 1,
    column: 1,
    endLine: 1,
    endColumn: 1,
    severity: 'info',
    rule: 'internal-error',
    message: `the ${tier} analysis stopped on an internal error (${(e as Error)?.message ?? e}); please report it`,
    tier,
  };
}
