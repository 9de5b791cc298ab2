// Machine.runBatch against run() per packet: a batch must give, packet by packet, what the same packets give when each
// is copied into the frame and run on its own (RunResult's retval, exitInsn and steps, the whole RunResult of a packet
// that stops the batch), the same frame after the last packet and the same maps at the end. The reference is the
// interpreter's run() per packet; the batches run on the compiled engine with the packets in its linear memory
// (memory.copy into the frame) and in a plain array, with the JavaScript form and with the WebAssembly tier forced on,
// and on the interpreter (runBatch's run() loop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadProgramFile } from '../../simulator/session.ts';
import { assemble } from '../../simulator/isa/asm.ts';
import { wasmStats, wasmTier, wasmTierMode, type WasmMode } from '../../simulator/vm/compiled/engine.ts';
import { createMachine, plain, type BatchResults, type Engine, type PacketBatch } from '../../simulator/vm/machine.ts';
import { mapsToJson } from '../../simulator/vm/map-json.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { Environment, RunResult, XdpBuff } from '../../simulator/vm/types.ts';
import { REPO, sharedPath } from '../repo.ts';
import { captureCorpus, syntheticCorpus } from '../parity/packets.ts';
import { layOut } from './batch-layout.ts';

const HEADROOM = 256;
const FRAME = 4096;
const env = (): Environment => ({ nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] });
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));

/** What one packet gave: the three numbers, plus the whole result when it is not plain. */
const summary = (retval: number, exitInsn: number, steps: number, whole?: RunResult) => json({ retval, exitInsn, steps, whole });

/** The reference: each packet copied into one frame at the headroom and run with run(), on the interpreter. */
function reference(obj: LoadedObject, program: string, packets: Uint8Array[], budget?: number, readonlyPage?: boolean): { per: string[]; frame: string; maps: string } {
  const m = createMachine(obj, { engine: 'interp', budget });
  const frame = new Uint8Array(FRAME);
  const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0, readonlyPage };
  const e = env();
  const per = packets.map((p) => {
    frame.set(p, HEADROOM);
    buff.data = buff.dataMeta = HEADROOM;
    buff.dataEnd = HEADROOM + p.length;
    const r = m.run(program, buff, e);
    return summary(r.retval, r.exitInsn, r.steps, plain(r, program) ? undefined : r);
  });
  return { per, frame: json(frame), maps: json(mapsToJson(m.maps)) };
}

/** The same packets through runBatch in batches of `size`; `linear`: the packets in the machine's linear memory. */
function batched(obj: LoadedObject, program: string, packets: Uint8Array[], engine: Engine, linear: boolean, size: number, budget?: number, readonlyPage?: boolean): { per: string[]; frame: string; maps: string; stops: number } {
  const m = createMachine(obj, { engine, budget });
  const frame = m.packetBuffer(FRAME);
  const total = packets.reduce((n, p) => n + p.length, 0);
  const bytes = linear ? m.packetBuffer(total) : new Uint8Array(total);
  if (linear && engine === 'compiled') assert.equal(bytes.buffer, frame.buffer, 'the packets are in the linear memory');
  const { offset, length } = layOut(bytes, packets);
  const batch: PacketBatch = { bytes, offset, length, headroom: HEADROOM };
  const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0, readonlyPage };
  const res: BatchResults = { retval: new Uint32Array(packets.length), exitInsn: new Int32Array(packets.length), steps: new Int32Array(packets.length), result: undefined };
  const per: string[] = [];
  const e = env();
  let stops = 0;
  for (let from = 0; from < packets.length; ) {
    const to = Math.min(packets.length, from + size);
    const next = m.runBatch(program, buff, batch, from, to, e, res);
    assert.ok(next > from && next <= to, `runBatch returned ${next} for [${from}, ${to})`);
    for (let i = from; i < next; i++) {
      const whole = i === next - 1 ? res.result : undefined;
      per.push(summary(res.retval[i]!, res.exitInsn[i]!, res.steps[i]!, whole));
    }
    if (res.result !== undefined) {
      stops++;
      assert.ok(!plain(res.result, program), 'a batch stops only after a packet whose result is not plain');
    }
    from = next;
  }
  return { per, frame: json(frame), maps: json(mapsToJson(m.maps)), stops };
}

function compare(obj: LoadedObject, program: string, packets: Uint8Array[], label: string, budget?: number, readonlyPage?: boolean): string[] {
  const want = reference(obj, program, packets, budget, readonlyPage);
  const problems: string[] = [];
  const variants: [Engine, boolean, number][] = [['compiled', true, 64], ['compiled', false, 7], ['compiled', true, 1], ['interp', false, 64]];
  for (const [engine, linear, size] of variants) {
    const got = batched(obj, program, packets, engine, linear, size, budget, readonlyPage);
    const what = `${label} (${engine}, ${linear ? 'linear memory' : 'plain array'}, batches of ${size})`;
    const i = want.per.findIndex((w, k) => w !== got.per[k]);
    if (i >= 0 || got.per.length !== want.per.length) problems.push(`${what} packet ${i}:\n    run()    ${want.per[i]?.slice(0, 600)}\n    runBatch ${got.per[i]?.slice(0, 600)}`);
    if (got.frame !== want.frame) problems.push(`${what}: the frame after the last packet differs`);
    if (got.maps !== want.maps) problems.push(`${what}: maps differ:\n    run()    ${want.maps.slice(0, 300)}\n    runBatch ${got.maps.slice(0, 300)}`);
  }
  return problems;
}

const PARITY = join(REPO, 'test', 'parity', 'programs');
const SPECS: Record<string, { flags?: string[]; program?: string }> = {
  'p16_atomics.c': { flags: ['-mcpu=v3'] },
  'p19_tailcall.c': { program: 'tail_entry' },
};

for (const mode of ['auto', 'all'] as WasmMode[]) {
  test(`runBatch gives what run() per packet gives on the parity corpus (WebAssembly tier ${mode === 'all' ? 'on every program' : 'as by default'}; read-only page; budgets part-way)`, (t) => {
    const was = wasmTierMode();
    if (wasmTier()) wasmTierMode(mode);
    try {
      const packets = [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes).filter((b) => b.length <= FRAME - HEADROOM - 320);
      const files = readdirSync(PARITY).filter((f) => f.endsWith('.c')).sort();
      assert.ok(files.length >= 20);
      const problems: string[] = [];
      const before = wasmStats.entries;
      for (const file of files) {
        const spec = SPECS[file] ?? {};
        const obj = loadProgramFile(join(PARITY, file), { clangFlags: spec.flags });
        const program = spec.program ?? obj.programs.find((p) => p.isXdp)!.name;
        problems.push(...compare(obj, program, packets, file));
        problems.push(...compare(obj, program, packets.slice(0, 60), `${file} read-only page`, undefined, true));
        for (const budget of [1, 9, 33, 150]) problems.push(...compare(obj, program, packets.slice(0, 40), `${file} budget ${budget}`, budget));
      }
      t.diagnostic(`${files.length} programs, ${packets.length} packets; ${wasmStats.entries - before} entries into WebAssembly`);
      if (mode === 'all' && wasmTier()) assert.ok(wasmStats.entries - before > packets.length, 'the WebAssembly tier ran');
      assert.deepEqual(problems.slice(0, 10), []);
    } finally {
      wasmTierMode(was);
    }
  });
}

function objectOf(text: string): LoadedObject {
  const a = assemble(text);
  assert.deepEqual(a.errors, []);
  return {
    path: 't.o', license: 'GPL', maps: [],
    programs: [{ name: 'p', section: 'xdp', isXdp: true, frags: false, insns: a.insns, lines: a.insns.map((_, i) => ({ file: 'p.c', line: i + 1, column: 1 })), funcs: [{ insn: 0, name: 'p' }] }],
  };
}

test('runBatch: faults, uninitialised stack reads and stack bytes left by one packet are what run() per packet gives', () => {
  // Packets alternate: one writes the stack then faults on a short packet (or reads past data_end), the next reads the
  // stack unwritten; adjust_head moves data and the next packet starts at the headroom again.
  const CTX = 'ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\n';
  const obj = objectOf(`${CTX}stdw [%r10-8], -1\nstdw [%r10-512], -1\nmov %r4, %r2\nadd %r4, 20\njgt %r4, %r3, +3\nldxb %r4, [%r2+0]\njeq %r4, 0, +1\nldxw %r0, [%r2+100]\nldxdw %r0, [%r10-16]\nldxdw %r5, [%r10-512]\nadd %r0, %r5\nexit`);
  const packets = Array.from({ length: 40 }, (_, i) => Uint8Array.from({ length: 14 + ((i * 29) % 90) }, (_, k) => (i % 3 === 0 ? 0 : (k * 7 + i) & 0xff)));
  assert.deepEqual(compare(obj, 'p', packets, 'faults'), []);
  for (const budget of [1, 3, 6, 12]) assert.deepEqual(compare(obj, 'p', packets, `faults budget ${budget}`, budget), []);
});

test('runBatch: a packet that leaves the stack, a second call frame or a map value behind, then packets that touch none, are what run() per packet gives', () => {
  // Memory.resetPacket skips forgetRun's loops when the run before left no dynamic region, one frame and no written
  // stack byte. Packets by their first byte: 0 touch nothing; 5 write r10-8; 1 read r10-8 unwritten; 2 write r10-8
  // and call a subprogram that writes its r10-24, 7 only call it; 4 call one that reads its r10-24 unwritten; 3 take
  // two map values (lddw) and keep the second's address in the first, 8 call a subprogram that keeps the address of
  // its r10-24 there; 6 load through the address kept there. A byte or region left behind would be read back.
  const obj = objectOf(
    'ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 2\njgt %r4, %r3, out\nldxb %r5, [%r2+0]\njeq %r5, 0, out\n' +
    'jeq %r5, 1, unwritten\njeq %r5, 3, value\njeq %r5, 4, deep\njeq %r5, 5, shallow\njeq %r5, 6, kept\njeq %r5, 7, deeper\njeq %r5, 8, keep\n' +
    'stxdw [%r10-8], %r5\ncall local f\nldxdw %r1, [%r10-8]\nadd %r0, %r1\nexit\n' +
    'unwritten:\nldxdw %r0, [%r10-8]\nexit\nshallow:\nstxdw [%r10-8], %r5\nmov %r0, 2\nexit\n' +
    'value:\nlddw %r1, map_value[0]+0\nlddw %r2, map_value[1]+0\nstxdw [%r1+0], %r2\nldxw %r0, [%r2+0]\nadd %r0, 1\nstxw [%r2+0], %r0\nexit\n' +
    'kept:\nlddw %r1, map_value[0]+0\nldxdw %r2, [%r1+0]\nmov %r0, 2\njeq %r2, 0, +1\nldxw %r0, [%r2+0]\nexit\n' +
    'deep:\ncall local g\nexit\ndeeper:\ncall local f\nexit\nkeep:\nlddw %r1, map_value[0]+0\ncall local h\nexit\n' +
    'out:\nmov %r0, 2\nexit\nf:\nstdw [%r10-24], 7\nldxdw %r0, [%r10-24]\nexit\ng:\nldxdw %r0, [%r10-24]\nexit\nh:\nstdw [%r10-24], 9\nmov %r2, %r10\nadd %r2, -24\nstxdw [%r1+0], %r2\nmov %r0, 2\nexit');
  obj.maps.push({ name: 't.bss', type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, kind: 'global', section: '.bss' });
  obj.maps.push({ name: 't.data', type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, kind: 'global', section: '.data' });
  const firsts = [2, 0, 0, 0, 3, 0, 0, 5, 0, 1, 2, 2, 0, 1, 0, 0, 3, 3, 0, 6, 2, 0, 4, 0, 0, 5, 0, 0, 2, 4, 3, 1, 5, 1, 3, 6, 7, 0, 4, 7, 7, 0, 0, 4, 8, 0, 0, 6, 8, 6];
  const packets = Array.from({ length: 88 }, (_, i) => Uint8Array.from({ length: 14 + ((i * 13) % 50) }, (_, k) => (k === 0 ? firsts[i % firsts.length]! : (k * 5 + i) & 0xff)));
  const was = wasmTierMode();
  try {
    for (const mode of ['auto', 'all'] as WasmMode[]) {
      if (wasmTier()) wasmTierMode(mode);
      assert.deepEqual(compare(obj, 'p', packets, `left behind (${mode})`), []);
    }
  } finally {
    wasmTierMode(was);
  }
});

test('runBatch refuses a packet that does not fit the frame, as run() per packet would (RangeError)', () => {
  const obj = objectOf('mov %r0, 2\nexit');
  for (const engine of ['compiled', 'interp'] as Engine[]) {
    const m = createMachine(obj, { engine });
    const frame = m.packetBuffer(512);
    const bytes = m.packetBuffer(1024);
    const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0 };
    const res: BatchResults = { retval: new Uint32Array(2), exitInsn: new Int32Array(2), steps: new Int32Array(2), result: undefined };
    const batch: PacketBatch = { bytes, offset: Int32Array.of(0, 0), length: Int32Array.of(100, 300), headroom: HEADROOM };
    assert.throws(() => m.runBatch('p', buff, batch, 0, 2, env(), res), RangeError, engine);
    assert.equal(res.retval[0], 2, `${engine}: the packet before it ran`);
  }
});
