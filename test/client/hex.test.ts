// The packet detail document: hex diff with change markers, and the sections around it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeChanges, renderHexDiff, renderPacketDetail } from '../../client/hex.ts';
import type { PacketDetail } from '../../server/protocol.ts';

test('changed rows show before and after with a marker under each changed byte; unchanged rows one line', () => {
  const before = '00'.repeat(20);
  const after = '00'.repeat(2) + 'ff' + '00'.repeat(15) + 'aa' + '00';
  const rows = renderHexDiff(before, after, [[2, 3], [18, 19]]);
  assert.equal(rows.length, 6, rows.join('\n'));
  const [b0, a0, m0, b1, a1, m1] = rows;
  assert.equal(b0, '0000  - 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00');
  assert.equal(a0, '      + 00 00 ff 00 00 00 00 00 00 00 00 00 00 00 00 00');
  assert.equal(m0!.indexOf('^^'), a0!.indexOf('ff'));
  assert.equal(m0!.split('^^').length, 2);
  assert.ok(b1!.startsWith('0010  - '));
  assert.equal(m1!.indexOf('^^'), a1!.indexOf('aa'));
  assert.deepEqual(renderHexDiff('0102', '0102', []), ['0000    01 02']);
});

test('a longer packet after the program: the new bytes are marked', () => {
  assert.deepEqual(renderHexDiff('0102', '010203', [[2, 3]]), ['0000  - 01 02', '      + 01 02 03', '              ^^']);
  // A shorter one (adjust_tail shrink) shows both rows without markers.
  assert.deepEqual(renderHexDiff('010203', '0102', []), ['0000  - 01 02 03', '      + 01 02']);
});

test('change summaries', () => {
  assert.equal(describeChanges([], 60, 60), 'no bytes changed');
  assert.equal(describeChanges([[0, 6], [34, 35]], 74, 74), 'bytes 0-5, 34 changed (7 bytes)');
  assert.equal(describeChanges([[0, 1]], 60, 46), 'bytes 0 changed (1 byte); length 60 → 46');
});

test('the detail document has the verdict, the bytes, printk, map updates and the executed lines', () => {
  const d: PacketDetail = {
    index: 1, time: '0.250017', summary: 'IP 10.0.0.1 > 10.0.0.2: ICMP echo request', action: 'XDP_TX', retval: 3,
    file: '/src/xdp_filter.c', line: 140, path: 'xdp_tx', lines: [{ file: '/src/xdp_filter.c', line: 139 }, { file: '/src/xdp_filter.c', line: 140 }],
    before: '0800', after: '0000', changed: [[0, 1]], printk: ['hello'], maps: [{ map: 'proto_count', key: '06000000', before: '00', after: '01' }],
  };
  const text = renderPacketDetail(d, (_f, l) => (l === 140 ? '\treturn icmp_echo_reply(eth, ip, icmp);' : undefined));
  assert.match(text, /^Packet #1 {2}0\.250017 s {2}IP 10\.0\.0\.1/);
  assert.match(text, /XDP_TX \(return value 3\) at xdp_filter\.c:140; driver path xdp_tx/);
  assert.match(text, /Bytes: bytes 0 changed \(1 byte\)/);
  assert.match(text, /printk \(1\):\n {2}hello/);
  assert.match(text, /proto_count\[06000000\]: 00 -> 01/);
  // With the server's decoded form, that line leads and the bytes follow.
  const decoded = renderPacketDetail({ ...d, maps: [{ ...d.maps[0]!, text: 'proto_count[6] 0 -> 1' }] });
  assert.match(decoded, /\n {2}proto_count\[6\] 0 -> 1 {4}\(hex proto_count\[06000000\]: 00 -> 01\)/);
  assert.match(text, /xdp_filter\.c:139\n {2}xdp_filter\.c:140 {2}return icmp_echo_reply/);
  assert.ok(!/warning:/.test(text));
  assert.match(renderPacketDetail({ ...d, error: 'capture changed' }), /warning: capture changed/);
  assert.ok(!/undefined value/.test(text));
  const u = renderPacketDetail({ ...d, uninitStackRead: { line: 9, message: 'insn 0 reads 8 byte(s) at r10-64 ...' } });
  assert.match(u, /\nundefined value at line 9: insn 0 reads 8 byte\(s\) at r10-64/);
});
