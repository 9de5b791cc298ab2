// The stepping engine of the debugger: pure TypeScript, no editor. It runs a program over the packets of a capture
// exactly as `xdp-lens run` does (one Session, one Driver, map state carried from packet to packet) and stops where
// a debugger stops: on an instruction, on a source line (BTF line info), on a breakpoint, on a fault, at the end of
// a packet.
//
// Time travel by deterministic replay. A position is (packet, step): `step` instructions of that packet have run.
// The interpreter cannot be paused, so every stop is reached by running again: a session is rebuilt, the packets
// before the one asked for run through the driver as `run` runs them, and that packet runs with a step hook that
// evaluates the stop predicate on the live state and, where it holds, copies that state into a Snapshot (registers,
// call frames, every memory region, the packet). The run then goes on to its end, so the session is left after the
// packet, ready for the next one. Going back is the same thing with an earlier target, so a position reached
// backwards holds exactly the state it held forwards.
//
// Checkpoints keep this cheap on long captures: the state before a packet (session and driver, copied by
// checkpoint.ts) is kept for every packet the debugger stopped in and every `interval` packets on the way, so a stop
// in packet p forks the nearest checkpoint at or before p and runs only the packets between, without the step hook
// (on the compiled engine unless the session or XDP_LENS_ENGINE=interp names another: identical results by
// construction). Stepping within a packet costs one copy of the state and one run of that packet; stepping back
// across packets, a copy and at most `interval` packets run without the hook.
import type { LoadedObject, LoadedProgram } from '../elf/types.ts';
import type { SourceLoc } from '../isa/insn.ts';
import { CALL_HELPER, OPCODES, opcodeInfo } from '../isa/opcodes.ts';
import { Session, type SessionOptions } from '../session.ts';
import { Driver, type DriverOptions, type DriverPacket } from '../driver/rx.ts';
import type { Frame, Probe } from '../vm/interpreter.ts';
import { MAX_FRAMES, REGION_CTX, REGION_PACKET, REGION_STACK0, STACK_SIZE, addrOf, offsetOf, regionOf, type Memory, type RegionKind } from '../vm/memory.ts';
import type { Fault, XdpBuff } from '../vm/types.ts';
import { ExprError, evaluate, type ExprScope } from './expr.ts';
import type { MapsJson } from '../vm/map-json.ts';
import { openCapture } from '../net/capture.ts';
import { Prandom } from '../vm/helper-impl/prandom.ts';
import type { Environment } from '../vm/types.ts';
import { deepClone, reachable } from './checkpoint.ts';
import { keyHex } from '../vm/maps.ts';

export interface DebugPacket {
  /** Position in the capture (0-based). */
  index: number;
  frame: Uint8Array;
  tsNs: bigint;
}

export interface EngineOptions {
  obj: LoadedObject;
  session?: SessionOptions;
  driver: DriverOptions;
  packets: DebugPacket[];
}

export interface SourceBreakpoint {
  line: number;
  condition?: string;
  /** `N` or `== N` (the Nth hit), `>= N`, `> N`, `<= N`, `< N`, `% N` (every Nth). */
  hitCondition?: string;
}

export interface FunctionBreakpoint {
  name: string;
  condition?: string;
  hitCondition?: string;
}

export interface InstructionBreakpoint {
  program: string;
  pc: number;
  condition?: string;
  hitCondition?: string;
}

/** A breakpoint as bound to instructions: `verified` when some instruction of some program carries it. */
export interface BoundBreakpoint {
  id: number;
  verified: boolean;
  /** The line it bound to (the next line with code, for a source breakpoint on a line without any). */
  line?: number;
  message?: string;
}

export interface FrameView {
  /** Function name (the program's entry function after a tail call). */
  name: string;
  program: string;
  pc: number;
  loc?: SourceLoc;
  /** 1-based call depth: the stack frame whose r10 this function uses. */
  depth: number;
  /** A caller's r6-r9 as the callee will give them back (saved at the call). */
  saved?: bigint[];
}

export interface RegionSnapshot {
  id: number;
  kind: RegionKind;
  name: string;
  bytes: Uint8Array;
  lo: number;
  hi: number;
}

export type StopReason = 'entry' | 'step' | 'breakpoint' | 'function breakpoint' | 'instruction breakpoint' | 'data breakpoint' | 'exception' | 'end' | 'goto';

/**
 * What a data breakpoint watches: a register of the running frame, or bytes of a stack frame or the packet (memory
 * regions whose ids mean the same thing in every run). It stops after an instruction that writes it (a store over
 * it, an instruction whose destination it is, a call for r0-r5) or after anything else changed it (a helper).
 */
export type DataWatch =
  | { kind: 'register'; reg: number }
  | { kind: 'memory'; region: number; off: number; size: number }
  /** A map entry (key in hex): stops after a store into that map's values or a call that changed the entry. */
  | { kind: 'map'; map: string; key: string };

export interface DataBreakpoint {
  watch: DataWatch;
  condition?: string;
  hitCondition?: string;
}

export interface Snapshot {
  packet: number;
  step: number;
  /** The program has finished with this packet (the position after its last instruction). */
  ended: boolean;
  reason: StopReason;
  /** For 'exception': the fault message; for a breakpoint whose condition failed to evaluate: why. */
  description?: string;
  hitBreakpoints: number[];
  program: string;
  pc: number;
  loc?: SourceLoc;
  depth: number;
  regs: bigint[];
  /** Innermost first. */
  frames: FrameView[];
  regions: RegionSnapshot[];
  buff: { data: number; dataEnd: number; dataMeta: number; ingressIfindex: number; rxQueueIndex: number; egressIfindex: number };
  /** The packet as it arrived (data..data_end of the received frame). */
  original: Uint8Array;
  /** Every map at this position, in the --maps JSON schema (bounded as `run --format jsonl` bounds it). */
  maps: MapsJson;
  /** bpf_printk lines of this packet written before this position. */
  printk: string[];
  /** What became of the packet (known once it has run: always, since the run goes on to its end). */
  result: { action: string; retval: number; outcome: string; fault?: Fault };
}

/** Live state handed to stop predicates. */
export interface StepContext {
  packet: number;
  step: number;
  program: LoadedProgram;
  pc: number;
  regs: BigUint64Array;
  frames: readonly Frame[];
  mem: Memory;
  depth: number;
  loc?: SourceLoc;
  /** The breakpoints that stop here (location, condition and hit count all hold). */
  hit?: BreakpointHit;
}

interface BreakpointHit {
  reason: StopReason;
  ids: number[];
  description?: string;
}

type Predicate = (c: StepContext, prev: PrevStep | undefined) => StopReason | undefined;

interface PrevStep {
  program: LoadedProgram;
  pc: number;
  depth: number;
  loc?: SourceLoc;
}

interface Live {
  session: Session;
  driver: Driver;
  /** The next packet this session will run. */
  next: number;
  /** Hits of each breakpoint so far on this session's timeline. */
  hits: Map<number, number>;
  /** The random source of the session's environment (its copy is rebound in a fork). */
  rng: { prandom: Prandom };
}

interface Binding {
  id: number;
  kind: 'breakpoint' | 'function breakpoint' | 'instruction breakpoint' | 'data breakpoint';
  /** Data breakpoints: what is watched (then `at` is empty). */
  watch?: DataWatch;
  /** program name -> slots */
  at: Map<string, Set<number>>;
  /** Source and function breakpoints stop only when their line is entered (not on every slot of the line). */
  lineEntry: boolean;
  condition?: string;
  hitCondition?: string;
}

export class DebugError extends Error {}

const TRACE_PRINTK = 6;
const TRACE_VPRINTK = 177;

/** True for the slots where a line-info record begins (a new line starts) in a program. */
function lineStarts(p: LoadedProgram): boolean[] {
  const funcStarts = new Set(p.funcs.map((f) => f.insn));
  return p.lines.map((l, i) => {
    if (!l || !OPCODES[p.insns[i]?.opcode]) return false;
    const prev = p.lines[i - 1];
    return i === 0 || funcStarts.has(i) || !prev || prev.line !== l.line || prev.file !== l.file;
  });
}

/** Name of the function a slot belongs to. */
export function functionAt(p: LoadedProgram, pc: number): string {
  let name = p.name;
  let best = -1;
  for (const f of p.funcs) if (f.insn <= pc && f.insn > best) [best, name] = [f.insn, f.name];
  return name;
}

const sameFile = (a: string, b: string) => a === b || a.endsWith(`/${b}`) || b.endsWith(`/${a}`) || basename(a) === basename(b);
const basename = (f: string) => f.slice(f.lastIndexOf('/') + 1);

function hitMatches(cond: string | undefined, hits: number): boolean | string {
  if (!cond || !cond.trim()) return true;
  const m = /^\s*(==|>=|>|<=|<|%)?\s*(\d+)\s*$/.exec(cond);
  if (!m) return `hit count condition '${cond}' is not N, == N, >= N, > N, <= N, < N or % N`;
  const n = Number(m[2]);
  switch (m[1]) {
    case '>=': return hits >= n;
    case '>': return hits > n;
    case '<=': return hits <= n;
    case '<': return hits < n;
    case '%': return n > 0 && hits % n === 0;
    default: return hits === n;
  }
}

export class DebugEngine {
  readonly program: LoadedProgram;
  private readonly programs = new Map<string, LoadedProgram>();
  private readonly starts = new Map<string, boolean[]>();
  private live: Live | undefined;
  private bindings: Binding[] = [];
  private nextId = 1;
  /** Break on faults (the DAP exception breakpoint); on by default. */
  breakOnFault = true;
  /**
   * Continue runs packets on the compiled engine with a breakpoint probe and steps only those that reach a breakpoint
   * (scan); off (XDP_LENS_DEBUG_PROBE=0), every packet continue crosses runs stepped (the reference, for tests).
   */
  probing = process.env.XDP_LENS_DEBUG_PROBE !== '0';
  /** Where the engine stands now. */
  current: Snapshot | undefined;
  /** Results of packets that ran to their end (for verdict lists and printk). */
  readonly results = new Map<number, DriverPacket>();
  /** What-if changes: applied whenever the run reaches their position (before that instruction executes). */
  private patches: { packet: number; step: number; apply(regs: BigUint64Array, mem: Memory, frames: readonly Frame[]): void }[] = [];
  /** The state before packet p (never run itself: forked when used). */
  private readonly checkpoints = new Map<number, Live>();
  /** Packets between the checkpoints kept on the way forward. */
  private readonly interval: number;
  /** Immutable load output a fork shares rather than copies. */
  private shared: WeakSet<object> | undefined;
  /** Counts of what the engine did (for tests and benchmarks): packets run with and without the step hook, forks. */
  readonly stats = { hooked: 0, fast: 0, forks: 0, fresh: 0, probed: 0, reruns: 0 };
  /**
   * Packets known to reach no slot of any breakpoint on this timeline with these breakpoints (so they hit nothing and
   * run without the step hook even when hits are counted). Cleared when the breakpoints change, cut by a what-if.
   */
  private readonly clean = new Set<number>();
  /** Set by breakpointAt when a run reached a slot of some location breakpoint (whatever its condition said). */
  private reachedSlot = false;
  private probeCache: Probe | null | undefined;

  /**
   * Change a register (r0-r9) at the current position, for a what-if: from here on the run goes on with the new value,
   * and every replay through this position applies it again. Returns the new state here.
   */
  setRegister(reg: number, value: bigint): Snapshot {
    if (!Number.isInteger(reg) || reg < 0 || reg > 9) throw new DebugError(`r${reg} cannot be changed (r0-r9 can; r10 is the frame pointer)`);
    const v = BigInt.asUintN(64, value);
    return this.patch((regs) => (regs[reg] = v));
  }

  /**
   * Change a register of a caller frame (`frame` 1 is the innermost's caller): r6-r9, which the callee gives back as
   * they were at the call; r0-r5 the call overwrote. Frame 0 is setRegister.
   */
  setFrameRegister(frame: number, reg: number, value: bigint): Snapshot {
    if (frame === 0) return this.setRegister(reg, value);
    const cur = this.need();
    if (!Number.isInteger(frame) || frame < 0 || frame >= cur.frames.length) throw new DebugError(`no frame ${frame} here (${cur.frames.length} frames)`);
    if (!Number.isInteger(reg) || reg < 6 || reg > 9) throw new DebugError(`r${reg} of ${cur.frames[frame].name} cannot be changed: the call to ${cur.frames[frame - 1].name} overwrote it (r0-r5 are caller-saved; r6-r9 can be changed)`);
    const v = BigInt.asUintN(64, value);
    return this.patch((_regs, _mem, frames) => {
      const f = frames[frames.length - frame];
      if (f) f.saved[reg - 6] = v;
    });
  }

  /** Change bytes of memory at the current position (a stack slot, packet bytes, a map value), for a what-if. */
  setMemory(addr: bigint, bytes: Uint8Array): Snapshot {
    const cur = this.need();
    const id = regionOf(addr);
    const off = offsetOf(addr);
    const r = cur.regions.find((x) => x.id === id);
    if (!r || !(r.kind === 'stack' || r.kind === 'packet' || r.kind === 'map-value')) throw new DebugError(`0x${addr.toString(16)} is not in a stack frame, the packet or a map value (${describeValue(cur, addr)})`);
    if (off < r.lo || off + bytes.length > r.hi) throw new DebugError(`${bytes.length} byte(s) at ${describeValue(cur, addr)} are outside ${r.name}`);
    return this.patch((_regs, mem) => {
      const live = mem.region(id);
      if (!live) return;
      live.bytes.set(bytes, off);
      live.init?.fill(1, off, off + bytes.length); // written: a later read of the slot is not a read of uninitialised stack
    });
  }

  /** Change packet bytes (offsets from data) at the current position, for a what-if. */
  setPacketBytes(offset: number, bytes: Uint8Array): Snapshot {
    const cur = this.need();
    const len = cur.buff.dataEnd - cur.buff.data;
    if (!Number.isInteger(offset) || offset < 0 || offset + bytes.length > len) throw new DebugError(`packet bytes ${offset}..${offset + bytes.length - 1} are outside the packet (${len} bytes)`);
    return this.patch((_regs, mem) => {
      const r = mem.region(REGION_PACKET);
      const data = mem.ctx?.buff.data;
      if (r && data !== undefined) r.bytes.set(bytes, data + offset);
    });
  }

  private patch(apply: (regs: BigUint64Array, mem: Memory, frames: readonly Frame[]) => void): Snapshot {
    const cur = this.need();
    if (cur.ended) throw new DebugError('the packet has finished: step back into it to change its state');
    this.patches.push({ packet: cur.packet, step: cur.step, apply });
    this.live = undefined; // the timeline from here on is a different one
    for (const q of [...this.checkpoints.keys()]) if (q > cur.packet) this.checkpoints.delete(q);
    for (const q of [...this.clean]) if (q >= cur.packet) this.clean.delete(q);
    const snap = this.goto(cur.packet, cur.step, cur.reason);
    snap.hitBreakpoints = cur.hitBreakpoints;
    return snap;
  }

  constructor(private readonly opts: EngineOptions) {
    if (opts.packets.length === 0) throw new DebugError('the capture has no packets to debug (none received: packets the capturing host sent are not run)');
    this.interval = Math.max(64, Math.ceil(opts.packets.length / 32));
    const live = this.fresh();
    this.program = live.session.program;
    this.live = live;
    for (const p of opts.obj.programs) {
      this.programs.set(p.name, p);
      this.starts.set(p.name, lineStarts(p));
    }
  }

  get packetCount(): number {
    return this.opts.packets.length;
  }

  packet(i: number): DebugPacket {
    return this.opts.packets[i];
  }

  programNamed(name: string): LoadedProgram | undefined {
    return this.programs.get(name);
  }

  /** Programs that may run: the entry and every program a tail call can reach (all loadable programs of the object). */
  private runnable(): LoadedProgram[] {
    return [...this.programs.values()].filter((p) => !p.loadErrors?.length);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Breakpoints

  /** Replace the source breakpoints of one file. A line without code binds to the next line that has some. */
  setSourceBreakpoints(file: string, bps: SourceBreakpoint[]): BoundBreakpoint[] {
    this.bindings = this.bindings.filter((b) => !(b.kind === 'breakpoint' && (b as Binding & { file?: string }).file !== undefined && sameFile((b as Binding & { file?: string }).file!, file)));
    this.breakpointsChanged(); // hit counts depend on the breakpoints
    return bps.map((bp) => {
      const id = this.nextId++;
      // The smallest line >= bp.line that has a line start in some program of this file.
      let best: number | undefined;
      for (const p of this.runnable()) {
        const st = this.starts.get(p.name)!;
        p.lines.forEach((l, i) => {
          if (st[i] && l && sameFile(l.file, file) && l.line >= bp.line && (best === undefined || l.line < best)) best = l.line;
        });
      }
      const at = new Map<string, Set<number>>();
      if (best !== undefined) {
        for (const p of this.runnable()) {
          const st = this.starts.get(p.name)!;
          const slots = new Set<number>();
          p.lines.forEach((l, i) => {
            if (st[i] && l && sameFile(l.file, file) && l.line === best) slots.add(i);
          });
          if (slots.size) at.set(p.name, slots);
        }
      }
      const binding: Binding & { file: string } = { id, kind: 'breakpoint', at, lineEntry: true, condition: bp.condition, hitCondition: bp.hitCondition, file };
      this.bindings.push(binding);
      const bad = this.checkConditions(bp);
      if (best === undefined) return { id, verified: false, message: `no code at or after line ${bp.line} in ${basename(file)}` };
      return { id, verified: !bad, line: best, ...(bad ? { message: bad } : {}) };
    });
  }

  setFunctionBreakpoints(bps: FunctionBreakpoint[]): BoundBreakpoint[] {
    this.bindings = this.bindings.filter((b) => b.kind !== 'function breakpoint');
    this.breakpointsChanged();
    return bps.map((bp) => {
      const id = this.nextId++;
      const at = new Map<string, Set<number>>();
      let line: number | undefined;
      for (const p of this.runnable()) {
        for (const f of p.funcs) {
          if (f.name !== bp.name) continue;
          if (!at.has(p.name)) at.set(p.name, new Set());
          at.get(p.name)!.add(f.insn);
          line ??= p.lines[f.insn]?.line;
        }
      }
      this.bindings.push({ id, kind: 'function breakpoint', at, lineEntry: false, condition: bp.condition, hitCondition: bp.hitCondition });
      const bad = this.checkConditions(bp);
      if (at.size === 0) return { id, verified: false, message: `no function named ${bp.name} in ${basename(this.opts.obj.path)}` };
      return { id, verified: !bad, line, ...(bad ? { message: bad } : {}) };
    });
  }

  setInstructionBreakpoints(bps: InstructionBreakpoint[]): BoundBreakpoint[] {
    this.bindings = this.bindings.filter((b) => b.kind !== 'instruction breakpoint');
    this.breakpointsChanged();
    return bps.map((bp) => {
      const id = this.nextId++;
      const p = this.programs.get(bp.program);
      const ok = !!p && bp.pc >= 0 && bp.pc < p.insns.length && !!OPCODES[p.insns[bp.pc].opcode];
      this.bindings.push({ id, kind: 'instruction breakpoint', at: new Map(ok ? [[bp.program, new Set([bp.pc])]] : []), lineEntry: false, condition: bp.condition, hitCondition: bp.hitCondition });
      const bad = this.checkConditions(bp);
      if (!ok) return { id, verified: false, message: `no instruction ${bp.pc} in program ${bp.program}` };
      return { id, verified: !bad, line: p!.lines[bp.pc]?.line, ...(bad ? { message: bad } : {}) };
    });
  }

  /** Replace the data breakpoints (DAP setDataBreakpoints). */
  setDataBreakpoints(bps: DataBreakpoint[]): BoundBreakpoint[] {
    this.bindings = this.bindings.filter((b) => b.kind !== 'data breakpoint');
    this.breakpointsChanged();
    return bps.map((bp) => {
      const id = this.nextId++;
      const w = bp.watch;
      const ok = w.kind === 'map' ? this.program && this.opts.obj.maps.some((m) => m.name === w.map) : w.kind === 'register' ? Number.isInteger(w.reg) && w.reg >= 0 && w.reg <= 10 : w.size > 0 && w.size <= 64 && (w.region === REGION_PACKET || (w.region >= REGION_STACK0 && w.region < REGION_STACK0 + MAX_FRAMES));
      this.bindings.push({ id, kind: 'data breakpoint', watch: w, at: new Map(), lineEntry: false, condition: bp.condition, hitCondition: bp.hitCondition });
      const bad = this.checkConditions(bp);
      if (!ok) return { id, verified: false, message: w.kind === 'map' ? `no map named ${w.map}` : 'only a register, or up to 64 bytes of a stack frame or the packet, can be watched' };
      return { id, verified: !bad, ...(bad ? { message: bad } : {}) };
    });
  }

  /** The watched value now (hex of the bytes, or the register), undefined where it is not there. */
  private static watched(w: DataWatch, c: StepContext, live: Live): string | undefined {
    if (w.kind === 'map') {
      const e = live.session.machine.maps.find((m) => m.def.name === w.map)?.dump().find((x) => keyHex(x.key) === w.key);
      return e ? `${e.values.map((v) => Buffer.from(v).toString('hex')).join(' ')}${e.program ?? ''}${e.map?.def.name ?? ''}` : '(absent)';
    }
    if (w.kind === 'register') return c.regs[w.reg].toString(16);
    const r = c.mem.region(w.region);
    if (!r || w.off < r.lo || w.off + w.size > r.hi) return undefined;
    return Buffer.from(r.bytes.subarray(w.off, w.off + w.size)).toString('hex');
  }

  /** Did the instruction before this step write what `w` watches (whatever value it wrote)? */
  private static wrote(w: DataWatch, c: StepContext, prev: PrevStep): boolean {
    const insn = prev.program.insns[prev.pc];
    const info = insn && opcodeInfo(insn.opcode);
    if (!info) return false;
    if (w.kind === 'map') {
      if (info.kind === 'call') return true;
      if (info.kind !== 'st' && info.kind !== 'stx' && info.kind !== 'atomic') return false;
      return c.mem.region(regionOf(BigInt.asUintN(64, c.regs[insn.dst] + BigInt(insn.off))))?.name === `value of map ${w.map}`;
    }
    if (w.kind === 'register') {
      if (prev.depth !== c.depth) return false; // a call or return: the frame's registers are another frame's
      if (info.kind === 'call') return w.reg <= 5;
      return (info.kind === 'alu' || info.kind === 'end' || info.kind === 'lddw' || info.kind === 'ldx' || info.kind === 'ldxsx') && insn.dst === w.reg;
    }
    if (info.kind !== 'st' && info.kind !== 'stx' && info.kind !== 'atomic') return false;
    // The address register of a store is not changed by it (an atomic's fetch writes its source register).
    const addr = BigInt.asUintN(64, c.regs[insn.dst] + BigInt(insn.off));
    if (regionOf(addr) !== w.region) return false;
    const off = offsetOf(addr);
    return off < w.off + w.size && off + (info.size ?? 8) > w.off;
  }

  private checkConditions(bp: { condition?: string; hitCondition?: string }): string | undefined {
    const h = hitMatches(bp.hitCondition, 0);
    if (typeof h === 'string') return h;
    if (bp.condition?.trim()) {
      try {
        evaluate(bp.condition, { name: () => 0n, read: () => 0n, member: () => 0n });
      } catch (e) {
        if (e instanceof ExprError && !/division by zero/.test(e.message)) return `condition: ${e.message}`;
      }
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Running

  /**
   * Breakpoints changed: the hit counts of every timeline kept are stale when some breakpoint counts hits (a hit
   * condition); otherwise nothing reads them and the checkpoints stay.
   */
  private breakpointsChanged(): void {
    this.live = undefined;
    this.clean.clear();
    this.probeCache = undefined;
    if (this.hadHitConditions || this.bindings.some((b) => b.hitCondition?.trim())) this.checkpoints.clear();
    this.hadHitConditions = this.bindings.some((b) => b.hitCondition?.trim());
  }
  private hadHitConditions = false;

  /** A session and driver before packet 0 (`counted`: a timeline started over, not the base of a fork). */
  private fresh(counted = true): Live {
    const rng = { prandom: new Prandom(this.opts.session?.seed ?? 1) };
    const so = this.opts.session ?? {};
    const session = new Session(this.opts.obj, { engine: process.env.XDP_LENS_ENGINE === 'interp' ? 'interp' : 'compiled', ...so, ...(so.prandom ? {} : { prandom: () => rng.prandom.next() }) });
    if (counted) this.stats.fresh++;
    return { session, driver: new Driver(session, this.opts.driver), next: 0, hits: new Map(), rng };
  }

  /**
   * A copy of a timeline's state that runs on exactly as the original would. The copy is a fresh session and driver
   * (whose closures, such as the machine's helper dispatch and the environment's clock, are bound to their own
   * objects) into which the state is copied (checkpoint.ts): the machine's maps and map table, the clock, the
   * environment's CPU and connection table, the random source, every data property of the driver. The rest of a
   * machine is derived from the object or reset at every run.
   */
  private fork(src: Live): Live | undefined {
    if (!this.shared) {
      this.shared = reachable(this.opts.obj);
      reachable(src.session.obj, this.shared);
      reachable(src.session.machine.obj, this.shared);
    }
    const dst = this.fresh(false);
    type Inner = { env: Environment; clock: object; machine: object };
    const [a, b] = [src.session as unknown as Inner, dst.session as unknown as Inner];
    const memo = new Map<object, unknown>([[src.session, dst.session], [src.driver, dst.driver], [a.machine, b.machine], [a.env, b.env], [a.clock, b.clock]]);
    let closure: string | undefined;
    const opts = { shared: this.shared, onFunction: (_o: object, k: PropertyKey) => (closure ??= String(k)) };
    const copyInto = (to: object, from: object, keys?: string[]) => {
      for (const k of keys ?? Reflect.ownKeys(from)) {
        const d = Object.getOwnPropertyDescriptor(from, k);
        if (!d || !('value' in d) || typeof d.value === 'function') continue; // the copy keeps its own bound functions
        Object.defineProperty(to, k, { ...d, value: deepClone(d.value, opts, memo) });
      }
    };
    copyInto(b.machine, a.machine, ['maps', 'mapTable']);
    copyInto(b.clock, a.clock);
    copyInto(b.env, a.env, ['cpu', 'conntrack']);
    copyInto(dst.driver, src.driver);
    dst.rng.prandom = deepClone(src.rng.prandom, opts, memo);
    dst.hits = new Map(src.hits);
    dst.next = src.next;
    this.stats.forks++;
    // A closure inside the copied state would act on the original: then no checkpoints (every stop replays from 0).
    if (closure !== undefined) {
      this.noCheckpoints = `the state holds a function a copy cannot rebind (${closure})`;
      this.checkpoints.clear();
      return undefined;
    }
    return dst;
  }

  /** Why checkpoints are off, when they are (the caller's own random source, a closure in the state). */
  noCheckpoints: string | undefined;

  /** Checkpoints are possible unless the caller's random source is a closure of its own (it cannot be copied). */
  private get checkpointing(): boolean {
    if (this.opts.session?.prandom) this.noCheckpoints ??= 'the session has a random source of its own';
    return this.noCheckpoints === undefined;
  }

  private keepCheckpoint(live: Live): void {
    if (!this.checkpointing || this.checkpoints.has(live.next)) return;
    const copy = this.fork(live);
    if (!copy) return;
    this.checkpoints.set(live.next, copy);
    // At most 48 kept: the ones off the interval grid go first, those farthest from this packet first.
    if (this.checkpoints.size > 48) {
      const extra = [...this.checkpoints.keys()].filter((q) => q % this.interval !== 0 && q !== live.next);
      extra.sort((a, b) => Math.abs(b - live.next) - Math.abs(a - live.next));
      for (const q of extra.slice(0, this.checkpoints.size - 48)) this.checkpoints.delete(q);
    }
  }

  /**
   * A session that has run packets 0..p-1 (and no more), with the breakpoint hits of that timeline counted: the live
   * one or a fork of the nearest checkpoint, whichever is closer, run forward without the step hook. Checkpoints are
   * kept on the way (every `interval` packets) and before p.
   */
  private sessionBefore(p: number, keep = true): Live {
    let live = this.live;
    this.live = undefined;
    let best = -1;
    for (const q of this.checkpoints.keys()) if (q <= p && q > best) best = q;
    if (!live || live.next > p || (best >= 0 && best > live.next)) live = (best >= 0 ? this.fork(this.checkpoints.get(best)!) : undefined) ?? this.fresh();
    while (live.next < p) {
      if (live.next % this.interval === 0) this.keepCheckpoint(live);
      this.runOne(live, NEVER, 0, false);
    }
    if (keep) this.keepCheckpoint(live);
    return live;
  }

  /** Data breakpoints: the watched value at the previous step of the packet running. */
  private watchValues = new Map<number, string | undefined>();

  /** Does a breakpoint stop here? Counts its hit (on the live timeline) when its location and condition hold. */
  private breakpointAt(live: Live, c: StepContext, prev: PrevStep | undefined): BreakpointHit | undefined {
    let stop: BreakpointHit | undefined;
    for (const b of this.bindings) {
      if (b.watch?.kind === 'map') {
        // A map entry changes only through a store into the map's values or a call (helpers): read it (a dump of the
        // map) at the packet's first step and after those, and stop when it changed.
        if (prev && !DebugEngine.wrote(b.watch, c, prev)) continue;
        const now = DebugEngine.watched(b.watch, c, live);
        const before = this.watchValues.get(b.id);
        this.watchValues.set(b.id, now);
        if (!prev || before === now) continue;
      } else if (b.watch) {
        const now = DebugEngine.watched(b.watch, c, live);
        const before = this.watchValues.get(b.id);
        this.watchValues.set(b.id, now);
        if (!prev || !(DebugEngine.wrote(b.watch, c, prev) || (before !== undefined && now !== undefined && before !== now))) continue;
      } else if (!b.at.get(c.program.name)?.has(c.pc)) continue;
      else this.reachedSlot = true;
      if (b.lineEntry && prev && prev.depth === c.depth && prev.program === c.program && prev.loc && c.loc && prev.loc.line === c.loc.line && prev.loc.file === c.loc.file && prev.pc < c.pc) continue;
      let description: string | undefined;
      if (b.condition?.trim()) {
        try {
          if (evaluate(b.condition, liveScope(c, this.opts.packets)) === 0n) continue;
        } catch (e) {
          if (!(e instanceof ExprError)) throw e;
          description = `condition '${b.condition}' could not be evaluated: ${e.message}`;
        }
      }
      const hits = (live.hits.get(b.id) ?? 0) + 1;
      live.hits.set(b.id, hits);
      const h = hitMatches(b.hitCondition, hits);
      if (h !== true && !description) continue;
      stop ??= { reason: b.kind, ids: [] };
      stop.ids.push(b.id);
      if (description) stop.description = description;
    }
    return stop;
  }

  /**
   * Run the live session's next packet. `pred` is asked at every step >= `from` until it answers; the state there is
   * snapshotted. Breakpoint hits are counted at every step when some breakpoint has a hit condition.
   */
  private runOne(live: Live, pred: Predicate, from: number, capture = true): { snap?: Snapshot; result: DriverPacket; steps: number; faultStep?: number; reached: boolean; end: () => Snapshot } {
    const p = live.next;
    const pkt = this.opts.packets[p];
    // A packet known to reach no breakpoint slot hits nothing: its hits need not be counted.
    const counting = !this.clean.has(p) && this.bindings.some((b) => b.hitCondition?.trim());
    const patches = this.patches.filter((x) => x.packet === p);
    this.reachedSlot = false;
    const observe = pred !== NEVER || counting || patches.length > 0;
    let snap: Snapshot | undefined;
    let step = 0;
    let prev: PrevStep | undefined;
    let buff: XdpBuff | undefined;
    let printkCalls = 0;
    let regsRef: BigUint64Array | undefined;
    let memRef: Memory | undefined;
    this.watchValues = new Map();
    live.session.hooks = {
      onBuff: (b) => (buff = b),
      onStep: observe || capture
        ? (name, pc, regs, frames, mem) => {
            const program = this.programs.get(name)!;
            const depth = frames.length + 1;
            for (const x of patches) if (x.step === step) x.apply(regs, mem, frames);
            const c: StepContext = { packet: p, step, program, pc, regs, frames, mem, depth, loc: program.lines[pc] };
            regsRef = regs;
            memRef = mem;
            if (this.bindings.length) c.hit = this.breakpointAt(live, c, prev);
            if (!snap && step >= from) {
              const reason = pred(c, prev);
              if (reason && capture) {
                const bp = reason === c.hit?.reason ? c.hit : undefined;
                snap = this.snapshot(c, buff!, pkt, reason, printkCalls, bp?.ids ?? [], bp?.description);
                snap.maps = live.session.mapsJson();
              } else if (reason) snap = {} as Snapshot;
            }
            const insn = program.insns[pc];
            if (insn.opcode === 0x85 && insn.src === CALL_HELPER && (insn.imm === TRACE_PRINTK || insn.imm === TRACE_VPRINTK)) printkCalls++;
            prev = { program, pc, depth, loc: c.loc };
            step++;
          }
        : undefined,
    };
    let result: DriverPacket;
    try {
      result = live.driver.receive(pkt.frame, pkt.tsNs);
    } finally {
      live.session.hooks = undefined;
    }
    live.next++;
    if (observe || capture) this.stats.hooked++;
    else this.stats.fast++;
    this.results.set(p, result);
    const fault = result.run.fault;
    const steps = result.run.steps;
    // A fault is raised by the instruction at step `steps - 1` (the budget fault by the one that did not run).
    const faultStep = fault ? (fault.kind === 'budget-exhausted' ? steps : steps - 1) : undefined;
    if (snap && capture) {
      snap.result = resultOf(result);
      snap.printk = result.run.printk.slice(0, snap.printk.length);
    }
    const maps = capture ? live.session.mapsJson() : {};
    const reached = this.reachedSlot;
    return { snap, result, steps, faultStep, reached, end: () => ({ ...this.endSnapshot(p, result, regsRef, memRef, buff, 'step'), maps }) };
  }

  private snapshot(c: StepContext, buff: XdpBuff, pkt: DebugPacket, reason: StopReason, printkCalls: number, hit: number[], description?: string): Snapshot {
    const frames: FrameView[] = [{ name: functionAt(c.program, c.pc), program: c.program.name, pc: c.pc, loc: c.loc, depth: c.depth }];
    for (let i = c.frames.length - 1; i >= 0; i--) {
      const f = c.frames[i];
      const p = f.program as LoadedProgram;
      const pc = f.returnPc - 1;
      frames.push({ name: functionAt(p, pc), program: p.name, pc, loc: p.lines[pc], depth: i + 1, saved: [...f.saved] });
    }
    return {
      packet: c.packet,
      step: c.step,
      ended: false,
      reason,
      ...(description ? { description } : {}),
      hitBreakpoints: hit,
      program: c.program.name,
      pc: c.pc,
      loc: c.loc,
      depth: c.depth,
      regs: [...c.regs],
      frames,
      regions: snapshotRegions(c.mem),
      buff: bufferFacts(buff),
      original: pkt.frame,
      maps: {},
      printk: new Array(printkCalls).fill(''),
      result: { action: '', retval: 0, outcome: '' },
    };
  }

  /** The position after packet p's last instruction: registers as the program left them (r0 the verdict). */
  private endSnapshot(p: number, result: DriverPacket, regs: BigUint64Array | undefined, mem: Memory | undefined, buff: XdpBuff | undefined, reason: StopReason, description?: string): Snapshot {
    const pkt = this.opts.packets[p];
    const exitProgram = this.programs.get(result.run.exitProgram) ?? this.program;
    const pc = result.run.exitInsn >= 0 ? result.run.exitInsn : result.run.fault?.insn ?? 0;
    return {
      packet: p,
      step: result.run.steps,
      ended: true,
      reason,
      ...(description ? { description } : {}),
      hitBreakpoints: [],
      program: exitProgram.name,
      pc,
      loc: exitProgram.lines[pc],
      depth: 1,
      regs: regs ? [...regs] : new Array(11).fill(0n),
      frames: [{ name: functionAt(exitProgram, pc), program: exitProgram.name, pc, loc: exitProgram.lines[pc], depth: 1 }],
      regions: mem ? snapshotRegions(mem) : [],
      buff: buff ? bufferFacts(buff) : { data: 0, dataEnd: 0, dataMeta: 0, ingressIfindex: 0, rxQueueIndex: 0, egressIfindex: 0 },
      original: pkt.frame,
      maps: {},
      printk: [...result.run.printk],
      result: resultOf(result),
    };
  }

  /**
   * The breakpoint probe of continue: every slot of every line, function and instruction breakpoint (undefined when a
   * data breakpoint is set, which no slot set describes, or when no breakpoint has a slot).
   */
  private probe(): Probe | undefined {
    if (this.probeCache === undefined) {
      const slots = new Map<string, Set<number>>();
      for (const b of this.bindings) {
        for (const [prog, at] of b.at) {
          if (!slots.has(prog)) slots.set(prog, new Set());
          for (const pc of at) slots.get(prog)!.add(pc);
        }
      }
      const data = this.bindings.some((b) => b.watch);
      this.probeCache = data || slots.size === 0 ? null : { key: [...slots].map(([prog, at]) => `${prog}:${[...at].sort((x, y) => x - y).join(',')}`).join(';'), slots, reached: false };
    }
    return this.probeCache ?? undefined;
  }

  /** Run the live session's next packet on the compiled engine with the probe: did it reach a breakpoint slot? */
  private runProbed(live: Live, probe: Probe): { reached: boolean; result: DriverPacket } {
    const p = live.next;
    const pkt = this.opts.packets[p];
    probe.reached = false;
    live.session.hooks = { probe };
    let result: DriverPacket;
    try {
      result = live.driver.receive(pkt.frame, pkt.tsNs);
    } finally {
      live.session.hooks = undefined;
    }
    live.next++;
    this.stats.probed++;
    this.results.set(p, result);
    return { reached: probe.reached, result };
  }

  /**
   * Run from packet `p` (steps >= from) until `pred` stops, crossing into later packets when `cross`.
   *
   * Crossing packets (continue), a whole packet first runs on the compiled engine with the breakpoint probe (no step
   * hook). A packet that reaches no breakpoint slot hits nothing, so that run is the packet's run, exactly as `run`
   * runs it (a fault there re-runs it stepped to stop on the fault). A packet that reaches one runs again stepped
   * from the state before it (the nearest checkpoint, then the packets between without the hook), where conditions
   * and hit counts are decided as before; so does the packet after it (a line many packets reach is not run twice
   * per packet).
   */
  private scan(p: number, from: number, pred: Predicate, how: { cross: boolean; stopAtEnd: boolean; faults: boolean }): Snapshot | undefined {
    const probe = how.cross && this.probing ? this.probe() : undefined;
    let hot = false;
    for (let q = p; q < this.opts.packets.length; q++) {
      const start = q === p ? from : 0;
      if (probe && start === 0 && !hot && !this.patches.some((x) => x.packet === q)) {
        const live = this.sessionBefore(q, false);
        if (live.session.machine.engine === 'compiled') {
          if (q % this.interval === 0) this.keepCheckpoint(live);
          const r = this.runProbed(live, probe);
          this.live = live;
          if (!r.reached) {
            this.clean.add(q);
            const fault = r.result.run.fault;
            if (how.faults && this.breakOnFault && fault) {
              const faultStep = fault.kind === 'budget-exhausted' ? r.result.run.steps : r.result.run.steps - 1;
              return this.goto(q, faultStep, 'exception', fault.message);
            }
            continue;
          }
          this.stats.reruns++;
        } else this.live = live;
      }
      const live = this.sessionBefore(q);
      const r = this.runOne(live, pred, start);
      hot = r.reached;
      if (probe && !r.reached) this.clean.add(q);
      if (r.snap) {
        this.live = live;
        return r.snap;
      }
      if (how.faults && this.breakOnFault && r.faultStep !== undefined && r.faultStep >= start) {
        return this.goto(q, r.faultStep, 'exception', r.result.run.fault!.message);
      }
      if (how.stopAtEnd || !how.cross) {
        this.live = live;
        return r.end();
      }
      this.live = live;
    }
    return undefined;
  }

  /** The state after `step` instructions of packet `p` (the end of the packet when step >= its length). */
  goto(p: number, step: number, reason: StopReason = 'goto', description?: string): Snapshot {
    if (p < 0 || p >= this.opts.packets.length) throw new DebugError(`no packet ${p}: the capture has ${this.opts.packets.length}`);
    const live = this.sessionBefore(p);
    const r = this.runOne(live, (c) => (c.step === step ? reason : undefined), step);
    if (r.snap) {
      if (description) r.snap.description = description;
      this.live = live;
      return (this.current = r.snap);
    }
    const snap = r.end();
    snap.reason = reason === 'goto' ? 'end' : reason;
    if (description) snap.description = description;
    this.live = live;
    return (this.current = snap);
  }

  /** Start: stop at the first instruction of packet `p`. */
  entry(p: number): Snapshot {
    return this.goto(p, 0, 'entry');
  }

  /**
   * Continue from the current position (or from the start of packet `p` when nothing ran yet, inclusive of its first
   * instruction) to the next breakpoint or fault, across packets. Undefined: the capture ended (the engine then
   * stands at the end of the last packet).
   */
  continue(startPacket?: number): Snapshot | undefined {
    const cur = this.current;
    const [p, from] = cur ? (cur.ended ? [cur.packet + 1, 0] : [cur.packet, cur.step + 1]) : [startPacket ?? 0, 0];
    if (p >= this.opts.packets.length) return undefined;
    const snap = this.scan(p, from, (c) => c.hit?.reason, { cross: true, stopAtEnd: false, faults: true });
    if (!snap) {
      this.current = this.goto(this.opts.packets.length - 1, Number.MAX_SAFE_INTEGER, 'end');
      return undefined;
    }
    return (this.current = snap);
  }


  /** One step. `granularity` 'instruction' steps one instruction; otherwise to the next line (over/into/out). */
  step(kind: 'over' | 'into' | 'out' | 'instruction'): Snapshot | undefined {
    const cur = this.need();
    if (cur.ended) {
      if (cur.packet + 1 >= this.opts.packets.length) return undefined;
      return this.goto(cur.packet + 1, 0, 'step');
    }
    const d0 = cur.depth;
    const key0 = lineKey(cur.program, cur.loc);
    const pred: Predicate = (c, prev) => {
      if (c.step <= cur.step) return undefined;
      if (kind === 'instruction') return 'step';
      if (kind === 'out') return c.depth < d0 ? 'step' : undefined;
      if (!c.loc) return undefined;
      if (c.depth < d0) return 'step';
      if (kind === 'over' && c.depth > d0) return undefined;
      if (c.depth !== d0) return 'step';
      if (lineKey(c.program.name, c.loc) !== key0) return 'step';
      // Back to the start of the same line (a loop on one line): a new execution of it.
      if (prev && prev.depth === c.depth && c.pc <= prev.pc && this.starts.get(c.program.name)![c.pc]) return 'step';
      return undefined;
    };
    const snap = this.scan(cur.packet, cur.step + 1, pred, { cross: false, stopAtEnd: true, faults: true });
    return (this.current = snap);
  }

  /** One step back: to the previous instruction, or to the start of the previous line (over: at this depth or above). */
  stepBack(kind: 'over' | 'instruction'): Snapshot {
    const cur = this.need();
    if (cur.step === 0 && !cur.ended) {
      if (cur.packet === 0) return this.goto(0, 0, 'step');
      return this.goto(cur.packet - 1, Number.MAX_SAFE_INTEGER, 'step');
    }
    const n = cur.ended ? cur.step : cur.step; // steps executed before this position
    if (kind === 'instruction') return this.goto(cur.packet, cur.ended ? lastStep(cur) : n - 1, 'step');
    const trace = this.trace(cur.packet, n);
    const d0 = cur.ended ? 1 : cur.depth;
    const key0 = cur.ended ? '' : lineKey(cur.program, cur.loc);
    let j = trace.length - 1;
    // Back past the rest of the current line (and anything deeper), to the previous line at this depth or above.
    while (j >= 0 && (trace[j].depth > d0 || !trace[j].loc || (trace[j].depth === d0 && trace[j].key === key0 && !cur.ended))) j--;
    if (j < 0) return this.goto(cur.packet, 0, 'step');
    const { key, depth } = trace[j];
    while (j > 0 && trace[j - 1].depth === depth && trace[j - 1].key === key && !(this.starts.get(trace[j].program)![trace[j].pc] && trace[j].pc <= trace[j - 1].pc)) j--;
    return this.goto(cur.packet, j, 'step');
  }

  /** Back to the last breakpoint hit before the current position (in this packet or earlier ones), else the start. */
  reverseContinue(): Snapshot {
    const cur = this.need();
    // Block by block backwards (a block: the packets from a checkpoint on the interval grid), each run forwards once
    // from its checkpoint while the hits are recorded: a capture without hits costs one run of each packet, not one
    // replay from a checkpoint per packet.
    for (let end = cur.packet; end >= 0; ) {
      const start = Math.floor(end / this.interval) * this.interval;
      const live = this.sessionBefore(start);
      let last: { q: number; step: number } | undefined;
      for (let q = start; q <= end; q++) {
        const limit = q === cur.packet ? (cur.ended ? Number.MAX_SAFE_INTEGER : cur.step) : Number.MAX_SAFE_INTEGER;
        // A packet known to reach no breakpoint slot has no hit to find: it runs without the hook.
        if (this.clean.has(q) && !this.patches.some((x) => x.packet === q)) {
          this.runOne(live, NEVER, 0, false);
          continue;
        }
        this.runOne(live, (c) => {
          if (c.step < limit && c.hit) last = { q, step: c.step };
          return undefined;
        }, 0, false);
      }
      this.live = live;
      if (last) {
        // Re-reach it forwards, with the hit counts of that moment.
        const { q, step } = last;
        const again = this.sessionBefore(q);
        const r = this.runOne(again, (c) => (c.step === step ? c.hit?.reason ?? 'breakpoint' : undefined), 0);
        this.live = again;
        return (this.current = r.snap!);
      }
      end = start - 1;
    }
    return this.goto(0, 0, 'entry');
  }

  private need(): Snapshot {
    if (!this.current) throw new DebugError('the program is not stopped anywhere yet');
    return this.current;
  }

  /** Per step of packet p, before step `limit`: where it was (for stepping back by lines). */
  private trace(p: number, limit: number): { program: string; pc: number; depth: number; loc?: SourceLoc; key: string }[] {
    const out: { program: string; pc: number; depth: number; loc?: SourceLoc; key: string }[] = [];
    const live = this.sessionBefore(p);
    this.runOne(live, (c) => {
      if (c.step < limit) out.push({ program: c.program.name, pc: c.pc, depth: c.depth, loc: c.loc, key: lineKey(c.program.name, c.loc) });
      return undefined;
    }, 0, false);
    this.live = live;
    return out;
  }

  /** Pick the packet a launch names: an index, `first XDP_ABORTED` (any action), `first fault`. */
  selectPacket(spec: number | string | undefined): number {
    if (spec === undefined || spec === '') return 0;
    const n = typeof spec === 'number' ? spec : /^\s*\d+\s*$/.test(spec) ? Number(spec) : undefined;
    if (n !== undefined) {
      // A capture number (as the packets view and `xdp-lens run` number them), not a place among the packets run.
      const packets = this.opts.packets;
      const last = packets[packets.length - 1]!.index;
      if (!Number.isInteger(n) || n < 0 || n > last) throw new DebugError(`packet ${spec}: the capture has packets 0 to ${last}`);
      const q = packets.findIndex((pk) => pk.index === n);
      if (q < 0) throw new DebugError(`packet ${n} was sent by the capturing host (outgoing): XDP runs only on received frames, so it is not run (as in \`xdp-lens run\`)`);
      return q;
    }
    const m = /^\s*first\s+(XDP_ABORTED|XDP_DROP|XDP_PASS|XDP_TX|XDP_REDIRECT|fault|aborted|drop|pass|tx|redirect)\s*$/i.exec(String(spec));
    if (!m) throw new DebugError(`packet '${spec}' is not an index nor 'first ACTION' (XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT) nor 'first fault'`);
    const want = m[1].toUpperCase();
    const live = this.fresh();
    for (let q = 0; q < this.opts.packets.length; q++) {
      if (q % this.interval === 0) this.keepCheckpoint(live);
      const { result } = this.runOne(live, NEVER, 0, false);
      const action = result.action;
      if (want === 'FAULT' ? !!result.fault : action === (want.startsWith('XDP_') ? want : `XDP_${want}`)) return q;
    }
    throw new DebugError(`no packet of the ${this.opts.packets.length} in the capture ends with ${m[1]}`);
  }
}

const NEVER: Predicate = () => undefined;

function lastStep(s: Snapshot): number {
  return Math.max(0, s.step - 1);
}

function lineKey(program: string | LoadedProgram, loc: SourceLoc | undefined): string {
  const name = typeof program === 'string' ? program : program.name;
  return loc ? `${name}\0${loc.file}\0${loc.line}` : `${name}\0?`;
}

function resultOf(r: DriverPacket): Snapshot['result'] {
  return { action: r.action, retval: r.retval, outcome: r.outcome, ...(r.fault ? { fault: r.fault } : {}) };
}

function bufferFacts(b: XdpBuff): Snapshot['buff'] {
  return { data: b.data, dataEnd: b.dataEnd, dataMeta: b.dataMeta, ingressIfindex: b.ingressIfindex, rxQueueIndex: b.rxQueueIndex, egressIfindex: b.egressIfindex ?? 0 };
}

function snapshotRegions(mem: Memory): RegionSnapshot[] {
  const out: RegionSnapshot[] = [];
  let misses = 0;
  for (let id = 1; misses < 64; id++) {
    const r = mem.region(id);
    if (!r) {
      if (id >= REGION_STACK0 + MAX_FRAMES) misses++;
      continue;
    }
    misses = 0;
    if (r.kind === 'handle') continue;
    out.push({ id, kind: r.kind, name: r.name, bytes: r.bytes.slice(), lo: r.lo, hi: r.hi });
  }
  return out;
}

// -----------------------------------------------------------------------------------------------------------------
// Reading a snapshot

/** Little-endian read from a snapshot; undefined where no region is (or outside its window). */
export function readSnapshot(s: Snapshot, addr: bigint, size: number): bigint | undefined {
  const id = regionOf(addr);
  if (id === REGION_CTX) {
    const off = offsetOf(addr);
    const b = s.buff;
    const f = [addrOf(REGION_PACKET, b.data), addrOf(REGION_PACKET, b.dataEnd), addrOf(REGION_PACKET, b.dataMeta), BigInt(b.ingressIfindex), BigInt(b.rxQueueIndex), BigInt(b.egressIfindex)];
    return size === 4 && off % 4 === 0 && off >= 0 && off < 24 ? f[off / 4] : undefined;
  }
  const r = s.regions.find((x) => x.id === id);
  if (!r) return undefined;
  const off = offsetOf(addr);
  if (off < r.lo || off + size > r.hi) return undefined;
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(r.bytes[off + i]);
  return v;
}

/** The packet as it is at this position (data..data_end). */
export function packetBytesOf(s: Snapshot): Uint8Array {
  const r = s.regions.find((x) => x.id === REGION_PACKET);
  return r ? r.bytes.slice(s.buff.data, s.buff.dataEnd) : new Uint8Array();
}

/** What a register holds, as far as the simulator knows: a pointer into a region (with its offset) or a scalar. */
export function describeValue(s: Snapshot, v: bigint): string {
  const id = regionOf(v);
  const off = offsetOf(v);
  if (id === REGION_CTX && off === 0) return 'ctx (struct xdp_md *)';
  if (id === REGION_PACKET) {
    const rel = off - s.buff.data;
    return rel === s.buff.dataEnd - s.buff.data ? 'packet pointer: data_end' : `packet pointer: data + ${rel}`;
  }
  if (id >= REGION_STACK0 && id < REGION_STACK0 + MAX_FRAMES) return `stack pointer: frame ${id - REGION_STACK0 + 1} r10${off - STACK_SIZE >= 0 ? '+' : ''}${off - STACK_SIZE}`;
  const r = s.regions.find((x) => x.id === id);
  if (r && id > 0 && (v >> 32n) < 1n << 16n && off >= 0) return `${r.kind === 'map-value' ? r.name.replace(/^value of map /, 'map value: ') : r.name} + ${off}`;
  return 'scalar';
}

/** An expression scope over a snapshot: registers, data/data_end/data_meta, ctx fields. */
export function snapshotScope(s: Snapshot, extra?: (id: string) => bigint | undefined): ExprScope {
  return {
    name: (id) => {
      const r = /^r(\d|10)$/.exec(id);
      if (r) return s.regs[Number(r[1])];
      if (id === 'data') return addrOf(REGION_PACKET, s.buff.data);
      if (id === 'data_end') return addrOf(REGION_PACKET, s.buff.dataEnd);
      if (id === 'data_meta') return addrOf(REGION_PACKET, s.buff.dataMeta);
      if (id === 'ctx') return addrOf(REGION_CTX, 0);
      if (id === 'pc') return BigInt(s.pc);
      if (id === 'step') return BigInt(s.step);
      if (id === 'packet') return BigInt(s.packet);
      return extra?.(id);
    },
    read: (addr, size) => {
      const v = readSnapshot(s, addr, size);
      if (v === undefined) throw new ExprError(`cannot read ${size} byte(s) at 0x${addr.toString(16)}: ${describeValue(s, addr)}`);
      return v;
    },
    member: (base, field) => (base === 'ctx' ? ctxField(s.buff, field) : undefined),
  };
}

function ctxField(b: Snapshot['buff'], field: string): bigint | undefined {
  switch (field) {
    case 'data': return addrOf(REGION_PACKET, b.data);
    case 'data_end': return addrOf(REGION_PACKET, b.dataEnd);
    case 'data_meta': return addrOf(REGION_PACKET, b.dataMeta);
    case 'ingress_ifindex': return BigInt(b.ingressIfindex);
    case 'rx_queue_index': return BigInt(b.rxQueueIndex);
    case 'egress_ifindex': return BigInt(b.egressIfindex);
  }
  return undefined;
}

/** An expression scope over the live state of a run (breakpoint conditions). */
function liveScope(c: StepContext, packets: DebugPacket[]): ExprScope {
  const buff = c.mem.ctx?.buff;
  return {
    name: (id) => {
      const r = /^r(\d|10)$/.exec(id);
      if (r) return c.regs[Number(r[1])];
      if (buff && id === 'data') return addrOf(REGION_PACKET, buff.data);
      if (buff && id === 'data_end') return addrOf(REGION_PACKET, buff.dataEnd);
      if (buff && id === 'data_meta') return addrOf(REGION_PACKET, buff.dataMeta);
      if (id === 'ctx') return addrOf(REGION_CTX, 0);
      if (id === 'pc') return BigInt(c.pc);
      if (id === 'step') return BigInt(c.step);
      if (id === 'packet') return BigInt(packets[c.packet]?.index ?? c.packet);
      return undefined;
    },
    read: (addr, size) => {
      try {
        return c.mem.load(addr, size, c.pc);
      } catch (e) {
        throw new ExprError(`cannot read ${size} byte(s) at 0x${addr.toString(16)}: ${(e as Error).message}`);
      }
    },
    member: (base, field) => (base === 'ctx' && buff ? ctxField(bufferFacts(buff), field) : undefined),
  };
}

/**
 * Read every packet of a capture (up to `limit`) into memory for the debugger: those XDP would see. Packets the
 * capturing host sent (CapturedPacket.outgoing) are left out, as `xdp-lens run` leaves them; `outgoing` counts them.
 */
export async function readPackets(path: string, limit = 100_000): Promise<DebugPacket[] & { outgoing: number }> {
  const reader = openCapture(path);
  const out = Object.assign([] as DebugPacket[], { outgoing: 0 });
  try {
    for (let p = reader.next(); p && out.length < limit; p = reader.next()) {
      if (p.outgoing) out.outgoing++;
      else out.push({ index: p.index, frame: p.frame, tsNs: p.tsNs });
    }
  } finally {
    reader.close();
  }
  return out;
}
