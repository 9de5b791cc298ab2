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
          assert.notEqual(c.r.fault?.kind, 'invalid-insn', `${name}: ${c.r.fault?.message}`);
          assert.deepEqual(c, run('interp'), `${name}: ${len} bytes, read-only ${readonlyPage}, rx ${rx}, budget ${budget}`);
          if (c.r.fault && c.r.fault.kind !== 'budget-exhausted') faults++;
        }
      }
    }
  }
  return faults;
}

const HEAD = ['mov %r6, %r1', 'ldxw %r7, [%r6+0]', 'ldxw %r8, [%r6+4]'];

/** The proof of each access slot of `text`: [least offset from data, bytes proven from the register], or undefined. */
function proofs(text: string) {
  const insns = insnsOf(text);
  const { low, avail } = packetRanges(insns, insns.map((i) => OPCODES[i.opcode]));
  return (pc: number) => (low[pc] === P_UNKNOWN ? undefined : [low[pc], avail[pc]]);
}

test('packet proofs: a compare with data_end, min at a merge, a copy moved, cleared by a packet-moving call', () => {
  const at = proofs([
    ...HEAD, // 0-2
    'mov %r3, %r7', // 3
    'add %r3, 20', // 4
    'jgt %r3, %r8, +13', // 5: not taken -> range 20
    'ldxw %r4, [%r6+16]', // 6
    'jeq %r4, 1, +3', // 7
    'mov %r3, %r7', // 8
    'add %r3, 30', // 9
    'jgt %r3, %r8, +9', // 10: range 30 on this path only
    'ldxw %r0, [%r7+16]', // 11: merge -> range 20
    'mov %r5, %r7', // 12
    'add %r5, 6', // 13
    'ldxb %r0, [%r5+0]', // 14
    'mov %r1, %r6', // 15
    'call 1', // 16: keeps
    'ldxb %r0, [%r7+0]', // 17
    'call 44', // 18: moves the packet
    'ldxb %r0, [%r7+0]', // 19
    'exit', // 20
  ].join('\n'));
  assert.deepEqual(at(11), [0, 20], 'the smaller range at the merge');
  assert.deepEqual(at(14), [6, 14], 'a copy moved by a constant');
  assert.deepEqual(at(17), [0, 20], 'map_lookup_elem keeps the proof');
  assert.equal(at(19), undefined, 'adjust_head clears it');
  assert.deepEqual(proofs([...HEAD, 'mov %r3, %r7', 'add32 %r3, 20', 'jgt %r3, %r8, +1', 'ldxb %r0, [%r7+0]', 'exit'].join('\n'))(6), [0, 0],
    'a 32-bit add makes a number');
  assert.deepEqual(proofs([...HEAD, 'mov %r3, %r7', 'add %r3, 20', 'jgt32 %r3, %r8, +1', 'ldxb %r0, [%r7+0]', 'exit'].join('\n'))(6), [0, 0],
    'a 32-bit compare proves nothing');
});

/** VLAN tags: r5 = data + 14, 18 or 22 by path, then data_end compared through r5 (a new id at the merge). */
const VLAN = [
  ...HEAD, // 0-2
  'mov %r3, %r7', 'add %r3, 14', 'jgt %r3, %r8, +22', // 3-5: 14 bytes
  'mov %r5, %r7', 'add %r5, 14', // 6-7
  'ldxw %r4, [%r6+16]', // 8: rx_queue_index picks the path
  'jeq %r4, 0, +9', // 9 -> 19
  'mov %r3, %r7', 'add %r3, 18', 'jgt %r3, %r8, +16', // 10-12
  'mov %r5, %r7', 'add %r5, 18', // 13-14
  'jeq %r4, 1, +3', // 15 -> 19
  'mov %r5, %r7', 'add %r5, 22', // 16-17: no compare for 22
  'ja +0', // 18
  'mov %r3, %r5', 'add %r3, 20', 'jgt %r3, %r8, +6', // 19-21: merge at 19; r5 + 20 <= data_end
  'ldxw %r0, [%r5+16]', // 22
  'ldxb %r1, [%r5+0]', // 23
  'stb [%r5+19], 9', // 24
  'ldxw %r1, [%r5+17]', // 25: past the proof
  'ldxb %r1, [%r5-14]', // 26: data (r5 is at least data + 14)
  'ldxb %r1, [%r5-15]', // 27: maybe before data
  'exit', 'mov %r0, 1', 'exit',
].join('\n');

/** IP options: r5 = data + 14 + (a packet byte & 15) * 4, then r5 + 8 compared (a new id at the add). */
const OPTIONS = [
  ...HEAD, // 0-2
  'mov %r3, %r7', 'add %r3, 15', 'jgt %r3, %r8, +14', // 3-5
  'ldxb %r4, [%r7+14]', 'and %r4, 15', 'lsh %r4, 2', // 6-8: 0..60
  'mov %r5, %r7', 'add %r5, 14', 'add %r5, %r4', // 9-11
  'mov %r3, %r5', 'add %r3, 8', 'jgt %r3, %r8, +5', // 12-14
  'ldxw %r0, [%r5+4]', // 15
  'stb [%r5+7], 1', // 16
  'ldxb %r0, [%r5+8]', // 17: past the proof
  'ldxb %r0, [%r5-14]', // 18: data
  'exit', 'mov %r0, 1', 'exit',
].join('\n');

/** Ranges at a merge (the smaller), a pointer moved by a number (no range), another id's compare, data's range. */
const MIXED = [
  ...HEAD, // 0-2
  'ldxw %r4, [%r6+16]', // 3
  'mov %r3, %r7', 'add %r3, 22', 'jgt %r3, %r8, +24', // 4-6: data + 22 <= data_end
  'mov %r5, %r7', 'add %r5, 18', // 7-8: 4 bytes proven from r5
  'jeq %r4, 0, +2', // 9 -> 12
  'mov %r5, %r7', 'add %r5, 26', // 10-11: none (22 - 26)
  'ldxw %r0, [%r5+0]', // 12: merge: not proven
  'stb [%r7+0], 11', 'ldxb %r9, [%r7+0]', 'and %r9, 63', // 13-15: 0..63
  'mov %r1, %r5', 'add %r1, 20', 'jgt %r1, %r8, +12', // 16-18: 20 bytes from r5
  'add %r5, %r9', // 19: a new id, nothing proven for it
  'ldxw %r0, [%r5+0]', // 20
  'mov %r2, %r7', 'add %r2, 40', 'add %r2, %r9', // 21-23: data + 40..103
  'mov %r1, %r5', 'add %r1, 8', 'jgt %r1, %r8, +4', // 24-26: 8 bytes from r5 (data + 18 + 0..63 or more)
  'ldxw %r0, [%r2+0]', // 27: another id: not proven
  'ldxw %r0, [%r7+40]', // 28: data + 38 <= data_end only (18 + 20)
  'ldxb %r0, [%r5+7]', // 29
  'exit', 'mov %r0, 2', 'exit',
].join('\n');

/** A pointer checked at the end of each turn of a walk: 2 bytes proven at the loop's head (8 on the first turn). */
const WALK2 = [
  ...HEAD, // 0-2
  'mov %r3, %r7', 'add %r3, 8', 'jgt %r3, %r8, +8', // 3-5
  'mov %r5, %r7', // 6
  'ldxh %r0, [%r5+0]', // 7: loop head
  'ldxw %r0, [%r5+0]', // 8: 4 bytes only on the first turn
  'add %r5, 1', // 9
  'mov %r4, %r5', 'add %r4, 2', 'jgt %r4, %r8, +1', // 10-12
  'ja -7', // 13
  'exit', // 14
].join('\n');

test('packet proofs: pointers merged from different offsets and moved by a bounded number get an id and a range', () => {
  const v = proofs(VLAN);
  assert.deepEqual(v(22), [14, 20], 'r5 is data + 14..22, r5 + 20 <= data_end');
  assert.deepEqual(v(23), [14, 20]);
  assert.deepEqual(v(24), [14, 20]);
  assert.deepEqual(v(26), [14, 20]);
  const o = proofs(OPTIONS);
  assert.deepEqual(o(15), [14, 8], 'r5 is data + 14..74, r5 + 8 <= data_end');
  assert.deepEqual(o(16), [14, 8]);
  // A number not bounded (a 4-byte load) or moved down (sub): no id.
  const wide = proofs(OPTIONS.replace('ldxb %r4, [%r7+14]', 'ldxw %r4, [%r7+11]').replace('and %r4, 15', 'mov %r4, %r4'));
  assert.equal(wide(15), undefined);
  assert.equal(proofs(OPTIONS.replace('add %r5, %r4', 'sub %r5, %r4'))(15), undefined);
  // Numbers that may be 2^30 or more, and a pointer's low half: no id.
  const shifted = (n: number) => OPTIONS.replace('and %r4, 15', 'and %r4, 255').replace('lsh %r4, 2', `lsh %r4, ${n}`);
  assert.equal(proofs(shifted(23))(15), undefined);
  assert.deepEqual(proofs(shifted(22))(15), [14, 8]);
  const masked = (mask: string) => OPTIONS.replace('ldxb %r4, [%r7+14]', 'ldxw %r4, [%r7+11]').replace('and %r4, 15', `and %r4, ${mask}`)
    .replace('lsh %r4, 2', 'mov %r4, %r4');
  assert.equal(proofs(masked('0x7fffffff'))(15), undefined);
  assert.deepEqual(proofs(masked('0x3fffffff'))(15), [14, 8]);
  assert.equal(proofs(OPTIONS.replace('mov %r3, %r5', 'mov32 %r5, %r5\nmov %r3, %r5'))(16), undefined);
  const m = proofs(MIXED);
  assert.deepEqual(m(12), [18, -4], 'the smaller range at the merge: none');
  assert.equal(m(20)?.[1], -0x40000000, 'moved by a number: a new id without a range');
  assert.equal(m(27)?.[1], -0x40000000, 'another id');
  assert.deepEqual(m(28), [0, 38], 'data + 38 only');
  assert.deepEqual(m(29), [18, 8]);
  const w = proofs(WALK2);
  assert.deepEqual(w(7), [0, 2]);
  assert.deepEqual(w(8), [0, 2]);
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
      ...HEAD, 'mov %r3, %r7', 'add %r3, 40', 'jgt %r3, %r8, +10', 'mov %r1, %r6', `mov %r2, ${delta}`, `call ${id}`,
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
  // A loop moving a checked pointer on without checking it again: the first turns' proof must not outlive the loop's
  // later turns (the pass notes an access each time its block runs).
  faults += agree('loop unchecked', [
    ...HEAD, 'mov %r3, %r7', 'mov %r4, %r7', 'add %r4, 64', 'jgt %r4, %r8, +8', 'mov %r5, 0', 'mov %r0, 0', 'ldxb %r2, [%r3+0]',
    'add %r0, %r2', 'add %r3, 1', 'add %r5, 1', 'jlt %r5, 70, -5', 'exit', 'mov %r0, 2', 'exit',
  ].join('\n'), [0, 64, 65, 69, 70, 80]);
  // Budgets cut inside the proven accesses' blocks.
  faults += agree('budget', [
    ...HEAD, 'mov %r3, %r7', 'add %r3, 20', 'jgt %r3, %r8, +5', 'ldxw %r0, [%r7+0]', 'stw [%r7+4], 3', 'ldxw %r0, [%r7+4]',
    'stdw [%r7+12], 9', 'exit', ...exit,
  ].join('\n'), [0, 20], [3, 6, 7, 8, 9, 10, 11]);
  // Merged pointers and variable offsets, with accesses at the proof's edges (rx_queue_index 0 and 1 pick the path).
  const lens = [0, 14, 17, 18, 21, 22, 33, 34, 35, 37, 38, 39, 41, 42, 43, 60, 90];
  faults += agree('vlan', VLAN, lens);
  for (const rx of [2, 3]) faults += agree(`vlan rx ${rx}`, VLAN.replace('jeq %r4, 0, +9', `jeq %r4, ${rx}, +9`), lens);
  faults += agree('vlan past', VLAN.replace('ldxw %r0, [%r5+16]', 'ldxw %r0, [%r5+17]').replace('stb [%r5+19], 9', 'stb [%r5+20], 9'), lens);
  faults += agree('vlan below', VLAN.replace('add %r5, 22', 'sub %r5, 1').replace('ldxb %r1, [%r5-14]', 'ldxb %r1, [%r5+0]'), lens);
  faults += agree('options', OPTIONS, [0, 14, 15, 22, 23, 24, 30, 40, 60, 81, 82, 90]);
  for (const b of [0x40, 0x45, 0x4f, 0x00, 0xff]) {
    // The header length byte written first (the packet's own byte at 14 is fixed by the frame's pattern).
    const set = OPTIONS.replace('ldxb %r4, [%r7+14]', `stb [%r7+14], ${b}\nldxb %r4, [%r7+14]`);
    faults += agree(`options ${b}`, set, [15, 22, 23, 30, 42, 45, 60, 81, 82, 90]);
    faults += agree(`options ${b} past`, set.replace('ldxw %r0, [%r5+4]', 'ldxw %r0, [%r5+5]'), [15, 22, 23, 30, 42, 45, 81, 82, 90]);
  }
  // A walk by a variable step (a loop of ids), each turn checked, reading what the check covers and one byte past it.
  const walk = [
    ...HEAD, 'mov %r5, %r7', 'mov %r0, 0', // 3-4
    'mov %r3, %r5', 'add %r3, 4', 'jgt %r3, %r8, +9', // 5-7: loop head at 5
    'ldxw %r1, [%r5+0]', 'add %r0, %r1', // 8-9
    'ldxb %r4, [%r5+1]', 'and %r4, 3', 'add %r4, 1', // 10-12: step 1..4
    'mov %r9, %r5', 'add %r5, %r4', 'ldxb %r1, [%r9+3]', // 13-15: the old pointer, inside its check
    'ja -12', 'ldxb %r1, [%r5+0]', 'exit', // 16-18
  ].join('\n');
  assert.deepEqual(proofs(walk)(15)?.[1], 4, 'the old pointer keeps its range');
  faults += agree('walk', walk, [0, 3, 4, 5, 9, 17, 40], [undefined, 60, 200]);
  faults += agree('walk past', walk.replace('ldxb %r1, [%r9+3]', 'ldxb %r1, [%r9+4]'), [0, 3, 4, 5, 9, 17, 40], [undefined, 200]);
  faults += agree('walk back', walk.replace('ldxb %r1, [%r9+3]', 'ldxb %r1, [%r5-1]'), [0, 3, 4, 5, 9, 17, 40], [undefined, 200]);
  for (const b of [0, 11, 63]) {
    faults += agree(`mixed ${b}`, MIXED.replace('stb [%r7+0], 11', `stb [%r7+0], ${b}`), [0, 22, 25, 26, 29, 30, 38, 40, 43, 44, 60, 90, 110, 120]);
  }
  faults += agree('walk2', WALK2, [0, 8, 9, 10, 11, 12, 16], [undefined, 30]);
  // A number added to a pointer after a compare of data: nothing proven from the compare.
  faults += agree('moved by a number', [
    ...HEAD, 'mov %r3, %r7', 'add %r3, 30', 'jgt %r3, %r8, +6', 'ldxb %r4, [%r7+0]', 'and %r4, 63', 'mov %r5, %r7',
    'add %r5, %r4', 'ldxw %r0, [%r5+20]', 'exit', 'mov %r0, 2', 'exit',
  ].join('\n'), [0, 30, 34, 40, 80, 90]);
  assert.ok(faults > 100, `faults exercised: ${faults}`);
});
