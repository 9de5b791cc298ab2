// Random bytecode programs whose call chains and stack frames sit around the verifier's limits (dfuzz), for what
// agen.ts and gen.ts leave out: their frames are reached by r10-relative accesses and one or two calls deep, and the
// refusal fuzz (gen.ts DEFECTS) makes a chain too long or too big on purpose. Here a chain of 1 to 8 subprograms
// (sometimes a ninth frame) gets frames of sizes chosen so that the chain's total lands near 512 bytes, each frame
// reached in one of the ways the verifier counts:
//   direct:  a store at r10 - D (8 bytes when aligned, else 1 byte) read back;
//   copy:    a copy of r10 moved by a constant, the store at a further offset from it;
//   helper:  bpf_probe_read_kernel into r10 - D of 1..16 bytes (a NULL source: the helper zeroes them);
//   var:     a store at r10 - D plus a masked scalar (a variable offset: the verifier counts the lowest byte);
//   spill:   the pointer spilled to the stack, filled back and stored through;
//   caller:  a callee given a pointer into its caller's frame (r3) stores below or at it, growing the caller's frame;
// plus, now and then, a bpf_loop callback of its own frame (its frames count as a call) storing at and below its
// context pointer, and a bpf_tail_call from a subprogram (refused when the frames above it hold 256 bytes or more).
// Each function computes on its arguments
// (64/32-bit ALU, sdiv/smod, movsx, bswap) and returns r0; the entry stores its results into .bss. Verdicts (the
// kernel's "combined stack size", "frames is too deep", "tail_calls are not allowed") and values are both compared
// (afuzz.test.ts `dfuzz`).
import { Prng } from './gen.ts';
import { A_HEADER, CLS, Fn, H, SZ, type AProgram } from './agen.ts';

const PROBE_READ_KERNEL = 113;

export function generateDProgram(seed: number): AProgram {
  const r = new Prng(seed);
  const kinds = new Set<string>();
  // Frames: the entry and a chain of subprograms s1..sN (entry -> s1 -> s2 ...), 9 frames now and then.
  const nSubs = r.chance(0.06) ? 8 : 1 + r.int(7);
  const frames = nSubs + 1;
  const target = r.pick([300, 400, 460, 480, 496, 512, 520, 560]);
  const size = (): number => Math.max(0, Math.min(512, Math.round(target / frames) + r.int(49) - 24));
  const depth = Array.from({ length: frames }, () => (r.chance(0.12) ? 0 : size()));
  // Whether s_i gets a pointer into its caller's frame in r3 (else a scalar).
  const ptrArg = Array.from({ length: frames }, (_, i) => i > 0 && r.chance(0.4));
  const tailAt = r.chance(0.25) ? 1 + r.int(nSubs) : -1;
  const cbAt = r.chance(0.25) ? r.int(frames) : -1;
  const fns = Array.from({ length: frames }, (_, i) => new Fn(i === 0 ? 'fuzz' : `s${i}`));
  const callbacks: Fn[] = [];

  const aluOps = (f: Fn, n: number): void => {
    for (let k = 0; k < n; k++) {
      const dst = r.pick([7, 8]);
      const src = dst === 7 ? 8 : 7;
      const w = r.chance(0.35);
      const cls = w ? CLS.ALU : CLS.ALU64;
      const reg = w ? 'w' : 'r';
      const op = r.pick(['add', 'sub', 'xor', 'mul', 'or', 'sdiv', 'smod', 'div', 'mod', 'movsx', 'bswap', 'lsh', 'arsh', 'addi', 'neg']);
      switch (op) {
        case 'add': f.i(cls | 0x00 | 0x08, dst, src, 0, 0, `${reg}${dst} += ${reg}${src}`); break;
        case 'sub': f.i(cls | 0x10 | 0x08, dst, src, 0, 0, `${reg}${dst} -= ${reg}${src}`); break;
        case 'xor': f.i(cls | 0xa0 | 0x08, dst, src, 0, 0, `${reg}${dst} ^= ${reg}${src}`); break;
        case 'mul': f.i(cls | 0x20 | 0x08, dst, src, 0, 0, `${reg}${dst} *= ${reg}${src}`); break;
        case 'or': f.i(cls | 0x40 | 0x08, dst, src, 0, 0, `${reg}${dst} |= ${reg}${src}`); break;
        case 'sdiv': f.i(cls | 0x30 | 0x08, dst, src, 1, 0, `${reg}${dst} s/= ${reg}${src}`); break;
        case 'smod': f.i(cls | 0x90 | 0x08, dst, src, 1, 0, `${reg}${dst} s%= ${reg}${src}`); break;
        case 'div': f.i(cls | 0x30, dst, 0, r.chance(0.5) ? 1 : 0, r.pick([-1, 3, 7, -0x80000000, 0x7fffffff]), `${reg}${dst} /= imm`); break;
        case 'mod': f.i(cls | 0x90, dst, 0, r.chance(0.5) ? 1 : 0, r.pick([-1, 3, 7, -0x80000000, 0x7fffffff]), `${reg}${dst} %= imm`); break;
        case 'movsx': f.i(cls | 0xb0 | 0x08, dst, src, r.pick(w ? [8, 16] : [8, 16, 32]), 0, `${reg}${dst} = (s) ${reg}${src}`); break;
        case 'bswap': f.i(CLS.ALU64 | 0xd0, dst, 0, 0, r.pick([16, 32, 64]), `r${dst} = bswap r${dst}`); break;
        case 'lsh': f.i(cls | 0x60, dst, 0, 0, r.int(w ? 32 : 64), `${reg}${dst} <<= imm`); break;
        case 'arsh': f.i(cls | 0xc0, dst, 0, 0, r.int(w ? 32 : 64), `${reg}${dst} s>>= imm`); break;
        case 'addi': f.i(cls, dst, 0, 0, r.pick([1, -1, 0x7fffffff, -0x80000000, 12345]), `${reg}${dst} += imm`); break;
        case 'neg': f.i(cls | 0x80, dst, 0, 0, 0, `${reg}${dst} = -${reg}${dst}`); break;
      }
    }
  };

  // Stores reaching r10 - d in one of the ways the verifier counts; fixed-offset ones are read back into r8.
  const touch = (f: Fn, d: number): void => {
    if (d <= 0) return;
    const dw = d % 8 === 0;
    const sz = dw ? SZ.DW : SZ.B;
    const shape = r.pick(['direct', 'copy', 'helper', 'var', 'spill', 'direct', 'copy']);
    kinds.add(shape);
    switch (shape) {
      case 'direct':
        f.stx(sz, 10, -d, 7);
        f.ldx(sz, 0, 10, -d);
        f.alu(0xa0, 8, 0, 'r8 ^= r0');
        return;
      case 'copy': {
        const k = Math.min(d, r.pick([0, 8, 16, 24]));
        f.mov(2, 10);
        f.addi(2, -(d - k));
        f.stx(sz, 2, -k, 7);
        f.ldx(sz, 0, 10, -d);
        f.alu(0x00, 8, 0, 'r8 += r0');
        return;
      }
      case 'helper': {
        const len = 1 + r.int(Math.min(d, 16));
        f.mov(1, 10);
        f.addi(1, -d);
        f.movi(2, len);
        f.movi(3, 0);
        f.call(PROBE_READ_KERNEL, 'bpf_probe_read_kernel (NULL source: zeroes)');
        f.alu(0x00, 8, 0, 'r8 += r0');
        f.ldx(SZ.B, 0, 10, -d);
        f.alu(0xa0, 8, 0, 'r8 ^= r0');
        return;
      }
      case 'var': {
        // r2 = r10 - d + (r7 & m): the lowest byte reached is r10 - d.
        const m = dw ? r.pick([8, 24]) : 7;
        if (d < m + NB(sz)) {
          f.stx(sz, 10, -d, 7);
          return;
        }
        f.mov(3, 7);
        f.andi(3, m);
        f.mov(2, 10);
        f.addi(2, -d);
        f.alu(0x00, 2, 3, 'r2 += r3 (a variable offset)');
        f.stx(sz, 2, 0, 8);
        return;
      }
      case 'spill': {
        if (d < 16) {
          f.stx(sz, 10, -d, 7);
          return;
        }
        f.mov(2, 10);
        f.addi(2, -d);
        f.stx(SZ.DW, 10, -8, 2);
        f.ldx(SZ.DW, 3, 10, -8);
        f.stx(sz, 3, 0, 7);
        f.ldx(sz, 0, 10, -d);
        f.alu(0x00, 8, 0, 'r8 += r0');
        return;
      }
    }
  };

  const makeCallback = (): string => {
    const cb = new Fn(`cb${callbacks.length}`);
    cb.ret = 'int';
    callbacks.push(cb);
    kinds.add('callback');
    // r1 = index, r2 = a pointer to 8 initialised bytes of the caller's stack.
    cb.mov(7, 1);
    cb.mov(9, 2);
    cb.ldx(SZ.DW, 8, 9, 0);
    touch(cb, r.pick([0, 8, 16, 32, 64, 100, 128, 256]));
    cb.alu(0x00, 8, 7, 'r8 += index');
    cb.stx(SZ.DW, 9, 0, 8);
    // Now and then 8 bytes below the context too: the caller's frame grows.
    if (r.chance(0.4)) cb.stx(SZ.DW, 9, -8, 7);
    cb.movi(0, 0);
    cb.exit();
    return cb.name;
  };

  for (let i = 0; i < frames; i++) {
    const f = fns[i]!;
    if (i === 0) {
      f.mov(6, 1);
      f.ldx(SZ.W, 7, 6, 12); // ingress_ifindex
      f.ldx(SZ.W, 8, 6, 4);
      f.ldx(SZ.W, 2, 6, 0);
      f.alu(0x10, 8, 2, 'r8 -= r2 (the packet length)');
      f.lddw(9, BigInt.asUintN(64, BigInt(r.int(0x7fffffff)) * 0x10001n));
    } else {
      // r1 = ctx, r2 and r4/r5 scalars, r3 = a pointer into the caller's frame or a scalar.
      f.mov(6, 1);
      f.mov(7, 2);
      f.mov(8, 4);
      f.alu(0xa0, 8, 5, 'r8 ^= r5');
      f.mov(9, 3);
      if (i === tailAt) {
        f.ret = 'int';
        kinds.add('tail');
        f.mov(1, 6);
        f.raw('r2 = jt ll', 2);
        f.movi(3, r.pick([1, 1, 2]));
        f.call(H.tail, 'bpf_tail_call (from a subprogram)');
      }
    }
    aluOps(f, 1 + r.int(3));
    touch(f, depth[i]!);
    if (r.chance(0.3)) touch(f, r.int(depth[i]! + 1));
    if (ptrArg[i]) {
      kinds.add('caller');
      // Through the caller's pointer: at it, and now and then 8 bytes below it (the caller's frame grows).
      f.stx(SZ.DW, 9, 0, 7);
      if (r.chance(0.4)) f.stx(SZ.DW, 9, -8, 8);
      f.ldx(SZ.DW, 0, 9, 0);
      f.alu(0x00, 8, 0, 'r8 += *caller');
      f.movi(9, 0);
    }
    if (i === cbAt) {
      const cb = makeCallback();
      // The callback's context: 8 bytes at the frame's deepest slot or at its top.
      const p = r.chance(0.5) ? 8 : Math.min(504, Math.max(8, Math.ceil(depth[i]! / 8) * 8));
      f.stx(SZ.DW, 10, -p, 7);
      f.movi(1, 1 + r.int(3));
      f.raw(`r2 = ${cb} ll`, 2);
      f.mov(3, 10);
      f.addi(3, -p);
      f.movi(4, 0);
      f.call(H.loop, 'bpf_loop');
      f.alu(0x00, 7, 0, 'r7 += result');
      f.ldx(SZ.DW, 0, 10, -p);
      f.alu(0xa0, 8, 0, 'r8 ^= the callback\'s work');
    }
    if (i + 1 < frames) {
      const calls = r.chance(0.2) ? 2 : 1;
      for (let c = 0; c < calls; c++) {
        f.mov(1, 6);
        f.mov(2, 7);
        if (ptrArg[i + 1]) {
          // A pointer at the frame's deepest slot, or one or two slots below it (the callee's store grows the frame).
          const base = Math.max(8, Math.ceil(depth[i]! / 8) * 8);
          const p = Math.min(504, r.pick([base, base, base + 8, base + 16, 8]));
          f.st(SZ.DW, 10, -p, 0);
          f.mov(3, 10);
          f.addi(3, -p);
        } else f.mov(3, 9);
        f.mov(4, 8);
        f.movi(5, r.pick([0, -1, 7, 0x7fffffff]));
        f.raw(`call s${i + 1}`);
        f.alu(0x00, 7, 0, 'r7 += r0');
        aluOps(f, r.int(2));
      }
    }
    if (i === 0) {
      f.raw('r1 = gres ll', 2);
      f.stx(SZ.DW, 1, 0, 7);
      f.stx(SZ.DW, 1, 8, 8);
      f.stx(SZ.DW, 1, 16, 9);
      f.mov(0, 7);
      f.andi(0, 3);
    } else {
      f.mov(0, 7);
      f.alu(0xa0, 0, 8, 'r0 ^= r8');
    }
    f.exit();
  }
  kinds.add(`frames${frames}`);
  const fnText = (f: Fn) => f.lines().map((l) => `    "${l}\\n"`).join('\n');
  const sub = (f: Fn) => `__attribute__((naked, noinline, used)) static ${f.ret} ${f.name}(void) {\n  asm volatile(\n${fnText(f)}\n    ::: "memory");\n}`;
  const source = `${A_HEADER}__u64 gres[4];
// frames ${depth.join(' ')}; pointer args ${ptrArg.map((p) => (p ? 1 : 0)).join('')}; tail call in s${tailAt}; callback in frame ${cbAt}
${[...callbacks, ...fns.slice(1)].map(sub).join('\n')}
SEC("xdp") __attribute__((naked)) int fuzz(void) {
  asm volatile(
${fnText(fns[0]!)}
    ::: "memory");
}
`;
  return { seed, source, kinds: [...kinds].sort() };
}

function NB(size: number): number {
  return size === SZ.DW ? 8 : size === SZ.W ? 4 : size === SZ.H ? 2 : 1;
}
