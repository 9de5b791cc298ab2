// QUEUE, STACK and BLOOM_FILTER maps through bpf_map_push_elem / pop_elem / peek_elem, against the kernel, both
// engines: pushes with BPF_ANY, BPF_EXIST (a full queue or stack drops its oldest element) and bad flags (BPF_NOEXIST,
// 3: -EINVAL); pops and peeks until empty (-ENOENT with the buffer zeroed); a bloom filter holding a few values
// (far below its size, so no false positive) answers 0 for them and -ENOENT for others (the verifier refuses pop on it).
// Every result goes into the packet. Found by a probe program: push/pop/peek faulted as not supported, the maps were
// modelled as maps without elements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 4); __type(value, __u32); } q SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_STACK); __uint(max_entries, 3); __type(value, __u64); } st SEC(".maps");
/* BPF_F_ZERO_SEED: with a random seed, whether a value never pushed is a false positive would be chance. */
struct { __uint(type, BPF_MAP_TYPE_BLOOM_FILTER); __uint(max_entries, 1000); __uint(map_flags, BPF_F_ZERO_SEED); __type(value, __u32); } bf SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[13] = {};
  if ((void *)(d + 128) > end) return XDP_PASS;
  __u32 v = d[64] | d[65] << 8;
  __u64 w = (__u64)v * 0x100000001ULL;
  __u32 out = 0xdeadbeef;
  __u64 wout = 0xdeadbeefdeadbeefULL;
  __u8 op = d[66], fl = d[67];
  if (op & 16) {
    o[0] = bpf_map_push_elem(&q, &v, fl & 3);
    o[1] = bpf_map_push_elem(&st, &w, fl >> 2 & 3);
  }
  if (op & 1) { o[2] = bpf_map_pop_elem(&q, &out); o[3] = out; }
  if (op & 2) { o[4] = bpf_map_peek_elem(&q, &out); o[5] = out; }
  if (op & 4) { o[6] = bpf_map_pop_elem(&st, &wout); o[7] = wout; }
  if (op & 8) { o[8] = bpf_map_peek_elem(&st, &wout); o[9] = wout; }
  if (op & 32) o[10] = bpf_map_push_elem(&bf, &v, fl >> 4 & 1);
  __u32 probe = v ^ (d[68] & 3);
  o[11] = bpf_map_peek_elem(&bf, &probe);
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('queue, stack and bloom filter maps agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  // op: pushes (16), pops/peeks (1, 2, 4, 8), bloom pushes (32); flags: BPF_ANY, BPF_NOEXIST, BPF_EXIST, 3.
  const ops = [16, 16, 16, 16, 16, 16 | 2 | 8, 1, 2, 4, 8, 1 | 4, 1 | 4, 1 | 4, 1 | 4, 1 | 2 | 4 | 8, 16 | 32, 16 | 32, 48 | 1, 48 | 5, 2 | 8, 16, 16, 16];
  const flags = [0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 8, 12, 0x10, 2 | 8, 2 | 8, 2 | 8];
  for (let i = 0; i < 60; i++) {
    const p = new Uint8Array(128);
    p[12] = 0x08;
    p[64] = (i * 37) & 0xff;
    p[65] = i % 5;
    p[66] = ops[i % ops.length]!;
    p[67] = flags[(i * 7) % flags.length]!;
    p[68] = i % 3 === 0 ? 0 : i;
    packets.push(p);
  }
  const kernel = assertAgreesWithKernel('queue', SOURCE, packets);
  const outs = kernel.results.map((r) => r.out);
  // Full (-E2BIG), bad flags (-EINVAL), empty (-ENOENT), found in the bloom filter (0) all happened.
  assert.ok(outs.some((o) => i64(o, 0) === -7) && outs.some((o) => i64(o, 0) === -22) && outs.some((o) => i64(o, 2) === -2));
  assert.ok(outs.some((o) => i64(o, 11) === 0) && outs.some((o) => i64(o, 11) === -2));
});
