// Maps of maps and NULL: the inner map passed on before its NULL check (program bad, refused by the verifier), and an
// inner ARRAY looked up with the constant key 0 and used unchecked (program bad2: the verifier knows it cannot be
// NULL and accepts it).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); };
struct inner a SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 1); __type(key, __u32); __array(values, struct inner); } outer SEC(".maps") = { .values = { [0] = &a } };
SEC("xdp") int bad(struct xdp_md *ctx) {
  __u32 k = 1;
  void *m = bpf_map_lookup_elem(&outer, &k);
  __u64 *v = bpf_map_lookup_elem(m, &k);
  if (!v) return XDP_PASS;
  *v += 1;
  return XDP_DROP;
}
SEC("xdp") int bad2(struct xdp_md *ctx) {
  __u32 k = 0;
  void *m = bpf_map_lookup_elem(&outer, &k);
  if (!m) return XDP_PASS;
  __u64 *v = bpf_map_lookup_elem(m, &k);
  *v += 1;
  return XDP_DROP;
}
char _license[] SEC("license") = "GPL";
