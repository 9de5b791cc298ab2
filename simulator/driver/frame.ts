// Laying a received frame out as an xdp_buff (include/net/xdp.h xdp_init_buff + xdp_prepare_buff), shared by the
// driver model and by the BPF_PROG_TEST_RUN-shaped session.
import type { XdpBuff } from '../vm/types.ts';
import { PAGE_SIZE, SKB_SHARED_INFO_SIZE } from './profiles.ts';

export interface FrameGeometry {
  headroom: number;
  frameSize: number;
  /** Size of each fragment buffer; fragments are filled up to this size. */
  fragSize: number;
  ingressIfindex: number;
  rxQueueIndex: number;
  readonlyPage?: boolean;
}

/** Bytes the linear part can hold: the frame less headroom and the skb_shared_info reserve at its end. */
export function linearCapacity(g: Pick<FrameGeometry, 'headroom' | 'frameSize'>): number {
  return g.frameSize - g.headroom - SKB_SHARED_INFO_SIZE;
}

/**
 * Copy `bytes` into a fresh receive buffer (or `reuse`, zeroed): the first `linearCapacity` bytes at hard_start +
 * headroom, the rest in fragments of `fragSize` bytes (multi-buffer, as a driver with scatter-gather RX or test_run
 * builds it).
 *
 * `dirtyFrom`/`dirtyTo`: when the caller knows that `reuse` is all zeroes outside [dirtyFrom, dirtyTo) (the previous
 * frame's window, no program having moved the packet's bounds), only what of that window the new frame does not
 * overwrite is cleared, instead of the whole buffer; dirtyTo < 0: the whole buffer.
 */
export function layoutXdpBuff(bytes: Uint8Array, g: FrameGeometry, reuse?: Uint8Array, dirtyFrom = 0, dirtyTo = -1, into?: XdpBuff, fragStore?: Uint8Array[]): XdpBuff {
  const linearLen = Math.min(bytes.length, linearCapacity(g));
  // `reuse`: a buffer of the previous packet (the caller's, of this size), cleared as a fresh one would be.
  let frame: Uint8Array;
  const from = g.headroom;
  const to = from + linearLen;
  if (reuse !== undefined && reuse.length === g.frameSize) {
    frame = reuse;
    if (dirtyTo < 0) frame.fill(0);
    else {
      if (dirtyFrom < from) frame.fill(0, dirtyFrom, Math.min(dirtyTo, from));
      if (dirtyTo > to) frame.fill(0, Math.max(dirtyFrom, to), dirtyTo);
    }
  } else frame = new Uint8Array(g.frameSize);
  frame.set(linearLen === bytes.length ? bytes : bytes.subarray(0, linearLen), from);
  // `into`: the caller's XdpBuff of the previous frame, refilled field by field (no object per packet); its fragment
  // list is emptied and reused.
  const frags: Uint8Array[] = into !== undefined ? into.frags : [];
  if (frags.length !== 0) frags.length = 0;
  for (let off = linearLen; off < bytes.length; off += g.fragSize) {
    const end = Math.min(off + g.fragSize, bytes.length);
    if (fragStore === undefined) frags.push(bytes.slice(off, end));
    else {
      // `fragStore`: the caller's fragment buffers of the previous frame, overwritten (a fragment is a view of the
      // first end - off bytes of one: no buffer allocated per fragment; bpf_xdp_adjust_tail replaces, never grows, it).
      const k = frags.length;
      let store = fragStore[k];
      if (store === undefined || store.length < g.fragSize) fragStore[k] = store = new Uint8Array(g.fragSize);
      const f = store.subarray(0, end - off);
      f.set(bytes.subarray(off, end));
      frags.push(f);
    }
  }
  if (into !== undefined) {
    into.frame = frame;
    into.data = g.headroom;
    into.dataEnd = g.headroom + linearLen;
    into.dataMeta = g.headroom;
    into.fragSize = g.fragSize;
    into.ingressIfindex = g.ingressIfindex;
    into.rxQueueIndex = g.rxQueueIndex;
    into.readonlyPage = g.readonlyPage;
    into.egressIfindex = undefined;
    into.rxMeta = undefined;
    return into;
  }
  return {
    frame,
    data: g.headroom,
    dataEnd: g.headroom + linearLen,
    dataMeta: g.headroom,
    frags,
    fragSize: g.fragSize,
    ingressIfindex: g.ingressIfindex,
    rxQueueIndex: g.rxQueueIndex,
    readonlyPage: g.readonlyPage,
  };
}

/**
 * A fresh array of `n` bytes cut from a shared slab: one allocation per 256 KiB of small packets instead of one per
 * packet (a typed array's own buffer costs an allocation outside the heap and the collector's attention). Each array
 * is the caller's alone; a slab is freed once no array cut from it is left.
 */
const SLAB = 256 * 1024;
let slab = new ArrayBuffer(SLAB);
let slabUsed = 0;
function carve(n: number): Uint8Array {
  if (n > 4096) return new Uint8Array(n);
  if (slabUsed + n > SLAB) {
    slab = new ArrayBuffer(SLAB);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7;
  return out;
}

/**
 * packetBytes' `out` alone (the metadata's length is data - data_meta when data_meta <= data, else 0); with `view`, a
 * frame without fragments is a view of the buffer instead of a copy (valid while the buffer is). `scratch`: with
 * `view`, a frame with fragments is joined into scratch.bytes (grown when too small) and given as a view of it, valid
 * until the next frame is joined there.
 */
export function packetOut(buff: XdpBuff, view: boolean, scratch?: { bytes: Uint8Array }): Uint8Array {
  const start = buff.dataMeta <= buff.data ? buff.dataMeta : buff.data;
  if (view && buff.frags.length === 0) return buff.frame.subarray(start, buff.dataEnd);
  if (!view || scratch === undefined) return packetBytes(buff).out;
  let n = buff.dataEnd - start;
  for (let i = 0; i < buff.frags.length; i++) n += buff.frags[i]!.length;
  if (scratch.bytes.length < n) scratch.bytes = new Uint8Array(Math.max(n, 2 * scratch.bytes.length));
  const out = scratch.bytes.subarray(0, n);
  out.set(buff.frame.subarray(start, buff.dataEnd));
  let o = buff.dataEnd - start;
  for (let i = 0; i < buff.frags.length; i++) {
    out.set(buff.frags[i]!, o);
    o += buff.frags[i]!.length;
  }
  return out;
}

/** The packet after the program: data_meta..data_end of the linear part, then the fragments (test_run's data_out). */
export function packetBytes(buff: XdpBuff): { out: Uint8Array; metaLen: number } {
  const metaValid = buff.dataMeta <= buff.data;
  const start = metaValid ? buff.dataMeta : buff.data;
  const metaLen = metaValid ? buff.data - buff.dataMeta : 0;
  if (buff.frags.length === 0) {
    const out = carve(buff.dataEnd - start);
    out.set(buff.frame.subarray(start, buff.dataEnd));
    return { out, metaLen };
  }
  const parts = [buff.frame.subarray(start, buff.dataEnd), ...buff.frags];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return { out, metaLen };
}

export { PAGE_SIZE };
