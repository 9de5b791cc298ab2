// SYN cookies as bpf_tcp_raw_gen_syncookie_ipv4/ipv6 and bpf_tcp_raw_check_syncookie_ipv4/ipv6 compute them
// (net/core/filter.c on net/ipv4/syncookies.c and net/ipv6/syncookies.c):
//
//   cookie = H0(addrs, ports) + seq + (minute << 24) + ((H1(addrs, ports, minute) + mss_index) & 0xffffff)
//
// where H0/H1 are SipHash-2-4 under two boot-time random keys (one pair for IPv4, one for IPv6), `minute` is the
// jiffies minute counter (tcp_cookie_time), and mss_index is the position in the family's MSS table of the largest
// entry not above the SYN's MSS option (536 when the SYN has none for IPv4, 1220 for IPv6). The check strips H0 and
// seq (the ACK's seq - 1), accepts a minute counter at most one behind the current one, and recovers the MSS index.
//
// The keys cannot be the kernel's: here they are drawn from the run's random stream on first use, so a cookie's bytes
// change with the random stream and `compare` reports them as random-dependent, while the MSS (the upper 32 bits of
// the gen result) and the check's verdict on cookies of this run are compared as they are.

const MASK64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & MASK64;

/** SipHash-2-4 of `data` under the 128-bit key (k0, k1), as lib/siphash.c (little-endian words). */
export function siphash(data: Uint8Array, k0: bigint, k1: bigint): bigint {
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = (): void => {
    v0 = (v0 + v1) & MASK64; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK64; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & MASK64; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & MASK64; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const word = (off: number, n: number): bigint => {
    let w = 0n;
    for (let i = n - 1; i >= 0; i--) w = (w << 8n) | BigInt(data[off + i]);
    return w;
  };
  const full = data.length - (data.length % 8);
  for (let off = 0; off < full; off += 8) {
    const m = word(off, 8);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  const b = (BigInt(data.length & 0xff) << 56n) | word(full, data.length - full);
  v3 ^= b;
  round();
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  round();
  return (v0 ^ v1 ^ v2 ^ v3) & MASK64;
}

/** The MSS values a cookie can encode (msstab in net/ipv4/syncookies.c and net/ipv6/syncookies.c). */
export const MSS_TABLE_V4 = [536, 1300, 1440, 1460] as const;
export const MSS_TABLE_V6 = [1220, 1420, 1440, 8940] as const;
/** The MSS assumed when the SYN carries no MSS option: TCP_MSS_DEFAULT, and IPV6_MIN_MTU - 60 for IPv6. */
export const DEFAULT_MSS_V4 = 536;
export const DEFAULT_MSS_V6 = 1220;
const COOKIEBITS = 24;
const COOKIEMASK = (1 << COOKIEBITS) - 1;
const MAX_SYNCOOKIE_AGE = 2;

/** Two SipHash keys (one per hash) for each family. */
export interface CookieSecrets {
  v4: [bigint, bigint][];
  v6: [bigint, bigint][];
}

/** Keys from a u32 source (drawn once per run). */
export function drawSecrets(next: () => number): CookieSecrets {
  const u64 = (): bigint => (BigInt(next() >>> 0) << 32n) | BigInt(next() >>> 0);
  const pair = (): [bigint, bigint] => [u64(), u64()];
  return { v4: [pair(), pair()], v6: [pair(), pair()] };
}

const le32 = (b: Uint8Array, off: number): number => (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
const be32 = (b: Uint8Array, off: number): number => ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
const le16 = (b: Uint8Array, off: number): number => b[off] | (b[off + 1] << 8);

/** cookie_hash: the low 32 bits of the SipHash of the connection and the minute counter under key `c`. */
function cookieHash(v6: boolean, ip: Uint8Array, th: Uint8Array, count: number, c: number, s: CookieSecrets): number {
  let data: Uint8Array;
  if (!v6) {
    // siphash_4u32(saddr, daddr, sport << 16 | dport, count): the four words as they sit in memory (little-endian).
    data = new Uint8Array(16);
    const dv = new DataView(data.buffer);
    dv.setUint32(0, le32(ip, 12), true);
    dv.setUint32(4, le32(ip, 16), true);
    dv.setUint32(8, ((le16(th, 0) << 16) | le16(th, 2)) >>> 0, true);
    dv.setUint32(12, count >>> 0, true);
  } else {
    // struct { saddr; daddr; u32 count; __be16 sport; __be16 dport; } up to dport: 40 bytes.
    data = new Uint8Array(40);
    data.set(ip.subarray(8, 40), 0);
    new DataView(data.buffer).setUint32(32, count >>> 0, true);
    data.set(th.subarray(0, 4), 36);
  }
  const [k0, k1] = (v6 ? s.v6 : s.v4)[c];
  return Number(siphash(data, k0, k1) & 0xffffffffn);
}

/** tcp_parse_mss_option with no user MSS: the SYN's MSS option, or 0. */
export function parseMssOption(th: Uint8Array): number {
  const doff = th[12] >> 4;
  let length = doff * 4 - 20;
  let p = 20;
  let mss = 0;
  while (length > 0) {
    const opcode = th[p++];
    if (opcode === 0) return mss;
    if (opcode === 1) {
      length--;
      continue;
    }
    if (length < 2) return mss;
    const opsize = th[p++];
    if (opsize < 2 || opsize > length) return mss;
    if (opcode === 2 && opsize === 4) {
      const inMss = (th[p] << 8) | th[p + 1];
      if (inMss) mss = inMss;
    }
    p += opsize - 2;
    length -= opsize;
  }
  return mss;
}

/**
 * bpf_tcp_raw_gen_syncookie_ipv4/ipv6: `th` is th_len bytes of TCP header. Returns the cookie | mss << 32, or
 * undefined for -EINVAL (th_len below 20 or not doff * 4).
 */
export function genSyncookie(v6: boolean, ip: Uint8Array, th: Uint8Array, minute: number, s: CookieSecrets): bigint | undefined {
  if (th.length < 20 || th.length !== (th[12] >> 4) * 4) return undefined;
  const table = v6 ? MSS_TABLE_V6 : MSS_TABLE_V4;
  const mssIn = parseMssOption(th) || (v6 ? DEFAULT_MSS_V6 : DEFAULT_MSS_V4);
  let ind = table.length - 1;
  for (; ind > 0; ind--) if (mssIn >= table[ind]) break;
  const count = minute >>> 0;
  const cookie = (cookieHash(v6, ip, th, 0, 0, s) + be32(th, 4) + ((count << COOKIEBITS) >>> 0) +
    ((cookieHash(v6, ip, th, count, 1, s) + ind) & COOKIEMASK)) >>> 0;
  return BigInt(cookie) | (BigInt(table[ind]) << 32n);
}

/** bpf_tcp_raw_check_syncookie_ipv4/ipv6 (th: the 20-byte TCP header of the ACK): true when the cookie is valid. */
export function checkSyncookie(v6: boolean, ip: Uint8Array, th: Uint8Array, minute: number, s: CookieSecrets): boolean {
  const table = v6 ? MSS_TABLE_V6 : MSS_TABLE_V4;
  const cookie = (be32(th, 8) - 1) >>> 0;
  const seq = (be32(th, 4) - 1) >>> 0;
  const count = minute >>> 0;
  const stripped = (cookie - cookieHash(v6, ip, th, 0, 0, s) - seq) >>> 0;
  const diff = ((count - (stripped >>> COOKIEBITS)) >>> 0) & (0xffffffff >>> COOKIEBITS);
  if (diff >= MAX_SYNCOOKIE_AGE) return false;
  const ind = ((stripped - cookieHash(v6, ip, th, (count - diff) >>> 0, 1, s)) >>> 0) & COOKIEMASK;
  return ind < table.length && table[ind] > 0;
}
