// Tail calls through a PROG_ARRAY filled from __array(values): entry -> stage1 -> stage2, an empty slot that falls
// through, and a self-loop that stops at the 33-call limit. Per-CPU counters record how far each packet got.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 5);
  __type(key, __u32);
  __type(value, __u64);
} hits SEC(".maps");

static __always_inline void hit(__u32 k) {
  __u64 *v = bpf_map_lookup_elem(&hits, &k);
  if (v) *v += 1;
}

int stage1(struct xdp_md *ctx);
int stage2(struct xdp_md *ctx);
int selfloop(struct xdp_md *ctx);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __array(values, int(struct xdp_md *));
} jmp SEC(".maps") = {
  .values = { [1] = (void *)&stage1, [2] = (void *)&stage2, [4] = (void *)&selfloop },
};

SEC("xdp")
int stage2(struct xdp_md *ctx) {
  hit(2);
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if (data + 1 > end) return XDP_DROP;
  *(__u8 *)data = 0xee;
  return XDP_TX;
}

SEC("xdp")
int stage1(struct xdp_md *ctx) {
  hit(1);
  bpf_tail_call(ctx, &jmp, 2);
  return XDP_ABORTED;
}

SEC("xdp")
int selfloop(struct xdp_md *ctx) {
  hit(4);
  bpf_tail_call(ctx, &jmp, 4);
  return XDP_DROP;
}

SEC("xdp")
int tail_entry(struct xdp_md *ctx) {
  hit(0);
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u32 len = end - data;
  if (len % 3 == 0) bpf_tail_call(ctx, &jmp, 1);
  else if (len % 3 == 1) bpf_tail_call(ctx, &jmp, 4);
  else bpf_tail_call(ctx, &jmp, 3);
  hit(3);
  return XDP_PASS;
}
