// Both tiers merged, as `xdp-lens check` and the editor show them: each file under fixtures/merged marks every
// finding it must get with `// expect: <rule>` on its line. The findings must be exactly those, one per marker: a
// mistake found by both tiers is shown once, and the bytecode tier puts findings about a returned value on the
// `return` statement (through the marked twin), where the source tier puts them, whatever line clang gave the
// instruction that set the value. `// cflag: X` adds a clang flag, `// driver: MODE` sets the driver mode.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { analyzeFile, bytecodeFindings, mergeFindings } from '../../simulator/analysis/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { RETURN_RULES } from '../../simulator/analysis/bytecode.ts';
import { formatText } from '../../simulator/analysis/report.ts';
import { REPO } from '../repo.ts';
import type { DriverMode } from '../../simulator/driver/profiles.ts';
import { sentences } from './sentences.ts';

const HAVE_CLANG = !spawnSync('clang', ['--version']).error;
const skip = HAVE_CLANG ? false : 'clang not installed (apt-get install clang llvm libbpf-dev)';
const DIR = join(REPO, 'test', 'analysis', 'fixtures', 'merged');
const cacheDir = mkdtempSync(join(tmpdir(), 'xdp-lens-merged-test-'));

function expected(text: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    const m = /\/\/\s*expect:\s*([\w-]+(?:\s*,\s*[\w-]+)*)/.exec(line);
    if (m) for (const rule of m[1].split(',')) out.push(`${rule.trim()}@${i + 1}`);
  });
  return out.sort();
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.c')).sort();

describe('both tiers: one finding per mistake, on its line', { skip }, () => {
  for (const name of files) {
    const file = join(DIR, name);
    const text = readFileSync(file, 'utf8');
    const flags = [...text.matchAll(/\/\/ cflag: (\S+)/g)].map((m) => m[1]);
    const driverMode = /\/\/ driver: ([\w-]+)/.exec(text)?.[1] as DriverMode | undefined;
    test(`${name}: exactly the marked findings, none twice`, async () => {
      const r = await analyzeFile(file, undefined, { cacheDir, flags, driverMode });
      const got = r.findings.filter((f) => f.file === file).map((f) => `${f.rule}@${f.line}`).sort();
      assert.deepEqual(got, expected(text), r.findings.map((f) => `${f.line}:${f.column} ${f.tier} ${f.rule}: ${f.message}`).join('\n'));
      for (const f of r.findings) assert.ok(sentences(f.message) <= 2, `more than two sentences: ${f.message}`);
      // The fixture's own headers: their marked findings, once each.
      for (const h of [...text.matchAll(/#include "([\w.]+\.h)"/g)].map((m) => join(DIR, m[1]))) {
        const inHeader = r.findings.filter((f) => resolve(f.file) === h).map((f) => `${f.rule}@${f.line}`).sort();
        assert.deepEqual(inHeader, expected(readFileSync(h, 'utf8')), `${h}: ${r.findings.map((f) => `${f.file}:${f.line} ${f.tier} ${f.rule}`).join('\n')}`);
      }
    });
    test(`${name}: the same with 32-bit ALU code (-mcpu=v3: comparisons of w registers)`, async () => {
      const r = await analyzeFile(file, undefined, { cacheDir, flags: [...flags, '-mcpu=v3'], driverMode });
      const got = r.findings.filter((f) => f.file === file).map((f) => `${f.rule}@${f.line}`).sort();
      assert.deepEqual(got, expected(text), r.findings.map((f) => `${f.line}:${f.column} ${f.tier} ${f.rule}: ${f.message}`).join('\n'));
    });
    test(`${name}: the bytecode tier alone puts returned-value findings on marked return lines`, () => {
      const r = bytecodeFindings(file, { cacheDir, flags, driverMode });
      const want = new Set(expected(text));
      for (const f of r.findings.filter((x) => RETURN_RULES.has(String(x.rule)))) {
        // On the marked line, or on the program's `return` of a callee's value (the source tier reports that mistake in
        // the callee, and the merge shows it once there).
        assert.ok(want.has(`${f.rule}@${f.line}`) || /^\s*return\b/.test(text.split('\n')[f.line - 1] ?? ''), `bytecode ${f.rule} on line ${f.line}: ${text.split('\n')[f.line - 1]}`);
        assert.equal(f.onReturn, true);
        assert.match(text.split('\n')[f.line - 1].slice(f.column - 1), /^\S/);
      }
    });
  }
});

test('a mistake repeated on many lines: one text, each repeat links to the first', () => {
  const at = (line: number): Finding => ({
    file: 'a.c', line, column: 3, endLine: line, endColumn: 9, severity: 'error', rule: 'readonly-page-write', tier: 'source',
    message: 'Store into packet memory: with a driver that gives the program a read-only page, the write faults.',
  });
  const merged = mergeFindings([at(12), at(10), at(11)], [{ ...at(11), tier: 'bytecode' }]);
  assert.deepEqual(merged.map((f) => f.line), [10, 11, 12]);
  assert.equal(merged[0].related, undefined);
  for (const f of merged.slice(1)) assert.deepEqual(f.related?.map((r) => r.line), [10]);
});

test('a bytecode finding the source tier made on another line is shown once, whatever line each chose', () => {
  const f = (tier: Finding['tier'], file: string, line: number, program = 'prog', rule = 'map-value-null'): Finding => ({
    file, line, column: 2, endLine: line, endColumn: 9, severity: 'error', rule, tier, program, message: `${tier} ${line}`,
  });
  // The same mistake: the source tier at the macro call in a.c, the bytecode tier in the header the store is in.
  assert.deepEqual(mergeFindings([f('source', 'a.c', 30)], [f('bytecode', 'a.h', 4)]).map((x) => `${x.tier} ${x.file}:${x.line}`), ['source a.c:30']);
  // Two mistakes of one rule, the source tier saw one: the nearest bytecode finding is its twin, the other is shown.
  assert.deepEqual(
    mergeFindings([f('source', 'a.c', 30)], [f('bytecode', 'a.c', 31), f('bytecode', 'a.c', 60)]).map((x) => `${x.tier} ${x.line}`),
    ['source 30', 'bytecode 60'],
  );
  // A matched line takes no part in pairing: the bytecode finding on another line is another mistake.
  assert.deepEqual(
    mergeFindings([f('source', 'a.c', 30)], [f('bytecode', 'a.c', 30), f('bytecode', 'a.c', 33)]).map((x) => `${x.tier} ${x.line}`),
    ['source 30', 'bytecode 33'],
  );
  // Another program or another rule is never the same mistake.
  assert.equal(mergeFindings([f('source', 'a.c', 30, 'one')], [f('bytecode', 'a.c', 31, 'two')]).length, 2);
  assert.equal(mergeFindings([f('source', 'a.c', 30)], [f('bytecode', 'a.c', 31, 'prog', 'readonly-write')]).length, 2);
});

test('check --format text prints related places as notes after their finding, as compilers do', () => {
  const f: Finding = {
    file: 'a.c', line: 12, column: 3, endLine: 12, endColumn: 9, severity: 'error', rule: 'map-value-null', tier: 'source',
    message: '`v` may be NULL here.', related: [{ file: 'a.c', line: 10, column: 1, endLine: 10, endColumn: 1, message: 'bpf_map_lookup_elem() may return NULL here' }],
  };
  assert.equal(formatText([f]), 'a.c:12:3: error: `v` may be NULL here. [map-value-null]\na.c:10:1: note: bpf_map_lookup_elem() may return NULL here');
});

test('one refusal per statement: a bytecode refusal of another rule on the line of a source refusal is not shown', () => {
  const f = (tier: Finding['tier'], rule: string, line = 19): Finding => ({
    file: 'a.c', line, column: 2, endLine: line, endColumn: 9, severity: 'error', rule, tier, program: 'p', message: `${tier} ${rule}`,
  });
  // `ctx->data_end -= 4;`: a context store to the source tier, arithmetic on data_end to the bytecode tier.
  assert.deepEqual(mergeFindings([f('source', 'ctx-write')], [f('bytecode', 'unchecked-packet-access')]).map((x) => x.rule), ['ctx-write']);
  // A finding that is not a refusal (the returned value) stays beside it.
  assert.deepEqual(mergeFindings([f('source', 'unchecked-packet-access')], [f('bytecode', 'invalid-action')]).map((x) => x.rule), ['invalid-action', 'unchecked-packet-access']);
});
