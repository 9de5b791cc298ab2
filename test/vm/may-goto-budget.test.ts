// A loop bounded by may_goto (libbpf's cond_break / can_loop; clang 14 emits it as the bytes 0xe5 ...) is walked once
// by the verifier and counted by nobody at run time, so the kernel runs 150,000 turns of it (about a million
// instructions) where the simulator stopped at its budget of 1,000,000 ('the instruction budget ran out'): found by
// running a may_goto loop over packet-chosen counts against the 6.18 kernel. Each may_goto now gives back the
// instructions since the previous one (mayGotoRefund, within CALLBACK_REFUND_LIMIT, as callbacks and open-coded
// iterators do); a loop without may_goto still runs out. Both engines agree with the kernel on the verdicts, the
// turns and a fold of them; the budget still stops an endless loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, compileTestSource } from './kernel-agree.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { ENGINES } from '../../simulator/vm/machine.ts';

const COND_BREAK = `
#define cond_break ({ __label__ l_break, l_continue; \\
  asm volatile goto("1:.byte 0xe5; .byte 0; .long ((%l[l_break] - 1b - 8) / 8) & 0xffff; .short 0" :::: l_break); \\
  goto l_continue; l_break: break; l_continue:; })
`;

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
${COND_BREAK}
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); } out SEC(".maps");
SEC("xdp") int prog(struct xdp_md *ctx) {
  __u8 *p = (void *)(long)ctx->data;
  if ((void *)(p + 16) > (void *)(long)ctx->data_end) return XDP_PASS;
  __u64 n = (__u64)p[14] * 1000, i = 0, s = 0;
  while (i < n) { s = s * 3 + i; i++; cond_break; }
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&out, &k);
  if (v) *v += i;
  k = 1;
  v = bpf_map_lookup_elem(&out, &k);
  if (v) *v ^= s;
  return i == n ? XDP_TX : XDP_DROP;
}
`;

test('a may_goto loop runs past the instruction budget as the kernel runs it', (t) => {
  if (kernelOrSkip(t)) return;
  const packets = [0, 1, 5, 150, 255].map((n) => {
    const p = new Uint8Array(64);
    p[12] = 0x08;
    p[14] = n;
    return p;
  });
  const kernel = assertAgreesWithKernel('maygoto', SOURCE, packets);
  assert.deepEqual(kernel.results.map((r) => r.retval), [3, 3, 3, 3, 3]);
});

test('a loop without may_goto still stops at the budget', () => {
  const { path } = compileTestSource('maygoto_endless', `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
${COND_BREAK}
SEC("xdp") int prog(struct xdp_md *ctx) {
  volatile __u8 *p = (void *)(long)ctx->data;
  volatile __u64 i = 0;
  if ((void *)(p + 1) > (void *)(long)ctx->data_end) return XDP_PASS;
  /* One may_goto, then a loop that never ends on a zero byte: only what ran before the may_goto is given back. */
  for (int j = 0; j < 1; j++) { i++; cond_break; }
  while (*p != 0xff) i++;
  return XDP_PASS;
}
`);
  for (const engine of ENGINES) {
    const s = new Session(loadProgramFile(path), { program: 'prog', engine });
    const r = s.runPacket(new Uint8Array(64));
    assert.equal(r.fault?.kind, 'budget-exhausted', engine);
  }
});
