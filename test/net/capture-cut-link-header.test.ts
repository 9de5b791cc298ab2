// A record cut (by the snap length, or written short) inside its link-layer header: a Linux cooked header of fewer
// than 16 / 20 bytes, a loopback header of fewer than 4, NFLOG cut before its packet. tshark reads such a record as a
// malformed frame and goes on; the reader hands it out as an empty frame (not run: too short) and reads on, instead
// of ending the capture with an error there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAll } from './read-all.ts';

const haveTshark = spawnSync('tshark', ['--version']).status === 0;

/** A little-endian microsecond pcap whose records carry their own captured and original lengths. */
function pcap(linkType: number, records: { data: Buffer; orig: number }[]): Buffer {
  const h = Buffer.from('d4c3b2a1020004000000000000000000ffff000000000000', 'hex');
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [h];
  records.forEach((r, i) => {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(i, 0);
    rh.writeUInt32LE(r.data.length, 8);
    rh.writeUInt32LE(r.orig, 12);
    parts.push(rh, r.data);
  });
  return Buffer.concat(parts);
}

const ip = Buffer.from('4500001c000100004011000a0a0000010a000002' + '04d2003500080000', 'hex');
const sll = Buffer.concat([Buffer.from('0000000100060011223344550000' + '0800', 'hex'), ip]);
const sll2 = Buffer.concat([Buffer.from('08000000000000020001000600112233445500 00'.replace(/ /g, ''), 'hex'), ip]);
const loop = Buffer.concat([Buffer.from([2, 0, 0, 0]), ip]);
const nflogTlv = Buffer.alloc(4);
nflogTlv.writeUInt16LE(4 + ip.length, 0);
nflogTlv.writeUInt16LE(9, 2);
const nflog = Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from('08000100080001 00'.replace(/ /g, ''), 'hex'), nflogTlv, ip]);

const cases: [string, number, Buffer, number][] = [
  ['SLL', 113, sll, 3],
  ['SLL', 113, sll, 15],
  ['SLL2', 276, sll2, 10],
  ['NULL', 0, loop, 2],
  ['LOOP', 108, loop, 0],
  ['NFLOG', 239, nflog, 10],
];

test('a record cut inside its link-layer header is an empty frame, and the packets after it are read', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-cut-link-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, lt, rec, cut] of cases) {
    const path = join(dir, `${name}-${cut}.pcap`);
    writeFileSync(path, pcap(lt, [{ data: rec, orig: rec.length }, { data: rec.subarray(0, cut), orig: rec.length }, { data: rec, orig: rec.length }]));
    const r = readAll(path);
    assert.equal(r.error, undefined, `${name} cut at ${cut}: ${r.error?.message}`);
    assert.deepEqual(
      r.packets.map((p) => p.frame.length),
      [14 + ip.length, 0, 14 + ip.length],
      `${name} cut at ${cut}`,
    );
    assert.ok(r.packets[1]!.truncated, `${name} cut at ${cut}: the cut record is marked truncated`);
    assert.deepEqual(Buffer.from(r.packets[2]!.frame.subarray(14)), ip, `${name} cut at ${cut}: the record after it`);
    if (haveTshark) {
      const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.cap_len'], { encoding: 'utf8' });
      assert.equal(ts.status, 0, `${name} cut at ${cut}: tshark ${ts.stderr}`);
      assert.deepEqual(ts.stdout.trim().split('\n').map(Number), [rec.length, cut, rec.length], `${name} cut at ${cut}: tshark`);
    }
  }
});
