// Starts a real VS Code for a test: code-server on 127.0.0.1 with a fresh profile, and Debian's chromium (through
// playwright-core) as its window; the extension under test is loaded as an extension development path.
//
// Facts this rests on (code-server 4.100.3 / VS Code 1.100.3):
//   - code-server refuses --extensionDevelopmentPath on its command line; the workbench reads extensionDevelopmentPath,
//     extensionTestsPath and openFile from the `payload` query parameter instead (a JSON list of [key, value] pairs),
//     as vscode-remote://HOST:PORT/... URIs whose host and port are the ones the browser uses;
//   - the extension host starts only when a window connects, so nothing of the extension runs before the page loads;
//   - with extensionTestsPath the workbench reports the suite's exit code by calling window.codeAutomationExit(code,
//     logs) once the extension host has run the suite's `run()`;
//   - VS Code, code-server and Chromium write into $HOME and the XDG directories: all of them point into a temporary
//     directory that stop() removes, so a run leaves nothing behind and sees nothing from an earlier run.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ARTIFACTS_DIR, requireE2EEnvironment } from './environment.ts';
import { waitForWorkbench } from './ui.ts';

export interface StartOptions {
  /** Folder holding the extension's package.json. */
  extensionDevelopmentPath: string;
  /** A module exporting `run(): Promise<void>`, run inside the extension host (see runExtensionTests). */
  extensionTestsPath?: string;
  /** Folder opened as the workspace. */
  workspace: string;
  /** A file to open in an editor once the window is up (absolute, or relative to the workspace). */
  openFile?: string;
  /** User settings, merged over the harness defaults (which turn off telemetry, welcome pages and update checks). */
  settings?: Record<string, unknown>;
  /** User keybindings (keybindings.json), for commands VS Code offers only on a toolbar. */
  keybindings?: { key: string; command: string; when?: string }[];
  /** Keep Workspace Trust on (default off: the workspace is trusted). */
  workspaceTrust?: boolean;
  /** Window size for screenshots. */
  viewport?: { width: number; height: number };
  /** How long to wait for code-server and the workbench to come up. */
  startTimeoutMs?: number;
  /** Called by the workbench with the in-host suite's exit code (only with extensionTestsPath). */
  onAutomationExit?: (code: number, logs: { relativePath: string; contents: string }[]) => void;
}

export interface VSCodeSession {
  page: Page;
  /** The address the window loaded. */
  url: string;
  /** The temporary root of this session (home, profile, logs); removed by stop(). */
  root: string;
  /** Saves a PNG of the window as test-artifacts/e2e/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  /** code-server's output so far (stdout and stderr), for failure messages. */
  serverLog(): string;
  /**
   * The window's console so far, one message a line; the extension host's console output arrives here too
   * (prefixed `[Extension Host]`), so an in-host suite's messages and failures can be read from it.
   */
  consoleLog(): string;
  /** Requests the window tried to send off this machine (they are refused; the tests run without a network). */
  blockedRequests(): string[];
  stop(): Promise<void>;
}

const DEFAULT_SETTINGS: Record<string, unknown> = {
  'telemetry.telemetryLevel': 'off',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
  'editor.minimap.enabled': false,
  'security.workspace.trust.startupPrompt': 'never',
};

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? ok(addr.port) : fail(new Error('no port'))));
    });
  });
}

/** Resolves when `pattern` appears in the output of `child`, rejects when it exits first or the time is up. */
function waitForOutput(child: ChildProcess, log: () => string, pattern: RegExp, timeoutMs: number, what: string): Promise<void> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => done(new Error(`${what}: not seen within ${timeoutMs} ms; output:\n${log()}`)), timeoutMs);
    const check = () => pattern.test(log()) && done();
    const exited = (code: number | null) => done(new Error(`${what}: code-server exited (${code}) first; output:\n${log()}`));
    function done(err?: Error) {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', exited);
      err ? fail(err) : ok();
    }
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.on('exit', exited);
    check();
  });
}

/** Process groups started here and not yet stopped; killed if the test process exits without stop(). */
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pid of liveGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export async function startVSCode(opts: StartOptions): Promise<VSCodeSession> {
  const env = requireE2EEnvironment();
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  const root = mkdtempSync(join(tmpdir(), 'xdp-lens-e2e-'));
  const dirs = {
    home: join(root, 'home'),
    config: join(root, 'xdg-config'),
    data: join(root, 'xdg-data'),
    cache: join(root, 'xdg-cache'),
    state: join(root, 'xdg-state'),
    runtime: join(root, 'xdg-runtime'),
    tmp: join(root, 'tmp'),
    userData: join(root, 'user-data'),
    extensions: join(root, 'extensions'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o700 });
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(
    join(dirs.userData, 'User', 'settings.json'),
    JSON.stringify({ ...DEFAULT_SETTINGS, ...opts.settings }, null, 2),
  );
  if (opts.keybindings) writeFileSync(join(dirs.userData, 'User', 'keybindings.json'), JSON.stringify(opts.keybindings, null, 2));
  // An empty config file keeps code-server from writing its default one (with a password) under $XDG_CONFIG_HOME.
  const config = join(root, 'code-server.yaml');
  writeFileSync(config, '');
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    XDG_STATE_HOME: dirs.state,
    XDG_RUNTIME_DIR: dirs.runtime,
    TMPDIR: dirs.tmp,
    // No extension gallery: without a service URL VS Code makes no marketplace requests (the default would query
    // open-vsx.org for the development extension).
    EXTENSIONS_GALLERY: '{}',
  };
  // Variables that would make code-server think it runs inside another VS Code, or change its password.
  for (const k of Object.keys(childEnv)) {
    if (k.startsWith('VSCODE_') || k === 'PASSWORD' || k === 'HASHED_PASSWORD' || k === 'ELECTRON_RUN_AS_NODE') delete childEnv[k];
  }

  const port = await freePort();
  const host = '127.0.0.1';
  const args = [
    env.codeServerEntry,
    '--config', config,
    '--auth', 'none',
    '--bind-addr', `${host}:${port}`,
    '--user-data-dir', dirs.userData,
    '--extensions-dir', dirs.extensions,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    '--locale', 'en',
  ];
  if (!opts.workspaceTrust) args.push('--disable-workspace-trust');
  const server = spawn(process.execPath, args, { env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (server.pid !== undefined) liveGroups.add(server.pid);
  let output = '';
  const logFile = createWriteStream(join(root, 'code-server.log'));
  const collect = (b: Buffer) => {
    output += b.toString();
    logFile.write(b);
  };
  server.stdout!.on('data', collect);
  server.stderr!.on('data', collect);
  const serverLog = () => output;

  let browser: Browser | undefined;
  let stopped = false;
  const consoleLines: string[] = [];
  const blocked: string[] = [];
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await browser?.close().catch(() => undefined);
    await stopGroup(server);
    logFile.end();
    if (process.env.XDP_LENS_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
  };

  try {
    await waitForOutput(server, serverLog, /HTTP server listening on/, startTimeoutMs, 'code-server start');

    const remote = (p: string) => `vscode-remote://${host}:${port}${resolve(p)}`;
    const payload: [string, string][] = [
      ['extensionDevelopmentPath', remote(opts.extensionDevelopmentPath)],
      ['skipWelcome', 'true'],
      ['skipReleaseNotes', 'true'],
    ];
    if (opts.extensionTestsPath) payload.push(['extensionTestsPath', remote(opts.extensionTestsPath)]);
    if (opts.openFile) payload.push(['openFile', remote(resolve(opts.workspace, opts.openFile))]);
    const url =
      `http://${host}:${port}/?folder=${encodeURIComponent(resolve(opts.workspace))}` +
      `&payload=${encodeURIComponent(JSON.stringify(payload))}`;

    browser = await chromium.launch({
      executablePath: env.chromium,
      headless: true,
      env: childEnv,
      args: ['--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--password-store=basic'],
      timeout: startTimeoutMs,
    });
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 } });
    await context.route(
      (u) => u.hostname !== host,
      (route) => {
        blocked.push(route.request().url());
        return route.abort('internetdisconnected');
      },
    );
    const page = await context.newPage();
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    if (opts.onAutomationExit) {
      const cb = opts.onAutomationExit;
      await page.exposeFunction('codeAutomationExit', (code: number, logs: { relativePath: string; contents: string }[]) =>
        cb(code, logs ?? []),
      );
    }
    await page.goto(url, { timeout: startTimeoutMs });
    await waitForWorkbench(page, startTimeoutMs);

    return {
      page,
      url,
      root,
      serverLog,
      consoleLog: () => consoleLines.join('\n'),
      blockedRequests: () => [...blocked],
      stop,
      async screenshot(name: string) {
        mkdirSync(ARTIFACTS_DIR, { recursive: true });
        const file = join(ARTIFACTS_DIR, `${name}.png`);
        await page.screenshot({ path: file });
        return file;
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** SIGTERM to code-server's process group (it and its extension hosts), SIGKILL if it is still there after 5 s. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  liveGroups.delete(pid);
  if (child.exitCode !== null || child.signalCode !== null) {
    try {
      process.kill(-pid, 'SIGKILL'); // stragglers of an exited leader
    } catch {
      // none
    }
    return;
  }
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = new Promise<'timeout'>((ok) => setTimeout(() => ok('timeout'), 5000).unref());
  if ((await Promise.race([exited, timer])) === 'timeout') {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    await exited;
  }
  try {
    process.kill(-pid, 'SIGKILL'); // children that outlived the leader
  } catch {
    // none left
  }
}

export interface ExtensionTestResult {
  exitCode: number;
  /** The workbench's log files at exit (relative path → text), including the extension host's. */
  logs: Record<string, string>;
  /** code-server's output. */
  serverLog: string;
  /** The window's console, which carries the extension host's console output (the suite's messages and errors). */
  consoleLog: string;
}

/**
 * Runs an extension's own test suite inside the extension host of a real VS Code, like @vscode/test-electron: the
 * module at extensionTestsPath exports `run(): Promise<void>`; resolving is exit code 0, rejecting is 1.
 */
export async function runExtensionTests(
  opts: Omit<StartOptions, 'onAutomationExit'> & { extensionTestsPath: string; timeoutMs?: number; screenshotName?: string },
): Promise<ExtensionTestResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  let settle!: (r: { code: number; logs: { relativePath: string; contents: string }[] }) => void;
  const exited = new Promise<{ code: number; logs: { relativePath: string; contents: string }[] }>((ok) => (settle = ok));
  const session = await startVSCode({ ...opts, onAutomationExit: (code, logs) => settle({ code, logs }) });
  try {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(
        () => fail(new Error(`extension tests did not finish within ${timeoutMs} ms; window console:\n${session.consoleLog()}\ncode-server output:\n${session.serverLog()}`)),
        timeoutMs,
      );
    });
    const { code, logs } = await Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
    if (opts.screenshotName) await session.screenshot(opts.screenshotName).catch(() => undefined);
    return {
      exitCode: code,
      logs: Object.fromEntries(logs.map((l) => [l.relativePath, l.contents])),
      serverLog: session.serverLog(),
      consoleLog: session.consoleLog(),
    };
  } finally {
    await session.stop();
  }
}

/** The extension host's log text from an ExtensionTestResult (every exthost*.log joined). */
export function extensionHostLog(r: ExtensionTestResult): string {
  return Object.entries(r.logs)
    .filter(([p]) => /exthost/i.test(p))
    .map(([p, text]) => `== ${p}\n${text}`)
    .join('\n');
}
