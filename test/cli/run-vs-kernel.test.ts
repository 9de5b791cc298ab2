// `xdp-lens run` as a user runs it (the CLI: the capture reader handing out frames as views of its buffer, the modelled
// driver reusing its receive buffer, both engines, a capture read from a file and from a pipe) against
// BPF_PROG_TEST_RUN: per packet the return value and the packet after the program (data..data_end, fragments included;
// the metadata the kernel returns in front of it), and every map after the last packet. The frames are the sizes
// where buffers are laid out differently: Ethernet header only (14 bytes), runts, minimum frames, the 3520-byte linear
// limit and one past it, a page, jumbo 9000-byte frames (fragments), and records captured shorter than on the wire.
// Their bytes 14 and 15 choose what test/cli/fixtures/run_mix.c does with them (adjust_head/tail/meta, load/store
// bytes across fragments, a loop in a subprogram, maps). Needs root, clang and a working bpf() (skips with the reason
// otherwise; fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { XDP_FORBIDDEN_HELPERS_618, xdpForbiddenHelpers } from '../../simulator/vm/helpers.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { kernelOrSkip, runKernel, sparseArrayMaps, type KernelMaps } from '../kernel/runner.ts';
import { diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { REPO } from '../repo.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const SOURCE = join(REPO, 'test', 'cli', 'fixtures', 'run_mix.c');
const haveClang = spawnSync('clang', ['--version']).status === 0;

/** A small deterministic generator (the frames must be the same on every run). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8;
}

/** Frames (as captured) and their length on the wire. */
function frames(): { bytes: Uint8Array; wire: number }[] {
  const rnd = lcg(0x5eed);
  const out: { bytes: Uint8Array; wire: number }[] = [];
  const sizes = [14, 15, 16, 20, 34, 42, 60, 61, 64, 128, 1514, 1518, 3519, 3520, 3521, 4000, 4096, 5000, 9000, 9014];
  for (let round = 0; round < 4; round++) {
    for (const n of sizes) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = rnd() & 0xff;
      // Selector and argument cycle through every case across the rounds.
      if (n > 15) {
        b[15] = (out.length + round) & 7;
        b[14] = rnd() & 0xff;
      }
      out.push({ bytes: b, wire: n });
    }
  }
  // Records captured shorter than on the wire (snap length): they run as captured.
  for (const [wire, cap] of [[1514, 68], [9000, 3600], [60, 14], [200, 40], [9000, 9000 - 1]]) {
    const b = new Uint8Array(cap!);
    for (let i = 0; i < b.length; i++) b[i] = rnd() & 0xff;
    out.push({ bytes: b, wire: wire! });
  }
  return out;
}

function cli(args: string[], env: Record<string, string>, input?: Buffer): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, input, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

for (const frags of [false, true]) {
  test(`run (${frags ? 'xdp.frags' : 'xdp'}) agrees with BPF_PROG_TEST_RUN packet by packet and map by map on odd-sized frames, under both engines, from a file and from a pipe`, (t) => {
    if (!haveClang) return t.skip('clang is not installed');
    if (kernelOrSkip(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-run-vs-kernel-'));
    try {
      // A kernel build that takes bpf_xdp_adjust_meta from XDP refuses the fixture (compare-frame-sizes checks run
      // says so): build it without that call, and compare the rest.
      const metaTaken = xdpForbiddenHelpers().has(54) && !XDP_FORBIDDEN_HELPERS_618.has(54);
      if (metaTaken) t.diagnostic('this kernel build refuses bpf_xdp_adjust_meta for XDP: run_mix.c is built with -DNO_META');
      const c = compileC(SOURCE, { flags: [...(frags ? ['-DFRAGS'] : []), ...(metaTaken ? ['-DNO_META'] : [])] });
      assert.ok(c.objectPath, c.stderr);
      const obj = join(dir, 'run_mix.o');
      copyFileSync(c.objectPath!, obj);
      const list = frames();
      const cap = join(dir, 'odd.pcap');
      const w = new PcapWriter(cap);
      list.forEach((f, i) => w.write(BigInt(i + 1) * 1_000_000n, f.bytes, f.wire));
      w.close();

      const kernel = runKernel(obj, 'run_mix', list.map((f) => f.bytes));
      assert.equal(kernel.results.length, list.length);
      const kernelMaps = sparseArrayMaps(kernel.maps, kernel.mapTypes);

      const runs: [string, Record<string, string>, boolean][] = [
        ['compiled, file', { XDP_LENS_ENGINE: 'compiled' }, false],
        ['interp, file', { XDP_LENS_ENGINE: 'interp' }, false],
        ['compiled, pipe', { XDP_LENS_ENGINE: 'compiled' }, true],
        ['interp, pipe', { XDP_LENS_ENGINE: 'interp' }, true],
      ];
      const actions = new Set<string>();
      let withMeta = 0;
      let multiBuffer = 0;
      for (const [name, env, pipe] of runs) {
        const args = ['run', obj, pipe ? '-' : cap, '--format', 'jsonl', '--data', '--dump-maps', 'all', '--cpus', String(kernel.cpus)];
        const r = cli(args, env, pipe ? readFileSync(cap) : undefined);
        assert.equal(r.status, 0, `${name}: ${r.stderr}`);
        const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        const packets = lines.filter((l) => typeof l.packet === 'number') as { packet: number; retval: number; action: string; data: string; fault?: unknown }[];
        assert.equal(packets.length, list.length, `${name}: packets reported`);
        const problems: string[] = [];
        packets.forEach((p, i) => {
          const k = kernel.results[i]!;
          actions.add(p.action);
          if (k.errno !== undefined) return problems.push(`packet ${i} (${list[i]!.bytes.length} B): kernel errno ${k.errno}`);
          if (p.fault) problems.push(`packet ${i}: simulator fault ${JSON.stringify(p.fault)}`);
          if (p.retval !== k.retval) problems.push(`packet ${i} (${list[i]!.bytes.length} B): retval kernel ${k.retval}, run ${p.retval}`);
          // The kernel's data_out starts at data_meta; run's "data" at data.
          const kOut = hex(k.out);
          const meta = (kOut.length - p.data.length) / 2;
          if (meta > 0) withMeta++;
          if (p.data.length / 2 > 3520) multiBuffer++;
          if (!kOut.endsWith(p.data) || meta < 0 || meta > 64 || meta % 4 !== 0) {
            problems.push(`packet ${i} (${list[i]!.bytes.length} B): data kernel ${k.out.length} bytes, run ${p.data.length / 2} bytes${kOut.endsWith(p.data) ? '' : ', different bytes'}`);
          }
        });
        const summary = lines.at(-1) as { maps: Record<string, { key: string; value?: string; values?: string[] }[]> };
        const simMaps: KernelMaps = sparseArrayMaps(normaliseSimMaps(summary.maps), kernel.mapTypes);
        problems.push(...diffMaps(kernelMaps, simMaps, 6));
        assert.deepEqual(problems, [], `${name}: run differs from the kernel`);
      }
      // The frames reach every verdict the program can give (a test of something, not of nothing).
      // (XDP_ABORTED only for an empty packet, which BPF_PROG_TEST_RUN does not take.)
      assert.deepEqual([...actions].sort(), ['XDP_DROP', 'XDP_PASS', 'XDP_TX']);
      assert.ok((withMeta > 0 || metaTaken) && multiBuffer > 0, `metadata in ${withMeta} results, multi-buffer packets in ${multiBuffer}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
