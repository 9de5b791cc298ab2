// The bytecode analysis below the C level: the interval domain, and hand-written programs (assembled with the
// project's assembler, one source line per instruction) for the walk's bounds and for input a compiler would not
// produce. No clang needed.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { analyzeObject, analyzeObjectReport } from '../../simulator/analysis/bytecode.ts';
import { alu32, alu64, assume, assume32, assumeNot, constant, low32, unsignedRange } from '../../simulator/analysis/bytecode/scalar.ts';
import { BPF_F_RDONLY_PROG, MapType, type LoadedObject, type MapDef } from '../../simulator/elf/types.ts';
import { assemble } from '../../simulator/isa/asm.ts';

const range = (lo: bigint, hi: bigint) => unsignedRange(lo, hi, false);
const bounds = (s: { umin: bigint; umax: bigint } | undefined) => (s ? [s.umin, s.umax] : undefined);

describe('interval domain', () => {
  test('constants fold exactly, with 64- and 32-bit wrap-around', () => {
    assert.deepEqual(bounds(alu64('add', constant(-1n), constant(2n), 0)), [1n, 1n]);
    assert.deepEqual(bounds(alu32('add', constant(0xffffffffn), constant(2n), 0)), [1n, 1n]);
    assert.deepEqual(bounds(alu32('arsh', constant(0x80000000n), constant(4n), 0)), [0xf8000000n, 0xf8000000n]);
    assert.deepEqual(bounds(alu64('movsx', constant(0n), constant(0x80n), 8)), [0xffffffffffffff80n, 0xffffffffffffff80n]);
  });

  test('masks, shifts and additions bound unknown values', () => {
    const byte = range(0n, 255n);
    assert.deepEqual(bounds(alu64('and', byte, constant(7n), 0)), [0n, 7n]);
    assert.deepEqual(bounds(alu64('lsh', alu64('and', byte, constant(15n), 0), constant(2n), 0)), [0n, 60n]);
    assert.deepEqual(bounds(alu64('add', byte, constant(14n), 0)), [14n, 269n]);
    // The verifier (6.18) follows no division or modulo, not even of constants: any number, as there.
    assert.deepEqual(bounds(alu64('mod', range(0n, 1000n), constant(5n), 0)), [0n, 0xffffffffffffffffn]);
    assert.deepEqual(bounds(alu64('div', constant(10n), constant(2n), 0)), [0n, 0xffffffffffffffffn]);
    assert.deepEqual(bounds(alu32('mod', constant(10n), constant(7n), 0)), [0n, 0xffffffffn]);
    assert.deepEqual(bounds(alu64('rsh', range(0n, 0xffffn), constant(8n), 0)), [0n, 255n]);
    // 32-bit subtraction that may go below zero wraps to anything 32-bit.
    assert.deepEqual(bounds(alu32('sub', range(0n, 10n), range(0n, 20n), 0)), [0n, 0xffffffffn]);
    assert.deepEqual(bounds(low32(range(0x100000000n, 0x100000010n))), [0n, 0x10n]);
  });

  test('comparisons refine both sides and find impossible branches', () => {
    const x = range(0n, 255n);
    assert.deepEqual(bounds(assume('jgt', x, constant(4n))?.[0]), [5n, 255n]);
    assert.deepEqual(bounds(assumeNot('jgt', x, constant(4n))?.[0]), [0n, 4n]);
    assert.equal(assume('jgt', x, constant(255n)), undefined);
    assert.deepEqual(bounds(assumeNot('jeq', range(0n, 4n), constant(0n))?.[0]), [1n, 4n]);
    assert.equal(assume('jeq', constant(3n), constant(4n)), undefined);
    // Signed: a byte is never negative.
    assert.equal(assume('jslt', x, constant(0n)), undefined);
    // JMP32 on values wider than 32 bits learns nothing but keeps both sides possible.
    assert.ok(assume32('jgt', range(0n, 1n << 40n), constant(4n), true));
    assert.ok(assume32('jgt', range(0n, 1n << 40n), constant(4n), false));
    assert.equal(assume32('jeq', constant(0x100000005n), constant(5n), false), undefined);
  });
});

/** A LoadedObject around assembled text; every instruction gets line (slot + 1) of a file named `prog.s`. */
function object(text: string, maps: MapDef[] = [], section = 'xdp'): LoadedObject {
  const a = assemble(text);
  assert.deepEqual(a.errors, []);
  return {
    path: 'prog.s',
    license: 'GPL',
    maps,
    programs: [{
      name: 'prog', section, isXdp: section.startsWith('xdp'), frags: false, insns: a.insns,
      lines: a.insns.map((_, pc) => ({ file: 'prog.s', line: pc + 1, column: 1, text: `insn ${pc}` })),
      funcs: [{ insn: 0, name: 'prog' }],
    }],
  };
}
const rulesAt = (obj: LoadedObject) => analyzeObject(obj).map((f) => `${f.rule}:${f.line}`);

describe('hand-written programs', () => {
  test('a bare return of an action is clean; a constant outside 0..4 is not', () => {
    assert.deepEqual(rulesAt(object('mov %r0, 2\nexit')), []);
    assert.deepEqual(rulesAt(object('mov %r0, 7\nexit')), ['invalid-action:1']);
    assert.deepEqual(rulesAt(object('mov %r0, -1\nexit')), ['invalid-action:1']);
  });

  test('an exit without r0 set is the verifier\'s R0 !read_ok; returning an opaque map value reports nothing', () => {
    assert.deepEqual(rulesAt(object('exit')), ['pointer-misuse:1']);
    const maps: MapDef[] = [{ name: 'm', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0, kind: 'user', section: '.maps' }];
    const obj = object('stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, 0\ncall 1\njeq %r0, 0, +2\nldxw %r0, [%r0+0]\nexit\nmov %r0, 2\nexit', maps);
    // Patch the lddw into a map reference (BPF_PSEUDO_MAP_FD, map 0), as the loader's relocation would.
    obj.programs[0].insns[3].src = 1;
    assert.deepEqual(rulesAt(obj), []);
    // The same value returned as is would be reported if it came from the packet instead.
    assert.deepEqual(rulesAt(object('ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 1\njgt %r4, %r3, +2\nldxb %r0, [%r2+0]\nexit\nmov %r0, 1\nexit')), ['invalid-action:6']);
  });

  test('ctx stores and packet reads without a bounds check are found on their instruction', () => {
    assert.deepEqual(rulesAt(object('stw [%r1+16], 0\nmov %r0, 2\nexit')), ['ctx-write:1']);
    assert.deepEqual(rulesAt(object('ldxw %r2, [%r1+0]\nldxb %r0, [%r2+0]\nmov %r0, 2\nexit')), ['unchecked-packet-access:2']);
    const checked = 'ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 1\njgt %r4, %r3, +1\nldxb %r0, [%r2+0]\nmov %r0, 2\nexit';
    assert.deepEqual(rulesAt(object(checked)), []);
  });

  test('a global .rodata value written through its lddw pointer is a readonly-write', () => {
    const rodata: MapDef = { name: 'prog.rodata', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: BPF_F_RDONLY_PROG, kind: 'global', section: '.rodata' };
    const obj = object('lddw %r1, 0\nstw [%r1+0], 1\nmov %r0, 2\nexit', [rodata]);
    obj.programs[0].insns[0].src = 2; // BPF_PSEUDO_MAP_VALUE, map 0, offset 0
    assert.deepEqual(rulesAt(obj), ['readonly-write:3']);
  });

  test('an endless loop ends the walk quickly with no finding', () => {
    const r = analyzeObjectReport(object('mov %r0, 0\nloop:\nadd %r0, 1\nja loop'));
    assert.deepEqual(r.findings, []);
  });

  test('a counting loop the pruning cannot close stops at the bound and reports nothing from the unexplored rest', () => {
    const text = 'mov %r0, 0\nloop:\nadd %r0, 1\njne %r0, 0, loop\nmov %r0, 2\nexit';
    const r = analyzeObjectReport(object(text), { limits: { maxSteps: 20_000 } });
    assert.deepEqual(r.findings, []);
    assert.equal(r.programs[0].steps <= 20_001, true);
  });

  test('jumps out of the program, unknown opcodes and deep recursion do not crash the walk', () => {
    const obj = object('mov %r0, 2\nja +5\nexit');
    assert.deepEqual(rulesAt(obj), []);
    const bad = object('mov %r0, 2\nexit');
    bad.programs[0].insns[0] = { opcode: 0xff, dst: 0, src: 0, off: 0, imm: 0 };
    assert.deepEqual(rulesAt(bad), []);
    const recursive = object('call local f\nmov %r0, 2\nexit\nf:\ncall local f\nexit');
    const r = analyzeObjectReport(recursive);
    assert.deepEqual(r.findings, []);
    assert.equal(r.programs[0].complete, false);
  });

  test('programs outside xdp sections are not analysed', () => {
    assert.deepEqual(analyzeObjectReport(object('mov %r0, 7\nexit', [], 'tc')).programs, []);
  });
});
