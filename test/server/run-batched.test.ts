// The language server's capture run in batches (issue 12): on a pcap file of Ethernet frames the program runs through
// Driver.receiveBatch with the frames where the reader left them in the engine's memory, and the return-line twin
// through ReturnLines.runBatch (on the server's thread, or in the run's worker thread): as `xdp-lens run` does. Its
// verdicts, return lines and counts are the CLI's, packet for packet, on the same program and capture: a capture of
// several read buffers (a batch ends at each refill), frames too long for a batch (run one at a time between batches),
// a program whose returns depend on map state carried from packet to packet and that faults on some packets, and a
// run with a limit. With and without the worker (a ring of 100 packets, smaller than a batch: the threads wait for
// each other mid-batch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import type { PacketRow, PacketsResult, RunResponse } from '../../server/protocol.ts';
import { REPO } from '../repo.ts';
import { demoFrames, udpFrame, noClang } from '../driver/helpers.ts';
import { startServer } from './stdio-server.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const PACKETS = 5000;

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
	if (v % 5 == 0)
		return XDP_PASS;
	if (data + 60 > data_end)
		return XDP_DROP;
	if (v % 5 == 1)
		return *(unsigned char *)(data + 200); /* no bounds check: faults on short frames */
	if (v % 5 == 2)
		return XDP_TX;
	return v % 3 == 0 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

interface CliPacket {
  packet: number;
  action: string;
  outcome: string;
  retval: number;
  line: number;
  fault?: unknown;
}

function cliRun(program: string, capture: string, limit?: number): { packets: CliPacket[]; summary: { packets: number; actions: Record<string, number>; outcomes: Record<string, number> } } {
  const r = spawnSync(process.execPath, [CLI, 'run', program, capture, '--format', 'jsonl', ...(limit ? ['--limit', String(limit)] : [])], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { packets: lines.filter((l) => 'packet' in l) as unknown as CliPacket[], summary: lines.at(-1)!.summary as never };
}

async function serverRun(worker: string, program: string, capture: string, limit?: number): Promise<{ summary: NonNullable<RunResponse['summary']>; rows: PacketRow[]; log: string[] }> {
  const log: string[] = [];
  const s = await startServer(() => ({}), { 'window/logMessage': (p: { message: string }) => void log.push(p.message) }, { XDP_LENS_RUN_WORKER: worker });
  try {
    const r = await s.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(program).href, capture, ...(limit ? { limit } : {}) });
    assert.ok(r.summary, r.error);
    const rows: PacketRow[] = [];
    for (let offset = 0; offset < r.summary.packets; offset += 10000) {
      rows.push(...(await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: r.summary.runId, offset, limit: 10000 })).rows);
    }
    return { summary: r.summary, rows, log };
  } finally {
    await s.stop();
  }
}

test("a run in batches: the server's verdicts, return lines and counts are the CLI's, packet for packet", { skip: noClang }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-run-batched-'));
  try {
    const stateful = join(dir, 'stateful.c');
    writeFileSync(stateful, STATEFUL);
    // About 0.8 MB: several of the reader's buffers. Every 97th frame is 5000 bytes (longer than a batch takes).
    const capture = join(dir, 'c.pcap');
    const demo = demoFrames();
    const w = new PcapWriter(capture);
    for (let i = 0; i < PACKETS; i++) {
      const f = i % 97 === 50 ? udpFrame(5000, 9, { sport: 4000 + i, dport: 53 }) : i % 3 === 0 ? udpFrame(60 + (i % 300), 7 + (i % 200), { sport: 1000 + i, dport: 53 + (i % 7) }) : demo[i % demo.length]!;
      w.write(1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, f);
    }
    w.close();

    for (const [program, limit] of [[join(REPO, 'examples', 'xdp_filter.c'), undefined], [stateful, undefined], [stateful, 3333]] as const) {
      const cli = cliRun(program, capture, limit);
      const n = limit ?? PACKETS;
      assert.equal(cli.packets.length, n);
      for (const worker of ['never', '100']) {
        const what = `${program}, worker ${worker}, limit ${limit}`;
        const s = await serverRun(worker, program, capture, limit);
        assert.ok(s.log.some((l) => l.includes(', run in batches')), `the run went in batches (${what}):\n${s.log.join('\n')}`);
        assert.equal(s.log.some((l) => l.includes("in the run's worker thread")), worker !== 'never', what);
        assert.equal(s.summary.packets, cli.summary.packets, what);
        assert.deepEqual(s.summary.byAction, cli.summary.actions, what);
        assert.deepEqual(s.summary.byOutcome, cli.summary.outcomes, what);
        assert.equal(s.rows.length, n, what);
        for (let i = 0; i < n; i++) {
          const row = s.rows[i]!;
          const c = cli.packets[i]!;
          assert.deepEqual(
            { index: row.index, action: row.action, retval: row.retval, outcome: row.outcome, line: row.line, fault: !!row.fault },
            { index: c.packet, action: c.action, retval: c.retval, outcome: c.outcome, line: c.line, fault: c.fault !== undefined },
            `packet ${i} (${what})`,
          );
        }
      }
      // Faults and several return lines: the cases where a line is given or withheld differ.
      if (program === stateful) assert.ok(cli.packets.some((p) => p.fault !== undefined) && new Set(cli.packets.map((p) => p.line)).size >= 4);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
