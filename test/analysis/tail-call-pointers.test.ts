// A packet pointer used after a failed bpf_tail_call: the kernel's verifier (6.18, measured) keeps the pointers of the
// function that tail-calls, and refuses the caller's after a subprogram that tail-calls. `check` (both tiers, merged)
// must report stale-packet-pointer exactly when the kernel refuses the program, for the call made in the program, in
// an __always_inline helper and in a noinline subprogram (fixtures/tailcall/tail_call_pointers.c). Needs clang, and
// root with bpftool for the kernel's side (skips with the reason otherwise; fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFile, clangAvailable } from '../../simulator/analysis/index.ts';
import { kernelVerifierUnavailable, verifyWithKernel } from '../../simulator/analysis/verifier.ts';
import { compileC } from '../../simulator/compile.ts';
import { REPO } from '../repo.ts';

const FILE = join(REPO, 'test', 'analysis', 'fixtures', 'tailcall', 'tail_call_pointers.c');

test('stale-packet-pointer after bpf_tail_call is reported exactly when the kernel refuses the program', async (t) => {
  const why = !clangAvailable() ? 'clang is not installed' : kernelVerifierUnavailable();
  if (why) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(`kernel required: ${why}`);
    return t.skip(why);
  }
  const cacheDir = mkdtempSync(join(tmpdir(), 'xdp-lens-tailcall-'));
  try {
    const seen: Record<string, { kernel: boolean; check: boolean }> = {};
    for (const [name, flags] of [['in the program', []], ['in an __always_inline helper', ['-DINLINE']], ['in a noinline subprogram', ['-DSUB']]] as const) {
      const c = compileC(FILE, { flags: [...flags], cacheDir });
      assert.ok(c.objectPath, c.stderr);
      const k = verifyWithKernel(c.objectPath!, FILE);
      assert.equal(k.skipped, undefined);
      const r = await analyzeFile(FILE, undefined, { flags: [...flags], cacheDir });
      seen[name] = { kernel: k.findings.length > 0, check: r.findings.some((f) => f.rule === 'stale-packet-pointer') };
    }
    assert.deepEqual(seen, {
      'in the program': { kernel: false, check: false },
      'in an __always_inline helper': { kernel: false, check: false },
      'in a noinline subprogram': { kernel: true, check: true },
    });
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
