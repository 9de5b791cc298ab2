// `xdp-lens test` cases that take their packet from a capture holding packets the capturing host sent (tcpdump -i any's
// cooked packet type 4, pcapng epb_flags outbound): XDP never runs on those, as `xdp-lens run` does not. A case naming
// one by index is refused with the reason and its position (exit status 2); a case with a filter or no index takes the
// first received packet that fits, never an outgoing one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { pcapngWithDirections as pcapng } from '../net/pcapng-outbound.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const PROGRAM = join(REPO, 'examples', 'xdp_filter.c');
const SLL2 = join(REPO, '..', 'shared', 'captures', 'zeek--linux_dlt_sll2.pcap');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !existsSync(CLI) ? 'dist/ is missing: run npm run build' : !haveClang ? 'clang is not installed' : false;


/** Ethernet + IPv4 + UDP 10.0.0.1:1234 -> 10.0.0.2:53, 60 bytes, `id` in the IP identification. */
function udpFrame(id: number): Buffer {
  const b = Buffer.alloc(60, 0x61);
  b.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0], 0);
  b.set([0x45, 0, 0, 46, id >> 8, id & 0xff, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  b.writeUInt16BE(1234, 34);
  b.writeUInt16BE(53, 36);
  b.writeUInt16BE(26, 38);
  b.writeUInt16BE(0, 40);
  return b;
}

function runTest(dir: string, name: string, yaml: string) {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return { file, ...spawnSync(process.execPath, [CLI, 'test', file], { encoding: 'utf8' }) };
}

test('xdp-lens test: a capture packet named by index that the capturing host sent is refused with the reason', { skip: skip || (!existsSync(SLL2) && `${SLL2} is absent`) }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-test-outgoing-'));
  try {
    const r = runTest(dir, 'a.xdptest.yaml', `program: ${PROGRAM}\ncases:\n  - name: sent\n    capture: {file: ${SLL2}, index: 4}\n    expect: {action: PASS}\n`);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`${r.file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4:\\d+: packet 4 of .*zeek--linux_dlt_sll2\\.pcap was sent by the capturing host \\(outgoing`));
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
    // Packet 3 of the same capture was received: it runs.
    const ok = runTest(dir, 'b.xdptest.yaml', `program: ${PROGRAM}\ncases:\n  - name: received\n    capture: {file: ${SLL2}, index: 3}\n    expect: {action: PASS}\n`);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('xdp-lens test: a capture case by filter or without index takes the first received packet, not an outgoing one', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-test-outgoing-'));
  try {
    const capture = join(dir, 'c.pcapng');
    writeFileSync(capture, pcapng([udpFrame(10), udpFrame(11), udpFrame(12), udpFrame(13)], new Set([0, 1])));
    const cases = (id: number) =>
      `program: ${PROGRAM}\ncases:\n  - name: first\n    capture: {file: ${capture}}\n    expect: {action: PASS, packet: {ip.id: ${id}}}\n` +
      `  - name: by filter\n    capture: {file: ${capture}, filter: udp}\n    expect: {action: PASS, packet: {ip.id: ${id}}}\n`;
    const r = runTest(dir, 'a.xdptest.yaml', cases(12));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /2 cases: 2 passed/);
    // The same cases expecting the first packet of the file (outgoing) fail: the check can tell them apart.
    const wrong = runTest(dir, 'b.xdptest.yaml', cases(10));
    assert.equal(wrong.status, 1, wrong.stdout + wrong.stderr);
    assert.match(wrong.stdout, /2 cases: 0 passed, 2 failed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
