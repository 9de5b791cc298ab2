// Machine.runBatch on the compiled engine against the kernel: packets run back to back through one batch entry
// (compiled/engine.ts executeXdpPacket: the state left by the packet before, the generated function called straight),
// with a bpf-to-bpf call and a bounded loop over the packet, a map lookup and a global counter, a packet write, and
// budgets that run out part-way. Every packet's retval and bytes after the run, and the maps at the end, must be the
// kernel's (BPF_PROG_TEST_RUN); a run whose budget ran out must fault where the interpreter's does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { mapsToJson } from '../../simulator/vm/map-json.ts';
import { BATCH_WROTE, createMachine, type BatchResults, type Engine, type PacketBatch } from '../../simulator/vm/machine.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';
import { compileTestSource } from './kernel-agree.ts';
import { layOut } from './batch-layout.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } stats SEC(".maps");
__u64 seen = 0;
static __attribute__((noinline)) __u32 fold(const __u8 *p, const __u8 *end) {
  __u32 s = 7;
  for (int i = 0; i < 40; i++) {
    if (p + i + 1 > end) break;
    s = s * 31 + p[i];
  }
  return s;
}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  seen += 1;
  if (data + 20 > end) return XDP_DROP;
  __u32 s = fold(data + 14, end);
  *(__u32 *)(data + 14) = s;
  __u32 k = s & 3;
  __u64 *v = bpf_map_lookup_elem(&stats, &k);
  if (v) *v += s & 0xff;
  return s % 3 == 0 ? XDP_TX : s % 3 == 1 ? XDP_PASS : XDP_DROP;
}
`;

const HEADROOM = 256;
const env: Environment = { nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };

/** The packets through runBatch in batches of `size`: per packet retval, the bytes after its run, and a fault kind. */
function batched(obj: LoadedObject, packets: Uint8Array[], size: number, nrCpus: number, engine: Engine, budget?: number) {
  const m = createMachine(obj, { engine, nrCpus, budget });
  const frame = m.packetBuffer(4096);
  const total = packets.reduce((n, p) => n + p.length, 0);
  const bytes = m.packetBuffer(total);
  const { offset, length } = layOut(bytes, packets);
  const batch: PacketBatch = { bytes, offset, length, headroom: HEADROOM };
  const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0 };
  const res: BatchResults = {
    retval: new Uint32Array(packets.length), exitInsn: new Int32Array(packets.length), steps: new Int32Array(packets.length),
    flags: new Uint8Array(packets.length), out: { bytes: new Uint8Array(1 << 16), at: new Int32Array(packets.length), used: 0 }, result: undefined,
  };
  const per: { retval: number; out: Uint8Array; steps: number; fault?: string; faultInsn?: number }[] = [];
  for (let from = 0; from < packets.length; ) {
    const next = m.runBatch('prog', buff, batch, from, Math.min(packets.length, from + size), env, res);
    for (let i = from; i < next; i++) {
      const o = res.out!.at[i]!;
      const out = (res.flags![i]! & BATCH_WROTE) === 0 || o < 0 ? packets[i]! : res.out!.bytes.slice(o, o + packets[i]!.length);
      const whole = i === next - 1 ? res.result : undefined;
      per.push({ retval: res.retval[i]!, out, steps: res.steps[i]!, fault: whole?.fault?.kind, faultInsn: whole?.fault?.insn });
    }
    res.out!.used = 0;
    from = next;
  }
  return { per, maps: normaliseSimMaps(mapsToJson(m.maps)) };
}

test('runBatch (compiled engine, one batch entry per packet) gives the kernel\'s retval, packet bytes and maps; budgets part-way fault as the interpreter does', (t) => {
  if (kernelOrSkip(t)) return;
  const { path, objectPath } = compileTestSource('batch-entry', SOURCE);
  // Lengths 14-133: a few too short for the program (dropped before the call), the loop stopping at the end or at 40.
  const packets = Array.from({ length: 48 }, (_, i) => Uint8Array.from({ length: 14 + ((i * 37) % 120) }, (_, k) => (k * 13 + i * 7 + (k >> 3)) & 0xff));
  const kernel = runKernel(objectPath, 'prog', packets, { objectName: defaultObjectName(path) });
  const obj = loadProgramFile(path);
  const problems: string[] = [];
  for (const size of [48, 5, 1]) {
    const got = batched(obj, packets, size, kernel.cpus, 'compiled');
    got.per.forEach((g, i) => {
      const k = kernel.results[i]!;
      if (g.fault) problems.push(`batches of ${size}, packet ${i}: fault ${g.fault}`);
      if (g.retval !== k.retval) problems.push(`batches of ${size}, packet ${i}: retval kernel ${k.retval} runBatch ${g.retval}`);
      const d = diffBytes(k.out, g.out);
      if (d) problems.push(`batches of ${size}, packet ${i}: ${d}`);
    });
    problems.push(...diffMaps(kernel.maps, got.maps).map((d) => `batches of ${size}: ${d}`));
  }
  assert.deepEqual(problems.slice(0, 10), []);
  const verdicts = new Set(kernel.results.map((r) => r.retval));
  assert.ok(verdicts.has(1) && verdicts.has(2) && verdicts.has(3), `the packets take every return (${[...verdicts]})`);
  // Budgets that run out in the entry's first block, in the loop of the called function and after it: the batch
  // entry's counting form and fault, against the interpreter's (steps and fault instruction).
  for (const budget of [3, 40, 150, 260]) {
    const want = batched(obj, packets.slice(0, 12), 12, 1, 'interp', budget);
    const got = batched(obj, packets.slice(0, 12), 4, 1, 'compiled', budget);
    assert.deepEqual(got.per.map((g) => [g.retval, g.steps, g.fault, g.faultInsn]), want.per.map((g) => [g.retval, g.steps, g.fault, g.faultInsn]), `budget ${budget}`);
    assert.deepEqual(got.maps, want.maps, `budget ${budget}: maps`);
  }
});
