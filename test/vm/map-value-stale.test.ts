// A map value's address kept from an earlier run (stored into a global by one packet, loaded back by a later one).
// Dynamic region ids are handed out per run in order of first use, and the slots of the last run are not cleared
// between runs (Memory.nextDynamic): an id this run has not handed out yet must not reach the earlier run's region,
// through the compiled engine's inline loads, Memory's loads, the interpreter or a helper; an id this run did hand out
// reaches this run's region. Expected results are written out, not taken from one engine, and every packet runs through
// run() per packet and runBatch, on the interpreter, the JavaScript form and the WebAssembly tier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../simulator/isa/asm.ts';
import { wasmTier, wasmTierMode, type WasmMode } from '../../simulator/vm/compiled/engine.ts';
import { createMachine, type BatchResults, type Engine, type PacketBatch } from '../../simulator/vm/machine.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';
import { layOut } from './batch-layout.ts';

const HEADROOM = 256;
const env = (): Environment => ({ nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] });

// By the packet's first byte:
// 1: take map_value[0] (.bss, first id) and map_value[1] (.data, second id), keep the second's address in the first;
//    return the .data word (7 after it is written).
// 2: take map_value[0] only, load the kept address and read through it: its id is not this run's (fault).
// 3: take map_value[0] and map_value[1] again: the kept address is this run's again; read 4 bytes through it (7).
// 4: take map_value[2] (.data2) first and map_value[0] second: the kept address's id is now map_value[0]'s own, so a
//    read through it reads the kept address's low word (the region bias, 0x80000000).
// 5: take map_value[0] only and pass the kept address to bpf_probe_read_kernel (4 bytes): not the program's memory
//    in this run, so the helper reads no memory of it (-EFAULT or -ERANGE, not 0), r0 the helper's result.
// 6: as 2, but the read goes through the stack: the kept address spilled to r10-8 and loaded back (Memory's paths).
const TEXT =
  'ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 1\njgt %r4, %r3, out\nldxb %r5, [%r2+0]\n' +
  'jeq %r5, 1, keep\njeq %r5, 2, stale\njeq %r5, 3, again\njeq %r5, 4, other\njeq %r5, 5, helper\njeq %r5, 6, spilled\n' +
  'out:\nmov %r0, 2\nexit\n' +
  'keep:\nlddw %r1, map_value[0]+0\nlddw %r2, map_value[1]+0\nstxdw [%r1+0], %r2\nstdw [%r2+0], 7\nldxw %r0, [%r2+0]\nexit\n' +
  'stale:\nlddw %r1, map_value[0]+0\nldxdw %r2, [%r1+0]\nmov %r0, 3\njeq %r2, 0, +1\nldxw %r0, [%r2+0]\nexit\n' +
  'again:\nlddw %r1, map_value[0]+0\nlddw %r3, map_value[1]+0\nldxdw %r2, [%r1+0]\nmov %r0, 3\njeq %r2, 0, +1\nldxw %r0, [%r2+0]\nexit\n' +
  'other:\nlddw %r3, map_value[2]+0\nlddw %r1, map_value[0]+0\nldxdw %r2, [%r1+0]\nmov %r0, 3\njeq %r2, 0, +1\nldxw %r0, [%r2+0]\nexit\n' +
  'helper:\nlddw %r1, map_value[0]+0\nldxdw %r3, [%r1+0]\nmov %r0, 3\njeq %r3, 0, +5\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 4\ncall 113\nexit\nexit\n' +
  'spilled:\nlddw %r1, map_value[0]+0\nldxdw %r2, [%r1+0]\nstxdw [%r10-8], %r2\nldxdw %r3, [%r10-8]\nmov %r0, 3\njeq %r3, 0, +1\nldxb %r0, [%r3+1]\nexit\n';

function objectOf(): LoadedObject {
  const a = assemble(TEXT);
  assert.deepEqual(a.errors, []);
  return {
    path: 't.o', license: 'GPL',
    maps: [
      { name: 't.bss', type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, kind: 'global', section: '.bss' },
      { name: 't.data', type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, kind: 'global', section: '.data' },
      { name: 't.data2', type: 2, keySize: 4, valueSize: 16, maxEntries: 1, flags: 0, kind: 'global', section: '.data2' },
    ],
    programs: [{ name: 'p', section: 'xdp', isXdp: true, frags: false, insns: a.insns, lines: a.insns.map((_, i) => ({ file: 'p.c', line: i + 1, column: 1 })), funcs: [{ insn: 0, name: 'p' }] }],
  } as LoadedObject;
}

/** Index of the first instruction after `label:` in TEXT (lddw counts two slots). */
function insnOf(label: string, nth: number): number {
  const lines = TEXT.split('\n').filter((l) => l !== '');
  let slot = 0;
  let at = -1;
  for (const l of lines) {
    if (l.endsWith(':')) {
      if (l === `${label}:`) at = 0;
      continue;
    }
    if (at >= 0) {
      if (at === nth) return slot;
      at++;
    }
    slot += l.startsWith('lddw') ? 2 : 1;
  }
  throw new Error(`no instruction ${nth} after ${label}`);
}

/** What packet kind k gives: the return value, or the fault's kind and instruction (3 while nothing is kept). */
function expected(k: number, kept: boolean): string {
  if (!kept && k >= 2 && k <= 6) return 'ret 3';
  switch (k) {
    case 1: return 'ret 7';
    case 2: return `fault out-of-bounds at ${insnOf('stale', 4)}`;
    case 3: return 'ret 7';
    case 4: return `ret ${0x80000000}`;
    case 6: return `fault out-of-bounds at ${insnOf('spilled', 6)}`;
    default: return 'ret 2';
  }
}

const SEQUENCE = [2, 1, 2, 3, 2, 1, 1, 4, 2, 3, 6, 4, 5, 1, 5, 3, 6, 2, 0, 2, 4, 4, 3, 1, 6, 5, 2];

function runAll(engine: Engine, batched: boolean): string[] {
  const m = createMachine(objectOf(), { engine });
  const frame = m.packetBuffer(4096);
  const packets = SEQUENCE.map((k, i) => Uint8Array.from({ length: 20 + (i % 7) }, (_, j) => (j === 0 ? k : (j * 3 + i) & 0xff)));
  const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0 };
  const e = env();
  const out: string[] = [];
  const show = (r: { retval: number; fault?: { kind: string; insn: number } }) => (r.fault ? `fault ${r.fault.kind} at ${r.fault.insn}` : `ret ${r.retval}`);
  if (!batched) {
    for (const p of packets) {
      frame.set(p, HEADROOM);
      buff.data = buff.dataMeta = HEADROOM;
      buff.dataEnd = HEADROOM + p.length;
      out.push(show(m.run('p', buff, e)));
    }
    return out;
  }
  const total = packets.reduce((n, p) => n + p.length, 0);
  const bytes = m.packetBuffer(total);
  const { offset, length } = layOut(bytes, packets);
  const batch: PacketBatch = { bytes, offset, length, headroom: HEADROOM };
  const res: BatchResults = { retval: new Uint32Array(packets.length), exitInsn: new Int32Array(packets.length), steps: new Int32Array(packets.length), result: undefined };
  for (let from = 0; from < packets.length; ) {
    const next = m.runBatch('p', buff, batch, from, packets.length, e, res);
    for (let i = from; i < next; i++) out.push(i === next - 1 && res.result !== undefined ? show(res.result) : `ret ${res.retval[i]}`);
    from = next;
  }
  return out;
}

test('a map value address kept from an earlier run: unbound ids fault, ids this run handed out reach this run\'s region', () => {
  const want = SEQUENCE.map((k, i) => expected(k, SEQUENCE.slice(0, i).includes(1)));
  const was = wasmTierMode();
  try {
    for (const mode of ['auto', 'all'] as WasmMode[]) {
      if (wasmTier()) wasmTierMode(mode);
      for (const engine of ['interp', 'compiled'] as Engine[]) {
        for (const batched of [false, true]) {
          const got = runAll(engine, batched);
          const what = `${engine} ${batched ? 'runBatch' : 'run()'} (${mode})`;
          // The helper's packets (5): the kept address is not the program's memory, so the read fails (not 0).
          const gotNoHelper = got.map((g, i) => (SEQUENCE[i] === 5 ? (g === 'ret 0' ? 'helper read it' : 'ok') : g));
          const wantNoHelper = want.map((w, i) => (SEQUENCE[i] === 5 ? 'ok' : w));
          assert.deepEqual(gotNoHelper, wantNoHelper, what);
        }
      }
    }
  } finally {
    wasmTierMode(was);
  }
});
