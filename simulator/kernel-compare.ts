// "Compare with Kernel": run the same object on the same packets through the running kernel's BPF_PROG_TEST_RUN
// (with bpftool, as root) and through the simulator, and line the verdicts and output bytes up side by side.
// Both sides keep map state across packets (one loaded program, one Session), as a capture run does.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadedObject } from './elf/types.ts';
import { Session, actionOf } from './session.ts';
import { kernelVerifierUnavailable, parseLoadOutput } from './analysis/verifier.ts';

export interface CompareSide {
  retval: number;
  action: string;
  /** Hex of the output packet (data_meta..data_end plus fragments, as test_run returns it). */
  data: string;
}

export interface CompareRow {
  index: number;
  sim: CompareSide & { fault?: string };
  kernel?: CompareSide;
  kernelError?: string;
  equal: boolean;
}

export interface CompareResult {
  available: boolean;
  reason?: string;
  program: string;
  rows: CompareRow[];
  differing: number;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * Runs `frames` through both. `objectPath` is the compiled object the simulator loaded as `obj`.
 * Never throws for kernel trouble: a kernel that cannot be used gives `available: false` and why.
 */
export function compareWithKernel(
  objectPath: string,
  obj: LoadedObject,
  frames: { frame: Uint8Array; tsNs: bigint }[],
  opts: { program?: string; seed?: number } = {},
): CompareResult {
  const session = new Session(obj, { program: opts.program, seed: opts.seed ?? 1 });
  const program = session.program.name;
  const why = kernelVerifierUnavailable();
  if (why) return { available: false, reason: why, program, rows: [], differing: 0 };
  const base = `/sys/fs/bpf/xdp-lens-compare-${process.pid}-${Date.now()}`;
  const tmp = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-'));
  try {
    const load = spawnSync('bpftool', ['prog', 'loadall', objectPath, base, 'type', 'xdp'], { encoding: 'utf8', timeout: 20000 });
    if (load.status !== 0) {
      const refusal = parseLoadOutput(load.stderr + load.stdout, obj.path).findings.map((f) => `${f.file}:${f.line}: ${f.message}`);
      const log = refusal.length ? refusal.join('\n') : (load.stderr || load.stdout || '').split('\n').filter((l) => l.trim()).slice(-6).join('\n');
      return { available: false, reason: `the kernel refused to load the object: ${log}`, program, rows: [], differing: 0 };
    }
    const pinned = join(base, program);
    if (!existsSync(pinned)) return { available: false, reason: `bpftool did not pin ${program} under ${base}`, program, rows: [], differing: 0 };
    const rows: CompareRow[] = [];
    const inFile = join(tmp, 'in.bin');
    const outFile = join(tmp, 'out.bin');
    frames.forEach(({ frame, tsNs }, index) => {
      const s = session.runPacket(frame, { tsNs });
      const sim = { retval: s.retval, action: s.action, data: hex(s.out), ...(s.fault ? { fault: `${s.fault.kind}: ${s.fault.message}` } : {}) };
      writeFileSync(inFile, frame);
      rmSync(outFile, { force: true });
      const r = spawnSync('bpftool', ['prog', 'run', 'pinned', pinned, 'data_in', inFile, 'data_out', outFile], { encoding: 'utf8', timeout: 10000 });
      const m = /Return value: (\d+)/.exec(r.stdout + r.stderr);
      if (r.status !== 0 || !m) {
        rows.push({ index, sim, kernelError: (r.stderr || r.stdout || 'bpftool failed').trim().split('\n').pop(), equal: false });
        return;
      }
      const retval = Number(m[1]) >>> 0;
      const data = existsSync(outFile) ? hex(readFileSync(outFile)) : '';
      const kernel = { retval, action: actionOf(retval), data };
      rows.push({ index, sim, kernel, equal: !s.fault && kernel.retval === sim.retval && kernel.data === sim.data });
    });
    return { available: true, program, rows, differing: rows.filter((r) => !r.equal).length };
  } finally {
    rmSync(base, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** A side-by-side text table of a comparison, for an editor tab or a terminal. */
export function formatComparison(r: CompareResult, title: string): string {
  if (!r.available) return `${title}\n\nThe kernel could not run the program: ${r.reason}\n`;
  const lines = [
    title,
    '',
    `${r.rows.length} packets compared, ${r.differing} differing (retval and output bytes, simulator vs BPF_PROG_TEST_RUN).`,
    '',
    `${'packet'.padStart(6)}  ${'simulator'.padEnd(22)} ${'kernel'.padEnd(22)} bytes`,
  ];
  for (const row of r.rows) {
    const sim = `${row.sim.action} (${row.sim.retval})`;
    const k = row.kernel ? `${row.kernel.action} (${row.kernel.retval})` : `error: ${row.kernelError}`;
    const bytes = row.kernel ? (row.kernel.data === row.sim.data ? 'same' : firstDifference(row.sim.data, row.kernel.data)) : '-';
    lines.push(`${String(row.index).padStart(6)}  ${sim.padEnd(22)} ${k.padEnd(22)} ${row.equal ? bytes : `${bytes}  <-- differs`}${row.sim.fault ? `  (simulator fault: ${row.sim.fault})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

function firstDifference(a: string, b: string): string {
  if (a.length !== b.length) return `length ${a.length / 2} vs ${b.length / 2}`;
  for (let i = 0; i < a.length; i += 2) if (a.slice(i, i + 2) !== b.slice(i, i + 2)) return `byte ${i / 2}: ${a.slice(i, i + 2)} vs ${b.slice(i, i + 2)}`;
  return 'same';
}
