// A map value's bpf_spin_lock or bpf_timer reached through a variable offset (simulator/verifier-bounds.ts): the
// verifier refuses any load or store whose possible bytes (the index's range, which is its own) overlap the field
// ("bpf_spin_lock cannot be accessed directly by load/store"), even though some indexes miss it. `run` reports it
// before the first packet on the access's line; an index that keeps off the field (masked into an array after it, or
// checked to start past it) is not reported. Every variant is loaded into the running kernel too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { checkRefusalVariants, type RefusalCase } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct val { struct bpf_spin_lock lock; __u32 pad; char data[16]; };
struct val2 { char data[16]; struct bpf_timer t; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct val); } a SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, struct val2); } h SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 8 > end) return XDP_PASS;
  __u32 k = 0;
#if V <= 4
  struct val *v = bpf_map_lookup_elem(&a, &k);
#else
  struct val2 *v = bpf_map_lookup_elem(&h, &k);
#endif
  if (!v) return 0;
#if V == 1
  return ((char *)v)[data[0] & 15]; /* E */
#elif V == 2
  return v->data[data[0] & 15];
#elif V == 3
  ((char *)v)[data[0] & 7] = 1; /* E */
  return 0;
#elif V == 4
  __u8 i = data[0];
  if (i < 4 || i > 20) return 0;
  return ((char *)v)[i];
#elif V == 5
  return v->data[data[0] & 31]; /* E */
#elif V == 6
  return v->data[data[0] & 15];
#endif
}
`;

const CASES: RefusalCase[] = [
  { v: 1, kernel: 'bpf_spin_lock cannot be accessed directly by load/store' },
  { v: 2 },
  { v: 3, kernel: 'bpf_spin_lock cannot be accessed directly by load/store' },
  { v: 4 },
  { v: 5, kernel: 'bpf_timer cannot be accessed directly by load/store' },
  { v: 6 },
];


test('a special field a variable offset may reach is reported on the access, not an index kept off it; the kernel agrees', (t) => {
  checkRefusalVariants(t, 'specialvar', SOURCE, CASES, { rule: 'special-field' });
});

// The same rule at a constant offset through a pointer that went through a stack slot (`volatile` makes clang spill
// it): the straight-line trace of vm/helper-impl/special-access.ts loses it there, the bounds walk follows it.
const SPILLED = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct val { __u32 a; struct bpf_spin_lock lock; __u32 b; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct val); } m SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u32 k = 0;
  struct val *v = bpf_map_lookup_elem(&m, &k);
  if (!v) return 0;
  struct val *volatile slot = v;
  struct val *w = slot;
#if V == 1
  return *((__u32 *)w + 1); /* E */
#elif V == 2
  return *((__u32 *)w + 2);
#elif V == 3
  return *(__u64 *)w; /* E */
#elif V == 4
  bpf_spin_lock(&w->lock);
  w->a++;
  bpf_spin_unlock(&w->lock);
  return 0;
#endif
}
`;

test('a special field read through a spilled value pointer is reported, the fields beside it and the lock helpers are not; the kernel agrees', (t) => {
  const kernel = !kernelOrSkip(t);
  const lines = SPILLED.split('\n');
  for (const [v, refused] of [[1, true], [2, false], [3, true], [4, false]] as const) {
    const flags = [`-DV=${v}`];
    const { path, objectPath } = compileTestSource(`specialspill${v}`, SPILLED, flags);
    const obj = loadProgramFile(path, { clangFlags: flags });
    const program = obj.programs.find((p) => p.name === 'prog')!;
    const r = refusalsBeforeRun(obj, program, createMachine(obj, {}));
    if (refused) {
      const start = lines.findIndex((l) => l === `#${v === 1 ? '' : 'el'}if V == ${v}`);
      assert.equal(r.length, 1, `V=${v}: ${JSON.stringify(r)}`);
      assert.equal(r[0]!.rule, 'special-field');
      assert.equal(r[0]!.line, start + 2, `V=${v}: line`);
      assert.ok(r[0]!.message.includes('bpf_spin_lock cannot be accessed directly by load/store'), r[0]!.message);
    } else assert.deepEqual(r, [], `V=${v}: not reported`);
    if (kernel) {
      const k = kernelRefusal(objectPath, 'prog');
      if (refused) assert.ok(k.includes('bpf_spin_lock cannot be accessed directly by load/store'), `V=${v}: kernel says ${k.slice(-300)}`);
      else assert.equal(k, '', `V=${v}: loads`);
    }
  }
});
