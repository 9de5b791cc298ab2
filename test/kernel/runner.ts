// The kernel as an oracle for the differential tests: build test/kernel/harness.c (libbpf + BPF_PROG_TEST_RUN) once
// into .cache/kernel-harness/, keyed by the hash of its source, and run a program over a list of packets in one
// process so map state carries over from packet to packet exactly as it does in a Session.
//
//   kernelAvailable()            reason the kernel cannot be used, or undefined
//   kernelOrSkip(t)              for node:test: skip with that reason, or fail under XDP_LENS_REQUIRE_KERNEL=1
//   runKernel(obj, prog, pkts)   { results: [{retval, out} | {errno}], maps } — throws KernelLoadError (verifier log)
//
// Maps come back in the simulator's --maps JSON schema (simulator/vm/map-json.ts): arrays in index order, hashes and
// LPM tries sorted by key bytes, per-CPU maps with one value per possible CPU, PROG_ARRAY slots as program names.
// Options load a program the way a real loader would (one program only, section types, map sizes, inner-map
// templates, device binding); objects with legacy `SEC("maps")` definitions go through the harness's syscall-level
// loader, since libbpf 1.x refuses them.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { TestContext } from 'node:test';
import { REPO } from '../repo.ts';
import { XDP_FORBIDDEN_HELPERS_618 } from '../../simulator/vm/helpers.ts';

export interface KernelMapEntry {
  key: string;
  value?: string;
  values?: string[];
  program?: string;
  /** ARRAY_OF_MAPS / HASH_OF_MAPS: the name of the map in the slot. */
  map?: string;
  /** ARRAY_OF_MAPS / HASH_OF_MAPS: a map of its own in the slot (made from the outer map's inner-map template), with
   * these entries; as in the --maps schema, `map` then names it. */
  inner?: KernelMapEntry[];
}
export type KernelMaps = Record<string, KernelMapEntry[]>;

export interface KernelPacketResult {
  retval: number;
  out: Uint8Array;
  /** Set when BPF_PROG_TEST_RUN itself refused the packet (e.g. EINVAL for fewer than 14 bytes); retval is then 0. */
  errno?: number;
}

export interface KernelRun {
  results: KernelPacketResult[];
  maps: KernelMaps;
  /** Possible CPUs: the number of values per-CPU maps carry. */
  cpus: number;
  /** How the program was loaded (what the loading options changed). */
  program?: KernelLoadedProgram;
  /** Each map's type (BPF_MAP_TYPE_* number). */
  mapTypes: Record<string, number>;
}

export interface KernelLoadedProgram {
  section: string;
  /** Loaded by the harness's syscall-level loader (legacy `SEC("maps")` object). */
  legacy: boolean;
  /** Type XDP set explicitly (libbpf does not know the section name). */
  typeSet: boolean;
  attachType?: 'BPF_XDP_DEVMAP' | 'BPF_XDP_CPUMAP';
  devBound: boolean;
  /** Maps declared with max_entries 0 that were given zeroMaxEntries. */
  zeroMax: string[];
  /** Outer maps that were given the inner-map template. */
  innerTemplate: string[];
}

export interface KernelRunOptions {
  /** libbpf object name (internal maps are named `<name8>.bss` etc.); default: the object's base name up to its first dot. */
  objectName?: string;
  /** Initial map contents in the --maps JSON schema. Global-data maps (`x.data`) take one entry with key 00000000. */
  maps?: KernelMaps;
  /** Load only `program` and the programs seeded into PROG_ARRAY slots (autoload off for the rest), as a loader that
   * picks one program does. Default: every program of the object is loaded. */
  only?: boolean;
  /** Programs in sections libbpf does not know get type XDP (`xdp_devmap/...`: expected attach type BPF_XDP_DEVMAP). */
  xdpType?: boolean;
  /** max_entries for maps declared with 0 (sized by their loader at run time). */
  zeroMaxEntries?: number;
  /** Outer maps without an inner-map template get ARRAY(int, int, 1). */
  innerMapTemplate?: boolean;
  /** Bind the program to a veth (BPF_F_XDP_DEV_BOUND_ONLY) in a private network namespace. BPF_PROG_TEST_RUN refuses
   * device-bound programs (EINVAL), so this only proves the program loads. */
  deviceBound?: boolean;
  /** Run the harness in a network namespace of its own (`unshare -n`): the conntrack kfuncs see an empty table. */
  netns?: boolean;
  /** Leave out ARRAY and PERCPU_ARRAY entries whose value is all zero bytes (compare with sparseArrayMaps). */
  sparseArrays?: boolean;
}

export class KernelLoadError extends Error {
  constructor(message: string, readonly log: string) {
    super(message);
  }
}

/**
 * A refusal the upstream 6.18 kernel would not make, by this kernel build: a helper it takes from XDP programs
 * ("program of this type cannot use helper bpf_X#N" for an N 6.18 gives XDP). The simulator asks the running kernel
 * (simulator/kernel-probe.ts), so it must refuse the same program in the same words; a differential test then has no
 * packets to compare and checks that instead. Also matches check's wording of that refusal. Undefined for any other
 * log.
 */
export function buildOnlyRefusal(log: string): { words: string; id: number } | undefined {
  const m = /(?:program of this type cannot use helper|XDP programs may not call) (\w+)#(\d+)/.exec(log);
  if (!m || XDP_FORBIDDEN_HELPERS_618.has(Number(m[2]))) return undefined;
  return { words: `${m[1]}#${m[2]}`, id: Number(m[2]) };
}

const HARNESS_SRC = join(REPO, 'test', 'kernel', 'harness.c');
const CACHE = join(REPO, '.cache', 'kernel-harness');

let availability: string | undefined | null = null;

/** Why the kernel cannot run programs here, or undefined when it can. */
export function kernelAvailable(): string | undefined {
  if (availability !== null) return availability;
  availability = probe();
  return availability;
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root for bpf()';
  if (!existsSync('/usr/include/bpf/libbpf.h')) return 'libbpf headers missing (apt-get install libbpf-dev)';
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (gcc.error || gcc.status !== 0) return 'gcc not installed';
  try {
    harnessPath();
  } catch (e) {
    return (e as Error).message;
  }
  // A trivial program proves the bpf() syscall and BPF_PROG_TEST_RUN work (containers often block them).
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-kprobe-'));
  try {
    const s = join(dir, 'probe.s');
    const o = join(dir, 'probe.o');
    writeFileSync(s, '\t.section xdp,"ax",@progbits\n\t.globl probe\n\t.type probe,@function\nprobe:\n\tr0 = 2\n\texit\n' +
      '\t.size probe, .-probe\n\t.section license,"aw",@progbits\n\t.asciz "GPL"\n');
    const mc = spawnSync('llvm-mc', ['-triple', 'bpf', '-filetype=obj', s, '-o', o], { encoding: 'utf8' });
    if (mc.error || mc.status !== 0) return `llvm-mc cannot assemble BPF: ${mc.error?.message ?? mc.stderr}`;
    const r = runKernel(o, 'probe', [new Uint8Array(64)]);
    if (r.results[0]?.retval !== 2) return `BPF_PROG_TEST_RUN did not work: ${JSON.stringify(r.results[0])}`;
    return undefined;
  } catch (e) {
    return `bpf() unusable: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Build (once per source hash) and return the harness binary. */
export function harnessPath(): string {
  const src = readFileSync(HARNESS_SRC);
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const bin = join(CACHE, `harness-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const r = spawnSync('gcc', ['-O1', '-Wall', '-o', tmp, HARNESS_SRC, '-lbpf', '-lelf', '-lz'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot build the kernel harness (gcc ${HARNESS_SRC} -lbpf -lelf -lz): ${r.error?.message ?? r.stderr}`);
  }
  renameSync(tmp, bin);
  return bin;
}

/** For node:test: returns true (after t.skip) when the kernel is unavailable and not required; throws when required. */
export function kernelOrSkip(t: TestContext): boolean {
  const why = kernelAvailable();
  if (!why) return false;
  if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') throw new Error(`kernel required (XDP_LENS_REQUIRE_KERNEL=1) but unavailable: ${why}`);
  t.skip(`kernel tests skipped: ${why}`);
  return true;
}

const hex = (b: Uint8Array): string => (b.length === 0 ? '-' : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));
const unhex = (s: string): Uint8Array => (s === '-' ? new Uint8Array(0) : Uint8Array.from(Buffer.from(s, 'hex')));
const unhexStr = (s: string): string => (s === '-' ? '' : s);

/** libbpf's default object name: the file's base name up to the first dot (bpf_object__new). */
export function defaultObjectName(path: string): string {
  return basename(path).split('.')[0];
}

// Map types whose dump order is the index order (everything keyed by a dense u32 index).
const INDEXED = new Set([2, 3, 6, 12, 14, 16, 17]);

/** `maps` without the ARRAY and PERCPU_ARRAY entries whose values are all zero bytes (what sparseArrays leaves out of
 * the kernel's dump), given each map's type; other maps unchanged. */
export function sparseArrayMaps(maps: KernelMaps, types: Record<string, number>): KernelMaps {
  const zero = (h: string | undefined) => !h || /^0*$/.test(h);
  const out: KernelMaps = {};
  for (const [name, list] of Object.entries(maps)) {
    const t = types[name];
    out[name] = t === 2 || t === 6 ? list.filter((e) => !(e.values ? e.values.every(zero) : zero(e.value))) : list;
  }
  return out;
}

/** The verifier's log when the kernel refuses `program` of `objPath`, '' when it loads and runs one 64-byte packet. */
export function kernelRefusal(objPath: string, program: string): string {
  try {
    runKernel(objPath, program, [new Uint8Array(64)]);
    return '';
  } catch (e) {
    if (!(e instanceof KernelLoadError)) throw e;
    return e.log;
  }
}

/** Run `program` of `objPath` over `packets` with BPF_PROG_TEST_RUN, then dump the maps. */
export function runKernel(objPath: string, program: string, packets: Uint8Array[], opts: KernelRunOptions = {}): KernelRun {
  const bin = harnessPath();
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-krun-'));
  try {
    const lines: string[] = [`name ${opts.objectName ?? defaultObjectName(objPath)}`];
    if (opts.only) lines.push('only');
    if (opts.xdpType) lines.push('xdptype');
    if (opts.zeroMaxEntries) lines.push(`zeromax ${opts.zeroMaxEntries}`);
    if (opts.innerMapTemplate) lines.push('innermap');
    if (opts.deviceBound) lines.push('devbound');
    if (opts.sparseArrays) lines.push('sparse');
    for (const [name, entries] of Object.entries(opts.maps ?? {})) {
      for (const e of entries) {
        if (e.program !== undefined) lines.push(`seedprog ${name} ${e.key || '-'} ${e.program}`);
        else if (e.inner !== undefined) {
          const inner = e.inner.map((i) => `${i.key}=${i.value ?? ''}`).join(' ');
          lines.push(`seedinner ${name} ${e.key || '-'} ${e.map ?? `${name}[${e.key}]`} ${inner}`.trimEnd());
        } else if (e.map !== undefined) lines.push(`seedmap ${name} ${e.key || '-'} ${e.map}`);
        else if (e.values !== undefined) lines.push(`seedcpu ${name} ${e.key || '-'} ${e.values.map((v) => v || '-').join(' ')}`);
        else lines.push(`seed ${name} ${e.key || '-'} ${e.value || '-'}`);
      }
    }
    for (const p of packets) lines.push(`packet ${hex(p)}`);
    const input = join(dir, 'input.txt');
    writeFileSync(input, lines.join('\n') + '\n');
    // A network namespace of its own (unshare -n): a fresh conntrack table, nothing left behind.
    const [cmd, args] = opts.netns ? ['unshare', ['-n', bin, objPath, program, input]] : [bin, [objPath, program, input]];
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.error) throw new Error(`cannot run the kernel harness: ${r.error.message}`);
    if (r.status === 3) {
      // Verifier logs run to megabytes; the end holds the reason.
      const tail = r.stderr.trimEnd().split('\n');
      const shown = tail.length > 40 ? ['...', ...tail.slice(-40)] : tail;
      throw new KernelLoadError(`kernel refused ${objPath} (program ${program}):\n${shown.join('\n')}`, r.stderr);
    }
    if (r.status !== 0) throw new Error(`kernel harness failed (status ${r.status ?? r.signal}) on ${objPath}:\n${r.stderr}`);
    return parseOutput(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseOutput(text: string): KernelRun {
  const results: KernelPacketResult[] = [];
  const maps: KernelMaps = {};
  let cpus = 0;
  const zeroMax: string[] = [];
  const innerTemplate: string[] = [];
  let program: KernelLoadedProgram | undefined;
  const mapTypes: Record<string, number> = {};
  let current: { name: string; type: number; entries: KernelMapEntry[] } | undefined;
  const finish = () => {
    if (!current) return;
    if (!INDEXED.has(current.type)) current.entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    maps[current.name] = current.entries;
  };
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    switch (f[0]) {
      case 'cpus': cpus = Number(f[1]); break;
      case 'sized': zeroMax.push(f[1]); break;
      case 'innertemplate': innerTemplate.push(f[1]); break;
      case 'loaded': {
        const h = new Set(f.slice(2));
        const attach = h.has('attach:devmap') ? 'BPF_XDP_DEVMAP' : h.has('attach:cpumap') ? 'BPF_XDP_CPUMAP' : undefined;
        program = { section: f[1], legacy: h.has('legacy'), typeSet: h.has('typeset'), devBound: h.has('devbound'), zeroMax, innerTemplate, ...(attach ? { attachType: attach } : {}) };
        break;
      }
      case 'result': results[Number(f[1])] = { retval: Number(f[2]), out: unhex(f[3]) }; break;
      case 'error': results[Number(f[1])] = { retval: 0, out: new Uint8Array(0), errno: Number(f[2]) }; break;
      case 'map':
        finish();
        current = { name: f[1], type: Number(f[2]), entries: [] };
        mapTypes[f[1]] = Number(f[2]);
        break;
      case 'entry': {
        const e: KernelMapEntry = { key: unhexStr(f[1]) };
        if (f[2].startsWith('prog:')) e.program = f[2].slice(5);
        else if (f[2].startsWith('map:')) e.map = f[2].slice(4);
        else e.value = unhexStr(f[2]);
        current?.entries.push(e);
        break;
      }
      case 'inner':
      case 'innercpu': {
        const last = current?.entries[current.entries.length - 1];
        if (!last) break;
        const e: KernelMapEntry = f[0] === 'inner' ? { key: unhexStr(f[1]), value: unhexStr(f[2]) } : { key: unhexStr(f[1]), values: f.slice(2).map(unhexStr) };
        (last.inner ??= []).push(e);
        break;
      }
      case 'entrycpu':
        current?.entries.push({ key: unhexStr(f[1]), values: f.slice(2).map(unhexStr) });
        break;
      default:
        break;
    }
  }
  finish();
  return { results, maps, cpus, mapTypes, ...(program ? { program } : {}) };
}
