// The run request's outcomes, in process: per exit line, in the summary, per packet row and in the detail, for the
// redirect fixture of the driver tests (XDP_REDIRECT with no target; a bpf_redirect_map fallback on an empty map).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { runCapture, packets, packetDetail } from '../../server/run.ts';
import { DEFAULT_SETTINGS } from '../../server/protocol.ts';
import { PROGRAMS, udpFrame, noClang } from '../driver/helpers.ts';

const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
const host = { settingsFor: async () => DEFAULT_SETTINGS, compileOptions: () => ({}), log: () => {} };

test('run: outcomes per exit, per packet and in the summary; diagnostics material for the lines', { skip: noClang }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-outcome-'));
  try {
    const capture = join(dir, 'c.pcap');
    const w = new PcapWriter(capture);
    for (let i = 0; i < 3; i++) w.write(BigInt(i) * 1000n, udpFrame(64, 9)); // XDP_REDIRECT without a target
    w.write(5000n, udpFrame(64, 8)); // cpus[3]: fallback XDP_PASS, map empty
    w.close();
    const program = join(PROGRAMS, 'redirect.c');
    const r = await runCapture({ uri: pathToFileURL(program).href, capture }, host, token as never);
    assert.equal(r.error, undefined);
    const s = r.summary!;
    assert.deepEqual(s.byOutcome, { 'dropped: no redirect target': 3, 'passed: bpf_redirect_map fallback, map empty': 1 });
    const redirectExit = s.exits.find((e) => e.action === 'XDP_REDIRECT')!;
    assert.deepEqual(redirectExit.outcomes, { 'dropped: no redirect target': 3 });
    assert.equal(s.outcomeIssues?.length, 2);
    const issue = s.outcomeIssues!.find((o) => o.action === 'XDP_REDIRECT')!;
    assert.equal(issue.line, redirectExit.line, 'the diagnostic sits on the line the packets left through');
    assert.deepEqual(issue.firstPackets, [0, 1, 2]);
    const page = packets({ runId: s.runId, offset: 0, limit: 10 });
    assert.deepEqual(page.rows.map((row) => row.outcome), ['dropped: no redirect target', 'dropped: no redirect target', 'dropped: no redirect target', 'passed: bpf_redirect_map fallback, map empty']);
    const d = await packetDetail({ runId: s.runId, index: 3 }, token as never);
    assert.equal(d.outcome, 'passed: bpf_redirect_map fallback, map empty');
    assert.match(d.note ?? '', /cpus has no entries/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('packets with a display filter: result fields from the run, frame fields from the capture, errors with the column', { skip: noClang }, async () => {
  const { filteredPackets } = await import('../../server/run.ts');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-filter-'));
  try {
    const capture = join(dir, 'c.pcap');
    const w = new PcapWriter(capture);
    w.write(0n, udpFrame(64, 9, { dport: 53 }));
    w.write(1000n, udpFrame(64, 8, { dport: 53 }));
    w.write(2000n, udpFrame(80, 9, { dport: 80, src: [10, 9, 9, 9] }));
    w.close();
    const r = await runCapture({ uri: pathToFileURL(join(PROGRAMS, 'redirect.c')).href, capture }, host, token as never);
    const runId = r.summary!.runId;
    const q = async (filter: string, extra = {}) => filteredPackets({ runId, offset: 0, limit: 10, filter, ...extra }, token as never);
    assert.deepEqual((await q('outcome == "dropped: no redirect target"')).rows.map((x) => x.index), [0, 2]);
    assert.deepEqual((await q('udp.dstport == 80 || ip.src == 10.0.0.0/8 && action == XDP_PASS')).rows.map((x) => x.index), [1, 2]);
    assert.deepEqual((await q('frame.len > 64')).rows.map((x) => x.index), [2]);
    assert.deepEqual((await q('udp', { action: 'XDP_PASS' })).rows.map((x) => x.index), [1], 'combined with the action filter');
    assert.deepEqual((await q('!modified')).total, 3, 'a field that needs the run repeated');
    const bad = await q('udp.dstport == ');
    assert.equal(bad.total, 0);
    assert.match(bad.error ?? '', /^filter: column 16: expected a value after '=='/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
