// What the running kernel gives XDP programs, asked of the kernel itself.
//
// The simulator's tables of what the verifier allows (helpers XDP may call) were measured on the upstream 6.18 kernel.
// A kernel built differently can refuse more (a distribution or vendor build that takes a helper away from XDP), and
// the kernel is the authority: a program it refuses must be refused by `run` too. So where the `bpf()` syscall works
// (root, the usual case on the machines that also run `compare`), a tiny C program loads, for each helper id, an XDP
// program of three instructions calling it and reports the verifier's first complaint; "program of this type cannot
// use helper" means XDP may not call it. The answer is cached per kernel build (the whole of /proc/version) in the
// system's temporary directory (root's own, readable by all), so later runs (also an editor without root) read it. Without a cached answer and
// without the syscall, the 6.18 table stands.
//
//   runningKernelFacts()   the cached or freshly probed facts of the running kernel, or undefined
//   xdpForbiddenHelpers()  helper ids the verifier refuses in XDP programs on the kernel the simulator models
//
// XDP_LENS_KERNEL_PROBE=0 (or `off`) keeps the 6.18 tables whatever the running kernel says.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Helper ids 1 to this are probed (the 6.18 kernel knows 211; later kernels add a few). */
const PROBE_HELPER_MAX = 260;

export interface KernelFacts {
  /** /proc/version of the kernel probed: a cached answer is used only on the same build. */
  kernel: string;
  /** When it was probed (ISO time). */
  probedAt: string;
  /** The highest helper id the kernel knows (an id past it is "invalid func"). */
  helperMax: number;
  /** Helper ids the verifier refuses in an XDP program ("program of this type cannot use helper"). */
  xdpForbiddenHelpers: number[];
}

// Raw syscalls only: no libbpf, so any C compiler builds it. One BPF_PROG_LOAD per argument ("h<id>"): call, r0 = 2,
// exit. The verifier looks up the helper's prototype for the program type before it looks at any argument, so the
// first line of its complaint says whether XDP may call it at all.
const PROBE_C = `#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>

static char log_buf[1 << 16];

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct bpf_insn insns[3];
		union bpf_attr attr;
		char *line, *save;
		int fd;

		memset(insns, 0, sizeof(insns));
		insns[0].code = BPF_JMP | BPF_CALL;
		insns[0].imm = (int)strtol(argv[i] + 1, NULL, 10);
		insns[1].code = BPF_ALU64 | BPF_MOV | BPF_K;
		insns[1].imm = XDP_PASS;
		insns[2].code = BPF_JMP | BPF_EXIT;
		memset(&attr, 0, sizeof(attr));
		attr.prog_type = BPF_PROG_TYPE_XDP;
		attr.insns = (unsigned long)insns;
		attr.insn_cnt = 3;
		attr.license = (unsigned long)"GPL";
		attr.log_buf = (unsigned long)log_buf;
		attr.log_size = sizeof(log_buf);
		attr.log_level = 1;
		log_buf[0] = 0;
		fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
		if (fd >= 0) {
			close(fd);
			printf("%s ok\\n", argv[i]);
			continue;
		}
		if (errno == EPERM) {
			printf("%s eperm\\n", argv[i]);
			return 3;
		}
		/* The first line that is not the instruction dump. */
		for (line = strtok_r(log_buf, "\\n", &save); line; line = strtok_r(NULL, "\\n", &save))
			if (!(line[0] >= '0' && line[0] <= '9'))
				break;
		printf("%s refused %s\\n", argv[i], line ? line : "");
	}
	return 0;
}
`;

function probeDisabled(): boolean {
  const v = process.env.XDP_LENS_KERNEL_PROBE;
  return v === '0' || v === 'off' || v === 'false';
}

function procVersion(): string | undefined {
  try {
    return readFileSync('/proc/version', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Where root's answer lives: os.tmpdir()/xdp-lens-kernel, made by root, readable by all (an editor without root reads
 * it), writable by root alone. Not the compile cache, which is each user's own and closed to others.
 */
function cacheDir(): string {
  return join(tmpdir(), 'xdp-lens-kernel');
}

/**
 * Whether root made `path` and only root may change it: only then is an answer read from it, or the probe built in it
 * run as root (a directory another user made first could hold a planted answer or program).
 */
function rootOnly(path: string): boolean {
  try {
    const st = lstatSync(path);
    return !st.isSymbolicLink() && st.uid === 0 && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function cacheFile(version: string): string {
  return join(cacheDir(), `${createHash('sha256').update(version).digest('hex').slice(0, 20)}.json`);
}

function readCached(version: string): KernelFacts | undefined {
  if (!rootOnly(cacheDir()) || !rootOnly(cacheFile(version))) return undefined;
  try {
    const f = JSON.parse(readFileSync(cacheFile(version), 'utf8')) as KernelFacts;
    if (f.kernel !== version || !Array.isArray(f.xdpForbiddenHelpers)) return undefined;
    if (!f.xdpForbiddenHelpers.every((n) => Number.isInteger(n) && n > 0)) return undefined;
    return f;
  } catch {
    return undefined;
  }
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  chmodSync(tmp, 0o644);
  renameSync(tmp, path);
}

/** Build the probe (once per source) and ask the kernel; undefined when it cannot be asked. */
export function probeRunningKernel(version = procVersion()): KernelFacts | undefined {
  if (!version) return undefined;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return undefined;
  const dir = cacheDir();
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  if (!rootOnly(dir)) return undefined;
  const hash = createHash('sha256').update(PROBE_C).digest('hex').slice(0, 16);
  const bin = join(dir, `probe-${hash}`);
  if (!existsSync(bin)) {
    const src = join(dir, `probe-${hash}.${process.pid}.c`);
    try {
      writeFileSync(src, PROBE_C);
    } catch {
      return undefined;
    }
    const tmpBin = `${bin}.${process.pid}.tmp`;
    const cc = spawnSync('cc', ['-O1', '-o', tmpBin, src], { encoding: 'utf8', timeout: 60_000 });
    rmSync(src, { force: true });
    if (cc.status !== 0) return undefined;
    try {
      chmodSync(tmpBin, 0o755);
      renameSync(tmpBin, bin);
    } catch {
      return undefined;
    }
  }
  const ids = Array.from({ length: PROBE_HELPER_MAX }, (_, i) => `h${i + 1}`);
  const r = spawnSync(bin, ids, { encoding: 'utf8', timeout: 30_000, maxBuffer: 1 << 20 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return undefined;
  const forbidden: number[] = [];
  let helperMax = 0;
  let answered = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^h(\d+) (ok|refused)(?: (.*))?$/.exec(line);
    if (!m) continue;
    answered++;
    const id = Number(m[1]);
    const why = m[3] ?? '';
    if (/invalid func|unknown func/.test(why)) continue;
    helperMax = Math.max(helperMax, id);
    if (/cannot use helper/.test(why)) forbidden.push(id);
  }
  // Every id answered, and the kernel knew the basic ones: otherwise the answer is not trusted.
  if (answered !== PROBE_HELPER_MAX || helperMax < 100) return undefined;
  const facts: KernelFacts = { kernel: version, probedAt: new Date().toISOString(), helperMax, xdpForbiddenHelpers: forbidden };
  try {
    writeAtomic(cacheFile(version), `${JSON.stringify(facts)}\n`);
  } catch {
    // Not cached: the answer still holds for this process.
  }
  return facts;
}

let memo: { facts: KernelFacts | undefined } | undefined;

/** The running kernel's facts: cached for this build, else probed when the syscall works, else undefined. */
export function runningKernelFacts(): KernelFacts | undefined {
  if (memo) return memo.facts;
  let facts: KernelFacts | undefined;
  if (!probeDisabled()) {
    const version = procVersion();
    if (version) facts = readCached(version) ?? probeRunningKernel(version);
  }
  memo = { facts };
  return facts;
}

/** Forget the memoized answer (tests that change XDP_LENS_KERNEL_PROBE). */
export function resetKernelFacts(): void {
  memo = undefined;
}
