// The bytes after a packet's end, as tshark -Y splits them (found on the shared pptp and arp-who-has captures): the
// bytes up to 60 are padding (eth.padding) only when they are all zeros, else they start the trailer; in a frame of
// 64 bytes or more the last 4 bytes after the packet are taken for the FCS (eth.fcs), and what lies between is the
// trailer; after a VLAN tag the trailer (vlan.trailer) keeps its last 4 bytes (no FCS guessed). Expected selections written out; checked against tshark -Y
// when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const ARP = [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2];
const eth = (type: number, body: number[]) => Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, type >> 8, type & 255, ...body]);
const zeros = (n: number) => new Array<number>(n).fill(0);
const FRAMES = [
  /* 0 */ eth(0x0806, [...ARP, ...zeros(18)]),
  /* 1 */ eth(0x0806, [...ARP, ...zeros(17), 1]),
  /* 2 */ eth(0x0806, [...ARP, 1, ...zeros(17)]),
  /* 3 */ eth(0x0806, [...ARP, ...zeros(18), ...new Array(10).fill(0xaa)]),
  /* 4 */ eth(0x0806, [...ARP, ...zeros(17), 1, ...new Array(10).fill(0xaa)]),
  /* 5 */ eth(0x0806, [...ARP, ...zeros(28)]),
  /* 6 */ eth(0x0806, [...ARP, 1, 1, 1, 1]),
  /* 7 */ eth(0x0806, [...ARP, ...zeros(22)]),
  /* 8 */ eth(0x8100, [0, 5, 8, 6, ...ARP, ...zeros(13), 0x55]),
  /* 9 */ eth(0x8100, [0, 5, 8, 6, ...ARP, ...zeros(14), 1, 2, 3, 4, 5, 6]),
  /* 10 */ eth(0x0806, [...ARP, ...zeros(18), 0xde, 0xad, 0xbe, 0xef]),
];
const CASES: [string, number[]][] = [
  ['eth.padding', [0, 3, 5, 7, 9, 10]],
  ['eth.trailer', [1, 2, 3, 4, 5, 6]],
  ['eth.fcs', [3, 4, 5, 7, 10]],
  ['eth.fcs == 0xaaaaaaaa', [3, 4]],
  ['eth.fcs == 0xdeadbeef', [10]],
  ['eth.trailer == 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01', [1]],
  ['eth.trailer contains aa:aa', [3, 4]],
  ['len(eth.trailer) == 24', [4]],
  ['len(eth.padding) == 18', [0, 3, 5, 7, 10]],
  ['vlan.trailer', [8, 9]],
  ['arp', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
];

test('padding, trailer and FCS after the packet select the frames tshark -Y selects', () => {
  agreeWithTshark(FRAMES, CASES);
});
