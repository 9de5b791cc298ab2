// Just enough dissection for a one-line, tcpdump-like summary of a frame and for the RSS flow tuple.
// Never throws: a frame cut short is summarised as far as it goes, with "[|proto]" where it ends, as tcpdump does.

const ETH_P_IP = 0x0800;
const ETH_P_ARP = 0x0806;
const ETH_P_IPV6 = 0x86dd;
const VLAN_TYPES = new Set([0x8100, 0x88a8, 0x9100]);

export interface Flow {
  v6: boolean;
  src: Uint8Array;
  dst: Uint8Array;
  proto: number;
  /** Present for TCP, UDP and SCTP on unfragmented (or first-fragment) packets. */
  sport?: number;
  dport?: number;
}

interface L3 {
  /** Text so far ("vlan 10, " prefixes). */
  prefix: string;
  type: number;
  off: number;
}

function u16(f: Uint8Array, o: number): number {
  return (f[o]! << 8) | f[o + 1]!;
}

const HEX2 = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function mac(f: Uint8Array, o: number): string {
  return `${HEX2[f[o]!]}:${HEX2[f[o + 1]!]}:${HEX2[f[o + 2]!]}:${HEX2[f[o + 3]!]}:${HEX2[f[o + 4]!]}:${HEX2[f[o + 5]!]}`;
}

export function ipv4(f: Uint8Array, o: number): string {
  return `${f[o]}.${f[o + 1]}.${f[o + 2]}.${f[o + 3]}`;
}

export function ipv6(f: Uint8Array, o: number): string {
  // Compress the longest run (of two or more, the first of equals) of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (f[o + 2 * i] !== 0 || f[o + 2 * i + 1] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && f[o + 2 * j] === 0 && f[o + 2 * j + 1] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  // Whether `out` is empty or ends with ':' (no separator needed before the next group).
  let open = true;
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += '::';
      open = true;
      i += bestLen - 1;
      continue;
    }
    if (!open) out += ':';
    // A group in hex without leading zeroes: the high byte's digits, then the low byte's (two when the high byte shows).
    const hi = f[o + 2 * i]!;
    const lo = f[o + 2 * i + 1]!;
    out += hi ? HEX[hi]! + HEX2[lo]! : HEX[lo]!;
    open = false;
  }
  return out;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16));

function link(f: Uint8Array): L3 | string {
  if (f.length < 14) return `[|ether] ${f.length} bytes`;
  let type = u16(f, 12);
  let off = 14;
  let prefix = '';
  while (VLAN_TYPES.has(type)) {
    if (f.length < off + 4) return `${prefix}${type === 0x88a8 ? 'ethertype 802.1ad' : 'vlan'} [|vlan]`;
    const tci = u16(f, off);
    prefix += `${type === 0x88a8 ? 'svlan' : 'vlan'} ${tci & 0xfff}${tci >> 13 ? ` p ${tci >> 13}` : ''}, `;
    type = u16(f, off + 2);
    off += 4;
  }
  return { prefix, type, off };
}

/** A one-line summary of an Ethernet frame, in the spirit of `tcpdump -n`. */
export function summarize(f: Uint8Array): string {
  try {
    // An untagged IPv4 or IPv6 frame (most of them): what link and l3 give it, without link's object.
    if (f.length >= 14) {
      const type = u16(f, 12);
      if (type === ETH_P_IP) return ip4(f, 14);
      if (type === ETH_P_IPV6) return ip6(f, 14);
    }
    const l = link(f);
    if (typeof l === 'string') return l;
    return l.prefix + l3(f, l.type, l.off);
  } catch {
    return `${f.length} bytes`;
  }
}

function l3(f: Uint8Array, type: number, off: number): string {
  if (type === ETH_P_IP) return ip4(f, off);
  if (type === ETH_P_IPV6) return ip6(f, off);
  if (type === ETH_P_ARP) return arp(f, off);
  if (type < 0x0600) {
    // 802.3 length field: LLC follows.
    if (f.length >= off + 3) {
      const dsap = f[off]!;
      const ssap = f[off + 1]!;
      if (dsap === 0x42 && ssap === 0x42) return `${mac(f, 6)} > ${mac(f, 0)}, 802.3 LLC STP, length ${type}`;
      // SNAP with an EtherType (organisation 0): tcpdump shows the packet inside.
      if (dsap === 0xaa && ssap === 0xaa && f[off + 2] === 3 && f.length >= off + 8 && f[off + 3] === 0 && f[off + 4] === 0 && f[off + 5] === 0 && u16(f, off + 6) >= 0x0600)
        return l3(f, u16(f, off + 6), off + 8);
      return `${mac(f, 6)} > ${mac(f, 0)}, 802.3 LLC dsap 0x${dsap.toString(16)} ssap 0x${ssap.toString(16)}, length ${type}`;
    }
    return `${mac(f, 6)} > ${mac(f, 0)}, 802.3, length ${type}`;
  }
  if (type === 0x8847 || type === 0x8848) return mpls(f, off);
  if (type === 0x8864 && f.length >= off + 8) {
    const proto = u16(f, off + 6);
    const inner = proto === 0x0021 ? ip4(f, off + 8) : proto === 0x0057 ? ip6(f, off + 8) : `PPP proto 0x${proto.toString(16).padStart(4, '0')}`;
    return `PPPoE [ses 0x${u16(f, off + 2).toString(16)}] ${inner}`;
  }
  return `${mac(f, 6)} > ${mac(f, 0)}, ethertype ${ETHERTYPE_NAMES[type] ?? `0x${type.toString(16).padStart(4, '0')}`}, length ${f.length}`;
}

/** An MPLS label stack as tcpdump prints it, then the IPv4/IPv6 packet after the bottom label. */
function mpls(f: Uint8Array, o: number): string {
  let s = 'MPLS';
  for (let n = 0; n < 16; n++) {
    if (f.length < o + 4) return `${s} [|mpls]`;
    const w = ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
    const bottom = (w & 0x100) !== 0;
    s += ` (label ${w >>> 12}, tc ${(w >> 9) & 7}, ${bottom ? '[S], ' : ''}ttl ${w & 0xff})`;
    o += 4;
    if (bottom) break;
  }
  if (f.length > o && f[o]! >> 4 === 4) return `${s} ${ip4(f, o)}`;
  if (f.length > o && f[o]! >> 4 === 6) return `${s} ${ip6(f, o)}`;
  return s;
}

// Names the summaries use, made once (not per packet).
const ETHERTYPE_NAMES: Record<number, string> = { 0x88cc: 'LLDP', 0x8863: 'PPPoE discovery', 0x8864: 'PPPoE session', 0x8847: 'MPLS', 0x88e5: 'MACsec', 0x8035: 'RARP' };
const PROTO_NAMES: Record<number, string> = { 1: 'ICMP', 2: 'IGMP', 6: 'TCP', 17: 'UDP', 41: 'IPv6', 47: 'GRE', 50: 'ESP', 51: 'AH', 58: 'ICMP6', 89: 'OSPF', 132: 'SCTP' };
const ICMP_NAMES: Record<number, string> = { 0: 'echo reply', 3: 'unreachable', 5: 'redirect', 8: 'echo request', 11: 'time exceeded' };
const ICMP6_NAMES: Record<number, string> = { 1: 'destination unreachable', 2: 'packet too big', 3: 'time exceeded', 128: 'echo request', 129: 'echo reply', 133: 'router solicitation', 134: 'router advertisement', 135: 'neighbor solicitation', 136: 'neighbor advertisement', 143: 'multicast listener report v2' };

function arp(f: Uint8Array, o: number): string {
  if (f.length < o + 28) return 'ARP [|arp]';
  const op = u16(f, o + 6);
  if (u16(f, o) !== 1 || u16(f, o + 2) !== ETH_P_IP) return `ARP op ${op}`;
  if (op === 1) return `ARP, Request who-has ${ipv4(f, o + 24)} tell ${ipv4(f, o + 14)}, length ${f.length - o}`;
  if (op === 2) return `ARP, Reply ${ipv4(f, o + 14)} is-at ${mac(f, o + 8)}, length ${f.length - o}`;
  return `ARP op ${op} ${ipv4(f, o + 14)} > ${ipv4(f, o + 24)}`;
}

function ip4(f: Uint8Array, o: number): string {
  if (f.length < o + 20) return 'IP [|ip]';
  const ihl = (f[o]! & 0x0f) * 4;
  const total = u16(f, o + 2);
  const fragField = u16(f, o + 6);
  const fragOff = (fragField & 0x1fff) * 8;
  const more = (fragField & 0x2000) !== 0;
  const proto = f[o + 9]!;
  const src = ipv4(f, o + 12);
  const dst = ipv4(f, o + 16);
  const frag = fragOff || more ? ` (frag ${u16(f, o + 4)}:${Math.max(0, total - ihl)}@${fragOff}${more ? '+' : ''})` : '';
  if (fragOff) return `IP ${src} > ${dst}: ${protoName(proto)}${frag}`;
  return `IP ${l4(f, o + ihl, proto, src, dst, Math.max(0, total - ihl))}${frag}`;
}

function ip6(f: Uint8Array, o: number): string {
  if (f.length < o + 40) return 'IP6 [|ip6]';
  const src = ipv6(f, o + 8);
  const dst = ipv6(f, o + 24);
  let next = f[o + 6]!;
  let plen = u16(f, o + 4);
  let p = o + 40;
  let frag = '';
  for (let guard = 0; guard < 16; guard++) {
    if (next === 0 || next === 43 || next === 60) {
      if (f.length < p + 2) return `IP6 ${src} > ${dst}: [|ext]`;
      const len = (f[p + 1]! + 1) * 8;
      next = f[p]!;
      p += len;
      plen -= len;
    } else if (next === 44) {
      if (f.length < p + 8) return `IP6 ${src} > ${dst}: [|frag]`;
      const fo = u16(f, p + 2);
      const offset = fo & 0xfff8;
      const more = (fo & 1) !== 0;
      frag = ` (frag 0x${(((f[p + 4]! << 24) | (f[p + 5]! << 16) | (f[p + 6]! << 8) | f[p + 7]!) >>> 0).toString(16)}:${offset}${more ? '+' : ''})`;
      next = f[p]!;
      p += 8;
      plen -= 8;
      if (offset) return `IP6 ${src} > ${dst}: ${protoName(next)}${frag}`;
    } else break;
  }
  return `IP6 ${l4(f, p, next, src, dst, Math.max(0, plen))}${frag}`;
}

function protoName(p: number): string {
  return PROTO_NAMES[p] ?? `ip-proto-${p}`;
}

function l4(f: Uint8Array, p: number, proto: number, src: string, dst: string, len: number): string {
  const sep = '.';
  if (proto === 6) {
    if (f.length < p + 14) return `${src} > ${dst}: TCP [|tcp]`;
    const sport = u16(f, p);
    const dport = u16(f, p + 2);
    const doff = (f[p + 12]! >> 4) * 4;
    const fl = f[p + 13]!;
    let flags = '';
    if (fl & 0x02) flags += 'S';
    if (fl & 0x01) flags += 'F';
    if (fl & 0x04) flags += 'R';
    if (fl & 0x08) flags += 'P';
    if (fl & 0x20) flags += 'U';
    if (fl & 0x10) flags += '.';
    return `${src}${sep}${sport} > ${dst}${sep}${dport}: Flags [${flags || 'none'}], length ${Math.max(0, len - doff)}`;
  }
  if (proto === 17) {
    if (f.length < p + 8) return `${src} > ${dst}: UDP [|udp]`;
    const sport = u16(f, p);
    const dport = u16(f, p + 2);
    const ulen = u16(f, p + 4);
    if (dport === 4789 || sport === 4789) {
      const inner = p + 16;
      if (f.length >= inner + 14) return `${src}${sep}${sport} > ${dst}${sep}${dport}: VXLAN, vni ${(f[p + 12]! << 16) | (f[p + 13]! << 8) | f[p + 14]!}: ${summarize(f.subarray(inner))}`;
    }
    if (dport === 6081 && f.length >= p + 16) {
      // GENEVE: its inner frame or packet after the options.
      const inner = p + 16 + (f[p + 8]! & 0x3f) * 4;
      const gp = u16(f, p + 10);
      const vni = (f[p + 12]! << 16) | (f[p + 13]! << 8) | f[p + 14]!;
      const text = gp === 0x6558 && f.length >= inner + 14 ? summarize(f.subarray(inner)) : gp === 0x0800 && f.length > inner ? ip4(f, inner) : gp === 0x86dd && f.length > inner ? ip6(f, inner) : undefined;
      if (text !== undefined) return `${src}${sep}${sport} > ${dst}${sep}${dport}: Geneve, vni 0x${vni.toString(16)}: ${text}`;
    }
    const app = dport === 53 || sport === 53 ? ' DNS' : '';
    return `${src}${sep}${sport} > ${dst}${sep}${dport}: UDP${app}, length ${Math.max(0, ulen - 8)}`;
  }
  if (proto === 1 || proto === 58) {
    if (f.length < p + 2) return `${src} > ${dst}: ${protoName(proto)} [|icmp]`;
    return `${src} > ${dst}: ${icmpName(proto, f[p]!, f[p + 1]!)}, length ${len}`;
  }
  if (proto === 47) {
    if (f.length < p + 4) return `${src} > ${dst}: GREv? [|gre]`;
    const fl = u16(f, p);
    const gp = u16(f, p + 2);
    const inner = p + 4 + (fl & 0x8000 ? 4 : 0) + (fl & 0x2000 ? 4 : 0) + (fl & 0x1000 ? 4 : 0);
    // Version 0 carrying IP or Ethernet: the packet inside, as tcpdump shows it.
    if ((fl & 0x4007) === 0 && f.length > inner && (gp === 0x0800 || gp === 0x86dd || (gp === 0x6558 && f.length >= inner + 14)))
      return `${src} > ${dst}: GREv0, length ${len}: ${gp === 0x0800 ? ip4(f, inner) : gp === 0x86dd ? ip6(f, inner) : summarize(f.subarray(inner))}`;
    return `${src} > ${dst}: GREv${f[p + 1]! & 7}, proto 0x${gp.toString(16)}, length ${len}`;
  }
  // IP in IP: the inner packet, as tcpdump shows it.
  if ((proto === 4 || proto === 41) && f.length > p) return `${src} > ${dst}: ${proto === 4 ? ip4(f, p) : ip6(f, p)}`;
  return `${src} > ${dst}: ${protoName(proto)}, length ${len}`;
}

function icmpName(proto: number, type: number, code: number): string {
  if (proto === 1) return `ICMP ${ICMP_NAMES[type] ?? `type ${type}`}${type === 3 || type === 11 ? ` code ${code}` : ''}`;
  return `ICMP6, ${ICMP6_NAMES[type] ?? `type ${type}`}`;
}

/** The flow tuple RSS hashes: addresses, and ports for TCP/UDP/SCTP when present. Undefined for non-IP frames. */
export function flowOf(f: Uint8Array): Flow | undefined {
  const l = link(f);
  if (typeof l === 'string') return undefined;
  const o = l.off;
  if (l.type === ETH_P_IP) {
    if (f.length < o + 20) return undefined;
    const ihl = (f[o]! & 0x0f) * 4;
    const proto = f[o + 9]!;
    const fragmented = (u16(f, o + 6) & 0x3fff) !== 0;
    const flow: Flow = { v6: false, src: f.slice(o + 12, o + 16), dst: f.slice(o + 16, o + 20), proto };
    if (!fragmented) ports(f, o + ihl, proto, flow);
    return flow;
  }
  if (l.type === ETH_P_IPV6) {
    if (f.length < o + 40) return undefined;
    let next = f[o + 6]!;
    let p = o + 40;
    let fragmented = false;
    for (let guard = 0; guard < 16 && (next === 0 || next === 43 || next === 60 || next === 44); guard++) {
      if (f.length < p + 8) break;
      if (next === 44) {
        fragmented = true;
        next = f[p]!;
        p += 8;
      } else {
        const len = (f[p + 1]! + 1) * 8;
        next = f[p]!;
        p += len;
      }
    }
    const flow: Flow = { v6: true, src: f.slice(o + 8, o + 24), dst: f.slice(o + 24, o + 40), proto: next };
    if (!fragmented) ports(f, p, next, flow);
    return flow;
  }
  return undefined;
}

function ports(f: Uint8Array, p: number, proto: number, flow: Flow): void {
  if ((proto === 6 || proto === 17 || proto === 132) && f.length >= p + 4) {
    flow.sport = u16(f, p);
    flow.dport = u16(f, p + 2);
  }
}

/** Slots of a SummaryCache (a power of two), and the 32-bit words of one slot's key. */
const SUMMARY_SLOTS = 4096;
const SUMMARY_WORDS = 16;
/** Slots of a SummaryCache's table of whole frames (a power of two), and the longest frame kept there. */
const FRAME_SLOTS = 1024;
const FRAME_MAX = 1600;
/**
 * Slots of the same table for frames longer than FRAME_MAX (jumbo frames, e.g. 9,000-byte VXLAN), after its
 * FRAME_SLOTS (a power of two), and the longest frame kept there: at most 256 KiB of copies.
 */
const BIG_SLOTS = 16;
const BIG_MAX = 16384;

/** The frame of `len` bytes at `base` in `b`: `b` itself when that is all of it, else a view (not a Buffer: a plain one is cheaper). */
const viewOf = (b: Uint8Array, base: number, len: number): Uint8Array =>
  base === 0 && len === b.length ? b : new Uint8Array(b.buffer, b.byteOffset + base, len);

const bufferCompare = Buffer.prototype.compare;
/** Whether `seen` holds the `len` bytes at `base` in `b` (seen.length === len). */
function sameBytes(seen: Uint8Array, b: Uint8Array, base: number, len: number): boolean {
  if (base === 0 && len === b.length) return Buffer.compare(seen, b) === 0;
  // Buffer's compare with offsets (memcmp; it takes any Uint8Array as `this`): no view made.
  return bufferCompare.call(seen, b, base, base + len, 0, len) === 0;
}

/** The big-endian 32-bit word at o, as a signed int32. */
const w32 = (f: Uint8Array, o: number): number => (f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!;

/**
 * summarize, remembered for the commonest frames: IPv4 (unfragmented) and IPv6 (no extension header), untagged or
 * under up to 4 VLAN tags, carrying TCP, UDP (not VXLAN or Geneve: their summary holds the inner frame's) or
 * ICMP/ICMPv6, captured long enough for the L4 fields the summary shows. Their text depends only on the fields put in
 * the key below (those link, ip4/ip6 and l4 read: the tags' types and TCIs, the IHL and total length or the payload
 * length, the protocol, addresses, ports, TCP data offset and flags, UDP length, ICMP type and code), not on TTL, IDs,
 * checksums, sequence numbers or payload, so that the packets of one flow and size share an entry. A two-way
 * set-associative table of SUMMARY_SLOTS keys, compared in full (a collision costs a summarize); bounded memory. Other
 * frames go to the whole-frame table below, or when longer than BIG_MAX to summarize each time (`slot` -1). Keep
 * the key in step with link, ip4, ip6 and l4.
 */
export class SummaryCache {
  /** Slots of both tables: the keyed one's, then the whole frames' (see `slot`). */
  static readonly SLOTS = SUMMARY_SLOTS + FRAME_SLOTS + BIG_SLOTS;
  private readonly keys = new Int32Array(SUMMARY_SLOTS * SUMMARY_WORDS);
  private readonly texts: (string | undefined)[] = new Array<string | undefined>(SUMMARY_SLOTS).fill(undefined);
  private readonly key = new Int32Array(SUMMARY_WORDS);
  /**
   * Frames of no keyed shape (ARP, fragments, extension headers, tunnels, other link layers ...) of at most FRAME_MAX
   * bytes: a two-way set-associative table of copies, compared whole (their summary may depend on any byte), so that a frame
   * seen again byte for byte is not dissected again. Bounded: FRAME_SLOTS copies of at most FRAME_MAX bytes, then
   * BIG_SLOTS of at most BIG_MAX bytes for the longer frames.
   */
  private readonly frames: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(FRAME_SLOTS + BIG_SLOTS).fill(undefined);
  private readonly frameTexts: string[] = new Array<string>(FRAME_SLOTS + BIG_SLOTS).fill('');
  /** Per pair of ways of each table, the way used last (0 or 1). */
  private readonly keyedLast = new Uint8Array(SUMMARY_SLOTS / 2);
  private readonly frameLast = new Uint8Array((FRAME_SLOTS + BIG_SLOTS) / 2);
  /**
   * The slot of the last text returned (0 .. SLOTS - 1; the whole-frame table's from SUMMARY_SLOTS on), or -1 when it
   * was not cached (for a caller's own per-slot data).
   */
  slot = -1;

  summarize(f: Uint8Array): string {
    return this.summarizeAt(f, 0, f.length);
  }

  /**
   * summarize of the frame of `len` bytes at `base` in `bytes`, with no view of it made unless it is dissected (a
   * caller holding frames in one buffer, such as a batch of them).
   */
  summarizeAt(bytes: Uint8Array, base: number, len: number): string {
    const n = this.keyOf(bytes, base, len);
    if (n === 0) return this.wholeFrame(bytes, base, len);
    const k = this.key;
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ k[i]!, 0x01000193);
    // Two ways: the slot the hash names and its neighbour (slot ^ 1), so that two frames of one hash do not evict each
    // other on every packet; a miss replaces the way not used last.
    const s0 = (h ^ (h >>> 16)) & (SUMMARY_SLOTS - 1) & ~1;
    const keys = this.keys;
    const texts = this.texts;
    for (let slot = s0; slot <= s0 + 1; slot++) {
      const at = slot * SUMMARY_WORDS;
      let same = texts[slot] !== undefined;
      for (let i = 0; same && i < SUMMARY_WORDS; i++) same = keys[at + i] === k[i];
      if (same) {
        this.slot = slot;
        this.keyedLast[s0 >> 1] = slot - s0;
        return texts[slot]!;
      }
    }
    const slot = s0 + (texts[s0] === undefined ? 0 : texts[s0 + 1] === undefined ? 1 : 1 - this.keyedLast[s0 >> 1]!);
    this.slot = slot;
    this.keyedLast[s0 >> 1] = slot - s0;
    const text = summarize(viewOf(bytes, base, len));
    keys.set(k, slot * SUMMARY_WORDS);
    texts[slot] = text;
    return text;
  }

  /** summarize of a frame of no keyed shape (`len` bytes at `base`), from the whole-frame table when the same bytes were summarized there. */
  private wholeFrame(b: Uint8Array, base: number, len: number): string {
    if (len > BIG_MAX) {
      this.slot = -1;
      return summarize(viewOf(b, base, len));
    }
    // The hash of the length, the first 64 bytes and the last 16 (equal frames hash alike; the copy is compared whole).
    let h = Math.imul(len ^ 0x811c9dc5, 0x01000193);
    const head = len < 64 ? len : 64;
    for (let i = 0; i < head; i++) h = Math.imul(h ^ b[base + i]!, 0x01000193);
    for (let i = len - 16 > head ? len - 16 : head; i < len; i++) h = Math.imul(h ^ b[base + i]!, 0x01000193);
    // Two ways, as in summarize; a frame longer than FRAME_MAX in the BIG_SLOTS after the first FRAME_SLOTS.
    const s0 = len > FRAME_MAX ? FRAME_SLOTS + ((h ^ (h >>> 15)) & (BIG_SLOTS - 1) & ~1) : (h ^ (h >>> 15)) & (FRAME_SLOTS - 1) & ~1;
    const frames = this.frames;
    for (let at = s0; at <= s0 + 1; at++) {
      const seen = frames[at];
      if (seen !== undefined && seen.length === len && sameBytes(seen, b, base, len)) {
        this.slot = SUMMARY_SLOTS + at;
        this.frameLast[s0 >> 1] = at - s0;
        return this.frameTexts[at]!;
      }
    }
    const at = s0 + (frames[s0] === undefined ? 0 : frames[s0 + 1] === undefined ? 1 : 1 - this.frameLast[s0 >> 1]!);
    this.slot = SUMMARY_SLOTS + at;
    this.frameLast[s0 >> 1] = at - s0;
    const f = viewOf(b, base, len);
    const text = summarize(f);
    const seen = frames[at];
    if (seen !== undefined && seen.length === len) seen.set(f);
    else frames[at] = new Uint8Array(f); // a copy even of a Buffer, whose slice() is a view
    this.frameTexts[at] = text;
    return text;
  }

  /** The key of the frame of `flen` bytes at `base` in f, when its summary is cached (its words; the unused ones zero), or 0. */
  private keyOf(f: Uint8Array, base: number, flen: number): number {
    // Offsets below are into f (the frame starts at base); `len`: where the frame ends.
    const len = base + flen;
    const k = this.key;
    let o = base + 14;
    let type = (f[base + 12]! << 8) | f[base + 13]!;
    // Up to 4 VLAN tags (link's prefix: each tag's type and TCI).
    let n = 1;
    while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
      if (n > 4 || len < o + 44) return 0;
      const tci = (f[o]! << 8) | f[o + 1]!;
      k[n++] = (type << 16) | tci;
      type = (f[o + 2]! << 8) | f[o + 3]!;
      o += 4;
    }
    // Both headers' fixed parts (and the tags) within the frame.
    if (len < o + 40) return 0;
    let p: number;
    let proto: number;
    if (type === ETH_P_IP) {
      // Fragments (their summary shows the ID) are left to summarize.
      if ((((f[o + 6]! << 8) | f[o + 7]!) & 0x3fff) !== 0) return 0;
      const ihl = f[o]! & 0x0f;
      p = o + ihl * 4;
      proto = f[o + 9]!;
      // 4, the tags, the IHL, the protocol and the total length; the addresses.
      k[0] = (4 << 28) | (n << 24) | (ihl << 16) | proto;
      k[n] = (f[o + 2]! << 8) | f[o + 3]!;
      k[n + 1] = w32(f, o + 12);
      k[n + 2] = w32(f, o + 16);
      n += 3;
    } else if (type === ETH_P_IPV6) {
      proto = f[o + 6]!;
      if (proto !== 6 && proto !== 17 && proto !== 58) return 0; // an extension header first
      p = o + 40;
      // 6, the tags, the next header and the payload length; the addresses.
      k[0] = (6 << 28) | (n << 24) | proto;
      k[n] = (f[o + 4]! << 8) | f[o + 5]!;
      for (let i = 0; i < 8; i++) k[n + 1 + i] = w32(f, o + 8 + 4 * i);
      n += 9;
    } else return 0;
    if (proto === 6) {
      if (len < p + 14) return 0;
      k[n] = w32(f, p); // ports
      k[n + 1] = ((f[p + 12]! >> 4) << 8) | f[p + 13]!; // data offset, flags
      n += 2;
    } else if (proto === 17) {
      if (len < p + 8) return 0;
      const ports = w32(f, p);
      const sport = ports >>> 16;
      const dport = ports & 0xffff;
      if (sport === 4789 || dport === 4789 || dport === 6081) return 0;
      k[n] = ports;
      k[n + 1] = (f[p + 4]! << 8) | f[p + 5]!; // length
      n += 2;
    } else if (proto === 1 || proto === 58) {
      if (len < p + 2) return 0;
      k[n] = (f[p]! << 8) | f[p + 1]!; // type, code
      n += 1;
    } else return 0;
    for (let i = n; i < SUMMARY_WORDS; i++) k[i] = 0;
    return n;
  }
}
