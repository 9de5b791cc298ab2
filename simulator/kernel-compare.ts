// "Compare with Kernel": run the same object on the same packets through the running kernel's BPF_PROG_TEST_RUN
// (with bpftool, as root) and through the simulator, and line the verdicts and output bytes up side by side.
// Both sides keep map state across packets (one loaded program, one Session), as a capture run does.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadedObject } from './elf/types.ts';
import { Session, actionOf } from './session.ts';
import { kernelVerifierUnavailable, parseLoadOutput } from './analysis/verifier.ts';

export interface CompareSide {
  retval: number;
  action: string;
  /** Hex of the output packet (data_meta..data_end plus fragments, as test_run returns it). */
  data: string;
}

export interface CompareRow {
  index: number;
  sim: CompareSide & { fault?: string };
  kernel?: CompareSide;
  kernelError?: string;
  equal: boolean;
}

export interface MapComparison {
  /** The map's name in the object (global data as libbpf names it). */
  map: string;
  equal: boolean;
  /** The first differences, one line each: `key <hex>: simulator <hex|absent>, kernel <hex|absent>`. */
  differences: string[];
}

export interface CompareResult {
  available: boolean;
  reason?: string;
  program: string;
  rows: CompareRow[];
  differing: number;
  /** Map contents after the last packet, per data map (device, program and event maps are not compared). */
  maps: MapComparison[];
  mapsDiffering: number;
}

/** The kernel's possible CPUs (/sys/devices/system/cpu/possible, e.g. "0-3"), at least 1. */
function possibleCpus(): number {
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

/**
 * Runs `frames` through both. `objectPath` is the compiled object the simulator loaded as `obj`.
 * Never throws for kernel trouble: a kernel that cannot be used gives `available: false` and why.
 */
export function compareWithKernel(
  objectPath: string,
  obj: LoadedObject,
  frames: { frame: Uint8Array; tsNs: bigint }[],
  opts: { program?: string; seed?: number } = {},
): CompareResult {
  // As many CPUs as the kernel has possible CPUs, so that per-CPU maps and bpf_map_lookup_percpu_elem agree.
  const session = new Session(obj, { program: opts.program, seed: opts.seed ?? 1, nrCpus: possibleCpus() });
  const program = session.program.name;
  const why = kernelVerifierUnavailable();
  const none = { rows: [], differing: 0, maps: [], mapsDiffering: 0 };
  if (why) return { available: false, reason: why, program, ...none };
  const base = `/sys/fs/bpf/xdp-lens-compare-${process.pid}-${Date.now()}`;
  const tmp = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-'));
  try {
    // The maps are pinned too: a PROG_ARRAY loses its entries when no user-space reference is left, and bpftool
    // exits right after loading.
    const load = spawnSync('bpftool', ['prog', 'loadall', objectPath, base, 'type', 'xdp', 'pinmaps', `${base}-maps`], { encoding: 'utf8', timeout: 20000 });
    if (load.status !== 0) {
      const refusal = parseLoadOutput(load.stderr + load.stdout, obj.path).findings.map((f) => `${f.file}:${f.line}: ${f.message}`);
      const log = refusal.length ? refusal.join('\n') : (load.stderr || load.stdout || '').split('\n').filter((l) => l.trim()).slice(-6).join('\n');
      return { available: false, reason: `the kernel refused to load the object: ${log}`, program, ...none };
    }
    const pinned = join(base, program);
    if (!existsSync(pinned)) return { available: false, reason: `bpftool did not pin ${program} under ${base}`, program, ...none };
    const rows: CompareRow[] = [];
    const inFile = join(tmp, 'in.bin');
    const outFile = join(tmp, 'out.bin');
    frames.forEach(({ frame, tsNs }, index) => {
      const s = session.runPacket(frame, { tsNs });
      const sim = { retval: s.retval, action: s.action, data: hex(s.out), ...(s.fault ? { fault: `${s.fault.kind}: ${s.fault.message}` } : {}) };
      writeFileSync(inFile, frame);
      rmSync(outFile, { force: true });
      // On CPU 0, like the simulator's session, so that per-CPU map values land in the same column.
      const r = spawnSync('taskset', ['-c', '0', 'bpftool', 'prog', 'run', 'pinned', pinned, 'data_in', inFile, 'data_out', outFile], { encoding: 'utf8', timeout: 10000 });
      const m = /Return value: (\d+)/.exec(r.stdout + r.stderr);
      if (r.status !== 0 || !m) {
        rows.push({ index, sim, kernelError: (r.stderr || r.stdout || 'bpftool failed').trim().split('\n').pop(), equal: false });
        return;
      }
      const retval = Number(m[1]) >>> 0;
      const data = existsSync(outFile) ? hex(readFileSync(outFile)) : '';
      const kernel = { retval, action: actionOf(retval), data };
      rows.push({ index, sim, kernel, equal: !s.fault && kernel.retval === sim.retval && kernel.data === sim.data });
    });
    const maps = compareMaps(session.mapsJson(), kernelMaps(pinned));
    return { available: true, program, rows, differing: rows.filter((r) => !r.equal).length, maps, mapsDiffering: maps.filter((m) => !m.equal).length };
  } finally {
    rmSync(base, { recursive: true, force: true });
    rmSync(`${base}-maps`, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

const DATA_MAP_TYPES = new Set(['hash', 'array', 'percpu_hash', 'percpu_array', 'lru_hash', 'lru_percpu_hash', 'lpm_trie']);

interface KernelMap {
  name: string;
  type: string;
  /** key hex → value hex, or per-CPU value hex list. */
  entries: Map<string, string | string[]>;
}

const joinHex = (bytes: unknown): string => (Array.isArray(bytes) ? bytes.map((b) => String(b).replace(/^0x/, '').padStart(2, '0')).join('') : '');

/** The data maps the pinned program uses, dumped with bpftool. */
function kernelMaps(pinned: string): KernelMap[] {
  const json = (args: string[]): unknown => {
    const r = spawnSync('bpftool', [...args, '-j'], { encoding: 'utf8', timeout: 20000, maxBuffer: 256 << 20 });
    if (r.status !== 0) return undefined;
    try {
      return JSON.parse(r.stdout);
    } catch {
      return undefined;
    }
  };
  const prog = json(['prog', 'show', 'pinned', pinned]) as { map_ids?: number[] } | undefined;
  const out: KernelMap[] = [];
  for (const id of prog?.map_ids ?? []) {
    const info = json(['map', 'show', 'id', String(id)]) as { name?: string; type?: string } | undefined;
    if (!info?.name || !info.type || !DATA_MAP_TYPES.has(info.type)) continue;
    const dump = json(['map', 'dump', 'id', String(id)]);
    if (!Array.isArray(dump)) continue;
    const entries = new Map<string, string | string[]>();
    for (const e of dump as { key?: unknown; value?: unknown; values?: { cpu: number; value: unknown }[] }[]) {
      const key = joinHex(e.key);
      if (e.values) entries.set(key, [...e.values].sort((a, b) => a.cpu - b.cpu).map((v) => joinHex(v.value)));
      else entries.set(key, joinHex(e.value));
    }
    out.push({ name: info.name, type: info.type, entries });
  }
  return out;
}

/** The simulator's maps against the kernel's. Global data maps are matched by their suffix (.bss, .data, .rodata*):
 *  the kernel names them after the object file, which here is the compiled cache object. Per-CPU maps compare the
 *  CPU both sides ran on (0). */
export function compareMaps(sim: Record<string, { key: string; value?: string; values?: string[] }[]>, kernel: KernelMap[]): MapComparison[] {
  const out: MapComparison[] = [];
  for (const k of kernel) {
    const suffix = /(\.(?:bss|data|rodata)(?:\..*)?)$/.exec(k.name)?.[1];
    const name = k.name in sim ? k.name : suffix ? Object.keys(sim).find((n) => n.endsWith(suffix)) : Object.keys(sim).find((n) => n.startsWith(k.name));
    if (!name) continue;
    const mine = new Map<string, string>();
    for (const e of sim[name]!) mine.set(e.key, e.values ? (e.values[0] ?? '') : (e.value ?? ''));
    const theirs = new Map<string, string>();
    for (const [key, v] of k.entries) theirs.set(key, Array.isArray(v) ? (v[0] ?? '') : v);
    const differences: string[] = [];
    for (const key of new Set([...mine.keys(), ...theirs.keys()])) {
      const a = mine.get(key);
      const b = theirs.get(key);
      if (a !== b) differences.push(`key ${key}: simulator ${a ?? 'absent'}, kernel ${b ?? 'absent'}`);
    }
    out.push({ map: name, equal: differences.length === 0, differences: differences.slice(0, 10) });
  }
  return out;
}

/** A side-by-side text table of a comparison, for an editor tab or a terminal. */
export function formatComparison(r: CompareResult, title: string): string {
  if (!r.available) return `${title}\n\nThe kernel could not run the program: ${r.reason}\n`;
  const lines = [
    title,
    '',
    `${r.rows.length} packets compared, ${r.differing} differing (retval and output bytes, simulator vs BPF_PROG_TEST_RUN).`,
    '',
    `${'packet'.padStart(6)}  ${'simulator'.padEnd(22)} ${'kernel'.padEnd(22)} bytes`,
  ];
  for (const row of r.rows) {
    const sim = `${row.sim.action} (${row.sim.retval})`;
    const k = row.kernel ? `${row.kernel.action} (${row.kernel.retval})` : `error: ${row.kernelError}`;
    const bytes = row.kernel ? (row.kernel.data === row.sim.data ? 'same' : firstDifference(row.sim.data, row.kernel.data)) : '-';
    lines.push(`${String(row.index).padStart(6)}  ${sim.padEnd(22)} ${k.padEnd(22)} ${row.equal ? bytes : `${bytes}  <-- differs`}${row.sim.fault ? `  (simulator fault: ${row.sim.fault})` : ''}`);
  }
  if (r.maps.length) {
    lines.push('', `Maps after the last packet: ${r.maps.length} compared, ${r.mapsDiffering} differing.`);
    for (const m of r.maps) {
      lines.push(`  ${m.map}: ${m.equal ? 'same' : 'differs'}`);
      for (const d of m.differences) lines.push(`    ${d}`);
    }
  }
  return lines.join('\n') + '\n';
}

function firstDifference(a: string, b: string): string {
  if (a.length !== b.length) return `length ${a.length / 2} vs ${b.length / 2}`;
  for (let i = 0; i < a.length; i += 2) if (a.slice(i, i + 2) !== b.slice(i, i + 2)) return `byte ${i / 2}: ${a.slice(i, i + 2)} vs ${b.slice(i, i + 2)}`;
  return 'same';
}
