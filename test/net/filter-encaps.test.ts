// The display filter on what Wireshark dissects beneath an Ethernet header besides IP and ARP: an MPLS label stack
// (and the IPv4/IPv6 packet after it), a PPPoE session (and its IP packet), 802.3 frames with LLC (STP, and SNAP with
// an IP packet inside), LLDP, and SCTP, IGMP and ESP over IP. Before, none of these names existed and the IP inside
// MPLS, PPPoE and SNAP was not seen, so `ip.src == ...` missed packets tshark -Y selects. The expected selections
// are written out (tshark 4.0's), and checked against tshark itself where it is installed.
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
const be16 = (v: number) => [v >> 8, v & 0xff];
const eth = (type: number, payload: number[]) => [...MACS, ...be16(type), ...payload];
const ipv4 = (proto: number, payload: number[]) => [0x45, 0, ...be16(20 + payload.length), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...payload];
const ipv6 = (next: number, payload: number[]) => [0x60, 0, 0, 0, ...be16(payload.length), next, 64, ...new Array(15).fill(0), 1, ...new Array(15).fill(0), 2, ...payload];
const udp = (sport: number, dport: number, payload: number[]) => [...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0, 0, ...payload];
const mplsLabel = (label: number, bottom: boolean, ttl = 64) => [label >> 12, (label >> 4) & 0xff, ((label & 15) << 4) | (bottom ? 1 : 0), ttl];
const dot3 = (llc: number[]) => [...MACS, ...be16(llc.length), ...llc];

const FRAMES: number[][] = [
  /* 0 */ eth(0x8847, [...mplsLabel(16, false), ...mplsLabel(17, true, 9), ...ipv4(17, udp(1, 53, [1, 2, 3, 4]))]),
  /* 1 */ eth(0x8847, [...mplsLabel(300, true), ...ipv6(17, udp(5, 6, [7]))]),
  /* 2 */ eth(0x8864, [0x11, 0, 0, 0x2a, ...be16(2 + 28), 0, 0x21, ...ipv4(17, udp(8, 9, []))]),
  /* 3 */ eth(0x8863, [0x11, 0x09, 0, 0, 0, 0]), // PADI
  /* 4 */ dot3([0x42, 0x42, 0x03, ...new Array(35).fill(0)]), // STP
  /* 5 */ dot3([0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, ...ipv4(6, [0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0, 0, 0, 0, 0])]),
  /* 6 */ dot3([0xaa, 0xaa, 0x03, 0x12, 0x34, 0x56, 0x20, 0x00, 1, 2, 3, 4]), // SNAP, an organisation Wireshark does not know
  /* 7 */ [0x01, 0x80, 0xc2, 0, 0, 0x0e, ...MACS.slice(6), 0x88, 0xcc, 0x02, 0x07, 0x04, ...MACS.slice(6), 0x04, 0x03, 0x05, 0x65, 0x30, 0x06, 0x02, 0, 0x78, 0, 0],
  /* 8 */ eth(0x0800, ipv4(132, [...be16(2905), ...be16(38412), 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 20, ...new Array(16).fill(0)])),
  /* 9 */ eth(0x0800, ipv4(2, [0x16, 0, 0, 0, 0xe0, 0, 0, 0xfb])),
  /* 10 */ eth(0x86dd, ipv6(50, [0, 0, 0x10, 0x01, 0, 0, 0, 1, 0xde, 0xad])),
  /* 11 */ eth(0x0800, ipv4(17, udp(1, 53, [1, 2, 3, 4]))), // plain, for contrast
  /* 12 */ dot3([0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00, 1, 2, 3, 4]), // SNAP, Cisco CDP: llc.cisco_pid, not llc.pid
  /* 13 */ eth(0x0800, ipv4(17, udp(49152, 6635, [...mplsLabel(21, true, 63), ...ipv4(1, [8, 0, 0, 0, 0, 1, 0, 1])]))), // MPLS in UDP
  /* 14 */ eth(0x0800, ipv4(17, udp(4500, 4500, [0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8]))), // ESP in UDP
  /* 15 */ eth(0x0800, ipv4(17, udp(4500, 4500, [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0x2e, 0x20, 0x22, 0x08, 0, 0, 0, 0, 0, 0, 0, 28]))), // IKE (non-ESP marker)
  /* 16 */ eth(0x86dd, ipv6(44, [17, 0, 0, 0, 0, 0, 0, 9, ...udp(7, 7, [1, 2])])), // a fragment header (an atomic fragment: offset 0, no more)
  // IPv4 with a 3-byte Record Route option (type 7, length 3, pointer 4) and an end of options: ip.opt.type is 7 and 0, never 3.
  /* 17 */ eth(0x0800, [0x46, 0, 0, 24 + 10, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 7, 3, 4, 0, ...udp(1, 2, [3, 4])]),
];

const EXPECT: [string, number[]][] = [
  ['ip.src == 10.0.0.1', [0, 2, 5, 8, 9, 11, 13, 14, 15, 17]],
  ['ipv6', [1, 10, 16]],
  ['udp', [0, 1, 2, 11, 13, 14, 15, 16, 17]],
  ['udp.dstport == 53', [0, 11]],
  ['tcp', [5]],
  ['mpls', [0, 1, 13]],
  ['mpls.label == 21 && icmp', [13]],
  ['icmp', [13]],
  ['mpls.label == 17', [0]],
  ['mpls.label == 300 && mpls.bottom == 1', [1]],
  ['mpls.ttl == 9', [0]],
  ['mpls.exp == 0', [0, 1, 13]],
  ['pppoes', [2]],
  ['pppoed', [3]],
  ['pppoe.session_id == 0x2a', [2]],
  ['pppoe.code == 9', [3]],
  ['ppp.protocol == 0x0021', [2]],
  ['llc', [4, 5, 6, 12]],
  ['stp', [4]],
  ['llc.dsap == 0xaa', [5, 6, 12]],
  ['llc.control == 3', [4, 5, 6, 12]],
  ['llc.type == 0x0800', [5]],
  ['llc.oui == 0x123456', [6]],
  ['llc.oui == 0x00000c', [12]],
  ['llc.pid == 0x2000', [6]],
  ['eth.len', [4, 5, 6, 12]],
  ['lldp', [7]],
  ['sctp', [8]],
  ['sctp.port == 38412', [8]],
  ['igmp', [9]],
  ['igmp.type == 0x16', [9]],
  ['esp', [10, 14]],
  // Fields of the packet view's layer tree, read from it: the tree dissects the IP inside MPLS, PPPoE and SNAP too.
  ['ip.version == 4', [0, 2, 5, 8, 9, 11, 13, 14, 15, 17]],
  ['ip.checksum == 0', [0, 2, 5, 8, 9, 11, 13, 14, 15, 17]],
  ['ipv6.version == 6', [1, 10, 16]],
  ['ppp', [2]],
  ['pppoe.payload_length == 30', [2]],
  ['ipv6.fraghdr', [16]],
  ['ip.version == 6', [1, 10, 16]], // Wireshark names the IPv6 version field ip.version too
  ['ip.opt.type == 7', [17]],
  ['ip.opt.type == 3', []],
  ['ip.opt.type == 0', [17]],
  ['esp.spi == 0x12345678', [14]],
  ['esp.spi == 0x1001', [10]],
];

function pcap(frames: number[][]): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(1, 20);
  const parts: Buffer[] = [h];
  frames.forEach((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000, 0);
    r.writeUInt32LE(i, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    parts.push(r, Buffer.from(f));
  });
  return Buffer.concat(parts);
}

test('the display filter sees MPLS, PPPoE, LLC/SNAP, LLDP, SCTP, IGMP and ESP, and the IP inside, as tshark -Y does', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-filter-encaps-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'encaps.pcap');
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
