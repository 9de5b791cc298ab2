// A Machine is one loaded object ready to run packets: its maps (state kept across runs, like pinned kernel maps),
// its programs validated once, and one address space reused per run.
//
// run() executes an XDP program on an XdpBuff the way bpf_prog_run_xdp does: r1 = ctx, r10 = stack top, helpers
// from helpers.ts, tail calls through PROG_ARRAY maps, the instruction budget per packet, and it mutates `buff` in
// place so the caller (the driver model) sees the packet after the program. retval is r0 truncated to u32, as
// bpf_prog_run_xdp returns it. runRaw() is the conformance mode (a bare program over one memory block).
import type { Insn, SourceLoc } from '../isa/insn.ts';
import { kfuncVoidCall, registerChecks, stackLimits, validateProgram, type RegisterChecks, type ValidationError } from '../isa/validate.ts';
import { CONFORMANCE_HELPERS, execute, runRaw as runRawProgram, type ExecOptions, type ExecResult, type ProgramImage } from './interpreter.ts';
import { Memory, REGION_BIAS, VmFault, initCtxRegister, type UninitRead } from './memory.ts';
import { BPF_F_RDONLY_PROG, type LoadedObject, type LoadedProgram } from '../elf/types.ts';
import type { Environment, Fault, PerfRecord, RunResult, UninitStackRead, XdpBuff } from './types.ts';
import { MapTable, createMap, type BpfMap } from './maps.ts';
import { dispatchHelper, fastHelpers, fireStartedTimers, laterTimersStarted, runDueTimers, type HelperHost } from './helpers.ts';
import { executeCompiled, executeXdpPacket, executeXdpReady, wasmTier, xdpPacketReady, type InlineMaps } from './compiled/engine.ts';
import { isKernelHelper } from '../isa/helper-names.ts';
import { resetKfuncState } from './kfuncs.ts';

export const DEFAULT_BUDGET = 1_000_000;

export interface MachineOptions {
  /** Instructions per packet, across tail calls (default 1,000,000). */
  budget?: number;
  /** CPUs for per-CPU maps (default 1; a run's Environment.cpu picks the slot). */
  nrCpus?: number;
  /**
   * 'interp' (the reference interpreter) or 'compiled' (compiled/engine.ts, identical results); default: the
   * XDP_LENS_ENGINE environment variable, else 'compiled'. A run with a step hook always uses the interpreter.
   */
  engine?: Engine;
}

export type Engine = 'interp' | 'compiled';
export const ENGINES: readonly Engine[] = ['interp', 'compiled'];

/** The engine when none is asked for: XDP_LENS_ENGINE (interp|compiled), else the compiled engine. */
export function defaultEngine(): Engine {
  const e = typeof process !== 'undefined' ? process.env.XDP_LENS_ENGINE : undefined;
  return e === 'interp' ? 'interp' : 'compiled';
}

export interface RunHooks {
  /** Before each instruction, with the live state (see ExecOptions.onStep); forces the interpreter. */
  onStep?: ExecOptions['onStep'];
  /** At each `ja +0` (see ExecOptions.onMark); either engine. */
  onMark?: ExecOptions['onMark'];
  /** Slots whose reaching sets probe.reached (see ExecOptions.probe); the compiled engine only. */
  probe?: ExecOptions['probe'];
  /** The engine of this run instead of the machine's (the return-line twin runs compiled whatever the real run uses). */
  engine?: Engine;
}

export interface Machine {
  readonly obj: LoadedObject;
  /** The engine run() uses (runs with a step hook are always interpreted). */
  readonly engine: Engine;
  /** Same order as obj.maps. */
  readonly maps: BpfMap[];
  /** Every map a program can hold a pointer to: obj.maps, then inner maps created by seeds (maps of maps). */
  readonly mapTable: MapTable;
  /** Problems setting up the maps the way libbpf would (a static inner map that does not fit its outer map). */
  readonly mapErrors: string[];
  run(program: string, buff: XdpBuff, env: Environment, hooks?: RunHooks): RunResult;
  runRaw(insns: Insn[], mem: Uint8Array): { retval: bigint; fault?: Fault };
  /** Whether a run started a timer to expire later than the model fires timers (helper-impl/timer.ts). */
  laterTimersStarted(): boolean;
  /** Runs now the callbacks of the timers started to expire later that are still active; returns how many ran. */
  fireStartedTimers(): number;
  /**
   * Packets from..to-1 of `batch`, each exactly as: batch.before?.(i), copy it into buff.frame at batch.headroom,
   * buff.data = buff.dataMeta = headroom, buff.dataEnd = headroom + its length, run(program, buff, env). Each packet's
   * retval, exitInsn and steps go into `results` (and flags, final bounds and changed bytes where results asks for
   * them, see BatchResults); the batch stops after a packet whose result holds more (`plain` false: a fault, an
   * uninitialised read, printk/perf output, a redirect, a tail call), whose whole RunResult is then results.result,
   * or after a changed packet whose bytes do not fit results.out. Returns the index after the last packet run; buff
   * (frame and bounds) is then as that packet's run left it. A packet longer than batch.linear is a multi-buffer frame:
   * its first batch.linear bytes go into the frame and the rest into buff.frags (see PacketBatch.linear), as the
   * driver's layoutXdpBuff lays it out for run(). The per-run work of run() that does not change from packet to packet
   * is done once per batch.
   */
  runBatch(program: string, buff: XdpBuff, batch: PacketBatch, from: number, to: number, env: Environment, results: BatchResults): number;
  /**
   * A zeroed buffer for packet frames (XdpBuff.frame) of this machine's runs: on the compiled engine, in the
   * WebAssembly linear memory its generated code reads the packet from inline (a plain array otherwise, or when that
   * memory is full). `replaces`: the caller's previous buffer from here, whose space may be reused. The caller owns it.
   */
  packetBuffer(size: number, replaces?: Uint8Array): Uint8Array;
  /** Load-time validation errors of a program (empty when it may run). */
  validate(program: string): ValidationError[];
  /**
   * What the kernel verifier refuses in a program that the simulator can still run (today: the stack limits of its
   * call chains), in the verifier's words, with the slot and source line it concerns.
   */
  kernelRefusals(program: string): KernelRefusal[];
}

/**
 * Packets for Machine.runBatch: packet i is bytes[offset[i], offset[i] + length[i]). In the machine's linear memory
 * (a Machine.packetBuffer) each is copied into the frame with memory.copy.
 */
export interface PacketBatch {
  bytes: Uint8Array;
  offset: Int32Array;
  length: Int32Array;
  /** Where each packet starts in the frame (buff.data, buff.dataMeta before its run). */
  headroom: number;
  /**
   * Called before packet i is copied in and run: what changes per packet outside the frame (the clock env.nowNs reads,
   * env.cpu, buff.rxMeta, buff.rxQueueIndex). It must not replace buff.frame. Undefined: nothing.
   */
  before?: (i: number) => void;
  /**
   * When given: each packet starts in a frame that is zero outside its window, as a fresh receive buffer (the driver's
   * layoutXdpBuff), instead of holding what the packets before it left there. The caller promises the frame is zero
   * outside [from, to) at the call (the window of the last frame laid out in it, widened by what its run touched);
   * runBatch leaves there the same for the last packet it ran (the union of its windows during the run, widened on
   * the compiled engine by the earlier packets' spans whose zeroing no run needed: a run that leaves its window where
   * it started never sees those bytes), so the next call, or the caller's own layout of the next frame, clears only that.
   */
  clean?: { from: number; to: number };
  /** At each `ja +0` of the batch's runs (RunHooks.onMark: the return-line twin's markers); undefined: none. */
  onMark?: ExecOptions['onMark'];
  /**
   * Multi-buffer frames (xdp.frags): the most bytes a packet's linear part holds (the driver's linearCapacity:
   * frame size - headroom - 320). A longer packet runs with its first `linear` bytes in the frame at the headroom and
   * the rest in buff.frags, fragments of buff.fragSize bytes (the last one shorter), exactly as layoutXdpBuff lays a
   * frame out for run(): each fragment a view of a buffer the machine keeps from packet to packet (valid until the
   * next packet runs; adjust_tail may replace one). buff.fragSize must then be above 0. Undefined: every packet must
   * fit the frame after the headroom, and buff.frags is emptied before each.
   */
  linear?: number;
}

/** BatchResults.flags: the program may have written into the packet (0: the bytes are those copied in). */
export const BATCH_WROTE = 1;
/** BatchResults.flags: a helper moved data, data_end or data_meta during the run (adjust_head/meta/tail, pull_data). */
export const BATCH_MOVED = 2;

/** Per packet of a batch: what RunResult's retval, exitInsn and steps say; `result` the whole of the last one that needed more. */
export interface BatchResults {
  retval: Uint32Array;
  exitInsn: Int32Array;
  steps: Int32Array;
  /** When given, per packet: BATCH_WROTE | BATCH_MOVED (0: the packet after the run is the packet copied in). */
  flags?: Uint8Array;
  /** When given, per packet: buff.data, buff.dataEnd and buff.dataMeta after the run (offsets in the frame). */
  data?: Int32Array;
  dataEnd?: Int32Array;
  dataMeta?: Int32Array;
  /**
   * When given, per packet: the fragments after the run (buff.frags.length: 0 for a linear frame, and for one whose
   * fragments adjust_tail took away) and the bytes they hold in all (what follows dataEnd in the packet).
   */
  frags?: Int32Array;
  fragBytes?: Int32Array;
  /**
   * When given: the bytes [min(dataMeta, data), dataEnd) of each packet with a flag set, as its run left them, then
   * its fragments' bytes (a multi-buffer frame: test_run's data_out), are copied to out.bytes at out.used (out.at[i] =
   * where; -1 for a packet with no flag: its bytes are its input), and out.used advances past them (8-byte aligned).
   * A changed packet whose bytes do not fit gets -1 and ends the batch (its bytes are then in buff.frame and
   * buff.frags). The caller empties it (used = 0) when it has taken the bytes.
   */
  out?: { bytes: Uint8Array; at: Int32Array; used: number };
  /** Set when the batch stopped after a packet whose result holds more than these (see Machine.runBatch). */
  result: RunResult | undefined;
}

/**
 * Whether a run's result is all in BatchResults' arrays (the exit program is the entry, and there is no fault,
 * uninitialised read, printk or perf output, redirect or tail call).
 */
export function plain(r: RunResult, program: string): boolean {
  return r.fault === undefined && r.uninitStackRead === undefined && r.printk.length === 0 && r.perf.length === 0 && r.redirect === undefined &&
    r.redirectFallback === undefined && r.tailCalls === 0 && r.exitProgram === program;
}

/**
 * A batch's packet i must lie in its bytes and its linear part (`lin` of its `len` bytes) fit the frame after the
 * headroom, and a multi-buffer one needs fragments to go into (else a RangeError, before it runs).
 */
function fits(i: number, len: number, lin: number, off: number, headroom: number, frame: Uint8Array, bytes: Uint8Array, fragSize: number): void {
  if (headroom + lin > frame.length || off + len > bytes.length || len < 0 || off < 0 || (len > lin && !(fragSize > 0))) {
    throw new RangeError(`runBatch: packet ${i} (${len} bytes at ${off}) is outside the batch's bytes, does not fit the frame after ${headroom} bytes of headroom, or needs fragments of buff.fragSize ${fragSize} bytes`);
  }
}

/**
 * PacketBatch.clean: zero what of [clean.from, clean.to) the next packet's window [lo, hi) does not cover (it is
 * copied over), so the frame is zero outside that window.
 */
function cleanFrame(frame: Uint8Array, clean: { from: number; to: number }, lo: number, hi: number): void {
  const f = clean.from;
  const t = clean.to;
  if (f < lo) frame.fill(0, f, t < lo ? t : lo);
  if (t > hi) frame.fill(0, f > hi ? f : hi, t);
}

export interface KernelRefusal {
  insn: number;
  message: string;
  loc?: SourceLoc;
}

/**
 * The load-time validation of one program of `obj` (what a machine checks before it runs it; `check` runs it without
 * a machine): a program the loader refused (LoadedProgram.loadErrors) cannot run, not even as a tail-call target.
 */
export function loadValidation(obj: LoadedObject, p: LoadedProgram): ValidationError[] {
  return p.loadErrors?.length
    ? p.loadErrors.map((message) => ({ insn: 0, message }))
    : validateProgram(p.insns, { mapCount: obj.maps.length, isHelperKnown: isKernelHelper, entryRegs: [1, 10], kfuncs: p.kfuncs ?? [], checkUninitialized: false });
}

/** The verifier's stack limits (the combined stack of a call chain) for a program that passed `loadValidation`. */
export function stackRefusals(p: LoadedProgram, validation: readonly ValidationError[]): KernelRefusal[] {
  const refusal = validation.length === 0 ? stackLimits(p.insns).refusal : undefined;
  return refusal ? [{ ...refusal, loc: p.lines[refusal.insn] }] : [];
}

export function createMachine(obj: LoadedObject, opts: MachineOptions = {}): Machine {
  return new XdpMachine(obj, opts);
}

const KEY_ZERO = new Uint8Array(4);
/** A run's printk and perf outputs until a helper writes one (helpers.ts replaces them then): shared, frozen. */
const NO_PRINTK = Object.freeze([]) as unknown as string[];
const NO_PERF = Object.freeze([]) as unknown as PerfRecord[];
const L64 = new BigUint64Array(1);
const L32 = new Uint32Array(L64.buffer);
/** v mod 2^32 as a number, without BigInt arithmetic. */
const low32 = (v: bigint): number => {
  L64[0] = v;
  return L32[0];
};

interface RunInfo {
  name: string;
  /** Undefined when the program cannot run (`errors` says why). */
  entry: LoadedProgram | undefined;
  errors: ValidationError[];
  /** egress_ifindex is readable (a devmap program). */
  devmap: boolean;
}

class XdpMachine implements Machine {
  readonly maps: BpfMap[];
  readonly mapTable: MapTable;
  readonly mapErrors: string[] = [];
  private readonly mem = new Memory();
  private readonly budget: number;
  private readonly nrCpus: number;
  readonly engine: Engine;
  private readonly validation = new Map<string, ValidationError[]>();
  private readonly refusals = new Map<string, KernelRefusal[]>();
  private readonly checks = new WeakMap<ProgramImage, RegisterChecks | null>();
  private readonly byName = new Map<string, LoadedProgram>();

  constructor(readonly obj: LoadedObject, opts: MachineOptions) {
    this.budget = opts.budget ?? DEFAULT_BUDGET;
    this.nrCpus = opts.nrCpus ?? 1;
    this.engine = opts.engine ?? defaultEngine();
    this.mapTable = new MapTable(this.nrCpus);
    this.maps = obj.maps.map((def) => {
      const m = createMap(def, this.nrCpus, this.mapTable);
      this.mapTable.add(m, true);
      return m;
    });
    // Maps of maps initialised in the source (`.values = { [0] = &inner }`): libbpf fills the slots after creating
    // every map (init_map_in_map_slots).
    this.maps.forEach((map) => {
      for (const { index, map: innerName } of map.def.initialMaps ?? []) {
        const inner = this.mapTable.named(innerName);
        const key = new Uint8Array(map.def.keySize);
        key.set(new Uint8Array(new Uint32Array([index]).buffer).subarray(0, Math.min(4, key.length)));
        const err = inner ? map.seed({ key, values: [], map: inner }) : `no map named '${innerName}'`;
        if (err) this.mapErrors.push(`${obj.path}: map '${map.def.name}' slot ${index}: ${err}`);
      }
    });
    // Global data (.data/.rodata/.bss) starts as the ELF image; libbpf writes it with bpf_map_update_elem before
    // freezing .rodata. Done here in case the map implementation did not take the initial value itself.
    this.maps.forEach((map, i) => {
      const init = obj.maps[i].initialValue;
      if (!init || obj.maps[i].kind !== 'global') return;
      for (let cpu = 0; cpu < this.nrCpus; cpu++) {
        const v = map.lookup(KEY_ZERO, cpu);
        if (v && v.every((b: number) => b === 0)) v.set(init.subarray(0, v.length));
      }
    });
    for (const p of obj.programs) this.byName.set(p.name, p);
    this.host = this.newHost();
    const fast = fastHelpers(this.host);
    // mapValueAddress on halves: the value's region id, and the offset when it stays in the low word.
    fast.mapValue = (index, offset) => {
      const map = this.maps[index];
      const value = map === undefined || offset < 0 || offset >= REGION_BIAS ? undefined : map.lookup(KEY_ZERO, this.host.env.cpu);
      if (map === undefined || value === undefined) {
        fast.miss = true;
        return 0;
      }
      fast.h = this.mem.mapValueId(value, map.def.name, map.readonlyForProgram || (map.def.flags & BPF_F_RDONLY_PROG) !== 0);
      return (REGION_BIAS + offset) | 0;
    };
    // The generated code's inline array lookups read the host (maps by handle, env.cpu) and the machine's own maps.
    const inline = fast as typeof fast & InlineMaps;
    inline.host = this.host;
    inline.own = this.maps;
    this.inline = inline;
    this.execOptions.fast = fast;
  }
  private readonly inline: InlineMaps;

  validate(program: string): ValidationError[] {
    let errors = this.validation.get(program);
    if (!errors) {
      const p = this.byName.get(program);
      errors = p ? loadValidation(this.obj, p) : [{ insn: 0, message: `no program named ${program} in ${this.obj.path}` }];
      this.validation.set(program, errors);
    }
    return errors;
  }

  kernelRefusals(program: string): KernelRefusal[] {
    let list = this.refusals.get(program);
    if (!list) {
      const p = this.byName.get(program);
      list = p ? stackRefusals(p, this.validate(program)) : [];
      this.refusals.set(program, list);
    }
    return list;
  }

  /**
   * Register reads checked as a program runs. Whether a register is written is decided per path by the kernel, so
   * a read validation cannot clear is checked on the path each packet takes, and only then is it a fault.
   */
  private registerChecks(p: ProgramImage): RegisterChecks | undefined {
    let c = this.checks.get(p);
    if (c === undefined) {
      c = registerChecks(p.insns, [1, 10], kfuncVoidCall(p.kfuncs)) ?? null;
      this.checks.set(p, c);
    }
    return c ?? undefined;
  }

  /**
   * The helpers' view of the run and the engine options, made once per machine and rebound per packet (buff, env,
   * outputs): a packet's run allocates no closures.
   */
  private readonly host: HelperHost;
  private newHost(): HelperHost {
    return {
    mem: this.mem,
    obj: this.obj,
    maps: this.mapTable.all,
    mapTable: this.mapTable,
    buff: undefined as unknown as XdpBuff,
    env: undefined as unknown as Environment,
    nrCpus: this.nrCpus,
    out: this.out,
    reservations: new Map(),
    programByName: (name) => {
      const p = this.byName.get(name);
      // A tail-call target must itself load (validate) before it can run.
      return p && this.validate(name).length === 0 ? p : undefined;
    },
    };
  }
  private readonly execOptions: ExecOptions = {
    budget: 0,
    callHelper: (call) => dispatchHelper(this.host, call),
    mapValueAddress: (index, offset, pc) => this.mapValueAddress(index, offset, pc, this.host.env.cpu),
    registerChecks: (p) => this.registerChecks(p),
  };

  /** What run() needs of a program, found once per name (the last one asked kept at hand). */
  private readonly runInfo = new Map<string, RunInfo>();
  private lastRun: RunInfo | undefined;
  private runInfoOf(programName: string): RunInfo {
    let info = this.runInfo.get(programName);
    if (info === undefined) {
      const entry = this.byName.get(programName);
      const errors = this.validate(programName);
      info = { name: programName, entry: errors.length ? undefined : entry, errors, devmap: entry !== undefined && /devmap/.test(entry.section) };
      this.runInfo.set(programName, info);
    }
    return info;
  }
  /** The outputs of the run in progress (one object, rebound per run; its arrays are new only when written). */
  private readonly out: HelperHost['out'] = { redirect: undefined, redirectFallback: undefined, printk: NO_PRINTK, perf: NO_PERF };

  run(programName: string, buff: XdpBuff, env: Environment, hooks?: RunHooks): RunResult {
    let info = this.lastRun;
    if (info === undefined || info.name !== programName) this.lastRun = info = this.runInfoOf(programName);
    const entry = info.entry;
    if (entry === undefined) {
      const e = info.errors[0];
      return {
        retval: 0, exitInsn: -1, exitProgram: programName, steps: 0, tailCalls: 0, printk: [], perf: [],
        fault: { kind: 'invalid-insn', message: e.message, insn: e.insn, program: programName, loc: this.byName.get(programName)?.lines[e.insn] },
      };
    }
    const mem = this.mem;
    // reset's effects: a pending clean span zeroed (flushClean), then resetPacket, which writes only the packet's
    // window when this buff and frame are the ones the last run bound (runBatch's per-packet reset), else resets.
    mem.flushClean();
    mem.resetPacket(buff, info.devmap);
    const host = this.host;
    const out = this.out;
    // Only what changes between runs is written (host.maps, mapTable, nrCpus and out are the machine's, set once).
    if (out.printk !== NO_PRINTK) out.printk = NO_PRINTK;
    if (out.perf !== NO_PERF) out.perf = NO_PERF;
    if (out.redirect !== undefined) out.redirect = undefined;
    if (out.redirectFallback !== undefined) out.redirectFallback = undefined;
    // The debugger's checkpoints replace a machine's maps with copies (debug/engine.ts fork): follow them.
    if (host.mapTable !== this.mapTable) {
      host.mapTable = this.mapTable;
      host.maps = this.mapTable.all;
      this.inline.own = this.maps;
    }
    if (host.buff !== buff) host.buff = buff;
    if (host.env !== env) host.env = env;
    if (host.reservations.size) host.reservations = new Map();
    resetKfuncState(host);
    const opts = this.execOptions;
    opts.budget = this.budget;
    let res: ExecResult;
    if (hooks === undefined) {
      if (opts.onMark !== undefined) opts.onMark = undefined;
      if (opts.probe !== undefined) opts.probe = undefined;
      // executeXdpPacket: executeCompiled's run and result, the state's setup skipped when the last run left it ready.
      res = this.engine === 'compiled' ? executeXdpPacket(entry, mem, opts) : execute(entry, mem, initCtxRegister, opts);
    } else {
      const onStep = hooks.onStep;
      opts.onMark = hooks.onMark;
      opts.probe = hooks.probe;
      res = onStep
        ? execute(entry, mem, initCtxRegister, { ...opts, onStep })
        : ((hooks.engine ?? this.engine) === 'compiled' ? executeCompiled : execute)(entry, mem, initCtxRegister, opts);
    }
    return this.finish(res);
  }

  /** The RunResult of a finished execution (out holds its outputs), then the timers that are due. */
  private finish(res: ExecResult): RunResult {
    const out = this.out;
    const exitProgram = res.exitProgram as LoadedProgram;
    const result: RunResult = {
      retval: res.r0lo ?? low32(res.r0),
      exitInsn: res.exitInsn,
      exitProgram: exitProgram.name,
      steps: res.steps,
      tailCalls: res.tailCalls,
      printk: out.printk,
      perf: out.perf,
      exitLoc: res.exitInsn >= 0 ? exitProgram.lines?.[res.exitInsn] : undefined,
      redirect: out.redirect,
    };
    if (out.redirectFallback) result.redirectFallback = out.redirectFallback;
    if (res.uninitStackRead) result.uninitStackRead = describeUninitRead(res.uninitStackRead);
    if (res.fault) {
      const p = res.fault.program as ProgramImage;
      result.fault = { kind: res.fault.kind, message: res.fault.message, insn: res.fault.insn, program: p.name, loc: p.lines?.[res.fault.insn] };
      // A fault is what the kernel's verifier (or an exception) would have stopped: report XDP_ABORTED.
      result.retval = 0;
    }
    // Timers the run started with 0 ns fire now, as in the kernel when the test run returns (helpers.ts).
    runDueTimers(this.host, this.execOptions);
    return result;
  }

  /** Whether a run started a timer to expire later than the model fires timers (helpers.ts laterTimersStarted). */
  laterTimersStarted(): boolean {
    return laterTimersStarted(this.host);
  }

  /** Runs now the callbacks of the timers started to expire later that are still active (helpers.ts fireStartedTimers). */
  fireStartedTimers(): number {
    return fireStartedTimers(this.host, this.execOptions);
  }

  runBatch(programName: string, buff: XdpBuff, batch: PacketBatch, from: number, to: number, env: Environment, results: BatchResults): number {
    results.result = undefined;
    const frame = buff.frame;
    const mem = this.mem;
    const { bytes, offset, length, headroom, before, clean } = batch;
    let info = this.lastRun;
    if (info === undefined || info.name !== programName) this.lastRun = info = this.runInfoOf(programName);
    const entry = info.entry;
    // The copy of each packet: memory.copy when both are in the compiled engine's linear memory, else a view's set.
    const linear = this.engine === 'compiled' && mem.inLinear(frame) && mem.inLinear(bytes);
    const at = frame.byteOffset + headroom;
    const base = bytes.byteOffset;
    // Anything past retval, exitInsn and steps asked for (flags, bounds, changed bytes, a clean frame).
    const more = results.flags !== undefined || results.data !== undefined || results.out !== undefined || clean !== undefined || results.frags !== undefined || results.fragBytes !== undefined;
    // Multi-buffer frames: a packet longer than `cap` keeps its first `cap` bytes in the frame, the rest in fragments.
    const cap = batch.linear === undefined ? 0x7fffffff : batch.linear;
    if (entry === undefined || this.engine !== 'compiled') {
      // The reference: run() per packet.
      for (let i = from; i < to; i++) {
        const len = length[i];
        const lin = len > cap ? cap : len;
        fits(i, len, lin, offset[i], headroom, frame, bytes, buff.fragSize);
        if (before !== undefined) before(i);
        if (clean !== undefined) cleanFrame(frame, clean, headroom, headroom + lin);
        frame.set(bytes.subarray(offset[i], offset[i] + lin), headroom);
        if (lin < len) this.layFrags(buff, bytes, offset[i] + lin, offset[i] + len);
        else if (buff.frags.length !== 0) buff.frags.length = 0;
        buff.data = buff.dataMeta = headroom;
        buff.dataEnd = headroom + lin;
        const r = this.run(programName, buff, env, batch.onMark !== undefined ? { onMark: batch.onMark } : undefined);
        results.retval[i] = r.retval;
        results.exitInsn[i] = r.exitInsn;
        results.steps[i] = r.steps;
        const fitted = !more || this.record(i, buff, results, clean, headroom, lin, false);
        if (!plain(r, programName)) {
          results.result = r;
          return i + 1;
        }
        if (!fitted) return i + 1;
      }
      return to;
    }
    const host = this.host;
    const out = this.out;
    if (out.printk !== NO_PRINTK) out.printk = NO_PRINTK;
    if (out.perf !== NO_PERF) out.perf = NO_PERF;
    out.redirect = out.redirectFallback = undefined;
    if (host.mapTable !== this.mapTable) {
      host.mapTable = this.mapTable;
      host.maps = this.mapTable.all;
      this.inline.own = this.maps;
    }
    host.buff = buff;
    host.env = env;
    const opts = this.execOptions;
    if (opts.onMark !== batch.onMark) opts.onMark = batch.onMark;
    if (opts.probe !== undefined) opts.probe = undefined;
    const devmap = info.devmap;
    const { retval, exitInsn, steps } = results;
    // The engine's state is set up for the entry (compiled/engine.ts xdpPacketReady): asked until it holds, then
    // known to hold for every later packet of the call (one that is not plain ends the call).
    let ready = false;
    const copy = linear ? mem.linearCopier() : undefined;
    // Changed packets' bytes out with memory.copy when both the frame and results.out are in the linear memory.
    const outLinear = results.out !== undefined && mem.inLinear(results.out.bytes) && mem.inLinear(frame);
    for (let i = from; i < to; i++) {
      const len = length[i];
      const lin = len > cap ? cap : len;
      fits(i, len, lin, offset[i], headroom, frame, bytes, buff.fragSize);
      if (before !== undefined) before(i);
      if (copy !== undefined) copy(at, base + offset[i], lin);
      else frame.set(bytes.subarray(offset[i], offset[i] + lin), headroom);
      if (lin < len) this.layFrags(buff, bytes, offset[i] + lin, offset[i] + len);
      else if (buff.frags.length !== 0) buff.frags.length = 0;
      buff.data = buff.dataMeta = headroom;
      buff.dataEnd = headroom + lin;
      mem.resetPacket(buff, devmap);
      // What an earlier packet left outside this one's window is zeroed only if the run moves the window
      // (Memory.cleanFrom); else record hands its span on with this packet's.
      if (clean !== undefined) {
        mem.cleanFrom = clean.from;
        mem.cleanTo = clean.to;
      }
      if (host.reservations.size) host.reservations = new Map();
      resetKfuncState(host);
      opts.budget = this.budget;
      const res: ExecResult = ready || (ready = xdpPacketReady(entry, mem, opts)) ? executeXdpReady(entry, mem, opts) : executeCompiled(entry, mem, initCtxRegister, opts);
      const fitted = !more || this.record(i, buff, results, clean, headroom, lin, outLinear);
      if (res.fault !== undefined || res.uninitStackRead !== undefined || res.exitProgram !== entry || res.tailCalls !== 0 ||
        out.printk !== NO_PRINTK || out.perf !== NO_PERF || out.redirect !== undefined || out.redirectFallback !== undefined) {
        const r = this.finish(res);
        retval[i] = r.retval;
        exitInsn[i] = r.exitInsn;
        steps[i] = r.steps;
        results.result = r;
        return i + 1;
      }
      retval[i] = res.r0lo ?? low32(res.r0);
      exitInsn[i] = res.exitInsn;
      steps[i] = res.steps;
      runDueTimers(host, opts);
      if (!fitted) return i + 1;
    }
    return to;
  }

  /**
   * A multi-buffer frame's fragments (runBatch, PacketBatch.linear): bytes[from, to) in pieces of buff.fragSize into
   * buff.frags, each a view of one of the machine's fragment buffers (layoutXdpBuff's fragStore).
   */
  private layFrags(buff: XdpBuff, bytes: Uint8Array, from: number, to: number): void {
    const frags = buff.frags;
    if (frags.length !== 0) frags.length = 0;
    const size = buff.fragSize;
    const store = this.fragStore;
    for (let off = from; off < to; off += size) {
      const end = off + size < to ? off + size : to;
      const k = frags.length;
      let b = store[k];
      if (b === undefined || b.length < size) store[k] = b = new Uint8Array(size);
      const f = b.subarray(0, end - off);
      f.set(bytes.subarray(off, end));
      frags.push(f);
    }
  }
  private readonly fragStore: Uint8Array[] = [];

  /**
   * After packet i of a batch ran: its flags, bounds, fragments and changed bytes into `results` (where asked), and the
   * span of the frame it may have dirtied into `clean`. False when its bytes did not fit results.out (the batch ends
   * there). `linear`: results.out and buff.frame are both in the engine's linear memory (else checked here).
   */
  private record(i: number, buff: XdpBuff, results: BatchResults, clean: PacketBatch['clean'], headroom: number, len: number, linear: boolean): boolean {
    const mem = this.mem;
    const flags = (mem.packetWrites() ? BATCH_WROTE : 0) | (mem.packetMoved !== 0 ? BATCH_MOVED : 0);
    if (results.flags !== undefined) results.flags[i] = flags;
    if (results.data !== undefined) results.data[i] = buff.data;
    if (results.dataEnd !== undefined) results.dataEnd[i] = buff.dataEnd;
    if (results.dataMeta !== undefined) results.dataMeta[i] = buff.dataMeta;
    const frags = buff.frags;
    let fragBytes = 0;
    for (let k = 0; k < frags.length; k++) fragBytes += frags[k].length;
    if (results.frags !== undefined) results.frags[i] = frags.length;
    if (results.fragBytes !== undefined) results.fragBytes[i] = fragBytes;
    if (clean !== undefined) {
      let lo = mem.touchLo < headroom ? mem.touchLo : headroom;
      let hi = mem.touchHi > headroom + len ? mem.touchHi : headroom + len;
      // What runBatch's zeroing put off and the run did not need (Memory.cleanFrom) stays in the span.
      const f = mem.cleanFrom;
      const t = mem.cleanTo;
      if (t > f) {
        if (f < lo) lo = f;
        if (t > hi) hi = t;
        mem.cleanFrom = mem.cleanTo = 0;
      }
      clean.from = lo;
      clean.to = hi;
    }
    const o = results.out;
    if (o === undefined) return true;
    if (flags === 0) {
      o.at[i] = -1;
      return true;
    }
    const start = buff.dataMeta <= buff.data ? buff.dataMeta : buff.data;
    const n = buff.dataEnd - start;
    if (o.used + n + fragBytes > o.bytes.length) {
      o.at[i] = -1;
      return false;
    }
    // Within the engine's linear memory a memory.copy (no view object per packet), else a view's set.
    if (linear || (mem.inLinear(o.bytes) && mem.inLinear(buff.frame))) mem.copyLinear(o.bytes.byteOffset + o.used, buff.frame.byteOffset + start, n);
    else o.bytes.set(buff.frame.subarray(start, buff.dataEnd), o.used);
    let at = o.used + n;
    for (let k = 0; k < frags.length; k++) {
      o.bytes.set(frags[k], at);
      at += frags[k].length;
    }
    o.at[i] = o.used;
    o.used = (at + 7) & ~7;
    return true;
  }

  packetBuffer(size: number, replaces?: Uint8Array): Uint8Array {
    return this.engine === 'compiled' && wasmTier() ? this.mem.packetBuffer(size, replaces) : new Uint8Array(size);
  }

  /** lddw src 2: pointer into the single value of a global-data (or any array) map, plus an offset. */
  private mapValueAddress(index: number, offset: number, pc: number, cpu: number): bigint {
    const map = this.maps[index];
    const value = map?.lookup(KEY_ZERO, cpu);
    if (!map || !value) throw new VmFault('helper-misuse', `lddw of map value: map ${index} has no element 0`, pc);
    const readonly = map.readonlyForProgram || (map.def.flags & BPF_F_RDONLY_PROG) !== 0;
    return this.mem.mapValue(value, map.def.name, readonly) + BigInt(offset);
  }

  runRaw(insns: Insn[], memBytes: Uint8Array): { retval: bigint; fault?: Fault } {
    return runRawProgram(insns, memBytes, {
      budget: this.budget,
      engine: this.engine === 'compiled' ? executeCompiled : undefined,
      validate: (p) => validateProgram(p, { isHelperKnown: (id) => CONFORMANCE_HELPERS.has(id), entryRegs: [1, 2, 10], mapCount: 0 }),
    });
  }
}

/** The report of an uninitialised stack read, saying both what the kernel does and what the simulator did. */
function describeUninitRead(u: UninitRead): UninitStackRead {
  const p = u.program as ProgramImage;
  const where = `${u.size} byte(s) at r10${u.offset} of stack frame ${u.frame}`;
  const whose = u.returned ? ', the frame of a function that had already returned,' : '';
  const by = u.what === 'load' ? 'reads' : `passes (${u.what})`;
  return {
    insn: u.insn,
    program: p.name,
    loc: p.lines?.[u.insn],
    frame: u.frame,
    returned: u.returned,
    offset: u.offset,
    size: u.size,
    what: u.what,
    message:
      `insn ${u.insn} ${by} ${where}${whose} that nothing wrote: the kernel refuses this for unprivileged loaders (invalid ` +
      `read from stack), and as root (allow_uninit_stack) it reads whatever the stack held, so the value is undefined ` +
      `(the simulator read ${u.returned ? 'the stale bytes' : 'zeros'})`,
  };
}
