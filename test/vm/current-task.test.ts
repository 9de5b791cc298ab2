// bpf_get_current_uid_gid and bpf_get_cgroup_classid, which the 6.18 kernel lets XDP programs call (the simulator
// faulted on them as not supported): the task a packet interrupts, or the one running a test run, is root's and in no
// net_cls cgroup, so both are 0 (a run as root; XDP Lens models that host). Against the kernel, both engines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { ENGINES } from '../../simulator/vm/machine.ts';
import { assertAgreesWithKernel, compileTestSource, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __s64 o[3];
  o[0] = bpf_get_current_uid_gid();
  o[1] = bpf_get_cgroup_classid((void *)ctx);
  o[2] = 0x1234;
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('bpf_get_current_uid_gid and bpf_get_cgroup_classid answer 0 for root, as the kernel does', (t) => {
  if (kernelOrSkip(t)) return;
  const p = new Uint8Array(64);
  p[12] = 0x08;
  const kernel = assertAgreesWithKernel('current-task', SOURCE, [p, p]);
  assert.equal(kernel.results[0]!.retval, 3);
  assert.equal(i64(kernel.results[0]!.out, 2), 0x1234);
});

// Helpers whose answer is the current task's (pid/tgid, comm, cgroup id): the 6.18 kernel loads and runs them in XDP,
// but their values belong to the process running the test run. The simulator cannot know them; its fault says so.
const TASK_SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int HELPER_PROG(struct xdp_md *ctx) {
  char comm[16];
  __u64 v = CALL;
  return v == 0x7fffffffffffffffULL ? XDP_DROP : XDP_PASS;
}
`;

for (const [id, call] of [[14, 'bpf_get_current_pid_tgid()'], [16, 'bpf_get_current_comm(comm, sizeof(comm))'], [80, 'bpf_get_current_cgroup_id()']] as const) {
  test(`helper ${id} (${call.split('(')[0]}) loads in the kernel; the simulator's fault says its answer is the current task's`, (t) => {
    if (kernelOrSkip(t)) return;
    const src = TASK_SOURCE.replace('HELPER_PROG', 'prog').replace('CALL', call);
    const { path, objectPath } = compileTestSource(`task-${id}`, src);
    const p = new Uint8Array(64);
    const kernel = runKernel(objectPath, 'prog', [p], { objectName: defaultObjectName(path) });
    assert.equal(kernel.results[0]!.retval, 2, 'the kernel runs it');
    for (const engine of ENGINES) {
      const r = new Session(loadProgramFile(objectPath), { program: 'prog', engine }).runPacket(p);
      assert.equal(r.fault?.kind, 'unsupported-helper', engine);
      assert.match(r.fault!.message, new RegExp(`helper ${id} .*not supported: its answer is the current task's .*which XDP Lens cannot know`), engine);
    }
  });
}
