// The editor's packet filter (xdpLens/packets with a filter) on fields of the capture record itself: frame.interface_id,
// frame.time_delta and frame.time_relative select exactly the packets `xdp-lens run --filter` selects on the same
// capture, on a pcapng of two interfaces whose gaps grow and which holds an outgoing record (counted as "the record
// before", not run), both on the server's thread and with the second half matched in a worker thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PacketsResult, RunResponse } from '../../server/protocol.ts';
import { REPO } from '../repo.ts';
import { demoFrames, noClang } from '../driver/helpers.ts';
import { pcapngBlock, pcapngSectionHeader } from '../net/pcapng-outbound.ts';
import { startServer } from './stdio-server.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const FILTERS = ['frame.interface_id == 1', 'frame.time_delta > 0.0015', 'frame.time_relative >= 0.004 && frame.interface_id == 0', 'frame.time_delta == 0'];

/** Two Ethernet interfaces (microsecond times); packet i on interface i % 2 at a growing gap, record 5 outgoing. */
function capture(path: string, n: number): void {
  const idb = pcapngBlock(1, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
  const frames = demoFrames();
  const blocks = [pcapngSectionHeader(), idb, idb];
  let t = 1_700_000_000_000_000n;
  for (let i = 0; i < n; i++) {
    t += BigInt((i % 7) * 400);
    const data = frames[i % frames.length]!;
    const fixed = Buffer.alloc(20);
    fixed.writeUInt32LE(i % 2, 0);
    fixed.writeUInt32LE(Number(t >> 32n), 4);
    fixed.writeUInt32LE(Number(t & 0xffffffffn), 8);
    fixed.writeUInt32LE(data.length, 12);
    fixed.writeUInt32LE(data.length, 16);
    // epb_flags outbound on record 5: listed, not run, but the time before record 6.
    const opt = i === 5 ? Buffer.from([2, 0, 4, 0, 2, 0, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
    blocks.push(pcapngBlock(6, Buffer.concat([fixed, Buffer.from(data), Buffer.alloc((4 - (data.length % 4)) % 4), opt])));
  }
  writeFileSync(path, Buffer.concat(blocks));
}

async function editorMatches(worker: string, program: string, cap: string): Promise<number[][]> {
  const s = await startServer(() => ({}), {}, { XDP_LENS_RUN_WORKER: worker });
  try {
    const r = await s.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(program).href, capture: cap });
    assert.ok(r.summary, r.error);
    const out = [];
    for (const filter of FILTERS) {
      const p: PacketsResult = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: r.summary.runId, offset: 0, limit: 10000, filter });
      assert.equal(p.error, undefined, filter);
      out.push(p.rows.map((row) => row.index));
    }
    return out;
  } finally {
    await s.stop();
  }
}

test('record fields in the editor\'s packet filter select what run --filter selects', { skip: noClang }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-filter-record-'));
  try {
    const cap = join(dir, 'two-ifaces.pcapng');
    capture(cap, 60);
    const program = join(REPO, 'examples', 'xdp_filter.c');
    const cli = FILTERS.map((f) => {
      const r = spawnSync(process.execPath, [CLI, 'run', program, cap, '--filter', f, '--format', 'jsonl'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { packet?: number }).filter((o) => o.packet !== undefined).map((o) => o.packet!);
    });
    // Not vacuous: each filter but the last selects some packets and leaves others; record 6 follows the outgoing 5.
    for (const [i, sel] of cli.slice(0, 3).entries()) assert.ok(sel.length > 5 && sel.length < 50, `${FILTERS[i]}: ${sel.length}`);
    assert.ok(!cli[0]!.includes(5) && !cli[1]!.includes(5), 'the outgoing record is not run');
    assert.deepEqual(await editorMatches('never', program, cap), cli);
    assert.deepEqual(await editorMatches('0', program, cap), cli);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
