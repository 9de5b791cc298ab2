// VXLAN decapsulation: IPv4/UDP port 4789 with an 8-byte VXLAN header; strip outer Ethernet+IP+UDP+VXLAN with
// adjust_head and pass the inner frame; the VNI is counted in a hash map.
#include "common.h"

struct vxlanhdr {
  __be32 flags;
  __be32 vni;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} vnis SEC(".maps");

SEC("xdp")
int vxlan_decap(struct xdp_md *ctx) {
  struct pkt p;
  if (parse_pkt(ctx, &p) < 0 || p.proto != ETH_P_IP || p.l4proto != IPPROTO_UDP) return XDP_PASS;
  HDR(struct udphdr, uh, p.l4, p.end, XDP_PASS);
  if (uh->dest != bpf_htons(4789)) return XDP_PASS;
  struct vxlanhdr *vx = (void *)(uh + 1);
  if ((void *)(vx + 1) + sizeof(struct ethhdr) > p.end) return XDP_DROP;
  __u32 vni = bpf_ntohl(vx->vni) >> 8;
  __u64 *c = bpf_map_lookup_elem(&vnis, &vni);
  if (c) {
    *c += 1;
  } else {
    __u64 one = 1;
    bpf_map_update_elem(&vnis, &vni, &one, BPF_ANY);
  }
  int strip = (void *)(vx + 1) - p.data;
  if (bpf_xdp_adjust_head(ctx, strip)) return XDP_ABORTED;
  return XDP_PASS;
}
