// A number a function stores into its caller's stack off an 8-byte slot start is STACK_MISC to the 6.18 verifier: read
// back, it is any value of the load's width, exactly, and a mask then bounds it as the verifier does. The bytecode tier
// made it opaque (nothing claimed), so `data + (x & 0xfffe)` checked with `+ 4 > data_end` (0xfffe + 4 passes
// MAX_PACKET_OFF: no range learned) loaded in run while the kernel refuses the load behind the check (a header parser's
// offset in a struct on the caller's stack, pfuzz). fixtures/stack-misc/misc_offset.c.
// Needs clang and root with bpftool (skips with the reason otherwise; fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clangAvailable } from '../../simulator/analysis/index.ts';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { REPO } from '../repo.ts';

const SRC = join(REPO, 'test', 'analysis', 'fixtures', 'stack-misc', 'misc_offset.c');

test('a packet offset read back from STACK_MISC bytes is bounded by its mask as the verifier bounds it', (t) => {
  if (!clangAvailable()) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail('clang is not installed');
    return t.skip('clang is not installed');
  }
  if (kernelOrSkip(t)) return;
  const cacheDir = mkdtempSync(join(tmpdir(), 'xdp-lens-stack-misc-range-'));
  try {
    const seen: Record<string, { kernel: string; run: Record<string, boolean> }> = {};
    for (const mask of ['0xfffe', '0xfffc', '0xfffb', '0xff']) {
      const flags = [`-DMASK=${mask}`];
      const compiled = compileC(SRC, { flags, cacheDir });
      assert.ok(compiled.objectPath, compiled.stderr);
      const log = kernelRefusal(compiled.objectPath!, 'misc_offset');
      const obj = loadProgramFile(compiled.objectPath!);
      const run: Record<string, boolean> = {};
      for (const engine of ['interp', 'compiled'] as const) {
        const session = new Session(obj, { engine });
        run[engine] = refusalsBeforeRun(obj, session.program, session.machine).length > 0;
      }
      seen[mask] = { kernel: /offset is outside of the packet/.test(log) ? 'refused' : log ? log : 'loaded', run };
    }
    const refused = { kernel: 'refused', run: { interp: true, compiled: true } };
    const loaded = { kernel: 'loaded', run: { interp: false, compiled: false } };
    assert.deepEqual(seen, { '0xfffe': refused, '0xfffc': refused, '0xfffb': loaded, '0xff': loaded });
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
