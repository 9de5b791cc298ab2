// A simple parse-and-count program for real captures: counts frames per class and gives each class its own verdict,
// reading only (so every driver mode runs it): ARP -> DROP, IPv4 TCP -> PASS, IPv4 UDP -> TX, IPv6 -> REDIRECT
// to ifindex 2, frames too short for their headers -> ABORTED, anything else -> PASS.
#include "common.h"
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>

struct vlan_hdr {
  __be16 tci;
  __be16 proto;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} classes SEC(".maps");

static __always_inline int count(__u32 cls, int verdict) {
  __u64 *n = bpf_map_lookup_elem(&classes, &cls);
  if (n) __sync_fetch_and_add(n, 1);
  return verdict;
}

SEC("xdp")
int parse_count(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return count(0, XDP_ABORTED);
  __u16 proto = bpf_ntohs(eth->h_proto);
  void *cur = eth + 1;
#pragma unroll
  for (int i = 0; i < 3; i++) {
    if (proto != ETH_P_8021Q && proto != ETH_P_8021AD) break;
    struct vlan_hdr *v = cur;
    if ((void *)(v + 1) > end) return count(0, XDP_ABORTED);
    proto = bpf_ntohs(v->proto);
    cur = v + 1;
  }
  if (proto == ETH_P_ARP) return count(1, XDP_DROP);
  if (proto == ETH_P_IP) {
    struct iphdr *ip = cur;
    if ((void *)(ip + 1) > end) return count(0, XDP_ABORTED);
    if (ip->protocol == IPPROTO_TCP) return count(2, XDP_PASS);
    if (ip->protocol == IPPROTO_UDP) return count(3, XDP_TX);
    return count(4, XDP_PASS);
  }
  if (proto == ETH_P_IPV6) {
    struct ipv6hdr *ip6 = cur;
    if ((void *)(ip6 + 1) > end) return count(0, XDP_ABORTED);
    return count(5, bpf_redirect(2, 0));
  }
  return count(6, XDP_PASS);
}
