// The debugger inside the language server (server/debug.ts), driven as the editor's inline adapter drives it: DAP
// messages carried by `xdpLens/dap` notifications both ways. After a run of examples/xdp_filter.c on demo.pcap with
// the blocklist seed, a launch with the same program, capture and seed reuses that run (the console says so), stops on
// a breakpoint in the blocklisted branch (packet 8, reached by continuing across the packets before it), and shows
// exactly what the standalone adapter (simulator/debug/adapter.ts, no server) shows for the same launch: stack, every
// scope and one level below. The map counting IPv4 packets holds what the earlier packets left (the run's own packet
// detail says what it was there). The run's maps (xdpLens/maps) are the same before and after the debug session.
// A launch that differs from the run (another driver mode) is built as the standalone adapter builds it, and at most
// MAX_DEBUG_SESSIONS sessions run at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { REPO } from '../repo.ts';
import { SERVER, startServer, type StdioServer } from './stdio-server.ts';
import { XdpDebugSession } from '../../simulator/debug/adapter.ts';
import { MAX_DEBUG_SESSIONS } from '../../server/debug.ts';
import type { DapParams, MapsResult, PacketDetail, RunResponse } from '../../server/protocol.ts';

const PROGRAM = join(REPO, 'examples', 'xdp_filter.c');
const CAPTURE = join(REPO, 'examples', 'demo.pcap');
const SEED = join(REPO, 'examples', 'blocklist.json');
/** `__sync_fetch_and_add(hits, 1);` in the blocklisted branch. */
const BLOCKED_LINE = 116;
const skip = !existsSync(SERVER) ? 'dist/ is missing: run npm run build' : spawnSync('clang', ['--version']).status !== 0 ? 'clang is not installed' : false;

/** A DAP client over any transport: requests by seq, events kept in order. */
class Dap {
  private seq = 1;
  private readonly pending = new Map<number, (r: DebugProtocol.Response) => void>();
  readonly events: DebugProtocol.Event[] = [];
  private waiters: { name: string; from: number; resolve: (e: DebugProtocol.Event) => void }[] = [];

  constructor(private readonly send: (m: DebugProtocol.ProtocolMessage) => void) {}

  receive(m: DebugProtocol.ProtocolMessage): void {
    if (m.type === 'response') this.pending.get((m as DebugProtocol.Response).request_seq)?.((m as DebugProtocol.Response));
    else if (m.type === 'event') {
      this.events.push(m as DebugProtocol.Event);
      this.waiters = this.waiters.filter((w) => {
        const i = this.events.findIndex((e, k) => k >= w.from && e.event === w.name);
        if (i >= 0) w.resolve(this.events[i]!);
        return i < 0;
      });
    }
  }

  request<R extends DebugProtocol.Response>(command: string, args?: unknown): Promise<R> {
    const seq = this.seq++;
    const p = new Promise<R>((resolve) => this.pending.set(seq, resolve as (r: DebugProtocol.Response) => void));
    this.send({ type: 'request', seq, command, arguments: args } as DebugProtocol.Request);
    return p;
  }

  /** The first event `name` at or after event number `from`. */
  event(name: string, from = 0): Promise<DebugProtocol.Event> {
    const seen = this.events.find((e, k) => k >= from && e.event === name);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => this.waiters.push({ name, from, resolve }));
  }

  console(): string {
    return this.events.filter((e) => e.event === 'output').map((e) => (e.body as { output: string }).output).join('');
  }

  /** initialize, launch, breakpoints, configurationDone; resolves with the launch response. */
  async launch(args: Record<string, unknown>, lines: number[]): Promise<DebugProtocol.Response> {
    const init = await this.request('initialize', { adapterID: 'xdp', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    assert.equal(init.success, true, init.message);
    const initialized = this.event('initialized');
    const launched = this.request('launch', args);
    const first = await Promise.race([initialized, launched]);
    if ('command' in first) return first;
    const bps = await this.request<DebugProtocol.SetBreakpointsResponse>('setBreakpoints', { source: { path: PROGRAM }, breakpoints: lines.map((line) => ({ line })) });
    assert.ok(bps.body.breakpoints.every((b) => b.verified), JSON.stringify(bps.body));
    await this.request('configurationDone');
    return launched;
  }

  /** The stack, every scope and one level below each variable (references left out: they are handles). */
  async view(): Promise<unknown> {
    const st = await this.request<DebugProtocol.StackTraceResponse>('stackTrace', { threadId: 1 });
    const threads = await this.request<DebugProtocol.ThreadsResponse>('threads');
    const frame = st.body.stackFrames[0]!;
    const scopes = await this.request<DebugProtocol.ScopesResponse>('scopes', { frameId: frame.id });
    const vars = async (ref: number) => (await this.request<DebugProtocol.VariablesResponse>('variables', { variablesReference: ref })).body.variables;
    const out: Record<string, unknown> = {
      threads: threads.body.threads.map((t) => t.name),
      stack: st.body.stackFrames.map((f) => `${f.name} ${f.source?.path}:${f.line}`),
    };
    for (const s of scopes.body.scopes) {
      const rows: unknown[] = [];
      for (const v of await vars(s.variablesReference)) {
        rows.push({ name: v.name, value: v.value, type: v.type, children: v.variablesReference ? (await vars(v.variablesReference)).map((c) => `${c.name} = ${c.value}`) : undefined });
      }
      out[s.name] = rows;
    }
    return out;
  }
}

let server: StdioServer;
const sessions = new Map<string, Dap>();
const overLsp = (id: string): Dap => {
  const d = new Dap((message) => void server.conn.sendNotification('xdpLens/dap', { session: id, message } satisfies DapParams));
  sessions.set(id, d);
  return d;
};
const launchArgs = { type: 'xdp', request: 'launch', program: PROGRAM, capture: CAPTURE, maps: SEED };

before(async () => {
  if (skip) return;
  server = await startServer(() => ({}), { 'xdpLens/dap': (p: DapParams) => sessions.get(p.session)?.receive(p.message as DebugProtocol.ProtocolMessage) });
});
after(async () => {
  if (!skip) await server.stop();
});

test('a debug session over LSP reuses the held run: same variables as the standalone adapter, earlier packets\' map state, the run\'s maps untouched', { skip }, async () => {
  const run = await server.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(PROGRAM).href, capture: CAPTURE, maps: SEED });
  assert.equal(run.error, undefined);
  const runId = run.summary!.runId;
  const mapsBefore = await server.conn.sendRequest<MapsResult>('xdpLens/maps', { runId });
  assert.equal(mapsBefore.error, undefined);

  // Through the server.
  const d = overLsp('s1');
  const stopped = d.event('stopped');
  const launched = await d.launch(launchArgs, [BLOCKED_LINE]);
  assert.equal(launched.success, true, launched.message);
  const stop = (await stopped).body as DebugProtocol.StoppedEvent['body'];
  assert.equal(stop.reason, 'breakpoint');
  assert.match(d.console(), new RegExp(`reusing run ${runId}\\b`));
  const viaServer = await d.view() as Record<string, unknown>;
  assert.deepEqual(viaServer.threads, ['packet 8']);
  // C locals through the object's DWARF (the run's object), registers, maps: what the comparison below covers.
  const locals = viaServer.Locals as { name: string; value: string }[];
  assert.ok(locals.some((v) => v.name === 'ip') && locals.some((v) => v.name === 'hits'), JSON.stringify(locals));
  assert.equal((viaServer.Registers as unknown[]).length, 11);

  // The standalone adapter, same launch.
  const alone = new XdpDebugSession();
  const s = new Dap((m) => alone.handleMessage(m));
  alone.onDidSendMessage((m) => s.receive(m as DebugProtocol.ProtocolMessage));
  const stoppedAlone = s.event('stopped');
  assert.equal((await s.launch(launchArgs, [BLOCKED_LINE])).success, true);
  await stoppedAlone;
  assert.doesNotMatch(s.console(), /reusing run/);
  assert.deepEqual(viaServer, await s.view());
  await s.request('disconnect');
  alone.dispose();

  // The IPv4 counter holds what packets 0-7 left plus packet 8's own count (count() runs before the blocklist
  // lookup): the value the run's detail of packet 8 shows after it.
  const detail = await server.conn.sendRequest<PacketDetail>('xdpLens/packet', { runId, index: 8 });
  assert.equal(detail.error, undefined);
  const counted = detail.maps.find((u) => u.map === 'proto_count')!;
  assert.ok(counted && Number(counted.beforeText) > 0, JSON.stringify(detail.maps));
  const maps = (viaServer.Maps as { name: string; children?: string[] }[]).find((m) => m.name === 'proto_count')!;
  assert.ok(maps.children!.includes(`[${counted.keyText}] = ${counted.afterText}`), JSON.stringify(maps.children));
  const blocked = (viaServer.Maps as { name: string; children?: string[] }[]).find((m) => m.name === 'blocklist')!;
  const hit = detail.maps.find((u) => u.map === 'blocklist')!;
  assert.ok(blocked.children!.includes(`[${hit.keyText}] = ${hit.beforeText}`), JSON.stringify(blocked.children));

  // Step, step back, continue to the end (the debugger's sessions run; the run's do not).
  const mark = d.events.length;
  await d.request('next', { threadId: 1 });
  await d.event('stopped', mark);
  const back = d.events.length;
  await d.request('stepBack', { threadId: 1 });
  await d.event('stopped', back);
  const end = d.events.length;
  await d.request('continue', { threadId: 1 });
  await d.event('terminated', end);
  assert.match(d.console(), /end of the capture: .*XDP_DROP 3/);
  assert.equal((await d.request('disconnect')).success, true);

  const mapsAfter = await server.conn.sendRequest<MapsResult>('xdpLens/maps', { runId });
  assert.deepEqual(mapsAfter, mapsBefore);

  // A launch that differs from the run (driver mode) builds its own session, as the standalone adapter does.
  const g = overLsp('s2');
  const gs = g.event('stopped');
  assert.equal((await g.launch({ ...launchArgs, driver: 'generic' }, [BLOCKED_LINE])).success, true);
  await gs;
  assert.doesNotMatch(g.console(), /reusing run/);
  assert.deepEqual(((await g.view()) as Record<string, unknown>).threads, ['packet 8']);
  await g.request('disconnect');
});

test(`at most ${MAX_DEBUG_SESSIONS} debug sessions at once; an ended one frees its place`, { skip }, async () => {
  const ids = Array.from({ length: MAX_DEBUG_SESSIONS }, (_, i) => `limit${i}`);
  for (const id of ids) {
    const r = await overLsp(id).request('initialize', { adapterID: 'xdp', pathFormat: 'path' });
    assert.equal(r.success, true, r.message);
  }
  const refused = await overLsp('over').request('initialize', { adapterID: 'xdp', pathFormat: 'path' });
  assert.equal(refused.success, false);
  assert.match(refused.message ?? '', /already running/);
  await server.conn.sendNotification('xdpLens/dapEnd', { session: ids[0] });
  assert.equal((await overLsp('over2').request('initialize', { adapterID: 'xdp', pathFormat: 'path' })).success, true);
  for (const id of [...ids.slice(1), 'over2']) await sessions.get(id)!.request('disconnect');
});
