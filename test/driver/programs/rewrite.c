// For --out-dir: every packet leaves the program changed. The frame grows by a new 14-byte Ethernet header in
// front (bpf_xdp_adjust_head(-14)) whose source MAC is 02:00:00:00:00:aa, destination copied from the original,
// EtherType copied too; the old header stays behind it as payload. The original last byte then picks the verdict:
// 1 DROP, 2 PASS, 3 TX, 4 redirect to devmap[0], 5 redirect to ifindex 2.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} ports SEC(".maps");

SEC("xdp")
int rewrite(struct xdp_md *ctx) {
  int sel = last_byte(ctx);
  if (bpf_xdp_adjust_head(ctx, -ETH_HLEN)) return XDP_ABORTED;
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *outer = data;
  struct ethhdr *inner = data + ETH_HLEN;
  if ((void *)(inner + 1) > end) return XDP_ABORTED;
  __builtin_memcpy(outer->h_dest, inner->h_dest, ETH_ALEN);
  __u8 src[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0xaa};
  __builtin_memcpy(outer->h_source, src, ETH_ALEN);
  outer->h_proto = inner->h_proto;
  switch (sel) {
  case 1: return XDP_DROP;
  case 2: return XDP_PASS;
  case 3: return XDP_TX;
  case 4: return bpf_redirect_map(&ports, 0, 0);
  case 5: return bpf_redirect(2, 0);
  default: return XDP_PASS;
  }
}
