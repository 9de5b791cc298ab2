// ICMP echo responder: turn an echo request into a reply, fixing the ICMP checksum with bpf_csum_diff over the
// changed 4 bytes and recomputing the IPv4 header checksum from scratch with bpf_csum_diff over 20 bytes.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __s64);
} last_csum SEC(".maps");

SEC("xdp")
int icmp_echo(struct xdp_md *ctx) {
  struct pkt p;
  if (parse_pkt(ctx, &p) < 0 || p.proto != ETH_P_IP || p.l4proto != IPPROTO_ICMP) return XDP_PASS;
  HDR(struct iphdr, ip, p.l3, p.end, XDP_PASS);
  HDR(struct icmphdr, ic, p.l4, p.end, XDP_PASS);
  if (ic->type != ICMP_ECHO) return XDP_PASS;
  __u32 old = *(__u32 *)ic;
  ic->type = ICMP_ECHOREPLY;
  __u32 new = *(__u32 *)ic;
  __s64 d = bpf_csum_diff(&old, 4, &new, 4, ~bpf_ntohs(ic->checksum) & 0xffff);
  __u32 k = 0;
  __s64 *slot = bpf_map_lookup_elem(&last_csum, &k);
  if (slot) *slot = d;
  ic->checksum = 0;
  __u64 s = d;
  ic->checksum = bpf_htons(csum_fold(s));
  __be32 a = ip->saddr;
  ip->saddr = ip->daddr;
  ip->daddr = a;
  ip->ttl = 64;
  ip->check = 0;
  if ((void *)ip + 20 > p.end) return XDP_DROP;
  __s64 full = bpf_csum_diff(0, 0, (__be32 *)ip, 20, 0);
  k = 1;
  slot = bpf_map_lookup_elem(&last_csum, &k);
  if (slot) *slot = full;
  ip->check = csum_fold(full);
  swap_mac(p.eth);
  return XDP_TX;
}
