// bpf_csum_diff (net/core/filter.c) as 6.18 computes it on x86-64: csum_partial sums the bytes as little-endian 64-bit
// words (a last partial word zero-padded) with end-around carry and folds the sum to 32 bits; the "from" bytes
// subtracted, the "to" bytes and the seed added, and the 32-bit result folded to 16 bits without complementing
// (csum_from32to16). Sizes need not be multiples of 4. Summing 32-bit words with end-around carry gives the same 32-bit
// value (0 only when the seed and every byte are 0, else the value in [1, 0xffffffff] of the same residue); 16-bit words
// would not: the residue of a 32-bit sum is kept mod 0xffffffff, and the answer can differ in 0 against 0xffff (afuzz
// seed 546300083: from = ff ff ff 7f with seed 0x7fffffff is 0 in the kernel).

/** 32-bit add with end-around carry (csum_add). */
function add32(a: number, b: number): number {
  const s = (a >>> 0) + (b >>> 0);
  return (s >>> 0) + (s > 0xffffffff ? 1 : 0) >>> 0;
}

/** csum_partial: the 32-bit ones'-complement accumulation of `bytes` onto `seed` (little-endian 32-bit words). */
export function csumPartial(bytes: Uint8Array, seed: number): number {
  return csumPartialAt(bytes, 0, bytes.length, seed);
}

/** csumPartial of `len` bytes of `bytes` at `off`. */
export function csumPartialAt(bytes: Uint8Array, off: number, len: number, seed: number): number {
  let sum = seed >>> 0;
  const end = off + len;
  let i = off;
  for (; i + 3 < end; i += 4) sum = add32(sum, (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) >>> 0);
  let tail = 0;
  for (let k = 0; i < end; i++, k += 8) tail |= bytes[i] << k;
  if (tail) sum = add32(sum, tail >>> 0);
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
