// Helpers of the base set and the XDP set that real programs call, against the kernel (both engines), with a program
// of our own that writes every result into the packet (so each packet's results are compared, not only the last):
//   - bpf_strncmp: a prefix of the packet (1-16 bytes, the size taken from the packet) against constant strings of
//     .rodata: the empty string, strings equal to the packet's prefix, longer and shorter ones; -1/0/1 as the kernel;
//   - bpf_check_mtu (bpf_xdp_check_mtu): ifindex 0 (the receiving device), 1 (lo), 2 and 999 (none in the test's own
//     network namespace: -ENODEV), flags 1 (-EINVAL), *mtu_len 0 (the frame's length), set, near and past the MTU,
//     len_diff from the packet (any 32-bit value), overflowing sums; *mtu_len written back with the MTU;
//   - bpf_get_numa_node_id.
// Found on userspace-xdp's xdp-tcpclassify (bpf_strncmp: "helper 182 not supported" fault on every TCP packet, the
// kernel classified them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __s32[48]); } res SEC(".maps");
const char t1[] = "GET /";
const char t2[] = "";
const char t3[] = "\\x45\\x00";
const char t4[] = "\\x08\\x00\\x45\\x00\\x00";

SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  __s32 o[48] = {};
  char buf[32] = {};
  __u32 mtu = 0;
  int len = end - data;
  o[0] = bpf_check_mtu(ctx, 0, &mtu, 0, 0); o[1] = mtu;
  mtu = 0; o[2] = bpf_check_mtu(ctx, 1, &mtu, 0, 0); o[3] = mtu;
  mtu = 7; o[4] = bpf_check_mtu(ctx, 2, &mtu, 0, 0); o[5] = mtu;
  mtu = 7; o[6] = bpf_check_mtu(ctx, 0, &mtu, 0, 1); o[7] = mtu;
  mtu = 1500; o[8] = bpf_check_mtu(ctx, 0, &mtu, 0, 0); o[9] = mtu;
  mtu = 65536 - 14 + 1; o[10] = bpf_check_mtu(ctx, 0, &mtu, 0, 0); o[11] = mtu;
  mtu = 0; o[12] = bpf_check_mtu(ctx, 0, &mtu, 65536 - 100, 0); o[13] = mtu;
  mtu = 0; o[14] = bpf_check_mtu(ctx, 0, &mtu, -100000, 0); o[15] = mtu;
  mtu = 65536; o[16] = bpf_check_mtu(ctx, 0, &mtu, 14, 0); o[17] = mtu;
  mtu = 0; o[18] = bpf_check_mtu(ctx, 999, &mtu, 0, 0); o[19] = mtu;
  if (data + 20 <= end) {
    __s32 d = *(__s32 *)(data + 14);
    mtu = *(__u16 *)(data + 18); o[20] = bpf_check_mtu(ctx, 0, &mtu, d, 0); o[21] = mtu;
  }
  mtu = 65536 - 14; o[22] = bpf_check_mtu(ctx, 0, &mtu, 0, 0); o[23] = mtu;
  mtu = 0; o[24] = bpf_check_mtu(ctx, 0, &mtu, 65536 - len, 0); o[25] = mtu;
  mtu = 0; o[26] = bpf_check_mtu(ctx, 0, &mtu, 65536 - len + 15, 0); o[27] = mtu;
  mtu = 0xffffffff; o[28] = bpf_check_mtu(ctx, 0, &mtu, 0, 0); o[29] = mtu;
  mtu = 0x7ffffff0; o[30] = bpf_check_mtu(ctx, 0, &mtu, 0x7ffffff0, 0); o[31] = mtu;
  o[32] = bpf_get_numa_node_id();
  if (data + 30 <= end) {
    __builtin_memcpy(buf, data + 12, 16);
    __u32 n = (((unsigned char *)data)[29] & 15) + 1;
    o[33] = bpf_strncmp(buf, n, t1);
    o[34] = bpf_strncmp(buf, 16, t2);
    o[35] = bpf_strncmp(buf + 2, 14, t3);
    o[36] = bpf_strncmp(buf + 2, 1, t3);
    o[37] = bpf_strncmp(buf + 2, n, t1);
    o[38] = bpf_strncmp(buf, n, t4);
    o[39] = bpf_strncmp(buf, 16, t4);
    o[40] = bpf_strncmp(buf + 4, n, t4);
    long r = bpf_strncmp(buf, 3, t4);
    o[41] = (__s32)(r >> 32);
  }
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) {
    __u32 k = 0;
    bpf_map_update_elem(&res, &k, o, 0);
    return XDP_DROP;
  }
  return XDP_TX;
}
`;

/** An Ethernet/IPv4 frame of `len` bytes whose bytes from 14 on are `fill` (then the index). */
function frame(len: number, fill: number[] = [], type = 0x0800): Uint8Array {
  const b = new Uint8Array(len);
  b.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, type >> 8, type & 0xff].slice(0, len));
  for (let i = 14; i < len; i++) b[i] = fill[i - 14] ?? (i * 7) & 0xff;
  return b;
}

test('bpf_strncmp, bpf_check_mtu and bpf_get_numa_node_id agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const get = [...'GET / HTTP/1.1'].map((c) => c.charCodeAt(0));
  const packets = [
    frame(14), frame(20), frame(29), frame(30), frame(60), frame(192, [0x45, 0]), frame(200, [0x45, 0, 0, 0x3c]),
    frame(300, [0xff, 0xff, 0xff, 0x7f, 0xff, 0xff]), frame(300, [0, 0, 0x80, 0xff, 0, 0]), frame(300, [0xf0, 0xff, 0xff, 0xff, 0xdc, 0x05]),
    frame(200, [0, 0, 0, 0, 0, 0]), frame(220, [0x12, 0x34, 0, 0, 0xff, 0xff]), frame(1514), frame(3000), frame(9000),
    frame(280, [], 0x4745), frame(280, [...'T / HTTP'].map((c) => c.charCodeAt(0)), 0x4745),
    ...[2, 4, 5, 9].map((n) => { const f = frame(280, [...'T / HTTP'].map((c) => c.charCodeAt(0)), 0x4745); f[29] = n; return f; }),
    ...Array.from({ length: 16 }, (_, n) => { const f = frame(192, [0x45, 0, ...get]); f[29] = n; return f; }),
    ...Array.from({ length: 8 }, (_, n) => { const f = frame(192 + n, [0x45, n, 0, 0, ...get]); f[29] = n * 2 + 1; return f; }),
  ];
  const kernel = assertAgreesWithKernel('base-helpers', SOURCE, packets, { netns: true });
  // The program decided things: results in the packet for most frames, -ENODEV and FRAG_NEEDED among them.
  const tx = kernel.results.filter((r) => r.retval === 3);
  assert.ok(tx.length >= packets.length - 6, `${tx.length} of ${packets.length} frames carried results`);
  const i32 = (b: Uint8Array, n: number) => new DataView(b.buffer, b.byteOffset).getInt32(n * 4, true);
  assert.equal(i32(tx[0]!.out, 4), -19);
  assert.ok(tx.every((r) => i32(r.out, 24) === 0 && i32(r.out, 26) === 1 && i32(r.out, 25) === 65536));
  assert.ok(tx.some((r) => i32(r.out, 33) === 0) && tx.some((r) => i32(r.out, 33) === -1) && tx.some((r) => i32(r.out, 33) === 1));
});
