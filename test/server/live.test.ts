// xdpLens/runLive, driven over stdio against the real server, with a fake tcpdump (a script that writes the demo
// capture to stdout a piece at a time, records the arguments it was given and the signal it got, then exits or waits):
// the same verdicts as a run on the file, the recorded capture byte for byte, progress and summaries while it runs,
// hovers answered meanwhile, the stop button (tcpdump gets SIGTERM and is gone), the limits, and tcpdump's failures in
// words. A last test captures on `lo` with the real tcpdump when it is installed and we are root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CancellationTokenSource,
  DidOpenTextDocumentNotification,
  DidChangeConfigurationNotification,
  HoverRequest,
  WorkDoneProgress,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { REPO } from '../repo.ts';
import { SERVER, startServer, type StdioServer } from './stdio-server.ts';
import { fakeTcpdump, logOf } from './fake-tcpdump.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import type { RunResponse, RunSummary, PacketDetail, RunLiveParams } from '../../server/protocol.ts';

const PROGRAM = join(REPO, 'examples', 'xdp_filter.c');
const CAPTURE = join(REPO, 'examples', 'demo.pcap');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !existsSync(SERVER) ? 'dist/ is missing: run npm run build' : !haveClang ? 'clang is not installed' : false;
const uri = pathToFileURL(PROGRAM).href;

let server: StdioServer;
let conn: ProtocolConnection;
let dir: string;
/** What the server gets for workspace/configuration: changed by each test. */
let settings: Record<string, unknown> = {};
const updates: RunSummary[] = [];
/** Callbacks for each runUpdate (one connection handler per method: they cannot register their own). */
const waiting = new Set<(s: RunSummary) => void>();

before(async () => {
  if (skip) return;
  server = await startServer(() => settings, {
    'xdpLens/runUpdate': (p: { summary: RunSummary }) => {
      updates.push(p.summary);
      for (const w of [...waiting]) w(p.summary);
    },
  });
  ({ conn, dir } = server);
});

after(async () => {
  if (!skip) await server.stop();
});

/** New settings for the server: it re-reads them after didChangeConfiguration, as with VS Code. */
async function configure(next: Record<string, unknown>): Promise<void> {
  settings = next;
  await conn.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const live = (params: Omit<RunLiveParams, 'uri'>, token?: CancellationTokenSource) =>
  conn.sendRequest<RunResponse>('xdpLens/runLive', { uri, ...params }, ...(token ? [token.token] : []));
/** Resolves once a runUpdate of a live run satisfies `ok` (checked on every update; no timer of its own). */
const updateWhere = (ok: (s: RunSummary) => boolean) =>
  new Promise<RunSummary>((resolve) => {
    const found = updates.find(ok);
    if (found) return resolve(found);
    const w = (u: RunSummary) => {
      if (!ok(u)) return;
      waiting.delete(w);
      resolve(u);
    };
    waiting.add(w);
  });

test('a live run gives the verdicts of a run on the same capture, records it byte for byte, and reports as it goes', { skip, timeout: 120_000 }, async () => {
  const fake = fakeTcpdump(dir, 'tcpdump-exit', 'exit', { delayMs: 60 });
  await configure({ tcpdump: { path: fake.path } });
  updates.length = 0;
  const token = 'live-progress-1';
  const reports: string[] = [];
  const progress = conn.onProgress(WorkDoneProgress.type, token, (p) => {
    if (p.kind === 'report' && p.message) reports.push(p.message);
  });
  const r = await live({ interface: 'eth0', filter: 'udp or icmp', captureDir: dir, workDoneToken: token });
  progress.dispose();
  assert.equal(r.error, undefined);
  const s = r.summary!;
  const file = (await conn.sendRequest<RunResponse>('xdpLens/run', { uri, capture: CAPTURE })).summary!;
  assert.equal(s.packets, 10);
  assert.deepEqual(s.byAction, file.byAction);
  assert.deepEqual(s.byOutcome, file.byOutcome);
  assert.deepEqual(s.exits, file.exits);
  assert.equal(s.live?.interface, 'eth0');
  assert.equal(s.live?.stopped, 'tcpdump ended');
  assert.equal(s.live?.running, undefined);
  assert.equal(s.cancelled, undefined);
  // The recorded capture is what tcpdump wrote, and it is the run's capture.
  assert.ok(readFileSync(s.capture).equals(readFileSync(CAPTURE)), `${s.capture} holds the stream byte for byte`);
  // tcpdump was asked for a packet-buffered pcap stream of the interface, the filter kept whole after --.
  const argv = logOf(fake.log)[0]!.argv!;
  assert.deepEqual(argv, ['-i', 'eth0', '-U', '--immediate-mode', '-w', '-', '--', 'udp or icmp']);
  // While it ran: summaries whose counts only grew, each a run that pages, and counts per action in the progress line.
  assert.ok(updates.length >= 3, `${updates.length} updates while 10 packets arrived over about 1.2 s`);
  assert.ok(updates.every((u) => u.runId === s.runId && u.live?.running === true));
  const counts = updates.map((u) => u.packets);
  assert.deepEqual([...counts].sort((a, b) => a - b), counts);
  assert.ok(counts.some((n) => n > 0 && n < 10), `a partial count among ${counts}`);
  assert.ok(reports.some((m) => /^\d+ packets?: .*(PASS|DROP|TX)/.test(m)), reports.join(' | '));
  // A packet's detail re-runs from the recorded capture: the same as on the file.
  const d1 = await conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: s.runId, index: 4 });
  const d2 = await conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: file.runId, index: 4 });
  assert.equal(d1.error, undefined);
  assert.deepEqual({ ...d1, summary: d1.summary }, { ...d2 });
});

test('the server answers hovers while a live run goes on; the stop button stops tcpdump with SIGTERM and keeps the packets', { skip, timeout: 120_000 }, async () => {
  const fake = fakeTcpdump(dir, 'tcpdump-wait', 'wait', { delayMs: 20 });
  await configure({ tcpdump: { path: fake.path } });
  updates.length = 0;
  const text = readFileSync(PROGRAM, 'utf8');
  await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'c', version: 1, text } });
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.includes('XDP_DROP'));
  const cancel = new CancellationTokenSource();
  let settled = false;
  const running = live({ interface: 'lo', captureDir: dir }, cancel).finally(() => (settled = true));
  await updateWhere((u) => u.packets >= 1);
  // Twenty hovers, one after the other, each answered while the run is still going.
  for (let i = 0; i < 20; i++) {
    const h = await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character: lines[line]!.indexOf('XDP_DROP') + 1 } });
    assert.ok(h && JSON.stringify(h.contents).includes('XDP_DROP'), `hover ${i} answered`);
    assert.equal(settled, false, `hover ${i} was answered during the run`);
  }
  // All ten packets arrive; tcpdump then waits for more, as a real one does.
  await updateWhere((u) => u.packets === 10);
  const pid = logOf(fake.log)[0]!.pid!;
  assert.ok(alive(pid));
  cancel.cancel();
  const r = await running;
  const s = r.summary!;
  assert.equal(s.packets, 10);
  assert.equal(s.cancelled, true);
  assert.equal(s.live?.stopped, 'stopped by the user');
  assert.ok(logOf(fake.log).some((e) => e.signal === 'SIGTERM'), 'tcpdump was sent SIGTERM');
  assert.equal(alive(pid), false, 'tcpdump is gone once the run answers');
  // The stopped run pages.
  const page = await conn.sendRequest<{ total: number }>('xdpLens/packets', { runId: s.runId, offset: 0, limit: 100 });
  assert.equal(page.total, 10);
});

test('a live run stops at the packet limit and at the size limit of the recorded capture, saying which', { skip, timeout: 120_000 }, async () => {
  const fake = fakeTcpdump(dir, 'tcpdump-limit', 'wait', { delayMs: 1 });
  await configure({ tcpdump: { path: fake.path } });
  const r = await live({ interface: 'lo', captureDir: dir, limit: 3 });
  assert.equal(r.summary?.packets, 3);
  assert.equal(r.summary?.live?.stopped, 'stopped at the limit of 3 packets');
  assert.equal(openCapture(r.summary!.capture).next()?.index, 0, 'the recorded capture reads');
  const pid = logOf(fake.log)[0]!.pid!;
  assert.equal(alive(pid), false, 'tcpdump is stopped at the limit');

  // A capture of 400 packets of 1000 bytes against a limit of 0.1 MB (104857 bytes).
  const big = join(dir, 'big.pcap');
  const w = new PcapWriter(big);
  for (let i = 0; i < 400; i++) w.write(BigInt(i) * 1000n, new Uint8Array(1000).fill(i & 0xff));
  w.close();
  const fake2 = fakeTcpdump(dir, 'tcpdump-size', 'wait', { capture: big, delayMs: 0 });
  await configure({ tcpdump: { path: fake2.path }, live: { maxCaptureMB: 0.1 } });
  const r2 = await live({ interface: 'lo', captureDir: dir });
  assert.equal(r2.summary?.live?.stopped, 'stopped: the recorded capture reached its limit of 0.1 MB (xdpLens.live.maxCaptureMB)');
  const size = readFileSync(r2.summary!.capture).length;
  assert.ok(size >= 0.1 * 1024 * 1024 && size < 0.1 * 1024 * 1024 + 1016 + 1, `recorded ${size} bytes`);
  assert.equal(r2.summary!.packets, Math.ceil((0.1 * 1024 * 1024 - 24) / 1016));
});

test("tcpdump's failures are errors in words a user knows: missing, no permission, no such interface, a bad filter", { skip, timeout: 120_000 }, async () => {
  const cases: [string, string, RegExp][] = [
    ['perm', "tcpdump: lo: You don't have permission to capture on that device\n(socket: Operation not permitted)\n", /^tcpdump is not allowed to capture on lo: capturing needs root, or .*CAP_NET_RAW.*\(tcpdump: lo: You don't have permission/],
    ['nodev', 'tcpdump: eth9: No such device exists\n(SIOCGIFHWADDR: No such device)\n', /^there is no network interface 'lo' on this machine/],
    ['filter', 'tcpdump: syntax error in filter expression: syntax error\n', /^the capture filter 'port nonsense' is not valid for tcpdump \(tcpdump: syntax error/],
    ['other', 'tcpdump: something odd\n', /^tcpdump stopped with status 1: tcpdump: something odd/],
  ];
  for (const [name, stderr, want] of cases) {
    await configure({ tcpdump: { path: fakeTcpdump(dir, `tcpdump-${name}`, 'fail', { stderr }).path } });
    const r = await live({ interface: 'lo', captureDir: dir, filter: 'port nonsense' });
    assert.equal(r.summary, undefined, name);
    assert.match(r.error ?? '', want, name);
  }
  await configure({ tcpdump: { path: join(dir, 'no-such-tcpdump') } });
  assert.match((await live({ interface: 'lo' })).error ?? '', /^tcpdump was not found at .*no-such-tcpdump \(xdpLens.tcpdump.path\).*apt-get install tcpdump/);
  await configure({ tcpdump: { path: 'xdp-lens-no-such-tcpdump' } });
  assert.match((await live({ interface: 'lo' })).error ?? '', /^xdp-lens-no-such-tcpdump was not found on PATH/);
  assert.match((await live({ interface: '-w/etc/passwd' })).error ?? '', /is not a network interface name/);
  await assert.rejects(conn.sendRequest('xdpLens/runLive', { uri, interface: 7 }), /params\.interface must be a string/);
});

const root = process.getuid?.() === 0;
const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
test('the real tcpdump on lo: packets sent to 127.0.0.1 are run as they arrive', { skip: skip || (!haveTcpdump ? 'tcpdump is not installed' : !root ? 'capturing on lo needs root' : !existsSync('/sys/class/net/lo') ? 'no lo interface' : false), timeout: 120_000 }, async () => {
  await configure({});
  updates.length = 0;
  const port = 40000 + (process.pid % 20000);
  const cancel = new CancellationTokenSource();
  const running = live({ interface: 'lo', filter: `udp dst port ${port}`, captureDir: dir }, cancel);
  const sock = createSocket('udp4');
  // Until tcpdump listens, datagrams are not seen: send one every 100 ms (at most 300) until the run has counted 5.
  let sent = 0;
  const timer = setInterval(() => {
    if (sent++ < 300) sock.send(Buffer.from(`xdp-lens live test ${sent}`), port, '127.0.0.1');
  }, 100);
  const seen = await Promise.race([updateWhere((u) => u.packets >= 5), running.then((r) => assert.fail(`the run ended first: ${r.error ?? r.summary?.live?.stopped}`))]);
  clearInterval(timer);
  sock.close();
  cancel.cancel();
  const r = await running;
  assert.ok(seen.packets >= 5);
  const s = r.summary!;
  assert.equal(s.live?.stopped, 'stopped by the user');
  assert.ok(s.packets >= 5 && s.packets <= sent, `${s.packets} packets of ${sent} sent`);
  // xdp_filter passes UDP that is not to its blocked port: every datagram is XDP_PASS, and it is recorded.
  assert.equal(s.byAction.XDP_PASS, s.packets);
  const p = openCapture(s.capture).next()!;
  assert.equal(p.frame[23], 17, 'the recorded packet is UDP');
  assert.equal(spawnSync('pgrep', ['-f', `udp dst port ${port}`]).status, 1, 'no tcpdump left running');
});

// As root, so that each failure is the one named (unprivileged, tcpdump refuses before it looks at the interface).
test("the real tcpdump's own failures are told in words: no such interface, a bad filter, no permission (as nobody)", { skip: skip || (!haveTcpdump ? 'tcpdump is not installed' : !root ? 'needs root (the errors of a privileged tcpdump)' : false), timeout: 120_000 }, async () => {
  await configure({});
  const nodev = await live({ interface: 'xdplens0', captureDir: dir });
  assert.match(nodev.error ?? '', /^there is no network interface 'xdplens0' on this machine \(see \/sys\/class\/net\) \(tcpdump: xdplens0: No such device/);
  const filter = await live({ interface: 'lo', filter: 'port nonsense', captureDir: dir });
  assert.match(filter.error ?? '', /^the capture filter 'port nonsense' is not valid for tcpdump \(tcpdump: unknown port 'nonsense'\)/);
  // Without privileges: tcpdump run as nobody with no capabilities, through a wrapper named as xdpLens.tcpdump.path.
  if (spawnSync('setpriv', ['--version']).status === 0) {
    const wrapper = join(dir, 'tcpdump-as-nobody');
    writeFileSync(wrapper, '#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all tcpdump "$@"\n');
    chmodSync(wrapper, 0o755);
    await configure({ tcpdump: { path: wrapper } });
    const perm = await live({ interface: 'lo', captureDir: dir });
    assert.match(perm.error ?? '', /^tcpdump is not allowed to capture on lo: capturing needs root, or tcpdump given the capabilities CAP_NET_RAW and CAP_NET_ADMIN .*\(tcpdump: lo: You don't have permission/);
  }
});

test('tcpdump goes when the server goes: a server killed mid-run leaves no tcpdump behind', { skip: skip || (spawnSync('setpriv', ['--version']).status !== 0 ? 'setpriv (util-linux) is not installed: tcpdump gets no parent-death signal' : false), timeout: 120_000 }, async () => {
  const fake = fakeTcpdump(dir, 'tcpdump-orphan', 'wait', { delayMs: 20 });
  let first: (() => void) | undefined;
  const started = new Promise<void>((r) => (first = r));
  const other = await startServer(() => ({ tcpdump: { path: fake.path } }), { 'xdpLens/runUpdate': (p: { summary: RunSummary }) => void (p.summary.packets === 10 && first?.()) });
  other.conn.sendRequest('xdpLens/runLive', { uri, interface: 'lo', captureDir: other.dir }).catch(() => {});
  // All written: from here on only a signal ends the fake (not a write into a closed pipe).
  await started;
  const pid = logOf(fake.log)[0]!.pid!;
  assert.ok(alive(pid));
  other.child.kill('SIGKILL');
  // The kernel sends the parent-death signal as the server exits: wait for the fake to have gone (at most 10 s).
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(alive(pid), false, 'tcpdump is gone with the server');
  assert.ok(logOf(fake.log).some((e) => e.signal === 'SIGTERM'), 'it got SIGTERM');
  other.conn.dispose();
  rmSync(other.dir, { recursive: true, force: true });
});

test('a stream from tcpdump that breaks part-way: the packets before it run, the error names the record and offset', { skip, timeout: 120_000 }, async () => {
  const bytes = readFileSync(CAPTURE);
  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 7));
  const fake = fakeTcpdump(dir, 'tcpdump-cut', 'exit', { capture: cut, delayMs: 1 });
  await configure({ tcpdump: { path: fake.path } });
  const s = (await live({ interface: 'lo', captureDir: dir })).summary!;
  assert.equal(s.packets, 9);
  assert.match(s.captureError ?? '', /^tcpdump -i lo: record 9, byte offset \d+: truncated packet data/);
  assert.equal(s.live?.stopped, 'stopped: what tcpdump wrote is not a valid capture (see the capture error)');
  // The recorded capture holds the nine whole records, and reads cleanly.
  const r = openCapture(s.capture);
  let n = 0;
  while (r.next()) n++;
  assert.equal(n, 9);
});
