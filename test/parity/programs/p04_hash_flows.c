// Flow table: HASH keyed by the 5-tuple with packet/byte counters; the table is small so later flows hit -E2BIG,
// which is counted per error code.
#include "common.h"

struct flow {
  __be32 src, dst;
  __be16 sport, dport;
  __u8 proto;
  __u8 pad[3];
};
struct counters { __u64 packets, bytes; };

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, struct flow);
  __type(value, struct counters);
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} errs SEC(".maps");

SEC("xdp")
int hash_flows(struct xdp_md *ctx) {
  struct pkt p;
  if (parse_pkt(ctx, &p) < 0 || p.proto != ETH_P_IP) return XDP_PASS;
  HDR(struct iphdr, ip, p.l3, p.end, XDP_PASS);
  struct flow f = {};
  f.src = ip->saddr;
  f.dst = ip->daddr;
  f.proto = p.l4proto;
  if (p.l4proto == IPPROTO_TCP || p.l4proto == IPPROTO_UDP) {
    HDR(struct udphdr, uh, p.l4, p.end, XDP_PASS);
    f.sport = uh->source;
    f.dport = uh->dest;
  }
  struct counters *c = bpf_map_lookup_elem(&flows, &f);
  if (c) {
    __sync_fetch_and_add(&c->packets, 1);
    __sync_fetch_and_add(&c->bytes, (__u64)(p.end - p.data));
    return XDP_PASS;
  }
  struct counters init = { 1, (__u64)(p.end - p.data) };
  long err = bpf_map_update_elem(&flows, &f, &init, BPF_NOEXIST);
  __u32 k = err < 0 ? (__u32)(-err) & 7 : 0;
  __u64 *e = bpf_map_lookup_elem(&errs, &k);
  if (e) *e += 1;
  return err ? XDP_DROP : XDP_PASS;
}
