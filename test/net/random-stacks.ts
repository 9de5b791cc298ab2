// Random but valid stacks of headers for differential rounds against tshark (test/net/tshark-random.ts: filter
// selections; test/net/tshark-fields.ts: field values): VLAN/QinQ, MPLS, PPPoE, LLC/SNAP/STP, LLDP, ARP, IPv4 with
// options and fragments, IPv6 extension header chains (atomic fragments too), AH, ESP, GRE, VXLAN, GENEVE,
// MPLS-in-UDP, IPIP/6in4, ICMP/ICMPv6 errors quoting a packet, TCP with options (SACK too), DNS (answers of many
// record types, DNSSEC's too), DHCP, NTP, SCTP, IGMP. `seed(n)` then `ether(0)` gives one frame.
let s = 1;
/** Starts the generator afresh from a seed. */
export function seed(n: number): void { s = n >>> 0 || 1; }
export const rnd = (n: number) => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s % n; };
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
    else { const n = 1 + rnd(3); opts.push(5, 2 + 8 * n); for (let j = 0; j < n; j++) opts.push(...be32(rnd(2 ** 32)), ...be32(rnd(2 ** 32))); }
  }
  if (rnd(4) === 0) opts.push(0);
  while (opts.length % 4) opts.push(rnd(2) ? 1 : 0);
  const hl = 20 + opts.length;
  const flags = pick([0x002, 0x012, 0x010, 0x018, 0x011, 0x004, 0x0c2, 0x1ff, 0x100, 0x020]);
  const data = rnd(3) === 0 ? bytes(rnd(40)) : [];
  return [...be16(pick([80, 443, 53, 1234, 22, 179])), ...be16(pick([80, 443, 53, 40000, 8080])), ...be32(rnd(2 ** 32)), ...be32(rnd(2 ** 32)), ((hl / 4) << 4) | (flags >> 8), flags & 0xff, ...be16(rnd(65536)), ...be16(rnd(65536)), ...be16(rnd(3) ? 0 : rnd(65536)), ...opts, ...data];
}
const NAME = [7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0];
/** A resource record's data of a type, some of DNSSEC's among them. */
function rdata(type: number): number[] {
  switch (type) {
    case 1: return [93, 184, 216, 34];
    case 28: return [0x20, 1, 0x0d, 0xb8, ...Array(11).fill(0), 1];
    case 5: case 2: case 12: return [3, ...Buffer.from('www'), 0xc0, 12];
    case 15: return [0, 10, 2, ...Buffer.from('mx'), 0xc0, 12];
    case 16: return [5, ...Buffer.from('hello'), 3, ...Buffer.from('a=b')];
    case 6: return [2, ...Buffer.from('ns'), 0xc0, 12, 4, ...Buffer.from('host'), 0xc0, 12, ...be32(2024010101), ...be32(7200), ...be32(3600), ...be32(1209600), ...be32(300)];
    case 33: return [0, 10, 0, 5, ...be16(5060), 3, ...Buffer.from('sip'), 0xc0, 12];
    case 43: return [...be16(rnd(65536)), pick([8, 13, 15]), pick([1, 2, 4]), ...bytes(pick([20, 32]))]; // DS
    case 46: return [0, 1, pick([8, 13]), 2, ...be32(3600), ...be32(1700000000), ...be32(1690000000), ...be16(rnd(65536)), 0xc0, 12, ...bytes(pick([32, 64]))]; // RRSIG
    case 47: return [4, ...Buffer.from('next'), 0xc0, 12, 0, 6, 0x40, 0x01, 0, 0, 0, 0x03]; // NSEC
    case 48: return [...be16(pick([256, 257])), 3, pick([8, 13, 15]), ...bytes(pick([32, 64]))]; // DNSKEY
    case 50: return [1, rnd(2), ...be16(pick([0, 10])), 4, ...bytes(4), 20, ...bytes(20), 0, 2, 0x62, 0x01]; // NSEC3
    case 51: return [1, 0, ...be16(pick([0, 10])), 4, ...bytes(4)]; // NSEC3PARAM
    case 52: return [3, 1, 1, ...bytes(32)]; // TLSA
    case 257: return [0, 5, ...Buffer.from('issue'), ...Buffer.from('ca.example')]; // CAA
    case 59: return [...be16(rnd(65536)), 13, 2, ...bytes(32)]; // CDS
    case 60: return [...be16(257), 3, 13, ...bytes(32)]; // CDNSKEY
    case 44: return [pick([1, 4]), pick([1, 2]), ...bytes(pick([20, 32]))]; // SSHFP
    default: return bytes(4);
  }
}
function dns(): number[] {
  const flags = pick([0x0100, 0x8180, 0x8183, 0x2800, 0x0000, 0x8180, 0x8180]);
  const qtype = pick([1, 28, 15, 255, 43, 46, 48, 50]);
  const answers: number[][] = [];
  if (flags & 0x8000) for (let i = rnd(4); i > 0; i--) {
    const t = pick([1, 28, 5, 15, 16, 6, 33, 2, 12, 43, 46, 47, 48, 50, 51, 52, 257, 59, 60, 44]);
    const d = rdata(t);
    answers.push([0xc0, 12, ...be16(t), 0, 1, ...be32(pick([300, 86400, 0])), ...be16(d.length), ...d]);
  }
  return [...be16(rnd(65536)), ...be16(flags), 0, 1, ...be16(answers.length), 0, 0, 0, 0, ...NAME, ...be16(qtype), 0, 1, ...answers.flat()];
}
function dhcp(): number[] {
  const reply = rnd(2);
  const msg = pick([1, 2, 3, 5, 6, 7, 8]);
  const opts = [53, 1, msg, ...(rnd(2) ? [50, 4, ...A4()] : []), ...(reply ? [54, 4, ...A4(), 51, 4, ...be32(86400), 1, 4, 255, 255, 255, 0, 3, 4, ...A4()] : [55, 3, 1, 3, 6]), ...(rnd(2) ? [12, 4, ...Buffer.from('host')] : []), 255];
  return [reply ? 2 : 1, 1, 6, 0, ...be32(rnd(2 ** 32)), 0, rnd(5), pick([0, 0x80]), 0, ...(reply ? [0, 0, 0, 0] : A4()), ...(reply ? A4() : [0, 0, 0, 0]), 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, ...Array(10).fill(0), ...Array(192).fill(0), 0x63, 0x82, 0x53, 0x63, ...opts];
}
function ntp(): number[] {
  return [(rnd(4) << 6) | (pick([3, 4]) << 3) | pick([3, 4, 5]), pick([0, 1, 2, 16]), 6, 0xec, ...be32(rnd(65536)), ...be32(rnd(65536)), ...pick([[71, 80, 83, 0], [10, 0, 0, 1]]), ...be32(0xe9000000 + rnd(1e6)), ...be32(rnd(2 ** 32)), ...be32(0xe9000000 + rnd(1e6)), ...be32(rnd(2 ** 32)), ...be32(0xe9000000 + rnd(1e6)), ...be32(rnd(2 ** 32)), ...be32(0xe9000000 + rnd(1e6)), ...be32(rnd(2 ** 32))];
}
function udp(depth: number): number[] {
  const k = rnd(depth > 1 ? 3 : 6);
  let dport = pick([53, 123, 40000, 5353]);
  let body: number[] = bytes(rnd(20));
  if (k === 0) body = dns();
  else if (k === 1 && rnd(2)) { dport = pick([67, 68]); body = dhcp(); }
  else if (k === 2 && rnd(2)) { dport = 123; body = ntp(); }
  else if (k === 3) { dport = 4789; body = [pick([0x08, 0x0c, 0x00]), 0, 0, 0, ...be16(rnd(65536)), rnd(256), 0, ...ether(depth + 1)]; }
  else if (k === 4) { dport = 6081; const ol = pick([0, 0, 2]); body = [ol, pick([0, 0x80, 0x40]), ...be16(pick([0x6558, 0x0800, 0x86dd])), ...be16(rnd(65536)), rnd(256), 0, ...(ol ? [0x01, 0x02, 0x03, 0x01, ...bytes(4)] : [])]; const pt = (body[2]! << 8) | body[3]!; body.push(...(pt === 0x6558 ? ether(depth + 1) : pt === 0x0800 ? ipv4(depth + 1) : ipv6(depth + 1))); }
  else if (k === 5) { dport = 6635; body = [...be16(rnd(1 << 16)), 0x01 | (rnd(8) << 1), 64, ...ipv4(depth + 1)]; }
  const sport = (dport === 53 || dport === 123) && rnd(2) ? dport : dport === 67 ? 68 : dport === 68 ? 67 : pick([1234, 53, 40001]);
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
    else if (k === 2) { const first = rnd(2); b = [proto, 0, ...be16(first ? rnd(2) : ((rnd(100) + 1) << 3) | rnd(2)), ...be32(rnd(2 ** 32)), ...b]; proto = 44; }
    else if (k === 3) { b = [proto, 2, pick([0, 2, 4]), 1, 0, 0, 0, 0, ...A6(), ...b]; proto = 43; }
    else { b = [proto, 1, 0, 0, ...be32(rnd(1e9)), ...be32(1), ...b]; proto = 51; }
  }
  return [0x60 | rnd(16), rnd(256), ...be16(rnd(65536)), ...be16(b.length), proto, pick([64, 255, 1]), ...A6(), ...A6(), ...b];
}
export function ether(depth: number): number[] {
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

