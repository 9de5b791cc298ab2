// IPIP encapsulation: grow the head by 20 bytes, move the Ethernet header, write an outer IPv4 header whose
// checksum is computed in a bounded loop, then XDP_TX. The adjust_head result is kept in .bss.
#include "common.h"

long last_err;
__u32 encapped;

SEC("xdp")
int encap_ipip(struct xdp_md *ctx) {
  struct pkt p;
  if (parse_pkt(ctx, &p) < 0 || p.proto != ETH_P_IP || p.vlans) return XDP_PASS;
  struct ethhdr eth = *p.eth;
  HDR(struct iphdr, ip, p.l3, p.end, XDP_PASS);
  struct iphdr inner = *ip;
  long err = bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr));
  last_err = err;
  if (err) return XDP_ABORTED;
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *e = data;
  struct iphdr *o = data + sizeof(*e);
  if ((void *)(o + 1) > end) return XDP_ABORTED;
  __builtin_memcpy(e->h_dest, eth.h_source, ETH_ALEN);
  __builtin_memcpy(e->h_source, eth.h_dest, ETH_ALEN);
  e->h_proto = bpf_htons(ETH_P_IP);
  o->version = 4;
  o->ihl = 5;
  o->tos = inner.tos;
  o->tot_len = bpf_htons(bpf_ntohs(inner.tot_len) + 20);
  o->id = inner.id ^ 0x5a5a;
  o->frag_off = 0;
  o->ttl = 64;
  o->protocol = IPPROTO_IPIP;
  o->check = 0;
  o->saddr = bpf_htonl(0xc0a80001);
  o->daddr = inner.daddr ^ bpf_htonl(0xff);
  __u32 sum = 0;
  __u16 *w = (__u16 *)o;
  for (int i = 0; i < 10; i++) sum += w[i];
  o->check = csum_fold(sum);
  encapped++;
  return XDP_TX;
}
