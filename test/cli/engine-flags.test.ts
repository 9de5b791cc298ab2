// --engine on `compare` and `test` as on `run`: a bad value is an input error (exit 2) naming the flag; both engines
// give the same comparison with the kernel (kernel needed) and the same test report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { kernelOrSkip } from '../kernel/runner.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !haveClang && 'clang is not installed';
const PROGRAM = join(REPO, 'examples', 'xdp_filter.c');
const CAPTURE = join(REPO, 'examples', 'demo.pcap');
const TESTS = join(REPO, 'examples', 'xdp_filter.xdptest.yaml');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), ...args], { cwd: REPO, encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('compare and test take --engine interp|compiled; anything else is an input error', () => {
  for (const args of [['compare', PROGRAM, CAPTURE, '--engine', 'jit'], ['test', TESTS, '--engine', 'jit']]) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, /--engine is interp or compiled, not 'jit'/);
  }
});

test('xdp-lens test gives the same report under both engines', { skip }, () => {
  const a = cli(['test', TESTS, '--format', 'json', '--engine', 'interp']);
  const b = cli(['test', TESTS, '--format', 'json', '--engine', 'compiled']);
  assert.equal(a.status, b.status, a.stderr + b.stderr);
  const strip = (s: string) => s.replace(/"(durationMs|timeMs|ms)":\s*[\d.]+/g, '"$1":0');
  assert.equal(strip(b.stdout), strip(a.stdout));
  assert.ok(a.stdout.length > 0);
});

test('xdp-lens compare gives the same comparison with the kernel under both engines', { skip }, (t) => {
  if (kernelOrSkip(t)) return;
  const a = cli(['compare', PROGRAM, CAPTURE, '--limit', '5', '--format', 'json', '--engine', 'interp']);
  const b = cli(['compare', PROGRAM, CAPTURE, '--limit', '5', '--format', 'json', '--engine', 'compiled']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.deepEqual(JSON.parse(b.stdout), JSON.parse(a.stdout));
});
