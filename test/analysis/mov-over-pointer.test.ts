// A 32-bit move into a register that held a packet pointer (`r1 = data + 14; if r1 > end ...; w1 = 14`, clang's
// code for a VLAN-aware Ethernet parser) gives that register the constant: `data + w1 + 4 <= end` then proves the
// load at data + w1 + 2. The bytecode walk used to turn the moved constant into an unknown number because of what
// the register held before, and `run` refused a program the 6.18 kernel loads (userspace-xdp's xdp_firewall).
// Fixture fixtures/mov-over-pointer/vlan_off.c: loaded as is and with a sign-extending move (-DSX); refused with a
// 4-byte load (-DUNSAFE), where the finding must stay, on the kernel's line.
// Needs clang and root with bpftool (skips with the reason otherwise; fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clangAvailable } from '../../simulator/analysis/index.ts';
import { analyzeObjectReport } from '../../simulator/analysis/bytecode.ts';
import { verifyWithKernel } from '../../simulator/analysis/verifier.ts';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { REPO } from '../repo.ts';

const SRC = join(REPO, 'test', 'analysis', 'fixtures', 'mov-over-pointer', 'vlan_off.c');

const CASES: { flags: string[]; refused: boolean }[] = [
  { flags: [], refused: false },
  { flags: ['-DSX'], refused: false },
  { flags: ['-DUNSAFE'], refused: true },
];

test('a 32-bit move over a packet pointer keeps the constant: run refuses only what the kernel refuses', (t) => {
  if (!clangAvailable()) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail('clang is not installed');
    return t.skip('clang is not installed');
  }
  if (kernelOrSkip(t)) return;
  const cacheDir = mkdtempSync(join(tmpdir(), 'xdp-lens-mov-over-pointer-'));
  try {
    const seen: Record<string, { kernel: number[]; run: number[]; walk: string[] }> = {};
    const want: Record<string, { kernel: number[]; run: number[]; walk: string[] }> = {};
    for (const c of CASES) {
      const name = c.flags.join(' ') || 'as is';
      const compiled = compileC(SRC, { flags: c.flags, cacheDir });
      assert.ok(compiled.objectPath, compiled.stderr);
      const k = verifyWithKernel(compiled.objectPath!, SRC);
      assert.equal(k.skipped, undefined, k.skipped);
      const kernel = k.findings.filter((f) => f.severity === 'error').map((f) => f.line ?? 0);
      const obj = loadProgramFile(compiled.objectPath!);
      const session = new Session(obj, { engine: 'interp' });
      const run = refusalsBeforeRun(obj, session.program, session.machine).map((r) => r.line ?? 0);
      const walk = analyzeObjectReport({ ...obj, programs: obj.programs.map((p) => ({ ...p, isXdp: true })) }, { keepUnlocated: true })
        .findings.map((f) => f.rule);
      seen[name] = { kernel, run, walk };
      // The kernel's verdict is the fixture's premise; run and the bytecode walk must agree with it.
      want[name] = c.refused
        ? { kernel: [kernel[0] ?? -1], run: [kernel[0] ?? -1], walk: ['unchecked-packet-access'] }
        : { kernel: [], run: [], walk: [] };
    }
    assert.deepEqual(seen, want);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
