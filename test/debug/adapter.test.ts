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
import { Session, loadProgramFile } from '../../simulator/session.ts';
import { Driver } from '../../simulator/driver/rx.ts';
import { REPO } from '../repo.ts';
import { FIXTURE, PACKETS, engineOptions } from './fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-dap-'));
const capture = join(dir, 'cap.pcap');
const mapsFile = join(dir, 'maps.json');
const ipCapture = join(dir, 'ip.pcap');
/** A __u32 as the Maps scope shows it: decimal (decoded through BTF) or the raw little-endian hex. */
const u32Of = (text: string) => (/^\d+$/.test(text) ? Number(text) : Buffer.from(text, 'hex').readUInt32LE(0));
/** IPv4 from 10.9.8.7 (saddr 0x0708090a read little-endian) to 172.16.5.4, TTL 64. */
function ipFrame(): Uint8Array {
  const f = new Uint8Array(64);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0, 0, 50, 0, 1, 0, 0, 64, 17, 0, 0, 10, 9, 8, 7, 172, 16, 5, 4]);
  return f;
}
let server: Server;
let port = 0;

before(async () => {
  const w = new PcapWriter(capture);
  for (const p of PACKETS) w.write(1_000_000_000n + p.tsNs, p.frame);
  w.close();
  const ip = new PcapWriter(ipCapture);
  ip.write(1_000_000_000n, ipFrame());
  ip.close();
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

test('setVariable on C locals: a register local, a stack local, a packet field through a pointer; later steps see them', async () => {
  const dc = await client();
  try {
    const output: string[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => output.push(e.body.output));
    const localsRef = async () => (await dc.scopesRequest({ frameId: (await top(dc)).id })).body.scopes.find((x) => x.name === 'Locals')!.variablesReference;
    // key lives in its stack slot (DWARF: r10 + offset) when the lookup of line 62 starts: key 2 instead of 0.
    await dc.hitBreakpoint(launchArgs(), { path: FIXTURE, line: 62 });
    let set = await dc.setVariableRequest({ variablesReference: await localsRef(), name: 'key', value: '2' });
    assert.equal(set.body.value, '2');
    while ((await top(dc)).line !== 65) await stopped(dc, () => dc.nextRequest({ threadId: 1 }));
    const counts = (await dc.variablesRequest({ variablesReference: (await vars(dc, (await top(dc)).id, 'Maps')).get('counts')!.variablesReference })).body.variables;
    const counted = counts.filter((v) => !/^(0|0+)$/.test(v.value));
    assert.equal(counted.length, 1, JSON.stringify(counts));
    assert.match(counted[0].name, /^\[(2|02000000)\]$/, 'the lookup took key 2');
    // s is in r0 after sum_bytes returns (line 66): bpf_printk prints the value set.
    await dc.setBreakpointsRequest({ source: { path: FIXTURE }, breakpoints: [{ line: 66 }] });
    await stopped(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal((await top(dc)).line, 66);
    set = await dc.setVariableRequest({ variablesReference: await localsRef(), name: 's', value: '1000 + 234' });
    assert.match(set.body.value, /^1234\b/);
    await stopped(dc, () => dc.nextRequest({ threadId: 1 }));
    assert.ok(output.includes('[packet 0] sum 1234\n'), output.join(''));
    // A refusal names the reason.
    await assert.rejects(dc.setVariableRequest({ variablesReference: await localsRef(), name: 'data', value: '1' }), /data cannot be changed here: optimized out/);
    // eth->h_proto (packet bytes 12-13, read little-endian) set to 88 b5: the packet now takes the tail-call branch.
    const eth = (await vars(dc, (await top(dc)).id, 'Locals')).get('eth')!;
    set = await dc.setVariableRequest({ variablesReference: eth.variablesReference, name: 'h_proto', value: '0xb588' });
    assert.match(set.body.value, /^46472\b/);
    assert.match((await vars(dc, (await top(dc)).id, 'Packet')).get('verdict of this packet')!.value, /^XDP_DROP/, 'the tail-called program drops');
    for (let i = 0; i < 4 && (await top(dc)).name !== 'tail'; i++) await stopped(dc, () => dc.nextRequest({ threadId: 1 }));
    assert.equal((await top(dc)).name, 'tail', 'steps go on into the tail-called program');
  } finally {
    await dc.stop();
  }
});

test('setVariable in a caller frame: a local in r6 changes what the caller does after the calls', async () => {
  const dc = await client();
  const callers = join(REPO, 'test/debug/fixtures/callers.c');
  try {
    await dc.hitBreakpoint({ program: callers, capture: ipCapture }, { path: callers, line: 21 });
    let frames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.deepEqual(frames.map((f) => f.name), ['mix', 'callers']);
    // First call: saddr is in r6 of the caller.
    const ref = async () => (await dc.scopesRequest({ frameId: 2 })).body.scopes.find((x) => x.name === 'Locals')!.variablesReference;
    const set = await dc.setVariableRequest({ variablesReference: await ref(), name: 'saddr', value: '0x01020304' });
    assert.match(set.body.value, /^16909060\b/);
    // Second call: h was passed in r0/r1, which the call overwrote: shown and refused as not available.
    await stopped(dc, () => dc.continueRequest({ threadId: 1 }));
    const h = (await dc.variablesRequest({ variablesReference: await ref() })).body.variables.find((v) => v.name === 'h')!;
    assert.match(h.value, /^<not available: in r0, which the call to mix overwrote/);
    await assert.rejects(dc.setVariableRequest({ variablesReference: await ref(), name: 'h', value: '1' }), /h cannot be changed here: not available: in r0/);
    // The map is keyed by saddr after both calls: the key the program writes is the new one.
    await dc.setBreakpointsRequest({ source: { path: callers }, breakpoints: [{ line: 43 }] });
    await stopped(dc, () => dc.continueRequest({ threadId: 1 }));
    frames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.equal(frames[0].line, 43);
    const hashes = (await dc.variablesRequest({ variablesReference: (await vars(dc, frames[0].id, 'Maps')).get('hashes')!.variablesReference })).body.variables;
    assert.equal(hashes.length, 1, JSON.stringify(hashes));
    // saddr has two homes: r6 (where DWARF places it at the calls, and what `h2 += slot + saddr` reads) and the stack
    // slot the map key is taken from (&saddr, written before the first call). The key stays; the value h2 moves by
    // exactly new saddr - old saddr.
    assert.equal(u32Of(hashes[0].name.slice(1, -1)), 0x0708090a);
    const unchanged = new Session(loadProgramFile(callers), {});
    unchanged.runPacket(ipFrame());
    const before = Number(Buffer.from((unchanged.mapsJson().hashes as { value: string }[])[0].value, 'hex').readUInt32LE(0));
    assert.equal(u32Of(hashes[0].value), (before - 0x0708090a + 0x01020304) >>> 0, JSON.stringify(hashes[0]));
  } finally {
    await dc.stop();
  }
});

test('data breakpoints: reverse continue goes back to where a stack local was last written, continue to the next write', async () => {
  const dc = await client();
  try {
    await dc.hitBreakpoint(launchArgs(), { path: FIXTURE, line: 66 });
    const f = await top(dc);
    const localsRef = (await dc.scopesRequest({ frameId: f.id })).body.scopes.find((x) => x.name === 'Locals')!.variablesReference;
    const info = await dc.customRequest('dataBreakpointInfo', { variablesReference: localsRef, name: 'key' });
    assert.match(info.body.dataId, /^mem:\d+:\d+:4$/, info.body.description);
    await dc.setBreakpointsRequest({ source: { path: FIXTURE }, breakpoints: [] });
    const set = await dc.customRequest('setDataBreakpoints', { breakpoints: [{ dataId: info.body.dataId }] });
    assert.equal(set.body.breakpoints[0].verified, true);
    // key = 0 is stored on line 56 (*(u32 *)(r10 - 4) = r9): the stop is right after that store, on the next line.
    let ev = await stopped(dc, () => dc.customRequest('reverseContinue', { threadId: 1 }));
    assert.equal(ev.body.reason, 'data breakpoint');
    assert.equal((await top(dc)).line, 60);
    assert.equal((await dc.threadsRequest()).body.threads[0].name, 'packet 0');
    // The same store in the next packet (the value it writes is the same: a write is what stops).
    ev = await stopped(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'data breakpoint');
    assert.equal((await top(dc)).line, 60);
    assert.equal((await dc.threadsRequest()).body.threads[0].name, 'packet 1');
    // A register: r0, written by the call of line 62 (bpf_map_lookup_elem).
    const regs = (await dc.scopesRequest({ frameId: (await top(dc)).id })).body.scopes.find((x) => x.name === 'Registers')!.variablesReference;
    const r0 = await dc.customRequest('dataBreakpointInfo', { variablesReference: regs, name: 'r0' });
    await dc.customRequest('setDataBreakpoints', { breakpoints: [{ dataId: r0.body.dataId }] });
    ev = await stopped(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'data breakpoint');
    assert.equal((await top(dc)).line, 63, 'after the call of line 62 wrote r0');
    // A map entry from the Maps scope: counts[0], incremented through the looked-up pointer on line 64.
    const counts = (await vars(dc, (await top(dc)).id, 'Maps')).get('counts')!;
    const rows = (await dc.variablesRequest({ variablesReference: counts.variablesReference })).body.variables;
    const entry = await dc.customRequest('dataBreakpointInfo', { variablesReference: counts.variablesReference, name: rows[0].name });
    assert.equal(entry.body.dataId, 'map:00000000:counts');
    await dc.customRequest('setDataBreakpoints', { breakpoints: [{ dataId: entry.body.dataId }] });
    ev = await stopped(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'data breakpoint');
    assert.equal((await top(dc)).line, 65, 'after *c += 1');
    assert.equal((await dc.threadsRequest()).body.threads[0].name, 'packet 1');
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

// A FIFO nobody writes to held the adapter for good (the capture is read whole, in its one thread; disconnect was
// never read); "arguments": null was an internal error.
test('a launch on a FIFO capture, or with null arguments, fails with a message and the adapter keeps answering', async () => {
  const { spawnSync } = await import('node:child_process');
  const fifo = join(dir, 'never.pcap');
  spawnSync('mkfifo', [fifo]);
  const dc = await client();
  dc.defaultTimeout = 20_000;
  try {
    await dc.initializeRequest();
    await assert.rejects(dc.launch(launchArgs({ capture: fifo })), /"capture" .*never\.pcap is a FIFO; the debugger reads a capture file/);
    await assert.rejects(dc.send('launch', null), /"program" \(a C file or BPF object\) is required/);
    await assert.rejects(dc.launch(launchArgs({ capture: '/dev/zero' })), /"capture" \/dev\/zero is a character device/);
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
