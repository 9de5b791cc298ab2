// Multi-buffer access (xdp.frags): total length, load_bytes across the linear/fragment boundary and at the end,
// store_bytes of a marker that straddles the boundary and into the last 4 bytes; every return code goes to .data.
#include "common.h"

long rc[10] = { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 };
__u8 seen[16];

SEC("xdp.frags")
int frags_bytes(struct xdp_md *ctx) {
  __u64 total = bpf_xdp_get_buff_len(ctx);
  rc[0] = total;
  __u32 lin = ctx->data_end - ctx->data;
  rc[1] = lin;
  __u8 buf[16] = {};
  rc[2] = bpf_xdp_load_bytes(ctx, 3512, buf, 16);
  __builtin_memcpy(seen, buf, 16);
  if (total >= 4) rc[3] = bpf_xdp_load_bytes(ctx, total - 4, buf, 4);
  rc[4] = bpf_xdp_load_bytes(ctx, total - 3, buf, 4);
  rc[5] = bpf_xdp_load_bytes(ctx, 70000, buf, 4);
  __u8 mark[8] = { 'X', 'D', 'P', 'L', 'E', 'N', 'S', '!' };
  rc[6] = bpf_xdp_store_bytes(ctx, 3516, mark, 8);
  if (total >= 4) rc[7] = bpf_xdp_store_bytes(ctx, total - 4, mark, 4);
  rc[8] = bpf_xdp_store_bytes(ctx, 0x10000, mark, 8);
  rc[9] = bpf_xdp_load_bytes(ctx, 12, buf, 2);
  if (total > 3520) return XDP_TX;
  return XDP_PASS;
}
