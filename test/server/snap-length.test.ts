// Packets the capture's snap length cut short (captured fewer bytes than on the wire) in editor runs: as `xdp-lens run`
// (test/cli/run-snap-length), they run on the captured bytes only, the summary counts those run ("truncated") with the
// CLI's note (pointing at the packets view instead of jsonl), and each one's row in the packets view carries its
// captured length (capLen) beside its wire length, a packet listed and not run too. Checked against the CLI's jsonl,
// with the run's worker thread and without, on a classic pcap (batched, read in place) and on pcapng; the packet view's
// detail of a cut packet carries both lengths too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../repo.ts';
import { startServer } from './stdio-server.ts';
import type { PacketDetail, PacketsResult, RunResponse } from '../../server/protocol.ts';
import { pcapngBlock, pcapngSectionHeader } from '../net/pcapng-outbound.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const PROG = join(REPO, 'examples', 'xdp_filter.c');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !existsSync(CLI) || !existsSync(join(REPO, 'dist', 'server.js')) ? 'dist/ is missing: run npm run build' : !haveClang ? 'clang is not installed' : false;

/** An Ethernet/IPv4/UDP frame of 60 bytes to `port`. */
function udpFrame(id: number, port: number): Buffer {
  const f = Buffer.alloc(60);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
  f.set([0x45, 0, 0, 46, id >> 8, id & 0xff, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  f.writeUInt16BE(1234, 34);
  f.writeUInt16BE(port, 36);
  f.writeUInt16BE(26, 38);
  return f;
}

/** Records [captured bytes, wire length]: whole frames, and every third one cut at 20, 36 or 10 bytes (10: too short). */
function records(): [Buffer, number][] {
  const out: [Buffer, number][] = [];
  const cuts = [20, 36, 10];
  for (let i = 0; i < 30; i++) {
    const f = udpFrame(i, i % 2 ? 9999 : 53);
    out.push(i % 3 === 1 ? [f.subarray(0, cuts[(i / 3) % 3 | 0]!), 60] : [f, 60]);
  }
  return out;
}

function pcap(recs: [Buffer, number][]): Buffer {
  const parts: Buffer[] = [Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex')];
  recs.forEach(([d, wire], i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000, 0);
    r.writeUInt32LE(i * 10, 4);
    r.writeUInt32LE(d.length, 8);
    r.writeUInt32LE(wire, 12);
    parts.push(r, d);
  });
  return Buffer.concat(parts);
}

function pcapng(recs: [Buffer, number][]): Buffer {
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(1, 0);
  const parts: Buffer[] = [pcapngSectionHeader(), pcapngBlock(1, idb)];
  recs.forEach(([d, wire], i) => {
    const b = Buffer.alloc(20 + ((d.length + 3) & ~3));
    b.writeUInt32LE(0, 0);
    b.writeUInt32LE(i * 10, 8);
    b.writeUInt32LE(d.length, 12);
    b.writeUInt32LE(wire, 16);
    d.copy(b, 20);
    parts.push(pcapngBlock(6, b));
  });
  return Buffer.concat(parts);
}

test('an editor run marks packets cut by the snap length, in the summary and on their rows, as the CLI does', { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-snap-server-'));
  try {
    for (const [name, bytes] of [['cut.pcap', pcap(records())], ['cut.pcapng', pcapng(records())]] as const) {
      const capture = join(dir, name);
      writeFileSync(capture, bytes);
      const r = spawnSync(process.execPath, [CLI, 'run', PROG, capture, '--format', 'jsonl'], { encoding: 'utf8', maxBuffer: 1 << 26 });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      const cli = lines.slice(0, -1);
      const { summary } = lines.at(-1);
      assert.equal(summary.truncated, 7, `${name}: the CLI counts the cut packets it ran`);
      assert.equal(cli.filter((c) => c.truncated).length, 10, name);
      const cliNote = /xdp-lens: note: (\d+ packets were captured shorter than on the wire.*)/.exec(r.stderr)?.[1];
      assert.ok(cliNote, r.stderr);
      for (const worker of ['never', '0', '5']) {
        const at = `${name}, worker ${worker}`;
        const s = await startServer(() => ({}), {}, { XDP_LENS_RUN_WORKER: worker });
        try {
          const run = await s.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(PROG).href, capture });
          assert.ok(run.summary, run.error);
          const sum = run.summary;
          assert.equal(sum.packets, summary.packets, at);
          assert.deepEqual(sum.byAction, summary.actions, at);
          assert.equal(sum.truncated, summary.truncated, at);
          assert.equal(sum.truncatedNote, cliNote.replace('jsonl "truncated": true', 'marked in the packets view'), at);
          const page = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: sum.runId, offset: 0, limit: 1000 });
          assert.equal(page.rows.length, cli.length, at);
          for (const [i, c] of cli.entries()) {
            const row = page.rows[i]!;
            assert.equal(row.len, c.len, `${at}: packet ${i}`);
            assert.equal(row.capLen, c.truncated ? c.caplen : undefined, `${at}: packet ${i}`);
            assert.equal(row.notRun, c.notRun, `${at}: packet ${i}`);
            if (!c.notRun) assert.equal(row.action, c.action, `${at}: packet ${i}`);
          }
          // A page from the middle, and a filtered one, say the same of the same packets.
          const mid = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: sum.runId, offset: 7, limit: 5 });
          assert.deepEqual(mid.rows.map((x) => [x.index, x.capLen]), cli.slice(7, 12).map((c) => [c.packet, c.truncated ? c.caplen : undefined]), at);
          const f = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: sum.runId, offset: 0, limit: 1000, filter: 'frame.cap_len < 60' });
          assert.equal(f.error, undefined, at);
          assert.deepEqual(f.rows.map((x) => [x.index, x.capLen]), cli.filter((c) => c.truncated && !c.notRun).map((c) => [c.packet, c.caplen]), `${at}: filtered`);
          // The packet view's detail says the same of a cut packet it shows, and nothing of a whole one.
          const cut = cli.find((c) => c.truncated && !c.notRun);
          const whole = cli.find((c) => !c.truncated && !c.notRun);
          const d = await s.conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: sum.runId, index: cut.packet });
          assert.deepEqual([d.len, d.capLen], [cut.len, cut.caplen], `${at}: detail of packet ${cut.packet}`);
          const w = await s.conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: sum.runId, index: whole.packet });
          assert.deepEqual([w.len, w.capLen], [undefined, undefined], `${at}: detail of packet ${whole.packet}`);
        } finally {
          await s.stop();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an editor run of whole frames says nothing of a snap length', { skip, timeout: 60_000 }, async () => {
  const s = await startServer(() => ({}), {}, {});
  try {
    const run = await s.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(PROG).href, capture: join(REPO, 'examples', 'demo.pcap') });
    assert.ok(run.summary, run.error);
    assert.equal(run.summary.truncated, undefined);
    assert.equal(run.summary.truncatedNote, undefined);
    const page = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: run.summary.runId, offset: 0, limit: 100 });
    assert.ok(page.rows.length > 0 && page.rows.every((x) => x.capLen === undefined));
  } finally {
    await s.stop();
  }
});
