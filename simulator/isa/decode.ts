// Bytes <-> instructions. A program is an array of 8-byte little-endian slots [RFC §3.1]; `lddw` takes two slots and
// the second slot is kept as a filler instruction (opcode 0) so that jump offsets, line info and fault indices all
// count slots exactly as the kernel does. The upper half of the immediate is copied onto the first slot as `nextImm`.
//
// decodeProgram is total: a byte count that is not a multiple of 8 or an lddw cut off at the end is reported as a
// diagnostic, never thrown; validate.ts then judges the instructions themselves.
import type { Insn } from './insn.ts';
import { CLS_LD, MODE_IMM, SIZE_DW } from './opcodes.ts';

export const LDDW = CLS_LD | MODE_IMM | SIZE_DW;

export interface DecodeDiagnostic {
  /** Slot index (or the slot a trailing fragment would have been). */
  insn: number;
  message: string;
}

export interface DecodeResult {
  insns: Insn[];
  diagnostics: DecodeDiagnostic[];
}

/** Decode one slot at byte offset `at`. */
export function decodeSlot(view: DataView, at: number): Insn {
  const regs = view.getUint8(at + 1);
  return {
    opcode: view.getUint8(at),
    dst: regs & 0x0f,
    src: regs >> 4,
    off: view.getInt16(at + 2, true),
    imm: view.getInt32(at + 4, true),
  };
}

/** Decode a program. `bytes` may be a view into a larger buffer (an ELF section). */
export function decodeProgram(bytes: Uint8Array): DecodeResult {
  const diagnostics: DecodeDiagnostic[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.floor(bytes.byteLength / 8);
  if (bytes.byteLength % 8 !== 0) {
    diagnostics.push({ insn: n, message: `program is ${bytes.byteLength} bytes, not a multiple of 8: trailing ${bytes.byteLength % 8} bytes ignored` });
  }
  const insns: Insn[] = [];
  for (let i = 0; i < n; i++) insns.push(decodeSlot(view, i * 8));
  for (let i = 0; i < n; i++) {
    if (insns[i].opcode !== LDDW) continue;
    if (i + 1 < n) {
      insns[i].nextImm = insns[i + 1].imm;
      i++; // the second slot is a filler; it is checked by validate.ts (opcode/regs/off must be 0)
    } else {
      diagnostics.push({ insn: i, message: `insn ${i}: lddw needs two slots but the program ends after the first` });
    }
  }
  return { insns, diagnostics };
}

/** Encode instructions back to bytes (inverse of decodeProgram for well-formed programs). */
export function encodeProgram(insns: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const view = new DataView(out.buffer);
  insns.forEach((insn, i) => {
    const at = i * 8;
    view.setUint8(at, insn.opcode & 0xff);
    view.setUint8(at + 1, ((insn.src & 0x0f) << 4) | (insn.dst & 0x0f));
    view.setInt16(at + 2, insn.off, true);
    view.setInt32(at + 4, insn.imm | 0, true);
  });
  return out;
}

/** Build the filler slot that follows an lddw. */
export function lddwFiller(nextImm: number): Insn {
  return { opcode: 0, dst: 0, src: 0, off: 0, imm: nextImm | 0 };
}
