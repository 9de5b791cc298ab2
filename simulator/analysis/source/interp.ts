// The source tier's abstract interpreter. It walks the syntax tree of each XDP program the way the verifier walks
// its instructions, but over C: statements in order, both arms of every branch joined afterwards, loops run to a
// small fixpoint, and callees defined in the file or its local includes analysed inline with the caller's values
// (so a helper that takes `struct ethhdr *` is checked against the bounds the caller proved). Each rule is checked
// where the C construct it is about is met: a return in the program, a store, a dereference, a helper call.
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { RULES, type Finding, type Fix, type Range, type Related, type RuleId } from '../findings.ts';
import {
  FRAME_CHANGING_HELPERS,
  HELPER_RESULTS,
  INVALIDATING_HELPERS,
  KERNEL_CONSTANTS,
  KERNEL_STRUCTS,
  PRIMITIVE_SIZES,
  XDP_ACTIONS,
  XDP_MD_FIELDS,
  foreignFamily,
  writesFirstArgument,
} from './known.ts';
import { txUnmodified } from '../bytecode/messages.ts';
import { attachActionMessage, attachedMap, refusedByAttach } from '../xdp-programs.ts';
import type { Node } from './parser.ts';
import { preprocTaken } from './preproc.ts';
import {
  TAINTED,
  TOP,
  assignState,
  clone,
  constsUnion,
  initialState,
  joinStates,
  sameSums,
  sumsOf,
  isNullConst,
  joinVals,
  single,
  stamp,
  markCsumUpdated,
  markL4Updated,
  markIcmpUpdated,
  UNINIT,
  stateKey,
  type ConstVal,
  type L4Proof,
  type ProtoUnder,
  type L4Change,
  type LookupInfo,
  type MapRead,
  type Origin,
  type Slot,
  type StaleInfo,
  type State,
  type Unstale,
  type TV,
  type Val,
} from './state.ts';
import {
  binaryConst,
  constEval,
  declaratorShape,
  expandFunctionMacro,
  literalNumber,
  pointeeSize,
  constEvalText,
  resolveTypedef,
  sizeOfType,
  offsetofConst,
  snippet,
  structOf,
  typeBase,
  typeDescriptor,
  type Decls,
  type FunctionDecl,
  type TypeRef,
  type Unit,
} from './unit.ts';

export type DriverMode = 'native' | 'readonly-page' | 'generic';

const MAX_INLINE_DEPTH = 8;
const MAX_STEPS = 400_000;

class BudgetExceeded extends Error {}

interface LoopCtx {
  breaks: State[];
  continues: State[];
  isSwitch: boolean;
}

/** A mistake in a function of another file, and the call in the program's file that leads to it. */
interface Away {
  site: Node;
  home: Unit;
  fn: string;
  inner: Range;
  innerFile: string;
}

interface Frame {
  fn: FunctionDecl;
  isProgram: boolean;
  /** Distinguishes inline expansions of the same function, so each call's lookups get their own ids. */
  instance: number;
  /** The call this frame was entered from (in the caller's unit; the macro use when the call came from one). */
  callSite?: Node;
  returns: { state: State; tv: TV }[];
  loops: LoopCtx[];
  labels: Map<string, State[]>;
  /** The IPv4 header changes pending when the callee was entered: only its own changes are stamped on what it returns. */
  entryCsum?: State['csumPending'];
  /** The caller's locals at the call (its header pointers place a store the callee makes through a pointer passed in). */
  outer?: State['vars'];
}

const INT_TYPES_BY_SIZE: Record<number, string> = { 1: '__u8', 2: '__u16', 4: '__u32', 8: '__u64' };

/** `a op b` for a C relational operator; undefined for any other operator. */
function compareBy(op: string, a: number, b: number): boolean | undefined {
  switch (op) {
    case '==': return a === b;
    case '!=': return a !== b;
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
    default: return undefined;
  }
}

export class Analyzer {
  readonly findings = new Map<string, Finding>();
  /**
   * Returned values that came out of a callee, already reported (per program, rule and where the callee wrote them):
   * a callee called from two `return`s of the program holds one mistake, reported once.
   */
  private readonly calleeReported = new Map<string, Finding | undefined>();
  private steps = 0;
  private unit!: Unit;
  /** The macro use a snippet's nodes are reported at (nodes of a macro expansion have no place in the file). */
  private site: Node | undefined;
  private frames: Frame[] = [];
  private expanding = new Set<string>();
  /** Stale pointers already reported, by invalidating call and packet root: the first use is the one to fix. */
  private staleReported = new Set<string>();
  /**
   * Missing checks of a header at a variable offset reported in this program, by packet root, with what was proven of
   * it there: met again on another path with nothing more proven, it is the same missing check.
   */
  private missedRoots = new Map<string, { finding: Finding; real: number }>();
  /** Packet roots compared as `data_end - data` with a length, and where: the verifier learns no bound from that. */
  private lengthChecks = new Map<string, number>();
  /** Every function analysed inline for the programs run so far (what their findings depend on). */
  readonly inlined = new Set<FunctionDecl>();
  /** Every name looked up among the file's declarations (macros, enums, globals, maps, functions). */
  readonly used = new Set<string>();
  /** Lookups already reported as used without a NULL check: one finding per lookup, at its first dereference. */
  private nullReported = new Set<string>();
  /** Ids of map values checked for NULL so far, in order (a callee's checks also count for its caller). */
  private nullChecks: string[] = [];
  private instances = 0;
  /**
   * Packet-pointer locals whose address was taken (`decap(ctx, &data, &data_end)`), by `frame instance:name`: the
   * value when the address was taken, and what the callees stored through it since (joined over their paths). A
   * read through the address gives the latest; when the call returns to the local's own function, a stored value
   * replaces the local's, so a helper that moves the packet and reloads the pointers for its caller leaves them fresh.
   */
  private refCells = new Map<string, { value: Val; written?: Val }>();
  /**
   * Map value fields (`map.field`, `map.*` for a store through the whole value) the program stores computed values
   * into (an increment, an atomic add, a copy of packet data): counters and state, not verdicts set from user space.
   * A field only ever given XDP actions (a cached verdict) is not among them.
   */
  private mapComputed = new Set<string>();

  constructor(
    readonly decls: Decls,
    private readonly driverMode: DriverMode,
  ) {}

  runProgram(fn: FunctionDecl): void {
    this.steps = 0;
    this.unit = fn.unit;
    this.site = undefined;
    this.frames = [];
    this.expanding.clear();
    this.missedRoots.clear();
    const st = initialState();
    fn.params.forEach((p, i) => {
      if (!p.name) return;
      const isCtx = i === 0 && p.type.ptr === 1 && /\bxdp_md\b/.test(p.type.base);
      st.vars.set(p.name, { v: isCtx ? { k: 'ctx' } : TOP, t: p.type });
    });
    const frame: Frame = { fn, isProgram: true, instance: this.instances++, returns: [], loops: [], labels: new Map() };
    this.frames.push(frame);
    try {
      const end = this.exec(fn.body, st);
      if (end) this.fallsOffEnd(fn);
    } catch (e) {
      if (!(e instanceof BudgetExceeded)) throw e;
    } finally {
      this.frames.pop();
    }
  }

  // ---- positions and findings ----------------------------------------------------------------------------------

  private get frame(): Frame {
    return this.frames[this.frames.length - 1];
  }

  private rangeOf(n: Node): Range {
    const node = this.site ?? n;
    return {
      line: node.startPosition.row + 1,
      column: node.startPosition.column + 1,
      endLine: node.endPosition.row + 1,
      endColumn: node.endPosition.column + 1,
    };
  }

  originOf(n: Node): Origin {
    return { file: this.unit.file, range: this.rangeOf(n) };
  }

  /** The finding made (or the one already made at that place). */
  private report(rule: RuleId, n: Node, message: string, fixes?: Fix[], related?: Related[], place?: Range): Finding | undefined {
    // A mistake inside a function of another file (a helper in a header) is reported on the line of the program's
    // file that calls it, where the editor shows it, with the place in that file as related information.
    const away = this.awayFromHome(n);
    if (away) return this.reportAway(rule, away, message, related, fixes);
    const range = place ?? this.rangeOf(n);
    const key = `${rule}\0${this.unit.file}\0${range.line}\0${range.column}`;
    const pending = this.pendingCallee;
    this.pendingCallee = undefined;
    if (this.findings.has(key)) return this.findings.get(key);
    const severity = (RULES as Record<string, { severity: 'error' | 'warning' }>)[rule]?.severity ?? 'error';
    const program = this.frames[0]?.fn.name;
    // A message reads as a sentence in the Problems panel: capitalised, unless it starts with code (`v` may be NULL).
    const text = /^[a-z]+ /.test(message) ? message[0].toUpperCase() + message.slice(1) : message;
    const rel = related?.filter((r) => !(r.file === this.unit.file && r.line === range.line));
    const finding: Finding = { file: this.unit.file, ...range, severity, rule, message: text, tier: 'source', fixes: fixes?.length ? fixes : undefined, related: rel?.length ? rel : undefined, program };
    this.findings.set(key, finding);
    if (pending && (rule === 'invalid-action' || rule === 'tx-unmodified' || rule === 'readonly-page-write')) for (const k of pending) this.calleeReported.set(k, finding);
    return finding;
  }

  /** Where a mistake at `n`, in a function of another file than the program's, is shown: the call that leads there. */
  private awayFromHome(n: Node): Away | undefined {
    const home = this.frames[0]?.fn.unit;
    if (!home || this.unit.file === home.file) return undefined;
    for (let i = this.frames.length - 1; i >= 1; i--) {
      const site = this.frames[i].callSite;
      if (!site || this.frames[i - 1].fn.unit.file !== home.file) continue;
      return { site, home, fn: this.frame.fn.name, inner: this.rangeOf(n), innerFile: this.unit.file };
    }
    return undefined;
  }

  private reportAway(rule: RuleId, a: Away, message: string, related?: Related[], fixes?: Fix[]): Finding | undefined {
    const where = `${a.fn}() (${shownPath(a.innerFile, a.home.file)}, line ${a.inner.line})`;
    const link: Related = { file: a.innerFile, ...a.inner, message: `in ${a.fn}(), here` };
    const savedUnit = this.unit;
    const savedSite = this.site;
    this.unit = a.home;
    this.site = undefined;
    try {
      const text = /^[A-Z][a-z]+ /.test(message) ? message[0].toLowerCase() + message.slice(1) : message;
      // The fixes edit the helper's file (the edits were computed there), not the program's line the finding is on.
      const away = fixes?.map((f) => (f.file ? f : { ...f, file: a.innerFile }));
      return this.report(rule, a.site, `In ${where}: ${text}`, away, [link, ...(related ?? [])]);
    } finally {
      this.unit = savedUnit;
      this.site = savedSite;
    }
  }

  /** A place named by line only (where a lookup or a helper call was), for relatedInformation. */
  private static lineRef(file: string, line: number, message: string): Related {
    return { file, line, column: 1, endLine: line, endColumn: 1, message };
  }

  private global(name: string) {
    this.used.add(name);
    return this.decls.globals.get(name);
  }

  private tick(): void {
    if (++this.steps > MAX_STEPS) throw new BudgetExceeded();
  }

  // ---- statements ----------------------------------------------------------------------------------------------

  /** Runs a statement; returns the state after it, or null when control does not fall through. */
  private exec(n: Node, st: State): State | null {
    this.tick();
    if (st.unreachable) return null;
    switch (n.type) {
      case 'compound_statement':
        return this.execList(n.namedChildren, st);
      case 'declaration':
        this.declare(n, st);
        return st;
      case 'expression_statement': {
        const e = n.namedChild(0);
        if (!e) return st;
        if (e.type === 'call_expression') return this.callStatement(e, n, st);
        this.eval(e, st);
        return st;
      }
      case 'if_statement':
        return this.execIf(n, st);
      case 'while_statement':
      case 'for_statement':
      case 'do_statement':
        return this.execLoop(n, st);
      case 'switch_statement':
        return this.execSwitch(n, st);
      case 'return_statement':
        this.execReturn(n, st);
        return null;
      case 'break_statement': {
        const ctx = this.frame.loops[this.frame.loops.length - 1];
        if (ctx) ctx.breaks.push(st);
        return null;
      }
      case 'continue_statement': {
        const loops = this.frame.loops;
        for (let i = loops.length - 1; i >= 0; i--) {
          if (!loops[i].isSwitch) {
            loops[i].continues.push(st);
            break;
          }
        }
        return null;
      }
      case 'goto_statement': {
        const label = n.childForFieldName('label')?.text;
        if (label) {
          const list = this.frame.labels.get(label) ?? [];
          list.push(st);
          this.frame.labels.set(label, list);
        }
        return null;
      }
      case 'labeled_statement': {
        const label = n.childForFieldName('label')?.text;
        const incoming = label ? this.frame.labels.get(label) ?? [] : [];
        const joined = joinStates(incoming.includes(st) ? incoming : [st, ...incoming]);
        // `done: // comment` then the statement: the comment is not the labelled statement.
        const inner = n.namedChildren.find((c) => c && c.type !== 'statement_identifier' && c.type !== 'comment');
        if (!joined) return null;
        return inner ? this.exec(inner, joined) : joined;
      }
      case 'preproc_if':
      case 'preproc_ifdef':
      case 'preproc_else':
      case 'preproc_elif': {
        const alt = n.childForFieldName('alternative');
        const cond = n.childForFieldName('condition');
        const body = n.namedChildren.filter((c): c is Node => !!c && c !== null && c.id !== alt?.id && c.id !== cond?.id && c.type !== 'identifier');
        // The branch the compiler takes, when the macros decide it; both, joined, when they do not.
        const taken = n.type === 'preproc_else' ? true : preprocTaken(n, { ...this.decls.pp, macros: this.decls.macros, use: (name) => this.used.add(name) });
        if (taken === true) return this.execList(body, st);
        if (taken === false) return alt ? this.exec(alt, st) : st;
        const b = alt ? this.exec(alt, clone(st)) : st;
        const a = this.execList(body, alt ? st : clone(st));
        return joinStates([a, b]);
      }
      case 'gnu_asm_expression':
        this.asm(n, st);
        return st;
      default:
        return st;
    }
  }

  private execList(list: (Node | null)[], st: State): State | null {
    let cur: State | null = st;
    for (const child of list) {
      if (!child) continue;
      if (!cur) {
        // Unreachable unless a goto jumps here.
        const label = child.type === 'labeled_statement' ? child.childForFieldName('label')?.text : undefined;
        const incoming = label ? this.frame.labels.get(label) : undefined;
        if (incoming?.length) cur = this.exec(child, joinStates(incoming)!);
        continue;
      }
      cur = this.exec(child, cur);
    }
    return cur;
  }

  private declare(n: Node, st: State): void {
    const typeNode = n.childForFieldName('type');
    const base = typeBase(typeNode, this.decls);
    for (const d of n.childrenForFieldName('declarator')) {
      if (!d) continue;
      const shape = declaratorShape(d, this.decls);
      if (!shape.name || shape.isFunction) continue;
      const t: TypeRef = { base, ptr: shape.ptr, dims: shape.dims };
      const value = d.type === 'init_declarator' ? d.childForFieldName('value') : null;
      let v: Val = d.type !== 'init_declarator' && shape.ptr > 0 && shape.dims.length === 0 ? UNINIT : TOP;
      // `int action;`: an integer with no value until a path sets one (see joinVals).
      if (d.type !== 'init_declarator' && shape.ptr === 0 && shape.dims.length === 0 && !/^(?:struct|union) /.test(resolveTypedef(t, this.decls).base) && !isVolatile(n)) v = { k: 'top', uninitScalar: this.originOf(d) };
      if (value && value.type !== 'initializer_list' && this.redirectOnlyLogged(value, shape.name, d)) v = this.unusedRedirect(value, n, st);
      else if (value && value.type !== 'initializer_list') v = this.eval(value, st).v;
      const members: [string, TV][] = [];
      if (value?.type === 'initializer_list') {
        // `struct hdr_cursor nh = { .pos = data };`: a pointer given to a member by name is kept as `nh.pos = data` is.
        for (const c of value.namedChildren) {
          if (!c || c.type === 'comment') continue;
          const field = c.type === 'initializer_pair' ? c.childForFieldName('designator') : null;
          const fv = c.type === 'initializer_pair' ? c.childForFieldName('value') : null;
          const fname = field?.type === 'field_designator' ? field.namedChildren[0]?.text : undefined;
          if (fv && fname && c.childrenForFieldName('designator').length === 1) members.push([fname, this.eval(fv, st)]);
          else this.eval(c, st);
        }
      }
      if (shape.dims.length > 0) v = TOP;
      // `volatile int ret = 31;`: a value the compiler must read afresh each time (a stub replaced at load time, a
      // byte another CPU writes) is not known, whatever was stored into it.
      if (shape.ptr === 0 && isVolatile(n)) t.volatile = true;
      if (t.volatile) v = TOP;
      st.vars.set(shape.name, { v: stamp(retype(v, t), st), t });
      if (shape.ptr !== 0 || shape.dims.length !== 0) continue;
      for (const [field, tv] of members) {
        const declared = this.memberType(t, field);
        if (declared) st.vars.set(`${shape.name}.${field}`, { v: stamp(tv.v, st), t: declared });
      }
    }
  }

  private execIf(n: Node, st: State): State | null {
    const condNode = n.childForFieldName('condition');
    // `if (0)`, `if (DEBUG)` with `#define DEBUG 0`, `if (sizeof(long) == 4)`: clang drops the side a constant
    // condition never takes, so no instruction of it reaches the verifier or runs; its code gives no finding.
    const known = condNode ? this.constTruth(condNode, 0, st) : undefined;
    if (known !== undefined) {
      const alt = n.childForFieldName('alternative');
      const taken = known ? n.childForFieldName('consequence') : alt?.type === 'else_clause' ? alt.namedChildren.find((c) => c && c.type !== 'comment') ?? null : alt;
      return taken ? this.exec(taken, st) : st;
    }
    const l4Before = st.l4Pending;
    const ipBefore = st.csumPending;
    const icmpBefore = st.icmpPending;
    const [ts, fs] = condNode ? this.cond(condNode, st) : [st, clone(st)];
    // What each side entered with: a test of the protocol (`if (ip->protocol == 17)`) drops the changes made under
    // another number on that side (dropUnder), so an update there does not cover them.
    const entered = new Map<State, [State['l4Pending'], State['icmpPending']]>([[ts, [ts.l4Pending, ts.icmpPending]], [fs, [fs.l4Pending, fs.icmpPending]]]);
    const cons = n.childForFieldName('consequence');
    const alt = n.childForFieldName('alternative');
    const a = cons ? this.exec(cons, ts) : ts;
    let b: State | null = fs;
    if (alt) {
      // `else // why` then the statement: the comment is not the else branch.
      const inner = alt.type === 'else_clause' ? alt.namedChildren.find((c) => c && c.type !== 'comment') ?? null : alt;
      b = inner ? this.exec(inner, fs) : fs;
    }
    // `if (!meta->csum_partial) csum_update(&tcp->check, ...)`: a checksum update the program makes or skips by its
    // own checksum state (offloaded, partial) is skipped on purpose; the path that skips it is not a stale checksum.
    // So is one the branch that skips it makes no change of its own to be covered (`if (!m->partial) update(...);`).
    if (a && b && condNode) {
      const named = /csum|checksum/i.test(condNode.text);
      const [aIn, bIn] = [entered.get(ts)!, entered.get(fs)!];
      for (const [x, y, xIn] of [[a, b, aIn], [b, a, bIn]] as const) {
        if (x.l4Updated && !y.l4Updated && (named || (y.l4Pending === l4Before && xIn[0] === l4Before))) markL4Updated(y);
        if (x.icmpUpdated && !y.icmpUpdated && (named || (y.icmpPending === icmpBefore && xIn[1] === icmpBefore))) markIcmpUpdated(y);
        if (x.csumUpdated && !x.csumZeroed && !y.csumUpdated && (named || y.csumPending === ipBefore)) markCsumUpdated(y);
      }
    }
    return joinStates([a, b]);
  }

  private execLoop(n: Node, entry: State): State | null {
    const body = n.childForFieldName('body');
    const condNode = n.childForFieldName('condition');
    if (n.type === 'for_statement') {
      const init = n.childForFieldName('initializer');
      if (init) {
        if (init.type === 'declaration') this.declare(init, entry);
        else this.eval(init, entry);
      }
    }
    const updates = n.type === 'for_statement' ? n.childrenForFieldName('update').filter((u): u is Node => !!u) : [];
    let head = entry;
    let exit: State | null = null;
    let wroteInBody = false;
    let macInBody = false;
    let redirectedInBody = false;
    let settled = false;
    for (let pass = 0; pass < 3; pass++) {
      const ctx: LoopCtx = { breaks: [], continues: [], isSwitch: false };
      this.frame.loops.push(ctx);
      let bodyIn: State;
      let condExit: State | null = null;
      let end: State | null;
      try {
        if (n.type === 'do_statement') {
          end = body ? this.exec(body, clone(head)) : clone(head);
          const afterBody = joinStates([end, ...ctx.continues]);
          ctx.continues = [];
          if (afterBody && condNode) {
            const [t, f] = this.cond(condNode, afterBody);
            condExit = f;
            end = t;
          } else {
            condExit = afterBody;
            end = null;
          }
        } else {
          if (condNode) [bodyIn, condExit] = this.cond(condNode, clone(head));
          else bodyIn = clone(head);
          end = body ? this.exec(body, bodyIn) : bodyIn;
          end = joinStates([end, ...ctx.continues]);
          if (end) for (const u of updates) this.eval(u, end);
        }
      } finally {
        this.frame.loops.pop();
      }
      for (const s of [end, ...ctx.breaks]) {
        if (s?.wrote) wroteInBody = true;
        if (s?.macWrote) macInBody = true;
        if (s?.redirected) redirectedInBody = true;
      }
      exit = joinStates([condNode || n.type === 'do_statement' ? condExit : null, ...ctx.breaks]);
      const next = joinStates([entry, end]);
      if (!next || stateKey(next) === stateKey(head)) {
        settled = true;
        break;
      }
      head = pass === 1 ? widen(next, head, entry) : next;
    }
    // Passes that stopped before the locals settled (`for (i = 0; i < 10; i++)` seen with i in 0..2) do not show
    // that the condition never fails: the loop's exit is reached.
    if (exit?.unreachable && !settled) exit.unreachable = undefined;
    if (exit) {
      // A loop body usually runs; what it writes or redirects counts for the code after it.
      exit.wrote ||= wroteInBody;
      if (macInBody) exit.macWrote = true;
      exit.redirected ||= redirectedInBody;
    }
    return exit;
  }

  private execSwitch(n: Node, st: State): State | null {
    const condNode = n.childForFieldName('condition');
    const switched = condNode ? this.eval(condNode, st).v : undefined;
    const body = n.childForFieldName('body');
    const ctx: LoopCtx = { breaks: [], continues: [], isSwitch: true };
    this.frame.loops.push(ctx);
    let fall: State | null = null;
    let hasDefault = false;
    try {
      for (const c of body?.namedChildren ?? []) {
        if (!c) continue;
        if (c.type !== 'case_statement') {
          if (fall) fall = this.exec(c, fall);
          continue;
        }
        const value = c.childForFieldName('value');
        if (!value) hasDefault = true;
        let cur: State | null = joinStates([condNode ? this.caseEntry(condNode, value, body!, st, switched) : st, fall]);
        for (const s of c.namedChildren) {
          if (!s || (value && s.id === value.id)) continue;
          if (!cur) break;
          cur = this.exec(s, cur);
        }
        fall = cur;
      }
    } finally {
      this.frame.loops.pop();
    }
    // No `default:`: the path on which no label matched goes on past the switch, with a switched local holding known
    // constants keeping those equal to no label (`switch (rc) { case 3: return XDP_DROP; } return rc;` never returns 3).
    const unmatched = hasDefault ? null : condNode && body ? this.caseEntry(condNode, null, body, st, switched) : this.noLabelMatched(body, st, switched);
    return joinStates([fall, ...ctx.breaks, unmatched]);
  }

  /** A map named through object-like macros (`#define allowed_ports rule_map`): the map's own name. */
  private mapThroughMacros(name: string | undefined): string | undefined {
    for (let depth = 0; name && depth < 8 && !this.decls.maps.has(name); depth++) {
      const m = this.decls.macros.get(name);
      name = m && !m.params && /^\s*\w+\s*$/.test(m.body) ? m.body.trim() : undefined;
    }
    return name && this.decls.maps.has(name) ? name : undefined;
  }

  /**
   * `&local` given as a map key (or an update's value) with the local smaller than the map's key (value) size: the
   * helper reads the map's size from the variable's address, so the bytes after it (other variables, or stack never
   * written) become part of the key. Privileged loaders let the verifier accept this (uninitialised stack is allowed
   * for them), so it is the lookup that goes wrong, not the load.
   */
  private shortStackArgument(helper: string, map: string, what: string, size: number | undefined, arg: Node, st: State): void {
    if (size === undefined) return;
    // Casts do not change the address (`(void *)&port`).
    let inner = unparen(arg);
    while (inner.type === 'cast_expression' && inner.childForFieldName('value')) inner = unparen(inner.childForFieldName('value')!);
    // What the address is of: `&local`, `&local.member`, or a pointer local holding one of those (`kp = &port`).
    let target: string | undefined;
    let through: string | undefined;
    if (inner.type === 'pointer_expression' && inner.childForFieldName('operator')?.text === '&') {
      const v = inner.childForFieldName('argument');
      const u = v ? unparen(v) : undefined;
      if (u?.type === 'identifier') target = u.text;
      else if (u?.type === 'field_expression' && (u.childForFieldName('operator')?.text ?? u.child(1)?.text) === '.') {
        const base = u.childForFieldName('argument');
        if (base && unparen(base).type === 'identifier') target = `${unparen(base).text}.${u.childForFieldName('field')?.text ?? ''}`;
      }
    } else if (inner.type === 'identifier') {
      const v = st.vars.get(inner.text)?.v;
      if (v?.k === 'top' && v.stack && v.addr) [target, through] = [v.addr, inner.text];
    }
    if (!target) return;
    const [local, member] = target.split('.') as [string, string | undefined];
    const t = st.vars.get(local)?.t;
    const whole = t && t.ptr === 0 ? sizeOfType(t, this.decls) : undefined;
    if (whole === undefined) return;
    // A member: the bytes from it to the end of the local (a key read past it takes the members after it first).
    const field = member !== undefined ? structOf(t!.base, this.decls)?.fields[member] : undefined;
    if (member !== undefined && (!field || t!.dims.length > 0)) return;
    const have = whole - (field?.offset ?? 0);
    if (have >= size) return;
    const bytes = (n: number) => `${n} byte${n === 1 ? '' : 's'}`;
    const after = `${helper}() also reads the ${size - have} bytes after \`${local}\` (other variables, or stack never written) as part of the ${what}. Pass a variable of the map's ${what} type.`;
    const what0 = `\`${map}\` has ${size}-byte ${what}s, but`;
    const msg = member !== undefined
      ? `${what0} ${through ? `\`${through}\` points to` : ''}${through ? ` \`${target}\`` : `\`${target}\``}, ${bytes(have)} before the end of \`${local}\`: ${after}`
      : through
        ? `${what0} \`${through}\` points to \`${local}\`, which is ${bytes(have)}: ${after}`
        : `${what0} \`${local}\` is ${bytes(have)}: ${helper}() also reads the ${size - have} bytes after it (other variables, or stack never written) as part of the ${what}. Pass a variable of the map's ${what} type.`;
    this.report('map-arg-size', arg, msg);
  }

  /** The constant of every `case` label in a switch's body, or undefined when one is not a single known constant. */
  private caseLabels(body: Node, st: State): number[] | undefined {
    const labels: number[] = [];
    for (const c of body.namedChildren) {
      const v = c?.type === 'case_statement' ? c.childForFieldName('value') : null;
      if (!v) continue;
      const k = single(this.eval(v, clone(st)).v);
      if (k === undefined) return undefined;
      labels.push(k);
    }
    return labels;
  }

  /**
   * The state past a switch on a protocol field that no label matched (or at its `default:`): open changes made
   * under one of the labels' protocols were made on other paths.
   */
  private noLabelMatched(body: Node | null, st: State, switched?: Val): State {
    if (!body || !switched) return st;
    const at = protocolTest(switched, { k: 'consts', vals: [{ v: 0 }] })?.at;
    if (at === undefined) return st;
    const labels = this.caseLabels(body, st);
    if (!labels) return st;
    const out = clone(st);
    dropUnder(out, at, (n) => labels.includes(n));
    return out;
  }

  /**
   * The state a `case` label is entered with from the switch itself: a switched local holding known constants keeps
   * those equal to the label (`default`: those equal to no label), as a path condition.
   */
  private caseEntry(condNode: Node, value: Node | null, body: Node, st: State, switched?: Val): State {
    const inner = unparen(condNode);
    // `switch (ip->protocol)`: a `case IPPROTO_TCP:` entered from the switch proves the protocol on its path.
    const proof = value && switched ? protocolTest(switched, this.eval(value, clone(st)).v) : undefined;
    if (!value) st = this.noLabelMatched(body, st, switched);
    if (proof) {
      const out = clone(st);
      proveL4(out, proof);
      return out;
    }
    const slot = inner.type === 'identifier' ? st.vars.get(inner.text) : undefined;
    if (!slot || slot.v.k !== 'consts') return st;
    const one = value ? single(this.eval(value, clone(st)).v) : undefined;
    const labels = value ? (one === undefined ? undefined : [one]) : this.caseLabels(body, st);
    if (!labels) return st;
    const keep = slot.v.vals.filter((c) => (value ? labels.includes(c.v) : !labels.includes(c.v)));
    if (keep.length === slot.v.vals.length) return st;
    const out = clone(st);
    out.vars.set(inner.text, { v: { k: 'consts', vals: keep, more: slot.v.more }, t: slot.t });
    return out;
  }

  private execReturn(n: Node, st: State): void {
    const e = n.namedChild(0);
    let tv = e ? this.eval(e, st) : { v: TOP };
    // Also a value known only in part (`dport = get_dport(...)`: -1, or a port read from the packet): its unknown part
    // is what the condition bounds.
    if (e && (tv.v.k === 'top' || (tv.v.k === 'consts' && tv.v.more))) {
      const g = this.guardedAbove(n, e, st);
      if (g) tv = { v: { k: 'consts', vals: tv.v.k === 'consts' ? [...tv.v.vals, g] : [g] }, t: tv.t };
    }
    const frame = this.frame;
    // A counted map value returned by a callee the program returns straight (`return fwd(ctx);`), all the way up:
    // judged here, where it is written, since joining the callee's returns loses where it came from.
    if (!frame.isProgram && e && tv.v.k === 'top' && tv.v.mapRead && this.returnedStraight()) this.mapCounterReturn(e, tv.v.mapRead);
    if (frame.isProgram) this.checkReturn(n, e, tv, st);
    else frame.returns.push({ state: st, tv: { v: this.stampReturn(tv.v, st, frame), t: tv.t } });
  }

  /** Every call from the program down to the current function is the value of a `return` (`return f(ctx);`). */
  private returnedStraight(): boolean {
    for (let i = this.frames.length - 1; i >= 1; i--) {
      const site = this.frames[i]!.callSite;
      let p = site?.parent;
      while (p && (p.type === 'parenthesized_expression' || p.type === 'cast_expression')) p = p.parent;
      if (!p || p.type !== 'return_statement') return false;
    }
    return true;
  }

  /**
   * A value the tier cannot follow, returned inside `if (E > k)` (or `>=`, `k < E`, one side of `&&`) with `E` the
   * returned expression and k at least 4: on this path it is above every action (`if (e->count > 250) return
   * e->count;`, `if (cpu >= MAX_CPUS) return cpu;`). Only where nothing between the condition and the return assigns
   * to `E`.
   */
  private guardedAbove(ret: Node, e: Node, st: State): ConstVal | undefined {
    let expr = unparen(e);
    while (expr.type === 'cast_expression' && expr.childForFieldName('value')) expr = unparen(expr.childForFieldName('value')!);
    if (!['identifier', 'field_expression', 'subscript_expression', 'pointer_expression'].includes(expr.type)) return undefined;
    if (expr.type === 'pointer_expression' && expr.childForFieldName('operator')?.text !== '*') return undefined;
    const text = expr.text.replace(/\s+/g, '');
    let child: Node = ret;
    for (let p = ret.parent; p; child = p, p = p.parent) {
      if (p.type === 'function_definition') return undefined;
      if (p.type !== 'if_statement' || p.childForFieldName('consequence')?.id !== child.id) continue;
      const cond = p.childForFieldName('condition');
      const bound = cond ? this.lowerBoundFrom(cond, text, st) : undefined;
      if (bound === undefined || bound <= 4) continue;
      // Nothing between the condition and the return may change E.
      const assigned = (n: Node): boolean => {
        if (n.startIndex >= ret.startIndex) return false;
        if (n.type === 'assignment_expression' || n.type === 'update_expression') {
          const target = n.childForFieldName('left') ?? n.childForFieldName('argument');
          if (target && target.text.replace(/\s+/g, '') === text) return true;
        }
        return n.namedChildren.some((c) => !!c && assigned(c));
      };
      if (assigned(child)) return undefined;
      const line = this.rangeOf(cond!).line;
      return { v: bound, bound: true, note: `\`${expr.text}\` is at least ${bound} on this path (the condition on line ${line})`, origin: { file: this.unit.file, range: this.rangeOf(e) } };
    }
    return undefined;
  }

  /** The smallest value `cond` being true proves for the expression `text` (`x > 250`: 251), if any. */
  private lowerBoundFrom(cond: Node, text: string, st: State): number | undefined {
    const c = unparen(cond);
    if (c.type !== 'binary_expression') return undefined;
    const op = c.childForFieldName('operator')?.text ?? '';
    const left = c.childForFieldName('left');
    const right = c.childForFieldName('right');
    if (!left || !right) return undefined;
    if (op === '&&') {
      const a = this.lowerBoundFrom(left, text, st);
      const b = this.lowerBoundFrom(right, text, st);
      return a === undefined ? b : b === undefined ? a : Math.max(a, b);
    }
    const same = (n: Node) => {
      let x = unparen(n);
      while (x.type === 'cast_expression' && x.childForFieldName('value')) x = unparen(x.childForFieldName('value')!);
      return x.text.replace(/\s+/g, '') === text;
    };
    const constOf = (n: Node) => {
      const v = this.eval(n, clone(st)).v;
      return v.k === 'consts' && !v.more && v.vals.length === 1 && Number.isInteger(v.vals[0]!.v) ? v.vals[0]!.v : undefined;
    };
    let k: number | undefined;
    let dir: string;
    if (same(left)) {
      k = constOf(right);
      dir = op;
    } else if (same(right)) {
      k = constOf(left);
      dir = op === '<' ? '>' : op === '<=' ? '>=' : op === '>' ? '<' : op === '>=' ? '<=' : '';
    } else return undefined;
    if (k === undefined) return undefined;
    return dir === '>' ? k + 1 : dir === '>=' ? k : undefined;
  }

  /**
   * What a callee's returned value carries (see stamp): a header change the callee left open, and also one made
   * before the call and still open, on the constants the callee writes itself (`ttl--` then `return handle(ctx)`,
   * whose `return XDP_PASS` sends the change on while its `return XDP_DROP` does not). Values passed in through its
   * parameters keep the caller's own stamps.
   */
  private stampReturn(v: Val, st: State, frame: Frame): Val {
    if (st.csumOpen !== frame.entryCsum || !st.csumOpen || v.k !== 'consts') return stamp(v, st, st.csumOpen !== frame.entryCsum);
    const body = frame.fn.node;
    const file = frame.fn.unit.file;
    const own = (c: ConstVal) => !!c.origin && c.origin.file === file && c.origin.range.line >= body.startPosition.row + 1 && c.origin.range.line <= body.endPosition.row + 1 && !c.callee;
    const stamped = stamp(v, st, false);
    if (stamped.k !== 'consts' || !stamped.vals.some((c) => own(c) && !c.csumStale)) return stamped;
    return { ...stamped, vals: stamped.vals.map((c) => (own(c) && !c.csumStale ? { ...c, csumStale: st.csumOpen } : c)) };
  }

  /**
   * `long ret = bpf_redirect_map(&xsks, q, 0);` whose `ret` the function reads only in log calls (bpf_printk) or not
   * at all: the program's verdict does not depend on it, so the helper's result is ignored as if the call stood alone
   * (a missing key sets no target, and a later `return XDP_REDIRECT;` drops the frame).
   */
  private redirectOnlyLogged(value: Node, name: string, own: Node): boolean {
    let call = unparen(value);
    while (call.type === 'cast_expression' && call.childForFieldName('value')) call = unparen(call.childForFieldName('value')!);
    if (call.type !== 'call_expression' || calleeName(call) !== 'bpf_redirect_map' || this.site) return false;
    const body = this.frame.fn.body;
    const uses: Node[] = [];
    const walk = (x: Node) => {
      if (x.type === 'identifier' && x.text === name) uses.push(x);
      for (const c of x.namedChildren) if (c) walk(c);
    };
    walk(body);
    const logging = /printk|printf|trace|debug|log/i;
    for (const u of uses) {
      if (u.startIndex >= own.startIndex && u.endIndex <= own.endIndex) continue;
      const p = u.parent;
      if (p?.type === 'assignment_expression' && p.childForFieldName('left')?.id === u.id && p.childForFieldName('operator')?.text === '=') continue;
      let logged = false;
      for (let a: Node | null = p; a && a.type !== 'expression_statement' && a.type !== 'compound_statement'; a = a.parent) {
        if (a.type === 'call_expression' && logging.test(calleeName(a) ?? '')) {
          logged = true;
          break;
        }
      }
      if (!logged) return false;
    }
    return true;
  }

  private unusedRedirect(value: Node, stmt: Node, st: State): Val {
    let call = unparen(value);
    while (call.type === 'cast_expression' && call.childForFieldName('value')) call = unparen(call.childForFieldName('value')!);
    const v = this.eval(call, st, { discarded: true }).v;
    st.pendingRedirect = { file: this.unit.file, start: stmt.startIndex, end: stmt.endIndex, text: call.text, line: stmt.startPosition.row + 1 };
    return v;
  }

  // ---- calls used as statements, macros as statements -----------------------------------------------------------

  private callStatement(call: Node, stmt: Node, st: State): State | null {
    const name = calleeName(call);
    if (name) this.used.add(name);
    if (name === 'bpf_redirect_map' && !this.site) {
      this.eval(call, st, { discarded: true });
      st.pendingRedirect = { file: this.unit.file, start: stmt.startIndex, end: stmt.endIndex, text: call.text, line: stmt.startPosition.row + 1 };
      return st;
    }
    const macro = name ? this.decls.macros.get(name) : undefined;
    if (name && macro?.params && !this.decls.functions.has(name) && !this.expanding.has(name)) {
      const s = snippet(expandFunctionMacro(macro, argTexts(call)));
      if (s && !s.expr) return this.inMacro(name, call, () => this.execList(s.statements, st));
    }
    this.eval(call, st);
    return st;
  }

  private inMacro<T>(name: string, site: Node, f: () => T): T {
    const savedSite = this.site;
    this.site = this.site ?? site;
    this.expanding.add(name);
    try {
      return f();
    } finally {
      this.expanding.delete(name);
      this.site = savedSite;
    }
  }

  // ---- conditions ----------------------------------------------------------------------------------------------

  /** Evaluates a condition and returns the states where it is true and where it is false. */
  /**
   * The truth of a condition that is an integer constant expression (literals, macros, enums, sizeof, and `&&`/`||`
   * decided by one constant side: `DEBUG && x`), or undefined when it depends on the program's values.
   */
  private constTruth(n: Node, depth = 0, st?: State): boolean | undefined {
    const node = unparen(n);
    if (depth > 8) return undefined;
    // The names the decision rests on (macros, and the macros in their bodies): the editor's cache analyses the
    // program again when one changes.
    if (depth === 0) this.useNames(node.text, 0);
    if (node.type === 'unary_expression' && node.childForFieldName('operator')?.text === '!') {
      const arg = node.childForFieldName('argument');
      const v = arg ? this.constTruth(arg, depth + 1, st) : undefined;
      return v === undefined ? undefined : !v;
    }
    if (node.type === 'binary_expression') {
      const op = node.childForFieldName('operator')?.text;
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      if (left && right && (op === '&&' || op === '||')) {
        const l = this.constTruth(left, depth + 1, st);
        const r = this.constTruth(right, depth + 1, st);
        if (op === '&&') return l === false || r === false ? false : l === true && r === true ? true : undefined;
        return l === true || r === true ? true : l === false && r === false ? false : undefined;
      }
    }
    // `sizeof(*ip) > 40`: sizeof of an expression is a constant of its type, known from the locals' declarations.
    const v = st && node.text.includes('sizeof') ? this.constEvalLocal(node, st, 0) : constEval(node, this.decls);
    return v === undefined || !Number.isFinite(v) ? undefined : v !== 0;
  }

  /** constEval, with `sizeof` of an expression (`sizeof(*ip)`, `sizeof(ip->saddr)`) sized by the types of the locals. */
  private constEvalLocal(n: Node, st: State, depth: number): number | undefined {
    if (depth > 16) return undefined;
    const node = unparen(n);
    switch (node.type) {
      case 'sizeof_expression':
        return this.sizeofExpr(node, st);
      case 'cast_expression': {
        const v = node.childForFieldName('value');
        return v ? this.constEvalLocal(v, st, depth + 1) : undefined;
      }
      case 'unary_expression': {
        const a = node.childForFieldName('argument');
        const v = a ? this.constEvalLocal(a, st, depth + 1) : undefined;
        if (v === undefined) return undefined;
        const op = node.childForFieldName('operator')?.text;
        return op === '-' ? -v : op === '~' ? ~v : op === '!' ? Number(!v) : op === '+' ? v : undefined;
      }
      case 'binary_expression': {
        const l = node.childForFieldName('left');
        const r = node.childForFieldName('right');
        const a = l ? this.constEvalLocal(l, st, depth + 1) : undefined;
        const b = r ? this.constEvalLocal(r, st, depth + 1) : undefined;
        return a === undefined || b === undefined ? undefined : binaryConst(node.childForFieldName('operator')?.text ?? '', a, b);
      }
      default:
        return constEval(node, this.decls);
    }
  }

  private useNames(text: string, depth: number): void {
    for (const name of text.match(/\b[A-Za-z_]\w*\b/g) ?? []) {
      if (this.used.has(name)) continue;
      this.used.add(name);
      const m = this.decls.macros.get(name);
      if (m && !m.params && depth < 8) this.useNames(m.body, depth + 1);
    }
  }

  private cond(n: Node, st: State): [State, State] {
    this.tick();
    const node = unparen(n);
    if (node.type === 'unary_expression' && node.childForFieldName('operator')?.text === '!') {
      const arg = node.childForFieldName('argument');
      if (arg) {
        const [t, f] = this.cond(arg, st);
        return [f, t];
      }
    }
    if (node.type === 'binary_expression') {
      const op = node.childForFieldName('operator')?.text ?? '';
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      if (left && right && op === '&&') {
        const [lt, lf] = this.cond(left, st);
        const [rt, rf] = this.cond(right, lt);
        return [rt, joinStates([lf, rf])!];
      }
      if (left && right && op === '||') {
        const [lt, lf] = this.cond(left, st);
        const [rt, rf] = this.cond(right, lf);
        return [joinStates([lt, rt])!, rf];
      }
      if (left && right && (op === '==' || op === '!=')) {
        const lt = this.eval(left, st);
        const rt = this.eval(right, st);
        const l = lt.v;
        const r = rt.v;
        this.helperBoundsCheck(node, st);
        const t = st;
        const f = clone(st);
        // `v == NULL` / `v != 0`: the map value is not NULL where the comparison says it differs from 0.
        const test = nullTest(lt, op, rt, this.decls);
        if (test) {
          this.nullChecked(test.nonNull ? t : f, test.id);
          markNull(test.nonNull ? f : t, test.id);
        } else this.nullCut(lt, left, rt, right, t, f);
        this.refineConsts(left, op, r, t, f);
        this.refineConsts(right, op, l, t, f, true);
        this.refineEffects(left, l, op, r, t, f);
        this.refineEffects(right, r, op, l, t, f, true);
        if (isNullConst(r)) this.noteFact(left, op === '!=', t, f);
        else if (isNullConst(l)) this.noteFact(right, op === '!=', t, f);
        const proof = protocolTest(l, r) ?? protocolTest(r, l);
        if (proof) {
          proveL4(op === '==' ? t : f, proof);
          if (proof.at !== undefined) dropUnder(op === '==' ? f : t, proof.at, (n) => n === proof.num);
        }
        // `if (udp->check != 0) <update>`: a UDP packet sent with no checksum (0) has none to update.
        if (isUdpCheck(l, r) || isUdpCheck(r, l)) markL4Updated(op === '==' ? t : f);
        return [t, f];
      }
      if (left && right && (op === '<' || op === '<=' || op === '>' || op === '>=')) {
        const lt = this.eval(left, st);
        const rt = this.eval(right, st);
        const l = lt.v;
        const r = rt.v;
        this.helperBoundsCheck(left, st);
        this.helperBoundsCheck(right, st);
        const t = st;
        const f = clone(st);
        // `if (v > 0)`, `if (v <= 0) return ...;`: a null test too (see nullTest).
        const test = nullTest(lt, op, rt, this.decls);
        if (test) {
          this.nullChecked(test.nonNull ? t : f, test.id);
          markNull(test.nonNull ? f : t, test.id);
        } else this.nullCut(lt, left, rt, right, t, f);
        this.refineBounds(l, op, r, t, f, left);
        this.refineConsts(left, op, r, t, f);
        this.refineConsts(right, op, l, t, f, true);
        this.refineEffects(left, l, op, r, t, f);
        this.refineEffects(right, r, op, l, t, f, true);
        return [t, f];
      }
    }
    if (node.type === 'call_expression') {
      const hint = this.branchHint(node, st);
      if (hint) return hint;
    }
    const tv = this.eval(node, st);
    const v = tv.v;
    this.helperBoundsCheck(node, st);
    const f = clone(st);
    if (isUdpCheck(v, { k: 'consts', vals: [{ v: 0 }] })) markL4Updated(f);
    // `if ((__u32)(unsigned long)v)`: a cut, refused as with a comparison (nullCut), not a NULL check.
    const cut = this.nullCut(tv, node, { v: { k: 'consts', vals: [{ v: 0 }] } }, node, st, f);
    if (!cut && v.k === 'mapval') {
      this.nullChecked(st, v.id);
      markNull(f, v.id);
    }
    this.refineConsts(node, '!=', { k: 'consts', vals: [{ v: 0 }] }, st, f);
    this.refineEffects(node, v, '!=', { k: 'consts', vals: [{ v: 0 }] }, st, f);
    this.noteFact(node, true, st, f);
    return [st, f];
  }

  /**
   * `if (SETTING)`, `if (SETTING == 0)` on a read-only scalar global (`const volatile` in .rodata): the verifier
   * knows its value at load, so each side of the branch records the truthiness it proves (State.facts) for a later
   * test of the same global (a helper's `if (!SETTING) return;`). `truthy`: what the true side proves.
   */
  private noteFact(node: Node, truthy: boolean, t: State, f: State): void {
    let inner = unparen(node);
    while (inner.type === 'cast_expression' && inner.childForFieldName('value')) inner = unparen(inner.childForFieldName('value')!);
    if (inner.type !== 'identifier' || t.vars.has(inner.text)) return;
    const g = this.decls.globals.get(inner.text);
    if (!g?.isConst || g.type.ptr > 0 || g.type.dims.length > 0) return;
    const set = (st: State, x: boolean) => {
      const m = new Map(st.facts ?? []);
      m.set(inner.text, x);
      st.facts = m;
    };
    set(t, truthy);
    set(f, !truthy);
  }

  /**
   * A status returned by a callee tells its paths apart: `if (rewrite(...) < 0) return XDP_DROP;` goes on only
   * through the returns that gave 0, and those changed the frame (or redirected) even where the callee's other
   * returns did not. Each constant carries what its own path did (ConstVal.wrote, .redirected); where every value left
   * on one side of the branch says the frame was changed, that side counts as changed. The callee's declared return
   * type decides the comparison (an unsigned result is never below 0).
   */
  private refineEffects(node: Node, v: Val, op: string, other: Val, t: State, f: State, swapped = false): void {
    const k = single(other);
    if (k === undefined || v.k !== 'consts' || v.more || !v.vals.length) return;
    const effects = v.vals.some((c) => c.wrote || c.redirected);
    if (!effects && !v.vals.some((c) => c.exit)) return;
    let inner = unparen(node);
    while (inner.type === 'cast_expression' && inner.childForFieldName('value')) inner = unparen(inner.childForFieldName('value')!);
    let typeText = '';
    if (inner.type === 'call_expression') {
      const fn = this.decls.functions.get(inner.childForFieldName('function')?.text ?? '');
      if (!fn) return;
      typeText = fn.node.childForFieldName('type')?.text ?? '';
    } else if (inner.type === 'identifier') {
      typeText = t.vars.get(inner.text)?.t?.base ?? '';
    } else return;
    if (/\b(?:unsigned|__u\d+|u\d+|uint\d+_t|size_t|__be\d+|__le\d+|bool|_Bool)\b/.test(typeText) && (k < 0 || v.vals.some((c) => c.v < 0))) return;
    const cmp = (x: number): boolean | undefined => {
      return swapped ? compareBy(op, k, x) : compareBy(op, x, k);
    };
    for (const [want, side] of [[true, t], [false, f]] as const) {
      const kept = v.vals.filter((c) => {
        const r = cmp(c.v);
        return r === undefined || r === want;
      });
      if (!kept.length) continue;
      if (effects && kept.every((c) => c.wrote)) side.wrote = true;
      if (effects && kept.every((c) => c.macWrote)) side.macWrote = true;
      if (effects && kept.every((c) => c.redirected)) side.redirected = true;
      if (kept.length < v.vals.length) this.sumsOfResults(side, kept);
    }
  }

  /**
   * A test of a callee's result (`ret = calc_sums(ctx); if (ret != XDP_TX) return ret;`) with nothing changed since
   * the call: on each side, the checksum state is that of the callee's returns giving the values kept there, not the
   * join of all of them (the `return XDP_ABORTED` after `check = 0` is not the path going on after the update).
   */
  private sumsOfResults(side: State, kept: ConstVal[]): void {
    const after = kept[0]!.exit?.after;
    if (!after || !kept.every((c) => c.exit?.after === after) || !sameSums(side, after)) return;
    const exits = [...new Set(kept.map((c) => c.exit!.sums))];
    const j = joinStates(exits.map((sums) => Object.assign(clone(side), sums)));
    if (!j) return;
    if (j.csumUpdated && !side.csumUpdated) markCsumUpdated(side);
    if (j.l4Updated && !side.l4Updated) markL4Updated(side);
    if (j.icmpUpdated && !side.icmpUpdated) markIcmpUpdated(side);
    Object.assign(side, sumsOf(j));
  }

  /**
   * Path conditions: `x OP k` with `x` a local holding known constants and `k` a constant keeps, on each side of the
   * branch, only the constants for which the comparison has that outcome (`if (action >= 0) return action;` returns
   * no negative action). `swapped`: the local is the right operand. Unsigned locals keep negative constants on both
   * sides (their comparison is of the converted value).
   */
  /**
   * The callee's returns that moved the packet give known values that its returns without the move never give: the
   * caller can tell them apart by the result, so the pointers from before the call are restored on a branch that
   * keeps only the latter (`ret = handle(ctx); if (!ret) use(iph);`).
   */
  private statusOfMove(end: State | null, returns: Frame['returns'], genBefore: number, before: Unstale): Unstale | undefined {
    if (end) return undefined;
    const moved = new Set<number>();
    const kept = new Set<number>();
    for (const r of returns) {
      if (r.tv.v.k !== 'consts' || r.tv.v.more) return undefined;
      for (const c of r.tv.v.vals) (r.state.gen > genBefore ? moved : kept).add(c.v);
    }
    if (!moved.size || ![...kept].some((x) => !moved.has(x))) return undefined;
    return { ...before, moved };
  }

  /** `st`'s branch narrowed a callee's result to values of its returns that did not move the packet. */
  private restoreUnmoved(st: State, vals: ConstVal[]): void {
    const u = st.unstale;
    if (!u || !vals.length || !vals.every((c) => c.keep === u)) return;
    for (const [name, slot] of u.slots) {
      const cur = st.vars.get(name);
      if (cur && (cur.v.k === 'pkt' || cur.v.k === 'end') && cur.v.stale) st.vars.set(name, slot);
    }
    st.gen = u.gen;
    st.invalidated = u.invalidated;
    const proven = new Map(u.proven);
    for (const [root, n] of st.proven) if (n > (proven.get(root) ?? 0)) proven.set(root, n);
    st.proven = proven;
    st.unstale = undefined;
  }

  private refineConsts(node: Node, op: string, other: Val, t: State, f: State, swapped = false): void {
    let inner = unparen(node);
    // The comparison is made in the outermost cast's type (`(unsigned int)rc <= XDP_TX` excludes negative codes).
    const castTo = inner.type === 'cast_expression' ? inner.childForFieldName('type')?.text : undefined;
    while (inner.type === 'cast_expression' && inner.childForFieldName('value')) inner = unparen(inner.childForFieldName('value')!);
    if (inner.type !== 'identifier') return;
    const k = single(other);
    const slot = t.vars.get(inner.text);
    if (k === undefined || !slot || slot.v.k !== 'consts' || (slot.t && (slot.t.ptr > 0 || slot.t.dims.length > 0))) return;
    const base = castTo !== undefined && !castTo.includes('*') ? castTo : slot.t?.base;
    const unsigned = base !== undefined && /\b(?:unsigned|__u\d+|u\d+|uint\d+_t|size_t|__be\d+|__le\d+)\b/.test(base);
    // An unsigned local compares its value modulo 2^bits (`__u32 action = -1` is 0xffffffff, above every action).
    const bits = !unsigned ? 0 : /\b(?:__u8|u8|uint8_t|unsigned char)\b/.test(base!) ? 8 : /\b(?:__u16|u16|uint16_t|__be16|__le16|unsigned short)\b/.test(base!) ? 16 : /64|long|size_t/.test(base!) ? 64 : 32;
    const wrap = (x: number): number => (bits && x < 0 ? x + 2 ** bits : x);
    const cmp = (x0: number): boolean | undefined => {
      const x = wrap(x0);
      if (unsigned && k < 0) return undefined;
      return swapped ? compareBy(op, k, x) : compareBy(op, x, k);
    };
    const vals = slot.v.vals;
    const more = slot.v.more;
    const keep = (want: boolean) => vals.filter((c) => {
      const r = cmp(c.v);
      return r === undefined || r === want;
    });
    const tv = keep(true);
    const fv = keep(false);
    if (tv.length !== vals.length) t.vars.set(inner.text, { v: { k: 'consts', vals: tv, more }, t: slot.t });
    const fslot = f.vars.get(inner.text);
    if (fslot && fv.length !== vals.length) f.vars.set(inner.text, { v: { k: 'consts', vals: fv, more }, t: fslot.t });
    // A local that holds only known values, none of which takes this branch: the branch is never taken.
    const exact = !more && vals.length > 0 && !vals.some((c) => c.bound || c.undef);
    if (exact && tv.length === 0) t.unreachable = true;
    if (exact && fv.length === 0 && fslot === slot) f.unreachable = true;
    if (!more) {
      this.restoreUnmoved(t, tv);
      this.restoreUnmoved(f, fv);
    }
  }

  /**
   * `likely(v)`, `unlikely(!v)`, `__builtin_expect(!!(v), 1)`: the condition is the first argument. A macro of the
   * file that expands to an expression is followed as a condition too, so a check inside it refines both branches.
   */
  private branchHint(call: Node, st: State): [State, State] | undefined {
    const name = calleeName(call);
    const args = (call.childForFieldName('arguments')?.namedChildren ?? []).filter((c): c is Node => !!c && c.type !== 'comment');
    if (!name || args.length === 0 || this.decls.functions.has(name)) return undefined;
    this.used.add(name);
    const macro = this.decls.macros.get(name);
    if (macro?.params && !this.expanding.has(name)) {
      const s = snippet(expandFunctionMacro(macro, args.map((a) => a.text)));
      if (!s?.expr) return undefined;
      const expr = s.expr;
      const [t, f] = this.inMacro(name, call, () => this.cond(expr, st));
      this.helperBoundsCheck(call, t);
      this.helperBoundsCheck(call, f);
      return [t, f];
    }
    if (macro) return undefined;
    if (name === '__builtin_expect' || ((name === 'likely' || name === 'unlikely') && args.length === 1)) {
      const [t, f] = this.cond(args[0], st);
      for (const a of args.slice(1)) {
        this.eval(a, t);
        this.eval(a, f);
      }
      return [t, f];
    }
    return undefined;
  }

  /**
   * `if (!in_bounds(eth, sizeof(*eth), data_end)) return ...;`: a condition that calls one of the program's own
   * functions with a packet pointer and data_end may be a bounds check the tier cannot see through (the result is
   * a comparison folded into a return value). Take the pointers passed as checked, in both branches, rather than
   * report accesses the verifier accepts after inlining.
   */
  private helperBoundsCheck(node: Node, st: State): void {
    const calls = node.type === 'call_expression' ? [node] : node.descendantsOfType('call_expression');
    for (const call of calls) {
      const name = call ? calleeName(call) : undefined;
      if (!call || !name || !(this.decls.functions.has(name) || this.decls.macros.get(name)?.params)) continue;
      const args = (call.childForFieldName('arguments')?.namedChildren ?? []).map((a) => (a ? st.vars.get(rootIdentifier(a) ?? '')?.v : undefined));
      // Metadata is bounded by the packet's start (`in_bounds(md, sizeof(*md), data)`): a data pointer is its end.
      const end = args.some((v) => v?.k === 'end' && !v.stale);
      const metaEnd = !end && args.some((v) => v?.k === 'pkt' && v.region === 'data' && !v.stale);
      if (!end && !metaEnd) continue;
      for (const v of args) if (v?.k === 'pkt' && !v.stale && (end || v.region === 'meta')) prove(st, v.root, null);
    }
  }

  /** Records what `l op r` proves about packet bounds in the true state `t` and the false state `f`. */
  private refineBounds(l: Val, op: string, r: Val, t: State, f: State, cond: Node): void {
    const flip: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
    // Normalise to `pointer OP bound`.
    let p = l;
    let b = r;
    let o = op;
    if (!(p.k === 'pkt' && isBound(p, b)) && r.k === 'pkt' && isBound(r, l)) {
      p = r;
      b = l;
      o = flip[op];
    }
    if (p.k === 'pkt' && isBound(p, b) && !p.stale) {
      // pointer <= bound holds where `p > b` / `p >= b` is false and where `p < b` / `p <= b` is true.
      const target = o === '>' || o === '>=' ? f : t;
      // A check of bytes an earlier check of this path already proved (`fix_csum(ctx, 24)` testing `data + 26 > end`
      // after `iph + 1 > end` proved 34 bytes): its failing branch cannot run. Only a fixed offset against data_end
      // and a proof of a fixed length (a variable one is taken as checked without its length being known).
      const had = target.proven.get(p.root);
      if (b.k === 'end' && p.off !== null && had !== undefined && Number.isFinite(had)) {
        const strict = o === '>' || o === '<=';
        if (strict ? p.off <= had : p.off < had) (target === f ? t : f).unreachable = true;
      }
      prove(target, p.root, p.off);
      // Where the check fails the frame is shorter than p's offset: below 12 bytes it has no Ethernet addresses to
      // leave unchanged (`if (data + 4 <= end) *(__u32 *)data = x;` writes them on every frame that has them).
      if (p.region === 'data' && p.off !== null && p.off <= 12 && /^data#\d+$/.test(p.root)) (target === t ? f : t).macWrote = true;
      return;
    }
    // A pointer the tier does not follow (a parser's cursor kept in a struct, `c->pos`, `nh.pos + 1`) compared with
    // data_end may point anywhere in the packet: the packet counts as checked where the comparison passed, rather
    // than report accesses through `data` that the verifier accepts after the parser's check.
    if ((l.k === 'top' && r.k === 'end' && !r.stale) || (r.k === 'top' && l.k === 'end' && !l.stale)) {
      const oo = l.k === 'top' ? op : flip[op];
      const target = oo === '>' || oo === '>=' ? f : t;
      prove(target, `data#${target.gen}`, null);
      return;
    }
    // data_end - pointer compared with a constant.
    let len = l;
    let c = r;
    o = op;
    if (len.k !== 'len' && r.k === 'len') {
      len = r;
      c = l;
      o = flip[op];
    }
    // `data_end - data` compared with a length: a scalar to the verifier, which learns no packet range from it and
    // refuses the accesses it was meant to guard ("invalid access to packet"). Nothing is proven; the access's
    // finding says why.
    if (len.k === 'len' && single(c) !== undefined && !this.lengthChecks.has(len.root)) this.lengthChecks.set(len.root, cond.startPosition.row + 1);
  }

  // ---- expressions ---------------------------------------------------------------------------------------------

  private evalChildren(n: Node, st: State): void {
    for (const c of n.namedChildren) if (c) this.eval(c, st);
  }

  eval(n: Node, st: State, opts: { discarded?: boolean } = {}): TV {
    this.tick();
    switch (n.type) {
      case 'number_literal': {
        const v = literalNumber(n.text);
        return v === undefined ? { v: TOP } : { v: { k: 'consts', vals: [{ v, origin: this.originOf(n) }] }, t: { base: 'int', ptr: 0, dims: [] } };
      }
      case 'char_literal': {
        const body = n.text.slice(1, -1);
        return body.length === 1 ? { v: { k: 'consts', vals: [{ v: body.charCodeAt(0), origin: this.originOf(n) }] } } : { v: TOP };
      }
      case 'true':
      case 'false':
        return { v: { k: 'consts', vals: [{ v: n.type === 'true' ? 1 : 0 }] } };
      case 'null':
        return { v: { k: 'consts', vals: [{ v: 0 }] } };
      case 'identifier':
        return this.identifier(n, st);
      case 'parenthesized_expression': {
        const inner = n.namedChild(0);
        if (inner?.type === 'compound_statement') return this.statementExpression(inner, st);
        return inner ? this.eval(inner, st, opts) : { v: TOP };
      }
      case 'cast_expression': {
        const value = n.childForFieldName('value');
        const typeNode = n.childForFieldName('type');
        const inner = value ? this.eval(value, st) : { v: TOP };
        const t = typeNode ? typeDescriptor(typeNode, this.decls) : undefined;
        return { v: t ? retype(inner.v, t) : inner.v, t };
      }
      case 'field_expression':
        return this.field(n, st, false);
      case 'pointer_expression': {
        const op = n.childForFieldName('operator')?.text;
        const arg = n.childForFieldName('argument');
        if (!arg) return { v: TOP };
        if (op === '&') {
          // `&pkt` handed on (a parser filling a struct of pointers): what its members point at is no longer known.
          const root = rootIdentifier(arg);
          // `&c.pos` hands on that member only (see addressOf).
          const key = unparen(arg).type === 'field_expression' ? this.memberSlot(arg, st) : undefined;
          const kept = key && key.includes('.') ? st.vars.get(key)?.v : undefined;
          if (kept?.k === 'pkt' || kept?.k === 'end') return this.addressOf(arg, st);
          if (root && !(this.passing.has(n.id) && unparen(arg).type === 'identifier')) this.forgetMembers(root, st);
          return this.addressOf(arg, st);
        }
        const p = this.eval(arg, st);
        const cell = p.v.k === 'top' && p.v.ref ? this.refCells.get(p.v.ref) : undefined;
        if (cell) return { v: cell.written ?? cell.value, t: p.t ? derefType(p.t) : undefined };
        const size = p.t ? pointeeSize(p.t, this.decls) ?? 1 : 1;
        this.nullDeref(p.v, n, arg, st);
        this.access(p, 0, size, n, st, arg);
        const t = p.t ? derefType(p.t) : undefined;
        if (p.v.k === 'mapval' && t && t.ptr === 0 && t.dims.length === 0 && INT_TYPES_BY_SIZE[size] !== undefined) return { v: { k: 'top', mapRead: { map: mapKey(p.v), field: '*', text: unparen(n).text } }, t };
        return { v: derefValue(p.v), t };
      }
      case 'subscript_expression':
        return this.subscript(n, st, false);
      case 'unary_expression': {
        const arg = n.childForFieldName('argument');
        const op = n.childForFieldName('operator')?.text ?? '';
        const a = arg ? this.eval(arg, st) : { v: TOP };
        // `ok = !v` kept for later: a NULL test the tier does not follow to its branch; take the value as checked.
        if (op === '!' && a.v.k === 'mapval') this.nullChecked(st, a.v.id);
        return { v: mapConsts(a.v, (x) => (op === '-' ? -x : op === '~' ? ~x : op === '!' ? Number(!x) : x), n, this), t: a.t };
      }
      case 'binary_expression':
        return this.binary(n, st);
      case 'conditional_expression': {
        const c = n.childForFieldName('condition');
        const cons = n.childForFieldName('consequence');
        const alt = n.childForFieldName('alternative');
        // `USE_TX ? XDP_TX : XDP_PASS` with a constant condition: only the side it picks is compiled.
        const known = c ? this.constTruth(c, 0, st) : undefined;
        const picked = known === undefined ? undefined : known ? cons : alt;
        if (picked) return this.eval(picked, st);
        const [ts, fs] = c ? this.cond(c, st) : [st, clone(st)];
        const a = cons ? this.eval(cons, ts) : { v: TOP };
        const b = alt ? this.eval(alt, fs) : { v: TOP };
        assignState(st, joinStates([ts, fs])!);
        return { v: joinVals(a.v, b.v), t: a.t ?? b.t };
      }
      case 'assignment_expression':
        return this.assign(n, st);
      case 'update_expression': {
        const arg = n.childForFieldName('argument');
        if (!arg) return { v: TOP };
        const old = this.eval(arg, st);
        const op = n.childForFieldName('operator')?.text === '--' ? '-' : '+';
        const next = this.arith(old, op, { v: { k: 'consts', vals: [{ v: 1 }] } }, n);
        this.store(arg, next, st, n);
        return old;
      }
      case 'call_expression': {
        // `(typeof(iph))(eth + 1)` parses as a call of `(typeof(iph))`: a cast to the type of the named local.
        const fn = n.childForFieldName('function');
        const typeOf = fn?.type === 'parenthesized_expression' ? /^\(\s*(?:typeof|__typeof__|__typeof)\s*\(\s*([A-Za-z_]\w*)\s*\)\s*\)$/.exec(fn.text) : null;
        const args = typeOf ? (n.childForFieldName('arguments')?.namedChildren ?? []).filter((c): c is Node => !!c && c.type !== 'comment') : [];
        if (typeOf && args.length === 1) {
          const inner = this.eval(args[0]!, st);
          const t = st.vars.get(typeOf[1]!)?.t;
          return { v: t ? retype(inner.v, t) : inner.v, t: t ?? inner.t };
        }
        return this.call(n, st, opts.discarded ?? false);
      }
      case 'comma_expression': {
        const l = n.childForFieldName('left');
        const r = n.childForFieldName('right');
        if (l) this.eval(l, st);
        return r ? this.eval(r, st) : { v: TOP };
      }
      case 'sizeof_expression': {
        const size = this.sizeofExpr(n, st);
        return size === undefined ? { v: TOP } : { v: { k: 'consts', vals: [{ v: size, origin: this.originOf(n) }] } };
      }
      case 'offsetof_expression': {
        const off = offsetofConst(n, this.decls);
        return off === undefined ? { v: TOP } : { v: { k: 'consts', vals: [{ v: off, origin: this.originOf(n) }] }, t: { base: '__u64', ptr: 0, dims: [] } };
      }
      case 'gnu_asm_expression':
        this.asm(n, st);
        return { v: TOP };
      case 'initializer_list':
      case 'compound_literal_expression':
        this.evalChildren(n, st);
        return { v: TOP };
      default:
        return { v: TOP };
    }
  }

  /**
   * A GNU statement expression `({ ...; value; })`, the shape of READ_ONCE/WRITE_ONCE and many helper macros: its
   * statements run in order and its last expression is the value. Its own locals go out of scope after it.
   */
  private statementExpression(block: Node, st: State): TV {
    const items = block.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
    const last = items[items.length - 1];
    const valueNode = last?.type === 'expression_statement' ? last.namedChild(0) : null;
    const declared = new Map<string, Slot | undefined>();
    for (const d of items) {
      if (d.type !== 'declaration') continue;
      for (const dd of d.childrenForFieldName('declarator')) {
        const name = dd ? declaratorShape(dd).name : undefined;
        if (name && !declared.has(name)) declared.set(name, st.vars.get(name));
      }
    }
    const out = this.execList(valueNode ? items.slice(0, -1) : items, st);
    if (out && out !== st) assignState(st, out);
    const tv = out && valueNode ? this.eval(valueNode, st) : { v: TOP };
    for (const [name, slot] of declared) {
      if (slot) st.vars.set(name, slot);
      else st.vars.delete(name);
    }
    return tv;
  }

  private identifier(n: Node, st: State): TV {
    const name = n.text;
    const slot = st.vars.get(name);
    if (slot) return { v: slot.v, t: slot.t };
    this.used.add(name);
    const g = this.global(name);
    // A const array decays to a pointer into .rodata (`(char *)name`, `char *p = name; p[1] = 0;`).
    if (g?.isConst && g.type.dims.length > 0) return { v: { k: 'rodata', name }, t: { base: g.type.base, ptr: 1, dims: g.type.dims.slice(1) } };
    if (g?.init !== undefined) return { v: { k: 'consts', vals: [{ v: g.init, name, origin: this.originOf(n) }] }, t: g.type };
    if (g) return { v: TOP, t: g.type };
    const e = this.decls.enums.get(name);
    if (e !== undefined) return { v: { k: 'consts', vals: [{ v: e, name, origin: this.originOf(n) }] } };
    const m = this.decls.macros.get(name);
    if (m && !m.params && !this.expanding.has(name)) {
      const s = snippet(m.body);
      if (s?.expr) {
        const expr = s.expr;
        const tv = this.inMacro(name, n, () => this.eval(expr, st));
        return { v: renameMacro(tv.v, name, this.originOf(n)), t: tv.t };
      }
      return { v: TOP };
    }
    const k = KERNEL_CONSTANTS[name];
    if (k) return { v: { k: 'consts', vals: [{ v: k.value, name, origin: this.originOf(n) }] } };
    return { v: TOP };
  }

  private field(n: Node, st: State, forStore: boolean, storeNode?: Node): TV {
    const arg = n.childForFieldName('argument');
    const fieldName = n.childForFieldName('field')?.text ?? '';
    const op = n.childForFieldName('operator')?.text ?? n.child(1)?.text;
    if (!arg) return { v: TOP };
    if (op === '->') {
      if (!forStore) {
        const kept = this.memberSlot(n, st);
        const slot = kept ? st.vars.get(kept) : undefined;
        if (slot) return { v: slot.v, t: slot.t };
      }
      const base = this.eval(arg, st);
      return this.member(base, fieldName, n, st, arg, forStore, storeNode);
    }
    // `(*p).f` is `p->f`; other `.` accesses are on a struct value (stack, global, map value copy).
    const inner = unparen(arg);
    // `ip->addrs.saddr`: a member of a group of members (the kernel's __struct_group in `struct iphdr`) whose fields
    // are also the header's own (`ip->saddr`, same bytes): the header's field, so that a swap is seen as one.
    const grouped = inner.type === 'field_expression' && (inner.childForFieldName('operator')?.text ?? inner.child(1)?.text) === '->' ? inner.childForFieldName('argument') : undefined;
    if (grouped && unparen(grouped).type === 'identifier') {
      const holder = unparen(grouped);
      const t = st.vars.get(holder.text)?.t;
      const layout = t ? pointeeStruct(t, this) : undefined;
      const group = layout?.fields[inner.childForFieldName('field')?.text ?? ''];
      const member = layout?.fields[fieldName];
      if (group && member && group.elem !== undefined && member.offset >= group.offset && member.offset + member.size <= group.offset + group.size) {
        return this.member(this.eval(holder, st), fieldName, n, st, holder, forStore, storeNode);
      }
    }
    if (inner.type === 'pointer_expression' && inner.childForFieldName('operator')?.text === '*') {
      const ptrNode = inner.childForFieldName('argument');
      if (ptrNode) return this.member(this.eval(ptrNode, st), fieldName, n, st, ptrNode, forStore, storeNode);
    }
    // `r->m.body`, `r->outer.inner.f`: a member of a struct member of a header in the packet is packet bytes of its own.
    const place = this.packetPlace(inner, st);
    if (place) return this.member(place.tv, fieldName, n, st, place.ptr, forStore, storeNode);
    // A local copy of an IP or TCP/UDP header: its stores are changes of the packet once bpf_xdp_store_bytes copies it
    // back; a read names its field (a swap through the copy keeps the sum).
    const copy = this.headerCopy(arg, st);
    if (forStore && copy) {
      const copies = new Map(st.copies ?? []);
      copies.set(copy.name, [...(copies.get(copy.name) ?? []), { t: copy.t, field: fieldName, node: storeNode ?? n, value: this.storing }]);
      st.copies = copies;
    }
    if (forStore) return this.storeRoot(arg, st, storeNode ?? n);
    const kept = this.memberSlot(n, st);
    const slot = kept ? st.vars.get(kept) : undefined;
    if (slot) return { v: slot.v, t: slot.t };
    this.eval(arg, st);
    if (copy) return { v: { k: 'top', stack: true, field: fieldName, l4: l4HeaderOf(copy.t, this) } };
    // A member of a local struct (`fib.ipv6_src`, which decays to a pointer): the program's own memory.
    const root = rootIdentifier(arg);
    return { v: root && st.vars.has(root) && st.vars.get(root)?.t?.ptr === 0 ? { k: 'top', stack: true } : TOP };
  }

  /**
   * Where `r->m` (or `r->m.n`, ...) lies when `r` points into the packet and `m` is a struct or union member: a pointer
   * to that member, typed as a pointer to its type, with the node naming the packet pointer. Only a local (or a cast
   * of one) is evaluated as the base, so an expression with side effects is never evaluated twice.
   */
  private packetPlace(e: Node, st: State, depth = 0): { tv: TV; ptr: Node } | undefined {
    const u = unparen(e);
    if (u.type !== 'field_expression' || depth > 8) return undefined;
    const a = u.childForFieldName('argument');
    const field = u.childForFieldName('field')?.text ?? '';
    const op = u.childForFieldName('operator')?.text ?? u.child(1)?.text;
    if (!a) return undefined;
    let base: TV;
    let ptr: Node;
    if (op === '->') {
      let b = unparen(a);
      while (b.type === 'cast_expression' && b.childForFieldName('value')) b = unparen(b.childForFieldName('value')!);
      if (b.type !== 'identifier' || !st.vars.has(b.text)) return undefined;
      if (st.vars.get(b.text)?.v.k !== 'pkt') return undefined;
      base = this.eval(a, st);
      ptr = a;
    } else {
      const p = this.packetPlace(a, st, depth + 1);
      if (!p) return undefined;
      base = p.tv;
      ptr = p.ptr;
    }
    if (base.v.k !== 'pkt' || !base.t) return undefined;
    const f = pointeeStruct(base.t, this)?.fields[field];
    if (!f?.aggType) return undefined;
    return { tv: { v: { ...base.v, off: base.v.off === null ? null : base.v.off + f.offset }, t: { ...f.aggType, ptr: 1 } }, ptr };
  }

  /**
   * `pkt.tcp` where `pkt` is a local struct (not an array, not a pointer): the name of the slot that keeps a pointer
   * stored into that member. One level only; taking `&pkt` or assigning `pkt` forgets the slots.
   */
  private memberSlot(n: Node, st: State): string | undefined {
    const u = unparen(n);
    if (u.type !== 'field_expression') return undefined;
    const op = u.childForFieldName('operator')?.text ?? u.child(1)?.text;
    const arg = u.childForFieldName('argument');
    const field = u.childForFieldName('field')?.text;
    if (!arg || !field || unparen(arg).type !== 'identifier') return undefined;
    const name = unparen(arg).text;
    // `p->ip` in a parser given `&pkt`: the caller's member, carried in under the parameter's name (see inline).
    if (op === '->') return st.vars.has(`${name}->`) ? `${name}->${field}` : undefined;
    if (op !== '.') return undefined;
    const t = st.vars.get(name)?.t;
    if (!t || t.ptr !== 0 || t.dims.length !== 0 || !/^(?:struct|union) /.test(resolveTypedef(t, this.decls).base)) return undefined;
    return `${name}.${field}`;
  }

  private forgetMembers(name: string, st: State): void {
    for (const k of [...st.vars.keys()]) if (k.startsWith(`${name}.`) || k.startsWith(`${name}->`)) st.vars.delete(k);
  }

  /** The declared type of a pointer member (`struct iphdr *ip;`) that `pkt.ip` or `p->ip` names, when known. */
  private memberPointerType(n: Node, st: State): TypeRef | undefined {
    const u = unparen(n);
    const arg = u.childForFieldName('argument');
    const field = u.childForFieldName('field')?.text;
    if (!arg || !field || unparen(arg).type !== 'identifier') return undefined;
    const t = st.vars.get(unparen(arg).text)?.t;
    if (!t) return undefined;
    const op = u.childForFieldName('operator')?.text ?? u.child(1)?.text;
    const r = resolveTypedef(t, this.decls);
    if (r.dims.length !== 0 || r.ptr !== (op === '->' ? 1 : 0)) return undefined;
    return this.memberType({ ...r, ptr: 0 }, field);
  }

  /** The declared type of pointer member `field` of struct type `t` when the tier keeps what it points at. */
  private memberType(t: TypeRef, field: string): TypeRef | undefined {
    const r = resolveTypedef(t, this.decls);
    if (r.ptr !== 0 || r.dims.length !== 0 || !/^(?:struct|union) /.test(r.base)) return undefined;
    const pt = structOf(r.base, this.decls)?.fields[field]?.ptrType;
    if (!pt || pt.ptr !== 1 || pt.dims.length !== 0) return undefined;
    // A header pointer (`struct iphdr *ip;`), or a cursor (`void *pos;`, `__u8 *pos;`) that parsers move along.
    const base = resolveTypedef({ ...pt, ptr: 0 }, this.decls).base;
    return /^(?:struct|union) /.test(base) || /^(?:void|(?:unsigned |signed )?char|__u8|u8|uint8_t)$/.test(base) ? pt : undefined;
  }

  /** `ip` in `ip.daddr` when it is a local `struct iphdr` (ipv6hdr, tcphdr, udphdr), with the type of a pointer to it. */
  private headerCopy(arg: Node, st: State): { name: string; t: TypeRef } | undefined {
    const inner = unparen(arg);
    if (inner.type !== 'identifier') return undefined;
    const t = st.vars.get(inner.text)?.t;
    if (!t || t.ptr !== 0 || t.dims.length > 0) return undefined;
    const p = { ...t, ptr: 1 };
    return isIpHeader(p, this) || isIp6Header(p, this) || l4HeaderOf(p, this) ? { name: inner.text, t: p } : undefined;
  }

  /** `base->field`: a context read, a packet access, or a read of a map value / read-only data. */
  private member(base: TV, fieldName: string, n: Node, st: State, ptrNode: Node, forStore: boolean, storeNode?: Node): TV {
    const v = base.v;
    if (v.k === 'ctx') {
      if (forStore) {
        this.ctxWrite(fieldName, storeNode ?? n);
        return { v: TOP };
      }
      if (fieldName === 'data') return { v: { k: 'pkt', root: `data#${st.gen}`, off: 0, region: 'data' }, t: { base: '__u32', ptr: 0, dims: [] } };
      if (fieldName === 'data_meta') return { v: { k: 'pkt', root: `meta#${st.gen}`, off: 0, region: 'meta' }, t: { base: '__u32', ptr: 0, dims: [] } };
      if (fieldName === 'data_end') return { v: { k: 'end' }, t: { base: '__u32', ptr: 0, dims: [] } };
      return { v: TOP, t: { base: '__u32', ptr: 0, dims: [] } };
    }
    const layout = base.t ? pointeeStruct(base.t, this) : undefined;
    const f = layout?.fields[fieldName];
    if (v.k === 'pkt') {
      let extra: number | null = null;
      let size = 1;
      if (f) {
        extra = f.offset;
        size = f.size;
      } else if (layout && Number.isFinite(layout.size)) {
        extra = 0;
        size = layout.size;
      } else {
        extra = 0;
      }
      this.access(base, extra, size, n, st, ptrNode);
      const at = v.off === null ? undefined : `${v.root}:${v.off}`;
      if (forStore) {
        // A field of an IP, TCP/UDP or ICMP header at an offset the tier does not know (after a variable-length IPv4
        // header or VLAN tags) lies behind the Ethernet header, not among its addresses.
        const pastL2 = v.off === null && !!f && (isIpHeader(base.t, this) || isIp6Header(base.t, this) || !!l4HeaderOf(base.t, this) || isIcmpHeader(base.t, this));
        this.storeEffects(v, storeNode ?? n, st, v.off !== null ? v.off + (f?.offset ?? 0) : null, pastL2);
        // A store through a stale pointer is refused (reported once, above): what it would change is moot.
        const refused = v.k === 'pkt' && !!v.stale;
        if (!refused && f && isIcmpHeader(base.t, this)) this.icmpStore(fieldName, storeNode ?? n, st, this.storing, icmpChecksumName(base.t, this));
        else if (!refused && f && (isIpHeader(base.t, this) || isIp6Header(base.t, this) || l4HeaderOf(base.t, this))) this.headerStore(base.t, fieldName, storeNode ?? n, st, this.storing, at);
        else if (!refused) this.mayStoreChecksum(f && v.off !== null ? { ...v, off: v.off + f.offset } : { ...v, off: f ? v.off : null }, st, f?.size ?? 2, undefined, base.t, storeNode ?? n, f ? fieldName : undefined);
      }
      if (f?.elem !== undefined) {
        // An array member decays to a pointer into the packet (eth->h_dest used by memcpy).
        const off = v.off === null ? null : v.off + f.offset;
        return { v: { ...v, off }, t: { base: INT_TYPES_BY_SIZE[f.elem] ?? '__u8', ptr: 1, dims: [] } };
      }
      const tagged: Val = !forStore && f && (isIpHeader(base.t, this) || l4HeaderOf(base.t, this) || isIp6Header(base.t, this)) ? { k: 'top', taint: true, field: fieldName, at, l4: l4HeaderOf(base.t, this) } : TAINTED;
      return { v: tagged, t: f ? { base: INT_TYPES_BY_SIZE[f.size] ?? '__u8', ptr: 0, dims: [] } : undefined };
    }
    this.nullDeref(v, n, ptrNode, st);
    if (forStore) this.storeEffects(v, storeNode ?? n, st, null, !!f && (isIpHeader(base.t, this) || isIp6Header(base.t, this) || !!l4HeaderOf(base.t, this) || isIcmpHeader(base.t, this)));
    if (v.k === 'mapval' && f && f.elem === undefined) {
      if (forStore) this.noteMapStore(v, fieldName, this.storing);
      else return { v: { k: 'top', mapRead: { map: mapKey(v), field: fieldName, text: unparen(n).text } }, t: { base: INT_TYPES_BY_SIZE[f.size] ?? '__u8', ptr: 0, dims: [] } };
    }
    // A header the tier cannot place (a parser's out-parameter, `parse_iphdr(&nh, data_end, &iph)`), typed as an IP
    // or TCP/UDP header: a store into its fields is a change of that header, and one into `check` an update.
    const header = v.k === 'top' && !v.stack && f && (isIpHeader(base.t, this) || isIp6Header(base.t, this) || l4HeaderOf(base.t, this));
    if (forStore && header) this.headerStore(base.t, fieldName, storeNode ?? n, st, this.storing, undefined);
    // A read names its field, so that storing it into another field is seen as the swap it is.
    if (!forStore && header) return { v: { k: 'top', field: fieldName, l4: l4HeaderOf(base.t, this) }, t: { base: INT_TYPES_BY_SIZE[f!.size] ?? '__u8', ptr: 0, dims: [] } };
    return { v: TOP };
  }

  private subscript(n: Node, st: State, forStore: boolean, storeNode?: Node): TV {
    const arg = n.childForFieldName('argument');
    const index = n.childForFieldName('index');
    if (!arg) return { v: TOP };
    if (forStore && unparen(arg).type === 'identifier' && !st.vars.has(unparen(arg).text)) {
      // A global array element: `table[i] = x`.
      if (index) this.eval(index, st);
      return this.storeRoot(arg, st, storeNode ?? n);
    }
    const base = this.eval(arg, st);
    const idx = index ? this.eval(index, st) : { v: TOP };
    const elem = base.t ? pointeeSize(base.t, this.decls) ?? 1 : 1;
    const k = single(idx.v);
    if (base.v.k === 'pkt') {
      this.access(base, k === undefined ? null : k * elem, elem, n, st, arg, k);
      if (forStore) {
        this.storeEffects(base.v, storeNode ?? n, st, base.v.off === null || k === undefined ? null : base.v.off + k * elem);
        this.mayStoreChecksum(base.v.off === null || k === undefined ? { ...base.v, off: null } : { ...base.v, off: base.v.off + k * elem }, st, elem, arg, undefined, storeNode ?? n);
      }
      return { v: TAINTED, t: base.t ? derefType(base.t) : undefined };
    }
    this.nullDeref(base.v, n, arg, st);
    if (forStore) {
      // `sess->bitmap[cpu][w] = x` with `sess` a map value: a store into that value, never the packet.
      const holder = this.mapValueHolder(arg, st);
      if (holder) this.storeEffects(holder, storeNode ?? n, st);
      else {
        this.storeEffects(base.v, storeNode ?? n, st);
        this.mayStoreChecksum(base.v, st, 2, arg);
      }
    }
    return { v: TOP, t: base.t ? derefType(base.t) : undefined };
  }

  /** The map value `p` holds when `e` is `p->a`, `p->a[i].b`, `p->a.b[j]`: a member of that value. */
  private mapValueHolder(e: Node, st: State): Val | undefined {
    let cur = unparen(e);
    for (let depth = 0; depth < 16; depth++) {
      if (cur.type === 'subscript_expression' || cur.type === 'field_expression') {
        const a = cur.childForFieldName('argument');
        if (!a) return undefined;
        const arrow = cur.type === 'field_expression' && (cur.childForFieldName('operator')?.text ?? cur.child(1)?.text) === '->';
        cur = unparen(a);
        if (arrow) {
          if (cur.type !== 'identifier') return undefined;
          // (A map value holds no pointer the program can follow: a member is inside the value.)
          const v = st.vars.get(cur.text)?.v;
          return v?.k === 'mapval' ? v : undefined;
        }
        continue;
      }
      return undefined;
    }
    return undefined;
  }

  private addressOf(arg: Node, st: State): TV {
    const inner = unparen(arg);
    if (inner.type === 'identifier') {
      const name = inner.text;
      if (!st.vars.has(name)) {
        this.used.add(name);
        const g = this.global(name);
        if (g?.isConst) return { v: { k: 'rodata', name }, t: { ...g.type, ptr: g.type.ptr + 1 } };
        if (this.decls.maps.has(name)) return { v: { k: 'top' }, t: { base: `map ${name}`, ptr: 1, dims: [] } };
      }
      const slot = st.vars.get(name);
      // A packet pointer, or a pointer local declared without a value that a parser fills in (`parse_icmphdr(&nh,
      // data_end, &icmph)`): what the callee stores through the address is followed.
      if (slot && (slot.v.k === 'pkt' || slot.v.k === 'end' || (slot.v.k === 'top' && slot.v.uninit)) && slot.t && slot.t.ptr > 0) {
        const ref = `${this.frame.instance}:${name}`;
        this.refCells.set(ref, { value: slot.v });
        return { v: { k: 'top', stack: true, ref }, t: { ...slot.t, ptr: slot.t.ptr + 1 } };
      }
      // `get_dst(&dst)`: whatever is written through the address is not followed, so a map value (or NULL) kept in
      // a pointer local is forgotten rather than reported after the callee replaced it.
      if (slot && (slot.v.k === 'mapval' || (slot.v.k === 'consts' && slot.t && slot.t.ptr > 0) || (slot.v.k === 'top' && slot.v.uninit))) st.vars.set(name, { v: TOP, t: slot.t });
      // The address of the program's own memory (a header copied to the stack): never the packet.
      // `addr`: which local (map-arg-size follows a pointer local holding it to a helper's key argument).
      return { v: slot ? { k: 'top', stack: true, addr: name } : TOP, t: slot?.t ? { ...slot.t, ptr: slot.t.ptr + 1 } : undefined };
    }
    if (inner.type === 'field_expression') {
      const op = inner.childForFieldName('operator')?.text ?? inner.child(1)?.text;
      const base = inner.childForFieldName('argument');
      const fieldName = inner.childForFieldName('field')?.text ?? '';
      // `&c.pos`, a cursor kept in a member of a local struct, given to a parser that moves it (`void **pos`): what
      // the callee stores through the address is followed, as for the address of a local.
      const key = op === '.' ? this.memberSlot(inner, st) : undefined;
      const member = key ? st.vars.get(key) : undefined;
      if (key && member && (member.v.k === 'pkt' || member.v.k === 'end') && member.t && member.t.ptr > 0) {
        const ref = `${this.frame.instance}:${key}`;
        this.refCells.set(ref, { value: member.v });
        return { v: { k: 'top', stack: true, ref }, t: { ...member.t, ptr: member.t.ptr + 1 } };
      }
      if (op === '->' && base) {
        const p = this.eval(base, st);
        const layout = p.t ? pointeeStruct(p.t, this) : undefined;
        const f = layout?.fields[fieldName];
        if (p.v.k === 'pkt') {
          // `csum_replace2(&ip->check, ...)`: the checksum is updated through its address.
          if (fieldName === 'check' && isIpHeader(p.t, this)) markCsumUpdated(st);
          if (fieldName === 'check' && l4HeaderOf(p.t, this)) markL4Updated(st);
          if (isIcmpChecksum(fieldName) && isIcmpHeader(p.t, this)) markIcmpUpdated(st);
          const off = p.v.off === null || !f ? null : p.v.off + f.offset;
          return { v: { ...p.v, off }, t: { base: f ? INT_TYPES_BY_SIZE[f.elem ?? f.size] ?? '__u8' : '__u8', ptr: 1, dims: [] } };
        }
        // `&v->field` of a map value is the same lookup (NULL until checked, read-only if the map is).
        if (p.v.k === 'mapval' || p.v.k === 'rodata') return { v: p.v, t: f ? { base: INT_TYPES_BY_SIZE[f.elem ?? f.size] ?? '__u8', ptr: 1, dims: [] } : undefined };
        // The same update through a header the tier cannot place (see member()).
        if (p.v.k === 'top' && !p.v.stack && fieldName === 'check') {
          if (isIpHeader(p.t, this)) markCsumUpdated(st);
          if (l4HeaderOf(p.t, this)) markL4Updated(st);
        }
        if (p.v.k === 'top' && !p.v.stack && isIcmpChecksum(fieldName) && isIcmpHeader(p.t, this)) markIcmpUpdated(st);
        return { v: TOP };
      }
      if (base) {
        const root = rootIdentifier(base);
        if (root && !st.vars.has(root) && this.global(root)?.isConst) return { v: { k: 'rodata', name: root } };
        this.eval(base, st);
        // `&key.port`, a member of a local struct: the program's own memory, and which member (see addr above).
        if (op === '.' && unparen(base).type === 'identifier' && st.vars.get(unparen(base).text)?.t?.ptr === 0) return { v: { k: 'top', stack: true, addr: `${unparen(base).text}.${fieldName}` } };
      }
      return { v: TOP };
    }
    if (inner.type === 'subscript_expression') {
      const base = inner.childForFieldName('argument');
      const index = inner.childForFieldName('index');
      if (!base) return { v: TOP };
      const root = rootIdentifier(base);
      if (root && !st.vars.has(root) && this.global(root)?.isConst) return { v: { k: 'rodata', name: root } };
      const p = this.eval(base, st);
      const idx = index ? this.eval(index, st) : { v: TOP };
      if (p.v.k === 'pkt') {
        const elem = p.t ? pointeeSize(p.t, this.decls) ?? 1 : 1;
        const k = single(idx.v);
        return { v: { ...p.v, off: p.v.off === null || k === undefined ? null : p.v.off + k * elem }, t: p.t };
      }
      return { v: p.v.k === 'mapval' || p.v.k === 'rodata' ? p.v : TOP, t: p.t };
    }
    if (inner.type === 'pointer_expression' && inner.childForFieldName('operator')?.text === '*') {
      const a = inner.childForFieldName('argument');
      return a ? this.eval(a, st) : { v: TOP };
    }
    this.eval(inner, st);
    return { v: TOP };
  }

  private binary(n: Node, st: State): TV {
    const op = n.childForFieldName('operator')?.text ?? '';
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    if (!left || !right) return { v: TOP };
    if (op === '&&' || op === '||') {
      const [t, f] = this.cond(n, st);
      assignState(st, joinStates([t, f])!);
      return { v: { k: 'consts', vals: [{ v: 0 }, { v: 1 }] } };
    }
    const l = this.eval(left, st);
    const r = this.eval(right, st);
    if (op === '==' || op === '!=' || op === '<' || op === '>' || op === '<=' || op === '>=') {
      // `ok = v != NULL` kept for later: a NULL test whose branch the tier does not follow; take the value as checked.
      if (l.v.k === 'mapval') this.nullChecked(st, l.v.id);
      if (r.v.k === 'mapval') this.nullChecked(st, r.v.id);
    }
    return this.arith(l, op, r, n, right);
  }

  /** Arithmetic on abstract values: pointer offsets, data_end - pointer, constant folding. */
  arith(l: TV, op: string, r: TV, n: Node, rightNode?: Node): TV {
    const a = l.v;
    const b = r.v;
    if ((op === '+' || op === '-') && a.k === 'pkt' && b.k !== 'pkt' && b.k !== 'end') {
      return { v: this.offsetPointer(a, l.t, op === '-' ? -1 : 1, b, rightNode, r.t), t: l.t };
    }
    if (op === '+' && b.k === 'pkt' && a.k !== 'pkt' && a.k !== 'end') {
      return { v: this.offsetPointer(b, r.t, 1, a, undefined, l.t), t: r.t };
    }
    if (op === '-' && a.k === 'end' && b.k === 'pkt') {
      const scale = pointerScale(r.t, this);
      return { v: scale === 1 ? { k: 'len', root: b.root, off: b.off } : TOP };
    }
    if (a.k === 'end' || b.k === 'end' || a.k === 'pkt' || b.k === 'pkt') return { v: TOP };
    // `len - 4`, `(len - 4) & 0x3fff` with `len = data_end - data`: still counted from the frame's length.
    const lenLike = (x: Val) => x.k === 'len' || (x.k === 'top' && !!x.fromLen);
    if ((lenLike(a) && (lenLike(b) || b.k === 'consts')) || (lenLike(b) && a.k === 'consts')) {
      if (/^(?:[-+*&|]|>>|<<)$/.test(op)) return { v: { k: 'top', fromLen: true } };
    }
    if (a.k === 'mapval' || b.k === 'mapval') {
      // `v + 1` points into the same value.
      if (op === '+' && b.k !== 'mapval') return { v: a, t: l.t };
      if (op === '+' && a.k !== 'mapval') return { v: b, t: r.t };
      if (op === '-' && b.k !== 'mapval') return { v: a, t: l.t };
      return { v: TOP };
    }
    if (a.k === 'consts' && b.k === 'consts' && !a.more && !b.more) {
      const out: ConstVal[] = [];
      for (const x of a.vals) {
        for (const y of b.vals) {
          const z = binaryConst(op, x.v, y.v);
          if (z === undefined) return { v: TOP };
          out.push({ v: z, origin: this.originOf(n) });
        }
      }
      const u = constsUnion([], out, false);
      return { v: u, t: l.t };
    }
    const taint = (a.k === 'top' && a.taint) || (b.k === 'top' && b.taint);
    return { v: taint ? TAINTED : TOP };
  }

  private offsetPointer(p: Extract<Val, { k: 'pkt' }>, t: TypeRef | undefined, sign: number, by: Val, byNode?: Node, byType?: TypeRef): Val {
    const scale = pointerScale(t, this);
    const k = single(by);
    if (k !== undefined && scale !== undefined && p.off !== null) return { ...p, off: p.off + sign * k * scale };
    if (k !== undefined && scale !== undefined) {
      const least = p.atLeast === undefined ? undefined : p.atLeast + sign * k * scale;
      const { atLeast: _, ...rest } = p;
      return least !== undefined && least >= 0 ? { ...rest, atLeast: least } : rest;
    }
    // A variable offset computed from packet bytes (ip->ihl * 4) starts a new range the program must check again,
    // as the verifier does; one from a loop counter or a length keeps the old range with an unknown offset.
    if (by.k === 'top' && by.taint) {
      const text = byNode ? byNode.text.replace(/\s+/g, '') : '?';
      return { ...p, root: `${p.root}@${p.off}+[${text}]`, off: 0 };
    }
    // `data + off` with `off` computed from the packet's length: a trailer at the frame's end.
    if (p.off !== null && p.fromEnd === undefined && (by.k === 'len' || (by.k === 'top' && by.fromLen)) && sign > 0) return { ...p, off: null, fromEnd: true };
    // `p + i` with `i` of an unsigned type: still at or past where `p` was.
    const { atLeast: was, ...rest } = p;
    const from = p.off ?? was;
    if (sign > 0 && from !== undefined && byType && isUnsignedType(byType, this.decls)) return { ...rest, off: null, atLeast: from };
    return { ...rest, off: null };
  }

  private assign(n: Node, st: State): TV {
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    const op = n.childForFieldName('operator')?.text ?? '=';
    if (!left || !right) return { v: TOP };
    if (op === '=' && left.type === 'identifier' && this.redirectOnlyLogged(right, left.text, left)) {
      const v = { v: this.unusedRedirect(right, n, st) };
      this.store(left, v, st, n);
      return v;
    }
    let value = this.eval(right, st);
    if (op !== '=') {
      const old = this.eval(left, st);
      value = this.arith(old, op.slice(0, -1), value, n, right);
    }
    this.store(left, value, st, n);
    return value;
  }

  /** The value being stored by the store() in progress (for the IPv4 header swap check). */
  private storing: Val | undefined;

  /** A store into an lvalue: updates a local, or checks the memory written. */
  private store(lhs: Node, value: TV, st: State, n: Node): void {
    const saved = this.storing;
    this.storing = n.type === 'assignment_expression' && n.childForFieldName('operator')?.text === '=' ? value.v : undefined;
    try {
      this.storeTo(lhs, value, st, n);
    } finally {
      this.storing = saved;
    }
  }

  private storeTo(lhs: Node, value: TV, st: State, n: Node): void {
    const target = unparen(lhs);
    switch (target.type) {
      case 'identifier': {
        const name = target.text;
        const slot = st.vars.get(name);
        if (slot) {
          st.vars.set(name, { v: slot.t?.volatile ? TOP : stamp(retype(value.v, slot.t), st), t: slot.t });
          this.forgetMembers(name, st);
          return;
        }
        const g = this.global(name);
        if (g?.isConst) this.rodataWrite(name, n);
        return;
      }
      case 'field_expression': {
        this.field(target, st, true, n);
        // A pointer kept in a member of a local struct (`pkt.tcp = tcp;`): read back through `pkt.tcp` as itself.
        const key = this.memberSlot(target, st);
        if (key) {
          // Only a pointer typed as a struct (the member's own type is not kept with the layout): `p.eth = data`
          // through `void *` stays unknown, as before.
          const typed = !!value.t && value.t.ptr === 1 && value.t.dims.length === 0 && /^(?:struct|union) /.test(resolveTypedef({ ...value.t, ptr: 0 }, this.decls).base);
          // Through `void *` (`p->eth = data;`): the member's own declared type, when the struct is known.
          // A cursor member (`void *pos;`) keeps its own type: `c->pos + 20` counts bytes whatever was stored in it.
          const own = this.memberPointerType(target, st);
          const cursor = !!own && !/^(?:struct|union) /.test(resolveTypedef({ ...own, ptr: 0 }, this.decls).base);
          const declared = typed && !cursor ? undefined : own;
          if (typed && !cursor) st.vars.set(key, { v: stamp(value.v, st), t: value.t });
          else if (declared) st.vars.set(key, { v: stamp(value.v, st), t: declared });
          else st.vars.delete(key);
        }
        return;
      }
      case 'subscript_expression':
        this.subscript(target, st, true, n);
        return;
      case 'pointer_expression': {
        const arg = target.childForFieldName('argument');
        if (!arg || target.childForFieldName('operator')?.text !== '*') return;
        const p = this.eval(arg, st);
        const cell = p.v.k === 'top' && p.v.ref ? this.refCells.get(p.v.ref) : undefined;
        if (cell) {
          cell.written = cell.written ? joinVals(cell.written, value.v) : value.v;
          return;
        }
        if (p.v.k === 'mapval') this.noteMapStore(p.v, '*', this.storing);
        const size = p.t ? pointeeSize(p.t, this.decls) ?? 1 : 1;
        this.nullDeref(p.v, target, arg, st);
        this.access(p, 0, size, target, st, arg);
        this.storeEffects(p.v, n, st);
        // `*iph = hdr;` with `hdr` a local IP/TCP/UDP header whose fields the program set: those stores are the
        // packet's changes (an outer header built field by field, its `check` computed or not), as when
        // bpf_xdp_store_bytes copies it in. A copy with no field set stays a whole-header store.
        const rhs = n.type === 'assignment_expression' ? n.childForFieldName('right') : undefined;
        const copy = rhs && p.v.k === 'pkt' && p.v.region === 'data' ? this.headerCopy(rhs, st) : undefined;
        const writes = copy ? st.copies?.get(copy.name) : undefined;
        if (copy && writes?.length && p.t && sameHeader(p.t, copy.t, this.decls)) {
          for (const w of writes) this.headerStore(w.t, w.field, w.node as Node, st, w.value, undefined);
          const copies = new Map(st.copies);
          copies.delete(copy.name);
          st.copies = copies;
          return;
        }
        this.mayStoreChecksum(p.v, st, size, arg, undefined, n);
        return;
      }
      case 'cast_expression': {
        const v = target.childForFieldName('value');
        if (v) this.storeTo(v, value, st, n);
        return;
      }
      default:
        this.eval(target, st);
    }
  }

  /** `x.a.b = v` / `arr[i] = v`: find the variable at the root and check that it may be written. */
  private storeRoot(arg: Node, st: State, n: Node): TV {
    const root = rootIdentifier(arg);
    if (root) this.used.add(root);
    if (root && !st.vars.has(root) && this.global(root)?.isConst) this.rodataWrite(root, n);
    else if (!root) {
      // `(*p).a.b = v`, `p->a.b = v`, `p[i].x = v`: the innermost pointer dereference is the store.
      const inner = unparen(arg);
      if (inner.type === 'field_expression') this.field(inner, st, true, n);
      else if (inner.type === 'subscript_expression') this.subscript(inner, st, true, n);
      else if (inner.type === 'pointer_expression') this.store(inner, { v: TOP }, st, n);
    }
    return { v: TOP };
  }

  /** What a store through a pointer with value `v` means for the rules. */
  private storeEffects(v: Val, n: Node, st: State, off: number | null = v.k === 'pkt' ? v.off : null, pastL2 = false): void {
    switch (v.k) {
      case 'pkt':
        st.wrote = true;
        // Bytes 0..11 of the frame are its Ethernet addresses (a header at a variable offset may lie anywhere, but
        // for one typed as a header of layer 3 or 4).
        // A store at an offset counted from the frame's length (a trailer appended after bpf_xdp_adjust_tail) lies
        // past them too.
        if (v.region === 'data' && (off === null ? !pastL2 && !v.fromEnd : frameOffset(v.root, off) + (v.base ?? 0) < 12)) st.macWrote = true;
        if (this.driverMode === 'readonly-page' && v.region === 'data' && !v.stale) this.readonlyPageWrite(n);
        return;
      case 'mapval':
        // Map values are not packet memory, but count as a change of the frame as any other pointer does.
        if (!v.ro) {
          st.wrote = true;
          return;
        }
        this.report(
          'readonly-write',
          n,
          `Store into a read-only map value: ${v.ro}, and the verifier rejects the program ("write into map forbidden"). ` +
            (/DEVMAP/.test(v.ro)
              ? 'Change its entries from user space.'
              : 'Update the map from user space, or create it without BPF_F_RDONLY_PROG if the program must change it.'),
        );
        return;
      case 'rodata':
        this.rodataWrite(v.name, n);
        return;
      case 'ctx':
        return;
      default:
        // The program's own stack (`&local`, passed on to a callee that fills it) is not the frame.
        if (v.k === 'top' && v.stack) return;
        // An unknown pointer may point into the packet: count it as a change of the frame (no tx-unmodified), and of
        // its Ethernet addresses unless it is typed as a header of layer 3 or 4 (a parser's out-parameter).
        st.wrote = true;
        if (!pastL2) st.macWrote = true;
    }
  }

  // ---- calls ---------------------------------------------------------------------------------------------------

  private call(n: Node, st: State, discarded: boolean): TV {
    const name = calleeName(n);
    const argsNode = n.childForFieldName('arguments');
    const argNodes = (argsNode?.namedChildren ?? []).filter((c): c is Node => !!c && c.type !== 'comment');
    if (!name) {
      const fnNode = n.childForFieldName('function');
      // `(__u16)(end - l4)` after a macro's expansion parses as a call of `(__u16)`: it is a cast of its one argument.
      const castTo = fnNode && fnNode.type === 'parenthesized_expression' && argNodes.length === 1 ? unparen(fnNode) : undefined;
      if (castTo?.type === 'identifier' && (this.decls.typedefs.has(castTo.text) || /^(?:__)?(?:u|s|be|le)(?:8|16|32|64)$/.test(castTo.text))) {
        const t: TypeRef = { base: castTo.text, ptr: 0, dims: [] };
        return { v: retype(this.eval(argNodes[0]!, st).v, t), t };
      }
      if (fnNode) this.eval(fnNode, st);
      for (const a of argNodes) this.eval(a, st);
      // `bpf_printk(fmt, args...)` is `___bpf_pick_printk(args)(fmt, args)`: libbpf picks bpf_trace_printk or
      // bpf_trace_vprintk, which only read their arguments.
      const picker = fnNode && unparen(fnNode).type === 'call_expression' ? calleeName(unparen(fnNode)) : undefined;
      if (picker && LIBBPF_INTERNAL.test(picker)) return { v: TOP };
      st.wrote = true;
      st.macWrote = true;
      return { v: TOP };
    }
    this.used.add(name);
    const fn = this.decls.functions.get(name);
    const macro = this.decls.macros.get(name);
    if (name === '__builtin_offsetof' && !fn && !macro) {
      const off = offsetofConst(n, this.decls);
      return off === undefined ? { v: TOP } : { v: { k: 'consts', vals: [{ v: off, origin: this.originOf(n) }] }, t: { base: '__u64', ptr: 0, dims: [] } };
    }
    if (!fn && macro?.params && !this.expanding.has(name)) {
      const s = snippet(expandFunctionMacro(macro, argNodes.map((a) => a.text)));
      if (s?.expr) {
        const expr = s.expr;
        const tv = this.inMacro(name, n, () => this.eval(expr, st));
        return { v: renameMacro(tv.v, name, this.originOf(n)), t: tv.t };
      }
      if (s) {
        this.inMacro(name, n, () => this.execList(s.statements, st));
        return { v: TOP };
      }
    }
    const inlining = !!fn && this.frames.length < MAX_INLINE_DEPTH && !this.frames.some((f) => f.fn === fn);
    // `parse(ctx, &pkt)` / `parse_ip(p)`: a local struct of header pointers handed to a callee the tier follows; its
    // members go in and come back under the parameter's name (`p->ip`), see inline.
    const aliases = argNodes.map((a) => (inlining ? this.memberAlias(a, st) : undefined));
    for (const a of argNodes) if (inlining) this.passing.add(unparen(a).id);
    let args: TV[];
    try {
      args = argNodes.map((a) => this.eval(a, st));
    } finally {
      for (const a of argNodes) this.passing.delete(unparen(a).id);
    }
    const result = fn && inlining ? this.inline(fn, args, st, name, n, aliases) : this.helper(name, n, argNodes, args, st, discarded, !!fn);
    this.forgetPassedScalars(name, argNodes, st);
    return result;
  }

  /**
   * `parse(data, end, &sport)` with `__u16 sport = 0;`: the callee may store through the address, which the tier
   * does not follow, so the value the local held before is no longer known (a map helper's key or value excepted).
   */
  private forgetPassedScalars(name: string, argNodes: Node[], st: State): void {
    if (/^bpf_map_|^bpf_(?:trace_)?printk$|^bpf_trace_vprintk$|^bpf_spin_/.test(name)) return;
    for (const a of argNodes) {
      const u = unparen(a);
      if (u.type !== 'pointer_expression' || u.childForFieldName('operator')?.text !== '&') continue;
      const inner = unparen(u.childForFieldName('argument') ?? u);
      if (inner.type !== 'identifier') continue;
      const slot = st.vars.get(inner.text);
      if (slot && slot.v.k === 'consts' && slot.t && slot.t.ptr === 0 && slot.t.dims.length === 0) st.vars.set(inner.text, { v: TOP, t: slot.t });
    }
  }

  private helper(name: string, n: Node, argNodes: Node[], args: TV[], st: State, discarded: boolean, isUserFunction: boolean): TV {
    if (!isUserFunction && /^(?:__builtin_)?(?:mem(?:cpy|move|set|cmp)|__sync_|__atomic_)/.test(name)) {
      // The builtins read or write through their pointer arguments: memcpy's destination and source, the atomics' target.
      const derefs = /mem(?:cpy|move|cmp)$/.test(name) ? 2 : 1;
      for (let i = 0; i < derefs && i < args.length; i++) this.nullDeref(args[i].v, n, argNodes[i], st);
    }
    if (writesFirstArgument(name) && args[0]) {
      const size = name.includes('mem') ? single(args[2]?.v ?? TOP) : undefined;
      if (/mem(cpy|move)$/.test(name) && args[1]?.v.k === 'pkt' && size !== undefined) this.access(args[1], 0, size, n, st, argNodes[1]);
      if (args[0].v.k === 'pkt' && size !== undefined) this.access(args[0], 0, size, n, st, argNodes[0]);
      // Into a local array or `&local`: the program's own memory, not the frame's Ethernet addresses.
      const dst = argNodes[0] ? unparen(argNodes[0]) : undefined;
      const local = dst?.type === 'pointer_expression' && dst.childForFieldName('operator')?.text === '&' ? dst.childForFieldName('argument') : dst;
      const own = local?.type === 'identifier' && args[0].v.k !== 'pkt' && (st.vars.get(local.text)?.t?.dims.length ?? 0) + (dst !== local ? 1 : 0) > 0;
      const mac = st.macWrote;
      // Into a member array of a map value (`memcpy(sess->peer_mac, src, 6)`): that value, not the frame.
      const holder = argNodes[0] && args[0].v.k === 'top' ? this.mapValueHolder(argNodes[0], st) : undefined;
      this.storeEffects(holder ?? args[0].v, n, st);
      if (own) st.macWrote = mac;
      if (args[0].v.k === 'mapval') this.noteMapStore(args[0].v, '*', undefined);
      if (!holder) this.mayStoreChecksum(args[0].v, st, size ?? 2, argNodes[0], undefined, n);
      return { v: TOP };
    }
    if (name === 'bpf_xdp_load_bytes' && args[2]) this.storeEffectsNonPacket(args[2].v, n, st);
    if ((name === 'bpf_map_update_elem' || name === 'bpf_map_delete_elem') && argNodes[0]) {
      const map = mapName(argNodes[0]);
      if (map) this.used.add(map);
      const decl = map ? this.decls.maps.get(map) : undefined;
      if (decl?.readonlyReason) {
        this.report('readonly-write', n, `${name}() writes into a read-only map: ${decl.readonlyReason}, and the verifier rejects it ("write into map forbidden").`);
      }
    }
    if (/^bpf_map_(?:lookup|lookup_percpu|update|delete)_elem$/.test(name) && argNodes[0]) {
      // A key (or an update's value) in the packet: the helper reads the map's key (value) size there, and the
      // verifier checks that range against data_end as it would a load (check_helper_mem_access).
      const map = this.mapThroughMacros(mapName(argNodes[0]));
      const decl = map ? this.decls.maps.get(map) : undefined;
      const sized: [number, string | undefined, string][] = [[1, decl?.keySizeText, 'key']];
      if (name === 'bpf_map_update_elem') sized.push([2, decl?.valueSizeText, 'value']);
      for (const [i, text, what] of sized) {
        const a = args[i];
        if (!a || !argNodes[i]) continue;
        if (a.v.k !== 'pkt') {
          if (map && text !== undefined) this.shortStackArgument(name, map, what, constEvalText(text, this.decls), argNodes[i]!, st);
          continue;
        }
        const size = (text !== undefined ? constEvalText(text, this.decls) : undefined) ?? (a.t ? pointeeSize(a.t, this.decls) : undefined);
        if (size !== undefined && size > 0) this.access(a, 0, size, n, st, argNodes[i]!, undefined, `\`${name}()\` reads its ${size}-byte ${what}`);
      }
    }
    if (name === 'bpf_map_lookup_elem' || name === 'bpf_map_lookup_percpu_elem') {
      const map = argNodes[0] ? mapName(argNodes[0]) : undefined;
      if (map) this.used.add(map);
      const decl = map ? this.decls.maps.get(map) : undefined;
      // The verifier drops the NULL case of an array lookup whose key is a stack slot it knows to be zero (a 0 store
      // is tracked, other 32-bit constants are not: measured on 6.18), so `__u32 k = 0;` needs no check there.
      const arrayOrUnknown = !decl?.mapType || decl.mapType === 'BPF_MAP_TYPE_ARRAY' || decl.mapType === 'BPF_MAP_TYPE_PERCPU_ARRAY';
      const nullable = !(name === 'bpf_map_lookup_elem' && arrayOrUnknown && argNodes[1] && this.zeroStackKey(argNodes[1], st));
      const lookup = this.lookupInfo(name, map, n, st);
      if (decl?.mapType === 'BPF_MAP_TYPE_ARRAY' || decl?.mapType === 'BPF_MAP_TYPE_PERCPU_ARRAY') lookup.array = true;
      return { v: { k: 'mapval', id: this.lookupId(n), nullable, lookup, ro: decl?.readonlyReason } };
    }
    // A failed bpf_tail_call continues on the packet as it was: the verifier keeps the pointers of the program it is
    // in; only a called function that is a subprogram of its own makes its callers' pointers stale (the kernel marks
    // such a subprogram as moving the packet). An __always_inline function is part of its caller.
    if (INVALIDATING_HELPERS.has(name) && !(name === 'bpf_tail_call' && this.inProgramBody())) this.invalidate(name, n, st);
    if (FRAME_CHANGING_HELPERS.has(name)) {
      st.wrote = true;
      // Growing or shrinking the tail, or the metadata in front of the frame, leaves the Ethernet addresses as they were.
      if (name !== 'bpf_xdp_adjust_tail' && name !== 'bpf_xdp_adjust_meta') st.macWrote = true;
      // Bytes written at an offset the tier does not follow: the checksums among them, possibly.
      // A local header copy stored back brings its own changes (and updates of its `check`) with it.
      const src = name === 'bpf_xdp_store_bytes' && argNodes[2] ? unparen(argNodes[2]) : undefined;
      const copied = src?.type === 'pointer_expression' && src.childForFieldName('operator')?.text === '&' ? src.childForFieldName('argument') : undefined;
      const copy = copied ? this.headerCopy(copied, st) : undefined;
      if (copy) {
        for (const w of st.copies?.get(copy.name) ?? []) this.headerStore(w.t, w.field, w.node as Node, st, w.value, undefined);
        if (st.copies?.has(copy.name)) {
          const copies = new Map(st.copies);
          copies.delete(copy.name);
          st.copies = copies;
        }
      } else if (name === 'bpf_xdp_store_bytes' || name === 'bpf_dynptr_write' || name === 'bpf_dynptr_slice_rdwr') {
        markCsumUpdated(st);
        markL4Updated(st);
        markIcmpUpdated(st);
      }
      if (name === 'bpf_xdp_store_bytes' && this.driverMode === 'readonly-page') this.readonlyPageWrite(n, 'This bpf_xdp_store_bytes() call changes');
    }
    if (name === 'bpf_redirect') {
      st.redirected = true;
      const flags = single(args[1]?.v ?? TOP);
      const vals: ConstVal[] = [{ v: 4, note: 'bpf_redirect() returns XDP_REDIRECT', callee: name }];
      if (flags !== 0) vals.push({ v: 0, note: 'bpf_redirect() returns XDP_ABORTED for any non-zero flags', callee: name });
      return { v: { k: 'consts', vals } };
    }
    if (name === 'bpf_redirect_map') {
      if (!discarded) st.redirected = true;
      const flags = single(args[2]?.v ?? TOP);
      const vals: ConstVal[] = [{ v: 4, callee: name }];
      if (flags !== undefined) vals.push({ v: (flags & ~(3 | 8 | 16)) !== 0 ? 0 : flags & 3, callee: name, note: 'the fallback action in the low bits of the flags' });
      return { v: { k: 'consts', vals, more: flags === undefined || undefined } };
    }
    const results = HELPER_RESULTS[name];
    if (results) {
      return { v: { k: 'consts', vals: results.values.map((v) => ({ v, note: `${name}() ${results.note}`, callee: name, origin: this.originOf(n) })) } };
    }
    if (!isUserFunction && (name.startsWith('bpf_') || LIBBPF_INTERNAL.test(name) || name.startsWith('__builtin_') || name.startsWith('__sync_') || name.startsWith('__atomic_'))) {
      return { v: TOP };
    }
    // Byte-order conversions from system headers (`__constant_htons(ETH_P_IP)`, `ntohl`): values, no side effects.
    if (!isUserFunction && BYTE_ORDER.test(name)) return { v: TOP };
    // A function the tier cannot see (declared only, in a system header, or too deep): assume it may write the
    // frame, redirect, or move the packet, whichever keeps the rules quiet, and that it checks the map values it is
    // given for NULL.
    for (const a of args) if (a.v.k === 'mapval') this.nullChecked(st, a.v.id);
    st.redirected = true;
    // Packet pointers cannot be kept in maps or globals (the verifier refuses the store): a function given neither
    // one nor the context (`dump_stack()`, `log_event(code)`) cannot change the frame or its checksums.
    const scalarOnly = (tv: TV) =>
      tv.v.k === 'consts' || tv.v.k === 'len' || tv.v.k === 'rodata' || tv.v.k === 'mapval' || (tv.v.k === 'top' && (!!tv.v.stack || (!!tv.t && tv.t.ptr === 0 && tv.t.dims.length === 0 && !/^(?:struct|union) /.test(resolveTypedef(tv.t, this.decls).base))));
    if (args.every(scalarOnly)) return { v: TOP };
    st.wrote = true;
    st.macWrote = true;
    markCsumUpdated(st);
    markL4Updated(st);
    markIcmpUpdated(st);
    return { v: TOP };
  }

  private storeEffectsNonPacket(v: Val, n: Node, st: State): void {
    if (v.k === 'rodata' || (v.k === 'mapval' && v.ro)) this.storeEffects(v, n, st);
  }

  /**
   * The prefix under which the members an argument points at are kept: `pkt.` for `&pkt` (a local struct), `p->` for
   * `p` (a parameter that already carries a caller's struct); undefined otherwise.
   */
  private memberAlias(a: Node, st: State): string | undefined {
    const u = unparen(a);
    if (u.type === 'pointer_expression' && u.childForFieldName('operator')?.text === '&') {
      const inner = unparen(u.childForFieldName('argument') ?? u);
      if (inner.type !== 'identifier') return undefined;
      const t = st.vars.get(inner.text)?.t;
      if (!t || t.ptr !== 0 || t.dims.length !== 0 || !/^(?:struct|union) /.test(resolveTypedef(t, this.decls).base)) return undefined;
      return `${inner.text}.`;
    }
    if (u.type === 'identifier' && st.vars.has(`${u.text}->`)) return `${u.text}->`;
    return undefined;
  }

  /** Argument nodes being evaluated for a callee the tier follows (`&pkt` there keeps pkt's members). */
  private passing = new Set<number>();

  /** Header stores made so far (their `seq`), for what a callee's returned value saw (ConstVal.seqAt). */
  private storeSeq = 0;

  private inline(fn: FunctionDecl, args: TV[], st: State, name: string, call: Node, aliases: (string | undefined)[] = []): TV {
    const callee: State = { ...clone(st), vars: new Map() };
    fn.params.forEach((p, i) => {
      if (!p.name) return;
      const a = args[i] ?? { v: TOP };
      callee.vars.set(p.name, { v: retype(a.v, p.type), t: p.type });
      const from = aliases[i];
      if (!from || p.type.ptr !== 1) return;
      callee.vars.set(`${p.name}->`, { v: TOP });
      for (const [k, slot] of st.vars) if (k.startsWith(from) && k.length > from.length) callee.vars.set(`${p.name}->${k.slice(from.length)}`, slot);
    });
    const frame: Frame = { fn, isProgram: false, instance: this.instances++, callSite: this.site ?? call, returns: [], loops: [], labels: new Map(), entryCsum: callee.csumOpen, outer: st.vars };
    this.inlined.add(fn);
    const checksBefore = this.nullChecks.length;
    const savedUnit = this.unit;
    const savedSite = this.site;
    this.frames.push(frame);
    this.unit = fn.unit;
    // Findings inside a callee are reported where they are, not at a macro that happened to call it; and the macros
    // being expanded around the call (`if (unlikely(parse(...) < 0))`) are not being expanded inside it: its own
    // `unlikely(p > data_end)` is a bounds check like any other.
    this.site = undefined;
    const savedExpanding = this.expanding;
    this.expanding = new Set();
    let end: State | null;
    try {
      end = this.exec(fn.body, callee);
    } finally {
      this.frames.pop();
      this.unit = savedUnit;
      this.site = savedSite;
      this.expanding = savedExpanding;
    }
    const exits = joinStates([end, ...frame.returns.map((r) => r.state)]);
    // The members the callee stored through the struct's address (`p->ip = ...`) are the caller's again. A parser
    // that fails with a negative status (`return -1;` before it moves the cursor) is not gone on with by its caller:
    // the members are taken from the other paths, as a cursor moved past the header (`nh->pos = eth + 1`).
    // A parser handing out a header or NULL (`if (c->pos + 14 > c->end) return NULL;`) is tested by its caller
    // (`if (!(eth = parse_eth(&c))) return ...;`): the caller goes on with the header and the cursor of the paths that
    // found it, so the NULL returns are failures too.
    const handsOut = frame.returns.some((r) => r.tv.v.k === 'pkt');
    const failed = (r: { tv: TV }) => r.tv.v.k === 'consts' && !r.tv.v.more && r.tv.v.vals.length > 0 && r.tv.v.vals.every((c) => c.v < 0 || (handsOut && c.v === 0));
    const going = frame.returns.filter((r) => !failed(r));
    const members = going.length > 0 && going.length < frame.returns.length ? joinStates([end, ...going.map((r) => r.state)]) : exits;
    fn.params.forEach((p, i) => {
      const from = aliases[i];
      if (!from || !p.name || p.type.ptr !== 1 || !members?.vars.has(`${p.name}->`)) return;
      const prefix = `${p.name}->`;
      for (const k of [...st.vars.keys()]) if (k.startsWith(from) && k.length > from.length) st.vars.delete(k);
      for (const [k, slot] of members.vars) if (k.startsWith(prefix) && k.length > prefix.length) st.vars.set(`${from}${k.slice(prefix.length)}`, slot);
    });
    const before: Unstale = { slots: new Map([...st.vars].filter(([, sl]) => sl.v.k === 'pkt' || sl.v.k === 'end')), gen: st.gen, invalidated: st.invalidated, proven: st.proven };
    let unstale: Unstale | undefined;
    if (exits) {
      const genBefore = st.gen;
      // A parser that returns a status (`return -1` when `eth + 1 > data_end`, the header type otherwise) proves the
      // packet on the paths its caller goes on with, which the tier does not correlate with the status: the packet
      // counts as checked as far as the callee's returning paths checked it (the bytecode tier decides the rest).
      if (frame.returns.length > 1) {
        for (const r of frame.returns) {
          if (r.state.gen !== exits.gen) continue;
          for (const [root, n] of r.state.proven) if (n > (exits.proven.get(root) ?? 0)) exits.proven.set(root, n);
        }
      }
      st.proven = exits.proven;
      st.missed = exits.missed;
      st.wrote = exits.wrote;
      st.macWrote = exits.macWrote;
      // A builder that returns a negative status when it stops half-way (`check = 0` written, the header not finished,
      // `return -1;`) and 0 when done: its caller gives up on the status (`if (-1 == add_hdr(...)) return
      // XDP_ABORTED;`), which the tier does not correlate with the status, so the checksum state going on is the one of
      // the paths that did not fail.
      const failed = (r: { tv: TV }) => r.tv.v.k === 'consts' && !r.tv.v.more && r.tv.v.vals.length > 0 && r.tv.v.vals.every((c) => c.v < 0);
      const done = frame.returns.filter((r) => !failed(r));
      const sums = (done.length < frame.returns.length && done.length > 0 ? joinStates([end, ...done.map((r) => r.state)]) : null) ?? exits;
      st.icmpPending = sums.icmpPending;
      st.icmpUpdated = sums.icmpUpdated;
      st.redirected = exits.redirected;
      st.pendingRedirect = exits.pendingRedirect;
      st.csumPending = sums.csumPending;
      // The callee updated the checksum on every path: values the caller stored before no longer carry the change.
      if (sums.csumUpdated && !st.csumUpdated) markCsumUpdated(st);
      st.csumUpdated = sums.csumUpdated;
      st.csumRecomputed = sums.csumRecomputed;
      st.csumZeroed = sums.csumZeroed;
      st.csumOpen = sums.csumOpen;
      if (sums.l4Updated && !st.l4Updated) markL4Updated(st);
      st.l4Pending = sums.l4Pending;
      st.l4Updated = sums.l4Updated;
      st.l4Proof = exits.l4Proof;
      st.gen = exits.gen;
      st.invalidated = exits.invalidated;
      if (exits.gen > genBefore && exits.invalidated) {
        unstale = this.statusOfMove(end, frame.returns, genBefore, before);
        markStale(st, exits.invalidated);
        st.unstale = unstale;
      }
    }
    // Packet pointers of this function that the callee (or one it called) stored through their address: the values
    // stored replace them (after the marking above, which applies to what the callee did not reload).
    const own = `${this.frame.instance}:`;
    for (const [ref, cell] of this.refCells) {
      if (!ref.startsWith(own) || !cell.written) continue;
      const name = ref.slice(own.length);
      const slot = st.vars.get(name);
      if (slot) st.vars.set(name, { v: cell.written, t: slot.t });
      this.refCells.set(ref, { value: cell.written });
    }
    // A map value the callee checked for NULL counts as checked after the call: its result usually says which case
    // it was (`if (!valid(v)) return;`), and the tier does not correlate the two.
    // (The ids stay in nullChecks, so the callers further out see them too.)
    for (const id of new Set(this.nullChecks.slice(checksBefore))) clearNull(st, id);
    let v: Val | undefined;
    const after = sumsOf(st);
    for (const r of frame.returns) {
      if (handsOut && isNullConst(r.tv.v)) continue;
      const u = unstale;
      let rv = u && r.state.gen === before.gen && r.tv.v.k === 'consts' ? { ...r.tv.v, vals: r.tv.v.vals.map((c) => (u.moved?.has(c.v) ? c : { ...c, keep: u })) } : r.tv.v;
      // Each value knows the checksum state of its own return (a caller's test of the result narrows to it); one
      // passed on from a call with nothing changed since (`return handle(ctx, &hdr);`) keeps that call's own.
      if (rv.k === 'consts') {
        const sums = sumsOf(r.state);
        rv = { ...rv, vals: rv.vals.map((c) => ({ ...c, exit: { sums: c.exit && sameSums(r.state, c.exit.after) ? c.exit.sums : sums, after } })) };
      }
      v = v ? joinVals(v, rv) : rv;
    }
    // A callee that can run to its closing brace without a return gives its caller an undefined value there.
    if (end && v?.k === 'consts' && fallsOff(fn)) {
      const brace = fn.body.lastChild!;
      const line = brace.startPosition.row + 1;
      const origin = { file: fn.unit.file, range: { line, column: brace.startPosition.column + 1, endLine: line, endColumn: brace.startPosition.column + 2 } };
      v = { ...v, vals: [...v.vals, { v: NaN, undef: true, note: `${name}() can reach its end (line ${line}) without a return, and then returns an undefined value`, origin }] };
    }
    if (!v) return { v: TOP };
    if (v.k === 'consts') {
      const csumAt = st.csumOpen ?? null;
      const l4At = (st.l4Updated ? undefined : st.l4Pending) ?? null;
      const seqAt = this.storeSeq;
      v = { ...v, vals: v.vals.map((c) => ({ ...c, callee: c.callee ?? name, csumAt, l4At, seqAt })) };
    }
    // A map value the callee returns is checked where it is used; a check after the lookup inside the callee would
    // not cover its own `return NULL`.
    if (v.k === 'mapval' && v.lookup) v = { ...v, lookup: { ...v.lookup, fix: undefined, via: v.lookup.via ?? name } };
    return { v };
  }

  /** The current code is the program's own function, or __always_inline functions inlined into it all the way up. */
  private inProgramBody(): boolean {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i]!;
      if (f.isProgram) return true;
      const head = f.fn.unit.text.slice(f.fn.node.startIndex, f.fn.body.startIndex);
      if (!/\b(?:__always_inline|always_inline)\b/.test(head)) return false;
    }
    return true;
  }

  private invalidate(helper: string, n: Node, st: State): void {
    const stmt = enclosingStatement(n);
    let fix: StaleInfo['fix'];
    if (stmt && !this.site) {
      let dataVar: string | undefined;
      let endVar: string | undefined;
      let ctxVar: string | undefined;
      for (const [name, slot] of st.vars) {
        if (slot.v.k === 'pkt' && slot.v.region === 'data' && slot.v.off === 0 && !dataVar && slot.t && slot.t.ptr > 0) dataVar = name;
        if (slot.v.k === 'end' && !endVar) endVar = name;
        if (slot.v.k === 'ctx' && !ctxVar) ctxVar = name;
      }
      // The local the function loads `data` into (`void *data = (void *)(long)ctx->data;`), when the tier no longer
      // follows its value (joined with another pointer, or moved along the packet since).
      if (!dataVar && ctxVar) {
        const fnText = this.frame.fn.unit.text.slice(this.frame.fn.body.startIndex, this.frame.fn.body.endIndex);
        const m = new RegExp(`\\b(\\w+)\\s*=\\s*(?:\\([^()]*\\)\\s*)*${ctxVar}\\s*->\\s*data\\s*;`).exec(fnText);
        if (m && st.vars.get(m[1]!)?.t?.ptr) dataVar = m[1];
      }
      const line = this.unit.text.slice(this.unit.text.lastIndexOf('\n', stmt.startIndex - 1) + 1, stmt.startIndex);
      fix = {
        file: this.unit.file,
        line: stmt.endPosition.row + 1,
        column: stmt.endPosition.column + 1,
        indent: /^\s*$/.test(line) ? line : '',
        dataVar,
        endVar,
        ctxVar,
      };
    }
    const within = this.frame.isProgram ? undefined : this.frame.fn.name;
    const info: StaleInfo = { helper, within, file: this.unit.file, line: this.rangeOf(n).line, fix };
    st.gen++;
    st.proven = new Map();
    st.l4Proof = undefined;
    st.invalidated = info;
    markStale(st, info);
  }

  private asm(n: Node, st: State): void {
    // Output operands are whatever the assembly left in them; a packet pointer stays one (the HDR idiom hides its
    // origin from clang and checks it right after).
    const outputs = n.childForFieldName('output_operands');
    for (const op of outputs?.namedChildren ?? []) {
      const value = op?.childForFieldName('value');
      const name = value ? unparen(value).text : undefined;
      if (name && st.vars.has(name)) {
        const slot = st.vars.get(name)!;
        st.vars.set(name, { v: slot.v.k === 'pkt' ? slot.v : TOP, t: slot.t });
      }
    }
    st.wrote = true;
    st.macWrote = true;
  }

  private sizeofExpr(n: Node, st: State): number | undefined {
    const typeNode = n.childForFieldName('type');
    if (typeNode) return sizeOfType(typeDescriptor(typeNode, this.decls), this.decls);
    const value = n.childForFieldName('value');
    if (!value) return undefined;
    const t = this.staticType(value, st);
    return t ? sizeOfType(t, this.decls) : undefined;
  }

  /** The C type of an expression, for sizeof (no evaluation, no side effects). */
  private staticType(n: Node, st: State): TypeRef | undefined {
    const node = unparen(n);
    switch (node.type) {
      case 'identifier':
        return st.vars.get(node.text)?.t ?? this.global(node.text)?.type;
      case 'pointer_expression': {
        const arg = node.childForFieldName('argument');
        const t = arg ? this.staticType(arg, st) : undefined;
        if (!t) return undefined;
        return node.childForFieldName('operator')?.text === '*' ? derefType(t) : { ...t, ptr: t.ptr + 1 };
      }
      case 'subscript_expression': {
        const arg = node.childForFieldName('argument');
        const t = arg ? this.staticType(arg, st) : undefined;
        return t ? derefType(t) : undefined;
      }
      case 'field_expression': {
        const arg = node.childForFieldName('argument');
        const fieldName = node.childForFieldName('field')?.text ?? '';
        const op = node.childForFieldName('operator')?.text ?? node.child(1)?.text;
        const t = arg ? this.staticType(arg, st) : undefined;
        if (!t) return undefined;
        const layout = op === '->' ? pointeeStruct(t, this) : structOf(resolveTypedef(t, this.decls).base, this.decls);
        const f = layout?.fields[fieldName];
        if (!f) return undefined;
        return { base: '__u8', ptr: 0, dims: [f.size] };
      }
      case 'cast_expression': {
        const typeNode = node.childForFieldName('type');
        return typeNode ? typeDescriptor(typeNode, this.decls) : undefined;
      }
      default:
        return undefined;
    }
  }

  // ---- rule: packet access -------------------------------------------------------------------------------------

  /**
   * A load or store of `size` bytes at `extra` bytes past the packet pointer `p`. Reports a stale pointer or a
   * missing bounds check; after a report the range is taken as proven so one missing check gives one finding.
   */
  private access(p: TV, extra: number | null, size: number, n: Node, st: State, ptrNode: Node, index?: number, reader?: string): void {
    const v = p.v;
    if (v.k !== 'pkt') return;
    if (v.stale) {
      const key = `${v.stale.file}:${v.stale.line}:${v.root}`;
      if (!this.staleReported.has(key)) {
        this.staleReported.add(key);
        this.staleUse(v.stale, ptrNode, n);
      }
      return;
    }
    if (v.loose) return;
    // An offset from a layout the tier could not work out (NaN): nothing to judge.
    if ((v.off !== null && Number.isNaN(v.off)) || (extra !== null && Number.isNaN(extra))) return;
    const proven = st.proven.get(v.root) ?? 0;
    const known = v.off !== null && extra !== null;
    const need = known ? v.off! + extra! + size : null;
    // A loop's cursor nothing checked since the loop: judged by its parent, as far as the access reaches from where
    // the loop started (the least the cursor can be at; the loop may have moved it further, unseen here).
    if (!(proven > 0)) {
      let reach = need ?? 1;
      for (let r = rangeRoot(v.root); r?.loop; r = rangeRoot(r.parent)) {
        reach += r.at;
        if ((st.proven.get(r.parent) ?? 0) >= reach) return;
      }
    }
    if (need !== null && v.off! + extra! < 0) return; // before data: headroom/metadata, not this rule's business
    const ok = need !== null ? proven >= need : proven > 0;
    // Past a missing check of this root (no compare with data_end since): the same mistake, named in its finding.
    const missed = st.missed?.get(v.root);
    if (missed && (need === null || need > missed.real)) {
      this.alsoPast(missed.finding, n);
      if (!ok) st.proven.set(v.root, need === null ? Infinity : need);
      return;
    }
    if (ok) return;
    // Take the range as proven from here on, as far as the bounds check the quick fix inserts would prove it
    // (the whole object the pointer points to), so one missing check is one finding.
    const object = p.t ? pointeeSize(p.t, this.decls) : undefined;
    const cover = v.off !== null && object !== undefined ? v.off + object * ((index ?? 0) + 1) : 0;
    const lengthLine = v.region === 'data' && !(proven > 0) ? this.lengthChecks.get(v.root) : undefined;
    // A length compared instead of a pointer guards every access after it alike: one finding.
    // Nothing checked at all on this pointer's packet yet: the one check the program is missing guards what follows too.
    st.proven.set(v.root, need === null || lengthLine !== undefined || !(proven > 0) ? Infinity : Math.max(need, cover));
    // A header at a variable offset left unchecked on another path as far as on this one: the one check after the
    // pointer is computed fixes both, so it is named in that finding.
    const elsewhere = v.root.includes('+[') ? this.missedRoots.get(v.root) : undefined;
    if (elsewhere && elsewhere.real === proven) {
      this.alsoPast(elsewhere.finding, n);
      if (Number.isFinite(st.proven.get(v.root))) st.missed = new Map(st.missed ?? []).set(v.root, { finding: elsewhere.finding, real: proven });
      return;
    }
    const of = v.region === 'meta' ? 'of the metadata' : v.root.includes('+[') ? 'of a header at a variable offset' : 'of the packet';
    const bound = v.region === 'meta' ? 'ctx->data' : 'data_end';
    const ptrText = ptrNode.text.length <= 40 ? ptrNode.text : 'this pointer';
    // A helper reading through the pointer (a map key or value in the packet) is checked by the verifier as a load.
    const subject = reader ? `${reader} at \`${ptrText}\`,` : `\`${ptrText}\` accesses`;
    const base = reader ? /^&\s*\(?\s*(\w+)\s*->/.exec(ptrText)?.[1] ?? 'hdr' : ptrText;
    const first = need === null ? 0 : v.off! + extra!;
    const bytes = need === null ? `bytes at a variable offset ${of}` : need - 1 === first ? `byte ${first} ${of}` : `bytes ${first}..${need - 1} ${of}`;
    const checked =
      proven > 0 && Number.isFinite(proven) && need !== null
        ? `only ${proven} byte${proven === 1 ? ' is' : 's are'} checked against ${bound}`
        : `no check against ${bound} covers ${need !== null && need - 1 === first ? 'it' : 'them'}`;
    const message =
      lengthLine !== undefined
        ? `\`${ptrText}\` accesses ${bytes}, but the verifier learns no bound from \`data_end - data\` compared with a length (line ${lengthLine}) and rejects the program ("invalid access to packet"). ` +
          `Compare pointers instead, e.g. \`if ((void *)(${ptrText} + 1) > ${bound}) return XDP_DROP;\`.`
        : `${subject} ${bytes}, but ${checked}: the verifier rejects the program ("invalid access to packet"). ` +
          `Check the bounds first, e.g. \`if ((void *)(${base} + 1) > ${bound}) return XDP_DROP;\`${reader ? ' before the call' : ''}.`;
    // The inserted check covers the pointee (`(&ip->daddr) + 1`): for a helper reading more than that (a struct key at
    // `&ip->saddr`) it would not be the fix.
    const pointee = p.t ? pointeeSize(p.t, this.decls) : undefined;
    const finding = this.report('unchecked-packet-access', n, message, reader && pointee !== size ? [] : this.boundsFix(p, ptrNode, n, st, index));
    // Taken as checked only as far as this access needs: a later access past it is this same missing check.
    if (finding && Number.isFinite(st.proven.get(v.root))) st.missed = new Map(st.missed ?? []).set(v.root, { finding, real: proven });
    if (finding && v.root.includes('+[') && !this.missedRoots.has(v.root)) this.missedRoots.set(v.root, { finding, real: proven });
  }

  /** A later access past the missing check `f` reports, as a related place of it (on the program's line that leads there). */
  private alsoPast(f: Finding, n: Node): void {
    const away = this.awayFromHome(n);
    const range = this.rangeOf(away ? away.site : n);
    const file = away ? away.home.file : this.unit.file;
    if (file === f.file && range.line === f.line) return;
    if (f.related?.some((r) => r.file === file && r.line === range.line)) return;
    (f.related ??= []).push({ file, ...range, message: 'past the same missing check too' });
  }

  private boundsFix(p: TV, ptrNode: Node, n: Node, st: State, index?: number): Fix[] {
    if (this.site || !this.frame.isProgram || p.v.k !== 'pkt' || p.v.region !== 'data') return [];
    const stmt = enclosingStatement(n);
    if (!stmt) return [];
    let endExpr: string | undefined;
    let ctxName: string | undefined;
    for (const [name, slot] of st.vars) {
      if (slot.v.k === 'end' && !slot.v.stale && !endExpr) endExpr = name;
      if (slot.v.k === 'ctx' && !ctxName) ctxName = name;
    }
    endExpr ??= ctxName ? `(void *)(long)${ctxName}->data_end` : undefined;
    if (!endExpr) return [];
    const ptr = unparen(ptrNode).type === 'identifier' ? ptrNode.text : `(${ptrNode.text})`;
    if (index !== undefined && index < 0) return [];
    const elems = index !== undefined ? index + 1 : 1;
    if (p.t && p.t.ptr === 0 && p.t.dims.length === 0) return [];
    const lineStart = this.unit.text.lastIndexOf('\n', stmt.startIndex - 1) + 1;
    const indent = this.unit.text.slice(lineStart, stmt.startIndex);
    const check = `if ((void *)(${ptr} + ${elems}) > ${endExpr})\n${/^\s*$/.test(indent) ? indent : ''}\treturn XDP_DROP;\n${/^\s*$/.test(indent) ? indent : ''}`;
    const at = { line: stmt.startPosition.row + 1, column: stmt.startPosition.column + 1 };
    return [{ title: `Insert a bounds check for \`${ptrNode.text}\``, edits: [{ ...at, endLine: at.line, endColumn: at.column, newText: check }] }];
  }

  private staleUse(info: StaleInfo, ptrNode: Node, n: Node): void {
    const name = ptrNode.text.length <= 40 ? ptrNode.text : 'this pointer';
    const home = this.frames[0]?.fn.unit.file ?? this.unit.file;
    const where = `${info.within ? `in ${info.within}() ` : ''}${info.file === this.unit.file ? 'on ' : `in ${shownPath(info.file, home)}, `}line ${info.line}`;
    const message =
      `\`${name}\` points into the packet as it was before ${info.helper}() ${where}, which can move it: the verifier ` +
      'rejects this access ("invalid mem access \'scalar\'"). Reload data and data_end from ctx after the call and check ' +
      'the bounds again.';
    const related = [Analyzer.lineRef(info.file, info.line, `${info.helper}() moves the packet here`)];
    const fixes: Fix[] = [];
    const f = info.fix;
    // Reloading data and data_end mends the access only when the pointer used is one of them, or is computed from
    // them after the reload (assigned between the call and this use); a pointer derived before the call stays stale.
    const between = f && f.file === this.unit.file ? this.unit.text.slice(offsetOf(this.unit.text, f.line, f.column), n.startIndex) : '';
    const root = ptrNode.type === 'identifier' ? ptrNode.text : ptrNode.descendantsOfType('identifier')[0]?.text ?? name;
    const mends = !!f && (root === f.dataVar || root === f.endVar || new RegExp(`\\b${root.replace(/[^\w]/g, '')}\\s*(?:=[^=]|\\+=|-=)`).test(between));
    if (f && mends && f.file === this.unit.file && f.ctxVar && (f.dataVar || f.endVar) && !this.site) {
      const lines: string[] = [];
      if (f.dataVar) lines.push(`${f.dataVar} = (void *)(long)${f.ctxVar}->data;`);
      if (f.endVar) lines.push(`${f.endVar} = (void *)(long)${f.ctxVar}->data_end;`);
      const text = lines.map((l) => `\n${f.indent}${l}`).join('');
      fixes.push({
        title: `Reload ${[f.dataVar, f.endVar].filter(Boolean).join(' and ')} after ${info.helper}()`,
        edits: [{ line: f.line, column: f.column, endLine: f.line, endColumn: f.column, newText: text }],
      });
    }
    this.report('stale-packet-pointer', n, message, fixes, related);
  }

  // ---- rule: map values used before their NULL check -------------------------------------------------------------

  /** `&k` for a local `k` whose value is 0 on every path here. */
  private zeroStackKey(arg: Node, st: State): boolean {
    const inner = unparen(arg);
    if (inner.type !== 'pointer_expression' || inner.childForFieldName('operator')?.text !== '&') return false;
    const a = inner.childForFieldName('argument');
    const slot = a && unparen(a).type === 'identifier' ? st.vars.get(unparen(a).text) : undefined;
    return !!slot && slot.t?.ptr === 0 && slot.t.dims.length === 0 && single(slot.v) === 0;
  }

  /** The id of a lookup: the call's place, and which inline expansion of its function it runs in. */
  private lookupId(call: Node): string {
    return `${this.frame.instance}.${this.site ? `${this.site.startIndex}.` : ''}${call.startIndex}`;
  }

  /** Where the lookup is, and where an `if (!v)` check would go: after `T *v = lookup(...);` or `v = lookup(...);`. */
  private lookupInfo(helper: string, map: string | undefined, call: Node, st: State): LookupInfo {
    const info: LookupInfo = { helper, map, file: this.unit.file, line: this.rangeOf(call).line };
    if (this.site) return info;
    let cur = call;
    let parent = cur.parent;
    while (parent && (parent.type === 'parenthesized_expression' || parent.type === 'cast_expression')) {
      cur = parent;
      parent = cur.parent;
    }
    let variable: string | undefined;
    let stmt: Node | null = null;
    if (parent?.type === 'init_declarator' && parent.childForFieldName('value')?.id === cur.id) {
      const shape = declaratorShape(parent);
      if (shape.ptr > 0 && shape.dims.length === 0) variable = shape.name;
      stmt = parent.parent;
    } else if (parent?.type === 'assignment_expression' && parent.childForFieldName('operator')?.text === '=' && parent.childForFieldName('right')?.id === cur.id) {
      const left = parent.childForFieldName('left');
      if (left && unparen(left).type === 'identifier' && st.vars.has(unparen(left).text)) variable = unparen(left).text;
      stmt = parent.parent?.type === 'expression_statement' ? parent.parent : null;
    }
    const block = stmt?.parent?.type;
    if (!variable || !stmt || (block !== 'compound_statement' && block !== 'case_statement')) return info;
    if (stmt.type !== 'declaration' && stmt.type !== 'expression_statement') return info;
    const text = this.unit.text;
    const lineStart = text.lastIndexOf('\n', stmt.startIndex - 1) + 1;
    const before = text.slice(lineStart, stmt.startIndex);
    const indent = /^\s*$/.test(before) ? before : '';
    const step = this.indentStep();
    const returns = this.nullReturn();
    const check = `${indent}if (!${variable})\n${indent}${step}${returns}`;
    const lineEnd = text.indexOf('\n', stmt.endIndex);
    const rest = text.slice(stmt.endIndex, lineEnd < 0 ? text.length : lineEnd);
    const end = { line: stmt.endPosition.row + 1, column: stmt.endPosition.column + 1 };
    if (lineEnd >= 0 && /^\s*(?:\/\/.*|\/\*.*?\*\/\s*)?$/.test(rest)) {
      // Nothing but a comment after the lookup on its line: the check goes on the lines below it.
      info.fix = { variable, returns, line: end.line + 1, column: 1, text: `${check}\n` };
    } else {
      info.fix = { variable, returns, line: end.line, column: end.column, text: `\n${check}\n${indent}` };
    }
    return info;
  }

  /** One level of indentation as the function writes it: its first statement's indent when made of spaces, else a tab. */
  private indentStep(): string {
    const first = this.frame.fn.body.namedChildren.find((c) => c && c.type !== 'comment');
    if (!first) return '\t';
    const text = this.unit.text;
    const before = text.slice(text.lastIndexOf('\n', first.startIndex - 1) + 1, first.startIndex);
    return /^ +$/.test(before) ? before : '\t';
  }

  /** What the inserted check returns: XDP_PASS from a program (or a callee returning an action), nothing from a void callee. */
  private nullReturn(): string {
    const frame = this.frame;
    if (frame.isProgram) return 'return XDP_PASS;';
    const declarator = frame.fn.node.childForFieldName('declarator');
    const ptr = declarator ? declaratorShape(declarator).ptr : 0;
    if (ptr > 0) return 'return NULL;';
    if (frame.fn.node.childForFieldName('type')?.text === 'void') return 'return;';
    return 'return XDP_PASS;';
  }

  /** The map value `id` is not NULL in `st` (a check, or one the tier takes as one): every copy of it is cleared. */
  private nullChecked(st: State, id: string): void {
    this.nullChecks.push(id);
    clearNull(st, id);
  }

  /**
   * A map value that may be NULL, cut to a narrower integer and compared (`(__u32)(unsigned long)v != 0`): clang moves
   * its low 32 bits, which the verifier refuses on the test's line ("pointer arithmetic on map_value_or_null
   * prohibited") before any use. Reported there, once; both sides go on as if checked (one finding per mistake).
   */
  private nullCut(l: TV, ln: Node, r: TV, rn: Node, t: State, f: State): boolean {
    const [p, pn] = l.v.k === 'mapval' ? [l, ln] : r.v.k === 'mapval' ? [r, rn] : [];
    if (!p || !pn || p.v.k !== 'mapval' || !p.v.nullable) return false;
    const ty = p.t ? resolveTypedef(p.t, this.decls) : undefined;
    const size = ty && ty.ptr === 0 && ty.dims.length === 0 && !/^(?:_Bool|bool)$/.test(ty.base) ? PRIMITIVE_SIZES[ty.base] : undefined;
    if (size === undefined || size >= 8) return false;
    const id = p.v.id;
    clearNull(t, id);
    clearNull(f, id);
    if (this.nullReported.has(id)) return true;
    this.nullReported.add(id);
    const ptr = pn.text.length <= 40 ? `\`${pn.text}\`` : 'this test';
    this.nullReport(`${ptr} cuts a pointer that may be NULL to a ${size * 8}-bit number: the verifier refuses that ("pointer arithmetic on map_value_or_null prohibited")`, p.v.lookup, pn, true);
    return true;
  }

  /** A load or store through `v` (or its use by a builtin that does one): reported while it may be NULL. */
  private nullDeref(v: Val, n: Node, ptrNode: Node, st: State): void {
    if (v.k !== 'mapval' || !v.nullable) return;
    // NULL only where a read-only global has the other truthiness than this path's test of it proved.
    if (v.nullIf && st.facts?.get(v.nullIf.global) === !v.nullIf.truthy) {
      clearNull(st, v.id);
      return;
    }
    // Go on as if checked, so that one missing check gives one finding.
    clearNull(st, v.id);
    if (this.nullReported.has(v.id)) return;
    this.nullReported.add(v.id);
    const ptr = ptrNode.text.length <= 40 ? `\`${ptrNode.text}\`` : 'this pointer';
    // A dereference inside a function of another file (READ_ONCE's helper in a header) is reported at the call in
    // the program's file that led there: that is the line the user can change.
    const home = this.frames[0].fn.unit;
    if (this.unit.file !== home.file) {
      for (let i = this.frames.length - 1; i >= 1; i--) {
        const site = this.frames[i].callSite;
        if (!site || this.frames[i - 1].fn.unit.file !== home.file) continue;
        const what = `this call dereferences ${ptr} in ${this.frame.fn.name}() (${shownPath(this.unit.file, home.file)}, line ${this.rangeOf(n).line}), which may be NULL`;
        const savedUnit = this.unit;
        const savedSite = this.site;
        this.unit = home;
        this.site = undefined;
        try {
          this.nullReport(what, v.lookup, site);
        } finally {
          this.unit = savedUnit;
          this.site = savedSite;
        }
        return;
      }
    }
    this.nullReport(`${ptr} may be NULL here`, v.lookup, n);
  }

  private nullReport(what: string, info: LookupInfo | undefined, n: Node, cut = false): void {
    const where = info ? `${info.file === this.unit.file ? 'on ' : `in ${shownPath(info.file, this.unit.file)}, `}line ${info.line}` : '';
    const misses =
      info?.helper === 'bpf_map_lookup_percpu_elem' ? 'when the key has no entry or the CPU does not exist' : 'when the key has no entry';
    const source = !info
      ? 'a map lookup returns NULL when the key has no entry'
      : info.via
        ? `${info.via}() can return NULL (${info.helper}() ${where} does ${misses})`
        : `${info.helper}(${info.map ? `&${info.map}, ...` : '...'}) ${where} returns NULL ${misses}`;
    const arrays = info?.array ? ' (an array map too, unless the key is a local known to be 0)' : '';
    // The check goes after the lookup, in the lookup's file: a lookup in a helper of a header is fixed in the header.
    const fix = info?.fix && !this.site && (info.file === this.unit.file || !info.via) ? info.fix : undefined;
    const advice = info?.via
      ? `Check the result of ${info.via}() for NULL first`
      : `Check ${fix?.variable ? `\`${fix.variable}\`` : 'it'} ${cut ? 'itself' : 'first'}, e.g. \`if (!${fix?.variable ?? 'v'}) return XDP_PASS;\``;
    const message = cut
      ? `${what}; ${source}${arrays}. ${advice}.`
      : `${what}: ${source}${arrays}, and the verifier rejects an unchecked use ("invalid mem access 'map_value_or_null'"). ` +
        `${advice}.`;
    const related = info ? [Analyzer.lineRef(info.file, info.line, `${info.helper}() may return NULL here`)] : undefined;
    const fixes: Fix[] = fix
      ? [
          {
            title: `Insert \`if (!${fix.variable}) ${fix.returns}\` after the lookup`,
            edits: [{ line: fix.line, column: fix.column, endLine: fix.line, endColumn: fix.column, newText: fix.text }],
            ...(info && info.file !== this.unit.file ? { file: info.file } : {}),
          },
        ]
      : [];
    this.report('map-value-null', n, message, fixes, related);
  }

  // ---- rules: stores into read-only memory -----------------------------------------------------------------------

  private ctxWrite(fieldName: string, n: Node): void {
    const off = XDP_MD_FIELDS[fieldName];
    // `ctx->data_end -= 4` computes on data_end before the store, and the verifier stops at that arithmetic.
    const op = n.type === 'update_expression' ? '++' : n.type === 'assignment_expression' ? n.childForFieldName('operator')?.text : undefined;
    const arithmetic = fieldName === 'data_end' && op !== undefined && op !== '=';
    const verifier = arithmetic
      ? 'at the arithmetic on data_end: "pointer arithmetic on pkt_end prohibited"'
      : off !== undefined ? `"invalid bpf_context access off=${off} size=4"` : '"invalid bpf_context access"';
    const hint =
      fieldName === 'data'
        ? ' To move the start of the packet, call bpf_xdp_adjust_head().'
        : fieldName === 'data_end'
          ? ' To grow or shrink the packet at its end, call bpf_xdp_adjust_tail().'
          : fieldName === 'data_meta'
            ? ' To reserve metadata in front of the packet, call bpf_xdp_adjust_meta().'
            : fieldName === 'rx_queue_index'
              ? ' Only a program offloaded to the NIC (loaded for hardware offload, e.g. on a Netronome card) may set it.'
              : '';
    this.report(
      'ctx-write',
      n,
      `Store into \`ctx->${fieldName}\`: every field of struct xdp_md is read-only to an XDP program, and the verifier ` +
        `rejects the ${arithmetic ? 'program' : 'store'} (${verifier}).${hint}`,
    );
  }

  private rodataWrite(name: string, n: Node): void {
    // clang keeps a store into a `const volatile` global (and the verifier refuses it); a store into a plain const
    // object is undefined behaviour, which clang may simply drop.
    const kept = this.decls.globals.get(name)?.isVolatile;
    this.report(
      'readonly-write',
      n,
      kept
        ? `Store into \`${name}\`, which is const: the program may only read it (the loader freezes .rodata), so the ` +
            'verifier rejects the store ("write into map forbidden"), cast or not. Set it from user space before loading, ' +
            'or drop the const if the program must change it.'
        : `Store into \`${name}\`, which is const: writing it is undefined (clang may drop the store), and a store that is ` +
            'kept is rejected by the verifier, as the loader freezes .rodata ("write into map forbidden"). Set it from user ' +
            'space before loading, or drop the const if the program must change it.',
    );
  }

  /** `return XDP_TX;` / `return bpf_redirect_map(...)` under the readonly-page driver mode (see checkReturn). */
  private readonlyPageAction(ret: Node, at: Node, vals: ConstVal[]): void {
    const own = vals.filter((c) => !c.callee?.startsWith('bpf_'));
    if (own.length === vals.length && this.calleeRepeat('readonly-page-write', own, at)) return;
    const place = own.length === vals.length ? this.calleePlace(own, at) : undefined;
    const tx = vals.some((c) => c.v === 3);
    const redirect = vals.some((c) => c.v === 4);
    const action = tx && redirect ? 'XDP_TX and XDP_REDIRECT' : tx ? 'XDP_TX' : 'XDP_REDIRECT';
    const lost = tx && redirect ? 'sending it on' : tx ? 'sending it back' : 'redirecting it';
    const before = this.findings.size;
    this.report(
      'readonly-page-write',
      at,
      `${action} ${tx && redirect ? 'need' : 'needs'} a writable page: a driver that hands out read-only pages (\`--driver readonly-page\`) ` +
        `drops the frame instead of ${lost}. Return XDP_PASS for such drivers, or use one that gives a writable page.`,
      undefined,
      this.placedRelated(own, at, place),
      place,
    );
    if (this.findings.size > before) [...this.findings.values()].at(-1)!.onReturn = true;
    void ret;
  }

  private readonlyPageWrite(n: Node, what = 'This store changes'): void {
    this.report(
      'readonly-page-write',
      n,
      `${what} the packet, but a driver that hands out read-only pages (\`--driver readonly-page\`) makes the ` +
        'write fault, and the packet is dropped as aborted. Leave the packet unchanged for such drivers.',
    );
  }

  // ---- rules at a program's return -------------------------------------------------------------------------------

  private checkReturn(ret: Node, expr: Node | null, tv: TV, st: State): void {
    const at = expr ?? ret;
    const v = tv.v;
    if (v.k === 'top' && v.mapRead && expr) this.mapCounterReturn(expr, v.mapRead);
    // `return e ? e->count : XDP_DROP;`: the counted value on one side of a choice.
    else if (v.k === 'consts' && v.more && v.mapRead && expr && unparen(expr).type === 'conditional_expression') this.mapCounterReturn(expr, v.mapRead);
    if (expr && !(v.k === 'consts' && v.vals.some((c) => foreignOf(c) || c.v < 0 || c.v > 4 || !Number.isInteger(c.v)))) this.truthValueReturn(expr, st);
    if (v.k !== 'consts') return;
    if (v.maybeUninit && expr && unparen(expr).type === 'identifier') this.uninitReturn(at, unparen(expr).text, v);
    const bad = v.vals.filter((c) => foreignOf(c) || c.v < 0 || c.v > 4 || !Number.isInteger(c.v));
    if (bad.length) this.invalidAction(at, bad, expr, bad.length === v.vals.length && !v.more);
    const intended = v.vals.filter((c) => !foreignOf(c));
    // A program run from a device map entry (SEC("xdp/devmap")) or a CPU map entry (SEC("xdp/cpumap")) runs after a
    // redirect: the kernel acts on XDP_PASS and XDP_DROP there (and XDP_REDIRECT in a cpumap program); anything else
    // is warned about as an invalid action and the frame dropped. Judged instead of the rules for those actions.
    const attach = attachedMap(this.frames[0]?.fn.section);
    if (attach && !bad.length) {
      const refused = intended.filter((c) => refusedByAttach(attach, c.v));
      if (refused.length) {
        this.attachAction(at, expr, refused, attach);
        const left = intended.filter((c) => !refused.includes(c));
        intended.length = 0;
        intended.push(...left);
      }
    }
    // Every value this return can give sends the packet on (no drop among them) with an IPv4 header changed and its
    // checksum not updated after the change, on a path that left that change open (csumOpen: the join of a callee's
    // `return XDP_PASS` before any change with its `return XDP_TX` after the change and the update is no such path).
    const sendsOn = intended.length === v.vals.length && !v.more && v.vals.length > 0 && v.vals.every((c) => c.v === 2 || c.v === 3 || c.v === 4);
    // `check = 0` on every path here and the sum never stored after it: the header goes out with a checksum of 0.
    const zeroedOpen = !!st.csumZeroed && !!st.csumPending && !Analyzer.swapOnly(st.csumPending.writes);
    const plainOpen = !st.csumUpdated && !!st.csumOpen;
    if (st.csumPending && (plainOpen || zeroedOpen) && !Analyzer.swapOnly(st.csumPending.writes) && sendsOn) {
      this.staleChecksum(st.csumPending, v.vals.map((c) => c.v), !!st.csumZeroed);
    } else if (zeroedOpen && this.redirectedHere(expr, intended)) {
      this.staleChecksum(st.csumPending!, [4], true);
    } else {
      // Paths joined before the return (`action = XDP_DROP` on one, the change and `action = bpf_redirect(...)` on
      // another): the values whose own path changed the header and sent the packet on without an update.
      const sent = intended.filter((c) => c.csumStale && (c.v === 2 || c.v === 3 || c.v === 4) && !Analyzer.swapOnly(c.csumStale.writes));
      // `return bpf_redirect_map(...)`: the verdict is made here, on every path that reaches it, so a change this
      // path left open is sent on with the redirect (the fallback value on a missing key aside).
      const madeHere = this.redirectedHere(expr, intended) && st.csumOpen && !Analyzer.swapOnly(st.csumOpen.writes);
      // Each path's own change: two mistakes on two paths that meet before the return are two findings.
      const byChange = new Map<object, number[]>();
      for (const c of sent) byChange.set(c.csumStale!, [...(byChange.get(c.csumStale!) ?? []), c.v]);
      if (sent.length) for (const [change, values] of byChange) this.staleChecksum(change as NonNullable<State['csumPending']>, values);
      else if (madeHere && intended.some((c) => c.v === 4)) this.staleChecksum(st.csumOpen!, [4]);
    }
    // The same for the TCP/UDP checksum, when the path changed a port (and maybe the addresses of the pseudo-header).
    // An address change alone (NAT) is judged only where the branches taken prove the protocol of that header to be
    // TCP or UDP (`if (ip->protocol != IPPROTO_TCP) return XDP_PASS;`); without a proof it is not judged.
    const l4 = st.l4Pending;
    const proto = l4?.proto ?? addressOnlyProto(l4, st.l4Proof);
    // `return bpf_redirect_map(...)` sends the packet on with the redirect, as for the IPv4 checksum above.
    const redirectHere = this.redirectedHere(expr, intended);
    const l4Values = sendsOn ? v.vals.map((c) => c.v) : redirectHere ? [4] : [];
    if (l4 && !st.l4Updated && l4Values.length > 0) {
      const ipNode = st.csumPending && !st.csumUpdated && !Analyzer.swapOnly(st.csumPending.writes) ? (st.csumPending.writes.find((w) => w.from === undefined) ?? st.csumPending.writes[0])?.node : undefined;
      // The change this path left open, and those other paths joined here left open of their own (each a mistake).
      for (const [g, gp] of [[l4, proto], ...(l4.also ?? []).map((g) => [g, g.proto] as const)] as const) {
        if (!gp || Analyzer.swapOnly(g.writes)) continue;
        const p = g.writes.find((w) => w.from === undefined) ?? g.writes[0]!;
        if (p.node !== ipNode) this.staleL4Checksum(gp, p, l4Values, g.writes.some((w) => w.zero));
      }
    } else if (l4 && !st.l4Updated && l4Values.length === 0) {
      // Paths joined before the return (`action = XDP_ABORTED; goto out;` on one, the port change and `action =
      // XDP_TX` on another): the values whose own path changed a TCP/UDP header and sent the packet on without an update.
      const ipNode = st.csumPending && !st.csumUpdated && !Analyzer.swapOnly(st.csumPending.writes) ? (st.csumPending.writes.find((w) => w.from === undefined) ?? st.csumPending.writes[0])?.node : undefined;
      const byChange = new Map<NonNullable<State['l4Pending']>, number[]>();
      for (const c of intended) if (c.l4Stale && (c.v === 2 || c.v === 3 || c.v === 4)) byChange.set(c.l4Stale, [...(byChange.get(c.l4Stale) ?? []), c.v]);
      for (const [change, values] of byChange) {
        for (const [g, gp] of [[change, change.proto ?? addressOnlyProto(change, st.l4Proof)], ...(change.also ?? []).map((g) => [g, g.proto] as const)] as const) {
          if (!gp || Analyzer.swapOnly(g.writes)) continue;
          const p = g.writes.find((w) => w.from === undefined) ?? g.writes[0]!;
          if (p.node !== ipNode) this.staleL4Checksum(gp, p, values, g.writes.some((w) => w.zero));
        }
      }
    }
    // The same for the ICMP checksum, which covers the whole ICMP message and is never optional.
    const icmp = st.icmpPending;
    if (icmp && !st.icmpUpdated && l4Values.length > 0) {
      this.staleIcmpChecksum(icmp.writes.find((w) => !w.zero) ?? icmp.writes[0]!, l4Values);
    } else if (l4Values.length === 0) {
      // Paths joined before the return (`action = XDP_TX` after the change, `goto out` on the others): the values
      // whose own path changed an ICMP header and sent it on without an update.
      const byChange = new Map<NonNullable<State['icmpPending']>, number[]>();
      for (const c of intended) if (c.icmpStale && (c.v === 2 || c.v === 3 || c.v === 4)) byChange.set(c.icmpStale, [...(byChange.get(c.icmpStale) ?? []), c.v]);
      for (const [change, values] of byChange) this.staleIcmpChecksum(change.writes.find((w) => !w.zero) ?? change.writes[0]!, values);
    }
    // Each value is judged by what its own path did (stamped on it) or what every path to here did. Where the return
    // already gives values that are no XDP action (a parser's status codes), its other values named by that same
    // non-XDP enum or macro (P_ERR_X = 3) are that mistake too, not an XDP_TX or XDP_REDIRECT meant as one.
    // Likewise a computed value (`rc + OPEN`) that gives 5 on one path and 4 on another: the 4 is the same mistake,
    // not an XDP_REDIRECT meant as one. Named XDP actions, a helper's result and plain numbers written as such stay.
    if (bad.length) {
      const literal = (c: ConstVal) => !!c.origin && c.origin.file === this.unit.file && /^\d+$/.test(this.textAt(c.origin.range).trim());
      const keep = intended.filter((c) => (c.name ? /^XDP_/.test(c.name) : !!c.callee?.startsWith('bpf_') || literal(c)));
      intended.length = 0;
      intended.push(...keep);
    }
    if (intended.some((c) => c.v === 4 && !c.callee?.startsWith('bpf_') && !c.redirected) && !st.redirected) {
      this.redirectWithoutTarget(ret, at, st, intended.filter((c) => c.v === 4 && !c.callee?.startsWith('bpf_') && !c.redirected));
    }
    // A driver that hands out read-only pages cannot send the frame on at page level: XDP_TX and XDP_REDIRECT turn the
    // frame into an xdp_frame in its own headroom, so the driver drops it instead (the driver model's readonly-page
    // mode). Then an unchanged frame sent back is beside the point: the program may not change it at all.
    const forwarded = this.driverMode === 'readonly-page' ? intended.filter((c) => c.v === 3 || c.v === 4) : [];
    if (forwarded.length) {
      this.readonlyPageAction(ret, at, forwarded);
      return;
    }
    if (intended.some((c) => c.v === 3 && !c.wrote) && !st.wrote && !this.calleeRepeat('tx-unmodified', intended.filter((c) => c.v === 3 && !c.wrote), at)) {
      this.report(
        'tx-unmodified',
        at,
        // The bytecode tier's words: a mistake both tiers find reads the same wherever it is shown.
        txUnmodified(),
        undefined,
        this.placedRelated(intended.filter((c) => c.v === 3 && !c.wrote), at, this.calleePlace(intended.filter((c) => c.v === 3 && !c.wrote), at)),
        this.calleePlace(intended.filter((c) => c.v === 3 && !c.wrote), at),
      );
    } else if (intended.some((c) => c.v === 3 && !c.macWrote) && !st.macWrote && !this.calleeRepeat('tx-unmodified', intended.filter((c) => c.v === 3 && !c.macWrote), at)) {
      // The frame was changed, but not its Ethernet addresses: sent back out of the port it came in on, it is
      // addressed to this host's own MAC.
      const kept = intended.filter((c) => c.v === 3 && !c.macWrote);
      this.report(
        'tx-unmodified',
        at,
        // (Not "after changing the frame": a store into a map value also counts as a change here, to keep the
        // unchanged-frame finding quiet, and the frame itself may be as received.)
        "This returns XDP_TX with the frame's Ethernet addresses unchanged: it goes back out addressed to " +
          "this host's own MAC, so the peer never gets it. Swap (or set) h_source and h_dest before returning XDP_TX.",
        undefined,
        this.placedRelated(kept, at, this.calleePlace(kept, at)),
        this.calleePlace(kept, at),
      );
    }
  }

  /**
   * The return's own expression redirects: `return bpf_redirect_map(...)`, one side of a choice
   * (`return ok ? bpf_redirect(ifindex, 0) : XDP_PASS;`), or a call of the program's own function whose XDP_REDIRECT
   * is a redirect helper's result (`return send(eth, ifindex);` ending in `return bpf_redirect_map(...)`). The verdict
   * is made by this return on every path that reaches it, the fallback value on a missing entry aside.
   */
  private redirectedHere(expr: Node | null, intended: ConstVal[]): boolean {
    if (!intended.some((c) => c.v === 4)) return false;
    const made = (e: Node | null | undefined, depth: number): boolean => {
      if (!e || depth > 8) return false;
      const u = unparen(e);
      if (u.type === 'conditional_expression') return made(u.childForFieldName('consequence'), depth + 1) || made(u.childForFieldName('alternative'), depth + 1);
      if (u.type !== 'call_expression') return false;
      const name = calleeName(u) ?? '';
      if (/^bpf_redirect/.test(name)) return true;
      return this.decls.functions.has(name) && intended.some((c) => c.v === 4 && /^bpf_redirect/.test(c.callee ?? ''));
    };
    return made(expr, 0);
  }

  /**
   * A store the tier cannot name (through an untyped or unknown pointer, a struct of the program's own, memcpy) may
   * be the update of a checksum: counted as one, unless its bytes lie before where that checksum can be (an Ethernet
   * frame with an IPv4 header: its check at byte 24 or later, the UDP check at 40, TCP's later still). A store past
   * a TCP or UDP header of this packet (its payload) is no update but a change that checksum covers (l4PayloadOf).
   */
  private mayStoreChecksum(v: Val, st: State, size = 2, ptrNode?: Node, through?: TypeRef, storeNode?: Node, field?: string): void {
    if (v.k === 'ctx' || v.k === 'rodata' || v.k === 'mapval' || v.k === 'end' || v.k === 'len' || v.k === 'consts') return;
    const payload = storeNode ? this.l4PayloadOf(v, st) : undefined;
    if (payload && storeNode && payload.proto === 'icmp') this.icmpPayloadStore(storeNode, st, payload.sum ?? 'checksum', field);
    else if (payload && storeNode) this.payloadStore(payload.proto as 'tcp' | 'udp', storeNode, st, field);
    if (v.k === 'top') {
      if (v.stack) return; // the program's own memory
      // `ip6->daddr.in6_u.u6_addr32[3] = x`: a store into a member of a header field is a store into that field.
      const field = ptrNode ? this.headerFieldOf(ptrNode, st) : undefined;
      if (field) {
        this.headerStore(field.t, field.name, field.node, st, undefined, undefined);
        return;
      }
      // An unknown pointer may point into the packet; the program's own arrays and structs (and their addresses) do not.
      const inner = ptrNode ? unparen(ptrNode) : undefined;
      const local = inner?.type === 'pointer_expression' || inner?.type === 'identifier' || inner?.type === 'field_expression' || inner?.type === 'subscript_expression' ? rootIdentifier(inner) : undefined;
      const slot = local ? st.vars.get(local) : undefined;
      if (inner?.type === 'pointer_expression' && inner.childForFieldName('operator')?.text === '&' && slot) return;
      if (slot?.t && (slot.t.dims.length > 0 || slot.t.ptr === 0)) return;
      // `*ethhdr = eth` through a parser's `struct ethhdr **` out-parameter stores a pointer, not packet bytes.
      if (slot?.t && slot.t.ptr >= 2 && inner?.type === 'identifier') return;
      // `eth->h_dest` through an Ethernet (or VLAN) header the tier cannot place: no checksum lies there.
      const arrow = inner?.type === 'field_expression' && (inner.childForFieldName('operator')?.text ?? inner.child(1)?.text) === '->' ? inner.childForFieldName('argument') : undefined;
      const hdr = arrow && unparen(arrow).type === 'identifier' ? st.vars.get(unparen(arrow).text) : slot;
      if (hdr?.t && hdr.t.ptr === 1 && /^struct (?:ethhdr|vlan_hdr|_vlan_hdr|vlan_ethhdr)$/.test(resolveTypedef(hdr.t, this.decls).base)) return;
      if (local && !slot && !this.decls.functions.has(local)) return; // a global
    }
    if (v.k === 'pkt' && v.region === 'meta') return; // metadata in front of the packet holds no checksum
    // `memcpy(eth->h_source, mac, 6)` through an Ethernet header at an offset the tier lost: no checksum lies there.
    if (v.k === 'pkt' && v.off === null && ptrNode) {
      const u = unparen(ptrNode);
      const arg = u.type === 'field_expression' && (u.childForFieldName('operator')?.text ?? u.child(1)?.text) === '->' ? u.childForFieldName('argument') : undefined;
      const t = arg && unparen(arg).type === 'identifier' ? st.vars.get(unparen(arg).text)?.t : undefined;
      if (t && t.ptr === 1 && /^struct (?:ethhdr|vlan_hdr|_vlan_hdr|vlan_ethhdr)$/.test(resolveTypedef(t, this.decls).base)) return;
    }
    // A store through a struct of the program's own that has no checksum field (`pkt.dhcp->op = BOOTREPLY`,
    // `memset(dhcp->sname, 0, 64)`): a payload the program parses, not the update of a header's sum.
    if ((ptrNode || through) && this.payloadStruct(ptrNode, st, through)) return;
    const end = v.k === 'pkt' && v.off !== null ? v.off + size : Infinity;
    if (end > 24) markCsumUpdated(st);
    if (end > 40 && !payload) markL4Updated(st);
    if (end > 34 && payload?.proto !== 'icmp') markIcmpUpdated(st);
  }

  /**
   * The protocol whose payload a store at `v` changes: a place in the packet past a TCP (20 bytes), UDP (8 bytes) or
   * ICMP (8 bytes) header a pointer holds at a known place of the same packet root. The pointers are this function's
   * and, in an inlined callee, its callers' at the call (`stamp(payload)` with `udp` the caller's). The place may be
   * known only as a lower bound: an unsigned offset added (`p + i`, atLeast) or a root started at a variable offset
   * from a place of its parent (`payload + len`, a cursor a loop moves), which lies at or past that place. The protocol
   * the branches proved decides between headers at the same place; a TCP or UDP header quoted in an ICMP message (past
   * the ICMP header) is covered by the ICMP checksum. With another protocol proven, or no way to tell, none.
   */
  private l4PayloadOf(v: Val, st: State): { proto: 'tcp' | 'udp' | 'icmp'; sum?: string } | undefined {
    if (v.k !== 'pkt' || v.region !== 'data' || v.stale || v.loose) return undefined;
    // The places (root, least offset) the store is known to be at or past, from its own root up its parents.
    const places: [string, number][] = [];
    let root = v.root;
    let at = v.off ?? v.atLeast;
    for (let depth = 0; depth < 8 && at !== undefined; depth++) {
      places.push([root, at]);
      const m = /^(.*)@(\d+)\+\[.*\]$/.exec(root);
      if (!m) break;
      root = m[1]!;
      at = Number(m[2]) + at;
    }
    if (places.length === 0) return undefined;
    const l4s: { proto: 'tcp' | 'udp'; root: string; off: number }[] = [];
    const icmps: { root: string; off: number; sum: string }[] = [];
    const scopes = [st.vars, ...this.frames.slice(1).map((f) => f.outer).filter((o): o is State['vars'] => !!o)].reverse();
    for (const vars of scopes) {
      for (const slot of vars.values()) {
        const h = slot.v;
        if (h.k !== 'pkt' || h.off === null || h.stale || h.loose || !slot.t) continue;
        const place = places.find(([r]) => r === h.root);
        if (!place) continue;
        const l4 = l4HeaderOf(slot.t, this);
        if (l4 && place[1] >= h.off + (l4 === 'tcp' ? 20 : 8)) l4s.push({ proto: l4, root: h.root, off: h.off });
        else if (!l4 && isIcmpHeader(slot.t, this) && place[1] >= h.off) {
          if (place[1] < h.off + 8) return undefined; // the ICMP header itself, through a pointer the tier cannot name
          icmps.push({ root: h.root, off: h.off, sum: icmpChecksumName(slot.t, this) });
        }
      }
    }
    const proof = st.l4Proof;
    const icmpProven = proof?.proto === 'other' && (proof.num === 1 || proof.num === 58);
    // An L4 header after an ICMP header of the same root: a packet quoted in an ICMP error.
    const quoted = l4s.some((l) => icmps.some((i) => i.root === l.root && i.off < l.off));
    if (icmps.length > 0 && (icmpProven || quoted || (!proof && l4s.length === 0))) return { proto: 'icmp', sum: icmps[0]!.sum };
    if (icmps.length > 0) return undefined;
    const past = new Set(l4s.map((l) => l.proto));
    // No TCP/UDP header pointer at all (`data + 42` under a UDP proof): past the IPv4 header the protocol was proven
    // from (without options) and the TCP/UDP header after it. With options that place is still in the UDP header or
    // past it, covered by the same checksum.
    if (l4s.length === 0 && (proof?.proto === 'tcp' || proof?.proto === 'udp') && proof.v4 && proof.at) {
      const m = /^(.*):(\d+)$/.exec(proof.at);
      const ip = m ? { root: m[1]!, off: Number(m[2]) } : undefined;
      if (ip && places.some(([r, at]) => r === ip.root && at >= ip.off + 20 + (proof.proto === 'tcp' ? 20 : 8))) return { proto: proof.proto };
    }
    if (proof?.proto === 'tcp' || proof?.proto === 'udp') return past.has(proof.proto) ? { proto: proof.proto } : undefined;
    if (proof?.proto === 'other' || proof?.proto === 'mixed' || past.size !== 1) return undefined;
    return { proto: [...past][0]! };
  }

  /** A store into the data of an ICMP message: an input of its checksum, as a header field is (icmpStore). */
  private icmpPayloadStore(n: Node, st: State, sum: string, field?: string): void {
    if (st.icmpPending) st.icmpUpdated = undefined;
    const under = underOf(st);
    st.icmpPending = { writes: [...(st.icmpPending?.writes ?? []), { field: field ?? '', node: n, file: this.unit.file, site: this.site, sum, payload: true, ...(under ? { under } : {}) }] };
  }

  /** A store into the payload of a TCP/UDP packet: an input of its checksum, as a header field is (headerStore). */
  private payloadStore(l4: 'tcp' | 'udp', n: Node, st: State, field?: string): void {
    const w: L4Change = { field: field ?? '', node: n, file: this.unit.file, site: this.site, hdr: l4 === 'tcp' ? 'TCP' : 'UDP', payload: true, away: this.awayFromHome(n), seq: this.storeSeq++, ...(underOf(st) ? { under: underOf(st) } : {}) };
    st.l4Pending = { proto: st.l4Pending?.proto ?? l4, writes: [...(st.l4Pending?.writes ?? []), w], ...(st.l4Pending?.also ? { also: st.l4Pending.also } : {}) };
  }

  /** Whether `p` (or `p->f`) goes through a pointer to a complete struct of the program with no checksum-like field. */
  private payloadStruct(ptrNode: Node | undefined, st: State, through?: TypeRef): boolean {
    let t = through;
    if (!t && ptrNode) {
      let u = unparen(ptrNode);
      if (u.type === 'field_expression' && (u.childForFieldName('operator')?.text ?? u.child(1)?.text) === '->') u = unparen(u.childForFieldName('argument') ?? u);
      if (u.type === 'identifier') t = st.vars.get(u.text)?.t;
      else if (u.type === 'field_expression') {
        const key = this.memberSlot(u, st);
        t = key ? st.vars.get(key)?.t : undefined;
      }
    }
    if (!t) return false;
    const r = resolveTypedef(t, this.decls);
    if (r.ptr !== 1 || r.dims.length !== 0 || !/^(?:struct|union) /.test(r.base) || KERNEL_STRUCTS[r.base]) return false;
    // Complete up to a flexible array member at its end (`__u8 options[];`).
    const layout = this.decls.structs.get(r.base);
    if (!layout || Object.keys(layout.fields).length === 0) return false;
    if (isIpHeader(t, this) || isIp6Header(t, this) || l4HeaderOf(t, this) || isIcmpHeader(t, this)) return false;
    return !Object.keys(layout.fields).some((f) => /sum|check|csum/i.test(f));
  }

  /** `hdr->field.a.b[i]` with `hdr` a local packet pointer to an IP or TCP/UDP header: that header and field. */
  private headerFieldOf(n: Node, st: State): { t: TypeRef; name: string; node: Node } | undefined {
    let cur = unparen(n);
    for (let depth = 0; depth < 16; depth++) {
      const inner =
        cur.type === 'subscript_expression' || (cur.type === 'field_expression' && (cur.childForFieldName('operator')?.text ?? cur.child(1)?.text) === '.')
          ? cur.childForFieldName('argument')
          : undefined;
      if (inner === undefined) break;
      if (!inner) return undefined;
      cur = unparen(inner);
      if (cur.type !== 'subscript_expression' && cur.type !== 'field_expression') return undefined;
    }
    if (cur.type !== 'field_expression' || (cur.childForFieldName('operator')?.text ?? cur.child(1)?.text) !== '->') return undefined;
    const base = cur.childForFieldName('argument');
    const name = cur.childForFieldName('field')?.text;
    const slot = base && unparen(base).type === 'identifier' ? st.vars.get(unparen(base).text) : undefined;
    if (!slot?.t || !name || slot.v.k !== 'pkt') return undefined;
    if (!(isIpHeader(slot.t, this) || isIp6Header(slot.t, this) || l4HeaderOf(slot.t, this))) return undefined;
    return { t: slot.t, name, node: cur.parent?.type === 'assignment_expression' ? cur.parent : cur };
  }

  /** A store into a field of an ICMP header: its checksum (never optional) must be computed after it. */
  private icmpStore(field: string, n: Node, st: State, value: Val | undefined, sum: string): void {
    const zero = !!value && single(value) === 0;
    if (isIcmpChecksum(field) && !zero) {
      markIcmpUpdated(st);
      st.icmpPending = undefined;
      return;
    }
    // `checksum = 0` before the sum is computed, or a change after an update: open until the next computed store.
    if (isIcmpChecksum(field) || st.icmpPending) st.icmpUpdated = undefined;
    const under = underOf(st);
    st.icmpPending = { writes: [...(st.icmpPending?.writes ?? []), { field, node: n, file: this.unit.file, site: this.site, zero: zero && isIcmpChecksum(field), sum, ...(under ? { under } : {}) }] };
  }

  /** A store into a field of `struct iphdr` through a packet pointer: the header checksum must follow. */
  private headerStore(t: TypeRef | undefined, field: string, n: Node, st: State, value: Val | undefined, at?: string): void {
    const l4 = l4HeaderOf(t, this);
    const ip6 = !l4 && isIp6Header(t, this);
    if (l4 || ip6 || isIpHeader(t, this)) {
      // The L4 checksum covers its whole header (ports, sequence numbers, flags, length) and, through the
      // pseudo-header, the addresses. A TCP checksum of 0 is no update: TCP, unlike UDP, has no "no checksum".
      const zero = l4 === 'tcp' && field === 'check' && !!value && single(value) === 0;
      if (l4 && field === 'check' && !zero) markL4Updated(st);
      else if (l4 || field === 'saddr' || field === 'daddr') {
        const from = value?.k === 'top' ? value.field : undefined;
        const hdr = l4 ?? (ip6 ? 'IPv6' : 'IPv4');
        const w = { field, from, node: n, file: this.unit.file, site: this.site, hdr: hdr === 'tcp' ? 'TCP' : hdr === 'udp' ? 'UDP' : hdr, at: l4 ? undefined : at, away: this.awayFromHome(n), ...(zero ? { zero } : {}), seq: this.storeSeq++, ...(underOf(st) ? { under: underOf(st) } : {}) };
        if (zero) st.l4Updated = undefined;
        st.l4Pending = { proto: l4 ?? st.l4Pending?.proto, writes: [...(st.l4Pending?.writes ?? []), w], ...(st.l4Pending?.also ? { also: st.l4Pending.also } : {}) };
      }
    }
    // The protocol stored: what the branches proved about it no longer holds.
    if (!l4 && (field === 'protocol' || field === 'nexthdr')) {
      st.l4Proof = undefined;
      forgetUnder(st);
    }
    if (!isIpHeader(t, this)) return;
    if (field === 'check') {
      const zeroing = !!value && single(value) === 0;
      const completes = !zeroing && !!st.csumZeroed;
      // `check = 0` starts a recompute; until the sum is stored, the change this path made stays open.
      const open = zeroing ? st.csumOpen : undefined;
      // `check = 0` on a header this path did not change (or only swapped saddr and daddr, which keeps the sum): the
      // zero itself is the change the sum is due for.
      const bare = zeroing && (!st.csumPending || Analyzer.swapOnly(st.csumPending.writes));
      markCsumUpdated(st);
      if (open) st.csumOpen = open;
      if (zeroing) st.csumZeroed = true;
      if (bare) st.csumPending = { writes: [...(st.csumPending?.writes ?? []), { field, from: undefined, node: n, file: this.unit.file, site: this.site, at, away: this.awayFromHome(n), seq: this.storeSeq++ }] };
      if (completes) st.csumRecomputed = true;
      return;
    }
    // A change after a recompute from scratch: that checksum no longer covers the header. So for a change after
    // `check = 0` with the sum not stored yet: only the store that completes the recompute covers it.
    if (st.csumZeroed && st.csumUpdated) {
      st.csumUpdated = undefined;
      st.csumPending = undefined;
    }
    if (st.csumRecomputed) {
      st.csumUpdated = undefined;
      st.csumRecomputed = undefined;
      st.csumPending = undefined;
    }
    const from = value?.k === 'top' ? value.field : undefined;
    st.csumPending = { writes: [...(st.csumPending?.writes ?? []), { field, from, node: n, file: this.unit.file, site: this.site, at, away: this.awayFromHome(n), seq: this.storeSeq++ }] };
    if (!st.csumUpdated) st.csumOpen = { writes: [...(st.csumOpen?.writes ?? []), st.csumPending.writes[st.csumPending.writes.length - 1]!] };
  }

  /** The header fields were only exchanged among themselves (saddr <-> daddr): the sum of the header is unchanged. */
  private static swapOnly(writes: NonNullable<State['csumPending']>['writes']): boolean {
    const last = new Map<string, string | undefined>();
    for (const { field, from } of writes) last.set(field, from);
    const to = [...last.keys()].sort();
    const from = [...last.values()];
    if (from.some((f) => f === undefined)) return false;
    return JSON.stringify(to) === JSON.stringify((from as string[]).sort()) && [...last].some(([t, f]) => t !== f);
  }

  private staleChecksum(pending: NonNullable<State['csumPending']>, values: number[], zeroed = false): void {
    // The change to report: the first store of a value that is not another header field (a swap is harmless). After
    // `check = 0` the sum is due once the header is complete: the last change, where its computation belongs.
    // A store made on every path that leads here comes first (see joinCsumPending), then one of some paths only.
    const must = pending.writes.filter((w) => !w.may);
    const own = must.filter((w) => w.from === undefined);
    const p = (zeroed ? own.at(-1) ?? must.at(-1) : own[0] ?? must[0]) ?? pending.writes.find((w) => w.from === undefined) ?? pending.writes[0]!;
    const actions = [...new Set(values)].map((v) => XDP_ACTIONS[v]).join('/');
    const where = p.field === 'ttl' ? 'the stack or the next router' : 'the receiver';
    const message = zeroed && p.field === 'check'
      ? `The IPv4 header checksum (\`check\`) is set to 0 here and not computed before ${actions}: a checksum of 0 is no ` +
        `checksum for IPv4, so ${where} drops the packet as corrupt. Store the computed sum into \`check\`, or leave it as ` +
        'it was when the header is unchanged (exchanging saddr and daddr keeps the sum).'
      : zeroed
      ? `\`${p.field}\` of the IPv4 header is changed here, and the header checksum (\`check\`) was set to 0 but is not ` +
        `computed before ${actions}: a checksum of 0 is no checksum for IPv4, so ${where} drops the packet as corrupt. ` +
        'Store the computed sum into `check` after the last change.'
      : `\`${p.field}\` of the IPv4 header is changed here, but the header checksum (\`check\`) is not updated before ` +
        `${actions}: ${where} drops the packet as corrupt. Update \`check\` incrementally, or set it to 0 and recompute it.`;
    if (p.away) {
      this.reportAway('stale-checksum', p.away as Away, message);
      return;
    }
    this.reportPending(p, message);
  }

  /** A stale-checksum finding on a pending write, reported in the unit and at the call site where the write was made. */
  private reportPending(p: { file?: string; site?: unknown; node: unknown }, message: string): void {
    const unit = this.decls.units.find((u) => u.file === p.file);
    const savedUnit = this.unit;
    const savedSite = this.site;
    if (unit) this.unit = unit;
    this.site = p.site as Node | undefined;
    try {
      this.report('stale-checksum', p.node as Node, message);
    } finally {
      this.unit = savedUnit;
      this.site = savedSite;
    }
  }

  private staleIcmpChecksum(p: NonNullable<State['icmpPending']>['writes'][number], values: number[]): void {
    const actions = [...new Set(values)].map((v) => XDP_ACTIONS[v]).join('/');
    // The checksum field as the program's header type names it (`checksum`, `icmp6_cksum`, a struct of its own's `cksum`).
    const sum = p.sum ?? 'checksum';
    const message = p.payload
      ? `${p.field ? `\`${p.field}\` in the ICMP data` : 'The ICMP data'} is changed here, but the ICMP checksum (\`${sum}\`, which ` +
        `covers the whole ICMP message) is not updated before ${actions}: the receiver drops the message as corrupt. ` +
        `Update \`${sum}\` incrementally (e.g. with bpf_csum_diff).`
      : p.zero
      ? `The ICMP checksum is set to 0 here and not computed before ${actions}: ICMP has no "no checksum", so the receiver ` +
        `drops the message as corrupt. Store the computed sum into \`${sum}\` after the changes.`
      : `\`${p.field}\` of the ICMP header is changed here, but the ICMP checksum (\`${sum}\`, which covers the whole ICMP ` +
        `message) is not updated before ${actions}: the receiver drops the message as corrupt. Update \`${sum}\` ` +
        'incrementally (e.g. with bpf_csum_diff).';
    this.reportPending(p, message);
  }

  private staleL4Checksum(proto: 'tcp' | 'udp' | 'tcp/udp', p: NonNullable<State['l4Pending']>['writes'][number], values: number[], zeroed = false): void {
    const actions = [...new Set(values)].map((v) => XDP_ACTIONS[v]).join('/');
    const what = p.field ? `\`${p.field}\` in the ${p.hdr} payload` : `The ${p.hdr} payload`;
    const message =
      p.payload && p.hdr === 'TCP'
        ? `${what} is changed here, but the TCP checksum (\`tcp->check\`, which covers the payload too) is not updated ` +
          `before ${actions}: the receiver drops the segment as corrupt. Update \`check\` incrementally (e.g. with bpf_csum_diff).`
        : p.payload
        ? `${what} is changed here, but the UDP checksum (\`udp->check\`, which covers the payload too) is not updated ` +
          `before ${actions}: unless the packet came with no UDP checksum (0), the receiver drops it as corrupt. Update ` +
          '`check` incrementally (e.g. with bpf_csum_diff), or set it to 0 (IPv4 only).'
        : proto === 'tcp/udp'
        ? `\`${p.field}\` of the ${p.hdr} header is changed here, but the TCP/UDP checksum (which covers the addresses) is not ` +
          `updated before ${actions}: the receiver drops the packet as corrupt (a UDP packet sent with no checksum, 0, ` +
          `excepted). Update \`check\` of the TCP or UDP header incrementally (e.g. with bpf_csum_diff).`
        : proto === 'tcp' && p.zero
        ? `The TCP checksum is set to 0 here and not computed before ${actions}: unlike UDP, TCP has no "no checksum" ` +
          `value, so the receiver drops the segment as corrupt. Compute \`check\` after the change (or update it incrementally).`
        : proto === 'tcp'
        ? `\`${p.field}\` of the ${p.hdr} header is changed here, but the TCP checksum (\`tcp->check\`, which covers the TCP ` +
          `header and the addresses) is not updated before ${actions}: the receiver drops the segment as corrupt. Update \`check\` ` +
          `incrementally (e.g. with bpf_csum_diff)${zeroed ? '; setting it to 0 does not do for TCP' : ''}.`
        : `\`${p.field}\` of the ${p.hdr} header is changed here, but the UDP checksum (\`udp->check\`, which covers the UDP ` +
          `header and the addresses) is not updated before ${actions}: unless the packet came with no UDP checksum (0), the receiver ` +
          `drops it as corrupt. Update \`check\` incrementally, or set it to 0 (IPv4 only).`;
    if (p.away) {
      this.reportAway('stale-checksum', p.away as Away, message);
      return;
    }
    this.reportPending(p, message);
  }

  /**
   * True when every value comes out of a callee, from a place already reported for this rule in this program (the
   * callee is called from another `return` too); the first report stands for both. Records the places otherwise.
   */
  private calleeRepeat(rule: string, vals: ConstVal[], at: Node): boolean {
    if (!vals.length || vals.some((c) => !c.callee || !c.origin || c.callee.startsWith('bpf_'))) return false;
    const program = this.frames[0]?.fn.name ?? '';
    const keys = vals.map((c) => `${program}\0${rule}\0${c.origin!.file}\0${c.origin!.range.line}\0${c.origin!.range.column}\0${c.v}`);
    if (keys.every((k) => this.calleeReported.has(k))) {
      // The first report names this return too, so the reader (and the merge with the bytecode tier) sees it.
      const first = this.calleeReported.get(keys[0]!);
      const here = this.rangeOf(at);
      if (first && !this.site && !this.awayFromHome(at) && first.file === this.unit.file && first.line !== here.line && !first.related?.some((r) => r.file === first.file && r.line === here.line)) {
        first.related = [...(first.related ?? []), { file: this.unit.file, ...here, message: 'the same value is returned here too' }];
      }
      return true;
    }
    for (const k of keys) this.calleeReported.set(k, undefined);
    this.pendingCallee = keys;
    return false;
  }

  /**
   * `int action;` set on some paths only, then `return action;`: on the others the verdict is undefined. clang -O2
   * (-Wsometimes-uninitialized) assumes the variable holds a value some path sets, so every packet on a path that
   * sets none gets that verdict (measured: `int a; if (c) a = XDP_DROP; return a;` compiles to `r0 = 1; exit`).
   */
  private uninitReturn(at: Node, name: string, v: Extract<Val, { k: 'consts' }>): boolean {
    const decl = v.maybeUninit!;
    if (decl.file !== this.unit.file) return false;
    const set = v.vals.filter((c) => Number.isInteger(c.v));
    if (!set.length) return false;
    const shown = [...new Set(set.map((c) => (c.v >= 0 && c.v <= 4 ? XDP_ACTIONS[c.v] : `${c.v}`)))].join(' or ');
    this.report(
      'invalid-action',
      at,
      `\`${name}\` is returned here, but some paths reach this return without setting it (declared on line ${decl.range.line} ` +
        `without a value): its value there is undefined, and clang (-Wsometimes-uninitialized) may assume it is ${shown}, so ` +
        'packets on those paths get that verdict. Give it a value where it is declared (e.g. `= XDP_PASS`).',
      undefined,
      [{ file: this.unit.file, ...decl.range, message: `\`${name}\` is declared here without a value` }],
    );
    return true;
  }

  /** Keys calleeRepeat just recorded, given the finding once it is reported. */
  private pendingCallee: string[] | undefined;

  /**
   * The program's body can run to its closing brace without a `return` (the last statement is not one): the verdict
   * is then whatever r0 holds, which clang does not define (-Wreturn-type). Reported on the closing brace, as clang
   * reports it.
   */
  private fallsOffEnd(fn: FunctionDecl): void {
    if (!fallsOff(fn)) return;
    const brace = fn.body.lastChild!;
    const before = this.findings.size;
    this.report(
      'invalid-action',
      brace,
      `\`${fn.name}\` can reach its end without a return: the verdict is then whatever register r0 happens to hold ` +
        '(undefined; clang warns -Wreturn-type), often not an XDP action. End every path with `return XDP_PASS;` (or the action meant).',
    );
    // Not on a `return`: the bytecode tier's finding of this mistake is the one its walk placed by instruction.
    if (this.findings.size > before) [...this.findings.values()].at(-1)!.onReturn = false;
  }

  /** A store into a map value's field (`*` for the whole value): computed unless it gives only XDP actions. */
  private noteMapStore(v: Val, field: string, value: Val | undefined): void {
    if (v.k !== 'mapval') return;
    if (value?.k === 'consts' && !value.more && value.vals.every((c) => c.v >= 0 && c.v <= 4 && Number.isInteger(c.v))) return;
    this.mapComputed.add(`${mapKey(v)}.${field}`);
  }

  /** A value read out of a map field the program itself stores computed values into (a counter), returned as is. */
  private mapCounterReturn(at: Node, r: MapRead): void {
    const written = this.mapComputed.has(`${r.map}.${r.field}`) || this.mapComputed.has(`${r.map}.*`) || (r.field === '*' && [...this.mapComputed].some((k) => k.startsWith(`${r.map}.`)));
    if (!written) return;
    const shown = r.map.startsWith('#') ? 'a map value' : `the map \`${r.map}\``;
    const fixes: Fix[] = [];
    if (!this.site && !this.awayFromHome(at)) {
      const range = this.rangeOf(at);
      if (range.line === range.endLine) for (const action of ['XDP_DROP', 'XDP_PASS', 'XDP_ABORTED']) fixes.push({ title: `Return ${action} instead of ${unparen(at).text}`, edits: [{ ...range, newText: action }] });
    }
    this.report(
      'invalid-action',
      at,
      `\`${r.text}\` is read from ${shown}, which this program also changes (a count or state, not a verdict): it can hold any ` +
        'number, and above 4 the driver drops the packet as if XDP_ABORTED. Return an XDP action chosen by it (e.g. `x > LIMIT ? XDP_DROP : XDP_PASS`).',
      fixes,
    );
  }

  /** `return XDP_TX;` in a devmap or cpumap program (see checkReturn): an action the kernel does not take there. */
  private attachAction(at: Node, expr: Node | null, vals: ConstVal[], attach: 'devmap' | 'cpumap'): void {
    if (this.calleeRepeat('invalid-action', vals, at)) return;
    const names = [...new Set(vals.map((c) => XDP_ACTIONS[c.v]))].join(' and ');
    const place = this.calleePlace(vals, at);
    const fixes: Fix[] = [];
    // The action written in the return itself (`return XDP_TX;`), or in the one place of a callee it comes from.
    const written = place ?? (expr && vals.length === 1 && !this.site && !this.awayFromHome(expr) ? this.rangeOf(expr) : undefined);
    if (written && vals.length === 1 && /^\s*XDP_(?:TX|REDIRECT)\s*$/.test(this.textAt(written))) {
      for (const action of ['XDP_PASS', 'XDP_DROP']) fixes.push({ title: `Return ${action} instead of ${this.textAt(written).trim()}`, edits: [{ ...written, newText: action }] });
    }
    this.report(
      'invalid-action',
      at,
      attachActionMessage(attach, names),
      fixes,
      this.placedRelated(vals, at, place),
      place,
    );
  }

  /**
   * `return a == b;`, `return !ok;`, `return allowed(ctx);` with a bool function, `return ok;` with a bool local: a
   * truth value (0 or 1) returned as the verdict, which the driver reads as XDP_ABORTED or XDP_DROP.
   */
  private truthValueReturn(expr: Node, st: State): void {
    let e = unparen(expr);
    while (e.type === 'cast_expression' && e.childForFieldName('value')) e = unparen(e.childForFieldName('value')!);
    const op = e.childForFieldName('operator')?.text ?? '';
    const isBool = (t: string) => /^(?:const\s+)?(?:bool|_Bool)$/.test(t.trim());
    let what: string | undefined;
    if (e.type === 'binary_expression' && ['==', '!=', '<', '<=', '>', '>=', '&&', '||'].includes(op)) what = 'the result of a comparison';
    else if (e.type === 'unary_expression' && op === '!') what = 'the result of `!`';
    else if (e.type === 'call_expression') {
      const name = calleeName(e) ?? '';
      const fn = this.decls.functions.get(name);
      if (fn && isBool(fn.node.childForFieldName('type')?.text ?? '')) what = `${name}()'s bool result`;
    } else if (e.type === 'identifier') {
      const slot = st.vars.get(e.text);
      if (slot?.t && slot.t.ptr === 0 && slot.t.dims.length === 0 && isBool(slot.t.base)) what = `the bool \`${e.text}\``;
    }
    if (!what) return;
    this.report(
      'invalid-action',
      expr,
      `This returns ${what}, 0 or 1, which the driver takes as XDP_ABORTED or XDP_DROP, not as a yes or no. ` +
        `Return an XDP action for each case, e.g. \`return ${e.text.length <= 40 ? e.text : 'cond'} ? XDP_DROP : XDP_PASS;\`.`,
    );
  }

  private invalidAction(at: Node, bad: ConstVal[], expr: Node | null, onlyBad = false): void {
    if (this.calleeRepeat('invalid-action', bad, at)) return;
    const here = this.rangeOf(at);
    const describe = (c: ConstVal): string => {
      if (c.undef && c.note) return c.note;
      const foreign = foreignOf(c);
      const shown = c.name ? `${c.via ? `\`${c.via}\` (= ${c.name})` : `\`${c.name}\``}` : `${c.v}`;
      const fromElsewhere = c.origin && !(c.origin.file === this.unit.file && c.origin.range.line === here.line && c.origin.range.column >= here.column);
      const where = c.callee
        ? ''
        : fromElsewhere && c.origin
          ? ` (set on ${c.origin.file === this.unit.file ? '' : `${c.origin.file}:`}line ${c.origin.range.line})`
          : '';
      const value = `${c.v}`;
      if (foreign && Number.isInteger(foreign.value) && c.v >= 0 && c.v <= 4) {
        return `${shown}${where} is a ${foreign.family} verdict (${c.v}), which the XDP driver reads as ${XDP_ACTIONS[c.v]}`;
      }
      if (foreign) {
        return `${shown}${where} is a ${foreign.family} verdict (${value}), not an XDP action`;
      }
      if (c.bound && c.note) return `${c.note}, which is no XDP action`;
      if (c.note) return `${c.note}, so the program can return ${value}`;
      if (c.name) return `${shown}${where} is ${value}, not an XDP action`;
      if (c.callee) return `${c.callee}() can return ${value}, which is not an XDP action`;
      return `${c.v}${where} is not an XDP action`;
    };
    const outOfRange = bad.some((c) => c.v < 0 || c.v > 4 || !Number.isInteger(c.v));
    const onlyUndef = bad.every((c) => c.undef);
    const consequence = onlyUndef
      ? 'the verdict is then whatever register r0 holds, often not an XDP action.'
      : outOfRange
        ? 'the driver drops the packet as if XDP_ABORTED, after a one-time "Illegal XDP return value" warning.'
        : 'the driver acts on the number, not on what the name meant.';
    const exprText = expr ? unparen(expr).text : '';
    // Reported where the callee wrote the value (calleePlace): the caller's local that carried it is not named there.
    const placed = this.calleePlace(bad, at);
    const subject =
      !placed && expr && unparen(expr).type === 'identifier' && !bad.every((c) => c.name === exprText || c.via === exprText || c.bound) ? `Through \`${exprText}\`: ` : '';
    // Values that come with the same explanation (two error codes of one helper) are named together, once.
    const groups: ConstVal[][] = [];
    for (const c of bad) {
      const g = c.note ? groups.find((x) => x[0]!.note === c.note) : undefined;
      if (g) g.push(c);
      else groups.push([c]);
    }
    // One sentence per distinct explanation: four `return 4369;` of one helper read as one.
    const list = [...new Set(groups.map((g) => (g.length > 1 && !g[0]!.undef ? `${g[0]!.note}, so the program can return ${[...new Set(g.map((c) => c.v))].join(' or ')}` : describe(g[0]!))))]
      .slice(0, 4)
      .join('; ');
    const negative = bad.some((c) => c.v < 0);
    const likely = [...new Set(bad.map((c) => foreignOf(c)?.likely).filter((x) => !!x) as string[])];
    const suggestion = likely.length
      ? ` ${likely.join(' or ')} was likely meant.`
      : onlyUndef
        ? ' End every path of it with a return of an XDP action.'
        : outOfRange
        ? negative
          ? ' XDP_DROP (or XDP_ABORTED for an error) was likely meant.'
          : ' Return one of the XDP_* actions.'
        : '';
    const fixes: Fix[] = [];
    // `return -1;`, `return 9;`: the constant written in the return itself is replaced by the action likely meant.
    if (bad.length === 1 && !foreignOf(bad[0]) && expr && bad[0].origin?.file === this.unit.file && !this.site) {
      const r = this.rangeOf(expr);
      const o = bad[0].origin.range;
      if (o.line === r.line && o.column >= r.column && o.endColumn <= r.endColumn && (o.line !== r.line || o.endLine === r.endLine)) {
        for (const action of bad[0].v < 0 ? ['XDP_DROP', 'XDP_ABORTED'] : ['XDP_DROP', 'XDP_PASS', 'XDP_ABORTED']) {
          fixes.push({ title: `Return ${action} instead of ${unparen(expr).text}`, edits: [{ ...r, newText: action }] });
        }
      }
    }
    for (const c of bad) {
      const foreign = foreignOf(c);
      if (!foreign?.likely || !c.origin || c.origin.file !== this.unit.file) continue;
      fixes.push({
        title: `Replace ${c.via ?? c.name} with ${foreign.likely}`,
        edits: [{ ...c.origin.range, newText: foreign.likely }],
      });
    }
    // Every bad value written in one place of a function the program calls (`return -1;` in an inline helper): the
    // mistake is there, reported there once for every program and call that returns it.
    const place = this.calleePlace(bad, at);
    if (place && bad.length === 1 && !bad[0]!.undef && !foreignOf(bad[0]!) && /^[-+]?\s*(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*$/.test(this.textAt(place))) {
      for (const action of bad[0]!.v < 0 ? ['XDP_DROP', 'XDP_ABORTED'] : ['XDP_DROP', 'XDP_PASS', 'XDP_ABORTED']) {
        fixes.push({ title: `Return ${action} instead of ${this.textAt(place)}`, edits: [{ ...place, newText: action }] });
      }
    }
    // `if (err) return err;`, `if (len < 0) return len;`: every value this return gives is no XDP action, so the
    // local (or expression without calls) returned is replaced by the action likely meant.
    const ret = expr ? unparen(expr) : undefined;
    if (!fixes.length && !place && onlyBad && outOfRange && ret && !this.site && !this.awayFromHome(ret) && !bad.some((c) => c.undef || foreignOf(c)) && (ret.type === 'identifier' || ret.type === 'field_expression' || (ret.type !== 'call_expression' && !/\(/.test(ret.text)))) {
      const r = this.rangeOf(ret);
      if (r.line === r.endLine) {
        for (const action of bad.some((c) => c.v < 0) ? ['XDP_DROP', 'XDP_ABORTED'] : ['XDP_DROP', 'XDP_PASS', 'XDP_ABORTED']) {
          fixes.push({ title: `Return ${action} instead of ${ret.text}`, edits: [{ ...r, newText: action }] });
        }
      }
    }
    this.report('invalid-action', at, `${subject}${list}${outOfRange ? `: ${consequence}` : '.'}${suggestion}`, fixes, this.placedRelated(bad, at, place), place);
  }

  /**
   * The one place in the program's file, inside a function the program calls, that every value comes from
   * (`return XDP_TX;` in a helper): a finding about those values goes there rather than to the program's `return`
   * that passes them on, so a helper shared by two programs or called from two returns gives one finding.
   */
  private calleePlace(vals: ConstVal[], at: Node): Range | undefined {
    const o = vals[0]?.origin;
    // Only where the program returns the call's result itself (`return handle(ctx);`), or keeps it in a local and
    // returns that (`action = pick(...); return action;`) when the callee wrote each value from an XDP action's name
    // (`action = XDP_TX + 2;` in the callee): a status kept in a local and returned (`err = parse(...); if (err)
    // return err;`, the callee's `return -1;`) is the program's mistake, not the callee's.
    const through = unparen(at);
    const local = through.type === 'identifier' && vals.every((c) => !!c.origin && /\bXDP_[A-Z_]+\b/.test(this.textAt(c.origin.range)));
    if (this.site || !o || o.file !== this.unit.file || (through.type !== 'call_expression' && !local)) return undefined;
    for (const c of vals) {
      if (!c.callee || c.callee.startsWith('bpf_') || !c.origin || c.origin.file !== o.file || c.origin.range.line !== o.range.line) return undefined;
    }
    return o.range;
  }

  /** Related places of a finding on the values' place: the program's return that passes them on, and the others. */
  private placedRelated(vals: ConstVal[], at: Node, place: Range | undefined): Related[] | undefined {
    const origins = calleeOrigins(vals);
    if (!place) return origins;
    const program = this.frames[0]?.fn.name ?? 'the program';
    const out = (origins ?? []).filter((r) => r.line !== place.line);
    out.push({ file: this.unit.file, ...this.rangeOf(at), message: `${program} returns it here` });
    return out;
  }

  private textAt(r: Range): string {
    if (r.line !== r.endLine) return '';
    const lines = this.unit.text.split('\n');
    return (lines[r.line - 1] ?? '').slice(r.column - 1, r.endColumn - 1);
  }

  private redirectWithoutTarget(ret: Node, at: Node, st: State, vals: ConstVal[]): void {
    const pending = st.pendingRedirect;
    const fixes: Fix[] = [];
    let message =
      'XDP_REDIRECT is returned on a path where no bpf_redirect() or bpf_redirect_map() call set a target: the ' +
      'redirect fails and the driver drops the frame.';
    if (pending) {
      message =
        `XDP_REDIRECT is returned although the result of bpf_redirect_map() on line ${pending.line} is ignored: when the ` +
        'key is not in the map no target is set and the driver drops the frame. Return the helper\'s result.';
      const prev = ret.previousNamedSibling;
      if (!this.site && pending.file === this.unit.file && prev && prev.startIndex === pending.start) {
        const start = { line: prev.startPosition.row + 1, column: prev.startPosition.column + 1 };
        const end = { endLine: ret.endPosition.row + 1, endColumn: ret.endPosition.column + 1 };
        fixes.push({ title: 'Return the result of bpf_redirect_map()', edits: [{ ...start, ...end, newText: `return ${pending.text};` }] });
      }
    }
    const place = pending ? undefined : this.calleePlace(vals, at);
    this.report('redirect-without-target', at, message, fixes, place ? this.placedRelated(vals, at, place) : undefined, place);
  }
}

// ---- helpers ---------------------------------------------------------------------------------------------------

/** The map a map value pointer came from (its lookup's id when the tier does not know the map). */
function mapKey(v: Val & { k: 'mapval' }): string {
  return v.lookup?.map ?? `#${v.id}`;
}

function foreignOf(c: ConstVal) {
  return c.name ? foreignFamily(c.name) : undefined;
}

/** 'tcp' / 'udp' for a pointer to `struct tcphdr` / `struct udphdr` (through typedefs). */
function l4HeaderOf(t: TypeRef | undefined, a: Analyzer): 'tcp' | 'udp' | undefined {
  if (!t) return undefined;
  const r = resolveTypedef(t, a.decls);
  if (r.ptr !== 1 || r.dims.length !== 0) return undefined;
  if (r.base === 'struct tcphdr' || ownHeaderLike(r.base, a, 20, OWN_TCP)) return 'tcp';
  if (r.base === 'struct udphdr' || ownHeaderLike(r.base, a, 8, OWN_UDP)) return 'udp';
  return undefined;
}

// The kernel's field names at the kernel's offsets: a struct of the program's own named otherwise (`struct tcp_hdr`,
// `struct udp_header`, a typedef'd copy) that lays these out is that header, and its `check` that header's checksum.
const OWN_TCP: Record<string, number> = { source: 0, dest: 2, seq: 4, ack_seq: 8, check: 16 };
const OWN_UDP: Record<string, number> = { source: 0, dest: 2, len: 4, check: 6 };
const OWN_IP: Record<string, number> = { ttl: 8, protocol: 9, check: 10, saddr: 12, daddr: 16 };

function ownHeaderLike(base: string, a: Analyzer, size: number, want: Record<string, number>): boolean {
  if (!/^(?:struct|union) /.test(base) || KERNEL_STRUCTS[base]) return false;
  const l = structOf(base, a.decls);
  if (!l || l.size !== size) return false;
  return Object.entries(want).every(([f, off]) => l.fields[f]?.offset === off);
}

/**
 * The checksum field of `struct icmphdr` (`checksum`), of `struct icmp6hdr` (`icmp6_cksum`), or of the program's own
 * ICMP header (`cksum`, see ownIcmpHeader).
 */
function isIcmpChecksum(field: string): boolean {
  return field === 'checksum' || field === 'icmp6_cksum' || field === 'cksum';
}

/** The name of the checksum field of the ICMP header `t` points to (isIcmpHeader). */
function icmpChecksumName(t: TypeRef | undefined, a: Analyzer): string {
  const r = t && resolveTypedef(t, a.decls);
  if (!r || r.base === 'struct icmphdr') return 'checksum';
  if (r.base === 'struct icmp6hdr') return 'icmp6_cksum';
  return structOf(r.base, a.decls)?.fields.cksum?.offset === 2 ? 'cksum' : 'checksum';
}

/** A pointer to `struct icmphdr` or `struct icmp6hdr` (through typedefs), or to the program's own ICMP header. */
function isIcmpHeader(t: TypeRef | undefined, a: Analyzer): boolean {
  if (!t) return false;
  const r = resolveTypedef(t, a.decls);
  return r.ptr === 1 && r.dims.length === 0 && (r.base === 'struct icmphdr' || r.base === 'struct icmp6hdr' || ownIcmpHeader(r.base, a));
}

/**
 * A struct of the program's own, named for ICMP, that lays out the part ICMP and ICMPv6 share: `type`, `code` and
 * `cksum` or `checksum` at bytes 0, 1 and 2 (xdp-tutorial's `struct icmphdr_common`, read at either version's header).
 */
function ownIcmpHeader(base: string, a: Analyzer): boolean {
  if (!/^(?:struct|union) \w*icmp/i.test(base) || KERNEL_STRUCTS[base]) return false;
  const l = structOf(base, a.decls);
  if (!l || l.size < 4 || l.fields.type?.offset !== 0 || l.fields.code?.offset !== 1) return false;
  return (l.fields.cksum ?? l.fields.checksum)?.offset === 2;
}

/** A pointer to `struct ipv6hdr` (through typedefs). */
function isIp6Header(t: TypeRef | undefined, a: Analyzer): boolean {
  if (!t) return false;
  const r = resolveTypedef(t, a.decls);
  return r.ptr === 1 && r.dims.length === 0 && r.base === 'struct ipv6hdr';
}

/** A pointer to `struct iphdr` (through typedefs). */
function isIpHeader(t: TypeRef | undefined, a: Analyzer): boolean {
  if (!t) return false;
  const r = resolveTypedef(t, a.decls);
  return r.ptr === 1 && r.dims.length === 0 && (r.base === 'struct iphdr' || ownHeaderLike(r.base, a, 20, OWN_IP));
}

function isBound(p: Val, b: Val): boolean {
  if (p.k !== 'pkt') return false;
  if (p.region === 'meta') return (b.k === 'pkt' && b.region === 'data') || b.k === 'top';
  if (b.k === 'end') return !b.stale;
  if (b.k === 'top') return true;
  return b.k === 'pkt' && b.root !== p.root;
}

function prove(st: State, root: string, off: number | null): void {
  const cur = st.proven.get(root) ?? 0;
  // An offset the tier does not know (a scale it could not work out): the root counts as checked.
  const n = off === null ? Infinity : off;
  // A compare with data_end: an access past it is a mistake of its own. One proving less than the range taken as
  // checked after a missing check leaves the bytes past it to that same missing check.
  const missed = st.missed?.get(root);
  if (missed) {
    const m = new Map(st.missed);
    if (n < cur) m.set(root, { finding: missed.finding, real: Math.max(missed.real, n) });
    else m.delete(root);
    st.missed = m.size ? m : undefined;
  }
  if (n > cur) st.proven.set(root, n);
  if (off === null) return;
  const r = rangeRoot(root);
  if (r) prove(st, r.parent, r.at + off);
}

function markStale(st: State, info: StaleInfo): void {
  const vars = new Map<string, Slot>();
  for (const [name, slot] of st.vars) {
    if ((slot.v.k === 'pkt' || slot.v.k === 'end') && !slot.v.stale) vars.set(name, { v: { ...slot.v, stale: info }, t: slot.t });
    else vars.set(name, slot);
  }
  st.vars = vars;
}

/**
 * The map value `id` is NULL in `st` (the failing side of a check). A dereference there is undefined behaviour that
 * clang deletes, so the verifier never sees it: the value becomes the constant 0, which no rule reports.
 */
function markNull(st: State, id: string): void {
  for (const [name, slot] of st.vars) {
    if (slot.v.k === 'mapval' && slot.v.id === id && !slot.v.ro) st.vars.set(name, { v: { k: 'consts', vals: [{ v: 0 }] }, t: slot.t });
  }
}

/** `file` as the user would name it from `from`'s folder: relative when it is inside it, else as it is. */
function shownPath(file: string, from: string): string {
  const rel = relative(dirname(resolve(from)), resolve(file));
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

function clearNull(st: State, id: string): void {
  for (const [name, slot] of st.vars) {
    if (slot.v.k === 'mapval' && slot.v.id === id && slot.v.nullable) st.vars.set(name, { v: { ...slot.v, nullable: false }, t: slot.t });
  }
}

/** libbpf's own macros around helpers (`___bpf_pick_printk`, `__bpf_vprintk`): helper calls, no side effects of their own. */
const LIBBPF_INTERNAL = /^_{2,3}bpf_/;

function unparen(n: Node): Node {
  let cur = n;
  while (cur.type === 'parenthesized_expression' && cur.namedChild(0)) cur = cur.namedChild(0)!;
  return cur;
}

function calleeName(call: Node): string | undefined {
  const f = call.childForFieldName('function');
  return f?.type === 'identifier' ? f.text : undefined;
}

function argTexts(call: Node): string[] {
  const args = call.childForFieldName('arguments');
  return (args?.namedChildren ?? []).filter((c): c is Node => !!c && c.type !== 'comment').map((c) => c.text);
}

/** Whether two pointer types point to the same struct (typedefs resolved). */
function sameHeader(a: TypeRef, b: TypeRef, decls: Decls): boolean {
  return a.ptr === 1 && b.ptr === 1 && resolveTypedef({ ...a, ptr: 0 }, decls).base === resolveTypedef({ ...b, ptr: 0 }, decls).base;
}

function mapName(arg: Node): string | undefined {
  const inner = unparen(arg);
  if (inner.type === 'pointer_expression' && inner.childForFieldName('operator')?.text === '&') {
    const a = inner.childForFieldName('argument');
    return a && unparen(a).type === 'identifier' ? unparen(a).text : undefined;
  }
  return inner.type === 'identifier' ? inner.text : undefined;
}

function rootIdentifier(n: Node): string | undefined {
  let cur = unparen(n);
  for (;;) {
    if (cur.type === 'identifier') return cur.text;
    if (cur.type === 'field_expression') {
      const op = cur.childForFieldName('operator')?.text ?? cur.child(1)?.text;
      if (op !== '.') return undefined;
      const a = cur.childForFieldName('argument');
      if (!a) return undefined;
      cur = unparen(a);
      continue;
    }
    if (cur.type === 'subscript_expression') {
      const a = cur.childForFieldName('argument');
      if (!a) return undefined;
      cur = unparen(a);
      continue;
    }
    if (cur.type === 'cast_expression') {
      const a = cur.childForFieldName('value');
      if (!a) return undefined;
      cur = unparen(a);
      continue;
    }
    return undefined;
  }
}

/** The statement that holds `n` directly inside a block (where a fix can insert lines before or after it). */
function enclosingStatement(n: Node): Node | undefined {
  let cur: Node | null = n;
  while (cur) {
    const parent: Node | null = cur.parent;
    if (!parent) return undefined;
    if ((parent.type === 'compound_statement' || parent.type === 'case_statement') && cur.type !== 'comment') return cur;
    if (parent.type === 'function_definition') return undefined;
    cur = parent;
  }
  return undefined;
}

function derefType(t: TypeRef): TypeRef {
  if (t.dims.length > 0) return { ...t, dims: t.dims.slice(1) };
  return { ...t, ptr: Math.max(0, t.ptr - 1) };
}

function derefValue(v: Val): Val {
  if (v.k === 'pkt') return TAINTED;
  return TOP;
}

/** A value stored into a variable of type `t` (a packet pointer stored in an integer stays a packet pointer). */
/** The offset in `text` of a 1-based line and column. */
function offsetOf(text: string, line: number, column: number): number {
  let at = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) return text.length;
    at = nl + 1;
  }
  return at + column - 1;
}

/** A non-void function whose last statement is not a return (nor a goto): its end may be reached. */
function fallsOff(fn: FunctionDecl): boolean {
  const type = fn.node.childForFieldName('type');
  if (!type || (type.text === 'void' && fn.node.childForFieldName('declarator')?.type !== 'pointer_declarator')) return false;
  const stmts = fn.body.namedChildren.filter((c) => c && c.type !== 'comment');
  let last = stmts[stmts.length - 1];
  // `out: return action;`: the labelled statement is the last one.
  for (let depth = 0; last?.type === 'labeled_statement' && depth < 16; depth++) {
    const inner = last.namedChildren.filter((c) => c && c.type !== 'statement_identifier' && c.type !== 'comment');
    last = inner[inner.length - 1];
  }
  if (last && (last.type === 'return_statement' || last.type === 'goto_statement')) return false;
  return fn.body.lastChild?.type === '}';
}

/**
 * The least offset in the frame of `off` bytes past a packet root: a header at a variable offset (`ip + ip->ihl * 4`,
 * root `data#0@14+[ip->ihl*4]`) lies at least as far in as the pointer it was computed from.
 */
function frameOffset(root: string, off: number): number {
  let at = off;
  for (const m of root.matchAll(/@([^+@]*)\+\[/g)) {
    const base = Number(m[1]);
    if (!Number.isFinite(base)) return -Infinity;
    at += base;
  }
  return at;
}

/** Where callees wrote the returned values (`return -1;` inside the helper), as related places of the finding. */
function calleeOrigins(vals: ConstVal[]): Related[] | undefined {
  const out: Related[] = [];
  for (const c of vals) {
    if (!c.callee || c.callee.startsWith('bpf_') || !c.origin) continue;
    if (out.some((r) => r.file === c.origin!.file && r.line === c.origin!.range.line)) continue;
    out.push({ file: c.origin.file, ...c.origin.range, message: c.undef ? `${c.callee}() ends here without a return` : `${c.callee}() returns ${XDP_ACTIONS[c.v] ?? c.v} here` });
  }
  return out.length ? out : undefined;
}

/** A declaration qualified `volatile` (`volatile int x`, `int volatile x`), not a pointer to volatile data. */
function isVolatile(decl: Node): boolean {
  return decl.children.some((c) => c?.type === 'type_qualifier' && c.text === 'volatile');
}

const FLIPPED: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=', '==': '==', '!=': '!=' };

/**
 * A comparison the verifier takes as the null test of a map value: on which side (`nonNull`: the true one) it is not
 * NULL. The verifier learns it from a 64-bit `==`/`!=` against 0 only; clang compares a pointer unsigned and turns
 * `v > 0`, `v >= 1` into `v != 0` and `v <= 0`, `v < 1` into `v == 0` (the kernel loads those; 6.18). A signed compare
 * (`(long)v > 0`: a signed jump), another constant (`v != 1`), or the pointer cut to 32 bits is none: the verifier
 * refuses the access after it.
 */
function nullTest(l: TV, op: string, r: TV, decls: Decls): { id: string; nonNull: boolean } | undefined {
  const [p, c, o] = l.v.k === 'mapval' ? [l, r.v, op] : r.v.k === 'mapval' ? [r, l.v, FLIPPED[op]] : [];
  if (!p || p.v.k !== 'mapval' || !o) return undefined;
  const k = !c ? undefined : isNullConst(c) ? 0 : single(c);
  if (k === undefined) return undefined;
  // A cast to bool is a test against 0 of the whole pointer.
  const t = p.t ? resolveTypedef(p.t, decls) : undefined;
  const integer = !!t && t.ptr === 0 && t.dims.length === 0 && PRIMITIVE_SIZES[t.base] !== undefined && !/^(?:_Bool|bool)$/.test(t.base);
  if (integer && PRIMITIVE_SIZES[t!.base] !== 8) return undefined;
  if (o === '==' || o === '!=') return k === 0 ? { id: p.v.id, nonNull: o === '!=' } : undefined;
  if (integer && !/^(?:unsigned long(?: long)?(?: int)?|__u64|u64|uint64_t|size_t|uintptr_t)$/.test(t!.base)) return undefined;
  if ((o === '>' && k === 0) || (o === '>=' && k === 1)) return { id: p.v.id, nonNull: true };
  if ((o === '<=' && k === 0) || (o === '<' && k === 1)) return { id: p.v.id, nonNull: false };
  return undefined;
}

function retype(v: Val, _t: TypeRef | undefined): Val {
  return v;
}

function pointeeStruct(t: TypeRef, a: Analyzer) {
  const decls = a.decls;
  const r = resolveTypedef(t, decls);
  if (r.ptr !== 1 || r.dims.length > 0) return undefined;
  return structOf(r.base, decls);
}

/** Bytes one step of pointer arithmetic moves; integers (a pointer cast to long) move by bytes. */
function pointerScale(t: TypeRef | undefined, a: Analyzer): number | undefined {
  if (!t) return undefined;
  const decls = a.decls;
  const r = resolveTypedef(t, decls);
  if (r.ptr === 0 && r.dims.length === 0) return 1;
  return pointeeSize(r, decls);
}

function mapConsts(v: Val, f: (x: number) => number, n: Node, a: Analyzer): Val {
  if (v.k !== 'consts' || v.more) return v.k === 'top' ? v : TOP;
  const origin = a.originOf(n);
  return { k: 'consts', vals: v.vals.map((c) => ({ ...c, v: f(c.v), name: undefined, via: undefined, origin })) };
}

/** A value that came out of the user's macro `macro`: remember the macro's name and that it was written here. */
function renameMacro(v: Val, macro: string, origin: Origin): Val {
  if (v.k !== 'consts') return v;
  return {
    ...v,
    vals: v.vals.map((c) => (c.callee ? c : { ...c, via: c.name && c.name !== macro ? c.via ?? macro : undefined, name: c.name ?? macro, origin })),
  };
}

/**
 * The loop head after a second pass: a packet pointer the body moved (a cursor) goes to a variable offset; one it left
 * where it was (`check` set before a summing loop) keeps its offset, so a store through it after the loop is still
 * placed (the checksum field or not).
 */
function widen(s: State, prev: State, entry: State): State {
  const out = clone(s);
  for (const [name, slot] of out.vars) {
    if (slot.v.k === 'consts' && slot.v.vals.length > 4) out.vars.set(name, { v: TOP, t: slot.t });
    const was = prev.vars.get(name)?.v;
    const kept = was?.k === 'pkt' && slot.v.k === 'pkt' && was.root === slot.v.root && was.off === slot.v.off && was.region === slot.v.region;
    if (slot.v.k !== 'pkt' || kept) continue;
    // A cursor the body moves on from a known place (a loop over VLAN tags): somewhere at or past where it entered, on
    // a root of its own (see rangeRoot), rather than anywhere in the frame.
    const e = entry.vars.get(name)?.v;
    if (e?.k === 'pkt' && e.off !== null && !e.stale && !e.loose && !e.fromEnd && e.region === slot.v.region && !slot.v.stale) {
      const base = /^data#\d+$/.test(e.root) ? e.off : e.base !== undefined ? e.base + e.off : undefined;
      out.vars.set(name, { v: { k: 'pkt', root: `${e.root}@${e.off}+[loop:${name}]`, off: 0, region: e.region, ...(base !== undefined ? { base } : {}) }, t: slot.t });
      continue;
    }
    out.vars.set(name, { v: { ...slot.v, off: null }, t: slot.t });
  }
  return out;
}

/**
 * A root of its own for a pointer whose place is known only to lie at or past a place of its parent root: two known
 * offsets joined (`data#0@14+[14..18]`) or a cursor a loop moves (`data#0@14+[loop:pos]`). The verifier follows each
 * path with its own constant offset, so a check through the pointer proves its own bytes on every path, and of the
 * parent what it proves on the nearest path (`@14` plus what was checked). Returns the parent and that place.
 */
function rangeRoot(root: string): { parent: string; at: number; loop: boolean } | undefined {
  const m = /^(.*)@(\d+)\+\[(\d+\.\.\d+|loop:[^\]]*)\]$/.exec(root);
  return m ? { parent: m[1], at: Number(m[2]), loop: m[3].startsWith('loop:') } : undefined;
}

const BYTE_ORDER = /^(?:__constant_|__bpf_constant_|__bpf_)?(?:htons|htonl|ntohs|ntohl)$|^(?:__)?(?:cpu_to_be|cpu_to_le|be|le)(?:16|32|64)(?:_to_cpu)?$|^(?:htobe|htole|be|le)(?:16|32|64)(?:toh)?$|^_*(?:constant_|f)?swab(?:16|32|64)$|^(?:__builtin_|__)?bswap_?(?:16|32|64)$/;

/** `ip->protocol == IPPROTO_TCP` (or a local read from it): what the comparison proves where it holds. */
function protocolTest(x: Val, y: Val): L4Proof | undefined {
  // The field itself, or a parser's result that is the field when it is not one of its error codes.
  if ((x.k !== 'top' && !(x.k === 'consts' && x.more)) || (x.field !== 'protocol' && x.field !== 'nexthdr')) return undefined;
  const k = single(y);
  if (k === undefined) return undefined;
  return { proto: k === 6 ? 'tcp' : k === 17 ? 'udp' : 'other', at: x.at, num: k, ...(x.field === 'protocol' ? { v4: true } : {}) };
}

/** `udp->check` (or a local read from it) compared with 0. */
function isUdpCheck(x: Val, y: Val): boolean {
  return x.k === 'top' && x.field === 'check' && x.l4 === 'udp' && single(y) === 0;
}

/** Records a protocol proof on a path; a second proof about another protocol (an outer and an inner header) voids both. */
function proveL4(st: State, p: L4Proof): void {
  const had = st.l4Proof;
  st.l4Proof = !had || had.proto === p.proto ? { proto: p.proto, at: p.at ?? had?.at, ...(had && had.num !== p.num ? {} : { num: p.num }), ...(p.v4 && (!had || had.v4) ? { v4: true } : {}) } : { proto: 'mixed' };
  if (p.at !== undefined && p.num !== undefined) dropUnder(st, p.at, (n) => n !== p.num);
}

/** The protocol a store on this path is made under, when the branches taken prove one number for one header. */
function underOf(st: State): ProtoUnder | undefined {
  const p = st.l4Proof;
  return p && p.proto !== 'mixed' && p.num !== undefined && p.at !== undefined ? { num: p.num, at: p.at } : undefined;
}

/**
 * A second test of the same protocol field (`switch (ip->protocol)` in the function that fixes the sums after one in
 * the function that changed the header): the open changes made under a protocol number this path rules out were made
 * on other paths, so they are not open here.
 */
function dropUnder(st: State, at: string, ruledOut: (n: number) => boolean): void {
  const keep = (w: { under?: ProtoUnder }) => !w.under || w.under.at !== at || !ruledOut(w.under.num);
  const icmp = st.icmpPending;
  if (icmp && !icmp.writes.every(keep)) {
    const writes = icmp.writes.filter(keep);
    st.icmpPending = writes.length ? { writes } : undefined;
  }
  const l4 = st.l4Pending;
  if (l4 && (!l4.writes.every(keep) || l4.also?.some((g) => !g.writes.every(keep)))) {
    const groups = [{ proto: l4.proto, writes: l4.writes.filter(keep) }, ...(l4.also ?? []).map((g) => ({ proto: g.proto, writes: g.writes.filter(keep) }))].filter((g) => g.writes.length > 0);
    const [first, ...also] = groups;
    st.l4Pending = first ? { proto: first.proto, writes: first.writes, ...(also.length ? { also: also as { proto: 'tcp' | 'udp'; writes: L4Change[] }[] } : {}) } : undefined;
  }
}

/** Forgets what the open changes were made under (the protocol field itself stored). */
function forgetUnder(st: State): void {
  const bare = <T extends { under?: ProtoUnder }>(w: T): T => {
    if (!w.under) return w;
    const { under: _, ...rest } = w;
    return rest as T;
  };
  if (st.icmpPending?.writes.some((w) => w.under)) st.icmpPending = { writes: st.icmpPending.writes.map(bare) };
  const l4 = st.l4Pending;
  if (l4 && (l4.writes.some((w) => w.under) || l4.also?.some((g) => g.writes.some((w) => w.under)))) {
    st.l4Pending = { ...l4, writes: l4.writes.map(bare), ...(l4.also ? { also: l4.also.map((g) => ({ ...g, writes: g.writes.map(bare) })) } : {}) };
  }
}

/**
 * The L4 protocol an address-only change is judged under: the proven one, when it is TCP or UDP and is about the
 * header whose address was changed (the same packet position, when both are known).
 */
function addressOnlyProto(l4: State['l4Pending'], proof: L4Proof | undefined): 'tcp' | 'udp' | 'tcp/udp' | undefined {
  if (!l4 || !proof || (proof.proto !== 'tcp' && proof.proto !== 'udp' && proof.proto !== 'tcp/udp')) return undefined;
  if (proof.at && l4.writes.some((w) => w.at && w.at !== proof.at)) return undefined;
  return proof.proto;
}

/** An integer type with no negative values (`__u32`, `unsigned int`, `size_t`, a typedef of one). */
function isUnsignedType(t: TypeRef, decls: Decls): boolean {
  if (t.ptr !== 0 || t.dims.length !== 0) return false;
  const base = resolveTypedef(t, decls).base.replace(/\b(?:const|volatile)\s+/g, '').trim();
  return /^(?:unsigned\b.*|__u(?:8|16|32|64)|u(?:8|16|32|64)|uint(?:8|16|32|64)_t|size_t|__be(?:16|32|64)|__le(?:16|32|64)|_Bool|bool)$/.test(base);
}
