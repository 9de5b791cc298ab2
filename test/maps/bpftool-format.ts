// The oracle for the BTF value formatter (simulator/btf-format.ts): an object loaded with `bpftool prog loadall` into a
// private bpffs (simulator/kernel-load.ts), its maps filled with given bytes, then `bpftool -j map dump`, which prints
// each entry as raw bytes and BTF-formatted ("formatted", tools/bpf/bpftool/btf_dumper.c). The formatter's tree of the
// same raw bytes, put in bpftool's shape (asBpftool), must equal "formatted".
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapFormat, type BtfNode } from '../../simulator/btf-format.ts';
import type { LoadedObject, MapDef } from '../../simulator/elf/types.ts';
import { internalMapName, objectName } from '../../simulator/elf/maps.ts';
import { pinName, runWithPrivateBpffs, sq } from '../../simulator/kernel-load.ts';

/** Deterministic pseudo-random bytes (xorshift), different per seed. */
export function bytes(n: number, seed: number): Uint8Array {
  let x = (seed * 2654435761) >>> 0 || 1;
  return Uint8Array.from({ length: n }, () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x & 0xff;
  });
}

/** What bpftool's JSON "formatted" shows for a node (btf_dumper.c): numbers, names, strings, objects, arrays. */
export function asBpftool(n: BtfNode): unknown {
  switch (n.kind) {
    case 'int':
      if (n.bitfield) return `0x${BigInt.asUintN(n.bitfield, n.num!).toString(16)}`;
      if (n.bool) return n.num !== 0n;
      return n.num!.toString();
    // bpftool prints every bitfield as its bits in hex, an enum's too (the formatter names it when it can).
    case 'enum': return n.bitfield ? `0x${BigInt.asUintN(n.bitfield, n.num!).toString(16)}` : n.enumName ?? n.num!.toString();
    case 'ptr': return n.num!.toString();
    case 'string': return n.str;
    case 'array': return n.children!.map(asBpftool);
    case 'struct': case 'union': return Object.fromEntries(n.children!.map((c) => [c.name ?? '', asBpftool(c)]));
    case 'datasec': return { [n.type.replace(/^section /, '')]: n.children!.map((c) => ({ [c.name!]: asBpftool(c) })) };
    default: return `(${n.kind} ${n.text})`;
  }
}

/** bpftool's JSON with every number as a string (u64 values do not fit a double). */
export function parseExact(text: string): unknown {
  return JSON.parse(text.replace(/([:\[,]\s*)(-?\d+)(?=\s*[,\]}])/g, '$1"$2"'));
}

export interface Fill {
  key: Uint8Array;
  value: Uint8Array;
}

export interface Comparison {
  /** bpftool could not load the object (its message), nothing compared. */
  loadError?: string;
  /** Entries whose key and value were compared (key only when it has a BTF type). */
  compared: number;
  /** Every disagreement: map, entry, what bpftool printed, what the formatter gives. */
  problems: string[];
  /** Maps filled whose update bpftool refused, with its message. */
  refused: string[];
}

type Dumped = { key: string[]; value?: string[]; values?: { cpu: string; value: string[] }[]; formatted?: { key?: unknown; value?: unknown; values?: { cpu: string; value: unknown }[] } };

/**
 * Loads `objectPath` with bpftool, writes `fill(map)` into each map (none: dumped as loaded; global data takes key 0),
 * dumps the maps `dump(map)` selects, and compares every formatted entry with the formatter (`obj` is the simulator's
 * load of the same object).
 */
export function compareWithBpftool(objectPath: string, obj: LoadedObject, fill: (m: MapDef) => Fill[], dump: (m: MapDef) => boolean = () => true): Comparison {
  const hexArgs = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  const lines: string[] = [`bpftool prog loadall ${sq(objectPath)} /sys/fs/bpf/xdp-lens-progs/p pinmaps /sys/fs/bpf/m 2>&1 || exit 3`];
  const dumped: MapDef[] = [];
  for (const m of obj.maps) {
    // Global-data maps are named after the object file libbpf loads.
    const pin = `/sys/fs/bpf/m/${pinName(m.kind === 'global' ? internalMapName(objectName(objectPath), m.section) : m.name)}`;
    for (const e of fill(m)) {
      lines.push(`bpftool map update pinned ${sq(pin)} key hex ${hexArgs(e.key)} value hex ${hexArgs(e.value)} 2>/dev/null || echo "!!! refused ${m.name}"`);
    }
    if (!dump(m)) continue;
    dumped.push(m);
    lines.push(`echo "=== ${m.name}"`, `bpftool -j map dump pinned ${sq(pin)} 2>/dev/null || echo '[]'`, 'echo');
  }
  const r = runWithPrivateBpffs(lines.join('\n'), mkdtempSync(join(tmpdir(), 'xdp-lens-btf-')), 120_000);
  if (r.status === 3) return { loadError: r.stdout.trim().split('\n').slice(-3).join(' / '), compared: 0, problems: [], refused: [] };
  if (r.status !== 0) throw new Error(`bpftool run failed (status ${r.status ?? r.signal}): ${r.stderr}`);
  const refused = [...r.stdout.matchAll(/^!!! refused (.*)$/gm)].map((x) => x[1]!);
  const problems: string[] = [];
  let compared = 0;
  const show = (x: unknown) => JSON.stringify(x).slice(0, 400);
  for (const sec of r.stdout.split(/^=== /m).slice(1)) {
    const nl = sec.indexOf('\n');
    const name = sec.slice(0, nl);
    const m = dumped.find((d) => d.name === name)!;
    const f = mapFormat(obj.btf, m, { maxElems: 1 << 20, maxChars: 1 << 20 });
    const body = sec.slice(nl + 1).replace(/^!!! refused .*$/gm, '').trim();
    let entries: Dumped[];
    try {
      entries = parseExact(body || '[]') as Dumped[];
    } catch (e) {
      problems.push(`${name}: bpftool's dump is not JSON: ${(e as Error).message}`);
      continue;
    }
    const raw = (h: string[]) => Uint8Array.from(h.map((x) => parseInt(x, 16)));
    for (const e of entries) {
      if (!e.formatted) continue;
      const at = `${name}[${e.key.map((x) => x.replace(/^0x/, '')).join('')}]`;
      const key = raw(e.key);
      if (m.keyType && e.formatted.key !== undefined) {
        const mine = asBpftool(f.keyTree(key));
        if (JSON.stringify(mine) !== JSON.stringify(e.formatted.key)) problems.push(`${at} key: bpftool ${show(e.formatted.key)}, formatter ${show(mine)}`);
      }
      if (e.values) {
        e.values.forEach((cv, i) => {
          const mine = asBpftool(f.valueTree(raw(cv.value)));
          const want = e.formatted!.values?.[i]?.value;
          if (JSON.stringify(mine) !== JSON.stringify(want)) problems.push(`${at} cpu ${cv.cpu}: bpftool ${show(want)}, formatter ${show(mine)}`);
        });
      } else if (m.valueType && e.formatted.value !== undefined) {
        const mine = asBpftool(f.valueTree(raw(e.value!)));
        if (JSON.stringify(mine) !== JSON.stringify(e.formatted.value)) problems.push(`${at}: bpftool ${show(e.formatted.value)}, formatter ${show(mine)}`);
      }
      compared++;
    }
  }
  return { compared, problems, refused };
}
