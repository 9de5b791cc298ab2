// Driver.receiveBatch (Machine.runBatch over many frames) advances the clock to each packet's timestamp before it
// runs (PacketBatch.before), as receiveAt does frame by frame. Whatever would skip or defer that for programs that never
// read the clock must keep what every reader sees: each time helper, a subprogram, a bpf_loop callback, a tail call's
// target and a timer's callback, frames that read it after frames that did not, timestamps that go back (the clock
// does not) and jump past what the numeric clock keeps exactly, and batch boundaries everywhere. Checked on the clock
// each packet shows (its verdict, bytes and the maps) and the clock after the frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { noClang, PROGRAMS, udpFrame } from './helpers.ts';
import { Driver, type DriverPacket } from '../../simulator/driver/rx.ts';
import { PROFILES } from '../../simulator/driver/profiles.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';

function seen(r: DriverPacket) {
  return { retval: r.retval, path: r.path, outcome: r.outcome, out: Buffer.from(r.out).toString('hex'), fault: r.fault?.kind, tailCalls: r.run.tailCalls };
}

const PROGRAMS_READING = ['ktime', 'boot', 'coarse', 'tai', 'jiffies', 'subprog', 'callback', 'tail', 'timer'];

/** Packet i's timestamp: forwards by irregular steps, sometimes back, and once past 9 * 10^6 s (BigInt from there). */
function time(i: number): [number, number] {
  if (i >= 50) return [1_720_000_000 + (i % 3), (i * 7_777_777) % 1_000_000_000];
  const back = i % 7 === 3 ? -2 : 0;
  return [1_700_000_000 + (i >> 2) + back, (i * 123_457_111) % 1_000_000_000];
}

for (const program of PROGRAMS_READING) {
  test(`receiveBatch: ${program} reads the clock as frame by frame`, { skip: noClang }, () => {
    const obj = loadProgramFile(join(PROGRAMS, 'clock_reads.c'));
    const make = () => {
      const session = new Session(obj, { engine: 'compiled', program });
      return { session, driver: new Driver(session, { mode: 'native', profile: PROFILES.mlx5, queues: 1, reuse: true, views: true }) };
    };
    const fs = Array.from({ length: 64 }, (_, i) => udpFrame([64, 300, 60, 1514][i % 4]!, i % 8));
    const one = make();
    const want = fs.map((f, i) => seen(one.driver.receiveAt(f, ...time(i))));
    // Frames that read the clock showed different times (else this would check nothing).
    assert.ok(new Set(want.filter((_, i) => (i & 3) === 3).map((w) => w.out.slice(0, 16))).size > 10, `${program}: the clock moves`);
    // The clock after the frames (what conntrackJson and later packets read), seen by one more packet that reads it.
    const after = (s: Session) => Buffer.from(s.runPacket(udpFrame(64, 3)).out.subarray(0, 8)).toString('hex');
    const wantMaps = one.session.mapsJson();
    const wantAfter = after(one.session);
    for (const size of [1, 3, 5, 64]) {
      const many = make();
      assert.ok(many.driver.batchable(), `${program}: batchable`);
      const b = many.driver.newBatch(size, 1 << 16);
      const got: ReturnType<typeof seen>[] = [];
      const flush = () => many.driver.receiveBatch(b, (_i, r) => got.push(seen(r)));
      fs.forEach((f, i) => {
        if (b.count === size) flush();
        b.add(f, ...time(i));
      });
      flush();
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) assert.deepEqual(got[i], want[i], `${program}, batches of ${size}: packet ${i}`);
      assert.deepEqual(many.session.mapsJson(), wantMaps, `${program}, batches of ${size}: maps`);
      assert.equal(after(many.session), wantAfter, `${program}, batches of ${size}: the clock after`);
    }
  });
}
