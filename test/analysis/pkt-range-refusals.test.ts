// Two packet-range refusals of the 6.18 verifier that `run` must report before the first packet, on the line the
// kernel names, and must not report on a near-identical program the kernel loads (fixtures/pkt-range):
//   - a packet offset read from a map value: its largest value (0xffff for a __u16) plus the checked length passes
//     MAX_PACKET_OFF, so the comparison with data_end proves nothing (find_good_pkt_pointers); masked, it does;
//   - a pointer compared past data_end (`q > end`, `q >= end`, `end < q` taken): on that branch that register is
//     at/beyond data_end (mark_pkt_end) and every access through it is refused; through `data`, the same byte is fine;
//     a later check of its id gives that register only the new check's range (a checksum loop's `w + 1 > end` break,
//     then a store through the register clang reused).
// Needs clang and root with bpftool (skips with the reason otherwise; fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clangAvailable } from '../../simulator/analysis/index.ts';
import { verifyWithKernel } from '../../simulator/analysis/verifier.ts';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { REPO } from '../repo.ts';

const DIR = join(REPO, 'test', 'analysis', 'fixtures', 'pkt-range');

const CASES: { file: string; flags: string[]; refused: boolean }[] = [
  { file: 'varoff.c', flags: [], refused: true },
  { file: 'varoff.c', flags: ['-DMASK'], refused: false },
  { file: 'pastend.c', flags: [], refused: true },
  { file: 'pastend.c', flags: ['-DGE'], refused: true },
  { file: 'pastend.c', flags: ['-DSWAP'], refused: true },
  { file: 'pastend.c', flags: ['-DFRESH'], refused: false },
  { file: 'cksum_loop.c', flags: [], refused: true },
  { file: 'cksum_loop.c', flags: ['-DFRESH'], refused: false },
];

test('run reports the packet-range refusals the kernel makes (map-value offset, pointer past data_end), on its line, and no other', (t) => {
  if (!clangAvailable()) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail('clang is not installed');
    return t.skip('clang is not installed');
  }
  if (kernelOrSkip(t)) return;
  const cacheDir = mkdtempSync(join(tmpdir(), 'xdp-lens-pkt-range-'));
  try {
    const seen: Record<string, { kernel: number[]; run: number[] }> = {};
    const want: Record<string, { kernel: number[]; run: number[] }> = {};
    for (const c of CASES) {
      const src = join(DIR, c.file);
      const name = `${c.file} ${c.flags.join(' ')}`.trim();
      const compiled = compileC(src, { flags: c.flags, cacheDir });
      assert.ok(compiled.objectPath, compiled.stderr);
      const k = verifyWithKernel(compiled.objectPath!, src);
      assert.equal(k.skipped, undefined, k.skipped);
      const kernel = k.findings.filter((f) => f.severity === 'error').map((f) => f.line ?? 0);
      const obj = loadProgramFile(compiled.objectPath!);
      const session = new Session(obj, { engine: 'interp' });
      const run = refusalsBeforeRun(obj, session.program, session.machine).map((r) => r.line ?? 0);
      seen[name] = { kernel, run };
      // The kernel's verdict is the fixture's premise; run must give the same lines.
      want[name] = { kernel: c.refused ? [kernel[0] ?? -1] : [], run: c.refused ? [kernel[0] ?? -1] : [] };
    }
    assert.deepEqual(seen, want);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
