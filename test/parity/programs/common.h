// Shared parsing for the parity corpus: Ethernet, up to two VLAN tags (802.1Q / 802.1ad), IPv4, IPv6, TCP/UDP/ICMP.
#pragma once
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct vlan_hdr {
  __be16 tci;
  __be16 proto;
};

struct pkt {
  void *data;
  void *end;
  struct ethhdr *eth;
  __u16 proto;     /* host order, after VLAN tags */
  __u8 vlans;
  __u8 l4proto;
  void *l3;
  void *l4;
};

/* Returns 0 when L3 (and L4 if present) headers are within the packet, -1 otherwise; fields are filled as far as
 * parsing went. */
static __always_inline int parse_pkt(struct xdp_md *ctx, struct pkt *p) {
  p->data = (void *)(long)ctx->data;
  p->end = (void *)(long)ctx->data_end;
  p->proto = 0;
  p->vlans = 0;
  p->l4proto = 0;
  p->l3 = 0;
  p->l4 = 0;
  struct ethhdr *eth = p->data;
  p->eth = eth;
  if ((void *)(eth + 1) > p->end) return -1;
  __u16 proto = bpf_ntohs(eth->h_proto);
  void *cur = eth + 1;
#pragma unroll
  for (int i = 0; i < 2; i++) {
    if (proto != ETH_P_8021Q && proto != ETH_P_8021AD) break;
    struct vlan_hdr *v = cur;
    if ((void *)(v + 1) > p->end) return -1;
    proto = bpf_ntohs(v->proto);
    cur = v + 1;
    p->vlans++;
  }
  p->proto = proto;
  p->l3 = cur;
  if (proto == ETH_P_IP) {
    struct iphdr *ip = cur;
    if ((void *)(ip + 1) > p->end) return -1;
    if (ip->ihl < 5) return -1;
    p->l4proto = ip->protocol;
    cur = (void *)ip + ip->ihl * 4;
  } else if (proto == ETH_P_IPV6) {
    struct ipv6hdr *ip6 = cur;
    if ((void *)(ip6 + 1) > p->end) return -1;
    p->l4proto = ip6->nexthdr;
    cur = ip6 + 1;
  } else {
    return 0;
  }
  p->l4 = cur;
  if (p->l4proto == IPPROTO_TCP) {
    if (cur + sizeof(struct tcphdr) > p->end) return -1;
  } else if (p->l4proto == IPPROTO_UDP) {
    if (cur + sizeof(struct udphdr) > p->end) return -1;
  } else if (p->l4proto == IPPROTO_ICMP || p->l4proto == IPPROTO_ICMPV6) {
    if (cur + sizeof(struct icmphdr) > p->end) return -1;
  }
  return 0;
}

static __always_inline void swap_mac(struct ethhdr *eth) {
  unsigned char tmp[ETH_ALEN];
  __builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

static __always_inline __u16 csum_fold(__u64 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

/* Take a header pointer out of struct pkt right before use. The empty asm hides the pointer's origin from clang, so
 * the bounds check stays on the very register that is dereferenced, where the verifier needs it. */
#define HDR(type, name, ptr, end, fail)              \
  type *name = (type *)(ptr);                        \
  asm volatile("" : "+r"(name));                     \
  if ((void *)(name + 1) > (void *)(end)) return fail

char LICENSE[] SEC("license") = "GPL";
