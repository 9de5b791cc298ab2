// What the `xdp-lens compare` tests share (compare-back-to-back, compare-map-of-maps, ring buffers, perf records, ...):
// the built CLI, the skip when the kernel side cannot run, a program beside a capture of frames 2 s apart, and
// compare's JSON output. Needs root and bpftool to run the kernel side; the tests skip otherwise (fail under
// XDP_LENS_REQUIRE_KERNEL=1).
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelVerifierUnavailable } from '../../simulator/analysis/verifier.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { REPO } from '../repo.ts';
import { classicPcap } from '../net/pcap-file.ts';

export const CLI = join(REPO, 'dist', 'cli.js');

/** True (and the test skipped) when the kernel side of compare cannot run here. */
export function compareOrSkip(t: TestContext): boolean {
  if (kernelOrSkip(t)) return true;
  const why = kernelVerifierUnavailable();
  if (why) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(why);
    t.skip(why);
    return true;
  }
  return false;
}

/**
 * `source` written as NAME.c in a new temporary directory, beside spaced.pcap: 5 IPv4-typed frames of 60 bytes 2 s
 * apart (the simulator's clock follows the capture; the kernel runs them back to back).
 */
export function spacedCase(prefix: string, name: string, source: string): { src: string; cap: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const src = join(dir, `${name}.c`);
  writeFileSync(src, source);
  const cap = join(dir, 'spaced.pcap');
  const frame = Uint8Array.from({ length: 60 }, (_, i) => (i === 12 ? 0x08 : i));
  writeFileSync(cap, classicPcap(Array.from({ length: 5 }, (_, i) => ({ data: frame, sec: 1_700_000_000 + 2 * i }))));
  return { src, cap };
}

/** The parts of compare's JSON output the tests read. */
export interface CompareOut {
  available: boolean;
  reason?: string;
  differing: number;
  clockRandom: number;
  mapsDiffering: number;
  notes?: string[];
  rows: { kernel?: { retval: number } }[];
  maps: { map: string; equal: boolean; differences: string[]; clockRandom: string[] }[];
}

/** `xdp-lens compare ARGS --format json` (in `env`, default this process's): exit status, the parsed object, and the
 *  raw output for messages. */
export function compareJson<T>(args: string[], env?: NodeJS.ProcessEnv): { status: number | null; out: T; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'compare', ...args, '--format', 'json'], { encoding: 'utf8', timeout: 300_000, ...(env ? { env } : {}) });
  let out: T;
  try {
    out = JSON.parse(r.stdout) as T;
  } catch {
    assert.fail(`compare: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, out, stdout: r.stdout, stderr: r.stderr };
}
