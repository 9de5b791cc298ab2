// A kfunc the simulator does not model (bpf_task_from_pid, bpf_task_release; this test used the list kfuncs until
// they were modelled) is the simulator's limit, not a verifier refusal: the 6.18 kernel loads this program, so the refusals known before the first packet must not name
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
struct task_struct { int pid; };
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
long found;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct task_struct *t = bpf_task_from_pid(1);
  if (!t) return XDP_DROP;
  found++;
  bpf_task_release(t);
  return XDP_PASS;
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
