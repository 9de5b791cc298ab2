// pcapng packet block options as tshark reads them: an option running past its block, or a flags, drop count,
// packet id, queue or verdict option of another length than its own, makes the file unreadable from that block on
// (the packets before it are kept, the error names the record and byte offset); other options of any length, and
// a block whose options end without an end-of-options, are read. The expected answers are written out; with tshark
// installed each file is checked against tshark as well.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture, CaptureError } from '../../simulator/net/capture.ts';

const haveTshark = spawnSync('tshark', ['--version']).status === 0;

function block(type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const len = 12 + padded.length;
  const h = Buffer.alloc(8);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(len, 4);
  const t = Buffer.alloc(4);
  t.writeUInt32LE(len, 0);
  return Buffer.concat([h, padded, t]);
}
const shb = () => block(0x0a0d0d0a, Buffer.from([0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
const idb = () => block(1, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
function option(code: number, value: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(code, 0);
  h.writeUInt16LE(value.length, 2);
  return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}
const END = Buffer.alloc(4);
const FRAME = Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x06, ...new Array(46).fill(0)]);
/** An enhanced packet block (type 6) or obsolete packet block (type 2) for FRAME with `opts` after the data. */
function packet(type: 6 | 2, opts: Buffer): Buffer {
  const h = Buffer.alloc(20);
  if (type === 6) h.writeUInt32LE(0, 0);
  else h.writeUInt16LE(0, 0);
  h.writeUInt32LE(0x60000, 4);
  h.writeUInt32LE(FRAME.length, 12);
  h.writeUInt32LE(FRAME.length, 16);
  return block(type, Buffer.concat([h, FRAME, opts]));
}
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i + 1));

// [options of the third of four packets, what comes of the file: packets read, or the error]
const CASES: [string, Buffer, number | RegExp][] = [
  ['comment of length 0', Buffer.concat([option(1, Buffer.alloc(0)), END]), 4],
  ['hash of length 3', Buffer.concat([option(3, bytes(3)), END]), 4],
  ['unknown option 99 of length 3', Buffer.concat([option(99, bytes(3)), END]), 4],
  ['custom option 0x8001', Buffer.concat([option(0x8001, bytes(2)), END]), 4],
  ['flags of length 4', Buffer.concat([option(2, Buffer.from([0, 0, 0, 0])), END]), 4],
  ['drop count of length 8', Buffer.concat([option(4, bytes(8)), END]), 4],
  ['queue of length 4', Buffer.concat([option(6, bytes(4)), END]), 4],
  ['hardware verdict of length 1', Buffer.concat([option(7, Buffer.from([0])), END]), 4],
  ['XDP verdict of length 9', Buffer.concat([option(7, Buffer.from([2, 1, 0, 0, 0, 0, 0, 0, 0])), END]), 4],
  ['XDP verdict of length 1', Buffer.concat([option(7, Buffer.from([2])), END]), /XDP verdict option \(7\) has length 1, not 9/],
  ['TC verdict of length 2', Buffer.concat([option(7, Buffer.from([1, 0])), END]), /TC verdict option \(7\) has length 2, not 9/],
  ['2 bytes after the last option', Buffer.from([1, 0]), 4],
  ['flags of length 8', Buffer.concat([option(2, bytes(8)), END]), /record 2, byte offset \d+: flags option \(2\) has length 8, not 4/],
  ['flags of length 2', Buffer.concat([option(2, bytes(2)), END]), /flags option \(2\) has length 2, not 4/],
  ['drop count of length 4', Buffer.concat([option(4, bytes(4)), END]), /drop count option \(4\) has length 4, not 8/],
  ['packet id of length 4', Buffer.concat([option(5, bytes(4)), END]), /packet id option \(5\) has length 4, not 8/],
  ['queue of length 8', Buffer.concat([option(6, bytes(8)), END]), /queue option \(6\) has length 8, not 4/],
  ['verdict of length 0', Buffer.concat([option(7, Buffer.alloc(0)), END]), /verdict option \(7\) has length 0, less than 1/],
  ['a comment of length 500 in 4 bytes', Buffer.concat([Buffer.from([1, 0, 0xf4, 1]), bytes(4)]), /record 2, byte offset \d+: option 1 of length 500 runs past the end of its block/],
];

function ours(path: string): { packets: number; error?: string } {
  const r = openCapture(path);
  let packets = 0;
  try {
    while (r.next()) packets++;
    return { packets };
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    return { packets, error: e.message };
  } finally {
    r.close();
  }
}

test('pcapng packet block options: bad lengths refused as tshark refuses them, after the packets before', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-options-'));
  try {
    for (const type of [6, 2] as const) {
      for (const [what, opts, want] of CASES) {
        const file = join(dir, `t${type}.pcapng`);
        writeFileSync(file, Buffer.concat([shb(), idb(), packet(type, END), packet(type, Buffer.alloc(0)), packet(type, opts), packet(type, END)]));
        const got = ours(file);
        const label = `${type === 6 ? 'EPB' : 'PB'}: ${what}`;
        if (typeof want === 'number') assert.deepEqual(got, { packets: want }, label);
        else {
          assert.equal(got.packets, 2, `${label}: the two packets before it`);
          assert.match(got.error ?? '', want, label);
          assert.match(got.error ?? '', /t[62]\.pcapng/, `${label}: names the file`);
        }
        if (haveTshark) {
          const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
          assert.equal(t.stdout.split('\n').filter(Boolean).length, typeof want === 'number' ? want : 2, `${label}: tshark's packets`);
          assert.equal(t.status !== 0, typeof want !== 'number', `${label}: tshark refuses it too`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
