// The verifier's refusals that depend on what it knows of a number's range: a pointer moved by a number it cannot
// bound ("math between pkt pointer and register with unbounded min value is not allowed", "value -2147483648 makes
// map_value pointer be out of bounds") and a map value read or written at an index it cannot prove inside the value
// ("R0 unbounded memory access", "R0 max value is outside of the allowed memory range", "R0 min value is negative").
//
// No false refusal is the rule, so this walk reports only what the verifier certainly sees. Every number in a register
// is one of:
//   - exact: the verifier's own knowledge of it, reproduced only for the few sources and operations where it is
//     certain (a constant; a helper returning any 64-bit value such as bpf_ktime_get_ns; an n-byte load from the packet
//     or a writable map value, zero- or sign-extended; the difference of two pointers; such a number plus a constant, or
//     shifted left by a constant, or widened by `<< 32` then `>> 32`);
//   - a witness: one value the verifier certainly considers possible (a concrete result of concrete operands), and
//     nothing more;
//   - unknown: neither (then a branch on it ends the walk of that path).
// The walk follows only branches the verifier certainly follows too: one decided by witnesses (the verifier cannot
// prove the outcome impossible), one side of an exact number that some value of it satisfies, a packet pointer against
// data_end, a lookup result against NULL. After a branch on an exact number its copies become the witness chosen for
// that side, and anything derived from it unknown (the verifier narrows linked copies). Static functions are followed
// into; a bpf_loop callback's first iteration is walked as a path of its own after the path on from the call (its
// index any number, the caller's frames as at the call); other callbacks, kfuncs and anything not modelled end the
// path. Beside exact numbers, two facts are kept where certain: bit 63 known zero (a 32-bit result, a narrow load),
// and a smin the verifier certainly has at S64_MIN (`x - x / c * c`). The walk is depth first, fall-through side
// first, like the verifier's, and stops at the first refusal it proves.
import type { Insn } from './isa/insn.ts';
import type { LoadedObject, LoadedProgram } from './elf/types.ts';
import { BPF_F_RDONLY_PROG, MapType } from './elf/types.ts';
import { ATOMIC_LOAD_ACQ, CALL_HELPER, CALL_KFUNC, CALL_LOCAL, OPCODES, PSEUDO_FUNC, PSEUDO_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_IDX, PSEUDO_MAP_IDX_VALUE, PSEUDO_MAP_VALUE, aluVariant, type JmpOp, type OpcodeInfo } from './isa/opcodes.ts';
import { alu32, alu64, jumpTaken as cmp, refusedWhenReached } from './isa/alu.ts';
import { mapSpecialFields } from './vm/maps.ts';
import { helperName } from './isa/helper-names.ts';
import { kfuncInfo } from './isa/kfunc-names.ts';
import { HELPER_PROTOS, MAX_VAR_SIZE } from './vm/helper-impl/protos.ts';
import { WRITTEN_MEM } from './vm/helper-impl/static-args.ts';

/** Special fields whose access rules are their own (check_map_access: whole, at their offset, 8 bytes). */
const KPTR_KINDS: ReadonlySet<string> = new Set(['kptr', 'kptr_untrusted', 'percpu_kptr', 'uptr']);

const M64 = (1n << 64n) - 1n;
const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;
/** BPF_MAX_VAR_OFF: the largest variable offset the verifier lets a pointer carry. */
const MAX_VAR_OFF = 1n << 29n;

/** The verifier's range of a number, where this walk knows it exactly. tmask: the bits it does not know (tnum mask). */
interface Exact {
  umin: bigint; umax: bigint; smin: bigint; smax: bigint; tmask: bigint; tval: bigint; shl32?: Exact;
  /** `x << c` of a number whose low 64 - c bits the verifier knows as a tnum alone: a shift back by c gives them back. */
  shlTop?: bigint;
}
interface Num {
  k: 'num'; w?: bigint; ex?: Exact; ids: readonly number[];
  /** Not known exactly, but bit 63 of the verifier's tnum is known zero (a 32-bit ALU result, zero-extended; `&`, `|`,
   * `^` of such numbers): its smin is at least 0. */
  nn?: true;
  /** Not known exactly, but the verifier's smin is certainly S64_MIN or close to it (below -BPF_MAX_VAR_OFF): a
   * pointer moved by it is refused. */
  lowUnbounded?: true;
  /** Not known exactly, but a 32-bit result (smin at least 0) whose smax the verifier certainly has at 2^29 or more: a
   * stack pointer moved by it reaches past what it can bound. */
  highUnbounded?: true;
  /** Not known exactly after a signed 32-bit comparison (its 32-bit signed bounds cross 0, which the 64-bit ones do not
   * show), but known as `ex` (under 2^32) with 32-bit signed bounds `s32`: for the next signed 32-bit comparison only. */
  s32?: { ex: Exact; lo: bigint; hi: bigint };
  /** Known as `ex` by signed bounds crossing 0 (isSignedOnly) after a 64-bit constant added to a number under 2^32,
   * with the 32-bit signed bounds the verifier keeps beside them, which also cross 0 (its 32-bit unsigned ones are
   * then [0, 0xffffffff]): for the next signed 32-bit comparison only. */
  lo32?: { lo: bigint; hi: bigint };
  /** x + c linked to x (BPF_ADD_CONST): a second constant added unlinks it. */
  plusc?: true;
  /** A stack slot's number stored with fewer than 8 bytes at the slot's start (the verifier spills it whole): the size. */
  spill?: number;
}
type PtrKind = 'ctx' | 'pkt' | 'meta' | 'end' | 'stack' | 'map' | 'value' | 'other';
interface Ptr {
  k: PtrKind;
  off: number;
  map?: number;
  /** A lookup result not yet checked against NULL (nullId: its copies). */
  orNull?: number;
  /** A variable part: known exactly (value pointers only) or not (`true`). */
  vr?: Exact | true;
  /** A packet pointer the branch just taken proved at (-1) or past (-2) data_end: the verifier decides its next check. */
  mark?: number;
  /** bpf_map_lookup_elem on an array map: the verifier may know it is never NULL. */
  arrayLookup?: boolean;
  /** Stack pointers: the frame (0: the entry function's). */
  frame?: number;
  /** A variable part not known exactly whose maximum the verifier has at 2^29 or more, its minimum at 0 or more. */
  vhi?: true;
  /** `r = <function> ll` (BPF_PSEUDO_FUNC): the function's first instruction (kind 'other'). */
  fn?: number;
}
type Reg = Num | Ptr | { k: 'none' };

/** A call in progress: where to return and the caller's r6-r9. */
interface Frame { ret: number; saved: Reg[] }
/**
 * A stack byte an instruction stored: a witness byte of a number (with the number's ids, for narrowing), 'x' (a number
 * the walk has no witness for: the verifier may know it exactly), 'p' (maybe part of a pointer). A byte never stored by
 * an instruction is one the verifier knows nothing of (uninitialised or written by a helper): any value, 0 as witness.
 */
// misc / zero: stored off a slot's start, so STACK_MISC or STACK_ZERO to the verifier (check_stack_write_fixed_off).
type Byte = { b: number; ids: readonly number[]; misc?: true; zero?: true } | 'x' | 'p';
/** dyn: the stack slots (frame * FRAME_KEY + offset) where a dynptr was initialised on this path; dynp: those of them
 * that are not reference-counted (bpf_dynptr_from_xdp, bpf_dynptr_from_mem), whose 16 bytes are STACK_DYNPTR until a
 * store destroys them. */
interface St { pc: number; regs: Reg[]; stack: Map<number, Reg>; mem: Map<number, Byte>; calls: readonly Frame[]; dyn?: readonly number[]; dynp?: readonly number[] }
/** Stack slots of all frames in one map: frame * FRAME_KEY + offset. */
const FRAME_KEY = 4096;
const MAX_CALL_DEPTH = 8;

export interface BoundsRefusal {
  pc: number;
  message: string;
  /** The verifier's own words. */
  kernel: string;
  /** `unbounded` (a number it cannot bound), `too-complex` (8193 pending branches on its first path). */
  rule: 'unbounded' | 'too-complex' | 'special-field' | 'gpl-only' | 'invalid-alu' | 'spill-size' | 'pointer-misuse' | 'dynptr' | 'kfunc-arg' | 'kfunc' | 'call-depth' | 'tail-call-callback';
}

const X: Num = { k: 'num', ids: [] };
const NONE: Reg = { k: 'none' };
const konst = (v: bigint): Num => {
  const u = v & M64;
  return { k: 'num', w: u, ex: { umin: u, umax: u, smin: BigInt.asIntN(64, u), smax: BigInt.asIntN(64, u), tmask: 0n, tval: u }, ids: [] };
};
const UNBOUNDED: Exact = { umin: 0n, umax: M64, smin: S64_MIN, smax: S64_MAX, tmask: M64, tval: 0n };
const bytesEx = (n: number): Exact => {
  const m = (1n << BigInt(8 * n)) - 1n;
  return { umin: 0n, umax: m, smin: 0n, smax: m, tmask: m, tval: 0n };
};
const sbytesEx = (n: number): Exact => {
  const h = 1n << BigInt(8 * n - 1);
  return { umin: 0n, umax: M64, smin: -h, smax: h - 1n, tmask: M64, tval: 0n };
};
const isConst = (e: Exact) => e.tmask === 0n;

/** A value of `e` satisfying `pred`, or undefined (candidates only: bounds, neighbours of `near`). */
function member(e: Exact, pred: (v: bigint) => boolean, near: bigint[]): bigint | undefined {
  const cands = [e.umin, e.umax, BigInt.asUintN(64, e.smin), BigInt.asUintN(64, e.smax), 0n, 1n, M64];
  for (const c of near) cands.push(c & M64, (c + 1n) & M64, (c - 1n) & M64, (c + 2n) & M64);
  for (const v of cands) {
    const s = BigInt.asIntN(64, v);
    if (v < e.umin || v > e.umax || s < e.smin || s > e.smax || (v & ~e.tmask & M64) !== e.tval) continue;
    if (pred(v)) return v;
  }
  return undefined;
}

/** kfuncs whose first argument is the program's context (KF_ARG_PTR_TO_CTX: a `struct xdp_md *`). */
const CTX_ARG_KFUNCS: ReadonlySet<string> = new Set(['bpf_dynptr_from_xdp', 'bpf_xdp_ct_lookup', 'bpf_xdp_ct_alloc']);
/** reg_type_str of the pointers the walk knows, as the verifier names them. */
const CTX_ARG_TYPE: Partial<Record<PtrKind, string>> = { pkt: 'pkt', meta: 'pkt_meta', end: 'pkt_end', stack: 'fp', value: 'map_value' };
/** kfunc arguments (registers) that must point to an initialised dynptr. */
const DYNPTR_KFUNC_ARGS: ReadonlyMap<string, readonly number[]> = new Map([
  ['bpf_dynptr_slice', [1]], ['bpf_dynptr_slice_rdwr', [1]], ['bpf_dynptr_adjust', [1]], ['bpf_dynptr_is_null', [1]],
  ['bpf_dynptr_is_rdonly', [1]], ['bpf_dynptr_size', [1]], ['bpf_dynptr_clone', [1]], ['bpf_dynptr_copy', [1, 3]], ['bpf_dynptr_memset', [1]],
]);
/** Helper arguments (registers) that must point to an initialised dynptr: bpf_dynptr_read's src, write's and data's dst. */
const DYNPTR_HELPER_ARGS: ReadonlyMap<number, number> = new Map([[201, 3], [202, 1], [203, 1]]);
/**
 * Stack memory helpers write without reading it first (ARG_PTR_TO_UNINIT_MEM / MEM_UNINIT: raw mode): [memory
 * register, size register or a fixed size]. check_stack_range_initialized refuses such memory reaching a dynptr's
 * bytes: "potential write to dynptr at off=%d disallowed" (measured on 6.18: load_bytes, dynptr_read, probe_read_kernel,
 * strtol's result). And stack memory they read: "invalid read from stack R%d off %d+%d size %d" (store_bytes,
 * dynptr_write's source).
 */
const RAW_MEM_ARGS: ReadonlyMap<number, [number, number | { fixed: number }]> = new Map<number, [number, number | { fixed: number }]>([
  [112, [1, 2]], [113, [1, 2]], [114, [1, 2]], [115, [1, 2]], [189, [3, 4]], [201, [1, 2]], [105, [4, { fixed: 8 }]], [106, [4, { fixed: 8 }]],
]);
const READ_MEM_ARGS: ReadonlyMap<number, [number, number]> = new Map<number, [number, number]>([[190, [3, 4]], [202, [3, 4]], [130, [2, 3]]]);
/**
 * kfuncs the 6.18 kernel has but not for XDP programs (registered for TC, socket, cgroup or tracing programs only):
 * check_kfunc_call refuses a call its walk reaches, before looking at an argument, "calling kernel function X is not
 * allowed" (measured on 6.18 for each; a call it never reaches loads, test/vm/kfunc-unreachable). What to use instead.
 */
const NOT_XDP_KFUNCS: ReadonlyMap<string, string> = new Map([
  ['bpf_dynptr_from_skb', 'in XDP the packet is a `struct xdp_md`: bpf_dynptr_from_xdp(ctx, 0, &ptr)'],
  ['bpf_dynptr_from_skb_meta', 'in XDP the metadata is read between ctx->data_meta and ctx->data'],
  ['bpf_sk_assign_tcp_reqsk', 'a TC (sched_cls) program may call it'],
  ['bpf_sock_addr_set_sun_path', 'a cgroup sock_addr program may call it'],
  ['bpf_sock_destroy', 'a socket iterator program may call it'],
  ['bpf_sock_ops_enable_tx_tstamp', 'a sock_ops program may call it'],
  ['bpf_cpumask_create', 'tracing, struct_ops and syscall programs may call it'],
]);
/** kfuncs after which the walk goes on (the dynptr ones); any other ends the path. */
const CONTINUING_KFUNCS: ReadonlySet<string> = new Set([
  'bpf_dynptr_from_xdp', 'bpf_dynptr_slice', 'bpf_dynptr_adjust', 'bpf_dynptr_is_null', 'bpf_dynptr_is_rdonly', 'bpf_dynptr_size',
  'bpf_dynptr_clone', 'bpf_dynptr_copy', 'bpf_dynptr_memset', 'bpf_xdp_pull_data',
]);

/** Helpers whose result the verifier knows as any 64-bit value (measured on 6.18: pointer math with it is refused). */
const UNBOUNDED_HELPERS: ReadonlySet<number> = new Set([5 /* ktime_get_ns */, 118 /* jiffies64 */, 125 /* ktime_get_boot_ns */, 160 /* ktime_get_coarse_ns */, 208 /* ktime_get_tai_ns */, 28 /* csum_diff */]);
/**
 * Helpers whose first argument is the context (ARG_PTR_TO_CTX): tail_call, perf_event_output, xdp_adjust_head,
 * xdp_adjust_meta, xdp_adjust_tail, fib_lookup, sk_lookup_tcp/udp, skc_lookup_tcp, check_mtu, xdp_get_buff_len,
 * xdp_load_bytes, xdp_store_bytes.
 */
const CTX_FIRST_HELPERS: ReadonlySet<number> = new Set([12, 25, 44, 54, 65, 69, 84, 85, 99, 163, 188, 189, 190]);
/** Helpers that return nothing the verifier lets the program read (r0 unreadable after them). */
const VOID_HELPERS: ReadonlySet<number> = new Set([12 /* tail_call */, 132 /* ringbuf_submit */, 133 /* ringbuf_discard */, 94 /* spin_unlock */, 93 /* spin_lock */]);
/** Helpers that only read the memory passed to them (stack slots survive). */
const READ_ONLY_HELPERS: ReadonlySet<number> = new Set([1, 2, 3, 5, 6, 7, 8, 12, 23, 28, 51, 87, 118, 125, 130, 160, 177, 195, 208]);
/**
 * Helpers none of whose arguments is memory (numbers, the context, a map): whatever the other argument registers point
 * to, the helper neither reads nor writes it (ktime_get_ns, get_prandom_u32, get_smp_processor_id, redirect,
 * tail_call, redirect_map, xdp_adjust_head/meta/tail, jiffies64, ktime_get_boot_ns/coarse_ns/tai_ns,
 * xdp_get_buff_len).
 */
const NO_MEMORY_ARG_HELPERS: ReadonlySet<number> = new Set([5, 7, 8, 12, 23, 44, 51, 54, 65, 118, 125, 160, 188, 208]);
/** Helpers after which packet pointers are invalid (clear_all_pkt_pointers). */
const PKT_CHANGING: ReadonlySet<number> = new Set([44, 54, 65, 190, 9, 10, 11, 45, 50, 52, 53, 57, 63, 64, 70, 73, 74, 75, 91, 92]);
/** Callback helpers (the verifier walks the callback its own way): the walk stops there. */
const CALLBACK_HELPERS: ReadonlySet<number> = new Set([164, 170, 180, 181, 209]);
const BPF_FUNC_LOOP = 181;
/** The return slot of a bpf_loop callback's frame: its exit ends the path. */
const CALLBACK_RET = -1;
/**
 * Helpers an XDP program may call only under a GPL-compatible licence (gpl_only), measured on 6.18: every helper id a
 * program licensed "MIT" calls is refused with "cannot call GPL-restricted function from non-GPL compatible program"
 * for exactly these (bpf_trace_printk, bpf_perf_event_output, bpf_probe_read_kernel, ...).
 */
const GPL_ONLY_HELPERS: ReadonlySet<number> = new Set([6, 22, 25, 35, 55, 69, 100, 110, 112, 113, 114, 115, 158, 163, 165, 169, 170, 171, 172, 175, 176, 177, 191, 204, 205, 206, 207]);
/** license_is_gpl_compatible: the licence strings the kernel counts as GPL (compared whole). */
const GPL_LICENSES: ReadonlySet<string> = new Set(['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL']);
export const gplCompatible = (license: string | undefined): boolean => license === undefined || GPL_LICENSES.has(license);
/** Pointers the verifier spills to the stack as registers (is_spillable_regtype), as this walk knows them. */
const SPILLABLE: ReadonlySet<string> = new Set(['ctx', 'pkt', 'meta', 'end', 'stack', 'map', 'value']);
/** Maps whose lookup gives a pointer to plain value memory. */
const VALUE_MAPS: ReadonlySet<number> = new Set([MapType.HASH, MapType.ARRAY, MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH, MapType.LPM_TRIE]);

const TYPE_STR: Partial<Record<PtrKind, string>> = { pkt: 'pkt', meta: 'pkt_meta', value: 'map_value', stack: 'fp' };

/** The walk's work (instructions, plus state keys by length) before it gives up, saying nothing. */
const MAX_STEPS = 30_000;
/** Sources a number's ids name at most (past that: ANY_ID). */
const MAX_IDS = 12;
const ANY_ID: readonly number[] = [-1];
const MAX_SEEN = 20_000;
/** BPF_COMPLEXITY_LIMIT_JMP_SEQ: branches pending on the verifier's stack before it gives up. */
const JMP_SEQ_LIMIT = 8192;
/** BPF_COMPLEXITY_LIMIT_INSNS. */
const VERIFIER_INSN_LIMIT = 1_000_000;
/** Instructions of the first path this walk follows (counting pending branches) before giving up on it. */
const FIRST_PATH_STEPS = VERIFIER_INSN_LIMIT + 1;
/** States of the first path kept for the infinite-loop rule (each a string key). */
const FIRST_SEEN_MAX = 50_000;
/** Pending sides after the first path beyond which the walk stops (each is a state copy). */
const MAX_PENDING = 1000;

/**
 * The first bounds refusal the verifier certainly makes on `program`'s entry function, or undefined (which proves
 * nothing). `obj` gives the maps (value sizes, which are read-only). `reached`, when given, receives every slot the walk
 * processed: slots the verifier certainly walks (verifier-dead-callback.ts).
 */
export function boundsRefusal(obj: Pick<LoadedObject, 'maps'> & { license?: string }, program: Pick<LoadedProgram, 'insns' | 'funcs'> & Partial<Pick<LoadedProgram, 'kfuncs'>>,
  reached?: Set<number>): BoundsRefusal | undefined {
  const late: { refusal?: BoundsRefusal } = {};
  // A refusal of the walk comes first (do_check); the ones decided after it (check_max_stack_depth) only without one.
  return boundsWalk(obj, program, late, reached) ?? late.refusal;
}

/**
 * check_max_stack_depth's "cannot tail call within callback": a callback the verifier's walk reached (so it marked
 * it is_cb) calls, through static functions, one that tail-calls (measured on 6.18; the same program with the bpf_loop
 * call behind a flag it reads as 0 loads; a tail call in the callback's own body is refused earlier, by do_check, which
 * the bytecode tier reports). `callPc`: the callback-calling helper call; its r2 is written by `r2 = <callback> ll`
 * in the straight line before it.
 */
function callbackTailCall(insns: readonly Insn[], infos: readonly (OpcodeInfo | undefined)[], funcs: ReadonlyMap<number, { global?: boolean }>, callPc: number): number | undefined {
  let target: number | undefined;
  for (let pc = callPc - 1; pc >= 0 && pc >= callPc - 24; pc--) {
    const i = insns[pc]!, inf = infos[pc];
    if (!inf && pc > 0 && infos[pc - 1]?.kind === 'lddw') continue; // the second half of an lddw
    if (!inf || inf.kind === 'jump' || inf.kind === 'ja' || inf.kind === 'exit' || inf.kind === 'call') return undefined;
    if (inf.kind === 'lddw' && i.dst === 2) {
      if (i.src !== PSEUDO_FUNC) return undefined;
      target = pc + 1 + i.imm;
      break;
    }
    if (i.dst === 2 && inf.kind !== 'st' && inf.kind !== 'stx' && inf.kind !== 'atomic') return undefined;
  }
  if (target === undefined || !funcs.has(target)) return undefined;
  const starts = [...funcs.keys()].sort((a, b) => a - b);
  const end = (f: number) => starts.find((x) => x > f) ?? insns.length;
  // Static functions the callback calls, transitively (not the callback itself).
  const seen = new Set<number>([target]);
  const work = [target];
  while (work.length) {
    const f = work.pop()!;
    for (let pc = f; pc < end(f); pc++) {
      const i = insns[pc]!;
      if (infos[pc]?.kind !== 'call' || i.src !== CALL_LOCAL) continue;
      const g = pc + 1 + i.imm;
      const fn = funcs.get(g);
      if (!fn || fn.global || seen.has(g)) continue;
      seen.add(g);
      work.push(g);
      for (let q = g; q < end(g); q++) {
        const t = insns[q]!;
        if (infos[q]?.kind === 'call' && t.src === CALL_HELPER && t.imm === 12) return q;
      }
    }
  }
  return undefined;
}

function boundsWalk(obj: Pick<LoadedObject, 'maps'> & { license?: string }, program: Pick<LoadedProgram, 'insns' | 'funcs'> & Partial<Pick<LoadedProgram, 'kfuncs'>>, late: { refusal?: BoundsRefusal },
  reached?: Set<number>): BoundsRefusal | undefined {
  const insns: Insn[] = program.insns;
  const kfuncNames = program.kfuncs;
  const infos: (OpcodeInfo | undefined)[] = insns.map((i) => OPCODES[i.opcode]);
  let nextId = 1;
  /** A stack pointer was given to a helper or function (it may have written there). */
  let stackPassed = false;
  /** A stack pointer was given to a callback or a global function: what they stored there the walk does not know. */
  let stackOpaque = false;
  let steps = 0;
  const seen = new Set<string>();
  const stack: St[] = [];
  const init: Reg[] = Array.from({ length: 11 }, () => ({ k: 'none' }) as Reg);
  init[1] = { k: 'ctx', off: 0 };
  init[10] = { k: 'stack', off: 0 };
  stack.push({ pc: 0, regs: init, stack: new Map(), mem: new Map(), calls: [] });
  const funcs = new Map((program.funcs ?? []).map((f) => [f.insn, f]));
  let found: BoundsRefusal | undefined;

  const writableMap = (i: number | undefined) => {
    const m = i === undefined ? undefined : obj.maps[i];
    return !!m && (m.flags & BPF_F_RDONLY_PROG) === 0 && !m.section.startsWith('.rodata') && !m.section.startsWith('.kconfig') &&
      (m.kind === 'global' || VALUE_MAPS.has(m.type));
  };
  // A BPF_F_RDONLY_PROG map libbpf does not freeze (only .rodata and .kconfig are): the verifier folds no constant from
  // it (bpf_map_is_rdonly needs a frozen map) and reads any number of the load's width (vfuzz seed 2400000056).
  const unfrozenReadOnly = (i: number | undefined): boolean => {
    const m = i === undefined ? undefined : obj.maps[i];
    return !!m && m.kind !== 'global' && (m.flags & BPF_F_RDONLY_PROG) !== 0 && VALUE_MAPS.has(m.type);
  };
  // 0 is a value of every source range this walk knows exactly: its witness, for what is computed from it.
  const fresh = (ex: Exact): Num => ({ k: 'num', w: 0n, ex, ids: [nextId++] });
  const keyOf = (s: St) => `${s.pc}|${s.dyn?.join('.') ?? ''}|${s.dynp?.join('.') ?? ''}|${s.calls.map((c) => `${c.ret}:${c.saved.map(regKey).join(',')}`).join('/')}|${s.regs.map(regKey).join(',')}|${[...s.stack].map(([o, r]) => `${o}:${regKey(r)}`).join(',')}|${[...s.mem].map(([o, b]) => `${o}:${typeof b === 'string' ? b : `${b.b}#${b.ids.join('.')}${b.misc ? 'm' : b.zero ? 'z' : ''}`}`).join(',')}`;

  /** After a branch on `a` (and `b`) became witnesses `wa`/`wb`: copies take them, anything linked becomes unknown. */
  // `same`: the witnesses are the values the registers already had, so what was computed from them stays a witness
  // (only what the verifier knew of it exactly may have narrowed).
  const narrow = (st: St, from: Num[], to: Num[], same: boolean) => {
    const ids = new Set(from.flatMap((f) => f.ids));
    if (ids.size === 0) return;
    const linked = (l: readonly number[]) => l.length > 0 && (ids.has(-1) || l[0] === -1 || l.some((x) => ids.has(x)));
    const map = (r: Reg): Reg => {
      if (r.k !== 'num') return r;
      const i = from.indexOf(r);
      if (i >= 0) return to[i]!;
      if (!linked(r.ids)) return r;
      // A narrowed number keeps what it had certainly (bit 63 known zero stays known).
      const nn = nonNeg(r) ? { nn: true as const } : {};
      return same && r.w !== undefined ? { k: 'num', w: r.w, ids: r.ids, ...nn } : { k: 'num', ids: r.ids, ...nn };
    };
    st.regs = st.regs.map(map);
    for (const [o, r] of st.stack) st.stack.set(o, map(r));
    st.calls = st.calls.map((c) => ({ ret: c.ret, saved: c.saved.map(map) }));
    if (!same) for (const [o, b] of st.mem) if (typeof b !== 'string' && linked(b.ids)) st.mem.set(o, 'x');
  };

  const refuse = (pc: number, kernel: string, message: string, rule: BoundsRefusal['rule'] = 'unbounded'): void => {
    found = { pc, kernel, message, rule };
  };

  /** pointer ± number (64-bit). Returns the new register, or undefined after a refusal. */
  const movePtr = (pc: number, p: Ptr, n: Num, sub: boolean): Reg | undefined => {
    // Pointer arithmetic reads the 64-bit bounds only: those of a number known by crossing 32-bit signed bounds too.
    const e = n.ex ?? n.s32?.ex;
    if (p.k === 'ctx' && p.orNull === undefined && e && p.vr === undefined) {
      // The context may be moved (check_reg_sane_offset first), but not read or written through at a variable offset.
      if (isConst(e)) {
        const c = BigInt.asIntN(64, e.tval);
        if (c >= MAX_VAR_OFF || c <= -MAX_VAR_OFF) {
          refuse(pc, `math between ctx pointer and ${c} is not allowed`, `The verifier refuses this pointer arithmetic: math between ctx pointer and ${c} is not allowed (struct xdp_md is 24 bytes).`);
          return undefined;
        }
        return { ...p, off: p.off + Number(sub ? -c : c) };
      }
      if (e.smin === S64_MIN) {
        refuse(pc, 'math between ctx pointer and register with unbounded min value is not allowed',
          'The verifier refuses this pointer arithmetic: math between ctx pointer and register with unbounded min value is not allowed ' +
          '(the context is read only at constant offsets: ctx->field, never ctx plus a number).');
        return undefined;
      }
      if (e.smin <= -MAX_VAR_OFF || e.smin >= MAX_VAR_OFF) {
        refuse(pc, `value ${e.smin} makes ctx pointer be out of bounds`,
          `The verifier refuses this pointer arithmetic: value ${e.smin} makes ctx pointer be out of bounds (the context is read only at constant offsets).`);
        return undefined;
      }
      return sub ? { k: 'other', off: 0 } : { ...p, vr: e };
    }
    if (p.orNull !== undefined || p.k === 'end' || p.k === 'map' || p.k === 'other' || p.k === 'ctx') return { k: 'other', off: 0 };
    const t = TYPE_STR[p.k];
    if (e && t && p.vr === undefined) {
      if (isConst(e)) {
        const c = BigInt.asIntN(64, e.tval);
        if (c >= MAX_VAR_OFF || c <= -MAX_VAR_OFF) {
          refuse(pc, `math between ${t} pointer and ${c} is not allowed`, `The verifier refuses this pointer arithmetic: math between ${t} pointer and ${c} is not allowed (no object is that large).`);
          return undefined;
        }
        return { ...p, off: p.off + Number(sub ? -c : c) };
      }
      if (e.smin === S64_MIN) {
        refuse(pc, `math between ${t} pointer and register with unbounded min value is not allowed`,
          `The verifier refuses this pointer arithmetic: math between ${t} pointer and register with unbounded min value is not allowed ` +
          '(the number added may be any 64-bit value, negative ones included: bound it first, e.g. `if (x > N) return ...;` or `x &= MASK`, or use a 32-bit unsigned type).');
        return undefined;
      }
      if (e.smin <= -MAX_VAR_OFF || e.smin >= MAX_VAR_OFF) {
        refuse(pc, `value ${e.smin} makes ${t} pointer be out of bounds`,
          `The verifier refuses this pointer arithmetic: value ${e.smin} makes ${t} pointer be out of bounds (the number may be as low as ${e.smin}: ` +
          'use an unsigned index, or check `if (i < 0 || i >= N) return ...;` first).');
        return undefined;
      }
      if ((p.k === 'value' || p.k === 'stack') && !sub) return { ...p, vr: e };
    }
    if (!e && n.lowUnbounded && t && p.vr === undefined) {
      refuse(pc, `math between ${t} pointer and register with unbounded min value is not allowed`,
        `The verifier refuses this pointer arithmetic: math between ${t} pointer and register with unbounded min value is not allowed ` +
        '(the number added is `x - x / c * c`, which is how `x % c` is computed: the verifier tracks no bounds through a division, so the ' +
        'remainder may be any 64-bit value to it; mask the index instead, e.g. `x & 31`, or check it, `if (i >= N) return ...;`).');
      return undefined;
    }
    if (e && isConst(e)) return { ...p, off: p.off + Number(BigInt.asIntN(64, sub ? -e.tval : e.tval)) };
    if (!e && n.highUnbounded && !sub && p.k === 'stack' && p.vr === undefined) return { ...p, vr: true, vhi: true };
    return { ...p, vr: true };
  };

  /** check_map_access with a variable offset known exactly. */
  const checkValue = (pc: number, p: Ptr, off: number, size: number, regno: number): boolean => {
    if (p.k === 'value' && p.vr === undefined && p.orNull === undefined && writableMap(p.map)) {
      // A constant offset (the pointer may have come back from a stack slot: vm/helper-impl/special-access.ts follows
      // only straight lines): inside the value, no byte may be a special field's.
      const m = obj.maps[p.map!]!;
      const start = p.off + off;
      if (start < 0 || start + size > m.valueSize) return true;
      const f = mapSpecialFields(m)?.find((x) => start < x.off + x.size && x.off < start + size);
      if (!f || KPTR_KINDS.has(f.kind)) return true;
      const kernel = `${f.kind} cannot be accessed directly by load/store`;
      refuse(pc, kernel, `The verifier refuses this access to a map value: ${kernel} (value bytes ${start}..${start + size - 1} of ${m.name} are its ${f.kind}, ` +
        'which the kernel keeps for itself).', 'special-field');
      return false;
    }
    if (p.k !== 'value' || p.vr === undefined || p.vr === true || p.orNull !== undefined || !writableMap(p.map)) return true;
    const m = obj.maps[p.map!]!;
    const e = p.vr;
    const o = BigInt(p.off + off);
    const vs = BigInt(m.valueSize);
    const sz = BigInt(size);
    const outside = (x: bigint) => x < 0n || x > vs - sz;
    let kernel: string | undefined;
    let why = '';
    if (e.smin < 0n && (e.smin === S64_MIN || BigInt.asIntN(32, o + e.smin) !== o + e.smin || e.smin + o < 0n)) {
      kernel = `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`;
      why = `the index may be negative (as low as ${e.smin})`;
    } else if (outside(e.smin + o)) {
      kernel = `R${regno} min value is outside of the allowed memory range`;
      why = `even the smallest index reaches outside ${m.name}'s ${m.valueSize}-byte value`;
    } else if (e.umax >= MAX_VAR_OFF) {
      kernel = `R${regno} unbounded memory access, make sure to bounds check any such access`;
      why = 'nothing bounds the index from above';
    } else if (outside(e.umax + o)) {
      kernel = `R${regno} max value is outside of the allowed memory range`;
      why = `the index may reach offset ${e.umax + o}, past ${m.name}'s ${m.valueSize}-byte value`;
    }
    if (!kernel) {
      // Inside the value: then no byte it may touch may be a bpf_spin_lock, bpf_timer, ... (the first by offset).
      const f = mapSpecialFields(m)?.find((x) => e.smin + o < BigInt(x.off + x.size) && BigInt(x.off) < e.umax + o + sz);
      if (!f || KPTR_KINDS.has(f.kind)) return true;
      kernel = `${f.kind} cannot be accessed directly by load/store`;
      refuse(pc, kernel, `The verifier refuses this access to a map value: ${kernel} (the index may reach value bytes ${f.off}..${f.off + f.size - 1} of ${m.name}, ` +
        `its ${f.kind}, which the kernel keeps for itself; keep the index off it, e.g. index an array field after it).`, 'special-field');
      return false;
    }
    refuse(pc, kernel, `The verifier refuses this access to a map value: ${kernel} (${why}; check the index against the value's size first, e.g. \`if (i >= N) return ...;\`).`);
    return false;
  };

  /**
   * check_mem_access on a stack pointer with a variable offset known exactly (the verifier runs as root here: bytes
   * never written may be read, pointers spilled in range may be overwritten). Alignment first (check_ptr_alignment: the
   * stack is always strict), then check_stack_access_within_bounds.
   */
  const checkStack = (pc: number, p: Ptr, off: number, size: number, regno: number, kind: 'read from' | 'write to'): boolean => {
    const bad = stackVarRefusal(p, off, size, regno, kind, true);
    if (!bad) return true;
    const verb = kind === 'read from' ? 'read from' : 'write to';
    refuse(pc, bad.kernel, `The verifier refuses this ${verb} a stack array: ${bad.kernel} (${bad.why}; check the index against the array's size first, e.g. \`if (i >= N) return ...;\` or \`i &= N - 1\` for a power of two N).`);
    return false;
  };
  /** The verifier's words when `size` bytes at `off` from stack pointer `p`, whose variable part it knows exactly
   * (vr), reach outside the frame (or, with `align`, are misaligned: the stack is always strict for accesses; helpers
   * and global functions' arguments are not checked for alignment). */
  const stackVarRefusal = (p: Ptr, off: number, size: number, regno: number, kind: 'read from' | 'write to', align: boolean): { kernel: string; why: string } | undefined => {
    // A variable part whose maximum is at 2^29 or more (not known exactly: only one byte, which no alignment rule holds).
    if (p.k === 'stack' && p.vr === true && p.vhi && p.orNull === undefined && (size === 1 || !align)) {
      return { kernel: `invalid unbounded variable-offset ${kind} stack R${regno}`, why: 'nothing bounds the index from above' };
    }
    if (p.k !== 'stack' || p.vr === undefined || p.vr === true || p.orNull !== undefined) return undefined;
    const e = p.vr;
    const tn = `(${hex(e.tval)}; ${hex(e.tmask)})`;
    let kernel: string | undefined;
    let why = '';
    const fixed = BigInt(p.off + off);
    if (align && size > 1) {
      const [v, m] = tnumAddConst(e.tval, e.tmask, fixed);
      if (((v | m) & BigInt(size - 1)) !== 0n) {
        kernel = `misaligned stack access off ${tn}+${p.off}+${off} size ${size}`;
        why = `the index may make the address a non-multiple of ${size}, and the verifier wants stack accesses aligned to their size`;
      }
    }
    if (!kernel && (e.smax >= MAX_VAR_OFF || e.smin <= -MAX_VAR_OFF)) {
      kernel = `invalid unbounded variable-offset ${kind} stack R${regno}`;
      why = 'nothing bounds the index';
    }
    if (!kernel) {
      const minOff = e.smin + fixed;
      const maxOff = e.smax + fixed + BigInt(size);
      if (minOff < -512n || minOff > -1n || maxOff > 0n) {
        kernel = `invalid variable-offset ${kind} stack R${regno} var_off=${tn} off=${fixed} size=${size}`;
        why = maxOff > 0n
          ? `the index may be as large as ${e.smax}, which reaches ${maxOff} byte${maxOff === 1n ? '' : 's'} past the top of the stack frame`
          : `the index may be as small as ${e.smin}, which reaches below the 512-byte stack frame`;
      }
    }
    return kernel ? { kernel, why } : undefined;
  };

  /** check_ptr_off_reg on the context: at a variable offset (known exactly) the verifier refuses every access. */
  const checkCtx = (pc: number, p: Ptr, regno: number): boolean => {
    if (p.k !== 'ctx' || p.vr === undefined || p.vr === true || p.orNull !== undefined) return true;
    let kernel: string;
    if (p.off < 0) kernel = `negative offset ctx ptr R${regno} off=${p.off} disallowed`;
    else if (p.off !== 0) kernel = `dereference of modified ctx ptr R${regno} off=${p.off} disallowed`;
    else kernel = `variable ctx access var_off=(0x${p.vr.tval.toString(16)}; 0x${p.vr.tmask.toString(16)}) disallowed`;
    refuse(pc, kernel, `The verifier refuses this access to the context: ${kernel} (struct xdp_md is read only field by field, at ` +
      'constant offsets: ctx->ingress_ifindex, never ctx plus a number; choose the field with a branch instead).');
    return false;
  };

  /**
   * check_mem_access on a register the verifier certainly holds as a number (a range this walk knows exactly: a
   * constant, NULL on the side of a lookup's check where it is NULL, bytes of the stack no instruction stored on this
   * path, which the verifier reads as an unknown number for root): "R1 invalid mem access 'scalar'". A parse helper
   * that fails without setting the header pointer it was given (`struct iphdr *ip; parse_ip(data, end, &ip);` with
   * the result ignored) leaves the pointer's slot unwritten on that path.
   */
  const scalarAccess = (pc: number, base: Num, regno: number, what: 'load' | 'store'): void => {
    if (!base.ex) return;
    const kernel = `R${regno} invalid mem access 'scalar'`;
    const k = isConst(base.ex) ? base.ex.tval : undefined;
    refuse(pc, kernel, `The verifier refuses this ${what}: ${kernel} (r${regno} holds a number, not a pointer, on a path the verifier walks` +
      `${k === 0n ? ': NULL' : k !== undefined ? `: ${k}` : ', e.g. a pointer variable that nothing set on this path (a parse helper that failed and whose result was not checked)'}).`, 'pointer-misuse');
  };

  const loadFrom = (base: Ptr, off: number, size: number, sx: boolean): Reg => {
    if (base.k === 'ctx') {
      if (base.vr !== undefined || size !== 4) return X;
      if (base.off !== 0) return X;
      if (off === 0) return { k: 'pkt', off: 0 };
      if (off === 4) return { k: 'end', off: 0 };
      if (off === 8) return { k: 'meta', off: 0 };
      // ingress_ifindex, rx_queue_index: any 32-bit number to the verifier.
      return off === 12 || off === 16 ? fresh(bytesEx(4)) : X;
    }
    // .rodata: libbpf creates it BPF_F_RDONLY_PROG and freezes it, so the verifier reads a constant offset's bytes as a
    // constant (bpf_map_direct_read) and skips the branches they decide (a const volatile setting).
    const ro = base.k === 'value' && base.orNull === undefined && base.vr === undefined && base.map !== undefined ? obj.maps[base.map] : undefined;
    if (ro && ro.kind === 'global' && ro.section.startsWith('.rodata') && ro.initialValue &&
      base.off + off >= 0 && base.off + off + size <= Math.min(ro.valueSize, ro.initialValue.length)) {
      let v = 0n;
      for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(ro.initialValue[base.off + off + i]!);
      return konst(sx ? BigInt.asUintN(64, BigInt.asIntN(size * 8, v)) : v);
    }
    // The same .rodata at a variable offset: no constant to read, any number of the load's size (mark_reg_unknown, then
    // coerce_reg_to_size).
    const roVar = base.k === 'value' && base.orNull === undefined && base.vr !== undefined && base.map !== undefined &&
      obj.maps[base.map]?.kind === 'global' && obj.maps[base.map]!.section.startsWith('.rodata');
    const plain = (base.k === 'pkt' || roVar || (base.k === 'value' && base.orNull === undefined && (writableMap(base.map) || unfrozenReadOnly(base.map))));
    if (!plain) return X;
    // A kptr field reads as a pointer to the verifier, not a number.
    if (base.k === 'value') {
      const m = obj.maps[base.map!]!;
      const at = base.off + off;
      const kptrs = mapSpecialFields(m)?.filter((x) => KPTR_KINDS.has(x.kind));
      if (kptrs?.length && (base.vr !== undefined || kptrs.some((x) => at < x.off + x.size && x.off < at + size))) return X;
    }
    if (size === 8) return fresh(UNBOUNDED);
    return fresh(sx ? sbytesEx(size) : bytesEx(size));
  };

  const stackOff = (base: Reg, off: number): number | undefined =>
    base.k === 'stack' && base.vr === undefined && base.orNull === undefined && base.off + off >= -512 && base.off + off < 0 ? (base.frame ?? 0) * FRAME_KEY + base.off + off : undefined;
  const clobber = (st: St, at: number | undefined, size: number) => {
    if (at === undefined) {
      st.stack.clear();
      return;
    }
    for (const o of [...st.stack.keys()]) if (o < at + size && at < o + 8) st.stack.delete(o);
  };

  /** clear_all_pkt_pointers: packet pointers in registers, spilled, and saved by callers become unusable. */
  const killPacketPointers = (st: St): void => {
    const kill = (x: Reg): Reg => (x.k === 'pkt' || x.k === 'meta' || x.k === 'end' ? { k: 'none' } : x);
    st.regs = st.regs.map(kill);
    for (const [o, v] of st.stack) st.stack.set(o, kill(v));
    st.calls = st.calls.map((c) => ({ ret: c.ret, saved: c.saved.map(kill) }));
  };
  /** A dynptr argument the walk can name: a stack pointer at a fixed offset, 8-byte aligned, inside its frame. */
  const dynSlot = (x: Reg): number | undefined =>
    x.k === 'stack' && x.vr === undefined && x.orNull === undefined && x.off % 8 === 0 ? stackOff(x, 0) : undefined;
  /** A dynptr was initialised somewhere the walk cannot name: no claim about uninitialised ones from then on. */
  let dynUnknown = false;
  const initDynptr = (st: St, x: Reg, plain = false): void => {
    const k = dynSlot(x);
    if (k === undefined) dynUnknown = true;
    else {
      destroyDynptrs(st, k, 16);
      if (!st.dyn?.includes(k)) st.dyn = [...(st.dyn ?? []), k];
      if (plain) st.dynp = [...(st.dynp ?? []), k];
    }
  };
  /** A store reaching [at, at + size) destroys the plain dynptrs it touches, both their slots (destroy_if_dynptr_stack_slot). */
  const destroyDynptrs = (st: St, at: number, size: number): void => {
    const hit = st.dynp?.filter((k) => k < at + size && at < k + 16);
    if (!hit?.length) return;
    st.dynp = st.dynp!.filter((k) => !hit.includes(k));
    st.dyn = st.dyn?.filter((k) => !hit.includes(k));
  };
  /**
   * A helper's stack memory argument (register `reg`, `size` bytes) that reaches a plain dynptr's bytes on this path:
   * refused as by check_stack_range_initialized, written (raw mode) or read. Not claimed once the stack went to a
   * callback or a global function, or a dynptr was made where the walk cannot name.
   */
  const checkDynptrBytes = (st: St, pc: number, reg: number, size: Reg | number, write: boolean, name: string): boolean => {
    const x = st.regs[reg]!;
    const n = typeof size === 'number' ? size : size.k === 'num' && size.ex && isConst(size.ex) ? Number(size.ex.tval) : 0;
    const at = x.k === 'stack' && x.vr === undefined && x.orNull === undefined ? stackOff(x, 0) : undefined;
    if (at === undefined || n <= 0 || n > 512 || dynUnknown || stackOpaque || !st.dynp?.length) return true;
    let first: number | undefined;
    for (const k of st.dynp) if (k < at + n && at < k + 16) first = Math.min(first ?? Infinity, Math.max(k, at));
    if (first === undefined) return true;
    const base = ((x as Ptr).frame ?? 0) * FRAME_KEY;
    const kernel = write ? `potential write to dynptr at off=${first - base} disallowed` : `invalid read from stack R${reg} off ${at - base}+${first - at} size ${n}`;
    refuse(pc, kernel, `The verifier refuses this call: ${kernel} (${name} is given ${n} bytes at fp${at - base}, which reach the dynptr ` +
      `at fp${first - base}: a dynptr's stack bytes are not memory a helper may ${write ? 'write' : 'read'}; give it a buffer of its own).`, 'dynptr');
    return false;
  };
  /**
   * process_dynptr_func on an argument that must be an initialised dynptr: a stack slot where no helper or kfunc
   * initialised one on this path (bpf_dynptr_from_xdp, bpf_dynptr_from_mem, bpf_ringbuf_reserve_dynptr,
   * bpf_dynptr_clone's second argument) is refused. Not claimed once the stack went to a callback or a global function.
   */
  const checkDynptr = (st: St, pc: number, reg: number, name: string): boolean => {
    const x = st.regs[reg]!;
    const k = dynSlot(x);
    if (k === undefined || dynUnknown || stackOpaque || st.dyn?.includes(k)) return true;
    const kernel = `Expected an initialized dynptr as arg #${reg - 1}`;
    refuse(pc, kernel, `The verifier refuses this call: ${kernel} (${name} is given the stack slot at fp${(x as Ptr).off} as its dynptr, and on ` +
      'this path nothing initialised a dynptr there: call bpf_dynptr_from_xdp(ctx, 0, &ptr) first, on every path that reaches this call).', 'dynptr');
    return false;
  };

  /**
   * A kfunc call (check_kfunc_call): the argument checks this walk can decide (the context argument's type, a dynptr
   * initialised, a dynptr slice's buffer inside its memory), then, for the dynptr kfuncs, the result (a number, or a
   * pointer or NULL) and the stack they may write; any other kfunc ends the path.
   */
  const kfuncCall = (st: St, pc: number, index: number): St[] | false => {
    const name = kfuncNames?.[index]?.name ?? '';
    const other = NOT_XDP_KFUNCS.get(name);
    if (other) {
      const kernel = `calling kernel function ${name} is not allowed`;
      refuse(pc, kernel, `The verifier refuses this call: ${kernel} (the kernel offers ${name} to other program types, not to XDP; ${other}).`, 'kfunc');
      return false;
    }
    const info = kfuncInfo(name);
    if (!info) return false;
    const r = st.regs;
    if (CTX_ARG_KFUNCS.has(name)) {
      const a = r[1]!;
      const got = a.k !== 'num' && a.k !== 'none' && a.orNull === undefined ? CTX_ARG_TYPE[a.k] : undefined;
      if (got && (a.k !== 'value' || writableMap(a.map))) {
        const kernel = `arg#0 expected pointer to ctx, but got ${got}`;
        refuse(pc, kernel, `The verifier refuses this call: ${kernel} (${name} takes the program's context, the \`ctx\` argument of the XDP ` +
          'function, unchanged: not a packet, stack or map pointer).', 'kfunc-arg');
        return false;
      }
    }
    for (const reg of DYNPTR_KFUNC_ARGS.get(name) ?? []) if (!checkDynptr(st, pc, reg, name)) return false;
    if (name === 'bpf_dynptr_slice' || name === 'bpf_dynptr_slice_rdwr') {
      // The buffer (arg#2, may be NULL) and its constant size (arg#3): check_kfunc_mem_size_reg reads and writes it.
      const buf = r[3]!, size = r[4]!;
      const k = size.k === 'num' && size.ex && isConst(size.ex) ? size.ex.tval : undefined;
      if (k !== undefined && k > 0n && k < BigInt(MAX_VAR_SIZE) && buf.k !== 'num' && buf.k !== 'none' && buf.orNull === undefined && buf.vr === undefined) {
        const n = Number(k);
        let why: string | undefined;
        if (buf.k === 'stack' && (buf.off + n > 0 || buf.off < -512)) {
          why = `the buffer starts at fp${buf.off}, so ${n} bytes reach ${buf.off + n > 0 ? `${buf.off + n} past the top of the stack frame` : 'below it'}`;
        } else if (buf.k === 'value' && buf.map !== undefined && obj.maps[buf.map] && (buf.off < 0 || buf.off + n > obj.maps[buf.map]!.valueSize)) {
          const m = obj.maps[buf.map]!;
          why = `the buffer starts at byte ${buf.off} of ${m.name}'s ${m.valueSize}-byte value, and ${n} bytes do not fit`;
        }
        if (why) {
          const kernel = 'arg#2 arg#3 memory, len pair leads to invalid memory access';
          refuse(pc, kernel, `The verifier refuses this call: ${kernel} (${why}; the size, the last argument, must be at most the buffer's size).`, 'kfunc-arg');
          return false;
        }
      }
    }
    if (!CONTINUING_KFUNCS.has(name)) return false;
    // What the kfunc may write: a stack slot it is given (the dynptr it initialises, a buffer).
    const stackArgs = [1, 2, 3, 4, 5].filter((i) => i <= info.args && r[i]!.k === 'stack');
    // Stack the dynptr kfuncs write at a known place: bpf_dynptr_from_xdp its 16 bytes, bpf_dynptr_slice(_rdwr) its
    // buffer (not claimed afterwards); the size/is_null/is_rdonly queries nothing. Other slots keep what they hold.
    const narrow = (): boolean => {
      const only = (...regs: number[]) => stackArgs.every((i) => regs.includes(i));
      if (name === 'bpf_dynptr_from_xdp' && only(3)) {
        const k = dynSlot(r[3]!);
        if (k === undefined) return false;
        clobber(st, k, 16);
        for (let o = k; o < k + 16; o++) st.mem.set(o, 'x');
        return true;
      }
      if ((name === 'bpf_dynptr_slice' || name === 'bpf_dynptr_slice_rdwr') && only(1, 3)) {
        const buf = r[3]!, size = r[4]!;
        if (buf.k !== 'stack') return true;
        const at = stackOff(buf, 0);
        const n = size.k === 'num' && size.ex && isConst(size.ex) ? Number(size.ex.tval) : undefined;
        if (at === undefined || n === undefined || n > 512 || buf.off + n > 0) return false;
        clobber(st, at, n);
        for (let o = at; o < at + n; o++) st.mem.set(o, 'x');
        return true;
      }
      return ['bpf_dynptr_size', 'bpf_dynptr_is_null', 'bpf_dynptr_is_rdonly'].includes(name) && only(1);
    };
    if (stackArgs.length) {
      stackPassed = true;
      if (!narrow()) st.stack.clear();
    }
    if (name === 'bpf_dynptr_from_xdp') initDynptr(st, r[3]!, true);
    else if (name === 'bpf_dynptr_clone') initDynptr(st, r[2]!);
    // The result: a number (0 is one of the verifier's values for each of these), a pointer or NULL, or nothing.
    r[0] = info.ret === 'void' ? NONE : info.ret === 'slice' ? { k: 'other', off: 0, orNull: nextId++ } : { k: 'num', w: 0n, ids: [nextId++] };
    for (let i = 1; i <= 5; i++) r[i] = NONE;
    // bpf_xdp_pull_data may move the frame: every packet pointer is forgotten (is_kfunc_pkt_changing).
    if (name === 'bpf_xdp_pull_data') killPacketPointers(st);
    st.pc = pc + 1;
    return [st];
  };

  /** The next state(s) of `st` after its instruction; false: the path ends (exit, not modelled, refused). */
  const step = (st: St): St[] | false => {
    const pc = st.pc;
    const insn = insns[pc];
    const info = infos[pc];
    if (!insn || !info || insn.dst > 10 || insn.src > 10) return false;
    const r = st.regs;
    switch (info.kind) {
      case 'alu': {
        const op = aluVariant(info, insn.off);
        if (!op) return false;
        const w32 = info.width === 32;
        const a = r[insn.dst]!;
        let b: Reg = info.srcReg ? r[insn.src]! : konst(w32 ? BigInt(insn.imm >>> 0) : BigInt.asUintN(64, BigInt(insn.imm)));
        // check_alu_op on a reached instruction (after the destination's read check): a constant divisor 0, a constant
        // shift past the width.
        const why = a.k === 'none' ? undefined : refusedWhenReached(op, !!info.srcReg, info.width, insn.imm);
        if (why) {
          refuse(pc, why.slice(0, why.indexOf(':')), `The verifier refuses this instruction: ${why}.`, 'invalid-alu');
          return false;
        }
        // A copy or spill of x + c gives x + c a fresh id of its own first (assign_scalar_id_before_mov): the x + c mark
        // goes, so that a constant added to either is linked again (conservatively: to x too).
        if ((op === 'mov' || op === 'movsx') && info.srcReg && b.k === 'num' && b.plusc) {
          const { plusc: _, ...c } = b;
          r[insn.src] = c;
          b = c;
        }
        if (op === 'mov' && !w32) {
          r[insn.dst] = b;
          break;
        }
        if (op === 'mov' && insn.off === 0 && b.k === 'num' && ((b.ex && b.ex.umax <= 0xffffffffn) || (!b.ex && b.s32 && b.s32.ex.umax <= 0xffffffffn))) {
          // w = w of a number whose maximum fits in 32 bits (or known by crossing 32-bit signed bounds, zero-extended
          // already): the verifier copies it whole (get_reg_width <= 32), linked; the zero extension changes nothing.
          r[insn.dst] = b;
          break;
        }
        if (a.k === 'none' && op !== 'mov' && op !== 'movsx') return false;
        if (b.k === 'none') return false;
        if (a.k !== 'num' && op !== 'mov' && op !== 'movsx' || b.k !== 'num') {
          // Pointer arithmetic.
          const forbidden = op !== 'mov' && op !== 'movsx' && (a.k === 'num' || b.k === 'num') ? pointerOpRefusal(op, w32, (a.k !== 'num' ? a : b) as Ptr, (a.k === 'num' ? a : b) as Num) : undefined;
          if (forbidden) {
            const kernel = `R${insn.dst} ${forbidden}`;
            refuse(pc, kernel, `The verifier refuses this instruction: ${kernel} (a pointer may only be moved by adding or subtracting a number, in 64 bits).`, 'pointer-misuse');
            return false;
          }
          if (w32 || (op !== 'add' && op !== 'sub')) return false;
          if (a.k !== 'num' && b.k !== 'num') {
            if (op !== 'sub') return false;
            r[insn.dst] = fresh(UNBOUNDED); // pointer - pointer: any number to the verifier (privileged)
            break;
          }
          const p = (a.k !== 'num' ? a : b) as Ptr;
          const n = (a.k === 'num' ? a : b) as Num;
          if (a.k === 'num' && op === 'sub') return false;
          const moved = movePtr(pc, p, n, op === 'sub');
          if (!moved) return false;
          r[insn.dst] = moved;
          break;
        }
        const an = (op === 'mov' || op === 'movsx' ? X : a) as Num;
        const bn = b as Num;
        // The verifier links a result to its sources only through a copy (mov, movsx) or a constant added
        // (adjust_reg_min_max_vals clears the id of every other result): a branch on `x & y` or `x / y` narrows neither
        // x nor y (sfuzz seed 541100005: a quotient masked, the mask compared, the quotient added to a packet pointer),
        // nor does one on `x + y` of two registers neither of which is a constant (efuzz seed 770086538: a sum compared
        // with a register, the spilled copy of one addend later a shift amount).
        // A second constant added clears the id (the link keeps one offset): unlinked (`r4 = r2; r4 += 3; r4 += 3`).
        const plusConst = (op === 'add' || op === 'sub') && !!bn.ex && isConst(bn.ex) && !an.plusc;
        const linksSources = op === 'mov' || op === 'movsx' || plusConst;
        const merged = linksSources ? [...new Set([...an.ids, ...bn.ids])] : [nextId++];
        // Too many sources to follow one by one: linked to everything (any branch on a number narrows it).
        const ids = merged.length > MAX_IDS ? ANY_ID : merged;
        let w: bigint | undefined;
        if ((op === 'mov' || op === 'movsx' || an.w !== undefined) && bn.w !== undefined) {
          w = w32 ? alu32(op, an.w ?? 0n, bn.w, insn.off) : alu64(op, an.w ?? 0n, bn.w, insn.off) & M64;
        }
        let ex: Exact | undefined;
        // A number known by 32-bit signed bounds crossing 0 (Num.s32): the 32-bit |, &, ^, << and >> of it do not read
        // those bounds (scalar32_min_max_or and the others start from its unsigned ones and tnum), so its 64-bit range
        // stands for it there.
        // A 64-bit sum or difference with a constant reads only its 64-bit bounds (zero-extended: `r9 += 1` of a
        // sign-extended char made by `w9 <<= 24; w9 s>>= 24` is [1, 0x100000000]).
        const bits32 = (w32 && (op === 'or' || op === 'and' || op === 'xor' || op === 'lsh' || op === 'rsh')) ||
          (!w32 && plusConst);
        const ae = an.ex ?? (bits32 ? an.s32?.ex : undefined), be = bn.ex ?? (bits32 ? bn.s32?.ex : undefined);
        if ((op === 'mov' || (ae && isConst(ae))) && be && isConst(be) && w !== undefined && op !== 'div' && op !== 'mod' && op !== 'sdiv' && op !== 'smod' && op !== 'neg') {
          // Constants the verifier folds exactly (tnum arithmetic on constants); divisions and negation it does not.
          ex = konst(w).ex;
        } else if (!w32 && ae && be && isConst(be)) {
          const c = be.tval;
          if ((op === 'add' || op === 'sub') && ae.tmask === M64 && ae.smin === S64_MIN && ae.umin === 0n && ae.umax === M64) ex = UNBOUNDED;
          else if (op === 'lsh' && c === 32n && ae.umin === 0n && ae.tval === 0n && (ae.tmask === M64 || ae.tmask === 0xffffffffn || ae.tmask === 0xffffn || ae.tmask === 0xffn) && ae.smin >= 0n === (ae.tmask !== M64)) {
            // `x << 32` as the first half of a widening: remembered so that the second half gives x's low 32 bits back.
            ex = { umin: 0n, umax: ((ae.tmask & 0xffffffffn) << 32n), smin: S64_MIN, smax: S64_MAX, tmask: (ae.tmask & 0xffffffffn) << 32n, tval: 0n, shl32: ae };
            if (ae.tmask !== M64 && ae.tmask !== 0xffffffffn) ex = { ...ex, smin: 0n, smax: ex.umax };
          } else if (op === 'lsh' && c === 32n && !ae.shl32 && isSimple(ae) && ae.umax < 0x80000000n && ae.umax > 0n) {
            // `x << 32` of a number in [0, 2^31) (the first half of `(s64)(int)x` after `if (x > 4 || x < 0)`): both
            // bounds and the tnum move up whole (__scalar64_min_max_lsh: the 32-bit signed bounds are non-negative).
            const [lo, hi] = [ae.umin << 32n, ae.umax << 32n];
            ex = { umin: lo, umax: hi, smin: lo, smax: hi, tmask: ae.tmask << 32n, tval: ae.tval << 32n, shl32: ae };
          } else if ((op === 'rsh' || op === 'arsh') && c === 32n && ae.shl32 && isSimple(ae.shl32) && ae.shl32.umax < 0x80000000n) {
            // The second half gives such a number back as it was (its sign bit is known zero).
            ex = ae.shl32;
          } else if ((op === 'rsh' || op === 'arsh') && c === 32n && ae.shl32) {
            const low = ae.shl32.tmask & 0xffffffffn;
            ex = op === 'rsh' || low !== 0xffffffffn ? bytesEx(low === 0xffn ? 1 : low === 0xffffn ? 2 : 4) : sbytesEx(4);
            // `<< 32` moves the 32-bit signed bounds up (__scalar64_min_max_lsh, measured on 6.18: a sign-extended
            // half-word becomes [0xffff800000000000, 0x7fff00000000]), so `s>> 32` of a number whose signed range fits
            // in 32 bits gives that range back (sfuzz seed 542100024: `(s64)(s16)x` widened), not [-2^31, 2^31 - 1].
            const src = ae.shl32;
            if (op === 'arsh' && low === 0xffffffffn && src.smin < 0n && src.smin >= -(1n << 31n) && src.smax >= 0n && src.smax < (1n << 31n)) ex = { ...ex, smin: src.smin, smax: src.smax };
          } else if (op === 'neg' && isSignedOnly(ae) && ae.smin > S64_MIN) {
            // -x of a number known only by signed bounds crossing 0 (a sign-extended half-word): the verifier computes
            // 0 - x (scalar_min_max_sub): the signed bounds turn over, the unsigned ones underflow, no bit is known.
            const [lo, hi] = [-ae.smax, -ae.smin];
            ex = lo < 0n ? { ...ae, smin: lo, smax: hi } : syncSimple(lo, hi, 0n, M64);
          } else if (op === 'or' && (isFull(ae) || isSignedOnly(ae)) && c > 0n && c <= S64_MAX) {
            // Any value | c (c >= 0), or a number known only by signed bounds crossing 0 (which scalar_min_max_or
            // drops): the known ones of c, at least c, no upper bound; the signed minimum from the tnum (then
            // __update_reg_bounds). sfuzz seed 542100024: `(x - k) | 1` made a divisor; efuzz seed 779086544:
            // `-(short)x | 1`.
            ex = { umin: c, umax: M64, smin: BigInt.asIntN(64, c | (1n << 63n)), smax: S64_MAX, tmask: ~c & M64, tval: c };
          } else if (op === 'lsh' && c === 32n && !ae.shl32 && ae.shlTop === undefined && (ae.tmask & 0x80000000n) !== 0n && ae.umax > 0x80000000n) {
            // `x << 32` of a number whose bit 31 the verifier does not know (so its 32-bit signed range has negative
            // values: no special case) and whose top bit may be shifted out: the bounds are the tnum's alone
            // (__scalar64_min_max_lsh, __update_reg_bounds); the second half, `>> 32`, gives x's low 32 bits back as
            // the range of their tnum.
            const v = (ae.tval & 0xffffffffn) << 32n, m = (ae.tmask & 0xffffffffn) << 32n;
            ex = { umin: v, umax: v | m, smin: BigInt.asIntN(64, v | (m & (1n << 63n))), smax: v | (m & S64_MAX), tmask: m, tval: v, shlTop: 32n };
          } else if (op === 'rsh' && c === 32n && ae.shlTop === 32n) {
            const v = ae.tval >> 32n, m = ae.tmask >> 32n;
            ex = { umin: v, umax: v | m, smin: v, smax: v | m, tmask: m, tval: v };
          } else if (op === 'lsh' && c > 32n && c < 64n && (isFull(ae) || (ae.umin === 0n && ae.tval === 0n && ae.smin === 0n && ae.umax === ae.tmask &&
            ae.umax > 0n && ((ae.umax + 1n) & ae.umax) === 0n && BigInt(ae.umax.toString(2).length) + c >= 64n))) {
            // `x << c` with x any value of its low k bits, k + c >= 64, c > 32 (the first half of a sign or zero
            // extension of the low 64 - c bits, `(s64)(s8)x` as `x << 56 s>> 56`): the verifier's shift may move the top
            // bit out, so its bounds come from the tnum alone (__scalar64_min_max_lsh, then __update_reg_bounds): bits
            // c..63 any, the low 32 bits known zero.
            const m = (ae.tmask << c) & M64;
            ex = { umin: 0n, umax: m, smin: S64_MIN, smax: m & S64_MAX, tmask: m, tval: 0n, shlTop: c };
          } else if ((op === 'rsh' || op === 'arsh') && ae.shlTop !== undefined && ae.shlTop !== 32n && c === ae.shlTop) {
            // The second half: the low 64 - c bits back, zero-extended ([0, 2^(64-c) - 1]) or sign-extended (signed
            // bounds -2^(63-c) .. 2^(63-c) - 1, no unsigned bound, no known bit: tnum_arshift of a mask with bit 63).
            const b = 64n - c;
            ex = op === 'rsh' ? { umin: 0n, umax: (1n << b) - 1n, smin: 0n, smax: (1n << b) - 1n, tmask: (1n << b) - 1n, tval: 0n }
              : { umin: 0n, umax: M64, smin: -(1n << (b - 1n)), smax: (1n << (b - 1n)) - 1n, tmask: M64, tval: 0n };
          } else if (op === 'and' && c <= S64_MAX && ae.umin === 0n && ae.tval === 0n && ae.smin >= 0n === (ae.tmask !== M64) && (ae.tmask === M64 || ae.umax === ae.tmask)) {
            // x & c for x any value of its low bits: the verifier's bounds are the true ones (0 .. c & bits).
            const m = ae.tmask & c;
            ex = { umin: 0n, umax: m, smin: 0n, smax: m, tmask: m, tval: 0n };
          } else if (op === 'lsh' && c > 0n && c < 32n && ae.umin === 0n && ae.tval === 0n && ae.smin === 0n && ae.umax === ae.tmask && (ae.tmask << c) <= S64_MAX) {
            const m = ae.tmask << c;
            ex = { umin: 0n, umax: m, smin: 0n, smax: m, tmask: m, tval: 0n };
          }
        }
        const s32 = an.s32;
        if (!ex && !w32 && op === 'lsh' && !ae && s32 && be && isConst(be) && be.tval === 32n && s32.lo < 0n && s32.hi >= 0n &&
          (s32.ex.tmask & 0xffffffffn) === 0xffffffffn && s32.ex.umax > 0x80000000n) {
          // `x << 32` of a number known by 32-bit signed bounds that cross 0 (after `if (int)x > 3`): the verifier
          // moves both up (6.18: smin = s32_min << 32); the tnum's low half goes up; `s>> 32` gives the 32-bit bounds
          // back as 64-bit signed ones.
          const m = 0xffffffffn << 32n;
          ex = { umin: 0n, umax: m, smin: s32.lo << 32n, smax: s32.hi << 32n, tmask: m, tval: 0n,
            shl32: { umin: 0n, umax: 0xffffffffn, smin: s32.lo, smax: s32.hi, tmask: 0xffffffffn, tval: 0n } };
        }
        if (!ex && w32 && (op === 'add' || op === 'sub') && !ae && s32 && be && isConst(be) && (s32.ex.tmask & 0xffffffffn) === 0xffffffffn) {
          // w += c of such a number: scalar32_min_max_add moves the 32-bit signed bounds when they do not overflow (the
          // unsigned ones do: any 32-bit value); non-negative ones then give the rest (reg_bounds_sync, zero extension).
          const k = BigInt.asIntN(32, op === 'add' ? be.tval : -be.tval);
          const [lo, hi] = [s32.lo + k, s32.hi + k];
          if (lo >= -(1n << 31n) && hi < (1n << 31n)) {
            if (lo >= 0n) ex = syncSimple(lo, hi, 0n, 0xffffffffn);
            else if (hi >= 0n) {
              r[insn.dst] = { k: 'num', w, ids: [nextId++, ...ids], s32: { ex: bytesEx(4), lo, hi } };
              break;
            }
          }
        }
        if (!ex && w32 && op === 'and' && ae && be && isConst(be) && (be.tval & 0xffffffffn) <= 0x7fffffffn) {
          // w & c (0 <= c < 2^31) of a number whose low 32 bits the verifier knows nothing of, or of a non-negative range
          // under 2^32: scalar32_min_max_and then the zero extension give [0, c] (sfuzz seed 1313100025: `w6 &= 7`).
          const c = be.tval & 0xffffffffn;
          const x = low32Full(ae) ? bytesEx(4) : isSimple(ae) && ae.umax <= 0xffffffffn ? ae : undefined;
          if (x) {
            const v = x.tval & c;
            ex = syncSimple(v, x.umax < c ? x.umax : c, v, (x.tval | x.tmask) & c & ~v);
          }
        }
        if (!ex && w32 && (op === 'add' || op === 'sub') && ae && be && isConst(be) && !isConst(ae) && isSimple(ae) && ae.umax < 0x80000000n) {
          // w += c of a range in [0, 2^31) that stays there: the 32-bit signed bounds move without overflow and give
          // the rest (scalar32_min_max_add, reg_bounds_sync, zero extension); the tnum is the 32-bit tnum_add's
          // (`__u32 i = x & 31; v->b[i + 8]` under -mcpu=v3: `w1 += 8`).
          const c32 = be.tval & 0xffffffffn;
          const d = BigInt.asIntN(32, op === 'add' ? c32 : -c32 & 0xffffffffn);
          if (ae.umin + d >= 0n && ae.umax + d < 0x80000000n) {
            const [v, m] = tnumAddConst(ae.tval, ae.tmask, d & 0xffffffffn);
            ex = syncSimple(ae.umin + d, ae.umax + d, v & 0xffffffffn, m & 0xffffffffn);
          }
        }
        if (!ex && w32 && ae && be && !isConst(ae) && isSimple(ae) && ae.umax <= 0xffffffffn) {
          const c = isConst(be) ? be.tval : undefined;
          if (op === 'or' && isSimple(be) && be.umax <= 0xffffffffn) {
            // w |= y of two ranges under 2^32 (scalar32_min_max_or: the larger minimum, the tnum's maximum; no sign).
            const v = ae.tval | be.tval, m = (ae.tmask | be.tmask) & ~v;
            ex = syncSimple(ae.umin > be.umin ? ae.umin : be.umin, v | m, v, m);
          } else if (op === 'lsh' && c !== undefined && c > 0n && c < 32n) {
            // w <<= c: the 32-bit unsigned bounds move up when nothing is shifted out, else they are the tnum's
            // (__scalar32_min_max_lsh, __update_reg32_bounds); zero-extended.
            const v = (ae.tval << c) & 0xffffffffn, m = (ae.tmask << c) & 0xffffffffn;
            ex = ae.umax <= 1n << (31n - c) ? syncSimple(ae.umin << c, ae.umax << c, v, m) : syncSimple(v, v | m, v, m);
          } else if (op === 'rsh' && c !== undefined && c > 0n && c < 32n) {
            // w >>= c of a range under 2^32: its bounds and tnum shift (scalar32_min_max_rsh), zero-extended.
            ex = syncSimple(ae.umin >> c, ae.umax >> c, ae.tval >> c, ae.tmask >> c);
          } else if (op === 'arsh' && c !== undefined && c > 0n && c < 32n) {
            // w s>>= c: the 32-bit signed bounds shift (scalar32_min_max_arsh), the unsigned ones follow them when they
            // are non-negative; when they cross 0 the number is any 32-bit value to the 64-bit bounds, its 32-bit signed
            // bounds kept for a signed comparison (`(int)(signed char)x` as `w <<= 24; w s>>= 24`).
            const lo32 = ae.umax < 0x80000000n ? ae.umin : ae.umin >= 0x80000000n ? ae.umin - (1n << 32n) : BigInt.asIntN(32, ae.tval | (ae.tmask & 0x80000000n));
            const hi32 = ae.umax < 0x80000000n ? ae.umax : ae.umin >= 0x80000000n ? ae.umax - (1n << 32n) : BigInt.asIntN(32, ae.tval | (ae.tmask & 0x7fffffffn));
            const [lo, hi] = [lo32 >> c, hi32 >> c];
            const v = (BigInt.asIntN(32, ae.tval) >> c) & 0xffffffffn, m = (BigInt.asIntN(32, ae.tmask) >> c) & 0xffffffffn;
            if (lo >= 0n) ex = syncSimple(lo, hi, v, m);
            else if (hi >= 0n && v === 0n && m === 0xffffffffn) {
              r[insn.dst] = { k: 'num', w, ids: [nextId++], s32: { ex: bytesEx(4), lo, hi } };
              break;
            }
          }
        }
        if (!ex && w32 && op === 'neg' && !ae && an.s32 && an.s32.lo > -(1n << 31n)) {
          // w = -w of such a number: 0 - x (scalar32_min_max_sub) turns its 32-bit signed bounds over, the unsigned ones
          // underflow (any 32-bit value, zero-extended), the tnum keeps no low bit (the -mcpu=v3 form of
          // `-(short)v | 1` as a divisor).
          const [lo, hi] = [-an.s32.hi, -an.s32.lo];
          if (lo < 0n) {
            r[insn.dst] = { k: 'num', w, ids: [nextId++], s32: { ex: an.s32.ex, lo, hi } };
            break;
          }
        }
        if (!ex && w32 && op === 'neg' && low32Full(ae)) {
          // w = -w of a number whose low 32 bits the verifier knows nothing of: 0 - x overflows its 32-bit bounds, the
          // tnum keeps no bit (scalar32_min_max_sub in 6.18), zero-extended: [0, 0xffffffff].
          ex = bytesEx(4);
        }
        if (!ex && w32 && op === 'rsh' && ae && be && isConst(be) && be.tval > 0n && be.tval < 32n && low32Full(ae)) {
          // w >>= c of a number whose low 32 bits the verifier knows nothing of (a copy of a sign-extended int): the
          // 32-bit bounds [0, 0xffffffff] and the tnum shift (scalar32_min_max_rsh), zero-extended: [0, 0xffffffff >> c]
          // (efuzz seed 779086571: `w1 = w9; w1 >>= 24; w1 |= 1` as a divisor, the remainder a helper size).
          const m = 0xffffffffn >> be.tval;
          ex = syncSimple(0n, m, 0n, m);
        }
        if (!ex && w32 && op === 'or' && ae && be && isConst(be) && (be.tval & 0xffffffffn) !== 0n && low32Full(ae)) {
          // w | c of a number whose low 32 bits the verifier knows nothing of (a 32-bit shift by a register, a
          // quotient): scalar32_min_max_or keeps c's ones known and c as the minimum, the zero extension gives
          // [c, 0xffffffff] (efuzz seed 777086658: `(2 >> (x & 31)) | 1` made a divisor, the remainder a helper size).
          const c = be.tval & 0xffffffffn;
          ex = syncSimple(c, 0xffffffffn, c, 0xffffffffn & ~c);
        }
        if (!ex && w32 && op === 'or' && ae && be) {
          // w |= y with y's low 32 bits unknown to the verifier's tnum and neither with a 32-bit minimum or a known one
          // bit: scalar32_min_max_or gives [0, 0xffffffff] (no signed bounds), zero-extended (`w3 |= w2`, w3 a signed
          // byte, then `& 31` a shift amount by a register).
          const noBit32 = (e: Exact) => (e.tmask & 0xffffffffn) === 0xffffffffn && (low32Full(e) || isSignedOnly(e));
          const noMin32 = (e: Exact) => noBit32(e) || (isSimple(e) && e.umin === 0n && e.tval === 0n);
          if ((noBit32(ae) && noMin32(be)) || (noBit32(be) && noMin32(ae))) ex = bytesEx(4);
        }
        if (!ex && w32 && low32Result(op, ae, be)) ex = bytesEx(4);
        if (!ex && w32 && op === 'mul' && ae && be && isConst(be) && isSimple(ae) && !isConst(ae) && be.tval >= 2n && ae.umax * be.tval <= 0x7fffffffn) {
          // w *= c of a range whose product stays under 2^31: neither 32-bit bound overflows (scalar32_min_max_mul),
          // tnum_mul; zero-extended (`w9 *= 40` of a byte: [0, 10200], tnum (0; 0x3ff8)).
          const [v, m] = tnumMulConst(ae.tval, ae.tmask, be.tval);
          ex = syncSimple(ae.umin * be.tval, ae.umax * be.tval, v, m);
        }
        if (!ex && w32 && op === 'mul' && ((low32Full(ae) && be && isConst(be)) || (low32Full(be) && ae && isConst(ae)))) {
          // w *= c (c even, not 0) of a number whose low 32 bits the verifier knows nothing of: the 32-bit bounds
          // overflow, tnum_mul keeps c's trailing zeros known: [0, 0xffffffff << z] (`x / 40 * 40` in 32 bits).
          const c = (isConst(be!) ? be!.tval : ae!.tval) & 0xffffffffn;
          if (c !== 0n && (c & 1n) === 0n) {
            const m = (0xffffffffn << BigInt((c & -c).toString(2).length - 1)) & 0xffffffffn;
            ex = syncSimple(0n, m, 0n, m);
          }
        }
        if (!ex && w32 && op === 'sub' && ae && be && !an.s32 && !bn.s32 && isSimple(ae) && isSimple(be) && ae.umax <= 0xffffffffn && be.umax <= 0xffffffffn &&
          be.umin <= 0x7fffffffn && be.umax > 0x7fffffffn && ae.umin < be.umax) {
          // w -= y, both known under 2^32, y's 32-bit range crossing 2^31 (`x - x / c * c` in 32 bits): the unsigned
          // 32-bit bounds underflow, the signed ones overflow (scalar32_min_max_sub), so [0, 0xffffffff] zero-extended,
          // with tnum_sub's low half as the tnum: bit 0 unknown when either is, which makes a 2-byte stack access
          // through it misaligned before its bounds are looked at.
          const [v, m] = tnumSub(ae.tval, ae.tmask, be.tval, be.tmask);
          ex = syncSimple(0n, 0xffffffffn, v & 0xffffffffn, m & 0xffffffffn);
        }
        if (!ex) ex = scalarOp(op, w32, !!info.srcReg, ae, be);
        if (ex && isConst(ex)) r[insn.dst] = { k: 'num', w: ex.tval, ex, ids: [] };
        else if (ex && plusConst) {
          r[insn.dst] = { k: 'num', w, ex, ids: an.ids, plusc: true }; // the verifier keeps x + c linked to x
          // A 64-bit sum with a constant that took a number under 2^32 below 0: scalar32_min_max_add/sub move its
          // 32-bit signed bounds by the constant's low half too (a sign-extended char minus 1: [-129, 126]), and its
          // 32-bit unsigned ones wrap to [0, 0xffffffff]. Kept while those signed bounds cross 0.
          const s32src = !an.ex && an.s32 ? [an.s32.lo, an.s32.hi] : an.ex && isSimple(an.ex) && an.ex.umax < 0x80000000n ? [an.ex.umin, an.ex.umax] : undefined;
          if (!w32 && s32src && isSignedOnly(ex) && bn.ex) {
            const d = BigInt.asIntN(32, op === 'add' ? bn.ex.tval : -bn.ex.tval);
            const [lo, hi] = [s32src[0]! + d, s32src[1]! + d];
            if (lo >= -(1n << 31n) && hi < 1n << 31n && lo < 0n && hi >= 0n) r[insn.dst] = { k: 'num', w, ex, ids: an.ids, plusc: true, lo32: { lo, hi } };
          }
        }
        else if (ex) r[insn.dst] = { k: 'num', w, ex, ids: linksSources ? [nextId++, ...ids] : ids };
        else if (w32 && op === 'sub' && be && isSimple(be) && be.umax <= 0xffffffffn && be.umax - be.umin >= MAX_VAR_OFF && (be.tmask & 0xe0000000n) === 0xe0000000n) {
          // w -= y, y under 2^32 spread over 2^29 or more with bits 29-31 unknown (`x - x / 40 * 40` in 32 bits):
          // scalar32_min_max_sub overflows (or x itself is as large), tnum_sub keeps those bits unknown, and the 32-bit
          // signed bounds narrow nothing below 2^29 whatever x is: zero-extended, a maximum of 2^29 or more.
          r[insn.dst] = { k: 'num', w, ids: [nextId++], nn: true, highUnbounded: true };
        } else if (!w32 && op === 'sub' && nonNeg(an) && be && be.smin === S64_MIN && (be.tmask >> 29n) === (M64 >> 29n)) {
          // x - y, x with smin >= 0, y's smin S64_MIN with its sign bit unknown (a quotient multiplied back, `i - i / 40 *
          // 40`: how clang computes `i % 40`): scalar_min_max_sub's smax overflows (x.smax - S64_MIN), so the signed
          // bounds are lost; the unsigned ones underflow (x.umin - y.umax); the result's tnum has y's unknown sign bit. So
          // its smin is S64_MIN plus the tnum's known ones below bit 29 (y's bits 29..63 unknown), at most -2^29: a
          // pointer moved by it is refused (check_reg_sane_offset: unbounded min value, or out of bounds),
          // whatever else the verifier knows of x (vfuzz seed 1796924787: `bk->b[(t ^ a) % 40]` in a static function,
          // t a 32-bit result).
          r[insn.dst] = { k: 'num', w, ids: [nextId++], lowUnbounded: true };
        } else {
          const nn = w32 || ((op === 'and') && (nonNeg(an) || nonNeg(bn))) || ((op === 'or' || op === 'xor') && nonNeg(an) && nonNeg(bn)) ||
            (op === 'rsh' && be !== undefined && isConst(be) && be.tval > 0n);
          const pc1 = plusConst ? { plusc: true as const } : {};
          r[insn.dst] = nn ? { k: 'num', w, ids, nn: true, ...pc1 } : { k: 'num', w, ids, ...pc1 };
        }
        break;
      }
      case 'end': {
        const a = r[insn.dst]!;
        if (a.k !== 'num') return false;
        // A 16- or 32-bit swap or truncation is zero-extended: bit 63 known zero.
        r[insn.dst] = insn.imm < 64 ? { k: 'num', ids: a.ids, nn: true } : { k: 'num', ids: a.ids };
        break;
      }
      case 'lddw':
        if (insn.src === PSEUDO_IMM64) r[insn.dst] = konst((BigInt(insn.nextImm ?? 0) << 32n) | BigInt(insn.imm >>> 0));
        else if (insn.src === PSEUDO_MAP_FD || insn.src === PSEUDO_MAP_IDX) r[insn.dst] = { k: 'map', off: 0, map: insn.imm };
        else if (insn.src === PSEUDO_MAP_VALUE || insn.src === PSEUDO_MAP_IDX_VALUE) r[insn.dst] = { k: 'value', off: insn.nextImm ?? 0, map: insn.imm };
        else if (insn.src === PSEUDO_FUNC) r[insn.dst] = { k: 'other', off: 0, fn: pc + 1 + insn.imm };
        else r[insn.dst] = { k: 'other', off: 0 };
        st.pc = pc + 2;
        return [st];
      case 'ldx':
      case 'ldxsx': {
        const base = r[insn.src]!;
        if (base.k === 'num') scalarAccess(pc, base, insn.src, 'load');
        if (base.k === 'none' || base.k === 'num') return false;
        const size = info.size!;
        if (!checkCtx(pc, base, insn.src) || !checkValue(pc, base, insn.off, size, insn.src) || !checkStack(pc, base, insn.off, size, insn.src, 'read from')) return false;
        const so = stackOff(base, insn.off);
        // A dynptr's bytes read as a number (check_stack_read_fixed_off: STACK_DYNPTR is no readable byte).
        const dynHit = so !== undefined && !dynUnknown && !stackOpaque ? st.dynp?.find((k) => k < so + size && so < k + 16) : undefined;
        if (so !== undefined && dynHit !== undefined) {
          const off = base.off + insn.off;
          const kernel = `invalid read from stack off ${off}+${Math.max(dynHit, so) - so} size ${size}`;
          refuse(pc, kernel, `The verifier refuses this load: ${kernel} (the bytes at fp${off} belong to the dynptr at fp${dynHit - ((base as Ptr).frame ?? 0) * FRAME_KEY}; ` +
            'read the packet through bpf_dynptr_read or bpf_dynptr_slice instead of the dynptr itself).', 'dynptr');
          return false;
        }
        if (so !== undefined) {
          const slot = st.stack.get(so);
          const slotNum = slot?.k === 'num' && !stackOpaque ? slot : undefined;
          if (size === 8 && slot && !(slot.k === 'num' && slot.spill)) r[insn.dst] = slot;
          // 8 bytes of a slot holding a narrower spill: no register to copy, any value (measured on 6.18).
          else if (size === 8 && slotNum?.spill && ((so % 8) + 8) % 8 === 0) r[insn.dst] = fresh(UNBOUNDED);
          else if (size < 8 && info.kind === 'ldx' && ((so % 8) + 8) % 8 === 0 && slotNum?.ex && (slotNum.spill ?? 8) >= size &&
            (isConst(slotNum.ex) || isSimple(slotNum.ex)) && slotNum.ex.umax < 1n << BigInt(8 * size)) {
            // A fill from the slot's start of a spilled number that fits in the load's size (check_stack_read_fixed_off
            // copies the spilled register, coerce_reg_to_size changes nothing): the number itself, linked.
            const { spill: _, ...n } = slotNum;
            r[insn.dst] = n;
          } else {
            // The bytes' witnesses (a byte never stored by an instruction: any value to the verifier, 0 here).
            let w = 0n;
            const ids: number[] = [];
            let known = true;
            let untouched = 0;
            let misc = 0, zero = 0;
            for (let i = size - 1; i >= 0; i--) {
              const b = st.mem.get(so + i);
              if (b === 'x' || b === 'p') known = false;
              else if (b) {
                if (b.misc) misc++;
                else if (b.zero) zero++;
                w = (w << 8n) | BigInt(b.b);
                ids.push(...b.ids);
                continue;
              } else untouched++;
              w <<= 8n;
            }
            if (known && info.kind === 'ldxsx') w = BigInt.asUintN(64, BigInt.asIntN(size * 8, w));
            // Bytes no instruction stored (uninitialised, or written by a helper: STACK_INVALID/STACK_MISC) read as any
            // value, then zero- or sign-extended from the load's size (check_stack_read_fixed_off, coerce_reg_to_size).
            // Not after a callback or global function was given the stack (it may have stored a number the verifier knows).
            // So do bytes a store left STACK_MISC (a number stored off the slot's start: no spill; sfuzz seed 1313100025
            // -Oz: `*(u16 *)(r10 - 258) = r5` with r5 = 6954, read back as [0, 0xffff], and a branch on it walked both ways).
            // Bytes all STACK_ZERO: the constant 0 (the stack went to no helper or function since, which could have
            // written them). `volatile __u32 i = 0; while (i < 10) {}` reads 0 on every turn: an endless loop to the
            // verifier.
            if (zero === size && !stackPassed && !stackOpaque) r[insn.dst] = konst(0n);
            else if (untouched + misc === size && !stackOpaque) r[insn.dst] = fresh(size === 8 ? UNBOUNDED : info.kind === 'ldxsx' ? sbytesEx(size) : bytesEx(size));
            // A load of fewer than 8 bytes is a number zero-extended from its size (coerce_reg_to_size after
            // check_mem_access), or refused (a part of a spilled pointer).
            else if (size < 8 && info.kind === 'ldx') r[insn.dst] = known ? { k: 'num', w, ids: [...new Set(ids)], nn: true } : { k: 'num', ids: [], nn: true };
            else r[insn.dst] = known ? { k: 'num', w, ids: [...new Set(ids)] } : X;
          }
        } else r[insn.dst] = loadFrom(base, insn.off, size, info.kind === 'ldxsx');
        break;
      }
      case 'st':
      case 'stx': {
        const base = r[insn.dst]!;
        if (base.k === 'num' && (info.kind === 'st' || r[insn.src]!.k !== 'none')) scalarAccess(pc, base, insn.dst, 'store');
        if (base.k === 'none' || base.k === 'num') return false;
        const size = info.size!;
        if (!checkCtx(pc, base, insn.dst) || !checkValue(pc, base, insn.off, size, insn.dst) || !checkStack(pc, base, insn.off, size, insn.dst, 'write to')) return false;
        // check_stack_write_fixed_off: a pointer goes into the stack whole (8 bytes) or not at all.
        if (info.kind === 'stx') {
          const x = r[insn.src]!;
          if (x.k === 'num' && x.plusc) {
            const { plusc: _, ...c } = x;
            r[insn.src] = c;
          }
        }
        const sv = info.kind === 'stx' ? r[insn.src]! : undefined;
        if (base.k === 'stack' && size !== 8 && sv && SPILLABLE.has(sv.k) && stackOff(base, insn.off) !== undefined) {
          refuse(pc, 'invalid size of register spill', `The verifier refuses this store: invalid size of register spill (a ${sv.k === 'value' ? 'map value' : sv.k === 'end' ? 'data_end' : sv.k === 'ctx' ? 'context' : sv.k === 'map' ? 'map' : sv.k === 'stack' ? 'stack' : 'packet'} pointer ` +
            `stored as ${size} bytes: a pointer is spilled to the stack as 8 bytes, or converted to a number first).`, 'spill-size');
          return false;
        }
        if (base.k === 'stack' && base.vr !== undefined && base.vr !== true && base.orNull === undefined) {
          // A store at a variable offset known exactly (check_stack_write_var_off): every byte it may reach becomes one
          // the verifier knows nothing of; the slots outside that range keep what they hold (sfuzz seed 541100005: a
          // spilled byte 30 slots away from `arr[i] ^= 1` was still [0, 255] to the verifier).
          const lo = base.off + insn.off + Number(base.vr.smin);
          const hi = base.off + insn.off + Number(base.vr.smax) + size;
          if (lo >= -512 && hi <= 0) {
            const at = (base.frame ?? 0) * FRAME_KEY + lo;
            clobber(st, at, hi - lo);
            destroyDynptrs(st, at, hi - lo);
            for (let o = at; o < at + hi - lo; o++) st.mem.set(o, 'x');
          } else {
            clobber(st, undefined, size);
            dynUnknown = true;
          }
        } else if (base.k === 'stack') {
          const so = stackOff(base, insn.off);
          clobber(st, so, size);
          if (so !== undefined) destroyDynptrs(st, so, size);
          const v = info.kind === 'stx' ? r[insn.src]! : konst(BigInt.asUintN(64, BigInt(insn.imm)));
          if (so !== undefined && size === 8 && ((so % 8) + 8) % 8 === 0 && v.k !== 'none') st.stack.set(so, v);
          // A number stored with fewer bytes at a slot's start is spilled whole too (check_stack_write_fixed_off): kept
          // for a fill of at most its size from there.
          if (so !== undefined && size < 8 && ((so % 8) + 8) % 8 === 0 && v.k === 'num' && v.ex) st.stack.set(so, { ...v, spill: size });
          if (so !== undefined) {
            // check_stack_write_fixed_off: a number stored at an offset that is not a slot's start is no spill; its bytes
            // become STACK_MISC (any value to a later read) unless the verifier knows it is 0 (STACK_ZERO). Claimed only
            // when a witness proves it may be nonzero, or its range is not a single value.
            const misc = ((so % 8) + 8) % 8 !== 0 && v.k === 'num' && v.w !== undefined && (v.w !== 0n || (v.ex !== undefined && !isConst(v.ex)));
            // STACK_ZERO: a number the verifier knows to be 0 (register_is_null, or `st` of 0), stored off a slot's start.
            const zero = ((so % 8) + 8) % 8 !== 0 && v.k === 'num' && v.ex !== undefined && isConst(v.ex) && v.ex.tval === 0n;
            for (let i = 0; i < size; i++) {
              st.mem.set(so + i, v.k !== 'num' ? (v.k === 'none' ? 'x' : 'p') : v.w === undefined ? 'x' :
                misc ? { b: Number((v.w >> BigInt(8 * i)) & 0xffn), ids: v.ids, misc } : zero ? { b: 0, ids: [], zero } : { b: Number((v.w >> BigInt(8 * i)) & 0xffn), ids: v.ids });
            }
          }
        }
        break;
      }
      case 'atomic': {
        // load-acquire reads through src into dst (the others go through dst): afuzz seed 546300050, `r0 =
        // load_acquire((u8 *)(r1 + 2))` with r0 the value pointer r1 was copied from read as that pointer still.
        if (insn.imm === ATOMIC_LOAD_ACQ) {
          const src = r[insn.src]!;
          if (src.k === 'none' || src.k === 'num') return false;
          if (!checkValue(pc, src, insn.off, info.size!, insn.src) || !checkStack(pc, src, insn.off, info.size!, insn.src, 'read from')) return false;
          r[insn.dst] = X;
          break;
        }
        const base = r[insn.dst]!;
        if (base.k === 'none' || base.k === 'num') return false;
        if (!checkValue(pc, base, insn.off, info.size!, insn.dst) || !checkStack(pc, base, insn.off, info.size!, insn.dst, 'read from')) return false;
        const size = info.size!;
        // What a fetching form reads: on the stack at a known place, the spilled number itself (8 bytes), or any value
        // of the width where no instruction stored a byte the walk has a witness for (STACK_MISC or never written).
        let old: Reg = X;
        if (base.k === 'stack') {
          const so = stackOff(base, insn.off);
          if (so !== undefined && !stackOpaque) {
            const spill = st.stack.get(so);
            if (size === 8 && spill?.k === 'num') old = spill;
            else if (!spill && Array.from({ length: size }, (_, i) => st.mem.get(so + i)).every((b) => b === undefined || (typeof b !== 'string' && b.misc))) {
              old = fresh(size === 8 ? UNBOUNDED : bytesEx(size));
            }
          }
          clobber(st, so, size);
          // check_atomic_rmw writes the bytes back with no register (check_stack_write_fixed_off, value_regno -1):
          // STACK_MISC, any value to the verifier when read again (measured on 6.18: `fp-224=mmmmmmmm` after a
          // cmpxchg on a spilled -1; efuzz seed 770086558).
          if (so !== undefined) for (let i = 0; i < size; i++) st.mem.set(so + i, stackOpaque ? 'x' : { b: 0, ids: [], misc: true });
        }
        if (insn.imm & 1) {
          // A fetching form writes the old value into src (cmpxchg into r0).
          if (insn.imm === 0xf1) r[0] = old;
          else r[insn.src] = old;
        }
        break;
      }
      case 'ja':
        st.pc = pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off);
        return [st];
      case 'exit': {
        // The end of a static function: back to its caller with r0, r6-r9 as they were, the callee's stack gone.
        const top = st.calls[st.calls.length - 1];
        // The end of a bpf_loop callback's first iteration: what the verifier does next (the call site again) is not followed.
        if (!top || r[0]!.k === 'none' || top.ret === CALLBACK_RET) return false;
        const depth = st.calls.length;
        const regs: Reg[] = [r[0]!, NONE, NONE, NONE, NONE, NONE, ...top.saved, { k: 'stack', off: 0, frame: depth - 1 }];
        for (const o of [...st.stack.keys()]) if (o < depth * FRAME_KEY + 2048 && o >= depth * FRAME_KEY - 2048) st.stack.delete(o);
        for (const o of [...st.mem.keys()]) if (o < depth * FRAME_KEY + 2048 && o >= depth * FRAME_KEY - 2048) st.mem.delete(o);
        if (st.dyn) st.dyn = st.dyn.filter((o) => o >= depth * FRAME_KEY + 2048 || o < depth * FRAME_KEY - 2048);
        if (st.dynp) st.dynp = st.dynp.filter((o) => o >= depth * FRAME_KEY + 2048 || o < depth * FRAME_KEY - 2048);
        st.regs = regs;
        st.calls = st.calls.slice(0, -1);
        st.pc = top.ret;
        return [st];
      }
      case 'call': {
        if (insn.src === CALL_LOCAL) {
          const target = pc + 1 + insn.imm;
          const fn = funcs.get(target);
          if (!fn) return false;
          if ([1, 2, 3, 4, 5].some((i) => r[i]!.k === 'stack')) stackPassed = true;
          if (fn.global) {
            // btf_check_subprog_call: an argument BTF types as the context must be the context; a register the walk
            // knows as a number is a scalar to the verifier too. clang passes whatever r1 holds for a context argument
            // the function never reads (vfuzz seed 1796924786: `g1(ctx, ...)` with g1 not using it, r1 a number left
            // from the argument computations; refused "arg#0 expects pointer to ctx").
            // A number the walk has a witness or a range for is one to the verifier; so is any pointer but the context.
            const notCtx = (x: Reg) => (x.k === 'num' && (x.w !== undefined || !!x.ex || x.nn === true)) ||
              x.k === 'pkt' || x.k === 'meta' || x.k === 'end' || x.k === 'stack' || x.k === 'map' || x.k === 'value';
            // check_mem_reg on a stack pointer at a variable offset the walk knows exactly, for an argument of known
            // size: the whole size at every offset must lie inside the frame (measured on 6.18: "invalid variable-offset
            // read from stack R1 var_off=(0x0; 0x38) off=-32 size=8", "invalid unbounded variable-offset read from stack
            // R1"). Judged only when every earlier argument certainly passes (the verifier names the first it refuses).
            const idx = [...funcs.keys()].sort((a, b) => a - b).indexOf(target);
            // A pointer argument to something without a size refuses every call before any register is looked at
            // (the bytecode walk reports it).
            if (fn.argUnsized?.some((x) => x !== undefined)) return false;
            for (let i = 0; i < 5; i++) {
              const x = r[i + 1]!;
              const size = fn.argMemSizes?.[i];
              if (x.k === 'none' && (fn.argScalar?.[i] || fn.argCtx?.[i] || size !== undefined)) {
                // Nothing wrote the register on this path (NOT_INIT): not a scalar; for a pointer, __check_ptr_off_reg
                // prints NOT_INIT's name and its unknown var_off (measured on 6.18).
                const kernel = fn.argScalar?.[i] ? `R${i + 1} is not a scalar` : 'variable ? access var_off=(0x0; 0xffffffffffffffff) disallowed';
                refuse(pc, kernel, `The verifier refuses this call: ${kernel} (Caller passes invalid args into func#${idx} ('${fn.name}'): ` +
                  `argument ${i + 1} of ${fn.name} is read from r${i + 1}, and nothing set r${i + 1} on this path (a call leaves r1-r5 unset). ` +
                  'clang passes whatever the register holds for an argument the function never reads: use the argument in the function, or make it static).', 'pointer-misuse');
                return false;
              }
              if (fn.argScalar?.[i] && x.k === 'num' && (x.w !== undefined || !!x.ex || x.nn === true)) continue;
              if (fn.argCtx?.[i] && x.k === 'ctx' && x.off === 0 && x.vr === undefined && x.orNull === undefined) continue;
              if (size === undefined || x.k !== 'stack' || x.orNull !== undefined) break;
              const bad = stackVarRefusal(x, 0, size, i + 1, 'read from', false);
              if (bad) {
                refuse(pc, bad.kernel, `The verifier refuses this call: ${bad.kernel} (Caller passes invalid args into func#${idx} ('${fn.name}'): ` +
                  `argument ${i + 1} of ${fn.name} points to ${size} bytes, and ${bad.why}; check the index against the array's size first, ` +
                  'e.g. `if (i >= N) return ...;`).', 'pointer-misuse');
                return false;
              }
              if (x.vr !== undefined || x.off + size > 0 || x.off < -512) break;
            }
            const badCtx = fn.argCtx?.findIndex((c, i) => c && i < 5 && notCtx(r[i + 1]!)) ?? -1;
            if (badCtx >= 0) {
              const kernel = `arg#${badCtx} expects pointer to ctx`;
              refuse(pc, kernel, `The verifier refuses this call: ${kernel} (argument ${badCtx + 1} of the global function ${fn.name} is a ` +
                '`struct xdp_md *`, so the caller must pass the program\'s context; here r' + (badCtx + 1) + ' holds something else. clang passes ' +
                'any value for an argument the function never reads: use the argument in the function, or make it static).', 'pointer-misuse');
              return false;
            }
            // Verified on its own; its caller gets any number back (0 among them), and memory it was given may change.
            // A stack pointer given as an argument whose size BTF gives: check_mem_reg's write check makes those bytes
            // STACK_MISC (a spilled number or pointer there an unknown number), so a read of them afterwards is any value
            // of its size (measured on 6.18: `struct s v = { .a = 2 }; g(&v); val[v.a]` refused as unbounded). Other
            // stack pointers: what the function leaves there is not claimed.
            for (let i = 1; i <= 5; i++) {
              const x = r[i]!;
              if (x.k !== 'stack') continue;
              const size = fn.argMemSizes?.[i - 1];
              const so = size !== undefined && x.vr === undefined && x.orNull === undefined ? stackOff(x, 0) : undefined;
              if (size === undefined || so === undefined || x.off + size > 0) {
                stackOpaque = true;
                continue;
              }
              clobber(st, so, size);
              for (let o = so; o < so + size; o++) st.mem.set(o, { b: 0, ids: [], misc: true });
            }
            if ([1, 2, 3, 4, 5].some((i) => r[i]!.k !== 'num' && r[i]!.k !== 'none')) st.stack.clear();
            for (let i = 1; i <= 5; i++) r[i] = NONE;
            r[0] = { k: 'num', w: 0n, ids: [nextId++] };
            break;
          }
          if (st.calls.length + 1 >= MAX_CALL_DEPTH) {
            // check_func_call where the walk reaches the call (curframe + 1 >= MAX_CALL_FRAMES), in its words: the
            // frame count it names is curframe + 2 (check_max_stack_depth's "... frames is too deep !" counts from
            // the other end and is printed only for a call the walk never reached).
            const kernel = `the call stack of ${st.calls.length + 2} frames is too deep`;
            refuse(pc, kernel, `The verifier refuses this call: ${kernel} (a program may nest at most ${MAX_CALL_DEPTH} functions, ` +
              'itself included, that are not inlined: mark some `static __always_inline`, or flatten the chain).', 'call-depth');
            return false;
          }
          const depth = st.calls.length + 1;
          st.calls = [...st.calls, { ret: pc + 1, saved: r.slice(6, 10) }];
          st.regs = [NONE, r[1]!, r[2]!, r[3]!, r[4]!, r[5]!, NONE, NONE, NONE, NONE, { k: 'stack', off: 0, frame: depth }];
          st.pc = target;
          return [st];
        }
        if (insn.src === CALL_KFUNC) return kfuncCall(st, pc, insn.imm);
        if (insn.src !== CALL_HELPER) return false;
        if (CALLBACK_HELPERS.has(insn.imm)) {
          if (!late.refusal) {
            const tc = callbackTailCall(insns, infos, funcs, pc);
            if (tc !== undefined) {
              late.refusal = { pc: tc, rule: 'tail-call-callback', kernel: 'cannot tail call within callback',
                message: 'The verifier refuses this program: cannot tail call within callback (this bpf_tail_call is in a function that the callback ' +
                  `of ${helperName(insn.imm) ?? 'a callback helper'} calls; make the tail call from the XDP function after the loop, e.g. with a flag the callback sets in its context).` };
            }
          }
          // bpf_loop: the verifier walks the callback's first iteration from the call (set_loop_callback_state: r1 the
          // index, a number it knows nothing of; r2 the context given; the caller's frames as they are at the call). vfuzz seed 1796924783: `c->bk.b[i % 40]` in the callback, `i - i / 40 * 40` unbounded to the
          // verifier, refused as "math between fp pointer and register with unbounded min value".
          // Only when the iteration count may be above 0 (check_helper_call: `callback_depth < R1.umax_value`; a constant 0
          // walks no callback: vfuzz seed 1796600160, `bpf_loop(0, cb, ...)` with a refused access in cb, loads).
          const n1 = r[1]!;
          const mayIterate = n1.k === 'num' && ((n1.ex !== undefined && n1.ex.umax > 0n) || (n1.w !== undefined && n1.w !== 0n));
          const cbFn = insn.imm === BPF_FUNC_LOOP && mayIterate && r[2]!.k === 'other' ? (r[2] as Ptr).fn : undefined;
          const cbInfo = cbFn === undefined ? undefined : funcs.get(cbFn);
          let cb: St | undefined;
          if (cbFn !== undefined && cbInfo && !cbInfo.global && st.calls.length + 1 < MAX_CALL_DEPTH) {
            const depth = st.calls.length + 1;
            cb = { pc: cbFn, regs: [NONE, fresh(UNBOUNDED), r[3]!, NONE, NONE, NONE, NONE, NONE, NONE, NONE, { k: 'stack', off: 0, frame: depth }],
              stack: new Map(st.stack), mem: new Map(st.mem), calls: [...st.calls, { ret: CALLBACK_RET, saved: r.slice(6, 10) }], dyn: st.dyn, dynp: st.dynp };
          }
          if ([1, 2, 3, 4, 5].some((i) => r[i]!.k === 'stack')) stackOpaque = true;
          stackPassed = true;
          // The callback is verified as its own walk; it may write what it was given. The result
          // is a number (0 among the possible ones).
          st.stack.clear();
          for (let i = 1; i <= 5; i++) r[i] = NONE;
          r[0] = { k: 'num', w: 0n, ids: [nextId++] };
          // Walked after the path on from the call (which stays the verifier's first path for the limits above): the
          // order changes which refusal is found first, not whether there is one.
          if (cb) {
            st.pc = pc + 1;
            return [st, cb];
          }
          break;
        }
        const id = insn.imm;
        // ARG_PTR_TO_CTX given a number (check_reg_type, the first argument the verifier looks at): a register whose
        // range the walk knows is a number to the verifier too (a pointer is never given one).
        const a1 = r[1]!;
        if (CTX_FIRST_HELPERS.has(id) && a1.k === 'num' && a1.ex) {
          const name = helperName(id) ?? `helper ${id}`;
          refuse(pc, 'R1 type=scalar expected=ctx', `The verifier refuses this call: R1 type=scalar expected=ctx (${name} takes the program's context, ` +
            'the `ctx` argument of the XDP function, unchanged; here r1 holds a number).', 'pointer-misuse');
          return false;
        }
        // check_helper_call, where the verifier's walk reaches the call (a call it skips as dead is not refused).
        if (GPL_ONLY_HELPERS.has(id) && !gplCompatible(obj.license)) {
          const name = helperName(id) ?? `helper ${id}`;
          refuse(pc, 'cannot call GPL-restricted function from non-GPL compatible program',
            `The verifier refuses this call: cannot call GPL-restricted function from non-GPL compatible program (${name} is GPL-only and the ` +
            `object's licence is ${obj.license ? `"${obj.license}"` : 'missing'}: declare \`char LICENSE[] SEC("license") = "GPL";\` or "Dual BSD/GPL").`, 'gpl-only');
          return false;
        }
        // check_mem_size_reg: a size argument the verifier knows exactly (not one it must know as a constant) whose
        // smallest value is negative, or 0 where the helper needs a byte, or whose largest reaches BPF_MAX_VAR_SIZ
        // (measured on 6.18: a size clamped in a 32-bit copy while the call takes the 64-bit register it was copied
        // from, xdp-dump's shape), in that order.
        for (const sz of HELPER_PROTOS.get(id)?.sizes ?? []) {
          const n0 = r[sz.reg]!;
          // A number known by crossing 32-bit signed bounds: its 64-bit range is what the call checks.
          const n = n0.k === 'num' && !n0.ex && n0.s32 ? { ...n0, ex: n0.s32.ex } : n0;
          if (sz.constant || n.k !== 'num' || !n.ex) continue;
          const name = helperName(id) ?? `helper ${id}`;
          if (n.ex.smin < 0n) {
            const kernel = `R${sz.reg} min value is negative, either use unsigned or 'var &= const'`;
            refuse(pc, kernel, `The verifier refuses this call: ${kernel} (the size argument of ${name} may be negative as the verifier tracks it, ` +
              'e.g. a length bounded in a 32-bit copy while the call is given the 64-bit value it came from: bound the value you pass).', 'pointer-misuse');
            return false;
          }
          // Zero before the upper bound (a size from a division or a shift by a register, plus one: [0, 2^32 - 1]).
          if (n.ex.umin === 0n && !sz.zeroOk) {
            const kernel = `R${sz.reg} invalid zero-sized read: u64=[0,${n.ex.umax}]`;
            refuse(pc, kernel, `The verifier refuses this call: ${kernel} (the size argument of ${name} may be 0 as the verifier tracks it, ` +
              'and the helper needs at least one byte).', 'pointer-misuse');
            return false;
          }
          if (n.ex.umax >= BigInt(MAX_VAR_SIZE)) {
            const kernel = `R${sz.reg} unbounded memory access, use 'var &= const' or 'if (var < const)'`;
            refuse(pc, kernel, `The verifier refuses this call: ${kernel} (the size argument of ${name} has no upper bound the verifier knows).`, 'pointer-misuse');
            return false;
          }
          // Then the memory at the largest size (check_helper_mem_access with umax): a stack range at a fixed offset
          // must end inside the frame (check_stack_access_within_bounds).
          const mem = r[sz.reg - 1]!;
          if (mem.k === 'stack' && mem.vr === undefined && BigInt(mem.off) + n.ex.umax > 0n) {
            const kernel = `invalid ${WRITTEN_MEM.get(id) === sz.reg - 1 ? 'write to' : 'read from'} stack R${sz.reg - 1} off=${mem.off} size=${n.ex.umax}`;
            refuse(pc, kernel, `${kernel} (argument of ${name}: past the stack frame)`, 'pointer-misuse');
            return false;
          }
        }
        // A dynptr the helper reads must have been initialised on this path; bpf_dynptr_from_mem and
        // bpf_ringbuf_reserve_dynptr initialise the one their 4th argument points to.
        const dynArg = DYNPTR_HELPER_ARGS.get(id);
        const raw = RAW_MEM_ARGS.get(id), rd = READ_MEM_ARGS.get(id);
        const hname = helperName(id) ?? `helper ${id}`;
        if (raw && !checkDynptrBytes(st, pc, raw[0], typeof raw[1] === 'number' ? r[raw[1]]! : raw[1].fixed, true, hname)) return false;
        if (dynArg !== undefined && !checkDynptr(st, pc, dynArg, hname)) return false;
        if (rd && !checkDynptrBytes(st, pc, rd[0], r[rd[1]]!, false, hname)) return false;
        if (id === 197 || id === 198) initDynptr(st, r[4]!, id === 197);
        // A stack pointer left in an argument register the helper does not take (r3 still pointing into a stack
        // array across bpf_xdp_get_buff_len(ctx), sfuzz seed 541100005) is not given to it.
        const argStack = !NO_MEMORY_ARG_HELPERS.has(id) && [1, 2, 3, 4, 5].some((i) => r[i]!.k === 'stack');
        if (argStack) stackPassed = true;
        // A helper that writes only its raw-mode memory, at a known place and size, changes only those bytes: each
        // becomes STACK_MISC (any value), a spill there is gone, other slots keep what they hold (check_helper_call's
        // byte-wise write of meta.access_size). Otherwise what it may write is not claimed.
        // bpf_map_pop_elem / bpf_map_peek_elem: their value argument (r2) is uninitialised memory of the map's value
        // size (ARG_PTR_TO_MAP_VALUE | MEM_UNINIT), written the same way (efuzz seed 770086538: a context pointer
        // spilled elsewhere was still one after bpf_map_peek_elem).
        const popMap = (id === 88 || id === 89) && r[1]!.k === 'map' ? obj.maps[(r[1] as Ptr).map!] : undefined;
        const rawArg = raw ? raw[0] : popMap ? 2 : undefined;
        const rawAt = rawArg !== undefined && r[rawArg]!.k === 'stack' ? stackOff(r[rawArg]!, 0) : undefined;
        const rawSize = popMap ? popMap.valueSize : !raw ? undefined : typeof raw[1] !== 'number' ? raw[1].fixed : ((n) => (n.k === 'num' && n.ex && isConst(n.ex) ? Number(n.ex.tval) : undefined))(r[raw[1]]!);
        if (argStack && (READ_ONLY_HELPERS.has(id) || id === 190 || id === 202)) {
          // bpf_xdp_store_bytes and bpf_dynptr_write only read the stack memory they are given.
        } else if (argStack && rawAt !== undefined && rawSize !== undefined && rawSize > 0 && rawSize <= 512 && (r[rawArg!] as Ptr).off + rawSize <= 0) {
          // A spill the bytes reach is scrubbed whole: its other bytes become STACK_MISC too.
          const spills = [...st.stack.keys()].filter((o) => o < rawAt + rawSize && rawAt < o + 8);
          clobber(st, rawAt, rawSize);
          for (const o of spills) for (let i = 0; i < 8; i++) st.mem.set(o + i, { b: 0, ids: [], misc: true });
          for (let o = rawAt; o < rawAt + rawSize; o++) st.mem.set(o, { b: 0, ids: [], misc: true });
        } else if (argStack) st.stack.clear();
        let r0: Reg;
        if (id === 1 || id === 195) {
          const m = r[1]!.k === 'map' ? obj.maps[(r[1] as Ptr).map!] : undefined;
          r0 = m && VALUE_MAPS.has(m.type) ? { k: 'value', off: 0, map: (r[1] as Ptr).map, orNull: nextId++, arrayLookup: m.type === MapType.ARRAY || m.type === MapType.PERCPU_ARRAY } : { k: 'other', off: 0 };
        } else if (UNBOUNDED_HELPERS.has(id)) r0 = fresh(UNBOUNDED);
        else if (VOID_HELPERS.has(id)) r0 = { k: 'none' };
        else if (id === 131 || id === 84 || id === 85 || id === 99) r0 = { k: 'other', off: 0, orNull: nextId++ };
        else r0 = { k: 'num', w: 0n, ids: [nextId++] }; // an integer result: 0 is one the verifier allows for (all of them include it)
        for (let i = 1; i <= 5; i++) r[i] = { k: 'none' };
        r[0] = r0;
        if (PKT_CHANGING.has(id)) killPacketPointers(st);
        break;
      }
      case 'jump': {
        const op = info.jmp!;
        const w32 = info.width === 32;
        const a = r[insn.dst]!;
        const b: Reg = info.srcReg ? r[insn.src]! : konst(w32 ? BigInt(insn.imm >>> 0) : BigInt.asUintN(64, BigInt(insn.imm)));
        const target = pc + 1 + insn.off;
        const fall = (): St => ({ pc: pc + 1, regs: st.regs.slice(), stack: new Map(st.stack), mem: new Map(st.mem), calls: st.calls, dyn: st.dyn, dynp: st.dynp });
        const jump = (): St => ({ pc: target, regs: st.regs.slice(), stack: new Map(st.stack), mem: new Map(st.mem), calls: st.calls, dyn: st.dyn, dynp: st.dynp });
        if (a.k === 'none' || b.k === 'none') return false;
        if (a.k === 'num' && b.k === 'num') {
          if (info.srcReg && insn.src === insn.dst) {
            // x compared with itself: the outcome is known, except for jset.
            if (op === 'jset') return false;
            const eq = op === 'jeq' || op === 'jge' || op === 'jle' || op === 'jsge' || op === 'jsle';
            return [eq ? jump() : fall()];
          }
          // Each side: values of a and b satisfying it, among the verifier's own ones. A number known neither way
          // (no witness, no exact range) leaves both sides in doubt: the path ends.
          const fixed = (n: Num): bigint | undefined => (n.ex && !isConst(n.ex) ? undefined : n.w);
          const fa = fixed(a), fb = fixed(b);
          if ((fa === undefined && !a.ex) || (fb === undefined && !b.ex)) {
            // A number whose bit 63 the verifier knows zero against a constant with bit 63 set: its bounds decide every
            // 64-bit comparison but jset (is_branch_taken: umax <= S64_MAX < c, smin >= 0 > c).
            const top = (n: Num) => !!n.ex && isConst(n.ex) && n.ex.tval >> 63n === 1n;
            // x == y or x != y with x any 64-bit value (every bound at its extreme, no known bit): whatever the
            // verifier knows of y, neither its ranges nor its tnum rule out either outcome (is_scalar_branch_taken), so
            // it walks both sides. On each, x may take y's range or lose a bound equal to a constant y: forgotten, with
            // its copies; y, whose range x's contains, keeps it (its copies forgotten).
            const full = (n: Num) => !!n.ex && n.ex.umin === 0n && n.ex.umax === M64 && n.ex.smin === S64_MIN && n.ex.smax === S64_MAX && n.ex.tmask === M64;
            if ((op === 'jeq' || op === 'jne') && (full(a) || full(b)) && !a.ids.some((i) => b.ids.includes(i))) {
              const both = [fall(), jump()];
              const forget = (n: Num): Num => (full(n) ? { k: 'num', ids: n.ids } : n);
              for (const side of both) narrow(side, [a, b], [forget(a), forget(b)], false);
              return both;
            }
            if (w32 || op === 'jset' || !((nonNeg(a) && top(b)) || (top(a) && nonNeg(b)))) return false;
            decided = true;
            return [cmp(op, false, nonNeg(a) ? 0n : a.ex!.tval, nonNeg(b) ? 0n : b.ex!.tval) ? jump() : fall()];
          }
          const out: St[] = [];
          for (const truth of [false, true]) {
            const holds = (x: bigint, y: bigint) => cmp(op, w32, x, y) === truth;
            let wa = fa, wb = fb;
            // Two constants: the verifier decides the branch exactly as here.
            if (a.ex && isConst(a.ex) && b.ex && isConst(b.ex)) decided = true;
            // The values the registers already have, when they fit this side (what was computed from them stays valid).
            const same = a.w !== undefined && b.w !== undefined && holds(a.w, b.w);
            if (same) [wa, wb] = [a.w, b.w];
            else if (wa !== undefined && wb !== undefined) {
              if (!holds(wa, wb)) continue;
            } else if (wa === undefined && wb !== undefined) {
              wa = member(a.ex!, (v) => holds(v, wb!), [wb]);
            } else if (wa !== undefined && wb === undefined) {
              wb = member(b.ex!, (v) => holds(wa!, v), [wa]);
            } else {
              for (const y of [b.ex!.umin, b.ex!.umax, BigInt.asUintN(64, b.ex!.smin), 0n, 1n]) {
                if (member(b.ex!, (v) => v === y, []) === undefined) continue;
                const x = member(a.ex!, (v) => holds(v, y), [y]);
                if (x !== undefined) {
                  [wa, wb] = [x, y];
                  break;
                }
              }
            }
            // No value found for this side: it is not walked (the verifier may or may not; nothing is claimed).
            if (wa === undefined || wb === undefined) continue;
            const s = truth ? jump() : fall();
            // `x != c` teaches the verifier nothing about a 64-bit x it knows as any value, unless c is one of its
            // bounds (regs_refine_cond_op moves a bound that equals c): x stays unbounded on that side.
            const unequal = (op === 'jne') === truth && (op === 'jne' || op === 'jeq') && !w32 && fb !== undefined && !info.srcReg &&
              a.ex === UNBOUNDED && fb !== 0n && fb !== M64 && fb !== 1n << 63n && fb !== S64_MAX;
            if (unequal) {
              out.push(s);
              continue;
            }
            const keep = (n: Num, w: bigint): Num => (n.ex && isConst(n.ex) ? n : { k: 'num', w, ids: n.ids });
            // A number compared with a constant where the verifier's narrowing is simple (both non-negative, 64-bit):
            // it keeps the range the verifier gives it on this side (reg_set_min_max, then reg_bounds_sync).
            // A 32-bit comparison of a number under 2^32 (under 2^31 for a signed one) with a constant: the verifier
            // narrows its 32-bit bounds, and reg_bounds_sync carries them to the 64-bit ones (the upper half is known
            // zero), as a 64-bit comparison with the constant's 32-bit value would (-mcpu=v3 `if (i > 4)` on a u32).
            // A signed one: its 32-bit signed bounds narrow, and give the unsigned ones when they do not cross 0
            // (__reg32_deduce_bounds); when they do, the 64-bit bounds stay as they were and the signed ones are kept
            // for the next signed comparison (`if (i > 4 || i < 0)` on an int: `if w2 s> 4`, then `if w2 s< 0`).
            const signed32 = (n: Num, o: JmpOp, c: Exact): Num['s32'] | Exact | undefined => {
              const e = n.ex ?? n.s32?.ex;
              if (!e || !isConst(c) || e.umax > 0xffffffffn || isConst(e) || !isSimple(e)) return undefined;
              const k = BigInt.asIntN(32, c.tval);
              const u = `j${o.slice(2)}` as JmpOp;
              const rel = truth ? u : ({ jgt: 'jle', jge: 'jlt', jlt: 'jge', jle: 'jgt' } as Record<string, JmpOp | undefined>)[u];
              if (rel !== 'jgt' && rel !== 'jge' && rel !== 'jlt' && rel !== 'jle') return undefined;
              let lo: bigint, hi: bigint;
              if (n.s32 && !n.ex) [lo, hi] = [n.s32.lo, n.s32.hi];
              else if (e.umax < 0x80000000n) [lo, hi] = [e.umin, e.umax];
              else if (e.umin >= 0x80000000n) [lo, hi] = [e.umin - (1n << 32n), e.umax - (1n << 32n)];
              else {
                // Crossing: the tnum's bounds (__update_reg32_bounds).
                const v = e.tval & 0xffffffffn, m = e.tmask & 0xffffffffn;
                [lo, hi] = [BigInt.asIntN(32, v | (m & 0x80000000n)), BigInt.asIntN(32, v | (m & 0x7fffffffn))];
              }
              if (rel === 'jgt' && k + 1n > lo) lo = k + 1n;
              else if (rel === 'jge' && k > lo) lo = k;
              else if (rel === 'jlt' && k - 1n < hi) hi = k - 1n;
              else if (rel === 'jle' && k < hi) hi = k;
              if (lo > hi) return undefined;
              if (lo < 0n && hi >= 0n) return { ex: e, lo, hi };
              const [ulo, uhi] = lo >= 0n ? [lo, hi] : [lo + (1n << 32n), hi + (1n << 32n)];
              return syncSimple(ulo > e.umin ? ulo : e.umin, uhi < e.umax ? uhi : e.umax, e.tval, e.tmask);
            };
            const refined = (n: Num, o: JmpOp, c: Num, w: bigint): Num => {
              if (w32 && o.startsWith('js') && c.ex && n.ex && n.lo32 && isSignedOnly(n.ex) && isConst(c.ex)) {
                // A signed 32-bit comparison of such a number (Num.lo32): its 32-bit signed bounds narrow; while they
                // still cross 0 its 32-bit unsigned ones stay [0, 0xffffffff], from which __reg_deduce_mixed_bounds
                // takes nothing, so its 64-bit bounds stay as they were (one `if (i > 8)` does not bound `i - 1` as
                // a stack index). Non-negative ones narrow the 64-bit ones (below); negative ones: forgotten.
                const k = BigInt.asIntN(32, c.ex.tval);
                const u = `j${o.slice(2)}`;
                const rel = truth ? u : ({ jgt: 'jle', jge: 'jlt', jlt: 'jge', jle: 'jgt' } as Record<string, string | undefined>)[u];
                let { lo, hi } = n.lo32;
                if (rel === 'jgt' && k + 1n > lo) lo = k + 1n;
                else if (rel === 'jge' && k > lo) lo = k;
                else if (rel === 'jlt' && k - 1n < hi) hi = k - 1n;
                else if (rel === 'jle' && k < hi) hi = k;
                else if (rel !== 'jgt' && rel !== 'jge' && rel !== 'jlt' && rel !== 'jle') return keep(n, w);
                if (lo < 0n && hi >= 0n) return { k: 'num', w, ex: n.ex, ids: n.ids, lo32: { lo, hi } };
                if (lo >= 0n && lo <= hi) {
                  // Narrowed to non-negative 32-bit signed bounds: the 32-bit unsigned ones become those, and
                  // __reg_deduce_mixed_bounds puts them into the 64-bit signed bounds' low halves; when those then
                  // lie inside the 32-bit signed range, the 64-bit bounds become [lo, hi] (the `if w9 s>= 5` side of
                  // a sign-extended char minus 1: var_off=(0x0; 0x7f)). Both negative: not reproduced.
                  const M32 = 0xffffffffn;
                  const a = (n.ex.smin & ~M32) | lo, b = (n.ex.smax & ~M32) | hi;
                  const smin = a > n.ex.smin ? a : n.ex.smin, smax = b < n.ex.smax ? b : n.ex.smax;
                  const ex = smin >= -(1n << 31n) && smax < 1n << 31n ? syncSimple(lo, hi, 0n, M64) : undefined;
                  if (ex) return { k: 'num', w, ex, ids: n.ids };
                }
                return keep(n, w);
              }
              if (w32 && o.startsWith('js') && c.ex) {
                const r = signed32(n, o, c.ex);
                if (r && 'lo' in r) return { k: 'num', w, ids: n.ids, s32: r };
                return r ? { k: 'num', w, ex: r, ids: n.ids } : keep(n, w);
              }
              const k32 = w32 && n.ex && c.ex && isConst(c.ex) && n.ex.umax <= 0xffffffffn ? BigInt.asUintN(32, c.ex.tval) : undefined;
              const ex = !n.ex || !c.ex ? undefined : w32 ? (k32 === undefined ? undefined : refineRange(n.ex, o, k32, truth)) :
                isConst(c.ex) ? refineRange(n.ex, o, c.ex.tval, truth) : refineRangeBy(n.ex, o, c.ex, truth);
              return ex ? { k: 'num', w, ex, ids: n.ids } : keep(n, w);
            };
            if (info.srcReg) narrow(s, [a, b], [refined(a, op, b, wa), refined(b, SWAPPED_OP[op], a, wb)], same);
            else narrow(s, [a], [refined(a, op, b, wa)], same);
            out.push(s);
          }
          return out;
        }
        if (w32) return false;
        // NULL checks of lookup results.
        const nullable = a.k !== 'num' ? a : b.k !== 'num' ? b : undefined;
        const zero = a.k === 'num' ? a : b.k === 'num' ? b : undefined;
        if (nullable && zero && (op === 'jeq' || op === 'jne') && zero.ex && isConst(zero.ex) && zero.ex.tval === 0n) {
          const eqSide = op === 'jeq';
          const out: St[] = [];
          for (const truth of [false, true]) {
            const isNull = truth === eqSide;
            if (nullable.orNull === undefined) {
              if (isNull) continue; // a pointer known not to be NULL: the verifier walks the other side only
            } else if (isNull && nullable.arrayLookup) continue; // the verifier may know the element exists
            const s = truth ? jump() : fall();
            const nid = nullable.orNull;
            if (nid !== undefined) {
              const fix = (x: Reg): Reg => (x.k !== 'num' && x.k !== 'none' && x.orNull === nid ? (isNull ? konst(0n) : { ...x, orNull: undefined }) : x);
              s.regs = s.regs.map(fix);
              for (const [o, v] of s.stack) s.stack.set(o, fix(v));
              s.calls = s.calls.map((c) => ({ ret: c.ret, saved: c.saved.map(fix) }));
            }
            out.push(s);
          }
          return out;
        }
        // A packet pointer against data_end: both sides, unless a mark decides it (then the path ends).
        const pk = (x: Reg) => x.k === 'pkt';
        if ((pk(a) && b.k === 'end') || (a.k === 'end' && pk(b))) {
          const p = (pk(a) ? a : b) as Ptr;
          if (p.mark !== undefined) return false;
          const pi = pk(a) ? insn.dst : insn.src;
          const o: JmpOp = pk(a) ? op : (({ jgt: 'jlt', jlt: 'jgt', jge: 'jle', jle: 'jge' } as Record<string, JmpOp>)[op] ?? op);
          const out: St[] = [];
          for (const truth of [false, true]) {
            const s = truth ? jump() : fall();
            const past = (o === 'jgt' && truth) || (o === 'jle' && !truth) ? -2 : (o === 'jge' && truth) || (o === 'jlt' && !truth) ? -1 : undefined;
            if (past !== undefined) s.regs[pi] = { ...p, mark: past };
            out.push(s);
          }
          return out;
        }
        // The metadata pointer against the packet's start: the verifier follows both sides (is_pkt_ptr_branch_taken
        // decides only against data_end) and narrows the metadata's range, nothing this walk tracks (sfuzz seed 539366914
        // -Oz: the walk ended its paths there, before a stack pointer plus a quotient; run reported no refusal).
        if ((a.k === 'meta' && b.k === 'pkt') || (a.k === 'pkt' && b.k === 'meta')) return [fall(), jump()];
        return false;
      }
      default:
        return false;
    }
    st.pc = pc + 1;
    return [st];
  };

  // The verifier's first path: nothing on it is pruned (no state is complete yet) and every branch it cannot decide
  // pushes the other side, popped only when the path ends. While this walk is certainly on that path (it follows the
  // fall-through side whenever the verifier certainly can), a branch with both sides certain is a push; the 8193rd
  // is refused ("The sequence of 8193 jumps is too complex"), unless the path processed 1,000,000 instructions first.
  let first = true;
  // Jump targets (the verifier's prune points), and the states the first path had at them while everything in them
  // was known to the verifier exactly (constants, pointers without a range of their own, an untouched stack): the same
  // state again is an endless loop to the verifier ("infinite loop detected at insn N").
  const targets = new Set<number>();
  for (const [i, insn] of insns.entries()) {
    const inf = infos[i];
    if (inf?.kind === 'jump') {
      targets.add(i + 1 + insn.off);
      targets.add(i); // a conditional jump is a prune point itself
    } else if (inf?.kind === 'ja') targets.add(i + 1 + (inf.cls === 'jmp32' ? insn.imm : insn.off));
    else if (inf?.kind === 'call') targets.add(i + 1);
  }
  // The states the verifier keeps at prune points of its first path (is_state_visited): one when at least 2 jumps and
  // 8 instructions were processed since the last one kept, and where one is kept already (a loop) only after 20 jumps or
  // 100 instructions. Only a kept state can be found again, so the loop is found where the kernel finds it
  // (`volatile __u64 j; while (i < 10) { j = 1; }`: insn 15, the loop's jump, not its head 13). Plain states by key,
  // others as ''.
  // A set per instruction: a long loop keeps tens of thousands of states at its head, each visit looks its key up.
  const kept = new Map<number, Set<string>>();
  let insnsDone = 0, jmpsDone = 0, keptInsns = 0, keptJmps = 0, keptCount = 0;
  const plainReg = (x: Reg) => x.k === 'none' || (x.k === 'num' ? !!x.ex && isConst(x.ex) : (x.k === 'ctx' || x.k === 'stack' || x.k === 'end' || x.k === 'map') && x.vr === undefined);
  // The stack too, where the verifier's view of it is exact: 8-byte slots holding a constant or a plain pointer (a
  // spilled register to the verifier), no other byte written (`volatile __u64 i = 0; while (i < 10) {}`: "infinite
  // loop detected", measured on 6.18; narrower stores are STACK_ZERO / STACK_MISC bytes or partial spills, not
  // claimed).
  const plainState = (st: St) => st.calls.length === 0 && !stackPassed && st.regs.every(plainReg) &&
    [...st.stack].every(([o, x]) => ((o % 8) + 8) % 8 === 0 && x.k !== 'none' && plainReg(x)) &&
    // Bytes stored off a slot's start are STACK_MISC or STACK_ZERO to the verifier, compared by that type alone (the key
    // compares their witnesses too: stricter). `volatile __u8 i = 0, j; while (i < 10) { j = 1; }`: measured on 6.18.
    [...st.mem].every(([o, b]) => st.stack.has(o - (((o % 8) + 8) % 8)) || (typeof b !== 'string' && (b.misc || b.zero)));
  /** Set by step: the branch just walked is one the verifier decides the same way (two constants). */
  let decided = false;
  let pushes = 0;
  let firstSteps = 0;
  while (stack.length && !found) {
    let st = stack.pop()!;
    for (;;) {
      const info = infos[st.pc];
      if (first) {
        if (++firstSteps > FIRST_PATH_STEPS) {
          // Nothing on the verifier's first path is pruned (no state is complete yet): its 1,000,001st instruction.
          const loc = st.pc;
          return {
            pc: loc, rule: 'too-complex', kernel: `BPF program is too large. Processed ${VERIFIER_INSN_LIMIT + 1} insn`,
            message: `The verifier refuses this program: BPF program is too large. Processed ${VERIFIER_INSN_LIMIT + 1} insn (its first path alone, ` +
              'which it walks instruction by instruction without pruning anything, is longer than 1,000,000 instructions: typically a loop with ' +
              'many iterations; fewer iterations, or bpf_loop / an open-coded iterator, which it verifies once).',
          };
        }
        insnsDone++;
        if (targets.has(st.pc)) {
          const plain = plainState(st);
          const key = plain ? keyOf(st) : '';
          const here = kept.get(st.pc);
          let add = jmpsDone - keptJmps >= 2 && insnsDone - keptInsns >= 8;
          if (here) {
            if (plain && here.has(key)) {
              return {
                pc: st.pc, rule: 'too-complex', kernel: `infinite loop detected at insn ${st.pc}`,
                message: `The verifier refuses this loop: infinite loop detected at insn ${st.pc} (it comes back here with every register as it ` +
                  'was, so nothing can make it leave; make the loop condition depend on something that changes).',
              };
            }
            if (jmpsDone - keptJmps < 20 && insnsDone - keptInsns < 100) add = false;
          }
          if (add && keptCount < FIRST_SEEN_MAX) {
            if (here) here.add(key);
            else kept.set(st.pc, new Set([key]));
            keptCount++;
            keptInsns = insnsDone;
            keptJmps = jmpsDone;
          }
        }
      } else {
        if (++steps > MAX_STEPS) return undefined;
        if (info && (info.kind === 'jump' || info.kind === 'ja')) {
          const key = keyOf(st);
          // A state's key costs in proportion to its length: counted, so that the walk's work stays bounded.
          steps += key.length >> 5;
          if (seen.has(key)) break;
          if (seen.size < MAX_SEEN) seen.add(key);
        }
      }
      const pc = st.pc;
      reached?.add(pc);
      decided = false;
      const next = step(st);
      if (first && info && (info.kind === 'jump' || info.kind === 'ja' || info.kind === 'call' || info.kind === 'exit')) jmpsDone++;
      if (found) return found;
      if (!next || next.length === 0) break;
      if (first && info?.kind === 'jump') {
        if (next.length === 2) {
          if (++pushes > JMP_SEQ_LIMIT && firstSteps <= VERIFIER_INSN_LIMIT) {
            return {
              pc,
              rule: 'too-complex',
              kernel: `The sequence of ${JMP_SEQ_LIMIT + 1} jumps is too complex.`,
              message: `The verifier refuses this program: The sequence of ${JMP_SEQ_LIMIT + 1} jumps is too complex. (its first path meets ` +
                `${JMP_SEQ_LIMIT + 1} branches here whose outcome it cannot know, each one a path left to check later, after ${firstSteps.toLocaleString('en-US')} ` +
                'instructions; typically a loop with many iterations and a branch on data in each: fewer iterations, or bpf_loop / an open-coded iterator).',
            };
          }
        } else if (next[0]!.pc !== pc + 1 && !decided) first = false; // the verifier may have gone on with the fall-through side
      }
      // The verifier goes on with the fall-through side and comes back for the jump's.
      if (next.length === 2) stack.push(next[1]!);
      st = next[0]!;
    }
    // The first path proved nothing and left more pending sides than this walk can afford: it stops there.
    if (first && stack.length > MAX_PENDING) return undefined;
    first = false;
  }
  return found;
}

/** Whether the verifier's tnum of `n` certainly has bit 63 known zero (so its smin is at least 0). */
const nonNeg = (n: Num): boolean => n.nn === true || (!!n.ex && ((n.ex.tmask | n.ex.tval) >> 63n) === 0n);

const isFull = (e: Exact | undefined): boolean =>
  !!e && e.umin === 0n && e.umax === M64 && e.smin === S64_MIN && e.smax === S64_MAX && e.tmask === M64;
/** A range whose signed and unsigned bounds are the same non-negative ones (no sign crossing). */
const isSimple = (e: Exact): boolean => !e.shl32 && e.shlTop === undefined && e.smin >= 0n && e.umin === e.smin && e.umax === e.smax;

/**
 * reg_bounds_sync for a non-negative range [lo, hi] (under 2^63) with tnum (tval; tmask): the tnum narrowed to the
 * range, the range to the tnum, until neither changes (a few rounds at most; undefined when it does not settle, or
 * no value is left).
 */
function syncSimple(lo: bigint, hi: bigint, tval: bigint, tmask: bigint): Exact | undefined {
  if (lo < 0n || hi > S64_MAX) return undefined;
  for (let round = 0; round < 4; round++) {
    if (lo > hi) return undefined;
    const chi = lo ^ hi;
    const bits = chi === 0n ? 0 : chi.toString(2).length;
    const delta = (1n << BigInt(bits)) - 1n;
    const m = tmask & delta;
    const v = (tval | (lo & ~delta)) & ~m & M64;
    const nlo = v > lo ? v : lo;
    const nhi = (v | m) < hi ? v | m : hi;
    if (nlo === lo && nhi === hi && m === tmask && v === tval) return { umin: lo, umax: hi, smin: lo, smax: hi, tmask, tval };
    [lo, hi, tval, tmask] = [nlo, nhi, v, m];
  }
  return undefined;
}

/**
 * What the verifier knows of `a op b` in the few cases this walk reproduces beyond constants (the verifier as built
 * in 6.18: is_safe_to_compute_dst_reg_range, scalar_min_max_*, reg_bounds_sync), or undefined:
 *   - a division or modulo, or a shift by a register that is not a constant: any 64-bit value (the verifier does not
 *     track them; the 32-bit forms too, before any zero-extension);
 *   - a 64-bit add or subtract with an operand that is any value, a multiplication of such by an odd constant: any
 *     value (the sum's bounds overflow, the tnum has no known bit);
 *   - any value shifted left by a constant: low bits known zero, no sign;
 *   - a non-negative range plus or minus a constant, shifted left or right by one, that stays non-negative.
 */
function scalarOp(op: string, w32: boolean, srcReg: boolean, ae: Exact | undefined, be: Exact | undefined): Exact | undefined {
  if (op === 'div' || op === 'mod' || op === 'sdiv' || op === 'smod') return UNBOUNDED;
  if ((op === 'lsh' || op === 'rsh' || op === 'arsh') && srcReg) return be && !isConst(be) ? UNBOUNDED : undefined;
  // A 64-bit sum, difference or xor with any 64-bit value is any value, whatever the other operand (both signed and
  // unsigned bounds overflow, tnum_add/tnum_sub/tnum_xor keep no bit): sfuzz seed 542100024, `r8 -= r6` with r6 a
  // product, `r2 ^= r8`.
  if (!w32 && (op === 'add' || op === 'sub' || op === 'xor') && (isFull(ae) || isFull(be))) return UNBOUNDED;
  // Any 64-bit value times a number that may be odd and is not 0 or 1 only: any value (scalar_min_max_mul's bounds
  // overflow; tnum_mul keeps bit 0 unknown, and so every bit above it).
  const oddFactor = (e: Exact | undefined) => !!e && !isConst(e) && ((e.tval | e.tmask) & 1n) === 1n && e.umax >= 2n;
  if (!w32 && op === 'mul' && ((isFull(ae) && oddFactor(be)) || (isFull(be) && oddFactor(ae)))) return UNBOUNDED;
  if (w32 || !ae || !be) return undefined;
  // x | y with y's tnum knowing no bit (any value, or a sign-extended number known only by signed bounds) and neither
  // with a minimum or a known one: scalar_min_max_or gives the tnum's maximum, no minimum, and no signed bounds (they
  // would cross the sign), its 32-bit half the same: any value (efuzz seed 770086538: `r1 |= r5`, r5 a signed byte,
  // then `& 31` a shift amount by a register).
  const noBit = (e: Exact) => isFull(e) || isSignedOnly(e);
  const noMin = (e: Exact) => noBit(e) || (isSimple(e) && e.umin === 0n && e.tval === 0n);
  if (op === 'or' && ((noBit(ae) && noMin(be)) || (noBit(be) && noMin(ae)))) return UNBOUNDED;
  // x | y, one of them possibly negative (so scalar_min_max_or keeps no signed bound), whose tnums together know every
  // bit but bit 63 and those they both leave unknown, with no known one in bit 63 (`hi << 32 | (lo | 1)`): the
  // unsigned maximum is 2^64 - 1, and reg_bounds_sync takes the signed minimum from the tnum (S64_MIN plus its known
  // ones) and from the 32-bit minimum (__reg_deduce_mixed_bounds): -9223372036854775807 for `| 1`, out of a pointer's
  // bounds. Only where each operand's 32-bit minimum is certain (a number under 2^32, or one whose low half is known).
  const low32Min = (e: Exact): bigint | undefined => (e.umax <= 0xffffffffn ? e.umin : (e.tmask & 0xffffffffn) === 0n ? e.tval & 0xffffffffn : undefined);
  if (op === 'or' && (ae.smin < 0n || be.smin < 0n)) {
    const v = ae.tval | be.tval, m = (ae.tmask | be.tmask) & ~v & M64;
    const la = low32Min(ae), lb = low32Min(be);
    if ((v | m) === M64 && m >> 63n === 1n && v !== 0n && la !== undefined && lb !== undefined) {
      let u32min = la > lb ? la : lb;
      if ((v & 0xffffffffn) > u32min) u32min = v & 0xffffffffn;
      let smin = BigInt.asIntN(64, (1n << 63n) | v);
      const mixed = BigInt.asIntN(64, (BigInt.asUintN(64, smin) & ~0xffffffffn) | u32min);
      if (mixed > smin) smin = mixed;
      let umin = ae.umin > be.umin ? ae.umin : be.umin;
      if (v > umin) umin = v;
      if (((umin & ~0xffffffffn) | u32min) > umin) umin = (umin & ~0xffffffffn) | u32min;
      if (umin <= S64_MAX) return { umin, umax: M64, smin, smax: S64_MAX, tmask: m, tval: v };
    }
  }
  // x | y whose tnums together leave every bit unknown, neither with a minimum: the tnum's maximum is 2^64 - 1, so the
  // signed bounds are lost too (`hi << 32 | lo` of two unknown 32-bit halves, an 8-byte packet value read byte by byte).
  if (op === 'or' && ae.umin === 0n && be.umin === 0n && (ae.tval | be.tval) === 0n && (ae.tmask | be.tmask) === M64) return UNBOUNDED;
  if (op === 'add' || op === 'sub') {
    const wide = wideAddSub(op, ae, be);
    if (wide) return wide;
  }
  // Any value times a constant c: no bounds, the low bits c's trailing zeros known zero.
  const full = isFull(ae) ? be : isFull(be) ? ae : undefined;
  if (op === 'mul' && full && isConst(full) && full.tval !== 0n) return lowZeros(BigInt((full.tval & -full.tval).toString(2).length - 1));
  // x & y with y a non-negative range under 2^32 and x one too or any value (scalar_min_max_and: tnum_and, umin from
  // its known ones, umax the smaller maximum, signed bounds the unsigned ones as they do not cross the sign; the 32-bit
  // bounds are the same ones and add nothing).
  const small = (e: Exact) => isSimple(e) && e.umax <= 0xffffffffn;
  if (op === 'and' && (small(ae) || small(be)) && (small(ae) || isFull(ae)) && (small(be) || isFull(be))) {
    const v = ae.tval & be.tval;
    return syncSimple(v, ae.umax < be.umax ? ae.umax : be.umax, v, (ae.tval | ae.tmask) & (be.tval | be.tmask) & ~v);
  }
  // x + y of two non-negative ranges under 2^32 whose sum stays under 2^32 (scalar_min_max_add and its 32-bit half
  // cannot overflow: the bounds add up; tnum_add), and x * c of one by a constant c >= 2 likewise (scalar_min_max_mul:
  // the products of the bounds; tnum_mul). `(x * 3 + y) % 48` as an index: sums and products before the modulo.
  const small32 = (e: Exact) => isSimple(e) && e.umax <= 0xffffffffn;
  // x | y of two non-negative ranges (scalar_min_max_or: the larger minimum, the tnum's maximum; `b0 | b1 << 8`).
  if (op === 'or' && isSimple(ae) && isSimple(be) && !(isConst(ae) && isConst(be))) {
    const v = ae.tval | be.tval, m = (ae.tmask | be.tmask) & ~v;
    return syncSimple(ae.umin > be.umin ? ae.umin : be.umin, v | m, v, m);
  }
  if (op === 'add' && small32(ae) && small32(be) && !isConst(ae) && !isConst(be) && ae.umax + be.umax <= 0xffffffffn) {
    const [v, m] = tnumAdd(ae.tval, ae.tmask, be.tval, be.tmask);
    return syncSimple(ae.umin + be.umin, ae.umax + be.umax, v, m);
  }
  if (op === 'mul' && small32(ae) && !isConst(ae) && isConst(be) && be.tval >= 2n && ae.umax * be.tval <= 0xffffffffn) {
    const [v, m] = tnumMulConst(ae.tval, ae.tmask, be.tval);
    return syncSimple(ae.umin * be.tval, ae.umax * be.tval, v, m);
  }
  if (!isConst(be)) return undefined;
  const c = be.tval;
  if (op === 'lsh' && isFull(ae) && c > 0n && c < 64n && c !== 32n) return lowZeros(c);
  if (op === 'arsh' && c > 0n && c < 64n && ae.smin < 0n) {
    // x s>> c of a number that may be negative (`(s8)x << 56 s>> 63` for `(s8)x >> 7`): scalar_min_max_arsh shifts the
    // signed bounds and the tnum, drops the unsigned ones, and takes back what the tnum gives (__update_reg_bounds).
    // Kept only when the result's signed bounds still cross 0 (then the sign bit is unknown, the unsigned range and the
    // upper halves of the signed one cross too, and reg_bounds_sync deduces nothing more).
    const v = (BigInt.asIntN(64, ae.tval) >> c) & M64, m = (BigInt.asIntN(64, ae.tmask) >> c) & M64;
    const tsmin = BigInt.asIntN(64, v | (m & (1n << 63n))), tsmax = BigInt.asIntN(64, v | (m & S64_MAX));
    const smin = (ae.smin >> c) > tsmin ? ae.smin >> c : tsmin, smax = (ae.smax >> c) < tsmax ? ae.smax >> c : tsmax;
    if (smin < 0n && smax >= 0n) return { umin: v, umax: v | m, smin, smax, tmask: m, tval: v };
    return undefined;
  }
  // x << c (c not 32) of a number whose signed bounds cross 0 (so its unsigned maximum is past 2^(63 - c)) and whose
  // tnum leaves bit 63 - c unknown: __scalar64_min_max_lsh keeps no bound, so the tnum alone gives them, and the
  // signed minimum is S64_MIN plus its known ones (-mcpu=v2 `int i; if (i > 3) return; p = &a[i];`, i sign-extended
  // then shifted by the element size).
  if (op === 'lsh' && c > 0n && c < 64n && c !== 32n && !ae.shl32 && ae.shlTop === undefined && ae.smin < 0n && ae.smax >= 0n &&
    ((ae.tmask >> (63n - c)) & 1n) === 1n) {
    const v = (ae.tval << c) & M64, m = (ae.tmask << c) & M64;
    if (v >> 63n === 0n) return { umin: v, umax: v | m, smin: BigInt.asIntN(64, v | (1n << 63n)), smax: v | (m & S64_MAX), tmask: m, tval: v };
  }
  if ((op === 'add' || op === 'sub') && isSignedOnly(ae)) {
    // A number known only by signed bounds crossing 0, plus a constant: the signed bounds move (the unsigned ones
    // overflow, the tnum stays unknown); non-negative ones give the rest (reg_bounds_sync).
    const d = BigInt.asIntN(64, op === 'add' ? c : -c & M64);
    const [lo, hi] = [ae.smin + d, ae.smax + d];
    if (lo <= S64_MIN || hi > S64_MAX || hi < 0n) return undefined;
    return lo < 0n ? { ...ae, smin: lo, smax: hi } : syncSimple(lo, hi, 0n, M64);
  }
  if (!isSimple(ae) || isConst(ae)) return undefined;
  if (op === 'add' || op === 'sub') {
    const d = BigInt.asIntN(64, op === 'add' ? c : -c & M64);
    const [v, m] = tnumAddConst(ae.tval, ae.tmask, d & M64);
    // A non-negative range taken below 0 by the constant (`r9 -= 1` of a sign-extended int made by `w9 <<= 24;
    // w9 s>>= 24`, whose 64-bit range is [0, 0xffffffff]): scalar_min_max_add/sub move the signed bounds, which now
    // cross 0, the unsigned ones wrap to [0, 2^64 - 1], and tnum_add leaves no bit known (the borrow runs through every
    // bit): known only by its signed bounds, [-1, 0xfffffffe] (a stack index through it is unbounded).
    if (ae.umin + d < 0n && ae.umax + d >= 0n && m === M64) return { umin: 0n, umax: M64, smin: ae.umin + d, smax: ae.umax + d, tmask: M64, tval: 0n };
    return syncSimple(ae.umin + d, ae.umax + d, v, m);
  }
  if (op === 'lsh' && c > 0n && c < 64n && ae.umax <= 1n << (63n - c)) {
    return syncSimple(ae.umin << c, ae.umax << c, (ae.tval << c) & M64, (ae.tmask << c) & M64);
  }
  if (op === 'rsh' && c > 0n && c < 64n) return syncSimple(ae.umin >> c, ae.umax >> c, ae.tval >> c, ae.tmask >> c);
  return undefined;
}

/** The verifier's operator words (bpf_alu_string). */
const ALU_WORDS: Readonly<Record<string, string>> = {
  add: '+=', sub: '-=', mul: '*=', div: '/=', or: '|=', and: '&=', lsh: '<<=', rsh: '>>=', mod: '%=', xor: '^=', arsh: 's>>=', sdiv: '/=', smod: '%=',
};

/**
 * adjust_ptr_min_max_vals on a pointer and a number, where its words are certain: a 32-bit operation other than a
 * subtraction ("32-bit pointer arithmetic prohibited"), or a 64-bit one other than add/sub ("bitwise operator |= on
 * pointer prohibited", "pointer arithmetic with *= operator prohibited"), on a pointer the verifier lets be moved
 * (context, packet, metadata, stack, a map value checked against NULL) at a constant offset, by a number whose range
 * passes check_reg_sane_offset (sfuzz seed 542100024 -O2 -mcpu=v1: clang wrote `r2 = r10; r2 += -192; r2 |= r4` with
 * r4 = 0; run reported no refusal). Without the suffix `R<dst> `.
 */
function pointerOpRefusal(op: string, w32: boolean, p: Ptr, n: Num): string | undefined {
  if (op === 'neg' || (op === 'sub' && w32) || (op === 'add' || op === 'sub') && !w32) return undefined;
  if (!['ctx', 'pkt', 'meta', 'stack', 'value'].includes(p.k) || p.orNull !== undefined || p.vr !== undefined || Math.abs(p.off) >= 1 << 29) return undefined;
  const e = n.ex;
  if (!e || e.smin <= -MAX_VAR_OFF || (isConst(e) && BigInt.asIntN(64, e.tval) >= MAX_VAR_OFF)) return undefined;
  if (w32) return '32-bit pointer arithmetic prohibited';
  const words = ALU_WORDS[op];
  if (!words) return undefined;
  return op === 'and' || op === 'or' || op === 'xor' ? `bitwise operator ${words} on pointer prohibited` : `pointer arithmetic with ${words} operator prohibited`;
}

/** The verifier knows nothing of this number's low 32 bits (its 32-bit bounds and tnum are full). */
const low32Full = (e: Exact | undefined): boolean =>
  !!e && (e.tmask & 0xffffffffn) === 0xffffffffn && (isFull(e) || (e.umin === 0n && e.umax === 0xffffffffn) || (e.smin === -(1n << 31n) && e.smax === (1n << 31n) - 1n));

/**
 * A 32-bit ALU result the verifier knows to be any 32-bit value, zero-extended ([0, 0xffffffff], tnum 0xffffffff): a
 * copy (w = w) of a number of unknown low half, a sum, difference or xor with one (the 32-bit bounds overflow, the
 * tnum's mask keeps every low bit), a product of one and an odd constant (scalar32_min_max_mul overflows, tnum_mul
 * keeps bit 0 unknown), or of one and a number that may be odd and more than 1; x - x and x ^ x too (the verifier
 * computes them as of two unrelated numbers). zext_32_to_64 then gives the 64-bit range (sfuzz seed 542100060 -Os:
 * x % 11 as `w1 /= 11; w1 *= 11; w2 -= w1`, which the verifier cannot bound, indexes a stack array).
 */
function low32Result(op: string, ae: Exact | undefined, be: Exact | undefined): boolean {
  if (op === 'mov') return low32Full(be);
  if (op === 'add' || op === 'sub' || op === 'xor') return low32Full(ae) || low32Full(be);
  // An odd constant, or a number that may be odd with some bit above bit 0 in its low half unknown (the 32-bit bounds
  // of the product overflow, tnum_mul keeps bit 0 unknown and so every bit above: `(2 >> s) | 1` as a divisor
  // multiplied back, efuzz seed 777086658).
  const odd = (e: Exact | undefined) => !!e && (isConst(e) ? (e.tval & 1n) === 1n : ((e.tval | e.tmask) & 1n) === 1n && (e.tmask & 0xfffffffen) !== 0n);
  return op === 'mul' && ((low32Full(ae) && odd(be)) || (low32Full(be) && odd(ae)));
}

/** Any 64-bit value but the low `z` bits known zero (no sign known). */
function lowZeros(z: bigint): Exact {
  if (z === 0n) return UNBOUNDED;
  const m = (M64 << z) & M64;
  return { umin: 0n, umax: m, smin: S64_MIN, smax: S64_MAX & m, tmask: m, tval: 0n };
}

/**
 * a + b or a - b (64-bit) when the verifier's result certainly has no lower bound (smin S64_MIN after reg_bounds_sync):
 * scalar_min_max_add/sub with their overflow rules, tnum_add/tnum_sub, then the sync's first round (which already
 * settles it: an unsigned range crossing the sign bit and a tnum with the sign bit unknown and no known one bit leave
 * nothing to deduce). Undefined otherwise, and where the verifiers of different versions differ (every unsigned
 * bound overflowing).
 */
function wideAddSub(op: 'add' | 'sub', a: Exact, b: Exact): Exact | undefined {
  const add = op === 'add';
  let smin = add ? a.smin + b.smin : a.smin - b.smax;
  let smax = add ? a.smax + b.smax : a.smax - b.smin;
  if (smin < S64_MIN || smin > S64_MAX || smax < S64_MIN || smax > S64_MAX) [smin, smax] = [S64_MIN, S64_MAX];
  let umin = add ? a.umin + b.umin : a.umin - b.umax;
  let umax = add ? a.umax + b.umax : a.umax - b.umin;
  const lowOut = umin < 0n || umin > M64, highOut = umax < 0n || umax > M64;
  if (lowOut && highOut) return undefined;
  if (lowOut || highOut) [umin, umax] = [0n, M64];
  let tval: bigint, tmask: bigint;
  if (add) {
    const sm = (a.tmask + b.tmask) & M64, sv = (a.tval + b.tval) & M64;
    const mu = (((sm + sv) & M64) ^ sv) | a.tmask | b.tmask;
    [tval, tmask] = [sv & ~mu & M64, mu];
  } else {
    const dv = (a.tval - b.tval) & M64;
    const mu = (((dv + a.tmask) & M64) ^ ((dv - b.tmask) & M64)) | a.tmask | b.tmask;
    [tval, tmask] = [dv & ~mu & M64, mu];
  }
  // The sync: bounds from the tnum, then signed from unsigned where the unsigned range does not cross the sign bit.
  const tmin = BigInt.asIntN(64, tval | (tmask & (1n << 63n)));
  if (tmin > smin) smin = tmin;
  if (BigInt.asIntN(64, umin) <= BigInt.asIntN(64, umax) && BigInt.asIntN(64, umin) > smin) smin = BigInt.asIntN(64, umin);
  const tmax = tval | (tmask & S64_MAX);
  if (tmax < smax) smax = tmax;
  if ((tval | tmask) < umax) umax = tval | tmask;
  if (tval > umin) umin = tval;
  // A minimum above S64_MIN (the tnum's: `255 - x / 40 * 40` is at least 0x8000000000000007): kept when both ranges
  // cross the sign, each overlapping both ends of the other (__reg64_deduce_bounds then deduces nothing).
  if (smin !== S64_MIN && !(smin < 0n && smax >= 0n && umin <= S64_MAX && umax > S64_MAX && umax >= BigInt.asUintN(64, smin) && smax >= umin)) return undefined;
  if (umin === 0n && umax === M64 && smax === S64_MAX && tmask === M64) return UNBOUNDED;
  // A tnum of no known bit with narrower bounds would be read as any value by the rules above: not claimed.
  return tmask === M64 ? undefined : { umin, umax, smin, smax, tmask, tval };
}

const SWAPPED_OP: Record<JmpOp, JmpOp> = {
  jeq: 'jeq', jne: 'jne', jgt: 'jlt', jge: 'jle', jlt: 'jgt', jle: 'jge', jsgt: 'jslt', jsge: 'jsle', jslt: 'jsgt', jsle: 'jsge', jset: 'jset',
};

/**
 * The verifier's range of x after `x op c` came out `truth` (64-bit), for the simple case only: x's range non-negative
 * (its signed and unsigned bounds the same) and c in [0, 2^63). Undefined when not that case or no value is left.
 */
function refineRange(e: Exact, op: JmpOp, c: bigint, truth: boolean): Exact | undefined {
  if (op.startsWith('js') && isSignedOnly(e)) return refineSigned(e, op, BigInt.asIntN(64, c), truth);
  if (isConst(e) || !isSimple(e) || c < 0n || c > S64_MAX) return undefined;
  let lo = e.umin, hi = e.umax;
  const u = op.startsWith('js') ? (`j${op.slice(2)}` as JmpOp) : op;
  // x > c, x >= c, x < c, x <= c on this side.
  const rel = truth ? u : ({ jgt: 'jle', jge: 'jlt', jlt: 'jge', jle: 'jgt' } as Record<string, JmpOp | undefined>)[u];
  if (rel === 'jgt') lo = c + 1n > lo ? c + 1n : lo;
  else if (rel === 'jge') lo = c > lo ? c : lo;
  else if (rel === 'jlt') hi = c - 1n < hi ? c - 1n : hi;
  else if (rel === 'jle') hi = c < hi ? c : hi;
  else return undefined;
  // __reg_bound_offset: the known bits of the new range; then __update_reg_bounds from them.
  return syncSimple(lo, hi, e.tval, e.tmask);
}

/** A number the verifier knows only by signed bounds that cross 0 (no unsigned bound, no known bit): a sign-extended
 * narrow load, `(s64)(int)x` as `x << 32 s>> 32`. */
const isSignedOnly = (e: Exact): boolean =>
  !e.shl32 && e.shlTop === undefined && e.umin === 0n && e.umax === M64 && e.tmask === M64 && e.tval === 0n && e.smin < 0n && e.smax >= 0n && e.smin > S64_MIN;

/**
 * A signed comparison of such a number with a constant (regs_refine_cond_op moves a signed bound, reg_bounds_sync):
 * bounds that still cross 0 leave the rest as it was; non-negative ones become the unsigned ones too, and the tnum
 * theirs. Undefined when both are negative (not reproduced) or no value is left.
 */
function refineSigned(e: Exact, op: JmpOp, c: bigint, truth: boolean): Exact | undefined {
  const u = `j${op.slice(2)}`;
  const rel = truth ? u : ({ jgt: 'jle', jge: 'jlt', jlt: 'jge', jle: 'jgt' } as Record<string, string | undefined>)[u];
  let lo = e.smin, hi = e.smax;
  if (rel === 'jgt') lo = c + 1n > lo ? c + 1n : lo;
  else if (rel === 'jge') lo = c > lo ? c : lo;
  else if (rel === 'jlt') hi = c - 1n < hi ? c - 1n : hi;
  else if (rel === 'jle') hi = c < hi ? c : hi;
  else return undefined;
  if (lo > hi || hi < 0n) return undefined;
  if (lo < 0n) return { ...e, smin: lo, smax: hi };
  return syncSimple(lo, hi, 0n, M64);
}

/**
 * The verifier's range of x after `x op y` came out `truth` (64-bit), y a number it knows as a range, not a constant
 * (regs_refine_cond_op: x's bound moved to y's on that side, y's own range from before the branch; then
 * reg_bounds_sync), for the simple case only: x's range non-negative, the relation an ordering (not ==, !=, &). An
 * ordering signed or unsigned moves a non-negative x's bounds alike (its signed and unsigned bounds are the same ones).
 * sfuzz seed 541100005 -Os: `if (s8 v s>= u8 w)` leaves w in [0, 127] on the jump side, [0, 255] on the other.
 */
function refineRangeBy(e: Exact, op: JmpOp, y: Exact, truth: boolean): Exact | undefined {
  // Under 2^32: the 32-bit bounds are the same ones (reg_bounds_sync keeps them so), nothing narrows x further.
  if (isConst(e) || !isSimple(e) || e.umax > 0xffffffffn) return undefined;
  const signed = op.startsWith('js');
  const u = signed ? (`j${op.slice(2)}` as JmpOp) : op;
  const rel = truth ? u : ({ jgt: 'jle', jge: 'jlt', jlt: 'jge', jle: 'jgt' } as Record<string, JmpOp | undefined>)[u];
  if (!rel) return undefined;
  const ymin = signed ? y.smin : y.umin;
  const ymax = signed ? y.smax : y.umax;
  let lo = e.umin, hi = e.umax;
  // The kernel's u64/s64 arithmetic on y's bound: a bound at the end of its range would wrap (then the side is one the
  // verifier decides by itself): not claimed.
  if (rel === 'jgt') {
    if (ymin === (signed ? S64_MAX : M64)) return undefined;
    if (ymin + 1n > lo) lo = ymin + 1n;
  } else if (rel === 'jge') {
    if (ymin > lo) lo = ymin;
  } else if (rel === 'jlt') {
    if (ymax === (signed ? S64_MIN : 0n)) return undefined;
    if (ymax - 1n < hi) hi = ymax - 1n;
  } else if (ymax < hi) hi = ymax;
  if (lo === e.umin && hi === e.umax) return e;
  return syncSimple(lo, hi, e.tval, e.tmask);
}

/** The kernel's %#llx: 0x0 for zero too. */
const hex = (v: bigint): string => `0x${(v & M64).toString(16)}`;

/** tnum_add of a tnum and a constant. */
function tnumAddConst(value: bigint, mask: bigint, c: bigint): [bigint, bigint] {
  const sv = (value + c) & M64;
  const sigma = (mask + sv) & M64;
  const chi = sigma ^ sv;
  const mu = chi | mask;
  return [sv & ~mu & M64, mu];
}

/** tnum_add. */
function tnumAdd(av: bigint, am: bigint, bv: bigint, bm: bigint): [bigint, bigint] {
  const sm = (am + bm) & M64;
  const sv = (av + bv) & M64;
  const chi = ((sm + sv) & M64) ^ sv;
  const mu = chi | am | bm;
  return [sv & ~mu & M64, mu];
}

/** tnum_sub. */
function tnumSub(av: bigint, am: bigint, bv: bigint, bm: bigint): [bigint, bigint] {
  const dv = (av - bv) & M64;
  const chi = ((dv + am) & M64) ^ ((dv - bm) & M64);
  const mu = chi | am | bm;
  return [dv & ~mu & M64, mu];
}

/** tnum_mul of a tnum and a constant (the kernel's loop over a's bits; b's mask is 0). */
function tnumMulConst(value: bigint, mask: bigint, c: bigint): [bigint, bigint] {
  let [mv, mm] = [0n, 0n];
  let [av, am, b] = [value, mask, c];
  while (av || am) {
    // A certain 1 adds b's mask (none); an uncertain bit adds b as unknown bits.
    if (!(av & 1n) && am & 1n) [mv, mm] = tnumAdd(mv, mm, 0n, b);
    av >>= 1n;
    am >>= 1n;
    b = (b << 1n) & M64;
  }
  return tnumAdd((value * c) & M64, 0n, mv, mm);
}

function regKey(r: Reg): string {
  if (r.k === 'none') return '-';
  if (r.k === 'num') {
    const e = r.ex;
    return `n${r.w ?? '?'}${e ? `[${e.umin}:${e.umax}:${e.smin}:${e.smax}:${e.tmask}]` : ''}${r.nn ? '+' : ''}${r.lowUnbounded ? '!' : ''}${r.highUnbounded ? '^' : ''}${r.spill ? `s${r.spill}` : ''}${r.lo32 ? `l${r.lo32.lo}:${r.lo32.hi}` : ''}#${r.ids.join('.')}`;
  }
  return `${r.k}${r.off}${r.map ?? ''}${r.orNull ?? ''}${r.vr === true ? 'v' : r.vr ? `v${r.vr.umax}:${r.vr.smin}` : ''}${r.vhi ? 'h' : ''}${r.mark ?? ''}${r.fn === undefined ? '' : `f${r.fn}`}`;
}
