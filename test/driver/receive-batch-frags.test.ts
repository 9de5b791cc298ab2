// Driver.receiveBatch with multi-buffer frames (longer than the linear part of a receive buffer: the rest in fragments,
// Machine.runBatch's PacketBatch.linear): `xdp-lens run` batches every frame the kernel runs, up to 73,152 bytes
// (batchFrameMax), instead of sending the longer ones down the frame-by-frame path. Packet for packet the same as
// receiveAt: verdict, path, outcome, note (the frame-size note of a program without xdp.frags, joined with the stack's
// too-short note), the bytes after the program (linear part then fragments), then the same driver counters (pages per
// fragment, fragments adjust_tail took away back to the pool, rx_multibuf) and maps; with views and without (the
// driver settling plain drops and passes itself: `plain`), native and read-only pages, two profiles (mlx5's 4,096-byte
// fragments, i40e's 1,536). The xdp.frags program's verdicts and bytes are the kernel's (BPF_PROG_TEST_RUN).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noClang } from './helpers.ts';
import { defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { compileTestSource } from '../vm/kernel-agree.ts';
import { fragsProgram } from '../vm/frags-program.ts';
import { Driver, NO_FRAME, type DriverPacket } from '../../simulator/driver/rx.ts';
import { PROFILES, type DriverMode } from '../../simulator/driver/profiles.ts';
import { ACTIONS, loadProgramFile, Session } from '../../simulator/session.ts';
import { XDP_MAX_FRAME } from '../../simulator/net/capture.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';


/** Linear and multi-buffer lengths (1 to 17 fragments of 4,096 bytes, up to 47 of 1,536), mixed. */
const LENGTHS = [3521, 60, 3600, 7616, 7617, 3520, 11713, 20000, 1500, 40000, 73152, 73151, 5000, 64, 3522, 69632, 8000, 33333, 3525, 12000, 2048, 1729, 1730];

/** IPv4/UDP frames (IP total length as the frame's, cut to 16 bits, or the most there is). */
function framesOf(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const len = LENGTHS[i % LENGTHS.length]!;
    const p = Uint8Array.from({ length: len }, (_, k) => (k * 29 + i * 11 + (k >> 7)) & 0xff);
    p.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0], 0);
    // Every seventh claims 65,535 bytes of IP: a passed one is too short for its header (the stack's note).
    const ip = i % 7 === 3 ? 0xffff : len - 14;
    p.set([0x45, 0, (ip >> 8) & 0xff, ip & 0xff, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
    // The program's choice (last byte % 6) and its tail amounts and stores: every path on every kind of frame.
    p[len - 1] = (i * 5 + (i >> 2)) % 6;
    p[len - 2] = (i * 53) & 0xff;
    p[len - 3] = (i * 7) & 0xff;
    p[len - 4] = i & 0xff;
    return p;
  });
}

function seen(r: DriverPacket, frame?: Uint8Array) {
  const out = r.out === NO_FRAME ? frame! : r.out;
  return {
    retval: r.retval, action: r.action, invalid: r.invalidAction, path: r.path, outcome: r.outcome, note: r.note, target: r.target, copied: r.copied,
    out: Buffer.from(out).toString('hex'), metaLen: r.metaLen, fault: r.fault?.kind, exit: r.run.exitInsn, line: r.run.exitLoc?.line,
  };
}

/**
 * The frames through receiveBatch in batches of `size` (bytes enough for the longest), with views or without; without,
 * the packets receiveBatch settles itself (`plain`) written out as receiveBatch's documentation describes them.
 */
function batched(obj: LoadedObject, mode: DriverMode, profile: keyof typeof PROFILES, frames: Uint8Array[], size: number, views: boolean) {
  const session = new Session(obj, { engine: 'compiled' });
  const driver = new Driver(session, { mode, profile: PROFILES[profile]!, queues: 1, reuse: true, views: true });
  assert.ok(driver.batchable());
  assert.equal(driver.batchFrameMax(), XDP_MAX_FRAME, 'multi-buffer frames are batched, up to the longest the kernel runs');
  const b = driver.newBatch(size, 1 << 18);
  const got: ReturnType<typeof seen>[] = [];
  const plain = (from: number, to: number, a: number, outcome: string, exit: { line?: number } | undefined, insn: number, note: string | undefined) => {
    assert.ok(to > from, 'a run of at least one frame');
    for (let i = from; i < to; i++) {
      got.push({
        retval: a, action: ACTIONS[a]!, invalid: false, path: a === 1 ? 'page_pool_recycle' : 'build_skb', outcome, note, target: undefined, copied: 0,
        out: Buffer.from(b.frame(i)).toString('hex'), metaLen: 0, fault: undefined, exit: insn, line: exit?.line,
      });
    }
  };
  const flush = () => driver.receiveBatch(b, (i, r, frame) => {
    if (views) assert.equal(Buffer.from(frame).toString('hex'), Buffer.from(b.frame(i)).toString('hex'));
    got.push(seen(r, b.frame(i)));
  }, views, views ? undefined : plain);
  frames.forEach((f, i) => {
    if (!b.room(f.length)) flush();
    b.add(f, 1_700_000_000 + i, i * 1000);
  });
  flush();
  driver.finish();
  return { got, stats: driver.stats(), maps: session.mapsJson() };
}

function oneByOne(obj: LoadedObject, mode: DriverMode, profile: keyof typeof PROFILES, frames: Uint8Array[]) {
  const session = new Session(obj, { engine: 'compiled' });
  const driver = new Driver(session, { mode, profile: PROFILES[profile]!, queues: 1, reuse: true, views: true });
  const got = frames.map((f, i) => seen(driver.receiveAt(f, 1_700_000_000 + i, i * 1000)));
  driver.finish();
  return { got, stats: driver.stats(), maps: session.mapsJson() };
}

for (const section of ['xdp.frags', 'xdp']) {
  test(`receiveBatch: multi-buffer frames (${section} program) packet for packet as receiveAt`, { skip: noClang }, () => {
    const { path } = compileTestSource('batch-frags-driver', fragsProgram(section));
    const obj = loadProgramFile(path);
    const frames = framesOf(69);
    for (const mode of ['native', 'readonly-page'] as DriverMode[]) {
      for (const profile of ['mlx5', 'i40e'] as const) {
        const want = oneByOne(obj, mode, profile, frames);
        for (const [size, views] of [[256, true], [256, false], [5, false], [3, true]] as const) {
          const what = `${section} ${mode} ${profile}, batches of ${size}${views ? '' : ', no views'}`;
          const got = batched(obj, mode, profile, frames, size, views);
          assert.equal(got.got.length, frames.length, what);
          for (let i = 0; i < frames.length; i++) assert.deepEqual(got.got[i], want.got[i], `${what}: frame ${i} (${frames[i]!.length} bytes)`);
          assert.deepEqual(got.stats, want.stats, what);
          assert.deepEqual(got.maps, want.maps, what);
        }
        assert.ok(want.stats.rx_multibuf! > 0 && want.stats.rx_xdp_tx! + want.stats.rx_xdp_aborted! > 0, 'multi-buffer frames, transmitted or aborted ones among them');
        if (section === 'xdp' && mode === 'native') assert.ok(want.got.some((p) => p.note?.includes('larger than one') && p.note.includes('ip_rcv drops it')), 'a multi-buffer frame passed too short for its header');
      }
    }
  });
}

test('receiveBatch: an xdp.frags program on multi-buffer frames gives the kernel\'s verdicts and bytes', { skip: noClang }, (t) => {
  if (kernelOrSkip(t)) return;
  const { path, objectPath } = compileTestSource('batch-frags-driver', fragsProgram('xdp.frags'));
  const frames = framesOf(46);
  const kernel = runKernel(objectPath, 'prog', frames, { objectName: defaultObjectName(path) });
  // mlx5's geometry is test_run's: 256 bytes of headroom, 3,520 linear, 4,096-byte fragments.
  const got = batched(loadProgramFile(path), 'native', 'mlx5', frames, 256, true);
  const problems: string[] = [];
  frames.forEach((f, i) => {
    const k = kernel.results[i]!;
    const g = got.got[i]!;
    if (g.fault) problems.push(`frame ${i} (${f.length} bytes): fault ${g.fault}`);
    else if (g.retval !== k.retval) problems.push(`frame ${i} (${f.length} bytes): retval kernel ${k.retval}, batch ${g.retval}`);
    else if (g.out !== Buffer.from(k.out).toString('hex')) problems.push(`frame ${i} (${f.length} bytes): bytes after the program differ (${k.out.length} / ${g.out.length / 2})`);
  });
  assert.deepEqual(problems, []);
});
