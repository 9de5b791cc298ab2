// A program that samples packets with bpf_get_prandom_u32 (`if (random & 7) return`) and counts the sampled ones in a
// map slot per packet: the kernel and the simulator sample different packets, so the counters differ, but only where
// the random source decides. compare's variant runs include random streams of all zeros and all ones, so every slot
// the sampling touches changes in a variant and the map is reported as depending on the random source, with no
// difference left. With only the complemented and reseeded streams, about half the slots the kernel alone sampled
// stayed unexplained and compare reported a disagreement (found on CiZ01/bxdp's rcms, a count-min sketch at 1/8).
// The same program without the sampling must agree exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareWithKernel } from '../../simulator/kernel-compare.ts';
import { loadProgramFileWithObject } from '../../simulator/session.ts';
import { kernelOrSkip } from '../kernel/runner.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } cnt SEC(".maps");
SEC("xdp") int prog(struct xdp_md *ctx) {
  unsigned char *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  if (d + 20 > e) return XDP_PASS;
#ifdef SAMPLE
  if (bpf_get_prandom_u32() & 7) return XDP_DROP;
#endif
  __u32 k = d[14] & 63;
  __u64 *v = bpf_map_lookup_elem(&cnt, &k);
  if (v) *v += 1;
  return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('compare: counters of packets sampled with bpf_get_prandom_u32 depend on the random source, not a difference', (t) => {
  if (kernelOrSkip(t)) return;
  const frames = Array.from({ length: 128 }, (_, i) => {
    const f = new Uint8Array(64);
    f[12] = 0x08;
    f[14] = i & 63;
    return { frame: f, tsNs: BigInt(i) * 1_000_000n };
  });
  for (const sample of [true, false]) {
    const path = join(mkdtempSync(join(tmpdir(), 'xdp-lens-sampling-')), 'sample.bpf.c');
    writeFileSync(path, (sample ? '#define SAMPLE\n' : '') + SOURCE);
    const { object, objectPath } = loadProgramFileWithObject(path);
    const r = compareWithKernel(objectPath, object, frames);
    assert.equal(r.available, true, r.reason);
    assert.equal(r.differing, 0, JSON.stringify(r.rows.filter((x) => x.status === 'differs').slice(0, 3)));
    assert.equal(r.mapsDiffering, 0, JSON.stringify(r.maps.filter((m) => !m.equal)).slice(0, 600));
    const cnt = r.maps.find((m) => m.map === 'cnt');
    assert.ok(cnt, 'cnt compared');
    assert.deepEqual(cnt.differences, []);
    // Sampled: the kernel and the simulator counted different packets, which only the random source explains.
    if (sample) assert.ok(cnt.clockRandom.length > 0, 'the sampled counters differ from the kernel\'s');
    else assert.deepEqual(cnt.clockRandom, []);
  }
});
