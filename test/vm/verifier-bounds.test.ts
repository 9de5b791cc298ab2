// The verifier's refusals that depend on a number's range (simulator/verifier-bounds.ts): `run` reports them before the
// first packet, on the line of the instruction the verifier stops at, quoting its message; the nearly identical
// programs with the number bounded load and are not reported. Each variant is also loaded into the running kernel:
// the refused ones must be refused with the quoted message, the others must load (no false refusal).
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
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64[8]); } h SEC(".maps");
__u64 g;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&h, &k);
  if (!v || data + 8 > end) return XDP_PASS;
#if V == 1
  __u64 x = bpf_ktime_get_ns();
  unsigned char *p = data + x; /* E */
  if ((void *)(p + 1) > end) return 1;
  return *p;
#elif V == 2
  __u64 x = bpf_ktime_get_ns() & 0xff;
  unsigned char *p = data + x;
  if ((void *)(p + 1) > end) return 1;
  return *p;
#elif V == 3
  __u64 x = bpf_ktime_get_ns();
  if (x > 100) return 0;
  unsigned char *p = data + x;
  if ((void *)(p + 1) > end) return 1;
  return *p;
#elif V == 4
  unsigned char *p = (unsigned char *)v + v[1]; /* E */
  return *p;
#elif V == 5
  __u64 x = v[1];
  if (x == 7) return 3;
  unsigned char *p = data + x; /* E */
  if ((void *)(p + 1) > end) return 1;
  return *p;
#elif V == 6
  __u32 i = *(__u32 *)data;
  return v[i]; /* E */
#elif V == 7
  __u16 i = *(__u16 *)data;
  return v[i]; /* E */
#elif V == 8
  __u16 i = *(__u16 *)data;
  if (i >= 8) return 0;
  return v[i];
#elif V == 9
  int i = *(int *)data;
  return ((char *)v)[i]; /* E */
#elif V == 10
  int i = *(int *)data;
  if (i < 0 || i >= 8) return 0;
  return v[i];
#elif V == 11
  __u8 i = *(__u8 *)data;
  return ((__u8 *)v)[i]; /* E */
#elif V == 12
  __u8 i = *(__u8 *)data;
  return ((__u8 *)v)[i & 63];
#elif V == 13
  char buf[16] = {};
  __u64 x = g;
  buf[x] = 1; /* E */
  return buf[3];
#elif V == 14
  char buf[16] = {};
  __u64 x = g & 15;
  buf[x] = 1;
  return buf[3];
#endif
}
`;

const errorLine = SOURCE.split('\n').map((l) => l.includes('/* E */'));

interface Case { v: number; kernel?: string }
const CASES: Case[] = [
  { v: 1, kernel: 'math between pkt pointer and register with unbounded min value is not allowed' },
  { v: 2 },
  { v: 3 },
  { v: 4, kernel: 'math between map_value pointer and register with unbounded min value is not allowed' },
  { v: 5, kernel: 'math between pkt pointer and register with unbounded min value is not allowed' },
  { v: 6, kernel: 'unbounded memory access, make sure to bounds check any such access' },
  { v: 7, kernel: 'max value is outside of the allowed memory range' },
  { v: 8 },
  { v: 9, kernel: 'value -2147483648 makes map_value pointer be out of bounds' },
  { v: 10 },
  { v: 11, kernel: 'max value is outside of the allowed memory range' },
  { v: 12 },
  { v: 13, kernel: 'math between fp pointer and register with unbounded min value is not allowed' },
  { v: 14 },
];

/** The source line of variant v's marked instruction (the one inside its #if block). */
function markedLine(v: number): number {
  const lines = SOURCE.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^#(el)?if V == ${v}$`).test(l));
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('#'); i++) if (errorLine[i]) return i + 1;
  return -1;
}

function reported(path: string, flags: string[]) {
  const obj = loadProgramFile(path, { clangFlags: flags });
  const program = obj.programs.find((p) => p.name === 'prog')!;
  return refusalsBeforeRun(obj, program, createMachine(obj, {})).filter((r) => r.rule === 'unbounded' || r.rule === 'too-complex');
}

test('run reports pointer math and map value indexes the verifier cannot bound, on the line it stops at, and not the bounded versions', () => {
  for (const c of CASES) {
    const flags = [`-DV=${c.v}`];
    const { path } = compileTestSource(`bounds${c.v}`, SOURCE, flags);
    const r = reported(path, flags);
    if (c.kernel) {
      assert.equal(r.length, 1, `V=${c.v}: reported`);
      assert.equal(r[0]!.line, markedLine(c.v), `V=${c.v}: line`);
      assert.equal(r[0]!.file, path);
      assert.ok(r[0]!.message.includes(c.kernel), `V=${c.v}: ${r[0]!.message}`);
    } else assert.deepEqual(r, [], `V=${c.v}: not reported`);
  }
});

test('the kernel agrees: the reported variants are refused with the message quoted, the bounded ones load', (t) => {
  if (kernelOrSkip(t)) return;
  for (const c of CASES) {
    const { objectPath } = compileTestSource(`kbounds${c.v}`, SOURCE, [`-DV=${c.v}`]);
    const refusal = kernelRefusal(objectPath, 'prog');
    if (c.kernel) assert.ok(refusal.includes(c.kernel), `V=${c.v}: kernel says ${refusal.slice(-300)}`);
    else assert.equal(refusal, '', `V=${c.v} loads`);
  }
});

// The verifier's pending-branch limit on its first path: a loop over the packet with a bounds check and a test of
// the byte in every iteration leaves two branches pending per iteration (measured on 6.18: 4,100 and 5,000
// iterations are refused with "The sequence of 8193 jumps is too complex." after 57,354 instructions; 3,000 iterations
// are refused for the 1M-instruction limit instead, which this rule does not claim).
const LOOP = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  __u32 cnt = 0;
  #pragma clang loop unroll(disable)
  for (int i = 0; i < N; i++) {
    if (data + i + 1 > end) break; /* line 10 */
    if (data[i] == 'x') cnt += 3;
  }
  return cnt & 1 ? XDP_DROP : XDP_PASS;
}
`;

test('run reports the 8193rd pending branch of the verifier\'s first path on the loop\'s line, and not a loop that leaves fewer', () => {
  for (const [n, refused] of [[5000, true], [3000, false]] as const) {
    const flags = [`-DN=${n}`];
    const { path } = compileTestSource(`jumps${n}`, LOOP, flags);
    const r = reported(path, flags);
    if (refused) {
      assert.equal(r.length, 1, `N=${n}: reported`);
      assert.equal(r[0]!.line, 10);
      assert.match(r[0]!.message, /The sequence of 8193 jumps is too complex\./);
    } else assert.deepEqual(r, [], `N=${n}: not reported`);
  }
});

test('the kernel agrees: 5,000 iterations are refused for 8193 pending jumps', (t) => {
  if (kernelOrSkip(t)) return;
  const { objectPath } = compileTestSource('kjumps5000', LOOP, ['-DN=5000']);
  const refusal = kernelRefusal(objectPath, 'prog');
  assert.match(refusal, /The sequence of 8193 jumps is too complex\./);
});

// A loop the verifier finds coming back with every register as it was ("infinite loop detected at insn 2"), and one
// that changes a counter each time round (loads: 300 iterations).
const ENDLESS = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp") __attribute__((naked)) int prog(void) {
  asm volatile(
    "r0 = 0\\n"
#if V == 1
    "r2 = 5\\n"
    "1: if r0 == 0 goto 1b\\n"
#else
    "1: r0 += 1\\n"
    "if r0 != 300 goto 1b\\n"
#endif
    "exit\\n");
}
`;

test('run reports a loop the verifier sees come back unchanged, not one with a counter', () => {
  for (const v of [1, 2]) {
    const flags = [`-DV=${v}`];
    const { path } = compileTestSource(`endless${v}`, ENDLESS, flags);
    const r = reported(path, flags);
    if (v === 1) {
      assert.equal(r.length, 1, 'reported');
      assert.equal(r[0]!.line, 5); // the asm statement's line (clang gives inline asm one line)
      assert.match(r[0]!.message, /infinite loop detected at insn 2/);
    } else assert.deepEqual(r, [], 'the counted loop is not reported');
  }
});

test('the kernel agrees: the unchanged loop is refused as an infinite loop, the counted one loads', (t) => {
  if (kernelOrSkip(t)) return;
  for (const v of [1, 2]) {
    const { objectPath } = compileTestSource(`kendless${v}`, ENDLESS, [`-DV=${v}`]);
    const refusal = kernelRefusal(objectPath, 'prog');
    if (v === 1) assert.match(refusal, /infinite loop detected at insn 2/);
    else assert.equal(refusal, '');
  }
});
