// Differential fuzzing of the verdict itself: does the kernel load the program at all? Random programs from gen.ts, each
// with one mistake the verifier refuses (gen.ts DEFECTS: a register never written, stack accesses outside the frame,
// ctx stores and bad ctx loads, packet accesses past the proven range, a scalar dereferenced, constant divisors 0 and
// shifts out of range, dead code, an endless loop, LD_ABS, an unknown helper, reserved fields, r10 written, pointer
// arithmetic the verifier forbids, a stack pointer minus a number, a scalar minus a pointer, load-acquire/store-release
// on the packet or ctx, a helper given something other than the context or an argument never written or packet memory
// it may not take or a length 0, calls nine frames deep, frames over 512 bytes together, a packet load at a variable
// offset not checked again), and every fifth with none. The kernel's verdict (BPF_PROG_TEST_RUN through
// test/kernel/runner.ts) must be XDP Lens's under both engines: what `run` reports as refused (verifier-refusals.ts:
// before the first packet, or proved by a packet's fault) must be exactly what the kernel refuses; a program the
// kernel loads must run with no refusal and give the kernel's retval and data_out.
// KNOWN_GAPS are mistakes the simulator cannot tell yet (it has no pointer types at run time): counted and printed, and
// the kernel must still refuse them (so the list stays true), but they do not fail the test.
// Env: XDP_LENS_REFUSAL_SEED (base seed), XDP_LENS_REFUSAL_COUNT (default 230: every defect five times, plus controls).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { RefusalLog, refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { KernelLoadError, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { diffBytes } from '../parity/compare.ts';
import { REPO } from '../repo.ts';
import { DEFECTS, fuzzPackets, generateProgram, type Defect } from './gen.ts';

const BASE_SEED = Number(process.env.XDP_LENS_REFUSAL_SEED ?? 0x7ef05a1);
const COUNT = Number(process.env.XDP_LENS_REFUSAL_COUNT ?? 230);

/** Mistakes the simulator does not see yet: the verifier refuses them from register types (pointer or scalar), which
 * the engines do not keep (a pointer is a number with the same bits). */
const KNOWN_GAPS: ReadonlySet<Defect> = new Set([]);

test('refusals: the simulator refuses exactly the random programs the kernel refuses, under both engines', (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-refusals-'));
  const tally = new Map<string, { n: number; kernelRefused: number; agreed: number }>();
  const failures: string[] = [];
  const gaps: string[] = [];
  try {
    for (let i = 0; i < COUNT; i++) {
      const seed = (BASE_SEED + i) >>> 0;
      const defect: Defect | undefined = i % 5 === 4 ? undefined : DEFECTS[Math.floor(i - Math.floor(i / 5)) % DEFECTS.length];
      const name = defect ?? 'none';
      const g = generateProgram(seed, { defect });
      const s = join(dir, 'refusal.s');
      const o = join(dir, 'refusal.o');
      writeFileSync(s, g.asm);
      const mc = spawnSync('llvm-mc', ['-triple', 'bpf', '-mcpu=v3', '-filetype=obj', s, '-o', o], { encoding: 'utf8' });
      assert.equal(mc.status, 0, `llvm-mc failed on seed ${seed} (${name}): ${mc.stderr}`);
      const packets = fuzzPackets(seed);
      let kernel: ReturnType<typeof runKernel> | undefined;
      let why = '';
      try {
        kernel = runKernel(o, 'fuzz', packets);
      } catch (e) {
        if (!(e instanceof KernelLoadError)) throw e;
        why = e.log.split('\n').filter((l) => l.trim() && !l.startsWith('libbpf') && !/^\s*(processed|\d+:|;|--)/.test(l)).slice(-2).join(' / ');
      }
      const obj = loadProgramFile(o);
      const problems: string[] = [];
      let simRefused = 0;
      for (const engine of ['interp', 'compiled'] as const) {
        const session = new Session(obj, { program: 'fuzz', nrCpus: kernel?.cpus ?? 1, cpu: 0, engine });
        const log = new RefusalLog(refusalsBeforeRun(obj, session.program, session.machine));
        packets.forEach((p, n) => {
          const r = session.runPacket(p);
          log.fault(r.fault);
          if (kernel && !log.list.length) {
            const k = kernel.results[n]!;
            if (k.retval !== r.retval) problems.push(`${engine} packet ${n}: retval kernel ${k.retval} sim ${r.retval}`);
            const d = diffBytes(k.out, r.out);
            if (d) problems.push(`${engine} packet ${n}: data_out ${d}`);
          }
        });
        if (log.list.length) simRefused++;
        if (!kernel && !log.list.length) problems.push(`${engine}: the kernel refuses it (${why}), the simulator runs it as loaded`);
        if (kernel && log.list.length) problems.push(`${engine}: the kernel loads it, the simulator says it would refuse: ${log.list.map((x) => x.message).join('; ').slice(0, 300)}`);
      }
      const row = tally.get(name) ?? { n: 0, kernelRefused: 0, agreed: 0 };
      row.n++;
      if (!kernel) row.kernelRefused++;
      if (problems.length === 0) row.agreed++;
      tally.set(name, row);
      if (defect && kernel) failures.push(`seed ${seed} (${name}): the kernel loads a program with this mistake (the generator is wrong)`);
      if (problems.length === 0) continue;
      if (defect && KNOWN_GAPS.has(defect) && !kernel && simRefused === 0) {
        gaps.push(`seed ${seed} (${name})`);
        continue;
      }
      const outDir = join(REPO, 'test-output', 'fuzz');
      mkdirSync(outDir, { recursive: true });
      const file = join(outDir, `refusal-seed-${seed}-${name}.s`);
      writeFileSync(file, g.asm);
      failures.push(`seed ${seed} (${name}, ${file}):\n    ${problems.slice(0, 4).join('\n    ')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = [...tally.entries()].map(([k, v]) => `${k} ${v.agreed}/${v.n}${k === 'none' ? '' : ` (kernel refused ${v.kernelRefused})`}`);
  t.diagnostic(`refusals: base seed ${BASE_SEED}, ${COUNT} programs; agreed per mistake: ${rows.join(', ')}; known gaps missed: ${gaps.length}`);
  assert.equal(failures.length, 0, `${failures.length} programs where the verdict or the run differs from the kernel's:\n  ${failures.slice(0, 8).join('\n  ')}`);
});
