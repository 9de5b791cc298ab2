// Instructions run inside bpf_loop / bpf_for_each_map_elem callbacks and the instruction budget. The kernel verifies a
// callback once and bpf_loop may call it up to 8M times, so a program the kernel loads can run far more than the
// budget's million instructions in callbacks; the budget gives each invocation's instructions back when it returns
// (interpreter.ts CALLBACK_REFUND_LIMIT), in both engines alike. Against the kernel: a bpf_loop of 400,000 calls and a
// bpf_for_each_map_elem over a 300,000-entry array (each about 2M instructions). Between the engines: the same step
// counts with a small budget, and an endless loop inside a callback still stops with the same fault at the same place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, compileTestSource, i64 } from './kernel-agree.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { ENGINES } from '../../simulator/vm/machine.ts';

const HEAD = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
`;

const MANY = HEAD + `
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 300000); __type(key, __u32); __type(value, __u32); } big SEC(".maps");
struct acc { __u64 sum; __u32 salt; };
static long step(__u32 i, struct acc *a) { a->sum += i ^ a->salt; return 0; }
static long walk(void *map, __u32 *key, __u32 *val, struct acc *a) { *val += *key & a->salt; a->sum += *val; return 0; }
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[3] = {};
  if ((void *)(d + 64) > end) return XDP_PASS;
  struct acc a = { .salt = d[40] };
  o[0] = bpf_loop(400000, step, &a, 0);
  o[1] = a.sum;
  if (d[41] & 1) {
    a.sum = 0;
    o[2] = bpf_for_each_map_elem(&big, walk, &a, 0) + a.sum;
  }
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

function packet(salt: number, walk: boolean): Uint8Array {
  const p = new Uint8Array(64);
  p[12] = 0x08;
  p[40] = salt;
  p[41] = walk ? 1 : 0;
  return p;
}

test('callbacks running millions of instructions agree with the kernel (bpf_loop 400,000 calls, for_each over 300,000 entries)', (t) => {
  if (kernelOrSkip(t)) return;
  // The 300,000-entry array is too big for a map dump; the walk's effect is in o[2] (the values it changed, summed).
  const kernel = assertAgreesWithKernel('cbbudget', MANY, [packet(0x5a, false), packet(0xa7, true)], { maps: false });
  assert.equal(i64(kernel.results[0]!.out, 0), 400000);
  assert.equal(i64(kernel.results[1]!.out, 0), 400000);
  assert.ok(i64(kernel.results[1]!.out, 2) >= 300000);
});

const SMALL = HEAD + `
static long step(__u32 i, __u64 *s) { *s += i * 3; return *s > 5000000000ULL; }
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u64 s = ctx->rx_queue_index;
  long n = bpf_loop(3000, step, &s, 0);
  return (s + n) & 1 ? XDP_DROP : XDP_PASS;
}
`;

const ENDLESS = HEAD + `
static long spin(__u32 i, volatile __u64 *s) { while (*s != 12345) *s += 2; return 0; }
SEC("xdp")
int prog(struct xdp_md *ctx) {
  volatile __u64 s = 1;
  bpf_loop(10, spin, (void *)&s, 0);
  return XDP_PASS;
}
`;

test('both engines give callback instructions back alike: same steps with a budget smaller than the callbacks, same fault for an endless callback', () => {
  const small = loadProgramFile(compileTestSource('cbsmall', SMALL).path);
  const steps = ENGINES.map((engine) => {
    const r = new Session(small, { program: 'prog', engine, budget: 2000 }).runPacket(new Uint8Array(64));
    assert.equal(r.fault, undefined, `${engine}: ${r.fault?.message}`);
    return r.run.steps;
  });
  assert.ok(steps[0]! > 2000 * 5, `steps ${steps[0]}`);
  assert.deepEqual(steps, [steps[0], steps[0]]);

  const endless = loadProgramFile(compileTestSource('cbendless', ENDLESS).path);
  const faults = ENGINES.map((engine) => {
    const r = new Session(endless, { program: 'prog', engine, budget: 5000 }).runPacket(new Uint8Array(64));
    return { kind: r.fault?.kind, insn: r.fault?.insn, steps: r.run.steps };
  });
  assert.equal(faults[0]!.kind, 'budget-exhausted');
  assert.deepEqual(faults[1], faults[0]);
});
