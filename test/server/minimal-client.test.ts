// The language server with a minimal LSP client: one that answers window/showMessageRequest (the server's pop-up
// notes) with "unhandled method", as clients without that request do. The server keeps working and reports no
// internal error: the note is in its log instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection, StreamMessageReader, StreamMessageWriter, InitializeRequest, InitializedNotification,
  DidOpenTextDocumentNotification, PublishDiagnosticsNotification, ConfigurationRequest, ShutdownRequest, ExitNotification,
  type Diagnostic,
} from 'vscode-languageserver-protocol/node';
import { REPO } from '../repo.ts';

const SERVER = join(REPO, 'dist', 'server.js');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = (!existsSync(SERVER) && `${SERVER} is missing: run npm run build`) || (!haveClang && 'clang is not installed');

test('a client without window/showMessageRequest gets the diagnostics and no internal error', { skip, timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const logs: string[] = [];
  conn.onNotification('window/logMessage', (p: { message: string }) => logs.push(p.message));
  conn.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => ({})));
  let published: Diagnostic[] = [];
  let seen: () => void = () => undefined;
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
    published = p.diagnostics;
    seen();
  });
  conn.listen();
  try {
    await conn.sendRequest(InitializeRequest.type, { processId: null, rootUri: null, capabilities: {}, workspaceFolders: null });
    await conn.sendNotification(InitializedNotification.type, {});
    // A program whose compile fails part-way: the bytecode tier says so with a note.
    const file = join(REPO, 'test', 'analysis', 'fixtures', 'source', 'invalid_action.c');
    const uri = pathToFileURL(file).href;
    await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'c', version: 1, text: readFileSync(file, 'utf8') } });
    const end = Date.now() + 45_000;
    while (!published.some((d) => d.code === 'compile-error')) {
      if (Date.now() > end) throw new Error(`no compile diagnostics within 45 s; published: ${JSON.stringify(published.map((d) => d.code))}`);
      await new Promise<void>((ok) => ((seen = ok), setTimeout(ok, 1000)));
    }
    assert.ok(published.some((d) => d.code === 'invalid-action'), 'the source findings are there too');
    await conn.sendRequest(ShutdownRequest.type);
    await conn.sendNotification(ExitNotification.type);
    await new Promise<void>((ok) => (child.exitCode !== null ? ok() : child.once('exit', () => ok())));
    assert.doesNotMatch(stderr, /internal error/, stderr);
  } finally {
    child.kill();
  }
});
