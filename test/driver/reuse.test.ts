// `reuse` (what `xdp-lens run` asks for): the driver refills one DriverPacket, xdp_buff and RX descriptor, the
// capture reader one packet object. The results must be those of fresh objects, packet after packet, whatever the
// packet before left behind (moved bounds, metadata, fragments, a note, a redirect target).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ethFrame, le32, noClang, PROGRAMS, udpFrame } from './helpers.ts';
import { Driver, type DriverPacket } from '../../simulator/driver/rx.ts';
import { PROFILES, type DriverMode } from '../../simulator/driver/profiles.ts';
import { rssQueueOf } from '../../simulator/driver/rss.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { REPO } from '../repo.ts';

/** What a caller can see of a packet's result, copied (a reused result changes with the next packet). */
function seen(r: DriverPacket) {
  return {
    queue: r.queue, cpu: r.cpu, retval: r.retval, action: r.action, invalidAction: r.invalidAction, fault: r.fault?.kind,
    path: r.path, note: r.note, copied: r.copied, out: Buffer.from(r.out).toString('hex'), metaLen: r.metaLen,
    target: r.target, outcome: r.outcome, exitInsn: r.run.exitInsn,
  };
}

/** Frames that make the fixtures move bounds both ways, add metadata, split into fragments and pick every verdict. */
function frames(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const op = i % 3;
    const delta = [-14, 8, -32, 20, 0, -4][i % 6]!;
    out.push(ethFrame([op, ...le32(delta >>> 0)], [64, 200, 1514, 4000, 60, 9000][i % 6]));
    out.push(udpFrame([42, 128, 1500, 5000][i % 4]!, i % 8, { sport: 1000 + i, dport: 53 + (i % 3) }));
  }
  return out;
}

const FIXTURES = ['adjust.c', 'frags.c', 'verdict.c', 'redirect.c', 'write.c'];
const MODES: DriverMode[] = ['native', 'readonly-page', 'generic'];

test('driver reuse: every packet and the counters as with fresh objects', { skip: noClang }, () => {
  for (const file of FIXTURES) {
    const obj = loadProgramFile(join(PROGRAMS, file));
    for (const mode of MODES) {
      for (const queues of [1, 3]) {
        const make = (reuse: boolean) => {
          const session = new Session(obj, { nrCpus: queues });
          // With reuse, views too (as `xdp-lens run` asks): DriverPacket.out a view, the same one again where it fits.
          return { session, driver: new Driver(session, { mode, profile: PROFILES.mlx5, queues, queueOf: queues > 1 ? rssQueueOf : undefined, reuse, views: reuse }) };
        };
        const fresh = make(false);
        const reused = make(true);
        let same = 0;
        let previous: DriverPacket | undefined;
        for (const [i, f] of frames().entries()) {
          const a = seen(fresh.driver.receive(f, BigInt(i) * 1000n));
          const rb = reused.driver.receive(f, BigInt(i) * 1000n);
          if (rb === previous) same++;
          previous = rb;
          assert.deepEqual(seen(rb), a, `${file} ${mode} ${queues} queue(s), packet ${i}`);
        }
        assert.ok(same > 0, 'reuse gives the same object back');
        fresh.driver.finish();
        reused.driver.finish();
        assert.deepEqual(reused.driver.stats(), fresh.driver.stats(), `${file} ${mode}: counters`);
        assert.deepEqual(reused.session.mapsJson(), fresh.session.mapsJson(), `${file} ${mode}: maps`);
      }
    }
  }
});

test('capture reuse: the same packets as fresh objects, one object refilled', () => {
  for (const name of ['demo.pcap']) {
    const path = join(REPO, 'examples', name);
    const read = (reuse: boolean) => {
      const r = openCapture(path, { views: true, reuse });
      const list: { p: object; fields: string }[] = [];
      for (let p = r.next(); p; p = r.next()) list.push({ p, fields: JSON.stringify({ ...p, tsNs: String(p.tsNs), frame: Buffer.from(p.frame).toString('hex') }) });
      r.close();
      return list;
    };
    const a = read(false);
    const b = read(true);
    assert.ok(a.length > 1);
    assert.deepEqual(b.map((x) => x.fields), a.map((x) => x.fields));
    assert.equal(new Set(b.map((x) => x.p)).size, 1, 'one object refilled');
    assert.equal(new Set(a.map((x) => x.p)).size, a.length, 'without reuse, one object per packet');
  }
});
