// Context fields and environment helpers: ingress_ifindex, rx_queue_index, data_meta == data, the CPU number and
// map_lookup_percpu_elem on CPU 0 and 1 (and an absent CPU) written into the first bytes of the frame.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} pc SEC(".maps");

SEC("xdp")
int ctx_fields(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  void *meta = (void *)(long)ctx->data_meta;
  __u32 *o = data;
  if ((void *)(o + 8) > end) return XDP_PASS;
  __u32 k = 0;
  __u64 *mine = bpf_map_lookup_elem(&pc, &k);
  if (mine) *mine += 10;
  __u64 *c0 = bpf_map_lookup_percpu_elem(&pc, &k, 0);
  __u64 *c1 = bpf_map_lookup_percpu_elem(&pc, &k, 1);
  __u64 *c9 = bpf_map_lookup_percpu_elem(&pc, &k, 4096);
  o[0] = ctx->ingress_ifindex;
  o[1] = ctx->rx_queue_index;
  o[2] = meta == data;
  o[3] = bpf_get_smp_processor_id();
  o[4] = c0 ? (__u32)*c0 : 0xffffffff;
  o[5] = c1 ? (__u32)*c1 : 0xffffffff;
  o[6] = c9 ? 1 : 0;
  o[7] = end - data;
  return XDP_PASS;
}
