// tcpdump for Run on Live Traffic (server/run.ts `runLive`): which binary, which interface, the process itself (its
// output as chunks, paused when the run falls behind, stopped cleanly with SIGTERM, killed with the server), and its
// failures told in words a user knows rather than as tcpdump's stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** What is wrong with an interface name, or undefined (names as the kernel allows them: IFNAMSIZ, no '/' or spaces). */
export function interfaceProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'choose a network interface to capture on';
  if (name.length > 15 || !/^[A-Za-z0-9_.:@+-]+$/.test(name) || name.startsWith('-') || name === '.' || name === '..')
    return `'${name}' is not a network interface name (at most 15 letters, digits and . _ - : @ +)`;
  return undefined;
}

/** The file a live run is recorded into: the interface and the local time, unique per run. */
let liveSeq = 0;
export function liveCaptureName(iface: string): string {
  const t = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${t.getFullYear()}${pad(t.getMonth() + 1)}${pad(t.getDate())}-${pad(t.getHours())}${pad(t.getMinutes())}${pad(t.getSeconds())}`;
  return `live-${iface.replace(/[^A-Za-z0-9_.-]/g, '_')}-${stamp}-${process.pid}-${++liveSeq}.pcap`;
}

const executable = (p: string): boolean => {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The path of `command` (a path, or a name looked up on PATH), or an error saying how to get it. */
export function findExecutable(command: string): string | { error: string } {
  const hint = 'install it (Debian/Ubuntu: sudo apt-get install tcpdump) or set xdpLens.tcpdump.path to where it is';
  if (command.includes('/')) {
    if (!isAbsolute(command)) return { error: `xdpLens.tcpdump.path must be an absolute path or a name on PATH, not '${command}'` };
    return executable(command) ? command : { error: `tcpdump was not found at ${command} (xdpLens.tcpdump.path), or it is not executable: ${hint}` };
  }
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    if (dir && executable(join(dir, command))) return join(dir, command);
  }
  // tcpdump lives in /usr/sbin, which a user's PATH may lack.
  for (const dir of ['/usr/sbin', '/sbin', '/usr/local/sbin']) if (executable(join(dir, command))) return join(dir, command);
  return { error: `${command} was not found on PATH: Run on Live Traffic needs tcpdump; ${hint}` };
}

/**
 * tcpdump's failure in a user's words, its own last line after it. Undefined when stderr says nothing we recognise
 * (the caller then quotes it).
 */
export function explainTcpdump(stderr: string, iface: string, filter: string): string | undefined {
  const said = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^listening on|packets? (captured|received by filter|dropped by kernel)/.test(l))
    .slice(-3)
    .join(' ');
  const quote = said ? ` (tcpdump: ${said.replace(/^tcpdump: /, '')})` : '';
  if (/permission|not permitted|cap_net|operation not permitted/i.test(stderr))
    return `tcpdump is not allowed to capture on ${iface}: capturing needs root, or tcpdump given the capabilities CAP_NET_RAW and CAP_NET_ADMIN (sudo setcap cap_net_raw,cap_net_admin=eip $(command -v tcpdump)), or membership of the group allowed to run it${quote}`;
  if (/no such device|doesn't exist|does not exist|no suitable device|SIOCGIFHWADDR/i.test(stderr))
    return `there is no network interface '${iface}' on this machine (see /sys/class/net)${quote}`;
  if (/syntax error|filter expression|unknown (host|port|protocol)|illegal|parse error/i.test(stderr))
    return `the capture filter '${filter}' is not valid for tcpdump${quote}`;
  if (/network is down|not up/i.test(stderr)) return `${iface} is down: bring it up (ip link set ${iface} up) to capture on it${quote}`;
  if (/unrecognized option|invalid option|illegal option/i.test(stderr))
    return `this tcpdump does not take the options XDP Lens passes (-U --immediate-mode -w -): use tcpdump 4.7 or newer${quote}`;
  return undefined;
}

/** setpriv (util-linux) gives the child a parent-death signal: tcpdump goes when the server goes, however it ends. */
let setprivPath: string | false | undefined;
function setpriv(): string | false {
  if (setprivPath === undefined) {
    const s = findExecutable('setpriv');
    setprivPath = typeof s === 'string' ? s : false;
  }
  return setprivPath;
}

/** Time tcpdump gets to exit after SIGTERM before it is killed. */
const STOP_GRACE_MS = 2000;
/** stderr kept for the messages (the end of it). */
const STDERR_KEEP = 8192;

/** One tcpdump writing a pcap stream (`-U -w -`) of one interface, through an optional BPF filter. */
export class TcpdumpCapture {
  readonly argv: string[];
  private child: ChildProcess | undefined;
  private stderr = '';
  private spawnError: NodeJS.ErrnoException | undefined;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private paused = false;

  constructor(
    readonly tcpdump: string,
    readonly iface: string,
    readonly filter: string,
  ) {
    // -U: each packet written as it is captured; --immediate-mode: delivered without waiting for the kernel buffer to
    // fill; -w -: pcap on stdout. `--` keeps a filter that starts with '-' from being read as an option.
    this.argv = [tcpdump, '-i', iface, '-U', '--immediate-mode', '-w', '-', ...(filter ? ['--', filter] : [])];
  }

  get commandLine(): string {
    return this.argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
  }

  start(on: { data(chunk: Buffer): void; end(): void }): void {
    const sp = setpriv();
    const [cmd, ...args] = sp ? [sp, '--pdeathsig', 'TERM', '--', ...this.argv] : this.argv;
    let ended = false;
    const end = () => {
      if (!ended) on.end();
      ended = true;
    };
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise<void>((resolve) => {
      child.once('error', (e: NodeJS.ErrnoException) => {
        this.spawnError = e;
        end();
        resolve();
      });
      child.once('close', (code, signal) => {
        this.exit = { code, signal };
        end();
        resolve();
      });
    });
    child.stdout!.on('data', (chunk: Buffer) => on.data(chunk));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      this.stderr = (this.stderr + s).slice(-STDERR_KEEP);
    });
  }

  /** Stop reading tcpdump's output (it then blocks on a full pipe, and the kernel drops what it cannot queue). */
  pause(): void {
    if (!this.paused) this.child?.stdout?.pause();
    this.paused = true;
  }

  resume(): void {
    if (this.paused) this.child?.stdout?.resume();
    this.paused = false;
  }

  /** SIGTERM (tcpdump flushes and exits), SIGKILL after a grace period; resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || this.exit || this.spawnError) return this.exited;
    this.stopping = true;
    this.resume(); // a paused pipe would keep it blocked in write
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** How tcpdump ended: an error for the user when it failed (not when we stopped it). */
  ended(): { error?: string } {
    if (this.spawnError) {
      const e = this.spawnError;
      if (e.code === 'ENOENT') return { error: `${this.tcpdump} was not found: Run on Live Traffic needs tcpdump (Debian/Ubuntu: sudo apt-get install tcpdump; or set xdpLens.tcpdump.path)` };
      if (e.code === 'EACCES') return { error: `${this.tcpdump} may not be run by this user (permission denied): check xdpLens.tcpdump.path` };
      return { error: `cannot start ${this.tcpdump}: ${e.message}` };
    }
    const x = this.exit;
    if (!x || this.stopping) return {};
    if (x.code === 0) return {};
    if (x.code === 127 && /failed to execute|No such file/.test(this.stderr))
      return { error: `${this.tcpdump} could not be started: ${this.stderr.trim().split('\n').pop()}` };
    const explained = explainTcpdump(this.stderr, this.iface, this.filter);
    if (explained) return { error: explained };
    const last = this.stderr.trim().split('\n').slice(-3).join(' ').trim();
    return { error: `tcpdump stopped with ${x.signal ? `signal ${x.signal}` : `status ${x.code}`}${last ? `: ${last}` : ''}` };
  }
}
