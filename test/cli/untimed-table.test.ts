// A pcapng Simple Packet Block carries no timestamp (tshark shows no time for it). `run --format table` showed its time
// as the distance from the first packet to the epoch (-1764000000.5 here); it shows "-" now, from a file and from a
// pipe. The timed packets around it keep their times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { pcapngBlock, pcapngSectionHeader } from '../net/pcapng-outbound.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const skip = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';

const frame = Uint8Array.from([2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, 0x08, 0x00, 0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x04, 0xd2, 0x00, 0x35, 0, 8, 0, 0]);
const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
function idb(): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(1, 0); // Ethernet, microseconds
  return pcapngBlock(1, b);
}
function epb(us: bigint): Buffer {
  const fixed = Buffer.alloc(20);
  fixed.writeUInt32LE(Number(us >> 32n), 4);
  fixed.writeUInt32LE(Number(us & 0xffffffffn), 8);
  fixed.writeUInt32LE(frame.length, 12);
  fixed.writeUInt32LE(frame.length, 16);
  return pcapngBlock(6, Buffer.concat([fixed, Buffer.from(frame), pad(frame.length)]));
}
function spb(): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(frame.length, 0);
  return pcapngBlock(3, Buffer.concat([b, Buffer.from(frame), pad(frame.length)]));
}

test('run --format table shows no time for a Simple Packet Block, from a file and from a pipe', { skip }, () => {
  const T = 1_764_000_000_500_000n;
  const capture = Buffer.concat([pcapngSectionHeader(), idb(), epb(T), spb(), epb(T + 1_250_000n)]);
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-untimed-'));
  try {
    const file = join(dir, 'spb.pcapng');
    writeFileSync(file, capture);
    const program = join(REPO, 'examples', 'xdp_filter.c');
    for (const [cap, input] of [[file, undefined], ['-', capture]] as const) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'run', program, cap, '--format', 'table'], { cwd: REPO, input, encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, r.stderr);
      const rows = r.stdout.split('\n').filter((l) => /^\s+\d+\s/.test(l)).map((l) => l.trim().split(/\s+/).slice(0, 2));
      assert.deepEqual(rows, [['0', '0.000000'], ['1', '-'], ['2', '1.250000']], r.stdout);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
