// Return lines in 'demand' mode (issue 12): the twin's code leaves the line of some action open, and its line and action
// depend on its packet alone, so the twin runs only for the frames whose real action is open. When nearly all frames
// of a batch (7 in 8) were open, the twin runs the next batch whole in one batched run (ReturnLines.runBatch) instead of
// once per open frame after the real run; when fewer were, it goes back to one run per open frame. Checked: both give every frame the
// line of the twin run beside every packet (the reference), the switch happens both ways, and through `xdp-lens run X.c
// --format jsonl` the actions are the kernel's and the lines the reference's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, sharedPath } from '../repo.ts';
import { ACTIONS, Session, actionOf, loadProgramFile, loadProgramFileWithObject, type Action } from '../../simulator/session.ts';
import { Driver, type DriverOptions } from '../../simulator/driver/rx.ts';
import { PROFILES } from '../../simulator/driver/profiles.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { ReturnLines } from '../../simulator/return-lines.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import { captureCorpus, readPcapFrames, syntheticCorpus } from '../parity/packets.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';

const skip = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';
const OPTS: DriverOptions = { mode: 'native', profile: PROFILES.mlx5, queues: 1, reuse: true, views: true };

/** Two returns of XDP_PASS (open), one of XDP_DROP and one of XDP_TX (settled); no map. */
const OPEN = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 14 > end)
    return XDP_PASS;
  if (data[12] == 0x08 && data[13] == 0x00)
    return XDP_DROP;
  if (data[0] & 1)
    return XDP_PASS;
  return XDP_TX;
}
`;

function corpus(): Uint8Array[] {
  return [...readPcapFrames(join(REPO, 'examples', 'demo.pcap')), ...captureCorpus(sharedPath('captures')).map((p) => p.bytes), ...syntheticCorpus().map((p) => p.bytes)];
}

function make(o: LoadedObject) {
  const session = new Session(o, { engine: 'compiled' });
  return { session, driver: new Driver(session, OPTS) };
}

/**
 * The frames through the real driver in batches of `size` (cmdRun's order: the twin's runBatch, then the real
 * receiveBatch, then each frame's line from its action), each line compared with the twin run beside every packet.
 */
function compare(path: string, frames: Uint8Array[], size: number, cache = false) {
  const source = readFileSync(path, 'utf8');
  const real = make(loadProgramFile(path));
  const ref = ReturnLines.create(path, source, {}, make);
  // Without the path cache (return-lines-cache.test.ts) unless asked: the batched twin is what is checked here.
  const one = ReturnLines.create(path, source, {}, make, { oneRun: true, cache });
  assert.ok(typeof ref !== 'string' && typeof one !== 'string', `${path}: ${String(ref)} ${String(one)}`);
  assert.equal(one.how, 'demand', `${path}: the twin runs only for some packets`);
  const fs = frames.filter((f) => f.length <= real.driver.batchFrameMax());
  const b = real.driver.newBatch(size, 1 << 18);
  let open = 0;
  let lines = 0;
  let at = 0;
  const flush = () => {
    const n = b.count;
    const copies = Array.from({ length: n }, (_, i) => b.frame(i).slice());
    const sec = Array.from(b.sec.subarray(0, n));
    const nanos = Array.from(b.nanos.subarray(0, n));
    one.runBatch(b);
    const got: (number | undefined)[] = [];
    const action: Action[] = [];
    const fault: boolean[] = [];
    real.driver.receiveBatch(b, (i, r) => {
      action[i] = r.action;
      fault[i] = !!r.fault;
      got[i] = one.lineInBatchOf(i, r.action, !!r.fault);
    }, false, (from, to, a) => {
      for (let i = from; i < to; i++) {
        action[i] = ACTIONS[a]!;
        fault[i] = false;
        got[i] = one.lineInBatchOf(i, ACTIONS[a]!, false);
      }
    });
    for (let i = 0; i < n; i++) {
      const want: number | undefined = (ref as ReturnLines).lineOfRun(copies[i]!, sec[i]!, nanos[i]!, undefined, action[i]!, fault[i]!);
      assert.equal(got[i], want, `${path}: frame ${at + i} (${action[i]}): the line of the twin beside every packet`);
      if (want !== undefined) lines++;
      if (action[i] === 'XDP_PASS' && !fault[i]) open++;
    }
    at += n;
    b.count = b.used = 0;
  };
  fs.forEach((f, i) => {
    if (!b.room(f.length) || b.count >= size) flush();
    b.add(f, 1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1_000_000);
  });
  if (b.count) flush();
  return { runs: one.twinRuns, open, lines, frames: fs.length, cache: one.pathCache };
}

test('demand return lines: batches of mostly open frames run the twin batched, the lines are the reference\'s', { skip }, () => {
  const fs = corpus();
  let lines = 0;
  for (const p of ['test/parity/programs/p03_icmp_echo.c', 'test/parity/programs/p07_encap_ipip.c', 'examples/xdp_filter.c']) {
    for (const size of [7, 64, 256]) {
      const r = compare(join(REPO, p), [...fs, ...fs], size);
      lines += r.lines;
      if (p.includes('p03')) {
        // Nearly every frame is passed through one of two returns: after the first batch the twin runs batched.
        assert.ok(r.runs.batched > r.frames / 2, `${p}/${size}: ${JSON.stringify(r.runs)} of ${r.frames} frames`);
        assert.ok(r.runs.single <= size + r.frames / 8, `${p}/${size}: one run per open frame mostly in the first batch (${JSON.stringify(r.runs)})`);
      }
    }
    // With the path cache, as cmdRun runs it: the same lines, the twin run for the misses only.
    const r = compare(join(REPO, p), [...fs, ...fs], 256, true);
    lines += r.lines;
    // xdp_filter's line of a passed IPv4 packet depends on a hash map lookup by its source address: not cached.
    if (!p.includes('xdp_filter')) assert.ok(r.cache !== undefined && r.cache.lookups > 100 && r.cache.lookups > 2 * r.cache.misses, `${p}: ${JSON.stringify(r.cache)}`);
  }
  assert.ok(lines > 3000, `${lines} lines compared`);
});

test('demand return lines: the twin goes back to one run per open frame when few frames are open', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-demand-batch-'));
  try {
    const path = join(dir, 'open.c');
    writeFileSync(path, OPEN);
    const frame = (first: number, type: number) => {
      const f = new Uint8Array(60);
      f[0] = first;
      f[12] = type;
      f[13] = 0;
      return f;
    };
    const open = frame(0x01, 0x86); // multicast, not IPv4: XDP_PASS (open)
    const ipv4 = frame(0x02, 0x08); // XDP_DROP (settled)
    const tx = frame(0x02, 0x86); // XDP_TX (settled)
    // 4 batches of 16 open frames, then 4 of drops and transmits with one open frame each, then 4 open again.
    const fs: Uint8Array[] = [];
    for (let k = 0; k < 4; k++) for (let i = 0; i < 16; i++) fs.push(open);
    for (let k = 0; k < 4; k++) for (let i = 0; i < 16; i++) fs.push(i === 5 ? open : i & 1 ? ipv4 : tx);
    for (let k = 0; k < 4; k++) for (let i = 0; i < 16; i++) fs.push(open);
    const r = compare(path, fs, 16);
    // Batched: open batches 2-4, the first settled batch (after an open one), open batches 10-12: 7 batches of 16.
    // One run each: the first batch's 16, the open frames of settled batches 6-8 (3), and of batch 9 (16, after
    // a settled one).
    assert.deepEqual(r.runs, { batched: 7 * 16, single: 16 + 3 + 16 });
    assert.equal(r.lines, 12 * 16, 'every frame has its line');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run X.c --format jsonl, demand in batches: the kernel\'s actions and the reference\'s lines', { skip }, (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-demand-batch-k-'));
  try {
    const path = join(REPO, 'test/parity/programs/p03_icmp_echo.c');
    const { objectPath } = loadProgramFileWithObject(path);
    const base = corpus().filter((f) => f.length >= 14 && f.length <= 1500);
    // Several of the run's batches (256 frames), most of them passed.
    const fs = [...base, ...base, ...base, ...base].slice(0, 1200);
    const pcap = join(dir, 'in.pcap');
    const w = new PcapWriter(pcap);
    fs.forEach((f, i) => w.write(1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, f));
    w.close();
    const kernel = runKernel(objectPath, 'icmp_echo', fs);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'run', path, pcap, '--format', 'jsonl'], { encoding: 'utf8', cwd: REPO, maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const packets = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { packet?: number; action?: string; line?: number }).filter((o) => o.packet !== undefined);
    assert.equal(packets.length, fs.length);
    // The reference: the twin beside every packet, in process, frame by frame.
    const source = readFileSync(path, 'utf8');
    const real = make(loadProgramFile(path));
    const ref = ReturnLines.create(path, source, {}, make);
    assert.ok(typeof ref !== 'string');
    const lines = new Map<number, number>();
    packets.forEach((p, i) => {
      const k = kernel.results[i]!;
      assert.equal(k.errno, undefined, `packet ${i}: the kernel ran it`);
      assert.equal(p.action, actionOf(k.retval), `packet ${i}: the kernel's action`);
      const ts = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n;
      const want = ref.lineFor(fs[i]!, ts, real.driver.receive(fs[i]!, ts));
      if (want !== undefined) assert.equal(p.line, want, `packet ${i} (${p.action}): the reference's line`);
      lines.set(p.line ?? 0, (lines.get(p.line ?? 0) ?? 0) + 1);
    });
    // Both XDP_PASS returns (15, 18) and XDP_TX's (41) are taken.
    for (const l of [15, 18, 41]) assert.ok((lines.get(l) ?? 0) > 0, `line ${l} taken: ${JSON.stringify([...lines])}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
