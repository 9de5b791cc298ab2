// The real-world corpus (../shared/realworld: corpus.tsv and the sources beside it) run the way test/parity runs our
// own programs: each XDP program compiled with its row's flags, loaded in the kernel through test/kernel/harness.c
// (as a real loader would: only that program, its section's type, zero-sized maps sized, inner-map templates, device
// binding, legacy `SEC("maps")` objects through the syscall-level loader) and in the simulator, run over the same
// packets with fresh state, then compared packet by packet (retval, data_out) and map by map after the last packet.
// Shared by test/realworld/realworld.test.ts (pass/fail per program) and bench/realworld.ts (the recorded figures).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { openCapture } from '../../simulator/net/capture.ts';
import { VARIANT_CLOCKS, explainRow, possibleCpus, variantOptions, variantTsNs } from '../../simulator/kernel-compare.ts';
import { Session, actionOf, loadProgramFileWithObject, type SessionOptions } from '../../simulator/session.ts';
import { KernelLoadError, buildOnlyRefusal, defaultObjectName, kernelAvailable, runKernel, sparseArrayMaps, type KernelMapEntry, type KernelMaps, type KernelRun } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { syntheticCorpus } from '../parity/packets.ts';
import { REPO, sharedPath } from '../repo.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';

export const REALWORLD = sharedPath('realworld');
export const CAPTURES = sharedPath('captures');
const SEEDS = join(REPO, 'test', 'realworld', 'seeds');
const CACHE = join(REPO, '.cache', 'realworld');

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const unhex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

/** At most this many frames from each shared capture (in capture order), so the run stays short. */
export const FRAMES_PER_CAPTURE = 24;

export interface CorpusRow {
  path: string;
  programs: string[];
  flags: string[];
  /** corpus.tsv's kernel_loads: yes, no or partial. */
  kernelLoads: string;
  features: string;
  notes: string;
}

/** The rows of corpus.tsv. */
export function readCorpus(dir = REALWORLD): CorpusRow[] {
  const lines = readFileSync(join(dir, 'corpus.tsv'), 'utf8').split('\n').filter((l) => l.trim());
  const head = lines[0]!.split('\t');
  const col = (name: string) => {
    const i = head.indexOf(name);
    if (i < 0) throw new Error(`${join(dir, 'corpus.tsv')}: no column ${name}`);
    return i;
  };
  const [p, n, f, k, ft, no] = ['path', 'xdp_program_names', 'clang_flags', 'kernel_loads', 'features', 'notes'].map(col);
  return lines.slice(1).map((l) => {
    const c = l.split('\t');
    return {
      path: c[p!] ?? '',
      programs: (c[n!] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      flags: (c[f!] ?? '').split(/\s+/).filter(Boolean),
      kernelLoads: (c[k!] ?? '').trim(),
      features: c[ft!] ?? '',
      notes: c[no!] ?? '',
    };
  });
}

// --- compiling ----------------------------------------------------------------------------------------------------

export interface Compiled {
  objectPath?: string;
  error?: string;
}

let clangVersionText: string | undefined;
function clangVersion(): string {
  if (clangVersionText === undefined) {
    const r = spawnSync('clang', ['--version'], { encoding: 'utf8' });
    clangVersionText = r.status === 0 ? r.stdout : '';
  }
  return clangVersionText;
}

const sha = (...parts: (string | Uint8Array)[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 20);
};

/** Compile `rel` (a path inside the corpus) as README.md says: `clang -O2 -g -target bpf -c <path> -o <out> <flags>`
 * from the corpus directory. Cached under .cache/realworld by source, flags, clang and every local header read. */
function clangOne(rel: string, flags: string[], dir: string): Compiled {
  // An object a project commits (bpf2go's bpf_bpfel.o, ...) is run as it is: what its users load.
  if (rel.endsWith('.o')) return existsSync(join(dir, rel)) ? { objectPath: join(dir, rel) } : { error: `${join(dir, rel)}: no such object` };
  const version = clangVersion();
  if (!version) return { error: 'clang is not installed' };
  const src = join(dir, rel);
  const key = sha(readFileSync(src), rel, flags.join(' '), version);
  // <key>/<stem>.o: the object's base name gives libbpf and the simulator the source's object name (global data maps).
  const obj = join(CACHE, key, `${basename(rel).split('.')[0]}.o`);
  const manifest = `${obj}.deps.json`;
  if (existsSync(obj) && existsSync(manifest)) {
    try {
      const deps = JSON.parse(readFileSync(manifest, 'utf8')) as [string, string][];
      if (deps.every(([p, h]) => existsSync(p) && sha(readFileSync(p)) === h)) return { objectPath: obj };
    } catch {
      // rebuild
    }
  }
  mkdirSync(dirname(obj), { recursive: true });
  const tmp = `${obj}.${process.pid}.tmp`;
  const dep = `${obj}.${process.pid}.d`;
  const r = spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-c', rel, '-o', tmp, ...flags, '-MD', '-MF', dep], {
    cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, maxBuffer: 64 << 20,
  });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    rmSync(dep, { force: true });
    const errs = (r.stderr ?? '').split('\n').filter((l) => /error/.test(l)).slice(0, 5).join('\n');
    return { error: `clang failed on ${rel}: ${r.error?.message ?? (errs || r.stderr)}` };
  }
  const deps: [string, string][] = [];
  try {
    const text = readFileSync(dep, 'utf8').replace(/\\\r?\n/g, ' ');
    for (const p of text.slice(text.search(/:(\s|$)/) + 1).split(/\s+/).filter(Boolean)) {
      const abs = resolve(dir, p);
      if (!abs.startsWith('/usr/')) deps.push([abs, sha(readFileSync(abs))]);
    }
  } catch {
    deps.push([dep, 'unreadable']);
  }
  rmSync(dep, { force: true });
  writeFileSync(manifest, JSON.stringify(deps));
  renameSync(tmp, obj);
  return { objectPath: obj };
}

/** The object for a row: compiled, and linked (`bpftool gen object`) with the files its notes say it needs. */
export function compileRow(row: CorpusRow, dir = REALWORLD): Compiled {
  const main = clangOne(row.path, row.flags, dir);
  if (!main.objectPath) return main;
  const partners = linkPartners(row, dir);
  if (partners.length === 0) return main;
  const others: string[] = [];
  for (const p of partners) {
    const other = clangOne(p, row.flags, dir);
    if (!other.objectPath) return other;
    others.push(other.objectPath);
  }
  // Named after the main file, so that libbpf and the simulator derive the same object name from it.
  const out = join(CACHE, `link-${sha(...[main.objectPath, ...others].map((o) => readFileSync(o)))}`, `${basename(row.path).split('.')[0]}.o`);
  if (existsSync(out)) return { objectPath: out };
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp.o`;
  const r = spawnSync('bpftool', ['gen', 'object', tmp, main.objectPath, ...others], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    return { error: `bpftool gen object failed: ${r.error?.message ?? r.stderr}` };
  }
  renameSync(tmp, out);
  return { objectPath: out };
}

/** The other sources an entry must be linked with: a row whose notes ask for `bpftool gen object` names them (README.md:
 * "One entry also needs a link step"; xdp_redirect_cpu.bpf.c with xdp_sample.bpf.c). */
export function linkPartners(row: CorpusRow, dir = REALWORLD): string[] {
  if (!/bpftool gen object/.test(row.notes)) return [];
  const named = [...row.notes.matchAll(/[\w./+-]+\.c\b/g)].map((m) => m[0]);
  return [...new Set(named)].filter((p) => p !== row.path && existsSync(join(dir, p)));
}

// --- packets ------------------------------------------------------------------------------------------------------

export interface Frame {
  name: string;
  bytes: Uint8Array;
  tsNs?: bigint;
}

/** The first FRAMES_PER_CAPTURE frames of every shared capture (pcap and pcapng, every link type delivered as the
 * Ethernet frame a NIC hands XDP; frames under 14 bytes left out, as BPF_PROG_TEST_RUN refuses them), then the
 * synthetic edge cases of the parity corpus (sizes up to 9000 bytes, VLAN stacks, IPv6 extension headers, ...). */
export function packetSet(): { frames: Frame[]; note: string } {
  const frames: Frame[] = [];
  let files = 0;
  if (existsSync(CAPTURES)) {
    for (const f of readdirSync(CAPTURES).filter((x) => /\.(pcap|pcapng)$/.test(x)).sort()) {
      let reader;
      try {
        reader = openCapture(join(CAPTURES, f));
      } catch {
        continue;
      }
      files++;
      try {
        let taken = 0;
        for (let p = reader.next(); p && taken < FRAMES_PER_CAPTURE; p = reader.next()) {
          if (p.frame.length < 14) continue;
          frames.push({ name: `${f}#${p.index}`, bytes: Uint8Array.from(p.frame), tsNs: p.tsNs });
          taken++;
        }
      } catch {
        // a damaged tail: keep what was read
      } finally {
        reader.close();
      }
    }
  }
  const synthetic = syntheticCorpus().map((p) => ({ name: p.name, bytes: p.bytes }));
  const note = `${frames.length} frames of ${files} captures (at most ${FRAMES_PER_CAPTURE} each) + ${synthetic.length} synthetic`;
  return { frames: [...frames, ...synthetic], note };
}

// --- running one program --------------------------------------------------------------------------------------------

export interface ProgramResult {
  file: string;
  program: string;
  /** corpus.tsv's kernel_loads for the row. */
  corpusKernelLoads: string;
  compiles: boolean;
  simLoads: boolean;
  kernelLoads: boolean;
  /** BPF_PROG_TEST_RUN runs the loaded program (it refuses devmap/cpumap and device-bound programs). */
  kernelRuns: boolean;
  /** The seed file used, relative to the repository. */
  seed?: string;
  packets: number;
  /** Packets agreeing byte for byte. */
  packetsAgreeing: number;
  /** Packets that differ only where the simulator's result depends on the clock or bpf_get_prandom_u32. */
  packetsClockRandom: number;
  maps: number;
  mapsAgreeing: number;
  /** Maps that differ only in entries or bytes derived from the clock or bpf_get_prandom_u32. */
  mapsClockRandom: number;
  /** Why a step did not happen: the compiler's, the simulator's or the kernel's message. */
  compileError?: string;
  simError?: string;
  kernelError?: string;
  /** This kernel build refused it for a helper 6.18 gives XDP (runner.ts buildOnlyRefusal): its words. */
  buildRefusal?: string;
  /** With `buildRefusal`: the simulator's refusals before the first packet name the same helper. */
  simRefusesToo?: boolean;
  kernelRunError?: string;
  /** The harness itself misbehaved (a test failure whatever the program). */
  harnessError?: string;
  /** How the kernel loaded it (besides "only this program"): e.g. "type XDP (section xdp_sock)", "device-bound". */
  loading: string[];
  /** The kernel's verdicts over the packets (XDP_PASS: 120, ...): whether the seeds made the program decide things. */
  verdicts: Record<string, number>;
  /** The first differences, one line each: packet, retval, byte or map. */
  differences: string[];
  /** True when everything that ran agreed (the kernel ran it, and every packet and map agreed). */
  agrees: boolean;
}

/** An ARRAY(int, int, 1) inner-map template for every map of maps that declares none, as the harness's loader gives. */
const INNER_TEMPLATE = { type: 2, keySize: 4, valueSize: 4, maxEntries: 1 };

function simSession(objectPath: string, program: string, seed: { path: string; maps: KernelMaps } | undefined, extra: Partial<SessionOptions> = {}): Session {
  const { object } = loadProgramFileWithObject(objectPath);
  const innerMaps = Object.fromEntries(object.maps.filter((m) => (m.type === 12 || m.type === 13) && !m.inner).map((m) => [m.name, INNER_TEMPLATE]));
  return new Session(object, { program, nrCpus: possibleCpus(), cpu: 0, maps: seed?.maps, mapsFile: seed?.path, innerMaps, ...extra });
}

type SimMaps = Record<string, (KernelMapEntry & { inner?: KernelMapEntry[] })[]>;

/** Slots of maps of maps as comparable text on either side: `map:NAME`, and `{key=value,...}` for a map of its own
 * (seeded inline) listed under the slot. */
function flattenSlots<T extends SimMaps>(maps: T): T {
  const text = (l: KernelMapEntry[]) => [...l].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((e) => `${e.key}=${e.values ? e.values.join('/') : e.value ?? ''}`).join(',');
  const out: SimMaps = {};
  for (const [name, list] of Object.entries(maps)) {
    // An empty inner map has no "inner" lines on the kernel side and `inner: []` on the simulator's: both mean empty.
    out[name] = list.map((e) => (e.map === undefined ? e : { key: e.key, value: `map:${e.map}${e.inner?.length ? `{${text(e.inner)}}` : ''}` }));
  }
  return out as T;
}

/** The maps of their own held in map-of-maps slots (seeded inline), each as a map of its own named `OUTER[KEY]`, as
 *  `xdp-lens compare` lists them: their entries are then compared (and explained by the clock/random variants) one by
 *  one; an empty one is left out on both sides. The slot itself says `map:NAME`. */
function innerAsMaps<T extends SimMaps>(maps: T): T {
  const out: SimMaps = {};
  for (const [name, list] of Object.entries(maps)) {
    out[name] = list.map((e) => {
      if (e.map === undefined) return e;
      if (e.inner?.length) out[`${name}[${e.key}]`] = e.inner;
      return { key: e.key, value: `map:${e.map}` };
    });
  }
  return out as T;
}


/** The seed of a program, in the --maps schema: seeds/<the source's directory in the corpus>/<file stem>.<program>.json,
 * else .../<file stem>.json (the stem: the base name up to its first dot), else the same names directly in `seeds`.
 * `seeds` is another directory of such files (a corpus kept outside the repository brings its own). */
export function seedFor(row: CorpusRow, program: string, seeds = SEEDS): { path: string; maps: KernelMaps } | undefined {
  const stem = basename(row.path).split('.')[0];
  const names = [`${stem}.${program}.json`, `${stem}.json`];
  for (const rel of [...names.map((n) => join(dirname(row.path), n)), ...names]) {
    const p = join(seeds, rel);
    if (existsSync(p)) return { path: seeds === SEEDS ? `test/realworld/seeds/${rel}` : p, maps: JSON.parse(readFileSync(p, 'utf8')) as KernelMaps };
  }
  return undefined;
}

const first = (text: string, n = 6) => {
  const lines = text.trim().split('\n').filter((l) => l.trim());
  return (lines.length > n ? ['...', ...lines.slice(-n)] : lines).join('\n');
};

/** Compile, load on both sides, run `frames`, compare. Never throws for a program's own trouble: it is recorded. */
export function runProgram(row: CorpusRow, program: string, frames: Frame[], dir = REALWORLD, seeds = SEEDS): ProgramResult {
  const r: ProgramResult = {
    file: row.path, program, corpusKernelLoads: row.kernelLoads, compiles: false, simLoads: false, kernelLoads: false,
    kernelRuns: false, packets: 0, packetsAgreeing: 0, packetsClockRandom: 0, maps: 0, mapsAgreeing: 0, mapsClockRandom: 0, loading: [], verdicts: {}, differences: [], agrees: false,
  };
  const compiled = compileRow(row, dir);
  if (!compiled.objectPath) {
    r.compileError = compiled.error;
    return r;
  }
  r.compiles = true;
  const seed = seedFor(row, program, seeds);
  if (seed) r.seed = seed.path;
  const objectName = defaultObjectName(compiled.objectPath);

  // Simulator: the object as `xdp-lens run OBJECT.o --program NAME --maps SEED [--inner-map ...]` loads it.
  let session: Session | undefined;
  try {
    session = simSession(compiled.objectPath, program, seed);
    r.simLoads = true;
  } catch (e) {
    r.simError = first((e as Error).message, 4);
  }

  // Kernel.
  const why = kernelAvailable();
  if (why) {
    r.kernelError = `kernel unavailable: ${why}`;
    return r;
  }
  let kernel: KernelRun | undefined;
  const base = { objectName, maps: seed?.maps, only: true, xdpType: true, zeroMaxEntries: possibleCpus(), innerMapTemplate: true, sparseArrays: true, netns: true };
  const packets = frames.map((f) => f.bytes);
  try {
    try {
      kernel = runKernel(compiled.objectPath, program, packets, base);
    } catch (e) {
      // Metadata kfuncs load only in a program bound to a device (the verifier says so); retry bound to a veth.
      if (!(e instanceof KernelLoadError) || !/require device-bound program|device-bound/.test(e.log)) throw e;
      kernel = runKernel(compiled.objectPath, program, packets, { ...base, deviceBound: true });
    }
    r.kernelLoads = true;
  } catch (e) {
    r.kernelError = first(e instanceof KernelLoadError ? e.log : (e as Error).message, 4);
    const build = e instanceof KernelLoadError ? buildOnlyRefusal(e.log) : undefined;
    if (build) {
      r.buildRefusal = build.words;
      r.simRefusesToo = session !== undefined && refusalsBeforeRun(session.obj, session.program, session.machine)
        .some((x) => x.message.includes(`cannot use helper ${build.words}`));
    }
    return r;
  }
  if (kernel.results.length !== frames.length) {
    r.harnessError = `the harness returned ${kernel.results.length} results for ${frames.length} packets`;
    return r;
  }
  const how = kernel.program;
  if (how) {
    if (how.legacy) r.loading.push('legacy SEC("maps"): syscall-level loader');
    if (how.typeSet) r.loading.push(`type XDP set (section ${how.section})`);
    if (how.attachType === 'BPF_XDP_DEVMAP' || how.attachType === 'BPF_XDP_CPUMAP') r.loading.push(`expected_attach_type ${how.attachType}`);
    if (how.devBound) r.loading.push('device-bound to a veth (BPF_F_XDP_DEV_BOUND_ONLY)');
    if (how.zeroMax.length) r.loading.push(`max_entries ${possibleCpus()} for ${how.zeroMax.join(', ')}`);
    if (how.innerTemplate.length) r.loading.push(`inner-map template ARRAY(int,int,1) for ${how.innerTemplate.join(', ')}`);
  }
  const refused = kernel.results.filter((k) => k.errno !== undefined);
  if (refused.length === kernel.results.length && kernel.results.length > 0) {
    const why = how?.devBound
      ? 'the program is device-bound (metadata kfuncs) and BPF_PROG_TEST_RUN refuses device-bound programs'
      : how?.attachType === 'BPF_XDP_DEVMAP' || how?.attachType === 'BPF_XDP_CPUMAP'
        ? `BPF_PROG_TEST_RUN refuses programs with expected_attach_type ${how.attachType}`
        : 'BPF_PROG_TEST_RUN refused every packet';
    r.kernelRunError = `${why} (errno ${refused[0]!.errno}); nothing to compare against`;
    return r;
  }
  r.kernelRuns = true;
  for (const k of kernel.results) {
    const v = k.errno !== undefined ? `errno ${k.errno}` : actionOf(k.retval) === 'XDP_ABORTED' && k.retval !== 0 ? `retval ${k.retval}` : actionOf(k.retval);
    r.verdicts[v] = (r.verdicts[v] ?? 0) + 1;
  }
  if (!session) return r;

  // The simulator's run, kept per packet: a difference is then checked against the clock/random variants.
  const sims = frames.map((f) => {
    const s = session!.runPacket(f.bytes, { tsNs: f.tsNs });
    return { retval: s.retval, data: hex(s.out), fault: s.fault ? `${s.fault.kind ?? ''}: ${s.fault.message ?? ''}` : undefined, uninit: s.run.uninitStackRead };
  });
  // Arrays compared on their non-zero entries (every index exists on both sides; loxilb has a million of them).
  const simMapsOf = (sess: Session) => sparseArrayMaps(normaliseSimMaps(innerAsMaps(sess.mapsJson({ all: true }) as SimMaps)), kernel!.mapTypes);
  const simMaps = simMapsOf(session);
  kernel.maps = innerAsMaps(kernel.maps);

  let variants: { rows: { retval: number; data: string }[]; maps: KernelMaps }[] | undefined;
  const variantRuns = () => (variants ??= VARIANT_CLOCKS.map((_, v) => {
    const sess = simSession(compiled.objectPath!, program, seed, variantOptions({}, v));
    // Variants 1 and 3 also change the time between packets, as kernel-compare.ts does (elapsed-time dependence).
    const rows = frames.map((f, index) => { const x = sess.runPacket(f.bytes, { tsNs: variantTsNs(v, index, f.tsNs) }); return { retval: x.retval, data: hex(x.out) }; });
    return { rows, maps: simMapsOf(sess) };
  }));

  const diffs: string[] = [];
  frames.forEach((f, i) => {
    const k = kernel!.results[i]!;
    const s = sims[i]!;
    r.packets++;
    const where = `packet ${i} (${f.name}, ${f.bytes.length} B)`;
    const problems: string[] = [];
    if (k.errno !== undefined) problems.push(`kernel test_run failed with errno ${k.errno}`);
    else {
      if (s.fault) problems.push(`simulator fault ${s.fault}`);
      if (k.retval !== s.retval) problems.push(`retval kernel ${k.retval} sim ${s.retval}`);
      const d = diffBytes(k.out, unhex(s.data));
      if (d) problems.push(`data_out ${d}`);
    }
    if (problems.length === 0) r.packetsAgreeing++;
    else if (!s.fault && k.errno === undefined && explainRow(s, { retval: k.retval, data: hex(k.out) }, variantRuns().map((v) => v.rows[i]!))) {
      r.packetsClockRandom++;
    } else diffs.push(`${where}: ${problems.join('; ')}`);
  });
  const names = [...new Set([...Object.keys(kernel.maps), ...Object.keys(simMaps)])].sort();
  const mapDiffs: string[] = [];
  for (const name of names) {
    r.maps++;
    const d = diffMaps({ [name]: kernel.maps[name] ?? [] }, { [name]: simMaps[name] ?? [] }, 3);
    // An inner map (OUTER[KEY]) missing on one side is an empty one: its entries are what differs.
    const inner = name.endsWith(']');
    if (!inner && (!(name in kernel.maps) || !(name in simMaps))) d.unshift(`map ${name}: only in ${name in kernel.maps ? 'kernel' : 'simulator'}`);
    if (d.length === 0) r.mapsAgreeing++;
    else if ((inner || (name in kernel.maps && name in simMaps)) && mapExplained(kernel.maps[name] ?? [], simMaps[name] ?? [], variantRuns().map((v) => v.maps[name] ?? []))) r.mapsClockRandom++;
    else mapDiffs.push(...d);
  }
  r.differences = [...diffs.slice(0, 8), ...(diffs.length > 8 ? [`... ${diffs.length - 8} more packets differ`] : []), ...mapDiffs.slice(0, 8)];
  // Bytes a program never wrote (struct padding in a map value built on the stack) are whatever the kernel's stack
  // held; the simulator reads zeros there and flags the read. Said next to the differences, for the reader to weigh.
  const uninit = sims.filter((s) => s.uninit);
  if (r.differences.length > 0 && uninit.length > 0) {
    const u = uninit[0]!.uninit!;
    r.differences.push(`note: the simulator flagged reads of never-written stack bytes on ${uninit.length} packet(s) (first: ${u.loc ? `line ${u.loc.line}, ` : ''}${u.size} byte(s) at r10${u.offset}); the kernel's bytes there are whatever its stack held`);
  }
  r.agrees = r.packetsAgreeing + r.packetsClockRandom === r.packets && r.mapsAgreeing + r.mapsClockRandom === r.maps;
  return r;
}

// Values from the clock (bpf_ktime_get_ns, ...) and from bpf_get_prandom_u32 cannot match between the two sides. As
// `xdp-lens compare` does (simulator/kernel-compare.ts, same clock origins and streams), the simulator is run three
// more times with other clock origins and random streams; a packet or map whose difference from the kernel lies only
// in bytes (or entries) that change between those runs depends on those sources and is counted apart, not as a
// disagreement. Run only when something differs.

const entryBytes = (e: KernelMapEntry | undefined) => (e === undefined ? undefined : e.values ? e.values.join('') : e.value ?? '');

/** Whether every difference between the kernel's and the simulator's entries of one map is in entries or bytes that
 * change between the variant runs. */
function mapExplained(kernel: KernelMapEntry[], sim: KernelMapEntry[], variants: KernelMapEntry[][]): boolean {
  const km = new Map(kernel.map((e) => [e.key, entryBytes(e)]));
  const sm = new Map(sim.map((e) => [e.key, entryBytes(e)]));
  const vm = variants.map((v) => new Map(v.map((e) => [e.key, entryBytes(e)])));
  // Keys whose presence changes between the runs (random SNAT ports, clock-driven expiry): the map's key set depends
  // on those sources, and a key on one side only is explained, as `xdp-lens compare` explains it (compareMaps).
  const keysVary = [...new Set([...sm.keys(), ...vm.flatMap((v) => [...v.keys()])])].some((key) => vm.some((v) => v.has(key) !== sm.has(key)));
  for (const key of new Set([...km.keys(), ...sm.keys()])) {
    const a = sm.get(key);
    const b = km.get(key);
    if (a === b) continue;
    if (a === undefined || b === undefined) {
      if (!keysVary) return false;
      continue;
    }
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i += 2) {
      if (a.slice(i, i + 2) === b.slice(i, i + 2)) continue;
      if (!vm.some((v) => v.get(key)?.slice(i, i + 2) !== a.slice(i, i + 2))) return false;
    }
  }
  return true;
}

/**
 * For a program whose packets agree but whose maps differ at the end: the first packet after which some map differs,
 * found by running both sides on ever shorter prefixes (binary search; assumes a difference, once there, stays).
 * Returns the packet index and the map differences after it, or undefined when no prefix shows one.
 */
export function firstMapDivergence(row: CorpusRow, program: string, frames: Frame[], dir = REALWORLD): { index: number; frame: string; differences: string[] } | undefined {
  const compiled = compileRow(row, dir);
  if (!compiled.objectPath) return undefined;
  const objectPath = compiled.objectPath;
  const seed = seedFor(row, program);
  const mapsAfter = (n: number): string[] => {
    const part = frames.slice(0, n);
    const kernel = runKernel(objectPath, program, part.map((f) => f.bytes), {
      objectName: defaultObjectName(objectPath), maps: seed?.maps, only: true, xdpType: true, zeroMaxEntries: possibleCpus(), innerMapTemplate: true, sparseArrays: true, netns: true,
    });
    const session = simSession(objectPath, program, seed);
    for (const f of part) session.runPacket(f.bytes, { tsNs: f.tsNs });
    return diffMaps(flattenSlots(kernel.maps), sparseArrayMaps(normaliseSimMaps(flattenSlots(session.mapsJson({ all: true }) as SimMaps)), kernel.mapTypes), 4);
  };
  if (mapsAfter(frames.length).length === 0) return undefined;
  let lo = 0; // maps agree after lo packets
  let hi = frames.length; // maps differ after hi packets
  if (mapsAfter(0).length > 0) return { index: -1, frame: '(before the first packet: the seeded maps)', differences: mapsAfter(0) };
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (mapsAfter(mid).length > 0) hi = mid;
    else lo = mid;
  }
  return { index: hi - 1, frame: `${frames[hi - 1]!.name}, ${frames[hi - 1]!.bytes.length} B`, differences: mapsAfter(hi) };
}

/** Every (row, program) of the corpus, in corpus order. */
export function corpusPrograms(rows: CorpusRow[]): { row: CorpusRow; program: string }[] {
  return rows.flatMap((row) => row.programs.map((program) => ({ row, program })));
}
