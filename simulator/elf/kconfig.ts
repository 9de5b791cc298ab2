// `extern ... __kconfig` variables (BTF DATASEC `.kconfig`), placed and filled as libbpf does
// (bpf_object__collect_externs, bpf_object__read_kconfig_file, set_kcfg_value_*): one read-only internal map
// `<obj>.kconfig` holding every kconfig extern, ordered by alignment (descending), then size, then name; values from
// the running kernel's configuration (/proc/config.gz, else /boot/config-<release>), LINUX_KERNEL_VERSION from the
// release, LINUX_HAS_BPF_COOKIE / LINUX_HAS_SYSCALL_WRAPPER as 6.x x86-64 has them; where the configuration is not
// readable, CONFIG_HZ is 250 (the clock the simulator's jiffies use). A weak extern without a value is 0; a strong one
// is an error naming it (at the instruction that uses it), as libbpf refuses the object.
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { BTF_KIND, btfEnumValues, findDatasec, skipModsAndTypedefs, type Btf } from './btf.ts';

export interface KconfigVar {
  name: string;
  offset: number;
  size: number;
  /** The value's bytes, or why there is none. */
  value: Uint8Array | string;
}

export interface KconfigLayout {
  size: number;
  vars: Map<string, KconfigVar>;
  image: Uint8Array;
}

let config: Map<string, string> | null | undefined;

/** CONFIG_* lines of the running kernel's configuration, read once; null when unreadable. */
export function kernelConfig(): Map<string, string> | null {
  if (config !== undefined) return config;
  config = null;
  const sources: [string, boolean][] = [['/proc/config.gz', true], [`/boot/config-${release()}`, false]];
  for (const [path, gz] of sources) {
    try {
      if (!existsSync(path)) continue;
      const raw = readFileSync(path);
      const text = (gz ? gunzipSync(raw) : raw).toString('utf8');
      config = new Map();
      for (const line of text.split('\n')) {
        const m = /^(CONFIG_\w+)=(.*)$/.exec(line);
        if (m) config.set(m[1], m[2]);
      }
      break;
    } catch {
      config = null;
    }
  }
  return config;
}

/** KERNEL_VERSION(a, b, c) of a release string like 6.18.44-foo. */
function kernelVersion(rel: string): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rel);
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3] ?? 0), 255);
}

type Kind = 'bool' | 'tristate' | 'char' | 'chararr' | 'int' | 'unknown';

function classify(btf: Btf, typeId: number): { kind: Kind; size: number; align: number; signed: boolean } {
  const t = skipModsAndTypedefs(btf, typeId);
  if (!t) return { kind: 'unknown', size: 0, align: 1, signed: false };
  if (t.kind === BTF_KIND.INT) {
    const enc = t.int?.encoding ?? 0;
    const size = t.sizeOrType;
    if (enc & 4) return { kind: 'bool', size, align: 1, signed: false };
    if (enc & 2 && size === 1) return { kind: 'char', size, align: 1, signed: false };
    return { kind: 'int', size, align: Math.min(size, 8), signed: (enc & 1) !== 0 };
  }
  if (t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64) {
    const names = btfEnumValues(btf, t).map((e) => e.name);
    if (t.name === 'libbpf_tristate' || (names.includes('TRI_NO') && names.includes('TRI_YES'))) return { kind: 'tristate', size: t.sizeOrType, align: Math.min(t.sizeOrType, 8), signed: false };
    return { kind: 'int', size: t.sizeOrType, align: Math.min(t.sizeOrType, 8), signed: t.kflag };
  }
  if (t.kind === BTF_KIND.ARRAY && t.array) {
    const e = skipModsAndTypedefs(btf, t.array.type);
    if (e?.kind === BTF_KIND.INT && e.sizeOrType === 1) return { kind: 'chararr', size: t.array.nelems, align: 1, signed: false };
  }
  return { kind: 'unknown', size: 0, align: 1, signed: false };
}

function valueBytes(name: string, kind: Kind, size: number, signed: boolean, raw: string): Uint8Array | string {
  const out = new Uint8Array(size);
  const tri = raw === 'y' || raw === 'n' || raw === 'm';
  if (tri) {
    if (kind === 'bool') { if (raw === 'm') return `value 'm' for the bool extern '${name}'`; out[0] = raw === 'y' ? 1 : 0; return out; }
    if (kind === 'tristate') { new DataView(out.buffer).setUint32(0, raw === 'y' ? 1 : raw === 'm' ? 2 : 0, true); return out; }
    if (kind === 'char') { out[0] = raw.charCodeAt(0); return out; }
    return `value '${raw}' for the ${kind} extern '${name}' is not supported (libbpf set_kcfg_value_tri)`;
  }
  if (raw.startsWith('"')) {
    if (kind !== 'chararr') return `string value for the non-string extern '${name}'`;
    const s = new TextEncoder().encode(raw.slice(1, raw.endsWith('"') ? -1 : undefined));
    out.set(s.subarray(0, Math.max(0, size - 1)));
    return out;
  }
  if (kind !== 'int' && kind !== 'char' && kind !== 'bool' && kind !== 'tristate') return `numeric value for the extern '${name}' of this type`;
  let n: bigint;
  try {
    n = BigInt(raw.trim());
  } catch {
    return `value '${raw}' of '${name}' is not a number`;
  }
  const bits = BigInt(size * 8);
  const fits = signed ? n >= -(1n << (bits - 1n)) && n < 1n << (bits - 1n) : n >= 0n && n < 1n << bits;
  if (!fits) return `value ${raw} does not fit the ${size}-byte extern '${name}'`;
  let v = BigInt.asUintN(size * 8, n);
  for (let i = 0; i < size; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** The `.kconfig` map of an object whose BTF declares kconfig externs, or undefined when it declares none. */
export function kconfigLayout(btf: Btf | undefined): KconfigLayout | undefined {
  const ds = btf ? findDatasec(btf, '.kconfig') : undefined;
  if (!btf || !ds?.secinfos?.length) return undefined;
  const cfg = kernelConfig();
  const externs = ds.secinfos.map((si) => {
    const v = btf.types[si.type];
    const c = classify(btf, v?.sizeOrType ?? 0);
    return { name: v?.name ?? '', ...c };
  });
  externs.sort((a, b) => (a.align !== b.align ? b.align - a.align : a.size !== b.size ? a.size - b.size : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const vars = new Map<string, KconfigVar>();
  let off = 0;
  for (const e of externs) {
    const offset = Math.ceil(off / e.align) * e.align;
    off = offset + e.size;
    let raw: string | undefined;
    if (e.name === 'LINUX_KERNEL_VERSION') raw = String(kernelVersion(release()));
    else if (e.name === 'LINUX_HAS_BPF_COOKIE' || e.name === 'LINUX_HAS_SYSCALL_WRAPPER') raw = 'y';
    else if (cfg) raw = cfg.get(e.name);
    else if (e.name === 'CONFIG_HZ') raw = '250';
    const value: Uint8Array | string = e.kind === 'unknown'
      ? `extern '${e.name}' has a type libbpf does not support for __kconfig`
      : raw === undefined
        ? `no value for kconfig extern '${e.name}' in ${cfg ? 'the running kernel\'s configuration' : 'the defaults (no /proc/config.gz here)'} (libbpf: "value not found"; declare it __weak to get 0)`
        : valueBytes(e.name, e.kind, e.size, e.signed, raw);
    vars.set(e.name, { name: e.name, offset, size: e.size, value });
  }
  const image = new Uint8Array(off);
  for (const v of vars.values()) if (typeof v.value !== 'string') image.set(v.value, v.offset);
  return { size: off, vars, image };
}
