// Returns the frame's last byte as the verdict: 0..4 are the actions, anything else (7) an invalid value.
// Reads only, so it runs unchanged in every driver mode.
#include "common.h"

SEC("xdp")
int verdict(struct xdp_md *ctx) {
  int v = last_byte(ctx);
  if (v < 0) return XDP_DROP;
  return v;
}
