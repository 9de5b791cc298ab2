// The CLI as a user runs it: contracts of `--format jsonl`, exit codes, and clear errors for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';

const repo = REPO;
const haveClang = spawnSync('clang', ['--version']).status === 0;

function cli(args: string[]) {
  const bundle = join(repo, 'dist', 'cli.js');
  const cmd = existsSync(bundle) ? [bundle] : ['--import', 'tsx', join(repo, 'simulator', 'cli.ts')];
  const r = spawnSync(process.execPath, [...cmd, ...args], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function jsonl(stdout: string): Record<string, any>[] {
  return stdout.trim().split('\n').map((l) => JSON.parse(l));
}

test('run --format jsonl: one object per packet, then summary and maps', { skip: !haveClang && 'clang is not installed' }, () => {
  const r = cli(['run', 'examples/xdp_filter.c', 'examples/demo.pcap', '--format', 'jsonl', '--data', '--maps', 'examples/blocklist.json']);
  assert.equal(r.status, 0, r.stderr);
  const recs = jsonl(r.stdout);
  const packets = recs.slice(0, -1);
  const last = recs[recs.length - 1];
  assert.equal(packets.length, 10);
  packets.forEach((p, i) => {
    assert.equal(p.packet, i);
    assert.ok(['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'].includes(p.action));
    assert.equal(typeof p.retval, 'number');
    assert.match(p.file, /xdp_filter\.c$/);
    assert.equal(typeof p.line, 'number');
    assert.match(p.data, /^([0-9a-f]{2})+$/);
    assert.equal(typeof p.path, 'string');
  });
  // The blocklisted source (192.0.2.66) is dropped and counted in the map.
  assert.equal(packets[8].action, 'XDP_DROP');
  assert.deepEqual(last.maps.blocklist, [{ key: 'c0000242', value: '0100000000000000' }]);
  assert.equal(last.summary.packets, 10);
  assert.ok(Array.isArray(last.maps.proto_count));
  assert.ok(Object.keys(last.maps).some((n) => n.endsWith('.rodata')), 'global data appears under a .rodata name');
});

test('run: table output names every packet and the summary', { skip: !haveClang && 'clang is not installed' }, () => {
  const r = cli(['run', 'examples/xdp_filter.c', 'examples/demo.pcap']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /XDP_TX/);
  assert.match(r.stdout, /10 packets: /);
  assert.match(r.stdout, /xdp_filter\.c:\d+/);
});

test('bad input: missing program, broken C, garbage capture, unknown option', { skip: !haveClang && 'clang is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-cli-'));
  const missing = cli(['run', join(dir, 'nope.o'), 'examples/demo.pcap']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope\.o/);

  const broken = join(dir, 'broken.c');
  writeFileSync(broken, '#include <linux/bpf.h>\nint f(struct xdp_md *ctx) { return oops; }\n');
  const b = cli(['run', broken, 'examples/demo.pcap']);
  assert.equal(b.status, 2);
  assert.match(b.stderr, /broken\.c:2:\d+: error: /);

  const garbage = join(dir, 'garbage.pcap');
  writeFileSync(garbage, Buffer.from('this is not a capture at all, not even close'));
  const g = cli(['run', 'examples/xdp_filter.c', garbage]);
  assert.equal(g.status, 2);
  assert.match(g.stderr, /garbage\.pcap/);

  const u = cli(['run', 'examples/xdp_filter.c', 'examples/demo.pcap', '--format', 'xml']);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /--format/);

  const extra = cli(['run', 'examples/xdp_filter.c', 'examples/demo.pcap', 'extra']);
  assert.equal(extra.status, 2);
  assert.match(extra.stderr, /^xdp-lens: run takes PROGRAM and CAPTURE: 'extra' is one argument too many\n/);
  const short = cli(['compare', 'examples/xdp_filter.c']);
  assert.equal(short.status, 2);
  assert.match(short.stderr, /^xdp-lens: compare takes PROGRAM and CAPTURE: CAPTURE is missing\n/);
});

test('a truncated capture: every good packet is reported, then the error with its offset', { skip: !haveClang && 'clang is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-cli-'));
  const demo = readFileSync(join(repo, 'examples', 'demo.pcap'));
  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, demo.subarray(0, demo.length - 20));
  const r = cli(['run', 'examples/xdp_filter.c', cut, '--format', 'jsonl']);
  assert.equal(r.status, 2);
  const recs = jsonl(r.stdout);
  assert.equal(recs.length, 10, 'nine packets and the summary');
  assert.match(r.stderr, /cut\.pcap/);
  assert.match(r.stderr, /offset \d+/);
});

test('--out-dir writes a pcap per action that tcpdump reads', { skip: !haveClang && 'clang is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-out-'));
  const r = cli(['run', 'examples/xdp_filter.c', 'examples/demo.pcap', '--out-dir', dir, '--maps', 'examples/blocklist.json']);
  assert.equal(r.status, 0, r.stderr);
  for (const a of ['xdp_pass', 'xdp_drop', 'xdp_tx', 'xdp_redirect', 'xdp_aborted']) assert.ok(existsSync(join(dir, `${a}.pcap`)), a);
  const td = spawnSync('tcpdump', ['-nn', '-r', join(dir, 'xdp_tx.pcap')], { encoding: 'utf8' });
  if (td.error) return; // tcpdump not installed: the files exist, nothing more to check here
  assert.equal(td.status, 0, td.stderr);
  // The echo requests went back out as echo replies with the addresses swapped.
  assert.match(td.stdout, /10\.0\.0\.2 > 10\.0\.0\.1: ICMP echo reply/);
  assert.equal(td.stdout.trim().split('\n').length, 2);
});

test('exit lines: each packet is credited to the return statement it left through', { skip: !haveClang && 'clang is not installed' }, () => {
  const src = readFileSync(join(repo, 'examples', 'xdp_filter.c'), 'utf8').split('\n');
  const r = cli(['run', 'examples/xdp_filter.c', 'examples/demo.pcap', '--format', 'jsonl']);
  assert.equal(r.status, 0, r.stderr);
  const recs = jsonl(r.stdout).filter((x) => 'packet' in x);
  assert.equal(recs.length, 10);
  for (const rec of recs) {
    const text = src[rec.line - 1]!;
    assert.match(text, /\breturn\b/, `packet ${rec.packet} at line ${rec.line}: ${text}`);
    assert.equal(text.indexOf('return') + 1, rec.column);
    // The action named on that line, when it names one, is the packet's action.
    const named = /XDP_(ABORTED|DROP|PASS|TX|REDIRECT)/.exec(text);
    if (named) assert.equal(named[0], rec.action, `packet ${rec.packet} line ${rec.line}`);
  }
  // Distinct verdict paths leave through distinct returns: the ICMP echo is answered by the reply path, telnet is dropped.
  const byPacket = new Map(recs.map((x) => [x.packet, x.line]));
  assert.notEqual(byPacket.get(1), byPacket.get(3));
  // --exit-lines exit reports the exit instruction (the merged exit block at the closing brace).
  const raw = jsonl(cli(['run', 'examples/xdp_filter.c', 'examples/demo.pcap', '--format', 'jsonl', '--exit-lines', 'exit']).stdout).filter((x) => 'packet' in x);
  assert.ok(raw.every((x) => x.line === raw[0]!.line && !/\breturn\b/.test(src[x.line - 1]!)));
  assert.equal(cli(['run', 'examples/xdp_filter.c', 'examples/demo.pcap', '--exit-lines', 'sometimes']).status, 2);
});

test('--version prints the version of package.json and exits 0; with an argument it is bad usage (exit 2)', () => {
  const { version } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
  const bundled = existsSync(join(repo, 'dist', 'cli.js'));
  for (const flag of ['--version', '-V', 'version']) {
    const r = cli([flag]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `xdp-lens ${bundled ? version : '0.0.0-dev'}\n`);
  }
  const bad = cli(['--version', 'x']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, "xdp-lens: --version takes no arguments, not 'x'\n");
});
