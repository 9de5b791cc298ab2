// `run` on a capture cut short mid-record that was written to moments ago (a capture still writing it, as `tcpdump -w`
// does while it runs): the error says so and how to follow the file through a pipe; one written to long ago, or
// standard input, does not. The packets before the cut still run. The table's closing line says "1 packet".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classicPcap } from './pcap-file.ts';
import { REPO } from '../repo.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const frame = Uint8Array.from({ length: 60 }, (_, i) => (i === 12 ? 8 : i === 14 ? 0x45 : 0));

const PASS = '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }\nchar _license[] SEC("license") = "GPL";\n';

test('a capture cut mid-record and changed moments ago: the error says a capture may still be writing it', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-growing-'));
  try {
    const src = join(dir, 'pass.c');
    writeFileSync(src, PASS);
    const path = join(dir, 'growing.pcap');
    const whole = classicPcap([0, 1, 2].map((sec) => ({ data: frame, sec })));
    writeFileSync(path, whole.subarray(0, whole.length - 20));
    const run = () => spawnSync('node', [CLI, 'run', src, path, '--format', 'summary'], { encoding: 'utf8' });
    let r = run();
    assert.equal(r.status, 2);
    assert.match(r.stdout, /"packets":2,/);
    const cut = 'growing.pcap: record 2, byte offset 176: truncated packet data (40 of 60 bytes)';
    assert.equal(r.stderr, `xdp-lens: ${path.slice(0, -'growing.pcap'.length)}${cut}; the file changed ${/changed (\d+) s/.exec(r.stderr)?.[1]} s ago: if a capture is still writing it, follow it through a pipe (tail -c +1 -f ${path} | xdp-lens run PROGRAM -)\n`);
    const old = new Date(Date.now() - 3600_000);
    utimesSync(path, old, old);
    r = run();
    assert.equal(r.status, 2);
    assert.match(r.stdout, /"packets":2,/);
    assert.equal(r.stderr, `xdp-lens: ${path.slice(0, -'growing.pcap'.length)}${cut}\n`);
    // Through standard input (a pipe) there is no file to follow: no hint.
    r = spawnSync('node', [CLI, 'run', src, '-', '--format', 'summary'], { encoding: 'utf8', input: whole.subarray(0, whole.length - 20) });
    assert.equal(r.stderr, `xdp-lens: standard input: record 2, byte offset 176: truncated packet data (40 of 60 bytes)\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one packet is "1 packet" in the table', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-growing-'));
  try {
    const src = join(dir, 'pass.c');
    writeFileSync(src, PASS);
    const path = join(dir, 'one.pcap');
    writeFileSync(path, classicPcap([{ data: frame, sec: 0 }]));
    const r = spawnSync('node', [CLI, 'run', src, path], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^1 packet: XDP_PASS 1$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
