// One array slot of 2^31-1 bytes: the kernel creates it (array_map_alloc_check allows value_size up to INT_MAX; the
// 2 GiB allocation succeeds on a machine with the memory). A hash map with the same value is refused (E2BIG).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __uint(key_size, 4);
  __uint(value_size, 2147483647);
} blob SEC(".maps");

SEC("xdp")
int huge_value(struct xdp_md *ctx)
{
  __u32 zero = 0;
  __u8 *v = bpf_map_lookup_elem(&blob, &zero);
  if (!v)
    return XDP_ABORTED;
  v[0] += 1;
  return v[0] > 2 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
