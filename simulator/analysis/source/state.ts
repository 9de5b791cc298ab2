// Abstract values and the abstract state the source tier carries along each path of an XDP program. The domain is
// deliberately small: finite sets of constants (to follow return values), packet pointers as (root, byte offset)
// with the bytes proven inside data_end per root (what the verifier calls the packet range), data_end itself, the
// context pointer, pointers to read-only memory, and map values from bpf_map_lookup_elem with whether they may still
// be NULL. Everything else is `top`.
import type { Finding, Range } from '../findings.ts';
import type { TypeRef } from './unit.ts';

export interface Origin {
  file: string;
  range: Range;
}

/** A possible value of a scalar, with where it was written and under which name. */
export interface ConstVal {
  v: number;
  /** The constant's name as it reached the expression (after macro expansion): `TC_ACT_SHOT`, `XDP_PASS`. */
  name?: string;
  /** The user's macro that expanded to `name`. */
  via?: string;
  origin?: Origin;
  /** How the value came about when not written as a constant ("bpf_xdp_adjust_head() returns 0 or -EINVAL"). */
  note?: string;
  /** The function it was returned from, when it came out of a call. */
  callee?: string;
  /**
   * The frame had been written / a redirect target set on the path that produced this value (stamped when it is
   * stored into a local or returned by a callee), so a join of paths does not lose what the value's own path did.
   */
  wrote?: boolean;
  redirected?: boolean;
  /** The Ethernet addresses may have been written on the path that produced this value (State.macWrote). */
  macWrote?: boolean;
  /** No value at all: a callee ran to its closing brace without a return (`v` is NaN). */
  undef?: boolean;
  /**
   * The IPv4 header was changed with no checksum update on the path that produced this value, up to where it was
   * stored (stamps are cleared where that path updates the checksum): judged at the return even when another path
   * joined in with a drop.
   */
  csumStale?: State['csumPending'];
  /**
   * The same for the TCP/UDP checksum: a change of a TCP/UDP header (or the addresses) with no update of its checksum
   * on the path that produced this value, up to where it was stored (cleared where that path updates it).
   */
  l4Stale?: State['l4Pending'];
  /** The same for the ICMP checksum: a change of an ICMP header with no update of its sum on the path that produced this value. */
  icmpStale?: State['icmpPending'];
  /**
   * Out of a callee the tier followed: the open changes of the caller's state right after the call (null: none). The
   * callee stamped the value by its own returning path, so only changes the caller makes after the call stamp it
   * again (the join of the callee's paths is not the value's path: a `return XDP_ABORTED` that left a change open
   * beside the `return XDP_TX` after the update).
   */
  csumAt?: State['csumPending'] | null;
  l4At?: State['l4Pending'] | null;
  /**
   * With csumAt: the tier's count of header stores when the call returned. Stores counted later that the caller's
   * state holds are of the value's own path after the call, or of another path met since (the other side of a `?:`
   * whose callee left a change open); only the latter are in csumAt, so neither kind is taken for the other.
   */
  seqAt?: number;
  /** Returned by a callee on a path that did not move the packet, where its other returns did (State.unstale). */
  keep?: Unstale;
  /** Returned by a callee the tier followed: the checksum state of that return, and the caller's right after the call. */
  exit?: CallExit;
  /**
   * Not one constant but any value above an action: a value the tier cannot follow (a map field, data read from the
   * packet), returned under a condition that proves it larger than 4 (`if (e->count > 250) return e->count;`); `v`
   * is the smallest such value and `note` says why.
   */
  bound?: boolean;
}

/**
 * A callee moved the packet (bpf_xdp_adjust_head/meta) only on returns whose values its other returns never give
 * (`return 2` after the move, `return 0` without): the packet pointers from before the call are stale after it,
 * except on a branch that narrows the result to the values stamped `keep` with this, where they are restored.
 */
export interface Unstale {
  slots: Map<string, Slot>;
  gen: number;
  invalidated?: StaleInfo;
  proven: Map<string, number>;
  /** The values the callee returns on the paths that moved the packet. */
  moved?: Set<number>;
}

export interface StaleInfo {
  helper: string;
  /** The function the call is in, when it is not the program itself. */
  within?: string;
  file: string;
  line: number;
  /** Where a reload would go (end of the statement holding the call), when the tier can offer one. */
  fix?: { file: string; line: number; column: number; indent: string; dataVar?: string; endVar?: string; ctxVar?: string };
}

/** Where a map value pointer was looked up, for the message and the quick fix of map-value-null. */
export interface LookupInfo {
  helper: string;
  map?: string;
  file: string;
  line: number;
  /** The map is an ARRAY or PERCPU_ARRAY (whose lookups the verifier can prove non-NULL for a key of 0). */
  array?: boolean;
  /** The function of the program that returned the value (NULL included), when it came out of a call. */
  via?: string;
  /** The local the result was stored in and where an `if (!v)` check would go, when the tier can offer one. */
  fix?: { variable: string; returns: string; line: number; column: number; text: string };
}

export type Val =
  /**
   * `field`: read from this IPv4 header field (`saddr`), so storing it into another field is a swap the checksum
   * allows. `at`: where that header is (`root:offset`), when the offset is known; `l4`: the field is of that header.
   */
  /**
   * `ref`: the address of a local of a caller holding a packet pointer (`&data` passed to a helper that moves the
   * packet and reloads it through the address, `*data = (void *)(long)ctx->data;`); see Analyzer.refCells.
   */
  /** `mapRead`: read from a map value (`*cnt`, `rec->packets`): the map, and the field (`*` for the whole value). */
  /** `uninitScalar`: an integer local declared without a value and not set since (`int action;`). */
  /** `fromLen`: computed from the packet's length (`data_end - data`, `ctx->data_end - ctx->data`, `len - 4`). */
  | { k: 'top'; taint?: boolean; field?: string; at?: string; l4?: 'tcp' | 'udp'; uninit?: boolean; uninitScalar?: Origin; stack?: boolean; ref?: string; mapRead?: MapRead; fromLen?: boolean; addr?: string }
  /** `field`/`at`/`l4`: the unknown part (`more`) is that header field's value (a parser's `return iph->protocol;`). */
  /** `mapRead`: the unknown part (`more`) is that value read from a map (`cond ? e->count : XDP_DROP`). */
  /** `maybeUninit`: set on only some of the paths joined here; on the others it is an integer local never set (its declaration). */
  | { k: 'consts'; vals: ConstVal[]; more?: boolean; field?: string; at?: string; l4?: 'tcp' | 'udp'; mapRead?: MapRead; maybeUninit?: Origin }
  | { k: 'ctx' }
  /** `loose`: set on only some of the paths joined here (declared without a value on the others): its bounds are not judged. */
  /**
   * `fromEnd`: the unknown offset was computed from the packet's length (`data + len - 4`, a trailer at the frame's
   * end), so it lies behind the Ethernet header on the frames the program works on.
   * `base`: where the root starts in the frame when it is a join of two roots (`{data#0|data#1}`, the packet reloaded
   * on one path) whose pointers both had a known place: the lower of the two.
   * `atLeast`: with an unknown offset, a place it is known to lie at or past (`p + i` with `p` at 42 and `i` unsigned).
   */
  | { k: 'pkt'; root: string; off: number | null; region: 'data' | 'meta'; stale?: StaleInfo; loose?: boolean; fromEnd?: boolean; base?: number; atLeast?: number }
  | { k: 'end'; stale?: StaleInfo }
  | { k: 'len'; root: string; off: number | null }
  | { k: 'rodata'; name: string }
  /**
   * A pointer into a map value. `id` names the lookup it came from: copies, casts and pointers derived from it
   * (`&v->field`) share it, so one NULL check clears them all, as the verifier does for registers with the same id
   * (mark_ptr_or_null_regs). `nullable`: not yet checked for NULL on this path. `ro`: why the value is read-only
   * (a BPF_F_RDONLY_PROG map), when it is.
   */
  | { k: 'mapval'; id: string; nullable: boolean; lookup?: LookupInfo; ro?: string; nullIf?: NullIf };

/**
 * A map value that is NULL only on the paths where a read-only global (a `const volatile` setting in .rodata, whose
 * value the verifier knows at load) has the truthiness `truthy`: `p = NULL; if (ENABLED) { p = lookup; if (!p)
 * return; }`. A use under a test of the same global that proves the other truthiness is no NULL dereference; the
 * verifier prunes the branch that would be.
 */
export interface NullIf {
  global: string;
  truthy: boolean;
}

/** A scalar read out of a map value: which map (or lookup, when the map is not known) and field. */
export interface MapRead {
  map: string;
  field: string;
  /** The text read (`*cnt`, `e->packets`), for the message. */
  text: string;
}

export const TOP: Val = { k: 'top' };
export const TAINTED: Val = { k: 'top', taint: true };
/**
 * A pointer local declared without a value: no path may use it before setting it, so where paths join, the value of
 * the path that set it stands (`struct iphdr *iph;` set only in the IPv4 branch and used only there, after a join).
 */
export const UNINIT: Val = { k: 'top', uninit: true };

/** A value with the static type of the expression that produced it, when known. */
export interface TV {
  v: Val;
  t?: TypeRef;
}

export interface Slot {
  v: Val;
  t?: TypeRef;
}

/** A store into an input of the TCP/UDP checksum (State.l4Pending). */
/** `seq`: the order in which the tier made the store (ConstVal.seqAt). */
/** `under`: the protocol number the branches taken proved for the IP header at `at` when the store was made. */
/** `payload`: a store past the TCP/UDP header (`field`: the member stored, or '' when none is named). */
export type L4Change = { field: string; from?: string; node: unknown; file: string; site?: unknown; hdr: string; at?: string; away?: unknown; zero?: boolean; seq?: number; under?: ProtoUnder; payload?: boolean };

/** A store made where the branches proved `protocol` (or `nexthdr`) of the IP header at `at` equal to `num`. */
export type ProtoUnder = { num: number; at: string };

export interface State {
  vars: Map<string, Slot>;
  /** Bytes from each packet root proven to lie before data_end (Infinity: proven for a variable offset). */
  proven: Map<string, number>;
  /**
   * Per packet root, the missing bounds check this path is past (its finding, and the bytes really proven there):
   * until a compare of that root with data_end, a later access past them is that same mistake. Replaced, never
   * changed in place.
   */
  missed?: ReadonlyMap<string, { finding: Finding; real: number }>;
  /** Number of packet-pointer invalidations so far on this path; packet roots are named by it. */
  gen: number;
  invalidated?: StaleInfo;
  /** The frame was written on every path to here. */
  wrote: boolean;
  /**
   * The Ethernet addresses (bytes 0..11 of the frame) may have been written on every path to here: a store there or
   * at an offset the tier does not know, a call that may write the frame, a move of the packet's start.
   */
  macWrote?: boolean;
  /** A redirect target was set on every path to here. */
  redirected: boolean;
  /** A bpf_redirect_map call whose result was thrown away, on some path to here. */
  pendingRedirect?: { file: string; start: number; end: number; text: string; line: number };
  /**
   * An IPv4 header field stored on some path to here with no update of the header checksum after it: where (the
   * store, its file and the macro use it came from, the call in the program's file that led there when it is in
   * another file's function) and which field. Cleared by a store into (or the address of)
   * `check`, and by a call the tier cannot see into.
   */
  csumPending?: { writes: { field: string; from?: string; node: unknown; file: string; site?: unknown; at?: string; away?: unknown; may?: boolean; seq?: number }[] };
  /** The IPv4 header checksum was updated somewhere on every path to here (before or after the change). */
  csumUpdated?: boolean;
  /**
   * The IPv4 checksum was last recomputed from scratch on every path to here (`check = 0`, then the sum stored): it
   * covers the header as it was then, so a change after it is open again. An update with no zeroing before it may be
   * an incremental one computed ahead of its change, and covers a later change as before.
   */
  csumRecomputed?: boolean;
  /** `check` was set to 0 on every path to here and not stored since: a recompute under way. */
  csumZeroed?: boolean;
  /**
   * An IPv4 header change on some path to here that this same path did not cover with a checksum update (before or
   * after it): what values stored here are stamped with (ConstVal.csumStale). Unlike csumPending/csumUpdated, which
   * are joined separately, it keeps a path's update with that path's change.
   */
  csumOpen?: State['csumPending'];
  /**
   * Stores into the L4 checksum's inputs (any TCP/UDP header field: ports, sequence numbers, flags, length; the
   * IPv4/IPv6 addresses; `check = 0` of TCP, which has no "no checksum" value: `zero`) on some path to here with no
   * update of the TCP/UDP checksum after them; `proto` is the L4 header stored into (addresses alone are not judged).
   */
  l4Pending?: {
    proto?: 'tcp' | 'udp';
    writes: L4Change[];
    /**
     * Other paths' open changes met at a join (`if (tcp) tcp->dest = ...; else if (udp) udp->dest = ...;` with no
     * update on either): each is its own mistake, reported beside the first (joinL4).
     */
    also?: { proto: 'tcp' | 'udp'; writes: L4Change[] }[];
  };
  /**
   * The TCP/UDP checksum was stored, passed by address, or possibly updated (an unseen call, a store through an
   * untyped pointer that may reach it, bpf_xdp_store_bytes) on every path here.
   */
  l4Updated?: boolean;
  /**
   * Stores into an ICMP header (type, code, id, ...; `checksum = 0` too: ICMP has no "no checksum") on some path to
   * here with no store of the computed ICMP checksum after them, and whether that checksum was updated (stored other
   * than 0, passed by address, or possibly by a call the tier cannot see) on every path here.
   */
  /** `sum`: the checksum field's name in the header type written through (`checksum`, `icmp6_cksum`, `cksum`). */
  /** `payload`: a store past the ICMP header (its data), which the ICMP checksum covers too. */
  icmpPending?: { writes: { field: string; node: unknown; file: string; site?: unknown; zero?: boolean; sum?: string; under?: ProtoUnder; payload?: boolean }[] };
  icmpUpdated?: boolean;
  /**
   * What the branches taken on this path prove about the L4 protocol of the IP header at `at` (`ip->protocol ==
   * IPPROTO_TCP`, a `case IPPROTO_UDP:` of a switch on it): `tcp`, `udp`, `tcp/udp` (one of the two, paths joined),
   * `other` (ICMP, IPIP, ...), or `mixed` (two headers' protocols compared, e.g. an outer and an inner one: nothing
   * is concluded). Cleared when the packet moves (adjust_head) or the protocol field is stored.
   */
  l4Proof?: L4Proof;
  /**
   * Stores into the fields of a local copy of an IP or TCP/UDP header (`struct iphdr ip;` filled by
   * bpf_xdp_load_bytes), per local, in order: replayed as changes of the packet's header when
   * bpf_xdp_store_bytes copies that local back (a store into the copy's `check` is then an update). Replaced, never
   * mutated, on a store.
   */
  copies?: ReadonlyMap<string, readonly CopyWrite[]>;
  unstale?: Unstale;
  /**
   * The truthiness of read-only scalar globals (`const volatile` settings in .rodata) that branches on this path
   * tested: the verifier knows their values, so a second test of one agrees with the first.
   */
  facts?: ReadonlyMap<string, boolean>;
  /**
   * No execution gets here: a branch whose condition no value the tier knows a local can hold satisfies
   * (`if (proto == IPPROTO_TCP) ... else if (proto == IPPROTO_UDP) ... else return;` in a helper called with
   * IPPROTO_UDP). Its statements are not followed, and joins leave it out.
   */
  unreachable?: boolean;
}

export interface CopyWrite {
  /** The pointer type the header's fields are judged through (`struct iphdr *`). */
  t: TypeRef;
  field: string;
  node: unknown;
  value?: Val;
}

export interface L4Proof {
  proto: 'tcp' | 'udp' | 'tcp/udp' | 'other' | 'mixed';
  at?: string;
  /** The protocol number itself, when one is proven. */
  num?: number;
  /** Proven from an IPv4 header's `protocol` (at names that header's place). */
  v4?: boolean;
}

/** The proof two paths share: the same protocol, TCP on one and UDP on the other (`tcp/udp`), else none. */
export function joinL4Proof(a: L4Proof | undefined, b: L4Proof | undefined): L4Proof | undefined {
  if (!a || !b) return undefined;
  const at = a.at === b.at ? a.at : undefined;
  if (a.proto === b.proto) return { proto: a.proto, at, ...(a.num === b.num && a.num !== undefined ? { num: a.num } : {}), ...(a.v4 && b.v4 ? { v4: true } : {}) };
  const l4 = new Set(['tcp', 'udp', 'tcp/udp']);
  if (l4.has(a.proto) && l4.has(b.proto)) return { proto: 'tcp/udp', at };
  return undefined;
}

export const MAX_CONSTS = 16;

export function initialState(): State {
  return { vars: new Map(), proven: new Map(), gen: 0, wrote: false, redirected: false };
}

export function clone(s: State): State {
  return { ...s, vars: new Map(s.vars), proven: new Map(s.proven) };
}

/** The checksum state of a path: what a caller's test of a callee's result narrows to the returns giving it. */
export type SumsState = Pick<State, 'csumPending' | 'csumUpdated' | 'csumRecomputed' | 'csumZeroed' | 'csumOpen' | 'l4Pending' | 'l4Updated' | 'icmpPending' | 'icmpUpdated'>;
export interface CallExit {
  readonly sums: SumsState;
  readonly after: SumsState;
}
const SUMS_KEYS = ['csumPending', 'csumUpdated', 'csumRecomputed', 'csumZeroed', 'csumOpen', 'l4Pending', 'l4Updated', 'icmpPending', 'icmpUpdated'] as const;
export function sumsOf(st: State): SumsState {
  return { csumPending: st.csumPending, csumUpdated: st.csumUpdated, csumRecomputed: st.csumRecomputed, csumZeroed: st.csumZeroed, csumOpen: st.csumOpen, l4Pending: st.l4Pending, l4Updated: st.l4Updated, icmpPending: st.icmpPending, icmpUpdated: st.icmpUpdated };
}
export function sameSums(st: State, s: SumsState): boolean {
  return SUMS_KEYS.every((k) => st[k] === s[k]);
}

export function assignState(dst: State, src: State): void {
  dst.vars = src.vars;
  dst.proven = src.proven;
  dst.missed = src.missed;
  dst.gen = src.gen;
  dst.invalidated = src.invalidated;
  dst.wrote = src.wrote;
  dst.icmpPending = src.icmpPending;
  dst.icmpUpdated = src.icmpUpdated;
  dst.macWrote = src.macWrote;
  dst.redirected = src.redirected;
  dst.pendingRedirect = src.pendingRedirect;
  dst.csumPending = src.csumPending;
  dst.csumUpdated = src.csumUpdated;
  dst.csumRecomputed = src.csumRecomputed;
  dst.csumZeroed = src.csumZeroed;
  dst.csumOpen = src.csumOpen;
  dst.l4Pending = src.l4Pending;
  dst.l4Updated = src.l4Updated;
  dst.l4Proof = src.l4Proof;
  dst.copies = src.copies;
  dst.unstale = src.unstale;
  dst.facts = src.facts;
}

export function joinStates(states: (State | null | undefined)[]): State | null {
  const any = states.filter((s): s is State => !!s);
  if (any.length === 0) return null;
  const live = any.filter((s) => !s.unreachable);
  if (live.length === 0) return clone(any[0]);
  if (live.length === 1) return clone(live[0]);
  let acc = join2(live[0], live[1]);
  for (let i = 2; i < live.length; i++) acc = join2(acc, live[i]);
  return acc;
}

function join2(a: State, b: State): State {
  const vars = new Map<string, Slot>();
  for (const [name, sa] of a.vars) {
    const sb = b.vars.get(name);
    vars.set(name, sb ? { v: nullIfFact(joinVals(sa.v, sb.v), sa.v, sb.v, a.facts, b.facts), t: sa.t ?? sb.t } : sa);
  }
  for (const [name, sb] of b.vars) if (!a.vars.has(name)) vars.set(name, sb);
  const proven = new Map<string, number>();
  for (const [root, n] of a.proven) {
    const m = b.proven.get(root);
    if (m !== undefined) proven.set(root, Math.min(n, m));
  }
  joinedRootProofs(a, b, vars, proven);
  return {
    vars,
    proven,
    // A missing check met on either path: an access after the join past it is that same mistake on that path.
    missed: a.missed && b.missed ? new Map([...b.missed, ...a.missed]) : a.missed ?? b.missed,
    gen: Math.max(a.gen, b.gen),
    invalidated: a.gen >= b.gen ? a.invalidated ?? b.invalidated : b.invalidated ?? a.invalidated,
    wrote: a.wrote && b.wrote,
    macWrote: (a.macWrote && b.macWrote) || undefined,
    redirected: a.redirected && b.redirected,
    pendingRedirect: a.pendingRedirect ?? b.pendingRedirect,
    csumPending: joinCsumPending(a.csumPending, b.csumPending),
    csumUpdated: (a.csumUpdated && b.csumUpdated) || undefined,
    // A change after the join is open again on both paths when one recomputed the sum from scratch and the other set
    // `check = 0` without storing a sum yet (a `return XDP_ABORTED` on a failed bpf_csum_diff between the two).
    csumRecomputed: (a.csumRecomputed && b.csumRecomputed) || (reopens(a) && reopens(b) && !(a.csumZeroed && b.csumZeroed)) || undefined,
    csumZeroed: (a.csumZeroed && b.csumZeroed) || undefined,
    csumOpen: joinCsumPending(a.csumOpen, b.csumOpen),
    ...joinL4(a, b),
    ...joinIcmp(a, b),
    l4Proof: joinL4Proof(a.l4Proof, b.l4Proof),
    copies: joinCopies(a.copies, b.copies),
    unstale: a.unstale === b.unstale ? a.unstale : undefined,
    facts: joinFacts(a.facts, b.facts),
  };
}

/**
 * A packet pointer loaded anew on one path (`if (...) { adjust; ip = data + 14; check }`) joins two roots into one
 * (joinRoot) that neither path proved anything for: the joined root is proven as far as both sides proved each
 * pointer of it, counted from the root (the least over the locals that hold one).
 */
function joinedRootProofs(a: State, b: State, vars: Map<string, Slot>, proven: Map<string, number>): void {
  const least = new Map<string, number>();
  for (const [name, slot] of vars) {
    const v = slot.v;
    if (v.k !== 'pkt' || v.off === null || proven.has(v.root)) continue;
    const x = a.vars.get(name)?.v;
    const y = b.vars.get(name)?.v;
    if (x?.k !== 'pkt' || y?.k !== 'pkt' || (x.root === y.root && x.root === v.root) || x.off === null || y.off === null || x.stale || y.stale) {
      least.set(v.root, 0);
      continue;
    }
    const px = a.proven.get(x.root);
    const py = b.proven.get(y.root);
    const n = px === undefined || py === undefined ? 0 : v.off + Math.min(px - x.off, py - y.off);
    least.set(v.root, Math.min(least.get(v.root) ?? n, n));
  }
  for (const [root, n] of least) if (n > 0) proven.set(root, n);
}

/** A later change of the IPv4 header is open again on this path: the sum was recomputed, or zeroed and not stored. */
const reopens = (s: State) => !!s.csumRecomputed || (!!s.csumZeroed && !!s.csumUpdated);

/** What two paths both know about read-only globals. */
function joinFacts(a: State['facts'], b: State['facts']): State['facts'] {
  if (!a || !b) return undefined;
  if (a === b) return a;
  const out = new Map<string, boolean>();
  for (const [g, x] of a) if (b.get(g) === x) out.set(g, x);
  return out.size ? out : undefined;
}

/**
 * NULL on one path and a checked map value on the other, where the two paths tested a read-only global the opposite
 * ways: the joined value is NULL only where that global has the NULL path's truthiness (Val mapval.nullIf).
 */
function nullIfFact(joined: Val, x: Val, y: Val, fx: State['facts'], fy: State['facts']): Val {
  if (joined.k !== 'mapval' || !joined.nullable || !fx || !fy) return joined;
  const [nullSide, valSide, fNull, fVal] = isNullConst(x) ? [x, y, fx, fy] : [y, x, fy, fx];
  if (!isNullConst(nullSide) || valSide.k !== 'mapval' || (valSide.nullable && !valSide.nullIf)) return joined;
  for (const [g, truthy] of fNull) {
    if (fVal.get(g) !== !truthy) continue;
    if (valSide.nullIf && (valSide.nullIf.global !== g || valSide.nullIf.truthy !== truthy)) return joined;
    return { ...joined, nullIf: { global: g, truthy } };
  }
  return joined;
}

/** Two paths' stores into header copies: every store of either (each is a change if the copy is stored back). */
function joinCopies(a: State['copies'], b: State['copies']): State['copies'] {
  if (!a || !b || a === b) return a ?? b;
  const out = new Map(a);
  for (const [name, ws] of b) {
    const have = out.get(name) ?? [];
    out.set(name, [...have, ...ws.filter((w) => !have.some((h) => h.node === w.node && h.field === w.field))]);
  }
  return out;
}

/** Of two paths' pending header changes, the one whose first change comes first in the file (the line reported). */
/**
 * The L4 checksum's pending changes at a join. A path whose changes its own update covered, joined with a path that
 * neither changed nor updated anything, leaves nothing open: `if (off >= 128) return; ... update(&tcp->check, ...);
 * tcp->dest = p;` in a helper was reported at the helper's return (the update was not on the early return's path).
 */
function joinL4(a: State, b: State): Pick<State, 'l4Pending' | 'l4Updated'> {
  const covered = (x: State, y: State) => !!x.l4Pending && !!x.l4Updated && !y.l4Pending && !y.l4Updated;
  if (covered(a, b) || covered(b, a)) return { l4Pending: undefined, l4Updated: undefined };
  // One path updated the checksum and the other did not: the change left open is the other path's.
  if (a.l4Updated && !b.l4Updated && b.l4Pending) return { l4Pending: b.l4Pending, l4Updated: undefined };
  if (b.l4Updated && !a.l4Updated && a.l4Pending) return { l4Pending: a.l4Pending, l4Updated: undefined };
  const first = a.l4Pending?.proto && !b.l4Pending?.proto ? a.l4Pending : b.l4Pending?.proto && !a.l4Pending?.proto ? b.l4Pending : earlier(a.l4Pending, b.l4Pending);
  return { l4Pending: a.l4Updated || b.l4Updated ? first : withOtherPath(first, first === a.l4Pending ? b.l4Pending : a.l4Pending), l4Updated: (a.l4Updated && b.l4Updated) || undefined };
}

/**
 * `first` with the other path's open TCP/UDP changes kept beside it (State l4Pending.also), when that path changed a
 * TCP/UDP header of its own (a port, not only the addresses) that `first` does not start with: two paths that each
 * left a change open and meet before the return are two mistakes.
 */
function withOtherPath(first: State['l4Pending'], other: State['l4Pending']): State['l4Pending'] {
  if (!first || !other || first === other) return first;
  const key = (ws: L4Change[]) => (ws.find((w) => w.from === undefined) ?? ws[0])?.node;
  const groups = [...(first.also ?? []), ...(other.also ?? []), ...(other.proto ? [{ proto: other.proto, writes: other.writes }] : [])];
  const seen = new Set<unknown>([key(first.writes)]);
  const also = groups.filter((g) => {
    const k = key(g.writes);
    if (k === undefined || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return also.length ? { ...first, also } : first;
}

/** The ICMP checksum's pending changes at a join, as joinL4 does for TCP/UDP. */
function joinIcmp(a: State, b: State): Pick<State, 'icmpPending' | 'icmpUpdated'> {
  const covered = (x: State, y: State) => !!x.icmpPending && !!x.icmpUpdated && !y.icmpPending && !y.icmpUpdated;
  if (covered(a, b) || covered(b, a)) return { icmpPending: undefined, icmpUpdated: undefined };
  return { icmpPending: earlier(a.icmpPending, b.icmpPending), icmpUpdated: (a.icmpUpdated && b.icmpUpdated) || undefined };
}

/**
 * The IPv4 changes of two paths that meet. When both start with the same store (`saddr = daddr;` then `daddr = X` on
 * one branch and another value on the other), the stores made on both are kept as they are and those of one path
 * only are marked `may`, so that a finding names a change every path to it made; otherwise the earlier path's.
 */
function joinCsumPending(a: State['csumPending'], b: State['csumPending']): State['csumPending'] {
  if (!a || !b || a === b) return a ?? b;
  const x = a.writes[0];
  const y = b.writes[0];
  if (!x || !y || x.node !== y.node || x.file !== y.file) return earlier(a, b);
  const inB = new Set(b.writes.filter((w) => !w.may).map((w) => w.node));
  const inA = new Set(a.writes.map((w) => w.node));
  const out = a.writes.map((w) => (w.may || inB.has(w.node) ? w : { ...w, may: true }));
  for (const w of b.writes) if (!inA.has(w.node)) out.push(w.may ? w : { ...w, may: true });
  if (out.every((w, i) => w === a.writes[i]) && out.length === a.writes.length) return a;
  const pos = (w: { node: unknown }) => (w.node as { startIndex?: number }).startIndex ?? 0;
  const sameFile = out.every((w) => w.file === x.file);
  return { writes: sameFile ? out.sort((p, q) => pos(p) - pos(q)) : out };
}

function earlier<T extends { writes: { node: unknown; file: string }[] }>(a: T | undefined, b: T | undefined): T | undefined {
  if (!a || !b) return a ?? b;
  const x = a.writes[0];
  const y = b.writes[0];
  if (!x || !y || x.file !== y.file) return a;
  const pos = (w: { node: unknown }) => (w.node as { startIndex?: number }).startIndex ?? 0;
  return pos(y) < pos(x) ? b : a;
}

export function joinVals(a: Val, b: Val): Val {
  if (a === b) return a;
  if (a.k === 'top' && a.uninitScalar && b.k === 'top' && b.uninitScalar) return a;
  // `int action;` set on one path only: the value that path set, and the paths that never set it (as unknown).
  if (a.k === 'top' && a.uninitScalar) return b.k === 'consts' ? { ...b, more: true, maybeUninit: b.maybeUninit ?? a.uninitScalar } : joinVals(TOP, b);
  if (b.k === 'top' && b.uninitScalar) return a.k === 'consts' ? { ...a, more: true, maybeUninit: a.maybeUninit ?? b.uninitScalar } : joinVals(a, TOP);
  // The proof of its bounds is the path's that set it, which the join of the paths' proofs does not keep.
  if (a.k === 'top' && a.uninit) return b.k === 'pkt' ? { ...b, loose: true } : b;
  if (b.k === 'top' && b.uninit) return a.k === 'pkt' ? { ...a, loose: true } : a;
  if (a.k === 'consts' && b.k === 'consts') {
    const u = constsUnion(a.vals, b.vals, !!(a.more || b.more));
    const maybeUninit = a.maybeUninit ?? b.maybeUninit;
    return maybeUninit && u.k === 'consts' ? { ...u, maybeUninit } : u;
  }
  // A parser that returns -1 or the header's protocol field: the field is kept for the protocol tests made on it.
  const fieldOf = (t: Val) => (t.k === 'top' && t.field ? { field: t.field, ...(t.at ? { at: t.at } : {}), ...(t.l4 ? { l4: t.l4 } : {}) } : {});
  const readOf = (t: Val) => (t.k === 'top' && t.mapRead ? { mapRead: t.mapRead } : {});
  if (a.k === 'consts' && b.k === 'top') return { k: 'consts', vals: a.vals, more: true, ...fieldOf(b), ...readOf(b), ...(a.maybeUninit ? { maybeUninit: a.maybeUninit } : {}) };
  if (b.k === 'consts' && a.k === 'top') return { k: 'consts', vals: b.vals, more: true, ...fieldOf(a), ...readOf(a), ...(b.maybeUninit ? { maybeUninit: b.maybeUninit } : {}) };
  if (a.k === 'pkt' && b.k === 'pkt') {
    const stale = a.stale ?? b.stale;
    // Two known offsets of one root (`p = data + 14; if (vlan) p += 4;`): a root of its own at the nearer one (see
    // rangeRoot), so a check through it proves its own bytes, and of the frame only what holds on both paths.
    if (a.root === b.root && a.off !== null && b.off !== null && a.off !== b.off && a.region === b.region && !a.loose && !b.loose && !a.fromEnd && !b.fromEnd) {
      const lo = Math.min(a.off, b.off);
      const hi = Math.max(a.off, b.off);
      const base = /^data#\d+$/.test(a.root) ? lo : a.base !== undefined && b.base !== undefined ? Math.min(a.base, b.base) + lo : undefined;
      return { k: 'pkt', root: `${a.root}@${lo}+[${lo}..${hi}]`, off: 0, region: a.region, stale, ...(base !== undefined ? { base } : {}) };
    }
    if (a.root === b.root) return { k: 'pkt', root: a.root, off: a.off === b.off ? a.off : null, region: a.region, stale, ...(a.loose || b.loose ? { loose: true } : {}), ...(a.fromEnd && b.fromEnd && a.off === b.off ? { fromEnd: true } : {}), ...(a.base !== undefined && b.base !== undefined ? { base: Math.min(a.base, b.base) } : {}) };
    const root = joinRoot(a.root, b.root);
    const at = (x: typeof a) => (x.off === null ? undefined : /^data#\d+$/.test(x.root) ? x.off : x.base !== undefined ? x.base + x.off : undefined);
    const fa = at(a);
    const fb = at(b);
    const region = a.region === b.region ? a.region : 'data';
    // The same place in the frame on both paths (`ip = data + 14` before and after a move of the packet): the joined
    // root is the frame's start, and offsets from it stay places in the frame (base 0).
    if (fa !== undefined && fa === fb) return { k: 'pkt', root, off: fa, region, stale, base: 0 };
    const base = fa !== undefined && fb !== undefined ? Math.min(fa, fb) : undefined;
    // Otherwise at offset 0 of a root of its own, kept apart from the frame-aligned one.
    return { k: 'pkt', root: `${root}~${fa ?? '?'}/${fb ?? '?'}`, off: 0, region, stale, ...(base !== undefined ? { base } : {}) };
  }
  if (a.k === 'end' && b.k === 'end') return { k: 'end', stale: a.stale ?? b.stale };
  if (a.k === 'ctx' && b.k === 'ctx') return a;
  if (a.k === 'len' && b.k === 'len' && a.root === b.root) return { k: 'len', root: a.root, off: a.off === b.off ? a.off : null };
  if (a.k === 'rodata' && b.k === 'rodata' && a.name === b.name) return a;
  if (a.k === 'mapval' && b.k === 'mapval') {
    const nullable = a.nullable || b.nullable;
    if (a.id === b.id) {
      // NULL only under a global's value on each nullable side: kept when they agree (or one side is checked).
      const nullIf = a.nullable && b.nullable ? (a.nullIf && b.nullIf && a.nullIf.global === b.nullIf.global && a.nullIf.truthy === b.nullIf.truthy ? a.nullIf : undefined) : a.nullable ? a.nullIf : b.nullIf;
      if (nullable === a.nullable && nullIf === a.nullIf) return a;
      const out: Val = { ...a, nullable, nullIf };
      if (!nullIf) delete out.nullIf;
      return out;
    }
    // Two lookups meet (the value looked up again after bpf_map_update_elem): a new id, NULL if either may be.
    const lookup = a.nullable || !b.nullable ? a.lookup : b.lookup;
    return { k: 'mapval', id: joinIds(a.id, b.id), nullable, lookup, ro: a.ro ?? b.ro };
  }
  // NULL on one path (`v = NULL; if (...) v = lookup;`) keeps the lookup's id, now possibly NULL.
  if (a.k === 'mapval' && isNullConst(b)) return a.nullable && !a.nullIf ? a : { ...a, nullable: true, nullIf: undefined };
  if (b.k === 'mapval' && isNullConst(a)) return b.nullable && !b.nullIf ? b : { ...b, nullable: true, nullIf: undefined };
  // A packet pointer on one path and NULL or unknown on another is no longer followed: the code after the join
  // usually tests which case it is, and a path-insensitive tier would report accesses the test protects. A read-only
  // map value stays read-only (for readonly-write) but is no longer taken to be possibly NULL.
  if (a.k === 'mapval' && a.ro) return a.nullable ? { ...a, nullable: false } : a;
  if (b.k === 'mapval' && b.ro) return b.nullable ? { ...b, nullable: false } : b;
  if (a.k === 'rodata') return a;
  if (b.k === 'rodata') return b;
  return { k: 'top', taint: (a.k === 'top' && a.taint) || (b.k === 'top' && b.taint) || undefined };
}

/** The constant 0 (NULL) and nothing else. */
export function isNullConst(v: Val): boolean {
  return v.k === 'consts' && !v.more && v.vals.length > 0 && v.vals.every((c) => c.v === 0);
}

/** The id of two lookups joined: the set of their parts, so joining again with either gives the same id. */
function joinIds(a: string, b: string): string {
  const parts = [...new Set([...a.split('|'), ...b.split('|')])].sort();
  const id = parts.join('|');
  return id.length > 200 ? `join#${hash(id)}` : id;
}

function joinRoot(a: string, b: string): string {
  const r = a < b ? `{${a}|${b}}` : `{${b}|${a}}`;
  return r.length > 200 ? `{join#${hash(r)}}` : r;
}

function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

export function constsUnion(a: ConstVal[], b: ConstVal[], more: boolean): Val {
  const out = [...a];
  for (const c of b) {
    const i = out.findIndex((o) => o.v === c.v && o.name === c.name && o.origin?.range.line === c.origin?.range.line);
    if (i < 0) out.push(c);
    // The same constant from two paths: what both paths did.
    else if ((out[i].wrote && !c.wrote) || (out[i].redirected && !c.redirected) || (out[i].macWrote && !c.macWrote)) out[i] = { ...out[i], wrote: (out[i].wrote && c.wrote) || undefined, redirected: (out[i].redirected && c.redirected) || undefined, macWrote: (out[i].macWrote && c.macWrote) || undefined, csumStale: out[i].csumStale ?? c.csumStale, l4Stale: out[i].l4Stale ?? c.l4Stale, icmpStale: out[i].icmpStale ?? c.icmpStale };
    else if ((!out[i].csumStale && c.csumStale) || (!out[i].l4Stale && c.l4Stale) || (!out[i].icmpStale && c.icmpStale)) out[i] = { ...out[i], csumStale: out[i].csumStale ?? c.csumStale, l4Stale: out[i].l4Stale ?? c.l4Stale, icmpStale: out[i].icmpStale ?? c.icmpStale };
  }
  if (out.length > MAX_CONSTS) {
    // Many paths setting the same few values on lines of their own (twenty `action = XDP_ABORTED; goto out;`): one
    // entry per value (the first place that set it; what every path did), so that a value set once elsewhere (the
    // planted `action = -22;`) is not lost in an unknown.
    const byValue: ConstVal[] = [];
    for (const c of out) {
      const i = byValue.findIndex((o) => o.v === c.v && o.name === c.name && !o.undef === !c.undef);
      if (i < 0) byValue.push(c);
      else {
        const o = byValue[i]!;
        byValue[i] = { ...o, wrote: (o.wrote && c.wrote) || undefined, redirected: (o.redirected && c.redirected) || undefined, macWrote: (o.macWrote && c.macWrote) || undefined, csumStale: o.csumStale ?? c.csumStale, l4Stale: o.l4Stale ?? c.l4Stale, icmpStale: o.icmpStale ?? c.icmpStale };
      }
    }
    if (byValue.length > MAX_CONSTS) return { k: 'top' };
    return { k: 'consts', vals: byValue, more: more || undefined };
  }
  return { k: 'consts', vals: out, more: more || undefined };
}

/** The value with what its path did so far stamped on each constant (see ConstVal.wrote). */
export function stamp(v: Val, st: State, csum = true): Val {
  const stale = csum ? st.csumOpen : undefined;
  const l4 = st.l4Updated ? undefined : st.l4Pending;
  const icmp = csum && !st.icmpUpdated ? st.icmpPending : undefined;
  if (v.k !== 'consts' || (!st.wrote && !st.redirected && !stale && !l4 && !icmp)) return v;
  if (v.vals.every((c) => (c.wrote || !st.wrote) && (c.macWrote || !st.macWrote) && (c.redirected || !st.redirected) && (c.csumStale || !stale) && (c.l4Stale || !l4) && (c.icmpStale || !icmp))) return v;
  return {
    ...v,
    vals: v.vals.map((c) => ({ ...c, wrote: c.wrote || st.wrote || undefined, macWrote: c.macWrote || st.macWrote || undefined, redirected: c.redirected || st.redirected || undefined, csumStale: c.csumStale ?? since(stale, c.csumAt, c.seqAt), l4Stale: c.l4Stale ?? since(l4, c.l4At, c.seqAt), icmpStale: c.icmpStale ?? icmp })),
  };
}

/** The changes of `open` made after the call that produced a value (ConstVal.csumAt, seqAt): undefined when none. */
function since<T extends { writes: { node: unknown; seq?: number }[] }>(open: T | undefined, at: T | null | undefined, seqAt: number | undefined): T | undefined {
  if (!open || at === undefined) return open;
  if (open === at) return undefined;
  const seen = new Set(at?.writes.map((w) => w.node));
  const fresh = open.writes.filter((w) => !seen.has(w.node) && (seqAt === undefined || w.seq === undefined || w.seq >= seqAt));
  return fresh.length === 0 ? undefined : fresh.length === open.writes.length ? open : { ...open, writes: fresh };
}

/** Values stored before on the path no longer carry a pending change of this kind (its checksum was updated). */
function clearStale(st: State, key: 'csumStale' | 'icmpStale' | 'l4Stale'): void {
  let vars: Map<string, Slot> | undefined;
  for (const [name, slot] of st.vars) {
    if (slot.v.k !== 'consts' || !slot.v.vals.some((c) => c[key])) continue;
    vars ??= new Map(st.vars);
    vars.set(name, { v: { ...slot.v, vals: slot.v.vals.map((c) => (c[key] ? { ...c, [key]: undefined } : c)) }, t: slot.t });
  }
  if (vars) st.vars = vars;
}

/** The path updated the IPv4 checksum: values stored before on it no longer carry a pending change. */
export function markCsumUpdated(st: State): void {
  st.csumUpdated = true;
  st.csumOpen = undefined;
  st.csumRecomputed = undefined;
  st.csumZeroed = undefined;
  clearStale(st, 'csumStale');
}

/** The path updated (or may have updated) the ICMP checksum: values stored before on it no longer carry a pending change. */
export function markIcmpUpdated(st: State): void {
  st.icmpUpdated = true;
  clearStale(st, 'icmpStale');
}

/** The path updated (or may have updated) the TCP/UDP checksum: values stored before on it no longer carry a pending change. */
export function markL4Updated(st: State): void {
  st.l4Updated = true;
  clearStale(st, 'l4Stale');
}

export function single(v: Val): number | undefined {
  return v.k === 'consts' && v.vals.length === 1 && !v.more ? v.vals[0].v : undefined;
}

/** A cheap fingerprint of the parts of a state the loop fixpoint cares about. */
export function stateKey(s: State): string {
  const parts: string[] = [];
  for (const [name, slot] of s.vars) parts.push(`${name}=${valKey(slot.v)}`);
  for (const [root, n] of s.proven) parts.push(`#${root}:${n}`);
  return parts.join(';');
}

function valKey(v: Val): string {
  switch (v.k) {
    case 'consts':
      return `c${v.more ? '+' : ''}${v.vals.map((c) => c.v).sort((x, y) => x - y).join(',')}`;
    case 'pkt':
      return `p${v.root}@${v.off}${v.stale ? 's' : ''}`;
    case 'len':
      return `l${v.root}@${v.off}`;
    case 'end':
      return v.stale ? 'es' : 'e';
    case 'rodata':
      return `r${v.name}`;
    case 'mapval':
      return `m${v.id}${v.nullable ? '?' : ''}`;
    default:
      return v.k;
  }
}
