// Machine.run on the compiled engine resets with Memory.resetPacket and enters through executeXdpPacket (the batch
// entry: the engine's per-run setup skipped when the last run left it ready). Every result must still be the one the
// interpreter gives with a full reset per run (a fresh XdpBuff object each run, so its reset binds the packet anew):
// runs that fault, read the stack unwritten, leave stack bytes, a second call frame or map values behind, interleaved
// with runs that carry hooks (onMark), run on a read-only page or another frame, run on the interpreter, run a batch
// with a pending clean span, or run under a budget that ends part-way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../simulator/isa/asm.ts';
import { wasmTier, wasmTierMode, type WasmMode } from '../../simulator/vm/compiled/engine.ts';
import { createMachine, type BatchResults, type Machine } from '../../simulator/vm/machine.ts';
import { mapsToJson } from '../../simulator/vm/map-json.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';

const HEADROOM = 256;
const FRAME = 1024;
const env: Environment = { nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));

function objectOf(text: string): LoadedObject {
  const a = assemble(text);
  assert.deepEqual(a.errors, []);
  const obj: LoadedObject = {
    path: 't.o', license: 'GPL', maps: [],
    programs: [{ name: 'p', section: 'xdp', isXdp: true, frags: false, insns: a.insns, lines: a.insns.map((_, i) => ({ file: 'p.c', line: i + 1, column: 1 })), funcs: [{ insn: 0, name: 'p' }] }],
  };
  obj.maps.push({ name: 't.bss', type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, kind: 'global', section: '.bss' });
  obj.maps.push({ name: 't.data', type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, kind: 'global', section: '.data' });
  return obj;
}

// Packets by their first byte: 0 touch nothing; 5 write r10-8; 1 read r10-8 unwritten; 2 write r10-8 and call a
// subprogram that writes its r10-24, 7 only call it; 4 call one that reads its r10-24 unwritten; 3 take two map values
// (lddw) and keep the second's address in the first, 8 call a subprogram that keeps the address of its r10-24 there;
// 6 load through the address kept there; 9 move data back 8 bytes (adjust_head) and return a byte of the headroom;
// 10 write the packet's first byte; 11 fault (a load past data_end).
const PROGRAM =
  'ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 2\njgt %r4, %r3, out\nldxb %r5, [%r2+0]\njeq %r5, 0, out\n' +
  'jeq %r5, 1, unwritten\njeq %r5, 3, value\njeq %r5, 4, deep\njeq %r5, 5, shallow\njeq %r5, 6, kept\njeq %r5, 7, deeper\njeq %r5, 8, keep\n' +
  'jeq %r5, 9, head\njeq %r5, 10, write\njeq %r5, 11, fault\n' +
  'stxdw [%r10-8], %r5\ncall local f\nldxdw %r1, [%r10-8]\nadd %r0, %r1\nexit\n' +
  'unwritten:\nldxdw %r0, [%r10-8]\nexit\nshallow:\nstxdw [%r10-8], %r5\nmov %r0, 2\nexit\n' +
  'value:\nlddw %r1, map_value[0]+0\nlddw %r2, map_value[1]+0\nstxdw [%r1+0], %r2\nldxw %r0, [%r2+0]\nadd %r0, 1\nstxw [%r2+0], %r0\nexit\n' +
  'kept:\nlddw %r1, map_value[0]+0\nldxdw %r2, [%r1+0]\nmov %r0, 2\njeq %r2, 0, +1\nldxw %r0, [%r2+0]\nexit\n' +
  'deep:\ncall local g\nexit\ndeeper:\ncall local f\nexit\nkeep:\nlddw %r1, map_value[0]+0\ncall local h\nexit\n' +
  'head:\nmov %r6, %r1\nmov %r2, -8\ncall 44\nldxw %r2, [%r6+0]\nldxw %r3, [%r6+4]\nmov %r4, %r2\nadd %r4, 1\nmov %r0, 2\njgt %r4, %r3, +1\nldxb %r0, [%r2+0]\nexit\n' +
  'write:\nstb [%r2+0], 0\nmov %r0, 3\nexit\nfault:\nldxw %r0, [%r3+0]\nexit\n' +
  'out:\nmov %r0, 2\nexit\nf:\nstdw [%r10-24], 7\nldxdw %r0, [%r10-24]\nexit\ng:\nldxdw %r0, [%r10-24]\nexit\nh:\nstdw [%r10-24], 9\nmov %r2, %r10\nadd %r2, -24\nstxdw [%r1+0], %r2\nmov %r0, 2\nexit';

const FIRSTS = [2, 0, 0, 0, 3, 0, 11, 5, 0, 1, 2, 9, 2, 0, 1, 0, 10, 0, 3, 3, 0, 6, 2, 0, 4, 11, 0, 0, 5, 0, 9, 0, 2, 4, 3, 1, 5, 1, 3, 6, 7, 0, 4, 7, 7, 0, 10, 4, 8, 0, 0, 6, 8, 6, 9];
const packets = Array.from({ length: 120 }, (_, i) => Uint8Array.from({ length: 14 + ((i * 13) % 50) }, (_, k) => (k === 0 ? FIRSTS[i % FIRSTS.length]! : (k * 5 + i) & 0xff)));

/** The reference: the interpreter, a fresh frame copy and a fresh XdpBuff per run (reset binds the packet anew). */
function reference(obj: LoadedObject, budget: number | undefined): string[] {
  const m = createMachine(obj, { engine: 'interp', budget });
  const frame = new Uint8Array(FRAME);
  return packets.map((p, i) => {
    frame.fill(0);
    frame.set(p, HEADROOM);
    const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM + p.length, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0, readonlyPage: i % 17 === 5 };
    // The compiled side's extra batch of this packet (below) runs it once more first.
    if (i % 23 === 22) {
      m.run('p', buff, env);
      frame.fill(0);
      frame.set(p, HEADROOM);
      Object.assign(buff, { data: HEADROOM, dataEnd: HEADROOM + p.length, dataMeta: HEADROOM });
    }
    const r = m.run('p', buff, env);
    return json({ r, frame, buff: { data: buff.data, dataEnd: buff.dataEnd, dataMeta: buff.dataMeta }, maps: mapsToJson(m.maps) });
  });
}

/**
 * The compiled engine's run() per packet on one buff whose frame is in the linear memory, interleaved with what may
 * leave the engine's state or the Memory's other than a plain run does: every 11th run with a hook, every 17th on a
 * read-only page, every 13th on a frame of another buff, every 19th on the interpreter, every 23rd after a one-packet
 * runBatch of the same packet that leaves a clean span pending.
 */
function compiled(obj: LoadedObject, budget: number | undefined): string[] {
  const m: Machine = createMachine(obj, { engine: 'compiled', budget });
  const frame = m.packetBuffer(FRAME);
  const other = new Uint8Array(FRAME);
  const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0 };
  const spare = m.packetBuffer(FRAME);
  const res: BatchResults = { retval: new Uint32Array(1), exitInsn: new Int32Array(1), steps: new Int32Array(1), result: undefined };
  const marks: number[] = [];
  return packets.map((p, i) => {
    if (i % 23 === 22) {
      // A batch of this packet first, which leaves a clean span pending (the next reset zeroes it: flushClean).
      const q = p;
      spare.set(q, 0);
      const bytes = spare.subarray(0, q.length);
      buff.frame.fill(0);
      m.runBatch('p', buff, { bytes, offset: Int32Array.of(0), length: Int32Array.of(q.length), headroom: HEADROOM, clean: { from: 0, to: FRAME } }, 0, 1, env, res);
    }
    const useOther = i % 13 === 7;
    const f = useOther ? other : frame;
    if (f !== frame) f.fill(0);
    else {
      // The bytes outside the window are what the frame holds (zero but for the last run's clean span, see above).
      f.fill(0, 0, HEADROOM);
      f.fill(0, HEADROOM + p.length);
    }
    f.set(p, HEADROOM);
    const b: XdpBuff = useOther ? { ...buff, frame: other } : buff;
    b.frame = f;
    b.data = b.dataMeta = HEADROOM;
    b.dataEnd = HEADROOM + p.length;
    b.readonlyPage = i % 17 === 5 ? true : undefined;
    const hooks = i % 11 === 3 ? { onMark: () => { marks.push(i); } } : i % 19 === 9 ? { engine: 'interp' as const } : undefined;
    const r = m.run('p', b, env, hooks);
    return json({ r, frame: f, buff: { data: b.data, dataEnd: b.dataEnd, dataMeta: b.dataMeta }, maps: mapsToJson(m.maps) });
  });
}

for (const mode of ['auto', 'all'] as WasmMode[]) {
  test(`Machine.run on the compiled engine (resetPacket, executeXdpPacket) gives the interpreter's full-reset results run after run (WebAssembly tier ${mode})`, () => {
    const was = wasmTierMode();
    try {
      if (wasmTier()) wasmTierMode(mode);
      const obj = objectOf(PROGRAM);
      for (const budget of [undefined, 4, 9, 15]) {
        const want = reference(obj, budget);
        const got = compiled(obj, budget);
        const short = (x: string) => x.replace(/"frame":"[0-9a-f]*"/, (f) => `"frame": ${f.length} chars`);
        const diff = want.map((w, i) => (w === got[i] ? undefined : `packet ${i} (first byte ${packets[i]![0]}, budget ${budget}):\n  want ${short(w)}\n  got  ${short(got[i]!)}`)).filter((x) => x !== undefined);
        assert.deepEqual(diff.slice(0, 2), []);
      }
    } finally {
      wasmTierMode(was);
    }
  });
}
