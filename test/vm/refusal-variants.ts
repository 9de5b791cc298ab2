// The verifier-refusal tests' shared step: one C source whose variants are chosen by -DV=N, each either refused by the
// kernel (the case names the kernel's words, and the refused line is marked /* E */ in the variant) or loaded. Each
// variant must get the same answer from `run`'s refusals before the first packet (refusalsBeforeRun) and, unless the
// kernel is unavailable (the test then says it skipped), from the running kernel.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';

export interface RefusalCase {
  v: number;
  /** The kernel's words for a refused variant; absent for one it loads. */
  kernel?: string;
}

export interface VariantOptions {
  /** The rule every refusal must carry (e.g. 'gpl-only'). */
  rule?: string;
  /** The line opening variant v (default `#if V == v` / `#elif V == v`). */
  opens?: (v: number) => RegExp;
  /** clang flags besides -DV=N (e.g. -mcpu=v3). */
  flags?: string[];
}

/** The source line (1-based) marked /* E *\/ in variant v's block, -1 if none. */
export function markedLine(source: string, v: number, opens: (v: number) => RegExp = (n) => new RegExp(`^#(el)?if V == ${n}$`)): number {
  const lines = source.split('\n');
  const start = lines.findIndex((l) => opens(v).test(l));
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('#'); i++) if (lines[i]!.includes('/* E */')) return i + 1;
  return -1;
}

/** Compiles each variant of `source` (program `prog`) and checks run's refusal and the kernel's answer against the case. */
export function checkRefusalVariants(t: TestContext, name: string, source: string, cases: RefusalCase[], opts: VariantOptions = {}): void {
  const kernel = !kernelOrSkip(t);
  for (const c of cases) {
    const flags = [`-DV=${c.v}`, ...(opts.flags ?? [])];
    const { path, objectPath } = compileTestSource(`${name}${c.v}`, source, flags);
    const obj = loadProgramFile(path, { clangFlags: flags });
    const program = obj.programs.find((p) => p.name === 'prog')!;
    const r = refusalsBeforeRun(obj, program, createMachine(obj, {}));
    if (c.kernel) {
      assert.equal(r.length, 1, `V=${c.v}: ${JSON.stringify(r)}`);
      if (opts.rule) assert.equal(r[0]!.rule, opts.rule, `V=${c.v}: rule`);
      assert.equal(r[0]!.line, markedLine(source, c.v, opts.opens), `V=${c.v}: line`);
      assert.ok(r[0]!.message.includes(c.kernel), `V=${c.v}: ${r[0]!.message}`);
    } else assert.deepEqual(r, [], `V=${c.v}: not reported`);
    if (kernel) {
      const log = kernelRefusal(objectPath, 'prog');
      if (c.kernel) assert.ok(log.includes(c.kernel), `V=${c.v}: the kernel says ${log.slice(-300)}`);
      else assert.equal(log, '', `V=${c.v}: the kernel loads it`);
    }
  }
}
