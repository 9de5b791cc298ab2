// Driver.receiveAt (what `xdp-lens run` uses for a classic pcap's timestamps, as seconds and nanoseconds) gives
// what receive(frame, tsNs) gives: the clock a program reads (bpf_ktime_get_ns), the RX timestamp the NIC reported,
// the bytes after the program, and with `views` a multi-buffer frame joined into the driver's scratch buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ethFrame, noClang, PROGRAMS } from './helpers.ts';
import { Driver, type DriverPacket } from '../../simulator/driver/rx.ts';
import { PROFILES, type DriverMode } from '../../simulator/driver/profiles.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';

function seen(r: DriverPacket) {
  return { retval: r.retval, path: r.path, outcome: r.outcome, note: r.note, out: Buffer.from(r.out).toString('hex'), metaLen: r.metaLen };
}

/** Timestamps as seconds and nanoseconds: forwards, backwards (the clock must not go back), the same second, and a
 * jump of more than 9 * 10^6 s (past what the numeric clock keeps exactly, where it turns to BigInt). */
const TIMES: [number, number][] = [
  [1_700_000_000, 5], [1_700_000_000, 999_999_999], [1_700_000_001, 0], [1_699_999_999, 500], [1_700_000_001, 0],
  [1_700_000_002, 123_456_789], [1_710_000_000, 1], [1_700_000_000, 7], [4_000_000_000, 999_999_999], [4_000_000_000, 3],
];

test('receiveAt: the same clock, RX timestamp and bytes as receive with the BigInt timestamp', { skip: noClang }, () => {
  const obj = loadProgramFile(join(PROGRAMS, 'clock.c'));
  for (const mode of ['native', 'readonly-page'] as DriverMode[]) {
    for (const reuse of [false, true]) {
      const make = (views: boolean) => new Driver(new Session(obj, {}), { mode, profile: PROFILES.mlx5, queues: 1, reuse, views });
      const big = make(false);
      const num = make(reuse);
      for (const [i, [sec, ns]] of TIMES.entries()) {
        const f = ethFrame([i], [64, 1514, 9000][i % 3]);
        const a = seen(big.receive(f, BigInt(sec) * 1_000_000_000n + BigInt(ns)));
        const b = seen(num.receiveAt(f, sec, ns));
        assert.deepEqual(b, a, `${mode} reuse ${reuse} packet ${i}`);
      }
      assert.deepEqual(num.stats(), big.stats());
    }
  }
});

test('receiveAt: the clock a program reads follows the capture (checked on the bytes it wrote)', { skip: noClang }, () => {
  const obj = loadProgramFile(join(PROGRAMS, 'clock.c'));
  const d = new Driver(new Session(obj, {}), { mode: 'native', profile: PROFILES.mlx5, queues: 1, reuse: true, views: true });
  const clock: bigint[] = [];
  for (const [sec, ns] of TIMES.slice(0, 4)) {
    const r = d.receiveAt(ethFrame([0], 64), sec, ns);
    const v = Buffer.from(r.out);
    clock.push(v.readBigUInt64LE(0));
    assert.equal(v.readBigUInt64LE(8), BigInt(sec) * 1_000_000_000n + BigInt(ns), 'the RX timestamp is the capture timestamp');
  }
  // 1000 s of uptime at the first packet, then the capture's time since, never backwards.
  assert.deepEqual(clock.map((c) => c - 1_000_000_000_000n), [0n, 999_999_994n, 999_999_995n, 999_999_995n]);
});
