// bpf_strtol / bpf_strtoul, which the 6.18 kernel lets XDP programs call (the simulator faulted on them as not
// supported): white space (including 0xa0) and a '-' are consumed, base 0 picks 16/8/10 from the prefix, at most 63
// bytes after the sign are read, an overflow is -ERANGE, strtol's range and strtoul's refusal of '-' (-EINVAL), flags
// other than a base are -EINVAL, and *res is 0 whenever the call fails. Against the kernel, both engines; each packet
// carries the string, its length and the flags, and gets back both helpers' results.
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
  char buf[96];
  __s64 o[4];
  long res = 77;
  unsigned long ures = 77;
  if ((void *)(d + 18 + 96) > end) return XDP_PASS;
  __u32 len = d[14];
  __u64 flags = d[15] | ((__u64)d[16] << 8);
  if (len < 1 || len > 96) return XDP_DROP;
  if (bpf_xdp_load_bytes(ctx, 18, buf, sizeof(buf)) < 0) return XDP_ABORTED;
  o[0] = bpf_strtol(buf, len, flags, &res);
  o[1] = res;
  o[2] = bpf_strtoul(buf, len, flags, &ures);
  o[3] = ures;
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

function packet(s: string | number[], flags = 0, len?: number): Uint8Array {
  const bytes = typeof s === 'string' ? [...Buffer.from(s, 'latin1')] : s;
  const p = new Uint8Array(18 + 96);
  p[12] = 0x08;
  p[14] = len ?? bytes.length;
  p[15] = flags & 0xff;
  p[16] = flags >> 8;
  p.set(bytes.slice(0, 96), 18);
  return p;
}

test('bpf_strtol and bpf_strtoul parse as the kernel does', (t) => {
  if (kernelOrSkip(t)) return;
  const cases: Uint8Array[] = [
    packet('123'), packet('  -42xyz'), packet('0x1f'), packet('0X1F'), packet('0x'), packet('0xg'), packet('017'),
    packet('018'), packet('0'), packet('-0'), packet('+5'), packet('18446744073709551615'), packet('18446744073709551616'),
    packet('9223372036854775807'), packet('9223372036854775808'), packet('-9223372036854775808'),
    packet('-9223372036854775809'), packet('\t\n\v\f\r 7'), packet('\xa0\xa05'), packet('\x1c9'), packet('-'),
    packet('   '), packet('abc', 16), packet('ABCdef', 16), packet('0x10', 16), packet('0x10', 10), packet('0x10', 8),
    packet('777', 8), packet('89', 8), packet('z'), packet('1'.repeat(70)), packet(`${'0'.repeat(62)}12345`),
    packet(`-${'0'.repeat(62)}9`), packet('42', 1), packet('42', 0x20 | 10), packet('42', 0x100 | 10), packet('42', 2),
    packet('12345', 0, 3), packet('  99', 0, 2), packet([0x31, 0x32, 0, 0x33], 10), packet('ffffffffffffffff', 16),
    packet('-ffffffffffffffff', 16), packet('10000000000000000', 16), packet('fffffffffffffffff', 16),
  ];
  const kernel = assertAgreesWithKernel('strtox', SOURCE, cases);
  // The cases reached the helpers, and both successes and every kind of failure came back.
  const rets = new Set(kernel.results.map((r) => i64(r.out, 0)));
  for (const want of [3, -22, -34]) assert.ok(rets.has(want), `strtol returned ${want} for some case`);
  assert.ok(kernel.results.some((r) => i64(r.out, 2) > 0 && i64(r.out, 3) !== 0));
});
