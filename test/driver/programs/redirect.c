// Every redirect flavour; the last byte picks it: 0 bpf_redirect(2), 1 bpf_redirect(1), 2 bpf_redirect(99),
// 3 devmap[0], 4 devmap[5] (empty), 5 devmap_hash[7], 6 cpumap[1], 7 xskmap[0], 8 cpumap[3] (empty, fallback PASS),
// 9 XDP_REDIRECT without a target.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
} ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
} ports_hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_CPUMAP);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} xsks SEC(".maps");

SEC("xdp")
int redirect(struct xdp_md *ctx) {
  int sel = last_byte(ctx);
  switch (sel) {
  case 0: return bpf_redirect(2, 0);
  case 1: return bpf_redirect(1, 0);
  case 2: return bpf_redirect(99, 0);
  case 3: return bpf_redirect_map(&ports, 0, 0);
  case 4: return bpf_redirect_map(&ports, 5, XDP_DROP);
  case 5: return bpf_redirect_map(&ports_hash, 7, 0);
  case 6: return bpf_redirect_map(&cpus, 1, 0);
  case 7: return bpf_redirect_map(&xsks, 0, 0);
  case 8: return bpf_redirect_map(&cpus, 3, XDP_PASS);
  case 9: return XDP_REDIRECT;
  default: return XDP_DROP;
  }
}
