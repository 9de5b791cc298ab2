// Packet writes: the last byte picks a direct store into the Ethernet header (line marked STORE), a
// bpf_xdp_store_bytes call (line marked STORE_BYTES), or a store into the metadata area; then XDP_PASS.
#include "common.h"

SEC("xdp")
int write_pkt(struct xdp_md *ctx) {
  int sel = last_byte(ctx);
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return XDP_DROP;
  if (sel == 1) {
    eth->h_dest[0] = 0x02; // STORE
  } else if (sel == 2) {
    __u8 mac[6] = {0x02, 0, 0, 0, 0, 0x99};
    if (bpf_xdp_store_bytes(ctx, 0, mac, sizeof(mac))) return XDP_DROP; // STORE_BYTES
  } else if (sel == 3) {
    if (bpf_xdp_adjust_meta(ctx, -4)) return XDP_DROP;
    __u32 *meta = (void *)(long)ctx->data_meta;
    void *d = (void *)(long)ctx->data;
    if ((void *)(meta + 1) > d) return XDP_DROP;
    *meta = 0xabcd; // META_STORE
  }
  return XDP_PASS;
}
