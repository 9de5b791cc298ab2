// "Compare with Kernel": run the same object on the same packets through the running kernel's BPF_PROG_TEST_RUN
// (with bpftool, as root) and through the simulator, and line the verdicts, output bytes and maps up side by side.
// Both sides keep map state across packets (one loaded program, one Session), as a capture run does.
//
// The kernel side loads only the chosen program (and the XDP programs its PROG_ARRAYs may jump to), with its own
// program type, in a private bpf filesystem that disappears with the run (see kernel-load.ts). `--maps` seeds both
// sides alike: the simulator through its Session, the kernel through `bpftool map update` on the pinned maps (global
// data with a file image, `.data`/`.rodata`, through the object's section bytes, as a skeleton sets them before load).
//
// Values from the clock (bpf_ktime_get_ns, _boot_ns, _coarse_ns, _tai_ns, bpf_jiffies64) and from
// bpf_get_prandom_u32 cannot match between the two sides. Instead of tracking taint inside the interpreter, the
// simulator side is run seven more times with a different clock origin and a different random stream each (the first
// variant's stream is the bitwise complement of the real run's, so any value that depends on even one bit of a random
// number changes; the last two draw only zeros and only ones, so a packet sampled by `random % N == 0` or
// `(random & mask) != 0` in any run is sampled in one of them and skipped in the other; the clock origins are chosen so that bits 0 and 1 of every clock flip, see VARIANT_CLOCKS; one
// variant stops the clock between packets, one runs them 10 us apart and one 20 ms apart, the range the kernel side's
// runs of one bpftool process per packet fall in). Output bytes, return
// values and map bytes that change between these runs depend on those sources; a difference from the kernel there is
// reported as "depends on the clock/random source", not as a disagreement. The limit of this method: a value that
// depends on the clock or random source in a way that happens to come out the same in all eight runs (e.g. `ts > 0`, or a bit of a random number that the other streams repeat) is treated as
// independent, and a difference there is a disagreement; with one variant that complements every random bit and
// clock origins that differ in every byte, this needs a dependence that does not change for any of those inputs.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { LoadedObject, MapDef } from './elf/types.ts';
import { MapType } from './elf/types.ts';
import { Session, actionOf, type SessionOptions } from './session.ts';
import { Prandom } from './vm/helper-impl/prandom.ts';
import { kernelVerifierUnavailable, libbpfCouldNotOpen, parseLoadOutput } from './analysis/verifier.ts';
import { PRIVATE_BPFFS, PROGS_DIR, customBssAsData, isDevmapOrCpumap, loadedAsXdp, type BssRename, legacyMapDefs, legacyMapsAsBtf, objectWithOnly, patchSectionData, pinName, runWithPrivateBpffs, sq } from './kernel-load.ts';

export interface CompareSide {
  retval: number;
  action: string;
  /** Hex of the output packet (data_meta..data_end plus fragments, as test_run returns it). */
  data: string;
}

/** Where the simulator's result depends on the clock or bpf_get_prandom_u32 (it changed between the variant runs). */
export interface ClockRandomDependence {
  retval: boolean;
  length: boolean;
  /** Byte offsets of the output that differ from the kernel and depend on those sources. */
  bytes: number[];
}

export interface CompareRow {
  index: number;
  sim: CompareSide & { fault?: string };
  kernel?: CompareSide;
  kernelError?: string;
  /** 'same': byte for byte; 'clock/random': different only where the simulator's result depends on the clock or
   *  random source; 'differs': a disagreement. */
  status: 'same' | 'clock/random' | 'differs';
  /** status is not 'differs'. */
  equal: boolean;
  clockRandom?: ClockRandomDependence;
}

export interface MapComparison {
  /** The map's name in the object (global data as libbpf names it). */
  map: string;
  /** No entry differs, except where the simulator's value depends on the clock/random source. */
  equal: boolean;
  /** The first differences, one line each: `key <hex>: simulator <hex|absent>, kernel <hex|absent>`. */
  differences: string[];
  /** Differences where the simulator's entry depends on the clock/random source (same form). */
  clockRandom: string[];
}

export interface CompareResult {
  available: boolean;
  reason?: string;
  program: string;
  rows: CompareRow[];
  differing: number;
  /** Rows that differ only in what depends on the clock/random source. */
  clockRandom: number;
  /** Map contents after the last packet, per data map (device, program and event maps are not compared). */
  maps: MapComparison[];
  mapsDiffering: number;
  /** What the comparison could not do exactly alike on both sides (e.g. per-CPU seeds that differ per CPU). */
  notes: string[];
}

export interface CompareOptions {
  program?: string;
  seed?: number;
  /** Initial map contents in the --maps JSON schema, for both sides. */
  maps?: unknown;
  mapsFile?: string;
  budget?: number;
  /** max_entries per map as the loader sets them (`--max-entries`); maps declared with 0 get what the simulator
   *  gives them. The kernel side creates those maps itself (bpftool map create) and hands them to the loader. */
  maxEntries?: Record<string, number>;
  /** Whole kernel side (load, seeding, every packet, map dumps: large maps take long); default 120 s + 100 ms a packet. */
  timeoutMs?: number;
  /** The simulator's engine (`--engine`); default as for a Session. */
  engine?: SessionOptions['engine'];
  /** false: no perf reader on the kernel side, so no perf event array records compared (default: read them). */
  perfReaders?: boolean;
}

/** The kernel's possible CPUs (/sys/devices/system/cpu/possible, e.g. "0-3"), at least 1. */
export function possibleCpus(): number {
  try {
    let n = 0;
    for (const part of readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim().split(',')) {
      const [a, b] = part.split('-').map(Number);
      n += b === undefined ? 1 : b! - a! + 1;
    }
    return Math.max(1, n);
  } catch {
    return 1;
  }
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const spacedHex = (h: string) => (h.match(/../g) ?? []).join(' ');
/**
 * Times the timer variant fires the started later timers (and the due ones still being started again, helpers.ts
 * DUE_ROUNDS) after a packet, while their callbacks start them again: enough for a counter of the callback's runs to
 * reach the magnitudes the kernel's reach between two bpftool runs (measured: some hundreds to thousands). Odd, so
 * that such a counter differs from the real run's in its low byte too (64 rounds of 10 passes add a multiple of 128:
 * every other packet's low byte came out the same, and a byte that never varies counts as independent).
 */
const LATER_TIMER_ROUNDS = 63;

// Clock origins of the variant runs. The first is the default origin (1000 s) plus an odd number of nanoseconds and
// an odd number of jiffies (4 ms at the assumed HZ 250, vm/helpers.ts), so bit 0 of a timestamp and of bpf_jiffies64
// always flips; the third is 2 mod 4 away, so bit 1 always flips; the second and third differ in every byte from the
// default origin (0xe8d4a51000), so the high bytes of a timestamp change too. The fourth runs the packets back to back
// as the kernel side does, BACK_TO_BACK_NS apart whatever the capture says (see variantTsNs). The fifth and sixth
// (random numbers all zeros, all ones; variantOptions) have origins of their own. In the seventh the clock also moves
// on with every reading (CLOCK_STEP_NS), as the kernel's does while a packet runs: values made of the time between
// two readings (a latency counter: the kernel's is some hundreds of nanoseconds a packet, the other runs' 0) change.
// The eighth spaces the packets SPACED_NS apart (see variantTsNs).
export const VARIANT_CLOCKS = [1_000_000_000_000n + 4_000_000n * 0x123_4567n + 1n, 0x0fed_cba9_8765_4321n, 0x1357_9bdf_0246_8acen, 0x2b3c_4d5e_6f70_8193n,
  0x3c4d_5e6f_7081_92a5n, 0x4d5e_6f70_8192_a3b6n, 0x5e6f_7081_92a3_b4c7n, 0x6f70_8192_a3b4_c5d9n];
/** The seventh variant's step per clock reading: odd, and non-zero in each of its three bytes, so that a sum of such
 * differences changes its low three bytes (the kernel's elapsed nanoseconds, summed over a run, reach them). */
export const CLOCK_STEP_NS = 0x01_0305n;

/**
 * The spacing of the back-to-back variant: about what separates two test runs of the kernel side (10 us here), odd
 * and prime so that the low bits of the clock go through every value (a map slot chosen by `ktime % N`).
 */
export const BACK_TO_BACK_NS = 9_973n;

/**
 * The spacing of the eighth variant: what one bpftool process per packet takes on the kernel side (milliseconds, more
 * on a loaded machine). Time between packets summed over a run (a token bucket's remainder of nanoseconds) reaches
 * the third and fourth bytes there; with the capture's spacing, stopped or BACK_TO_BACK_NS those bytes never moved,
 * and a kernel value that differed there was reported as a disagreement.
 */
export const SPACED_NS = 20_000_003n;

/**
 * The timestamp variant run `i` gives packet `index` (captured at `tsNs`): variant 1 stops the clock between packets,
 * variant 3 spaces them BACK_TO_BACK_NS apart (a rate computed from the time since the last packet then comes out as
 * the kernel's back-to-back runs make it, not 0 and not the capture's), variant 7 SPACED_NS apart, the others follow
 * the capture.
 */
export function variantTsNs(i: number, index: number, tsNs: bigint | undefined): bigint | undefined {
  if (i === 1) return undefined;
  if (i === 3) return BigInt(index) * BACK_TO_BACK_NS;
  if (i === 7) return BigInt(index) * SPACED_NS;
  return tsNs;
}

/** Session options of variant run `i` (0..VARIANT_CLOCKS.length-1): another clock origin and random stream. */
export function variantOptions(base: SessionOptions, i: number): SessionOptions {
  const seed = base.seed ?? 1;
  let prandom: () => number;
  if (i === 0) {
    const p = new Prandom(seed);
    prandom = () => ~p.next() >>> 0;
  } else if (i === 4 || i === 5) {
    // Random numbers of all zeros or all ones: sampling decisions taken the same way for every packet.
    const v = i === 4 ? 0 : 0xffffffff;
    prandom = () => v;
  } else {
    const p = new Prandom((seed ^ (i === 1 ? 0x5bd1e995 : i === 2 ? 0x9e3779b9 : 0x27d4eb2f)) >>> 0);
    prandom = () => p.next();
  }
  return { ...base, clockOriginNs: VARIANT_CLOCKS[i], prandom, ...(i === 6 ? { clockStepNs: CLOCK_STEP_NS } : {}) };
}

type MapsJson = ReturnType<Session['mapsJson']>;

/** The frame sizes BPF_PROG_TEST_RUN takes for XDP: an Ethernet header at least (bpf_test_init), at most the linear
 * part of a page (4096 - 256 headroom - 320 skb_shared_info) and MAX_SKB_FRAGS (17) pages of fragments. */
export const TEST_RUN_MIN_FRAME = 14;
export const TEST_RUN_MAX_FRAME = 3520 + 17 * 4096;

/**
 * Runs `frames` through both. `objectPath` is the compiled object the simulator loaded as `obj`.
 * Never throws for kernel trouble: a kernel that cannot be used gives `available: false` and why.
 * Throws XdpLensError for bad input (an unknown program, a --maps file that does not fit the maps).
 */
export function compareWithKernel(
  objectPath: string,
  obj: LoadedObject,
  /** `index`: the packet's place in its capture (rows and notes name it), where it is not its place in `frames`. */
  frames: { frame: Uint8Array; tsNs: bigint; index?: number }[],
  opts: CompareOptions = {},
): CompareResult {
  // Perf event arrays: the kernel side opens a perf event for CPU 0 in slot 0 of each and reads its records after the
  // run; the simulator runs with the same reader (its bpf_perf_event_output then succeeds on CPU 0 alike). Not when a
  // program reads perf counters (the reader's event would be counted there) or without python3 (see PERF_READER).
  const perfMaps = obj.maps.filter((m) => m.kind === 'user' && m.type === MapType.PERF_EVENT_ARRAY);
  const readsCounters = obj.programs.some((p) => p.insns.some((i) => i.opcode === 0x85 && i.src === 0 && (i.imm === 22 || i.imm === 55)));
  const perfReaders = perfMaps.length > 0 && !readsCounters && opts.perfReaders !== false;
  // As many CPUs as the kernel has possible CPUs, so that per-CPU maps and bpf_map_lookup_percpu_elem agree.
  const sessionOpts: SessionOptions = {
    program: opts.program, seed: opts.seed ?? 1, nrCpus: possibleCpus(), maps: opts.maps, mapsFile: opts.mapsFile, budget: opts.budget, maxEntries: opts.maxEntries, engine: opts.engine,
    ...(perfReaders ? { perfReaders: { cpu: 0, maps: perfMaps.map((m) => m.name) } } : {}),
  };
  const session = new Session(obj, sessionOpts);
  const program = session.program.name;
  const none = { rows: [], differing: 0, clockRandom: 0, maps: [], mapsDiffering: 0, notes: [] };
  const unavailable = (reason: string): CompareResult => ({ available: false, reason, program, ...none });
  if (!loadedAsXdp(session.program.section)) return unavailable(`compare runs XDP programs; ${program} is in section ${session.program.section}`);
  if (isDevmapOrCpumap(session.program.section))
    return unavailable(`BPF_PROG_TEST_RUN does not run programs attached to DEVMAP/CPUMAP entries (${program}, section ${session.program.section})`);
  const why = kernelVerifierUnavailable();
  if (why) return unavailable(why);

  const seeded = mapsAfterSeeding(obj, session, opts.maps);
  const notes: string[] = [];
  if (perfMaps.length && readsCounters) notes.push(`perf event array${perfMaps.length === 1 ? '' : 's'} ${perfMaps.map((m) => m.name).join(', ')}: records not compared (the program reads perf counters; no reader is opened)`);
  // BPF_PROG_TEST_RUN refuses a frame shorter than an Ethernet header (EINVAL) or longer than its linear part and
  // MAX_SKB_FRAGS pages of fragments (ENOMEM) before the program runs: such frames run on neither side.
  const indexOf: number[] = [];
  const outside: string[] = [];
  frames = frames.filter(({ frame, index }, i) => {
    const ok = frame.length >= TEST_RUN_MIN_FRAME && frame.length <= TEST_RUN_MAX_FRAME;
    if (ok) indexOf.push(index ?? i);
    else outside.push(`${index ?? i} (${frame.length} bytes)`);
    return ok;
  });
  if (outside.length) {
    notes.push(`not compared: packet${outside.length === 1 ? '' : 's'} ${outside.slice(0, 10).join(', ')}${outside.length > 10 ? ` and ${outside.length - 10} more` : ''}: BPF_PROG_TEST_RUN takes frames of ${TEST_RUN_MIN_FRAME} to ${TEST_RUN_MAX_FRAME} bytes`);
  }

  // Programs to load: the chosen one and every XDP program a PROG_ARRAY slot names (statically or in the seed).
  const keep = new Set([program]);
  for (const m of obj.maps) for (const p of m.initialProgs ?? []) keep.add(p.program);
  for (const [, entries] of seeded) for (const e of entries) if (e.program !== undefined) keep.add(e.program);
  for (const name of keep) {
    const p = obj.programs.find((x) => x.name === name);
    if (!p || !loadedAsXdp(p.section)) keep.delete(name);
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(objectPath);
  } catch (e) {
    return unavailable(`cannot read ${objectPath}: ${(e as Error).message}`);
  }
  const only = objectWithOnly(bytes, keep, new Set(obj.programs.filter((p) => p.frags).map((p) => p.name)));
  if (typeof only === 'string') return unavailable(`cannot prepare ${objectPath} for the kernel: ${only}`);
  // Legacy SEC("maps") definitions, which bpftool's libbpf refuses, are given to it as BTF-defined maps.
  const legacy = obj.maps.filter((m) => m.kind === 'user' && m.section === 'maps');
  const withMaps = legacy.length ? legacyMapsAsBtf(only, legacyMapDefs(obj.maps)) : only;
  if (typeof withMaps === 'string') {
    return unavailable(`bpftool (libbpf >= 1.0) refuses legacy SEC("maps") map definitions (struct bpf_map_def), and they could not be rewritten as BTF-defined maps: ${withMaps}`);
  }
  // Custom .bss.* sections, which bpftool's libbpf 1.1 does not take as global data, are given to it as .data.*.
  const bss = customBssAsData(withMaps);
  if (typeof bss === 'string') return unavailable(`cannot prepare ${objectPath}'s .bss.* sections for bpftool's libbpf: ${bss}`);
  const patched = bss.bytes;
  const sectionFor = (section: string) => bss.renames.find((r) => r.from === section)?.to ?? section;

  // Seeds: global data with a file image through the section bytes, everything else with bpftool map update.
  const batch: string[] = [];
  // iproute2 stores a struct bpf_elf_map map in the maps of maps whose inner_id is its id, at its inner_idx; libbpf
  // does not (the rewritten object names no initial slots): the same stores, before the seed.
  for (const d of legacy) {
    for (const { index, map } of d.initialMaps ?? []) {
      const key = Buffer.alloc(Math.max(4, d.keySize));
      key.writeUInt32LE(index >>> 0, 0);
      batch.push(`map update pinned ${PRIVATE_BPFFS}/${pinName(d.name)} key hex ${spacedHex(key.subarray(0, d.keySize).toString('hex'))} value pinned ${PRIVATE_BPFFS}/${pinName(map)}`);
    }
  }
  for (const [def, entries] of seeded) {
    if (def.kind === 'global' && entries[0]?.value !== undefined && patchSectionData(patched, sectionFor(def.section), Buffer.from(entries[0].value, 'hex'))) continue;
    const path = `${PRIVATE_BPFFS}/${pinName(def.name)}`;
    if (def.type === MapType.ARRAY_OF_MAPS || def.type === MapType.HASH_OF_MAPS) {
      seedMapOfMaps(def, entries, session, path, batch, notes);
      continue;
    }
    for (const e of entries) {
      let value: string;
      if (e.program !== undefined) value = `pinned ${PROGS_DIR}/${e.program}`;
      else if (e.values) {
        if (new Set(e.values).size > 1) notes.push(`map ${def.name} key ${e.key}: bpftool sets one value on every CPU; the kernel got CPU 0's value on all CPUs`);
        value = `hex ${spacedHex(e.values[0] ?? '')}`;
      } else value = `hex ${spacedHex(e.value ?? '')}`;
      if (def.type === MapType.XSKMAP) {
        notes.push(`map ${def.name}: XSKMAP entries need AF_XDP sockets; not seeded in the kernel`);
        break;
      }
      // Queue, stack and bloom filter maps have no keys: their seed values are pushed in order.
      if (def.keySize === 0) batch.push(`map push pinned ${path} value ${value}`);
      else batch.push(`map update pinned ${path} key hex ${spacedHex(e.key)} value ${value}`);
    }
  }

  // The simulator: the real run, then the clock/random variants.
  const simRows = frames.map(({ frame, tsNs }) => session.runPacket(frame, { tsNs }));
  // Stack bytes the program reads without having written them (root may: allow_uninit_stack) hold, in the kernel,
  // whatever its stack held there; the simulator's are zeros or stale bytes. What is built from them (a map key with
  // padding never written, most often) cannot be compared: say so, where it happened, instead of a bare difference.
  const uninit = simRows.flatMap((s, i) => (s.run.uninitStackRead ? [{ i, u: s.run.uninitStackRead }] : []));
  if (uninit.length) {
    const u = uninit[0]!.u;
    const where = u.loc ? `${u.loc.file}:${u.loc.line}` : `insn ${u.insn}`;
    const which = uninit.slice(0, 10).map((x) => indexOf[x.i]).join(', ') + (uninit.length > 10 ? ` and ${uninit.length - 10} more` : '');
    notes.push(`packet${uninit.length === 1 ? '' : 's'} ${which}: the program read stack bytes it never wrote (first at ${where}: ${u.size} byte(s) at r10${u.offset} of frame ${u.frame}); ` +
      'the kernel reads whatever its stack held there, so packet bytes, return values and map keys or values built from them may differ without either side being wrong (zero the variable, e.g. `= {}` or __builtin_memset, to compare)');
  }
  const rings = obj.maps.filter((m) => m.kind === 'user' && m.type === MapType.RINGBUF);
  const perfRecordMaps = perfReaders ? perfMaps : [];
  const simMaps = withPerfRecords(withRingRecords(session.mapsJson({ all: true }), rings, simRows), perfRecordMaps, simRows);
  const variants = VARIANT_CLOCKS.map((_, i) => {
    const s = new Session(obj, variantOptions(sessionOpts, i));
    // Variants 1, 3 and 7 also change the time between packets (stopped, 10 us, 20 ms): the kernel runs them back to
    // back, so values derived from the time elapsed between packets (rate windows, ageing) are clock-dependent as much
    // as the time itself.
    const rows = frames.map(({ frame, tsNs }, index) => s.runPacket(frame, { tsNs: variantTsNs(i, index, tsNs) }));
    return { rows, maps: withPerfRecords(withRingRecords(s.mapsJson({ all: true }), rings, rows), perfRecordMaps, rows) };
  });
  // Timers started to expire later (a clean-up every second): the model never fires them, the kernel does once their
  // time has passed while bpftool runs the packets one by one. One more variant fires them after every packet, and
  // again while their callbacks start them again (an idle check that deletes its element on its second run: bpftool's
  // packets are milliseconds apart), up to LATER_TIMER_ROUNDS times, so that what their callbacks change is told apart as
  // clock-dependent.
  if (session.machine.laterTimersStarted()) {
    const s = new Session(obj, sessionOpts);
    const rows = frames.map(({ frame, tsNs }) => {
      const r = s.runPacket(frame, { tsNs });
      for (let round = 0; round < LATER_TIMER_ROUNDS && s.machine.fireStartedTimers() > 0; round++);
      return r;
    });
    variants.push({ rows, maps: withPerfRecords(withRingRecords(s.mapsJson({ all: true }), rings, rows), perfRecordMaps, rows) });
  }

  const tmp = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-'));
  try {
    // libbpf names global-data maps after the object file: give the copy the name the simulator used.
    const objName = basename(obj.path).split('.')[0] || 'prog';
    const objFile = join(tmp, `${objName}.o`);
    writeFileSync(objFile, patched);
    frames.forEach(({ frame }, i) => writeFileSync(join(tmp, `in.${i}`), frame));
    writeFileSync(join(tmp, 'seed.sh'), seedScript(batch, tmp));
    // pinmaps into the bpffs root: LIBBPF_PIN_BY_NAME maps are pinned there by libbpf itself, and bpftool's pinmaps
    // accepts them only when its directory is their pin root. Pinning keeps a PROG_ARRAY's slots after bpftool exits.
    const { create, reuse } = loaderSizedMaps(obj, session, opts.maxEntries, notes);
    const large = largeArrays(obj, session, [simMaps, ...variants.map((v) => v.maps)], notes);
    const body = [
      ...create,
      `bpftool prog loadall "$T/${objName}.o" ${PROGS_DIR}${reuse} pinmaps ${PRIVATE_BPFFS} > "$T/load.log" 2>&1 || exit 91`,
      `[ -e ${PROGS_DIR}/${program} ] || exit 93`,
      batch.length ? `sh "$T/seed.sh" > "$T/seed.log" 2>&1 || exit 92` : ':',
      // Perf readers: started in the background, ready before the first packet, told to read when the last has run.
      ...perfRecordMaps.flatMap((m) => {
        const f = `"$T/perfctl.${pinName(m.name)}"`;
        return [
          `python3 -c ${sq(PERF_READER)} ${PRIVATE_BPFFS}/${sq(pinName(m.name))} ${f} ${perfPages([simMaps, ...variants.map((v) => v.maps)], m.name)} > "$T/perf.${pinName(m.name)}" 2>&1 &`,
          `p=$!; n=0; while [ ! -e ${f}.ready ] && kill -0 $p 2>/dev/null && [ $n -lt 400 ]; do sleep 0.05; n=$((n+1)); done; [ -e ${f}.ready ] || exit 94`,
        ];
      }),
      // On CPU 0, like the simulator's session, so that per-CPU map values land in the same column.
      `i=0; while [ $i -lt ${frames.length} ]; do`,
      // data_size_out: room for the frame and what the program may add (bpftool's default is smaller than a jumbo frame).
      `  s=$(stat -c %s "$T/in.$i")`,
      // When each run started and ended (ns): two more variants space the packets as the kernel side's runs were.
      `  date +%s%N >> "$T/times"`,
      `  taskset -c 0 bpftool prog run pinned ${PROGS_DIR}/${sq(program)} data_in "$T/in.$i" data_out "$T/out.$i" data_size_out $((s + 8192)) > "$T/run.$i" 2>&1`,
      `  date +%s%N >> "$T/ends"`,
      `  i=$((i+1)); done`,
      ...perfRecordMaps.map((m) => `: > "$T/perfctl.${pinName(m.name)}.done"`),
      perfRecordMaps.length ? 'wait' : ':',
      ...rings.map((m) => `python3 -c ${sq(RING_READER)} ${PRIVATE_BPFFS}/${sq(pinName(m.name))} > "$T/ring.${pinName(m.name)}" 2>&1 || :`),
      `for f in ${PRIVATE_BPFFS}/*; do n=\${f##*/}; [ -f "$f" ] || continue`,
      `  case "$n" in maps.debug|progs.debug|xdp-lens-*${large.map((l) => `|${sq(l.pin)}`).join('')}) continue;; esac`,
      `  bpftool -j map show pinned "$f" > "$T/map-show.$n" 2>/dev/null || continue`,
      `  bpftool -j map dump pinned "$f" > "$T/map-dump.$n" 2>/dev/null`,
      `done`,
      ...large.flatMap((l) => [
        `f=${PRIVATE_BPFFS}/${sq(l.pin)}; bpftool -j map show pinned "$f" > "$T/map-show.${l.pin}" 2>/dev/null && : > "$T/map-lookups.${l.pin}"`,
        ...l.keys.map((k) => `bpftool -j map lookup pinned "$f" key hex ${spacedHex(k)} >> "$T/map-lookups.${l.pin}" 2>/dev/null; echo >> "$T/map-lookups.${l.pin}"`),
      ]),
    ].join('\n');
    // The kernel side in a network namespace of its own, as the simulator models the host (lo only).
    const r = runWithPrivateBpffs(body, tmp, opts.timeoutMs ?? 120_000 + 100 * frames.length, { net: true });
    const file = (name: string) => (existsSync(join(tmp, name)) ? readFileSync(join(tmp, name), 'utf8') : '');
    if (r.error) return unavailable(`the kernel side did not finish: ${r.error.message}`);
    if (r.status === 90) return unavailable(`cannot mount a private bpf filesystem: ${(r.stderr || '').trim()}`);
    if (r.status === 91) {
      const log = file('load.log');
      if (obj.maps.some((m) => m.section === 'maps') && /failed to open object file|legacy map definitions/i.test(log))
        return unavailable('bpftool (libbpf >= 1.0) refuses legacy SEC("maps") map definitions (struct bpf_map_def), so the kernel side cannot load this object');
      const unopened = libbpfCouldNotOpen(log);
      if (unopened) return unavailable(unopened);
      const refusal = parseLoadOutput(log, obj.path).findings.map((f) => `${f.file}:${f.line}: ${f.message}`);
      const text = refusal.length ? refusal.join('\n') : log.split('\n').filter((l) => l.trim() && !/skipping unrecognized data section/.test(l)).slice(-6).join('\n');
      return unavailable(`the kernel refused to load the object: ${text}`);
    }
    if (r.status === 93) return unavailable(`bpftool did not pin ${program}: ${file('load.log').trim().split('\n').pop()}`);
    if (r.status === 94) {
      // No reader could be opened (no python3, an old kernel): compared as before, without records.
      const why = file(`perf.${pinName(perfRecordMaps[0]?.name ?? '')}`).trim().split('\n').pop() || 'no reader started';
      const again = compareWithKernel(objectPath, obj, frames.map((f, i) => ({ ...f, index: indexOf[i] })), { ...opts, perfReaders: false });
      again.notes.push(`perf event arrays: records not compared (${why.slice(0, 200)})`);
      return again;
    }
    if (r.status === 92) return unavailable(`seeding the kernel's maps failed: ${file('seed.log').trim().split('\n').slice(-3).join(' ')}`);
    if (r.status !== 0) return unavailable(`the kernel side failed (status ${r.status}): ${(r.stderr || '').trim().split('\n').pop()}`);

    // The kernel side's own spacing: bpftool runs the packets some milliseconds apart, more on a loaded machine, and
    // no fixed spacing of the variants above covers every machine (a token bucket refilled by one second summed over
    // fifty slow runs). More variants give each packet the time its kernel run started, the time it ended, and the
    // two alternations of these (see kernelRunTimelines): the program read the clock in between (bpftool's own
    // start-up takes some of that).
    const stamps = (name: string) => file(name).trim().split('\n').filter((l) => /^\d+$/.test(l)).map((l) => BigInt(l));
    for (const at of kernelRunTimelines(stamps('times'), stamps('ends'), frames.length)) {
      const s = new Session(obj, variantOptions(sessionOpts, 7));
      const rows = frames.map(({ frame }, index) => s.runPacket(frame, { tsNs: at[index]! }));
      variants.push({ rows, maps: withPerfRecords(withRingRecords(s.mapsJson({ all: true }), rings, rows), perfRecordMaps, rows) });
    }
    const rows: CompareRow[] = simRows.map((s, i) => {
      const index = indexOf[i]!;
      const sim = { retval: s.retval, action: s.action, data: hex(s.out), ...(s.fault ? { fault: `${s.fault.kind}: ${s.fault.message}` } : {}) };
      const out = file(`run.${i}`);
      const m = /Return value: (\d+)/.exec(out);
      if (!m) return { index, sim, kernelError: out.trim().split('\n').pop() || 'bpftool failed', status: 'differs', equal: false };
      const retval = Number(m[1]) >>> 0;
      const kernel = { retval, action: actionOf(retval), data: existsSync(join(tmp, `out.${i}`)) ? hex(readFileSync(join(tmp, `out.${i}`))) : '' };
      if (!s.fault && kernel.retval === sim.retval && kernel.data === sim.data) return { index, sim, kernel, status: 'same', equal: true };
      const dep = s.fault ? undefined : explainRow(sim, kernel, variants.map((v) => v.rows[i]!).map((x) => ({ retval: x.retval, data: hex(x.out) })));
      if (dep) return { index, sim, kernel, status: 'clock/random', equal: true, clockRandom: dep };
      return { index, sim, kernel, status: 'differs', equal: false };
    });
    const kernelMaps = withBssNames(readKernelMaps(tmp), bss.renames);
    for (const m of rings) {
      const ring = readRing(file(`ring.${pinName(m.name)}`));
      if (typeof ring === 'string') notes.push(`ring buffer ${m.name}: records not compared (${ring})`);
      else kernelMaps.push({ name: m.name, pin: pinName(m.name), type: 'ringbuf', entries: ring });
    }
    for (const m of perfRecordMaps) {
      const perf = readPerf(file(`perf.${pinName(m.name)}`));
      if (typeof perf === 'string') notes.push(`perf event array ${m.name}: records not compared (${perf})`);
      else kernelMaps.push({ name: m.name, pin: pinName(m.name), type: 'perf_event_array', entries: perf });
    }
    const maps = compareMaps(withInnerMaps(simMaps), kernelMaps, variants.map((v) => withInnerMaps(v.maps)));
    return {
      available: true,
      program,
      rows,
      differing: rows.filter((x) => x.status === 'differs').length,
      clockRandom: rows.filter((x) => x.status === 'clock/random').length,
      maps,
      mapsDiffering: maps.filter((x) => !x.equal).length,
      notes,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * bpftool's batch files take at most 4,096 words and 65,536 characters a line (BATCH_ARG_NB_MAX, BATCH_LINE_LEN_MAX:
 * "Argument list too long"), and `hex` gives every byte as a word of its own, so a key or value of more than about
 * 4,000 bytes (a load balancer's service table entry) cannot be seeded through one. The seed commands, in their order:
 * runs of short ones through batch files `seed.N.batch` in TMP, each long one as a bpftool command line of its own.
 * Returns the shell script that applies them.
 */
export function seedScript(commands: string[], tmp: string): string {
  const out: string[] = ['set -e'];
  let run: string[] = [];
  const flush = () => {
    if (!run.length) return;
    const n = out.length;
    writeFileSync(join(tmp, `seed.${n}.batch`), run.join('\n') + '\n');
    out.push(`bpftool batch file ${sq(join(tmp, `seed.${n}.batch`))}`);
    run = [];
  };
  for (const c of commands) {
    if (c.length < BATCH_LINE_MAX && c.split(' ').length < BATCH_WORDS_MAX) {
      run.push(c);
      continue;
    }
    flush();
    out.push(`bpftool ${c}`);
  }
  flush();
  return out.join('\n') + '\n';
}
/** Below bpftool's batch limits (4,096 words, 65,536 characters a line), with room for its own counting. */
const BATCH_WORDS_MAX = 4000;
const BATCH_LINE_MAX = 60000;

const BPFTOOL_MAP_TYPES: Record<number, string> = {
  1: 'hash', 2: 'array', 3: 'prog_array', 4: 'perf_event_array', 5: 'percpu_hash', 6: 'percpu_array', 9: 'lru_hash',
  10: 'lru_percpu_hash', 11: 'lpm_trie', 14: 'devmap', 16: 'cpumap', 17: 'xskmap', 25: 'devmap_hash', 27: 'ringbuf',
};

/**
 * Maps whose size the loader sets (declared with max_entries 0, or named in --max-entries): created with bpftool at
 * the size the simulator's session gives them, then handed to the loader (`map name NAME pinned FILE`, libbpf's
 * bpf_map__reuse_fd), as a loader that calls bpf_map__set_max_entries before load would. Created without BTF.
 */
function loaderSizedMaps(obj: LoadedObject, session: Session, maxEntries: Record<string, number> | undefined, notes: string[]): { create: string[]; reuse: string } {
  const create: string[] = [];
  let reuse = '';
  for (const def of obj.maps) {
    if (def.kind !== 'user' || (def.maxEntries !== 0 && maxEntries?.[def.name] === undefined)) continue;
    if (def.type === MapType.PERF_EVENT_ARRAY && maxEntries?.[def.name] === undefined) continue; // libbpf sizes it
    const sized = session.machine.maps.find((m) => m.def.name === def.name)?.def;
    const type = BPFTOOL_MAP_TYPES[def.type];
    if (!sized || !type || sized.maxEntries === 0) {
      notes.push(`map ${def.name}: its loader sets max_entries; the kernel side could not create it (${type ?? `type ${def.type}`})`);
      continue;
    }
    const file = `${PRIVATE_BPFFS}/xdp-lens-created-${pinName(def.name)}`;
    create.push(
      `bpftool map create ${file} type ${type} key ${sized.keySize} value ${sized.valueSize} entries ${sized.maxEntries} name ${sq(def.name.slice(0, 15))}` +
        `${sized.flags ? ` flags ${sized.flags}` : ''} > "$T/create.log" 2>&1 || { cat "$T/create.log" > "$T/load.log"; exit 91; }`,
    );
    reuse += ` map name ${sq(def.name)} pinned ${file}`;
  }
  return { create, reuse };
}

/**
 * A seeded map of maps on the kernel side: a slot naming one of the program's maps gets that map's pin; a slot with a
 * map of its own (`inner` entries) gets a map created from the inner-map template, pinned under the simulator's name
 * for it (`OUTER[KEY]`), filled, then stored in the slot. Those inner maps are dumped and compared like the others.
 */
function seedMapOfMaps(def: MapDef, entries: MapsJson[string], session: Session, path: string, batch: string[], notes: string[]): void {
  const outer = session.machine.maps.find((m) => m.def.name === def.name) as { innerTemplate?: () => MapDef } | undefined;
  const t = outer?.innerTemplate?.() ?? def.inner;
  for (const e of entries) {
    if (e.map === undefined) continue;
    const file = `${PRIVATE_BPFFS}/${pinName(e.map)}`;
    if (e.inner !== undefined) {
      const type = t ? BPFTOOL_MAP_TYPES[t.type] : undefined;
      if (!t || !type) {
        notes.push(`map ${def.name} key ${e.key}: its inner map (${t ? `type ${t.type}` : 'no template'}) cannot be created with bpftool; the slot is empty in the kernel`);
        continue;
      }
      // Kernel map names allow [A-Za-z0-9_.] and 15 characters; the pin name is what the comparison matches.
      const name = `inner_${e.key}`.slice(0, 15);
      batch.push(`map create ${file} type ${type} key ${t.keySize} value ${t.valueSize} entries ${t.maxEntries} name ${name}${t.flags ? ` flags ${t.flags}` : ''}`);
      for (const ie of e.inner) {
        const v = ie.values ? (ie.values[0] ?? '') : (ie.value ?? '');
        if (ie.values && new Set(ie.values).size > 1) notes.push(`map ${e.map} key ${ie.key}: bpftool sets one value on every CPU; the kernel got CPU 0's value on all CPUs`);
        batch.push(`map update pinned ${file} key hex ${spacedHex(ie.key)} value hex ${spacedHex(v)}`);
      }
    }
    batch.push(`map update pinned ${path} key hex ${spacedHex(e.key)} value pinned ${file}`);
  }
}

/** The simulator's maps with the maps of their own held in map-of-maps slots listed at top level as `OUTER[KEY]`, the
 *  name the kernel side pins them under. */
function withInnerMaps(maps: MapsJson): MapsJson {
  const out: MapsJson = { ...maps };
  for (const list of Object.values(maps)) for (const e of list) if (e.map !== undefined && e.inner !== undefined) out[e.map] = e.inner;
  return out;
}

/** Arrays above this many entries are not dumped from the kernel (bpftool's JSON dump of katran's 33-million-slot
 *  ch_rings alone would take hours); the kernel's values are looked up at the simulator's keys instead. */
const LARGE_ARRAY = 1 << 18;
/** At most this many keys are looked up per large array. */
const LARGE_ARRAY_KEYS = 2000;

/** The large ARRAY/PERCPU_ARRAY maps of the object, each with the keys to look up in the kernel: every key the
 *  simulator holds in it (non-zero slots and seeded ones) in the real run or a variant. */
function largeArrays(obj: LoadedObject, session: Session, sims: MapsJson[], notes: string[]): { pin: string; keys: string[] }[] {
  const out: { pin: string; keys: string[] }[] = [];
  for (const def of obj.maps) {
    if (def.type !== MapType.ARRAY && def.type !== MapType.PERCPU_ARRAY) continue;
    const size = session.machine.maps.find((m) => m.def.name === def.name)?.def.maxEntries ?? def.maxEntries;
    if (size <= LARGE_ARRAY) continue;
    const keys = [...new Set(sims.flatMap((m) => (m[def.name] ?? []).map((e) => e.key)))].sort();
    if (keys.length > LARGE_ARRAY_KEYS) notes.push(`map ${def.name}: only the first ${LARGE_ARRAY_KEYS} of the ${keys.length} slots the simulator holds were read from the kernel`);
    notes.push(`map ${def.name} (${size} slots): too large to dump; the kernel's slots were read only where the simulator holds a value (a slot only the kernel wrote would not be seen)`);
    out.push({ pin: pinName(def.name), keys: keys.slice(0, LARGE_ARRAY_KEYS) });
  }
  return out;
}

/** The maps the --maps seed names, with their whole contents as the simulator holds them after seeding. */
function mapsAfterSeeding(obj: LoadedObject, session: Session, seed: unknown): [MapDef, MapsJson[string]][] {
  if (seed === undefined || seed === null || typeof seed !== 'object') return [];
  const all = session.mapsJson({ all: true });
  const out: [MapDef, MapsJson[string]][] = [];
  for (const name of Object.keys(seed as object)) {
    const def = obj.maps.find((m) => m.name === name) ?? obj.maps.find((m) => m.name.endsWith(`.${name}`) && m.kind === 'global');
    // A queue, stack or bloom filter dumps nothing: its seed's values, in order, are what the kernel side pushes.
    const list = (seed as Record<string, unknown>)[name];
    if (def && def.keySize === 0 && Array.isArray(list)) {
      out.push([def, list.map((e) => ({ key: '', value: String((e as { value?: unknown }).value ?? '') }))]);
    } else if (def && all[def.name]) out.push([def, all[def.name]!]);
  }
  return out;
}

/** A row's difference, explained by the variants, or undefined when something independent of them differs. */
/**
 * The clocks of the variants that follow the kernel side's own runs, each relative to the first packet: packet i ran
 * at some time between STARTS[i] and ENDS[i] (when its bpftool run started and ended), so the time between two packets
 * in the kernel lies between STARTS[i] - ENDS[i-1] and ENDS[i] - STARTS[i-1]. Besides every packet at its start and
 * every packet at its end, two timelines alternate the two (even packets at their start and odd ones at their end, and
 * the other way round), so that every gap is, in one of them, as long as it can have been in the kernel, and in the
 * other as short: a token bucket that refilled in the kernel over one slow run (a gap longer than its start-to-start
 * and end-to-end times) refills in one of them too. Empty when the stamps are missing or do not match the packets.
 */
export function kernelRunTimelines(starts: bigint[], ends: bigint[], packets: number): bigint[][] {
  if (packets < 2) return [];
  const out: bigint[][] = [];
  const ok = (a: bigint[]) => a.length === packets;
  if (ok(starts)) out.push(starts.map((t) => t - starts[0]!));
  if (ok(ends)) out.push(ends.map((t) => t - ends[0]!));
  if (ok(starts) && ok(ends)) {
    for (const odd of [0, 1]) {
      const at = starts.map((t, i) => (i % 2 === odd ? ends[i]! : t));
      out.push(at.map((t) => t - at[0]!));
    }
  }
  return out;
}

export function explainRow(sim: { retval: number; data: string }, kernel: { retval: number; data: string }, variants: { retval: number; data: string }[]): ClockRandomDependence | undefined {
  const retval = variants.some((v) => v.retval !== sim.retval);
  const length = variants.some((v) => v.data.length !== sim.data.length);
  if (kernel.retval !== sim.retval && !retval) return undefined;
  if (kernel.data.length !== sim.data.length && !length) return undefined;
  const bytes: number[] = [];
  const n = Math.max(kernel.data.length, sim.data.length) / 2;
  for (let i = 0; i < n; i++) {
    const k = kernel.data.slice(2 * i, 2 * i + 2);
    if (k === sim.data.slice(2 * i, 2 * i + 2)) continue;
    const varies = length || variants.some((v) => v.data.slice(2 * i, 2 * i + 2) !== sim.data.slice(2 * i, 2 * i + 2));
    if (!varies) return undefined;
    bytes.push(i);
  }
  return { retval, length, bytes };
}

const DATA_MAP_TYPES = new Set(['hash', 'array', 'percpu_hash', 'percpu_array', 'lru_hash', 'lru_percpu_hash', 'lpm_trie']);

export interface KernelMap {
  name: string;
  /** The map's file name in the private bpffs (libbpf's name with '.' as '_'). */
  pin?: string;
  type: string;
  /** key hex → value hex, or per-CPU value hex list. */
  entries: Map<string, string | string[]>;
}

const joinHex = (bytes: unknown): string => (Array.isArray(bytes) ? bytes.map((b) => String(b).replace(/^0x/, '').padStart(2, '0')).join('') : '');

/** The data maps the kernel side dumped (bpftool -j map show / dump of every pinned map). */
function readKernelMaps(tmp: string): KernelMap[] {
  const out: KernelMap[] = [];
  for (const f of readdirSync(tmp)) {
    if (!f.startsWith('map-show.')) continue;
    const pin = f.slice('map-show.'.length);
    let info: { name?: string; type?: string };
    let dump: unknown;
    try {
      info = JSON.parse(readFileSync(join(tmp, f), 'utf8'));
      const lookups = join(tmp, `map-lookups.${pin}`);
      dump = existsSync(lookups)
        ? readFileSync(lookups, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
        : JSON.parse(readFileSync(join(tmp, `map-dump.${pin}`), 'utf8'));
    } catch {
      continue;
    }
    if (!info.name || !info.type || !DATA_MAP_TYPES.has(info.type) || !Array.isArray(dump)) continue;
    const entries = new Map<string, string | string[]>();
    for (const e of dump as { key?: unknown; value?: unknown; values?: { cpu: number; value: unknown }[] }[]) {
      const key = joinHex(e.key);
      if (e.values) entries.set(key, [...e.values].sort((a, b) => a.cpu - b.cpu).map((v) => joinHex(v.value)));
      else entries.set(key, joinHex(e.value));
    }
    out.push({ name: info.name, pin, type: info.type, entries });
  }
  return out.sort((a, b) => (a.pin ?? a.name).localeCompare(b.pin ?? b.name));
}

/**
 * Ring buffers are compared as maps whose keys are the record's number (8 hex digits, from 0, in the order they were
 * submitted over the whole run) and whose values are its bytes; discarded records are not listed. Nothing consumes
 * either side's ring during the run (no reader), so the kernel's ring holds every record from its consumer position 0.
 */
function withRingRecords(maps: MapsJson, rings: readonly MapDef[], rows: readonly { run: { perf: readonly { helper: string; map: string; data: string }[] } }[]): MapsJson {
  if (!rings.length) return maps;
  const out: MapsJson = { ...maps };
  for (const m of rings) {
    const records = rows.flatMap((r) => r.run.perf.filter((p) => p.helper === 'ringbuf_output' && p.map === m.name).map((p) => p.data));
    out[m.name] = records.map((data, i) => ({ key: i.toString(16).padStart(8, '0'), value: data }));
  }
  return out;
}

/**
 * Reads a pinned BPF ring buffer from the kernel side (argv: pin path): BPF_OBJ_GET, its size from
 * BPF_OBJ_GET_INFO_BY_FD, then the consumer page and the producer page with the data pages (mapped twice, as the
 * kernel maps them) read-only, and one line per record from the consumer to the producer position: `R <hex>`
 * submitted, `D` discarded, `B` still reserved.
 */
const RING_READER = [
  'import ctypes, mmap, os, struct, sys',
  'path = sys.argv[1].encode()',
  'nr = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "s390x": 351, "ppc64le": 361, "armv7l": 386}[os.uname().machine]',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'name = ctypes.create_string_buffer(path)',
  'attr = ctypes.create_string_buffer(16)',
  'struct.pack_into("<QII", attr, 0, ctypes.addressof(name), 0, 0)',
  'fd = libc.syscall(nr, 7, attr, 16)',
  'if fd < 0: sys.exit("BPF_OBJ_GET: errno %d" % ctypes.get_errno())',
  'info = ctypes.create_string_buffer(80)',
  'struct.pack_into("<IIQ", attr, 0, fd, 80, ctypes.addressof(info))',
  'if libc.syscall(nr, 15, attr, 16) < 0: sys.exit("BPF_OBJ_GET_INFO_BY_FD: errno %d" % ctypes.get_errno())',
  'size = struct.unpack_from("<I", info, 16)[0]',
  'pg = mmap.PAGESIZE',
  'cons = mmap.mmap(fd, pg, mmap.MAP_SHARED, mmap.PROT_READ, offset=0)',
  'prod = mmap.mmap(fd, pg + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=pg)',
  'pos, end = struct.unpack_from("<Q", cons, 0)[0], struct.unpack_from("<Q", prod, 0)[0]',
  'while pos < end:',
  '    at = pg + (pos & (size - 1))',
  '    head = struct.unpack_from("<I", prod, at)[0]',
  '    n = head & 0x3fffffff',
  '    print("B" if head & 0x80000000 else "D" if head & 0x40000000 else "R " + prod[at + 8:at + 8 + n].hex())',
  '    pos += (n + 15) & ~7',
  'print("P", end)',
].join('\n');

/**
 * Perf event arrays are compared like ring buffers (withRingRecords): the records the reader in slot 0 got, numbered in
 * order. The kernel hands a reader each record's raw part padded with zeros so that it and its 4-byte size end on an
 * 8-byte boundary (perf_prepare_sample): the simulator's records are padded the same way.
 */
function withPerfRecords(maps: MapsJson, perfMaps: readonly MapDef[], rows: readonly { run: { perf: readonly { helper: string; map: string; data: string }[] } }[]): MapsJson {
  if (!perfMaps.length) return maps;
  const out: MapsJson = { ...maps };
  for (const m of perfMaps) {
    const records = rows.flatMap((r) => r.run.perf.filter((p) => p.helper !== 'ringbuf_output' && p.map === m.name).map((p) => p.data));
    out[m.name] = records.map((data, i) => ({ key: i.toString(16).padStart(8, '0'), value: data.padEnd((Math.ceil((data.length / 2 + 4) / 8) * 8 - 4) * 2, '0') }));
  }
  return out;
}

/** Data pages for a perf reader of map `name`: room for twice the most records any run made, a power of two, 16 to 8,192. */
function perfPages(runs: readonly MapsJson[], name: string): number {
  const bytes = Math.max(...runs.map((r) => (r[name] ?? []).reduce((n, e) => n + 12 + (e.value?.length ?? 0) / 2, 0)));
  let pages = 16;
  while (pages < 8192 && pages * 4096 < 2 * bytes) pages *= 2;
  return pages;
}

/**
 * A perf reader for the kernel side (argv: pin path of a PERF_EVENT_ARRAY, a control file prefix, data pages):
 * BPF_OBJ_GET, perf_event_open of a BPF output event for CPU 0 (raw samples), its ring mapped, the event's fd stored in
 * slot 0; then `<prefix>.ready`, and once `<prefix>.done` exists, one line per record from the ring's start: `R <hex>`
 * a sample's raw bytes, `L <n>` records lost; `P <head>` at the end. It keeps the map's fd open meanwhile: the kernel
 * empties the slots stored through a map file when that file is closed.
 */
const PERF_READER = [
  'import ctypes, mmap, os, struct, sys, time',
  'path, ctl, pages = sys.argv[1].encode(), sys.argv[2], int(sys.argv[3])',
  'arch = os.uname().machine',
  'bpf = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "s390x": 351, "ppc64le": 361, "armv7l": 386}[arch]',
  'perf = {"x86_64": 298, "aarch64": 241, "riscv64": 241, "s390x": 331, "ppc64le": 319, "armv7l": 364}[arch]',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'name = ctypes.create_string_buffer(path)',
  'attr = ctypes.create_string_buffer(32)',
  'struct.pack_into("<QII", attr, 0, ctypes.addressof(name), 0, 0)',
  'mfd = libc.syscall(bpf, 7, attr, 16)',
  'if mfd < 0: sys.exit("BPF_OBJ_GET: errno %d" % ctypes.get_errno())',
  'pa = ctypes.create_string_buffer(112)',
  'struct.pack_into("<IIQQQ", pa, 0, 1, 112, 10, 1, 1 << 10)',
  'struct.pack_into("<I", pa, 48, 1)',
  'pfd = libc.syscall(perf, pa, -1, 0, -1, 8)',
  'if pfd < 0: sys.exit("perf_event_open: errno %d" % ctypes.get_errno())',
  'pg = mmap.PAGESIZE',
  'ring = mmap.mmap(pfd, (1 + pages) * pg, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)',
  'key = ctypes.create_string_buffer(struct.pack("<I", 0), 4)',
  'val = ctypes.create_string_buffer(struct.pack("<I", pfd), 4)',
  'struct.pack_into("<IIQQQ", attr, 0, mfd, 0, ctypes.addressof(key), ctypes.addressof(val), 0)',
  'if libc.syscall(bpf, 2, attr, 32) < 0: sys.exit("BPF_MAP_UPDATE_ELEM: errno %d" % ctypes.get_errno())',
  'open(ctl + ".ready", "w").close()',
  'parent = os.getppid()',
  'while not os.path.exists(ctl + ".done"):',
  '    if os.getppid() != parent: sys.exit("the run ended early")',
  '    time.sleep(0.01)',
  'head = struct.unpack_from("<Q", ring, 1024)[0]',
  'off, size = struct.unpack_from("<QQ", ring, 1040)',
  'if not off: off, size = pg, pages * pg',
  'def take(pos, n):',
  '    out = b""',
  '    while n > 0:',
  '        at = pos % size; k = min(n, size - at); out += ring[off + at:off + at + k]; pos += k; n -= k',
  '    return out',
  'pos = 0',
  'while pos < head:',
  '    typ, misc, n = struct.unpack("<IHH", take(pos, 8))',
  '    if n < 8: break',
  '    body = take(pos + 8, n - 8)',
  '    if typ == 9: print("R " + body[4:4 + struct.unpack_from("<I", body, 0)[0]].hex())',
  '    elif typ == 2: print("L %d" % struct.unpack_from("<Q", body, 8)[0])',
  '    pos += n',
  'print("P", head)',
].join('\n');

/** The records `PERF_READER` printed, as map entries (see withPerfRecords), or why there are none. */
function readPerf(text: string): Map<string, string> | string {
  const lines = text.split('\n').filter((l) => l);
  if (!lines.length || !lines[lines.length - 1]!.startsWith('P ')) return (lines.pop() ?? 'no output').slice(0, 200);
  const lost = lines.filter((l) => l.startsWith('L ')).reduce((n, l) => n + Number(l.slice(2)), 0);
  if (lost) return `${lost} record${lost === 1 ? '' : 's'} lost: the reader's ring was too small`;
  const out = new Map<string, string>();
  for (const l of lines) if (l.startsWith('R ')) out.set(out.size.toString(16).padStart(8, '0'), l.slice(2));
  return out;
}

/** The records `RING_READER` printed, as map entries (see withRingRecords), or why there are none. */
function readRing(text: string): Map<string, string> | string {
  const lines = text.split('\n').filter((l) => l);
  if (!lines.length || !lines[lines.length - 1]!.startsWith('P ')) return (lines.pop() ?? 'no output').slice(0, 200);
  const out = new Map<string, string>();
  for (const l of lines) if (l.startsWith('R ')) out.set(out.size.toString(16).padStart(8, '0'), l.slice(2));
  return out;
}

/** Kernel maps of `.bss.*` sections loaded as `.data.*` (customBssAsData) named as the object names them. */
function withBssNames(maps: KernelMap[], renames: readonly BssRename[]): KernelMap[] {
  for (const m of maps) {
    // libbpf names a custom section's map after the section, cut at 15 characters, and pins it under that name.
    const r = renames.find((x) => m.name === x.to.slice(0, 15) && (m.pin === undefined || m.pin === pinName(x.to.slice(0, 15)) || m.pin === pinName(x.to)));
    if (!r) continue;
    m.name = r.from;
    m.pin = pinName(r.from);
  }
  return maps;
}

type SimMaps = Record<string, { key: string; value?: string; values?: string[] }[]>;

/** CPU 0's value of each entry (both sides ran on CPU 0). */
function cpu0(list: SimMaps[string] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of list ?? []) m.set(e.key, e.values ? (e.values[0] ?? '') : (e.value ?? ''));
  return m;
}

/** The simulator's maps against the kernel's. A kernel map is matched by its pin name, else by name (global data by
 *  its suffix, .bss/.data/.rodata*; kernel names are cut at 15 characters). Per-CPU maps compare the CPU both sides
 *  ran on (0). `variants` are the simulator's maps after the clock/random variant runs: an entry whose presence or
 *  bytes change between them depends on those sources. */
export function compareMaps(sim: SimMaps, kernel: KernelMap[], variants: SimMaps[] = []): MapComparison[] {
  const out: MapComparison[] = [];
  for (const k of kernel) {
    const suffix = /(\.(?:bss|data|rodata)(?:\..*)?)$/.exec(k.name)?.[1];
    const names = Object.keys(sim);
    const name =
      (k.pin !== undefined ? names.find((n) => n.replace(/\./g, '_') === k.pin) : undefined) ??
      (k.name in sim ? k.name : suffix ? names.find((n) => n.endsWith(suffix)) : names.find((n) => n.startsWith(k.name)));
    if (!name) continue;
    const mine = cpu0(sim[name]);
    const others = variants.map((v) => cpu0(v[name]));
    const theirs = new Map<string, string>();
    // The simulator lists only the non-zero slots of a large array (vm/maps.ts); the kernel dumps every slot.
    const sparse = (k.type === 'array' || k.type === 'percpu_array') && mine.size < k.entries.size;
    for (const [key, v] of k.entries) {
      const value = Array.isArray(v) ? (v[0] ?? '') : v;
      if (sparse && !mine.has(key) && /^0*$/.test(Array.isArray(v) ? v.join('') : v)) continue;
      theirs.set(key, value);
    }
    // Keys whose presence changes between the runs; when there are any, the map's key set depends on the sources.
    const allKeys = [...new Set([...mine.keys(), ...others.flatMap((o) => [...o.keys()])])];
    let keysVary = allKeys.some((key) => others.some((o) => o.has(key) !== mine.has(key)));
    // An array's slots are all there. Its slots are chosen by the sources when a run fills slots the real run left at
    // zero and leaves at zero slots the real run filled (a histogram of the time a packet took: the counts move); a
    // slot merely filled in one run and not another (a drop counter) does not show that.
    const array = k.type === 'array' || k.type === 'percpu_array';
    const zero = (v: string | undefined) => v === undefined || /^0*$/.test(v);
    if (array && !keysVary) {
      const filled = (m: Map<string, string>, key: string) => !zero(m.get(key));
      keysVary = others.some((o) => allKeys.some((key) => filled(o, key) && !filled(mine, key)) && allKeys.some((key) => filled(mine, key) && !filled(o, key)));
    }
    const differences: string[] = [];
    const clockRandom: string[] = [];
    for (const key of new Set([...mine.keys(), ...theirs.keys()])) {
      const a = mine.get(key);
      const b = theirs.get(key);
      if (a === b) continue;
      const line = `key ${key}: simulator ${a ?? 'absent'}, kernel ${b ?? 'absent'}`;
      let explained: boolean;
      if (a === undefined || b === undefined) explained = keysVary;
      else if (a.length !== b.length) explained = false;
      else if (array && zero(a) !== zero(b) && keysVary) explained = true;
      else {
        explained = true;
        for (let i = 0; i < a.length && explained; i += 2) {
          if (a.slice(i, i + 2) === b.slice(i, i + 2)) continue;
          explained = others.some((o) => o.get(key)?.slice(i, i + 2) !== a.slice(i, i + 2));
        }
      }
      (explained ? clockRandom : differences).push(line);
    }
    out.push({ map: name, equal: differences.length === 0, differences: differences.slice(0, 10), clockRandom: clockRandom.slice(0, 10) });
  }
  return out;
}

/** A side-by-side text table of a comparison, for an editor tab or a terminal. */
export function formatComparison(r: CompareResult, title: string): string {
  if (!r.available) return `${title}\n\nThe kernel could not run the program: ${r.reason}\n`;
  const lines = [
    title,
    '',
    `${r.rows.length} packets compared, ${r.differing} differing (retval and output bytes, simulator vs BPF_PROG_TEST_RUN)` +
      (r.clockRandom ? `; ${r.clockRandom} differ only where the result depends on the clock/random source.` : '.'),
    '',
    `${'packet'.padStart(6)}  ${'simulator'.padEnd(22)} ${'kernel'.padEnd(22)} bytes`,
  ];
  for (const row of r.rows) {
    const sim = `${row.sim.action} (${row.sim.retval})`;
    const k = row.kernel ? `${row.kernel.action} (${row.kernel.retval})` : `error: ${row.kernelError}`;
    let bytes = row.kernel ? (row.kernel.data === row.sim.data ? 'same' : firstDifference(row.sim.data, row.kernel.data)) : '-';
    if (row.status === 'clock/random') bytes = `${describeDependence(row.clockRandom!)} depend on the clock/random source`;
    lines.push(`${String(row.index).padStart(6)}  ${sim.padEnd(22)} ${k.padEnd(22)} ${row.status === 'differs' ? `${bytes}  <-- differs` : bytes}${row.sim.fault ? `  (simulator fault: ${row.sim.fault})` : ''}`);
  }
  if (r.maps.length) {
    lines.push('', `Maps after the last packet: ${r.maps.length} compared, ${r.mapsDiffering} differing.`);
    for (const m of r.maps) {
      lines.push(`  ${m.map}: ${!m.equal ? 'differs' : m.clockRandom.length ? 'same except entries that depend on the clock/random source' : 'same'}`);
      for (const d of m.differences) lines.push(`    ${d}`);
      for (const d of m.clockRandom) lines.push(`    ${d}  (depends on the clock/random source)`);
    }
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}

function describeDependence(d: ClockRandomDependence): string {
  const parts: string[] = [];
  if (d.retval) parts.push('the return value');
  if (d.length) parts.push('the length');
  if (d.bytes.length) {
    const ranges: string[] = [];
    for (let i = 0; i < d.bytes.length; ) {
      let j = i;
      while (j + 1 < d.bytes.length && d.bytes[j + 1] === d.bytes[j]! + 1) j++;
      ranges.push(i === j ? `${d.bytes[i]}` : `${d.bytes[i]}-${d.bytes[j]}`);
      i = j + 1;
    }
    parts.push(`bytes ${ranges.join(',')}`);
  }
  return parts.join(' and ') || 'values';
}

function firstDifference(a: string, b: string): string {
  if (a.length !== b.length) return `length ${a.length / 2} vs ${b.length / 2}`;
  for (let i = 0; i < a.length; i += 2) if (a.slice(i, i + 2) !== b.slice(i, i + 2)) return `byte ${i / 2}: ${a.slice(i, i + 2)} vs ${b.slice(i, i + 2)}`;
  return 'same';
}
