// Small helpers of the base and XDP sets: bpf_strncmp (kernel/bpf/helpers.c over lib/string.c strncmp) and
// bpf_xdp_check_mtu (net/core/filter.c).

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
