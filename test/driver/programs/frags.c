// Multi-buffer: the same body in an xdp.frags program and in a plain xdp program. Each records in `out` the linear
// length, bpf_xdp_get_buff_len, and four bytes read with bpf_xdp_load_bytes at the offset given as a little-endian
// u16 right after the Ethernet header.
#include "common.h"

struct {
  __s64 load_ret;
  __u32 linear_len;
  __u32 buff_len;
  __u8 probed[4];
} out;

static __always_inline int body(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u8 *p = data + ETH_HLEN;
  if ((void *)(p + 2) > end) return XDP_DROP;
  __u32 probe = p[0] | (p[1] << 8);
  out.linear_len = (__u32)(end - data);
  out.buff_len = bpf_xdp_get_buff_len(ctx);
  out.load_ret = bpf_xdp_load_bytes(ctx, probe, out.probed, sizeof(out.probed));
  return XDP_PASS;
}

SEC("xdp.frags")
int with_frags(struct xdp_md *ctx) { return body(ctx); }

SEC("xdp")
int without_frags(struct xdp_md *ctx) { return body(ctx); }
