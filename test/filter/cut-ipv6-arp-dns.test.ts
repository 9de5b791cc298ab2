// Headers cut short and DNS by port, as tshark 4.0 shows them: an IPv6 header of fewer than 40 bytes has its version
// from 1 byte, traffic class and flow label from 4, payload length and next header from 7, hop limit from 8 and the
// source from 24 (never the destination); an ARP message shorter than its addresses has its hardware type from 2
// bytes, protocol type from 4, sizes from 5 and 6, opcode from 8 (no `arp` below 2 bytes); a UDP datagram to port 53
// with no payload has no DNS; TCP between port 53 and a lower port tshark has a dissector for (ssh on 22, smtp on 25,
// ftp on 21, ...) is that protocol's, not DNS. Each field's values and presence against tshark -T fields and -Y.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, type PacketFacts } from '../../simulator/filter.ts';
import { haveTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const eth = (type: number, p: number[]) => [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, ...be16(type), ...p];
const ip4 = (p: number[], proto: number) => [0x45, 0, ...be16(20 + p.length), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...p];
const ip6 = [0x6a, 0xbc, 0xde, 0xf1, 0, 8, 17, 64, 0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 1, 0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 2, 0x12, 0x34, 0, 53, 0, 8, 0, 0];
const arp = [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2];
const dnsMsg = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x77, 0x77, 0x77, 0, 0, 1, 0, 1];
const udp = (pl: number[]) => [0x30, 0x39, 0, 53, ...be16(8 + pl.length), 0, 0, ...pl];
const tcp = (sp: number, dp: number, pl: number[]) => [...be16(sp), ...be16(dp), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0x20, 0, 0, 0, 0, 0, ...pl];

/** Each record: its bytes and its length on the wire. */
function records(): { data: number[]; orig: number }[] {
  const out: { data: number[]; orig: number }[] = [];
  for (let n = 0; n <= 48; n++) out.push({ data: eth(0x86dd, ip6).slice(0, 14 + n), orig: 62 });
  for (let n = 0; n <= 28; n++) out.push({ data: eth(0x0806, arp).slice(0, 14 + n), orig: 60 });
  for (let n = 0; n <= 5; n++) {
    const d = eth(0x0800, ip4(udp(dnsMsg.slice(0, n)), 17));
    out.push({ data: d, orig: d.length });
  }
  const whole = eth(0x0800, ip4(udp(dnsMsg), 17));
  for (let n = 0; n <= 5; n++) out.push({ data: whole.slice(0, 42 + n), orig: whole.length });
  // Port 25 left out: tshark's SMTP dissector hands the payload on as text lines (a heuristic, not modelled).
  for (let p = 1; p <= 60; p++) {
    if (p === 25) continue;
    out.push({ data: eth(0x0800, ip4(tcp(p, 53, [0, dnsMsg.length, ...dnsMsg]), 6)), orig: 0 });
    if (p !== 53) out.push({ data: eth(0x0800, ip4(tcp(53, p, [0, dnsMsg.length, ...dnsMsg]), 6)), orig: 0 });
  }
  for (const p of [80, 179, 443, 5353]) out.push({ data: eth(0x0800, ip4(tcp(p, 53, [0, dnsMsg.length, ...dnsMsg]), 6)), orig: 0 });
  return out;
}

function pcap(recs: { data: number[]; orig: number }[]): Buffer {
  const parts = [Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex')];
  recs.forEach((r, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1_700_000_000 + i, 0);
    h.writeUInt32LE(r.data.length, 8);
    h.writeUInt32LE(r.orig || r.data.length, 12);
    parts.push(h, Buffer.from(r.data));
  });
  return Buffer.concat(parts);
}

const FIELDS = [
  'ipv6.version', 'ipv6.tclass', 'ipv6.flow', 'ipv6.plen', 'ipv6.nxt', 'ipv6.hlim', 'ipv6.src', 'ipv6.dst', 'ipv6.addr', 'ip.version',
  'arp.hw.type', 'arp.proto.type', 'arp.hw.size', 'arp.proto.size', 'arp.opcode', 'arp.src.proto_ipv4', 'arp.dst.hw_mac',
  'dns.id', 'dns.flags', 'dns.qry.name', 'frame.protocols',
];
const PRESENT = ['ipv6', 'arp', 'dns', 'ipv6.src', 'ipv6.dst', 'arp.hw.type', 'arp.opcode', 'arp.src.proto_ipv4', 'dns.id'];

test('IPv6 and ARP headers cut short, and DNS by port (empty UDP payload, TCP beside a lower port): fields as tshark shows them', { skip: !haveTshark && 'tshark is not installed' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-cut-v6-arp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'cut.pcap');
  const recs = records();
  writeFileSync(path, pcap(recs));
  const facts: PacketFacts[] = recs.map((r, index) => ({ index, frame: Uint8Array.from(r.data), wireLen: r.orig || r.data.length, capLen: r.data.length, action: 'XDP_PASS', retval: 2 }));
  const prefs = ['-o', 'tcp.desegment_tcp_streams:FALSE', '-o', 'tcp.analyze_sequence_numbers:FALSE'];
  const ts = spawnSync('tshark', ['-r', path, ...prefs, '-T', 'fields', '-E', 'quote=n', ...FIELDS.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  assert.equal(ts.status, 0, ts.stderr);
  const rows = ts.stdout.split('\n').slice(0, facts.length).map((l) => l.split('\t'));
  assert.equal(rows.length, facts.length);
  const wrong: string[] = [];
  let compared = 0;
  FIELDS.forEach((field, k) => {
    // Every value tshark shows (a field present more than once: each occurrence), and absence.
    const theirs = rows.map((c) => (c[k] ? c[k]!.split(',') : []));
    const quote = field === 'frame.protocols' || field === 'dns.qry.name';
    for (const v of ['', ...new Set(theirs.flat())]) {
      const expr = v === '' ? `!${field}` : `${field} == ${quote ? `"${v}"` : v}`;
      const f = compileFilter(expr);
      const diff = facts.filter((p, i) => f.test(p) !== (v === '' ? theirs[i]!.length === 0 : theirs[i]!.includes(v))).map((p) => p.index + 1);
      compared += facts.length;
      if (diff.length) wrong.push(`${expr}: frames ${diff.slice(0, 10).join(' ')} (${diff.length}) differ from tshark`);
    }
  });
  for (const field of PRESENT) {
    const y = spawnSync('tshark', ['-r', path, ...prefs, '-Y', field, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    const want = new Set(y.stdout.split('\n').filter(Boolean).map((n) => Number(n) - 1));
    const f = compileFilter(field);
    const diff = facts.filter((p) => f.test(p) !== want.has(p.index)).map((p) => p.index + 1);
    compared += facts.length;
    if (diff.length) wrong.push(`tshark -Y ${field}: frames ${diff.slice(0, 10).join(' ')} (${diff.length}) differ`);
  }
  assert.deepEqual(wrong, []);
  t.diagnostic(`${compared} frame x filter results against tshark`);
});
