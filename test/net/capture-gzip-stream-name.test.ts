// A gzip-compressed capture's byte offsets are offsets in its decompressed data, and its errors say so: read from a
// file ("FILE (gzip-decompressed): ...") and read from standard input or a FIFO, where the compression is found on the
// first read ("standard input (gzip-decompressed): ..."), after the good packets, with exit status 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { REPO } from '../repo.ts';
import { classicPcap } from './pcap-file.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const noClang = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed: `xdp-lens run` cannot build examples/xdp_filter.c';

test('a damaged gzip-compressed capture names its decompressed offsets as such, from a file and from standard input', { skip: noClang }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-gz-name-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const frame = Uint8Array.from({ length: 60 }, (_, i) => (i < 12 ? 2 : i === 12 ? 0x88 : i === 13 ? 0xb5 : i));
  const pcap = classicPcap([0, 1, 2].map((i) => ({ data: frame, sec: 1_700_000_000 + i })));
  // The third record's captured length made absurd: two packets, then the error at its header (byte 24 + 2 * 76).
  pcap.writeUInt32LE(0x7fffffff, 24 + 2 * 76 + 8);
  const path = join(dir, 'bad.pcap.gz');
  writeFileSync(path, gzipSync(pcap));
  const prog = join(REPO, 'examples', 'xdp_filter.c');
  const detail = 'record 2, byte offset 176: captured length 2147483647 exceeds the maximum of 262144 bytes';
  for (const [what, arg, input] of [['file', path, undefined], ['standard input', '-', readFileSync(path)]] as const) {
    const r = spawnSync(process.execPath, [CLI, 'run', prog, arg, '--format', 'jsonl'], { encoding: 'utf8', input });
    assert.equal(r.status, 2, `${what}: ${r.stderr}`);
    assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('{"packet"')).length, 2, what);
    const name = what === 'file' ? path : 'standard input';
    assert.ok(r.stderr.includes(`xdp-lens: ${name} (gzip-decompressed): ${detail}`), `${what}: ${r.stderr}`);
  }
});
