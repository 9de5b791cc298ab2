// A finding that says the verifier rejects the program quotes the verifier: the quoted words must be in the log the
// running kernel prints when it refuses that program (each program of the fixture loaded alone through bpftool). The
// verifier stops at its first refusal, so only programs with one finding are compared (in the fixtures that load as
// a whole; test/analysis/source-kernel.test.ts compares every program's line and rule).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { kernelVerifierUnavailable, verifyWithKernel } from '../../simulator/analysis/verifier.ts';
import { REPO } from '../repo.ts';
import { buildOnlyRefusal } from '../kernel/runner.ts';

const FIXTURES = [
  'merged/every_rule.c',
  'source/ctx_write.c',
  'source/stale_packet_pointer.c',
].map((f) => join(REPO, 'test', 'analysis', 'fixtures', f));

for (const file of FIXTURES) {
  test(`${file.split('/fixtures/')[1]}: every quoted verifier message is in the kernel's log of that program`, async (t) => {
    const why = kernelVerifierUnavailable();
    if (why) {
      if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(`kernel required: ${why}`);
      t.skip(why);
      return;
    }
    await initSourceAnalysis();
    const dir = join(REPO, 'test', 'analysis', 'fixtures', 'source');
    const compiled = compileC(file, { includeDirs: [dir] });
    assert.ok(compiled.objectPath, compiled.stderr);
    const logs = new Map<string, string>();
    const v = verifyWithKernel(compiled.objectPath!, file);
    assert.equal(v.skipped, undefined);
    for (const l of v.logs) {
      const m = /^program (\S+):\n([\s\S]*)$/.exec(l);
      if (m) logs.set(m[1]!, m[2]!);
    }
    const wrong: string[] = [];
    let checked = 0;
    const findings = analyzeSource(file, readFileSync(file, 'utf8'), { includeDirs: [dir] });
    for (const f of findings) {
      if (!/verifier rejects/.test(f.message) || !f.program || findings.filter((x) => x.program === f.program).length > 1) continue;
      const quote = /"([^"]+)"\)?\.?/.exec(f.message.slice(f.message.indexOf('verifier rejects')))?.[1];
      if (!quote) continue;
      const log = logs.get(f.program);
      // This kernel build refuses a helper 6.18 gives XDP: the verifier stops there, before the quoted refusal.
      if (log && buildOnlyRefusal(log)) {
        t.diagnostic(`${f.program}: this kernel build refuses ${buildOnlyRefusal(log)!.words} for XDP first; not compared`);
        continue;
      }
      checked++;
      if (!log) wrong.push(`${f.line} ${f.rule}: the kernel loads program ${f.program}`);
      else if (!log.includes(quote)) wrong.push(`${f.line} ${f.rule}: "${quote}" is not in the log of ${f.program}:\n${log.split('\n').slice(-6).join('\n')}`);
    }
    assert.deepEqual(wrong, []);
    assert.ok(checked > 0);
  });
}
