// `xdp-lens compare` on frames of every size BPF_PROG_TEST_RUN takes, and on the ones it refuses. Jumbo frames past
// bpftool's default output buffer (which made the kernel side fail with ENOSPC and every such packet "differ") are
// compared byte for byte; frames shorter than an Ethernet header (EINVAL) or longer than the linear part and 17 pages
// of fragments (ENOMEM) run on neither side and are named in a note, so that they neither differ nor change the maps.
// Needs root, clang and bpftool (skips with the reason otherwise; fails under XDP_LENS_REQUIRE_KERNEL=1).
// On a kernel build that does not give bpf_xdp_adjust_meta to XDP programs (which 6.18 does), compare must report the
// kernel's refusal; the frames then run through the fixture built with -DNO_META (the frames here never pick the
// selector that calls it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelVerifierUnavailable } from '../../simulator/analysis/verifier.ts';
import { TEST_RUN_MAX_FRAME } from '../../simulator/kernel-compare.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { XDP_FORBIDDEN_HELPERS_618, xdpForbiddenHelpers } from '../../simulator/vm/helpers.ts';
import { buildOnlyRefusal } from '../kernel/runner.ts';
import { REPO } from '../repo.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const SOURCE = join(REPO, 'test', 'cli', 'fixtures', 'run_mix.c');
const haveClang = spawnSync('clang', ['--version']).status === 0;

interface Json {
  available: boolean;
  rows: { index: number; status: string; kernel?: { retval: number; data: string }; kernelError?: string }[];
  differing: number;
  maps: { map: string; equal: boolean }[];
  notes: string[];
}

test('compare: jumbo frames up to the largest BPF_PROG_TEST_RUN takes agree; frames it refuses are left out on both sides with a note', (t) => {
  const why = !haveClang ? 'clang is not installed' : kernelVerifierUnavailable();
  if (why) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(`kernel required but unavailable: ${why}`);
    return t.skip(why);
  }
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-sizes-'));
  try {
    const sizes = [60, 0, 13, 14, 9000, 40000, 65535, TEST_RUN_MAX_FRAME, TEST_RUN_MAX_FRAME + 1, 100000, 1514];
    const cap = join(dir, 'sizes.pcap');
    const w = new PcapWriter(cap);
    sizes.forEach((n, i) => {
      const f = new Uint8Array(n);
      for (let j = 0; j < n; j++) f[j] = (j * 7 + i) & 0xff;
      // Bytes 14 and 15 pick what the fixture does: a pass/TX through the map paths, the frame left as it is.
      if (n >= 16) f.set([i * 2, 7], 14);
      w.write(BigInt(i + 1) * 1_000_000n, f, Math.max(n, 60));
    });
    w.close();
    const META = 54; // bpf_xdp_adjust_meta
    const noMeta = xdpForbiddenHelpers().has(META) && !XDP_FORBIDDEN_HELPERS_618.has(META);
    if (noMeta) {
      const r = spawnSync(process.execPath, [CLI, 'compare', SOURCE, cap, '--format', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(r.status, 2, r.stdout.slice(0, 2000));
      assert.equal(buildOnlyRefusal(r.stderr)?.id, META, r.stderr);
    }
    const meta = noMeta ? ['--cflag', '-DNO_META'] : [];
    for (const flags of [[], ['--cflag', '-DFRAGS']]) {
      const r = spawnSync(process.execPath, [CLI, 'compare', SOURCE, cap, '--format', 'json', ...meta, ...flags], { encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(r.status, 0, `${flags.join(' ')}: ${r.stderr}${r.stdout.slice(0, 2000)}`);
      const j = JSON.parse(r.stdout) as Json;
      assert.equal(j.available, true);
      const compared = sizes.map((n, i) => [i, n] as const).filter(([, n]) => n >= 14 && n <= TEST_RUN_MAX_FRAME);
      assert.deepEqual(j.rows.map((x) => x.index), compared.map(([i]) => i), 'the rows are the frames the kernel takes, by their capture index');
      assert.deepEqual(j.rows.filter((x) => x.status !== 'same').map((x) => `${x.index}: ${x.status} ${x.kernelError ?? ''}`), []);
      assert.equal(j.differing, 0);
      // The largest frames really ran in the kernel and came back whole (not an error row, not a cut output).
      for (const [i, n] of compared.filter(([, n]) => n > 32768)) {
        const row = j.rows.find((x) => x.index === i)!;
        assert.ok(row.kernel && row.kernel.data.length / 2 >= n - 256, `packet ${i} (${n} bytes): kernel output ${(row.kernel?.data.length ?? 0) / 2} bytes`);
      }
      assert.deepEqual(j.maps.filter((m) => !m.equal).map((m) => m.map), []);
      const note = j.notes.find((n) => n.startsWith('not compared'));
      assert.ok(note, j.notes.join('\n'));
      for (const i of [1, 2, 8, 9]) assert.match(note!, new RegExp(`\\b${i} \\(${sizes[i]} bytes\\)`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
