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

const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
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
  const parts: Buffer[] = [v.b];
  let end = v.b.length;
  const append = (data: Buffer, align: number): number => {
    const pad = (align - (end % align)) % align;
    if (pad) parts.push(Buffer.alloc(pad));
    const at = end + pad;
    parts.push(data);
    end = at + data.length;
    return at;
  };
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
    if (data.length < 24 || data.readUInt16LE(0) !== 0xeb9f) return 'bad .BTF header';
    const hdrLen = data.readUInt32LE(4);
    const strOff = data.readUInt32LE(16);
    const strSize = data.readUInt32LE(20);
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
