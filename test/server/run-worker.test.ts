// A capture run's worker thread (server/run-worker.ts, issue 12): a run whose bookkeeping (rows, counts, exits per
// return line, outcome issues, faults, run statistics), return-line twin and (on a capture that cannot be read by
// position) packets' summaries are in the worker, fed the server thread's verdicts through a ring, gives exactly the
// run done on the server's thread alone: the same summary (exits per return line, outcomes, faults), the same Run
// Summary aggregate and the same row (summary text included) for every packet. On a pcap file the summaries are made
// per page from the records' offsets; on the same capture gzip-compressed they are kept: the rows are the same. With
// the usual ring (XDP_LENS_RUN_WORKER=0) and a ring of 777 packets (the threads wait for each other, the ring wraps
// often), on programs whose returns depend on map state carried from packet to packet (a twin out of step would give
// other lines), that fault on some packets, and on a capture that ends in a broken record; and from a spare worker
// started when the file was opened, with the twin built ahead (run.ts warmRun).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { compileC } from '../../simulator/compile.ts';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import type { PacketRow, PacketsResult, RunResponse, RunStatsResult } from '../../server/protocol.ts';
import { REPO } from '../repo.ts';
import { demoFrames, udpFrame, noClang } from '../driver/helpers.ts';
import { startServer } from './stdio-server.ts';

const PACKETS = 4000;

const STATEFUL = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

SEC("xdp")
int stateful(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&seen, &k);
	if (!c)
		return XDP_ABORTED;
	__u64 v = (*c)++;
	if (v % 7 == 0)
		return XDP_PASS;
	if (v % 7 == 1)
		return XDP_DROP;
	if (data + 60 > data_end)
		return XDP_PASS;
	if (v % 7 == 2)
		return *(unsigned char *)(data + 120); /* no bounds check: faults on short frames */
	if (v % 7 == 3)
		return XDP_TX;
	if (v % 3 == 0)
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

interface Outcome {
  summary: Record<string, unknown>;
  stats: unknown;
  rows: PacketRow[];
  log: string[];
}

async function runWith(worker: string, program: string, capture: string, open = false): Promise<Outcome> {
  const log: string[] = [];
  let spareReady: () => void = () => {};
  const ready = new Promise<void>((r) => (spareReady = r));
  const s = await startServer(() => ({}), {
    'window/logMessage': (p: { message: string }) => {
      log.push(p.message);
      if (p.message.includes(`a worker thread is ready for the next run of ${program}`)) spareReady();
    },
  }, { XDP_LENS_RUN_WORKER: worker });
  try {
    if (open) {
      // As in the editor: the file opened, its analysis done, a spare worker thread started with the twin built.
      await s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: pathToFileURL(program).href, languageId: 'c', version: 1, text: readFileSync(program, 'utf8') } });
      await ready;
    }
    const r = await s.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(program).href, capture });
    assert.ok(r.summary, r.error);
    const { runId, durationMs: _d, compileMs: _c, ...summary } = r.summary;
    const stats = (await s.conn.sendRequest<RunStatsResult>('xdpLens/runStats', { runId })).stats;
    const rows: PacketRow[] = [];
    for (let offset = 0; offset < r.summary.packets; offset += 10000) {
      rows.push(...(await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId, offset, limit: 10000 })).rows);
    }
    return { summary, stats, rows, log };
  } finally {
    await s.stop();
  }
}

test("a run's worker thread (return lines, summaries): the same run as on the server's thread alone", { skip: noClang }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-twin-worker-'));
  try {
    const stateful = join(dir, 'stateful.c');
    writeFileSync(stateful, STATEFUL);
    const capture = join(dir, 'c.pcap');
    const demo = demoFrames();
    const w = new PcapWriter(capture);
    for (let i = 0; i < PACKETS; i++) {
      const f = i % 3 === 0 ? udpFrame(60 + (i % 120), 7 + (i % 200), { sport: 1000 + i, dport: 53 + (i % 7) }) : demo[i % demo.length]!;
      w.write(BigInt(i) * 1_000_000n, f);
    }
    w.close();
    // A record header claiming more bytes than are left: both readers stop there with the same capture error.
    const broken = Buffer.alloc(20);
    broken.writeUInt32LE(100, 8);
    broken.writeUInt32LE(100, 12);
    appendFileSync(capture, broken);
    // The same capture gzip-compressed: read front to back only, so its summaries are kept (by the worker if any).
    const gz = join(dir, 'c.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(capture)));

    // An object file: no return lines; on the compressed capture the worker does the summaries alone.
    const object = join(dir, 'xdp_filter.o');
    const cc = compileC(join(REPO, 'examples', 'xdp_filter.c'));
    assert.ok(cc.objectPath, cc.stderr);
    copyFileSync(cc.objectPath, object);
    const ownObject = await runWith('never', object, gz);
    assert.equal(ownObject.summary.packets, PACKETS);
    const viaWorkerObject = await runWith('0', object, gz);
    assert.ok(viaWorkerObject.log.some((l) => l.includes("; packets recorded, summaries in the run's worker thread")), viaWorkerObject.log.join('\n'));
    assert.deepEqual(viaWorkerObject.summary, ownObject.summary);
    assert.deepEqual(viaWorkerObject.stats, ownObject.stats);
    assert.deepEqual(viaWorkerObject.rows, ownObject.rows);
    const byIndexObject = await runWith('0', object, capture);
    assert.ok(byIndexObject.log.some((l) => l.includes("; packets recorded in the run's worker thread")), byIndexObject.log.join('\n'));
    assert.deepEqual(byIndexObject.rows, ownObject.rows, 'summaries made per page from the pcap = summaries kept from the .gz');

    for (const program of [join(REPO, 'examples', 'xdp_filter.c'), stateful]) {
      const own = await runWith('never', program, capture);
      assert.deepEqual((await runWith('never', program, gz)).rows, own.rows, 'rows of the .gz run = rows of the pcap run');
      assert.equal(own.summary.packets, PACKETS);
      assert.match(String(own.summary.captureError), /truncated/);
      assert.ok((own.summary.exits as unknown[]).length >= 3, `several return lines: ${JSON.stringify(own.summary.exits)} ${own.log.join('\n')}`);
      assert.ok(!own.log.some((l) => l.includes("worker thread")), 'no worker with XDP_LENS_RUN_WORKER=never');
      if (program === stateful) assert.ok((own.summary.faults as unknown[]).length > 0, 'the stateful program faults on some packets');
      for (const ring of [0, 777]) {
        const viaWorker = await runWith(String(ring), program, capture);
        assert.ok(viaWorker.log.some((l) => l.includes("; packets recorded, return lines in the run's worker thread")), `the worker recorded the run (ring ${ring}):\n${viaWorker.log.join('\n')}`);
        assert.deepEqual(viaWorker.summary, own.summary, `summary (${program}, ring ${ring})`);
        assert.deepEqual(viaWorker.stats, own.stats, `run statistics (${program}, ring ${ring})`);
        assert.equal(viaWorker.rows.length, PACKETS);
        for (let i = 0; i < PACKETS; i++) assert.deepEqual(viaWorker.rows[i], own.rows[i], `row ${i} (${program}, ring ${ring})`);
      }
      // A spare worker started when the file was opened, its twin built ahead: the same run.
      const viaSpare = await runWith('0', program, capture, true);
      assert.ok(viaSpare.log.some((l) => l.includes("; packets recorded, return lines in the run's worker thread (its twin built ahead)")), viaSpare.log.join('\n'));
      assert.deepEqual(viaSpare.summary, own.summary, `summary (${program}, spare worker)`);
      assert.deepEqual(viaSpare.stats, own.stats, `run statistics (${program}, spare worker)`);
      assert.deepEqual(viaSpare.rows, own.rows, `rows (${program}, spare worker)`);
      const viaWorkerGz = await runWith('777', program, gz);
      assert.ok(viaWorkerGz.log.some((l) => l.includes("; packets recorded, return lines, summaries in the run's worker thread")), viaWorkerGz.log.join('\n'));
      assert.deepEqual(viaWorkerGz.stats, own.stats);
      assert.deepEqual(viaWorkerGz.rows, own.rows);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
