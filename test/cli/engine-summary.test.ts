// `run --engine compiled` prints exactly what `--engine interp` prints (table, jsonl with data), and `--format summary`
// prints one line: the jsonl output's last line (counts, faults, driver counters, maps). A bad --engine is an input
// error (exit 2) naming the flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../repo.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !haveClang && 'clang is not installed';
const CAPTURE = join(REPO, 'examples', 'demo.pcap');
const PROGRAMS = ['test/parity/programs/p01_parse_count.c', 'test/parity/programs/p03_icmp_echo.c', 'test/parity/programs/p07_encap_ipip.c', 'examples/xdp_filter.c'];

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000, env: { ...process.env, XDP_LENS_ENGINE: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('run --engine compiled gives the same table and jsonl as --engine interp', { skip }, () => {
  for (const p of PROGRAMS) {
    for (const format of [['--format', 'table'], ['--format', 'jsonl', '--data']]) {
      const a = cli(['run', p, CAPTURE, ...format, '--engine', 'interp']);
      const b = cli(['run', p, CAPTURE, ...format, '--engine', 'compiled']);
      assert.equal(a.status, 0, a.stderr);
      assert.equal(b.stdout, a.stdout, `${p} ${format.join(' ')}`);
      assert.equal(b.stderr, a.stderr);
    }
  }
});

test('--format summary prints only the jsonl summary line', { skip }, () => {
  for (const p of PROGRAMS) {
    const jsonl = cli(['run', p, CAPTURE, '--format', 'jsonl']).stdout.trimEnd().split('\n');
    const s = cli(['run', p, CAPTURE, '--format', 'summary', '--engine', 'compiled']);
    assert.equal(s.status, 0, s.stderr);
    const lines = s.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1);
    assert.equal(lines[0], jsonl[jsonl.length - 1]);
    const o = JSON.parse(lines[0]);
    assert.ok(o.summary.packets > 0 && o.summary.driver.counters && o.maps);
  }
});

test('--engine takes interp or compiled; anything else is an input error', () => {
  const r = cli(['run', PROGRAMS[0], CAPTURE, '--engine', 'jit']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--engine is interp or compiled, not 'jit'/);
});
