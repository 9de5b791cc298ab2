// A pcapng name resolution block whose records are damaged (a record longer than the block, an IPv4 record shorter
// than an address, a host name without its NUL) while the block's own length is sound: XDP Lens skips it and reads
// the packets after it (README "Captures"). tshark 4.0 stops reading there ("appears to be damaged or corrupt"); with
// tshark installed the test checks that this difference is still the documented one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../../simulator/net/capture.ts';
import { pcapngBlock, pcapngSectionHeader } from './pcapng-outbound.ts';

const haveTshark = spawnSync('tshark', ['--version']).status === 0;
const frame = Uint8Array.from([2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, 0x08, 0x00, 0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x04, 0xd2, 0x00, 0x35, 0, 8, 0, 0]);
const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
function idb(): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(1, 0);
  return pcapngBlock(1, b);
}
function epb(us: number): Buffer {
  const fixed = Buffer.alloc(20);
  fixed.writeUInt32LE(us, 8);
  fixed.writeUInt32LE(frame.length, 12);
  fixed.writeUInt32LE(frame.length, 16);
  return pcapngBlock(6, Buffer.concat([fixed, Buffer.from(frame), pad(frame.length)]));
}
/** A name resolution record: type, length (as written, perhaps wrong), value, padding. */
function record(type: number, value: Buffer, length = value.length): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(type, 0);
  h.writeUInt16LE(length, 2);
  return Buffer.concat([h, value, pad(value.length)]);
}
const END = record(0, Buffer.alloc(0));
const DAMAGED: [string, Buffer][] = [
  ['a record longer than the block', Buffer.concat([record(1, Buffer.from([10, 0, 0, 1, 0x68, 0x6f, 0x73, 0x74, 0]), 200), END])],
  ['an IPv4 record shorter than an address', Buffer.concat([record(1, Buffer.from([10, 0])), END])],
  ['a host name without its NUL', Buffer.concat([record(1, Buffer.from([10, 0, 0, 1, 0x41, 0x42])), END])],
];

test('a damaged name resolution block is skipped and the packets after it are read', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-nrb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [what, body] of DAMAGED) {
    const path = join(dir, 'nrb.pcapng');
    writeFileSync(path, Buffer.concat([pcapngSectionHeader(), idb(), epb(0), pcapngBlock(4, body), epb(1), epb(2)]));
    const r = openCapture(path);
    const got: number[] = [];
    for (let p; (p = r.next()); ) got.push(p.index);
    r.close();
    assert.deepEqual(got, [0, 1, 2], what);
    if (haveTshark) {
      const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
      assert.equal(ts.stdout.trim(), '1', `${what}: tshark reads one packet, then stops`);
      assert.match(ts.stderr, /damaged or corrupt/, what);
    }
  }
});
