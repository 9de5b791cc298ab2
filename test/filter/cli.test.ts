// `xdp-lens run --filter`: the filter chooses the records reported, never what runs (maps and the summary's counts
// are those of the whole capture), and a bad filter is exit status 2 with the column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../repo.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !haveClang && 'clang is not installed';

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const jsonl = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
const BASE = ['run', 'examples/xdp_filter.c', 'examples/demo.pcap', '--format', 'jsonl', '--maps', 'examples/blocklist.json'];

test('run --filter: the matching records of the unfiltered run, the same summary counts and maps', { skip }, () => {
  const all = jsonl(cli(BASE).stdout);
  const allPackets = all.slice(0, -1);
  const cases: [string, (r: Record<string, any>) => boolean][] = [
    ['action == XDP_DROP', (r) => r.action === 'XDP_DROP'],
    [`exit.line == ${allPackets[0]!.line}`, (r) => r.line === allPackets[0]!.line],
    ['!(action == XDP_PASS) || frame.number == 0', (r) => r.action !== 'XDP_PASS' || r.packet === 0],
    ['outcome.kind == transmitted', (r) => r.outcome === 'transmitted'],
  ];
  for (const [expr, want] of cases) {
    const r = cli([...BASE, '--filter', expr]);
    assert.equal(r.status, 0, r.stderr);
    const recs = jsonl(r.stdout);
    const summary = recs[recs.length - 1]!;
    const expected = allPackets.filter(want);
    assert.ok(expected.length > 0 && expected.length < allPackets.length, `${expr}: a case that selects some packets`);
    assert.deepEqual(recs.slice(0, -1), expected, expr);
    assert.deepEqual(summary.summary.filter, { expression: expr, matched: expected.length });
    assert.deepEqual(summary.summary.actions, all[all.length - 1]!.summary.actions, 'counts are of the whole capture');
    assert.deepEqual(summary.maps, all[all.length - 1]!.maps, 'every packet ran');
  }
});

test('run --filter: a parse error is exit status 2 naming the column, before anything runs', { skip }, () => {
  const r = cli([...BASE, '--filter', 'ip.src == 10.0.0.1 &&& tcp']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^xdp-lens: --filter: column 22: '&' alone is not an operator: use '&&'\n/);
  assert.match(r.stderr, /\n  ip\.src == 10\.0\.0\.1 &&& tcp\n {23}\^\n$/);
});

test('run --filter in the table: only matching rows, and how many matched', { skip }, () => {
  const r = cli(['run', 'examples/xdp_filter.c', 'examples/demo.pcap', '--filter', 'action == XDP_TX']);
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\.\d{6}/.test(l));
  assert.ok(rows.length > 0);
  for (const row of rows) assert.match(row, /XDP_TX/);
  assert.match(r.stdout, new RegExp(`\\n${rows.length} packets? of 10 matched the filter action == XDP_TX\\n`));
});
