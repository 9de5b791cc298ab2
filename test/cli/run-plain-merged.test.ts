// `xdp-lens run X.o CAP --format summary` counts a batch's plain passes and drops in runs that end at the same exit
// whatever their outcomes (Driver.receiveBatch's `merged`: a PASS's "passed" and "passed: too short for its headers"
// in one run, with how many of each), and `run` (summary and jsonl) joins consecutive runs at one exit line into one
// count (RunStats.recordRun with a second outcome). The counts, and the order in which an exit line's outcomes first
// appear in "stats", must be those of the frame-by-frame path (the same capture from a pipe), byte for byte: frames
// alternating between passed and too short in every order (a run's first frame either), drops between them, two exit
// return lines whose first packets end differently, runs across batches and the end of the capture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { RunStats } from '../../simulator/run-stats.ts';
import { REPO } from '../repo.ts';
import { rng } from '../rng.ts';

const CLI = join(REPO, 'simulator', 'cli.ts');
const haveClang = spawnSync('clang', ['--version']).status === 0;

// Byte 5 (the destination MAC's last) picks the verdict: bit 0 drop; else pass, through the first return when bit 3
// is set, else the last.
const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int merged(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;
	if (data + 14 > end)
		return XDP_PASS;
	if (data[5] & 1)
		return XDP_DROP;
	if (data[5] & 8)
		return XDP_PASS;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
`;

// The same verdicts, with two exit instructions on one line (13): the driver's runs end where the exit changes, and
// `run` joins the runs of the two into one count (a run's other outcome may be the first outcome of the run before).
const SOURCE_TWO = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int merged(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;
	if (data + 14 > end)
		return XDP_PASS;
	if (data[5] & 1)
		return XDP_DROP;
	unsigned long b = data[5] & 8; asm volatile("if %0 == 0 goto +2\\n\\tr0 = 2\\n\\texit" :: "r"(b) : "r0"); return XDP_PASS; }

char _license[] SEC("license") = "GPL";
`;

/** An Ethernet + IPv4 frame of 60 bytes, its byte 5 `b5`; `short`: its IPv4 total length past the frame (the stack drops it). */
function frame(b5: number, short: boolean): Uint8Array {
  const f = new Uint8Array(60);
  f[5] = b5;
  f[12] = 0x08;
  f[14] = 0x45;
  const tot = short ? 200 : 46;
  f[16] = tot >> 8;
  f[17] = tot & 255;
  return f;
}

function cli(args: string[], input?: Buffer): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'run', ...args], { cwd: REPO, input, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 300_000 });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

test('run --format summary|jsonl: plain passes and drops counted in runs whatever their outcomes, as frame by frame', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-plain-merged-'));
  try {
    const src = join(dir, 'merged.c');
    writeFileSync(src, SOURCE);
    const c = compileC(src);
    assert.ok(c.objectPath, c.stderr);
    const obj = join(dir, 'merged.o');
    copyFileSync(c.objectPath!, obj);
    const srcTwo = join(dir, 'two.c');
    writeFileSync(srcTwo, SOURCE_TWO);
    const c2 = compileC(srcTwo);
    assert.ok(c2.objectPath, c2.stderr);
    const two = join(dir, 'two.o');
    copyFileSync(c2.objectPath!, two);
    for (let seed = 1; seed <= 4; seed++) {
      const r = rng(seed);
      // Stretches of one kind (1 to 40 frames, across the batches of 256) in random order: passed or too short at
      // either return, drops (none with seed 4). The return at line 14 (bit 3) first sees a frame too short, the one
      // at line 15 a frame that passed (seeds 1 and 3), or the other way round.
      const frames: Uint8Array[] = [];
      const first = seed % 2 === 1;
      frames.push(frame(8, first), frame(0, !first));
      const kinds = ['pass', 'short', 'pass8', 'short8', 'drop'];
      const n = 3000 + seed * 700;
      while (frames.length < n) {
        const kind = kinds[Math.floor(r() * (seed === 4 ? 4 : kinds.length))]!;
        const len = 1 + Math.floor(r() * (r() < 0.5 ? 3 : 40));
        for (let i = 0; i < len; i++) frames.push(frame(kind === 'drop' ? 1 : kind.endsWith('8') ? 8 : 0, kind.startsWith('short')));
      }
      const cap = join(dir, `merged-${seed}.pcap`);
      const w = new PcapWriter(cap);
      frames.forEach((f, i) => w.write(1_700_000_000_000_000_000n + BigInt(i) * 97_531_357n, f));
      w.close();
      const bytes = readFileSync(cap);
      // The object (its one exit instruction, at the closing brace), the source (return lines: lines 14 and 15) and
      // the object with two exits at line 13.
      for (const program of [obj, src, two]) {
        for (const format of ['summary', 'jsonl']) {
          const file = cli([program, cap, '--format', format]);
          assert.equal(file.status, 0, file.err);
          const pipe = cli([program, '-', '--format', format], bytes);
          assert.equal(file.out, pipe.out, `seed ${seed} ${program} --format ${format}: file and pipe differ`);
          assert.equal(file.err, pipe.err, `seed ${seed} ${program} --format ${format}: stderr differs`);
          const last = JSON.parse(file.out.trimEnd().split('\n').pop()!) as { summary: { outcomes: Record<string, number> }; stats: { exits: { line: number; action: string; outcomes: Record<string, number> }[] } };
          // Both outcomes at each pass exit, in the order their first packets ended.
          assert.ok(last.summary.outcomes['passed: too short for its headers']! > 0 && last.summary.outcomes.passed! > 0, JSON.stringify(last.summary));
          const byLine = new Map(last.stats.exits.filter((e) => e.action === 'XDP_PASS').map((e) => [e.line, Object.keys(e.outcomes)]));
          const order = ['passed: too short for its headers', 'passed'];
          const want = program === src ? [[14, first ? order : [...order].reverse()], [15, first ? [...order].reverse() : order]] : [[program === obj ? 16 : 13, first ? order : [...order].reverse()]];
          assert.deepEqual([...byLine].sort((a, b) => a[0] - b[0]), want, JSON.stringify(last.stats.exits));
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('RunStats.recordRun with a second outcome counts as record does each packet, outcomes in order of first appearance', () => {
  const outcomes = ['passed', 'passed: too short for its headers'];
  for (let seed = 1; seed <= 30; seed++) {
    const r = rng(seed);
    const one = new RunStats();
    const runs = new RunStats();
    const times = new Float64Array(300);
    for (let i = 0; i < times.length; i++) times[i] = i * 1_000_003 * seed;
    let i = 0;
    while (i < times.length) {
      const len = Math.min(times.length - i, 1 + Math.floor(r() * 30));
      const line = 1 + Math.floor(r() * 3);
      // The run's frames: each one of the two outcomes, the first one `outcome`.
      const each = Array.from({ length: len }, () => outcomes[r() < 0.5 ? 0 : 1]!);
      const outcome = each[0]!;
      const other = outcomes.find((o) => o !== outcome)!;
      const otherN = each.filter((o) => o === other).length;
      for (let j = 0; j < len; j++) one.record(times[i + j]!, 2, each[j]!, 0, 'a.c', line, undefined);
      runs.recordRun(times, i, i + len, 2, outcome, 0, 'a.c', line, other, otherN);
      i += len;
    }
    // JSON text: the order of each exit's outcomes too.
    assert.equal(JSON.stringify(runs.json()), JSON.stringify(one.json()), `seed ${seed}`);
  }
  const s = new RunStats();
  assert.throws(() => s.recordRun(new Float64Array(4), 0, 4, 2, 'passed', 0, '', 0, 'passed: x', 4), RangeError);
  assert.throws(() => s.recordRun(new Float64Array(4), 0, 4, 2, 'passed', 0, '', 0, 'dropped', 1), RangeError);
});
