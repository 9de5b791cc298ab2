// Multi-queue: RSS spreads flows over RX queues, each served by its own CPU; bpf_get_smp_processor_id and per-CPU
// maps follow the queue, and every packet of a flow stays on one queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setup, udpFrame, noClang, PROGRAMS } from './helpers.ts';
import { rssQueueOf } from '../../simulator/driver/rss.ts';
import { Driver } from '../../simulator/driver/rx.ts';
import { PROFILES } from '../../simulator/driver/profiles.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';

/** 64 flows, 3 packets each, interleaved. */
function flows(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 64; i++) {
      out.push(udpFrame(64, 2, { src: [192, 0, 2, i], dst: [198, 51, 100, (i * 37) & 0xff], sport: 40000 + i * 7, dport: 53 }));
    }
  }
  return out;
}

test('queues: 4 spreads flows by the RSS hash; CPU, rx_queue_index and per-CPU counters follow the queue', { skip: noClang }, () => {
  const { driver, session } = setup('percpu.c', { mode: 'native', queues: 4 });
  const perQueue = [0, 0, 0, 0];
  const queueOfFlow = new Map<string, number>();
  for (const f of flows()) {
    const r = driver.receive(f);
    assert.equal(r.queue, rssQueueOf(f) % 4, 'queue = indirection table entry of the Toeplitz hash');
    assert.equal(r.cpu, r.queue, 'one CPU per queue');
    const key = Buffer.from(f.subarray(26, 38)).toString('hex');
    if (queueOfFlow.has(key)) assert.equal(queueOfFlow.get(key), r.queue, 'a flow stays on its queue');
    queueOfFlow.set(key, r.queue);
    perQueue[r.queue]++;
  }
  driver.finish();
  assert.ok(perQueue.every((n) => n > 0), `every queue gets traffic: ${perQueue.join(' ')}`);
  const maps = session.mapsJson();
  // PERCPU_ARRAY: CPU i's value is the number of packets queue i received.
  const counts = maps.pkts[0].values!.map((v) => Number(Buffer.from(v, 'hex').readBigUInt64LE(0)));
  assert.deepEqual(counts, perQueue);
  // bpf_get_smp_processor_id() + 1, stored per rx_queue_index: queue q ran on CPU q.
  const cpuOfQueue = maps.cpu_of_queue.map((e) => Buffer.from(e.value!, 'hex').readUInt32LE(0));
  assert.deepEqual(cpuOfQueue.slice(0, 4), [1, 2, 3, 4]);
  assert.deepEqual(cpuOfQueue.slice(4), [0, 0, 0, 0]);
  // Each queue has its own page pool and its own NAPI polls.
  const s = driver.stats();
  assert.equal(s.rx_packets, 192);
  assert.equal(s.napi_polls, perQueue.reduce((sum, n) => sum + Math.ceil(n / 64), 0), 'a poll per 64 packets per queue');
});

test('one queue: everything on CPU 0, whatever the flow', { skip: noClang }, () => {
  const { driver, session } = setup('percpu.c', { mode: 'native' });
  for (const f of flows().slice(0, 20)) {
    const r = driver.receive(f);
    assert.equal(r.queue, 0);
    assert.equal(r.cpu, 0);
  }
  assert.deepEqual(session.mapsJson().pkts[0].values, ['1400000000000000']);
});

test('queues in generic mode: the skb keeps the RX queue it arrived on', { skip: noClang }, () => {
  const { driver, session } = setup('percpu.c', { mode: 'generic', queues: 2 });
  const perQueue = [0, 0];
  for (const f of flows()) perQueue[driver.receive(f).queue]++;
  const counts = session.mapsJson().pkts[0].values!.map((v) => Number(Buffer.from(v, 'hex').readBigUInt64LE(0)));
  assert.deepEqual(counts, perQueue);
  assert.ok(perQueue[0] > 0 && perQueue[1] > 0, perQueue.join(' '));
});

test('more queues than the session has CPUs for its per-CPU maps: a clear error, not silent NULL lookups', { skip: noClang }, () => {
  const obj = loadProgramFile(join(PROGRAMS, 'percpu.c'));
  const session = new Session(obj, { nrCpus: 2 });
  assert.throws(() => new Driver(session, { mode: 'native', profile: PROFILES.mlx5, queues: 4, queueOf: rssQueueOf }),
    /4 RX queues .* per-CPU map pkts was created for 2.*nrCpus >= 4/);
  assert.doesNotThrow(() => new Driver(session, { mode: 'native', profile: PROFILES.mlx5, queues: 2, queueOf: rssQueueOf }));
});
