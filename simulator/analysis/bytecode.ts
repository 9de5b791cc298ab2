// The bytecode tier of `xdp-lens check` and of the language server's on-save analysis: every XDP program of a loaded
// object is walked by the verifier-like abstract interpreter in ./bytecode/engine.ts, and what it finds is mapped to
// source lines through BTF line info. Pure: a LoadedObject in, findings out; compiling and loading happen elsewhere.
import { readFileSync } from 'node:fs';
import type { LoadedObject, LoadedProgram } from '../elf/types.ts';
import { parseElf } from '../elf/elf64.ts';
import { parseDwarf } from '../elf/dwarf.ts';
import type { SourceLoc } from '../isa/insn.ts';
import { DEFAULT_ENGINE_OPTIONS, type DriverMode, type EngineOptions, type Issue, explore } from './bytecode/engine.ts';
import { invalidActionMany } from './bytecode/messages.ts';
import { type Finding, RULES, type RuleId, type Severity } from './findings.ts';
import { analysedAsXdp, attachedMap } from './xdp-programs.ts';
import { functionRange } from '../return-lines.ts';

/**
 * The marked twin of the source (return-lines.ts): the same programs with a no-op marker before every returned value.
 * Findings about the returned value are taken from the twin, on the `return` statement each path left through;
 * every other finding from the real object, which is what the kernel loads.
 */
export interface ReturnTwin {
  obj: LoadedObject;
  /** Per program: marker slot -> line of the `return` it marks. */
  markers: Map<string, Map<number, number>>;
  /** Per program: the lines of its own function. */
  range: Map<string, [number, number]>;
  /** The source file the findings are reported in, and its text. */
  file: string;
  text: string;
}

/** Rules about the value a program returns: the ones the twin places on their `return`. */
export const RETURN_RULES: ReadonlySet<string> = new Set(['invalid-action', 'redirect-without-target', 'tx-unmodified']);

export interface BytecodeOptions {
  /** The driver mode the program will run under; 'readonly-page' turns packet stores into findings. */
  driverMode?: DriverMode;
  /**
   * The marked twin, asked for only when the real object has a finding about a returned value (the twin has the same
   * paths, so one without any needs no second walk and no second compile).
   */
  twin?: () => ReturnTwin | undefined;
  /** Bounds of the walk (defaults in DEFAULT_ENGINE_OPTIONS); lower them to trade completeness for time. */
  limits?: Partial<Omit<EngineOptions, 'driverMode'>>;
  /**
   * The object's inlined calls (from its DWARF): per function name, the instruction ranges (byte offsets from the
   * function's start) of each call inlined into it and the line of that call.
   */
  inlinedCalls?: Map<string, { lo: number; hi: number; line: number }[]>;
  /**
   * Keep findings that no line info places (an object assembled or compiled without -g), at file '' line 0, instead
   * of dropping them: `run` reports the verifier-equivalent ones as refusals whether or not it can name a line.
   */
  keepUnlocated?: boolean;
}

export interface ProgramReport {
  program: string;
  section: string;
  /** False when a bound stopped the walk: findings are then from the paths explored, none are guessed. */
  complete: boolean;
  steps: number;
  gaveUp?: string;
  /** Per source file, the first and last line the program's instructions come from (its function and what it inlined). */
  spans: { file: string; from: number; to: number }[];
}

export interface BytecodeReport {
  findings: Finding[];
  programs: ProgramReport[];
}

/** The findings of the bytecode tier for every XDP program in `obj`, deduplicated per (rule, file, line). */
export function analyzeObject(obj: LoadedObject, opts: BytecodeOptions = {}): Finding[] {
  return analyzeObjectReport(obj, opts).findings;
}

/** The same, with how far the walk got in each program. */
export function analyzeObjectReport(obj: LoadedObject, opts: BytecodeOptions = {}): BytecodeReport {
  const findings: Finding[] = [];
  const programs: ProgramReport[] = [];
  const seen = new Map<string, { finding: Finding; values: string[] }>();
  const fromCallee = new Set<string>();
  let twin: ReturnTwin | undefined;
  let twinAsked = false;
  let sourceLines: string[] | undefined;
  for (const prog of obj.programs) {
    // A program that cannot load (its loadErrors say why) is not analysed, as the kernel would not run it.
    if (!analysedAsXdp(obj, prog) || prog.loadErrors?.length) continue;
    // A devmap/cpumap program runs on a frame already redirected (a page the driver gave writable): no driver mode.
    const base = { ...DEFAULT_ENGINE_OPTIONS, ...opts.limits, driverMode: attachedMap(prog.section) ? 'native' : opts.driverMode ?? 'native' };
    const res = explore(obj, prog, base);
    programs.push({ program: prog.name, section: prog.section, complete: res.complete, steps: res.steps, gaveUp: res.gaveUp, spans: lineSpans(prog) });
    if (opts.twin && !twinAsked && res.issues.some((i) => RETURN_RULES.has(i.rule))) {
      twinAsked = true;
      twin = opts.twin();
      sourceLines = twin?.text.split('\n');
    }
    const twinProg = res.issues.some((i) => RETURN_RULES.has(i.rule)) ? twin?.obj.programs.find((p) => p.name === prog.name && analysedAsXdp(twin!.obj, p)) : undefined;
    const all: { issue: Issue; prog: LoadedProgram }[] = [];
    if (twin && twinProg) {
      const markers = twin.markers.get(prog.name) ?? new Map<number, number>();
      const t = explore(twin.obj, twinProg, { ...base, returnMarkers: markers, entryRange: twin.range.get(prog.name), returnCallees: returnedCalls(twin.text, markers) });
      for (const issue of res.issues) if (!RETURN_RULES.has(issue.rule)) all.push({ issue, prog });
      for (const issue of t.issues) if (RETURN_RULES.has(issue.rule)) all.push({ issue, prog: twinProg });
      // The markers are barriers to clang (`asm volatile`): a value checked before one may be loaded again after it,
      // unchecked (`if (*v > 1) return *v + 4;`), and the twin's walk then has nothing to say about it. A rule the
      // real object's walk found and the twin's did not keeps the real finding, placed by its instruction's line.
      const twinRules = new Set(t.issues.map((i) => i.rule));
      for (const issue of res.issues) if (RETURN_RULES.has(issue.rule) && !twinRules.has(issue.rule)) all.push({ issue, prog });
    } else {
      for (const issue of res.issues) all.push({ issue, prog });
    }
    // An instruction clang gave no line (line 0: code merged from several inlined copies of a helper) is one of the
    // copies of a statement that has a line elsewhere: its finding is shown only when no finding of its rule was made
    // in this program, and then on the nearest line before it, not on the function's first line.
    const lineless = (issue: Issue, where: LoadedProgram) => !RETURN_RULES.has(issue.rule) && !((where.lines[issue.pc]?.line ?? 0) > 0);
    all.sort((a, b) => Number(lineless(a.issue, a.prog)) - Number(lineless(b.issue, b.prog)));
    const rulesShown = new Set<string>();
    for (const { issue, prog: where } of all) {
      const noLine = lineless(issue, where);
      if (noLine && rulesShown.has(issue.rule)) continue;
      let loc = issue.line !== undefined && twin && sourceLines ? returnLoc(twin.file, sourceLines, issue.line) : (noLine && locateBefore(where, issue.pc)) || locate(where, issue.pc);
      if (!loc) {
        if (!opts.keepUnlocated) continue;
        loc = { file: '', line: 0, column: 0 };
      }
      // A path of the twin that left through no `return` (it fell off the end of an asm block or of a function
      // without a final return) is placed by its instruction's line: the twin's file name stands for the source.
      if (twin && where !== prog && loc.file && loc.file === twinFileOf(where, twin)) loc = { ...loc, file: twin.file };
      // A mistake inside a helper of another file (a header) inlined into the program is reported on the program's
      // line that leads there (the source tier's place for it), once per call, with the helper's line as related
      // information: a memcpy-like helper unrolled into forty stores is one finding, not forty lines of a header.
      let inner: SourceLoc | undefined;
      if (!RETURN_RULES.has(issue.rule)) {
        const call = callSiteLoc(where, issue.pc, loc, opts.inlinedCalls);
        if (call) {
          inner = loc;
          loc = call;
        }
      }
      const key = `${issue.rule}\0${loc.file}\0${loc.line}`;
      const prev = seen.get(key);
      rulesShown.add(issue.rule);
      if (prev) {
        if (!issue.pastGlobal) delete prev.finding.pastGlobal;
        if (issue.also) alsoPast(prev.finding, issue.also, where, opts.inlinedCalls);
        // Several values returned on one line (clang gives the returns of a switch the switch's line): one finding.
        if (issue.value !== undefined && !prev.values.includes(issue.value)) {
          prev.values.push(issue.value);
          prev.finding.message = invalidActionMany(prev.values);
        }
        continue;
      }
      const finding = toFinding(issue.rule, issue.message, loc);
      finding.program = prog.name;
      if (RETURN_RULES.has(issue.rule)) finding.onReturn = issue.line !== undefined;
      if (issue.pastGlobal) finding.pastGlobal = true;
      // Where the value was set, when that is another line: in the twin, the twin's file stands for the source.
      const from = issue.origin !== undefined ? where.lines[issue.origin] : undefined;
      // A constant's own instruction lands wherever clang scheduled it (often the `if` above the return): only a
      // computed value, or one set in another function, points somewhere worth showing.
      const range = twin?.range.get(prog.name);
      const elsewhere = !!from && (from.file !== twinFileOf(where, twin) || !range || from.line < range[0] || from.line > range[1]);
      const computed = issue.value !== undefined && issue.value.includes('..');
      // A value set in another function (a callee returning -1) and returned through two of the program's `return`s
      // is one mistake: reported at the first.
      if (RETURN_RULES.has(issue.rule) && elsewhere && from && from.line > 0) {
        const k = `${prog.name}\0${issue.rule}\0${from.file}\0${from.line}\0${issue.value ?? ''}`;
        if (fromCallee.has(k)) continue;
        fromCallee.add(k);
      }
      if (issue.line !== undefined && from && from.line > 0 && from.line !== loc.line && (computed || elsewhere)) {
        const file = from.file === twinFileOf(where, twin) ? loc.file : from.file;
        finding.related = [{ file, line: from.line, column: Math.max(1, from.column), endLine: from.line, endColumn: Math.max(1, from.column) + 1, message: 'the returned value is set here' }];
      }
      if (inner) finding.related = [...(finding.related ?? []), { file: inner.file, line: inner.line, column: Math.max(1, inner.column), endLine: inner.line, endColumn: Math.max(1, inner.column) + 1, message: 'in the inlined helper, here' }];
      if (issue.also) alsoPast(finding, issue.also, where, opts.inlinedCalls);
      seen.set(key, { finding, values: issue.value !== undefined ? [issue.value] : [] });
      findings.push(finding);
    }
  }
  for (const { finding, values } of seen.values()) {
    if (finding.rule === 'invalid-action' && values.length === 1 && !values[0].includes('..')) addActionFixes(finding, finding.onReturn ? sourceLines?.[finding.line - 1] : textOf(finding, obj));
  }
  findings.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
  return { findings, programs };
}

/**
 * The later accesses past the same missing bounds check (Issue.also), as related places of its finding: one per line,
 * in the walk's order, none on the finding's own line. Placed as findings are (a helper's line inlined from a header
 * goes to the program's line that calls it).
 */
function alsoPast(f: Finding, pcs: number[], prog: LoadedProgram, inlined: BytecodeOptions['inlinedCalls']): void {
  const have = new Set([`${f.file}\0${f.line}`, ...(f.related ?? []).map((r) => `${r.file}\0${r.line}`)]);
  for (const pc of pcs) {
    let loc = (!((prog.lines[pc]?.line ?? 0) > 0) && locateBefore(prog, pc)) || locate(prog, pc);
    if (!loc) continue;
    loc = callSiteLoc(prog, pc, loc, inlined) ?? loc;
    const k = `${loc.file}\0${loc.line}`;
    if (have.has(k)) continue;
    have.add(k);
    const column = Math.max(1, loc.column);
    (f.related ??= []).push({ file: loc.file, line: loc.line, column, endLine: loc.line, endColumn: column + 1, message: 'past the same missing check too' });
  }
}

function lineSpans(prog: LoadedProgram): { file: string; from: number; to: number }[] {
  const by = new Map<string, { file: string; from: number; to: number }>();
  for (const l of prog.lines) {
    if (!l || l.line <= 0) continue;
    const s = by.get(l.file);
    if (!s) by.set(l.file, { file: l.file, from: l.line, to: l.line });
    else {
      if (l.line < s.from) s.from = l.line;
      if (l.line > s.to) s.to = l.line;
    }
  }
  return [...by.values()];
}

/** The BTF text of a finding's line (every located slot carries its line's text). */
function textOf(f: Finding, obj: LoadedObject): string | undefined {
  for (const p of obj.programs) for (const l of p.lines) if (l && l.line === f.line && l.file === f.file && l.text) return l.text;
  return undefined;
}

/**
 * Quick fixes for a constant that is not an action, when the line holds exactly one `return <expr>;`: replace the
 * expression by the action that was most likely meant (XDP_DROP for a drop-like value, or XDP_ABORTED / XDP_PASS).
 */
function addActionFixes(f: Finding, text: string | undefined): void {
  if (!text) return;
  const matches = [...text.matchAll(/\breturn\s+([^;]+?)\s*;/g)];
  if (matches.length !== 1) return;
  const m = matches[0];
  const column = m.index! + m[0].indexOf(m[1], 6) + 1;
  const edit = (action: string) => ({
    title: `Return ${action} instead of ${m[1]}`,
    edits: [{ line: f.line, column, endLine: f.line, endColumn: column + m[1].length, newText: action }],
  });
  f.fixes = ['XDP_DROP', 'XDP_ABORTED', 'XDP_PASS'].map(edit);
}

/** The file name the twin's own lines carry (that of its return markers). */
function twinFileOf(prog: LoadedProgram, twin: ReturnTwin | undefined): string | undefined {
  const m = twin?.markers.get(prog.name);
  if (!m) return undefined;
  for (const pc of m.keys()) return prog.lines[pc]?.file;
  return undefined;
}

/** The `return` statement on line `line` of the source: its value's columns, as the source tier reports it. */
function returnLoc(file: string, lines: string[], line: number): SourceLoc | undefined {
  const text = lines[line - 1];
  if (text === undefined) return undefined;
  const m = /\breturn\b\s*/.exec(text);
  return { file, line, column: m ? m.index + m[0].length + 1 : 0, text } as SourceLoc;
}

/**
 * For a slot whose line is in another file than the function it was compiled into (a header's helper inlined into
 * the program), the nearest slot before it, in that function, whose line is in the function's own file: the
 * statement that called the helper. Undefined when the slot is in the function's own file or no such slot exists.
 */
function callSiteLoc(prog: LoadedProgram, pc: number, loc: SourceLoc, inlined?: Map<string, { lo: number; hi: number; line: number }[]>): SourceLoc | undefined {
  let start = 0;
  let fn: string | undefined;
  for (const f of prog.funcs) {
    if (f.insn <= pc && f.insn >= start) {
      start = f.insn;
      fn = f.name;
    }
  }
  let home: SourceLoc | undefined;
  for (let i = start; i < prog.lines.length && i <= pc; i++) {
    const l = prog.lines[i];
    if (l && l.line > 0) {
      home = l;
      break;
    }
  }
  if (!home || loc.file === home.file) return undefined;
  // The DWARF names the call's line exactly; without it, the nearest statement of the function's file before it.
  const off = (pc - start) * 8;
  const call = fn ? inlined?.get(fn)?.find((c) => c.lo <= off && off < c.hi) : undefined;
  if (call) {
    for (const l of prog.lines) if (l && l.file === home.file && l.line === call.line) return l;
    return { ...home, line: call.line, column: 0, text: undefined } as SourceLoc;
  }
  for (let i = pc - 1; i >= start; i--) {
    const l = prog.lines[i];
    if (l && l.line > 0 && l.file === home.file) return l;
  }
  return undefined;
}

/** The source location of a slot; without one, the first located slot of the function containing it. */
/**
 * For each marked `return` line whose statement is `return f(...);` with `f` a function of the same file (not a
 * helper): the line range of `f`. Its value is f's, so the path's return is the one of f it left through.
 */
function returnedCalls(text: string, markers: Map<number, number>): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  const lines = text.split('\n');
  for (const line of new Set(markers.values())) {
    const rest = lines.slice(line - 1, line + 7).join('\n');
    const m = /\breturn\s+([A-Za-z_]\w*)\s*\(/.exec(rest);
    if (!m || m[1]!.startsWith('bpf_') || /\breturn\b/.test(rest.slice(0, m.index))) continue;
    // The call must be the whole returned expression: its closing parenthesis followed by the `;`.
    let depth = 0;
    let end = -1;
    for (let i = m.index + m[0].length - 1; i < rest.length; i++) {
      if (rest[i] === '(') depth++;
      else if (rest[i] === ')' && --depth === 0) {
        end = i;
        break;
      }
    }
    if (end < 0 || !/^\s*;/.test(rest.slice(end + 1))) continue;
    const range = functionRange(text, m[1]!);
    if (range && (line < range[0] || line > range[1])) out.set(line, range);
  }
  return out;
}

/** The line of the nearest instruction before `pc` in its function that has one. */
function locateBefore(prog: LoadedProgram, pc: number): SourceLoc | undefined {
  let start = 0;
  for (const f of prog.funcs) if (f.insn <= pc && f.insn >= start) start = f.insn;
  for (let i = pc - 1; i >= start; i--) {
    const l = prog.lines[i];
    if (l && l.line > 0) return l;
  }
  return undefined;
}

function locate(prog: LoadedProgram, pc: number): SourceLoc | undefined {
  const loc = prog.lines[pc];
  if (loc && loc.line > 0) return loc;
  let start = 0;
  for (const f of prog.funcs) if (f.insn <= pc && f.insn >= start) start = f.insn;
  for (let i = start; i < prog.lines.length; i++) {
    const l = prog.lines[i];
    if (l && l.line > 0) return l;
  }
  return undefined;
}

function toFinding(rule: RuleId, message: string, loc: SourceLoc): Finding {
  const text = loc.text ?? '';
  // Line info columns are 1-based; 0 means "no column", then the statement's first character is used.
  let col = loc.column > 0 ? loc.column : text.search(/\S/) + 1 || 1;
  if (col > text.length + 1) col = 1;
  // Span: from the column to the end of the statement on that line, or one character when the text is unknown.
  let end = col + 1;
  if (text) {
    const semi = text.indexOf(';', col - 1);
    const stop = semi >= 0 ? semi : text.trimEnd().length;
    if (stop + 1 > col) end = stop + 1;
  }
  const severity: Severity = (RULES as Record<string, { severity: Severity }>)[rule]?.severity ?? 'error';
  return {
    file: loc.file,
    line: loc.line,
    column: col,
    endLine: loc.line,
    endColumn: end,
    severity,
    rule,
    message,
    tier: 'bytecode',
  };
}

export type { DriverMode };

/** Per function of the object, the calls inlined into it and their lines (from its DWARF); undefined without. */
export function inlinedCallsOf(objectPath: string): Map<string, { lo: number; hi: number; line: number }[]> | undefined {
  try {
    const { elf } = parseElf(readFileSync(objectPath));
    if (!elf) return undefined;
    const { info } = parseDwarf(new Map(elf.sections.map((s) => [s.name, s.data])));
    if (!info) return undefined;
    const out = new Map<string, { lo: number; hi: number; line: number }[]>();
    for (const [name, fn] of info.functions) if (fn.calls?.length) out.set(name, fn.calls);
    return out;
  } catch {
    return undefined;
  }
}
