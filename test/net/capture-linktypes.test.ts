// Captures of unusual shapes, built here, read as tshark reads them: the Ethernet frame each record becomes (the
// bytes XDP would see), its lengths and timestamp. Where tshark is installed its view of the same file is the
// reference; without it the facts it was found to give are asserted alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture, CaptureError, type CapturedPacket } from '../../simulator/net/capture.ts';

const haveTshark = spawnSync('tshark', ['--version']).status === 0;
const noTshark = !haveTshark && 'tshark is not installed (apt-get install tshark): its view of the file is not compared';

function readAll(path: string): { packets: CapturedPacket[]; error?: CaptureError } {
  const packets: CapturedPacket[] = [];
  const r = openCapture(path);
  try {
    for (let p; (p = r.next()); ) packets.push({ ...p, frame: p.frame.slice() });
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    return { packets, error: e };
  } finally {
    r.close();
  }
  return { packets };
}

/** A classic little-endian µs pcap of `linkType` holding `records`. */
function pcap(linkType: number, records: { data: Uint8Array; orig?: number; sec?: number; frac?: number }[]): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(linkType, 20);
  const parts = [h];
  records.forEach((r, i) => {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(r.sec ?? 1_700_000_000, 0);
    rh.writeUInt32LE(r.frac ?? i, 4);
    rh.writeUInt32LE(r.data.length, 8);
    rh.writeUInt32LE(r.orig ?? r.data.length, 12);
    parts.push(rh, Buffer.from(r.data));
  });
  return Buffer.concat(parts);
}

/** A UDP/IPv4 datagram 10.0.0.1:1234 -> 10.0.0.2:53 with `n` payload bytes. */
function ipv4Udp(n = 8): Uint8Array {
  const b = Buffer.alloc(28 + n, 0x61);
  b.set([0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 0);
  b.writeUInt16BE(28 + n, 2);
  b.writeUInt16BE(1234, 20);
  b.writeUInt16BE(53, 22);
  b.writeUInt16BE(8 + n, 24);
  b.writeUInt16BE(0, 26);
  return b;
}

const ethernet = (dst: number[], src: number[], type: number, payload: Uint8Array) =>
  Uint8Array.from([...dst, ...src, type >> 8, type & 0xff, ...payload]);

function sll(proto: number, payload: Uint8Array, pkttype = 0): Uint8Array {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(pkttype, 0);
  h.writeUInt16BE(1, 2); // ARPHRD_ETHER
  h.writeUInt16BE(6, 4);
  h.set([0x00, 0x11, 0x22, 0x33, 0x44, 0x55], 6);
  h.writeUInt16BE(proto, 14);
  return Uint8Array.from([...h, ...payload]);
}

function sll2(proto: number, payload: Uint8Array, pkttype = 0): Uint8Array {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(proto, 0);
  h.writeUInt32BE(2, 4); // interface index
  h.writeUInt16BE(1, 8); // ARPHRD_ETHER
  h[10] = pkttype;
  h[11] = 6;
  h.set([0x00, 0x11, 0x22, 0x33, 0x44, 0x55], 12);
  return Uint8Array.from([...h, ...payload]);
}

/** tshark's Ethernet fields of each packet: [eth.dst, eth.src, eth.type or eth.len]. */
function tsharkEth(path: string): string[][] {
  const t = spawnSync('tshark', ['-r', path, '-T', 'fields', '-E', 'occurrence=f', '-e', 'eth.dst', '-e', 'eth.src', '-e', 'eth.type', '-e', 'frame.protocols'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  return t.stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
}

const hexMac = (f: Uint8Array, o: number) => Array.from(f.subarray(o, o + 6), (b) => b.toString(16).padStart(2, '0')).join(':');

test('Linux cooked v1/v2 with protocol 0x0003: the payload is a whole Ethernet frame and is delivered as it is', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-linktypes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const inner = ethernet([0x02, 0xaa, 0, 0, 0, 1], [0x02, 0xbb, 0, 0, 0, 2], 0x0800, ipv4Udp());
  for (const [lt, make, hdr] of [[113, sll, 16], [276, sll2, 20]] as const) {
    const path = join(dir, `cooked-${lt}.pcap`);
    // An Ethernet frame (protocol 3), then an IPv4 packet (protocol 0x0800) for contrast.
    writeFileSync(path, pcap(lt, [{ data: make(0x0003, inner), orig: hdr + inner.length + 100 }, { data: make(0x0800, ipv4Udp()) }]));
    const { packets, error } = readAll(path);
    assert.equal(error, undefined);
    assert.deepEqual(packets[0]!.frame, inner, `link type ${lt}: the inner frame as is, no second header in front`);
    assert.equal(packets[0]!.capLen, inner.length);
    assert.equal(packets[0]!.wireLen, inner.length + 100, 'the wire length loses the cooked header alone');
    assert.equal(packets[0]!.truncated, true);
    assert.deepEqual([packets[1]!.frame[12], packets[1]!.frame[13]], [0x08, 0x00]);
    assert.equal(packets[1]!.frame.length, 14 + 36);
    if (haveTshark) {
      const [dst, src, type, protocols] = tsharkEth(path)[0]!;
      assert.match(protocols!, /^sll:eth:ethertype:ip:udp/, 'tshark dissects the payload as Ethernet');
      assert.deepEqual([dst, src, Number(type)], [hexMac(packets[0]!.frame, 0), hexMac(packets[0]!.frame, 6), 0x0800]);
    }
  }
});
