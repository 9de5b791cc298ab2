// RunStats.recordRun (how `xdp-lens run` counts a run of plain verdicts at once) against record packet by packet: the
// same stats for runs of every length, with times going back, before the first packet and far enough apart to widen
// the timeline, outcomes the driver did not carry out, and more exit lines and outcomes than are kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunStats } from '../../simulator/run-stats.ts';
import { ACTIONS } from '../../simulator/session.ts';
import { PLAIN_OUTCOME } from '../../simulator/driver/rx.ts';

/** A small deterministic generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

test('recordRun counts a run as record does each of its packets', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = rng(seed);
    const one = new RunStats();
    const runs = new RunStats();
    const times = new Float64Array(64);
    // Many keys on some seeds: past the 500 kept exit lines and outcomes.
    const keys = seed % 4 === 0 ? 700 : 6;
    let t = 0;
    for (let batch = 0; batch < 60; batch++) {
      const n = 1 + Math.floor(r() * times.length);
      for (let i = 0; i < n; i++) {
        const u = r();
        t += u < 0.02 ? -5000 : u < 0.04 ? 3e9 : Math.floor(r() * 2000);
        times[i] = u < 0.01 ? -1 : t;
      }
      let i = 0;
      while (i < n) {
        const len = Math.min(n - i, 1 + Math.floor(r() * 20));
        const a = r() < 0.5 ? 1 : 2 + Math.floor(r() * 3);
        const k = Math.floor(r() * keys);
        const plain = PLAIN_OUTCOME[ACTIONS[a]!];
        const outcome = k % 3 === 0 ? plain : k % 3 === 1 ? `${plain}: note ${k}` : `dropped ${k}`;
        const file = k % 2 === 0 ? '' : `f${k % 5}.c`;
        const line = k;
        const queue = k % 7 === 0 ? 1 : 0;
        for (let j = i; j < i + len; j++) one.record(times[j]!, a, outcome, queue, file, line, undefined);
        runs.recordRun(times, i, i + len, a, outcome, queue, file, line);
        i += len;
      }
      // A fault now and then between runs.
      if (r() < 0.3) {
        one.record(t, 0, 'aborted', 0, 'x.c', 3, { kind: 'oob', message: 'm' });
        runs.record(t, 0, 'aborted', 0, 'x.c', 3, { kind: 'oob', message: 'm' });
      }
    }
    runs.recordRun(times, 5, 5, 2, 'passed', 0, '', 0);
    assert.deepEqual(runs.json(), one.json(), `seed ${seed}`);
  }
});

/** The doubles next to x, below and above. */
function around(x: number): number[] {
  const f = new Float64Array([x]);
  const u = new BigInt64Array(f.buffer);
  const base = u[0]!;
  const out: number[] = [];
  for (const d of [-2n, -1n, 1n, 2n]) {
    u[0] = base + d;
    out.push(f[0]!);
  }
  return out;
}

test('recordRun puts times at and next to bucket edges where record does, at every width', () => {
  for (let k = 0; k <= 46; k++) {
    const r = rng(k + 1);
    const one = new RunStats();
    const runs = new RunStats();
    // Buckets of 1 µs * 2^k: a first time near the end of the timeline widens them to that, then the edges of buckets
    // and the doubles around them, in order, with a few going back.
    const w = 1000 * 2 ** k;
    const ts: number[] = [119 * w + w / 2];
    for (let b = 0; b < 120; b += 1 + Math.floor(r() * 7)) {
      const e = b * w;
      for (const t of [e - w / 3, ...around(e), e, e + 0.5, e - 0.25, ...around(e + w / 2)]) if (t >= 0) ts.push(t);
    }
    ts.push(-0, -3, NaN, 0.5);
    const times = Float64Array.from(ts.map((t, i) => (r() < 0.95 ? t : ts[Math.floor(r() * i)]!)));
    let i = 0;
    while (i < times.length) {
      const len = Math.min(times.length - i, 1 + Math.floor(r() * 60));
      const a = 1 + Math.floor(r() * 2);
      for (let j = i; j < i + len; j++) one.record(times[j]!, a, 'passed', 0, '', 4, undefined);
      runs.recordRun(times, i, i + len, a, 'passed', 0, '', 4);
      i += len;
    }
    const want = one.json();
    assert.equal(want.timeline.bucketNs, w);
    assert.deepEqual(runs.json(), want, `buckets of ${w} ns`);
    // Both against the division itself, packet by packet.
    const counts = want.timeline.counts.map(() => 0);
    for (const t of times) counts[Math.floor((t >= 0 ? t : 0) / w)]!++;
    assert.deepEqual(want.timeline.counts.map((c) => c[1]! + c[2]!), counts, `buckets of ${w} ns: Math.floor(t / ${w})`);
  }
});
