// What the modelled driver's RX descriptor says about a frame, for the RX metadata kfuncs
// (bpf_xdp_metadata_rx_timestamp / _rx_hash / _rx_vlan_tag; net/core/xdp.c and the driver's xdp_metadata_ops).
//
// mlx5 (mlx5e_xdp_metadata_ops) implements all three: the hardware timestamp (modelled as the capture timestamp, the
// NIC clock being what a capture records; hardware timestamping taken as enabled, as xdp_hw_metadata enables it),
// the RSS hash of the CQE (the same Toeplitz hash of the flow --queues uses) with its enum xdp_rss_hash_type, and the
// VLAN tag the NIC stripped (-ENODATA when it stripped none: with --vlan-strip off, the default, the tag stays in the
// frame as BPF_PROG_TEST_RUN leaves it). i40e has no xdp_metadata_ops in 6.18: every one is -EOPNOTSUPP.
import type { RxMetadata } from '../vm/types.ts';
import type { DriverProfile } from './profiles.ts';
import { flowOf } from '../net/dissect.ts';
import { rssHash } from './rss.ts';

const ENODATA = 61;
const EOPNOTSUPP = 95;

// enum xdp_rss_hash_type (include/net/xdp.h)
const L3_IPV4 = 1, L3_IPV6 = 2, L4 = 8, L4_TCP = 16, L4_UDP = 32;

/** The hash type a NIC reports with the hash: L4 for TCP/UDP with ports, else L3, none for non-IP frames. */
export function rssHashType(frame: Uint8Array): number {
  const flow = flowOf(frame);
  if (!flow) return 0;
  const l3 = flow.v6 ? L3_IPV6 : L3_IPV4;
  if (flow.sport === undefined) return l3;
  if (flow.proto === 6) return l3 | L4 | L4_TCP;
  if (flow.proto === 17) return l3 | L4 | L4_UDP;
  return l3;
}

/** Remove an 802.1Q tag right after the MAC addresses, as a NIC with RX VLAN offload does. */
export function stripVlan(frame: Uint8Array): { frame: Uint8Array; vlan?: { proto: number; tci: number } } {
  if (frame.length < 18 || frame[12] !== 0x81 || frame[13] !== 0x00) return { frame };
  const out = new Uint8Array(frame.length - 4);
  out.set(frame.subarray(0, 12), 0);
  out.set(frame.subarray(16), 12);
  return { frame: out, vlan: { proto: 0x8100, tci: (frame[14] << 8) | frame[15] } };
}

export function rxMetadata(
  frame: Uint8Array, tsNs: bigint | undefined, profile: Pick<DriverProfile, 'rxMetadata'>, vlan?: { proto: number; tci: number },
): RxMetadata {
  return new RxDescriptor(frame, tsNs, profile.rxMetadata, vlan);
}

const NO = { errno: EOPNOTSUPP };
const NO_DATA = { errno: ENODATA };

/**
 * What the descriptor reports. The hash is computed when a program first asks for it (most never call the kfunc):
 * `frame` is the received frame, which the program cannot change, so the value is the same whenever it is read.
 */
export class RxDescriptor implements RxMetadata {
  private hashValue: RxMetadata['hash'] | undefined;

  constructor(
    private frame: Uint8Array,
    private tsNs: bigint | undefined,
    private readonly m: DriverProfile['rxMetadata'],
    private tag: { proto: number; tci: number } | undefined,
  ) {}

  /** The descriptor of the next frame (the driver's one descriptor, refilled: no object per packet). */
  reset(frame: Uint8Array, tsNs: bigint | undefined, tag: { proto: number; tci: number } | undefined): this {
    this.frame = frame;
    this.tsNs = tsNs;
    this.tsSec = -1;
    this.tag = tag;
    this.hashValue = undefined;
    return this;
  }

  /** reset with the timestamp as whole seconds and nanoseconds (tsNs = sec * 10^9 + nanos, made when read). */
  resetAt(frame: Uint8Array, sec: number, nanos: number, tag: { proto: number; tci: number } | undefined): this {
    this.frame = frame;
    this.tsNs = undefined;
    this.tsSec = sec;
    this.tsNanos = nanos;
    this.tag = tag;
    this.hashValue = undefined;
    return this;
  }

  /** The numeric timestamp of resetAt, -1 when there is none. */
  private tsSec = -1;
  private tsNanos = 0;

  get timestamp(): RxMetadata['timestamp'] {
    if (this.tsSec >= 0 && this.tsNs === undefined) this.tsNs = BigInt(this.tsSec) * 1_000_000_000n + BigInt(this.tsNanos);
    return !this.m.timestamp ? NO : this.tsNs === undefined ? NO_DATA : { value: this.tsNs };
  }

  get hash(): RxMetadata['hash'] {
    return (this.hashValue ??= !this.m.hash ? NO : { value: { hash: rssHash(this.frame) >>> 0, type: rssHashType(this.frame) } });
  }

  get vlan(): RxMetadata['vlan'] {
    return !this.m.vlanTag ? NO : this.tag ? { value: this.tag } : NO_DATA;
  }
}
