// Packets whose Ethernet header the capture did not hold (raw IP, loopback, NFLOG: made up; Linux cooked: made from
// the cooked header). jsonl says which ("linkType", "ethernetHeader", after the fields every line has), the summary
// counts them (ethernetHeaderMadeUp), the table says it under the first row of each run of such rows, the note says
// how many of how many. A record with nothing after its link-layer header (raw IP of 0 bytes, a loopback or cooked
// header alone, NFLOG with an empty payload) is no packet: tshark finds no IP header in it, and `run` lists it as too
// short, not run, in every format, instead of running a bare made-up header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { pcapngBlock, pcapngSectionHeader } from './pcapng-outbound.ts';
import { readAll } from './read-all.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const haveTshark = spawnSync('tshark', ['--version']).status === 0;

const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] SEC("license") = "GPL";
`;

/** A UDP/IPv4 datagram 10.0.0.1:1234 -> 10.0.0.2:53 with 8 payload bytes. */
function ipv4Udp(): Buffer {
  const b = Buffer.alloc(36, 0x61);
  b.set([0x45, 0, 0, 36, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 0);
  b.writeUInt16BE(1234, 20);
  b.writeUInt16BE(53, 22);
  b.writeUInt16BE(16, 24);
  return b;
}
const ether = (p: Buffer) => Buffer.concat([Buffer.from('02000000000102000000000208 00'.replace(/ /g, ''), 'hex'), p]);
function sll(proto: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(1, 2);
  h.writeUInt16BE(6, 4);
  h.set([0, 0x11, 0x22, 0x33, 0x44, 0x55], 6);
  h.writeUInt16BE(proto, 14);
  return Buffer.concat([h, payload]);
}
function sll2(proto: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(proto, 0);
  h.writeUInt32BE(2, 4);
  h.writeUInt16BE(1, 8);
  h[11] = 6;
  return Buffer.concat([h, payload]);
}
const loop = (p: Buffer) => Buffer.concat([Buffer.from([2, 0, 0, 0]), p]);
/** An NFLOG record (AF_INET) whose payload TLV holds `p`. */
function nflog(p: Buffer): Buffer {
  const tlv = Buffer.alloc(4);
  tlv.writeUInt16LE(4 + p.length, 0);
  tlv.writeUInt16LE(9, 2);
  return Buffer.concat([Buffer.from([2, 0, 0, 0]), tlv, p, Buffer.alloc((4 - (p.length % 4)) % 4)]);
}

function pcap(linkType: number, records: { data: Buffer; orig?: number }[]): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [h];
  records.forEach((r, i) => {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1_700_000_000, 0);
    rh.writeUInt32LE(i, 4);
    rh.writeUInt32LE(r.data.length, 8);
    rh.writeUInt32LE(r.orig ?? r.data.length, 12);
    parts.push(rh, r.data);
  });
  return Buffer.concat(parts);
}

/** A pcapng section of one interface per link type in `links`, then each [interface, bytes] as an EPB. */
function pcapng(links: number[], packets: [number, Buffer][]): Buffer {
  const parts = [pcapngSectionHeader()];
  for (const lt of links) {
    const idb = Buffer.alloc(8);
    idb.writeUInt16LE(lt, 0);
    idb.writeUInt32LE(262144, 4);
    parts.push(pcapngBlock(1, idb));
  }
  packets.forEach(([iface, d], i) => {
    const fixed = Buffer.alloc(20);
    fixed.writeUInt32LE(iface, 0);
    fixed.writeUInt32LE(1_000 + i, 8);
    fixed.writeUInt32LE(d.length, 12);
    fixed.writeUInt32LE(d.length, 16);
    parts.push(pcapngBlock(6, Buffer.concat([fixed, d, Buffer.alloc((4 - (d.length % 4)) % 4)])));
  });
  return Buffer.concat(parts);
}

function setup(t: { after: (f: () => void) => void }): { dir: string; src: string } {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-made-header-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'pass.c');
  writeFileSync(src, SRC);
  return { dir, src };
}

const run = (src: string, path: string, args: string[], input?: Buffer) =>
  spawnSync('node', [CLI, 'run', src, path, ...args], { encoding: 'utf8', input, maxBuffer: 1 << 26 });

test('jsonl names the packets whose Ethernet header was made (a mixed-link pcapng), the same from a file and a pipe; summary and table say it', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  const { dir, src } = setup(t);
  // Interfaces: Ethernet, raw IP, SLL, BSD loopback, SLL2, NFLOG.
  const file = join(dir, 'mixed.pcapng');
  writeFileSync(file, pcapng([1, 101, 113, 0, 276, 239], [
    [0, ether(ipv4Udp())], [1, ipv4Udp()], [2, sll(0x0800, ipv4Udp())], [3, loop(ipv4Udp())], [2, sll(0x0003, ether(ipv4Udp()))],
    [4, sll2(0x0800, ipv4Udp())], [5, nflog(ipv4Udp())], [0, ether(ipv4Udp())], [1, ipv4Udp()],
  ]));
  const want: [number, string][] = [[-1, ''], [101, 'made up'], [113, 'from cooked header'], [0, 'made up'], [-1, ''], [276, 'from cooked header'], [239, 'made up'], [-1, ''], [101, 'made up']];
  const outs: string[] = [];
  for (const [path, input, extra] of [[file, undefined, []], ['-', readFileSync(file), []], [file, undefined, ['--data']]] as const) {
    const r = run(src, path, ['--program', 'pass', '--format', 'jsonl', ...extra], input);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const rows = lines.slice(0, -1).map((l) => JSON.parse(l));
    assert.equal(rows.length, want.length);
    rows.forEach((row, i) => {
      const [lt, origin] = want[i]!;
      assert.equal(row.action, 'XDP_PASS', `packet ${i}`);
      assert.equal(row.linkType, lt < 0 ? undefined : lt, `packet ${i} linkType`);
      assert.equal(row.ethernetHeader, origin || undefined, `packet ${i} ethernetHeader`);
      // The fields every line has come first, in their order; the new ones after them.
      const keys = Object.keys(row);
      assert.deepEqual(keys.slice(0, 8), ['packet', 'ts', 'len', 'caplen', 'summary', 'action', 'outcome', 'retval'], `packet ${i}`);
      if (lt >= 0) assert.deepEqual(keys.filter((k) => k !== 'data').slice(-2), ['linkType', 'ethernetHeader'], `packet ${i}`);
    });
    const s = JSON.parse(lines.at(-1)!).summary;
    assert.equal(s.ethernetHeaderMadeUp, 6);
    assert.match(r.stderr, /note: 6 of 9 packets, captured as BSD loopback \(NULL, 0\): 1, raw IP \(101\): 2, Linux cooked capture v1 \(SLL, 113\): 1, Linux netfilter log \(NFLOG, 239\): 1, Linux cooked capture v2 \(SLL2, 276\): 1, ran as Ethernet frames/);
    if (!extra.length) outs.push(r.stdout);
  }
  assert.equal(outs[0], outs[1], 'file (batched) and pipe give the same lines');

  const table = run(src, file, ['--program', 'pass']);
  assert.equal(table.status, 0, table.stderr);
  const notes = table.stdout.split('\n').filter((l) => /^ {8}captured as /.test(l));
  assert.deepEqual(notes.map((l) => l.trim()), [
    'captured as raw IP (101): Ethernet header made up (README "Captures")',
    'captured as Linux cooked capture v1 (SLL, 113): Ethernet header made from the cooked header (README "Captures")',
    'captured as BSD loopback (NULL, 0): Ethernet header made up (README "Captures")',
    'captured as Linux cooked capture v2 (SLL2, 276): Ethernet header made from the cooked header (README "Captures")',
    'captured as Linux netfilter log (NFLOG, 239): Ethernet header made up (README "Captures")',
    'captured as raw IP (101): Ethernet header made up (README "Captures")',
  ]);

  // An all-raw capture: the note says so once, the table once (under its first row).
  const raw = join(dir, 'raw.pcap');
  writeFileSync(raw, pcap(101, [{ data: ipv4Udp() }, { data: ipv4Udp() }, { data: ipv4Udp() }]));
  const rt = run(src, raw, ['--program', 'pass']);
  assert.equal(rt.status, 0, rt.stderr);
  assert.equal((rt.stdout.match(/captured as raw IP \(101\)/g) ?? []).length, 1);
  assert.match(rt.stderr, /note: packets captured as raw IP \(101\) ran as Ethernet frames, with a 14-byte Ethernet header made up in front/);
  // Ethernet only: no new field, no count, no note.
  const eth = join(dir, 'eth.pcap');
  writeFileSync(eth, pcap(1, [{ data: ether(ipv4Udp()) }]));
  const re = run(src, eth, ['--program', 'pass', '--format', 'jsonl']);
  assert.equal(re.status, 0, re.stderr);
  assert.doesNotMatch(re.stdout, /linkType|ethernetHeader/);
  assert.doesNotMatch(re.stderr, /made up/);
});

test('a record with nothing after its link-layer header is too short, not run, in every format (tshark finds no IP header in it)', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  const { dir, src } = setup(t);
  const empty = Buffer.alloc(0);
  const cases: [string, Buffer][] = [
    ['raw', pcap(101, [{ data: ipv4Udp() }, { data: empty }, { data: empty, orig: 40 }])],
    ['raw4', pcap(228, [{ data: ipv4Udp() }, { data: empty }])],
    ['null', pcap(0, [{ data: loop(ipv4Udp()) }, { data: loop(empty) }])],
    ['sll', pcap(113, [{ data: sll(0x0800, ipv4Udp()) }, { data: sll(0x0800, empty) }, { data: sll(0x0003, empty) }])],
    ['sll2', pcap(276, [{ data: sll2(0x86dd, empty) }, { data: sll2(0x0800, ipv4Udp()) }])],
    ['nflog', pcap(239, [{ data: nflog(empty) }, { data: nflog(ipv4Udp()) }])],
  ];
  for (const [name, bytes] of cases) {
    const file = join(dir, `${name}.pcap`);
    writeFileSync(file, bytes);
    // The reader: an empty frame for each empty record.
    const { packets, error } = readAll(file);
    assert.equal(error, undefined, name);
    const empties = packets.filter((p) => p.frame.length === 0).length;
    assert.ok(empties >= 1, name);
    packets.forEach((p) => assert.ok(p.frame.length === 0 || p.frame.length >= 14 + 36, `${name} packet ${p.index}: ${p.frame.length} bytes`));
    if (haveTshark) {
      // tshark names the IP dissector it tried (null:ip), but it finds no IP header: no version field.
      const ts = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'occurrence=f', '-e', 'ip.version', '-e', 'ipv6.version'], { encoding: 'utf8' });
      assert.equal(ts.status, 0, ts.stderr);
      const versions = ts.stdout.split('\n').slice(0, packets.length);
      packets.forEach((p, i) => assert.equal(/\d/.test(versions[i]!), p.frame.length > 0, `${name} packet ${i}: tshark's IP version '${versions[i]}'`));
    }
    const j = run(src, file, ['--program', 'pass', '--format', 'jsonl']);
    assert.equal(j.status, 0, j.stderr);
    const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const rows = lines.slice(0, -1);
    rows.forEach((row, i) => {
      const isEmpty = packets[i]!.frame.length === 0;
      assert.equal(row.notRun, isEmpty ? 'too short' : undefined, `${name} packet ${i}`);
      assert.equal(row.caplen, isEmpty ? 0 : 50, `${name} packet ${i}`);
      assert.equal(row.ethernetHeader === undefined, isEmpty, `${name} packet ${i}: no header said for an empty record`);
    });
    const s = lines.at(-1).summary;
    assert.equal(s.lengthNotRun, empties, name);
    assert.equal(s.packets, packets.length - empties, name);
    assert.equal(s.ethernetHeaderMadeUp, packets.length - empties, name);
    const table = run(src, file, ['--program', 'pass']);
    assert.equal((table.stdout.match(/\(too short: not run\)/g) ?? []).length, empties, name);
    const summary = run(src, file, ['--program', 'pass', '--format', 'summary']);
    assert.equal(JSON.parse(summary.stdout).summary.lengthNotRun, empties, name);
  }
});
