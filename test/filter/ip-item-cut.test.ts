// IPv4's item as tshark 4.0 has it, for `ip[...]`, `ip == ...` and `len(ip)`: as long as the header length its first
// byte states (IHL x 4), whatever the version and however few bytes the capture holds; a slice reaching a byte that
// is not there has no value (`ip[-1:]` of a cut header). contains/matches still see the bytes captured. Checked
// against tshark -Y when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const ETH = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
const IP = [0x45, 0, 0, 0x28, 0, 1, 0x40, 0, 0x40, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
const TCP = [0x1f, 0x90, 0, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 2, 0, 0, 0, 0, 0];
/** An Ethernet frame whose IPv4 header starts with `first` (version and IHL), cut after `keep` bytes of it. */
const frame = (first: number, keep = 40) => Uint8Array.from([...ETH, first, ...IP.slice(1), ...TCP].slice(0, 14 + keep));
const FRAMES = [
  /* 0 */ frame(0x44), // IHL 4: a bogus 16-byte header
  /* 1 */ frame(0x55), // version 5, IHL 5
  /* 2 */ frame(0x41), // IHL 1
  /* 3 */ frame(0x40), // IHL 0
  /* 4 */ frame(0x44, 12), // IHL 4, 12 bytes captured
  /* 5 */ frame(0x55, 3), // version 5, 3 bytes captured
  /* 6 */ frame(0x47, 20), // IHL 7 (28 bytes), 20 captured
  /* 7 */ frame(0x45, 1), // 1 byte captured
  /* 8 */ frame(0x45), // a whole header
];

test("len(ip) and slices of ip are tshark's IPv4 item: the stated header length, bytes cut off have no value", () => {
  agreeWithTshark(FRAMES, [
    ['len(ip) == 0', [3]],
    ['len(ip) == 4', [2]],
    ['len(ip) == 16', [0, 4]],
    ['len(ip) == 20', [1, 5, 7, 8]],
    ['len(ip) == 28', [6]],
    ['ip[-1:] == 02', [1, 8]],
    ['ip[-1:] != 02', [0, 2, 3, 4, 5, 6, 7]],
    ['ip[18:2] != 00:02', [0, 2, 3, 4, 5, 7]],
    ['ip[3] == 28', [0, 1, 2, 4, 6, 8]],
    ['ip[0:4] == 44:00:00:28', [0, 4]],
    ['ip > 00', [0, 1, 2, 4, 5, 6, 7, 8]],
    ['ip contains 0a:00', [0, 1, 2, 3, 6, 8]],
    ['ip == ip', [0, 1, 2, 3, 4, 5, 6, 7, 8]],
  ]);
});
