// A total reader for the parts of an ELF64 relocatable object that a BPF loader needs: the header, section headers,
// the symbol table and `.rel*` relocation sections. Every read is bounds-checked against the file; anything that does
// not fit is reported as a diagnostic naming the byte offset, and the rest of the file is still read where possible
// (the way libbpf's bpf_object__elf_init / elf_collect reject a file, but without ever throwing).
//
// Layouts are from the System V gABI ("ELF-64 Object File Format"); BPF objects are ELF64, little-endian,
// e_machine EM_BPF (247), e_type ET_REL [reference B.1].

export const EM_BPF = 247;
export const ET_REL = 1;

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;

export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;

export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;
/** The most section headers read: BPF objects have hundreds at most; 65,536 still loads in seconds. */
export const MAX_SECTIONS = 65536;

export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;

export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;

export const STV_DEFAULT = 0;
export const STV_INTERNAL = 1;
export const STV_HIDDEN = 2;

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const RELA_SIZE = 24;

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
  /** The section's bytes (empty for SHT_NOBITS and for sections whose range is outside the file). */
  data: Uint8Array;
}

export interface ElfSymbol {
  index: number;
  name: string;
  bind: number;
  type: number;
  visibility: number;
  shndx: number;
  value: number;
  size: number;
}

export interface ElfRel {
  /** Byte offset in the target section. */
  offset: number;
  symbol: number;
  type: number;
  /** Explicit addend (SHT_RELA only; BPF objects use SHT_REL with the addend stored in the patched field). */
  addend?: number;
}

export interface ElfRelSection {
  section: ElfSection;
  /** Index of the section the relocations apply to (sh_info). */
  target: number;
  rels: ElfRel[];
}

export interface ElfFile {
  sections: ElfSection[];
  symbols: ElfSymbol[];
  relSections: ElfRelSection[];
}

export interface ElfProblem {
  severity: 'error' | 'warning';
  message: string;
  section?: string;
}

/** Read a u64 as a JS number; values beyond 2^53 become Infinity so that every range check against the file fails. */
function u64AsNumber(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
}

/** A u64 as written in the file, for messages (decimal; hex too when it is beyond 2^53). */
function u64Text(view: DataView, at: number): string {
  const v = view.getBigUint64(at, true);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? `${v} = 0x${v.toString(16)}` : String(v);
}

/** A NUL-terminated string at `at` inside `table` ('' when out of range or unterminated). */
export function cString(table: Uint8Array, at: number): string {
  if (at < 0 || at >= table.length) return '';
  let end = at;
  while (end < table.length && table[end] !== 0) end++;
  return new TextDecoder('utf-8', { fatal: false }).decode(table.subarray(at, end));
}

/** Parse the ELF container. Returns undefined with an error when the header itself is unusable. */
export function parseElf(bytes: Uint8Array): { elf?: ElfFile; problems: ElfProblem[] } {
  const problems: ElfProblem[] = [];
  const fail = (message: string) => ({ problems: [...problems, { severity: 'error' as const, message }] });
  if (bytes.length < 16) return fail(`file is ${bytes.length} bytes, too short for an ELF identification (16 bytes)`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    return fail('not an ELF file: bytes 0-3 are not \\x7fELF');
  }
  if (bytes[4] !== 2) return fail(`byte 4 (EI_CLASS) is ${bytes[4]}, expected 2 (ELFCLASS64): BPF objects are 64-bit`);
  if (bytes[5] !== 1) {
    return fail(`byte 5 (EI_DATA) is ${bytes[5]}, expected 1 (little-endian): big-endian BPF objects are not supported`);
  }
  if (bytes.length < EHDR_SIZE) return fail(`file is ${bytes.length} bytes, too short for the 64-byte ELF64 header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eType = view.getUint16(16, true);
  const eMachine = view.getUint16(18, true);
  if (eMachine !== EM_BPF) return fail(`byte 18 (e_machine) is ${eMachine}, expected ${EM_BPF} (EM_BPF): not a BPF object`);
  if (eType !== ET_REL) {
    problems.push({ severity: 'warning', message: `byte 16 (e_type) is ${eType}, expected 1 (ET_REL relocatable object)` });
  }
  const shoff = u64AsNumber(view, 40);
  const shentsize = view.getUint16(58, true);
  let shnum = view.getUint16(60, true);
  let shstrndx = view.getUint16(62, true);
  if (shoff === 0) return fail('byte 40 (e_shoff) is 0: the file has no section headers');
  if (shentsize !== SHDR_SIZE) return fail(`byte 58 (e_shentsize) is ${shentsize}, expected ${SHDR_SIZE}`);
  if (shoff + SHDR_SIZE > bytes.length) {
    return fail(`section header table at byte ${u64Text(view, 40)} (e_shoff) is beyond the end of the ${bytes.length}-byte file`);
  }
  // Extended numbering: with 0xff00 or more sections, the real counts live in section header 0 (gABI).
  const shnumText = shnum === 0 ? u64Text(view, shoff + 32) : String(shnum);
  if (shnum === 0) shnum = u64AsNumber(view, shoff + 32);
  if (shstrndx === SHN_XINDEX) shstrndx = view.getUint32(shoff + 40, true);
  if (shnum > MAX_SECTIONS) {
    const where = view.getUint16(60, true) === 0 ? `section header 0's sh_size at byte ${shoff + 32}` : 'byte 60 (e_shnum)';
    return fail(`${where} gives ${shnumText} sections; at most ${MAX_SECTIONS} are read (a program per section would take minutes and gigabytes)`);
  }
  if (shoff + shnum * SHDR_SIZE > bytes.length) {
    const fits = Math.max(0, Math.floor((bytes.length - shoff) / SHDR_SIZE));
    problems.push({
      severity: 'error',
      message: `section header table (${shnumText} entries at byte ${shoff}) runs past the end of the ${bytes.length}-byte file; only ${fits} headers read`,
    });
    shnum = fits;
  }

  const sections: ElfSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * SHDR_SIZE;
    const type = view.getUint32(at + 4, true);
    const offset = u64AsNumber(view, at + 24);
    const size = u64AsNumber(view, at + 32);
    sections.push({
      index: i,
      name: '',
      type,
      flags: Number(view.getBigUint64(at + 8, true) & 0xffffffffn),
      offset,
      size,
      link: view.getUint32(at + 40, true),
      info: view.getUint32(at + 44, true),
      entsize: u64AsNumber(view, at + 56),
      data: new Uint8Array(0),
    });
  }
  // Section bytes, then names (the name table is itself a section).
  const nameOffsets = sections.map((_, i) => view.getUint32(shoff + i * SHDR_SIZE, true));
  for (const s of sections) {
    if (s.type === SHT_NOBITS || s.type === SHT_NULL) continue;
    if (s.offset + s.size > bytes.length || !Number.isFinite(s.size)) {
      s.data = new Uint8Array(0);
      (s as ElfSection & { bad?: boolean }).bad = true;
    } else {
      s.data = bytes.subarray(s.offset, s.offset + s.size);
    }
  }
  const strtab = shstrndx < sections.length ? sections[shstrndx].data : new Uint8Array(0);
  if (shstrndx >= sections.length) {
    problems.push({ severity: 'error', message: `e_shstrndx ${shstrndx} is not a section (the file has ${sections.length})` });
  }
  sections.forEach((s, i) => {
    s.name = cString(strtab, nameOffsets[i]);
  });
  for (const s of sections as (ElfSection & { bad?: boolean })[]) {
    if (s.bad) {
      problems.push({
        severity: 'error',
        section: s.name,
        message: `section ${s.index} '${s.name}': its bytes (sh_offset ${u64Text(view, shoff + s.index * SHDR_SIZE + 24)}, sh_size ${u64Text(view, shoff + s.index * SHDR_SIZE + 32)}) reach past the end of the ${bytes.length}-byte file`,
      });
      delete s.bad;
    }
  }

  // Symbol table: the (only) SHT_SYMTAB section, names in its sh_link string table.
  const symbols: ElfSymbol[] = [];
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  if (symtab) {
    if (symtab.size % SYM_SIZE !== 0) {
      problems.push({ severity: 'warning', section: symtab.name, message: `symbol table size ${symtab.size} is not a multiple of ${SYM_SIZE}` });
    }
    const names = symtab.link < sections.length ? sections[symtab.link].data : new Uint8Array(0);
    const sv = new DataView(symtab.data.buffer, symtab.data.byteOffset, symtab.data.byteLength);
    const n = Math.floor(symtab.data.length / SYM_SIZE);
    for (let i = 0; i < n; i++) {
      const at = i * SYM_SIZE;
      const info = sv.getUint8(at + 4);
      symbols.push({
        index: i,
        name: cString(names, sv.getUint32(at, true)),
        bind: info >> 4,
        type: info & 0xf,
        visibility: sv.getUint8(at + 5) & 0x3,
        shndx: sv.getUint16(at + 6, true),
        value: u64AsNumber(sv, at + 8),
        size: u64AsNumber(sv, at + 16),
      });
    }
  }

  const relSections: ElfRelSection[] = [];
  for (const s of sections) {
    if (s.type !== SHT_REL && s.type !== SHT_RELA) continue;
    const entsize = s.type === SHT_REL ? REL_SIZE : RELA_SIZE;
    if (s.info >= sections.length) {
      problems.push({ severity: 'error', section: s.name, message: `relocation section '${s.name}': sh_info ${s.info} is not a section` });
      continue;
    }
    const rv = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
    const rels: ElfRel[] = [];
    if (s.data.length % entsize !== 0) {
      problems.push({ severity: 'warning', section: s.name, message: `relocation section '${s.name}': size ${s.size} is not a multiple of ${entsize}` });
    }
    for (let at = 0; at + entsize <= s.data.length; at += entsize) {
      const info = rv.getBigUint64(at + 8, true);
      const rel: ElfRel = { offset: u64AsNumber(rv, at), symbol: Number(info >> 32n), type: Number(info & 0xffffffffn) };
      if (s.type === SHT_RELA) rel.addend = Number(rv.getBigInt64(at + 16, true));
      rels.push(rel);
    }
    relSections.push({ section: s, target: s.info, rels });
  }
  return { elf: { sections, symbols, relSections }, problems };
}
