// Odd but valid captures, written here byte by byte, read as tshark reads them: pcapng interfaces of several time
// resolutions (10^-3, 10^-6, 10^-9, 2^-20) and offsets, several sections in one file (interface ids restart), simple
// packet blocks (captured length from the interface's snap length), a big-endian section, classic pcap with the
// nanosecond magic and in big-endian order, frames cut by the snap length, and the link types `run` supports besides
// Ethernet (Linux cooked v1/v2, raw IP 101/228/229, BSD loopback 0). For every packet: the timestamp, both lengths, the
// interface and the bytes (after the link-layer header, which `run` replaces by an Ethernet header) agree with tshark,
// through the reader and through `xdp-lens run --format jsonl --data`. A link type `run` does not support, and a
// damaged file, end with exit status 2 naming the file, the byte offset (and the link type).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAll } from './read-all.ts';
import { REPO } from '../repo.ts';

const haveTshark = spawnSync('tshark', ['--version']).status === 0;
const noTshark = !haveTshark && 'tshark is not installed (apt-get install tshark): these captures are compared with its reading';
const noClang = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed: `xdp-lens run` cannot build its program';

// ---- writers -------------------------------------------------------------------------------------------------------

class W {
  private parts: Buffer[] = [];
  constructor(readonly be: boolean) {}
  u8(v: number) { this.parts.push(Buffer.from([v])); return this; }
  u16(v: number) { const b = Buffer.alloc(2); this.be ? b.writeUInt16BE(v) : b.writeUInt16LE(v); this.parts.push(b); return this; }
  u32(v: number) { const b = Buffer.alloc(4); this.be ? b.writeUInt32BE(v >>> 0) : b.writeUInt32LE(v >>> 0); this.parts.push(b); return this; }
  i64(v: bigint) { const b = Buffer.alloc(8); this.be ? b.writeBigInt64BE(v) : b.writeBigInt64LE(v); this.parts.push(b); return this; }
  bytes(d: Uint8Array) { this.parts.push(Buffer.from(d)); return this; }
  pad4() { const n = this.length % 4; if (n) this.parts.push(Buffer.alloc(4 - n)); return this; }
  get length() { return this.parts.reduce((a, b) => a + b.length, 0); }
  done() { return Buffer.concat(this.parts); }
}

interface Rec { data: Uint8Array; orig?: number; sec?: number; frac?: number }

/** Classic pcap: `ns` selects the nanosecond magic, `be` big-endian order. */
function pcap(linkType: number, recs: Rec[], o: { ns?: boolean; be?: boolean; snaplen?: number } = {}): Buffer {
  const w = new W(!!o.be);
  w.u32(o.ns ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(o.snaplen ?? 65535).u32(linkType);
  for (const r of recs) w.u32(r.sec ?? 1_700_000_000).u32(r.frac ?? 0).u32(r.data.length).u32(r.orig ?? r.data.length).bytes(r.data);
  return w.done();
}

type Opt = [code: number, value: Uint8Array];
function block(be: boolean, type: number, body: (w: W) => void, opts: Opt[] = []): Buffer {
  const b = new W(be);
  body(b);
  b.pad4();
  if (opts.length) {
    for (const [c, v] of opts) b.u16(c).u16(v.length).bytes(v).pad4();
    b.u16(0).u16(0);
  }
  const inner = b.done();
  return new W(be).u32(type).u32(inner.length + 12).bytes(inner).u32(inner.length + 12).done();
}
const shb = (be: boolean) => block(be, 0x0a0d0d0a, (w) => w.u32(0x1a2b3c4d).u16(1).u16(0).i64(-1n));
function idb(be: boolean, linkType: number, o: { snaplen?: number; tsresol?: number; tsoffset?: bigint } = {}): Buffer {
  const opts: Opt[] = [];
  if (o.tsresol !== undefined) opts.push([9, Uint8Array.of(o.tsresol)]);
  if (o.tsoffset !== undefined) opts.push([14, new W(be).i64(o.tsoffset).done()]);
  return block(be, 1, (w) => w.u16(linkType).u16(0).u32(o.snaplen ?? 0), opts);
}
const epb = (be: boolean, ifc: number, ts: bigint, data: Uint8Array, orig = data.length) =>
  block(be, 6, (w) => w.u32(ifc).u32(Number(ts >> 32n)).u32(Number(ts & 0xffffffffn)).u32(data.length).u32(orig).bytes(data));
/** A simple packet block: only the original length; the captured bytes are min(orig, the interface's snap length). */
const spb = (be: boolean, data: Uint8Array, orig: number) => block(be, 3, (w) => w.u32(orig).bytes(data));

// ---- packets -------------------------------------------------------------------------------------------------------

function ipv4Udp(n: number, seed: number): Uint8Array {
  const b = Buffer.alloc(28 + n);
  for (let i = 28; i < b.length; i++) b[i] = (i * 7 + seed) & 0xff;
  b.set([0x45, 0, 0, 0, 0, seed & 0xff, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 0);
  b.writeUInt16BE(28 + n, 2);
  b.writeUInt16BE(1000 + seed, 20);
  b.writeUInt16BE(53, 22);
  b.writeUInt16BE(8 + n, 24);
  return b;
}
function ipv6Udp(n: number, seed: number): Uint8Array {
  const b = Buffer.alloc(48 + n);
  for (let i = 48; i < b.length; i++) b[i] = (i * 5 + seed) & 0xff;
  b[0] = 0x60;
  b.writeUInt16BE(8 + n, 4);
  b[6] = 17;
  b[7] = 64;
  b[23] = 1;
  b[39] = 2;
  b.writeUInt16BE(2000 + seed, 40);
  b.writeUInt16BE(53, 42);
  b.writeUInt16BE(8 + n, 44);
  return b;
}
const eth = (type: number, p: Uint8Array, seed = 1) =>
  Uint8Array.from([0x02, 0, 0, 0, 0, seed, 0x02, 0, 0, 0, 0, 0x10 + seed, type >> 8, type & 0xff, ...p]);
function sll(proto: number, p: Uint8Array): Uint8Array {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0, 0);
  h.writeUInt16BE(1, 2);
  h.writeUInt16BE(6, 4);
  h.set([0x00, 0x11, 0x22, 0x33, 0x44, 0x55], 6);
  h.writeUInt16BE(proto, 14);
  return Uint8Array.from([...h, ...p]);
}
function sll2(proto: number, p: Uint8Array): Uint8Array {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(proto, 0);
  h.writeUInt32BE(3, 4);
  h.writeUInt16BE(1, 8);
  h[10] = 0;
  h[11] = 6;
  h.set([0x00, 0x11, 0x22, 0x33, 0x44, 0x66], 12);
  return Uint8Array.from([...h, ...p]);
}
/** BSD loopback: the address family in the capturing host's byte order (here little-endian: 2 IPv4, 30 IPv6). */
const nullHdr = (af: number, p: Uint8Array, be = false) => Uint8Array.from([...new W(be).u32(af).done(), ...p]);

/** Bytes of the link-layer header tshark shows before the network layer, per link type. */
const LINK_HEADER: Record<number, number> = { 0: 4, 1: 14, 12: 0, 14: 0, 101: 0, 108: 4, 113: 16, 228: 0, 229: 0, 276: 20 };

interface Case {
  name: string;
  file: Buffer;
  linkTypes: number[];
  /**
   * Packets whose exact time differs from tshark 4.0's: it computes the fraction as (ticks % units) * 10^9 / units in 64
   * bits, which wraps when an interface has more than 2^64 / 10^9 (about 1.8 * 10^10) units a second (picoseconds,
   * 2^-40 s). The reader keeps the exact value: [packet, exact, tshark 4.0's].
   */
  wraps?: [number, string, string][];
}

function cases(): Case[] {
  const out: Case[] = [];
  // pcapng, one section: interfaces of ms, µs (default), ns and 2^-20 s resolution, one with an offset of seconds.
  {
    const be = false;
    const p = (i: number) => eth(0x0800, ipv4Udp(10 + i, i), i);
    out.push({
      name: 'tsresol.pcapng',
      linkTypes: [1, 1, 1, 1, 1, 1, 1],
      file: Buffer.concat([
        shb(be),
        idb(be, 1, { tsresol: 3 }),
        idb(be, 1),
        idb(be, 1, { tsresol: 9 }),
        idb(be, 1, { tsresol: 0x80 | 20 }),
        idb(be, 1, { tsresol: 6, tsoffset: 1_000_000_000n }),
        epb(be, 0, 1_700_000_000_123n, p(0)),
        epb(be, 1, 1_700_000_000_123_456n, p(1)),
        epb(be, 2, 1_700_000_000_123_456_789n, p(2)),
        epb(be, 3, (1_700_000_000n << 20n) + 777_777n, p(3)),
        epb(be, 4, 700_000_000_654_321n, p(4)),
        epb(be, 3, (1_700_000_001n << 20n) + 1n, p(5)),
        epb(be, 2, 1_700_000_000_000_000_001n, p(6).subarray(0, 30), p(6).length),
      ]),
    });
  }
  // Three sections (little, big, little endian): interface ids restart; SPBs take interface 0's snap length; link
  // types differ per interface.
  {
    const s1 = Buffer.concat([
      shb(false),
      idb(false, 1, { snaplen: 1500 }),
      idb(false, 101, { tsresol: 9 }),
      epb(false, 0, 1_700_000_000_000_001n, eth(0x0800, ipv4Udp(4, 1))),
      epb(false, 1, 1_700_000_000_000_000_002n, ipv6Udp(3, 2)),
      spb(false, eth(0x86dd, ipv6Udp(5, 3)), 14 + 53),
    ]);
    const s2 = Buffer.concat([
      shb(true),
      idb(true, 276, { snaplen: 60, tsresol: 9 }),
      idb(true, 1, { tsresol: 0x80 | 10 }),
      epb(true, 1, 1024n * 1_700_000_003n + 512n, eth(0x0800, ipv4Udp(20, 4))),
      epb(true, 0, 1_700_000_004_000_000_004n, sll2(0x0800, ipv4Udp(0, 5))),
      spb(true, sll2(0x86dd, ipv6Udp(6, 6)).subarray(0, 60), 20 + 54),
      spb(true, sll2(0x0800, ipv4Udp(1, 7)), 20 + 29),
    ]);
    const s3 = Buffer.concat([
      shb(false),
      idb(false, 0, { snaplen: 262144, tsoffset: 100n }),
      idb(false, 113),
      spb(false, nullHdr(2, ipv4Udp(2, 8)), 4 + 30),
      epb(false, 1, 1_700_000_005_000_005n, sll(0x86dd, ipv6Udp(1, 9))),
      epb(false, 0, 6n, nullHdr(30, ipv6Udp(2, 10))),
    ]);
    out.push({ name: 'sections.pcapng', linkTypes: [1, 101, 1, 1, 276, 276, 276, 0, 113, 0], file: Buffer.concat([s1, s2, s3]) });
  }
  // Extreme resolutions: whole seconds (10^0 and 2^0), picoseconds (10^-12), 2^-30 and 2^-40 (finer than a
  // nanosecond: rounded down as tshark does), a negative offset not a whole second before, snap length below a record.
  {
    const be = true;
    const p = (i: number) => eth(0x0800, ipv4Udp(6 + i, 30 + i), i);
    out.push({
      name: 'extremes.pcapng',
      linkTypes: [1, 1, 1, 1, 1, 1, 1],
      wraps: [[2, '2899545.342178041', '2899545.010136648'], [4, '5501187.898266372', '5501187.009073924']],
      file: Buffer.concat([
        shb(be),
        idb(be, 1, { tsresol: 0 }),
        idb(be, 1, { tsresol: 0x80 }),
        idb(be, 1, { tsresol: 12 }),
        idb(be, 1, { tsresol: 0x80 | 30 }),
        idb(be, 1, { tsresol: 0x80 | 40, snaplen: 20 }),
        idb(be, 1, { tsresol: 9, tsoffset: -5n }),
        epb(be, 0, 1_700_000_000n, p(0)),
        epb(be, 1, 1_700_000_001n, p(1)),
        epb(be, 2, 1_700_000_000_123_456_789_999n, p(2)),
        epb(be, 3, (1_700_000_002n << 30n) + 123_456_789n, p(3)),
        epb(be, 4, (1_700_000_003n << 40n) + 987_654_321_098n, p(4).subarray(0, 20), p(4).length),
        epb(be, 5, 1_700_000_000_000_000_001n, p(5)),
        epb(be, 5, 3_000_000_000n, p(6)),
      ]),
    });
  }
  // Original lengths below the captured ones (a broken writer), in pcap and EPB. (An SPB cannot say it: its captured
  // length is min(original, snap length); tshark 4.0 takes a longer block as damaged, libpcap reads it.)
  out.push({
    name: 'orig-short.pcap',
    linkTypes: [1],
    file: pcap(1, [{ data: eth(0x0800, ipv4Udp(8, 40)), orig: 20 }]),
  });
  out.push({
    name: 'orig-short.pcapng',
    linkTypes: [1],
    file: Buffer.concat([shb(false), idb(false, 1), epb(false, 0, 1n, eth(0x0800, ipv4Udp(8, 41)), 30)]),
  });
  // Classic pcap: nanosecond magic, big-endian, both, with frames cut by the snap length.
  const frames = [eth(0x0800, ipv4Udp(30, 11), 3), eth(0x86dd, ipv6Udp(9, 12), 4)];
  const recs = (fr: Uint8Array[], cut?: number): Rec[] =>
    fr.map((d, i) => ({ data: cut && i === 1 ? d.subarray(0, cut) : d, orig: d.length, sec: 1_700_000_100 + i, frac: 999_999 - i }));
  out.push({ name: 'ns-le.pcap', linkTypes: [1, 1], file: pcap(1, recs(frames, 40).map((r, i) => ({ ...r, frac: 999_999_999 - i })), { ns: true, snaplen: 40 }) });
  out.push({ name: 'us-be.pcap', linkTypes: [1, 1], file: pcap(1, recs(frames, 50), { be: true }) });
  out.push({ name: 'ns-be.pcap', linkTypes: [1, 1], file: pcap(1, recs(frames).map((r) => ({ ...r, frac: 123_456_789 })), { ns: true, be: true }) });
  // Link types besides Ethernet, in classic pcap (some byte-swapped).
  out.push({ name: 'sll.pcap', linkTypes: [113, 113], file: pcap(113, recs([sll(0x0800, ipv4Udp(3, 13)), sll(0x86dd, ipv6Udp(4, 14))], 30), { be: true }) });
  out.push({ name: 'sll2.pcap', linkTypes: [276, 276], file: pcap(276, recs([sll2(0x0800, ipv4Udp(3, 15)), sll2(0x86dd, ipv6Udp(4, 16))], 33), { ns: true }) });
  out.push({ name: 'raw101.pcap', linkTypes: [101, 101], file: pcap(101, recs([ipv4Udp(5, 17), ipv6Udp(5, 18)], 45)) });
  out.push({ name: 'raw228.pcap', linkTypes: [228, 228], file: pcap(228, recs([ipv4Udp(6, 19), ipv4Udp(7, 20)], 24), { be: true }) });
  out.push({ name: 'raw229.pcap', linkTypes: [229, 229], file: pcap(229, recs([ipv6Udp(6, 21), ipv6Udp(7, 22)])) });
  out.push({ name: 'null.pcap', linkTypes: [0, 0, 0], file: pcap(0, recs([nullHdr(2, ipv4Udp(4, 23)), nullHdr(24, ipv6Udp(4, 24)), nullHdr(2, ipv4Udp(1, 25), true)])) });
  out.push({ name: 'null-be.pcap', linkTypes: [0, 0], file: pcap(0, recs([nullHdr(2, ipv4Udp(4, 26), true), nullHdr(30, ipv6Udp(4, 27), true)]), { be: true }) });
  out.push({ name: 'loop.pcap', linkTypes: [108, 108], file: pcap(108, recs([nullHdr(2, ipv4Udp(4, 28), true), nullHdr(24, ipv6Udp(4, 29), true)])) });
  out.push({ name: 'raw12.pcap', linkTypes: [12], file: pcap(12, recs([ipv4Udp(5, 30)])) });
  out.push({ name: 'raw14.pcap', linkTypes: [14], file: pcap(14, recs([ipv6Udp(5, 31)])) });
  return out;
}

// ---- tshark --------------------------------------------------------------------------------------------------------

interface TsharkPacket { time: string; len: number; capLen: number; ifc: string; bytes: string }

/** tshark's reading of every packet, from one run (`-T json -x`: the frame layer's fields and frame_raw). */
function tshark(path: string): TsharkPacket[] {
  const r = spawnSync('tshark', ['-r', path, '-T', 'json', '-x', '-j', 'frame'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const docs = JSON.parse(r.stdout) as { _source: { layers: { frame_raw: [string]; frame: Record<string, string> } } }[];
  return docs.map(({ _source: { layers } }) => {
    const f = layers.frame;
    return { time: f['frame.time_epoch'] ?? '', len: Number(f['frame.len']), capLen: Number(f['frame.cap_len']), ifc: f['frame.interface_id'] ?? '', bytes: layers.frame_raw[0] };
  });
}

/** Nanoseconds since the epoch as tshark prints frame.time_epoch (9 decimals, one sign). */
function epoch(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/** The files also run through `xdp-lens run` (each run costs a process and a build: a few, not all). */
const RUN = new Set(['sections.pcapng', 'extremes.pcapng', 'ns-be.pcap', 'orig-short.pcap']);

const EXTRA = 7 + 2 + 4;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('odd but valid captures: timestamps, lengths, interface, link type and bytes as tshark reads them', { skip: noTshark }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-odd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const all = cases();
  const runs = new Map<string, Promise<{ status: number | null; stdout: string; stderr: string }>>();
  const prog = join(dir, 'pass.c');
  writeFileSync(prog, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }\nchar _license[] SEC("license") = "GPL";\n');
  for (const c of all) {
    const path = join(dir, c.name);
    writeFileSync(path, c.file);
    if (!noClang && RUN.has(c.name)) runs.set(c.name, cli(['run', prog, path, '--format', 'jsonl', '--data']));
  }
  let compared = 0;
  for (const c of all) {
    const path = join(dir, c.name);
    const want = tshark(path);
    const { packets, error } = readAll(path);
    assert.equal(error, undefined, `${c.name}: ${error?.message}`);
    assert.equal(packets.length, want.length, `${c.name}: packet count`);
    const jsonl = await runs.get(c.name);
    if (jsonl) assert.equal(jsonl.status, 0, `${c.name}: ${jsonl.stderr}`);
    const lines = jsonl ? jsonl.stdout.split('\n').filter((l) => l.startsWith('{"packet"')).map((l) => JSON.parse(l) as { ts: string; len: number; caplen: number; data: string }) : [];
    packets.forEach((p, i) => {
      const w = want[i]!;
      const at = `${c.name} packet ${i}`;
      assert.equal(p.linkType, c.linkTypes[i], `${at}: link type`);
      const cut = LINK_HEADER[p.linkType]!;
      // A simple packet block has no timestamp: tshark shows none; the reader marks it untimed (its tsNs is the
      // interface's if_tsoffset, which `run` prints).
      assert.equal(p.untimed === true, w.time === '', `${at}: untimed`);
      const wrap = c.wraps?.find(([k]) => k === i);
      if (wrap) assert.deepEqual([epoch(p.tsNs), w.time], wrap.slice(1), `${at}: exact time, and tshark 4.0's wrapped one`);
      else if (!p.untimed) assert.equal(epoch(p.tsNs), w.time, `${at}: timestamp`);
      assert.equal(String(p.interfaceId), c.name.endsWith('.pcapng') ? w.ifc : '0', `${at}: interface`);
      // Delivered as Ethernet: tshark's frame less its link-layer header, after a 14-byte Ethernet header.
      // An original length below the captured one (a broken writer): tshark shows it; `run` takes the captured
      // length, the frame it delivers being that long (README, "Captures").
      if (w.len < w.capLen) assert.equal(p.wireLen, p.capLen, `${at}: length on the wire raised to the captured length`);
      else assert.equal(p.wireLen, w.len - cut + 14, `${at}: length on the wire`);
      assert.equal(p.capLen, w.capLen - cut + 14, `${at}: captured length`);
      assert.equal(p.truncated, w.capLen < w.len, `${at}: truncated`);
      assert.equal(hex(p.frame.subarray(14)), w.bytes.slice(cut * 2), `${at}: bytes after the link-layer header`);
      if (p.linkType === 1) assert.equal(hex(p.frame), w.bytes, `${at}: the Ethernet frame`);
      if (jsonl) {
        const j = lines[i]!;
        assert.deepEqual([j.ts, j.len, j.caplen, j.data], [epoch(p.tsNs), p.wireLen, p.capLen, hex(p.frame)], `${at}: xdp-lens run --format jsonl --data`);
      }
      compared++;
    });
    if (jsonl) assert.equal(lines.length, packets.length, `${c.name}: one jsonl line per packet`);
  }
  assert.equal(compared, 38 + EXTRA);
});

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const ch = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    ch.stdout.on('data', (d) => (stdout += d));
    ch.stderr.on('data', (d) => (stderr += d));
    ch.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('a link type run does not support, and damaged captures, end with exit 2 naming the file and byte offset', { skip: noClang }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-odd-bad-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const prog = join(dir, 'pass.c');
  writeFileSync(prog, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }\nchar _license[] SEC("license") = "GPL";\n');
  const good = eth(0x0800, ipv4Udp(4, 1));
  const files: [string, Buffer, RegExp][] = [
    ['usb.pcap', pcap(189, [{ data: new Uint8Array(48) }], { be: true }), /usb\.pcap: byte offset 20: link type 189 \(.*\) is not supported/],
    ['tr.pcap', pcap(6, [{ data: new Uint8Array(40) }], { ns: true }), /tr\.pcap: byte offset 20: link type 6 \(.*\) is not supported/],
    ['cut.pcap', pcap(1, [{ data: good }, { data: good }]).subarray(0, 24 + 16 + good.length + 16 + 5), new RegExp(`cut\\.pcap: record 1, byte offset ${24 + 16 + good.length}: `)],
    ['cut-be.pcapng', Buffer.concat([shb(true), idb(true, 1, { tsresol: 9 }), epb(true, 0, 1n, good), epb(true, 0, 2n, good)]).subarray(0, -3), /cut-be\.pcapng: byte offset 140: truncated block of type 0x6 \(77 of 80 bytes\)/],
  ];
  // Two through `run` (a process each), all through the reader, whose CaptureError `run` prints.
  const runs = files.map(([name, bytes], i) => {
    writeFileSync(join(dir, name), bytes);
    return i % 2 === 0 ? cli(['run', prog, join(dir, name), '--format', 'jsonl']) : undefined;
  });
  for (const [i, [name, , re]] of files.entries()) {
    assert.match(readAll(join(dir, name)).error?.message ?? '', re, `${name}: the reader's error`);
    const r = await runs[i];
    if (!r) continue;
    assert.equal(r.status, 2, `${name}: exit status (stderr: ${r.stderr})`);
    assert.match(r.stderr, re, name);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
  }
});
