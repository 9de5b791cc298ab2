// A damaged capture gives the same packets and the same error whichever way it is read: from the file, pushed in
// chunks of random sizes to a CaptureFeed (a pipe, a child's stdout, the editor's live capture), and gzip-compressed.
// 300 mutations (bit flips, cuts, huge or zero length fields, repeated and deleted runs; fixed seed) of a classic
// pcap, a pcapng with options and several interfaces, and an NFLOG capture. Session 10 ran 21,000 such cases over
// 900 captures (tcpdump's test captures included) with no difference; this keeps a quick deterministic share of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openCapture, CaptureError, CaptureFeed, type CapturedPacket } from '../../simulator/net/capture.ts';
import { REPO } from '../repo.ts';
import { classicPcap } from '../net/pcap-file.ts';
import { pcapngBlock, pcapngSectionHeader } from '../net/pcapng-outbound.ts';

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % Math.max(1, n);
  };
}

const frame = (n: number) => Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0, 0, 28, 0, n, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 53, 0, 53, 0, 8, 0, 0, ...new Array<number>(n % 40).fill(n)]);
function pcapng(): Buffer {
  const idb = (lt: number) => {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(lt, 0);
    b.writeUInt16LE(9, 8); // if_tsresol
    b.writeUInt16LE(1, 10);
    b[12] = 9;
    return pcapngBlock(1, b);
  };
  const epb = (iface: number, f: Uint8Array, flags?: number) => {
    const fixed = Buffer.alloc(20);
    fixed.writeUInt32LE(iface, 0);
    fixed.writeUInt32LE(f.length, 12);
    fixed.writeUInt32LE(f.length, 16);
    const opt = flags === undefined ? Buffer.alloc(0) : Buffer.from([2, 0, 4, 0, flags, 0, 0, 0, 0, 0, 0, 0]);
    return pcapngBlock(6, Buffer.concat([fixed, Buffer.from(f), Buffer.alloc((4 - (f.length % 4)) % 4), opt]));
  };
  return Buffer.concat([pcapngSectionHeader(), idb(1), idb(101), epb(0, frame(1), 1), epb(1, frame(2).subarray(14)), pcapngBlock(0xbad, Buffer.alloc(8, 7)), epb(0, frame(3), 2), pcapngBlock(5, Buffer.alloc(12)), epb(0, frame(4))]);
}
function nflog(): Buffer {
  const rec = (f: Uint8Array) => {
    const ip = Buffer.from(f.subarray(14));
    const tlv = Buffer.alloc(4);
    tlv.writeUInt16LE(4 + ip.length, 0);
    tlv.writeUInt16LE(9, 2);
    return Uint8Array.from(Buffer.concat([Buffer.from([2, 0, 0, 1]), tlv, ip, Buffer.alloc((4 - (ip.length % 4)) % 4)]));
  };
  return classicPcap([1, 2, 3].map((n) => ({ data: rec(frame(n)), sec: n })), 239);
}

type Result = { packets: string[]; error?: string };
const key = (p: CapturedPacket) => `${p.index} ${p.tsNs} ${p.capLen} ${p.wireLen} ${p.outgoing ?? ''} ${Buffer.from(p.frame).toString('hex')}`;
function fromFile(path: string): Result {
  const packets: string[] = [];
  let r: ReturnType<typeof openCapture> | undefined;
  try {
    r = openCapture(path);
    for (let p; (p = r.next()); ) packets.push(key(p));
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    return { packets, error: e.message.replace(`${path} (gzip-decompressed): `, '').replace(`${path}: `, '') };
  } finally {
    r?.close();
  }
  return { packets };
}
function fromFeed(bytes: Buffer, r: (n: number) => number): Result {
  const feed = new CaptureFeed('feed');
  const packets: string[] = [];
  let at = 0;
  try {
    for (;;) {
      const p = feed.next();
      if (p) packets.push(key(p));
      else if (feed.done) break;
      else if (at >= bytes.length) feed.end();
      else {
        const n = 1 + r(r(2) ? 24 : 4000);
        feed.push(bytes.subarray(at, at + n));
        at += n;
      }
    }
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    return { packets, error: e.message.replace('feed: ', '') };
  }
  return { packets };
}
function mutate(input: Buffer, r: (n: number) => number): Buffer {
  let b = Buffer.from(input);
  for (let k = 1 + (r(2) ? 0 : r(5)); k > 0 && b.length; k--) {
    const at = r(b.length);
    const op = r(6);
    if (op === 0) b[at] = b[at]! ^ (1 << r(8));
    else if (op === 1 && at + 4 <= b.length) b.writeUInt32LE([0, 1, 0x7fffffff, 0xffffffff, 65536, 262145, 12][r(7)]!, at);
    else if (op === 2) b = b.subarray(0, at);
    else if (op === 3) {
      const n = Math.min(b.length - at, 1 + r(100));
      b = Buffer.concat([b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n)]);
    } else if (op === 4) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r(32))]);
    else b[at] = r(256);
  }
  return b;
}

test('a damaged capture read from the file, fed in chunks, or gzipped gives the same packets and the same error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-three-ways-'));
  try {
    const seeds = [readFileSync(join(REPO, 'examples', 'demo.pcap')), classicPcap([1, 2, 3, 4, 5].map((n) => ({ data: frame(n), sec: n }))), pcapng(), nflog()];
    // The seeds themselves read whole (so the mutations start from captures that work).
    for (const s of seeds) {
      const p = join(dir, 'seed.cap');
      writeFileSync(p, s);
      assert.equal(fromFile(p).error, undefined);
    }
    const r = rng(0x3a11);
    let errors = 0;
    for (let i = 0; i < 300; i++) {
      const bytes = mutate(seeds[r(seeds.length)]!, r);
      const path = join(dir, `case.cap`);
      writeFileSync(path, bytes);
      const file = fromFile(path);
      if (file.error) errors++;
      assert.deepEqual(fromFeed(bytes, r), file, `case ${i}: fed in chunks`);
      if (i % 3 === 0) {
        writeFileSync(`${path}.gz`, gzipSync(bytes));
        assert.deepEqual(fromFile(`${path}.gz`), file, `case ${i}: gzipped`);
      }
    }
    assert.ok(errors > 50 && errors < 300, `both damaged and readable cases ran (${errors} errors of 300)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
