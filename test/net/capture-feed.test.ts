// CaptureFeed, the capture reader that is pushed bytes instead of reading them (the language server's live runs): for
// any input, cut into any chunks, it hands out the packets openCapture reads from the same bytes as a file, and fails
// with the same message, byte offset and record; its tee copies exactly the records it consumed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureFeed, CaptureError, MAX_CAPLEN, openCapture, type CapturedPacket } from '../../simulator/net/capture.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { sharedPath } from '../repo.ts';

const CAPTURES = sharedPath('captures');
const noShared = !existsSync(CAPTURES) && `shared captures not found at ${CAPTURES}`;
const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-feed-'));

interface Outcome {
  packets: CapturedPacket[];
  error?: { message: string; offset: number; record?: number };
}

function fromFile(bytes: Uint8Array, name: string): Outcome {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const packets: CapturedPacket[] = [];
  try {
    const r = openCapture(path);
    try {
      for (let p; (p = r.next()); ) packets.push(p);
    } finally {
      r.close();
    }
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    return { packets, error: { message: e.message.replace(path, 'SOURCE'), offset: e.offset, record: e.record } };
  }
  return { packets };
}

/** Feed `bytes` in chunks of the sizes `cut` gives, asking for packets after every chunk, as the server does. */
function fromFeed(bytes: Uint8Array, cut: () => number, tee?: Uint8Array[]): Outcome {
  const feed = new CaptureFeed('SOURCE', tee ? { tee: (b) => tee.push(Uint8Array.from(b)) } : {});
  const packets: CapturedPacket[] = [];
  try {
    for (let at = 0; at < bytes.length; ) {
      const n = Math.max(1, Math.min(bytes.length - at, cut()));
      feed.push(bytes.subarray(at, at + n));
      at += n;
      for (let p; (p = feed.next()); ) packets.push(p);
      assert.equal(feed.done, false, 'not done before the end');
    }
    feed.end();
    for (let p; (p = feed.next()); ) packets.push(p);
    assert.equal(feed.done, true);
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    return { packets, error: { message: e.message, offset: e.offset, record: e.record } };
  }
  return { packets };
}

function rng(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
}

const same = (a: Outcome, b: Outcome, what: string) => {
  assert.deepEqual(b.error, a.error, `${what}: error`);
  assert.equal(b.packets.length, a.packets.length, `${what}: packets`);
  b.packets.forEach((p, i) => assert.deepEqual(p, a.packets[i], `${what}: packet ${i}`));
};

test('every shared capture, fed in chunks of 1 byte, of random sizes and whole, gives the packets openCapture reads; the tee is the file', { skip: noShared }, () => {
  const rnd = rng(7);
  const names = readdirSync(CAPTURES).filter((n) => /\.pcap(ng)?$/.test(n));
  assert.ok(names.length >= 10);
  for (const name of names) {
    const bytes = readFileSync(join(CAPTURES, name));
    const file = fromFile(bytes, name);
    assert.equal(file.error, undefined, name);
    for (const [how, cut] of [['1-byte', () => 1], ['random', () => 1 + Math.floor(rnd() * 3000)], ['whole', () => bytes.length]] as const) {
      const tee: Uint8Array[] = [];
      same(file, fromFeed(bytes, cut, tee), `${name} (${how} chunks)`);
      assert.ok(Buffer.concat(tee).equals(bytes), `${name} (${how}): the tee reproduces the file byte for byte`);
    }
  }
});

test('random corruption: the feed fails exactly where and as the file reader fails, after the same packets', { skip: noShared }, () => {
  const rnd = rng(99);
  const bases = ['zeek--dns-edns-ecs.pcap', 'pcapng-test-generator--test202.pcapng', 'zeek--pcapng-multi-interface.pcapng'].map((n) => readFileSync(join(CAPTURES, n)));
  let errors = 0;
  for (let i = 0; i < 300; i++) {
    const base = bases[i % bases.length]!;
    const b = Buffer.from(base.subarray(0, Math.floor(rnd() * base.length)));
    for (let k = 0; k < 4; k++) if (b.length) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    const file = fromFile(b, `c${i}.cap`);
    if (file.error) errors++;
    same(file, fromFeed(b, () => 1 + Math.floor(rnd() * 700)), `corruption ${i}`);
  }
  assert.ok(errors > 100, `${errors} of 300 corrupted inputs were refused`);
});

test('a record is handed out only once complete; an oversized one is refused as soon as its header arrives', () => {
  const path = join(dir, 'two.pcap');
  const w = new PcapWriter(path);
  w.write(1_000_000_000n, new Uint8Array(60).fill(1));
  w.write(2_000_000_000n, new Uint8Array(70).fill(2));
  w.close();
  const bytes = readFileSync(path);
  const feed = new CaptureFeed('tcpdump -i lo');
  feed.push(bytes.subarray(0, 24 + 16 + 59));
  assert.equal(feed.next(), undefined);
  assert.equal(feed.done, false);
  assert.equal(feed.format, 'pcap');
  assert.equal(feed.offset, 24, 'the file header is consumed, the partial record is not');
  feed.push(bytes.subarray(24 + 16 + 59, 24 + 16 + 60 + 3));
  assert.equal(feed.next()?.frame.length, 60);
  assert.equal(feed.next(), undefined);
  assert.equal(feed.buffered, 3);
  feed.push(bytes.subarray(24 + 16 + 60 + 3));
  assert.equal(feed.next()?.tsNs, 2_000_000_000n);
  assert.equal(feed.next(), undefined);
  assert.equal(feed.done, false, 'more may come until end()');
  feed.end();
  assert.equal(feed.next(), undefined);
  assert.equal(feed.done, true);

  // A header claiming more than 256 KiB: refused without waiting for (or buffering) the bytes it claims.
  const big = Buffer.from(bytes.subarray(0, 24 + 16));
  big.writeUInt32LE(MAX_CAPLEN + 1, 24 + 8);
  const f2 = new CaptureFeed('tcpdump -i lo');
  f2.push(big);
  assert.throws(() => f2.next(), (e: CaptureError) => e instanceof CaptureError && /^tcpdump -i lo: record 0, byte offset 24: captured length 262145 exceeds/.test(e.message));
  assert.equal(f2.done, true);
  assert.equal(f2.next(), undefined);
});

test('a stream that ends part-way through a record, or before a header, is an error naming the source and offset', () => {
  const empty = new CaptureFeed('tcpdump -i eth0');
  empty.end();
  assert.throws(() => empty.next(), /^CaptureError: tcpdump -i eth0: byte offset 0: empty file/);
  const path = join(dir, 'one.pcap');
  const w = new PcapWriter(path);
  w.write(1n, new Uint8Array(60));
  w.close();
  const cut = new CaptureFeed('tcpdump -i eth0');
  cut.push(readFileSync(path).subarray(0, 24 + 16 + 10));
  assert.equal(cut.next(), undefined);
  cut.end();
  assert.throws(() => cut.next(), /tcpdump -i eth0: record 0, byte offset 24: truncated packet data \(10 of 60 bytes\)/);
});

test('bytes pushed and never read are bounded: past 64 MiB the feed refuses them', () => {
  const feed = new CaptureFeed('producer');
  const chunk = new Uint8Array(8 * 1024 * 1024);
  for (let i = 0; i < 8; i++) feed.push(chunk);
  assert.throws(() => feed.push(chunk), /producer: byte offset 67108864: more than 67108864 bytes arrived that were not read/);
});
