// Differential fuzzing of helpers and maps against the kernel: random C programs from cgen.ts (adjust head/tail/meta,
// load/store bytes, csum_diff, direct packet access, every hash/array/LRU/per-CPU map type with every update flag,
// atomics of both widths and every op, spin locks, bpf_loop, queue/stack, ring buffer, map of maps, fib lookup, check
// MTU, strncmp, tail calls), compiled by clang (-mcpu=v1/v2/v3 (v4 when clang has it), -O1/-O2/-O3), loaded by the kernel (BPF_PROG_TEST_RUN) and
// by the simulator under both engines; every packet's retval and data_out, and every map after the run (including a
// per-packet log of all results), must be the kernel's; an object the kernel refuses, the simulator must refuse. The kernel side runs in a network namespace of its own (lo
// only), the host the simulator models when no routes are given.
// A second test holds `run`'s verdict to the kernel's on random C programs with one mistake the verifier refuses.
// Env: XDP_LENS_CFUZZ_SEED (base seed), XDP_LENS_CFUZZ_COUNT (default 60 under XDP_LENS_REQUIRE_KERNEL=1, else 25),
// XDP_LENS_CFUZZ_MISTAKES (default 18).
// A mismatch names the seed and writes the program to test-output/cfuzz/seed-<seed>.c.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { RefusalLog, refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { buildOnlyRefusal, defaultObjectName, KernelLoadError, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { REPO } from '../repo.ts';
import { C_MISTAKES, cfuzzPackets, generateCProgram } from './cgen.ts';

const BASE_SEED = Number(process.env.XDP_LENS_CFUZZ_SEED ?? 0xc0ffee);
const COUNT = Number(process.env.XDP_LENS_CFUZZ_COUNT ?? (process.env.XDP_LENS_REQUIRE_KERNEL === '1' ? 60 : 25));

test('cfuzz: random C programs using helpers and maps behave as in the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-cfuzz-'));
  let accepted = 0;
  const rejected: string[] = [];
  const buildRefused: string[] = [];
  const kernelBugs: number[] = [];
  const failures: string[] = [];
  try {
    for (let i = 0; i < COUNT; i++) {
      const seed = (BASE_SEED + i) >>> 0;
      const g = generateCProgram(seed);
      const path = join(dir, `cfuzz.bpf.c`);
      writeFileSync(path, g.source);
      const compiled = compileC(path, { flags: [g.mcpu, g.opt] });
      assert.ok(compiled.objectPath, `seed ${seed}: clang failed: ${compiled.stderr}`);
      const packets = cfuzzPackets(seed, 12, g.frags);
      let kernel;
      try {
        kernel = runKernel(compiled.objectPath, 'fuzz', packets, { objectName: defaultObjectName(path), netns: true });
      } catch (e) {
        if (!(e instanceof KernelLoadError)) throw e;
        // What the kernel refuses, the simulator must refuse too (the generator stays within what the verifier
        // accepts; what it refuses is the loader's business: a program array mixing xdp.frags and plain programs).
        // Refused as `run` reports it: the loader refuses the object, or verifier-refusals.ts names a refusal before the
        // first packet, or a packet's fault proves one (under either engine).
        // A helper this kernel build takes from XDP though 6.18 gives it (runner.ts buildOnlyRefusal): run must name
        // it before the first packet under each engine; then it agrees, and it is counted apart from the share loaded.
        const build = buildOnlyRefusal(e.log);
        let simLoads = true;
        const buildMissed: string[] = [];
        try {
          const o = loadProgramFile(path, { flags: [g.mcpu, g.opt] });
          for (const engine of ['compiled', 'interp'] as const) {
            const session = new Session(o, { program: 'fuzz', nrCpus: 2, cpu: 0, engine });
            const log = new RefusalLog(refusalsBeforeRun(o, session.program, session.machine));
            if (build && !log.list.some((x) => x.message.includes(`cannot use helper ${build.words}`))) buildMissed.push(engine);
            for (const bytes of packets) log.fault(session.runPacket(bytes).fault);
            if (log.list.length) simLoads = false;
          }
        } catch {
          simLoads = false;
        }
        if (build) {
          buildRefused.push(`seed ${seed}: ${build.words}`);
          if (buildMissed.length) failures.push(`seed ${seed} (${g.opt} ${g.mcpu}; ${g.kinds.join(' ')}): this kernel build refuses it (${build.words}), run does not say so before the first packet under ${buildMissed.join(' and ')}`);
          continue;
        }
        // "verifier bug: ..." (EFAULT) is the kernel failing itself: nothing to hold the simulator to, except "No program
        // to jit" (a bpf_loop(0, cb) callback deleted as dead code while the call names it, verifier-dead-callback.ts),
        // which run reports.
        const kernelBug = /verifier bug/.test(e.log) && !/No program to jit/.test(e.log);
        if (kernelBug) kernelBugs.push(seed);
        else if (simLoads) failures.push(`seed ${seed} (${g.opt} ${g.mcpu}; ${g.kinds.join(' ')}): the kernel refuses it, the simulator loads it`);
        rejected.push(`seed ${seed}: ${e.log.split('\n').filter((l) => l.trim() && !l.startsWith('libbpf') && !/^\s*(processed|\d+:|;)/.test(l)).pop() ?? '?'}`);
        continue;
      }
      accepted++;
      const obj = loadProgramFile(path, { flags: [g.mcpu, g.opt] });
      const problems: string[] = [];
      for (const engine of ['compiled', 'interp'] as const) {
        const session = new Session(obj, { program: 'fuzz', nrCpus: kernel.cpus, cpu: 0, engine });
        const before = refusalsBeforeRun(obj, session.program, session.machine);
        if (before.length) problems.push(`${engine}: the kernel loads it, run would say it refuses: ${before.map((x) => `${x.rule}@${x.line}: ${x.message}`).join('; ').slice(0, 300)}`);
        packets.forEach((bytes, n) => {
          const s = session.runPacket(bytes);
          const k = kernel.results[n]!;
          if (s.fault) problems.push(`${engine} packet ${n}: simulator fault ${s.fault.kind}: ${s.fault.message}`);
          if (k.retval !== s.retval) problems.push(`${engine} packet ${n}: retval kernel ${k.retval} sim ${s.retval}`);
          const d = diffBytes(k.out, s.out);
          if (d) problems.push(`${engine} packet ${n}: data_out ${d}`);
        });
        problems.push(...diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson())).map((m) => `${engine} ${m}`));
      }
      if (problems.length) {
        const out = join(REPO, 'test-output', 'cfuzz');
        mkdirSync(out, { recursive: true });
        writeFileSync(join(out, `seed-${seed}.c`), `// ${g.opt} ${g.mcpu}; ${g.kinds.join(' ')}\n${g.source}`);
        failures.push(`seed ${seed} (${g.opt} ${g.mcpu}; ${g.kinds.join(' ')}):\n    ${problems.slice(0, 6).join('\n    ')}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.diagnostic(`cfuzz: base seed ${BASE_SEED}, ${COUNT} programs, ${accepted} accepted, ${buildRefused.length} refused by this kernel build for a helper 6.18 gives XDP (run refuses them too: not compared), ` +
    `${rejected.length} refused otherwise by the kernel (${kernelBugs.length} of them "verifier bug"${kernelBugs.length ? `: seeds ${kernelBugs.join(', ')}` : ''}), ${failures.length} differing`);
  for (const x of buildRefused) t.diagnostic(`refused by this kernel build: ${x}`);
  assert.ok(accepted >= (COUNT - buildRefused.length) * 0.8, `too many programs refused by the verifier:\n  ${rejected.slice(0, 8).join('\n  ')}`);
  assert.equal(failures.length, 0, `${failures.length} of ${accepted} programs differ from the kernel:\n  ${failures.slice(0, 6).join('\n  ')}`);
});

// The verdict on random C programs with one mistake the verifier refuses (cgen.ts C_MISTAKES: references, spin locks,
// callbacks, map values, NULL checks, .rodata, packet bounds): the kernel must refuse each (else the generator is
// wrong), and `run` must report a refusal under both engines (before the first packet, or proved by a packet's fault).
// Env: XDP_LENS_CFUZZ_MISTAKES (default 18: each mistake twice).
const MISTAKES = Number(process.env.XDP_LENS_CFUZZ_MISTAKES ?? 18);

test('cfuzz: random C programs with one mistake are refused as by the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-cfuzz-m-'));
  const failures: string[] = [];
  const tally = new Map<string, [number, number]>();
  try {
    for (let i = 0; i < MISTAKES; i++) {
      const seed = (BASE_SEED + 100000 + i) >>> 0;
      const mistake = C_MISTAKES[i % C_MISTAKES.length]!;
      const g = generateCProgram(seed, mistake);
      const path = join(dir, 'cfuzz.bpf.c');
      writeFileSync(path, g.source);
      const compiled = compileC(path, { flags: [g.mcpu, g.opt] });
      assert.ok(compiled.objectPath, `seed ${seed} (${mistake}): clang failed: ${compiled.stderr}`);
      const packets = cfuzzPackets(seed, 12, g.frags);
      let loads = true;
      try {
        runKernel(compiled.objectPath, 'fuzz', packets, { objectName: defaultObjectName(path), netns: true });
      } catch (e) {
        if (!(e instanceof KernelLoadError)) throw e;
        loads = false;
      }
      const refusedBy: string[] = [];
      try {
        const o = loadProgramFile(path, { flags: [g.mcpu, g.opt] });
        for (const engine of ['compiled', 'interp'] as const) {
          const session = new Session(o, { program: 'fuzz', nrCpus: 2, cpu: 0, engine });
          const log = new RefusalLog(refusalsBeforeRun(o, session.program, session.machine));
          for (const bytes of packets) log.fault(session.runPacket(bytes).fault);
          if (log.list.length) refusedBy.push(engine);
        }
      } catch {
        refusedBy.push('compiled', 'interp');
      }
      const row = tally.get(mistake) ?? [0, 0];
      row[0]++;
      if (!loads && refusedBy.length === 2) row[1]++;
      tally.set(mistake, row);
      if (loads) failures.push(`seed ${seed} (${mistake}): the kernel loads it (the generator is wrong)`);
      else if (refusedBy.length !== 2) {
        const out = join(REPO, 'test-output', 'cfuzz');
        mkdirSync(out, { recursive: true });
        writeFileSync(join(out, `mistake-seed-${seed}-${mistake}.c`), `// ${g.opt} ${g.mcpu}; ${g.kinds.join(' ')}\n${g.source}`);
        failures.push(`seed ${seed} (${mistake}, ${g.opt} ${g.mcpu}): the kernel refuses it, run reports no refusal under ${['compiled', 'interp'].filter((e) => !refusedBy.includes(e)).join(' and ')}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.diagnostic(`cfuzz mistakes: base seed ${BASE_SEED + 100000}, ${MISTAKES} programs; agreed per mistake: ${[...tally].map(([k, [n, a]]) => `${k} ${a}/${n}`).join(', ')}`);
  assert.equal(failures.length, 0, failures.slice(0, 8).join('\n  '));
});
