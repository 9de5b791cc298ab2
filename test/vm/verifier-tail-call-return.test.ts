// A subprogram that calls bpf_tail_call must return a scalar (an integer of at most 8 bytes or an enum, read from its
// BTF after typedefs and qualifiers): the tail-called program's return value comes back through it. The verifier
// checks this before its walk (check_btf_func: "tail_call is only allowed in functions that return 'int'."); `run`
// said nothing and ran the program (found by the afuzz generator's tail-call-void-sub mistake). Near misses: int,
// long, an enum, a typedef'd __u32 and _Bool returns, a void subprogram without a tail call, and a void function that
// is inlined into the program. Every variant is loaded into the running kernel too.
import { test } from 'node:test';
import { checkRefusalVariants, type RefusalCase } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4); __uint(key_size, 4); __uint(value_size, 4); } jt SEC(".maps");
enum verdict { V_PASS = 2 };
typedef __u32 u32_t;
#if V == 1
static __attribute__((noinline)) void sub(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &jt, 1); /* E */
}
#elif V == 2
static __attribute__((noinline)) int sub(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &jt, 1);
  return 0;
}
#elif V == 3
static __attribute__((noinline)) long sub(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &jt, 1);
  return 0;
}
#elif V == 4
static __attribute__((noinline)) enum verdict sub(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &jt, 1);
  return V_PASS;
}
#elif V == 5
static __attribute__((noinline)) u32_t sub(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &jt, 1);
  return 0;
}
#elif V == 6
static __attribute__((noinline)) _Bool sub(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &jt, 1);
  return 0;
}
#elif V == 7
static volatile int seen;
static __attribute__((noinline)) void sub(struct xdp_md *ctx) {
  seen = ctx->rx_queue_index;
}
#elif V == 8
static __attribute__((always_inline)) void sub(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &jt, 1);
}
#elif V == 9
static __attribute__((noinline)) void sub(struct xdp_md *ctx) {
  if (ctx->rx_queue_index == 7)
    bpf_tail_call(ctx, &jt, 2); /* E */
}
#endif
SEC("xdp")
int prog(struct xdp_md *ctx) {
  sub(ctx);
  return XDP_PASS;
}
`;

const KERNEL = "tail_call is only allowed in functions that return 'int'.";
const CASES: RefusalCase[] = [
  { v: 1, kernel: KERNEL },
  { v: 2 }, { v: 3 }, { v: 4 }, { v: 5 }, { v: 6 }, { v: 7 }, { v: 8 },
  { v: 9, kernel: KERNEL },
];

test("a subprogram that tail-calls and does not return an integer is refused as by the kernel, near misses not", (t) => {
  checkRefusalVariants(t, 'tailret', SOURCE, CASES, { rule: 'tail-call-return' });
});
