// `xdp-lens run --format jsonl` writes the common packet's line byte by byte (packetJsonOut: numbers digit pair by
// digit pair, a second's bytes kept while the second stays the same, the summary of a frame the program left as it
// was read where the frame is in the batch, without a view of it). Each line must be the JSON of the packet's record:
// its "packet", "ts", "len" and "caplen" what the capture's record says (checked here from the file's bytes, not from
// the reader), "summary" what the dissector says of the frame, and the whole line what the frame-by-frame path from a
// pipe prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, sharedPath } from '../repo.ts';
import { captureCorpus, syntheticCorpus } from '../parity/packets.ts';
import { summarize } from '../../simulator/net/dissect.ts';

const skip = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';

/** A nanosecond pcap (magic a1b23c4d) of these frames and times. */
function nanoPcap(records: { data: Uint8Array; sec: number; nsec: number }[]): Buffer {
  const header = Buffer.from('4d3cb2a1020004000000000000000000ffff000001000000', 'hex');
  const parts: Buffer[] = [header];
  for (const r of records) {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(r.sec, 0);
    rec.writeUInt32LE(r.nsec, 4);
    rec.writeUInt32LE(r.data.length, 8);
    rec.writeUInt32LE(r.data.length, 12);
    parts.push(rec, Buffer.from(r.data));
  }
  return Buffer.concat(parts);
}

function run(args: string[], input?: Buffer): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'run', ...args], { cwd: REPO, input, encoding: 'utf8', maxBuffer: 1 << 30, timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('run --format jsonl: packet numbers, times, lengths and summaries of every line are the capture\'s', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-jsonl-lines-'));
  try {
    const corpus = [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes).filter((b) => b.length >= 14);
    // Seconds of every digit count (a second kept for several packets, then another), nanoseconds with leading zeros
    // and without, and more than 1,000 packets (indices of 1 to 4 digits, counted up digit by digit).
    const secs = [0, 1, 9, 10, 99, 100, 12_345, 999_999, 1_000_000_000, 1_700_000_000, 2_147_483_647, 2_147_483_648, 4_294_967_295];
    const nsecs = [0, 1, 9, 10, 99, 100, 5_000, 99_999, 1_000_000, 12_345_678, 99_999_999, 100_000_000, 500_000_005, 999_999_999];
    // Frames too short to run (listed, not run) here and there: the run's lines skip their numbers (8 to 10, 98 to
    // 100 but 99 to 100 in turn, 997 to 999 to 1,001).
    const notRun = new Set([9, 99, 998, 1000]);
    const records = Array.from({ length: 1200 }, (_, i) => ({
      data: notRun.has(i) ? corpus[i % corpus.length]!.subarray(0, 13) : corpus[(i * 7) % corpus.length]!,
      sec: secs[Math.floor(i / 3) % secs.length]!,
      nsec: nsecs[i % nsecs.length]!,
    }));
    const bytes = nanoPcap(records);
    const cap = join(dir, 'times.pcap');
    writeFileSync(cap, bytes);
    for (const p of ['test/parity/programs/p01_parse_count.c', 'test/parity/programs/p07_encap_ipip.c']) {
      const args = ['--format', 'jsonl', '--exit-lines', 'exit'];
      const file = run([join(REPO, p), cap, ...args]);
      const lines = file.trimEnd().split('\n');
      const packets = lines.filter((l) => l.startsWith('{"packet":'));
      assert.equal(packets.length, records.length, p);
      packets.forEach((line, i) => {
        const rec = JSON.parse(line) as Record<string, unknown>;
        assert.equal(JSON.stringify(rec), line, `${p}: line ${i} is not the JSON of its record`);
        const r = records[i]!;
        assert.equal(rec.packet, i, `${p}: packet ${i}`);
        assert.equal(rec.ts, `${r.sec}.${String(r.nsec).padStart(9, '0')}`, `${p}: packet ${i}'s time`);
        assert.equal(rec.len, r.data.length, `${p}: packet ${i}'s length`);
        assert.equal(rec.caplen, r.data.length, `${p}: packet ${i}'s captured length`);
        assert.equal(rec.summary, summarize(r.data), `${p}: packet ${i}'s summary`);
      });
      // The frame-by-frame path (a pipe: no batch, every frame a view) prints the same bytes (p01: every frame left as
      // it was, whose summaries the batch reads in place).
      if (p.includes('p01')) assert.equal(run([join(REPO, p), '-', ...args], bytes), file, p);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
