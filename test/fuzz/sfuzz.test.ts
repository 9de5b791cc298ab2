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
// (default 10); the same widened (fgen.ts `wide`: reads and writes after adjust_tail/head, stale dynptrs, check_mtu):
// XDP_LENS_FWFUZZ_COUNT (default 5). vfuzz (vgen.ts: five-argument static and global functions returning narrow types, bpf_loop callbacks
// calling them and reading the context, odd-size memcpy/memset/memmove on packet, stack and map values, atomics of both
// widths on the stack, globals and map values, sub-register arithmetic and byte swaps, encapsulation with adjust_head,
// metadata written with memcpy): XDP_LENS_VFUZZ_COUNT (default 10). kfuzz (kgen.ts: kfuncs strung together with
// edge-case arguments: dynptrs from the frame and map values cloned, adjusted, copied and memset, ring buffer dynptrs,
// the bits iterator, bpf_map_sum_elem_count, resilient spin locks, RCU/preempt/irq sections, conntrack lookups and
// allocations, bpf_throw; its kernel side in a network namespace of its own): XDP_LENS_KFUZZ_COUNT (default 5); and kfuzz's
// verdict on programs with one kfunc misuse the verifier refuses (kgen.ts K_MISTAKES): XDP_LENS_KFUZZ_MISTAKES (default 6).
// pfuzz (pgen.ts: header parsers on well-formed VLAN / IPv4-with-options / IPv6-extension-header / TCP-option frames,
// offsets from ihl, hdrlen and doff; checksum rewrites, encapsulation, VLAN push/pop, trimming to the IP length,
// metadata; bounds checks in several forms, now and then one the verifier refuses): XDP_LENS_PFUZZ_COUNT (default 5);
// the same programs widened (pgen.ts `wide`: adjust_meta/head/tail sequences, struct copies between the packet and map
// values, 128-bit IPv6 address compares, per-CPU atomics, bpf_loop callbacks on the packet): XDP_LENS_PWFUZZ_COUNT (default 3).
// efuzz (egen.ts: typed variables flowing from one helper or map into the next: popped values as keys, computed outer
// and inner keys of maps of maps, computed LPM prefixes, sizes, offsets and flags; atomics with fetch; dense switches
// made lookup tables; generated bpf_loop / for_each callbacks; popcount, bswap, __builtin_*_overflow, const volatile
// settings, a read-only map, goto cleanup, odd-sized memcpy, switch on packet bytes; its kernel side in a netns of its own):
// XDP_LENS_EFUZZ_COUNT (default 5).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelOrSkip } from '../kernel/runner.ts';
import { generateMProgram } from './mgen.ts';
import { checkSProgram, type SCheckOptions } from './scheck.ts';
import { generateSProgram, type SProgram } from './sgen.ts';
import { generateXProgram, xPackets } from './xgen.ts';
import { fPackets, generateFProgram } from './fgen.ts';
import { generateVProgram } from './vgen.ts';
import { generateKProgram, K_MISTAKES } from './kgen.ts';
import { generatePProgram, pPackets } from './pgen.ts';
import { generateEProgram } from './egen.ts';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { RefusalLog, refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { defaultObjectName, KernelLoadError, runKernel } from '../kernel/runner.ts';
import { sPackets } from './sgen.ts';

const BASE_SEED = Number(process.env.XDP_LENS_SFUZZ_SEED ?? 0x5c0001);
const COUNT = Number(process.env.XDP_LENS_SFUZZ_COUNT ?? 25);

function round(t: TestContext, tag: string, gen: (seed: number) => SProgram, base: number, count: number, opts: SCheckOptions = {}): void {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), `xdp-lens-${tag}-`));
  let loaded = 0;
  let tooComplex = 0;
  let clangStack = 0;
  const refused: string[] = [];
  const build: string[] = [];
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
      else if (o.buildRefusal) build.push(`seed ${seed}: ${o.buildRefusal}`);
      else refused.push(`seed ${seed}: ${o.kernelWhy}`);
      if (o.tooComplex) tooComplex++;
      if (o.problems.length) failures.push(`seed ${seed}:\n    ${o.problems.slice(0, 6).join('\n    ')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.diagnostic(`${tag}: base seed ${base}, ${count} programs (${clangStack} refused by clang: a frame over 512 bytes, __multi3 or a -mcpu=v2 atomic), ${loaded} loaded by ` +
    `the kernel, ${build.length} refused by this kernel build for a helper 6.18 gives XDP (run refuses them too: not compared), ${refused.length} refused otherwise (${tooComplex} for complexity, not compared), ${failures.length} differing`);
  for (const x of build) t.diagnostic(`refused by this kernel build: ${x}`);
  for (const x of refused.slice(0, 10)) t.diagnostic(`refused: ${x}`);
  assert.ok(loaded >= (count - clangStack - build.length) * 0.6, `too many programs refused by the kernel:\n  ${refused.slice(0, 8).join('\n  ')}`);
  assert.equal(failures.length, 0, `${failures.length} programs differ from the kernel:\n  ${failures.slice(0, 6).join('\n  ')}`);
}

test('sfuzz: random structured C programs behave as in the kernel', (t) => round(t, 'sfuzz', generateSProgram, BASE_SEED, COUNT));
test('mfuzz: random C programs working maps of every kind behave as in the kernel', (t) =>
  round(t, 'mfuzz', generateMProgram, BASE_SEED ^ 0x3000000, Number(process.env.XDP_LENS_MFUZZ_COUNT ?? COUNT)));
test('xfuzz: random C programs calling helpers and kfuncs with edge-case arguments behave as in the kernel', (t) =>
  round(t, 'xfuzz', generateXProgram, BASE_SEED ^ 0x7e0000, Number(process.env.XDP_LENS_XFUZZ_COUNT ?? 15), { netns: true, packets: xPackets }));
test('ffuzz: random xdp.frags programs on frames of 3,521..73,152 bytes, with tail-call chains, behave as in the kernel', (t) =>
  round(t, 'ffuzz', generateFProgram, BASE_SEED ^ 0xf0000, Number(process.env.XDP_LENS_FFUZZ_COUNT ?? 10), { packets: fPackets }));
// The same programs widened (fgen.ts `wide`): packet reads and writes after adjust_tail grows or shrinks the frame,
// direct access after it, load/store_bytes across the linear part's end moved by adjust_head, dynptrs made before
// adjust_tail used after it, bpf_check_mtu around lo's MTU.
test('ffuzz (widened): xdp.frags programs reading and writing after adjust_tail/head, stale dynptrs and check_mtu behave as in the kernel', (t) =>
  round(t, 'ffuzz-wide', (seed) => generateFProgram(seed, true), BASE_SEED ^ 0xf7000, Number(process.env.XDP_LENS_FWFUZZ_COUNT ?? 5), { packets: fPackets }));
test('vfuzz: random C with five-argument functions, bpf_loop callbacks, odd-size memcpy and atomics behaves as in the kernel', (t) =>
  round(t, 'vfuzz', generateVProgram, BASE_SEED ^ 0x0f0f00, Number(process.env.XDP_LENS_VFUZZ_COUNT ?? 10)));
test('kfuzz: random C stringing kfuncs together (dynptrs, ring buffer records, bits iterator, conntrack, bpf_throw) behaves as in the kernel', (t) =>
  round(t, 'kfuzz', generateKProgram, BASE_SEED ^ 0x6b0000, Number(process.env.XDP_LENS_KFUZZ_COUNT ?? 5), { netns: true }));
test('pfuzz: random header parsers and rewrites on well-formed frames behave as in the kernel', (t) =>
  round(t, 'pfuzz', generatePProgram, BASE_SEED ^ 0x9f0000, Number(process.env.XDP_LENS_PFUZZ_COUNT ?? 5), { packets: (seed, _n, frags) => pPackets(seed, 10, frags) }));
test('pfuzz (widened): header parsers with adjust sequences, struct copies, IPv6 address compares, per-CPU atomics and packet callbacks behave as in the kernel', (t) =>
  round(t, 'pfuzz-wide', (seed) => generatePProgram(seed, true), BASE_SEED ^ 0x9f7000, Number(process.env.XDP_LENS_PWFUZZ_COUNT ?? 3), { packets: (seed, _n, frags) => pPackets(seed, 10, frags) }));
test('efuzz: random C passing values between helpers, maps, atomics and callbacks behaves as in the kernel', (t) =>
  round(t, 'efuzz', generateEProgram, BASE_SEED ^ 0xe0000, Number(process.env.XDP_LENS_EFUZZ_COUNT ?? 5), { netns: true }));
test('kfuzz: random C with one kfunc misuse is refused as by the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-kfuzz-m-'));
  const count = Number(process.env.XDP_LENS_KFUZZ_MISTAKES ?? 6);
  const base = (BASE_SEED ^ 0x6b0000) + 100000;
  const failures: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const seed = (base + i) >>> 0;
      const mistake = K_MISTAKES[(seed + i) % K_MISTAKES.length]!;
      const g = generateKProgram(seed, mistake);
      const path = join(dir, 'kfuzz.bpf.c');
      writeFileSync(path, g.source);
      const compiled = compileC(path, { flags: [g.mcpu, g.opt] });
      assert.ok(compiled.objectPath, `seed ${seed} (${mistake}): clang failed: ${compiled.stderr}`);
      const packets = sPackets(seed, 8, g.frags);
      let loads = true;
      try {
        runKernel(compiled.objectPath, 'fuzz', packets, { objectName: defaultObjectName(path), netns: true });
      } catch (e) {
        if (!(e instanceof KernelLoadError)) throw e;
        loads = false;
      }
      const obj = loadProgramFile(path, { flags: [g.mcpu, g.opt] });
      const missed = (['compiled', 'interp'] as const).filter((engine) => {
        const session = new Session(obj, { program: 'fuzz', nrCpus: 2, cpu: 0, engine });
        const log = new RefusalLog(refusalsBeforeRun(obj, session.program, session.machine));
        for (const p of packets) log.fault(session.runPacket(p).fault);
        return log.list.length === 0;
      });
      if (loads) failures.push(`seed ${seed} (${mistake}): the kernel loads it (the generator is wrong)`);
      else if (missed.length) failures.push(`seed ${seed} (${mistake}, ${g.mcpu} ${g.opt}): the kernel refuses it, run reports no refusal under ${missed.join(' and ')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.diagnostic(`kfuzz mistakes: base seed ${base}, ${count} programs, ${failures.length} differing`);
  assert.deepEqual(failures, []);
});
