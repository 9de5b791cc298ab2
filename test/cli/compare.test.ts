// `xdp-lens compare` and `xdpLens/compareKernel`: the simulator against BPF_PROG_TEST_RUN through bpftool, as a user
// runs it. Needs root and bpftool (skips with the reason otherwise; fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as rpc from 'vscode-languageserver-protocol/node';
import { kernelVerifierUnavailable } from '../../simulator/analysis/verifier.ts';
import { compareMaps } from '../../simulator/kernel-compare.ts';
import { REPO } from '../repo.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const haveClang = spawnSync('clang', ['--version']).status === 0;

function kernelOrSkip(t: { skip(msg: string): void }): boolean {
  const why = !haveClang ? 'clang is not installed' : kernelVerifierUnavailable();
  if (!why) return false;
  if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(`kernel required but unavailable: ${why}`);
  t.skip(why);
  return true;
}

test('compare: the demo program agrees with the kernel on every demo packet (text and json)', (t) => {
  if (kernelOrSkip(t)) return;
  const prog = join(REPO, 'examples', 'xdp_filter.c');
  const cap = join(REPO, 'examples', 'demo.pcap');
  const r = spawnSync(process.execPath, [CLI, 'compare', prog, cap], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /10 packets compared, 0 differing/);
  assert.match(r.stdout, /^ +1 +XDP_TX \(3\) +XDP_TX \(3\) +same$/m);
  const j = spawnSync(process.execPath, [CLI, 'compare', prog, cap, '--format', 'json', '--limit', '3'], { encoding: 'utf8' });
  const out = JSON.parse(j.stdout) as { available: boolean; rows: { index: number; equal: boolean; kernel: { retval: number } }[]; maps: { map: string; equal: boolean }[] };
  assert.equal(out.available, true);
  assert.deepEqual(out.maps.map((m) => [m.map, m.equal]).sort(), [['blocklist', true], ['proto_count', true], ['xdp_filt.rodata', true]]);
  assert.deepEqual(out.rows.map((x) => [x.index, x.equal]), [[0, true], [1, true], [2, true]]);
});

test('map comparison names the entries that differ, matching global data by suffix and per-CPU maps on CPU 0', () => {
  const r = compareMaps(
    { counts: [{ key: '00000000', value: '0100000000000000' }, { key: '01000000', value: '0200000000000000' }], 'prog.bss': [{ key: '00000000', value: '05000000' }], pc: [{ key: '00000000', values: ['0700000000000000'] }] },
    [
      { name: 'counts', type: 'array', entries: new Map([['00000000', '0100000000000000'], ['01000000', '0300000000000000']]) },
      { name: '3f2a91c0.bss', type: 'array', entries: new Map([['00000000', '05000000']]) },
      { name: 'pc', type: 'percpu_array', entries: new Map([['00000000', ['0700000000000000', '0900000000000000']]]) },
    ],
  );
  assert.deepEqual(r, [
    { map: 'counts', equal: false, differences: ['key 01000000: simulator 0200000000000000, kernel 0300000000000000'] },
    { map: 'prog.bss', equal: true, differences: [] },
    { map: 'pc', equal: true, differences: [] },
  ]);
});

test('compare: a program the kernel refuses is reported with exit status 2', (t) => {
  if (kernelOrSkip(t)) return;
  const r = spawnSync(process.execPath, [CLI, 'compare', join(REPO, 'test', 'server', 'fixtures', 'ctx_write.c'), join(REPO, 'examples', 'demo.pcap')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /kernel refused to load the object[\s\S]*invalid bpf_context access/);
});

test('xdpLens/compareKernel over LSP returns the side-by-side table', async (t) => {
  if (kernelOrSkip(t)) return;
  const child = spawn(process.execPath, [join(REPO, 'dist', 'server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = rpc.createProtocolConnection(new rpc.StreamMessageReader(child.stdout!), new rpc.StreamMessageWriter(child.stdin!));
  for (const m of ['window/showMessage', 'window/logMessage', 'xdpLens/status', 'textDocument/publishDiagnostics']) conn.onNotification(m, () => {});
  conn.listen();
  try {
    await conn.sendRequest(rpc.InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {} });
    await conn.sendNotification(rpc.InitializedNotification.type, {});
    const r = await conn.sendRequest<{ available: boolean; compared: number; differing: number; text: string }>('xdpLens/compareKernel', {
      uri: pathToFileURL(join(REPO, 'examples', 'xdp_filter.c')).href,
      capture: join(REPO, 'examples', 'demo.pcap'),
    });
    assert.equal(r.available, true);
    assert.equal(r.compared, 10);
    assert.equal(r.differing, 0);
    assert.match(r.text, /simulator vs kernel/);
  } finally {
    await conn.sendRequest(rpc.ShutdownRequest.type);
    await conn.sendNotification(rpc.ExitNotification.type);
  }
});

test('compare: tail calls through a PROG_ARRAY and per-CPU lookups of other CPUs agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  for (const prog of ['p19_tailcall.c', 'p24_ctx_fields.c']) {
    const r = spawnSync(process.execPath, [CLI, 'compare', join(REPO, 'test', 'parity', 'programs', prog), join(REPO, 'examples', 'demo.pcap'), '--format', 'json'], { encoding: 'utf8' });
    const out = JSON.parse(r.stdout) as { differing: number; mapsDiffering: number; rows: unknown[] };
    assert.equal(r.status, 0, `${prog}: ${r.stdout.slice(0, 2000)}`);
    assert.deepEqual([out.rows.length, out.differing, out.mapsDiffering], [10, 0, 0], prog);
  }
});
