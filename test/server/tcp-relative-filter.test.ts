// Display filters on tcp.seq / tcp.ack in editor runs: relative to the stream as in tshark (test/filter/tcp-relative),
// and, as `xdp-lens run --filter`, followed through the packets not run (outgoing): the packets view's filter selects
// the CLI's packets, on the server's thread and in the split filter's worker (XDP_LENS_RUN_WORKER=0: its half starts
// after packets it only follows), also one the snap length cut inside its TCP header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../repo.ts';
import { startServer } from './stdio-server.ts';
import type { PacketsResult, RunResponse } from '../../server/protocol.ts';
import { pcapngWithDirections } from '../net/pcapng-outbound.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !existsSync(CLI) || !existsSync(join(REPO, 'dist', 'server.js')) ? 'dist/ is missing: run npm run build' : !haveClang ? 'clang is not installed' : false;

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const be32 = (v: number) => [...be16(v >>> 16), ...be16(v & 0xffff)];
function seg(fromA: boolean, seq: number, ack: number, flags: number, payload = 0): Uint8Array {
  const [src, dst, sp, dp] = fromA ? [[10, 0, 0, 1], [10, 0, 0, 2], 1000, 80] : [[10, 0, 0, 2], [10, 0, 0, 1], 80, 1000];
  const tcp = [...be16(sp as number), ...be16(dp as number), ...be32(seq >>> 0), ...be32(ack >>> 0), 0x50, flags, 0xff, 0xff, 0, 0, 0, 0, ...new Array(payload).fill(0x61)];
  return Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, 0x45, 0, ...be16(20 + tcp.length), 0, 1, 0, 0, 64, 6, 0, 0, ...(src as number[]), ...(dst as number[]), ...tcp]);
}

test('the packets view filters tcp.seq / tcp.ack as `run --filter` does, through outgoing packets (server thread and worker)', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-tcp-rel-server-'));
  try {
    const program = join(dir, 'pass.c');
    writeFileSync(program, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *c) { return XDP_PASS; }\nchar _l[] SEC("license") = "GPL";\n');
    const frames = [seg(true, 5000, 0, 0x02), seg(false, 9000, 5001, 0x12), seg(true, 5001, 9001, 0x10)];
    for (let i = 0; i < 12; i++) frames.push(seg(i % 2 === 0, i % 2 === 0 ? 5001 + i : 9001 + i, i % 2 === 0 ? 9001 + i : 5001 + i, 0x18, 1));
    const mixed = join(dir, 'mixed.pcapng');
    writeFileSync(mixed, pcapngWithDirections(frames, new Set([0, 2, 5, 6])));
    // An outgoing first segment cut by the snap length after 16 of its 20 TCP header bytes still sets the stream's base.
    const first = seg(true, 7000, 9001, 0x18, 10);
    const cut = join(dir, 'cut.pcapng');
    writeFileSync(cut, pcapngWithDirections([first.slice(0, 50), seg(true, 7010, 9001, 0x18, 10), seg(true, 7020, 9001, 0x10)], new Set([0]), [first.length]));
    for (const [capture, filter] of [...['tcp.seq == 1', 'tcp.ack == 1', 'tcp.seq < 8', 'tcp.ack > 4 && tcp.seq > 4'].map((f) => [mixed, f]), [cut, 'tcp.seq == 11'], [cut, 'tcp.seq == 21']] as const) {
      const r = spawnSync(process.execPath, [CLI, 'run', program, capture, '--format', 'jsonl', '--filter', filter], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const want = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((j) => j.packet !== undefined).map((j) => j.packet as number);
      assert.ok(want.length > 0, filter);
      for (const worker of ['never', '0']) {
        const s = await startServer(() => ({}), {}, { XDP_LENS_RUN_WORKER: worker });
        try {
          const run = await s.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(program).href, capture });
          assert.ok(run.summary, run.error);
          const f = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: run.summary.runId, offset: 0, limit: 1000, filter });
          assert.equal(f.error, undefined, filter);
          assert.deepEqual(f.rows.map((x) => x.index), want, `${filter} (worker ${worker})`);
        } finally {
          await s.stop();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
