// `xdp-lens compare --maps` with map values bpftool's batch files cannot carry: a batch line holds at most 4,096 words
// and `hex` gives every byte as a word, so a value of more than about 4,000 bytes (a load balancer's service entry:
// davidcoles/xvs has 24,576-byte values) failed the whole kernel side with "reading batch file failed: Argument list
// too long" (exit 2, nothing compared). The long entries now go through bpftool command lines of their own, in order
// with the batched short ones. Program written for this test. Needs root and bpftool; skips otherwise (fails under
// XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { compareJson, compareOrSkip } from './compare-setup.ts';

const UAPI = ['--cflag', '-I/usr/include/x86_64-linux-gnu'];

// xlc_svc (a HASH of 8,008-byte values): the entry of key (frame length & 1) holds the verdict at byte 8,000 and
// counts the frames it decided at byte 8,004; a frame whose key is absent passes. xlc_small (short entries seeded
// before and after the long ones) adds its slot 0 to the verdict so that a missing short entry shows too.
const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct svc { __u8 pad[8000]; __u32 verdict; __u32 count; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, struct svc); } xlc_svc SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } xlc_small SEC(".maps");

SEC("xdp")
int large_value(struct xdp_md *ctx)
{
	__u32 key = (ctx->data_end - ctx->data) & 1, zero = 0;
	struct svc *s = bpf_map_lookup_elem(&xlc_svc, &key);
	__u32 *add = bpf_map_lookup_elem(&xlc_small, &zero);
	if (!s || !add)
		return XDP_PASS;
	s->count++;
	return s->verdict + *add;
}

char LICENSE[] SEC("license") = "GPL";
`;

const le32 = (n: number) => Buffer.from(Uint32Array.of(n).buffer).toString('hex');
const svc = (verdict: number) => '00'.repeat(8000) + le32(verdict) + le32(0);

test('compare seeds map values too long for a bpftool batch line on the kernel side, in order with the short ones', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-large-'));
  const src = join(dir, 'large.c');
  writeFileSync(src, SRC);
  const seed = join(dir, 'seed.json');
  // Even lengths: 0 + 3 (XDP_TX); odd lengths: 0 + 1 (XDP_DROP). xlc_small's slot 0 is written short, long, short.
  writeFileSync(seed, JSON.stringify({
    xlc_small: [{ key: le32(1), value: le32(7) }, { key: le32(0), value: le32(0) }],
    xlc_svc: [{ key: le32(0), value: svc(3) }, { key: le32(1), value: svc(1) }],
  }));
  const cap = join(REPO, 'examples', 'demo.pcap');
  const { status, out, stdout, stderr } = compareJson<{ available: boolean; reason?: string; differing: number; mapsDiffering: number; rows: { sim: { retval: number; data: string }; kernel?: { retval: number } }[]; maps: { map: string; equal: boolean }[] }>([src, cap, ...UAPI, '--maps', seed]);
  assert.equal(out.available, true, out.reason);
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
  // The kernel took the long values: every frame's verdict is the one its entry holds at byte 8,000.
  for (const row of out.rows) assert.equal(row.kernel?.retval, (row.sim.data.length / 2) % 2 === 1 ? 1 : 3);
  assert.equal(new Set(out.rows.map((x) => x.kernel?.retval)).size, 2, 'both entries were used');
  // The counters written at byte 8,004 are compared after the run, and agree.
  assert.deepEqual(out.maps.filter((m) => m.map.startsWith('xlc_')).map((m) => [m.map, m.equal]).sort(), [['xlc_small', true], ['xlc_svc', true]]);
});
