// Custom LSP messages of the XDP Lens server, declared once. The client may import these types (they carry no
// runtime dependency on the simulator). Direction is noted on each.

/** Settings under `xdpLens` (workspace/configuration). */
export interface XdpLensSettings {
  clang: { path: string; flags: string[] };
  includePaths: string[];
  /** Path of a compile_commands.json (absolute, or relative to the workspace folder). */
  compileCommands: string;
  driver: { mode: 'native' | 'readonly-page' | 'generic'; profile: string; queues: number };
  /** Analyse the compiled object on save (needs clang). */
  analyzeOnSave: boolean;
  /** On save, also ask the running kernel's verifier (root, bpftool, bpffs). */
  kernelVerifier: boolean;
  /** BTF file CO-RE relocations resolve against (absolute, or relative to the workspace folder); '' = this kernel's. */
  btf: string;
  /** Engine of Run on Capture: the reference interpreter or the compiled engine (same results). */
  engine: 'interp' | 'compiled';
  /** tcpdump, which captures live traffic for Run on Live Traffic (a name on PATH or a path). */
  tcpdump: { path: string };
  /** Run on Live Traffic: a BPF capture filter ('' = every packet) and the bounds of one live run. */
  live: { filter: string; maxPackets: number; maxCaptureMB: number };
}

export const DEFAULT_SETTINGS: XdpLensSettings = {
  clang: { path: 'clang', flags: [] },
  includePaths: [],
  compileCommands: '',
  driver: { mode: 'native', profile: 'mlx5', queues: 1 },
  analyzeOnSave: true,
  kernelVerifier: false,
  btf: '',
  engine: 'compiled',
  tcpdump: { path: 'tcpdump' },
  live: { filter: '', maxPackets: 100_000, maxCaptureMB: 100 },
};

/** client → server: the compiled program's disassembly with source lines interleaved. */
export const BytecodeRequest = 'xdpLens/bytecode';
export interface BytecodeParams {
  uri: string;
  /** Program (function or section name); default all XDP programs. */
  program?: string;
}
export interface BytecodeResult {
  /** Text for an `xdp-bytecode` document; empty when the file could not be compiled (see `error`). */
  text: string;
  error?: string;
}

/** server → client: state for the status bar. */
export const StatusNotification = 'xdpLens/status';
export interface StatusParams {
  state: 'starting' | 'ready' | 'analysing' | 'error';
  driverMode: string;
  message?: string;
  /**
   * clang could not be found at the last on-save analysis: this note, which says what to install or set. Sent to a
   * client that asked for it (initializationOptions.clangMissingInStatus) instead of a pop-up at the file's opening,
   * so that a missing clang makes one pop-up only, the run's.
   */
  clangMissing?: string;
}

// ---- Running a program on a capture (server/run.ts). Runs live in the server process; results stay there and are
// paged by the client, so a million packets never cross the wire at once.

export type XdpAction = 'XDP_ABORTED' | 'XDP_DROP' | 'XDP_PASS' | 'XDP_TX' | 'XDP_REDIRECT';

/**
 * client → server: compile the document's file on disk, run its XDP program on a capture through the modelled driver.
 * Supports work-done progress (percentage = share of the capture's bytes read) and cancellation: a cancelled run
 * answers with what it has so far and `cancelled: true`.
 */
export const RunRequest = 'xdpLens/run';
export interface RunParams {
  uri: string;
  /** Path of a pcap or pcapng file. */
  capture: string;
  /** Program (function or section name); default the first XDP program. */
  program?: string;
  /** Override the `xdpLens.driver.*` settings for this run. */
  driverMode?: 'native' | 'readonly-page' | 'generic';
  profile?: string;
  queues?: number;
  /** Stop after this many packets. */
  limit?: number;
  /** Write one pcap per action (and per redirect target) into this directory. */
  outDir?: string;
  /** max_entries per map name, as the program's loader sets them (`--max-entries MAP=N`); maps declared with 0
   * default to the number of CPUs. */
  maxEntries?: Record<string, number>;
  /** A `--maps` JSON file (absolute path) seeding the maps before the first packet, as `xdp-lens run --maps` does;
   * the client passes the `xdpLens.maps` setting. Compare with Kernel seeds both sides with the same file. */
  maps?: string;
  /** LSP work-done token created by the client. */
  workDoneToken?: string | number;
}

/** Packets that left the program at one source line with one action. */
export interface RunExit {
  file: string;
  /** 1-based. The last executed `return` line when the source has one on the packet's path, else the exit instruction's line. */
  line: number;
  action: XdpAction;
  count: number;
  /** What the driver carried out for these packets ('dropped: no redirect target', 'passed', ...), with counts. */
  outcomes?: Record<string, number>;
  /** Index of the first packet (in capture order) that left through this line with this action: what a "Debug" lens starts on. */
  firstPacket?: number;
}

/**
 * Packets whose verdict the driver did not carry out as returned, or carried out with a caveat (an outcome with a
 * reason: 'dropped: no redirect target', 'passed: bpf_redirect_map fallback, key absent'), by line: for diagnostics.
 */
export interface RunOutcomeIssue {
  file: string;
  line: number;
  action: XdpAction;
  outcome: string;
  /** The driver's explanation for the first such packet. */
  note?: string;
  count: number;
  firstPackets: number[];
}

export interface RunFault {
  file: string;
  line: number;
  kind: string;
  message: string;
  count: number;
  /** Indices of the first packets that hit it (at most 10). */
  firstPackets: number[];
}

export interface RunSummary {
  runId: string;
  uri: string;
  /** Path of the C file that was compiled. */
  file: string;
  capture: string;
  program: string;
  section: string;
  driver: { mode: string; profile: string; queues: number };
  packets: number;
  byAction: Record<XdpAction, number>;
  /** Packets by outcome: what the driver carried out (see RunExit.outcomes). */
  byOutcome?: Record<string, number>;
  /** Outcomes with a reason, by line (see RunOutcomeIssue). */
  outcomeIssues?: RunOutcomeIssue[];
  exits: RunExit[];
  faults: RunFault[];
  /** Driver counters (ethtool -S style) and page pool counters. */
  counters: Record<string, number>;
  /** Output captures written (with `outDir`). */
  outputs?: string[];
  /** The capture was broken part-way: the run stopped there (the message names the file and byte offset). */
  captureError?: string;
  cancelled?: boolean;
  /** Why exits are shown at the exit instruction rather than at return statements, when they are. */
  attributionNote?: string;
  /**
   * The kernel verifier would refuse this program (XDP Lens's own checks, the bytecode tier, the kernel tier when
   * enabled, or a packet that proved it): the results are what the simulator computes, not what a kernel can run.
   */
  verifierRefuses?: { file?: string; line?: number; message: string; rule: string }[];
  /** Packets that read stack bytes never written (an undefined value in the kernel). */
  uninitStackReads?: number;
  /**
   * Packets the capturing host sent (Linux cooked packet type 4, pcapng outbound): listed in the packets view at their
   * place, not run, not in `packets` nor any count (as `xdp-lens run`'s outgoingNotRun); `outgoingNote` says so in the
   * CLI's words.
   */
  outgoingNotRun?: number;
  outgoingNote?: string;
  /** Packets shorter than an Ethernet header or longer than BPF_PROG_TEST_RUN takes: listed at their place, not run,
   * not in `packets` nor any count (as `xdp-lens run`'s lengthNotRun); `lengthNote` says so in the CLI's words. */
  lengthNotRun?: number;
  lengthNote?: string;
  /** Packets run that the capture's snap length cut short (captured fewer bytes than on the wire; as `xdp-lens run`'s
   * "truncated"): they ran on the captured bytes only; `truncatedNote` says what that means. */
  truncated?: number;
  truncatedNote?: string;
  /** Packets run whose Ethernet header the capture did not hold (raw IP, loopback, NFLOG: made up; Linux cooked: made
   * from the cooked header; as `xdp-lens run`'s ethernetHeaderMadeUp); `linkNote` is the CLI's note on them. */
  ethernetHeaderMadeUp?: number;
  linkNote?: string;
  /** When every row of the packets view (run or not) has the same made Ethernet header: what each row's
   * `ethernetHeaderNote` says ("captured as Linux cooked capture v1 (SLL, 113): Ethernet header made from the cooked header"), said
   * once above the rows instead of on each. */
  everyRowEthernetHeader?: string;
  /** A run on live traffic (xdpLens/runLive): `capture` is the file the traffic was recorded into. */
  live?: RunLiveInfo;
  durationMs: number;
  compileMs: number;
}

/** The answer to `xdpLens/run`: a summary, or an error that prevented any run (compile error, unreadable capture). */
export interface RunResponse {
  summary?: RunSummary;
  error?: string;
}

/**
 * client → server: run the document's XDP program on live traffic: tcpdump (`xdpLens.tcpdump.path`) captures on an
 * interface, each packet runs as it arrives. The traffic is recorded into a pcap file that becomes the run's capture
 * (packet detail, Debug, Save as Test Case re-run from it), bounded by `limit` / `xdpLens.live.maxPackets` and
 * `xdpLens.live.maxCaptureMB`. Work-done progress every half second says the counts per action and outcome, and
 * `xdpLens/runUpdate` carries the summary so far (the run's packets page as they grow). Cancelling the request is the
 * stop button: tcpdump is stopped and the run answers with everything it has. An error answers when tcpdump cannot
 * capture at all (missing, no permission, no such interface, a bad filter), in words a user knows.
 */
export const RunLiveRequest = 'xdpLens/runLive';
export interface RunLiveParams {
  uri: string;
  /** Interface to capture on (a name from /sys/class/net, or 'any'). */
  interface: string;
  /** BPF capture filter (tcpdump expression); default the `xdpLens.live.filter` setting. */
  filter?: string;
  /** Stop after this many packets; default the `xdpLens.live.maxPackets` setting. */
  limit?: number;
  /** Directory the recorded capture goes into (the last few are kept); default a directory under the system's temp. */
  captureDir?: string;
  program?: string;
  driverMode?: 'native' | 'readonly-page' | 'generic';
  profile?: string;
  queues?: number;
  outDir?: string;
  maxEntries?: Record<string, number>;
  maps?: string;
  workDoneToken?: string | number;
}
export interface RunLiveInfo {
  interface: string;
  filter?: string;
  /** The tcpdump command line that captured. */
  command: string;
  /** Still capturing (in `xdpLens/runUpdate`), or why it stopped: 'stopped by the user', a limit reached, tcpdump's error. */
  running?: boolean;
  stopped?: string;
}

/** server → client: the summary of a live run so far, about every half second while it runs. */
export const RunUpdateNotification = 'xdpLens/runUpdate';
export interface RunUpdateParams {
  summary: RunSummary;
}

/**
 * Both ways: one Debug Adapter Protocol message of a debug session the server runs (server/debug.ts). The client's
 * inline debug adapter forwards VS Code's requests; the server sends the adapter's responses and events back. A
 * session starts with its first message (`initialize`) and ends with `xdpLens/dapEnd`, its `disconnect`, or the
 * client going away.
 */
export const DapNotification = 'xdpLens/dap';
export interface DapParams {
  /** The VS Code debug session id. */
  session: string;
  message: unknown;
}
/** client → server: a debug session ended (the server disposes of its adapter). */
export const DapEndNotification = 'xdpLens/dapEnd';
export interface DapEndParams {
  session: string;
}

/** client → server: one page of a run's packets, optionally only those with one action or exit line. */
export const PacketsRequest = 'xdpLens/packets';
export interface PacketsParams {
  runId: string;
  offset: number;
  limit: number;
  action?: XdpAction;
  /** Only packets that left at (or faulted on) this 1-based line. */
  line?: number;
  /** Only packets that faulted. */
  faulted?: boolean;
  /**
   * A display filter (`ip.src == 10.0.0.1 && tcp.dstport == 80`, `action == XDP_DROP`, `fault`, `exit.line == 127`;
   * see simulator/filter.ts), combined with the other conditions. An invalid one answers with `error`.
   */
  filter?: string;
}

/**
 * client → server: run the document's file and another version of it (a git revision, or another file) on one capture,
 * as `xdp-lens diff` does: the packets whose verdict changed, and the change of each action's count per line.
 */
export const DiffVerdictsRequest = 'xdpLens/diffVerdicts';
export interface DiffVerdictsParams {
  uri: string;
  capture: string;
  /**
   * The old version: the file at a git revision (e.g. HEAD), another C file or object, or the previous run: the source
   * of the most recent run of this file held by the server that differs from the file now.
   */
  against: { rev: string } | { file: string } | { previousRun: true };
  program?: string;
  limit?: number;
}
export interface DiffVerdictsResult {
  error?: string;
  /** What the old side was, for titles ("xdp_filter.c@HEAD"). */
  old?: string;
  packets?: number;
  changed?: number;
  /** "XDP_PASS -> XDP_DROP": packets. */
  transitions?: Record<string, number>;
  /** Per action: new count minus old. */
  actionDelta?: Record<string, number>;
  /** Per line of the new source (1-based): "+12 XDP_DROP, -12 XDP_PASS". */
  lines?: { line: number; text: string }[];
  mapsDiffering?: number;
  /** The `xdp-lens diff` table, for a read-only editor tab. */
  text?: string;
}

/**
 * client → server: the pictures of a run, aggregated by the server while it ran (bounded whatever the packet count):
 * actions over capture time, packets per exit line, per RX queue, per outcome, faults. The Run Summary webview.
 */
export const RunStatsRequest = 'xdpLens/runStats';
export interface RunStatsParams {
  runId: string;
}
export interface RunStats {
  packets: number;
  /** The order of every per-action count below. */
  actions: XdpAction[];
  timeline: {
    /** Width of one bucket in ns; bucket i covers [i * bucketNs, (i + 1) * bucketNs) after the first packet. */
    bucketNs: number;
    /** From the first packet to the latest one, ns. */
    spanNs: number;
    /** Per bucket, packets per action (in `actions` order); at most 120 buckets. */
    counts: number[][];
    /** Per bucket, packets that faulted. */
    faults: number[];
    /** Per bucket, packets whose verdict the driver did not carry out as returned. */
    notCarriedOut: number[];
    /** Packets stamped before the capture's first packet (counted in the first bucket). */
    earlier: number;
  };
  /** Per RX queue that received packets, packets per action. */
  queues: { queue: number; counts: number[] }[];
  /** Per exit line and action, most packets first. */
  exits: { file: string; line: number; action: XdpAction; count: number; outcomes: Record<string, number> }[];
  outcomes: Record<string, number>;
  /** By line and kind, most first. */
  faults: { file: string; line: number; kind: string; message: string; count: number }[];
  /** Packets of exit lines, outcomes or fault places beyond the first 500 (counted, not listed). */
  other?: { exits: number; outcomes: number; faults: number };
}
export interface RunStatsResult {
  stats?: RunStats;
  /** The run is no longer held by the server. */
  error?: string;
}

/** client → server: check a display filter as the user types it. */
export const CheckFilterRequest = 'xdpLens/checkFilter';
export interface CheckFilterParams {
  filter: string;
}
export interface CheckFilterResult {
  /** Absent when the filter is valid: the message, and the 0-based position and length of what is wrong. */
  error?: { message: string; position: number; length: number };
}
/** A row of the packets view: a packet run, or one listed at its place and not run. */
export type PacketRow = RunPacketRow | NotRunPacketRow;
interface PacketRowBase {
  index: number;
  /** Seconds since the first packet, 6 decimals (like tcpdump -ttttt). */
  time: string;
  len: number;
  /** Bytes captured, when the capture's snap length cut the packet short (fewer than `len`): it ran on those. */
  capLen?: number;
  summary: string;
  /** The capture did not hold the packet's Ethernet header: where it came from (as `xdp-lens run`'s jsonl), and
   * `ethernetHeaderNote` saying so with the link type ("captured as raw IP (101): Ethernet header made up"). */
  ethernetHeader?: 'made up' | 'from cooked header';
  ethernetHeaderNote?: string;
}
export interface RunPacketRow extends PacketRowBase {
  action: XdpAction;
  retval: number;
  file: string;
  line: number;
  /** What the driver did with the frame (build_skb, page_pool_recycle, xdp_tx, ...). */
  path: string;
  /** What that came to: 'passed', 'dropped: no redirect target', ... (see RunExit.outcomes). */
  outcome?: string;
  fault?: string;
  notRun?: undefined;
}
/** Sent by the capturing host: not run, so no action, return value, exit or driver path (as `xdp-lens run --format jsonl`). */
export interface NotRunPacketRow extends PacketRowBase {
  notRun: 'outgoing' | 'too short' | 'too long';
  action?: undefined;
  retval?: undefined;
  file?: undefined;
  line?: undefined;
  path?: undefined;
  outcome?: undefined;
  fault?: undefined;
}
export interface PacketsResult {
  /** Packets matching the filter. */
  total: number;
  rows: PacketRow[];
  /** Set when the run is no longer held by the server (evicted or restarted). */
  error?: string;
}

/** client → server: everything about one packet, recomputed by re-running the run deterministically up to it. */
export const PacketRequest = 'xdpLens/packet';
export interface PacketParams {
  runId: string;
  index: number;
}
export interface OutputRecord {
  /** `ringbuf`: a RINGBUF map's; `perf`: a PERF_EVENT_ARRAY's. */
  kind: 'ringbuf' | 'perf';
  map: string;
  /** The record's length in bytes. */
  bytes: number;
  /** Hex of its first bytes (at most 64). */
  head: string;
}
export interface MapUpdate {
  map: string;
  /** Hex of the key. */
  key: string;
  /** Hex of the value before and after (absent: no such element); per-CPU maps join the CPUs' values with ' '. */
  before?: string;
  after?: string;
  /**
   * The same, decoded through the map's BTF key and value types (simulator/btf-format.ts; hex where the object has no
   * BTF for them): the key (`6`, `{.saddr = 16843009, .dport = 80}`), the values (per-CPU: `cpu0: 1, cpu1: 0`), and the
   * whole update as one line, `proto_count[6] 0 -> 1` (`(absent)` before an insert, `(deleted)` after a delete).
   */
  keyText?: string;
  beforeText?: string;
  afterText?: string;
  text?: string;
}
export interface PacketDetail {
  index: number;
  time: string;
  summary: string;
  /** As on the packet's row (PacketRowBase): its Ethernet header was not the capture's. */
  ethernetHeader?: 'made up' | 'from cooked header';
  ethernetHeaderNote?: string;
  /** As on the packet's row: the capture's snap length cut the frame to `capLen` of its `len` bytes. */
  len?: number;
  capLen?: number;
  action: XdpAction;
  retval: number;
  file: string;
  line: number;
  path: string;
  outcome?: string;
  note?: string;
  target?: string;
  fault?: { kind: string; message: string; line?: number };
  /** The packet read stack bytes never written: an undefined value in the kernel (what, where, both facts). */
  uninitStackRead?: { line?: number; message: string };
  /** Source lines in the order they executed (consecutive repeats merged), 1-based. */
  lines: { file: string; line: number }[];
  /** Hex of the frame as received and as it left the program (data..data_end and fragments). */
  before: string;
  after: string;
  /** Byte ranges [start, end) of `after` that differ from `before` at the same offset (and bytes past the shorter one). */
  changed: [number, number][];
  printk: string[];
  maps: MapUpdate[];
  /**
   * Records the packet sent to user space, in order: a ring buffer's (bpf_ringbuf_output, or bpf_ringbuf_reserve then
   * submit) or a perf event array's (bpf_perf_event_output, bpf_xdp_output). Absent from older servers and when none.
   */
  records?: OutputRecord[];
  /** The frame's layers as a packet analyser shows them, as received and as it left the program (absent from older servers). */
  layers?: { before: PacketLayer[]; after: PacketLayer[] };
  error?: string;
}

/** One protocol header of a frame (simulator/net/dissect-tree.ts): Ethernet, VLAN, IPv4, TCP, VXLAN, DNS, ... */
export interface PacketLayer {
  /** eth, vlan, arp, ip, ipv6, tcp, udp, icmp, icmpv6, gre, vxlan, geneve, dns, data, eth.trailer. */
  key: string;
  name: string;
  summary: string;
  /** Bytes of the frame the header occupies. */
  offset: number;
  length: number;
  fields: PacketField[];
  /** The header did not fit: what was missing. */
  truncated?: string;
}
export interface PacketField {
  /** Display-filter name (`ip.ttl`, `tcp.options.mss_val`). */
  key: string;
  name: string;
  value: string;
  offset: number;
  length: number;
  /** Bits of a bit field within its bytes. */
  mask?: number;
  children?: PacketField[];
}

/** client → server: the first packets of a capture through BPF_PROG_TEST_RUN (bpftool, root) and the simulator. */
export const CompareKernelRequest = 'xdpLens/compareKernel';
export interface CompareKernelParams {
  uri: string;
  capture: string;
  program?: string;
  /** Packets to compare (default 200). */
  limit?: number;
  /** A --maps JSON file: both sides are seeded with it (the kernel's maps with bpftool map update). */
  maps?: string;
  /** Seed of bpf_get_prandom_u32 on the simulator side (default 1). */
  seed?: number;
}
export interface CompareKernelResult {
  /** False when the kernel cannot run the program here; `reason` says why. */
  available: boolean;
  reason?: string;
  program?: string;
  compared: number;
  differing: number;
  /** Packets that differ only where the simulator's result depends on the clock or bpf_get_prandom_u32. */
  clockRandom?: number;
  /** Data maps whose contents after the last packet differ between the simulator and the kernel. */
  mapsDiffering?: number;
  /** The side-by-side table, for a read-only editor tab. */
  text: string;
}

// ---- The maps of a run (server/maps.ts): every map after the run, decoded through its BTF key and value types.

/** A value decoded through BTF, as a tree the client can expand (simulator/btf-format.ts BtfNode, without numbers). */
export interface MapValueNode {
  name?: string;
  type: string;
  text: string;
  children?: MapValueNode[];
}

/** client → server: the maps of a run as they are after its last packet, one page of entries per map. */
export const MapsRequest = 'xdpLens/maps';
export interface MapsParams {
  runId: string;
  /** Only this map (for paging through a large one). */
  map?: string;
  /** First entry of the page (default 0) and entries per map (default 100, at most 10,000). */
  offset?: number;
  limit?: number;
}
export interface MapEntryView {
  /** Hex of the key; of the value (per-CPU: the CPUs' values joined with ' '; a program or map slot: its name). */
  key: string;
  value: string;
  /** Decoded through BTF (hex without it). */
  keyText: string;
  valueText: string;
  /** Since the run started (after seeding): a new element, a changed one, or one deleted (then `value` is the old). */
  change?: 'added' | 'changed' | 'deleted';
  /** The value when the run started, decoded, for a changed element. */
  beforeText?: string;
  /** The key and value (one per CPU for per-CPU maps) as trees, for maps with BTF types. */
  keyTree?: MapValueNode;
  valueTrees?: MapValueNode[];
}
export interface MapView {
  name: string;
  /** BPF_MAP_TYPE_* without the prefix (`HASH`, `PERCPU_ARRAY`, ...). */
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** C types of the key and value, when BTF gives them. */
  keyType?: string;
  valueType?: string;
  /** Elements after the run (for a large array: the slots listed by the dump), and how many changed since the start. */
  total: number;
  changed: number;
  /** What the pages go through: the elements after the run, then the deleted ones. */
  rows: number;
  /** Entries offset..offset+limit (deleted elements after the present ones). */
  offset: number;
  entries: MapEntryView[];
}
export interface MapsResult {
  maps: MapView[];
  error?: string;
}

/** client → server: the maps after a run in the `--maps` schema, for "Save Current Maps as Seed". */
export const MapsSeedRequest = 'xdpLens/mapsSeed';
export interface MapsSeedParams {
  runId: string;
}
export interface MapsSeedResult {
  /** A document `xdp-lens run --maps` reads back. */
  maps?: Record<string, unknown[]>;
  error?: string;
}
