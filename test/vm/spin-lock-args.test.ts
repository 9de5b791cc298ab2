// bpf_spin_lock / bpf_spin_unlock's and bpf_timer_init's argument, as the verifier checks it (process_spin_lock,
// process_timer_func): a lock on the stack, in a map whose value holds none, at another offset of the value, or in a
// map libbpf had to create without BTF (a PERCPU_ARRAY value with a bpf_timer) is refused, each with the kernel's own
// words, and the simulator faults the packet that reaches the call with them (a fault that proves a refusal). A lock
// or timer used right loads and runs on both engines. Each program is also loaded by the kernel. Found with our own
// programs after the bpf_spin_lock map values of smartnic/bpf-profile's xdp_hhd_v5.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelLoadError, defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { ENGINES } from '../../simulator/vm/machine.ts';
import { compileTestSource } from './kernel-agree.ts';

const HEAD = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char _license[] SEC("license") = "GPL";
struct lv { __u64 n; struct bpf_spin_lock l; __u32 tail; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct lv); } al SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64[3]); } plain SEC(".maps");
struct tv { struct bpf_timer t; __u64 n; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, struct tv); } ta SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, struct tv); } tp SEC(".maps");
SEC("xdp") int prog(struct xdp_md *ctx) {
  __u32 k = 0;
  struct lv *v = bpf_map_lookup_elem(&al, &k);
  __u64 *p = bpf_map_lookup_elem(&plain, &k);
  struct tv *t = bpf_map_lookup_elem(&ta, &k), *u = bpf_map_lookup_elem(&tp, &k);
  struct bpf_spin_lock s = {};
  if (!v || !p || !t || !u) return XDP_PASS;
`;

const CASES: { name: string; body: string; kernel?: RegExp }[] = [
  { name: 'right', body: 'bpf_spin_lock(&v->l); v->n++; bpf_spin_unlock(&v->l);' },
  { name: 'offset', body: 'bpf_spin_lock((void *)&v->tail); bpf_spin_unlock((void *)&v->tail);', kernel: /off 12 doesn't point to 'struct bpf_spin_lock' that is at 8/ },
  { name: 'no-lock-map', body: 'bpf_spin_lock((void *)p); bpf_spin_unlock((void *)p);', kernel: /map 'plain' has no valid bpf_spin_lock/ },
  { name: 'stack', body: 'bpf_spin_lock(&s); bpf_spin_unlock(&s);', kernel: /R1 type=fp expected=map_value/ },
  { name: 'timer', body: 'if (bpf_timer_init(&t->t, &ta, 1)) return XDP_DROP;' },
  { name: 'timer-offset', body: 'bpf_timer_init((void *)&t->n - 8, &ta, 1);', kernel: /off 8 doesn't point to 'struct bpf_timer' that is at 0/ },
  { name: 'timer-no-timer-map', body: 'bpf_timer_init((void *)p, &plain, 1);', kernel: /map 'plain' has no valid bpf_timer/ },
  { name: 'timer-percpu', body: 'bpf_timer_init(&u->t, &tp, 1);', kernel: /map 'tp' has to have BTF in order to use bpf_timer/ },
];

test('bpf_spin_lock and bpf_timer arguments: refused with the kernel\'s reason on the stack, in a map without one, off the field, in a map without BTF', (t) => {
  if (kernelOrSkip(t)) return;
  const frame = new Uint8Array(64);
  frame[12] = 0x08;
  for (const c of CASES) {
    const { path, objectPath } = compileTestSource(`spin-lock-${c.name}`, `${HEAD}  ${c.body}\n  return XDP_TX;\n}\n`);
    let refused = '';
    try {
      const k = runKernel(objectPath, 'prog', [frame], { objectName: defaultObjectName(path) });
      assert.equal(k.results[0]!.retval, 3, `${c.name}: the kernel ran it to XDP_TX`);
    } catch (e) {
      assert.ok(e instanceof KernelLoadError, String(e));
      refused = e.log;
    }
    if (c.kernel) assert.match(refused, c.kernel, `${c.name}: the kernel refuses it`);
    else assert.equal(refused, '', `${c.name}: the kernel loads it`);
    const obj = loadProgramFile(objectPath);
    for (const engine of ENGINES) {
      const r = new Session(obj, { program: 'prog', engine }).runPacket(frame);
      if (!c.kernel) {
        assert.equal(r.fault, undefined, `${c.name} ${engine}: ${r.fault?.message}`);
        assert.equal(r.retval, 3);
      } else {
        assert.equal(r.fault?.kind, 'helper-misuse', `${c.name} ${engine}: ${r.fault?.message}`);
        assert.match(r.fault!.message, c.kernel, `${c.name} ${engine}: the kernel's words`);
      }
    }
  }
});
