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
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export interface CompileOptions {
  /** The clang binary (default `clang`, or env XDP_LENS_CLANG). */
  clang?: string;
  /** Extra flags appended after the defaults (e.g. `-mcpu=v3`, `-DFOO=1`). */
  flags?: string[];
  /** Extra include directories (-I), searched before the defaults. */
  includeDirs?: string[];
  /** Where compiled objects are cached (default os.tmpdir()/xdp-lens-cache). */
  cacheDir?: string;
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

/** Compile `sourcePath` to a BPF object (synchronously). Never throws; failures are diagnostics. */
const COMPILE_TIMEOUT_MS = 60_000;

export function compileC(sourcePath: string, opts: CompileOptions = {}): CompileResult {
  const clang = opts.clang ?? process.env.XDP_LENS_CLANG ?? 'clang';
  const src = resolve(sourcePath);
  const includeDirs = [...(opts.includeDirs ?? []), dirname(src)];
  const flags = opts.flags ?? [];
  const baseArgs = ['-O2', '-g', '-target', 'bpf'];
  for (const d of includeDirs) baseArgs.push('-I', d);
  for (const d of defaultIncludeDirs()) baseArgs.push('-idirafter', d);
  baseArgs.push(...flags);

  const fail = (message: string, command: string[], stderr = ''): CompileResult => ({
    diagnostics: [{ file: src, line: 0, column: 0, severity: 'error', message }],
    command,
    stderr,
  });

  let source: Uint8Array;
  try {
    source = readFileSync(src);
  } catch (e) {
    return fail(`cannot read ${src}: ${(e as Error).message}`, [clang, ...baseArgs, '-c', src]);
  }
  const version = clangVersion(clang);
  if (!version) {
    return fail(
      `cannot run '${clang}': clang is needed to compile BPF C. Install it with 'apt-get install clang llvm libbpf-dev' ` +
      `(Debian/Ubuntu) or set the clang path in the options`,
      [clang, ...baseArgs, '-c', src],
    );
  }

  const cacheDir = opts.cacheDir ?? join(tmpdir(), 'xdp-lens-cache');
  const key = sha(source, src, version, JSON.stringify(baseArgs));
  const objectPath = join(cacheDir, `${key}.o`);
  const manifestPath = join(cacheDir, `${key}.json`);
  const depPath = join(cacheDir, `${key}.${process.pid}.d`);
  const tmpObj = join(cacheDir, `${key}.${process.pid}.o.tmp`);
  const command = [clang, ...baseArgs, '-MD', '-MF', depPath, '-c', src, '-o', tmpObj];

  if (existsSync(objectPath) && existsSync(manifestPath) && depsUnchanged(manifestPath)) {
    return { objectPath, diagnostics: [], command, stderr: '', cached: true };
  }
  try {
    mkdirSync(cacheDir, { recursive: true });
  } catch (e) {
    return fail(`cannot create cache directory ${cacheDir}: ${(e as Error).message}`, command);
  }
  // stdin closed: a program that includes /dev/stdin must not wait for a terminal; a compile that never ends is cut.
  const r = spawnSync(command[0], command.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: COMPILE_TIMEOUT_MS, maxBuffer: 64 << 20 });
  const stderr = r.stderr ?? '';
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    rmSync(tmpObj, { force: true });
    return fail(`clang did not finish within ${COMPILE_TIMEOUT_MS / 1000} s compiling ${src} (does it include a device or a very large file?)`, command, stderr);
  }
  if (r.error) return fail(`cannot run '${clang}': ${r.error.message}`, command, stderr);
  const diagnostics = parseClangDiagnostics(stderr);
  if (r.status !== 0) {
    rmSync(tmpObj, { force: true });
    rmSync(depPath, { force: true });
    if (!diagnostics.some((d) => d.severity === 'error')) {
      diagnostics.push({ file: src, line: 0, column: 0, severity: 'error', message: `clang exited with status ${r.status}` });
    }
    return { diagnostics, command, stderr };
  }
  // Record local headers so that editing one invalidates the cached object.
  const deps: Manifest['deps'] = [];
  try {
    for (const p of parseDepFile(readFileSync(depPath, 'utf8'))) {
      const abs = resolve(p);
      if (abs === src || abs.startsWith('/usr/')) continue;
      deps.push({ path: abs, hash: sha(readFileSync(abs)) });
    }
  } catch {
    // Without a usable dep file the object is still good; it just will not be reused across header edits.
    deps.push({ path: depPath, hash: 'unreadable' });
  }
  rmSync(depPath, { force: true });
  writeFileSync(manifestPath, JSON.stringify({ deps } satisfies Manifest));
  renameSync(tmpObj, objectPath);
  return { objectPath, diagnostics, command, stderr };
}

function depsUnchanged(manifestPath: string): boolean {
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    return m.deps.every((d) => existsSync(d.path) && sha(readFileSync(d.path)) === d.hash);
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
