// A BLOOM_FILTER created with BPF_F_ZERO_SEED answers as the kernel's does, false positives included: the same bit
// array size (max_entries * hash functions * 7/5, rounded up to a power of two, at least 64 bits), the same hash
// (jhash2 for values of a multiple of 4 bytes, jhash otherwise, seed 0 + the hash function's index) and the number of
// hash functions map_extra asks for. Each configuration fills a small filter far past max_entries with values from the
// packets and peeks values never pushed: the kernel answers 0 (maybe present) for many of them. Before this the
// simulator kept the values themselves and answered -ENOENT for every value never pushed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelLoadError, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { assertAgreesWithKernel, compileTestSource } from './kernel-agree.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { prepareMaps } from '../../simulator/vm/map-load.ts';

const source = (valueSize: number, maxEntries: number, extra: number) => `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct val { __u8 b[${valueSize}]; };
struct { __uint(type, BPF_MAP_TYPE_BLOOM_FILTER); __uint(max_entries, ${maxEntries}); __uint(map_flags, BPF_F_ZERO_SEED);
  __uint(map_extra, ${extra}); __type(value, struct val); } bf SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if ((void *)(d + 128) > end) return XDP_PASS;
  struct val v, probe;
  __builtin_memcpy(&v, d + 64, sizeof(v));
  __builtin_memcpy(&probe, d + 96, sizeof(probe));
  __s64 o[3] = {};
  if (d[63] & 1) o[0] = bpf_map_push_elem(&bf, &v, 0);
  o[1] = bpf_map_peek_elem(&bf, &probe);
  o[2] = bpf_map_peek_elem(&bf, &v);
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

/** Deterministic bytes (xorshift32). */
function bytes(seed: number, n: number): number[] {
  let x = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out.push(x & 0xff);
  }
  return out;
}

const CONFIGS: [valueSize: number, maxEntries: number, extra: number][] = [
  [4, 16, 0], [6, 16, 0], [16, 16, 3], [13, 12, 0], [12, 3, 1], [8, 100, 15],
];

test('a BPF_F_ZERO_SEED bloom filter filled past max_entries gives the kernel\'s false positives, both engines', (t) => {
  if (kernelOrSkip(t)) return;
  for (const [vs, max, extra] of CONFIGS) {
    const packets: Uint8Array[] = [];
    for (let i = 0; i < 120; i++) {
      const p = new Uint8Array(128);
      p[12] = 0x08;
      p[63] = i < 90 && i % 3 !== 2 ? 1 : 0;
      p.set(bytes(i * 7919 + vs, vs), 64);
      p.set(bytes(i * 104729 + 31 + max, vs), 96);
      packets.push(p);
    }
    let maybe = 0;
    const kernel = assertAgreesWithKernel(`bloom${vs}-${max}-${extra}`, source(vs, max, extra), packets);
    for (const r of kernel.results) if (r.out.length >= 16 && r.out[8] === 0 && r.out[9] === 0) maybe++;
    // The test must measure false positives: the kernel answered "maybe present" for values never pushed.
    if (max <= 16) t.diagnostic(`value_size ${vs} max_entries ${max} map_extra ${extra}: ${maybe} false positives of 120 probes`);
  }
});

test('map_extra above 15 (more than the number of hash functions) is refused at map creation, as the kernel does (EINVAL)', (t) => {
  for (const extra of [15, 16]) {
    const { path, objectPath } = compileTestSource(`bloomx${extra}`, source(4, 16, extra));
    const errors = prepareMaps(loadProgramFile(path), { nrCpus: 1 }).errors;
    if (extra > 15) assert.match(errors.join('\n'), /refuses map 'bf' \(EINVAL\): map_extra is 16/);
    else assert.deepEqual(errors, []);
    if (kernelOrSkip(t)) continue;
    let refused = '';
    try {
      runKernel(objectPath, 'prog', [new Uint8Array(128)]);
    } catch (e) {
      if (!(e instanceof KernelLoadError)) throw e;
      refused = e.message;
    }
    if (extra > 15) assert.match(refused, /Invalid argument/);
    else assert.equal(refused, '');
  }
});
