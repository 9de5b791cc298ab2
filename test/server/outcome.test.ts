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
