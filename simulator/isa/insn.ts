// A decoded instruction. The program is kept slot-indexed, exactly as the kernel sees it: an `lddw` occupies two
// slots, and the second slot is kept as a filler instruction so that jump offsets and line info index the same way.

/** Where an instruction came from in the user's source (BTF line info), 1-based line and column. */
export interface SourceLoc {
  file: string;
  line: number;
  column: number;
  /** The text of the source line, as clang recorded it in BTF. */
  text?: string;
}

export interface Insn {
  /** The opcode byte. */
  opcode: number;
  dst: number;
  src: number;
  /** Signed 16-bit offset. */
  off: number;
  /** Signed 32-bit immediate. */
  imm: number;
  /** For the first slot of lddw: the upper 32 bits (signed 32-bit, as stored in the second slot's imm). */
  nextImm?: number;
}
