// The C variables of a stopped frame, from the object's DWARF (elf/dwarf.ts) and the registers and memory of a
// Snapshot: each local's location at the frame's instruction (register, stack slot, constant, optimized out), its C
// type, its value formatted as C shows it, and what it expands to (struct members, the pointee of a pointer, array
// elements). Also the names and `->`/`.` members the expression evaluator needs for watch and hover.
import { readFileSync } from 'node:fs';
import type { LoadedProgram } from '../elf/types.ts';
import { parseElf } from '../elf/elf64.ts';
import { evalLocation, parseDwarf, variablesAt, type DwarfFunction, type DwarfInfo, type DwarfType } from '../elf/dwarf.ts';
import { MAX_FRAMES, REGION_STACK0, STACK_SIZE, addrOf } from '../vm/memory.ts';
import { describeValue, readSnapshot, type FrameView, type Snapshot } from './engine.ts';
import { formatScalar } from './expr.ts';
import { opcodeInfo } from '../isa/opcodes.ts';

/** One C value: where it is (memory address, or a value held in a register / computed), its type. */
export interface CValue {
  name: string;
  type: DwarfType;
  addr?: bigint;
  value?: bigint;
  /** Why there is no value: 'optimized out', or what could not be read. */
  unavailable?: string;
  param?: boolean;
  /** Held in this register of this frame (0: innermost), as DWARF says. */
  reg?: number;
  frame?: number;
  /** A value DWARF computes from others (DW_OP_stack_value), stored nowhere. */
  computed?: boolean;
  /** A bit-field member: its width in bits. */
  bitSize?: number;
}

export class DebugInfo {
  private constructor(private readonly dwarf: DwarfInfo) {}

  /** Read the DWARF of an object file; a problem (no -g, unreadable) comes back as a string. */
  static load(objectPath: string): DebugInfo | string {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(objectPath));
    } catch (e) {
      return `${objectPath}: ${(e as Error).message}`;
    }
    const { elf } = parseElf(bytes);
    if (!elf) return `${objectPath}: not an ELF file`;
    const { info, problem } = parseDwarf(new Map(elf.sections.map((s) => [s.name, s.data])));
    return info ? new DebugInfo(info) : `${objectPath}: ${problem}`;
  }

  fn(name: string): DwarfFunction | undefined {
    return this.dwarf.functions.get(name);
  }

  /** The locals (parameters first) of a frame of a snapshot. `frameIndex` 0 is the innermost. */
  locals(s: Snapshot, frameIndex: number, program: LoadedProgram): CValue[] {
    const frame = s.frames[frameIndex];
    const fn = this.fn(frame.name);
    if (!fn) return [];
    const start = program.funcs.find((f) => f.name === frame.name)?.insn ?? 0;
    const off = (frame.pc - start) * 8;
    const regs = frameRegisters(s, frameIndex);
    const size = frameSize(program, start, start + Math.max(1, (fn.highPc - fn.lowPc) / 8));
    // In a caller, r0-r5 are what the callee made of them (caller-saved: the call overwrote them); DWARF still names
    // them where the variable lived up to the call instruction.
    const clobbered = (r: number) => `not available: in r${r}, which the call to ${s.frames[frameIndex - 1]?.name ?? 'the callee'} overwrote (r0-r5 are caller-saved)`;
    const out = variablesAt(fn, off).map(({ v, expr }): CValue => {
      const loc = evalLocation(expr, (n) => regs[n], size, (x) => describeValue(s, x) !== 'scalar');
      const base = { name: v.name, type: v.type, param: v.param };
      switch (loc.kind) {
        case 'value': return { ...base, value: loc.value, computed: true };
        case 'register': {
          const r = regs[loc.reg];
          return r === undefined ? { ...base, unavailable: clobbered(loc.reg) } : { ...base, value: truncate(r, v.type), reg: loc.reg, frame: frameIndex };
        }
        case 'memory': return { ...base, addr: loc.addr };
        case 'optimized-out': return { ...base, unavailable: 'optimized out' };
        case 'unsupported': {
          const m = frameIndex > 0 ? /^r([0-5]) is not known in this frame$/.exec(loc.why) : null;
          return { ...base, unavailable: m ? clobbered(Number(m[1])) : loc.why };
        }
      }
    });
    // Parameters first, then the others; a name declared twice (inlined calls) keeps the first in scope. bpf_printk's
    // format strings (`____fmt`, static data of the macro) are not the program's variables.
    const seen = new Set<string>(['____fmt']);
    return [...out.filter((x) => x.param), ...out.filter((x) => !x.param)].filter((x) => !seen.has(x.name) && !!seen.add(x.name));
  }
}

/**
 * The stack a function uses, in bytes rounded up to 8 (clang's frame size): the lowest r10 offset its instructions
 * load, store or take the address of (`rX = r10; rX += off`).
 */
export function frameSize(p: LoadedProgram, from: number, to: number): number {
  let min = 0;
  for (let pc = from; pc < Math.min(to, p.insns.length); pc++) {
    const i = p.insns[pc];
    const info = opcodeInfo(i.opcode);
    if (!info) continue;
    if (info.kind === 'ldx' || info.kind === 'ldxsx') {
      if (i.src === 10) min = Math.min(min, i.off);
    } else if (info.kind === 'st' || info.kind === 'stx' || info.kind === 'atomic') {
      if (i.dst === 10) min = Math.min(min, i.off);
    } else if (info.kind === 'alu' && i.opcode === 0xbf && i.src === 10) {
      const next = p.insns[pc + 1];
      if (next && next.opcode === 0x07 && next.dst === i.dst) min = Math.min(min, next.imm);
    }
  }
  return Math.ceil(-min / 8) * 8;
}

/**
 * The registers a frame's code sees: all of them for the innermost frame; for a caller, r6-r9 as the callee must give
 * them back (saved at the call) and its r10; r0-r5 are the callee's now.
 */
export function frameRegisters(s: Snapshot, frameIndex: number): (bigint | undefined)[] {
  if (frameIndex === 0) return s.regs;
  const f: FrameView = s.frames[frameIndex];
  const regs: (bigint | undefined)[] = new Array(11).fill(undefined);
  f.saved?.forEach((v, i) => (regs[6 + i] = v));
  if (f.depth >= 1 && f.depth <= MAX_FRAMES) regs[10] = addrOf(REGION_STACK0 + f.depth - 1, STACK_SIZE);
  return regs;
}

/** How a new value for a C variable is written: into a register of a frame, or as bytes at an address. */
export type Assignment = { kind: 'register'; frame: number; reg: number; value: bigint } | { kind: 'memory'; addr: bigint; bytes: Uint8Array };

/**
 * Where and how to write `value` into a C variable (setVariable): a scalar (integer, enum, pointer) in a register or
 * in memory. Refused with the reason: optimized out, not available, computed from other values, a struct or array
 * (a member or element can be set), a bit-field, a floating-point value.
 */
export function assignment(c: CValue, value: bigint): Assignment | string {
  const t = c.type;
  if (c.unavailable) return `${c.name} cannot be changed here: ${c.unavailable}`;
  if (t.kind === 'struct' || t.kind === 'union' || t.kind === 'array') return `${c.name} is a ${t.kind}: change one of its ${t.kind === 'array' ? 'elements' : 'members'}`;
  if (c.bitSize) return `${c.name} is a bit-field (${c.bitSize} bits): change the bytes that hold it (Packet > hex, the stack)`;
  if (t.kind === 'base' && (t.encoding === 4 || t.encoding === 3)) return `${c.name} is floating point, which BPF has no registers for`;
  if (t.kind !== 'base' && t.kind !== 'enum' && t.kind !== 'pointer') return `${c.name} (${t.name}) is not a scalar`;
  const size = t.kind === 'pointer' ? 8 : t.size;
  if (![1, 2, 4, 8].includes(size)) return `${c.name} is ${size} bytes wide, not 1, 2, 4 or 8`;
  const bits = BigInt(size * 8);
  const v = t.kind === 'base' && signed(t) ? BigInt.asIntN(Number(bits), value) : BigInt.asUintN(Number(bits), value);
  if (c.computed) return `${c.name} is not stored anywhere here: DWARF computes it from other values (change those)`;
  if (c.reg !== undefined) return { kind: 'register', frame: c.frame ?? 0, reg: c.reg, value: BigInt.asUintN(64, v) };
  if (c.addr !== undefined) {
    const bytes = new Uint8Array(size);
    let x = BigInt.asUintN(Number(bits), v);
    for (let i = 0; i < size; i++, x >>= 8n) bytes[i] = Number(x & 0xffn);
    return { kind: 'memory', addr: c.addr, bytes };
  }
  return `${c.name} has no location to write to here`;
}

function truncate(v: bigint, t: DwarfType): bigint {
  return t.size > 0 && t.size < 8 && (t.kind === 'base' || t.kind === 'enum') ? BigInt.asUintN(t.size * 8, v) : v;
}

const signed = (t: DwarfType) => t.encoding === 5 || t.encoding === 13 || t.encoding === 6;

/** The scalar value of a C value (reading memory for one in memory); undefined when it cannot be read. */
export function scalarOf(s: Snapshot, c: CValue): bigint | undefined {
  if (c.value !== undefined) return c.value;
  if (c.addr === undefined) return undefined;
  const size = c.type.kind === 'pointer' ? 8 : c.type.size;
  if (![1, 2, 4, 8].includes(size)) return undefined;
  return readSnapshot(s, c.addr, size);
}

/** The value as the Variables view shows it. */
export function formatCValue(s: Snapshot, c: CValue): string {
  if (c.unavailable) return `<${c.unavailable}>`;
  const t = c.type;
  if (t.kind === 'struct' || t.kind === 'union') return c.addr !== undefined ? `{...} at ${describeValue(s, c.addr)}` : '{...}';
  if (t.kind === 'array') return c.addr !== undefined ? `[${t.count ?? '?'}] at ${describeValue(s, c.addr)}` : `[${t.count ?? '?'}]`;
  const v = scalarOf(s, c);
  if (v === undefined) return c.addr !== undefined ? `<cannot read ${describeValue(s, c.addr)}>` : '<no value>';
  if (t.kind === 'pointer') {
    const what = describeValue(s, v);
    return v === 0n ? 'NULL' : what === 'scalar' ? `0x${v.toString(16)}` : `${what} (0x${v.toString(16)})`;
  }
  if (t.kind === 'enum') {
    const e = t.enumerators?.find((x) => BigInt.asUintN(t.size * 8, x.value) === v);
    return e ? `${e.name} (${v})` : String(v);
  }
  if (t.kind === 'base' && t.size > 0 && t.size < 8) {
    const bits = t.size * 8;
    const n = signed(t) ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
    return n < 10n && n >= 0n ? String(n) : `${n} (0x${BigInt.asUintN(bits, v).toString(16).padStart(t.size * 2, '0')})`;
  }
  return formatScalar(v);
}

/** What a C value expands to in the Variables view: members, the pointee, elements (the first 64). */
export function childrenOf(s: Snapshot, c: CValue): CValue[] {
  const t = c.type;
  if ((t.kind === 'struct' || t.kind === 'union') && c.addr !== undefined) {
    return (t.members ?? []).map((m) => ({ name: m.name || '(anonymous)', type: m.type, addr: c.addr! + BigInt(m.offset), ...(m.bitSize ? { bitSize: m.bitSize } : {}) }));
  }
  if (t.kind === 'array' && c.addr !== undefined && t.target) {
    const n = Math.min(t.count ?? 0, 64);
    return Array.from({ length: n }, (_, i) => ({ name: `[${i}]`, type: t.target!, addr: c.addr! + BigInt(i * t.target!.size) }));
  }
  if (t.kind === 'pointer' && t.target && t.target.kind !== 'void' && t.target.kind !== 'func') {
    const p = scalarOf(s, c);
    if (p === undefined || p === 0n) return [];
    const pointee: CValue = { name: `*${c.name}`, type: t.target, addr: p };
    return t.target.kind === 'struct' || t.target.kind === 'union' ? childrenOf(s, pointee) : [pointee];
  }
  return [];
}

export function expandable(s: Snapshot, c: CValue): boolean {
  if (c.unavailable) return false;
  const t = c.type;
  if (t.kind === 'struct' || t.kind === 'union' || t.kind === 'array') return c.addr !== undefined;
  if (t.kind === 'pointer' && t.target && t.target.kind !== 'void' && t.target.kind !== 'func') {
    const p = scalarOf(s, c);
    return p !== undefined && p !== 0n;
  }
  return false;
}

/** `base->field` / `base.field` over locals, for the expression evaluator. */
export function memberOf(s: Snapshot, locals: CValue[], base: string, field: string): bigint | undefined {
  const c = locals.find((x) => x.name === base);
  if (!c) return undefined;
  const m = findMember(s, childrenOf(s, c), field, 0);
  return m ? scalarOf(s, m) : undefined;
}

/** A member by name, looking inside anonymous structs and unions (`saddr` in iphdr's `addrs` union). */
function findMember(s: Snapshot, members: CValue[], field: string, depth: number): CValue | undefined {
  const direct = members.find((x) => x.name === field);
  if (direct || depth > 4) return direct;
  for (const m of members) {
    if (m.name !== '(anonymous)') continue;
    const inner = findMember(s, childrenOf(s, m), field, depth + 1);
    if (inner) return inner;
  }
  return undefined;
}
