// bpf_probe_read_kernel and bpf_probe_read_kernel_str against the kernel, both engines: reads through packet pointers
// (what BPF_CORE_READ on a header pointer compiles to), the stack and a map value, of 1 to 16 bytes at offsets from
// the packet; strings ending before, at and past the buffer's size; and scalar addresses (NULL, a small number, a
// non-canonical one: -ERANGE with the buffer zeroed; the top page of the address space: -EFAULT). Results go into the
// packet. Found on Asphaltt/learn-by-example xdp-cpumap (BPF_CORE_READ(iph, saddr) in an XDP program): the helper
// faulted as not supported on every ICMP packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, char[24]); } m SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[17] = {};
  char b[16] = {};
  if ((void *)(d + 160) > end) return XDP_PASS;
  __u32 off = d[64] & 63;
  o[0] = bpf_probe_read_kernel(b, 4, d + 26);
  o[1] = *(__u32 *)b;
  o[2] = bpf_probe_read_kernel(b, 16, d + off);
  o[3] = *(__u64 *)b ^ *(__u64 *)(b + 8);
  __u64 local = 0x1122334455667788ULL ^ d[65];
  o[4] = bpf_probe_read_kernel(b, 8, &local);
  o[5] = *(__u64 *)b;
  __u32 z = 0;
  char *mv = bpf_map_lookup_elem(&m, &z);
  if (mv) {
    mv[d[66] & 15] = d[67];
    mv[(d[66] >> 4) & 7] = 0;
    o[6] = bpf_probe_read_kernel_str(b, (d[68] & 15) + 1, mv);
    o[7] = *(__u64 *)b ^ *(__u64 *)(b + 8);
  }
  o[8] = bpf_probe_read_kernel(b, 8, (void *)0);
  o[9] = *(__u64 *)b;
  o[10] = bpf_probe_read_kernel(b, 4, (void *)(long)(d[69] * 4096 + 12));
  o[11] = bpf_probe_read_kernel(b, 4, (void *)0x8000000000000000ULL);
  o[12] = bpf_probe_read_kernel(b, 8, (void *)0xfffffffffffff000ULL);
  o[13] = *(__u64 *)b;
  o[14] = bpf_probe_read_kernel_str(b, 8, d + 100);
  o[15] = *(__u64 *)b;
  o[16] = bpf_probe_read_kernel(b, 8, (void *)0xffffffffff600008ULL); // the vsyscall page: refused as user memory
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('bpf_probe_read_kernel(_str) agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 30; i++) {
    const p = new Uint8Array(160 + i);
    for (let j = 0; j < p.length; j++) p[j] = (j * 31 + i * 7) & 0xff;
    p.set([i * 5, i, i * 17, 65 + i, i, i % 4], 64);
    if (i % 3 === 0) p[103] = 0; // a string end within 8 bytes of offset 100
    packets.push(p);
  }
  const kernel = assertAgreesWithKernel('probe-read', SOURCE, packets);
  const outs = kernel.results.map((r) => r.out);
  assert.ok(outs.every((o) => i64(o, 0) === 0 && i64(o, 8) === -34 && i64(o, 11) === -34 && i64(o, 12) === -14 && i64(o, 16) === -34));
});

// Size 0 and the user-memory forms. bpf_probe_read_kernel checks the address even for 0 bytes (-ERANGE for NULL),
// the _str form copies nothing for 0 (0); bpf_probe_read_user(_str) (the process that started the test run has
// nothing at these addresses, and the program's own memory is kernel memory): -EFAULT with the buffer zeroed, 0 for
// size 0 at a user address. Found by a probe: the user forms faulted as not supported, read_kernel(.., 0, NULL) gave 0.
const USER = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[12] = {};
  char b[32], src[8] = "abc";
  if ((void *)(d + 160) > end) return XDP_PASS;
  __builtin_memset(b, 0x55, sizeof(b));
  __u64 user = d[64] << 12;
  o[0] = bpf_probe_read_kernel(b, 0, 0);
  o[1] = bpf_probe_read_kernel_str(b, 0, 0);
  o[2] = bpf_probe_read_kernel(b, 0, src);
  o[3] = bpf_probe_read_user(b, 0, (void *)user);
  o[4] = bpf_probe_read_user_str(b, 0, (void *)user);
  o[5] = bpf_probe_read_user(b, 4, src);
  o[6] = bpf_probe_read_user_str(b + 4, 4, src);
  o[7] = bpf_probe_read_user(b + 8, 4, (void *)(user + 0x1000));
  o[8] = bpf_probe_read_user_str(b + 12, 4, (void *)user);
  o[9] = bpf_probe_read_user(b + 16, 0, (void *)0xffff000000000000ULL);
  o[10] = bpf_probe_read_user(b + 20, d[65] & 7, d);
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  if (bpf_xdp_store_bytes(ctx, 96, b, sizeof(b)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('probe_read_user(_str) and size-0 probe reads agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) {
    const p = new Uint8Array(160);
    p[12] = 0x08;
    p[64] = i * 3;
    p[65] = i;
    packets.push(p);
  }
  const kernel = assertAgreesWithKernel('probe-user', USER, packets);
  const o = kernel.results[1]!.out;
  assert.equal(i64(o, 0), -34);
  assert.equal(i64(o, 5), -14);
});
