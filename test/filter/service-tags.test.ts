// Two 802.1ad service tags in a row (TPID 0x88a8 twice): Wireshark dissects them as one ieee8021ad layer whose first
// ID is ieee8021ad.svid and second ieee8021ad.cvid (neither is ieee8021ad.id), the type after them ieee8021ah.etype.
// The expected selections are written out; with tshark installed they are checked against tshark -Y as well.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dissectTree } from '../../simulator/net/dissect-tree.ts';
import { agreeWithTshark } from './tshark-agree.ts';


const MACS = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2];
const tag = (tpid: number, tci: number) => [tpid >> 8, tpid & 0xff, tci >> 8, tci & 0xff];
const ipv4 = [0x08, 0x00, 0x45, 0, 0, 20, 0, 1, 0, 0, 64, 59, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
const FRAMES = [
  /* 0 */ [...MACS, ...tag(0x88a8, 0xf064), ...tag(0x88a8, 0x200a), ...tag(0x8100, 0x0064), ...ipv4], // S 100, C 10, then 802.1Q 100
  /* 1 */ [...MACS, ...tag(0x88a8, 0x000a), ...ipv4], // one service tag: ieee8021ad.id 10
  /* 2 */ [...MACS, ...tag(0x88a8, 0x0014), ...tag(0x88a8, 0x000a), ...tag(0x88a8, 0x0005), ...ipv4], // S 20 C 10, then a tag of ID 5
  /* 3 */ [...MACS, ...tag(0x8100, 0x000a), ...tag(0x88a8, 0x0007), ...tag(0x88a8, 0x0008), ...ipv4], // 802.1Q, then S 7 C 8
  /* 4 */ [...MACS, ...tag(0x88a8, 0x0014), 0x88, 0xa8, 0x00], // the second tag cut short
].map((f) => Uint8Array.from(f.length < 60 && f.length > 30 ? [...f, ...new Array<number>(60 - f.length).fill(0)] : f));

const CASES: [string, number[]][] = [
  ['ieee8021ad', [0, 1, 2, 3, 4]],
  ['ieee8021ad.id == 10', [1]],
  ['ieee8021ad.id == 5', [2]],
  ['ieee8021ad.svid == 100', [0]],
  ['ieee8021ad.svid', [0, 2, 3]],
  ['ieee8021ad.cvid == 10', [0, 2]],
  ['ieee8021ad.cvid == 8', [3]],
  ['ieee8021ad.priority == 7', [0]],
  ['ieee8021ad.priority == 1', [0]],
  ['ieee8021ad.dei == 1', [0]],
  ['ieee8021ah.etype == 0x8100', [0]],
  ['ieee8021ah.etype == 0x0800', [1, 2, 3]],
  ['ieee8021ah.etype == 0x88a8', [2]],
  ['vlan.etype == 0x88a8', [3]],
  ['ip', [0, 1, 2, 3]],
];

test('two 802.1ad tags in a row: one layer of S-VID and C-VID, as tshark -Y selects', () => {
  agreeWithTshark(FRAMES, CASES, 1_764_000_000);
  // The packet view: one layer of 8 bytes for the two tags.
  const layers = dissectTree(FRAMES[0]!);
  assert.deepEqual(layers.map((l) => l.key).slice(0, 4), ['eth', 'ieee8021ad', 'vlan', 'ip']);
  assert.equal(layers[1]!.length, 8);
  assert.equal(layers[1]!.summary, 'S-VID: 100, C-VID: 10');
});
