// bpf_snprintf and bpf_trace_printk with %pI4 / %pi4 / %pI6 / %pi6 whose argument is not an address the kernel can
// read (an IPv4 address passed by value, as programs do by mistake, NULL, a small number): bpf_bprintf_prepare copies
// the bytes with copy_from_kernel_nofault and, when that fails, formats zero bytes (0.0.0.0, 000.000.000.000, ...);
// the format itself is valid, so the verifier loads the program. The simulator called the format invalid and stopped
// the program. Also readable addresses (the stack, the packet) and the lengths returned, all against the kernel under
// both engines: the formatted text is copied into the packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if ((void *)(d + 256) > end) return XDP_PASS;
  char s[96] = {};
  __u8 six[16];
  __builtin_memcpy(six, d + 40, 16);
  __u32 v4 = *(__u32 *)(d + 32);
  __u64 args[4] = { v4, (__u64)(long)&six, d[60] & 1 ? 0 : d[61], (__u64)(long)(d + 32) };
  __s64 o[3] = {};
  o[0] = bpf_snprintf(s, sizeof(s), "%pI4|%pI6|%pi4|%pI4", args, sizeof(args));
  __u64 args6[3] = { (__u64)(long)(d + 40), v4, (__u64)(long)&v4 };
  char t[96] = {};
  o[1] = bpf_snprintf(t, sizeof(t), "%pi6 %pI6 %pi4", args6, sizeof(args6));
  o[2] = bpf_trace_printk("%pI4 %d\\n", 9, v4, 7);
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  if (bpf_xdp_store_bytes(ctx, 64, s, sizeof(s)) < 0) return XDP_DROP;
  if (bpf_xdp_store_bytes(ctx, 160, t, sizeof(t)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('%pI4/%pi4/%pI6/%pi6 of an address the kernel cannot read format zero bytes, as the kernel does', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 12; i++) {
    const p = new Uint8Array(256 + i);
    for (let j = 0; j < p.length; j++) p[j] = (j * 29 + i * 11) & 0xff;
    p.set([10, 0, i, 1], 32);
    p[60] = i;
    p[61] = i * 3;
    packets.push(p);
  }
  const kernel = assertAgreesWithKernel('printf-ip', SOURCE, packets, { maps: false });
  for (const r of kernel.results) {
    assert.equal(r.retval, 3);
    const s = Buffer.from(r.out.subarray(64, 160)).toString('latin1').split('\0')[0]!;
    // The IPv4 address passed by value is no readable address: zeros. The packet pointer reads 10.0.i.1.
    assert.match(s, /^0\.0\.0\.0\|[0-9a-f:]{39}\|000\.000\.000\.000\|10\.0\.\d+\.1$/);
    assert.ok(i64(r.out, 0) > 0 && i64(r.out, 1) > 0 && i64(r.out, 2) > 0);
  }
});
