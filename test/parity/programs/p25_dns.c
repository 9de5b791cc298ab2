// DNS query inspection: UDP port 53, walk the QNAME byte by byte (bounded loop, at most 8 labels), FNV-hash the
// lower-cased name and count queries per hash in a hash map; queries with a long name are dropped.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 128);
  __type(key, __u32);
  __type(value, __u32);
} names SEC(".maps");

__u32 labels_hist[9];

SEC("xdp")
int dns(struct xdp_md *ctx) {
  struct pkt p;
  if (parse_pkt(ctx, &p) < 0 || p.l4proto != IPPROTO_UDP) return XDP_PASS;
  HDR(struct udphdr, uh, p.l4, p.end, XDP_PASS);
  if (uh->dest != bpf_htons(53) && uh->source != bpf_htons(53)) return XDP_PASS;
  // Copy the name out with bpf_xdp_load_bytes (64 bytes, or 32 for short packets) and parse the copy.
  __u32 qoff = (void *)(uh + 1) + 12 - p.data;
  __u8 q[64] = {};
  if (bpf_xdp_load_bytes(ctx, qoff, q, 64) && bpf_xdp_load_bytes(ctx, qoff, q, 32)) return XDP_PASS;
  __u32 h = 2166136261u;
  __u32 labels = 0, left = 0;
  int i;
  for (i = 0; i < 64; i++) {
    __u8 c = q[i];
    if (left == 0) {
      if (c == 0 || c > 63 || labels == 8) break;
      left = c;
      labels++;
      h = (h ^ '.') * 16777619u;
    } else {
      h = (h ^ (c | 0x20)) * 16777619u;
      left--;
    }
  }
  labels_hist[labels & 7]++;
  __u32 *v = bpf_map_lookup_elem(&names, &h);
  if (v) {
    (*v)++;
  } else {
    __u32 one = 1;
    bpf_map_update_elem(&names, &h, &one, BPF_NOEXIST);
  }
  return i > 40 ? XDP_DROP : XDP_PASS;
}
