// BPF helper functions as an XDP program sees them, dispatched by the helper id in `call imm`.
//
// Every kernel helper id (1..211, names from ___BPF_FUNC_MAPPER) is known, so that a program calling one we do not
// model faults with `helper N (bpf_name) not supported` instead of failing to load. The implemented ones follow the
// kernel functions named beside them (net/core/filter.c unless noted) for argument checks, errno values and side
// effects; the reference sections C.3-C.9 of shared/reference/xdp-semantics.md hold the measured values.
//
// Arguments arrive in r1-r5 as 64-bit values. Pointers are read through Memory with bounds checks (fault
// 'helper-misuse' naming the helper and argument); a map argument must be a map handle from lddw. Errors the kernel
// returns at run time are returned here as -errno; errors the verifier would have refused at load time are faults.
import { bpfLoopInlined } from './helper-impl/loop-inline.ts';
import { helperName } from '../isa/helper-names.ts';
import { BPF_F_RDONLY_PROG, MapType, type LoadedObject } from '../elf/types.ts';
import { BTF_KIND } from '../elf/btf.ts';
import type { Environment, PerfRecord, RedirectTarget, RunResult, XdpBuff } from './types.ts';
import { execute, type ExecOptions, type FastHelper, type FastHelpers, type HelperCall, type HelperOutcome, type ProgramImage } from './interpreter.ts';
import { Memory, REGION_BIAS, REGION_CTX, REGION_FUNC, REGION_MAP_HANDLE, REGION_PACKET, VmFault, addrOf, offsetOf, regionOf } from './memory.ts';
import { mapSpecialFields, type BpfMap, type MapEntry, type MapTable } from './maps.ts';
import { formatPrintk, formatPrintkSized } from './helper-impl/printk.ts';
import { csumDiff, csumDiffAt } from './helper-impl/csum.ts';
import { copyPacket, kernelNofaultAllowed } from './helper-impl/copy.ts';
import { fibLookup } from './helper-impl/fib.ts';
import { checkMtu, mtuDevice, strncmp, strtox } from './helper-impl/misc.ts';
import { anyCollections as collectionsExist, dropCollections } from './helper-impl/graph.ts';
import { dropTimers, timerCancel, timerExpire, timerInit, timerSetCallback, timerStart, timerStateAt, type TimerState } from './helper-impl/timer.ts';
import { isBloom, isQueueStack } from './queue-maps.ts';
import { checkSyncookie, drawSecrets, genSyncookie, type CookieSecrets } from './helper-impl/syncookie.ts';
import { dispatchKfunc, dynptrData, dynptrFromMem, dynptrRead, dynptrWrite, ringbufReserveDynptr, ringbufTakeDynptr } from './kfuncs.ts';
import { HELPER_PROTOS, MAX_VAR_SIZE, mapFuncCompatible, mapFuncMessage } from './helper-impl/protos.ts';
import { runningKernelFacts, type KernelFacts } from '../kernel-probe.ts';

export { HELPER_NAMES, helperName, isKernelHelper } from '../isa/helper-names.ts';

// errno values (include/uapi/asm-generic/errno-base.h, errno.h; ENOTSUPP is kernel-internal 524).
export const ENOENT = 2;
export const E2BIG = 7;
export const EAGAIN = 11;
export const EACCES = 13;
export const EFAULT = 14;
export const ENODEV = 19;
export const EEXIST = 17;
export const EINVAL = 22;
export const EOPNOTSUPP = 95;
export const ENOTSUPP = 524;

export const XDP_ABORTED = 0;
export const XDP_REDIRECT = 4;
/** sizeof(struct xdp_frame): headroom TX/REDIRECT reserve at data_hard_start. */
export const XDP_FRAME_SIZE = 40;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64: tailroom at the end of every frame. */
export const SKB_SHARED_INFO_SIZE = 320;
export const ETH_HLEN = 14;
export const MAX_TAIL_CALL_CNT = 33;
const BPF_F_BROADCAST = 1 << 3;
const BPF_F_EXCLUDE_INGRESS = 1 << 4;
const BPF_F_CURRENT_CPU = 0xffffffffn;
/** Jiffies per second assumed for bpf_jiffies64 (CONFIG_HZ=250, the Debian/Ubuntu default). */
export const ASSUMED_HZ = 250n;

const neg = (errno: number): bigint => BigInt.asUintN(64, BigInt(-errno));

/** Everything a helper may touch during one run. */
export interface HelperHost {
  mem: Memory;
  obj: LoadedObject;
  /** Every map by handle: the object's maps (lddw), then inner maps created by seeds. */
  maps: BpfMap[];
  mapTable?: MapTable;
  buff: XdpBuff;
  env: Environment;
  nrCpus: number;
  /** Linked programs by entry name (tail-call targets). */
  programByName(name: string): ProgramImage | undefined;
  /** Per-run outputs. */
  out: { redirect?: RedirectTarget; redirectFallback?: RunResult['redirectFallback']; printk: string[]; perf: PerfRecord[] };
  /** Outstanding bpf_ringbuf_reserve records: region address -> map name and bytes. */
  reservations: Map<bigint, { map: string; bytes: Uint8Array }>;
}

export type HelperImpl = (host: HelperHost, call: HelperCall) => HelperOutcome;

// A run's output arrays start as shared frozen empty arrays (a run that prints nothing allocates none): the first
// record of a run replaces them with its own.
function addPrintk(host: HelperHost, line: string): void {
  if (Object.isFrozen(host.out.printk)) host.out.printk = [];
  host.out.printk.push(line);
}

function addPerf(host: HelperHost, rec: PerfRecord): void {
  if (Object.isFrozen(host.out.perf)) host.out.perf = [];
  host.out.perf.push(rec);
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function name(id: number): string {
  return helperName(id) ?? `unknown#${id}`;
}

/** The map behind a map-handle argument, or a fault. */
function mapArg(host: HelperHost, call: HelperCall, reg: number, allowed?: readonly number[]): BpfMap {
  const v = call.regs[reg];
  const index = offsetOf(v);
  if (regionOf(v) !== REGION_MAP_HANDLE || index < 0 || index >= host.maps.length) {
    throw new VmFault('helper-misuse', `${name(call.id)}: argument ${reg} must be a map (lddw of a map), got 0x${v.toString(16)}`, call.pc);
  }
  const map = host.maps[index];
  if (!mapFuncCompatible(map.def.type, call.id)) {
    throw new VmFault('helper-misuse', mapFuncMessage(map.def.type, call.id, name(call.id), map.def.name), call.pc);
  }
  if (allowed && !allowed.includes(map.def.type)) {
    throw new VmFault('helper-misuse', `cannot pass map_type ${map.def.type} into func ${name(call.id)}#${call.id} (map ${map.def.name})`, call.pc);
  }
  return map;
}

const readonlyMap = (map: BpfMap) => map.readonlyForProgram || (map.def.flags & BPF_F_RDONLY_PROG) !== 0;

/** Map types whose values a program cannot look up or update directly (verifier check_map_func_compatibility). */
const NO_ELEM_ACCESS: readonly number[] = [MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY, MapType.CPUMAP, MapType.RINGBUF];
const REDIRECT_MAPS: readonly number[] = [MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP, MapType.XSKMAP];
const PERCPU_MAPS: readonly number[] = [MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH];

const MAP_IN_MAP: readonly number[] = [MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS];

function checkElemAccess(map: BpfMap, call: HelperCall): void {
  // Maps of maps: a program may only look an inner map up (verifier check_map_func_compatibility).
  if (NO_ELEM_ACCESS.includes(map.def.type) || (MAP_IN_MAP.includes(map.def.type) && call.id !== 1)) {
    throw new VmFault('helper-misuse', `cannot pass map_type ${map.def.type} into func ${name(call.id)}#${call.id} (map ${map.def.name})`, call.pc);
  }
}

/** The key argument's description, made once per helper, argument and key size (it is built on every call). */
const keyWhat = new Map<number, string>();

function key(host: HelperHost, call: HelperCall, map: BpfMap, reg: number): Uint8Array {
  const size = map.def.keySize;
  const k = (call.id * 8 + reg) * 65536 + size;
  let what = keyWhat.get(k);
  if (what === undefined) keyWhat.set(k, (what = `${name(call.id)} key (argument ${reg}, ${size} bytes)`));
  return host.mem.bytes(call.regs[reg], size, false, call.pc, what);
}

function valuePointer(host: HelperHost, map: BpfMap, value: Uint8Array | undefined): bigint {
  return value ? host.mem.mapValue(value, map.def.name, readonlyMap(map)) : 0n;
}

// ---- packet geometry (include/net/xdp.h) ----
const linearLen = (b: XdpBuff) => b.dataEnd - b.data;
const fragsLen = (b: XdpBuff) => b.frags.reduce((n, f) => n + f.length, 0);
const buffLen = (b: XdpBuff) => linearLen(b) + fragsLen(b);
/** xdp_data_meta_unsupported: data_meta = data + 1 marks "no metadata". */
const metaUnsupported = (b: XdpBuff) => b.dataMeta > b.data;
const metaLen = (b: XdpBuff) => (metaUnsupported(b) ? 0 : b.data - b.dataMeta);
const dataHardEnd = (b: XdpBuff) => b.frame.length - SKB_SHARED_INFO_SIZE;


function packetBytes(b: XdpBuff, off: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  copyPacket(b, off, out, false);
  return out;
}

// The adjust helpers return 0 or -errno as a number (retN makes the helper's 64-bit result of it).
const retN = (n: number): bigint => (n === 0 ? 0n : BigInt.asUintN(64, BigInt(n)));

/** bpf_xdp_adjust_head: new data in [hard_start + 40 + metalen, data_end - 14]; metadata moves with it. */
function adjustHead(host: HelperHost, delta: number): number {
  // Bytes an earlier packet of a batch left outside the window are zero before anything moves it (Memory.flushClean).
  host.mem.flushClean();
  const b = host.buff;
  const meta = metaLen(b);
  const data = b.data + delta;
  if (data < XDP_FRAME_SIZE + meta || data > b.dataEnd - ETH_HLEN) return -EINVAL;
  if (meta) b.frame.copyWithin(b.dataMeta + delta, b.dataMeta, b.dataMeta + meta);
  b.dataMeta += delta;
  b.data = data;
  host.mem.syncPacket();
  return 0;
}

/** bpf_xdp_adjust_meta: metadata supported; new meta in [hard_start + 40, data]; metalen 4-aligned and <= 255. */
function adjustMeta(host: HelperHost, delta: number): number {
  host.mem.flushClean();
  const b = host.buff;
  const meta = b.dataMeta + delta;
  const len = b.data - meta;
  if (metaUnsupported(b)) return -ENOTSUPP;
  if (meta < XDP_FRAME_SIZE || meta > b.data) return -EINVAL;
  if (len % 4 !== 0 || len > 255) return -EACCES;
  b.dataMeta = meta;
  host.mem.syncPacket();
  return 0;
}

/** bpf_xdp_adjust_tail, linear and multi-buffer (bpf_xdp_frags_increase_tail / bpf_xdp_frags_shrink_tail). */
function adjustTail(host: HelperHost, delta: number): number {
  host.mem.flushClean();
  const b = host.buff;
  if (b.frags.length) {
    if (delta < 0) {
      let free = -delta;
      if (free > buffLen(b) - ETH_HLEN) return -EINVAL;
      while (free > 0 && b.frags.length) {
        const last = b.frags[b.frags.length - 1];
        if (last.length <= free) {
          free -= last.length;
          b.frags.pop();
        } else {
          b.frags[b.frags.length - 1] = last.slice(0, last.length - free);
          free = 0;
        }
      }
      b.dataEnd -= free;
    } else {
      if (!b.fragSize || b.fragSize > b.frame.length) return -EOPNOTSUPP;
      const last = b.frags[b.frags.length - 1];
      if (delta > b.fragSize - last.length) return -EINVAL;
      const grown = new Uint8Array(last.length + delta);
      grown.set(last);
      b.frags[b.frags.length - 1] = grown;
    }
    host.mem.syncPacket();
    return 0;
  }
  const dataEnd = b.dataEnd + delta;
  if (dataEnd > dataHardEnd(b)) return -EINVAL;
  if (dataEnd < b.data + ETH_HLEN) return -EINVAL;
  if (delta > 0) b.frame.fill(0, b.dataEnd, dataEnd);
  b.dataEnd = dataEnd;
  host.mem.syncPacket();
  return 0;
}

/** bpf_xdp_event_output / bpf_perf_event_output for XDP: flags' upper 32 bits = packet bytes to append. */
function perfOutput(host: HelperHost, call: HelperCall, helper: PerfRecord['helper']): bigint {
  const r = call.regs;
  const map = mapArg(host, call, 2, [MapType.PERF_EVENT_ARRAY]);
  const flags = r[3];
  const ctxLen = Number((flags >> 32n) & 0xfffffn);
  if (flags & ~0x000fffff_ffffffffn) return neg(EINVAL);
  if (ctxLen > buffLen(host.buff)) return neg(EFAULT);
  let index = flags & 0xffffffffn;
  if (index === BPF_F_CURRENT_CPU) index = BigInt(host.env.cpu);
  if (index >= BigInt(map.def.maxEntries)) return neg(E2BIG);
  const data = host.mem.bytes(r[4], Number(r[5]), false, call.pc, `${name(call.id)} data (argument 4)`);
  const readers = host.env.perfReaders;
  const reader = readers !== undefined && readers.maps.has(map.def.name) ? readers.cpu : undefined;
  // With a reader's event in one slot (compare opens one): another slot holds no event (-ENOENT, nothing written);
  // its own slot from another CPU is -EOPNOTSUPP (the event is not on this CPU).
  if (reader !== undefined && index !== BigInt(reader)) return neg(ENOENT);
  if (reader !== undefined && host.env.cpu !== reader) return neg(EOPNOTSUPP);
  const rec = new Uint8Array(data.length + ctxLen);
  rec.set(data);
  rec.set(packetBytes(host.buff, 0, ctxLen), data.length);
  addPerf(host, { helper, map: map.def.name, data: hex(rec) });
  if (reader !== undefined) return 0n;
  // The record is kept for the run's output, but the kernel's answer is that of a test run: no perf event is open on
  // the slot (no reader), so -ENOENT (kernel/trace/bpf_trace.c __bpf_perf_event_output).
  return neg(ENOENT);
}

/** get_map_perf_counter's checks on a PERF_EVENT_ARRAY whose slots hold no perf event: -EINVAL, -E2BIG or -ENOENT. */
function perfCounter(host: HelperHost, call: HelperCall): bigint {
  const map = mapArg(host, call, 1, [MapType.PERF_EVENT_ARRAY]);
  const flags = call.regs[2];
  if (flags & ~0xffffffffn) return neg(EINVAL);
  let index = flags;
  if (index === BPF_F_CURRENT_CPU) index = BigInt(host.env.cpu);
  if (index >= BigInt(map.def.maxEntries)) return neg(E2BIG);
  return neg(ENOENT);
}

/**
 * The NUL-terminated string at `addr` one character a byte, as bpf_bprintf_prepare copies a %s argument or a format
 * (Memory.readString decodes UTF-8, which turns bytes past 0x7f into other characters); undefined when unreadable.
 */
function readByteString(mem: Memory, addr: bigint, max = 4096): string | undefined {
  let at;
  try {
    at = mem.resolve(addr, 1, false, -1);
  } catch {
    return undefined;
  }
  const { region, off } = at;
  if (region.kind === 'ctx' || region.kind === 'handle') return undefined;
  let s = '';
  for (let i = off; i < region.hi && i - off < max && region.bytes[i] !== 0; i++) s += String.fromCharCode(region.bytes[i]!);
  return s;
}

function printk(host: HelperHost, call: HelperCall, fmtAddr: bigint, fmtSize: number, args: bigint[]): bigint {
  if (fmtSize <= 0) return neg(EINVAL);
  const fmt = host.mem.bytes(fmtAddr, fmtSize, false, call.pc, `${name(call.id)} fmt (argument 1)`);
  if (fmt[fmt.length - 1] !== 0) return neg(EINVAL);
  const text = formatPrintk(fmt, args, (addr: bigint) => readByteString(host.mem, addr), (addr: bigint, len: number) => {
    try {
      return host.mem.bytes(addr, len, false, call.pc, `${name(call.id)} %pI argument`);
    } catch {
      return undefined;
    }
  });
  if (text === undefined) return neg(EINVAL);
  // `text` holds a character a byte (its length is the kernel's count); the trace line shows the bytes as UTF-8.
  const shown = new TextDecoder().decode(Uint8Array.from(text, (ch) => ch.charCodeAt(0) & 0xff));
  addPrintk(host, shown.endsWith('\n') ? shown.slice(0, -1) : shown);
  return BigInt(text.length);
}

const IMPLEMENTED: [number, HelperImpl][] = [
  // map_lookup_elem (kernel/bpf/helpers.c bpf_map_lookup_elem)
  [1, (h, c) => {
    const map = mapArg(h, c, 1);
    checkElemAccess(map, c);
    if (map.lookupMap) {
      // An outer map returns a pointer to the inner map (NULL for an empty slot), usable by every map helper.
      const inner = map.lookupMap(key(h, c, map, 2));
      if (!inner) return 0n;
      const handle = h.mapTable ? h.mapTable.handle(inner) : h.maps.indexOf(inner);
      return addrOf(REGION_MAP_HANDLE, handle);
    }
    return valuePointer(h, map, map.lookup(key(h, c, map, 2), h.env.cpu));
  }],
  // map_update_elem
  [2, (h, c) => {
    const map = mapArg(h, c, 1);
    checkElemAccess(map, c);
    if (readonlyMap(map)) throw new VmFault('readonly-write', `write into map forbidden: bpf_map_update_elem on ${map.def.name}, which is read-only for programs`, c.pc);
    const value = h.mem.bytes(c.regs[3], map.def.valueSize, false, c.pc, `bpf_map_update_elem value (argument 3, ${map.def.valueSize} bytes)`);
    const k = key(h, c, map, 2);
    const rc = map.update(k, value.slice(), c.regs[4], h.env.cpu);
    // The element's old value goes with its timers (bpf_obj_free_fields).
    if (rc === 0 && timerMaps.has(map)) dropTimers(valueOf(map, k, h.env.cpu));
    if (rc === 0 && collectionsExist()) dropCollections(valueOf(map, k, h.env.cpu));
    return neg(-rc);
  }],
  // map_delete_elem
  [3, (h, c) => {
    const map = mapArg(h, c, 1);
    checkElemAccess(map, c);
    if (readonlyMap(map)) throw new VmFault('readonly-write', `write into map forbidden: bpf_map_delete_elem on ${map.def.name}, which is read-only for programs`, c.pc);
    return neg(-map.delete(key(h, c, map, 2)));
  }],
  [5, (h) => BigInt.asUintN(64, h.env.nowNs())],
  [6, (h, c) => printk(h, c, c.regs[1], Number(c.regs[2] & 0xffffffffn), [c.regs[3], c.regs[4], c.regs[5]])],
  [7, (h) => BigInt(h.env.prandom() >>> 0)],
  [8, (h) => BigInt(h.env.cpu >>> 0)],
  // tail_call (kernel/bpf/core.c: at most MAX_TAIL_CALL_CNT; an empty slot or bad index just continues)
  [12, (h, c) => {
    const map = mapArg(h, c, 2, [MapType.PROG_ARRAY]);
    const index = c.regs[3] & 0xffffffffn;
    if (c.tailCalls >= MAX_TAIL_CALL_CNT || index >= BigInt(map.def.maxEntries)) return 0n;
    const target = map.progAt?.(Number(index));
    const prog = target === undefined ? undefined : h.programByName(target);
    return prog ? { tailCall: prog } : 0n;
  }],
  // redirect: any flag -> XDP_ABORTED; otherwise record the ifindex (checked later by xdp_do_redirect)
  [23, (h, c) => {
    if (c.regs[2] !== 0n) return BigInt(XDP_ABORTED);
    h.out.redirect = { kind: 'ifindex', ifindex: Number(c.regs[1] & 0xffffffffn), flags: 0 };
    h.out.redirectFallback = undefined;
    return BigInt(XDP_REDIRECT);
  }],
  [25, (h, c) => perfOutput(h, c, 'perf_event_output')],
  // perf_event_read / perf_event_read_value (kernel/trace/bpf_trace.c get_map_perf_counter): flags are a slot index
  // (or BPF_F_CURRENT_CPU) and nothing else; no perf event is open in a slot of a test run's maps: -ENOENT, and
  // read_value zeroes its buffer (also for a size other than struct bpf_perf_event_value's 24 bytes: -EINVAL)
  [22, (h, c) => perfCounter(h, c)],
  [55, (h, c) => {
    const size = Number(c.regs[4] & 0xffffffffn);
    const buf = h.mem.bytes(c.regs[3], size, true, c.pc, 'bpf_perf_event_read_value buf (argument 3)');
    const err = size !== 24 ? neg(EINVAL) : perfCounter(h, c);
    buf.fill(0);
    return err;
  }],
  // csum_diff: from/to may be NULL with size 0; at most 512 bytes in total (sizeof(sp->diff))
  [28, (h, c) => {
    const r = c.regs;
    const fromSize = Number(r[2] & 0xffffffffn);
    const toSize = Number(r[4] & 0xffffffffn);
    if (fromSize + toSize > 512) return neg(EINVAL);
    const from = h.mem.bytes(r[1], fromSize, false, c.pc, 'bpf_csum_diff from (argument 1)');
    const to = h.mem.bytes(r[3], toSize, false, c.pc, 'bpf_csum_diff to (argument 3)');
    return BigInt.asUintN(64, BigInt(csumDiff(from, to, Number(r[5] & 0xffffffffn))));
  }],
  [44, (h, c) => retN(adjustHead(h, Number(BigInt.asIntN(32, c.regs[2]))))],
  // redirect_map (include/linux/filter.h __bpf_xdp_redirect_map)
  [51, (h, c) => {
    const map = mapArg(h, c, 1, REDIRECT_MAPS);
    const flags = c.regs[3];
    return BigInt(redirectMap(h, map, Number(c.regs[2] & 0xffffffffn), Number(flags & 0xffffffffn), Number(flags >> 32n)));
  }],
  [54, (h, c) => retN(adjustMeta(h, Number(BigInt.asIntN(32, c.regs[2]))))],
  [65, (h, c) => retN(adjustTail(h, Number(BigInt.asIntN(32, c.regs[2]))))],
  // fib_lookup: params is struct bpf_fib_lookup (64 bytes) in program memory, updated in place
  [69, (h, c) => {
    const plen = Number(c.regs[3] & 0xffffffffn);
    if (plen < 64) return neg(EINVAL);
    const params = h.mem.bytes(c.regs[2], plen, true, c.pc, 'bpf_fib_lookup params (argument 2)');
    return BigInt.asUintN(64, BigInt(fibLookup(params, Number(c.regs[4] & 0xffffffffn), h.env.routes)));
  }],
  // spin_lock / spin_unlock: one CPU runs at a time in the simulator; only the argument is checked, as
  // process_spin_lock does (spinLockArg).
  [93, (h, c) => spinLockArg(h, c)],
  [94, (h, c) => spinLockArg(h, c)],
  [118, (h) => (BigInt.asUintN(64, h.env.nowNs()) * ASSUMED_HZ) / 1_000_000_000n],
  [121, (h, c) => perfOutput(h, c, 'xdp_output')],
  [125, (h) => BigInt.asUintN(64, h.env.nowNs())],
  // ktime_get_coarse_ns and ktime_get_tai_ns: the same simulated clock (no clock can match the kernel's; compare
  // reports the bytes they decide as clock-dependent)
  [160, (h) => BigInt.asUintN(64, h.env.nowNs())],
  [208, (h) => BigInt.asUintN(64, h.env.nowNs())],
  // ringbuf_output (kernel/bpf/ringbuf.c): flags only BPF_RB_NO_WAKEUP / BPF_RB_FORCE_WAKEUP
  [130, (h, c) => {
    const map = mapArg(h, c, 1, [MapType.RINGBUF]);
    if (c.regs[4] & ~3n) return neg(EINVAL);
    const size = Number(c.regs[3] & 0xffffffffn);
    if (!ringReserve(map, size)) return neg(EAGAIN);
    const data = h.mem.bytes(c.regs[2], size, false, c.pc, 'bpf_ringbuf_output data (argument 2)');
    addPerf(h, { helper: 'ringbuf_output', map: map.def.name, data: hex(data) });
    return 0n;
  }],
  // ringbuf_reserve: NULL on bad flags or a record larger than the ring
  [131, (h, c) => {
    const map = mapArg(h, c, 1, [MapType.RINGBUF]);
    const size = Number(c.regs[2] & 0xffffffffn);
    if (c.regs[3] !== 0n) return 0n;
    return reserveRecord(h, map, size) ?? 0n;
  }],
  // ringbuf_reserve_dynptr / submit_dynptr / discard_dynptr: the same records behind a RINGBUF dynptr (kfuncs.ts)
  [198, (h, c) => {
    const map = mapArg(h, c, 1, [MapType.RINGBUF]);
    return ringbufReserveDynptr(h, c, (size) => reserveRecord(h, map, size));
  }],
  ...[199, 200].map((id): [number, HelperImpl] => [id, (h, c) => {
    const addr = ringbufTakeDynptr(h, c, name(id));
    if (addr !== undefined) finishRecord(h, c, addr, id === 199);
    return 0n;
  }]),
  // kptr_xchg (kernel/bpf/helpers.c): argument 1 must be a kptr field of a map value, a pointer the BTF tags `kptr`.
  // clang 14 emits no type tags, so an object it built has no such field and the verifier refuses the call ("R1 has
  // no valid kptr"); objects that do declare kptrs are not modelled.
  [194, (h, c) => {
    const tagged = h.obj.btf?.types.some((t) => t?.kind === BTF_KIND.TYPE_TAG && /kptr/.test(t.name));
    if (tagged) throw new VmFault('unsupported', 'bpf_kptr_xchg: kptr fields of map values are not modelled', c.pc);
    throw new VmFault('helper-misuse', 'bpf_kptr_xchg: argument 1 is not a kptr field (the map value\'s BTF tags no pointer `__kptr`; clang 14 emits no type tags): the verifier refuses the program ("R1 has no valid kptr")', c.pc);
  }],
  // dynptr_from_mem / dynptr_data on LOCAL and RINGBUF dynptrs (kfuncs.ts)
  [197, (h, c) => dynptrFromMem(h, c)],
  [203, (h, c) => dynptrData(h, c)],
  // user_ringbuf_drain (kernel/bpf/ringbuf.c): no user-space producer in a test run, so no sample: 0 callbacks;
  // flags other than BPF_RB_NO_WAKEUP / BPF_RB_FORCE_WAKEUP are -EINVAL
  [209, (h, c) => {
    mapArg(h, c, 1, [MapType.USER_RINGBUF]);
    if (regionOf(c.regs[2]) !== REGION_FUNC) throw new VmFault('helper-misuse', 'bpf_user_ringbuf_drain: argument 2 must be a function address (lddw of a function)', c.pc);
    return c.regs[4] & ~3n ? neg(EINVAL) : 0n;
  }],
  // snprintf (kernel/bpf/helpers.c bpf_snprintf): the format as bpf_trace_printk's (bpf_bprintf_prepare), written
  // NUL-terminated into at most str_size bytes; returns the whole formatted length plus one, even when truncated
  [165, (h, c) => {
    const r = c.regs;
    const size = Number(r[2] & 0xffffffffn);
    const dataLen = Number(r[5] & 0xffffffffn);
    if (dataLen % 8 !== 0 || dataLen > 12 * 8 || (dataLen > 0 && r[4] === 0n)) return neg(EINVAL);
    const data = h.mem.bytes(r[4], dataLen, false, c.pc, 'bpf_snprintf data (argument 4)');
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const args: bigint[] = [];
    for (let i = 0; i < dataLen; i += 8) args.push(view.getBigUint64(i, true));
    const fmtText = readByteString(h.mem, r[3]);
    if (fmtText === undefined) throw new VmFault('helper-misuse', 'bpf_snprintf: argument 3 must be a constant NUL-terminated format string', c.pc);
    const fmt = Uint8Array.from(fmtText + '\0', (ch) => ch.charCodeAt(0));
    const text = formatPrintkSized(fmt, args, (addr: bigint) => readByteString(h.mem, addr), (addr: bigint, len: number) => {
      try {
        return h.mem.bytes(addr, len, false, c.pc, 'bpf_snprintf %pI argument');
      } catch {
        return undefined;
      }
    }, size);
    // The format is a constant the verifier checks against data_len at load time (too few arguments, an unknown
    // conversion: the program is refused).
    if (text === undefined) throw new VmFault('helper-misuse', 'bpf_snprintf: the format string is invalid or needs more arguments than data_len gives; the verifier refuses the program', c.pc);
    // What bstr_printf makes of it in `size` bytes (an address or string formatted beforehand is left out once the
    // buffer is full: printk.ts formatPrintkSized).
    const out = Uint8Array.from(text, (ch) => ch.charCodeAt(0) & 0xff);
    if (size > 0) {
      const dst = h.mem.bytes(r[1], size, true, c.pc, 'bpf_snprintf str (argument 1)');
      const n = Math.min(out.length, size - 1);
      dst.set(out.subarray(0, n));
      dst[n] = 0;
    }
    return BigInt(out.length + 1);
  }],
  [132, (h, c) => finishReservation(h, c, true)],
  // ringbuf_query (kernel/bpf/ringbuf.c): available data, ring size, consumer and producer positions; 0 otherwise
  [134, (h, c) => {
    const map = mapArg(h, c, 1, [MapType.RINGBUF]);
    const prod = BigInt(ringState(map).producerPos);
    switch (c.regs[2]) {
      case 0n: return prod;
      case 1n: return BigInt(map.def.maxEntries);
      case 3n: return prod;
      default: return 0n;
    }
  }],
  [133, (h, c) => finishReservation(h, c, false)],
  // trace_vprintk (kernel/trace/bpf_trace.c): data is an array of u64, at most 12, data_len a multiple of 8
  [177, (h, c) => {
    const r = c.regs;
    const dataLen = Number(r[4] & 0xffffffffn);
    if (dataLen % 8 !== 0 || dataLen > 12 * 8 || (dataLen > 0 && r[3] === 0n)) return neg(EINVAL);
    const data = h.mem.bytes(r[3], dataLen, false, c.pc, 'bpf_trace_vprintk data (argument 3)');
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const args: bigint[] = [];
    for (let i = 0; i < dataLen; i += 8) args.push(view.getBigUint64(i, true));
    return printk(h, c, r[1], Number(r[2] & 0xffffffffn), args);
  }],
  // loop (kernel/bpf/bpf_iter.c bpf_loop): at most 1 << 23 iterations, flags must be 0
  [181, (h, c) => {
    const r = c.regs;
    if (r[4] !== 0n) return neg(EINVAL);
    // Inlined by the verifier (helper-impl/loop-inline.ts): all 64 bits of r1 are compared and -E2BIG is a 32-bit
    // move (zero-extended); the helper itself takes a u32 count and returns -E2BIG sign-extended.
    if (bpfLoopInlined(c.program.insns, c.pc)) {
      if (r[1] > 1n << 23n) return BigInt(-E2BIG >>> 0);
    } else if ((r[1] & 0xffffffffn) > 1n << 23n) return neg(E2BIG);
    if (regionOf(r[2]) !== REGION_FUNC) throw new VmFault('helper-misuse', 'bpf_loop: argument 2 must be a function address (lddw of a function)', c.pc);
    const count = Number(r[1] & 0xffffffffn);
    if (count === 0) return 0n;
    return { loop: { fnPc: offsetOf(r[2]), count, ctxArg: r[3] } };
  }],
  [188, (h) => BigInt(buffLen(h.buff))],
  // probe_read_kernel / probe_read_kernel_str (kernel/trace/bpf_trace.c; BPF_CORE_READ on packet pointers)
  [112, (h, c) => probeReadUser(h, c, false)],
  [114, (h, c) => probeReadUser(h, c, true)],
  [113, (h, c) => probeRead(h, c, false)],
  [115, (h, c) => probeRead(h, c, true)],
  // timer_init / timer_set_callback / timer_start / timer_cancel (helper-impl/timer.ts) on a map value's bpf_timer
  [169, (h, c) => {
    const map = mapArg(h, c, 2);
    timerMaps.add(map);
    const t = timerField(h, c);
    return neg(-timerInit(t.bytes, t.off, c.regs[3], map));
  }],
  [170, (h, c) => {
    if (regionOf(c.regs[2]) !== REGION_FUNC) throw new VmFault('helper-misuse', 'bpf_timer_set_callback: argument 2 must be a function address (lddw of a function)', c.pc);
    const t = timerField(h, c);
    return neg(-timerSetCallback(t.bytes, t.off, offsetOf(c.regs[2]), c.program));
  }],
  [171, (h, c) => {
    const t = timerField(h, c);
    const r = timerStart(t.bytes, t.off, c.regs[3], c.regs[2], BigInt.asUintN(64, h.env.nowNs()));
    if (r === 0) {
      // Started to expire later: not fired by the model (helper-impl/timer.ts); kept for fireStartedTimers.
      const state = timerStateAt(t.bytes, t.off)!;
      let later = LATER_TIMERS.get(h);
      if (!later) LATER_TIMERS.set(h, (later = []));
      if (!later.some((x) => x.state === state)) later.push({ state, value: t.bytes });
      return 0n;
    }
    if (typeof r === 'number') return neg(-r);
    let due = DUE_TIMERS.get(h);
    if (!due) DUE_TIMERS.set(h, (due = []));
    due.push({ state: r, value: t.bytes });
    anyDue++;
    return 0n;
  }],
  [172, (h, c) => { const t = timerField(h, c); return neg(-timerCancel(t.bytes, t.off)); }],
  // for_each_map_elem (kernel/bpf/arraymap.c, hashtab.c): the callback gets (map, &key, &value, ctx) for every array
  // slot in order, or every hash element (in the kernel's bucket order with BPF_F_ZERO_SEED, maps.ts walkOrder; in key
  // order otherwise: the kernel's bucket order then depends on a random seed); it stops
  // after a callback returning 1; the result is the number of callbacks made. flags must be 0.
  [164, (h, c) => {
    const map = mapArg(h, c, 1, FOR_EACH_MAPS);
    if (c.regs[4] !== 0n) return neg(EINVAL);
    if (regionOf(c.regs[2]) !== REGION_FUNC) throw new VmFault('helper-misuse', 'bpf_for_each_map_elem: argument 2 must be a function address (lddw of a function)', c.pc);
    const isArray = map.def.type === MapType.ARRAY || map.def.type === MapType.PERCPU_ARRAY;
    // Hash elements as they are now, values read without a lookup (which would mark LRU elements referenced).
    const elems = isArray ? undefined : (map as { walkOrder?: () => MapEntry[] | undefined }).walkOrder?.() ?? map.dump();
    const count = isArray ? map.def.maxEntries : elems!.length;
    if (count === 0) return 0n;
    const keyBytes = new Uint8Array(map.def.keySize);
    const keyAddr = h.mem.scratch(keyBytes, `bpf_for_each_map_elem key of ${map.def.name}`);
    const [mapAddr, ctxArg, cpu] = [c.regs[1], c.regs[3], h.env.cpu];
    const args = (i: number): bigint[] => {
      if (elems) {
        keyBytes.set(elems[i]!.key);
        return [mapAddr, keyAddr, valuePointer(h, map, elems[i]!.values[map.perCpu ? cpu : 0]), ctxArg];
      }
      new DataView(keyBytes.buffer).setUint32(0, i, true);
      return [mapAddr, keyAddr, valuePointer(h, map, map.lookup(keyBytes, cpu)), ctxArg];
    };
    return { loop: { fnPc: offsetOf(c.regs[2]), count, ctxArg, args } };
  }],
  // strtol / strtoul (kernel/bpf/helpers.c): parse buf_len bytes of buf in base flags; *res (8 bytes) is 0 unless it
  // succeeds; returns the bytes consumed or a negative errno (helper-impl/misc.ts strtox)
  [105, (h, c) => strtoxHelper(h, c, true)],
  [106, (h, c) => strtoxHelper(h, c, false)],
  // strncmp (kernel/bpf/helpers.c): s1 has s1_sz readable bytes, s2 is a NUL-terminated constant string; -1/0/1
  [182, (h, c) => {
    const s1 = h.mem.bytes(c.regs[1], Number(c.regs[2] & 0xffffffffn), false, c.pc, 'bpf_strncmp s1 (argument 1)');
    return BigInt.asUintN(64, BigInt(strncmp(s1, (i) => h.mem.bytes(c.regs[3] + BigInt(i), 1, false, c.pc, 'bpf_strncmp s2 (argument 3)')[0]!)));
  }],
  // map_push_elem / map_pop_elem / map_peek_elem (queue, stack, bloom filter): an empty queue or stack zeroes the
  // buffer and returns -ENOENT; pop on a bloom filter is -EOPNOTSUPP
  [87, (h, c) => {
    const map = mapArg(h, c, 1, [MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER]);
    const value = h.mem.bytes(c.regs[2], map.def.valueSize, false, c.pc, 'bpf_map_push_elem value (argument 2)');
    return neg(-(isBloom(map) ? map.push(value, c.regs[3]) : isQueueStack(map) ? map.push(value, c.regs[3]) : -EINVAL));
  }],
  ...[88, 89].map((id): [number, HelperImpl] => [id, (h, c) => {
    const map = mapArg(h, c, 1, [MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER]);
    if (isBloom(map)) {
      if (id === 88) throw new VmFault('helper-misuse', `bpf_map_pop_elem on bloom filter ${map.def.name}: the verifier refuses this call ("cannot pass map_type 30 into func bpf_map_pop_elem"); only push and peek take a bloom filter`, c.pc);
      return neg(-map.peek(h.mem.bytes(c.regs[2], map.def.valueSize, false, c.pc, 'bpf_map_peek_elem value (argument 2)')));
    }
    const buf = h.mem.bytes(c.regs[2], map.def.valueSize, true, c.pc, `${name(id)} value (argument 2)`);
    const got = isQueueStack(map) ? map.take(id === 88) : undefined;
    if (!got) {
      buf.fill(0);
      return neg(ENOENT);
    }
    buf.set(got);
    return 0n;
  }]),
  // get_numa_node_id: one NUMA node
  [42, () => 0n],
  // get_current_uid_gid / get_cgroup_classid (kernel/bpf/helpers.c, net/core/filter.c): of the task the packet's run
  // interrupts or that started the test run; as root, outside any net_cls cgroup, both are 0
  [15, () => 0n],
  [17, () => 0n],
  // check_mtu (net/core/filter.c bpf_xdp_check_mtu): flags must be 0, an unknown ifindex -ENODEV; *mtu_len gets the MTU
  [163, (h, c) => {
    if (c.regs[5] !== 0n) return neg(EINVAL);
    const dev = mtuDevice(Number(c.regs[2] & 0xffffffffn), h.buff.ingressIfindex);
    if (!dev) return neg(ENODEV);
    // Read (the verifier wants it initialised) and written back.
    h.mem.bytes(c.regs[3], 4, false, c.pc, 'bpf_check_mtu mtu_len (argument 3)');
    const cell = h.mem.bytes(c.regs[3], 4, true, c.pc, 'bpf_check_mtu mtu_len (argument 3)');
    const view = new DataView(cell.buffer, cell.byteOffset, 4);
    const ret = checkMtu(dev, linearLen(h.buff), view.getUint32(0, true), Number(BigInt.asIntN(32, c.regs[4])));
    view.setUint32(0, dev.mtu, true);
    return BigInt(ret);
  }],
  // xdp_load_bytes / xdp_store_bytes (bpf_xdp_pointer + bpf_xdp_copy_buf): -EFAULT above 0xffff, -EINVAL past the end
  [189, (h, c) => xdpBytes(h, c, false)],
  [190, (h, c) => xdpBytes(h, c, true)],
  // dynptr_read / dynptr_write (kernel/bpf/helpers.c), on the XDP dynptrs of kfuncs.ts
  [201, (h, c) => dynptrRead(h, c)],
  [202, (h, c) => dynptrWrite(h, c)],
  // map_lookup_percpu_elem (kernel/bpf/helpers.c): NULL for a CPU that does not exist
  [195, (h, c) => {
    const map = mapArg(h, c, 1, PERCPU_MAPS);
    const cpu = c.regs[3] & 0xffffffffn;
    if (cpu >= BigInt(h.nrCpus)) return 0n;
    return valuePointer(h, map, map.lookup(key(h, c, map, 2), Number(cpu)));
  }],
  // Socket helpers. The modelled host has no sockets (the kernel side of the tests runs in a network namespace of its
  // own), so bpf_xdp_sk_lookup_tcp/udp and bpf_xdp_skc_lookup_tcp find none: __bpf_skc_lookup returns NULL for a
  // tuple size other than the IPv4/IPv6 tuple's, non-zero flags, a netns id above S32_MAX, an unknown netns id, and
  // an empty namespace alike. The tuple must still be readable (the verifier checks it).
  ...[84, 85, 99].map((id): [number, HelperImpl] => [id, (h, c) => {
    h.mem.bytes(c.regs[2], Number(c.regs[3] & 0xffffffffn), false, c.pc, `${name(id)} tuple (argument 2)`);
    return 0n;
  }]),
  // The helpers that take a socket are only reachable with one (the verifier refuses NULL), so never here.
  ...[86, 100, 110].map((id): [number, HelperImpl] => [id, (h, c) => {
    throw new VmFault('helper-misuse', `${name(id)}: argument 1 must be a socket from a socket lookup; the modelled host has no sockets, so lookups return NULL`, c.pc);
  }]),
  // tcp_raw_gen_syncookie_ipv4/ipv6 and tcp_raw_check_syncookie_ipv4/ipv6 (helper-impl/syncookie.ts)
  ...[204, 205].map((id): [number, HelperImpl] => [id, (h, c) => {
    const v6 = id === 205;
    const ip = h.mem.bytes(c.regs[1], v6 ? 40 : 20, false, c.pc, `${name(id)} iph (argument 1)`);
    const th = h.mem.bytes(c.regs[2], Number(c.regs[3] & 0xffffffffn), false, c.pc, `${name(id)} th (argument 2)`);
    return genSyncookie(v6, ip, th, cookieMinute(h), cookieSecrets(h)) ?? neg(EINVAL);
  }]),
  ...[206, 207].map((id): [number, HelperImpl] => [id, (h, c) => {
    const v6 = id === 207;
    const ip = h.mem.bytes(c.regs[1], v6 ? 40 : 20, false, c.pc, `${name(id)} iph (argument 1)`);
    const th = h.mem.bytes(c.regs[2], 20, false, c.pc, `${name(id)} th (argument 2)`);
    return checkSyncookie(v6, ip, th, cookieMinute(h), cookieSecrets(h)) ? 0n : neg(EACCES);
  }]),
];

/**
 * bpf_redirect_map (include/linux/filter.h __bpf_xdp_redirect_map) on a redirect map, with the flags as u32 halves:
 * the action (always below 2^32).
 */
function redirectMap(h: HelperHost, map: BpfMap, key: number, flagsLo: number, flagsHi: number): number {
  const isDevmap = map.def.type === MapType.DEVMAP || map.def.type === MapType.DEVMAP_HASH;
  const flagMask = isDevmap ? BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS : 0;
  if (flagsHi !== 0 || (flagsLo & ~(3 | flagMask)) !== 0) return XDP_ABORTED;
  const target = map.redirectTarget?.(key) ?? { present: map.lookup(new Uint8Array(new Uint32Array([key]).buffer), h.env.cpu) !== undefined };
  if (!target.present && !(flagsLo & BPF_F_BROADCAST)) {
    h.out.redirect = undefined;
    h.out.redirectFallback = { map: map.def.name, key, action: flagsLo & 3, reason: map.size() === 0 ? 'map empty' : 'key absent' };
    return flagsLo & 3;
  }
  h.out.redirectFallback = undefined;
  h.out.redirect = { kind: 'map', map: map.def.name, mapType: map.def.type, key, ifindex: target.ifindex, flags: flagsLo >>> 0 };
  return XDP_REDIRECT;
}

/** tcp_cookie_time: the jiffies minute counter. */
const cookieMinute = (h: HelperHost): number => Number((BigInt.asUintN(64, h.env.nowNs()) * ASSUMED_HZ / 1_000_000_000n) / (60n * ASSUMED_HZ));

/** The SYN-cookie keys of a run (the kernel's are random at boot): drawn from the run's random stream on first use. */
const COOKIE_SECRETS = new WeakMap<object, CookieSecrets>();
function cookieSecrets(h: HelperHost): CookieSecrets {
  let s = COOKIE_SECRETS.get(h.env);
  if (!s) {
    s = drawSecrets(() => h.env.prandom());
    COOKIE_SECRETS.set(h.env, s);
  }
  return s;
}

/** A ring buffer's positions (EventMap.producerPos). */
const ringState = (map: BpfMap): { producerPos: number } => map as unknown as { producerPos: number };

/**
 * Room for a record of `size` bytes (kernel/bpf/ringbuf.c __bpf_ringbuf_reserve): it takes the size plus an 8-byte
 * header, rounded up to 8, and the producer may never get a whole ring ahead of the consumer, which stays at 0 (no
 * reader). Discarded records keep their room. Returns whether the record fits, and takes its room when it does.
 */
function ringReserve(map: BpfMap, size: number): boolean {
  const len = Math.ceil((size + 8) / 8) * 8;
  const ring = ringState(map);
  if (len > map.def.maxEntries || ring.producerPos + len > map.def.maxEntries - 1) return false;
  ring.producerPos += len;
  return true;
}

/** A ringbuf record of `size` bytes, zeroed, as a scratch region; undefined when it does not fit. */
function reserveRecord(h: HelperHost, map: BpfMap, size: number): bigint | undefined {
  if (!ringReserve(map, size)) return undefined;
  const bytes = new Uint8Array(size);
  const addr = h.mem.scratch(bytes, `ringbuf record of ${map.def.name}`);
  h.reservations.set(addr, { map: map.def.name, bytes });
  return addr;
}

function finishReservation(h: HelperHost, c: HelperCall, submit: boolean): bigint {
  return finishRecord(h, c, c.regs[1], submit);
}

function finishRecord(h: HelperHost, c: HelperCall, addr: bigint, submit: boolean): bigint {
  const rec = h.reservations.get(addr);
  if (!rec) throw new VmFault('helper-misuse', `${name(c.id)}: argument 1 is not a record from bpf_ringbuf_reserve (or it was already submitted)`, c.pc);
  h.reservations.delete(addr);
  h.mem.release(addr);
  if (submit) addPerf(h, { helper: 'ringbuf_output', map: rec.map, data: hex(rec.bytes) });
  return 0n;
}

function xdpBytes(h: HelperHost, c: HelperCall, store: boolean): bigint {
  const r = c.regs;
  const off = r[2] & 0xffffffffn;
  const len = r[4] & 0xffffffffn;
  if (off > 0xffffn || len > 0xffffn) return neg(EFAULT);
  if (Number(off + len) > buffLen(h.buff)) return neg(EINVAL);
  if (store && h.buff.readonlyPage) {
    throw new VmFault('readonly-page-write', 'bpf_xdp_store_bytes into a read-only packet page (readonly-page mode)', c.pc);
  }
  const buf = h.mem.bytes(r[3], Number(len), !store, c.pc, `${name(c.id)} buffer (argument 3)`);
  copyPacket(h.buff, Number(off), buf, store);
  if (store) h.mem.packetWritten = 1;
  return 0n;
}

// ---- the compiled engine's fast path (interpreter.ts FastHelpers): the helpers above on int32 register halves ----

const EMPTY = new Uint8Array(0);
const FLAGS = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n];
const J64 = new BigUint64Array(1);
const J32 = new Int32Array(J64.buffer);

/**
 * The fast helpers of one helper host (a Machine's): map lookup and update on arrays and hashes, csum_diff, the
 * adjust helpers, redirect and redirect_map, the clock, random and CPU helpers. Each does exactly what its entry in
 * IMPLEMENTED does when the arguments are plain (a map handle of a type it handles, argument memory readable with
 * nothing to record); otherwise it misses before changing anything.
 */
export function fastHelpers(host: HelperHost): FastHelpers {
  const F = { h: 0, miss: false, byId: [] as (FastHelper | undefined)[] };
  const miss = (): number => {
    F.miss = true;
    return 0;
  };
  /** The map a handle names (mapArg's plain case), or undefined. */
  const handleMap = (h: number, l: number): BpfMap | undefined => {
    if (h !== REGION_MAP_HANDLE) return undefined;
    const i = (l ^ REGION_BIAS) | 0;
    return i >= 0 && i < host.maps.length ? host.maps[i] : undefined;
  };
  /** A 64-bit result from a number in the int32 range (0, -errno, a small value). */
  const small = (v: number): number => {
    F.h = v < 0 ? -1 : 0;
    return v | 0;
  };
  const clock = (): number => {
    J64[0] = host.env.nowNs();
    F.h = J32[1];
    return J32[0];
  };
  const by = F.byId;
  // map_lookup_elem
  by[1] = (h1, l1, h2, l2) => {
    const map = handleMap(h1, l1);
    if (map === undefined || map.lookupAt === undefined) return miss();
    const mem = host.mem;
    const ks = map.def.keySize;
    if (ks === 0 || !mem.argOk(h2, l2, ks)) return miss();
    const v = map.lookupAt(mem.regionTable[h2]!.bytes, (l2 ^ REGION_BIAS) | 0, host.env.cpu);
    if (v === undefined) {
      F.h = 0;
      return 0;
    }
    F.h = mem.mapValueId(v, map.def.name, readonlyMap(map));
    return REGION_BIAS | 0;
  };
  // map_update_elem (the value is checked before the key, as the helper does)
  by[2] = (h1, l1, h2, l2, h3, l3, h4, l4) => {
    const map = handleMap(h1, l1);
    if (map === undefined || map.updateAt === undefined || readonlyMap(map)) return miss();
    // the slow path drops the replaced value's timers, lists, trees and workqueues
    if (timerMaps.has(map) || collectionsExist()) return miss();
    const mem = host.mem;
    const ks = map.def.keySize;
    const vs = map.def.valueSize;
    if (ks === 0 || vs === 0 || !mem.argOk(h3, l3, vs) || !mem.argOk(h2, l2, ks)) return miss();
    let flags: bigint;
    if (h4 === 0 && l4 >= 0 && l4 < 8) flags = FLAGS[l4];
    else {
      J32[0] = l4;
      J32[1] = h4;
      flags = J64[0];
    }
    const rt = mem.regionTable;
    return small(map.updateAt(rt[h2]!.bytes, (l2 ^ REGION_BIAS) | 0, rt[h3]!.bytes, (l3 ^ REGION_BIAS) | 0, flags, host.env.cpu));
  };
  by[5] = by[125] = by[160] = by[208] = clock;
  by[7] = () => {
    F.h = 0;
    return (host.env.prandom() >>> 0) | 0;
  };
  by[8] = () => {
    F.h = 0;
    return (host.env.cpu >>> 0) | 0;
  };
  // redirect
  by[23] = (h1, l1, h2, l2) => {
    F.h = 0;
    if (l2 !== 0 || h2 !== 0) return XDP_ABORTED;
    host.out.redirect = { kind: 'ifindex', ifindex: l1 >>> 0, flags: 0 };
    host.out.redirectFallback = undefined;
    return XDP_REDIRECT;
  };
  // csum_diff
  by[28] = (h1, l1, h2, l2, h3, l3, h4, l4, h5, l5) => {
    // A size the verifier refuses (negative, unbounded) is the dispatch's to report.
    if (h2 !== 0 || h4 !== 0 || l2 >>> 0 >= MAX_VAR_SIZE || l4 >>> 0 >= MAX_VAR_SIZE) return miss();
    const fromSize = l2 >>> 0;
    const toSize = l4 >>> 0;
    if (fromSize + toSize > 512) return small(-EINVAL);
    const mem = host.mem;
    if ((fromSize !== 0 && !mem.argOk(h1, l1, fromSize)) || (toSize !== 0 && !mem.argOk(h3, l3, toSize))) return miss();
    const rt = mem.regionTable;
    F.h = 0;
    return csumDiffAt(fromSize ? rt[h1]!.bytes : EMPTY, (l1 ^ REGION_BIAS) | 0, fromSize, toSize ? rt[h3]!.bytes : EMPTY, (l3 ^ REGION_BIAS) | 0, toSize, l5 >>> 0);
  };
  by[44] = (h1, l1, h2, l2) => small(adjustHead(host, l2));
  by[54] = (h1, l1, h2, l2) => small(adjustMeta(host, l2));
  by[65] = (h1, l1, h2, l2) => small(adjustTail(host, l2));
  // redirect_map
  by[51] = (h1, l1, h2, l2, h3, l3) => {
    const map = handleMap(h1, l1);
    if (map === undefined || !REDIRECT_MAPS.includes(map.def.type)) return miss();
    F.h = 0;
    return redirectMap(host, map, l2 >>> 0, l3, h3);
  };
  return F;
}

/** The map types bpf_for_each_map_elem walks. */
const FOR_EACH_MAPS = [MapType.ARRAY, MapType.PERCPU_ARRAY, MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH];

/** Maps whose values have had a timer initialised (only their updates look for timers to drop). */
const timerMaps = new WeakSet<BpfMap>();

/** An element's value without a lookup (which would mark an LRU element referenced). */
function valueOf(map: BpfMap, key: Uint8Array, cpu: number): Uint8Array | undefined {
  if (map.def.type !== MapType.LRU_HASH && map.def.type !== MapType.LRU_PERCPU_HASH) return map.lookup(key, cpu);
  const hex = Buffer.from(key).toString('hex');
  const e = map.dump().find((x) => Buffer.from(x.key).toString('hex') === hex);
  return e?.values[map.perCpu ? cpu : 0];
}

/**
 * The argument of bpf_spin_lock / bpf_spin_unlock (struct bpf_spin_lock) and of the bpf_timer helpers (struct
 * bpf_timer), checked as the verifier does (check_reg_type, process_spin_lock, process_timer_func; the messages
 * measured on 6.18): a pointer into a map value, of a map created with BTF (not one libbpf had to create again
 * without it) whose value holds that field, at the field's offset exactly. Returns the value's bytes and the offset.
 */
function specialFieldArg(h: HelperHost, c: HelperCall, kind: 'bpf_spin_lock' | 'bpf_timer', size: number): { bytes: Uint8Array; off: number } {
  const addr = c.regs[1];
  const id = regionOf(addr);
  const region = id === 0 ? undefined : h.mem.live(id);
  const type = region === undefined ? 'scalar' : region.kind === 'stack' ? 'fp' : region.kind === 'packet' ? 'pkt'
    : region.kind === 'ctx' ? 'ctx' : region.kind === 'map-value' ? undefined : 'mem';
  if (type !== undefined) throw new VmFault('helper-misuse', `${name(c.id)}: R1 type=${type} expected=map_value (argument 1 must be a struct ${kind} in a map value)`, c.pc);
  const { off } = h.mem.resolve(addr, size, false, c.pc, `${name(c.id)} ${kind} (argument 1)`);
  const mapName = region!.name.replace(/^value of map /, '');
  const map = h.maps.find((m) => m.def.name === mapName);
  if (map) {
    const fields = mapSpecialFields(map.def);
    if (map.def.valueType === undefined || (map.def.special?.length && !fields)) {
      throw new VmFault('helper-misuse', `${name(c.id)}: map '${mapName}' has to have BTF in order to use ${kind}`, c.pc);
    }
    const field = fields?.find((f) => f.kind === kind);
    if (!field) throw new VmFault('helper-misuse', `${name(c.id)}: map '${mapName}' has no valid ${kind}`, c.pc);
    if (off !== field.off) throw new VmFault('helper-misuse', `${name(c.id)}: off ${off} doesn't point to 'struct ${kind}' that is at ${field.off}`, c.pc);
  }
  return { bytes: region!.bytes, off };
}

/** bpf_spin_lock / bpf_spin_unlock: one CPU runs at a time in the simulator; only the argument is checked. */
function spinLockArg(h: HelperHost, c: HelperCall): bigint {
  specialFieldArg(h, c, 'bpf_spin_lock', 4);
  return 0n;
}

/** The struct bpf_timer (16 bytes) argument 1 points to: the map value holding it and the offset in it. */
function timerField(h: HelperHost, c: HelperCall): { bytes: Uint8Array; off: number } {
  return specialFieldArg(h, c, 'bpf_timer', 16);
}

const ERANGE = 34;

/**
 * bpf_probe_read_kernel(_str): copy `size` bytes (or a NUL-terminated string of at most size - 1 bytes and its NUL)
 * from any address. An address inside one of the program's memory regions (packet, stack, map value, ...) is read
 * as it is; a scalar is no kernel memory: the buffer is zeroed and the kernel's error returned (-ERANGE for user and
 * non-canonical addresses, as x86-64's copy_from_kernel_nofault refuses them, else -EFAULT). Reads past a region's end or through
 * the context (the kernel's struct xdp_buff, not modelled) would read kernel memory the simulator does not have; reads
 * around the packet (its buffer's headroom and tailroom) succeed, as in the kernel.
 */
function probeRead(h: HelperHost, c: HelperCall, str: boolean): bigint {
  const size = Number(c.regs[2] & 0xffffffffn);
  const dst = h.mem.bytes(c.regs[1], size, true, c.pc, `${name(c.id)} dst (argument 1)`);
  // The string form copies nothing for size 0 (strncpy_from_kernel_nofault); the other checks the address even then.
  if (size === 0 && str) return 0n;
  const src = c.regs[3];
  const region = regionOf(src);
  if (region === 0 || h.mem.live(region) === undefined) {
    dst.fill(0);
    return neg(kernelNofaultAllowed(src) ? EFAULT : ERANGE);
  }
  if (size === 0) return 0n;
  if (region === REGION_CTX || region === REGION_MAP_HANDLE || region === REGION_FUNC) {
    throw new VmFault('unsupported', `${name(c.id)}: reading kernel memory behind a ${region === REGION_CTX ? 'context' : region === REGION_FUNC ? 'function' : 'map'} pointer is not modelled`, c.pc);
  }
  const read = (n: number) => {
    try {
      const { region: r, off } = h.mem.resolve(src, n, false, c.pc, `${name(c.id)} src (argument 3)`);
      return r.bytes.subarray(off, off + n);
    } catch (e) {
      // Around the packet lies the rest of its buffer (headroom, tailroom, the allocation it sits in): mapped kernel
      // memory, so the kernel copies it and returns 0. BPF_PROG_TEST_RUN allocates that buffer zeroed; the simulator's
      // frame is what it has of it, zero bytes beyond.
      if (e instanceof VmFault && region === REGION_PACKET) {
        // What an earlier packet of a batch left there is zeroed first (Memory.flushClean).
        h.mem.flushClean();
        return packetSurroundings(h.mem.live(region)!.bytes, offsetOf(src), n);
      }
      // The source is any address to the verifier (the program loads); the kernel memory next to the object is what
      // the simulator does not have.
      if (e instanceof VmFault && e.kind !== 'unsupported') throw new VmFault('unsupported', `${name(c.id)} src (argument 3): kernel memory past the end of the object is not modelled`, c.pc);
      throw e;
    }
  };
  if (!str) {
    dst.set(read(size));
    return 0n;
  }
  for (let i = 0; i < size - 1; i++) {
    const b = read(i + 1)[i]!;
    dst[i] = b;
    if (b === 0) return BigInt(i + 1);
  }
  dst[size - 1] = 0;
  return BigInt(size);
}

/** `n` bytes of the packet's frame from offset `off` (may be outside the frame: zero there). */
function packetSurroundings(frame: Uint8Array, off: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  const from = Math.max(0, off);
  const to = Math.min(frame.length, off + n);
  if (to > from) out.set(frame.subarray(from, to), from - off);
  return out;
}

/** USER_PTR_MAX on x86-64: the highest user-space address access_ok() lets through. */
const USER_PTR_MAX = 0x00007ffffffff000n;

/**
 * bpf_probe_read_user(_str) (kernel/trace/bpf_trace.c): copy from user memory of the process that started the test
 * run. The simulator has none: every address of its regions is kernel memory (access_ok refuses it) and a user address
 * is taken as unmapped, so a copy of one byte or more fails with -EFAULT and zeroes the buffer. Size 0 copies nothing:
 * 0 for the string form always, for the other when the address is a user one.
 */
function probeReadUser(h: HelperHost, c: HelperCall, str: boolean): bigint {
  const size = Number(c.regs[2] & 0xffffffffn);
  const dst = h.mem.bytes(c.regs[1], size, true, c.pc, `${name(c.id)} dst (argument 1)`);
  if (size === 0 && str) return 0n;
  const src = c.regs[3];
  const user = (regionOf(src) === 0 || h.mem.live(regionOf(src)) === undefined) && BigInt.asUintN(64, src) <= USER_PTR_MAX;
  if (size === 0 && user) return 0n;
  dst.fill(0);
  return neg(EFAULT);
}

function strtoxHelper(h: HelperHost, c: HelperCall, signed: boolean): bigint {
  const name = signed ? 'bpf_strtol' : 'bpf_strtoul';
  const buf = h.mem.bytes(c.regs[1], Number(c.regs[2] & 0xffffffffn), false, c.pc, `${name} buf (argument 1)`);
  const r = strtox(buf, c.regs[3], signed);
  const cell = h.mem.bytes(c.regs[4], 8, true, c.pc, `${name} res (argument 4)`);
  new DataView(cell.buffer, cell.byteOffset, 8).setBigUint64(0, r.value, true);
  return BigInt.asUintN(64, BigInt(r.ret));
}

/** Timers the run in progress started to expire at once (timer.ts DUE_NS), by helper host, in start order. */
const DUE_TIMERS = new WeakMap<HelperHost, { state: TimerState; value: Uint8Array }[]>();
/** Per host: the timers started to expire after DUE_NS, which the model never fires by itself (fireStartedTimers). */
const LATER_TIMERS = new WeakMap<HelperHost, { state: TimerState; value: Uint8Array }[]>();

/** Whether any timer was started on `host` to expire later than the model fires timers. */
export function laterTimersStarted(host: HelperHost): boolean {
  return LATER_TIMERS.has(host) || DUE_CAPPED.has(host);
}

/**
 * Runs now the callbacks of the timers started to expire later that are still active, as the kernel runs them once
 * their time has passed (compare's timer variant: the kernel side's packets are milliseconds apart). Returns how many
 * ran.
 */
export function fireStartedTimers(host: HelperHost, opts: ExecOptions): number {
  // Also the due timers still being started again after DUE_ROUNDS passes (fireDueTimers).
  const later = LATER_TIMERS.get(host) ?? [];
  let due = DUE_TIMERS.get(host);
  for (const x of later.splice(0)) {
    if (!x.state.active) continue;
    x.state.due = true;
    if (!due) DUE_TIMERS.set(host, (due = []));
    due.push(x);
    anyDue++;
  }
  return runDueTimers(host, opts);
}
/** Timers due in any host (runs that started none skip the lookup). */
let anyDue = 0;

/**
 * After a run: the callbacks of the timers it started to expire at once (timer.ts DUE_NS), as the kernel runs them
 * when the test run returns (helper-impl/timer.ts). `runCallback` runs the function at `fnPc` of `image` with the arguments (map, &key, &value)
 * on the interpreter; what it does to maps stays, anything else it produces (printk, a fault) is not part of any
 * packet's result. Returns how many ran.
 */
export function fireDueTimers(host: HelperHost, runCallback: (image: ProgramImage, fnPc: number, args: bigint[]) => void): number {
  let fired = 0;
  // A callback that starts its own timer (or another) to expire at once has it run again in the same pass, as the
  // kernel's soft hrtimer does before the next packet; rounds stop when no callback started a due timer, or after
  // DUE_ROUNDS. The timers still due then stay for after the next run, and compare's timer variant runs them at once.
  for (let round = 0; round < DUE_ROUNDS && anyDue !== 0; round++) {
    const due = DUE_TIMERS.get(host);
    if (!due || due.length === 0) break;
    DUE_TIMERS.delete(host);
    anyDue -= due.length;
    for (const { state, value } of due) {
      if (!timerExpire(state) || state.callback === undefined || !state.image) continue;
      const map = state.map as BpfMap;
      const index = host.maps.indexOf(map);
      const keyBytes = keyOfValue(map, value, host.env.cpu);
      if (index < 0 || !keyBytes) continue;
      const keyAddr = host.mem.scratch(keyBytes, `key of the timer's element in ${map.def.name}`);
      runCallback(state.image as ProgramImage, state.callback, [addrOf(REGION_MAP_HANDLE, index), keyAddr, valuePointer(host, map, value), 0n]);
      fired++;
    }
  }
  if (DUE_TIMERS.get(host)?.length) DUE_CAPPED.add(host);
  return fired;
}

/**
 * Passes of due timers after one run (fireDueTimers). Measured on 6.18 with the harness's loop of test runs: a callback
 * re-arming at 0 ns for ever had run 10 times when the next packet looked (the softirq's restart limit), now and then
 * some hundreds more (ksoftirqd took the rest); bpftool's runs, milliseconds apart, leave it time for many more.
 */
export const DUE_ROUNDS = 10;
/** Hosts whose due timers were still being started again after DUE_ROUNDS passes (laterTimersStarted). */
const DUE_CAPPED = new WeakSet<HelperHost>();

/** Per program image and callback slot: the image with `call bpf_loop; exit` in front, calling the callback once. */
const CALLBACK_IMAGES = new WeakMap<ProgramImage, Map<number, ProgramImage>>();

function callbackImage(image: ProgramImage, fnPc: number): ProgramImage {
  let m = CALLBACK_IMAGES.get(image);
  if (!m) CALLBACK_IMAGES.set(image, (m = new Map()));
  let img = m.get(fnPc);
  if (!img) {
    // Every jump, call and function address is relative to its own slot, so the program works shifted by two.
    img = {
      name: image.name,
      insns: [{ opcode: 0x85, dst: 0, src: 0, off: 0, imm: 181 }, { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 }, ...image.insns],
      lines: [undefined, undefined, ...(image.lines ?? [])],
      kfuncs: image.kfuncs,
    };
    m.set(fnPc, img);
  }
  return img;
}

/** After a run on `mem`: run the callbacks of the timers it started to expire at once (fireDueTimers), on the interpreter. */
export function runDueTimers(host: HelperHost, opts: ExecOptions): number {
  // The common case, without making the callback below; the callback lives in another function because V8 allocates
  // the context of a function whose variables a closure captures on every call, closure made or not.
  return anyDue === 0 ? 0 : fireTimers(host, opts);
}

function fireTimers(host: HelperHost, opts: ExecOptions): number {
  return fireDueTimers(host, (image, fnPc, args) => {
    const img = callbackImage(image, fnPc);
    const callHelper = (call: HelperCall): HelperOutcome =>
      call.program === img && call.pc === 0 ? { loop: { fnPc: fnPc + 2, count: 1, ctxArg: 0n, args: () => args } } : opts.callHelper(call);
    execute(img, host.mem, () => {}, { budget: opts.budget, callHelper, mapValueAddress: opts.mapValueAddress });
  });
}

/** The key under which `map` holds the value bytes `value` (the same array), without marking LRU elements used. */
function keyOfValue(map: BpfMap, value: Uint8Array, cpu: number): Uint8Array | undefined {
  if (map.def.type === MapType.ARRAY || map.def.type === MapType.PERCPU_ARRAY) {
    const k = new Uint8Array(4);
    const view = new DataView(k.buffer);
    for (let i = 0; i < Math.min(map.def.maxEntries, 1 << 16); i++) {
      view.setUint32(0, i, true);
      if (map.lookup(k, cpu) === value) return k;
    }
    return undefined;
  }
  const e = map.dump().find((x) => x.values[map.perCpu ? cpu : 0] === value);
  return e ? Uint8Array.from(e.key) : undefined;
}

/** Implemented helpers by id. */
export const HELPERS: ReadonlyMap<number, HelperImpl> = new Map(IMPLEMENTED);

/**
 * The verifier's checks of a call's arguments that a run can see (helper-impl/protos.ts): a packet pointer given to a
 * helper without packet access, a size argument that is negative, zero where the helper needs one byte or more, or
 * unbounded. Each is a refusal of the whole program (fault kind helper-misuse, which run reports in verifierRefuses).
 */
function checkProto(call: HelperCall): void {
  const p = HELPER_PROTOS.get(call.id);
  if (p === undefined) return;
  const r = call.regs;
  if (!p.pktAccess && p.mem) {
    for (const reg of p.mem) {
      if (regionOf(r[reg]) === REGION_PACKET) {
        throw new VmFault('helper-misuse', `${name(call.id)}: argument ${reg} points into the packet, and this helper may not read or write packet memory: the verifier refuses the program ("helper access to the packet is not allowed"; copy the bytes to the stack or a map value first)`, call.pc);
      }
    }
  }
  if (p.sizes) {
    for (const s of p.sizes) {
      if (s.constant) continue;
      const v = r[s.reg];
      let why: string | undefined;
      if (BigInt.asIntN(64, v) < 0n) why = `R${s.reg} min value is negative`;
      else if (v === 0n && !s.zeroOk) why = `R${s.reg} invalid zero-sized read`;
      else if (v >= BigInt(MAX_VAR_SIZE)) why = `R${s.reg} unbounded memory access`;
      if (why) throw new VmFault('helper-misuse', `${name(call.id)}: size argument ${s.reg} is ${BigInt.asIntN(64, v)}: the verifier refuses the program ("${why}")`, call.pc);
    }
  }
}

/**
 * Helpers the 6.18 kernel lets an XDP program call (measured: each passes the helper check when loaded) that XDP Lens
 * does not model, and why: most answer with the current task's state (the task a packet happened to interrupt, or the
 * process running BPF_PROG_TEST_RUN), which no simulator can know. The fault says why instead of a bare "not supported".
 */
const TASK_ANSWER = 'its answer is the current task\'s (in XDP, whatever task the packet interrupted; in a test run, the process running it), which XDP Lens cannot know';
const PROCESS_DEPENDENT: ReadonlyMap<number, string> = new Map([
  [14, TASK_ANSWER], // get_current_pid_tgid
  [16, TASK_ANSWER], // get_current_comm
  [35, `${TASK_ANSWER} (a kernel address)`], // get_current_task
  [80, `${TASK_ANSWER} (its cgroup v2 id)`], // get_current_cgroup_id
  [120, TASK_ANSWER], // get_ns_current_pid_tgid
  [123, `${TASK_ANSWER} (its cgroup's ancestor id)`], // get_current_ancestor_cgroup_id
  [141, `${TASK_ANSWER} (its kernel stack)`], // get_task_stack
  [156, 'task storage belongs to a kernel task (from bpf_get_current_task_btf), which XDP Lens does not model'], // task_storage_get
  [157, 'task storage belongs to a kernel task (from bpf_get_current_task_btf), which XDP Lens does not model'], // task_storage_delete
  [158, `${TASK_ANSWER} (a kernel pointer)`], // get_current_task_btf
  [175, `${TASK_ANSWER} (its saved registers)`], // task_pt_regs
  [210, 'cgroup storage belongs to a kernel cgroup, which XDP Lens does not model'], // cgrp_storage_get
  [37, `${TASK_ANSWER} (its cgroup)`], // current_task_under_cgroup
  [109, 'it signals the current task (in a test run, the process running it), which XDP Lens does not model'], // send_signal
  [117, 'it signals the current thread (in a test run, the process running it), which XDP Lens does not model'], // send_signal_thread
  [148, 'it reads the current task\'s user memory, which XDP Lens does not have'], // copy_from_user
  [180, `${TASK_ANSWER} (its memory map)`], // find_vma
  [176, 'it reads the CPU\'s last branch records, which XDP Lens does not model'], // get_branch_snapshot
  [191, 'it reads a task\'s user memory, which XDP Lens does not have'], // copy_from_user_task
  [149, 'it prints a kernel type by its BTF id in the kernel\'s own format, which XDP Lens does not model'], // snprintf_btf
  [211, 'cgroup storage belongs to a kernel cgroup, which XDP Lens does not model'], // cgrp_storage_delete
]);

/**
 * Helpers the 6.18 kernel does not give XDP programs (xdp_func_proto and bpf_base_func_proto return none for them):
 * the verifier refuses a program that can reach a call to one ("program of this type cannot use helper"). Measured:
 * each id from 1 to 211 called from a minimal XDP program, loaded as root. The running kernel's own answer, where it
 * can be had, replaces this table: `xdpForbiddenHelpers`.
 */
export const XDP_FORBIDDEN_HELPERS_618: ReadonlySet<number> = new Set([
  4, 9, 10, 11, 13, 18, 19, 20, 21, 24, 26, 27, 29, 30, 31, 32, 33, 34, 36, 38, 39, 40, 41, 43, 45, 46, 47, 48,
  49, 50, 52, 53, 56, 57, 58, 59, 60, 61, 62, 63, 64, 66, 67, 68, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 81,
  82, 83, 90, 91, 92, 95, 96, 97, 98, 101, 102, 103, 104, 107, 108, 111, 116, 119, 121, 122, 124, 126, 127,
  128, 129, 135, 142, 143, 144, 145, 146, 147, 150, 151, 152, 155, 159, 161, 162, 166, 167, 168, 173, 174, 179,
  183, 184, 185, 186, 187, 192, 193
]);

let forbiddenMemo: { facts: KernelFacts | undefined; set: ReadonlySet<number> } | undefined;

/**
 * Helper ids the verifier refuses in an XDP program on the kernel the simulator models: the running kernel's, asked
 * of it and cached per build (`kernel-probe.ts`: a build can take helpers away from XDP, as one here refuses
 * bpf_xdp_adjust_meta), else the 6.18 table.
 */
export function xdpForbiddenHelpers(): ReadonlySet<number> {
  const facts = runningKernelFacts();
  if (forbiddenMemo?.facts !== facts || !forbiddenMemo) {
    forbiddenMemo = { facts, set: facts ? new Set(facts.xdpForbiddenHelpers) : XDP_FORBIDDEN_HELPERS_618 };
  }
  return forbiddenMemo.set;
}

/** The helper ids a program's instructions call (entry and linked subprograms), in order of first call. */
export function helperIdsCalled(program: { insns: readonly { opcode: number; src: number; imm: number }[] }): number[] {
  const ids = new Set<number>();
  for (const x of program.insns) if (x.opcode === 0x85 && x.src === 0) ids.add(x.imm);
  return [...ids];
}

/** Why the verifier refuses a call of helper `id` from XDP, in a sentence's second half. */
export function forbiddenHelperReason(id: number): string {
  return XDP_FORBIDDEN_HELPERS_618.has(id)
    ? 'XDP programs may not call it'
    : 'this kernel build does not give it to XDP programs, though the 6.18 kernel does';
}

/** Call helper `call.id`, or fault `helper N (bpf_name) not supported`. */
export function dispatchHelper(host: HelperHost, call: HelperCall): HelperOutcome {
  if (call.kfunc) return dispatchKfunc(host, call);
  const impl = HELPERS.get(call.id);
  if (!impl && call.id === 0xbad2310) {
    const relo = (call.program as { poisoned?: Record<number, string> }).poisoned?.[call.pc];
    throw new VmFault('core-relocation', `invalid func unknown#195896080: ${relo ? `CO-RE relocation ${relo}` : 'a CO-RE relocation here found no match in the target BTF'}, so libbpf poisoned the instruction; the kernel refuses a program that can reach it`, call.pc);
  }
  // A helper this kernel build takes from XDP that 6.18 gives it and XDP Lens models runs as modelled: the refusal is
  // reported before the first packet (verifier-refusals.ts), and the run shows what the program would do.
  if (xdpForbiddenHelpers().has(call.id) && (!impl || XDP_FORBIDDEN_HELPERS_618.has(call.id))) {
    throw new VmFault('helper-misuse', `program of this type cannot use helper ${name(call.id)}#${call.id}: ${forbiddenHelperReason(call.id)}, so the kernel verifier refuses the program`, call.pc);
  }
  if (!impl) {
    const why = PROCESS_DEPENDENT.get(call.id);
    throw new VmFault('unsupported-helper', `helper ${call.id} (${name(call.id)}) not supported${why ? `: ${why}` : ''}`, call.pc);
  }
  checkProto(call);
  return impl(host, call);
}
