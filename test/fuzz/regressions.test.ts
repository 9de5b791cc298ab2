// The disagreements the random-program fuzzers found, each minimised to a few instructions (or a few lines of C) and
// held to the kernel under both engines: the verdict (does the kernel load it? `run` must report exactly its refusals,
// before the first packet or proved by a packet's fault) and, for programs that load, retval, data_out and maps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { RefusalLog, refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { ENGINES } from '../../simulator/vm/machine.ts';
import { KernelLoadError, kernelOrSkip, runKernel, type KernelRun } from '../kernel/runner.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { compileTestSource } from '../vm/kernel-agree.ts';

const PACKET = Uint8Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 0xff);

/** `body` in section xdp as program `fuzz` (llvm-mc syntax). */
function assemble(dir: string, body: string): string {
  const s = join(dir, 'case.s');
  const o = join(dir, 'case.o');
  writeFileSync(s, `\t.section xdp,"ax",@progbits\n\t.globl fuzz\n\t.type fuzz,@function\nfuzz:\n${body}\n\t.size fuzz, .-fuzz\n` +
    '\t.section license,"aw",@progbits\n\t.asciz "GPL"\n');
  const mc = spawnSync('llvm-mc', ['-triple', 'bpf', '-mcpu=v3', '-filetype=obj', s, '-o', o], { encoding: 'utf8' });
  assert.equal(mc.status, 0, mc.stderr);
  return o;
}

/** The kernel's verdict and the simulator's (per engine), and for a loaded program its results against the kernel's. */
function verdicts(objPath: string, packets: Uint8Array[], program = 'fuzz', compare = true): { kernel: boolean; sim: Record<string, boolean> } {
  let kernel: KernelRun | undefined;
  try {
    kernel = runKernel(objPath, program, packets);
  } catch (e) {
    if (!(e instanceof KernelLoadError)) throw e;
  }
  const sim: Record<string, boolean> = {};
  let obj: LoadedObject;
  try {
    obj = loadProgramFile(objPath);
  } catch {
    for (const engine of ENGINES) sim[engine] = false;
    return { kernel: !!kernel, sim };
  }
  for (const engine of ENGINES) {
    const session = new Session(obj, { program, nrCpus: kernel?.cpus ?? 1, cpu: 0, engine });
    const log = new RefusalLog(refusalsBeforeRun(obj, session.program, session.machine));
    packets.forEach((p, n) => {
      const r = session.runPacket(p);
      log.fault(r.fault);
      if (kernel && compare) {
        assert.equal(r.retval, kernel.results[n]!.retval, `${engine}: retval`);
        assert.equal(diffBytes(kernel.results[n]!.out, r.out), undefined, `${engine}: data_out`);
      }
    });
    if (kernel && compare) assert.deepEqual(diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson())), [], `${engine}: maps`);
    sim[engine] = log.list.length === 0;
  }
  return { kernel: !!kernel, sim };
}

const REFUSED: [string, string][] = [
  // check_cfg: dead code after an exit; a cycle nothing can leave.
  ['unreachable instruction', 'r0 = 2\n exit\n r0 = 1\n exit'],
  ['endless two-instruction loop', 'r0 = 0\nL:\n r0 += 1\n goto L'],
  // check_alu_op, where reached: constant divisor 0, shift by a constant out of range.
  ['division by the constant 0', 'r0 = 5\n .quad 0x0000000000000037\n exit'],
  ['signed modulo by the constant 0', 'r0 = 5\n .quad 0x0000000000010097\n exit'],
  ['64-bit shift by 64', 'r0 = 5\n .quad 0x0000004000000067\n exit'],
  ['32-bit shift by 32', 'r0 = 5\n .quad 0x0000002000000064\n exit'],
  ['arithmetic shift by -1', 'r0 = 5\n .quad 0xffffffff000000c7\n exit'],
  // Memory faults prove a refusal.
  ['stack store below the frame', 'r0 = 0\n *(u64 *)(r10 - 520) = r0\n exit'],
  ['stack store at r10', 'r0 = 0\n *(u64 *)(r10 + 0) = r0\n exit'],
  ['scalar dereferenced', 'r2 = 64\n r0 = *(u8 *)(r2 + 0)\n exit'],
  ['8-byte ctx load', 'r0 = *(u64 *)(r1 + 0)\n r0 = 2\n exit'],
  // Bytecode-tier rules in an object without line info.
  ['unchecked packet load (no line info)', 'r2 = *(u32 *)(r1 + 0)\n r0 = *(u8 *)(r2 + 0)\n exit'],
  // check_atomic: no atomics on the packet.
  ['atomic add on the packet', 'r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r4 = r2\n r4 += 8\n if r4 > r3 goto E\n r5 = 1\n lock *(u64 *)(r2 + 0) += r5\nE:\n r0 = 2\n exit'],
  // pointer-misuse.
  ['stack pointer multiplied', 'r2 = r10\n r2 *= 2\n r0 = 2\n exit'],
  ['packet pointer in a 32-bit add', 'r2 = *(u32 *)(r1 + 0)\n w2 += 1\n r0 = 2\n exit'],
  ['two pointers added', 'r2 = r10\n r2 += r10\n r0 = 2\n exit'],
  ['moved ctx pointer dereferenced', 'r1 += 4\n r0 = *(u32 *)(r1 + 0)\n r0 = 2\n exit'],
  ['half of a spilled pointer filled', '*(u64 *)(r10 - 8) = r1\n r0 = *(u32 *)(r10 - 4)\n r0 = 2\n exit'],
  ['misaligned stack store', 'r0 = 0\n *(u64 *)(r10 - 12) = r0\n exit'],
  // Known before the first packet, not only when a packet reaches it: the verifier walks every path.
  ['stack store above the frame on a path no packet takes', 'r0 = *(u32 *)(r1 + 12)\n if r0 != 7777 goto E\n *(u64 *)(r10 + 8) = r0\nE:\n r0 = 2\n exit'],
  ['narrow ctx load on a path no packet takes', 'r0 = *(u32 *)(r1 + 12)\n if r0 != 7777 goto E\n r0 = *(u8 *)(r1 + 12)\nE:\n r0 = 2\n exit'],
  ['egress_ifindex read by a plain XDP program', 'r0 = *(u32 *)(r1 + 20)\n r0 &= 3\n exit'],
];

const LOADED: [string, string][] = [
  // The verifier skips a branch it proves never taken: a constant divisor 0 there loads.
  ['division by the constant 0 on a dead branch', 'r0 = 0\n if r0 == 0 goto +1\n .quad 0x0000000000000037\n exit'],
  // A narrow aligned load of a spilled scalar, and a difference of two packet pointers (a scalar), are fine.
  ['aligned narrow stack load of a scalar', 'r0 = 0\n *(u64 *)(r10 - 16) = r0\n r0 = *(u16 *)(r10 - 10)\n exit'],
  ['pointer difference', 'r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r3 -= r2\n r0 = r3\n r0 &= 3\n exit'],
];

test('regressions: programs the kernel refuses are reported as refused by both engines', (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-regress-'));
  try {
    for (const [name, body] of REFUSED) {
      const v = verdicts(assemble(dir, body), [PACKET]);
      assert.equal(v.kernel, false, `${name}: the kernel loads it (the case is wrong)`);
      assert.deepEqual(v.sim, { interp: false, compiled: false }, `${name}: run must report a refusal`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('regressions: near misses the kernel loads run with no refusal and the kernel\'s results', (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-regress-'));
  try {
    for (const [name, body] of LOADED) {
      const v = verdicts(assemble(dir, body), [PACKET]);
      assert.equal(v.kernel, true, `${name}: the kernel refuses it (the case is wrong)`);
      assert.deepEqual(v.sim, { interp: true, compiled: true }, `${name}: run must not report a refusal`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('regressions: an LPM trie keeps each key\'s data past the prefix as given (cfuzz seed 4242)', (t) => {
  if (kernelOrSkip(t)) return;
  const { objectPath } = compileTestSource('lpm_keys', `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct lpmk { __u32 plen; __u8 d[4]; };
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 8); __type(key, struct lpmk); __type(value, __u32); __uint(map_flags, BPF_F_NO_PREALLOC); } lpm SEC(".maps");
SEC("xdp")
int fuzz(struct xdp_md *ctx) {
  __u8 p[8];
  if (bpf_xdp_load_bytes(ctx, 0, p, 8) < 0) return XDP_PASS;
  struct lpmk k = { .plen = p[0] & 31, .d = { p[1], p[2], p[3], p[4] } };
  __u32 v = p[5];
  bpf_map_update_elem(&lpm, &k, &v, 0);
  struct lpmk q = { .plen = 32, .d = { p[1], p[2], p[6], p[7] } };
  __u32 *pv = bpf_map_lookup_elem(&lpm, &q);
  return pv ? *pv & 3 : XDP_DROP;
}
`);
  const packets = Array.from({ length: 12 }, (_, i) => Uint8Array.from({ length: 64 }, (_, j) => (i * 53 + j * 29 + (j === 0 ? i * 3 : 0)) & 0xff));
  const v = verdicts(objectPath, packets);
  assert.deepEqual(v, { kernel: true, sim: { interp: true, compiled: true } });
});

test('regressions: a PROG_ARRAY used by an xdp.frags program and by a plain one makes the object fail to load (cfuzz seed 4257)', (t) => {
  if (kernelOrSkip(t)) return;
  const { objectPath } = compileTestSource('frags_users', `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
int again(struct xdp_md *ctx);
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __uint(key_size, 4); __array(values, int (void *)); } chain SEC(".maps") = { .values = { [0] = (void *)&again } };
SEC("xdp")
int again(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &chain, 0);
  return XDP_PASS;
}
SEC("xdp.frags")
int fuzz(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &chain, 0);
  return XDP_DROP;
}
`);
  const v = verdicts(objectPath, [PACKET], 'fuzz', false);
  assert.deepEqual(v, { kernel: false, sim: { interp: false, compiled: false } });
});
