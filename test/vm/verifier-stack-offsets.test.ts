// Variable offsets the verifier checks by their range (simulator/verifier-bounds.ts): a stack array indexed by a
// number whose largest value reaches past the array's frame ("invalid variable-offset read from stack"), an index
// checked one too far (`i > N` for N elements: the range after the branch is the verifier's), and indexes made of a
// division, a modulo or a shift by a register, which the verifier does not track ("math between fp pointer and register
// with unbounded min value"). Each refused variant is reported before the first packet on the line the verifier stops
// at, quoting its message; the near misses (masked, checked, bytes never written: root may read them) are not. Every
// variant is loaded into the running kernel too: refused with the quoted message, or loaded.
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
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64[8]); } a SEC(".maps");
#define LOOKUP __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&a, &k); if (!v) return 0;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 8 > end) return XDP_PASS;
#if V == 1
  char buf[16] = {};
  buf[1] = data[1];
  return buf[data[0]]; /* E */
#elif V == 2
  char buf[16] = {};
  buf[1] = data[1];
  return buf[data[0] & 15];
#elif V == 3
  char buf[16];
  buf[1] = data[1];
  return buf[data[0] & 15];
#elif V == 4
  char buf[16] = {};
  buf[1] = data[1];
  __u8 i = data[0];
  if (i >= 16) return 0;
  return buf[i];
#elif V == 5
  char buf[16] = {};
  buf[1] = data[1];
  __u8 i = data[0];
  if (i > 16) return 0;
  return buf[i]; /* E */
#elif V == 6
  char buf[256] = {};
  buf[1] = data[1];
  return buf[data[0]];
#elif V == 7
  char buf[16] = {};
  buf[data[0]] = 1; /* E */
  return buf[2];
#elif V == 8
  char buf[16] = {};
  buf[data[0] & 15] = 1;
  return buf[2];
#elif V == 9
  LOOKUP
  __u8 i = data[0];
  if (i > 8) return 0;
  return v[i]; /* E */
#elif V == 10
  LOOKUP
  __u8 i = data[0];
  if (i >= 8) return 0;
  return v[i];
#elif V == 11
  __u32 buf[8] = {};
  __u16 i = *(__u16 *)data;
  if (i <= 8) return buf[i]; /* E */
  return 0;
#elif V == 12
  __u32 buf[8] = {};
  __u16 i = *(__u16 *)data;
  if (i < 8) return buf[i];
  return 0;
#elif V == 13
  char buf[64] = {};
  __u8 i = data[0];
  if (i < 10 || i > 74) return 0;
  return buf[i - 10]; /* E */
#elif V == 14
  char buf[64] = {};
  __u8 i = data[0];
  if (i < 10 || i > 70) return 0;
  return buf[i - 10];
#elif V == 15
  char buf[16] = {};
  __u64 i = data[0];
  return buf[i % 17]; /* E */
#elif V == 16
  char buf[16] = {};
  __u64 i = data[0];
  return buf[(i % 17) & 15];
#elif V == 17
  LOOKUP
  __u32 i = *(__u32 *)data;
  return v[i % 10]; /* E */
#elif V == 18
  LOOKUP
  __u32 i = *(__u32 *)data;
  return v[(i % 10) & 7];
#elif V == 19
  LOOKUP
  __u64 i = data[0];
  return v[i / 3]; /* E */
#elif V == 20
  char buf[16] = {};
  __u64 i = data[0], s = data[1];
  return buf[i >> s]; /* E */
#elif V == 21
  LOOKUP
  __u64 i = data[0], s = data[1];
  return v[(i << s) & 7];
#elif V == 22
  char buf[16] = {};
  __u32 i = data[0];
  return buf[i % 16];
#endif
}
`;

const errorLine = SOURCE.split('\n').map((l) => l.includes('/* E */'));

interface Case { v: number; kernel?: string }
const CASES: Case[] = [
  { v: 1, kernel: 'invalid variable-offset read from stack R2 var_off=(0x0; 0xff) off=-16 size=1' },
  { v: 2 },
  { v: 3 },
  { v: 4 },
  { v: 5, kernel: 'invalid variable-offset read from stack R2 var_off=(0x0; 0x1f) off=-16 size=1' },
  { v: 6 },
  { v: 7, kernel: 'invalid variable-offset write to stack' },
  { v: 8 },
  { v: 9, kernel: 'max value is outside of the allowed memory range' },
  { v: 10 },
  { v: 11, kernel: 'invalid variable-offset read from stack R2 var_off=(0x0; 0x3c) off=-32 size=4' },
  { v: 12 },
  { v: 13, kernel: 'invalid variable-offset read from stack R1 var_off=(0x0; 0x7f) off=-74 size=1' },
  { v: 14 },
  { v: 15, kernel: 'math between fp pointer and register with unbounded min value is not allowed' },
  { v: 16 },
  { v: 17, kernel: 'math between map_value pointer and register with unbounded min value is not allowed' },
  { v: 18 },
  { v: 19, kernel: 'math between map_value pointer and register with unbounded min value is not allowed' },
  { v: 20, kernel: 'math between fp pointer and register with unbounded min value is not allowed' },
  { v: 21 },
  { v: 22 },
];

/** The source line of variant v's marked instruction (the one inside its #if block). */
function markedLine(v: number): number {
  const lines = SOURCE.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^#(el)?if V == ${v}$`).test(l));
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('#'); i++) if (errorLine[i]) return i + 1;
  return -1;
}

test('run reports variable stack offsets past the frame and indexes the verifier cannot bound, on their line, and not the near misses', () => {
  for (const c of CASES) {
    const flags = [`-DV=${c.v}`];
    const { path } = compileTestSource(`stackoff${c.v}`, SOURCE, flags);
    const obj = loadProgramFile(path, { clangFlags: flags });
    const program = obj.programs.find((p) => p.name === 'prog')!;
    const r = refusalsBeforeRun(obj, program, createMachine(obj, {}));
    if (c.kernel) {
      assert.equal(r.length, 1, `V=${c.v}: reported ${JSON.stringify(r)}`);
      assert.equal(r[0]!.rule, 'unbounded');
      assert.equal(r[0]!.line, markedLine(c.v), `V=${c.v}: line`);
      assert.ok(r[0]!.message.includes(c.kernel), `V=${c.v}: ${r[0]!.message}`);
    } else assert.deepEqual(r, [], `V=${c.v}: not reported`);
  }
});

test('the kernel agrees: the reported variants are refused with the message quoted, the near misses load', (t) => {
  if (kernelOrSkip(t)) return;
  for (const c of CASES) {
    const { objectPath } = compileTestSource(`kstackoff${c.v}`, SOURCE, [`-DV=${c.v}`]);
    const refusal = kernelRefusal(objectPath, 'prog');
    if (c.kernel) assert.ok(refusal.includes(c.kernel), `V=${c.v}: kernel says ${refusal.slice(-300)}`);
    else assert.equal(refusal, '', `V=${c.v} loads`);
  }
});

// The verifier's own forms (inline assembly): a 32-bit division, a division of two constants, a 32-bit shift by a
// register and a division by 1 all leave any 64-bit value; a masked byte does not.
const ASM = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp") __attribute__((naked)) int prog(void) {
  asm volatile(
    "r0 = 0\\n"
    "r2 = *(u32 *)(r1 + 0)\\n"
    "r3 = *(u32 *)(r1 + 4)\\n"
    "r4 = r2\\n"
    "r4 += 8\\n"
    "if r4 > r3 goto 1f\\n"
    "r5 = *(u32 *)(r2 + 0)\\n"
    "r7 = *(u8 *)(r2 + 4)\\n"
    "*(u64 *)(r10 - 8) = r0\\n"
    "*(u64 *)(r10 - 16) = r0\\n"
#if V == 1
    "w5 /= 10\\n"
#elif V == 2
    "r5 = 100\\n"
    "r5 /= 10\\n"
#elif V == 3
    "w5 <<= w7\\n"
#elif V == 4
    "r5 &= 15\\n"
    "r5 /= 1\\n"
#else
    "r5 &= 15\\n"
#endif
    "r6 = r10\\n"
    "r6 += -16\\n"
    "r6 += r5\\n"
    "r0 = *(u8 *)(r6 + 0)\\n"
    "1: exit\\n");
}
`;

test("divisions and shifts by a register give any value (the verifier's own forms), a mask does not; the kernel agrees", (t) => {
  const unbounded = 'math between fp pointer and register with unbounded min value is not allowed';
  const kernel = !kernelOrSkip(t);
  for (const v of [1, 2, 3, 4, 5]) {
    const flags = [`-DV=${v}`];
    const { path, objectPath } = compileTestSource(`stackoffasm${v}`, ASM, flags);
    const obj = loadProgramFile(path, { clangFlags: flags });
    const program = obj.programs.find((p) => p.name === 'prog')!;
    const r = refusalsBeforeRun(obj, program, createMachine(obj, {}));
    if (v < 5) {
      assert.equal(r.length, 1, `V=${v}: reported`);
      assert.ok(r[0]!.message.includes(unbounded), r[0]!.message);
    } else assert.deepEqual(r, [], 'the masked byte is not reported');
    if (kernel) {
      const k = kernelRefusal(objectPath, 'prog');
      if (v < 5) assert.ok(k.includes(unbounded), `V=${v}: kernel says ${k.slice(-300)}`);
      else assert.equal(k, '', 'the masked byte loads');
    }
  }
});

// The verifier's 1,000,000-instruction limit on its first path, which it walks without pruning anything: a loop of 20
// instructions per iteration with a constant counter and no test of data is refused at 50,000 iterations ("BPF program
// is too large. Processed 1000001 insn") and loads at 48,000 (960,000 instructions and a few).
const BIG = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64[64]); } a SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 64 > end) return XDP_PASS;
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&a, &k);
  if (!v) return 0;
  __u64 cnt = 0;
  for (int i = 0; i < N; i++) cnt += v[i & 63] * 3 + (data[i & 63] ^ 5); /* E */
  return cnt & 1;
}
`;

test('a first path longer than 1,000,000 instructions is refused as too large on the loop, one just under it is not; the kernel agrees', (t) => {
  const kernel = !kernelOrSkip(t);
  const line = BIG.split('\n').findIndex((l) => l.includes('/* E */')) + 1;
  for (const [n, refused] of [[50000, true], [48000, false]] as const) {
    const flags = [`-DN=${n}`];
    const { path, objectPath } = compileTestSource(`toolarge${n}`, BIG, flags);
    const obj = loadProgramFile(path, { clangFlags: flags });
    const program = obj.programs.find((p) => p.name === 'prog')!;
    const r = refusalsBeforeRun(obj, program, createMachine(obj, {})).filter((x) => x.rule === 'too-complex' || x.rule === 'too-large');
    if (refused) {
      assert.equal(r.length, 1, `N=${n}: ${JSON.stringify(r)}`);
      assert.equal(r[0]!.line, line);
      assert.match(r[0]!.message, /BPF program is too large\. Processed 1000001 insn/);
    } else assert.deepEqual(r, [], `N=${n}: not reported`);
    if (kernel) {
      const k = kernelRefusal(objectPath, 'prog');
      if (refused) assert.match(k, /BPF program is too large\. Processed 1000001 insn/);
      else assert.equal(k, '', `N=${n}: loads`);
    }
  }
});
