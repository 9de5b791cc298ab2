// Return lines from one run in the editor (issue 12): a run's worker thread (server/run-worker.ts) and the server's
// thread take a packet's return line from the real run's action where the twin's code settles it, and run the twin
// only for the packets whose action it leaves open when what decides the line is the packet alone
// (return-lines.ts packetOnly: here a program with an array map, a hash map and a global, two returns of XDP_PASS).
// The rows of a run on the server's thread alone, through a worker (two ring sizes) and through a spare worker with
// the twin built ahead are the same, and their lines are those of the twin run beside every packet (in process, with
// the run's driver), and each packet's action is the kernel's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { actionOf, loadProgramFile, loadProgramFileWithObject } from '../../simulator/session.ts';
import { ReturnLines } from '../../simulator/return-lines.ts';
import { DEFAULT_PROFILE } from '../../simulator/driver/profiles.ts';
import { build } from '../../server/run.ts';
import type { PacketRow, PacketsResult, RunResponse } from '../../server/protocol.ts';
import { noClang } from '../driver/helpers.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { startServer } from './stdio-server.ts';

const PACKETS = 1500;

const PROGRAM = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } hash SEC(".maps");
__u64 counter;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 40 > end)
    return XDP_DROP;
  __u32 k0 = 0;
  __u64 *v = bpf_map_lookup_elem(&arr, &k0);
  if (!v)
    return XDP_ABORTED;
  if (data[9] & 1) {
    *v += 1;
    counter++;
    __u32 hk = data[10] & 15;
    __u64 one = 1;
    bpf_map_update_elem(&hash, &hk, &one, BPF_ANY);
    return XDP_TX;
  }
  __u32 key = data[3];
  __u64 *w = bpf_map_lookup_elem(&arr, &key);
  if (!w)
    return XDP_PASS;
  *w += 1;
  if (data[5] & 1)
    return XDP_PASS;
  counter += data[6];
  return XDP_PASS;
}
`;

/** Frames of 20-200 bytes whose bytes 3, 5, 9 and 10 vary (a fixed LCG). */
function frames(): Uint8Array[] {
  let x = 12345;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
  return Array.from({ length: PACKETS }, () => {
    const f = new Uint8Array(20 + (next() % 181));
    for (let i = 0; i < f.length; i++) f[i] = next() & 0xff;
    f[3] = next() % 6; // keys 0-3 hit the array, 4-5 miss
    return f;
  });
}

async function rowsOf(worker: string, program: string, capture: string, open = false): Promise<{ rows: PacketRow[]; log: string[] }> {
  const log: string[] = [];
  let spareReady: () => void = () => {};
  const ready = new Promise<void>((r) => (spareReady = r));
  const s = await startServer(() => ({}), {
    'window/logMessage': (p: { message: string }) => {
      log.push(p.message);
      if (p.message.includes(`a worker thread is ready for the next run of ${program}`)) spareReady();
    },
  }, { XDP_LENS_RUN_WORKER: worker });
  try {
    if (open) {
      await s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: pathToFileURL(program).href, languageId: 'c', version: 1, text: readFileSync(program, 'utf8') } });
      await ready;
    }
    const r = await s.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(program).href, capture });
    assert.ok(r.summary, r.error);
    const rows = (await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: r.summary.runId, offset: 0, limit: PACKETS })).rows;
    return { rows, log };
  } finally {
    await s.stop();
  }
}

test('editor runs: return lines from one run (worker thread, server thread, spare worker) are the twin\'s, actions the kernel\'s', { skip: noClang }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-one-run-server-'));
  try {
    const program = join(dir, 'packet_only.c');
    writeFileSync(program, PROGRAM);
    const fs = frames();
    const capture = join(dir, 'c.pcap');
    const w = new PcapWriter(capture);
    fs.forEach((f, i) => w.write(1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, f));
    w.close();

    // The lines the twin beside every packet gives, with the run's driver (server/run.ts build, the default settings).
    const config = { capture, captureStamp: '', mode: 'native' as const, profile: DEFAULT_PROFILE, queues: 1, limit: 0 };
    const real = build({ ...config, obj: loadProgramFile(program) }, true);
    const make = (o: Parameters<typeof build>[0]['obj']) => build({ ...config, obj: o }, true);
    const twin = ReturnLines.create(program, PROGRAM, {}, make);
    const one = ReturnLines.create(program, PROGRAM, {}, make, { oneRun: true });
    assert.ok(typeof twin !== 'string' && typeof one !== 'string');
    assert.equal(one.how, 'demand', 'XDP_PASS left open, decided by the packet alone');
    const want = fs.map((f, i) => twin.lineFor(f, 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, real.driver.receive(f, 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n)));
    const passLines = new Set(want.filter((l, i) => l !== undefined && PROGRAM.split('\n')[l - 1]!.includes('XDP_PASS') && i >= 0));
    assert.equal(passLines.size, 3, 'all three returns of XDP_PASS taken');

    const DEMAND = 'return lines from the actions, the twin run only for packets whose action leaves the line open';
    const own = await rowsOf('never', program, capture);
    assert.equal(own.rows.length, PACKETS);
    assert.ok(own.log.some((l) => l.includes(DEMAND)), own.log.join('\n'));
    let compared = 0;
    own.rows.forEach((r, i) => {
      if (want[i] === undefined) return;
      assert.equal(r.line, want[i], `packet ${i} (${r.action}): the twin's line`);
      compared++;
    });
    assert.ok(compared > PACKETS / 2, `${compared} lines compared`);
    for (const ring of ['0', '777']) {
      const via = await rowsOf(ring, program, capture);
      assert.ok(via.log.some((l) => l.includes("return lines in the run's worker thread") && l.includes(DEMAND)), via.log.join('\n'));
      assert.deepEqual(via.rows, own.rows, `rows through the worker (ring ${ring})`);
    }
    const spare = await rowsOf('0', program, capture, true);
    assert.ok(spare.log.some((l) => l.includes('(its twin built ahead)') && l.includes(DEMAND)), spare.log.join('\n'));
    assert.deepEqual(spare.rows, own.rows, 'rows through a spare worker');

    if (kernelOrSkip(t)) return;
    const kernel = runKernel(loadProgramFileWithObject(program).objectPath, 'prog', fs);
    own.rows.forEach((r, i) => assert.equal(r.action, actionOf(kernel.results[i]!.retval!), `packet ${i}: the kernel's action`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
