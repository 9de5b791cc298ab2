// Summaries made per page (issue 12): a capture run on a file that can be read by position keeps each packet's record
// offset (CaptureReader.recordOffset / context / seek) instead of its summary text. Reading a record again by its
// offset gives the packet `next()` gave, on every capture of the shared set (pcap and pcapng, several interfaces and
// sections); a page asked for after the capture changed says so instead of summarising other bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openCapture } from '../../simulator/net/capture.ts';
import { runCapture, packets } from '../../server/run.ts';
import { DEFAULT_SETTINGS } from '../../server/protocol.ts';
import { REPO } from '../repo.ts';
import { noClang } from '../driver/helpers.ts';

const SHARED = join(REPO, '..', 'shared', 'captures');
const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
const host = { settingsFor: async () => ({ ...DEFAULT_SETTINGS }), compileOptions: () => ({}), log: () => {} };

test('a record read again by its offset and context is the packet next() gave', { skip: !existsSync(SHARED) && `${SHARED} is absent` }, () => {
  const files = readdirSync(SHARED).filter((f) => /\.pcap(ng)?$/.test(f));
  assert.ok(files.length >= 10);
  for (const f of files) {
    const path = join(SHARED, f);
    const seen: { offset: number; context: object; index: number; tsNs: bigint; frame: string; wireLen: number }[] = [];
    const r = openCapture(path);
    assert.equal(r.seekable, true);
    try {
      for (let p = r.next(); p; p = r.next()) seen.push({ offset: r.recordOffset, context: r.context, index: p.index, tsNs: p.tsNs, frame: Buffer.from(p.frame).toString('hex'), wireLen: p.wireLen });
    } catch {
      /* a capture that ends in a broken record: the packets before it */
    } finally {
      r.close();
    }
    assert.ok(seen.length > 0, f);
    const again = openCapture(path, { views: true });
    try {
      // Backwards, then a few forwards: every seek lands on the same packet.
      for (const s of [...seen].reverse().concat(seen.slice(0, 5))) {
        assert.ok(again.seek(s.offset, s.index, s.context), `${f}: seek to ${s.offset}`);
        const p = again.next()!;
        assert.deepEqual({ index: p.index, tsNs: p.tsNs, frame: Buffer.from(p.frame).toString('hex'), wireLen: p.wireLen }, { index: s.index, tsNs: s.tsNs, frame: s.frame, wireLen: s.wireLen }, `${f}: packet ${s.index}`);
      }
    } finally {
      again.close();
    }
  }
});

test('a page of a run whose capture changed since says so in the summary column', { skip: noClang }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-records-'));
  try {
    const capture = join(dir, 'c.pcap');
    copyFileSync(join(REPO, 'examples', 'demo.pcap'), capture);
    const r = await runCapture({ uri: pathToFileURL(join(REPO, 'examples', 'xdp_filter.c')).href, capture }, host as never, token as never);
    assert.ok(r.summary, r.error);
    const before = packets({ runId: r.summary.runId, offset: 0, limit: 100 });
    assert.match(before.rows[1]!.summary, /ICMP echo request/);
    writeFileSync(capture, Buffer.alloc(24));
    const after = packets({ runId: r.summary.runId, offset: 0, limit: 100 });
    assert.equal(after.rows.length, before.rows.length);
    for (const [i, row] of after.rows.entries()) {
      assert.equal(row.summary, '(the capture changed since the run: run again)');
      assert.deepEqual({ ...row, summary: '' }, { ...before.rows[i]!, summary: '' }, 'the other columns are kept');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
