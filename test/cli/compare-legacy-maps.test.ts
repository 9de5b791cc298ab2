// `xdp-lens compare` on objects with legacy SEC("maps") definitions (struct bpf_map_def and iproute2's 36-byte
// struct bpf_elf_map), which bpftool's libbpf (>= 1.0) refuses to open: the kernel side gets a copy in which they are
// BTF-defined maps of the same shape, a static map (referenced through the section symbol and an offset) included,
// and iproute2's maps of maps hold the maps their inner_id/inner_idx place there. Both sides must load, run and agree.
// Programs written for this test. Needs root and bpftool; skips otherwise (fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { verifyWithKernel } from '../../simulator/analysis/verifier.ts';
import { compareJson, compareOrSkip, spacedCase, type CompareOut } from './compare-setup.ts';

const UAPI = ['--cflag', '-I/usr/include/x86_64-linux-gnu'];

// Three maps in SEC("maps"); the middle one is static, so the program names it as "maps + 20".
const PLAIN = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct old_def { unsigned int type, key_size, value_size, max_entries, map_flags; };

struct old_def SEC("maps") lg_bytes = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 4 };
static struct old_def SEC("maps") lg_seen = { .type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 4, .max_entries = 64, .map_flags = BPF_F_NO_PREALLOC };
struct old_def SEC("maps") lg_verdict = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1 };

SEC("xdp")
int legacy_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 k = (end - data) & 3, zero = 0, one = 1;
	__u64 *c = bpf_map_lookup_elem(&lg_bytes, &k);
	if (c)
		*c += end - data;
	if (data + 14 > end)
		return XDP_ABORTED;
	__u32 b = ((unsigned char *)data)[1];
	__u32 *v = bpf_map_lookup_elem(&lg_seen, &b);
	if (v)
		(*v)++;
	else
		bpf_map_update_elem(&lg_seen, &b, &one, BPF_ANY);
	__u32 *verdict = bpf_map_lookup_elem(&lg_verdict, &zero);
	return verdict ? *verdict : XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare loads legacy SEC("maps") objects on the kernel side, static maps and seeds included, and both sides agree', (t) => {
  if (compareOrSkip(t)) return;
  const { src, cap } = spacedCase('xdp-lens-compare-legacy-', 'legacy', PLAIN);
  const seed = join(dirname(src), 'seed.json');
  writeFileSync(seed, JSON.stringify({ lg_verdict: [{ key: '00000000', value: '01000000' }] }));
  const { status, out, stdout, stderr } = compareJson<CompareOut>([src, cap, ...UAPI, '--maps', seed]);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
  // The kernel took the seed (XDP_DROP), and every map was compared, the static one with the entries it gathered.
  assert.deepEqual(out.rows.map((r) => r.kernel?.retval), [1, 1, 1, 1, 1]);
  assert.deepEqual(out.maps.map((m) => m.map).sort(), ['lg_bytes', 'lg_seen', 'lg_verdict']);
});

test('compare: a legacy object compiled without -g (no BTF at all) gets BTF of its own for its maps on the kernel side', (t) => {
  if (compareOrSkip(t)) return;
  const { src, cap } = spacedCase('xdp-lens-compare-legacy-nobtf-', 'legacy', PLAIN);
  const obj = src.replace(/\.c$/, '.o');
  const cc = spawnSync('clang', ['-O2', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', obj], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  const seed = join(dirname(src), 'seed.json');
  writeFileSync(seed, JSON.stringify({ lg_verdict: [{ key: '00000000', value: '03000000' }] }));
  const { status, out, stdout, stderr } = compareJson<CompareOut>([obj, cap, '--maps', seed]);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
  assert.deepEqual(out.rows.map((r) => r.kernel?.retval), [3, 3, 3, 3, 3]);
  assert.deepEqual(out.maps.map((m) => m.map).sort(), ['lg_bytes', 'lg_seen', 'lg_verdict']);
});

// iproute2's struct bpf_elf_map: lg_outer (inner_id 7) holds lg_slots (id 7, inner_idx 1) at index 1 when loaded.
const ELF_MAPS = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct elf_def { unsigned int type, key_size, value_size, max_entries, flags, id, pinning, inner_id, inner_idx; };

struct elf_def SEC("maps") lg_slots = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 8, .id = 7, .inner_idx = 1 };
struct elf_def SEC("maps") lg_outer = { .type = BPF_MAP_TYPE_ARRAY_OF_MAPS, .key_size = 4, .value_size = 4, .max_entries = 2, .inner_id = 7 };
static struct elf_def SEC("maps") lg_types = { .type = BPF_MAP_TYPE_HASH, .key_size = 2, .value_size = 8, .max_entries = 16, .pinning = 2 };

SEC("xdp")
int legacy_slots(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 14 > end)
		return XDP_DROP;
	__u16 proto = *(__u16 *)(data + 12);
	__u64 one = 1, *h = bpf_map_lookup_elem(&lg_types, &proto);
	if (h)
		__sync_fetch_and_add(h, 1);
	else
		bpf_map_update_elem(&lg_types, &proto, &one, BPF_ANY);
	__u32 slot = 1;
	void *m = bpf_map_lookup_elem(&lg_outer, &slot);
	if (!m)
		return XDP_ABORTED;
	__u32 k = ((unsigned char *)data)[3] & 7;
	__u32 *c = bpf_map_lookup_elem(m, &k);
	if (c)
		*c += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare: iproute2 struct bpf_elf_map maps of maps hold the maps inner_id/inner_idx place there, in the kernel too', (t) => {
  if (compareOrSkip(t)) return;
  const { src, cap } = spacedCase('xdp-lens-compare-legacy-elf-', 'elfmaps', ELF_MAPS);
  const { status, out, stdout, stderr } = compareJson<CompareOut>([src, cap, ...UAPI]);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
  assert.deepEqual(out.rows.map((r) => r.kernel?.retval), [2, 2, 2, 2, 2]);
  const slots = out.maps.find((m) => m.map === 'lg_slots');
  assert.ok(slots?.equal, JSON.stringify(out.maps));
});

// The kernel tier of `check` loads legacy objects the same way: the verifier's refusal is reported, not "not run".
const UNCHECKED = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct old_def { unsigned int type, key_size, value_size, max_entries, map_flags; };
struct old_def SEC("maps") lg_count = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 4 };

SEC("xdp")
int legacy_past_check(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 14 > end)
		return XDP_PASS;
	__u32 k = data[20] & 3;
	__u64 *c = bpf_map_lookup_elem(&lg_count, &k);
	if (c)
		*c += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('the kernel tier of check verifies legacy SEC("maps") objects and reports the refusal on its line', (t) => {
  if (compareOrSkip(t)) return;
  const { src } = spacedCase('xdp-lens-check-legacy-', 'unchecked', UNCHECKED);
  const obj = src.replace(/\.c$/, '.o');
  const cc = spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', obj], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  const r = verifyWithKernel(obj, src);
  assert.equal(r.skipped, undefined);
  assert.deepEqual(r.findings.map((f) => [f.line, f.rule]), [[13, 'unchecked-packet-access']], JSON.stringify(r.findings));
  assert.match(r.findings[0]!.message, /kernel verifier/);
});
