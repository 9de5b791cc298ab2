// `xdp-lens compare` on a program that measures the time a packet took (two bpf_ktime_get_ns readings, the difference
// summed in a map: davidcoles/xvs keeps such a latency counter in its settings map). The kernel's clock moves while a
// packet runs, so its sum is some hundreds of nanoseconds a packet; the simulator's clock stands still while a packet
// runs, so its sum is 0. Neither side is wrong: compare must report those bytes as clock-dependent (exit status 0),
// not as a difference (it did: "1 differing", exit 1). Program written for this test. Needs root and bpftool; skips
// otherwise (fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session, loadProgramFileWithObject } from '../../simulator/session.ts';
import { compareJson, compareOrSkip, spacedCase } from './compare-setup.ts';

const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct st { __u64 packets; __u64 latency; __u64 first; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct st); } xlc_lat SEC(".maps");

SEC("xdp")
int elapsed(struct xdp_md *ctx)
{
	__u64 start = bpf_ktime_get_ns();
	__u32 zero = 0;
	struct st *s = bpf_map_lookup_elem(&xlc_lat, &zero);
	if (!s)
		return XDP_ABORTED;
	s->packets++;
	s->latency += bpf_ktime_get_ns() - start;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare: the time a packet took, summed in a map, is clock-dependent, not a disagreement', (t) => {
  if (compareOrSkip(t)) return;
  const { src, cap } = spacedCase('xdp-lens-compare-elapsed-', 'elapsed', SRC);
  const { status, out, stdout, stderr } = compareJson<{ differing: number; mapsDiffering: number; maps: { map: string; equal: boolean; differences: string[]; clockRandom: string[] }[] }>([src, cap, '--cflag', '-I/usr/include/x86_64-linux-gnu']);
  const lat = out.maps.find((m) => m.map === 'xlc_lat');
  assert.ok(lat, JSON.stringify(out.maps));
  // The sides differ in the latency sum (the packet count agrees: 5 on both) ...
  assert.match(lat.clockRandom.join('\n'), /key 00000000: simulator 05000000000000000000000000000000/, JSON.stringify(lat));
  // ... and that is reported as depending on the clock, with exit status 0.
  assert.deepEqual([status, out.differing, out.mapsDiffering, lat.equal], [0, 0, 0, true], stdout.slice(0, 2000) + stderr);
});

test('a session whose clock moves on with every reading: monotonic, a packet sees time pass, the default stands still', () => {
  const dir = spacedCase('xdp-lens-elapsed-sim-', 'elapsed', SRC);
  const latency = (opts: { clockStepNs?: bigint }) => {
    const { object } = loadProgramFileWithObject(dir.src, { clangFlags: ['-I/usr/include/x86_64-linux-gnu'] });
    const s = new Session(object, opts);
    for (let i = 0; i < 3; i++) s.runPacket(new Uint8Array(60), { tsNs: BigInt(i) * 1_000_000n });
    const v = s.mapsJson({ all: true }).xlc_lat![0]!.value!;
    return Buffer.from(v, 'hex').readBigUInt64LE(8);
  };
  assert.equal(latency({}), 0n);
  assert.equal(latency({ clockStepNs: 7n }), 21n);
});
