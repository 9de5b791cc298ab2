// The compiled engine (simulator/vm/compiled/engine.ts) against the reference interpreter, with no kernel needed:
// every run must give the same RunResult (retval, exit slot and line, steps, tail calls, fault kind/message/slot,
// undefined-stack reads, printk and perf output, redirect), the same packet bytes and the same maps.
// - the parity corpus (C programs: maps, subprograms, loops, atomics, tail calls, adjust helpers, fragments) over the
//   capture + synthetic packets, and each program again under budgets that run out part-way;
// - the differential fuzzer's random programs (gen.ts, assembled with llvm-mc), also under small budgets;
// - the shared conformance data (bare programs through runRaw), result or fault alike;
// - hand-built edge cases: a wild pointer mid-block, a budget ending mid-block, bpf_loop, register checks.
// XDP_LENS_ENGINE_FUZZ_COUNT sets the number of fuzz programs (default 300).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { assemble } from '../../simulator/isa/asm.ts';
import { decodeProgram } from '../../simulator/isa/decode.ts';
import { validateProgram } from '../../simulator/isa/validate.ts';
import { CONFORMANCE_HELPERS, runRaw } from '../../simulator/vm/interpreter.ts';
import { compileProgram, executeCompiled } from '../../simulator/vm/compiled/engine.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';
import type { Insn } from '../../simulator/isa/insn.ts';
import { OPCODES } from '../../simulator/isa/opcodes.ts';
import { REPO, sharedPath } from '../repo.ts';
import { captureCorpus, syntheticCorpus } from '../parity/packets.ts';
import { fuzzPackets, generateProgram } from '../fuzz/gen.ts';
import { engineDifferences } from './engine-differences.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');


const PARITY = join(REPO, 'test', 'parity', 'programs');
const SPECS: Record<string, { flags?: string[]; program?: string }> = {
  'p16_atomics.c': { flags: ['-mcpu=v3'] },
  'p19_tailcall.c': { program: 'tail_entry' },
};

test('engines agree on the parity corpus, at full budget and at budgets that run out part-way', (t) => {
  const packets = [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes);
  const files = readdirSync(PARITY).filter((f) => f.endsWith('.c')).sort();
  assert.ok(files.length >= 20, `parity programs in ${PARITY}`);
  const problems: string[] = [];
  let budgeted = 0;
  for (const file of files) {
    const spec = SPECS[file] ?? {};
    const obj = loadProgramFile(join(PARITY, file), { clangFlags: spec.flags });
    problems.push(...engineDifferences(obj, { program: spec.program }, packets, file));
    // Budgets from 1 up to past the longest run: the fault lands at every depth of the programs' blocks.
    const longest = Math.max(...packets.slice(0, 40).map((p) => new Session(obj, { program: spec.program, engine: 'interp' }).runPacket(p).run.steps));
    for (let budget = 1; budget <= longest + 1; budget += Math.max(1, Math.floor(longest / 23))) {
      problems.push(...engineDifferences(obj, { program: spec.program, budget }, packets.slice(0, 40), `${file} budget ${budget}`));
      budgeted++;
    }
  }
  t.diagnostic(`${files.length} programs x ${packets.length} packets, and ${budgeted} budget-limited runs of 40 packets`);
  assert.deepEqual(problems.slice(0, 10), []);
});

test('engines agree on the differential fuzzer\'s random programs (also under small budgets)', (t) => {
  if (spawnSync('llvm-mc', ['--version']).status !== 0) {
    t.skip('llvm-mc is not installed (needed to assemble the fuzzer\'s programs)');
    return;
  }
  const count = Number(process.env.XDP_LENS_ENGINE_FUZZ_COUNT ?? 300);
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-engine-fuzz-'));
  const problems: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const seed = (0x5eed0001 + i) >>> 0;
      const g = generateProgram(seed);
      const s = join(dir, 'fuzz.s');
      const o = join(dir, 'fuzz.o');
      writeFileSync(s, g.asm);
      const mc = spawnSync('llvm-mc', ['-triple', 'bpf', '-mcpu=v3', '-filetype=obj', s, '-o', o], { encoding: 'utf8' });
      assert.equal(mc.status, 0, `llvm-mc failed on seed ${seed}: ${mc.stderr}`);
      const obj = loadProgramFile(o);
      const packets = fuzzPackets(seed);
      problems.push(...engineDifferences(obj, { program: 'fuzz' }, packets, `seed ${seed}`));
      problems.push(...engineDifferences(obj, { program: 'fuzz', budget: 1 + (seed % 97) }, packets, `seed ${seed} budget ${1 + (seed % 97)}`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.diagnostic(`${count} random programs, each at full budget and at a small one`);
  assert.deepEqual(problems.slice(0, 10), []);
});

// --- conformance data (bare programs) -------------------------------------------------------------------------

function listData(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listData(p));
    else if (name.endsWith('.data')) out.push(p);
  }
  return out;
}

function sections(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('-- ')) m.set(line.slice(3).trim(), (cur = []));
    else cur?.push(line);
  }
  return m;
}

const tokens = (lines: string[]) => lines.map((l) => l.replace(/#.*$/, '')).join(' ').split(/\s+/).filter(Boolean);

function rawInsns(lines: string[]): Insn[] {
  const toks = tokens(lines);
  let bytes: Uint8Array;
  if (toks.every((x) => /^0x[0-9a-f]+$/i.test(x))) {
    bytes = new Uint8Array(toks.length * 8);
    const v = new DataView(bytes.buffer);
    toks.forEach((x, i) => v.setBigUint64(i * 8, BigInt(x), true));
  } else bytes = Uint8Array.from(toks.map((x) => parseInt(x, 16)));
  return decodeProgram(bytes).insns;
}

test('engines agree on every conformance program (result or fault), at full and at small budgets', (t) => {
  const root = sharedPath('conformance');
  if (!existsSync(root)) {
    t.skip(`no conformance data at ${root}`);
    return;
  }
  let ran = 0;
  const problems: string[] = [];
  for (const file of listData(root)) {
    const sec = sections(readFileSync(file, 'utf8'));
    const raw = sec.get('raw');
    const asm = sec.get('asm');
    let insns: Insn[] | undefined;
    if (raw) insns = rawInsns(raw);
    else if (asm) {
      const a = assemble(asm.join('\n'));
      if (a.errors.length === 0) insns = a.insns;
    }
    if (!insns || insns.length === 0) continue;
    const mem = sec.get('mem') ? Uint8Array.from(tokens(sec.get('mem')!).map((x) => parseInt(x, 16))) : new Uint8Array(0);
    const validate = (p: Insn[]) => validateProgram(p, { isHelperKnown: (id) => CONFORMANCE_HELPERS.has(id), entryRegs: [1, 2, 10], mapCount: 0 });
    for (const budget of [10_000_000, 1, 2, 3, 5, 8, 13]) {
      const a = runRaw(insns, mem.slice(), { budget, validate });
      const b = runRaw(insns, mem.slice(), { budget, validate, engine: executeCompiled });
      const ja = JSON.stringify(a, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
      const jb = JSON.stringify(b, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
      if (ja !== jb) problems.push(`${file} budget ${budget}:\n    interp   ${ja}\n    compiled ${jb}`);
    }
    ran++;
  }
  t.diagnostic(`${ran} conformance programs, 7 budgets each`);
  assert.ok(ran > 100, `expected the conformance data under ${root}, ran ${ran}`);
  assert.deepEqual(problems.slice(0, 10), []);
});

// --- hand-built edge cases ---------------------------------------------------------------------------------------

function machineFor(text: string, budget?: number, engine: 'interp' | 'compiled' = 'compiled') {
  const a = assemble(text);
  assert.deepEqual(a.errors, []);
  const obj: LoadedObject = {
    path: 't.o', license: 'GPL', maps: [],
    programs: [{ name: 'p', section: 'xdp', isXdp: true, frags: false, insns: a.insns, lines: a.insns.map((_, i) => ({ file: 'p.c', line: i + 1, column: 1 })), funcs: [{ insn: 0, name: 'p' }] }],
  };
  return createMachine(obj, { budget, engine });
}

function buff(): XdpBuff {
  return { frame: new Uint8Array(4096), data: 256, dataEnd: 320, dataMeta: 256, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0 };
}
const env: Environment = { nowNs: () => 1n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };

test('a wild pointer in the middle of a block faults at its slot and line with the interpreter\'s step count', () => {
  const text = 'mov %r2, 1\nmov %r3, 2\nldxw %r0, [%r2+0]\nmov %r4, 3\nmov %r0, 2\nexit';
  const c = machineFor(text).run('p', buff(), env);
  const i = machineFor(text, undefined, 'interp').run('p', buff(), env);
  assert.equal(c.fault?.kind, 'null-dereference');
  assert.equal(c.fault?.insn, 2);
  assert.equal(c.fault?.loc?.line, 3);
  assert.equal(c.steps, 3);
  assert.deepEqual(c, i);
});

test('an endless loop ends at the budget, exactly: steps equal the budget and the slot is the interpreter\'s', () => {
  const text = 'mov %r0, 0\nadd %r0, 1\nadd %r0, 2\nadd %r0, 3\njne %r0, 0, -4\nexit';
  for (const budget of [1, 2, 3, 4, 5, 6, 7, 1000, 1001, 1002, 1003]) {
    const c = machineFor(text, budget).run('p', buff(), env);
    const i = machineFor(text, budget, 'interp').run('p', buff(), env);
    assert.equal(c.fault?.kind, 'budget-exhausted');
    assert.equal(c.steps, budget);
    assert.deepEqual(c, i, `budget ${budget}`);
  }
});

test('a register read before any write on this path faults as in the interpreter (register checks compiled in)', () => {
  const text = 'ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\njgt %r3, %r2, +1\nmov %r0, 1\nexit';
  const c = machineFor(text).run('p', buff(), env);
  const i = machineFor(text, undefined, 'interp').run('p', buff(), env);
  assert.deepEqual(c, i);
  assert.equal(c.fault?.kind, 'uninit-register');
});

test('packet accesses follow the window a helper moved (adjust_head) and a read-only page, as in the interpreter', () => {
  // r7 = data; adjust_head by r2 = DELTA; then a load and a store through the old data pointer. Shrinking the head by
  // 4 leaves the old pointer below the new data: both fault. Growing it keeps the old pointer inside the window.
  const text = (delta: number) => [
    'mov %r6, %r1', 'ldxw %r7, [%r6+0]', 'ldxw %r8, [%r6+4]', 'mov %r4, %r7', 'add %r4, 16', 'jgt %r4, %r8, +7',
    'ldxb %r9, [%r7+0]', 'mov %r1, %r6', `mov %r2, ${delta}`, 'call 44', 'ldxb %r0, [%r7+0]', 'stb [%r7+1], 7', 'ja +1',
    'mov %r0, 1', 'exit',
  ].join('\n');
  for (const delta of [4, -4, 0]) {
    for (const readonlyPage of [false, true]) {
      const run = (engine: 'interp' | 'compiled') => {
        const b = { ...buff(), readonlyPage };
        b.frame.set([0xaa, 0xbb, 0xcc], 256);
        const r = machineFor(text(delta), undefined, engine).run('p', b, env);
        return { r, data: b.data, bytes: hex(b.frame.subarray(240, 280)) };
      };
      const c = run('compiled');
      assert.deepEqual(c, run('interp'), `delta ${delta}, read-only page ${readonlyPage}`);
      const expected = delta > 0 ? 'out-of-bounds' : readonlyPage ? 'readonly-page-write' : undefined;
      assert.equal(c.r.fault?.kind, expected, `delta ${delta}, read-only page ${readonlyPage}`);
      assert.equal(c.r.fault?.insn, expected === undefined ? undefined : expected === 'out-of-bounds' ? 10 : 11);
    }
  }
});

test('a program compiles once per instruction array; a 6,000-instruction one runs as interpreted', () => {
  const body = Array.from({ length: 1500 }, (_, k) => `mov %r2, ${k}\nadd %r0, %r2\nstxdw [%r10-8], %r0\njgt %r0, 5, +0`).join('\n');
  const a = assemble(`mov %r0, 0\n${body}\nexit`);
  assert.deepEqual(a.errors, []);
  const p = { name: 'big', insns: a.insns };
  const first = compileProgram(p, undefined);
  assert.equal(compileProgram(p, undefined), first, 'cached');
  assert.ok(a.insns.length > 6000);
  const text = `mov %r0, 0\n${body}\nexit`;
  const c = machineFor(text).run('p', buff(), env);
  assert.deepEqual(c, machineFor(text, undefined, 'interp').run('p', buff(), env));
  assert.equal(c.steps, 6002);
});

// --- arithmetic on int32 halves: every ALU, END and conditional-jump opcode on edge values ---------------------------

test('every ALU, byte-swap and conditional-jump opcode gives the interpreter\'s result on carry, sign and shift edges', (t) => {
  // r1 = A, r2 = B (loaded from the input block), then the operation, then r0 = r1 (or 0/1 from the jump).
  const EDGES = [0n, 1n, 31n, 33n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x1_0000_0001n, 0x8000_0000_0000_0000n,
    0xffff_ffff_ffff_ffffn, 0xfedc_ba98_7654_3210n, 0x0000_8000_ffff_0001n];
  const IMMS = [0, 1, -1, 31, 33, -0x80000000, 0x12345678];
  const ldx = (dst: number, off: number): Insn => ({ opcode: 0x79, dst, src: 1, off, imm: 0 });
  const EXIT: Insn = { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 };
  const programs: { name: string; insns: Insn[] }[] = [];
  for (let code = 0; code < 256; code++) {
    const info = OPCODES[code];
    if (!info) continue;
    if (info.kind === 'alu') {
      const offs = info.alu === 'div' || info.alu === 'mod' ? [0, 1] : info.alu === 'mov' && info.srcReg ? [0, 8, 16, ...(info.width === 64 ? [32] : [])] : [0];
      for (const off of offs) {
        for (const imm of info.srcReg || info.alu === 'neg' ? [0] : IMMS) {
          programs.push({ name: `${info.mnemonic} off ${off} imm ${imm}`, insns: [ldx(2, 8), ldx(1, 0), { opcode: code, dst: 1, src: 2, off, imm }, { opcode: 0xbf, dst: 0, src: 1, off: 0, imm: 0 }, EXIT] });
        }
      }
    } else if (info.kind === 'end') {
      for (const imm of [16, 32, 64]) {
        programs.push({ name: `${info.mnemonic}${imm}`, insns: [ldx(2, 8), ldx(1, 0), { opcode: code, dst: 1, src: 0, off: 0, imm }, { opcode: 0xbf, dst: 0, src: 1, off: 0, imm: 0 }, EXIT] });
      }
    } else if (info.kind === 'jump') {
      for (const imm of info.srcReg ? [0] : IMMS) {
        programs.push({
          name: `${info.mnemonic} imm ${imm}`,
          insns: [ldx(2, 8), ldx(1, 0), { opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { opcode: code, dst: 1, src: 2, off: 1, imm }, EXIT, { opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 1 }, EXIT],
        });
      }
    }
  }
  const problems: string[] = [];
  let runs = 0;
  const mem = new Uint8Array(16);
  const view = new DataView(mem.buffer);
  const show = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
  for (const p of programs) {
    for (const a of EDGES) {
      for (const b of EDGES) {
        view.setBigUint64(0, a, true);
        view.setBigUint64(8, b, true);
        const x = show(runRaw(p.insns, mem.slice()));
        const y = show(runRaw(p.insns, mem.slice(), { engine: executeCompiled }));
        runs++;
        if (x !== y && problems.length < 10) problems.push(`${p.name} A=0x${a.toString(16)} B=0x${b.toString(16)}: interp ${x}, compiled ${y}`);
      }
    }
  }
  t.diagnostic(`${programs.length} programs x ${EDGES.length ** 2} operand pairs = ${runs} runs per engine`);
  assert.ok(programs.length > 300, `opcode table walked (${programs.length} programs)`);
  assert.deepEqual(problems, []);
});

test('the compiled engine is the default; XDP_LENS_ENGINE=interp picks the interpreter', () => {
  const saved = process.env.XDP_LENS_ENGINE;
  const obj = { path: 'x.o', maps: [], programs: [] } as unknown as LoadedObject;
  try {
    delete process.env.XDP_LENS_ENGINE;
    assert.equal(createMachine(obj).engine, 'compiled');
    process.env.XDP_LENS_ENGINE = 'interp';
    assert.equal(createMachine(obj).engine, 'interp');
    assert.equal(createMachine(obj, { engine: 'compiled' }).engine, 'compiled');
  } finally {
    if (saved === undefined) delete process.env.XDP_LENS_ENGINE;
    else process.env.XDP_LENS_ENGINE = saved;
  }
});
