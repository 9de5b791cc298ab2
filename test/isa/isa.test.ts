// The instruction set: opcode table, decode, validation, assembler/disassembler round trip, and the kernel-measured
// ALU/JMP/atomic vectors of shared/reference/xdp-semantics.md A.2-A.4 run through the interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OPCODES, OPCODE_LIST, aluVariant, opcodeInfo } from '../../simulator/isa/opcodes.ts';
import { decodeProgram, encodeProgram } from '../../simulator/isa/decode.ts';
import { mayReadUninitialized, registerChecks, stackLimits, validateProgram } from '../../simulator/isa/validate.ts';
import { assemble } from '../../simulator/isa/asm.ts';
import { disassemble, disassembleInsn } from '../../simulator/isa/disasm.ts';
import { helperName } from '../../simulator/isa/helper-names.ts';
import { CONFORMANCE_HELPERS, runRaw } from '../../simulator/vm/interpreter.ts';

function asm(text: string) {
  const a = assemble(text);
  assert.deepEqual(a.errors, [], text);
  return a.insns;
}

function raw(text: string, mem = new Uint8Array(0)) {
  const insns = asm(text);
  const r = runRaw(insns, mem, { validate: (p) => validateProgram(p, { isHelperKnown: (id) => CONFORMANCE_HELPERS.has(id), entryRegs: [1, 2, 10] }) });
  assert.equal(r.fault, undefined, r.fault?.message);
  return r.retval;
}

test('the opcode table has one entry per opcode byte and indexes back to it', () => {
  const codes = new Set(OPCODE_LIST.map((o) => o.code));
  assert.equal(codes.size, OPCODE_LIST.length);
  for (const o of OPCODE_LIST) assert.equal(OPCODES[o.code], o);
  assert.equal(opcodeInfo(0x8d), undefined, 'callx is not an instruction');
  assert.equal(opcodeInfo(0x06)?.mnemonic, 'ja32');
  assert.equal(opcodeInfo(0xd7)?.end, 'bswap');
  assert.equal(opcodeInfo(0x91)?.kind, 'ldxsx');
  assert.equal(aluVariant(opcodeInfo(0x3f)!, 1), 'sdiv');
  assert.equal(aluVariant(opcodeInfo(0xbf)!, 32), 'movsx');
  assert.equal(aluVariant(opcodeInfo(0xbc)!, 32), undefined, 'ALU32 movsx has no 32-bit form');
  assert.equal(aluVariant(opcodeInfo(0x07)!, 1), undefined);
});

test('helper names follow ___BPF_FUNC_MAPPER', () => {
  assert.equal(helperName(1), 'bpf_map_lookup_elem');
  assert.equal(helperName(44), 'bpf_xdp_adjust_head');
  assert.equal(helperName(69), 'bpf_fib_lookup');
  assert.equal(helperName(181), 'bpf_loop');
  assert.equal(helperName(195), 'bpf_map_lookup_percpu_elem');
  assert.equal(helperName(211), 'bpf_cgrp_storage_delete');
  assert.equal(helperName(0), undefined);
  assert.equal(helperName(212), undefined);
});

test('decode keeps lddw as two slots and reports a trailing fragment', () => {
  const bytes = encodeProgram(asm('lddw %r1, 0x1122334455667788\nexit'));
  const d = decodeProgram(bytes);
  assert.equal(d.insns.length, 3);
  assert.equal(d.insns[0].imm, 0x55667788);
  assert.equal(d.insns[0].nextImm, 0x11223344);
  assert.equal(d.insns[1].opcode, 0);
  assert.deepEqual(d.diagnostics, []);
  const short = decodeProgram(bytes.subarray(0, 12));
  assert.equal(short.insns.length, 1);
  assert.match(short.diagnostics[0].message, /not a multiple of 8/);
  assert.match(short.diagnostics[1].message, /lddw needs two slots/);
});

test('validation names the slot and the problem', () => {
  const errs = (text: string, opts = {}) => validateProgram(asm(text), opts).map((e) => e.message);
  assert.match(errs('ja +5\nmov %r0, 0\nexit')[0], /insn 0: jump out of range from insn 0 to 6/);
  assert.match(errs('ja +1\nlddw %r0, 1\nexit')[0], /jump into the middle of ldimm64 insn 1/);
  assert.match(errs('mov %r0, 0')[0], /last insn is not an exit or jmp/);
  assert.match(errs('call 99999\nexit')[0], /invalid func unknown#99999/);
  assert.match(errs('mov %r10, 0\nexit')[0], /insn 0: frame pointer is read only/);
  assert.match(errs('exit')[0], /R0 !read_ok/);
  assert.match(errs('mov %r0, 0\ncall 7\nmov %r0, %r1\nexit')[0], /insn 2: R1 !read_ok/);
  // A helper reads the arguments its proto declares: bpf_map_lookup_elem's key pointer r2 was never written.
  assert.match(errs('mov %r0, 0\ncall 1\nexit')[0], /insn 1: R2 !read_ok/);
  assert.match(errs('mov %r0, 0\nbe16 %r0\nexit')[0] ?? 'ok', /ok/);
  assert.match(errs('lddw %r1, map[3]\nmov %r0, 0\nexit', { mapCount: 1 })[0], /refers to map 3/);
  assert.match(errs('mov %r0, 1\nja -1\nexit')[0], /infinite loop/);
  assert.match(errs('mov %r0, 0\ncall local f\nexit\nf:\nmov %r0, 1\nja -5\nexit')[0], /leaves the function/);
  const ldAbs = [{ opcode: 0x30, dst: 0, src: 0, off: 0, imm: 12 }, { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 }];
  assert.match(validateProgram(ldAbs).map((e) => e.message)[0], /BPF_LD_\[ABS\|IND\] instructions not allowed/);
  const badEnd = [{ opcode: 0xdc, dst: 0, src: 0, off: 0, imm: 24 }, { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 }];
  assert.match(validateProgram(badEnd, { checkUninitialized: false })[0].message, /BPF_END uses reserved fields/);
  const atomic16 = [{ opcode: 0xcb, dst: 10, src: 1, off: -8, imm: 0 }, { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 }];
  assert.match(validateProgram(atomic16, { checkUninitialized: false })[0].message, /invalid atomic operand size/);
});

test('assembler errors carry line numbers', () => {
  const a = assemble('mov %r0, 1\n\nldxq %r0, %r1\nja nowhere\nmov32 %r0, 2147483648\nexit');
  assert.deepEqual(a.errors.map((e) => e.line), [3, 5, 4]);
  assert.match(a.errors[0].message, /line 3: Invalid mnemonic: ldxq/);
  assert.match(a.errors[2].message, /Invalid label: nowhere/);
});

test('disassembly round-trips through the assembler', () => {
  const text = [
    'lddw %r1, 0xfedcba9876543210', 'lddw %r2, map[1]', 'lddw %r3, map_value[0]+16', 'mov %r0, -1', 'mov32 %r4, %r1',
    'sdiv %r0, 3', 'smod32 %r0, %r4', 'movsx1664 %r5, %r4', 'movsx832 %r5, %r4', 'neg32 %r5', 'be16 %r5', 'le64 %r5',
    'bswap32 %r5', 'ldxsh %r6, [%r10-2]', 'ldxdw %r6, [%r1+8]', 'stb [%r10-1], 7', 'stxw [%r10-8], %r6',
    'lock fetch add [%r10-8], %r1', 'lock xchg32 [%r10-8], %r1', 'lock cmpxchg [%r10-8], %r1', 'lock or32 [%r10-8], %r1',
    'jsgt32 %r1, -5, +1', 'jset %r1, %r2, -3', 'ja32 +0', 'call local +1', 'call 44', 'exit', 'exit',
  ].join('\n');
  const insns = asm(text);
  const back = disassemble(insns).split('\n').map((l) => l.replace(/^\s*\d+: /, '')).join('\n');
  assert.deepEqual(encodeProgram(asm(back)), encodeProgram(insns));
  assert.equal(disassembleInsn(insns[0]), 'lddw %r1, 0xfedcba9876543210');
  assert.equal(disassembleInsn(asm('call 1')[0], 0, { helperNames: true }), 'call 1 # bpf_map_lookup_elem');
});

test('every conformance program disassembles and reassembles to the same bytes', { skip: existsSync(join(process.cwd(), '../shared/conformance')) ? false : 'shared conformance data absent' }, () => {
  const root = join(process.cwd(), '../shared/conformance/bpf_conformance-tests');
  let n = 0;
  for (const f of readdirSync(root)) {
    const text = readFileSync(join(root, f), 'utf8');
    const m = /-- asm\n([\s\S]*?)(\n-- |$)/.exec(text);
    if (!m) continue;
    const a = assemble(m[1]);
    if (a.errors.length || a.insns.some((i) => i.opcode === 0x8d)) continue; // callx has no opcode-table entry
    const back = disassemble(a.insns).split('\n').map((l) => l.replace(/^\s*\d+: /, '')).join('\n');
    const b = assemble(back);
    assert.deepEqual(b.errors, [], `${f}: ${back}`);
    assert.deepEqual(encodeProgram(b.insns), encodeProgram(a.insns), f);
    n++;
  }
  assert.ok(n > 300, `only ${n} programs round-tripped`);
});

test('ALU vectors measured on the kernel (A.2)', () => {
  assert.equal(raw('mov32 %r0, -1\nexit'), 0xffffffffn);
  assert.equal(raw('mov %r0, -1\nexit'), 0xffffffffffffffffn);
  assert.equal(raw('mov %r0, -1\ndiv %r0, -1\nexit'), 1n);
  assert.equal(raw('mov32 %r0, 0xfffffffe\ndiv32 %r0, -2\nexit'), 1n);
  assert.equal(raw('mov %r0, 1\nmov %r1, 65\nlsh %r0, %r1\nexit'), 2n);
  assert.equal(raw('mov %r0, 1\nmov %r1, 33\nlsh32 %r0, %r1\nexit'), 2n);
  assert.equal(raw('mov %r0, -1\nmov %r1, 64\nrsh %r0, %r1\nexit'), 0xffffffffffffffffn);
  assert.equal(raw('mov32 %r0, 0x80000000\narsh32 %r0, 4\nexit'), 0xf8000000n);
  assert.equal(raw('mov %r0, 1\nneg32 %r0\nexit'), 0xffffffffn);
  assert.equal(raw('mov %r0, -7\nsdiv %r0, 2\nexit'), BigInt.asUintN(64, -3n));
  assert.equal(raw('mov %r0, -7\nsmod %r0, 2\nexit'), BigInt.asUintN(64, -1n));
  assert.equal(raw('mov %r0, 7\nsmod %r0, -3\nexit'), 1n);
  assert.equal(raw('lddw %r0, 0x8000000000000000\nmov %r1, -1\nsdiv %r0, %r1\nexit'), 0x8000000000000000n);
  assert.equal(raw('lddw %r0, 0x8000000000000000\nmov %r1, -1\nsmod %r0, %r1\nexit'), 0n);
  assert.equal(raw('mov32 %r0, 0x80000000\nmov %r1, -1\nsdiv32 %r0, %r1\nexit'), 0x80000000n);
  assert.equal(raw('mov %r0, -9\nmov %r1, 0\nsmod %r0, %r1\nexit'), BigInt.asUintN(64, -9n));
  const x = 'lddw %r1, 0x1234567880808080\n';
  assert.equal(raw(x + 'movsx864 %r0, %r1\nexit'), 0xffffffffffffff80n);
  assert.equal(raw(x + 'movsx1664 %r0, %r1\nexit'), 0xffffffffffff8080n);
  assert.equal(raw(x + 'movsx3264 %r0, %r1\nexit'), 0xffffffff80808080n);
  assert.equal(raw(x + 'movsx832 %r0, %r1\nexit'), 0x00000000ffffff80n);
  const y = 'lddw %r0, 0x0102030405060708\n';
  assert.equal(raw(y + 'le16 %r0\nexit'), 0x0708n);
  assert.equal(raw(y + 'be32 %r0\nexit'), 0x08070605n);
  assert.equal(raw(y + 'be64 %r0\nexit'), 0x0807060504030201n);
  assert.equal(raw(y + 'bswap16 %r0\nexit'), 0x0807n);
  assert.equal(raw('lddw %r1, 0x100000000\nmov32 %r0, 7\ndiv32 %r0, %r1\nexit'), 0n, 'div32 by 0x100000000 divides by 0');
});

test('JMP32 compares the low 32 bits (A.3) and memory is little-endian (A.4)', () => {
  assert.equal(raw('lddw %r1, 0x1111111100000005\nmov %r0, 0\njeq32 %r1, 5, +1\nexit\nmov %r0, 1\nexit'), 1n);
  assert.equal(raw('lddw %r1, 0x1111111100000005\nmov %r0, 0\njeq %r1, 5, +1\nexit\nmov %r0, 1\nexit'), 0n);
  assert.equal(raw('ldxw %r0, [%r1+0]\nexit', Uint8Array.from([0x80, 0x81, 0x82, 0x83])), 0x83828180n);
});

test('atomics measured on the kernel (A.4)', () => {
  assert.equal(raw('stdw [%r10-8], 40\nmov %r1, 2\nlock fetch add [%r10-8], %r1\nldxdw %r0, [%r10-8]\nlsh %r0, 8\nor %r0, %r1\nexit'), (42n << 8n) | 40n);
  assert.equal(raw('stw [%r10-4], -1\nmov %r1, 1\nlock xchg32 [%r10-4], %r1\nmov %r0, %r1\nexit'), 0xffffffffn);
  assert.equal(raw('stw [%r10-4], 5\nmov %r0, 6\nmov %r1, 9\nlock cmpxchg32 [%r10-4], %r1\nexit'), 5n);
});

test('registers: r0 is checked only at the exits of the entry and of callbacks, per call site after a call', () => {
  const reads = (text: string) => [...mayReadUninitialized(asm(text))].flatMap((m, pc) => (m ? [`${pc}:${m}`] : []));
  // A void callee exits without r0: nothing to check, the caller never reads r0.
  assert.deepEqual(reads('call local f\nmov %r0, 2\nexit\nf:\nstxdw [%r10-8], %r1\nexit'), []);
  // A caller that reads r0 after the void call may read it unwritten (slot 1, r0 = mask 1).
  assert.deepEqual(reads('call local f\nmov %r0, %r0\nexit\nf:\nexit'), ['1:1']);
  // ... but not after a callee that writes r0 on every path.
  assert.deepEqual(reads('call local f\nmov %r0, %r0\nexit\nf:\njeq %r1, 0, +1\nmov %r0, 1\nmov %r0, 2\nexit'), []);
  // ... and a callee that leaves r0 unwritten on one path only is enough to check.
  assert.deepEqual(reads('call local f\nmov %r0, %r0\nexit\nf:\njeq %r1, 0, +1\nmov %r0, 1\nexit'), ['1:1']);
  // The callee gets the caller's r1-r5 as they are: r3 was never written.
  assert.deepEqual(reads('call local f\nmov %r0, 0\nexit\nf:\nmov %r0, %r3\nexit'), ['3:8']);
  // The entry's exit reads r0.
  assert.deepEqual(reads('exit'), ['0:1']);
  // The static form (conformance mode) no longer reports the exit of a subprogram.
  assert.deepEqual(validateProgram(asm('call local f\nmov %r0, 2\nexit\nf:\nexit')), []);
  assert.equal(registerChecks(asm('call local f\nmov %r0, 2\nexit\nf:\nexit')), undefined, 'nothing to check at run time');
});

test('validation refuses nothing the kernel may load: conditional self-jumps, kernel variables', () => {
  assert.deepEqual(validateProgram(asm('mov %r0, 0\njeq %r0, 5, -1\nexit')), []);
  const ksym = [
    { opcode: 0x18, dst: 1, src: 3, off: 0, imm: 7 }, { opcode: 0, dst: 0, src: 0, off: 0, imm: 0 },
    { opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 2 }, { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ];
  assert.deepEqual(validateProgram(ksym), []);
});

test('stack limits: frames rounded as the kernel rounds them, summed along call chains, in the verifier\'s words', () => {
  const prog = (a: number, b: number) => asm(`stb [%r10-${a}], 1\ncall local f\nmov %r0, 2\nexit\nf:\nmov %r2, %r10\nadd %r2, -${b}\nstb [%r2+0], 1\nexit`);
  const ok = stackLimits(prog(200, 300));
  assert.deepEqual(ok.depths, [200, 304]); // whole 8-byte slots, as the verifier grows the stack
  assert.equal(ok.refusal, undefined); // 208 + 304 = 512 with the JIT's 16-byte rounding
  assert.equal(stackLimits(prog(210, 300)).refusal?.message, 'combined stack size of 2 calls is 528. Too large');
  assert.equal(stackLimits(prog(200, 300), { jit: false }).refusal?.message, 'combined stack size of 2 calls is 544. Too large');
  // Nine nested frames.
  const deep = ['call local f1', 'mov %r0, 0', 'exit'];
  for (let i = 1; i <= 8; i++) deep.push(`f${i}:`, ...(i < 8 ? [`call local f${i + 1}`] : []), 'mov %r0, 0', 'exit');
  assert.equal(stackLimits(asm(deep.join('\n'))).refusal?.message, 'the call stack of 8 frames is too deep !');
  // A tail call below 256 bytes of callers' frames.
  const tail = asm('stb [%r10-256], 1\ncall local f\nmov %r0, 2\nexit\nf:\ncall 12\nexit');
  assert.equal(stackLimits(tail).refusal?.message, 'tail_calls are not allowed when call stack of previous frames is 256 bytes. Too large');
});
