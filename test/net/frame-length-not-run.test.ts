// Frames of a length XDP never runs on: shorter than an Ethernet header (14 bytes) or longer than the linear part of a
// page and MAX_SKB_FRAGS pages of fragments (3520 + 17 * 4096 = 73152 bytes). BPF_PROG_TEST_RUN refuses them before
// the program runs (EINVAL below 14, ENOMEM above 73152) and no NIC hands XDP such a frame, so `run` lists them as
// not run ("notRun": "too short" / "too long"), counts them apart ("lengthNotRun") with a note, and `compare` and
// `diff` leave them out, as for outgoing packets (`compare` names them in a note: "not compared"). The kernel decides which lengths those are: the test runs every
// boundary length through it and checks it refuses exactly the frames `run` lists as not run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frameLengthNotRun, XDP_MAX_FRAME, XDP_MIN_FRAME } from '../../simulator/net/capture.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { REPO } from '../repo.ts';
import { pcapngBlock, pcapngSectionHeader } from './pcapng-outbound.ts';
import { classicPcap } from './pcap-file.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const EINVAL = 22;
const ENOMEM = 12;

const LENGTHS = [0, 1, 13, 14, 15, 60, 3520, 3521, 16384, XDP_MAX_FRAME - 1, XDP_MAX_FRAME, XDP_MAX_FRAME + 1, XDP_MAX_FRAME + 4096, 100_000];

/** A frame of `n` bytes: broadcast Ethernet, IPv4 EtherType, filled with 0x61 (as much of it as fits). */
function frame(n: number): Buffer {
  const f = Buffer.alloc(n, 0x61);
  if (n >= 14) {
    f.fill(0xff, 0, 6);
    f.writeUInt16BE(0x0800, 12);
  }
  return f;
}

/** A classic pcap (snap length 262144) of these frames, a microsecond apart. */
const pcap = (frames: Buffer[]): Buffer => classicPcap(frames.map((data, i) => ({ data, sec: 1_700_000_000, usec: i })), 1, 262144);

/** The same frames as pcapng enhanced packet blocks (not read in place: the reader's other path). */
function pcapng(frames: Buffer[]): Buffer {
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(1, 0);
  idb.writeUInt32LE(262144, 4);
  const parts: Buffer[] = [pcapngSectionHeader(), pcapngBlock(1, idb)];
  frames.forEach((f, i) => {
    const fixed = Buffer.alloc(20);
    fixed.writeUInt32LE(1_000_000 + i, 8);
    fixed.writeUInt32LE(f.length, 12);
    fixed.writeUInt32LE(f.length, 16);
    parts.push(pcapngBlock(6, Buffer.concat([fixed, f, Buffer.alloc((4 - (f.length % 4)) % 4)])));
  });
  return Buffer.concat(parts);
}

const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp.frags") int pass_frags(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] SEC("license") = "GPL";
`;

function build(dir: string): { src: string; obj: string } {
  const src = join(dir, 'pass.c');
  const obj = join(dir, 'pass.o');
  writeFileSync(src, SRC);
  const c = spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', obj], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  return { src, obj };
}

test('BPF_PROG_TEST_RUN refuses exactly the frames run lists as not run (0, 1, 13 bytes; above 73152), with or without xdp.frags', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-frame-len-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { obj } = build(dir);
  assert.equal(XDP_MIN_FRAME, 14);
  for (const program of ['pass', 'pass_frags']) {
    const k = runKernel(obj, program, LENGTHS.map(frame), { only: true });
    LENGTHS.forEach((n, i) => {
      const r = k.results[i]!;
      const why = frameLengthNotRun(n);
      if (why === 'too short') assert.equal(r.errno, EINVAL, `${program}, ${n} bytes: EINVAL`);
      else if (why === 'too long') assert.equal(r.errno, ENOMEM, `${program}, ${n} bytes: ENOMEM`);
      else {
        assert.equal(r.errno, undefined, `${program}, ${n} bytes: the kernel ran it`);
        assert.equal(r.retval, 2, `${program}, ${n} bytes`);
        assert.equal(r.out.length, n, `${program}, ${n} bytes out`);
      }
    });
  }
});

test('run lists frames of a length XDP never runs on as not run (jsonl, table, summary; file, pipe, pcapng); compare and diff leave them out', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-frame-len-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { src } = build(dir);
  const frames = LENGTHS.map(frame);
  const notRun = LENGTHS.map(frameLengthNotRun);
  const ran = notRun.filter((w) => w === undefined).length;
  const skipped = LENGTHS.length - ran;
  const files = { pcap: join(dir, 'lens.pcap'), pcapng: join(dir, 'lens.pcapng') };
  writeFileSync(files.pcap, pcap(frames));
  writeFileSync(files.pcapng, pcapng(frames));
  for (const [kind, path] of [['pcap', files.pcap], ['pcapng', files.pcapng], ['pipe', '-']] as const) {
    const input = kind === 'pipe' ? readFileSync(files.pcap) : undefined;
    const r = spawnSync('node', [CLI, 'run', src, '--program', 'pass', path, '--format', 'jsonl'], { encoding: 'utf8', input, maxBuffer: 1 << 26 });
    assert.equal(r.status, 0, `${kind}: ${r.stderr}`);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const rows = lines.slice(0, -1);
    assert.equal(rows.length, LENGTHS.length, kind);
    rows.forEach((row, i) => {
      assert.equal(row.packet, i);
      assert.equal(row.caplen, LENGTHS[i], `${kind} packet ${i}`);
      assert.equal(row.notRun, notRun[i], `${kind} packet ${i} (${LENGTHS[i]} bytes)`);
      assert.equal(row.action === undefined, notRun[i] !== undefined, `${kind} packet ${i}: an action only when run`);
    });
    const s = lines.at(-1).summary;
    assert.equal(s.packets, ran, kind);
    assert.equal(s.actions.XDP_PASS, ran, kind);
    assert.equal(s.lengthNotRun, skipped, kind);
    assert.equal(s.driver.counters.rx_packets, ran, kind);
    assert.match(r.stderr, new RegExp(`note: ${skipped} packets were shorter than an Ethernet header \\(14 bytes\\) or longer than 73152 bytes`), kind);
  }
  const table = spawnSync('node', [CLI, 'run', src, '--program', 'pass', files.pcap], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(table.status, 0, table.stderr);
  assert.equal((table.stdout.match(/\(too short: not run\)/g) ?? []).length, notRun.filter((w) => w === 'too short').length);
  assert.equal((table.stdout.match(/\(too long: not run\)/g) ?? []).length, notRun.filter((w) => w === 'too long').length);
  assert.match(table.stdout, new RegExp(`\\n${ran} packets: XDP_PASS ${ran}\\n`));
  assert.match(table.stdout, new RegExp(`${skipped} packets were shorter than an Ethernet header`));
  const summary = spawnSync('node', [CLI, 'run', src, '--program', 'pass', files.pcap, '--format', 'summary'], { encoding: 'utf8' });
  assert.equal(summary.status, 0, summary.stderr);
  assert.equal(JSON.parse(summary.stdout).summary.lengthNotRun, skipped);

  // diff: the same program on both sides, nothing changed, and only the frames that run counted.
  const diff = spawnSync('node', [CLI, 'diff', src, src, files.pcap, '--program', 'pass', '--format', 'jsonl'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(diff.status, 0, diff.stderr);
  assert.equal(JSON.parse(diff.stdout.trim().split('\n').at(-1)!).summary.packets, ran);

  if (kernelOrSkip(t)) return;
  // compare: the kernel would refuse these frames (EINVAL / ENOMEM); they are left out on both sides, not a difference.
  const cmp = spawnSync('node', [CLI, 'compare', src, '--program', 'pass', files.pcap, '--format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(cmp.status, 0, cmp.stderr + cmp.stdout.slice(0, 2000));
  const c = JSON.parse(cmp.stdout);
  assert.equal(c.rows.length, ran);
  assert.equal(c.differing, 0);
  assert.deepEqual(c.rows.map((x: { index: number }) => x.index), LENGTHS.flatMap((_, i) => (notRun[i] === undefined ? [i] : [])));
  const note = (c.notes as string[]).find((x) => x.startsWith('not compared'));
  assert.ok(note, c.notes.join('\n'));
  LENGTHS.forEach((n, i) => {
    if (notRun[i] !== undefined) assert.match(note!, new RegExp(`\\b${i} \\(${n} bytes\\)`));
  });
});
