// Kernel functions (kfuncs) an XDP program calls, dispatched by name (the program's kfunc list; see
// simulator/isa/kfunc-names.ts), and the dynptr helpers bpf_dynptr_read / bpf_dynptr_write (ids 201, 202).
//
//   - RX metadata (net/core/xdp.c, the driver's xdp_metadata_ops): values from XdpBuff.rxMeta, which the modelled
//     driver fills per profile (simulator/driver/rx-meta.ts); a frame without it gets -EOPNOTSUPP, as from a driver
//     that implements none. The kernel allows these only in device-bound programs; the modelled driver is the device.
//   - dynptr (kernel/bpf/helpers.c, net/core/filter.c bpf_xdp_pointer / bpf_xdp_copy_buf): a 16-byte struct
//     bpf_dynptr on the stack holds {data, size | type << 28 | rdonly << 31, offset} like struct bpf_dynptr_kern.
//     A slice inside one buffer (the linear part or one fragment) points into it; one that crosses a fragment
//     boundary is copied into the caller's buffer (NULL without one); bpf_dynptr_slice's memory is read-only.
//   - conntrack (net/netfilter/nf_conntrack_bpf.c) on the modelled table of vm/conntrack.ts.
//   - the numeric iterator behind libbpf's bpf_for() / bpf_repeat() (kernel/bpf/bpf_iter.c).
//   - bpf_obj_new_impl / bpf_obj_drop_impl: a scratch object of the local BTF type's size, released by drop (zeroed
//     here; the kernel's may hold what an earlier dropped object left).
//   - the read-only string kfuncs (bpf_strlen, bpf_strcmp, bpf_strstr, ...: helper-impl/strings.ts) over the
//     program's memory; a scalar address is -ERANGE (user/non-canonical) or -EFAULT (unmapped kernel) as on x86-64.
import type { HelperCall, HelperOutcome } from './interpreter.ts';
import type { HelperHost } from './helpers.ts';
import { copyPacket, kernelNofaultAllowed } from './helper-impl/copy.ts';
import { REGION_CTX, REGION_FUNC, REGION_MAP_HANDLE, REGION_STACK0, MAX_FRAMES, VmFault, addrOf, offsetOf, regionOf } from './memory.ts';
import type { XdpBuff } from './types.ts';
import { resolveSize } from '../elf/btf.ts';
import { STRING_KFUNCS, stringKfunc, type StringMemory } from './helper-impl/strings.ts';
import { makeKernCtx, type KernCtx } from './helper-impl/kern-ctx.ts';
import { collectionAt, dropRef, wqInit, newObject, nodeOf, objectOf, rbErase, rbFirst, rbInsert, type GraphNode, type GraphObject, type ListHead, type RbRoot } from './helper-impl/graph.ts';
import { Conn, ConntrackTable, IPS, IPS_UNCHANGEABLE_MASK, IPPROTO_TCP, IPPROTO_UDP, jiffies32, swapTuple, type Tuple } from './conntrack.ts';

// errno (include/uapi/asm-generic/errno*.h)
const EINVAL = 22, ENOENT = 2, EPERM = 1, E2BIG = 7, EFAULT = 14, ERANGE = 34, EOPNOTSUPP = 95, EBUSY = 16;
const EPROTO = 71, ENONET = 64, EAFNOSUPPORT = 97, ETIME = 62;
const neg = (errno: number): bigint => BigInt.asUintN(64, BigInt(-errno));

/** Jiffies per second (CONFIG_HZ=250, the value bpf_jiffies64 assumes too). */
const HZ = 250n;

export interface KfuncState {
  /** nf_conn image -> its address in this run. */
  connAddr: Map<Conn, bigint>;
  /** Address -> connection, for kfuncs that take an nf_conn. */
  byAddr: Map<bigint, Conn>;
  /** Used when the environment has no table. */
  table?: ConntrackTable;
  /** bpf_obj_new objects -> their address in this run (helper-impl/graph.ts keeps the objects across runs). */
  objAddr?: Map<GraphObject, bigint>;
  /** The kernel's struct xdp_buff image of this run (bpf_cast_to_kern_ctx), made on the first call. */
  kctx?: KernCtx;
}

type Kfunc = (h: HelperHost, c: HelperCall, st: KfuncState) => HelperOutcome;

const u32 = (v: bigint) => Number(v & 0xffffffffn);
const s32 = (v: bigint) => Number(BigInt.asIntN(32, v));

function state(h: HelperHost): KfuncState {
  const hh = h as HelperHost & { kfuncState?: KfuncState };
  return (hh.kfuncState ??= { connAddr: new Map(), byAddr: new Map() });
}

/** Forget the kfunc state of the previous run: its nf_conn addresses were scratch regions of that run only. */
export function resetKfuncState(h: HelperHost): void {
  (h as HelperHost & { kfuncState?: KfuncState }).kfuncState = undefined;
  h.mem.onPacketSync = undefined;
}

function table(h: HelperHost, st: KfuncState): ConntrackTable {
  return h.env.conntrack ?? (st.table ??= new ConntrackTable());
}

const nowJiffies = (h: HelperHost) => jiffies32(BigInt.asUintN(64, h.env.nowNs()), HZ);

function ctxArg(c: HelperCall, name: string): void {
  if (c.regs[1] !== addrOf(REGION_CTX, 0)) {
    throw new VmFault('helper-misuse', `${name}: argument 1 must be the program's ctx (struct xdp_md *), got 0x${c.regs[1].toString(16)}`, c.pc);
  }
}

function out(h: HelperHost, c: HelperCall, reg: number, len: number, name: string): DataView {
  const b = h.mem.bytes(c.regs[reg], len, true, c.pc, `${name} argument ${reg} (${len} bytes)`);
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

// ---- RX metadata ----
const rxTimestamp: Kfunc = (h, c) => {
  ctxArg(c, 'bpf_xdp_metadata_rx_timestamp');
  const m = h.buff.rxMeta?.timestamp ?? { errno: EOPNOTSUPP };
  if ('errno' in m) return neg(m.errno);
  out(h, c, 2, 8, 'bpf_xdp_metadata_rx_timestamp').setBigUint64(0, BigInt.asUintN(64, m.value), true);
  return 0n;
};
const rxHash: Kfunc = (h, c) => {
  ctxArg(c, 'bpf_xdp_metadata_rx_hash');
  const m = h.buff.rxMeta?.hash ?? { errno: EOPNOTSUPP };
  if ('errno' in m) return neg(m.errno);
  out(h, c, 2, 4, 'bpf_xdp_metadata_rx_hash').setUint32(0, m.value.hash >>> 0, true);
  out(h, c, 3, 4, 'bpf_xdp_metadata_rx_hash').setUint32(0, m.value.type >>> 0, true);
  return 0n;
};
const rxVlanTag: Kfunc = (h, c) => {
  ctxArg(c, 'bpf_xdp_metadata_rx_vlan_tag');
  const m = h.buff.rxMeta?.vlan ?? { errno: EOPNOTSUPP };
  if ('errno' in m) return neg(m.errno);
  out(h, c, 2, 2, 'bpf_xdp_metadata_rx_vlan_tag').setUint16(0, m.value.proto, false);
  out(h, c, 3, 2, 'bpf_xdp_metadata_rx_vlan_tag').setUint16(0, m.value.tci, true);
  return 0n;
};

// ---- dynptr ----
const DYNPTR_SIZE = 16;
const DYNPTR_TYPE_LOCAL = 1;
const DYNPTR_TYPE_RINGBUF = 2;
const DYNPTR_TYPE_XDP = 4;
/** DYNPTR_MAX_SIZE: sizes above it are -E2BIG. */
const DYNPTR_MAX_SIZE = 0xffffff;
const TYPE_SHIFT = 28;
const SIZE_MASK = 0xffffff;
const RDONLY_BIT = 0x80000000;

// A LOCAL dynptr (bpf_dynptr_from_mem, over a map value) or a RINGBUF one (bpf_ringbuf_reserve_dynptr, over the
// reserved record) holds the address of its memory in `data`; an XDP one holds the ctx address.
interface Dynptr { view: DataView; data: bigint; size: number; offset: number; rdonly: boolean; type: number }

function dynptrAt(h: HelperHost, c: HelperCall, reg: number, name: string, uninit = false): Dynptr {
  const addr = c.regs[reg];
  const region = regionOf(addr);
  if (region < REGION_STACK0 || region >= REGION_STACK0 + MAX_FRAMES) {
    throw new VmFault('helper-misuse', `${name}: argument ${reg} must point to a struct bpf_dynptr on the stack`, c.pc);
  }
  const b = h.mem.bytes(addr, DYNPTR_SIZE, true, c.pc, `${name} dynptr (argument ${reg})`);
  const view = new DataView(b.buffer, b.byteOffset, DYNPTR_SIZE);
  const data = view.getBigUint64(0, true);
  const word = view.getUint32(8, true);
  const type = (word >>> TYPE_SHIFT) & 7;
  const ok = type === DYNPTR_TYPE_XDP ? data === addrOf(REGION_CTX, 0)
    : (type === DYNPTR_TYPE_LOCAL || type === DYNPTR_TYPE_RINGBUF) && h.mem.live(regionOf(data))?.kind !== undefined && regionOf(data) !== REGION_CTX;
  if (!uninit && data !== 0n && !ok) {
    throw new VmFault('helper-misuse', `${name}: argument ${reg} is not an initialised dynptr (the verifier: "Expected an initialized dynptr")`, c.pc);
  }
  return { view, data, size: word & SIZE_MASK, offset: view.getUint32(12, true), rdonly: (word & RDONLY_BIT) !== 0, type };
}

function setDynptr(d: Dynptr, data: bigint, size: number, offset: number, rdonly: boolean, type = DYNPTR_TYPE_XDP): void {
  d.view.setBigUint64(0, data, true);
  d.view.setUint32(8, data === 0n ? 0 : ((size & SIZE_MASK) | (type << TYPE_SHIFT) | (rdonly ? RDONLY_BIT : 0)) >>> 0, true);
  d.view.setUint32(12, data === 0n ? 0 : offset >>> 0, true);
}

/** bpf_dynptr_check_off_len. */
const checkOffLen = (d: Dynptr, off: number, len: number) => (len > d.size || off > d.size - len ? -E2BIG : 0);

const linearLen = (b: XdpBuff) => b.dataEnd - b.data;
const buffLen = (b: XdpBuff) => linearLen(b) + b.frags.reduce((n, f) => n + f.length, 0);

/** bpf_xdp_pointer: where [off, off+len) is contiguous, the buffer and start; -errno; or null when it crosses. */
function xdpPointer(b: XdpBuff, off: number, len: number): { buf: Uint8Array; start: number; frag: number } | number | null {
  if (off > 0xffff || len > 0xffff) return -EFAULT;
  if (off + len > buffLen(b)) return -EINVAL;
  let size = linearLen(b);
  if (off < size) return off + len <= size ? { buf: b.frame, start: b.data + off, frag: -1 } : null;
  off -= size;
  for (let i = 0; i < b.frags.length; i++) {
    size = b.frags[i].length;
    if (off < size) return off + len <= size ? { buf: b.frags[i], start: off, frag: i } : null;
    off -= size;
  }
  return null;
}


const fromXdp: Kfunc = (h, c) => {
  ctxArg(c, 'bpf_dynptr_from_xdp');
  const d = dynptrAt(h, c, 3, 'bpf_dynptr_from_xdp', true);
  if (c.regs[2] !== 0n) {
    setDynptr(d, 0n, 0, 0, false);
    return neg(EINVAL);
  }
  setDynptr(d, addrOf(REGION_CTX, 0), buffLen(h.buff), 0, false);
  return 0n;
};

function slice(h: HelperHost, c: HelperCall, rdwr: boolean): bigint {
  const name = rdwr ? 'bpf_dynptr_slice_rdwr' : 'bpf_dynptr_slice';
  const d = dynptrAt(h, c, 1, name);
  const off = u32(c.regs[2]);
  const len = u32(c.regs[4]);
  if (d.data === 0n || (rdwr && d.rdonly)) return 0n;
  if (checkOffLen(d, off, len)) return 0n;
  if (d.type !== DYNPTR_TYPE_XDP) return d.data + BigInt(d.offset + off);
  const b = h.buff;
  const p = xdpPointer(b, d.offset + off, len);
  if (p !== null && typeof p !== 'number') {
    const at = p.frag < 0 ? `packet offset ${p.start - b.data}` : `fragment ${p.frag} offset ${p.start}`;
    const fault = !rdwr
      ? { kind: 'readonly-write' as const, message: 'bpf_dynptr_slice returns read-only memory (use bpf_dynptr_slice_rdwr to write)' }
      : b.readonlyPage
        ? { kind: 'readonly-page-write' as const, message: 'the driver hands the program a read-only page (readonly-page mode)' }
        : undefined;
    return h.mem.scratch(p.buf.subarray(p.start, p.start + len), `${name} of ${len} byte(s) at ${at}`, fault);
  }
  if (c.regs[3] === 0n) return 0n;
  const buf = h.mem.bytes(c.regs[3], len, true, c.pc, `${name} buffer (argument 3, ${len} bytes)`);
  copyPacket(b, d.offset + off, buf, false);
  return c.regs[3];
}

const adjust: Kfunc = (h, c) => {
  const d = dynptrAt(h, c, 1, 'bpf_dynptr_adjust');
  const start = u32(c.regs[2]);
  const end = u32(c.regs[3]);
  // bpf_dynptr_adjust: a NULL dynptr or start past end is -EINVAL before the size is looked at (-ERANGE).
  if (d.data === 0n || start > end) return neg(EINVAL);
  if (start > d.size || end > d.size) return neg(ERANGE);
  setDynptr(d, d.data, end - start, d.offset + start, d.rdonly, d.type);
  return 0n;
};

const clone: Kfunc = (h, c) => {
  const d = dynptrAt(h, c, 1, 'bpf_dynptr_clone');
  const to = dynptrAt(h, c, 2, 'bpf_dynptr_clone', true);
  if (d.data === 0n) {
    setDynptr(to, 0n, 0, 0, false);
    return neg(EINVAL);
  }
  setDynptr(to, d.data, d.size, d.offset, d.rdonly, d.type);
  return 0n;
};

/** The bytes [off, off+len) of a LOCAL or RINGBUF dynptr's memory. */
function memOf(h: HelperHost, c: HelperCall, d: Dynptr, off: number, len: number, write: boolean): Uint8Array {
  return h.mem.bytes(d.data + BigInt(d.offset + off), len, write, c.pc, `dynptr memory [${off}, ${off + len})`);
}

/**
 * bpf_dynptr_from_mem (helper 197): a LOCAL dynptr over `size` bytes of a map value (the verifier takes no other
 * memory here: "Unsupported reg type ... for bpf_dynptr_from_mem data"); flags must be 0.
 */
export function dynptrFromMem(h: HelperHost, c: HelperCall): bigint {
  const d = dynptrAt(h, c, 4, 'bpf_dynptr_from_mem', true);
  const size = u32(c.regs[2]);
  if (h.mem.live(regionOf(c.regs[1]))?.kind !== 'map-value') {
    throw new VmFault('helper-misuse', 'bpf_dynptr_from_mem: argument 1 must point into a map value (the verifier refuses other memory: "Unsupported reg type for bpf_dynptr_from_mem data")', c.pc);
  }
  h.mem.bytes(c.regs[1], size, false, c.pc, `bpf_dynptr_from_mem data (argument 1, ${size} bytes)`);
  if (c.regs[3] !== 0n) {
    setDynptr(d, 0n, 0, 0, false);
    return neg(EINVAL);
  }
  if (size > DYNPTR_MAX_SIZE) {
    setDynptr(d, 0n, 0, 0, false);
    return neg(E2BIG);
  }
  setDynptr(d, c.regs[1], size, 0, false, DYNPTR_TYPE_LOCAL);
  return 0n;
}

/** bpf_dynptr_data (helper 203): a pointer into a LOCAL or RINGBUF dynptr's memory, NULL otherwise. */
export function dynptrData(h: HelperHost, c: HelperCall): bigint {
  const d = dynptrAt(h, c, 1, 'bpf_dynptr_data');
  const off = u32(c.regs[2]);
  const len = u32(c.regs[3]);
  if (d.data === 0n || checkOffLen(d, off, len) || d.rdonly || d.type === DYNPTR_TYPE_XDP) return 0n;
  return d.data + BigInt(d.offset + off);
}

/**
 * bpf_ringbuf_reserve_dynptr (helper 198): `reserve` takes the record's room and returns its address (undefined when
 * it does not fit); the dynptr gets it, or is set NULL (flags: -EINVAL, above DYNPTR_MAX_SIZE: -E2BIG, no room:
 * -EINVAL, unlike bpf_ringbuf_output's -EAGAIN).
 */
export function ringbufReserveDynptr(h: HelperHost, c: HelperCall, reserve: (size: number) => bigint | undefined): bigint {
  const d = dynptrAt(h, c, 4, 'bpf_ringbuf_reserve_dynptr', true);
  const size = u32(c.regs[2]);
  let err = 0;
  let addr: bigint | undefined;
  if (c.regs[3] !== 0n) err = EINVAL;
  else if (size > DYNPTR_MAX_SIZE) err = E2BIG;
  else if ((addr = reserve(size)) === undefined) err = EINVAL;
  if (err) {
    setDynptr(d, 0n, 0, 0, false);
    return neg(err);
  }
  setDynptr(d, addr!, size, 0, false, DYNPTR_TYPE_RINGBUF);
  return 0n;
}

/** bpf_ringbuf_submit_dynptr / discard_dynptr (199, 200): the record's address (undefined for a NULL dynptr), and the dynptr set NULL. */
export function ringbufTakeDynptr(h: HelperHost, c: HelperCall, name: string): bigint | undefined {
  const d = dynptrAt(h, c, 1, name);
  if (d.data === 0n) return undefined;
  const addr = d.data;
  setDynptr(d, 0n, 0, 0, false);
  return addr;
}

/** bpf_dynptr_read (helper 201): dst, len, src dynptr, offset, flags. */
export function dynptrRead(h: HelperHost, c: HelperCall): bigint {
  const len = u32(c.regs[2]);
  const d = dynptrAt(h, c, 3, 'bpf_dynptr_read');
  const off = u32(c.regs[4]);
  const dst = h.mem.bytes(c.regs[1], len, true, c.pc, `bpf_dynptr_read dst (argument 1, ${len} bytes)`);
  if (d.data === 0n || c.regs[5] !== 0n) return neg(EINVAL);
  const e = checkOffLen(d, off, len);
  if (e) return neg(-e);
  if (d.type !== DYNPTR_TYPE_XDP) {
    dst.set(memOf(h, c, d, off, len, false));
    return 0n;
  }
  const p = xdpPointer(h.buff, d.offset + off, len);
  if (typeof p === 'number') return neg(-p);
  copyPacket(h.buff, d.offset + off, dst, false);
  return 0n;
}

/** bpf_dynptr_write (helper 202): dst dynptr, offset, src, len, flags. */
export function dynptrWrite(h: HelperHost, c: HelperCall): bigint {
  const d = dynptrAt(h, c, 1, 'bpf_dynptr_write');
  const off = u32(c.regs[2]);
  const len = u32(c.regs[4]);
  const src = h.mem.bytes(c.regs[3], len, false, c.pc, `bpf_dynptr_write src (argument 3, ${len} bytes)`);
  if (d.data === 0n || d.rdonly) return neg(EINVAL);
  const e = checkOffLen(d, off, len);
  if (e) return neg(-e);
  if (c.regs[5] !== 0n) return neg(EINVAL);
  if (d.type !== DYNPTR_TYPE_XDP) {
    memOf(h, c, d, off, len, true).set(src.slice());
    return 0n;
  }
  const p = xdpPointer(h.buff, d.offset + off, len);
  if (typeof p === 'number') return neg(-p);
  if (h.buff.readonlyPage && len > 0) throw new VmFault('readonly-page-write', 'bpf_dynptr_write into a read-only packet page (readonly-page mode)', c.pc);
  copyPacket(h.buff, d.offset + off, src.slice(), true);
  h.mem.packetWritten = 1;
  return 0n;
}

// ---- bpf_dynptr_copy / bpf_dynptr_memset (kernel/bpf/helpers.c; u32 offsets and sizes in 6.18) ----

/** __bpf_dynptr_read into `dst`: 0 or -errno. */
function readDynptr(h: HelperHost, c: HelperCall, d: Dynptr, off: number, dst: Uint8Array): number {
  if (d.data === 0n) return -EINVAL;
  const e = checkOffLen(d, off, dst.length);
  if (e) return e;
  if (d.type !== DYNPTR_TYPE_XDP) {
    dst.set(memOf(h, c, d, off, dst.length, false));
    return 0;
  }
  const p = xdpPointer(h.buff, d.offset + off, dst.length);
  if (typeof p === 'number') return p;
  copyPacket(h.buff, d.offset + off, dst, false);
  return 0;
}

/** __bpf_dynptr_write of `src`: 0 or -errno. */
function writeDynptr(h: HelperHost, c: HelperCall, d: Dynptr, off: number, src: Uint8Array, name: string): number {
  if (d.data === 0n || d.rdonly) return -EINVAL;
  const e = checkOffLen(d, off, src.length);
  if (e) return e;
  if (d.type !== DYNPTR_TYPE_XDP) {
    memOf(h, c, d, off, src.length, true).set(src);
    return 0;
  }
  const p = xdpPointer(h.buff, d.offset + off, src.length);
  if (typeof p === 'number') return p;
  if (h.buff.readonlyPage && src.length > 0) throw new VmFault('readonly-page-write', `${name} into a read-only packet page (readonly-page mode)`, c.pc);
  copyPacket(h.buff, d.offset + off, src, true);
  h.mem.packetWritten = 1;
  return 0;
}

/** Whether bpf_dynptr_slice(_rdwr)(d, off, NULL, len) would return memory (a contiguous range, writable for rdwr). */
function sliceable(h: HelperHost, d: Dynptr, off: number, len: number, rdwr: boolean): boolean {
  if (d.data === 0n || (rdwr && d.rdonly) || checkOffLen(d, off, len)) return false;
  if (d.type !== DYNPTR_TYPE_XDP) return true;
  const p = xdpPointer(h.buff, d.offset + off, len);
  return p !== null && typeof p !== 'number';
}

/** Map types whose elements the kernel counts per CPU (hash maps: bpf_map_init_elem_count). */
const COUNTED_MAPS: ReadonlySet<number> = new Set([1, 5, 9, 10, 13]); // HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH, HASH_OF_MAPS

const DYNPTR_CHUNK = 256;

/**
 * bpf_dynptr_copy(dst, dst_off, src, src_off, size): both ranges contiguous: a memmove; one contiguous: one read or
 * write of it; neither: -E2BIG unless both ranges fit, then 256-byte chunks, each read then written (a failing chunk
 * leaves the earlier ones written).
 */
const dynptrCopy: Kfunc = (h, c) => {
  const name = 'bpf_dynptr_copy';
  const dst = dynptrAt(h, c, 1, name);
  const dstOff = u32(c.regs[2]);
  const src = dynptrAt(h, c, 3, name);
  const srcOff = u32(c.regs[4]);
  const size = u32(c.regs[5]);
  const ret = (n: number) => (n === 0 ? 0n : neg(-n));
  if (sliceable(h, src, srcOff, size, false) || sliceable(h, dst, dstOff, size, true)) {
    const tmp = new Uint8Array(size);
    const e = readDynptr(h, c, src, srcOff, tmp);
    return ret(e || writeDynptr(h, c, dst, dstOff, tmp, name));
  }
  if (checkOffLen(dst, dstOff, size) || checkOffLen(src, srcOff, size)) return neg(E2BIG);
  for (let off = 0; off < size; off += DYNPTR_CHUNK) {
    const buf = new Uint8Array(Math.min(DYNPTR_CHUNK, size - off));
    const e = readDynptr(h, c, src, srcOff + off, buf) || writeDynptr(h, c, dst, dstOff + off, buf, name);
    if (e) return ret(e);
  }
  return 0n;
};

/** bpf_dynptr_memset(p, offset, size, val): -EINVAL for a read-only dynptr, -E2BIG out of range, else filled. */
const dynptrMemset: Kfunc = (h, c) => {
  const name = 'bpf_dynptr_memset';
  const d = dynptrAt(h, c, 1, name);
  const off = u32(c.regs[2]);
  const size = u32(c.regs[3]);
  const val = Number(c.regs[4] & 0xffn);
  if (!sliceable(h, d, off, size, true)) {
    if (d.data !== 0n && d.rdonly) return neg(EINVAL);
    const e = checkOffLen(d, off, size);
    if (e) return neg(-e);
  }
  for (let w = 0; w < size; w += DYNPTR_CHUNK) {
    const e = writeDynptr(h, c, d, off + w, new Uint8Array(Math.min(DYNPTR_CHUNK, size - w)).fill(val), name);
    if (e) return neg(-e);
  }
  return 0n;
};

// ---- bpf_xdp_pull_data (net/core/filter.c, 6.18): pull `len` bytes of a multi-buffer frame into the linear part ----
/** sizeof(struct xdp_frame) at the start of the frame, and sizeof(struct skb_shared_info) at its end (helpers.ts). */
const XDP_FRAME_HEAD = 40;
const SHARED_INFO_TAIL = 320;

/**
 * 0 when the linear part already holds `len` bytes; -EINVAL past the frame's length or when head- and tailroom
 * together are too small. Data (and metadata) move down into the headroom by what the tailroom lacks, then the
 * fragments' first bytes are copied after it; emptied fragments go.
 */
const xdpPullData: Kfunc = (h, c) => {
  ctxArg(c, 'bpf_xdp_pull_data');
  h.mem.flushClean();
  const b = h.buff;
  const len = u32(c.regs[2]);
  const dataLen = linearLen(b);
  if (len <= dataLen) return 0n;
  if (len > buffLen(b)) return neg(EINVAL);
  const start = b.dataMeta > b.data ? b.data : b.dataMeta; // data_meta = data + 1: no metadata
  const headroom = start - XDP_FRAME_HEAD;
  const tailroom = b.frame.length - SHARED_INFO_TAIL - b.dataEnd;
  let delta = len - dataLen;
  if (delta > tailroom + headroom) return neg(EINVAL);
  if (b.readonlyPage) throw new VmFault('readonly-page-write', 'bpf_xdp_pull_data on a read-only packet page (readonly-page mode)', c.pc);
  const shift = delta - tailroom;
  if (shift > 0) {
    b.frame.copyWithin(start - shift, start, b.dataEnd);
    b.dataMeta -= shift;
    b.data -= shift;
    b.dataEnd -= shift;
  }
  let emptied = 0;
  for (let i = 0; i < b.frags.length && delta > 0; i++) {
    const f = b.frags[i];
    const n = Math.min(delta, f.length);
    b.frame.set(f.subarray(0, n), b.dataEnd);
    b.dataEnd += n;
    delta -= n;
    b.frags[i] = f.slice(n);
    if (n === f.length) emptied++;
  }
  if (emptied) b.frags.splice(0, emptied);
  h.mem.syncPacket();
  return 0n;
};

// ---- bpf_iter_bits (kernel/bpf/helpers.c): struct bpf_iter_bits is {u64 bits or pointer; int nr_bits; int bit} ----
const BITS_ITER_NR_WORDS_MAX = 511;
/** The copied words of a multi-word iterator, by the iterator's address (the kernel keeps them in bpf_mem_alloc memory). */
const bitsCopies = new WeakMap<HelperHost, Map<bigint, Uint8Array>>();

const bitsIterAt = (h: HelperHost, c: HelperCall, name: string): DataView => stackIterator(h, c, name, 'bpf_iter_bits', 16);

const iterBitsNew: Kfunc = (h, c) => {
  const it = bitsIterAt(h, c, 'bpf_iter_bits_new');
  const words = u32(c.regs[3]);
  const copies = bitsCopies.get(h) ?? new Map<bigint, Uint8Array>();
  bitsCopies.set(h, copies);
  copies.delete(c.regs[1]);
  it.setBigUint64(0, 0n, true);
  it.setInt32(8, 0, true);
  it.setInt32(12, -1, true);
  const src = c.regs[2];
  if (src === 0n || words === 0) return neg(EINVAL);
  if (words > BITS_ITER_NR_WORDS_MAX) return neg(E2BIG);
  const bytes = words * 8;
  const region = regionOf(src);
  let copy: Uint8Array;
  if (region === 0 || h.mem.live(region) === undefined) {
    // No memory of the program's: copy_from_kernel_nofault fails (-ERANGE below the kernel half, else -EFAULT); the
    // one-word form returns -EFAULT whatever the reason.
    return neg(words === 1 || kernelNofaultAllowed(src) ? EFAULT : ERANGE);
  }
  if (region === REGION_CTX || region === REGION_MAP_HANDLE || region === REGION_FUNC) {
    throw new VmFault('unsupported', 'bpf_iter_bits_new: reading kernel memory behind a context, map or function pointer is not modelled', c.pc);
  }
  try {
    copy = h.mem.bytes(src, bytes, false, c.pc, `bpf_iter_bits_new words (argument 2, ${bytes} bytes)`).slice();
  } catch (e) {
    if (e instanceof VmFault) throw new VmFault('unsupported', 'bpf_iter_bits_new: kernel memory past the end of the object is not modelled', c.pc);
    throw e;
  }
  if (words === 1) it.setBigUint64(0, new DataView(copy.buffer).getBigUint64(0, true), true);
  else copies.set(c.regs[1], copy);
  it.setInt32(8, words * 64, true);
  return 0n;
};

const iterBitsNext: Kfunc = (h, c) => {
  const it = bitsIterAt(h, c, 'bpf_iter_bits_next');
  const nrBits = it.getInt32(8, true);
  let bit = it.getInt32(12, true);
  if (!nrBits || bit >= nrBits) return 0n;
  const words = nrBits === 64 ? new Uint8Array(it.buffer, it.byteOffset, 8) : bitsCopies.get(h)?.get(c.regs[1]);
  if (!words) return 0n;
  for (bit++; bit < nrBits && !(words[bit >> 3]! & (1 << (bit & 7))); bit++);
  it.setInt32(12, Math.min(bit, nrBits), true);
  return bit >= nrBits ? 0n : c.regs[1] + 12n; // &kit->bit
};

const iterBitsDestroy: Kfunc = (h, c) => {
  bitsIterAt(h, c, 'bpf_iter_bits_destroy');
  bitsCopies.get(h)?.delete(c.regs[1]);
  return 0n;
};

/** The struct bpf_res_spin_lock (4 bytes) in a map value that argument 1 points to, set to `word`; returns 0. */
function resLock(h: HelperHost, c: HelperCall, name: string, word: number): bigint {
  const { region, off } = h.mem.resolve(c.regs[1], 4, true, c.pc, `${name} lock (argument 1)`);
  if (region.kind !== 'map-value') throw new VmFault('helper-misuse', `${name}: argument 1 must point to a struct bpf_res_spin_lock in a map value`, c.pc);
  new DataView(region.bytes.buffer, region.bytes.byteOffset + off, 4).setUint32(0, word, true);
  return 0n;
}

// ---- open-coded numeric iterator: struct bpf_iter_num on the stack holds {int cur; int end;} ----
const BPF_MAX_LOOPS = 8 * 1024 * 1024;

/** An open-coded iterator's struct (`size` bytes), which argument 1 must point to on the stack. */
function stackIterator(h: HelperHost, c: HelperCall, name: string, struct: string, size: number): DataView {
  const region = regionOf(c.regs[1]);
  if (region < REGION_STACK0 || region >= REGION_STACK0 + MAX_FRAMES) {
    throw new VmFault('helper-misuse', `${name}: argument 1 must point to a struct ${struct} on the stack`, c.pc);
  }
  const b = h.mem.bytes(c.regs[1], size, true, c.pc, `${name} iterator (argument 1)`);
  return new DataView(b.buffer, b.byteOffset, size);
}

const iterAt = (h: HelperHost, c: HelperCall, name: string): DataView => stackIterator(h, c, name, 'bpf_iter_num', 8);

const iterNew: Kfunc = (h, c) => {
  const it = iterAt(h, c, 'bpf_iter_num_new');
  const start = s32(c.regs[2]);
  const end = s32(c.regs[3]);
  const fail = (errno: number) => { it.setInt32(0, 0, true); it.setInt32(4, 0, true); return neg(errno); };
  if (start > end) return fail(EINVAL);
  if (end - start > BPF_MAX_LOOPS) return fail(E2BIG);
  it.setInt32(0, (start - 1) | 0, true);
  it.setInt32(4, end, true);
  return 0n;
};

const iterNext: Kfunc = (h, c) => {
  const it = iterAt(h, c, 'bpf_iter_num_next');
  const next = (it.getInt32(0, true) + 1) | 0;
  if (next >= it.getInt32(4, true)) {
    it.setInt32(0, 0, true);
    it.setInt32(4, 0, true);
    return 0n;
  }
  it.setInt32(0, next, true);
  return c.regs[1]; // &it->cur
};

const iterDestroy: Kfunc = (h, c) => {
  const it = iterAt(h, c, 'bpf_iter_num_destroy');
  it.setInt32(0, 0, true);
  it.setInt32(4, 0, true);
  return 0n;
};

// ---- conntrack ----
const NF_BPF_CT_OPTS_SZ = 16;
const NF_BPF_CT_OPTS_OLD_SZ = 12;
const BPF_F_CURRENT_NETNS = -1;

interface CtOpts { view?: DataView }

/** The checks __bpf_nf_ct_lookup and __bpf_nf_ct_alloc_entry share; 0 or -errno. */
function checkOpts(h: HelperHost, c: HelperCall, name: string): { errno: number; opts?: DataView; tuple?: Tuple; zone: number } {
  const tupleLen = u32(c.regs[3]);
  const optsLen = u32(c.regs[5]);
  const opts: CtOpts = {};
  if (c.regs[4] !== 0n && optsLen > 0) {
    const b = h.mem.bytes(c.regs[4], optsLen, true, c.pc, `${name} opts (argument 4, ${optsLen} bytes)`);
    opts.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  if (!opts.view || c.regs[2] === 0n) return { errno: EINVAL, opts: opts.view, zone: 0 };
  const o = opts.view;
  if (optsLen !== NF_BPF_CT_OPTS_SZ && optsLen !== NF_BPF_CT_OPTS_OLD_SZ) return { errno: EINVAL, opts: o, zone: 0 };
  // 16 bytes: the reserved bytes must be 0; the 12 bytes of older kernels end before the zone, which must be 0 then.
  if (optsLen === NF_BPF_CT_OPTS_SZ && (o.getUint8(13) || o.getUint8(14) || o.getUint8(15))) return { errno: EINVAL, opts: o, zone: 0 };
  if (optsLen === NF_BPF_CT_OPTS_OLD_SZ && o.getUint16(10, true)) return { errno: EINVAL, opts: o, zone: 0 };
  // The lookup checks the protocol before the namespace id's range, the allocation after it (6.18, measured); both
  // parse the tuple (its size) before they look the namespace up.
  const l4 = o.getUint8(8);
  const netns = o.getInt32(0, true);
  const alloc = name === 'bpf_xdp_ct_alloc';
  if (alloc && netns < BPF_F_CURRENT_NETNS) return { errno: EINVAL, opts: o, zone: 0 };
  if (l4 !== IPPROTO_TCP && l4 !== IPPROTO_UDP) return { errno: EPROTO, opts: o, zone: 0 };
  if (netns < BPF_F_CURRENT_NETNS) return { errno: EINVAL, opts: o, zone: 0 };
  const zone = optsLen === NF_BPF_CT_OPTS_SZ ? o.getUint16(10, true) : 0;
  if (tupleLen !== 12 && tupleLen !== 36) return { errno: EAFNOSUPPORT, opts: o, zone };
  // Only the current namespace is modelled: any other id is one that does not exist (get_net_ns_by_id fails).
  if (netns >= 0) return { errno: ENONET, opts: o, zone: 0 };
  const t = h.mem.bytes(c.regs[2], tupleLen, false, c.pc, `${name} tuple (argument 2, ${tupleLen} bytes)`);
  const tv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  let tuple: Tuple;
  if (tupleLen === 12) {
    tuple = { family: 4, src: t.slice(0, 4), dst: t.slice(4, 8), sport: tv.getUint16(8, false), dport: tv.getUint16(10, false), proto: l4 };
  } else if (tupleLen === 36) {
    tuple = { family: 6, src: t.slice(0, 16), dst: t.slice(16, 32), sport: tv.getUint16(32, false), dport: tv.getUint16(34, false), proto: l4 };
  } else {
    return { errno: EAFNOSUPPORT, opts: o, zone };
  }
  return { errno: 0, opts: o, tuple, zone };
}

function connPointer(h: HelperHost, st: KfuncState, conn: Conn, init: boolean): bigint {
  let a = st.connAddr.get(conn);
  if (a === undefined) {
    a = h.mem.scratch(conn.bytes, init ? 'struct nf_conn___init' : 'struct nf_conn');
    st.connAddr.set(conn, a);
    st.byAddr.set(a, conn);
  }
  return a;
}

function connArg(c: HelperCall, st: KfuncState, name: string): Conn {
  const conn = st.byAddr.get(c.regs[1]);
  if (!conn) throw new VmFault('helper-misuse', `${name}: argument 1 must be a struct nf_conn from bpf_xdp_ct_lookup/bpf_xdp_ct_alloc (the verifier: "Possibly NULL pointer passed to trusted arg0" or a released reference)`, c.pc);
  return conn;
}

const setError = (o: DataView | undefined, errno: number) => o?.setInt32(4, -errno, true);

const ctLookup: Kfunc = (h, c, st) => {
  ctxArg(c, 'bpf_xdp_ct_lookup');
  const r = checkOpts(h, c, 'bpf_xdp_ct_lookup');
  if (r.errno) { setError(r.opts, r.errno); return 0n; }
  const found = table(h, st).find(r.tuple!, r.zone, nowJiffies(h));
  if (!found) { setError(r.opts, ENOENT); return 0n; }
  r.opts!.setUint8(9, found.dir);
  return connPointer(h, st, found.conn, false);
};

const ctAlloc: Kfunc = (h, c, st) => {
  ctxArg(c, 'bpf_xdp_ct_alloc');
  const r = checkOpts(h, c, 'bpf_xdp_ct_alloc');
  if (r.errno) { setError(r.opts, r.errno); return 0n; }
  const tbl = table(h, st);
  const conn = new Conn(tbl.layout, r.tuple!, swapTuple(r.tuple!));
  conn.zone = r.zone;
  conn.timeout = Number(10n * HZ); // __bpf_nf_ct_alloc_entry: 10 s until bpf_ct_set_timeout
  return connPointer(h, st, conn, true);
};

const ctInsert: Kfunc = (h, c, st) => {
  const conn = connArg(c, st, 'bpf_ct_insert_entry');
  if (conn.inserted) throw new VmFault('helper-misuse', 'bpf_ct_insert_entry: the connection is already inserted (argument 1 must come from bpf_xdp_ct_alloc)', c.pc);
  conn.status |= IPS.CONFIRMED;
  if (!table(h, st).insert(conn, nowJiffies(h))) {
    // nf_conntrack_free: the allocation is gone; the program gets NULL.
    const a = st.connAddr.get(conn)!;
    st.byAddr.delete(a);
    h.mem.release(a);
    return 0n;
  }
  return st.connAddr.get(conn)!;
};

const ctRelease: Kfunc = (h, c, st) => {
  connArg(c, st, 'bpf_ct_release');
  return 0n;
};

/** msecs_to_jiffies for HZ 250. */
const msToJiffies = (ms: number) => Math.ceil((ms * Number(HZ)) / 1000);

/** __nf_ct_set_timeout: relative before insertion, absolute after. */
function setTimeout(h: HelperHost, conn: Conn, ms: number): void {
  let j = msToJiffies(ms);
  if (j > 0x7fffffff) j = 0x7fffffff;
  conn.timeout = conn.inserted ? (nowJiffies(h) + j) >>> 0 : j;
}

const ctSetTimeout: Kfunc = (h, c, st) => {
  setTimeout(h, connArg(c, st, 'bpf_ct_set_timeout'), u32(c.regs[2]));
  return 0n;
};

const ctChangeTimeout: Kfunc = (h, c, st) => {
  const conn = connArg(c, st, 'bpf_ct_change_timeout');
  if (conn.status & IPS.FIXED_TIMEOUT) return neg(EPERM);
  setTimeout(h, conn, u32(c.regs[2]));
  return conn.status & IPS.DYING ? neg(ETIME) : 0n;
};

/** nf_ct_change_status_common. */
function changeStatus(conn: Conn, status: number): bigint {
  const d = conn.status ^ status;
  if (d & (IPS.EXPECTED | IPS.CONFIRMED | IPS.DYING)) return neg(EBUSY);
  if (d & IPS.SEEN_REPLY && !(status & IPS.SEEN_REPLY)) return neg(EBUSY);
  if (d & IPS.ASSURED && !(status & IPS.ASSURED)) return neg(EBUSY);
  conn.status |= status & ~IPS_UNCHANGEABLE_MASK & 0xffff;
  return 0n;
}

const ctSetStatus: Kfunc = (h, c, st) => changeStatus(connArg(c, st, 'bpf_ct_set_status'), u32(c.regs[2]));
const ctChangeStatus: Kfunc = (h, c, st) => changeStatus(connArg(c, st, 'bpf_ct_change_status'), u32(c.regs[2]));

/** bpf_ct_set_nat_info(ct, addr, port, manip): nf_nat_setup_info with one address (and port when > 0). */
const ctSetNatInfo: Kfunc = (h, c, st) => {
  const conn = connArg(c, st, 'bpf_ct_set_nat_info');
  const orig = conn.tuple(0);
  const addr = h.mem.bytes(c.regs[2], 16, false, c.pc, 'bpf_ct_set_nat_info addr (argument 2, union nf_inet_addr)');
  const port = s32(c.regs[3]);
  const manip = u32(c.regs[4]);
  const a = addr.slice(0, orig.family === 4 ? 4 : 16);
  const reply = conn.tuple(1);
  // SRC: replies come back to the new source; DST: replies come from the new destination.
  const done = manip === 0 ? IPS.SRC_NAT_DONE : IPS.DST_NAT_DONE;
  if (conn.status & done) return 0n; // nf_nat_setup_info: already done for this manip -> NF_ACCEPT
  const p = port > 0 ? port & 0xffff : undefined;
  const next = manip === 0
    ? { ...reply, dst: a, dport: p ?? reply.dport }
    : { ...reply, src: a, sport: p ?? reply.sport };
  conn.setTuple(1, next);
  conn.status |= manip === 0 ? IPS.SRC_NAT | IPS.SRC_NAT_DONE : IPS.DST_NAT | IPS.DST_NAT_DONE;
  return 0n;
};

// ---- bpf_xdp_get_xfrm_state / bpf_xdp_xfrm_state_release (net/xfrm/xfrm_state_bpf.c) ----
/** sizeof(struct bpf_xfrm_state_opts): error, netns_id, mark, daddr (16), spi, proto, family. */
const BPF_XFRM_STATE_OPTS_SZ = 36;
/** The simulator holds no IPsec states (the table of a fresh network namespace): every lookup misses. */
const xfrmGetState: Kfunc = (h, c) => {
  ctxArg(c, 'bpf_xdp_get_xfrm_state');
  const size = u32(c.regs[3]);
  if (c.regs[2] === 0n || size < 4) return 0n;
  const o = out(h, c, 2, Math.min(size, BPF_XFRM_STATE_OPTS_SZ), 'bpf_xdp_get_xfrm_state opts');
  const netns = o.byteLength >= 8 ? o.getInt32(4, true) : 0;
  const errno = size !== BPF_XFRM_STATE_OPTS_SZ || netns < -1 ? EINVAL : netns >= 0 ? ENONET : ENOENT;
  o.setInt32(0, -errno, true);
  return 0n;
};

// ---- bpf_cast_to_kern_ctx / bpf_rdonly_cast (kernel/bpf/helpers.c; helper-impl/kern-ctx.ts) ----
const castToKernCtx: Kfunc = (h, c, st) => {
  ctxArg(c, 'bpf_cast_to_kern_ctx');
  if (!st.kctx) {
    st.kctx = makeKernCtx(h.mem, h.buff);
    h.mem.onPacketSync = st.kctx.sync;
  }
  return st.kctx.addr;
};

const rdonlyCast: Kfunc = (_h, c) => c.regs[1];

// ---- program-allocated objects, lists and red-black trees (kernel/bpf/helpers.c; helper-impl/graph.ts) ----
// bpf_obj_new: an object of the program-local BTF type's size (zeroed here; the kernel's may hold what an earlier
// dropped object left). The verifier rewrites the `meta` and `off` arguments of the *_impl calls; the node's offset
// in its object is the pointer's offset here.
const objNew: Kfunc = (h, c, st) => {
  const id = Number(c.regs[1] & 0xffffffffn);
  const size = h.obj.btf ? resolveSize(h.obj.btf, id) : 'the object has no BTF';
  if (typeof size === 'string') throw new VmFault('helper-misuse', `bpf_obj_new: argument 1 must be the BTF id of a program-local struct (bpf_core_type_id_local): ${size}`, c.pc);
  // The kernel's allocator only fails when memory runs out: never here.
  return objAddress(h, st, newObject(size), `object of bpf_obj_new (BTF type ${id}, ${size} bytes)`);
};

/** The object's address in this run (one per run, made when the program first reaches it). */
function objAddress(h: HelperHost, st: KfuncState, o: GraphObject, name = `object of bpf_obj_new (${o.bytes.length} bytes)`): bigint {
  const objs = (st.objAddr ??= new Map());
  let a = objs.get(o);
  if (a === undefined) objs.set(o, (a = h.mem.scratch(o.bytes, name)));
  return a;
}

/** The bpf_obj_new object a pointer points into, or undefined (a pointer of another kind). */
function objectAt(h: HelperHost, addr: bigint): GraphObject | undefined {
  const id = regionOf(addr);
  const r = id === 0 ? undefined : h.mem.live(id);
  return r && objectOf(r.bytes);
}

function dropObject(h: HelperHost, st: KfuncState, o: GraphObject): void {
  dropRef(o, (freed) => {
    const a = st.objAddr?.get(freed);
    if (a !== undefined) h.mem.release(a);
  });
}

const objDrop: Kfunc = (h, c, st) => {
  const o = objectAt(h, c.regs[1]);
  if (o) dropObject(h, st, o);
  else h.mem.release(c.regs[1]);
  return 0n;
};

/** bpf_refcount_acquire: one more owning reference to the object; NULL once its count has reached 0. */
const refcountAcquire: Kfunc = (h, c) => {
  const o = objectAt(h, c.regs[1]);
  if (!o) throw new VmFault('helper-misuse', 'bpf_refcount_acquire: argument 1 must be an object from bpf_obj_new', c.pc);
  if (o.freed || o.refs === 0) return 0n;
  o.refs++;
  return c.regs[1];
};

const FIELD = { list: 'bpf_list_node', rb: 'bpf_rb_node' } as const;
const ROOT = { list: 'bpf_list_head', rb: 'bpf_rb_root' } as const;

function nodeArg(h: HelperHost, c: HelperCall, reg: number, kind: 'list' | 'rb', name: string): GraphNode {
  const o = objectAt(h, c.regs[reg]);
  if (!o || o.freed) throw new VmFault('helper-misuse', `${name}: argument ${reg} must point to the ${FIELD[kind]} of an object from bpf_obj_new`, c.pc);
  return nodeOf(o, offsetOf(c.regs[reg]));
}

function headArg(h: HelperHost, c: HelperCall, kind: 'list' | 'rb', name: string) {
  const { region, off } = h.mem.resolve(c.regs[1], 16, false, c.pc, `${name} ${ROOT[kind]} (argument 1)`);
  return kind === 'list' ? collectionAt(region.bytes, off, 'list') : collectionAt(region.bytes, off, 'rb');
}

const nodeAddress = (h: HelperHost, st: KfuncState, n: GraphNode | undefined): bigint => (n ? objAddress(h, st, n.obj) + BigInt(n.off) : 0n);

/** bpf_list_push_front_impl / _back_impl: 0; -EINVAL (and the reference dropped) when the node is in a collection. */
function listPush(back: boolean): Kfunc {
  const name = back ? 'bpf_list_push_back' : 'bpf_list_push_front';
  return (h, c, st) => {
    const head = headArg(h, c, 'list', name) as ListHead;
    const n = nodeArg(h, c, 2, 'list', name);
    if (n.owner) {
      dropObject(h, st, n.obj);
      return neg(EINVAL);
    }
    if (back) head.items.push(n); else head.items.unshift(n);
    n.owner = head;
    return 0n;
  };
}

/** bpf_list_pop_front / _back take the node out (the program owns it); bpf_list_front / _back only look. */
function listTake(back: boolean, pop: boolean): Kfunc {
  const name = `bpf_list_${pop ? 'pop_' : ''}${back ? 'back' : 'front'}`;
  return (h, c, st) => {
    const head = headArg(h, c, 'list', name) as ListHead;
    if (head.items.length === 0) return 0n;
    const n = pop ? (back ? head.items.pop()! : head.items.shift()!) : head.items[back ? head.items.length - 1 : 0]!;
    if (pop) n.owner = undefined;
    return nodeAddress(h, st, n);
  };
}

/**
 * bpf_rbtree_add_impl: walks down from the root calling `less(node, parent)` at each node (left when it returns
 * true, right otherwise: equal keys go after the ones already there), then links and rebalances; 0, or -EINVAL (and
 * the reference dropped) when the node is in a collection.
 */
const rbtreeAdd: Kfunc = (h, c, st) => {
  const root = headArg(h, c, 'rb', 'bpf_rbtree_add') as RbRoot;
  const n = nodeArg(h, c, 2, 'rb', 'bpf_rbtree_add');
  if (regionOf(c.regs[3]) !== REGION_FUNC) throw new VmFault('helper-misuse', 'bpf_rbtree_add: argument 3 must be a function address (the less callback)', c.pc);
  if (n.owner) {
    dropObject(h, st, n.obj);
    return neg(EINVAL);
  }
  const link = (parent: GraphNode | undefined, left: boolean): bigint => {
    rbInsert(root, n, parent, left);
    n.owner = root;
    return 0n;
  };
  let at = root.root;
  if (!at) return link(undefined, false);
  const me = nodeAddress(h, st, n);
  return {
    loop: {
      fnPc: offsetOf(c.regs[3]), count: 1, ctxArg: 0n,
      args: () => [me, nodeAddress(h, st, at), 0n, 0n],
      then: (less) => {
        const next = less !== 0n ? at!.left : at!.right;
        if (!next) return link(at, less !== 0n);
        at = next;
        return [me, nodeAddress(h, st, at), 0n, 0n];
      },
    },
  };
};

/** bpf_rbtree_remove: the node out of the tree (the program owns it), or NULL when it is not in this tree. */
const rbtreeRemove: Kfunc = (h, c, st) => {
  const root = headArg(h, c, 'rb', 'bpf_rbtree_remove') as RbRoot;
  const n = nodeArg(h, c, 2, 'rb', 'bpf_rbtree_remove');
  if (n.owner !== root) return 0n;
  rbErase(root, n);
  n.owner = undefined;
  return nodeAddress(h, st, n);
};

/** bpf_rbtree_left / _right: the node's child, or NULL (also when the node is not in this tree). */
function rbtreeChild(right: boolean): Kfunc {
  const name = right ? 'bpf_rbtree_right' : 'bpf_rbtree_left';
  return (h, c, st) => {
    const root = headArg(h, c, 'rb', name) as RbRoot;
    const n = nodeArg(h, c, 2, 'rb', name);
    return n.owner === root ? nodeAddress(h, st, right ? n.right : n.left) : 0n;
  };
}

// ---- bpf_wq (kernel/bpf/helpers.c) on a map value's struct bpf_wq: XDP may initialise one but never give it a
// callback (bpf_wq_set_callback_impl's callback may sleep: the verifier refuses it in XDP), so starting one is -EINVAL ----
function wqArg(h: HelperHost, c: HelperCall, name: string): { bytes: Uint8Array; off: number } {
  const id = regionOf(c.regs[1]);
  const region = id === 0 ? undefined : h.mem.live(id);
  if (region?.kind !== 'map-value') throw new VmFault('helper-misuse', `${name}: argument 1 must be a struct bpf_wq in a map value`, c.pc);
  const { off } = h.mem.resolve(c.regs[1], 16, false, c.pc, `${name} struct bpf_wq (argument 1)`);
  return { bytes: region.bytes, off };
}

const wqInitKfunc: Kfunc = (h, c) => {
  const w = wqArg(h, c, 'bpf_wq_init');
  if (regionOf(c.regs[2]) !== REGION_MAP_HANDLE) throw new VmFault('helper-misuse', 'bpf_wq_init: argument 2 must be the map that holds the value', c.pc);
  if (u32(c.regs[3]) !== 0) return neg(EINVAL);
  return wqInit(w.bytes, w.off) ? 0n : neg(EBUSY);
};

const wqStart: Kfunc = (h, c) => {
  wqArg(h, c, 'bpf_wq_start');
  return neg(EINVAL);
};

// ---- bpf_percpu_obj_new / _drop: the verifier lets the program only pass the pointer on (to a map's percpu kptr
// field or to the drop), so one zeroed image of the object stands for every CPU's ----
const percpuObjNew: Kfunc = (h, c) => {
  const id = Number(c.regs[1] & 0xffffffffn);
  const size = h.obj.btf ? resolveSize(h.obj.btf, id) : 'the object has no BTF';
  if (typeof size === 'string') throw new VmFault('helper-misuse', `bpf_percpu_obj_new: argument 1 must be the BTF id of a program-local struct (bpf_core_type_id_local): ${size}`, c.pc);
  return h.mem.scratch(new Uint8Array(size), `object of bpf_percpu_obj_new (BTF type ${id}, ${size} bytes, per CPU)`);
};

// ---- string kfuncs (kernel/bpf/helpers.c) over the program's memory ----
function stringMemory(h: HelperHost, c: HelperCall, name: string): StringMemory {
  const known = (s: bigint) => regionOf(s) !== 0 && h.mem.live(regionOf(s)) !== undefined;
  return {
    // copy_from_kernel_nofault_allowed on x86-64: user and non-canonical addresses and the vsyscall page are refused.
    allowed: (s) => known(s) || kernelNofaultAllowed(s),
    at: (s, i) => {
      if (!known(s)) return undefined; // a kernel address the simulator has nothing at: the read faults (-EFAULT)
      const r = regionOf(s);
      if (r === REGION_CTX || r === REGION_MAP_HANDLE || r === REGION_FUNC) {
        throw new VmFault('unsupported', `${name}: reading kernel memory behind a ${r === REGION_CTX ? 'context' : r === REGION_FUNC ? 'function' : 'map'} pointer is not modelled`, c.pc);
      }
      try {
        const { region, off } = h.mem.resolve(s + BigInt(i), 1, false, c.pc, `${name} string`);
        return region.bytes[off]!;
      } catch (e) {
        // Past the end of the object the kernel reads whatever memory follows it, which the simulator does not have.
        if (e instanceof VmFault && e.kind !== 'unsupported') throw new VmFault('unsupported', `${name}: kernel memory past the end of the object (no NUL before it) is not modelled`, c.pc);
        throw e;
      }
    },
  };
}

const stringKfuncs = STRING_KFUNCS.map((name): [string, Kfunc] => [name, (h, c) =>
  BigInt.asUintN(64, BigInt(stringKfunc(name, stringMemory(h, c, name), [c.regs[1], c.regs[2], c.regs[3]])!))]);

const KFUNCS = new Map<string, Kfunc>([
  ...stringKfuncs,
  ['bpf_xdp_metadata_rx_timestamp', rxTimestamp],
  ['bpf_xdp_metadata_rx_hash', rxHash],
  ['bpf_xdp_metadata_rx_vlan_tag', rxVlanTag],
  ['bpf_dynptr_from_xdp', fromXdp],
  ['bpf_dynptr_slice', (h, c) => slice(h, c, false)],
  ['bpf_dynptr_slice_rdwr', (h, c) => slice(h, c, true)],
  ['bpf_dynptr_adjust', adjust],
  ['bpf_dynptr_is_null', (h, c) => (dynptrAt(h, c, 1, 'bpf_dynptr_is_null').data === 0n ? 1n : 0n)],
  ['bpf_dynptr_is_rdonly', (h, c) => {
    const d = dynptrAt(h, c, 1, 'bpf_dynptr_is_rdonly');
    return d.data !== 0n && d.rdonly ? 1n : 0n;
  }],
  ['bpf_dynptr_size', (h, c) => {
    const d = dynptrAt(h, c, 1, 'bpf_dynptr_size');
    return d.data === 0n ? BigInt((-EINVAL) >>> 0) : BigInt(d.size);
  }],
  ['bpf_dynptr_clone', clone],
  ['bpf_iter_num_new', iterNew],
  ['bpf_iter_num_next', iterNext],
  ['bpf_iter_num_destroy', iterDestroy],
  ['bpf_xdp_ct_lookup', ctLookup],
  ['bpf_xdp_ct_alloc', ctAlloc],
  ['bpf_ct_insert_entry', ctInsert],
  ['bpf_ct_release', ctRelease],
  ['bpf_ct_set_timeout', ctSetTimeout],
  ['bpf_ct_change_timeout', ctChangeTimeout],
  ['bpf_ct_set_status', ctSetStatus],
  ['bpf_ct_change_status', ctChangeStatus],
  ['bpf_ct_set_nat_info', ctSetNatInfo],
  ['bpf_obj_new_impl', objNew],
  ['bpf_obj_drop_impl', objDrop],
  ['bpf_refcount_acquire_impl', refcountAcquire],
  ['bpf_list_push_front_impl', listPush(false)],
  ['bpf_list_push_back_impl', listPush(true)],
  ['bpf_list_pop_front', listTake(false, true)],
  ['bpf_list_pop_back', listTake(true, true)],
  ['bpf_list_front', listTake(false, false)],
  ['bpf_list_back', listTake(true, false)],
  ['bpf_rbtree_add_impl', rbtreeAdd],
  ['bpf_rbtree_remove', rbtreeRemove],
  ['bpf_rbtree_first', (h, c, st) => nodeAddress(h, st, rbFirst(headArg(h, c, 'rb', 'bpf_rbtree_first') as RbRoot))],
  ['bpf_rbtree_root', (h, c, st) => nodeAddress(h, st, (headArg(h, c, 'rb', 'bpf_rbtree_root') as RbRoot).root)],
  ['bpf_rbtree_left', rbtreeChild(false)],
  ['bpf_rbtree_right', rbtreeChild(true)],
  ['bpf_percpu_obj_new_impl', percpuObjNew],
  ['bpf_wq_init', wqInitKfunc],
  ['bpf_wq_start', wqStart],
  ['bpf_wq_set_callback_impl', (_h, c) => {
    throw new VmFault('helper-misuse', `bpf_wq_set_callback_impl: ${WQ_CALLBACK_REFUSED}`, c.pc);
  }],
  ['bpf_percpu_obj_drop_impl', (h, c) => { h.mem.release(c.regs[1]); return 0n; }],
  ['bpf_dynptr_copy', dynptrCopy],
  ['bpf_dynptr_memset', dynptrMemset],
  ['bpf_xdp_pull_data', xdpPullData],
  ['bpf_cast_to_kern_ctx', castToKernCtx],
  ['bpf_rdonly_cast', rdonlyCast],
  ['bpf_xdp_get_xfrm_state', xfrmGetState],
  // Never reached with a state: every lookup returns NULL.
  ['bpf_xdp_xfrm_state_release', () => 0n],
  ['bpf_iter_bits_new', iterBitsNew],
  ['bpf_iter_bits_next', iterBitsNext],
  ['bpf_iter_bits_destroy', iterBitsDestroy],
  // Resilient spin locks (kernel/bpf/rqspinlock.c, 6.15): one program at a time never waits, so taking the lock
  // succeeds (0); the 4-byte lock word in the map value is 1 while held, 0 again after the unlock.
  ['bpf_res_spin_lock', (h, c) => resLock(h, c, 'bpf_res_spin_lock', 1)],
  ['bpf_res_spin_unlock', (h, c) => resLock(h, c, 'bpf_res_spin_unlock', 0)],
  ['bpf_res_spin_lock_irqsave', (h, c) => {
    h.mem.bytes(c.regs[2], 8, true, c.pc, 'bpf_res_spin_lock_irqsave flags (argument 2)').fill(0);
    return resLock(h, c, 'bpf_res_spin_lock_irqsave', 1);
  }],
  ['bpf_res_spin_unlock_irqrestore', (h, c) => {
    h.mem.bytes(c.regs[2], 8, false, c.pc, 'bpf_res_spin_unlock_irqrestore flags (argument 2)');
    return resLock(h, c, 'bpf_res_spin_unlock_irqrestore', 0);
  }],
  // RCU, preemption and interrupts: nothing to model in a simulator that runs one program at a time (the verifier
  // checks their pairing; the irq flags slot is one the program cannot read).
  // bpf_map_sum_elem_count (kernel/bpf/map_iter.c): the hash maps' per-CPU element counters summed; 0 for maps
  // without them (arrays, tries, ...).
  ['bpf_map_sum_elem_count', (h, c) => {
    const v = c.regs[1];
    const i = offsetOf(v);
    if (regionOf(v) !== REGION_MAP_HANDLE || i < 0 || i >= h.maps.length) throw new VmFault('helper-misuse', 'bpf_map_sum_elem_count: argument 1 must be a map', c.pc);
    const map = h.maps[i]!;
    return COUNTED_MAPS.has(map.def.type) ? BigInt(map.size()) : 0n;
  }],
  // bpf_throw (kernel/bpf/helpers.c): the run ends at once, every frame unwound, and the default exception callback
  // returns the cookie as the program's return value.
  ['bpf_throw', (h, c) => ({ stop: c.regs[1] })],
  ['bpf_rcu_read_lock', () => 0n],
  ['bpf_rcu_read_unlock', () => 0n],
  ['bpf_preempt_disable', () => 0n],
  ['bpf_preempt_enable', () => 0n],
  ['bpf_local_irq_save', (h, c) => { h.mem.bytes(c.regs[1], 8, true, c.pc, 'bpf_local_irq_save flags (argument 1)').fill(0); return 0n; }],
  ['bpf_local_irq_restore', (h, c) => { h.mem.bytes(c.regs[1], 8, false, c.pc, 'bpf_local_irq_restore flags (argument 1)'); return 0n; }],
]);

/** The kernel's refusal of bpf_wq_set_callback_impl in an XDP program (never sleepable). */
export const WQ_CALLBACK_REFUSED = 'sleepable callback in a program that is not sleepable: the workqueue callback may sleep, and an XDP program never may, so the kernel refuses the program';

/** Call the kfunc a kfunc call names, or fault naming it. */
export function dispatchKfunc(h: HelperHost, c: HelperCall): HelperOutcome {
  const k = c.program.kfuncs?.[c.id];
  if (!k) throw new VmFault('invalid-insn', `kfunc call ${c.id} does not name a kfunc of program ${c.program.name}`, c.pc);
  const impl = k.missing ? undefined : KFUNCS.get(k.name);
  if (!impl && (k as { unmodelled?: boolean }).unmodelled) throw new VmFault('unsupported', `kfunc '${k.name}' is not modelled by XDP Lens, and this packet reached the call (the kernel has the function)`, c.pc);
  if (!impl) throw new VmFault('unsupported', `kfunc '${k.name}' is not modelled (a weak __ksym: bpf_ksym_exists() said it is absent)`, c.pc);
  return impl(h, c, state(h));
}
