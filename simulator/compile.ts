// Compile a C file to a BPF object with clang, the way the kernel samples and libbpf-bootstrap do
// (`clang -O2 -g -target bpf -c`), with include paths that work on a stock Debian/Ubuntu install, and cache the result.
//
// Debian ships the kernel uapi headers for the host architecture under /usr/include/<multiarch>/asm; with
// `-target bpf` clang does not search that directory, so `#include <linux/if_ether.h>` (which pulls in asm/types.h)
// fails unless gcc-multilib is installed. We add the multiarch directory with -idirafter, found by probing.
// Headers such as <linux/if.h> reach glibc's <sys/socket.h>, whose <gnu/stubs.h> picks <gnu/stubs-32.h> because
// the BPF target is not x86_64; only the 32-bit libc package ships that file. It only lists unimplemented
// functions, so an empty stand-in (written once into a directory of ours, searched last) is exact for BPF.
//
// The cache key is (source bytes, flags, include dirs, clang version); after a compile we record the local headers
// clang read (from its -MD dependency file) with their hashes, and a cached object is reused only while they are
// unchanged. System headers (under /usr) are not tracked.
//
// The cache is bounded (`pruneCache`): a hit refreshes the object's time, and after every CACHE_PRUNE_EVERY-th store
// (and the first of a process) the least recently used objects go until at most CACHE_MAX_OBJECTS and CACHE_MAX_BYTES
// remain. Someone who edits all day (each edit is a new key) would otherwise fill /tmp.
//
// Every clang run is bounded (see `clangLimits`): a wall-clock limit, enforced by coreutils `timeout`, which runs clang
// in a process group of its own and kills the whole group (the driver and its cc1 child); an address-space limit
// (`ulimit -v`, which every process clang starts inherits) and a CPU-time limit; and a parent-death signal
// (`setpriv --pdeathsig`), so that clang goes when the process that started it goes, however it ends. A limit hit is
// reported as such ("clang exceeded 2 GiB ..."), never as a hang.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdtempSync, openSync, readSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { INPUT_LIMITS, readInputFile } from './input.ts';

export interface CompileOptions {
  /** The clang binary (default `clang`, or env XDP_LENS_CLANG). */
  clang?: string;
  /** Extra flags appended after the defaults (e.g. `-mcpu=v3`, `-DFOO=1`). */
  flags?: string[];
  /** Extra include directories (-I), searched before the defaults. */
  includeDirs?: string[];
  /** Where compiled objects are cached (default: defaultCacheDir()). */
  cacheDir?: string;
  /** Limits of the clang run (defaults: `clangLimits()`). */
  limits?: Partial<ClangLimits>;
  /** What sets the clang binary where the caller is (the editor's `xdpLens.clang.path`), named when clang cannot run
   * (default: the XDP_LENS_CLANG environment variable). */
  clangSetting?: string;
}

/** What one clang run may use. */
export interface ClangLimits {
  /** Wall-clock time, milliseconds. */
  timeoutMs: number;
  /** Address space of clang and of each process it starts, bytes. */
  memoryBytes: number;
}

const GiB = 1024 * 1024 * 1024;

/**
 * The limits of a clang run: 60 s and 2 GiB of address space (a large XDP program compiles in well under a second and
 * 300 MiB), overridable with XDP_LENS_CLANG_TIMEOUT (seconds) and XDP_LENS_CLANG_MEMORY (MiB).
 */
export function clangLimits(over: Partial<ClangLimits> = {}): ClangLimits {
  const env = (name: string, unit: number, dflt: number) => {
    const v = process.env[name];
    return v && /^[0-9]+$/.test(v) && Number(v) > 0 ? Number(v) * unit : dflt;
  };
  return {
    timeoutMs: over.timeoutMs ?? env('XDP_LENS_CLANG_TIMEOUT', 1000, 60_000),
    memoryBytes: over.memoryBytes ?? env('XDP_LENS_CLANG_MEMORY', 1024 * 1024, 2 * GiB),
  };
}

function describeBytes(n: number): string {
  return n % GiB === 0 ? `${n / GiB} GiB` : `${Math.round(n / (1024 * 1024))} MiB`;
}

let wrappers: { timeout: boolean; setpriv: boolean } | undefined;
/** Which of the limiting tools this machine has (coreutils timeout, util-linux setpriv); probed once. */
function limitTools(): { timeout: boolean; setpriv: boolean } {
  if (!wrappers) {
    const has = (cmd: string) => !spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error;
    wrappers = { timeout: has('timeout'), setpriv: has('setpriv') };
  }
  return wrappers;
}

/**
 * The argv that runs `command` under `limits`: sh sets the address-space and CPU limits, setpriv the parent-death
 * signal, timeout the wall-clock limit over clang's whole process group. A tool that is missing is left out (the
 * spawn timeout still applies).
 */
export function limitedCommand(command: string[], limits: ClangLimits): string[] {
  const tools = limitTools();
  const secs = Math.max(1, Math.ceil(limits.timeoutMs / 1000));
  const inner: string[] = [];
  if (tools.setpriv) inner.push('setpriv', '--pdeathsig', 'TERM', '--');
  if (tools.timeout) inner.push('timeout', '-s', 'KILL', '-k', '2', String(secs));
  return [
    '/bin/sh',
    '-c',
    'ulimit -v "$1" 2>/dev/null; ulimit -t "$2" 2>/dev/null; shift 2; exec "$@"',
    'xdp-lens-clang',
    String(Math.floor(limits.memoryBytes / 1024)),
    String(secs + 10),
    ...inner,
    ...command,
  ];
}

/** Status 124 is timeout(1) saying the time ran out. */
const TIMED_OUT_STATUS = 124;
const OUT_OF_MEMORY = /LLVM ERROR: out of memory|Allocation failed|std::bad_alloc|Cannot allocate memory|cannot allocate memory/;

/** Why a clang run that failed hit one of its limits, or undefined when it did not. */
function limitHit(
  status: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
  limits: ClangLimits,
  src: string,
  timedOut: boolean,
): string | undefined {
  if (timedOut || status === TIMED_OUT_STATUS || signal === 'SIGKILL')
    return `clang did not finish within ${Math.round(limits.timeoutMs / 1000)} s compiling ${src} (the time limit: XDP_LENS_CLANG_TIMEOUT=SECONDS raises it; on a busy machine a large program can need more, otherwise does it include a device or macros that expand without end?)`;
  if (OUT_OF_MEMORY.test(stderr) || signal === 'SIGSEGV' || signal === 'SIGABRT')
    return `clang exceeded ${describeBytes(limits.memoryBytes)} compiling ${src} (the memory limit; macros that expand exponentially, or a very large program?)`;
  if (signal === 'SIGXCPU') return `clang exceeded its CPU time limit compiling ${src}`;
  return undefined;
}

export interface CompileDiagnostic {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning' | 'note';
  message: string;
}

export interface CompileResult {
  objectPath?: string;
  diagnostics: CompileDiagnostic[];
  command: string[];
  stderr: string;
  /** True when the object came from the cache without running clang. */
  cached?: boolean;
}

const MULTIARCH_BY_NODE_ARCH: Record<string, string[]> = {
  x64: ['x86_64-linux-gnu'],
  arm64: ['aarch64-linux-gnu'],
  arm: ['arm-linux-gnueabihf', 'arm-linux-gnueabi'],
  ia32: ['i386-linux-gnu'],
  ppc64: ['powerpc64le-linux-gnu', 'powerpc64-linux-gnu'],
  s390x: ['s390x-linux-gnu'],
  riscv64: ['riscv64-linux-gnu'],
  loong64: ['loongarch64-linux-gnu'],
  mips64el: ['mips64el-linux-gnuabi64'],
};

/**
 * The include directories added to every compile, in search order after the user's: the multiarch directory holding
 * asm/types.h (probed: the host's triple first, then any /usr/include/*-linux-* that has one). libbpf's headers
 * (<bpf/bpf_helpers.h>) live in /usr/include/bpf and need nothing extra.
 */
export function defaultIncludeDirs(): string[] {
  const root = '/usr/include';
  const candidates = [...(MULTIARCH_BY_NODE_ARCH[process.arch] ?? [])];
  try {
    for (const d of readdirSync(root)) if (/-linux-/.test(d) && !candidates.includes(d)) candidates.push(d);
  } catch {
    return [];
  }
  const found = candidates.find((d) => existsSync(join(root, d, 'asm', 'types.h')));
  if (!found) return [];
  const dirs = [join(root, found)];
  if (existsSync(join(root, found, 'gnu', 'stubs.h')) && !existsSync(join(root, found, 'gnu', 'stubs-32.h'))) {
    const shim = stubsShimDir();
    if (shim) dirs.push(shim);
  }
  return dirs;
}

let shimDir: string | undefined | null = null;

/** A directory holding an empty gnu/stubs-32.h (see the header comment); undefined when it cannot be written. */
function stubsShimDir(): string | undefined {
  if (shimDir !== null) return shimDir;
  const dir = join(tmpdir(), `xdp-lens-include-${process.getuid?.() ?? 0}`);
  const file = join(dir, 'gnu', 'stubs-32.h');
  try {
    if (!existsSync(file)) {
      mkdirSync(join(dir, 'gnu'), { recursive: true });
      writeFileSync(file, '/* xdp-lens: empty stand-in for the 32-bit glibc stubs list; nothing here applies to BPF. */\n');
    }
    shimDir = dir;
  } catch {
    shimDir = undefined;
  }
  return shimDir;
}

const versionCache = new Map<string, string | undefined>();

/** `clang --version` first line, or undefined when clang cannot be run. */
function clangVersion(clang: string): string | undefined {
  if (versionCache.has(clang)) return versionCache.get(clang);
  const r = spawnSync(clang, ['--version'], { encoding: 'utf8' });
  const v = r.error || r.status !== 0 ? undefined : r.stdout.split('\n')[0].trim();
  versionCache.set(clang, v);
  return v;
}

const sha = (...parts: (string | Uint8Array)[]) => {
  const h = createHash('sha256');
  for (const p of parts) { h.update(p); h.update('\0'); }
  return h.digest('hex');
};

/** Parse `file:line:col: severity: message` lines from clang's stderr. */
export function parseClangDiagnostics(stderr: string): CompileDiagnostic[] {
  const out: CompileDiagnostic[] = [];
  const re = /^(.+?):(\d+):(\d+): (fatal error|error|warning|note): (.*)$/;
  for (const line of stderr.split(/\r?\n/)) {
    const m = re.exec(line);
    if (!m) continue;
    const sev = m[4] === 'fatal error' ? 'error' : (m[4] as CompileDiagnostic['severity']);
    out.push({ file: m[1], line: Number(m[2]), column: Number(m[3]), severity: sev, message: m[5] });
  }
  // Errors without a position (e.g. "error: unknown argument", "clang: error: no such file") still deserve one entry.
  if (!out.some((d) => d.severity === 'error')) {
    const bare = stderr.split(/\r?\n/).find((l) => /(^|: )(fatal )?error: /.test(l));
    if (bare) out.push({ file: '', line: 0, column: 0, severity: 'error', message: bare.replace(/^.*?(fatal )?error: /, '') });
  }
  return out;
}

interface Manifest {
  deps: { path: string; hash: string }[];
}

/** Everything about one compile that is known before clang runs. */
interface Plan {
  src: string;
  clang: string;
  limits: ClangLimits;
  cacheDir: string;
  objectPath: string;
  manifestPath: string;
  depPath: string;
  tmpObj: string;
  command: string[];
}

/** A compile that needs no clang run (a cached object or an early failure), or the plan of the clang run. */
function prepare(sourcePath: string, opts: CompileOptions): CompileResult | Plan {
  const clang = opts.clang ?? process.env.XDP_LENS_CLANG ?? 'clang';
  const src = resolve(sourcePath);
  const includeDirs = [...(opts.includeDirs ?? []), dirname(src)];
  const flags = opts.flags ?? [];
  const baseArgs = ['-O2', '-g', '-target', 'bpf'];
  for (const d of includeDirs) baseArgs.push('-I', d);
  for (const d of defaultIncludeDirs()) baseArgs.push('-idirafter', d);
  for (const f of flags) baseArgs.push(f);

  let source: Uint8Array;
  try {
    source = readInputFile(src, 'C source', INPUT_LIMITS.source);
  } catch (e) {
    return failed(src, (e as Error).message, [clang, ...baseArgs, '-c', src]);
  }
  const version = clangVersion(clang);
  if (!version) {
    return failed(
      src,
      `cannot run '${clang}': clang is needed to compile BPF C. Install it with 'apt-get install clang llvm libbpf-dev' ` +
        `(Debian/Ubuntu) or set ${opts.clangSetting ?? 'XDP_LENS_CLANG'} to its path`,
      [clang, ...baseArgs, '-c', src],
    );
  }

  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const key = sha(source, src, version, JSON.stringify(baseArgs));
  const objectPath = join(cacheDir, `${key}.o`);
  const manifestPath = join(cacheDir, `${key}.json`);
  // Unique per compile, not only per process: the language server compiles one file for a run and for the on-save
  // analysis at the same time, and a shared temporary name let one compile move away the other's object.
  const unique = `${process.pid}.${++compileSeq}`;
  const depPath = join(cacheDir, `${key}.${unique}.d`);
  const tmpObj = join(cacheDir, `${key}.${unique}.o.tmp`);
  // -x c: the file is C whatever its name; no crash reproducer (it would preprocess the input a second time).
  const command = [clang, ...baseArgs, '-fno-crash-diagnostics', '-MD', '-MF', depPath, '-x', 'c', '-c', src, '-o', tmpObj];

  // An object cached before flags such as -E were refused may be text: compiled again, it is reported.
  if (existsSync(objectPath) && existsSync(manifestPath) && depsUnchanged(manifestPath) && !notAnObject(objectPath)) {
    touch(objectPath);
    return { objectPath, diagnostics: [], command, stderr: '', cached: true };
  }
  try {
    mkdirSync(cacheDir, { recursive: true });
  } catch (e) {
    return failed(src, `cannot create cache directory ${cacheDir}: ${(e as Error).message}`, command);
  }
  return { src, clang, limits: clangLimits(opts.limits), cacheDir, objectPath, manifestPath, depPath, tmpObj, command };
}

let defaultDir: string | undefined;

/**
 * The compile cache when none is given: os.tmpdir()/xdp-lens-cache when this user owns it (or creates it), else
 * os.tmpdir()/xdp-lens-cache-UID. A directory another user owns is not used, nor one others may write to: its
 * objects could not be stored (a cache root made by a run as root refused every compile of other users, "Permission
 * denied"), and objects planted in it under its predictable names would be run. Failing both, a directory of this
 * process's own, removed when it exits.
 */
export function defaultCacheDir(): string {
  if (defaultDir !== undefined) return defaultDir;
  const uid = process.getuid?.();
  for (const name of ['xdp-lens-cache', `xdp-lens-cache-${uid ?? 'user'}`]) {
    const dir = join(tmpdir(), name);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') continue;
    }
    try {
      const st = lstatSync(dir);
      if (st.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0) return (defaultDir = dir);
    } catch {
      // gone again, or not readable: the next candidate
    }
  }
  const own = mkdtempSync(join(tmpdir(), 'xdp-lens-cache-'));
  process.on('exit', () => rmSync(own, { recursive: true, force: true }));
  return (defaultDir = own);
}

/** Compiles started by this process (see the temporary names in the plan). */
let compileSeq = 0;

function failed(src: string, message: string, command: string[], stderr = ''): CompileResult {
  return { diagnostics: [{ file: src, line: 0, column: 0, severity: 'error', message }], command, stderr };
}

/** Turn clang's exit into the result: diagnostics, a limit hit, or the object moved into the cache. */
/** What clang wrote instead of an ELF object (a flag such as -E or -S changes it), or undefined for an ELF file. */
function notAnObject(path: string): string | undefined {
  let head: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      head = Buffer.alloc(256);
      head = head.subarray(0, readSync(fd, head, 0, 256, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined; // reading it later reports the problem
  }
  if (head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46) return undefined;
  if (head.length === 0) return 'an empty file';
  if (head.subarray(0, 4).toString('latin1') === 'BC\xc0\xde' || head.readUInt32LE(0) === 0x0b17c0de) return 'LLVM bitcode (-emit-llvm -c)';
  const text = head.toString('latin1');
  if (/^\s*(#|typedef|struct|static|extern|int|char|enum|union|__|\n)/.test(text) && !/^\s*\.(text|file)/.test(text)) return 'preprocessed C text (-E)';
  if (/^\s*(\.text|\.file|\.section)/m.test(text)) return 'assembly text (-S)';
  if (/^; ModuleID/.test(text)) return 'LLVM IR text (-S -emit-llvm)';
  if (/^[^\n]*\.o\s*:/.test(text)) return 'make dependency lines (-M)';
  return `a file that does not start with \\x7fELF (first bytes ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`;
}

function finish(
  plan: Plan,
  r: { status: number | null; signal: NodeJS.Signals | null; stderr: string; error?: Error; timedOut: boolean },
): CompileResult {
  const { src, command, tmpObj, depPath } = plan;
  const stderr = r.stderr;
  const cleanup = () => {
    rmSync(tmpObj, { force: true });
    rmSync(depPath, { force: true });
  };
  if (r.error && !r.timedOut) {
    cleanup();
    return failed(src, `cannot run '${plan.clang}': ${r.error.message}`, command, stderr);
  }
  const limit = r.status !== 0 ? limitHit(r.status, r.signal, stderr, plan.limits, src, r.timedOut) : undefined;
  if (limit) {
    cleanup();
    return failed(src, limit, command, stderr);
  }
  const diagnostics = parseClangDiagnostics(stderr);
  if (r.status !== 0) {
    cleanup();
    if (!diagnostics.some((d) => d.severity === 'error')) {
      const why = r.signal ? `was killed by ${r.signal}` : `exited with status ${r.status}`;
      diagnostics.push({ file: src, line: 0, column: 0, severity: 'error', message: `clang ${why} compiling ${src}` });
    }
    return { diagnostics, command, stderr };
  }
  if (!existsSync(tmpObj)) {
    cleanup();
    return failed(src, `clang wrote no object for ${src}`, command, stderr);
  }
  const notObject = notAnObject(tmpObj);
  if (notObject) {
    cleanup();
    return failed(src, `clang wrote ${notObject} for ${src}, not a BPF object file: a --cflag such as -E, -S, -emit-llvm or -M changes what clang writes; drop it`, command, stderr);
  }
  // Record local headers so that editing one invalidates the cached object.
  const deps: Manifest['deps'] = [];
  try {
    for (const p of parseDepFile(readFileSync(depPath, 'utf8'))) {
      const abs = resolve(p);
      if (abs === src || abs.startsWith('/usr/')) continue;
      deps.push({ path: abs, hash: sha(readInputFile(abs, 'header', INPUT_LIMITS.source)) });
    }
  } catch {
    // Without a usable dep file the object is still good; it just will not be reused across header edits.
    deps.push({ path: depPath, hash: 'unreadable' });
  }
  try {
    rmSync(depPath, { force: true });
    writeFileSync(plan.manifestPath, JSON.stringify({ deps } satisfies Manifest));
    renameSync(tmpObj, plan.objectPath);
  } catch (e) {
    cleanup();
    return failed(src, `cannot store the compiled object in ${plan.cacheDir}: ${(e as Error).message}`, command, stderr);
  }
  // In the background: the compile's result does not wait for it.
  if (storesSincePrune++ % CACHE_PRUNE_EVERY === 0) void pruneCache(plan.cacheDir, { keep: plan.objectPath });
  return { objectPath: plan.objectPath, diagnostics, command, stderr };
}

/** The cache's bounds (see the header); a pruned cache keeps the most recently used objects. */
export const CACHE_MAX_OBJECTS = 2000;
export const CACHE_MAX_BYTES = 256 << 20;
const CACHE_PRUNE_EVERY = 64;
/** Temporary files of a compile that never finished (a killed process) go after this long. */
const CACHE_STALE_TMP_MS = 3600_000;
let storesSincePrune = 0;

function touch(path: string): void {
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    // a read-only cache still serves hits; it is just not kept in recency order
  }
}

/**
 * Remove the least recently used objects (with their manifests) from `cacheDir` until at most `maxObjects` and
 * `maxBytes` remain, and temporary files older than an hour. `keep` (the object just stored) always stays. Never
 * rejects: a cache that cannot be pruned is still a cache. Resolves with how many objects went.
 */
export async function pruneCache(
  cacheDir: string,
  opts: { keep?: string; maxObjects?: number; maxBytes?: number; now?: number } = {},
): Promise<number> {
  const maxObjects = opts.maxObjects ?? CACHE_MAX_OBJECTS;
  const maxBytes = opts.maxBytes ?? CACHE_MAX_BYTES;
  const now = opts.now ?? Date.now();
  let names: string[];
  try {
    names = await fsp.readdir(cacheDir);
  } catch {
    return 0;
  }
  const objects: { path: string; time: number; bytes: number }[] = [];
  let bytes = 0;
  for (const name of names) {
    const temporary = name.endsWith('.tmp') || name.endsWith('.d');
    if (!temporary && !name.endsWith('.o')) continue;
    const path = join(cacheDir, name);
    const st = await fsp.stat(path).catch(() => undefined);
    if (!st?.isFile()) continue;
    if (temporary) {
      if (now - st.mtimeMs > CACHE_STALE_TMP_MS) await fsp.rm(path, { force: true }).catch(() => undefined);
      continue;
    }
    objects.push({ path, time: st.mtimeMs, bytes: st.size });
    bytes += st.size;
  }
  if (objects.length <= maxObjects && bytes <= maxBytes) return 0;
  objects.sort((a, b) => a.time - b.time);
  let count = objects.length;
  let removed = 0;
  for (const o of objects) {
    if (count <= maxObjects && bytes <= maxBytes) break;
    if (o.path === opts.keep) continue;
    try {
      // The manifest first: an object left without one (an exit in between) is never a hit and goes next time.
      await fsp.rm(o.path.replace(/\.o$/, '.json'), { force: true });
      await fsp.rm(o.path, { force: true });
    } catch {
      continue;
    }
    count--;
    bytes -= o.bytes;
    removed++;
  }
  return removed;
}

/** Compile `sourcePath` to a BPF object (synchronously), under the clang limits. Never throws; failures are diagnostics. */
export function compileC(sourcePath: string, opts: CompileOptions = {}): CompileResult {
  const plan = prepare(sourcePath, opts);
  if (!('tmpObj' in plan)) return plan;
  const argv = limitedCommand(plan.command, plan.limits);
  // stdin closed: a program that includes /dev/stdin must not wait for a terminal. The spawn timeout is a backstop
  // behind timeout(1) (SIGTERM, which timeout passes on to clang's process group).
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: plan.limits.timeoutMs + 5000,
    killSignal: 'SIGTERM',
    maxBuffer: 64 << 20,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  return finish(plan, { status: r.status, signal: r.signal, stderr: r.stderr ?? '', error: r.error, timedOut });
}

/** Process groups of the clang runs in flight, killed if this process exits first. */
const running = new Set<number>();
let exitHook = false;

/**
 * As compileC, without blocking the event loop: for the language server. Aborting `signal` kills clang and everything
 * it started, and resolves with a diagnostic saying the compile was cancelled.
 */
export function compileCAsync(sourcePath: string, opts: CompileOptions = {}, signal?: AbortSignal): Promise<CompileResult> {
  const plan = prepare(sourcePath, opts);
  if (!('tmpObj' in plan)) return Promise.resolve(plan);
  if (signal?.aborted) return Promise.resolve(failed(plan.src, `compile of ${plan.src} cancelled`, plan.command));
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const pid of running) killGroup(pid, 'SIGKILL');
    });
  }
  const argv = limitedCommand(plan.command, plan.limits);
  return new Promise((resolvePromise) => {
    // detached: clang gets a process group of its own, so one kill reaches the driver and its cc1.
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    let stderr = '';
    let stderrBytes = 0;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (stderrBytes < 64 << 20) stderr += d;
      stderrBytes += d.length;
    });
    let timedOut = false;
    let cancelled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
    }, plan.limits.timeoutMs + 5000);
    const onAbort = () => {
      cancelled = true;
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const done = (status: number | null, sig: NodeJS.Signals | null, error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (pid !== undefined) running.delete(pid);
      if (cancelled) {
        rmSync(plan.tmpObj, { force: true });
        rmSync(plan.depPath, { force: true });
        resolvePromise(failed(plan.src, `compile of ${plan.src} cancelled`, plan.command, stderr));
        return;
      }
      resolvePromise(finish(plan, { status, signal: sig, stderr, error, timedOut }));
    };
    child.on('error', (e) => done(null, null, e));
    child.on('close', (status, sig) => done(status, sig));
  });
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}

function depsUnchanged(manifestPath: string): boolean {
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    return m.deps.every((d) => existsSync(d.path) && sha(readInputFile(d.path, 'header', INPUT_LIMITS.source)) === d.hash);
  } catch {
    return false;
  }
}

/** The prerequisites of a make-style dependency file (`target: a.c b.h \` continued lines, `\ ` escapes spaces). */
function parseDepFile(text: string): string[] {
  const body = text.replace(/\\\r?\n/g, ' ');
  const colon = body.search(/:(\s|$)/);
  const rest = colon >= 0 ? body.slice(colon + 1) : body;
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i];
    if (ch === '\\' && rest[i + 1] === ' ') { cur += ' '; i++; continue; }
    if (/\s/.test(ch)) { if (cur) out.push(cur); cur = ''; continue; }
    cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}
