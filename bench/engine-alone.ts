// One measurement of bench/engine.ts in its own process, run from a bundle built the way `npm run build` builds the
// CLI (esbuild, no TypeScript loader in the way), so the figure is that of the code that ships:
//   node engine-alone.cjs OBJECT PROGRAM PACKETS.bin engine|engine-hot|engine-batch|engine-batch-hot|session interp|compiled
// PACKETS.bin: the packets, each a u32 little-endian length and the bytes. Prints {"ns": wall, "cpuNs": cpu} per packet,
// each the best of XDP_LENS_BENCH_PASSES (default 5) timed passes over all the packets after a warm-up pass.
// engine: Machine.run on a reused buffer the packet is copied into (linear frames only: the engine, memory layout,
// helpers and maps, no driver); session: Session.runPacket (test_run's buffer layout, data_out copy).
// engine-hot: engine with each distinct frame held once (the file repeats a few hundred frames to 60,000 packets):
// the same runs and copies, without streaming 60,000 packet copies (23 MB) and their 60,000 view objects through the
// caches, closer to what the kernel's figure measures (BPF_PROG_TEST_RUN repeat: one packet, hot, run 1,000 times).
import { readFileSync } from 'node:fs';
import { loadProgramFile, Session } from '../simulator/session.ts';
import { createMachine, type BatchResults, type Engine, type PacketBatch } from '../simulator/vm/machine.ts';
import type { Environment, XdpBuff } from '../simulator/vm/types.ts';

const [objPath, program, packetsPath, mode, engine] = process.argv.slice(2) as [string, string, string, string, Engine];
const raw = readFileSync(packetsPath);
let packets: Uint8Array[] = [];
for (let o = 0; o + 4 <= raw.length; ) {
  const n = raw.readUInt32LE(o);
  packets.push(new Uint8Array(raw.buffer, raw.byteOffset + o + 4, n));
  o += 4 + n;
}
if (mode === 'engine-hot' || mode === 'engine-batch-hot') {
  // Same order, same bytes; equal frames share one array.
  const distinct = new Map<string, Uint8Array>();
  packets = packets.map((p) => {
    const key = Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('latin1');
    let q = distinct.get(key);
    if (q === undefined) distinct.set(key, (q = p.slice()));
    return q;
  });
}
const env: Environment = { nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };

/** Timed passes over the packets; each figure is the best pass (the machine is shared: a pass may be preempted). */
const PASSES = Number(process.env.XDP_LENS_BENCH_PASSES ?? 5);

function measure(list: Uint8Array[], once: (p: Uint8Array) => void): { ns: number; cpuNs: number } {
  // Warm-up: a first pass over every packet (at least 20,000 runs), so that compiling and optimising are over.
  for (let i = 0; i < Math.max(20_000, list.length); i++) once(list[i % list.length]!);
  let ns = Infinity;
  let cpuNs = Infinity;
  for (let k = 0; k < PASSES; k++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const p of list) once(p);
    ns = Math.min(ns, Number(process.hrtime.bigint() - t0) / list.length);
    const c = process.cpuUsage(c0);
    cpuNs = Math.min(cpuNs, ((c.user + c.system) * 1000) / list.length);
  }
  return { ns, cpuNs };
}

const obj = loadProgramFile(objPath);
let result;
if (mode === 'engine-batch' || mode === 'engine-batch-hot') {
  // Machine.runBatch over the same packets (each run as in `engine`): the packets sit in the machine's linear memory
  // (a Machine.packetBuffer), from where each is copied into the frame with memory.copy. engine-batch: the file's
  // records are put there a chunk of 384 KiB at a time, one copy per chunk, inside the timed loop; engine-batch-hot:
  // each distinct frame once, before timing (as engine-hot holds each distinct frame once).
  const m = createMachine(obj, { engine });
  const frame = m.packetBuffer(4096);
  const STAGE = 384 * 1024;
  const stage = m.packetBuffer(STAGE);
  const buff: XdpBuff = { frame, data: 256, dataEnd: 256, dataMeta: 256, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0 };
  const res: BatchResults = { retval: new Uint32Array(packets.length), exitInsn: new Int32Array(packets.length), steps: new Int32Array(packets.length), result: undefined };
  // Chunks: [start, end) of the file's bytes and the packets (<= 3520 bytes) whose records they hold.
  const chunks: { start: number; end: number; batch: PacketBatch; count: number }[] = [];
  if (mode === 'engine-batch') {
    let start = 0;
    let offs: number[] = [];
    let lens: number[] = [];
    const close = (end: number) => {
      chunks.push({ start, end, batch: { bytes: stage, offset: Int32Array.from(offs), length: Int32Array.from(lens), headroom: 256 }, count: offs.length });
      start = end;
      offs = [];
      lens = [];
    };
    for (let o = 0; o + 4 <= raw.length; ) {
      const n = raw.readUInt32LE(o);
      if (o + 4 + n - start > STAGE) close(o);
      if (n <= 3520) {
        offs.push(o + 4 - start);
        lens.push(n);
      }
      o += 4 + n;
    }
    close(raw.length);
  } else {
    const at = new Map<Uint8Array, number>();
    let top = 0;
    const offs: number[] = [];
    const lens: number[] = [];
    for (const p of packets.filter((q) => q.length <= 3520)) {
      let o = at.get(p);
      if (o === undefined) {
        if (top + p.length > STAGE) throw new Error('distinct frames do not fit the stage');
        stage.set(p, top);
        at.set(p, (o = top));
        top += p.length;
      }
      offs.push(o);
      lens.push(p.length);
    }
    chunks.push({ start: -1, end: -1, batch: { bytes: stage, offset: Int32Array.from(offs), length: Int32Array.from(lens), headroom: 256 }, count: offs.length });
  }
  const total = chunks.reduce((n, c) => n + c.count, 0);
  const pass = () => {
    for (const c of chunks) {
      if (c.start >= 0) stage.set(raw.subarray(c.start, c.end));
      let i = 0;
      while (i < c.count) i = m.runBatch(program, buff, c.batch, i, c.count, env, res);
    }
  };
  for (let k = 0; k < Math.max(1, Math.ceil(20_000 / total)); k++) pass();
  let ns = Infinity;
  let cpuNs = Infinity;
  for (let k = 0; k < PASSES; k++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    pass();
    ns = Math.min(ns, Number(process.hrtime.bigint() - t0) / total);
    const c = process.cpuUsage(c0);
    cpuNs = Math.min(cpuNs, ((c.user + c.system) * 1000) / total);
  }
  result = { ns, cpuNs };
} else if (mode === 'engine' || mode === 'engine-hot') {
  const m = createMachine(obj, { engine });
  // The machine's packet buffer (in the compiled engine's WebAssembly memory), as the driver's receive buffer is.
  const frame = m.packetBuffer(4096);
  const buff: XdpBuff = { frame, data: 256, dataEnd: 256, dataMeta: 256, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0 };
  result = measure(packets.filter((p) => p.length <= 3520), (p) => {
    frame.set(p, 256);
    buff.frame = frame;
    buff.data = 256;
    buff.dataMeta = 256;
    buff.dataEnd = 256 + p.length;
    m.run(program, buff, env);
  });
} else {
  const s = new Session(obj, { program, engine });
  result = measure(packets, (p) => s.runPacket(p));
}
process.stdout.write(JSON.stringify(result) + '\n');
