// `xdp-lens run X CAP --format jsonl` writes the line of a batched packet the program dropped or passed unchanged
// (no fault, no helper output, a writable page) straight from what Driver.receiveBatch tells of it (its `plain`: the
// action, outcome, exit and note), without the driver's packet object, as `--format summary` counts it. Those lines,
// and the summary line, must be what the frame-by-frame path prints (a pipe: every packet through Driver.receive),
// byte for byte, with packets of every other kind between them (a rewrite sent back, an abort, frames of several
// buffers, frames too short for their headers), with return lines (a C source) and without (its object); and every
// verdict the kernel's (BPF_PROG_TEST_RUN). Needs root, clang and a working bpf() for the kernel part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { syntheticCorpus } from '../parity/packets.ts';
import { REPO } from '../repo.ts';

const CLI = join(REPO, 'simulator', 'cli.ts');
const haveClang = spawnSync('clang', ['--version']).status === 0;

// Byte 5 (the destination MAC's last) picks the verdict: bit 0 drop, bit 1 abort, bit 2 swap the MACs and send back;
// else pass (frames shorter than an Ethernet header pass from the first return).
const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int plain(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;
	if (data + 14 > end)
		return XDP_PASS;
	if (data[5] & 1)
		return XDP_DROP;
	if (data[5] & 2)
		return XDP_ABORTED;
	if (data[5] & 4) {
		for (int i = 0; i < 6; i++) {
			unsigned char t = data[i];
			data[i] = data[i + 6];
			data[i + 6] = t;
		}
		return XDP_TX;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
`;

function cli(args: string[], input?: Buffer): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'run', ...args], { cwd: REPO, input, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 300_000, env: { ...process.env, XDP_LENS_ENGINE: 'compiled' } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('run --format jsonl: the lines of plain drops and passes are those of the frame-by-frame path, and the kernel\'s verdicts', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-jsonl-plain-'));
  try {
    const src = join(dir, 'plain.c');
    writeFileSync(src, SOURCE);
    const c = compileC(src);
    assert.ok(c.objectPath, c.stderr);
    const obj = join(dir, 'plain.o');
    copyFileSync(c.objectPath!, obj);
    // The synthetic corpus (runts, truncated headers, every protocol the dissector names) and frames of several
    // buffers, each with byte 5 cycling through the verdicts, three rounds.
    const base = [...syntheticCorpus().map((p) => p.bytes), new Uint8Array(4000).fill(0x11), new Uint8Array(9000).fill(0x22)].filter((b) => b.length >= 14);
    const frames: Uint8Array[] = [];
    for (let round = 0; round < 3; round++) {
      base.forEach((b, i) => {
        const f = new Uint8Array(b);
        f[5] = [0, 1, 0, 2, 0, 4, 1, 0][(i + round) % 8]!;
        frames.push(f);
      });
    }
    const cap = join(dir, 'plain.pcap');
    const w = new PcapWriter(cap);
    frames.forEach((f, i) => w.write(1_700_000_000_000_000_000n + BigInt(i) * 1_234_567n, f));
    w.close();
    const bytes = readFileSync(cap);
    const seen = new Set<string>();
    for (const program of [src, obj]) {
      for (const format of ['jsonl', 'summary']) {
        const file = cli([program, cap, '--format', format]);
        assert.equal(file, cli([program, '-', '--format', format], bytes), `${program} --format ${format}: file and pipe differ`);
        if (format !== 'jsonl') continue;
        const lines = file.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        const packets = lines.filter((l) => typeof l.packet === 'number');
        assert.equal(packets.length, frames.length);
        for (const p of packets) seen.add(`${p.action} ${p.outcome}`);
      }
    }
    // Every kind of packet was there (the plain ones and the others between them).
    for (const k of ['XDP_PASS passed', 'XDP_PASS passed: too short for its headers', 'XDP_DROP dropped', 'XDP_TX transmitted', 'XDP_ABORTED aborted']) assert.ok(seen.has(k), `no packet ${k}: ${[...seen].join(', ')}`);

    if (kernelOrSkip(t)) return;
    const kernel = runKernel(obj, 'plain', frames);
    const lines = cli([obj, cap, '--format', 'jsonl']).trimEnd().split('\n').map((l) => JSON.parse(l) as { packet?: number; retval?: number });
    const wrong = lines.filter((l) => l.packet !== undefined).filter((l) => kernel.results[l.packet!]!.retval !== l.retval);
    assert.deepEqual(wrong.map((l) => `packet ${l.packet}: run ${l.retval}, kernel ${kernel.results[l.packet!]!.retval}`), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run --format jsonl: each line\'s packet index and time, across index digits, new seconds and packets listed without a run', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-jsonl-head-'));
  try {
    const src = join(dir, 'plain.c');
    writeFileSync(src, SOURCE);
    const c = compileC(src);
    assert.ok(c.objectPath, c.stderr);
    const obj = join(dir, 'plain.o');
    copyFileSync(c.objectPath!, obj);
    // 12,000 packets (indices of 1 to 5 digits), a few seconds apart or within one, the seconds growing a digit once;
    // every 997th frame shorter than an Ethernet header (listed, not run: its line is written elsewhere).
    const cap = join(dir, 'head.pcap');
    const w = new PcapWriter(cap);
    const want: string[] = [];
    let sec = 999_999_990n;
    for (let i = 0; i < 12_000; i++) {
      if (i % 7 === 3) sec += BigInt(i % 3);
      const nanos = BigInt((i * 7_654_321) % 1_000_000_000);
      const f = new Uint8Array(i % 997 === 5 ? 10 : 60 + (i % 50)).fill(0x11);
      if (f.length >= 14) f[5] = [0, 1, 0, 0][i % 4]!;
      w.write(sec * 1_000_000_000n + nanos, f);
      want.push(`${i} ${sec}.${String(nanos).padStart(9, '0')}`);
    }
    w.close();
    const file = cli([obj, cap, '--format', 'jsonl']);
    assert.equal(file, cli([obj, '-', '--format', 'jsonl'], readFileSync(cap)), 'file and pipe differ');
    const got = file.trimEnd().split('\n').map((l) => JSON.parse(l) as { packet?: number; ts?: string }).filter((l) => l.packet !== undefined).map((l) => `${l.packet} ${l.ts}`);
    assert.deepEqual(got, want);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
