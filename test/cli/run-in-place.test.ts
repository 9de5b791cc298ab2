// `xdp-lens run` on a regular Ethernet pcap file reads into the engine's memory and runs the frames where the reader
// left them (OpenCaptureOptions.inPlace, RxBatch.addAt); from a pipe it runs frame by frame. Both must print the same
// bytes: across refills of the read buffer (a capture several times its size), frames too long for a batch between
// batched ones, a record larger than the read buffer (the reader takes a bigger buffer and the batch follows it),
// programs that change, grow, move or send back the packet, and every format (summary without frame views).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, sharedPath } from '../repo.ts';
import { classicPcap } from '../net/pcap-file.ts';
import { udpFrame } from '../driver/helpers.ts';
import { captureCorpus, syntheticCorpus } from '../parity/packets.ts';
import { openCapture } from '../../simulator/net/capture.ts';

const skip = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';
// Programs and options: one that changes nothing, one that rewrites and grows packets, one that moves the bounds, one
// that redirects (the MTU check reads the bytes), and a read-only page (its copy to the skb reads them).
const P01 = 'test/parity/programs/p01_parse_count.c';
const CASES: [string, string[]][] = [
  [P01, ['--format', 'summary']], [P01, ['--format', 'jsonl']], [P01, ['--format', 'table']],
  [P01, ['--format', 'summary', '--driver', 'readonly-page']],
  ...['test/parity/programs/p07_encap_ipip.c', 'test/driver/programs/adjust.c', 'test/driver/programs/redirect.c'].flatMap(
    (p): [string, string[]][] => [[p, ['--format', 'summary']], [p, ['--format', 'jsonl']]],
  ),
];

function capture(dir: string): string {
  const corpus = [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes).filter((b) => b.length >= 14);
  const frames: Uint8Array[] = [];
  // About 1.5 MB: the 192 KiB read buffer is refilled several times with frames of a batch in it.
  for (let i = 0; frames.length < 4000; i++) frames.push(corpus[i % corpus.length]!);
  // Multi-buffer frames (run one by one between batches), and one record larger than the read buffer.
  frames.splice(700, 0, udpFrame(9000, 1));
  frames.splice(2100, 0, udpFrame(200_000, 2));
  frames.splice(2101, 0, udpFrame(5000, 3));
  const path = join(dir, 'in-place.pcap');
  writeFileSync(path, classicPcap(frames.map((data, i) => ({ data, sec: 1_700_000_000 + (i >> 10), usec: i & 1023 }))));
  return path;
}

function run(args: string[], input?: Buffer): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'run', ...args], { cwd: REPO, input, encoding: 'utf8', maxBuffer: 1 << 30, timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('run: frames run in place from a regular pcap file print what the same capture from a pipe prints', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-in-place-'));
  try {
    const cap = capture(dir);
    const bytes = readFileSync(cap);
    for (const [p, opts] of CASES) {
      // --exit-lines exit: no return-line twin, so that only the batch path differs between the two.
      const args = [...opts, '--exit-lines', 'exit'];
      const file = run([join(REPO, p), cap, ...args]);
      const pipe = run([join(REPO, p), '-', ...args], bytes);
      // The table's first line names the capture.
      const body = (s: string) => (opts[1] === 'table' ? s.slice(s.indexOf('\n') + 1) : s);
      assert.equal(body(file), body(pipe), `${p} ${opts.join(' ')}`);
      assert.ok(file.length > 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('capture reader in place: frameAt and frameView give the frames next() gives, ready() says when it will read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-in-place-'));
  try {
    const cap = capture(dir);
    const plain = openCapture(cap);
    const buffer = new Uint8Array(3 << 16);
    const placed = openCapture(cap, { views: true, reuse: true, inPlace: true, buffer });
    assert.ok(placed.inPlace);
    assert.equal(placed.buffer.buffer, buffer.buffer);
    let n = 0;
    let reads = 0;
    let largest = placed.buffer.length;
    for (;;) {
      const before = placed.buffer;
      const ready = placed.ready();
      const start = before === placed.buffer ? Uint8Array.from(before) : undefined;
      const a = placed.next();
      const b = plain.next();
      if (!a || !b) {
        assert.equal(a, b);
        break;
      }
      assert.ok(placed.frameAt >= 0, `record ${n} in place`);
      assert.equal(a.frame.length, 0);
      assert.equal(Buffer.compare(placed.frameView(), b.frame), 0, `record ${n}`);
      assert.equal(Buffer.compare(placed.buffer.subarray(placed.frameAt, placed.frameAt + a.capLen), b.frame), 0);
      // Ready: nothing was read, the buffer's bytes are where they were.
      if (ready) assert.equal(Buffer.compare(start!, placed.buffer), 0, `record ${n}: ready, yet the buffer changed`);
      else reads++;
      if (placed.buffer.length > largest) largest = placed.buffer.length;
      n++;
    }
    assert.equal(n, 4003);
    // The file (1.8 MB with the shared captures' frames, 6 MB with the synthetic ones alone) is read in several
    // refills of the buffer, even of the largest it took (for the record larger than the one it was given).
    const size = statSync(cap).size;
    assert.ok(reads >= Math.max(3, Math.floor(size / largest)), `${reads} reads of a ${size}-byte file, buffer up to ${largest} bytes`);
    // Not an Ethernet pcap: not in place.
    const sll = join(dir, 'sll.pcap');
    writeFileSync(sll, classicPcap([{ data: new Uint8Array(40), sec: 0 }], 113));
    assert.equal(openCapture(sll, { views: true, reuse: true, inPlace: true }).inPlace, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
