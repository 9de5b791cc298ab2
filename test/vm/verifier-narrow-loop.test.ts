// A `volatile` loop variable narrower than 8 bytes stored off an 8-byte slot's start is no register spill to the
// verifier: its bytes become STACK_ZERO (a 0 it knows) or STACK_MISC (any value), and the verifier compares them by that
// type alone. A loop that reads back 0 on every turn (`volatile __u32 i = 0; while (i < 10) {}`, the increment
// forgotten) comes back to the same state: "infinite loop detected at insn N", the kernel's N. `run` said nothing for
// these (only 8-byte volatile loops were seen). Near misses the kernel loads: a bounded loop storing its counter into
// a volatile byte, a bounded loop with a volatile zero inside. Every variant is loaded into the running kernel too.
import { test } from 'node:test';
import { checkRefusalVariants } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
#if V == 1
  volatile __u32 i = 0;
  while (i < 10) {} /* E */
#elif V == 2
  volatile __u8 i = 0, j = 1;
  while (i < 10) { j = 1; } /* E */
#elif V == 3
  volatile __u8 j;
  for (int i = 0; i < 10; i++) j = i;
#elif V == 4
  __u32 sum = 0;
  for (__u32 i = 0; i < 10; i++) { volatile __u32 z = 0; sum += z + i; }
  if (sum == 45) return XDP_DROP;
#elif V == 5
  volatile __u16 i = 0;
  while (i < 10) { i = 0; } /* E */
#endif
  return XDP_PASS;
}
`;

test('a volatile loop variable of 1-4 bytes that reads back 0 on every turn is an endless loop, as the kernel says', (t) => {
  checkRefusalVariants(t, 'narrow-loop', SOURCE, [
    { v: 1, kernel: 'infinite loop detected at insn 3' },
    { v: 2, kernel: 'infinite loop detected at insn 7' },
    { v: 5, kernel: 'infinite loop detected at insn 5' },
    { v: 3 }, { v: 4 },
  ], { rule: 'too-complex' });
});
