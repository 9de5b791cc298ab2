// The contract between the VM and whoever runs it (the CLI today, the driver model and the language server later).
import type { SourceLoc } from '../isa/insn.ts';

/** What a fault is. Each kind names a class of error a user can act on. */
export type FaultKind =
  | 'out-of-bounds'        // a load or store outside every region the program may touch
  | 'null-dereference'     // an access through a pointer that is 0 (e.g. an unchecked map lookup)
  | 'ctx-write'            // a store into struct xdp_md
  | 'readonly-write'       // a store into .rodata or a BPF_F_RDONLY_PROG map value (devmap values included)
  | 'readonly-page-write'  // a store into packet memory when the driver hands out read-only pages
  | 'bad-ctx-access'       // a ctx load of the wrong size/offset
  | 'budget-exhausted'     // the per-packet instruction budget ran out (a loop that does not end)
  | 'unsupported-helper'   // helper N (name) not supported
  | 'unsupported'          // an instruction or feature we do not model (named in the message)
  | 'invalid-insn'         // an instruction that does not decode or validate
  | 'call-depth'           // more than 8 nested bpf-to-bpf frames
  | 'uninit-register'      // a register read before anything wrote it on this path (the verifier's R%d !read_ok)
  | 'core-relocation'      // an instruction libbpf poisoned (a CO-RE relocation with no match) was reached (refused)
  | 'helper-misuse';       // a helper argument the verifier would have rejected (bad pointer, bad size)

export interface Fault {
  kind: FaultKind;
  message: string;
  /** Slot index in the program where it happened. */
  insn: number;
  /** Name of the program (entry function) that was running: differs from the entry after a tail call. */
  program: string;
  loc?: SourceLoc;
}

/**
 * The xdp_buff the program runs on. `frame` is the whole receive buffer (frame_sz bytes) starting at data_hard_start;
 * the offsets are relative to it. The last 320 bytes of the frame are skb_shared_info (tailroom the program cannot use).
 */
export interface XdpBuff {
  frame: Uint8Array;
  data: number;
  dataEnd: number;
  /** data_meta offset; equal to `data` when metadata is supported and empty; `data + 1` when unsupported. */
  dataMeta: number;
  /** Fragments (multi-buffer) after the linear part, each with its own bytes. */
  frags: Uint8Array[];
  /** Size of each fragment buffer (rxq->frag_size), for adjust_tail growth of the last fragment; 0 = cannot grow. */
  fragSize: number;
  ingressIfindex: number;
  rxQueueIndex: number;
  /** Packet memory is read-only (driver mode readonly-page): stores fault with kind readonly-page-write. */
  readonlyPage?: boolean;
  /** xdp_md.egress_ifindex for devmap programs (SEC("xdp/devmap")); 0 when absent. */
  egressIfindex?: number;
  /** What the driver's RX descriptor says about the frame (the RX metadata kfuncs); absent: -EOPNOTSUPP for each. */
  rxMeta?: RxMetadata;
}

/** A value the driver reports, or the errno it returns instead (-EOPNOTSUPP: not implemented, -ENODATA: none). */
export type RxValue<T> = { value: T } | { errno: number };

/** RX metadata of one received frame, per kfunc (net/core/xdp.c bpf_xdp_metadata_rx_*). */
export interface RxMetadata {
  /** Hardware receive timestamp, ns. */
  timestamp: RxValue<bigint>;
  /** RSS hash and its enum xdp_rss_hash_type. */
  hash: RxValue<{ hash: number; type: number }>;
  /** A stripped VLAN tag: protocol (host order, e.g. 0x8100) and TCI. */
  vlan: RxValue<{ proto: number; tci: number }>;
}

export interface RedirectTarget {
  /** 'ifindex' from bpf_redirect; a map target from bpf_redirect_map. */
  kind: 'ifindex' | 'map';
  ifindex?: number;
  /** Map name and key for bpf_redirect_map. */
  map?: string;
  mapType?: number;
  key?: number;
  flags: number;
}

export interface PerfRecord {
  helper: 'perf_event_output' | 'ringbuf_output' | 'xdp_output';
  map: string;
  /** Hex of the record bytes. */
  data: string;
}

export interface RunResult {
  /** Raw r0 as an unsigned 32-bit number (bpf_prog_run_xdp returns u32). */
  retval: number;
  /** Slot index of the `exit` that ended the program (in the program that ran last), -1 after a fault. */
  exitInsn: number;
  /** Name of the program whose exit ended the run (differs from the entry after tail calls). */
  exitProgram: string;
  exitLoc?: SourceLoc;
  fault?: Fault;
  /** Instructions executed, across tail calls. */
  steps: number;
  /** Number of tail calls taken. */
  tailCalls: number;
  /** The target recorded by the last bpf_redirect*, if any (consumed by the driver on XDP_REDIRECT). */
  redirect?: RedirectTarget;
  /**
   * The last bpf_redirect_map call returned its fallback action (the flags' low two bits) instead of XDP_REDIRECT,
   * because the key has no entry ('key absent') or the map has none at all ('map empty').
   */
  redirectFallback?: { map: string; key: number; action: number; reason: 'key absent' | 'map empty' };
  /** bpf_trace_printk / bpf_printk output lines, formatted as the kernel formats them. */
  printk: string[];
  perf: PerfRecord[];
  /** The first read of stack bytes that were never written: an undefined value in the kernel (see UninitStackRead). */
  uninitStackRead?: UninitStackRead;
}

/**
 * A read of stack bytes never written since their frame was entered (or of a frame whose function had returned). The
 * kernel refuses such a program for unprivileged loaders; as root (allow_uninit_stack) it loads it and the read gets
 * whatever the stack held, so the value is undefined. The simulator reads zeros (stale bytes for a returned frame).
 */
export interface UninitStackRead {
  insn: number;
  program: string;
  loc?: SourceLoc;
  /** 1-based call frame; true when its function had already returned. */
  frame: number;
  returned: boolean;
  /** Offset from that frame's r10 and the size of the read. */
  offset: number;
  size: number;
  /** 'load' or the helper argument that read the bytes. */
  what: string;
  message: string;
}

/** One entry of a simulated routing table for bpf_fib_lookup. */
export interface FibRoute {
  /** 'inet' or 'inet6'. */
  family: 'inet' | 'inet6';
  /** Destination prefix, e.g. "10.0.0.0/8" or "2001:db8::/32". */
  prefix: string;
  ifindex: number;
  /** Next hop (optional: directly connected when absent). */
  gateway?: string;
  /** Source MAC of the egress device and destination MAC of the neighbour ("aa:bb:cc:dd:ee:ff"). */
  smac?: string;
  dmac?: string;
  mtu?: number;
  /** 'unicast' (default), 'blackhole', 'unreachable', 'prohibit'. */
  type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';
}

/** The world outside the program: clock, randomness, CPU, routes. Owned by the caller and kept across packets. */
export interface Environment {
  /** bpf_ktime_get_ns: nanoseconds, monotonic; the CLI follows capture timestamps. */
  nowNs(): bigint;
  /** bpf_get_prandom_u32 (seedable). */
  prandom(): number;
  /** bpf_get_smp_processor_id, and the per-CPU map slot used. */
  cpu: number;
  /** Number of simulated CPUs (per-CPU maps hold this many values). */
  nrCpus: number;
  routes: FibRoute[];
  /** The connection table the conntrack kfuncs use (bpf_xdp_ct_lookup & co); absent: an empty one per run. */
  conntrack?: import('./conntrack.ts').ConntrackTable;
  /**
   * PERF_EVENT_ARRAYs (by name) whose slot `cpu` holds an open perf event, a reader's opened for that CPU (`compare`
   * opens one to read the records); absent, or another map: no slot holds one, as in a test run's maps.
   */
  perfReaders?: { cpu: number; maps: ReadonlySet<string> };
}
