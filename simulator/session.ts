// The integration layer: one loaded program, its map state and the outside world, run packet by packet.
// The CLI, the differential tests and (later) the driver model and the language server all run programs through here.
//
// The geometry follows BPF_PROG_TEST_RUN (net/bpf/test_run.c bpf_prog_test_run_xdp), because that is what the kernel
// can show us to compare against: a 4096-byte frame, 256 bytes of headroom, 320 bytes of skb_shared_info tailroom, so
// at most 3520 bytes in the linear part and the rest in page-sized fragments (even for programs not marked
// xdp.frags), ingress_ifindex 1 (lo), rx_queue_index 0, metadata supported.
import { extname } from 'node:path';
import type { LoadedObject, LoadedProgram } from './elf/types.ts';
import { loadObject, objectErrors, pickProgram } from './elf/index.ts';
import { loadBtfFile } from './elf/core.ts';
import { compileC, type CompileOptions } from './compile.ts';
import { INPUT_LIMITS, InputFileError, readInputFile } from './input.ts';
import { createMachine, type BatchResults, type Engine, type Machine, type PacketBatch, type RunHooks } from './vm/machine.ts';
import { mapsDump, mapsToJson, seedMapsFromJson, type DumpOptions, type MapSummary, type MapsJson } from './vm/map-json.ts';
import { prepareMaps, type InnerTemplate } from './vm/map-load.ts';
import { Prandom } from './vm/helper-impl/prandom.ts';
import type { Environment, FibRoute, RunResult, XdpBuff, Fault } from './vm/types.ts';
import { layoutXdpBuff, packetBytes } from './driver/frame.ts';
import { DEFAULT_PROFILE, PAGE_SIZE, PROFILES, SKB_SHARED_INFO_SIZE } from './driver/profiles.ts';
import { rxMetadata } from './driver/rx-meta.ts';
import { ConntrackTable, jiffies32, type ConnJson } from './vm/conntrack.ts';
import { ASSUMED_HZ } from './vm/helpers.ts';

export const XDP_PACKET_HEADROOM = 256;
export { PAGE_SIZE, SKB_SHARED_INFO_SIZE };

export const ACTIONS = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'] as const;
export type Action = (typeof ACTIONS)[number];

/** What the driver does with a return value: 0..4 are the actions; anything else is an aborted drop (C.5). */
export function actionOf(retval: number): Action {
  return retval >= 0 && retval < ACTIONS.length ? ACTIONS[retval] : 'XDP_ABORTED';
}

export class XdpLensError extends Error {}

export interface LoadOptions extends CompileOptions {
  clangFlags?: string[];
  /** BTF file to resolve CO-RE relocations against (default: /sys/kernel/btf/vmlinux, else the program's own BTF). */
  btf?: string;
}

/** Load a `.o`, or compile a `.c` first. Throws XdpLensError with a message naming the file and position. */
export function loadProgramFile(path: string, opts: LoadOptions = {}): LoadedObject {
  return loadProgramFileWithObject(path, opts).object;
}

/** As loadProgramFile, also naming the object file that was loaded (the compiled one for a `.c`). */
export function loadProgramFileWithObject(path: string, opts: LoadOptions = {}): { object: LoadedObject; objectPath: string } {
  // A bad BTF file is an input error even for a program without CO-RE relocations (which would never read it).
  if (opts.btf) {
    const t = loadBtfFile(opts.btf);
    if (typeof t === 'string') throw new XdpLensError(t);
  }
  let objectPath = path;
  if (extname(path) === '.c') {
    const r = compileC(path, { ...opts, flags: [...(opts.flags ?? []), ...(opts.clangFlags ?? [])] });
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    if (!r.objectPath || errors.length > 0) {
      const lines = errors.length > 0
        ? errors.map((d) => `${d.file}:${d.line}:${d.column}: error: ${d.message}`)
        : [r.stderr.trim() || `clang failed: ${r.command.join(' ')}`];
      throw new XdpLensError(`cannot compile ${path}:\n${lines.join('\n')}`);
    }
    objectPath = r.objectPath;
  }
  let bytes: Uint8Array;
  try {
    bytes = readInputFile(objectPath, 'program', INPUT_LIMITS.object);
  } catch (e) {
    throw new XdpLensError(e instanceof InputFileError ? e.message : `cannot read ${objectPath}: ${(e as Error).message}`);
  }
  const { object, diagnostics } = loadObject(bytes, path, { btf: opts.btf });
  // Errors of one program (or of a map only some programs use) leave the others loadable: the chosen program decides
  // (pickProgram reports its errors).
  const errors = objectErrors(diagnostics);
  if (!object || errors.length > 0) {
    throw new XdpLensError(errors.map((d) => d.message).join('\n') || `cannot load ${path}`);
  }
  return { object, objectPath };
}

export interface SessionOptions {
  /** Program to run: function or section name. Default: the first XDP program. */
  program?: string;
  nrCpus?: number;
  /** CPU the program runs on (per-CPU maps, bpf_get_smp_processor_id). */
  cpu?: number;
  seed?: number;
  /** Replaces the seeded generator of bpf_get_prandom_u32 (compare's clock/random variants). */
  prandom?: () => number;
  /** What bpf_ktime_get_ns returns at the first packet (default 1000 s of uptime). */
  clockOriginNs?: bigint;
  /**
   * Each reading of the clock moves it on by this much (default: it stands still while a packet runs). Compare's
   * variant runs use it to find values made of the time a packet took (a latency counter), which the kernel's clock
   * makes non-zero.
   */
  clockStepNs?: bigint;
  budget?: number;
  /** Initial map contents in the --maps JSON schema. */
  maps?: unknown;
  mapsFile?: string;
  routes?: FibRoute[];
  /** Initial connections for the conntrack kfuncs, in the schema of simulator/vm/conntrack.ts. */
  conntrack?: unknown;
  conntrackFile?: string;
  headroom?: number;
  frameSize?: number;
  ingressIfindex?: number;
  rxQueue?: number;
  /** Packet pages are read-only (driver mode readonly-page). */
  readonlyPage?: boolean;
  /** max_entries per map, as a loader sets them (`--max-entries MAP=N`); maps declared with 0 default to nrCpus. */
  maxEntries?: Record<string, number>;
  /** Inner-map templates for maps of maps (`--inner-map OUTER=TYPE:KEY:VALUE:ENTRIES`). */
  innerMaps?: Record<string, InnerTemplate>;
  /** 'interp' or 'compiled' (vm/compiled/engine.ts); default XDP_LENS_ENGINE, else 'compiled'. */
  engine?: Engine;
  /** A perf event is open for CPU `cpu` in that slot of the PERF_EVENT_ARRAYs named (Environment.perfReaders). */
  perfReaders?: { cpu: number; maps: readonly string[] };
}

export interface PacketResult {
  retval: number;
  action: Action;
  /** True when retval is not one of the five actions (the driver warns once and drops). */
  invalidAction: boolean;
  fault?: Fault;
  /** What BPF_PROG_TEST_RUN returns in data_out: data_meta..data_end of the linear part, then the fragments. */
  out: Uint8Array;
  /** data..data_end of the linear part followed by the fragments (the packet as the stack or the wire would see it). */
  data: Uint8Array;
  metaLen: number;
  run: RunResult;
}

/** Monotonic clock for bpf_ktime_get_ns that follows capture timestamps, starting at a plausible uptime. */
class CaptureClock {
  private first: bigint | undefined;
  /** The latest capture timestamp so far: the clock is origin + (latest - first), computed when it is read. */
  private latest: bigint | undefined;
  /**
   * While every timestamp came as numbers (advanceToTime): the first and the latest as whole seconds and nanoseconds
   * (below 10^9), `first`/`latest` left undefined until the clock is read or a BigInt timestamp comes.
   */
  private numeric = false;
  private firstSec = 0;
  private firstNanos = 0;
  private latestSec = 0;
  private latestNanos = 0;

  constructor(private readonly origin = 1_000_000_000_000n /* 1000 s of uptime */) {}

  advanceTo(tsNs: bigint | undefined): void {
    if (tsNs === undefined) return;
    if (this.numeric) this.toBigInt();
    if (this.first === undefined) this.first = this.latest = tsNs;
    else if (tsNs > this.latest!) this.latest = tsNs; // captures can go backwards; the kernel clock cannot
  }

  /** advanceTo(sec * 10^9 + nanos) without a BigInt: `sec` a whole number of seconds, 0 <= nanos < 10^9. */
  advanceToTime(sec: number, nanos: number): void {
    if (this.numeric) {
      if (sec > this.latestSec || (sec === this.latestSec && nanos > this.latestNanos)) {
        this.latestSec = sec;
        this.latestNanos = nanos;
      }
    } else if (this.first === undefined) {
      this.numeric = true;
      this.firstSec = this.latestSec = sec;
      this.firstNanos = this.latestNanos = nanos;
    } else this.advanceTo(BigInt(sec) * 1_000_000_000n + BigInt(nanos));
  }

  private toBigInt(): void {
    this.numeric = false;
    this.first = BigInt(this.firstSec) * 1_000_000_000n + BigInt(this.firstNanos);
    this.latest = BigInt(this.latestSec) * 1_000_000_000n + BigInt(this.latestNanos);
  }

  now(): bigint {
    if (this.numeric) {
      // Exact below 2^53 ns: a span under 9 * 10^6 s (the latest is never before the first).
      const dSec = this.latestSec - this.firstSec;
      if (dSec < 9e6) return this.origin + BigInt(dSec * 1e9 + (this.latestNanos - this.firstNanos));
      this.toBigInt();
    }
    return this.first === undefined ? this.origin : this.origin + (this.latest! - this.first);
  }
}

/** What a debugger watches while a session runs (simulator/debug/): the buffer of each run, then every instruction. */
export interface SessionHooks extends RunHooks {
  onBuff?(buff: XdpBuff): void;
}

export class Session {
  readonly program: LoadedProgram;
  /** Set by a debugger (simulator/debug/engine.ts); undefined for ordinary runs. */
  hooks?: SessionHooks;
  readonly machine: Machine;
  /** What the loader decided that a user should know (legacy maps, max_entries defaults), one line each. */
  readonly notes: string[];
  private readonly env: Environment;
  private readonly clock: CaptureClock;
  private readonly opts: Required<Pick<SessionOptions, 'headroom' | 'frameSize' | 'ingressIfindex' | 'rxQueue'>>;

  constructor(readonly obj: LoadedObject, private readonly options: SessionOptions = {}) {
    const picked = pickProgram(obj, options.program);
    if (typeof picked === 'string') throw new XdpLensError(picked);
    this.program = picked;
    const nrCpus = options.nrCpus ?? 1;
    // Sizes, inner-map templates and the kernel's refusals at map creation (vm/map-load.ts).
    const prepared = prepareMaps(obj, { maxEntries: options.maxEntries, innerMaps: options.innerMaps, nrCpus });
    if (prepared.errors.length > 0) throw new XdpLensError(prepared.errors.join('\n'));
    this.notes = prepared.notes;
    this.machine = createMachine(prepared.obj, { budget: options.budget, nrCpus, engine: options.engine });
    if (this.machine.mapErrors.length > 0) throw new XdpLensError(this.machine.mapErrors.join('\n'));
    if (options.maps !== undefined) {
      const errors = seedMapsFromJson(this.machine.maps, options.maps, options.mapsFile ?? '--maps', { programs: obj.programs, running: picked.name });
      if (errors.length > 0) throw new XdpLensError(errors.join('\n'));
    }
    const prng = new Prandom(options.seed ?? 1);
    const clock = (this.clock = new CaptureClock(options.clockOriginNs));
    const step = options.clockStepNs ?? 0n;
    let moved = 0n;
    this.env = {
      nowNs: step === 0n ? () => clock.now() : () => clock.now() + (moved += step),
      prandom: options.prandom ?? (() => prng.next()),
      cpu: options.cpu ?? 0,
      nrCpus,
      routes: options.routes ?? [],
      conntrack: new ConntrackTable(),
      ...(options.perfReaders ? { perfReaders: { cpu: options.perfReaders.cpu, maps: new Set(options.perfReaders.maps) } } : {}),
    };
    if (options.conntrack !== undefined) {
      const errors = this.env.conntrack!.seed(options.conntrack, options.conntrackFile ?? '--conntrack', this.jiffies(), Number(ASSUMED_HZ));
      if (errors.length > 0) throw new XdpLensError(errors.join('\n'));
    }
    this.opts = {
      headroom: options.headroom ?? XDP_PACKET_HEADROOM,
      frameSize: options.frameSize ?? PAGE_SIZE,
      ingressIfindex: options.ingressIfindex ?? 1,
      rxQueue: options.rxQueue ?? 0,
    };
  }

  /** Lay a frame out the way test_run does: linear part up to frame_sz - headroom - tailroom, the rest in pages. */
  buildBuff(bytes: Uint8Array): XdpBuff {
    return layoutXdpBuff(bytes, {
      headroom: this.opts.headroom,
      frameSize: this.opts.frameSize,
      fragSize: PAGE_SIZE,
      ingressIfindex: this.opts.ingressIfindex,
      rxQueueIndex: this.opts.rxQueue,
      readonlyPage: this.options.readonlyPage,
    });
  }

  /** Run the program on a buffer laid out by the caller (the driver model); `buff` is modified in place. */
  runBuff(buff: XdpBuff, meta: { tsNs?: bigint; cpu?: number } = {}): RunResult {
    this.clock.advanceTo(meta.tsNs);
    if (meta.cpu !== undefined) this.env.cpu = meta.cpu;
    this.hooks?.onBuff?.(buff);
    return this.machine.run(this.program.name, buff, this.env, this.hooks);
  }

  /** runBuff with the packet's timestamp and CPU as arguments (the driver's per-packet call: no object per packet). */
  runAt(buff: XdpBuff, tsNs: bigint | undefined, cpu: number): RunResult {
    this.clock.advanceTo(tsNs);
    this.env.cpu = cpu;
    this.hooks?.onBuff?.(buff);
    return this.machine.run(this.program.name, buff, this.env, this.hooks);
  }

  /** runAt with the timestamp as whole seconds and nanoseconds (0 <= nanos < 10^9): no BigInt per packet. */
  runAtTime(buff: XdpBuff, sec: number, nanos: number, cpu: number): RunResult {
    this.clock.advanceToTime(sec, nanos);
    this.env.cpu = cpu;
    this.hooks?.onBuff?.(buff);
    return this.machine.run(this.program.name, buff, this.env, this.hooks);
  }

  /**
   * Packets from..to-1 of `batch` through Machine.runBatch (see there) on `buff`, each on `cpu`, the clock at
   * sec[i] s + nanos[i] ns before packet i runs (runAtTime's clock, per packet). For runs no debugger watches
   * (`hooks` undefined). Returns the index after the last packet run.
   */
  runBatch(buff: XdpBuff, batch: PacketBatch, from: number, to: number, cpu: number, results: BatchResults): number {
    this.env.cpu = cpu;
    return this.machine.runBatch(this.program.name, buff, batch, from, to, this.env, results);
  }

  /** Advance the clock to a packet's timestamp (runAtTime's first step), for PacketBatch.before. */
  advanceToTime(sec: number, nanos: number): void {
    this.clock.advanceToTime(sec, nanos);
  }

  /** Run one packet the way BPF_PROG_TEST_RUN does (what the kernel-parity tests compare against). */
  runPacket(bytes: Uint8Array, meta: { tsNs?: bigint; cpu?: number } = {}): PacketResult {
    const buff = this.buildBuff(bytes);
    buff.rxMeta = rxMetadata(bytes, meta.tsNs, PROFILES[DEFAULT_PROFILE]);
    const run = this.runBuff(buff, meta);
    const retval = run.fault ? 0 : run.retval >>> 0;
    const { out, metaLen } = packetBytes(buff);
    return {
      retval,
      action: actionOf(retval),
      invalidAction: retval >= ACTIONS.length,
      fault: run.fault,
      out,
      data: out.subarray(metaLen),
      metaLen,
      run,
    };
  }

  private jiffies(): number {
    return jiffies32(BigInt.asUintN(64, this.env.nowNs()), ASSUMED_HZ);
  }

  /** The live connections of the conntrack table after the packets so far (seed schema). */
  conntrackJson(): ConnJson[] {
    return this.env.conntrack?.toJson(this.jiffies(), Number(ASSUMED_HZ)) ?? [];
  }

  /** True when the program calls a conntrack kfunc or the table was seeded (the report is worth printing). */
  usesConntrack(): boolean {
    return this.options.conntrack !== undefined || this.obj.programs.some((p) => p.kfuncs?.some((k) => /^bpf_(xdp_)?ct_/.test(k.name)));
  }

  mapsJson(opts?: DumpOptions): MapsJson {
    return mapsToJson(this.machine.maps, opts);
  }

  /** The maps as JSON with the record of maps whose dump was cut (`--dump-maps` asks for all of it). */
  mapsDump(opts?: DumpOptions): { maps: MapsJson; summarised: Record<string, MapSummary> } {
    return mapsDump(this.machine.maps, opts);
  }
}
