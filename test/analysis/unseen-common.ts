// What the tests of the unseen-program rounds share: the headers their small programs start with, and how they name
// a finding's line and show findings in a failure, and how they run a program in the kernel and check the sums of
// the frame it leaves.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFile } from '../../simulator/analysis/index.ts';
import { verifyWithKernel } from '../../simulator/analysis/verifier.ts';
import { compileC } from '../../simulator/compile.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { runKernel, type KernelMaps } from '../kernel/runner.ts';

export const NO_CLANG = spawnSync('clang', ['--version']).error ? 'clang not installed' : false;

export const HEAD = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
`;

/** The line of `HEAD + body` holding `marker`. */
export const lineOf = (body: string, marker: string) => HEAD.split('\n').length - 1 + body.split('\n').findIndex((l) => l.includes(marker)) + 1;
export const show = (fs: Finding[], withFile = false) => fs.map((f) => `${withFile ? `${f.file}:` : ''}${f.line} ${f.tier} ${f.rule}: ${f.message}`).join('\n');
export const got = (fs: Finding[]) => fs.map((f) => `${f.rule}@${f.line}`);

/** The findings of both tiers (source and bytecode, as `check` reports them) on the program `text`. */
export async function both(text: string): Promise<Finding[]> {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-unseen-'));
  try {
    const file = join(dir, 'prog.c');
    writeFileSync(file, text);
    const r = await analyzeFile(file, undefined);
    assert.ok(!r.notes.some((n) => /did not run/.test(n)), r.notes.join('\n'));
    return r.findings;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The verifier's refusals (none when it loads) of the program `text`, or undefined when the kernel is missing. */
export function kernelSays(text: string): string[] | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-unseen-k-'));
  try {
    const file = join(dir, 'prog.c');
    writeFileSync(file, text);
    const c = compileC(file, { cacheDir: dir });
    assert.ok(c.objectPath, c.stderr);
    const k = verifyWithKernel(c.objectPath!, file);
    if (k.skipped) return undefined;
    return k.findings.filter((f) => f.severity === 'error').map((f) => `${f.line}: ${f.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compiles `text` and runs `program` in the kernel on `packets` (BPF_PROG_TEST_RUN). */
export function kernelRun(text: string, program: string, packets: Uint8Array[], maps?: KernelMaps) {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-unseen-run-'));
  try {
    const file = join(dir, 'prog.c');
    writeFileSync(file, text);
    const c = compileC(file, { cacheDir: dir });
    assert.ok(c.objectPath, c.stderr);
    return runKernel(c.objectPath!, program, packets, maps ? { maps } : {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One's-complement sum of `b` (16-bit big-endian words), not folded. */
export function sum16(b: Uint8Array, start = 0): number {
  let s = start;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  return s;
}

/** `s` folded to 16 bits with end-around carry. */
export const fold = (s: number) => {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
};

/** Ethernet + IPv4 (10.0.0.1 -> 10.0.0.2) + UDP from port 12345 to `dport` with 4 bytes of payload, both checksums right. */
export function udpFrame(dport: number): Uint8Array {
  const f = new Uint8Array(46);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  f.set([0x45, 0, 0, 32, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  const ipSum = ~fold(sum16(f.subarray(14, 34))) & 0xffff;
  f[24] = ipSum >> 8;
  f[25] = ipSum & 0xff;
  f.set([0x30, 0x39, dport >> 8, dport & 0xff, 0, 12, 0, 0, 1, 2, 3, 4], 34);
  const s = ~fold(sum16(f.subarray(34), sum16(f.subarray(26, 34)) + 17 + 12)) & 0xffff;
  f[40] = s >> 8;
  f[41] = s & 0xff;
  return f;
}

/** The UDP checksum of a frame laid out as udpFrame's (IPv4 without options) verifies. */
export const udpSumOk = (f: Uint8Array) => fold(sum16(f.subarray(34), sum16(f.subarray(26, 34)) + 17 + (f.length - 34))) === 0xffff;
