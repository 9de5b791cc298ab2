// Tail calls made from bpf-to-bpf subprograms, against the kernel (BPF_PROG_TEST_RUN) under both engines and the
// compiled engine's WebAssembly tier. Measured on 6.18: a tail call from a subprogram at call depth d starts the next
// program in frame d with every caller's frame kept; its exit returns to the subprogram's caller, whose locals are
// intact; the next program may call 7 frames deeper, and tail call again from there, up to 33 tail calls in the run
// (counted over the whole run, also across separate calls of the subprogram). So one run holds up to 8 + 33 * 7 frames
// (the simulator faulted 'call-depth' at the 9th). The verifier checks each program alone: 8 frames from its entry,
// and a tail-calling subprogram with 256 bytes or more of callers' stack below it is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultObjectName, KernelLoadError, kernelOrSkip, runKernel, type KernelRun } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { wasmStats, wasmTier, wasmTierMode } from '../../simulator/vm/compiled/engine.ts';
import { compileTestSource } from './kernel-agree.ts';

interface Chain {
  /** 8-byte words of the entry function's stack, of the tail-calling subprogram's, and frames between them. */
  progWords: number;
  subWords: number;
  mids: number;
  /** A chain of this many calls made by each program after its tail-calling subprogram returned. */
  deep: number;
}

/**
 * One program `prog`, slot 0 of `jmp`: packet byte 0 counts its runs (the level), byte 1 is the level at which the
 * chain stops calling. Below the limit it calls mid1 -> ... -> hop, and hop tail-calls prog again; after hop returns
 * (the next level's verdict, or hop's own value when the tail call fails), prog checks its locals, calls the deep
 * chain, and records what it saw in `trace`, the packet and its verdict.
 */
function chainSource(c: Chain): string {
  const mids: string[] = [];
  for (let k = c.mids; k >= 1; k--) {
    const callee = k === c.mids ? 'hop(ctx, level)' : `mid${k + 1}(ctx, level)`;
    mids.push(`static __attribute__((noinline)) int mid${k}(struct xdp_md *ctx, __u32 level) {
  volatile __u64 m[2]; m[0] = level * 3 + ${k}; m[1] = ${k};
  int r = ${callee};
  return r + (int)(m[0] & 7) + (int)m[1];
}`);
  }
  const deep: string[] = [];
  for (let k = c.deep; k >= 1; k--) {
    deep.push(`static __attribute__((noinline)) __u64 deep${k}(__u64 x) {
  volatile __u64 q[2]; q[0] = x + ${k}; q[1] = x ^ ${k};
  return ${k === c.deep ? 'q[0] * 3 + q[1]' : `deep${k + 1}(q[0]) + q[1]`};
}`);
  }
  return `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
int prog(struct xdp_md *ctx);
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __array(values, int(struct xdp_md *)); } jmp SEC(".maps") = { .values = { [0] = (void *)&prog } };
__u64 trace[64];
__u64 entries = 0;
static __attribute__((noinline)) int hop(struct xdp_md *ctx, __u32 level) {
  volatile __u64 s[${c.subWords}];
  for (int i = 0; i < ${c.subWords}; i++) s[i] = level * 7 + i;
  bpf_tail_call(ctx, &jmp, 0);
  __u64 t = 0;
  for (int i = 0; i < ${c.subWords}; i++) t += s[i];
  return (int)(t & 0xff) + 1;
}
${deep.join('\n')}
${mids.join('\n')}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  if (d + 64 > e) return XDP_ABORTED;
  __u32 level = d[0], limit = d[1];
  d[0] = level + 1;
  entries++;
  volatile __u64 loc[${c.progWords}];
  for (int i = 0; i < ${c.progWords}; i++) loc[i] = level * 13 + i;
  int r = 0;
  if (level < limit) r = ${c.mids ? 'mid1(ctx, level)' : 'hop(ctx, level)'};
  __u64 sum = 0;
  for (int i = 0; i < ${c.progWords}; i++) sum += loc[i];
  ${c.deep ? 'sum += deep1(sum + level);' : ''}
  trace[level & 63] += (__u64)r * 1000003 + sum;
  d = (void *)(long)ctx->data; e = (void *)(long)ctx->data_end;
  if (d + 64 > e) return XDP_ABORTED;
  d[2] += (__u8)r; d[3] ^= (__u8)(level * 3);
  return (r * 5 + (int)sum + 1) & 0xffff;
}
`;
}

const LIMITS = [0, 1, 2, 3, 5, 7, 8, 9, 12, 20, 32, 33, 34, 40, 255];
const packets = LIMITS.map((limit) => {
  const p = new Uint8Array(80);
  p[1] = limit;
  p[40] = 0xaa;
  return p;
});

/** Every packet's retval and bytes and the maps at the end, per engine (and the WebAssembly tier), against `kernel`. */
function differences(path: string, kernel: KernelRun): string[] {
  const obj = loadProgramFile(path);
  const problems: string[] = [];
  const kinds = ['interp', 'compiled', ...(wasmTier() ? ['wasm'] : [])] as const;
  for (const kind of kinds) {
    const before = wasmTierMode();
    const entries = wasmStats.entries;
    if (kind === 'wasm') wasmTierMode('all');
    try {
      const session = new Session(obj, { program: 'prog', nrCpus: kernel.cpus, cpu: 0, engine: kind === 'interp' ? 'interp' : 'compiled' });
      assert.deepEqual(session.machine.kernelRefusals('prog'), [], 'the kernel loads it: so must we');
      packets.forEach((bytes, i) => {
        const s = session.runPacket(bytes);
        const k = kernel.results[i]!;
        if (s.fault) problems.push(`${kind} limit ${LIMITS[i]}: fault ${s.fault.kind}: ${s.fault.message}`);
        if (k.retval !== s.retval) problems.push(`${kind} limit ${LIMITS[i]}: retval kernel ${k.retval} sim ${s.retval}`);
        const d = diffBytes(k.out, s.out);
        if (d) problems.push(`${kind} limit ${LIMITS[i]}: ${d}`);
      });
      problems.push(...diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson())).map((d) => `${kind}: ${d}`));
    } finally {
      wasmTierMode(before);
    }
    if (kind === 'wasm') assert.ok(wasmStats.entries > entries, 'the WebAssembly tier ran');
  }
  return problems;
}

function agreeOn(name: string, chain: Chain, framesPerLevel: number): void {
  const { path, objectPath } = compileTestSource(name, chainSource(chain));
  const kernel = runKernel(objectPath, 'prog', packets, { objectName: defaultObjectName(path) });
  // The premise: the chain ran 34 programs (33 tail calls, packet byte 0 counts them), 1 + 33 * framesPerLevel frames deep.
  const runs = kernel.results.map((r) => r.out[0]);
  assert.deepEqual(runs, LIMITS.map((l) => Math.min(l, 33) + 1), 'programs run per packet (kernel)');
  assert.ok(1 + 33 * framesPerLevel + chain.deep > 8);
  assert.deepEqual(differences(path, kernel).slice(0, 10), []);
}

test('a chain of tail calls from a subprogram (each program one frame deeper: 35 frames after 33 tail calls) runs as in the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  agreeOn('tail-frames-1', { progWords: 4, subWords: 2, mids: 0, deep: 0 }, 1);
});

test('tail calls from two subprogram levels down, and each program a chain of 7 more calls (74 frames, 8 in the last program), run as in the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  agreeOn('tail-frames-2', { progWords: 2, subWords: 1, mids: 1, deep: 7 }, 2);
});

test('a tail-calling subprogram with 256 bytes of callers\' stack below it is refused in the kernel\'s words; 240 bytes load and run', (t) => {
  if (kernelOrSkip(t)) return;
  // The entry's 29 words round to 240 bytes, mid1's 2 words to 16: 256 below hop. With 28 words: 240.
  for (const [words, refused] of [[29, true], [28, false]] as const) {
    const chain = { progWords: words, subWords: 2, mids: 1, deep: 0 };
    const { path, objectPath } = compileTestSource(`tail-frames-${words}`, chainSource(chain));
    let kernel: KernelRun | undefined;
    let log = '';
    try {
      kernel = runKernel(objectPath, 'prog', packets, { objectName: defaultObjectName(path) });
    } catch (e) {
      if (!(e instanceof KernelLoadError)) throw e;
      log = e.log;
    }
    const want = 'tail_calls are not allowed when call stack of previous frames is 256 bytes. Too large';
    if (refused) {
      assert.ok(log.includes(want), `the kernel refuses ${words} words:\n${log.split('\n').slice(-6).join('\n')}`);
      const session = new Session(loadProgramFile(path), { program: 'prog', engine: 'interp' });
      assert.deepEqual(session.machine.kernelRefusals('prog').map((r) => r.message), [want]);
    } else {
      assert.ok(kernel, `the kernel loads ${words} words:\n${log.split('\n').slice(-6).join('\n')}`);
      assert.deepEqual(differences(path, kernel).slice(0, 10), []);
    }
  }
});

test('the 33 tail calls are counted over the run: a second call of the tail-calling subprogram after the first chain returned', (t) => {
  if (kernelOrSkip(t)) return;
  const source = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
int prog(struct xdp_md *ctx);
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __array(values, int(struct xdp_md *)); } jmp SEC(".maps") = { .values = { [0] = (void *)&prog } };
__u64 trace[64];
static __attribute__((noinline)) int hop(struct xdp_md *ctx, __u32 level) {
  volatile __u64 s[2]; s[0] = level; s[1] = 9;
  bpf_tail_call(ctx, &jmp, 0);
  return (int)(s[0] + s[1]);
}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  if (d + 64 > e) return XDP_ABORTED;
  __u32 level = d[0], limit = d[1];
  d[0] = level + 1;
  int r = 0, r2 = 0;
  if (level < limit) r = hop(ctx, level);
  if (level < limit + 40) r2 = hop(ctx, level + 100);
  trace[level & 63] += (__u64)r * 65536 + r2;
  return (r * 7 + r2) & 0xffff;
}
`;
  const { path, objectPath } = compileTestSource('tail-frames-twice', source);
  const kernel = runKernel(objectPath, 'prog', packets, { objectName: defaultObjectName(path) });
  // Every packet runs 34 programs: the second calls go on until the run's 33 tail calls are spent.
  assert.deepEqual(kernel.results.map((r) => r.out[0]), LIMITS.map(() => 34), 'programs run per packet (kernel)');
  assert.deepEqual(differences(path, kernel).slice(0, 10), []);
});
