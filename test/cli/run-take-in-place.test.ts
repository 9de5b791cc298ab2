// `xdp-lens run` on a regular Ethernet pcap file takes the records wholly in the read buffer straight into a batch
// (CaptureReader.takeInPlace, no packet object each), and settles a packet the program dropped or passed untouched
// without a packet object (Driver.receiveBatch's `plain`, --format summary). Both must give what next() and the
// frame-by-frame path give: the same records (index, bytes, time, wire length, truncation), stopping before a record
// next() delivers otherwise (a timestamp of 10^6 microseconds or more, a frame longer than a batch takes) or reports as
// bad (a captured length over the maximum, a record cut short by the end of the file), and the same output, exit status
// and error (file and byte offset) as the same capture from a pipe, at any --limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, sharedPath } from '../repo.ts';
import { rng } from '../rng.ts';
import { udpFrame } from '../driver/helpers.ts';
import { captureCorpus, syntheticCorpus } from '../parity/packets.ts';
import { CaptureError, openCapture, type InPlaceRecords } from '../../simulator/net/capture.ts';

const skip = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';

interface Rec {
  data: Uint8Array;
  sec: number;
  frac: number;
  /** Wire length (>= data.length: a record cut by the snap length). */
  orig: number;
}

function pcap(records: readonly Rec[], nano: boolean): Buffer {
  const header = Buffer.from(nano ? '4d3cb2a1' : 'd4c3b2a1', 'hex');
  const rest = Buffer.from('020004000000000000000000ffff000001000000', 'hex');
  const parts: Buffer[] = [header, rest];
  for (const r of records) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(r.sec, 0);
    h.writeUInt32LE(r.frac, 4);
    h.writeUInt32LE(r.data.length, 8);
    h.writeUInt32LE(r.orig, 12);
    parts.push(h, Buffer.from(r.data));
  }
  return Buffer.concat(parts);
}

/** About 4,000 frames (the read buffer refilled many times), some cut short, some too long for a batch, odd times. */
function records(nano: boolean, seed: number): Rec[] {
  const corpus = [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes).filter((b) => b.length >= 14);
  const rand = rng(seed);
  const out: Rec[] = [];
  for (let i = 0; i < 4000; i++) {
    const r = rand();
    let data = corpus[i % corpus.length]!;
    if (r < 0.01) data = udpFrame(5000 + Math.floor(rand() * 4000), i & 255); // multi-buffer: run one by one
    const cut = rand() < 0.05 ? Math.max(14, data.length - 1 - Math.floor(rand() * 20)) : data.length;
    // A fraction of 10^6 us (10^9 ns) or more now and then: next() delivers it, not as a batched frame.
    const frac = rand() < 0.01 ? (nano ? 1_000_000_000 + i : 1_000_000 + i) : nano ? i * 7919 : (i * 997) % 1_000_000;
    out.push({ data: data.subarray(0, cut), sec: 1_700_000_000 + (i >> 9), frac, orig: data.length });
  }
  return out;
}

const take = (n: number): InPlaceRecords => ({
  count: 0, offset: new Int32Array(n), length: new Int32Array(n), sec: new Float64Array(n), nanos: new Float64Array(n),
  index: new Float64Array(n), wire: new Float64Array(n), truncated: new Uint8Array(n),
});

test('capture reader: takeInPlace takes the records next() gives in place, stopping before any it delivers otherwise or reports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-take-'));
  try {
    for (const [nano, seed, tail] of [[false, 1, 'cut'], [true, 2, 'huge'], [false, 3, 'none']] as const) {
      let bytes = pcap(records(nano, seed), nano);
      // A bad record at the end: one cut short by the end of the file, or one longer than any capture may hold.
      if (tail === 'cut') bytes = Buffer.concat([bytes, pcap([{ data: new Uint8Array(100), sec: 5, frac: 0, orig: 100 }], nano).subarray(24, 24 + 16 + 60)]);
      if (tail === 'huge') {
        const h = Buffer.alloc(16);
        h.writeUInt32LE(300_000, 8);
        h.writeUInt32LE(300_000, 12);
        bytes = Buffer.concat([bytes, h, Buffer.alloc(300_000)]);
      }
      const path = join(dir, `c${seed}.pcap`);
      writeFileSync(path, bytes);
      const plain = openCapture(path);
      const placed = openCapture(path, { views: true, reuse: true, inPlace: true, buffer: new Uint8Array(3 << 16) });
      const rand = rng(seed + 100);
      const into = take(256);
      const frameMax = 3520;
      let n = 0;
      let taken = 0;
      let plainError: string | undefined;
      let placedError: string | undefined;
      const expect = () => {
        try {
          return plain.next();
        } catch (e) {
          assert.ok(e instanceof CaptureError);
          plainError = e.message;
          return undefined;
        }
      };
      for (;;) {
        into.count = Math.floor(rand() * 200);
        const from = into.count;
        const k = placed.takeInPlace(into, Math.floor(rand() * 60), frameMax);
        assert.equal(into.count, from + k);
        for (let i = from; i < from + k; i++) {
          const b = expect();
          assert.ok(b, `record ${n} taken, but next() has none`);
          assert.equal(into.index[i], b.index);
          assert.equal(into.sec[i], b.tsSec);
          assert.equal(into.nanos[i], b.tsNanos);
          assert.ok(into.nanos[i]! < 1e9);
          assert.equal(into.wire[i], b.wireLen);
          assert.equal(into.truncated[i], b.truncated ? 1 : 0);
          assert.ok(into.length[i]! <= frameMax);
          assert.equal(Buffer.compare(placed.buffer.subarray(into.offset[i], into.offset[i]! + into.length[i]!), b.frame), 0, `record ${n}`);
          n++;
          taken++;
        }
        let a;
        try {
          a = placed.next();
        } catch (e) {
          assert.ok(e instanceof CaptureError);
          placedError = e.message;
        }
        const b = expect();
        if (!a || !b) {
          assert.equal(a, b);
          break;
        }
        assert.equal(a.index, b.index);
        assert.equal(a.tsNs, b.tsNs);
        assert.equal(Buffer.compare(a.frame.length ? a.frame : placed.frameView(), b.frame), 0, `record ${n}`);
        n++;
      }
      assert.equal(placedError, plainError);
      if (tail !== 'none') assert.match(placedError ?? '', /byte offset \d+/);
      assert.ok(n >= 4000 && taken > 2000, `${n} records, ${taken} taken`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function run(args: string[], input?: Buffer): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'run', ...args], { cwd: REPO, input, encoding: 'utf8', maxBuffer: 1 << 30, timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('run: a pcap file (records taken in place, plain verdicts settled by the driver) prints what the same capture from a pipe prints', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-take-'));
  try {
    const good = join(dir, 'good.pcap');
    writeFileSync(good, pcap(records(false, 7), false));
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, Buffer.concat([pcap(records(true, 8), true), Buffer.alloc(20, 1)]));
    // p01 drops some frames and passes the rest (some too short for their headers); p03 sends some back changed.
    const p01 = join(REPO, 'test/parity/programs/p01_parse_count.c');
    const p03 = join(REPO, 'test/parity/programs/p03_icmp_echo.c');
    const cases: [string, string, string[]][] = [
      [p01, good, ['--format', 'summary']], [p01, good, ['--format', 'summary', '--limit', '257']],
      [p01, good, ['--format', 'jsonl', '--limit', '900']], [p03, good, ['--format', 'summary']],
      [p01, bad, ['--format', 'summary']], [p03, bad, ['--format', 'jsonl']],
    ];
    for (const [p, cap, opts] of cases) {
      const args = [...opts, '--exit-lines', 'exit'];
      const file = run([p, cap, ...args]);
      const pipe = run([p, '-', ...args], readFileSync(cap));
      const what = `${p} ${cap} ${opts.join(' ')}`;
      assert.equal(file.status, pipe.status, what);
      // An error names the file, or standard input: the same position either way. (Compared without printing the
      // whole output when it differs.)
      const same = (a: string, b: string) => a.replaceAll(cap, 'CAP') === b.replaceAll('standard input', 'CAP');
      assert.ok(same(file.stdout, pipe.stdout), `${what}: stdout differs`);
      assert.ok(same(file.stderr, pipe.stderr), `${what}: stderr differs: ${file.stderr} | ${pipe.stderr}`);
      if (cap === bad) {
        assert.equal(file.status, 2, what);
        assert.match(file.stderr, /byte offset \d+/);
      } else assert.equal(file.status, 0, `${what}: ${file.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
