// Tail adjustments on linear packets: long frames are trimmed to 100 bytes, short ones grow by 16 zero bytes (then
// tagged), and out-of-range deltas record their errors in .bss.
#include "common.h"

long results[6];

SEC("xdp")
int adjust_tail(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  long len = end - data;
  results[0] = bpf_xdp_adjust_tail(ctx, -100000);
  results[1] = bpf_xdp_adjust_tail(ctx, 100000);
  if (len > 100 && len <= 3520) {
    results[2] = bpf_xdp_adjust_tail(ctx, -(int)(len - 100));
    return XDP_PASS;
  }
  if (len < 100) {
    results[3] = bpf_xdp_adjust_tail(ctx, 16);
    data = (void *)(long)ctx->data;
    end = (void *)(long)ctx->data_end;
    if (data + 4 <= end) *(__u32 *)data = 0xdeadbeef;
    results[4] = end - data;
    return XDP_TX;
  }
  results[5] = len;
  return XDP_DROP;
}
