// `xdp-lens compare` on objects with custom `.bss.*` sections (`__attribute__((section(".bss.name")))`), which
// bpftool's libbpf (1.1) refuses ("bad map relo against ... in section '.bss.name'"): the kernel side gets them as
// zero-filled `.data.*` sections, and their maps are compared under the object's names, a seeded one and one whose
// `.data.*` name another section already has included. Program written for this test. Needs root and bpftool;
// skips otherwise (fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLI, compareJson, compareOrSkip, spacedCase, type CompareOut } from './compare-setup.ts';

const UAPI = ['--cflag', '-I/usr/include/x86_64-linux-gnu'];

const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 seen __attribute__((section(".bss.stats")));
__u32 last_len __attribute__((section(".bss.stats")));
__u32 verdict __attribute__((section(".bss.cfg")));
__u32 first_len __attribute__((section(".data.stats"))) = 7;
__u64 total;

SEC("xdp")
int count_bss(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	seen++;
	if (first_len == 7)
		first_len = len + seen;
	last_len = len ^ (__u32)seen;
	total += len;
	return verdict ? verdict : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare loads custom .bss.* sections on the kernel side as .data.*, seeds them, and compares their maps under their own names', (t) => {
  if (compareOrSkip(t)) return;
  const { src, cap } = spacedCase('xdp-lens-compare-bss-', 'custom_bss', SRC);
  const seed = join(dirname(src), 'seed.json');
  writeFileSync(seed, JSON.stringify({ '.bss.cfg': [{ key: '00000000', value: '01000000' }] }));
  const { status, out, stdout, stderr } = compareJson<CompareOut>([src, cap, ...UAPI, '--maps', seed]);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
  // The kernel took the seed (XDP_DROP) and every global-data map was compared, the renamed ones by their own names.
  assert.deepEqual(out.rows.map((r) => r.kernel?.retval), [1, 1, 1, 1, 1]);
  const names = out.maps.map((m) => m.map);
  for (const n of ['.bss.stats', '.bss.cfg', '.data.stats']) assert.ok(names.includes(n), `${n} not compared: ${names.join(', ')}`);
  assert.ok(names.some((n) => n.endsWith('.bss')), names.join(', '));
});

test('check --kernel runs the verifier on objects with custom .bss.* sections', (t) => {
  if (compareOrSkip(t)) return;
  const { src } = spacedCase('xdp-lens-check-bss-', 'custom_bss', SRC);
  const r = spawnSync(process.execPath, [CLI, 'check', src, '--kernel', ...UAPI], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /not run|could not open/, r.stdout + r.stderr);
});
