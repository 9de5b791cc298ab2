// A load or store into a map value's special field (simulator/vm/helper-impl/special-access.ts): the kernel verifier
// refuses it wherever it is ("bpf_spin_lock cannot be accessed directly by load/store"), so `run` reports it before the
// first packet, on the access's line, in the kernel's words. The neighbouring fields, and the lock taken with the
// helpers, load and are not reported. Every variant is also loaded into the running kernel: the reported ones must be
// refused with the quoted message, the others must load (no false refusal).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct lv { __u64 n; struct bpf_spin_lock l; __u32 tail; };
struct tv { __u64 n; struct bpf_timer t; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct lv); } al SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, struct tv); } ht SEC(".maps");
struct bpf_spin_lock glock;
__u64 gcount;
const volatile int dbg = 0;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u32 k = 0;
#if V == 9
  if (dbg) {
    struct lv *w = bpf_map_lookup_elem(&al, &k);
    if (!w) return XDP_PASS;
    return *(volatile __u32 *)&w->l;
  }
  return XDP_PASS;
#elif V <= 4
  struct lv *v = bpf_map_lookup_elem(&al, &k);
  if (!v) return XDP_PASS;
#else
  struct tv *v = bpf_map_lookup_elem(&ht, &k);
  if (!v) return XDP_PASS;
#endif
#if V == 1
  return *(volatile __u32 *)&v->l; /* E */
#elif V == 2
  *(volatile __u32 *)&v->l = 1; /* E */
  return XDP_PASS;
#elif V == 3
  bpf_spin_lock(&v->l);
  v->n++;
  v->tail = 3;
  bpf_spin_unlock(&v->l);
  return v->tail & 3;
#elif V == 4
  return (*(volatile __u64 *)((char *)&v->l - 4)) & 3; /* E */
#elif V == 5
  *(volatile __u64 *)((char *)&v->t + 8) = 7; /* E */
  return XDP_PASS;
#elif V == 6
  bpf_timer_init(&v->t, &ht, 1);
  return v->n & 3;
#elif V == 7
  return *(volatile __u32 *)&glock; /* E */
#elif V == 8
  bpf_spin_lock(&glock);
  gcount++;
  bpf_spin_unlock(&glock);
  return XDP_PASS;
#endif
}
`;

interface Case { v: number; kernel?: string }
const CASES: Case[] = [
  { v: 1, kernel: 'bpf_spin_lock cannot be accessed directly by load/store' },
  { v: 2, kernel: 'bpf_spin_lock cannot be accessed directly by load/store' },
  { v: 3 },
  { v: 4, kernel: 'bpf_spin_lock cannot be accessed directly by load/store' },
  { v: 5, kernel: 'bpf_timer cannot be accessed directly by load/store' },
  { v: 6 },
  { v: 7, kernel: 'bpf_spin_lock cannot be accessed directly by load/store' },
  { v: 8 },
  // Behind a const volatile flag the verifier knows is 0: the lookup and the read are never walked.
  { v: 9 },
];

/** The source line of variant v's marked instruction (the one inside its #if block). */
function markedLine(v: number): number {
  const lines = SOURCE.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^#(el)?if V == ${v}$`).test(l));
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('#'); i++) if (lines[i]!.includes('/* E */')) return i + 1;
  return -1;
}

test('run reports a load or store into a map value\'s bpf_spin_lock or bpf_timer before the first packet, and not the other fields', () => {
  for (const opt of ['-O2', '-O1']) {
    for (const c of CASES) {
      const flags = [`-DV=${c.v}`, opt];
      const { path } = compileTestSource(`special${c.v}${opt}`, SOURCE, flags);
      const obj = loadProgramFile(path, { clangFlags: flags });
      const program = obj.programs.find((p) => p.name === 'prog')!;
      const r = refusalsBeforeRun(obj, program, createMachine(obj, {})).filter((x) => x.rule === 'special-field');
      if (c.kernel) {
        assert.equal(r.length, 1, `V=${c.v} ${opt}: reported`);
        assert.equal(r[0]!.line, markedLine(c.v), `V=${c.v} ${opt}: line`);
        assert.equal(r[0]!.file, path);
        assert.ok(r[0]!.message.startsWith(c.kernel), `V=${c.v} ${opt}: ${r[0]!.message}`);
      } else assert.deepEqual(r, [], `V=${c.v} ${opt}: not reported`);
    }
  }
});

test('the kernel agrees: the reported variants are refused with the message quoted, the others load', (t) => {
  if (kernelOrSkip(t)) return;
  for (const opt of ['-O2', '-O1']) for (const c of CASES) {
    const { objectPath } = compileTestSource(`kspecial${c.v}${opt}`, SOURCE, [`-DV=${c.v}`, opt]);
    const refusal = kernelRefusal(objectPath, 'prog');
    if (c.kernel) assert.ok(refusal.includes(c.kernel), `V=${c.v} ${opt}: kernel says ${refusal.slice(-300)}`);
    else assert.equal(refusal, '', `V=${c.v} ${opt} loads`);
  }
});
