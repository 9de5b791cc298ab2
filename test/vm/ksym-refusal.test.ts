// bpf_per_cpu_ptr / bpf_this_cpu_ptr take a typed __ksym: a per-CPU variable of the kernel. XDP may call them on 6.18,
// but the verifier looks the variable's address up in kallsyms, and the 6.18 kernel the results are checked against is
// built without CONFIG_KALLSYMS_ALL (its kallsyms lists no variables): it refuses every such program. The simulator
// cannot know a kernel variable's value either; it refuses to load the program with a message that says both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { KernelLoadError, defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
extern const int bpf_prog_active __ksym;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  const int *here = bpf_this_cpu_ptr(&bpf_prog_active);
  const int *cpu0 = bpf_per_cpu_ptr(&bpf_prog_active, 0);
  if (!cpu0) return XDP_ABORTED;
  return *here + *cpu0 ? XDP_DROP : XDP_PASS;
}
`;

test('a program reading a kernel per-CPU variable (bpf_this_cpu_ptr, bpf_per_cpu_ptr) is refused by 6.18 and by the simulator, which says why', (t) => {
  if (kernelOrSkip(t)) return;
  const { path, objectPath } = compileTestSource('ksym-percpu', SOURCE);
  const p = new Uint8Array(64);
  assert.throws(() => runKernel(objectPath, 'prog', [p], { objectName: defaultObjectName(path) }), (e: unknown) => {
    assert.ok(e instanceof KernelLoadError, String(e));
    assert.match(e.log, /ldimm64 failed to find the address for kernel symbol 'bpf_prog_active'/);
    return true;
  });
  assert.throws(() => new Session(loadProgramFile(objectPath), { program: 'prog' }), (e: unknown) => {
    const m = (e as Error).message;
    assert.match(m, /kernel variable 'bpf_prog_active' \(a typed __ksym/);
    assert.match(m, /the 6\.18 kernel refuses the program too/);
    assert.match(m, /ksym-percpu\.bpf\.c:\d+/, 'the message names the source line');
    return true;
  });
});
