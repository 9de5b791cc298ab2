// Small helpers of the base and XDP sets: bpf_strncmp (kernel/bpf/helpers.c over lib/string.c strncmp),
// bpf_strtol / bpf_strtoul (kernel/bpf/helpers.c over lib/kstrtox.c) and bpf_xdp_check_mtu (net/core/filter.c).

/** strncmp as the kernel's generic lib/string.c computes it: -1, 0 or 1 (never the byte difference). `s2At(i)` reads
 * byte i of the second string (a constant string the verifier checked is NUL-terminated). */
export function strncmp(s1: Uint8Array, s2At: (i: number) => number): number {
  for (let i = 0; i < s1.length; i++) {
    const c1 = s1[i]!;
    const c2 = s2At(i);
    if (c1 !== c2) return c1 < c2 ? -1 : 1;
    if (c1 === 0) break;
  }
  return 0;
}

const EINVAL = 22;
const ERANGE = 34;
const U64_MAX = (1n << 64n) - 1n;

/** isspace of the kernel's ctype table: \t \n \v \f \r, space, and 0xa0 (Latin-1 no-break space). */
const kernelSpace = (c: number): boolean => (c >= 9 && c <= 13) || c === 32 || c === 0xa0;
const hexDigit = (c: number): boolean => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);

/**
 * bpf_strtol / bpf_strtoul on `buf` (the buf_len readable bytes): the number of bytes consumed (leading white space and
 * a '-' included) and the value, or a negative errno (then the value is 0: the helpers zero *res first). flags is the
 * base (0: by prefix, 8, 10 or 16) and nothing else. At most 63 bytes after the sign are parsed (the kernel copies
 * them into a 64-byte buffer); digits go on past an overflow, which makes it -ERANGE. strtol also refuses a value out
 * of the signed range, strtoul a negative one (-EINVAL).
 */
export function strtox(buf: Uint8Array, flags: bigint, signed: boolean): { ret: number; value: bigint } {
  const fail = (e: number) => ({ ret: -e, value: 0n });
  let base = Number(flags & 0x1fn);
  if (base !== 0 && base !== 8 && base !== 10 && base !== 16) return fail(EINVAL);
  if (flags & ~0x1fn) return fail(EINVAL);
  let i = 0;
  while (i < buf.length && kernelSpace(buf[i]!)) i++;
  const negative = i < buf.length && buf[i] === 0x2d;
  if (negative) i++;
  if (i === buf.length) return fail(EINVAL);
  const str = buf.subarray(i, i + Math.min(buf.length - i, 63));
  const at = (k: number) => (k < str.length ? str[k]! : 0);
  let k = 0;
  if (base === 0) base = at(0) === 0x30 ? ((at(1) | 0x20) === 0x78 && hexDigit(at(2)) ? 16 : 8) : 10;
  if (base === 16 && at(0) === 0x30 && (at(1) | 0x20) === 0x78) k = 2;
  const start = k;
  let res = 0n;
  let overflow = false;
  for (; ; k++) {
    const c = at(k);
    const lc = c | 0x20;
    const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : lc >= 0x61 && lc <= 0x66 ? lc - 0x61 + 10 : 99;
    if (v >= base) break;
    if (res >> 60n && res > (U64_MAX - BigInt(v)) / BigInt(base)) overflow = true;
    res = (res * BigInt(base) + BigInt(v)) & U64_MAX;
  }
  if (overflow) return fail(ERANGE);
  if (k === start) return fail(EINVAL);
  const consumed = i + k;
  if (!signed) return negative ? fail(EINVAL) : { ret: consumed, value: res };
  if (negative) {
    const v = BigInt.asIntN(64, -res);
    return v > 0n ? fail(ERANGE) : { ret: consumed, value: BigInt.asUintN(64, v) };
  }
  return BigInt.asIntN(64, res) < 0n ? fail(ERANGE) : { ret: consumed, value: res };
}

/** A network device as bpf_check_mtu sees it. */
export interface MtuDevice {
  mtu: number;
  hardHeaderLen: number;
}

/** The devices of the kernel side of a test run: a network namespace of its own, holding only lo (ifindex 1, MTU
 * 65536, hard_header_len ETH_HLEN), on which BPF_PROG_TEST_RUN receives the frame. */
export function mtuDevice(ifindex: number, ingressIfindex: number): MtuDevice | undefined {
  const index = ifindex === 0 ? ingressIfindex : ifindex;
  return index === 1 ? { mtu: 65536, hardHeaderLen: 14 } : undefined;
}

export const BPF_MTU_CHK_RET_SUCCESS = 0;
export const BPF_MTU_CHK_RET_FRAG_NEEDED = 1;

/** bpf_xdp_check_mtu's decision: the length checked is *mtu_len plus the device's header when *mtu_len is set, else
 * the linear part's length; len_diff is added; more than MTU + header needs fragmentation. 32-bit signed arithmetic,
 * as the kernel's ints. */
export function checkMtu(dev: MtuDevice, linearLen: number, mtuLenIn: number, lenDiff: number): number {
  let len = mtuLenIn !== 0 ? (mtuLenIn + dev.hardHeaderLen) | 0 : linearLen | 0;
  len = (len + lenDiff) | 0;
  return len > ((dev.mtu + dev.hardHeaderLen) | 0) ? BPF_MTU_CHK_RET_FRAG_NEEDED : BPF_MTU_CHK_RET_SUCCESS;
}
