// The language server started over stdio for a test, as an LSP client starts it: initialised with a workspace folder
// (a fresh temporary directory), answering workspace/configuration with what the test says, ignoring what it does not
// listen to. New tests take it instead of repeating the start-up.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

export const SERVER = join(REPO, 'dist', 'server.js');

export interface StdioServer {
  conn: ProtocolConnection;
  child: ChildProcess;
  /** The workspace folder. */
  dir: string;
  stop(): Promise<void>;
}

/**
 * Start dist/server.js. `settings()` answers each workspace/configuration item; `notifications` are handled by method
 * (the rest are dropped; XDP_LENS_TEST_LOG=1 prints the server's log lines). `env`: variables set for the server's process
 * only (e.g. XDP_LENS_RUN_WORKER), on top of this process's environment. `initializationOptions`: as a client sends them.
 */
export async function startServer(
  settings: () => unknown,
  notifications: Record<string, (params: never) => void> = {},
  env: Record<string, string> = {},
  initializationOptions?: unknown,
): Promise<StdioServer> {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-server-'));
  const child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  conn.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => settings()));
  conn.onNotification('window/logMessage', (p: { message?: string }) => void (process.env.XDP_LENS_TEST_LOG && console.error(`server: ${p.message}`)));
  for (const n of ['window/showMessage', 'xdpLens/status', 'textDocument/publishDiagnostics']) conn.onNotification(n, () => {});
  for (const [method, handler] of Object.entries(notifications)) conn.onNotification(method, handler as (params: unknown) => void);
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onRequest('window/showMessageRequest', () => null);
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(dir).href,
    workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'ws' }],
    capabilities: { workspace: { configuration: true }, window: { workDoneProgress: true } },
    ...(initializationOptions === undefined ? {} : { initializationOptions }),
  });
  await conn.sendNotification(InitializedNotification.type, {});
  return {
    conn,
    child,
    dir,
    async stop() {
      await conn.sendRequest(ShutdownRequest.type);
      await conn.sendNotification(ExitNotification.type);
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
