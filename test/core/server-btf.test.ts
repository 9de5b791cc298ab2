// The xdpLens.btf setting, driven over stdio as the VS Code client drives the server: a run resolves CO-RE relocations
// against the BTF file the setting names (relative to the workspace folder), the way `xdp-lens run --btf` does, and
// against this machine's kernel once the setting is cleared.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
import { compileC } from '../../simulator/compile.ts';
import { loadObject } from '../../simulator/elf/index.ts';
import { Session } from '../../simulator/session.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import type { PacketDetail, RunResponse } from '../../server/protocol.ts';

const SERVER = join(REPO, 'dist', 'server.js');
const FIX = join(REPO, 'test', 'core', 'fixtures');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !existsSync(SERVER) ? 'dist/ is missing: run npm run build' : !haveClang ? 'clang is not installed' : false;

let child: ChildProcess;
let conn: ProtocolConnection;
let dir: string;
let settings: Record<string, unknown> = {};

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'xdp-lens-btf-setting-'));
  child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  conn.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => settings));
  for (const n of ['window/showMessage', 'window/logMessage', 'xdpLens/status', 'textDocument/publishDiagnostics']) conn.onNotification(n, () => {});
  conn.onRequest('window/showMessageRequest', () => null);
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(dir).href,
    workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'ws' }],
    capabilities: { workspace: { configuration: true } },
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

test('xdpLens.btf: runs resolve CO-RE against the named BTF file, and against the kernel without it', { skip }, async () => {
  const program = join(dir, 'core_layout.c');
  copyFileSync(join(FIX, 'core_layout.c'), program);
  const target = compileC(join(FIX, 'other_layout.c'), { cacheDir: dir });
  assert.ok(target.objectPath, target.stderr);
  copyFileSync(target.objectPath, join(dir, 'target-btf.o'));
  const frame = new Uint8Array(14 + 20 + 48);
  frame.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00, 0x45, 0, 0, 68, 0x12, 0x34, 0x40, 0, 63, 17, 0xbe, 0xef, 10, 0, 0, 1, 192, 168, 1, 2]);
  const capture = join(dir, 'one.pcap');
  const w = new PcapWriter(capture);
  w.write(1_000_000n, frame);
  w.close();

  // What the simulator gives with that BTF as the target (test/core/core.test.ts ties this to libbpf and the kernel).
  const compiled = compileC(program, { cacheDir: dir });
  const expected = (btf?: string) => {
    const { object } = loadObject(readFileSync(compiled.objectPath!), program, { btf });
    return Buffer.from(new Session(object!).runPacket(frame).data).toString('hex');
  };
  const after = async () => {
    const r = await conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(program).href, capture });
    assert.equal(r.error, undefined, r.error);
    const d = await conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: r.summary!.runId, index: 0 });
    assert.equal(d.error, undefined, d.error);
    return d.after;
  };

  settings = { btf: 'target-btf.o' }; // relative to the workspace folder
  await conn.sendNotification('workspace/didChangeConfiguration', { settings: {} });
  const withSetting = await after();
  assert.equal(withSetting, expected(join(dir, 'target-btf.o')));

  settings = {};
  await conn.sendNotification('workspace/didChangeConfiguration', { settings: {} });
  const without = await after();
  assert.equal(without, expected());
  assert.notEqual(without, withSetting);
});
