// An 802.1Q tag cut short: from 2 bytes (its TCI) tshark 4.0 shows vlan, vlan.id, vlan.priority, vlan.dei and a
// 4-byte vlan item (len(vlan) == 4; a slice reaching the missing bytes has no value); under 2 bytes, only its name in
// frame.protocols. Checked against tshark -Y when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const MACS = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2];
const FRAMES = [
  /* 0 */ [...MACS, 0x91, 0x00, 0x30], // old QinQ TPID, 1 byte
  /* 1 */ [...MACS, 0x81, 0x00, 0x30], // 1 byte
  /* 2 */ [...MACS, 0x81, 0x00], // no byte
  /* 3 */ [...MACS, 0x81, 0x00, 0x00, 0x64], // TCI only: ID 100
  /* 4 */ [...MACS, 0x81, 0x00, 0xa0, 0x64, 0x08], // 3 bytes: priority 5, ID 100
  /* 5 */ [...MACS, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00, 0, 0], // a whole tag
].map((f) => Uint8Array.from(f));

test('an 802.1Q tag cut after its TCI has its fields and a 4-byte item, as tshark -Y selects', () => {
  agreeWithTshark(FRAMES, [
    ['vlan', [3, 4, 5]],
    ['vlan.id == 100', [3, 4, 5]],
    ['vlan.priority == 5', [4]],
    ['vlan.dei == 0', [3, 4, 5]],
    ['len(vlan) == 4', [3, 4, 5]],
    ['vlan > 00', [3, 4, 5]],
    ['vlan[0:2] == 00:64', [3, 5]],
    ['vlan[-1:] == 00', [5]],
    ['vlan contains 30', []],
    ['vlan.etype', [5]],
    ['frame.protocols contains "vlan"', [0, 1, 2, 3, 4, 5]],
  ]);
});
