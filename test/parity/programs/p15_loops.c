// Loops: a bounded for loop summing payload bytes, a while loop over 16-bit words, and bpf_loop with a callback;
// the three results are written over the first 12 bytes of the frame.
#include "common.h"

struct loop_ctx {
  __u32 acc;
  __u32 n;
};

static long step(__u32 i, void *data) {
  struct loop_ctx *c = data;
  c->acc = c->acc * 31 + i;
  c->n++;
  return c->acc % 97 == 0 ? 1 : 0;
}

SEC("xdp")
int loops(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if (data + 64 > end) return XDP_PASS;
  __u8 *b = data;
  __u32 sum = 0;
  for (int i = 14; i < 64; i++) sum += b[i] * (i & 7);
  __u32 words = 0;
  int i = 7;
  while (i < 31) {
    words ^= ((__u16 *)data)[i] << (i & 15);
    i += 3;
  }
  struct loop_ctx lc = { sum, 0 };
  long n = bpf_loop(sum & 255, step, &lc, 0);
  __u32 *out = data;
  out[0] = sum;
  out[1] = words;
  out[2] = lc.acc + (__u32)n * 65536 + lc.n;
  return XDP_PASS;
}
