// Return lines from PathCache (issue 12): in 'demand' mode the twin runs once per distinct path, traced, and a later
// packet that agrees on every packet byte and length comparison the path's branches read gets the cached line. The
// programs here are built to break a cache keyed by anything less: returns that the real object merges into one exit
// with the same instructions before it (the same real path, different returns), lines decided by the packet's length
// (as a pointer compare and as a number), by a byte at an offset another byte gives, by a stack byte written at an
// index from the packet, by a packet byte the program wrote, by an array lookup keyed by a packet byte, and beside a
// map counter (a branch on map contents alone). Each frame is one of a few base frames with bytes and the length
// changed, so that paths recur with other bytes elsewhere. Checked: every line equals the twin run beside every packet
// (the reference), the cache answered most of them, and through `xdp-lens run X.c --format jsonl` the actions are the
// kernel's and the lines the reference's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session, actionOf, loadProgramFile, loadProgramFileWithObject } from '../../simulator/session.ts';
import { Driver } from '../../simulator/driver/rx.ts';
import { PROFILES } from '../../simulator/driver/profiles.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { ReturnLines } from '../../simulator/return-lines.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import { REPO } from '../repo.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';

const skip = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';

const HEAD = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } hash SEC(".maps");
const volatile unsigned char limit = 150;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 64 > end)
    return XDP_DROP;
  if (data[12] == 0x08 && data[13] == 0x06)
    return XDP_TX;
`;
const PROGRAMS: [string, string][] = [
  ['same real path', `  if (data[20] & 1)
    return XDP_PASS;
  return XDP_PASS;`],
  ['length as a pointer', `  if (data + 100 > end)
    return XDP_PASS;
  if (data + 300 > end)
    return XDP_PASS;
  return XDP_PASS;`],
  ['length as a number', `  long len = end - data;
  if (len < 128)
    return XDP_PASS;
  if (len > 700)
    return XDP_PASS;
  return XDP_PASS;`],
  ['offset from a byte', `  unsigned off = (data[14] & 3) * 48;
  if (data + off + 1 > end)
    return XDP_PASS;
  if (data[off] & 1)
    return XDP_PASS;
  return XDP_PASS;`],
  ['stack index from a byte', `  unsigned char buf[8] = {};
  buf[data[15] & 7] = 1;
  asm volatile("" ::: "memory");
  if (buf[2])
    return XDP_PASS;
  return XDP_PASS;`],
  ['packet byte written', `  data[16] = data[17] ^ data[18];
  asm volatile("" ::: "memory");
  if (data[16] == 3)
    return XDP_PASS;
  return XDP_PASS;`],
  ['array lookup by a byte', `  __u32 k = data[19];
  __u64 *v = bpf_map_lookup_elem(&arr, &k);
  if (!v)
    return XDP_PASS;
  *v += 1;
  return XDP_PASS;`],
  ['hash lookup by packet bytes, .rodata', `  __u64 *v = bpf_map_lookup_elem(&hash, data + 10);
  if (v)
    return XDP_PASS;
  if (data[16] > limit)
    return XDP_PASS;
  return XDP_PASS;`],
  ['counter beside', `  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&arr, &k);
  if (v && ++*v > 1000)
    *v = 0;
  if (data[21] > 0x80)
    return XDP_PASS;
  return XDP_PASS;`],
];
const source = (body: string) => `${HEAD}${body}\n}\n`;

/** A seeded stream (xorshift32). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Frames from 3 base frames, a few bytes set to one of a few values, the length from a few. */
function frames(n: number, seed: number): Uint8Array[] {
  const r = rng(seed);
  const lengths = [60, 64, 99, 100, 101, 127, 128, 200, 299, 300, 301, 700, 701, 1000];
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const f = new Uint8Array(lengths[r() % lengths.length]!);
    for (let j = 0; j < f.length; j++) f[j] = (j * 7 + (i % 3) * 31) & 0xff;
    f[12] = r() % 8 === 0 ? 0x08 : 0x86;
    f[13] = r() % 2 ? 0x06 : 0xdd;
    for (const at of [14, 15, 17, 18, 19, 20, 21]) if (r() % 2) f[at] = r() % 6 === 0 ? 0x81 : r() % 3;
    // Bytes no branch reads vary on every frame.
    for (let j = 22; j < 60 && j < f.length; j++) if (j % 48 !== 0) f[j] = r() & 0xff;
    out.push(f);
  }
  return out;
}

function make(o: LoadedObject) {
  // The hash map holds the key of the first base frame's bytes 10..13 (one frame in 12 of frames()).
  const maps = o.maps.some((m) => m.name === 'hash') ? { hash: [{ key: '464d86dd', value: '0100000000000000' }] } : undefined;
  const session = new Session(o, { engine: 'compiled', maps });
  return { session, driver: new Driver(session, { mode: 'native', profile: PROFILES.mlx5!, queues: 1 }) };
}

test('return lines from the path cache equal the twin beside every packet, on programs built to break a cache', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-path-cache-'));
  try {
    const fs = frames(1500, 12345);
    for (const [what, body] of PROGRAMS) {
      const path = join(dir, `${what.replace(/\W+/g, '-')}.c`);
      const src = source(body);
      writeFileSync(path, src);
      const real = make(loadProgramFile(path));
      const ref = ReturnLines.create(path, src, {}, make);
      const one = ReturnLines.create(path, src, {}, make, { oneRun: true });
      assert.ok(typeof ref !== 'string' && typeof one !== 'string', `${what}: ${String(ref)} ${String(one)}`);
      assert.equal(one.how, 'demand', `${what}: the twin runs only for the passed packets`);
      const seen = new Map<number, number>();
      // The real run's path (its exit and instruction count) for each line: 'same real path' shows one path, two lines.
      const realPath = new Map<string, Set<number>>();
      fs.forEach((f, i) => {
        const ts = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n;
        const r = real.driver.receive(f, ts);
        const want = ref.lineFor(f, ts, r);
        assert.equal(one.lineFor(f, ts, r), want, `${what}: frame ${i} (${f.length} bytes, ${r.action})`);
        if (want !== undefined) seen.set(want, (seen.get(want) ?? 0) + 1);
        if (r.action === 'XDP_PASS' && want !== undefined) {
          const key = `${r.run.exitInsn}/${r.run.steps}`;
          let s = realPath.get(key);
          if (!s) realPath.set(key, (s = new Set()));
          s.add(want);
        }
      });
      const passLines = src.split('\n').flatMap((l, i) => (l.includes('return XDP_PASS') ? [i + 1] : []));
      for (const l of passLines) assert.ok((seen.get(l) ?? 0) > 0, `${what}: line ${l} taken (${JSON.stringify([...seen])})`);
      if (what === 'same real path') assert.ok([...realPath.values()].some((s) => s.size > 1), `${what}: one real path, two lines (${JSON.stringify([...realPath].map(([k, s]) => [k, [...s]]))})`);
      const c = one.pathCache;
      assert.ok(c !== undefined && c.on, `${what}: the cache is on (${JSON.stringify(c)})`);
      assert.ok(c.lookups - c.misses > c.lookups / 2, `${what}: most lines from the cache (${JSON.stringify(c)})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('multi-buffer frames: their lines from the path cache by their linear part equal the twin beside every packet', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-path-cache-mb-'));
  try {
    // Frames around and past the linear part (mlx5: data_end - data stops there, the rest in fragments), with the same
    // bytes varied as above: lines decided by the length must see the linear part's, never the frame's.
    const lin = make(loadProgramFile(join(REPO, 'examples', 'xdp_filter.c'))).driver.linearPart();
    assert.ok(lin !== undefined && lin > 1000 && lin < 4096, `linear part ${lin}`);
    const lengths = [lin - 1, lin, lin + 1, lin + 2, lin + 100, 4095, 4096, 4097, 5000, 9000, 20_000, 73_152];
    // The first half linear frames, then one in two made multi-buffer (the same bytes first).
    const fs = frames(2400, 4242).map((f, i) => {
      if (i < 1200 || i % 2 === 0) return f;
      const g = new Uint8Array(lengths[(i * 7) % lengths.length]!);
      g.set(f.subarray(0, Math.min(f.length, g.length)));
      for (let j = f.length; j < g.length; j++) g[j] = (i * 13 + j) & 0xff;
      return g;
    });
    for (const [what, body] of PROGRAMS) {
      const path = join(dir, `${what.replace(/\W+/g, '-')}.c`);
      const src = source(body);
      writeFileSync(path, src);
      const real = make(loadProgramFile(path));
      const ref = ReturnLines.create(path, src, {}, make);
      const one = ReturnLines.create(path, src, {}, make, { oneRun: true });
      assert.ok(typeof ref !== 'string' && typeof one !== 'string', `${what}: ${String(ref)} ${String(one)}`);
      // Open (PASS) multi-buffer frames, and the twin runs made for them.
      let open = 0;
      let ran = 0;
      fs.forEach((f, i) => {
        const ts = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n;
        const r = real.driver.receive(f, ts);
        const want = ref.lineFor(f, ts, r);
        const before = one.twinRuns.single;
        assert.equal(one.lineFor(f, ts, r), want, `${what}: frame ${i} (${f.length} bytes, ${r.action})`);
        if (r.action === 'XDP_PASS' && f.length > lin) {
          open++;
          ran += one.twinRuns.single - before;
        }
      });
      const c = one.pathCache;
      assert.ok(c !== undefined && c.on, `${what}: the cache is on (${JSON.stringify(c)})`);
      // Multi-buffer frames too come from the cache: the twin ran for a few of them only.
      assert.ok(open > 100 && ran * 4 < open, `${what}: twin runs ${ran} for ${open} open multi-buffer frames (${JSON.stringify(c)})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run X.c --format jsonl with the path cache: the kernel\'s actions and the lines of the twin beside every packet', { skip }, (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-path-cache-k-'));
  try {
    const fs = frames(600, 777);
    const pcap = join(dir, 'in.pcap');
    const w = new PcapWriter(pcap);
    fs.forEach((f, i) => w.write(1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, f));
    w.close();
    for (const [what, body] of PROGRAMS.filter(([w]) => ['same real path', 'length as a number', 'offset from a byte', 'array lookup by a byte'].includes(w))) {
      const path = join(dir, `${what.replace(/\W+/g, '-')}.c`);
      writeFileSync(path, source(body));
      const { objectPath } = loadProgramFileWithObject(path);
      const kernel = runKernel(objectPath, 'prog', fs);
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'run', path, pcap, '--format', 'jsonl'], { encoding: 'utf8', cwd: REPO, maxBuffer: 64 << 20 });
      assert.equal(r.status, 0, r.stderr);
      const packets = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { packet?: number; action?: string; line?: number }).filter((o) => o.packet !== undefined);
      assert.equal(packets.length, fs.length);
      const real = make(loadProgramFile(path));
      const ref = ReturnLines.create(path, readFileSync(path, 'utf8'), {}, make);
      assert.ok(typeof ref !== 'string');
      packets.forEach((p, i) => {
        const k = kernel.results[i]!;
        assert.equal(k.errno, undefined, `${what}: packet ${i}: the kernel ran it`);
        assert.equal(p.action, actionOf(k.retval), `${what}: packet ${i}: the kernel's action`);
        const ts = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n;
        assert.equal(p.line, ref.lineFor(fs[i]!, ts, real.driver.receive(fs[i]!, ts)), `${what}: packet ${i} (${p.action}): the reference's line`);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
