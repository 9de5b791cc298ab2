// A spanning tree BPDU cut short (by the snap length or its 802.3 length) is STP to tshark -Y only when the fields
// Wireshark reads first were captured: the 4-byte header, and for a configuration or RST BPDU (type 0 or 2) the
// fields up to the port identifier (27 bytes). `stp` selected every LLC frame to SAP 0x42 before (found on random
// captures). Expected selections written out; checked against tshark -Y when installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dissectTree } from '../../simulator/net/dissect-tree.ts';
import { agreeWithTshark } from './tshark-agree.ts';

/** An 802.3 frame to the STP group address holding LLC 42/42/03 and the first `n` bytes of a BPDU of `type`. */
function bpdu(type: number, n: number, opts: { pad?: boolean; vlan?: boolean } = {}): Uint8Array {
  const body = [0, 0, type === 2 ? 2 : 0, type, ...Array.from({ length: 36 }, (_, i) => i + 1)].slice(0, n);
  const llc = [0x42, 0x42, 0x03, ...body];
  const head = [1, 0x80, 0xc2, 0, 0, 0, 2, 0, 0, 0, 0, 2, ...(opts.vlan ? [0x81, 0, 0, 10] : []), llc.length >> 8, llc.length & 0xff];
  const f = [...head, ...llc];
  while (opts.pad && f.length < 60) f.push(0x55); // padding past the 802.3 length: not part of the BPDU
  return Uint8Array.from(f);
}
const FRAMES = [
  /* 0 */ bpdu(0, 3),
  /* 1 */ bpdu(0, 26),
  /* 2 */ bpdu(0, 27),
  /* 3 */ bpdu(2, 26),
  /* 4 */ bpdu(2, 36),
  /* 5 */ bpdu(0x80, 3),
  /* 6 */ bpdu(0x80, 4),
  /* 7 */ bpdu(0, 20, { pad: true }),
  /* 8 */ bpdu(0, 26, { vlan: true }),
  /* 9 */ bpdu(0, 35, { vlan: true }),
];
const CASES: [string, number[]][] = [
  ['stp', [2, 4, 6, 9]],
  ['llc.dsap == 0x42', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
  ['!stp && llc', [0, 1, 3, 5, 7, 8]],
];

test('a BPDU cut short is STP only once the fields Wireshark reads first are there, as tshark -Y selects', () => {
  // The packet tree names the same frames' STP layer (the editor's packet view and the tree fields).
  assert.deepEqual(FRAMES.flatMap((f, i) => (dissectTree(f).some((l) => l.key === 'stp') ? [i] : [])), CASES[0]![1]);
  agreeWithTshark(FRAMES, CASES);
});
