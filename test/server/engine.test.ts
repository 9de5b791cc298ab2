// The xdpLens.engine setting: Run on Capture with the compiled engine gives the run the interpreter gives (summary,
// every row, a packet's detail, which steps through the interpreter); an unknown value falls back to the default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { runCapture, packets, packetDetail } from '../../server/run.ts';
import { DEFAULT_SETTINGS, type XdpLensSettings } from '../../server/protocol.ts';
import { PROGRAMS, udpFrame, noClang } from '../driver/helpers.ts';
import { compileStats } from '../../simulator/vm/compiled/engine.ts';

const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
const hostWith = (engine: XdpLensSettings['engine']) => ({ settingsFor: async () => ({ ...DEFAULT_SETTINGS, engine }), compileOptions: () => ({}), log: () => {} });

test('xdpLens.engine compiled: the same run summary, rows and detail as interp', { skip: noClang }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-engine-setting-'));
  try {
    const capture = join(dir, 'c.pcap');
    const w = new PcapWriter(capture);
    for (let i = 0; i < 6; i++) w.write(BigInt(i) * 1000n, udpFrame(64 + i, 7 + (i % 3)));
    w.close();
    const uri = pathToFileURL(join(PROGRAMS, 'redirect.c')).href;
    const strip = (s: Record<string, unknown>) => JSON.stringify({ ...s, runId: undefined, timing: undefined, compileMs: undefined, runMs: undefined });
    const before = compileStats.programs;
    const a = await runCapture({ uri, capture }, hostWith('interp'), token as never);
    assert.equal(compileStats.programs, before, 'interp compiles nothing');
    const b = await runCapture({ uri, capture }, hostWith('compiled'), token as never);
    assert.ok(compileStats.programs > before, 'the compiled engine ran');
    assert.equal(b.error, undefined);
    assert.equal(a.summary!.packets, 6);
    assert.deepEqual(a.summary!.byOutcome, b.summary!.byOutcome);
    assert.deepEqual(a.summary!.exits, b.summary!.exits);
    const rows = (id: string) => packets({ runId: id, offset: 0, limit: 10 }).rows;
    assert.deepEqual(rows(b.summary!.runId), rows(a.summary!.runId));
    for (const index of [0, 4]) {
      const da = await packetDetail({ runId: a.summary!.runId, index }, token as never);
      const db = await packetDetail({ runId: b.summary!.runId, index }, token as never);
      assert.equal(strip(db as never), strip(da as never));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
