// A number stored in the stack off an 8-byte slot start is forgotten by the 6.18 verifier (check_stack_write_fixed_off
// marks those bytes STACK_MISC; only a spill at a slot start keeps the value), so a branch on it read back is walked
// both ways. The bytecode tier must forget it too, or it prunes a path the kernel walks and misses its refusal
// (found on tk154/eBPF-Firewall bpfw.c: the protocol byte of a flow key at fp-138 decided, in the tier only, that a
// packet pointer spilled on the UDP path is never masked as TCP flags). fixtures/stack-misc/unaligned_const.c.
// Needs clang and root with bpftool (skips with the reason otherwise; fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clangAvailable } from '../../simulator/analysis/index.ts';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { REPO } from '../repo.ts';

const SRC = join(REPO, 'test', 'analysis', 'fixtures', 'stack-misc', 'unaligned_const.c');

test('a constant stored off a stack slot start is unknown when read back, as the verifier sees it', (t) => {
  if (!clangAvailable()) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail('clang is not installed');
    return t.skip('clang is not installed');
  }
  if (kernelOrSkip(t)) return;
  const cacheDir = mkdtempSync(join(tmpdir(), 'xdp-lens-stack-misc-'));
  try {
    const seen: Record<string, { kernel: string; run: string[] }> = {};
    for (const flags of [[], ['-DALIGNED']]) {
      const compiled = compileC(SRC, { flags, cacheDir });
      assert.ok(compiled.objectPath, compiled.stderr);
      const log = kernelRefusal(compiled.objectPath!, 'unaligned_const');
      const obj = loadProgramFile(compiled.objectPath!);
      const session = new Session(obj, { engine: 'interp' });
      const run = refusalsBeforeRun(obj, session.program, session.machine).map((r) => `${r.line}: ${r.message}`);
      seen[flags.join(' ') || 'unaligned'] = { kernel: /bitwise operator &= on pointer prohibited/.test(log) ? 'refused' : log ? log : 'loaded', run };
    }
    assert.deepEqual(seen, {
      // The bounds walk (verifier-bounds.ts) reads the byte back as any value too since 5e2ba23 and says it first, in the
      // kernel's words with the register; the bytecode tier's finding on the same line is then not repeated.
      unaligned: { kernel: 'refused', run: ['16: The verifier refuses this instruction: R2 bitwise operator &= on pointer prohibited (a pointer may only be moved by adding or subtracting a number, in 64 bits).'] },
      '-DALIGNED': { kernel: 'loaded', run: [] },
    });
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
