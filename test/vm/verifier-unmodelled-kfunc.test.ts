// A kfunc the simulator does not model (bpf_list_push_back_impl, bpf_list_pop_front) is the simulator's limit, not a
// verifier refusal: the 6.18 kernel loads this program, so the refusals known before the first packet must not name
// those calls (the session says separately that it cannot run the program).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
struct bpf_list_head { __u64 __opaque[2]; } __attribute__((aligned(8)));
struct bpf_list_node { __u64 __opaque[3]; } __attribute__((aligned(8)));
#define __contains(name, node) __attribute__((btf_decl_tag("contains:" #name ":" #node)))
#define private(name) SEC(".data." #name) __hidden __attribute__((aligned(8)))
extern void *bpf_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
extern void bpf_obj_drop_impl(void *kptr, void *meta) __ksym;
extern int bpf_list_push_back_impl(struct bpf_list_head *head, struct bpf_list_node *node, void *meta, __u64 off) __ksym;
extern struct bpf_list_node *bpf_list_pop_front(struct bpf_list_head *head) __ksym;
struct elem { long v; struct bpf_list_node node; };
private(A) struct bpf_spin_lock glock;
private(A) struct bpf_list_head ghead __contains(elem, node);
long sum;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct elem *e = bpf_obj_new_impl(bpf_core_type_id_local(struct elem), 0);
  struct bpf_list_node *n;
  if (!e) return XDP_ABORTED;
  long v = ctx->data_end - ctx->data;
  e->v = v;
  bpf_spin_lock(&glock);
  bpf_list_push_back_impl(&ghead, &e->node, 0, 0);
  bpf_spin_unlock(&glock);
  if (v & 1) return XDP_PASS;
  bpf_spin_lock(&glock);
  n = bpf_list_pop_front(&ghead);
  bpf_spin_unlock(&glock);
  if (!n) return XDP_DROP;
  e = (struct elem *)((void *)n - __builtin_offsetof(struct elem, node));
  sum += e->v;
  bpf_obj_drop_impl(e, 0);
  return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a kfunc the simulator does not model is not reported as a verifier refusal; the kernel loads the program', (t) => {
  if (kernelOrSkip(t)) return;
  const { path, objectPath } = compileTestSource('unmodelled-kfunc', SOURCE);
  assert.equal(kernelRefusal(objectPath, 'prog'), '', 'the kernel loads it');
  const obj = loadProgramFile(path);
  const p = obj.programs.find((x) => x.isXdp)!;
  const machine = createMachine(obj, {});
  assert.ok(machine.validate(p.name).some((e) => /is not modelled by XDP Lens/.test(e.message)) || p.kfuncs?.some((k) => k.unmodelled),
    'the simulator does not model these kfuncs (else this test tests nothing)');
  const r = refusalsBeforeRun(obj, p, machine);
  assert.deepEqual(r.map((x) => x.message), []);
});
