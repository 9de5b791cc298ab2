// Loading one program of an object into the running kernel, as a loader that picks that program would, for
// `xdp-lens compare` and the kernel tier of `check`. Two problems have to be solved without libbpf in-process (we drive
// bpftool, which loads every program of an object, as the type its section names):
//
// 1. Only the chosen program (and the XDP programs it may tail-call) is loaded, each with its own program type.
//    We load a patched copy of the object: every other program's section loses SHF_EXECINSTR (libbpf then treats it
//    as an unknown data section and skips its relocations), other programs that share a kept section have their
//    symbol turned from STT_FUNC into STT_NOTYPE (libbpf finds programs by their function symbols and skips
//    relocations of instructions that belong to no program), and a kept section whose name libbpf >= 1.0 does not
//    recognise (`xdp_sock`, `xdp_packet_hook`, the pre-1.0 `xdp_devmap/...`) is renamed to the standard name with the
//    same meaning (`xdp`, `xdp.frags`, `xdp/devmap`, `xdp/cpumap`), in the ELF section table and in the BTF string
//    that `.BTF.ext` uses to find the section's line and function info. The new names are appended (new copies of
//    `.strtab` and `.BTF` at the end of the file), so no string that other entries share is overwritten. This is
//    better than bpftool's `type xdp`, which sets one type and expected attach type for every program it loads, so
//    a devmap program would lose BPF_XDP_DEVMAP and a tc program beside it would be forced to XDP.
//
// 2. Nothing is left in /sys/fs/bpf, whatever happens. Everything runs inside a private mount namespace
//    (`unshare --mount`) with its own, empty bpf filesystem mounted over /sys/fs/bpf: the program, every map
//    (`pinmaps` into that root, which is also where libbpf puts `LIBBPF_PIN_BY_NAME` maps, so those load too and never
//    meet a stale map of the same name) are pinned only there. When the script ends, or is killed with any signal,
//    including SIGKILL of the whole process tree, the namespace and its bpffs go away with everything in them; the
//    host's /sys/fs/bpf is never written. No signal handler is needed for that (a JS handler could not even run
//    while spawnSync blocks); the script's own trap removes its temporary directory when it is interrupted.
import { spawnSync } from 'node:child_process';
import type { MapDef } from './elf/types.ts';

const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_REL = 9;
const STT_SECTION = 3;
const SHF_EXECINSTR = 4n;
const STT_FUNC = 2;

export interface ElfProgram {
  name: string;
  section: string;
}

interface ElfView {
  b: Buffer;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
  symtab: number;
}

function view(bytes: Uint8Array): ElfView | string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) return 'not an ELF file';
  if (b[4] !== 2 || b[5] !== 1) return 'not a 64-bit little-endian ELF file';
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const shstrndx = b.readUInt16LE(0x3e);
  if (shentsize < 64 || shoff + shnum * shentsize > b.length || shstrndx >= shnum) return 'bad section header table';
  let symtab = -1;
  for (let i = 0; i < shnum; i++) if (b.readUInt32LE(shoff + i * shentsize + 4) === SHT_SYMTAB) symtab = i;
  if (symtab < 0) return 'no symbol table';
  return { b, shoff, shentsize, shnum, shstrndx, symtab };
}

const sh = (v: ElfView, i: number) => v.shoff + i * v.shentsize;
const secOffset = (v: ElfView, i: number) => Number(v.b.readBigUInt64LE(sh(v, i) + 24));
const secSize = (v: ElfView, i: number) => Number(v.b.readBigUInt64LE(sh(v, i) + 32));

function cstr(b: Buffer, off: number): string {
  let e = off;
  while (e < b.length && b[e] !== 0) e++;
  return b.toString('latin1', off, e);
}

const secName = (v: ElfView, i: number) => cstr(v.b, secOffset(v, v.shstrndx) + v.b.readUInt32LE(sh(v, i)));

function* symbols(v: ElfView): Generator<{ at: number; name: string; type: number; shndx: number }> {
  const off = secOffset(v, v.symtab);
  const size = secSize(v, v.symtab);
  const strtab = v.b.readUInt32LE(sh(v, v.symtab) + 40);
  const strOff = secOffset(v, strtab);
  for (let at = off; at + 24 <= off + size && at + 24 <= v.b.length; at += 24)
    yield { at, name: cstr(v.b, strOff + v.b.readUInt32LE(at)), type: v.b[at + 4]! & 0xf, shndx: v.b.readUInt16LE(at + 6) };
}

const isExecProgbits = (v: ElfView, i: number) =>
  v.b.readUInt32LE(sh(v, i) + 4) === SHT_PROGBITS && (v.b.readBigUInt64LE(sh(v, i) + 8) & SHF_EXECINSTR) !== 0n && secSize(v, i) > 0;

/** The programs of an object as libbpf finds them: function symbols in executable sections other than `.text`. */
export function elfPrograms(bytes: Uint8Array): ElfProgram[] | string {
  const v = view(bytes);
  if (typeof v === 'string') return v;
  const out: ElfProgram[] = [];
  for (const s of symbols(v)) {
    if (s.type !== STT_FUNC || s.shndx === 0 || s.shndx >= v.shnum || !isExecProgbits(v, s.shndx)) continue;
    const section = secName(v, s.shndx);
    if (section !== '.text') out.push({ name: s.name, section });
  }
  return out;
}

/**
 * The section name libbpf >= 1.0 gives the same meaning as `section` (an XDP section), or undefined when libbpf
 * already knows the name. `frags` is the program's BPF_F_XDP_HAS_FRAGS.
 */
export function standardXdpSection(section: string, frags: boolean): string | undefined {
  // libbpf 1.x knows exactly these (bpftool 7.1's libbpf 1.1 does not take `xdp/anything` as XDP).
  if (/^xdp(\.frags)?(\/(devmap|cpumap))?$/.test(section)) return undefined;
  const kind = /^xdp(\.frags)?[_/](devmap|cpumap)(\/|$)/.exec(section)?.[2];
  const base = frags ? 'xdp.frags' : 'xdp';
  return kind ? `${base}/${kind}` : base;
}

/**
 * Whether a loader takes a program in `section` as XDP: an `xdp` section, or a name libbpf gives no program type
 * (`XDPDRA`, `prog`, `filter_main`), which iproute2 (`ip link set dev D xdp obj F sec NAME`) and loaders that set
 * the type themselves load as XDP, as `run` runs it; the kernel side then loads it under the name `xdp`. A section
 * libbpf names another type (tc, classifier, kprobe/..., socket, cgroup/..., ...) is not XDP.
 */
export function loadedAsXdp(section: string): boolean {
  if (section.startsWith('xdp')) return true;
  return !/^(socket|sk_reuseport|k(ret)?probe|u(ret)?probe|k(ret)?syscall|usdt|tc|tcx|netkit|classifier|action|tracepoint|tp|raw_tracepoint|raw_tp|tp_btf|fentry|fmod_ret|fexit|freplace|lsm|iter|syscall|perf_event|lwt_in|lwt_out|lwt_xmit|lwt_seg6local|sockops|sk_skb|sk_msg|lirc_mode2|flow_dissector|cgroup_skb|cgroup|struct_ops|sk_lookup|netfilter|license|version|maps|\.)(\d*$|[/.:]|$)/.test(section);
}

/** BPF_PROG_TEST_RUN refuses programs attached to a DEVMAP or CPUMAP entry (expected attach type set by the section). */
export function isDevmapOrCpumap(section: string): boolean {
  return /^xdp(\.frags)?[/_](devmap|cpumap)(\/|$)/.test(section);
}

/**
 * A copy of `bytes` in which only the programs named in `keep` are programs (see the header), kept sections with a
 * name libbpf does not know renamed as `standardXdpSection` says. `frags` names kept programs marked xdp.frags.
 */
export function objectWithOnly(bytes: Uint8Array, keep: ReadonlySet<string>, frags: ReadonlySet<string> = new Set()): Uint8Array | string {
  const v0 = view(bytes);
  if (typeof v0 === 'string') return v0;
  const keptSections = new Map<number, string>();
  const found = new Set<string>();
  for (const s of symbols(v0)) {
    if (s.type !== STT_FUNC || !keep.has(s.name) || s.shndx >= v0.shnum || !isExecProgbits(v0, s.shndx) || secName(v0, s.shndx) === '.text') continue;
    keptSections.set(s.shndx, s.name);
    found.add(s.name);
  }
  const missing = [...keep].filter((n) => !found.has(n));
  if (missing.length) return `no program ${missing.join(', ')} in the object`;
  const b = Buffer.from(bytes); // a copy
  const v: ElfView = { ...v0, b };
  for (let i = 0; i < v.shnum; i++) {
    if (!isExecProgbits(v, i) || keptSections.has(i) || secName(v, i) === '.text') continue;
    b.writeBigUInt64LE(b.readBigUInt64LE(sh(v, i) + 8) & ~SHF_EXECINSTR, sh(v, i) + 8);
  }
  for (const s of symbols(v)) if (s.type === STT_FUNC && keptSections.has(s.shndx) && !keep.has(s.name)) b[s.at + 4] = b[s.at + 4]! & 0xf0;
  const renames = new Map<number, string>();
  for (const [i, prog] of keptSections) {
    const to = standardXdpSection(secName(v, i), frags.has(prog));
    if (to) renames.set(i, to);
  }
  return renames.size ? renameSections(v, renames) : b;
}

/** Appends new copies of the section-name table and of .BTF holding the new names; patches .BTF.ext in place. */
function renameSections(v: ElfView, renames: Map<number, string>): Uint8Array | string {
  const { parts, append } = appender(v.b);
  let btf = -1;
  let ext = -1;
  for (let i = 0; i < v.shnum; i++) {
    const n = secName(v, i);
    if (n === '.BTF') btf = i;
    if (n === '.BTF.ext') ext = i;
  }
  // Section names.
  const oldNames = new Map([...renames.keys()].map((i) => [i, secName(v, i)]));
  const strIdx = v.shstrndx;
  const strOld = v.b.subarray(secOffset(v, strIdx), secOffset(v, strIdx) + secSize(v, strIdx));
  const added: Buffer[] = [];
  let strLen = strOld.length;
  const nameOff = new Map<string, number>();
  for (const to of new Set(renames.values())) {
    nameOff.set(to, strLen);
    added.push(Buffer.from(`${to}\0`, 'latin1'));
    strLen += to.length + 1;
  }
  const strAt = append(Buffer.concat([strOld, ...added]), 1);
  v.b.writeBigUInt64LE(BigInt(strAt), sh(v, strIdx) + 24);
  v.b.writeBigUInt64LE(BigInt(strLen), sh(v, strIdx) + 32);
  for (const [i, to] of renames) v.b.writeUInt32LE(nameOff.get(to)!, sh(v, i));
  // BTF: .BTF.ext names sections by BTF string offset; point those records at new strings.
  if (btf >= 0 && ext >= 0) {
    const data = v.b.subarray(secOffset(v, btf), secOffset(v, btf) + secSize(v, btf));
    const h = readBtfHeader(data);
    if (typeof h === 'string') return h;
    const { hdrLen, strOff, strLen: strSize } = h;
    const strEnd = hdrLen + strOff + strSize;
    if (strEnd !== data.length) return '.BTF strings are not at the end of the section';
    const strings = data.subarray(hdrLen + strOff, strEnd);
    const btfOff = new Map<string, number>();
    const more: Buffer[] = [];
    let size = strSize;
    for (const to of new Set(renames.values())) {
      btfOff.set(to, size);
      more.push(Buffer.from(`${to}\0`, 'latin1'));
      size += to.length + 1;
    }
    const newBtf = Buffer.concat([data, ...more]);
    newBtf.writeUInt32LE(size, 20);
    const byOld = new Map([...renames].map(([i, to]) => [oldNames.get(i)!, btfOff.get(to)!]));
    const e = v.b.subarray(secOffset(v, ext), secOffset(v, ext) + secSize(v, ext));
    if (e.length >= 24 && e.readUInt16LE(0) === 0xeb9f) {
      const eh = e.readUInt32LE(4);
      const infos: [number, number][] = [[e.readUInt32LE(8), e.readUInt32LE(12)], [e.readUInt32LE(16), e.readUInt32LE(20)]];
      if (eh >= 32) infos.push([e.readUInt32LE(24), e.readUInt32LE(28)]);
      for (const [off, len] of infos) {
        if (len < 4) continue;
        let at = eh + off;
        const stop = at + len;
        const recSize = e.readUInt32LE(at);
        at += 4;
        while (at + 8 <= stop) {
          const name = cstr(strings, e.readUInt32LE(at));
          const n = e.readUInt32LE(at + 4);
          const to = byOld.get(name);
          if (to !== undefined) e.writeUInt32LE(to, at);
          at += 8 + n * recSize;
        }
      }
    }
    const btfAt = append(newBtf, 8);
    v.b.writeBigUInt64LE(BigInt(btfAt), sh(v, btf) + 24);
    v.b.writeBigUInt64LE(BigInt(newBtf.length), sh(v, btf) + 32);
  }
  return new Uint8Array(Buffer.concat(parts));
}

let namespaceProbe: string | undefined | null = null;

/** Undefined when a private mount namespace with its own bpffs can be made here, else why not. Cached. */
export function privateBpffsUnavailable(): string | undefined {
  if (namespaceProbe !== null) return namespaceProbe;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t bpf xdp-lens /sys/fs/bpf'], { encoding: 'utf8', timeout: 10000 });
  namespaceProbe = r.error
    ? `cannot run unshare (util-linux): ${r.error.message}`
    : r.status !== 0
      ? `cannot mount a private bpf filesystem (unshare --mount; mount -t bpf): ${(r.stderr || '').trim().split('\n').pop()}`
      : undefined;
  return namespaceProbe;
}

/** The directory, inside the private bpffs, where programs are pinned (a name no map can have: maps have no '-'). */
export const PRIVATE_BPFFS = '/sys/fs/bpf';
export const PROGS_DIR = `${PRIVATE_BPFFS}/xdp-lens-progs`;

/** Quote for sh. */
export const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `body` (POSIX sh) in a private mount namespace with a fresh bpffs mounted at /sys/fs/bpf. `tmp` is removed by
 * the script when it is interrupted, or at its end if this process is gone (killed while waiting). With `net`, also in
 * a network namespace of its own (lo only), the host the simulator models for bpf_fib_lookup, bpf_check_mtu and the
 * socket lookups.
 */
export function runWithPrivateBpffs(body: string, tmp: string, timeoutMs: number, opts: { net?: boolean } = {}) {
  const script = [
    `T=${sq(tmp)}`,
    // On a signal (the timeout below, an interrupt) every process of the run goes: the shell leads its own process
    // group (setsid), and the body runs in the background so that the trap fires at once, not after the command
    // running then (a bpftool dump of a huge map would otherwise keep running and keep the pipes open).
    `trap 'rm -rf "$T"; trap - INT TERM HUP; kill -KILL 0' INT TERM HUP`,
    `mount -t bpf xdp-lens ${PRIVATE_BPFFS} || exit 90`,
    `mkdir ${PROGS_DIR} || exit 90`,
    `(`,
    body,
    `) </dev/null &`,
    `wait $!`,
    `rc=$?`,
    `kill -0 ${process.pid} 2>/dev/null || rm -rf "$T"`,
    `exit $rc`,
  ].join('\n');
  return spawnSync('setsid', ['unshare', '--mount', ...(opts.net ? ['--net'] : []), '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 << 20 });
}

/** `sanitize_pin_path` of libbpf: bpffs names have no '.'. */
export const pinName = (mapName: string) => mapName.replace(/\./g, '_');

/**
 * Replaces the contents of the data section `section` (`.data`, `.rodata`, `.data.foo`, ...) with `data` in place:
 * libbpf takes a global-data map's initial value from its section, which is how a loader sets `.rodata` before the
 * map is frozen. False when there is no such PROGBITS section of that size (`.bss` has no bytes in the file).
 */
export function patchSectionData(bytes: Uint8Array, section: string, data: Uint8Array): boolean {
  const v = view(bytes);
  if (typeof v === 'string') return false;
  for (let i = 0; i < v.shnum; i++) {
    if (secName(v, i) !== section || v.b.readUInt32LE(sh(v, i) + 4) !== SHT_PROGBITS || secSize(v, i) !== data.length) continue;
    v.b.set(data, secOffset(v, i));
    return true;
  }
  return false;
}

/** A legacy map's definition as the simulator read it (`struct bpf_map_def`, or iproute2's `struct bpf_elf_map`). */
export interface LegacyMapDef extends Pick<MapDef, 'name' | 'type' | 'keySize' | 'valueSize' | 'maxEntries' | 'flags'> {
  inner?: LegacyMapDef;
}

/** The legacy (SEC("maps")) maps of a loaded object, as `legacyMapsAsBtf` takes them (flags as declared). */
export function legacyMapDefs(maps: readonly MapDef[]): LegacyMapDef[] {
  const one = (d: MapDef): LegacyMapDef => ({
    name: d.name, type: d.type, keySize: d.keySize, valueSize: d.valueSize, maxEntries: d.maxEntries, flags: d.declaredFlags ?? d.flags,
    ...(d.inner ? { inner: one(d.inner) } : {}),
  });
  return maps.filter((m) => m.kind === 'user' && m.section === 'maps').map(one);
}

/** The object has a legacy `maps` section (libbpf >= 1.0 refuses to open it as it is). */
export function hasLegacyMaps(bytes: Uint8Array): boolean {
  const v = view(bytes);
  if (typeof v === 'string') return false;
  for (let i = 0; i < v.shnum; i++) if (secName(v, i) === 'maps' && v.b.readUInt32LE(sh(v, i) + 4) === SHT_PROGBITS) return true;
  return false;
}

const BTF_KIND_INT = 1;
const BTF_KIND_PTR = 2;
const BTF_KIND_ARRAY = 3;
const BTF_KIND_STRUCT = 4;
const BTF_KIND_VAR = 14;
const BTF_KIND_DATASEC = 15;
const BTF_VAR_GLOBAL_ALLOCATED = 1;
const STB_GLOBAL = 1;

/** Bytes after the 12-byte common header of a BTF type of this kind with vlen entries (undefined: unknown kind). */
function btfTypeExtra(kind: number, vlen: number): number | undefined {
  switch (kind) {
    case 1: case 14: case 17: return 4; // INT, VAR, DECL_TAG
    case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18: return 0;
    case 3: return 12; // ARRAY
    case 4: case 5: case 15: case 19: return 12 * vlen; // STRUCT, UNION, DATASEC, ENUM64
    case 6: case 13: return 8 * vlen; // ENUM, FUNC_PROTO
    default: return undefined;
  }
}

/**
 * A copy of `bytes` in which the legacy `maps` section (one `struct bpf_map_def` or `struct bpf_elf_map` per symbol,
 * which libbpf >= 1.0 refuses to open) has become a BTF-defined `.maps` section that libbpf opens: the section is
 * renamed `.maps`, the BTF DATASEC clang wrote for it too, and each map's BTF VAR gets a new struct type saying what
 * the definition said (`__uint(type, ...)`, key_size, value_size, max_entries, map_flags, and for a map of maps with
 * an inner template `__array(values, struct {...})`), global, as libbpf requires of a map. The VARs keep their names,
 * so libbpf names and pins the maps as the legacy loaders did. The struct has all members at offset 0 and the size of
 * one pointer, so that it fits the 20-byte (or larger) definition each VAR spans in the section: libbpf reads only the
 * member types. Map symbols that are `static` become global (libbpf finds a `.maps` VAR's offset by a global symbol).
 * `defs` are the simulator's definitions, by name; the object needs BTF (compiled with -g), else a reason is returned.
 */
export function legacyMapsAsBtf(bytes: Uint8Array, defs: readonly LegacyMapDef[]): Uint8Array | string {
  const v0 = view(bytes);
  if (typeof v0 === 'string') return v0;
  const b = Buffer.from(bytes);
  const v: ElfView = { ...v0, b };
  let maps = -1;
  let btf = -1;
  for (let i = 0; i < v.shnum; i++) {
    const n = secName(v, i);
    if (n === 'maps' && v.b.readUInt32LE(sh(v, i) + 4) === SHT_PROGBITS) maps = i;
    if (n === '.maps') return 'legacy SEC("maps") beside BTF-defined SEC(".maps") maps';
    if (n === '.BTF') btf = i;
  }
  if (maps < 0) return b;
  // The existing BTF (compiled with -g: clang wrote a DATASEC `maps` with one VAR per map), or none: then a BTF of
  // our own holds only the maps' types, VARs and DATASEC, in a new `.BTF` section.
  let header = Buffer.alloc(24);
  let types = Buffer.alloc(0);
  let strings = Buffer.from('\0', 'latin1');
  if (btf >= 0) {
    const data = b.subarray(secOffset(v, btf), secOffset(v, btf) + secSize(v, btf));
    const h = readBtfHeader(data);
    if (typeof h === 'string') return h;
    const { hdrLen, typeOff, typeLen, strOff, strLen } = h;
    header = Buffer.from(data.subarray(0, hdrLen));
    types = Buffer.from(data.subarray(hdrLen + typeOff, hdrLen + typeOff + typeLen));
    strings = data.subarray(hdrLen + strOff, hdrLen + strOff + strLen);
  } else {
    header.writeUInt16LE(0xeb9f, 0);
    header[2] = 1; // version
    header.writeUInt32LE(24, 4);
  }
  const at: number[] = [0]; // offset of each type id's record (id 0 is void)
  for (let o = 0; o + 12 <= types.length; ) {
    at.push(o);
    const info = types.readUInt32LE(o + 4);
    const extra = btfTypeExtra((info >>> 24) & 0x1f, info & 0xffff);
    if (extra === undefined) return `unknown BTF kind ${(info >>> 24) & 0x1f}`;
    o += 12 + extra;
  }
  const kindOf = (id: number) => (types.readUInt32LE(at[id]! + 4) >>> 24) & 0x1f;
  const nameOf = (id: number) => cstr(strings, types.readUInt32LE(at[id]!));
  const datasec = at.findIndex((_, id) => id > 0 && kindOf(id) === BTF_KIND_DATASEC && nameOf(id) === 'maps');
  if (btf >= 0 && datasec < 0) return 'no BTF DATASEC for section maps';

  // New strings and types, appended.
  const more: string[] = [];
  let strEnd = strings.length;
  const str = (s: string) => {
    const off = strEnd;
    more.push(`${s}\0`);
    strEnd += Buffer.byteLength(s, 'latin1') + 1;
    return off;
  };
  const added: Buffer[] = [];
  let nextId = at.length;
  const type = (nameOff: number, kind: number, vlen: number, sizeOrType: number, extra: Buffer = Buffer.alloc(0)) => {
    const t = Buffer.alloc(12);
    t.writeUInt32LE(nameOff, 0);
    t.writeUInt32LE(((kind << 24) | vlen) >>> 0, 4);
    t.writeUInt32LE(sizeOrType, 8);
    added.push(t, extra);
    return nextId++;
  };
  const u32s = (...xs: number[]) => {
    const x = Buffer.alloc(4 * xs.length);
    xs.forEach((n, i) => x.writeUInt32LE(n >>> 0, 4 * i));
    return x;
  };
  const intId = type(str('int'), BTF_KIND_INT, 0, 4, u32s((1 << 24) | 32)); // signed, 32 bits
  const ptrTo = new Map<number, number>();
  // `__uint(name, n)`: a member of type int (*)[n].
  const uintType = (n: number) => {
    let id = ptrTo.get(n);
    if (id === undefined) {
      const arr = type(0, BTF_KIND_ARRAY, 0, 0, u32s(intId, intId, n));
      id = type(0, BTF_KIND_PTR, 0, arr);
      ptrTo.set(n, id);
    }
    return id;
  };
  const names = new Map<string, number>();
  const nameAt = (s: string) => names.get(s) ?? (names.set(s, str(s)), names.get(s)!);
  const defStruct = (d: LegacyMapDef): number => {
    const fields: [string, number][] = [['type', d.type], ['key_size', d.keySize], ['value_size', d.valueSize], ['max_entries', d.maxEntries], ['map_flags', d.flags]];
    const all: (readonly [number, number])[] = fields.map(([n, x]) => [nameAt(n), uintType(x)] as const);
    if (d.inner) {
      const inner = defStruct(d.inner);
      const ptr = type(0, BTF_KIND_PTR, 0, inner);
      all.push([nameAt('values'), type(0, BTF_KIND_ARRAY, 0, 0, u32s(ptr, intId, 0))]);
    }
    return type(0, BTF_KIND_STRUCT, all.length, 8, u32s(...all.flatMap(([n, t]) => [n, t, 0])));
  };
  const byName = new Map(defs.map((d) => [d.name, d]));

  // Map symbols: global, so that libbpf finds each VAR's offset from its symbol.
  const symOff = secOffset(v, v.symtab);
  const mapSyms = new Map<number, number>(); // offset in the section -> symbol index
  const mapSymList: { name: string; value: number; size: number }[] = [];
  for (const s of symbols(v)) {
    if (s.shndx !== maps || !s.name || (b[s.at + 4]! & 0xf) === STT_SECTION) continue;
    if (b[s.at + 4]! >>> 4 !== STB_GLOBAL) b[s.at + 4] = (STB_GLOBAL << 4) | (b[s.at + 4]! & 0xf);
    const value = Number(b.readBigUInt64LE(s.at + 8));
    mapSyms.set(value, (s.at - symOff) / 24);
    mapSymList.push({ name: s.name, value, size: Number(b.readBigUInt64LE(s.at + 16)) });
  }

  if (datasec >= 0) {
    const vlen = types.readUInt32LE(at[datasec]! + 4) & 0xffff;
    for (let i = 0; i < vlen; i++) {
      const varId = types.readUInt32LE(at[datasec]! + 12 + 12 * i);
      if (kindOf(varId) !== BTF_KIND_VAR) return `BTF DATASEC maps entry ${i} is not a VAR`;
      const d = byName.get(nameOf(varId));
      if (!d) return `no map definition for BTF VAR ${nameOf(varId)} of section maps`;
      types.writeUInt32LE(defStruct(d), at[varId]! + 8);
      types.writeUInt32LE(BTF_VAR_GLOBAL_ALLOCATED, at[varId]! + 12);
    }
    types.writeUInt32LE(str('.maps'), at[datasec]!);
  } else {
    const entries: number[] = [];
    const sorted = mapSymList.sort((x, y) => x.value - y.value);
    for (const [i, m] of sorted.entries()) {
      const d = byName.get(m.name);
      if (!d) return `no map definition for symbol ${m.name} of section maps`;
      const size = m.size || (sorted[i + 1]?.value ?? secSize(v, maps)) - m.value;
      entries.push(type(str(m.name), BTF_KIND_VAR, 0, defStruct(d), u32s(BTF_VAR_GLOBAL_ALLOCATED)), m.value, size);
    }
    type(str('.maps'), BTF_KIND_DATASEC, sorted.length, secSize(v, maps), u32s(...entries));
  }

  // A static map is referenced through the section symbol, its offset in the instruction's immediate: libbpf matches
  // a `.maps` relocation by the symbol's offset alone, so it would take the map at offset 0. Name the map's symbol.
  for (let r = 0; r < v.shnum; r++) {
    if (b.readUInt32LE(sh(v, r) + 4) !== SHT_REL || b.readUInt32LE(sh(v, r) + 40) !== v.symtab) continue;
    const target = b.readUInt32LE(sh(v, r) + 44);
    if (target >= v.shnum || !isExecProgbits(v, target)) continue;
    for (let e = secOffset(v, r); e + 16 <= secOffset(v, r) + secSize(v, r); e += 16) {
      const symIdx = Number(b.readBigUInt64LE(e + 8) >> 32n);
      const sym = symOff + symIdx * 24;
      if ((b[sym + 4]! & 0xf) !== STT_SECTION || b.readUInt16LE(sym + 6) !== maps) continue;
      const insn = secOffset(v, target) + Number(b.readBigUInt64LE(e));
      if (insn + 8 > secOffset(v, target) + secSize(v, target)) continue;
      const named = mapSyms.get(b.readInt32LE(insn + 4));
      if (named === undefined) return `a relocation of section ${secName(v, target)} points at byte ${b.readInt32LE(insn + 4)} of section maps, where no map starts`;
      b.writeBigUInt64LE((BigInt(named) << 32n) | (b.readBigUInt64LE(e + 8) & 0xffffffffn), e + 8);
      b.writeInt32LE(0, insn + 4);
    }
  }

  const newTypes = Buffer.concat([types, ...added]);
  header.writeUInt32LE(0, 8);
  header.writeUInt32LE(newTypes.length, 12);
  header.writeUInt32LE(newTypes.length, 16);
  header.writeUInt32LE(strEnd, 20);
  const newBtf = Buffer.concat([header, newTypes, strings, Buffer.from(more.join(''), 'latin1')]);

  const { parts, append } = appender(b);
  const shstr = b.subarray(secOffset(v, v.shstrndx), secOffset(v, v.shstrndx) + secSize(v, v.shstrndx));
  const shstrAt = append(Buffer.concat([shstr, Buffer.from('.maps\0.BTF\0', 'latin1')]), 1);
  b.writeUInt32LE(shstr.length, sh(v, maps));
  b.writeBigUInt64LE(BigInt(shstrAt), sh(v, v.shstrndx) + 24);
  b.writeBigUInt64LE(BigInt(shstr.length + 11), sh(v, v.shstrndx) + 32);
  const btfAt = append(newBtf, 8);
  if (btf >= 0) {
    b.writeBigUInt64LE(BigInt(btfAt), sh(v, btf) + 24);
    b.writeBigUInt64LE(BigInt(newBtf.length), sh(v, btf) + 32);
  } else {
    // A new section header for .BTF: the table is copied to the end with one more entry.
    const table = Buffer.alloc((v.shnum + 1) * v.shentsize);
    b.copy(table, 0, v.shoff, v.shoff + v.shnum * v.shentsize);
    const e = v.shnum * v.shentsize;
    table.writeUInt32LE(shstr.length + 6, e); // ".BTF"
    table.writeUInt32LE(SHT_PROGBITS, e + 4);
    table.writeBigUInt64LE(BigInt(btfAt), e + 24);
    table.writeBigUInt64LE(BigInt(newBtf.length), e + 32);
    table.writeBigUInt64LE(4n, e + 48); // sh_addralign
    const tableAt = append(table, 8);
    b.writeBigUInt64LE(BigInt(tableAt), 0x28);
    b.writeUInt16LE(v.shnum + 1, 0x3c);
  }
  return new Uint8Array(Buffer.concat(parts));
}

const SHT_NOBITS = 8;

/** A custom `.bss.*` section renamed for the kernel side: `from` its name in the object, `to` the name it has there. */
export interface BssRename {
  from: string;
  to: string;
}

/**
 * A copy of `bytes` in which every custom `.bss.<name>` section (NOBITS, which libbpf 1.1, bpftool 7.1's, does not
 * take as global data: "bad map relo against ... in section '.bss.<name>'") has become a `.data.<name>` section that
 * it does take: PROGBITS, its bytes zeros appended to the file, renamed in the section table and in the BTF DATASEC
 * clang wrote for it (libbpf sizes a DATASEC from the ELF section of the same name). Zero-filled data is what a
 * `.bss` map holds at load, so the program sees the same memory; only the map's name differs, which `renames` gives
 * back. A name some other section already has gets more underscores (`.data._name`). Objects without such sections
 * come back as they are.
 */
export function customBssAsData(bytes: Uint8Array): { bytes: Uint8Array; renames: BssRename[] } | string {
  const v0 = view(bytes);
  if (typeof v0 === 'string') return v0;
  const all = new Set<string>();
  const bss: number[] = [];
  let btf = -1;
  for (let i = 0; i < v0.shnum; i++) {
    const n = secName(v0, i);
    all.add(n);
    if (n === '.BTF') btf = i;
    if (n.startsWith('.bss.') && v0.b.readUInt32LE(sh(v0, i) + 4) === SHT_NOBITS) bss.push(i);
  }
  if (!bss.length) return { bytes, renames: [] };
  const b = Buffer.from(bytes); // a copy
  const v: ElfView = { ...v0, b };
  const renames: BssRename[] = [];
  for (const i of bss) {
    const from = secName(v, i);
    let to = `.data.${from.slice('.bss.'.length)}`;
    while (all.has(to)) to = `.data._${to.slice('.data.'.length)}`;
    all.add(to);
    renames.push({ from, to });
  }
  const { parts, append } = appender(b);
  // Section names: a new copy of the table with the new names at its end.
  const shstr = b.subarray(secOffset(v, v.shstrndx), secOffset(v, v.shstrndx) + secSize(v, v.shstrndx));
  let strLen = shstr.length;
  const names: Buffer[] = [];
  for (const [k, i] of bss.entries()) {
    b.writeUInt32LE(strLen, sh(v, i));
    names.push(Buffer.from(`${renames[k]!.to}\0`, 'latin1'));
    strLen += renames[k]!.to.length + 1;
  }
  // Bytes: zeros, as many as the section's size, aligned as it says.
  for (const i of bss) {
    const align = Math.max(1, Number(b.readBigUInt64LE(sh(v, i) + 48)));
    const at = append(Buffer.alloc(secSize(v, i)), align);
    b.writeUInt32LE(SHT_PROGBITS, sh(v, i) + 4);
    b.writeBigUInt64LE(BigInt(at), sh(v, i) + 24);
  }
  const shstrAt = append(Buffer.concat([shstr, ...names]), 1);
  b.writeBigUInt64LE(BigInt(shstrAt), sh(v, v.shstrndx) + 24);
  b.writeBigUInt64LE(BigInt(strLen), sh(v, v.shstrndx) + 32);
  // BTF: the DATASECs named after the old sections take the new names (appended strings).
  if (btf >= 0) {
    const data = b.subarray(secOffset(v, btf), secOffset(v, btf) + secSize(v, btf));
    const h = readBtfHeader(data);
    if (typeof h === 'string') return h;
    const { hdrLen, typeOff, typeLen, strOff, strLen: strSize } = h;
    if (hdrLen + strOff + strSize !== data.length) return 'bad .BTF header';
    const copy = Buffer.from(data);
    const strings = copy.subarray(hdrLen + strOff);
    const byOld = new Map(renames.map((r) => [r.from, r.to]));
    const more: string[] = [];
    let size = strSize;
    for (let o = hdrLen + typeOff; o + 12 <= hdrLen + typeOff + typeLen; ) {
      const info = copy.readUInt32LE(o + 4);
      const kind = (info >>> 24) & 0x1f;
      const extra = btfTypeExtra(kind, info & 0xffff);
      if (extra === undefined) return `unknown BTF kind ${kind}`;
      const to = kind === BTF_KIND_DATASEC ? byOld.get(cstr(strings, copy.readUInt32LE(o))) : undefined;
      if (to !== undefined) {
        copy.writeUInt32LE(size, o);
        more.push(`${to}\0`);
        size += to.length + 1;
      }
      o += 12 + extra;
    }
    const newBtf = Buffer.concat([copy, Buffer.from(more.join(''), 'latin1')]);
    newBtf.writeUInt32LE(size, 20);
    const btfAt = append(newBtf, 8);
    b.writeBigUInt64LE(BigInt(btfAt), sh(v, btf) + 24);
    b.writeBigUInt64LE(BigInt(newBtf.length), sh(v, btf) + 32);
  }
  return { bytes: new Uint8Array(Buffer.concat(parts)), renames };
}

/** Bytes appended after an ELF file's own, each at its alignment: `append` returns the offset it landed at. */
function appender(b: Buffer): { parts: Buffer[]; append: (x: Buffer, align: number) => number } {
  const parts: Buffer[] = [b];
  let end = b.length;
  const append = (x: Buffer, align: number): number => {
    const pad = (align - (end % align)) % align;
    if (pad) parts.push(Buffer.alloc(pad));
    const at = end + pad;
    parts.push(x);
    end = at + x.length;
    return at;
  };
  return { parts, append };
}

/** A .BTF section's header: its magic, and its type and string parts within the section. */
function readBtfHeader(data: Buffer): { hdrLen: number; typeOff: number; typeLen: number; strOff: number; strLen: number } | string {
  if (data.length < 24 || data.readUInt16LE(0) !== 0xeb9f) return 'bad .BTF header';
  const h = { hdrLen: data.readUInt32LE(4), typeOff: data.readUInt32LE(8), typeLen: data.readUInt32LE(12), strOff: data.readUInt32LE(16), strLen: data.readUInt32LE(20) };
  if (h.hdrLen < 24 || h.hdrLen + h.strOff + h.strLen > data.length || h.hdrLen + h.typeOff + h.typeLen > data.length) return 'bad .BTF header';
  return h;
}
