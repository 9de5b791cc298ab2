// A load or store through a register that certainly holds a number to the 6.18 verifier (a map value's plain bytes,
// a context field, a packet word, a constant) is refused: "R1 invalid mem access 'scalar'". `run` reports it before
// the first packet on the line marked E (simulator/analysis/bytecode/engine.ts numberAccess). Near misses load: the
// same values read and compared instead of dereferenced, a packet byte used as an index into the packet after a
// bounds check, a pointer spilled to the stack and filled back. Every variant is loaded into the running kernel too.
import { test } from 'node:test';
import { checkRefusalVariants, type RefusalCase } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u32 k = 0;
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 8 > end) return XDP_DROP;
#if V == 1
  __u64 *v = bpf_map_lookup_elem(&arr, &k);
  if (!v) return XDP_DROP;
  __u64 *p = (__u64 *)*v;
  return *p; /* E */
#elif V == 2
  long x = ctx->ingress_ifindex;
  return *(int *)x; /* E */
#elif V == 3
  __u32 off = *(__u32 *)data;
  *(__u8 *)(long)off = 1; /* E */
#elif V == 4
  asm volatile("r1 = 16; r2 = 1; *(u32 *)(r1 + 0) = r2" ::: "r1", "r2"); /* E */
#elif V == 5
  __u64 *v = bpf_map_lookup_elem(&arr, &k);
  if (!v) return XDP_DROP;
  if (*v == 7) return XDP_TX;
#elif V == 6
  __u32 off = *(__u8 *)data & 7;
  if (data + off + 1 > end) return XDP_DROP;
  return *(__u8 *)(data + off) ? XDP_PASS : XDP_DROP;
#elif V == 7
  asm volatile("*(u64 *)(r10 - 8) = %0; r1 = *(u64 *)(r10 - 8); r1 = *(u8 *)(r1 + 0)" :: "r"(data) : "r1");
#endif
  return XDP_PASS;
}
`;

const CASES: RefusalCase[] = [
  { v: 1, kernel: "R1 invalid mem access 'scalar'" },
  { v: 2, kernel: "R1 invalid mem access 'scalar'" },
  { v: 3, kernel: "R1 invalid mem access 'scalar'" },
  { v: 4, kernel: "R1 invalid mem access 'scalar'" },
  { v: 5 }, { v: 6 }, { v: 7 },
];

test('loads and stores through a number: refused before the first packet as the kernel refuses them', (t) => {
  checkRefusalVariants(t, 'scalar-access', SOURCE, CASES, { rule: 'pointer-misuse' });
});
