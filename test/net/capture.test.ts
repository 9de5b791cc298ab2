// Capture reading: every shared real-world capture (counts, link types, timestamps against tcpdump), the link-type
// synthesis rules, our pcap writer round-tripping through tcpdump, and each kind of malformed input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture, CaptureError, MAX_CAPLEN, NIC_MAC, PEER_MAC, type CapturedPacket } from '../../simulator/net/capture.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { sharedPath } from '../repo.ts';

const CAPTURES = sharedPath('captures');
const noShared = !existsSync(CAPTURES) && `shared captures not found at ${CAPTURES}`;
const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;

function readAll(path: string): { packets: CapturedPacket[]; error?: CaptureError; format: string } {
  const r = openCapture(path);
  const packets: CapturedPacket[] = [];
  try {
    for (let p; (p = r.next()); ) packets.push(p);
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    return { packets, error: e, format: r.format };
  } finally {
    r.close();
  }
  return { packets, format: r.format };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'xdp-lens-net-'));

// name → [format, packets, link types, truncated count] as ../shared/captures/README.md describes them.
const SHARED: Record<string, [string, number, number[], number]> = {
  'tcpdump--802.1ad_QinQ.pcap': ['pcap', 2, [1], 0],
  'tcpdump--pptp.pcap': ['pcap', 23, [1], 0],
  'tcpdump--tcp-handshake-nano.pcap': ['pcap', 3, [113], 0],
  'zeek--arp-who-has.pcap': ['pcap', 2, [1], 0],
  'zeek--dns-edns-ecs.pcap': ['pcap', 89, [1], 0],
  'zeek--fragmented-1.pcap': ['pcap', 3, [1], 0],
  'zeek--get-to-ssh-server.pcap': ['pcap', 9, [1], 0],
  'zeek--ipv6-fragmented-dns.pcap': ['pcap', 8, [1], 0],
  'zeek--ipv6-http-atomic-frag.pcap': ['pcap', 38, [1], 0],
  'zeek--irc-starttls.pcap': ['pcap', 20, [113], 0],
  'zeek--linux_dlt_sll2.pcap': ['pcap', 6, [276], 0],
  'zeek--payload-syn.pcap': ['pcap', 6, [101], 0],
  'zeek--pcapng-multi-interface.pcapng': ['pcapng', 6, [1], 0],
  'zeek--q-in-q.pcap': ['pcap', 5, [1], 0],
  'zeek--raw_packets.pcap': ['pcap', 33, [1], 0],
  'zeek--simpleauth.pcap': ['pcap', 12, [1], 0],
  'zeek--truncated-header.pcap': ['pcap', 24, [1], 24],
  'zeek--vlan-qinqinq.pcap': ['pcap', 14, [1], 0],
  'zeek--vxlan-encapsulated-http.pcap': ['pcap', 12, [1], 0],
  'pcapng-test-generator--test202.pcapng': ['pcapng', 8, [0, 1], 6],
};

test('every shared capture reads completely with the documented count, link types and truncation', { skip: noShared }, () => {
  for (const [name, [format, count, linkTypes, truncated]] of Object.entries(SHARED)) {
    const { packets, error, format: f } = readAll(join(CAPTURES, name));
    assert.equal(error, undefined, `${name}: ${error?.message}`);
    assert.equal(f, format, name);
    assert.equal(packets.length, count, name);
    assert.deepEqual([...new Set(packets.map((p) => p.linkType))].sort(), linkTypes, name);
    assert.equal(packets.filter((p) => p.truncated).length, truncated, name);
    packets.forEach((p, i) => {
      assert.equal(p.index, i);
      assert.equal(p.capLen, p.frame.length);
      assert.ok(p.wireLen >= p.capLen, `${name} #${i}`);
      assert.ok(p.frame.length >= 14, `${name} #${i} is delivered with an Ethernet header`);
    });
  }
});

/** tcpdump's nanosecond timestamps (one per packet line: lines starting with a digit). */
function tcpdumpTimes(path: string): bigint[] {
  const r = spawnSync('tcpdump', ['-r', path, '-n', '-tt', '--time-stamp-precision=nano', '-q'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => /^\d+\.\d{9} /.test(l))
    .map((l) => {
      const [s, ns] = l.split(' ')[0]!.split('.');
      return BigInt(s!) * 1_000_000_000n + BigInt(ns!);
    });
}

test('timestamps agree with tcpdump to the nanosecond (µs, ns, both byte orders, pcapng resolutions)', { skip: noShared || (!haveTcpdump && 'tcpdump is not installed') }, () => {
  // test202 mixes link types across interfaces, which libpcap refuses to read; it is checked separately below.
  for (const name of Object.keys(SHARED).filter((n) => !n.startsWith('pcapng-test-generator') && !n.includes('vxlan'))) {
    const path = join(CAPTURES, name);
    assert.deepEqual(readAll(path).packets.map((p) => p.tsNs), tcpdumpTimes(path), name);
  }
});

test('pcapng: sections reset interfaces, SPBs take interface 0 and its snap length, link types per interface', { skip: noShared }, () => {
  const { packets } = readAll(join(CAPTURES, 'pcapng-test-generator--test202.pcapng'));
  assert.deepEqual(packets.map((p) => p.linkType), [1, 1, 0, 1, 1, 1, 1, 0]);
  // The NULL (BSD loopback) interface's IPv4 frames get a synthesised Ethernet header with type 0x0800.
  const loop = packets[2]!;
  assert.deepEqual([loop.frame[12], loop.frame[13]], [0x08, 0x00]);
  assert.deepEqual(loop.frame.subarray(0, 6), Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'IPv4 broadcast → Ethernet broadcast');
  assert.deepEqual(loop.frame.subarray(6, 12), PEER_MAC);
  assert.equal(loop.wireLen, loop.capLen);
});

test('Linux cooked captures: the source MAC is kept, the protocol becomes the EtherType', { skip: noShared }, () => {
  const sll = readAll(join(CAPTURES, 'tcpdump--tcp-handshake-nano.pcap')).packets;
  for (const p of sll) {
    assert.deepEqual([p.frame[12], p.frame[13]], [0x08, 0x00]);
    assert.equal(p.frame[14]! >> 4, 4, 'IPv4 header follows the synthesised Ethernet header');
  }
  const sll2 = readAll(join(CAPTURES, 'zeek--linux_dlt_sll2.pcap')).packets;
  const types = sll2.map((p) => (p.frame[12]! << 8) | p.frame[13]!);
  assert.deepEqual(types, [0x0800, 0x0800, 0x86dd, 0x86dd, 0x0806, 0x8035]);
  assert.deepEqual([...sll2[4]!.frame.subarray(6, 12)], [0x8e, 0x36, 0x06, 0x44, 0xac, 0xaf]);
  assert.deepEqual(sll2[0]!.frame.subarray(0, 6), NIC_MAC);
  // SLL2 header is 20 bytes, Ethernet 14: wire length shrinks by 6 along with the frame.
  const raw = readFileSync(join(CAPTURES, 'zeek--linux_dlt_sll2.pcap'));
  assert.equal(sll2[0]!.capLen, raw.readUInt32LE(24 + 8) - 6);
});

test('raw IP captures: EtherType follows the IP version', { skip: noShared }, () => {
  const { packets } = readAll(join(CAPTURES, 'zeek--payload-syn.pcap'));
  for (const p of packets) {
    const type = (p.frame[12]! << 8) | p.frame[13]!;
    assert.equal(type, p.frame[14]! >> 4 === 6 ? 0x86dd : 0x0800);
    assert.equal(p.wireLen, p.capLen);
  }
});

test('VLAN tags stay in the frame (802.1Q, 802.1ad, three stacked tags)', { skip: noShared }, () => {
  const q = readAll(join(CAPTURES, 'tcpdump--802.1ad_QinQ.pcap')).packets[0]!;
  assert.deepEqual([q.frame[12], q.frame[13], q.frame[16], q.frame[17]], [0x88, 0xa8, 0x81, 0x00]);
  const qqq = readAll(join(CAPTURES, 'zeek--vlan-qinqinq.pcap')).packets[0]!;
  assert.deepEqual([qqq.frame[12], qqq.frame[13]], [0x81, 0x00]);
});

// --- synthetic captures -------------------------------------------------------------------------------------------

function pcapFile(opts: { le?: boolean; nano?: boolean; linkType?: number; records: { sec: number; frac: number; data: Uint8Array; orig?: number; incl?: number }[] }): Buffer {
  const le = opts.le ?? true;
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  const w16 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  w32(h, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, 2, 4);
  w16(h, 4, 6);
  w32(h, 65535, 16);
  w32(h, opts.linkType ?? 1, 20);
  parts.push(h);
  for (const r of opts.records) {
    const rh = Buffer.alloc(16);
    w32(rh, r.sec, 0);
    w32(rh, r.frac, 4);
    w32(rh, r.incl ?? r.data.length, 8);
    w32(rh, r.orig ?? r.data.length, 12);
    parts.push(rh, Buffer.from(r.data));
  }
  return Buffer.concat(parts);
}

const frame = (n: number, fill = 0xab) => {
  const f = new Uint8Array(n).fill(fill);
  f.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
  return f;
};

test('classic pcap in both byte orders and both resolutions gives the same packets', () => {
  const records = [
    { sec: 1700000000, frac: 123456, data: frame(60) },
    { sec: 1700000001, frac: 999999, data: frame(1514, 0x11), orig: 1600 },
  ];
  const d = tmp();
  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      const p = join(d, `c-${le}-${nano}.pcap`);
      writeFileSync(p, pcapFile({ le, nano, records }));
      const { packets, error } = readAll(p);
      assert.equal(error, undefined);
      assert.deepEqual(packets.map((x) => x.tsNs), [1700000000n * 1_000_000_000n + 123456n * (nano ? 1n : 1000n), 1700000001n * 1_000_000_000n + 999999n * (nano ? 1n : 1000n)]);
      assert.deepEqual(packets[1]!.frame, records[1]!.data);
      assert.equal(packets[1]!.truncated, true);
      assert.equal(packets[1]!.wireLen, 1600);
    }
  }
});

test('PcapWriter output reads back identically, and tcpdump reads it', () => {
  const d = tmp();
  const p = join(d, 'out.pcap');
  const w = new PcapWriter(p);
  const frames = [frame(60), frame(9000, 0x22), frame(14)];
  frames.forEach((f, i) => w.write(1_600_000_000_123_456_789n + BigInt(i), f, i === 2 ? 100 : undefined));
  w.close();
  const { packets, error } = readAll(p);
  assert.equal(error, undefined);
  assert.deepEqual(packets.map((x) => x.frame), frames);
  assert.deepEqual(packets.map((x) => x.tsNs), [0, 1, 2].map((i) => 1_600_000_000_123_456_789n + BigInt(i)));
  assert.equal(packets[2]!.wireLen, 100);
  if (haveTcpdump) assert.deepEqual(tcpdumpTimes(p), packets.map((x) => x.tsNs));
});

// --- malformed input ---------------------------------------------------------------------------------------------

function expectError(bytes: Buffer, re: RegExp, goodBefore = 0): CaptureError {
  const d = tmp();
  const p = join(d, 'bad.pcap');
  writeFileSync(p, bytes);
  let got: ReturnType<typeof readAll>;
  try {
    got = readAll(p);
  } catch (e) {
    assert.ok(e instanceof CaptureError, `expected a CaptureError, got ${e}`);
    assert.match(e.message, re);
    assert.ok(e.message.startsWith(p), 'names the file');
    assert.equal(goodBefore, 0);
    return e;
  }
  assert.ok(got.error, `expected an error matching ${re}`);
  assert.match(got.error.message, re);
  assert.ok(got.error.message.startsWith(p), 'names the file');
  assert.equal(got.packets.length, goodBefore, 'every good packet before the error is delivered');
  return got.error;
}

test('bad input: empty file, garbage, wrong magic, truncated global header', () => {
  expectError(Buffer.alloc(0), /empty file/);
  expectError(Buffer.from('this is not a capture at all, just text\n'), /not a pcap or pcapng capture \(magic 0x73696874/);
  expectError(Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0]), /truncated pcap file header/);
  const wrongVersion = pcapFile({ records: [] });
  wrongVersion.writeUInt16LE(7, 4);
  expectError(wrongVersion, /unsupported pcap version 7/);
  const radiotap = pcapFile({ linkType: 127, records: [] });
  expectError(radiotap, /link type 127 \(802\.11 with radiotap\) is not supported/);
});

test('bad input: a truncated record delivers the good packets first, then names the record and offset', () => {
  const good = pcapFile({ records: [{ sec: 1, frac: 0, data: frame(60) }, { sec: 2, frac: 0, data: frame(70) }] });
  const cut = good.subarray(0, good.length - 10);
  const e = expectError(cut, /record 1, byte offset 100: truncated packet data \(60 of 70 bytes\)/, 1);
  assert.equal(e.record, 1);
  assert.equal(e.offset, 24 + 16 + 60);
  expectError(good.subarray(0, 24 + 16 + 60 + 5), /record 1, byte offset 100: truncated record header \(5 of 16 bytes\)/, 1);
});

test('bad input: a captured length over 256 KiB is refused with its record', () => {
  const b = pcapFile({ records: [{ sec: 1, frac: 0, data: frame(60) }, { sec: 1, frac: 0, data: frame(60), incl: MAX_CAPLEN + 1 }] });
  expectError(b, new RegExp(`record 1, byte offset 100: captured length ${MAX_CAPLEN + 1} exceeds the maximum`), 1);
});

function pcapngBlock(type: number, body: Buffer): Buffer {
  const pad = (4 - (body.length % 4)) % 4;
  const total = 12 + body.length + pad;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  body.copy(b, 8);
  b.writeUInt32LE(total, total - 4);
  return b;
}
function shb(): Buffer {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(0x1a2b3c4d, 0);
  body.writeUInt16LE(1, 4);
  body.writeBigInt64LE(-1n, 8);
  return pcapngBlock(0x0a0d0d0a, body);
}
function idb(linkType: number, tsresol?: number): Buffer {
  const opts = tsresol === undefined ? Buffer.alloc(0) : Buffer.from([9, 0, 1, 0, tsresol, 0, 0, 0, 0, 0, 0, 0]);
  const body = Buffer.alloc(8 + opts.length);
  body.writeUInt16LE(linkType, 0);
  body.writeUInt32LE(0, 4);
  opts.copy(body, 8);
  return pcapngBlock(1, body);
}
function epb(iface: number, ts: bigint, data: Uint8Array, orig = data.length): Buffer {
  const body = Buffer.alloc(20 + data.length);
  body.writeUInt32LE(iface, 0);
  body.writeUInt32LE(Number(ts >> 32n), 4);
  body.writeUInt32LE(Number(ts & 0xffffffffn), 8);
  body.writeUInt32LE(data.length, 12);
  body.writeUInt32LE(orig, 16);
  Buffer.from(data).copy(body, 20);
  return pcapngBlock(6, body);
}

test('pcapng: if_tsresol in powers of ten and of two, unknown blocks skipped, several sections', () => {
  const d = tmp();
  const p = join(d, 'x.pcapng');
  const unknown = pcapngBlock(0x0bad, Buffer.from('custom block'));
  writeFileSync(
    p,
    Buffer.concat([
      shb(), idb(1), idb(1, 9), idb(1, 0x80 | 10), unknown,
      epb(0, 1_700_000_000_000_001n, frame(60)),
      epb(1, 1_700_000_000_000_000_002n, frame(61)),
      epb(2, 1024n * 3n, frame(62)),
      shb(), idb(101), epb(0, 5n, Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])),
    ]),
  );
  const { packets, error } = readAll(p);
  assert.equal(error, undefined);
  assert.deepEqual(packets.map((x) => x.tsNs), [1_700_000_000_000_001_000n, 1_700_000_000_000_000_002n, 3_000_000_000n, 5_000n]);
  assert.deepEqual(packets.map((x) => x.interfaceId), [0, 1, 2, 0]);
  assert.deepEqual(packets.map((x) => x.linkType), [1, 1, 1, 101]);
  assert.equal(packets[3]!.frame.length, 34);
});

test('pcapng bad input: a block that lies about its size, a bad trailer, a missing interface', () => {
  const good = Buffer.concat([shb(), idb(1), epb(0, 1n, frame(60))]);
  const liar = Buffer.concat([good, epb(0, 2n, frame(60))]);
  liar.writeUInt32LE(0x7fff0000, good.length + 4);
  expectError(liar, /byte offset \d+: block of type 0x6 claims a length of 2147418112 bytes, more than the limit of 16777216 \(a corrupt capture\?\)$/, 1);
  // A length that is not a multiple of 4, or below a block's 12 bytes, is invalid whatever its size.
  liar.writeUInt32LE(63, good.length + 4);
  expectError(liar, /byte offset \d+: block of type 0x6 claims an invalid length 63$/, 1);
  const overrun = Buffer.concat([good, epb(0, 2n, frame(60))]);
  overrun.writeUInt32LE(1000, good.length + 4);
  expectError(overrun, /truncated block of type 0x6 \(\d+ of 1000 bytes\)/, 1);
  const trailer = Buffer.concat([good, epb(0, 2n, frame(60))]);
  trailer.writeUInt32LE(64, trailer.length - 4);
  expectError(trailer, /does not match its trailing length 64/, 1);
  expectError(Buffer.concat([good, epb(3, 2n, frame(60))]), /record 1, .*interface 3, but section 0 describes one interface \(0\)/, 1);
  const capLie = Buffer.concat([good, epb(0, 2n, frame(60))]);
  capLie.writeUInt32LE(500, good.length + 8 + 12);
  expectError(capLie, /captured length 500 runs past the end of its/, 1);
  expectError(Buffer.concat([idb(1)]).fill(0x0a, 0, 1), /not a pcap or pcapng capture/);
});

test('random corruption of a real capture never escapes as anything but a CaptureError', { skip: noShared }, () => {
  const src = readFileSync(join(CAPTURES, 'zeek--dns-edns-ecs.pcap'));
  const ng = readFileSync(join(CAPTURES, 'pcapng-test-generator--test202.pcapng'));
  const d = tmp();
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 300; i++) {
    const base = i % 2 ? src : ng;
    const b = Buffer.from(base.subarray(0, Math.floor(rnd() * base.length)));
    for (let k = 0; k < 4; k++) if (b.length) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    const p = join(d, `r${i}.cap`);
    writeFileSync(p, b);
    try {
      readAll(p);
    } catch (e) {
      assert.ok(e instanceof CaptureError, `corruption ${i}: ${e}`);
    }
  }
});

test('a frame check sequence kept by the capture is removed, as the NIC does (pcap FCS bits, pcapng if_fcslen)', () => {
  const d = tmp();
  const withFcs = new Uint8Array([...frame(60), 0xde, 0xad, 0xbe, 0xef]);
  const p = join(d, 'fcs.pcap');
  const b = pcapFile({ records: [{ sec: 1, frac: 0, data: withFcs }, { sec: 2, frac: 0, data: withFcs.subarray(0, 40), orig: 64 }] });
  b.writeUInt32LE((0x04000000 | (2 << 28) | 1) >>> 0, 20); // FCS present, 2 words = 4 bytes, Ethernet
  writeFileSync(p, b);
  const { packets, error } = readAll(p);
  assert.equal(error, undefined);
  assert.deepEqual(packets[0]!.frame, frame(60));
  assert.equal(packets[0]!.wireLen, 60);
  assert.equal(packets[1]!.frame.length, 40, 'a truncated record keeps what it captured (no FCS in it)');
  assert.equal(packets[1]!.wireLen, 60);

  const ng = join(d, 'fcs.pcapng');
  const opts = Buffer.from([13, 0, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0]);
  const body = Buffer.alloc(8 + opts.length);
  body.writeUInt16LE(1, 0);
  opts.copy(body, 8);
  writeFileSync(ng, Buffer.concat([shb(), pcapngBlock(1, body), epb(0, 1n, withFcs)]));
  const r = readAll(ng);
  assert.equal(r.error, undefined);
  assert.deepEqual(r.packets[0]!.frame, frame(60));
});

test('pcapng: obsolete packet blocks (16-bit interface id) and simple packet blocks are read', () => {
  const d = tmp();
  const p = join(d, 'old.pcapng');
  const f = frame(64, 0x33);
  const pb = Buffer.alloc(20 + f.length);
  pb.writeUInt16LE(1, 0); // interface 1
  pb.writeUInt16LE(0, 2); // drops
  pb.writeUInt32LE(0, 4);
  pb.writeUInt32LE(2_000_000, 8); // µs
  pb.writeUInt32LE(f.length, 12);
  pb.writeUInt32LE(f.length, 16);
  Buffer.from(f).copy(pb, 20);
  const spb = Buffer.alloc(4 + 60);
  spb.writeUInt32LE(70, 0); // original length 70, 60 captured in the block
  Buffer.from(frame(60, 0x44)).copy(spb, 4);
  writeFileSync(p, Buffer.concat([shb(), idb(1), idb(1), pcapngBlock(2, pb), pcapngBlock(3, spb)]));
  const { packets, error } = readAll(p);
  assert.equal(error, undefined);
  assert.deepEqual(packets.map((x) => [x.interfaceId, x.tsNs, x.capLen, x.wireLen, x.truncated]), [
    [1, 2_000_000_000n, 64, 64, false],
    [0, 0n, 60, 70, true],
  ]);
});
