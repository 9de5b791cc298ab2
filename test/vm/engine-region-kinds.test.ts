// The compiled engine's register kinds (compiled/region-kinds.ts): the likely region of each register, which only
// chooses the inline path a load or store tries before Memory.ld*/st*. The kinds of a small program; the generated
// code of a packet, ctx, stack-pointer and map-value access holding only its own inline path; and the engines
// agreeing where the guess holds, where the access leaves the region (faults: kind, slot, line, steps) and where the
// guess is wrong (a bare program's r1 is the input memory, not ctx).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../simulator/isa/asm.ts';
import { OPCODES } from '../../simulator/isa/opcodes.ts';
import { runRaw } from '../../simulator/vm/interpreter.ts';
import { executeCompiled, generate } from '../../simulator/vm/compiled/engine.ts';
import { K_ANY, K_CTX, K_MAP_VALUE, K_NONE, K_PACKET, K_SCALAR, K_STACK, regionKinds } from '../../simulator/vm/compiled/region-kinds.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';

const env: Environment = { nowNs: () => 1n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };

function insnsOf(text: string) {
  const a = assemble(text);
  assert.deepEqual(a.errors, []);
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

const buff = (len: number, readonlyPage = false): XdpBuff => {
  const frame = new Uint8Array(4096);
  for (let i = 0; i < len; i++) frame[256 + i] = (i * 37 + 11) & 0xff;
  return { frame, data: 256, dataEnd: 256 + len, dataMeta: 256, frags: [], fragSize: 0, ingressIfindex: 3, rxQueueIndex: 1, readonlyPage };
};

// r6 = ctx; r7 = data; r8 = data_end; r2 = r10 - 16 (a stack pointer); a packet load and store at OFF, a stack
// store and load through r2 at SOFF, ctx loads at COFF; then a branch that joins r7 with r2 (any).
const addr = (r: string, off: number) => `[%${r}${off < 0 ? '' : '+'}${off}]`;
const PROGRAM = (off: number, soff: number, coff: number) => [
  'mov %r6, %r1',
  'ldxw %r7, [%r6+0]',
  'ldxw %r8, [%r6+4]',
  'mov %r2, %r10',
  'add %r2, -16',
  `ldxh %r3, ${addr('r7', off)}`,
  `stb ${addr('r7', off + 1)}, 9`,
  `stxdw ${addr('r2', soff)}, %r3`,
  `ldxdw %r4, ${addr('r2', soff)}`,
  `ldxw %r5, ${addr('r6', coff)}`,
  'jgt %r3, 1000, +1',
  'mov %r7, %r2',
  'ldxb %r0, [%r7+0]',
  'add %r0, %r4',
  'add %r0, %r5',
  'exit',
].join('\n');

test('register kinds: ctx, packet, stack pointer, map value, and a join of two kinds', () => {
  const insns = insnsOf(PROGRAM(2, 0, 12) + '\nmov %r1, 0\ncall 1\nldxb %r0, [%r0+0]\nexit');
  const kinds = regionKinds(insns, insns.map((i) => OPCODES[i.opcode]));
  const lookup = insnsOf('mov %r1, 0\ncall 1\nldxb %r0, [%r0+0]\nexit');
  const value = regionKinds(lookup, lookup.map((i) => OPCODES[i.opcode]));
  const at = (pc: number, r: number) => kinds[pc * 11 + r];
  assert.equal(at(0, 1), K_CTX);
  assert.equal(at(0, 10), K_STACK);
  assert.equal(at(5, 7), K_PACKET);
  assert.equal(at(5, 8), K_PACKET);
  assert.equal(at(5, 2), K_STACK);
  assert.equal(at(9, 6), K_CTX);
  assert.equal(at(10, 5), K_SCALAR);
  assert.equal(at(12, 7), K_ANY, 'packet on one path, stack on the other');
  assert.equal(value[2 * 11], K_MAP_VALUE, 'map_lookup_elem\'s r0');
  assert.equal(at(18, 0), K_NONE, 'after the exit: no path');
});

test('generated code: each access holds only the inline path of its register\'s kind before the call', () => {
  const insns = insnsOf(PROGRAM(2, 0, 12) + '\nmov %r1, 0\ncall 1\nldxb %r0, [%r0+0]\nexit');
  const src = generate({ name: 'p', insns }, undefined).source;
  const line = (needle: string) => src.split('\n').find((l) => l.includes(needle)) ?? '';
  const packetLoad = line('mem.ld2(h7, l7, 2, 5)');
  assert.match(packetLoad, /h7 === 2 && o >= pLo/);
  assert.doesNotMatch(packetLoad, /RG\[/, 'a packet load tries no region-table path');
  const packetStore = line('mem.st1(h7, l7, 3, 9, 6)');
  assert.doesNotMatch(packetStore, /RG\[/, 'a packet store tries no region-table path');
  const stackLoad = line('mem.ld8(h2, l2, 0, 8)');
  assert.match(stackLoad, /RG\[h2\]/);
  assert.doesNotMatch(stackLoad, /h2 === 2/, 'a stack pointer\'s load tries no packet path');
  const ctxLoad = line('mem.ld4(h6, l6, 12, 9)');
  assert.match(ctxLoad, /mem\.ctx\.buff\.ingressIfindex/);
  assert.doesNotMatch(ctxLoad, /RG\[|pLo/, 'a ctx load tries only its fields');
  const anyLoad = line('mem.ld1(h7, l7, 0, 12)');
  assert.match(anyLoad, /h7 === 2 && o >= pLo/);
  assert.match(anyLoad, /RG\[h7\]/, 'a register of either kind keeps both paths');
  assert.equal(line('mem.ld1(h0, l0, 0, 18)'), 'l0 = mem.ld1(h0, l0, 0, 18); h0 = 0;', 'no path: the call alone');
  const value = generate({ name: 'v', insns: insnsOf('mov %r1, 0\ncall 1\nldxb %r0, [%r0+0]\nexit') }, undefined).source;
  const valueLoad = value.split('\n').find((l) => l.includes('mem.ld1(h0, l0, 0, 2)')) ?? '';
  assert.match(valueLoad, /RG\[h0\]/);
  assert.doesNotMatch(valueLoad, /h0 === 2/, 'a map value\'s load tries no packet path');
});

test('the engines agree on every kind\'s access inside and outside its region (faults: kind, slot, line, steps)', () => {
  const cases: [number, number, number][] = [];
  for (const off of [0, 2, 30, 61, 62, 63, 64, -2, 4000]) cases.push([off, 0, 12]);
  for (const soff of [8, 9, 16, -496, -504, -512, 30000]) cases.push([2, soff, 16]);
  for (const coff of [0, 4, 8, 12, 16, 20, 24, 2, -4]) cases.push([2, 0, coff]);
  let faults = 0;
  for (const [off, soff, coff] of cases) {
    const text = PROGRAM(off, soff, coff);
    for (const len of [64, 14]) {
      for (const readonlyPage of [false, true]) {
        for (const budget of [undefined, 3, 7, 9, 12]) {
          const run = (engine: 'interp' | 'compiled') => {
            const b = buff(len, readonlyPage);
            const r = machineFor(text, engine, budget).run('p', b, env);
            return { r, bytes: Buffer.from(b.frame.subarray(240, 340)).toString('hex') };
          };
          const c = run('compiled');
          assert.deepEqual(c, run('interp'), `off ${off}, stack ${soff}, ctx ${coff}, ${len} bytes, read-only ${readonlyPage}, budget ${budget}`);
          if (c.r.fault && c.r.fault.kind !== 'budget-exhausted') faults++;
        }
      }
    }
  }
  assert.ok(faults > 50, `faults exercised: ${faults}`);
});

test('a wrong guess: a bare program\'s r1 is its input memory, read and written as ctx would be', () => {
  const text = (off: number) => [
    `ldxw %r3, [%r1+${off}]`, 'ldxw %r4, [%r1+0]', `stw [%r1+${off}], 77`, `ldxdw %r5, [%r1+${off}]`,
    'mov %r0, %r3', 'add %r0, %r4', 'add %r0, %r5', 'exit',
  ].join('\n');
  for (const off of [0, 4, 8, 12, 16, 20, 24, 28, 32]) {
    const insns = insnsOf(text(off));
    for (const budget of [1_000_000, 2, 3]) {
      const mem = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
      const a = runRaw(insns, mem.slice(), { budget });
      const b = runRaw(insns, mem.slice(), { budget, engine: executeCompiled });
      assert.deepEqual(b, a, `offset ${off}, budget ${budget}`);
    }
  }
});
