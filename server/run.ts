// Running an XDP program on a capture inside the language server: `xdpLens/run`, `xdpLens/packets`, `xdpLens/packet`.
//
// A run happens here, in the server process, in slices of a few milliseconds between which the event loop turns, so
// progress goes out, a cancellation comes in, and diagnostics and hovers keep flowing while a long capture runs. The
// result stays here in typed arrays (a few dozen bytes per packet, a million packets in tens of megabytes); the client
// pages through it. A packet's full detail (executed lines, bytes before and after, printk, map changes) is not kept:
// it is recomputed by running the same object on the same capture again from the first packet, with the same seed
// and clock, which gives exactly the same state, tracing only the packet asked for.
//
// Which line a packet "left" on: the return statement, found by the marked twin of simulator/return-lines.ts.
import { checksumBreaks } from '../simulator/analysis/checksum.ts';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { parseElf } from '../simulator/elf/elf64.ts';
import { parseDwarf } from '../simulator/elf/dwarf.ts';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { basename, dirname, extname, join } from 'node:path';
import { INPUT_LIMITS, readInputJson, readInputText } from '../simulator/input.ts';
import { compileShared } from './compiles.ts';
import { localPath } from './guard.ts';
import type { CancellationToken, Connection } from 'vscode-languageserver/node';
import { Session, XdpLensError, loadProgramFileWithObject, ACTIONS, type LoadOptions, type SessionOptions } from '../simulator/session.ts';
import { RefusalLog, kernelRefusals, refusalText, refusalsBeforeRun, type VerifierRefusal } from '../simulator/verifier-refusals.ts';
import { Driver, RxBatch, type DriverOptions, type DriverPacket } from '../simulator/driver/rx.ts';
import { PROFILES, DEFAULT_PROFILE, DRIVER_MODES, MAX_QUEUES, type DriverMode } from '../simulator/driver/profiles.ts';
import { OutputCaptures } from '../simulator/driver/output.ts';
import { rssQueueOf } from '../simulator/driver/rss.ts';
import { openCapture, packetWithTime, CaptureError, CaptureFeed, FRAME_LENGTH_NOTE, SNAP_LENGTH_NOTE, linkHeaderNote, madeHeaderText, XDP_MIN_FRAME, type CapturedPacket, type CaptureReader } from '../simulator/net/capture.ts';
import { TcpdumpCapture, findExecutable, interfaceProblem, liveCaptureName } from './live.ts';
import { summarize } from '../simulator/net/dissect.ts';
import { dissectTree } from '../simulator/net/dissect-tree.ts';
import { Worker } from 'node:worker_threads';
import { diffPrograms, fileAtRevision, formatDelta, formatDiffRow, formatDiffSummary, lineDeltas, type DiffOptions } from '../simulator/diff.ts';
import { compileFilter, filterError, formatFilterError, FilterError, namesRecordFields, recordFacts, recordTime, type Filter, type PacketFacts } from '../simulator/filter.ts';
import type { CompileOptions } from '../simulator/compile.ts';
import type { LoadedObject } from '../simulator/elf/types.ts';
import type { RunHooks } from '../simulator/vm/machine.ts';
import type { PerfRecord } from '../simulator/vm/types.ts';
import { hookMachine, markReturns, ReturnLines } from '../simulator/return-lines.ts';
import { RunWorker, warmSpare, type LineSource, type TwinPlan } from './run-worker.ts';
import { SummaryStore, RecordIndex } from './summary-store.ts';
import { PacketLog, CutRows, MadeHeaderRows, newVerdict, sharedColumn, NOT_RUN, NOT_RUN_REASONS, notRunCode, type Column, type ColumnType, type PacketVerdict } from './packet-log.ts';
import { entryText, formatMapUpdate, objectMapFormats, type MapFormat } from '../simulator/btf-format.ts';
import { runMaps, runMapsSeed, type RunMaps } from './maps.ts';
import { MapsRequest, MapsSeedRequest, type MapsParams, type MapsResult, type MapsSeedParams, type MapsSeedResult } from './protocol.ts';
import { RunStats, type RunStatsJson } from '../simulator/run-stats.ts';
import {
  RunRequest,
  RunLiveRequest,
  RunUpdateNotification,
  type RunLiveParams,
  type RunLiveInfo,
  PacketsRequest,
  CheckFilterRequest,
  DiffVerdictsRequest,
  type DiffVerdictsParams,
  type DiffVerdictsResult,
  type CheckFilterParams,
  type CheckFilterResult,
  PacketRequest,
  RunStatsRequest,
  type RunStatsParams,
  type RunStatsResult,
  type RunParams,
  type RunResponse,
  type RunSummary,
  type RunExit,
  type RunFault,
  type RunOutcomeIssue,
  type PacketsParams,
  type PacketsResult,
  type PacketRow,
  type RunPacketRow,
  type PacketParams,
  type PacketDetail,
  type OutputRecord,
  type MapUpdate,
  type XdpLensSettings,
  type XdpAction,
} from './protocol.ts';

/** What the run handlers need from the rest of the server. */
export interface RunHost {
  settingsFor(uri: string): Promise<XdpLensSettings>;
  /** clang, flags and include directories for a file, after compile_commands.json. */
  /** Compile options, plus the CO-RE target BTF (`btf`) from the settings. */
  compileOptions(path: string, settings: XdpLensSettings): LoadOptions;
  log(message: string): void;
}

/** Runs kept for paging and detail; older ones are dropped (the client then sees an error and offers a re-run). */
const KEEP_RUNS = 8;
/**
 * Work between two turns of the event loop. A request that comes in during a run takes a few turns to be answered (the
 * protocol library handles each message in a turn of its own): with 25 ms slices a hover took 75-80 ms during a run,
 * with 8 ms about 25 ms, for a few hundred turns more per second of run (bench/editor-run.mjs hoverMs).
 */
const SLICE_MS = 8;
/** The read buffer of a batched run (in the engine's memory): as `xdp-lens run`'s. */
const READ_BUFFER = 3 << 16;
const FIRST_FAULT_PACKETS = 10;
/** Executed-line entries reported for one packet (a long loop is cut, with a marker). */
const MAX_TRACE = 20000;

// ---------------------------------------------------------------------------------------------------------------
// Stored runs

export interface RunConfig {
  obj: LoadedObject;
  capture: string;
  /** Size and time of the capture as run; '' while a live run is still recording it. */
  captureStamp: string;
  program?: string;
  mode: DriverMode;
  profile: string;
  queues: number;
  limit: number;
  maxEntries?: Record<string, number>;
  /** The parsed `--maps` seed and the file it came from (named in seed errors). */
  maps?: unknown;
  mapsFile?: string;
  /** xdpLens.engine; a packet's detail re-run steps through the interpreter (same results). */
  engine?: 'interp' | 'compiled';
  /** The compiled object the run loaded (the debugger reads its DWARF). */
  objectPath?: string;
}

/** One run, compact: per-packet typed arrays and a few tables. */
interface StoredRun {
  summary: RunSummary;
  config: RunConfig;
  files: string[];
  paths: string[];
  faultKeys: string[];
  outcomes: string[];
  /** Index into outcomes. */
  outcome: Uint16Array;
  action: Uint8Array;
  retval: Uint32Array;
  file: Uint16Array;
  line: Uint32Array;
  path: Uint8Array;
  len: Uint32Array;
  /** Nanoseconds since the first packet. */
  time: Float64Array;
  /** Index into faultKeys + 1; 0 = no fault. */
  fault: Uint16Array;
  /** The rows of packets cut short by the snap length, and their captured lengths. */
  cut: CutRows;
  /** The rows of packets whose Ethernet header the capture did not hold. */
  made: MadeHeaderRows;
  /** The packets' summaries (live runs, streams, compressed captures), or where their records are (summaries of a page made on demand). */
  summaries?: SummaryStore;
  records?: RecordIndex;
  filterCache: Map<string, Uint32Array>;
  /** The pictures of the run (xdpLens/runStats). */
  stats: RunStatsJson;
  /** The C source as it was run, for "Compare Verdicts with... the previous run". */
  source?: string;
  /** The maps after the run and when it started (xdpLens/maps, server/maps.ts). */
  maps?: RunMaps;
}

const runs = new Map<string, StoredRun>();
let nextRun = 1;

/** Whether `a` holds the same bytes as `b` from `off` to its end (frames of tens to hundreds of bytes: no views made). */
function sameBytesAt(a: Uint8Array, b: Uint8Array, off: number): boolean {
  const n = a.length;
  if (n !== b.length - off) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

const ABORTED = ACTIONS.indexOf('XDP_ABORTED');
const DROP = ACTIONS.indexOf('XDP_DROP');
const PASS = ACTIONS.indexOf('XDP_PASS');
const TX = ACTIONS.indexOf('XDP_TX');
const REDIRECT = ACTIONS.indexOf('XDP_REDIRECT');

/** What `xdp-lens run` says of the packets it did not run because the capturing host sent them (its words). */
export const outgoingNote = (n: number): string =>
  `${n} ${n === 1 ? 'packet was' : 'packets were'} sent by the capturing host (outgoing: Linux cooked packet type 4, as \`tcpdump -i any\` records, or pcapng outbound) and not run, not counted: XDP runs only on received frames`;
/** The summary's count and note of the packets run that the snap length cut short (as `xdp-lens run` counts them). */
function snapLength(cut: CutRows, action: Uint8Array): Pick<RunSummary, 'truncated' | 'truncatedNote'> {
  const n = cut.n ? cut.ran(action) : 0;
  return n ? { truncated: n, truncatedNote: SNAP_LENGTH_NOTE(n, 'marked in the packets view') } : {};
}

/** The summary's count and note of the packets run with an Ethernet header the capture did not hold (as `xdp-lens run`). */
function madeHeaders(made: MadeHeaderRows, action: Uint8Array, rows: number, ran: number): Pick<RunSummary, 'ethernetHeaderMadeUp' | 'linkNote' | 'everyRowEthernetHeader'> {
  if (!made.n) return {};
  const byType = made.ran(action, rows);
  let n = 0;
  for (const c of byType.values()) n += c;
  const note = linkHeaderNote(byType, ran, 'marked in the packets view');
  const all = made.everyRow(rows);
  return n && note ? { ethernetHeaderMadeUp: n, linkNote: note, ...(all ? { everyRowEthernetHeader: madeHeaderText(all.linkType, all.origin) } : {}) } : {};
}

/** ACTIONS.indexOf(a) without a search per packet. */
function actionIndex(a: XdpAction): number {
  switch (a) {
    case 'XDP_ABORTED': return ABORTED;
    case 'XDP_DROP': return DROP;
    case 'XDP_PASS': return PASS;
    case 'XDP_TX': return TX;
    case 'XDP_REDIRECT': return REDIRECT;
  }
  return ACTIONS.indexOf(a);
}

/** Whether a packet's time is given as whole seconds (>= 0) and nanoseconds (below 10^9): then no BigInt is made. */
function numericTime(pkt: CapturedPacket): boolean {
  const sec = pkt.tsSec;
  const nanos = pkt.tsNanos;
  return sec !== undefined && nanos !== undefined && nanos < 1_000_000_000 && sec >= 0;
}

/** The server thread's own return-line twin as a run's line source: by seconds and nanoseconds when it can. */
class OwnLines implements LineSource {
  constructor(readonly lines: ReturnLines) {}
  lineFor(pkt: CapturedPacket, real: DriverPacket): number | undefined {
    return numericTime(pkt) ? this.lines.lineForAt(pkt.frame, pkt.tsSec!, pkt.tsNanos!, real) : this.lines.lineFor(pkt.frame, pkt.tsNs, real);
  }
  /** After lines.runBatch of the batch frame i is in: its line (ReturnLines.lineInBatch). */
  lineInBatch(i: number, real: DriverPacket): number | undefined {
    return this.lines.lineInBatch(i, real);
  }
  finish(): void {
    this.lines.finish();
  }
}

function captureStamp(path: string): string {
  const st = statSync(path);
  return `${st.size}:${st.mtimeMs}`;
}

function readSource(file: string): string | undefined {
  try {
    return readInputText(file, 'C source', INPUT_LIMITS.source);
  } catch {
    return undefined;
  }
}

const formatTime = (ns: number) => (ns / 1e9).toFixed(6);
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * A session and driver exactly as a run builds them: runs and detail re-runs must agree packet for packet. `reuse`: the
 * driver gives every packet the same DriverPacket, its bytes after the program a view (Driver `views`, `reuse`: the
 * same results, no object or copy per packet), for a caller done with each packet before the next (RunRecorder, the
 * return-line twin).
 */
export function build(config: RunConfig, reuse = false): { session: Session; driver: Driver } {
  const session = new Session(config.obj, { program: config.program, seed: 1, nrCpus: config.queues, maxEntries: config.maxEntries, maps: config.maps, mapsFile: config.mapsFile, engine: config.engine });
  const driver = new Driver(session, {
    mode: config.mode,
    profile: PROFILES[config.profile]!,
    queues: config.queues,
    queueOf: config.queues > 1 ? rssQueueOf : undefined,
    ...(reuse ? { views: true, reuse: true } : {}),
  });
  return { session, driver };
}

function nextPacket(reader: CaptureReader): CapturedPacket | CaptureError | undefined {
  try {
    return reader.next();
  } catch (e) {
    if (e instanceof CaptureError) return e;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// xdpLens/run and xdpLens/runLive: what comes before the first packet, the per-packet step, what comes after

/** The run options a capture run and a live run share. */
type RunOptions = Pick<RunParams, 'uri' | 'program' | 'driverMode' | 'profile' | 'queues' | 'maxEntries' | 'maps'>;

/** Everything a run needs before its first packet: the object, the session and driver, the twin for return lines. */
interface PreparedRun {
  path: string;
  config: RunConfig;
  session: Session;
  driver: Driver;
  /** The return lines of a run recorded on this thread: its own twin (a run's worker thread builds the same one). */
  returns?: OwnLines;
  /** How the twin was built (a worker builds the same one). */
  twin?: { source: string; compile: LoadOptions };
  refusals: RefusalLog;
  attributionNote?: string;
  compileMs: number;
  /** The C source as it was run (for Compare Verdicts with the previous run). */
  source?: string;
}

/**
 * Compile the return-line twin of `source` without blocking the server's thread, so that ReturnLines.create
 * (simulator/return-lines.ts buildTwin, which compiles it synchronously) finds its object in clang's cache: the marked
 * source written where buildTwin writes it, compiled with the options it uses. Should the two ever differ, buildTwin
 * compiles it as before; its failures are buildTwin's to report.
 */
async function warmTwin(path: string, source: string, c: LoadOptions, signal?: AbortSignal): Promise<void> {
  try {
    const dir = join(tmpdir(), 'xdp-lens-twins', createHash('sha1').update(path).digest('hex').slice(0, 16));
    const twinPath = join(dir, basename(path));
    mkdirSync(dir, { recursive: true });
    const marked = markReturns(source);
    if (readSource(twinPath) !== marked) writeFileSync(twinPath, marked);
    await compileShared(twinPath, { clang: c.clang, flags: c.flags, includeDirs: [dirname(path), ...(c.includeDirs ?? [])], cacheDir: c.cacheDir }, signal);
  } catch {
    /* buildTwin says what went wrong */
  }
}

/** The driver options of a run: the request's, else the settings'; a string says which one is wrong. */
function driverOptions(params: Pick<RunOptions, 'driverMode' | 'profile' | 'queues'>, settings: XdpLensSettings): { mode: DriverMode; profile: string; queues: number } | string {
  const mode = params.driverMode ?? settings.driver.mode;
  if (!DRIVER_MODES.includes(mode)) return `driver mode is one of ${DRIVER_MODES.join(', ')}, not '${mode}'`;
  const profile = params.profile ?? (settings.driver.profile || DEFAULT_PROFILE);
  if (!PROFILES[profile]) return `driver profile is one of ${Object.keys(PROFILES).join(', ')}, not '${profile}'`;
  // A page pool and a CPU per queue: 10^9 of them (a request or a setting) held the server for minutes in gigabytes.
  const queues = Math.max(1, Math.floor(params.queues ?? settings.driver.queues ?? 1));
  if (!(queues <= MAX_QUEUES)) return `RX queues are 1 to ${MAX_QUEUES}, not ${params.queues ?? settings.driver.queues}`;
  return { mode, profile, queues };
}

/**
 * Ahead of a run (server.ts, after the analysis on open and on save of an XDP program): the return-line twin of the
 * file as saved compiled, and a spare worker thread (run-worker.ts) with that twin built for a run with the settings'
 * options, so that the next "Run on Capture" starts on its first packet at once (on a big capture the twin and the
 * worker's start were a few hundred milliseconds before the run had all it needed). A run with other options, or of
 * a file changed since, builds what it needs as before.
 */
export async function warmRun(uri: string, source: string, host: RunHost, signal?: AbortSignal): Promise<void> {
  const path = localPath(uri);
  if (path === undefined || extname(uri) !== '.c' || !/\breturn\b/.test(source)) return;
  const settings = await host.settingsFor(uri);
  const d = driverOptions({}, settings);
  if (typeof d === 'string') return;
  const compile = host.compileOptions(path, settings);
  await warmTwin(path, source, compile, signal);
  if (signal?.aborted || !RUN_WORKER_SCRIPT || process.env.XDP_LENS_RUN_WORKER === 'never') return;
  const config = { capture: '', captureStamp: '', mode: d.mode, profile: d.profile, queues: d.queues, limit: 0, engine: settings.engine };
  try {
    warmSpare(RUN_WORKER_SCRIPT, { twin: { path, source, compile }, config }, host.log);
  } catch (e) {
    host.log(`run: no spare worker thread (${(e as Error).message})`);
  }
}

/** Compile, load and build the session for a run on `capture`; an error when any of it fails. */
async function prepareRun(
  params: RunOptions,
  capture: string,
  stamp: string,
  limit: number,
  host: RunHost,
  token: CancellationToken,
  /** Called with the return-line twin's plan as soon as it is known (a run's worker can build it meanwhile). */
  twinPlan?: (plan: TwinPlan) => void,
): Promise<PreparedRun | { error: string }> {
  const path = localPath(params.uri);
  if (path === undefined) return { error: 'only files on disk can be run' };
  const settings = await host.settingsFor(params.uri);
  const d = driverOptions(params, settings);
  if (typeof d === 'string') return { error: d };
  const { mode, profile, queues } = d;

  let obj: LoadedObject;
  let objectPath: string;
  const tc = performance.now();
  {
    // clang runs without blocking the server, and cancelling the run kills it with everything it started; the load
    // below then finds the object in the cache.
    const c = host.compileOptions(path, settings);
    if (extname(path) === '.c') {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      // The return-line twin compiles at the same time, on the other core (after an edit both must).
      const text = readSource(path);
      const twin = text !== undefined && /\breturn\b/.test(text) ? warmTwin(path, text, c, abort.signal) : undefined;
      let pre: Awaited<ReturnType<typeof compileShared>>;
      try {
        pre = await compileShared(path, { clang: c.clang, flags: c.flags, includeDirs: c.includeDirs, cacheDir: c.cacheDir, clangSetting: 'xdpLens.clang.path' }, abort.signal);
        await twin;
      } finally {
        sub.dispose();
      }
      if (token.isCancellationRequested) return { error: 'cancelled while compiling' };
      const errors = pre.diagnostics.filter((d) => d.severity === 'error');
      if (!pre.objectPath || errors.length)
        return { error: `cannot compile ${path}:\n${errors.map((d) => `${d.file}:${d.line}:${d.column}: error: ${d.message}`).join('\n') || pre.stderr.trim() || 'clang failed'}` };
    }
  }
  try {
    const c = host.compileOptions(path, settings);
    ({ object: obj, objectPath } = loadProgramFileWithObject(path, { clang: c.clang, flags: c.flags, includeDirs: c.includeDirs, cacheDir: c.cacheDir, btf: c.btf }));
    for (const n of obj.notes ?? []) host.log(`run: note: ${n}`);
    host.log(
      `run: ${c.clang ?? 'clang'} -O2 -g -target bpf ${[...(c.includeDirs ?? []).map((d) => `-I ${d}`), ...(c.flags ?? [])].join(' ')} -c ${path}` +
        ` (${(performance.now() - tc).toFixed(0)} ms, cached objects are reused)`,
    );
  } catch (e) {
    if (e instanceof XdpLensError) return { error: e.message };
    throw e;
  }
  const compileMs = performance.now() - tc;
  const me = params.maxEntries;
  if (me !== undefined && (me === null || typeof me !== 'object' || Array.isArray(me) ||
    Object.values(me).some((n) => !Number.isInteger(n) || (n as number) < 1 || (n as number) > 0xffffffff))) {
    return { error: 'maxEntries must map map names to whole numbers from 1 to 4294967295' };
  }
  let maps: unknown;
  if (params.maps !== undefined) {
    if (typeof params.maps !== 'string' || params.maps === '') return { error: 'maps must be the path of a --maps JSON file' };
    try {
      maps = readInputJson(params.maps, 'map seed', INPUT_LIMITS.maps);
    } catch (e) {
      return { error: `cannot use the map seed ${params.maps}: ${(e as Error).message}` };
    }
  }
  const config: RunConfig = { obj, capture, captureStamp: stamp, program: params.program, mode, profile, queues, limit, maxEntries: me, maps, mapsFile: params.maps, engine: settings.engine, objectPath };
  if (twinPlan) {
    const text = readSource(path);
    const { obj: _obj, ...rest } = config;
    if (text !== undefined && /\breturn\b/.test(text)) twinPlan({ twin: { path, source: text, compile: host.compileOptions(path, settings) }, config: rest });
  }
  let session: Session;
  let driver: Driver;
  try {
    ({ session, driver } = build(config, true));
  } catch (e) {
    if (e instanceof XdpLensError) return { error: e.message };
    throw e;
  }
  for (const n of session.notes) host.log(`run: note: ${n}`);
  // What the kernel verifier would refuse: the run goes on, and the summary says so (the editor shows it first).
  const before: VerifierRefusal[] = refusalsBeforeRun(obj, session.program, session.machine, objectPath);
  if (settings.kernelVerifier) {
    const k = kernelRefusals(objectPath, path, session.program.name);
    if (k.skipped) host.log(`run: the kernel verifier was not asked: ${k.skipped}`);
    before.push(...k.refusals);
  }
  const refusals = new RefusalLog(before);
  for (const r of refusals.list) host.log(`run: the kernel would refuse this program: ${refusalText(r)}`);
  // The twin that finds return lines; a run without it credits packets to the exit instruction.
  let returns: OwnLines | undefined;
  let twin: PreparedRun['twin'];
  let attributionNote: string | undefined;
  const source = readSource(path);
  if (source !== undefined && /\breturn\b/.test(source)) {
    const twinCompile = host.compileOptions(path, settings);
    const t = ReturnLines.create(path, source, twinCompile, (o) => build({ ...config, obj: o }, true), { oneRun: true });
    if (typeof t === 'string') attributionNote = `return lines unavailable, packets are shown at the exit instruction: ${t}`;
    else {
      returns = new OwnLines(t);
      twin = { source, compile: twinCompile };
    }
  }
  if (attributionNote) host.log(attributionNote);
  return { path, config, session, driver, returns, twin, refusals, attributionNote, compileMs, source };
}

/**
 * A stale checksum (stale-checksum at run time): a packet sent on whose valid checksum the program broke. A packet the
 * program left as it came cannot have had a checksum broken: the common case, decided first.
 */
function staleChecksum(frame: Uint8Array, r: DriverPacket, action: number): PacketVerdict['stale'] {
  // The same array: a batched packet the program left as it was (Driver.receiveBatch).
  if (r.out === frame || r.fault || !(action === PASS || action === TX || action === REDIRECT) || sameBytesAt(frame, r.out, r.metaLen)) return undefined;
  const broken = checksumBreaks(frame, r.out.subarray(r.metaLen), true); // the bytes differ (sameBytesAt)
  if (!broken.length) return undefined;
  return {
    outcome: `stale checksum: ${broken.map((b) => b.layer).join(', ')}`,
    note: `valid on arrival, stale after the program's changes (${broken.map((b) => `${b.layer} ${b.after}, should be ${b.expected}`).join('; ')}): the stack or the next hop drops such packets`,
  };
}

/**
 * The per-packet step of every run: the program and the driver run here, and what they did is recorded in a PacketLog
 * (server/packet-log.ts) here or, on a big capture, in the run's worker thread (`remote`, server/run-worker.ts), which
 * hands its log over when the run ends (`adopt`). A capture run and a live run differ only in where their packets
 * come from.
 */
class RunRecorder {
  /** The run's bookkeeping: here, or (a remote run, once adopted) the worker's. */
  log: PacketLog;
  /** The records' offsets ('index' summaries). */
  readonly records = new RecordIndex();
  /** The rows of packets the capture's snap length cut short (a branch per packet read; a push per such packet). */
  readonly cut = new CutRows();
  /** The rows of packets whose Ethernet header the capture did not hold (a compare per packet read). */
  readonly made = new MadeHeaderRows();
  private readonly verdict = newVerdict();
  /** A remote run: the packets sent and the counts its progress line shows, kept here too. */
  private sent = 0;
  private sentOutgoing = 0;
  private readonly actionCounts = new Float64Array(ACTIONS.length);
  private readonly outcomeCounts = new Map<string, { n: number }>();
  private lastOutcome = '';
  private lastOutcomeCount = { n: 0 };
  /** The maps before the first packet (after seeding): what the maps view marks changes against. */
  private mapsStart!: ReturnType<Session['mapsJson']>;

  constructor(
    private readonly prep: PreparedRun,
    private readonly outputs?: OutputCaptures,
    /**
     * The packets' summaries: made here, by the run's worker thread (run-worker.ts), or made when a page of the
     * packets view asks, from the records' offsets kept here ('index': a capture file that can be read by position).
     */
    private readonly summaries: 'here' | 'worker' | 'index' = 'here',
    /** The run's worker thread, which keeps the log. */
    private remote?: RunWorker,
  ) {
    this.mapsStart = prep.session.mapsJson();
    this.log = new PacketLog(prep.path);
  }

  /** The packets recorded: those run and those listed as not run (outgoing); a row each, by capture number. */
  get packets(): number {
    return this.remote ? this.sent : this.log.packets;
  }

  /** The packets run (the summary's `packets`, what a limit counts). */
  get ran(): number {
    return this.remote ? this.sent - this.sentOutgoing : this.log.ran;
  }

  get byAction(): Record<XdpAction, number> {
    if (!this.remote) return this.log.byAction;
    return Object.fromEntries(ACTIONS.map((a, k) => [a, this.actionCounts[k]!])) as Record<XdpAction, number>;
  }

  /** Packets per outcome, in the order the outcomes were first seen. */
  get byOutcome(): Map<string, number> {
    return this.remote ? new Map([...this.outcomeCounts].map(([o, c]) => [o, c.n])) : this.log.byOutcome;
  }

  /** Whether settling a packet reads the bytes of one the program left as it was (its summary made here, output captures). */
  get needsFrames(): boolean {
    return this.outputs !== undefined || this.summaries === 'here';
  }

  /** Packets read: each a row of the run (recorded at once, or once its batch has run). */
  private read = 0;
  /** The index in its batch of the batched packet being settled (its line: OwnLines.lineInBatch), else -1. */
  batchAt = -1;

  /** A packet read (before it runs, batched or not): the records' offsets kept every RecordIndex.EVERY packets. */
  note(pkt: CapturedPacket, reader?: CaptureReader): void {
    if (this.summaries === 'index' && this.read % RecordIndex.EVERY === 0) this.records.push(reader!.recordOffset, reader!.context);
    if (pkt.truncated) this.cut.push(this.read, pkt.capLen);
    if (pkt.ethernetHeader !== undefined || this.made.n !== 0) this.made.note(this.read, pkt);
    this.read++;
  }

  /** Run one packet through the program and the driver, and record what happened (`note` first). */
  packet(pkt: CapturedPacket): void {
    const driver = this.prep.driver;
    const remote = this.remote;
    const notRun = notRunCode(pkt);
    if (notRun >= 0) {
      // Sent by the capturing host, or a length no NIC hands XDP (shorter than an Ethernet header, longer than
      // BPF_PROG_TEST_RUN takes): XDP never sees it (as `xdp-lens run`). A row at its place, nothing run or counted.
      if (remote) {
        remote.sendOutgoing(pkt.wireLen);
        this.sent++;
        this.sentOutgoing++;
        return;
      }
      this.log.outgoingRow(pkt.wireLen, this.log.timeOf(pkt), notRun);
      if (this.summaries === 'here') this.log.cols.summaries.push(summarize(pkt.frame));
      return;
    }
    // By seconds and nanoseconds when the reader gives them (no BigInt per packet; the same run as by tsNs).
    const r = numericTime(pkt) ? driver.receiveAt(pkt.frame, pkt.tsSec!, pkt.tsNanos!) : driver.receive(pkt.frame, pkt.tsNs);
    this.settled(pkt, r);
  }

  /**
   * Record what the program and the driver did with a packet (`packet`, or Driver.receiveBatch: then `pkt.frame` and
   * `r.out` are both NO_FRAME for a packet left as it was when the run needs no bytes of those, see runCapture).
   */
  settled(pkt: CapturedPacket, r: DriverPacket): void {
    const returns = this.prep.returns;
    const remote = this.remote;
    this.outputs?.write(pkt, r);
    const v = this.verdict;
    const action = actionIndex(r.action);
    v.action = action;
    v.retval = r.retval;
    v.path = r.path;
    v.outcome = r.outcome;
    v.note = r.note;
    v.fault = r.fault;
    const exit = r.run.exitLoc;
    v.exitFile = exit?.file;
    v.exitLine = exit ? exit.line : 0;
    v.queue = r.queue;
    v.uninitStackRead = !!r.run.uninitStackRead;
    v.stale = staleChecksum(pkt.frame, r, action);
    this.prep.refusals.fault(r.fault);
    if (remote) {
      remote.send(v, pkt.wireLen);
      this.sent++;
      this.actionCounts[action]++;
      // Most packets end as the packet before did: no keyed lookup for them.
      if (r.outcome === this.lastOutcome) this.lastOutcomeCount.n++;
      else {
        let c = this.outcomeCounts.get(r.outcome);
        if (!c) this.outcomeCounts.set(r.outcome, (c = { n: 0 }));
        c.n++;
        this.lastOutcome = r.outcome;
        this.lastOutcomeCount = c;
      }
      return;
    }
    const returnLine = returns === undefined ? undefined : this.batchAt >= 0 ? returns.lineInBatch(this.batchAt, r) : returns.lineFor(pkt, r);
    this.log.record(pkt.index, pkt.wireLen, this.log.timeOf(pkt), v, returnLine);
    if (this.summaries === 'here') this.log.cols.summaries.push(summarize(pkt.frame));
  }

  /** Room for the next packet (a remote run: the worker's ring is not full); false: let the event loop turn first. */
  room(until: number, ahead = 0): boolean {
    return this.remote ? this.remote.room(until, ahead) : true;
  }

  /** The packets recorded so far are made visible to the worker (before the event loop turns). */
  flush(): void {
    this.remote?.flush();
  }

  /** A remote run: the log the worker kept (and the summaries it made) replace this thread's. */
  adopt(log: PacketLog, summaries?: SummaryStore): void {
    this.log = log;
    if (summaries) log.cols.summaries = summaries;
    this.remote = undefined;
  }

  /** After the last packet. */
  finish(): void {
    this.prep.driver.finish();
    this.prep.returns?.finish();
    this.outputs?.close();
  }

  /** The summary so far (a live run sends it while it goes on); `extra` adds how the run ended. */
  summary(runId: string, uri: string, t0: number, extra: Pick<RunSummary, 'captureError' | 'cancelled' | 'live'> = {}): RunSummary {
    const { session, driver, config, refusals, attributionNote } = this.prep;
    const log = this.log;
    const { outcomeIssues, exits, faults, uninitStackReads } = log.summaryParts();
    return {
      runId,
      uri,
      file: this.prep.path,
      capture: config.capture,
      program: session.program.name,
      section: session.program.section,
      driver: { mode: config.mode, profile: config.profile, queues: config.queues },
      packets: log.ran,
      byAction: { ...log.byAction },
      byOutcome: Object.fromEntries([...log.byOutcome].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
      outcomeIssues,
      exits,
      faults,
      counters: driver.stats(),
      ...(this.outputs ? { outputs: this.outputs.files() } : {}),
      ...(extra.captureError ? { captureError: extra.captureError } : {}),
      ...(extra.cancelled ? { cancelled: true } : {}),
      ...(attributionNote ? { attributionNote } : {}),
      ...(refusals.list.length ? { verifierRefuses: refusals.json() } : {}),
      ...(uninitStackReads ? { uninitStackReads } : {}),
      ...(log.outgoing > log.lengthNotRun ? { outgoingNotRun: log.outgoing - log.lengthNotRun, outgoingNote: outgoingNote(log.outgoing - log.lengthNotRun) } : {}),
      ...(log.lengthNotRun ? { lengthNotRun: log.lengthNotRun, lengthNote: FRAME_LENGTH_NOTE(log.lengthNotRun) } : {}),
      ...snapLength(this.cut, log.cols.action),
      ...madeHeaders(this.made, log.cols.action, log.cols.n, log.ran),
      ...(extra.live ? { live: extra.live } : {}),
      durationMs: Math.round(performance.now() - t0),
      compileMs: Math.round(this.prep.compileMs),
    };
  }

  /**
   * The run as the server keeps it for paging and detail. `final` copies the columns to their length; a live run's
   * intermediate views share them (the columns only grow, and a view never reads past its own length).
   */
  stored(summary: RunSummary, final: boolean): StoredRun {
    const c = this.log.cols;
    const n = c.n;
    // A final view copies a column only when that frees more than a fifth of it (a copy of a million-packet run's
    // columns was a tenth of a second at its end).
    const cut = <T extends Column>(a: T): T =>
      (final && a.length - n > a.length / 5 ? sharedColumn(a.constructor as ColumnType<T>, n, a.subarray(0, n) as T) : a.subarray(0, n)) as T;
    const t = this.log.tables();
    return {
      summary,
      config: this.prep.config,
      files: t.files,
      paths: t.paths,
      faultKeys: t.faultKeys,
      outcomes: t.outcomes,
      outcome: cut(c.outcome),
      action: cut(c.action),
      retval: cut(c.retval),
      file: cut(c.file),
      line: cut(c.line),
      path: cut(c.path),
      len: cut(c.len),
      time: cut(c.time),
      fault: cut(c.fault),
      cut: this.cut,
      made: this.made,
      ...(this.summaries === 'index' ? { records: final ? this.records.trim() : this.records } : { summaries: final ? c.summaries.trim() : c.summaries }),
      filterCache: new Map(),
      stats: this.log.statsJson(),
      source: this.prep.source,
      maps: { obj: this.prep.config.obj, session: this.prep.session, start: this.mapsStart },
    };
  }
}

/** Keep a run for paging and detail (replacing a live run's earlier view), dropping the oldest beyond KEEP_RUNS. */
function keepRun(runId: string, run: StoredRun): void {
  runs.set(runId, run);
  while (runs.size > KEEP_RUNS) {
    const oldest = runs.keys().next().value!;
    runs.delete(oldest);
  }
}

export async function runCapture(params: RunParams, host: RunHost, token: CancellationToken, progress?: { report(pct: number, msg: string): void }): Promise<RunResponse> {
  const t0 = performance.now();
  if (!params.uri.startsWith('file:')) return { error: 'only files on disk can be run' };
  const limit = params.limit !== undefined && params.limit >= 0 ? params.limit : Infinity;

  let size: number;
  let stamp: string;
  let regularFile: boolean;
  try {
    const st = statSync(params.capture);
    if (st.isDirectory()) return { error: `${params.capture}: is a directory, not a capture file` };
    size = st.size;
    regularFile = st.isFile();
    stamp = `${st.size}:${st.mtimeMs}`;
  } catch (e) {
    return { error: `cannot read capture ${params.capture}: ${(e as Error).message}` };
  }
  // A run's worker on a big capture: started now, it loads while the program compiles, and builds the twin while this
  // thread builds the run (without a spare ready for this text, after an edit, its start was the run's wait).
  const early = regularFile && RUN_WORKER_SCRIPT && willUseWorker(size) ? RUN_WORKER_SCRIPT : undefined;
  if (early) {
    try {
      warmSpare(early, undefined, host.log);
    } catch {
      /* runWorker starts one */
    }
  }
  const prep = await prepareRun(params, params.capture, stamp, limit, host, token, early ? (plan) => {
    try {
      warmSpare(early, plan, host.log);
    } catch {
      /* runWorker starts one */
    }
  } : undefined);
  if ('error' in prep) return prep;

  // Frames of a regular file run in batches through Machine.runBatch (Driver.receiveBatch, as `xdp-lens run` runs
  // them) when the driver and program allow it, and so does this thread's return-line twin (ReturnLines.runBatch; a
  // run with a worker has the same twin there): the same results, in the same order, as one by one.
  const batched = regularFile && prep.driver.batchable() && (prep.returns === undefined || prep.returns.lines.batchable());
  let reader: CaptureReader;
  try {
    // Each packet is recorded before the next is read: frames are views of the reader's buffer, not copies, and each
    // Ethernet record refills the same packet object (`reuse`; its tsNs, a BigInt, is made only when read: the run goes
    // by tsSec and tsNanos). Batched: the reader reads into the machine's packet memory and leaves an Ethernet pcap
    // record's frame where it is (inPlace): a batch is the reader's buffer and the frames' offsets in it.
    reader = openCapture(params.capture, { views: true, reuse: true, inPlace: batched, buffer: batched ? prep.session.machine.packetBuffer(READ_BUFFER) : undefined });
  } catch (e) {
    if (e instanceof CaptureError) return { error: e.message };
    throw e;
  }
  // Summaries made when a page asks, from the records' offsets: a capture file read by position.
  const byIndex = regularFile && reader.seekable;
  // A second reader of the capture: only on a regular file (a pipe or FIFO would split its packets between the two).
  const worker = regularFile ? runWorker(prep, size, host, !byIndex) : undefined;
  const rec = new RunRecorder(prep, params.outDir ? new OutputCaptures(params.outDir) : undefined, byIndex ? 'index' : worker ? 'worker' : 'here', worker);
  let bytesRead = 24;
  let captureError: string | undefined;
  let cancelled = false;
  let lastPct = -1;
  let nextReport = 0;
  // A batch over the reader's buffer (frames in place: an Ethernet pcap), else none (one packet at a time).
  const inPlace = batched && reader.inPlace;
  const batch = inPlace ? new RxBatch(reader.buffer, 256) : undefined;
  const frameMax = batch ? prep.driver.batchFrameMax() : 0;
  // Views of frames the program left as they were only for what reads their bytes (the packets' summaries made here,
  // output captures); else those packets' frame and out are both NO_FRAME (Driver.receiveBatch `frames`).
  const views = rec.needsFrames;
  // Per frame of the batch, what its packet record said (the reader's packet object is refilled by the next read).
  const nb = batch?.offset.length ?? 0;
  const bIndex = new Float64Array(nb);
  const bWire = new Float64Array(nb);
  const bTrunc = new Uint8Array(nb);
  // (packetWithTime, not an object literal with a getter: V8 gives that dictionary properties, slow to refill per packet.)
  const bp = packetWithTime(
    { index: 0, frame: new Uint8Array(0), capLen: 0, wireLen: 0, truncated: false, linkType: 1, interfaceId: 0, tsSec: 0, tsNanos: 0 },
    (p) => BigInt(p.tsSec!) * 1_000_000_000n + BigInt(p.tsNanos!),
  );
  const lines = prep.returns?.lines;
  const runBatch = (): void => {
    const b = batch!;
    if (b.count === 0) return;
    if (!worker) lines?.runBatch(b);
    prep.driver.receiveBatch(b, (i, r, frame) => {
      bp.index = bIndex[i]!;
      bp.frame = frame;
      bp.capLen = b.length[i]!;
      bp.wireLen = bWire[i]!;
      bp.truncated = bTrunc[i] === 1;
      bp.tsSec = b.sec[i]!;
      bp.tsNanos = b.nanos[i]!;
      rec.batchAt = i;
      rec.settled(bp, r);
    }, views);
    rec.batchAt = -1;
  };

  try {
    for (let done = false; !done; ) {
      if (token.isCancellationRequested) {
        cancelled = true;
        break;
      }
      const failed = worker?.failure();
      if (failed) throw new Error(failed);
      const sliceEnd = performance.now() + SLICE_MS;
      // (The clock read every 16 packets: a read per packet was a measurable part of a small program's run.)
      for (let k = 1; (k & 15) !== 0 || performance.now() < sliceEnd; k++) {
        const pending = batch !== undefined ? batch.count : 0;
        if (rec.ran + pending >= limit) {
          done = true;
          break;
        }
        // The worker is a ring behind: the event loop turns while it catches up (a batch is sent at once).
        if (!rec.room(sliceEnd, pending + 1)) {
          if (pending === 0) break;
          runBatch();
          if (!rec.room(sliceEnd)) break;
        }
        // Frames in place stay where they are only while the reader reads nothing more into its buffer.
        if (inPlace && batch!.count !== 0 && !reader.ready()) runBatch();
        const pkt = nextPacket(reader);
        if (pkt instanceof CaptureError) {
          captureError = pkt.message;
          done = true;
          break;
        }
        if (!pkt) {
          done = true;
          break;
        }
        bytesRead += 16 + pkt.capLen;
        rec.note(pkt, reader);
        if (batch !== undefined) {
          const at = reader.frameAt;
          const len = pkt.capLen;
          if (at >= 0 && numericTime(pkt) && !pkt.outgoing && len <= frameMax && len >= XDP_MIN_FRAME) {
            if (!batch.room(len)) runBatch();
            // The reader's buffer is another array after a record larger than it: the batch (empty then) follows it.
            if (batch.bytes !== reader.buffer) {
              runBatch();
              batch.bytes = reader.buffer;
            }
            const i = batch.addAt(at, len, pkt.tsSec!, pkt.tsNanos!);
            bIndex[i] = pkt.index;
            bWire[i] = pkt.wireLen;
            bTrunc[i] = pkt.truncated ? 1 : 0;
            continue;
          }
          runBatch();
          // Not batched: its frame as an array.
          if (at >= 0) pkt.frame = reader.frameView();
        }
        rec.packet(pkt);
      }
      if (batch !== undefined) runBatch();
      rec.flush();
      // The counts so far go with each report (as a live run's do), so they show long before a big capture is done.
      const pct = Math.min(99, Math.floor((bytesRead / Math.max(1, size)) * 100));
      const now = performance.now();
      if (progress && (pct !== lastPct || now >= nextReport)) {
        progress.report(pct, liveCounts(rec));
        lastPct = pct;
        nextReport = now + LIVE_UPDATE_MS;
      }
      if (!done) await yieldToLoop();
    }
  } catch (e) {
    worker?.end();
    throw e;
  } finally {
    reader.close();
    rec.finish();
  }
  let workerNote = '';
  // A spare worker for the next run, started once this one is done with the cores (run-worker.ts warmSpare).
  if (worker && RUN_WORKER_SCRIPT) {
    const twin = prep.twin ? { path: prep.path, source: prep.twin.source, compile: prep.twin.compile } : undefined;
    const { obj: _obj, ...config } = prep.config;
    setTimeout(() => {
      try {
        warmSpare(RUN_WORKER_SCRIPT, twin && { twin, config }, host.log);
      } catch {
        /* the next run starts a worker of its own */
      }
    }, 500).unref();
  }
  if (worker) {
    const kept = await worker.finish(rec.packets);
    if (typeof kept === 'string') throw new Error(kept);
    rec.adopt(kept.log, kept.summaries);
    workerNote = `; packets recorded${prep.twin ? ', return lines' : ''}${kept.summaries ? ', summaries' : ''} in the run's worker thread${worker.builtAhead ? ' (its twin built ahead)' : ''}`;
  }

  // How the return lines came (ReturnLines.how), from the worker's twin or this thread's.
  const how = prep.twin ? (worker ? worker.twinHow : prep.returns?.lines.how) : undefined;
  if (how) workerNote += `; return lines ${HOW_NOTE[how]}`;
  const runId = `run-${nextRun++}`;
  const summary = rec.summary(runId, params.uri, t0, { captureError, cancelled });
  keepRun(runId, rec.stored(summary, true));
  host.log(`run ${runId}: ${prep.path} on ${params.capture}: ${rec.ran} packets in ${summary.durationMs} ms (compile ${summary.compileMs} ms)${cancelled ? ', cancelled' : ''}${inPlace ? ', run in batches' : ''}${workerNote}`);
  return { summary };
}

/**
 * Captures from this size on have a worker thread (run-worker.ts: the bookkeeping, the return-line twin, the packets'
 * summaries). XDP_LENS_RUN_WORKER=never: never; a number N: on any capture, with a ring of N packets (0: the usual
 * size; a small ring has the two threads wait for each other often: tests).
 */
const RUN_WORKER_BYTES = 2 * 1024 * 1024;
/** The run log's words for ReturnLines.how. */
const HOW_NOTE = {
  twin: 'by the twin beside every packet',
  settled: 'from the actions alone (the twin never ran)',
  demand: 'from the actions, the twin run only for packets whose action leaves the line open',
} as const;
const RUN_WORKER_SCRIPT = RunWorker.script(__dirname);

/** Whether a capture run on a regular file of `size` bytes has a worker thread. */
function willUseWorker(size: number): boolean {
  const when = process.env.XDP_LENS_RUN_WORKER;
  return !!RUN_WORKER_SCRIPT && when !== 'never' && (size >= RUN_WORKER_BYTES || (!!when && /^\d+$/.test(when)));
}

/** Start a capture run's worker; undefined when not used. */
function runWorker(prep: PreparedRun, size: number, host: RunHost, summaries: boolean): RunWorker | undefined {
  const when = process.env.XDP_LENS_RUN_WORKER;
  const ring = when && /^\d+$/.test(when) ? Number(when) : undefined;
  if (!RUN_WORKER_SCRIPT || !willUseWorker(size)) return undefined;
  const { obj: _obj, ...config } = prep.config;
  try {
    return RunWorker.start(RUN_WORKER_SCRIPT, { path: prep.path, ...(prep.twin ? { twin: { path: prep.path, source: prep.twin.source, compile: prep.twin.compile } } : {}), summaries, config, ...(ring ? { ring } : {}) });
  } catch (e) {
    host.log(`run: no worker thread, everything runs on the server's thread (${(e as Error).message})`);
    return undefined;
  }
}

/** Counts per action and outcome, for the progress line of a run (a capture run and a live run). */
function liveCounts(rec: RunRecorder): string {
  const n = (k: number) => k.toLocaleString('en-US');
  const actions = ACTIONS.filter((a) => rec.byAction[a]).map((a) => `${n(rec.byAction[a]!)} ${a.slice(4)}`);
  // Only outcomes with a reason ("dropped: no redirect target"): "passed" beside PASS says it again.
  const outcomes = [...rec.byOutcome].filter(([o]) => o.includes(':')).sort((a, b) => b[1] - a[1]).map(([o, k]) => `${n(k)} ${o}`);
  return `${n(rec.ran)} packet${rec.ran === 1 ? '' : 's'}${actions.length ? `: ${actions.join(', ')}` : ''}${outcomes.length ? ` · ${outcomes.join(', ')}` : ''}`;
}

/** How often a live run reports its counts and sends its summary so far. */
const LIVE_UPDATE_MS = 500;
/** Unread bytes from tcpdump at which its output is paused until the run catches up. */
const LIVE_HIGH_WATER = 8 * 1024 * 1024;
/** Live captures kept in their directory; older ones are deleted. */
const KEEP_LIVE_CAPTURES = 8;

/**
 * xdpLens/runLive: tcpdump captures, its output is fed to a CaptureFeed as it comes, each packet runs as it is
 * complete, and the records are teed into a pcap file that is the run's capture. Ends when the user stops it (the
 * request is cancelled), a limit is reached, tcpdump ends, or its output is broken.
 */
export async function runLive(
  params: RunLiveParams,
  host: RunHost,
  token: CancellationToken,
  progress?: { report(msg: string): void },
  update?: (summary: RunSummary) => void,
): Promise<RunResponse> {
  const t0 = performance.now();
  if (!params.uri.startsWith('file:')) return { error: 'only files on disk can be run' };
  const badIface = interfaceProblem(params.interface);
  if (badIface) return { error: badIface };
  const settings = await host.settingsFor(params.uri);
  const filter = (params.filter ?? settings.live.filter).trim();
  const limit = params.limit !== undefined && params.limit > 0 ? params.limit : settings.live.maxPackets;
  const maxBytes = Math.floor(settings.live.maxCaptureMB * 1024 * 1024);
  const tcpdump = findExecutable(settings.tcpdump.path);
  if (typeof tcpdump !== 'string') return { error: tcpdump.error };

  const dir = params.captureDir ?? join(tmpdir(), `xdp-lens-live-${process.getuid?.() ?? 'user'}`);
  let file: string;
  let fd: number;
  try {
    mkdirSync(dir, { recursive: true });
    file = join(dir, liveCaptureName(params.interface));
    fd = openSync(file, 'wx', 0o600); // a new file: never one that is there already (nor a symlink planted in its place)
  } catch (e) {
    return { error: `cannot create the file the live capture is recorded into, in ${dir}: ${(e as Error).message}` };
  }
  let prep: PreparedRun | { error: string };
  try {
    prep = await prepareRun(params, file, '', limit, host, token);
  } catch (e) {
    closeSync(fd);
    rmSync(file, { force: true });
    throw e;
  }
  if ('error' in prep) {
    closeSync(fd);
    rmSync(file, { force: true });
    return prep;
  }

  const capture = new TcpdumpCapture(tcpdump, params.interface, filter);
  const live: RunLiveInfo = { interface: params.interface, ...(filter ? { filter } : {}), command: capture.commandLine };
  host.log(`run live: ${capture.commandLine} (recorded into ${file})`);
  const name = `tcpdump -i ${params.interface}`;
  const feed = new CaptureFeed(name, {
    tee: (b) => {
      try {
        writeSync(fd, b);
      } catch (e) {
        throw new CaptureError(name, feed.offset, `cannot record the traffic into ${file}: ${(e as Error).message}`);
      }
    },
  });
  const rec = new RunRecorder(prep, params.outDir ? new OutputCaptures(params.outDir) : undefined);
  const runId = `run-${nextRun++}`;
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let captureError: string | undefined;
  let stopped: string | undefined;
  const cancel = token.onCancellationRequested(wakeUp);
  capture.start({
    data: (chunk) => {
      try {
        feed.push(chunk);
      } catch (e) {
        if (!(e instanceof CaptureError)) throw e;
        captureError ??= e.message;
      }
      if (feed.buffered > LIVE_HIGH_WATER) capture.pause();
      wakeUp();
    },
    end: () => {
      feed.end();
      wakeUp();
    },
  });

  const publish = () => {
    const s = rec.summary(runId, params.uri, t0, { live: { ...live, running: true } });
    keepRun(runId, rec.stored(s, false));
    progress?.report(liveCounts(rec));
    update?.(s);
  };
  let nextUpdate = performance.now() + LIVE_UPDATE_MS;
  try {
    publish();
    for (;;) {
      if (token.isCancellationRequested) {
        stopped = 'stopped by the user';
        break;
      }
      if (captureError) break;
      let got = 0;
      const sliceEnd = performance.now() + SLICE_MS;
      while (performance.now() < sliceEnd) {
        let pkt: CapturedPacket | undefined;
        try {
          pkt = feed.next();
        } catch (e) {
          if (!(e instanceof CaptureError)) throw e;
          captureError = e.message;
          break;
        }
        if (!pkt) break;
        rec.note(pkt);
        rec.packet(pkt);
        got++;
        if (rec.ran >= limit) {
          stopped = `stopped at the limit of ${limit} packet${limit === 1 ? '' : 's'}${params.limit ? '' : ' (xdpLens.live.maxPackets)'}`;
          break;
        }
        if (feed.offset >= maxBytes) {
          stopped = `stopped: the recorded capture reached its limit of ${settings.live.maxCaptureMB} MB (xdpLens.live.maxCaptureMB)`;
          break;
        }
      }
      if (feed.buffered < LIVE_HIGH_WATER / 8) capture.resume();
      if (performance.now() >= nextUpdate) {
        publish();
        nextUpdate = performance.now() + LIVE_UPDATE_MS;
      }
      if (stopped || captureError || feed.done) break;
      if (got) await yieldToLoop();
      else
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(wakeUp, Math.max(1, nextUpdate - performance.now()));
        });
    }
  } finally {
    cancel.dispose();
    await capture.stop();
    closeSync(fd);
    rec.finish();
  }
  const ended = capture.ended();
  // tcpdump that never delivered a packet and failed: nothing ran, the reason is the answer.
  if (rec.packets === 0 && ended.error && !token.isCancellationRequested) {
    rmSync(file, { force: true });
    runs.delete(runId);
    return { error: ended.error };
  }
  // Why it ended: the user or a limit; else tcpdump's own failure, a broken stream, or tcpdump simply ending.
  if (!stopped) stopped = ended.error ?? (captureError ? 'stopped: what tcpdump wrote is not a valid capture (see the capture error)' : 'tcpdump ended');
  live.stopped = stopped;
  try {
    prep.config.captureStamp = captureStamp(file);
  } catch {
    /* removed under us: detail will say so */
  }
  const summary = rec.summary(runId, params.uri, t0, { captureError, cancelled: token.isCancellationRequested, live });
  keepRun(runId, rec.stored(summary, true));
  pruneLiveCaptures(dir, file);
  host.log(`run ${runId}: ${prep.path} on live traffic of ${params.interface}: ${rec.ran} packets in ${summary.durationMs} ms, ${live.stopped} (recorded into ${file})`);
  return { summary };
}

/** Delete all but the newest live captures in `dir` (never `keep`, nor a capture a kept run reads). */
function pruneLiveCaptures(dir: string, keep: string): void {
  try {
    const inUse = new Set([keep, ...[...runs.values()].map((r) => r.config.capture)]);
    const list = readdirSync(dir)
      .filter((n) => /^live-.*\.pcap$/.test(n))
      .map((n) => join(dir, n))
      .map((p) => ({ p, t: statSync(p).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { p } of list.slice(KEEP_LIVE_CAPTURES)) if (!inUse.has(p)) rmSync(p, { force: true });
  } catch {
    /* best effort */
  }
}
// ---------------------------------------------------------------------------------------------------------------
// xdpLens/packets

function matching(run: StoredRun, p: PacketsParams): Uint32Array | undefined {
  const action = p.action !== undefined ? ACTIONS.indexOf(p.action) : -1;
  if (action < 0 && p.line === undefined && !p.faulted) return undefined;
  const key = `${action}:${p.line ?? ''}:${p.faulted ? 1 : 0}`;
  let hit = run.filterCache.get(key);
  if (!hit) {
    const n = run.action.length;
    const idx = new Uint32Array(n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (run.action[i] === NOT_RUN) continue;
      if (action >= 0 && run.action[i] !== action) continue;
      if (p.line !== undefined && run.line[i] !== p.line) continue;
      if (p.faulted && run.fault[i] === 0) continue;
      idx[k++] = i;
    }
    hit = idx.slice(0, k);
    if (run.filterCache.size > 16) run.filterCache.clear();
    run.filterCache.set(key, hit);
  }
  return hit;
}

/** Shown for a packet whose record cannot be read again (the capture changed or went since the run). */
const NO_SUMMARY = '(the capture changed since the run: run again)';

/** The summaries of packets `indices` of a run: kept, or made from their records read again. */
function pageSummaries(run: StoredRun, indices: ArrayLike<number>): string[] {
  const out: string[] = [];
  if (run.summaries) {
    for (let k = 0; k < indices.length; k++) out.push(run.summaries.get(indices[k]!));
    return out;
  }
  const records = run.records!;
  let reader: CaptureReader | undefined;
  try {
    if (!run.config.captureStamp || captureStamp(run.config.capture) === run.config.captureStamp) reader = openCapture(run.config.capture, { views: true });
  } catch {
    reader = undefined;
  }
  try {
    // The packet the reader gives next (-1: none): a page reads on from where the packet before it left the reader.
    let at = -1;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      let text = NO_SUMMARY;
      if (reader) {
        if (at < 0 || i < at || i - at >= RecordIndex.EVERY) {
          const r = records.at(i);
          at = reader.seek(r.offset, r.index, r.context) ? r.index : -1;
        }
        let pkt: ReturnType<typeof nextPacket>;
        while (at >= 0 && at <= i) {
          pkt = nextPacket(reader);
          at = pkt && 'frame' in pkt ? at + 1 : -1;
        }
        if (at === i + 1 && pkt! && 'frame' in pkt) text = summarize(pkt.frame);
      }
      out.push(text);
    }
  } finally {
    reader?.close();
  }
  return out;
}

function row(run: StoredRun, i: number, summary: string): PacketRow {
  const capLen = run.cut.n ? run.cut.capLenOf(i) : undefined;
  const r: PacketRow =
    run.action[i] === NOT_RUN ? { index: i, time: formatTime(run.time[i]!), len: run.len[i]!, summary, notRun: NOT_RUN_REASONS[run.retval[i]!] ?? 'outgoing' } : ranRow(run, i, summary);
  if (capLen !== undefined) r.capLen = capLen;
  if (run.made.n) Object.assign(r, madeHeaderOf(run, i));
  return r;
}

/** A row's (or a packet detail's) word on its Ethernet header when the capture did not hold it. */
function madeHeaderOf(run: StoredRun, i: number): Pick<PacketRow, 'ethernetHeader' | 'ethernetHeaderNote'> {
  const m = run.made.of(i);
  return m ? { ethernetHeader: m.origin, ethernetHeaderNote: madeHeaderText(m.linkType, m.origin) } : {};
}

/** The row of a packet that was run. */
function ranRow(run: StoredRun, i: number, summary: string): RunPacketRow {
  const f = run.fault[i]!;
  return {
    index: i,
    time: formatTime(run.time[i]!),
    len: run.len[i]!,
    summary,
    action: ACTIONS[run.action[i]!]!,
    retval: run.retval[i]!,
    file: run.files[run.file[i]!]!,
    line: run.line[i]!,
    path: run.paths[run.path[i]!]!,
    outcome: run.outcomes[run.outcome[i]!]!,
    ...(f ? { fault: run.summary.faults[f - 1]?.kind ?? 'fault' } : {}),
  };
}

/**
 * The packets of a run a display filter matches. Result fields come from the stored columns; fields of the frame
 * (and the cap length) need the capture read again; printk, modified, redirect.target and queue need the run
 * repeated, which it is, deterministically, only when the filter names them.
 */
async function filterMatches(run: StoredRun, filter: Filter, token: CancellationToken): Promise<Uint32Array | string> {
  const key = `filter:${filter.text}`;
  const cached = run.filterCache.get(key);
  if (cached) return cached;
  const n = run.action.length;
  const rerun = filter.fields.some((f) => RERUN_FIELDS.has(f));
  // (Summaries not kept are made from the frame.)
  // Fields of the record itself (frame.time*, frame.interface_id, sll.*) come from the capture, as under `run --filter`.
  const readCapture = rerun || filter.needsFrame || filter.fields.includes('frame.cap_len') || (!run.summaries && filter.fields.includes('summary')) || namesRecordFields(filter);
  const cols: FilterColumns = {
    action: run.action, retval: run.retval, outcome: run.outcome, outcomes: run.outcomes, path: run.path, paths: run.paths, file: run.file,
    files: run.files, line: run.line, fault: run.fault, faultKinds: run.summary.faults.map((f) => f.kind), len: run.len, summaries: run.summaries,
  };
  const idx = new Uint32Array(n);
  let k = 0;
  if (!readCapture) {
    const none = new Uint8Array(0);
    for (let i = 0; i < n; i++) if (run.action[i] !== NOT_RUN && filter.test(factsOf(cols, i, none, run.len[i]!))) idx[k++] = i;
  } else {
    try {
      if (run.config.captureStamp && captureStamp(run.config.capture) !== run.config.captureStamp) return `${run.config.capture} changed since the run: run again`;
    } catch (e) {
      return `cannot read ${run.config.capture}: ${(e as Error).message}`;
    }
    // A long capture read again for a filter that needs no re-run: its second half is matched by a worker thread
    // meanwhile (both cores; the columns copied to it), this thread does the first.
    const half = rerun || run.summaries ? undefined : filterHalf(run.config.capture, filter.text, cols, n);
    const end = half ? half.from : n;
    const driver = rerun ? build(run.config).driver : undefined;
    const reader = openCapture(run.config.capture);
    const records = new RecordTimes(filter, reader.format === 'pcapng');
    try {
      let sliceEnd = performance.now() + SLICE_MS;
      for (let i = 0; i < end; i++) {
        const pkt = nextPacket(reader);
        if (!(pkt && 'frame' in pkt)) break;
        const record = records.next(pkt);
        // Packets not run (outgoing, a length XDP never runs on) were not run (nor are they now) and match no filter,
        // as under `xdp-lens run --filter`; a stateful field (tcp.seq's stream bases) still follows them.
        if (notRunCode(pkt) >= 0) {
          filter.observe(pkt.frame, pkt.capLen < pkt.wireLen);
          continue;
        }
        const r = driver?.receive(pkt.frame, pkt.tsNs);
        if (filter.test(factsOf(cols, i, pkt.frame, pkt.capLen, r, record))) idx[k++] = i;
        if (performance.now() > sliceEnd) {
          await yieldToLoop();
          if (token.isCancellationRequested) {
            half?.cancel();
            return 'cancelled';
          }
          sliceEnd = performance.now() + SLICE_MS;
        }
      }
    } finally {
      reader.close();
    }
    if (half) {
      const rest = await half.matches.catch(() => undefined);
      if (token.isCancellationRequested) return 'cancelled';
      if (rest) {
        idx.set(rest, k);
        k += rest.length;
      } else {
        // The worker failed: this thread does the second half too.
        const again = await filterRange(cols, filter, run.config.capture, half.from, n, token);
        if (typeof again === 'string') return again;
        idx.set(again, k);
        k += again.length;
      }
    }
  }
  const hit = idx.slice(0, k);
  if (run.filterCache.size > 16) run.filterCache.clear();
  run.filterCache.set(key, hit);
  return hit;
}

/** What a display filter reads of a run (structured-cloneable: the second half of a long filter runs in a worker). */
export interface FilterColumns {
  action: Uint8Array;
  retval: Uint32Array;
  outcome: Uint16Array;
  outcomes: string[];
  path: Uint8Array;
  paths: string[];
  file: Uint16Array;
  files: string[];
  line: Uint32Array;
  fault: Uint16Array;
  /** The kind of each of the run's faults (run.summary.faults), indexed by `fault` - 1. */
  faultKinds: string[];
  len: Uint32Array;
  summaries?: SummaryStore;
}

/** A packet's facts for a display filter: the run's columns, the frame, and the re-run's result when there is one. */
function factsOf(run: FilterColumns, i: number, frame: Uint8Array, capLen: number, r?: DriverPacket, record?: Partial<PacketFacts>): PacketFacts {
  const f = run.fault[i]!;
  const after = r?.out.subarray(r.metaLen);
  return {
    index: i,
    frame,
    wireLen: run.len[i]!,
    capLen,
    action: ACTIONS[run.action[i]!]!,
    retval: run.retval[i]!,
    outcome: run.outcomes[run.outcome[i]!],
    path: run.paths[run.path[i]!],
    file: run.files[run.file[i]!],
    line: run.line[i]!,
    ...(f ? { fault: run.faultKinds[f - 1] ?? 'fault' } : {}),
    ...(r ? { target: r.target, queue: r.queue, printk: r.run.printk, modified: after!.length !== frame.length || after!.some((b, j) => b !== frame[j]) } : {}),
    summary: () => (run.summaries ? run.summaries.get(i) : summarize(frame)),
    ...record,
  };
}

/**
 * The record fields of each capture record in turn, for a filter that names them (else undefined): the first record's
 * time and the one before's count every record, outgoing ones too, as `xdp-lens run --filter` counts them.
 */
class RecordTimes {
  private readonly wanted: boolean;
  private first: bigint | undefined;
  private prev: bigint | undefined;
  constructor(filter: Filter, private readonly pcapng: boolean) {
    this.wanted = namesRecordFields(filter);
  }
  next(pkt: CapturedPacket): Partial<PacketFacts> | undefined {
    if (!this.wanted) return undefined;
    const facts = recordFacts(pkt, this.pcapng, (this.first ??= recordTime(pkt)), this.prev);
    this.prev = recordTime(pkt);
    return facts;
  }
}

/** Packets from..to-1 of a capture that `filter` matches (no re-run), reading it from the start. */
async function filterRange(cols: FilterColumns, filter: Filter, capture: string, from: number, to: number, token?: CancellationToken): Promise<Uint32Array | string> {
  const idx = new Uint32Array(Math.max(0, to - from));
  let k = 0;
  const reader = openCapture(capture, { views: true });
  const records = new RecordTimes(filter, reader.format === 'pcapng');
  try {
    let sliceEnd = performance.now() + SLICE_MS;
    for (let i = 0; i < to; i++) {
      const pkt = nextPacket(reader);
      if (!(pkt && 'frame' in pkt)) break;
      const record = records.next(pkt);
      // Before `from`, and packets not run: only followed by a stateful field (tcp.seq's stream bases), as tshark does.
      if (i < from || notRunCode(pkt) >= 0) filter.observe(pkt.frame, pkt.capLen < pkt.wireLen);
      else if (filter.test(factsOf(cols, i, pkt.frame, pkt.capLen, undefined, record))) idx[k++] = i;
      if (token && performance.now() > sliceEnd) {
        await yieldToLoop();
        if (token.isCancellationRequested) return 'cancelled';
        sliceEnd = performance.now() + SLICE_MS;
      }
    }
  } finally {
    reader.close();
  }
  return idx.slice(0, k);
}

/** A display filter's job for a worker thread: the packets from..to-1 of the capture. */
export interface FilterJob {
  capture: string;
  filter: string;
  from: number;
  to: number;
  cols: FilterColumns;
}

/** The worker's side of filterHalf (server/run-worker-main.ts). */
export async function filterJobMatches(job: FilterJob): Promise<Uint32Array> {
  const r = await filterRange(job.cols, compileFilter(job.filter), job.capture, job.from, job.to);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

/** A filter over this many packets or more has its second half matched in a worker thread. */
const FILTER_SPLIT_PACKETS = 100_000;

/**
 * Start a worker on the second half of a long filter's packets (`from`..n-1); undefined when it is not worth one, there
 * is no worker script, or XDP_LENS_RUN_WORKER=never (a number: on any run of 2 packets or more).
 */
function filterHalf(capture: string, text: string, cols: FilterColumns, n: number): { from: number; matches: Promise<Uint32Array>; cancel(): void } | undefined {
  const when = process.env.XDP_LENS_RUN_WORKER;
  const forced = when !== undefined && /^\d+$/.test(when);
  if (!RUN_WORKER_SCRIPT || when === 'never' || n < (forced ? 2 : FILTER_SPLIT_PACKETS)) return undefined;
  const from = n >> 1;
  let w: Worker;
  try {
    w = new Worker(RUN_WORKER_SCRIPT, { workerData: { filter: { capture, filter: text, from, to: n, cols } satisfies FilterJob } });
  } catch {
    return undefined;
  }
  w.unref();
  const matches = new Promise<Uint32Array>((resolve, reject) => {
    w.on('message', (m: { matches: Uint32Array } | { internal: string }) => ('matches' in m ? resolve(m.matches) : reject(new Error(m.internal))));
    w.on('error', reject);
    w.on('exit', () => reject(new Error('the filter worker exited without a result')));
  }).finally(() => void w.terminate());
  matches.catch(() => {}); // a failure is handled where it is awaited (or not at all: a cancelled filter)
  return { from, matches, cancel: () => void w.terminate() };
}

/** Display filters being matched, per run: a page asked for while the same filter is being matched waits for it. */
const pendingFilters = new WeakMap<StoredRun, Map<string, Promise<Uint32Array | string>>>();

/** filterMatches, once per run and filter at a time (no second read of the capture, nor a second worker thread). */
async function sharedFilterMatches(run: StoredRun, filter: Filter, token: CancellationToken): Promise<Uint32Array | string> {
  let going = pendingFilters.get(run);
  if (!going) pendingFilters.set(run, (going = new Map()));
  const first = going.get(filter.text);
  if (first) {
    const r = await first;
    // (The request that started it was cancelled, this one was not: match again.)
    if (r !== 'cancelled' || token.isCancellationRequested) return r;
  }
  const p = filterMatches(run, filter, token);
  going.set(filter.text, p);
  try {
    return await p;
  } finally {
    if (going.get(filter.text) === p) going.delete(filter.text);
  }
}

const RERUN_FIELDS = new Set(['printk', 'modified', 'redirect.target', 'queue']);

/** xdpLens/packets with a display filter: the filter's matches, narrowed by the other conditions. */
export async function filteredPackets(p: PacketsParams, token: CancellationToken): Promise<PacketsResult> {
  const run = runs.get(p.runId);
  if (!run) return { total: 0, rows: [], error: `run ${p.runId} is no longer held by the server: run again` };
  let filter: Filter;
  try {
    filter = compileFilter(p.filter!);
  } catch (e) {
    if (e instanceof FilterError) return { total: 0, rows: [], error: `filter: ${formatFilterError(p.filter!, e)}` };
    throw e;
  }
  const hit = await sharedFilterMatches(run, filter, token);
  if (typeof hit === 'string') return { total: 0, rows: [], error: hit };
  const other = matching(run, p);
  let idx = hit;
  if (other) {
    const mark = new Uint8Array(run.action.length);
    for (const i of other) mark[i] = 1;
    idx = hit.filter((i) => mark[i] === 1);
  }
  const offset = Math.max(0, Math.floor(p.offset));
  const end = Math.min(idx.length, offset + Math.max(0, Math.min(10000, Math.floor(p.limit))));
  const page = idx.subarray(offset, Math.max(offset, end));
  const summaries = pageSummaries(run, page);
  const rows = Array.from(page, (i, k) => row(run, i, summaries[k]!));
  return { total: idx.length, rows };
}

export function packets(p: PacketsParams): PacketsResult {
  const run = runs.get(p.runId);
  if (!run) return { total: 0, rows: [], error: `run ${p.runId} is no longer held by the server: run again` };
  const idx = matching(run, p);
  const total = idx ? idx.length : run.action.length;
  const offset = Math.max(0, Math.floor(p.offset));
  const end = Math.min(total, offset + Math.max(0, Math.min(10000, Math.floor(p.limit))));
  const page: number[] = [];
  for (let k = offset; k < end; k++) page.push(idx ? idx[k]! : k);
  const summaries = pageSummaries(run, page);
  return { total, rows: page.map((i, k) => row(run, i, summaries[k]!)) };
}

// ---------------------------------------------------------------------------------------------------------------
// xdpLens/packet

/** Byte ranges of `after` that differ from `before` at the same offset; bytes beyond `before`'s end count as changed. */
export function changedRanges(before: Uint8Array, after: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let i = 0; i < after.length; i++) {
    const diff = i >= before.length || before[i] !== after[i];
    if (diff && start < 0) start = i;
    if (!diff && start >= 0) {
      out.push([start, i]);
      start = -1;
    }
  }
  if (start >= 0) out.push([start, after.length]);
  return out;
}

type MapsJson = ReturnType<Session['mapsJson']>;
type MapsJsonEntry = MapsJson[string][number];
/** The elements a packet changed, in hex and decoded through the maps' BTF (`formats`). */
export function mapDiff(before: MapsJson, after: MapsJson, formats?: (map: string) => MapFormat): MapUpdate[] {
  const value = (e: MapsJsonEntry) => e.value ?? e.values?.join(' ') ?? e.program ?? e.map ?? '';
  const out: MapUpdate[] = [];
  const decoded = (name: string, key: string, was?: MapsJsonEntry, now?: MapsJsonEntry): Partial<MapUpdate> => {
    const f = formats?.(name);
    if (!f) return {};
    const b = was ? entryText(f, was) : undefined;
    const a = now ? entryText(f, now) : undefined;
    const keyText = (a ?? b)?.key ?? key;
    return {
      keyText,
      ...(b ? { beforeText: b.value } : {}),
      ...(a ? { afterText: a.value } : {}),
      text: formatMapUpdate(name, keyText, b?.value, a?.value),
    };
  };
  for (const name of Object.keys(after)) {
    const old = new Map((before[name] ?? []).map((e) => [e.key, e]));
    const now = new Map((after[name] ?? []).map((e) => [e.key, e]));
    for (const [key, e] of now) {
      const w = old.get(key);
      const was = w ? value(w) : undefined;
      const v = value(e);
      if (was !== v) out.push({ map: name, key, ...(was !== undefined ? { before: was } : {}), after: v, ...decoded(name, key, w, e) });
    }
    for (const [key, w] of old) if (!now.has(key)) out.push({ map: name, key, before: value(w), ...decoded(name, key, w, undefined) });
  }
  return out;
}

/** The calls inlined into each function of a run's object, from its DWARF, read once per run (see packetDetail). */
const inlinedCallCache = new WeakMap<RunConfig, Map<string, { lo: number; hi: number; line: number }[]>>();
function inlinedCallsOf(config: RunConfig): Map<string, { lo: number; hi: number; line: number }[]> {
  let calls = inlinedCallCache.get(config);
  if (calls) return calls;
  calls = new Map();
  try {
    const elf = config.objectPath ? parseElf(readFileSync(config.objectPath)).elf : undefined;
    const info = elf ? parseDwarf(new Map(elf.sections.map((s) => [s.name, s.data]))).info : undefined;
    for (const [name, fn] of info?.functions ?? []) if (fn.calls?.length) calls.set(name, fn.calls.filter((c) => c.hi <= fn.highPc - fn.lowPc));
  } catch {
    // no DWARF: a path names the lines of its instructions only
  }
  inlinedCallCache.set(config, calls);
  return calls;
}

/** The records a packet sent to user space, as the packet view lists them (the bytes cut to their first 64). */
export function outputRecords(perf: readonly PerfRecord[]): OutputRecord[] {
  return perf.map((p) => ({ kind: p.helper === 'ringbuf_output' ? 'ringbuf' : 'perf', map: p.map, bytes: p.data.length / 2, head: p.data.slice(0, 128) }));
}

export async function packetDetail(p: PacketParams, token: CancellationToken): Promise<PacketDetail> {
  const run = runs.get(p.runId);
  const empty = (error: string): PacketDetail => ({
    index: p.index, time: '', summary: '', action: 'XDP_ABORTED', retval: 0, file: '', line: 0, path: '', lines: [],
    before: '', after: '', changed: [], printk: [], maps: [], error,
  });
  if (!run) return empty(`run ${p.runId} is no longer held by the server: run again`);
  if (!Number.isInteger(p.index) || p.index < 0 || p.index >= run.action.length) return empty(`packet ${p.index} is not in run ${p.runId} (0..${run.action.length - 1})`);
  if (run.action[p.index] === NOT_RUN) {
    return empty(run.retval[p.index] === 0 ? `packet ${p.index} was sent by the capturing host (outgoing): not run, XDP runs only on received frames`
      : `packet ${p.index} is ${run.retval[p.index] === 1 ? `shorter than an Ethernet header (${XDP_MIN_FRAME} bytes)` : 'longer than BPF_PROG_TEST_RUN takes'}: not run, no NIC hands XDP such a frame`);
  }
  try {
    if (run.config.captureStamp && captureStamp(run.config.capture) !== run.config.captureStamp) return empty(`${run.config.capture} changed since the run: run again`);
  } catch (e) {
    return empty(`cannot read ${run.config.capture}: ${(e as Error).message}`);
  }
  const { session, driver } = build(run.config);
  const executed: { file: string; line: number }[] = [];
  let tracing = false;
  const obj = run.config.obj;
  const linesOf = new Map(obj.programs.map((prog) => [prog.name, prog.lines]));
  // A call the compiler inlined (count(P_ICMP); of an __always_inline function) has no instruction of its own line:
  // the path names the call's line, in the entry function's file, before the lines of the body it ran.
  const calls = inlinedCallsOf(run.config);
  let inCall: { lo: number; hi: number; line: number } | undefined;
  const push = (file: string, line: number) => {
    const last = executed[executed.length - 1];
    if (!(last && last.line === line && last.file === file)) executed.push({ file, line });
  };
  const trace: RunHooks = {
    onStep: (program, pc) => {
      const lines = linesOf.get(program);
      const loc = lines?.[pc];
      if (!loc || executed.length > MAX_TRACE) return;
      const call = calls.get(program)?.find((c) => pc * 8 >= c.lo && pc * 8 < c.hi);
      const entryFile = lines?.[0]?.file;
      if (call && entryFile && call.line !== inCall?.line) push(entryFile, call.line);
      inCall = call;
      push(loc.file, loc.line);
    },
  };
  hookMachine(session.machine, () => (tracing ? trace : undefined));
  const reader = openCapture(run.config.capture);
  try {
    let sliceEnd = performance.now() + SLICE_MS;
    for (let i = 0; ; i++) {
      const pkt = nextPacket(reader);
      if (!(pkt && 'frame' in pkt)) return empty(`the capture ended before packet ${p.index}`);
      if (i < p.index) {
        if (notRunCode(pkt) < 0) driver.receive(pkt.frame, pkt.tsNs); // outgoing, or a length XDP never runs on: not run in the run either
        if (performance.now() > sliceEnd) {
          await yieldToLoop();
          if (token.isCancellationRequested) return empty('cancelled');
          sliceEnd = performance.now() + SLICE_MS;
        }
        continue;
      }
      const mapsBefore = session.mapsJson();
      tracing = true;
      const r = driver.receive(pkt.frame, pkt.tsNs);
      tracing = false;
      const mapsAfter = session.mapsJson();
      const after = r.out.subarray(r.metaLen);
      const stored = ranRow(run, i, run.summaries ? run.summaries.get(i) : summarize(pkt.frame));
      // clang -O2 gives a function one exit (its closing brace): the path ends at the return the packet took, which
      // the run found (return lines), as the verdict says, not at the brace every return shares.
      const last = executed[executed.length - 1];
      if (!r.fault && stored.line > 0 && last && last.file === stored.file && last.line !== stored.line) {
        executed.pop();
        const prev = executed[executed.length - 1];
        if (!(prev && prev.file === stored.file && prev.line === stored.line)) executed.push({ file: stored.file, line: stored.line });
      }
      return {
        index: i,
        time: stored.time,
        summary: stored.summary,
        ...(pkt.ethernetHeader !== undefined ? { ethernetHeader: pkt.ethernetHeader, ethernetHeaderNote: madeHeaderText(pkt.linkType, pkt.ethernetHeader) } : {}),
        ...(pkt.truncated ? { len: pkt.wireLen, capLen: pkt.capLen } : {}),
        action: r.action,
        retval: r.retval,
        file: stored.file,
        line: stored.line,
        path: r.path,
        outcome: r.outcome,
        ...(r.note ? { note: r.note } : {}),
        ...(r.target ? { target: r.target } : {}),
        ...(r.fault ? { fault: { kind: r.fault.kind, message: r.fault.message, line: r.fault.loc?.line } } : {}),
        ...(r.run.uninitStackRead ? { uninitStackRead: { line: r.run.uninitStackRead.loc?.line, message: r.run.uninitStackRead.message } } : {}),
        lines: executed,
        before: hex(pkt.frame),
        after: hex(after),
        changed: changedRanges(pkt.frame, after),
        printk: r.run.printk,
        maps: mapDiff(mapsBefore, mapsAfter, objectMapFormats(obj)),
        ...(r.run.perf.length ? { records: outputRecords(r.run.perf) } : {}),
        layers: { before: dissectTree(pkt.frame), after: dissectTree(after) },
        ...(stored.action !== r.action ? { error: `re-running gave ${r.action} where the run gave ${stored.action}: the program or capture changed since; run again` } : {}),
      };
    }
  } finally {
    reader.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// xdpLens/diffVerdicts

/**
 * The previous run of a file: the most recent run of it the server holds whose source differs from the file now (a run
 * of the file as it is would compare it with itself), written to a temporary directory under the file's own name, as a
 * git revision is. A string says why there is none.
 */
function previousRunSource(uri: string, path: string): { runId: string; path: string; cleanup: () => void } | string {
  const now = readSource(path);
  const held = [...runs.entries()].filter(([, r]) => r.summary.uri === uri && r.source !== undefined).reverse();
  if (!held.length) return `the server holds no run of ${basename(path)}: run it on a capture first, edit it, then compare with the previous run`;
  const found = held.find(([, r]) => r.source !== now);
  if (!found) return `${basename(path)} is the same as in its last run (${held[0]![0]}): edit and save it, then compare with the previous run`;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-prev-'));
  const file = join(dir, basename(path));
  writeFileSync(file, found[1].source!);
  return { runId: found[0], path: file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What diffVerdicts hands to the diff itself (all structured-cloneable: it may run in a worker thread). */
export interface DiffJob {
  oldPath: string;
  oldName: string;
  path: string;
  capture: string;
  options: Omit<DiffOptions, 'onPacket'>;
}

/** Run both versions over the capture and say what changed, as Compare Verdicts shows it. */
export function diffVerdictsOf(job: DiffJob): DiffVerdictsResult {
  const { oldName, path, capture } = job;
  try {
    const r = diffPrograms(job.oldPath, path, capture, job.options);
    const text = [`${oldName} -> ${basename(path)} on ${basename(capture)}`, '', ...r.changed.map(formatDiffRow), '', ...formatDiffSummary(r)].join('\n');
    return {
      old: oldName,
      packets: r.packets,
      changed: r.changed.length,
      transitions: r.transitions,
      actionDelta: r.actionDelta,
      lines: lineDeltas(r).map((l) => ({ line: l.line, text: formatDelta(l.delta) })),
      mapsDiffering: r.maps.length,
      text,
      ...(r.captureError ? { error: r.captureError } : {}),
    };
  } catch (e) {
    if (e instanceof XdpLensError || e instanceof CaptureError) return { error: e.message };
    throw e;
  }
}

/**
 * diffVerdictsOf in a worker thread (dist/run-worker.js) on a capture of RUN_WORKER_BYTES or more, so that the language
 * server's thread stays free while two versions run over it; on this thread for a smaller capture, when there is no
 * worker script (run from sources), or with XDP_LENS_RUN_WORKER=never (a number: in a worker on any capture). Cancelling
 * ends the worker.
 */
async function diffOffThread(job: DiffJob, log: (m: string) => void, token?: CancellationToken): Promise<DiffVerdictsResult> {
  const when = process.env.XDP_LENS_RUN_WORKER;
  const big = (() => {
    try {
      return statSync(job.capture).size >= RUN_WORKER_BYTES;
    } catch {
      return false; // diffPrograms says why it cannot read it
    }
  })();
  const here = !RUN_WORKER_SCRIPT || when === 'never' || !(big || (when && /^\d+$/.test(when)));
  log(`diff: ${job.oldName} -> ${basename(job.path)} on ${job.capture} (${here ? "on the server's thread" : 'in a worker thread'})`);
  if (here) return diffVerdictsOf(job);
  return new Promise<DiffVerdictsResult>((resolve, reject) => {
    const w = new Worker(RUN_WORKER_SCRIPT, { workerData: { diff: job } });
    w.unref();
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      sub?.dispose();
      void w.terminate();
      f();
    };
    const sub = token?.onCancellationRequested(() => settle(() => resolve({ error: 'cancelled' })));
    w.on('message', (m: { result: DiffVerdictsResult } | { internal: string }) => settle(() => ('result' in m ? resolve(m.result) : reject(new Error(m.internal)))));
    w.on('error', (e) => settle(() => reject(e)));
    w.on('exit', (code) => settle(() => reject(new Error(`the diff's worker thread exited (${code}) without a result`))));
  });
}

export async function diffVerdicts(p: DiffVerdictsParams, host: RunHost, token?: CancellationToken): Promise<DiffVerdictsResult> {
  const path = typeof p?.uri === 'string' ? localPath(p.uri) : undefined;
  if (path === undefined) return { error: 'only files on disk can be compared' };
  if (typeof p.capture !== 'string' || !p.against) return { error: 'a capture and the version to compare with are needed' };
  const settings = await host.settingsFor(p.uri);
  const c = host.compileOptions(path, settings);
  const profile = settings.driver.profile || DEFAULT_PROFILE;
  let old: { path: string; cleanup: () => void } | undefined;
  try {
    const rev = 'rev' in p.against ? p.against.rev : undefined;
    if (rev !== undefined) old = fileAtRevision(path, rev);
    let previous: { runId: string; path: string } | undefined;
    if ('previousRun' in p.against) {
      const found = previousRunSource(p.uri, path);
      if (typeof found === 'string') return { error: found };
      old = found;
      previous = found;
    }
    const oldPath = old?.path ?? (p.against as { file: string }).file;
    const oldName = rev !== undefined ? `${basename(path)}@${rev}` : previous ? `${basename(path)} as of ${previous.runId}` : basename(oldPath);
    return await diffOffThread({
      oldPath,
      oldName,
      path,
      capture: p.capture,
      options: {
        program: p.program,
        compile: { ...c, includeDirs: [...(c.includeDirs ?? []), dirname(path)] },
        mode: settings.driver.mode,
        profile: PROFILES[profile] ? profile : DEFAULT_PROFILE,
        queues: Math.min(MAX_QUEUES, Math.max(1, Math.floor(settings.driver.queues ?? 1))),
        limit: p.limit,
        names: { old: oldName, new: basename(path) },
      },
    }, (m) => host.log(m), token);
  } catch (e) {
    if (e instanceof XdpLensError || e instanceof CaptureError) return { error: e.message };
    throw e;
  } finally {
    old?.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------------------------

export function registerRunHandlers(connection: Connection, host: RunHost): void {
  connection.onRequest(RunRequest, async (params: RunParams, token: CancellationToken): Promise<RunResponse> => {
    const progress = connection.window.attachWorkDoneProgress(params.workDoneToken);
    progress.begin('XDP run', 0, `${params.capture}`, true);
    try {
      return await runCapture(params, host, token, { report: (pct, msg) => progress.report(pct, msg) });
    } catch (e) {
      // Bad input found late (an output directory that cannot be made) is the user's to fix, not a bug.
      if (e instanceof XdpLensError) return { error: e.message };
      host.log(`run failed: ${(e as Error).stack ?? e}`);
      return { error: `internal error: ${(e as Error).message}` };
    } finally {
      progress.done();
    }
  });
  connection.onRequest(RunLiveRequest, async (params: RunLiveParams, token: CancellationToken): Promise<RunResponse> => {
    const progress = connection.window.attachWorkDoneProgress(params.workDoneToken);
    progress.begin('XDP run on live traffic', undefined, `tcpdump -i ${params.interface}`, true);
    try {
      return await runLive(params, host, token, { report: (msg) => progress.report(msg) }, (summary) => void connection.sendNotification(RunUpdateNotification, { summary }));
    } catch (e) {
      host.log(`live run failed: ${(e as Error).stack ?? e}`);
      return { error: `internal error: ${(e as Error).message}` };
    } finally {
      progress.done();
    }
  });
  connection.onRequest(PacketsRequest, (params: PacketsParams, token: CancellationToken) => (params.filter ? filteredPackets(params, token) : packets(params)));
  connection.onRequest(DiffVerdictsRequest, async (params: DiffVerdictsParams, token: CancellationToken): Promise<DiffVerdictsResult> => {
    try {
      return await diffVerdicts(params, host, token);
    } catch (e) {
      host.log(`diff failed: ${(e as Error).stack ?? e}`);
      return { error: `internal error: ${(e as Error).message}` };
    }
  });
  connection.onRequest(CheckFilterRequest, (params: CheckFilterParams): CheckFilterResult => {
    const e = filterError(String(params?.filter ?? ''));
    return e ? { error: { message: e.message, position: e.position, length: e.length } } : {};
  });
  connection.onRequest(PacketRequest, (params: PacketParams, token: CancellationToken) => packetDetail(params, token));
  connection.onRequest(MapsRequest, (params: MapsParams): MapsResult => {
    const run = runs.get(params.runId);
    return run ? runMaps(run.maps, params) : { maps: [], error: `run ${params.runId} is no longer held by the server: run again` };
  });
  connection.onRequest(MapsSeedRequest, (params: MapsSeedParams): MapsSeedResult => {
    const run = runs.get(params.runId);
    return run ? runMapsSeed(run.maps) : { error: `run ${params.runId} is no longer held by the server: run again` };
  });
  connection.onRequest(RunStatsRequest, (params: RunStatsParams) => runStats(params));
}

/** What a debug launch asks for, resolved (server/debug.ts). */
export interface DebugLaunchMatch {
  program: string;
  programName?: string;
  capture: string;
  maps?: string;
  driver: string;
  profile: string;
}

/**
 * The newest held run of the same program (unchanged since the run), capture (unchanged), program name, driver mode,
 * profile and map seed, as the debugger reuses it: its loaded object and the options `build` gives its session and
 * driver, so a debug session replays from the run's start-of-run state (its own sessions: the run's are never touched).
 * A reason when none matches.
 */
export function heldRunForDebug(l: DebugLaunchMatch): { runId: string; obj: LoadedObject; objectPath: string; session: SessionOptions; driver: DriverOptions } | string {
  const why: string[] = [];
  for (const [runId, run] of [...runs.entries()].reverse()) {
    const c = run.config;
    const path = localPath(run.summary.uri) ?? '';
    if (path !== l.program || c.capture !== l.capture) continue;
    const differs = c.objectPath === undefined ? 'no object' : (l.programName ?? undefined) !== (c.program ?? undefined) ? 'program name'
      : c.mode !== l.driver ? 'driver mode' : c.profile !== l.profile ? 'profile' : (l.maps ?? undefined) !== (c.mapsFile ?? undefined) ? 'map seed'
      : !c.captureStamp || (() => { try { return captureStamp(c.capture) !== c.captureStamp; } catch { return true; } })() ? 'capture changed'
      : run.source !== undefined && readSource(path) !== run.source ? 'source changed' : '';
    if (differs) { why.push(`${runId}: ${differs}`); continue; }
    return {
      runId, obj: c.obj, objectPath: c.objectPath!,
      session: { program: c.program, seed: 1, nrCpus: c.queues, maxEntries: c.maxEntries, maps: c.maps, mapsFile: c.mapsFile, engine: c.engine },
      driver: { mode: c.mode, profile: PROFILES[c.profile]!, queues: c.queues, queueOf: c.queues > 1 ? rssQueueOf : undefined },
    };
  }
  return why.length ? `no held run matches (${why.join('; ')})` : 'no held run of this program on this capture';
}

/** xdpLens/runStats: what the run aggregated while it ran. */
export function runStats(p: RunStatsParams): RunStatsResult {
  const run = runs.get(p.runId);
  return run ? { stats: run.stats } : { error: `run ${p.runId} is no longer held by the server: run again` };
}
