// The layers of a frame as the debugger's Packet scope lists them: Ethernet, VLAN tags, IPv4/IPv6, TCP/UDP/ICMP,
// each with its header fields. Bounds-checked: a frame cut short lists the layers that fit and says where it ends.
import { ipv4, ipv6 } from '../net/dissect.ts';

export interface Layer {
  name: string;
  /** Byte offset of the header from data. */
  offset: number;
  fields: [string, string][];
}

const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, '0')}`;
const mac = (f: Uint8Array, o: number) => [...f.subarray(o, o + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');

export function packetLayers(f: Uint8Array): Layer[] {
  const out: Layer[] = [];
  const u16 = (o: number) => (f[o] << 8) | f[o + 1];
  const u32 = (o: number) => ((f[o] << 24) | (f[o + 1] << 16) | (f[o + 2] << 8) | f[o + 3]) >>> 0;
  const short = (name: string, o: number) => out.push({ name, offset: o, fields: [['truncated', `${f.length - o} byte(s) left`]] });
  if (f.length < 14) {
    short('Ethernet', 0);
    return out;
  }
  let type = u16(12);
  out.push({ name: 'Ethernet', offset: 0, fields: [['dst', mac(f, 0)], ['src', mac(f, 6)], ['h_proto', hex(type, 4)]] });
  let o = 14;
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
    if (f.length < o + 4) return (short('VLAN', o), out);
    const tci = u16(o);
    out.push({ name: 'VLAN', offset: o, fields: [['tpid', hex(type, 4)], ['vid', String(tci & 0xfff)], ['pcp', String(tci >> 13)], ['h_proto', hex(u16(o + 2), 4)]] });
    type = u16(o + 2);
    o += 4;
  }
  let proto: number | undefined;
  if (type === 0x0800) {
    if (f.length < o + 20) return (short('IPv4', o), out);
    const ihl = (f[o] & 0xf) * 4;
    proto = f[o + 9];
    const frag = u16(o + 6);
    out.push({
      name: 'IPv4', offset: o, fields: [
        ['saddr', ipv4(f, o + 12)], ['daddr', ipv4(f, o + 16)], ['ttl', String(f[o + 8])], ['protocol', String(proto)],
        ['tot_len', String(u16(o + 2))], ['ihl', String(ihl / 4)], ['tos', hex(f[o + 1], 2)], ['id', hex(u16(o + 4), 4)],
        ['frag_off', hex(frag, 4)], ['check', hex(u16(o + 10), 4)],
      ],
    });
    if ((frag & 0x1fff) !== 0) return out;
    o += ihl;
  } else if (type === 0x86dd) {
    if (f.length < o + 40) return (short('IPv6', o), out);
    proto = f[o + 6];
    out.push({ name: 'IPv6', offset: o, fields: [['saddr', ipv6(f, o + 8)], ['daddr', ipv6(f, o + 24)], ['hop_limit', String(f[o + 7])], ['nexthdr', String(proto)], ['payload_len', String(u16(o + 4))]] });
    o += 40;
  } else return out;
  if (proto === 6) {
    if (f.length < o + 20) return (short('TCP', o), out);
    const flags = f[o + 13];
    const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'].filter((_, i) => flags & (1 << i));
    out.push({ name: 'TCP', offset: o, fields: [['source', String(u16(o))], ['dest', String(u16(o + 2))], ['seq', String(u32(o + 4))], ['ack_seq', String(u32(o + 8))], ['flags', names.join('|') || 'none'], ['window', String(u16(o + 14))], ['check', hex(u16(o + 16), 4)]] });
  } else if (proto === 17) {
    if (f.length < o + 8) return (short('UDP', o), out);
    out.push({ name: 'UDP', offset: o, fields: [['source', String(u16(o))], ['dest', String(u16(o + 2))], ['len', String(u16(o + 4))], ['check', hex(u16(o + 6), 4)]] });
  } else if (proto === 1 || proto === 58) {
    if (f.length < o + 4) return (short(proto === 1 ? 'ICMP' : 'ICMPv6', o), out);
    out.push({ name: proto === 1 ? 'ICMP' : 'ICMPv6', offset: o, fields: [['type', String(f[o])], ['code', String(f[o + 1])], ['checksum', hex(u16(o + 2), 4)]] });
  }
  return out;
}
