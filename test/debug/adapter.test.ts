// The debug adapter driven over the Debug Adapter Protocol by the test client of the VS Code ecosystem
// (@vscode/debugadapter-testsupport), on test/debug/fixtures/dbg.c (a call, a loop, a tail call, a fault) and a capture
// written here: breakpoints hit where the line info says, steps land on lines, reverse steps come back to the same
// state, the variables show what the simulator computed for the same packet (plain Session + Driver runs), printk
// reaches the debug console, a fault stops with its message. One test runs `xdp-lens debug-adapter` over stdio.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { XdpDebugSession } from '../../simulator/debug/adapter.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { Session } from '../../simulator/session.ts';
import { Driver } from '../../simulator/driver/rx.ts';
import { REPO } from '../repo.ts';
import { FIXTURE, PACKETS, engineOptions } from './fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-dap-'));
const capture = join(dir, 'cap.pcap');
const mapsFile = join(dir, 'maps.json');
let server: Server;
let port = 0;

before(async () => {
  const w = new PcapWriter(capture);
  for (const p of PACKETS) w.write(1_000_000_000n + p.tsNs, p.frame);
  w.close();
  const { writeFileSync } = await import('node:fs');
  writeFileSync(mapsFile, JSON.stringify({ jmp: [{ key: '00000000', program: 'tail' }] }));
  server = createServer((socket) => {
    const s = new XdpDebugSession();
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

const launchArgs = (extra: Record<string, unknown> = {}) => ({ program: FIXTURE, capture, maps: mapsFile, programName: 'entry', ...extra });

async function client(): Promise<DebugClient> {
  const dc = new DebugClient('node', 'unused', 'xdp');
  dc.defaultTimeout = 120_000; // a safety net on a shared machine, not a measurement
  await dc.start(port);
  return dc;
}

/** Plain runs of the capture, as `run` does them. */
function plainRuns() {
  const o = engineOptions();
  const session = new Session(o.obj, o.session);
  const driver = new Driver(session, o.driver);
  return PACKETS.map((p) => driver.receive(p.frame, p.tsNs));
}

async function top(dc: DebugClient): Promise<DebugProtocol.StackFrame> {
  return (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
}

async function vars(dc: DebugClient, frameId: number, scope: string): Promise<Map<string, DebugProtocol.Variable>> {
  const scopes = (await dc.scopesRequest({ frameId })).body.scopes;
  const s = scopes.find((x) => x.name.startsWith(scope));
  assert.ok(s, `scope ${scope} in ${scopes.map((x) => x.name)}`);
  const v = (await dc.variablesRequest({ variablesReference: s.variablesReference })).body.variables;
  return new Map(v.map((x) => [x.name, x]));
}

async function stopped(dc: DebugClient, action: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const ev = dc.waitForEvent('stopped');
  await action();
  return (await ev) as DebugProtocol.StoppedEvent;
}

test('a line breakpoint hits on its line; step into names the callee frame; variables are what the simulator holds', async () => {
  const dc = await client();
  try {
    await dc.hitBreakpoint(launchArgs(), { path: FIXTURE, line: 65 });
    let f = await top(dc);
    assert.equal(f.line, 65);
    assert.equal(f.name, 'entry');
    assert.match(f.instructionPointerReference!, /^entry:\d+$/);
    // C locals through DWARF: eth is the packet pointer data + 0, and expands to its fields read from the packet.
    const locals = await vars(dc, f.id, 'Locals');
    assert.match(locals.get('eth')!.value, /^packet pointer: data \+ 0 /);
    assert.equal(locals.get('eth')!.type, 'struct ethhdr *');
    const fields = (await dc.variablesRequest({ variablesReference: locals.get('eth')!.variablesReference })).body.variables;
    assert.equal(fields.find((x) => x.name === 'h_proto')!.value, '8', '__be16 08 00 read little-endian');
    assert.equal((await dc.evaluateRequest({ expression: 'eth->h_proto', context: 'watch', frameId: f.id })).body.result, '8');
    const regs = await vars(dc, f.id, 'Registers');
    assert.equal(regs.size, 11);
    assert.match(regs.get('r10')!.value, /stack pointer: frame 1 r10\+0/);
    const ctx = await vars(dc, f.id, 'Context');
    assert.equal(ctx.get('data_end')!.value, `packet pointer: data + ${PACKETS[0].frame.length}`);
    const pkt = await vars(dc, f.id, 'Packet');
    assert.equal(pkt.get('length')!.value, String(PACKETS[0].frame.length));
    assert.equal(pkt.get('verdict of this packet')!.value.split(' ')[0], plainRuns()[0].action);
    // What-if: r9 set from the Variables view reads back, and the change is visible to expressions.
    const regsRef = (await dc.scopesRequest({ frameId: f.id })).body.scopes.find((x) => x.name === 'Registers')!.variablesReference;
    const set = await dc.setVariableRequest({ variablesReference: regsRef, name: 'r9', value: '0x1234' });
    assert.match(set.body.value, /^4660 \(0x1234\)/);
    assert.match((await dc.evaluateRequest({ expression: 'r9', context: 'watch', frameId: f.id })).body.result, /^4660/);
    await stopped(dc, () => dc.stepInRequest({ threadId: 1 }));
    const frames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.deepEqual(frames.map((x) => x.name), ['sum_bytes', 'entry']);
    assert.ok(frames[0].line >= 30 && frames[0].line <= 41);
    await stopped(dc, () => dc.stepOutRequest({ threadId: 1 }));
    f = await top(dc);
    assert.equal(f.name, 'entry');
    const r0 = (await dc.evaluateRequest({ expression: 'r0', context: 'watch', frameId: f.id })).body.result;
    const sum = PACKETS[0].frame.subarray(0, 8).reduce((a, b) => a + b, 0);
    assert.match(r0, new RegExp(`^${sum}\\b`));
    const bytes = (await dc.evaluateRequest({ expression: '*(__be16 *)(data + 12)', context: 'hover', frameId: f.id })).body.result;
    assert.equal(bytes, '8', 'bytes 08 00 read little-endian');
  } finally {
    await dc.stop();
  }
});

test('step back comes back to the same state; reverse continue returns to the previous hit', async () => {
  const dc = await client();
  try {
    await dc.hitBreakpoint(launchArgs(), { path: FIXTURE, line: 38 });
    const f0 = await top(dc);
    const regs0 = await vars(dc, f0.id, 'Registers');
    const stack0 = await vars(dc, f0.id, 'Stack');
    await stopped(dc, () => dc.nextRequest({ threadId: 1 }));
    await stopped(dc, () => dc.nextRequest({ threadId: 1 }));
    await stopped(dc, () => dc.stepBackRequest({ threadId: 1 }));
    await stopped(dc, () => dc.stepBackRequest({ threadId: 1 }));
    const f1 = await top(dc);
    assert.equal(f1.line, f0.line);
    assert.equal(f1.instructionPointerReference, f0.instructionPointerReference);
    assert.deepEqual([...(await vars(dc, f1.id, 'Registers'))].map(([k, v]) => [k, v.value]), [...regs0].map(([k, v]) => [k, v.value]));
    assert.deepEqual([...(await vars(dc, f1.id, 'Stack'))].map(([k, v]) => [k, v.value]), [...stack0].map(([k, v]) => [k, v.value]));
    // Continue twice (two loop iterations), then back to the first of them.
    await stopped(dc, () => dc.continueRequest({ threadId: 1 }));
    const second = await vars(dc, (await top(dc)).id, 'Registers');
    await stopped(dc, () => dc.continueRequest({ threadId: 1 }));
    const ev = await stopped(dc, () => dc.customRequest('reverseContinue', { threadId: 1 }));
    assert.equal(ev.body.reason, 'breakpoint');
    const back = await vars(dc, (await top(dc)).id, 'Registers');
    assert.deepEqual([...back].map(([k, v]) => [k, v.value]), [...second].map(([k, v]) => [k, v.value]));
  } finally {
    await dc.stop();
  }
});

test('continue crosses packets: printk in the console, a tail-called program, a fault stops with its message', async () => {
  const runs = plainRuns();
  const dc = await client();
  try {
    const output: string[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => output.push(e.body.output));
    await dc.hitBreakpoint(launchArgs(), { path: FIXTURE, line: 46 });
    const f = await top(dc);
    assert.equal(f.name, 'tail');
    const ev = await stopped(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'exception');
    assert.equal(ev.body.text, runs[2].fault!.message);
    assert.equal((await top(dc)).line, 74);
    const term = dc.waitForEvent('terminated');
    await dc.setExceptionBreakpointsRequest({ filters: [] });
    await dc.continueRequest({ threadId: 1 });
    await term;
    const printed = output.filter((o) => o.startsWith('[packet')).map((o) => o.trim());
    const expected = runs.flatMap((r, i) => r.run.printk.map((l) => `[packet ${i}] ${l}`));
    assert.deepEqual(printed, expected);
  } finally {
    await dc.stop();
  }
});

test('stopOnEntry with packet "first XDP_DROP"; disassembly and an instruction breakpoint', async () => {
  const dc = await client();
  try {
    const ev = dc.waitForEvent('stopped');
    await Promise.all([dc.configurationSequence(), dc.launch(launchArgs({ stopOnEntry: true, packet: 'first XDP_DROP' }))]);
    assert.equal(((await ev) as DebugProtocol.StoppedEvent).body.reason, 'entry');
    const threads = (await dc.threadsRequest()).body.threads;
    assert.equal(threads[0].name, 'packet 1');
    const dis = (await dc.customRequest('disassemble', { memoryReference: 'entry:0', instructionCount: 4 })).body.instructions as DebugProtocol.DisassembledInstruction[];
    assert.equal(dis.length, 4);
    assert.equal(dis[0].address, 'entry:0');
    assert.equal(dis[0].line, 51);
    await dc.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: 'entry:24' }] });
    await stopped(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal((await top(dc)).instructionPointerReference, 'entry:24');
  } finally {
    await dc.stop();
  }
});

test('a launch with a missing capture fails with a message naming it', async () => {
  const dc = await client();
  try {
    await dc.initializeRequest();
    await assert.rejects(dc.launch(launchArgs({ capture: join(dir, 'nope.pcap') })), /nope\.pcap/);
  } finally {
    await dc.stop();
  }
});

test('xdp-lens debug-adapter speaks DAP on stdin/stdout', async () => {
  const dc = new DebugClient(process.execPath, join(REPO, 'test/debug/cli-debug-adapter.ts'), 'xdp', { env: { ...process.env, NODE_OPTIONS: '--import tsx' }, cwd: REPO }, true);
  dc.defaultTimeout = 120_000; // a safety net on a shared machine, not a measurement
  await dc.start();
  try {
    await dc.hitBreakpoint(launchArgs(), { path: FIXTURE, line: 65 });
    assert.equal((await top(dc)).line, 65);
  } finally {
    await dc.stop();
  }
});
