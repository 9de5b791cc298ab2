// Both tiers merged, as `xdp-lens check` and the editor show them: each file under fixtures/merged marks every
// finding it must get with `// expect: <rule>` on its line. The findings must be exactly those, one per marker: a
// mistake found by both tiers is shown once, and the bytecode tier puts findings about a returned value on the
// `return` statement (through the marked twin), where the source tier puts them, whatever line clang gave the
// instruction that set the value.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { analyzeFile, bytecodeFindings, mergeFindings } from '../../simulator/analysis/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { RETURN_RULES } from '../../simulator/analysis/bytecode.ts';
import { REPO } from '../repo.ts';

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
    test(`${name}: exactly the marked findings, none twice`, async () => {
      const r = await analyzeFile(file, undefined, { cacheDir, flags });
      const got = r.findings.filter((f) => f.file === file).map((f) => `${f.rule}@${f.line}`).sort();
      assert.deepEqual(got, expected(text), r.findings.map((f) => `${f.line}:${f.column} ${f.tier} ${f.rule}: ${f.message}`).join('\n'));
    });
    test(`${name}: the same with 32-bit ALU code (-mcpu=v3: comparisons of w registers)`, async () => {
      const r = await analyzeFile(file, undefined, { cacheDir, flags: [...flags, '-mcpu=v3'] });
      const got = r.findings.filter((f) => f.file === file).map((f) => `${f.rule}@${f.line}`).sort();
      assert.deepEqual(got, expected(text), r.findings.map((f) => `${f.line}:${f.column} ${f.tier} ${f.rule}: ${f.message}`).join('\n'));
    });
    test(`${name}: the bytecode tier alone puts returned-value findings on marked return lines`, () => {
      const r = bytecodeFindings(file, { cacheDir, flags });
      const want = new Set(expected(text));
      for (const f of r.findings.filter((x) => RETURN_RULES.has(String(x.rule)))) {
        assert.ok(want.has(`${f.rule}@${f.line}`), `bytecode ${f.rule} on line ${f.line}: ${text.split('\n')[f.line - 1]}`);
        assert.equal(f.onReturn, true);
        assert.match(text.split('\n')[f.line - 1].slice(f.column - 1), /^\S/);
      }
    });
  }
});

test('a mistake repeated on many lines: one text, each repeat links to the first', () => {
  const at = (line: number): Finding => ({
    file: 'a.c', line, column: 3, endLine: line, endColumn: 9, severity: 'error', rule: 'readonly-page-write', tier: 'source',
    message: 'store into packet memory, but the readonly-page driver mode stands for drivers that give the program a read-only page',
  });
  const merged = mergeFindings([at(12), at(10), at(11)], [{ ...at(11), tier: 'bytecode' }]);
  assert.deepEqual(merged.map((f) => f.line), [10, 11, 12]);
  assert.equal(merged[0].related, undefined);
  for (const f of merged.slice(1)) assert.deepEqual(f.related?.map((r) => r.line), [10]);
});
