// The context at a variable offset, atomics through the context or a packet pointer, a store through
// bpf_cast_to_kern_ctx's pointer, and a pointer masked by a constant out of the verifier's range: refusals the 6.18
// verifier makes at load (simulator/verifier-bounds.ts, simulator/analysis/bytecode/engine.ts), reported by `run` before
// the first packet on the line marked E in the kernel's words. Near misses (a field chosen by a branch, an offset clang
// folds into the load, atomics on the stack and a map value, kern ctx read, a length masked) are not reported. Every
// variant is loaded into the running kernel too.
import { test } from 'node:test';
import { checkRefusalVariants, type RefusalCase } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
struct xdp_buff___k { void *data; void *data_end; } __attribute__((preserve_access_index));
SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
#if V == 1
  __u32 i = ctx->rx_queue_index & 4;
  return *(volatile __u32 *)((char *)ctx + i) & 3; /* E */
#elif V == 2
  __u32 i = ctx->rx_queue_index;
  if (i > 1) return XDP_PASS;
  return *(volatile __u32 *)((char *)ctx + i * 4) & 3; /* E */
#elif V == 3
  __u32 i = ctx->rx_queue_index;
  *(volatile __u32 *)((char *)ctx + i) = 1; /* E */
  return XDP_PASS;
#elif V == 4
  __u64 t = bpf_ktime_get_ns();
  char *p = (char *)ctx + t; /* E */
  return *(volatile __u32 *)p & 3;
#elif V == 5
  __u32 i = ctx->rx_queue_index & 1;
  return (i ? ctx->ingress_ifindex : ctx->rx_queue_index) & 3;
#elif V == 6
  __u32 *p = (__u32 *)ctx;
  p += 3;
  return *(volatile __u32 *)p & 3;
#elif V == 7
  if (data + 8 > end) return XDP_PASS;
  __sync_fetch_and_add((__u32 *)data, 1); /* E */
  return XDP_PASS;
#elif V == 8
  void *meta = (void *)(long)ctx->data_meta;
  if (meta + 8 > data) return XDP_PASS;
  __sync_fetch_and_add((__u32 *)meta, 1); /* E */
  return XDP_PASS;
#elif V == 9
  asm volatile("r2 = 1; lock *(u32 *)(r1 + 12) += r2" ::: "r2"); /* E */
  return XDP_PASS;
#elif V == 10
  __u32 k = 0;
  __u64 *c = bpf_map_lookup_elem(&counts, &k);
  if (!c) return XDP_PASS;
  __sync_fetch_and_add(c, 1);
  __u32 s = ctx->rx_queue_index;
  __sync_fetch_and_add(&s, 1);
  return s & 3;
#elif V == 11
  struct xdp_buff___k *kc = bpf_cast_to_kern_ctx(ctx);
  kc->data_end = 0; /* E */
  return XDP_PASS;
#elif V == 12
  struct xdp_buff___k *kc = bpf_cast_to_kern_ctx(ctx);
  return kc->data_end == end ? XDP_PASS : XDP_DROP;
#elif V == 13
  if (data + 8 > end) return XDP_PASS;
  unsigned long d = (unsigned long)data;
  d &= ~7U; /* E */
  return *(volatile char *)d & 1;
#elif V == 14
  if (data + 8 > end) return XDP_PASS;
  char *q = data;
  asm volatile("%0 &= -8" : "+r"(q)); /* E */
  return 2;
#elif V == 15
  unsigned long len = (unsigned long)end - (unsigned long)data;
  len &= ~7U;
  return len > 64 ? XDP_DROP : XDP_PASS;
#endif
}
`;

const CASES: RefusalCase[] = [
  { v: 1, kernel: 'variable ctx access var_off=(0x0; 0x4) disallowed' },
  { v: 2, kernel: 'variable ctx access var_off=(0x0; 0x4) disallowed' },
  { v: 3, kernel: 'variable ctx access var_off=(0x0; 0xffffffff) disallowed' },
  { v: 4, kernel: 'math between ctx pointer and register with unbounded min value is not allowed' },
  { v: 5 },
  { v: 6 },
  { v: 7, kernel: 'BPF_ATOMIC stores into R1 pkt is not allowed' },
  { v: 8, kernel: 'BPF_ATOMIC stores into R1 pkt_meta is not allowed' },
  { v: 9, kernel: 'BPF_ATOMIC stores into R1 ctx is not allowed' },
  { v: 10 },
  { v: 11, kernel: 'only read is supported' },
  { v: 12 },
  { v: 13, kernel: 'math between pkt pointer and 4294967288 is not allowed' },
  { v: 14, kernel: 'bitwise operator &= on pointer prohibited' },
  { v: 15 },
];


test('ctx at a variable offset, atomics on ctx/packet, kern ctx stores, a pointer masked: refused as by the kernel, near misses not', (t) => {
  checkRefusalVariants(t, 'ctxatomic', SOURCE, CASES);
});
