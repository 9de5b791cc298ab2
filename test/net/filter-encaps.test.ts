// The display filter on what Wireshark dissects beneath an Ethernet header besides IP and ARP: an MPLS label stack
// (and the IPv4/IPv6 packet after it), a PPPoE session (and its IP packet), 802.3 frames with LLC (STP, and SNAP with
// an IP packet inside), LLDP, and SCTP, IGMP and ESP over IP. Before, none of these names existed and the IP inside
// MPLS, PPPoE and SNAP was not seen, so `ip.src == ...` missed packets tshark -Y selects. The expected selections
// are written out (tshark 4.0's), and checked against tshark itself where it is installed.
import { test, type TestContext } from 'node:test';
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

/**
 * The capture of `frames` written to `name`; each expression must select the packets `want` lists, ours and (where
 * installed) tshark -Y's alike (with `tsharkOptions`).
 */
function selectsAsTshark(t: TestContext, name: string, frames: number[][], expect: [string, number[]][], tsharkOptions: string[] = []): void {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-filter-encaps-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  writeFileSync(path, pcap(frames));
  const facts: PacketFacts[] = [];
  const r = openCapture(path);
  for (let p; (p = r.next()); ) facts.push({ index: p.index, frame: p.frame.slice(), wireLen: p.wireLen, capLen: p.capLen, action: 'XDP_PASS', retval: 2 });
  r.close();
  assert.equal(facts.length, frames.length);
  const wrong: string[] = [];
  for (const [expr, want] of expect) {
    const f = compileFilter(expr);
    const ours = facts.filter((p) => f.test(p)).map((p) => p.index);
    if (JSON.stringify(ours) !== JSON.stringify(want)) wrong.push(`${expr}: ours ${JSON.stringify(ours)}, expected ${JSON.stringify(want)}`);
    if (haveTshark) {
      const ts = spawnSync('tshark', ['-r', path, ...tsharkOptions, '-Y', expr, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
      assert.equal(ts.status, 0, `tshark -Y '${expr}': ${ts.stderr}`);
      const theirs = ts.stdout.split('\n').filter(Boolean).map((n) => Number(n) - 1);
      if (JSON.stringify(theirs) !== JSON.stringify(want)) wrong.push(`${expr}: tshark ${JSON.stringify(theirs)}, expected ${JSON.stringify(want)} (the expectation is out of date)`);
    }
  }
  assert.deepEqual(wrong, []);
  if (!haveTshark) t.diagnostic('tshark is not installed: checked against the selections tshark 4.0 made, not against tshark itself');
}

test('the display filter sees MPLS, PPPoE, LLC/SNAP, LLDP, SCTP, IGMP and ESP, and the IP inside, as tshark -Y does', (t) => selectsAsTshark(t, 'encaps.pcap', FRAMES, EXPECT));

// Frames found by comparing random stacks of headers with tshark -Y: an Authentication Header before TCP/UDP (IPv6
// extension header and IPv4 protocol 51; tcp and udp were missed after it), MPLS over GRE, and where the Ethernet
// trailer starts after an 802.3 frame (its length field), LLDP (its End TLV), an unknown EtherType and ESP (their
// bytes were taken for a trailer or data). The LLDP frames: where its trailer starts (past the End TLV) differs.
const ah = (next: number, payload: number[]) => [next, 4, 0, 0, 0, 0, 0x10, 0x01, 0, 0, 0, 1, ...Array(12).fill(0xab), ...payload];
const tcpSyn = [...be16(1234), ...be16(80), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, ...be16(8192), 0, 0, 0, 0];
const udp53 = [...be16(4000), ...be16(53), ...be16(12), 0, 0, 1, 2, 3, 4];
const lldp = [0x02, 0x07, 0x04, 2, 0, 0, 0, 0, 2, 0x04, 0x03, 0x05, 0x65, 0x30, 0x06, 0x02, 0, 120, 0, 0];
const stp = [0x42, 0x42, 0x03, 0, 0, 0, 0, 0, ...Array(27).fill(0x11)];
const FRAMES2: number[][] = [
  eth(0x86dd, ipv6(51, ah(6, tcpSyn))),
  eth(0x0800, ipv4(51, ah(17, udp53))),
  eth(0x0800, ipv4(47, [0, 0, 0x88, 0x47, 0x00, 0x06, 0x41, 0x40, ...ipv4(17, udp53)])),
  [...MACS, ...be16(stp.length), ...stp],
  [...MACS, ...be16(stp.length), ...stp, 0xde, 0xad, 0xbe, 0xef],
  eth(0x88cc, lldp),
  eth(0x88cc, [...lldp, 0x5a, 0x5a]),
  eth(0x1234, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46]),
  eth(0x0800, ipv4(50, [0, 0, 0x10, 0x01, 0, 0, 0, 1, ...Array(30).fill(0x77)])),
  // IPv6, IPv4 and ARP headers cut short (a snap length): still ipv6/ip/arp, with the fields that were captured.
  eth(0x86dd, [0x60, 0x0c, 0x5b, 0x05, 0x00, 0x24, 0x06, 0xff, 0xfe]),
  eth(0x0800, [0x45, 0x00, 0x00, 0x54, 0x12, 0x34]),
  eth(0x0806, [0, 1, 8, 0, 6, 4, 0, 2, 2, 0, 0]),
  // A non-first IPv6 fragment (offset 184 bytes, more to come): Wireshark 4's ipv6.fraghdr.* names.
  eth(0x86dd, ipv6(44, [17, 0, 0, 185, 0xa1, 0x09, 0xb5, 0x9d, ...Array(16).fill(0x33)])),
];
const EXPECT2: [string, number[]][] = [
  ['tcp', [0]],
  ['tcp.dstport == 80', [0]],
  ['udp', [1, 2]],
  ['udp.port == 53', [1, 2]],
  ['ah', [0, 1]],
  ['ah.spi == 0x1001', [0, 1]],
  ['mpls', [2]],
  ['mpls.label == 100', [2]],
  ['gre.proto == 0x8847', [2]],
  ['stp', [3, 4]],
  ['lldp', [5, 6]],
  ['esp', [8]],
  // tshark's LLDP dissector ends its layer short of the End TLV (a trailer of the last three bytes): not modelled.
  ['eth.trailer && !lldp', [4]],
  ['lldp && frame.len == 36', [6]],
  ['data', [7, 12]],
  ['ipv6', [0, 9, 12]],
  ['ipv6.plen == 36 && ipv6.hlim == 255 && ipv6.nxt == 6', [9]],
  ['ip', [1, 2, 8, 10]],
  ['!ip && !ipv6', [3, 4, 5, 6, 7, 11]],
  ['arp.opcode == 2', [11]],
  ['ipv6.fraghdr.offset == 23 && ipv6.fraghdr.more == 1', [12]],
  ['ipv6.fraghdr.ident == 0xa109b59d && ipv6.fraghdr.nxt == 17', [12]],
];

test('after an Authentication Header, inside GRE (MPLS), and where a trailer starts, the filter selects what tshark -Y selects', (t) => selectsAsTshark(t, 'more.pcap', FRAMES2, EXPECT2));

// Which protocol a UDP payload is taken for when both ports name one (found on random stacks against tshark -Y):
// Wireshark tries the lower port first, then the higher, and either may be the source port. Before, VXLAN, GENEVE
// and MPLS were recognised by the destination port only and ahead of DNS, and the layer tree did not dissect MPLS in
// UDP at all (ip.dsfield.dscp of the IPv4 packet inside missed).
const vxlanTcp = [0x08, 0, 0, 0, 0, 0x01, 0xf4, 0, ...eth(0x0800, ipv4(6, tcpSyn))]; // VNI 500
const geneveTcp = [0, 0, 0x65, 0x58, 0, 0x01, 0xf4, 0, ...eth(0x0800, ipv4(6, tcpSyn))];
const mplsIp = [...mplsLabel(100, true), 0x45, 0xb8, ...be16(20 + 20), 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 3, 10, 0, 0, 4, ...tcpSyn]; // DSCP 46
const espBody = [0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, ...Array(16).fill(0x55)];
const FRAMES3: number[][] = [
  eth(0x0800, ipv4(17, udp(53, 4789, vxlanTcp))), // DNS (53 is the lower port)
  eth(0x0800, ipv4(17, udp(4789, 40000, vxlanTcp))), // VXLAN by its source port
  eth(0x0800, ipv4(17, udp(40000, 6081, geneveTcp))),
  eth(0x0800, ipv4(17, udp(6081, 53, geneveTcp))), // DNS
  eth(0x0800, ipv4(17, udp(1234, 6635, mplsIp))),
  eth(0x0800, ipv4(17, udp(6635, 40000, mplsIp))), // MPLS by its source port
  eth(0x0800, ipv4(17, udp(6635, 53, mplsIp))), // DNS
  eth(0x0800, ipv4(17, udp(4500, 4789, espBody))), // ESP in UDP (4500 is the lower port)
  eth(0x0800, ipv4(17, udp(5353, 4500, espBody))), // ESP in UDP, not mDNS
  eth(0x0800, ipv4(17, udp(4789, 6635, vxlanTcp))), // VXLAN
];
const EXPECT3: [string, number[]][] = [
  ['vxlan', [1, 9]],
  ['vxlan.vni == 500', [1, 9]],
  ['geneve', [2]],
  ['mpls', [4, 5]],
  ['mpls.label == 100', [4, 5]],
  ['ip.dsfield.dscp == 46', [4, 5]],
  ['dns', [0, 3, 6]],
  ['esp', [7, 8]],
  ['tcp', [1, 2, 4, 5, 9]],
  ['tcp.flags.syn == 1 && ip.src == 10.0.0.3', [4, 5]],
];

test('a UDP payload is dissected by the lower port that names a protocol, then the higher, as tshark -Y does', (t) => selectsAsTshark(t, 'ports.pcap', FRAMES3, EXPECT3));

// A DNS message cut short (a snap length inside its header): Wireshark takes 4 bytes or more for DNS, with the header
// fields that were captured; before, any byte after UDP port 53 was dns, and no header field existed under 12 bytes.
// Over TCP the message is what its two-byte length says (bounded by what was captured).
const dnsResponse = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 1, 0, 1];
const tcpPsh = (sport: number, payload: number[]) => [...be16(sport), ...be16(53), 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, ...be16(8192), 0, 0, 0, 0, ...payload];
const FRAMES4: number[][] = [
  ...[1, 3, 4, 6, 11, 12, dnsResponse.length].map((n) => eth(0x0800, ipv4(17, udp(40000, 53, dnsResponse.slice(0, n))))),
  ...[3, 4, 11].map((n, i) => eth(0x0800, ipv4(6, tcpPsh(41000 + i, [...be16(dnsResponse.length), ...dnsResponse.slice(0, n)])))),
  eth(0x0800, ipv4(6, tcpPsh(42000, [...be16(11), ...dnsResponse]))), // the message is 11 bytes long
];
const EXPECT4: [string, number[]][] = [
  ['dns', [2, 3, 4, 5, 6, 8, 9, 10]],
  ['dns.id == 0x1234', [2, 3, 4, 5, 6, 8, 9, 10]],
  ['dns.flags.response == 1 && dns.flags.rcode == 0', [2, 3, 4, 5, 6, 8, 9, 10]],
  ['dns.count.queries == 1', [3, 4, 5, 6, 9, 10]],
  ['dns.count.auth_rr == 0', [4, 5, 6, 9, 10]],
  ['dns.count.add_rr == 0', [5, 6]],
  ['dns.qry.name == "example.com"', [6]],
  ['dns.length == 11', [10]],
];

test('a DNS message cut short is DNS from 4 bytes on, with the header fields captured, as tshark -Y selects', (t) => selectsAsTshark(t, 'dns.pcap', FRAMES4, EXPECT4, ['-o', 'tcp.desegment_tcp_streams:FALSE']));

// An IPv4 header cut short (a snap length inside it): Wireshark keeps every field whose bytes were captured (the
// TTL from 9 bytes, the source from 16); before, a header under 20 bytes was ip with no field at all.
const ipHead = [0x45, 0xb8, 0, 40, 0, 1, 0x40, 0, 1, 47, 0x12, 0x34, 10, 0, 0, 1, 10, 0, 0, 2];
const FRAMES5: number[][] = [
  ...[1, 2, 8, 9, 10, 12, 16, 19].map((n) => eth(0x0800, ipHead.slice(0, n))),
  eth(0x0800, [0x65, ...ipHead.slice(1, 12)]), // version 6 under an IPv4 EtherType: only the version
];
const EXPECT5: [string, number[]][] = [
  ['ip', [0, 1, 2, 3, 4, 5, 6, 7, 8]],
  ['ip.version == 4 && ip.hdr_len == 20', [0, 1, 2, 3, 4, 5, 6, 7]],
  ['ip.dsfield.dscp == 46', [1, 2, 3, 4, 5, 6, 7]],
  ['ip.flags.df == 1 && ip.frag_offset == 0', [2, 3, 4, 5, 6, 7]],
  ['ip.ttl == 1', [3, 4, 5, 6, 7]],
  ['ip.proto == 47', [4, 5, 6, 7]],
  ['ip.checksum == 0x1234', [5, 6, 7]],
  ['ip.addr == 10.0.0.1', [6, 7]],
  ['ip.dst', []],
  ['ip.version == 6', [8]],
];

test('an IPv4 header cut short keeps the fields that were captured, as tshark -Y selects', (t) => selectsAsTshark(t, 'ipcut.pcap', FRAMES5, EXPECT5));
