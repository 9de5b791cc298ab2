// Reflector: swap MACs, IPv4/IPv6 addresses and TCP/UDP ports, decrement TTL with an incremental checksum fix, XDP_TX.
#include "common.h"

SEC("xdp")
int swap_tx(struct xdp_md *ctx) {
  struct pkt p;
  if (parse_pkt(ctx, &p) < 0) return XDP_DROP;
  if (p.proto == ETH_P_IP) {
    HDR(struct iphdr, ip, p.l3, p.end, XDP_DROP);
    __be32 a = ip->saddr;
    ip->saddr = ip->daddr;
    ip->daddr = a;
    // RFC 1624 incremental update for the TTL decrement.
    __u32 sum = (__u16)~bpf_ntohs(ip->check) + (__u16)~bpf_ntohs(*(__be16 *)&ip->ttl);
    ip->ttl--;
    sum += bpf_ntohs(*(__be16 *)&ip->ttl);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    ip->check = bpf_htons(~sum & 0xffff);
  } else if (p.proto == ETH_P_IPV6) {
    HDR(struct ipv6hdr, ip6, p.l3, p.end, XDP_DROP);
    struct in6_addr t = ip6->saddr;
    ip6->saddr = ip6->daddr;
    ip6->daddr = t;
    ip6->hop_limit--;
  } else {
    return XDP_PASS;
  }
  if (p.l4proto == IPPROTO_TCP) {
    HDR(struct tcphdr, th, p.l4, p.end, XDP_DROP);
    __be16 t = th->source;
    th->source = th->dest;
    th->dest = t;
  } else if (p.l4proto == IPPROTO_UDP) {
    HDR(struct udphdr, uh, p.l4, p.end, XDP_DROP);
    __be16 t = uh->source;
    uh->source = uh->dest;
    uh->dest = t;
  }
  swap_mac(p.eth);
  return XDP_TX;
}
