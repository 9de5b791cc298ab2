// Captures of unusual shapes, built here, read as tshark reads them: the Ethernet frame each record becomes (the
// bytes XDP would see), its lengths and timestamp. Where tshark is installed its view of the same file is the
// reference; without it the facts it was found to give are asserted alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { CaptureError, CaptureFeed } from '../../simulator/net/capture.ts';
import { readAll } from './read-all.ts';
import { REPO } from '../repo.ts';

const haveTshark = spawnSync('tshark', ['--version']).status === 0;
const noTshark = !haveTshark && 'tshark is not installed (apt-get install tshark): its view of the file is not compared';

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

/** A capture of `n` Ethernet frames of varied sizes and contents (some compressible, some not), µs timestamps. */
function variedCapture(n: number): Buffer {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
  return pcap(1, Array.from({ length: n }, (_, i) => {
    const size = 60 + ((i * 389) % 1455);
    const data = Uint8Array.from({ length: size }, (_, k) => (i % 3 === 0 ? rnd() : (k * i) & 0xff));
    data.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
    return { data, sec: 1_700_000_000 + Math.floor(i / 1000), frac: (i * 997) % 1_000_000 };
  }));
}

test('gzip-compressed captures are read through their decompressed data, as tshark reads them', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-gzip-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const plain = variedCapture(3000); // about 2 MiB: more than one read chunk
  const plainPath = join(dir, 'plain.pcap');
  writeFileSync(plainPath, plain);
  const want = readAll(plainPath).packets;
  assert.equal(want.length, 3000);
  const variants: [string, Buffer][] = [
    ['stored blocks (level 0)', gzipSync(plain, { level: 0 })],
    ['fixed Huffman codes', gzipSync(plain, { strategy: constants.Z_FIXED })],
    ['dynamic Huffman codes (level 9)', gzipSync(plain, { level: 9 })],
    ['two gzip members one after another', Buffer.concat([gzipSync(plain.subarray(0, 100_000)), gzipSync(plain.subarray(100_000))])],
  ];
  for (const [what, gz] of variants) {
    const path = join(dir, 'c.pcap.gz');
    writeFileSync(path, gz);
    const { packets, error } = readAll(path);
    assert.equal(error, undefined, `${what}: ${error?.message}`);
    assert.equal(packets.length, want.length, what);
    packets.forEach((p, i) => {
      assert.equal(p.tsNs, want[i]!.tsNs, `${what} #${i}`);
      assert.deepEqual(p.frame, want[i]!.frame, `${what} #${i}`);
    });
    if (haveTshark && what.startsWith('dynamic')) {
      const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len'], { encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(ts.status, 0, ts.stderr);
      const rows = ts.stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
      assert.equal(rows.length, packets.length, 'tshark reads as many packets from the .gz');
      rows.forEach(([time, len], i) => {
        const [s, ns] = time!.split('.');
        assert.equal(BigInt(s!) * 1_000_000_000n + BigInt(ns!.padEnd(9, '0')), packets[i]!.tsNs);
        assert.equal(Number(len), packets[i]!.wireLen);
      });
    }
  }
  // Through a FIFO (a stream, read with no seeks), as `cat capture.pcap.gz | tshark -r -` reads it.
  if (spawnSync('mkfifo', [join(dir, 'fifo')]).status === 0) {
    const path = join(dir, 'c.pcap.gz');
    writeFileSync(path, gzipSync(plain));
    const writer = spawn('sh', ['-c', `cat '${path}' > '${join(dir, 'fifo')}'`], { stdio: 'ignore' });
    const { packets, error } = readAll(join(dir, 'fifo'));
    writer.kill();
    assert.equal(error, undefined, error?.message);
    assert.equal(packets.length, want.length, 'every packet through the FIFO');
    assert.deepEqual(packets[want.length - 1]!.frame, want[want.length - 1]!.frame);
  } else t.diagnostic('mkfifo failed: the FIFO case is not run');
  // pcapng compressed too.
  const ng = Buffer.concat([
    Buffer.from('0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000', 'hex'),
    Buffer.from('01000000140000000100000000000000' + '14000000', 'hex'),
  ]);
  const ngPath = join(dir, 'x.pcapng.gz');
  writeFileSync(ngPath, gzipSync(ng));
  assert.deepEqual(readAll(ngPath), { packets: [] });

  // Cut short: the packets of the whole blocks before the cut, then an error naming the file and gzip.
  const cutPath = join(dir, 'cut.pcap.gz');
  const gz = gzipSync(plain, { level: 6 });
  writeFileSync(cutPath, gz.subarray(0, Math.floor(gz.length / 2)));
  const cut = readAll(cutPath);
  assert.ok(cut.error, 'a cut .gz is an error');
  assert.match(cut.error.message, /^.*cut\.pcap\.gz \(gzip-decompressed\): .*gzip: the compressed file is cut short: its data ends inside a deflate block/);
  assert.ok(cut.packets.length > 500, `${cut.packets.length} packets before the cut`);
  cut.packets.forEach((p, i) => assert.deepEqual(p.frame, want[i]!.frame));
  // A flipped bit in the data: caught by the gzip checksum at the latest.
  const flipped = Buffer.from(gzipSync(plain.subarray(0, 50_000)));
  flipped[flipped.length - 8] ^= 1; // the stored CRC
  writeFileSync(cutPath, flipped);
  assert.match(readAll(cutPath).error?.message ?? '', /gzip: CRC mismatch in gzip member 1/);
});

test('a .gz cut inside its last deflate block: the packets whose records were decoded whole, then the error', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-gzcut-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const plain = variedCapture(40); // about 30 KB: one deflate block at level 9, a few stored ones at level 0
  for (const [what, gz] of [['deflate', gzipSync(plain, { level: 9 })], ['stored', gzipSync(plain, { level: 0 })], ['fixed', gzipSync(plain, { strategy: constants.Z_FIXED })]] as const) {
    for (const keep of [0.3, 0.6, 0.9, 0.99]) {
      const path = join(dir, `cut-${what}.pcap.gz`);
      const cut = gz.subarray(0, Math.floor(gz.length * keep));
      writeFileSync(path, cut);
      // zlib's own reading of the cut stream: the bytes it can decode; the complete records among them are the reference.
      const partial = gunzipSync(cut, { finishFlush: constants.Z_SYNC_FLUSH });
      let o = 24;
      let whole = 0;
      while (o + 16 <= partial.length && o + 16 + partial.readUInt32LE(o + 8) <= partial.length) {
        o += 16 + partial.readUInt32LE(o + 8);
        whole++;
      }
      const r = readAll(path);
      assert.equal(r.packets.length, whole, `${what}, ${keep} kept: the ${whole} records zlib decodes whole`);
      assert.ok(r.error, `${what}, ${keep}: an error after them`);
      assert.match(r.error.message, /cut-\w+\.pcap\.gz \(gzip-decompressed\): byte offset \d+: gzip: the compressed file is cut short/);
      if (haveTshark) {
        const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.len'], { encoding: 'utf8' });
        assert.equal(ts.stdout.split('\n').filter(Boolean).length, whole, `${what}, ${keep}: tshark reads as many`);
      }
    }
  }
});

test('compressed data, patched-libpcap and other capture formats that cannot be read are named in the error', () => {
  const feedError = (bytes: Buffer) => {
    const f = new CaptureFeed('standard input');
    f.push(bytes);
    f.end();
    try {
      f.next();
    } catch (e) {
      assert.ok(e instanceof CaptureError);
      return e.message;
    }
    return '';
  };
  assert.match(feedError(gzipSync(variedCapture(2))), /^standard input: byte offset 0: gzip-compressed data: decompress it first \(gunzip -c/);
  assert.match(feedError(Buffer.from('28b52ffd0058000000', 'hex')), /zstd-compressed: decompress it first/);
  assert.match(feedError(Buffer.from('04224d1864400000', 'hex')), /lz4-compressed/);
  assert.match(feedError(Buffer.from('425a683931415926', 'hex')), /bzip2-compressed/);
  assert.match(feedError(Buffer.from('fd377a585a000004', 'hex')), /xz-compressed/);
  assert.match(feedError(Buffer.from('736e6f6f7000000000000002', 'hex')), /a Sun snoop capture, which is not supported: convert it with editcap -F pcap/);
  assert.match(feedError(Buffer.from('474d425500020100', 'hex')), /Network Monitor 2 capture/);
  assert.match(feedError(Buffer.from('aaaaaaaa20000000', 'hex')), /not a pcap or pcapng capture \(magic 0xaaaaaaaa; .*editcap -F pcap FILE OUT\.pcap converts/);
});

test("Kuznetsov's modified pcap (magic a1b2cd34, 24-byte record headers) is read as tshark reads it; packet type 4 is outgoing", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-modpcap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const frames = [0, 4, 0, 1].map((ptype, i) => ({ ptype, data: ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], 0x0800, ipv4Udp(8 + i * 50)) }));
  for (const le of [true, false]) {
    const h = Buffer.alloc(24);
    const w32 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
    const w16 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
    w32(h, 0xa1b2cd34, 0);
    w16(h, 2, 4);
    w16(h, 4, 6);
    w32(h, 65535, 16);
    w32(h, 1, 20);
    const parts = [h];
    frames.forEach((f, i) => {
      const r = Buffer.alloc(24);
      w32(r, 1_000_000_000 + i, 0);
      w32(r, 500 * i, 4);
      w32(r, f.data.length - (i === 3 ? 10 : 0), 8);
      w32(r, f.data.length, 12);
      w32(r, 2, 16); // interface index
      w16(r, 0x0800, 20); // protocol
      r[22] = f.ptype;
      parts.push(r, Buffer.from(f.data.subarray(0, f.data.length - (i === 3 ? 10 : 0))));
    });
    const path = join(dir, `mod-${le ? 'le' : 'be'}.pcap`);
    writeFileSync(path, Buffer.concat(parts));
    const { packets, error } = readAll(path);
    assert.equal(error, undefined);
    assert.deepEqual(packets.map((p) => [p.capLen, p.wireLen, p.tsNs, p.outgoing === true]), frames.map((f, i) => [f.data.length - (i === 3 ? 10 : 0), f.data.length, BigInt(1_000_000_000 + i) * 1_000_000_000n + BigInt(500_000 * i), f.ptype === 4]));
    packets.forEach((p, i) => assert.deepEqual(p.frame, frames[i]!.data.subarray(0, p.capLen)));
    if (haveTshark) {
      const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch'], { encoding: 'utf8' });
      assert.equal(ts.status, 0, ts.stderr);
      assert.deepEqual(ts.stdout.trim().split('\n').map((l) => l.split('\t').slice(0, 2).map(Number)), packets.map((p) => [p.wireLen, p.capLen]), 'tshark: the same lengths');
    }
  }
});

test('a timestamp before 1970 (a negative pcapng if_tsoffset) is printed as tshark prints its value, with one sign', { skip: spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-negts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const block = (type: number, body: Buffer) => {
    const len = 12 + body.length;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    body.copy(b, 8);
    b.writeUInt32LE(len, len - 4);
    return b;
  };
  const shb = block(0x0a0d0d0a, Buffer.from('4d3c2b1a01000000ffffffffffffffff', 'hex'));
  const idbBody = Buffer.alloc(8 + 12 + 4);
  idbBody.writeUInt16LE(1, 0);
  idbBody.writeUInt16LE(14, 8); // if_tsoffset
  idbBody.writeUInt16LE(8, 10);
  idbBody.writeBigInt64LE(-10_000_000_000n, 12);
  const frame = Buffer.from(ethernet([0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2], 0x0800, ipv4Udp()));
  const epbBody = Buffer.alloc(20 + frame.length + ((4 - (frame.length % 4)) % 4));
  epbBody.writeUInt32LE(0, 0);
  epbBody.writeUInt32LE(5, 8); // 5 µs after the offset
  epbBody.writeUInt32LE(frame.length, 12);
  epbBody.writeUInt32LE(frame.length, 16);
  frame.copy(epbBody, 20);
  const path = join(dir, 'neg.pcapng');
  writeFileSync(path, Buffer.concat([shb, block(1, idbBody), block(6, epbBody)]));
  assert.equal(readAll(path).packets[0]!.tsNs, -10_000_000_000n * 1_000_000_000n + 5_000n);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'run', join(REPO, 'examples', 'xdp_filter.c'), path, '--format', 'jsonl'], { encoding: 'utf8', cwd: REPO });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.split('\n')[0]!).ts, '-9999999999.999995000');
});

test('a link type XDP never sees is refused with its name', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-lt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'wifi.pcap');
  writeFileSync(path, pcap(127, [{ data: new Uint8Array(40) }]));
  assert.match(readAll(path).error?.message ?? '', /wifi\.pcap: byte offset 20: link type 127 \(802\.11 with radiotap\) is not supported; supported: 0 BSD loopback/);
  assert.match(readAll(path).error?.message ?? '', /XDP on a Wi-Fi interface is handed the Ethernet frames .*\(tcpdump -i wlan0 writes Ethernet frames\)$/, 'what XDP sees instead, and where to capture it');
  writeFileSync(path, pcap(9, [{ data: Uint8Array.from([0xff, 0x03, 0x00, 0x21, ...new Uint8Array(20)]) }]));
  assert.match(readAll(path).error?.message ?? '', /link type 9 \(PPP\) is not supported; supported: .*\. XDP on a PPP, HDLC, Frame Relay or SLIP device runs only in generic mode/);
  writeFileSync(path, pcap(149, [{ data: new Uint8Array(40) }]));
  assert.match(readAll(path).error?.message ?? '', /link type 149 \(user-defined\) is not supported; supported: .*Linux cooked capture v2 \(SLL2\)$/);
  if (haveTshark) {
    const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    assert.equal(ts.status, 0, 'tshark reads it (as user data): the refusal is ours, by design');
  }
});

test('an invalid pcap fraction of a second (a second or more) is carried into the seconds, as README says', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-frac-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'frac.pcap');
  const data = ethernet([0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2], 0x0800, ipv4Udp());
  writeFileSync(path, pcap(1, [{ data, sec: 100, frac: 999_999 }, { data, sec: 100, frac: 1_000_000 }, { data, sec: 100, frac: 2_147_483_648 }]));
  assert.deepEqual(readAll(path).packets.map((p) => p.tsNs), [100_999_999_000n, 101_000_000_000n, 2_247_483_648_000n]);
});

test("a bad second record of a classic pcap names the patched-libpcap variants that cause one (tshark's guess)", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-variant-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Red Hat 6.1's libpcap: the standard magic, 24-byte record headers (8 bytes of interface and protocol after the 16).
  const data = ethernet([0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2], 0x0800, ipv4Udp());
  const rec = (i: number) => {
    const h = Buffer.alloc(24, 0x5a);
    h.writeUInt32LE(1_700_000_000, 0);
    h.writeUInt32LE(i, 4);
    h.writeUInt32LE(data.length, 8);
    h.writeUInt32LE(data.length, 12);
    return Buffer.concat([h, Buffer.from(data)]);
  };
  const path = join(dir, 'rh61.pcap');
  writeFileSync(path, Buffer.concat([pcap(1, []), rec(0), rec(1)]));
  const { error } = readAll(path);
  assert.match(error?.message ?? '', /record 1, .*exceeds the maximum .*Red Hat 6\.1 or Nokia pcap variant.*editcap -F pcap/);
  if (haveTshark) {
    const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.len'], { encoding: 'utf8' });
    assert.deepEqual(ts.stdout.split('\n').filter(Boolean).map(Number), [data.length, data.length], 'tshark recognises the variant');
  }
});
