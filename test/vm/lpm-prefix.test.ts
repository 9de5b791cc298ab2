// LPM_TRIE lookups, updates and deletes with a key prefix length past the map's maximum (32 for 4 data bytes):
// the kernel's trie_lookup_elem finds nothing (the simulator used to clamp the length to the maximum and find the
// longest match), updates and deletes are -EINVAL. Also lengths at and below the maximum, and 0. Against the kernel,
// both engines; results go into the packet. Found by a probe of our own (lookups with packet-chosen lengths 61, 63).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct k4 { __u32 plen; __u8 d[4]; };
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 16); __type(key, struct k4); __type(value, __u64); __uint(map_flags, BPF_F_NO_PREALLOC); } t SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[6] = {};
  if ((void *)(d + 80) > end) return XDP_PASS;
  struct k4 a = { .plen = 8, .d = { 10, 0, 0, 0 } }, b = { .plen = 16, .d = { 10, 1, 0, 0 } };
  __u64 va = 8, vb = 16;
  o[0] = bpf_map_update_elem(&t, &a, &va, 0) * 10 + bpf_map_update_elem(&t, &b, &vb, 0);
  __u32 plen = d[64] | (d[65] << 8) | (d[66] << 16) | ((__u32)d[67] << 24);
  struct k4 k = { .plen = plen };
  __builtin_memcpy(k.d, d + 68, 4);
  __u64 *v = bpf_map_lookup_elem(&t, &k);
  o[1] = v ? (__s64)*v : -1;
  __u64 vc = 99;
  o[2] = bpf_map_update_elem(&t, &k, &vc, 0);
  o[3] = bpf_map_delete_elem(&t, &k);
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('LPM trie: a key prefix length past the maximum finds nothing and is -EINVAL to update or delete', (t) => {
  if (kernelOrSkip(t)) return;
  const cases: [number, number[]][] = [[32, [10, 1, 2, 3]], [33, [10, 1, 2, 3]], [40, [10, 1, 2, 3]], [61, [10, 1, 2, 3]],
    [0xffffffff, [10, 1, 2, 3]], [24, [10, 1, 2, 3]], [16, [10, 1, 0, 0]], [12, [10, 2, 0, 0]], [0, [0, 0, 0, 0]], [32, [11, 0, 0, 1]]];
  const packets = cases.map(([plen, data]) => {
    const p = new Uint8Array(100);
    p[12] = 0x08;
    new DataView(p.buffer).setUint32(64, plen >>> 0, true);
    p.set(data, 68);
    return p;
  });
  const kernel = assertAgreesWithKernel('lpm-prefix', SOURCE, packets);
  // Past the maximum: nothing found, -EINVAL (-22) to update and delete; at 32 within 10.1/16: the /16's value.
  assert.deepEqual([1, 2, 3].map((n) => i64(kernel.results[1]!.out, n)), [-1, -22, -22]);
  assert.equal(i64(kernel.results[0]!.out, 1), 16);
});
