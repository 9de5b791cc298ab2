// The compiled engine's WebAssembly tier (simulator/vm/compiled/wasm.ts) against the reference interpreter, with the
// packet frame in the tier's linear memory (Machine.packetBuffer, as the driver lays packets out), so loads and
// stores of the packet and the stack take the inline path, and everything else (map values, ctx, faults, helpers,
// calls, atomics, budget hand-overs) the imports and the JavaScript runtime. Every run must give the same RunResult,
// the same packet (bytes and bounds) and, at the end, the same maps:
// - the parity corpus over the capture + synthetic packets, on a writable and on a read-only page, and under budgets
//   that run out part-way;
// - the differential fuzzer's random programs (llvm-mc);
// - hand-written programs for each path the tier hands over or faults on.
// Each test also checks that the WebAssembly tier ran (wasmStats), so a tier silently off fails here. The tier is set
// to take every program (wasmTierMode('all')), small ones included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProgramFile } from '../../simulator/session.ts';
import { assemble } from '../../simulator/isa/asm.ts';
import { compileWasm, wasmStats, wasmTier, wasmTierMode } from '../../simulator/vm/compiled/engine.ts';
import { createMachine, type Machine } from '../../simulator/vm/machine.ts';
import { mapsToJson } from '../../simulator/vm/map-json.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';
import { REPO, sharedPath } from '../repo.ts';
import { captureCorpus, syntheticCorpus } from '../parity/packets.ts';
import { fuzzPackets, generateProgram } from '../fuzz/gen.ts';

// Every program that has a WebAssembly form runs in it here (by default only images of 300 instructions and more do).
if (wasmTier()) wasmTierMode('all');

const HEADROOM = 256;
const FRAME = 4096;
const env = (): Environment => ({ nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] });
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));

/** One packet's run on a machine, in `frame`: the result, the packet after it and its bounds. */
function runOn(m: Machine, program: string, frame: Uint8Array, bytes: Uint8Array, readonlyPage: boolean, marks?: string[]): string {
  frame.fill(0);
  frame.set(bytes, HEADROOM);
  const b: XdpBuff = {
    frame, data: HEADROOM, dataEnd: HEADROOM + bytes.length, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0, readonlyPage,
  };
  const r = m.run(program, b, env(), marks ? { onMark: (p, pc) => marks.push(`${p}:${pc}`) } : undefined);
  const lo = Math.min(b.data, b.dataMeta);
  return json({ r, data: b.data - HEADROOM, meta: b.dataMeta - HEADROOM, end: b.dataEnd - HEADROOM, bytes: b.frame.subarray(lo, b.dataEnd), len: b.frame.length, marks });
}

/** The same packets through the interpreter (plain frames) and the compiled engine (a frame in linear memory). */
function differences(obj: LoadedObject, program: string, packets: Uint8Array[], label: string, opts: { budget?: number; readonlyPage?: boolean; marks?: boolean } = {}): string[] {
  const a = createMachine(obj, { engine: 'interp', budget: opts.budget });
  const b = createMachine(obj, { engine: 'compiled', budget: opts.budget });
  const frame = b.packetBuffer(FRAME);
  const problems: string[] = [];
  packets.forEach((p, i) => {
    if (p.length > FRAME - HEADROOM - 320) return;
    const x = runOn(a, program, new Uint8Array(FRAME), p, opts.readonlyPage === true, opts.marks ? [] : undefined);
    const y = runOn(b, program, frame, p, opts.readonlyPage === true, opts.marks ? [] : undefined);
    if (x !== y && problems.length < 5) problems.push(`${label} packet ${i}:\n    interp   ${x.slice(0, 700)}\n    compiled ${y.slice(0, 700)}`);
  });
  const ma = json(mapsToJson(a.maps));
  const mb = json(mapsToJson(b.maps));
  if (ma !== mb) problems.push(`${label}: maps differ:\n    interp   ${ma.slice(0, 400)}\n    compiled ${mb.slice(0, 400)}`);
  return problems;
}

const PARITY = join(REPO, 'test', 'parity', 'programs');
const SPECS: Record<string, { flags?: string[]; program?: string }> = {
  'p16_atomics.c': { flags: ['-mcpu=v3'] },
  'p19_tailcall.c': { program: 'tail_entry' },
};

test('the WebAssembly tier is on and the packet buffer is in its memory', () => {
  assert.ok(wasmTier(), 'XDP_LENS_WASM=0 turns the tier off; these tests need it');
  const m = createMachine({ path: 't.o', license: 'GPL', maps: [], programs: [] }, { engine: 'compiled' });
  const f = m.packetBuffer(FRAME);
  assert.ok(f.buffer instanceof ArrayBuffer && f.length === FRAME && f.every((x) => x === 0));
  assert.notEqual(f.buffer, new Uint8Array(1).buffer);
  assert.equal(createMachine({ path: 't.o', license: 'GPL', maps: [], programs: [] }, { engine: 'interp' }).packetBuffer(8).length, 8);
});

test('WebAssembly tier and interpreter agree on the parity corpus (writable and read-only page, budgets part-way)', (t) => {
  const packets = [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes);
  const files = readdirSync(PARITY).filter((f) => f.endsWith('.c')).sort();
  assert.ok(files.length >= 20);
  const problems: string[] = [];
  const before = wasmStats.entries;
  for (const file of files) {
    const spec = SPECS[file] ?? {};
    const obj = loadProgramFile(join(PARITY, file), { clangFlags: spec.flags });
    const program = spec.program ?? obj.programs.find((p) => p.isXdp)!.name;
    problems.push(...differences(obj, program, packets, file));
    problems.push(...differences(obj, program, packets.slice(0, 60), `${file} read-only page`, { readonlyPage: true }));
    for (const budget of [1, 2, 5, 9, 17, 33, 70, 150]) problems.push(...differences(obj, program, packets.slice(0, 30), `${file} budget ${budget}`, { budget }));
  }
  t.diagnostic(`${files.length} programs; ${wasmStats.entries - before} entries into WebAssembly`);
  assert.ok(wasmStats.entries - before > packets.length * 10, 'the WebAssembly tier ran');
  assert.deepEqual(problems.slice(0, 10), []);
});

test('WebAssembly tier and interpreter agree on the differential fuzzer\'s random programs', (t) => {
  if (spawnSync('llvm-mc', ['--version']).status !== 0) {
    t.skip('llvm-mc is not installed (needed to assemble the fuzzer\'s programs)');
    return;
  }
  const count = Number(process.env.XDP_LENS_ENGINE_FUZZ_COUNT ?? 200);
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-wasm-fuzz-'));
  const problems: string[] = [];
  const before = wasmStats.entries;
  try {
    for (let i = 0; i < count; i++) {
      const seed = (0x3a5e0001 + i) >>> 0;
      const g = generateProgram(seed);
      writeFileSync(join(dir, 'f.s'), g.asm);
      const mc = spawnSync('llvm-mc', ['-triple', 'bpf', '-mcpu=v3', '-filetype=obj', join(dir, 'f.s'), '-o', join(dir, 'f.o')], { encoding: 'utf8' });
      assert.equal(mc.status, 0, `llvm-mc failed on seed ${seed}: ${mc.stderr}`);
      const obj = loadProgramFile(join(dir, 'f.o'));
      const packets = fuzzPackets(seed);
      problems.push(...differences(obj, 'fuzz', packets, `seed ${seed}`));
      problems.push(...differences(obj, 'fuzz', packets, `seed ${seed} budget`, { budget: 1 + (seed % 89) }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.diagnostic(`${count} random programs; ${wasmStats.entries - before} entries into WebAssembly`);
  assert.ok(wasmStats.entries > before, 'the WebAssembly tier ran');
  assert.deepEqual(problems.slice(0, 10), []);
});

// --- hand-written programs: every hand-over and fault path ------------------------------------------------------

function objectOf(text: string): LoadedObject {
  const a = assemble(text);
  assert.deepEqual(a.errors, []);
  return {
    path: 't.o', license: 'GPL', maps: [],
    programs: [{ name: 'p', section: 'xdp', isXdp: true, frags: false, insns: a.insns, lines: a.insns.map((_, i) => ({ file: 'p.c', line: i + 1, column: 1 })), funcs: [{ insn: 0, name: 'p' }] }],
  };
}

const PKT = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);
// r2 = data, r3 = data_end (ctx loads through the import), then the body.
const CTX = 'ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\n';
const CASES: Record<string, string> = {
  'packet loads of every size, signed and unsigned, and a store': `${CTX}ldxb %r4, [%r2+1]\nldxh %r5, [%r2+2]\nldxw %r6, [%r2+4]\nldxdw %r7, [%r2+8]\nldxsb %r8, [%r2+3]\nldxsh %r9, [%r2+6]\nadd %r4, %r5\nadd %r4, %r6\nxor %r4, %r7\nadd %r4, %r8\nadd %r4, %r9\nstxdw [%r2+16], %r4\nstxw [%r2+24], %r4\nstxh [%r2+28], %r4\nstxb [%r2+30], %r4\nstw [%r2+32], -7\nstdw [%r2+40], -9\nmov %r0, 2\nexit`,
  'a packet read past data_end faults mid-block (out-of-bounds, slot and steps)': `${CTX}mov %r4, 1\nldxw %r0, [%r2+62]\nmov %r0, 2\nexit`,
  'a packet read before data (negative offset) faults': `${CTX}ldxb %r0, [%r2-1]\nexit`,
  'a store into the packet faults on a read-only page only': `${CTX}stb [%r2+5], 7\nmov %r0, 2\nexit`,
  'stack: unwritten read recorded, written read, via r10 and via a copy of it': 'mov %r0, 0\nldxdw %r4, [%r10-16]\nstxdw [%r10-8], %r1\nldxdw %r5, [%r10-8]\nmov %r6, %r10\nadd %r6, -24\nstw [%r6+0], 5\nldxw %r0, [%r6+0]\nldxb %r7, [%r6+3]\nldxsw %r8, [%r10-24]\nexit',
  'stack: an access below r10-512 and at r10 fault': 'mov %r6, %r10\nstb [%r6-512], 1\nldxb %r0, [%r6-512]\nstb [%r6+0], 1\nexit',
  'ctx: store faults, 8-byte load faults': 'ldxw %r2, [%r1+12]\nldxw %r3, [%r1+16]\nstw [%r1+0], 1\nexit',
  'ctx: a wide load faults': 'ldxdw %r2, [%r1+0]\nexit',
  'NULL and scalar pointers fault': 'mov %r2, 0\nldxw %r0, [%r2+8]\nexit',
  'scalar store faults': 'mov %r2, 77\nstxw [%r2+0], %r2\nexit',
  'division and modulo by zero and -1, 32 and 64 bits, signed and unsigned': [
    'lddw %r6, 0x8000000000000000', 'mov %r7, -1', 'mov %r8, 0',
    'mov %r0, %r6', 'div %r0, %r8', 'mov %r1, %r6', 'mod %r1, %r8', 'mov %r2, %r6', 'sdiv %r2, %r7', 'mov %r3, %r6', 'smod %r3, %r7',
    'mov %r4, %r6', 'sdiv %r4, %r8', 'mov %r5, %r6', 'smod %r5, %r8', 'xor %r0, %r1', 'xor %r0, %r2', 'xor %r0, %r3', 'xor %r0, %r4', 'xor %r0, %r5',
    'mov32 %r9, 0x80000000', 'mov32 %r1, %r9', 'sdiv32 %r1, %r7', 'mov32 %r2, %r9', 'smod32 %r2, %r7', 'mov32 %r3, %r9', 'div32 %r3, %r8', 'mov32 %r4, %r9', 'mod32 %r4, %r8',
    'mov32 %r5, %r9', 'sdiv32 %r5, -1', 'add %r0, %r1', 'add %r0, %r2', 'add %r0, %r3', 'add %r0, %r4', 'add %r0, %r5', 'stxdw [%r10-8], %r0', 'exit',
  ].join('\n'),
  'byte swaps, sign extensions, shifts past the width': 'lddw %r1, 0x0123456789abcdef\nmov %r2, %r1\nbe16 %r2\nmov %r3, %r1\nbe32 %r3\nmov %r4, %r1\nbe64 %r4\nmov %r5, %r1\nle16 %r5\nmov %r6, %r1\nle32 %r6\nmovsx864 %r7, %r1\nmovsx1664 %r8, %r1\nmovsx3264 %r9, %r1\nmov %r0, %r2\nxor %r0, %r3\nxor %r0, %r4\nxor %r0, %r5\nxor %r0, %r6\nxor %r0, %r7\nxor %r0, %r8\nxor %r0, %r9\nmov %r1, 67\nlsh %r0, %r1\nmov32 %r2, %r0\narsh32 %r2, %r1\nadd %r0, %r2\nexit',
  'a loop that runs out of budget inside a block': 'mov %r0, 0\nadd %r0, 1\nadd %r0, 2\nstxdw [%r10-8], %r0\njne %r0, 0, -4\nexit',
  'bpf-to-bpf call passing a pointer to the caller\'s frame; the callee writes it and reads its own unwritten stack': 'mov %r1, %r10\nadd %r1, -8\nstdw [%r10-8], 3\ncall local f\nldxdw %r0, [%r10-8]\nexit\nf:\nldxdw %r2, [%r1+0]\nadd %r2, 1\nstxdw [%r1+0], %r2\nldxdw %r3, [%r10-16]\nmov %r0, 0\nexit',
  'helpers: prandom and ktime take the fast or generic path, r1-r5 cleared': 'mov %r6, 5\ncall 7\nmov %r7, %r0\ncall 5\nadd %r0, %r7\nadd %r0, %r6\nadd %r0, %r1\nexit',
  'atomics on the stack (fetch and not, 32 and 64)': 'stdw [%r10-8], 5\nmov %r1, 3\nlock add [%r10-8], %r1\nlock fetch add [%r10-8], %r1\nmov %r2, 12\nlock or32 [%r10-8], %r2\nmov %r3, 1\nlock xchg [%r10-8], %r3\nldxdw %r0, [%r10-8]\nadd %r0, %r1\nadd %r0, %r3\nexit',
  'an atomic on the packet and a faulting one on ctx': `${CTX}mov %r4, 1\nlock add32 [%r2+8], %r4\nlock add [%r1+0], %r4\nexit`,
  'return-line marks (ja +0) reach onMark': 'mov %r0, 1\nja +0\njeq %r0, 1, +1\nja +0\nja +0\nexit',
  'a backward conditional jump re-enters through the dispatcher': 'mov %r0, 0\nmov %r1, 10\nadd %r0, %r1\nsub %r1, 1\njsgt %r1, 0, -3\nexit',
};

test('WebAssembly tier and interpreter agree on every hand-over and fault path (full and small budgets, read-only page)', () => {
  const before = wasmStats.entries;
  const problems: string[] = [];
  for (const [name, text] of Object.entries(CASES)) {
    const obj = objectOf(text);
    for (const readonlyPage of [false, true]) {
      problems.push(...differences(obj, 'p', [PKT, PKT.subarray(0, 14)], `${name}${readonlyPage ? ' (read-only page)' : ''}`, { readonlyPage, marks: true }));
    }
    for (let budget = 1; budget <= 40; budget++) problems.push(...differences(obj, 'p', [PKT], `${name} budget ${budget}`, { budget }));
  }
  assert.ok(wasmStats.entries > before, 'the WebAssembly tier ran');
  assert.deepEqual(problems.slice(0, 10), []);
});

test('a faulting packet leaves nothing behind: the next run on the same buffer and stack sees what the interpreter sees', () => {
  // The first packet writes the stack then faults; the second reads the stack unwritten (zeros, recorded).
  const obj = objectOf(`${CTX}stdw [%r10-8], -1\nstdw [%r10-512], -1\nldxb %r4, [%r2+0]\njeq %r4, 0, +1\nldxw %r0, [%r2+100]\nldxdw %r0, [%r10-8]\nldxdw %r5, [%r10-512]\nadd %r0, %r5\nexit`);
  const packets = [PKT, new Uint8Array(64), PKT, new Uint8Array(64)];
  assert.deepEqual(differences(obj, 'p', packets, 'fault then clean run'), []);
});

test('a program too big for the WebAssembly engine\'s limits has no form and runs in JavaScript, as interpreted', () => {
  const body = Array.from({ length: 25_000 }, (_, i) => `mov %r2, ${i}\nadd %r0, %r2\nstxdw [%r10-8], %r0\njgt %r0, 5, +0`).join('\n');
  const text = `mov %r0, 0\n${body}\nexit`;
  const obj = objectOf(text);
  assert.equal(compileWasm(obj.programs[0]!), undefined);
  assert.deepEqual(differences(obj, 'p', [PKT], 'huge', { budget: 10_000_000 }), []);
});
