// The loaded object model: what `simulator/elf` produces from an ELF file and what `simulator/vm` runs.
// Everything here is plain data, so that the loader, the VM, the CLI and the language server agree on one shape.
import type { Insn, SourceLoc } from '../isa/insn.ts';
import type { Btf, SpecialField } from './btf.ts';

/** Kernel map type ids (enum bpf_map_type). */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  CPUMAP: 16,
  XSKMAP: 17,
  DEVMAP_HASH: 25,
  RINGBUF: 27,
  QUEUE: 22,
  STACK: 23,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
} as const;

export const BPF_F_NO_PREALLOC = 1 << 0;
export const BPF_F_NO_COMMON_LRU = 1 << 1;
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_WRONLY_PROG = 1 << 8;
export const BPF_F_MMAPABLE = 1 << 10;

export interface MapDef {
  /** Name as libbpf names it: the variable name for user maps; for global data `<obj8>.<section>` (e.g. `prog.bss`). */
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  /**
   * map_flags as the object declares them, when `flags` also holds flags the kernel adds itself after checking them
   * (a devmap's BPF_F_RDONLY_PROG): what the kernel checks at map creation.
   */
  declaredFlags?: number;
  /** 'global' for .data/.rodata/.bss internal maps (one element, key 0). */
  kind: 'user' | 'global';
  /** The ELF section the map came from (`.maps`, `maps`, `.rodata`, `.data.foo`, ...). */
  section: string;
  /** Initial value image for global-data maps (length valueSize). */
  initialValue?: Uint8Array;
  /** PROG_ARRAY initial contents from `__array(values, ...)`: slot index -> program (function) name. */
  initialProgs?: { index: number; program: string }[];
  /** ARRAY_OF_MAPS/HASH_OF_MAPS: the inner-map template (`__array(values, struct inner)`), when the object has one. */
  inner?: MapDef;
  /** ARRAY_OF_MAPS/HASH_OF_MAPS initial contents from `.values = { [i] = &map }`: slot index -> map name. */
  initialMaps?: { index: number; map: string }[];
  /** `__uint(pinning, LIBBPF_PIN_BY_NAME)` (1): kept for the record; pinning has no effect in the simulator. */
  pinning?: number;
  /** Where the map is defined in the source, when BTF/DWARF tells us. */
  loc?: SourceLoc;
  /**
   * BTF type ids (into `LoadedObject.btf`) of the key and value, when the object says: `__type(key, ...)` /
   * `__type(value, ...)` of a BTF-defined map, the `____btf_map_<name>` struct of a legacy map
   * (BPF_ANNOTATE_KV_PAIR), the section's DATASEC (variable offsets fixed up) for global data.
   */
  keyType?: number;
  valueType?: number;
  /**
   * The value's special fields (bpf_spin_lock, bpf_timer, kptrs, ...; btfSpecialFields), when it has any: the kernel
   * skips them when it copies a value in (bpf_map_update_elem) or out (a dump shows zeros).
   */
  special?: SpecialField[];
  /** `__uint(map_extra, n)`: for a BLOOM_FILTER, its number of hash functions (low 4 bits; 0 means 5). */
  mapExtra?: number;
}

export interface FuncInfo {
  /** Slot index (within the linked program) of the function's first instruction. */
  insn: number;
  name: string;
  /**
   * A non-static function: the verifier checks it on its own (a global function) and its caller learns nothing of
   * what it returns (an unknown scalar); a loader may also replace it (freplace).
   */
  global?: boolean;
  /**
   * From the function's BTF (absent without it): whether it returns a scalar (an integer of at most 8 bytes or an
   * enum), as the verifier's check_btf_func reads it; a subprogram that does not may not tail-call.
   */
  returnsScalar?: boolean;
  /**
   * From the BTF of a global function: per argument (r1..r5), the size of the memory a pointer argument points to, as
   * the verifier's btf_prepare_func_args resolves it (ARG_PTR_TO_MEM, mem_size); undefined for a number, the context
   * or a pointee whose size BTF does not give.
   */
  argMemSizes?: readonly (number | undefined)[];
  /**
   * From the BTF of a global function: per argument (r1..r5), whether it is a pointer to the context (`struct xdp_md *`,
   * ARG_PTR_TO_CTX to btf_prepare_func_args), which the caller must pass the context itself.
   */
  argCtx?: readonly boolean[];
  /**
   * From the BTF of a global function: per argument (r1..r5), whether it is a number (an integer or an enum: ARG_ANYTHING
   * to btf_prepare_func_args), which the caller must pass as a scalar. Its length is the number of arguments.
   */
  argScalar?: readonly boolean[];
  /**
   * From the BTF of a global function: per argument, for a pointer to something without a size (`void *`, a struct
   * only declared), the verifier's name for the pointee ('UNKNOWN ', 'FWD name'): every call is refused.
   */
  argUnsized?: readonly (string | undefined)[];
}

/**
 * A program after linking: the entry function followed by every subprogram it calls (the way libbpf appends `.text`
 * callees), with relocations applied:
 *   - lddw of a map:           src = 1 (BPF_PSEUDO_MAP_FD), imm = index into LoadedObject.maps
 *   - lddw of global data:     src = 2 (BPF_PSEUDO_MAP_VALUE), imm = map index, nextImm = offset in the value
 *   - call of a bpf function:  src = 1 (BPF_PSEUDO_CALL), imm = relative slot offset (target = pc + imm + 1)
 *   - lddw of a function addr: src = 4 (BPF_PSEUDO_FUNC), imm = relative slot offset
 *   - call of a kfunc:         src = 2 (BPF_PSEUDO_KFUNC_CALL), imm = index into `kfuncs`
 */
export interface LoadedProgram {
  /** The entry function's symbol name. */
  name: string;
  /** The ELF section it lives in (`xdp`, `xdp.frags`, `xdp/foo`, ...). */
  section: string;
  /** True for XDP programs (section `xdp*`); other sections load but are not run by default. */
  isXdp: boolean;
  /** BPF_F_XDP_HAS_FRAGS: section `xdp.frags*`. */
  frags: boolean;
  insns: Insn[];
  /** Per slot: the source location of that instruction (last line_info record at or before it), if known. */
  lines: (SourceLoc | undefined)[];
  /** Functions in the linked program, entry first. */
  funcs: FuncInfo[];
  /**
   * Kernel functions the program calls, by name (kfunc calls carry an index into this list). A weak extern
   * (`__ksym __weak`) that XDP Lens does not model is listed with `missing: true`: calling it faults. So is a strong
   * one the running kernel has but XDP Lens does not model, with `unmodelled: true` as well: the kernel loads such a
   * program when the verifier never reaches the call (a TC-only kfunc behind a branch an XDP run cannot take).
   */
  kfuncs?: { name: string; missing?: boolean; unmodelled?: boolean }[];
  /**
   * Why this program cannot load (a refused CO-RE relocation, an unsupported feature, a reference to a map that failed),
   * each naming the file, program, instruction and source line. The rest of the object still loads (libbpf's
   * per-program autoload); picking, running or analysing this program fails with these.
   */
  loadErrors?: string[];
  /** Slots holding an instruction libbpf poisoned (`call 0xbad2310`): the CO-RE relocation that found no match. */
  poisoned?: Record<number, string>;
}

export interface LoadedObject {
  /** Path of the object file (or of the C file it was compiled from). */
  path: string;
  license: string;
  programs: LoadedProgram[];
  maps: MapDef[];
  /** Things the user should know about how the object was loaded (e.g. which BTF CO-RE relocations were resolved against). */
  notes?: string[];
  /** The object's own `.BTF`, when it has one (what `MapDef.keyType`/`valueType` index). */
  btf?: Btf;
}
