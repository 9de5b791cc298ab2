// `xdp-lens compare` on a rate computed from the time since the previous packet (a per-flow bandwidth limit, found on
// a public rate-limiting XDP program): the simulator follows the capture (frames 2 s apart: a low rate, XDP_PASS), the
// kernel runs the frames back to back (milliseconds apart: a high rate, XDP_DROP). With the clock merely moved or
// stopped (delta 0, x / 0 = 0: XDP_PASS again) no variant run showed the verdict depending on the clock, and every
// packet after the first was reported as a disagreement; the variant that runs the packets back to back shows it.
// Program written for this test. Needs root and bpftool; skips otherwise (fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelVerifierUnavailable } from '../../simulator/analysis/verifier.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { REPO } from '../repo.ts';
import { classicPcap } from '../net/pcap-file.ts';

const CLI = join(REPO, 'dist', 'cli.js');

function compareOrSkip(t: TestContext): boolean {
  if (kernelOrSkip(t)) return true;
  const why = kernelVerifierUnavailable();
  if (why) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(why);
    t.skip(why);
    return true;
  }
  return false;
}

const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct last { __u64 ts; __u64 drops; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct last); } xlc_last SEC(".maps");

SEC("xdp")
int bandwidth(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct last *l = bpf_map_lookup_elem(&xlc_last, &zero);
	if (!l)
		return XDP_ABORTED;
	__u64 now = bpf_ktime_get_ns();
	__u64 bits = (ctx->data_end - ctx->data) * 8;
	int verdict = XDP_PASS;
	if (l->ts) {
		__u64 bps = bits * 1000000000ULL / (now - l->ts);
		if (bps > 1000)
			verdict = XDP_DROP;
	}
	l->ts = now;
	return verdict;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare: a verdict from the rate since the previous packet depends on the clock, not a disagreement', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-b2b-'));
  const src = join(dir, 'bandwidth.c');
  writeFileSync(src, SRC);
  const cap = join(dir, 'spaced.pcap');
  const frame = Uint8Array.from({ length: 60 }, (_, i) => (i === 12 ? 0x08 : i));
  writeFileSync(cap, classicPcap(Array.from({ length: 5 }, (_, i) => ({ data: frame, sec: 1_700_000_000 + 2 * i }))));
  const r = spawnSync(process.execPath, [CLI, 'compare', src, cap, '--format', 'json', '--cflag', '-I/usr/include/x86_64-linux-gnu'], { encoding: 'utf8', timeout: 300_000 });
  const out = JSON.parse(r.stdout) as { differing: number; rows: { sim: { action: string }; kernel: { action: string }; status: string }[] };
  // The sides do differ (the kernel drops packets 1-4, the simulator passes them) ...
  assert.deepEqual(out.rows.map((x) => `${x.sim.action}/${x.kernel.action}`), ['XDP_PASS/XDP_PASS', ...Array(4).fill('XDP_PASS/XDP_DROP')], r.stdout.slice(0, 2000));
  // ... and that is reported as depending on the clock, with exit status 0.
  assert.deepEqual(out.rows.map((x) => x.status), ['same', ...Array(4).fill('clock/random')]);
  assert.deepEqual([r.status, out.differing], [0, 0], r.stdout.slice(0, 3000) + r.stderr);
});
