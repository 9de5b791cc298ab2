// Packets the capturing host sent (CapturedPacket.outgoing: tcpdump -i any's Linux cooked packet type 4, pcapng
// epb_flags outbound) in editor runs: as `xdp-lens run` (test/net/outgoing.test.ts), the language server does not run
// them, counts them only as outgoingNotRun (with the CLI's note), leaves the maps as the received packets left them, and
// lists them in the packets view at their capture number as not run. Checked against the CLI's jsonl on the shared
// SLL2 capture (outgoing packets last) and on a generated pcapng whose outbound packets are interleaved with received
// ones, for a program whose return line depends on map state carried from packet to packet (a run, a return-line twin
// or a detail re-run that ran an outgoing packet would be out of step), with the run's worker thread and without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../repo.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { startServer } from './stdio-server.ts';
import { fakeTcpdump } from './fake-tcpdump.ts';
import { diffVerdictsOf } from '../../server/run.ts';
import type { CompareKernelResult, MapsSeedResult, PacketDetail, PacketsResult, RunResponse, RunStatsResult } from '../../server/protocol.ts';
import { pcapngWithDirections as pcapng } from '../net/pcapng-outbound.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const SLL2 = join(REPO, '..', 'shared', 'captures', 'zeek--linux_dlt_sll2.pcap');
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
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&seen, &k);
	if (!c)
		return XDP_ABORTED;
	__u64 v = (*c)++;
	if (v % 5 == 0)
		return XDP_PASS;
	if (v % 5 == 1)
		return XDP_DROP;
	if (data + 60 > data_end)
		return XDP_PASS;
	if (v % 5 == 2)
		return XDP_TX;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
`;


/** Ethernet + IPv4 + UDP, `len` bytes in all (at least 42), `id` in the IP identification. */
function udpFrame(id: number, len: number): Buffer {
  const b = Buffer.alloc(len, 0x61);
  b.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0], 0);
  b.set([0x45, 0, (len - 14) >> 8, (len - 14) & 0xff, id >> 8, id & 0xff, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  b.writeUInt16BE(1234, 34);
  b.writeUInt16BE(53, 36);
  b.writeUInt16BE(len - 34, 38);
  b.writeUInt16BE(0, 40);
  return b;
}

interface CliRun {
  packets: Record<string, unknown>[];
  summary: Record<string, unknown> & { packets: number; actions: Record<string, number>; outcomes: Record<string, number>; outgoingNotRun?: number };
  maps: unknown;
  note: string | undefined;
}

function cliRun(program: string, capture: string): CliRun {
  const r = spawnSync(process.execPath, [CLI, 'run', program, capture, '--format', 'jsonl'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const last = lines.at(-1);
  return { packets: lines.slice(0, -1), summary: last.summary, maps: last.maps, note: /xdp-lens: note: (\d+ packets? (?:was|were) sent by the capturing host.*)/.exec(r.stderr)?.[1] };
}

/** The editor's run of `program` on `capture` and the CLI's, field by field. */
async function sameAsCli(program: string, capture: string, worker: string, expect: { ran: number; outgoing: number }): Promise<void> {
  const cli = cliRun(program, capture);
  assert.equal(cli.summary.packets, expect.ran);
  assert.equal(cli.summary.outgoingNotRun, expect.outgoing);
  const s = await startServer(() => ({}), {}, { XDP_LENS_RUN_WORKER: worker });
  try {
    const r = await s.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(program).href, capture });
    assert.ok(r.summary, r.error);
    const sum = r.summary;
    const at = `${capture} (worker ${worker})`;
    assert.equal(sum.packets, cli.summary.packets, at);
    assert.equal(sum.outgoingNotRun, cli.summary.outgoingNotRun, at);
    assert.equal(sum.outgoingNote, cli.note, at);
    assert.deepEqual(sum.byAction, cli.summary.actions, at);
    assert.deepEqual(sum.byOutcome, cli.summary.outcomes, at);
    assert.equal(sum.counters.rx_packets, cli.summary.packets, at);
    const seed = await s.conn.sendRequest<MapsSeedResult>('xdpLens/mapsSeed', { runId: sum.runId });
    assert.deepEqual(seed.maps, cli.maps, `${at}: maps after the run`);
    const stats = await s.conn.sendRequest<RunStatsResult>('xdpLens/runStats', { runId: sum.runId });
    assert.equal((stats.stats as { packets: number }).packets, cli.summary.packets, at);

    // Every row, by capture number: the CLI's result, or not run where the CLI did not run it.
    const page = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: sum.runId, offset: 0, limit: 1000 });
    assert.equal(page.total, cli.packets.length, at);
    for (const [i, c] of cli.packets.entries()) {
      const row = page.rows[i]!;
      assert.equal(row.index, c.packet, at);
      assert.equal(row.len, c.len, at);
      assert.equal(row.summary, c.summary, `${at}: packet ${i}`);
      if (c.notRun) {
        assert.equal(row.notRun, 'outgoing', `${at}: packet ${i}`);
        // Nothing of a run: no action, return value, exit or driver path (as the CLI's jsonl line); a cooked
        // record's made Ethernet header is said, as there.
        assert.equal(row.ethernetHeader, c.ethernetHeader, `${at}: packet ${i}`);
        assert.deepEqual(Object.keys(row).filter((k) => !k.startsWith('ethernetHeader')).sort(), ['index', 'len', 'notRun', 'summary', 'time'], `${at}: packet ${i}`);
        continue;
      }
      assert.equal(row.notRun, undefined, `${at}: packet ${i}`);
      assert.deepEqual({ action: row.action, retval: row.retval, line: row.line, outcome: row.outcome, path: row.path }, { action: c.action, retval: c.retval, line: c.line, outcome: c.outcome, path: c.path }, `${at}: packet ${i}`);
    }

    // Display filters list none of them (as `run --filter`): one from the columns, one that reads the frames again,
    // one that re-runs the packets.
    const received = cli.packets.filter((c) => !c.notRun);
    for (const [filter, want] of [
      ['frame.len > 0', received],
      ['frame.cap_len > 0', received],
      ['udp || icmp || icmpv6', received.filter((c) => /UDP|ICMP/.test(String(c.summary)))],
      ['queue == 0', received],
    ] as const) {
      const f = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: sum.runId, offset: 0, limit: 1000, filter });
      assert.equal(f.error, undefined, `${at}: ${filter}`);
      assert.deepEqual(f.rows.map((x) => x.index), want.map((c) => c.packet), `${at}: ${filter}`);
    }

    // A packet's detail: re-run with the outgoing packets before it left out (the same action and line); an outgoing
    // packet's says it was not run.
    for (const c of cli.packets) {
      const d = await s.conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: sum.runId, index: c.packet });
      if (c.notRun) assert.match(d.error ?? '', /sent by the capturing host \(outgoing\): not run/, `${at}: packet ${c.packet}`);
      else {
        assert.equal(d.error, undefined, `${at}: packet ${c.packet}`);
        assert.deepEqual({ action: d.action, line: d.line }, { action: c.action, line: c.line }, `${at}: packet ${c.packet}`);
      }
    }
  } finally {
    await s.stop();
  }
}

test('an editor run of tcpdump -i any (SLL2) gives the CLI\'s counts, maps and rows: 4 run, 2 outgoing listed as not run', { skip: skip || (!existsSync(SLL2) && `${SLL2} is absent`) }, async () => {
  for (const worker of ['never', '0']) await sameAsCli(join(REPO, 'examples', 'xdp_filter.c'), SLL2, worker, { ran: 4, outgoing: 2 });
});

test('an editor run of a pcapng with outbound packets between received ones gives the CLI\'s counts, maps and rows', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-outgoing-'));
  try {
    const program = join(dir, 'stateful.c');
    writeFileSync(program, STATEFUL);
    const frames = Array.from({ length: 40 }, (_, i) => udpFrame(i, 42 + ((i * 13) % 50)));
    const outbound = new Set([0, 3, 4, 9, 17, 18, 19, 25, 39]);
    const capture = join(dir, 'mixed.pcapng');
    writeFileSync(capture, pcapng(frames, outbound));
    for (const worker of ['never', '0', '5']) await sameAsCli(program, capture, worker, { ran: 40 - outbound.size, outgoing: outbound.size });
    for (const worker of ['never', '0']) await sameAsCli(join(REPO, 'examples', 'xdp_filter.c'), capture, worker, { ran: 40 - outbound.size, outgoing: outbound.size });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Compare with Kernel in the editor leaves outgoing packets out as `xdp-lens compare` does: the same rows, numbered as in the capture, and the note', { skip }, async (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-outgoing-'));
  try {
    const program = join(dir, 'stateful.c');
    writeFileSync(program, STATEFUL);
    const outbound = new Set([1, 2, 6, 11]);
    const capture = join(dir, 'mixed.pcapng');
    writeFileSync(capture, pcapng(Array.from({ length: 16 }, (_, i) => udpFrame(i, 42 + ((i * 13) % 50))), outbound));
    const cli = spawnSync(process.execPath, [CLI, 'compare', program, capture], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const note = /xdp-lens: note: (4 packets were sent by the capturing host.*)/.exec(cli.stderr)?.[1];
    assert.ok(note, cli.stderr);
    const s = await startServer(() => ({}));
    try {
      const r = await s.conn.sendRequest<CompareKernelResult>('xdpLens/compareKernel', { uri: pathToFileURL(program).href, capture });
      assert.equal(r.available, true, r.reason);
      assert.equal(r.compared, 12);
      assert.equal(r.differing, 0);
      // The rows (after each side's title line) are the CLI's, packet numbers included; then the CLI's note.
      const rows = (text: string) => text.split('\n').filter((l) => !l.startsWith('(note: ')).join('\n').trim().split('\n').slice(1);
      assert.deepEqual(rows(r.text), rows(cli.stdout));
      assert.ok(r.text.includes(`(note: ${note})`), r.text);
    } finally {
      await s.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a live run on `tcpdump -i any` output leaves the outgoing packets out as the CLI does on the recorded capture', { skip: skip || (!existsSync(SLL2) && `${SLL2} is absent`), timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-outgoing-live-'));
  try {
    const fake = fakeTcpdump(dir, 'tcpdump-any', 'exit', { capture: SLL2, delayMs: 5 });
    const cli = cliRun(join(REPO, 'examples', 'xdp_filter.c'), SLL2);
    const s = await startServer(() => ({ tcpdump: { path: fake.path } }));
    try {
      const r = await s.conn.sendRequest<RunResponse>('xdpLens/runLive', { uri: pathToFileURL(join(REPO, 'examples', 'xdp_filter.c')).href, interface: 'any', captureDir: dir });
      assert.ok(r.summary, r.error);
      assert.equal(r.summary.packets, 4);
      assert.equal(r.summary.outgoingNotRun, 2);
      assert.equal(r.summary.outgoingNote, cli.note);
      assert.deepEqual(r.summary.byAction, cli.summary.actions);
      const page = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: r.summary.runId, offset: 0, limit: 100 });
      assert.deepEqual(page.rows.map((x) => x.notRun ?? x.action), cli.packets.map((c) => c.notRun ?? c.action));
    } finally {
      await s.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Compare Verdicts leaves outgoing packets out as `xdp-lens diff` does: the same packets, the same changed rows by capture number', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-outgoing-diff-'));
  try {
    const oldPath = join(dir, 'old.c');
    const path = join(dir, 'new.c');
    writeFileSync(oldPath, STATEFUL);
    writeFileSync(path, STATEFUL.replace('return XDP_TX;', 'return XDP_PASS;'));
    const outbound = new Set([0, 5, 6, 12, 20]);
    const capture = join(dir, 'mixed.pcapng');
    writeFileSync(capture, pcapng(Array.from({ length: 30 }, (_, i) => udpFrame(i, 42 + ((i * 13) % 50))), outbound));
    const cli = spawnSync(process.execPath, [CLI, 'diff', oldPath, path, capture, '--format', 'jsonl'], { encoding: 'utf8' });
    assert.ok(cli.status === 0 || cli.status === 1, cli.stderr);
    const lines = cli.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const changed = lines.filter((l) => l.packet !== undefined).map((l) => l.packet as number);
    assert.ok(changed.length > 0);
    assert.ok(changed.every((i) => !outbound.has(i)));
    const r = diffVerdictsOf({ oldPath, oldName: 'old.c', path, capture, options: { compile: {}, mode: 'native', profile: 'mlx5', queues: 1 } });
    assert.equal(r.error, undefined);
    assert.equal(r.packets, 30 - outbound.size);
    assert.equal(r.changed, changed.length);
    // The text's rows (after its title line; the summary lines after them count packets, not number them).
    const rowPackets = [...(r.text ?? '').matchAll(/^\s*(\d+)\s/gm)].map((m) => Number(m[1]));
    assert.deepEqual(rowPackets.slice(0, changed.length), changed);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
