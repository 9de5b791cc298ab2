// A function the program calls but nothing declares (clang's implicit declaration: htons without the header that
// defines it) is an undefined symbol with no BTF of its own. libbpf refuses the whole object when it collects the
// externs ("failed to find BTF for extern 'htons': -2"); the simulator refuses the program in those words, not as a
// kernel function it does not model (found on the kernel's samples/bpf xdp1/xdp2/xdp_fwd built without the kernel's
// own headers). A declared kfunc next to it is still linked.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';
import { loadObject } from '../../simulator/elf/index.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
  if (data + 14 > data_end) return XDP_PASS;
#if V == 1
  if (*(unsigned short *)(data + 12) == htons(0x0800)) return XDP_DROP;
#else
  if (!bpf_cast_to_kern_ctx(ctx)) return XDP_DROP;
#endif
  return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

test("a call to a function declared nowhere: libbpf's refusal (no BTF for the extern), not an unmodelled kfunc", (t) => {
  const { path, objectPath } = compileTestSource('extern-no-btf', `#define V 1\n${SOURCE}`);
  const { diagnostics } = loadObject(readFileSync(objectPath), path);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  assert.equal(errors.length, 1, errors.map((e) => e.message).join('\n'));
  assert.equal(errors[0]!.program, 'prog');
  assert.match(errors[0]!.message, /failed to find BTF for extern 'htons': -2": 'htons' is called but declared nowhere/);
  assert.equal(errors[0]!.loc?.line, 10); // line 9 of SOURCE, after the #define
  // A declared kfunc links as before.
  const declared = compileTestSource('extern-declared', `#define V 2\n${SOURCE}`);
  assert.deepEqual(loadObject(readFileSync(declared.objectPath), declared.path).diagnostics.filter((d) => d.severity === 'error'), []);
  if (kernelOrSkip(t)) return;
  assert.match(kernelRefusal(objectPath, 'prog'), /failed to find BTF for extern 'htons': -2/);
  assert.equal(kernelRefusal(declared.objectPath, 'prog'), '');
});
