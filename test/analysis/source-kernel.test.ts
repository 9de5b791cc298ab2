// The source tier against the kernel verifier: each program of a fixture is cut out into a file of its own (with
// everything else the fixture defines), compiled and loaded into the running kernel. The as-you-type tier must report
// a finding of the rule exactly when the kernel refuses the program, on the line the verifier's log names. A program
// marked `// kernel: skip (why)` on its SEC line is one the tier leaves to the bytecode tier on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bytecodeFindings } from '../../simulator/analysis/index.ts';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { kernelVerifierUnavailable } from '../../simulator/analysis/verifier.ts';
import { buildOnlyRefusal } from '../kernel/runner.ts';

const DIR = resolve('test/analysis/fixtures/source');

/** The fixture's programs: from each `SEC("xdp...")` line to the `}` that closes the function at column 0. */
function programs(lines: string[]): { name: string; start: number; end: number; skip?: string }[] {
  const out: { name: string; start: number; end: number; skip?: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^SEC\("xdp/.test(lines[i])) continue;
    const name = /(\w+)\s*\(/.exec(lines[i + 1] ?? '')?.[1] ?? `line${i + 1}`;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '}') end++;
    out.push({ name, start: i, end, skip: /\/\/\s*kernel:\s*skip\s*(.*)$/.exec(lines[i])?.[1] });
  }
  return out;
}

// The rules whose messages say the verifier refuses the program, each checked on its fixture (with the least number
// of refused programs the fixture must exercise). readonly-write's fixture holds stores clang itself refuses.
for (const [fixture, rule, least] of [
  ['map_value_null.c', 'map-value-null', 5],
  ['unchecked_packet_access.c', 'unchecked-packet-access', 5],
  ['stale_packet_pointer.c', 'stale-packet-pointer', 3],
  ['ctx_write.c', 'ctx-write', 3],
] as const) {
  test(`${fixture}: the source tier reports ${rule} exactly where the kernel verifier refuses a program`, async (t) => {
    const why = kernelVerifierUnavailable();
    if (why) {
      if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(`kernel required: ${why}`);
      t.skip(why);
      return;
    }
    await initSourceAnalysis();
    const lines = readFileSync(join(DIR, fixture), 'utf8').split('\n');
    const all = programs(lines);
    const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-source-kernel-'));
    const disagreements: string[] = [];
    let refused = 0;
    for (const p of all) {
      if (p.skip !== undefined) continue;
      // Other programs' lines are blanked, so line numbers stay those of the fixture.
      const text = lines.map((l, i) => (all.some((o) => o !== p && i >= o.start && i <= o.end) ? '' : l)).join('\n');
      const path = join(dir, `${p.name}.c`);
      writeFileSync(path, text);
      const r = bytecodeFindings(path, { kernel: true, includeDirs: [DIR] });
      const compileErrors = r.findings.filter((f) => f.rule === 'compile-error');
      assert.deepEqual(compileErrors.map((f) => f.message), [], `${p.name} does not compile`);
      const kernel = r.findings.filter((f) => f.tier === 'verifier');
      // This kernel build refuses a helper 6.18 gives XDP: the verifier stops there, before what the rule is about.
      const taken = kernel.map((f) => buildOnlyRefusal(f.message)).find((b) => b !== undefined);
      if (taken) {
        t.diagnostic(`${p.name}: this kernel build refuses ${taken.words} for XDP first; not compared`);
        continue;
      }
      const ours = analyzeSource(path, text, { includeDirs: [DIR] }).filter((f) => f.rule === rule);
      if (kernel.length) refused++;
      // The verifier names the line of the instruction; a finding in a header is matched by ours at the call here.
      const agrees =
        kernel.length === 0
          ? ours.length === 0
          : ours.length > 0 && kernel.every((k) => k.file !== path || ours.some((o) => o.line === k.line && (k.rule === rule || k.rule === 'verifier')));
      if (!agrees) {
        disagreements.push(
          `${p.name}: kernel [${kernel.map((f) => `${f.rule}@${f.line}`).join(', ')}] vs source tier [${ours.map((f) => `${f.rule}@${f.line}`).join(', ')}]`,
        );
      }
    }
    assert.deepEqual(disagreements, []);
    assert.ok(refused >= least, `the fixture exercises refusals (${refused})`);
  });
}
