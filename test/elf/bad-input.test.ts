// Broken objects: every problem is a diagnostic naming the file and position, never an exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadObject, type LoadDiagnostic } from '../../simulator/elf/index.ts';
import { parseElf } from '../../simulator/elf/elf64.ts';
import { compileC } from '../../simulator/compile.ts';
import { assembleFixture, compileFixture, HAVE_LLVM_MC, NO_CLANG, testCacheDir } from './helpers.ts';

const NO_MC = HAVE_LLVM_MC ? false : 'llvm-mc not installed';
const PATH = '/objs/bad.o';

function errorsOf(bytes: Uint8Array): LoadDiagnostic[] {
  const r = loadObject(bytes, PATH);
  return r.diagnostics.filter((d) => d.severity === 'error');
}

function expectError(bytes: Uint8Array, re: RegExp, objectExpected = false) {
  const r = loadObject(bytes, PATH);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  assert.ok(errors.length > 0, 'an error is reported');
  assert.ok(errors.some((e) => re.test(e.message)), `some error matches ${re}: ${errors.map((e) => e.message).join(' | ')}`);
  for (const e of errors) assert.ok(e.message.startsWith(PATH + ': '), `names the file: ${e.message}`);
  if (!objectExpected) assert.equal(r.object, undefined);
}

/** Byte offset of the section header of `name`, and of the section's data. */
function sectionHeader(bytes: Uint8Array, name: string): { hdr: number; data: number; size: number } {
  const { elf } = parseElf(bytes);
  const s = elf!.sections.find((x) => x.name === name)!;
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const shoff = Number(v.getBigUint64(40, true));
  return { hdr: shoff + s.index * 64, data: s.offset, size: s.size };
}

const copy = (b: Uint8Array) => Uint8Array.from(b);
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

test('too short, not ELF, wrong class, endianness and machine', () => {
  expectError(new Uint8Array(0), /0 bytes, too short for an ELF identification/);
  expectError(new TextEncoder().encode('this is not an object file at all'), /not an ELF file/);
  const hdr = new Uint8Array(64);
  hdr.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  expectError(hdr, /EI_CLASS\) is 1, expected 2 \(ELFCLASS64\)/);
  hdr[4] = 2; hdr[5] = 2;
  expectError(hdr, /big-endian BPF objects are not supported/);
  hdr[5] = 1;
  view(hdr).setUint16(18, 62, true);
  expectError(hdr, /e_machine\) is 62, expected 247 \(EM_BPF\)/);
  expectError(hdr.subarray(0, 40), /too short for the 64-byte ELF64 header/);
});

test('section header table missing or outside the file', { skip: NO_MC }, () => {
  const good = readFileSync(assembleFixture('asm_prog.s'));
  const b = copy(good);
  view(b).setBigUint64(40, 0n, true);
  expectError(b, /e_shoff\) is 0/);
  view(b).setBigUint64(40, BigInt(good.length + 100), true);
  expectError(b, new RegExp(`section header table at byte ${good.length + 100} .* beyond the end of the ${good.length}-byte file`));
});

test('truncated objects report what is missing, at every length', { skip: NO_MC }, () => {
  const good = readFileSync(assembleFixture('asm_prog.s'));
  expectError(good.subarray(0, good.length - 10), /runs past the end of the \d+-byte file|outside the \d+-byte file/, true);
  for (let n = 0; n < good.length; n += 7) {
    const r = loadObject(good.subarray(0, n), PATH);
    assert.ok(r.diagnostics.some((d) => d.severity === 'error'), `truncated to ${n} bytes is an error`);
    assert.ok(!r.diagnostics.some((d) => /internal error/.test(d.message)), `truncated to ${n} bytes`);
  }
});

test('a section whose bytes lie outside the file is named', { skip: NO_MC }, () => {
  const b = copy(readFileSync(assembleFixture('asm_prog.s')));
  const { hdr } = sectionHeader(b, 'xdp');
  view(b).setBigUint64(hdr + 24, 1_000_000n, true);
  expectError(b, /section \d+ 'xdp': its bytes \(sh_offset 1000000, sh_size \d+\) reach past the end of the \d+-byte file/);
});

test('no program sections', { skip: NO_MC }, () => {
  const b = copy(readFileSync(assembleFixture('asm_nosym.s')));
  const { hdr } = sectionHeader(b, 'xdp');
  view(b).setBigUint64(hdr + 8, 2n, true); // SHF_ALLOC only: no longer executable
  expectError(b, /no program sections/);
});

test('a function that is not whole instructions', { skip: NO_MC }, () => {
  const b = copy(readFileSync(assembleFixture('asm_prog.s')));
  const { elf } = parseElf(b);
  const symtab = elf!.sections.find((s) => s.type === 2)!;
  const sym = elf!.symbols.find((s) => s.name === 'asm_main')!;
  view(b).setBigUint64(symtab.offset + sym.index * 24 + 16, 12n, true);
  const errors = errorsOf(b);
  assert.ok(errors.some((e) => /function 'asm_main' at byte 0 \(12 bytes\) is not whole instructions/.test(e.message)));
});

test('relocations: misaligned offset, missing symbol, call into the middle of a function', { skip: NO_MC }, () => {
  const good = readFileSync(assembleFixture('asm_prog.s'));
  const rel = sectionHeader(good, '.relxdp');
  // The first relocation is the call to add_one (slot 1), the second the lddw of counter (slot 2).
  let b = copy(good);
  view(b).setBigUint64(rel.data, 12n, true);
  expectError(b, /relocation at byte 12 is not on an instruction of 'xdp'/, true);

  b = copy(good);
  view(b).setUint32(rel.data + 16 + 12, 999, true);
  expectError(b, /program 'asm_main' insn 2 \(section 'xdp' byte 16\): relocation against symbol 999, which does not exist/, true);

  b = copy(good);
  const xdp = sectionHeader(good, 'xdp');
  view(b).setInt32(xdp.data + 8 + 4, 0, true); // call imm -1 -> 0: lands on slot 1 of add_one
  expectError(b, /insn 1 .*call target is slot 1 of section '\.text', which is not the start of a function/, true);
});

test('corrupt BTF costs line info and BTF maps, never the whole file', { skip: NO_CLANG }, () => {
  const good = readFileSync(compileFixture('maps_kinds.c'));
  const btf = sectionHeader(good, '.BTF');
  const b = copy(good);
  view(b).setUint16(btf.data, 0x1234, true);
  const r = loadObject(b, PATH);
  assert.ok(r.diagnostics.some((d) => d.severity === 'warning' && /\.BTF byte 0: magic 0x1234/.test(d.message)));
  assert.ok(r.diagnostics.some((d) => d.severity === 'error' && /section '\.maps' needs BTF/.test(d.message)));
  assert.ok(r.diagnostics.some((d) => d.severity === 'error' && /reference to map 'counters' at byte 0 of '\.maps', which was not loaded/.test(d.message)));
  assert.ok(r.object);
  assert.ok(r.object.programs[0].lines.every((l) => l === undefined));

  const ext = sectionHeader(good, '.BTF.ext');
  const c = copy(good);
  view(c).setUint32(ext.data + 20, 1_000_000, true); // line_info_len far past the section
  const r2 = loadObject(c, PATH);
  assert.ok(r2.diagnostics.some((d) => d.severity === 'warning' && /\.BTF\.ext line_info .* is outside the section/.test(d.message)));
  assert.deepEqual(r2.diagnostics.filter((d) => d.severity === 'error'), []);
});

test('map definitions libbpf rejects are errors naming the map', { skip: NO_CLANG }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-badmaps-'));
  const head = '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n';
  const tail = 'SEC("xdp") int p(struct xdp_md *c) { __u32 k = 0; return bpf_map_lookup_elem(&m, &k) ? 1 : 2; }\n';
  const cases: [string, string, RegExp][] = [
    ['unknown_field', 'struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); __uint(bogus, 3); } m SEC(".maps");',
      /map 'm': unknown field 'bogus'/],
    ['no_type', 'struct { __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } m SEC(".maps");', /map 'm': map type isn't specified/],
    ['conflict', 'struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __uint(key_size, 8); __type(key, __u32); __type(value, __u32); } m SEC(".maps");',
      /map 'm': conflicting key size 8 != 4/],
    ['static_map', 'static struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } m SEC(".maps");',
      /map 'm': unsupported map linkage/],
    ['arena', 'struct { __uint(type, 33); __uint(max_entries, 1); __uint(map_flags, 1024); } m SEC(".maps");', /map 'm': arena maps \(type 33\) are not supported/],
    ['pinned_inner', 'struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); __uint(pinning, LIBBPF_PIN_BY_NAME); } in1 SEC(".maps");\n' +
      'struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 1); __type(key, __u32); __array(values, struct inner); } m SEC(".maps") = { .values = { &in1 } };',
      /map 'm\.inner': inner def can't be pinned/],
  ];
  for (const [name, decl, re] of cases) {
    const src = join(dir, `${name}.c`);
    writeFileSync(src, head + decl + '\n' + tail);
    const r = compileC(src, { cacheDir: testCacheDir() });
    assert.ok(r.objectPath, `${name} compiles: ${r.stderr}`);
    const { diagnostics } = loadObject(readFileSync(r.objectPath), src);
    const errors = diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
    assert.ok(errors.some((e) => re.test(e) && e.startsWith(src)), `${name}: ${errors.join(' | ')}`);
  }
});

test('random corruption never throws', { skip: NO_CLANG }, () => {
  const good = readFileSync(compileFixture('subprogs.c'));
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let round = 0; round < 300; round++) {
    const b = copy(good);
    const flips = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < flips; i++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    const r = loadObject(b, PATH);
    const internal = r.diagnostics.filter((d) => /internal error/.test(d.message));
    assert.deepEqual(internal, [], `round ${round}`);
  }
});
