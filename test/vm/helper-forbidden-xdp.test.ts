// A call to a helper the kernel does not give XDP programs (bpf_probe_read, bpf_sock_map_update, the skb_* helpers,
// bpf_get_stackid, ...) makes the verifier refuse the program: "program of this type cannot use helper". The simulator
// faulted with "not supported" (or ran its implementation), which `run` does not count as a refusal. Now the fault is
// the kernel's refusal. Each case against the 6.18 kernel: refused there, a refusal here under both engines; and
// helpers XDP may call but the simulator cannot answer (the current task's) stay "not supported", not refusals. Found
// on the PREVAIL verifier's wronghelper.c (bpf_sock_map_update from an XDP program), via eBPFDevSecTools/opened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { RefusalLog } from '../../simulator/verifier-refusals.ts';
import { ENGINES } from '../../simulator/vm/machine.ts';

const source = (id: number) => `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if ((void *)(d + 16) > end) return XDP_PASS;
  if (d[0] != 0x55) return XDP_DROP;
  long (*f)(long, long, long, long, long) = (void *)${id};
  return f((long)ctx, 0, 0, 0, 0) & 3;
}
`;

// [helper id, the kernel refuses it for XDP]
const CASES: [number, boolean][] = [[4, true], [9, true], [27, true], [53, true], [104, true], [193, true], [35, false], [80, false]];

test('helpers XDP programs may not call are refused as the kernel refuses them', (t) => {
  const skip = kernelOrSkip(t);
  for (const [id, refused] of CASES) {
    const { path, objectPath } = compileTestSource(`forbidden-${id}`, source(id));
    if (!skip) {
      const log = kernelRefusal(objectPath, 'prog');
      assert.equal(/program of this type cannot use helper/.test(log), refused, `helper ${id}: kernel ${log.split('\n').slice(-4).join(' | ')}`);
    }
    for (const engine of ENGINES) {
      const session = new Session(loadProgramFile(path), { program: 'prog', engine });
      const p = new Uint8Array(64);
      p[0] = 0x55;
      const r = session.runPacket(p);
      const proved = new RefusalLog([]).fault(r.fault);
      if (refused) assert.match(proved?.message ?? '', new RegExp(`cannot use helper bpf_\\w+#${id}\\b`), `helper ${id} ${engine}`);
      else assert.equal(proved, undefined, `helper ${id} ${engine}: ${proved?.message}`);
      // A packet that does not reach the call runs as the program says.
      const q = session.runPacket(new Uint8Array(64));
      assert.equal(q.fault, undefined);
      assert.equal(q.retval, 1);
    }
  }
});
