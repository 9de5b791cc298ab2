// Time as a program sees it: bpf_ktime_get_ns (the capture clock) and the RX timestamp the NIC reported
// (bpf_xdp_metadata_rx_timestamp), written over the first 16 bytes of the frame (when it has them), then XDP_TX.
#include "common.h"

extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym;

SEC("xdp")
int clock_prog(struct xdp_md *ctx) {
  __u64 rx = 0;
  if (bpf_xdp_metadata_rx_timestamp(ctx, &rx)) rx = 1;
  __u64 now = bpf_ktime_get_ns();
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u64 *p = data;
  if ((void *)(p + 2) > end) return XDP_DROP;
  p[0] = now;
  p[1] = rx;
  return XDP_TX;
}
