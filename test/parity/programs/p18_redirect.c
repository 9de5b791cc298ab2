// Redirects: bpf_redirect with and without flags, bpf_redirect_map on a devmap (slot 1 seeded by the test) with the
// fallback action in the low flag bits, a broadcast flag and an invalid flag. The frame's last byte picks the case.
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

__u32 which[10];

SEC("xdp")
int redirect(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u32 len = (end - data) & 0xfff;
  if (len == 0) return XDP_DROP;
  __u8 *last = data + (len - 1);
  if ((void *)(last + 1) > end) return XDP_DROP;
  __u32 sel = *last % 10;
  asm volatile("" : "+r"(sel));
  if (sel > 9) return XDP_DROP;
  which[sel]++;
  switch (sel) {
  case 0: return bpf_redirect(1, 0);
  case 1: return bpf_redirect(12345, 0);
  case 2: return bpf_redirect(1, 1);
  case 3: return bpf_redirect_map(&ports, 1, 0);
  case 4: return bpf_redirect_map(&ports, 2, XDP_PASS);
  case 5: return bpf_redirect_map(&ports, 3, XDP_TX);
  case 6: return bpf_redirect_map(&ports, 9, XDP_DROP);
  case 7: return bpf_redirect_map(&ports, 2, 4);
  case 8: return bpf_redirect_map(&ports_hash, 42, XDP_DROP);
  default: return bpf_redirect_map(&ports_hash, 7, XDP_PASS);
  }
}
