// Running the CLI and the server as a user would, measuring what a run costs: wall time and the peak resident memory
// of the process and everything it started (GNU time's %M: wait4's ru_maxrss covers reaped descendants such as clang).
// The bounds the tests assert are generous (slow, shared machines); speed targets live in bench/.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';

const TIME = '/usr/bin/time';
export const canMeasureMemory = existsSync(TIME) && spawnSync(TIME, ['-f', '%M', 'true']).status === 0;

/** The CLI command line: the bundle when built, else the sources through tsx. */
export function cliArgv(args: string[]): string[] {
  const bundle = join(REPO, 'dist', 'cli.js');
  return existsSync(bundle) ? [process.execPath, bundle, ...args] : [process.execPath, '--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), ...args];
}

export interface Measured {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak resident set in MiB, when GNU time is available. */
  maxRssMiB?: number;
}

function wrap(argv: string[]): { argv: string[]; rssFile?: string; dir?: string } {
  if (!canMeasureMemory) return { argv };
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-measure-'));
  const rssFile = join(dir, 'rss');
  return { argv: [TIME, '-f', '%M', '-o', rssFile, ...argv], rssFile, dir };
}

function readRss(w: { rssFile?: string; dir?: string }): number | undefined {
  if (!w.rssFile) return undefined;
  try {
    const kb = Number(readFileSync(w.rssFile, 'utf8').trim().split('\n').pop());
    return Number.isFinite(kb) ? kb / 1024 : undefined;
  } finally {
    rmSync(w.dir!, { recursive: true, force: true });
  }
}

/** Run a command to its end (killed after `timeoutMs`). */
export function measure(argv: string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Measured {
  const w = wrap(argv);
  const t0 = performance.now();
  const r = spawnSync(w.argv[0]!, w.argv.slice(1), {
    cwd: opts.cwd ?? REPO,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    killSignal: 'SIGKILL',
    env: { ...process.env, ...opts.env },
    maxBuffer: 256 << 20,
  });
  const ms = performance.now() - t0;
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms, maxRssMiB: readRss(w) };
}

/** Run the CLI to its end. */
export function cli(args: string[], opts: Parameters<typeof measure>[1] = {}): Measured {
  return measure(cliArgv(args), opts);
}

/** Start a command and measure it when it ends; for tests that feed it over time. */
export function start(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): { child: ChildProcess; done: Promise<Measured> } {
  const w = wrap(argv);
  const t0 = performance.now();
  const child = spawn(w.argv[0]!, w.argv.slice(1), { cwd: opts.cwd ?? REPO, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Measured>((resolve) => {
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr, ms: performance.now() - t0, maxRssMiB: readRss(w) }));
  });
  return { child, done };
}

/** Assert the cost bounds of a run: at most `ms` milliseconds and `mib` MiB of peak memory (when measurable). */
export function within(r: Measured, bounds: { ms: number; mib: number }, what: string): void {
  console.log(`# ${what}: ${Math.round(r.ms)} ms${r.maxRssMiB !== undefined ? `, peak ${Math.round(r.maxRssMiB)} MiB` : ''}`);
  if (r.ms > bounds.ms) throw new Error(`${what}: took ${Math.round(r.ms)} ms, more than the bound of ${bounds.ms} ms`);
  if (r.maxRssMiB !== undefined && r.maxRssMiB > bounds.mib)
    throw new Error(`${what}: peak memory ${Math.round(r.maxRssMiB)} MiB, more than the bound of ${bounds.mib} MiB`);
}
