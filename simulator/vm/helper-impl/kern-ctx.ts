// bpf_cast_to_kern_ctx and bpf_rdonly_cast (kernel/bpf/helpers.c): an XDP program's view of the kernel's own
// struct xdp_buff behind its struct xdp_md. The cast returns a pointer to an image of the xdp_buff laid out as the
// running kernel's BTF says (CO-RE relocations resolve the program's field offsets against the same BTF), with its
// rxq (struct xdp_rxq_info) and rxq->dev (struct net_device: ifindex, name, mtu, flags; the rest reads as zero). The
// data pointers in it are the simulator's addresses of the packet, so bpf_rdonly_cast(kctx->data, ...) reads the
// packet; the image follows the packet when a helper moves it (adjust_head/tail/meta, bpf_xdp_pull_data). The
// verifier lets a program read these structs, not write them (a store faults as the verifier's refusal would).
// bpf_rdonly_cast returns its pointer unchanged: loads through it read whatever memory the simulator has there.
import { BTF_KIND, type Btf, type BtfType } from '../../elf/btf.ts';
import { kernelBtf } from '../../elf/core.ts';
import { addrOf, REGION_PACKET } from '../memory.ts';
import type { Memory } from '../memory.ts';
import type { XdpBuff } from '../types.ts';

/** Byte offsets of the fields the images fill, and the structs' sizes. */
export interface KernCtxLayout {
  buff: { size: number; data: number; dataEnd: number; dataMeta: number; dataHardStart: number; rxq: number; txq: number; frameSz: number; flags: number };
  rxq: { size: number; dev: number; queueIndex: number; regState: number; fragSize: number };
  dev: { size: number; ifindex: number; name: number; mtu: number; flags: number };
}

/** 6.18 x86-64 (BTF of 6.18.44, measured with bpftool btf dump). */
export const KERN_CTX_LAYOUT_6_18: KernCtxLayout = {
  buff: { size: 56, data: 0, dataEnd: 8, dataMeta: 16, dataHardStart: 24, rxq: 32, txq: 40, frameSz: 48, flags: 52 },
  rxq: { size: 64, dev: 0, queueIndex: 8, regState: 12, fragSize: 24 },
  dev: { size: 2496, ifindex: 224, name: 280, mtu: 56, flags: 176 },
};

/** Byte offset of member `name` of `t`, looking into anonymous struct/union members too. */
function memberOffset(btf: Btf, t: BtfType | undefined, name: string): number | undefined {
  if (!t?.members) return undefined;
  for (const m of t.members) {
    const bits = t.kflag ? m.bitOffset & 0xffffff : m.bitOffset;
    if (m.name === name) return bits / 8;
    if (m.name === '') {
      let inner = btf.types[m.type];
      while (inner && inner.kind !== BTF_KIND.STRUCT && inner.kind !== BTF_KIND.UNION && inner.sizeOrType && inner.kind !== BTF_KIND.INT) inner = btf.types[inner.sizeOrType];
      const o = memberOffset(btf, inner, name);
      if (o !== undefined) return bits / 8 + o;
    }
  }
  return undefined;
}

export function kernCtxLayoutFromBtf(btf: Btf): KernCtxLayout | undefined {
  const struct = (n: string) => btf.types.find((x) => x?.kind === BTF_KIND.STRUCT && x.name === n);
  const b = struct('xdp_buff'), r = struct('xdp_rxq_info'), d = struct('net_device');
  if (!b || !r || !d) return undefined;
  const pick = <K extends string>(t: BtfType, names: Record<K, string>): Record<K, number> | undefined => {
    const out = {} as Record<K, number>;
    for (const [k, n] of Object.entries(names) as [K, string][]) {
      const o = memberOffset(btf, t, n);
      if (o === undefined) return undefined;
      out[k] = o;
    }
    return out;
  };
  const buff = pick(b, { data: 'data', dataEnd: 'data_end', dataMeta: 'data_meta', dataHardStart: 'data_hard_start', rxq: 'rxq', txq: 'txq', frameSz: 'frame_sz', flags: 'flags' });
  const rxq = pick(r, { dev: 'dev', queueIndex: 'queue_index', regState: 'reg_state', fragSize: 'frag_size' });
  const dev = pick(d, { ifindex: 'ifindex', name: 'name', mtu: 'mtu', flags: 'flags' });
  if (!buff || !rxq || !dev) return undefined;
  return { buff: { size: b.sizeOrType, ...buff }, rxq: { size: r.sizeOrType, ...rxq }, dev: { size: d.sizeOrType, ...dev } };
}

let layout: KernCtxLayout | undefined;
/** The running kernel's layout from /sys/kernel/btf/vmlinux, else 6.18's. */
export function kernCtxLayout(): KernCtxLayout {
  if (layout) return layout;
  const btf = kernelBtf()?.btf;
  layout = (btf && kernCtxLayoutFromBtf(btf)) || KERN_CTX_LAYOUT_6_18;
  return layout;
}

/** XDP_FLAGS_HAS_FRAGS (include/net/xdp.h). */
const XDP_FLAGS_HAS_FRAGS = 1;
/** net_device.flags of lo: IFF_UP | IFF_LOOPBACK (IFF_RUNNING, which `ip link` shows, is derived, not stored). */
const LO_FLAGS = 0x1 | 0x8;
const LO_MTU = 65536;

const WRITE_FAULT = {
  kind: 'invalid-insn' as const,
  message: 'a store through the pointer bpf_cast_to_kern_ctx returned: the verifier lets programs only read the kernel\'s struct xdp_buff (and what it points to)',
};

/** The images of one run, and how to bring the xdp_buff's pointers up to date. */
export interface KernCtx {
  addr: bigint;
  sync(): void;
}

/**
 * Make the images for the frame `buff` in `mem` (once per run) and return the xdp_buff's address. The net_device is
 * the one the frame came in on: ifindex 1 is the loopback device "lo" in every network namespace (BPF_PROG_TEST_RUN
 * runs on it); for another ifindex only the ifindex is known.
 */
export function makeKernCtx(mem: Memory, buff: XdpBuff): KernCtx {
  const L = kernCtxLayout();
  const b = new Uint8Array(L.buff.size), r = new Uint8Array(L.rxq.size), d = new Uint8Array(L.dev.size);
  const bv = new DataView(b.buffer), rv = new DataView(r.buffer), dv = new DataView(d.buffer);
  dv.setInt32(L.dev.ifindex, buff.ingressIfindex, true);
  if (buff.ingressIfindex === 1) {
    d.set(new TextEncoder().encode('lo'), L.dev.name);
    dv.setUint32(L.dev.mtu, LO_MTU, true);
    dv.setUint32(L.dev.flags, LO_FLAGS, true);
  }
  const devAddr = mem.scratch(d, 'struct net_device (rxq->dev)', WRITE_FAULT);
  rv.setBigUint64(L.rxq.dev, devAddr, true);
  rv.setUint32(L.rxq.queueIndex, buff.rxQueueIndex >>> 0, true);
  rv.setUint32(L.rxq.fragSize, buff.fragSize >>> 0, true);
  const rxqAddr = mem.scratch(r, 'struct xdp_rxq_info (xdp_buff->rxq)', WRITE_FAULT);
  const addr = mem.scratch(b, 'struct xdp_buff (bpf_cast_to_kern_ctx)', WRITE_FAULT);
  const sync = () => {
    bv.setBigUint64(L.buff.data, addrOf(REGION_PACKET, buff.data), true);
    bv.setBigUint64(L.buff.dataEnd, addrOf(REGION_PACKET, buff.dataEnd), true);
    bv.setBigUint64(L.buff.dataMeta, addrOf(REGION_PACKET, buff.dataMeta), true);
    bv.setBigUint64(L.buff.dataHardStart, addrOf(REGION_PACKET, 0), true);
    bv.setBigUint64(L.buff.rxq, rxqAddr, true);
    bv.setBigUint64(L.buff.txq, 0n, true);
    bv.setUint32(L.buff.frameSz, buff.frame.length >>> 0, true);
    bv.setUint32(L.buff.flags, buff.frags.length > 0 ? XDP_FLAGS_HAS_FRAGS : 0, true);
  };
  sync();
  return { addr, sync };
}
