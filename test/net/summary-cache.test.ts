// SummaryCache gives summarize's text for every frame: the frames of the shared captures and the parity corpus, and
// each of them with every byte of its first 96 changed and cut at every length up to 96, fed after the frame itself
// so that a variant whose key is the same finds the original's entry (a key missing a field summarize reads fails).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, SummaryCache } from '../../simulator/net/dissect.ts';
import { captureCorpus, syntheticCorpus } from '../parity/packets.ts';
import { sharedPath } from '../repo.ts';

function frames(): Uint8Array[] {
  return [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes);
}

test('SummaryCache: the same text as summarize, for every frame and its one-byte changes and cuts', () => {
  const cache = new SummaryCache();
  const base = frames();
  let checked = 0;
  let hits = 0;
  const check = (f: Uint8Array) => {
    const want = summarize(f);
    for (let twice = 0; twice < 2; twice++) {
      const got = cache.summarize(f);
      if (got !== want) assert.equal(got, want, `frame ${Buffer.from(f).toString('hex')}`);
      if (twice === 1 && cache.slot >= 0) hits++;
    }
    checked++;
  };
  for (const f of base) {
    check(f);
    for (let i = 0; i < Math.min(f.length, 96); i++) {
      for (const v of [f[i]! ^ 0x01, f[i]! ^ 0x10, f[i]! ^ 0x80, 0, 0xff]) {
        const g = Uint8Array.from(f);
        g[i] = v;
        check(g);
        // The original again: an entry the variant replaced or shared must still give the original's text.
        check(f);
      }
    }
    for (let n = 0; n < Math.min(f.length, 96); n++) check(f.subarray(0, n));
  }
  // Not vacuous: plenty of frames of the cached shapes, found again on their second look.
  assert.ok(checked > 50_000 && hits > 10_000, `checked ${checked}, hits ${hits}`);
});

test('SummaryCache: packets of one flow that differ in TTL, ID, checksum, sequence numbers or payload share an entry', () => {
  const cache = new SummaryCache();
  const tcp = frames().find((f) => f.length >= 80 && f[12] === 0x08 && f[13] === 0x00 && f[23] === 6 && (f[14]! & 0x0f) === 5 && (f[20]! & 0x3f) === 0 && f[21] === 0);
  assert.ok(tcp, 'an IPv4 TCP frame in the corpus');
  const text = cache.summarize(tcp);
  const slot = cache.slot;
  assert.ok(slot >= 0);
  for (const at of [18, 19, 22, 24, 25, 38, 41, 45, 50, 60, tcp.length - 1]) {
    const g: Uint8Array = Uint8Array.from(tcp);
    g[at] = g[at]! ^ 0x5a;
    assert.equal(cache.summarize(g), text);
    assert.equal(cache.slot, slot);
  }
});

test('SummaryCache: a frame of no keyed shape is found again whole, byte for byte; a change anywhere in it is seen', () => {
  const cache = new SummaryCache();
  // ARP, IPv4 fragments, IPv6 extension headers, tunnels ...: frames the keyed table leaves out.
  const odd = frames().filter((f) => f.length >= 14 && f.length <= 1600 && ((f[12] === 0x08 && f[13] === 0x06) || summarize(f).includes('frag') || (f[12] === 0x86 && f[13] === 0xdd && f.length > 120)));
  assert.ok(odd.length >= 3, `frames of no keyed shape in the corpus: ${odd.length}`);
  for (const f of odd) {
    const want = summarize(f);
    assert.equal(cache.summarize(f), want);
    const slot = cache.slot;
    assert.equal(cache.summarize(Uint8Array.from(f)), want, 'a copy of the same bytes');
    assert.equal(cache.slot, slot);
    // A byte between the 64 the hash reads first and the 16 it reads last: the same slot, compared whole.
    for (const at of [0, 13, Math.min(f.length - 1, 70), Math.floor(f.length / 2), f.length - 1]) {
      const g = Uint8Array.from(f);
      g[at] = g[at]! ^ 0x41;
      assert.equal(cache.summarize(g), summarize(g), `byte ${at} of ${Buffer.from(f).toString('hex')}`);
      assert.equal(cache.summarize(f), want);
    }
  }
});

test('SummaryCache: a frame handed in as a Buffer view is kept as a copy, not as a view the caller reuses', () => {
  const cache = new SummaryCache();
  // IPv6 with a hop-by-hop header (no keyed shape: the whole-frame table) carrying TCP: the destination port's low byte
  // is byte 65, between the 64 bytes the table's hash reads first and the 16 it reads last.
  const a = Buffer.from(
    '020000000002' + '020000000001' + '86dd' +
      '60000000' + '001c' + '00' + '40' + '20010db8000000000000000000000001' + '20010db8000000000000000000000002' +
      '06000104' + '00000000' +
      '04d2' + '0050' + '00000001' + '00000000' + '5002' + 'ffff' + '0000' + '0000',
    'hex',
  );
  assert.equal(a.length, 82);
  const b = Uint8Array.from(a);
  b[65] = 0x51; // port 81
  assert.notEqual(summarize(b), summarize(a));
  // A reader's reused buffer: the same memory holds one frame, then the next.
  const buf = Buffer.from(a);
  assert.equal(cache.summarize(buf), summarize(a));
  buf.set(b);
  // A copy kept: b is not the cached frame, so it is dissected; a view kept would be b's bytes with a's text.
  assert.equal(cache.summarize(buf), summarize(b));
  assert.equal(cache.summarize(Uint8Array.from(a)), summarize(a));
});

test('SummaryCache: a jumbo frame of no keyed shape (9,000-byte VXLAN) is kept too, compared whole; a longer one is not', () => {
  const cache = new SummaryCache();
  // Frames over 1,600 bytes were summarized every time (slot -1): the corpus' 9,000-byte VXLAN frames, whose summary
  // (the inner frame's) the keyed table leaves out.
  const jumbo = frames().filter((f) => f.length > 1600 && f.length <= 16384 && summarize(f).includes('VXLAN'));
  assert.ok(jumbo.length >= 2, `jumbo VXLAN frames in the corpus: ${jumbo.length}`);
  for (const f of jumbo) {
    const want = summarize(f);
    assert.equal(cache.summarize(f), want);
    const slot = cache.slot;
    assert.ok(slot >= SummaryCache.SLOTS - 16, `a slot of the long frames' part: ${slot}`);
    assert.equal(cache.summarize(Uint8Array.from(f)), want, 'a copy of the same bytes');
    assert.equal(cache.slot, slot);
    // Inner headers (the inner TCP/UDP ports at 50 + 34..37), a byte in the middle, the last one: seen.
    for (const at of [0, 12, 84, 85, 86, 87, Math.floor(f.length / 2), f.length - 1]) {
      const g = Uint8Array.from(f);
      g[at] = g[at]! ^ 0x41;
      assert.equal(cache.summarize(g), summarize(g), `byte ${at}`);
      assert.equal(cache.summarize(f), want);
    }
  }
  // Longer than 16 KiB: summarized each time, not kept.
  const big = new Uint8Array(20000);
  big.set(jumbo[0]!.subarray(0, 64));
  assert.equal(cache.summarize(big), summarize(big));
  assert.equal(cache.slot, -1);
});
