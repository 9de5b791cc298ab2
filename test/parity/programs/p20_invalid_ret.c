// Return values outside the five actions: 5, 7, -1 and a large one, chosen by the 13th byte; no verifier range check.
#include "common.h"

SEC("xdp")
int invalid_ret(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if (data + 14 > end) return 9;
  __u8 b = *(__u8 *)(data + 13);
  switch (b & 7) {
  case 0: return 7;
  case 1: return -1;
  case 2: return 5;
  case 3: return 0x7fffffff;
  case 4: return XDP_ABORTED;
  default: return b;
  }
}
