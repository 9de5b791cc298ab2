// LRU_HASH and LRU_PERCPU_HASH eviction, the simulator against the kernel: a program of our own applies one map
// operation per packet (which map, update with BPF_ANY / BPF_NOEXIST / BPF_EXIST, lookup, delete, key) to LRU maps of
// 1, 2, 16, 100 and 1000 entries, with the common LRU and BPF_F_NO_COMMON_LRU (1 and 7 entries too, which the kernel
// rounds up to a multiple of the CPUs), plain and per-CPU values, and writes each operation's result into the packet.
// Sequences: filling every map with three times its size of distinct keys; the same with lookups of earlier keys
// between inserts (reference bits); and random mixes of every operation over a key range twice the map's size. After
// each sequence (fresh maps; one sequence starts from more seeded entries than the maps hold, as user-space updates on
// CPU 0 make them) every packet's bytes (the per-operation results) and every map's entries must equal the kernel's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';

/** [name, type, max_entries, flags] */
const MAPS: [string, string, number, string][] = [
  ['l1', 'BPF_MAP_TYPE_LRU_HASH', 1, '0'],
  ['l2', 'BPF_MAP_TYPE_LRU_HASH', 2, '0'],
  ['l16', 'BPF_MAP_TYPE_LRU_HASH', 16, '0'],
  ['l100', 'BPF_MAP_TYPE_LRU_HASH', 100, '0'],
  ['l1000', 'BPF_MAP_TYPE_LRU_HASH', 1000, '0'],
  ['n16', 'BPF_MAP_TYPE_LRU_HASH', 16, 'BPF_F_NO_COMMON_LRU'],
  ['n1', 'BPF_MAP_TYPE_LRU_HASH', 1, 'BPF_F_NO_COMMON_LRU'],
  ['n7', 'BPF_MAP_TYPE_LRU_HASH', 7, 'BPF_F_NO_COMMON_LRU'],
  ['n100', 'BPF_MAP_TYPE_LRU_HASH', 100, 'BPF_F_NO_COMMON_LRU'],
  ['p1', 'BPF_MAP_TYPE_LRU_PERCPU_HASH', 1, '0'],
  ['p16', 'BPF_MAP_TYPE_LRU_PERCPU_HASH', 16, '0'],
  ['p100', 'BPF_MAP_TYPE_LRU_PERCPU_HASH', 100, '0'],
  ['pn16', 'BPF_MAP_TYPE_LRU_PERCPU_HASH', 16, 'BPF_F_NO_COMMON_LRU'],
];

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
${MAPS.map(([n, t, m, f]) => `struct { __uint(type, ${t}); __uint(max_entries, ${m}); __uint(map_flags, ${f}); __type(key, __u32); __type(value, __u64); } ${n} SEC(".maps");`).join('\n')}

/* op: 0 lookup, 1 update BPF_ANY, 2 BPF_NOEXIST, 3 BPF_EXIST, 4 delete. The result byte: lookup 1/0 (found), else
   the low byte of the helper's return value. */
static __always_inline long apply(void *map, __u8 op, __u32 key) {
  __u64 v = ((__u64)key << 8) | op;
  if (op == 0) {
    __u64 *p = bpf_map_lookup_elem(map, &key);
    if (!p) return 0;
    *p += 0x10000;
    return 1;
  }
  if (op == 4) return bpf_map_delete_elem(map, &key);
  return bpf_map_update_elem(map, &key, &v, op - 1);
}

SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  __u8 *end = (void *)(long)ctx->data_end;
  if (d + 22 > end) return XDP_DROP;
  __u8 m = d[14], op = d[15];
  __u32 key = *(__u32 *)(d + 18);
  long r = -1;
  switch (m) {
${MAPS.map(([n], i) => `  case ${i}: r = apply(&${n}, op, key); break;`).join('\n')}
  }
  d[16] = (__u8)r;
  return XDP_PASS;
}
`;

interface Op {
  map: number;
  op: number;
  key: number;
}

function packet(o: Op): Uint8Array {
  const b = new Uint8Array(22);
  b[12] = 0x88;
  b[13] = 0xb5;
  b[14] = o.map;
  b[15] = o.op;
  new DataView(b.buffer).setUint32(18, o.key, true);
  return b;
}

/** A small deterministic generator (xorshift32), so that a failing sequence can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

/** Each map's operations in turn, interleaved (maps do not share state). */
function interleave(perMap: Op[][]): Op[] {
  const out: Op[] = [];
  const n = Math.max(...perMap.map((l) => l.length));
  for (let i = 0; i < n; i++) for (const l of perMap) if (i < l.length) out.push(l[i]);
  return out;
}

const SEQUENCES: [string, () => Op[]][] = [
  ['fill with distinct keys', () => interleave(MAPS.map(([, , size], map) =>
    Array.from({ length: 3 * size + 2 }, (_, i) => ({ map, op: 1, key: 1000 + i }))))],
  ['fill with lookups of earlier keys between inserts', () => {
    const r = rng(7);
    return interleave(MAPS.map(([, , size], map) => {
      const ops: Op[] = [];
      for (let i = 0; i < 3 * size + 2; i++) {
        ops.push({ map, op: 1, key: 5000 + i });
        if (i > 0) ops.push({ map, op: 0, key: 5000 + (r() % i) });
        if (i % 3 === 0) ops.push({ map, op: 0, key: 5000 + i });
      }
      return ops;
    }));
  }],
  ...[1, 2, 3].map((seed): [string, () => Op[]] => [`random mix of every operation (seed ${seed})`, () => {
    const r = rng(seed * 7919);
    return interleave(MAPS.map(([, , size], map) =>
      Array.from({ length: 4 * size + 8 }, () => {
        const x = r() % 100;
        const op = x < 40 ? 1 : x < 70 ? 0 : x < 80 ? 4 : x < 90 ? 2 : 3;
        return { map, op, key: r() % (2 * size + 2) };
      })));
  }]),
];

/** Seeds (user-space updates on CPU 0) of more keys than the maps hold, then a fill: entries hex, per-CPU values. */
function seeds(cpus: number): Record<string, { key: string; value?: string; values?: string[] }[]> {
  const hex32 = (n: number) => Buffer.from(new Uint32Array([n]).buffer).toString('hex');
  const hex64 = (n: number) => Buffer.from(new BigUint64Array([BigInt(n)]).buffer).toString('hex');
  const out: Record<string, { key: string; value?: string; values?: string[] }[]> = {};
  for (const [name, type, size] of MAPS) {
    if (size > 100) continue;
    out[name] = Array.from({ length: size + 5 }, (_, i) => type.includes('PERCPU')
      ? { key: hex32(9000 + i), values: Array.from({ length: cpus }, (_, c) => hex64(i * 16 + c)) }
      : { key: hex32(9000 + i), value: hex64(i) });
  }
  return out;
}

test('LRU maps evict as the kernel does', async (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-lru-'));
  const path = join(dir, 'lru.bpf.c');
  writeFileSync(path, SOURCE);
  const compiled = compileC(path);
  assert.ok(compiled.objectPath, compiled.stderr);
  const cpus = runKernel(compiled.objectPath, 'prog', [], { objectName: defaultObjectName(path) }).cpus;
  const cases: [string, () => Op[], boolean][] = [
    ...SEQUENCES.map(([what, make]): [string, () => Op[], boolean] => [what, make, false]),
    ['seeded beyond max_entries from user space, then lookups and a fill', () => interleave(MAPS.map(([, , size], map) => [
      ...Array.from({ length: size }, (_, i) => ({ map, op: 0, key: 9000 + ((i * 7) % (size + 5)) })),
      ...Array.from({ length: size + 3 }, (_, i) => ({ map, op: 1, key: 100 + i })),
    ])), true],
  ];
  for (const [what, make, seeded] of cases) {
    await t.test(what, () => {
      const ops = make();
      const packets = ops.map(packet);
      const maps = seeded ? seeds(cpus) : undefined;
      const kernel = runKernel(compiled.objectPath!, 'prog', packets, { objectName: defaultObjectName(path), maps });
      const session = new Session(loadProgramFile(path), { program: 'prog', nrCpus: kernel.cpus, cpu: 0, maps });
      const problems: string[] = [];
      packets.forEach((bytes, i) => {
        const s = session.runPacket(bytes);
        const k = kernel.results[i];
        if (s.fault) problems.push(`packet ${i}: simulator fault ${s.fault.kind}: ${s.fault.message}`);
        const d = diffBytes(k.out, s.out);
        if (d && problems.length < 5) problems.push(`packet ${i} (map ${MAPS[ops[i].map][0]} op ${ops[i].op} key ${ops[i].key}): ${d}`);
      });
      problems.push(...diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson()), 20));
      // The sequences must overflow the maps, or they measure nothing.
      for (const [name, , size] of MAPS) {
        assert.ok((kernel.maps[name] ?? []).length <= size, `${name}: more entries than max_entries`);
      }
      assert.deepEqual(problems, [], `${what} (${kernel.cpus} CPUs):\n  ${problems.join('\n  ')}`);
    });
  }
});
