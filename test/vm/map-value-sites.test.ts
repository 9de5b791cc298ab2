// Map value regions found by the compiled engine's inline lookups (Memory.mapValueIdAt: a table per lookup site by the
// value's index, 64 entries, so keys 64 apart share an entry) and by its inline lddw of global data, against the
// kernel: per packet three lookups of one array map whose first use comes in an order the packet decides (so each
// run binds its value regions in another order), two of them of the same key (the kernel says the two pointers are
// equal, a third key's is not), keys 64 apart through the same sites, a per-CPU array of 200 entries, a .bss counter
// and a .rodata constant. Every packet's retval and the maps at the end must be the kernel's, on both engines, per
// packet (Session) and through Machine.runBatch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { mapsToJson } from '../../simulator/vm/map-json.ts';
import { createMachine, ENGINES, type BatchResults, type PacketBatch } from '../../simulator/vm/machine.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';
import { assertAgreesWithKernel, compileTestSource } from './kernel-agree.ts';
import { layOut } from './batch-layout.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 256); __type(key, __u32); __type(value, __u64); } cnt SEC(".maps");
struct pair { __u64 a, b; };
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 200); __type(key, __u32); __type(value, struct pair); } pc SEC(".maps");
__u64 total = 0;
const volatile __u32 salt = 0x5a;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 20 > end) return XDP_DROP;
  __u32 k1 = data[0], k2 = (data[0] + 64) & 255, k3 = data[1] % 200;
  __u64 *a, *b, *c;
  if (data[3] & 1) {
    b = bpf_map_lookup_elem(&cnt, &k2);
    a = bpf_map_lookup_elem(&cnt, &k1);
  } else {
    a = bpf_map_lookup_elem(&cnt, &k1);
    b = bpf_map_lookup_elem(&cnt, &k2);
  }
  c = bpf_map_lookup_elem(&cnt, &k1);
  if (!a || !b || !c) return XDP_ABORTED;
  *a += 1;
  *b += data[2];
  struct pair *p = bpf_map_lookup_elem(&pc, &k3);
  if (p) {
    p->a += 1;
    p->b += k1 ^ salt;
  }
  total += 1;
  if (a == c && a != b) return (data[3] & 2) ? XDP_TX : XDP_PASS;
  return XDP_DROP;
}
`;

const env: Environment = { nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };
const HEADROOM = 256;

test('map values through the inline lookups\' per-site tables and the inline lddw: the kernel\'s verdicts (pointer equality) and maps, per packet and batched, both engines', (t) => {
  if (kernelOrSkip(t)) return;
  // 300 packets: every first byte 0-255 (keys 64 apart share a table entry), the order of the first two lookups and
  // the verdict from byte 3; some shorter than the program reads (dropped).
  const packets = Array.from({ length: 300 }, (_, i) =>
    Uint8Array.from({ length: i % 37 === 5 ? 14 + (i % 6) : 20 + (i % 40) }, (_, k) => (k === 0 ? (i * 7) & 0xff : k === 3 ? (i >> 1) & 0xff : (k * 29 + i * 11) & 0xff)));
  const kernel = assertAgreesWithKernel('map-value-sites', SOURCE, packets);
  const verdicts = new Set(kernel.results.map((r) => r.retval));
  assert.ok(verdicts.has(1) && verdicts.has(2) && verdicts.has(3) && !verdicts.has(0), `pointers compared equal and unequal, short packets dropped (${[...verdicts]})`);

  // The same packets through Machine.runBatch (batches of 300 and 7), against the kernel.
  const { path, objectPath } = compileTestSource('map-value-sites-batch', SOURCE);
  const k = runKernel(objectPath, 'prog', packets, { objectName: defaultObjectName(path) });
  const obj = loadProgramFile(path);
  for (const engine of ENGINES) {
    for (const size of [300, 7]) {
      const m = createMachine(obj, { engine, nrCpus: k.cpus });
      const frame = m.packetBuffer(4096);
      const bytes = m.packetBuffer(packets.reduce((n, p) => n + p.length, 0));
      const { offset, length } = layOut(bytes, packets);
      const batch: PacketBatch = { bytes, offset, length, headroom: HEADROOM };
      const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0 };
      const res: BatchResults = { retval: new Uint32Array(packets.length), exitInsn: new Int32Array(packets.length), steps: new Int32Array(packets.length), result: undefined };
      const problems: string[] = [];
      for (let from = 0; from < packets.length; ) {
        const next = m.runBatch('prog', buff, batch, from, Math.min(packets.length, from + size), env, res);
        if (res.result?.fault) problems.push(`${engine} batches of ${size}, packet ${next - 1}: fault ${res.result.fault.kind}`);
        from = next;
      }
      packets.forEach((_, i) => {
        if (res.retval[i] !== k.results[i]!.retval) problems.push(`${engine} batches of ${size}, packet ${i}: retval kernel ${k.results[i]!.retval} runBatch ${res.retval[i]}`);
      });
      problems.push(...diffMaps(k.maps, normaliseSimMaps(mapsToJson(m.maps))).map((d) => `${engine} batches of ${size}: ${d}`));
      assert.deepEqual(problems.slice(0, 10), []);
    }
  }
});
