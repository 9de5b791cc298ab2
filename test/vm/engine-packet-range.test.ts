// The compiled engine's packet proofs (compiled/region-kinds.ts packetRanges): a packet access inside the bytes the
// program itself proved readable by a compare with data_end skips the window test. The proofs of small programs; the
// generated code of a proven and an unproven access; and the engines agreeing (return value, fault kind, slot, line,
// steps, packet bytes) on programs where a wrong proof would read or write outside the packet: a compare on one path
// only, each compare's direction, adjust_head/tail/meta and a bpf-to-bpf call after the compare, a pointer copied and
// moved, 32-bit arithmetic and compares, a loop, read-only pages and short budgets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../simulator/isa/asm.ts';
import { OPCODES } from '../../simulator/isa/opcodes.ts';
import { generate } from '../../simulator/vm/compiled/engine.ts';
import { P_UNKNOWN, packetRanges } from '../../simulator/vm/compiled/region-kinds.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';

const env: Environment = { nowNs: () => 1n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };

function insnsOf(text: string) {
  const a = assemble(text);
  assert.deepEqual(a.errors, [], text);
  return a.insns;
}

function machineFor(text: string, engine: 'interp' | 'compiled', budget?: number) {
  const insns = insnsOf(text);
  const obj: LoadedObject = {
    path: 't.o', license: 'GPL', maps: [],
    programs: [{ name: 'p', section: 'xdp', isXdp: true, frags: false, insns, lines: insns.map((_, i) => ({ file: 'p.c', line: i + 1, column: 1 })), funcs: [{ insn: 0, name: 'p' }] }],
  };
  return createMachine(obj, { engine, budget });
}

const buff = (len: number, readonlyPage: boolean, rxQueueIndex: number): XdpBuff => {
  const frame = new Uint8Array(4096);
  for (let i = 0; i < frame.length; i++) frame[i] = (i * 37 + 11) & 0xff;
  return { frame, data: 256, dataEnd: 256 + len, dataMeta: 256, frags: [], fragSize: 0, ingressIfindex: 3, rxQueueIndex, readonlyPage };
};

/** Runs `text` under both engines over packet lengths, read-only pages, both paths of rx_queue_index and budgets. */
function agree(name: string, text: string, lens: number[], budgets: (number | undefined)[] = [undefined]): number {
  let faults = 0;
  for (const len of lens) {
    for (const readonlyPage of [false, true]) {
      for (const rx of [0, 1]) {
        for (const budget of budgets) {
          const run = (engine: 'interp' | 'compiled') => {
            const b = buff(len, readonlyPage, rx);
            const r = machineFor(text, engine, budget).run('p', b, env);
            return { r, bytes: Buffer.from(b.frame.subarray(0, 512)).toString('hex'), data: b.data, end: b.dataEnd };
          };
          const c = run('compiled');
          assert.deepEqual(c, run('interp'), `${name}: ${len} bytes, read-only ${readonlyPage}, rx ${rx}, budget ${budget}`);
          if (c.r.fault && c.r.fault.kind !== 'budget-exhausted') faults++;
        }
      }
    }
  }
  return faults;
}

const HEAD = ['mov %r6, %r1', 'ldxw %r7, [%r6+0]', 'ldxw %r8, [%r6+4]'];

test('packet proofs: a compare with data_end, min at a merge, a copy moved, cleared by a packet-moving call', () => {
  const insns = insnsOf([
    ...HEAD, // 0-2
    'mov %r3, %r7', // 3
    'add %r3, 20', // 4
    'jgt %r3, %r8, +12', // 5: not taken -> range 20
    'ldxw %r4, [%r6+16]', // 6
    'jeq %r4, 1, +3', // 7
    'mov %r3, %r7', // 8
    'add %r3, 30', // 9
    'jgt %r3, %r8, +8', // 10: range 30 on this path only
    'ldxw %r0, [%r7+16]', // 11: merge -> range 20
    'mov %r5, %r7', // 12
    'add %r5, 6', // 13
    'add32 %r4, 1', // 14
    'mov %r1, %r6', // 15
    'call 1', // 16: keeps
    'call 44', // 17: moves the packet
    'mov %r0, 0', // 18
    'exit', // 19
  ].join('\n'));
  const { off, range } = packetRanges(insns, insns.map((i) => OPCODES[i.opcode]));
  const at = (pc: number, r: number) => off[pc * 11 + r];
  assert.equal(at(3, 7), 0);
  assert.equal(at(5, 3), 20);
  assert.equal(range[5], 0);
  assert.equal(range[6], 20, 'data + 20 <= data_end after the not-taken jgt');
  assert.equal(range[11], 20, 'the smaller range at the merge');
  assert.equal(at(11, 3), P_UNKNOWN, 'r3 is data + 20 on one path, data + 30 on the other');
  assert.equal(at(14, 5), 6, 'a copy moved by a constant');
  assert.equal(at(15, 4), P_UNKNOWN);
  assert.equal(range[17], 20, 'map_lookup_elem keeps the proof');
  assert.equal(at(17, 7), 0);
  assert.equal(range[18], 0, 'adjust_head clears it');
  assert.equal(at(18, 7), P_UNKNOWN);
  const alu32 = insnsOf([...HEAD, 'mov %r3, %r7', 'add32 %r3, 20', 'jgt %r3, %r8, +1', 'ldxb %r0, [%r7+0]', 'exit'].join('\n'));
  assert.equal(packetRanges(alu32, alu32.map((i) => OPCODES[i.opcode])).range[6], 0, 'a 32-bit add makes a number');
  const jmp32 = insnsOf([...HEAD, 'mov %r3, %r7', 'add %r3, 20', 'jgt32 %r3, %r8, +1', 'ldxb %r0, [%r7+0]', 'exit'].join('\n'));
  assert.equal(packetRanges(jmp32, jmp32.map((i) => OPCODES[i.opcode])).range[6], 0, 'a 32-bit compare proves nothing');
});

test('generated code: a proven access has no window test, an unproven one keeps it', () => {
  const insns = insnsOf([...HEAD, 'mov %r3, %r7', 'add %r3, 8', 'jgt %r3, %r8, +4', 'ldxw %r0, [%r7+4]', 'ldxw %r0, [%r7+5]', 'stb [%r7+7], 1', 'stb [%r7+8], 1', 'exit'].join('\n'));
  const src = generate({ name: 'p', insns }, undefined).source;
  const line = (needle: string) => src.split('\n').find((l) => l.includes(needle)) ?? '';
  assert.match(line('mem.ld4(h7, l7, 4, 6)'), /^if \(h7 === 2\) \{ const o/);
  assert.match(line('mem.ld4(h7, l7, 5, 7)'), /o >= pLo/);
  assert.match(line('mem.st1(h7, l7, 7, 1, 8)'), /^if \(h7 === 2 && pW !== -2147483648\) \{ const o .* mem\.packetWritten = 1; \}/);
  assert.match(line('mem.st1(h7, l7, 8, 1, 9)'), /o >= pLo/);
});

test('the engines agree where a wrong proof would read or write outside the packet', () => {
  const exit = ['mov %r0, 1', 'exit'];
  let faults = 0;
  // Each unsigned compare, both operand orders, the access on both sides (and signed and 32-bit compares).
  for (const op of ['jgt', 'jge', 'jlt', 'jle', 'jsgt', 'jsle', 'jgt32', 'jle32']) {
    for (const order of [['%r3', '%r8'], ['%r8', '%r3']]) {
      const text = [
        ...HEAD, 'mov %r3, %r7', 'add %r3, 20', `${op} ${order[0]}, ${order[1]}, +3`,
        'ldxw %r0, [%r7+16]', 'stb [%r7+19], 5', 'exit',
        'ldxw %r0, [%r7+16]', 'stb [%r7+19], 6', 'exit',
      ].join('\n');
      faults += agree(`${op} ${order.join(' ')}`, text, [0, 14, 16, 19, 20, 21, 24]);
    }
  }
  // A compare on one path only (rx_queue_index 1 skips it), two compares of different reach, joined.
  faults += agree('one path', [
    ...HEAD, 'ldxw %r4, [%r6+16]', 'jeq %r4, 1, +3', 'mov %r3, %r7', 'add %r3, 20', 'jgt %r3, %r8, +2',
    'ldxw %r0, [%r7+16]', 'exit', ...exit,
  ].join('\n'), [0, 12, 19, 20, 24]);
  faults += agree('two reaches', [
    ...HEAD, 'ldxw %r4, [%r6+16]', 'mov %r3, %r7', 'jeq %r4, 1, +3', 'add %r3, 20', 'jgt %r3, %r8, +6', 'ja +2',
    'add %r3, 10', 'jgt %r3, %r8, +3', 'ldxw %r0, [%r7+12]', 'ldxw %r0, [%r7+6]', 'exit', ...exit,
  ].join('\n'), [0, 10, 12, 15, 16, 20]);
  // adjust_head / adjust_tail / adjust_meta after the compare: the old pointer, and data read again.
  for (const [id, delta] of [[44, 30], [44, -8], [65, -30], [65, 8], [54, -8]]) {
    faults += agree(`helper ${id} by ${delta}`, [
      ...HEAD, 'mov %r3, %r7', 'add %r3, 40', 'jgt %r3, %r8, +11', 'mov %r1, %r6', `mov %r2, ${delta}`, `call ${id}`,
      'ldxw %r0, [%r7+32]', 'stb [%r7+33], 7', 'ldxw %r7, [%r6+0]', 'ldxw %r0, [%r7+32]', 'stb [%r7+35], 7', 'ldxb %r0, [%r7+0]',
      'exit', ...exit,
    ].join('\n'), [0, 39, 40, 44, 60, 80]);
  }
  // A bpf-to-bpf call that moves the packet after the compare.
  faults += agree('local call', [
    ...HEAD, 'mov %r3, %r7', 'add %r3, 40', 'jgt %r3, %r8, +5', 'mov %r1, %r6', 'call local f', 'ldxw %r7, [%r6+0]',
    'ldxw %r0, [%r7+32]', 'exit', ...exit, 'f:', 'mov %r2, 30', 'call 44', 'exit',
  ].join('\n'), [0, 40, 50, 70]);
  // A pointer copied and moved past the proof; 32-bit arithmetic on a copy.
  faults += agree('copy moved', [
    ...HEAD, 'mov %r3, %r7', 'add %r3, 10', 'jgt %r3, %r8, +8', 'mov %r4, %r7', 'add %r4, 6', 'ldxw %r0, [%r4+0]',
    'add %r4, 4', 'ldxw %r0, [%r4+0]', 'sub %r4, 12', 'ldxb %r0, [%r4+0]', 'exit', ...exit,
  ].join('\n'), [0, 9, 10, 13, 14, 20]);
  faults += agree('copy moved back', [
    ...HEAD, 'mov %r3, %r7', 'add %r3, 10', 'jgt %r3, %r8, +4', 'mov %r4, %r7', 'sub %r4, 2', 'ldxb %r0, [%r4+0]', 'exit', ...exit,
  ].join('\n'), [0, 10, 20]);
  faults += agree('32-bit add', [
    ...HEAD, 'mov %r3, %r7', 'add32 %r3, 20', 'jgt %r3, %r8, +2', 'ldxw %r0, [%r7+16]', 'exit', ...exit,
  ].join('\n'), [0, 8, 20, 24]);
  // A loop walking the packet one byte per turn, checked each turn.
  faults += agree('loop', [
    ...HEAD, 'mov %r3, %r7', 'mov %r0, 0', 'mov %r4, %r3', 'add %r4, 2', 'jgt %r4, %r8, +4', 'ldxh %r5, [%r3+0]', 'add %r0, %r5',
    'add %r3, 1', 'ja -7', 'ldxb %r5, [%r3+1]', 'exit',
  ].join('\n'), [0, 1, 2, 9], [undefined, 20, 31]);
  // Budgets cut inside the proven accesses' blocks.
  faults += agree('budget', [
    ...HEAD, 'mov %r3, %r7', 'add %r3, 20', 'jgt %r3, %r8, +5', 'ldxw %r0, [%r7+0]', 'stw [%r7+4], 3', 'ldxw %r0, [%r7+4]',
    'stdw [%r7+12], 9', 'exit', ...exit,
  ].join('\n'), [0, 20], [3, 6, 7, 8, 9, 10, 11]);
  assert.ok(faults > 100, `faults exercised: ${faults}`);
});
