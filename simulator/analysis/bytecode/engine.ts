// Path-sensitive abstract interpretation of one linked XDP program, the way the kernel verifier walks it
// (kernel/bpf/verifier.c do_check): depth-first over paths, each conditional jump splitting the state, states kept at
// jump targets so that a path reaching a point with a state no more precise than one already explored there is cut
// (is_state_visited with register liveness). Calls to bpf functions push a frame and are walked per call site.
//
// The walk is bounded (total instructions, visits per slot, states kept per slot, call depth). When a bound is hit
// the walk stops and reports what it found on the paths it finished; it never guesses about the rest. A finding
// needs a definite fact (this register is a packet pointer whose proven range is too small, this value is a
// constant 7); anything the analysis lost track of becomes an opaque value that findings ignore.
import type { LoadedObject, LoadedProgram, MapDef } from '../../elf/types.ts';
import { BPF_F_RDONLY_PROG, MapType } from '../../elf/types.ts';
import { defaultInnerTemplate, mapSpecialFields } from '../../vm/maps.ts';
import { XDP_FORBIDDEN_HELPERS_618, forbiddenHelperReason, xdpForbiddenHelpers } from '../../vm/helpers.ts';

const forbiddenHelperText = (id: number) =>
  `The verifier refuses this call: program of this type cannot use helper ${helperName(id) ?? 'unknown'}#${id} (${forbiddenHelperReason(id)}).`;
import { formatPrintk } from '../../vm/helper-impl/printk.ts';
import { HELPER_PROTOS, MAX_VAR_SIZE } from '../../vm/helper-impl/protos.ts';
import type { Insn } from '../../isa/insn.ts';
import {
  CALL_HELPER, CALL_KFUNC, CALL_LOCAL, OPCODES, PSEUDO_FUNC, PSEUDO_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_IDX, PSEUDO_MAP_IDX_VALUE,
  PSEUDO_MAP_VALUE, aluVariant, atomicOp, type JmpOp, type OpcodeInfo,
} from '../../isa/opcodes.ts';
import { helperName } from '../../isa/helper-names.ts';
import { regUse } from '../../isa/validate.ts';
import { kfuncInfo } from '../../isa/kfunc-names.ts';
import { immToU32, immToU64 } from '../../isa/width.ts';
import type { RuleId } from '../findings.ts';
import { liveness, loopSlots, predecessorCounts, prunePoints } from './liveness.ts';
import * as msg from './messages.ts';
import { attachActionMessage, attachedMap, refusedByAttach } from '../xdp-programs.ts';
import {
  type Scalar, alu32, alu64, assume, assume32, assumeNot, constant, endian, isConst, low32, signedRange, truncate,
  norm, unknown, unknownBytes, unsignedRange, S64_MIN, U32_MAX,
} from './scalar.ts';
import { META_ID, NONE, PKT_ID, type Reg, type State, cloneState, covers, mapAllRegs, replaceScalar, widen } from './state.ts';

/** The verifier's MAX_PACKET_OFF, and a bound past any 64-bit value. */
const MAX_PACKET_OFF = 0xffffn;
const U64_LIMIT = 1n << 64n;
/** libbpf's poisoned CO-RE relocation: `call 0xbad2310` (elf/core.ts CORE_POISON_IMM). */
const CORE_POISON_IMM = 0xbad2310;

export type DriverMode = 'native' | 'readonly-page' | 'generic';

export interface EngineOptions {
  driverMode: DriverMode;
  /** Instructions walked in total before giving up (the verifier's limit is 1,000,000). */
  maxSteps: number;
  /**
   * Milliseconds of this process's CPU time the walk may take before giving up (checked every 256 instructions), for
   * the walk before a run, which a user waits for: a state-heavy program reaches its step bound slowly (comparing
   * states at each prune point). CPU time, not wall-clock time, so that what the walk finds does not depend on how
   * busy the machine is. Unset: no time bound.
   */
  maxMs?: number;
  /** Times one slot may be reached before the walk stops there (bounds loops the pruning cannot close). */
  maxVisitsPerSlot: number;
  /** States kept per prune point. */
  maxStatesPerSlot: number;
  /** Times one path may reach a prune point (a loop's turns) before its new states there are widened into stored ones. */
  widenAfter: number;
  /** Visits of one prune point by all paths together after which new states there are widened into stored ones. */
  widenSlotAfter: number;
  /**
   * For the marked twin of return-lines.ts: marker slot -> line of the `return` it marks, and the line range of the
   * program's own function. Findings about the returned value then go to the return statement the path left through.
   */
  returnMarkers?: Map<number, number>;
  entryRange?: [number, number];
  /**
   * For the twin: a `return f(...);` line -> the line range of `f`, a function of the same file whose result that
   * return passes on as it is. The path's return is then the one of `f` it left through (the source tier's place).
   */
  returnCallees?: Map<number, [number, number]>;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  driverMode: 'native',
  maxSteps: 400_000,
  maxVisitsPerSlot: 4096,
  maxStatesPerSlot: 64,
  widenAfter: 256,
  widenSlotAfter: 384,
};

/** One finding at one instruction slot, before it is mapped to a source line. */
export interface Issue {
  rule: RuleId;
  pc: number;
  message: string;
  /** invalid-action: the value (or range) returned, as shown to the user, so findings on one line can be merged. */
  value?: string;
  /** The line of the `return` statement the path left through (twin objects only); wins over the slot's line. */
  line?: number;
  /** Where the returned value was set (a slot), when that is not the return itself. */
  origin?: number;
  /**
   * unchecked-packet-access: the later accesses (slots, in the walk's order) past the same missing bounds check (the
   * same pointer id, no compare with data_end between them). The kernel stops at the first; they are not findings of
   * their own, a check covering them all fixes them with it.
   */
  also?: number[];
  /**
   * tx-unmodified reached only past a global function's result, which the walk (as the verifier) does not tie to what
   * the function did on the path: the source tier, which follows the function's returns, decides (index.ts).
   */
  pastGlobal?: boolean;
}

export interface EngineResult {
  issues: Issue[];
  /** False when a bound stopped the walk before every path was explored. */
  complete: boolean;
  steps: number;
  /** Why the walk was incomplete, when it was. */
  gaveUp?: string;
}

const MAX_FRAMES = 8;
const MAX_PTR_OFF = 1 << 29;
/** BPF_MAX_VAR_OFF: a variable offset at or past it is unbounded to check_map_access. */
const MAX_VAR_OFF = 1n << 29n;

// Helper ids used below (include/uapi/linux/bpf.h ___BPF_FUNC_MAPPER).
/** The `from` of the stack slot of a dynptr initialised over memory or a ring buffer record (not the packet). */
const MEM_DYNPTR = 'dynptr over memory';
/** The `from` of a slice of an XDP dynptr (the packet's bytes, or a copy of them in the caller's buffer). */
const PKT_SLICE = 'bpf_dynptr_slice of the packet';
/** A global function's pointer argument to sized memory, as the function sees it (PTR_TO_MEM that may be NULL). */
const GLOBAL_ARG = 'global function argument';

const H = {
  map_lookup_elem: 1, map_update_elem: 2, map_delete_elem: 3, ktime_get_ns: 5, trace_printk: 6, get_prandom_u32: 7,
  get_smp_processor_id: 8, tail_call: 12, redirect: 23, perf_event_output: 25, csum_diff: 28, xdp_adjust_head: 44,
  redirect_map: 51, xdp_adjust_meta: 54, xdp_adjust_tail: 65, fib_lookup: 69, sk_lookup_tcp: 84, sk_lookup_udp: 85,
  map_push_elem: 87, map_pop_elem: 88, map_peek_elem: 89, skc_lookup_tcp: 99, xdp_output: 121, ringbuf_output: 130,
  ringbuf_reserve: 131, ringbuf_submit: 132, ringbuf_discard: 133, trace_vprintk: 177, xdp_get_buff_len: 188,
  xdp_load_bytes: 189, xdp_store_bytes: 190, map_lookup_percpu_elem: 195, for_each_map_elem: 164, loop: 181,
  snprintf: 165,
} as const;

/** The verifier's check_reference_leak, for an exit or a tail call with a reference still held. */
// The kernel's two lines: "Unreleased reference id=N alloc_insn=M", then "BPF_EXIT instruction in main prog would lead
// to reference leak" or "tail_call would lead to reference leak" (measured on 6.18).
const referenceLeak = (at: string): string =>
  `The verifier refuses ${at === 'the exit' ? 'this exit' : 'this tail call'}: Unreleased reference, then ${at === 'the exit' ? 'BPF_EXIT instruction in main prog' : 'tail_call'} would lead to reference leak (a bpf_ringbuf_reserve record or a socket from bpf_sk_lookup_* is not submitted, discarded or released, or an iterator from bpf_iter_*_new is not destroyed, on this path).`;

/** Iterator kfuncs that acquire (`new`) or release (`destroy`) the iterator on the stack (kernel/bpf/verifier.c). */
const ITER_KFUNCS: ReadonlyMap<string, 'new' | 'destroy'> = new Map([
  ['bpf_iter_num_new', 'new'], ['bpf_iter_num_destroy', 'destroy'], ['bpf_iter_bits_new', 'new'], ['bpf_iter_bits_destroy', 'destroy'],
]);
/** Reference ids of iterators: below every id nextId hands out, one per stack slot. */
const ITER_REF_BASE = -1;
/** Reference ids of ring buffer dynptrs (bpf_ringbuf_reserve_dynptr), one per stack slot, below the iterators'. */
const DYNPTR_REF_BASE = -1_000_000;
/** What each iterator kfunc's first argument must be, in the verifier's words ("expected an initialized iter_bits"). */
const ITER_USE: ReadonlyMap<string, string> = new Map([
  ['bpf_iter_num_next', 'iter_num'], ['bpf_iter_num_destroy', 'iter_num'], ['bpf_iter_bits_next', 'iter_bits'], ['bpf_iter_bits_destroy', 'iter_bits'],
]);
/** Stack slot reference ids (iterators, ring buffer dynptrs): one per frame and offset. */
const slotRef = (base: number, frame: number, off: number): number => base - (frame * 1024 + off + 512);
const SK_RELEASE = 86;
const SPIN_LOCK = 93;
const SPIN_UNLOCK = 94;

/** Helpers whose first argument is ARG_PTR_TO_CTX (net/core/filter.c, kernel/bpf/core.c protos). */
const CTX_ARG_HELPERS = new Set<number>([
  H.tail_call, H.perf_event_output, H.xdp_adjust_head, H.xdp_adjust_meta, H.xdp_adjust_tail, H.fib_lookup,
  H.sk_lookup_tcp, H.sk_lookup_udp, H.skc_lookup_tcp, H.xdp_output, H.xdp_get_buff_len, H.xdp_load_bytes,
  H.xdp_store_bytes, 163 /* check_mtu */,
]);

/**
 * The arguments of a helper whose type the verifier checks in order (check_func_arg, 6.18 protos): 'ctx'
 * (ARG_PTR_TO_CTX), 'map' (ARG_CONST_MAP_PTR), 'mem' (a map key or value, ARG_PTR_TO_MEM and the like, never NULL), or
 * undefined (any value, a size, or a type not judged here). pkt: the helper may be given packet pointers (pkt_access).
 */
// 'stack': ARG_PTR_TO_STACK_OR_NULL, the callback context of bpf_loop and bpf_for_each_map_elem (a stack pointer or
// the constant 0; measured on 6.18: "R3 type=ctx expected=fp", "R3 type=map_value expected=fp", "helper access to the
// packet is not allowed").
const ARG_TYPES: ReadonlyMap<number, { args: readonly ('ctx' | 'map' | 'mem' | 'stack' | undefined)[]; pkt: boolean }> = new Map([
  [H.loop, { args: [undefined, undefined, 'stack'], pkt: false }],
  [H.for_each_map_elem, { args: ['map', undefined, 'stack'], pkt: false }],
  [H.map_lookup_elem, { args: ['map', 'mem'], pkt: true }],
  [H.map_update_elem, { args: ['map', 'mem', 'mem'], pkt: true }],
  [H.map_delete_elem, { args: ['map', 'mem'], pkt: true }],
  [H.map_push_elem, { args: ['map', 'mem'], pkt: true }],
  [H.map_pop_elem, { args: ['map', 'mem'], pkt: true }],
  [H.map_peek_elem, { args: ['map', 'mem'], pkt: true }],
  [H.map_lookup_percpu_elem, { args: ['map', 'mem'], pkt: true }],
  [H.tail_call, { args: ['ctx', 'map'], pkt: false }],
  [H.redirect_map, { args: ['map'], pkt: false }],
  [H.perf_event_output, { args: ['ctx', 'map', undefined, 'mem'], pkt: false }],
  [H.ringbuf_output, { args: ['map', 'mem'], pkt: false }],
  [H.ringbuf_reserve, { args: ['map'], pkt: false }],
  [H.fib_lookup, { args: ['ctx', 'mem'], pkt: false }],
  [H.sk_lookup_tcp, { args: ['ctx', 'mem'], pkt: true }],
  [H.sk_lookup_udp, { args: ['ctx', 'mem'], pkt: true }],
  [H.skc_lookup_tcp, { args: ['ctx', 'mem'], pkt: true }],
  [H.xdp_load_bytes, { args: ['ctx', undefined, 'mem'], pkt: false }],
  [H.xdp_store_bytes, { args: ['ctx', undefined, 'mem'], pkt: false }],
]);
/** reg_type_str's list for a map key, map value or memory argument (measured on 6.18, the same for all three). */
const MEM_EXPECTED = 'fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_';

/** Helpers whose first argument is memory that may not be NULL (ARG_PTR_TO_MEM or ARG_PTR_TO_UNINIT_MEM, no
 * PTR_MAYBE_NULL): trace_printk, probe_read_user/kernel(_str), strncmp, dynptr_from_mem, dynptr_read. */
const FIRST_ARG_MEM: ReadonlySet<number> = new Set([6, 112, 113, 114, 115, 182, 197, 201]);

/** Helpers that only read memory passed to them (no stack slot they point at changes). */
const READS_ONLY = new Set<number>([
  H.map_lookup_elem, H.map_update_elem, H.map_delete_elem, H.ktime_get_ns, H.trace_printk, H.get_prandom_u32,
  H.get_smp_processor_id, H.tail_call, H.redirect, H.perf_event_output, H.csum_diff, H.xdp_adjust_head, H.redirect_map,
  H.xdp_adjust_meta, H.xdp_adjust_tail, H.map_push_elem, H.xdp_output, H.ringbuf_output, H.ringbuf_reserve,
  H.ringbuf_submit, H.ringbuf_discard, H.trace_vprintk, H.xdp_get_buff_len, H.xdp_store_bytes, H.map_lookup_percpu_elem,
  H.sk_lookup_tcp, H.sk_lookup_udp, H.skc_lookup_tcp,
]);

/** Helpers whose result is an integer to the verifier (RET_INTEGER, RET_VOID read as a number is refused anyway). */
const INT_HELPERS = new Set<number>([
  H.map_update_elem, H.map_delete_elem, H.ktime_get_ns, H.trace_printk, H.get_prandom_u32, H.get_smp_processor_id,
  H.redirect, H.perf_event_output, H.csum_diff, H.xdp_adjust_head, H.redirect_map, H.xdp_adjust_meta, H.xdp_adjust_tail,
  H.fib_lookup, H.map_push_elem, H.map_pop_elem, H.map_peek_elem, H.ringbuf_output, H.trace_vprintk, H.xdp_get_buff_len,
  H.xdp_load_bytes, H.xdp_store_bytes, H.for_each_map_elem, H.loop, H.snprintf,
  // bpf_get_numa_node_id, bpf_jiffies64, bpf_ktime_get_boot_ns, bpf_ringbuf_query, bpf_ktime_get_coarse_ns,
  // bpf_check_mtu, bpf_ktime_get_tai_ns
  42, 118, 125, 134, 160, 163, 208,
]);

const OPAQUE = unknown(true);
// Scalars are compared by identity to find copies of one value (see refineScalar), so the shared OPAQUE object is
// never put into a register as is.
const SCALAR_ACCESS = (kind: string, why: true | 'released' | 'moved' = true) => why === 'released'
  ? `The verifier refuses this ${kind}: invalid mem access 'scalar' (the socket or ring buffer record was released, submitted or discarded above, which makes every copy of the pointer a number to the verifier; read what you need before releasing it).`
  : why === 'moved' ? `The verifier refuses this ${kind}: invalid mem access 'scalar' (a bpf_dynptr_slice of the packet, used after a call that may move the packet, such as bpf_xdp_adjust_head/tail/meta or bpf_xdp_pull_data: take the slice again after the call).`
  : `The verifier refuses this ${kind}: invalid mem access 'scalar' (the pointer went through a 32-bit move, which makes it a number to the verifier; keep pointers in 64-bit registers: \`(void *)(long)ctx->data\`).`;
const scalarReg = (s: Scalar, def: number): Reg => ({ k: 'scalar', s: s === OPAQUE ? { ...s } : s, def });

const nullable = (r: Reg): boolean => (r.k === 'value' || r.k === 'mem') && r.nullId !== 0;
const isZero = (r: Reg): boolean => r.k === 'scalar' && isConst(r.s) && r.s.umin === 0n;

function signExtend(s: Scalar, size: number): Scalar {
  const bits = BigInt(size * 8);
  if (size >= 8) return s;
  if (isConst(s)) return constant(BigInt.asIntN(Number(bits), s.umin), s.opaque);
  if (s.umax < 1n << (bits - 1n)) return s;
  return signedRange(-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n, s.opaque);
}

/** The value of a load of unknown memory. */
function loaded(size: number, sx: boolean, opaque: boolean): Scalar {
  return sx ? signExtend(unknownBytes(size, opaque), size) : unknownBytes(size, opaque);
}

const S32_MIN = -(1n << 31n);
const S32_END = 1n << 31n;
const U32_END = 1n << 32n;
/** The 32-bit comparison `op` of `a` and `b` has the outcome of the 64-bit one (both fit the domain it reads). */
function fits32(op: JmpOp, a: Scalar, b: Scalar): boolean {
  const signed = (s: Scalar) => s.smin >= S32_MIN && s.smax < S32_END;
  const unsigned = (s: Scalar) => s.umax < U32_END;
  if (op === 'jset') return false;
  if (op === 'jeq' || op === 'jne') return (signed(a) && signed(b)) || (unsigned(a) && unsigned(b));
  return op.startsWith('js') ? signed(a) && signed(b) : unsigned(a) && unsigned(b);
}

const SWAPPED: Record<JmpOp, JmpOp> = {
  jeq: 'jeq', jne: 'jne', jgt: 'jlt', jge: 'jle', jlt: 'jgt', jle: 'jge',
  jsgt: 'jslt', jsge: 'jsle', jslt: 'jsgt', jsle: 'jsge', jset: 'jset',
};

/** Pointers whose type the walk knows exactly (not 'ptr', an unknown kind; packet-end arithmetic is reported as
 * unchecked-packet-access where it is moved). */
const KNOWN_POINTER: ReadonlySet<string> = new Set(['ctx', 'pkt', 'meta', 'stack', 'map', 'value', 'mem']);

/**
 * What the verifier says about an ALU instruction (not mov, not neg) on a known pointer, for a privileged loader
 * (adjust_reg_min_max_vals / adjust_ptr_min_max_vals): a 32-bit operation other than sub, two pointers combined other
 * than by sub, a scalar minus a pointer, an operator other than add/sub, arithmetic on a pointer that may be NULL or
 * on a map pointer (other than + 0). Undefined when it accepts it.
 */
/** The verifier's names of pointer types in its messages (reg_type_str). */
const PTR_TYPE_STR: Partial<Record<Reg['k'], string>> = { ctx: 'ctx', pkt: 'pkt', meta: 'pkt_meta', stack: 'fp', value: 'map_value' };

/** The verifier's operator names in its messages (bpf_alu_string). */
const ALU_STR: Readonly<Record<string, string>> = {
  add: '+=', sub: '-=', mul: '*=', div: '/=', or: '|=', and: '&=', lsh: '<<=', rsh: '>>=', mod: '%=', xor: '^=', arsh: 's>>=',
  sdiv: '/=', smod: '%=',
};

function pointerAluRefusal(op: string, w32: boolean, a: Reg, b: Reg): string | undefined {
  // data_end with a number, either side: no arithmetic at all but a 32-bit sub (adjust_ptr_min_max_vals checks the
  // pointer's type first). data_end plus or minus a number is reported where the pointer moves (movePointer).
  const endWith = a.k === 'end' ? b : b.k === 'end' ? a : undefined;
  if (endWith?.k === 'scalar') {
    if (w32) return op === 'sub' ? undefined : `32-bit pointer arithmetic prohibited (${op} on a pkt_end pointer)`;
    return a.k === 'end' && (op === 'add' || op === 'sub') ? undefined : 'pointer arithmetic on pkt_end prohibited';
  }
  if (!KNOWN_POINTER.has(a.k) && !KNOWN_POINTER.has(b.k)) return undefined;
  // Any pointer (data_end, an unknown kind too) on the other side makes it pointer-with-pointer.
  const pa = a.k !== 'scalar' && a.k !== 'none';
  const pb = b.k !== 'scalar' && b.k !== 'none';
  if (w32) return op === 'sub' ? undefined : `32-bit pointer arithmetic prohibited (${op} on a ${pa ? a.k : b.k} pointer)`;
  if (pa && pb) return op === 'sub' ? undefined : `pointer ${ALU_STR[op] ?? op} pointer prohibited`;
  // adjust_ptr_min_max_vals' order: a pointer that may be NULL, a map pointer, the number's sane range
  // (check_reg_sane_offset), then the operator.
  const p = pa ? a : b;
  const q = pa ? b : a;
  if ((p.k === 'value' || p.k === 'mem') && p.nullId !== 0) return 'pointer arithmetic on a pointer that may be NULL prohibited, null-check it first';
  if (p.k === 'map' && !(op === 'add' && q.k === 'scalar' && isConst(q.s) && q.s.umin === 0n)) return 'pointer arithmetic on a map pointer prohibited';
  const t = PTR_TYPE_STR[p.k];
  // (add and sub: verifier-bounds.ts says it where the pointer moves.)
  if (t && op !== 'add' && op !== 'sub' && q.k === 'scalar' && isConst(q.s)) {
    const v = BigInt.asIntN(64, q.s.umin);
    if (v >= 1n << 29n || v <= -(1n << 29n)) return `math between ${t} pointer and ${v} is not allowed`;
  }
  if (pb && op === 'sub') return 'tried to subtract pointer from scalar';
  if (op === 'and' || op === 'or' || op === 'xor') return `bitwise operator ${ALU_STR[op]} on pointer prohibited`;
  if (op !== 'add' && op !== 'sub') return `pointer arithmetic with ${ALU_STR[op] ?? op} operator prohibited`;
  // `rX -= n` on a stack pointer, a constant n included (clang writes `rX += -n`): measured on 6.18.
  if (op === 'sub' && a.k === 'stack') return 'subtraction from stack pointer prohibited';
  return undefined;
}

/**
 * Missing bounds checks met on several paths: an access one path reached past a missing check (named in that
 * finding's `also`) that another path reached first, past the same proven range of the same base, is that same
 * missing check (`if (tcp) a = ip->saddr; b = ip->daddr;` with no check of `ip`). The two become one, kept where the
 * walk (the verifier's order) reported first.
 */
function oneMissingCheck(issues: Issue[], heads: Map<number, string>): Issue[] {
  if (heads.size < 2) return issues;
  const list = [...heads.keys()].sort((a, b) => a - b);
  const gone = new Set<number>();
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    if (gone.has(a)) continue;
    for (let j = i + 1; j < list.length; j++) {
      const b = list[j]!;
      if (gone.has(b) || heads.get(a) !== heads.get(b)) continue;
      const x = issues[a]!;
      const y = issues[b]!;
      if (!x.also?.includes(y.pc) && !y.also?.includes(x.pc)) continue;
      const also = x.also ?? [];
      for (const pc of [y.pc, ...(y.also ?? [])]) if (pc !== x.pc && !also.includes(pc)) also.push(pc);
      x.also = also;
      gone.add(b);
    }
  }
  return gone.size ? issues.filter((_, i) => !gone.has(i)) : issues;
}

/** This process's CPU time so far (user and system), in milliseconds. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export function explore(obj: LoadedObject, prog: LoadedProgram, options: Partial<EngineOptions> = {}): EngineResult {
  const opts = { ...DEFAULT_ENGINE_OPTIONS, ...options };
  const insns: Insn[] = prog.insns;
  const n = insns.length;
  const infos: (OpcodeInfo | undefined)[] = insns.map((i) => OPCODES[i.opcode]);
  const live = liveness(insns);
  const prune = prunePoints(insns);
  const loops = loopSlots(insns);
  const preds = predecessorCounts(insns);
  const seen: (State[] | undefined)[] = new Array(n);
  const visits = new Uint32Array(n);
  const issues: Issue[] = [];
  const reported = new Map<string, number>();
  let nextId = 2;
  let steps = 0;
  /** A register was marked at/beyond data_end somewhere in the walk (so that learnRange has marks to lift). */
  let anyPast = false;
  /** Scalars loaded from a writable map value: their bounds are the verifier's too (the load's width), opaque or not. */
  const mapLoaded = new WeakSet<Scalar>();
  /** Numbers whose range here is exactly the verifier's (n-byte loads of the packet, a context field or a writable map
   * value, and such a number masked by a constant): a map value pointer moved by one is bounded as the verifier
   * bounds it (ValueVar). */
  const exactRange = new WeakSet<Scalar>();
  /** Numbers whose 32-bit bounds the verifier refined where the walk did not (a 32-bit comparison of a number wider
   * than 32 bits, which refines its known bits too): what is computed from them is not exact. */
  const low32Loose = new WeakSet<Scalar>();
  /** A number's low 32 bits as the verifier bounds them after a 32-bit comparison with a constant that its 64-bit
   * range does not follow (`if w2 < 40` on any 64-bit value): `w2 = w2` after it is [0, 39], as the verifier has it. */
  const low32Of = new WeakMap<Scalar, Scalar>();
  /** A number whose low 32 bits are another number's (`w2 = w1`, clang's `(x << 32) >> 32` and `s>> 32` widenings):
   * the other number. A comparison of the copy then bounds the original's low 32 bits too (low32Known). */
  const low32Src = new WeakMap<Scalar, { readonly x: Scalar; readonly add: bigint }>();
  /** [lo, hi] + add in 32-bit arithmetic, when the sum does not wrap; all 32-bit values otherwise. */
  const shift32 = (r: Scalar, add: bigint): Scalar => {
    const lo = r.umin + add, hi = r.umax + add;
    return lo >> 32n === hi >> 32n ? unsignedRange(lo & U32_MAX, hi & U32_MAX, r.opaque) : unsignedRange(0n, U32_MAX, r.opaque);
  };
  /** A number's low 32 bits as they certainly are (not necessarily as the verifier bounds them): only the exit's
   * judgement of the returned verdict reads it (clang tests a widened copy of `int rc` and returns rc itself). */
  const low32Known = new WeakMap<Scalar, Scalar>();
  const exact = (r: Reg): Reg => {
    if (r.k === 'scalar' && r.s !== OPAQUE) exactRange.add(r.s);
    return r;
  };
  /** Differences of two pointers (data_end - data, a 32-bit subtraction with a pointer): any number to the verifier. */
  const pointerDiffs = new WeakSet<Scalar>();
  /**
   * Numbers whose smallest value is certainly S64_MIN to the verifier, however well the walk knows them: a 64-bit
   * division or modulo (6.18 follows none: the result is any number), such a number times a constant of 2 or more
   * (the product's signed bounds overflow), a number at least 0 minus such a number (the difference's largest value
   * overflows, so both signed bounds are dropped). Added to a pointer, check_reg_sane_offset refuses it ("math between
   * fp pointer and register with unbounded min value is not allowed", vfuzz seed 2700500006: `d % 40` made
   * `d - d / 40 * 40` by clang, then an index of a stack array).
   */
  const unboundedMin = new WeakSet<Scalar>();
  /** Stack slots a helper filled as raw memory (bpf_xdp_load_bytes): STACK_MISC bytes to the verifier. */
  const miscBytes = new WeakSet<Scalar>();
  /** Numbers stored off an 8-byte slot start (STACK_MISC bytes to the verifier): read back, any value of the load's
   * width, exactly as the verifier bounds it (a mask then bounds it too), but opaque to findings (a map value's rule). */
  const miscStores = new WeakSet<Scalar>();
  let gaveUp: string | undefined;
  const deadline = opts.maxMs === undefined ? undefined : cpuMs() + opts.maxMs;

  /** The issue's index in `issues` (that of the one already made, when it was reported before). */
  const report = (rule: RuleId, pc: number, message: string, value?: string, line?: number, origin?: number): number => {
    const key = `${rule}@${line !== undefined ? `L${line}` : pc}@${value ?? ''}`;
    const had = reported.get(key);
    if (had !== undefined) return had;
    reported.set(key, issues.length);
    issues.push({ rule, pc, message, value, line, origin });
    return issues.length - 1;
  };
  const lineOf = (pc: number) => prog.lines[pc]?.line;
  /** Global functions (first slot) that changed the frame on some path through them. */
  const globalModifies = new Set<number>();
  /** XDP_TX of an unchanged frame past global functions that came back unchanged: reported unless one of them changes it. */
  const txAfterGlobal: { via: readonly number[]; where: number; retLine?: number; origin?: number }[] = [];
  // The same for XDP_REDIRECT past a global function that set no target on that path: dropped when the function sets
  // one on some path (its result may be what says so, `if (ret == XDP_REDIRECT) return XDP_REDIRECT;`).
  const globalRedirects = new Set<number>();
  const redirectAfterGlobal: { via: readonly number[]; where: number; retLine?: number; origin?: number }[] = [];
  const staleReported = new Set<number>();
  /** Bytes past a proven range already reported (`kind@start@range`), and the issue that reported them. */
  const pastRange = new Map<string, number>();
  /** For each issue reporting a missing bounds check: the pointer's base and the range really proven there. */
  const pastHeads = new Map<number, string>();
  /** Missing checks of a pointer at a variable offset (`kind#id@range`): met on another path, the same check. */
  const missedById = new Map<string, number>();
  /** Possibly-NULL pointers (by nullId) compared with a constant other than 0 (`if (v != (void *)1)`), which is no NULL
   * check: the issue reported for that mistake once made (its NULL use on one side, on the other the record or socket
   * never released, or released through the constant clang passes instead); one finding for the test. */
  const badNullTest = new Map<number, number | undefined>();
  /** Reports `message` for the mistake behind `ids` unless a finding of it was made already (badNullTest). */
  const reportOnce = (ids: readonly number[], rule: RuleId, pc: number, message: string): void => {
    const mine = ids.filter((x) => badNullTest.has(x));
    if (mine.length === 0 || mine.length < ids.length) {
      report(rule, pc, message);
      return;
    }
    if (mine.some((x) => badNullTest.get(x) !== undefined)) return;
    const i = report(rule, pc, message);
    for (const x of mine) badNullTest.set(x, i);
  };
  const mapOf = (i: number): MapDef | undefined => obj.maps[i];
  const readonlyMap = (i: number) => {
    const m = mapOf(i);
    return !!m && ((m.flags & BPF_F_RDONLY_PROG) !== 0 || m.type === MapType.DEVMAP || m.type === MapType.DEVMAP_HASH);
  };

  // ---- map values ----
  // check_map_access: an access at a known offset must lie inside the value (value_size); an atomic must also be
  // aligned to its size (check_atomic asks check_ptr_alignment for strict alignment). Maps whose lookup gives plain
  // value memory only (not sockets, not inner maps).
  const PLAIN_VALUE_MAPS: ReadonlySet<number> = new Set([MapType.HASH, MapType.ARRAY, MapType.PERCPU_HASH, MapType.PERCPU_ARRAY,
    MapType.LRU_HASH, MapType.LRU_PERCPU_HASH, MapType.LPM_TRIE]);
  const checkValue = (base: Reg & { k: 'value' }, off: number, size: number, pc: number, atomic = false): void => {
    const m = mapOf(base.map);
    if (m && base.off === undefined && base.vr && (m.kind === 'global' || PLAIN_VALUE_MAPS.has(m.type))) {
      // check_map_access with the variable offset the verifier knows (no negative part: ValueVar's numbers are
      // unsigned loads, masked).
      const o = BigInt(base.vr.off + off);
      const outside = (x: bigint) => x < 0n || x + BigInt(size) > BigInt(m.valueSize);
      const regno = accessReg(pc);
      const [kernel, why] = outside(base.vr.umin + o)
        ? [`R${regno} min value is outside of the allowed memory range`, `even the smallest index reaches outside ${m.name}'s ${m.valueSize}-byte value`]
        : base.vr.umax >= MAX_VAR_OFF ? [`R${regno} unbounded memory access, make sure to bounds check any such access`, 'nothing bounds the index from above']
        : outside(base.vr.umax + o) ? [`R${regno} max value is outside of the allowed memory range`, `the index may reach offset ${base.vr.umax + o}, past ${m.name}'s ${m.valueSize}-byte value`]
        : [undefined, ''];
      if (kernel) report('pointer-misuse', pc, `The verifier refuses this access to a map value: ${kernel} (${why}; check the index against the value's size first, e.g. \`if (i >= N) return ...;\`).`);
      return;
    }
    if (!m || base.off === undefined || (m.kind !== 'global' && !PLAIN_VALUE_MAPS.has(m.type))) return;
    const start = base.off + off;
    if (start < 0 || start + size > m.valueSize) {
      report('pointer-misuse', pc, `The verifier refuses this access: invalid access to map value, value_size=${m.valueSize} off=${start} size=${size}, then R${accessReg(pc)} min value is outside of the allowed memory range (outside ${m.name}'s value).`);
    } else if (atomic && start % size !== 0) {
      report('pointer-misuse', pc, `The verifier refuses this atomic operation: misaligned value access off ${start} size ${size} (atomics need an address aligned to their size).`);
    }
  };

  // check_mem_region_access for memory of a known size (a global function's pointer argument): the fixed offset plus
  // the smallest and the largest value of the variable part, in the verifier's order and words; not judged when the
  // variable part's bounds are not the verifier's (v undefined).
  const memRegion = (v: Scalar, o: number, size: number, memSize: number, regno: number, words: (at: bigint) => string): string | undefined => {
    const at = (x: bigint) => BigInt(o) + x;
    const inside = (x: bigint) => x >= 0n && x + BigInt(size) <= BigInt(memSize);
    if (v.smin < 0n && (v.smin === S64_MIN || BigInt.asIntN(32, at(v.smin)) !== at(v.smin) || at(v.smin) < 0n)) {
      return `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`;
    }
    if (!inside(at(v.smin))) return `${words(at(v.smin))}, then R${regno} min value is outside of the allowed memory range`;
    if (v.umax >= MAX_VAR_OFF) return `R${regno} unbounded memory access, make sure to bounds check any such access`;
    if (!inside(at(v.umax))) return `${words(at(v.umax))}, then R${regno} max value is outside of the allowed memory range`;
    return undefined;
  };
  const checkMem = (base: Reg & { k: 'mem' }, off: number, size: number, pc: number, kind: 'load' | 'store'): void => {
    if (base.size === undefined || base.off === undefined || !base.v) return;
    const memSize = base.size;
    const kernel = memRegion(base.v, base.off + off, size, memSize, accessReg(pc), (at) => `invalid access to memory, mem_size=${memSize} off=${at} size=${size}`);
    if (kernel) {
      report('pointer-misuse', pc, `The verifier refuses this ${kind}: ${kernel} (the pointer is a global function's argument, which the verifier ` +
        `knows only as ${memSize} bytes, its type's size; check an index against the size first, e.g. \`if (i >= N) return 0;\`).`);
    }
  };

  // ---- packet pointers ----
  const invalidatePacket = (st: State, pc: number, helper: string) => {
    // Slices of an XDP dynptr go with the packet pointers (clear_all_pkt_pointers: reg_is_dynptr_slice_pkt).
    mapAllRegs(st, (x) => (x.k === 'mem' && x.from === PKT_SLICE ? { k: 'scalar', s: { ...OPAQUE }, def: pc, fromPtr: 'moved' } : x));
    st.gen++;
    st.ranges = new Map([[PKT_ID, 0], [META_ID, 0]]);
    st.unchecked = undefined;
    st.invalidatedAt = { pc, helper };
  };
  const learnRange = (st: State, p: Reg, strict: boolean) => {
    if (p.k !== 'pkt' && p.k !== 'meta') return;
    // A compare with data_end is a new check: an access past it is a mistake of its own. One proving less than the
    // range taken as checked after the miss leaves the bytes past it to that same missing check.
    const open = st.unchecked?.get(p.id);
    if (open) {
      const u = new Map(st.unchecked);
      const proves = p.off + (strict ? 1 : 0);
      if (p.gen === st.gen && p.off >= 0 && proves < (st.ranges.get(p.id) ?? 0)) u.set(p.id, { head: open.head, real: Math.max(open.real, proves) });
      else u.delete(p.id);
      st.unchecked = u.size ? u : undefined;
    }
    if (p.gen !== st.gen || p.off < 0) return;
    // The verifier learns nothing from a pointer whose variable part plus fixed offset may exceed MAX_PACKET_OFF
    // (0xffff): `data + (__u32)(data_end - data)` compared with data_end proves no byte.
    if ((p.vmax ?? 0n) + BigInt(p.off) > MAX_PACKET_OFF) return;
    const r = p.off + (strict ? 1 : 0);
    // A register of that id with a range of its own (marked at/beyond data_end) gets the larger of it and this check's
    // (find_good_pkt_pointers), except from `p + 0 < data_end`, from which the verifier learns nothing.
    if (anyPast && (p.off > 0 || !strict)) {
      const id = p.id;
      const k = p.k;
      mapAllRegs(st, (x) => (x.k !== k || x.id !== id || x.own === undefined || x.own >= r ? x : { ...x, own: r }));
    }
    if ((st.ranges.get(p.id) ?? 0) < r) st.ranges.set(p.id, r);
  };
  /** The register holding the pointer an instruction accesses memory through (the verifier's R<n>). */
  const accessReg = (pc: number): number => {
    const kind = infos[pc]?.kind;
    return kind === 'ldx' || kind === 'ldxsx' ? insns[pc]!.src : insns[pc]!.dst;
  };
  const checkPacket = (st: State, p: Reg & { k: 'pkt' | 'meta' }, off: number, size: number, pc: number, kind: 'load' | 'store', reg: number = accessReg(pc)): void => {
    if (p.gen !== st.gen) {
      const inv = st.invalidatedAt;
      // One missing reload after a call is one mistake: its first stale use is reported (the verifier stops there),
      // not every access after it.
      const call = inv?.pc ?? -1;
      if (staleReported.has(call)) return;
      staleReported.add(call);
      report('stale-packet-pointer', pc, msg.stalePacketPointer(inv?.helper ?? 'bpf_xdp_adjust_head', inv ? lineOf(inv.pc) : undefined));
      return;
    }
    if (p.k === 'pkt' && p.own !== undefined && p.own < 0) {
      // check_packet_access refuses any access through a register whose range is negative (AT_PKT_END or
      // BEYOND_PKT_END): the path it is on was chosen because this pointer is at or past data_end.
      report('unchecked-packet-access', pc, msg.pastPacketEnd(kind, p.off + off, size, p.own === -2, reg));
      return;
    }
    const start = p.off + off;
    const range = p.own !== undefined && p.own >= 0 ? p.own : st.ranges.get(p.id) ?? 0;
    const fixedBase = p.id === PKT_ID || p.id === META_ID;
    // The verifier checks the fixed offset alone, whatever variable amount the pointer carries: it must not be
    // negative even past a variable offset (`data + len - 1` is refused: "R1 offset is outside of the packet").
    if (start + size > range || start < 0) {
      // check_packet_access looks at the variable part's sign first: a pointer moved by an amount that may be negative
      // (a signed char offset, a subtraction) is refused in those words, whatever was checked.
      if (!fixedBase && p.vmax !== undefined && p.vmax >= U64_LIMIT) report('unchecked-packet-access', pc, msg.packetOffsetNegative(kind, size, p.k === 'meta', reg));
      else {
        const open = start >= 0 ? st.unchecked?.get(p.id) : undefined;
        const at = `${p.k}@${start}@${range}`;
        let head = pastRange.get(at);
        if (open !== undefined) {
          // Past the range taken as checked after a missing check of this pointer, with no new check since: the same
          // mistake, one check covering both fixes it. Named in the first access's finding, not a finding of its own.
          alsoPast(open.head, pc);
          head = open.head;
        } else if (head === undefined) {
          // The same bytes past the same proven range, met again on another path (a checksum loop's word read and the
          // odd byte after it, both at the end of the header checked): one missing check, reported where the walk (in
          // the verifier's order) met it first, where the verifier stops. Likewise any bytes of one pointer at a
          // variable offset (computed once, before the paths part) past the same range: one check after it fixes both.
          const byId = fixedBase || start < 0 ? undefined : `${p.k}#${p.id}@${range}`;
          const prior = byId !== undefined ? missedById.get(byId) : undefined;
          if (prior !== undefined) {
            alsoPast(prior, pc);
            head = prior;
          } else {
            head = report('unchecked-packet-access', pc, msg.uncheckedPacketAccess(kind, start, size, range, !fixedBase, p.k === 'meta', reg));
            if (byId !== undefined) missedById.set(byId, head);
          }
          pastRange.set(at, head);
          if (start >= 0 && !pastHeads.has(head)) pastHeads.set(head, `${p.k}${fixedBase ? '' : '+v'}@${range}`);
        }
        if (start >= 0 && open === undefined) st.unchecked = new Map(st.unchecked ?? []).set(p.id, { head, real: range });
      }
      // Assume the access was meant to be checked, so that one missing check is reported once, not at every use after.
      if (start + size > range) st.ranges.set(p.id, start + size);
    } else if (st.unchecked) {
      // Inside the range taken as checked, but past the one really proven: an access the same missing check leaves out.
      const open = st.unchecked.get(p.id);
      if (open && start + size > open.real) alsoPast(open.head, pc);
    }
  };
  const alsoPast = (head: number, pc: number) => {
    const first = issues[head]!;
    if (first.pc !== pc && !(first.also ??= []).includes(pc)) first.also.push(pc);
  };

  // ---- stack ----
  const stackStore = (st: State, frame: number, off: number | undefined, size: number, value: Reg) => {
    const slots = st.frames[frame]?.stack;
    if (!slots) return;
    if (off === undefined) {
      slots.clear();
      return;
    }
    for (const [o, slot] of slots) if (o < off + size && off < o + slot.size) slots.delete(o);
    let v: Reg;
    // check_stack_write_fixed_off: the verifier keeps a number only when it is stored at the start of an 8-byte slot
    // (a spill); elsewhere its bytes become STACK_ZERO (a known zero) or STACK_MISC, which read back as any value.
    // Read back (stackLoad), STACK_MISC bytes are any value of the load's width, exactly: miscStores.
    if (value.k === 'scalar' && off % 8 !== 0 && !(isConst(value.s) && value.s.umin === 0n)) {
      const misc = unknownBytes(size, true);
      miscStores.add(misc);
      v = scalarReg(misc, -1);
    }
    else if (value.k === 'scalar') v = size < 8 ? { k: 'scalar', s: truncate(value.s, size), def: value.def } : value;
    else if (value.k === 'none') v = scalarReg(OPAQUE, -1);
    else v = size === 8 ? value : scalarReg(unknownBytes(size, true), -1);
    slots.set(off, { size, reg: v });
  };
  /** `d` points to a dynptr that a helper initialised over memory or a ring buffer record (not the packet). */
  const memDynptr = (st: State, d: Reg): boolean => {
    if (d.k !== 'stack' || d.off === undefined) return false;
    const slot = st.frames[d.frame]?.stack.get(d.off);
    return slot?.reg.k === 'mem' && slot.reg.from === MEM_DYNPTR;
  };
  const clobberStackFrom = (st: State, frame: number, from: number | undefined, len: number | undefined) => {
    const slots = st.frames[frame]?.stack;
    if (!slots) return;
    if (from === undefined) return slots.clear();
    const end = len === undefined ? 1 << 30 : from + len;
    for (const [o, slot] of slots) if (o < end && from < o + slot.size) slots.delete(o);
  };
  // check_ptr_alignment: stack accesses are always strictly aligned; and inside the frame (check_stack_access_within_bounds).
  const misalignedStack = (off: number | undefined, size: number, pc: number): void => {
    if (off === undefined) return;
    if (off % size !== 0) report('pointer-misuse', pc, `The verifier refuses this access: misaligned stack access off ${off} size ${size}.`);
    else if (off < -512 || off + size > 0) report('pointer-misuse', pc, `The verifier refuses this access: stack access off=${off} size=${size} is outside the 512-byte frame [r10-512, r10).`);
  };
  /** A load instruction (not a helper's read) of part of a spilled pointer: check_stack_read_fixed_off refuses it. */
  const partialFill = (st: State, frame: number, off: number | undefined, size: number, pc: number): void => {
    const slots = st.frames[frame]?.stack;
    if (!slots || off === undefined) return;
    for (const [o, sl] of slots) {
      if (o < off + size && off < o + sl.size && sl.reg.k !== 'scalar' && sl.reg.k !== 'none' && (o !== off || size !== sl.size)) {
        report('pointer-misuse', pc, `The verifier refuses this load: invalid size of register fill (${size} byte(s) of a ${sl.reg.k} pointer spilled at fp${o}).`);
        return;
      }
    }
  };
  const stackLoad = (st: State, frame: number, off: number | undefined, size: number, sx: boolean, pc: number): Reg => {
    const slots = st.frames[frame]?.stack;
    if (!slots || off === undefined) return scalarReg(unknownBytes(size, true), pc);
    // Bytes a helper wrote as raw memory (STACK_MISC to the verifier): any value of the load's width, exactly.
    for (const [o, sl] of slots) {
      if (o <= off && off + size <= o + sl.size && sl.reg.k === 'scalar' && miscBytes.has(sl.reg.s)) {
        return number(scalarReg(sx ? signExtend(unknownBytes(size, false), size) : unknownBytes(size, false), pc));
      }
    }
    for (const [o, sl] of slots) {
      if (o <= off && off + size <= o + sl.size && sl.reg.k === 'scalar' && miscStores.has(sl.reg.s)) {
        const s = sx ? signExtend(unknownBytes(size, true), size) : unknownBytes(size, true);
        mapLoaded.add(s);
        if (!sx) exactRange.add(s);
        return number(scalarReg(s, pc));
      }
    }
    const slot = slots.get(off);
    if (slot && slot.size === size) {
      const r = slot.reg;
      if (r.k !== 'scalar') return r;
      return scalarReg(sx ? signExtend(r.s, size) : r.s, pc);
    }
    // A narrower load of the low bytes of a spilled constant (little-endian).
    if (slot && slot.size > size && slot.reg.k === 'scalar' && isConst(slot.reg.s)) {
      const s = truncate(slot.reg.s, size);
      return scalarReg(sx ? signExtend(s, size) : s, pc);
    }
    for (const [o, sl] of slots) {
      if (o <= off && off + size <= o + sl.size && sl.reg.k === 'scalar' && isConst(sl.reg.s) && sl.reg.s.umin === 0n) {
        return scalarReg(constant(0n), pc);
      }
    }
    return scalarReg(sx ? signedRange(-(1n << BigInt(size * 8 - 1)), (1n << BigInt(size * 8 - 1)) - 1n, true) : unknownBytes(size, true), pc);
  };

  // ---- memory access ----
  /** The verifier's name of the type a helper's possibly-NULL result has, for the message. */
  const NULLABLE_TYPES: Record<string, string> = {
    bpf_ringbuf_reserve: 'ringbuf_mem_or_null', bpf_sk_lookup_tcp: 'sock_or_null', bpf_sk_lookup_udp: 'sock_or_null',
    bpf_skc_lookup_tcp: 'sock_common_or_null',
  };
  /** A dereference of a lookup result not yet checked for NULL (the verifier: "invalid mem access 'map_value_or_null'"). */
  const nullCheck = (st: State, base: Reg, pc: number): boolean => {
    if (!nullable(base)) return false;
    const b = base as Reg & { nullId: number };
    if (badNullTest.has(b.nullId)) {
      reportOnce([b.nullId], 'map-value-null', pc, b.k === 'mem' && b.from ? msg.kfuncNull(b.from, NULLABLE_TYPES[b.from]) : msg.mapValueNull(b.k === 'value' ? mapOf(b.map) : undefined, b.k === 'value' ? accessReg(pc) : undefined));
    } else if (b.k === 'mem' && b.from === GLOBAL_ARG) {
      report('map-value-null', pc, `The verifier refuses this access: R${accessReg(pc)} invalid mem access 'mem_or_null' (the verifier checks a global ` +
        'function on its own, for any caller, and a pointer argument may be NULL: check it first, `if (!p) return 0;`, or make the function static).');
    } else report('map-value-null', pc, b.k === 'mem' && b.from ? msg.kfuncNull(b.from, NULLABLE_TYPES[b.from]) : msg.mapValueNull(b.k === 'value' ? mapOf(b.map) : undefined, b.k === 'value' ? accessReg(pc) : undefined));
    // Go on as if it had been checked, so that one missing check gives one finding.
    setNull(st, b.nullId, false, pc);
    return true;
  };
  /** Values the verifier certainly holds as numbers (scalars) whatever the path: what a load from the packet, a
   * context field other than data/data_end/data_meta, or a map value's plain bytes gave (certainType). */
  const numbers = new WeakSet<Scalar>();
  /** Numbers already reported as dereferenced (numberAccess): one finding per value, not per access. */
  const misused = new WeakSet<Scalar>();
  const number = (r: Reg): Reg => {
    if (r.k === 'scalar') numbers.add(r.s);
    return r;
  };
  /** check_mem_access on a register that certainly holds a number: "R1 invalid mem access 'scalar'". */
  const numberAccess = (base: Reg, regno: number, pc: number, kind: 'load' | 'store'): void => {
    if (base.k !== 'scalar' || base.fromPtr || certainType(base) !== 'scalar' || misused.has(base.s)) return;
    // The verifier stops the path here; the walk goes on, and a later access through the same value (its copies and
    // spills share it: a header pointer a failed parser left unset, read field after field) is that same mistake.
    misused.add(base.s);
    report('pointer-misuse', pc, `The verifier refuses this ${kind}: R${regno} invalid mem access 'scalar' (r${regno} holds a number, not a pointer: ` +
      'a value read from the packet, the context or a map, or a constant; the verifier lets a program dereference only pointers it made itself).');
  };
  /** check_mem_access through data_end itself (any offset, any size): "R2 invalid mem access 'pkt_end'". */
  const endAccess = (pc: number, kind: 'load' | 'store'): void => {
    const regno = kind === 'load' ? insns[pc]!.src : insns[pc]!.dst;
    report('unchecked-packet-access', pc, `The verifier refuses this ${kind}: R${regno} invalid mem access 'pkt_end' (r${regno} holds ctx->data_end, which marks ` +
      'where the packet ends and may not be read or written through, at any offset; the last byte of the packet is data_end - 1, reached through ctx->data after a check).');
  };
  const load = (st: State, base: Reg, off: number, size: number, sx: boolean, pc: number): Reg => {
    // The verifier stops at the pointer's type: the access itself is not checked too (one finding for the access).
    const orNull = nullCheck(st, base, pc);
    switch (base.k) {
      case 'end':
        endAccess(pc, 'load');
        return scalarReg(loaded(size, sx, true), pc);
      case 'ctx': {
        const fo = base.off + off;
        // check_ptr_off_reg: the ctx pointer itself must be unmoved (the offset goes in the instruction).
        if (base.off !== 0) report('pointer-misuse', pc, `The verifier refuses this load: dereference of modified ctx ptr (moved by ${base.off}; put the offset in the load instead).`);
        // xdp_md_is_valid_access: six 4-byte fields, read whole.
        // egress_ifindex (20) only in devmap programs (expected attach type BPF_XDP_DEVMAP; the machine's rule too).
        if (size !== 4 || sx || fo < 0 || fo > 20 || fo % 4 !== 0 || (fo === 20 && !/devmap/.test(prog.section))) {
          report('pointer-misuse', pc, `The verifier refuses this load: invalid bpf_context access off=${fo} size=${size}${sx ? ' (sign-extending)' : ''}: ${fo === 20 && size === 4 && !sx ? 'egress_ifindex is only readable in devmap programs' : 'struct xdp_md fields are 4 bytes, read whole'}.`);
        }
        if (size === 4 && !sx) {
          // A pointer loaded after a check has no range of its own (the verifier keeps ranges in registers: only
          // those holding a pointer of the id when it is checked get the range).
          const fresh = (id: number) => {
            if (!(st.ranges.get(id) ?? 0)) return {};
            anyPast = true;
            return { own: 0 };
          };
          if (fo === 0) return { k: 'pkt', id: PKT_ID, off: 0, gen: st.gen, ...fresh(PKT_ID) };
          if (fo === 4) return { k: 'end', gen: st.gen };
          if (fo === 8) return { k: 'meta', id: META_ID, off: 0, gen: st.gen, ...fresh(META_ID) };
          if (fo === 12 || fo === 16 || fo === 20) return exact(number(scalarReg(loaded(size, sx, false), pc)));
        }
        return scalarReg(loaded(size, sx, true), pc);
      }
      case 'pkt':
      case 'meta':
        checkPacket(st, base, off, size, pc, 'load');
        return exact(number(scalarReg(loaded(size, sx, false), pc)));
      case 'scalar':
        if (base.fromPtr) report('pointer-misuse', pc, SCALAR_ACCESS('load', base.fromPtr));
        else numberAccess(base, insns[pc]!.src, pc, 'load');
        return scalarReg(loaded(size, sx, true), pc);
      case 'stack':
        misalignedStack(base.off === undefined ? undefined : base.off + off, size, pc);
        partialFill(st, base.frame, base.off === undefined ? undefined : base.off + off, size, pc);
        return stackLoad(st, base.frame, base.off === undefined ? undefined : base.off + off, size, sx, pc);
      case 'value': {
        checkValue(base, off, size, pc);
        // .rodata: libbpf creates it BPF_F_RDONLY_PROG and freezes it, so the verifier reads a constant offset's bytes
        // as a constant (bpf_map_direct_read) and walks only the side of a branch they decide (a const volatile
        // setting): the walk does the same with the object's initial bytes, or it reports refusals on paths the
        // verifier never walks.
        const ro = mapOf(base.map);
        const at = base.off === undefined ? undefined : base.off + off;
        if (ro && ro.kind === 'global' && ro.section.startsWith('.rodata') && ro.initialValue && base.nullId === 0 && at !== undefined &&
          at >= 0 && at + size <= Math.min(ro.valueSize, ro.initialValue.length)) {
          let v = 0n;
          for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(ro.initialValue[at + i]!);
          return scalarReg(constant(sx ? BigInt.asUintN(64, BigInt.asIntN(size * 8, v)) : v), pc);
        }
        if (!readonlyMap(base.map)) {
          // A frozen read-only map's bytes are constants to the verifier; a writable one's are any value of the width.
          const s = loaded(size, sx, true);
          mapLoaded.add(s);
          if (!sx) exactRange.add(s);
          // Plain bytes (no kptr, timer, lock... the verifier gives a pointer or refuses) are a number to it.
          const m = mapOf(base.map);
          const special = m ? mapSpecialFields(m) : undefined;
          const plain = !!m && !isMapInMap(m) && base.nullId === 0 && (!special?.length ||
            (at !== undefined && !special.some((f) => at < f.off + f.size && f.off < at + size)));
          return plain ? number(scalarReg(s, pc)) : scalarReg(s, pc);
        }
        return scalarReg(loaded(size, sx, true), pc);
      }
      case 'mem': {
        if (!orNull) checkMem(base, off, size, pc, 'load');
        // What a global function's pointer argument points to is plain memory to the verifier: any load from it is a
        // number (a pointer stored there comes back a number: measured on 6.18, "R3 invalid mem access 'scalar'").
        const v = scalarReg(loaded(size, sx, true), pc);
        return base.from === GLOBAL_ARG ? number(v) : v;
      }
      default:
        return scalarReg(loaded(size, sx, true), pc);
    }
  };
  const store = (st: State, base: Reg, off: number, size: number, value: Reg, pc: number): void => {
    const orNull = nullCheck(st, base, pc);
    switch (base.k) {
      case 'end':
        endAccess(pc, 'store');
        return;
      case 'ctx':
        report('ctx-write', pc, msg.ctxWrite(base.off + off, size));
        return;
      case 'pkt':
        checkPacket(st, base, off, size, pc, 'store');
        st.modified = true;
        if (opts.driverMode === 'readonly-page') report('readonly-page-write', pc, msg.readonlyPageWrite('store'));
        return;
      case 'meta':
        checkPacket(st, base, off, size, pc, 'store');
        return;
      case 'scalar':
        if (base.fromPtr) report('pointer-misuse', pc, SCALAR_ACCESS('store', base.fromPtr));
        else numberAccess(base, insns[pc]!.dst, pc, 'store');
        return;
      case 'stack':
        misalignedStack(base.off === undefined ? undefined : base.off + off, size, pc);
        if (base.off === undefined && base.lo !== undefined && base.hi !== undefined) {
          clobberStackFrom(st, base.frame, base.lo + off, base.hi - base.lo + size);
          // check_stack_write_var_off makes every byte the store may reach STACK_MISC (STACK_ZERO for a zero), a spilled
          // pointer among them included: whatever is loaded from inside that range afterwards is a number (afuzz seed 28:
          // a subprogram's r0 read from there, added to a number and given to bpf_tail_call as its context).
          const from = base.lo + off, len = base.hi - base.lo + size;
          if (from >= -512 && from + len <= 0) {
            const marker = unknownBytes(Math.min(len, 8), true);
            miscBytes.add(marker);
            st.frames[base.frame]?.stack.set(from, { size: len, reg: scalarReg(marker, -1) });
          }
        } else stackStore(st, base.frame, base.off === undefined ? undefined : base.off + off, size, value);
        return;
      case 'value':
        checkValue(base, off, size, pc);
        if (readonlyMap(base.map)) report('readonly-write', pc, msg.readonlyWrite(mapOf(base.map), 'store'));
        return;
      case 'mem':
        if (!orNull) checkMem(base, off, size, pc, 'store');
        // bpf_cast_to_kern_ctx's struct xdp_buff: XDP has no btf_struct_access, so check_ptr_to_btf_access allows reads only.
        if (base.from === 'bpf_cast_to_kern_ctx' && off >= 0) {
          report('pointer-misuse', pc, 'The verifier refuses this store: only read is supported (bpf_cast_to_kern_ctx gives the kernel\'s struct xdp_buff to read; ' +
            'change the packet through ctx->data, its bounds with bpf_xdp_adjust_head/tail/meta).');
        }
        return;
      default:
        return;
    }
  };

  // ---- ALU on registers that may be pointers ----
  const asScalar = (r: Reg): Scalar | undefined => (r.k === 'scalar' ? r.s : r.k === 'none' ? OPAQUE : undefined);
  const movePointer = (st: State, p: Reg, delta: Scalar, negate: boolean, pc: number): Reg => {
    const d = isConst(delta) ? Number(BigInt.asIntN(64, delta.umin)) : undefined;
    const fixed = d !== undefined && Math.abs(d) < MAX_PTR_OFF ? (negate ? -d : d) : undefined;
    switch (p.k) {
      case 'pkt':
      case 'meta':
        if (fixed !== undefined) return { ...p, off: p.off + fixed };
        {
          // A variable amount: a new base, nothing proven for it yet (the verifier's fresh id and r=0). Its largest
          // value is followed unless it is opaque (a widened loop counter, a map value), where the old rule holds.
          const id = nextId++;
          st.ranges.set(id, 0);
          // A difference of two pointers as it is (any 64-bit number to the verifier): check_reg_sane_offset refuses
          // the move itself, and nothing is walked through this pointer as a packet pointer after it.
          if (unboundedMin.has(delta)) {
            report('pointer-misuse', pc, `The verifier refuses this instruction: math between ${p.k === 'pkt' ? 'pkt' : 'pkt_meta'} pointer and register with unbounded min value is not allowed ` +
              '(the verifier does not follow a division or remainder: the offset has no lower bound to it; bound it with a mask or a comparison first).');
            return { k: 'ptr' };
          }
          if (pointerDiffs.has(delta)) {
            report('pointer-misuse', pc, `The verifier refuses this instruction: math between ${p.k === 'pkt' ? 'pkt' : 'pkt_meta'} pointer and register with unbounded min value is not allowed ` +
              '(the number is a difference of two pointers, which the verifier does not follow: compare pointers with data_end instead, or bound the number first).');
            return { k: 'ptr' };
          }
          // A value loaded from a writable map as is (no mask, no comparison since) is opaque but its bounds are
          // exactly the verifier's: `data + m->u16_field` learns no range from `+ 20 > data_end` (0xffff + 20 > 0xffff).
          // So are opaque numbers whose range is exactly the verifier's (exactRange: such a value masked by a constant).
          const tracked = (!delta.opaque || mapLoaded.has(delta) || exactRange.has(delta)) && (p.vmax !== undefined || p.id === PKT_ID || p.id === META_ID);
          const vmax = !tracked ? undefined : negate || delta.smin < 0 ? U64_LIMIT : (p.vmax ?? 0n) + delta.umax;
          return vmax === undefined ? { k: p.k, id, off: p.off, gen: p.gen } : { k: p.k, id, off: p.off, gen: p.gen, vmax };
        }
      case 'end':
        // The verifier refuses any addition to or subtraction from data_end ("pointer arithmetic on pkt_end
        // prohibited"). The walk goes on with data_end itself, marked: a number there would make every later bounds
        // check against it prove nothing, and each access behind them (or more arithmetic on it, as clang's
        // zero-extension of a value it stored into ctx->data_end) another finding of this one mistake.
        if (!p.refused) report('unchecked-packet-access', pc, msg.pktEndArithmetic());
        return { k: 'end', gen: p.gen, refused: true };
      case 'ctx':
        return fixed !== undefined ? { k: 'ctx', off: p.off + fixed } : { k: 'ptr' };
      case 'stack': {
        if (fixed !== undefined && p.off !== undefined) return { k: 'stack', frame: p.frame, off: p.off + fixed };
        if (unboundedMin.has(delta)) {
          report('pointer-misuse', pc, 'The verifier refuses this instruction: math between fp pointer and register with unbounded min value is not allowed ' +
            '(the verifier does not follow a division or remainder: the index has no lower bound to it; bound it with a mask or a comparison first).');
          return { k: 'ptr' };
        }
        // An unknown offset keeps the offsets it may reach when the amount is bounded (the verifier's smin/smax): a
        // store through it changes only those slots (check_stack_write_var_off), not the whole frame.
        const lo = p.off ?? p.lo;
        const hi = p.off ?? p.hi;
        if (lo === undefined || hi === undefined) return { k: 'stack', frame: p.frame, off: undefined };
        if (fixed !== undefined) return { k: 'stack', frame: p.frame, off: undefined, lo: lo + fixed, hi: hi + fixed };
        if (delta.smin < -1024n || delta.smax > 1024n) return { k: 'stack', frame: p.frame, off: undefined };
        const dl = negate ? -Number(delta.smax) : Number(delta.smin);
        const dh = negate ? -Number(delta.smin) : Number(delta.smax);
        return { k: 'stack', frame: p.frame, off: undefined, lo: lo + dl, hi: hi + dh };
      }
      case 'value': {
        if (fixed !== undefined && p.off !== undefined) return { ...p, off: p.off + fixed };
        const { vr: _, ...rest } = p;
        // A number whose range is the verifier's, added to a value pointer at a known offset: the verifier's
        // variable offset is that range (check_reg_sane_offset lets it through: its smin is 0).
        if (!negate && p.off !== undefined && exactRange.has(delta) && delta.smin >= 0n) return { ...rest, off: undefined, vr: { off: p.off, umin: delta.umin, umax: delta.umax } };
        if (fixed !== undefined && p.vr) return { ...p, vr: { ...p.vr, off: p.vr.off + fixed } };
        return { ...rest, off: undefined };
      }
      case 'mem': {
        if (p.size === undefined || p.off === undefined) return p;
        // adjust_ptr_min_max_vals: a constant goes into the fixed offset, a variable amount into the variable part,
        // which check_reg_sane_offset first looks at (its smallest value).
        if (fixed !== undefined) return { ...p, off: p.off + fixed };
        const trusted = (!delta.opaque || exactRange.has(delta) || mapLoaded.has(delta)) && !low32Loose.has(delta);
        if (!p.v || !trusted || isConst(delta)) return { ...p, v: undefined };
        const kernel = delta.smin === S64_MIN ? 'math between mem pointer and register with unbounded min value is not allowed'
          : delta.smin >= MAX_VAR_OFF || delta.smin <= -MAX_VAR_OFF ? `value ${delta.smin} makes mem pointer be out of bounds` : undefined;
        if (kernel) {
          report('pointer-misuse', pc, `The verifier refuses this instruction: ${kernel} (the amount added to a global function's pointer argument ` +
            `${delta.smin === S64_MIN ? 'has no lower bound' : `may be ${delta.smin}`}: use an unsigned index and check it against the size first).`);
          return { ...p, v: undefined };
        }
        return { ...p, v: alu64(negate ? 'sub' : 'add', p.v, { ...delta, opaque: false }, 0) };
      }
      case 'ptr':
        return p;
      default:
        return scalarReg(OPAQUE, pc);
    }
  };
  const alu = (st: State, pc: number, info: OpcodeInfo, insn: Insn): boolean => {
    const op = aluVariant(info, insn.off);
    if (!op) return false;
    const a = st.regs[insn.dst];
    const b: Reg = info.srcReg ? st.regs[insn.src] : scalarReg(constant(info.width === 64 ? immToU64(insn.imm) : immToU32(insn.imm)), pc);
    if (op === 'mov' && info.width === 64) {
      // A number the verifier certainly holds stays one in the copy (certainType: the copy's own instruction says
      // nothing).
      if (b.k === 'scalar' && certainType(b) === 'scalar') numbers.add(b.s);
      // A register copy keeps the value's identity, so a later comparison on either copy refines both.
      st.regs[insn.dst] = b.k === 'scalar' ? { k: 'scalar', s: b.s, def: pc, shl32: b.shl32, ...(b.fromPtr ? { fromPtr: b.fromPtr } : {}) } : b;
      return true;
    }
    const bs = asScalar(b);
    // A move (`w1 = 14`, `w1 = w2`, `r1 = (s8)r2`) writes the destination whatever it held: a packet pointer in r1
    // before `w1 = 14` must not turn the constant into an unknown number (which a later `r3 = r6; r3 += r1` would
    // make a variable offset the kernel does not see).
    const as = op === 'mov' || op === 'movsx' ? bs : asScalar(a);
    const forbidden = op === 'mov' || op === 'neg' ? undefined : pointerAluRefusal(op, info.width === 32, op === 'movsx' ? NONE : a, b);
    if (forbidden) {
      // data_end already refused once is still data_end to the walk (see movePointer), whatever is done to it next.
      if (a.k === 'end' && a.refused) {
        st.regs[insn.dst] = a;
        return true;
      }
      report('pointer-misuse', pc, `The verifier refuses this instruction: ${forbidden}.`);
      st.regs[insn.dst] = a.k === 'end' ? { k: 'end', gen: a.gen, refused: true } : scalarReg(OPAQUE, pc);
      return true;
    }
    if (as && bs) {
      // A 32-bit operation sees the low 32 bits as the verifier bounds them (low32Of).
      const a32 = info.width === 32 ? low32Of.get(as) ?? as : as;
      const s = info.width === 64 ? alu64(op, as, bs, insn.off) : alu32(op, a32, low32Of.get(bs) ?? bs, insn.off);
      const by32 = info.width === 64 && !info.srcReg && insn.imm === 32;
      if (by32 && op === 'lsh' && a.k === 'scalar') {
        if (exactRange.has(as) && !low32Loose.has(as)) exactRange.add(s);
        st.regs[insn.dst] = { k: 'scalar', s, def: pc, shl32: as };
        return true;
      }
      // `(x << 32) s>> 32` (an int widened to 64 bits) is x itself when x fits in 32 signed bits, `(x << 32) >> 32`
      // when it fits in 32 unsigned bits: keep x's identity, so a comparison of the widened copy refines x too.
      const x = by32 && a.k === 'scalar' ? a.shl32 : undefined;
      if (x && ((op === 'arsh' && x.smin >= -(1n << 31n) && x.smax < 1n << 31n) || (op === 'rsh' && x.umax < 1n << 32n))) {
        st.regs[insn.dst] = { k: 'scalar', s: x, def: pc };
        return true;
      }
      // The verifier's result is certainly a number when it accepts the instruction: a 32-bit operation, a
      // sign-extending move, any 64-bit operation but add and sub (on a pointer it refuses them), an add of two
      // numbers, a number minus anything (adjust_ptr_min_max_vals: only a pointer minus a number is a pointer).
      const num = info.width === 32 || op === 'movsx' || (op !== 'add' && op !== 'sub') ||
        (certainType(a) === 'scalar' && (op === 'sub' || certainType(b) === 'scalar'));
      const own = num && (s === as || s === bs || s === OPAQUE) ? { ...s } : s;
      if (num) numbers.add(own);
      // x & c, x any value of its low k bits as the verifier knows it (exactRange), c a constant: the verifier's tnum
      // gives [0, c & (2^k - 1)]; kept exact where the walk's range is that one.
      // Any 64-bit value (a global function's argument) is the case of k = 64; a 32-bit `and` sees the low 32 bits.
      const low = info.width === 32 ? 0xffffffffn : 0xffffffffffffffffn;
      if (op === 'and' && exactRange.has(as) && !low32Loose.has(as) && a32.umin === 0n && (a32.smin === 0n || a32.umax === 0xffffffffffffffffn) && isConst(bs) && !bs.opaque && own !== as &&
        ((a32.umax + 1n) & a32.umax) === 0n && own.umin === 0n && own.smin === 0n && own.umax === (bs.umin & a32.umax & low) && own.smax === own.umax) exactRange.add(own);
      // A 32-bit move (`w2 = w2`, clang's zero-extension of a u32) and a 64-bit shift by a constant (its sign
      // extension) of such a number: the walk's interval rules are the verifier's there.
      if (as && exactRange.has(as) && !low32Loose.has(as) && own !== as && ((op === 'mov' && info.width === 32) ||
        ((op === 'lsh' || op === 'rsh' || op === 'arsh') && info.width === 64 && isConst(bs!) && !bs!.opaque))) exactRange.add(own);
      // What the copy's low 32 bits are: the original's (a 32-bit move, or the widening of a shifted copy).
      // `w1 += -1` and `r1 += -1` (clang's `x - 1 < 3` range test) keep the link, moved by the constant.
      const from = op === 'mov' && info.width === 32 && info.srcReg && b.k === 'scalar' ? b.s : by32 && (op === 'rsh' || op === 'arsh') && a.k === 'scalar' ? a.shl32 :
        (op === 'add' || op === 'sub') && !info.srcReg && a.k === 'scalar' ? a.s : undefined;
      if (from && from !== own) {
        const k = op === 'add' ? BigInt(insn.imm) : op === 'sub' ? -BigInt(insn.imm) : 0n;
        const up = low32Src.get(from);
        low32Src.set(own, up ? { x: up.x, add: (up.add + k) & U32_MAX } : { x: from, add: k & U32_MAX });
      }
      if (info.width === 64 && own !== as && own !== bs && own !== OPAQUE && own.smin === S64_MIN && (
        op === 'div' || op === 'mod' || op === 'sdiv' || op === 'smod' ||
        (op === 'mul' && ((unboundedMin.has(as) && isConst(bs) && !bs.opaque && bs.umin >= 2n && bs.umin < 1n << 31n) ||
          (unboundedMin.has(bs) && isConst(as) && !as.opaque && as.umin >= 2n && as.umin < 1n << 31n))) ||
        (op === 'sub' && unboundedMin.has(bs) && as.smin >= 0n))) unboundedMin.add(own);
      st.regs[insn.dst] = scalarReg(own, pc);
      return true;
    }
    if (info.width === 64 && (op === 'add' || op === 'sub')) {
      if (!as && bs) {
        st.regs[insn.dst] = movePointer(st, a, bs, op === 'sub', pc);
        return true;
      }
      if (as && !bs && op === 'add') {
        st.regs[insn.dst] = movePointer(st, b, as, false, pc);
        return true;
      }
      if (!as && !bs && op === 'sub') {
        // Difference of two packet pointers on one base is exact; data_end minus a packet pointer is any number (the
        // verifier's unknown scalar, followed so that adding it back to a pointer proves nothing); anything else is a
        // number we do not follow.
        const same = (a.k === 'pkt' || a.k === 'meta') && a.k === b.k && a.id === (b as typeof a).id;
        const length = a.k === 'end' && b.k === 'pkt';
        const d = same ? constant(BigInt(a.off - (b as typeof a).off)) : length ? unknown(false) : OPAQUE;
        if (length) pointerDiffs.add(d);
        // Two pointers subtracted make a number to root's verifier.
        if (same || length) numbers.add(d);
        st.regs[insn.dst] = scalarReg(d, pc);
        return true;
      }
    }
    // A 32-bit subtraction with a pointer on either side (a privileged loader's `w4 = w3; w4 -= w1` of data_end and
    // data): adjust_ptr_min_max_vals / adjust_reg_min_max_vals make the result any 64-bit number (__mark_reg_unknown),
    // exactly what the verifier knows of it, so a mask then bounds it as the verifier does (`w4 &= 0xffff` is
    // 0..0xffff, and `p + 1 > data_end` with such an offset proves nothing: 0xffff + 1 > MAX_PACKET_OFF).
    if (op === 'sub' && info.width === 32 && (KNOWN_POINTER.has(a.k) || a.k === 'end' || KNOWN_POINTER.has(b.k) || b.k === 'end') &&
      (a.k !== 'none' && b.k !== 'none')) {
      const d = unknown(false);
      pointerDiffs.add(d);
      numbers.add(d);
      st.regs[insn.dst] = scalarReg(d, pc);
      return true;
    }
    if (op === 'mov' && info.width === 32 && info.srcReg && (KNOWN_POINTER.has(b.k) || b.k === 'end')) {
      // `w2 = w2` over a pointer (clang zero-extending ctx->data): root's verifier makes it an unknown number.
      st.regs[insn.dst] = { k: 'scalar', s: { ...OPAQUE }, def: pc, fromPtr: true };
      return true;
    }
    st.regs[insn.dst] = scalarReg(OPAQUE, pc);
    return true;
  };

  // ---- branches ----
  /** Replace every copy of scalar `from` (same object) by `to` throughout the state. */
  const refineScalar = (st: State, from: Scalar, to: Scalar) => {
    if (from === to) return;
    if (numbers.has(from) && to !== OPAQUE) numbers.add(to);
    replaceScalar(st, from, { k: 'scalar', s: to, def: -1 });
    if (to === OPAQUE) return;
    // Zero-extended copies of the number's low 32 bits (`w2 = w1` before `if w1 s< 0`): bounded by it now too.
    const t32 = low32Known.get(to) ?? low32Of.get(to) ?? low32(to);
    const copies = new Map<Scalar, Scalar>();
    mapAllRegs(st, (r) => {
      const link = r.k === 'scalar' ? low32Src.get(r.s) : undefined;
      if (r.k !== 'scalar' || !link || link.x !== from) return r;
      let y = copies.get(r.s);
      if (!y) {
        const b = shift32(t32, link.add);
        y = r.s.umax <= U32_MAX ? norm(r.s.umin > b.umin ? r.s.umin : b.umin, r.s.umax < b.umax ? r.s.umax : b.umax, r.s.smin, r.s.smax, r.s.opaque) ?? r.s : r.s;
        if (y !== r.s) {
          y = { ...y };
          for (const set of [mapLoaded, exactRange, low32Loose, pointerDiffs, miscBytes, miscStores, numbers]) if (set.has(r.s)) set.add(y);
        }
        low32Src.set(y, { x: to, add: link.add });
        copies.set(r.s, y);
      }
      return y === r.s ? r : { k: 'scalar', s: y, def: r.def };
    });
    // A copy of another number's low 32 bits (low32Src), now bounded: so are the original's low 32 bits.
    const link = low32Src.get(from);
    if (!link) return;
    const x = link.x;
    low32Src.set(to, link);
    const now = low32Known.get(x) ?? low32(x);
    const t = shift32(low32Known.get(to) ?? low32Of.get(to) ?? low32(to), -link.add);
    const lo = now.umin > t.umin ? now.umin : t.umin;
    const hi = now.umax < t.umax ? now.umax : t.umax;
    if (lo > hi || (lo === now.umin && hi === now.umax)) return;
    const c = { ...x };
    for (const set of [mapLoaded, exactRange, low32Loose, pointerDiffs, miscBytes, miscStores]) if (set.has(x)) set.add(c);
    const v32 = low32Of.get(x);
    if (v32) low32Of.set(c, v32);
    const src = low32Src.get(x);
    if (src) low32Src.set(c, src);
    low32Known.set(c, unsignedRange(lo, hi, x.opaque));
    if (numbers.has(x)) numbers.add(c);
    low32Src.set(to, { x: c, add: link.add });
    replaceScalar(st, x, { k: 'scalar', s: c, def: -1 });
  };
  const setNull = (st: State, nullId: number, isNull: boolean, pc: number) => {
    // A NULL reservation or socket holds no reference.
    if (isNull && st.refs?.includes(nullId)) st.refs = st.refs.filter((x) => x !== nullId);
    mapAllRegs(st, (r) => {
      if ((r.k === 'value' || r.k === 'mem') && r.nullId === nullId) return isNull ? scalarReg(constant(0n), pc) : { ...r, nullId: 0 };
      return r;
    });
  };
  /** Learn from `a op b` being `truth` for pointer comparisons; returns false when that side cannot happen. */
  const pointerBranch = (st: State, op: JmpOp, a: Reg, b: Reg, truth: boolean, pc: number, ai: number, bi: number): boolean => {
    // Null checks of map values and other nullable pointers.
    if ((op === 'jeq' || op === 'jne') && ((nullable(a) && isZero(b)) || (nullable(b) && isZero(a)))) {
      const p = (nullable(a) ? a : b) as Reg & { nullId: number };
      setNull(st, p.nullId, (op === 'jeq') === truth, pc);
      return true;
    }
    const otherConst = (r: Reg) => r.k === 'scalar' && isConst(r.s) && !r.s.opaque && r.s.umin !== 0n;
    if ((op === 'jeq' || op === 'jne') && ((nullable(a) && otherConst(b)) || (nullable(b) && otherConst(a)))) {
      const id = (nullable(a) ? a : b) as Reg & { nullId: number };
      if (!badNullTest.has(id.nullId)) badNullTest.set(id.nullId, undefined);
    }
    // A second check of a pointer already proven non-NULL: the verifier knows its outcome and never walks the side
    // where it is NULL (is_branch_taken; a held ring buffer record would seem leaked there).
    const checked = (r: Reg) => (r.k === 'value' || r.k === 'mem') && r.nullId === 0;
    if ((op === 'jeq' || op === 'jne') && ((checked(a) && isZero(b)) || (checked(b) && isZero(a))) && (op === 'jeq') === truth) return false;
    // Packet pointer against data_end (or a metadata pointer against data): learn the proven range.
    let p: Reg = a, lim: Reg = b, o = op, pi = ai;
    if (a.k === 'end' || (a.k === 'pkt' && b.k === 'meta')) {
      p = b;
      lim = a;
      o = SWAPPED[op];
      pi = bi;
    }
    const isLimit = (p.k === 'pkt' && lim.k === 'end' && lim.gen === st.gen) ||
      (p.k === 'meta' && lim.k === 'pkt' && lim.id === PKT_ID && lim.off === 0 && lim.gen === st.gen);
    if (!isLimit) return true;
    if (p.k === 'pkt' && lim.k === 'end' && p.gen === st.gen) {
      // is_pkt_ptr_branch_taken: a register known beyond data_end is `> data_end` and `>= data_end`, one known at it
      // `>= data_end`; the verifier walks only that side and learns nothing there.
      const own = p.own ?? 0;
      const known = own === -2 && (o === 'jgt' || o === 'jle') ? o === 'jgt'
        : own < 0 && (o === 'jge' || o === 'jlt') ? o === 'jge' : undefined;
      if (known !== undefined) return known === truth;
      // mark_pkt_end: on the side where this register is past data_end (`>`) or at or past it (`>=`), that register
      // (not its copies, not the other pointers of its id) gets a range no access passes.
      const past = (o === 'jgt' && truth) || (o === 'jle' && !truth) ? -2 : (o === 'jge' && truth) || (o === 'jlt' && !truth) ? -1 : undefined;
      if (past !== undefined && pi >= 0) {
        st.regs[pi] = { ...p, own: past };
        anyPast = true;
        return true;
      }
    }
    // p <= limit: the bytes before p are inside; p < limit: p's own byte too.
    if ((o === 'jgt' && !truth) || (o === 'jle' && truth) || (o === 'jeq' && truth) || (o === 'jne' && !truth)) learnRange(st, p, false);
    else if ((o === 'jge' && !truth) || (o === 'jlt' && truth)) learnRange(st, p, true);
    return true;
  };
  /** Apply the outcome `truth` of a conditional jump to `st`; false when that outcome is impossible. */
  const branch = (st: State, info: OpcodeInfo, insn: Insn, truth: boolean, pc: number): boolean => {
    const op = info.jmp!;
    const a = st.regs[insn.dst];
    const b: Reg = info.srcReg ? st.regs[insn.src] : scalarReg(constant(info.width === 64 ? immToU64(insn.imm) : immToU32(insn.imm)), pc);
    const as = asScalar(a);
    const bs = asScalar(b);
    if (as && bs) {
      if (info.srcReg && insn.src === insn.dst) return true;
      // A 32-bit comparison of values that fit in 32 bits (signed for signed ops, unsigned for unsigned ones) is the
      // 64-bit comparison: refine the whole registers (`if w1 s< 0` on a helper's -EINVAL..0 result).
      const wide = info.width === 64 || fits32(op, as, bs);
      if (!wide && a.k === 'scalar' && as !== OPAQUE && isConst(bs) && !bs.opaque && bs.umin <= 0xffffffffn && ['jlt', 'jle', 'jgt', 'jge', 'jeq', 'jne'].includes(op)) {
        const l = low32Of.get(as) ?? low32(as);
        const lr = truth ? assume(op, l, bs) : assumeNot(op, l, bs);
        if (!lr) return false;
        // A copy of the number (the other side of the branch has other low bits), with what is known of it.
        const c = { ...as };
        low32Of.set(c, { ...lr[0], opaque: l.opaque });
        for (const set of [mapLoaded, exactRange, low32Loose, pointerDiffs, miscBytes, miscStores]) if (set.has(as)) set.add(c);
        refineScalar(st, as, c);
        return true;
      }
      const r = wide ? (truth ? assume(op, as, bs) : assumeNot(op, as, bs)) : assume32(op, as, bs, truth);
      if (!r) return false;
      // A comparison with a constant on the whole register refines an exact number as the verifier does.
      const keep = wide && op !== 'jset' && isConst(bs) && !bs.opaque && a.k === 'scalar' && exactRange.has(a.s);
      // A 32-bit comparison the walk does not follow refines the verifier's 32-bit bounds (on any path: it only makes
      // the walk judge less).
      if (!wide && a.k === 'scalar' && r[0] === a.s) low32Loose.add(a.s);
      if (!wide && b.k === 'scalar' && info.srcReg && r[1] === b.s) low32Loose.add(b.s);
      if (a.k === 'scalar') refineScalar(st, a.s, r[0]);
      if (keep && r[0] !== OPAQUE) exactRange.add(r[0]);
      if (b.k === 'scalar' && info.srcReg) refineScalar(st, b.s, r[1]);
      return true;
    }
    if (info.width !== 64) return true;
    return pointerBranch(st, op, a, b, truth, pc, insn.dst, info.srcReg ? insn.src : -1);
  };

  /**
   * An ARRAY/PERCPU_ARRAY lookup whose key bytes on the stack are known zeros: the verifier (6.18, measured) proves
   * the element exists and gives a non-NULL value. Other constant keys are spilled as plain 32-bit stores, which it
   * does not track, so those lookups still need their check.
   */
  const zeroKeyArrayHit = (st: State, map: number | MapDef | undefined, id: number, pc: number): boolean => {
    const m = typeof map === 'number' ? mapOf(map) : map;
    const key = st.regs[2];
    if (id !== H.map_lookup_elem || !m || (m.type !== MapType.ARRAY && m.type !== MapType.PERCPU_ARRAY) || m.keySize !== 4 || m.maxEntries < 1) return false;
    if (key.k !== 'stack' || key.off === undefined) return false;
    const k = stackLoad(st, key.frame, key.off, 4, false, pc);
    return k.k === 'scalar' && isConst(k.s) && !k.s.opaque && k.s.umin === 0n;
  };

  // ---- helper calls ----
  /**
   * The verifier's type name (reg_type_str) of what `a` holds, where the walk knows it for sure: pointers of a kind it
   * follows exactly, and numbers that are certainly numbers to the verifier too (a constant, a pointer made a number, a
   * load narrower than 8 bytes other than data/data_end/data_meta, a 32-bit operation, a byte swap). Undefined
   * otherwise (an 8-byte load or an unmodelled helper's result may be a pointer the walk does not know).
   */
  const certainType = (a: Reg): string | undefined => {
    switch (a.k) {
      case 'scalar': {
        if (a.fromPtr || (isConst(a.s) && !a.s.opaque) || numbers.has(a.s)) return 'scalar';
        const d = a.def >= 0 ? insns[a.def] : undefined;
        const di = a.def >= 0 ? infos[a.def] : undefined;
        if (!d || !di) return undefined;
        if ((di.kind === 'ldx' || di.kind === 'ldxsx') && di.size! < 8 && !(di.size === 4 && (d.off === 0 || d.off === 4 || d.off === 8))) return 'scalar';
        if ((di.kind === 'alu' && di.width === 32) || di.kind === 'end') return 'scalar';
        return undefined;
      }
      case 'ctx': return 'ctx';
      case 'pkt': return 'pkt';
      case 'meta': return 'pkt_meta';
      case 'end': return 'pkt_end';
      case 'stack': return 'fp';
      case 'map': return 'map_ptr';
      case 'value': return isMapInMap(mapOf(a.map)) ? undefined : a.nullId === 0 ? 'map_value' : 'map_value_or_null';
      // A global function's pointer argument (PTR_TO_MEM, maybe NULL until checked).
      case 'mem': return a.from !== GLOBAL_ARG ? undefined : a.nullId === 0 ? 'mem' : 'mem_or_null';
      default: return undefined;
    }
  };
  /**
   * check_func_arg's type checks on the first `upTo` arguments, in the verifier's order; true when one is refused
   * (reported). ARG_PTR_TO_CTX: the context itself, unmoved (measured on 6.18: "R1 type=fp expected=ctx",
   * "dereference of modified ctx ptr R1 off=4 disallowed"); then the map and memory arguments of ARG_TYPES. A packet
   * pointer given to a helper without pkt_access is refused before its type is looked at. Only kinds the walk knows for
   * sure are judged (certainType).
   */
  const checkArgTypes = (st: State, id: number, pc: number, upTo = 5): boolean => {
    // bpf_xdp_output: an XDP program may not call it at all, which the verifier says before looking at an argument.
    if (id === H.xdp_output) return false;
    const r = st.regs;
    const name = helperName(id) ?? `helper #${id}`;
    const types = ARG_TYPES.get(id) ?? (CTX_ARG_HELPERS.has(id) ? { args: ['ctx'] as const, pkt: false } : undefined);
    for (const [i, want] of (types?.args ?? []).slice(0, upTo).entries()) {
      const a = r[i + 1]!;
      if (!want) continue;
      const kind = certainType(a);
      if (!kind) {
        // Not known for sure: the later arguments are judged only if this one passes, which is not known either.
        return false;
      }
      if ((kind === 'pkt' || kind === 'pkt_meta') && !types!.pkt) {
        report('pointer-misuse', pc, `The verifier refuses this call: helper access to the packet is not allowed (R${i + 1} of ${name} is a packet pointer; ` +
          'copy the bytes to the stack first).');
        return true;
      }
      if (want === 'ctx') {
        if (kind !== 'ctx') {
          report('pointer-misuse', pc, `The verifier refuses this call: R${i + 1} type=${kind} expected=ctx (${name} takes the program's context, r1 at entry).`);
          return true;
        }
        if (a.k === 'ctx' && a.off !== 0) {
          report('pointer-misuse', pc, `The verifier refuses this call: dereference of modified ctx ptr R${i + 1} off=${a.off} disallowed (${name} takes the context unmoved).`);
          return true;
        }
        continue;
      }
      if (want === 'stack') {
        if (kind === 'fp') continue;
        if (kind === 'scalar') {
          // NULL passes (register_is_null: the constant 0 the verifier knows); a number it may not know: undecided.
          if (a.k !== 'scalar' || a.s.opaque || !isConst(a.s)) return false;
          if (a.s.umin === 0n) continue;
        }
        report('pointer-misuse', pc, `The verifier refuses this call: R${i + 1} type=${kind} expected=fp (the callback context of ${name} must point to the ` +
          'stack, or be NULL: put what the callback needs in a struct on the stack, e.g. `struct cb_ctx c = { .ctx = ctx }; ' +
          `${name}(..., &c, 0);\`).`);
        return true;
      }
      const ok = want === 'map' ? kind === 'map_ptr' : ['fp', 'pkt', 'pkt_meta', 'map_value', 'mem'].includes(kind);
      if (ok) continue;
      const expected = want === 'map' ? 'map_ptr' : MEM_EXPECTED;
      const what = want === 'map' ? 'a map (`&map_name`)' : `a pointer to memory (${i + 1 === 2 && (id === H.map_lookup_elem || id === H.map_update_elem || id === H.map_delete_elem) ? 'the key: `&key`, a variable on the stack' : 'a variable on the stack, a checked map value or packet bytes'})`;
      const why = kind === 'map_value_or_null' ? '; this map value may be NULL: check it first, `if (!v) return ...;`'
        : kind === 'mem_or_null' ? '; a global function\'s pointer argument may be NULL: check it first, `if (!p) return 0;`, or make the function static'
        : kind === 'scalar' ? '; it is a number here' : '';
      report('pointer-misuse', pc, `The verifier refuses this call: R${i + 1} type=${kind} expected=${expected} (argument ${i + 1} of ${name} must be ${what}${why}).`);
      return true;
    }
    return false;
  };
  /**
   * bpf_snprintf's format (ARG_PTR_TO_CONST_STR, then check_bpf_snprintf_call): a constant string in a frozen read-only
   * map (.rodata) whose conversions bpf_bprintf_prepare accepts, no more of them than data_len / 8 arguments. Measured
   * on 6.18: "R3 type=fp expected=map_value" (a format on the stack), "R3 does not point to a readonly map'" (in .data),
   * "Invalid format string" (%d %d with one argument, %pM, %hd, %.2d, a lone %). Only what the walk knows for sure.
   */
  const snprintfFormat = (st: State, pc: number): void => {
    const f = st.regs[3];
    const kind = certainType(f);
    if (kind !== undefined && kind !== 'map_value') {
      report('pointer-misuse', pc, `The verifier refuses this call: R3 type=${kind} expected=map_value (bpf_snprintf's format must be a constant string: \`static const char fmt[] = "...";\`).`);
      return;
    }
    if (f.k !== 'value' || f.nullId !== 0 || f.off === undefined) return;
    const m = mapOf(f.map);
    if (!m || isMapInMap(m)) return;
    if (!(m.kind === 'global' && m.section.startsWith('.rodata'))) {
      report('pointer-misuse', pc, `The verifier refuses this call: R3 does not point to a readonly map' (bpf_snprintf's format is in ${m.kind === 'global' ? m.section : `map ${m.name}`}; make it \`static const char fmt[] = "...";\`).`);
      return;
    }
    const len = st.regs[5];
    if (!m.initialValue || len.k !== 'scalar' || !isConst(len.s) || len.s.opaque || len.s.umin % 8n !== 0n || len.s.umin > 96n) return;
    const bytes = m.initialValue.subarray(f.off, m.valueSize);
    if (f.off < 0 || !bytes.includes(0)) return;
    const n = Number(len.s.umin / 8n);
    const ok = formatPrintk(bytes, new Array<bigint>(n).fill(0n), () => '', (_a, size) => new Uint8Array(size));
    if (ok === undefined) {
      const text = new TextDecoder('latin1').decode(bytes.subarray(0, bytes.indexOf(0)));
      report('pointer-misuse', pc, `The verifier refuses this call: Invalid format string (${JSON.stringify(text)} with ${n} argument${n === 1 ? '' : 's'}: ` +
        'bpf_snprintf takes %d %i %u %x %X with l or ll, %c, %s, %p, %pK, %px, %ps, %pS, %pB, %pi4, %pI4, %pi6, %pI6, %pks, %pus and %%, with flags 0+- and a width, one u64 of data per conversion).');
    }
  };
  /**
   * check_helper_mem_access on a global function's pointer argument (PTR_TO_MEM of its type's size): the helper's
   * `size` bytes at the pointer must lie inside it (check_mem_region_access; measured on 6.18: "invalid access to
   * memory, mem_size=2 off=0 size=8", then "R2 min value is outside of the allowed memory range"). Not while it may be
   * NULL (checkArgTypes' refusal, for the helpers it knows).
   */
  const helperMem = (a: Reg & { k: 'mem' }, regno: number, size: number, name: string, pc: number): void => {
    if (a.from !== GLOBAL_ARG || a.nullId !== 0 || a.size === undefined || a.off === undefined || !a.v) return;
    const memSize = a.size;
    const kernel = memRegion(a.v, a.off, size, memSize, regno, (at) => `invalid access to memory, mem_size=${memSize} off=${at} size=${size}`);
    if (kernel) {
      report('pointer-misuse', pc, `The verifier refuses this call: ${kernel} (${name} reads or writes ${size} bytes at r${regno}, a global function's argument ` +
        `that the verifier knows only as ${memSize} bytes, its type's size${a.off ? `, at offset ${a.off}` : ''}; give the argument a type of the size the helper needs).`);
    }
  };
  const isMapInMap = (m: MapDef | undefined): boolean => m?.type === MapType.ARRAY_OF_MAPS || m?.type === MapType.HASH_OF_MAPS;
  const MAP_ARG_HELPERS = new Set<number>([H.map_lookup_elem, H.map_update_elem, H.map_delete_elem, H.redirect_map, H.map_lookup_percpu_elem]);
  const helperCall = (st: State, id: number, pc: number): void => {
    const r = st.regs;
    const name = helperName(id) ?? `helper #${id}`;
    let r0: Reg = scalarReg(OPAQUE, pc);
    const mapArg = r[1].k === 'map' ? r[1].map : undefined;
    // A key (and an update's value) read from the stack at a known offset must lie inside the frame
    // (check_stack_range_initialized: "invalid read from stack R2 off=-2 size=4").
    if (mapArg !== undefined && (id === H.map_lookup_elem || id === H.map_update_elem || id === H.map_delete_elem)) {
      const m = mapOf(mapArg);
      const args: [number, number][] = [[2, m?.keySize ?? 0], ...(id === H.map_update_elem ? [[3, m?.valueSize ?? 0] as [number, number]] : [])];
      for (const [i, size] of args) {
        const a = r[i]!;
        if (a.k === 'stack' && a.off !== undefined && size > 0 && (a.off + size > 0 || a.off < -512)) {
          report('pointer-misuse', pc, `The verifier refuses this call: invalid read from stack R${i} off=${a.off} size=${size} (${name}'s ${i === 2 ? 'key' : 'value'} reaches outside the frame).`);
        }
        // A key or value in the packet: the helper reads `size` bytes there, which must lie inside the checked range
        // (check_helper_mem_access -> check_packet_access: "invalid access to packet, off=30 size=4, R2(id=0,off=30,r=30)").
        if ((a.k === 'pkt' || a.k === 'meta') && size > 0) checkPacket(st, a, 0, size, pc, 'load', i);
        if (a.k === 'mem' && size > 0) helperMem(a, i, size, name, pc);
      }
    }
    // A global function's pointer argument given to a helper that reads or writes a size given as a constant.
    const sized = HELPER_PROTOS.get(id);
    for (const m of sized?.mem ?? []) {
      const a = r[m]!, n = sized!.sizes?.some((z) => z.reg === m + 1) ? r[m + 1] : undefined;
      if (a.k === 'mem' && a.from === GLOBAL_ARG && a.nullId !== 0 && m === 1 && FIRST_ARG_MEM.has(id)) {
        report('pointer-misuse', pc, `The verifier refuses this call: R1 type=mem_or_null expected=${MEM_EXPECTED} (argument 1 of ${name} must be a pointer to memory; ` +
          'a global function\'s pointer argument may be NULL: check it first, `if (!p) return 0;`, or make the function static).');
        continue;
      }
      if (a.k !== 'mem' || n?.k !== 'scalar' || !isConst(n.s) || n.s.opaque || n.s.umin === 0n || n.s.umin >= BigInt(MAX_VAR_SIZE)) continue;
      helperMem(a, m, Number(n.s.umin), name, pc);
    }
    // An inner map from a map-of-maps lookup (modelled as that lookup's value) passed on before its NULL check.
    const r1 = r[1];
    if (r1.k === 'value' && r1.nullId !== 0 && MAP_ARG_HELPERS.has(id)) {
      const outer = mapOf(r1.map);
      if (isMapInMap(outer)) report('map-value-null', pc, msg.innerMapNull(outer));
    }
    // ARG_PTR_TO_CTX: r1 must be the context itself, unmoved (check_reg_type, check_func_arg_reg_off; measured on
    // 6.18: "R1 type=fp expected=ctx", "dereference of modified ctx ptr R1 off=4 disallowed"). Then the map and memory
    // arguments of the helpers in ARG_TYPES, in the verifier's order: the first argument it refuses is the one it
    // names. Only kinds the walk knows for sure are judged (certainType).
    if (!checkArgTypes(st, id, pc) && id === H.snprintf) snprintfFormat(st, pc);
    // bpf_spin_lock regions (check_helper_call / process_spin_lock): no other helper inside, no second lock, no
    // unlock without a lock (measured on 6.18).
    if (id === SPIN_LOCK) {
      if (st.locked) report('pointer-misuse', pc, 'The verifier refuses this call: Locking two bpf_spin_locks are not allowed.');
      st.locked = true;
    } else if (id === SPIN_UNLOCK) {
      if (!st.locked) report('pointer-misuse', pc, 'The verifier refuses this call: bpf_spin_unlock without taking a lock.');
      st.locked = false;
    } else if (st.locked || st.held?.includes('res')) {
      report('pointer-misuse', pc, `The verifier refuses this call: function calls are not allowed while holding a lock (${name} between bpf_spin_lock and bpf_spin_unlock).`);
    }
    switch (id) {
      case H.map_lookup_elem:
      case H.map_lookup_percpu_elem:
        if (mapArg !== undefined) r0 = { k: 'value', map: mapArg, off: 0, nullId: zeroKeyArrayHit(st, mapArg, id, pc) ? 0 : nextId++ };
        else if (r1.k === 'value' && isMapInMap(mapOf(r1.map))) {
          // A lookup in an inner map: its template (or the simulator's default one) decides as a direct map would.
          const outer = mapOf(r1.map)!;
          r0 = { k: 'mem', nullId: zeroKeyArrayHit(st, outer.inner ?? defaultInnerTemplate(outer), id, pc) ? 0 : nextId++ };
        } else r0 = { k: 'mem', nullId: nextId++ };
        break;
      case H.map_update_elem:
      case H.map_delete_elem:
      case H.map_push_elem:
      case H.map_pop_elem:
        if (mapArg !== undefined && readonlyMap(mapArg)) report('readonly-write', pc, msg.readonlyWrite(mapOf(mapArg), 'helper'));
        r0 = scalarReg(signedRange(-4095n, 0n, false), pc);
        break;
      case H.ktime_get_ns:
        r0 = scalarReg(unknown(false), pc);
        break;
      case H.get_prandom_u32:
      case H.get_smp_processor_id:
        r0 = scalarReg(unsignedRange(0n, 0xffffffffn, false), pc);
        break;
      case H.tail_call:
        if (st.refs?.length) report('pointer-misuse', pc, referenceLeak('bpf_tail_call'));
        // In a bpf_loop / bpf_for_each_map_elem callback's own frame: the verifier takes the call as a return of the
        // callback with an unknown R0, which must be 0 or 1 there (measured on 6.18; when its precision tracking trips
        // over that return first, it says "verifier bug: callback unexpected regs 1" at the same call).
        if (st.frames[st.frames.length - 1]!.callback) {
          report('pointer-misuse', pc, "The verifier refuses this call: At callback return the register R0 has unknown scalar value should have been in [0, 1] " +
            '(bpf_tail_call in a callback ends the callback with an unknown return value; 6.18 may word it "verifier bug: callback unexpected regs 1"). ' +
            'Make the tail call from the XDP function after bpf_loop returns, e.g. with a flag the callback sets in its context.');
        }
        // On success the callee runs instead and never comes back; the path that continues is the failed call, on
        // the packet as it was: the verifier (6.18) keeps the frame's packet pointers. A subprogram that tail-calls
        // counts as moving the packet for its callers, whose pointers are stale once it returns (measured: refused).
        if (st.frames.length > 1) invalidatePacket(st, pc, 'bpf_tail_call');
        r0 = NONE;
        break;
      case H.redirect:
        st.redirected = true;
        r0 = scalarReg(unsignedRange(0n, 4n, false), pc);
        break;
      case H.redirect_map: {
        st.redirected = true;
        const f = r[3].k === 'scalar' && isConst(r[3].s) ? r[3].s.umin : undefined;
        // The low two flag bits are the action returned when the key has no entry (C.6).
        r0 = scalarReg(f !== undefined && (f & ~0x1bn) === 0n ? unsignedRange(f & 3n, 4n, false) : unsignedRange(0n, 4n, false), pc);
        break;
      }
      case H.xdp_adjust_head:
      case H.xdp_adjust_tail:
      case H.xdp_adjust_meta:
        invalidatePacket(st, pc, name);
        if (id !== H.xdp_adjust_meta) st.modified = true;
        r0 = scalarReg(signedRange(-524n, 0n, false), pc);
        break;
      case H.xdp_store_bytes:
      case 202: // bpf_dynptr_write: into the packet for an XDP dynptr
        // A dynptr over memory (bpf_dynptr_from_mem) or a ring buffer record (bpf_ringbuf_reserve_dynptr) is no packet.
        if (id === 202 && memDynptr(st, r1)) {
          r0 = scalarReg(signedRange(-22n, 0n, false), pc);
          break;
        }
        st.modified = true;
        if (opts.driverMode === 'readonly-page') report('readonly-page-write', pc, msg.readonlyPageWrite('helper', id === 202 ? 'bpf_dynptr_write' : undefined));
        r0 = scalarReg(signedRange(-22n, 0n, false), pc);
        break;
      case H.xdp_load_bytes: {
        const buf = r[3];
        const len = r[4].k === 'scalar' && isConst(r[4].s) ? Number(r[4].s.umin & 0xffffn) : undefined;
        if (buf.k === 'stack') clobberStackFrom(st, buf.frame, buf.off, len);
        // check_helper_mem_access in raw mode (ARG_PTR_TO_UNINIT_MEM) makes every byte of the buffer STACK_MISC.
        if (buf.k === 'stack' && buf.off !== undefined && len !== undefined && len > 0 && buf.off + len <= 0) {
          const marker = unknownBytes(Math.min(len, 8), true);
          miscBytes.add(marker);
          st.frames[buf.frame]?.stack.set(buf.off, { size: len, reg: scalarReg(marker, -1) });
        }
        if (buf.k === 'value' && readonlyMap(buf.map)) report('readonly-write', pc, msg.readonlyWrite(mapOf(buf.map), 'helper'));
        r0 = scalarReg(signedRange(-22n, 0n, false), pc);
        break;
      }
      case H.xdp_get_buff_len:
        r0 = scalarReg(unsignedRange(0n, 0xffffffffn, false), pc);
        break;
      case H.fib_lookup: {
        const len = r[3].k === 'scalar' && isConst(r[3].s) ? Number(r[3].s.umin & 0xffffn) : undefined;
        if (r[2].k === 'stack') clobberStackFrom(st, r[2].frame, r[2].off, len);
        r0 = scalarReg(signedRange(-4095n, 9n, false), pc);
        break;
      }
      case H.ringbuf_reserve:
      case H.sk_lookup_tcp:
      case H.sk_lookup_udp:
      case H.skc_lookup_tcp: {
        // An acquired reference (acquire_reference_state): released by bpf_ringbuf_submit/discard, bpf_sk_release.
        const ref = nextId++;
        r0 = { k: 'mem', nullId: ref, ref, from: name };
        st.refs = [...(st.refs ?? []), ref];
        break;
      }
      case H.ringbuf_submit:
      case H.ringbuf_discard:
      case SK_RELEASE:
        if (r1.k === 'scalar' && isConst(r1.s) && !r1.s.opaque) {
          // A constant where the record or socket goes (clang passes the 1 or NULL a test proved): check_func_arg
          // refuses the call ("R1 type=scalar expected=ringbuf_mem"); the path ends there, so nothing is left held.
          const expected = id === SK_RELEASE ? 'sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_' : 'ringbuf_mem';
          reportOnce(st.refs ?? [], 'pointer-misuse', pc, `The verifier refuses this call: R1 type=scalar expected=${expected} (${name} is given the number ${r1.s.umin}, not ` +
            `the ${id === SK_RELEASE ? 'socket' : 'record'}; release only a pointer checked against NULL: \`if (p) ${name}(p${id === SK_RELEASE ? '' : ', 0'});\`).`);
          st.refs = undefined;
        } else if (r1.k === 'mem' && r1.ref !== undefined) {
          const ref = r1.ref;
          if (st.refs) st.refs = st.refs.filter((x) => x !== ref);
          // release_reference: every copy of the released pointer becomes a number (mark_reg_invalid).
          mapAllRegs(st, (x) => (x.k === 'mem' && x.ref === ref ? { k: 'scalar', s: { ...OPAQUE }, def: pc, fromPtr: 'released' } : x));
        }
        break;
      case H.loop:
      case H.for_each_map_elem:
        // Callbacks are not walked; whatever they may have done on this path counts as done, so that no finding
        // rests on their absence.
        st.redirected = true;
        st.modified = true;
        r0 = scalarReg(unknown(true), pc);
        break;
      default:
        break;
    }
    if (!READS_ONLY.has(id) && id !== H.fib_lookup && id !== H.xdp_load_bytes) {
      // A helper we do not model may write through any stack pointer it gets.
      for (let i = 1; i <= 5; i++) {
        const a = r[i];
        if (a.k === 'stack') clobberStackFrom(st, a.frame, a.off, undefined);
      }
    }
    // bpf_dynptr_from_mem / bpf_ringbuf_reserve_dynptr initialise the dynptr their 4th argument points to: remembered
    // in its slot, so that a bpf_dynptr_write through it is not taken for a packet write.
    if ((id === 197 || id === 198) && r[4].k === 'stack' && r[4].off !== undefined) {
      st.frames[r[4].frame]?.stack.set(r[4].off, { size: 16, reg: { k: 'mem', nullId: 0, from: MEM_DYNPTR } });
    }
    // bpf_ringbuf_reserve_dynptr acquires a reference whether or not the reservation succeeds (a failed one is a NULL
    // dynptr the program must still discard); bpf_ringbuf_submit_dynptr / discard_dynptr release it (measured on 6.18:
    // "cannot overwrite referenced dynptr", "arg 1 is an unacquired reference", "Unreleased reference").
    if (id === 198 && r[4].k === 'stack' && r[4].off !== undefined) {
      const ref = slotRef(DYNPTR_REF_BASE, r[4].frame, r[4].off);
      if (st.refs?.includes(ref)) report('pointer-misuse', pc, 'The verifier refuses this call: cannot overwrite referenced dynptr (a ring buffer record reserved into this dynptr is neither submitted nor discarded yet).');
      st.refs = [...(st.refs ?? []).filter((x) => x !== ref), ref];
    } else if ((id === 199 || id === 200) && r[1].k === 'stack' && r[1].off !== undefined) {
      const ref = slotRef(DYNPTR_REF_BASE, r[1].frame, r[1].off);
      if (!st.refs?.includes(ref)) {
        report('pointer-misuse', pc, `The verifier refuses this call: arg 1 is an unacquired reference (${name}: the dynptr holds no ring buffer record reserved by bpf_ringbuf_reserve_dynptr on this path, or it was submitted or discarded already).`);
      } else st.refs = st.refs.filter((x) => x !== ref);
    }
    // A helper returning an integer (RET_INTEGER): a number whatever the path.
    if (r0.k === 'scalar' && INT_HELPERS.has(id) && r0.s !== OPAQUE) numbers.add(r0.s);
    r[0] = r0;
    r[1] = r[2] = r[3] = r[4] = r[5] = NONE;
  };

  // ---- kfunc calls (the result types of check_kfunc_call) ----
  const kfuncCall = (st: State, index: number, pc: number): boolean => {
    const r = st.regs;
    const name = prog.kfuncs?.[index]?.name ?? '';
    const info = kfuncInfo(name);
    let r0: Reg;
    if (!kfuncSections(st, name, pc)) return false;
    // A slice of a dynptr that is not over memory or a ring buffer record: of the packet (read before the arguments'
    // stack slots are forgotten below).
    const pktSlice = info?.ret === 'slice' && r[1].k === 'stack' && !memDynptr(st, r[1]);
    switch (info?.ret) {
      case 'slice':
      case 'nf_conn':
        r0 = { k: 'mem', nullId: nextId++, from: name };
        break;
      case 'kptr':
        // PTR_TO_BTF_ID, never NULL (bpf_cast_to_kern_ctx, bpf_rdonly_cast).
        r0 = { k: 'mem', nullId: 0, from: name };
        break;
      case 'void':
        r0 = NONE;
        break;
      case 'bool':
        r0 = scalarReg(unsignedRange(0n, 1n, false), pc);
        break;
      case 'u32':
        r0 = scalarReg(unsignedRange(0n, 0xffffffffn, false), pc);
        break;
      case 'int':
        // 0 or -errno, as every modelled kfunc returning int.
        r0 = scalarReg(signedRange(-4095n, 0n, false), pc);
        break;
      default:
        r0 = scalarReg(OPAQUE, pc);
    }
    // A writable slice is how a dynptr program changes the packet (the stores go through r0, typed as memory here).
    // (Counted as a change even if the program only reads it: that can only silence tx-unmodified, never raise one.)
    if (name === 'bpf_dynptr_slice_rdwr') st.modified = true;
    // bpf_xdp_pull_data may move the frame: the verifier forgets every packet pointer (is_kfunc_pkt_changing).
    // An open-coded iterator is a reference the verifier tracks by its stack slot: _new acquires it (whether or not it
    // succeeds), _destroy releases it; an exit with one live is "Unreleased reference".
    const iter = ITER_KFUNCS.get(name);
    // _next and _destroy take an iterator _new made on this path (process_iter_arg: "expected an initialized iter_bits
    // as arg #0": never made, or destroyed already).
    const use = ITER_USE.get(name);
    if (use && r[1].k === 'stack' && r[1].off !== undefined && !st.refs?.includes(slotRef(ITER_REF_BASE, r[1].frame, r[1].off))) {
      report('pointer-misuse', pc, `The verifier refuses this call: expected an initialized ${use} as arg #0 (${name} on an iterator that ${use === 'iter_num' ? 'bpf_iter_num_new' : 'bpf_iter_bits_new'} did not make on this path, or that was destroyed already).`);
    }
    // bpf_dynptr_slice's buffer size (buffer__szk) must be a constant the verifier knows.
    if ((name === 'bpf_dynptr_slice' || name === 'bpf_dynptr_slice_rdwr') && r[4].k === 'scalar' && !isConst(r[4].s)) {
      report('pointer-misuse', pc, `The verifier refuses this call: R4 must be a known constant (${name}'s buffer size is not a constant here).`);
    }
    if (iter && r[1].k === 'stack' && r[1].off !== undefined) {
      const id = slotRef(ITER_REF_BASE, r[1].frame, r[1].off);
      // A second _new on a slot whose iterator is still live (its bytes overwritten by a store meanwhile, which the
      // verifier lets pass): the first one's reference is lost, never released (kfuzz mistake seed 7136).
      if (iter === 'new') st.refs = [...(st.refs ?? []), ...(st.refs?.includes(id) ? [nextId++] : [id])];
      else if (st.refs) st.refs = st.refs.filter((x) => x !== id);
    }
    if (name === 'bpf_xdp_pull_data') {
      invalidatePacket(st, pc, name);
      st.modified = true;
    }
    // Pointer arguments the verifier requires non-NULL (check_kfunc_args): NULL, or a result not checked yet.
    for (const i of info?.ptrs ?? []) {
      if (info!.nullable?.includes(i)) continue;
      const a = r[i];
      const isNull = a.k === 'scalar' && isConst(a.s) && a.s.umin === 0n;
      if (isNull || nullable(a)) {
        report('map-value-null', pc, msg.kfuncNullArg(name, i, !isNull));
        if (!isNull) setNull(st, (a as Reg & { nullId: number }).nullId, false, pc);
      }
    }
    // Conntrack entries are references (KF_ACQUIRE): bpf_xdp_ct_lookup / _alloc acquire one (none on their NULL
    // result), bpf_ct_insert_entry turns an allocation into an entry, bpf_ct_release releases an entry but not an
    // allocation (its type is struct nf_conn___init).
    // (After the NULL check above, which names an unchecked one first.)
    const ctArg = r[1];
    if ((name === 'bpf_ct_release' || name === 'bpf_ct_insert_entry') && ctArg.k === 'mem' && ctArg.ref !== undefined) {
      const ref = ctArg.ref;
      if (name === 'bpf_ct_release' && ctArg.from === 'bpf_xdp_ct_alloc') {
        report('pointer-misuse', pc, 'The verifier refuses this call: kernel function bpf_ct_release args#0 expected pointer to STRUCT nf_conn but R1 has a pointer to STRUCT nf_conn___init (an entry from bpf_xdp_ct_alloc is given back by bpf_ct_insert_entry, not released).');
      }
      if (st.refs) st.refs = st.refs.filter((x) => x !== ref);
      mapAllRegs(st, (x) => (x.k === 'mem' && x.ref === ref ? { k: 'scalar', s: { ...OPAQUE }, def: pc, fromPtr: 'released' } : x));
    }
    // A kfunc may write through any stack pointer it gets (a dynptr it initialises, a buffer, opts).
    for (let i = 1; i <= 5; i++) {
      const a = r[i];
      if (a.k === 'stack') clobberStackFrom(st, a.frame, a.off, undefined);
      if (a.k === 'value' && info?.writes.includes(i) && readonlyMap(a.map)) report('readonly-write', pc, msg.readonlyWrite(mapOf(a.map), 'helper'));
    }
    if (pktSlice && r0.k === 'mem') r0 = { ...r0, from: PKT_SLICE };
    if (name === 'bpf_xdp_ct_lookup' || name === 'bpf_xdp_ct_alloc' || name === 'bpf_ct_insert_entry') {
      const ref = nextId++;
      r0 = { k: 'mem', nullId: ref, ref, from: name };
      st.refs = [...(st.refs ?? []), ref];
    }
    if (name === 'bpf_res_spin_lock' || name === 'bpf_res_spin_lock_irqsave') {
      // check_kfunc_call pushes the failed attempt as a branch of its own (r0 a negative errno, no lock held); the
      // path on holds the lock with r0 = 0.
      const failed = cloneState(st);
      failed.regs[0] = scalarReg(signedRange(-4095n, -1n, false), pc);
      failed.regs[1] = failed.regs[2] = failed.regs[3] = failed.regs[4] = failed.regs[5] = NONE;
      failed.pc = pc + 1;
      work.push(failed);
      st.held = [...(st.held ?? []), 'res'];
      r0 = scalarReg(constant(0n), pc);
    }
    r[0] = r0;
    r[1] = r[2] = r[3] = r[4] = r[5] = NONE;
    return true;
  };

  /** The sections the kfuncs open and close (RCU, preemption, interrupts, resilient locks) and bpf_throw, as
   * check_kfunc_call and check_resource_leak see them (measured on 6.18). False: the path ends here. */
  const kfuncSections = (st: State, name: string, pc: number): boolean => {
    const held = st.held ?? [];
    const close = (kind: string, what: string): void => {
      const i = held.lastIndexOf(kind);
      if (i < 0) report('pointer-misuse', pc, `The verifier refuses this call: ${what}.`);
      else st.held = [...held.slice(0, i), ...held.slice(i + 1)];
    };
    const open = (kind: string): void => { st.held = [...held, kind]; };
    const resLock = name === 'bpf_res_spin_lock' || name === 'bpf_res_spin_lock_irqsave';
    const resUnlock = name === 'bpf_res_spin_unlock' || name === 'bpf_res_spin_unlock_irqrestore';
    // Only the list/rbtree (graph API), bpf_iter_num and resilient lock kfuncs may be called while a lock is held.
    const graph = /^bpf_(list_|rbtree_|refcount_acquire)/.test(name);
    if ((st.locked || held.includes('res')) && !resLock && !resUnlock && !graph && !name.startsWith('bpf_iter_num_')) {
      report('pointer-misuse', pc, `The verifier refuses this call: function calls are not allowed while holding a lock (${name} inside a locked region).`);
    }
    switch (name) {
      case 'bpf_rcu_read_lock':
        if (held.includes('rcu')) report('pointer-misuse', pc, 'The verifier refuses this call: nested rcu read lock (kernel function bpf_rcu_read_lock): RCU sections do not nest.');
        else open('rcu');
        break;
      case 'bpf_rcu_read_unlock': close('rcu', 'unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)'); break;
      case 'bpf_preempt_disable': open('preempt'); break;
      case 'bpf_preempt_enable': close('preempt', 'unmatched attempt to enable preemption (kernel function bpf_preempt_enable)'); break;
      case 'bpf_local_irq_save': open('irq'); break;
      case 'bpf_local_irq_restore': close('irq', 'expected an initialized irq flag as arg#0 (bpf_local_irq_restore without a bpf_local_irq_save on this path)'); break;
      case 'bpf_res_spin_unlock':
      case 'bpf_res_spin_unlock_irqrestore':
        close('res', `${name} without taking a lock (bpf_res_spin_lock's result decides whether it took the lock: unlock only where it returned 0)`);
        break;
      case 'bpf_throw': {
        const why = sectionAtExit(st);
        if (why) report('pointer-misuse', pc, `The verifier refuses this call: bpf_throw cannot be used inside ${why}-ed region.`);
        else if (st.refs?.length) report('pointer-misuse', pc, 'The verifier refuses this call: Unreleased reference, then bpf_throw would lead to reference leak (a reference acquired on this path is still held where the program throws).');
        return false;
      }
      default:
    }
    return true;
  };
  /** The region an exit here would leave open, in the verifier's words, or undefined. */
  const sectionAtExit = (st: State): string | undefined => {
    const held = st.held ?? [];
    if (st.locked || held.includes('res')) return 'bpf_spin_lock';
    if (held.includes('irq')) return 'bpf_local_irq_save';
    if (held.includes('rcu')) return 'bpf_rcu_read_lock';
    if (held.includes('preempt')) return 'bpf_preempt_disable';
    return undefined;
  };

  // ---- program exit ----
  const entryLine = prog.lines[0]?.line;
  /**
   * The slot whose line a finding about the returned value goes to: where r0 got its value, unless clang hoisted
   * that into the function's first line (`r0 = 9` before the checks, a common schedule); then the last conditional
   * jump on the path, which is the `if (...) return ...` that chose it.
   */
  const attribute = (st: State, def: number, exitPc: number): number => {
    if (def < 0) return st.lastJump ?? exitPc;
    const line = prog.lines[def]?.line;
    if ((line === undefined || line === entryLine) && st.lastJump !== undefined) return st.lastJump;
    // Returns that clang merged into one shared block carry that block's line (often the closing brace); the jump
    // this path took into the block is the statement that chose the value.
    const t = st.lastTaken;
    if (t && t.to <= def && preds[t.to] > 1 && !hasTargetBetween(t.to, def)) return t.from;
    return def;
  };
  const hasTargetBetween = (from: number, to: number): boolean => {
    for (let pc = from + 1; pc <= to; pc++) if (preds[pc] > 1 || prune[pc]) return true;
    return false;
  };
  const exitChecks = (st: State, pc: number): void => {
    const region = sectionAtExit(st);
    if (region) report('pointer-misuse', pc, `The verifier refuses this exit: BPF_EXIT instruction in main prog cannot be used inside ${region}-ed region (${region === 'bpf_spin_lock' ? 'unlock first' : 'close it first'}).`);
    else if (st.refs?.length) reportOnce(st.refs, 'pointer-misuse', pc, referenceLeak('the exit'));
    const r0 = st.regs[0];
    if (r0.k === 'none') {
      // check_return_code reads r0 (only the main function's exit does): nothing wrote it on this path.
      report('pointer-misuse', pc, 'The verifier refuses this exit: R0 !read_ok (nothing set the return value on this path: bpf_tail_call returns ' +
        'only when it fails, and returns nothing; `bpf_tail_call(ctx, &map, i); return XDP_PASS;` instead of `return bpf_tail_call(...)`).');
      return;
    }
    if (r0.k !== 'scalar') {
      if (r0.k !== 'ptr' && r0.k !== 'mem') report('invalid-action', pc, msg.invalidActionPointer());
      return;
    }
    // In the marked twin the return statement is known; the slot that set r0 is kept as where the value came from.
    const retLine = opts.returnMarkers ? st.retLine : undefined;
    const where = retLine !== undefined ? pc : attribute(st, r0.def, pc);
    const origin = r0.def >= 0 ? r0.def : undefined;
    const v = low32Known.get(r0.s) ?? low32Of.get(r0.s) ?? low32(r0.s);
    // An opaque value (a map's, a helper's) that the path's branches proved above 4 (`if (x >= 64) return x;`) is
    // no action whatever it holds.
    if (r0.s.opaque && v.umin > 4n && !isConst(v)) {
      const [lo, hi] = [Number(v.umin), Number(v.umax)];
      report('invalid-action', where, msg.invalidActionRange(lo, hi, 'data the program read or computed'), msg.showRange(lo, hi), retLine, origin);
      return;
    }
    if (!r0.s.opaque && v.umax > 4n) {
      if (isConst(v)) report('invalid-action', where, msg.invalidActionConst(Number(v.umin)), msg.showValue(Number(v.umin)), retLine, origin);
      else if (r0.s.smin < 0n && r0.s.smin >= -4095n && r0.s.smax <= 4n) {
        // A small negative range: an error code passed through.
        const [lo, hi] = [Number(r0.s.smin), Number(r0.s.smax)];
        report('invalid-action', where, msg.invalidActionRange(lo, hi, 'an error result (negative errno)'), msg.showRange(lo, hi), retLine, origin);
      } else {
        const [lo, hi] = [Number(v.umin), Number(v.umax)];
        report('invalid-action', where, msg.invalidActionRange(lo, hi, 'data the program read or computed'), msg.showRange(lo, hi), retLine, origin);
      }
      return;
    }
    if (!isConst(v)) return;
    const attach = attachedMap(prog.section);
    if (attach && refusedByAttach(attach, Number(v.umin))) {
      report('invalid-action', where, attachActionMessage(attach, v.umin === 3n ? 'XDP_TX' : 'XDP_REDIRECT'), msg.showValue(Number(v.umin)), retLine, origin);
      return;
    }
    if (v.umin === 4n && !st.redirected) {
      if (st.viaGlobalUnredirected?.length) redirectAfterGlobal.push({ via: st.viaGlobalUnredirected, where, retLine, origin });
      else report('redirect-without-target', where, msg.redirectWithoutTarget(), undefined, retLine, origin);
    }
    // Under read-only pages no XDP_TX goes out at all (the source tier reports the return): unchanged or not is moot.
    if (v.umin === 3n && !st.modified && opts.driverMode !== 'readonly-page') {
      // Past a global function that came back with the frame unchanged: judged at the end of the walk, when it is
      // known whether that function changes the frame on any path (then its result may be what says so).
      if (st.viaGlobal?.length) txAfterGlobal.push({ via: st.viaGlobal, where, retLine, origin });
      else report('tx-unmodified', where, msg.txUnmodified(), undefined, retLine, origin);
    }
  };

  // ---- callbacks (set_loop_callback_state, set_map_elem_callback_state; prepare_func_exit's return check) ----
  const callbackState = (st: State, id: number, target: number, pc: number): State => {
    const cb = cloneState(st);
    const r = cb.regs;
    const caller = cb.frames[cb.frames.length - 1]!;
    caller.saved = r.slice();
    caller.returnPc = pc + 1;
    const frame = cb.frames.length;
    cb.frames.push({ stack: new Map(), callback: true });
    const fp: Reg = { k: 'stack', frame, off: 0 };
    // bpf_loop: (index, ctx); bpf_for_each_map_elem: (map, key, value, ctx). Key and value pointers are not followed.
    cb.regs = id === H.loop
      ? [NONE, scalarReg(unsignedRange(0n, 0xffffffffn, true), pc), r[3], NONE, NONE, NONE, NONE, NONE, NONE, NONE, fp]
      : [NONE, r[1], { k: 'ptr' }, { k: 'ptr' }, r[3], NONE, NONE, NONE, NONE, NONE, fp];
    cb.pc = target;
    return cb;
  };
  const callbackExit = (st: State, pc: number): void => {
    const r0 = st.regs[0];
    if (r0.k === 'scalar' && !r0.s.opaque && isConst(r0.s)) {
      const v = BigInt.asIntN(64, r0.s.umin);
      if (v < 0n || v > 1n) {
        report('pointer-misuse', pc, `The verifier refuses this callback's return: At callback return the register R0 has smin=${v} smax=${v} ` +
          'should have been in [0, 1] (a bpf_loop or bpf_for_each_map_elem callback returns 0 to go on or 1 to stop).');
      }
    } else if (KNOWN_POINTER.has(r0.k)) {
      report('pointer-misuse', pc, "The verifier refuses this callback's return: R0 not a scalar value (a callback returns 0 or 1, not a pointer).");
    }
  };

  const globalFuncs = new Set(prog.funcs.filter((f, i) => i > 0 && f.global).map((f) => f.insn));
  /**
   * btf_check_subprog_call: the verifier checks a global function on its own, from the types its BTF gives its
   * arguments, and the caller's registers only against those types, in order: an integer must be a number, a
   * `struct xdp_md *` the context itself (unmoved), a pointer to sized memory a pointer to memory (NULL, a constant 0,
   * allowed: the function must check it). True when an argument is refused (reported). Only kinds the walk knows for
   * sure are judged; at the first argument it does not know (or a memory pointer whose size it does not check) the
   * rest are not judged either.
   */
  /**
   * A global function as the verifier checks it (do_check_common from btf_prepare_func_args): r1..r5 from its BTF
   * argument types, whoever the caller: a number any value, the context, a pointer to sized memory that may be NULL,
   * the registers past its arguments unset. The caller's stack that such a pointer points to is any bytes afterwards
   * (check_mem_reg's write check makes them STACK_MISC). Undefined without BTF for the function: the caller's registers.
   */
  const globalArgs = (st: State, target: number, pc: number): Reg[] | undefined => {
    const fn = prog.funcs.find((f) => f.insn === target);
    // argScalar has an entry per argument whenever the function's BTF was read (none for a function of no arguments).
    const n = fn?.argScalar?.length;
    if (!fn || n === undefined || n > 5) return undefined;
    const out: Reg[] = [NONE, NONE, NONE, NONE, NONE];
    for (let i = 0; i < n; i++) {
      const size = fn.argMemSizes?.[i];
      // A number: any value to the verifier, exactly (exactRange).
      if (fn.argScalar?.[i]) out[i] = exact(number(scalarReg({ ...OPAQUE }, pc)));
      else if (fn.argCtx?.[i]) out[i] = { k: 'ctx', off: 0 };
      else if (size !== undefined) {
        out[i] = { k: 'mem', nullId: nextId++, from: GLOBAL_ARG, size, off: 0, v: constant(0n) };
        const a = st.regs[i + 1]!;
        if (a.k === 'stack') {
          clobberStackFrom(st, a.frame, a.off, a.off === undefined ? undefined : size);
          if (a.off !== undefined && a.lo === undefined && a.off + size <= 0) {
            const marker = unknownBytes(Math.min(size, 8), true);
            miscBytes.add(marker);
            st.frames[a.frame]?.stack.set(a.off, { size, reg: scalarReg(marker, -1) });
          }
        }
      } else return undefined;
    }
    return out;
  };
  const subprogIndex = new Map([...prog.funcs].sort((a, b) => a.insn - b.insn).map((f, i) => [f.insn, i]));
  const checkGlobalArgs = (st: State, target: number, pc: number): boolean => {
    const fn = prog.funcs.find((f) => f.insn === target);
    const n = Math.max(fn?.argScalar?.length ?? 0, fn?.argCtx?.length ?? 0, fn?.argMemSizes?.length ?? 0);
    if (!fn || n === 0) return false;
    // btf_prepare_func_args reads every argument's type before any register: a pointer to something without a size
    // refuses every call (measured on 6.18), once the arguments before it are of kinds it takes.
    const unsized = fn.argUnsized?.findIndex((x) => x !== undefined) ?? -1;
    if (unsized >= 0 && unsized < 5 && [...Array(unsized).keys()].every((j) => fn.argScalar?.[j] || fn.argCtx?.[j] || fn.argMemSizes?.[j] !== undefined)) {
      const desc = fn.argUnsized![unsized]!;
      const what = desc === 'UNKNOWN ' ? '`void *`' : `a pointer to struct ${desc.slice(4)}, which is only declared`;
      report('pointer-misuse', pc, `The verifier refuses this call: arg#${unsized} reference type('${desc}') size cannot be determined: -22 ` +
        `(Caller passes invalid args into func#${subprogIndex.get(target) ?? '?'} ('${fn.name}'): argument ${unsized + 1} of ${fn.name} is ${what}; ` +
        'the verifier checks a global function on its own and must know the size of what each pointer argument points to: ' +
        'make the function static, or give the argument a type with a size).');
      return true;
    }
    const r = st.regs;
    for (let i = 0; i < Math.min(n, 5); i++) {
      const a = r[i + 1]!;
      const size = fn.argMemSizes?.[i];
      if (a.k === 'none' && (fn.argScalar?.[i] || fn.argCtx?.[i] || size !== undefined)) {
        // Nothing wrote the register on this path (NOT_INIT): not a scalar; for a pointer, __check_ptr_off_reg prints
        // NOT_INIT's name and its unknown var_off (measured on 6.18).
        const kernel = fn.argScalar?.[i] ? `R${i + 1} is not a scalar` : 'variable ? access var_off=(0x0; 0xffffffffffffffff) disallowed';
        const why = `argument ${i + 1} of ${fn.name} is read from r${i + 1}, and nothing set r${i + 1} on this path (a call leaves r1-r5 unset). ` +
          'clang passes whatever the register holds for an argument the function never reads: use the argument in the function, or make it static';
        report('pointer-misuse', pc, `The verifier refuses this call: ${kernel} (Caller passes invalid args into func#${subprogIndex.get(target) ?? '?'} ('${fn.name}'): ${why}).`);
        return true;
      }
      const kind = certainType(a);
      if (kind === undefined) return false;
      let kernel: string | undefined;
      let why = '';
      if (fn.argScalar?.[i]) {
        if (kind !== 'scalar') {
          kernel = `R${i + 1} is not a scalar`;
          why = `argument ${i + 1} of ${fn.name} is an integer, and r${i + 1} holds a pointer (${kind}); pass a number`;
        }
      } else if (fn.argCtx?.[i]) {
        if (a.k === 'ctx' && a.off !== 0) {
          kernel = `dereference of modified ctx ptr R${i + 1} off=${a.off} disallowed`;
          why = `argument ${i + 1} of ${fn.name} is a \`struct xdp_md *\`, which must be the context unmoved`;
        } else if (kind !== 'ctx') {
          kernel = `arg#${i} expects pointer to ctx`;
          why = `argument ${i + 1} of ${fn.name} is a \`struct xdp_md *\`, so the caller must pass the program's context; here r${i + 1} holds ` +
            `${kind === 'scalar' ? 'a number' : `a ${kind} pointer`}. clang passes any value for an argument the function never reads: use the ` +
            'argument in the function, or make it static';
        }
      } else if (size !== undefined) {
        const zero = a.k === 'scalar' && isConst(a.s) && !a.s.opaque && a.s.umin === 0n;
        if (a.k === 'ctx' && a.off !== 0) {
          kernel = `dereference of modified ctx ptr R${i + 1} off=${a.off} disallowed`;
        } else if ((kind === 'scalar' && !zero) || kind === 'ctx' || kind === 'pkt_end' || kind === 'map_ptr') {
          kernel = `R${i + 1} type=${kind} expected=fp`;
        } else if (zero) {
          // NULL: the function is checked with this argument possibly NULL.
        } else if (a.k === 'mem' && a.from === GLOBAL_ARG) {
          // This function's own pointer argument passed on: check_mem_reg takes it as not NULL for the size check
          // (check_mem_region_access over the whole size).
          if (a.size === undefined || a.off === undefined || !a.v) return false;
          const memSize = a.size;
          kernel = memRegion(a.v, a.off, size, memSize, i + 1, (at) => `invalid access to memory, mem_size=${memSize} off=${at} size=${size}`)?.replace(', then', ';');
          why = `argument ${i + 1} of ${fn.name} points to ${size} bytes, and r${i + 1} points to ${a.off ? `offset ${a.off} of ` : ''}a ${memSize}-byte argument of the caller; ` +
            'pass a pointer to memory of the argument\'s type';
        } else if (a.k === 'stack' && a.off !== undefined && a.lo === undefined) {
          // check_mem_reg reads the whole size from the stack (check_stack_access_within_bounds).
          if (a.off < -512 || a.off + size > 0) {
            kernel = `invalid read from stack R${i + 1} off=${a.off} size=${size}`;
            why = `argument ${i + 1} of ${fn.name} points to ${size} bytes, and r${i + 1} points to fp${a.off}, ${a.off + size > 0 ? 'past the top of' : 'below'} the stack frame; ` +
              'pass a variable of the argument\'s type';
          }
        } else if (a.k === 'value' && a.off !== undefined && a.vr === undefined && mapOf(a.map) !== undefined) {
          // check_map_access over the whole size.
          const vs = mapOf(a.map)!.valueSize;
          if (a.off < 0 || a.off + size > vs) {
            // __check_mem_access's line, then check_mem_region_access's.
            kernel = `invalid access to map value, value_size=${vs} off=${a.off} size=${size}; R${i + 1} min value is outside of the allowed memory range`;
            why = `argument ${i + 1} of ${fn.name} points to ${size} bytes, and r${i + 1} points to offset ${a.off} of ${mapOf(a.map)!.name}'s ${vs}-byte value; ` +
              'pass a pointer to memory of the argument\'s type';
          } else if ((mapOf(a.map)!.flags & BPF_F_RDONLY_PROG) !== 0) {
            // check_mem_reg checks a write of the whole size too (check_map_access_type).
            kernel = `write into map forbidden, value_size=${vs} off=${a.off} size=${size}`;
            why = `argument ${i + 1} of ${fn.name} points to memory the function may write, and ${mapOf(a.map)!.name} is read-only to the program; ` +
              'copy the value to the stack and pass that';
          }
        } else if (a.k === 'value' && a.off === undefined && a.vr && mapOf(a.map) !== undefined &&
          (mapOf(a.map)!.kind === 'global' || PLAIN_VALUE_MAPS.has(mapOf(a.map)!.type))) {
          // check_map_access with the variable offset the verifier knows (ValueVar: no negative part).
          const m = mapOf(a.map)!;
          const v = { umin: a.vr.umin, umax: a.vr.umax, smin: a.vr.umin, smax: a.vr.umax, opaque: false };
          kernel = memRegion(v, a.vr.off, size, m.valueSize, i + 1, (at) => `invalid access to map value, value_size=${m.valueSize} off=${at} size=${size}`)?.replace(', then', ';');
          why = `argument ${i + 1} of ${fn.name} points to ${size} bytes, and r${i + 1} points to a variable offset into ${m.name}'s ${m.valueSize}-byte value ` +
            `(${a.vr.umin + BigInt(a.vr.off)} to ${a.vr.umax + BigInt(a.vr.off)}); bound the offset so that the whole argument fits`;
        } else if ((a.k === 'pkt' || a.k === 'meta') && a.gen === st.gen) {
          // check_packet_access over the whole size at the pointer's fixed offset, as for a load (check_helper_mem_access).
          const range = a.own !== undefined && a.own >= 0 ? a.own : st.ranges.get(a.id) ?? 0;
          const fixedBase = a.id === PKT_ID || a.id === META_ID;
          const limit = a.k === 'meta' ? 'data' : 'data_end';
          if (a.own !== undefined && a.own < 0) {
            kernel = `R${i + 1} offset is outside of the packet`;
            why = `argument ${i + 1} of ${fn.name} points to ${size} bytes, and on this path a comparison found r${i + 1} at or past ${limit}`;
          } else if (!fixedBase && a.vmax !== undefined && a.vmax >= U64_LIMIT) {
            kernel = `R${i + 1} min value is negative, either use unsigned index or do a if (index >=0) check.`;
            why = `argument ${i + 1} of ${fn.name} points to ${size} bytes, and r${i + 1} was moved by an amount that may be negative; make the offset unsigned`;
          } else if (a.off < 0 || a.off + size > range) {
            kernel = `invalid access to packet, off=${a.off} size=${size}${fixedBase ? `, R${i + 1}(id=0,off=${a.off},r=${range})` : ''}; R${i + 1} offset is outside of the packet`;
            why = `argument ${i + 1} of ${fn.name} points to ${size} bytes, and ${range > 0 ? `only ${range} byte${range === 1 ? ' is' : 's are'}` : 'none is'} ` +
              `checked against ${limit} at r${i + 1}${a.off ? ` (offset ${a.off})` : ''}; check \`if ((void *)p + sizeof(*p) > ${limit})\` before the call`;
          }
        } else {
          return false;
        }
        if (kernel && !why) why = `argument ${i + 1} of ${fn.name} points to ${size} bytes of memory, and r${i + 1} holds ${kind === 'scalar' ? 'a number' : `a ${kind} pointer`}; ` +
          'pass a pointer to the stack, a map value or the packet, or NULL';
      } else {
        // A type the walk does not read (a tagged argument, a pointer without a size): not judged.
        return false;
      }
      if (kernel) {
        report('pointer-misuse', pc, `The verifier refuses this call: ${kernel} (Caller passes invalid args into func#${subprogIndex.get(target) ?? '?'} ('${fn.name}'): ${why}).`);
        return true;
      }
    }
    return false;
  };

  // ---- the walk ----
  const initial: State = {
    pc: 0,
    regs: [NONE, { k: 'ctx', off: 0 }, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, { k: 'stack', frame: 0, off: 0 }],
    frames: [{ stack: new Map() }],
    ranges: new Map([[PKT_ID, 0], [META_ID, 0]]),
    gen: 0,
    redirected: false,
    modified: false,
    steps: 0,
  };
  /** Forget the proven ranges of packet pointer ids no register or slot holds any more (a loop makes a new id per
   * turn; every state stored at a prune point copies the map). */
  const dropUnusedRanges = (st: State): void => {
    const used = new Set<number>([PKT_ID, META_ID]);
    const note = (r: Reg) => { if (r.k === 'pkt' || r.k === 'meta') used.add(r.id); };
    st.regs.forEach(note);
    for (const f of st.frames) {
      f.saved?.forEach(note);
      for (const slot of f.stack.values()) note(slot.reg);
    }
    for (const id of [...st.ranges.keys()]) if (!used.has(id)) st.ranges.delete(id);
  };
  /** Every live register and stack slot in which `cur` differs from `old` holds a number that is not opaque in either. */
  const changedOnlyExact = (old: State, cur: State, live: number[]): boolean => {
    if (old.frames.length !== cur.frames.length) return false;
    const exactPair = (a: Reg, b: Reg) => a === b || (a.k === 'scalar' && b.k === 'scalar' && ((!a.s.opaque && !b.s.opaque) || a.s === b.s));
    const top = cur.frames.length - 1;
    let changed = false;
    for (let f = top; f >= 0; f--) {
      const ra = f === top ? old.regs : old.frames[f]!.saved!;
      const rb = f === top ? cur.regs : cur.frames[f]!.saved!;
      for (let i = 0; i < 10; i++) {
        if (!(live[f]! & (1 << i))) continue;
        const a = ra[i]!, b = rb[i]!;
        if (a === b || (a.k === 'scalar' && b.k === 'scalar' && a.s === b.s)) continue;
        if (a.k === 'scalar' && b.k === 'scalar' && a.s.umin === b.s.umin && a.s.umax === b.s.umax && a.s.smin === b.s.smin && a.s.smax === b.s.smax && a.s.opaque === b.s.opaque) continue;
        if (!exactPair(a, b)) return false;
        changed = true;
      }
      const sa = old.frames[f]!.stack, sb = cur.frames[f]!.stack;
      if (sa.size !== sb.size) return false;
      for (const [off, slot] of sa) {
        const other = sb.get(off);
        if (!other || other.size !== slot.size) return false;
        if (other.reg === slot.reg) continue;
        if (!exactPair(slot.reg, other.reg)) return false;
        changed = true;
      }
    }
    return changed;
  };
  const work: State[] = [initial];
  const callerMask = ~0b111111; // r0..r5 are replaced when a callee returns.
  const liveMasks: number[] = [];

  walk: while (work.length > 0) {
    const st = work.pop()!;
    for (;;) {
      const pc = st.pc;
      if (pc < 0 || pc >= n) break;
      if (++steps > opts.maxSteps) {
        gaveUp = `stopped after ${opts.maxSteps} instructions`;
        break walk;
      }
      if (deadline !== undefined && (steps & 255) === 0 && cpuMs() > deadline) {
        gaveUp = `stopped after ${opts.maxMs} ms (${steps} instructions)`;
        break walk;
      }
      if (prune[pc]) {
        if (++visits[pc] > opts.maxVisitsPerSlot) {
          gaveUp ??= `slot ${pc} reached more than ${opts.maxVisitsPerSlot} times (a loop the analysis cannot bound)`;
          break;
        }
        const list = (seen[pc] ??= []);
        if (st.ranges.size > 16) dropUnusedRanges(st);
        const top = st.frames.length - 1;
        for (let f = 0; f < top; f++) liveMasks[f] = live[st.frames[f].returnPc!] & callerMask;
        liveMasks[top] = live[pc];
        let pruned = false;
        for (const old of list) {
          if (covers(old, st, liveMasks)) {
            pruned = true;
            break;
          }
        }
        if (pruned) break;
        // Widen where this path itself keeps coming back (a loop turning more than widenAfter times), or where very
        // many paths meet (a bound on the walk). Not merely because many other paths reached this slot before: the
        // verifier walks each of them exactly, and a path that arrives late with numbers of its own (a loop counter
        // set on one arm of a switch, sfuzz seed 539365924) must still be walked through the loop and past it.
        // Counted only at the heads of loops (loopSlots), which every turn of a loop passes: a function called again by
        // the same path is a new frame, bounded by the call depth. Counting at every prune point copied this map at
        // each one: quadratic in time and memory on a program of thousands of them (a 9,000-instruction rule table
        // unrolled by clang ran out of heap).
        const own = loops[pc] ? (st.heads?.get(pc) ?? 0) + 1 : 1;
        if (loops[pc]) st.heads = new Map(st.heads).set(pc, own);
        // A loop whose every changed value is a number the walk knows as the verifier does is walked on, turn by turn,
        // as the verifier walks it (a back-edge state still being explored prunes nothing): a u16 option cursor that
        // grows each turn reaches 0xffff and the check in the loop stops proving bytes only at turn 257 (gamemann's
        // XDP-TCP-Header-Options). Up to half the walk's budget (and 25,000 instructions), so that the paths left are
        // still walked and `check` stays quick.
        const exactLoop = own > opts.widenAfter && visits[pc] <= opts.widenSlotAfter && steps < Math.min(opts.maxSteps / 2, 25_000) &&
          list.length > 0 && changedOnlyExact(list[list.length - 1]!, st, liveMasks);
        if (!exactLoop && (own > opts.widenAfter || visits[pc] > opts.widenSlotAfter)) {
          // A loop that keeps producing new states here: widen into the newest stored state, which then covers both
          // (see widen). The joined state meets its own stored copy at once and ends there: nothing is walked past a
          // widened loop (imprecise numbers would make findings the verifier does not have), so widening stays rare.
          // States of another shape keep the path-by-path walk.
          let joined: State | undefined;
          for (let i = list.length - 1; i >= 0 && !joined; i--) {
            joined = widen(list[i], st, liveMasks);
            if (joined) list[i] = cloneState(joined);
          }
          if (joined) {
            joined.pc = pc;
            work.push(joined);
            continue walk;
          }
        }
        // A full list keeps taking the newest states in turn (oldest first out): a loop's own last state must be
        // there for the widening above to meet it, or a slot many paths filled walks its loop turn by turn.
        if (list.length < opts.maxStatesPerSlot) list.push(cloneState(st));
        else list[visits[pc] % opts.maxStatesPerSlot] = cloneState(st);
      }
      const insn = insns[pc];
      const info = infos[pc];
      if (!info) break;
      const r = st.regs;
      // check_reg_arg: a register read on a path where nothing wrote it (entry, after a call, in a callee) is
      // `R%d !read_ok`; the verifier stops this path there.
      if (info.kind !== 'exit' && info.kind !== 'lddw') {
        const missing = regUse(insn, info).reads & 0x7ff;
        let rn = -1;
        for (let k = 0; k <= 10 && rn < 0; k++) if (missing & (1 << k) && r[k]!.k === 'none') rn = k;
        // A helper's arguments are checked one by one: an earlier one of the wrong type is what the verifier names.
        if (rn >= 1 && info.kind === 'call' && insn.src === CALL_HELPER && checkArgTypes(st, insn.imm, pc, rn - 1)) continue walk;
        if (rn >= 0) {
          report('pointer-misuse', pc, `The verifier refuses this instruction: R${rn} !read_ok (r${rn} is read on a path where nothing wrote it${rn >= 1 && rn <= 5 ? '; a call leaves r1-r5 unreadable' : ''}).`);
          continue walk;
        }
      }
      switch (info.kind) {
        case 'alu':
          if (!alu(st, pc, info, insn)) {
            gaveUp ??= `ALU instruction at slot ${pc} has reserved fields set`;
            continue walk;
          }
          st.pc = pc + 1;
          break;
        case 'end': {
          const s = asScalar(r[insn.dst]) ?? OPAQUE;
          r[insn.dst] = scalarReg(endian(s, info.end!, insn.imm), pc);
          st.pc = pc + 1;
          break;
        }
        case 'lddw': {
          switch (insn.src) {
            case PSEUDO_IMM64:
              r[insn.dst] = scalarReg(constant((BigInt(insn.nextImm ?? 0) << 32n) | BigInt(insn.imm >>> 0)), pc);
              break;
            case PSEUDO_MAP_FD:
            case PSEUDO_MAP_IDX:
              r[insn.dst] = { k: 'map', map: insn.imm };
              break;
            case PSEUDO_MAP_VALUE:
            case PSEUDO_MAP_IDX_VALUE:
              r[insn.dst] = { k: 'value', map: insn.imm, off: insn.nextImm ?? 0, nullId: 0 };
              break;
            case PSEUDO_FUNC:
              r[insn.dst] = { k: 'func', pc: pc + 1 + insn.imm };
              break;
            default:
              r[insn.dst] = { k: 'ptr' };
          }
          st.pc = pc + 2;
          break;
        }
        case 'ldx':
        case 'ldxsx':
          r[insn.dst] = load(st, r[insn.src], insn.off, info.size!, info.kind === 'ldxsx', pc);
          st.pc = pc + 1;
          break;
        case 'st': {
          const v = scalarReg(info.size === 8 ? constant(immToU64(insn.imm)) : truncate(constant(immToU64(insn.imm)), info.size!), pc);
          store(st, r[insn.dst], insn.off, info.size!, v, pc);
          st.pc = pc + 1;
          break;
        }
        case 'stx':
          store(st, r[insn.dst], insn.off, info.size!, r[insn.src], pc);
          st.pc = pc + 1;
          break;
        case 'atomic': {
          const a = atomicOp(insn.imm);
          if (!a) {
            gaveUp ??= `atomic instruction at slot ${pc} has an unknown operation`;
            continue walk;
          }
          const ab = r[a.op === 'load_acq' ? insn.src : insn.dst];
          // check_atomic_rmw / check_atomic_load / check_atomic_store: never through the context or a packet pointer.
          if (ab.k === 'ctx' || ab.k === 'pkt' || ab.k === 'meta') {
            const regno = a.op === 'load_acq' ? insn.src : insn.dst;
            const t = PTR_TYPE_STR[ab.k]!;
            report('pointer-misuse', pc, `The verifier refuses this atomic operation: BPF_ATOMIC ${a.op === 'load_acq' ? 'loads from' : 'stores into'} R${regno} ${t} is not allowed ` +
              `(atomics work on the stack and map values only${ab.k === 'ctx' ? '' : '; read, change and write the packet bytes instead'}).`);
            if (a.op === 'load_acq') r[insn.dst] = scalarReg(unknownBytes(info.size!, true), pc);
            else if (a.op === 'cmpxchg') r[0] = scalarReg(unknownBytes(info.size!, true), pc);
            else if (a.fetch) r[insn.src] = scalarReg(unknownBytes(info.size!, true), pc);
            st.pc = pc + 1;
            break;
          }
          // A global function's pointer argument: atomics check alignment strictly, before the region (check_mem_access
          // -> check_generic_ptr_alignment; measured on 6.18: "misaligned access off 0+0+4 size 8"). Judged where its
          // variable part is 0, which the verifier prints as 0.
          if (ab.k === 'mem' && ab.from === GLOBAL_ARG && ab.nullId === 0 && ab.off !== undefined && ab.v && isConst(ab.v) && !ab.v.opaque &&
            ab.v.umin === 0n && (ab.off + insn.off) % info.size! !== 0) {
            report('pointer-misuse', pc, `The verifier refuses this atomic operation: misaligned access off 0+${ab.off}+${insn.off} size ${info.size} ` +
              '(atomics need an address aligned to their size; the verifier counts from the start of the global function\'s argument).');
            continue walk;
          }
          if (ab.k === 'value' && ab.nullId === 0) checkValue(ab, insn.off, info.size!, pc, true);
          if (a.op === 'load_acq') {
            r[insn.dst] = load(st, r[insn.src], insn.off, info.size!, false, pc);
          } else if (a.op === 'store_rel') {
            store(st, r[insn.dst], insn.off, info.size!, r[insn.src], pc);
          } else {
            const base = r[insn.dst];
            // A fetch from the stack reads what the slot holds, as the verifier does (check_atomic_rmw loads through
            // check_mem_access): a spilled constant comes back a constant (found by fuzzing: `r3 &= 63; r3 += r7`
            // after fetching a constant keeps the packet range, where an unknown would need a new bounds check).
            const old = (a.op === 'cmpxchg' || a.fetch) && base.k === 'stack' && base.off !== undefined
              ? load(st, base, insn.off, info.size!, false, pc) : undefined;
            const fetched = old?.k === 'scalar' ? old : scalarReg(unknownBytes(info.size!, true), pc);
            // A map value's bytes are numbers to the verifier (a kptr field takes no atomics: special-access.ts).
            if (!old && base.k === 'value' && fetched.k === 'scalar') numbers.add(fetched.s);
            store(st, base, insn.off, info.size!, scalarReg(unknownBytes(info.size!, true), pc), pc);
            if (a.op === 'cmpxchg') r[0] = fetched;
            else if (a.fetch) r[insn.src] = fetched;
          }
          st.pc = pc + 1;
          break;
        }
        case 'ja':
          if (opts.returnMarkers) {
            // A return marker of the twin: the last one met in the program's own function names its return; past a
            // `return f(...);` there, the last one met in f (inlined or called) names it, and so on down.
            const line = opts.returnMarkers.get(pc);
            const within = (r: readonly [number, number] | undefined) => line !== undefined && !!r && line >= r[0] && line <= r[1];
            if (line !== undefined && st.frames.length === 1 && (!opts.entryRange || within(opts.entryRange))) {
              st.retLine = line;
              st.retIn = opts.returnCallees?.get(line);
            } else if (line !== undefined && within(st.retIn)) {
              st.retLine = line;
              st.retIn = opts.returnCallees?.get(line);
            }
          }
          st.pc = pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off);
          st.lastTaken = { from: pc, to: st.pc };
          break;
        case 'jcond': {
          const other = cloneState(st);
          other.pc = pc + 1 + insn.off;
          work.push(other);
          st.pc = pc + 1;
          break;
        }
        case 'jump': {
          st.lastJump = pc;
          const taken = cloneState(st);
          if (branch(taken, info, insn, true, pc)) {
            taken.pc = pc + 1 + insn.off;
            taken.lastTaken = { from: pc, to: taken.pc };
            work.push(taken);
          }
          if (!branch(st, info, insn, false, pc)) continue walk;
          st.pc = pc + 1;
          break;
        }
        case 'call':
          if (insn.src === CALL_LOCAL) {
            if (st.frames.length >= MAX_FRAMES) {
              gaveUp ??= `call depth above ${MAX_FRAMES} at slot ${pc}`;
              continue walk;
            }
            const global = globalFuncs.has(pc + 1 + insn.imm);
            if (global && checkGlobalArgs(st, pc + 1 + insn.imm, pc)) continue walk;
            const args = global ? globalArgs(st, pc + 1 + insn.imm, pc) : undefined;
            const caller = st.frames[st.frames.length - 1];
            caller.saved = r.slice();
            caller.returnPc = pc + 1;
            const frame = st.frames.length;
            st.frames.push(global ? { stack: new Map(), global: true, entry: pc + 1 + insn.imm, enteredModified: st.modified, enteredRedirected: st.redirected } : { stack: new Map() });
            st.regs = [NONE, ...(args ?? r.slice(1, 6)), NONE, NONE, NONE, NONE, { k: 'stack', frame, off: 0 }];
            st.pc = pc + 1 + insn.imm;
          } else if (insn.src === CALL_HELPER && insn.imm === CORE_POISON_IMM) {
            // An instruction libbpf poisoned (a CO-RE relocation with no match in the kernel's BTF): the verifier refuses
            // the call to helper 0xbad2310 on any path that reaches it (libbpf rewrites that log line to name the
            // relocation); the path ends there, as the verifier's does.
            const relo = prog.poisoned?.[pc];
            report('pointer-misuse', pc, `The verifier refuses this instruction: invalid func unknown#${CORE_POISON_IMM}: ${relo ? `CO-RE relocation ${relo}` : 'a CO-RE relocation here found no match in the kernel\'s BTF'}, so libbpf poisoned the instruction (libbpf: "failed to resolve CO-RE relocation").`);
            continue walk;
          } else if (insn.src === CALL_HELPER && XDP_FORBIDDEN_HELPERS_618.has(insn.imm) && xdpForbiddenHelpers().has(insn.imm)) {
            // check_helper_call asks the program type for the helper's prototype before anything else; XDP has none
            // for these (measured on 6.18, vm/helpers.ts). Only calls the walk reaches: one behind a flag the
            // verifier reads as 0 loads. The path ends there, as the verifier's does.
            report('pointer-misuse', pc, forbiddenHelperText(insn.imm));
            continue walk;
          } else if (insn.src === CALL_HELPER) {
            // A helper this kernel build takes from XDP that 6.18 gives it: refused here too, but the walk goes on as
            // on 6.18, so the program's other mistakes are still found (they stay mistakes on a kernel that has it).
            if (xdpForbiddenHelpers().has(insn.imm)) report('pointer-misuse', pc, forbiddenHelperText(insn.imm));
            // bpf_loop / bpf_for_each_map_elem with a static callback: the verifier walks the callback too (its own
            // refusals, the range of what it returns); the walk forks into it, and that path ends at its exit.
            // Not when the call itself is refused (its callback context of a type the verifier refuses).
            // A bpf_loop whose count is 0 to the verifier (its umax) has its callback never walked (verifier-dead-callback.ts).
            const zeroCount = insn.imm === H.loop && r[1].k === 'scalar' && r[1].s.umax === 0n && !r[1].s.opaque;
            if ((insn.imm === H.loop || insn.imm === H.for_each_map_elem) && !zeroCount && r[2].k === 'func' && st.frames.length < MAX_FRAMES && !checkArgTypes(st, insn.imm, pc)) {
              work.push(callbackState(st, insn.imm, r[2].pc, pc));
            }
            helperCall(st, insn.imm, pc);
            st.pc = pc + 1;
          } else if (insn.src === CALL_KFUNC) {
            if (!kfuncCall(st, insn.imm, pc)) continue walk;
            st.pc = pc + 1;
          } else {
            r[0] = scalarReg(OPAQUE, pc);
            r[1] = r[2] = r[3] = r[4] = r[5] = NONE;
            st.pc = pc + 1;
          }
          break;
        case 'exit': {
          if (st.frames[st.frames.length - 1]!.callback) {
            callbackExit(st, pc);
            continue walk;
          }
          if (st.frames.length > 1) {
            // What a global function returns is unknown to its caller, as to the verifier (it is checked on its
            // own, and a loader may replace it: libxdp's dispatcher slots).
            const done = st.frames[st.frames.length - 1]!;
            const r0 = done.global ? scalarReg(OPAQUE, pc) : r[0];
            if (done.global && done.entry !== undefined) {
              if (!st.modified) st.viaGlobal = st.viaGlobal?.includes(done.entry) ? st.viaGlobal : [...(st.viaGlobal ?? []), done.entry];
              else if (!done.enteredModified) globalModifies.add(done.entry);
              if (!st.redirected) st.viaGlobalUnredirected = st.viaGlobalUnredirected?.includes(done.entry) ? st.viaGlobalUnredirected : [...(st.viaGlobalUnredirected ?? []), done.entry];
              else if (!done.enteredRedirected) globalRedirects.add(done.entry);
            }
            st.frames.pop();
            const caller = st.frames[st.frames.length - 1];
            st.regs = caller.saved!;
            st.pc = caller.returnPc!;
            caller.saved = undefined;
            caller.returnPc = undefined;
            st.regs[0] = r0;
            st.regs[1] = st.regs[2] = st.regs[3] = st.regs[4] = st.regs[5] = NONE;
            break;
          }
          exitChecks(st, pc);
          continue walk;
        }
        default:
          // Legacy packet loads and anything else the analysis does not follow: stop this path.
          gaveUp ??= `instruction at slot ${pc} (${info.mnemonic}) is not followed`;
          continue walk;
      }
      st.steps++;
    }
  }
  for (const t of txAfterGlobal) {
    if (t.via.some((g) => globalModifies.has(g))) continue;
    const count = issues.length;
    const i = report('tx-unmodified', t.where, msg.txUnmodified(), undefined, t.retLine, t.origin);
    if (issues.length > count) issues[i]!.pastGlobal = true;
  }
  for (const t of redirectAfterGlobal) {
    if (t.via.some((g) => globalRedirects.has(g))) continue;
    const count = issues.length;
    const i = report('redirect-without-target', t.where, msg.redirectWithoutTarget(), undefined, t.retLine, t.origin);
    if (issues.length > count) issues[i]!.pastGlobal = true;
  }
  return { issues: oneMissingCheck(issues, pastHeads), complete: gaveUp === undefined, steps, gaveUp };
}
