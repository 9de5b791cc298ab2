// Two refusals of the 6.18 verifier about data_end that `run` must report before the first packet, on the kernel's
// line (found on gamemann/Xdp-Access-Last-Byte):
//   - a load or store through data_end itself, at any offset (`*end`, `end[-1]`, `*end = 0`): "R2 invalid mem access
//     'pkt_end'" (run faulted per packet instead);
//   - at -mcpu=v3, a 16-bit offset from a 32-bit pointer difference (`w4 = w3; w4 -= w1; w4 &= 0xffff`): a 32-bit
//     subtraction with a pointer is any number to the verifier, masked to 0..0xffff, so `p + 1 > end` proves nothing
//     (0xffff + 1 > MAX_PACKET_OFF) and `*p` is "invalid access to packet" (run said nothing; at -mcpu=v2 it did).
// Controls the kernel loads: the offset masked to 0x7ff, or halved; and the 32-bit difference used unmasked, which the
// kernel refuses at the addition itself ("unbounded min value"), said once.
import { test } from 'node:test';
import { checkRefusalVariants } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx)
{
  unsigned char *data = (void *)(long)ctx->data;
  unsigned char *end = (void *)(long)ctx->data_end;
#if V == 1
  if (end < data)
    return XDP_PASS;
  return *end == 1 ? XDP_DROP : XDP_PASS; /* E */
#elif V == 2
  if (data + 14 > end)
    return XDP_PASS;
  *end = 0; /* E */
  return XDP_TX;
#elif V == 3
  __u16 len = (__u16)(end - data);
  unsigned char *p = data + len;
  if (p + 1 > end || p < data)
    return XDP_PASS;
  return *p == 1 ? XDP_DROP : XDP_PASS; /* E */
#elif V == 4
  __u16 len = (__u16)(end - data) & 0x7ff;
  unsigned char *p = data + len;
  if (p + 1 > end || p < data)
    return XDP_PASS;
  return *p == 1 ? XDP_DROP : XDP_PASS;
#elif V == 5
  __u32 len = (__u32)(end - data);
  unsigned char *p = data + len; /* E */
  if (p + 1 > end || p < data)
    return XDP_PASS;
  return *p == 1 ? XDP_DROP : XDP_PASS;
#elif V == 6
  __u16 len = (__u16)(end - data);
  unsigned char *p = data + (len >> 1);
  if (p + 1 > end || p < data)
    return XDP_PASS;
  return *p == 1 ? XDP_DROP : XDP_PASS;
#elif V == 7
  if (data + 1 > end)
    return XDP_PASS;
  return end[-1] == 1 ? XDP_DROP : XDP_PASS; /* E */
#endif
}
`;

const CASES = [
  { v: 1, kernel: "R2 invalid mem access 'pkt_end'" },
  { v: 2, kernel: "R2 invalid mem access 'pkt_end'" },
  { v: 3, kernel: 'invalid access to packet, off=0 size=1' },
  { v: 4 },
  { v: 5, kernel: 'math between pkt pointer and register with unbounded min value is not allowed' },
  { v: 6 },
  { v: 7, kernel: "R2 invalid mem access 'pkt_end'" },
];

test('data_end dereferenced, and a 16-bit offset from a 32-bit pointer difference (-mcpu=v3), refused before the run as the kernel refuses them', (t) => {
  checkRefusalVariants(t, 'pkt-end-v3', SOURCE, CASES, { flags: ['-mcpu=v3'] });
});

test('the same at -mcpu=v2 (64-bit differences)', (t) => {
  // (V=5 at v2 is a 64-bit difference, bounded by clang's zero-extension: refused at the load, already reported.)
  checkRefusalVariants(t, 'pkt-end-v2', SOURCE, CASES.filter((c) => c.v !== 5), { flags: ['-mcpu=v2'] });
});
