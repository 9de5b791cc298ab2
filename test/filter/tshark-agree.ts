// A display filter's matches on a few frames, as the test expects and as tshark -Y selects (when tshark is installed):
// the frames written to a classic pcap, each expression compiled by XDP Lens and run by tshark on that file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter } from '../../simulator/filter.ts';
import { classicPcap } from '../net/pcap-file.ts';

export const haveTshark = spawnSync('tshark', ['--version']).status === 0;

/**
 * Each case: an expression and the indices (from 0) of the frames it selects. `firstSec`: the first frame's time;
 * `tsharkArgs`: preferences for tshark (e.g. `-o ipv6.defragment:FALSE`, README's reference settings).
 */
export function agreeWithTshark(frames: Uint8Array[], cases: [string, number[]][], firstSec = 0, tsharkArgs: string[] = []): void {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-filter-'));
  try {
    const path = join(dir, 'frames.pcap');
    writeFileSync(path, classicPcap(frames.map((data, i) => ({ data, sec: firstSec + i }))));
    const facts = frames.map((frame, index) => ({ index, frame, wireLen: frame.length, capLen: frame.length, action: 'XDP_PASS', retval: 2 }));
    for (const [expr, want] of cases) {
      const f = compileFilter(expr);
      assert.deepEqual(facts.filter((p) => f.test(p)).map((p) => p.index), want, expr);
      if (!haveTshark) continue;
      const t = spawnSync('tshark', [...tsharkArgs, '-r', path, '-Y', expr, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stderr);
      assert.deepEqual(t.stdout.split('\n').filter(Boolean).map((n) => Number(n) - 1), want, `tshark -Y '${expr}'`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
