// Packets captured shorter than on the wire (a snap length: `tcpdump -s 96`, `-i any -s 10`) run on the captured
// bytes only, as BPF_PROG_TEST_RUN runs them; a program that checks its bounds takes its short-packet path there, so
// the verdict need not be the whole frame's. `run` says so in every format: jsonl marks the packet ("truncated": true)
// and a note on stderr says what it means (jsonl and summary), the table shows the captured and wire lengths under
// the row and the same note at the end. Classic pcap (read in place), pcapng and Linux cooked records alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { pcapngBlock, pcapngSectionHeader } from '../net/pcapng-outbound.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const PROG = join(REPO, 'examples', 'xdp_filter.c');
const noClang = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed: `xdp-lens run` cannot build examples/xdp_filter.c';

/** An Ethernet/IPv4/UDP frame of 60 bytes to port 9999. */
function udpFrame(): Buffer {
  const f = Buffer.alloc(60);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
  f.set([0x45, 0, 0, 46, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  f.writeUInt16BE(1234, 34);
  f.writeUInt16BE(9999, 36);
  f.writeUInt16BE(26, 38);
  return f;
}

/** Classic pcap, microseconds, little-endian: records of [captured bytes, wire length]. */
function pcap(linkType: number, recs: [Buffer, number][]): Buffer {
  const h = Buffer.from('d4c3b2a1020004000000000000000000ffff000000000000', 'hex');
  h.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [h];
  recs.forEach(([d, wire], i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000, 0);
    r.writeUInt32LE(i, 4);
    r.writeUInt32LE(d.length, 8);
    r.writeUInt32LE(wire, 12);
    parts.push(r, d);
  });
  return Buffer.concat(parts);
}

function pcapng(recs: [Buffer, number][]): Buffer {
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(1, 0);
  const parts: Buffer[] = [pcapngSectionHeader(), pcapngBlock(1, idb)];
  for (const [d, wire] of recs) {
    const b = Buffer.alloc(20 + ((d.length + 3) & ~3));
    b.writeUInt32LE(0, 0);
    b.writeUInt32LE(d.length, 12);
    b.writeUInt32LE(wire, 16);
    d.copy(b, 20);
    parts.push(pcapngBlock(6, b));
  }
  return Buffer.concat(parts);
}

/** A Linux cooked (v1) header, received unicast from an Ethernet device, before `p` of EtherType 0x0800. */
const sll = (p: Buffer) => Buffer.concat([Buffer.from('0000000100060211223344550000' + '0800', 'hex'), p]);

function run(file: string, format: string) {
  const r = spawnSync(process.execPath, [CLI, 'run', PROG, file, '--format', format], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('packets cut by the snap length: marked, explained in a note in every format, and the table shows both lengths', { skip: noClang }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-snap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const whole = udpFrame();
  const files = {
    'eth.pcap': pcap(1, [[whole.subarray(0, 20), 60], [whole, 60]]),
    'eth.pcapng': pcapng([[whole.subarray(0, 20), 60], [whole, 60]]),
    'sll.pcap': pcap(113, [[sll(whole.subarray(14, 20)), 62], [sll(whole.subarray(14)), 62]]),
  };
  for (const [name, bytes] of Object.entries(files)) {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    const j = run(file, 'jsonl');
    assert.equal(j.status, 0, `${name}: ${j.stderr}`);
    const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].truncated, true, name);
    assert.equal(lines[0].caplen, 20, name);
    assert.equal(lines[0].len, 60, name);
    assert.equal(lines[1].truncated, undefined, name);
    assert.equal(lines[2].summary.truncated, 1, name);
    const note = /note: 1 packet was captured shorter than on the wire \(snap length; jsonl "truncated": true\) and ran on the captured bytes only, as BPF_PROG_TEST_RUN runs them: where the program reads past them it takes its short-packet path, so the verdict may not be the whole frame's/;
    assert.match(j.stderr, note, `${name} jsonl`);
    const s = run(file, 'summary');
    assert.equal(s.status, 0, `${name}: ${s.stderr}`);
    assert.match(s.stderr, note, `${name} summary`);
    const tb = run(file, 'table');
    assert.equal(tb.status, 0, `${name}: ${tb.stderr}`);
    const rows = tb.stdout.split('\n');
    const first = rows.findIndex((l) => /^\s+0\s/.test(l));
    assert.ok(first > 0, tb.stdout);
    assert.equal(rows[first + 1], '        captured 20 of 60 bytes (snap length): ran on those', `${name}: ${tb.stdout}`);
    // (A cooked capture's first row also says where its Ethernet header came from.)
    const next = rows.slice(first + 2).find((l) => !/^ {8}captured as /.test(l));
    assert.match(next!, /^\s+1\s/, `${name}: the whole packet has no such line\n${tb.stdout}`);
    assert.match(tb.stdout, /^1 packet was captured shorter than on the wire \(snap length; jsonl "truncated": true\) and ran on the captured bytes only/m);
  }
});
