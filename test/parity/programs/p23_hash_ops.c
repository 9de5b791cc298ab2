// Hash map operations and their error codes: update with NOEXIST/EXIST/ANY, delete present and absent keys,
// PERCPU_HASH counters; each return code is accumulated in an array indexed by operation.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u16);
  __type(value, __u32);
} h SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 8);
  __type(key, __u8);
  __type(value, __u64);
} ph SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 6);
  __type(key, __u32);
  __type(value, __s64);
} rcs SEC(".maps");

static __always_inline void note(__u32 op, long rc) {
  __s64 *v = bpf_map_lookup_elem(&rcs, &op);
  if (v) *v = *v * 3 + rc;
}

SEC("xdp")
int hash_ops(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if (data + 14 > end) return XDP_PASS;
  __u8 *b = data;
  __u16 key = (b[5] ^ b[11]) & 15;
  __u32 val = end - data;
  note(0, bpf_map_update_elem(&h, &key, &val, BPF_NOEXIST));
  note(1, bpf_map_update_elem(&h, &key, &val, BPF_EXIST));
  __u16 other = key ^ 1;
  note(2, bpf_map_delete_elem(&h, &other));
  note(3, bpf_map_update_elem(&h, &other, &val, 7));
  __u8 pk = b[12] & 7;
  __u64 *pv = bpf_map_lookup_elem(&ph, &pk);
  if (pv) {
    *pv += val;
  } else {
    __u64 v = val;
    note(4, bpf_map_update_elem(&ph, &pk, &v, BPF_ANY));
  }
  __u32 *got = bpf_map_lookup_elem(&h, &key);
  note(5, got ? *got : -1);
  return XDP_PASS;
}
