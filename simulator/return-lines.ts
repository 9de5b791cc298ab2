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
import { successors } from './isa/validate.ts';
import type { LoadedObject, LoadedProgram } from './elf/types.ts';
import type { RunHooks, Machine } from './vm/machine.ts';
import type { Session } from './session.ts';
import type { Driver, DriverPacket, RxBatch } from './driver/rx.ts';
import type { RunResult } from './vm/types.ts';
import { REGION_CTX, REGION_MAP_HANDLE, REGION_PACKET, type Memory } from './vm/memory.ts';

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
  const succ = (pc: number): number[] => successors(insns, pc);
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
  // From the entry, along every path: the last in-range marker passed (-1: none yet, -2: none, but a marker of another
  // function or a bpf call passed) and what r0 holds (a constant's low 32 bits, -1: unknown). An exit with no marker
  // passed at all has no line (exitLine finds none: 0); an exit at -2, or a marker or bpf call after an in-range marker:
  // not settled.
  const byAction = new Int32Array(ACTIONS.length);
  const seen = new Uint8Array(ACTIONS.length);
  const add = (a: number, line: number) => {
    if (!seen[a]) {
      seen[a] = 1;
      byAction[a] = line;
    } else if (byAction[a] !== line) byAction[a] = -1;
  };
  // Constants are followed in every register (`r6 = 2; ... r0 = r6`) when that keeps at most 64 states an
  // instruction, else in r0 alone.
  const walk = (all: boolean): boolean => {
    byAction.fill(0);
    seen.fill(0);
    const states = new Map<number, Set<string>>();
    const q: [number, number, number[]][] = [];
    const push = (pc: number, m: number, v: number[]): boolean => {
      let set = states.get(pc);
      if (!set) states.set(pc, (set = new Set()));
      const key = `${m}:${v.join(',')}`;
      if (set.has(key)) return true;
      if (set.size >= 64) return false;
      set.add(key);
      q.push([pc, m, v]);
      return true;
    };
    push(0, -1, new Array<number>(all ? 10 : 1).fill(-1));
    while (q.length) {
      const [pc, m0, v0] = q.pop()!;
      if (pc >= n) return false;
      let m = m0;
      let v = v0;
      const line = markers.get(pc);
      if (line !== undefined) {
        // After an in-range marker, one of another function (a `return` of a function inlined into this one) leaves
        // exitLine's answer as it was, while fewer than 64 markers (its ring) follow: no path passes one twice.
        if (m >= 0) {
          if (inRange(line) || markers.size >= 64) return false;
        } else m = inRange(line) ? pc : -2;
      }
      const x = insns[pc]!;
      const cls = x.opcode & 7;
      if (isExit(pc)) {
        if (m === -2) return false;
        const at = m >= 0 ? markers.get(m)! : 0;
        if (v[0]! < 0) for (let a = 0; a < ACTIONS.length; a++) add(a, at);
        else add(ACTIONS.indexOf(actionOf(v[0]!)), at);
        continue;
      }
      const set = (r: number, k: number) => {
        if (r >= v.length || v[r] === k) return;
        if (v === v0) v = v0.slice();
        v[r] = k;
      };
      if (cls === 5 || cls === 6) {
        if ((x.opcode & 0xf0) === 0x80) {
          if (x.src === 1 && m >= 0) return false;
          if (x.src === 1) m = -2; // the function called may pass markers (exitLine's fallback: not followed here)
          for (let r = 0; r <= 5; r++) set(r, -1);
        }
      } else if (cls === 4 || cls === 7) {
        // mov rD, K (alu or alu64, the K form): K's low 32 bits; mov rD, rS: rS's; any other write of rD: unknown.
        const op = x.opcode & 0xf8;
        set(x.dst, op === 0xb0 && x.off === 0 ? x.imm >>> 0 : op === 0xb8 && x.off === 0 && x.src < v.length ? v[x.src]! : -1);
      } else if (cls === 0 || cls === 1) set(x.dst, -1);
      else if (cls === 3 && (x.opcode & 0xe0) === 0xc0) {
        if (x.imm === 0xf1) set(0, -1);
        else if (x.imm === 0x100) set(x.dst, -1);
        else if ((x.imm & 1) !== 0) set(x.src, -1);
      }
      for (const t of succ(pc)) if (!push(t, m, v)) return false;
    }
    return true;
  };
  if (!walk(true) && !walk(false)) return undefined;
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
    /** 'demand': the traced paths of the twin (PathCache), until it misses too often. */
    private cache?: PathCache,
  ) {}

  /**
   * A string says why return lines are unavailable (the twin did not compile, or its run could not be set up).
   * `oneRun`: the caller takes lines only through lineFor, lineForAt and lineInBatch(Of) (the real run's action in
   * hand), so the twin may skip the packets whose line its code settles (settledLines); the twin-alone calls (run, runAt,
   * batchLine, batchAction) then must not be used. `cache` (default on; XDP_LENS_RETURN_CACHE=0 turns it off): in
   * 'demand' mode, the open lines from PathCache's traced paths instead of a twin run per open frame.
   */
  static create(path: string, source: string, compile: LoadOptions, makeRun: (obj: LoadedObject) => { session: Session; driver: Driver }, opts: { oneRun?: boolean; cache?: boolean } = {}): ReturnLines | string {
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
          else if (settled.stateless || packetOnly(p, t.markers.get(name) ?? new Map(), t.obj.maps)) mode = 'demand';
        }
      }
      let cache: PathCache | undefined;
      const p = t.obj.programs.find((x) => x.name === session.program.name);
      if (mode === 'demand' && p !== undefined && opts.cache !== false && process.env.XDP_LENS_RETURN_CACHE !== '0') {
        cache = new PathCache(p.insns, t.obj.maps, CACHE_MAX_LEN, keysFixed(t.obj.programs));
        const lin = driver.linearPart();
        if (lin !== undefined && lin <= CACHE_MAX_LEN) cache.linear = lin;
      }
      return new ReturnLines(driver, trail, mode, byAction, cache);
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
      if (this.cache !== undefined) return this.open(frame, 0, frame.length, -1, 0, tsNs, real.action);
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
      if (this.cache !== undefined) return this.open(frame, 0, frame.length, sec, nanos, undefined, real.action);
      const line = this.runAt(frame, sec, nanos);
      return this.action === real.action ? line : undefined;
    }
    this.twinRuns.single++;
    this.trail.begin();
    const shadow = this.driver.runOnlyAt(frame, sec, nanos);
    this.action = actionOf(shadow.fault ? 0 : shadow.retval >>> 0);
    const line = this.trail.exitLine(shadow.exitProgram);
    if (this.action !== real.action || real.fault) return undefined;
    return line;
  }

  /**
   * oneRun: the line of a packet whose real run ended with `action` (`faulted`: it faulted), from that alone (no
   * DriverPacket: the language server's worker thread, which gets the real run's action from the server's thread); the
   * twin runs on the packet only when its code leaves that action's line open. `sec` < 0: by `tsNs` instead.
   */
  lineOfRun(frame: Uint8Array, sec: number, nanos: number, tsNs: bigint | undefined, action: Action, faulted: boolean): number | undefined {
    if (this.mode !== undefined) {
      if (faulted) return undefined;
      const s = this.settled(action);
      if (s >= 0) return s !== 0 ? s : undefined;
      if (this.cache !== undefined) return this.open(frame, 0, frame.length, sec, nanos, tsNs, action);
    }
    // Without oneRun (or when its code settles nothing) the twin runs on every packet, a faulted one too.
    const line = sec >= 0 ? this.runAt(frame, sec, nanos) : this.run(frame, tsNs ?? 0n);
    return !faulted && this.action === action ? line : undefined;
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
      // oneRun: nothing runs now; lineInBatchOf runs the (stateless) twin on a frame whose action is left open. In
      // 'demand' mode, when nearly all frames of the last batch (7 in 8) had their action open, the twin runs the whole
      // batch now in one batched run instead (cheaper per frame than one run each: no layout or run set-up per frame);
      // its lines are the same, since a demand twin's line and action depend on its packet alone (settledLines'
      // stateless, packetOnly), not on which packets it ran before. Not at half: the frames whose action settles the
      // line are often the costly ones (p07_encap_ipip's encapsulated half: the twin's time per frame grew 300 -> 400 ns
      // with the switch at 1 in 2).
      this.pending = b;
      const openBefore = this.openN;
      const ranBefore = this.seen;
      this.openN = this.seen = 0;
      this.ranAll = this.mode === 'demand' && this.cache === undefined && ranBefore > 0 && openBefore * 8 >= ranBefore * 7;
      if (!this.ranAll) return;
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
    this.twinRuns.batched += n;
    this.driver.runOnlyBatch(tb, trail.hooks.onMark!, this.each);
  }
  private batch: RxBatch | undefined;
  /** oneRun: the batch runBatch was last given (its frames stay where they are until the next). */
  private pending: RxBatch | undefined;
  /**
   * Twin runs so far (tests, benchmarks): frames run in runBatch's batched runs, and frames run one at a time (runAt,
   * run: the demand runs of lineInBatchOf, lineForAt, lineFor, lineOfRun).
   */
  readonly twinRuns = { batched: 0, single: 0 };
  /** 'demand': the twin ran the whole pending batch (runBatch), its lines in batchLines. */
  private ranAll = false;
  /** 'demand': frames of the pending batch whose line was asked (seen) and of those, the ones with an open action. */
  private seen = 0;
  private openN = 0;
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
      this.seen++;
      if (faulted) return undefined;
      const s = this.settled(action);
      if (s >= 0) return s !== 0 ? s : undefined;
      this.openN++;
      if (!this.ranAll) {
        const b = this.pending!;
        if (this.cache !== undefined) return this.open(b.bytes, b.offset[i]!, b.length[i]!, b.sec[i]!, b.nanos[i]!, undefined, action);
        const line = this.runAt(b.frame(i), b.sec[i]!, b.nanos[i]!);
        return this.action === action ? line : undefined;
      }
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
    this.twinRuns.single++;
    this.trail.begin();
    // Only the twin's program run on the buffer the driver lays out: what the driver then does is the real run's.
    const shadow = this.driver.runOnly(frame, tsNs);
    this.twinFaulted = !!shadow.fault;
    this.action = actionOf(shadow.fault ? 0 : shadow.retval >>> 0);
    return this.trail.exitLine(shadow.exitProgram);
  }

  /** run with the timestamp as whole seconds (>= 0) and nanoseconds (0 <= nanos < 10^9): no BigInt per packet. */
  runAt(frame: Uint8Array, sec: number, nanos: number): number | undefined {
    this.twinRuns.single++;
    this.trail.begin();
    const shadow = this.driver.runOnlyAt(frame, sec, nanos);
    this.twinFaulted = !!shadow.fault;
    this.action = actionOf(shadow.fault ? 0 : shadow.retval >>> 0);
    return this.trail.exitLine(shadow.exitProgram);
  }

  /**
   * 'demand' with the cache: the line of the frame at `off` (`len` bytes) of `bytes` whose real run ended with `action`
   * (not faulted, its line left open): the cached path's, else the twin's traced run's (sec < 0: at tsNs).
   */
  private open(bytes: Uint8Array, off: number, len: number, sec: number, nanos: number, tsNs: bigint | undefined, action: Action): number | undefined {
    const c = this.cache!;
    const takes = c.takes(len);
    if (takes) {
      const leaf = c.lookup(bytes, off, len);
      if (leaf !== undefined) return leaf.action === action && leaf.line !== 0 ? leaf.line : undefined;
    }
    let line: number | undefined;
    const f = off === 0 && len === bytes.length ? bytes : bytes.subarray(off, off + len);
    if (!takes) line = sec >= 0 ? this.runAt(f, sec, nanos) : this.run(f, tsNs ?? 0n);
    else {
      c.begin(f);
      const hooks = this.trail.hooks as RunHooks;
      hooks.onStep = c.step;
      try {
        line = sec >= 0 ? this.runAt(f, sec, nanos) : this.run(f, tsNs ?? 0n);
      } finally {
        hooks.onStep = undefined;
      }
      c.end(line ?? 0, this.action, this.twinFaulted);
      // Too many misses (a line decided by bytes that vary from packet to packet, or paths it cannot follow, which
      // miss every time): the twin as before.
      if (c.off || (c.traced >= 32 && c.uncached * 4 > c.traced) || (c.lookups >= 256 && c.misses * 4 > c.lookups) || (c.lookups >= 4096 && c.misses * 128 > c.lookups)) {
        this.cacheStats = { lookups: c.lookups, misses: c.misses, traced: c.traced, uncached: c.uncached };
        this.cache = undefined;
      }
    }
    return this.action === action ? line : undefined;
  }
  /** The cache's counts when it was dropped (tests). */
  cacheStats: { lookups: number; misses: number; traced: number; uncached: number } | undefined;
  /** The cache's counts now, or when it was dropped (tests, benchmarks). */
  get pathCache(): { lookups: number; misses: number; traced: number; uncached: number; on: boolean } | undefined {
    const c = this.cache;
    if (c !== undefined) return { lookups: c.lookups, misses: c.misses, traced: c.traced, uncached: c.uncached, on: true };
    return this.cacheStats && { ...this.cacheStats, on: false };
  }
  private twinFaulted = false;

  finish(): void {
    this.driver.finish();
  }
}

/** Hash maps (hash, per-CPU hash, LRU and per-CPU LRU hash): a lookup finds an element or not by its key and the key set. */
const HASH_MAPS = new Set([1, 5, 9, 10]);
/** Helpers that add or remove no map's keys (lookups, time, random, output, redirects, checksums, packet bounds and bytes). */
const KEEPS_KEYS = new Set([1, 5, 6, 7, 8, 23, 25, 28, 44, 51, 54, 65, 189, 190, 192]);

/**
 * Whether the key set of every map stays as it was created for a whole run, whatever the twin's programs do: none of
 * them calls a helper outside KEEPS_KEYS, or a kfunc (a lookup in a hash map then finds an element by its key alone).
 */
export function keysFixed(programs: readonly { insns: readonly { opcode: number; src: number; imm: number }[] }[]): boolean {
  for (const p of programs) for (const x of p.insns) if (x.opcode === 0x85 && (x.src === 2 || (x.src === 0 && !KEEPS_KEYS.has(x.imm)))) return false;
  return true;
}

/** Longest frame PathCache takes (its length comparisons are decided for every length up to it). */
const CACHE_MAX_LEN = 4096;

// ---- Whether the twin's return line and action depend on its packet alone (packetOnly) ----

/** Kinds of value packetOnly follows (a bit set: a register may hold one of several). */
const K_STACK = 1; // a pointer into the stack at a known offset from r10 (`off`)
const K_STACKANY = 2; // a pointer into the stack, offset unknown
const K_MAP = 4; // a pointer into map or global data memory (what it holds depends on the run's history)
const K_RO = 8; // a pointer into read-only global data (.rodata, .kconfig: the same in every run)
const K_MAPPTR = 16; // a map (`off`: its index in the object's maps, -1 when it may be several)
const K_OTHER = 32; // a scalar, or a pointer to the packet
const K_CTX = 64; // the context (xdp_md)
const REGS = 11;
const SLOTS = 64; // 8-byte stack slots
const SLOT0 = REGS * 3; // per slot: its kind and offset (a pointer spilled there)
const BYTE0 = SLOT0 + SLOTS * 2; // per stack byte: 1 when what it holds may depend on the run's history
const STATE = BYTE0 + 512;
/** Helpers packetOnly knows: those that write no memory of the program's and do nothing the twin's history decides, other than through their return value. */
const ARITY: Record<number, number> = { 1: 2, 2: 4, 3: 2, 5: 0, 6: 5, 7: 0, 8: 0, 23: 2, 25: 5, 28: 5, 51: 3, 125: 0, 160: 0, 188: 1 };
/** Of ARITY: those whose result is a function of their arguments and the packet alone. */
const ARGS_ONLY = new Set([8, 23, 188]);

/**
 * Whether a run of the twin's program `p` ends with an action and a last marker that are a function of its packet (and
 * the driver's settings) alone, whatever its maps and global data hold: then the twin may run for some packets and not
 * others (its maps no longer evolving as the real program's), and its line for a packet is the line it would give in
 * lockstep. A forward taint analysis over registers and stack bytes: what is read from map or global data memory, and
 * what helpers that read the run's history return (map updates, time, random numbers, redirect_map, ...) are tainted;
 * an array map lookup is null or not by its key alone; once a tainted value (or a tainted branch's consequence) may
 * be written into the packet, every read of the packet is tainted. Refused (false): a tainted address into the packet
 * or context, the packet moved or resized by a tainted amount, a tainted r0 at an exit, a tainted conditional jump whose paths until they join pass a marker, an exit, or a loop; a bpf function,
 * kfunc or unknown helper called with a tainted argument; bpf-to-bpf calls at all. What the paths of a tainted jump
 * write before they join is tainted (implicit flow).
 */
export function packetOnly(p: LoadedProgram, markers: Map<number, number>, maps: readonly { type: number; keySize: number; kind: string; section: string }[]): boolean {
  const insns = p.insns;
  const n = insns.length;
  if (n > 50_000) return false;
  // Successors within the function (no bpf-to-bpf calls: refused below).
  const succ = (pc: number): number[] => successors(insns, pc);
  for (let pc = 0; pc < n; pc++) {
    const x = insns[pc]!;
    if (x.opcode === 0x18) {
      if (x.src === 3 || x.src === 4) return false;
      pc++;
      continue;
    }
    if ((x.opcode & 7) === 5 && (x.opcode & 0xf0) === 0x80 && x.src !== 0) return false; // bpf-to-bpf call or kfunc
    if (((x.opcode & 7) === 5 || (x.opcode & 7) === 6) && (x.opcode & 0xf0) === 0xe0) return false;
    for (const t of succ(pc)) if (t < 0 || t > n) return false;
  }
  const isRo = (m: { kind: string; section: string } | undefined) => m !== undefined && m.kind === 'global' && /^\.(rodata|kconfig)/.test(m.section);
  // Post-dominators (Cooper, Harvey, Kennedy on the reverse graph; node n is the exit of every exit instruction).
  const preds: number[][] = Array.from({ length: n + 1 }, () => []);
  const reach = new Uint8Array(n + 1);
  {
    const stack = [0];
    reach[0] = 1;
    while (stack.length) {
      const pc = stack.pop()!;
      const s = succ(pc);
      if (s.length === 0) preds[n]!.push(pc);
      for (const t of s) {
        preds[t]!.push(pc);
        if (!reach[t]) {
          reach[t] = 1;
          stack.push(t);
        }
      }
    }
  }
  // Postorder of the reverse graph from the exit node.
  const order: number[] = [];
  const num = new Int32Array(n + 1).fill(-1);
  {
    const seen = new Uint8Array(n + 1);
    const stack: [number, number][] = [[n, 0]];
    seen[n] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const ps = preds[top[0]]!;
      if (top[1] < ps.length) {
        const q = ps[top[1]++]!;
        if (!seen[q]) {
          seen[q] = 1;
          stack.push([q, 0]);
        }
      } else {
        num[top[0]] = order.length;
        order.push(top[0]);
        stack.pop();
      }
    }
  }
  for (let pc = 0; pc < n; pc++) if (reach[pc] && num[pc] < 0) return false; // code that never reaches an exit (an endless loop)
  const ipdom = new Int32Array(n + 1).fill(-1);
  ipdom[n] = n;
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = order.length - 2; i >= 0; i--) {
      const b = order[i]!;
      let d = -1;
      for (const s of succ(b)) {
        if (ipdom[s] < 0) continue;
        if (d < 0) d = s;
        else {
          let a = s;
          while (a !== d) {
            while (num[a]! < num[d]!) a = ipdom[a]!;
            while (num[d]! < num[a]!) d = ipdom[d]!;
          }
        }
      }
      if (succ(b).length === 0) d = n;
      if (d >= 0 && ipdom[b] !== d) {
        ipdom[b] = d;
        changed = true;
      }
    }
  }
  // Block leaders: the states are kept at these.
  const leader = new Uint8Array(n + 1);
  leader[0] = 1;
  for (let pc = 0; pc < n; pc++) {
    const x = insns[pc]!;
    const cls = x.opcode & 7;
    if (x.opcode === 0x18) {
      pc++;
      continue;
    }
    if (cls === 5 || cls === 6) {
      const op = x.opcode & 0xf0;
      if (op === 0x80) continue;
      for (const t of succ(pc)) leader[t] = 1;
      leader[pc + 1] = 1;
    }
  }
  const inRegion = new Uint8Array(n);
  // 1 once a store may put into the packet what the history decides: every read of the packet is then tainted.
  let pktTaint = 0;
  // Maps whose keys a helper may add or remove (keysAll: any map): a lookup elsewhere finds an element by the history.
  const keysChange = new Uint8Array(maps.length);
  let keysAll = 0;
  let keysGrew = 0;
  for (;;) {
    const before = pktTaint + keysAll;
    keysGrew = 0;
    const tainted = flow();
    if (tainted === undefined) return false;
    let grew = false;
    for (const b of tainted) {
      const stop = ipdom[b]!;
      if (stop === n || stop < 0) return false; // a path from b to an exit that does not pass its join
      const seen = new Uint8Array(n);
      const stack = [...succ(b)];
      while (stack.length) {
        const pc = stack.pop()!;
        if (pc === stop || seen[pc]) continue;
        if (pc === b) return false; // a loop whose count the history decides
        seen[pc] = 1;
        if (markers.has(pc)) return false;
        if (!inRegion[pc]) {
          inRegion[pc] = 1;
          grew = true;
        }
        for (const t of succ(pc)) stack.push(t);
      }
    }
    if (!grew && pktTaint + keysAll === before && !keysGrew) return true;
  }

  /** One pass to a fixed point with the current regions; the tainted conditional jumps, or undefined: refused. */
  function flow(): number[] | undefined {
    const states = new Map<number, Int32Array>();
    const init = new Int32Array(STATE);
    for (let r = 0; r < REGS; r++) init[r * 3 + 1] = K_OTHER;
    init[1 * 3 + 1] = K_CTX;
    init[10 * 3 + 1] = K_STACK;
    for (let s = 0; s < SLOTS; s++) init[SLOT0 + s * 2] = K_OTHER;
    init.fill(1, BYTE0, STATE); // uninitialised stack: whatever an earlier run left
    states.set(0, init);
    const work = [0];
    const queued = new Uint8Array(n + 1);
    queued[0] = 1;
    const taintedJumps = new Set<number>();
    const S = new Int32Array(STATE);
    const joinInto = (at: number): boolean => {
      const old = states.get(at);
      if (old === undefined) {
        states.set(at, S.slice());
        return true;
      }
      let changed = false;
      for (let r = 0; r < REGS + SLOTS; r++) {
        const i = r < REGS ? r * 3 : SLOT0 + (r - REGS) * 2 - 1; // [t,] k, off
        if (r < REGS && (old[i]! | S[i]!) !== old[i]) {
          old[i] = 1;
          changed = true;
        }
        const k = old[i + 1]! | S[i + 1]!;
        let off = old[i + 2]!;
        let kk = k;
        if (old[i + 1]! & S[i + 1]! & K_STACK && off !== S[i + 2]) kk = (k & ~K_STACK) | K_STACKANY;
        else if (!(old[i + 1]! & K_STACK) && S[i + 1]! & K_STACK) off = S[i + 2]!;
        if (old[i + 1]! & S[i + 1]! & K_MAPPTR && off !== S[i + 2]) off = -1;
        else if (!(old[i + 1]! & K_MAPPTR) && S[i + 1]! & K_MAPPTR) off = S[i + 2]!;
        if (kk & K_MAPPTR && kk & (K_STACK | K_STACKANY)) {
          kk = (kk & ~K_STACK) | K_STACKANY;
          off = -1;
        }
        if (kk !== old[i + 1] || off !== old[i + 2]) {
          old[i + 1] = kk;
          old[i + 2] = off;
          changed = true;
        }
      }
      for (let i = BYTE0; i < STATE; i++)
        if (S[i]! > old[i]!) {
          old[i] = 1;
          changed = true;
        }
      return changed;
    };
    const setReg = (r: number, t: number, k: number, off: number) => {
      S[r * 3] = t;
      S[r * 3 + 1] = k;
      S[r * 3 + 2] = off;
    };
    const anyBytes = (from: number, to: number): number => {
      if (from < -512 || to > 0 || from >= to) return 1;
      for (let o = from; o < to; o++) if (S[BYTE0 + 512 + o]) return 1;
      return 0;
    };
    /**
     * Taint of what memory a pointer register points at may hold: `size` bytes (-1: unknown, its whole reach in the
     * stack).
     */
    const memTaint = (r: number, size = -1): number => {
      const k = S[r * 3 + 1]!;
      let t = 0;
      if (k & K_MAP) t = 1;
      if (k & K_OTHER) t |= pktTaint;
      if (k & K_STACKANY) t |= anyBytes(-512, 0);
      if (k & K_STACK) t |= size >= 0 ? anyBytes(S[r * 3 + 2]!, S[r * 3 + 2]! + size) : anyBytes(Math.max(-512, S[r * 3 + 2]!), 0);
      return t;
    };
    /** The constant register r holds at pc when the instructions of its block before pc set it last by a move, else -1. */
    const constAt = (pc: number, r: number): number => {
      for (let q = pc - 1; q >= 0; q--) {
        const x = insns[q]!;
        const cls = x.opcode & 7;
        if (q + 1 < n && x.opcode !== 0x18 && q > 0 && insns[q - 1]!.opcode === 0x18) continue; // the second slot of a lddw
        if ((cls === 4 || cls === 7 || x.opcode === 0x18 || cls === 1) && x.dst === r) return (x.opcode & 0xff) === 0xb7 || (x.opcode & 0xff) === 0xb4 ? (x.imm >= 0 && x.off === 0 ? x.imm : -1) : -1;
        if ((cls === 5 || cls === 6) && (x.opcode & 0xf0) === 0x80) return -1;
        if (cls === 3 && (x.opcode & 0xe0) === 0xc0 && (x.src === r || r === 0)) return -1;
        if (leader[q]) return -1;
      }
      return -1;
    };
    const taintStack = (from: number, to: number, t: number) => {
      from = Math.max(-512, from);
      to = Math.min(0, to);
      for (let o = from; o < to; o++) S[BYTE0 + 512 + o] |= t;
      for (let s = (from + 512) >> 3; s < (to + 512 + 7) >> 3; s++) S[SLOT0 + s * 2] |= K_OTHER;
    };
    const store = (addr: number, off: number, size: number, t: number, k: number, koff: number, ctx: number): boolean => {
      const ka = S[addr * 3 + 1]!;
      const ta = S[addr * 3]!;
      if (ka & (K_OTHER | K_CTX) && ta) return false; // where in the packet it goes would depend on the history
      if (ka & K_CTX && (t | ctx)) return false;
      if (ka & K_OTHER && (t | ctx)) pktTaint = 1; // what the packet holds does
      if (ka & K_STACK && !(ka & K_STACKANY) && !ta) {
        const from = S[addr * 3 + 2]! + off;
        if (from < -512 || from + size > 0) taintStack(-512, 0, 1);
        else if (ka === K_STACK) {
          for (let o = from; o < from + size; o++) S[BYTE0 + 512 + o] = t | ctx;
          const s = (from + 512) >> 3;
          if (size === 8 && (from & 7) === 0) {
            S[SLOT0 + s * 2] = k;
            S[SLOT0 + s * 2 + 1] = koff;
          } else for (let q = s; q <= (from + size - 1 + 512) >> 3; q++) S[SLOT0 + q * 2] = K_OTHER;
        } else {
          for (let o = from; o < from + size; o++) S[BYTE0 + 512 + o] |= t | ctx;
          for (let q = (from + 512) >> 3; q <= (from + size - 1 + 512) >> 3; q++) S[SLOT0 + q * 2] |= k | K_OTHER;
        }
      } else if (ka & (K_STACK | K_STACKANY)) {
        taintStack(-512, 0, t | ctx | ta);
        for (let q = 0; q < SLOTS; q++) S[SLOT0 + q * 2] |= k;
      }
      return true;
    };
    const load = (dst: number, addr: number, off: number, size: number, ctx: number): boolean => {
      const ka = S[addr * 3 + 1]!;
      const ta = S[addr * 3]!;
      if (ka & (K_OTHER | K_CTX) && ta) return false; // where in the packet (or whether it faults) would depend on the history
      let t = ta | ctx;
      if (ka & K_OTHER) t |= pktTaint;
      let k = K_OTHER;
      let koff = 0;
      if (ka & K_MAP) t = 1;
      if (ka & K_STACKANY) {
        t |= anyBytes(-512, 0);
        if (size === 8) for (let q = 0; q < SLOTS; q++) k |= S[SLOT0 + q * 2]!;
      }
      if (ka & K_STACK) {
        const from = S[addr * 3 + 2]! + off;
        t |= anyBytes(from, from + size);
        if (size === 8 && (from & 7) === 0 && from >= -512 && from + 8 <= 0) {
          const s = (from + 512) >> 3;
          if (ka === K_STACK) {
            k = S[SLOT0 + s * 2]!;
            koff = S[SLOT0 + s * 2 + 1]!;
          } else k |= S[SLOT0 + s * 2]!;
        } else if (size === 8) k |= K_STACKANY | K_MAP;
      }
      if (k & K_STACK && k !== K_STACK) k = (k & ~K_STACK) | K_STACKANY;
      setReg(dst, t, k, koff);
      return true;
    };
    while (work.length) {
      const start = work.pop()!;
      queued[start] = 0;
      S.set(states.get(start)!);
      let pc = start;
      for (;;) {
        const x = insns[pc]!;
        const cls = x.opcode & 7;
        const ctx = inRegion[pc] ?? 0;
        let next: number[] | undefined;
        if (x.opcode === 0x18) {
          if (x.src === 0) setReg(x.dst, ctx, K_OTHER, 0);
          else if (x.src === 1 || x.src === 5) setReg(x.dst, ctx, K_MAPPTR, x.imm);
          else setReg(x.dst, ctx, isRo(maps[x.imm]) ? K_RO : K_MAP, 0);
          next = [pc + 2];
        } else if (cls === 1) {
          const mode = x.opcode & 0xe0;
          if (mode !== 0x60 && mode !== 0x80) return undefined;
          if (!load(x.dst, x.src, x.off, [4, 2, 1, 8][(x.opcode >> 3) & 3]!, ctx)) return undefined;
        } else if (cls === 2 || cls === 3) {
          const mode = x.opcode & 0xe0;
          const size = [4, 2, 1, 8][(x.opcode >> 3) & 3]!;
          if (mode === 0x60) {
            const v = cls === 2 ? [0, K_OTHER, 0] : [S[x.src * 3]!, S[x.src * 3 + 1]!, S[x.src * 3 + 2]!];
            if (!store(x.dst, x.off, size, v[0]!, v[1]!, v[2]!, ctx)) return undefined;
          } else if (cls === 3 && mode === 0xc0) {
            if (x.imm === 0x100) {
              if (!load(x.dst, x.src, x.off, size, ctx)) return undefined;
            } else if (x.imm === 0x110) {
              if (!store(x.dst, x.off, size, S[x.src * 3]!, S[x.src * 3 + 1]!, S[x.src * 3 + 2]!, ctx)) return undefined;
            } else {
              if (S[x.dst * 3 + 1]! & K_OTHER) return undefined;
              if (!store(x.dst, x.off, size, 1, K_OTHER, 0, ctx)) return undefined;
              if (x.imm === 0xf1) setReg(0, 1, K_OTHER, 0);
              else if (x.imm & 1) setReg(x.src, 1, K_OTHER, 0);
            }
          } else return undefined;
        } else if (cls === 4 || cls === 7) {
          const op = x.opcode & 0xf0;
          const reg = (x.opcode & 8) !== 0;
          const d = x.dst * 3;
          const s = x.src * 3;
          if (op === 0xb0) {
            if (!reg) setReg(x.dst, ctx, K_OTHER, 0);
            else if (cls === 4 || x.off !== 0) setReg(x.dst, S[s]! | ctx, K_OTHER, 0);
            else setReg(x.dst, S[s]! | ctx, S[s + 1]!, S[s + 2]!);
          } else if (cls === 7 && (op === 0x00 || op === 0x10) && (S[d + 1]! & ~K_OTHER || (reg && op === 0 && S[s + 1]! & ~K_OTHER))) {
            // Pointer arithmetic: a constant moves a known stack offset; anything else leaves it unknown.
            let k = S[d + 1]!;
            let off = S[d + 2]!;
            let t = S[d]! | ctx;
            if (reg) {
              t |= S[s]!;
              if (op === 0 && k === K_OTHER) {
                k = S[s + 1]!;
                off = S[s + 2]!;
              }
              if (k & K_STACK) k = (k & ~K_STACK) | K_STACKANY;
            } else off += op === 0 ? x.imm : -x.imm;
            setReg(x.dst, t, k, off);
          } else setReg(x.dst, S[d]! | (reg ? S[s]! : 0) | ctx, K_OTHER, 0);
        } else {
          const op = x.opcode & 0xf0;
          if (op === 0x90) {
            if (S[0]! | ctx) return undefined;
            next = [];
          } else if (op === 0x80) {
            const id = x.imm;
            const ar = ARITY[id];
            let argT = ctx;
            for (let r = 1; r <= 5; r++) if (ar === undefined || r <= ar) argT |= S[r * 3]!;
            let r0: [number, number, number] = [1, K_OTHER, 0];
            // A helper that adds or removes keys of a map: which map (all when unsure).
            if (id === 2 || id === 3 || id === 87 || id === 88 || ar === undefined) {
              for (let r = 1; r <= (id === 2 || id === 3 || id === 87 || id === 88 ? 1 : 5); r++) {
                if (!(S[r * 3 + 1]! & K_MAPPTR)) continue;
                const mi = S[r * 3 + 1] === K_MAPPTR ? S[r * 3 + 2]! : -1;
                if (mi < 0 || mi >= maps.length) keysAll = 1;
                else if (!keysChange[mi]) {
                  keysChange[mi] = 1;
                  keysGrew = 1;
                }
              }
              if ((id === 2 || id === 3 || id === 87 || id === 88) && S[4] !== K_MAPPTR) keysAll = 1;
            }
            /** Whether the map r1 names has the same keys in every run (an array's, or a map no helper adds to or removes from). */
            const stableKeys = (): boolean => {
              const mi = S[4]! === K_MAPPTR ? S[5]! : -1;
              const m = mi >= 0 ? maps[mi] : undefined;
              return m !== undefined && (m.type === 2 || m.type === 6 || (!keysAll && !keysChange[mi]));
            };
            if (id === 1) {
              // map_lookup_elem(map, key): whether an element is found depends on the key alone in a map whose keys stay
              const mi = S[4]! === K_MAPPTR ? S[5]! : -1;
              const m = mi >= 0 ? maps[mi] : undefined;
              let t = 1;
              if (m && stableKeys()) {
                const kk = S[7]!;
                if (kk === K_STACK) t = anyBytes(S[8]!, S[8]! + m.keySize);
                else if (kk === K_OTHER) t = pktTaint;
                else if (kk === K_RO) t = 0;
                t |= S[3]! | S[6]! | ctx;
              }
              r0 = [t, isRo(m) ? K_RO : K_MAP, 0];
            } else if (id === 51) {
              // redirect_map(map, key, flags): XDP_REDIRECT when the key is there, else the flags' action
              r0 = [stableKeys() ? S[3]! | S[6]! | S[9]! | ctx : 1, K_OTHER, 0];
            } else if (id === 44 || id === 54 || id === 65) {
              if (S[3]! | S[6]! | ctx) return undefined;
              r0 = [0, K_OTHER, 0];
            } else if (id === 189 || id === 190) {
              // xdp_load_bytes / xdp_store_bytes (ctx, offset, buf, len)
              const t = S[3]! | S[6]! | S[12]! | ctx;
              if (id === 190 && (t | S[9]!)) return undefined;
              if (id === 190 && memTaint(3)) pktTaint = 1;
              if (id === 189) {
                const k = S[10]!;
                if (k & (K_OTHER | K_CTX) || S[9]!) return undefined;
                if (k & K_STACKANY) taintStack(-512, 0, 1);
                if (k & K_STACK) taintStack(S[11]!, 0, t | pktTaint);
              }
              r0 = [t, K_OTHER, 0];
            } else if (id === 69) {
              // fib_lookup(ctx, params, plen, flags): params rewritten from themselves and the routes (fixed)
              const k = S[7]!;
              if (k & (K_OTHER | K_CTX) || S[6]!) return undefined;
              const t = argT | memTaint(2);
              if (k & K_STACKANY) taintStack(-512, 0, t);
              if (k & K_STACK) taintStack(S[8]!, S[8]! + 64, t);
              r0 = [t, K_OTHER, 0];
            } else if (id === 28) r0 = [argT | memTaint(1, constAt(pc, 2)) | memTaint(3, constAt(pc, 4)), K_OTHER, 0];
            else if (ARGS_ONLY.has(id)) r0 = [argT, K_OTHER, 0];
            else if (ar === undefined) {
              // A helper not known here: its result may depend on anything, and it may write what its pointers reach.
              if (argT) return undefined;
              for (let r = 1; r <= 5; r++) {
                const k = S[r * 3 + 1]!;
                if (k & K_STACKANY) taintStack(-512, 0, 1);
                if (k & K_STACK) taintStack(S[r * 3 + 2]!, 0, 1);
              }
            }
            setReg(0, r0[0] | ctx, r0[1], r0[2]);
            for (let r = 1; r <= 5; r++) setReg(r, 0, K_OTHER, 0);
          } else if (op !== 0x00) {
            if (S[x.dst * 3]! | ((x.opcode & 8) !== 0 ? S[x.src * 3]! : 0)) taintedJumps.add(pc);
          }
        }
        if (next === undefined) next = succ(pc);
        if (next.length === 1 && !leader[next[0]!] && next[0]! < n) {
          pc = next[0]!;
          continue;
        }
        for (const t of next) {
          if (t >= n) return undefined;
          if (joinInto(t) && !queued[t]) {
            queued[t] = 1;
            work.push(t);
          }
        }
        break;
      }
    }
    return [...taintedJumps];
  }
}

// ---- Demand mode without the twin on every open packet: a cache of traced twin paths (PathCache) ----

/**
 * Taint of a value in a traced twin run (PathCache): bits 0..255 the packet bytes at those offsets from `data` as
 * received; LEN: the value is the packet length plus a number fixed by the other bits (data_end, data_end - data, ...);
 * UNK: anything else the run read (a helper's result, a byte past 256, the context's other fields): a branch on it
 * ends caching of the run; HIST: map or global data, or a helper answering from them or from time: a branch on it
 * alone goes the same way for every packet under the same map contents (see PathCache).
 */
const T_LEN = 1n << 256n;
const T_UNK = 1n << 257n;
const T_HIST = 1n << 258n;
const T_BYTES = (1n << 256n) - 1n;
const M64 = (1n << 64n) - 1n;
/** Helpers a traced run follows: they write no memory of the program's; r0 is HIST (1: see `step`). */
const TRACE_HELPERS = new Set([1, 2, 3, 5, 6, 7, 8, 25, 51]);

/** One comparison a traced run made whose outcome depends on the packet's length. */
interface LenCond {
  op: number;
  wide: boolean;
  /** Each side: the value minus the length when `lenA`/`lenB`, else the value (unsigned 64-bit). */
  a: bigint;
  lenA: boolean;
  b: bigint;
  lenB: boolean;
}

/**
 * A tree node: the packet bytes it reads (at most 3, so that its keys are small integers) and whether the length gives the traced outcome of one length
 * comparison (`lens`: the lengths that do, as [from, to) pairs), the two making the key of its children.
 */
interface PathNode {
  offs: number[];
  lens: number[] | undefined;
  /** The children by key: `keys[i]` leads to `kids[i]` (a short list is searched faster than a Map). */
  keys: number[];
  kids: (PathNode | PathLeaf)[];
}
/** One branch (or the exit) of a traced run: the packet bytes it depended on first, and its length comparison. */
interface PathCond {
  bytes: bigint;
  len: LenCond | undefined;
}
interface PathLeaf {
  line: number;
  action: Action;
  kids: undefined;
}

/** The child of `n` under `key`, or undefined. */
function childOf(n: PathNode, key: number): PathNode | PathLeaf | undefined {
  const keys = n.keys;
  for (let i = 0; i < keys.length; i++) if (keys[i] === key) return n.kids[i];
  return undefined;
}

function jmpTaken(op: number, wide: boolean, x: bigint, y: bigint): boolean {
  if (!wide) {
    x &= 0xffffffffn;
    y &= 0xffffffffn;
  }
  const bits = wide ? 64n : 32n;
  const sx = BigInt.asIntN(Number(bits), x);
  const sy = BigInt.asIntN(Number(bits), y);
  switch (op) {
    case 0x10: return x === y;
    case 0x20: return x > y;
    case 0x30: return x >= y;
    case 0x40: return (x & y) !== 0n;
    case 0x50: return x !== y;
    case 0x60: return sx > sy;
    case 0x70: return sx >= sy;
    case 0xa0: return x < y;
    case 0xb0: return x <= y;
    case 0xc0: return sx < sy;
    case 0xd0: return sx <= sy;
    default: throw new Error(`jump op ${op}`);
  }
}

/**
 * Lines of the open actions of a 'demand' twin without running it on every packet. A miss runs the twin once, on the
 * interpreter with a step hook that follows where each value came from (taint, above), and records which packet bytes
 * and which comparisons with the packet's length its branches and its exit value depended on; a later packet with the
 * same bytes there (at offsets from `data`) and the same outcome of every such length comparison takes the same path
 * through the twin, so it leaves through the same marker with the same action: the tree's leaf. Why that is exact: the
 * twin's line and action depend on its packet alone ('demand': settledLines' stateless or packetOnly), so they are
 * those of a run under the map contents the traced run had; under those, a packet agreeing on every input the path's
 * conditions read takes every branch as the traced one did (a branch on map contents alone, HIST, goes the same way;
 * one on anything not followed, UNK, is not cached). Stores at an address taken from the packet taint the whole
 * region they may hit. Only single-buffer frames laid out as received (the traced run checks data..data_end holds the
 * frame); a bpf-to-bpf call, tail call, kfunc, atomic on the packet or stack, or another helper ends caching of that
 * run (its line is still the twin's).
 */
export class PathCache {
  private root: PathNode | PathLeaf | undefined;
  /** Multi-buffer frames' tree (see lookup). */
  private mbRoot: PathNode | PathLeaf | undefined;
  /**
   * The linear part of a multi-buffer frame (data_end - data when the frame has fragments), the same every run, from
   * the driver (Driver.linearPart) and checked on every traced run of one; -1: multi-buffer frames are not cached.
   */
  linear = -1;
  /** The traced run's frame is multi-buffer: its path goes into mbRoot. */
  private multi = false;
  private nodes = 0;
  /** The packet's offset in its frame in traced runs (data), the same every run, else the cache turns itself off. */
  private dataOff = -1;
  lookups = 0;
  misses = 0;
  traced = 0;
  uncached = 0;
  off = false;
  // The traced run's state.
  private regT: bigint[] = new Array<bigint>(11).fill(0n);
  private stackT: bigint[] = new Array<bigint>(512).fill(0n);
  private stackAll = 0n;
  private pktW = new Map<number, bigint>();
  private pktAll = 0n;
  private deps = 0n;
  private conds: PathCond[] = [];
  private failed = false;
  private stackRegion = -1;
  private len = 0;
  private frame: Uint8Array = new Uint8Array(0);
  private started = false;
  private hist = false;

  constructor(
    private readonly insns: readonly { opcode: number; dst: number; src: number; off: number; imm: number }[],
    private readonly maps: readonly { type: number; keySize: number }[],
    /** Longest linear frame cached (length comparisons are decided for lengths 0..maxLen); lowered below a multi-buffer frame laid out otherwise than `linear` says. */
    public maxLen: number,
    /** Whether no program of the object can add or remove a map's keys (keysFixed). */
    private readonly keysFixed: boolean = false,
  ) {}

  /**
   * The leaf of a frame, or undefined (a miss). A multi-buffer frame (longer than `linear`, once a traced run has shown
   * the driver's linear part) is looked up in a tree of its own by its linear part: `linear` bytes, the length its
   * program sees (data_end - data).
   */
  lookup(frame: Uint8Array, off: number, len: number): PathLeaf | undefined {
    this.lookups++;
    let n = this.root;
    if (this.linear >= 0 && len > this.linear) {
      n = this.mbRoot;
      len = this.linear;
    }
    while (n !== undefined && n.kids !== undefined) n = childOf(n, this.keyOf(n, frame, off, len));
    if (n === undefined) this.misses++;
    return n as PathLeaf | undefined;
  }

  /** Whether lookup takes a frame of `len` bytes (a longer one runs the twin untraced). */
  takes(len: number): boolean {
    return len <= this.maxLen || (this.linear >= 0 && len > this.linear);
  }

  private keyOf(n: PathNode, frame: Uint8Array, off: number, len: number): number {
    let k = 0;
    const offs = n.offs;
    for (let i = 0; i < offs.length; i++) {
      const o = offs[i]!;
      k = k * 257 + (o < len ? frame[off + o]! : 256);
    }
    const lens = n.lens;
    if (lens === undefined) return k;
    let m = 0;
    for (let i = 0; i < lens.length; i += 2) if (len >= lens[i]! && len < lens[i + 1]!) m = 1;
    return k * 2 + m;
  }

  /** Hooks of a traced run of `frame` (its bytes as received). */
  begin(frame: Uint8Array): void {
    this.frame = frame;
    this.len = frame.length;
    this.multi = false;
    this.regT.fill(0n);
    this.stackT.fill(T_UNK); // never written in this run
    this.stackAll = 0n;
    this.pktW.clear();
    this.pktAll = 0n;
    this.deps = 0n;
    this.conds = [];
    this.failed = false;
    this.started = false;
    this.stackRegion = -1;
  }

  readonly step = (program: string, pc: number, regs: BigUint64Array, frames: readonly unknown[], mem: Memory): void => {
    if (this.failed) return;
    // Nothing thrown from here may reach the run (a step hook's error stops it): a surprise ends caching of the run.
    try {
      this.follow(pc, regs, mem);
    } catch {
      this.fail();
    }
    void program;
    void frames;
  };

  private follow(pc: number, regs: BigUint64Array, mem: Memory): void {
    if (!this.started) {
      this.started = true;
      const b = mem.ctx?.buff;
      const f = this.frame;
      // A multi-buffer frame: its first `linear` bytes in the buffer from `data` (what the program reaches directly;
      // its fragments only through helpers, which end caching), data_end - data = linear whatever the frame's length.
      const multi = b !== undefined && b.frags.length !== 0;
      if (multi && !(this.linear >= 0 && f.length > this.linear && b.dataEnd - b.data === this.linear && b.dataMeta === b.data)) {
        // Laid out otherwise than Driver.linearPart said: multi-buffer frames are not cached (none this long).
        this.linear = -1;
        this.maxLen = Math.min(this.maxLen, f.length - 1);
        return this.fail();
      }
      if (b === undefined || (!multi && (b.dataEnd - b.data !== f.length || f.length > this.maxLen)) || b.dataMeta !== b.data) return this.fail();
      const n = multi ? this.linear : f.length;
      this.multi = multi;
      this.len = n;
      let same = true;
      const win = b.frame;
      for (let i = 0; i < n && same; i++) same = win[b.data + i] === f[i];
      if (!same || (this.dataOff >= 0 && b.data !== this.dataOff)) {
        // Laid out otherwise than received (VLAN stripped, multi-buffer, ...): no cache for this run's driver.
        this.off = true;
        this.failed = true;
        return;
      }
      this.dataOff = b.data;
      this.stackRegion = Number(regs[10]! >> 32n);
    }
    const x = this.insns[pc];
    if (x === undefined) return this.fail();
    const cls = x.opcode & 7;
    const R = this.regT;
    const offOf = (a: bigint): number => Number(a & 0xffffffffn) - 0x8000_0000;
    const regionOf = (a: bigint): number => Number(a >> 32n);
    if (x.opcode === 0x18) {
      R[x.dst] = 0n; // a constant, a map, global data (its loads are HIST)
      return;
    }
    if (cls === 4 || cls === 7) {
      const op = x.opcode & 0xf0;
      const reg = (x.opcode & 8) !== 0;
      const d = R[x.dst]!;
      const s = reg ? R[x.src]! : 0n;
      if (op === 0xb0) {
        // mov: a copy, except that a narrowed or sign-extended length is followed no further
        R[x.dst] = !reg ? 0n : (s & T_LEN) !== 0n && (cls === 4 || x.off !== 0) ? (s & ~T_LEN) | T_UNK : s;
        return;
      }
      if ((d | s) & T_LEN) {
        const wide = cls === 7;
        if (wide && op === 0x00 && ((d ^ s) & T_LEN) !== 0n) R[x.dst] = d | s; // len + k + fixed
        else if (wide && op === 0x10 && (d & T_LEN) !== 0n && (s & T_LEN) === 0n) R[x.dst] = d | s;
        else if (wide && op === 0x10 && (d & T_LEN) !== 0n && (s & T_LEN) !== 0n) R[x.dst] = (d | s) & ~T_LEN; // the length cancels
        else R[x.dst] = (d | s | T_UNK) & ~T_LEN;
        return;
      }
      R[x.dst] = d | s;
      return;
    }
    if (cls === 1 || cls === 2 || cls === 3) {
      const mode = x.opcode & 0xe0;
      const size = [4, 2, 1, 8][(x.opcode >> 3) & 3]!;
      if (cls === 1 && mode !== 0x60 && mode !== 0x80) return this.fail();
      if (cls !== 1 && mode !== 0x60 && mode !== 0xc0) return this.fail();
      const base = cls === 1 ? x.src : x.dst;
      const addr = (regs[base]! + BigInt(x.off)) & M64;
      const aT = R[base]!;
      if (aT & (T_LEN | T_UNK)) return this.fail();
      const region = regionOf(addr);
      const o = offOf(addr);
      if (cls === 3 && mode === 0xc0) {
        if (region === REGION_PACKET || region === this.stackRegion) return this.fail();
        if (x.imm === 0xf1) R[0] = T_HIST;
        else if (x.imm & 1) R[x.src] = T_HIST;
        return;
      }
      if (cls === 1 || (cls === 3 && x.imm === 0x100)) {
        const dst = x.dst;
        let t = aT;
        if (region === REGION_CTX) {
          t = o === 4 ? T_LEN : o === 0 || o === 8 ? 0n : T_UNK;
        } else if (region === REGION_PACKET) {
          t |= this.pktAll;
          for (let i = 0; i < size; i++) {
            const w = this.pktW.get(o + i);
            const rel = o + i - this.dataOff;
            t |= w !== undefined ? w : rel >= 0 && rel < 256 ? 1n << BigInt(rel) : T_UNK;
          }
        } else if (region === this.stackRegion) {
          t |= this.stackAll;
          for (let i = 0; i < size; i++) t |= o + i >= 0 && o + i < 512 ? this.stackT[o + i]! : T_UNK;
        } else t |= T_HIST;
        if (t & T_LEN && size !== 8 && region !== REGION_CTX) t = (t & ~T_LEN) | T_UNK; // part of a spilled length: followed no further
        R[dst] = t;
        return;
      }
      // A store (ST, STX, store-release).
      let vT = cls === 2 ? 0n : R[x.src]!;
      if (vT & T_LEN && size !== 8) vT = (vT & ~T_LEN) | T_UNK;
      if (region === REGION_PACKET) {
        if (aT !== 0n) this.pktAll |= aT;
        for (let i = 0; i < size; i++) this.pktW.set(o + i, vT | aT);
      } else if (region === this.stackRegion) {
        if (aT !== 0n) this.stackAll |= aT;
        for (let i = 0; i < size; i++) if (o + i >= 0 && o + i < 512) this.stackT[o + i] = vT | aT;
      }
      return;
    }
    if (cls === 5 || cls === 6) {
      const op = x.opcode & 0xf0;
      if (op === 0x00) return;
      if (op === 0x90) {
        const t = R[0]!;
        if (t & (T_UNK | T_LEN)) return this.fail();
        const fresh = t & T_BYTES & ~this.deps;
        if (fresh !== 0n) this.conds.push({ bytes: fresh, len: undefined });
        this.deps |= fresh;
        return;
      }
      if (op === 0x80) {
        if (x.src !== 0 || !TRACE_HELPERS.has(x.imm)) return this.fail();
        let r0 = T_HIST;
        if (x.imm === 1) {
          // map_lookup_elem: in an array, whether an element is found depends on the key alone
          const m = this.maps[offOf(regs[1]!)];
          const ka = regs[2]!;
          // (and in a hash map whose keys no program of the object can add or remove: keysFixed), the key in the stack
          // or in the packet
          const kr = regionOf(ka);
          if (regionOf(regs[1]!) !== REGION_MAP_HANDLE || m === undefined || (kr !== this.stackRegion && kr !== REGION_PACKET) || R[2] !== 0n) return this.fail();
          const ko = offOf(ka);
          let kt: bigint;
          if (kr === REGION_PACKET) {
            kt = this.pktAll;
            for (let i = 0; i < m.keySize; i++) {
              const w = this.pktW.get(ko + i);
              const rel = ko + i - this.dataOff;
              kt |= w !== undefined ? w : rel >= 0 && rel < 256 ? 1n << BigInt(rel) : T_UNK;
            }
          } else {
            kt = this.stackAll;
            for (let i = 0; i < m.keySize; i++) kt |= ko + i >= 0 && ko + i < 512 ? this.stackT[ko + i]! : T_UNK;
          }
          r0 = m.type === 2 || m.type === 6 || (this.keysFixed && HASH_MAPS.has(m.type)) ? kt : kt | T_HIST;
        }
        R[0] = r0;
        for (let r = 1; r <= 5; r++) R[r] = T_UNK;
        return;
      }
      if (op === 0xe0) return this.fail();
      const reg = (x.opcode & 8) !== 0;
      const a = R[x.dst]!;
      const b = reg ? R[x.src]! : 0n;
      const t = a | b;
      if (t & T_UNK) return this.fail();
      if (t & T_HIST) {
        if (t & T_LEN) return this.fail();
        // Map contents alone: the same way under the same contents. With packet bytes (a byte compared with .rodata, a
        // hash lookup by packet bytes): the same way for the same bytes under the traced run's contents, and a
        // 'demand' twin's line and action are those of a run under any contents (packetOnly, stateless), so its bytes
        // are this path's condition as any byte's.
        if (!(t & T_BYTES)) return;
      }
      const fresh = t & T_BYTES & ~this.deps;
      this.deps |= fresh;
      let lc: LenCond | undefined;
      if (t & T_LEN) {
        const wide = cls === 5;
        const len = BigInt(this.len);
        const va = regs[x.dst]!;
        const vb = reg ? regs[x.src]! : BigInt.asUintN(64, BigInt(x.imm));
        const lenA = (a & T_LEN) !== 0n;
        const lenB = (b & T_LEN) !== 0n;
        lc = { op, wide, a: lenA ? (va - len) & M64 : va, lenA, b: lenB ? (vb - len) & M64 : vb, lenB };
      }
      if (fresh !== 0n || lc !== undefined) this.conds.push({ bytes: fresh, len: lc });
      return;
    }
    return this.fail();
  }

  private fail(): void {
    this.failed = true;
  }

  /** After the traced run: records its path when it could be followed. */
  end(line: number, action: Action, faulted: boolean): void {
    this.traced++;
    if (this.failed || faulted || !this.started || this.off) {
      this.uncached++;
      return;
    }
    if (this.nodes > 50_000) return;
    const frame = this.frame;
    const len = this.len;
    const max = this.maxLen;
    /** The lengths 0..maxLen at which `c` goes the way it went, as [from, to) pairs. */
    const lensOf = (c: LenCond): number[] => {
      const at = (l: number) => jmpTaken(c.op, c.wide, c.lenA ? (c.a + BigInt(l)) & M64 : c.a, c.lenB ? (c.b + BigInt(l)) & M64 : c.b);
      const want = at(len);
      // The outcome changes only where a side with the length wraps, changes sign, or meets the other side (c - 1,
      // c, c + 1): between those lengths it is constant (not for JSET: every length is tried).
      const W = c.wide ? 64n : 32n;
      const mod = 1n << W;
      const cuts = new Set<number>([0, max + 1]);
      const cutAt = (k: bigint, target: bigint) => {
        const l = (((target - k) % mod) + mod) % mod;
        for (const d of [0n, 1n]) if (l + d <= BigInt(max + 1)) cuts.add(Number(l + d));
      };
      if (c.op === 0x40) for (let l = 0; l <= max + 1; l++) cuts.add(l);
      for (const [k, on, other, otherOn] of [[c.a, c.lenA, c.b, c.lenB], [c.b, c.lenB, c.a, c.lenA]] as const) {
        if (!on) continue;
        for (const t of [0n, 1n << (W - 1n)]) cutAt(k, t);
        if (!otherOn) for (const t of [other - 1n, other, other + 1n]) cutAt(k, t);
      }
      const points = [...cuts].sort((x, y) => x - y);
      const out: number[] = [];
      for (let i = 0; i + 1 < points.length; i++) {
        if (at(points[i]!) !== want) continue;
        if (out.length && out[out.length - 1] === points[i]) out[out.length - 1] = points[i + 1]!;
        else out.push(points[i]!, points[i + 1]!);
      }
      return out;
    };
    // Walk the tree with this frame; where it has no child, hang the run's conditions in their order, each a node of
    // the bytes it read first (not tested on the way) and its length comparison.
    const tested = new Set<number>();
    let parent: PathNode | undefined;
    let key = 0;
    let n = this.multi ? this.mbRoot : this.root;
    while (n !== undefined && n.kids !== undefined) {
      for (const o of n.offs) tested.add(o);
      parent = n;
      key = this.keyOf(n, frame, 0, len);
      n = childOf(n, key);
    }
    if (n !== undefined) return; // a leaf: the lookup would have found it
    const nodes: PathNode[] = [];
    for (const c of this.conds) {
      const offs: number[] = [];
      for (let i = 0; i < 256; i++) if ((c.bytes >> BigInt(i)) & 1n && !tested.has(i)) offs.push(i);
      for (let i = 0; i < offs.length || (i === 0 && c.len !== undefined); i += 3) {
        const last = i + 3 >= offs.length;
        nodes.push({ offs: offs.slice(i, i + 3), lens: last && c.len !== undefined ? lensOf(c.len) : undefined, keys: [], kids: [] });
      }
    }
    let chain: PathNode | PathLeaf = { line, action, kids: undefined };
    for (let g = nodes.length - 1; g >= 0; g--) {
      const node = nodes[g]!;
      node.keys.push(this.keyOf(node, frame, 0, len));
      node.kids.push(chain);
      chain = node;
      this.nodes++;
    }
    if (parent !== undefined) {
      parent.keys.push(key);
      parent.kids.push(chain);
    } else if (this.multi) this.mbRoot = chain;
    else this.root = chain;
  }
}
