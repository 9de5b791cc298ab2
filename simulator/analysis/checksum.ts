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

/**
 * What parse finds in a frame, refilled per call (one object per side: nothing allocated per packet). `ihl` 0: no IPv4
 * header; `layer` undefined: no upper layer whose checksum is judged. The upper layer's sum is taken only when
 * checksumBreaks needs it, over [start, end) plus its pseudo-header: the sum of [pseudoFrom, pseudoTo) (the addresses)
 * plus pseudoAdd (protocol and length); ICMP has none.
 */
class Layers {
  ipOff = 0;
  ihl = 0;
  layer: ChecksumBreak['layer'] | undefined = undefined;
  check = 0;
  start = 0;
  end = 0;
  pseudoFrom = 0;
  pseudoTo = 0;
  pseudoAdd = 0;
}
const BEFORE = new Layers();
const AFTER = new Layers();

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

/** An upper layer's sum over its range and pseudo-header (not folded), in the frame at `base` of `frame`. */
const l4Total = (frame: Uint8Array, base: number, l: Layers): number => sum16(frame, base + l.start, base + l.end, l.pseudoTo > l.pseudoFrom ? sum16(frame, base + l.pseudoFrom, base + l.pseudoTo) + l.pseudoAdd : l.pseudoAdd);
/** Whether an upper layer's checksum is valid: a UDP checksum of 0 means none over IPv4 (parse leaves such a layer out) and is invalid over IPv6. */
const l4Valid = (l: Layers, sum: number): boolean => validSum(sum) && !(l.layer === 'udp' && l.check === 0);
/** The value an upper layer's checksum should hold (UDP's 0 is written 0xffff). */
function l4Expected(l: Layers, sum: number): number {
  const e = expectedFrom(sum, l.check);
  return l.layer === 'udp' && e === 0 ? 0xffff : e;
}

/**
 * The frame's IPv4 header (after Ethernet and up to two VLAN tags) and upper layer into `L`; false when it has neither
 * (nothing of it can be judged). The frame is frame[base, base + len): the offsets in `L` are from `base`.
 */
function parse(frame: Uint8Array, base: number, len: number, L: Layers): boolean {
  L.ihl = 0;
  L.layer = undefined;
  let off = 12;
  if (len < 14) return false;
  let proto = (frame[base + off]! << 8) | frame[base + off + 1]!;
  off += 2;
  for (let tags = 0; tags < 2 && (proto === 0x8100 || proto === 0x88a8); tags++) {
    if (len < off + 4) return false;
    proto = (frame[base + off + 2]! << 8) | frame[base + off + 3]!;
    off += 4;
  }
  if (proto === 0x86dd) return parse6(frame, base, len, off, L);
  if (proto !== 0x0800 || len < off + 20 || frame[base + off]! >> 4 !== 4) return false;
  const ihl = (frame[base + off]! & 15) * 4;
  if (ihl < 20 || len < off + ihl) return false;
  L.ipOff = off;
  L.ihl = ihl;
  const total = (frame[base + off + 2]! << 8) | frame[base + off + 3]!;
  const frag = ((frame[base + off + 6]! << 8) | frame[base + off + 7]!) & 0x3fff;
  const end = off + total;
  if (frag !== 0 || total < ihl || end > len) return true;
  const l4off = off + ihl;
  const p = frame[base + off + 9]!;
  let at: number;
  if (p === 6 && end >= l4off + 20) {
    L.layer = 'tcp';
    at = 16;
  } else if (p === 17 && end >= l4off + 8) {
    if (((frame[base + l4off + 6]! << 8) | frame[base + l4off + 7]!) === 0) return true; // no UDP checksum: nothing to break
    L.layer = 'udp';
    at = 6;
  } else if (p === 1 && end >= l4off + 4) {
    L.layer = 'icmp';
    at = 2;
  } else return true;
  L.check = (frame[base + l4off + at]! << 8) | frame[base + l4off + at + 1]!;
  L.start = l4off;
  L.end = end;
  if (p === 1) L.pseudoFrom = L.pseudoTo = L.pseudoAdd = 0;
  else {
    L.pseudoFrom = off + 12;
    L.pseudoTo = off + 20;
    L.pseudoAdd = p + (end - l4off);
  }
  return true;
}

/**
 * An IPv6 packet whose upper layer is TCP, UDP or ICMPv6, past any hop-by-hop, destination options, authentication
 * and routing headers (one with segments left names another final destination: not judged, nor a fragment): that
 * checksum, over the IPv6 pseudo-header (addresses, upper-layer length, next header). A UDP checksum of 0 is not
 * valid over IPv6.
 */
function parse6(frame: Uint8Array, base: number, len: number, off: number, L: Layers): boolean {
  if (len < off + 40 || frame[base + off]! >> 4 !== 6) return false;
  let nh = frame[base + off + 6]!;
  let l4off = off + 40;
  const end = l4off + ((frame[base + off + 4]! << 8) | frame[base + off + 5]!);
  if (end > len) return false;
  for (let n = 0; n < 8 && (nh === 0 || nh === 43 || nh === 60 || nh === 51); n++) {
    if (l4off + 8 > end) return false;
    if (nh === 43 && frame[base + l4off + 3] !== 0) return false; // segments left: the pseudo-header holds the final destination
    const hl = nh === 51 ? (frame[base + l4off + 1]! + 2) * 4 : (frame[base + l4off + 1]! + 1) * 8;
    nh = frame[base + l4off]!;
    l4off += hl;
  }
  if (l4off > end) return false;
  const at = nh === 6 ? 16 : nh === 17 ? 6 : nh === 58 ? 2 : -1;
  if (at < 0 || end < l4off + (nh === 6 ? 20 : nh === 17 ? 8 : 4)) return false;
  L.layer = nh === 6 ? 'tcp' : nh === 17 ? 'udp' : 'icmpv6';
  L.check = (frame[base + l4off + at]! << 8) | frame[base + l4off + at + 1]!;
  L.start = l4off;
  L.end = end;
  L.pseudoFrom = off + 8;
  L.pseudoTo = off + 40;
  L.pseudoAdd = nh + (end - l4off);
  return true;
}

/** The checksums that were valid in `before` (the frame as it arrived) and are invalid in `after` (as it leaves). */
export function checksumBreaks(before: Uint8Array, after: Uint8Array, differ = false): ChecksumBreak[] {
  // Bytes the program left unchanged cannot have broken a checksum (the common case, decided without parsing;
  // `differ`: the caller found them different already).
  if (!differ && before.length === after.length && Buffer.from(before.buffer, before.byteOffset, before.length).equals(Buffer.from(after.buffer, after.byteOffset, after.length))) return [];
  const out = checksumBreaksAt(before, 0, before.length, after, 0, after.length);
  return out === NO_BREAKS ? [] : out;
}

/** checksumBreaksAt's answer when none broke: one shared empty list (nothing allocated per packet). */
const NO_BREAKS: ChecksumBreak[] = Object.freeze([]) as unknown as ChecksumBreak[];

/**
 * checksumBreaks(x[xFrom, xEnd), y[yFrom, yEnd), true) without a view of either frame: for a caller that has found
 * them different and holds them where they are (`run --format summary`'s batched packets). None broken: a shared,
 * frozen empty list.
 */
export function checksumBreaksAt(x: Uint8Array, xFrom: number, xEnd: number, y: Uint8Array, yFrom: number, yEnd: number): ChecksumBreak[] {
  const a = BEFORE;
  const b = AFTER;
  if (!parse(x, xFrom, xEnd - xFrom, a) || !parse(y, yFrom, yEnd - yFrom, b)) return NO_BREAKS;
  let out: ChecksumBreak[] | undefined;
  if (a.ihl !== 0 && b.ihl !== 0 && validSum(sum16(x, xFrom + a.ipOff, xFrom + a.ipOff + a.ihl))) {
    const bSum = sum16(y, yFrom + b.ipOff, yFrom + b.ipOff + b.ihl);
    if (!validSum(bSum)) {
      const bCheck = (y[yFrom + b.ipOff + 10]! << 8) | y[yFrom + b.ipOff + 11]!;
      out = [{ layer: 'ipv4', before: hex16((x[xFrom + a.ipOff + 10]! << 8) | x[xFrom + a.ipOff + 11]!), after: hex16(bCheck), expected: hex16(expectedFrom(bSum, bCheck)) }];
    }
  }
  // The upper layers' sums (over the whole payload) only where both frames have the same one.
  if (a.layer !== undefined && a.layer === b.layer && l4Valid(a, l4Total(x, xFrom, a))) {
    const bSum = l4Total(y, yFrom, b);
    if (!l4Valid(b, bSum)) (out ??= []).push({ layer: b.layer, before: hex16(a.check), after: hex16(b.check), expected: hex16(l4Expected(b, bSum)) });
  }
  return out ?? NO_BREAKS;
}
