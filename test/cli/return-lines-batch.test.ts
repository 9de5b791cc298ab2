// The return-line twin run in batches (ReturnLines.runBatch over Driver.runOnlyBatch, what `xdp-lens run X.c` does for
// the frames of a regular capture file) gives frame for frame the line and action lineForAt gives running it one frame
// at a time: across batch boundaries (small batches), tail calls (the exit program is not the entry: the batch stops
// there), programs that write or move the packet, and frames too long for a batch mixed in (run one by one between
// batches, as cmdRun does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, sharedPath } from '../repo.ts';
import { ACTIONS, loadProgramFile, Session } from '../../simulator/session.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { Driver, type DriverOptions } from '../../simulator/driver/rx.ts';
import { PROFILES } from '../../simulator/driver/profiles.ts';
import { ReturnLines } from '../../simulator/return-lines.ts';
import { captureCorpus, syntheticCorpus } from '../parity/packets.ts';
import { udpFrame } from '../driver/helpers.ts';

const skip = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';
const PROGRAMS = [
  'examples/xdp_filter.c', 'test/parity/programs/p01_parse_count.c', 'test/parity/programs/p03_icmp_echo.c',
  'test/parity/programs/p07_encap_ipip.c', 'test/parity/programs/p15_loops.c', 'test/parity/programs/p19_tailcall.c',
  'test/driver/programs/verdict.c', 'test/driver/programs/adjust.c', 'test/driver/programs/rewrite.c',
  'test/driver/programs/redirect.c',
];

/** A maker of fresh runs of the program `p` (a path under the repository): its session, the real driver, and its return lines. */
function programRun(p: string, opts: DriverOptions) {
  const path = join(REPO, p);
  const source = readFileSync(path, 'utf8');
  const obj = loadProgramFile(path);
  return () => {
    const session = new Session(obj, { engine: 'compiled' });
    const real = new Driver(session, opts);
    const lines = ReturnLines.create(path, source, {}, (o) => {
      const session = new Session(o, { engine: 'compiled' });
      return { session, driver: new Driver(session, opts) };
    });
    assert.notEqual(typeof lines, 'string', `${p}: ${lines as string}`);
    return { session, real, lines: lines as ReturnLines };
  };
}

test('return lines: the twin in batches gives each frame the line and action it gives frame by frame', { skip }, () => {
  const corpus = [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes).filter((b) => b.length >= 14);
  // Frames over the batch's frame limit (multi-buffer) too, run one by one between batches.
  const frames = [...corpus, ...[60, 3000, 64, 1514, 9000].map((n, i) => udpFrame(n, i))];
  const opts: DriverOptions = { mode: 'native', profile: PROFILES.mlx5, queues: 1, reuse: true, views: true };
  let compared = 0;
  let batchedLines = 0;
  for (const p of PROGRAMS) {
    const make = programRun(p, opts);
    const one = make();
    const many = make();
    assert.ok(many.lines.batchable(), `${p}: the twin takes batches`);
    const ts = (i: number) => [1_700_000_000 + (i >> 4), (i & 15) * 1000] as const;
    const want: (number | undefined)[] = [];
    const wantActions: string[] = [];
    const n = frames.length * 2;
    for (let i = 0; i < n; i++) {
      const f = frames[i % frames.length]!;
      const [s, ns] = ts(i);
      const r = one.real.receiveAt(f, s, ns);
      want.push(one.lines.lineForAt(f, s, ns, r));
      wantActions.push(one.lines.action);
    }
    // Small batches (7 frames or 6 KiB), so that boundaries fall everywhere.
    const b = many.real.newBatch(7, 6144);
    // Frames longer than the batch's bytes (multi-buffer ones up to batchFrameMax) on their own.
    const max = Math.min(many.real.batchFrameMax(), 6144);
    const got: (number | undefined)[] = [];
    const flush = () => {
      many.lines.runBatch(b);
      many.real.receiveBatch(b, (i, r) => {
        const line = many.lines.lineInBatch(i, r);
        if (line !== undefined) batchedLines++;
        got.push(line);
      });
    };
    for (let i = 0; i < n; i++) {
      const f = frames[i % frames.length]!;
      const [s, ns] = ts(i);
      if (f.length > max) {
        flush();
        got.push(many.lines.lineForAt(f, s, ns, many.real.receiveAt(f, s, ns)));
        continue;
      }
      if (!b.room(f.length)) flush();
      b.add(f, s, ns);
    }
    flush();
    assert.equal(got.length, want.length, p);
    for (let i = 0; i < n; i++) assert.equal(got[i], want[i], `${p} frame ${i} (twin's action ${wantActions[i]})`);
    assert.deepEqual(many.session.mapsJson(), one.session.mapsJson(), p);
    compared += n;
  }
  assert.ok(batchedLines > compared / 2, `${compared} frames, ${batchedLines} lines from batches`);
});

// A frame the driver settles itself (receiveBatch's `plain`: dropped or passed as it arrived, no packet object) gets its
// return line from its action alone (lineInBatchOf, what cmdRun does for --format summary with return lines on): the
// line lineForAt gives it frame by frame.
test('return lines: frames the driver settles itself get the line lineForAt gives them', { skip }, () => {
  const frames = [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes).filter((b) => b.length >= 14 && b.length <= 1514);
  const opts: DriverOptions = { mode: 'native', profile: PROFILES.mlx5, queues: 1, reuse: true, views: true };
  let plainLines = 0;
  for (const p of PROGRAMS) {
    const make = programRun(p, opts);
    const one = make();
    const many = make();
    const ts = (i: number) => [1_700_000_000 + (i >> 4), (i & 15) * 1000] as const;
    const want: (number | undefined)[] = [];
    for (let i = 0; i < frames.length; i++) {
      const [s, ns] = ts(i);
      want.push(one.lines.lineForAt(frames[i]!, s, ns, one.real.receiveAt(frames[i]!, s, ns)));
    }
    const b = many.real.newBatch(64, 1 << 16);
    const got: (number | undefined)[] = [];
    let base = 0;
    const flush = () => {
      many.lines.runBatch(b);
      const n = b.count;
      many.real.receiveBatch(b, (i, r) => {
        got[base + i] = many.lines.lineInBatch(i, r);
      }, false, (from, to, a) => {
        for (let i = from; i < to; i++) {
          const line = many.lines.lineInBatchOf(i, ACTIONS[a]!, false);
          if (line !== undefined) plainLines++;
          got[base + i] = line;
        }
      });
      base += n;
    };
    for (let i = 0; i < frames.length; i++) {
      const [s, ns] = ts(i);
      if (!b.room(frames[i]!.length)) flush();
      b.add(frames[i]!, s, ns);
    }
    flush();
    for (let i = 0; i < frames.length; i++) assert.equal(got[i], want[i], `${p} frame ${i}`);
  }
  assert.ok(plainLines > 100, `${plainLines} lines of frames the driver settled itself`);
});

// cmdRun: --format summary (frames settled by the driver itself, return lines on) counts each exit line as often as
// --format jsonl (a packet object per frame) names it.
test('xdp-lens run X.c: the summary\'s exit lines are the jsonl\'s, packet for packet', { skip }, () => {
  const frames = [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes).filter((b) => b.length >= 14);
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-rl-plain-'));
  try {
    const cap = join(dir, 'mixed.pcap');
    const w = new PcapWriter(cap);
    for (let i = 0; i < 3000; i++) w.write(BigInt(1_700_000_000 + (i >> 8)) * 1_000_000_000n + BigInt((i & 255) * 1000), frames[i % frames.length]!);
    w.close();
    for (const p of ['examples/xdp_filter.c', 'test/parity/programs/p01_parse_count.c', 'test/parity/programs/p03_icmp_echo.c']) {
      const run = (format: string) => {
        const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'run', join(REPO, p), cap, '--format', format], { cwd: REPO, encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 28 });
        assert.equal(r.status, 0, `${p} ${format}: ${r.stderr}`);
        return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      };
      const counts = new Map<string, number>();
      for (const l of run('jsonl')) {
        if (l.packet === undefined) continue;
        const k = `${l.file as string}:${l.line as number}:${l.action as string}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      const summary = run('summary').at(-1) as { stats?: { exits: { file: string; line: number; action: string; count: number }[] }; summary: { stats?: unknown } };
      const stats = (summary.stats ?? summary.summary.stats) as { exits: { file: string; line: number; action: string; count: number }[] };
      const got = new Map(stats.exits.map((e) => [`${e.file}:${e.line}:${e.action}`, e.count]));
      assert.deepEqual([...got].sort(), [...counts].sort(), p);
      assert.ok(got.size > 1, `${p}: ${[...got.keys()].join(', ')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
