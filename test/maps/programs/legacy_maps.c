// Maps the way pre-1.0 loaders read them: SEC("maps") with struct bpf_map_def (libbpf 1.x refuses the object; the
// kernel harness loads it through its syscall-level loader, the simulator with a note).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
  unsigned int type;
  unsigned int key_size;
  unsigned int value_size;
  unsigned int max_entries;
  unsigned int map_flags;
};

struct bpf_map_def SEC("maps") by_len = {
  .type = BPF_MAP_TYPE_HASH,
  .key_size = sizeof(__u32),
  .value_size = sizeof(__u64),
  .max_entries = 64,
};

struct bpf_map_def SEC("maps") totals = {
  .type = BPF_MAP_TYPE_ARRAY,
  .key_size = sizeof(__u32),
  .value_size = sizeof(__u64),
  .max_entries = 4,
};

struct bpf_map_def SEC("maps") per_cpu = {
  .type = BPF_MAP_TYPE_PERCPU_ARRAY,
  .key_size = sizeof(__u32),
  .value_size = sizeof(__u32),
  .max_entries = 2,
};

SEC("xdp")
int legacy(struct xdp_md *ctx)
{
  __u32 len = ctx->data_end - ctx->data;
  __u32 k = len & 63;
  __u64 one = 1;
  __u64 *v = bpf_map_lookup_elem(&by_len, &k);
  if (v)
    *v += 1;
  else
    bpf_map_update_elem(&by_len, &k, &one, BPF_NOEXIST);
  __u32 t = len & 3;
  __u64 *sum = bpf_map_lookup_elem(&totals, &t);
  if (sum)
    *sum += len;
  __u32 z = 0;
  __u32 *c = bpf_map_lookup_elem(&per_cpu, &z);
  if (c)
    *c += 1;
  return len > 1000 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
