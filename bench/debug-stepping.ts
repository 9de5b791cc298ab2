// The debugger's stepping cost on a long capture: each stop (a step, a step back, a step back across packets) on the
// last packet of a 10,000-packet capture, in ms. Before checkpoints every stop re-ran packets 0..N-1 instruction by
// instruction; the result file keeps each labelled run side by side with the machine's load average. `before` was
// measured on the tree of commit 9ecc82f (git archive, this script copied in, --label before) right before `after`
// on this tree, so both saw the same load.
// continueToLastPacket: a continue from the start with a breakpoint first reached on the last packet (state.c, see
// below), stepped (every packet through the step hook, as before issue 13's probe;
// XDP_LENS_DEBUG_PROBE=0) and probed (packets on the compiled engine with the breakpoint probe), measured side by side
// in one process, with the number of packets each ran stepped.
//   npx tsx bench/debug-stepping.ts [--packets 10000] [--steps 10] [--label after] [--out bench/results/debug-stepping.json]
// Program: test/debug/fixtures/locals.c (a hash map updated per source address, so the map state of the earlier
// packets matters). Packets: IPv4/UDP frames with 256 source addresses and varying TTLs.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadProgramFile } from '../simulator/session.ts';
import { DEFAULT_PROFILE, PROFILES } from '../simulator/driver/profiles.ts';
import { DebugEngine } from '../simulator/debug/engine.ts';
import { REPO, machine, option } from './common.ts';

const N = Number(option('packets', '10000'));
const STEPS = Number(option('steps', '10'));
const LABEL = option('label', 'after');
const OUT = option('out', join(REPO, 'bench', 'results', 'debug-stepping.json'));

function frame(i: number): Uint8Array {
  const f = new Uint8Array(64);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  f.set([0x45, 0, 0, 50, 0, 1, 0, 0, 8 + (i % 100), 17, 0, 0, 10, 0, (i >> 8) & 0xff, i & 0xff, 192, 168, 0, 9], 14);
  return f;
}

const obj = loadProgramFile(join(REPO, 'test/debug/fixtures/locals.c'));
const engine = new DebugEngine({
  obj,
  driver: { mode: 'native', profile: PROFILES[DEFAULT_PROFILE], queues: 1 },
  packets: Array.from({ length: N }, (_, i) => ({ index: i, frame: frame(i % 256 === 0 ? i : i % 256), tsNs: BigInt(i) * 1000n })),
});

function time<T>(f: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = f();
  return { ms: performance.now() - t0, value };
}

const last = N - 1;
const entry = time(() => engine.entry(last));
const steps: number[] = [];
for (let i = 0; i < STEPS; i++) {
  const t = time(() => engine.step('instruction'));
  steps.push(t.ms);
  if (!t.value || t.value.ended) break;
}
const backs: number[] = [];
for (let i = 0; i < STEPS; i++) backs.push(time(() => engine.stepBack('instruction')).ms);
engine.goto(last, 0);
const across = time(() => engine.stepBack('instruction'));
// Continue to a breakpoint first reached on the last packet: test/debug/fixtures/state.c (an LRU map, a counter, the
// clock, the random stream), every packet from another source address 1 ms apart except the last, which repeats the
// one before it 1 µs later and so alone reaches the bpf_printk line.
const stateSource = join(REPO, 'test/debug/fixtures/state.c');
const stateObj = loadProgramFile(stateSource);
const lateLine = readFileSync(stateSource, 'utf8').split('\n').findIndex((l) => l.includes('bpf_printk("again')) + 1;
function continueLate(probing: boolean) {
  const packets = Array.from({ length: N }, (_, i) => {
    const src = i === N - 1 ? i - 1 : i;
    const f = new Uint8Array(64);
    f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
    f.set([0x45, 0, 0, 50, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, (src >> 8) & 0xff, src & 0xff, 192, 168, 0, 9], 14);
    return { index: i, frame: f, tsNs: i === N - 1 ? BigInt(i - 1) * 1_000_000n + 1000n : BigInt(i) * 1_000_000n };
  });
  const e = new DebugEngine({ obj: stateObj, driver: { mode: 'native', profile: PROFILES[DEFAULT_PROFILE], queues: 1 }, packets });
  e.probing = probing;
  e.setSourceBreakpoints('state.c', [{ line: lateLine }]);
  const t = time(() => e.continue(0));
  if (t.value?.packet !== N - 1 || t.value.loc?.line !== lateLine) throw new Error(`continue stopped at ${t.value?.packet}:${t.value?.loc?.line}`);
  return { ms: Math.round(t.ms * 100) / 100, steppedPacketRuns: e.stats.hooked, probedPacketRuns: e.stats.probed, fastPacketRuns: e.stats.fast };
}
const continueToLastPacket = { program: 'test/debug/fixtures/state.c', line: lateLine, stepped: continueLate(false), probed: continueLate(true) };
const mean = (a: number[]) => Math.round((a.reduce((x, y) => x + y, 0) / Math.max(1, a.length)) * 100) / 100;
const result = {
  packets: N,
  machine: machine(),
  date: new Date().toISOString(),
  msFirstStopOnLastPacket: Math.round(entry.ms * 100) / 100,
  msPerStep: mean(steps),
  msPerStepBack: mean(backs),
  msStepBackAcrossPackets: Math.round(across.ms * 100) / 100,
  landedOn: { packet: across.value.packet, ended: across.value.ended },
  continueToLastPacket,
};
console.log(LABEL, JSON.stringify(result, null, 1));
const all = existsSync(OUT) ? JSON.parse(readFileSync(OUT, 'utf8')) : {};
all[LABEL] = result;
writeFileSync(OUT, JSON.stringify(all, null, 1) + '\n');
