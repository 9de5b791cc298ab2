// Two results that depend on how the kernel runs a call rather than on the helper's own code, found by running
// unseen programs' helper mixes against the 6.18 kernel (session 11):
//   - bpf_for_each_map_elem over a hash created with BPF_F_ZERO_SEED walks the kernel's buckets in order (bucket =
//     jhash of the key with seed 0, masked by the bucket count; newest element first within a bucket; an update
//     moves a plain or LRU element to its bucket's head, a per-CPU update does not), so a callback that stops early
//     or folds the keys in order sees that order (the simulator walked key order: other sums and counts). Keys of 4,
//     6 and 16 bytes (jhash2 and jhash), deletes and re-inserts, an LRU and a per-CPU hash.
//   - bpf_loop with more than 1 << 23 turns: where the verifier inlines the call (flags the constant 0, one callback)
//     it sets w0 = -E2BIG, so the 64-bit result is 0xfffffff9 (`r < 0` is false), not -7; a call it does not inline
//     (flags not a known constant) returns -7 sign-extended. (A C count of 2^32 + 5 reaches the call as 5: the
//     prototype's __u32.) Results are written into the packet and compared with the kernel under both engines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const WALK = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct k6 { __u16 a; __u32 b; } __attribute__((packed));
struct k16 { __u32 w[4]; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 12); __uint(map_flags, BPF_F_ZERO_SEED); __type(key, __u32); __type(value, __u64); } h4 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 5); __uint(map_flags, BPF_F_ZERO_SEED); __type(key, struct k6); __type(value, __u32); } h6 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 16); __uint(map_flags, BPF_F_ZERO_SEED); __type(key, struct k16); __type(value, __u32); } l16 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 9); __uint(map_flags, BPF_F_ZERO_SEED); __type(key, __u32); __type(value, __u32); } p4 SEC(".maps");
struct cbctx { __u64 fold; __u32 stop; __u32 calls; };
static long cb4(void *map, __u32 *key, __u64 *val, struct cbctx *c) { c->calls++; c->fold = c->fold * 31 + *key; return *key == c->stop; }
static long cb6(void *map, struct k6 *key, __u32 *val, struct cbctx *c) { c->calls++; c->fold = c->fold * 37 + key->a + key->b; return 0; }
static long cb16(void *map, struct k16 *key, __u32 *val, struct cbctx *c) { c->calls++; c->fold = c->fold * 41 + key->w[0] + key->w[3]; return c->calls == c->stop; }
static long cbp(void *map, __u32 *key, __u32 *val, struct cbctx *c) { c->calls++; c->fold = c->fold * 43 + *key; return 0; }
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[8] = {};
  if ((void *)(d + 80) > end) return XDP_PASS;
  __u32 k = d[64] & 15;
  __u64 v = d[65];
  if (d[66] & 1) bpf_map_delete_elem(&h4, &k); else bpf_map_update_elem(&h4, &k, &v, BPF_ANY);
  struct k6 s6 = { .a = d[67] & 7, .b = d[68] };
  __u32 one = 1;
  bpf_map_update_elem(&h6, &s6, &one, BPF_ANY);
  struct k16 s16 = { .w = { d[69] & 31, 7, 9, d[70] } };
  bpf_map_update_elem(&l16, &s16, &one, BPF_ANY);
  __u32 pk = d[71] & 15;
  bpf_map_update_elem(&p4, &pk, &one, BPF_ANY);
  struct cbctx c = { .stop = d[72] & 15 };
  o[0] = bpf_for_each_map_elem(&h4, cb4, &c, 0); o[1] = c.fold;
  struct cbctx c2 = {};
  o[2] = bpf_for_each_map_elem(&h6, cb6, &c2, 0); o[3] = c2.fold;
  struct cbctx c3 = { .stop = d[73] & 7 };
  o[4] = bpf_for_each_map_elem(&l16, cb16, &c3, 0); o[5] = c3.fold;
  struct cbctx c4 = {};
  o[6] = bpf_for_each_map_elem(&p4, cbp, &c4, 0); o[7] = c4.fold;
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('bpf_for_each_map_elem over BPF_F_ZERO_SEED hashes walks the kernel bucket order', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 60; i++) {
    const p = new Uint8Array(80);
    p[12] = 0x08;
    p.set([(i * 7) % 16, (i * 13) & 0xff, i % 5 === 4 ? 1 : 0, (i * 3) % 8, (i * 11) & 0xff, (i * 5) % 32, (i * 17) & 0xff, (i * 9) % 16, [0, 3, 7, 9, 15][i % 5]!, i % 8], 64);
    packets.push(p);
  }
  const kernel = assertAgreesWithKernel('hashwalk', WALK, packets);
  const outs = kernel.results.map((r) => r.out);
  // Early stops and full walks of a hash with more than one element.
  assert.ok(outs.some((o) => i64(o, 0) > 2 && i64(o, 0) < 12) && outs.some((o) => i64(o, 0) >= 10));
  assert.ok(outs.some((o) => i64(o, 4) > 3));
});

const LOOP = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
static long cb(__u64 i, __u64 *acc) { *acc += i + 1; return 0; }
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[6] = {};
  __u64 acc = 0;
  if ((void *)(d + 64) > end) return XDP_PASS;
  __u64 n = d[20] == 1 ? (1 << 24) : d[20] == 2 ? (1ULL << 32) + 5 : d[20];
  /* Inlined: flags the constant 0, one callback. */
  o[0] = bpf_loop(n, cb, &acc, 0); o[1] = acc;
  /* Not inlined: the verifier cannot tell the flags (0 at run time unless byte 21 is 0xff). */
  __u64 flags = d[21] == 0xff;
  acc = 0;
  o[2] = bpf_loop(n, cb, &acc, flags); o[3] = acc;
  o[4] = o[0] < 0; o[5] = o[2] < 0;
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('bpf_loop past 1 << 23 turns: the inlined call returns 0xfffffff9, the helper call -7', (t) => {
  if (kernelOrSkip(t)) return;
  const packets = [0, 1, 2, 3, 9].flatMap((n) => [0, 0xff].map((f) => {
    const p = new Uint8Array(64);
    p[12] = 0x08;
    p[20] = n;
    p[21] = f;
    return p;
  }));
  const kernel = assertAgreesWithKernel('loopinline', LOOP, packets);
  const outs = kernel.results.map((r) => r.out);
  // 1 << 24 turns: inlined 0xfffffff9 (not negative), helper -7; 2^32 + 5: 5 turns both ways.
  assert.equal(i64(outs[2]!, 0), 0xfffffff9);
  assert.equal(i64(outs[2]!, 4), 0);
  assert.equal(i64(outs[2]!, 2), -7);
  assert.equal(i64(outs[2]!, 5), 1);
  assert.equal(i64(outs[4]!, 0), 5);
  assert.equal(i64(outs[4]!, 2), 5);
  assert.equal(i64(outs[5]!, 2), -22);
});
