// Metadata: reserve 8 bytes with adjust_meta, store a source hash and the length, try a misaligned and an oversized
// delta (both must fail) and leave the 8 bytes in data_out.
#include "common.h"

long meta_err[4];

SEC("xdp")
int meta(struct xdp_md *ctx) {
  meta_err[0] = bpf_xdp_adjust_meta(ctx, -2);
  meta_err[1] = bpf_xdp_adjust_meta(ctx, -256);
  long err = bpf_xdp_adjust_meta(ctx, -8);
  meta_err[2] = err;
  if (err) return XDP_ABORTED;
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u32 *m = (void *)(long)ctx->data_meta;
  if ((void *)(m + 2) > data) return XDP_ABORTED;
  __u32 h = 0x811c9dc5;
  unsigned char *b = data;
  for (int i = 0; i < 32; i++) {
    if ((void *)(b + i + 1) > end) break;
    h = (h ^ b[i]) * 16777619;
  }
  m[0] = h;
  m[1] = (__u32)(end - data);
  meta_err[3] = bpf_xdp_adjust_meta(ctx, 4);
  return XDP_PASS;
}
