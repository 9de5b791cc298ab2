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

let s = Number(process.argv[2] ?? 1) >>> 0 || 1;
const rnd = (n: number) => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s % n; };
const pick = <T>(a: T[]): T => a[rnd(a.length)]!;
const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const be32 = (v: number) => [...be16(v >>> 16), ...be16(v & 0xffff)];
const bytes = (n: number) => Array.from({ length: n }, () => rnd(256));
const A4 = () => pick([[10, 0, 0, 1], [10, 1, 2, 3], [192, 168, 1, 1], [224, 0, 0, 5], [255, 255, 255, 255], [8, 8, 8, 8]]);
const A6 = () => pick([[0x20, 1, 0x0d, 0xb8, ...Array(11).fill(0), 1], [0xfe, 0x80, ...Array(13).fill(0), 2], [0xff, 2, ...Array(13).fill(0), 1], [0x20, 1, 0x0d, 0xb8, 0, 1, ...Array(9).fill(0), 9]]);
function csum(b: number[]): number { let x = 0; for (let i = 0; i < b.length; i += 2) x += (b[i]! << 8) + (b[i + 1] ?? 0); while (x > 0xffff) x = (x & 0xffff) + (x >>> 16); return ~x & 0xffff; }

function payloadFor(depth: number): { proto: number; b: number[] } {
  const k = rnd(depth > 1 ? 6 : 12);
  switch (k) {
    case 0: case 1: return { proto: 6, b: tcp() };
    case 2: case 3: return { proto: 17, b: udp(depth) };
    case 4: return { proto: 1, b: icmp(depth) };
    case 5: return { proto: 58, b: icmp6(depth) };
    case 6: return { proto: 47, b: gre(depth) };
    case 7: return { proto: 4, b: ipv4(depth + 1) };
    case 8: return { proto: 41, b: ipv6(depth + 1) };
    case 9: return { proto: 132, b: [...be16(pick([2905, 36412, 1])), ...be16(pick([2905, 38412])), ...be32(rnd(1e9)), 0, 0, 0, 0, 1, 0, 0, 20, ...bytes(16)] };
    case 10: return { proto: 2, b: [pick([0x11, 0x16, 0x17, 0x22]), 0, 0, 0, 224, 0, 0, 1] };
    default: return { proto: 50, b: [...be32(rnd(1e9)), ...be32(1), ...bytes(16)] };
  }
}
function tcp(): number[] {
  const opts: number[] = [];
  for (let i = rnd(5); i > 0; i--) {
    const o = rnd(6);
    if (o === 0) opts.push(2, 4, ...be16(pick([1460, 536, 9000])));
    else if (o === 1) opts.push(1);
    else if (o === 2) opts.push(3, 3, rnd(15));
    else if (o === 3) opts.push(4, 2);
    else if (o === 4) opts.push(8, 10, ...be32(rnd(1e9)), ...be32(rnd(1e9)));
    else opts.push(5, 10, ...be32(rnd(1e9)), ...be32(rnd(1e9)));
  }
  if (rnd(4) === 0) opts.push(0);
  while (opts.length % 4) opts.push(rnd(2) ? 1 : 0);
  const hl = 20 + opts.length;
  const flags = pick([0x002, 0x012, 0x010, 0x018, 0x011, 0x004, 0x0c2, 0x1ff, 0x100, 0x020]);
  const data = rnd(3) === 0 ? bytes(rnd(40)) : [];
  return [...be16(pick([80, 443, 53, 1234, 22, 179])), ...be16(pick([80, 443, 53, 40000, 8080])), ...be32(rnd(2 ** 32)), ...be32(rnd(2 ** 32)), ((hl / 4) << 4) | (flags >> 8), flags & 0xff, ...be16(rnd(65536)), ...be16(rnd(65536)), ...be16(rnd(3) ? 0 : rnd(65536)), ...opts, ...data];
}
function dns(): number[] {
  const flags = pick([0x0100, 0x8180, 0x8183, 0x2800, 0x0000]);
  return [...be16(rnd(65536)), ...be16(flags), 0, 1, 0, 0, 0, 0, 0, 0, 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, ...be16(pick([1, 28, 15, 255])), 0, 1];
}
function udp(depth: number): number[] {
  const k = rnd(depth > 1 ? 3 : 6);
  let dport = pick([53, 123, 40000, 5353]);
  let body: number[] = bytes(rnd(20));
  if (k === 0) body = dns();
  else if (k === 3) { dport = 4789; body = [pick([0x08, 0x0c, 0x00]), 0, 0, 0, ...be16(rnd(65536)), rnd(256), 0, ...ether(depth + 1)]; }
  else if (k === 4) { dport = 6081; const ol = pick([0, 0, 2]); body = [ol, pick([0, 0x80, 0x40]), ...be16(pick([0x6558, 0x0800, 0x86dd])), ...be16(rnd(65536)), rnd(256), 0, ...(ol ? [0x01, 0x02, 0x03, 0x01, ...bytes(4)] : [])]; const pt = (body[2]! << 8) | body[3]!; body.push(...(pt === 0x6558 ? ether(depth + 1) : pt === 0x0800 ? ipv4(depth + 1) : ipv6(depth + 1))); }
  else if (k === 5) { dport = 6635; body = [...be16(rnd(1 << 16)), 0x01 | (rnd(8) << 1), 64, ...ipv4(depth + 1)]; }
  const sport = dport === 53 && rnd(2) ? 53 : pick([1234, 53, 40001]);
  return [...be16(sport), ...be16(dport), ...be16(8 + body.length), ...be16(rnd(2) ? 0 : rnd(65536)), ...body];
}
function icmp(depth: number): number[] {
  const k = rnd(4);
  if (k === 0) { const b = [pick([8, 0]), 0, 0, 0, ...be16(rnd(65536)), ...be16(rnd(65536)), ...bytes(rnd(16))]; const c = csum(b); b[2] = c >> 8; b[3] = c & 0xff; return b; }
  const inner = ipv4(depth + 5).slice(0, pick([28, 48, 100]));
  return [pick([3, 11, 5, 12]), rnd(4), 0, 0, ...(k === 3 ? [0, 0, ...be16(1400)] : [0, 0, 0, 0]), ...inner];
}
function icmp6(depth: number): number[] {
  const k = rnd(5);
  if (k === 0) return [pick([128, 129]), 0, 0, 0, ...be16(rnd(65536)), ...be16(rnd(65536)), ...bytes(rnd(8))];
  if (k === 1) return [135, 0, 0, 0, 0, 0, 0, 0, ...A6(), 1, 1, 2, 0, 0, 0, 0, 1];
  if (k === 2) return [136, 0, 0, 0, pick([0x60, 0x20, 0xe0]), 0, 0, 0, ...A6(), 2, 1, 2, 0, 0, 0, 0, 2];
  if (k === 3) return [133, 0, 0, 0, 0, 0, 0, 0];
  return [pick([1, 2, 3, 4]), rnd(3), 0, 0, ...be32(1280), ...ipv6(depth + 5).slice(0, pick([48, 60, 120]))];
}
function gre(depth: number): number[] {
  const c = rnd(2), k = rnd(2), sq = rnd(2);
  const proto = pick([0x0800, 0x86dd, 0x6558, 0x8847]);
  const h = [(c << 7) | (k << 5) | (sq << 4), 0, ...be16(proto)];
  if (c) h.push(0, 0, 0, 0);
  if (k) h.push(...be32(rnd(2 ** 32)));
  if (sq) h.push(...be32(rnd(2 ** 32)));
  const inner = proto === 0x0800 ? ipv4(depth + 1) : proto === 0x86dd ? ipv6(depth + 1) : proto === 0x6558 ? ether(depth + 1) : [0, 0x01, 0x01 | 0, 64, ...ipv4(depth + 1)];
  return [...h, ...inner];
}
function ipv4(depth: number): number[] {
  const { proto, b } = payloadFor(depth);
  const opts: number[] = [];
  const ok = rnd(4);
  if (ok === 1) opts.push(148, 4, 0, 0);
  if (ok === 2) opts.push(7, 7, 4, ...A4());
  if (ok === 3) opts.push(1, 1, 1, 0);
  while (opts.length % 4) opts.push(0);
  const ihl = 20 + opts.length;
  const frag = rnd(6);
  const ff = frag === 0 ? 0x2000 : frag === 1 ? 0x2000 | (rnd(200) + 1) : frag === 2 ? rnd(200) + 1 : rnd(2) ? 0x4000 : 0;
  const h = [0x40 | (ihl / 4), pick([0, 0xb8, 0x03, 0x10]), ...be16(ihl + b.length), ...be16(rnd(65536)), ...be16(ff), pick([64, 1, 255, 128]), proto, 0, 0, ...A4(), ...A4(), ...opts];
  const c = rnd(5) ? csum(h) : rnd(65536);
  h[10] = c >> 8; h[11] = c & 0xff;
  return [...h, ...b];
}
function ipv6(depth: number): number[] {
  let { proto, b } = payloadFor(depth);
  // extension header chain, innermost first
  for (let i = rnd(4); i > 0; i--) {
    const k = rnd(5);
    if (k === 0) { b = [proto, 0, 1, 4, 0, 0, 0, 0, ...b]; proto = 60; }
    else if (k === 1) { b = [proto, 0, 5, 2, 0, 0, 1, 0, ...b]; proto = 0; }
    else if (k === 2) { const first = rnd(2); b = [proto, 0, ...be16(first ? 1 : ((rnd(100) + 1) << 3) | rnd(2)), ...be32(rnd(2 ** 32)), ...b]; proto = 44; }
    else if (k === 3) { b = [proto, 2, pick([0, 2, 4]), 1, 0, 0, 0, 0, ...A6(), ...b]; proto = 43; }
    else { b = [proto, 1, 0, 0, ...be32(rnd(1e9)), ...be32(1), ...b]; proto = 51; }
  }
  return [0x60 | rnd(16), rnd(256), ...be16(rnd(65536)), ...be16(b.length), proto, pick([64, 255, 1]), ...A6(), ...A6(), ...b];
}
function ether(depth: number): number[] {
  const dst = pick([[2, 0, 0, 0, 0, 1], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [1, 0, 0x5e, 0, 0, 5], [0x33, 0x33, 0, 0, 0, 1], [1, 0x80, 0xc2, 0, 0, 0x0e]]);
  const h = [...dst, 2, 0, 0, 0, 0, 2];
  if (depth <= 1) for (let i = rnd(4) === 0 ? 1 + rnd(3) : 0; i > 0; i--) h.push(...be16(pick([0x8100, 0x88a8, 0x9100, 0x8100])), ...be16((rnd(8) << 13) | (rnd(2) << 12) | pick([0, 1, 100, 4095, 10])));
  const k = rnd(depth > 1 ? 2 : 9);
  if (k === 0) return [...h, 0x08, 0x00, ...ipv4(depth)];
  if (k === 1) return [...h, 0x86, 0xdd, ...ipv6(depth)];
  if (k === 2) return [...h, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, pick([1, 2]), 2, 0, 0, 0, 0, 2, ...A4(), 0, 0, 0, 0, 0, 0, ...A4()];
  if (k === 3) { const lab = []; const n = 1 + rnd(3); for (let i = 0; i < n; i++) lab.push(...be32(((rnd(1 << 20)) << 12) | (rnd(8) << 9) | ((i === n - 1 ? 1 : 0) << 8) | 64)); return [...h, 0x88, 0x47, ...lab, ...(rnd(2) ? ipv4(depth) : ipv6(depth))]; }
  if (k === 4) { const inner = rnd(2) ? [0, 0x21, ...ipv4(depth)] : [0, 0x57, ...ipv6(depth)]; return [...h, 0x88, 0x64, 0x11, 0, ...be16(rnd(65536)), ...be16(inner.length), ...inner]; }
  if (k === 5) { const body = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, ...ipv4(depth)]; return [...h, ...be16(body.length), ...body]; }
  if (k === 6) return [...h, 0x88, 0xcc, 0x02, 0x07, 0x04, 2, 0, 0, 0, 0, 2, 0x04, 0x03, 0x05, 0x65, 0x30, 0x06, 0x02, 0, 120, 0, 0];
  if (k === 7) { const body = [0x42, 0x42, 0x03, 0, 0, 0, 0, 0, ...bytes(31)]; return [...h, ...be16(body.length), ...body]; }
  return [...h, 0x88, 0x63, 0x11, 0x09, 0, 0, 0, 0];
}

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
