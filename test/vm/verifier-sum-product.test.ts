// The verifier's ranges of sums and products of bounded numbers (scalar_min_max_add / _mul with their tnums): x * c and
// x + y of packet bytes stay exact ranges, so an index built from them and then taken modulo N (the verifier does not
// track the modulo: "math between map_value pointer and register with unbounded min value is not allowed", the
// `trace[(x * 3 + y) % 48]` shape) or used as is past the value's end ("R6 max value is outside of the allowed memory
// range") is refused as the kernel refuses it; `run` said nothing when a product or a sum came from a function call.
// Near misses load: the same indexes into a value one byte larger. Every variant is loaded into the running kernel too.
import { test } from 'node:test';
import { checkRefusalVariants } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
#if V == 1 || V == 2
#define M 3
#define I f(x) + y
#elif V == 3 || V == 4
#define M 3
#define I f(x) + f(y)
#elif V == 5 || V == 6
#define M 6
#define I f(x + y)
#else
#define M 3
#endif
#if V == 1
#define N 1020
#elif V == 2
#define N 1021
#elif V == 3
#define N 1530
#elif V == 4
#define N 1531
#elif V == 5
#define N 3060
#elif V == 6
#define N 3061
#else
#define N 8
#endif
struct val { __u8 b[N]; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct val); } m SEC(".maps");
__u64 trace[48];
static __attribute__((noinline)) __u64 f(__u64 x) { return x * M; }
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  if (d + 8 > e) return XDP_ABORTED;
  __u32 k = 0;
  struct val *v = bpf_map_lookup_elem(&m, &k);
  if (!v) return XDP_PASS;
  __u64 x = d[0], y = d[1];
#if V <= 6
  v->b[I] = 1; /* E */
#elif V == 7
  __u32 level = d[2];
  trace[(f(level) + level) % 48] += 2; /* E */
#elif V == 8
  __u32 level = d[2];
  trace[(f(level) + level) & 31] += 2;
#endif
  return XDP_PASS;
}
`;

test('sums and products of bounded numbers keep the verifier\'s ranges: indexes past the value or taken modulo N are refused', (t) => {
  checkRefusalVariants(t, 'sum-product', SOURCE, [
    { v: 1, kernel: 'R6 max value is outside of the allowed memory range' },
    { v: 3, kernel: 'R6 max value is outside of the allowed memory range' },
    { v: 5, kernel: 'R6 max value is outside of the allowed memory range' },
    { v: 7, kernel: 'math between map_value pointer and register with unbounded min value is not allowed' },
    { v: 2 }, { v: 4 }, { v: 6 }, { v: 8 },
  ], { rule: 'unbounded', opens: (v) => (v <= 6 ? /^#if V <= 6$/ : new RegExp(`^#elif V == ${v}$`)) });
});
