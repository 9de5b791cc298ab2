// Seeding QUEUE, STACK and BLOOM_FILTER maps (--maps entries with a "value" and no key): the values are pushed in
// order, as user space's keyless BPF_MAP_UPDATE_ELEM does, so a program can pop a pool its loader filled (a NAT's free
// addresses). The simulator refused such seeds ("has no keys to set"). Against the kernel (the harness pushes the same
// values), both engines: each packet pops the queue and the stack and asks the bloom filter, and writes what it got.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip, defaultObjectName, runKernel, type KernelMaps } from '../kernel/runner.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { ENGINES } from '../../simulator/vm/machine.ts';
import { seedMapsFromJson } from '../../simulator/vm/map-json.ts';
import { compileTestSource, i64 } from './kernel-agree.ts';
import { diffBytes } from '../parity/compare.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 4); __uint(value_size, 4); } pool SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_STACK); __uint(max_entries, 3); __uint(value_size, 8); } lifo SEC(".maps");
/* BPF_F_ZERO_SEED: with a random seed, whether a value never pushed is a false positive would be chance. */
struct { __uint(type, BPF_MAP_TYPE_BLOOM_FILTER); __uint(max_entries, 16); __uint(map_flags, BPF_F_ZERO_SEED); __uint(value_size, 4); } seen SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[7] = {};
  __u32 a = 0, probe;
  __u64 b = 0;
  if ((void *)(d + 64) > end) return XDP_PASS;
  o[0] = bpf_map_pop_elem(&pool, &a);
  o[1] = a;
  o[2] = bpf_map_pop_elem(&lifo, &b);
  o[3] = b;
  probe = d[60];
  o[4] = bpf_map_peek_elem(&seen, &probe);
  if (d[61]) o[5] = bpf_map_push_elem(&pool, &probe, 0);
  o[6] = probe;
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

// The --maps form: "value" only (an empty "key" is accepted too).
const SEED = {
  pool: [{ value: '0a000001' }, { value: '0a000002' }, { value: '0a000003' }],
  lifo: [{ value: '1100000000000000' }, { key: '', value: '2200000000000000' }],
  seen: [{ value: '07000000' }, { value: '09000000' }],
};
/** The same entries for the harness, whose entries always carry a key ('' here: a NULL key). */
const KERNEL_SEED: KernelMaps = Object.fromEntries(Object.entries(SEED).map(([n, l]) => [n, l.map((e) => ({ key: '', value: e.value }))]));

test('queue, stack and bloom filter maps seeded with values pop and peek them as the kernel does', (t) => {
  if (kernelOrSkip(t)) return;
  const { path, objectPath } = compileTestSource('queue-seed', SOURCE);
  const packets = Array.from({ length: 8 }, (_, i) => {
    const p = new Uint8Array(64);
    p[12] = 0x08;
    p[60] = [7, 8, 9, 1, 7, 9, 2, 3][i]!;
    p[61] = i === 4 ? 1 : 0;
    return p;
  });
  const kernel = runKernel(objectPath, 'prog', packets, { objectName: defaultObjectName(path), maps: KERNEL_SEED });
  const obj = loadProgramFile(path);
  for (const engine of ENGINES) {
    const session = new Session(obj, { program: 'prog', nrCpus: kernel.cpus, cpu: 0, engine, maps: SEED });
    const problems: string[] = [];
    packets.forEach((bytes, i) => {
      const s = session.runPacket(bytes);
      const k = kernel.results[i]!;
      if (s.fault) problems.push(`${engine} packet ${i}: fault ${s.fault.message}`);
      if (k.retval !== s.retval) problems.push(`${engine} packet ${i}: retval kernel ${k.retval} sim ${s.retval}`);
      const d = diffBytes(k.out, s.out);
      if (d) problems.push(`${engine} packet ${i}: ${d}`);
    });
    assert.deepEqual(problems, []);
  }
  // The seeds were there on the kernel side too: the queue gave its first value, the stack its last, the filter knew 7.
  const first = kernel.results[0]!.out;
  assert.equal(i64(first, 0), 0);
  assert.equal(i64(first, 1), 0x0100000a);
  assert.equal(i64(first, 3), 0x22);
  assert.equal(i64(first, 4), 0);
  assert.equal(i64(kernel.results[1]!.out, 4), -2);
});

test('a seed for a keyless map names no key and fits the map', () => {
  const { path } = compileTestSource('queue-seed-bad', SOURCE);
  const session = new Session(loadProgramFile(path), { program: 'prog' });
  const errors = seedMapsFromJson(session.machine.maps, {
    pool: [{ key: '00000000', value: '0a000001' }, { value: '0a00' }, ...Array.from({ length: 5 }, () => ({ value: '01020304' }))],
  }, 'seed.json');
  assert.deepEqual(errors, [
    "seed.json: map 'pool' entry 0: map pool (type 22) has no keys: give only \"value\", it is pushed",
    "seed.json: map 'pool' entry 1: value of 2 bytes, map pool has 4-byte values",
    "seed.json: map 'pool' entry 6: map pool is full (max_entries 4)",
  ]);
});
