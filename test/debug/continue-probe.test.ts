// Continue across a long capture (issue 13): packets run on the compiled engine with the breakpoint probe and only the
// packets that reach a breakpoint run again stepped. On a 6,000-packet capture of test/debug/fixtures/state.c (an LRU
// map that evicts, a counter, the clock, the random stream) where the breakpoint's line is first reached at packet
// 5,100, the probed engine stops where the stepped one (XDP_LENS_DEBUG_PROBE=0, every packet stepped) stops: same
// packet, step, line, registers, maps; conditions and hit counts decide the same hits; reverse continue comes back to
// the same hit; the map state at the end is that of a plain Session + Driver run. The number of stepped packet runs is
// bounded (stats.hooked), not the time. The DAP test drives the adapter over the protocol on the same capture.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { REPO } from '../repo.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { Driver } from '../../simulator/driver/rx.ts';
import { DEFAULT_PROFILE, PROFILES } from '../../simulator/driver/profiles.ts';
import { DebugEngine, type Snapshot } from '../../simulator/debug/engine.ts';
import { XdpDebugSession } from '../../simulator/debug/adapter.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { engineOptions, frame } from './fixture.ts';

const SOURCE = join(REPO, 'test/debug/fixtures/state.c');
const obj = loadProgramFile(SOURCE);
const N = 6000;
/** Packets that repeat the source address of the packet before them 1 µs later: the only ones reaching the printk. */
const REPEATS = new Set([5100, 5300, 5301, 5302, 5700]);
const HITS = [...REPEATS].sort((a, b) => a - b);
const saddr = (i: number) => [10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff];
const packets: { index: number; frame: Uint8Array; tsNs: bigint }[] = [];
for (let i = 0, src = 0; i < N; i++) {
  if (!REPEATS.has(i)) src = i;
  const f = new Uint8Array(64);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  f.set([0x45, 0, 0, 50, 0, 1, 0, 0, 64, 17, 0, 0, ...saddr(src), 192, 168, 0, 9], 14);
  const tsNs = REPEATS.has(i) ? packets[i - 1].tsNs + 1000n : BigInt(i) * 1_000_000n;
  packets.push({ index: i, frame: f, tsNs });
}
const driver = { mode: 'native' as const, profile: PROFILES[DEFAULT_PROFILE], queues: 1 };
const LINE = readFileSync(SOURCE, 'utf8').split('\n').findIndex((l) => l.includes('bpf_printk("again')) + 1;

const plain = (() => {
  const session = new Session(obj, {});
  const d = new Driver(session, driver);
  const runs = packets.map((p) => d.receive(p.frame, p.tsNs));
  return { runs, maps: JSON.stringify(session.mapsJson()) };
})();

function engine(probing: boolean, bp: { condition?: string; hitCondition?: string } = {}): DebugEngine {
  const e = new DebugEngine({ obj, driver, packets });
  e.probing = probing;
  e.setSourceBreakpoints('state.c', [{ line: LINE, ...bp }]);
  return e;
}
const view = (s: Snapshot | undefined) =>
  s && { packet: s.packet, step: s.step, line: s.loc?.line, pc: s.pc, regs: s.regs.map(String), maps: JSON.stringify(s.maps), hit: s.hitBreakpoints.length, reason: s.reason, printk: s.printk, result: s.result.action };

test('the capture reaches the breakpoint line first at packet 5,100 (plain run)', () => {
  const printed = plain.runs.flatMap((r, i) => (r.run.printk.length ? [i] : []));
  assert.deepEqual(printed, HITS);
});

test('continue stops where the stepped method stops, hit after hit, with a bounded number of stepped packet runs', () => {
  const fast = engine(true);
  const slow = engine(false);
  for (let k = 0; k <= HITS.length; k++) {
    const before = { ...fast.stats };
    const a = fast.continue(0);
    const b = slow.continue(0);
    assert.deepEqual(view(a), view(b), `stop ${k}`);
    assert.equal(a?.packet, HITS[k], `stop ${k}`);
    if (a) assert.equal(a.loc?.line, LINE);
    // Stepped: the rest of the packet stopped in, the packet after it, the packet that reaches the line.
    assert.ok(fast.stats.hooked - before.hooked <= 3, `${fast.stats.hooked - before.hooked} stepped packet runs for stop ${k}`);
  }
  assert.ok(fast.stats.probed >= N - HITS.length - 1, `${fast.stats.probed} packets probed`);
  assert.ok(slow.stats.hooked >= N, 'the reference steps every packet');
  // At the end (continue returned undefined): every packet as `run` ran it, the maps as `run` leaves them.
  assert.equal(JSON.stringify(fast.current!.maps), plain.maps);
  for (let i = 0; i < N; i += 97) assert.equal(fast.results.get(i)?.action, plain.runs[i].action, `packet ${i}`);
});

test('a condition and a hit count decide the same stops; reverse continue comes back to the same hit', () => {
  for (const bp of [{ condition: 'packet > 5300' }, { hitCondition: '3' }, { hitCondition: '% 2' }, { condition: 'packet != 5301', hitCondition: '>= 3' }]) {
    const fast = engine(true, bp);
    const slow = engine(false, bp);
    const stops: (number | undefined)[] = [];
    for (let k = 0; k < 4; k++) {
      const before = fast.stats.hooked;
      const a = fast.continue(0);
      const b = slow.continue(0);
      assert.deepEqual(view(a), view(b), `${JSON.stringify(bp)} stop ${k}`);
      assert.ok(fast.stats.hooked - before <= 2 * HITS.length + 2, `${fast.stats.hooked - before} stepped runs`);
      stops.push(a?.packet);
      if (!a) break;
    }
    const expected = {
      '{"condition":"packet > 5300"}': [5301, 5302, 5700, undefined],
      '{"hitCondition":"3"}': [5301, undefined],
      '{"hitCondition":"% 2"}': [5300, 5302, undefined],
      '{"condition":"packet != 5301","hitCondition":">= 3"}': [5302, 5700, undefined],
    }[JSON.stringify(bp)];
    assert.deepEqual(stops, expected, JSON.stringify(bp));
  }
  const fast = engine(true);
  const slow = engine(false);
  for (let k = 0; k < 3; k++) {
    fast.continue(0);
    slow.continue(0);
  }
  assert.equal(fast.current?.packet, 5301);
  const a = fast.reverseContinue();
  const b = slow.reverseContinue();
  assert.deepEqual(view(a), view(b));
  assert.equal(a.packet, 5300);
  assert.equal(fast.reverseContinue().packet, 5100);
  assert.equal(fast.reverseContinue().reason, 'entry', 'no hit before 5,100: back to the start');
});

test('function breakpoints are probed too', () => {
  const fast = new DebugEngine({ obj, driver, packets });
  const slow = new DebugEngine({ obj, driver, packets });
  slow.probing = false;
  for (const e of [fast, slow]) e.setFunctionBreakpoints([{ name: 'state', condition: 'packet == 5999' }]);
  const before = fast.stats.hooked;
  assert.deepEqual(view(fast.continue(0)), view(slow.continue(0)));
  assert.equal(fast.current?.packet, 5999);
  // Every packet reaches the function's first slot: each is run stepped once after its probe at most.
  assert.ok(fast.stats.hooked - before <= N + 1);
});

test('break on fault: a fault in a probed packet stops on its slot as the stepped method does', () => {
  const o = engineOptions();
  const long = Array.from({ length: 5200 }, (_, i) => ({ index: i, frame: i === 5000 ? frame(0x88b6, 3) : frame(0x0800, i), tsNs: BigInt(i) * 1000n }));
  const fast = new DebugEngine({ ...o, packets: long });
  const slow = new DebugEngine({ ...o, packets: long });
  slow.probing = false;
  // A breakpoint on a line no packet reaches (the tail-called program) so that continue probes.
  for (const e of [fast, slow]) e.setFunctionBreakpoints([{ name: 'tail' }]);
  const a = fast.continue(0);
  assert.deepEqual(view(a), view(slow.continue(0)));
  assert.equal(a?.reason, 'exception');
  assert.equal(a?.packet, 5000);
  assert.ok(fast.stats.hooked <= 2, `${fast.stats.hooked} stepped packet runs`);
});

// The adapter over DAP on the same capture as a pcap.
const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-probe-'));
const capture = join(dir, 'late.pcap');
let server: Server;
let port = 0;
const sessions: XdpDebugSession[] = [];
before(async () => {
  const w = new PcapWriter(capture);
  for (const p of packets) w.write(1_000_000_000n + p.tsNs, p.frame);
  w.close();
  server = createServer((socket) => {
    const s = new XdpDebugSession();
    sessions.push(s);
    s.setRunAsServer(true);
    s.start(socket, socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function stopsOverDap(probe: boolean) {
  const saved = process.env.XDP_LENS_DEBUG_PROBE;
  process.env.XDP_LENS_DEBUG_PROBE = probe ? '1' : '0';
  const dc = new DebugClient('node', 'unused', 'xdp');
  dc.defaultTimeout = 300_000; // a safety net on a shared machine, not a measurement
  await dc.start(port);
  try {
    const out: { line?: number; thread: string; regs: [string, string][]; hits: string }[] = [];
    const record = async () => {
      const f = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
      const scopes = (await dc.scopesRequest({ frameId: f.id })).body.scopes;
      const regs = (await dc.variablesRequest({ variablesReference: scopes.find((x) => x.name.startsWith('Registers'))!.variablesReference })).body.variables;
      const thread = (await dc.threadsRequest()).body.threads[0].name;
      out.push({ line: f.line, thread, regs: regs.map((v) => [v.name, v.value]), hits: '' });
    };
    await dc.hitBreakpoint({ program: SOURCE, capture, programName: 'state' }, { path: SOURCE, line: LINE });
    await record();
    const engineOf = () => (sessions[sessions.length - 1] as unknown as { engine: DebugEngine }).engine;
    const hooked0 = engineOf().stats.hooked;
    for (let k = 0; k < 2; k++) {
      const ev = dc.waitForEvent('stopped');
      await dc.continueRequest({ threadId: 1 });
      await ev;
      await record();
    }
    const ev = dc.waitForEvent('stopped');
    await dc.customRequest('reverseContinue', { threadId: 1 });
    assert.equal(((await ev) as DebugProtocol.StoppedEvent).body.reason, 'breakpoint');
    await record();
    return { out, hooked: engineOf().stats.hooked, continuesHooked: engineOf().stats.hooked - hooked0 };
  } finally {
    if (saved === undefined) delete process.env.XDP_LENS_DEBUG_PROBE;
    else process.env.XDP_LENS_DEBUG_PROBE = saved;
    await dc.stop();
  }
}

test('over DAP: the same stops, threads and registers as the stepped method, few stepped packet runs', async () => {
  const fast = await stopsOverDap(true);
  const slow = await stopsOverDap(false);
  assert.deepEqual(fast.out, slow.out);
  assert.deepEqual(fast.out.map((o) => o.thread), ['packet 5100', 'packet 5300', 'packet 5301', 'packet 5300']);
  assert.ok(fast.out.every((o) => o.line === LINE));
  // Launch to the first stop: the stepped run of packet 5,100 (and no other).
  assert.ok(fast.hooked - fast.continuesHooked <= 2, `${fast.hooked - fast.continuesHooked} stepped runs to reach packet 5,100`);
  assert.ok(fast.continuesHooked <= 8, `${fast.continuesHooked} stepped runs for two continues`);
  assert.ok(slow.hooked >= 5100);
});
