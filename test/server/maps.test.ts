// The maps of a run over stdio, as the editor's maps view asks for them: xdpLens/maps (every map after the run,
// entries decoded through BTF, changes since the run started, paging), the decoded map updates of a packet's detail,
// and xdpLens/mapsSeed, whose document `xdp-lens run --maps` reads back to the same maps (round trip through the CLI).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection, StreamMessageReader, StreamMessageWriter, InitializeRequest, InitializedNotification,
  ShutdownRequest, ExitNotification, ConfigurationRequest, type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { REPO } from '../repo.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import type { RunResponse, PacketDetail, MapsResult, MapsSeedResult } from '../../server/protocol.ts';

const SERVER = join(REPO, 'dist', 'server.js');
const CLI = join(REPO, 'dist', 'cli.js');
const PROGRAM = join(REPO, 'examples', 'xdp_filter.c');
const CAPTURE = join(REPO, 'examples', 'demo.pcap');
const SEED = join(REPO, 'examples', 'blocklist.json');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !existsSync(SERVER) || !existsSync(CLI) ? 'dist/ is missing: run npm run build' : !haveClang ? 'clang is not installed' : false;

let child: ChildProcess;
let conn: ProtocolConnection;
let dir: string;
const uri = pathToFileURL(PROGRAM).href;
const u32 = (hex: string) => String(Buffer.from(hex, 'hex').readUInt32LE(0));
const u64 = (hex: string) => String(Buffer.from(hex, 'hex').readBigUInt64LE(0));

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'xdp-lens-maps-'));
  child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  conn.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => ({})));
  for (const n of ['window/showMessage', 'window/logMessage', 'xdpLens/status', 'textDocument/publishDiagnostics']) conn.onNotification(n, () => {});
  conn.onRequest('window/showMessageRequest', () => null);
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid, rootUri: pathToFileURL(dir).href, workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'ws' }],
    capabilities: { workspace: { configuration: true }, window: { workDoneProgress: true } },
  });
  await conn.sendNotification(InitializedNotification.type, {});
});

after(async () => {
  if (skip) return;
  await conn.sendRequest(ShutdownRequest.type);
  await conn.sendNotification(ExitNotification.type);
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
});

test('xdpLens/maps: every map after the run, decoded through BTF, with what changed since the seed', { skip }, async () => {
  const r = await conn.sendRequest<RunResponse>('xdpLens/run', { uri, capture: CAPTURE, maps: SEED });
  assert.equal(r.error, undefined);
  const runId = r.summary!.runId;
  const res = await conn.sendRequest<MapsResult>('xdpLens/maps', { runId });
  assert.equal(res.error, undefined);
  const byName = new Map(res.maps.map((m) => [m.name, m]));
  assert.ok(byName.has('proto_count') && byName.has('blocklist'), [...byName.keys()].join(', '));
  assert.ok([...byName.keys()].some((n) => n.endsWith('.rodata')), 'global data is listed');
  const pc = byName.get('proto_count')!;
  assert.equal(pc.type, 'ARRAY');
  assert.deepEqual([pc.keyType, pc.valueType], ['__u32', '__u64']);
  // Keys and values are __u32 and __u64: the decoded text is the little-endian number of the hex beside it.
  for (const e of pc.entries) assert.deepEqual([e.keyText, e.valueText], [u32(e.key), u64(e.value)]);
  // proto_count started at zero: every non-zero slot changed; the seeded blocklist entry went from 0 to 1.
  for (const e of pc.entries) assert.equal(e.change === 'changed', e.valueText !== '0', `slot ${e.keyText}`);
  assert.ok(pc.changed > 0);
  const bl = byName.get('blocklist')!;
  assert.deepEqual(bl.entries.map((e) => [e.keyText, e.change, e.beforeText, e.valueText]), [[u32('c0000242'), 'changed', '0', '1']]);
  assert.equal(bl.entries[0]!.valueTrees?.[0]?.text, '1');
  // Paging through one map.
  const page = await conn.sendRequest<MapsResult>('xdpLens/maps', { runId, map: 'proto_count', offset: 2, limit: 3 });
  assert.equal(page.maps.length, 1);
  assert.deepEqual(page.maps[0]!.entries.map((e) => e.key), pc.entries.slice(2, 5).map((e) => e.key));
  const none = await conn.sendRequest<MapsResult>('xdpLens/maps', { runId, map: 'nope' });
  assert.match(none.error!, /no map named 'nope'/);

  // A packet's detail shows its map updates decoded beside the hex.
  const d = await conn.sendRequest<PacketDetail>('xdpLens/packet', { runId, index: 8 });
  const upd = d.maps.find((m) => m.map === 'blocklist')!;
  assert.equal(upd.text, `blocklist[${u32(upd.key)}] ${u64(upd.before!)} -> ${u64(upd.after!)}`);
  for (const m of d.maps) assert.equal(m.text, `${m.map}[${u32(m.key)}] ${m.before ? u64(m.before) : '(absent)'} -> ${u64(m.after!)}`);
});

test('Save Current Maps as Seed: xdpLens/mapsSeed is a --maps file the CLI reads back to the same maps', { skip }, async () => {
  const r = await conn.sendRequest<RunResponse>('xdpLens/run', { uri, capture: CAPTURE, maps: SEED });
  const seed = await conn.sendRequest<MapsSeedResult>('xdpLens/mapsSeed', { runId: r.summary!.runId });
  assert.equal(seed.error, undefined);
  const file = join(dir, 'seed.json');
  writeFileSync(file, JSON.stringify(seed.maps, null, 2));
  // No packets: the maps at the end are the seed as the program's maps hold it.
  const empty = join(dir, 'empty.pcap');
  new PcapWriter(empty).close();
  const cli = spawnSync(process.execPath, [CLI, 'run', PROGRAM, empty, '--format', 'summary', '--maps', file, '--dump-maps', 'all'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const out = JSON.parse(cli.stdout.trim().split('\n').at(-1)!);
  assert.deepEqual(out.maps, seed.maps);
  assert.ok((seed.maps!.proto_count as unknown[]).length > 0);
  // The jsonl summary decodes the same entries, in the same order.
  assert.deepEqual(out.mapsDecoded.blocklist, [{ key: u32('c0000242'), value: '1' }]);
});
