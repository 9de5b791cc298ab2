// Frames of a length XDP never runs on (shorter than an Ethernet header, longer than BPF_PROG_TEST_RUN takes: see
// test/net/frame-length-not-run.test.ts, which measures those limits against the kernel) in editor runs: as
// `xdp-lens run`, the language server lists them at their capture number as not run ("too short" / "too long"),
// counts them only as lengthNotRun (with the CLI's note), leaves the maps as the packets that ran left them, and a
// detail or a display filter re-runs none of them. Checked against the CLI's jsonl for a program whose verdict depends
// on map state carried from packet to packet, with the run's worker thread and without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../repo.ts';
import { startServer } from './stdio-server.ts';
import type { MapsSeedResult, PacketDetail, PacketsResult, RunResponse } from '../../server/protocol.ts';
import { classicPcap } from '../net/pcap-file.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !existsSync(CLI) || !existsSync(join(REPO, 'dist', 'server.js')) ? 'dist/ is missing: run npm run build' : !haveClang ? 'clang is not installed' : false;

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
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&seen, &k);
	if (!c)
		return XDP_ABORTED;
	__u64 v = (*c)++;
	if (v % 3 == 0)
		return XDP_PASS;
	if (v % 3 == 1)
		return XDP_DROP;
	return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
`;

/** Ethernet + IPv4 + UDP where it fits, `len` bytes in all. */
function frame(id: number, len: number): Buffer {
  const b = Buffer.alloc(len, 0x61);
  const head = Buffer.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, 0x45, 0, 0, 28, id >> 8, id & 0xff, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  head.copy(b, 0, 0, Math.min(len, head.length));
  return b;
}

/** A classic pcap (snap length 262144) of these frames, 10 microseconds apart. */
const pcap = (frames: Buffer[]): Buffer => classicPcap(frames.map((data, i) => ({ data, sec: 1_700_000_000, usec: i * 10 })), 1, 262144);

test('an editor run lists frames shorter than 14 bytes or longer than 73152 as not run, as the CLI does (counts, maps, rows, filters, details)', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-frame-len-server-'));
  try {
    const program = join(dir, 'stateful.c');
    writeFileSync(program, STATEFUL);
    const lens = [60, 0, 64, 13, 1, 14, 80, 73153, 42, 100000, 15, 73152, 90, 12];
    const capture = join(dir, 'lens.pcap');
    writeFileSync(capture, pcap(lens.map((n, i) => frame(i, n))));
    const r = spawnSync(process.execPath, [CLI, 'run', program, capture, '--format', 'jsonl'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const cli = lines.slice(0, -1);
    const { summary, maps } = lines.at(-1);
    const notRun = cli.filter((c) => c.notRun).length;
    assert.equal(notRun, 6);
    assert.equal(summary.lengthNotRun, notRun);
    assert.equal(summary.packets, lens.length - notRun);
    const note = /xdp-lens: note: (\d+ packets were shorter than an Ethernet header.*)/.exec(r.stderr)?.[1];
    assert.ok(note, r.stderr);
    for (const worker of ['never', '0', '5']) {
      const s = await startServer(() => ({}), {}, { XDP_LENS_RUN_WORKER: worker });
      const at = `worker ${worker}`;
      try {
        const run = await s.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(program).href, capture });
        assert.ok(run.summary, run.error);
        const sum = run.summary;
        assert.equal(sum.packets, summary.packets, at);
        assert.equal(sum.lengthNotRun, notRun, at);
        assert.equal(sum.outgoingNotRun, undefined, at);
        assert.equal(sum.lengthNote, note, at);
        assert.deepEqual(sum.byAction, summary.actions, at);
        assert.equal(sum.counters.rx_packets, summary.packets, at);
        const seed = await s.conn.sendRequest<MapsSeedResult>('xdpLens/mapsSeed', { runId: sum.runId });
        assert.deepEqual(seed.maps, maps, `${at}: maps after the run`);
        const page = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: sum.runId, offset: 0, limit: 1000 });
        assert.equal(page.total, cli.length, at);
        for (const [i, c] of cli.entries()) {
          const row = page.rows[i]!;
          assert.equal(row.notRun, c.notRun, `${at}: packet ${i}`);
          if (!c.notRun) assert.equal(row.action, c.action, `${at}: packet ${i}`);
        }
        for (const filter of ['frame.len >= 0', 'frame.cap_len >= 0', 'queue == 0']) {
          const f = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: sum.runId, offset: 0, limit: 1000, filter });
          assert.equal(f.error, undefined, `${at}: ${filter}`);
          assert.deepEqual(f.rows.map((x) => x.index), cli.filter((c) => !c.notRun).map((c) => c.packet), `${at}: ${filter}`);
        }
        for (const c of cli) {
          const d = await s.conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: sum.runId, index: c.packet });
          if (c.notRun === 'too short') assert.match(d.error ?? '', /shorter than an Ethernet header \(14 bytes\): not run/, `${at}: packet ${c.packet}`);
          else if (c.notRun === 'too long') assert.match(d.error ?? '', /longer than BPF_PROG_TEST_RUN takes: not run/, `${at}: packet ${c.packet}`);
          else {
            assert.equal(d.error, undefined, `${at}: packet ${c.packet}`);
            assert.equal(d.action, c.action, `${at}: packet ${c.packet}`);
          }
        }
      } finally {
        await s.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
