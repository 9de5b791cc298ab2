// `check` reports, without asking the kernel, the refusals `run` predicts before its first packet from the simulator's
// verifier model (here: a helper size that may be negative, "R2 min value is negative"), one finding on the refused
// line; and none for the variant the kernel loads (fixtures/refusals/sampled_copy.c). With root and bpftool, the
// kernel's verdict on both variants is asserted too (skipped otherwise). Needs clang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFile, clangAvailable, mergeFindings, type Finding } from '../../simulator/analysis/index.ts';
import { kernelVerifierUnavailable, verifyWithKernel } from '../../simulator/analysis/verifier.ts';
import { compileC } from '../../simulator/compile.ts';
import { REPO } from '../repo.ts';

const FILE = join(REPO, 'test', 'analysis', 'fixtures', 'refusals', 'sampled_copy.c');

test('check reports the helper-size refusal run predicts, on the call, without the kernel', async (t) => {
  if (!clangAvailable()) return t.skip('clang is not installed');
  const cacheDir = mkdtempSync(join(tmpdir(), 'xdp-lens-predicted-'));
  try {
    const refused = await analyzeFile(FILE, undefined, { cacheDir });
    const errors = refused.findings.filter((f) => f.severity === 'error');
    assert.equal(errors.length, 1, JSON.stringify(errors));
    const f = errors[0]!;
    assert.equal(f.rule, 'verifier');
    assert.equal(f.tier, 'bytecode');
    assert.equal(f.program, 'sample');
    assert.equal(f.file, FILE);
    assert.equal(f.line, 37); // the bpf_probe_read_kernel call
    // The kernel's words once.
    assert.equal(f.message.split('R2 min value is negative').length, 2, f.message);
    const loads = await analyzeFile(FILE, undefined, { cacheDir, flags: ['-DBOUNDED'] });
    assert.deepEqual(loads.findings.filter((x) => x.severity === 'error'), []);
    const why = kernelVerifierUnavailable();
    if (why) return t.diagnostic(`kernel side not checked: ${why}`);
    for (const [flags, refusedByKernel] of [[[], true], [['-DBOUNDED'], false]] as const) {
      const c = compileC(FILE, { flags: [...flags], cacheDir });
      assert.ok(c.objectPath, c.stderr);
      const k = verifyWithKernel(c.objectPath!, FILE);
      assert.equal(k.skipped, undefined);
      assert.equal(k.findings.length > 0, refusedByKernel, JSON.stringify(k.findings));
      if (refusedByKernel) assert.equal(k.findings[0]!.line, f.line);
    }
    // With the kernel tier too, one finding for the one refusal.
    const both = await analyzeFile(FILE, undefined, { cacheDir, kernel: true });
    assert.equal(both.findings.filter((x) => x.severity === 'error').length, 1, JSON.stringify(both.findings));
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('a predicted refusal on a line where a specific refusal is reported is that one mistake', () => {
  const at = { file: 'a.c', line: 9, column: 3, endLine: 9, endColumn: 20 };
  const nullCheck: Finding = { ...at, severity: 'error', rule: 'map-value-null', message: 'unchecked', tier: 'source', program: 'p' };
  const model: Finding = { ...at, severity: 'error', rule: 'verifier', message: 'The verifier refuses this access', tier: 'bytecode', program: 'p' };
  assert.deepEqual(mergeFindings([nullCheck], [model]).map((f) => f.rule), ['map-value-null']);
  assert.deepEqual(mergeFindings([], [model, { ...nullCheck, tier: 'bytecode' }]).map((f) => f.rule), ['map-value-null']);
  assert.deepEqual(mergeFindings([], [model]).map((f) => f.rule), ['verifier']);
});
