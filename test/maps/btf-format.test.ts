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
import { btfTree, formatBtf, formatMapUpdate, mapFormat, objectMapFormats } from '../../simulator/btf-format.ts';
import { MapType, type LoadedObject, type MapDef } from '../../simulator/elf/types.ts';
import { privateBpffsUnavailable } from '../../simulator/kernel-load.ts';
import { bytes, compareWithBpftool } from './bpftool-format.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { spawnSync } from 'node:child_process';

const SRC = join(REPO, 'test', 'maps', 'btf', 'btf_values.c');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !haveClang && 'clang is not installed';

let cached: LoadedObject | undefined;
const object = () => (cached ??= loadProgramFile(SRC));
const mapOf = (name: string): MapDef => object().maps.find((m) => m.name === name || m.name.endsWith(name))!;

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
  // An inner map a seed makes in a map of maps (`outer[01000000]`) takes the types of the outer map's template.
  const mim = loadProgramFile(join(REPO, 'test', 'maps', 'programs', 'map_in_map.c'));
  const outer = mim.maps.find((m) => m.inner?.valueType !== undefined)!;
  const inner = objectMapFormats(mim)(`${outer.name}[01000000]`);
  assert.ok(inner.typed, `${outer.name}'s inner template has BTF types`);
  assert.equal(inner.key(Uint8Array.of(7, 0, 0, 0)), '7');
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

test('the formatter agrees with bpftool map dump (BTF-formatted) on the same bytes in the kernel', { skip, timeout: 120_000 }, (t) => {
  if (kernelOrSkip(t)) return;
  const ns = privateBpffsUnavailable();
  if (ns) return void t.skip(ns);
  const compiled = compileC(SRC);
  assert.ok(compiled.objectPath, compiled.stderr);
  const obj = object();
  const r = compareWithBpftool(compiled.objectPath!, obj, (m) => {
    if (m.kind === 'global') return m.section.startsWith('.rodata') ? [] : [{ key: new Uint8Array(4), value: bytes(m.valueSize, 9) }];
    const n = m.type === MapType.HASH ? 4 : m.maxEntries;
    return Array.from({ length: n }, (_, i) => {
      const key = m.type === MapType.HASH ? bytes(m.keySize, 100 + i) : new Uint8Array(new Uint32Array([i]).buffer);
      const value = bytes(m.valueSize, 200 + i * 7 + m.valueSize);
      // A string in the char arrays for one entry: "formatted" shows it as text. A per-CPU map takes one value,
      // which bpftool gives every CPU.
      if (i === 0 && m.name === 'names') value.set([...Buffer.from('lens\0')]);
      if (i === 1 && m.name === 'structs') value.set([...Buffer.from('eth0\0')], 8 + 8 + 4 + 4);
      return { key, value };
    });
  });
  assert.equal(r.loadError, undefined);
  assert.deepEqual(r.refused, []);
  assert.deepEqual(r.problems, []);
  assert.ok(r.compared >= 14, `compared ${r.compared} entries`);
});
