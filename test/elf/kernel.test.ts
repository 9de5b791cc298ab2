// The kernel is the authority: load each fixture with `bpftool prog loadall ... pinmaps ...` (libbpf) and compare
// the maps it created, the PROG_ARRAY slots it filled, the functions of each program and their line info
// (`bpftool prog dump xlated linum`) with what our loader built from the same object.
// Needs root, bpftool and a bpf() syscall; skips with a message otherwise, unless XDP_LENS_REQUIRE_KERNEL=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadedObject, LoadedProgram } from '../../simulator/elf/types.ts';
import { compileFixture, fixture, HAVE_CLANG, hasTool, loadOk } from './helpers.ts';

const REQUIRE = process.env.XDP_LENS_REQUIRE_KERNEL === '1';

function kernelUnavailable(): string | false {
  if (!HAVE_CLANG) return 'clang not installed';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root for bpf()';
  if (!hasTool('bpftool', 'version')) return 'bpftool not installed';
  if (!existsSync('/sys/fs/bpf')) return 'bpffs not mounted at /sys/fs/bpf';
  return false;
}
const why = kernelUnavailable();
const SKIP = why && !REQUIRE ? `kernel tests skipped: ${why}` : false;

function bpftool(args: string[]): unknown {
  const r = spawnSync('bpftool', ['-j', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bpftool ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'hash', 2: 'array', 3: 'prog_array', 5: 'percpu_hash', 6: 'percpu_array', 9: 'lru_hash', 10: 'lru_percpu_hash',
  14: 'devmap', 16: 'cpumap', 17: 'xskmap', 25: 'devmap_hash', 27: 'ringbuf',
};

interface KernelObject {
  maps: { name: string; type: string; key: number; value: number; maxEntries: number; flags: number; id: number }[];
  progIds: Map<string, number>;
  xlated: Map<string, { proto?: string; line_num?: number; line_col?: number; src?: string }[]>;
  slots: Map<string, { index: number; progId: number }[]>;
}

/** Load the fixture through libbpf, read back everything, unpin. The object file is named after the fixture. */
function kernelLoad(name: string, programs: string[]): KernelObject {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-kobj-'));
  const obj = join(dir, name.replace(/\.c$/, '.o'));
  copyFileSync(compileFixture(name), obj);
  const pin = `/sys/fs/bpf/xdp-lens-test-${process.pid}-${name.replace(/\W/g, '_')}`;
  const pinMaps = `${pin}-maps`;
  try {
    bpftool(['prog', 'loadall', obj, pin, 'pinmaps', pinMaps]);
    const maps = (existsSync(pinMaps) ? readdirSync(pinMaps) : []).map((f) => {
      const m = bpftool(['map', 'show', 'pinned', join(pinMaps, f)]) as Record<string, number & string>;
      return { name: m.name, type: m.type, key: m.bytes_key, value: m.bytes_value, maxEntries: m.max_entries, flags: m.flags, id: m.id };
    });
    const progIds = new Map<string, number>();
    const xlated = new Map<string, []>();
    for (const p of programs) {
      progIds.set(p, (bpftool(['prog', 'show', 'pinned', join(pin, p)]) as { id: number }).id);
      xlated.set(p, bpftool(['prog', 'dump', 'xlated', 'pinned', join(pin, p), 'linum']) as []);
    }
    const slots = new Map<string, { index: number; progId: number }[]>();
    for (const m of maps.filter((x) => x.type === 'prog_array')) {
      const entries = bpftool(['map', 'dump', 'id', String(m.id)]) as { key: string[]; value: string[] }[];
      const le = (bytes: string[]) => bytes.reduce((acc, b, i) => acc + parseInt(b, 16) * 2 ** (8 * i), 0);
      slots.set(m.name, entries.map((e) => ({ index: le(e.key), progId: le(e.value) })));
    }
    return { maps, progIds, xlated, slots };
  } finally {
    rmSync(pin, { recursive: true, force: true });
    rmSync(pinMaps, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkMaps(o: LoadedObject, k: KernelObject) {
  const ours = o.maps.map((m) => ({ name: m.name, type: TYPE_NAMES[m.type] ?? String(m.type), key: m.keySize, value: m.valueSize, maxEntries: m.maxEntries, flags: m.flags }));
  const theirs = k.maps.map(({ id: _id, ...m }) => m);
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  // The kernel reports a ringbuf's key/value sizes as 0 too; everything else must match field for field.
  assert.deepEqual(ours.sort(byName), theirs.sort(byName));
}

/** Function names in order and, per function, the distinct (line, column) records in order. */
function ourShape(p: LoadedProgram) {
  const bounds = [...p.funcs.map((f) => f.insn), p.insns.length];
  return p.funcs.map((f, i) => {
    const recs: string[] = [];
    for (let s = bounds[i]; s < bounds[i + 1]; s++) {
      const l = p.lines[s];
      const key = l ? `${l.line}:${l.column}` : '';
      if (key && recs[recs.length - 1] !== key) recs.push(key);
    }
    return { name: f.name, recs };
  });
}

function kernelShape(dump: { proto?: string; line_num?: number; line_col?: number }[]) {
  const out: { name: string; recs: string[] }[] = [];
  for (const e of dump) {
    if (e.proto) out.push({ name: /(\w+)\(/.exec(e.proto)?.[1] ?? e.proto, recs: [] });
    if (e.line_num && out.length > 0) {
      const recs = out[out.length - 1].recs;
      const key = `${e.line_num}:${e.line_col ?? 0}`;
      if (recs[recs.length - 1] !== key) recs.push(key);
    }
  }
  return out;
}

function check(name: string, extra?: (o: LoadedObject, k: KernelObject) => void) {
  const o = loadOk(compileFixture(name), fixture(name));
  const k = kernelLoad(name, o.programs.map((p) => p.name));
  checkMaps(o, k);
  for (const p of o.programs) assert.deepEqual(ourShape(p), kernelShape(k.xlated.get(p.name)!), `${name}: ${p.name}`);
  extra?.(o, k);
}

test('kernel: BTF map definitions match the maps libbpf creates', { skip: SKIP }, () => check('maps_kinds.c'));
test('kernel: global data maps (names, flags, sizes) match libbpf', { skip: SKIP }, () => check('globals.c'));
test('kernel: linked subprograms and their line info match xlated linum', { skip: SKIP }, () => check('subprogs.c'));
test('kernel: several programs per object', { skip: SKIP }, () => check('multi.c'));
test('kernel: PROG_ARRAY initial slots hold the programs __array(values) names', { skip: SKIP }, () =>
  check('tailcall.c', (o, k) => {
    const jump = o.maps.find((m) => m.name === 'jump')!;
    const progName = new Map([...k.progIds].map(([n, id]) => [id, n]));
    assert.deepEqual(k.slots.get('jump')!.map((s) => ({ index: s.index, program: progName.get(s.progId) })), jump.initialProgs);
  }));
