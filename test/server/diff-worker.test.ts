// Compare Verdicts (xdpLens/diffVerdicts) in a worker thread: through dist/server.js over stdio, the diff done in the
// run's worker bundle (XDP_LENS_RUN_WORKER=0: on any capture) gives exactly what the server's thread gives
// (XDP_LENS_RUN_WORKER=never) and what diffVerdicts gives in process: the same counts, per-line changes and table. While
// the worker diffs, the server's thread answers another request sent once the diff has started (on the server's thread
// that request waits for the diff's end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { diffVerdicts } from '../../server/run.ts';
import { DEFAULT_SETTINGS, type DiffVerdictsResult } from '../../server/protocol.ts';
import { REPO } from '../repo.ts';
import { demoFrames, udpFrame, noClang } from '../driver/helpers.ts';
import { startServer } from './stdio-server.ts';

const SOURCE = readFileSync(join(REPO, 'examples', 'xdp_filter.c'), 'utf8');

async function diffWith(worker: string, params: object): Promise<{ result: DiffVerdictsResult; order: string[] }> {
  let started: () => void;
  const diffStarted = new Promise<void>((r) => (started = r));
  const s = await startServer(() => ({}), { 'window/logMessage': (p: { message: string }) => void (p.message.startsWith('diff: ') && started()) }, { XDP_LENS_RUN_WORKER: worker });
  try {
    const order: string[] = [];
    const diff = s.conn.sendRequest<DiffVerdictsResult>('xdpLens/diffVerdicts', params).then((r) => {
      order.push('diff');
      return r;
    });
    // Sent once the diff has started: answered at once when the diff runs in a worker.
    await diffStarted;
    await s.conn.sendRequest('xdpLens/checkFilter', { filter: 'udp' }).then(() => order.push('checkFilter'));
    return { result: await diff, order };
  } finally {
    await s.stop();
  }
}

test('Compare Verdicts in a worker thread: the same result as on the server thread and in process', { skip: noClang }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-diff-worker-'));
  try {
    const prog = join(dir, 'prog.c');
    const old = join(dir, 'old.c');
    writeFileSync(old, SOURCE);
    const edited = SOURCE.replace(/(count\(P_UDP\);\n)\t\treturn XDP_PASS;/, '$1\t\treturn XDP_DROP;');
    assert.notEqual(edited, SOURCE);
    writeFileSync(prog, `// a line on top\n${edited}`);
    const capture = join(dir, 'c.pcap');
    const demo = demoFrames();
    const w = new PcapWriter(capture);
    for (let i = 0; i < 3000; i++) w.write(BigInt(i) * 1_000_000n, i % 3 === 0 ? udpFrame(60 + (i % 90), 7 + (i % 200), { sport: 1000 + i, dport: 53 }) : demo[i % demo.length]!);
    w.close();
    const params = { uri: pathToFileURL(prog).href, capture, against: { file: old } };

    const inWorker = await diffWith('0', params);
    const onThread = await diffWith('never', params);
    const host = { settingsFor: async () => DEFAULT_SETTINGS, compileOptions: () => ({}), log: () => {} };
    const inProcess = await diffVerdicts(params, host);

    assert.equal(inWorker.result.error, undefined);
    assert.equal(inWorker.result.packets, 3000);
    assert.ok(inWorker.result.changed! > 1000, `${inWorker.result.changed} packets changed`);
    assert.deepEqual(inWorker.result, onThread.result);
    assert.deepEqual(inWorker.result, inProcess);
    assert.deepEqual(inWorker.order, ['checkFilter', 'diff']);
    assert.deepEqual(onThread.order, ['diff', 'checkFilter'], 'on the server thread the diff holds up the next request');

    // An error from the worker is the same plain message.
    const missing = await diffWith('0', { ...params, against: { file: join(dir, 'missing.c') } });
    const missingHere = await diffVerdicts({ ...params, against: { file: join(dir, 'missing.c') } }, host);
    assert.ok(missing.result.error, 'a missing old version is an error');
    assert.equal(missing.result.error, missingHere.error);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
