// checksumBreaks (simulator/analysis/checksum.ts, `run`'s stale-checksum count and jsonl "checksum", the editor's
// stale outcome) against a plain reference written here from its contract: the first IPv4 header after Ethernet and
// up to two VLAN tags, its upper layer (TCP, UDP with a checksum, ICMP; over IPv6 past extension headers, TCP, UDP,
// ICMPv6), judged in both frames. Thousands of generated frames and the changes XDP programs make (a TTL, a port, a
// fixed checksum, an outer header prepended or stripped, a cut tail), called one after another in a fixed random
// order, so that anything one call leaves behind for the next shows. With `differ` (the caller compared the bytes
// already) the same answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksumBreaks, checksumBreaksAt, type ChecksumBreak } from '../../simulator/analysis/checksum.ts';

const hex16 = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`;
function sum(b: Uint8Array, from: number, to: number, s = 0): number {
  for (let i = from; i < to; i += 2) s += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
  return s;
}
function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

interface Ref { ip?: { check: number; valid: boolean; expected: number }; l4?: { layer: ChecksumBreak['layer']; check: number; start: number; end: number; pseudo: number } }

function refParse(f: Uint8Array): Ref | undefined {
  if (f.length < 14) return undefined;
  let off = 14;
  let type = (f[12]! << 8) | f[13]!;
  for (let t = 0; t < 2 && (type === 0x8100 || type === 0x88a8); t++) {
    if (f.length < off + 4) return undefined;
    type = (f[off + 2]! << 8) | f[off + 3]!;
    off += 4;
  }
  if (type === 0x86dd) {
    if (f.length < off + 40 || f[off]! >> 4 !== 6) return undefined;
    let nh = f[off + 6]!;
    let p = off + 40;
    const end = p + ((f[off + 4]! << 8) | f[off + 5]!);
    if (end > f.length) return {};
    for (let n = 0; n < 8 && [0, 43, 60, 51].includes(nh); n++) {
      if (p + 8 > end || (nh === 43 && f[p + 3] !== 0)) return {};
      const len = nh === 51 ? (f[p + 1]! + 2) * 4 : (f[p + 1]! + 1) * 8;
      nh = f[p]!;
      p += len;
    }
    if (p > end) return {};
    const at = { 6: 16, 17: 6, 58: 2 }[nh];
    const min = { 6: 20, 17: 8, 58: 4 }[nh];
    if (at === undefined || end < p + min!) return {};
    const layer = nh === 6 ? 'tcp' : nh === 17 ? 'udp' : 'icmpv6';
    return { l4: { layer, check: (f[p + at]! << 8) | f[p + at + 1]!, start: p, end, pseudo: sum(f, off + 8, off + 40) + nh + (end - p) } };
  }
  if (type !== 0x0800 || f.length < off + 20 || f[off]! >> 4 !== 4) return undefined;
  const ihl = (f[off]! & 15) * 4;
  if (ihl < 20 || f.length < off + ihl) return undefined;
  const check = (f[off + 10]! << 8) | f[off + 11]!;
  const s = sum(f, off, off + ihl);
  const r: Ref = { ip: { check, valid: fold(s) === 0xffff, expected: ~fold(s - check) & 0xffff } };
  const total = (f[off + 2]! << 8) | f[off + 3]!;
  const end = off + total;
  if ((((f[off + 6]! << 8) | f[off + 7]!) & 0x3fff) !== 0 || total < ihl || end > f.length) return r;
  const p = off + ihl;
  const proto = f[off + 9]!;
  const pseudo = sum(f, off + 12, off + 20) + proto + (end - p);
  if (proto === 6 && end >= p + 20) r.l4 = { layer: 'tcp', check: (f[p + 16]! << 8) | f[p + 17]!, start: p, end, pseudo };
  else if (proto === 17 && end >= p + 8 && ((f[p + 6]! << 8) | f[p + 7]!) !== 0) r.l4 = { layer: 'udp', check: (f[p + 6]! << 8) | f[p + 7]!, start: p, end, pseudo };
  else if (proto === 1 && end >= p + 4) r.l4 = { layer: 'icmp', check: (f[p + 2]! << 8) | f[p + 3]!, start: p, end, pseudo: 0 };
  return r;
}

function reference(before: Uint8Array, after: Uint8Array): ChecksumBreak[] {
  if (Buffer.compare(before, after) === 0) return [];
  const a = refParse(before);
  const b = refParse(after);
  if (!a || !b) return [];
  const out: ChecksumBreak[] = [];
  if (a.ip && b.ip && a.ip.valid && !b.ip.valid) out.push({ layer: 'ipv4', before: hex16(a.ip.check), after: hex16(b.ip.check), expected: hex16(b.ip.expected) });
  if (a.l4 && b.l4 && a.l4.layer === b.l4.layer) {
    const l4 = (f: Uint8Array, l: NonNullable<Ref['l4']>) => {
      const s = sum(f, l.start, l.end, l.pseudo);
      const e = ~fold(s - l.check) & 0xffff;
      return { valid: fold(s) === 0xffff && !(l.layer === 'udp' && l.check === 0), expected: l.layer === 'udp' && e === 0 ? 0xffff : e };
    };
    if (l4(before, a.l4).valid) {
      const x = l4(after, b.l4);
      if (!x.valid) out.push({ layer: b.l4.layer, before: hex16(a.l4.check), after: hex16(b.l4.check), expected: hex16(x.expected) });
    }
  }
  return out;
}

// A small deterministic PRNG (xorshift32).
let seed = 0x2545f491;
const rnd = (n: number): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
};
const bytes = (n: number): number[] => Array.from({ length: n }, () => rnd(256));
const put16 = (f: Uint8Array, at: number, v: number): void => {
  f[at] = (v >> 8) & 0xff;
  f[at + 1] = v & 0xff;
};

/** A frame with valid sums (mostly): Ethernet, 0-2 tags, IPv4 (options, fragments) or IPv6 (extension headers), an upper layer. */
function frame(): Uint8Array {
  const tags = rnd(4) === 0 ? 1 + rnd(2) : 0;
  const v6 = rnd(3) === 0;
  const proto = [6, 17, 1, 58, 47][rnd(5)]!;
  const l4len = proto === 6 ? 20 + 4 * rnd(3) : proto === 17 ? 8 : proto === 47 ? 4 : 8;
  const payload = bytes(rnd(6) === 0 ? 0 : rnd(80));
  const l2: number[] = [...bytes(12)];
  for (let t = 0; t < tags; t++) l2.push(t === 0 && tags === 2 ? 0x88 : 0x81, t === 0 && tags === 2 ? 0xa8 : 0x00, ...bytes(2));
  l2.push(v6 ? 0x86 : 0x08, v6 ? 0xdd : 0x00);
  const ext = v6 && rnd(3) === 0 ? [[0, 43, 60][rnd(3)]!] : [];
  const l3len = v6 ? 40 + 8 * ext.length : 20 + 4 * (rnd(4) === 0 ? 1 + rnd(3) : 0);
  const f = new Uint8Array(l2.length + l3len + l4len + payload.length + (rnd(5) === 0 ? rnd(6) : 0));
  f.set(l2, 0);
  const o = l2.length;
  const p = o + l3len;
  f.set(bytes(l4len), p);
  f.set(payload, p + l4len);
  const l4end = p + l4len + payload.length;
  if (v6) {
    f[o] = 0x60;
    put16(f, o + 4, l4end - o - 40);
    f[o + 6] = ext.length ? ext[0]! : proto;
    f[o + 7] = 64;
    f.set(bytes(32), o + 8);
    if (ext.length) {
      f[o + 40] = proto;
      f[o + 41] = 0;
      f.set(bytes(6), o + 42);
      if (ext[0] === 43) f[o + 43] = rnd(3) === 0 ? 1 : 0;
    }
  } else {
    f[o] = 0x40 | (l3len / 4);
    put16(f, o + 2, l4end - o);
    put16(f, o + 6, rnd(8) === 0 ? 0x2000 | rnd(100) : 0x4000);
    f[o + 8] = 64;
    f[o + 9] = proto === 58 ? 1 : proto;
    f.set(bytes(8), o + 12);
    for (let i = o + 20; i < p; i++) f[i] = 1;
    put16(f, o + 10, 0);
    put16(f, o + 10, ~fold(sum(f, o, p)) & 0xffff);
  }
  const nh = v6 ? proto : f[o + 9]!;
  const at = nh === 6 ? 16 : nh === 17 ? 6 : nh === 1 || nh === 58 ? 2 : -1;
  if (at >= 0) {
    if (nh === 17) put16(f, p + 4, l4end - p);
    put16(f, p + at, 0);
    const pseudo = nh === 1 ? 0 : v6 ? sum(f, o + 8, o + 40) + nh + (l4end - p) : sum(f, o + 12, o + 20) + nh + (l4end - p);
    let c = ~fold(sum(f, p, l4end, pseudo)) & 0xffff;
    if (nh === 17 && (c === 0 || rnd(6) === 0)) c = c === 0 ? 0xffff : 0; // UDP: 0 is written 0xffff, or no checksum at all
    put16(f, p + at, c);
  }
  if (rnd(10) === 0) f[f.length - 1 - rnd(Math.min(f.length, 40))]! ^= 1 + rnd(255); // arrived broken
  return f;
}

/** What a program might make of it. */
function change(f: Uint8Array): Uint8Array {
  const g = f.slice();
  const o = 14 + (g[12] === 0x81 || g[12] === 0x88 ? (g[16] === 0x81 ? 8 : 4) : 0);
  switch (rnd(9)) {
    case 0: if (g.length > o + 8) g[o + 8]! -= 1; break; // TTL / hop limit, sum left stale
    case 1: { const at = o + 20 + rnd(Math.max(1, g.length - o - 20)); if (at < g.length) g[at]! ^= 1 + rnd(255); break; } // a byte past the IP header
    case 2: { // an outer IPv4 header prepended (valid sum), the inner frame kept
      const h = new Uint8Array(20);
      h[0] = 0x45;
      put16(h, 2, g.length - 14 + 20);
      h[8] = 64;
      h[9] = 4;
      h.set(bytes(8), 12);
      put16(h, 10, ~fold(sum(h, 0, 20)) & 0xffff);
      const e = new Uint8Array(g.length + 20);
      e.set(g.subarray(0, 12), 0);
      e[12] = 0x08;
      e[13] = 0x00;
      e.set(h, 14);
      e.set(g.subarray(14), 34);
      return e;
    }
    case 3: return g.length > 34 ? Uint8Array.from([...g.subarray(0, 14), ...g.subarray(34)]) : g; // 20 bytes stripped after Ethernet
    case 4: return g.subarray(0, Math.max(0, g.length - 1 - rnd(30))).slice(); // the tail cut
    case 5: g[rnd(12)]! ^= 0xff; break; // a MAC address only
    case 6: if (g.length > o + 11) { g[o + 8]! -= 1; g[o + 10]! += 1; } break; // TTL and a (wrong or right) sum fix
    case 7: break; // unchanged, as a copy
    default: { const at = rnd(g.length); g[at]! ^= 1 + rnd(255); g[(at + 7) % g.length]! ^= 1 + rnd(255); }
  }
  return g;
}

test('checksumBreaks agrees with the reference on 20,000 generated frames and changes, with and without `differ`, as views and at offsets', () => {
  let breaks = 0;
  const kinds = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const before = frame();
    const after = rnd(12) === 0 ? before : change(before);
    const want = reference(before, after);
    assert.deepEqual(checksumBreaks(before, after), want, `frame ${i}`);
    if (Buffer.compare(before, after) !== 0) assert.deepEqual(checksumBreaks(before, after, true), want, `frame ${i} (differ)`);
    // Views at an offset into a larger buffer, as `run` hands them.
    const buf = new Uint8Array(before.length + after.length + 9);
    buf.set(before, 3);
    buf.set(after, before.length + 9);
    assert.deepEqual(checksumBreaks(buf.subarray(3, 3 + before.length), buf.subarray(before.length + 9)), want, `frame ${i} (views)`);
    // Where they are, without views (the frames found different first, as `run` does).
    if (Buffer.compare(before, after) !== 0) assert.deepEqual(checksumBreaksAt(buf, 3, 3 + before.length, buf, before.length + 9, buf.length), want, `frame ${i} (offsets)`);
    breaks += want.length;
    for (const b of want) kinds.add(b.layer);
  }
  // The corpus does exercise every layer's break, not only quiet frames.
  assert.deepEqual([...kinds].sort(), ['icmp', 'icmpv6', 'ipv4', 'tcp', 'udp']);
  assert.ok(breaks > 2000, `${breaks} breaks`);
});
