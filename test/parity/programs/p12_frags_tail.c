// Multi-buffer tail adjustment: shrink by 100, grow by 10 (only the last fragment can grow), shrink by 5000,
// recording the return codes and get_buff_len after each step.
#include "common.h"

long steps[8];

SEC("xdp.frags")
int frags_tail(struct xdp_md *ctx) {
  steps[0] = bpf_xdp_get_buff_len(ctx);
  steps[1] = bpf_xdp_adjust_tail(ctx, -100);
  steps[2] = bpf_xdp_get_buff_len(ctx);
  steps[3] = bpf_xdp_adjust_tail(ctx, 10);
  steps[4] = bpf_xdp_get_buff_len(ctx);
  steps[5] = bpf_xdp_adjust_tail(ctx, -5000);
  steps[6] = bpf_xdp_get_buff_len(ctx);
  steps[7] = ctx->data_end - ctx->data;
  return XDP_PASS;
}
