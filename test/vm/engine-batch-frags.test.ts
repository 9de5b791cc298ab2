// Machine.runBatch with multi-buffer frames (PacketBatch.linear): frames of 3,521..73,152 bytes laid out as test_run
// lays them out (3,520 bytes in the 4,096-byte frame after 256 of headroom, the rest in 4,096-byte fragments), mixed
// with linear ones, through an xdp.frags program that reads the length (bpf_xdp_get_buff_len), loads the last bytes
// (bpf_xdp_load_bytes), and on some frames stores across the linear/fragment boundary and into the last fragment
// (bpf_xdp_store_bytes) or shrinks or grows the tail (bpf_xdp_adjust_tail). Every frame's retval and bytes after the
// run (linear part then fragments: test_run's data_out), and the maps, must be the kernel's; the compiled engine's
// batch the reference's (run() per frame); BatchResults.frags/fragBytes what the frame holds after its run; flags 0
// exactly for the frames the program only read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { Session, loadProgramFile } from '../../simulator/session.ts';
import { mapsToJson } from '../../simulator/vm/map-json.ts';
import { createMachine, type BatchResults, type Engine, type PacketBatch } from '../../simulator/vm/machine.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';
import { compileTestSource } from './kernel-agree.ts';
import { layOut } from './batch-layout.ts';
import { fragsProgram } from './frags-program.ts';

const HEADROOM = 256;
const LINEAR = 3520;
const env: Environment = { nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };

interface Per { retval: number; out: Uint8Array; flags: number; frags: number; fragBytes: number; fault?: string }

/** The packets through runBatch in calls of `size`, out.bytes of `outSize` (small: batches end at a changed frame). */
function batched(obj: LoadedObject, packets: Uint8Array[], size: number, outSize: number, nrCpus: number, engine: Engine): { per: Per[]; maps: ReturnType<typeof normaliseSimMaps> } {
  const m = createMachine(obj, { engine, nrCpus });
  const frame = m.packetBuffer(4096);
  const bytes = m.packetBuffer(packets.reduce((n, p) => n + p.length, 0));
  const { offset, length } = layOut(bytes, packets);
  const clean = { from: 0, to: 0 };
  const batch: PacketBatch = { bytes, offset, length, headroom: HEADROOM, linear: LINEAR, clean };
  const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM, dataMeta: HEADROOM, frags: [], fragSize: 4096, ingressIfindex: 1, rxQueueIndex: 0 };
  const n = packets.length;
  const res: BatchResults = {
    retval: new Uint32Array(n), exitInsn: new Int32Array(n), steps: new Int32Array(n), flags: new Uint8Array(n), data: new Int32Array(n),
    dataEnd: new Int32Array(n), dataMeta: new Int32Array(n), frags: new Int32Array(n), fragBytes: new Int32Array(n),
    out: { bytes: new Uint8Array(outSize), at: new Int32Array(n), used: 0 }, result: undefined,
  };
  const per: Per[] = [];
  for (let from = 0; from < n; ) {
    const next = m.runBatch('prog', buff, batch, from, Math.min(n, from + size), env, res);
    for (let i = from; i < next; i++) {
      const o = res.out!.at[i]!;
      const start = Math.min(res.data![i]!, res.dataMeta![i]!);
      const len = res.dataEnd![i]! - start + res.fragBytes![i]!;
      let out: Uint8Array;
      if (res.flags![i] === 0) out = packets[i]!;
      else if (o >= 0) out = res.out!.bytes.slice(o, o + len);
      else {
        // The last frame of the call, whose bytes did not fit: in the frame and buff.frags.
        assert.equal(i, next - 1, 'only the last frame of a call is left unrecorded');
        out = new Uint8Array([...buff.frame.subarray(start, buff.dataEnd), ...buff.frags.flatMap((f) => [...f])]);
      }
      per.push({ retval: res.retval[i]!, out, flags: res.flags![i]!, frags: res.frags![i]!, fragBytes: res.fragBytes![i]!, fault: i === next - 1 ? res.result?.fault?.kind : undefined });
    }
    res.out!.used = 0;
    from = next;
  }
  return { per, maps: normaliseSimMaps(mapsToJson(m.maps)) };
}

/** Lengths 3,521..73,152 (one to seventeen fragments, a fragment of one byte) and linear ones between them. */
const LENGTHS = [3521, 60, 3600, 7616, 7617, 3520, 11713, 20000, 1500, 40000, 73152, 73151, 5000, 64, 3522, 69632, 8000, 33333, 3525, 12000];

function packetsOf(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const len = LENGTHS[i % LENGTHS.length]!;
    const p = Uint8Array.from({ length: len }, (_, k) => (k * 29 + i * 11 + (k >> 7)) & 0xff);
    // The program's choice (last byte % 5) and its tail amounts: every path on every kind of frame.
    p[len - 1] = (i * 3 + (i >> 2)) % 5;
    p[len - 2] = (i * 53) & 0xff;
    p[len - 3] = (i * 7) & 0xff;
    return p;
  });
}

test('runBatch with multi-buffer frames (PacketBatch.linear) gives the kernel\'s retval, bytes and maps, and the reference\'s results', (t) => {
  if (kernelOrSkip(t)) return;
  const { path, objectPath } = compileTestSource('batch-frags', fragsProgram('xdp.frags'));
  const packets = packetsOf(60);
  const kernel = runKernel(objectPath, 'prog', packets, { objectName: defaultObjectName(path) });
  const obj = loadProgramFile(path);
  const problems: string[] = [];
  const reference = batched(obj, packets, 60, 1 << 22, kernel.cpus, 'interp');
  // The per-frame path (Session.runPacket: layoutXdpBuff and run() per frame) on the compiled engine, as the reference.
  const session = new Session(obj, { program: 'prog', engine: 'compiled' });
  packets.forEach((p, i) => {
    const s = session.runPacket(p);
    const r = reference.per[i]!;
    if (s.retval !== r.retval || diffBytes(s.out, r.out)) problems.push(`frame ${i}: per-frame run ${s.retval} ${diffBytes(s.out, r.out) ?? ''} against the reference batch ${r.retval}`);
  });
  for (const [engine, size, outSize] of [['compiled', 60, 1 << 22], ['compiled', 7, 50_000], ['compiled', 1, 1 << 22], ['interp', 9, 50_000]] as const) {
    const got = batched(obj, packets, size, outSize, kernel.cpus, engine);
    const what = `${engine}, calls of ${size}, out ${outSize}`;
    got.per.forEach((g, i) => {
      const k = kernel.results[i]!;
      if (g.fault) problems.push(`${what}, frame ${i} (${packets[i]!.length} bytes): fault ${g.fault}`);
      if (g.retval !== k.retval) problems.push(`${what}, frame ${i} (${packets[i]!.length} bytes): retval kernel ${k.retval} runBatch ${g.retval}`);
      const d = diffBytes(k.out, g.out);
      if (d) problems.push(`${what}, frame ${i} (${packets[i]!.length} bytes): ${d}`);
      const r = reference.per[i]!;
      if (g.flags !== r.flags || g.frags !== r.frags || g.fragBytes !== r.fragBytes) problems.push(`${what}, frame ${i}: flags/frags/fragBytes ${[g.flags, g.frags, g.fragBytes]} reference ${[r.flags, r.frags, r.fragBytes]}`);
      // What the frame holds after its run: its fragments' bytes follow the linear part in data_out.
      const fragsIn = Math.max(0, packets[i]!.length - LINEAR);
      if (g.flags === 0 && (g.fragBytes !== fragsIn || g.frags !== Math.ceil(fragsIn / 4096))) problems.push(`${what}, frame ${i}: unchanged but fragments ${g.frags} of ${g.fragBytes} bytes`);
    });
    problems.push(...diffMaps(kernel.maps, got.maps).map((d) => `${what}: ${d}`));
  }
  assert.deepEqual(problems.slice(0, 12), []);
  // The frames take every path: unchanged (read only), stored into, shrunk, grown; each kind multi-buffer.
  const multi = reference.per.filter((_, i) => packets[i]!.length > LINEAR);
  assert.ok(multi.some((g) => g.flags === 0) && multi.some((g) => g.flags === 1) && multi.some((g) => g.flags >= 2), 'multi-buffer frames unchanged, written and moved');
  assert.ok(multi.some((g, i) => g.frags < Math.ceil((packets.filter((p) => p.length > LINEAR)[i]!.length - LINEAR) / 4096)), 'a shrink that takes a fragment away');
  assert.ok(new Set(kernel.results.map((r) => r.retval)).size >= 3, 'several verdicts');
});
