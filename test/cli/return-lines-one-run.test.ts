// Return lines from one run (issue 12): where the twin's code settles the line of each action (settledLines: every
// path to the exit passes one `return`'s marker last, and the value r0 holds there says which actions it may give),
// `xdp-lens run X.c` takes the line from the real run's action and the twin does not run at all; where some action is
// left open and the twin is stateless (no maps), the twin runs only for the packets with that action; otherwise the twin
// runs beside every packet as before. Checked here: which programs are settled, that the lines are the twin's packet by
// packet (the twin run beside every packet is the reference), and `run X.c --format jsonl` lines against the kernel's
// actions on the same packets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, sharedPath } from '../repo.ts';
import { ACTIONS, Session, actionOf, loadProgramFile, loadProgramFileWithObject } from '../../simulator/session.ts';
import { Driver } from '../../simulator/driver/rx.ts';
import { PROFILES } from '../../simulator/driver/profiles.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { ReturnLines } from '../../simulator/return-lines.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import { captureCorpus, readPcapFrames, syntheticCorpus } from '../parity/packets.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';

const skip = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';

const HEAD = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } seen SEC(".maps");
`;
/** One return per action, a map written: settled. */
const SETTLED = `${HEAD}SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&seen, &k);
  if (v) *v += 1;
  if (data + 14 > end)
    return XDP_ABORTED; // ABORTED
  if (((unsigned char *)data)[12] == 0x08)
    return XDP_DROP; // DROP
  return XDP_PASS; // PASS
}
`;
/** Two returns of XDP_PASS and no map: the twin runs for the passed packets only. */
const OPEN_STATELESS = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 14 > end)
    return XDP_PASS; // PASS short
  if (data[12] == 0x08 && data[13] == 0x00)
    return XDP_DROP; // DROP
  if (data[0] & 1)
    return XDP_PASS; // PASS multicast
  return XDP_TX; // TX
}
`;
/** The same with a map read: the twin runs beside every packet. */
const OPEN_STATEFUL = OPEN_STATELESS.replace('SEC("xdp")', `struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } seen SEC(".maps");
SEC("xdp")`).replace('if (data[0] & 1)', '__u32 k = 0; __u64 *v = bpf_map_lookup_elem(&seen, &k); if (v && (*v)++ & 1)');
/** A loop: not settled. */
const LOOP = `${HEAD}SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  __u32 sum = 0;
#pragma clang loop unroll(disable)
  for (int i = 0; i < 12; i++) {
    if (data + i + 1 > end) return XDP_ABORTED;
    sum += data[i];
  }
  return sum & 1 ? XDP_DROP : XDP_PASS;
}
`;

const lineOf = (src: string, mark: string) => src.split('\n').findIndex((l) => l.includes(`// ${mark}`)) + 1;

function frames(): Uint8Array[] {
  const all = [...readPcapFrames(join(REPO, 'examples', 'demo.pcap')), ...captureCorpus(sharedPath('captures')).map((p) => p.bytes), ...syntheticCorpus().map((p) => p.bytes)];
  return [...all.slice(0, 300), new Uint8Array(10), new Uint8Array(13)];
}

function runs(path: string) {
  const make = (o: LoadedObject) => {
    const session = new Session(o, { engine: 'compiled' });
    return { session, driver: new Driver(session, { mode: 'native', profile: PROFILES.mlx5!, queues: 1 }) };
  };
  const source = readFileSync(path, 'utf8');
  const real = make(loadProgramFile(path));
  const twin = ReturnLines.create(path, source, {}, make);
  const one = ReturnLines.create(path, source, {}, make, { oneRun: true });
  assert.ok(typeof twin !== 'string' && typeof one !== 'string', `${path}: ${String(twin)} ${String(one)}`);
  return { real, twin, one };
}

test('return lines from one run: which programs are settled, and the lines are the twin-beside-every-packet lines', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-one-run-'));
  try {
    const cases: [string, string | undefined, 'settled' | 'demand' | 'twin'][] = [
      ['settled.c', SETTLED, 'settled'],
      ['open-stateless.c', OPEN_STATELESS, 'demand'],
      ['open-stateful.c', OPEN_STATEFUL, 'twin'],
      ['loop.c', LOOP, 'twin'],
      ['test/parity/programs/p01_parse_count.c', undefined, 'settled'],
      ['test/parity/programs/p03_icmp_echo.c', undefined, 'twin'],
      ['test/parity/programs/p08_vlan.c', undefined, 'demand'],
      ['test/parity/programs/p09_adjust_tail.c', undefined, 'settled'],
      ['test/parity/programs/p26_head_limits.c', undefined, 'settled'],
    ];
    const fs = frames();
    let lines = 0;
    for (const [name, src, how] of cases) {
      const path = src === undefined ? join(REPO, name) : join(dir, name);
      if (src !== undefined) writeFileSync(path, src);
      const { real, twin, one } = runs(path);
      assert.equal(one.how, how, `${name}: how its lines come`);
      assert.equal(twin.how, 'twin', `${name}: without oneRun the twin runs beside every packet`);
      fs.forEach((f, i) => {
        const ts = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n;
        const r = real.driver.receive(f, ts);
        const a = twin.lineFor(f, ts, r);
        assert.equal(one.lineFor(f, ts, r), a, `${name}, packet ${i} (${r.action}${r.fault ? ', faulted' : ''})`);
        if (a !== undefined) lines++;
      });
    }
    assert.ok(lines > 1000, `${lines} lines compared`);
    // The settled program's lines by action are its returns' lines.
    const { one } = runs(join(dir, 'settled.c'));
    assert.equal(one.how, 'settled');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run X.c --format jsonl: the lines of a settled program follow the kernel\'s action on every packet', { skip }, (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-one-run-k-'));
  try {
    const path = join(dir, 'settled.c');
    writeFileSync(path, SETTLED);
    const { objectPath } = loadProgramFileWithObject(path);
    const fs = frames().filter((f) => f.length >= 14 && f.length <= 1500);
    const pcap = join(dir, 'in.pcap');
    const w = new PcapWriter(pcap);
    fs.forEach((f, i) => w.write(1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, f));
    w.close();
    const kernel = runKernel(objectPath, 'prog', fs);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'run', path, pcap, '--format', 'jsonl'], { encoding: 'utf8', cwd: REPO, maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { packet?: number; action?: string; line?: number });
    const packets = out.filter((o) => o.packet !== undefined);
    assert.equal(packets.length, fs.length);
    const want: Record<string, number> = { XDP_ABORTED: lineOf(SETTLED, 'ABORTED'), XDP_DROP: lineOf(SETTLED, 'DROP'), XDP_PASS: lineOf(SETTLED, 'PASS') };
    const seen = new Set<string>();
    packets.forEach((p, i) => {
      const k = kernel.results[i]!;
      assert.equal(k.errno, undefined, `packet ${i}: the kernel ran it`);
      const action = actionOf(k.retval);
      assert.equal(p.action, action, `packet ${i}: the kernel's action`);
      assert.equal(p.line, want[action], `packet ${i}: ${action} leaves through its return`);
      seen.add(action);
    });
    assert.deepEqual([...seen].sort(), ['XDP_DROP', 'XDP_PASS'], `both returns taken (${ACTIONS.length} actions)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
