// Maps a loader sizes at load time (max_entries 0: libbpf users call bpf_map__set_max_entries, e.g. with the number
// of CPUs) and a map pinned by name (LIBBPF_PIN_BY_NAME: a bpffs concern, no effect on what the program sees).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 0);
  __type(key, __u32);
  __type(value, __u32);
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 0);
  __type(key, __u32);
  __type(value, __u64);
} per_slot SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} xl_pinned_stats SEC(".maps");

SEC("xdp")
int sized(struct xdp_md *ctx)
{
  __u32 len = ctx->data_end - ctx->data;
  __u32 k = len & 31;
  __u32 one = 1;
  long err = bpf_map_update_elem(&flows, &k, &one, BPF_NOEXIST);
  __u32 slot = err == 0 ? 0 : 1;
  __u64 *s = bpf_map_lookup_elem(&xl_pinned_stats, &slot);
  if (s)
    *s += 1;
  __u32 i = len & 15;
  __u64 *p = bpf_map_lookup_elem(&per_slot, &i);
  if (!p)
    return XDP_DROP;
  *p += len;
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
