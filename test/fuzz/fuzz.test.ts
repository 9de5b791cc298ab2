// Differential fuzzing against the kernel, and of the compiled engine against the interpreter: random straight-line
// and forward-branching programs from gen.ts (ALU/ALU64 incl. cpu v4 sdiv/smod/movsx/ldsx/bswap, loads from packet
// and stack, stores to both, at fixed and variable offsets, atomics incl. load-acquire/store-release, ctx fields, the
// packet's length, JMP/JMP32/JA/gotol; packets of 192 to 3,500 bytes), assembled
// with llvm-mc, loaded by the kernel (BPF_PROG_TEST_RUN via test/kernel/runner.ts) and by the simulator; every
// program the verifier accepts must give the same retval and data_out (which holds all registers and stack slots),
// and the same run (steps, exit slot, fault) under both engines. A second test runs a quarter as many of the same
// seeds with the body in a loop inside a bpf-to-bpf call (gen.ts Shape).
// Programs the verifier rejects are counted and skipped (the generator is built to keep that rare).
// Env: XDP_LENS_FUZZ_SEED (base seed, default fixed so CI is reproducible), XDP_LENS_FUZZ_COUNT (default 2000 under
// XDP_LENS_REQUIRE_KERNEL=1 as in CI, else 300).
// A mismatch prints the program's own seed (rerun it alone with XDP_LENS_FUZZ_SEED=<seed> XDP_LENS_FUZZ_COUNT=1) and
// writes its assembly to test-output/fuzz/seed-<seed>[-loop-call].s.
// Needs root, gcc, libbpf-dev, llvm-mc and a working bpf() syscall; skips with the reason otherwise (fails instead
// under XDP_LENS_REQUIRE_KERNEL=1).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { KernelLoadError, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { diffBytes } from '../parity/compare.ts';
import { REPO } from '../repo.ts';
import { fuzzPackets, generateProgram, type Shape } from './gen.ts';

const observe = (r: ReturnType<Session['runPacket']>): string =>
  JSON.stringify({ retval: r.retval, out: Buffer.from(r.out).toString('hex'), run: r.run }, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));

const BASE_SEED = Number(process.env.XDP_LENS_FUZZ_SEED ?? 0x5eed0001);
// CI (XDP_LENS_REQUIRE_KERNEL=1) runs thousands; a local `npm test` a quicker sample.
const COUNT = Number(process.env.XDP_LENS_FUZZ_COUNT ?? (process.env.XDP_LENS_REQUIRE_KERNEL === '1' ? 2000 : 300));

test('fuzz: random programs behave as in the kernel', (t) => fuzz(t, {}, COUNT, BASE_SEED));
// The same bodies run 1-4 times in a loop (a backward jump) inside a subprogram the entry calls: the compiled engine's
// blocks entered from a back edge, its budget accounting across iterations, and call frames.
test('fuzz: random programs looping inside a bpf-to-bpf call behave as in the kernel', (t) =>
  fuzz(t, { loop: true, call: true }, Math.ceil(COUNT / 4), BASE_SEED));
// The same loops with a may_goto guarding the back edge, in the entry and in a subprogram.
test('fuzz: random loops guarded by may_goto behave as in the kernel', (t) =>
  fuzz(t, { loop: true, mayGoto: true }, Math.ceil(COUNT / 16), BASE_SEED));
test('fuzz: random loops guarded by may_goto inside a bpf-to-bpf call behave as in the kernel', (t) =>
  fuzz(t, { loop: true, mayGoto: true, call: true }, Math.ceil(COUNT / 16), BASE_SEED));
// Bodies of 250-400 instructions: the compiled engine's WebAssembly tier takes programs of 300 and more.
test('fuzz: long random programs behave as in the kernel', (t) => fuzz(t, { long: true }, Math.ceil(COUNT / 20), BASE_SEED));

function fuzz(t: TestContext, shape: Shape, COUNT: number, BASE_SEED: number): void {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-fuzz-'));
  let accepted = 0;
  let rejected = 0;
  let matching = 0;
  const rejections = new Map<string, number>();
  const failures: string[] = [];
  try {
    for (let i = 0; i < COUNT; i++) {
      const seed = (BASE_SEED + i) >>> 0;
      const g = generateProgram(seed, shape);
      const s = join(dir, `fuzz.s`);
      const o = join(dir, `fuzz.o`);
      writeFileSync(s, g.asm);
      const mc = spawnSync('llvm-mc', ['-triple', 'bpf', '-mcpu=v3', '-filetype=obj', s, '-o', o], { encoding: 'utf8' });
      assert.equal(mc.status, 0, `llvm-mc failed on seed ${seed}: ${mc.stderr}`);
      const packets = fuzzPackets(seed);
      let kernel;
      try {
        kernel = runKernel(o, 'fuzz', packets);
      } catch (e) {
        if (!(e instanceof KernelLoadError)) throw e;
        rejected++;
        const reason = e.log.split('\n').filter((l) => l.trim() && !l.startsWith('libbpf') && !/^\s*(processed|\d+:|;)/.test(l)).pop() ?? '?';
        rejections.set(reason, (rejections.get(reason) ?? 0) + 1);
        continue;
      }
      accepted++;
      const obj = loadProgramFile(o);
      const session = new Session(obj, { program: 'fuzz', nrCpus: kernel.cpus, cpu: 0, engine: 'compiled' });
      // The two engines against each other too: everything observable of each packet's run, not only what the kernel
      // shows (steps, exit slot, fault kind and message).
      const reference = new Session(obj, { program: 'fuzz', nrCpus: kernel.cpus, cpu: 0, engine: 'interp' });
      const problems: string[] = [];
      packets.forEach((p, n) => {
        const k = kernel.results[n];
        const r = session.runPacket(p);
        const a = observe(reference.runPacket(p));
        const b = observe(r);
        if (a !== b) problems.push(`packet ${n}: engines differ: interp ${a.slice(0, 300)} compiled ${b.slice(0, 300)}`);
        if (r.fault) problems.push(`packet ${n}: simulator fault: ${r.fault.message} at insn ${r.fault.insn}`);
        if (k.retval !== r.retval) problems.push(`packet ${n}: retval kernel ${k.retval} sim ${r.retval}`);
        const d = diffBytes(k.out, r.out);
        if (d) problems.push(`packet ${n}: data_out ${d} (64.. = r0,r1,r2,r3,r4,r5,r9; 120.. = fp-8..fp-64)`);
      });
      if (problems.length === 0) {
        matching++;
      } else {
        const outDir = join(REPO, 'test-output', 'fuzz');
        mkdirSync(outDir, { recursive: true });
        const file = join(outDir, `seed-${seed}${shape.loop || shape.call ? '-loop-call' : ''}${shape.mayGoto ? '-may-goto' : ''}${shape.long ? '-long' : ''}.s`);
        writeFileSync(file, g.asm);
        failures.push(`seed ${seed} (${file}):\n    ${problems.join('\n    ')}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const top = [...rejections.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([r, n]) => `${n}x ${r}`);
  t.diagnostic(`fuzz${shape.loop || shape.call ? ' (loop in a call)' : ''}${shape.mayGoto ? ' (may_goto)' : ''}${shape.long ? ' (long)' : ''}: base seed ${BASE_SEED}, ${COUNT} programs, ${accepted} accepted, ${rejected} rejected by the verifier` +
    `${top.length ? ` (${top.join('; ')})` : ''}, ${matching} matching, ${failures.length} differing`);
  assert.ok(accepted >= COUNT * 0.8, `too many programs rejected by the verifier (${rejected}/${COUNT}): ${top.join('; ')}`);
  assert.equal(failures.length, 0, `${failures.length} of ${accepted} programs differ from the kernel ` +
    `(rerun one with XDP_LENS_FUZZ_SEED=<seed> XDP_LENS_FUZZ_COUNT=1):\n  ${failures.slice(0, 8).join('\n  ')}`);
}
