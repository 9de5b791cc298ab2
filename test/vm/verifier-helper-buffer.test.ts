// Stack bytes bpf_xdp_load_bytes wrote are STACK_MISC to the 6.18 verifier (raw-mode helper memory): a load from them
// is any value of its width, exactly, as a packet byte is. An offset read from such a buffer and masked to 16 bits
// (or shifted down to 16) is 0..0xffff to it, so `p + 1 > end` proves nothing and `*p` is refused ("invalid access to
// packet"); `run` held those bytes as unknown to itself and said nothing (sfuzz seed 1412070070). Controls it loads: a
// 14-bit mask, a byte.
import { test } from 'node:test';
import { checkRefusalVariants } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx)
{
  union { __u8 b[16]; __u32 w[4]; } buf;
  if (bpf_xdp_load_bytes(ctx, 0, &buf, sizeof(buf)))
    return XDP_PASS;
  unsigned char *data = (void *)(long)ctx->data;
  unsigned char *end = (void *)(long)ctx->data_end;
#if V == 1
  unsigned char *p = data + (buf.w[1] & 0xffff);
  if (p + 1 > end)
    return XDP_PASS;
  return *p == 1 ? XDP_DROP : XDP_PASS; /* E */
#elif V == 2
  unsigned char *p = data + (buf.w[2] >> 16);
  if (p + 1 > end)
    return XDP_PASS;
  return *p == 1 ? XDP_DROP : XDP_PASS; /* E */
#elif V == 3
  unsigned char *p = data + (buf.w[1] & 0x3fff);
  if (p + 1 > end)
    return XDP_PASS;
  return *p == 1 ? XDP_DROP : XDP_PASS;
#elif V == 4
  unsigned char *p = data + buf.b[5];
  if (p + 1 > end)
    return XDP_PASS;
  return *p == 1 ? XDP_DROP : XDP_PASS;
#endif
}
`;

test('an offset read from a buffer bpf_xdp_load_bytes filled is any value of its width to the verifier', (t) => {
  checkRefusalVariants(t, 'helper-buffer', SOURCE, [
    { v: 1, kernel: 'invalid access to packet, off=0 size=1' },
    { v: 2, kernel: 'invalid access to packet, off=0 size=1' },
    { v: 3 }, { v: 4 },
  ]);
});
