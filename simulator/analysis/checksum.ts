// Run-time side of the stale-checksum rule: a packet that arrived with a valid IPv4 header checksum (and a valid
// TCP, UDP or ICMP checksum), or an IPv6 packet with a valid TCP, UDP or ICMPv6 checksum, and leaves the program with
// an invalid one. The stack drops such a packet after XDP_PASS
// (ip_rcv checks the header sum) and the next hop after XDP_TX or XDP_REDIRECT. Pure: two frames in, the broken
// layers out. The first IPv4 header of each frame is compared (after Ethernet and up to two VLAN tags), so an
// encapsulation that prepends a correct outer header is not a break.

export interface ChecksumBreak {
  layer: 'ipv4' | 'tcp' | 'udp' | 'icmp' | 'icmpv6';
  /** The checksum field as the packet arrived and as it leaves (hex), and the value it should hold on leaving. */
  before: string;
  after: string;
  expected: string;
}

interface Layers {
  /** The IPv4 header (an IPv6 header has no checksum of its own). */
  ip?: { off: number; ihl: number; check: number; valid: boolean; expected: number };
  /** Where the upper layer's checksum is summed (the sum is taken only when checksumBreaks needs it: see l4Sum). */
  l4?: { layer: 'tcp' | 'udp' | 'icmp' | 'icmpv6'; check: number; start: number; end: number; pseudo: number };
}

const hex16 = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`;

/** The 16-bit one's complement sum of `b[start, end)` added to `sum` (not folded). */
function sum16(b: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * From one sum of a checksummed range (the field included, not folded): whether the field is right, and the value it
 * should hold (the complement of the sum with the field taken as 0).
 */
const validSum = (sum: number): boolean => fold(sum) === 0xffff;
const expectedFrom = (sum: number, field: number): number => ~fold(sum - field) & 0xffff;

/** The upper layer's checksum: whether it is valid and what it should be (UDP's 0 is written 0xffff). */
function l4Sum(frame: Uint8Array, l4: NonNullable<Layers['l4']>): { valid: boolean; expected: number } {
  const sum = sum16(frame, l4.start, l4.end, l4.pseudo);
  const e = expectedFrom(sum, l4.check);
  // A UDP checksum of 0 means none over IPv4 (parse leaves such a layer out) and is invalid over IPv6.
  return { valid: validSum(sum) && !(l4.layer === 'udp' && l4.check === 0), expected: l4.layer === 'udp' && e === 0 ? 0xffff : e };
}

function parse(frame: Uint8Array): Layers | undefined {
  let off = 12;
  if (frame.length < 14) return undefined;
  let proto = (frame[off]! << 8) | frame[off + 1]!;
  off += 2;
  for (let tags = 0; tags < 2 && (proto === 0x8100 || proto === 0x88a8); tags++) {
    if (frame.length < off + 4) return undefined;
    proto = (frame[off + 2]! << 8) | frame[off + 3]!;
    off += 4;
  }
  if (proto === 0x86dd) return parse6(frame, off);
  if (proto !== 0x0800 || frame.length < off + 20 || frame[off]! >> 4 !== 4) return undefined;
  const ihl = (frame[off]! & 15) * 4;
  if (ihl < 20 || frame.length < off + ihl) return undefined;
  const check = (frame[off + 10]! << 8) | frame[off + 11]!;
  const ipSum = sum16(frame, off, off + ihl);
  const ip = { off, ihl, check, valid: validSum(ipSum), expected: expectedFrom(ipSum, check) };
  const total = (frame[off + 2]! << 8) | frame[off + 3]!;
  const frag = ((frame[off + 6]! << 8) | frame[off + 7]!) & 0x3fff;
  const end = off + total;
  if (frag !== 0 || total < ihl || end > frame.length) return { ip };
  const l4off = off + ihl;
  const p = frame[off + 9]!;
  const pseudo = () => sum16(frame, off + 12, off + 20) + p + (end - l4off);
  if (p === 6 && end >= l4off + 20) {
    const c = (frame[l4off + 16]! << 8) | frame[l4off + 17]!;
    return { ip, l4: { layer: 'tcp', check: c, start: l4off, end, pseudo: pseudo() } };
  }
  if (p === 17 && end >= l4off + 8) {
    const c = (frame[l4off + 6]! << 8) | frame[l4off + 7]!;
    if (c === 0) return { ip }; // no UDP checksum: nothing to break
    return { ip, l4: { layer: 'udp', check: c, start: l4off, end, pseudo: pseudo() } };
  }
  if (p === 1 && end >= l4off + 4) {
    const c = (frame[l4off + 2]! << 8) | frame[l4off + 3]!;
    return { ip, l4: { layer: 'icmp', check: c, start: l4off, end, pseudo: 0 } };
  }
  return { ip };
}

/**
 * An IPv6 packet whose upper layer is TCP, UDP or ICMPv6, past any hop-by-hop, destination options, authentication
 * and routing headers (one with segments left names another final destination: not judged, nor a fragment): that
 * checksum, over the IPv6 pseudo-header (addresses, upper-layer length, next header). A UDP checksum of 0 is not
 * valid over IPv6.
 */
function parse6(frame: Uint8Array, off: number): Layers | undefined {
  if (frame.length < off + 40 || frame[off]! >> 4 !== 6) return undefined;
  let nh = frame[off + 6]!;
  let l4off = off + 40;
  const end = l4off + ((frame[off + 4]! << 8) | frame[off + 5]!);
  if (end > frame.length) return {};
  for (let n = 0; n < 8 && (nh === 0 || nh === 43 || nh === 60 || nh === 51); n++) {
    if (l4off + 8 > end) return {};
    if (nh === 43 && frame[l4off + 3] !== 0) return {}; // segments left: the pseudo-header holds the final destination
    const len = nh === 51 ? (frame[l4off + 1]! + 2) * 4 : (frame[l4off + 1]! + 1) * 8;
    nh = frame[l4off]!;
    l4off += len;
  }
  if (l4off > end) return {};
  const pseudo = () => sum16(frame, off + 8, off + 40) + nh + (end - l4off);
  const at = nh === 6 ? 16 : nh === 17 ? 6 : nh === 58 ? 2 : -1;
  if (at < 0 || end < l4off + (nh === 6 ? 20 : nh === 17 ? 8 : 4)) return {};
  const c = (frame[l4off + at]! << 8) | frame[l4off + at + 1]!;
  return { l4: { layer: nh === 6 ? 'tcp' : nh === 17 ? 'udp' : 'icmpv6', check: c, start: l4off, end, pseudo: pseudo() } };
}

/** The checksums that were valid in `before` (the frame as it arrived) and are invalid in `after` (as it leaves). */
export function checksumBreaks(before: Uint8Array, after: Uint8Array): ChecksumBreak[] {
  // Bytes the program left unchanged cannot have broken a checksum (the common case, decided without parsing).
  if (before.length === after.length && Buffer.from(before.buffer, before.byteOffset, before.length).equals(Buffer.from(after.buffer, after.byteOffset, after.length))) return [];
  const a = parse(before);
  const b = parse(after);
  if (!a || !b) return [];
  const out: ChecksumBreak[] = [];
  if (a.ip && b.ip && a.ip.valid && !b.ip.valid) out.push({ layer: 'ipv4', before: hex16(a.ip.check), after: hex16(b.ip.check), expected: hex16(b.ip.expected) });
  // The upper layers' sums (over the whole payload) only where both frames have the same one.
  if (a.l4 && b.l4 && a.l4.layer === b.l4.layer && l4Sum(before, a.l4).valid) {
    const after4 = l4Sum(after, b.l4);
    if (!after4.valid) out.push({ layer: b.l4.layer, before: hex16(a.l4.check), after: hex16(b.l4.check), expected: hex16(after4.expected) });
  }
  return out;
}
