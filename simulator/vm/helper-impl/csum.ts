// bpf_csum_diff (net/core/filter.c) as 6.18 computes it: ones'-complement sums of 16-bit little-endian words (an odd
// last byte counts as the low byte), the "from" bytes subtracted, the "to" bytes and the seed added, and the 32-bit
// result folded to 16 bits without complementing (csum_from32to16). Sizes need not be multiples of 4.

/** 32-bit add with end-around carry (csum_add). */
function add32(a: number, b: number): number {
  const s = (a >>> 0) + (b >>> 0);
  return (s >>> 0) + (s > 0xffffffff ? 1 : 0) >>> 0;
}

/** csum_partial: the 32-bit ones'-complement accumulation of `bytes` onto `seed`. */
export function csumPartial(bytes: Uint8Array, seed: number): number {
  return csumPartialAt(bytes, 0, bytes.length, seed);
}

/** csumPartial of `len` bytes of `bytes` at `off`. */
export function csumPartialAt(bytes: Uint8Array, off: number, len: number, seed: number): number {
  let sum = seed >>> 0;
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) sum = add32(sum, bytes[i] | (bytes[i + 1] << 8));
  if (i < end) sum = add32(sum, bytes[i]);
  return sum;
}

/** csum_from32to16: fold with end-around carry, no complement. */
export function fold16(sum: number): number {
  let s = (sum & 0xffff) + (sum >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s & 0xffff;
}

export function csumDiff(from: Uint8Array, to: Uint8Array, seed: number): number {
  return csumDiffAt(from, 0, from.length, to, 0, to.length, seed);
}

/** csumDiff of `fromLen` bytes of `fb` at `fo` and `toLen` bytes of `tb` at `to`. */
export function csumDiffAt(fb: Uint8Array, fo: number, fromLen: number, tb: Uint8Array, to: number, toLen: number, seed: number): number {
  let ret: number;
  if (fromLen && toLen) ret = add32(csumPartialAt(tb, to, toLen, seed), ~csumPartialAt(fb, fo, fromLen, 0) >>> 0);
  else if (toLen) ret = csumPartialAt(tb, to, toLen, seed);
  else if (fromLen) ret = ~csumPartialAt(fb, fo, fromLen, ~seed >>> 0) >>> 0;
  else ret = seed >>> 0;
  return fold16(ret);
}
