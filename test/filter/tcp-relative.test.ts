// tcp.seq and tcp.ack relative to the TCP stream, as tshark shows them by default (tcp.relative_sequence_numbers):
// per stream and direction a base taken from the first segment seen (its sequence number at a SYN, less one
// otherwise; or the other way's first acknowledgment number less one), set again by a SYN, a new stream when a SYN
// brings another sequence number, acknowledgment numbers as sent without ACK, the numbers as sent in the TCP header an
// ICMP error quotes. Checked against tshark -Y / -T fields on made-up streams, on seeded random ones (streams
// interleaved, IPv4 and IPv6, random flags, ports reused, ICMP quotes), on the shared captures, and through
// `xdp-lens run --filter`, where a packet not run (outgoing) still moves the stream's base as it does in tshark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter } from '../../simulator/filter.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { agreeWithTshark, haveTshark } from './tshark-agree.ts';
import { classicPcap } from '../net/pcap-file.ts';
import { pcapngWithDirections } from '../net/pcapng-outbound.ts';
import { REPO } from '../repo.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const SHARED = join(REPO, '..', 'shared', 'captures');

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const be32 = (v: number) => [...be16(v >>> 16), ...be16(v & 0xffff)];

/** Ethernet + IPv4 or IPv6 + a 20-byte TCP header (and `payload` bytes). */
function seg(src: number[], dst: number[], sport: number, dport: number, seq: number, ack: number, flags: number, payload = 0): Uint8Array {
  const tcp = [...be16(sport), ...be16(dport), ...be32(seq >>> 0), ...be32(ack >>> 0), 0x50, flags, 0xff, 0xff, 0, 0, 0, 0, ...new Array(payload).fill(0x61)];
  if (src.length === 16) {
    return Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd, 0x60, 0, 0, 0, ...be16(tcp.length), 6, 64, ...src, ...dst, ...tcp]);
  }
  return Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, 0x45, 0, ...be16(20 + tcp.length), 0, 1, 0, 0, 64, 6, 0, 0, ...src, ...dst, ...tcp]);
}

/** An ICMP port unreachable from 10.9.9.9 quoting the first 28 bytes of an IPv4 frame's packet. */
function icmpQuote(frame: Uint8Array): Uint8Array {
  const icmp = [3, 3, 0, 0, 0, 0, 0, 0, ...frame.subarray(14, 14 + 28)];
  return Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, 0x45, 0, ...be16(20 + icmp.length), 0, 1, 0, 0, 64, 1, 0, 0, 10, 9, 9, 9, 10, 0, 0, 1, ...icmp]);
}

const A = [10, 0, 0, 1];
const B = [10, 0, 0, 2];

// A handshake with a SYN whose acknowledgment field is not 0, a RST without ACK, the port used again by a new SYN, a
// stream joined midway, a sequence number before its base (modulo 2^32), a FIN and another SYN after it, an ICMP quote.
const FRAMES = [
  /* 0 */ seg(A, B, 1000, 80, 5000, 777, 0x02),
  /* 1 */ seg(B, A, 80, 1000, 9000, 5001, 0x12),
  /* 2 */ seg(A, B, 1000, 80, 5001, 9001, 0x18, 5),
  /* 3 */ seg(B, A, 80, 1000, 9001, 5006, 0x04),
  /* 4 */ seg(A, B, 1000, 80, 7000, 0, 0x02),
  /* 5 */ seg(B, A, 80, 1000, 100, 7001, 0x12),
  /* 6 */ seg(A, B, 1000, 80, 7001, 101, 0x10),
  /* 7 */ seg(A, B, 2000, 80, 123456, 0, 0x10),
  /* 8 */ seg(B, A, 80, 2000, 50, 123456, 0x18, 1),
  /* 9 */ seg(A, B, 2000, 80, 10, 20, 0x00),
  /* 10 */ seg(A, B, 1000, 80, 7001, 101, 0x11),
  /* 11 */ seg(A, B, 1000, 80, 8000, 0, 0x02),
  /* 12 */ icmpQuote(seg(A, B, 2000, 80, 123500, 1, 0x10)),
];

const CASES: [string, number[]][] = [
  ['tcp.seq == 0', [0, 1, 4, 5, 11]],
  ['tcp.seq == 1', [2, 3, 6, 7, 10]],
  ['tcp.seq == 51', [8]],
  ['tcp.seq == 4294843851', [9]],
  ['tcp.seq == 123500', [12]],
  ['tcp.ack == 777', [0]],
  ['tcp.ack == 1', [1, 2, 5, 6, 7, 8, 10]],
  ['tcp.ack == 5006', [3]],
  ['tcp.ack == 20', [9]],
  ['tcp.ack == 0', [4, 11]],
  ['tcp.seq > 1 && tcp.seq < 100', [8]],
  ['tcp.seq_raw == 5001 && tcp.seq == 1', [2]],
  // Only the relative numbers select: a filter that evaluates tcp.seq on some frames still follows them all.
  ['udp || tcp.seq == 1', [2, 3, 6, 7, 10]],
  ['tcp.flags.syn == 1 || tcp.ack == 1', [0, 1, 2, 4, 5, 6, 7, 8, 10, 11]],
];

test('tcp.seq and tcp.ack are relative to the stream: made-up streams select what tshark -Y selects', () => {
  agreeWithTshark(FRAMES, CASES);
});

/** A seeded random stream mix: streams over IPv4 and IPv6, random flags, new initial numbers, ICMP quotes. */
function randomFrames(seed: number, n: number): Uint8Array[] {
  let x = seed >>> 0 || 1;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const int = (k: number) => Math.floor(rnd() * k);
  const u32 = () => (int(65536) * 65536 + int(65536)) >>> 0;
  const v4 = [[10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 3]];
  const v6 = [1, 2].map((i) => [0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), i]);
  const streams = Array.from({ length: 6 }, () => {
    const hosts = rnd() < 0.3 ? v6 : v4;
    const a = int(hosts.length);
    return { a: hosts[a]!, b: hosts[(a + 1 + int(hosts.length - 1)) % hosts.length]!, sport: [1000, 2000, 3000][int(3)]!, dport: [80, 443][int(2)]!, isnA: u32(), isnB: u32() };
  });
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = streams[int(streams.length)]!;
    const fwd = rnd() < 0.5;
    const r = rnd();
    const flags = r < 0.1 ? 0x02 : r < 0.15 ? 0x12 : r < 0.2 ? 0x04 : r < 0.25 ? 0x11 : r < 0.3 ? int(256) : [0x10, 0x18][int(2)]!;
    if (r < 0.05) s.isnA = u32();
    const seq = (fwd ? s.isnA : s.isnB) + int(3000);
    const ack = rnd() < 0.9 ? (fwd ? s.isnB : s.isnA) + int(3000) : u32();
    let f = fwd ? seg(s.a, s.b, s.sport, s.dport, seq, ack, flags, int(20)) : seg(s.b, s.a, s.dport, s.sport, seq, ack, flags, int(20));
    if (s.a.length === 4 && rnd() < 0.05) f = icmpQuote(f);
    out.push(f);
  }
  return out;
}

/** Frames of `path` where XDP Lens's `field == v` and tshark's value of `field` disagree, for every value tshark shows. */
function disagreements(path: string, frames: Uint8Array[], field: string, wires: number[] = []): { values: number; frames: number; differ: string[] } {
  const t = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', field], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(t.status, 0, t.stderr);
  const theirs = t.stdout.split('\n').slice(0, frames.length).map((l) => l.split(',')[0]!);
  const differ: string[] = [];
  const values = new Set(theirs.filter(Boolean));
  for (const v of values) {
    const f = compileFilter(`${field} == ${v}`);
    frames.forEach((frame, index) => {
      // The length on the wire: a header the snap length cut keeps relative numbers (test/filter/tcp-cut).
      const ours = f.test({ index, frame, wireLen: wires[index] ?? frame.length, capLen: frame.length, action: 'XDP_PASS', retval: 2 });
      if (ours !== (theirs[index] === v)) differ.push(`${path} frame ${index + 1}: ${field} == ${v} ours ${ours}, tshark ${theirs[index] || 'none'}`);
    });
  }
  return { values: values.size, frames: theirs.filter(Boolean).length, differ };
}

test('tcp.seq and tcp.ack agree with tshark on every frame of random stream mixes and of the shared captures', (t) => {
  if (!haveTshark) return t.skip('tshark is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-tcp-rel-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const inputs: { path: string; frames: Uint8Array[]; wires?: number[] }[] = [];
  for (const seed of [1, 2, 3]) {
    const frames = randomFrames(seed, 120);
    const path = join(dir, `random-${seed}.pcap`);
    writeFileSync(path, classicPcap(frames.map((data, i) => ({ data, sec: i }))));
    inputs.push({ path, frames });
  }
  if (existsSync(SHARED)) {
    for (const name of readdirSync(SHARED).filter((n) => /\.pcap(ng)?$/.test(n)).sort()) {
      const path = join(SHARED, name);
      const frames: Uint8Array[] = [];
      const wires: number[] = [];
      const r = openCapture(path);
      try {
        for (let p; (p = r.next()); ) frames.push(p.frame.slice()), wires.push(p.wireLen);
      } finally {
        r.close();
      }
      inputs.push({ path, frames, wires });
    }
  } else t.diagnostic(`${SHARED} is absent: random streams only`);
  let counted = 0;
  for (const { path, frames, wires } of inputs) {
    for (const field of ['tcp.seq', 'tcp.ack']) {
      const d = disagreements(path, frames, field, wires);
      counted += d.frames;
      assert.deepEqual(d.differ.slice(0, 10), [], `${path} ${field}`);
    }
  }
  assert.ok(counted > 900, `${counted} values compared`);
});

test('run --filter follows the streams through packets it does not run (outgoing), as tshark does', (t) => {
  if (!haveTshark) return t.skip('tshark is not installed');
  if (!existsSync(CLI)) return t.skip('dist/ is missing: run npm run build');
  if (spawnSync('clang', ['--version']).status !== 0) return t.skip('clang is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-tcp-rel-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'pass.c');
  writeFileSync(src, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *c) { return XDP_PASS; }\nchar _l[] SEC("license") = "GPL";\n');
  // The SYN and the third segment were sent by the capturing host: the SYN-ACK's acknowledgment and every later number
  // count from the SYN's.
  const frames = [seg(A, B, 1000, 80, 5000, 0, 0x02), seg(B, A, 80, 1000, 9000, 5001, 0x12), seg(A, B, 1000, 80, 5001, 9001, 0x10), seg(B, A, 80, 1000, 9001, 5001, 0x18, 10), seg(A, B, 1000, 80, 5001, 9011, 0x10)];
  const path = join(dir, 'out.pcapng');
  writeFileSync(path, pcapngWithDirections(frames, new Set([0, 2])));
  for (const [expr, want] of [['tcp.ack == 1', [1, 3]], ['tcp.seq == 1', [3, 4]], ['tcp.ack == 11', [4]], ['tcp.seq == 0', [1]]] as const) {
    const r = spawnSync('node', [CLI, 'run', src, path, '--format', 'jsonl', '--filter', expr], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((j) => j.packet !== undefined).map((j) => j.packet);
    assert.deepEqual(got, want, expr);
    const ts = spawnSync('tshark', ['-r', path, '-Y', expr, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    // tshark selects the outgoing frames too; those XDP Lens does not run (and so lists for no filter).
    assert.deepEqual(ts.stdout.split('\n').filter(Boolean).map((n) => Number(n) - 1).filter((i) => i !== 0 && i !== 2), [...want], `tshark -Y '${expr}'`);
  }
});

test('run --filter: an outgoing segment the snap length cut inside its TCP header still sets its stream\'s base, as in tshark', (t) => {
  if (!haveTshark) return t.skip('tshark is not installed');
  if (!existsSync(CLI)) return t.skip('dist/ is missing: run npm run build');
  if (spawnSync('clang', ['--version']).status !== 0) return t.skip('clang is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-tcp-rel-cut-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'pass.c');
  writeFileSync(src, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *c) { return XDP_PASS; }\nchar _l[] SEC("license") = "GPL";\n');
  // No SYN: the stream's base is the first segment's number less one, and the first segment is outgoing and cut after
  // 16..19 of its 20 header bytes (tshark still reads its sequence number there); under 16 it has none.
  for (const n of [12, 16, 19]) {
    const first = seg(A, B, 1000, 80, 7000, 9001, 0x18, 10);
    const frames = [first.slice(0, 34 + n), seg(A, B, 1000, 80, 7010, 9001, 0x18, 10), seg(A, B, 1000, 80, 7020, 9001, 0x10)];
    const path = join(dir, `cut${n}.pcapng`);
    writeFileSync(path, pcapngWithDirections(frames, new Set([0]), [first.length]));
    for (const expr of ['tcp.seq == 1', 'tcp.seq == 11', 'tcp.seq == 21']) {
      const r = spawnSync('node', [CLI, 'run', src, path, '--format', 'jsonl', '--filter', expr], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const got = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((j) => j.packet !== undefined).map((j) => j.packet);
      const ts = spawnSync('tshark', ['-r', path, '-Y', expr, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
      assert.deepEqual(got, ts.stdout.split('\n').filter(Boolean).map((x) => Number(x) - 1).filter((i) => i !== 0), `${n} header bytes: ${expr}`);
    }
  }
});
