// xdpLens/runStats (the Run Summary's pictures) and "Compare Verdicts with... the previous run", driven over stdio as
// VS Code's client drives them. The aggregate is checked against the run's own packets: every bucket of the timeline
// against the packets' times and actions as the packets request pages them, every RX queue against the display filter
// `queue == N` (which runs the packets through the driver again), exits, outcomes and faults against the run summary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ProtocolConnection } from 'vscode-languageserver-protocol/node';
import { REPO } from '../repo.ts';
import { SERVER, startServer, type StdioServer } from './stdio-server.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { RunStats, TIME_BUCKETS } from '../../simulator/run-stats.ts';
import type { DiffVerdictsParams, DiffVerdictsResult, PacketsResult, RunParams, RunResponse, RunStatsResult, XdpAction } from '../../server/protocol.ts';

const PROGRAM = join(REPO, 'examples', 'xdp_filter.c');
const CAPTURE = join(REPO, 'examples', 'demo.pcap');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !existsSync(SERVER) ? 'dist/server.js is missing: run npm run build' : !haveClang ? 'clang is not installed' : false;

let server: StdioServer;
let conn: ProtocolConnection;
let dir: string;

before(async () => {
  if (skip) return;
  server = await startServer(() => ({}));
  ({ conn, dir } = server);
});

after(async () => {
  if (!skip) await server.stop();
});

const run = async (params: RunParams) => {
  const r = await conn.sendRequest<RunResponse>('xdpLens/run', params);
  assert.equal(r.error, undefined);
  return r.summary!;
};
const statsOf = async (runId: string) => {
  const r = await conn.sendRequest<RunStatsResult>('xdpLens/runStats', { runId });
  assert.equal(r.error, undefined);
  return r.stats!;
};

/** The demo capture's frames, `n` of them, in bursts over about five seconds (timestamps in whole microseconds). */
function burstyCapture(n: number): string {
  const frames: Uint8Array[] = [];
  const reader = openCapture(CAPTURE);
  for (let p; (p = reader.next()); ) frames.push(p.frame);
  reader.close();
  const path = join(dir, `bursty-${n}.pcap`);
  const w = new PcapWriter(path);
  let t = 1_700_000_000_000_000_000n;
  for (let i = 0; i < n; i++) {
    t += i % 200 < 150 ? 1000n : 90_000_000n / 50n; // 150 packets 1 µs apart, then 50 packets 1.8 ms apart
    w.write(t, frames[(i * 7) % frames.length]!);
  }
  w.close();
  return path;
}

test('the aggregate of a run counts what the run counted: timeline, exit lines, RX queues, outcomes', { skip }, async () => {
  const capture = burstyCapture(3000);
  const s = await run({ uri: pathToFileURL(PROGRAM).href, capture, queues: 4 });
  const stats = await statsOf(s.runId);
  assert.equal(stats.packets, s.packets);
  assert.equal(s.packets, 3000);

  // Timeline: at most 120 buckets, covering the capture, and bucket by bucket what the packets' own times and actions say.
  const tl = stats.timeline;
  assert.ok(tl.counts.length <= 120 && tl.counts.length > 60, `${tl.counts.length} buckets`);
  assert.ok(tl.bucketNs * tl.counts.length > tl.spanNs && tl.bucketNs * (tl.counts.length - 1) <= tl.spanNs);
  const page = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: s.runId, offset: 0, limit: 10000 });
  assert.equal(page.rows.length, 3000);
  const want = tl.counts.map(() => stats.actions.map(() => 0));
  for (const row of page.rows) {
    const ns = Math.round(Number(row.time) * 1e6) * 1000;
    want[Math.floor(ns / tl.bucketNs)]![stats.actions.indexOf(row.action!)]!++;
  }
  assert.deepEqual(tl.counts, want);
  assert.equal(tl.spanNs, Math.round(Number(page.rows.at(-1)!.time) * 1e6) * 1000);
  assert.deepEqual(tl.faults, tl.counts.map(() => 0));
  assert.equal(tl.earlier, 0);

  // Actions: the timeline's and the queues' totals are the run's.
  const total = (rows: number[][]) => Object.fromEntries(stats.actions.map((a, i) => [a, rows.reduce((n, r) => n + r[i]!, 0)]));
  assert.deepEqual(total(tl.counts), s.byAction);
  assert.deepEqual(total(stats.queues.map((q) => q.counts)), s.byAction);

  // RX queues: each queue's packets are those the display filter `queue == N` finds (a re-run through the driver).
  assert.ok(stats.queues.length > 1, 'RSS spread the flows over several queues');
  for (const q of stats.queues) {
    const f = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: s.runId, offset: 0, limit: 0, filter: `queue == ${q.queue}` });
    assert.equal(f.total, q.counts.reduce((a, b) => a + b, 0), `queue ${q.queue}`);
    const drops = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: s.runId, offset: 0, limit: 0, filter: `queue == ${q.queue} && action == XDP_DROP` });
    assert.equal(drops.total, q.counts[stats.actions.indexOf('XDP_DROP')], `queue ${q.queue} drops`);
  }

  // Exit lines and outcomes: the run summary's.
  const key = (e: { file: string; line: number; action: XdpAction; count: number; outcomes?: Record<string, number> }) => `${e.file}:${e.line}:${e.action}=${e.count} ${JSON.stringify(e.outcomes)}`;
  assert.deepEqual(stats.exits.map(key).sort(), s.exits.map(key).sort());
  for (let i = 1; i < stats.exits.length; i++) assert.ok(stats.exits[i - 1]!.count >= stats.exits[i]!.count, 'most packets first');
  assert.deepEqual(stats.outcomes, s.byOutcome);
  assert.deepEqual(stats.faults, []);

  // The CLI's summary line carries the same aggregate for the same run.
  const cli = spawnSync(process.execPath, [join(REPO, 'dist', 'cli.js'), 'run', PROGRAM, capture, '--queues', '4', '--format', 'jsonl'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(cli.status, 0, cli.stderr);
  assert.deepEqual(JSON.parse(cli.stdout.trim().split('\n').at(-1)!).stats, stats);
});

test('faults in the aggregate: per line and kind as the run summary has them, and over time', { skip }, async () => {
  const prog = join(REPO, 'test', 'server', 'fixtures', 'ctx_write.c');
  const s = await run({ uri: pathToFileURL(prog).href, capture: CAPTURE });
  assert.ok(s.faults.length > 0, 'the fixture faults');
  const stats = await statsOf(s.runId);
  assert.deepEqual(
    stats.faults.map((f) => [f.file, f.line, f.kind, f.message, f.count]),
    s.faults.map((f) => [f.file, f.line, f.kind, f.message, f.count]),
  );
  const faulted = s.faults.reduce((n, f) => n + f.count, 0);
  assert.equal(stats.timeline.faults.reduce((a, b) => a + b, 0), faulted);
  const fpage = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: s.runId, offset: 0, limit: 0, faulted: true });
  assert.equal(fpage.total, faulted);
  const missing = await conn.sendRequest<RunStatsResult>('xdpLens/runStats', { runId: 'run-999' });
  assert.match(missing.error ?? '', /run-999 is no longer held by the server/);
});

test('Compare Verdicts with the previous run: the source of the last run that differs, as against another file', { skip }, async () => {
  const prog = join(dir, 'prog.c');
  const original = readFileSync(PROGRAM, 'utf8');
  writeFileSync(prog, original);
  copyFileSync(prog, join(dir, 'original.c'));
  const uri = pathToFileURL(prog).href;
  const diff = (against: DiffVerdictsParams['against']) => conn.sendRequest<DiffVerdictsResult>('xdpLens/diffVerdicts', { uri, capture: CAPTURE, against } satisfies DiffVerdictsParams);

  const none = await diff({ previousRun: true });
  assert.match(none.error ?? '', /the server holds no run of prog\.c: run it on a capture first/);
  const first = await run({ uri, capture: CAPTURE });
  const same = await diff({ previousRun: true });
  assert.match(same.error ?? '', new RegExp(`prog\\.c is the same as in its last run \\(${first.runId}\\)`));

  // Edit: a line on top, and the UDP return drops instead of passing.
  const edited = `// a line on top\n${original.replace(/(count\(P_UDP\);\n)\t\treturn XDP_PASS;/, '$1\t\treturn XDP_DROP;')}`;
  assert.notEqual(edited, `// a line on top\n${original}`);
  writeFileSync(prog, edited);
  const r = await diff({ previousRun: true });
  assert.equal(r.error, undefined);
  assert.equal(r.old, `prog.c as of ${first.runId}`);
  assert.equal(r.packets, 10);
  assert.ok(r.changed! > 0);
  assert.deepEqual(r.actionDelta, { XDP_DROP: r.changed, XDP_PASS: -r.changed! });
  const lines = edited.split('\n');
  const udpReturn = lines.findIndex((l, i) => l.includes('return XDP_DROP;') && lines[i - 1]!.includes('count(P_UDP)')) + 1;
  assert.deepEqual(r.lines, [{ line: udpReturn, text: `+${r.changed} XDP_DROP, -${r.changed} XDP_PASS` }]);
  // The same comparison as against the original as another file.
  const byFile = await diff({ file: join(dir, 'original.c') });
  assert.deepEqual([r.packets, r.changed, r.transitions, r.actionDelta, r.lines], [byFile.packets, byFile.changed, byFile.transitions, byFile.actionDelta, byFile.lines]);
  assert.equal(r.text!.split('\n').slice(1).join('\n'), byFile.text!.split('\n').slice(1).join('\n'));

  // After a run of the edited file, "the previous run" is still the run of the original: the latest one that differs.
  await run({ uri, capture: CAPTURE });
  const again = await diff({ previousRun: true });
  assert.equal(again.old, `prog.c as of ${first.runId}`);
  assert.deepEqual(again.lines, r.lines);
});

test('RunStats alone: buckets as wide as needed, never more than 120, each holding the packets of its interval; earlier packets; bounded keys', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const actions = ['XDP_PASS', 'XDP_DROP', 'XDP_TX'] as const;
  const s = new RunStats();
  const packets: { t: number; a: number }[] = [];
  for (let i = 0; i < 5000; i++) {
    const t = i === 10 ? -5 : Math.floor(rand() * rand() * 7e9); // one packet stamped before the first
    const a = Math.floor(rand() * 3);
    packets.push({ t, a });
    s.add({ timeNs: t, action: actions[a]!, outcome: 'passed', queue: 0, file: 'f.c', line: i, fault: i % 1000 === 0 ? { kind: 'k', message: 'm' } : undefined });
  }
  const j = s.json();
  assert.ok(j.timeline.counts.length <= TIME_BUCKETS);
  const span = Math.max(...packets.map((p) => p.t));
  assert.equal(j.timeline.spanNs, span);
  assert.ok(j.timeline.bucketNs * TIME_BUCKETS > span && j.timeline.bucketNs / 2 * TIME_BUCKETS <= span, 'the narrowest power-of-two width that holds the capture');
  const want = j.timeline.counts.map(() => j.actions.map(() => 0));
  for (const p of packets) want[Math.floor(Math.max(0, p.t) / j.timeline.bucketNs)]![j.actions.indexOf(actions[p.a]!)]!++;
  assert.deepEqual(j.timeline.counts, want);
  assert.equal(j.timeline.earlier, 1);
  assert.equal(j.timeline.faults.reduce((a, b) => a + b, 0), 5);
  // 5000 distinct exit lines: the first 500 listed, the others counted.
  assert.equal(j.exits.length, 500);
  assert.equal(j.exits.reduce((n, e) => n + e.count, 0) + j.other!.exits, 5000);
});
