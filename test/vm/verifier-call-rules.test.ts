// Refusals the 6.18 verifier makes where its walk reaches a call, which `run` did not report (the program ran as if it
// loaded): bpf_loop / bpf_for_each_map_elem given a callback context that is not a stack pointer or NULL ("R3
// type=ctx expected=fp", a map value, data_end, a packet pointer), bpf_tail_call in a callback's own frame, a kfunc
// the kernel offers only to other program types ("calling kernel function bpf_dynptr_from_skb is not allowed"), and a
// ninth nested function call ("the call stack of 9 frames is too deep", the walk's words at the call, not
// check_max_stack_depth's "... 8 frames is too deep !"). Near misses load: a stack struct or NULL as the context, a
// tail call after bpf_loop returns, a kfunc of the same family XDP has, eight frames. Every variant is loaded into the
// running kernel too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRefusalVariants, markedLine } from './refusal-variants.ts';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';

const LOOP = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
__u64 g;
static long cb(__u32 i, void *c) { return 0; }
static long cb2(__u32 i, void *c) { if (c) *(__u64 *)c += i; return 0; }
static long fcb(void *map, __u32 *key, __u64 *val, void *c) { return 0; }
SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
  __u64 s = 0;
  __u32 k = 0;
#if V == 1
  bpf_loop(3, cb, ctx, 0); /* E */
#elif V == 2
  if (data + 8 > data_end) return XDP_DROP;
  bpf_loop(3, cb, data, 0); /* E */
#elif V == 3
  __u64 *v = bpf_map_lookup_elem(&arr, &k);
  if (!v) return XDP_DROP;
  bpf_loop(3, cb2, v, 0); /* E */
#elif V == 4
  bpf_loop(3, cb2, &g, 0); /* E */
#elif V == 5
  bpf_loop(3, cb2, &s, 0);
#elif V == 6
  bpf_loop(3, cb2, 0, 0);
#elif V == 7
  bpf_loop(3, cb, data_end, 0); /* E */
#elif V == 8
  bpf_for_each_map_elem(&arr, fcb, ctx, 0); /* E */
#elif V == 9
  bpf_for_each_map_elem(&arr, fcb, &s, 0);
#endif
  return s ? XDP_DROP : XDP_PASS;
}
`;

test('bpf_loop and bpf_for_each_map_elem take a stack pointer or NULL as the callback context, as the kernel says', (t) => {
  checkRefusalVariants(t, 'loop-ctx', LOOP, [
    { v: 1, kernel: 'R3 type=ctx expected=fp' },
    { v: 2, kernel: 'helper access to the packet is not allowed' },
    { v: 3, kernel: 'R3 type=map_value expected=fp' },
    { v: 4, kernel: 'R3 type=map_value expected=fp' },
    { v: 7, kernel: 'R3 type=pkt_end expected=fp' },
    { v: 8, kernel: 'R3 type=ctx expected=fp' },
    { v: 5 }, { v: 6 }, { v: 9 },
  ], { rule: 'pointer-misuse' });
});

const KFUNC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct sock { int x; }; struct bpf_tcp_req_attrs { int x; }; struct bpf_cpumask { int x; }; struct task_struct { int x; };
extern int bpf_dynptr_from_skb(struct __sk_buff *s, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern int bpf_sk_assign_tcp_reqsk(struct __sk_buff *s, struct sock *sk, struct bpf_tcp_req_attrs *attrs, int attrs__sz) __ksym;
extern struct bpf_cpumask *bpf_cpumask_create(void) __ksym;
extern void bpf_cpumask_release(struct bpf_cpumask *p) __ksym;
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr p;
#if V == 1
  bpf_dynptr_from_skb((struct __sk_buff *)ctx, 0, &p); /* E */
#elif V == 2
  if (ctx->rx_queue_index == 3) bpf_sk_assign_tcp_reqsk((struct __sk_buff *)ctx, 0, 0, 0); /* E */
#elif V == 3
  struct bpf_cpumask *m = bpf_cpumask_create(); /* E */
  if (m) bpf_cpumask_release(m);
#elif V == 4
  bpf_dynptr_from_xdp(ctx, 0, &p);
#elif V == 5
  struct task_struct *t = bpf_task_from_pid(1);
  if (t) bpf_task_release(t);
#endif
  return XDP_PASS;
}
`;

test('a kfunc the kernel offers only to other program types is refused where the walk reaches it', (t) => {
  checkRefusalVariants(t, 'kfunc-type', KFUNC, [
    { v: 1, kernel: 'calling kernel function bpf_dynptr_from_skb is not allowed' },
    { v: 2, kernel: 'calling kernel function bpf_sk_assign_tcp_reqsk is not allowed' },
    { v: 3, kernel: 'calling kernel function bpf_cpumask_create is not allowed' },
    { v: 4 }, { v: 5 },
  ], { rule: 'kfunc' });
});

// prog -> f1 -> ... -> fN: N + 1 frames.
const chain = (n: number) => {
  const fs: string[] = [];
  for (let k = n; k >= 1; k--) {
    const call = k === n ? 'x * 3' : `f${k + 1}(x + ${k})`;
    fs.push(`static __attribute__((noinline)) __u64 f${k}(__u64 x) {\n  volatile __u64 q = x ^ ${k};\n  return ${call} + q;${k === n - 1 ? ' /* E */' : ''}\n}`);
  }
  return fs.join('\n');
};
const FRAMES = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
#if V == 1
${chain(8)}
#elif V == 2
${chain(7)}
#endif
SEC("xdp")
int prog(struct xdp_md *ctx) {
  return (f1(ctx->rx_queue_index) & 1) + 1;
}
`;

test('a ninth nested call is refused at the call in the words of the verifier\'s walk', (t) => {
  checkRefusalVariants(t, 'call-frames', FRAMES, [{ v: 1, kernel: 'the call stack of 9 frames is too deep' }, { v: 2 }],
    { rule: 'call-depth', opens: (v) => new RegExp(`^#(el)?if V == ${v}$`) });
});

const TAIL = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } jmp SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
struct cc { struct xdp_md *ctx; __u32 n; int go; };
static long cb(__u32 i, void *c) {
  struct cc *p = c;
#if V == 1
  bpf_tail_call(p->ctx, &jmp, 0); /* E */
#elif V == 2
  if (p->n > 100) bpf_tail_call(p->ctx, &jmp, 0); /* E */
#else
  if (p->n > 100) p->go = 1;
#endif
  return 0;
}
static long fcb(void *map, __u32 *key, __u64 *val, void *c) {
  struct cc *p = c;
  bpf_tail_call(p->ctx, &jmp, 0); /* E */
  return 0;
}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct cc c = { ctx, ctx->rx_queue_index, 0 };
#if V == 4
  bpf_for_each_map_elem(&arr, fcb, &c, 0);
#else
  bpf_loop(3, cb, &c, 0);
#endif
  if (c.go) bpf_tail_call(ctx, &jmp, 0);
  return XDP_PASS;
}
`;

test('bpf_tail_call in a callback is refused at the call (6.18 words it two ways)', (t) => {
  const kernel = !kernelOrSkip(t);
  const words = ['At callback return the register R0 has unknown scalar value should have been in [0, 1]', 'verifier bug: callback unexpected regs 1'];
  for (const v of [1, 2, 3, 4]) {
    const flags = [`-DV=${v}`];
    const { path, objectPath } = compileTestSource(`tail-cb${v}`, TAIL, flags);
    const obj = loadProgramFile(path, { clangFlags: flags });
    const r = refusalsBeforeRun(obj, obj.programs.find((p) => p.name === 'prog')!, createMachine(obj, {}));
    const refused = v !== 3;
    if (refused) {
      assert.equal(r.length, 1, `V=${v}: ${JSON.stringify(r)}`);
      // V=4: the call in fcb, the callback of bpf_for_each_map_elem.
      const marked = v === 4 ? TAIL.split('\n').lastIndexOf('  bpf_tail_call(p->ctx, &jmp, 0); /* E */') + 1 : markedLine(TAIL, v);
      assert.equal(r[0]!.line, marked, `V=${v}: line`);
      assert.ok(words.every((w) => r[0]!.message.includes(w)), r[0]!.message);
    } else assert.deepEqual(r, [], `V=${v}`);
    if (kernel) {
      const log = kernelRefusal(objectPath, 'prog');
      if (refused) assert.ok(words.some((w) => log.includes(w)), `V=${v}: the kernel says ${log.slice(-300)}`);
      else assert.equal(log, '', `V=${v}: the kernel loads it`);
    }
  }
});

const NESTED = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } jmp SEC(".maps");
const volatile int flag = 0;
struct cc { struct xdp_md *ctx; };
static __attribute__((noinline)) int hop(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &jmp, 0); /* E */
  return 0;
}
static __attribute__((noinline)) int hop2(struct xdp_md *ctx) { return hop(ctx) + 1; }
static long cb(__u32 i, void *c) {
#if V == 2
  hop2(((struct cc *)c)->ctx);
#else
  hop(((struct cc *)c)->ctx);
#endif
  return 0;
}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct cc c = { ctx };
#if V == 1 || V == 2
  bpf_loop(3, cb, &c, 0);
#elif V == 3
  if (flag) bpf_loop(3, cb, &c, 0);
#endif
  return XDP_PASS;
}
`;

test('a tail call in a function a reached callback calls is refused (check_max_stack_depth), not behind a flag the verifier reads as 0', (t) => {
  checkRefusalVariants(t, 'cb-nested-tail', NESTED, [
    { v: 1, kernel: 'cannot tail call within callback' },
    { v: 2, kernel: 'cannot tail call within callback' },
    { v: 3 },
  ], { rule: 'tail-call-callback', opens: () => /^static __attribute__\(\(noinline\)\) int hop\(/ });
});

const CTXNUM = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } jmp SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
  long len = data_end - data;
#if V == 1
  bpf_tail_call((void *)len, &jmp, 0); /* E */
#elif V == 2
  bpf_xdp_adjust_tail((void *)(len & 0xff), -4); /* E */
#elif V == 3
  bpf_tail_call(ctx, &jmp, 0);
#endif
  return XDP_PASS;
}
`;

test('a number given where a helper takes the context is refused (R1 type=scalar expected=ctx)', (t) => {
  checkRefusalVariants(t, 'ctx-number', CTXNUM, [
    { v: 1, kernel: 'R1 type=scalar expected=ctx' },
    { v: 2, kernel: 'R1 type=scalar expected=ctx' },
    { v: 3 },
  ], { rule: 'pointer-misuse' });
});
