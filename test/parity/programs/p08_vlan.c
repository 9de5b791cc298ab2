// VLAN push/pop: tagged frames lose their outer tag (MACs moved forward, adjust_head +4); untagged IPv4 frames get
// tag 100 pushed (adjust_head -4).
#include "common.h"

SEC("xdp")
int vlan_pushpop(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return XDP_DROP;
  __u16 proto = bpf_ntohs(eth->h_proto);
  if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
    struct vlan_hdr *v = (void *)(eth + 1);
    if ((void *)(v + 1) > end) return XDP_DROP;
    unsigned char macs[12];
    __builtin_memcpy(macs, eth, 12);
    __be16 inner = v->proto;
    if (bpf_xdp_adjust_head(ctx, 4)) return XDP_ABORTED;
    data = (void *)(long)ctx->data;
    end = (void *)(long)ctx->data_end;
    eth = data;
    if ((void *)(eth + 1) > end) return XDP_ABORTED;
    __builtin_memcpy(eth, macs, 12);
    eth->h_proto = inner;
    return XDP_PASS;
  }
  if (proto != ETH_P_IP) return XDP_PASS;
  if (bpf_xdp_adjust_head(ctx, -4)) return XDP_ABORTED;
  data = (void *)(long)ctx->data;
  end = (void *)(long)ctx->data_end;
  eth = data;
  struct ethhdr *old = data + 4;
  if ((void *)(old + 1) + 4 > end) return XDP_ABORTED;
  __builtin_memmove(eth, old, 12);
  eth->h_proto = bpf_htons(ETH_P_8021Q);
  struct vlan_hdr *v = (void *)(eth + 1);
  v->tci = bpf_htons(100);
  v->proto = bpf_htons(ETH_P_IP);
  return XDP_TX;
}
