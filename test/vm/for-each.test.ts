// bpf_for_each_map_elem against the kernel, both engines: an ARRAY walked in index order with a callback that stops
// at a slot chosen by the packet (the result counts the callbacks, the stopping one included), a PERCPU_ARRAY, a HASH
// and an LRU_HASH filled by the packets (walked with order-independent callbacks: sums, counts, every value changed
// through the pointer, since the kernel's bucket order depends on a random seed), an empty hash (0 callbacks), and
// flags other than 0 (-EINVAL). The callback reads the key through its pointer. Results go into the packet; maps are
// compared after the run. Found by a search of XDP programs for helpers the simulator lacked (an ACL walking its rules
// with bpf_for_each_map_elem): it faulted as not supported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 3); __type(key, __u32); __type(value, __u32); } pca SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } hsh SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 4); __type(key, __u16); __type(value, __u32); } lru SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } empty SEC(".maps");
struct cbctx { __u64 sum; __u64 keys; __u32 stop; __u32 calls; };
static long arr_cb(void *map, __u32 *key, __u64 *val, struct cbctx *c) {
  c->calls++;
  c->keys = c->keys * 10 + *key;
  c->sum += *val;
  *val += *key + 1;
  return *key == c->stop;
}
static long pca_cb(void *map, __u32 *key, __u32 *val, struct cbctx *c) {
  c->calls++;
  *val ^= 0x5a5a0000 | *key;
  c->sum += *val;
  return 0;
}
static long hsh_cb(void *map, __u32 *key, __u64 *val, struct cbctx *c) {
  c->calls++;
  c->keys += *key;
  c->sum += *val;
  *val = *val * 3 + 1;
  return 0;
}
static long lru_cb(void *map, __u16 *key, __u32 *val, struct cbctx *c) {
  c->calls++;
  c->keys ^= *key;
  c->sum += *val;
  return 0;
}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[16] = {};
  if ((void *)(d + 160) > end) return XDP_PASS;
  __u32 k = d[64] & 15;
  __u64 v = d[65];
  bpf_map_update_elem(&hsh, &k, &v, BPF_ANY);
  __u16 lk = d[66] & 7;
  __u32 lv = d[67];
  bpf_map_update_elem(&lru, &lk, &lv, BPF_ANY);
  struct cbctx c = { .stop = d[68] & 15 };
  o[0] = bpf_for_each_map_elem(&arr, arr_cb, &c, 0); o[1] = c.sum; o[2] = c.keys; o[3] = c.calls;
  struct cbctx c2 = {};
  o[4] = bpf_for_each_map_elem(&pca, pca_cb, &c2, 0); o[5] = c2.sum;
  struct cbctx c3 = {};
  o[6] = bpf_for_each_map_elem(&hsh, hsh_cb, &c3, 0); o[7] = c3.sum; o[8] = c3.keys; o[9] = c3.calls;
  struct cbctx c4 = {};
  o[10] = bpf_for_each_map_elem(&lru, lru_cb, &c4, 0); o[11] = c4.sum; o[12] = c4.keys;
  struct cbctx c5 = {};
  o[13] = bpf_for_each_map_elem(&empty, lru_cb, &c5, 0);
  o[14] = bpf_for_each_map_elem(&arr, arr_cb, &c5, d[69] & 1);
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('bpf_for_each_map_elem over arrays and hashes agrees with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const p = new Uint8Array(160 + (i % 3));
    p[12] = 0x08;
    p.set([(i * 7) % 16, (i * 13) & 0xff, (i * 5) % 8, (i * 29) & 0xff, [0, 3, 7, 9, 15][i % 5]!, i % 4 === 3 ? 1 : 0], 64);
    packets.push(p);
  }
  const kernel = assertAgreesWithKernel('foreach', SOURCE, packets);
  const outs = kernel.results.map((r) => r.out);
  // Early stops (fewer than 8 callbacks) and full walks, a growing hash, -EINVAL for flags.
  assert.ok(outs.some((o) => i64(o, 0) < 8) && outs.some((o) => i64(o, 0) === 8));
  assert.ok(outs.some((o) => i64(o, 6) > 3) && outs.some((o) => i64(o, 14) === -22) && outs.every((o) => i64(o, 13) === 0));
});
