// The loader against real clang / llvm-mc objects: programs, maps, global data, linking, line info, unsupported
// features. Instruction bytes are checked against llvm-objdump; the kernel comparison lives in kernel.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeProgram, LDDW } from '../../simulator/isa/decode.ts';
import { readFileSync } from 'node:fs';
import { loadObject, pickProgram } from '../../simulator/elf/index.ts';
import { BPF_F_MMAPABLE, BPF_F_NO_COMMON_LRU, BPF_F_RDONLY_PROG, MapType, type LoadedProgram } from '../../simulator/elf/types.ts';
import {
  assembleFixture, compileFixture, fixture, HAVE_LLVM_MC, HAVE_OBJDUMP, load, loadOk, NO_CLANG, objdumpFunctions,
} from './helpers.ts';

const CALL = 0x85;

/** The slots of the linked program that relocation rewrote (map/global/function lddw, bpf-to-bpf calls). */
function relocatedSlots(p: LoadedProgram): Set<number> {
  const s = new Set<number>();
  p.insns.forEach((insn, i) => {
    if (insn.opcode === LDDW && insn.src !== 0) { s.add(i); s.add(i + 1); }
    if (insn.opcode === CALL && insn.src === 1) s.add(i);
  });
  return s;
}

/** Every function of a linked program is byte-identical to llvm-objdump's, except the slots relocation rewrote. */
function assertMatchesObjdump(objectPath: string, p: LoadedProgram) {
  const fns = objdumpFunctions(objectPath);
  const bytes = encodeProgram(p.insns);
  const rewritten = relocatedSlots(p);
  const bounds = [...p.funcs.map((f) => f.insn), p.insns.length];
  p.funcs.forEach((f, k) => {
    const orig = fns.get(f.name);
    assert.ok(orig, `objdump has function ${f.name}`);
    assert.equal(bounds[k + 1] - f.insn, orig.length / 8, `${p.name}: ${f.name} has ${orig.length / 8} slots in objdump`);
    for (let s = f.insn; s < bounds[k + 1]; s++) {
      if (rewritten.has(s)) continue;
      assert.deepEqual(bytes.subarray(s * 8, s * 8 + 8), orig.subarray((s - f.insn) * 8, (s - f.insn) * 8 + 8), `${p.name} slot ${s} (${f.name})`);
    }
  });
}

/** Calls and function-address loads land on the first slot of a function of the same program. */
function assertCallTargets(p: LoadedProgram) {
  const starts = new Set(p.funcs.map((f) => f.insn));
  p.insns.forEach((insn, i) => {
    if ((insn.opcode === CALL && insn.src === 1) || (insn.opcode === LDDW && insn.src === 4)) {
      assert.ok(starts.has(i + insn.imm + 1), `${p.name} insn ${i}: target ${i + insn.imm + 1} is a function start`);
    }
  });
}

const prog = (o: { programs: LoadedProgram[] }, name: string) => {
  const p = o.programs.find((x) => x.name === name);
  assert.ok(p, `program ${name}`);
  return p;
};

test('BTF-defined maps: __type, key_size/value_size, map_flags, devmap, ringbuf rounding', { skip: NO_CLANG }, () => {
  const o = loadOk(compileFixture('maps_kinds.c'), fixture('maps_kinds.c'));
  assert.equal(o.license, 'GPL');
  const summary = o.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.kind, m.section]);
  // Order: by offset in .maps (libbpf sorts DATASEC vars by offset); ringbuf 5000 rounds up to 2 pages.
  assert.deepEqual(summary, [
    ['counters', MapType.ARRAY, 4, 8, 8, 0, 'user', '.maps'],
    ['flows', MapType.HASH, 16, 12, 1024, 0, 'user', '.maps'],
    ['lru', MapType.LRU_PERCPU_HASH, 16, 4, 256, BPF_F_NO_COMMON_LRU, 'user', '.maps'],
    ['events', MapType.RINGBUF, 0, 0, 8192, 0, 'user', '.maps'],
    ['ports', MapType.DEVMAP, 4, 8, 4, BPF_F_RDONLY_PROG, 'user', '.maps'],
  ]);
  const p = prog(o, 'use_maps');
  const refs = p.insns.filter((i) => i.opcode === LDDW && i.src === 1).map((i) => o.maps[i.imm].name);
  assert.deepEqual(refs, ['counters', 'flows', 'lru', 'events', 'ports']);
  if (HAVE_OBJDUMP) assertMatchesObjdump(compileFixture('maps_kinds.c'), p);
});

test('global data: .data/.bss/.rodata/custom sections become ARRAY maps named like libbpf', { skip: NO_CLANG }, () => {
  const o = loadOk(compileFixture('globals.c'), fixture('globals.c'));
  assert.equal(o.license, 'Dual BSD/GPL');
  const byName = new Map(o.maps.map((m) => [m.name, m]));
  assert.deepEqual([...byName.keys()], ['globals.rodata', 'globals.data', '.data.stats', '.rodata.cfg', 'globals.bss']);
  for (const m of o.maps) {
    assert.equal(m.kind, 'global');
    assert.equal(m.type, MapType.ARRAY);
    assert.equal(m.keySize, 4);
    assert.equal(m.maxEntries, 1);
    assert.equal(m.initialValue?.length, m.valueSize);
  }
  assert.equal(byName.get('globals.rodata')!.flags, BPF_F_RDONLY_PROG | BPF_F_MMAPABLE);
  assert.equal(byName.get('.rodata.cfg')!.flags, BPF_F_RDONLY_PROG | BPF_F_MMAPABLE);
  assert.equal(byName.get('globals.data')!.flags, BPF_F_MMAPABLE);
  // .data: packets = 100 (global, offset 0), local_count = 5 (static, offset 8).
  assert.deepEqual([...byName.get('globals.data')!.initialValue!], [100, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...byName.get('.rodata.cfg')!.initialValue!], [1, 2, 3]);
  assert.deepEqual([...byName.get('.data.stats')!.initialValue!], [0x44, 0x33, 0x22, 0x11]);
  assert.ok(byName.get('globals.bss')!.initialValue!.every((b) => b === 0));
  // .rodata holds threshold (0), hidden_cfg (4) and the printk format string.
  assert.deepEqual([...byName.get('globals.rodata')!.initialValue!.subarray(0, 8)], [7, 0, 0, 0, 9, 0, 0, 0]);

  const p = prog(o, 'use_globals');
  const refs = p.insns.filter((i) => i.opcode === LDDW && i.src === 2).map((i) => `${o.maps[i.imm].name}+${i.nextImm}`);
  // packets (global symbol + 0) and local_count (section symbol + addend 8) in .data; zeroed / zeroed_static in .bss.
  assert.ok(refs.includes('globals.data+0'), refs.join(' '));
  assert.ok(refs.includes('globals.data+8'), refs.join(' '));
  assert.ok(refs.includes('.data.stats+0'), refs.join(' '));
  assert.ok(refs.includes('globals.rodata+0') && refs.includes('globals.rodata+4'), refs.join(' '));
  assert.ok(refs.some((r) => r.startsWith('globals.bss+')), refs.join(' '));
  p.insns.forEach((insn, i) => {
    if (insn.opcode === LDDW && insn.src === 2) {
      assert.ok(insn.nextImm! >= 0 && insn.nextImm! < o.maps[insn.imm].valueSize, `insn ${i} offset in range`);
      assert.equal(p.insns[i + 1].imm, insn.nextImm, 'filler slot carries the same upper immediate');
    }
  });
  if (HAVE_OBJDUMP) assertMatchesObjdump(compileFixture('globals.c'), p);
});

test('global map names use the object name the caller gives (first 8 chars) and sanitise it', { skip: NO_CLANG }, () => {
  const o = loadOk(compileFixture('globals.c'), '/x/very-long-object-name.bpf.o');
  assert.deepEqual(o.maps.map((m) => m.name), ['very_lon.rodata', 'very_lon.data', '.data.stats', '.rodata.cfg', 'very_lon.bss']);
});

test('bpf-to-bpf calls: .text subprograms appended depth first, each once, calls and callbacks rewritten', { skip: NO_CLANG }, () => {
  const obj = compileFixture('subprogs.c');
  const o = loadOk(obj, fixture('subprogs.c'));
  assert.deepEqual(o.programs.map((p) => p.name), ['calls_a', 'calls_b']);
  const a = prog(o, 'calls_a');
  // calls_a calls middle (which calls leaf twice), then takes loop_cb's address, then calls global_helper.
  assert.deepEqual(a.funcs.map((f) => f.name), ['calls_a', 'middle', 'leaf', 'loop_cb', 'global_helper']);
  const b = prog(o, 'calls_b');
  assert.deepEqual(b.funcs.map((f) => f.name), ['calls_b', 'leaf', 'global_helper']);
  for (const p of [a, b]) {
    assertCallTargets(p);
    if (HAVE_OBJDUMP) assertMatchesObjdump(obj, p);
  }
  const cb = a.insns.findIndex((i) => i.opcode === LDDW && i.src === 4);
  assert.ok(cb >= 0, 'bpf_loop callback address is a BPF_PSEUDO_FUNC lddw');
  assert.equal(cb + a.insns[cb].imm + 1, a.funcs.find((f) => f.name === 'loop_cb')!.insn);
});

test('line info follows every function to its linked position, with source text', { skip: NO_CLANG }, () => {
  const o = loadOk(compileFixture('subprogs.c'), fixture('subprogs.c'));
  const a = prog(o, 'calls_a');
  assert.equal(a.lines.length, a.insns.length);
  for (const f of a.funcs) {
    const loc = a.lines[f.insn];
    assert.ok(loc, `${f.name} has a line at its first slot`);
    assert.equal(loc.file, fixture('subprogs.c'));
  }
  const leafStart = a.funcs.find((f) => f.name === 'leaf')!.insn;
  assert.match(a.lines[leafStart]!.text!, /static __noinline int leaf\(int x\)/);
  assert.equal(a.lines[leafStart]!.line, 6);
  assert.ok(a.lines.slice(leafStart).some((l) => l?.line === 8 && l.text === '\treturn x * 3 + 1;'));
  const known = a.lines.filter(Boolean).length;
  assert.ok(known >= a.insns.length - 3, `${known} of ${a.insns.length} slots have a location`);
});

test('several programs per section and object; xdp.frags and devmap sections; pickProgram', { skip: NO_CLANG }, () => {
  const o = loadOk(compileFixture('multi.c'), fixture('multi.c'));
  assert.deepEqual(o.programs.map((p) => [p.name, p.section, p.isXdp, p.frags]), [
    ['not_xdp', 'tc', false, false],
    ['first', 'xdp', true, false],
    ['second', 'xdp', true, false],
    ['with_frags', 'xdp.frags', true, true],
    ['on_devmap', 'xdp/devmap', true, false],
  ]);
  assert.equal((pickProgram(o) as LoadedProgram).name, 'first');
  assert.equal((pickProgram(o, 'second') as LoadedProgram).name, 'second');
  assert.equal((pickProgram(o, 'xdp.frags') as LoadedProgram).name, 'with_frags');
  assert.equal((pickProgram(o, 'xdp/devmap') as LoadedProgram).name, 'on_devmap');
  assert.equal((pickProgram(o, 'tc') as LoadedProgram).name, 'not_xdp');
  const miss = pickProgram(o, 'nope');
  assert.equal(typeof miss, 'string');
  assert.match(miss as string, /no program named 'nope'.*first \(section xdp\).*with_frags \(section xdp\.frags\)/);
  if (HAVE_OBJDUMP) for (const p of o.programs) assertMatchesObjdump(compileFixture('multi.c'), p);
});

test('pickProgram without XDP programs falls back to the first program', () => {
  const p = { name: 'a', section: 'tc', isXdp: false, frags: false, insns: [], lines: [], funcs: [] };
  assert.equal((pickProgram({ path: 'x.o', license: '', maps: [], programs: [p] }) as LoadedProgram).name, 'a');
  assert.match(pickProgram({ path: 'x.o', license: '', maps: [], programs: [] }) as string, /no programs/);
});

test('PROG_ARRAY initial slots from __array(values, ...)', { skip: NO_CLANG }, () => {
  const o = loadOk(compileFixture('tailcall.c'), fixture('tailcall.c'));
  const jump = o.maps.find((m) => m.name === 'jump')!;
  assert.equal(jump.type, MapType.PROG_ARRAY);
  assert.equal(jump.keySize, 4);
  assert.equal(jump.valueSize, 4);
  assert.equal(jump.maxEntries, 4);
  assert.deepEqual(jump.initialProgs, [{ index: 0, program: 'stage_drop' }, { index: 2, program: 'stage_pass' }]);
  assert.deepEqual(o.programs.map((p) => p.name), ['stage_drop', 'stage_pass', 'dispatcher']);
  assert.equal((pickProgram(o) as LoadedProgram).name, 'stage_drop');
});

test('legacy `maps` section (struct bpf_map_def) and a legacy section name', { skip: NO_CLANG }, () => {
  const o = loadOk(compileFixture('legacy_maps.c'), fixture('legacy_maps.c'));
  assert.deepEqual(o.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.section]), [
    ['old_counts', MapType.PERCPU_ARRAY, 4, 8, 16, 0, 'maps'],
    ['old_hash', MapType.HASH, 8, 4, 64, 1, 'maps'],
  ]);
  const p = prog(o, 'legacy');
  assert.equal(p.section, 'xdp_prog');
  assert.equal(p.isXdp, true);
  assert.deepEqual(p.insns.filter((i) => i.opcode === LDDW && i.src === 1).map((i) => o.maps[i.imm].name), ['old_counts', 'old_hash']);
});

test('-mcpu=v3 and -mcpu=v4 objects load and match objdump', { skip: NO_CLANG }, () => {
  for (const cpu of ['-mcpu=v3', '-mcpu=v4']) {
    let obj: string;
    try {
      obj = compileFixture('subprogs.c', [cpu]);
    } catch (e) {
      // clang 14 knows v3 but not v4; a clang that rejects the flag is not the loader's problem.
      if (cpu === '-mcpu=v4' && /v4|not a recognized processor|unknown target CPU/i.test(String(e))) continue;
      throw e;
    }
    const o = loadOk(obj, fixture('subprogs.c'));
    for (const p of o.programs) {
      assertCallTargets(p);
      if (HAVE_OBJDUMP) assertMatchesObjdump(obj, p);
    }
  }
});

test('llvm-mc object without BTF: programs, .text subprogram, global data, no line info', { skip: HAVE_LLVM_MC ? false : 'llvm-mc not installed' }, () => {
  const obj = assembleFixture('asm_prog.s');
  const { object: o, diagnostics } = load(obj, '/some/dir/asm_prog.o');
  assert.deepEqual(diagnostics, []);
  assert.ok(o);
  assert.equal(o.license, 'GPL');
  const p = prog(o, 'asm_main');
  // asm_main is .globl (a global function, checked on its own by the verifier); add_one is local.
  assert.deepEqual(p.funcs, [{ insn: 0, name: 'asm_main', global: true }, { insn: 9, name: 'add_one' }]);
  assert.equal(p.insns.length, 12);
  assert.ok(p.lines.every((l) => l === undefined));
  assertCallTargets(p);
  assert.deepEqual(o.maps.map((m) => [m.name, m.kind, m.flags, [...m.initialValue!]]), [['asm_prog.data', 'global', 0, [41, 0, 0, 0, 0, 0, 0, 0]]]);
  assert.deepEqual({ ...p.insns[2] }, { opcode: LDDW, dst: 1, src: 2, off: 0, imm: 0, nextImm: 0 });
  if (HAVE_OBJDUMP) assertMatchesObjdump(obj, p);
});

test('llvm-mc object with no function symbols: the whole section is one program, with a warning', { skip: HAVE_LLVM_MC ? false : 'llvm-mc not installed' }, () => {
  const { object: o, diagnostics } = load(assembleFixture('asm_nosym.s'));
  assert.ok(o);
  assert.deepEqual(o.programs.map((p) => [p.name, p.section, p.insns.length]), [['xdp', 'xdp', 2]]);
  assert.equal(diagnostics.length, 1);
  assert.equal(diagnostics[0].severity, 'warning');
  assert.match(diagnostics[0].message, /asm_nosym\.o: section 'xdp' has no function symbol/);
});

test('CO-RE relocations are resolved at load (the detail is in test/core)', { skip: NO_CLANG }, () => {
  // xdp_md___local matches struct xdp_md by essential name; data and data_end keep offsets 0 and 4 against any BTF.
  for (const vmlinux of [undefined, '/nonexistent/vmlinux']) {
    const { object, diagnostics } = loadObject(readFileSync(compileFixture('core_relo.c')), fixture('core_relo.c'), { vmlinux });
    assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
    const p = object!.programs[0];
    assert.equal(p.loadErrors, undefined);
    const loads = p.insns.filter((i) => (i.opcode & 0x07) === 0x01 && i.src === 1).map((i) => i.off).sort();
    assert.deepEqual(loads, [0, 4]);
    assert.equal((object!.notes ?? []).some((n) => /no kernel BTF at \/nonexistent\/vmlinux/.test(n)), vmlinux !== undefined);
  }
});

test('kfunc calls and __kconfig externs are linked; a __ksym variable is an error naming the feature', { skip: NO_CLANG }, () => {
  const { object, diagnostics } = load(compileFixture('externs.c'), fixture('externs.c'));
  const by = (p: string) => diagnostics.filter((d) => d.severity === 'error' && d.program === p).map((d) => d.message);
  assert.deepEqual(by('uses_kfunc'), []);
  assert.deepEqual(object!.programs.find((p) => p.name === 'uses_kfunc')!.kfuncs, [{ name: 'bpf_xdp_metadata_rx_hash' }]);
  assert.match(by('uses_ksym')[0], /externs\.c:20:.*kernel symbol 'bpf_prog_active' \(an untyped __ksym\)/);
  assert.deepEqual(by('uses_kconfig'), []);
  assert.ok(object!.maps.some((m) => m.name === 'externs.kconfig' && m.section === '.kconfig'));
});
