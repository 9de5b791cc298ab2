// Ranges the bounds walk (simulator/verifier-bounds.ts) keeps where the verifier keeps them, so that a refusal later
// on is seen: a byte sign-extended by `<< 56 s>> 56` is [-128, 127] to the verifier, and comparing it with an
// unsigned byte narrows the byte on one side only (regs_refine_cond_op with two ranges); a store into a stack array at
// a variable offset leaves the slots outside its reach as they were (check_stack_write_var_off); a helper none of whose
// arguments is memory (bpf_xdp_get_buff_len) leaves the stack alone whatever r3 points to. Before, the walk forgot
// the range in each case and reported nothing where the kernel refuses (sfuzz seed 541100005 -Os -mcpu=v1 has all
// three before its refused `data + off + q`). Each variant is loaded into the running kernel too: the refused ones
// are refused with the message run quotes, on the marked line; their twins load and run reports nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { generateSProgram } from '../fuzz/sgen.ts';
import { withGenForbidden } from '../fuzz/kernel-build.ts';
import { XDP_FORBIDDEN_HELPERS_618 } from '../../simulator/vm/helpers.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
__attribute__((naked)) int prog(struct xdp_md *ctx) {
  asm volatile("r6 = r1; r2 = *(u32 *)(r6 + 0); r3 = *(u32 *)(r6 + 4); r4 = r2; r4 += 8; if r4 > r3 goto 1f;");
  asm volatile("r7 = *(u8 *)(r2 + 0); r8 = *(u16 *)(r2 + 2);");
#if V <= 3
  asm volatile("r8 <<= 56; r8 s>>= 56;");
#if V == 1
  asm volatile("if r8 s>= r7 goto 1f;");
  asm volatile("r1 = r10; r1 += -128; r1 += r7; r0 = *(u8 *)(r1 + 0); exit;"); /* E */
#elif V == 2
  asm volatile("if r8 s< r7 goto 1f;");
  asm volatile("r1 = r10; r1 += -128; r1 += r7; r0 = *(u8 *)(r1 + 0); exit;");
#else
  asm volatile("if r8 s< r7 goto 1f;");
  asm volatile("r1 = r10; r1 += -127; r1 += r7; r0 = *(u8 *)(r1 + 0); exit;"); /* E */
#endif
#else
#if V == 5 || V == 7
  asm volatile("r8 &= 127;");
#endif
  asm volatile("*(u64 *)(r10 - 8) = r8; r7 &= 0x38;");
#if V <= 5
  asm volatile("r1 = r10; r1 += -128; r1 += r7; r4 = 0; *(u64 *)(r1 + 0) = r4;");
#else
  asm volatile("r3 = r10; r3 += -64; r1 = r6; call 188;");
#endif
  asm volatile("r8 = *(u64 *)(r10 - 8); r1 = r10; r1 += -200; r1 += r8; r0 = *(u8 *)(r1 + 0); exit;"); /* E */
#endif
  asm volatile("1: r0 = 2; exit;");
}
`;

/** V -> the verifier's words (refused) or undefined (loads). */
const CASES: { v: number; kernel?: string }[] = [
  // The fall-through side of `s8 >= u8`: the byte stays [0, 255]; 255 bytes past fp-128 is past the frame.
  { v: 1, kernel: 'invalid variable-offset read from stack R1 var_off=(0x0; 0xff) off=-128 size=1' },
  // The jump side of `s8 < u8` is `u8 <= s8`: [0, 127], inside fp-128 .. fp-1.
  { v: 2 },
  // The same at fp-127: 127 reaches fp+0.
  { v: 3, kernel: 'invalid variable-offset read from stack R1 var_off=(0x0; 0x7f) off=-127 size=1' },
  // A u16 spilled at fp-8, a store at fp-128 + (0..56): the spill is still [0, 65535].
  { v: 4, kernel: 'invalid variable-offset read from stack R1 var_off=(0x0; 0xffff) off=-200 size=1' },
  { v: 5 },
  // The same across bpf_xdp_get_buff_len(ctx) with r3 = fp-64.
  { v: 6, kernel: 'invalid variable-offset read from stack R1 var_off=(0x0; 0xffff) off=-200 size=1' },
  { v: 7 },
];

const markedLine = (v: number): number => {
  const lines = SOURCE.split('\n');
  // The marked line of the branch of #if that V selects (the preprocessor's choice, by hand).
  const marks = lines.map((l, i) => (l.includes('/* E */') ? i + 1 : 0)).filter((x) => x);
  return v === 1 ? marks[0]! : v === 3 ? marks[1]! : marks[2]!;
};

function reported(path: string, flags: string[]) {
  const obj = loadProgramFile(path, { flags });
  const p = obj.programs.find((x) => x.isXdp)!;
  return refusalsBeforeRun(obj, p, createMachine(obj, {}));
}

test('run keeps the ranges the verifier keeps: a refusal after a signed compare, a variable-offset store or a helper without memory arguments is reported on its line, the twins are not', () => {
  for (const c of CASES) {
    const flags = [`-DV=${c.v}`];
    const { path } = compileTestSource(`ranges${c.v}`, SOURCE, flags);
    const r = reported(path, flags);
    if (c.kernel) {
      assert.equal(r.length, 1, `V=${c.v}: reported ${JSON.stringify(r)}`);
      assert.equal(r[0]!.line, markedLine(c.v), `V=${c.v}: line`);
      assert.ok(r[0]!.message.includes(c.kernel), `V=${c.v}: ${r[0]!.message}`);
    } else assert.deepEqual(r, [], `V=${c.v}: not reported`);
  }
});

test('the kernel agrees: the reported variants are refused with the message quoted, the twins load', (t) => {
  if (kernelOrSkip(t)) return;
  for (const c of CASES) {
    const { objectPath } = compileTestSource(`kranges${c.v}`, SOURCE, [`-DV=${c.v}`]);
    const refusal = kernelRefusal(objectPath, 'prog');
    if (c.kernel) assert.ok(refusal.includes(c.kernel), `V=${c.v}: kernel says ${refusal.slice(-300)}`);
    else assert.equal(refusal, '', `V=${c.v} loads`);
  }
});

test('sfuzz seed 541100005 (-Os -mcpu=v1): run reports the kernel\'s refusal of `data + off + q` on its line', (t) => {
  if (kernelOrSkip(t)) return;
  // The program as it was found (the 6.18 helpers: no stand-in for one this kernel build takes away).
  const g = withGenForbidden(XDP_FORBIDDEN_HELPERS_618, () => generateSProgram(541100005));
  const path = join(mkdtempSync(join(tmpdir(), 'xdp-lens-ranges-sfuzz-')), 'sfuzz.bpf.c');
  writeFileSync(path, g.source);
  const flags = [g.mcpu, g.opt];
  const compiled = compileC(path, { flags });
  assert.ok(compiled.objectPath, compiled.stderr);
  const refusal = kernelRefusal(compiled.objectPath, 'fuzz');
  const words = 'math between pkt pointer and register with unbounded min value is not allowed';
  assert.ok(refusal.includes(words), `kernel: ${refusal.slice(-300)}`);
  // The kernel's log names the source line before the refused instruction ("; ... @ sfuzz.bpf.c:N").
  const lines = [...refusal.matchAll(/@ sfuzz\.bpf\.c:(\d+)/g)];
  const kline = Number(lines[lines.length - 1]![1]);
  const r = reported(path, flags);
  assert.ok(r.some((x) => x.message.includes(words) && x.line === kline), `run: ${JSON.stringify(r.map((x) => [x.line, x.message.slice(0, 120)]))}, kernel line ${kline}`);
});

// Loops over a volatile __u64 on the stack: the verifier keeps the spilled constant exactly, so a loop that leaves it
// (and every register) as it was comes back to a state it kept ("infinite loop detected at insn N", N the prune
// point where it kept one: states are kept after 2 jumps and 8 instructions, in a loop only after 20 jumps or 100
// instructions); one that counts loads. Run used to walk such a loop to the 1M-instruction limit and say "BPF program
// is too large". Narrower volatile counters (STACK_ZERO / STACK_MISC bytes) are refused by the kernel too, but run
// claims nothing there.
const LOOPS = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 8 > end) return XDP_PASS;
  volatile __u64 i = 0, j = 0;
#if V == 1
  while (i < 10) {} /* E */
#elif V == 2
  while (i < 10) { j = 1; } /* E */
#elif V == 3
  while (i < 10) { i++; }
#elif V == 4
  while (i < 10) { j = 1; i += j; }
#elif V == 5
  while (i < 10) { j = j ? 0 : 1; } /* E */
#endif
  return j;
}
`;
const LOOP_CASES: { v: number; line?: number; kernel?: RegExp }[] = [
  { v: 1, line: 10, kernel: /infinite loop detected at insn \d+/ },
  { v: 2, line: 12, kernel: /infinite loop detected at insn \d+/ },
  { v: 3 },
  { v: 4 },
  { v: 5, line: 18, kernel: /infinite loop detected at insn \d+/ },
];

test('a loop over a volatile __u64 that changes nothing is refused as the kernel refuses it, with its instruction number; counting loops are not', (t) => {
  if (kernelOrSkip(t)) return;
  for (const c of LOOP_CASES) {
    const flags = [`-DV=${c.v}`];
    const { path, objectPath } = compileTestSource(`loops${c.v}`, LOOPS, flags);
    const refusal = kernelRefusal(objectPath, 'prog');
    const r = reported(path, flags);
    if (c.kernel) {
      const words = c.kernel.exec(refusal)?.[0];
      assert.ok(words, `V=${c.v}: kernel says ${refusal.slice(-300)}`);
      assert.equal(r.length, 1, `V=${c.v}: reported ${JSON.stringify(r)}`);
      assert.equal(r[0]!.line, c.line, `V=${c.v}: line`);
      assert.ok(r[0]!.message.includes(`${words} `), `V=${c.v}: run says ${r[0]!.message}, the kernel ${words}`);
    } else {
      assert.equal(refusal, '', `V=${c.v} loads`);
      assert.deepEqual(r, [], `V=${c.v}: not reported`);
    }
  }
});

// What the verifier knows of a number after an operation with one it knows as any 64-bit value (bpf_ktime_get_ns()):
// `| 1` then `<< 32 >> 32` is [1, 0xffffffff] (tnum (0x1; 0xfffffffe)); `^`, `-` with any number, and `*` by a number
// that may be odd are any value, so the packet pointer moved by it is refused. Run knew none of these (sfuzz seed
// 542100024 has them all on its way to its refusal) and so reported nothing; the twins (bounded one lower, an even
// factor masked) load.
const OPS = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
__attribute__((naked)) int prog(struct xdp_md *ctx) {
  asm volatile("r6 = r1; call 5; r7 = *(u32 *)(r6 + 0); r3 = *(u32 *)(r6 + 4); r4 = r7; r4 += 8; if r4 > r3 goto 1f;");
  asm volatile("r2 = *(u16 *)(r7 + 0); r1 = r0;");
#if V == 1
  asm volatile("r1 |= 1; r1 <<= 32; r1 >>= 32; if r1 > 200 goto 1f;");
  asm volatile("r2 = r10; r2 += -200; r2 += r1; r0 = *(u8 *)(r2 + 0); exit;"); /* E */
#elif V == 2
  asm volatile("r1 |= 1; r1 <<= 32; r1 >>= 32; if r1 > 199 goto 1f;");
  asm volatile("r2 = r10; r2 += -200; r2 += r1; r0 = *(u8 *)(r2 + 0); exit;");
#elif V == 3
  asm volatile("r2 = be16 r2; r1 ^= r2;");
  asm volatile("r7 += r1; r0 = 2; exit;"); /* E */
#elif V == 4
  asm volatile("r2 = be16 r2; r2 -= r1;");
  asm volatile("r7 += r2; r0 = 2; exit;"); /* E */
#elif V == 5
  asm volatile("r2 &= 15; r1 *= r2;");
  asm volatile("r7 += r1; r0 = 2; exit;"); /* E */
#elif V == 6
  asm volatile("r2 &= 14; r1 *= r2; r1 &= 255;");
  asm volatile("r7 += r1; r0 = 2; exit;");
#endif
  asm volatile("1: r0 = 2; exit;");
}
`;
const UNBOUNDED_PKT = 'math between pkt pointer and register with unbounded min value is not allowed';
const OP_CASES: { v: number; line?: number; kernel?: string }[] = [
  { v: 1, line: 10, kernel: 'invalid variable-offset read from stack R2 var_off=(0x1; 0xfe) off=-200 size=1' },
  { v: 2 },
  { v: 3, line: 16, kernel: UNBOUNDED_PKT },
  { v: 4, line: 19, kernel: UNBOUNDED_PKT },
  { v: 5, line: 22, kernel: UNBOUNDED_PKT },
  { v: 6 },
];

test('operations with any 64-bit value: run reports the refusals that follow from them as the kernel does, on their line, and not the twins', (t) => {
  if (kernelOrSkip(t)) return;
  for (const c of OP_CASES) {
    const flags = [`-DV=${c.v}`];
    const { path, objectPath } = compileTestSource(`ops${c.v}`, OPS, flags);
    const refusal = kernelRefusal(objectPath, 'prog');
    const r = reported(path, flags);
    if (c.kernel) {
      assert.ok(refusal.includes(c.kernel), `V=${c.v}: kernel says ${refusal.slice(-300)}`);
      assert.equal(r.length, 1, `V=${c.v}: reported ${JSON.stringify(r)}`);
      assert.equal(r[0]!.line, c.line, `V=${c.v}: line`);
      assert.ok(r[0]!.message.includes(c.kernel), `V=${c.v}: ${r[0]!.message}`);
    } else {
      assert.equal(refusal, '', `V=${c.v} loads`);
      assert.deepEqual(r, [], `V=${c.v}: not reported`);
    }
  }
});
