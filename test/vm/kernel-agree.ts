// The helper tests' shared step: a test's own C program, compiled in a temporary directory, run on the same packets
// by the kernel (BPF_PROG_TEST_RUN through the harness) and by the simulator under both engines; retval, the packet
// after the program and (unless told otherwise) every map must agree. Each test then checks that its program really
// took the paths it is about (the kernel's results are returned for that).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session, type PacketResult } from '../../simulator/session.ts';
import { ENGINES, type Engine } from '../../simulator/vm/machine.ts';
import type { TestContext } from 'node:test';
import { helperName } from '../../simulator/isa/helper-names.ts';
import { defaultObjectName, runKernel, type KernelRun } from '../kernel/runner.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { XDP_FORBIDDEN_HELPERS_618, helperIdsCalled, xdpForbiddenHelpers } from '../../simulator/vm/helpers.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';

/** Writes `source` as NAME.bpf.c in a new temporary directory and compiles it; fails the test if clang refuses it. */
export function compileTestSource(name: string, source: string, flags?: string[]): { path: string; objectPath: string } {
  const path = join(mkdtempSync(join(tmpdir(), `xdp-lens-${name}-`)), `${name}.bpf.c`);
  writeFileSync(path, source);
  const compiled = compileC(path, flags ? { flags } : {});
  assert.ok(compiled.objectPath, compiled.stderr);
  return { path, objectPath: compiled.objectPath };
}

export interface AgreeOptions {
  /** Program name (default 'prog'). */
  program?: string;
  /** Run the kernel side in a network namespace of its own (only lo): fib lookups, MTU checks. */
  netns?: boolean;
  /** Compare the maps after the run (default true). */
  maps?: boolean;
  /** Called with each simulated packet, e.g. to count the records a run kept. */
  onPacket?: (engine: Engine, result: PacketResult, index: number) => void;
}

/**
 * Compiles `source`, runs `packets` through the kernel and through a Session per engine, and asserts that they agree
 * (the first ten differences are shown). Returns the kernel's run.
 */
export function assertAgreesWithKernel(name: string, source: string, packets: Uint8Array[], opts: AgreeOptions = {}): KernelRun {
  const program = opts.program ?? 'prog';
  const { path, objectPath } = compileTestSource(name, source);
  const kernel = runKernel(objectPath, program, packets, { objectName: defaultObjectName(path), netns: opts.netns });
  const obj = loadProgramFile(path);
  for (const engine of ENGINES) {
    const session = new Session(obj, { program, nrCpus: kernel.cpus, cpu: 0, engine });
    const problems: string[] = [];
    packets.forEach((bytes, i) => {
      const s = session.runPacket(bytes);
      opts.onPacket?.(engine, s, i);
      const k = kernel.results[i]!;
      if (s.fault) problems.push(`${engine} packet ${i}: simulator fault ${s.fault.kind}: ${s.fault.message}`);
      if (k.retval !== s.retval) problems.push(`${engine} packet ${i}: retval kernel ${k.retval} sim ${s.retval}`);
      const d = diffBytes(k.out, s.out);
      if (d) problems.push(`${engine} packet ${i}: ${d}`);
    });
    if (opts.maps !== false) problems.push(...diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson())));
    assert.deepEqual(problems.slice(0, 10), []);
  }
  return kernel;
}

/** The n-th signed 64-bit little-endian word of a packet (the test programs write their results there). */
export function i64(bytes: Uint8Array, n: number): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset).getBigInt64(n * 8, true));
}

/**
 * A test of what a helper does, on a kernel build that takes that helper from XDP (6.18 gives it): the kernel has no
 * answer to compare with. Checks that run reports the kernel's refusal before the first packet, then skips the test
 * with the reason. True when skipped.
 */
export function skipIfBuildTakesHelper(t: TestContext, name: string, source: string): boolean {
  const { path } = compileTestSource(name, source);
  const obj = loadProgramFile(path);
  const session = new Session(obj, { program: 'prog' });
  const taken = helperIdsCalled(session.program).filter((id) => xdpForbiddenHelpers().has(id) && !XDP_FORBIDDEN_HELPERS_618.has(id));
  if (!taken.length) return false;
  const refusals = refusalsBeforeRun(obj, session.program, session.machine);
  for (const id of taken) {
    assert.ok(refusals.some((r) => new RegExp(`cannot use helper \\w+#${id}\\b`).test(r.message)), `run must report this kernel's refusal of helper ${id}`);
  }
  t.skip(`this kernel build refuses ${taken.map((id) => `${helperName(id) ?? 'helper'}#${id}`).join(', ')} for XDP (6.18 gives it), so it has no answer to compare with; run reports the refusal (checked)`);
  return true;
}
