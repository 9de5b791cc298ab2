// A capture cut short at any byte (a copy interrupted, a disk filled, a download stopped): the reader hands out exactly
// the packets whose records are whole, equal to the whole file's, then either ends cleanly (the cut fell between
// records) or throws a CaptureError that names the file and an offset inside the last, partial record. Small captures
// are cut at every byte; larger ones at every record boundary and the bytes around it, plus random offsets.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openCapture, CaptureError, type CapturedPacket } from '../../simulator/net/capture.ts';
import { sharedPath } from '../repo.ts';

const CAPTURES = sharedPath('captures');
const noShared = !existsSync(CAPTURES) && `shared captures not found at ${CAPTURES}`;
// Thousands of small files: in memory where the machine has a tmpfs.
const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'xdp-lens-cuts-'));
after(() => rmSync(dir, { recursive: true, force: true }));
/** Captures up to this size are cut at every byte. */
const EVERY_BYTE = 700;

interface Read {
  packets: CapturedPacket[];
  offsets: number[];
  error?: CaptureError;
}

function read(path: string): Read {
  const packets: CapturedPacket[] = [];
  const offsets: number[] = [];
  let r: ReturnType<typeof openCapture> | undefined;
  try {
    r = openCapture(path);
    for (let p; (p = r.next()); ) {
      packets.push(p);
      offsets.push(r.recordOffset);
    }
  } catch (e) {
    if (!(e instanceof CaptureError)) throw new Error(`${path}: not a CaptureError: ${(e as Error).stack}`);
    return { packets, offsets, error: e };
  } finally {
    r?.close();
  }
  return { packets, offsets };
}

function same(a: CapturedPacket, b: CapturedPacket, what: string): void {
  assert.equal(a.index, b.index, what);
  assert.equal(a.tsNs, b.tsNs, `${what}: timestamp`);
  assert.equal(a.capLen, b.capLen, `${what}: captured length`);
  assert.equal(a.wireLen, b.wireLen, `${what}: wire length`);
  assert.equal(a.linkType, b.linkType, `${what}: link type`);
  assert.equal(a.interfaceId, b.interfaceId, `${what}: interface`);
  assert.ok(Buffer.from(a.frame).equals(Buffer.from(b.frame)), `${what}: frame bytes`);
}

/** The offsets to cut `bytes` at: every byte of a small capture; around record boundaries and at random otherwise. */
function cuts(size: number, offsets: number[], seed: number): number[] {
  if (size <= EVERY_BYTE) return Array.from({ length: size }, (_, i) => i);
  const set = new Set<number>([0, 1, 4, 23, 24, 25, size - 1]);
  for (const o of offsets) for (const d of [-1, 0, 1, 8, 15, 16, 17]) if (o + d > 0 && o + d < size) set.add(o + d);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < 40; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    set.add(s % size);
  }
  return [...set].sort((a, b) => a - b);
}

/** Cut `bytes` (a whole, readable capture) at each offset; check what the reader hands out and how it fails. */
function checkCuts(name: string, bytes: Buffer, compressed = false): number {
  const whole = join(dir, name);
  writeFileSync(whole, bytes);
  const full = read(whole);
  assert.equal(full.error, undefined, `${name} reads whole: ${full.error?.message}`);
  const n = full.packets.length;
  // A record ends where the next one starts at the latest (pcapng may put other blocks between them).
  const endBound = [...full.offsets.slice(1), bytes.length];
  const path = join(dir, `cut-${name}`);
  let tried = 0;
  for (const c of cuts(bytes.length, compressed ? [] : full.offsets, bytes.length)) {
    writeFileSync(path, bytes.subarray(0, c));
    const got = read(path);
    const what = `${name} cut at ${c} of ${bytes.length}`;
    const k = got.packets.length;
    for (let i = 0; i < k; i++) same(got.packets[i]!, full.packets[i]!, `${what}: packet ${i}`);
    if (!compressed) {
      // Every record that ends before the cut is delivered; none that starts at or after it.
      const whole = endBound.filter((e) => e <= c).length;
      const started = full.offsets.filter((o) => o < c).length;
      assert.ok(k >= whole && k <= started, `${what}: ${k} packets, expected ${whole} to ${started}`);
      const at = full.offsets.indexOf(c);
      if (at > 0) assert.equal(got.error, undefined, `${what}: a cut at record ${at}'s start is a clean end: ${got.error?.message}`);
    }
    if (c === 0) assert.match(got.error?.message ?? '', /empty file/, what);
    if (got.error) {
      assert.ok(got.error.message.startsWith(`${path}: `) || (compressed && got.error.message.startsWith(`${path} (gzip-decompressed): `)), `${what}: the message names the file: ${got.error.message}`);
      if (!compressed) {
        assert.ok(got.error.offset <= c, `${what}: error offset ${got.error.offset} inside the file: ${got.error.message}`);
        const last = k > 0 ? full.offsets[k - 1]! : 0;
        assert.ok(got.error.offset >= last, `${what}: error offset ${got.error.offset} before the last packet's record at ${last}`);
        if (got.error.record !== undefined) assert.equal(got.error.record, k, `${what}: the record named is the first not delivered`);
      }
    } else if (k < n && !compressed) {
      // A clean end before the last packet: nothing of a packet record was cut (only whole blocks before it).
      assert.ok(c <= full.offsets[k]!, `${what}: ended cleanly inside record ${k} (at ${full.offsets[k]})`);
    }
    tried++;
  }
  return tried;
}

test('every shared capture cut short at any byte: the whole records, then a clean end or an error naming file and offset', { skip: noShared }, () => {
  let total = 0;
  const names = readdirSync(CAPTURES).filter((f) => /\.(pcap|pcapng)$/.test(f));
  assert.ok(names.length >= 10, `shared captures found: ${names.length}`);
  for (const f of names) total += checkCuts(f, readFileSync(join(CAPTURES, f)));
  assert.ok(total > 3000, `cuts tried: ${total}`);
});

test('a gzip-compressed capture cut short at any byte: whole records only, a CaptureError naming the file', { skip: noShared }, () => {
  for (const f of ['zeek--linux_dlt_sll2.pcap', 'zeek--pcapng-multi-interface.pcapng']) {
    const gz = gzipSync(readFileSync(join(CAPTURES, f)));
    assert.ok(checkCuts(`${f}.gz`, gz, true) >= 40);
  }
});
