// A map of a type the helper does not take, reaching the call through conditional jumps (vm/helper-impl/static-args.ts
// wrongMapAcrossJumps): `run` reports it before the first packet when a path from the program's entry to the call
// exists that the verifier certainly walks (every test on it a packet byte against a constant that some byte value
// passes, bounds checks on their in-bounds side). Tests the verifier decides (the same byte tested twice so that no
// value passes both, a const volatile set to 0) hide the wrong map and the kernel loads the program: not reported.
// Every variant is also loaded into the running kernel.
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
struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 4); __type(value, __u32); } q SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_BLOOM_FILTER); __uint(max_entries, 16); __type(value, __u32); } bf SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } h SEC(".maps");
const volatile int use_bloom = 0;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if ((void *)(d + 4) > end) return XDP_PASS;
  __u32 out = 0;
#if V == 1
  void *m = d[0] ? (void *)&q : (void *)&bf;
  switch (d[1]) {
  case 1: bpf_map_pop_elem(m, &out); break; /* E */
  case 2: bpf_map_peek_elem(m, &out); break;
  }
#elif V == 2
  __u8 c = *(volatile __u8 *)d;
  void *m = c < 10 ? (void *)&q : (void *)&bf;
  if (*(volatile __u8 *)(d + 2) == 7) out = 9;
  if (c < 5) bpf_map_pop_elem(m, &out);
#elif V == 3
  void *m = use_bloom ? (void *)&bf : (void *)&q;
  if (d[1] == 1) bpf_map_pop_elem(m, &out);
#elif V == 4
  void *m = d[0] > 200 ? (void *)&bf : (void *)&q;
  if (d[3] != 0) out = 1;
  if (d[1] == 1) bpf_map_pop_elem(m, &out); /* E */
#elif V == 5
  __u32 k = 0, *x = bpf_map_lookup_elem(&h, &k);
  if (x && d[2] > 3) bpf_map_push_elem(&h, &k, 0); /* E */
#endif
  return out & 3;
}
`;

interface Case { v: number; kernel?: string }
const CASES: Case[] = [
  { v: 1, kernel: 'cannot pass map_type 30 into func bpf_map_pop_elem#88' },
  { v: 2 },
  { v: 3 },
  { v: 4, kernel: 'cannot pass map_type 30 into func bpf_map_pop_elem#88' },
  { v: 5, kernel: 'cannot pass map_type 1 into func bpf_map_push_elem#87' },
];

function markedLine(v: number): number {
  const lines = SOURCE.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^#(el)?if V == ${v}$`).test(l));
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('#'); i++) if (lines[i]!.includes('/* E */')) return i + 1;
  return -1;
}

test('run reports a map of the wrong type reaching a map helper through jumps the verifier walks, and not through jumps it decides', () => {
  for (const opt of ['-O2', '-O1']) {
    for (const c of CASES) {
      const flags = [`-DV=${c.v}`, opt];
      const { path } = compileTestSource(`mappath${c.v}${opt}`, SOURCE, flags);
      const obj = loadProgramFile(path, { clangFlags: flags });
      const program = obj.programs.find((p) => p.name === 'prog')!;
      const r = refusalsBeforeRun(obj, program, createMachine(obj, {})).filter((x) => x.rule === 'helper-arg');
      if (c.kernel) {
        assert.equal(r.length, 1, `V=${c.v} ${opt}: reported`);
        assert.equal(r[0]!.line, markedLine(c.v), `V=${c.v} ${opt}: line`);
        assert.ok(r[0]!.message.includes(c.kernel), `V=${c.v} ${opt}: ${r[0]!.message}`);
      } else assert.deepEqual(r, [], `V=${c.v} ${opt}: not reported`);
    }
  }
});

test('the kernel agrees: the reported variants are refused with the message quoted, the others load', (t) => {
  if (kernelOrSkip(t)) return;
  for (const opt of ['-O2', '-O1']) for (const c of CASES) {
    const { objectPath } = compileTestSource(`kmappath${c.v}${opt}`, SOURCE, [`-DV=${c.v}`, opt]);
    const refusal = kernelRefusal(objectPath, 'prog');
    if (c.kernel) assert.ok(refusal.includes(c.kernel), `V=${c.v} ${opt}: kernel says ${refusal.slice(-300)}`);
    else assert.equal(refusal, '', `V=${c.v} ${opt} loads`);
  }
});
