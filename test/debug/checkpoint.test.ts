// Checkpoints (simulator/debug/checkpoint.ts, the engine's sessionBefore): the debugger jumps between the packets of a
// 600-packet capture in a shuffled order, forwards and backwards, and every packet it stops in ends exactly as a plain
// Session + Driver run over the capture ends it (action, outcome, bytes out, printk) with the maps equal after it. The
// fixture carries state a copy must carry exactly: an LRU map that evicts, a counter, the clock, the random stream.
// Also: a step within a packet runs only that packet (with the step hook), not the packets before it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { Driver } from '../../simulator/driver/rx.ts';
import { DEFAULT_PROFILE, PROFILES } from '../../simulator/driver/profiles.ts';
import { DebugEngine } from '../../simulator/debug/engine.ts';
import { deepClone, reachable } from '../../simulator/debug/checkpoint.ts';

const obj = loadProgramFile(join(REPO, 'test/debug/fixtures/state.c'));
const N = 600;
function frame(i: number): Uint8Array {
  const f = new Uint8Array(64);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  f.set([0x45, 0, 0, 50, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, (i * 7) % (i % 100 < 50 ? 6 : 12), 192, 168, 0, 9], 14);
  return f;
}
// Timestamps 1 µs apart with a jump every 50 packets, so "seen within 20 µs" is sometimes true and sometimes not.
const packets = Array.from({ length: N }, (_, i) => ({ index: i, frame: frame(i), tsNs: BigInt(i) * 1000n + BigInt(Math.floor(i / 50)) * 1_000_000n }));
const driverOptions = { mode: 'native' as const, profile: PROFILES[DEFAULT_PROFILE], queues: 1 };

const plain = (() => {
  const session = new Session(obj, {});
  const driver = new Driver(session, driverOptions);
  return packets.map((p) => {
    const r = driver.receive(p.frame, p.tsNs);
    return { action: r.action, outcome: r.outcome, out: Buffer.from(r.out).toString('hex'), printk: r.run.printk, maps: JSON.stringify(session.mapsJson()) };
  });
})();

test('the fixture exercises what a checkpoint must carry: evictions, repeats within 20 µs, TX and DROP', () => {
  const actions = new Set(plain.map((r) => r.action));
  for (const a of ['XDP_PASS', 'XDP_TX', 'XDP_DROP']) assert.ok(actions.has(a as never), `${a} among ${[...actions]}`);
  assert.ok(plain.some((r) => r.printk.length > 0));
});

test('jumping between packets in any order, each packet ends as the plain run ends it', () => {
  const e = new DebugEngine({ obj, driver: driverOptions, packets });
  // A fixed shuffle: far forward, back, neighbours, the start again.
  const order = [599, 3, 300, 299, 298, 450, 64, 63, 128, 597, 0, 1, 350, 351, 200, 599];
  for (const p of order) {
    const s = e.goto(p, Number.MAX_SAFE_INTEGER);
    const r = e.results.get(p)!;
    const got = { action: r.action, outcome: r.outcome, out: Buffer.from(r.out).toString('hex'), printk: r.run.printk, maps: JSON.stringify(s.maps) };
    assert.deepEqual(got, plain[p], `packet ${p}`);
  }
  assert.ok(e.stats.forks > 0, 'checkpoints were forked');
  assert.equal(e.stats.fresh, 1, 'no run started again from packet 0 after the first');
});

test('stepping within a late packet runs that packet alone; stepping back across packets runs at most an interval', () => {
  const e = new DebugEngine({ obj, driver: driverOptions, packets });
  e.entry(N - 1);
  const before = { ...e.stats };
  for (let i = 0; i < 5; i++) e.step('instruction');
  assert.equal(e.stats.fast - before.fast, 0, 'no earlier packet ran again');
  assert.equal(e.stats.hooked - before.hooked, 5, 'one hooked run of the packet per step');
  e.goto(N - 1, 0);
  const b2 = { ...e.stats };
  const s = e.stepBack('instruction');
  assert.equal(s.packet, N - 2);
  assert.ok(e.stats.fast - b2.fast <= Math.max(64, Math.ceil(N / 32)), `${e.stats.fast - b2.fast} packets run to step back`);
});

test('reverse continue over many packets without a hit runs each packet about once', () => {
  const e = new DebugEngine({ obj, driver: driverOptions, packets });
  const line = readFileSync(join(REPO, 'test/debug/fixtures/state.c'), 'utf8').split('\n').findIndex((l) => l.includes('saddr = ip->saddr;')) + 1;
  e.setSourceBreakpoints('state.c', [{ line, condition: 'packet == 5' }]);
  e.entry(N - 1);
  const before = { ...e.stats };
  const s = e.reverseContinue();
  assert.equal(s.packet, 5);
  assert.equal(s.loc?.line, line);
  const runs = e.stats.hooked + e.stats.fast - before.hooked - before.fast;
  assert.ok(runs <= N + 2 * Math.max(64, Math.ceil(N / 32)), `${runs} packet runs for a reverse continue over ${N} packets`);
});

test('deepClone copies state with its prototypes, buffers, maps and cycles, and shares what it is told to', () => {
  class Box {
    constructor(public v: number) {}
    get twice() {
      return this.v * 2;
    }
  }
  const shared = { big: [1, 2, 3] };
  const buf = new ArrayBuffer(8);
  const a: Record<string, unknown> = { box: new Box(2), m: new Map([[1, new Box(3)]]), s: new Set([4]), u8: new Uint8Array(buf, 2, 4), dv: new DataView(buf), shared, n: 5n };
  a.self = a;
  const c = deepClone(a, { shared: reachable(shared) });
  assert.notEqual(c, a);
  assert.equal(c.self, c);
  assert.ok(c.box instanceof Box);
  assert.equal((c.box as Box).twice, 4);
  assert.notEqual(c.box, a.box);
  assert.equal(((c.m as Map<number, Box>).get(1) as Box).v, 3);
  assert.equal(c.shared, shared);
  (a.u8 as Uint8Array)[0] = 9;
  assert.equal((c.u8 as Uint8Array)[0], 0, 'the copy has its own buffer');
  (c.u8 as Uint8Array)[1] = 7;
  assert.equal((c.dv as DataView).getUint8(3), 7, 'views of one buffer stay views of one (copied) buffer');
  assert.equal(c.n, 5n);
});
