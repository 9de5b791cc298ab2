// The compiled engine's map lookups whose key is `r2 = r10; r2 += K` in the call's block (compiled/engine.ts stackKey:
// the key read from the frame's locals, no region checks) and its stack accesses through the frame's locals (FRAME,
// re-read after a bpf-to-bpf call and its return): the kernel and both engines agree on keys at the bottom and the
// top of the frame, in a called function's own frame, written and not; the engines agree under budgets ending
// part-way (the blocks an lddw no longer cuts) and on a key never written (the uninitialised read's record).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, compileTestSource } from './kernel-agree.ts';
import { engineDifferences } from './engine-differences.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { generate } from '../../simulator/vm/compiled/engine.ts';

const MAPS = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } pc SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 32); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
`;

const SOURCE = MAPS + `
/* A function with a frame of its own: its key is at its r10 - 4, the caller's frame untouched. */
static __attribute__((noinline)) int sub(__u32 k) {
  __u32 key = k & 7;
  __u64 *v = bpf_map_lookup_elem(&pc, &key);
  if (!v) return 1;
  *v += k;
  return 0;
}
SEC("xdp") int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 8 > end) return XDP_ABORTED;
  __u8 *p = data;
  /* Keys across the whole frame: the first (r10 - 512) and the last words. */
  volatile __u32 keys[118];
  keys[0] = p[0] & 63;
  keys[117] = p[1];
  keys[60] = p[2] & 31;
  __u64 *v = bpf_map_lookup_elem(&arr, (void *)&keys[0]);
  if (v) *v += 1;
  v = bpf_map_lookup_elem(&arr, (void *)&keys[117]);
  if (v) *v += 2;
  int r = sub(p[3]);
  /* After the call returns: the caller's frame again. */
  v = bpf_map_lookup_elem(&h, (void *)&keys[60]);
  if (v) *v += 1;
  else { __u64 one = 1; bpf_map_update_elem(&h, (void *)&keys[60], &one, BPF_ANY); }
  return r ? XDP_DROP : keys[0] < 32 ? XDP_PASS : XDP_TX;
}
char _l[] SEC("license") = "GPL";
`;

/** A key never written (engines only: what the kernel reads there is whatever its stack held). */
const UNWRITTEN = MAPS + `
SEC("xdp") int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 8 > end) return XDP_ABORTED;
  __u32 k;
  asm volatile("" : "=m"(k));
  __u64 *v = bpf_map_lookup_elem(&arr, &k);
  return v ? XDP_PASS : XDP_DROP;
}
char _l[] SEC("license") = "GPL";
`;

/** Packets from a fixed seed. */
function packets(): Uint8Array[] {
  let x = 0x5eed1;
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
  return Array.from({ length: 48 }, (_, i) => new Uint8Array(i % 11 === 0 ? 14 : 32).map(() => next()));
}


test('lookups with the key at r10 + K: the kernel and both engines agree (frame bottom and top, a callee frame)', (t) => {
  const { path } = compileTestSource('stack_key_gen', SOURCE);
  const src = generate(loadProgramFile(path).programs.find((p) => p.name === 'prog')!, undefined).source;
  // The path this is about: lookups reading their key from the frame's locals (slot 0 is r10 - 512), one near the
  // frame's bottom and one at its top.
  const slots = [...src.matchAll(/\(d !== undefined && \(mem\.uninitRead !== undefined \|\| fI\.getUint32\((\d+)\)/g)].map((m) => Number(m[1]));
  assert.ok(slots.length >= 2 && Math.min(...slots) < 64 && Math.max(...slots) >= 480, `stack-key lookups at slots ${slots}`);
  if (kernelOrSkip(t)) return;
  const kernel = assertAgreesWithKernel('stack_key', SOURCE, packets());
  const verdicts = new Set(kernel.results.map((r) => r.retval));
  assert.ok(verdicts.has(2) && verdicts.has(3), `verdicts ${[...verdicts]}`);
});

test('lookups with the key at r10 + K: the engines agree under budgets ending part-way and on a key never written', () => {
  const { path } = compileTestSource('stack_key_budget', SOURCE);
  const list = packets();
  const problems: string[] = [];
  for (const budget of [2, 7, 12, 19, 26, 33, 40, 47, 54, 61, 75]) problems.push(...engineDifferences(path, { program: 'prog', budget }, list.slice(0, 12), `budget ${budget}`));
  problems.push(...engineDifferences(path, { program: 'prog', nrCpus: 2, cpu: 1 }, list, 'cpu 1/2'));
  const u = compileTestSource('stack_key_unwritten', UNWRITTEN).path;
  problems.push(...engineDifferences(u, { program: 'prog' }, list.slice(0, 6), 'unwritten key'));
  const run = new Session(loadProgramFile(u), { program: 'prog', engine: 'compiled' }).runPacket(list[1]!);
  assert.ok(run.run.uninitStackRead, 'the unwritten key is reported as an uninitialised read');
  assert.deepEqual(problems.slice(0, 5), []);
});
