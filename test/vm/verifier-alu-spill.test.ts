// Instructions the 6.18 verifier refuses where its walk reaches them (simulator/verifier-bounds.ts): a constant divisor 0
// ("div by zero"), a constant shift past the width ("invalid shift 64"), and a pointer stored into the stack in fewer
// than 8 bytes ("invalid size of register spill"); `run` reports them before the first packet on the line marked E.
// Near misses: the division on a path the verifier never takes, shifts inside the width, an 8-byte spill, a 4-byte
// store of a number. Every variant is loaded into the running kernel too.
import { test } from 'node:test';
import { checkRefusalVariants, type RefusalCase } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
#if V == 1
  asm volatile("r2 = 7; r2 /= 0" ::: "r2"); /* E */
#elif V == 2
  asm volatile("r2 = 0; if r2 == 0 goto +1; r2 /= 0" ::: "r2");
#elif V == 3
  asm volatile("w2 = 7; w2 /= 0" ::: "r2"); /* E */
#elif V == 4
  asm volatile("r2 = 7; r2 <<= 64" ::: "r2"); /* E */
#elif V == 5
  asm volatile("w2 = 7; w2 >>= 31; r2 <<= 63" ::: "r2");
#elif V == 6
  asm volatile("*(u32 *)(r10 - 4) = r1" ::: ); /* E */
#elif V == 7
  asm volatile("*(u64 *)(r10 - 8) = r1" ::: );
#elif V == 8
  asm volatile("r2 = 5; *(u32 *)(r10 - 4) = r2" ::: "r2");
#elif V == 9
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&arr, &k);
  if (!v) return XDP_PASS;
  asm volatile("*(u32 *)(r10 - 16) = %0" :: "r"(v)); /* E */
#elif V == 10
  void *data = (void *)(long)ctx->data;
  asm volatile("*(u16 *)(r10 - 2) = %0" :: "r"(data)); /* E */
#endif
  return XDP_PASS;
}
`;

const CASES: RefusalCase[] = [
  { v: 1, kernel: 'div by zero' },
  { v: 2 },
  { v: 3, kernel: 'div by zero' },
  { v: 4, kernel: 'invalid shift 64' },
  { v: 5 },
  { v: 6, kernel: 'invalid size of register spill' },
  { v: 7 },
  { v: 8 },
  { v: 9, kernel: 'invalid size of register spill' },
  { v: 10, kernel: 'invalid size of register spill' },
];


test('a constant divisor 0, a shift past the width, a pointer spilled in fewer than 8 bytes: refused as by the kernel, near misses not', (t) => {
  checkRefusalVariants(t, 'aluspill', SOURCE, CASES);
});
