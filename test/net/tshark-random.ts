// A tool, not a test (run by hand; it needs tshark and takes minutes): random stacks of headers (VLAN/QinQ, MPLS,
// PPPoE, LLC/SNAP/STP, LLDP, ARP, IPv4 with options and fragments, IPv6 extension header chains, AH, ESP, GRE,
// VXLAN, GENEVE, MPLS-in-UDP, IPIP/6in4, ICMP/ICMPv6 errors quoting a packet, DNS, SCTP, IGMP; some cut short or
// padded) written to a pcap, then each display filter expression's selection compared with tshark -Y's.
//   node --import tsx test/net/tshark-random.ts SEED [FRAMES]      (EXPRS='a;;b' to try other expressions)
// Prints each expression that selects other frames than tshark (1-based frame numbers, as tshark shows them) and a
// count; the pcap is left in the temporary directory for `tshark -r ... -V`. Differences known and kept on purpose:
// vlan.* and eth.type keep their older meaning (every tag; the EtherType after the tags, see README), ipv6.fragment
// is the fragment header (Wireshark: reassembly), tshark's quirks on two 802.1ad tags and on where LLDP ends; data
// and data.* (tshark dissects many more protocols by port).
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, type PacketFacts } from '../../simulator/filter.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { openCapture } from '../../simulator/net/capture.ts';

import { ether, rnd, seed } from './random-stacks.ts';

seed(Number(process.argv[2] ?? 1));

const N = Number(process.argv[3] ?? 300);
const path = join(tmpdir(), `xdp-lens-tshark-random-${process.argv[2] ?? 1}.pcap`);
const w = new PcapWriter(path);
const frames: Uint8Array[] = [];
for (let i = 0; i < N; i++) {
  let f = ether(0);
  if (rnd(8) === 0) f = f.slice(0, 14 + rnd(Math.max(1, f.length - 14))); // cut short (snap length)
  while (f.length < 60 && rnd(2)) f.push(0); // padding to the minimum sometimes
  const u = Uint8Array.from(f);
  frames.push(u);
  w.write(BigInt(i) * 1000n, u, rnd(8) === 0 ? f.length + 10 : undefined);
}
w.close();
const EXPRS = process.env.EXPRS ? process.env.EXPRS.split(';;') : [
  'ip', 'ipv6', 'tcp', 'udp', 'icmp', 'icmpv6', 'arp', 'vlan', 'ieee8021ad', 'gre', 'vxlan', 'geneve', 'dns', 'mpls', 'pppoes', 'llc', 'stp', 'lldp', 'igmp', 'sctp', 'esp', 'ah',
  'ip.src == 10.0.0.1', 'ip.addr == 10.1.0.0/16', 'ip.dst == 255.255.255.255', 'ip.proto == 17', 'ip.ttl == 1', 'ip.flags.mf == 1', 'ip.frag_offset > 0', 'ip.flags.df == 1', 'ip.hdr_len > 20', 'ip.dsfield.dscp == 46', 'ip.len > 100', 'ip.checksum == 0',
  'ipv6.nxt == 44', 'ipv6.nxt == 58', 'ipv6.addr == 2001:db8::1', 'ipv6.src == fe80::2', 'ipv6.hlim == 255', 'ipv6.fragment', 'ipv6.fragment.more == 1', 'ipv6.routing', 'ipv6.hopopts', 'ipv6.dstopts', 'ipv6.plen < 40',
  'tcp.port == 80', 'tcp.dstport == 443', 'tcp.flags.syn == 1 && tcp.flags.ack == 0', 'tcp.flags.reset == 1', 'tcp.flags == 0x012', 'tcp.hdr_len > 20', 'tcp.options.mss_val == 1460', 'tcp.options.wscale.shift > 5', 'tcp.urgent_pointer > 0', 'tcp.flags.ns == 1', 'tcp.flags.ae == 1',
  'udp.port == 53', 'udp.dstport == 4789', 'udp.length > 50', 'udp.checksum == 0', 'icmp.type == 3', 'icmp.type == 8', 'icmp.code == 1', 'icmpv6.type == 135', 'icmpv6.type == 2', 'icmpv6.nd.na.flag',
  'gre.proto == 0x6558', 'gre.key', 'gre.flags.checksum == 1', 'vxlan.vni > 1000', 'geneve.vni > 1000', 'geneve.options_length > 0', 'dns.flags.response == 1', 'dns.qry.type == 28', 'dns.qry.name == "example.com"', 'dns.count.queries == 1',
  'mpls.label > 1000', 'mpls.bottom == 1', 'vlan.id == 100', 'vlan.id == 4095', 'vlan.priority > 3', 'ieee8021ad.id == 10', 'eth.type == 0x0800', 'eth.dst == ff:ff:ff:ff:ff:ff', 'eth.addr == 02:00:00:00:00:02', 'eth.len', 'eth.trailer',
  'frame.len > 100', 'frame.cap_len < frame.len', 'arp.opcode == 2', 'arp.src.proto_ipv4 == 10.0.0.1', 'ppp.protocol == 0x0057', 'llc.dsap == 0x42', 'sctp.port == 2905', 'igmp.type == 0x22', 'esp.spi > 0', 'ah.spi > 0', 'ip.opt.ra', 'ip.rec_rt', 'ipv6.routing.type == 4', 'data', '!ip && !ipv6', 'tcp || udp', 'icmp && udp', 'icmp && tcp', 'icmpv6 && ipv6.nxt == 58',
  'tcp.flags.syn == 1 && !tcp.flags.ack', 'tcp.len > 0', 'tcp.options.sack_le > 1000', 'tcp.seq == 1', 'tcp.ack == 1', 'dns.resp.type == 46', 'dns.dnskey.flags.secure_entry_point == 1', 'dns.ds.digest_type == 2', 'dns.nsec3.iterations == 10', 'dns.a',
  'frame.protocols contains "ipv6.fraghdr"', 'frame.protocols contains "ethertype:mpls"', 'frame.protocols matches ":dns$"', 'frame.protocols contains "dhcp"', 'frame.protocols contains "ntp"', 'frame.protocols contains ":data"',
];
const facts: PacketFacts[] = frames.map((f, i) => ({ index: i, frame: f, wireLen: f.length, capLen: f.length, action: 'XDP_PASS', retval: 2 }));
{ const r = openCapture(path); let i = 0; for (let p; (p = r.next()); i++) { facts[i]!.wireLen = p.wireLen; facts[i]!.capLen = p.capLen; } r.close(); }
let agree = 0, fail = 0, skipped = 0;
for (const expr of EXPRS) {
  let f;
  try { f = compileFilter(expr); } catch (e) { console.log(`OURS-REFUSES ${expr}: ${(e as Error).message}`); skipped++; continue; }
  const ts = spawnSync('tshark', ['-r', path, '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE', '-o', 'ip.check_checksum:FALSE', '-Y', expr, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  if (ts.status !== 0) { console.log(`TSHARK-REFUSES ${expr}: ${ts.stderr.split('\n').filter((l) => l && !/Running as user/.test(l))[0]}`); skipped++; continue; }
  const theirs = new Set(ts.stdout.split('\n').filter(Boolean).map((n) => Number(n) - 1));
  const ours = new Set(facts.filter((p) => f.test(p)).map((p) => p.index));
  const onlyOurs = [...ours].filter((i) => !theirs.has(i));
  const onlyTheirs = [...theirs].filter((i) => !ours.has(i));
  if (onlyOurs.length || onlyTheirs.length) { fail++; console.log(`DIFF ${expr}: ours ${ours.size} tshark ${theirs.size}; only ours ${onlyOurs.slice(0, 8).map((i) => i + 1)}; only tshark ${onlyTheirs.slice(0, 8).map((i) => i + 1)}`); }
  else agree++;
}
console.log(`seed ${process.argv[2]} frames ${N} (${path}): ${agree} expressions agree, ${fail} differ, ${skipped} not compared`);
