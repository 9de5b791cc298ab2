// One adjust helper per packet, chosen by the byte after the Ethernet header (0 head, 1 tail, 2 meta), with the
// signed 32-bit little-endian delta in the next four bytes. The helper's return value and the packet length after
// it land in `out`; the verdict is XDP_PASS.
#include "common.h"

struct {
  __s64 result;
  __u32 len_after;
} out;

SEC("xdp")
int adjust(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u8 *p = data + ETH_HLEN;
  if ((void *)(p + 5) > end) return XDP_DROP;
  __u8 op = p[0];
  int delta = p[1] | (p[2] << 8) | (p[3] << 16) | (p[4] << 24);
  if (op == 0) out.result = bpf_xdp_adjust_head(ctx, delta);
  else if (op == 1) out.result = bpf_xdp_adjust_tail(ctx, delta);
  else out.result = bpf_xdp_adjust_meta(ctx, delta);
  out.len_after = (__u32)((long)ctx->data_end - (long)ctx->data);
  return XDP_PASS;
}
