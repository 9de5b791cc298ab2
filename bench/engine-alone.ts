// One measurement of bench/engine.ts in its own process, run from a bundle built the way `npm run build` builds the
// CLI (esbuild, no TypeScript loader in the way), so the figure is that of the code that ships:
//   node engine-alone.cjs OBJECT PROGRAM PACKETS.bin engine|session interp|compiled
// PACKETS.bin: the packets, each a u32 little-endian length and the bytes. Prints {"ns": wall, "cpuNs": cpu} per packet.
// engine: Machine.run on a reused buffer the packet is copied into (linear frames only: the engine, memory layout,
// helpers and maps, no driver); session: Session.runPacket (test_run's buffer layout, data_out copy).
import { readFileSync } from 'node:fs';
import { loadProgramFile, Session } from '../simulator/session.ts';
import { createMachine, type Engine } from '../simulator/vm/machine.ts';
import type { Environment, XdpBuff } from '../simulator/vm/types.ts';

const [objPath, program, packetsPath, mode, engine] = process.argv.slice(2) as [string, string, string, string, Engine];
const raw = readFileSync(packetsPath);
const packets: Uint8Array[] = [];
for (let o = 0; o + 4 <= raw.length; ) {
  const n = raw.readUInt32LE(o);
  packets.push(new Uint8Array(raw.buffer, raw.byteOffset + o + 4, n));
  o += 4 + n;
}
const env: Environment = { nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };

function measure(list: Uint8Array[], once: (p: Uint8Array) => void): { ns: number; cpuNs: number } {
  // Warm-up: a first pass over every packet (at least 20,000 runs), so that compiling and optimising are over.
  for (let i = 0; i < Math.max(20_000, list.length); i++) once(list[i % list.length]!);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const p of list) once(p);
  const ns = Number(process.hrtime.bigint() - t0) / list.length;
  const c = process.cpuUsage(c0);
  return { ns, cpuNs: ((c.user + c.system) * 1000) / list.length };
}

const obj = loadProgramFile(objPath);
let result;
if (mode === 'engine') {
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
