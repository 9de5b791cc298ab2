// Per-CPU state under multi-queue: a PERCPU_ARRAY counter bumped per packet, and for each RX queue the CPU
// bpf_get_smp_processor_id reported there (cpu + 1, so 0 means never seen).
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} pkts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
} cpu_of_queue SEC(".maps");

SEC("xdp")
int percpu(struct xdp_md *ctx) {
  __u32 zero = 0;
  __u64 *n = bpf_map_lookup_elem(&pkts, &zero);
  if (n) *n += 1;
  __u32 q = ctx->rx_queue_index;
  __u32 *c = bpf_map_lookup_elem(&cpu_of_queue, &q);
  if (c) *c = bpf_get_smp_processor_id() + 1;
  return XDP_PASS;
}
