// A record's length on the wire past 2^31 - 1 (a classic pcap's orig_len, a pcapng EPB's original length, a simple
// packet block's): Wireshark shows 2147483647 (its lengths are signed 32-bit); so does the reader, every path of it
// (copies, views, the CLI's batched reading). Checked against tshark's frame.len when installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../../simulator/net/capture.ts';
import { pcapngBlock, pcapngSectionHeader } from './pcapng-outbound.ts';
import { REPO } from '../repo.ts';
import { haveTshark } from '../filter/tshark-agree.ts';

const FRAME = Buffer.from('02000000000102000000000208004500003000010000400600000a0000010a00000203fd0050000013a0000002bc6012200000000000020405b401020304', 'hex');
const ORIGS = [100_000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff];
const WANT = ORIGS.map((o) => Math.min(o, 0x7fffffff));

function pcap(): Buffer {
  const parts = [Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex')];
  ORIGS.forEach((orig, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(i, 0);
    h.writeUInt32LE(FRAME.length, 8);
    h.writeUInt32LE(orig, 12);
    parts.push(h, FRAME);
  });
  return Buffer.concat(parts);
}

function pcapng(simple: boolean): Buffer {
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(1, 0);
  idb.writeUInt32LE(simple ? FRAME.length : 0, 4);
  const parts = [pcapngSectionHeader(), pcapngBlock(1, idb)];
  const pad = Buffer.alloc((4 - (FRAME.length % 4)) % 4);
  ORIGS.forEach((orig, i) => {
    if (simple) {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(orig, 0);
      parts.push(pcapngBlock(3, Buffer.concat([len, FRAME, pad])));
      return;
    }
    const fixed = Buffer.alloc(20);
    fixed.writeUInt32LE(i, 8);
    fixed.writeUInt32LE(FRAME.length, 12);
    fixed.writeUInt32LE(orig, 16);
    parts.push(pcapngBlock(6, Buffer.concat([fixed, FRAME, pad])));
  });
  return Buffer.concat(parts);
}

test('a wire length past 2^31 - 1 reads as 2147483647 (pcap, pcapng EPB and SPB), as tshark shows it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-wirelen-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = { 'a.pcap': pcap(), 'b.pcapng': pcapng(false), 'c.pcapng': pcapng(true) };
  for (const [name, bytes] of Object.entries(files)) {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    for (const opts of [{}, { views: true }, { views: true, reuse: true }]) {
      const r = openCapture(path, opts);
      const got: number[] = [];
      for (let p; (p = r.next()); ) {
        got.push(p.wireLen);
        assert.equal(p.capLen, FRAME.length);
      }
      r.close();
      assert.deepEqual(got, WANT, `${name} ${JSON.stringify(opts)}`);
    }
    // The CLI reads a classic pcap in batches: its jsonl "len".
    const cli = spawnSync(process.execPath, [join(REPO, 'bin', 'xdp-lens'), 'run', join(REPO, 'examples', 'xdp_filter.c'), path, '--format', 'jsonl'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const lens = cli.stdout.split('\n').filter((l) => l.startsWith('{"packet"')).map((l) => JSON.parse(l).len as number);
    assert.deepEqual(lens, WANT, `xdp-lens run ${name}`);
    if (!haveTshark) continue;
    const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.len'], { encoding: 'utf8' });
    assert.equal(ts.status, 0, ts.stderr);
    assert.deepEqual(ts.stdout.split('\n').filter(Boolean).map(Number), WANT, `tshark ${name}`);
  }
  if (!haveTshark) t.diagnostic('tshark is not installed: frame.len not compared');
});
