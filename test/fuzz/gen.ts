// Random XDP programs for differential fuzzing. Every instruction is emitted as a raw `.quad` (with a readable
// comment) because llvm-mc 14 knows no cpu v4 instructions (sdiv/smod/movsx/ldsx/bswap) and encoding everything the
// same way keeps jump offsets exact; llvm-mc only wraps the words into an ELF object (section "xdp", license "GPL").
//
// Shape (verifier-friendly by construction: every register is written before it is read, the stack slots read are
// initialised first, packet loads stay inside a range proven by one bounds check, divisions and shifts by an
// immediate avoid 0 and out-of-range amounts, all jumps go forward):
//   r6 = ctx; stack slots fp-8..fp-64 = random u64; r7 = data, r8 = data_end; if data + 192 > data_end -> return PASS
//   r0..r5, r9 = random constants / packet loads / stack loads
//   (the pool may also start as ctx->ingress_ifindex, ctx->rx_queue_index or the packet's length data_end - data)
//   body: ALU/ALU64 (all ops, incl. sdiv/smod/movsx/bswap/neg/arsh), LDX/LDSX from the first 64 packet bytes or the
//         stack, ST/STX to the stack and to the first 64 packet bytes, atomics on the stack (incl. load-acquire and
//         store-release of every size), loads and stores at a variable offset into the packet or the stack, the
//         packet's length, JMP/JMP32 conditional forward jumps, JA/gotol
//   epilogue: r0..r5, r9 stored at packet offsets 64..119, the 8 stack slots at 120..183, r0 = r0 & 3, exit
// so data_out exposes every register and stack value and the return value is always an XDP action.
// Shape options (the body of a seed stays the same with or without them):
//   loop: the body runs 1 to 4 times (r6, free after the prologue, counts down; a backward jump closes the loop);
//   call: the program is a subprogram in .text that the entry function calls (bpf-to-bpf call, a frame of its own);
//   mayGoto: with loop, a may_goto before the back edge (the kernel's BPF_JCOND, rewritten by the verifier into a
//   counter on the stack);
//   long: a body of 250 to 400 instructions (the compiled engine's WebAssembly tier takes programs of 300 and more).
import { genHelper } from './kernel-build.ts';

export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** mulberry32 */
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

const CLS = { LD: 0, LDX: 1, ST: 2, STX: 3, ALU: 4, JMP: 5, JMP32: 6, ALU64: 7 } as const;
const SZ = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;
const SIZE_BYTES: Record<number, number> = { [SZ.W]: 4, [SZ.H]: 2, [SZ.B]: 1, [SZ.DW]: 8 };
const MODE_MEM = 0x60;
const MODE_MEMSX = 0x80;
const MODE_ATOMIC = 0xc0;

/** One instruction before jump resolution; `target` (a label index) replaces `off` for jumps. */
interface GenInsn {
  op: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** Second slot immediate of lddw. */
  imm2?: number;
  target?: number;
  /** JMP32 JA: the jump offset goes in imm, not off. */
  gotol?: boolean;
  /** Emitted as this assembler line (one slot; a call to a function in .text, which needs llvm-mc's relocation). */
  raw?: string;
  text: string;
}

const POOL = [0, 1, 2, 3, 4, 5, 9];
const R_CTX = 6;
const R_DATA = 7;
const R_END = 8;
const STACK_SLOTS = 8;
export const MIN_PACKET = 192;

const i32 = (v: number | bigint): number => Number(BigInt.asIntN(32, BigInt(v)));

const SPECIAL_64 = [0n, 1n, 2n, 3n, 7n, 0xffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n,
  0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0xfffffffffffffffen, 0xffffffff80000000n];
const SPECIAL_32 = [0, 1, -1, 2, -2, 3, 7, 31, 32, 63, 64, 0x7fffffff, -0x80000000, 0xff, 0x8000, -7, 13];

function randU64(r: Prng): bigint {
  const k = r.int(4);
  if (k === 0) return r.pick(SPECIAL_64);
  if (k === 1) return BigInt(r.int(32));
  if (k === 2) return BigInt.asUintN(64, -BigInt(r.int(100)));
  return r.u64();
}

function randImm(r: Prng): number {
  return r.chance(0.5) ? r.pick(SPECIAL_32) : i32(r.u32());
}

const ALU_NAMES = ['+=', '-=', '*=', '/=', '|=', '&=', '<<=', '>>=', 'neg', '%=', '^=', '=', 's>>=', 'end'];
const JMP_NAMES: Record<number, string> = { 1: '==', 2: '>', 3: '>=', 4: '&', 5: '!=', 6: 's>', 7: 's>=', 0xa: '<', 0xb: '<=', 0xc: 's<', 0xd: 's<=' };

export interface Generated {
  seed: number;
  asm: string;
  /** Number of body instructions generated (before prologue and epilogue). */
  bodyLength: number;
}

/**
 * One mistake the kernel verifier refuses, put right after the packet bounds check (on the path of every packet the
 * fuzzer sends) or, for dead-code, after the last exit. Each is refused by 6.18 as root; refusals.test.ts holds the
 * simulator to the same verdict.
 */
export const DEFECTS = [
  'uninit-register', 'stack-store-below', 'stack-store-above', 'stack-load-above', 'ctx-store', 'ctx-load-size',
  'ctx-load-offset', 'packet-past-range', 'packet-store-past-range', 'scalar-deref', 'div-imm-zero', 'mod-imm-zero',
  'shift-imm-range', 'shift32-imm-range', 'dead-code', 'endless-loop', 'ld-abs', 'unknown-helper',
  'reserved-field', 'frame-pointer-write', 'atomic-packet', 'pointer-multiply', 'pointer-alu32', 'pointer-plus-pointer',
  'partial-pointer-fill', 'stack-misaligned', 'ctx-moved',
  // Added with load-acquire/store-release, helper calls and subprograms:
  'stack-pointer-sub', 'scalar-minus-pointer', 'atomic-acquire-packet', 'helper-ctx-arg', 'helper-arg-uninit',
  'helper-packet-mem', 'helper-zero-size', 'call-depth', 'stack-depth', 'packet-var-unchecked',
] as const;
export type Defect = (typeof DEFECTS)[number];

export interface Shape {
  /** A mistake the verifier refuses (the rest of the program is as without it). */
  defect?: Defect;
  loop?: boolean;
  call?: boolean;
  /** With loop: a may_goto (BPF_JCOND) guards the back edge, jumping past the loop once its allowance is spent (it
   * never is in 1 to 4 rounds, so the loop runs as without it). */
  mayGoto?: boolean;
  /** A body of 250-400 instructions instead of 12-52. */
  long?: boolean;
}

export function generateProgram(seed: number, shape: Shape = {}): Generated {
  const r = new Prng(seed);
  const out: GenInsn[] = [];
  const labels: number[] = []; // label index -> insn index in `out`, filled as labels are placed
  const reg = (n: number, w32: boolean) => `${w32 ? 'w' : 'r'}${n}`;
  const emit = (i: Omit<GenInsn, 'off' | 'imm' | 'src' | 'dst'> & Partial<GenInsn>) =>
    out.push({ dst: 0, src: 0, off: 0, imm: 0, ...i });
  const lddw = (dst: number, v: bigint) => emit({
    op: 0x18, dst, imm: i32(v & 0xffffffffn), imm2: i32(v >> 32n), text: `r${dst} = 0x${v.toString(16)} ll`,
  });

  // Prologue.
  emit({ op: CLS.ALU64 | 0xb0 | 0x08, dst: R_CTX, src: 1, text: 'r6 = r1' });
  for (let s = 1; s <= STACK_SLOTS; s++) {
    lddw(0, randU64(r));
    emit({ op: CLS.STX | MODE_MEM | SZ.DW, dst: 10, src: 0, off: -8 * s, text: `*(u64 *)(r10 - ${8 * s}) = r0` });
  }
  emit({ op: CLS.LDX | MODE_MEM | SZ.W, dst: R_DATA, src: R_CTX, off: 0, text: 'r7 = *(u32 *)(r6 + 0)' });
  emit({ op: CLS.LDX | MODE_MEM | SZ.W, dst: R_END, src: R_CTX, off: 4, text: 'r8 = *(u32 *)(r6 + 4)' });
  emit({ op: CLS.ALU64 | 0xb0 | 0x08, dst: 1, src: R_DATA, text: 'r1 = r7' });
  emit({ op: CLS.ALU64 | 0x00, dst: 1, imm: MIN_PACKET, text: `r1 += ${MIN_PACKET}` });
  const SHORT = -1; // label of the short-packet exit
  emit({ op: CLS.JMP | 0x20 | 0x08, dst: 1, src: R_END, target: SHORT, text: 'if r1 > r8 goto short' });

  const extraText: string[] = [];
  if (shape.defect) emitDefect(shape.defect, new Prng(seed ^ 0xdefec7), emit, extraText);

  const loadPacket = (dst: number, signed: boolean) => {
    const size = r.pick(signed ? [SZ.B, SZ.H, SZ.W] : [SZ.B, SZ.H, SZ.W, SZ.DW]);
    const n = SIZE_BYTES[size];
    const off = r.int(64 - n + 1);
    emit({ op: CLS.LDX | (signed ? MODE_MEMSX : MODE_MEM) | size, dst, src: R_DATA, off,
      text: `r${dst} = *(${signed ? 's' : 'u'}${n * 8} *)(r7 + ${off})` });
  };
  const stackOff = (n: number) => -8 * (1 + r.int(STACK_SLOTS)) + n * r.int(8 / n);
  const loadStack = (dst: number, signed: boolean) => {
    const size = r.pick(signed ? [SZ.B, SZ.H, SZ.W] : [SZ.B, SZ.H, SZ.W, SZ.DW]);
    const n = SIZE_BYTES[size];
    const off = stackOff(n);
    emit({ op: CLS.LDX | (signed ? MODE_MEMSX : MODE_MEM) | size, dst, src: 10, off,
      text: `r${dst} = *(${signed ? 's' : 'u'}${n * 8} *)(r10 ${off})` });
  };

  const packetLength = (dst: number) => {
    emit({ op: CLS.ALU64 | 0xb0 | 0x08, dst, src: R_END, text: `r${dst} = r8` });
    emit({ op: CLS.ALU64 | 0x10 | 0x08, dst, src: R_DATA, text: `r${dst} -= r7 (packet length)` });
  };
  for (const d of POOL) {
    const k = r.int(5);
    if (k === 0) loadPacket(d, false);
    else if (k === 1) loadStack(d, r.chance(0.3));
    else if (k === 4 && r.chance(0.5)) {
      const f = r.pick([12, 16, -1]);
      if (f < 0) packetLength(d);
      else emit({ op: CLS.LDX | MODE_MEM | SZ.W, dst: d, src: R_CTX, off: f, text: `r${d} = *(u32 *)(r6 + ${f}) (${f === 12 ? 'ingress_ifindex' : 'rx_queue_index'})` });
    } else lddw(d, randU64(r));
  }

  const ACQ_REL = { load: 0x100, store: 0x110 };
  /** Kinds added to widen the fuzzer (kind 100-119 of 120). */
  const wideKind = (kind: number, dst: number, src: number) => {
    const size = r.pick([SZ.B, SZ.H, SZ.W, SZ.DW]);
    const n = SIZE_BYTES[size];
    if (kind < 105) {
      // A store into the first 64 packet bytes (later packet loads read it back; data_out shows it).
      const off = r.int(64 - n + 1);
      if (r.chance(0.3)) {
        const imm = randImm(r);
        emit({ op: CLS.ST | MODE_MEM | size, dst: R_DATA, off, imm, text: `*(u${n * 8} *)(r7 + ${off}) = ${imm}` });
      } else {
        emit({ op: CLS.STX | MODE_MEM | size, dst: R_DATA, src, off, text: `*(u${n * 8} *)(r7 + ${off}) = r${src}` });
      }
    } else if (kind < 108) {
      // Load-acquire / store-release (BPF_ATOMIC, imm 0x100 / 0x110) on the stack, any size.
      const off = stackOff(n);
      if (r.chance(0.5)) {
        emit({ op: CLS.STX | MODE_ATOMIC | size, dst, src: 10, off, imm: ACQ_REL.load, text: `r${dst} = load_acquire((u${n * 8} *)(r10 ${off}))` });
      } else {
        emit({ op: CLS.STX | MODE_ATOMIC | size, dst: 10, src, off, imm: ACQ_REL.store, text: `store_release((u${n * 8} *)(r10 ${off}), r${src})` });
      }
    } else if (kind < 111) {
      // A packet load at a variable offset (0..63 from a register): the verifier gives the moved pointer a range of
      // its own (none), so it is checked against data_end again; the failed check (never taken: packets have 192
      // bytes or more) leaves a number in the register, not a pointer.
      const sx = size !== SZ.DW && r.chance(0.3);
      emit({ op: CLS.ALU64 | 0xb0 | 0x08, dst, src, text: `r${dst} = r${src}` });
      emit({ op: CLS.ALU64 | 0x50, dst, imm: 63, text: `r${dst} &= 63` });
      emit({ op: CLS.ALU64 | 0x00 | 0x08, dst, src: R_DATA, text: `r${dst} += r7` });
      emit({ op: CLS.ALU64 | 0x00, dst, imm: n, text: `r${dst} += ${n}` });
      emit({ op: CLS.JMP | 0x20 | 0x08, dst, src: R_END, off: 2, text: `if r${dst} > r8 goto +2` });
      emit({ op: CLS.LDX | (sx ? MODE_MEMSX : MODE_MEM) | size, dst, src: dst, off: -n, text: `r${dst} = *(${sx ? 's' : 'u'}${n * 8} *)(r${dst} - ${n})` });
      emit({ op: CLS.JMP | 0x00, off: 1, text: 'goto +1' });
      emit({ op: CLS.ALU64 | 0xb0, dst, imm: 0, text: `r${dst} = 0 (not reached)` });
    } else if (kind < 114) {
      // A stack store and load at a variable offset, aligned to the access size, inside fp-64..fp-1 (slots already
      // written: the verifier lets root read them at a variable offset).
      const mask = 64 - n;
      emit({ op: CLS.ALU64 | 0xb0 | 0x08, dst, src, text: `r${dst} = r${src}` });
      emit({ op: CLS.ALU64 | 0x50, dst, imm: mask, text: `r${dst} &= ${mask}` });
      emit({ op: CLS.ALU64 | 0x00 | 0x08, dst, src: 10, text: `r${dst} += r10` });
      const other = POOL.filter((x) => x !== dst);
      if (r.chance(0.5)) {
        const v = r.pick(other);
        emit({ op: CLS.STX | MODE_MEM | size, dst, src: v, off: -64, text: `*(u${n * 8} *)(r${dst} - 64) = r${v}` });
      }
      emit({ op: CLS.LDX | MODE_MEM | size, dst, src: dst, off: -64, text: `r${dst} = *(u${n * 8} *)(r${dst} - 64)` });
    } else {
      packetLength(dst);
    }
  };

  // Body.
  const bodyLength = shape.long ? 250 + new Prng(seed ^ 0x10e6).int(150) : 12 + r.int(40);
  let nextLabel = 0;
  const LOOP = -2; // label of the loop head
  const LOOP_END = -3; // label after the loop (the may_goto target)
  if (shape.loop) {
    const iters = 1 + new Prng(seed ^ 0x1005).int(4);
    emit({ op: CLS.ALU64 | 0xb0, dst: R_CTX, imm: iters, text: `r6 = ${iters}` });
    labels[LOOP] = out.length;
  }
  const pending: { label: number; at: number }[] = []; // labels placed before body insn `at`
  for (let i = 0; i < bodyLength; i++) {
    for (const p of pending.filter((q) => q.at === i)) labels[p.label] = out.length;
    const dst = r.pick(POOL);
    const src = r.pick(POOL);
    const kind = r.int(120);
    if (kind >= 100) {
      wideKind(kind, dst, src);
    } else if (kind < 45) {
      // ALU / ALU64
      const w32 = r.chance(0.4);
      const cls = w32 ? CLS.ALU : CLS.ALU64;
      const width = w32 ? 32 : 64;
      const code = r.int(14);
      const name = ALU_NAMES[code];
      if (code === 8) {
        emit({ op: cls | 0x80, dst, text: `${reg(dst, w32)} = -${reg(dst, w32)}` });
      } else if (code === 13) {
        const imm = r.pick([16, 32, 64]);
        const v = r.int(3); // 0: le, 1: be, 2: bswap (ALU64)
        if (v === 2) emit({ op: CLS.ALU64 | 0xd0, dst, imm, text: `r${dst} = bswap${imm} r${dst}` });
        else emit({ op: CLS.ALU | 0xd0 | (v === 1 ? 0x08 : 0), dst, imm, text: `r${dst} = ${v === 1 ? 'be' : 'le'}${imm} r${dst}` });
      } else {
        const useReg = r.chance(0.5);
        const isDiv = code === 3 || code === 9;
        const isShift = code === 6 || code === 7 || code === 12;
        const signed = isDiv && r.chance(0.5);
        let off = signed ? 1 : 0;
        let text: string;
        if (code === 11 && useReg && r.chance(0.3)) {
          off = r.pick(w32 ? [8, 16] : [8, 16, 32]);
          text = `${reg(dst, w32)} = (s${off}) ${reg(src, w32)}`;
        } else {
          text = '';
        }
        if (useReg) {
          emit({ op: cls | (code << 4) | 0x08, dst, src, off,
            text: text || `${reg(dst, w32)} ${signed ? 's' : ''}${name} ${reg(src, w32)}` });
        } else {
          let imm = randImm(r);
          if (isDiv && imm === 0) imm = r.pick([-1, 1, 3, -3]);
          if (isShift) imm = r.int(width);
          emit({ op: cls | (code << 4), dst, off, imm, text: `${reg(dst, w32)} ${signed ? 's' : ''}${name} ${imm}` });
        }
      }
    } else if (kind < 57) {
      // Loads
      if (r.chance(0.5)) loadPacket(dst, r.chance(0.3));
      else loadStack(dst, r.chance(0.3));
    } else if (kind < 67) {
      // Stores to the stack
      const size = r.pick([SZ.B, SZ.H, SZ.W, SZ.DW]);
      const n = SIZE_BYTES[size];
      const off = stackOff(n);
      if (r.chance(0.3)) {
        const imm = randImm(r);
        emit({ op: CLS.ST | MODE_MEM | size, dst: 10, off, imm, text: `*(u${n * 8} *)(r10 ${off}) = ${imm}` });
      } else {
        emit({ op: CLS.STX | MODE_MEM | size, dst: 10, src, off, text: `*(u${n * 8} *)(r10 ${off}) = r${src}` });
      }
    } else if (kind < 77) {
      // Atomics on the stack
      const size = r.pick([SZ.W, SZ.DW]);
      const n = SIZE_BYTES[size];
      const off = stackOff(n);
      const aop = r.pick([0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1]);
      const s = aop === 0xf1 && src === 0 ? 1 : src; // cmpxchg: r0 is the comparand, keep src distinct for clarity
      emit({ op: CLS.STX | MODE_ATOMIC | size, dst: 10, src: s, off, imm: aop,
        text: `atomic${n * 8}[0x${aop.toString(16)}] *(r10 ${off}), r${s}` });
    } else if (kind < 80) {
      // Unconditional forward jump (JA, or JMP32 JA = gotol with a 32-bit offset in imm), made reachable-around by a
      // conditional jump over it so the verifier's CFG check sees no dead code.
      const over = nextLabel++;
      const label = nextLabel++;
      const at = i + 1 + r.int(Math.max(1, Math.min(12, bodyLength - i)));
      pending.push({ label, at: Math.min(at, bodyLength) });
      const imm = randImm(r);
      emit({ op: CLS.JMP | 0x50, dst, imm, target: over, text: `if ${reg(dst, false)} != ${imm} goto L${over}` });
      if (r.chance(0.5)) emit({ op: CLS.JMP | 0x00, target: label, text: `goto L${label}` });
      else emit({ op: CLS.JMP32 | 0x00, target: label, text: `gotol L${label}`, gotol: true });
      labels[over] = out.length;
    } else {
      // Conditional forward jump
      const j32 = r.chance(0.4);
      const code = r.pick(Object.keys(JMP_NAMES).map(Number));
      const useReg = r.chance(0.5);
      const label = nextLabel++;
      const at = i + 1 + r.int(Math.max(1, Math.min(12, bodyLength - i)));
      pending.push({ label, at: Math.min(at, bodyLength) });
      const imm = useReg ? 0 : randImm(r);
      emit({ op: (j32 ? CLS.JMP32 : CLS.JMP) | (code << 4) | (useReg ? 0x08 : 0), dst, src: useReg ? src : 0, imm,
        target: label, text: `if ${reg(dst, j32)} ${JMP_NAMES[code]} ${useReg ? reg(src, j32) : imm} goto L${label}` });
    }
  }
  for (const p of pending.filter((q) => q.at >= bodyLength)) labels[p.label] = out.length;
  if (shape.loop) {
    if (shape.mayGoto) emit({ op: CLS.JMP | 0xe0, target: LOOP_END, text: 'may_goto loop_end' });
    emit({ op: CLS.ALU64 | 0x00, dst: R_CTX, imm: -1, text: 'r6 += -1' });
    emit({ op: CLS.JMP | 0x50, dst: R_CTX, imm: 0, target: LOOP, text: 'if r6 != 0 goto loop' });
    labels[LOOP_END] = out.length;
  }

  // Epilogue: expose registers and stack.
  POOL.forEach((d, i) => emit({ op: CLS.STX | MODE_MEM | SZ.DW, dst: R_DATA, src: d, off: 64 + 8 * i,
    text: `*(u64 *)(r7 + ${64 + 8 * i}) = r${d}` }));
  for (let s = 1; s <= STACK_SLOTS; s++) {
    emit({ op: CLS.LDX | MODE_MEM | SZ.DW, dst: 1, src: 10, off: -8 * s, text: `r1 = *(u64 *)(r10 - ${8 * s})` });
    emit({ op: CLS.STX | MODE_MEM | SZ.DW, dst: R_DATA, src: 1, off: 120 + 8 * (s - 1), text: `*(u64 *)(r7 + ${120 + 8 * (s - 1)}) = r1` });
  }
  emit({ op: CLS.ALU64 | 0x50, dst: 0, imm: 3, text: 'r0 &= 3' });
  emit({ op: CLS.JMP | 0x90, text: 'exit' });
  const shortAt = out.length;
  emit({ op: CLS.ALU64 | 0xb0, dst: 0, imm: 2, text: 'short: r0 = 2' });
  emit({ op: CLS.JMP | 0x90, text: 'exit' });
  if (shape.defect === 'dead-code') {
    emit({ op: CLS.ALU64 | 0xb0, dst: 0, imm: 1, text: 'r0 = 1 (unreachable)' });
    emit({ op: CLS.JMP | 0x90, text: 'exit' });
  }

  // Resolve jumps to slot offsets (lddw takes two slots).
  const slotOf: number[] = [];
  let slot = 0;
  for (const ins of out) {
    slotOf.push(slot);
    slot += ins.op === 0x18 ? 2 : 1;
  }
  slotOf.push(slot);
  const lines = ['\t.section xdp,"ax",@progbits', '\t.globl fuzz', '\t.type fuzz,@function', 'fuzz:'];
  // The entry calls the program placed in .text (libbpf takes subprograms from there, linked by the call's relocation).
  if (shape.call) lines.push('\tcall sub', '\texit', '\t.size fuzz, 16', '\t.text', '\t.type sub,@function', 'sub:');
  out.forEach((ins, idx) => {
    if (ins.raw) {
      lines.push(`\t${ins.raw}\t# ${slotOf[idx]}: ${ins.text}`);
      return;
    }
    let off = ins.off;
    let imm = ins.imm;
    if (ins.target !== undefined) {
      const to = ins.target === SHORT ? shortAt : labels[ins.target];
      off = slotOf[to] - slotOf[idx] - 1;
      if (ins.gotol) {
        imm = off;
        off = 0;
      }
    }
    const word = BigInt(ins.op) | (BigInt(ins.dst | (ins.src << 4)) << 8n) | (BigInt(off & 0xffff) << 16n) |
      (BigInt(imm >>> 0) << 32n);
    lines.push(`\t.quad 0x${word.toString(16).padStart(16, '0')}\t# ${slotOf[idx]}: ${ins.text}${ins.target !== undefined ? ` (off ${ins.gotol ? imm : off})` : ''}`);
    if (ins.op === 0x18) lines.push(`\t.quad 0x${(BigInt((ins.imm2 ?? 0) >>> 0) << 32n).toString(16).padStart(16, '0')}`);
  });
  lines.push(shape.call ? '\t.size sub, .-sub' : '\t.size fuzz, .-fuzz', ...extraText, '\t.section license,"aw",@progbits', '\t.asciz "GPL"', '');
  return { seed, asm: lines.join('\n'), bodyLength };
}

/** The defect's instructions, at a point where r6 = ctx, r7 = data, r8 = data_end, data + 192 <= data_end, r1 = data
 * + 192, r2-r5 and r9 not yet written, the stack slots fp-8..fp-64 written. */
function emitDefect(
  d: Defect, r: Prng, emit: (i: Omit<GenInsn, 'off' | 'imm' | 'src' | 'dst'> & Partial<GenInsn>) => void, text: string[],
): void {
  const size = r.pick([SZ.B, SZ.H, SZ.W, SZ.DW]);
  const n = SIZE_BYTES[size];
  const mov = (dst: number, src: number) => emit({ op: CLS.ALU64 | 0xb0 | 0x08, dst, src, text: `r${dst} = r${src}` });
  const movi = (dst: number, imm: number) => emit({ op: CLS.ALU64 | 0xb0, dst, imm, text: `r${dst} = ${imm}` });
  const call = (id: number, what: string) => emit({ op: CLS.JMP | 0x80, imm: id, text: `call ${id} (${what})` });
  switch (d) {
    case 'packet-var-unchecked': {
      // A variable offset added to a checked packet pointer: the sum has no proven range until checked again.
      const v = r.int(4);
      emit({ op: CLS.LDX | MODE_MEM | SZ.B, dst: 2, src: R_DATA, off: r.int(32), text: 'r2 = a packet byte' });
      if (v === 0) emit({ op: CLS.ALU64 | 0x50, dst: 2, imm: 15, text: 'r2 &= 15' });
      else if (v === 1) emit({ op: CLS.ALU64 | 0x30, dst: 2, imm: 1, text: 'r2 /= 1 (the verifier follows no division)' });
      else if (v === 2) emit({ op: CLS.ALU64 | 0x90, dst: 2, imm: 64, text: 'r2 %= 64' });
      else emit({ op: CLS.ALU64 | 0x70, dst: 2, imm: 3, text: 'r2 >>= 3' });
      emit({ op: CLS.ALU64 | 0x00 | 0x08, dst: 2, src: R_DATA, text: 'r2 += r7' });
      emit({ op: CLS.LDX | MODE_MEM | size, dst: 3, src: 2, off: 0, text: `r3 = *(u${n * 8} *)(r2 + 0) (not checked again)` });
      return;
    }
    case 'stack-pointer-sub':
      mov(1, 10);
      if (r.chance(0.5)) emit({ op: CLS.ALU64 | 0x10, dst: 1, imm: 8 * (1 + r.int(8)), text: 'r1 -= constant (a stack pointer)' });
      else {
        movi(2, 8);
        emit({ op: CLS.ALU64 | 0x10 | 0x08, dst: 1, src: 2, text: 'r1 -= r2 (a stack pointer)' });
      }
      return;
    case 'scalar-minus-pointer': {
      const p = r.pick([R_DATA, 10, R_CTX, R_END]);
      movi(2, 5);
      emit({ op: CLS.ALU64 | 0x10 | 0x08, dst: 2, src: p, text: `r2 -= r${p} (a pointer from a scalar)` });
      return;
    }
    case 'atomic-acquire-packet': {
      const s = r.pick([SZ.W, SZ.DW]);
      const k = r.int(3);
      if (k === 0) emit({ op: CLS.STX | MODE_ATOMIC | s, dst: 2, src: R_DATA, off: 6, imm: 0x100, text: 'r2 = load_acquire(packet)' });
      else if (k === 1) emit({ op: CLS.STX | MODE_ATOMIC | s, dst: R_DATA, src: 1, off: 6, imm: 0x110, text: 'store_release(packet, r1)' });
      else emit({ op: CLS.STX | MODE_ATOMIC | SZ.W, dst: 2, src: R_CTX, off: 4 * r.int(5), imm: 0x100, text: 'r2 = load_acquire(ctx field)' });
      return;
    }
    case 'helper-ctx-arg': {
      const k = r.int(5);
      if (k === 0) mov(1, 10);
      else if (k === 1) mov(1, R_DATA);
      else if (k === 2) mov(1, R_END);
      else if (k === 3) movi(1, 0);
      else {
        mov(1, R_CTX);
        emit({ op: CLS.ALU64 | 0x00, dst: 1, imm: 4 * (1 + r.int(4)), text: 'r1 += n (ctx moved)' });
      }
      const id = r.pick([188, 44, 65]);
      if (id !== 188) movi(2, 0);
      call(id, 'r1 is not the context');
      return;
    }
    case 'helper-arg-uninit': {
      mov(1, R_CTX);
      if (r.chance(0.5)) call(genHelper(r.pick([44, 65, 54])), 'r2 never written');
      else {
        movi(2, 0);
        mov(3, 10);
        emit({ op: CLS.ALU64 | 0x00, dst: 3, imm: -8, text: 'r3 += -8' });
        call(r.pick([189, 190]), 'r4 never written');
      }
      return;
    }
    case 'helper-packet-mem':
      // bpf_probe_read_kernel has no pkt_access: its buffer may not be the packet.
      mov(1, R_DATA);
      movi(2, 8);
      movi(3, 0);
      call(113, 'packet memory to a helper without pkt_access');
      return;
    case 'helper-zero-size':
      mov(1, R_CTX);
      movi(2, 0);
      mov(3, 10);
      emit({ op: CLS.ALU64 | 0x00, dst: 3, imm: -8, text: 'r3 += -8' });
      movi(4, 0);
      call(r.pick([189, 190]), 'length 0');
      return;
    case 'call-depth': {
      // Eight more frames below this one: nine or more in all ("the call stack of 9 frames is too deep").
      emit({ op: CLS.JMP | 0x80, src: 1, raw: 'call deep1', text: 'call deep1 (a chain of 8 calls)' });
      text.push('\t.text');
      for (let k = 1; k <= 8; k++) {
        text.push(`\t.type deep${k},@function`, `deep${k}:`, k < 8 ? `\tcall deep${k + 1}` : '\tr0 = 0', '\texit', `\t.size deep${k}, .-deep${k}`);
      }
      return;
    }
    case 'stack-depth': {
      // Two frames of 256 bytes below this one's 64: more than 512 in all ("combined stack size ... Too large").
      const m = 200 + 8 * r.int(8);
      emit({ op: CLS.JMP | 0x80, src: 1, raw: 'call big1', text: 'call big1 (two frames of 256 bytes)' });
      text.push('\t.text');
      for (let k = 1; k <= 2; k++) {
        text.push(`\t.type big${k},@function`, `big${k}:`, '\tr1 = 0', `\t*(u64 *)(r10 - ${k === 1 ? 256 : m}) = r1`,
          k === 1 ? '\tcall big2' : '\tr0 = 0', '\texit', `\t.size big${k}, .-big${k}`);
      }
      return;
    }
    case 'uninit-register': {
      const reg = r.pick([2, 3, 4, 5, 9]);
      emit({ op: CLS.ALU64 | 0xb0 | 0x08, dst: 1, src: reg, text: `r1 = r${reg} (never written)` });
      return;
    }
    case 'stack-store-below': {
      const off = -512 - n * (1 + r.int(4));
      emit({ op: CLS.STX | MODE_MEM | size, dst: 10, src: 1, off, text: `*(u${n * 8} *)(r10 ${off}) = r1 (below the frame)` });
      return;
    }
    case 'stack-store-above': {
      const off = n * r.int(4);
      emit({ op: CLS.ST | MODE_MEM | size, dst: 10, off, imm: 7, text: `*(u${n * 8} *)(r10 + ${off}) = 7 (above the frame)` });
      return;
    }
    case 'stack-load-above': {
      const off = n * r.int(4);
      emit({ op: CLS.LDX | MODE_MEM | size, dst: 1, src: 10, off, text: `r1 = *(u${n * 8} *)(r10 + ${off}) (above the frame)` });
      return;
    }
    case 'ctx-store':
      emit({ op: CLS.ST | MODE_MEM | SZ.W, dst: R_CTX, off: 4 * r.int(6), imm: 0, text: 'store into ctx' });
      return;
    case 'ctx-load-size': {
      const s = r.pick([SZ.B, SZ.H, SZ.DW]);
      emit({ op: CLS.LDX | MODE_MEM | s, dst: 1, src: R_CTX, off: 0, text: `r1 = *(u${SIZE_BYTES[s] * 8} *)(r6 + 0) (ctx fields are 4 bytes)` });
      return;
    }
    case 'ctx-load-offset': {
      const off = r.pick([2, 24, 28, 32, 64, -4]);
      emit({ op: CLS.LDX | MODE_MEM | SZ.W, dst: 1, src: R_CTX, off, text: `r1 = *(u32 *)(r6 + ${off}) (no such ctx field)` });
      return;
    }
    case 'packet-past-range': {
      const off = MIN_PACKET - n + 1 + r.int(16);
      emit({ op: CLS.LDX | MODE_MEM | size, dst: 1, src: R_DATA, off, text: `r1 = *(u${n * 8} *)(r7 + ${off}) (past the proven ${MIN_PACKET} bytes)` });
      return;
    }
    case 'packet-store-past-range': {
      const off = MIN_PACKET - n + 1 + r.int(16);
      emit({ op: CLS.STX | MODE_MEM | size, dst: R_DATA, src: 1, off, text: `*(u${n * 8} *)(r7 + ${off}) = r1 (past the proven ${MIN_PACKET} bytes)` });
      return;
    }
    case 'scalar-deref': {
      const v = r.pick([0, 8, 64, 4096]);
      emit({ op: CLS.ALU64 | 0xb0, dst: 1, imm: v, text: `r1 = ${v}` });
      emit({ op: CLS.LDX | MODE_MEM | size, dst: 1, src: 1, off: 0, text: `r1 = *(u${n * 8} *)(r1 + 0) (a scalar)` });
      return;
    }
    case 'div-imm-zero':
    case 'mod-imm-zero': {
      const w32 = r.chance(0.5);
      const signed = r.chance(0.3) ? 1 : 0;
      const code = d === 'div-imm-zero' ? 0x30 : 0x90;
      emit({ op: (w32 ? CLS.ALU : CLS.ALU64) | code, dst: 1, off: signed, imm: 0, text: `r1 ${signed ? 's' : ''}${d === 'div-imm-zero' ? '/' : '%'}= 0 (constant divisor 0)` });
      return;
    }
    case 'shift-imm-range':
    case 'shift32-imm-range': {
      const w32 = d === 'shift32-imm-range';
      const imm = r.pick(w32 ? [32, 33, 63, -1, 64] : [64, 65, 127, -1, -64]);
      const code = r.pick([0x60, 0x70, 0xc0]);
      emit({ op: (w32 ? CLS.ALU : CLS.ALU64) | code, dst: 1, imm, text: `shift r1 by ${imm} (out of range)` });
      return;
    }
    case 'endless-loop':
      emit({ op: CLS.ALU64 | 0x00, dst: 1, imm: 1, text: 'loop: r1 += 1' });
      emit({ op: CLS.JMP | 0x00, off: -2, text: 'goto loop (no way out)' });
      return;
    case 'ld-abs':
      emit({ op: 0x20 | r.pick([0x00, 0x08, 0x10]), imm: r.int(32), text: 'ld_abs (socket filters only)' });
      return;
    case 'unknown-helper': {
      const id = r.pick([0, 212, 300, 100000, -1]);
      emit({ op: CLS.JMP | 0x80, imm: id, text: `call ${id} (no such helper)` });
      return;
    }
    case 'reserved-field':
      emit({ op: CLS.ALU64 | 0x00 | 0x08, dst: 1, src: 1, off: r.pick([1, 2, -1]), text: 'r1 += r1 with a nonzero offset field' });
      return;
    case 'frame-pointer-write':
      emit({ op: CLS.ALU64 | r.pick([0x00, 0xb0]), dst: 10, imm: 8, text: 'r10 changed' });
      return;
    case 'dead-code':
      return;
    case 'atomic-packet': {
      const s = r.pick([SZ.W, SZ.DW]);
      emit({ op: CLS.ALU64 | 0xb0, dst: 2, imm: 1, text: 'r2 = 1' });
      emit({ op: CLS.STX | MODE_ATOMIC | s, dst: R_DATA, src: 2, off: 8, imm: r.pick([0x00, 0x01, 0x40, 0xe1]), text: 'atomic on packet memory' });
      return;
    }
    case 'pointer-multiply':
      emit({ op: CLS.ALU64 | r.pick([0x20, 0x30, 0x40, 0x60, 0x90]), dst: 1, imm: 3, text: 'r1 (a packet pointer) *|/|<<... 3' });
      return;
    case 'pointer-alu32':
      emit({ op: CLS.ALU | r.pick([0x00, 0x40, 0x50, 0xa0]), dst: 1, imm: 1, text: 'w1 += 1 (a packet pointer in a 32-bit op other than sub)' });
      return;
    case 'pointer-plus-pointer':
      emit({ op: CLS.ALU64 | 0x00 | 0x08, dst: 1, src: r.pick([R_DATA, 10, R_CTX]), text: 'r1 += a pointer' });
      return;
    case 'stack-misaligned': {
      const s = r.pick([SZ.H, SZ.W, SZ.DW]);
      const m = SIZE_BYTES[s];
      const off = -8 * (2 + r.int(6)) + 1 + r.int(m - 1);
      if (r.chance(0.5)) emit({ op: CLS.STX | MODE_MEM | s, dst: 10, src: 1, off, text: `*(u${m * 8} *)(r10 ${off}) = r1 (misaligned)` });
      else emit({ op: CLS.LDX | MODE_MEM | s, dst: 1, src: 10, off, text: `r1 = *(u${m * 8} *)(r10 ${off}) (misaligned)` });
      return;
    }
    case 'ctx-moved': {
      const by = r.pick([4, 8, 12]);
      emit({ op: CLS.ALU64 | 0xb0 | 0x08, dst: 1, src: R_CTX, text: 'r1 = r6' });
      emit({ op: CLS.ALU64 | 0x00, dst: 1, imm: by, text: `r1 += ${by}` });
      emit({ op: CLS.LDX | MODE_MEM | SZ.W, dst: 1, src: 1, off: 0, text: 'r1 = *(u32 *)(r1 + 0) (through a moved ctx pointer)' });
      return;
    }
    case 'partial-pointer-fill':
      emit({ op: CLS.STX | MODE_MEM | SZ.DW, dst: 10, src: r.pick([1, 10, R_CTX]), off: -8, text: '*(u64 *)(r10 - 8) = a pointer' });
      emit({ op: CLS.LDX | MODE_MEM | r.pick([SZ.W, SZ.H, SZ.B]), dst: 1, src: 10, off: -8, text: 'r1 = part of it' });
      return;
  }
}

/** Packets for a generated program: random bytes (>= MIN_PACKET so the body runs) with an Ethernet-ish start; one in
 * five of 512 bytes to 3,500 (the largest a plain XDP test run takes is 3,520). */
export function fuzzPackets(seed: number): Uint8Array[] {
  const r = new Prng(seed ^ 0x5bd1e995);
  return [0, 1].map(() => {
    const big = r.chance(0.2);
    const p = new Uint8Array(big ? r.pick([512, 1000, 1514, 2048, 3000, 3500]) : MIN_PACKET + r.int(64));
    for (let i = 0; i < p.length; i++) p[i] = r.chance(0.2) ? r.pick([0, 0xff, 0x80, 0x7f, 1]) : r.int(256);
    return p;
  });
}
