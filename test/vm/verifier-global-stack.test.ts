// A global function given a pointer into the caller's stack: the verifier checks the call as a write of the whole
// pointed-to type (check_mem_reg, with the size from the function's BTF), so those bytes are STACK_MISC afterwards and
// a number the caller stored there reads back as any value of its size. `struct s v = { .a = 2 }; g(&v); val[v.a]`
// is refused by the 6.18 kernel ("unbounded min value" for a u64 field, "max value is outside" for a u8 one into a
// 255-byte value); `run` followed the constant and said nothing. Bytes outside the pointed-to type keep their
// number (variant 4 loads), and a u8 index into a 256-byte value loads (variant 2).
import { test } from 'node:test';
import { checkRefusalVariants } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
#if V == 1
#define N 4
#define T __u64
#elif V == 2
#define N 256
#define T __u8
#elif V == 3
#define N 255
#define T __u8
#else
#define N 8
#define T __u64
#endif
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u8[N]); } m SEC(".maps");
struct s { T a; };
struct w { struct s v; __u64 idx; };
__attribute__((noinline)) int g(struct s *p) {
  asm volatile("" : : "r"(p) : "memory");
  return p ? p->a == 3 : 0;
}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u32 k = 0;
  __u8 *val = bpf_map_lookup_elem(&m, &k);
  if (!val) return XDP_PASS;
#if V == 1 /* body */
  struct s v = { .a = 2 };
  int r = g(&v);
  return val[v.a] + r; /* E */
#elif V == 2 /* body */
  struct s v = { .a = 2 };
  int r = g(&v);
  return val[v.a] + r;
#elif V == 3 /* body */
  struct s v = { .a = 2 };
  int r = g(&v);
  return val[v.a] + r; /* E */
#elif V == 4 /* body */
  struct w x = { .v = { .a = 1 }, .idx = 2 };
  int r = g(&x.v);
  asm volatile("" : : "r"(&x) : "memory");
  return val[x.idx] + r;
#endif
}
`;

test('a global function given a stack pointer leaves the pointed-to bytes unknown to the verifier, as the kernel does', (t) => {
  checkRefusalVariants(t, 'global-stack', SOURCE, [
    { v: 1, kernel: 'math between map_value pointer and register with unbounded min value is not allowed' },
    { v: 3, kernel: 'R6 max value is outside of the allowed memory range' },
    { v: 2 }, { v: 4 },
  ], { rule: 'unbounded', opens: (v) => new RegExp(`^#(el)?if V == ${v} /\\* body \\*/$`) });
});
