// adjust_head at its limits: the largest allowed growth (-216 with 256 bytes of headroom), one byte more, shrinking
// to exactly 14 bytes and past it; the pattern written into the grown headroom shows up in data_out.
#include "common.h"

long head_rc[5];

SEC("xdp")
int head_limits(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  int len = end - data;
  head_rc[0] = bpf_xdp_adjust_head(ctx, -217);
  head_rc[1] = bpf_xdp_adjust_head(ctx, len - 13);
  if (len & 1) {
    head_rc[2] = bpf_xdp_adjust_head(ctx, len - 14);
    return XDP_PASS;
  }
  head_rc[3] = bpf_xdp_adjust_head(ctx, -216);
  data = (void *)(long)ctx->data;
  end = (void *)(long)ctx->data_end;
  if (data + 216 > end) return XDP_ABORTED;
  for (int i = 0; i < 216; i += 8) *(__u64 *)(data + i) = 0x0101010101010101ull * i;
  head_rc[4] = end - data;
  return XDP_TX;
}
