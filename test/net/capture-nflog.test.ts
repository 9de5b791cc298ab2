// NFLOG captures (link type 239, what `tcpdump -i nflog:N` writes of packets an iptables/nftables NFLOG rule logs):
// each record's packet (its NFULA_PAYLOAD TLV) runs as an IP packet behind a made-up Ethernet header, as raw IP
// captures do; TLV lengths in either byte order; a packet logged at the LOCAL_OUT hook is one the host sent (not run);
// a record with no packet is an error naming the file, offset and record. Where tshark is installed, the IP packet
// each record holds is compared with tshark's (ip.len / ipv6.plen and the addresses).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAll } from './read-all.ts';
import { classicPcap } from './pcap-file.ts';

const haveTshark = spawnSync('tshark', ['--version']).status === 0;
const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const ip4 = (body: number[]) => [0x45, 0, ...be16(20 + body.length), 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const a6 = (last: number) => [0x20, 1, 0x0d, 0xb8, ...new Array<number>(11).fill(0), last];
const ip6 = (body: number[]) => [0x60, 0, 0, 0, ...be16(body.length), 17, 64, ...a6(1), ...a6(2), ...body];
const udp = (n: number) => [0x04, 0xd2, 0, 53, ...be16(8 + n), 0, 0, ...new Array<number>(n).fill(0x61)];
/** A TLV: 16-bit length (header included) and type in the given byte order, padded to 4 bytes. */
function tlv(type: number, value: number[], le: boolean): number[] {
  const len = 4 + value.length;
  const h = le ? [len & 0xff, len >> 8, type & 0xff, type >> 8] : [...be16(len), ...be16(type)];
  return [...h, ...value, ...new Array<number>((4 - (len % 4)) % 4).fill(0)];
}
/** An NFLOG record: family, version 0, resource id 5; NFULA_PACKET_HDR (hw protocol, hook), a prefix, the payload. */
function nflog(family: number, hook: number, packet: number[] | undefined, le = true): Uint8Array {
  return Uint8Array.from([
    family, 0, 0, 5,
    ...tlv(1, [...be16(family === 2 ? 0x0800 : 0x86dd), hook, 0], le),
    ...tlv(10, [...Buffer.from('drop-in'), 0], le),
    ...(packet ? tlv(9, packet, le) : []),
  ]);
}
const V4 = ip4(udp(5)); // 33 bytes: its TLV is padded by 3
const V6 = ip6(udp(2));

test('NFLOG records run as the IP packets they hold, TLVs in either byte order, LOCAL_OUT ones not run', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-nflog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'nflog.pcap');
  const records = [nflog(2, 0, V4), nflog(10, 1, V6), nflog(2, 0, V4, false), nflog(2, 3, V4)];
  writeFileSync(path, classicPcap(records.map((data, i) => ({ data, sec: i })), 239));
  // The TLVs are in the byte order of the host that wrote the file, so tshark reads big-endian ones only in a
  // big-endian pcap; the reader here takes whichever order fits, so it reads the same record in either file.
  const bePath = join(dir, 'nflog-be.pcap');
  const be = Buffer.from(nflog(2, 0, V4, false));
  const beHead = Buffer.from('a1b2c3d4000200040000000000000000000000ff000000ef', 'hex');
  const beRec = Buffer.alloc(16);
  beRec.writeUInt32BE(be.length, 8);
  beRec.writeUInt32BE(be.length, 12);
  writeFileSync(bePath, Buffer.concat([beHead, beRec, be]));
  assert.deepEqual([...readAll(bePath).packets[0]!.frame.subarray(14)], V4);
  const { packets, error } = readAll(path);
  assert.equal(error, undefined);
  assert.equal(packets.length, 4);
  const want = [V4, V6, V4, V4];
  packets.forEach((p, i) => {
    assert.deepEqual([...p.frame.subarray(14)], want[i], `record ${i}: the packet, without the TLV's padding`);
    assert.deepEqual([...p.frame.subarray(0, 14)], [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, ...(i === 1 ? [0x86, 0xdd] : [0x08, 0x00])]);
    assert.equal(p.wireLen, p.capLen);
    assert.equal(p.linkType, 239);
  });
  assert.deepEqual(packets.map((p) => p.outgoing ?? false), [false, false, false, true], 'logged at LOCAL_OUT: sent by the host');
  if (haveTshark) {
    const fields = (f: string) => spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'ip.len', '-e', 'ipv6.plen', '-e', 'ip.src', '-e', 'ipv6.src'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    assert.deepEqual(fields(path), ['33\t\t10.0.0.1\t', '\t10\t\t2001:db8::1', '\t\t\t', '33\t\t10.0.0.1\t'], 'tshark finds the same packets (not a big-endian record in a little-endian file)');
    assert.deepEqual(fields(bePath), ['33\t\t10.0.0.1\t'], 'tshark reads the big-endian record in a big-endian file');
  }
});

test('an NFLOG record with no packet, or a TLV shorter than its header, is an error naming the record', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-nflog-bad-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'bad.pcap');
  writeFileSync(path, classicPcap([{ data: nflog(2, 0, V4), sec: 0 }, { data: nflog(2, 0, undefined), sec: 1 }], 239));
  let r = readAll(path);
  assert.equal(r.packets.length, 1, 'the packet before it is kept');
  assert.equal(r.error?.message, `${path}: record 1, byte offset ${24 + 16 + nflog(2, 0, V4).length}: NFLOG record holds no packet (no NFULA_PAYLOAD TLV: was it logged with --nflog-size 0?)`);
  writeFileSync(path, classicPcap([{ data: Uint8Array.from([2, 0, 0, 5, 2, 0, 9, 0]), sec: 0 }], 239));
  r = readAll(path);
  assert.match(r.error?.message ?? '', /record 0, byte offset 24: NFLOG TLV at record byte 4 has length 2 \(less than its 4-byte header\)$/);
});
