// The bytecode tier on C fixtures: each file under fixtures/bytecode marks the findings it expects with
// `// expect: <rule>` on the line; the set of (rule, line) found in that file must equal the set marked. Files under
// fixtures/bytecode/clean are real-world style programs that must produce no finding at all, and the kernel parity
// corpus and the example must produce no error except where a program is wrong on purpose.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { type DriverMode, analyzeObject, analyzeObjectReport } from '../../simulator/analysis/bytecode.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { compileC } from '../../simulator/compile.ts';
import { loadObject } from '../../simulator/elf/index.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import { REPO } from '../repo.ts';
import { buildOnlyRefusal } from '../kernel/runner.ts';

const HAVE_CLANG = !spawnSync('clang', ['--version']).error;
const skip = HAVE_CLANG ? false : 'clang not installed (apt-get install clang llvm libbpf-dev)';
const FIXTURES = join(REPO, 'test', 'analysis', 'fixtures', 'bytecode');
let cacheDir: string | undefined;

function compile(path: string, flags: string[] = []): LoadedObject {
  cacheDir ??= mkdtempSync(join(tmpdir(), 'xdp-lens-bytecode-test-'));
  const r = compileC(path, { cacheDir, flags });
  if (!r.objectPath) throw new Error(`compiling ${path} failed:\n${r.stderr}`);
  const { object, diagnostics } = loadObject(readFileSync(r.objectPath), path);
  if (!object) throw new Error(`loading ${path} failed:\n${diagnostics.map((d) => d.message).join('\n')}`);
  return object;
}

/** `rule:line` for every `// expect: rule` marker in the file. */
function expected(source: string): Set<string> {
  const out = new Set<string>();
  source.split('\n').forEach((text, i) => {
    for (const m of text.matchAll(/expect: ([a-z-]+)/g)) out.add(`${m[1]}:${i + 1}`);
  });
  return out;
}

const inFile = (findings: Finding[], path: string) => findings.filter((f) => basename(f.file) === basename(path));
const keys = (findings: Finding[]) => new Set(findings.map((f) => `${f.rule}:${f.line}`));
const cFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.c')).sort().map((f) => join(dir, f));

describe('bytecode analysis: rule fixtures', { skip }, () => {
  for (const path of cFiles(FIXTURES)) {
    test(basename(path), () => {
      const source = readFileSync(path, 'utf8');
      const driverMode = (/\/\/ driver: (\S+)/.exec(source)?.[1] ?? 'native') as DriverMode;
      const obj = compile(path);
      const report = analyzeObjectReport(obj, { driverMode });
      for (const p of report.programs) assert.ok(p.complete, `${p.program}: the walk stopped early (${p.gaveUp})`);
      const found = inFile(report.findings, path);
      assert.deepEqual([...keys(found)].sort(), [...expected(source)].sort(), found.map((f) => `${f.line}: ${f.rule}: ${f.message}`).join('\n'));
      for (const f of found) {
        assert.equal(f.tier, 'bytecode');
        assert.ok(f.column >= 1 && f.endColumn > f.column && f.endLine === f.line, `span of ${f.rule} on line ${f.line}`);
        assert.ok(f.message.length > 80, 'the message says what happens and what to do');
        assert.equal(f.severity, f.rule === 'tx-unmodified' ? 'warning' : 'error');
      }
      if (driverMode !== 'native') {
        // The same object in native mode: packet stores are fine there.
        assert.deepEqual(analyzeObject(obj).filter((f) => f.rule === 'readonly-page-write'), []);
      }
    });
  }
});

describe('bytecode analysis: quick fixes', { skip }, () => {
  test('a constant that is not an action gets replacements on exactly the returned expression', () => {
    const path = join(FIXTURES, 'invalid_action.c');
    const lines = readFileSync(path, 'utf8').split('\n');
    const f = analyzeObject(compile(path)).find((x) => x.rule === 'invalid-action' && lines[x.line - 1].includes('TC_ACT_REDIRECT'));
    assert.ok(f?.fixes, 'invalid-action on the TC_ACT_REDIRECT line has fixes');
    const e = f.fixes[0].edits[0];
    assert.equal(lines[e.line - 1].slice(e.column - 1, e.endColumn - 1), 'TC_ACT_REDIRECT');
    assert.deepEqual(f.fixes.map((x) => x.edits[0].newText), ['XDP_DROP', 'XDP_ABORTED', 'XDP_PASS']);
  });
});

describe('bytecode analysis: clean real-world style programs', { skip }, () => {
  for (const path of cFiles(join(FIXTURES, 'clean'))) {
    test(basename(path), () => {
      const obj = compile(path);
      const report = analyzeObjectReport(obj);
      assert.ok(report.programs.length > 0);
      for (const p of report.programs) assert.ok(p.complete, `${p.program}: the walk stopped early (${p.gaveUp})`);
      assert.deepEqual(report.findings.map((f) => `${f.line}: ${f.rule}: ${f.message}`), []);
    });
  }
});

describe('bytecode analysis: parity corpus and example', { skip }, () => {
  // Programs that are wrong on purpose, and what they are expected to report.
  const KNOWN: Record<string, string[]> = {
    'p20_invalid_ret.c': ['invalid-action:10', 'invalid-action:8'],
  };
  // The flags the parity runner compiles these with (test/parity/parity.test.ts).
  const FLAGS: Record<string, string[]> = { 'p16_atomics.c': ['-mcpu=v3'] };
  const files = [...cFiles(join(REPO, 'test', 'parity', 'programs')), join(REPO, 'examples', 'xdp_filter.c')];
  for (const path of files) {
    test(basename(path), () => {
      const obj = compile(path, FLAGS[basename(path)]);
      // A refusal of this kernel build (a helper it takes from XDP that 6.18 gives) is true here, and not the point.
      const errors = analyzeObject(obj).filter((f) => f.severity === 'error' && !buildOnlyRefusal(f.message));
      assert.deepEqual([...keys(errors)].sort(), (KNOWN[basename(path)] ?? []).sort(), errors.map((f) => `${f.line}: ${f.rule}: ${f.message}`).join('\n'));
    });
  }
});
