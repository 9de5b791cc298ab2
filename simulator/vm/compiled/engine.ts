// The compiled engine: each program image (an entry function with its subprograms, or a tail-call target) is turned
// once into JavaScript source and compiled by V8 (new Function); the result is cached per instruction array, i.e.
// per loaded object. It is a drop-in replacement for interpreter.ts `execute` (same arguments, same ExecResult) and
// agrees with it by construction:
//
// - every load and store goes through the same Memory (regions, provenance, bounds, read-only, uninitialised stack
//   reads), so a wild pointer faults with the same kind, message and slot;
// - helpers and kfuncs are the same dispatch function the interpreter is given (ExecOptions.callHelper); calls,
//   exits, bpf_loop, tail calls and register checks run the interpreter's own steps (the frame stack, the live-register
//   masks) on the spilled registers, and atomics are the interpreter's execAtomic;
// - arithmetic is BigInt like the interpreter's, inlined for the common operations and the interpreter's alu64/alu32
//   for the rest (div, mod, signed forms, movsx).
//
// The instruction budget is counted per basic block: a block of N instructions entered with fewer than N left runs
// a checked copy of itself that stops at the exact slot where the interpreter would, and a fault in the middle of a
// block gives back the steps of the instructions after it, so `steps` equals the interpreter's at every exit and
// fault. Generated code touches nothing but its own locals, the Memory and the runtime object below: the program's
// values are only ever BigInts in registers, never property names or code, so an untrusted program cannot reach host
// memory, and the budget bounds every loop.
import type { Insn } from '../../isa/insn.ts';
import {
  CALL_HELPER, CALL_KFUNC, CALL_LOCAL, OPCODES, PSEUDO_FUNC, PSEUDO_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_IDX,
  PSEUDO_MAP_IDX_VALUE, PSEUDO_MAP_VALUE, aluVariant, type OpcodeInfo,
} from '../../isa/opcodes.ts';
import { bswap, immToU32, immToU64 } from '../../isa/width.ts';
import { alu32, alu64 } from '../../isa/alu.ts';
import { MAX_FRAMES, REGION_CTX, REGION_FUNC, REGION_MAP_HANDLE, VmFault, addrOf, type Memory } from '../memory.ts';
import {
  ALL_REGS, ARG_REGS, MAY_GOTO_BUDGET, R10, execAtomic, uninitRegister,
  type ExecOptions, type ExecResult, type Frame, type HelperOutcome, type ProgramImage,
} from '../interpreter.ts';
import type { RegisterChecks } from '../../isa/validate.ts';

/** One run's state shared by the generated code and the runtime functions. */
interface State {
  mem: Memory;
  /** Registers when spilled (calls, exits, program switches, faults). */
  R: BigUint64Array;
  frames: Frame[];
  /** Instructions left in the budget. */
  left: number;
  budget: number;
  tailCalls: number;
  mayGoto: number;
  live: number;
  checks: RegisterChecks | undefined;
  program: ProgramImage;
  /** Where to continue after a runtime function changed control flow. */
  pc: number;
  /** Set when the run ended (exit of the outermost frame or a stopping helper). */
  done: boolean;
  /** Set when a budget-checked block (or the fallback) ran: its step count is exact, no correction at a fault. */
  slow: boolean;
  opts: ExecOptions;
}

type CompiledFn = (S: State, pc: number) => void;

export interface CompiledProgram {
  fn: CompiledFn;
  /** Per slot: instructions after it in its basic block (steps given back when it faults). */
  after: Uint16Array;
  /** Source length and generation time, for the benchmark and tests. */
  sourceLength: number;
  compileMs: number;
}

const DONE = 1;
const SWITCH = 2;

/** The runtime the generated code calls. Everything here mirrors a step of interpreter.ts `execute`. */
const H = {
  VmFault,
  alu64,
  alu32,
  bswap,
  execAtomic,
  uninit: uninitRegister,
  budget(S: State, pc: number): VmFault {
    S.slow = true;
    return new VmFault('budget-exhausted', `the instruction budget of ${S.budget} ran out (a loop that does not end?)`, pc);
  },
  /** A slot no instruction occupies (falling off the end): the interpreter's unknown-opcode fault after its step. */
  badPc(S: State, pc: number): VmFault {
    S.slow = true;
    return new VmFault('invalid-insn', `unknown opcode 0x${S.program.insns[pc]?.opcode.toString(16)}`, pc);
  },
  mapValue(S: State, index: number, offset: number, pc: number): bigint {
    if (!S.opts.mapValueAddress) throw new VmFault('unsupported', 'lddw of a map value: no maps in this run', pc);
    return BigInt.asUintN(64, S.opts.mapValueAddress(index, offset, pc));
  },
  enterFunction(S: State, fnPc: number, pc: number): void {
    const depth = S.frames.length + 1;
    if (depth > MAX_FRAMES) throw new VmFault('call-depth', `the call stack of ${depth} frames is too deep (at most ${MAX_FRAMES})`, pc);
    S.mem.clearFrame(depth);
    S.R[10] = S.mem.framePointer(depth);
    S.pc = fnPc;
  },
  /** bpf-to-bpf call; returns the callee's r10. r6-r9 stay in the caller's locals, the frame keeps copies. */
  callLocal(S: State, pc: number, target: number, r6: bigint, r7: bigint, r8: bigint, r9: bigint, live: number): bigint {
    S.frames.push({ program: S.program, returnPc: pc + 1, saved: [r6, r7, r8, r9], init: live });
    S.live = S.checks ? (live & ARG_REGS) | R10 : live;
    H.enterFunction(S, target, pc);
    return S.R[10];
  },
  switchProgram(S: State, p: ProgramImage): void {
    S.program = p;
    S.mem.program = p;
    S.checks = S.opts.registerChecks?.(p);
    if (!S.checks) S.live = ALL_REGS;
  },
  helper(S: State, pc: number, id: number, kfunc: boolean): HelperOutcome {
    return S.opts.callHelper({ id, regs: S.R, pc, program: S.program, tailCalls: S.tailCalls, ...(kfunc ? { kfunc: true } : {}) });
  },
  /** A helper outcome other than a value, on spilled registers: DONE, SWITCH, or 0 to continue at S.pc. */
  outcome(S: State, pc: number, outcome: Exclude<HelperOutcome, bigint>): number {
    const r = S.R;
    if ('tailCall' in outcome) {
      S.tailCalls++;
      H.switchProgram(S, outcome.tailCall);
      for (let i = 0; i < 10; i++) r[i] = 0n;
      r[1] = addrOf(REGION_CTX, 0);
      if (S.checks) S.live = (1 << 1) | R10;
      S.mem.forgetFrame(S.frames.length + 1, false);
      S.pc = 0;
      return SWITCH;
    }
    if ('loop' in outcome) {
      const { fnPc, count, ctxArg } = outcome.loop;
      S.frames.push({ program: S.program, returnPc: pc + 1, saved: [r[6], r[7], r[8], r[9]], init: S.live, loop: { fnPc, count, ctxArg, index: 0 } });
      r[1] = 0n;
      r[2] = ctxArg;
      r[3] = r[4] = r[5] = 0n;
      if (S.checks) S.live = 0b110 | R10;
      H.enterFunction(S, fnPc, pc);
      return 0;
    }
    r[0] = outcome.stop;
    S.pc = pc;
    S.done = true;
    return DONE;
  },
  /** `exit` on spilled registers: DONE, SWITCH (return into another program), or 0 to continue at S.pc. */
  exit(S: State, pc: number): number {
    const r = S.R;
    const mem = S.mem;
    const frame = S.frames.pop();
    if (!frame) {
      S.pc = pc;
      S.done = true;
      return DONE;
    }
    if (!frame.loop) mem.checkReturn(r[0], pc);
    [r[6], r[7], r[8], r[9]] = frame.saved;
    S.live = (frame.init & ~(ARG_REGS | 1)) | (S.live & 1);
    const loop = frame.loop;
    if (loop) {
      loop.index++;
      if (r[0] === 0n && loop.index < loop.count) {
        S.frames.push(frame);
        r[1] = BigInt(loop.index);
        r[2] = loop.ctxArg;
        r[3] = r[4] = r[5] = 0n;
        if (S.checks) S.live = 0b110 | R10;
        mem.clearFrame(S.frames.length + 1);
        r[10] = mem.framePointer(S.frames.length + 1);
        S.pc = loop.fnPc;
        return 0;
      }
      r[0] = BigInt(loop.index);
      r[1] = r[2] = r[3] = r[4] = r[5] = 0n;
      S.live |= 1;
    }
    mem.forgetFrame(S.frames.length + 2, true);
    let code = 0;
    if (frame.program !== S.program) {
      H.switchProgram(S, frame.program);
      code = SWITCH;
    }
    r[10] = mem.framePointer(S.frames.length + 1);
    S.pc = frame.returnPc;
    return code;
  },
};

const big = (v: bigint): string => `${v}n`;

/** Slots that start a basic block. */
function leaders(insns: Insn[], infos: (OpcodeInfo | undefined)[]): boolean[] {
  const lead = new Array<boolean>(insns.length + 1).fill(false);
  lead[0] = true;
  const mark = (t: number) => {
    if (t >= 0 && t <= insns.length) lead[t] = true;
  };
  for (let pc = 0; pc < insns.length; pc++) {
    const info = infos[pc];
    const insn = insns[pc];
    if (!info) {
      mark(pc + 1);
      continue;
    }
    switch (info.kind) {
      case 'jump':
      case 'jcond':
        mark(pc + 1 + insn.off);
        mark(pc + 1);
        break;
      case 'ja':
        mark(pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off));
        mark(pc + 1);
        break;
      case 'call':
        if (insn.src === CALL_LOCAL) mark(pc + 1 + insn.imm);
        mark(pc + 1);
        break;
      case 'exit':
      case 'ld-abs':
      case 'ld-ind':
        mark(pc + 1);
        break;
      case 'lddw':
        if (insn.src === PSEUDO_FUNC) mark(pc + 1 + insn.imm);
        if (![PSEUDO_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_IDX, PSEUDO_MAP_VALUE, PSEUDO_MAP_IDX_VALUE, PSEUDO_FUNC].includes(insn.src)) mark(pc + 2);
        break;
    }
  }
  return lead;
}

const SPILL = 'R[0]=r0;R[1]=r1;R[2]=r2;R[3]=r3;R[4]=r4;R[5]=r5;R[6]=r6;R[7]=r7;R[8]=r8;R[9]=r9;R[10]=r10;';
const LOAD = 'r0=R[0];r1=R[1];r2=R[2];r3=R[3];r4=R[4];r5=R[5];r6=R[6];r7=R[7];r8=R[8];r9=R[9];r10=R[10];';

const SIGNED: Record<string, string> = { jsgt: '>', jsge: '>=', jslt: '<', jsle: '<=' };
const UNSIGNED: Record<string, string> = { jeq: '===', jne: '!==', jgt: '>', jge: '>=', jlt: '<', jle: '<=' };

/** The code of one instruction that does not end its block (everything but jumps, calls, exit). */
function straight(insn: Insn, info: OpcodeInfo, pc: number): string {
  const d = `r${insn.dst}`;
  const s = `r${insn.src}`;
  const addr = (reg: string) => (insn.off ? `${reg} + ${insn.off}n` : reg);
  switch (info.kind) {
    case 'alu': {
      const op = aluVariant(info, insn.off)!;
      const w = info.width;
      const b = info.srcReg ? s : w === 64 ? big(immToU64(insn.imm)) : big(immToU32(insn.imm));
      if (w === 64) {
        switch (op) {
          case 'add': return `${d} = BigInt.asUintN(64, ${d} + ${b});`;
          case 'sub': return `${d} = BigInt.asUintN(64, ${d} - ${b});`;
          case 'mul': return `${d} = BigInt.asUintN(64, ${d} * ${b});`;
          case 'or': return `${d} = ${d} | ${b};`;
          case 'and': return `${d} = ${d} & ${b};`;
          case 'xor': return `${d} = ${d} ^ ${b};`;
          case 'mov': return `${d} = ${b};`;
          case 'lsh': return `${d} = BigInt.asUintN(64, ${d} << (${b} & 63n));`;
          case 'rsh': return `${d} = ${d} >> (${b} & 63n);`;
          case 'neg': return `${d} = BigInt.asUintN(64, -${d});`;
          default: return `${d} = BigInt.asUintN(64, H.alu64('${op}', ${d}, ${b}, ${insn.off}));`;
        }
      }
      switch (op) {
        case 'add': return `${d} = BigInt.asUintN(32, ${d} + ${b});`;
        case 'sub': return `${d} = BigInt.asUintN(32, ${d} - ${b});`;
        case 'mul': return `${d} = BigInt.asUintN(32, ${d} * ${b});`;
        case 'or': return `${d} = BigInt.asUintN(32, ${d} | ${b});`;
        case 'and': return `${d} = BigInt.asUintN(32, ${d} & ${b});`;
        case 'xor': return `${d} = BigInt.asUintN(32, ${d} ^ ${b});`;
        case 'mov': return `${d} = BigInt.asUintN(32, ${b});`;
        default: return `${d} = BigInt.asUintN(64, H.alu32('${op}', ${d}, ${b}, ${insn.off}));`;
      }
    }
    case 'end': {
      const bits = insn.imm;
      if (info.end === 'le') return bits === 64 ? '' : `${d} = BigInt.asUintN(${bits === 16 ? 16 : 32}, ${d});`;
      return `${d} = H.bswap(${d}, ${bits});`;
    }
    case 'ldx':
      return `${d} = mem.load(${addr(s)}, ${info.size}, ${pc});`;
    case 'ldxsx':
      return `${d} = BigInt.asUintN(64, BigInt.asIntN(${info.size! * 8}, mem.load(${addr(s)}, ${info.size}, ${pc}, true)));`;
    case 'st':
      return `mem.store(${addr(d)}, ${info.size}, ${big(immToU64(insn.imm))}, ${pc});`;
    case 'stx':
      return `mem.store(${addr(d)}, ${info.size}, ${s}, ${pc});`;
    case 'atomic':
      return `R[0]=r0;R[${insn.dst}]=${d};R[${insn.src}]=${s};H.execAtomic(K[${pc}], I[${pc}], R, mem, ${pc});r0=R[0];${s}=R[${insn.src}];`;
    case 'lddw':
      switch (insn.src) {
        case PSEUDO_IMM64:
          return `${d} = ${big(BigInt.asUintN(64, (BigInt(insn.nextImm ?? 0) << 32n) | BigInt(insn.imm >>> 0)))};`;
        case PSEUDO_MAP_FD:
        case PSEUDO_MAP_IDX:
          return `${d} = ${big(BigInt.asUintN(64, addrOf(REGION_MAP_HANDLE, insn.imm)))};`;
        case PSEUDO_MAP_VALUE:
        case PSEUDO_MAP_IDX_VALUE:
          return `${d} = H.mapValue(S, ${insn.imm}, ${insn.nextImm ?? 0}, ${pc});`;
        case PSEUDO_FUNC:
          return `${d} = ${big(BigInt.asUintN(64, addrOf(REGION_FUNC, pc + 1 + insn.imm)))};`;
        default:
          return `throw new H.VmFault('unsupported', ${JSON.stringify(insn.src === 3
            ? 'lddw of a kernel variable (BPF_PSEUDO_BTF_ID, a __ksym) is not supported by the simulator'
            : `lddw with src ${insn.src} is not supported`)}, ${pc});`;
      }
    default:
      throw new Error(`not a straight-line instruction: ${info.kind}`);
  }
}

/** Instructions per basic block at most. */
const MAX_BLOCK = 256;

const STRAIGHT = new Set(['alu', 'end', 'ldx', 'ldxsx', 'st', 'stx', 'atomic', 'lddw']);

/** The code of a block-ending instruction; it may fall through to the next slot (the next case). */
function terminal(insn: Insn, info: OpcodeInfo | undefined, pc: number): string {
  if (!info) return `throw new H.VmFault('invalid-insn', ${JSON.stringify(`unknown opcode 0x${insn?.opcode.toString(16)}`)}, ${pc});`;
  const d = `r${insn.dst}`;
  switch (info.kind) {
    case 'jump': {
      const op = info.jmp!;
      const w = info.width;
      let a = d;
      let b: string;
      if (info.srcReg) b = `r${insn.src}`;
      else b = w === 64 ? big(immToU64(insn.imm)) : big(immToU32(insn.imm));
      if (w === 32) {
        a = `BigInt.asUintN(32, ${a})`;
        if (info.srcReg) b = `BigInt.asUintN(32, ${b})`;
      }
      let cond: string;
      if (op === 'jset') cond = `(${a} & ${b}) !== 0n`;
      else if (UNSIGNED[op]) cond = `${a} ${UNSIGNED[op]} ${b}`;
      else {
        const sa = `BigInt.asIntN(${w}, ${a})`;
        const sb = info.srcReg ? `BigInt.asIntN(${w}, ${b})` : big(BigInt(insn.imm | 0));
        cond = `${sa} ${SIGNED[op]} ${sb}`;
      }
      return `if (${cond}) { pc = ${pc + 1 + insn.off}; continue; }`;
    }
    case 'ja':
      return `pc = ${pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off)}; continue;`;
    case 'jcond':
      return `if (--S.mayGoto <= 0) { pc = ${pc + 1 + insn.off}; continue; }`;
    case 'call': {
      if (insn.src === CALL_LOCAL) return `r10 = H.callLocal(S, ${pc}, ${pc + 1 + insn.imm}, r6, r7, r8, r9, live); live = S.live; pc = S.pc; continue;`;
      if (insn.src !== CALL_HELPER && insn.src !== CALL_KFUNC) return `throw new H.VmFault('invalid-insn', 'call with src ${insn.src}', ${pc});`;
      return (
        `R[0]=r0;R[1]=r1;R[2]=r2;R[3]=r3;R[4]=r4;R[5]=r5;` +
        `{ const o = H.helper(S, ${pc}, ${insn.imm}, ${insn.src === CALL_KFUNC});` +
        ` if (typeof o === 'bigint') { r0 = BigInt.asUintN(64, o); r1 = r2 = r3 = r4 = r5 = 0n; }` +
        ` else { ${SPILL} S.live = live; S.left = left; const c = H.outcome(S, ${pc}, o); if (c) return; ${LOAD} live = S.live; pc = S.pc; continue; } }`
      );
    }
    case 'exit':
      return `${SPILL} S.live = live; S.left = left; if (H.exit(S, ${pc})) return; ${LOAD} live = S.live; pc = S.pc; continue;`;
    case 'ld-abs':
    case 'ld-ind':
      return `throw new H.VmFault('unsupported', 'legacy BPF_LD_ABS/BPF_LD_IND packet loads are not supported (not allowed in XDP)', ${pc});`;
    default:
      return straight(insn, info, pc);
  }
}

/** The register-check code of one slot (the interpreter's `checks` step), empty without checks. */
function checkCode(checks: RegisterChecks | undefined, pc: number, exit: boolean): string {
  if (!checks) return '';
  let code = '';
  const reads = checks.reads[pc];
  if (reads) code += `{ const m = ${reads} & ~live; if (m) throw H.uninit(m, ${pc}, ${exit}); }`;
  const clears = checks.clears[pc];
  const writes = checks.writes[pc];
  if (clears || writes) code += `live = (live & ${~clears & 0xffff}) | ${writes};`;
  return code;
}

/** Generate the JavaScript source of one program image. */
export function generate(p: ProgramImage, checks: RegisterChecks | undefined): { source: string; after: Uint16Array } {
  const insns = p.insns;
  const infos = insns.map((i) => OPCODES[i.opcode]);
  const lead = leaders(insns, infos);
  const after = new Uint16Array(insns.length + 1);
  const out: string[] = [];
  out.push('return function compiled(S, pc) {');
  out.push('const mem = S.mem, R = S.R;');
  out.push('let r0 = R[0], r1 = R[1], r2 = R[2], r3 = R[3], r4 = R[4], r5 = R[5], r6 = R[6], r7 = R[7], r8 = R[8], r9 = R[9], r10 = R[10];');
  out.push('let left = S.left, live = S.live;');
  out.push('try { for (;;) { switch (pc) {');
  let pc = 0;
  while (pc < insns.length) {
    // One basic block: slots [start, end), instructions in `slots`.
    const slots: number[] = [];
    let q = pc;
    for (;;) {
      slots.push(q);
      const info = infos[q];
      const next = q + (info?.kind === 'lddw' ? 2 : 1);
      const ends = !info || !STRAIGHT.has(info.kind) || (info.kind === 'lddw' && lead[q + 2]);
      q = next;
      // Long straight runs are cut (a case label in between costs nothing) to bound each block's checked copy.
      if (ends || q >= insns.length || lead[q] || slots.length >= MAX_BLOCK) break;
    }
    const n = slots.length;
    slots.forEach((s, j) => (after[s] = n - 1 - j));
    const code = (s: number) => {
      const info = infos[s];
      return checkCode(info ? checks : undefined, s, info?.kind === 'exit') + (info && STRAIGHT.has(info.kind) ? straight(insns[s], info, s) : terminal(insns[s], info, s));
    };
    out.push(`case ${pc}:`);
    // Fewer instructions left than the block holds: run it counting each one, to fault at the interpreter's slot.
    // Entered with left < n, the budget runs out at the last instruction at the latest: its code is never reached.
    const counted = slots.slice(0, -1).map((s) => `if (left <= 0) throw H.budget(S, ${s}); left--; ${code(s)}`).join(' ');
    out.push(`if (left < ${n}) { S.slow = true; ${counted} throw H.budget(S, ${slots[n - 1]}); }`);
    out.push(`left -= ${n};`);
    for (const s of slots) out.push(code(s));
    pc = q;
  }
  // Falling off the end (validation refuses it): the interpreter's step, then its unknown-opcode fault.
  out.push(`pc = ${insns.length};`);
  out.push('default: if (left <= 0) throw H.budget(S, pc); left--; throw H.badPc(S, pc);');
  out.push('} } } catch (e) { ' + SPILL + ' S.left = left; throw e; }');
  out.push('};');
  return { source: out.join('\n'), after };
}

const cache = new WeakMap<Insn[], Map<RegisterChecks | null, CompiledProgram>>();

/** Program images compiled so far in this process (tests check that a setting reaches the engine). */
export const compileStats = { programs: 0 };

/** The compiled form of a program image (with its register checks, if any), generated once per instruction array. */
export function compileProgram(p: ProgramImage, checks: RegisterChecks | undefined): CompiledProgram {
  let byChecks = cache.get(p.insns);
  if (!byChecks) {
    byChecks = new Map();
    cache.set(p.insns, byChecks);
  }
  let c = byChecks.get(checks ?? null);
  if (!c) {
    const t0 = performance.now();
    const { source, after } = generate(p, checks);
    const infos = p.insns.map((i) => OPCODES[i.opcode]);
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const factory = new Function('H', 'K', 'I', source) as (h: typeof H, k: Insn[], i: (OpcodeInfo | undefined)[]) => CompiledFn;
    const fn = factory(H, p.insns, infos);
    c = { fn, after, sourceLength: source.length, compileMs: performance.now() - t0 };
    byChecks.set(checks ?? null, c);
    compileStats.programs++;
  }
  return c;
}

/**
 * interpreter.ts `execute` with compiled code: same arguments, same result. `opts.onStep` cannot be honoured per
 * instruction, so a run with a step hook is the interpreter's.
 */
export function executeCompiled(entry: ProgramImage, mem: Memory, init: (r: BigUint64Array) => void, opts: ExecOptions): ExecResult {
  const R = new BigUint64Array(11);
  const checks = opts.registerChecks?.(entry);
  const S: State = {
    mem, R, frames: [], left: opts.budget, budget: opts.budget, tailCalls: 0, mayGoto: MAY_GOTO_BUDGET,
    live: checks ? (1 << 1) | R10 : ALL_REGS, checks, program: entry, pc: 0, done: false, slow: false, opts,
  };
  R[10] = mem.framePointer(1);
  mem.program = entry;
  init(R);
  let compiled: CompiledProgram | undefined;
  try {
    for (;;) {
      compiled = compileProgram(S.program, S.checks);
      compiled.fn(S, S.pc);
      if (S.done) {
        return { r0: R[0], exitInsn: S.pc, exitProgram: S.program, steps: S.budget - S.left, tailCalls: S.tailCalls, uninitStackRead: mem.uninitRead };
      }
    }
  } catch (e) {
    if (!(e instanceof VmFault)) throw e;
    // A fault in the middle of a block: the block counted all its instructions on entry, the interpreter only those
    // up to and including the faulting one.
    if (!S.slow && compiled) S.left += compiled.after[e.insn] ?? 0;
    return {
      r0: R[0], exitInsn: -1, exitProgram: S.program, steps: S.budget - S.left, tailCalls: S.tailCalls, uninitStackRead: mem.uninitRead,
      fault: { kind: e.kind, message: e.message, insn: e.insn, program: S.program },
    };
  }
}
