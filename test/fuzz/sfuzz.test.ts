// Differential fuzzing of random structured C (sgen.ts: structs, packed structs, unions, bitfields, switch, nested
// loops, local arrays, memcpy/memset, volatile, inline assembly, adjust_head/tail/meta in loops with re-checked bounds,
// load/store_bytes across fragments) compiled by clang at -O1/-O2/-O3/-Os/-Oz and -mcpu=v1/v2/v3, against the kernel:
// every packet's retval and data_out and every map after the run under both engines; an object the kernel refuses,
// `run` must report as refused (before the first packet or proved by a packet's fault) under both engines.
// Env: XDP_LENS_SFUZZ_SEED (base seed), XDP_LENS_SFUZZ_COUNT (default 25, about a minute). A bigger round by hand:
//   XDP_LENS_SFUZZ_SEED=<n> XDP_LENS_SFUZZ_COUNT=500 nice node --import tsx --test test/fuzz/sfuzz.test.ts
// A mismatch names the seed and writes the program to test-output/sfuzz/seed-<seed>.c (the first line: flags, kinds).
// mfuzz (mgen.ts: maps of every kind) and xfuzz (xgen.ts: helpers and kfuncs with edge-case arguments, bpf_snprintf
// formats, string kfuncs, strtol, bpf_loop counts, csum_diff sizes, metadata sequences, socket lookups, SYN cookies;
// its kernel side in a network namespace of its own) run the same way: XDP_LENS_MFUZZ_COUNT, XDP_LENS_XFUZZ_COUNT
// (default 15). ffuzz (fgen.ts: xdp.frags programs on frames of 3,521..73,152 bytes, load/store_bytes across fragments,
// adjust_tail/head/meta, bpf_xdp_pull_data, dynptrs, tail-call chains up to the kernel's limit): XDP_LENS_FFUZZ_COUNT
// (default 10). vfuzz (vgen.ts: five-argument static and global functions returning narrow types, bpf_loop callbacks
// calling them and reading the context, odd-size memcpy/memset/memmove on packet, stack and map values, atomics of both
// widths on the stack, globals and map values, sub-register arithmetic and byte swaps, encapsulation with adjust_head,
// metadata written with memcpy): XDP_LENS_VFUZZ_COUNT (default 10).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelOrSkip } from '../kernel/runner.ts';
import { generateMProgram } from './mgen.ts';
import { checkSProgram, type SCheckOptions } from './scheck.ts';
import { generateSProgram, type SProgram } from './sgen.ts';
import { generateXProgram, xPackets } from './xgen.ts';
import { fPackets, generateFProgram } from './fgen.ts';
import { generateVProgram } from './vgen.ts';

const BASE_SEED = Number(process.env.XDP_LENS_SFUZZ_SEED ?? 0x5c0001);
const COUNT = Number(process.env.XDP_LENS_SFUZZ_COUNT ?? 25);

function round(t: TestContext, tag: string, gen: (seed: number) => SProgram, base: number, count: number, opts: SCheckOptions = {}): void {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), `xdp-lens-${tag}-`));
  let loaded = 0;
  let tooComplex = 0;
  let clangStack = 0;
  const refused: string[] = [];
  const failures: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const seed = (base + i) >>> 0;
      const o = checkSProgram(seed, dir, gen, tag, opts);
      if (o.clangStack) {
        clangStack++;
        continue;
      }
      if (o.kernelLoads) loaded++;
      else refused.push(`seed ${seed}: ${o.kernelWhy}`);
      if (o.tooComplex) tooComplex++;
      if (o.problems.length) failures.push(`seed ${seed}:\n    ${o.problems.slice(0, 6).join('\n    ')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.diagnostic(`${tag}: base seed ${base}, ${count} programs (${clangStack} refused by clang: a frame over 512 bytes or __multi3), ${loaded} loaded by ` +
    `the kernel, ${refused.length} refused (${tooComplex} for complexity, not compared), ${failures.length} differing`);
  for (const x of refused.slice(0, 10)) t.diagnostic(`refused: ${x}`);
  assert.ok(loaded >= (count - clangStack) * 0.6, `too many programs refused by the kernel:\n  ${refused.slice(0, 8).join('\n  ')}`);
  assert.equal(failures.length, 0, `${failures.length} programs differ from the kernel:\n  ${failures.slice(0, 6).join('\n  ')}`);
}

test('sfuzz: random structured C programs behave as in the kernel', (t) => round(t, 'sfuzz', generateSProgram, BASE_SEED, COUNT));
test('mfuzz: random C programs working maps of every kind behave as in the kernel', (t) =>
  round(t, 'mfuzz', generateMProgram, BASE_SEED ^ 0x3000000, Number(process.env.XDP_LENS_MFUZZ_COUNT ?? COUNT)));
test('xfuzz: random C programs calling helpers and kfuncs with edge-case arguments behave as in the kernel', (t) =>
  round(t, 'xfuzz', generateXProgram, BASE_SEED ^ 0x7e0000, Number(process.env.XDP_LENS_XFUZZ_COUNT ?? 15), { netns: true, packets: xPackets }));
test('ffuzz: random xdp.frags programs on frames of 3,521..73,152 bytes, with tail-call chains, behave as in the kernel', (t) =>
  round(t, 'ffuzz', generateFProgram, BASE_SEED ^ 0xf0000, Number(process.env.XDP_LENS_FFUZZ_COUNT ?? 10), { packets: fPackets }));
test('vfuzz: random C with five-argument functions, bpf_loop callbacks, odd-size memcpy and atomics behaves as in the kernel', (t) =>
  round(t, 'vfuzz', generateVProgram, BASE_SEED ^ 0x0f0f00, Number(process.env.XDP_LENS_VFUZZ_COUNT ?? 10)));
