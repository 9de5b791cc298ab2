// A TCP header the frame holds fewer bytes of than the header says, as tshark 4.0 shows it: under 16 bytes only the
// ports (an ICMP error's quote: the sequence number from 8 bytes on); from 16 bytes the numbers, header length, flags
// and window; the numbers relative to the stream, and tcp.seq_raw/ack_raw, where the snap length cut the frame; as
// sent, without the _raw fields, where the bytes just end (an ICMP quote, an IP packet whose stated length ends inside
// the header); nothing past the ports under 20 bytes when the IP header says more bytes than the frame holds. Frames
// cut at every length from 4 to 24 bytes of a 24-byte header, with and without ACK, IPv4 and IPv6, among whole
// segments of the same streams (tcp.len: what follows the header by its length, to the IP packet's end, cut or not); each field's values compared with tshark -T fields, frame by frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, treeFields, type PacketFacts } from '../../simulator/filter.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { haveTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const be32 = (v: number) => [...be16(v >>> 16), ...be16(v & 0xffff)];
const tcp = (sport: number, seq: number, ack: number, flags: number) => [...be16(sport), ...be16(80), ...be32(seq), ...be32(ack), 0x60, flags, 0x20, 0, 0, 0, 0, 0, 2, 4, 5, 0xb4, 1, 2, 3, 4];
const ip4 = (p: number[], proto = 6, len = 20 + p.length) => [0x45, 0, ...be16(len), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...p];
const ip6 = (p: number[], len = p.length) => [0x60, 0, 0, 0, ...be16(len), 6, 64, ...new Array(15).fill(0), 1, ...new Array(15).fill(0), 2, ...p];
const eth = (type: number, p: number[]) => [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, ...be16(type), ...p];

/** Each record: its bytes and its length on the wire. */
function records(): { data: number[]; orig: number }[] {
  const out: { data: number[]; orig: number }[] = [];
  let port = 1000;
  for (const flags of [0x12, 0x02, 0x10]) {
    for (let n = 4; n <= 24; n++) {
      port++;
      const whole4 = eth(0x0800, ip4(tcp(port, 5000 + n, 700, flags)));
      const whole6 = eth(0x86dd, ip6(tcp(port, 9000 + n, 800, flags)));
      out.push({ data: whole4, orig: whole4.length }); // the stream's first segment, whole
      out.push({ data: whole4.slice(0, 34 + n), orig: whole4.length }); // cut by the snap length
      out.push({ data: whole4.slice(0, 34 + n), orig: 34 + n }); // the IP header says more than the frame holds
      out.push({ data: eth(0x0800, ip4(tcp(port, 6000, 1, flags).slice(0, n))), orig: 0 }); // the IP packet ends there
      out.push({ data: whole6.slice(0, 54 + n), orig: whole6.length });
      out.push({ data: whole6.slice(0, 54 + n), orig: 54 + n });
      out.push({ data: eth(0x0800, ip4([3, 3, 0, 0, 0, 0, 0, 0, ...ip4(tcp(port, 5100, 900, flags)).slice(0, 20 + n)], 1)), orig: 0 }); // ICMP quote
      out.push({ data: whole4, orig: whole4.length });
    }
  }
  return out;
}

function pcap(recs: { data: number[]; orig: number }[]): Buffer {
  const parts = [Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex')];
  recs.forEach((r, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1_700_000_000 + i, 0);
    h.writeUInt32LE(r.data.length, 8);
    h.writeUInt32LE(r.orig || r.data.length, 12);
    parts.push(h, Buffer.from(r.data));
  });
  return Buffer.concat(parts);
}

const FIELDS = ['tcp.seq', 'tcp.ack', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.hdr_len', 'tcp.len', 'tcp.flags', 'tcp.window_size_value', 'tcp.srcport', 'tcp.flags.cwr', 'tcp.checksum', 'tcp.urgent_pointer'];

test('a TCP header cut short shows the fields tshark shows, relative or as sent as tshark does', { skip: !haveTshark && 'tshark is not installed' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-tcp-cut-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'cut.pcap');
  writeFileSync(path, pcap(records()));
  const facts: PacketFacts[] = [];
  const r = openCapture(path);
  for (let p; (p = r.next()); ) facts.push({ index: p.index, frame: p.frame.slice(), wireLen: p.wireLen, capLen: p.capLen, action: 'XDP_PASS', retval: 2 });
  r.close();
  const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', ...FIELDS.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  assert.equal(ts.status, 0, ts.stderr);
  const rows = ts.stdout.split('\n').slice(0, facts.length).map((l) => l.split('\t'));
  assert.equal(rows.length, facts.length);
  const wrong: string[] = [];
  let compared = 0;
  FIELDS.forEach((field, k) => {
    // Each value tshark shows (and presence): the frames a filter for it selects, in capture order (tcp.seq and
    // tcp.ack follow the streams).
    const theirs = rows.map((c) => (c[k] ? String(Number(c[k])) : ''));
    const values = new Set(theirs.filter(Boolean));
    for (const expr of [field, ...[...values].map((v) => `${field} == ${v}`)]) {
      const f = compileFilter(expr);
      const ours = facts.map((p) => f.test(p));
      const want = theirs.map((v) => (expr === field ? v !== '' : expr.endsWith(`== ${v}`) && v !== ''));
      compared += facts.length;
      const diff = ours.map((o, i) => (o !== want[i] ? i + 1 : 0)).filter(Boolean);
      if (diff.length) wrong.push(`${expr}: frames ${diff.slice(0, 10).join(' ')} (${diff.length}) differ from tshark`);
    }
  });
  // A display filter builds the tree tshark's fields come from in its own way: each field's presence by tshark -Y too.
  for (const field of FIELDS) {
    const y = spawnSync('tshark', ['-r', path, '-Y', field, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    const want = new Set(y.stdout.split('\n').filter(Boolean).map((n) => Number(n) - 1));
    const f = compileFilter(field);
    const diff = facts.filter((p) => f.test(p) !== want.has(p.index)).map((p) => p.index + 1);
    compared += facts.length;
    if (diff.length) wrong.push(`tshark -Y ${field}: frames ${diff.slice(0, 10).join(' ')} (${diff.length}) differ`);
  }
  assert.deepEqual(wrong, []);
  t.diagnostic(`${compared} frame x filter results against tshark`);
});

test('TCP options of a header cut short, zero bytes after End of Option List, IPv4 options: counted as tshark counts them', { skip: !haveTshark && 'tshark is not installed' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-tcp-opts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const recs = records();
  // Options then End of Option List and zero bytes or padding; IPv4 headers with Record Route, Router Alert, NOP, EOL.
  const withOpts = (opts: number[]) => {
    const h = [...be16(4000), ...be16(80), 0, 0, 0, 1, 0, 0, 0, 0, ((20 + opts.length) / 4) << 4, 0x02, 0x20, 0, 0, 0, 0, 0, ...opts];
    return eth(0x0800, ip4(h));
  };
  for (const opts of [[4, 2, 4, 2, 0, 0, 1, 0], [1, 2, 4, 5, 0xb4, 0, 0, 0], [8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0], [0, 0, 0, 0], [0, 7, 0, 0], [3, 3, 7, 0]]) {
    const w = withOpts(opts);
    recs.push({ data: w, orig: 0 }, { data: w.slice(0, 54 + opts.length - 3), orig: w.length }, { data: w.slice(0, 54 + opts.length - 3), orig: 0 });
  }
  for (const opts of [[7, 7, 4, 224, 0, 0, 5, 0], [148, 4, 0, 0], [1, 1, 1, 0], [7, 11, 8, 10, 0, 0, 1, 10, 0, 0, 2, 0]]) {
    const hl = 20 + opts.length;
    const h = [0x40 | (hl / 4), 0, ...be16(hl + 20), 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...opts];
    recs.push({ data: eth(0x0800, [...h, ...tcp(4001, 1, 1, 0x02).slice(0, 20)]), orig: 0 });
  }
  const path = join(dir, 'opts.pcap');
  writeFileSync(path, pcap(recs));
  const facts: PacketFacts[] = [];
  const r = openCapture(path);
  for (let p; (p = r.next()); ) facts.push({ index: p.index, frame: p.frame.slice(), wireLen: p.wireLen, capLen: p.capLen, action: 'XDP_PASS', retval: 2 });
  r.close();
  const FIELDS2 = ['tcp.option_kind', 'tcp.option_len', 'tcp.options.mss_val', 'ip.opt.type', 'ip.opt.len', 'ip.empty_rt', 'ip.rec_rt'];
  const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', ...FIELDS2.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  assert.equal(ts.status, 0, ts.stderr);
  const rows = ts.stdout.split('\n').slice(0, facts.length).map((l) => l.split('\t'));
  const wrong: string[] = [];
  let compared = 0;
  FIELDS2.forEach((field, k) => {
    const counts = rows.map((c) => (c[k] ? c[k]!.split(',').length : 0));
    for (const n of new Set(counts)) {
      const f = compileFilter(n ? `count(${field}) == ${n}` : `!${field}`);
      const diff = facts.filter((p, i) => f.test(p) !== (counts[i] === n)).map((p) => p.index + 1);
      compared += facts.length;
      if (diff.length) wrong.push(`${n} of ${field}: frames ${diff.slice(0, 10).join(' ')} (${diff.length}) differ from tshark`);
    }
    // The values in order, as the filter reads them from the layer tree.
    rows.forEach((c, i) => {
      const ours = (treeFields(facts[i]!.frame).get(field) ?? []).map((v) => (field.endsWith('_rt') ? [24, 16, 8, 0].map((b) => (Number(v) >>> b) & 255).join('.') : String(v))).join(',');
      compared++;
      if (ours !== (c[k] ?? '')) wrong.push(`frame ${i + 1}: ${field} ${ours}, tshark ${c[k]}`);
    });
  });
  assert.deepEqual(wrong.slice(0, 20), []);
  t.diagnostic(`${compared} results against tshark`);
});
