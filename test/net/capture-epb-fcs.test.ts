// pcapng packet blocks that say their own frame check sequence length: epb_flags bits 5-8 (in bytes; 0 = not
// said) override the interface's if_fcslen for that packet, as tshark reads them; the FCS is removed as the NIC
// removes it before XDP sees the frame. Enhanced (type 6) and obsolete (type 2) packet blocks, interfaces with
// if_fcslen 0, 4 and none. With tshark installed, every packet whose FCS tshark knows for sure (not its guess for
// an interface that says nothing) is compared with tshark's frame less its eth.fcs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAll } from './read-all.ts';

const haveTshark = spawnSync('tshark', ['--version']).status === 0;

function block(type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const h = Buffer.alloc(8);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(12 + padded.length, 4);
  const t = Buffer.alloc(4);
  t.writeUInt32LE(12 + padded.length, 0);
  return Buffer.concat([h, padded, t]);
}
function option(code: number, value: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(code, 0);
  h.writeUInt16LE(value.length, 2);
  return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}
const END = Buffer.alloc(4);
const shb = () => block(0x0a0d0d0a, Buffer.from([0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
function idb(fcsLen?: number): Buffer {
  const h = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
  return block(1, fcsLen === undefined ? h : Buffer.concat([h, option(13, Buffer.from([fcsLen])), END]));
}
/** A 100-byte UDP/IPv4 frame; its IPv4 length ends 4 bytes before the record's 8 extra bytes end. */
function frame(): Buffer {
  const f = Buffer.alloc(100, 0x5a);
  Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]).copy(f);
  Buffer.from([0x45, 0, 0, 86, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 4, 0xd2, 0x16, 0x2e, 0, 66, 0, 0]).copy(f, 14);
  return f;
}
const DATA = Buffer.concat([frame(), Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x11, 0x22, 0x33, 0x44])]);
function packet(type: 6 | 2, iface: number, flags?: number): Buffer {
  const h = Buffer.alloc(20);
  if (type === 6) h.writeUInt32LE(iface, 0);
  else h.writeUInt16LE(iface, 0);
  h.writeUInt32LE(1000, 8);
  h.writeUInt32LE(DATA.length, 12);
  h.writeUInt32LE(DATA.length, 16);
  const f = Buffer.alloc(4);
  if (flags !== undefined) f.writeUInt32LE(flags >>> 0);
  return block(type, Buffer.concat([h, DATA, flags === undefined ? Buffer.alloc(0) : Buffer.concat([option(2, f), END])]));
}

// Interfaces: 0 says nothing, 1 if_fcslen 4, 2 if_fcslen 0. [interface, epb_flags, block type, bytes of FCS removed]
const IFACES = [undefined, 4, 0];
const CASES: [number, number | undefined, 6 | 2, number][] = [];
for (const t of [6, 2] as const)
  for (const [i, ifFcs] of IFACES.entries())
    for (const flags of [undefined, 0, 1, 4 << 5, (4 << 5) | 2, 0xffff0000, (4 << 5) | 0xffff0000, 8 << 5])
      CASES.push([i, flags, t, flags !== undefined && (flags >>> 5) & 0xf ? (flags >>> 5) & 0xf : (ifFcs ?? 0)]);

test('epb_flags FCS length overrides if_fcslen (enhanced and obsolete packet blocks), as tshark reads it', () => {
  const d = mkdtempSync(join(tmpdir(), 'xdp-lens-epb-fcs-'));
  try {
    const file = join(d, 'fcs.pcapng');
    writeFileSync(file, Buffer.concat([shb(), ...IFACES.map(idb), ...CASES.map(([i, f, t]) => packet(t, i, f))]));
    const { packets, error } = readAll(file);
    assert.equal(error, undefined);
    assert.equal(packets.length, CASES.length);
    CASES.forEach(([i, flags, t, cut], k) => {
      const p = packets[k]!;
      const what = `packet ${k + 1} (block ${t}, interface ${i}, flags ${flags?.toString(16)})`;
      assert.deepEqual(Buffer.from(p.frame), DATA.subarray(0, DATA.length - cut), what);
      assert.equal(p.wireLen, DATA.length - cut, what);
      assert.equal(p.outgoing === true, flags !== undefined && (flags & 3) === 2, what);
    });
    if (!haveTshark) return;
    const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.cap_len', '-e', 'eth.fcs'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.equal(rows.length, CASES.length);
    let compared = 0;
    CASES.forEach(([i, flags, t], k) => {
      const own = ((flags ?? 0) >>> 5) & 0xf;
      const said = own !== 0 ? own : IFACES[i];
      // tshark guesses when nothing is said, and shows 4 bytes of FCS whatever other length is said
      if (said !== 0 && said !== 4) return;
      const [capLen, fcs] = rows[k]!;
      const theirs = Number(capLen) - (fcs ? 4 : 0);
      assert.equal(packets[k]!.capLen, theirs, `packet ${k + 1} (block ${t}, interface ${i}, flags ${flags?.toString(16)}): tshark's frame less its FCS`);
      compared++;
    });
    assert.ok(compared >= 24, `${compared} packets compared with tshark`);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('of two epb_flags options the first counts (FCS length and direction), as tshark takes it', () => {
  const d = mkdtempSync(join(tmpdir(), 'xdp-lens-epb-flags2-'));
  try {
    const file = join(d, 'flags2.pcapng');
    const h = Buffer.alloc(20);
    h.writeUInt32LE(DATA.length, 12);
    h.writeUInt32LE(DATA.length, 16);
    const flags = (v: number) => option(2, Buffer.from(Uint32Array.of(v).buffer));
    writeFileSync(file, Buffer.concat([shb(), idb(), block(6, Buffer.concat([h, DATA, flags(4 << 5), flags((8 << 5) | 2), END]))]));
    const { packets, error } = readAll(file);
    assert.equal(error, undefined);
    assert.equal(packets.length, 1);
    assert.deepEqual(Buffer.from(packets[0]!.frame), DATA.subarray(0, DATA.length - 4));
    assert.equal(packets[0]!.outgoing, undefined);
    if (!haveTshark) return;
    const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.cap_len', '-e', 'eth.fcs', '-e', 'frame.packet_flags_fcs_length'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [capLen, fcs, fcsLen] = r.stdout.trim().split('\t');
    assert.equal(fcsLen, '4');
    assert.equal(packets[0]!.capLen, Number(capLen) - (fcs ? 4 : 0));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
