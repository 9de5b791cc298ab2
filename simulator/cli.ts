// `xdp-lens`: the headless front end. `run` simulates a program on a capture; `check` analyses C sources.
// Output formats named here (`--format jsonl`, `--format json`) are contracts other tools depend on: extend them
// compatibly, never change existing keys.
import { decodeMapsJson, objectMapFormats } from './btf-format.ts';
import { existsSync, mkdirSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseInnerTemplate } from './vm/map-load.ts';
import type { DumpOptions } from './vm/map-json.ts';
import { ENGINES, type Engine } from './vm/machine.ts';
import { Session, XdpLensError, loadProgramFile, loadProgramFileWithObject, ACTIONS, type Action, type SessionOptions } from './session.ts';
import { compareWithKernel, formatComparison } from './kernel-compare.ts';
import { Driver, NO_FRAME, RxBatch, type DriverPacket } from './driver/rx.ts';
import { PROFILES, DEFAULT_PROFILE, DRIVER_MODES, MAX_QUEUES, MODE_EXPLANATIONS, type DriverMode } from './driver/profiles.ts';
import { OutputCaptures, outputDir } from './driver/output.ts';
import { rssQueueOf } from './driver/rss.ts';
import type { SourceLoc } from './isa/insn.ts';
import { openCapture, CaptureError, linkHeaderNote, linkTypeName, madeHeaderText, nothingRanError, frameLengthNotRun, FRAME_LENGTH_NOTE, SNAP_LENGTH_NOTE, XDP_MIN_FRAME, XDP_MAX_FRAME, LINKTYPE, type CapturedPacket, type EthernetHeaderOrigin, type InPlaceRecords } from './net/capture.ts';
import { summarize, SummaryCache } from './net/dissect.ts';
import { diffPrograms, fileAtRevision, formatDiffRow, formatDiffSummary } from './diff.ts';
import { compileFilter, formatFilterError, FilterError, namesRecordFields, recordFacts, recordTime, type Filter, type PacketFacts } from './filter.ts';
import { ReturnLines } from './return-lines.ts';
import { loadBtfFile } from './elf/core.ts';
import { analyzeFile } from './analysis/index.ts';
import { formatJson, formatSarif, formatText, REPORT_FORMATS, type ReportFormat } from './analysis/report.ts';
import type { Finding } from './analysis/findings.ts';
import { checksumBreaksAt, type ChecksumBreak } from './analysis/checksum.ts';
import { INPUT_LIMITS, InputFileError, nonUtf8Argument, readInputFile, readInputJson, readInputText } from './input.ts';
import { checkProgramSeeds, parseRoutes } from './seeds.ts';
import { compileCommandsProblem } from './compile-commands.ts';
import type { Fault, FibRoute } from './vm/types.ts';
import { RefusalLog, kernelRefusals, refusalText, refusalsBeforeRun } from './verifier-refusals.ts';
import { cmdTest } from './testing/command.ts';
import { TestRecorder } from './testing/save.ts';
import { RunStats } from './run-stats.ts';

const USAGE = `Usage:
  xdp-lens run PROGRAM CAPTURE [options]     run an XDP program (.c or .o) on a pcap/pcapng capture
  xdp-lens check FILE... [options]           report return-code misuse and writes to read-only memory
  xdp-lens compare PROGRAM CAPTURE [options] run the first packets through the kernel (BPF_PROG_TEST_RUN, via
                                             bpftool, as root) and the simulator; verdicts and bytes side by side
  xdp-lens diff OLD NEW CAPTURE [options]    run two versions of a program on the same capture; report the packets
                                             whose action, outcome, exit line or output bytes changed, and the maps
                                             (exit status 1 when anything changed)
  xdp-lens diff --rev REV FILE CAPTURE       the same, OLD being FILE as it was at git revision REV (e.g. HEAD)
  xdp-lens test [FILES|DIRS] [options]       run the cases of *.xdptest.yaml files (default: the current directory);
                                             exit status 1 when a case fails, 2 when a file is malformed
  xdp-lens debug-adapter                     a Debug Adapter Protocol server on stdin/stdout (debug type xdp; launch
                                             attributes program, programName, capture, packet, driver, profile, maps,
                                             stopOnEntry) for nvim-dap, dap-mode, Helix
  xdp-lens help
  xdp-lens --version

CAPTURE may be - (or /dev/stdin) for standard input, or a FIFO: packets are run as they arrive, e.g.
  tcpdump -i eth0 -U -w - | xdp-lens run prog.c -
Numbers are decimal. --debug shows the stack of an internal error.

Options for run:
  --program NAME        program to run (function or section name); default: the first XDP program
  --format table|jsonl|summary
                        output format (default: table); summary: only the jsonl summary line (counts, faults,
                        driver counters, maps, and "stats": actions over capture time, per exit line, RX queue,
                        outcome and fault; exit lines are return lines in jsonl, exit instructions in summary)
  --engine interp|compiled
                        the compiled engine (default; XDP_LENS_ENGINE sets another default) or the reference
                        interpreter (same results, slower)
  --data                jsonl: add "data", the packet from data to data_end after the program ran (hex)
  --maps FILE.json      initial map contents, in the schema of the jsonl output's "maps"
  --max-entries MAP=N   max_entries of a map, as its loader would set it (repeatable; maps declared with 0 default
                        to the number of CPUs)
  --inner-map OUTER=TYPE:KEY:VALUE:ENTRIES
                        inner-map template of a map of maps that declares none (repeatable; e.g. array:4:4:1)
  --filter EXPR         report only the packets a display filter matches, in the manner of Wireshark's:
                        'ip.src == 10.0.0.1 && tcp.dstport == 80', 'action == XDP_DROP', 'fault', 'exit.line == 127',
                        'outcome contains "no redirect target"', '!udp || tcp.port in {80, 443}', 'ip.addr == 10.0.0.0/8'
                        (fields of the packet as received and of its result; every packet still runs, and the
                        summary counts them all; "filter" in the summary says how many matched)
  --dump-maps all|N     jsonl: list every map entry (all), or N entries per map (default 10000; the rest is counted
                        in "mapsSummarised")
  --routes FILE.json    routing table for bpf_fib_lookup: [{"family":"inet","prefix":"10.0.0.0/8","ifindex":2,...}]
  --conntrack FILE.json connections for the conntrack kfuncs (bpf_xdp_ct_lookup, ...): [{"proto":"tcp","src":"10.0.0.1",
                        "sport":1234,"dst":"10.0.0.2","dport":80,"status":["ASSURED"],"mark":0,"timeout":60}];
                        the table after the run is in the jsonl summary line ("conntrack")
  --vlan-strip          the NIC strips 802.1Q tags (RX VLAN offload) and reports them to bpf_xdp_metadata_rx_vlan_tag
  --budget N            instructions per packet before the run is stopped (default 1000000, at most 100000000)
  --seed N              seed for bpf_get_prandom_u32 (default 1; 0 to 4294967295)
  --cpus N              number of simulated CPUs for per-CPU maps (default 1; 1 to 8192)
  --limit N             stop after N packets (1 or more)
  --driver MODE         native (default) | readonly-page | generic: how the modelled driver treats the page
  --profile NAME        receive-buffer geometry: mlx5 (default: 256 B headroom, 4096 B frames) | i40e (192 B, 2048 B)
  --queues N            RX queues; packets are spread by an RSS (Toeplitz) hash, one simulated CPU per queue
                        (default 1; 1 to 4096)
  --exit-lines return|exit
                        return (default for C sources): credit each packet to the return statement it left through
                        (found with a marked twin of the program run in lockstep); exit: the exit instruction's line
  --out-dir DIR         write one pcap per action (xdp_pass.pcap, xdp_drop.pcap, ...) with the packets as they left
                        the program; redirected packets also per target
  --save-tests FILE     write a test file (xdp-lens test) freezing today's behaviour: one case per distinct exit path
                        (action, exit line, outcome, fault), each from the initial maps
  --kernel              also ask the running kernel's verifier whether it loads the program (root, bpftool); a
                        program the kernel would refuse (this, or what XDP Lens finds itself) still runs, with the
                        refusal on stderr before the first packet and in the summary ("verifierRefuses")
  -I DIR                extra include directory for clang (repeatable)
  --cflag FLAG          extra clang flag (repeatable)
  --btf FILE            resolve CO-RE relocations against this BTF (raw BTF such as another machine's
                        /sys/kernel/btf/vmlinux, or an ELF object with .BTF); default: this kernel's
                        /sys/kernel/btf/vmlinux, else the program's own BTF (with a note)

Options for compare (exit status 1 when a packet or a map differs, 2 when the kernel cannot run the program):
  --limit N             packets to compare (default 200); --program, --engine, -I, --cflag, --btf as for run
  --maps FILE.json      seed the maps of both sides alike (the kernel's with bpftool map update)
  --seed N, --budget N, --max-entries MAP=N  as for run (--max-entries sizes the kernel's map alike)
  --format text|json    text (default) or one JSON object with every row
                        Differences only where the simulator's result depends on the clock or
                        bpf_get_prandom_u32 are shown as such and do not count as differing.

Options for diff: --format table|jsonl, --program, --maps, --seed, --budget, --limit, --driver, --profile,
  --queues, -I, --cflag, --btf as for run; --rev REV takes OLD from git (the file's directory stays an include path)

Options for test (the file format: README, "Unit tests for XDP programs"):
  --format text|tap|junit|json  text (default); TAP 13, JUnit XML or one JSON object for CI and tools
  --kernel              also run every case through BPF_PROG_TEST_RUN (root, bpftool); a case whose kernel result
                        differs from the simulator's fails, saying so
  --engine interp|compiled  the simulator's engine (default: the test file's program.engine, else compiled)
  --case NAME           run only this case (repeatable; earlier cases still run for their map state)

Options for check (exit status 1 when any finding is an error, 2 on bad usage):
  --format text|json|sarif  text (default): file:line:col: severity: message [rule]; json: an array of
                        {file,line,column,endLine,endColumn,severity,rule,message} (1-based); sarif: SARIF 2.1.0
  --driver MODE         native (default) | readonly-page | generic (readonly-page reports packet writes)
  --source-only         skip the bytecode tier (no clang)
  --kernel              also load the object into the running kernel and report what its verifier refuses, on the
                        line its log names; each XDP program alone, with its own type (needs root, bpftool and
                        unshare; a note says when it cannot run)
  --compile-commands F  take include directories and defines from a compile_commands.json
  -I DIR, --cflag FLAG, --btf FILE  as for run
`;

/**
 * stdout, buffered and written synchronously in blocks of up to 256 KiB (a write per packet would cost more than the
 * packet), so that piping into `head` or a slow reader never loses or reorders output. Each line is encoded straight
 * into the block (no joined string, no copy). `err` flushes first, so a terminal showing both streams sees them in
 * order.
 */
const OUT_BLOCK = 1 << 18;
/** run's read buffer when batched (in the machine's packet memory, see cmdRun): 192 KiB. */
const READ_BUFFER = 3 << 16;
type Utf8Writer = { utf8Write(text: string, offset: number, length: number): number };
const outBuf = Buffer.allocUnsafe(OUT_BLOCK);
let outUsed = 0;
/**
 * Where putLine flushes the block: 32 KiB the first time (~160 lines), then the whole block. The same bytes either
 * way; the first flush made early gives its call in putLine type feedback before V8 optimises putLine (a call first
 * made in optimised code, ~1,300 lines in, threw that code away and compiled putLine again; so did putSeconds' call
 * for a new second, see there).
 */
let lineFlushAt = 1 << 15;
function out(line: string): void {
  // At most 3 bytes of UTF-8 per UTF-16 code unit, and the newline.
  const most = line.length * 3 + 1;
  if (outUsed + most > OUT_BLOCK) {
    flush();
    if (most > OUT_BLOCK) {
      writeAll(Buffer.from(line + '\n'));
      return;
    }
  }
  // Buffer's own UTF-8 encoder (what write() calls after checking its arguments), room being known.
  outUsed += (outBuf as unknown as Utf8Writer).utf8Write(line, outUsed, OUT_BLOCK - outUsed);
  outBuf[outUsed++] = 10;
}

function flush(): void {
  if (!outUsed) return;
  const n = outUsed;
  outUsed = 0;
  writeAll(outBuf.subarray(0, n));
}

function writeAll(buf: Buffer): void {
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(1, buf, off, buf.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(0);
      if (code !== 'EAGAIN') outputFailed(e as NodeJS.ErrnoException);
    }
  }
}

/**
 * Standard output cannot take the output (a full disk: ENOSPC; an I/O error): what was written before stays, the
 * rest is lost, and the exit status says so (2), with the reason on standard error instead of a stack.
 */
function outputFailed(e: NodeJS.ErrnoException): never {
  try {
    writeSync(2, `xdp-lens: cannot write the output to standard output: ${e.code ?? ''}${e.code ? ': ' : ''}${e.message.replace(/^\w+: /, '').replace(/, write$/, '')}; the output is incomplete\n`);
  } catch {
    // standard error is gone too: the exit status alone says it
  }
  process.exit(2);
}

function err(text: string): void {
  flush();
  process.stderr.write(text);
}

/** A command's positional arguments: exactly `names`, else which one is missing or the first one too many. */
function arity(cmd: string, positionals: string[], names: string[]): void {
  if (positionals.length === names.length) return;
  const what = positionals.length < names.length ? `${names[positionals.length]} is missing` : `'${positionals[names.length]}' is one argument too many`;
  throw new XdpLensError(`${cmd} takes ${names.join(' and ')}: ${what}\n\n${USAGE}`);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function readJson(path: string, what: string, limit: number): unknown {
  return readInputJson(path, `${what} file`, limit);
}

/** formatTs(pkt.tsNs), from the packet's numeric timestamp when it has one (no BigInt to string). */
function packetTs(pkt: CapturedPacket): string {
  const nanos = pkt.tsNanos;
  if (nanos !== undefined && nanos < 1_000_000_000) return `${pkt.tsSec}.${nanos >= 100_000_000 ? nanos : String(nanos).padStart(9, '0')}`;
  return formatTs(pkt.tsNs);
}

function formatTs(tsNs: bigint): string {
  if (tsNs < 0n) return `-${formatTs(-tsNs)}`; // before 1970: a pcapng if_tsoffset below the epoch
  if (tsNs >= 1_000_000_000n) {
    // The same digits without BigInt division: seconds, a point, the last nine digits.
    const d = tsNs.toString();
    return `${d.slice(0, -9)}.${d.slice(-9)}`;
  }
  const s = tsNs / 1_000_000_000n;
  const ns = tsNs % 1_000_000_000n;
  return `${s}.${ns.toString().padStart(9, '0')}`;
}

/**
 * The accepted range of each numeric option. CPUs: the kernel's largest NR_CPUS (CONFIG_NR_CPUS_RANGE_END, 8192 with
 * MAXSMP); queues: the most RX queues rtnetlink creates a device with (rtnl_create_link refuses more than 4096);
 * budget: 100 million instructions per packet, a hundred times the verifier's complexity limit, about a minute of
 * simulation.
 */
export const RANGES = {
  cpus: [1, 8192],
  queues: [1, MAX_QUEUES],
  budget: [1, 100_000_000],
  limit: [1, Number.MAX_SAFE_INTEGER],
  seed: [0, 0xffffffff],
} as const satisfies Record<string, readonly [number, number]>;

/** A numeric option: decimal digits only (no sign, no hex, no exponent), inside its range. */
function intOpt(v: string | undefined, name: keyof typeof RANGES, dflt: number): number {
  if (v === undefined) return dflt;
  const [min, max] = RANGES[name];
  const range = `${min} to ${max === Number.MAX_SAFE_INTEGER ? '2^53-1' : max}`;
  if (!/^[0-9]+$/.test(v)) throw new XdpLensError(`--${name} takes a decimal whole number from ${range}, not '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new XdpLensError(`--${name} is out of range: ${v} (accepted: ${range})`);
  return n;
}

/**
 * parseArgs, except that a string option's value may look like an option: parseArgs refuses `--cflag -DX` ("argument
 * is ambiguous"), so `--name value` is joined into `--name=value` first for every string option.
 */
function parseArgsJoined<T extends ParseArgsConfig>(config: T) {
  const strings = Object.entries(config.options ?? {}).filter(([, o]) => o.type === 'string').map(([k]) => `--${k}`);
  const argv = config.args ?? [];
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      for (let j = i; j < argv.length; j++) joined.push(argv[j]!);
      break;
    }
    if (strings.includes(a) && i + 1 < argv.length) joined.push(`${a}=${argv[++i]}`);
    else joined.push(a);
  }
  config.args = joined;
  return parseArgs(config);
}

/** --max-entries MAP=N and --inner-map OUTER=TYPE:KEY:VALUE:ENTRIES (both repeatable) as Session options. */
function mapLoadFlags(maxEntries: string[] | undefined, innerMaps: string[] | undefined): Pick<SessionOptions, 'maxEntries' | 'innerMaps'> {
  const out: Pick<SessionOptions, 'maxEntries' | 'innerMaps'> = {};
  for (const v of maxEntries ?? []) {
    const m = /^([^=]+)=(\d{1,10})$/.exec(v);
    const n = m ? Number(m[2]) : NaN;
    if (!m || n < 1 || n > 0xffffffff) throw new XdpLensError(`--max-entries takes MAP=N with N from 1 to 4294967295, not '${v}'`);
    (out.maxEntries ??= {})[m[1]] = n;
  }
  for (const v of innerMaps ?? []) {
    const eq = v.indexOf('=');
    const t = eq > 0 ? parseInnerTemplate(v.slice(eq + 1)) : `'${v}' is not OUTER=TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES`;
    if (typeof t === 'string') throw new XdpLensError(`--inner-map: ${t}`);
    (out.innerMaps ??= {})[v.slice(0, eq)] = t;
  }
  return out;
}

/** --engine interp|compiled (default: XDP_LENS_ENGINE, else compiled). */
function engineFlag(v: string | undefined): Engine | undefined {
  if (v === undefined) return undefined;
  if ((ENGINES as readonly string[]).includes(v)) return v as Engine;
  throw new XdpLensError(`--engine is ${ENGINES.join(' or ')}, not '${v}'`);
}

/** --dump-maps all|N: how much of each map the jsonl output lists. */
function dumpMapsFlag(v: string | undefined): DumpOptions {
  if (v === undefined) return {};
  if (v === 'all') return { all: true };
  if (/^\d{1,9}$/.test(v) && Number(v) >= 1) return { limit: Number(v) };
  throw new XdpLensError(`--dump-maps is all or a number of entries per map from 1 to 999999999, not '${v}'`);
}

function cmdRun(argv: string[]): number {
  tableLink.last = -1;
  const { values, positionals } = parseArgsJoined({
    args: argv,
    allowPositionals: true,
    options: {
      program: { type: 'string' },
      format: { type: 'string', default: 'table' },
      data: { type: 'boolean', default: false },
      maps: { type: 'string' },
      routes: { type: 'string' },
      conntrack: { type: 'string' },
      'vlan-strip': { type: 'boolean', default: false },
      budget: { type: 'string' },
      seed: { type: 'string' },
      cpus: { type: 'string' },
      limit: { type: 'string' },
      I: { type: 'string', short: 'I', multiple: true },
      cflag: { type: 'string', multiple: true },
      driver: { type: 'string', default: 'native' },
      profile: { type: 'string', default: DEFAULT_PROFILE },
      queues: { type: 'string' },
      'out-dir': { type: 'string' },
      'exit-lines': { type: 'string', default: 'return' },
      btf: { type: 'string' },
      kernel: { type: 'boolean', default: false },
      'max-entries': { type: 'string', multiple: true },
      'inner-map': { type: 'string', multiple: true },
      'dump-maps': { type: 'string' },
      filter: { type: 'string' },
      engine: { type: 'string' },
      'save-tests': { type: 'string' },
    },
  });
  arity('run', positionals, ['PROGRAM', 'CAPTURE']);
  const saved = values['save-tests'] !== undefined ? new TestRecorder() : undefined;
  const engine = engineFlag(values.engine);
  const filter = values.filter !== undefined ? displayFilter(values.filter) : undefined;
  const filterModified = filter?.fields.includes('modified') === true;
  const filterRecord = filter !== undefined && namesRecordFields(filter);
  let prevTs: bigint | undefined;
  let firstRecTs: bigint | undefined;
  let matched = 0;
  const mapOpts = mapLoadFlags(values['max-entries'], values['inner-map']);
  const dumpMaps = dumpMapsFlag(values['dump-maps']);
  if (values['exit-lines'] !== 'return' && values['exit-lines'] !== 'exit')
    throw new XdpLensError(`--exit-lines is return or exit, not '${values['exit-lines']}'`);
  const [programPath, capturePath] = positionals;
  const format = values.format;
  if (format !== 'table' && format !== 'jsonl' && format !== 'summary') throw new XdpLensError(`--format is table, jsonl or summary, not '${format}'`);

  const mode = values.driver as DriverMode;
  if (!DRIVER_MODES.includes(mode)) throw new XdpLensError(`--driver is one of ${DRIVER_MODES.join(', ')}, not '${values.driver}'`);
  const profile = PROFILES[values.profile ?? DEFAULT_PROFILE];
  if (!profile) throw new XdpLensError(`--profile is one of ${Object.keys(PROFILES).join(', ')}, not '${values.profile}'`);
  const queues = intOpt(values.queues, 'queues', 1);
  const cpus = intOpt(values.cpus, 'cpus', 1);
  const budget = values.budget !== undefined ? intOpt(values.budget, 'budget', 1_000_000) : undefined;
  const seed = intOpt(values.seed, 'seed', 1);
  const limit = values.limit !== undefined ? intOpt(values.limit, 'limit', 1) : Infinity;
  const dir = values['out-dir'] !== undefined ? outputDir(values['out-dir'], '--out-dir') : undefined;
  const maps = values.maps ? readJson(values.maps, '--maps', INPUT_LIMITS.maps) : undefined;
  const conntrack = values.conntrack ? readJson(values.conntrack, '--conntrack', INPUT_LIMITS.maps) : undefined;
  let routes: FibRoute[] | undefined;
  if (values.routes) {
    const r = parseRoutes(readJson(values.routes, '--routes', INPUT_LIMITS.routes), values.routes);
    if ('errors' in r) throw new XdpLensError(r.errors.join('\n'));
    routes = r.routes;
  }

  const { object: obj, objectPath } = loadProgramFileWithObject(programPath, { includeDirs: values.I, clangFlags: values.cflag, btf: values.btf });
  for (const n of obj.notes ?? []) err(`xdp-lens: note: ${n}\n`);
  if (maps !== undefined) {
    const errors = checkProgramSeeds(maps, obj.programs.map((p) => p.name), values.maps!);
    if (errors.length) throw new XdpLensError(errors.join('\n'));
  }
  const makeSession = (o: typeof obj) =>
    new Session(o, {
      program: values.program,
      maps,
      mapsFile: values.maps,
      routes,
      conntrack,
      conntrackFile: values.conntrack,
      budget,
      seed,
      nrCpus: Math.max(queues, cpus),
      engine,
      ...mapOpts,
    });
  // views: each packet's output bytes are a view of the driver's buffer, used before the next packet is received.
  const driverOpts = { mode, profile, queues, queueOf: queues > 1 ? rssQueueOf : undefined, vlanStrip: values['vlan-strip'], views: true, reuse: true };
  const session = makeSession(obj);
  for (const n of session.notes) err(`xdp-lens: note: ${n}\n`);
  const driver = new Driver(session, driverOpts);
  // A program the kernel would refuse still runs, but says so first (stderr, so that jsonl stays valid) and last.
  const before = refusalsBeforeRun(obj, session.program, session.machine, objectPath);
  if (values.kernel) {
    const k = kernelRefusals(objectPath, programPath, session.program.name);
    if (k.skipped) err(`xdp-lens: note: the kernel verifier was not asked: ${k.skipped}\n`);
    before.push(...k.refusals);
  }
  const refusals = new RefusalLog(before);
  for (const r of refusals.list) err(`xdp-lens: the kernel would refuse this program: ${refusalText(r)}\n`);
  if (refusals.list.length) err('xdp-lens: running it anyway; the results show what the program would do, not what a kernel can run\n');
  let uninitStackReads = 0;
  // The return statement each packet left through (see return-lines.ts); C sources only.
  let returns: { lines: ReturnLines; text: string[] } | undefined;
  // --format summary needs them too: its line is the jsonl's last, whose "stats" count packets per exit line.
  if (values['exit-lines'] === 'return' && extname(programPath) === '.c') {
    const source = readInputText(programPath, 'program', INPUT_LIMITS.source);
    const t = ReturnLines.create(programPath, source, { includeDirs: values.I, flags: values.cflag, btf: values.btf }, (o) => {
      const s = makeSession(o);
      return { session: s, driver: new Driver(s, driverOpts) };
    }, { oneRun: true });
    if (typeof t === 'string') err(`xdp-lens: return lines unavailable, exits are shown at the exit instruction: ${t}\n`);
    else returns = { lines: t, text: source.split('\n') };
  }
  // One ReturnLoc per file and line, made the first time a packet leaves through it (read-only after).
  const returnLocs = new Map<string, Map<number, ReturnLoc>>();
  let lastReturnLoc: ReturnLoc | undefined;
  // The index in its batch of the batched packet being settled (the twin ran the batch first: runBatch), else -1.
  let batchAt = -1;
  const returnLineOf = (pkt: CapturedPacket, r: DriverPacket): ReturnLoc | undefined => {
    const lines = returns!.lines;
    const line = batchAt >= 0 ? lines.lineInBatchOf(batchAt, r.action, !!r.fault) : pkt.tsSec !== undefined && pkt.tsNanos! < 1_000_000_000 && pkt.tsSec >= 0 ? lines.lineForAt(pkt.frame, pkt.tsSec, pkt.tsNanos!, r) : lines.lineFor(pkt.frame, pkt.tsNs, r);
    return line === undefined ? undefined : returnLoc(line, r.run.exitLoc?.file ?? programPath);
  };
  // A batched frame's return line from its real run's action alone (no fault: the driver's plain settle), as returnLineOf.
  const plainReturnLoc = (i: number, a: number, exitFile: string | undefined): ReturnLoc | undefined => {
    const line = returns!.lines.lineInBatchOf(i, ACTIONS[a]!, false);
    return line === undefined ? undefined : returnLoc(line, exitFile ?? programPath);
  };
  const returnLoc = (line: number, file: string): ReturnLoc => {
    if (line === lastReturnLoc?.line && file === lastReturnLoc.file) return lastReturnLoc;
    let byLine = returnLocs.get(file);
    if (!byLine) returnLocs.set(file, (byLine = new Map()));
    let loc = byLine.get(line);
    if (!loc) {
      const text = returns!.text[line - 1] ?? '';
      byLine.set(line, (loc = { file, line, column: Math.max(0, text.search(/\breturn\b/)) + 1 }));
    }
    return (lastReturnLoc = loc);
  };
  let outputs: OutputCaptures | undefined;
  try {
    outputs = dir !== undefined ? new OutputCaptures(dir) : undefined;
  } catch (e) {
    throw new XdpLensError(`--out-dir ${dir}: cannot write the output captures: ${(e as Error).message}`);
  }

  // Packets per action, by the action's index in ACTIONS.
  const counts = ACTIONS.map(() => 0);
  // The Run Summary's aggregate (timeline, exit lines, RX queues, outcomes, faults), bounded: "stats" of the summary line.
  const stats = new RunStats();
  // Packets per outcome: a cell per outcome, the last one kept (most packets end as the one before).
  const outcomeCells = new Map<string, { n: number }>();
  let lastOutcome: string | undefined;
  let lastOutcomeCell = { n: 0 };
  let packets = 0;
  let faults = 0;
  // Faults by what they mean: a read-only page's store is the driver's doing, an unmodelled feature is XDP Lens's;
  // the rest are what the verifier rules out before a program runs.
  let roPageFaults = 0;
  let unmodelledFaults = 0;
  let invalid = 0;
  let truncated = 0;
  let outgoing = 0;
  let otherLink = 0;
  let lengthNotRun = 0;
  // Packets that ran with an Ethernet header the capture did not hold (CapturedPacket.ethernetHeader), per link type.
  const madeUp = new Map<number, number>();
  const countMadeUp = (linkType: number): void => {
    madeUp.set(linkType, (madeUp.get(linkType) ?? 0) + 1);
  };
  let checksumBroken = 0;
  let firstTs: bigint | undefined;
  let t0Sec: number | undefined;
  let t0Nanos = NaN;
  let captureError: CaptureError | undefined;

  // Frames of a regular file, run in batches through Machine.runBatch (Driver.receiveBatch) when the driver and
  // program allow it, and so does the return-line twin's (which runs each batch first: ReturnLines.runBatch): the same
  // results, in the same order, as one by one. Not from a pipe, where each packet's verdict is written as it arrives.
  let regular = false;
  try {
    regular = capturePath !== '-' && statSync(capturePath).isFile();
  } catch {
    regular = false;
  }
  const batched = regular && (returns === undefined || returns.lines.batchable()) && saved === undefined && driver.batchable();
  // From a pipe, what is buffered is written before each wait for more packets: verdicts show as packets arrive.
  // Opened before anything is printed, so that a capture that cannot be read gives only the error.
  // Each packet is done with before the next is read: frames are views of the reader's buffer, not copies.
  // reuse: the same packet object each time (nothing here keeps one past the next read).
  // Batched: the reader reads into the machine's packet memory and leaves an Ethernet pcap record's frame where it is
  // (inPlace): a batch of those is the reader's buffer and the frames' offsets in it, which runBatch copies from.
  const reader = openCapture(capturePath, {
    beforeWait: flush, views: true, reuse: true, otherLinks: true, inPlace: batched, buffer: batched ? session.machine.packetBuffer(READ_BUFFER) : undefined,
  });
  if (format === 'table') {
    out(`program ${session.program.name} (section ${session.program.section}) from ${programPath}; capture ${capturePath}`);
    out(`driver ${MODE_EXPLANATIONS[mode]}`);
    out(`profile ${profile.name}: ${profile.description}${queues > 1 ? `; ${queues} RX queues spread by RSS` : ''}`);
    out('');
    out(`${'#'.padStart(6)}  ${'time'.padEnd(12)} ${'len'.padStart(5)}  ${'summary'.padEnd(58)} ${'action'.padEnd(13)} exit`);
  }

  // A run of plain verdicts (plainHere) not yet counted: batch frames [plainFrom, plainTo), all ending alike but for
  // their outcome: plainOtherN of them ended as plainOther (its first after the run's first frame), the rest as
  // plainOutcome. Counted (countPlain) before any other packet is, so that every count and the order its entries first
  // appear in is packet by packet's.
  let plainFrom = 0;
  let plainTo = -1;
  let plainA = 0;
  let plainOutcome = '';
  let plainOther: string | undefined;
  let plainOtherN = 0;
  let plainFile = '';
  let plainLine = 0;
  const countPlain = (): void => {
    const n = plainTo - plainFrom;
    if (n <= 0) return;
    plainTo = -1;
    stats.recordRun(bTime, plainFrom, plainFrom + n, plainA, plainOutcome, 0, plainFile, plainLine, plainOther, plainOtherN);
    counts[plainA]! += n;
    countOutcome(plainOutcome, n - plainOtherN);
    if (plainOtherN !== 0) countOutcome(plainOther!, plainOtherN);
  };
  /**
   * Batch frames [from, to) into the pending run, or counted after it: action index `a` at `line` of `file`, `otherN`
   * of the frames ended as `other`, the rest (the first among them) as `outcome` (see receiveBatch's `plain`).
   */
  const addPlain = (from: number, to: number, a: number, outcome: string, file: string, line: number, other: string | undefined, otherN: number): void => {
    // Into the pending run when it follows it, ended alike, and the outcomes of both are two at most.
    let fits = from === plainTo && a === plainA && line === plainLine && file === plainFile;
    if (fits) {
      // The pending run's second outcome once this run's first is in.
      const second = outcome !== plainOutcome ? outcome : plainOther;
      fits = (outcome === plainOutcome || plainOther === undefined || outcome === plainOther) && (otherN === 0 || other === plainOutcome || second === undefined || other === second);
    }
    if (!fits) {
      countPlain();
      plainFrom = from;
      plainA = a;
      plainOutcome = outcome;
      plainOther = undefined;
      plainOtherN = 0;
      plainFile = file;
      plainLine = line;
    }
    plainTo = to;
    const m = to - from - otherN;
    if (outcome !== plainOutcome) {
      plainOther = outcome;
      plainOtherN += m;
    }
    if (otherN !== 0 && other !== plainOutcome) {
      plainOther = other;
      plainOtherN += otherN;
    }
  };
  /** n more packets that ended as `outcome` (n > 0). */
  const countOutcome = (outcome: string, n: number): void => {
    if (outcome === lastOutcome) lastOutcomeCell.n += n;
    else {
      let cell = outcomeCells.get(outcome);
      if (cell === undefined) outcomeCells.set(outcome, (cell = { n: 0 }));
      cell.n += n;
      lastOutcome = outcome;
      lastOutcomeCell = cell;
    }
  };

  // What is done with each packet once the driver is done with it (`timeNs`: since the first packet).
  const settled = (pkt: CapturedPacket, r: DriverPacket, timeNs: number): void => {
    if (plainTo >= 0) countPlain();
    const ret = returns ? returnLineOf(pkt, r) : undefined;
    const exitLoc = r.fault?.loc ?? ret ?? r.run.exitLoc;
    // r.retval is what the driver acted on (0 after a fault): its action's index, XDP_ABORTED for other values.
    const a = r.retval < ACTIONS.length ? r.retval : 0;
    stats.record(timeNs, a, r.outcome, r.queue, exitLoc?.file ?? '', exitLoc?.line ?? 0, r.fault);
    outputs?.write(pkt, r);
    // Exit lines as `xdp-lens test` finds them (return lines for C sources), so the saved suite checks the same ones.
    saved?.add(pkt.index, pkt.frame, r, values['exit-lines'] === 'exit' && extname(programPath) === '.c' ? undefined : r.fault?.loc?.line ?? ret?.line ?? r.run.exitLoc?.line);
    packets++;
    counts[a]!++;
    if (r.outcome === lastOutcome) lastOutcomeCell.n++;
    else {
      let cell = outcomeCells.get(r.outcome);
      if (cell === undefined) outcomeCells.set(r.outcome, (cell = { n: 0 }));
      cell.n++;
      lastOutcome = r.outcome;
      lastOutcomeCell = cell;
    }
    if (r.fault) {
      faults++;
      const kind = r.fault.kind;
      if (kind === 'readonly-page-write') roPageFaults++;
      else if (kind === 'unsupported' || kind === 'unsupported-helper') unmodelledFaults++;
      const proved = refusals.fault(r.fault);
      if (proved) err(`xdp-lens: packet ${pkt.index}: the kernel would refuse this program: ${refusalText(proved)}\n`);
    }
    if (r.run.uninitStackRead) uninitStackReads++;
    if (r.invalidAction) invalid++;
    if (pkt.truncated) truncated++;
    // A packet sent on (stack, wire, redirect) whose valid checksum the program broke: stale-checksum at run time.
    // Bytes the program left as they were cannot have broken one (compared without a copy or a parse).
    let checksum = NO_BREAKS;
    const changedOut = driver.changedOut;
    if (!r.fault && a >= 2 && changedOut.bytes !== NO_FRAME) {
      // A batched packet the program changed, given without views (see changedViews): compared where both are.
      const b = batch!;
      const off = b.offset[batchAt]!;
      const len = b.length[batchAt]!;
      const { bytes, from, end } = changedOut;
      if (end - from !== len || bufferOf(0, b.bytes).compare(bufferOf(1, bytes), from, end, off, off + len) !== 0) checksum = checksumBreaksAt(b.bytes, off, off + len, bytes, from, end);
    } else if (!r.fault && a >= 2) {
      const after = r.metaLen ? r.out.subarray(r.metaLen) : r.out;
      // The same view: a batched packet the program left as it was (Driver.receiveBatch). Frames of other lengths
      // differ without a compare (an encapsulation's or a decapsulation's).
      const before = pkt.frame;
      if (after !== before && (after.length !== before.length || Buffer.compare(before, after) !== 0)) checksum = checksumBreaksAt(before, 0, before.length, after, 0, after.length);
    }
    if (checksum.length) checksumBroken++;
    // A filter of the record's own fields (frame.time*, frame.interface_id, sll.*): the times of the first packet and the one before.
    const record = filterRecord ? recordFacts(pkt, reader.format === 'pcapng', (firstRecTs ??= recordTime(pkt)), prevTs) : undefined;
    if (filterRecord) prevTs = recordTime(pkt);
    if (filter && !filter.test(packetFacts(pkt, r, ret, filterModified, record))) return;
    matched++;
    if (format === 'jsonl') {
      if (!packetJsonOut(pkt, r, values.data, ret, checksum)) {
        // A batched frame the program left as it was, given without a view (see `views`): its view now.
        if (pkt.frame === NO_FRAME) {
          pkt.frame = batch!.frame(batchAt);
          // (A changed packet given without views: its bytes where changedOut says, with its metadata before them.)
          if (r.out === NO_FRAME) r.out = changedOut.bytes === NO_FRAME ? pkt.frame : changedOut.bytes.subarray(changedOut.from - r.metaLen, changedOut.end);
        }
        out(packetJson(pkt, r, values.data, ret, checksum));
      }
    }
    else if (format === 'table') out(tableRow(pkt, r, timeNs, ret));
  };

  // A batch over the reader's buffer (frames in place, see above), else of copies (pcapng, other link types).
  const inPlace = batched && reader.inPlace;
  const batch = inPlace ? new RxBatch(reader.buffer, 256) : batched ? driver.newBatch(256, 1 << 17) : undefined;
  // Multi-buffer frames too (their rest in fragments), up to the longest the kernel runs.
  const frameMax = batch ? driver.batchFrameMax() : 0;
  // Views of frames the program left as they were only for what reads their bytes (filters, output files, the table's
  // summaries, jsonl's data); jsonl's summaries read such a frame where it is in the batch (packetJsonOut, batchFrame).
  const views = format === 'table' || (format === 'jsonl' && values.data === true) || filter !== undefined || outputs !== undefined;
  // Per frame of the batch, what its packet record said (the reader's packet object is refilled by the next read).
  const nb = batch?.offset.length ?? 0;
  const bIndex = new Float64Array(nb);
  const bTime = new Float64Array(nb);
  const bWire = new Float64Array(nb);
  const bTrunc = new Uint8Array(nb);
  const bLink = new Float64Array(nb);
  const bIface = new Float64Array(nb);
  // Per frame of the batch: its Ethernet header's origin (HEADER_ORIGINS' index: 0 as captured).
  const bMade = new Uint8Array(nb);
  // The packet each batched frame is handed on as: the reader's packet object's keys, refilled.
  const bp: CapturedPacket = {
    index: 0,
    get tsNs(): bigint {
      return BigInt(this.tsSec!) * 1_000_000_000n + BigInt(this.tsNanos!);
    },
    frame: new Uint8Array(0), capLen: 0, wireLen: 0, truncated: false, linkType: 0, interfaceId: 0, tsSec: 0, tsNanos: 0, ethernetHeader: undefined,
  };
  // takeInPlace's view of the batch: its frames' places and times, and the per-frame arrays above.
  const taken: InPlaceRecords | undefined = inPlace ? { count: 0, offset: batch!.offset, length: batch!.length, sec: batch!.sec, nanos: batch!.nanos, index: bIndex, wire: bWire, truncated: bTrunc } : undefined;
  // settled's work for a packet the driver settled itself (receiveBatch's `plain`: left as it was, no fault, dropped or
  // passed), when nothing reads its bytes or record (no views: summary without filter or output files; no return
  // lines, no saved tests): the same counts without a packet object.
  // With return lines, the twin ran the batch first (runBatch): the frame's line from the real action (plainReturnLoc).
  // jsonl (no --data: no views) too: the packet's line straight from its fields (putLine), or, when that cannot write
  // it, packetJson's of the packet receiveBatch describes (plainPacket).
  // Frame i of a run (receiveBatch gives a run of frames that ended alike, [from, to)): with return lines, each frame's
  // own line; without, the run is counted as one.
  const plainOne = (i: number, a: number, outcome: string, exit: SourceLoc | undefined, insn: number, note: string | undefined): void => {
    const ret = returns !== undefined ? plainReturnLoc(i, a, exit?.file) : undefined;
    const loc = ret ?? exit;
    const file = loc?.file ?? '';
    const line = loc?.line ?? 0;
    // Counted with the packets before it when it ended as they did (the run's next frame), else those counted first.
    addPlain(i, i + 1, a, outcome, file, line, undefined, 0);
    packets++;
    if (bTrunc[i] === 1) truncated++;
    matched++;
    if (format === 'jsonl') plainJson(i, a, outcome, exit, insn, note, ret);
  };
  /** jsonl's line of batch frame i, settled by the driver (plainHere). */
  const plainJson = (i: number, a: number, outcome: string, exit: SourceLoc | undefined, insn: number, note: string | undefined, ret: SourceLoc | undefined): void => {
    const b = batch!;
    const path = a === 1 ? DROP_PATH : PASS_PATH;
    // A frame whose Ethernet header was made (its jsonl says so): packetJson's line.
    if (bMade[i] !== 0 || !putLine(bIndex[i]!, b.sec[i]!, b.nanos[i]!, bWire[i]!, b.length[i]!, bTrunc[i] === 1, b.bytes, b.offset[i]!, b.length[i]!, middleFor(ACTIONS[a]!, outcome, a, ret, exit, insn, '', path), 0, 0, undefined, note, false, undefined, undefined)) {
      fillBatched(i, b.frame(i));
      out(packetJson(bp, plainPacket(session.program.name, a, outcome, exit, insn, note, path, bp.frame), false, ret, NO_BREAKS));
    }
  };
  const plainHere = (format === 'summary' || format === 'jsonl') && !views && saved === undefined && outputs === undefined && filter === undefined
    ? (from: number, to: number, a: number, outcome: string, exit: SourceLoc | undefined, insn: number, note: string | undefined, other: string | undefined, otherN: number): void => {
      if (returns !== undefined) {
        for (let i = from; i < to; i++) plainOne(i, a, outcome, exit, insn, note);
        return;
      }
      addPlain(from, to, a, outcome, exit?.file ?? '', exit?.line ?? 0, other, otherN);
      const n = to - from;
      packets += n;
      matched += n;
      for (let i = from; i < to; i++) truncated += bTrunc[i]!;
      if (format === 'jsonl') for (let i = from; i < to; i++) plainJson(i, a, outcome, exit, insn, note, undefined);
    }
    : undefined;
  // Changed packets without views too when nothing but the checksum check reads their bytes after the program
  // (checksumBreaksAt; summary, and jsonl without --data, whose line summarizes the frame as it came).
  const changedHere = (format === 'summary' || format === 'jsonl') && !views && saved === undefined;
  // Buffers over whole arrays (a batch's bytes, the driver's copies of changed packets), made once per array: the
  // checksum check compares two frames at offsets with no view of either.
  const cmpOf: Uint8Array[] = [NO_FRAME, NO_FRAME];
  const cmpBuf: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0)];
  const bufferOf = (k: number, u: Uint8Array): Buffer => {
    if (cmpOf[k] !== u) {
      cmpOf[k] = u;
      cmpBuf[k] = Buffer.from(u.buffer, u.byteOffset, u.length);
    }
    return cmpBuf[k]!;
  };
  /** bp as batched frame i (`frame`: its view, or NO_FRAME). */
  const fillBatched = (i: number, frame: Uint8Array): void => {
    const b = batch!;
    bp.index = bIndex[i]!;
    bp.frame = frame;
    bp.capLen = b.length[i]!;
    bp.wireLen = bWire[i]!;
    bp.truncated = bTrunc[i] === 1;
    bp.linkType = bLink[i]!;
    bp.interfaceId = bIface[i]!;
    bp.tsSec = b.sec[i]!;
    bp.tsNanos = b.nanos[i]!;
    bp.ethernetHeader = HEADER_ORIGINS[bMade[i]!];
  };
  const runBatch = (): void => {
    const b = batch!;
    returns?.lines.runBatch(b);
    batchFrame.bytes = b.bytes;
    driver.receiveBatch(b, (i, r, frame) => {
      batchFrame.off = b.offset[i]!;
      fillBatched(i, frame);
      batchAt = i;
      settled(bp, r, bTime[i]!);
    }, views, plainHere, !changedHere, format === 'summary' && returns === undefined);
    countPlain();
    batchAt = -1;
    batchFrame.bytes = NO_FRAME;
  };

  /**
   * After the first packet: the records wholly in the reader's buffer that would be batched in place go into the batch
   * straight from the reader (reader.takeInPlace: the same checks as `loop` makes, no packet object), the batch run
   * first when full. False when none was taken (`loop` then reads the next record itself). A function of its own, with
   * the loop over the records taken: `loop` then turns once per call, not once per packet, and V8 compiles this small
   * function instead of replacing `loop`'s running code with an optimized one (on-stack replacement, which compiles
   * all of `loop` and what it calls).
   */
  const takeInPlace = (): boolean => {
    const b = batch!;
    if (b.count === nb) runBatch();
    if (b.bytes !== reader.buffer) return false;
    const from = b.count;
    taken!.count = from;
    const n = reader.takeInPlace(taken!, Math.min(nb - from, limit - packets - from), frameMax);
    if (n === 0) return false;
    b.count = taken!.count;
    const { sec, nanos } = b;
    const s0 = t0Sec!;
    for (let i = from; i < b.count; i++) {
      const dSec = sec[i]! - s0;
      bTime[i] = dSec > -9e6 && dSec < 9e6 ? dSec * 1e9 + (nanos[i]! - t0Nanos) : Number(BigInt(sec[i]!) * 1_000_000_000n + BigInt(nanos[i]!) - firstTs!);
      bLink[i] = LINKTYPE.ETHERNET;
      bIface[i] = 0;
      bMade[i] = 0;
    }
    return true;
  };

  // The packet loop, a function of its own: V8 replaces a small function's running loop with optimized code sooner
  // than a large one's (the wait grows with the function's size) and compiles only the loop. Inside cmdRun the loop
  // ran unoptimized for its first ~80,000 packets (`run X.o --format summary`, a program returning XDP_PASS), here
  // for ~40,000: a one-time cost of every run, whatever its length.
  const loop = (): void => {
    for (;;) {
      if (packets + (batch !== undefined ? batch.count : 0) >= limit) break;
      // Frames in place stay where they are only while the reader reads nothing more into its buffer.
      if (inPlace && batch!.count !== 0 && !reader.ready()) runBatch();
      // After the first packet, the records wholly in the reader's buffer that would be batched in place go into the
      // batch straight from the reader (takeInPlace: the same checks as below, no packet object); the rest below.
      if (taken !== undefined && t0Sec !== undefined && takeInPlace()) continue;
      let pkt: CapturedPacket | undefined;
      try {
        pkt = reader.next();
      } catch (e) {
        if (e instanceof CaptureError) {
          captureError = e;
          break;
        }
        throw e;
      }
      if (!pkt) break;
      const t0 = (firstTs ??= pkt.tsNs);
      if (t0Sec === undefined) {
        t0Sec = pkt.tsSec ?? NaN;
        t0Nanos = pkt.tsNanos ?? NaN;
      }
      // ns since the first packet: from the numeric timestamps while that is exact (under 2^53 ns), else BigInt.
      const dSec = pkt.tsSec! - t0Sec;
      const timeNs = dSec > -9e6 && dSec < 9e6 ? dSec * 1e9 + (pkt.tsNanos! - t0Nanos) : Number(pkt.tsNs - t0);
      if (batch !== undefined) {
        const at = reader.frameAt;
        const len = at >= 0 ? pkt.capLen : pkt.frame.length;
        // A cooked record's header is not kept with a batched frame: not batched for a filter of sll.* fields. A batch
        // over the reader's buffer takes only frames in it (at >= 0; all of them in an Ethernet pcap).
        if (pkt.tsSec !== undefined && pkt.tsNanos! < 1_000_000_000 && pkt.tsSec >= 0 && !pkt.outgoing && !pkt.otherLink && len <= frameMax && len >= XDP_MIN_FRAME && pkt.capLen === len && !(filterRecord && pkt.linkHeader) && (at >= 0 || !inPlace)) {
          if (!batch.room(len)) runBatch();
          let i: number;
          if (at < 0) i = batch.add(pkt.frame, pkt.tsSec, pkt.tsNanos!);
          else {
            // The reader's buffer is another array after a record larger than it: the batch (empty then) follows it.
            if (batch.bytes !== reader.buffer) {
              if (batch.count !== 0) runBatch();
              batch.bytes = reader.buffer;
            }
            i = batch.addAt(at, len, pkt.tsSec, pkt.tsNanos!);
          }
          bIndex[i] = pkt.index;
          bTime[i] = timeNs;
          bWire[i] = pkt.wireLen;
          bTrunc[i] = pkt.truncated ? 1 : 0;
          bLink[i] = pkt.linkType;
          bIface[i] = pkt.interfaceId;
          const made = pkt.ethernetHeader;
          bMade[i] = made === undefined ? 0 : HEADER_ORIGINS.indexOf(made);
          if (made !== undefined) countMadeUp(pkt.linkType);
          continue;
        }
        if (batch.count !== 0) runBatch();
        // Not batched: its frame as an array.
        if (at >= 0) pkt.frame = reader.frameView();
      }
      if (pkt.outgoing || pkt.otherLink || pkt.frame.length < XDP_MIN_FRAME || pkt.frame.length > XDP_MAX_FRAME) {
        // Sent by the capturing host (`tcpdump -i any` records both directions), or from a pcapng interface of a link
        // type XDP is never handed (Wi-Fi, USB), or shorter than an Ethernet header / longer than the kernel takes:
        // XDP never sees it. Listed, not run.
        if (pkt.outgoing) outgoing++;
        else if (pkt.otherLink) otherLink++;
        else lengthNotRun++;
        if (filterRecord) {
          firstRecTs ??= recordTime(pkt);
          prevTs = recordTime(pkt);
        }
        // A stateful field (tcp.seq's stream bases) follows every Ethernet frame of the capture, as tshark does.
        if (filter && !pkt.otherLink) filter.observe(pkt.frame, pkt.capLen < pkt.wireLen);
        if (!filter && format === 'jsonl') out(outgoingJson(pkt));
        else if (!filter && format === 'table') out(outgoingRow(pkt, timeNs));
        continue;
      }
      if (pkt.ethernetHeader !== undefined) countMadeUp(pkt.linkType);
      // The numeric timestamp when the reader has one (classic pcap): no BigInt per packet.
      const r = pkt.tsSec !== undefined && pkt.tsNanos! < 1_000_000_000 && pkt.tsSec >= 0 ? driver.receiveAt(pkt.frame, pkt.tsSec, pkt.tsNanos!) : driver.receive(pkt.frame, pkt.tsNs);
      settled(pkt, r, timeNs);
    }
    if (batch !== undefined && batch.count !== 0) runBatch();
  };
  try {
    loop();
  } finally {
    reader.close();
    driver.finish();
    returns?.lines.finish();
    outputs?.close();
  }

  const outcomes = new Map([...outcomeCells].map(([o, c]) => [o, c.n]));
  const summary = {
    program: session.program.name,
    section: session.program.section,
    packets,
    actions: Object.fromEntries(ACTIONS.map((a, i) => [a, counts[i]!])),
    outcomes: Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    faults,
    invalidActions: invalid,
    truncated,
    ...(outgoing ? { outgoingNotRun: outgoing } : {}),
    ...(otherLink ? { otherLinkNotRun: otherLink } : {}),
    ...(lengthNotRun ? { lengthNotRun } : {}),
    ...(madeUp.size ? { ethernetHeaderMadeUp: [...madeUp.values()].reduce((a, b) => a + b, 0) } : {}),
    driver: { mode, profile: profile.name, queues, counters: driver.stats() },
    ...(outputs ? { outputs: outputs.files() } : {}),
    ...(captureError ? { captureError: captureError.message } : {}),
    ...(refusals.list.length ? { verifierRefuses: refusals.json() } : {}),
    ...(uninitStackReads ? { uninitStackReads } : {}),
    ...(filter ? { filter: { expression: filter.text, matched } } : {}),
    ...(checksumBroken ? { checksumBroken } : {}),
  };
  if (format === 'jsonl' || format === 'summary') {
    const dump = session.mapsDump(dumpMaps);
    const cut = Object.keys(dump.summarised).length > 0;
    const ct = session.usesConntrack() ? { conntrack: session.conntrackJson() } : {};
    const decoded = decodeMapsJson(dump.maps, objectMapFormats(obj));
    out(JSON.stringify({ summary, stats: stats.json(), maps: dump.maps, ...(Object.keys(decoded).length ? { mapsDecoded: decoded } : {}), ...(cut ? { mapsSummarised: dump.summarised } : {}), ...ct }));
  } else {
    const parts = ACTIONS.filter((_, i) => counts[i]! > 0).map((a) => `${a} ${counts[ACTIONS.indexOf(a)]}`);
    out('');
    for (const r of refusals.list) out(`the kernel would refuse this program: ${refusalText(r, basename)}`);
    if (filter) out(`${plural(matched, 'packet')} of ${packets} matched the filter ${filter.text}`);
    out(`${packets} ${packets === 1 ? 'packet' : 'packets'}${refusals.list.length ? ' (simulated only: the kernel would not load this program)' : ''}: ${parts.join(', ') || 'none'}`);
    const unusual = [...outcomes].filter(([o]) => o.includes(':')).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    if (unusual.length) out(`outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([o, n]) => `${o} ${n}`).join(', ')}`);
    if (invalid) out(`${invalid} returned a value that is not an XDP action: the driver warns once and drops them (counted as XDP_ABORTED)`);
    if (checksumBroken) out(`${checksumBroken} left with a checksum the program broke (valid on arrival, stale after its changes): the stack or the next hop drops them (--format jsonl lists them as "checksum")`);
    if (faults) {
      const verifier = faults - roPageFaults - unmodelledFaults;
      const n = (k: number) => (k === faults ? '' : `${k} `);
      const why = [
        verifier ? `${n(verifier)}the kernel verifier would have rejected the program` : '',
        roPageFaults ? `${n(roPageFaults)}a store into the read-only page this driver hands the program` : '',
        unmodelledFaults ? `${n(unmodelledFaults)}something XDP Lens does not model (named in the fault), which the kernel would have run` : '',
      ].filter(Boolean);
      out(`${faults} faulted (counted as XDP_ABORTED)${verifier === faults ? '; ' : ': '}${why.join('; ')}`);
    }
    const c = driver.stats();
    const counted = Object.entries(c).filter(([, v]) => v > 0);
    out(`driver: ${counted.length ? counted.map(([k, v]) => `${k} ${v}`).join(', ') : 'received no packet'}`);
    if (outputs) out(`output captures: ${outputs.files().join(', ')}`);
    if (truncated) out(TRUNCATED_NOTE(truncated));
    if (outgoing) out(OUTGOING_NOTE(outgoing));
    if (otherLink) out(OTHER_LINK_NOTE(otherLink));
    if (lengthNotRun) out(FRAME_LENGTH_NOTE(lengthNotRun));
    if (session.usesConntrack()) {
      const n = session.conntrackJson().length;
      out(`conntrack: ${n} connection${n === 1 ? '' : 's'} in the table after the run (listed by --format jsonl as "conntrack")`);
    }
    if (uninitStackReads) out(`${uninitStackReads} read stack bytes never written: their results depend on an undefined value`);
  }
  if (saved) {
    const file = values['save-tests']!;
    const s = saved.save(file, { program: programPath, programName: values.program, mapsFile: values.maps, driver: mode, profile: profile.name, seed, cflags: values.cflag, include: values.I }, capturePath);
    err(`xdp-lens: saved ${plural(s.written, 'test case')} (one per exit path) to ${file}\n`);
    if (s.dropped.length) err(`xdp-lens: left out ${plural(s.dropped.length, 'exit path')} that depended on map state from earlier packets (not reproducible from the initial maps): ${s.dropped.join('; ')}\n`);
  }
  if (truncated && format !== 'table') err(`xdp-lens: note: ${TRUNCATED_NOTE(truncated)}\n`);
  if (outgoing && format !== 'table') err(`xdp-lens: note: ${OUTGOING_NOTE(outgoing)}\n`);
  if (otherLink && format !== 'table') err(`xdp-lens: note: ${OTHER_LINK_NOTE(otherLink)}\n`);
  if (lengthNotRun && format !== 'table') err(`xdp-lens: note: ${FRAME_LENGTH_NOTE(lengthNotRun)}\n`);
  const linkNote = linkHeaderNote(madeUp, packets);
  if (linkNote) err(`xdp-lens: note: ${linkNote}\n`);
  const outFailure = outputs?.failure;
  if (outFailure) {
    err(`xdp-lens: --out-dir ${dir}: cannot write ${outFailure.path}: ${outFailure.message}; the output captures are incomplete (the verdicts above are not)\n`);
  }
  if (captureError) {
    err(`xdp-lens: ${captureError.message}${growingHint(capturePath, captureError)}\n`);
    return 2;
  }
  if (outFailure) return 2;
  // Packets, and not one could run (all from interfaces of link types XDP never sees): the wrong capture, an error.
  if (!packets && otherLink) {
    err(`xdp-lens: ${nothingRanError(capturePath, otherLink, reader.notRunLinks)}\n`);
    return 2;
  }
  return 0;
}

/** The note for `n` packets that ran cut short by the capture's snap length. */
const TRUNCATED_NOTE = (n: number) => SNAP_LENGTH_NOTE(n, 'jsonl "truncated": true');

const OUTGOING_NOTE = (n: number) =>
  `${n} ${n === 1 ? 'packet was' : 'packets were'} sent by the capturing host (outgoing: Linux cooked packet type 4, as \`tcpdump -i any\` records, or pcapng outbound) and not run, not counted: XDP runs only on received frames`;

/** A file cut short mid-record that changed moments ago: a capture may still be writing it (read as far as it was). */
function growingHint(path: string, e: CaptureError): string {
  if (!/: truncated /.test(e.message) || e.message.includes('(gzip-decompressed)')) return '';
  try {
    const st = statSync(path);
    const ago = Date.now() - st.mtimeMs;
    if (!st.isFile() || ago >= 60_000) return '';
    return `; the file changed ${Math.max(0, Math.round(ago / 1000))} s ago: if a capture is still writing it, follow it through a pipe (tail -c +1 -f ${path} | xdp-lens run PROGRAM -)`;
  } catch {
    return '';
  }
}

const OTHER_LINK_NOTE = (n: number) =>
  `${n} ${n === 1 ? 'packet was' : 'packets were'} captured on a pcapng interface of a link type XDP is never handed (listed as "notRun" with the link type) and not run, not counted`;

/** A packet listed but not run: sent by the capturing host, or of a link type XDP never sees (its bytes are not
 * Ethernet), or of a length it never runs on (frameLengthNotRun). */
const notRunSummary = (pkt: CapturedPacket) =>
  pkt.otherLink ? `${pkt.otherLink}, ${pkt.capLen} bytes` : pkt.frame.length === 0 && pkt.linkType !== LINKTYPE.ETHERNET ? `${linkTypeName(pkt.linkType)}, no packet` : summarize(pkt.frame);
const notRunReason = (pkt: CapturedPacket): string => pkt.otherLink ?? (pkt.outgoing ? 'outgoing' : frameLengthNotRun(pkt.frame.length) ?? 'outgoing');

/** Where a packet's Ethernet header came from (CapturedPacket.ethernetHeader), by bMade's code (0: as captured). */
const HEADER_ORIGINS: readonly (EthernetHeaderOrigin | undefined)[] = [undefined, 'made up', 'from cooked header'];

/** jsonl's fields of a frame whose Ethernet header the capture did not hold: its link type and the header's origin. */
const linkJson = (pkt: CapturedPacket): string =>
  pkt.ethernetHeader === undefined ? '' : `,"linkType":${pkt.linkType},"ethernetHeader":"${pkt.ethernetHeader}"`;

/** jsonl of a packet not run: listed with its place and lengths, no action. */
function outgoingJson(pkt: CapturedPacket): string {
  return `{"packet":${pkt.index},"ts":"${packetTs(pkt)}","len":${pkt.wireLen},"caplen":${pkt.capLen},"summary":${JSON.stringify(notRunSummary(pkt))},"notRun":${JSON.stringify(notRunReason(pkt))}${pkt.truncated ? ',"truncated":true' : ''}${linkJson(pkt)}}`;
}

function outgoingRow(pkt: CapturedPacket, relNs: number): string {
  let summary = notRunSummary(pkt);
  if (summary.length > 58) summary = summary.slice(0, 57) + '…';
  return `${String(pkt.index).padStart(6)}  ${(relNs / 1e9).toFixed(6).padEnd(12)} ${String(pkt.wireLen).padStart(5)}  ${summary.padEnd(58)} (${pkt.otherLink ? 'other link type' : notRunReason(pkt)}: not run)`;
}

/** The driver paths of a plain DROP and PASS (Driver.receiveBatch's `plain`). */
const DROP_PATH = 'page_pool_recycle';
const PASS_PATH = 'build_skb';

/**
 * The packet Driver.receiveBatch describes for a plain verdict (its `plain`): action index `a` (1 or 2), its outcome,
 * exit and note, queue 0, nothing copied, the frame as it arrived (`frame`).
 */
function plainPacket(program: string, a: number, outcome: string, exit: SourceLoc | undefined, insn: number, note: string | undefined, path: string, frame: Uint8Array): DriverPacket {
  return {
    queue: 0, cpu: 0, retval: a, action: ACTIONS[a]!, invalidAction: false, fault: undefined, path: path as DriverPacket['path'], note, copied: 0, out: frame, metaLen: 0, target: undefined, outcome,
    run: { retval: a, exitInsn: insn, exitProgram: program, steps: 0, tailCalls: 0, printk: [], perf: [], exitLoc: exit, redirect: undefined },
  };
}

/** No checksum broken (shared: never modified). */
const NO_BREAKS: ChecksumBreak[] = [];

interface ReturnLoc {
  file: string;
  line: number;
  column: number;
}

/** Where the packet left: the faulting instruction, else the return statement, else the exit instruction. */
function exitLocation(r: DriverPacket, ret?: ReturnLoc): { file?: string; line?: number; column?: number; exitLine?: number } {
  if (!r.fault && ret) return { ...ret, ...(r.run.exitLoc && r.run.exitLoc.line !== ret.line ? { exitLine: r.run.exitLoc.line } : {}) };
  const loc = r.fault?.loc ?? r.run.exitLoc;
  if (!loc) return {};
  return { file: loc.file, line: loc.line, column: loc.column };
}

function packetRecord(pkt: CapturedPacket, r: DriverPacket, withData: boolean | undefined, ret?: ReturnLoc, checksum?: ChecksumBreak[]): Record<string, unknown> {
  const rec: Record<string, unknown> = {
    packet: pkt.index,
    ts: formatTs(pkt.tsNs),
    len: pkt.wireLen,
    caplen: pkt.capLen,
    summary: summarize(pkt.frame),
    action: r.action,
    outcome: r.outcome,
    retval: r.retval,
    ...exitLocation(r, ret),
  };
  if (r.run.exitInsn >= 0) rec.insn = r.run.exitInsn;
  if (r.run.tailCalls > 0) rec.exitProgram = r.run.exitProgram;
  rec.path = r.path;
  if (r.queue) rec.queue = r.queue;
  if (r.copied) rec.copied = r.copied;
  if (r.target) rec.target = r.target;
  if (r.note) rec.note = r.note;
  if (pkt.truncated) rec.truncated = true;
  if (r.invalidAction) rec.invalidAction = true;
  if (checksum?.length) rec.checksum = checksum;
  if (r.fault) {
    const f = r.fault;
    rec.fault = { kind: f.kind, message: f.message, insn: f.insn, file: f.loc?.file, line: f.loc?.line };
  }
  if (r.run.uninitStackRead) {
    const u = r.run.uninitStackRead;
    rec.uninitStackRead = { insn: u.insn, file: u.loc?.file, line: u.loc?.line, offset: u.offset, size: u.size, frame: u.frame, ...(u.returned ? { returned: true } : {}), message: u.message };
  }
  if (r.run.redirect) rec.redirect = r.run.redirect;
  if (r.run.redirectFallback) rec.redirectFallback = r.run.redirectFallback;
  if (r.run.printk.length) rec.printk = r.run.printk;
  if (r.run.perf.length) rec.perf = r.run.perf;
  if (pkt.ethernetHeader !== undefined) {
    rec.linkType = pkt.linkType;
    rec.ethernetHeader = pkt.ethernetHeader;
  }
  if (withData) rec.data = hex(r.out.subarray(r.metaLen));
  return rec;
}

/** A JSON number as JSON.stringify writes it. */
const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

/** JSON.stringify of a string that recurs from packet to packet (actions, outcomes, paths, file names), made once. */
const quotedCache = new Map<string, string>();
function quoted(s: string): string {
  let j = quotedCache.get(s);
  if (j === undefined) {
    j = JSON.stringify(s);
    if (quotedCache.size < 10_000) quotedCache.set(s, j);
  }
  return j;
}

/**
 * quoted(s)'s bytes when every character is ASCII below 0x7f (what putLine writes as it is), else null (putLine then
 * leaves the line to packetJson): a note or target written with one copy, not character by character.
 */
const quotedBytesCache = new Map<string, Uint8Array | null>();
function quotedBytes(s: string): Uint8Array | null {
  let b = quotedBytesCache.get(s);
  if (b === undefined) {
    const j = quoted(s);
    b = new Uint8Array(j.length);
    for (let i = 0; i < j.length; i++) {
      const c = j.charCodeAt(i);
      if (c > 0x7e) {
        b = null;
        break;
      }
      b[i] = c;
    }
    if (quotedBytesCache.size < 10_000) quotedBytesCache.set(s, b);
  }
  return b;
}

/**
 * JSON.stringify(packetRecord(...)), written directly: the same keys in the same order, the same text (values that
 * are objects still go through JSON.stringify), without building the record first. Keep the two in step.
 */
function packetJson(pkt: CapturedPacket, r: DriverPacket, withData: boolean | undefined, ret?: ReturnLoc, checksum?: ChecksumBreak[]): string {
  const q = JSON.stringify;
  // The counts (index, lengths, retval, insn, queue, copied) are whole numbers: written as JSON.stringify would.
  // summarize's text never holds a quote, a backslash or a control character (literals, numbers, hex), so its JSON
  // form is the text in quotes; checked below all the same, so that a change there cannot produce invalid JSON.
  const sum = summaries.summarize(pkt.frame);
  let s = `{"packet":${pkt.index},"ts":"${packetTs(pkt)}","len":${pkt.wireLen},"caplen":${pkt.capLen},"summary":${PLAIN_JSON.test(sum) ? `"${sum}"` : q(sum)}`;
  s += r.fault ? jsonMiddle(r, ret) : middleOf(r, ret).text;
  if (r.queue) s += `,"queue":${r.queue}`;
  if (r.copied) s += `,"copied":${r.copied}`;
  if (r.target) s += `,"target":${q(r.target)}`;
  if (r.note) s += `,"note":${q(r.note)}`;
  if (pkt.truncated) s += `,"truncated":true`;
  if (r.invalidAction) s += `,"invalidAction":true`;
  if (checksum?.length) s += `,"checksum":${q(checksum)}`;
  if (r.fault || r.run.uninitStackRead || r.run.redirect || r.run.redirectFallback || r.run.printk.length || r.run.perf.length) {
    // The rarer fields: from the record itself, so that they cannot drift.
    const rec = packetRecord(pkt, r, false, ret, checksum);
    for (const k of ['fault', 'uninitStackRead', 'redirect', 'redirectFallback', 'printk', 'perf']) if (rec[k] !== undefined) s += `,${q(k)}:${q(rec[k])}`;
  }
  s += linkJson(pkt);
  if (withData) s += `,"data":"${hex(r.out.subarray(r.metaLen))}"`;
  return s + '}';
}

/**
 * packetJson's line written straight into the output block, for the common packet (no fault and none of the rarer
 * fields): numbers digit by digit, strings byte by byte, no line string. False, with nothing written, when the packet
 * is not one of those or a string holds anything but ASCII (the summary: anything JSON would escape); the caller then
 * writes packetJson's text. The same bytes as out(packetJson(...)); keep the two in step.
 */
function packetJsonOut(pkt: CapturedPacket, r: DriverPacket, withData: boolean | undefined, ret?: ReturnLoc, checksum?: ChecksumBreak[]): boolean {
  const run = r.run;
  if (pkt.ethernetHeader !== undefined || r.fault || run.uninitStackRead || run.redirect || run.redirectFallback || run.printk.length || run.perf.length) return false;
  const nanos = pkt.tsNanos;
  if (nanos === undefined || !(nanos < 1_000_000_000) || pkt.tsSec === undefined || !(pkt.tsSec >= 0)) return false;
  // A frame given as NO_FRAME is at batchFrame.off in batchFrame.bytes (Driver.receiveBatch without views). One call
  // either way (a call first made after the function was optimized throws that code away).
  let bytes = pkt.frame;
  let off = 0;
  let len = bytes.length;
  if (bytes === NO_FRAME) {
    bytes = batchFrame.bytes;
    off = batchFrame.off;
    len = pkt.capLen;
  }
  return putLine(pkt.index, pkt.tsSec, nanos, pkt.wireLen, pkt.capLen, pkt.truncated === true, bytes, off, len, middleOf(r, ret), r.queue, r.copied, r.target, r.note, r.invalidAction, checksum, withData ? r : undefined);
}

/**
 * packetJsonOut's line from the packet's fields: the frame of `len` bytes at `off` in `bytes` (for its summary),
 * `mid` its middle (middleOf), `data` the packet whose bytes after the program go in "data" (--data), else undefined.
 * False, with nothing written, as packetJsonOut.
 */
function putLine(index: number, tsSec: number, nanos: number, wireLen: number, capLen: number, truncated: boolean, bytes: Uint8Array, off: number, len: number, mid: Middle, queue: number, copied: number, targetText: string | undefined, noteText: string | undefined, invalidAction: boolean, checksum: ChecksumBreak[] | undefined, data: DriverPacket | undefined): boolean {
  const sum = summaries.summarizeAt(bytes, off, len);
  const slot = summaries.slot;
  // Targets and notes recur (a handful of texts per run): their JSON bytes made once (quotedBytes).
  const target = targetText ? quotedBytes(targetText) : NO_FRAME;
  const note = noteText ? quotedBytes(noteText) : NO_FRAME;
  if (target === null || note === null) return false;
  const check = checksum?.length ? JSON.stringify(checksum) : '';
  const dataLen = data !== undefined ? data.out.length - data.metaLen : 0;
  // Numbers take at most 16 digits (< 2^53); the keys and punctuation under 200 bytes.
  const most = 200 + 6 * 16 + sum.length + mid.text.length + target.length + note.length + check.length + 2 * dataLen;
  if (most > OUT_BLOCK) return false;
  if (outUsed + most > lineFlushAt) {
    flush();
    if (lineFlushAt !== OUT_BLOCK) {
      // The first time: the next line's index and seconds made again (the same bytes), so that those branches too
      // have their calls' type feedback before V8 optimises putLine.
      lineFlushAt = OUT_BLOCK;
      indexLast = -2;
      secondsLast = -1;
    }
  }
  // The line is written at `o`, a local (the put* helpers take it and return where they stopped): the block's
  // fill level `outUsed` (module state, a context slot) is read once here and stored once at the end.
  const buf = outBuf;
  const start = outUsed;
  // The middle's bytes are checked once, when its text is made (middleOf).
  if (mid.bytes === undefined) return false;
  // `{"packet":` INDEX `,"ts":"` SECONDS `.`: the last line's with its index counted up by one in place, one copy, when
  // this line's index is the next and its seconds the same (nearly always); else made afresh, and kept.
  let o: number;
  const h = headBytes;
  let i = headIndexEnd - 1;
  if (index === headIndex + 1 && tsSec === secondsLast && index <= 0x7fffffff) {
    while (i >= J_PACKET.length && h[i] === 57) h[i--] = 48;
  } else i = -1;
  if (i >= J_PACKET.length) {
    h[i]!++;
    headIndex = index;
    buf.set(headView, start);
    o = start + headView.length;
  } else {
    o = putIndex(buf, index, putBytes(buf, J_PACKET, start));
    const indexEnd = o - start;
    o = putSeconds(buf, tsSec, o);
    const n = o - start;
    if (n <= h.length && index <= 0x7fffffff) {
      for (let k = 0; k < n; k++) h[k] = buf[start + k]!;
      if (headView.length !== n) headView = h.subarray(0, n);
      headIndexEnd = indexEnd;
      headIndex = index;
    } else headIndex = -2;
  }
  o = putNanos(buf, nanos, o);
  // From "len" to the summary's closing quote: the bytes the last packet of this cached summary had, when its lengths
  // were the same (the same text: the same bytes); and with them the middle's, when it was the same the last two times.
  const tail = slot >= 0 ? summaryTails[slot] : undefined;
  if (tail !== undefined && tail.sum === sum && tail.len === wireLen && tail.capLen === capLen) {
    if (tail.joinedMid === mid) {
      const j = tail.joined!;
      buf.set(j, o);
      o += j.length;
    } else {
      const at = o;
      buf.set(tail.bytes, o);
      o += tail.bytes.length;
      buf.set(mid.bytes, o);
      o += mid.bytes.length;
      // The same middle as last time on this summary: the two joined, for the next packets like it (one copy each).
      if (tail.lastMid === mid) {
        const n = o - at;
        if (tail.store.length < n) tail.store = new Uint8Array(Math.max(n, 2 * tail.store.length));
        const b = tail.store;
        for (let i = 0; i < n; i++) b[i] = buf[at + i]!;
        tail.joined = b.subarray(0, n);
        tail.joinedMid = mid;
      }
      tail.lastMid = mid;
    }
  } else {
    const at = o;
    o = putBytes(buf, J_LEN, o);
    o = putUint(buf, wireLen, o);
    o = putBytes(buf, J_CAPLEN, o);
    o = putUint(buf, capLen, o);
    o = putBytes(buf, J_SUMMARY, o);
    o = putText(buf, sum, true, o);
    if (o < 0) return false;
    buf[o++] = 34; // "
    if (slot >= 0) {
      // A copy (Buffer's slice is a view), into the slot's array when it has the length (another wire length of
      // as many digits, the usual miss): no allocation then.
      const n = o - at;
      if (tail !== undefined && tail.bytes.length === n) {
        const b = tail.bytes;
        for (let i = 0; i < n; i++) b[i] = buf[at + i]!;
        tail.sum = sum;
        tail.len = wireLen;
        tail.capLen = capLen;
        tail.lastMid = mid;
        tail.joinedMid = undefined;
      } else summaryTails[slot] = { sum, len: wireLen, capLen, bytes: new Uint8Array(buf.subarray(at, o)), lastMid: mid, joinedMid: undefined, joined: undefined, store: tail?.store ?? NO_FRAME };
    }
    buf.set(mid.bytes, o);
    o += mid.bytes.length;
  }
  if (queue) {
    o = putBytes(buf, J_QUEUE, o);
    o = putUint(buf, queue, o);
  }
  if (copied) {
    o = putBytes(buf, J_COPIED, o);
    o = putUint(buf, copied, o);
  }
  if (target.length !== 0) {
    o = putBytes(buf, J_TARGET, o);
    buf.set(target, o);
    o += target.length;
  }
  if (note.length !== 0) {
    o = putBytes(buf, J_NOTE, o);
    buf.set(note, o);
    o += note.length;
  }
  if (truncated) o = putBytes(buf, J_TRUNCATED, o);
  if (invalidAction) o = putBytes(buf, J_INVALID, o);
  if (check) {
    o = putText(buf, check, false, putBytes(buf, J_CHECKSUM, o));
    if (o < 0) return false;
  }
  if (data !== undefined) {
    o = putBytes(buf, J_DATA, o);
    const b = data.out;
    for (let i = data.metaLen; i < b.length; i++) {
      const v = b[i]!;
      buf[o++] = HEX_DIGITS[v >> 4]!;
      buf[o++] = HEX_DIGITS[v & 15]!;
    }
    buf[o++] = 34;
  }
  buf[o++] = 125; // }
  buf[o++] = 10;
  outUsed = o;
  return true;
}

const ascii = (t: string): Uint8Array => Uint8Array.from(t, (c) => c.charCodeAt(0));
const J_PACKET = ascii('{"packet":');
const J_TS = ascii(',"ts":"');
const J_LEN = ascii('","len":');
const J_CAPLEN = ascii(',"caplen":');
const J_SUMMARY = ascii(',"summary":"');
const J_QUEUE = ascii(',"queue":');
const J_COPIED = ascii(',"copied":');
const J_TARGET = ascii(',"target":');
const J_NOTE = ascii(',"note":');
const J_TRUNCATED = ascii(',"truncated":true');
const J_INVALID = ascii(',"invalidAction":true');
const J_CHECKSUM = ascii(',"checksum":');
const J_DATA = ascii(',"data":"');
const HEX_DIGITS = ascii('0123456789abcdef');

/**
 * Summaries of frames of a shape seen before (see SummaryCache), and per cached summary the jsonl bytes from "len" to
 * the summary's closing quote as the last packet with that summary had them.
 */
const summaries = new SummaryCache();
/** The batch being settled (its bytes, and the offset of the frame in hand) while `xdp-lens run` settles one; else NO_FRAME. */
const batchFrame = { bytes: NO_FRAME, off: 0 };
/**
 * Per summary slot: its "len" to closing quote bytes (`bytes`), the middle the last packet with them had (`lastMid`),
 * and `joined`: those bytes and `joinedMid`'s joined (in `store`), written with one copy.
 */
interface SummaryTail {
  sum: string;
  len: number;
  capLen: number;
  bytes: Uint8Array;
  lastMid: Middle | undefined;
  joinedMid: Middle | undefined;
  joined: Uint8Array | undefined;
  store: Uint8Array;
}
const summaryTails = new Array<SummaryTail | undefined>(SummaryCache.SLOTS).fill(undefined);

// putLine's writers: each writes into `buf` (the output block) at `o` and returns where it stopped (putText -1 when
// it cannot write the text); the caller made room.

function putBytes(buf: Uint8Array, b: Uint8Array, o: number): number {
  for (let i = 0; i < b.length; i++) buf[o++] = b[i]!;
  return o;
}

/** 10^0 .. 10^9 (putUint). */
const POW10 = Array.from({ length: 10 }, (_, i) => 10 ** i);
/** "00" to "99": two digits per division (putUint, putNanos). */
const DIGIT_PAIRS = ascii(Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''));

/**
 * putLine's `{"packet":` INDEX `,"ts":"` SECONDS `.` of the last line (headView: the first bytes of headBytes), the
 * index's digits ending at headIndexEnd, and that index (-2: none kept).
 */
const headBytes = new Uint8Array(64);
let headView = headBytes.subarray(0, 0);
let headIndexEnd = 0;
let headIndex = -2;

/** putIndex's last number and its digits; putSeconds' last seconds and `,"ts":"` SECONDS `.` (16 digits at most). */
let indexLast = -2;
let indexDigits = 0;
const indexBytes = new Uint8Array(16);
let secondsLast = -1;
let secondsLen = 0;
const secondsBytes = new Uint8Array(32);

/**
 * A packet's index as putUint writes it: the digits of the index before, counted up by one in place when it is the
 * next (nearly always), else made again.
 */
function putIndex(buf: Uint8Array, n: number, o: number): number {
  const d = indexBytes;
  let k = indexDigits;
  if (n === indexLast + 1 && n <= 0x7fffffff) {
    let i = k - 1;
    while (i >= 0 && d[i] === 57) d[i--] = 48;
    if (i >= 0) d[i]!++;
    else {
      // 9...9 + 1: one more digit, 1 then zeros.
      d[0] = 49;
      d[k++] = 48;
      indexDigits = k;
    }
  } else {
    k = indexDigits = putUint(buf, n, o) - o;
    for (let i = 0; i < k; i++) d[i] = buf[o + i]!;
  }
  indexLast = n;
  for (let i = 0; i < k; i++) buf[o++] = d[i]!;
  return o;
}

/** `,"ts":"` SECONDS `.`: the last seconds' bytes again while they are the same (packets a second apart or closer). */
function putSeconds(buf: Uint8Array, sec: number, o: number): number {
  if (sec !== secondsLast) {
    const at = o;
    o = putUint(buf, sec, putBytes(buf, J_TS, o));
    buf[o++] = 46; // .
    const n = (secondsLen = o - at);
    for (let i = 0; i < n; i++) secondsBytes[i] = buf[at + i]!;
    secondsLast = sec;
    return o;
  }
  const b = secondsBytes;
  const n = secondsLen;
  for (let i = 0; i < n; i++) buf[o++] = b[i]!;
  return o;
}

/** Nanoseconds (0 <= n < 10^9) as nine digits with leading zeros. */
function putNanos(buf: Uint8Array, n: number, at: number): number {
  const end = at + 9;
  let o = end;
  for (let i = 0; i < 4; i++) {
    const q = (n / 100) | 0;
    const r = (n - q * 100) * 2;
    buf[--o] = DIGIT_PAIRS[r + 1]!;
    buf[--o] = DIGIT_PAIRS[r]!;
    n = q;
  }
  buf[--o] = 48 + n;
  return end;
}

/** A whole number below 2^53, as JSON.stringify writes it. */
function putUint(buf: Uint8Array, n: number, at: number): number {
  if (n > 0x7fffffff) {
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    const end = at + digits;
    let o = end;
    do {
      const q = Math.floor(n / 10);
      buf[--o] = 48 + (n - q * 10);
      n = q;
    } while (n > 0);
    return end;
  }
  // Below 2^31 (nearly every count): integer division. The digits counted in a loop (a chain of comparisons has
  // branches first taken after the function was optimized, e.g. at packet 100,000, which throws that code away).
  let digits = 1;
  while (digits < 10 && n >= POW10[digits]!) digits++;
  const end = at + digits;
  let o = end;
  while (n >= 100) {
    const q = (n / 100) | 0;
    const r = (n - q * 100) * 2;
    buf[--o] = DIGIT_PAIRS[r + 1]!;
    buf[--o] = DIGIT_PAIRS[r]!;
    n = q;
  }
  if (n >= 10) {
    buf[--o] = DIGIT_PAIRS[n * 2 + 1]!;
    buf[--o] = DIGIT_PAIRS[n * 2]!;
  } else buf[--o] = 48 + n;
  return end;
}

/**
 * Text as its bytes at `o` in the output block: -1 at a character outside ASCII (JSON text), or, with `plain`, outside
 * what JSON.stringify leaves as it is inside quotes (a quote, a backslash, a control character).
 */
function putText(buf: Uint8Array, t: string, plain: boolean, o: number): number {
  // Buffer's own encoder writes it (the text is often a concatenation, whose characters one by one are slow to
  // read), then the bytes are checked: any character outside ASCII left a byte above 0x7f, so t.length bytes that
  // are all ASCII are the text itself. The caller made room for t.length bytes.
  const n = (outBuf as unknown as Utf8Writer).utf8Write(t, o, OUT_BLOCK - o);
  if (n !== t.length) return -1;
  const end = o + n;
  if (plain) {
    for (let i = o; i < end; i++) {
      const c = buf[i]!;
      if (c > 0x7e || c < 0x20 || c === 34 || c === 92) return -1;
    }
  } else {
    for (let i = o; i < end; i++) if (buf[i]! > 0x7e) return -1;
  }
  return end;
}

/** Text that JSON.stringify leaves as it is (in quotes): printable ASCII without quote or backslash. */
const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * The record's fields from "action" to "path", which most packets share with a packet shortly before (the same
 * action, outcome, exit and driver path): the last MIDDLES texts kept, with what each was made from (strings and line
 * objects compared by identity, so a miss only costs the text being made again) and, when the text is ASCII, its bytes.
 */
interface Middle {
  action: string;
  outcome: string;
  retval: number;
  ret: ReturnLoc | undefined;
  exitLoc: unknown;
  insn: number;
  program: string;
  path: string;
  text: string;
  /** The text's bytes; undefined when it holds anything but ASCII (packetJsonOut then leaves the line to packetJson). */
  bytes: Uint8Array | undefined;
}
const MIDDLES = 16;
const middles: Middle[] = [];
let middleNext = 0;
function middleOf(r: DriverPacket, ret: ReturnLoc | undefined): Middle {
  const run = r.run;
  return middleFor(r.action, r.outcome, r.retval, ret, run.exitLoc, run.exitInsn, run.tailCalls > 0 ? run.exitProgram : '', r.path);
}

/**
 * middleOf of a packet without a fault by its fields (`program`: the program it exited from after a tail call, else
 * ''): the last packets' middle when one was made from the same.
 */
function middleFor(action: Action, outcome: string, retval: number, ret: ReturnLoc | undefined, exitLoc: SourceLoc | undefined, insn: number, program: string, path: string): Middle {
  for (let i = 0; i < middles.length; i++) {
    const m = middles[i]!;
    if (action === m.action && outcome === m.outcome && retval === m.retval && ret === m.ret && exitLoc === m.exitLoc && insn === m.insn && program === m.program && path === m.path) return m;
  }
  const text = middleText(action, outcome, retval, undefined, ret, exitLoc, insn, program, path);
  const bytes = /[^\x00-\x7e]/.test(text) ? undefined : Uint8Array.from(Buffer.from(text, 'latin1'));
  const m: Middle = { action, outcome, retval, ret, exitLoc, insn, program, path, text, bytes };
  if (middles.length < MIDDLES) middles.push(m);
  else {
    middles[middleNext] = m;
    middleNext = (middleNext + 1) % MIDDLES;
  }
  return m;
}

/** The record's fields from "action" to "path". */
function jsonMiddle(r: DriverPacket, ret: ReturnLoc | undefined): string {
  return middleText(r.action, r.outcome, r.retval, r.fault, ret, r.run.exitLoc, r.run.exitInsn, r.run.tailCalls > 0 ? r.run.exitProgram : '', r.path);
}

/** jsonMiddle by the packet's fields (`program`: as middleFor's). */
function middleText(action: Action, outcome: string, retval: number, fault: Fault | undefined, ret: ReturnLoc | undefined, exitLoc: SourceLoc | undefined, insn: number, program: string, path: string): string {
  let s = `,"action":${quoted(action)},"outcome":${quoted(outcome)},"retval":${retval}`;
  // exitLocation's fields, without the object.
  if (!fault && ret) {
    s += `,"file":${quoted(ret.file)},"line":${num(ret.line)},"column":${num(ret.column)}`;
    if (exitLoc && exitLoc.line !== ret.line) s += `,"exitLine":${num(exitLoc.line)}`;
  } else {
    const loc = fault?.loc ?? exitLoc;
    if (loc) {
      if (loc.file !== undefined) s += `,"file":${quoted(loc.file)}`;
      if (loc.line !== undefined) s += `,"line":${num(loc.line)}`;
      if (loc.column !== undefined) s += `,"column":${num(loc.column)}`;
    }
  }
  if (insn >= 0) s += `,"insn":${insn}`;
  if (program !== '') s += `,"exitProgram":${quoted(program)}`;
  return s + `,"path":${quoted(path)}`;
}

/** --filter: a parse error names the column, with the filter and a caret under it (exit status 2). */
function displayFilter(text: string): Filter {
  try {
    return compileFilter(text);
  } catch (e) {
    if (e instanceof FilterError) throw new XdpLensError(`--filter: ${formatFilterError(text, e)}`);
    throw e;
  }
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** What a display filter sees of a packet: the frame as received and its result. */
function packetFacts(pkt: CapturedPacket, r: DriverPacket, ret: ReturnLoc | undefined, wantModified: boolean, record?: Partial<PacketFacts>): PacketFacts {
  const loc = exitLocation(r, ret);
  const after = r.out.subarray(r.metaLen);
  return {
    ...record,
    index: pkt.index,
    frame: pkt.frame,
    wireLen: pkt.wireLen,
    capLen: pkt.capLen,
    action: r.action,
    retval: r.retval,
    outcome: r.outcome,
    path: r.path,
    file: loc.file,
    line: loc.line,
    fault: r.fault?.kind,
    target: r.target,
    queue: r.queue,
    // Compared only for a filter that names it.
    modified: wantModified && Buffer.compare(after, pkt.frame) !== 0,
    printk: r.run.printk,
    summary: () => summarize(pkt.frame),
  };
}

/** basename() of the few files exits are in, computed once each. */
const baseNames = new Map<string, string>();
function baseName(file: string): string {
  let b = baseNames.get(file);
  if (b === undefined) baseNames.set(file, (b = basename(file)));
  return b;
}

/** `relNs`: ns since the first packet (Number of the BigInt difference: the same value). */
/** The link type of the last table row whose Ethernet header was made (-1: the row's was captured), per run. */
const tableLink = { last: -1 };

function tableRow(pkt: CapturedPacket, r: DriverPacket, relNs: number, ret?: ReturnLoc): string {
  // A pcapng simple packet block has no timestamp: no time to show (tshark shows none either).
  const t = pkt.untimed ? '-' : (relNs / 1e9).toFixed(6);
  let summary = summaries.summarize(pkt.frame);
  if (summary.length > 58) summary = summary.slice(0, 57) + '…';
  const loc = r.fault?.loc ?? ret ?? r.run.exitLoc;
  const where = loc ? `${baseName(loc.file)}:${loc.line}` : '';
  let action: string = r.action;
  if (r.invalidAction) action = `ret ${r.retval}!`;
  let line = `${String(pkt.index).padStart(6)}  ${t.padEnd(12)} ${String(pkt.wireLen).padStart(5)}  ${summary.padEnd(58)} ${action.padEnd(13)} ${where}`;
  if (pkt.truncated) line += `\n        captured ${pkt.capLen} of ${pkt.wireLen} bytes (snap length): ran on those`;
  // A made Ethernet header, said under the first row of each run of rows of its link type (a mixed capture: each switch).
  const made = pkt.ethernetHeader !== undefined ? pkt.linkType : -1;
  if (made >= 0 && made !== tableLink.last) line += `\n        ${madeHeaderText(made, pkt.ethernetHeader!)} (README "Captures")`;
  tableLink.last = made;
  if (r.outcome.includes(':')) line += `\n        outcome: ${r.outcome}`;
  if (r.fault) line += `\n        fault ${r.fault.kind} at insn ${r.fault.insn}: ${r.fault.message}`;
  const u = r.run.uninitStackRead;
  if (u) line += `\n        undefined value${u.loc ? ` at ${basename(u.loc.file)}:${u.loc.line}` : ''}: ${u.message}`;
  if (r.invalidAction) line += `\n        returned ${r.retval}, not an XDP action: the driver drops it as XDP_ABORTED`;
  if (r.path !== 'build_skb' && r.path !== 'page_pool_recycle' && r.path !== 'xdp_tx') line += `\n        driver: ${r.path}${r.target ? ` -> ${r.target}` : ''}${r.note ? ` (${r.note})` : ''}`;
  else if (r.note) line += `\n        driver: ${r.note}`;
  for (const p of r.run.printk) line += `\n        printk: ${p}`;
  return line;
}

function cmdCompare(argv: string[]): number {
  const { values, positionals } = parseArgsJoined({
    args: argv,
    allowPositionals: true,
    options: {
      program: { type: 'string' },
      limit: { type: 'string' },
      format: { type: 'string', default: 'text' },
      maps: { type: 'string' },
      seed: { type: 'string' },
      budget: { type: 'string' },
      'max-entries': { type: 'string', multiple: true },
      I: { type: 'string', short: 'I', multiple: true },
      cflag: { type: 'string', multiple: true },
      btf: { type: 'string' },
      engine: { type: 'string' },
    },
  });
  arity('compare', positionals, ['PROGRAM', 'CAPTURE']);
  const engine = engineFlag(values.engine);
  if (values.format !== 'text' && values.format !== 'json') throw new XdpLensError(`--format takes text or json, not '${values.format}'`);
  const [programPath, capturePath] = positionals as [string, string];
  const limit = intOpt(values.limit, 'limit', 200);
  if (limit > COMPARE_MAX) throw new XdpLensError(`--limit is out of range for compare: ${limit} (accepted: 1 to ${COMPARE_MAX}; each packet is a bpftool run)`);
  const { object, objectPath } = loadProgramFileWithObject(programPath, { includeDirs: values.I, clangFlags: values.cflag, btf: values.btf });
  for (const n of object.notes ?? []) err(`xdp-lens: note: ${n}\n`);
  if (values.btf) err(`xdp-lens: note: --btf changes only the simulator's side: the kernel resolves CO-RE relocations against its own BTF, so where the layouts differ the two sides are expected to differ\n`);
  const frames: { frame: Uint8Array; tsNs: bigint; index: number }[] = [];
  const reader = openCapture(capturePath, { beforeWait: flush, otherLinks: true });
  let captureError: CaptureError | undefined;
  let outgoing = 0;
  let otherLink = 0;
  try {
    while (frames.length < limit) {
      const p = reader.next();
      if (!p) break;
      // Sent by the capturing host: XDP never runs on it (as `run` leaves it out).
      if (p.outgoing) outgoing++;
      else if (p.otherLink) otherLink++;
      else frames.push({ frame: p.frame, tsNs: p.tsNs, index: p.index });
    }
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    captureError = e;
  } finally {
    reader.close();
  }
  if (!frames.length && otherLink && !captureError) {
    err(`xdp-lens: ${nothingRanError(capturePath, otherLink, reader.notRunLinks)}\n`);
    return 2;
  }
  const r = compareWithKernel(objectPath, object, frames, {
    program: values.program,
    maps: values.maps ? readJson(values.maps, '--maps', INPUT_LIMITS.maps) : undefined,
    mapsFile: values.maps,
    seed: intOpt(values.seed, 'seed', 1),
    budget: values.budget ? intOpt(values.budget, 'budget', 1_000_000) : undefined,
    maxEntries: mapLoadFlags(values['max-entries'], undefined).maxEntries,
    engine,
  });
  if (values.format === 'json') out(JSON.stringify(r));
  else out(formatComparison(r, `${programPath} on ${capturePath}: simulator vs kernel`).trimEnd());
  if (outgoing) err(`xdp-lens: note: ${OUTGOING_NOTE(outgoing)}\n`);
  if (otherLink) err(`xdp-lens: note: ${OTHER_LINK_NOTE(otherLink)}\n`);
  if (captureError) err(`xdp-lens: ${captureError.message}${growingHint(capturePath, captureError)}\n`);
  if (!r.available) {
    err(`xdp-lens: ${r.reason}\n`);
    return 2;
  }
  return r.differing > 0 || r.mapsDiffering > 0 ? 1 : captureError ? 2 : 0;
}

function cmdDiff(argv: string[]): number {
  const { values, positionals } = parseArgsJoined({
    args: argv,
    allowPositionals: true,
    options: {
      rev: { type: 'string' },
      program: { type: 'string' },
      format: { type: 'string', default: 'table' },
      maps: { type: 'string' },
      seed: { type: 'string' },
      budget: { type: 'string' },
      limit: { type: 'string' },
      driver: { type: 'string', default: 'native' },
      profile: { type: 'string', default: DEFAULT_PROFILE },
      queues: { type: 'string' },
      I: { type: 'string', short: 'I', multiple: true },
      cflag: { type: 'string', multiple: true },
      btf: { type: 'string' },
    },
  });
  const rev = values.rev;
  if (rev !== undefined ? positionals.length !== 2 : positionals.length !== 3)
    throw new XdpLensError(`diff takes OLD NEW CAPTURE, or --rev REV FILE CAPTURE\n\n${USAGE}`);
  if (values.format !== 'table' && values.format !== 'jsonl') throw new XdpLensError(`--format is table or jsonl, not '${values.format}'`);
  const mode = values.driver as DriverMode;
  if (!DRIVER_MODES.includes(mode)) throw new XdpLensError(`--driver is one of ${DRIVER_MODES.join(', ')}, not '${values.driver}'`);
  const newPath = rev !== undefined ? positionals[0]! : positionals[1]!;
  const capture = positionals[positionals.length - 1]!;
  const old = rev !== undefined ? fileAtRevision(newPath, rev) : undefined;
  const oldPath = old?.path ?? positionals[0]!;
  const includeDirs = [...(values.I ?? []), ...(old ? [dirname(resolve(newPath))] : [])];
  const jsonlOut = values.format === 'jsonl';
  // The header goes out with the first row or the summary: an input error before them leaves stdout empty.
  let headerOut = jsonlOut;
  const header = () => {
    if (headerOut) return;
    headerOut = true;
    out(`diff ${rev !== undefined ? `${newPath}@${rev}` : oldPath} -> ${newPath} on ${capture}`);
    out('');
  };
  try {
    const r = diffPrograms(oldPath, newPath, capture, {
      program: values.program,
      compile: { includeDirs, clangFlags: values.cflag, btf: values.btf },
      maps: values.maps ? readJson(values.maps, '--maps', INPUT_LIMITS.maps) : undefined,
      mapsFile: values.maps,
      seed: intOpt(values.seed, 'seed', 1),
      budget: values.budget !== undefined ? intOpt(values.budget, 'budget', 1_000_000) : undefined,
      mode,
      profile: values.profile ?? DEFAULT_PROFILE,
      queues: intOpt(values.queues, 'queues', 1),
      limit: values.limit !== undefined ? intOpt(values.limit, 'limit', 1) : undefined,
      names: { old: rev !== undefined ? `${newPath}@${rev}` : oldPath, new: newPath },
      onPacket: (c) => {
        header();
        out(jsonlOut ? JSON.stringify(c) : formatDiffRow(c));
      },
    });
    header();
    const summary = { old: r.old, new: r.new, capture: r.capture, program: r.program, packets: r.packets, changed: r.changed.length, transitions: r.transitions, actionDelta: r.actionDelta, ...(r.captureError ? { captureError: r.captureError } : {}), ...(r.linesNote ? { linesNote: r.linesNote } : {}) };
    if (jsonlOut) out(JSON.stringify({ summary, maps: r.maps }));
    else {
      if (r.changed.length) out('');
      for (const l of formatDiffSummary(r)) out(l);
    }
    if (r.captureError) {
      err(`xdp-lens: ${r.captureError}\n`);
      return 2;
    }
    return r.changed.length || r.maps.length ? 1 : 0;
  } finally {
    old?.cleanup();
  }
}

/** Packets `compare` runs at most (each is one bpftool process). */
const COMPARE_MAX = 100_000;

async function cmdCheck(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgsJoined({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'text' },
      driver: { type: 'string', default: 'native' },
      'source-only': { type: 'boolean', default: false },
      kernel: { type: 'boolean', default: false },
      'compile-commands': { type: 'string' },
      I: { type: 'string', short: 'I', multiple: true },
      cflag: { type: 'string', multiple: true },
      btf: { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new XdpLensError(`check takes one or more C files\n\n${USAGE}`);
  const format = values.format as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) throw new XdpLensError(`--format takes ${REPORT_FORMATS.join(', ')}, not '${values.format}'`);
  const mode = values.driver as DriverMode;
  if (!DRIVER_MODES.includes(mode)) throw new XdpLensError(`--driver takes ${DRIVER_MODES.join(', ')}, not '${values.driver}'`);
  if (values.btf) {
    const t = loadBtfFile(values.btf);
    if (typeof t === 'string') throw new XdpLensError(t);
  }
  // A database given on the command line that cannot be read is bad usage; one without an entry for a file is a note.
  const dbProblem = values['compile-commands'] !== undefined ? compileCommandsProblem(values['compile-commands']) : undefined;
  if (dbProblem) throw new XdpLensError(dbProblem);
  const findings: Finding[] = [];
  const notes = new Set<string>();
  // A file that cannot be read (missing, a device, an object) is reported after the findings of the others (exit 2);
  // it threw them away.
  const unreadable: string[] = [];
  for (const file of positionals) {
    let text: string;
    try {
      text = checkInput(file);
    } catch (e) {
      if (!(e instanceof XdpLensError || e instanceof InputFileError)) throw e;
      unreadable.push(e.message);
      continue;
    }
    const r = await analyzeFile(file, text, {
      driverMode: mode,
      bytecode: !values['source-only'],
      includeDirs: values.I,
      flags: values.cflag,
      compileCommands: values['compile-commands'],
      kernel: values.kernel,
      btf: values.btf,
    });
    for (const f of r.findings) findings.push(f);
    for (const n of r.notes) notes.add(n);
  }
  for (const n of notes) err(`xdp-lens: ${n}\n`);
  if (format === 'json') out(formatJson(findings));
  else if (format === 'sarif') out(formatSarif(findings, { version: VERSION, baseDir: process.cwd(), notes: [...notes] }));
  else if (findings.length) out(formatText(findings));
  if (unreadable.length) {
    for (const m of unreadable) err(`xdp-lens: ${m}\n`);
    return 2;
  }
  return findings.some((f) => f.severity === 'error') ? 1 : 0;
}

/** The text of a file given to `check`: a regular file of C source (not an object, not binary data). */
function checkInput(file: string): string {
  const bytes = readInputFile(file, 'input', INPUT_LIMITS.source);
  if (bytes.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])))
    throw new XdpLensError(`${file} is an ELF object, not C source: check analyses C files (xdp-lens run takes objects)`);
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new XdpLensError(`${file}: byte offset ${nul}: a NUL byte; check analyses C source text, and this is binary data`);
  return bytes.toString('utf8');
}

/** Replaced at bundle time with package.json's version; the fallback serves runs from source. */
declare const __XDP_LENS_VERSION__: string | undefined;
const VERSION = typeof __XDP_LENS_VERSION__ === 'string' ? __XDP_LENS_VERSION__ : '0.0.0-dev';

/** `--debug` anywhere on the command line: internal errors show their stack. */
const DEBUG = process.argv.includes('--debug') || process.env.XDP_LENS_DEBUG === '1';

/** A bug of ours, not a problem with the input: what to report, with the stack only under --debug. */
function internalError(e: unknown): string {
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const detail = DEBUG && e instanceof Error && e.stack ? `\n${e.stack}` : '\n(run again with --debug to see where)';
  return (
    `xdp-lens: internal error in xdp-lens ${VERSION}: ${what}\n` +
    `This is a bug in xdp-lens, not a problem with your input: please report it with the command line, the version ` +
    `and, if you can, the input files.${detail}\n`
  );
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv.filter((a) => a !== '--debug');
  const notUtf8 = nonUtf8Argument(argv);
  if (notUtf8) {
    err(`xdp-lens: argument ${notUtf8} is not valid UTF-8 (a file name in another encoding?): Node.js, which runs xdp-lens, cannot pass such a name on; rename the file, or give a symlink to it whose name is UTF-8\n`);
    return 2;
  }
  try {
    switch (cmd) {
      case 'run':
        return cmdRun(rest);
      case 'check':
        return await cmdCheck(rest);
      case 'compare':
        return cmdCompare(rest);
      case 'diff':
        return cmdDiff(rest);
      case 'test':
        return cmdTest(rest, out);
      case 'debug-adapter': {
        // Lives until the client disconnects (the adapter ends the process).
        const { runDebugAdapter } = await import('./debug/adapter.ts');
        runDebugAdapter();
        return await new Promise<number>(() => {});
      }
      case 'version':
      case '--version':
      case '-V':
        if (rest.length) throw new XdpLensError(`${cmd} takes no arguments, not '${rest[0]}'`);
        out(`xdp-lens ${VERSION}`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        err(`xdp-lens: unknown command '${cmd}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof XdpLensError || e instanceof CaptureError || e instanceof InputFileError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`xdp-lens: ${firstLines((e as Error).message)}\n`);
      return 2;
    }
    throw e;
  }
}

/** An error of many lines (a --routes or --conntrack file of 100,000 bad entries): the first 50 and how many more. */
function firstLines(message: string, max = 50): string {
  let at = -1;
  for (let i = 0; i < max; i++) {
    at = message.indexOf('\n', at + 1);
    if (at < 0) return message;
  }
  let more = 0;
  for (let i = at; i >= 0; i = message.indexOf('\n', i + 1)) more++;
  return `${message.slice(0, at)}\nxdp-lens: ... and ${more} more line${more === 1 ? '' : 's'} of problems (the first ${max} are shown)`;
}

main(process.argv.slice(2)).then(
  (code) => {
    flush();
    process.exitCode = code;
  },
  (e) => {
    err(internalError(e));
    process.exitCode = 70;
  },
);
