// Maps of maps as libbpf declares them: BTF inner-map templates (`__array(values, ...)`), slots filled in the source
// (`.values = { ... }`), lookups returning an inner map that every map helper takes, NULL for an empty slot.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_array {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
};

struct inner_array counts_a SEC(".maps");
struct inner_array counts_b SEC(".maps");

struct inner_hash {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
};

struct inner_hash sizes_a SEC(".maps");

struct inner_devmap {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
};

struct inner_devmap ports SEC(".maps");

// Slots 0 and 2 filled, 1 and 3 empty (NULL).
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct inner_array);
} by_len SEC(".maps") = {
  .values = { [0] = &counts_a, [2] = &counts_b },
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct inner_hash);
} by_proto SEC(".maps") = {
  .values = { [1] = &sizes_a },
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 1);
  __type(key, __u32);
  __array(values, struct inner_devmap);
} redirects SEC(".maps") = {
  .values = { [0] = &ports },
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} misses SEC(".maps");

SEC("xdp")
int mim(struct xdp_md *ctx)
{
  __u32 len = ctx->data_end - ctx->data;
  __u32 slot = len & 3;
  __u32 zero = 0, one = 1;

  void *inner = bpf_map_lookup_elem(&by_len, &slot);
  if (!inner) {
    __u64 *m = bpf_map_lookup_elem(&misses, &slot);
    if (m)
      *m += 1;
  } else {
    __u64 *c = bpf_map_lookup_elem(inner, &zero);
    if (c)
      *c += len;
    __u64 last = len;
    bpf_map_update_elem(inner, &one, &last, BPF_ANY);
  }

  __u32 pkey = (len >> 2) & 1;
  void *h = bpf_map_lookup_elem(&by_proto, &pkey);
  if (h) {
    __u32 k = len & 7;
    __u32 *v = bpf_map_lookup_elem(h, &k);
    if (v) {
      *v += 1;
      if (*v > 3)
        bpf_map_delete_elem(h, &k);
    } else {
      __u32 first = 1;
      bpf_map_update_elem(h, &k, &first, BPF_NOEXIST);
    }
  }

  if ((len & 15) == 5) {
    void *d = bpf_map_lookup_elem(&redirects, &zero);
    if (d)
      return bpf_redirect_map(d, 0, XDP_DROP);
  }
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
