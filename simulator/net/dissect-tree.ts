// A frame as a packet analyser shows it: a list of layers (Ethernet, VLAN tags, ARP, IPv4 with options, IPv6 with
// extension headers, TCP with options, UDP, ICMP, ICMPv6, GRE, VXLAN, GENEVE with options, DNS header and questions,
// then whatever bytes are left), each a tree of fields that knows its byte offset and length in the frame, so a view
// can light up a field's bytes and find the field under a byte.
//
// Field keys are Wireshark's display-filter names where one exists (`ip.ttl`, `tcp.options.mss_val`), as
// simulator/filter.ts uses them. Total and bounded: every read is checked against the end of the frame (or of the
// enclosing header's stated length); a header cut short becomes a layer with `truncated` set and ends the dissection;
// nested encapsulation, option lists, DNS names and the field count all have limits, so a hostile frame costs at most
// a few thousand fields.
import { ipv4 as ip4text, ipv6 as ip6text } from './dissect.ts';
import { tsharkPortProtocol } from './tshark-ports.ts';

export interface TreeField {
  /** Display-filter style name: `ip.src`, `tcp.flags.syn`, `tcp.option`. */
  key: string;
  /** What a person reads: "Source Address". */
  name: string;
  /** The value as shown: "10.0.0.1", "64", "0x0800 (IPv4)". */
  value: string;
  /** Bytes of the frame the field occupies (for a bit field, the bytes holding its bits). */
  offset: number;
  length: number;
  /** For bit fields, the bits within those bytes (big-endian), e.g. 0x1fff for the IPv4 fragment offset. */
  mask?: number;
  children?: TreeField[];
}

export interface TreeLayer {
  /** Protocol key: eth, vlan, ieee8021ad, arp, ip, ipv6, tcp, udp, icmp, icmpv6, gre, vxlan, geneve, dns, data. */
  key: string;
  /** "Internet Protocol Version 4". */
  name: string;
  /** One line, shown beside the name when the layer is collapsed: "Src: 10.0.0.1, Dst: 10.0.0.2". */
  summary: string;
  offset: number;
  length: number;
  fields: TreeField[];
  /** The header did not fit in the frame (or in its enclosing header): what was missing. */
  truncated?: string;
  /**
   * An IPv6 extension header too short to show a field of (under 2 bytes; a fragment header under 8): its protocol's
   * name, which tshark still lists in frame.protocols (ipv6.hopopts, ipv6.fraghdr, ipv6.dstopts, ah).
   */
  cutHeader?: string;
}

const MAX_LAYERS = 48;
const MAX_FIELDS = 4000;
const MAX_DEPTH = 4; // encapsulations (VXLAN, GENEVE, GRE, IP in IP) inside one another
/**
 * Whether Wireshark shows a spanning tree BPDU at [start, end) of the frame: it needs the 4-byte header, and a
 * configuration or RST BPDU (type 0 or 2) its fields up to the port identifier (27 bytes); shorter, it is not STP to
 * a display filter (measured with tshark 4.0 on BPDUs cut to every length).
 */
export function bpduShown(f: Uint8Array, start: number, end: number): boolean {
  const n = Math.min(end, f.length) - start;
  if (n < 4) return false;
  const type = f[start + 3]!;
  return (type !== 0 && type !== 2) || n >= 27;
}

/** ICMP and ICMPv6 types whose body is the start of the packet that caused them (unreachable, time exceeded, ...). */
const ICMP_ERRORS: Record<'icmp' | 'icmpv6', number[]> = { icmp: [3, 4, 5, 11, 12], icmpv6: [1, 2, 3, 4] };
const MAX_OPTIONS = 64;
const MAX_QUESTIONS = 16;
/** Resource records read in each section of a DNS message (a hostile count cannot make the tree huge). */
const MAX_RECORDS = 64;

/** Decodes invalid UTF-8 to U+FFFD, as tshark shows such bytes in a text field. */
const UTF8 = new TextDecoder('utf-8');
const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, '0')}`;
/** Bytes in base32 with the extended hex alphabet (RFC 4648 section 7), no padding: an NSEC3 hash as tshark shows it. */
function base32hex(b: Uint8Array): string {
  const A = '0123456789abcdefghijklmnopqrstuv';
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const x of b) {
    acc = (acc << 8) | x;
    bits += 8;
    while (bits >= 5) {
      out += A[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += A[(acc << (5 - bits)) & 31];
  return out;
}

const ETHERTYPES: Record<number, string> = {
  0x0800: 'IPv4', 0x0806: 'ARP', 0x86dd: 'IPv6', 0x8100: '802.1Q', 0x88a8: '802.1ad', 0x9100: 'QinQ', 0x6558: 'Transparent Ethernet Bridging',
  0x880b: 'PPP', 0x8847: 'MPLS', 0x88cc: 'LLDP', 0x8863: 'PPPoE Discovery', 0x8864: 'PPPoE Session', 0x88e5: 'MACsec', 0x8035: 'RARP',
};
const IPPROTO: Record<number, string> = {
  0: 'HOPOPT', 1: 'ICMP', 2: 'IGMP', 4: 'IPIP', 6: 'TCP', 17: 'UDP', 41: 'IPv6', 43: 'IPv6-Route', 44: 'IPv6-Frag', 47: 'GRE', 50: 'ESP', 51: 'AH',
  58: 'ICMPv6', 59: 'IPv6-NoNxt', 60: 'IPv6-Opts', 89: 'OSPF', 132: 'SCTP',
};
const named = (n: number, w: number, names: Record<number, string>) => (names[n] ? `${names[n]} (${w ? hex(n, w) : n})` : w ? hex(n, w) : String(n));

/** UDP ports whose payload is dissected (DNS, mDNS, NAT-T ESP, VXLAN, GENEVE, MPLS in UDP). */
const UDP_SERVICES = new Set([53, 5353, 4500, 4789, 6081, 6635]);

/**
 * The port whose protocol a UDP payload is dissected as, as Wireshark picks it: the lower of the two ports when it
 * has a dissector, else the higher one (so 53 -> 4789 is DNS, 4789 -> 40000 is VXLAN); 0 for none. Port 0 is never
 * tried. (Also the display filter's own dissector, filter.ts.)
 */
export function udpService(sport: number, dport: number): number {
  const low = sport < dport ? sport : dport;
  const high = sport < dport ? dport : sport;
  if (low !== 0 && UDP_SERVICES.has(low)) return low;
  return UDP_SERVICES.has(high) ? high : 0;
}

/**
 * Whether tshark 4.0's heuristic DNS dissector (on for UDP by default; tried when no dissector is registered for either
 * port) takes the UDP payload at `p`..`end` (`end`: udp.length's end): more than the 12-byte header, opcode 0 (a
 * standard query), and for a query exactly one question, no answer or authority record and at most 10 additional
 * ones; for a response at most one question, 100 answers, 10 authority and 10 additional records. Measured on made
 * frames with tshark 4.0.17; a port whose own dissector refuses the payload (snmp, stun, ...) is not modelled.
 */
export function dnsHeuristic(f: Uint8Array, p: number, end: number): boolean {
  if (end - p <= 12 || p + 12 > f.length) return false;
  const w = (at: number) => (f[p + at]! << 8) | f[p + at + 1]!;
  const flags = w(2);
  const [qd, an, ns, ar] = [w(4), w(6), w(8), w(10)];
  if (flags & 0x7800 || ar > 10) return false;
  return flags & 0x8000 ? qd <= 1 && an <= 100 && ns <= 10 : qd === 1 && an === 0 && ns === 0;
}

/** The frame's layers, outermost first. Never throws. */
export function dissectTree(frame: Uint8Array): TreeLayer[] {
  const d = new Dissection(frame);
  let complete = true;
  try {
    d.ethernet(0, frame.length, 0);
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    complete = false;
  }
  d.rest(complete);
  return d.layers;
}

/** The innermost field (deepest in the tree) holding byte `offset`, as [layer index, path of child indices]. */
export function fieldAt(layers: TreeLayer[], offset: number): { layer: number; path: number[] } | undefined {
  let best: { layer: number; path: number[]; length: number } | undefined;
  const walk = (fields: TreeField[], layer: number, path: number[]) => {
    fields.forEach((f, i) => {
      if (offset < f.offset || offset >= f.offset + f.length) return;
      const p = [...path, i];
      if (!best || f.length <= best.length) best = { layer, path: p, length: f.length };
      if (f.children) walk(f.children, layer, p);
    });
  };
  layers.forEach((l, i) => {
    if (offset >= l.offset && offset < l.offset + l.length) {
      if (!best) best = { layer: i, path: [], length: l.length };
      walk(l.fields, i, []);
    }
  });
  return best && { layer: best.layer, path: best.path };
}

/** Thrown to end a dissection early (too many layers or fields); never escapes dissectTree. */
class Stop extends Error {}

class Dissection {
  readonly layers: TreeLayer[] = [];
  private fieldCount = 0;
  /** Bytes dissected so far: the first byte no layer covers. */
  private covered = 0;
  /** The last VLAN tag of the outer Ethernet header: Wireshark names the trailer after it. */
  private lastTag: 'vlan' | 'ieee8021ad' | undefined;
  /**
   * Inside the packet an ICMP error quotes: as in Wireshark, whose quoted packet ends where the capture does, a
   * header with no byte after it is followed by no protocol (an IP packet's stated length counts only outside).
   */
  private quoted = false;
  /** Where the first IP packet ends by its stated length: past it lies the Ethernet trailer, whatever went wrong inside. */
  private outerEnd: number | undefined;

  constructor(private readonly f: Uint8Array) {}

  private u8(o: number): number {
    return this.f[o] ?? 0;
  }
  private u16(o: number): number {
    return (this.u8(o) << 8) | this.u8(o + 1);
  }
  private u32(o: number): number {
    return ((this.u8(o) << 24) | (this.u8(o + 1) << 16) | (this.u8(o + 2) << 8) | this.u8(o + 3)) >>> 0;
  }
  private mac(o: number): string {
    return Array.from(this.f.subarray(o, o + 6), (b) => b.toString(16).padStart(2, '0')).join(':');
  }
  private bytes(o: number, n: number): string {
    const b = Array.from(this.f.subarray(o, o + Math.min(n, 32)), (x) => x.toString(16).padStart(2, '0')).join('');
    return n > 32 ? `${b}…` : b;
  }

  private field(key: string, name: string, value: string, offset: number, length: number, extra?: { mask?: number; children?: TreeField[] }): TreeField {
    if (++this.fieldCount > MAX_FIELDS) throw new Stop();
    return { key, name, value, offset, length, ...(extra?.mask !== undefined ? { mask: extra.mask } : {}), ...(extra?.children?.length ? { children: extra.children } : {}) };
  }

  private layer(key: string, name: string, offset: number, length: number, fields: TreeField[], summary = '', truncated?: string): TreeLayer {
    if (this.layers.length >= MAX_LAYERS) throw new Stop();
    const l: TreeLayer = { key, name, summary, offset, length, fields, ...(truncated ? { truncated } : {}) };
    this.layers.push(l);
    this.covered = Math.max(this.covered, offset + length);
    return l;
  }

  /** A header needing `need` bytes at `o` with only `end - o` there: a truncated layer, and the end of dissection. */
  private short(key: string, name: string, o: number, end: number, need: number): false {
    const have = Math.max(0, end - o);
    this.layer(key, name, o, have, [], '', `needs ${need} bytes, ${have} left`);
    throw new Stop();
  }

  /**
   * Bytes after the last layer: undissected, or after a packet's stated length the padding and trailer, as Wireshark
   * splits them: in a frame of 60 bytes or more, what lies before byte 60 is padding (eth.padding), the rest the
   * trailer, named after the last VLAN tag's protocol (vlan.trailer, ieee8021ah.trailer) or eth.trailer.
   */
  rest(complete: boolean): void {
    // Dissection stopped inside an IP packet (a header cut short or bogus): Wireshark shows nothing more there, but
    // what lies past the first IP packet's stated length is still the trailer (outside IP: the rest is data).
    if (!complete && this.outerEnd !== undefined) {
      if (this.outerEnd > this.f.length) return;
      complete = true;
    }
    // Bytes inside the first IP packet that no layer took (past a redirect's quote) are not trailer.
    if (this.outerEnd !== undefined && this.outerEnd <= this.f.length) this.covered = Math.max(this.covered, this.outerEnd);
    let n = this.f.length - this.covered;
    if (n <= 0 || this.layers.length >= MAX_LAYERS) return;
    const trailer = complete && this.covered > 0;
    // Padding only when it is all zeros (tshark 4.0: bytes up to 60 that are not are the trailer's start).
    if (trailer && this.f.length >= 60 && this.covered < 60 && this.f.subarray(this.covered, 60).every((b) => b === 0)) {
      const pad = Math.min(n, 60 - this.covered);
      this.layers.push({ key: 'eth.padding', name: 'Padding', summary: `${pad} byte${pad === 1 ? '' : 's'}`, offset: this.covered, length: pad, fields: [{ key: 'eth.padding', name: 'Padding', value: this.bytes(this.covered, pad), offset: this.covered, length: pad }] });
      this.covered += pad;
      n -= pad;
      if (n <= 0 || this.layers.length >= MAX_LAYERS) return;
    }
    // A frame of 64 bytes or more has no need of a trailer: its last 4 bytes are taken for the FCS (eth.fcs), as
    // Wireshark guesses when the capture does not say (not after a VLAN tag: the tag's trailer keeps them).
    let fcs = trailer && !this.lastTag && this.f.length >= 64 && n >= 4 ? 4 : 0;
    if (fcs && n === 4) {
      this.fcs(this.covered);
      return;
    }
    const key = !trailer ? 'data' : this.lastTag === 'vlan' ? 'vlan.trailer' : this.lastTag === 'ieee8021ad' ? 'ieee8021ah.trailer' : 'eth.trailer';
    n -= fcs;
    this.layers.push({ key, name: trailer ? 'Ethernet trailer' : 'Data', summary: `${n} byte${n === 1 ? '' : 's'}`, offset: this.covered, length: n, fields: [{ key: trailer ? key : 'data.data', name: trailer ? 'Trailer' : 'Data', value: this.bytes(this.covered, n), offset: this.covered, length: n }] });
    if (fcs && this.layers.length < MAX_LAYERS) this.fcs(this.covered + n);
    fcs = 0;
  }

  /** The 4 bytes at o as the frame check sequence (eth.fcs). */
  private fcs(o: number): void {
    const hex = this.bytes(o, 4).replace(/:/g, '');
    this.layers.push({ key: 'eth.fcs', name: 'Frame check sequence', summary: `0x${hex}`, offset: o, length: 4, fields: [{ key: 'eth.fcs', name: 'Frame check sequence', value: `0x${hex}`, offset: o, length: 4 }] });
  }

  private payload(o: number, end: number, what: string): void {
    const n = end - o;
    if (n <= 0) return;
    this.layer('data', what, o, n, [this.field('data.data', 'Data', this.bytes(o, n), o, n)], `${n} byte${n === 1 ? '' : 's'}`);
  }

  ethernet(o: number, end: number, depth: number): void {
    if (end - o < 14) return void this.short('eth', 'Ethernet II', o, end, 14);
    const type = this.u16(o + 12);
    const fields = [
      this.field('eth.dst', 'Destination', this.mac(o), o, 6),
      this.field('eth.src', 'Source', this.mac(o + 6), o + 6, 6),
      this.field(type < 0x0600 ? 'eth.len' : 'eth.type', type < 0x0600 ? 'Length' : 'Type', type < 0x0600 ? String(type) : named(type, 4, ETHERTYPES), o + 12, 2),
    ];
    this.layer('eth', type < 0x0600 ? 'IEEE 802.3 Ethernet' : 'Ethernet II', o, 14, fields, `Src: ${this.mac(o + 6)}, Dst: ${this.mac(o)}`);
    if (type < 0x0600) {
      // The 802.3 length bounds the LLC frame: what follows it is the Ethernet trailer, what it holds past the LLC
      // header is its payload (Spanning Tree for DSAP/SSAP 0x42), not a trailer.
      const lend = Math.min(end, o + 14 + type);
      this.llc(o + 14, lend, depth);
      if (this.covered < lend) {
        if (this.u8(o + 14) === 0x42 && this.u8(o + 15) === 0x42 && bpduShown(this.f, this.covered, lend)) this.layer('stp', 'Spanning Tree Protocol', this.covered, lend - this.covered, [], `${lend - this.covered} bytes`);
        else this.payload(this.covered, lend, 'Data');
      }
      return;
    }
    this.ethertype(type, o + 14, end, depth);
  }

  private ethertype(type: number, o: number, end: number, depth: number): void {
    if (type === 0x8100 || type === 0x88a8 || type === 0x9100) return this.vlan(type, o, end, depth);
    if (type === 0x0800) return this.ipv4(o, end, depth);
    if (type === 0x86dd) return this.ipv6(o, end, depth);
    if (type === 0x0806) return this.arp(o, end);
    if (type === 0x6558 && depth < MAX_DEPTH) return this.ethernet(o, end, depth + 1);
    if (type === 0x8847 || type === 0x8848) return this.mpls(o, end, depth);
    if (type === 0x8864) return this.pppoes(o, end, depth);
    if (type === 0x8863) return this.pppoed(o, end);
    // Not dissected further: the bytes are this EtherType's payload (LLDP's, as tshark names it, or data), not a
    // trailer after it.
    if (o < end) {
      if (type === 0x88cc) {
        // LLDP's TLVs (7-bit type, 9-bit length) run to its End TLV (type 0); bytes after it are the trailer.
        let p = o;
        for (let n = 0; n < 512 && p + 2 <= end; n++) {
          const tl = this.u16(p);
          p = Math.min(end, p + 2 + (tl & 0x1ff));
          if (tl >> 9 === 0) break;
        }
        this.layer('lldp', 'Link Layer Discovery Protocol', o, p - o, [], `${p - o} bytes`);
      }
      else this.payload(o, end, 'Data');
    }
  }

  /** An MPLS label stack, one layer per label as Wireshark shows it, then the IPv4/IPv6 packet by its version. */
  private mpls(o: number, end: number, depth: number): void {
    const NAME = 'MultiProtocol Label Switching Header';
    for (;;) {
      if (end - o < 4) return void this.short('mpls', NAME, o, end, 4);
      const w = this.u32(o);
      const fields = [
        this.field('mpls.label', 'MPLS Label', String(w >>> 12), o, 4, { mask: 0xfffff000 }),
        this.field('mpls.exp', 'MPLS Experimental Bits', String((w >> 9) & 7), o, 4, { mask: 0xe00 }),
        this.field('mpls.bottom', 'MPLS Bottom Of Label Stack', String((w >> 8) & 1), o, 4, { mask: 0x100 }),
        this.field('mpls.ttl', 'MPLS TTL', String(w & 0xff), o, 4, { mask: 0xff }),
      ];
      this.layer('mpls', NAME, o, 4, fields, `Label: ${w >>> 12}, Exp: ${(w >> 9) & 7}, S: ${(w >> 8) & 1}, TTL: ${w & 0xff}`);
      o += 4;
      if (w & 0x100) break;
    }
    if (o < end && this.u8(o) >> 4 === 4) this.ipv4(o, end, depth);
    else if (o < end && this.u8(o) >> 4 === 6) this.ipv6(o, end, depth);
  }

  /** The 6-byte PPPoE header's fields, shared by the session and discovery stages. */
  private pppoeHeader(o: number) {
    return [
      this.field('pppoe.version', 'Version', String(this.u8(o) >> 4), o, 1, { mask: 0xf0 }),
      this.field('pppoe.type', 'Type', String(this.u8(o) & 15), o, 1, { mask: 0x0f }),
      this.field('pppoe.code', 'Code', hex(this.u8(o + 1), 2), o + 1, 1),
      this.field('pppoe.session_id', 'Session ID', hex(this.u16(o + 2), 4), o + 2, 2),
      this.field('pppoe.payload_length', 'Payload Length', String(this.u16(o + 4)), o + 4, 2),
    ];
  }

  /** A PPPoE session header and the PPP protocol field, then an IPv4/IPv6 packet. */
  private pppoes(o: number, end: number, depth: number): void {
    if (end - o < 6) return void this.short('pppoes', 'PPP-over-Ethernet Session', o, end, 6);
    const fields = this.pppoeHeader(o);
    this.layer('pppoes', 'PPP-over-Ethernet Session', o, 6, fields, `Session ID: ${hex(this.u16(o + 2), 4)}`);
    if (end - o < 8) return void this.short('ppp', 'Point-to-Point Protocol', o + 6, end, 2);
    const proto = this.u16(o + 6);
    const PPP: Record<number, string> = { 0x0021: 'Internet Protocol version 4', 0x0057: 'Internet Protocol version 6', 0xc021: 'Link Control Protocol', 0x8021: 'Internet Protocol Control Protocol' };
    this.layer('ppp', 'Point-to-Point Protocol', o + 6, 2, [this.field('ppp.protocol', 'Protocol', named(proto, 4, PPP), o + 6, 2)], PPP[proto] ?? hex(proto, 4));
    if (proto === 0x0021) this.ipv4(o + 8, end, depth);
    else if (proto === 0x0057) this.ipv6(o + 8, end, depth);
  }

  /** A PPPoE discovery header and its tags (not dissected one by one). */
  private pppoed(o: number, end: number): void {
    const NAME = 'PPP-over-Ethernet Discovery';
    if (end - o < 6) return void this.short('pppoed', NAME, o, end, 6);
    const fields = this.pppoeHeader(o);
    // (tshark 4.0 shows no trailer after it, whatever its payload length says.)
    this.layer('pppoed', NAME, o, end - o, fields, `Code: ${hex(this.u8(o + 1), 2)}`);
  }

  /** 802.2 LLC after an 802.3 length field; SNAP with organisation 0 (or Cisco's 0x0000f8) carries an EtherType. */
  private llc(o: number, end: number, depth: number): void {
    const NAME = 'Logical-Link Control';
    if (end - o < 3) return void this.short('llc', NAME, o, end, 3);
    const dsap = this.u8(o);
    const ssap = this.u8(o + 1);
    const ctl = this.u8(o + 2);
    const clen = (ctl & 3) === 3 ? 1 : 2;
    if (end - o < 2 + clen) return void this.short('llc', NAME, o, end, 2 + clen);
    const fields = [
      this.field('llc.dsap', 'DSAP', hex(dsap, 2), o, 1),
      this.field('llc.ssap', 'SSAP', hex(ssap, 2), o + 1, 1),
      this.field('llc.control', 'Control field', hex(clen === 1 ? ctl : this.u16(o + 2), 4), o + 2, clen),
    ];
    const snap = dsap === 0xaa && ssap === 0xaa && ctl === 3;
    if (snap && end - o < 8) return void this.short('llc', NAME, o, end, 8);
    let len = 2 + clen;
    let inner: number | undefined;
    if (snap) {
      const oui = (this.u8(o + 3) << 16) | this.u16(o + 4);
      const pid = this.u16(o + 6);
      fields.push(this.field('llc.oui', 'Organization Code', hex(oui, 6), o + 3, 3));
      if (oui === 0 || oui === 0xf8) {
        fields.push(this.field('llc.type', 'Type', named(pid, 4, ETHERTYPES), o + 6, 2));
        inner = pid;
      } else fields.push(this.field('llc.pid', 'PID', hex(pid, 4), o + 6, 2));
      len = 8;
    }
    this.layer('llc', NAME, o, len, fields, `DSAP ${hex(dsap, 2)} SSAP ${hex(ssap, 2)}`);
    if (inner !== undefined) this.ethertype(inner, o + 8, end, depth);
  }

  private vlan(tpid: number, o: number, end: number, depth: number): void {
    // An 802.1ad service tag has Wireshark's ieee8021ad names; 802.1Q (and the old 0x9100 QinQ) tags are vlan.
    const k = tpid === 0x88a8 ? 'ieee8021ad' : 'vlan';
    const name = tpid === 0x88a8 ? '802.1ad Service VLAN' : '802.1Q Virtual LAN';
    // An 802.1Q tag cut after its TCI still shows it (priority, DEI, ID), as tshark does (an 802.1ad one: none).
    if (k === 'vlan' && end - o >= 2 && end - o < 4) {
      const t = this.u16(o);
      this.layer(k, name, o, end - o, [this.field(`${k}.priority`, 'Priority', String(t >> 13), o, 2, { mask: 0xe000 }), this.field(`${k}.dei`, 'DEI', String((t >> 12) & 1), o, 2, { mask: 0x1000 }), this.field(`${k}.id`, 'ID', String(t & 0xfff), o, 2, { mask: 0x0fff })], `PRI: ${t >> 13}, ID: ${t & 0xfff}`, `needs 4 bytes, ${end - o} left`);
      throw new Stop();
    }
    if (end - o < 4) return void this.short(k, name, o, end, 4);
    const tci = this.u16(o);
    const type = this.u16(o + 2);
    if (k === 'ieee8021ad' && type === 0x88a8) return this.twoServiceTags(o, end, depth);
    const fields = [
      this.field(`${k}.priority`, 'Priority', String(tci >> 13), o, 2, { mask: 0xe000 }),
      this.field(`${k}.dei`, 'DEI', String((tci >> 12) & 1), o, 2, { mask: 0x1000 }),
      this.field(`${k}.id`, 'ID', String(tci & 0xfff), o, 2, { mask: 0x0fff }),
      // Below 0x0600 an 802.1Q tag is followed by an 802.3 length and an LLC frame (Wireshark's vlan.len). Wireshark
      // names the type after an 802.1ad tag ieee8021ah.etype.
      type < 0x0600 && k === 'vlan' ? this.field('vlan.len', 'Length', String(type), o + 2, 2) : this.field(k === 'vlan' ? 'vlan.etype' : 'ieee8021ah.etype', 'Type', named(type, 4, ETHERTYPES), o + 2, 2),
    ];
    this.layer(k, name, o, 4, fields, `PRI: ${tci >> 13}, ID: ${tci & 0xfff}`);
    if (depth === 0) this.lastTag = k;
    if (this.layers.length > MAX_LAYERS / 2) throw new Stop(); // a frame of nothing but tags
    if (type < 0x0600 && k === 'vlan') {
      const lend = Math.min(end, o + 4 + type);
      this.llc(o + 4, lend, depth);
      if (this.covered < lend) {
        if (this.u8(o + 4) === 0x42 && this.u8(o + 5) === 0x42 && bpduShown(this.f, this.covered, lend)) this.layer('stp', 'Spanning Tree Protocol', this.covered, lend - this.covered, [], `${lend - this.covered} bytes`);
        else this.payload(this.covered, lend, 'Data');
      }
      return;
    }
    this.ethertype(type, o + 4, end, depth);
  }

  /**
   * An 802.1ad tag followed by another (two 0x88a8 TPIDs in a row): one layer of 8 bytes as Wireshark has it, the
   * first tag's ID as ieee8021ad.svid, the second's as ieee8021ad.cvid (neither is ieee8021ad.id), then the type after
   * the second tag.
   */
  private twoServiceTags(o: number, end: number, depth: number): void {
    const name = '802.1ad Service VLAN';
    if (end - o < 8) return void this.short('ieee8021ad', name, o, end, 8);
    const tci = this.u16(o);
    const ctci = this.u16(o + 4);
    const type = this.u16(o + 6);
    const fields = [
      this.field('ieee8021ad.priority', 'Priority', String(tci >> 13), o, 2, { mask: 0xe000 }),
      this.field('ieee8021ad.dei', 'DEI', String((tci >> 12) & 1), o, 2, { mask: 0x1000 }),
      this.field('ieee8021ad.svid', 'S-VID', String(tci & 0xfff), o, 2, { mask: 0x0fff }),
      this.field('ieee8021ad.priority', 'Priority', String(ctci >> 13), o + 4, 2, { mask: 0xe000 }),
      this.field('ieee8021ad.dei', 'DEI', String((ctci >> 12) & 1), o + 4, 2, { mask: 0x1000 }),
      this.field('ieee8021ad.cvid', 'C-VID', String(ctci & 0xfff), o + 4, 2, { mask: 0x0fff }),
      this.field('ieee8021ah.etype', 'Type', named(type, 4, ETHERTYPES), o + 6, 2),
    ];
    this.layer('ieee8021ad', name, o, 8, fields, `S-VID: ${tci & 0xfff}, C-VID: ${ctci & 0xfff}`);
    if (depth === 0) this.lastTag = 'ieee8021ad';
    if (this.layers.length > MAX_LAYERS / 2) throw new Stop();
    this.ethertype(type, o + 8, end, depth);
  }

  private arp(o: number, end: number): void {
    // Under 2 bytes tshark 4.0 adds no ARP item (frame.protocols still names arp): nothing to show, nothing to match.
    if (end - o < 2) return void this.short('arp', 'Address Resolution Protocol', o, end, 28);
    const ops: Record<number, string> = { 1: 'request', 2: 'reply', 3: 'reverse request', 4: 'reverse reply' };
    const hlen = end - o >= 5 ? this.u8(o + 4) : 6;
    const plen = end - o >= 6 ? this.u8(o + 5) : 4;
    const op = end - o >= 8 ? this.u16(o + 6) : 0;
    const need = 8 + 2 * hlen + 2 * plen;
    if (end - o < need) {
      // Cut short: the fixed fields captured, as tshark 4.0 shows them (no address until all four are there).
      const have = end - o;
      const cut = [this.field('arp.hw.type', 'Hardware type', named(this.u16(o), 0, { 1: 'Ethernet' }), o, 2)];
      if (have >= 4) cut.push(this.field('arp.proto.type', 'Protocol type', named(this.u16(o + 2), 4, ETHERTYPES), o + 2, 2));
      if (have >= 5) cut.push(this.field('arp.hw.size', 'Hardware size', String(hlen), o + 4, 1));
      if (have >= 6) cut.push(this.field('arp.proto.size', 'Protocol size', String(plen), o + 5, 1));
      if (have >= 8) cut.push(this.field('arp.opcode', 'Opcode', ops[op] ? `${ops[op]} (${op})` : String(op), o + 6, 2));
      this.layer('arp', 'Address Resolution Protocol', o, have, cut, '', `needs ${need} bytes, ${have} left`);
      throw new Stop();
    }
    const addr = (p: number, n: number, isProto: boolean) => (n === 6 && !isProto ? this.mac(p) : n === 4 && isProto ? ip4text(this.f, p) : this.bytes(p, n));
    const sha = o + 8;
    const spa = sha + hlen;
    const tha = spa + plen;
    const tpa = tha + hlen;
    const eth4 = hlen === 6 && plen === 4;
    const fields = [
      this.field('arp.hw.type', 'Hardware type', named(this.u16(o), 0, { 1: 'Ethernet' }), o, 2),
      this.field('arp.proto.type', 'Protocol type', named(this.u16(o + 2), 4, ETHERTYPES), o + 2, 2),
      this.field('arp.hw.size', 'Hardware size', String(hlen), o + 4, 1),
      this.field('arp.proto.size', 'Protocol size', String(plen), o + 5, 1),
      this.field('arp.opcode', 'Opcode', ops[op] ? `${ops[op]} (${op})` : String(op), o + 6, 2),
      this.field(eth4 ? 'arp.src.hw_mac' : 'arp.src.hw', 'Sender hardware address', addr(sha, hlen, false), sha, hlen),
      this.field(eth4 ? 'arp.src.proto_ipv4' : 'arp.src.proto', 'Sender protocol address', addr(spa, plen, true), spa, plen),
      this.field(eth4 ? 'arp.dst.hw_mac' : 'arp.dst.hw', 'Target hardware address', addr(tha, hlen, false), tha, hlen),
      this.field(eth4 ? 'arp.dst.proto_ipv4' : 'arp.dst.proto', 'Target protocol address', addr(tpa, plen, true), tpa, plen),
    ];
    const summary = eth4 && op === 1 ? `Who has ${addr(tpa, 4, true)}? Tell ${addr(spa, 4, true)}` : eth4 && op === 2 ? `${addr(spa, 4, true)} is at ${addr(sha, 6, false)}` : ops[op] ?? `opcode ${op}`;
    this.layer('arp', 'Address Resolution Protocol', o, need, fields, summary);
  }

  private ipv4(o: number, end: number, depth: number): void {
    const NAME = 'Internet Protocol Version 4';
    if (end <= o) return void this.short('ip', NAME, o, end, 20);
    const vihl = this.u8(o);
    const ihl = (vihl & 15) * 4;
    const total = this.u16(o + 2);
    const frag = this.u16(o + 6);
    const proto = this.u8(o + 9);
    const fields = [
      this.field('ip.version', 'Version', String(vihl >> 4), o, 1, { mask: 0xf0 }),
      this.field('ip.hdr_len', 'Header Length', `${ihl} bytes (${ihl / 4})`, o, 1, { mask: 0x0f }),
      this.field('ip.dsfield', 'Differentiated Services', hex(this.u8(o + 1), 2), o + 1, 1, {
        children: [
          this.field('ip.dsfield.dscp', 'DSCP', String(this.u8(o + 1) >> 2), o + 1, 1, { mask: 0xfc }),
          this.field('ip.dsfield.ecn', 'ECN', String(this.u8(o + 1) & 3), o + 1, 1, { mask: 0x03 }),
        ],
      }),
      this.field('ip.len', 'Total Length', String(total), o + 2, 2),
      this.field('ip.id', 'Identification', `${hex(this.u16(o + 4), 4)} (${this.u16(o + 4)})`, o + 4, 2),
      this.field('ip.flags', 'Flags', `${hex(frag >> 13, 1)}${frag & 0x4000 ? ", Don't fragment" : ''}${frag & 0x2000 ? ', More fragments' : ''}`, o + 6, 2, {
        mask: 0xe000,
        children: [
          this.field('ip.flags.rb', 'Reserved bit', String((frag >> 15) & 1), o + 6, 2, { mask: 0x8000 }),
          this.field('ip.flags.df', "Don't fragment", String((frag >> 14) & 1), o + 6, 2, { mask: 0x4000 }),
          this.field('ip.flags.mf', 'More fragments', String((frag >> 13) & 1), o + 6, 2, { mask: 0x2000 }),
        ],
      }),
      // In 8-byte units, as Wireshark's ip.frag_offset; the bytes beside it.
      this.field('ip.frag_offset', 'Fragment Offset', `${frag & 0x1fff} (${(frag & 0x1fff) * 8} bytes)`, o + 6, 2, { mask: 0x1fff }),
      this.field('ip.ttl', 'Time to Live', String(this.u8(o + 8)), o + 8, 1),
      this.field('ip.proto', 'Protocol', named(proto, 0, IPPROTO), o + 9, 1),
      this.field('ip.checksum', 'Header Checksum', hex(this.u16(o + 10), 4), o + 10, 2),
      this.field('ip.src', 'Source Address', ip4text(this.f, o + 12), o + 12, 4),
      this.field('ip.dst', 'Destination Address', ip4text(this.f, o + 16), o + 16, 4),
    ];
    const summary = `Src: ${ip4text(this.f, o + 12)}, Dst: ${ip4text(this.f, o + 16)}`;
    // As Wireshark: a header of another version, or shorter than 20 bytes, shows no fields past the one at fault.
    // Version 6 where IPv4 was announced (EtherType 0x0800, IP-in-IP, an ICMP error's quote) is an IPv6 packet to
    // Wireshark, after the bogus IPv4 version.
    if (vihl >> 4 !== 4) {
      this.layer('ip', NAME, o, 1, fields.slice(0, 1), `Bogus IP version (${vihl >> 4})`, `version ${vihl >> 4} is not 4`);
      if (vihl >> 4 === 6) return this.ipv6(o, end, depth);
      throw new Stop();
    }
    if (ihl < 20) {
      this.layer('ip', NAME, o, 1, fields.slice(0, 2), `Bogus IP header length (${ihl})`, `header length ${ihl} is less than 20`);
      throw new Stop();
    }
    if (end - o < 20) {
      // Cut short (a snap length, a quoted packet): the fields whose bytes are there, as Wireshark shows them.
      this.layer('ip', NAME, o, end - o, fields.filter((f) => f.offset + f.length <= end), '', `needs 20 bytes, ${end - o} left`);
      throw new Stop();
    }
    if (end - o < ihl) {
      this.layer('ip', NAME, o, end - o, fields, summary, `header length ${ihl}, ${end - o} bytes left`);
      throw new Stop();
    }
    if (ihl > 20) fields.push(this.field('ip.options', 'Options', `${ihl - 20} bytes`, o + 20, ihl - 20, { children: this.ipv4Options(o + 20, o + ihl) }));
    this.layer('ip', NAME, o, ihl, fields, summary);
    if (!this.quoted && this.outerEnd === undefined && total >= ihl) this.outerEnd = o + total;
    // The packet ends at its total length (the rest of the frame is the Ethernet trailer), or at the frame's end.
    const pend = total >= ihl ? Math.min(end, o + total) : end;
    if ((frag & 0x1fff) !== 0) return this.payload(o + ihl, pend, 'Fragment data');
    // No payload by the stated length (or, quoted, none captured): no protocol follows (a cut capture's does).
    if (this.quoted ? pend <= o + ihl : total === ihl) return;
    this.transport(proto, o + ihl, pend, depth);
  }

  private ipv4Options(o: number, end: number): TreeField[] {
    const names: Record<number, string> = { 0: 'End of Options List', 1: 'No-Operation', 7: 'Record Route', 68: 'Timestamp', 130: 'Security', 131: 'Loose Source Route', 137: 'Strict Source Route', 148: 'Router Alert' };
    const out: TreeField[] = [];
    for (let p = o, n = 0; p < end && n < MAX_OPTIONS; n++) {
      const type = this.u8(p);
      const name = names[type] ?? `Option ${type}`;
      if (type === 0 || type === 1) {
        out.push(this.field('ip.opt.type', name, String(type), p, 1));
        p++;
        if (type === 0) break;
        continue;
      }
      const len = p + 1 < end ? this.u8(p + 1) : 0;
      if (len < 2 || p + len > end) {
        out.push(this.field('ip.opt.type', name, `bad length ${len}`, p, end - p));
        break;
      }
      const kids = [this.field('ip.opt.type', 'Type', String(type), p, 1), this.field('ip.opt.len', 'Length', String(len), p + 1, 1)];
      if ((type === 7 || type === 131 || type === 137) && len >= 3) {
        kids.push(this.field('ip.opt.ptr', 'Pointer', String(this.u8(p + 2)), p + 2, 1));
        // Record Route: the slots before the pointer hold recorded addresses (ip.rec_rt), the others are empty
        // (Wireshark's ip.empty_rt).
        const ptr = this.u8(p + 2);
        for (let a = p + 3; a + 4 <= p + len && kids.length < MAX_OPTIONS; a += 4) {
          const empty = type === 7 && a - p >= ptr - 1;
          kids.push(this.field(empty ? 'ip.empty_rt' : 'ip.rec_rt', empty ? 'Empty' : 'Address', ip4text(this.f, a), a, 4));
        }
      } else if (type === 148 && len === 4) kids.push(this.field('ip.opt.ra', 'Router Alert', String(this.u16(p + 2)), p + 2, 2));
      else if (len > 2) kids.push(this.field('ip.opt.data', 'Data', this.bytes(p + 2, len - 2), p + 2, len - 2));
      // The option's own line carries its type first ("7 (3 bytes)"): a filter on ip.opt.type reads 7 there, as in its
      // Type child, never the length.
      out.push(this.field('ip.opt.type', name, `${type} (${len} bytes)`, p, len, { children: kids }));
      p += len;
    }
    return out;
  }

  private ipv6(o: number, end: number, depth: number): void {
    const NAME = 'Internet Protocol Version 6';
    // Another version than 6 is not IPv6 to Wireshark: the version field, then the bytes as data (Wireshark's data
    // starts at the version byte too; here after it, layers do not overlap) (an ICMPv6 error quoting IPv4, 6in4 or
    // EtherType 0x86dd carrying IPv4).
    if (end > o && this.u8(o) >> 4 !== 6) {
      const v = this.u8(o) >> 4;
      this.layer('ipv6', NAME, o, 1, [this.field('ipv6.version', 'Version', String(v), o, 1, { mask: 0xf0 })], `Bogus IP version (${v})`, `version ${v} is not 6`);
      return this.payload(o + 1, end, 'Data');
    }
    if (end - o < 40) {
      // Cut short: the fields captured, as tshark 4.0 shows them (the payload length only with the next header, the
      // source once all of it is there, never the destination).
      const have = Math.max(0, end - o);
      const cut: TreeField[] = [];
      if (have >= 1) cut.push(this.field('ipv6.version', 'Version', String(this.u8(o) >> 4), o, 1, { mask: 0xf0 }));
      if (have >= 4) {
        const w = this.u32(o);
        cut.push(this.field('ipv6.tclass', 'Traffic Class', hex((w >>> 20) & 0xff, 2), o, 2, { mask: 0x0ff0 }), this.field('ipv6.flow', 'Flow Label', hex(w & 0xfffff, 5), o + 1, 3, { mask: 0x0fffff }));
      }
      if (have >= 7) cut.push(this.field('ipv6.plen', 'Payload Length', String(this.u16(o + 4)), o + 4, 2), this.field('ipv6.nxt', 'Next Header', named(this.u8(o + 6), 0, IPPROTO), o + 6, 1));
      if (have >= 8) cut.push(this.field('ipv6.hlim', 'Hop Limit', String(this.u8(o + 7)), o + 7, 1));
      if (have >= 24) cut.push(this.field('ipv6.src', 'Source Address', ip6text(this.f, o + 8), o + 8, 16));
      this.layer('ipv6', NAME, o, have, cut, have >= 24 ? `Src: ${ip6text(this.f, o + 8)}` : '', `needs 40 bytes, ${have} left`);
      throw new Stop();
    }
    const w = this.u32(o);
    const plen = this.u16(o + 4);
    let next = this.u8(o + 6);
    const fields = [
      this.field('ipv6.version', 'Version', String(w >>> 28), o, 1, { mask: 0xf0 }),
      this.field('ipv6.tclass', 'Traffic Class', hex((w >>> 20) & 0xff, 2), o, 2, { mask: 0x0ff0 }),
      this.field('ipv6.flow', 'Flow Label', hex(w & 0xfffff, 5), o + 1, 3, { mask: 0x0fffff }),
      this.field('ipv6.plen', 'Payload Length', String(plen), o + 4, 2),
      this.field('ipv6.nxt', 'Next Header', named(next, 0, IPPROTO), o + 6, 1),
      this.field('ipv6.hlim', 'Hop Limit', String(this.u8(o + 7)), o + 7, 1),
      this.field('ipv6.src', 'Source Address', ip6text(this.f, o + 8), o + 8, 16),
      this.field('ipv6.dst', 'Destination Address', ip6text(this.f, o + 24), o + 24, 16),
    ];
    const summary = `Src: ${ip6text(this.f, o + 8)}, Dst: ${ip6text(this.f, o + 24)}`;
    const pend = Math.min(end, o + 40 + plen);
    let p = o + 40;
    let fragmentData = false;
    let truncated: string | undefined;
    let cutHeader: string | undefined;
    // Extension headers belong to the IPv6 layer, one subtree each.
    for (let n = 0; n < MAX_OPTIONS && (next === 0 || next === 43 || next === 44 || next === 60 || next === 51); n++) {
      const isFrag = next === 44;
      const len = isFrag ? 8 : next === 51 ? (this.u8(p + 1) + 2) * 4 : (this.u8(p + 1) + 1) * 8;
      const name = { 0: 'Hop-by-Hop Options', 43: 'Routing Header', 44: 'Fragment Header', 60: 'Destination Options', 51: 'Authentication Header' }[next]!;
      if (pend - p < Math.max(2, isFrag ? 8 : 2) || pend - p < len) {
        truncated = `${name}: needs ${len} bytes, ${Math.max(0, pend - p)} left`;
        // Cut short: the header with the fields that were captured, as Wireshark shows it (ipv6.routing.type, ah.spi).
        if (!isFrag && pend - p >= 2) {
          const kids = [this.field('ipv6.ext.nxt', 'Next Header', named(this.u8(p), 0, IPPROTO), p, 1), this.field('ipv6.ext.len', 'Length', `${this.u8(p + 1)} (${len} bytes)`, p + 1, 1)];
          if (next === 43 && pend - p >= 4) kids.push(this.field('ipv6.routing.type', 'Type', String(this.u8(p + 2)), p + 2, 1), this.field('ipv6.routing.segleft', 'Segments Left', String(this.u8(p + 3)), p + 3, 1));
          if (next === 51 && pend - p >= 8) kids.push(this.field('ah.spi', 'SPI', hex(this.u32(p + 4), 8), p + 4, 4));
          if (next === 51 && pend - p >= 12) kids.push(this.field('ah.sequence', 'Sequence', String(this.u32(p + 8)), p + 8, 4));
          fields.push(this.field(next === 0 ? 'ipv6.hopopts' : next === 43 ? 'ipv6.routing' : next === 51 ? 'ah' : 'ipv6.dstopts', name, `${len} bytes`, p, pend - p, { children: kids }));
          p = pend;
        } else if (next === 43) {
          // tshark shows a routing header's item before reading it: there with no byte of it.
          fields.push(this.field('ipv6.routing', name, `${Math.max(0, pend - p)} bytes`, p, Math.max(0, pend - p)));
          p = Math.max(p, pend);
        } else cutHeader = isFrag ? 'ipv6.fraghdr' : next === 0 ? 'ipv6.hopopts' : next === 51 ? 'ah' : 'ipv6.dstopts';
        break;
      }
      const nh = this.u8(p);
      const kids = [this.field('ipv6.ext.nxt', 'Next Header', named(nh, 0, IPPROTO), p, 1)];
      if (isFrag) {
        const fo = this.u16(p + 2);
        kids.push(
          this.field('ipv6.fragment.offset', 'Offset', `${fo & 0xfff8} bytes`, p + 2, 2, { mask: 0xfff8 }),
          this.field('ipv6.fragment.more', 'More Fragments', String(fo & 1), p + 2, 2, { mask: 0x0001 }),
          this.field('ipv6.fragment.id', 'Identification', hex(this.u32(p + 4), 8), p + 4, 4),
        );
        if ((fo & 0xfff8) !== 0) fragmentData = true;
      } else {
        kids.push(this.field('ipv6.ext.len', 'Length', `${this.u8(p + 1)} (${len} bytes)`, p + 1, 1));
        if (next === 43 && len >= 4) kids.push(this.field('ipv6.routing.type', 'Type', String(this.u8(p + 2)), p + 2, 1), this.field('ipv6.routing.segleft', 'Segments Left', String(this.u8(p + 3)), p + 3, 1));
        if (next === 0 || next === 60) kids.push(...this.ipv6Options(p + 2, p + len));
        if (next === 51 && len >= 12) kids.push(this.field('ah.spi', 'SPI', hex(this.u32(p + 4), 8), p + 4, 4), this.field('ah.sequence', 'Sequence', String(this.u32(p + 8)), p + 8, 4));
      }
      fields.push(this.field(isFrag ? 'ipv6.fragment' : next === 0 ? 'ipv6.hopopts' : next === 43 ? 'ipv6.routing' : next === 51 ? 'ah' : 'ipv6.dstopts', name, `${len} bytes`, p, len, { children: kids }));
      next = nh;
      p += len;
      if (fragmentData) break;
    }
    const layer = this.layer('ipv6', NAME, o, p - o, fields, summary, truncated);
    if (cutHeader) layer.cutHeader = cutHeader;
    if (!this.quoted && this.outerEnd === undefined) this.outerEnd = o + 40 + plen;
    if (truncated) throw new Stop();
    if (fragmentData) return this.payload(p, pend, 'Fragment data');
    // No payload by the stated length (or, quoted, none captured): no protocol follows.
    if (this.quoted ? pend <= p : o + 40 + plen <= p) return;
    this.transport(next, p, pend, depth);
  }

  private ipv6Options(o: number, end: number): TreeField[] {
    const names: Record<number, string> = { 0: 'Pad1', 1: 'PadN', 5: 'Router Alert', 194: 'Jumbo Payload' };
    const out: TreeField[] = [];
    for (let p = o, n = 0; p < end && n < MAX_OPTIONS; n++) {
      const type = this.u8(p);
      if (type === 0) {
        out.push(this.field('ipv6.opt', 'Pad1', '', p, 1));
        p++;
        continue;
      }
      const len = p + 1 < end ? this.u8(p + 1) : 0;
      const size = Math.min(2 + len, end - p);
      out.push(this.field('ipv6.opt', names[type] ?? `Option ${type}`, len ? this.bytes(p + 2, Math.min(len, size - 2)) : '', p, size));
      p += 2 + len;
    }
    return out;
  }

  private transport(proto: number, o: number, end: number, depth: number): void {
    if (proto === 6) return this.tcp(o, end);
    if (proto === 17) return this.udp(o, end, depth);
    if (proto === 1) return this.icmp(o, end, false, depth);
    if (proto === 58) return this.icmp(o, end, true, depth);
    if (proto === 47) return this.gre(o, end, depth);
    if (proto === 4 && depth < MAX_DEPTH) return this.ipv4(o, end, depth + 1);
    if (proto === 41 && depth < MAX_DEPTH) return this.ipv6(o, end, depth + 1);
    if (proto === 51 && depth < MAX_DEPTH) return this.ah(o, end, depth);
    // Protocols shown by name and their first fields (tshark decodes them; their bytes are not 'data').
    if (proto === 50 && end - o >= 8) return void this.layer('esp', 'Encapsulating Security Payload', o, end - o, [this.field('esp.spi', 'SPI', hex(this.u32(o), 8), o, 4)], `SPI: ${hex(this.u32(o), 8)}`);
    // tshark's ESP dissector takes a shorter one too (malformed, no data after it), the SPI when it is there.
    if (proto === 50 && end > o) return void this.layer('esp', 'Encapsulating Security Payload', o, end - o, end - o >= 4 ? [this.field('esp.spi', 'SPI', hex(this.u32(o), 8), o, 4)] : [], 'malformed: cut short');
    if (proto === 132 && end - o >= 12) return void this.layer('sctp', 'Stream Control Transmission Protocol', o, end - o, [this.field('sctp.srcport', 'Source Port', String(this.u16(o)), o, 2), this.field('sctp.dstport', 'Destination Port', String(this.u16(o + 2)), o + 2, 2)], `Src Port: ${this.u16(o)}, Dst Port: ${this.u16(o + 2)}`);
    if (proto === 2 && end - o >= 8) return void this.layer('igmp', 'Internet Group Management Protocol', o, end - o, [this.field('igmp.type', 'Type', hex(this.u8(o), 2), o, 1)], hex(this.u8(o), 2));
    this.payload(o, end, proto === 59 ? 'No Next Header' : 'Data');
  }

  /** IPv4's Authentication Header (IPv6's is an extension header of its layer), then what it authenticates. */
  private ah(o: number, end: number, depth: number): void {
    const NAME = 'Authentication Header';
    if (end - o < 12) return void this.short('ah', NAME, o, end, 12);
    const len = (this.u8(o + 1) + 2) * 4;
    if (end - o < len) return void this.short('ah', NAME, o, end, len);
    const next = this.u8(o);
    // One field as in IPv6's chain ('ah' is a filter field there too), the SPI and sequence below it.
    const kids = [this.field('ah.spi', 'SPI', hex(this.u32(o + 4), 8), o + 4, 4), this.field('ah.sequence', 'Sequence', String(this.u32(o + 8)), o + 8, 4)];
    const fields = [this.field('ah', NAME, `${len} bytes`, o, len, { children: kids })];
    this.layer('ah', NAME, o, len, fields, `SPI: ${hex(this.u32(o + 4), 8)}, next: ${named(next, 0, IPPROTO)}`);
    this.transport(next, o + len, end, depth + 1);
  }

  private tcp(o: number, end: number): void {
    const NAME = 'Transmission Control Protocol';
    if (end - o < 16) return void this.short('tcp', NAME, o, end, 20);
    const sport = this.u16(o);
    const dport = this.u16(o + 2);
    const doff = (this.u8(o + 12) >> 4) * 4;
    const flags = this.u16(o + 12) & 0x0fff;
    const FLAGS: [number, string, string][] = [
      [0x100, 'ae', 'Accurate ECN'], [0x80, 'cwr', 'CWR'], [0x40, 'ece', 'ECE'], [0x20, 'urg', 'URG'], [0x10, 'ack', 'ACK'], [0x08, 'push', 'PSH'], [0x04, 'reset', 'RST'], [0x02, 'syn', 'SYN'], [0x01, 'fin', 'FIN'],
    ];
    const set = FLAGS.filter(([m]) => m < 0x100 && flags & m).map(([, , n]) => n);
    const fields = [
      this.field('tcp.srcport', 'Source Port', String(sport), o, 2),
      this.field('tcp.dstport', 'Destination Port', String(dport), o + 2, 2),
      this.field('tcp.seq', 'Sequence Number', String(this.u32(o + 4)), o + 4, 4),
      this.field('tcp.seq_raw', 'Sequence Number (raw)', String(this.u32(o + 4)), o + 4, 4),
      this.field('tcp.ack', 'Acknowledgment Number', String(this.u32(o + 8)), o + 8, 4),
      this.field('tcp.ack_raw', 'Acknowledgment Number (raw)', String(this.u32(o + 8)), o + 8, 4),
      this.field('tcp.hdr_len', 'Header Length', `${doff} bytes (${doff / 4})`, o + 12, 1, { mask: 0xf0 }),
      this.field('tcp.flags', 'Flags', `${hex(flags, 3)}${set.length ? ` (${set.join(', ')})` : ''}`, o + 12, 2, {
        mask: 0x0fff,
        children: FLAGS.map(([m, k, n]) => this.field(`tcp.flags.${k}`, n, String(flags & m ? 1 : 0), o + 12, 2, { mask: m })),
      }),
      this.field('tcp.window_size_value', 'Window', String(this.u16(o + 14)), o + 14, 2),
      this.field('tcp.checksum', 'Checksum', hex(this.u16(o + 16), 4), o + 16, 2),
      this.field('tcp.urgent_pointer', 'Urgent Pointer', String(this.u16(o + 18)), o + 18, 2),
    ];
    const summary = `Src Port: ${sport}, Dst Port: ${dport}${set.length ? `, [${set.join(', ')}]` : ''}`;
    if (doff < 20) {
      // tshark 4.0 stops at a bogus header length: the ports, the sequence number and the length, no flags or window.
      const kept = new Set(['tcp.srcport', 'tcp.dstport', 'tcp.seq', 'tcp.seq_raw', 'tcp.hdr_len']);
      this.layer('tcp', NAME, o, Math.min(20, end - o), fields.filter((f) => kept.has(f.key)), summary, `header length ${doff} is less than 20`);
      throw new Stop();
    }
    if (end - o < 20) {
      // From 16 bytes tshark 4.0 shows the header's fields up to the window (test/filter/tcp-cut).
      this.layer('tcp', NAME, o, end - o, fields.filter((f) => f.offset + f.length <= end), summary, `needs 20 bytes, ${end - o} left`);
      throw new Stop();
    }
    if (end - o < doff) {
      // The options whose bytes are there, as tshark dissects them before it runs out.
      if (end - o > 20) fields.push(this.field('tcp.options', 'Options', `${doff - 20} bytes`, o + 20, end - o - 20, { children: this.tcpOptions(o + 20, end, true) }));
      this.layer('tcp', NAME, o, end - o, fields, summary, `header length ${doff}, ${end - o} bytes left`);
      throw new Stop();
    }
    if (doff > 20) fields.push(this.field('tcp.options', 'Options', `${doff - 20} bytes`, o + 20, doff - 20, { children: this.tcpOptions(o + 20, o + doff) }));
    this.layer('tcp', NAME, o, doff, fields, summary);
    // A reset's payload is its reset cause to tshark: no protocol in it.
    if ((sport === 53 || dport === 53) && !(flags & 0x04) && end - (o + doff) >= 6 && tsharkPortProtocol(true, sport, dport) === 'dns') {
      // DNS over TCP: a two-byte length, then the message (not when the other port is lower and tshark has a
      // dissector for it: ssh, smtp, ... take the payload, the lower port's first).
      return this.dns(o + doff + 2, Math.min(end, o + doff + 2 + this.u16(o + doff)), o + doff);
    }
    this.payload(o + doff, end, 'TCP payload');
  }

  /** The options in [o, end); `cut`: the header goes on past `end` (an option running past it shows its kind and length only). */
  private tcpOptions(o: number, end: number, cut = false): TreeField[] {
    const out: TreeField[] = [];
    for (let p = o, n = 0; p < end && n < MAX_OPTIONS; n++) {
      const kind = this.u8(p);
      if (kind === 0 || kind === 1) {
        out.push(this.field('tcp.option_kind', kind ? 'No-Operation (NOP)' : 'End of Option List (EOL)', String(kind), p, 1));
        p++;
        // After an End of Option List, tshark 4.0 takes each zero byte as one more; the first other byte is padding.
        if (kind === 0 && (p >= end || this.u8(p) !== 0)) break;
        continue;
      }
      const len = p + 1 < end ? this.u8(p + 1) : 0;
      // (tshark shows nothing of an option whose length byte is missing.)
      if (cut && p + 1 >= end) break;
      if (cut && len >= 2 && p + len > end) {
        const kids = [this.field('tcp.option_kind', 'Kind', String(kind), p, 1), this.field('tcp.option_len', 'Length', String(len), p + 1, 1)];
        out.push(this.field('tcp.option', `Option ${kind}`, 'cut short', p, end - p, { children: kids }));
        break;
      }
      if (len < 2 || p + len > end) {
        out.push(this.field('tcp.option_kind', `Option ${kind}`, `bad length ${len}`, p, end - p));
        break;
      }
      const kids = [this.field('tcp.option_kind', 'Kind', String(kind), p, 1), this.field('tcp.option_len', 'Length', String(len), p + 1, 1)];
      let name = `Option ${kind}`;
      let value = `${len} bytes`;
      if (kind === 2 && len === 4) {
        name = 'Maximum segment size';
        value = `${this.u16(p + 2)} bytes`;
        kids.push(this.field('tcp.options.mss_val', 'MSS Value', String(this.u16(p + 2)), p + 2, 2));
      } else if (kind === 3 && len === 3) {
        name = 'Window scale';
        value = `${this.u8(p + 2)} (multiply by ${2 ** Math.min(this.u8(p + 2), 30)})`;
        kids.push(this.field('tcp.options.wscale.shift', 'Shift count', String(this.u8(p + 2)), p + 2, 1));
      } else if (kind === 4) {
        name = 'SACK permitted';
        value = '';
      } else if (kind === 5) {
        name = 'SACK';
        const edges: string[] = [];
        for (let e = p + 2; e + 8 <= p + len; e += 8) {
          edges.push(`${this.u32(e)}-${this.u32(e + 4)}`);
          kids.push(this.field('tcp.options.sack_le', 'Left Edge', String(this.u32(e)), e, 4), this.field('tcp.options.sack_re', 'Right Edge', String(this.u32(e + 4)), e + 4, 4));
        }
        value = edges.join(' ');
      } else if (kind === 8 && len === 10) {
        name = 'Timestamps';
        value = `TSval ${this.u32(p + 2)}, TSecr ${this.u32(p + 6)}`;
        kids.push(this.field('tcp.options.timestamp.tsval', 'Timestamp value', String(this.u32(p + 2)), p + 2, 4), this.field('tcp.options.timestamp.tsecr', 'Timestamp echo reply', String(this.u32(p + 6)), p + 6, 4));
      } else if (len > 2) kids.push(this.field('tcp.option_data', 'Data', this.bytes(p + 2, len - 2), p + 2, len - 2));
      out.push(this.field('tcp.option', name, value, p, len, { children: kids }));
      p += len;
    }
    return out;
  }

  private udp(o: number, end: number, depth: number): void {
    const NAME = 'User Datagram Protocol';
    if (end - o < 8) return void this.short('udp', NAME, o, end, 8);
    const sport = this.u16(o);
    const dport = this.u16(o + 2);
    const len = this.u16(o + 4);
    const fields = [
      this.field('udp.srcport', 'Source Port', String(sport), o, 2),
      this.field('udp.dstport', 'Destination Port', String(dport), o + 2, 2),
      this.field('udp.length', 'Length', String(len), o + 4, 2),
      this.field('udp.checksum', 'Checksum', hex(this.u16(o + 6), 4), o + 6, 2),
    ];
    this.layer('udp', NAME, o, 8, fields, `Src Port: ${sport}, Dst Port: ${dport}`);
    const pend = len >= 8 ? Math.min(end, o + len) : end;
    const p = o + 8;
    // The payload's protocol by port, the lower port's first (udpService, as Wireshark).
    const service = udpService(sport, dport);
    if (service === 4789 && depth < MAX_DEPTH) return this.vxlan(p, pend, depth);
    if (service === 6081 && depth < MAX_DEPTH) return this.geneve(p, pend, depth);
    if (service === 6635 && depth < MAX_DEPTH) return this.mpls(p, pend, depth + 1); // MPLS in UDP (RFC 7510)
    // No byte of payload: no dissector is called (tshark 4.0 names no dns in frame.protocols).
    if ((service === 53 || service === 5353) && pend > p) return this.dns(p, pend);
    if (service === 0 && tsharkPortProtocol(false, sport, dport) === undefined && dnsHeuristic(this.f, p, pend)) return this.dns(p, pend);
    this.payload(p, pend, 'UDP payload');
  }

  private icmp(o: number, end: number, v6: boolean, depth: number): void {
    const NAME = v6 ? 'Internet Control Message Protocol v6' : 'Internet Control Message Protocol';
    const k = v6 ? 'icmpv6' : 'icmp';
    // An ICMP (v4) message of fewer than 6 bytes has no icmp fields in Wireshark (tshark -Y icmp does not select it).
    if (!v6 && end - o < 6) return;
    if (end - o < 4) return void this.short(k, NAME, o, end, 4);
    const type = this.u8(o);
    const code = this.u8(o + 1);
    const TYPES: Record<number, string> = v6
      ? { 1: 'Destination Unreachable', 2: 'Packet Too Big', 3: 'Time Exceeded', 4: 'Parameter Problem', 128: 'Echo (ping) request', 129: 'Echo (ping) reply', 133: 'Router Solicitation', 134: 'Router Advertisement', 135: 'Neighbor Solicitation', 136: 'Neighbor Advertisement', 137: 'Redirect', 143: 'Multicast Listener Report Message v2' }
      : { 0: 'Echo (ping) reply', 3: 'Destination unreachable', 4: 'Source quench', 5: 'Redirect', 8: 'Echo (ping) request', 11: 'Time-to-live exceeded', 12: 'Parameter problem', 13: 'Timestamp request', 14: 'Timestamp reply' };
    const fields = [
      this.field(`${k}.type`, 'Type', named(type, 0, TYPES), o, 1),
      this.field(`${k}.code`, 'Code', String(code), o + 1, 1),
      this.field(`${k}.checksum`, 'Checksum', hex(this.u16(o + 2), 4), o + 2, 2),
    ];
    let hdr = 4;
    const echo = v6 ? type === 128 || type === 129 : type === 0 || type === 8;
    if (echo && end - o >= 8) {
      fields.push(this.field(`${k}.ident`, 'Identifier', String(this.u16(o + 4)), o + 4, 2), this.field(`${k}.seq`, 'Sequence Number', String(this.u16(o + 6)), o + 6, 2));
      hdr = 8;
    } else if (v6 && (type === 135 || type === 136) && end - o >= 24) {
      if (type === 136) fields.push(this.field('icmpv6.nd.na.flag', 'Flags', hex(this.u32(o + 4), 8), o + 4, 4));
      else fields.push(this.field('icmpv6.reserved', 'Reserved', hex(this.u32(o + 4), 8), o + 4, 4));
      fields.push(this.field(type === 135 ? 'icmpv6.nd.ns.target_address' : 'icmpv6.nd.na.target_address', 'Target Address', ip6text(this.f, o + 8), o + 8, 16));
      hdr = 24;
      for (let p = o + 24, n = 0; p + 2 <= end && n < MAX_OPTIONS; n++) {
        const len = this.u8(p + 1) * 8;
        if (len === 0 || p + len > end) break;
        const ot = this.u8(p);
        const v = (ot === 1 || ot === 2) && len === 8 ? this.mac(p + 2) : this.bytes(p + 2, len - 2);
        fields.push(this.field('icmpv6.opt', ot === 1 ? 'Source link-layer address' : ot === 2 ? 'Target link-layer address' : `Option ${ot}`, v, p, len));
        hdr = p + len - o;
        p += len;
      }
    } else if (end - o >= 8) {
      const name = !v6 && type === 5 ? 'Gateway Address' : v6 && type === 2 ? 'MTU' : 'Rest of Header';
      const value = !v6 && type === 5 ? ip4text(this.f, o + 4) : v6 && type === 2 ? String(this.u32(o + 4)) : hex(this.u32(o + 4), 8);
      fields.push(this.field(`${k}.${name === 'MTU' ? 'mtu' : 'rest'}`, name, value, o + 4, 4));
      hdr = 8;
    }
    this.layer(k, NAME, o, hdr, fields, `${TYPES[type] ?? `Type ${type}`}${code ? `, code ${code}` : ''}`);
    // An error carries the start of the packet that caused it: dissected as Wireshark does (its fields count too).
    // Whatever follows an error's 8 bytes is the packet it quotes, dissected as far as it goes (a header cut short
    // is still shown, as Wireshark does).
    if (hdr === 8 && depth < MAX_DEPTH && end - o > 8 && ICMP_ERRORS[k].includes(type)) {
      this.quoted = true;
      // ICMPv6 quotes only IPv6: another version is data.
      if (v6) return this.u8(o + 8) >> 4 === 6 ? this.ipv6(o + 8, end, depth + 1) : this.payload(o + 8, end, 'Data');
      // A redirect quotes the IP header and 8 bytes of what follows it, and Wireshark looks no further.
      return this.ipv4(o + 8, type === 5 ? Math.min(end, o + 16 + (this.u8(o + 8) & 15) * 4) : end, depth + 1);
    }
    // Bytes 4-7 belong to the header even when cut short: no data before byte 8.
    this.payload(o + Math.max(hdr, 8), end, 'ICMP data');
  }

  private gre(o: number, end: number, depth: number): void {
    const NAME = 'Generic Routing Encapsulation';
    if (end - o < 4) return void this.short('gre', NAME, o, end, 4);
    const fl = this.u16(o);
    const ver = fl & 7;
    const proto = this.u16(o + 2);
    const C = (fl & 0x8000) !== 0;
    const K = (fl & 0x2000) !== 0;
    const S = (fl & 0x1000) !== 0;
    const A = ver === 1 && (fl & 0x0080) !== 0;
    const need = 4 + (C ? 4 : 0) + (K ? 4 : 0) + (S ? 4 : 0) + (A ? 4 : 0);
    const fields = [
      this.field('gre.flags_and_version', 'Flags and Version', hex(fl, 4), o, 2, {
        children: [
          this.field('gre.flags.checksum', 'Checksum Bit', C ? '1' : '0', o, 2, { mask: 0x8000 }),
          this.field('gre.flags.key', 'Key Bit', K ? '1' : '0', o, 2, { mask: 0x2000 }),
          this.field('gre.flags.sequence_number', 'Sequence Number Bit', S ? '1' : '0', o, 2, { mask: 0x1000 }),
          ...(ver === 1 ? [this.field('gre.flags.ack', 'Acknowledgment Bit', A ? '1' : '0', o, 2, { mask: 0x0080 })] : []),
          this.field('gre.flags.version', 'Version', String(ver), o, 2, { mask: 0x0007 }),
        ],
      }),
      this.field('gre.proto', 'Protocol Type', named(proto, 4, ETHERTYPES), o + 2, 2),
    ];
    let p = o + 4;
    // Cut short inside the optional fields: the flags and those that fit, as tshark keeps them (gre.flags.checksum
    // of a header whose checksum was not captured).
    const cut = () => {
      this.layer('gre', NAME, o, end - o, fields, '', `needs ${need} bytes, ${end - o} left`);
      throw new Stop();
    };
    if (C) {
      if (end - p < 4) cut();
      fields.push(this.field('gre.checksum', 'Checksum', hex(this.u16(p), 4), p, 2), this.field('gre.offset', 'Offset', String(this.u16(p + 2)), p + 2, 2));
      p += 4;
    }
    if (K) {
      if (end - p < 4) cut();
      if (ver === 1) fields.push(this.field('gre.key.payload_length', 'Payload Length', String(this.u16(p)), p, 2), this.field('gre.key.call_id', 'Call ID', String(this.u16(p + 2)), p + 2, 2));
      else fields.push(this.field('gre.key', 'Key', `${hex(this.u32(p), 8)} (${this.u32(p)})`, p, 4));
      p += 4;
    }
    if (S) {
      if (end - p < 4) cut();
      fields.push(this.field('gre.sequence_number', 'Sequence Number', String(this.u32(p)), p, 4));
      p += 4;
    }
    if (A) {
      if (end - p < 4) cut();
      fields.push(this.field('gre.ack_number', 'Acknowledgment Number', String(this.u32(p)), p, 4));
      p += 4;
    }
    this.layer('gre', NAME, o, p - o, fields, `version ${ver}, ${ETHERTYPES[proto] ?? hex(proto, 4)}`);
    // MPLS over GRE (RFC 4023) as well, as tshark decodes it.
    if (depth < MAX_DEPTH && (proto === 0x0800 || proto === 0x86dd || proto === 0x6558 || proto === 0x8847 || proto === 0x8848)) return this.ethertype(proto, p, end, depth + 1);
    this.payload(p, end, 'GRE payload');
  }

  private vxlan(o: number, end: number, depth: number): void {
    const NAME = 'Virtual eXtensible Local Area Network';
    if (end - o < 8) return void this.short('vxlan', NAME, o, end, 8);
    const flags = this.u16(o); // 16 bits, as Wireshark's vxlan.flags (the I bit is 0x0800)
    const vni = this.u32(o + 4) >>> 8;
    const fields = [
      this.field('vxlan.flags', 'Flags', hex(flags, 4), o, 2, { children: [this.field('vxlan.flags.i', 'VXLAN Network ID (VNI) valid', String((flags >> 11) & 1), o, 2, { mask: 0x0800 })] }),
      this.field('vxlan.reserved', 'Reserved', hex(this.u32(o) & 0xffff, 4), o + 2, 2),
      this.field('vxlan.vni', 'VXLAN Network Identifier (VNI)', String(vni), o + 4, 3),
      this.field('vxlan.reserved2', 'Reserved', hex(this.u8(o + 7), 2), o + 7, 1),
    ];
    this.layer('vxlan', NAME, o, 8, fields, `VNI: ${vni}`);
    this.ethernet(o + 8, end, depth + 1);
  }

  private geneve(o: number, end: number, depth: number): void {
    const NAME = 'Generic Network Virtualization Encapsulation';
    if (end - o < 8) return void this.short('geneve', NAME, o, end, 8);
    const b0 = this.u8(o);
    const optLen = (b0 & 0x3f) * 4;
    const b1 = this.u8(o + 1);
    const proto = this.u16(o + 2);
    const vni = this.u32(o + 4) >>> 8;
    const fields = [
      this.field('geneve.version', 'Version', String(b0 >> 6), o, 1, { mask: 0xc0 }),
      this.field('geneve.options_length', 'Options Length', `${optLen} bytes`, o, 1, { mask: 0x3f }),
      this.field('geneve.flags.oam', 'Operations, Administration and Management Frame', String(b1 >> 7), o + 1, 1, { mask: 0x80 }),
      this.field('geneve.flags.critical', 'Critical Options Present', String((b1 >> 6) & 1), o + 1, 1, { mask: 0x40 }),
      this.field('geneve.proto_type', 'Protocol Type', named(proto, 4, ETHERTYPES), o + 2, 2),
      this.field('geneve.vni', 'Virtual Network Identifier (VNI)', String(vni), o + 4, 3),
    ];
    if (end - o < 8 + optLen) {
      this.layer('geneve', NAME, o, end - o, fields, `VNI: ${vni}`, `options length ${optLen}, ${end - o - 8} bytes left`);
      throw new Stop();
    }
    const opts: TreeField[] = [];
    for (let p = o + 8, n = 0; p + 4 <= o + 8 + optLen && n < MAX_OPTIONS; n++) {
      const len = 4 + (this.u8(p + 3) & 0x1f) * 4;
      const size = Math.min(len, o + 8 + optLen - p);
      opts.push(
        this.field('geneve.option', `Option class ${hex(this.u16(p), 4)} type ${hex(this.u8(p + 2), 2)}`, this.bytes(p, size), p, size, {
          children: [
            this.field('geneve.option.class', 'Class', hex(this.u16(p), 4), p, 2),
            this.field('geneve.option.type', 'Type', hex(this.u8(p + 2), 2), p + 2, 1),
            // Wireshark's geneve.option.length counts the option's 4-byte header too.
            this.field('geneve.option.length', 'Length', `${len} bytes`, p + 3, 1, { mask: 0x1f }),
          ],
        }),
      );
      p += len;
    }
    if (optLen) fields.push(this.field('geneve.options', 'Options', `${optLen} bytes`, o + 8, optLen, { children: opts }));
    this.layer('geneve', NAME, o, 8 + optLen, fields, `VNI: ${vni}`);
    if (proto === 0x6558) return this.ethernet(o + 8 + optLen, end, depth + 1);
    if (proto === 0x0800 || proto === 0x86dd) return this.ethertype(proto, o + 8 + optLen, end, depth + 1);
    this.payload(o + 8 + optLen, end, 'GENEVE payload');
  }

  private dns(o: number, end: number, lengthAt?: number): void {
    const NAME = 'Domain Name System';
    // As Wireshark: a message of 4 bytes or more is DNS, with the header fields that were captured (a snap length).
    if (end - o < 4) return void this.short('dns', NAME, o, end, 12);
    const have = end - o;
    const fl = this.u16(o + 2);
    const qd = this.u16(o + 4);
    const OPS: Record<number, string> = { 0: 'Standard query', 1: 'Inverse query', 2: 'Server status request', 4: 'Notify', 5: 'Update' };
    const RCODES: Record<number, string> = { 0: 'No error', 1: 'Format error', 2: 'Server failure', 3: 'No such name', 4: 'Not implemented', 5: 'Refused' };
    const response = (fl & 0x8000) !== 0;
    const update = ((fl >> 11) & 15) === 5;
    const bit = (k: string, n: string, m: number) => this.field(`dns.flags.${k}`, n, fl & m ? '1' : '0', o + 2, 2, { mask: m });
    const fields = [
      ...(lengthAt !== undefined ? [this.field('dns.length', 'Length', String(this.u16(lengthAt)), lengthAt, 2)] : []),
      this.field('dns.id', 'Transaction ID', `${hex(this.u16(o), 4)} (${this.u16(o)})`, o, 2),
      this.field('dns.flags', 'Flags', `${hex(fl, 4)} ${fl & 0x8000 ? 'response' : 'query'}`, o + 2, 2, {
        children: [
          // As Wireshark: the bits that only a response defines are shown for responses (AD in a query when set).
          bit('response', 'Response', 0x8000),
          this.field('dns.flags.opcode', 'Opcode', named((fl >> 11) & 15, 0, OPS), o + 2, 2, { mask: 0x7800 }),
          ...(response ? [bit('authoritative', 'Authoritative', 0x0400)] : []),
          bit('truncated', 'Truncated', 0x0200),
          bit('recdesired', 'Recursion desired', 0x0100),
          ...(response ? [bit('recavail', 'Recursion available', 0x0080)] : []),
          bit('z', 'Z', 0x0040),
          ...(response || fl & 0x0020 ? [bit('authenticated', response ? 'Answer authenticated' : 'AD bit', 0x0020)] : []),
          bit('checkdisable', 'Non-authenticated data', 0x0010),
          ...(response ? [this.field('dns.flags.rcode', 'Reply code', named(fl & 15, 0, RCODES), o + 2, 2, { mask: 0x000f })] : []),
        ],
      }),
      // An UPDATE (opcode 5) counts zones, prerequisites and updates where a query counts questions, answers and
      // authority records (Wireshark's names for them).
      ...(update
        ? [
            this.field('dns.count.zones', 'Zones', String(qd), o + 4, 2),
            this.field('dns.count.prerequisites', 'Prerequisites', String(this.u16(o + 6)), o + 6, 2),
            this.field('dns.count.updates', 'Updates', String(this.u16(o + 8)), o + 8, 2),
          ]
        : [
            this.field('dns.count.queries', 'Questions', String(qd), o + 4, 2),
            this.field('dns.count.answers', 'Answer RRs', String(this.u16(o + 6)), o + 6, 2),
            this.field('dns.count.auth_rr', 'Authority RRs', String(this.u16(o + 8)), o + 8, 2),
          ]),
      this.field('dns.count.add_rr', 'Additional RRs', String(this.u16(o + 10)), o + 10, 2),
    ].filter((f) => f.offset + f.length <= end);
    const TYPES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 41: 'OPT', 43: 'DS', 46: 'RRSIG', 48: 'DNSKEY', 64: 'SVCB', 65: 'HTTPS', 255: 'ANY' };
    const CLASSES: Record<number, string> = { 1: 'IN', 3: 'CH', 4: 'HS', 255: 'ANY' };
    if (have < 12) {
      const summary = `${OPS[(fl >> 11) & 15] ?? 'Opcode'}${fl & 0x8000 ? ' response' : ''} ${hex(this.u16(o), 4)}`;
      this.layer('dns', NAME, lengthAt ?? o, end - (lengthAt ?? o), fields, summary, `needs 12 bytes, ${have} left`);
      throw new Stop();
    }
    let p = o + 12;
    let truncated: string | undefined;
    const questions: TreeField[] = [];
    const names: string[] = [];
    for (let i = 0; i < Math.min(qd, MAX_QUESTIONS); i++) {
      const n = this.dnsName(p, o, end);
      if (!n || n.end + 4 > end) {
        truncated = `question ${i + 1} does not fit`;
        break;
      }
      const type = this.u16(n.end);
      const cls = this.u16(n.end + 2);
      names.push(`${TYPES[type] ?? `TYPE${type}`} ${n.name}`);
      questions.push(
        this.field('dns.qry', `${n.name}: type ${TYPES[type] ?? type}, class ${CLASSES[cls & 0x7fff] ?? cls}`, '', p, n.end + 4 - p, {
          children: [
            this.field('dns.qry.name', 'Name', n.name, p, n.end - p),
            this.field('dns.qry.type', 'Type', named(type, 0, TYPES), n.end, 2),
            this.field('dns.qry.class', 'Class', named(cls, 4, CLASSES), n.end + 2, 2),
          ],
        }),
      );
      p = n.end + 4;
    }
    if (questions.length) fields.push(this.field('dns.queries', update ? 'Zone' : 'Queries', String(questions.length), o + 12, p - o - 12, { children: questions }));
    // Answer, authority and additional records, as Wireshark names their fields (dns.resp.*, dns.a, ...). A record
    // that does not fit ends the message (tshark: malformed).
    if (!truncated) {
      const sections: [string, string, number][] = [['dns.answers', 'Answers', this.u16(o + 6)], ['dns.authorities', 'Authoritative nameservers', this.u16(o + 8)], ['dns.additionals', 'Additional records', this.u16(o + 10)]];
      for (const [key, title, count] of sections) {
        const start = p;
        const rrs: TreeField[] = [];
        for (let i = 0; i < count && !truncated; i++) {
          if (i >= MAX_RECORDS) {
            truncated = `more than ${MAX_RECORDS} records in a section`;
            break;
          }
          const rr = this.dnsRecord(p, o, end, TYPES, CLASSES);
          if (!rr) truncated = `${title.toLowerCase()}: record ${i + 1} does not fit`;
          else {
            rrs.push(rr.field);
            p = rr.end;
          }
        }
        if (rrs.length) fields.push(this.field(key, title, String(rrs.length), start, p - start, { children: rrs }));
        if (truncated) break;
      }
    }
    const summary = `${OPS[(fl >> 11) & 15] ?? 'Opcode'}${fl & 0x8000 ? ' response' : ''} ${hex(this.u16(o), 4)}${names.length ? ` ${names.join(', ')}` : ''}`;
    this.layer('dns', NAME, lengthAt ?? o, p - (lengthAt ?? o), fields, summary, truncated);
    if (truncated) throw new Stop();
    this.payload(p, end, 'Data');
  }

  /** One resource record at `p` (RFC 1035 4.1.3; OPT as RFC 6891), with the fields tshark gives it; undefined when cut. */
  private dnsRecord(p: number, msg: number, end: number, TYPES: Record<number, string>, CLASSES: Record<number, string>): { field: TreeField; end: number } | undefined {
    const n = this.dnsName(p, msg, end);
    if (!n || n.end + 10 > end) return undefined;
    const type = this.u16(n.end);
    const cls = this.u16(n.end + 2);
    const ttl = this.u32(n.end + 4);
    const rdlen = this.u16(n.end + 8);
    const rd = n.end + 10;
    if (rd + rdlen > end) return undefined;
    const kids: TreeField[] = [this.field('dns.resp.name', 'Name', n.name, p, n.end - p), this.field('dns.resp.type', 'Type', named(type, 0, TYPES), n.end, 2)];
    if (type === 41) {
      // OPT: the class is the UDP payload size, the TTL the extended rcode, version and flags.
      kids.push(
        this.field('dns.rr.udp_payload_size', 'UDP payload size', String(cls), n.end + 2, 2),
        this.field('dns.resp.ext_rcode', 'Higher bits in extended RCODE', hex(ttl >>> 24, 2), n.end + 4, 1),
        this.field('dns.resp.edns0_version', 'EDNS0 version', String((ttl >>> 16) & 0xff), n.end + 5, 1),
        this.field('dns.resp.z', 'Z', hex(ttl & 0xffff, 4), n.end + 6, 2),
      );
    } else {
      kids.push(this.field('dns.resp.class', 'Class', named(cls & 0x7fff, 4, CLASSES), n.end + 2, 2), this.field('dns.resp.ttl', 'Time to live', String(ttl), n.end + 4, 4));
    }
    kids.push(this.field('dns.resp.len', 'Data length', String(rdlen), n.end + 8, 2));
    let what = '';
    const name = (key: string, title: string, at: number) => {
      const d = this.dnsName(at, msg, rd + rdlen);
      if (d) {
        kids.push(this.field(key, title, d.name, at, d.end - at));
        what ||= d.name;
      }
      return d;
    };
    if (type === 1 && rdlen === 4) kids.push(this.field('dns.a', 'Address', (what = ip4text(this.f, rd)), rd, 4));
    else if (type === 28 && rdlen === 16) kids.push(this.field('dns.aaaa', 'AAAA Address', (what = ip6text(this.f, rd)), rd, 16));
    else if (type === 5) name('dns.cname', 'CNAME', rd);
    else if (type === 2) name('dns.ns', 'Name Server', rd);
    else if (type === 12) name('dns.ptr.domain_name', 'Domain Name', rd);
    else if (type === 15 && rdlen >= 3) {
      kids.push(this.field('dns.mx.preference', 'Preference', String(this.u16(rd)), rd, 2));
      name('dns.mx.mail_exchange', 'Mail Exchange', rd + 2);
    } else if (type === 16) {
      for (let q = rd; q < rd + rdlen; ) {
        const len = this.u8(q);
        if (q + 1 + len > rd + rdlen) break;
        kids.push(this.field('dns.txt.length', 'TXT Length', String(len), q, 1), this.field('dns.txt', 'TXT', UTF8.decode(this.f.subarray(q + 1, q + 1 + len)), q + 1, len));
        q += 1 + len;
      }
    }
    else if (rdlen > 0) this.dnssecRecord(type, rd, rd + rdlen, kids, name);
    const title = `${n.name}: type ${TYPES[type] ?? type}${type === 41 ? '' : `, class ${CLASSES[cls & 0x7fff] ?? cls}`}${what ? `, ${what}` : ''}`;
    return { field: this.field('dns.rr', title, '', p, rd + rdlen - p, { children: kids }), end: rd + rdlen };
  }

  /**
   * The data of DNSSEC's records and a few others with tshark 4.0's field names (its dissect_dns_rr): DS and CDS
   * (dns.ds.*), RRSIG (dns.rrsig.*, its two times left out), DNSKEY and CDNSKEY (dns.dnskey.*, key_id the key tag of
   * RFC 4034 appendix B), NSEC's next name, NSEC3 and NSEC3PARAM (dns.nsec3.*, the hash as base32hex), TLSA, SSHFP.
   * A field whose bytes the record's length does not hold is left out.
   */
  private dnssecRecord(type: number, rd: number, end: number, kids: TreeField[], name: (key: string, title: string, at: number) => unknown): void {
    const len = end - rd;
    const u8 = (key: string, title: string, at: number) => at < end && kids.push(this.field(key, title, String(this.u8(at)), at, 1));
    const u16 = (key: string, title: string, at: number) => at + 2 <= end && kids.push(this.field(key, title, String(this.u16(at)), at, 2));
    const rest = (key: string, title: string, at: number) => at < end && kids.push(this.field(key, title, this.bytes(at, end - at), at, end - at));
    if (type === 43 || type === 59) {
      u16('dns.ds.key_id', 'Key id', rd);
      u8('dns.ds.algorithm', 'Algorithm', rd + 2);
      u8('dns.ds.digest_type', 'Digest Type', rd + 3);
      rest('dns.ds.digest', 'Digest', rd + 4);
    } else if (type === 46) {
      u16('dns.rrsig.type_covered', 'Type Covered', rd);
      u8('dns.rrsig.algorithm', 'Algorithm', rd + 2);
      u8('dns.rrsig.labels', 'Labels', rd + 3);
      if (rd + 8 <= end) kids.push(this.field('dns.rrsig.original_ttl', 'Original TTL', String(this.u32(rd + 4)), rd + 4, 4));
      u16('dns.rrsig.key_tag', 'Key Tag', rd + 16);
      const signer = rd + 18 <= end ? (name('dns.rrsig.signers_name', "Signer's name", rd + 18) as { end: number } | undefined) : undefined;
      if (signer) rest('dns.rrsig.signature', 'Signature', signer.end);
    } else if (type === 48 || type === 60) {
      if (len < 4) return;
      const flags = this.u16(rd);
      kids.push(
        this.field('dns.dnskey.flags', 'Flags', hex(flags, 4), rd, 2),
        this.field('dns.dnskey.flags.zone_key', 'Zone Key', String((flags >> 8) & 1), rd, 2, { mask: 0x0100 }),
        this.field('dns.dnskey.flags.key_revoked', 'Key Revoked', String((flags >> 7) & 1), rd, 2, { mask: 0x0080 }),
        this.field('dns.dnskey.flags.secure_entry_point', 'Key Signing Key', String(flags & 1), rd, 2, { mask: 0x0001 }),
        this.field('dns.dnskey.flags.reserved', 'Key Signing Key', hex((flags & 0xfe7e) >> 1, 4), rd, 2, { mask: 0xfe7e }),
      );
      u8('dns.dnskey.protocol', 'Protocol', rd + 2);
      u8('dns.dnskey.algorithm', 'Algorithm', rd + 3);
      // The key tag (RFC 4034 appendix B): the data as 16-bit words summed, the carry added once.
      let ac = 0;
      for (let i = 0; i < len; i++) ac += i & 1 ? this.u8(rd + i) : this.u8(rd + i) << 8;
      ac += (ac >>> 16) & 0xffff;
      kids.push(this.field('dns.dnskey.key_id', 'Key id', String(ac & 0xffff), rd, len));
      rest('dns.dnskey.public_key', 'Public Key', rd + 4);
    } else if (type === 47) {
      name('dns.nsec.next_domain_name', 'Next Domain Name', rd);
    } else if (type === 50 || type === 51) {
      u8('dns.nsec3.algo', 'Hash algorithm', rd);
      if (rd + 1 < end) {
        kids.push(this.field('dns.nsec3.flags', 'NSEC3 flags', String(this.u8(rd + 1)), rd + 1, 1));
        // (NSEC3PARAM's flags have no opt-out bit in tshark.)
        if (type === 50) kids.push(this.field('dns.nsec3.flags.opt_out', 'NSEC3 Opt-out flag', String(this.u8(rd + 1) & 1), rd + 1, 1, { mask: 0x01 }));
      }
      u16('dns.nsec3.iterations', 'NSEC3 iterations', rd + 2);
      if (rd + 5 > end) return;
      const salt = this.u8(rd + 4);
      kids.push(this.field('dns.nsec3.salt_length', 'Salt length', String(salt), rd + 4, 1));
      if (rd + 5 + salt > end) return;
      kids.push(this.field('dns.nsec3.salt_value', 'Salt value', this.bytes(rd + 5, salt), rd + 5, salt));
      if (type === 51) return;
      const h = rd + 5 + salt;
      if (h >= end) return;
      const hl = this.u8(h);
      kids.push(this.field('dns.nsec3.hash_length', 'Hash length', String(hl), h, 1));
      if (h + 1 + hl > end) return;
      kids.push(this.field('dns.nsec3.hash_value', 'Next hashed owner', base32hex(this.f.subarray(h + 1, h + 1 + hl)), h + 1, hl));
    } else if (type === 52) {
      u8('dns.tlsa.certificate_usage', 'Certificate Usage', rd);
      u8('dns.tlsa.selector', 'Selector', rd + 1);
      u8('dns.tlsa.matching_type', 'Matching Type', rd + 2);
      rest('dns.tlsa.certificate_association_data', 'Certificate Association Data', rd + 3);
    } else if (type === 44) {
      u8('dns.sshfp.algorithm', 'Algorithm', rd);
      u8('dns.sshfp.fingerprint.type', 'Fingerprint type', rd + 1);
      rest('dns.sshfp.fingerprint', 'Fingerprint', rd + 2);
    }
  }

  /** A (possibly compressed) domain name at `p` in the message starting at `msg`: its text and where it ends in place. */
  private dnsName(p: number, msg: number, end: number): { name: string; end: number } | undefined {
    const labels: string[] = [];
    let q = p;
    let after: number | undefined;
    for (let jumps = 0, total = 0; ; ) {
      if (q >= end) return undefined;
      const len = this.u8(q);
      if (len === 0) {
        after ??= q + 1;
        break;
      }
      if ((len & 0xc0) === 0xc0) {
        if (q + 1 >= end || ++jumps > 16) return undefined;
        after ??= q + 2;
        q = msg + (((len & 0x3f) << 8) | this.u8(q + 1));
        continue;
      }
      if (len > 63 || q + 1 + len > end) return undefined;
      total += len + 1;
      if (total > 255) return undefined;
      // As tshark 4.0 shows (and filters) a name: text as UTF-8 (a byte that is not, U+FFFD), spaces kept, control
      // characters as \ooo.
      // eslint-disable-next-line no-control-regex
      labels.push(UTF8.decode(this.f.subarray(q + 1, q + 1 + len)).replace(/[\x00-\x1f\x7f]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`));
      q += 1 + len;
    }
    return { name: labels.length ? labels.join('.') : '<Root>', end: after };
  }
}
