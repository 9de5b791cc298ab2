// Machine.runBatch's per-packet results past retval/exitInsn/steps (BatchResults flags, final bounds, changed bytes in
// `out`) and PacketBatch.clean / before, against run() per packet on the interpreter with each packet laid into a
// fresh zeroed frame (what the driver's layout gives). For every packet: the same numbers and bounds; flags 0 only
// when the packet after the run is the packet copied in (bytes and bounds), no BATCH_MOVED only when the bounds are
// where they started; the bytes in `out` (or the input, or the frame for the packet that ended the batch) are the
// packet as run() left it; the frame after the last packet and the maps at the end are the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadProgramFile } from '../../simulator/session.ts';
import { wasmTier, wasmTierMode, type WasmMode } from '../../simulator/vm/compiled/engine.ts';
import { BATCH_MOVED, BATCH_WROTE, createMachine, plain, type BatchResults, type Engine, type PacketBatch } from '../../simulator/vm/machine.ts';
import { mapsToJson } from '../../simulator/vm/map-json.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';
import { REPO, sharedPath } from '../repo.ts';
import { captureCorpus, syntheticCorpus } from '../parity/packets.ts';
import { layOut } from './batch-layout.ts';

const HEADROOM = 256;
const FRAME = 4096;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? hex(x) : x));
/** The clock and CPU of packet i (PacketBatch.before sets them; the reference sets them before each run). */
const nowOf = (i: number) => 1_000_000_000n + BigInt(i) * 1_000n;

interface Per {
  head: string;
  data: number;
  dataEnd: number;
  dataMeta: number;
  bytes: string;
  changed: boolean;
  moved: boolean;
}

function reference(obj: LoadedObject, program: string, packets: Uint8Array[]): { per: Per[]; frame: string; maps: string } {
  const m = createMachine(obj, { engine: 'interp', nrCpus: 2 });
  let clock = 0;
  const e: Environment = { nowNs: () => nowOf(clock), prandom: () => 4, cpu: 0, nrCpus: 2, routes: [] };
  let frame = new Uint8Array(FRAME);
  const per = packets.map((p, i) => {
    frame = new Uint8Array(FRAME);
    frame.set(p, HEADROOM);
    const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM + p.length, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: i % 2 };
    clock = i;
    e.cpu = i % 2;
    const r = m.run(program, buff, e);
    const start = Math.min(buff.data, buff.dataMeta);
    const bytes = frame.slice(start, buff.dataEnd);
    const moved = buff.data !== HEADROOM || buff.dataMeta !== HEADROOM || buff.dataEnd !== HEADROOM + p.length;
    return {
      head: json({ retval: r.retval, exitInsn: r.exitInsn, steps: r.steps, whole: plain(r, program) ? undefined : r }),
      data: buff.data, dataEnd: buff.dataEnd, dataMeta: buff.dataMeta, bytes: hex(bytes), changed: moved || hex(bytes) !== hex(p), moved,
    };
  });
  return { per, frame: hex(frame), maps: json(mapsToJson(m.maps)) };
}

function batched(obj: LoadedObject, program: string, packets: Uint8Array[], engine: Engine, linear: boolean, size: number, outSize: number) {
  const m = createMachine(obj, { engine, nrCpus: 2 });
  const frame = m.packetBuffer(FRAME);
  const total = packets.reduce((n, p) => n + p.length, 0);
  const bytes = linear ? m.packetBuffer(total) : new Uint8Array(total);
  const { offset, length } = layOut(bytes, packets);
  let clock = 0;
  const e: Environment = { nowNs: () => nowOf(clock), prandom: () => 4, cpu: 0, nrCpus: 2, routes: [] };
  const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0 };
  const clean = { from: 0, to: 0 };
  const batch: PacketBatch = {
    bytes, offset, length, headroom: HEADROOM, clean,
    before: (i) => {
      clock = i;
      e.cpu = i % 2;
      buff.rxQueueIndex = i % 2;
    },
  };
  const n = packets.length;
  const res: BatchResults = {
    retval: new Uint32Array(n), exitInsn: new Int32Array(n), steps: new Int32Array(n), result: undefined,
    flags: new Uint8Array(n), data: new Int32Array(n), dataEnd: new Int32Array(n), dataMeta: new Int32Array(n),
    // In the linear memory with the packets (memory.copy into it), else a plain array.
    out: { bytes: linear ? m.packetBuffer(outSize) : new Uint8Array(outSize), at: new Int32Array(n), used: 0 },
  };
  if (linear && engine === 'compiled') assert.equal(res.out!.bytes.buffer, frame.buffer, 'out is in the linear memory');
  const per: (Per & { flags: number })[] = [];
  let outStops = 0;
  for (let from = 0; from < n; ) {
    const to = Math.min(n, from + size);
    const next = m.runBatch(program, buff, batch, from, to, e, res);
    assert.ok(next > from && next <= to, `runBatch returned ${next} for [${from}, ${to})`);
    for (let i = from; i < next; i++) {
      const whole = i === next - 1 ? res.result : undefined;
      const o = res.out!;
      const start = Math.min(res.data![i]!, res.dataMeta![i]!);
      const len = res.dataEnd![i]! - start;
      const flags = res.flags![i]!;
      // The packet's bytes: in out, else its input (no flag), else the frame (the packet that ended the batch).
      let b: Uint8Array;
      if (o.at[i]! >= 0) b = o.bytes.slice(o.at[i]!, o.at[i]! + len);
      else if (flags === 0) b = packets[i]!;
      else {
        assert.equal(i, next - 1, 'a changed packet without bytes in out ends the batch');
        if (whole === undefined) outStops++;
        b = frame.slice(start, res.dataEnd![i]!);
      }
      per.push({
        head: json({ retval: res.retval[i], exitInsn: res.exitInsn[i], steps: res.steps[i], whole }),
        data: res.data![i]!, dataEnd: res.dataEnd![i]!, dataMeta: res.dataMeta![i]!, bytes: hex(b), changed: flags !== 0, moved: (flags & BATCH_MOVED) !== 0, flags,
      });
    }
    res.out!.used = 0;
    from = next;
  }
  return { per, frame: hex(frame), maps: json(mapsToJson(m.maps)), outStops };
}

const PARITY = join(REPO, 'test', 'parity', 'programs');
const SPECS: Record<string, { flags?: string[]; program?: string }> = {
  'p16_atomics.c': { flags: ['-mcpu=v3'] },
  'p19_tailcall.c': { program: 'tail_entry' },
};

for (const mode of ['auto', 'all'] as WasmMode[]) {
  test(`runBatch flags, bounds, out bytes and clean frames are what run() per packet on a fresh frame gives (WebAssembly tier ${mode === 'all' ? 'on every program' : 'as by default'})`, (t) => {
    const was = wasmTierMode();
    if (wasmTier()) wasmTierMode(mode);
    try {
      const packets = [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes).filter((b) => b.length <= FRAME - HEADROOM - 320);
      const files = readdirSync(PARITY).filter((f) => f.endsWith('.c')).sort();
      const problems: string[] = [];
      const seen = { plain: 0, wrote: 0, moved: 0, outStops: 0 };
      for (const file of files) {
        const spec = SPECS[file] ?? {};
        const obj = loadProgramFile(join(PARITY, file), { clangFlags: spec.flags });
        const program = spec.program ?? obj.programs.find((p) => p.isXdp)!.name;
        const want = reference(obj, program, packets);
        const variants: [Engine, boolean, number, number][] = [['compiled', true, 64, 1 << 16], ['compiled', true, 5, 900], ['compiled', false, 9, 600], ['interp', false, 64, 1 << 16]];
        for (const [engine, linear, size, outSize] of variants) {
          const got = batched(obj, program, packets, engine, linear, size, outSize);
          seen.outStops += got.outStops;
          const what = `${file} (${engine}, ${linear ? 'linear memory' : 'plain array'}, batches of ${size}, out ${outSize})`;
          for (let i = 0; i < want.per.length; i++) {
            const w = want.per[i]!;
            const g = got.per[i];
            if (g === undefined) {
              problems.push(`${what}: packet ${i} missing`);
              break;
            }
            const bad: string[] = [];
            if (g.head !== w.head) bad.push(`result ${w.head.slice(0, 300)} vs ${g.head.slice(0, 300)}`);
            if (g.data !== w.data || g.dataEnd !== w.dataEnd || g.dataMeta !== w.dataMeta) bad.push(`bounds ${[w.data, w.dataEnd, w.dataMeta]} vs ${[g.data, g.dataEnd, g.dataMeta]}`);
            if (g.bytes !== w.bytes) bad.push(`bytes ${w.bytes.slice(0, 200)} vs ${g.bytes.slice(0, 200)}`);
            if (w.changed && !g.changed) bad.push('changed, but no flag');
            if (w.moved && !g.moved) bad.push('bounds moved, but no BATCH_MOVED');
            if (bad.length) {
              problems.push(`${what} packet ${i}: ${bad.join('; ')}`);
              break;
            }
            if (engine === 'compiled') {
              if (g.flags === 0) seen.plain++;
              if (g.flags & BATCH_WROTE) seen.wrote++;
              if (g.flags & BATCH_MOVED) seen.moved++;
            }
          }
          if (got.frame !== want.frame) problems.push(`${what}: the frame after the last packet differs`);
          if (got.maps !== want.maps) problems.push(`${what}: maps differ`);
        }
      }
      t.diagnostic(`${files.length} programs, ${packets.length} packets: ${JSON.stringify(seen)}`);
      assert.deepEqual(problems.slice(0, 10), []);
      assert.ok(seen.plain > 0 && seen.wrote > 0 && seen.moved > 0 && seen.outStops > 0, JSON.stringify(seen));
    } finally {
      wasmTierMode(was);
    }
  });
}
