// Display filter fields of the capture record rather than the frame: frame.interface_id (pcapng only),
// frame.time / frame.time_epoch / frame.time_relative / frame.time_delta, and the Linux cooked header's sll.* fields.
// The expected selections are written out (the test runs without tshark); with tshark installed each is also checked
// against tshark -Y on the same file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, filterError, recordFacts, recordTime, type PacketFacts } from '../../simulator/filter.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { pcapngBlock, pcapngSectionHeader } from '../net/pcapng-outbound.ts';
import { classicPcap } from '../net/pcap-file.ts';
import { REPO } from '../repo.ts';

const haveTshark = spawnSync('tshark', ['--version']).status === 0;
const haveClang = spawnSync('clang', ['--version']).status === 0;

const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const ipv4 = [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x04, 0xd2, 0x00, 0x35, 0, 8, 0, 0];
const eth = Uint8Array.from([2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, 0x08, 0x00, ...ipv4]);
/** SLL (v1): packet type, address type, address length, 8 address bytes, protocol. */
const sll = (pkttype: number, hatype: number, addr: number[], proto: number, payload: number[] = ipv4) =>
  Uint8Array.from([...be16(pkttype), ...be16(hatype), ...be16(addr.length), ...[...addr, 0, 0, 0, 0, 0, 0, 0, 0].slice(0, 8), ...be16(proto), ...payload]);
/** SLL2: protocol, reserved, ifindex, address type, packet type, address length, 8 address bytes. */
const sll2 = (pkttype: number, ifindex: number, proto: number) =>
  Uint8Array.from([...be16(proto), 0, 0, 0, 0, ...be16(ifindex), ...be16(1), pkttype, 6, 2, 0, 0, 0, 0, 0x0c, 0, 0, ...ipv4]);

/** An interface description block: link type, snap length 0, an if_tsresol option when given. */
function idb(linkType: number, tsresol?: number): Buffer {
  const b = Buffer.alloc(tsresol === undefined ? 8 : 20);
  b.writeUInt16LE(linkType, 0);
  if (tsresol !== undefined) {
    b.writeUInt16LE(9, 8);
    b.writeUInt16LE(1, 10);
    b[12] = tsresol;
  }
  return pcapngBlock(1, b);
}
/** An enhanced packet block; `flags` an epb_flags option (1 inbound, 2 outbound). */
function epb(iface: number, ticks: bigint, data: Uint8Array, flags?: number): Buffer {
  const fixed = Buffer.alloc(20);
  fixed.writeUInt32LE(iface, 0);
  fixed.writeUInt32LE(Number(ticks >> 32n), 4);
  fixed.writeUInt32LE(Number(ticks & 0xffffffffn), 8);
  fixed.writeUInt32LE(data.length, 12);
  fixed.writeUInt32LE(data.length, 16);
  const opt = Buffer.alloc(flags === undefined ? 0 : 12);
  if (flags !== undefined) {
    opt.writeUInt16LE(2, 0);
    opt.writeUInt16LE(4, 2);
    opt.writeUInt32LE(flags, 4);
  }
  return pcapngBlock(6, Buffer.concat([fixed, Buffer.from(data), Buffer.alloc((4 - (data.length % 4)) % 4), opt]));
}
/** A simple packet block (interface 0, no timestamp). */
function spb(data: Uint8Array): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(data.length, 0);
  return pcapngBlock(3, Buffer.concat([b, Buffer.from(data), Buffer.alloc((4 - (data.length % 4)) % 4)]));
}

// Section 1: interface 0 Ethernet in ns, 1 SLL in us, 2 SLL2 in ms; section 2 restarts the interface numbering.
const T = 1_764_000_000n;
const NG = Buffer.concat([
  pcapngSectionHeader(), idb(1, 9), idb(113), idb(276, 3),
  /* 0 */ epb(0, T * 1_000_000_000n + 500_000_000n, eth),
  /* 1 */ epb(1, T * 1_000_000n + 700_000n, sll(0, 1, [2, 0, 0, 0, 0, 0x0c], 0x0800)),
  /* 2 */ epb(2, (T + 2n) * 1000n, sll2(1, 7, 0x0800)),
  /* 3 */ epb(0, (T + 2n) * 1_000_000_000n + 1n, eth, 2), // outbound: not reported, but the next packet's delta counts from it
  /* 4 */ epb(1, (T + 1n) * 1_000_000n, sll(4 - 4 + 2, 772, [], 0x86dd, [0x60, 0, 0, 0, 0, 0, 59, 64, ...new Array<number>(32).fill(0)])), // earlier than the packet before
  /* 5 */ spb(eth), // no timestamp: no time fields; the next packet's delta counts from 0
  /* 6 */ epb(2, (T + 5n) * 1000n, sll2(0, 9, 0x86dd)),
  pcapngSectionHeader(), idb(113, 6),
  /* 7 */ epb(0, (T + 6n) * 1_000_000n, sll(3, 778, [192, 0, 2, 1], 0x0800)), // a GRE device: sll.gretype, sll.src.ipv4
  /* 8 */ epb(0, (T + 6n) * 1_000_000n + 1n, sll(0, 1, [1, 2, 3, 4, 5, 6, 7, 8], 4, [0x42, 0x42, 0x03, 0, 0, 0, 0, 0])), // 8-byte address, 802.2 LLC
]);
// A classic pcap has no interface ids (frame.interface_id is absent in Wireshark too).
const CLASSIC = classicPcap([
  { data: eth, sec: 1_764_000_000, usec: 250_000 },
  { data: eth, sec: 1_764_000_003, usec: 0 },
]);

const CASES: [string, number[], number[]][] = [
  // [expression, selection in the pcapng, selection in the classic pcap] (0-based records; 3, outbound, never)
  ['frame.interface_id == 0', [0, 5, 7, 8], []],
  ['frame.interface_id == 2', [2, 6], []],
  ['frame.interface_id', [0, 1, 2, 4, 5, 6, 7, 8], []],
  ['frame.time_epoch > 1764000002', [6, 7, 8], [1]],
  ['frame.time_epoch == 1764000000.5', [0], []],
  ['frame.time_epoch >= 1764000000.7 && frame.time_epoch < 1764000002.000000001', [1, 2, 4], []],
  ['frame.time_relative == 0', [0], [0]],
  ['frame.time_relative > 1.4', [2, 6, 7, 8], [1]],
  ['frame.time_relative < 0.6', [0, 1, 4], [0]],
  ['frame.time_delta < 0', [4], []],
  ['frame.time_delta > 1000000', [6], []],
  ['frame.time_delta == 0.000001', [8], []],
  ['frame.time_delta == 0', [0], [0]],
  ['frame.time', [0, 1, 2, 4, 6, 7, 8], [0, 1]],
  ['frame.time_relative', [0, 1, 2, 4, 6, 7, 8], [0, 1]],
  ['frame.time >= "2025-11-24 16:00:02Z"', [2, 6, 7, 8], [1]],
  ['frame.time < "Nov 24, 2025 16:00:00.7 UTC"', [0], [0]],
  ['frame.time == "2025-11-24T16:00:00.500000000Z"', [0], []],
  ['frame.time > "2025-11-24 16:00:05 UTC"', [7, 8], []],
  ['frame.time_relative == frame.time_delta', [0, 1], [0, 1]],
  ['sll', [1, 2, 4, 6, 7, 8], []],
  ['sll.pkttype == 1', [2], []],
  ['sll.pkttype == 3 && sll.gretype == 0x0800', [7], []],
  ['sll.hatype == 772', [4], []],
  ['sll.halen == 0', [4], []],
  ['sll.src.eth == 02:00:00:00:00:0c', [1, 2, 6], []],
  ['sll.src.ipv4 == 192.0.2.1', [7], []],
  ['sll.src.other == 01:02:03:04:05:06:07:08', [8], []],
  ['sll.unused == 00:00', [1, 2, 6], []],
  ['sll.unused == 00:00:00:00', [7], []],
  ['sll.etype == 0x86dd', [4, 6], []],
  ['sll.etype', [1, 2, 4, 6], []],
  ['sll.ltype == 4', [8], []],
  ['sll.ifindex == 9', [6], []],
  ['sll.ifindex', [2, 6], []],
  ['!sll', [0, 5], [0, 1]],
];

/** Each record's facts as `xdp-lens run` gives them to a filter; undefined for an outbound one (not reported). */
function facts(path: string): (PacketFacts | undefined)[] {
  const out: (PacketFacts | undefined)[] = [];
  const r = openCapture(path, { otherLinks: true });
  let first: bigint | undefined;
  let prev: bigint | undefined;
  for (let p; (p = r.next()); ) {
    first ??= recordTime(p);
    const rec = recordFacts(p, r.format === 'pcapng', first, prev);
    prev = recordTime(p);
    out.push(p.outgoing ? undefined : { index: p.index, frame: p.frame, wireLen: p.wireLen, capLen: p.capLen, action: 'XDP_PASS', retval: 2, ...rec });
  }
  r.close();
  return out;
}

test('frame.interface_id, frame.time*, sll.*: the records tshark -Y selects, pcapng (2 sections, 3 link types) and classic pcap', () => {
  const tz = process.env.TZ;
  process.env.TZ = 'UTC';
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-record-fields-'));
  try {
    const ng = join(dir, 'r.pcapng');
    const pc = join(dir, 'r.pcap');
    writeFileSync(ng, NG);
    writeFileSync(pc, CLASSIC);
    const fs = { ng: facts(ng), pc: facts(pc) };
    assert.equal(fs.ng.length, 9);
    for (const [expr, wantNg, wantPc] of CASES) {
      const f = compileFilter(expr);
      for (const [which, want] of [['ng', wantNg], ['pc', wantPc]] as const) {
        const got = fs[which].flatMap((p, i) => (p && f.test(p) ? [i] : []));
        assert.deepEqual(got, want, `${expr} on the ${which === 'ng' ? 'pcapng' : 'classic pcap'}`);
        if (!haveTshark) continue;
        const t = spawnSync('tshark', ['-r', which === 'ng' ? ng : pc, '-Y', expr, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
        assert.equal(t.status, 0, t.stderr);
        const theirs = t.stdout.split('\n').filter(Boolean).map((n) => Number(n) - 1).filter((i) => fs[which][i] !== undefined);
        assert.deepEqual(theirs, want, `tshark -Y '${expr}' on the ${which === 'ng' ? 'pcapng' : 'classic pcap'}`);
      }
    }
  } finally {
    process.env.TZ = tz;
    if (tz === undefined) delete process.env.TZ;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('frame.time without Z or UTC is local time, as tshark reads it', () => {
  const tz = process.env.TZ;
  try {
    const p: PacketFacts = { index: 0, frame: eth, wireLen: eth.length, capLen: eth.length, action: 'XDP_PASS', retval: 2, tsNs: 1_764_000_005_000_000_000n };
    process.env.TZ = 'America/New_York'; // UTC-5 in November
    assert.ok(compileFilter('frame.time == "Nov 24, 2025 11:00:05"').test(p));
    assert.ok(compileFilter('frame.time == "2025-11-24 16:00:05 UTC"').test(p));
    assert.ok(!compileFilter('frame.time == "2025-11-24 16:00:05"').test(p));
    process.env.TZ = 'UTC';
    assert.ok(compileFilter('frame.time == "2025-11-24 16:00:05"').test(p));
    // Out-of-range days roll over as mktime's do (Nov 31 is Dec 1); a date alone is its midnight.
    assert.ok(compileFilter('frame.time < "2025-11-31 00:00:00"').test(p));
    assert.ok(compileFilter('frame.time > "2025-11-24"').test(p));
  } finally {
    process.env.TZ = tz;
    if (tz === undefined) delete process.env.TZ;
  }
});

test('time values tshark refuses are refused, naming the value', () => {
  const refused: [string, RegExp][] = [
    ['frame.time_relative > 1.1234567891', /a time in seconds/],
    ['frame.time_relative > 0x5', /a time in seconds/],
    ['frame.time_relative > 1e0', /a time in seconds/],
    ['frame.time_relative > "5"', /a time in seconds/],
    ['frame.time > 1764000005', /a quoted date and time/],
    ['frame.time > "Nov 24 2025 16:00:05"', /a quoted date and time/],
    ['frame.time > "2025-13-24 16:00:05"', /a quoted date and time/],
    ['frame.time > "2025-11-24 16:00:05z"', /a quoted date and time/],
    ['frame.time contains "Nov"', /'contains' works on text fields/],
    ['frame.time_relative[0] == 0', /cannot be sliced/],
    ['frame.time_delta & 1', /bitwise and of a number field/],
  ];
  for (const [expr, why] of refused) {
    const e = filterError(expr);
    assert.ok(e, `${expr} is refused`);
    assert.match(e.message, why, expr);
    if (haveTshark) assert.notEqual(spawnSync('tshark', ['-Y', expr, '-r', '/dev/null']).status, 0, `tshark refuses ${expr} too`);
  }
  for (const ok of ['frame.time_relative > -1.5', 'frame.time > " 2025-11-24  16:00:05 "', 'frame.time > "nov 24, 2025 16:00:05.5"', 'frame.time > "2025-11-24T16:00"'])
    assert.equal(filterError(ok), undefined, ok);
});

test('xdp-lens run --filter on record fields: an outbound record still counts for the next packet\'s frame.time_delta', { skip: !haveClang && 'clang is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-record-fields-'));
  try {
    const ng = join(dir, 'r.pcapng');
    writeFileSync(ng, NG);
    const run = (expr: string) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'run', 'examples/xdp_filter.c', ng, '--format', 'jsonl', '--filter', expr], { cwd: REPO, encoding: 'utf8', timeout: 120_000, env: { ...process.env, TZ: 'UTC' } });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n').slice(0, -1).map((l) => (JSON.parse(l) as { packet: number }).packet);
    };
    assert.deepEqual(run('frame.time_delta < 0'), [4]);
    assert.deepEqual(run('frame.interface_id == 2 || sll.pkttype == 3'), [2, 6, 7]);
    assert.deepEqual(run('frame.time_relative > 1.5 && !sll'), []);
    assert.deepEqual(run('frame.time > "2025-11-24 16:00:05" && sll.src.other'), [8]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
