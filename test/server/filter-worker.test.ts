// A display filter that reads the capture again (frame fields, the summary column of a run that keeps its records'
// offsets) has the second half of a long run's packets matched in a worker thread (server/run.ts filterHalf; from
// 100,000 packets, from 2 with XDP_LENS_RUN_WORKER set to a number): the matches and the pages are exactly those of the
// server's thread alone (XDP_LENS_RUN_WORKER=never), on a capture whose two halves differ, for filters on a frame
// field, the summary, the cap length and the run's own columns, combined with an action; two pages of one filter asked
// for at once share one matching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import type { PacketsResult, RunResponse } from '../../server/protocol.ts';
import { REPO } from '../repo.ts';
import { demoFrames, udpFrame, noClang } from '../driver/helpers.ts';
import { startServer } from './stdio-server.ts';

const FILTERS = ['udp', 'summary contains "ICMP"', 'frame.cap_len > 100 && !icmp', 'action == XDP_DROP || udp.dstport == 57', 'summary contains "nothing like this"'];

async function filtered(worker: string, program: string, capture: string): Promise<{ filter: string; total: number; rows: PacketsResult['rows']; action: PacketsResult }[]> {
  const s = await startServer(() => ({}), {}, { XDP_LENS_RUN_WORKER: worker });
  try {
    const r = await s.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(program).href, capture });
    assert.ok(r.summary, r.error);
    const runId = r.summary.runId;
    const out = [];
    // Two pages of one filter asked for at once: the second waits for the first's matching (one read, one worker).
    const [a, b] = await Promise.all([0, 100].map((offset) => s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId, offset, limit: 100, filter: 'tcp' })));
    assert.equal(a!.total, b!.total);
    assert.ok(a!.total > 200, `${a!.total} tcp packets`);
    assert.deepEqual(b!.rows[0], (await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId, offset: 100, limit: 1, filter: 'tcp' })).rows[0]);
    for (const filter of FILTERS) {
      const all = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId, offset: 0, limit: 10000, filter });
      assert.equal(all.error, undefined, filter);
      const action = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId, offset: 3, limit: 50, filter, action: 'XDP_PASS' });
      out.push({ filter, total: all.total, rows: all.rows, action });
    }
    return out;
  } finally {
    await s.stop();
  }
}

test("a long display filter's second half in a worker thread: the same matches as on the server's thread", { skip: noClang }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-filter-worker-'));
  try {
    const capture = join(dir, 'c.pcap');
    const demo = demoFrames();
    const w = new PcapWriter(capture);
    // First half mostly the demo's frames, second half mostly UDP of growing sizes: the halves match differently.
    for (let i = 0; i < 3000; i++) {
      const udp = i < 1500 ? i % 5 === 0 : i % 5 !== 0;
      w.write(BigInt(i) * 1_000_000n, udp ? udpFrame(60 + (i % 100), 7 + (i % 200), { sport: 1000 + i, dport: 53 + (i % 7) }) : demo[i % demo.length]!);
    }
    w.close();
    const program = join(REPO, 'examples', 'xdp_filter.c');
    const split = await filtered('0', program, capture);
    const alone = await filtered('never', program, capture);
    assert.deepEqual(split, alone);
    // Not vacuous: matches in both halves for the frame and summary filters, none for the last.
    for (const f of split.slice(0, 2)) {
      assert.ok(f.rows.some((r) => r.index < 1500) && f.rows.some((r) => r.index >= 1500), `${f.filter}: ${f.total} matches in both halves`);
    }
    assert.equal(split[4]!.total, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
