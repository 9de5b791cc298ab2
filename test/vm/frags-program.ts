// The xdp.frags program of the multi-buffer batch tests (test/vm/engine-batch-frags, test/driver/receive-batch-frags):
// it reads the length (bpf_xdp_get_buff_len) and the last bytes (bpf_xdp_load_bytes), then by the last byte drops,
// passes, stores across the linear/fragment boundary and into the last fragment (bpf_xdp_store_bytes), or shrinks or
// grows the tail (bpf_xdp_adjust_tail), counting what it did in an array map.

/** Reads the length and the last bytes, then (by the last byte) drops, passes, writes across the boundary, or moves the tail. */
export const fragsProgram = (section: string): string => `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } stats SEC(".maps");
SEC("${section}")
int prog(struct xdp_md *ctx) {
  __u64 total = bpf_xdp_get_buff_len(ctx);
  __u8 buf[8] = {};
  __u32 k = total & 3;
  __u64 *v = bpf_map_lookup_elem(&stats, &k);
  if (v) *v += total;
  if (total < 16 || bpf_xdp_load_bytes(ctx, total - 8, buf, 8) < 0) return XDP_ABORTED;
  __u8 sel = buf[7] % 6;
  if (sel == 0) return XDP_DROP;
  if (sel == 1) return XDP_PASS;
  if (sel == 2) {
    __u8 mark[8] = { 'X', 'D', 'P', 'L', 'E', 'N', 'S', '!' };
    long a = bpf_xdp_store_bytes(ctx, 3516, mark, 8);
    long b = bpf_xdp_store_bytes(ctx, total - 3, mark, 3);
    if (v) *v += (a == 0) + 2 * (b == 0);
    return XDP_TX;
  }
  if (sel == 3) {
    long r = bpf_xdp_adjust_tail(ctx, -(int)(buf[6] * 37 + 1));
    if (v) *v += r == 0 ? 1000000 : 2000000;
    return r == 0 ? XDP_PASS : XDP_DROP;
  }
  if (sel == 4) {
    long r = bpf_xdp_adjust_tail(ctx, buf[5] % 64);
    if (v) *v += r == 0 ? 3000000 : 4000000;
    return XDP_TX;
  }
  return buf[4] & 1 ? XDP_PASS : XDP_DROP;
}
`;
