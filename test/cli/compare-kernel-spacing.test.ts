// `xdp-lens compare` on a program whose verdict depends on the time since the first packet: the kernel side runs
// each packet in a bpftool process of its own, milliseconds apart and more on a loaded machine, so a verdict that
// flips once some hundreds of milliseconds have passed may flip in the kernel where no fixed spacing of the
// simulator's variants reaches it (a token bucket refilled after fifty slow runs). One variant gives each packet the
// time its kernel run started, so such rows are told apart as clock-dependent. A bpftool on PATH that waits 60 ms
// before each `prog run` stands for the loaded machine. Program written for this test. Needs root and bpftool;
// skips otherwise (fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { classicPcap } from '../net/pcap-file.ts';
import { compareJson, compareOrSkip, type CompareOut } from './compare-setup.ts';

const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } first SEC(".maps");

SEC("xdp")
int open_after(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 now = bpf_ktime_get_ns();
	__u64 *t = bpf_map_lookup_elem(&first, &k);

	if (!t)
		return XDP_ABORTED;
	if (*t == 0)
		*t = now;
	/* 12 packets: 220 ms apart at most in the simulator's variants (20 ms each), 660 ms or more in the kernel here. */
	return now - *t > 300 * 1000 * 1000 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare explains a verdict that flips with the kernel side\'s own time between packets', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-spacing-'));
  const src = join(dir, 'open.c');
  writeFileSync(src, SRC);
  const cap = join(dir, 'frames.pcap');
  const frame = Uint8Array.from({ length: 60 }, (_, i) => (i === 12 ? 0x08 : i));
  // All captured at the same instant: only the variants' own spacings move the clock between packets.
  writeFileSync(cap, classicPcap(Array.from({ length: 12 }, () => ({ data: frame, sec: 1_700_000_000, usec: 0 }))));
  const real = spawnSync('sh', ['-c', 'command -v bpftool'], { encoding: 'utf8' }).stdout.trim();
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'bpftool'), `#!/bin/sh\n[ "$1 $2" = "prog run" ] && sleep 0.06\nexec ${real} "$@"\n`);
  chmodSync(join(bin, 'bpftool'), 0o755);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
  const { status, out, stdout, stderr } = compareJson<CompareOut>([src, cap, '--cflag', '-I/usr/include/x86_64-linux-gnu', '--limit', '12'], env);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  const kernel = out.rows.map((r) => r.kernel?.retval);
  // The kernel passed the later packets (its runs were more than 60 ms apart) ...
  assert.equal(kernel[11], 2, JSON.stringify(kernel));
  assert.equal(kernel[0], 1, JSON.stringify(kernel));
  // ... and those rows are clock-dependent, not differences.
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
  assert.ok(out.clockRandom >= 1, stdout.slice(0, 2000));
});

// A rate limit that lets a packet through when the one before it ran long enough ago (meimeitou/bgo's firewall adds
// one token per 1/pps seconds between two packets, so one gap of 33 ms lets a packet through at 30 packets/s). The
// kernel read the clock somewhere inside each bpftool run, so the time between two packets in the kernel can be longer
// than both the time between their runs' starts and the time between their ends: here bpftool waits 150 ms after the
// run of an even packet and 150 ms before the run of an odd one, so an odd packet follows the one before it by 300 ms
// or more in the kernel but by about 150 ms from start to start and from end to end. Before the variants that
// alternate starts and ends, the odd packets were differences ("XDP_DROP" against the kernel's "XDP_PASS").
const GAP_SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } last SEC(".maps");

SEC("xdp")
int after_gap(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 now = bpf_ktime_get_ns();
	__u64 *t = bpf_map_lookup_elem(&last, &k);

	if (!t)
		return XDP_ABORTED;
	__u64 gap = now - *t;
	*t = now;
	return gap > 250 * 1000 * 1000 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare explains a verdict that depends on one gap longer in the kernel than its runs\' start-to-start and end-to-end times', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-gap-'));
  const src = join(dir, 'gap.c');
  writeFileSync(src, GAP_SRC);
  const cap = join(dir, 'frames.pcap');
  const frame = Uint8Array.from({ length: 60 }, (_, i) => (i === 12 ? 0x08 : i));
  writeFileSync(cap, classicPcap(Array.from({ length: 8 }, () => ({ data: frame, sec: 1_700_000_000, usec: 0 }))));
  const real = spawnSync('sh', ['-c', 'command -v bpftool'], { encoding: 'utf8' }).stdout.trim();
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // The packet's number is the suffix of its data_in file (in.N).
  writeFileSync(join(bin, 'bpftool'), [
    '#!/bin/sh',
    'if [ "$1 $2" != "prog run" ]; then exec ' + real + ' "$@"; fi',
    'n=0; for a in "$@"; do case "$a" in */in.*) n=${a##*.};; esac; done',
    'if [ $((n % 2)) -eq 1 ]; then sleep 0.15; ' + real + ' "$@"; r=$?; else ' + real + ' "$@"; r=$?; sleep 0.15; fi',
    'exit $r',
    '',
  ].join('\n'));
  chmodSync(join(bin, 'bpftool'), 0o755);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
  const { status, out, stdout, stderr } = compareJson<CompareOut>([src, cap, '--cflag', '-I/usr/include/x86_64-linux-gnu', '--limit', '8'], env);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  const kernel = out.rows.map((r) => r.kernel?.retval);
  // The kernel passed the odd packets (300 ms after the one before) and dropped the even ones after the first.
  assert.deepEqual(kernel.slice(1, 5), [2, 1, 2, 1], JSON.stringify(kernel));
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
});
