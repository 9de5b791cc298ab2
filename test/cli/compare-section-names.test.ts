// `xdp-lens compare` on programs in sections libbpf gives no type (`SEC("XDPCNT")`, as iproute2's
// `ip link set dev D xdp obj F sec XDPCNT` loads them): run runs them as XDP, and so does compare now (the kernel
// side loads the section under the name `xdp`); a section libbpf names another type is still not compared.
// Programs written for this test. Needs root and bpftool; skips otherwise (fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadedAsXdp } from '../../simulator/kernel-load.ts';
import { compareJson, compareOrSkip, spacedCase, type CompareOut } from './compare-setup.ts';

const UAPI = ['--cflag', '-I/usr/include/x86_64-linux-gnu'];

const src = (section: string) => `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } seen SEC(".maps");

SEC("${section}")
int count_any(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&seen, &k);
	if (v)
		*v += ctx->data_end - ctx->data;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare runs a program in a section libbpf gives no type as XDP, as run does, and both sides agree', (t) => {
  if (compareOrSkip(t)) return;
  const { src: file, cap } = spacedCase('xdp-lens-compare-section-', 'legacy_section', src('XDPCNT'));
  const { status, out, stdout, stderr } = compareJson<CompareOut>([file, cap, ...UAPI]);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
  assert.deepEqual(out.rows.map((r) => r.kernel?.retval), [1, 1, 1, 1, 1]);
  assert.deepEqual(out.maps.map((m) => m.map), ['seen']);
});

test('compare still refuses programs in sections libbpf gives another type', () => {
  for (const s of ['classifier', 'tc', 'tc/ingress', 'kprobe/x', 'socket1', 'cgroup_skb/ingress', 'tracepoint/a/b', 'lwt_in']) assert.equal(loadedAsXdp(s), false, s);
  for (const s of ['xdp', 'xdp_sock', 'XDPDRA', 'prog', 'filter_main', 'tcp_filter', 'socketless']) assert.equal(loadedAsXdp(s), true, s);
});
