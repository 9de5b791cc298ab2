// map_flags each map type accepts at creation, and CPUMAP's NR_CPUS limit, against the running kernel: every case is
// created with `bpftool map create` in a private mount namespace (its own bpf filesystem, gone with it) and the
// simulator's mapCreateError must refuse exactly the ones the kernel refuses, with the same errno. Found on
// adaricorp/tc-cpumap (a CPUMAP of 1024 entries: E2BIG on a kernel built for 256 CPUs, the simulator created it).
// Then two programs whose maps the kernel refuses (an ARRAY with BPF_F_NO_PREALLOC, the CPUMAP above) are refused
// by the simulator's loader too, and the same program with accepted flags loads on both sides.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MapType, type MapDef } from '../../simulator/elf/types.ts';
import { Session, loadProgramFileWithObject } from '../../simulator/session.ts';
import { kernelNrCpus, mapCreateError } from '../../simulator/vm/maps.ts';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';

interface Case { type: string; t: number; key: number; value: number; entries: number; flags: number }

const TYPES: [string, number, number, number][] = [
  // bpftool name, MapType, key size, value size
  ['array', MapType.ARRAY, 4, 8], ['percpu_array', MapType.PERCPU_ARRAY, 4, 8], ['hash', MapType.HASH, 4, 8],
  ['percpu_hash', MapType.PERCPU_HASH, 4, 8], ['lru_hash', MapType.LRU_HASH, 4, 8], ['lru_percpu_hash', MapType.LRU_PERCPU_HASH, 4, 8],
  ['prog_array', MapType.PROG_ARRAY, 4, 4], ['queue', MapType.QUEUE, 0, 4], ['stack', MapType.STACK, 0, 4],
  ['bloom_filter', MapType.BLOOM_FILTER, 0, 4], ['devmap', MapType.DEVMAP, 4, 4], ['devmap_hash', MapType.DEVMAP_HASH, 4, 8],
  ['xskmap', MapType.XSKMAP, 4, 4], ['cpumap', MapType.CPUMAP, 4, 4],
];

function cases(): Case[] {
  const out: Case[] = [];
  for (const [type, t, key, value] of TYPES) {
    // Bits 0..12 one at a time (NO_PREALLOC ... INNER_MAP), none, and RDONLY_PROG | WRONLY_PROG together.
    for (const flags of [0, ...Array.from({ length: 13 }, (_, b) => 1 << b), (1 << 7) | (1 << 8)]) out.push({ type, t, key, value, entries: 4, flags });
  }
  for (const flags of [1, 4, 8, 16, 128]) out.push({ type: 'lpm_trie', t: MapType.LPM_TRIE, key: 8, value: 4, entries: 4, flags: flags | 1 });
  out.push({ type: 'lpm_trie', t: MapType.LPM_TRIE, key: 8, value: 4, entries: 4, flags: 1 | 64 });
  out.push({ type: 'ringbuf', t: MapType.RINGBUF, key: 0, value: 0, entries: 4096, flags: 0 });
  out.push({ type: 'ringbuf', t: MapType.RINGBUF, key: 0, value: 0, entries: 4096, flags: 4 });
  out.push({ type: 'ringbuf', t: MapType.RINGBUF, key: 0, value: 0, entries: 4096, flags: 1 });
  const nr = kernelNrCpus();
  for (const entries of [nr, nr + 1, 1024]) out.push({ type: 'cpumap', t: MapType.CPUMAP, key: 4, value: 4, entries, flags: 0 });
  out.push({ type: 'cpumap', t: MapType.CPUMAP, key: 4, value: 4, entries: 1024, flags: 1 }); // EINVAL before E2BIG
  // A hash map's bucket table must fit in 4 GiB: above 2^27 entries E2BIG, before anything is allocated (2^27 itself
  // is created, but its 2 GiB of buckets is too much for a test).
  for (const [type, t] of [['hash', MapType.HASH], ['percpu_hash', MapType.PERCPU_HASH], ['lru_hash', MapType.LRU_HASH], ['lru_percpu_hash', MapType.LRU_PERCPU_HASH]] as const) {
    for (const entries of [2 ** 27 + 1, 2 ** 31, 0xffffffff]) out.push({ type, t, key: 4, value: 8, entries, flags: 0 });
  }
  return out;
}

/** The kernel's answer per case: 'ok' or the errno name, from one bpftool run per case inside `unshare -m`. */
function kernelAnswers(list: Case[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-mapflags-'));
  const lines = list.map((c, i) =>
    `bpftool map create ${dir}/m${i} type ${c.type} key ${c.key} value ${c.value} entries ${c.entries} name m${i} flags ${c.flags} 2>&1 | grep -o 'failed: .*' || echo ok; rm -f ${dir}/m${i}`);
  const script = `mount -t bpf bpf ${dir} || exit 3\n${lines.join('\n')}\n`;
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout.trim().split('\n');
  assert.equal(out.length, list.length, r.stdout);
  const errno: Record<string, string> = { 'Invalid argument': 'EINVAL', 'Argument list too long': 'E2BIG', 'Unknown error 524': 'ENOTSUPP' };
  return out.map((l) => (l === 'ok' ? 'ok' : errno[l.replace(/^failed: /, '')] ?? l));
}

const ours = (c: Case): string => {
  const def: MapDef = { name: 'm', kind: 'user', section: '.maps', type: c.t, keySize: c.key, valueSize: c.value, maxEntries: c.entries, flags: c.flags } as MapDef;
  const e = mapCreateError(def);
  return e === undefined ? 'ok' : /\((E[A-Z0-9]+)\)/.exec(e)?.[1] ?? e;
};

test('map_flags per map type and the CPUMAP NR_CPUS limit: refused exactly where the kernel refuses them', (t) => {
  const list = cases();
  // Without the kernel, the measured table still holds a few anchors.
  assert.equal(ours({ type: 'array', t: MapType.ARRAY, key: 4, value: 8, entries: 4, flags: 1 }), 'EINVAL');
  assert.equal(ours({ type: 'hash', t: MapType.HASH, key: 4, value: 8, entries: 4, flags: 1 }), 'ok');
  assert.equal(ours({ type: 'cpumap', t: MapType.CPUMAP, key: 4, value: 4, entries: kernelNrCpus() + 1, flags: 0 }), 'E2BIG');
  assert.equal(ours({ type: 'hash', t: MapType.HASH, key: 4, value: 8, entries: 0xffffffff, flags: 0 }), 'E2BIG');
  if (kernelOrSkip(t)) return;
  const kernel = kernelAnswers(list);
  const differ = list.flatMap((c, i) => (ours(c) === kernel[i] ? [] : [`${c.type} entries ${c.entries} flags ${c.flags}: kernel ${kernel[i]}, simulator ${ours(c)}`]));
  assert.deepEqual(differ, []);
  // The table is not trivially 'ok': both answers occur.
  assert.ok(kernel.filter((k) => k === 'ok').length > 40 && kernel.filter((k) => k === 'EINVAL').length > 100, kernel.join(' '));
});

const PROGRAM = (mapDefs: string) => `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
${mapDefs}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&counts, &k);
  if (v) *v += 1;
  return bpf_redirect_map(&cpus, 0, XDP_PASS);
}
char LICENSE[] SEC("license") = "GPL";
`;
const COUNTS = (flags: string) => `struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 4); __uint(map_flags, ${flags}); } counts SEC(".maps");`;
const CPUS = (n: string) => `struct { __uint(type, BPF_MAP_TYPE_CPUMAP); __type(key, __u32); __type(value, __u32); __uint(max_entries, ${n}); } cpus SEC(".maps");`;

function simulatorLoadError(objectPath: string): string {
  try {
    const { object } = loadProgramFileWithObject(objectPath);
    new Session(object, { program: 'prog' });
    return '';
  } catch (e) {
    return String((e as Error).message);
  }
}

test('programs whose maps the kernel refuses (ARRAY with BPF_F_NO_PREALLOC, CPUMAP above NR_CPUS) are refused by the loader too', (t) => {
  const variants: [string, string, RegExp | undefined][] = [
    ['map-flags-array-noprealloc', PROGRAM(`${COUNTS('BPF_F_NO_PREALLOC')}\n${CPUS('4')}`), /refuses map 'counts' \(EINVAL\): map_flags BPF_F_NO_PREALLOC is not accepted/],
    ['map-flags-cpumap-1024', PROGRAM(`${COUNTS('0')}\n${CPUS(String(kernelNrCpus() * 4))}`), /refuses map 'cpus' \(E2BIG\): max_entries \d+ is above NR_CPUS/],
    ['map-flags-accepted', PROGRAM(`${COUNTS('BPF_F_MMAPABLE')}\n${CPUS(String(kernelNrCpus()))}`), undefined],
  ];
  const objects = variants.map(([name, src, want]) => ({ name, want, ...compileTestSource(name, src) }));
  for (const o of objects) {
    const err = simulatorLoadError(o.objectPath);
    if (o.want) assert.match(err, o.want, o.name);
    else assert.equal(err, '', o.name);
  }
  if (kernelOrSkip(t)) return;
  for (const o of objects) {
    const log = kernelRefusal(o.objectPath, 'prog');
    if (o.want) assert.match(log, /failed to create|Invalid argument|Argument list too long/, `${o.name}: ${log}`);
    else assert.equal(log, '', o.name);
  }
  assert.ok(readFileSync('/sys/devices/system/cpu/kernel_max', 'utf8').trim() === String(kernelNrCpus() - 1));
});
