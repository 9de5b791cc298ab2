// The BTF value formatter (simulator/btf-format.ts) on an object compiled by clang -g (btf/btf_values.c: ints of each
// size and sign, enums with and without a name for the value, char arrays, nested arrays, bitfields, an anonymous
// union, pointers, typedef/const/volatile chains, a per-CPU map, global data).
//
// Against the kernel: the object is loaded with bpftool into a private bpffs, each map is filled with pseudo-random
// bytes (and a string where a char array is), and `bpftool -j map dump` prints every entry twice, as raw bytes and
// BTF-formatted ("formatted"). The formatter's tree of the same raw bytes must say what bpftool says, value by value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { btfTree, formatBtf, formatMapUpdate, mapFormat, type BtfNode } from '../../simulator/btf-format.ts';
import { MapType, type LoadedObject, type MapDef } from '../../simulator/elf/types.ts';
import { pinName, privateBpffsUnavailable, runWithPrivateBpffs, sq } from '../../simulator/kernel-load.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { internalMapName, objectName } from '../../simulator/elf/maps.ts';
import { spawnSync } from 'node:child_process';

const SRC = join(REPO, 'test', 'maps', 'btf', 'btf_values.c');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !haveClang && 'clang is not installed';

let cached: LoadedObject | undefined;
const object = () => (cached ??= loadProgramFile(SRC));
const mapOf = (name: string): MapDef => object().maps.find((m) => m.name === name || m.name.endsWith(name))!;

/** Deterministic pseudo-random bytes (xorshift), different per seed. */
function bytes(n: number, seed: number): Uint8Array {
  let x = (seed * 2654435761) >>> 0 || 1;
  return Uint8Array.from({ length: n }, () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x & 0xff;
  });
}

test('BTF types of maps: BTF-defined key and value, global data by DATASEC, hex without them', { skip }, () => {
  const obj = object();
  for (const name of ['structs', 'colors', 'percpu', 'names']) {
    const m = mapOf(name);
    assert.ok(m.keyType && m.valueType, `${name} has BTF key and value types`);
  }
  const data = mapOf('.data');
  assert.equal(data.kind, 'global');
  assert.ok(data.valueType);
  // Global data is shown variable by variable, at the offsets the symbol table gives.
  const f = mapFormat(obj.btf, data);
  const tree = f.valueTree(data.initialValue!);
  assert.deepEqual(tree.children?.map((c) => [c.name, c.text]), [['counter', '7']]);
  const ro = mapOf('.rodata');
  assert.deepEqual(mapFormat(obj.btf, ro).valueTree(ro.initialValue!).children?.map((c) => [c.name, c.text]), [['limit', '-42'], ['greeting', '"hello"']]);
  // No BTF: hex.
  assert.equal(mapFormat(undefined, mapOf('colors')).value([Uint8Array.of(5, 0, 0, 0)], false), '05000000');
});

test('a legacy SEC("maps") map takes its key and value types from BPF_ANNOTATE_KV_PAIR', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-legacy-btf-'));
  const src = join(dir, 'legacy_kv.c');
  writeFileSync(src, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct bpf_map_def { unsigned int type, key_size, value_size, max_entries, map_flags; };
struct flow { __u32 addr; __u16 port; __u16 pad; };
struct bpf_map_def SEC("maps") flows = { .type = BPF_MAP_TYPE_HASH, .key_size = sizeof(struct flow), .value_size = sizeof(__u64), .max_entries = 4 };
struct ____btf_map_flows { struct flow key; __u64 value; };
struct ____btf_map_flows __attribute__((section(".maps.flows"), used)) ____btf_map_flows = {};
SEC("xdp") int prog(struct xdp_md *ctx) { struct flow k = {}; bpf_map_lookup_elem(&flows, &k); return XDP_PASS; }
char _license[] SEC("license") = "GPL";
`);
  const obj = loadProgramFile(src);
  const m = obj.maps.find((x) => x.name === 'flows')!;
  const f = mapFormat(obj.btf, m);
  assert.equal(f.key(Uint8Array.of(1, 0, 0, 0, 80, 0, 0, 0)), '{.addr = 1, .port = 80, .pad = 0}');
  assert.equal(f.value([Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0)], false), '3');
});

test('C-like text: enum names only from an enum type, per-CPU values per CPU, updates, bounded output', { skip }, () => {
  const obj = object();
  const colors = mapFormat(obj.btf, mapOf('colors'));
  // The key is a __u32: a number, never an enumerator's name; the value is an enum color.
  assert.equal(colors.key(Uint8Array.of(5, 0, 0, 0)), '5');
  assert.equal(colors.value([Uint8Array.of(5, 0, 0, 0)], false), 'GREEN');
  assert.equal(colors.value([Uint8Array.of(0xfd, 0xff, 0xff, 0xff)], false), 'BLUE');
  assert.equal(colors.value([Uint8Array.of(6, 0, 0, 0)], false), '6');
  const percpu = mapFormat(obj.btf, mapOf('percpu'));
  const v = new Uint8Array(mapOf('percpu').valueSize);
  assert.match(percpu.value([v, v], true), /^cpu0: \{\.a = 0, .*\}, cpu1: \{\.a = 0, /);
  assert.equal(formatMapUpdate('colors', '5', 'RED', 'GREEN'), 'colors[5] RED -> GREEN');
  assert.equal(formatMapUpdate('colors', '5', undefined, 'GREEN'), 'colors[5] (absent) -> GREEN');
  // A value whose size is not its type's (another object's BTF) is shown as bytes.
  assert.equal(formatBtf(obj.btf, mapOf('colors').valueType, Uint8Array.of(1, 2)), '0102');
  // Bounded: a long array lists its first elements and counts the rest; the text is cut.
  const names = mapOf('names');
  const t = btfTree(obj.btf, names.valueType, bytes(16, 3), { maxElems: 4 });
  assert.equal(t.children?.length, 5);
  assert.equal(t.children?.[4].text, '... 12 more');
  const s = mapOf('structs');
  assert.ok(formatBtf(obj.btf, s.valueType, bytes(s.valueSize, 1), { maxChars: 40 }).length <= 40);
});

/** What bpftool's JSON "formatted" shows for a node (btf_dumper.c): numbers, names, strings, objects, arrays. */
function asBpftool(n: BtfNode): unknown {
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
function parseExact(text: string): unknown {
  return JSON.parse(text.replace(/([:\[,]\s*)(-?\d+)(?=\s*[,\]}])/g, '$1"$2"'));
}

test('the formatter agrees with bpftool map dump (BTF-formatted) on the same bytes in the kernel', { skip, timeout: 120_000 }, (t) => {
  if (kernelOrSkip(t)) return;
  const ns = privateBpffsUnavailable();
  if (ns) return void t.skip(ns);
  const compiled = compileC(SRC);
  assert.ok(compiled.objectPath, compiled.stderr);
  const obj = object();
  const hexArgs = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  const lines: string[] = [`bpftool prog loadall ${sq(compiled.objectPath!)} /sys/fs/bpf/xdp-lens-progs/p pinmaps /sys/fs/bpf/m || exit 3`];
  const dumped: MapDef[] = [];
  for (const m of obj.maps) {
    // The kernel's object is the compiled file in the cache: its global-data maps take that file's name.
    const pin = `/sys/fs/bpf/m/${pinName(m.kind === 'global' ? internalMapName(objectName(compiled.objectPath!), m.section) : m.name)}`;
    dumped.push(m);
    if (m.kind === 'user') {
      const n = m.type === MapType.HASH ? 4 : m.maxEntries;
      for (let i = 0; i < n; i++) {
        const key = m.type === MapType.HASH ? bytes(m.keySize, 100 + i) : new Uint8Array(new Uint32Array([i]).buffer);
        const value = bytes(m.valueSize, 200 + i * 7 + m.valueSize);
        // A string in the char arrays for one entry: "formatted" shows it as text.
        if (i === 0 && m.name === 'names') value.set([...Buffer.from('lens\0')]);
        if (i === 1 && m.name === 'structs') value.set([...Buffer.from('eth0\0')], 8 + 8 + 4 + 4);
        // A per-CPU map takes one value, which bpftool gives every CPU.
        lines.push(`bpftool map update pinned ${pin} key hex ${hexArgs(key)} value hex ${hexArgs(value)} || exit 4`);
      }
    } else if (!m.section.startsWith('.rodata')) {
      lines.push(`bpftool map update pinned ${pin} key hex 00 00 00 00 value hex ${hexArgs(bytes(m.valueSize, 9))} || exit 4`);
    }
    lines.push(`echo "=== ${m.name}"`, `bpftool -j map dump pinned ${pin} || exit 5`, 'echo');
  }
  const r = runWithPrivateBpffs(lines.join('\n'), mkdtempSync(join(tmpdir(), 'xdp-lens-btf-')), 60_000);
  assert.equal(r.status, 0, r.stderr);
  const sections = r.stdout.split(/^=== /m).slice(1);
  assert.equal(sections.length, dumped.length);
  let compared = 0;
  for (const sec of sections) {
    const nl = sec.indexOf('\n');
    const name = sec.slice(0, nl);
    const m = dumped.find((d) => d.name === name)!;
    const f = mapFormat(obj.btf, m, { maxElems: 1 << 20, maxChars: 1 << 20 });
    const entries = parseExact(sec.slice(nl + 1)) as { key: string[]; value?: string[]; values?: { cpu: string; value: string[] }[]; formatted: { key: unknown; value?: unknown; values?: { cpu: string; value: unknown }[] } }[];
    assert.ok(entries.length > 0, `${name}: bpftool listed no entries`);
    for (const e of entries) {
      const raw = (h: string[]) => Uint8Array.from(h.map((x) => parseInt(x, 16)));
      const key = raw(e.key);
      if (m.keyType) assert.deepEqual(asBpftool(f.keyTree(key)), e.formatted.key, `${name} key ${e.key.join('')}`);
      if (e.values) {
        e.values.forEach((cv, i) => assert.deepEqual(asBpftool(f.valueTree(raw(cv.value))), e.formatted.values![i].value, `${name} key ${e.key.join('')} cpu ${cv.cpu}`));
      } else {
        assert.deepEqual(asBpftool(f.valueTree(raw(e.value!))), e.formatted.value, `${name} key ${e.key.join('')}`);
      }
      compared++;
    }
  }
  assert.ok(compared >= 14, `compared ${compared} entries`);
});
