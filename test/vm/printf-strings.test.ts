// bpf_snprintf / bpf_trace_printk string conversions as the 6.18 kernel's bpf_bprintf_prepare makes them: %s of NULL
// (or of any address it cannot read) copies nothing and prints an empty string (the simulator printed "(null)"), and
// %pks / %pus print a kernel / user string (the simulator printed the pointer in hex and then "ks"). The simulator has
// no user memory, so %pus prints nothing, as the kernel's failed user copy does for the addresses a program here has.
// Lengths returned and the text written, against the kernel under both engines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
#define F(i, fmt, ...) do { __u64 a[] = { __VA_ARGS__ }; char t[32] = {}; o[i] = bpf_snprintf(t, sizeof(t), fmt, a, sizeof(a)); \\
  bpf_xdp_store_bytes(ctx, 64 + i * 32, t, sizeof(t)); } while (0)
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if ((void *)(d + 300) > end) return XDP_PASS;
  __s64 o[6] = {};
  char *s = (char *)(d + 250);
  s[0] = 'o'; s[1] = 'k'; s[2] = d[20] & 1 ? 0 : '!'; s[3] = 0;
  F(0, "[%s]", 0);
  F(1, "[%5s|%-4s]", 0, (__u64)(long)s);
  F(2, "%pks|%pus|", (__u64)(long)s, (__u64)(long)s);
  F(3, "%pus%pks%s", 0, 0, d[21]);
  F(4, "%pks:%u", (__u64)(long)s, d[22]);
  o[5] = bpf_trace_printk("%s %d\\n", 7, 0, 5);
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('%s of NULL prints nothing and %pks/%pus print strings, as the kernel does', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) {
    const p = new Uint8Array(300 + i);
    for (let j = 0; j < p.length; j++) p[j] = (j * 7 + i * 13) & 0xff;
    p[20] = i;
    p[21] = i * 3; // a small number as a %s pointer: unreadable
    p[22] = i * 40;
    packets.push(p);
  }
  const kernel = assertAgreesWithKernel('printf-strings', SOURCE, packets, { maps: false });
  const text = (out: Uint8Array, i: number) => Buffer.from(out.subarray(64 + i * 32, 96 + i * 32)).toString('latin1').split('\0')[0];
  kernel.results.forEach((r, i) => {
    assert.equal(r.retval, 3);
    const s = i % 2 ? 'ok' : 'ok!';
    assert.equal(text(r.out, 0), '[]');
    assert.equal(i64(r.out, 0), 3);
    assert.equal(text(r.out, 1), `[     |${s.padEnd(4)}]`);
    assert.equal(text(r.out, 2), `${s}||`);
    assert.equal(text(r.out, 3), '');
    assert.equal(text(r.out, 4), `${s}:${(i * 40) & 0xff}`);
    assert.equal(i64(r.out, 5), 3); // " 5\\n"
  });
});
