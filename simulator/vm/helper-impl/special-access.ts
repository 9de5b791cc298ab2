// A load or store that touches a map value's special field (a bpf_spin_lock, a bpf_timer, a kptr, ...): the kernel
// verifier refuses it wherever it is ("bpf_spin_lock cannot be accessed directly by load/store"; a kptr may be read or
// written only whole, 8 bytes at its own offset). Found from the bytecode before any packet runs.
//
// Only an access whose offset into the value is certainly known is reported, so that a program the kernel loads is
// never called refused: its base register is followed back along the straight line that falls through to it (register
// moves, constant additions, at most a NULL check on the way) to the map lookup that returned it (bpf_map_lookup_elem,
// bpf_map_lookup_percpu_elem, with the map argument known the same way) or to the lddw of a global variable's address.
// That line, after a path from the program's entry to the lookup that the verifier certainly walks (static-args.ts
// reachability: every test on it a packet byte against a constant, or a bounds check on its in-bounds side), is a path
// the verifier walks, so the access there is refused. Anything else (another conditional jump, a spill to the stack,
// a variable offset, a lookup behind a test the verifier may decide) gives up.
import type { LoadedObject, LoadedProgram } from '../../elf/types.ts';
import { CALL_HELPER, OPCODES, PSEUDO_MAP_FD, PSEUDO_MAP_IDX, PSEUDO_MAP_IDX_VALUE, PSEUDO_MAP_VALUE } from '../../isa/opcodes.ts';
import { mapSpecialFields } from '../maps.ts';
import { reachability, writes } from './static-args.ts';

export interface SpecialAccessRefusal {
  insn: number;
  message: string;
}

const LOOKUP_HELPERS: ReadonlySet<number> = new Set([1 /* bpf_map_lookup_elem */, 195 /* bpf_map_lookup_percpu_elem */]);
const KPTR_KINDS: ReadonlySet<string> = new Set(['kptr', 'kptr_untrusted', 'percpu_kptr', 'uptr']);

export function specialAccessRefusals(obj: LoadedObject, prog: LoadedProgram): SpecialAccessRefusal[] {
  const insns = prog.insns;
  const funcStarts = new Set(prog.funcs.map((f) => f.insn));

  /** The map a register holds at `pc` (moves followed back to its lddw along the fall-through line). */
  const mapAt = (pc: number, reg: number): number | undefined => {
    for (let j = pc - 1, steps = 0; j >= 0 && steps < 4096; j--, steps++) {
      if (funcStarts.has(j + 1)) return undefined;
      const insn = insns[j]!;
      const info = OPCODES[insn.opcode];
      if (!info) continue;
      if (info.kind === 'exit' || info.kind === 'ja') return undefined;
      if (!writes(insn, reg)) continue;
      if (info.kind === 'lddw') return insn.src === PSEUDO_MAP_FD || insn.src === PSEUDO_MAP_IDX ? insn.imm : undefined;
      if (info.kind === 'alu' && info.alu === 'mov' && info.srcReg && info.width === 64 && insn.off === 0) {
        reg = insn.src;
        continue;
      }
      return undefined;
    }
    return undefined;
  };

  /** The map and the constant offset into its value that `reg` points at just before `pc`, when certain. */
  const valueAt = (pc: number, reg: number): { map: number; off: number; from: number } | undefined => {
    let off = 0;
    let nullChecked = false;
    for (let j = pc - 1, steps = 0; j >= 0 && steps < 4096; j--, steps++) {
      if (funcStarts.has(j + 1)) return undefined;
      const insn = insns[j]!;
      const info = OPCODES[insn.opcode];
      if (!info) continue; // the second slot of lddw
      if (info.kind === 'exit' || info.kind === 'ja' || info.kind === 'jcond') return undefined;
      if (info.kind === 'jump') {
        // `if ptr == 0 goto`: its fall-through is the non-NULL side. Any other test may be one the verifier decides.
        if (info.jmp === 'jeq' && info.width === 64 && !info.srcReg && insn.imm === 0 && insn.dst === reg) {
          nullChecked = true;
          continue;
        }
        return undefined;
      }
      if (!writes(insn, reg)) continue;
      if (info.kind === 'alu' && info.width === 64 && insn.off === 0) {
        if (info.alu === 'mov' && info.srcReg) {
          reg = insn.src;
          continue;
        }
        if (!info.srcReg && (info.alu === 'add' || info.alu === 'sub')) {
          off += info.alu === 'add' ? insn.imm : -insn.imm;
          continue;
        }
        return undefined;
      }
      if (info.kind === 'lddw') {
        if (insn.src !== PSEUDO_MAP_VALUE && insn.src !== PSEUDO_MAP_IDX_VALUE) return undefined;
        return { map: insn.imm, off: off + (insn.nextImm ?? 0), from: j };
      }
      if (info.kind === 'call' && insn.src === CALL_HELPER && reg === 0 && LOOKUP_HELPERS.has(insn.imm)) {
        // Without a NULL check the access is refused for that instead ("map_value_or_null"): not ours to word.
        if (!nullChecked) return undefined;
        const map = mapAt(j, 1);
        return map === undefined ? undefined : { map, off, from: j };
      }
      return undefined;
    }
    return undefined;
  };

  const out: SpecialAccessRefusal[] = [];
  let reached: ((pc: number) => boolean) | undefined;
  insns.forEach((insn, pc) => {
    const info = OPCODES[insn.opcode];
    if (!info || info.size === undefined) return;
    let base: number;
    if (info.kind === 'ldx' || info.kind === 'ldxsx') base = insn.src;
    else if (info.kind === 'st' || info.kind === 'stx' || info.kind === 'atomic') base = insn.dst;
    else return;
    if (base === 10) return;
    const v = valueAt(pc, base);
    if (!v) return;
    const def = obj.maps[v.map];
    const fields = def ? mapSpecialFields(def) : undefined;
    if (!fields) return;
    const start = v.off + insn.off;
    const size = info.size;
    // The kernel's check_map_access: the first field (by offset) that [start, start + size) overlaps.
    const f = fields.find((x) => start < x.off + x.size && x.off < start + size);
    if (!f) return;
    let why: string | undefined;
    if (!KPTR_KINDS.has(f.kind)) why = `${f.kind} cannot be accessed directly by load/store`;
    else if (start !== f.off) why = `${f.kind} access misaligned expected=${f.off} off=${start}`;
    else if (size !== 8) why = `${f.kind} access size must be BPF_DW`;
    if (!why) return;
    // The lookup (or the lddw) must itself be on a path the verifier certainly walks: not behind a const volatile flag.
    reached ??= reachability(obj, prog);
    if (!reached(v.from)) return;
    out.push({ insn: pc, message: `${why} (map ${def!.name}, value bytes ${start}..${start + size - 1}: the kernel keeps this field for itself)` });
  });
  return out;
}
