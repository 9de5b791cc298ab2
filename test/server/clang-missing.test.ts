// clang missing (xdpLens.clang.path naming no program): the on-save analysis's note that only the source analysis ran
// is a pop-up (window/showMessage) for any LSP client; a client that asks (initializationOptions.clangMissingInStatus,
// as the VS Code extension does) gets it in xdpLens/status instead, so that its run's error is the one pop-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DidOpenTextDocumentNotification } from 'vscode-languageserver-protocol/node';
import { REPO } from '../repo.ts';
import { SERVER, startServer } from './stdio-server.ts';

const noServer = !existsSync(SERVER) && `${SERVER} is missing: run npm run build`;

/** Open examples/xdp_filter.c with a clang path naming nothing; what the server said once the analysis ran. */
async function openWithoutClang(initializationOptions?: unknown): Promise<{ shown: string[]; statusNotes: (string | undefined)[] }> {
  const shown: string[] = [];
  const statusNotes: (string | undefined)[] = [];
  let said: () => void = () => {};
  const done = new Promise<void>((resolve) => (said = resolve));
  let dir = '';
  const server = await startServer(() => ({ clang: { path: join(dir, 'no-such-clang') } }), {
    'window/showMessage': (p: { message: string }) => {
      shown.push(p.message);
      if (/clang not found/.test(p.message)) said();
    },
    'xdpLens/status': (p: { state: string; clangMissing?: string }) => {
      statusNotes.push(p.clangMissing);
      if (p.clangMissing && p.state === 'ready') said();
    },
  }, {}, initializationOptions);
  dir = server.dir;
  try {
    const file = join(server.dir, 'xdp_filter.c');
    const text = readFileSync(join(REPO, 'examples', 'xdp_filter.c'), 'utf8');
    writeFileSync(file, text);
    await server.conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: pathToFileURL(file).href, languageId: 'c', version: 1, text } });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no word of the missing clang in 30 s: ${JSON.stringify({ shown, statusNotes })}`)), 30_000)))]);
    clearTimeout(timer);
    return { shown, statusNotes };
  } finally {
    await server.stop();
  }
}

test('clang missing, any LSP client: a pop-up says so, and the status notification does not carry it', { skip: noServer, timeout: 60_000 }, async () => {
  const r = await openWithoutClang();
  assert.equal(r.shown.filter((m) => /clang not found \(.*no-such-clang\): only the source analysis ran\. Install clang/.test(m)).length, 1, JSON.stringify(r.shown));
  assert.ok(r.statusNotes.every((n) => n === undefined), 'not asked for');
});

test('clang missing, a client that asks for it in the status: no pop-up, the status notification carries the note', { skip: noServer, timeout: 60_000 }, async () => {
  const r = await openWithoutClang({ clangMissingInStatus: true });
  assert.deepEqual(r.shown.filter((m) => /clang/.test(m)), [], 'no pop-up of its own: the run says it');
  assert.match(r.statusNotes.filter(Boolean).at(-1) ?? '', /^clang not found \(.*no-such-clang\): only the source analysis ran\. Install clang .* or set xdpLens\.clang\.path\.$/);
});
