// Receive-buffer geometry of real drivers (reference D.2) and the driver modes a user can choose.
//
// A profile fixes where DMA puts the frame (headroom), how large one receive buffer is (frame_sz), and the limits
// that follow for the program: the linear part is at most frame_sz - headroom - 320 bytes (skb_shared_info lives in
// the last 320 bytes), bpf_xdp_adjust_head can grow the front only down to hard_start + 40 (struct xdp_frame), and
// bpf_xdp_adjust_tail can grow the end only up to the start of skb_shared_info.

export interface DriverProfile {
  name: string;
  description: string;
  /** XDP headroom the driver reserves in front of the frame (XDP_PACKET_HEADROOM is 256). */
  headroom: number;
  /** Size of one receive buffer (xdp_buff.frame_sz). */
  frameSize: number;
  /**
   * Bytes one further receive buffer holds when a frame spans several (multi-buffer): every RX descriptor has the
   * same layout, so a fragment holds what the driver programmed as the buffer length (rxq->frag_size).
   */
  fragSize: number;
  /** Bytes napi_alloc_skb copies into a fresh linear area in the read-only-page path (I40E_RX_HDR_SIZE = 256). */
  copyBreak: number;
  /** XDP TX ring descriptors. A full ring drops the frame (counted as tx_xdp_full). */
  txRingSize: number;
  /** RX descriptors, and so the page_pool's ring. */
  rxRingSize: number;
  /** Packets per NAPI poll: TX doorbell and redirect flush happen once per poll. */
  napiBudget: number;
  /**
   * The RX metadata kfuncs the driver implements (its xdp_metadata_ops in 6.18); the others return -EOPNOTSUPP.
   * See driver/rx-meta.ts for what each returns.
   */
  rxMetadata: { timestamp: boolean; hash: boolean; vlanTag: boolean };
}

export const SKB_SHARED_INFO_SIZE = 320;
/** struct xdp_frame, written into the headroom when a frame is transmitted or redirected. */
export const XDP_FRAME_SIZE = 40;
export const PAGE_SIZE = 4096;

export const PROFILES: Record<string, DriverProfile> = {
  mlx5: {
    name: 'mlx5',
    description: 'page_pool fragments of 4096 bytes with 256 bytes of headroom (mlx5, virtio_net, veth; also what BPF_PROG_TEST_RUN uses)',
    headroom: 256,
    frameSize: 4096,
    fragSize: 4096, // mlx5 non-linear RQ with XDP: PAGE_SIZE fragments
    copyBreak: 256,
    txRingSize: 1024,
    rxRingSize: 1024,
    napiBudget: 64,
    rxMetadata: { timestamp: true, hash: true, vlanTag: true }, // mlx5e_xdp_metadata_ops
  },
  i40e: {
    name: 'i40e',
    description: 'half-page 2048-byte buffers with 192 bytes of headroom (Intel i40e/ixgbe in build_skb mode)',
    headroom: 192,
    frameSize: 2048,
    fragSize: 1536, // i40e rx_buf_len (I40E_RXBUFFER_1536), registered as the rxq frag_size
    copyBreak: 256,
    txRingSize: 512,
    rxRingSize: 512,
    napiBudget: 64,
    rxMetadata: { timestamp: false, hash: false, vlanTag: false }, // no xdp_metadata_ops in 6.18 (hash/vlan posted 2026)
  },
};

export const DEFAULT_PROFILE = 'mlx5';

/** The most RX queues a run models (`run --queues`, the editor's setting): each has its page pool and its CPU. */
export const MAX_QUEUES = 4096;

export type DriverMode = 'native' | 'readonly-page' | 'generic';
export const DRIVER_MODES: DriverMode[] = ['native', 'readonly-page', 'generic'];

/** Plain words for a newcomer; the table output and the README use these. */
export const MODE_EXPLANATIONS: Record<DriverMode, string> = {
  native:
    'native: the driver gives the program a writable page. XDP_PASS wraps an skb around that same page (build_skb, ' +
    'no copy), so rewrites, XDP_TX and XDP_REDIRECT work at page level.',
  'readonly-page':
    'readonly-page: the driver treats the page as read-only. XDP_PASS allocates a new skb and copies the ' +
    'headers into it (napi_alloc_skb + copy), the rest stays a read-only fragment; any write by the program into ' +
    'packet memory is a fault on its source line.',
  generic:
    'generic: skb-mode XDP. The driver has already built an skb; the program runs on it later in the stack, after ' +
    'linearising it if needed; XDP_TX goes out through the normal transmit path, and nothing is recycled to a page pool.',
};
