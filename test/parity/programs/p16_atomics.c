// Atomics on map values and globals: fetch_add/or/and/xor, exchange and compare-exchange (needs -mcpu=v3); old values
// are written into the frame so data_out shows them.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} cells SEC(".maps");

__u32 word32 = 5;
__u64 word64 = 0x1122334455667788ull;

SEC("xdp")
int atomics(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u64 *out = data;
  if ((void *)(out + 7) > end) return XDP_PASS;
  __u32 k = 0;
  __u64 *c = bpf_map_lookup_elem(&cells, &k);
  if (!c) return XDP_ABORTED;
  __u64 len = end - data;
  out[0] = __sync_fetch_and_add(c, len);
  out[1] = __sync_fetch_and_or(&word64, len << 40);
  out[2] = __sync_fetch_and_and(&word32, ~(__u32)len);
  out[3] = __sync_fetch_and_xor(&word64, 0xff00ff00ff00ff00ull);
  out[4] = __atomic_exchange_n(&word32, (__u32)len * 3, __ATOMIC_SEQ_CST);
  __u64 expected = len & 1 ? *c : 12345;
  out[5] = __sync_val_compare_and_swap(c, expected, 777);
  __u32 exp32 = 99;
  out[6] = __atomic_compare_exchange_n(&word32, &exp32, 100, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) | ((__u64)exp32 << 32);
  __sync_fetch_and_add(&word32, 1);
  return XDP_PASS;
}
