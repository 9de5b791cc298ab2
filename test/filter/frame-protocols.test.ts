// frame.protocols as tshark 4.0 gives it (with the README's prefs: no reassembly): every protocol from the outside in,
// 'ethertype' after a header that hands on by EtherType (not after an 802.3 length), one 'mpls' for a label stack,
// IPv6 extension headers and AH by name, IGMP twice, a payload on a port tshark dissects by that dissector's name (the
// lower port's first), nothing for a TCP reset's payload, no trailer or padding. The expected values are written out
// (the test fails without tshark too) and checked against tshark -T fields and -Y when it is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, type PacketFacts } from '../../simulator/filter.ts';
import { classicPcap } from '../net/pcap-file.ts';
import { haveTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const MAC = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
const tcp = (sp: number, dp: number, flags: number, data: number[] = []) => [...be16(sp), ...be16(dp), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0x20, 0, 0, 0, 0, 0, ...data];
const udp = (sp: number, dp: number, b: number[]) => [...be16(sp), ...be16(dp), ...be16(8 + b.length), 0, 0, ...b];
const ip4 = (proto: number, b: number[]) => [0x45, 0, ...be16(20 + b.length), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...b];
const ip6 = (nxt: number, b: number[]) => [0x60, 0, 0, 0, ...be16(b.length), nxt, 64, 0x20, 1, 0x0d, 0xb8, ...Array(11).fill(0), 1, 0x20, 1, 0x0d, 0xb8, ...Array(11).fill(0), 2, ...b];
const eth = (type: number, b: number[]) => [...MAC, ...be16(type), ...b];
const DNS = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 1, 0, 1];
const TEXT = [...Buffer.from('GET / HTTP/1.0\r\n\r\n')];

const FRAMES: number[][] = [
  /* 1 */ eth(0x0800, ip4(6, tcp(40000, 80, 0x18, TEXT))),
  /* 2 */ eth(0x0800, ip4(6, tcp(40000, 80, 0x14, TEXT))), // a reset's payload
  /* 3 */ eth(0x0800, ip4(6, tcp(40000, 40001, 0x18, [1, 2, 3, 4, 5]))), // no port of tshark's: data
  /* 4 */ [...MAC, 0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x08, 0x00, ...ip4(17, udp(1000, 53, DNS))], // QinQ
  /* 5 */ eth(0x8847, [0, 1, 0x00, 64, 0, 2, 0x01, 64, ...ip4(17, udp(68, 67, Array(240).fill(0)))]),
  /* 6 */ eth(0x86dd, ip6(0, [60, 0, 1, 4, 0, 0, 0, 0, 51, 0, 1, 4, 0, 0, 0, 0, 44, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 17, 0, 0, 0, 0, 0, 0, 9, ...udp(1000, 2000, [1, 2, 3])])),
  /* 7 */ eth(0x0800, ip4(2, [0x16, 0, 0xfa, 0x04, 224, 0, 0, 1])),
  /* 8 */ [...MAC, 0, 38, 0x42, 0x42, 0x03, 0, 0, 0, 0, 0, ...Array(31).fill(0)], // 802.3 + LLC + STP
  /* 9 */ eth(0x0800, ip4(17, udp(1234, 4789, [0x08, 0, 0, 0, 0, 0, 1, 0, ...eth(0x86dd, ip6(58, [128, 0, 0, 0, 0, 1, 0, 1]))]))),
  /* 10 */ eth(0x0800, ip4(1, [3, 3, 0, 0, 0, 0, 0, 0, ...ip4(17, udp(5000, 123, [0x23, 0, 0, 0]))])),
  /* 11 */ eth(0x0800, ip4(47, [0, 0, 0x65, 0x58, ...eth(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...MAC.slice(6), 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2])])),
  /* 12 */ eth(0x0800, ip4(17, udp(1000, 2000, [1]))), // padded to 60 below
  /* 13 */ eth(0x0800, ip4(17, udp(5353, 5353, DNS))), // the DNS layer, mDNS to tshark by its port
];
while (FRAMES[11]!.length < 60) FRAMES[11]!.push(0);

const EXPECT = [
  'eth:ethertype:ip:tcp:http',
  'eth:ethertype:ip:tcp',
  'eth:ethertype:ip:tcp:data',
  'eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:ip:udp:dns',
  'eth:ethertype:mpls:ip:udp:dhcp',
  'eth:ethertype:ipv6:ipv6.hopopts:ipv6.dstopts:ah:ipv6.fraghdr:udp:data',
  'eth:ethertype:ip:igmp:igmp',
  'eth:llc:stp',
  'eth:ethertype:ip:udp:vxlan:eth:ethertype:ipv6:icmpv6',
  'eth:ethertype:ip:icmp:ip:udp:ntp',
  'eth:ethertype:ip:gre:eth:ethertype:arp',
  'eth:ethertype:ip:udp:data',
  'eth:ethertype:ip:udp:mdns',
];
const PREFS = ['-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE'];
const SELECT: [string, number[]][] = [
  ['frame.protocols == "eth:ethertype:ip:tcp"', [2]],
  ['frame.protocols contains "ipv6.fraghdr"', [6]],
  ['frame.protocols contains "ethertype:vlan"', [4]],
  ['frame.protocols matches ":data$"', [3, 6, 12]],
  ['frame.protocols contains "mdns"', [13]],
  ['frame.protocols contains "igmp:igmp"', [7]],
  ['frame.protocols matches "^eth:llc"', [8]],
];

test('frame.protocols as tshark gives it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-frame-protocols-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'frames.pcap');
  writeFileSync(path, classicPcap(FRAMES.map((f, i) => ({ data: Uint8Array.from(f), sec: i }))));
  const facts: PacketFacts[] = FRAMES.map((f, index) => ({ index, frame: Uint8Array.from(f), wireLen: f.length, capLen: f.length, action: 'XDP_PASS', retval: 2 }));
  const f = compileFilter('frame.protocols');
  assert.deepEqual(facts.map((p) => f.values(p, 'frame.protocols').join('|')), EXPECT);
  for (const [expr, want] of SELECT) {
    const g = compileFilter(expr);
    assert.deepEqual(facts.filter((p) => g.test(p)).map((p) => p.index + 1), want, expr);
  }
  if (!haveTshark) return void t.diagnostic('tshark is not installed: checked against the values tshark 4.0 gave, not against tshark itself');
  const ts = spawnSync('tshark', ['-r', path, ...PREFS, '-T', 'fields', '-e', 'frame.protocols'], { encoding: 'utf8' });
  assert.equal(ts.status, 0, ts.stderr);
  assert.deepEqual(ts.stdout.split('\n').slice(0, FRAMES.length), EXPECT, 'tshark -e frame.protocols');
  for (const [expr, want] of SELECT) {
    const y = spawnSync('tshark', ['-r', path, ...PREFS, '-Y', expr, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    assert.equal(y.status, 0, y.stderr);
    assert.deepEqual(y.stdout.split('\n').filter(Boolean).map(Number), want, `tshark -Y '${expr}'`);
  }
});
