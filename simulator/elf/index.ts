// Load a BPF ELF object into the LoadedObject model: find the programs, build the maps, and link each program the way
// libbpf does before BPF_PROG_LOAD (bpf_object__open + bpf_object__relocate in libbpf.c):
//   - every STT_FUNC GLOBAL/WEAK symbol in an executable section other than `.text` is a program
//     (bpf_object__add_programs); functions in `.text` are subprograms;
//   - map and global-data references in lddw become BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE with the map's index
//     (bpf_program__record_reloc + bpf_object__relocate_data);
//   - called subprograms are appended after the program, depth first, each once, and call / BPF_PSEUDO_FUNC
//     immediates are rewritten to the new relative offsets (bpf_object__reloc_code);
//   - `.BTF.ext` line info follows each function to its new position (adjust_prog_btf_ext_info).
//   - calls of kernel functions (kfuncs: undefined extern functions, declared `__ksym`) become BPF_PSEUDO_KFUNC_CALL
//     with an index into the program's kfunc list; a kfunc XDP Lens does not model is an error naming it and the
//     instruction, unless it is weak (`__ksym __weak`): then `bpf_ksym_exists()` sees NULL, as when the kernel lacks it.
// Features we do not model (CO-RE, ksym variables, kconfig externs, arena, map-in-map) are errors naming the feature and
// the instruction, never a silently different program.
import type { Insn, SourceLoc } from '../isa/insn.ts';
import type { FuncInfo, LoadedObject, LoadedProgram, MapDef } from './types.ts';
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, MapType } from './types.ts';
import { decodeProgram, LDDW } from '../isa/decode.ts';
import { CALL_HELPER, CALL_KFUNC, CALL_LOCAL, CLS_JMP, JMP_CALL, PSEUDO_FUNC, PSEUDO_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE } from '../isa/opcodes.ts';
import {
  cString, parseElf, SHF_EXECINSTR, SHN_UNDEF, SHT_PROGBITS, SHT_REL, STB_GLOBAL, STB_WEAK, STT_FUNC, STT_SECTION,
  type ElfFile, type ElfRel, type ElfSection, type ElfSymbol,
} from './elf64.ts';
import { BTF_KIND, btfParams, findDatasec, parseBtf, parseBtfExt, resolveSize, skipModsAndTypedefs, type Btf, type BtfExt, type BtfType, type CoreRecord, type LineRecord } from './btf.ts';
import { collectMaps, internalMapName, objectName, type MapPlacement } from './maps.ts';
import { kconfigLayout, type KconfigLayout } from './kconfig.ts';
import { describeRelocation, formatSpec, kernelBtf, loadBtfFile, patchInsn, resolveRelocation, typesCompat, VMLINUX_BTF, type CandidateCache, type TargetBtf } from './core.ts';

/** A file offset or size for a message: values the ELF reader read as beyond 2^53 (Infinity) said so, not "Infinity". */
const numText = (n: number) => (Number.isFinite(n) ? String(n) : 'past 2^53');
import { KFUNC_ADDRESS_BASE, kfuncInfo } from '../isa/kfunc-names.ts';

export type { LoadedObject, LoadedProgram, MapDef } from './types.ts';

const CALL = CLS_JMP | JMP_CALL;

export interface LoadDiagnostic {
  severity: 'error' | 'warning';
  /** Full text, starting with the file name and naming the section / byte offset / instruction / source line. */
  message: string;
  file: string;
  section?: string;
  /** Byte offset in the file or (with `section`) in that section. */
  byteOffset?: number;
  /** The program (entry function) the problem belongs to, when it belongs to one. */
  program?: string;
  /** The map the problem belongs to: it refuses only the programs that use that map. */
  map?: string;
  /** Slot index in the linked program. */
  insn?: number;
  loc?: SourceLoc;
}

/** A function's code inside an executable section: the unit libbpf calls a (sub)program. */
interface Unit {
  sec: ElfSection;
  /** First slot within the section. */
  start: number;
  count: number;
  name: string;
  entry: boolean;
  /** A non-static function (global or weak symbol): the verifier checks it on its own, as a global function. */
  global?: boolean;
}

const isXdpSection = (name: string) => name.startsWith('xdp');
const isFragsSection = (name: string) => name === 'xdp.frags' || name.startsWith('xdp.frags/');

export interface LoadObjectOptions {
  /**
   * BTF file to resolve CO-RE relocations against (raw BTF such as /sys/kernel/btf/vmlinux, or an ELF with .BTF).
   * Default: the running kernel's /sys/kernel/btf/vmlinux, else the program's own BTF (with a note).
   */
  btf?: string;
  /** Where the running kernel's BTF is looked for (tests point it elsewhere). Default /sys/kernel/btf/vmlinux. */
  vmlinux?: string;
}

/**
 * Errors that refuse the whole object: those that belong to no program and no map. The others make only the programs
 * named in them unloadable (see LoadedProgram.loadErrors), as libbpf's per-program autoload would.
 */
export function objectErrors(diagnostics: LoadDiagnostic[]): LoadDiagnostic[] {
  return diagnostics.filter((d) => d.severity === 'error' && d.program === undefined && d.map === undefined);
}

export function loadObject(bytes: Uint8Array, path: string, opts: LoadObjectOptions = {}): { object?: LoadedObject; diagnostics: LoadDiagnostic[] } {
  const diagnostics: LoadDiagnostic[] = [];
  try {
    return loadObjectUnchecked(bytes, path, diagnostics, opts);
  } catch (e) {
    // Every input problem should have been a diagnostic already; this is the safety net for a loader bug.
    diagnostics.push({ severity: 'error', file: path, message: `${path}: internal error while loading the object (please report): ${(e as Error).message}` });
    return { diagnostics };
  }
}

function loadObjectUnchecked(bytes: Uint8Array, path: string, diagnostics: LoadDiagnostic[], opts: LoadObjectOptions): { object?: LoadedObject; diagnostics: LoadDiagnostic[] } {
  const { elf, problems } = parseElf(bytes);
  for (const p of problems) diagnostics.push({ severity: p.severity, message: `${path}: ${p.message}`, file: path, section: p.section });
  if (!elf) return { diagnostics };
  const sections = elf.sections;

  // BTF is optional (llvm-mc objects have none); a broken blob costs line info but not the program.
  let btf: Btf | undefined;
  let ext: BtfExt | undefined;
  const btfSec = sections.find((s) => s.name === '.BTF');
  if (btfSec) {
    const r = parseBtf(btfSec.data);
    btf = r.btf;
    for (const p of r.problems) diagnostics.push({ severity: 'warning', message: `${path}: ${p.message}`, file: path, section: '.BTF' });
    const extSec = sections.find((s) => s.name === '.BTF.ext');
    if (btf && extSec) {
      const e = parseBtfExt(extSec.data, btf);
      ext = e.ext;
      for (const p of e.problems) diagnostics.push({ severity: 'warning', message: `${path}: ${p.message}`, file: path, section: '.BTF.ext' });
    }
  }

  const units = findUnits(path, elf, diagnostics);
  const entries = units.filter((u) => u.entry);
  if (entries.length === 0) {
    diagnostics.push({
      severity: 'error',
      file: path,
      message: `${path}: no program sections: expected an executable section such as SEC("xdp") other than .text holding a function`,
    });
    return { diagnostics };
  }

  const mapsResult = collectMaps(path, elf, btf);
  // A map that fails refuses only the programs that reference it (they get the map's error, see relocateLddw).
  const mapErrors = new Map<string, string[]>();
  for (const p of mapsResult.problems) {
    const map = p.severity === 'error' ? /\bmap '([^']+)'/.exec(p.message)?.[1] : undefined;
    if (map !== undefined) mapErrors.set(map, [...(mapErrors.get(map) ?? []), p.message]);
    diagnostics.push({ severity: p.severity, message: p.message, file: path, section: p.section, ...(map !== undefined ? { map } : {}) });
  }

  const licenseSec = sections.find((s) => s.name === 'license');
  const license = licenseSec ? cString(licenseSec.data, 0) : '';

  const decoded = new Map<number, Insn[]>();
  for (const sec of new Set(units.map((u) => u.sec))) {
    const r = decodeProgram(sec.data);
    decoded.set(sec.index, r.insns);
    for (const d of r.diagnostics) {
      // In a program's own section the problem is that program's (the others still load); in .text, everyone's.
      const owner = units.find((u) => u.entry && u.sec === sec && d.insn >= u.start && d.insn < u.start + u.count);
      diagnostics.push({
        severity: 'error', file: path, section: sec.name, byteOffset: d.insn * 8, ...(owner ? { program: owner.name } : {}),
        message: `${path}: section '${sec.name}'${owner ? ` (program '${owner.name}')` : ''}: ${d.message}`,
      });
    }
  }
  const relocs = new Map<number, Map<number, ElfRel>>();
  for (const rs of elf.relSections) {
    const target = sections[rs.target];
    if (!target || !(target.flags & SHF_EXECINSTR)) continue;
    const m = new Map<number, ElfRel>();
    for (const rel of rs.rels) {
      if (rel.offset % 8 !== 0 || rel.offset >= target.size) {
        diagnostics.push({ severity: 'error', file: path, section: target.name, byteOffset: rel.offset, message: `${path}: section '${rs.section.name}': relocation at byte ${numText(rel.offset)} is not on an instruction of '${target.name}'` });
        continue;
      }
      if (rs.section.type !== SHT_REL) {
        diagnostics.push({ severity: 'error', file: path, section: target.name, byteOffset: rel.offset, message: `${path}: section '${rs.section.name}': RELA relocations are not used by BPF objects and are not supported` });
        continue;
      }
      m.set(rel.offset / 8, rel);
    }
    relocs.set(target.index, m);
  }

  // `__kconfig` externs: one read-only internal map after the global data, as libbpf creates it.
  const kconfig = kconfigLayout(btf);
  let kconfigMap: { layout: KconfigLayout; map: number } | undefined;
  if (kconfig && kconfig.size > 0) {
    kconfigMap = { layout: kconfig, map: mapsResult.maps.length };
    mapsResult.maps.push({
      name: internalMapName(objectName(path), '.kconfig'), type: MapType.ARRAY, keySize: 4, valueSize: kconfig.size, maxEntries: 1,
      flags: BPF_F_RDONLY_PROG | BPF_F_MMAPABLE, kind: 'global', section: '.kconfig', initialValue: kconfig.image,
    });
  }
  const linker = new Linker(path, elf, btf, ext, units, decoded, relocs, mapsResult.maps, mapsResult.placements, diagnostics, opts, mapErrors);
  linker.kconfig = kconfigMap;
  const programs = entries.map((u) => linker.link(u));
  // One pass over the diagnostics (an object of many programs has as many diagnostics: a filter per program was
  // quadratic, minutes for 20,000 sections).
  const errorsByProgram = new Map<string, string[]>();
  for (const d of diagnostics) {
    if (d.severity !== 'error' || d.program === undefined) continue;
    const list = errorsByProgram.get(d.program);
    if (list) list.push(d.message);
    else errorsByProgram.set(d.program, [d.message]);
  }
  for (const p of programs) {
    const errs = errorsByProgram.get(p.name);
    if (errs) p.loadErrors = [...errs];
  }
  diagnostics.push(...progArrayFragsMismatch(path, programs, mapsResult.maps));
  const notes = linker.notes();
  return { object: { path, license, programs, maps: mapsResult.maps, ...(notes.length ? { notes } : {}), ...(btf ? { btf } : {}) }, diagnostics };
}

/** The expected attach type a loader gives an XDP program by its section: `xdp/devmap`, `xdp_devmap/...` (and the
 *  .frags forms) BPF_XDP_DEVMAP, the cpumap ones BPF_XDP_CPUMAP, any other XDP section BPF_XDP. */
export function xdpAttachKind(p: Pick<LoadedProgram, 'section'>): 'xdp' | 'devmap' | 'cpumap' {
  const kind = /^xdp(\.frags)?[/_](devmap|cpumap)(\/|$)/.exec(p.section)?.[2];
  return kind === 'devmap' || kind === 'cpumap' ? kind : 'xdp';
}

const progKind = (p: Pick<LoadedProgram, 'section' | 'frags'>) =>
  `${p.frags ? 'xdp.frags' : 'not xdp.frags'}${xdpAttachKind(p) === 'xdp' ? '' : `, attached to a ${xdpAttachKind(p)} entry`}`;

/**
 * Why the kernel would refuse `p` in a PROG_ARRAY owned by `owner` (kernel/bpf/core.c __bpf_prog_map_compatible, 6.18:
 * the same xdp_has_frags and, for a PROG_ARRAY, the same expected attach type), or undefined when it takes it.
 */
export function progArrayIncompatible(owner: Pick<LoadedProgram, 'name' | 'section' | 'frags'>, p: Pick<LoadedProgram, 'name' | 'section' | 'frags'>): string | undefined {
  if (p.frags === owner.frags && xdpAttachKind(p) === xdpAttachKind(owner)) return undefined;
  return `'${p.name}' (${progKind(p)}) does not match '${owner.name}' (${progKind(owner)})`;
}

/** The PROG_ARRAY's owner as the kernel fixes it: the first loaded program that uses the map (`programs` in load
 *  order), else the first program put in it. */
export function progArrayUsers(programs: readonly LoadedProgram[], mapIndex: number): LoadedProgram[] {
  return programs.filter((p) => p.insns.some((i) => i.opcode === 0x18 && i.src === PSEUDO_MAP_FD && i.imm === mapIndex));
}

/**
 * libbpf fills a PROG_ARRAY's `.values` slots after loading the programs, and the kernel refuses a program whose
 * xdp_has_frags (SEC("xdp.frags")) or expected attach type (SEC("xdp/devmap"), ...) differs from the map's owner: the
 * first loaded program that uses the map, else the first program put in it (kernel/bpf/core.c
 * __bpf_prog_map_compatible). libbpf then fails the whole object.
 */
function progArrayFragsMismatch(path: string, programs: LoadedProgram[], maps: MapDef[]): LoadDiagnostic[] {
  const out: LoadDiagnostic[] = [];
  maps.forEach((m, index) => {
    if (m.type !== MapType.PROG_ARRAY) return;
    const users = progArrayUsers(programs, index);
    const user = users[0];
    let owner = user;
    // Every later program that uses the map is held to the owner when it loads (a program tail-calling through it).
    for (const u of users) {
      const why = progArrayIncompatible(user!, u);
      if (!why) continue;
      out.push({
        severity: 'error', file: path,
        message: `${path}: map '${m.name}': program ${why}, which uses the map too and loads first: the kernel refuses to load '${u.name}' (EINVAL), so libbpf fails the whole object`,
      });
    }
    for (const slot of m.initialProgs ?? []) {
      const p = programs.find((x) => x.name === slot.program);
      if (!p) continue;
      owner ??= p;
      const why = progArrayIncompatible(owner, p);
      if (!why) continue;
      out.push({
        severity: 'error', file: path,
        message: `${path}: map '${m.name}': slot ${slot.index} holds ${why}, ${owner === user ? 'which uses the map' : 'in an earlier slot'}: the kernel refuses to put it in the program array (EINVAL), so libbpf fails the whole object`,
      });
    }
  });
  return out;
}

/** Split executable sections into functions (libbpf bpf_object__add_programs). */
function findUnits(path: string, elf: ElfFile, diagnostics: LoadDiagnostic[]): Unit[] {
  const units: Unit[] = [];
  for (const sec of elf.sections) {
    // A section whose bytes are outside the file was already reported; its data is empty, so it has no functions.
    if (sec.type !== SHT_PROGBITS || !(sec.flags & SHF_EXECINSTR) || sec.data.length === 0) continue;
    const isText = sec.name === '.text';
    const funcs = elf.symbols.filter((s) => s.shndx === sec.index && s.type === STT_FUNC).sort((a, b) => a.value - b.value);
    if (funcs.length === 0) {
      if (isText) continue;
      // An object assembled without .type/.size directives: the whole section is one program, as old libbpf had it.
      const label = elf.symbols.find((s) => s.shndx === sec.index && s.value === 0 && s.bind !== 0 && s.type !== STT_SECTION && s.name);
      diagnostics.push({ severity: 'warning', file: path, section: sec.name, message: `${path}: section '${sec.name}' has no function symbol; treating the whole section as one program '${label?.name ?? sec.name}' (add '.type NAME,@function' and '.size' for libbpf)` });
      units.push({ sec, start: 0, count: Math.floor(sec.data.length / 8), name: label?.name ?? sec.name, entry: true });
      continue;
    }
    funcs.forEach((f, i) => {
      const end = f.size > 0 ? f.value + f.size : i + 1 < funcs.length ? funcs[i + 1].value : sec.data.length;
      if (f.value % 8 !== 0 || (end - f.value) % 8 !== 0 || end > sec.data.length || end < f.value) {
        diagnostics.push({ severity: 'error', file: path, section: sec.name, byteOffset: f.value, message: `${path}: section '${sec.name}': function '${f.name}' at byte ${numText(f.value)} (${Number.isFinite(end - f.value) ? `${end - f.value} bytes` : 'a size past 2^53'}) is not whole instructions inside the ${sec.size}-byte section` });
        return;
      }
      const global = f.bind === STB_GLOBAL || f.bind === STB_WEAK;
      if (!isText && !global) {
        diagnostics.push({ severity: 'warning', file: path, section: sec.name, message: `${path}: section '${sec.name}': static function '${f.name}' is not a program (libbpf rejects static programs); it can only be called` });
      }
      units.push({ sec, start: f.value / 8, count: (end - f.value) / 8, name: f.name, entry: !isText && global, global });
    });
  }
  return units;
}

class Linker {
  /** The `.kconfig` map and where each extern lives in it. */
  kconfig?: { layout: KconfigLayout; map: number };
  /** CO-RE records per executable section and slot, with their index in the section's list (libbpf's relo #). */
  private readonly coreBySec = new Map<number, Map<number, { rec: CoreRecord; index: number }[]>>();
  private readonly candidates: CandidateCache = new Map();
  private target: TargetBtf | string | undefined;
  private targetNote: string | undefined;

  constructor(
    private readonly path: string,
    private readonly elf: ElfFile,
    private readonly btf: Btf | undefined,
    private readonly ext: BtfExt | undefined,
    private readonly units: Unit[],
    private readonly decoded: Map<number, Insn[]>,
    private readonly relocs: Map<number, Map<number, ElfRel>>,
    private readonly maps: MapDef[],
    private readonly placements: MapPlacement[],
    private readonly diagnostics: LoadDiagnostic[],
    private readonly opts: LoadObjectOptions = {},
    private readonly mapErrors = new Map<string, string[]>(),
  ) {
    for (const [secName, recs] of ext?.core ?? []) {
      const sec = elf.sections.find((s) => s.name === secName);
      if (!sec) continue;
      const m = new Map<number, { rec: CoreRecord; index: number }[]>();
      recs.forEach((rec, index) => {
        const slot = rec.insnOff / 8;
        m.set(slot, [...(m.get(slot) ?? []), { rec, index }]);
      });
      this.coreBySec.set(sec.index, m);
    }
  }

  notes(): string[] {
    return this.targetNote ? [this.targetNote] : [];
  }

  /** The BTF CO-RE relocations resolve against, chosen once, when the first program that has any is linked. */
  private coreTarget(): TargetBtf | string {
    if (this.target !== undefined) return this.target;
    if (this.opts.btf) {
      this.target = loadBtfFile(this.opts.btf);
      if (typeof this.target === 'string') this.diagnostics.push({ severity: 'error', file: this.path, message: `${this.path}: CO-RE target BTF: ${this.target}` });
    } else {
      const vmlinux = this.opts.vmlinux ?? VMLINUX_BTF;
      this.target = kernelBtf(vmlinux) ?? { btf: this.btf!, source: `the program's own BTF`, kind: 'program' };
      if (this.target.kind === 'program') {
        this.targetNote = `${this.path}: no kernel BTF at ${vmlinux}: CO-RE relocations were resolved against the program's own BTF ` +
          `(the layouts it was compiled with); use --btf FILE (editor: xdpLens.btf) to resolve them for a particular kernel`;
      }
    }
    return this.target;
  }

  /** Resolve and apply the CO-RE relocations of one slot (libbpf bpf_object__relocate_core, per instruction). */
  private applyCore(
    recs: { rec: CoreRecord; index: number }[], insns: Insn[], at: number,
    report: (severity: 'error' | 'warning', text: string) => void,
    onPoison: (text: string) => void = () => {},
  ): void {
    for (const { rec, index } of recs) {
      const what = () => describeRelocation(this.btf!, rec);
      const target = this.coreTarget();
      if (typeof target === 'string') { report('error', `CO-RE relocation #${index} ${what()} cannot be resolved: ${target}`); continue; }
      const res = resolveRelocation(this.btf!, rec, target.btf, this.candidates, target.modules);
      if (typeof res === 'string') { report('error', `CO-RE relocation #${index} failed to relocate against ${target.source}: ${res}`); continue; }
      const p = patchInsn(insns, at, res);
      if (p.error) { report('error', `CO-RE relocation #${index} ${formatSpec(res.local)}: failed to patch the instruction: ${p.error}`); continue; }
      if (p.poisoned) {
        onPoison(`${formatSpec(res.local)} ${p.note ?? `has no match in ${target.source}`}`);
        report('warning', `CO-RE relocation #${index} ${formatSpec(res.local)} ${p.note ?? `has no match in ${target.source}`}: ` +
          `the instruction is poisoned as libbpf does (call 0xbad2310); a packet that reaches it faults, and the kernel refuses the program if any path can`);
      }
    }
  }

  link(entry: Unit): LoadedProgram {
    const insns: Insn[] = [];
    const lines: (SourceLoc | undefined)[] = [];
    const funcs: FuncInfo[] = [];
    const kfuncs: { name: string; missing?: boolean; unmodelled?: boolean }[] = [];
    /** Slots libbpf would poison, with the relocation that failed (named when a packet reaches one). */
    const poisoned: Record<number, string> = {};
    const placed = new Map<Unit, number>();
    const program = entry.name;
    /** Index of a kfunc in this program's list, or a message when it cannot be linked. */
    const kfuncIndex = (sym: ElfSymbol): number | string => {
      // A function called but declared nowhere (clang's implicit declaration, e.g. htons without its header) has no
      // BTF of its own: libbpf refuses the whole object when it collects the externs (bpf_object__collect_externs).
      if (this.btf && !this.btf.types.some((t) => (t?.kind === BTF_KIND.FUNC || t?.kind === BTF_KIND.VAR) && t.name === sym.name)) {
        return `libbpf refuses the object: "failed to find BTF for extern '${sym.name}': -2": '${sym.name}' is called but declared nowhere ` +
          `(clang's implicit declaration gives it no BTF), so it is neither a helper nor a kernel function; declare it or include the header that defines it`;
      }
      // libbpf (bpf_object__resolve_ksym_func_btf_id) checks the extern's prototype against the kernel's with
      // bpf_core_types_are_compat: parameter count and kinds, pointee kinds (a forward-declared `struct nf_conn;` is a
      // FWD, the kernel's a STRUCT), int bit offsets. An extern that fails refuses the object, a weak one too (the
      // libbpf the kernel tests load with, measured).
      const proto = this.kfuncProtoMismatch(sym.name);
      if (proto) return proto;
      const known = kfuncInfo(sym.name) !== undefined;
      // A kfunc the running kernel has links (libbpf finds it in vmlinux BTF) and the verifier checks a call only on the
      // paths it walks: a call it proves unreachable (a TC-only kfunc behind `if (skb)` in code shared with TC) loads.
      // The simulator runs such a program and stops a packet that reaches the call (unmodelled); without kernel BTF to
      // say the kernel has it, or when it has not, the program is refused as before.
      const unmodelled = !known && sym.bind !== STB_WEAK && kernelFuncNames()?.has(sym.name) === true;
      if (!known && sym.bind !== STB_WEAK && !unmodelled) return `kfunc '${sym.name}' is not modelled by XDP Lens (call to kernel function '${sym.name}'${this.kernelHas(sym.name)})`;
      // bpf_throw ends the program with the cookie as its return value (the kernel's default exception callback); a
      // callback of the program's own (`__exception_cb`, a BTF decl tag) is not modelled.
      if (sym.name === 'bpf_throw' && this.btf?.types.some((t) => t?.kind === BTF_KIND.DECL_TAG && t.name.startsWith('exception_callback:'))) {
        return 'bpf_throw with an exception callback of the program\'s own (__exception_cb) is not modelled by XDP Lens (without one, the program returns the cookie, as modelled)';
      }
      let i = kfuncs.findIndex((k) => k.name === sym.name);
      if (i < 0) i = kfuncs.push(known ? { name: sym.name } : unmodelled ? { name: sym.name, missing: true, unmodelled: true } : { name: sym.name, missing: true }) - 1;
      return i;
    };

    const report = (severity: 'error' | 'warning', u: Unit, j: number, base: number, text: string) => {
      const at = base + j;
      const loc = lines[at];
      const src = loc ? ` (${loc.file}:${loc.line}:${loc.column}${loc.text ? `: ${loc.text.trim()}` : ''})` : '';
      this.diagnostics.push({
        severity, file: this.path, section: u.sec.name, byteOffset: (u.start + j) * 8, program, insn: at, loc,
        message: `${this.path}: program '${program}' insn ${at} (section '${u.sec.name}' byte ${(u.start + j) * 8})${src}: ${text}`,
      });
    };

    const place = (u: Unit): number => {
      const base = insns.length;
      placed.set(u, base);
      const info: FuncInfo = u.global ? { insn: base, name: u.name, global: true } : { insn: base, name: u.name };
      // Only with func_info (.BTF.ext): without it libbpf loads no BTF function records and the kernel checks nothing.
      const returnsScalar = this.btf && this.ext?.funcs.get(u.sec.name)?.length ? btfReturnsScalar(this.btf, u.name) : undefined;
      if (returnsScalar !== undefined) info.returnsScalar = returnsScalar;
      if (u.global && this.btf && this.ext?.funcs.get(u.sec.name)?.length) {
        const sizes = btfArgMemSizes(this.btf, u.name);
        if (sizes) info.argMemSizes = sizes;
        const ctx = btfArgCtx(this.btf, u.name);
        if (ctx?.includes(true)) info.argCtx = ctx;
        const scalar = btfArgScalar(this.btf, u.name);
        if (scalar) info.argScalar = scalar;
        const unsized = btfArgUnsized(this.btf, u.name);
        if (unsized?.some((x) => x !== undefined)) info.argUnsized = unsized;
      }
      funcs.push(info);
      const src = this.decoded.get(u.sec.index) ?? [];
      for (let j = 0; j < u.count; j++) insns.push({ ...src[u.start + j] });
      for (const l of this.unitLines(u)) lines.push(l); // no spread: a unit can hold a million lines
      relocate(u, base);
      return base;
    };

    // Find the function a call or function-address load lands on; append it if this program does not have it yet.
    const target = (u: Unit, j: number, base: number, secIndex: number, slot: number): number | undefined => {
      const callee = this.units.find((c) => c.sec.index === secIndex && c.start === slot);
      if (!callee) {
        const sec = this.elf.sections[secIndex];
        report('error', u, j, base, `call target is slot ${slot} of section '${sec?.name ?? secIndex}', which is not the start of a function`);
        return undefined;
      }
      if (callee.sec.name !== '.text' && callee !== u && !placed.has(callee)) {
        report('warning', u, j, base, `calls '${callee.name}' in section '${callee.sec.name}': libbpf only links subprograms from .text, so bpftool and libbpf refuse this object`);
      }
      const calleeBase = placed.get(callee) ?? place(callee);
      return calleeBase - (base + j) - 1;
    };

    const relocate = (u: Unit, base: number) => {
      const rels = this.relocs.get(u.sec.index);
      const core = this.coreBySec.get(u.sec.index);
      for (let j = 0; j < u.count; j++) {
        const slot = u.start + j;
        const insn = insns[base + j];
        const rel = rels?.get(slot);
        const c = core?.get(slot);
        if (c) this.applyCore(c, insns, base + j, (severity, text) => report(severity, u, j, base, text), (text) => (poisoned[base + j] = text));
        if (insn.opcode === LDDW) {
          if (j + 1 >= u.count) {
            report('error', u, j, base, 'lddw is cut off by the end of the function');
            continue;
          }
          this.relocateLddw(u, j, base, insn, insns[base + j + 1], rel, report, target, kfuncIndex);
          j++;
        } else if (insn.opcode === CALL) {
          if (rel) {
            const sym = this.elf.symbols[rel.symbol];
            if (!sym) { report('error', u, j, base, `relocation against symbol ${rel.symbol}, which does not exist`); continue; }
            if (sym.shndx === SHN_UNDEF) {
              const k = kfuncIndex(sym);
              if (typeof k === 'string') report('error', u, j, base, k);
              else {
                insn.src = CALL_KFUNC; insn.imm = k; insn.off = 0;
                if (kfuncs[k]!.unmodelled) {
                  report('warning', u, j, base, `kfunc '${sym.name}' is not modelled by XDP Lens (the running kernel has it): the program runs, ` +
                    `and a packet that reaches this call stops with an error (the kernel loads the program only if its verifier never reaches the call, or allows it here)`);
                }
              }
              continue;
            }
            if (sym.value % 8 !== 0) { report('error', u, j, base, `call relocation against '${sym.name}' at byte ${sym.value}, not an instruction boundary`); continue; }
            // libbpf: the callee slot is sym_off / 8 + imm + 1 (global: imm = -1; static: section symbol + offset).
            const off = target(u, j, base, sym.shndx, sym.value / 8 + insn.imm + 1);
            if (off !== undefined) { insn.src = CALL_LOCAL; insn.imm = off; }
          } else if (insn.src === CALL_LOCAL) {
            const off = target(u, j, base, u.sec.index, slot + insn.imm + 1);
            if (off !== undefined) insn.imm = off;
          } else if (insn.src === CALL_KFUNC) {
            report('error', u, j, base, `kfunc call (call with src_reg 2, BTF id ${insn.imm}) is not supported`);
          } else if (insn.src !== CALL_HELPER) {
            // Left for validation to reject with its own message.
          }
        } else if (rel) {
          const sym = this.elf.symbols[rel.symbol];
          report('error', u, j, base, `relocation (type ${rel.type}) against '${sym?.name ?? rel.symbol}' on an instruction that is neither lddw nor call (opcode 0x${insn.opcode.toString(16)})`);
        }
      }
    };

    place(entry);
    return {
      name: program,
      section: entry.sec.name,
      isXdp: isXdpSection(entry.sec.name),
      frags: isFragsSection(entry.sec.name),
      insns,
      lines,
      funcs,
      ...(kfuncs.length ? { kfuncs } : {}),
      ...(Object.keys(poisoned).length ? { poisoned } : {}),
    };
  }

  private relocateLddw(
    u: Unit, j: number, base: number, insn: Insn, filler: Insn, rel: ElfRel | undefined,
    report: (severity: 'error' | 'warning', u: Unit, j: number, base: number, text: string) => void,
    target: (u: Unit, j: number, base: number, secIndex: number, slot: number) => number | undefined,
    kfuncIndex: (sym: ElfSymbol) => number | string,
  ): void {
    const setNext = (v: number) => { insn.nextImm = v | 0; filler.imm = v | 0; };
    if (!rel) {
      if (insn.src !== PSEUDO_IMM64) report('error', u, j, base, `lddw with src_reg ${insn.src} has no relocation to say what it refers to`);
      return;
    }
    const sym = this.elf.symbols[rel.symbol];
    if (!sym) { report('error', u, j, base, `relocation against symbol ${rel.symbol}, which does not exist`); return; }
    if (sym.shndx === SHN_UNDEF) {
      if (this.isExternFunc(sym)) {
        // &kfunc, as bpf_ksym_exists() takes it: non-NULL when the kfunc is there (modelled), NULL for a weak one
        // that is not (libbpf writes 0 into an unresolved weak ksym's ldimm64).
        const k = kfuncIndex(sym);
        if (typeof k === 'string') { report('error', u, j, base, k); return; }
        const missing = kfuncInfo(sym.name) === undefined;
        const v = missing ? 0n : KFUNC_ADDRESS_BASE + BigInt(k);
        insn.src = PSEUDO_IMM64;
        insn.imm = Number(BigInt.asIntN(32, v & 0xffffffffn));
        setNext(Number(BigInt.asIntN(32, v >> 32n)));
        return;
      }
      const kc = this.kconfig?.layout.vars.get(sym.name);
      if (kc && this.kconfig) {
        // libbpf RELO_EXTERN_LD64 for a kconfig extern: a pointer into the .kconfig map value.
        if (typeof kc.value === 'string' && sym.bind !== STB_WEAK) { report('error', u, j, base, `.kconfig extern '${sym.name}': ${kc.value}`); return; }
        insn.src = PSEUDO_MAP_VALUE;
        insn.imm = this.kconfig.map;
        setNext(kc.offset);
        return;
      }
      report('error', u, j, base, this.externText(sym));
      return;
    }
    const sec = this.elf.sections[sym.shndx];
    if (!sec) { report('error', u, j, base, `relocation against '${sym.name}' in section ${sym.shndx}, which does not exist`); return; }
    if (sec.flags & SHF_EXECINSTR) {
      // BPF_PSEUDO_FUNC: a callback address (bpf_loop & co); global: st_value = offset, static: imm = offset.
      const byte = sym.value + insn.imm;
      if (byte % 8 !== 0) { report('error', u, j, base, `function address relocation against '${sym.name}' at byte ${byte}, not an instruction boundary`); return; }
      const off = target(u, j, base, sym.shndx, byte / 8);
      if (off !== undefined) { insn.src = PSEUDO_FUNC; insn.imm = off; setNext(0); }
      return;
    }
    if (sec.name.startsWith('.addr_space')) { report('error', u, j, base, `arena variable '${sym.name}' (section '${sec.name}') is not supported`); return; }
    const offset = sym.type === STT_SECTION ? sym.value + insn.imm : sym.value;
    const place = this.placements.find((p) => p.section === sym.shndx && (this.maps[p.map].kind === 'global' ? true : p.offset === offset));
    if (!place) {
      const what = sec.name === '.maps' || sec.name === 'maps'
        ? `map '${sym.name}' at byte ${offset} of '${sec.name}', which was not loaded: ${this.mapErrors.get(sym.name)?.map((m) => m.replace(`${this.path}: `, '')).join('; ') ?? 'see the map errors'}`
        : `'${sym.name}' in section '${sec.name}', which is neither a map, global data nor code`;
      report('error', u, j, base, `reference to ${what}`);
      return;
    }
    const map = this.maps[place.map];
    // A map with errors refuses the programs that use it, not the object (programs that do not use it still load).
    const mapErrs = this.mapErrors.get(map.name);
    if (mapErrs) report('error', u, j, base, `uses map '${map.name}', which cannot be created: ${mapErrs.map((m) => m.replace(`${this.path}: `, '')).join('; ')}`);
    if (map.kind === 'global') {
      // Global variables: symbol value + 0; static ones: section symbol + offset in imm (libbpf RELO_DATA).
      const valueOff = insn.imm + sym.value;
      if (valueOff < 0 || valueOff > map.valueSize) report('warning', u, j, base, `offset ${valueOff} is outside '${map.name}' (${map.valueSize} bytes)`);
      insn.src = PSEUDO_MAP_VALUE;
      insn.imm = place.map;
      setNext(valueOff);
    } else {
      insn.src = PSEUDO_MAP_FD;
      insn.imm = place.map;
      setNext(0);
    }
  }

  /** An undefined symbol that names a function: a FUNC in the object's BTF (clang emits one per extern kfunc). */
  isExternFunc(sym: ElfSymbol): boolean {
    if (sym.type === STT_FUNC) return true;
    return this.btf?.types.some((t) => t?.kind === BTF_KIND.FUNC && t.name === sym.name) ?? false;
  }

  /** For messages: whether the running kernel has a kfunc of that name (its BTF lists the functions). */
  /**
   * libbpf's refusal of a kfunc extern whose prototype is not compatible with the running kernel's (vmlinux BTF), or
   * undefined (compatible, or no kernel BTF / no such kernel function to compare with).
   */
  kfuncProtoMismatch(name: string): string | undefined {
    const kb = kernelBtf()?.btf;
    if (!kb || !this.btf) return undefined;
    const essential = name.replace(/___.*$/, '');
    const kf = kernelFuncByName(kb, essential);
    const lf = this.btf.types.find((t) => t?.kind === BTF_KIND.FUNC && t.name === name);
    if (!kf || !lf) return undefined;
    if (typesCompat(this.btf, lf.sizeOrType, kb, kf.sizeOrType, 32) === true) return undefined;
    return `libbpf refuses the object: "extern (func ksym) '${name}': func_proto [${lf.sizeOrType}] incompatible with kernel [${kf.sizeOrType}]": ` +
      `its declaration does not match the kernel's (the parameter count, or what a parameter or the result points to: a ` +
      `forward declaration \`struct X;\` or \`void *\` where the kernel has a struct); declare it as vmlinux.h does`;
  }

  kernelHas(name: string): string {
    const k = kernelFuncNames();
    if (!k) return '';
    return k.has(name) ? '; the running kernel has it' : '; the running kernel has no function of that name either';
  }

  /** Name the kind of extern an undefined symbol is (libbpf bpf_object__collect_externs). */
  private externText(sym: ElfSymbol): string {
    const inSec = (name: string) => {
      const ds = this.btf ? findDatasec(this.btf, name) : undefined;
      return ds?.secinfos?.some((vi) => this.btf!.types[vi.type]?.name === sym.name) ?? false;
    };
    if (inSec('.kconfig')) return `.kconfig extern '${sym.name}' (__kconfig) is not supported`;
    if (inSec('.ksyms')) {
      // A typed ksym (a BTF VAR of a real type: what bpf_per_cpu_ptr / bpf_this_cpu_ptr take) is resolved by the
      // verifier through kallsyms, which lists no variables on a kernel built without CONFIG_KALLSYMS_ALL, as the 6.18
      // kernel these results are checked against is: it refuses every such program (measured, test/vm/ksym-refusal).
      const v = this.btf?.types.find((t) => t?.kind === BTF_KIND.VAR && t.name === sym.name);
      if (v && this.btf && skipModsAndTypedefs(this.btf, v.sizeOrType) !== undefined) {
        return `kernel variable '${sym.name}' (a typed __ksym, as bpf_per_cpu_ptr/bpf_this_cpu_ptr take): XDP Lens does not model kernel variables, ` +
          `and the 6.18 kernel refuses the program too ("ldimm64 failed to find the address for kernel symbol '${sym.name}'": without ` +
          'CONFIG_KALLSYMS_ALL its kallsyms lists no variables)';
      }
      return `address of kernel symbol '${sym.name}' (an untyped __ksym): libbpf writes the running kernel's /proc/kallsyms address, which XDP Lens cannot know`;
    }
    const fn = this.btf?.types.find((t) => t?.kind === BTF_KIND.FUNC && t.name === sym.name);
    if (fn) return `address of kernel function (kfunc) '${sym.name}' is not supported`;
    return `extern symbol '${sym.name}' (undefined in this object: __ksym/__kconfig externs are not supported)`;
  }

  /** Per slot of a function: its last line_info record at or before the slot, within the function. */
  private unitLines(u: Unit): (SourceLoc | undefined)[] {
    const out: (SourceLoc | undefined)[] = new Array(u.count).fill(undefined);
    const recs = (this.ext?.lines.get(u.sec.name) ?? [])
      .filter((r) => r.insnOff >= u.start * 8 && r.insnOff < (u.start + u.count) * 8)
      .sort((a, b) => a.insnOff - b.insnOff);
    let k = -1;
    let cur: LineRecord | undefined;
    for (let j = 0; j < u.count; j++) {
      while (k + 1 < recs.length && recs[k + 1].insnOff <= (u.start + j) * 8) cur = recs[++k];
      // Line 0 marks compiler-generated code with no source line of its own.
      out[j] = cur && cur.line > 0 ? { file: cur.file, line: cur.line, column: cur.column, text: cur.text } : undefined;
    }
    return out;
  }
}

let kernelFuncsByName: { btf: Btf; map: Map<string, BtfType> } | undefined;
/** The kernel BTF's FUNC of that name (built once per kernel BTF). */
function kernelFuncByName(kb: Btf, name: string): BtfType | undefined {
  if (kernelFuncsByName?.btf !== kb) {
    const map = new Map<string, BtfType>();
    for (const t of kb.types) if (t?.kind === BTF_KIND.FUNC && !map.has(t.name)) map.set(t.name, t);
    kernelFuncsByName = { btf: kb, map };
  }
  return kernelFuncsByName.map.get(name);
}

let kernelFuncs: Set<string> | null | undefined;
/** Names of the running kernel's functions (FUNC types of /sys/kernel/btf/vmlinux), read once; null when absent. */
function kernelFuncNames(): Set<string> | null {
  if (kernelFuncs !== undefined) return kernelFuncs;
  // No kernel BTF here (another OS, a container): the message just does not say.
  const btf = kernelBtf()?.btf;
  kernelFuncs = btf ? new Set(btf.types.filter((t) => t?.kind === BTF_KIND.FUNC).map((t) => t!.name)) : null;
  return kernelFuncs;
}

/** Pick a program by function name or section name; default: the first XDP program, else the first. */
export function pickProgram(obj: LoadedObject, name?: string): LoadedProgram | string {
  const list = () => obj.programs.map((p) => `${p.name} (section ${p.section})`).join(', ') || 'none';
  if (name !== undefined) {
    const p = obj.programs.find((x) => x.name === name) ?? obj.programs.find((x) => x.section === name);
    if (!p) return `${obj.path}: no program named '${name}' (by function or section); programs: ${list()}`;
    return loadable(obj, p);
  }
  const p = obj.programs.find((x) => x.isXdp) ?? obj.programs[0];
  return p ? loadable(obj, p) : `${obj.path}: the object has no programs`;
}

/** The program, or its load errors as one message when it cannot be loaded. */
function loadable(obj: LoadedObject, p: LoadedProgram): LoadedProgram | string {
  if (!p.loadErrors?.length) return p;
  return `${obj.path}: program '${p.name}' (section ${p.section}) cannot be loaded:\n${p.loadErrors.join('\n')}`;
}

/**
 * A global function's arguments as btf_prepare_func_args reads its BTF (their types, through typedefs and
 * qualifiers), or undefined when the BTF has no such function. Decl tags on the function or its arguments
 * (__arg_ctx, __arg_nonnull, __arg_arena, ...) change how they are typed: such a function's arguments are left
 * unknown (undefined too).
 */
function btfGlobalArgs(btf: Btf, name: string): (BtfType | undefined)[] | undefined {
  const fn = btf.types.find((t) => t?.kind === BTF_KIND.FUNC && t.name === name);
  const proto = fn ? btf.types[fn.sizeOrType] : undefined;
  if (!proto || proto.kind !== BTF_KIND.FUNC_PROTO) return undefined;
  if (btf.types.some((t) => t?.kind === BTF_KIND.DECL_TAG && t.sizeOrType === fn!.id)) return undefined;
  return btfParams(btf, proto).map((a) => skipModsAndTypedefs(btf, a.type));
}

/** Whether an argument's type (typedefs and qualifiers skipped) is a pointer to `struct xdp_md`, the context. */
const isCtxPointer = (btf: Btf, t: BtfType | undefined): boolean => {
  const to = t?.kind === BTF_KIND.PTR ? skipModsAndTypedefs(btf, t.sizeOrType) : undefined;
  return to?.kind === BTF_KIND.STRUCT && to.name === 'xdp_md';
};

/**
 * A global function's pointer arguments: the size of what each points to (resolved through typedefs, qualifiers and
 * arrays), or undefined for a number, a pointer to the context (struct xdp_md), a tagged argument, or a pointee
 * without a size (void). Undefined when the BTF has no such function.
 */
function btfArgMemSizes(btf: Btf, name: string): (number | undefined)[] | undefined {
  return btfGlobalArgs(btf, name)?.map((t) => {
    if (t?.kind !== BTF_KIND.PTR || !skipModsAndTypedefs(btf, t.sizeOrType) || isCtxPointer(btf, t)) return undefined;
    const size = resolveSize(btf, t.sizeOrType);
    return typeof size === 'number' && size > 0 ? size : undefined;
  });
}

/**
 * A global function's pointer arguments whose pointee has no size, as btf_prepare_func_args names the pointee in its
 * refusal ("arg#0 reference type('UNKNOWN ') size cannot be determined: -22"): `void *` (BTF's void, kind UNKN) or a
 * struct only declared (FWD); undefined for other arguments, and as btfGlobalArgs.
 */
function btfArgUnsized(btf: Btf, name: string): (string | undefined)[] | undefined {
  return btfGlobalArgs(btf, name)?.map((t) => {
    if (t?.kind !== BTF_KIND.PTR || isCtxPointer(btf, t)) return undefined;
    const to = skipModsAndTypedefs(btf, t.sizeOrType);
    if (!to) return 'UNKNOWN ';
    return to.kind === BTF_KIND.FWD ? `FWD ${to.name}` : undefined;
  });
}

/** A global function's arguments that are pointers to the context (`struct xdp_md *`); undefined as btfGlobalArgs. */
function btfArgCtx(btf: Btf, name: string): boolean[] | undefined {
  return btfGlobalArgs(btf, name)?.map((t) => isCtxPointer(btf, t));
}

/** A global function's arguments that are integers or enums (numbers to the verifier); undefined as btfGlobalArgs. */
function btfArgScalar(btf: Btf, name: string): boolean[] | undefined {
  return btfGlobalArgs(btf, name)?.map((t) => t?.kind === BTF_KIND.INT || t?.kind === BTF_KIND.ENUM || t?.kind === BTF_KIND.ENUM64);
}

/**
 * Whether the BTF function `name` returns a scalar as the verifier's check_btf_func reads it (an INT of at most 8
 * bytes or an ENUM/ENUM64, after typedefs and qualifiers); undefined when the BTF has no such function.
 */
function btfReturnsScalar(btf: Btf, name: string): boolean | undefined {
  const fn = btf.types.find((t) => t?.kind === BTF_KIND.FUNC && t.name === name);
  const proto = fn ? btf.types[fn.sizeOrType] : undefined;
  if (!proto || proto.kind !== BTF_KIND.FUNC_PROTO) return undefined;
  const t = skipModsAndTypedefs(btf, proto.sizeOrType);
  if (!t) return false; // void
  return (t.kind === BTF_KIND.INT && t.sizeOrType <= 8) || t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64;
}
