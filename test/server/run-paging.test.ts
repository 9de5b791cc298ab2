// Paging and filtering a run of several thousand packets (issue 12): what the server keeps per packet is compact
// (typed columns, summaries packed in one buffer), and the rows it pages out must still be exactly the packets'.
// Every row is checked against the capture read and dissected independently, and every filtered page against the
// unfiltered rows narrowed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { summarize } from '../../simulator/net/dissect.ts';
import { runCapture, packets, filteredPackets } from '../../server/run.ts';
import { DEFAULT_SETTINGS, type PacketRow, type PacketsParams } from '../../server/protocol.ts';
import { REPO } from '../repo.ts';
import { demoFrames, udpFrame, noClang } from '../driver/helpers.ts';

const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
const host = { settingsFor: async () => ({ ...DEFAULT_SETTINGS }), compileOptions: () => ({}), log: () => {} };
const PACKETS = 6000;

test('a run of 6000 packets pages and filters exactly the packets of the capture', { skip: noClang }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-paging-'));
  try {
    const capture = join(dir, 'c.pcap');
    const demo = demoFrames();
    const w = new PcapWriter(capture);
    const written: Uint8Array[] = [];
    for (let i = 0; i < PACKETS; i++) {
      const f = i % 3 === 0 ? udpFrame(60 + (i % 50), 7 + (i % 200), { sport: 1000 + i, dport: 53 + (i % 7) }) : demo[i % demo.length]!;
      w.write(BigInt(i) * 1_000_000n, f);
      written.push(f);
    }
    // UDP over IPv4 straight on Ethernet (the frames written here have no VLAN tags nor IPv6).
    const isUdp = (i: number) => written[i]![12] === 0x08 && written[i]![13] === 0x00 && written[i]![23] === 17;
    w.close();
    const reports: { pct: number; msg: string }[] = [];
    const progress = { report: (pct: number, msg: string) => reports.push({ pct, msg }) };
    const r = await runCapture({ uri: pathToFileURL(join(REPO, 'examples', 'xdp_filter.c')).href, capture }, host as never, token as never, progress);
    assert.equal(r.error, undefined, r.error);
    const s = r.summary!;
    assert.equal(s.packets, PACKETS);
    // Each progress report carries the counts so far (issue 12): its packets are the sum of its counts per action.
    assert.ok(reports.length >= 1);
    let last = 0;
    for (const { pct, msg } of reports) {
      // Thousands separated; an outcome only when it has a reason ("passed" beside PASS would say it twice).
      const m = /^([\d,]+) packets?: ((?:[\d,]+ [A-Z]+(?:, )?)+)(?: · (.+))?$/.exec(msg);
      assert.ok(m, msg);
      const num = (x: string) => Number(x.replace(/,/g, ''));
      const sum = [...m[2]!.matchAll(/([\d,]+) [A-Z]+/g)].reduce((a, x) => a + num(x[1]!), 0);
      assert.equal(sum, num(m[1]!), msg);
      assert.ok(!m[3] || m[3].split(', ').every((o) => o.includes(':')), msg);
      assert.ok(num(m[1]!) >= last && num(m[1]!) <= PACKETS && pct >= 0 && pct <= 99, msg);
      last = num(m[1]!);
    }
    const runId = s.runId;

    // All rows, in pages of 700 (pages that do not divide the run), against the capture dissected here.
    const all: PacketRow[] = [];
    for (let offset = 0; offset < PACKETS; offset += 700) {
      const page = packets({ runId, offset, limit: 700 });
      assert.equal(page.total, PACKETS);
      all.push(...page.rows);
    }
    assert.equal(all.length, PACKETS);
    const reader = openCapture(capture);
    try {
      for (let i = 0; i < PACKETS; i++) {
        const pkt = reader.next()!;
        const row = all[i]!;
        assert.equal(row.index, i);
        assert.equal(row.summary, summarize(pkt.frame), `summary of packet ${i}`);
        assert.equal(row.len, pkt.wireLen);
        assert.equal(row.time, (i / 1000).toFixed(6));
      }
      assert.equal(reader.next(), undefined);
    } finally {
      reader.close();
    }
    const count = (pred: (r: PacketRow) => boolean) => all.filter(pred).length;
    for (const [a, n] of Object.entries(s.byAction)) assert.equal(count((row) => row.action === a), n, a);
    assert.ok(s.byAction.XDP_TX > 0 && s.byAction.XDP_DROP > 0 && s.byAction.XDP_PASS > 0, JSON.stringify(s.byAction));

    // A filtered page is the unfiltered rows narrowed, in order, from any offset.
    const expectPages = async (params: Omit<PacketsParams, 'runId' | 'offset' | 'limit'>, pred: (r: PacketRow) => boolean) => {
      const want = all.filter(pred);
      assert.ok(want.length > 0 && want.length < PACKETS, `${JSON.stringify(params)} selects some packets`);
      for (const offset of [0, 123, want.length - 50]) {
        const p = { runId, offset, limit: 100, ...params };
        const got = p.filter ? await filteredPackets(p, token as never) : packets(p);
        assert.equal(got.error, undefined, got.error);
        assert.equal(got.total, want.length, JSON.stringify(params));
        assert.deepEqual(got.rows, want.slice(offset, offset + 100), `${JSON.stringify(params)} at ${offset}`);
      }
    };
    await expectPages({ action: 'XDP_TX' }, (row) => row.action === 'XDP_TX');
    const line = all.find((row) => row.action === 'XDP_DROP')!.line;
    await expectPages({ line }, (row) => row.line === line);
    // Result fields only (the stored columns and summaries), then fields of the frame (the capture read again).
    await expectPages({ filter: 'summary contains "UDP"' }, (row) => row.summary.includes('UDP'));
    await expectPages({ filter: 'action == XDP_PASS && frame.len > 70' }, (row) => row.action === 'XDP_PASS' && row.len > 70);
    await expectPages({ filter: 'frame.cap_len > 70' }, (row) => row.len > 70);
    await expectPages({ filter: 'udp' }, (row) => isUdp(row.index));
    await expectPages({ filter: 'udp', action: 'XDP_PASS' }, (row) => isUdp(row.index) && row.action === 'XDP_PASS');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
