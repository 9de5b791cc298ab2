// The editor-free part of the Test Explorer integration: cases of a test file with their lines, and the CLI's JSON
// report read back with 0-based failure positions (what the Test Explorer puts on the expectation's line).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { listCases, readReport } from '../../client/test-files.ts';

const EXAMPLE = join(REPO, 'examples', 'xdp_filter.xdptest.yaml');

test('listCases: every case of the example with the 0-based line of its list item', () => {
  const text = readFileSync(EXAMPLE, 'utf8');
  const lines = text.split('\n');
  const cases = listCases(text);
  const expected = lines.flatMap((l, i) => (/^ {2}- name: /.test(l) ? [{ name: l.replace(/^ {2}- name: /, ''), line: i, column: 4 }] : []));
  assert.equal(cases.length, 5);
  assert.deepEqual(cases, expected);
  assert.deepEqual(listCases('cases:\n  - hex: "00"\n  - name: b\n'), [{ name: 'case 1', line: 1, column: 4 }, { name: 'b', line: 2, column: 4 }]);
  assert.deepEqual(listCases('not: [a test file'), []);
});

test('readReport: a failing case of the CLI report, positions 0-based', { skip: spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-client-'));
  const text = readFileSync(EXAMPLE, 'utf8').replace('file: xdp_filter.c', `file: ${join(REPO, 'examples', 'xdp_filter.c')}`).replace('{key: 4, value: 2}', '{key: 4, value: 7}');
  const file = join(dir, 'one.xdptest.yaml');
  writeFileSync(file, text);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'test', file, '--format', 'json'], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  const [f] = readReport(r.stdout)!;
  assert.equal(f!.cases.length, 5);
  const failed = f!.cases.filter((c) => !c.passed);
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.name, 'web traffic passes');
  const line = text.split('\n').findIndex((l) => l.includes('{key: 4, value: 7}'));
  assert.deepEqual(failed[0]!.failures, [{ message: 'map proto_count key 4: expected 7, actual 2', expected: '7', actual: '2', line, column: 12 }]);
  assert.equal(readReport('not json'), undefined);
  // A malformed file: the error with its position.
  writeFileSync(file, 'program: x.c\ncases: [{hex: "00", expect: {action: NOPE}}]\n');
  const bad = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'test', file, '--format', 'json'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  const [e] = readReport(bad.stdout)!;
  assert.equal(e!.error!.line, 1);
  assert.match(e!.error!.message, /expect\.action is one of/);
});

test('appendCase: a packet of a run saved as a case passes through xdp-lens test; refusals say why', { skip: spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed' }, async () => {
  const { appendCase, newTestFile } = await import('../../client/test-files.ts');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-save-case-'));
  const program = join(REPO, 'examples', 'xdp_filter.c');
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'run', program, join(REPO, 'examples', 'demo.pcap'), '--format', 'jsonl', '--data', '--maps', join(REPO, 'examples', 'blocklist.json')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const recs = run.stdout.trim().split('\n').map((l) => JSON.parse(l)).slice(0, -1);
  // The frames as received, from the capture itself (what the server's packet detail calls "before").
  const { openCapture } = await import('../../simulator/net/capture.ts');
  const reader = openCapture(join(REPO, 'examples', 'demo.pcap'));
  const frames: string[] = [];
  for (let p = reader.next(); p; p = reader.next()) frames.push(Buffer.from(p.frame).toString('hex'));
  reader.close();
  // With the run's map seed: packet 8 (a blocklisted source) is dropped only with it.
  let text = newTestFile(program, 'native', join(REPO, 'examples', 'blocklist.json'));
  const lines: number[] = [];
  for (const i of [1, 3, 3, 8]) {
    const r = recs[i];
    const out = appendCase(text, { index: i, summary: r.summary, action: r.action, outcome: r.outcome, line: r.line, printk: r.printk ?? [], before: frames[i]!, after: r.data }, 'demo.pcap');
    assert.ok(typeof out !== 'string', String(out));
    text = out.text;
    lines.push(out.line);
  }
  const file = join(dir, 'saved.xdptest.yaml');
  writeFileSync(file, text);
  // Each returned line is the case's `- name:` line; the same packet twice gets a second name.
  assert.deepEqual(listCases(text).map((c) => c.line), lines);
  assert.match(listCases(text)[2]!.name, /\(2\)$/);
  const t = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'test', file, '--format', 'json'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stdout + t.stderr);
  const j = JSON.parse(t.stdout);
  assert.deepEqual(j.summary, { passed: 4, failed: 0, errors: 0 });
  // The ICMP echo (packet 1) is answered in place: its output bytes are an expectation.
  assert.match(text, /action: XDP_TX[\s\S]*packet:\n {8}hex: /);
  const p = { index: 0, summary: 's', action: 'XDP_PASS', line: 1, printk: [], before: '00', after: '00' };
  assert.match(String(appendCase('cases: []\nprogram: x.c\n', p, 'c')), /last key is not 'cases'/);
  assert.match(String(appendCase('program: x.c\ncases: [{hex: "00", expect: {}}]\n', p, 'c')), /flow list/);
  assert.ok(typeof appendCase('program: x.c\ncases: []\n', p, 'c') !== 'string');
});
