// The "Show Bytecode" text: each XDP program's instructions with the source line they came from interleaved,
// as `; file:line  text` comment lines (the xdp-bytecode grammar highlights both).
import { basename } from 'node:path';
import { disassembleInsn } from '../isa/disasm.ts';
import { opcodeInfo } from '../isa/opcodes.ts';
import type { LoadedObject } from '../elf/types.ts';

export function programListing(obj: LoadedObject, program?: string): string {
  const mapNames = obj.maps.map((m) => m.name);
  const progs = obj.programs.filter((p) => (program ? p.name === program || p.section === program : p.isXdp));
  const out: string[] = [];
  for (const p of progs) {
    if (out.length) out.push('');
    out.push(`; program ${p.name}, section ${p.section}, ${p.insns.length} instruction slots`);
    // A program that cannot load is listed as linked so far, after why it cannot load.
    for (const e of p.loadErrors ?? []) out.push(`; cannot be loaded: ${e}`);
    const funcAt = new Map(p.funcs.map((f) => [f.insn, f.name]));
    let last = '';
    for (let pc = 0; pc < p.insns.length; pc++) {
      const fn = funcAt.get(pc);
      if (fn !== undefined) {
        out.push(`${fn}:`);
        last = '';
      }
      const loc = p.lines[pc];
      const key = loc ? `${loc.file}:${loc.line}` : '';
      if (loc && key !== last) {
        out.push(`; ${basename(loc.file)}:${loc.line}  ${(loc.text ?? '').trim()}`);
        last = key;
      }
      out.push(`${String(pc).padStart(5)}: ${disassembleInsn(p.insns[pc]!, pc, { mapNames, absoluteTargets: true, helperNames: true, kfuncNames: p.kfuncs?.map((k) => k.name) })}`);
      if (opcodeInfo(p.insns[pc]!.opcode)?.kind === 'lddw') pc++;
    }
  }
  return out.join('\n') + '\n';
}
