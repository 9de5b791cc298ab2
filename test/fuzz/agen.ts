// Random XDP programs written in bytecode that use maps, helpers, subprograms and tail calls (gen.ts covers the
// instruction set alone, cgen.ts what clang makes of C). A program is a C file whose functions are naked, each one
// inline assembly: most instructions as raw `.quad` words (llvm 14 knows no cpu v4 instructions and the jump offsets
// are ours), the few that need a relocation as assembler text: `rX = map ll` (BPF_PSEUDO_MAP_FD), `rX = global ll`
// (BPF_PSEUDO_MAP_VALUE into .data/.bss/.rodata), `r2 = callback ll` (BPF_PSEUDO_FUNC) and `call subN` (bpf-to-bpf).
//
// Conventions: r6 = ctx, r7/r8/r9 = the values the program works on (callee-saved, so they survive helper calls and
// subprogram calls), r0-r5 scratch (written before each read; a call clobbers them), fp-8..fp-64 written in the
// prologue (fp-72..fp-512 also with `bigStack`). The body is a list of blocks, each verifier-safe by construction:
//   alu:     ALU/ALU64 (every op incl. sdiv/smod/movsx/bswap; divisors and shift amounts from registers, which may be 0
//            or >= the width; edge immediates: INT_MIN, -1, 0x80000000, ...), JMP/JMP32 forward jumps of every
//            condition, JA and gotol
//   map:     lookup in an ARRAY (64-byte values) / HASH / PERCPU_ARRAY / LRU_HASH, NULL check, then loads (also
//            sign-extending), stores and atomics of every width and op (add/or/and/xor with and without fetch,
//            xchg, cmpxchg, load-acquire/store-release) at constant offsets in the value; update/delete with every flag
//   glob:    the same on .data / .bss through BPF_PSEUDO_MAP_VALUE, reads of .rodata
//   stack:   loads/stores/atomics on the stack, at fixed and variable offsets, deep in a 512-byte frame
//   pkt:     re-read data/data_end (helpers move them), bounds check, loads/stores at fixed and variable offsets; the
//            metadata area likewise
//   adjust:  bpf_xdp_adjust_head / adjust_tail / adjust_meta by odd and even deltas of both signs
//   bytes:   bpf_xdp_load_bytes / store_bytes at offsets around the packet's end (computed from its length)
//   redir:   bpf_redirect / bpf_redirect_map (DEVMAP, empty) with fallback flags; the result may become the action
//   call:    a bpf-to-bpf call with five arguments, one a pointer into the caller's stack that the callee reads and
//            writes, the callee with a stack of its own, sometimes calling a second subprogram; a quarter of them get
//            the context and bpf_tail_call from inside the subprogram (tail1 then returns to the caller)
//   loop:    a bounded loop (a back edge with a counter) or bpf_loop with a callback (BPF_PSEUDO_FUNC) updating the
//            caller's stack through its context pointer
//   tail:    bpf_tail_call through a PROG_ARRAY (slot 1 holds `tail1`, other slots empty)
// Epilogue: r7, r8, r9 and fp-8..fp-64 stored into map `res` (compared after the run), the action from r7 (or a
// redirect's result).
import { Prng } from './gen.ts';
import { genHelper, genHelperName } from './kernel-build.ts';

export const CLS = { LD: 0, LDX: 1, ST: 2, STX: 3, ALU: 4, JMP: 5, JMP32: 6, ALU64: 7 } as const;
export const SZ = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;
const SIZES = [SZ.B, SZ.H, SZ.W, SZ.DW] as const;
const NB: Record<number, number> = { [SZ.W]: 4, [SZ.H]: 2, [SZ.B]: 1, [SZ.DW]: 8 };
const MEM = 0x60;
const MEMSX = 0x80;
const ATOMIC = 0xc0;
const X = 0x08;
export const H = { lookup: 1, update: 2, del: 3, cpu: 8, tail: 12, redirect: 23, perfOut: 25, csum: 28, head: 44, redirMap: 51, meta: 54, tailAdj: 65, push: 87, pop: 88, peek: 89, ringOut: 130, ringReserve: 131, ringSubmit: 132, ringDiscard: 133, ringQuery: 134, loop: 181, buffLen: 188, load: 189, store: 190 };

const i32 = (v: number | bigint): number => Number(BigInt.asIntN(32, BigInt(v)));

/** One item of a function body: an instruction (jumps name a label), a raw assembler line of `slots` slots, a label. */
type Item =
  | { k: 'i'; op: number; dst: number; src: number; off: number; imm: number; imm2?: number; to?: string; gotol?: boolean; text: string }
  | { k: 'raw'; line: string; slots: number }
  | { k: 'label'; name: string };

export class Fn {
  items: Item[] = [];
  /** The C return type its BTF carries: the kernel lets only a subprogram returning an integer tail-call. */
  ret: 'void' | 'int' = 'void';
  private n = 0;
  constructor(readonly name: string) {}
  label(): string {
    return `${this.name}_L${this.n++}`;
  }
  place(name: string): void {
    this.items.push({ k: 'label', name });
  }
  i(op: number, dst: number, src: number, off: number, imm: number, text: string, to?: string, gotol?: boolean): void {
    this.items.push({ k: 'i', op, dst, src, off, imm, text, to, gotol });
  }
  raw(line: string, slots = 1): void {
    this.items.push({ k: 'raw', line, slots });
  }
  lddw(dst: number, v: bigint): void {
    this.items.push({ k: 'i', op: 0x18, dst, src: 0, off: 0, imm: i32(v & 0xffffffffn), imm2: i32(v >> 32n), text: `r${dst} = 0x${v.toString(16)} ll` });
  }
  mov(dst: number, src: number): void {
    this.i(CLS.ALU64 | 0xb0 | X, dst, src, 0, 0, `r${dst} = r${src}`);
  }
  movi(dst: number, imm: number): void {
    this.i(CLS.ALU64 | 0xb0, dst, 0, 0, imm, `r${dst} = ${imm}`);
  }
  addi(dst: number, imm: number): void {
    this.i(CLS.ALU64, dst, 0, 0, imm, `r${dst} += ${imm}`);
  }
  andi(dst: number, imm: number): void {
    this.i(CLS.ALU64 | 0x50, dst, 0, 0, imm, `r${dst} &= ${imm}`);
  }
  alu(op: number, dst: number, src: number, text: string): void {
    this.i(CLS.ALU64 | op | X, dst, src, 0, 0, text);
  }
  ldx(size: number, dst: number, src: number, off: number, sx = false): void {
    this.i(CLS.LDX | (sx ? MEMSX : MEM) | size, dst, src, off, 0, `r${dst} = *(${sx ? 's' : 'u'}${NB[size] * 8} *)(r${src} ${off >= 0 ? '+' : '-'} ${Math.abs(off)})`);
  }
  stx(size: number, dst: number, off: number, src: number): void {
    this.i(CLS.STX | MEM | size, dst, src, off, 0, `*(u${NB[size] * 8} *)(r${dst} ${off >= 0 ? '+' : '-'} ${Math.abs(off)}) = r${src}`);
  }
  st(size: number, dst: number, off: number, imm: number): void {
    this.i(CLS.ST | MEM | size, dst, 0, off, imm, `*(u${NB[size] * 8} *)(r${dst} ${off >= 0 ? '+' : '-'} ${Math.abs(off)}) = ${imm}`);
  }
  jmp(code: number, dst: number, srcOrImm: { r: number } | { imm: number }, to: string, j32 = false): void {
    const reg = 'r' in srcOrImm;
    this.i((j32 ? CLS.JMP32 : CLS.JMP) | code | (reg ? X : 0), dst, reg ? srcOrImm.r : 0, 0, reg ? 0 : srcOrImm.imm,
      `if ${j32 ? 'w' : 'r'}${dst} ${JNAME[code >> 4]} ${reg ? `r${srcOrImm.r}` : srcOrImm.imm} goto ${to}`, to);
  }
  goto(to: string, gotol = false): void {
    this.i(gotol ? CLS.JMP32 : CLS.JMP, 0, 0, 0, 0, `${gotol ? 'gotol' : 'goto'} ${to}`, to, gotol);
  }
  call(id: number, what: string): void {
    // A helper this kernel takes from XDP (adjust_meta on some builds) becomes its stand-in: kernel-build.ts.
    this.i(CLS.JMP | 0x80, 0, 0, 0, genHelper(id), `call ${genHelperName(id, what)}`);
  }
  exit(): void {
    this.i(CLS.JMP | 0x90, 0, 0, 0, 0, 'exit');
  }
  /** The body as assembler lines (jump offsets resolved in slots). */
  lines(): string[] {
    const slotOf = new Map<string, number>();
    let slot = 0;
    const at: number[] = [];
    for (const it of this.items) {
      at.push(slot);
      if (it.k === 'label') slotOf.set(it.name, slot);
      else if (it.k === 'raw') slot += it.slots;
      else slot += it.op === 0x18 ? 2 : 1;
    }
    const out: string[] = [];
    this.items.forEach((it, idx) => {
      if (it.k === 'label') return;
      if (it.k === 'raw') {
        out.push(`${it.line}  # ${at[idx]}`);
        return;
      }
      let off = it.off;
      let imm = it.imm;
      if (it.to !== undefined) {
        const t = slotOf.get(it.to);
        if (t === undefined) throw new Error(`agen: label ${it.to} not placed`);
        off = t - at[idx]! - 1;
        if (it.gotol) {
          imm = off;
          off = 0;
        }
      }
      const word = BigInt(it.op) | (BigInt(it.dst | (it.src << 4)) << 8n) | (BigInt(off & 0xffff) << 16n) | (BigInt(imm >>> 0) << 32n);
      out.push(`.quad 0x${word.toString(16).padStart(16, '0')}  # ${at[idx]}: ${it.text}`);
      if (it.op === 0x18) out.push(`.quad 0x${(BigInt((it.imm2 ?? 0) >>> 0) << 32n).toString(16).padStart(16, '0')}`);
    });
    return out;
  }
}

const JNAME: Record<number, string> = { 1: '==', 2: '>', 3: '>=', 4: '&', 5: '!=', 6: 's>', 7: 's>=', 0xa: '<', 0xb: '<=', 0xc: 's<', 0xd: 's<=' };
const JCODES = Object.keys(JNAME).map((k) => Number(k) << 4);
const SPECIAL_64 = [0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n,
  0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0xffffffff80000000n, 0xffffffff7fffffffn];
const SPECIAL_32 = [0, 1, -1, 2, -2, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 0x7fffffff, -0x80000000, 0xff, 0x80, 0xffff, 0x8000, -7];

/** A mistake the verifier refuses, placed in the program (agen's own; gen.ts DEFECTS are the instruction-level ones). */
// Not here, because 6.18 loads them as root: reads of stack bytes never written (allow_uninit_stack), also through a
// helper's key or buffer argument. Not here because the simulator cannot tell yet: a loop the verifier gives up on
// ("BPF program is too large" after 1M instructions) when its exit depends on an unbounded value.
export const A_DEFECTS = [
  'arg-after-call', 'callee-reads-r6', 'r0-after-tail-call', 'value-oob', 'value-no-null-check', 'value-var-unbounded',
  'rodata-write', 'stale-pkt-after-helper', 'ldimm64-jump-middle', 'return-pointer', 'big-stack-plus-call',
  'tail-call-not-ctx', 'stack-arg-past-frame', 'map-ptr-arith', 'pkt-reload-after-check', 'callback-bad-ret',
  'value-arg-too-small', 'key-past-frame', 'value-atomic-misaligned', 'back-edge-into-call', 'meta-past-range',
  'tail-call-scalar-ctx', 'tail-call-void-sub',
] as const;
/** Mistakes the kernel refuses that `run` does not report yet; afuzz.test.ts counts them without failing (the kernel
 * must still refuse each). None now: a value pointer moved by a number the verifier cannot bound inside the value and
 * a number as bpf_tail_call's context were here until 2026-12-07. */
export const A_KNOWN_GAPS: ReadonlySet<ADefect> = new Set<ADefect>([]);
export type ADefect = (typeof A_DEFECTS)[number];

export interface AProgram {
  seed: number;
  source: string;
  kinds: string[];
  defect?: ADefect;
}

const BLOCKS = ['alu', 'alu', 'alu', 'map', 'map', 'glob', 'stack', 'pkt', 'pkt', 'adjust', 'adjust', 'bytes', 'redir', 'call', 'call', 'loop', 'tail', 'misc'] as const;

/** `drop`: indexes of body blocks generated but left out, 100 + index for the extra block after it (for minimising a
 * program by hand; seeds stay the same). */
export function generateAProgram(seed: number, defect?: ADefect, drop?: ReadonlySet<number>): AProgram {
  const r = new Prng(seed);
  const kinds: string[] = [];
  const main = new Fn('m');
  const subs: Fn[] = [];
  const bigStack = r.chance(0.15) || defect === 'big-stack-plus-call';
  // A 512-byte frame with bigStack: the slots, then the key and value slots at fp-504 and fp-512.
  const slots = bigStack ? 62 : 8;
  const dr = new Prng(seed ^ 0xa5a5a5);

  const randU64 = (): bigint => {
    const k = r.int(4);
    if (k === 0) return r.pick(SPECIAL_64);
    if (k === 1) return BigInt(r.int(64));
    if (k === 2) return BigInt.asUintN(64, -BigInt(r.int(100)));
    return r.u64();
  };
  const randImm = (): number => (r.chance(0.5) ? r.pick(SPECIAL_32) : i32(r.u32()));
  const VAL = [7, 8, 9];
  const slotOff = (n: number, maxSlots = 8) => -8 * (1 + r.int(maxSlots)) + n * r.int(8 / n);

  // Prologue: ctx, the stack, the three values (from constants, ctx fields, the packet's length, a stack slot).
  main.mov(6, 1);
  for (let s = 1; s <= slots; s++) {
    if (s > 8 && r.chance(0.5)) main.st(SZ.DW, 10, -8 * s, randImm());
    else {
      main.lddw(1, randU64());
      main.stx(SZ.DW, 10, -8 * s, 1);
    }
  }
  for (const v of VAL) {
    const k = r.int(5);
    if (k === 0) main.ldx(SZ.W, v, 6, r.pick([12, 16]));
    else if (k === 1) {
      main.ldx(SZ.W, v, 6, 4);
      main.ldx(SZ.W, 1, 6, 0);
      main.alu(0x10, v, 1, `r${v} -= r1 (packet length)`);
    } else if (k === 2) main.ldx(r.pick(SIZES), v, 10, -8 * (1 + r.int(8)));
    else main.lddw(v, randU64());
  }

  // --- blocks ---
  const aluOps = (f: Fn, regs: number[], count: number) => {
    const end: string[] = [];
    for (let j = 0; j < count; j++) {
      const dst = r.pick(regs);
      const src = r.pick(regs);
      const k = r.int(10);
      if (k < 6) {
        const w32 = r.chance(0.4);
        const cls = w32 ? CLS.ALU : CLS.ALU64;
        const w = w32 ? 'w' : 'r';
        const code = r.int(14);
        if (code === 8) f.i(cls | 0x80, dst, 0, 0, 0, `${w}${dst} = -${w}${dst}`);
        else if (code === 13) {
          const imm = r.pick([16, 32, 64]);
          const v = r.int(3);
          if (v === 2) f.i(CLS.ALU64 | 0xd0, dst, 0, 0, imm, `r${dst} = bswap${imm} r${dst}`);
          else f.i(CLS.ALU | 0xd0 | (v ? X : 0), dst, 0, 0, imm, `r${dst} = ${v ? 'be' : 'le'}${imm} r${dst}`);
        } else {
          const isDiv = code === 3 || code === 9;
          const isShift = code === 6 || code === 7 || code === 12;
          const signed = isDiv && r.chance(0.5) ? 1 : 0;
          if (code === 11 && r.chance(0.3)) {
            const bits = r.pick(w32 ? [8, 16] : [8, 16, 32]);
            f.i(cls | 0xb0 | X, dst, src, bits, 0, `${w}${dst} = (s${bits}) ${w}${src}`);
          } else if (r.chance(0.5)) {
            f.i(cls | (code << 4) | X, dst, src, signed, 0, `${w}${dst} ${signed ? 's' : ''}op${code} ${w}${src}`);
          } else {
            let imm = randImm();
            if (isDiv && imm === 0) imm = r.pick([-1, 1, 3]);
            if (isShift) imm = r.int(w32 ? 32 : 64);
            f.i(cls | (code << 4), dst, 0, signed, imm, `${w}${dst} ${signed ? 's' : ''}op${code} ${imm}`);
          }
        }
      } else if (k < 9) {
        const l = f.label();
        end.push(l);
        const code = r.pick(JCODES);
        f.jmp(code, dst, r.chance(0.5) ? { r: src } : { imm: randImm() }, l, r.chance(0.4));
      } else {
        const over = f.label();
        const l = f.label();
        end.push(l);
        f.jmp(0x50, dst, { imm: randImm() }, over);
        f.goto(l, r.chance(0.5));
        f.place(over);
      }
      // Some labels land inside the block.
      if (end.length && r.chance(0.3)) f.place(end.shift()!);
    }
    for (const l of end) f.place(l);
  };

  const initScratch = (f: Fn, regs: number[], from: number[]) => {
    for (const d of regs) {
      if (r.chance(0.5)) f.mov(d, r.pick(from));
      else if (r.chance(0.5)) f.movi(d, randImm());
      else f.lddw(d, randU64());
    }
  };

  /** Loads, stores and atomics through pointer register `p` into `n` bytes (aligned accesses at constant offsets). */
  const memOps = (f: Fn, p: number, n: number, count: number, atomics: boolean, writable = true) => {
    for (let j = 0; j < count; j++) {
      const size = r.pick(SIZES.filter((z) => NB[z]! <= n));
      const b = NB[size]!;
      const off = b * r.int(n / b);
      const v = r.pick(VAL);
      const k = r.int(writable ? (atomics ? 10 : 6) : 3);
      if (k < 3) {
        const sx = size !== SZ.DW && r.chance(0.3);
        f.ldx(size, 0, p, off, sx);
        f.alu(r.pick([0x00, 0xa0, 0x10]), v, 0, `r${v} op= r0`);
      } else if (k < 5) f.stx(size, p, off, v);
      else if (k < 6) f.st(size, p, off, randImm());
      else {
        const aop = r.pick([0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 0x100, 0x110]);
        const sz = aop >= 0x100 ? size : n >= 8 ? r.pick([SZ.W, SZ.DW]) : SZ.W;
        const ab = NB[sz]!;
        const aoff = ab * r.int(n / ab);
        if (aop === 0x100) {
          f.i(CLS.STX | ATOMIC | sz, 0, p, aoff, aop, `r0 = load_acquire((u${ab * 8} *)(r${p} + ${aoff}))`);
          f.alu(0xa0, v, 0, `r${v} ^= r0`);
        } else if (aop === 0x110) {
          f.i(CLS.STX | ATOMIC | sz, p, v, aoff, aop, `store_release((u${ab * 8} *)(r${p} + ${aoff}), r${v})`);
        } else {
          // The operand in a scratch register (a fetch overwrites it; cmpxchg compares with r0 and writes r0).
          const s = p === 1 ? 2 : 1;
          f.mov(s, v);
          if (aop === 0xf1) f.mov(0, r.pick(VAL));
          f.i(CLS.STX | ATOMIC | sz, p, s, aoff, aop, `atomic${ab * 8}[0x${aop.toString(16)}] *(r${p} + ${aoff}), r${s}`);
          if (aop & 1) f.alu(0x00, v, aop === 0xf1 ? 0 : s, `r${v} += fetched`);
        }
      }
    }
  };

  const MAPS = [
    { name: 'arr', key: 4, keyMask: 3, value: 64 },
    { name: 'hsh', key: 4, keyMask: 7, value: 8 },
    { name: 'pca', key: 4, keyMask: 1, value: 16 },
    { name: 'lru', key: 4, keyMask: 15, value: 8 },
  ];

  /** r2 = fp-72-ish key slot holding r{v} & mask (a stack slot of its own). */
  const keyOnStack = (f: Fn, mask: number, keyOff: number) => {
    const v = r.pick(VAL);
    f.mov(1, v);
    f.andi(1, r.chance(0.1) ? 0x7fffffff : mask);
    f.stx(SZ.W, 10, keyOff, 1);
    f.mov(2, 10);
    f.addi(2, keyOff);
  };
  const KEY = -8 * slots - 8; // one slot below the initialised ones (the frame grows by 8)
  const VALSLOT = KEY - 8;

  let subCount = 0;
  const makeSub = (depth: number, tail = false): string => {
    const name = `sub${subCount++}`;
    const f = new Fn(name);
    subs.push(f);
    // r1, r2, r4, r5 scalars, r3 = a pointer to 8 initialised bytes of the caller's stack.
    const own = r.chance(0.6) && !bigStack;
    if (tail) {
      f.ret = 'int';
      // r1 = ctx instead: a bpf_tail_call from inside the subprogram (slot r2 & 3; slot 1 holds tail1, which then runs
      // in this subprogram's frame, and its XDP_TX comes back to the caller as the subprogram's r0, as on the x86 JIT),
      // ctx, the stack pointer and r2 kept in r6-r8 across it; then r1 is a scalar again.
      f.mov(6, 1);
      f.mov(7, 3);
      f.mov(8, 2);
      f.mov(1, 6);
      f.raw('r2 = jt ll', 2);
      f.mov(3, 8);
      f.andi(3, 3);
      f.call(H.tail, 'bpf_tail_call (from a subprogram)');
      f.mov(3, 7);
      f.mov(1, 8);
      f.mov(2, 8);
      f.lddw(4, BigInt.asUintN(64, BigInt(i32(tailPick.u32()))));
      f.mov(5, 8);
      f.alu(0xa0, 5, 4, 'r5 ^= r4');
    }
    if (own) {
      f.st(SZ.DW, 10, -8, randImm());
      f.stx(SZ.DW, 10, -16, 1);
    }
    const k = r.int(3);
    f.ldx(SZ.DW, 0, 3, 0);
    const regs = [0, 1, 2, 4, 5];
    aluOps(f, regs, 3 + r.int(8));
    if (k === 0) f.stx(SZ.DW, 3, 0, r.pick(regs));
    else if (k === 1) {
      f.movi(2, r.int(100));
      f.i(CLS.STX | ATOMIC | SZ.DW, 3, 2, 0, r.pick([0x00, 0x01, 0xa1, 0xe1]), 'atomic on the caller\'s stack through r3');
    }
    if (own) {
      f.ldx(SZ.DW, 4, 10, -16);
      f.alu(0xa0, 0, 4, 'r0 ^= r4');
    }
    if (depth < 2 && r.chance(0.3)) {
      // A second level: r6 is free in this frame (callee-saved there too).
      f.mov(6, 0);
      f.mov(3, 3);
      const inner = makeSub(depth + 1);
      f.raw(`call ${inner}`);
      f.alu(0x00, 0, 6, 'r0 += r6');
    }
    f.exit();
    return name;
  };

  let cbCount = 0;
  const makeCallback = (): string => {
    const name = `cb${cbCount++}`;
    const f = new Fn(name);
    subs.push(f);
    // r1 = index, r2 = ctx (a pointer to the caller's stack slot KEY-16, 8 bytes written before the call).
    f.ldx(SZ.DW, 0, 2, 0);
    f.alu(0x00, 0, 1, 'r0 += r1');
    f.i(CLS.ALU64 | 0x20, 0, 0, 0, r.pick([3, 7, 31, -1]), 'r0 *= k');
    f.stx(SZ.DW, 2, 0, 0);
    f.mov(0, 1);
    f.i(CLS.ALU64 | 0x70, 0, 0, 0, r.pick([1, 2, 3, 63]), 'r0 >>= k (stop when nonzero)');
    f.andi(0, 1);
    f.exit();
    return name;
  };

  let redirected = false;
  const tailPick = new Prng(seed ^ 0x7a11ca11);
  // Extra blocks (chosen by a Prng of their own after each block above): the map kinds, helpers and instruction edges
  // real XDP programs use that the blocks above do not.
  const x = new Prng(seed ^ 0x11e7a5);
  const xv = () => x.pick(VAL);
  const xKey = (f: Fn, mask: number, off: number) => {
    f.mov(1, xv());
    f.andi(1, mask);
    f.stx(SZ.W, 10, off, 1);
    f.mov(2, 10);
    f.addi(2, off);
  };
  const EXTRA = ['lpm', 'qs', 'ring', 'perf', 'redir2', 'edge', 'edge', 'pktend', 'pktend', 'metaseq', 'metaseq', 'pktcall'] as const;
  const extraBlock = (f: Fn, kind: (typeof EXTRA)[number]) => {
    kinds.push(kind);
    switch (kind) {
      case 'lpm': {
        // struct lpmk { u32 prefixlen; u8 d[4]; } at KEY (8 bytes), a u64 value at VALSLOT.
        const op = x.pick(['update', 'update', 'lookup', 'lookup', 'delete']);
        if (x.chance(0.3)) {
          f.mov(1, xv());
          f.andi(1, 63);
        } else f.movi(1, x.pick([0, 1, 7, 8, 16, 24, 31, 32, 33]));
        f.stx(SZ.W, 10, KEY, 1);
        f.mov(1, xv());
        if (x.chance(0.5)) f.andi(1, x.pick([0x0f0f, 0xff00ff, 0x3]));
        f.stx(SZ.W, 10, KEY + 4, 1);
        f.mov(2, 10);
        f.addi(2, KEY);
        f.raw('r1 = lpm ll', 2);
        if (op === 'lookup') {
          f.call(H.lookup, 'bpf_map_lookup_elem (lpm)');
          const skip = f.label();
          f.jmp(0x10, 0, { imm: 0 }, skip);
          f.mov(1, 0);
          memOps(f, 1, 8, 1 + x.int(3), true);
          f.place(skip);
        } else if (op === 'update') {
          f.stx(SZ.DW, 10, VALSLOT, xv());
          f.mov(3, 10);
          f.addi(3, VALSLOT);
          f.movi(4, x.pick([0, 0, 1, 2, 4]));
          f.call(H.update, 'bpf_map_update_elem (lpm)');
          f.alu(0x00, xv(), 0, 'r += result');
        } else {
          f.call(H.del, 'bpf_map_delete_elem (lpm)');
          f.alu(0x00, xv(), 0, 'r += result');
        }
        break;
      }
      case 'qs': {
        const m = x.pick(['que', 'stk']);
        const op = x.pick(['push', 'push', 'pop', 'peek']);
        f.raw(`r1 = ${m} ll`, 2);
        f.mov(2, 10);
        f.addi(2, VALSLOT);
        if (op === 'push') {
          f.stx(SZ.DW, 10, VALSLOT, xv());
          f.movi(3, x.pick([0, 0, 2, 2, 1]));
          f.call(H.push, `bpf_map_push_elem (${m})`);
          f.alu(0x00, xv(), 0, 'r += result');
        } else {
          f.st(SZ.DW, 10, VALSLOT, x.pick([0, -1, 77]));
          f.call(op === 'pop' ? H.pop : H.peek, `bpf_map_${op}_elem (${m})`);
          f.alu(0x00, xv(), 0, 'r += result');
          f.ldx(SZ.DW, 0, 10, VALSLOT);
          f.alu(0xa0, xv(), 0, 'r ^= the element');
        }
        break;
      }
      case 'ring': {
        const k = x.int(3);
        if (k === 0) {
          f.raw('r1 = rb ll', 2);
          f.mov(2, 10);
          f.addi(2, -64);
          f.movi(3, x.pick([8, 16, 24, 40, 64]));
          f.movi(4, x.pick([0, 0, 1, 2]));
          f.call(H.ringOut, 'bpf_ringbuf_output');
          f.alu(0x00, xv(), 0, 'r += result');
        } else if (k === 1) {
          f.raw('r1 = rb ll', 2);
          f.movi(2, x.pick([8, 16, 64, 1000, 2000, 4088, 5000]));
          f.movi(3, 0);
          f.call(H.ringReserve, 'bpf_ringbuf_reserve');
          const skip = f.label();
          f.jmp(0x10, 0, { imm: 0 }, skip);
          f.stx(SZ.DW, 0, 0, xv());
          f.mov(1, 0);
          f.movi(2, x.pick([0, 1, 2]));
          f.call(x.chance(0.6) ? H.ringSubmit : H.ringDiscard, 'bpf_ringbuf_submit/discard');
          f.place(skip);
          f.movi(0, 0);
          f.alu(0x00, xv(), 0, 'r += 0');
        } else {
          f.raw('r1 = rb ll', 2);
          f.movi(2, x.pick([0, 1, 2, 3, 4]));
          f.call(H.ringQuery, 'bpf_ringbuf_query');
          f.alu(0x00, xv(), 0, 'r += result');
        }
        break;
      }
      case 'perf': {
        // bpf_perf_event_output(ctx, &perf, flags, data, size): the flags' upper 32 bits ask for packet bytes.
        f.mov(1, 6);
        f.raw('r2 = perf ll', 2);
        const idx = x.pick([0xffffffffn, 0n, 1n, 3n, 4n]);
        const len = x.pick([0n, 0n, 1n, 14n, 64n, 1500n, 5000n]);
        f.lddw(3, (len << 32n) | idx);
        f.mov(4, 10);
        f.addi(4, -64);
        f.movi(5, x.pick([0, 8, 16, 64]));
        f.call(H.perfOut, 'bpf_perf_event_output');
        f.alu(0x00, xv(), 0, 'r += result');
        break;
      }
      case 'redir2': {
        const m = x.pick(['cpum', 'xsk', 'devh', 'dev']);
        f.raw(`r1 = ${m} ll`, 2);
        f.mov(2, xv());
        f.andi(2, 7);
        f.movi(3, x.pick([0, 1, 2, 3, 4, 8, 16, 24]));
        f.call(H.redirMap, `bpf_redirect_map (${m})`);
        f.mov(xv(), 0);
        redirected = true;
        break;
      }
      case 'edge': {
        // An operand of an edge value: divisors 0 and -1 with INT_MIN, shift amounts at and past the width.
        const src = x.pick([2, 3]);
        const v = xv();
        const e = x.pick([0n, 0n, 0xffffffffffffffffn, 0x80000000n, 0xffffffff80000000n, 0x8000000000000000n, 0x100000000n,
          0x1ffffffffn, 31n, 32n, 33n, 63n, 64n, 65n, 255n, 0xffffffffn]);
        if (x.chance(0.3)) {
          // The edge value in a register the verifier knows only from a branch.
          f.mov(src, v);
          const l = f.label();
          const done = f.label();
          f.jmp(0x50, src, { imm: 0 }, l);
          f.lddw(src, e);
          f.goto(done);
          f.place(l);
          f.lddw(src, x.pick([0n, 1n, 0xffffffffffffffffn, 64n, 32n]));
          f.place(done);
        } else f.lddw(src, e);
        if (x.chance(0.3)) f.lddw(v, x.pick([0x8000000000000000n, 0x80000000n, 0xffffffff80000000n, 0xffffffffffffffffn, 1n, 0n]));
        for (let j = 1 + x.int(4); j > 0; j--) {
          const w32 = x.chance(0.5);
          const cls = w32 ? CLS.ALU : CLS.ALU64;
          const w = w32 ? 'w' : 'r';
          const k = x.int(7);
          if (k < 3) {
            // div/mod, unsigned or signed, by the register or by -1 (INT_MIN / -1, INT_MIN % -1)
            const code = x.pick([3, 9]);
            const sgn = x.chance(0.5) ? 1 : 0;
            if (x.chance(0.7)) f.i(cls | (code << 4) | X, v, src, sgn, 0, `${w}${v} ${sgn ? 's' : ''}${code === 3 ? '/' : '%'}= ${w}${src}`);
            else f.i(cls | (code << 4), v, 0, sgn, x.pick([-1, 1, -2, 0x7fffffff, -0x80000000]), `${w}${v} ${sgn ? 's' : ''}${code === 3 ? '/' : '%'}= imm`);
          } else if (k < 5) {
            const code = x.pick([6, 7, 12]);
            f.i(cls | (code << 4) | X, v, src, 0, 0, `${w}${v} shift${code} ${w}${src}`);
          } else if (k === 5) {
            const bits = x.pick(w32 ? [8, 16] : [8, 16, 32]);
            f.i(cls | 0xb0 | X, v, x.chance(0.5) ? src : v, bits, 0, `${w}${v} = (s${bits}) ${w}${src}`);
          } else {
            const imm = x.pick([16, 32, 64]);
            const t = x.int(3);
            if (t === 2) f.i(CLS.ALU64 | 0xd0, v, 0, 0, imm, `r${v} = bswap${imm} r${v}`);
            else f.i(CLS.ALU | 0xd0 | (t ? X : 0), v, 0, 0, imm, `r${v} = ${t ? 'be' : 'le'}${imm} r${v}`);
          }
        }
        break;
      }
      case 'pktend': {
        // Loads and stores of every width at the last bytes a constant check proves, aligned or not, sign-extending.
        const n = x.pick([14, 15, 20, 33, 34, 54, 59, 60, 61, 63, 64, 65, 99, 100, 128, 200, 255, 256, 1500, 1514]);
        const skip = f.label();
        f.ldx(SZ.W, 2, 6, 0);
        f.ldx(SZ.W, 3, 6, 4);
        f.mov(4, 2);
        f.addi(4, n);
        f.jmp(0x20, 4, { r: 3 }, skip);
        for (let j = 1 + x.int(4); j > 0; j--) {
          const size = x.pick(SIZES);
          const b = NB[size]!;
          if (b > n) continue;
          const off = n - b - x.int(Math.min(4, n - b + 1));
          const k = x.int(4);
          if (k < 2) {
            f.ldx(size, 0, 2, off, size !== SZ.DW && x.chance(0.4));
            f.alu(x.pick([0x00, 0xa0]), xv(), 0, 'r op= packet bytes');
          } else if (k === 2) f.stx(size, 2, off, xv());
          else f.st(size, 2, off, randImmX());
        }
        f.place(skip);
        break;
      }
      case 'metaseq': {
        // A sequence of adjust_meta/head/tail (the result checked as real programs do), then the metadata and the
        // packet read and written after their checks.
        const skip = f.label();
        for (let j = 1 + x.int(3); j > 0; j--) {
          const which = x.pick(['meta', 'meta', 'head', 'tail']);
          f.mov(1, 6);
          f.movi(2, which === 'meta' ? x.pick([-4, -8, -12, -16, -32, -3, 4, 8, 0, -64, -256]) : which === 'head' ? x.pick([-14, -4, 4, 14, -8, 8, 0]) : x.pick([-4, -14, 4, 0, -1]));
          f.call(which === 'head' ? H.head : which === 'tail' ? H.tailAdj : H.meta, `bpf_xdp_adjust_${which}`);
          f.alu(0x00, xv(), 0, 'r += result');
          // if (result) skip the rest of the block
          if (x.chance(0.3)) f.jmp(0x50, 0, { imm: 0 }, skip);
        }
        const m = x.pick([4, 8, 12, 16, 32]);
        f.ldx(SZ.W, 2, 6, 8);
        f.ldx(SZ.W, 3, 6, 0);
        f.mov(4, 2);
        f.addi(4, m);
        f.jmp(0x20, 4, { r: 3 }, skip);
        memOps(f, 2, m & ~3 || 4, 1 + x.int(3), false);
        if (x.chance(0.5)) {
          // the packet after the metadata, with the metadata's pointer still in r2
          f.ldx(SZ.W, 3, 6, 4);
          f.ldx(SZ.W, 4, 6, 0);
          f.mov(5, 4);
          f.addi(5, 14);
          f.jmp(0x20, 5, { r: 3 }, skip);
          f.ldx(SZ.W, 0, 2, 0);
          f.stx(SZ.W, 4, 10, 0);
          f.ldx(SZ.H, 0, 4, 12);
          f.alu(0xa0, xv(), 0, 'r ^= ethertype');
        }
        f.place(skip);
        break;
      }
      case 'pktcall': {
        // A subprogram given the packet's pointers checks the bounds itself and reads (and maybe writes) there.
        const g = new Fn(`psub${subs.length}`);
        subs.push(g);
        const n = x.pick([1, 2, 4, 8, 14, 20, 60, 64, 100]);
        const out = g.label();
        g.mov(3, 1);
        g.addi(3, n);
        g.jmp(0x20, 3, { r: 2 }, out);
        const size = x.pick(SIZES.filter((z) => NB[z]! <= n));
        g.ldx(size, 0, 1, n - NB[size]!, size !== SZ.DW && x.chance(0.3));
        if (x.chance(0.4)) g.stx(SZ.B, 1, 0, 4);
        g.exit();
        g.place(out);
        g.movi(0, -1);
        g.exit();
        f.ldx(SZ.W, 1, 6, 0);
        f.ldx(SZ.W, 2, 6, 4);
        f.mov(4, xv());
        f.raw(`call ${g.name}`);
        f.alu(0x00, xv(), 0, 'r += the subprogram\'s read');
        break;
      }
    }
  };
  const randImmX = (): number => (x.chance(0.5) ? x.pick(SPECIAL_32) : i32(x.u32()));

  const nBlocks = 3 + r.int(10);
  for (let b = 0; b < nBlocks; b++) {
    const kind = r.pick(BLOCKS);
    kinds.push(kind);
    const f = main;
    const mark = main.items.length;
    switch (kind) {
      case 'alu': {
        initScratch(f, [2, 3, 4, 5], VAL);
        aluOps(f, [2, 3, 4, 5, ...VAL], 4 + r.int(14));
        break;
      }
      case 'map': {
        const m = r.pick(MAPS);
        const op = r.pick(['lookup', 'lookup', 'lookup', 'update', 'delete']);
        keyOnStack(f, m.keyMask, KEY);
        if (op === 'lookup') {
          f.raw(`r1 = ${m.name} ll`, 2);
          f.call(H.lookup, 'bpf_map_lookup_elem');
          const skip = f.label();
          f.jmp(0x10, 0, { imm: 0 }, skip);
          f.mov(1, 0);
          memOps(f, 1, m.value, 1 + r.int(5), true);
          f.place(skip);
        } else if (op === 'update') {
          const v = r.pick(VAL);
          f.stx(SZ.DW, 10, VALSLOT, v);
          if (m.value > 8) f.st(SZ.DW, 10, VALSLOT, randImm());
          if (m.value > 8) {
            // Values wider than 8 bytes come from the initialised slots fp-8.. (r3 = fp - value size).
            f.mov(3, 10);
            f.addi(3, -m.value);
          } else {
            f.mov(3, 10);
            f.addi(3, VALSLOT);
          }
          f.raw(`r1 = ${m.name} ll`, 2);
          f.movi(4, r.pick([0, 0, 1, 2, 3, 4]));
          f.call(H.update, 'bpf_map_update_elem');
          f.alu(0x00, r.pick(VAL), 0, 'r += result');
        } else {
          f.raw(`r1 = ${m.name} ll`, 2);
          f.call(H.del, 'bpf_map_delete_elem');
          f.alu(0x00, r.pick(VAL), 0, 'r += result');
        }
        break;
      }
      case 'glob': {
        const g = r.pick(['gdata', 'gbss', 'gro']);
        f.raw(`r1 = ${g} ll`, 2);
        memOps(f, 1, g === 'gbss' ? 32 : 64, 1 + r.int(4), g !== 'gro', g !== 'gro');
        break;
      }
      case 'stack': {
        const k = r.int(3);
        if (k === 0) {
          f.mov(1, 10);
          const n = slots * 8;
          // Fixed offsets below fp: base r1 = fp - n.
          f.addi(1, -n);
          memOps(f, 1, n, 1 + r.int(4), true);
        } else if (k === 1) {
          // A variable offset, aligned to the size, inside the initialised slots.
          const size = r.pick(SIZES);
          const nb = NB[size]!;
          const n = slots * 8;
          f.mov(1, r.pick(VAL));
          f.andi(1, (n >= 256 ? 256 : 64) - nb);
          f.alu(0x00, 1, 10, 'r1 += r10');
          if (r.chance(0.5)) f.stx(size, 1, -n, r.pick(VAL));
          f.ldx(size, 0, 1, -n);
          f.alu(0xa0, r.pick(VAL), 0, 'r ^= r0');
        } else {
          const size = r.pick(SIZES);
          f.ldx(size, 0, 10, slotOff(NB[size]!, slots), size !== SZ.DW && r.chance(0.4));
          f.alu(0x00, r.pick(VAL), 0, 'r += r0');
          f.stx(r.pick(SIZES), 10, slotOff(8, slots), r.pick(VAL));
        }
        break;
      }
      case 'pkt': {
        const meta = r.chance(0.2);
        const skip = f.label();
        if (meta) {
          f.ldx(SZ.W, 2, 6, 8);
          f.ldx(SZ.W, 3, 6, 0);
        } else {
          f.ldx(SZ.W, 2, 6, 0);
          f.ldx(SZ.W, 3, 6, 4);
        }
        const n = meta ? r.pick([4, 8, 16, 32]) : r.pick([8, 14, 20, 34, 60, 64, 100]);
        if (!meta && r.chance(0.3)) {
          // A variable offset from a value, checked again.
          f.mov(4, r.pick(VAL));
          f.andi(4, r.pick([7, 15, 63, 255]));
          f.alu(0x00, 2, 4, 'r2 += r4');
        }
        f.mov(4, 2);
        f.addi(4, n);
        f.jmp(0x20, 4, { r: 3 }, skip);
        memOps(f, 2, n & ~7 || n, 1 + r.int(4), false);
        f.place(skip);
        break;
      }
      case 'adjust': {
        const which = r.pick(['head', 'head', 'tail', 'tail', 'meta']);
        const delta = r.chance(0.7)
          ? r.pick([-1, 1, -2, 2, -3, 3, -7, 7, -13, 13, -14, 14, -15, 15, -33, 33, -64, 64, -100, 100, -255, 255, -256, 256, -4000, 4000])
          : 0;
        f.mov(1, 6);
        if (delta === 0 && r.chance(0.5)) {
          // A delta from a value (packet-dependent).
          f.mov(2, r.pick(VAL));
          f.i(CLS.ALU64 | 0xb0 | X, 2, 2, 8, 0, 'r2 = (s8) r2');
        } else f.movi(2, delta);
        f.call(which === 'head' ? H.head : which === 'tail' ? H.tailAdj : H.meta, `bpf_xdp_adjust_${which}`);
        f.alu(0x00, r.pick(VAL), 0, 'r += result');
        break;
      }
      case 'bytes': {
        const store = r.chance(0.5);
        const n = r.pick([1, 2, 3, 4, 7, 8, 16, 32]);
        f.mov(1, 6);
        const k = r.int(3);
        if (k === 0) f.movi(2, r.pick([0, 1, 13, 14, 59, 60, 63, 64, 100, 199, 200, 1499, 1500, -1]));
        else {
          // Around the end: length - n + d.
          f.ldx(SZ.W, 2, 6, 4);
          f.ldx(SZ.W, 3, 6, 0);
          f.alu(0x10, 2, 3, 'r2 -= r3 (length)');
          if (k === 2) {
            f.mov(3, r.pick(VAL));
            f.andi(3, 3);
            f.alu(0x00, 2, 3, 'r2 += r3');
          }
          f.addi(2, -n + r.pick([-1, 0, 0, 1, 2]));
        }
        f.mov(3, 10);
        f.addi(3, -32 - 8 * r.int(3));
        f.movi(4, n);
        f.call(store ? H.store : H.load, store ? 'bpf_xdp_store_bytes' : 'bpf_xdp_load_bytes');
        f.alu(0x00, r.pick(VAL), 0, 'r += result');
        break;
      }
      case 'redir': {
        const v = r.pick(VAL);
        if (r.chance(0.4)) {
          f.movi(1, r.pick([0, 1, 2, 3]));
          f.movi(2, r.pick([0, 0, 1, 8, 16]));
          f.call(H.redirect, 'bpf_redirect');
        } else {
          f.raw('r1 = dev ll', 2);
          f.mov(2, r.pick(VAL));
          f.andi(2, 7);
          f.movi(3, r.pick([0, 1, 2, 3, 4, 5, 8, 16]));
          f.call(H.redirMap, 'bpf_redirect_map');
        }
        f.mov(v, 0);
        redirected = true;
        break;
      }
      case 'call': {
        if (bigStack) {
          kinds[kinds.length - 1] = 'alu';
          initScratch(f, [2, 3, 4, 5], VAL);
          aluOps(f, [2, 3, 4, 5, ...VAL], 6);
          break;
        }
        // A quarter of the subprograms (chosen by a Prng of their own, so the other programs stay as they were) get the
        // context and tail-call from inside.
        const tail = tailPick.chance(0.25);
        if (tail) kinds[kinds.length - 1] = 'call-tail';
        const name = makeSub(0, tail);
        const arg1 = r.pick(VAL);
        f.mov(1, tail ? 6 : arg1);
        f.mov(2, r.pick(VAL));
        f.mov(3, 10);
        f.addi(3, -8 * (1 + r.int(8)));
        f.movi(4, randImm());
        f.mov(5, r.pick(VAL));
        f.raw(`call ${name}`);
        f.alu(r.pick([0x00, 0xa0]), r.pick(VAL), 0, 'r op= r0');
        break;
      }
      case 'loop': {
        if (r.chance(0.5)) {
          // A counter from a value, 1 to 8 rounds.
          const head = f.label();
          const v = r.pick(VAL);
          f.mov(1, v);
          f.andi(1, 7);
          f.addi(1, 1);
          initScratch(f, [2, 3], VAL);
          f.place(head);
          aluOps(f, [2, 3, ...VAL.filter((x) => x !== v)], 2 + r.int(5));
          f.addi(1, -1);
          f.jmp(0x50, 1, { imm: 0 }, head);
        } else {
          const cb = makeCallback();
          f.stx(SZ.DW, 10, VALSLOT, r.pick(VAL));
          f.mov(1, r.pick(VAL));
          f.andi(1, r.pick([3, 15]));
          f.raw(`r2 = ${cb} ll`, 2);
          f.mov(3, 10);
          f.addi(3, VALSLOT);
          f.movi(4, 0);
          f.call(H.loop, 'bpf_loop');
          f.alu(0x00, r.pick(VAL), 0, 'r += result');
          f.ldx(SZ.DW, 0, 10, VALSLOT);
          f.alu(0xa0, r.pick(VAL), 0, 'r ^= the callback\'s work');
        }
        break;
      }
      case 'tail': {
        f.mov(1, 6);
        f.raw('r2 = jt ll', 2);
        f.mov(3, r.pick(VAL));
        f.andi(3, 3);
        // bpf_tail_call returns nothing: r0 is unreadable after it (a failed call falls through).
        f.call(H.tail, 'bpf_tail_call');
        break;
      }
      case 'misc': {
        const k = r.int(3);
        if (k === 0) {
          f.mov(1, 6);
          f.call(H.buffLen, 'bpf_xdp_get_buff_len');
        } else if (k === 1) f.call(H.cpu, 'bpf_get_smp_processor_id');
        else {
          // csum_diff over initialised stack bytes (sizes multiples of 4).
          f.mov(1, 10);
          f.addi(1, -16);
          f.movi(2, r.pick([0, 4, 8, 16]));
          f.mov(3, 10);
          f.addi(3, -64);
          f.movi(4, r.pick([0, 4, 8, 12, 32]));
          f.mov(5, r.pick(VAL));
          f.call(H.csum, 'bpf_csum_diff');
        }
        f.alu(0x00, r.pick(VAL), 0, 'r += result');
        break;
      }
    }
    if (drop?.has(b)) main.items.length = mark;
    if (x.chance(0.35)) {
      const m2 = main.items.length;
      extraBlock(main, x.pick(EXTRA));
      if (drop?.has(100 + b)) main.items.length = m2;
    }
  }

  if (defect) emitADefect(defect, dr, main, subs, slots);

  // Epilogue: r7, r8, r9 and fp-8..fp-64 into res[0].
  main.movi(1, 0);
  main.stx(SZ.W, 10, KEY, 1);
  main.mov(2, 10);
  main.addi(2, KEY);
  main.raw('r1 = res ll', 2);
  main.call(H.lookup, 'bpf_map_lookup_elem');
  const done = main.label();
  main.jmp(0x10, 0, { imm: 0 }, done);
  VAL.forEach((v, j) => main.stx(SZ.DW, 0, 8 * j, v));
  for (let s = 1; s <= 8; s++) {
    main.ldx(SZ.DW, 1, 10, -8 * s);
    main.stx(SZ.DW, 0, 24 + 8 * (s - 1), 1);
  }
  main.place(done);
  const ret = r.int(4);
  if (redirected && ret === 0) main.mov(0, r.pick(VAL));
  else if (ret === 1) {
    main.mov(0, 7);
    main.andi(0, 7);
  } else {
    main.mov(0, 7);
    main.andi(0, 3);
  }
  main.exit();

  const fnText = (f: Fn) => f.lines().map((l) => `    "${l}\\n"`).join('\n');
  const source = `${A_HEADER}
${subs.map((f) => `__attribute__((naked, noinline, used)) static ${f.ret} ${f.name}(void) {\n  asm volatile(\n${fnText(f)}\n    ::: "memory");\n}`).join('\n')}
SEC("xdp") __attribute__((naked)) int fuzz(void) {
  asm volatile(
${fnText(main)}
    ::: "memory");
}
`;
  return { seed, source, kinds, defect };
}

export const A_HEADER = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct v64 { __u64 v[8]; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct v64); } arr SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } hsh SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64[2]); } pca SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } lru SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64[11]); } res SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_DEVMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } dev SEC(".maps");
struct lpmk { __u32 prefixlen; __u8 d[4]; };
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 8); __uint(map_flags, BPF_F_NO_PREALLOC); __type(key, struct lpmk); __type(value, __u64); } lpm SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 3); __type(value, __u64); } que SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_STACK); __uint(max_entries, 2); __type(value, __u64); } stk SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(max_entries, 4); __uint(key_size, 4); __uint(value_size, 4); } perf SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_DEVMAP_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } devh SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_CPUMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, struct bpf_cpumap_val); } cpum SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_XSKMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } xsk SEC(".maps");
__u64 gdata[8] = { 1, 0xffffffffffffffffULL, 0x8000000000000000ULL, 0x7fffffff, 0x80000000, 5, 6, 7 };
__u64 gbss[4];
const volatile __u64 gro[8] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0xffffffff, 0x80, 0x7f, 0, 1, 2 };
SEC("xdp")
int tail1(struct xdp_md *ctx) {
  __u32 k = 1;
  struct v64 *v = bpf_map_lookup_elem(&arr, &k);
  if (v) v->v[7] += 1000;
  return XDP_TX;
}
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4); __uint(key_size, 4); __array(values, int (void *)); } jt SEC(".maps") = { .values = { [1] = (void *)&tail1 } };
`;

/** The defect's instructions at the end of the body (before the epilogue), where r6 = ctx, r7-r9 values, fp-8.. written. */
function emitADefect(d: ADefect, r: Prng, f: Fn, subs: Fn[], slots: number): void {
  const KEY = -8 * slots - 8;
  const lookup = (map: string) => {
    f.movi(1, 0);
    f.stx(SZ.W, 10, KEY, 1);
    f.mov(2, 10);
    f.addi(2, KEY);
    f.raw(`r1 = ${map} ll`, 2);
    f.call(H.lookup, 'bpf_map_lookup_elem');
  };
  const sub = (body: (g: Fn) => void): string => {
    const g = new Fn(`dsub${subs.length}`);
    subs.push(g);
    body(g);
    return g.name;
  };
  switch (d) {
    case 'arg-after-call': {
      // r1-r5 are not readable after a call (helper or subprogram).
      const reg = 1 + r.int(5);
      if (r.chance(0.5)) {
        f.mov(1, 6);
        f.call(H.buffLen, 'bpf_xdp_get_buff_len');
      } else {
        const s = sub((g) => { g.movi(0, 1); g.exit(); });
        f.movi(1, 1);
        f.raw(`call ${s}`);
      }
      f.alu(0x00, 7, reg, `r7 += r${reg} (clobbered by the call)`);
      return;
    }
    case 'callee-reads-r6': {
      const reg = r.pick([0, 6, 7, 8, 9]);
      // r6-r9 are not the caller's in the callee's frame; r0 == 0 here: the callee exits with r0 never written.
      const s = sub((g) => {
        if (reg !== 0) g.mov(0, reg);
        g.exit();
      });
      f.movi(1, 1);
      f.raw(`call ${s}`);
      f.alu(0x00, 7, 0, 'r7 += r0');
      return;
    }
    case 'r0-after-tail-call': {
      f.mov(1, 6);
      f.raw('r2 = jt ll', 2);
      f.movi(3, r.pick([0, 2, 3]));
      f.call(H.tail, 'bpf_tail_call (to an empty slot)');
      f.alu(0x00, 7, 0, 'r7 += r0 (bpf_tail_call returns nothing)');
      return;
    }
    case 'pkt-reload-after-check':
    case 'meta-past-range': {
      const meta = d === 'meta-past-range' || r.chance(0.3);
      const skip = f.label();
      f.ldx(SZ.W, 2, 6, meta ? 8 : 0);
      f.ldx(SZ.W, 3, 6, meta ? 0 : 4);
      f.mov(4, 2);
      f.addi(4, 8);
      f.jmp(0x20, 4, { r: 3 }, skip);
      if (d === 'pkt-reload-after-check') {
        f.ldx(SZ.W, 5, 6, meta ? 8 : 0);
        f.ldx(r.pick(SIZES), 0, 5, 0);
      } else {
        f.ldx(r.chance(0.5) ? SZ.DW : SZ.W, 0, 2, 8 - 2);
      }
      f.alu(0x00, 7, 0, 'r7 += r0');
      f.place(skip);
      return;
    }
    case 'value-oob': {
      lookup('hsh');
      const skip = f.label();
      f.jmp(0x10, 0, { imm: 0 }, skip);
      const size = r.pick(SIZES);
      const off = r.pick([8, 8 - NB[size]! + 1 + r.int(NB[size]! - 1 || 1), -8, 16]);
      if (r.chance(0.5)) f.ldx(size, 1, 0, off);
      else f.stx(size, 0, off, 7);
      f.place(skip);
      return;
    }
    case 'value-no-null-check':
      // (An ARRAY lookup with a constant key 0 is proven non-NULL: the kernel loads that.)
      lookup(r.pick(['hsh', 'lru']));
      f.ldx(SZ.DW, 1, 0, 0);
      return;
    case 'value-var-unbounded': {
      lookup('arr');
      const skip = f.label();
      f.jmp(0x10, 0, { imm: 0 }, skip);
      // ingress_ifindex: a u32 the verifier cannot bound (1 in the test run, inside the value).
      f.ldx(SZ.W, 1, 6, 12);
      if (r.chance(0.5)) f.andi(1, 127);
      f.alu(0x00, 0, 1, 'r0 += r1 (past 64 bytes)');
      f.ldx(SZ.B, 1, 0, 0);
      f.place(skip);
      return;
    }
    case 'rodata-write':
      f.raw('r1 = gro ll', 2);
      if (r.chance(0.5)) f.stx(SZ.DW, 1, 8 * r.int(8), 7);
      else {
        f.movi(2, 1);
        f.i(CLS.STX | ATOMIC | SZ.DW, 1, 2, 0, 0x00, 'lock *(u64 *)(r1 + 0) += r2 (.rodata)');
      }
      return;
    case 'stale-pkt-after-helper': {
      const skip = f.label();
      f.ldx(SZ.W, 2, 6, 0);
      f.ldx(SZ.W, 3, 6, 4);
      f.mov(4, 2);
      f.addi(4, 14);
      f.jmp(0x20, 4, { r: 3 }, skip);
      f.mov(9, 2);
      f.mov(1, 6);
      f.movi(2, r.pick([0, 2, -2]));
      f.call(r.pick([H.head, H.tailAdj, H.meta]), 'a helper that changes packet data');
      f.ldx(SZ.B, 1, 9, 0);
      f.place(skip);
      return;
    }
    case 'ldimm64-jump-middle': {
      // The jump lands on the second slot of the lddw after it.
      f.i(CLS.JMP | 0x10, 7, 0, 1, r.int(5), 'if r7 == k goto +1 (into the lddw)');
      f.lddw(1, 0x1234567890n);
      return;
    }
    case 'return-pointer': {
      const k = r.int(3);
      if (k === 0) f.mov(0, 10);
      else if (k === 1) f.mov(0, 6);
      else f.raw('r0 = gdata ll', 2);
      f.exit();
      return;
    }
    case 'big-stack-plus-call': {
      const s = sub((g) => { g.st(SZ.DW, 10, -8 * (1 + r.int(4)), 1); g.movi(0, 0); g.exit(); });
      f.movi(1, 0);
      f.raw(`call ${s}`);
      return;
    }
    case 'tail-call-not-ctx':
    case 'tail-call-scalar-ctx': {
      f.mov(1, d === 'tail-call-not-ctx' ? 10 : 7);
      f.raw('r2 = jt ll', 2);
      f.movi(3, 1);
      f.call(H.tail, 'bpf_tail_call (r1 not ctx)');
      return;
    }
    case 'tail-call-void-sub': {
      // A subprogram whose BTF says it returns void tail-calls ("tail_call is only allowed in functions that return
      // 'int'.", check_btf_func): r1 = ctx passed down, slot 3 (empty).
      const s = sub((g) => { g.raw('r2 = jt ll', 2); g.movi(3, 3); g.call(H.tail, 'bpf_tail_call in a void subprogram'); g.movi(0, 0); g.exit(); });
      f.mov(1, 6);
      f.raw(`call ${s}`);
      return;
    }
    case 'stack-arg-past-frame': {
      const s = sub((g) => { g.ldx(SZ.DW, 0, 1, r.pick([8, 16, 64])); g.exit(); });
      f.mov(1, 10);
      f.addi(1, -8);
      f.raw(`call ${s}`);
      f.alu(0x00, 7, 0, 'r7 += r0');
      return;
    }
    case 'map-ptr-arith':
      f.raw(`r1 = ${r.pick(['arr', 'hsh'])} ll`, 2);
      f.addi(1, 8);
      f.ldx(SZ.DW, 2, 1, 0);
      return;
    case 'value-arg-too-small': {
      // arr's values are 64 bytes: an update reads 64 bytes from r3, which here reach above the frame.
      f.movi(1, 0);
      f.stx(SZ.W, 10, KEY, 1);
      f.mov(2, 10);
      f.addi(2, KEY);
      f.mov(3, 10);
      f.addi(3, -8 * (1 + r.int(7)));
      f.raw('r1 = arr ll', 2);
      f.movi(4, 0);
      f.call(H.update, 'bpf_map_update_elem (64-byte value from the top of the frame)');
      return;
    }
    case 'key-past-frame': {
      f.mov(2, 10);
      f.addi(2, -r.pick([1, 2, 3]));
      f.raw(`r1 = ${r.pick(['hsh', 'arr', 'lru'])} ll`, 2);
      f.call(H.lookup, 'bpf_map_lookup_elem (a 4-byte key crossing the top of the frame)');
      return;
    }
    case 'callback-bad-ret': {
      const s = sub((g) => { g.movi(0, r.pick([2, -1, 7])); g.exit(); });
      f.movi(1, 2);
      f.raw(`r2 = ${s} ll`, 2);
      f.movi(3, 0);
      f.movi(4, 0);
      f.call(H.loop, 'bpf_loop');
      return;
    }
    case 'value-atomic-misaligned': {
      lookup('arr');
      const skip = f.label();
      f.jmp(0x10, 0, { imm: 0 }, skip);
      f.movi(1, 1);
      f.i(CLS.STX | ATOMIC | SZ.DW, 0, 1, r.pick([1, 2, 4]), 0x00, 'lock *(u64 *)(r0 + odd) += r1 (misaligned)');
      f.place(skip);
      return;
    }
    case 'back-edge-into-call': {
      // An endless loop through a subprogram call: the callee returns, the caller jumps back to the call.
      const s = sub((g) => { g.movi(0, 0); g.exit(); });
      const head = f.label();
      f.place(head);
      f.movi(1, 0);
      f.raw(`call ${s}`);
      f.goto(head);
      return;
    }
  }
}

/** Packets for an agen seed: 14 to 1,600 bytes, random bytes with an Ethernet/IPv4-looking start on half of them. */
export function aPackets(seed: number, count = 6): Uint8Array[] {
  const r = new Prng(seed ^ 0x0a9e7);
  return Array.from({ length: count }, (_, i) => {
    const len = r.pick([14, 15, 20, 33, 60, 64, 65, 100, 128, 200, 255, 256, 512, 1000, 1500, 1514, 1600]);
    const p = new Uint8Array(len);
    for (let j = 0; j < len; j++) p[j] = r.chance(0.2) ? r.pick([0, 0xff, 0x80, 0x7f, 1]) : r.int(256);
    if (i % 2 === 0 && len >= 16) p.set([0x08, 0x00], 12);
    return p;
  });
}
