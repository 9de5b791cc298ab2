// The packet detail over stdio carries the frame's layer tree before and after the program: the echo request that
// xdp_filter.c answers with XDP_TX reads as a request before and a reply after, addresses swapped, and the tree on the
// wire is the one the dissector gives for the same bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ProtocolConnection } from 'vscode-languageserver-protocol/node';
import { REPO } from '../repo.ts';
import { SERVER, startServer, type StdioServer } from './stdio-server.ts';
import { dissectTree } from '../../simulator/net/dissect-tree.ts';
import type { RunResponse, PacketDetail, PacketField, PacketLayer } from '../../server/protocol.ts';

const PROGRAM = join(REPO, 'examples', 'xdp_filter.c');
const CAPTURE = join(REPO, 'examples', 'demo.pcap');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !existsSync(SERVER) ? 'dist/server.js is missing: run npm run build' : !haveClang ? 'clang is not installed' : false;

let server: StdioServer;
let conn: ProtocolConnection;

before(async () => {
  if (skip) return;
  server = await startServer(() => ({}));
  ({ conn } = server);
});

after(async () => {
  if (!skip) await server.stop();
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
