// Packets the capturing host sent. `tcpdump -i any` writes Linux cooked captures holding both directions (packet type 4,
// PACKET_OUTGOING, for what the host sent), and a pcapng writer can mark a packet outbound in its epb_flags. XDP runs
// only on received frames, so the reader flags these (as tshark reads them) and `xdp-lens run` lists them without
// running them: a jsonl line with "notRun": "outgoing" and no action, a table row saying so, a count in the summary
// ("outgoingNotRun") and one note; `compare` leaves them out on both sides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../../simulator/net/capture.ts';
import { kernelVerifierUnavailable } from '../../simulator/analysis/verifier.ts';
import { REPO } from '../repo.ts';
import { pcapngBlock, pcapngSectionHeader } from './pcapng-outbound.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const haveTshark = spawnSync('tshark', ['--version']).status === 0;
const haveClang = spawnSync('clang', ['--version']).status === 0;

/** A UDP/IPv4 datagram 10.0.0.1:1234 -> 10.0.0.2:53 with 8 payload bytes, `id` in the IP identification. */
function ipv4Udp(id: number): Buffer {
  const b = Buffer.alloc(36, 0x61);
  b.set([0x45, 0, 0, 36, id >> 8, id & 0xff, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 0);
  b.writeUInt16BE(1234, 20);
  b.writeUInt16BE(53, 22);
  b.writeUInt16BE(16, 24);
  b.writeUInt16BE(0, 26);
  return b;
}

function cooked(lt: 113 | 276, pkttype: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(lt === 113 ? 16 : 20);
  if (lt === 113) {
    h.writeUInt16BE(pkttype, 0);
    h.writeUInt16BE(1, 2);
    h.writeUInt16BE(6, 4);
    h.set([0, 0x11, 0x22, 0x33, 0x44, 0x55], 6);
    h.writeUInt16BE(0x0800, 14);
  } else {
    h.writeUInt16BE(0x0800, 0);
    h.writeUInt32BE(2, 4);
    h.writeUInt16BE(1, 8);
    h[10] = pkttype;
    h[11] = 6;
    h.set([0, 0x11, 0x22, 0x33, 0x44, 0x55], 12);
  }
  return Buffer.concat([h, payload]);
}

function pcap(linkType: number, frames: Buffer[]): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [h];
  frames.forEach((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000, 0);
    r.writeUInt32LE(i * 1000, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    parts.push(r, f);
  });
  return Buffer.concat(parts);
}

/** A pcapng of Ethernet frames, each with an epb_flags option when `flags[i]` is a number. */
function pcapngWithFlags(frames: Buffer[], flags: (number | undefined)[]): Buffer {
  const block = pcapngBlock;
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(1, 0);
  const parts = [pcapngSectionHeader(), block(1, idb)];
  frames.forEach((f, i) => {
    const pad = (4 - (f.length % 4)) % 4;
    const fixed = Buffer.alloc(20);
    fixed.writeUInt32LE(0, 0);
    fixed.writeUInt32LE(0, 4);
    fixed.writeUInt32LE(1_000_000 + i, 8);
    fixed.writeUInt32LE(f.length, 12);
    fixed.writeUInt32LE(f.length, 16);
    const opts: Buffer[] = [];
    if (flags[i] !== undefined) {
      const o = Buffer.alloc(12);
      o.writeUInt16LE(2, 0);
      o.writeUInt16LE(4, 2);
      o.writeUInt32LE(flags[i]!, 4); // then opt_endofopt (4 zero bytes)
      opts.push(o);
    }
    parts.push(block(6, Buffer.concat([fixed, f, Buffer.alloc(pad), ...opts])));
  });
  return Buffer.concat(parts);
}

const eth = (payload: Buffer) => Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0]), payload]);

function outgoingOf(path: string): boolean[] {
  const r = openCapture(path);
  const out: boolean[] = [];
  try {
    for (let p; (p = r.next()); ) out.push(p.outgoing === true);
  } finally {
    r.close();
  }
  return out;
}

function tsharkField(path: string, field: string): string[] {
  const t = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', field], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  return t.stdout.split('\n').slice(0, -1);
}

// Packet types: 0 to us, 4 outgoing, 1 broadcast, 3 to another host (promiscuous: XDP sees it), 4 outgoing.
const TYPES = [0, 4, 1, 3, 4];

test('the reader flags what the capturing host sent: cooked packet type 4 and pcapng outbound, as tshark reads them', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-outgoing-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const lt of [113, 276] as const) {
    const path = join(dir, `any-${lt}.pcap`);
    writeFileSync(path, pcap(lt, TYPES.map((ty, i) => cooked(lt, ty, ipv4Udp(i)))));
    assert.deepEqual(outgoingOf(path), TYPES.map((ty) => ty === 4), `link type ${lt}`);
    if (haveTshark) assert.deepEqual(tsharkField(path, 'sll.pkttype').map(Number), TYPES);
  }
  // epb_flags: none, inbound (1), outbound (2), outbound with other bits (0x2 | FCS length 4 << 5), unknown direction (0).
  const flags = [undefined, 1, 2, 2 | (4 << 5), 0];
  const path = join(dir, 'flags.pcapng');
  writeFileSync(path, pcapngWithFlags(flags.map((_, i) => eth(ipv4Udp(i))), flags));
  assert.deepEqual(outgoingOf(path), [false, false, true, true, false]);
  if (haveTshark) {
    const dirs = tsharkField(path, 'frame.packet_flags_direction');
    assert.deepEqual(dirs.map((d) => Number(d) === 2), [false, false, true, true, false], `tshark: ${dirs.join(', ')}`);
  }
});

test('run lists outgoing packets without running them (jsonl, table, summary); compare leaves them out; a made-up Ethernet header is noted', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-outgoing-run-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const prog = join(dir, 'count.c');
  writeFileSync(
    prog,
    `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } seen SEC(".maps");
SEC("xdp") int count(struct xdp_md *ctx) {
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&seen, &k);
  if (v) __sync_fetch_and_add(v, 1);
  return XDP_DROP;
}
char LICENSE[] SEC("license") = "GPL";
`,
  );
  const cap = join(dir, 'any.pcap');
  writeFileSync(cap, pcap(276, TYPES.map((ty, i) => cooked(276, ty, ipv4Udp(i)))));
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'run', prog, cap, ...args], { encoding: 'utf8' });

  const j = run('--format', 'jsonl');
  assert.equal(j.status, 0, j.stderr);
  const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const pkts = lines.slice(0, -1);
  assert.deepEqual(pkts.map((p) => p.packet), [0, 1, 2, 3, 4], 'every record listed, numbered by its place in the capture');
  assert.deepEqual(pkts.map((p) => p.notRun ?? p.action), ['XDP_DROP', 'outgoing', 'XDP_DROP', 'XDP_DROP', 'outgoing']);
  for (const p of pkts.filter((p) => p.notRun)) {
    assert.equal(p.action, undefined, 'a packet not run has no action');
    assert.equal(p.len, 14 + 36);
    assert.match(p.summary, /10\.0\.0\.1/);
  }
  const sum = lines.at(-1).summary;
  assert.equal(sum.packets, 3, 'only the received packets ran');
  assert.equal(sum.actions.XDP_DROP, 3);
  assert.equal(sum.outgoingNotRun, 2);
  assert.deepEqual(lines.at(-1).mapsDecoded.seen, [{ key: '0', value: '3' }], 'the program ran three times');
  assert.equal(j.stderr.match(/sent by the capturing host/g)?.length, 1, `one note: ${j.stderr}`);
  assert.match(j.stderr, /note: packets captured as Linux cooked capture v2 \(SLL2, 276\) ran as Ethernet frames, with a 14-byte Ethernet header made from the cooked header/);
  assert.doesNotMatch(j.stderr, /tun/, 'a cooked capture came from a device with a link-layer header');

  // Raw IP: the header is made up, and the note says what a tun device's generic XDP is handed instead.
  const rawCap = join(dir, 'raw.pcap');
  writeFileSync(rawCap, pcap(101, [ipv4Udp(1), ipv4Udp(2)]));
  const raw = spawnSync(process.execPath, [CLI, 'run', prog, rawCap, '--format', 'summary'], { encoding: 'utf8' });
  assert.equal(raw.status, 0, raw.stderr);
  assert.equal(raw.stderr.match(/note: /g)?.length, 1, raw.stderr);
  assert.match(raw.stderr, /packets captured as raw IP \(101\) ran as Ethernet frames, with a 14-byte Ethernet header made up in front .*; on a tun, WireGuard or other IP-only device XDP \(generic mode\) is handed the IP packet at offset 0 instead/);

  const tab = run();
  assert.equal(tab.status, 0, tab.stderr);
  assert.equal(tab.stdout.match(/\(outgoing: not run\)/g)?.length, 2, tab.stdout);
  assert.match(tab.stdout, /^3 packets: XDP_DROP 3$/m);
  assert.match(tab.stdout, /2 packets were sent by the capturing host .* not run/);

  // With a filter the packets not run are not listed (the filter is over run results), but still counted.
  const f = run('--format', 'jsonl', '--filter', 'ip');
  assert.equal(f.status, 0, f.stderr);
  const fl = f.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(fl.slice(0, -1).map((p) => p.packet), [0, 2, 3]);
  assert.equal(fl.at(-1).summary.outgoingNotRun, 2);

  // compare: the kernel and the simulator each run the three received packets; rows keep their capture numbers.
  const why = kernelVerifierUnavailable();
  if (why) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(`kernel required but unavailable: ${why}`);
    return t.diagnostic(`compare not checked: ${why}`);
  }
  const c = spawnSync(process.execPath, [CLI, 'compare', prog, cap, '--format', 'json'], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr + c.stdout);
  const cr = JSON.parse(c.stdout);
  assert.deepEqual(cr.rows.map((r: { index: number; status: string }) => [r.index, r.status]), [[0, 'same'], [2, 'same'], [3, 'same']]);
  assert.ok(cr.maps.every((m: { equal: boolean }) => m.equal), JSON.stringify(cr.maps));
  assert.match(c.stderr, /2 packets were sent by the capturing host/);
});

test('a pcapng interface of a link type XDP never sees: its packets are listed, not run; the others run', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-otherlink-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const prog = join(dir, 'pass.c');
  writeFileSync(prog, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }\nchar LICENSE[] SEC("license") = "GPL";\n');
  const block = pcapngBlock;
  const idb = (lt: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(lt, 0);
    return block(1, b);
  };
  const epb = (ifc: number, data: Buffer) => {
    const fixed = Buffer.alloc(20);
    fixed.writeUInt32LE(ifc, 0);
    fixed.writeUInt32LE(1_000_000, 8);
    fixed.writeUInt32LE(data.length, 12);
    fixed.writeUInt32LE(data.length, 16);
    return block(6, Buffer.concat([fixed, data, Buffer.alloc((4 - (data.length % 4)) % 4)]));
  };
  // Interface 0 Ethernet, interface 1 802.11 with radiotap (an 8-byte radiotap header, then a 24-byte beacon header).
  const radiotap = Buffer.concat([Buffer.from([0, 0, 8, 0, 0, 0, 0, 0]), Buffer.from([0x80, 0, 0, 0, ...new Array(6).fill(0xff), 2, 0, 0, 0, 0, 9, 2, 0, 0, 0, 0, 9, 0, 0])]);
  const cap = join(dir, 'two.pcapng');
  writeFileSync(cap, Buffer.concat([pcapngSectionHeader(), idb(1), idb(127), epb(0, eth(ipv4Udp(1))), epb(1, radiotap), epb(0, eth(ipv4Udp(2)))]));
  // Read alone (without otherLinks), the 802.11 packet is an error naming the interface, as before.
  const r = openCapture(cap);
  assert.equal(r.next()?.index, 0);
  assert.throws(() => r.next(), /interface 1 has link type 127 \(802\.11 with radiotap\), which is not supported/);
  r.close();

  const j = spawnSync(process.execPath, [CLI, 'run', prog, cap, '--format', 'jsonl'], { encoding: 'utf8' });
  assert.equal(j.status, 0, j.stderr);
  const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.slice(0, -1).map((p) => [p.packet, p.action ?? p.notRun]), [[0, 'XDP_PASS'], [1, 'link type 127 (802.11 with radiotap)'], [2, 'XDP_PASS']]);
  assert.deepEqual([lines[1].len, lines[1].caplen], [radiotap.length, radiotap.length], 'its lengths as captured');
  const sum = lines.at(-1).summary;
  assert.deepEqual([sum.packets, sum.otherLinkNotRun, sum.actions.XDP_PASS], [2, 1, 2]);
  assert.match(j.stderr, /1 packet was captured on a pcapng interface of a link type XDP is never handed/);
  if (haveTshark) assert.equal(tsharkField(cap, 'frame.number').length, 3, 'tshark lists the three records too');

  // A classic pcap of 802.11 with radiotap: refused at its header, naming the file, the byte, the link type and what
  // XDP is handed on a Wi-Fi interface; exit 2.
  const classic = join(dir, 'wifi.pcap');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(127, 20);
  const rec = Buffer.alloc(16);
  rec.writeUInt32LE(1, 0);
  rec.writeUInt32LE(radiotap.length, 8);
  rec.writeUInt32LE(radiotap.length, 12);
  writeFileSync(classic, Buffer.concat([hdr, rec, radiotap]));
  const w = spawnSync(process.execPath, [CLI, 'run', prog, classic, '--format', 'summary'], { encoding: 'utf8' });
  assert.equal(w.status, 2, w.stderr);
  assert.match(w.stderr, /wifi\.pcap: byte offset 20: link type 127 \(802\.11 with radiotap\) is not supported; .*XDP on a Wi-Fi interface is handed the Ethernet frames/);
  assert.doesNotMatch(w.stderr, /pcapng|internal error|\n\s+at /);
});


test('a pcapng whose every packet is from interfaces of link types XDP never sees: run, diff and compare say no packet could run, exit 2', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-otherlink-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const prog = join(dir, 'pass.c');
  writeFileSync(prog, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }\nchar LICENSE[] SEC("license") = "GPL";\n');
  const idb = (lt: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(lt, 0);
    return pcapngBlock(1, b);
  };
  const epb = (ifc: number, data: Buffer) => {
    const fixed = Buffer.alloc(20);
    fixed.writeUInt32LE(ifc, 0);
    fixed.writeUInt32LE(1_000_000, 8);
    fixed.writeUInt32LE(data.length, 12);
    fixed.writeUInt32LE(data.length, 16);
    return pcapngBlock(6, Buffer.concat([fixed, data, Buffer.alloc((4 - (data.length % 4)) % 4)]));
  };
  const radiotap = Buffer.from([0, 0, 8, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, ...new Array(6).fill(0xff), 2, 0, 0, 0, 0, 9, 2, 0, 0, 0, 0, 9, 0, 0]);
  // Interface 0 802.11 with radiotap, interface 1 USB (Linux, 48-byte header): three packets, none Ethernet.
  const cap = join(dir, 'air.pcapng');
  writeFileSync(cap, Buffer.concat([pcapngSectionHeader(), idb(127), idb(220), epb(0, radiotap), epb(1, Buffer.alloc(64)), epb(0, radiotap)]));
  const want = /air\.pcapng: no packet could run: all 3 packets were captured on interfaces of link type 127 \(802\.11 with radiotap\), link type 220 .*which XDP is never handed/;
  for (const format of ['jsonl', 'summary', 'table']) {
    const r = spawnSync(process.execPath, [CLI, 'run', prog, cap, '--format', format], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${format}: ${r.stderr}`);
    assert.match(r.stderr, want, format);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    // The records are still listed (what the capture held), with the summary.
    if (format === 'jsonl') assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l)).map((p) => p.notRun ?? p.summary.packets), ['link type 127 (802.11 with radiotap)', 'link type 220 (Linux USB, memory-mapped)', 'link type 127 (802.11 with radiotap)', 0]);
  }
  // From standard input: named so.
  const s = spawnSync(process.execPath, [CLI, 'run', prog, '-', '--format', 'summary'], { encoding: 'utf8', input: readFileSync(cap) });
  assert.equal(s.status, 2, s.stderr);
  assert.match(s.stderr, /standard input: no packet could run/);
  const d = spawnSync(process.execPath, [CLI, 'diff', prog, prog, cap], { encoding: 'utf8' });
  assert.equal(d.status, 2, d.stderr);
  assert.match(d.stderr, want);
  const c = spawnSync(process.execPath, [CLI, 'compare', prog, cap], { encoding: 'utf8' });
  assert.equal(c.status, 2, c.stderr);
  assert.match(c.stderr, want);
  // One Ethernet packet among them: it runs, exit 0 (the others are a note, as before).
  const mixed = join(dir, 'mixed.pcapng');
  writeFileSync(mixed, Buffer.concat([pcapngSectionHeader(), idb(127), idb(1), epb(0, radiotap), epb(1, eth(ipv4Udp(1)))]));
  const m = spawnSync(process.execPath, [CLI, 'run', prog, mixed, '--format', 'summary'], { encoding: 'utf8' });
  assert.equal(m.status, 0, m.stderr);
  assert.doesNotMatch(m.stderr, /no packet could run/);
  if (haveTshark) assert.equal(tsharkField(cap, 'frame.number').length, 3, 'tshark reads the three records');
});
