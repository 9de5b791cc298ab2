// Open-coded numeric iterators (bpf_for / bpf_repeat: bpf_iter_num_new/next/destroy) and the instruction budget. The
// kernel has no instruction count at run time: an iterator runs up to 8M times and the program with it. Each
// bpf_iter_num_next call gives back the instructions run since the previous call on that iterator (interpreter.ts
// iterRefund), in both engines and the WebAssembly tier alike. Against the kernel: three iterator loops each over the
// default budget of 1M instructions alone (bpf_for over 2M iterations agreed too, too slow for the interpreter here). Between the engines: the same steps with a
// small budget, and a loop inside an iterator's body that never calls bpf_iter_num_next still faults at the same place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, compileTestSource, i64 } from './kernel-agree.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { ENGINES } from '../../simulator/vm/machine.ts';
import { wasmStats, wasmTierMode } from '../../simulator/vm/compiled/engine.ts';

const HEAD = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct bpf_iter_num { __u64 __opaque[1]; } __attribute__((aligned(8)));
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;
/* i takes start .. end-1, as bpf_experimental.h's bpf_for (destroyed on leaving the loop) */
#define each_num(i, start, end) \\
  for (struct bpf_iter_num it__ __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))), \\
       *p__ __attribute__((unused)) = (bpf_iter_num_new(&it__, (start), (end)), (void)bpf_iter_num_destroy, (void *)0); \\
       ({ int *v__ = bpf_iter_num_next(&it__); v__ && ((i) = *v__, (i) >= (start) && (i) < (end)); });)
/* n times, as bpf_experimental.h's bpf_repeat */
#define repeat(n) \\
  for (struct bpf_iter_num it__ __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))), \\
       *p__ __attribute__((unused)) = (bpf_iter_num_new(&it__, 0, (n)), (void)bpf_iter_num_destroy, (void *)0); \\
       bpf_iter_num_next(&it__);)
`;

const MANY = HEAD + `
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if ((void *)(d + 64) > end) return XDP_PASS;
  __u64 s = d[40], o[4];
  int i, n = 130000 + d[41], c = 0, r = 0;
  each_num(i, 0, n) s = s * 33 + (i ^ 0x5a);
  o[0] = s;
  each_num(i, 0, 40) { int j; each_num(j, 0, 3000) c += (i ^ j ^ d[42]) & 1; }
  o[1] = c;
  repeat(300000 + d[43]) r += 3;
  o[2] = r;
  o[3] = n;
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

function packet(a: number, b: number, c: number, e: number): Uint8Array {
  const p = new Uint8Array(64);
  p[12] = 0x08;
  p.set([a, b, c, e], 40);
  return p;
}

test('open-coded iterators running millions of instructions agree with the kernel (bpf_for 130,000, nested 40 x 3,000, bpf_repeat 300,000: each over the budget alone)', (t) => {
  if (kernelOrSkip(t)) return;
  const mode = wasmTierMode();
  try {
    for (const m of ['auto', 'all'] as const) {
      wasmTierMode(m);
      const before = wasmStats.entries;
      const kernel = assertAgreesWithKernel('iterbudget', MANY, m === 'auto' ? [packet(7, 3, 0, 9), packet(0xc1, 250, 1, 0)] : [packet(7, 3, 0, 9)], { maps: false });
      if (m === 'all') assert.ok(wasmStats.entries > before, 'the WebAssembly tier ran');
      assert.equal(kernel.results[0]!.retval, 3);
      assert.equal(i64(kernel.results[0]!.out, 3), 130003);
      if (m === 'auto') assert.equal(i64(kernel.results[1]!.out, 3), 130250);
      assert.equal(i64(kernel.results[0]!.out, 2), 3 * 300009);
    }
  } finally {
    wasmTierMode(mode);
  }
});

const SMALL = HEAD + `
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u64 s = ctx->rx_queue_index;
  int i, j;
  each_num(i, 0, 700) { s += i * 3; each_num(j, 0, i & 7) s ^= j; }
  return s & 1 ? XDP_DROP : XDP_PASS;
}
`;

const ENDLESS = HEAD + `
SEC("xdp")
int prog(struct xdp_md *ctx) {
  volatile __u64 s = 1;
  int i;
  each_num(i, 0, 10) { while (s != 12345) s += 2; }
  return XDP_PASS;
}
`;

test('both engines give iterator instructions back alike: same steps with a budget smaller than the loop, same fault for an endless body', () => {
  const mode = wasmTierMode();
  try {
    const small = loadProgramFile(compileTestSource('itersmall', SMALL).path);
    const endless = loadProgramFile(compileTestSource('iterendless', ENDLESS).path);
    const steps: number[] = [];
    const faults: unknown[] = [];
    for (const m of ['off', 'all'] as const) {
      wasmTierMode(m);
      for (const engine of ENGINES) {
        const r = new Session(small, { program: 'prog', engine, budget: 300 }).runPacket(new Uint8Array(64));
        assert.equal(r.fault, undefined, `${engine}: ${r.fault?.message}`);
        steps.push(r.run.steps);
        const e = new Session(endless, { program: 'prog', engine, budget: 5000 }).runPacket(new Uint8Array(64));
        faults.push({ kind: e.fault?.kind, insn: e.fault?.insn, steps: e.run.steps });
      }
    }
    assert.ok(steps[0]! > 300 * 20, `steps ${steps[0]}`);
    assert.deepEqual(steps, steps.map(() => steps[0]));
    assert.equal((faults[0] as { kind: string }).kind, 'budget-exhausted');
    assert.deepEqual(faults, faults.map(() => faults[0]));
  } finally {
    wasmTierMode(mode);
  }
});
