// The display filter on frames whose shape Wireshark treats specially (an 802.3 length in place of the EtherType, an
// IPv4 header of a bogus version or length, a TCP header cut short by the snap length, a TCP segment on port 53 with
// no DNS message, the AE flag, the DNS flags a query does not define, VXLAN's 16-bit flags, an ICMP error quoting
// the packet that caused it, GENEVE's inner frame): each expression selects the packets tshark -Y selects. The
// expected selections are written out, so the test fails without tshark too; with tshark installed they are checked
// against it as well.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, type PacketFacts } from '../../simulator/filter.ts';
import { openCapture } from '../../simulator/net/capture.ts';

const haveTshark = spawnSync('tshark', ['--version']).status === 0;

const MACS = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
const eth = (type: number, payload: number[]) => [...MACS, type >> 8, type & 0xff, ...payload];

function ipv4(proto: number, payload: number[], first = 0x45): number[] {
  const ihl = (first & 15) * 4;
  const h = [first, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...new Array(Math.max(0, ihl - 20)).fill(0)];
  const len = Math.max(ihl, 20) + payload.length;
  h[2] = len >> 8;
  h[3] = len & 0xff;
  return [...h.slice(0, Math.max(ihl, 20)), ...payload];
}
function ipv6(next: number, payload: number[]): number[] {
  return [0x60, 0, 0, 0, payload.length >> 8, payload.length & 0xff, next, 64, ...new Array(15).fill(0), 1, ...new Array(15).fill(0), 2, ...payload];
}
const be16 = (v: number) => [v >> 8, v & 0xff];
function tcp(sport: number, dport: number, flags: number, payload: number[] = []): number[] {
  return [...be16(sport), ...be16(dport), 0, 0, 0, 1, 0, 0, 0, 0, 0x50 | (flags >> 8), flags & 0xff, ...be16(8192), 0, 0, 0, 0, ...payload];
}
function udp(sport: number, dport: number, payload: number[]): number[] {
  return [...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0, 0, ...payload];
}
/** A DNS header (and one question for example.com A IN) with the given flags. */
const dnsMsg = (flags: number) => [0x12, 0x34, ...be16(flags), 0, 1, 0, 0, 0, 0, 0, 0, 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 1, 0, 1];

const FRAMES: { data: number[]; orig?: number }[] = [
  /* 0 */ { data: [...MACS, 0x00, 0x26, 0x42, 0x42, 0x03, ...new Array(35).fill(0)] }, // 802.3 + LLC (STP)
  /* 1 */ { data: eth(0x0800, ipv4(17, udp(1000, 53, dnsMsg(0x0100)), 0x55)) }, // "IPv4" of version 5
  /* 2 */ { data: eth(0x0800, [...ipv4(17, [], 0x44).slice(0, 16), ...udp(1000, 2000, [1, 2, 3, 4])]) }, // IHL 4: 16 bytes
  /* 3 */ { data: eth(0x86dd, ipv6(6, tcp(53, 40000, 0x18, [0, 30, ...dnsMsg(0x8180)]))).slice(0, 14 + 40 + 6), orig: 14 + 40 + 20 + 32 }, // snap length 60
  /* 4 */ { data: eth(0x0800, ipv4(6, tcp(53, 40000, 0x10))) }, // bare ACK from port 53
  /* 5 */ { data: eth(0x0800, ipv4(6, tcp(40000, 53, 0x18, [0, 29, ...dnsMsg(0x0100)]))) }, // DNS over TCP
  /* 6 */ { data: eth(0x0800, ipv4(6, tcp(1234, 80, 0x112))) }, // SYN-ACK with AE (0x100)
  /* 7 */ { data: eth(0x0800, ipv4(17, udp(1000, 53, dnsMsg(0x0120)))) }, // query with the AD bit
  /* 8 */ { data: eth(0x0800, ipv4(17, udp(53, 1000, dnsMsg(0x8583)))) }, // response, NXDOMAIN, authoritative
  /* 9 */ { data: eth(0x0800, ipv4(17, udp(1234, 4789, [0x08, 0, 0, 0, 0, 0, 0x7b, 0, ...eth(0x0800, ipv4(17, udp(1, 2, [9])))]))) }, // VXLAN VNI 123
  // ICMP port unreachable quoting a UDP datagram 10.0.0.2:777 -> 10.0.0.1:5555 (the quoted packet's fields count too).
  /* 10 */ { data: eth(0x0800, ipv4(1, [3, 3, 0, 0, 0, 0, 0, 0, ...ipv4(17, udp(777, 5555, [1, 2, 3, 4])).map((b, i) => (i >= 12 && i < 20 ? [10, 0, 0, 2, 10, 0, 0, 1][i - 12]! : b))])) },
  // ICMPv6 destination unreachable quoting a UDP datagram to port 6000.
  /* 11 */ { data: eth(0x86dd, ipv6(58, [1, 4, 0, 0, 0, 0, 0, 0, ...ipv6(17, udp(888, 6000, [5, 6]))])) },
  // Echo request: its body is data, not a quoted packet.
  /* 12 */ { data: eth(0x0800, ipv4(1, [8, 0, 0, 0, 0, 1, 0, 1, ...ipv4(17, udp(777, 5555, [1]))])) },
  // GENEVE (one 4-byte option) carrying an Ethernet frame with a SYN 192.168.1.7:2905 -> :8080.
  /* 13 */ { data: eth(0x0800, ipv4(17, udp(55411, 6081, [0x01, 0, 0x65, 0x58, 0, 0, 0x2a, 0, 0x01, 0x02, 0x03, 0x00, ...eth(0x0800, ipv4(6, tcp(2905, 8080, 0x002)).map((b, i) => (i >= 12 && i < 16 ? [192, 168, 1, 7][i - 12]! : b)))]))) },
];

/** Expression -> the packets (indices) tshark 4.0 selects. */
const EXPECT: [string, number[]][] = [
  ['eth.type', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]],
  ['eth.type < 0x0600', []],
  ['ip.src == 10.0.0.1', [4, 5, 6, 7, 8, 9, 10, 12, 13]],
  ['ip && !ip.src', [1, 2]],
  ['udp', [7, 8, 9, 10, 11, 13]],
  ['ip.hdr_len == 16', [2]],
  ['tcp.port == 53', [3, 4, 5]],
  ['tcp.srcport == 53 && !tcp.flags', [3]],
  ['dns', [5, 7, 8]],
  ['tcp.flags.ae == 1', [6]],
  ['tcp.flags.ae == 0', [4, 5, 13]],
  ['dns.flags.rcode == 0', []],
  ['dns.flags.rcode == 3', [8]],
  ['dns.flags.authoritative', [8]],
  ['dns.flags.recavail == 1', [8]],
  ['dns.flags.authenticated == 1', [7]],
  ['dns.flags.recdesired == 1', [5, 7, 8]],
  ['vxlan.flags > 255', [9]], // the 16-bit field, I bit 0x0800 (tshark parses literals for it as 8-bit)
  ['vxlan.vni == 123', [9]],
  ['udp.dstport == 5555', [10]],
  ['ip.src == 10.0.0.2', [10]],
  ['icmp && udp', [10]],
  ['udp.port == 6000 && icmpv6.type == 1', [11]],
  ['icmp.type == 8 && !udp', [12]],
  ['ip.checksum == 0', [4, 5, 6, 7, 8, 9, 10, 12, 13]],
  ['tcp.dstport == 8080', [13]],
  ['ip.src == 192.168.1.7 && tcp.flags.syn == 1', [13]],
];

function pcap(frames: { data: number[]; orig?: number }[]): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(1, 20);
  const parts = [h];
  frames.forEach((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000, 0);
    r.writeUInt32LE(i, 4);
    r.writeUInt32LE(f.data.length, 8);
    r.writeUInt32LE(f.orig ?? f.data.length, 12);
    parts.push(r, Buffer.from(f.data));
  });
  return Buffer.concat(parts);
}

test('the display filter selects what tshark -Y selects on frames Wireshark treats specially', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-filter-tshark-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'special.pcap');
  writeFileSync(path, pcap(FRAMES));
  const facts: PacketFacts[] = [];
  const r = openCapture(path);
  for (let p; (p = r.next()); ) facts.push({ index: p.index, frame: p.frame.slice(), wireLen: p.wireLen, capLen: p.capLen, action: 'XDP_PASS', retval: 2 });
  r.close();
  assert.equal(facts.length, FRAMES.length);
  const wrong: string[] = [];
  for (const [expr, want] of EXPECT) {
    const f = compileFilter(expr);
    const ours = facts.filter((p) => f.test(p)).map((p) => p.index);
    if (JSON.stringify(ours) !== JSON.stringify(want)) wrong.push(`${expr}: ours ${JSON.stringify(ours)}, expected ${JSON.stringify(want)}`);
    if (haveTshark) {
      const ts = spawnSync('tshark', ['-r', path, '-Y', expr, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
      assert.equal(ts.status, 0, `tshark -Y '${expr}': ${ts.stderr}`);
      const theirs = ts.stdout.split('\n').filter(Boolean).map((n) => Number(n) - 1);
      if (JSON.stringify(theirs) !== JSON.stringify(want)) wrong.push(`${expr}: tshark ${JSON.stringify(theirs)}, expected ${JSON.stringify(want)} (the expectation is out of date)`);
    }
  }
  assert.deepEqual(wrong, []);
  if (!haveTshark) t.diagnostic('tshark is not installed: checked against the selections tshark 4.0 made, not against tshark itself');
});
