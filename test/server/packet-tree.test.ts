// The packet detail over stdio carries the frame's layer tree before and after the program: the echo request that
// xdp_filter.c answers with XDP_TX reads as a request before and a reply after, addresses swapped, and the tree on the
// wire is the one the dissector gives for the same bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  InitializeRequest,
  InitializedNotification,
  ShutdownRequest,
  ExitNotification,
  ConfigurationRequest,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { REPO } from '../repo.ts';
import { dissectTree } from '../../simulator/net/dissect-tree.ts';
import type { RunResponse, PacketDetail, PacketField, PacketLayer } from '../../server/protocol.ts';

const SERVER = join(REPO, 'dist', 'server.js');
const PROGRAM = join(REPO, 'examples', 'xdp_filter.c');
const CAPTURE = join(REPO, 'examples', 'demo.pcap');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !existsSync(SERVER) ? 'dist/server.js is missing: run npm run build' : !haveClang ? 'clang is not installed' : false;

let child: ChildProcess;
let conn: ProtocolConnection;
let dir: string;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'xdp-lens-tree-'));
  child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  conn.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => ({})));
  for (const n of ['window/showMessage', 'window/logMessage', 'xdpLens/status', 'textDocument/publishDiagnostics']) conn.onNotification(n, () => {});
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: pathToFileURL(dir).href, capabilities: { workspace: { configuration: true } } });
  await conn.sendNotification(InitializedNotification.type, {});
});

after(async () => {
  if (skip) return;
  await conn.sendRequest(ShutdownRequest.type);
  await conn.sendNotification(ExitNotification.type);
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
});

function field(layers: PacketLayer[], key: string): PacketField | undefined {
  const find = (fs: PacketField[]): PacketField | undefined => {
    for (const f of fs) {
      if (f.key === key) return f;
      const c = f.children && find(f.children);
      if (c) return c;
    }
    return undefined;
  };
  for (const l of layers) {
    const f = find(l.fields);
    if (f) return f;
  }
  return undefined;
}

test('the packet detail has the layer tree before and after the program', { skip }, async () => {
  const r = await conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(PROGRAM).href, capture: CAPTURE });
  assert.ok(r.summary, r.error);
  const d = await conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: r.summary.runId, index: 1 });
  assert.equal(d.action, 'XDP_TX');
  assert.ok(d.layers, 'layers in the response');
  const { before: b, after: a } = d.layers;
  assert.deepEqual(b.map((l) => l.key), ['eth', 'ip', 'icmp', 'data']);
  assert.deepEqual(a.map((l) => l.key), ['eth', 'ip', 'icmp', 'data']);
  assert.equal(field(b, 'icmp.type')!.value, 'Echo (ping) request (8)');
  assert.equal(field(a, 'icmp.type')!.value, 'Echo (ping) reply (0)');
  assert.equal(field(a, 'ip.src')!.value, field(b, 'ip.dst')!.value);
  assert.equal(field(a, 'eth.dst')!.value, field(b, 'eth.src')!.value);
  // Offsets point at the bytes the hex carries: the ICMP type byte is 8 before and 0 after.
  const t = field(b, 'icmp.type')!;
  assert.equal(Buffer.from(d.before, 'hex')[t.offset], 8);
  assert.equal(Buffer.from(d.after, 'hex')[t.offset], 0);
  // The same tree the dissector gives for those bytes (the wire adds or drops nothing).
  assert.deepEqual(b, JSON.parse(JSON.stringify(dissectTree(Buffer.from(d.before, 'hex')))));
  assert.deepEqual(a, JSON.parse(JSON.stringify(dissectTree(Buffer.from(d.after, 'hex')))));
});
