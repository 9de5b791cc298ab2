// Which `return` statement a packet left through.
//
// At -O2 a `return XDP_PASS;` usually compiles to no instruction of its own: the constant is materialised in some
// predecessor block (carrying whatever line came before) and every path jumps to one shared `exit`, whose line is the
// function's closing brace. So the return line is found with a twin of the program: the same source with a no-op
// `goto +0` placed in front of the value of every `return` (an `asm volatile` whose text names the line, so that no
// two of them are merged), compiled the same way. The twin runs in lockstep with the real program on its own maps
// (they evolve identically, the marker changing nothing), and the last marker it executes inside the function that
// exited names the return statement. Only the twin's program runs (Driver.runOnly: the buffer the driver lays out,
// none of its verdict bookkeeping), on the same engine as the real run: the engines report each marker as it runs
// (RunHooks.onMark at `ja +0`), so the twin is never stepped one instruction at a time. Where the twin cannot be built, or disagrees about the action, callers fall back
// to the exit instruction's line. Used by `xdp-lens run` and the language server's runs.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ACTIONS, actionOf, loadProgramFile, type Action, type LoadOptions } from './session.ts';
import type { CompileOptions } from './compile.ts';
import type { LoadedObject, LoadedProgram } from './elf/types.ts';
import type { RunHooks, Machine } from './vm/machine.ts';
import type { Session } from './session.ts';
import type { Driver, DriverPacket, RxBatch } from './driver/rx.ts';
import type { RunResult } from './vm/types.ts';

function readSource(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Byte ranges of code (not inside comments) on each line of C source. */
function codeSpans(text: string): [number, number][][] {
  const lines = text.split('\n');
  const out: [number, number][][] = [];
  let inComment = false;
  for (const line of lines) {
    const spans: [number, number][] = [];
    let i = 0;
    while (i < line.length) {
      if (inComment) {
        const end = line.indexOf('*/', i);
        if (end < 0) {
          i = line.length;
          break;
        }
        i = end + 2;
        inComment = false;
        continue;
      }
      const block = line.indexOf('/*', i);
      const slash = line.indexOf('//', i);
      const stop = [block, slash].filter((x) => x >= 0).reduce((a, b) => Math.min(a, b), line.length);
      if (stop > i) spans.push([i, stop]);
      if (stop === line.length) break;
      if (stop === slash && (block < 0 || slash < block)) break;
      inComment = true;
      i = stop + 2;
    }
    out.push(spans);
  }
  return out;
}

/** The source with a line-naming marker before the value of every `return EXPR`; lines and their count unchanged. */
export function markReturns(text: string): string {
  const spans = codeSpans(text);
  return text
    .split('\n')
    .map((line, i) => {
      let out = '';
      let at = 0;
      for (const [s, e] of spans[i] ?? []) {
        out += line.slice(at, s);
        out += line.slice(s, e).replace(/\breturn\b(?=\s*[^\s;])/g, `return ({ asm volatile("goto +0 /* xdp-lens ${i + 1} */"); 0; }),`);
        at = e;
      }
      return out + line.slice(at);
    })
    .join('\n');
}

/** 1-based lines of the definition of function `name` (its signature to its closing brace), from the source text. */
export function functionRange(text: string, name: string): [number, number] | undefined {
  const def = new RegExp(`\\b${name.replace(/\W/g, '')}\\s*\\([^;{]*\\)\\s*\\{`, 'g');
  const spans = codeSpans(text);
  const lines = text.split('\n');
  const lineStarts: number[] = [];
  for (let i = 0, o = 0; i < lines.length; o += lines[i]!.length + 1, i++) lineStarts.push(o);
  const lineAt = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const inCode = (offset: number) => {
    const l = lineAt(offset);
    const col = offset - lineStarts[l]!;
    return (spans[l] ?? []).some(([s, e]) => col >= s && col < e);
  };
  for (let m; (m = def.exec(text)); ) {
    if (!inCode(m.index)) continue;
    let depth = 0;
    for (let o = m.index + m[0].length - 1; o < text.length; o++) {
      const c = text[o];
      if ((c !== '{' && c !== '}') || !inCode(o)) continue;
      depth += c === '{' ? 1 : -1;
      if (depth === 0) return [lineAt(m.index) + 1, lineAt(o) + 1];
    }
    return [lineAt(m.index) + 1, lines.length];
  }
  return undefined;
}

/** The marked twin of a C file: its object, and per program the marker slots (slot -> return line). */
export interface Twin {
  obj: LoadedObject;
  markers: Map<string, Map<number, number>>;
  /** Per program: the source line range of its entry function. */
  range: Map<string, [number, number]>;
}

export function buildTwin(path: string, text: string, compile: LoadOptions): Twin | string {
  // One twin file per source path, rewritten only when its text changes, so that clang's object cache serves re-runs.
  const dir = join(tmpdir(), 'xdp-lens-twins', createHash('sha1').update(path).digest('hex').slice(0, 16));
  const twinPath = join(dir, basename(path));
  try {
    mkdirSync(dir, { recursive: true });
    const marked = markReturns(text);
    if (readSource(twinPath) !== marked) writeFileSync(twinPath, marked);
    let obj: LoadedObject;
    try {
      obj = loadProgramFile(twinPath, { ...compile, includeDirs: [dirname(path), ...(compile.includeDirs ?? [])] });
    } catch (e) {
      return (e as Error).message.split(twinPath).join(path);
    }
    const markers = new Map<string, Map<number, number>>();
    const range = new Map<string, [number, number]>();
    for (const p of obj.programs) {
      const m = new Map<number, number>();
      p.insns.forEach((insn, pc) => {
        const loc = p.lines[pc];
        if (insn.opcode === 0x05 && insn.off === 0 && loc?.file === twinPath) m.set(pc, loc.line);
      });
      markers.set(p.name, m);
      const r = functionRange(text, p.name);
      if (r) range.set(p.name, r);
    }
    return { obj, markers, range };
  } catch (e) {
    return `cannot prepare ${twinPath}: ${(e as Error).message}`;
  }
}

/**
 * What the twin's code alone says about its return lines, so that a run need not run the twin beside it (issue 12).
 * `byAction[a]` for each action index (ACTIONS): the line every twin run ending with that action reports, 0 when no
 * run can end with it (no line), -1 when it depends on the run. Undefined when the code does not settle it.
 *
 * It settles it when, in the entry function of the twin's program: every path from the entry to an `exit` passes an
 * in-range marker (a marker of a `return` of that function, MarkerTrail.exitLine's rule); from each such marker the
 * paths to an `exit` pass no other marker and call no bpf function (so that marker is the last of the run and
 * exitLine names it); and the program has no backward jump, may_goto, callback or tail call anywhere (no loop, and
 * the exit is in this program). The value each marker returns is what its paths set r0 to after it (a `mov r0, K`
 * last on every path: those K; anything else: any action). Then a twin run that ends with action a left through one
 * of the markers that may return a, and when those name one line, that is its line.
 * `stateless`: no map, global data, kfunc or helper outside a few that only look at or change the packet: a twin run
 * then depends on its packet alone, so it may run for some packets and not others (ReturnLines' `demand`).
 */
export function settledLines(p: LoadedProgram, markers: Map<number, number>, range: [number, number] | undefined): { byAction: Int32Array; stateless: boolean } | undefined {
  const insns = p.insns;
  const n = insns.length;
  const inRange = (line: number) => !range || (line >= range[0] && line <= range[1]);
  // Helpers a stateless program may call: csum_diff, xdp_adjust_head/meta/tail, xdp_get_buff_len, xdp_load/store_bytes.
  const PURE = new Set([28, 44, 54, 65, 188, 189, 190]);
  let stateless = true;
  for (let pc = 0; pc < n; pc++) {
    const x = insns[pc]!;
    const cls = x.opcode & 7;
    if (x.opcode === 0x18) {
      if (x.src === 4) return undefined; // a callback (bpf_loop, for_each_map_elem, timers): a loop
      if (x.src !== 0) stateless = false; // a map or global data
      pc++;
      continue;
    }
    if (cls !== 5 && cls !== 6) continue;
    const op = x.opcode & 0xf0;
    if (op === 0x90) continue; // exit
    if (op === 0x80) {
      if (x.src === 0 && x.imm === 12) return undefined; // bpf_tail_call
      if (x.src === 2 || (x.src === 0 && !PURE.has(x.imm))) stateless = false;
      if (x.src === 1 && x.imm < 0) return undefined;
      continue;
    }
    if (op === 0xe0) return undefined; // may_goto (and any other jcond)
  }
  /** Successors of pc within its function (a call returns to pc + 1; an exit has none). */
  const succ = (pc: number): number[] => {
    const x = insns[pc]!;
    if (x.opcode === 0x18) return [pc + 2];
    const cls = x.opcode & 7;
    if (cls !== 5 && cls !== 6) return [pc + 1];
    const op = x.opcode & 0xf0;
    if (op === 0x90) return [];
    if (op === 0x80) return [pc + 1];
    if (op === 0) return [pc + 1 + (cls === 6 ? x.imm : x.off)];
    return [pc + 1, pc + 1 + x.off];
  };
  // No loop: no cycle among the jumps of any function (clang places blocks after the exit too: backward jumps alone are not loops).
  const color = new Uint8Array(n + 2);
  for (let root = 0; root < n; root++) {
    if (color[root] !== 0) continue;
    const stack: number[][] = [[root, 0]];
    color[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const next = succ(top[0]!);
      if (top[1]! < next.length) {
        const t = next[top[1]!++]!;
        if (t < 0 || t >= n) return undefined;
        if (color[t] === 1) return undefined;
        if (color[t] === 0) {
          color[t] = 1;
          stack.push([t, 0]);
        }
      } else {
        color[top[0]!] = 2;
        stack.pop();
      }
    }
  }
  const isExit = (pc: number) => (insns[pc]!.opcode & 7) === 5 && (insns[pc]!.opcode & 0xf0) === 0x90;
  // From the entry, along every path: the last in-range marker passed (-1: none yet) and what r0 holds (a constant's
  // low 32 bits, -1: unknown). An exit before any in-range marker, or a marker or bpf call after one: not settled.
  const byAction = new Int32Array(ACTIONS.length);
  const add = (a: number, line: number) => {
    if (byAction[a] === 0) byAction[a] = line;
    else if (byAction[a] !== line) byAction[a] = -1;
  };
  const states = new Map<number, Set<string>>();
  const q: [number, number, number][] = [];
  const push = (pc: number, m: number, v: number): boolean => {
    let set = states.get(pc);
    if (!set) states.set(pc, (set = new Set()));
    const key = `${m}:${v}`;
    if (set.has(key)) return true;
    if (set.size >= 64) return false;
    set.add(key);
    q.push([pc, m, v]);
    return true;
  };
  push(0, -1, -1);
  while (q.length) {
    const [pc, m0, v0] = q.pop()!;
    if (pc >= n) return undefined;
    let m = m0;
    let v = v0;
    const line = markers.get(pc);
    if (line !== undefined) {
      if (m >= 0) return undefined;
      if (inRange(line)) m = pc;
    }
    const x = insns[pc]!;
    const cls = x.opcode & 7;
    if (isExit(pc)) {
      if (m < 0) return undefined;
      const at = markers.get(m)!;
      if (v < 0) for (let a = 0; a < ACTIONS.length; a++) add(a, at);
      else add(ACTIONS.indexOf(actionOf(v)), at);
      continue;
    }
    if (cls === 5 || cls === 6) {
      if ((x.opcode & 0xf0) === 0x80) {
        if (x.src === 1 && m >= 0) return undefined;
        v = -1;
      }
    } else if ((cls === 4 || cls === 7) && x.dst === 0) {
      // mov r0, K (alu or alu64, the K form): K's low 32 bits; any other write of r0: unknown.
      v = (x.opcode & 0xf8) === 0xb0 && x.off === 0 ? x.imm >>> 0 : -1;
    } else if (cls === 0 || (cls === 1 && x.dst === 0)) v = -1;
    else if (cls === 3 && (x.opcode & 0xe0) === 0xc0 && (x.imm === 0xf1 || (x.src === 0 && (x.imm & 1) !== 0))) v = -1;
    for (const t of succ(pc)) if (!push(t, m, v)) return undefined;
  }
  return { byAction, stateless };
}

/** Follows the markers one twin run executes. */
export class MarkerTrail {
  private lines = new Int32Array(64);
  private n = 0;
  private cur: string | undefined;
  /** The current program's markers by instruction: the return line, 0 for none (no Map lookup per marker). */
  private curLines: Int32Array | undefined;
  private readonly linesBy = new Map<string, Int32Array | undefined>();
  /** The entry function's line range of the program the last exitLine was for. */
  private rangeOf: string | undefined;
  private range: [number, number] | undefined;
  readonly hooks: RunHooks;

  constructor(private readonly twin: Twin) {
    this.hooks = {
      onMark: (program, pc) => {
        if (program !== this.cur) {
          this.cur = program;
          this.curLines = this.markerLines(program);
        }
        const lines = this.curLines;
        const line = lines !== undefined && pc < lines.length ? lines[pc]! : 0;
        if (line !== 0) this.lines[this.n++ & 63] = line;
      },
    };
  }

  private markerLines(program: string): Int32Array | undefined {
    if (this.linesBy.has(program)) return this.linesBy.get(program);
    const m = this.twin.markers.get(program);
    let lines: Int32Array | undefined;
    if (m !== undefined && m.size > 0) {
      lines = new Int32Array(Math.max(...m.keys()) + 1);
      for (const [pc, line] of m) lines[pc] = line;
    }
    this.linesBy.set(program, lines);
    return lines;
  }

  begin(): void {
    this.n = 0;
  }

  /** The return line of the last marker inside the exiting program's entry function, else the last marker. */
  exitLine(exitProgram: string): number | undefined {
    if (exitProgram !== this.rangeOf) {
      this.rangeOf = exitProgram;
      this.range = this.twin.range.get(exitProgram);
    }
    const range = this.range;
    const kept = Math.min(this.n, 64);
    for (let i = 1; i <= kept; i++) {
      const line = this.lines[(this.n - i) & 63]!;
      if (!range || (line >= range[0] && line <= range[1])) return line;
    }
    return kept > 0 ? this.lines[(this.n - 1) & 63] : undefined;
  }
}

/** Every run of this machine goes through `hooks` (the driver calls session.runBuff, which takes none). */
export function hookMachine(machine: Machine, hooks: () => RunHooks | undefined): void {
  const run = machine.run.bind(machine);
  (machine as { run: Machine['run'] }).run = (program, buff, env, given) => run(program, buff, env, hooks() ?? given);
}

/**
 * The twin running beside a real run: `create` builds it with the same session and driver options (`makeRun`),
 * `lineFor` passes each packet through it after the real program and names the return line when both agree.
 */
export class ReturnLines {
  private constructor(
    private readonly driver: Driver,
    private readonly trail: MarkerTrail,
    /**
     * With `oneRun`, what the twin's code settles (settledLines): 'settled' when it names the line of every action (the
     * twin never runs), 'demand' when it leaves some open and the twin is stateless (it runs only for a packet whose
     * action is open, after the real run), else undefined (the twin runs beside every packet).
     */
    private readonly mode: 'settled' | 'demand' | undefined,
    private readonly byAction: Int32Array,
  ) {}

  /**
   * A string says why return lines are unavailable (the twin did not compile, or its run could not be set up).
   * `oneRun`: the caller takes lines only through lineFor, lineForAt and lineInBatch(Of) (the real run's action in
   * hand), so the twin may skip the packets whose line its code settles (settledLines); the twin-alone calls (run, runAt,
   * batchLine, batchAction) then must not be used.
   */
  static create(path: string, source: string, compile: LoadOptions, makeRun: (obj: LoadedObject) => { session: Session; driver: Driver }, opts: { oneRun?: boolean } = {}): ReturnLines | string {
    const t = buildTwin(path, source, compile);
    if (typeof t === 'string') return t;
    try {
      const { session, driver } = makeRun(t.obj);
      const trail = new MarkerTrail(t);
      hookMachine(session.machine, () => trail.hooks);
      let mode: 'settled' | 'demand' | undefined;
      let byAction: Int32Array = new Int32Array(ACTIONS.length);
      if (opts.oneRun) {
        const name = session.program.name;
        const p = t.obj.programs.find((x) => x.name === name);
        const settled = p && settledLines(p, t.markers.get(name) ?? new Map(), t.range.get(name));
        if (settled) {
          byAction = settled.byAction;
          if (!byAction.includes(-1)) mode = 'settled';
          else if (settled.stateless) mode = 'demand';
        }
      }
      return new ReturnLines(driver, trail, mode, byAction);
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** How the lines come (tests, benchmarks): 'twin' beside every packet, 'settled' without it, 'demand' for some. */
  get how(): 'twin' | 'settled' | 'demand' {
    return this.mode ?? 'twin';
  }

  /**
   * The line of a real run with this action when the twin's code settles it (>= 0; 0: none), else -1 (the twin must
   * run). Always -1 without oneRun.
   */
  private settled(action: Action): number {
    if (this.mode === undefined) return -1;
    return this.byAction[ACTIONS.indexOf(action)]!;
  }

  /** Runs the packet through the twin; the return line, unless the real run faulted or the twin disagrees. */
  lineFor(frame: Uint8Array, tsNs: bigint, real: DriverPacket): number | undefined {
    if (this.mode !== undefined) {
      if (real.fault) return undefined;
      const s = this.settled(real.action);
      if (s >= 0) return s !== 0 ? s : undefined;
    }
    const line = this.run(frame, tsNs);
    if (this.action !== real.action || real.fault) return undefined;
    return line;
  }

  /** lineFor with the timestamp as whole seconds (>= 0) and nanoseconds (0 <= nanos < 10^9): no BigInt per packet. */
  lineForAt(frame: Uint8Array, sec: number, nanos: number, real: DriverPacket): number | undefined {
    if (this.mode !== undefined) {
      if (real.fault) return undefined;
      const s = this.settled(real.action);
      if (s >= 0) return s !== 0 ? s : undefined;
      const line = this.runAt(frame, sec, nanos);
      return this.action === real.action ? line : undefined;
    }
    this.trail.begin();
    const shadow = this.driver.runOnlyAt(frame, sec, nanos);
    this.action = actionOf(shadow.fault ? 0 : shadow.retval >>> 0);
    const line = this.trail.exitLine(shadow.exitProgram);
    if (this.action !== real.action || real.fault) return undefined;
    return line;
  }

  /** Longest frame runBatch runs in a batch (Driver.batchFrameMax of the twin's driver; longer ones run on their own). */
  batchFrameMax(): number {
    return (this.frameMax ??= this.driver.batchFrameMax());
  }

  /** Whether runBatch can take the frames of a batch (the twin's driver takes batches: Driver.batchable). */
  batchable(): boolean {
    return (this.canBatch ??= this.driver.batchable());
  }
  private canBatch: boolean | undefined;

  /**
   * Runs the frames of `b` (another driver's batch, before that driver receives it) through the twin in turn, in
   * batches (Driver.runOnlyBatch): the same runs, in the same order, as lineForAt of each; lineInBatch(i, real) then
   * gives frame i's line. Only when batchable().
   */
  runBatch(b: RxBatch): void {
    const n = b.count;
    if (n === 0) return;
    if (this.mode !== undefined) {
      // oneRun: nothing runs now; lineInBatchOf runs the (stateless) twin on a frame whose action is left open.
      this.pending = b;
      return;
    }
    if (this.batchActions.length < n) {
      this.batchLines = new Int32Array(b.offset.length);
      this.batchActions = new Array<Action>(b.offset.length).fill('XDP_ABORTED');
    }
    const lines = this.batchLines;
    const actions = this.batchActions;
    const max = (this.frameMax ??= this.driver.batchFrameMax());
    let lo = Infinity;
    let hi = 0;
    for (let i = 0; i < n; i++) {
      const o = b.offset[i]!;
      const e = o + b.length[i]!;
      if (b.length[i]! > max) lo = -1;
      if (o < lo) lo = o;
      if (e > hi) hi = e;
    }
    if (lo < 0) {
      // A frame longer than the twin's driver takes in a batch: each on its own (the same runs).
      for (let i = 0; i < n; i++) {
        const line = this.runAt(b.frame(i), b.sec[i]!, b.nanos[i]!);
        lines[i] = line ?? 0;
        actions[i] = this.action;
      }
      return;
    }
    // The frames copied at once into the twin's own batch, in its machine's packet memory when there is room.
    let tb = this.batch;
    if (tb === undefined || tb.offset.length < n || tb.bytes.length < hi - lo) tb = this.batch = this.driver.newBatch(Math.max(n, b.offset.length), Math.max(hi - lo, tb?.bytes.length ?? 0, 1 << 18));
    tb.bytes.set(b.bytes.subarray(lo, hi));
    for (let i = 0; i < n; i++) {
      tb.offset[i] = b.offset[i]! - lo;
      tb.length[i] = b.length[i]!;
      tb.sec[i] = b.sec[i]!;
      tb.nanos[i] = b.nanos[i]!;
    }
    tb.count = n;
    tb.used = hi - lo;
    const trail = this.trail;
    trail.begin();
    this.driver.runOnlyBatch(tb, trail.hooks.onMark!, this.each);
  }
  private batch: RxBatch | undefined;
  /** oneRun: the batch runBatch was last given (its frames stay where they are until the next). */
  private pending: RxBatch | undefined;
  private frameMax: number | undefined;
  private batchLines = new Int32Array(0);
  private batchActions: Action[] = [];
  private readonly each = (i: number, run: RunResult): void => {
    this.batchActions[i] = actionOf(run.fault ? 0 : run.retval >>> 0);
    this.batchLines[i] = this.trail.exitLine(run.exitProgram) ?? 0;
    this.trail.begin();
  };

  /** After runBatch(b): frame i's return line as lineForAt gives it (`real`: that frame's run by the real program). */
  lineInBatch(i: number, real: DriverPacket): number | undefined {
    return this.lineInBatchOf(i, real.action, !!real.fault);
  }

  /**
   * lineInBatch from the real run's action and whether it faulted alone (no DriverPacket: a frame the driver settled
   * itself, receiveBatch's `plain`).
   */
  lineInBatchOf(i: number, action: Action, faulted: boolean): number | undefined {
    if (this.mode !== undefined) {
      if (faulted) return undefined;
      const s = this.settled(action);
      if (s >= 0) return s !== 0 ? s : undefined;
      const b = this.pending!;
      const line = this.runAt(b.frame(i), b.sec[i]!, b.nanos[i]!);
      return this.action === action ? line : undefined;
    }
    if (faulted || this.batchActions[i] !== action) return undefined;
    const line = this.batchLines[i]!;
    return line !== 0 ? line : undefined;
  }

  /**
   * After runBatch(b): frame i's return line (0: none) and the twin's action, for a caller that compares them with the
   * real run itself (the language server's worker thread: ReturnLines.lineFor's rule on the real run's action).
   */
  batchLine(i: number): number {
    return this.batchLines[i]!;
  }
  batchAction(i: number): Action {
    return this.batchActions[i]!;
  }

  /** The twin's action for the last packet `run` ran. */
  action: Action = 'XDP_ABORTED';

  /**
   * Runs the packet through the twin alone (no real run to compare with: the language server's worker thread, see
   * server/twin-lines.ts): the return line of the last marker, or undefined; `action` is then the twin's action.
   */
  run(frame: Uint8Array, tsNs: bigint): number | undefined {
    this.trail.begin();
    // Only the twin's program run on the buffer the driver lays out: what the driver then does is the real run's.
    const shadow = this.driver.runOnly(frame, tsNs);
    this.action = actionOf(shadow.fault ? 0 : shadow.retval >>> 0);
    return this.trail.exitLine(shadow.exitProgram);
  }

  /** run with the timestamp as whole seconds (>= 0) and nanoseconds (0 <= nanos < 10^9): no BigInt per packet. */
  runAt(frame: Uint8Array, sec: number, nanos: number): number | undefined {
    this.trail.begin();
    const shadow = this.driver.runOnlyAt(frame, sec, nanos);
    this.action = actionOf(shadow.fault ? 0 : shadow.retval >>> 0);
    return this.trail.exitLine(shadow.exitProgram);
  }

  finish(): void {
    this.driver.finish();
  }
}
