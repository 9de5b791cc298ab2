// The driver options end to end through `xdp-lens run`: --driver, --profile, --queues as a user passes them, and
// the per-packet records and summary counters they produce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { PROGRAMS, noClang, udpFrame } from './helpers.ts';
import { REPO } from '../repo.ts';

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function capture(frames: Uint8Array[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'xdp-lens-driver-cli-')), 'in.pcap');
  const w = new PcapWriter(path);
  frames.forEach((f, i) => w.write(1_700_000_000_000_000_000n + BigInt(i) * 1000n, f));
  w.close();
  return path;
}

const storeLine = readFileSync(join(PROGRAMS, 'write.c'), 'utf8').split('\n').findIndex((l) => l.includes('// STORE')) + 1;

test('run --driver readonly-page: a packet write is a fault on its source line, counted as aborted', { skip: noClang }, () => {
  const pcap = capture([udpFrame(64, 0), udpFrame(64, 1), udpFrame(400, 0)]);
  const r = cli(['run', join(PROGRAMS, 'write.c'), pcap, '--driver', 'readonly-page', '--format', 'jsonl']);
  assert.equal(r.status, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const [read, write, big] = recs;
  assert.equal(read.path, 'napi_alloc_skb+copybreak');
  assert.equal(read.copied, 64);
  assert.equal(write.action, 'XDP_ABORTED');
  assert.equal(write.path, 'xdp_exception');
  assert.equal(write.fault.kind, 'readonly-page-write');
  assert.match(write.fault.file, /write\.c$/);
  assert.equal(write.fault.line, storeLine);
  assert.equal(big.path, 'napi_alloc_skb+copy');
  assert.equal(big.copied, 42);
  const { summary } = recs[3];
  assert.equal(summary.driver.mode, 'readonly-page');
  assert.equal(summary.faults, 1);
  assert.equal(summary.actions.XDP_ABORTED, 1);
  assert.equal(summary.driver.counters.rx_xdp_fault, 1);
  assert.equal(summary.driver.counters.rx_xdp_aborted, 1);
  assert.equal(summary.driver.counters.rx_copied_bytes, 64 + 42);

  const table = cli(['run', join(PROGRAMS, 'write.c'), pcap, '--driver', 'readonly-page']);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /read-only/, 'the table explains the mode');
  assert.match(table.stdout, new RegExp(`write\\.c:${storeLine}`));
  assert.match(table.stdout, /fault readonly-page-write/);
});

test('run --driver native / generic: the same program writes freely', { skip: noClang }, () => {
  const pcap = capture([udpFrame(64, 1)]);
  for (const mode of ['native', 'generic']) {
    const r = cli(['run', join(PROGRAMS, 'write.c'), pcap, '--driver', mode, '--format', 'jsonl', '--data']);
    assert.equal(r.status, 0, r.stderr);
    const [pkt, { summary }] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(pkt.action, 'XDP_PASS');
    assert.equal(pkt.path, mode === 'native' ? 'build_skb' : 'netif_receive_skb');
    assert.match(pkt.data, /^02/);
    assert.equal(summary.faults, 0);
  }
});

test('run --queues 4 --profile i40e: per-CPU values for four CPUs, packets spread over queues', { skip: noClang }, () => {
  const frames = Array.from({ length: 40 }, (_, i) => udpFrame(64, 2, { src: [192, 0, 2, i], sport: 1000 + 13 * i }));
  const r = cli(['run', join(PROGRAMS, 'percpu.c'), capture(frames), '--queues', '4', '--profile', 'i40e', '--format', 'jsonl']);
  assert.equal(r.status, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const { summary, maps } = recs[recs.length - 1];
  assert.equal(summary.driver.queues, 4);
  assert.equal(summary.driver.profile, 'i40e');
  const perQueue = [0, 0, 0, 0];
  for (const p of recs.slice(0, -1)) perQueue[p.queue ?? 0]++;
  const values = maps.pkts[0].values.map((v: string) => Number(Buffer.from(v, 'hex').readBigUInt64LE(0)));
  assert.deepEqual(values, perQueue);
  assert.ok(perQueue.filter((n) => n > 0).length >= 3, perQueue.join(' '));
});

test('run --driver with an unknown mode or profile: a clear error', () => {
  const pcap = capture([udpFrame(64, 2)]);
  const bad = cli(['run', join(PROGRAMS, 'verdict.c'), pcap, '--driver', 'zerocopy']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--driver is one of native, readonly-page, generic/);
  const prof = cli(['run', join(PROGRAMS, 'verdict.c'), pcap, '--profile', 'e1000']);
  assert.equal(prof.status, 2);
  assert.match(prof.stderr, /--profile is one of mlx5, i40e/);
});
