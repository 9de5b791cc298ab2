// `contains` on a MAC address field compares its 6 bytes, as Wireshark does (eth.addr contains 02:00, eth.dst contains
// 01:80:c2); the filter was refused before. Other address fields still refuse it, as tshark does (ip.src contains 0a),
// and `matches` does not take a MAC address. Expected selections written out; checked against tshark -Y when installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, FilterError } from '../../simulator/filter.ts';
import { agreeWithTshark } from './tshark-agree.ts';

const arp = [0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1, 0x02, 0xaa, 0xbb, 0, 0, 9, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2];
const FRAMES = [
  /* 0 */ Uint8Array.from([0x01, 0x80, 0xc2, 0, 0, 0x0e, 0x02, 0, 0, 0, 0, 0x02, ...arp]),
  /* 1 */ Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e, ...arp]),
  /* 2 */ Uint8Array.from([0x02, 0, 0, 0, 0, 0x01, 0x00, 0x1b, 0x21, 0x80, 0xc2, 0x00, ...arp]),
];
const CASES: [string, number[]][] = [
  ['eth.addr contains 02:00', [0, 2]],
  ['eth.dst contains 01:80:c2', [0]],
  ['eth.src contains 1b:21', [1, 2]],
  ['eth.addr contains 80:c2:00', [0, 2]],
  ['eth.src contains 00:1b:21:3c:4d:5e', [1]],
  ['arp.src.hw_mac contains aa:bb', [0, 1, 2]],
  ['!(eth.dst contains ff:ff)', [0, 2]],
];

test('contains on a MAC address field compares its bytes, as tshark -Y selects', () => {
  agreeWithTshark(FRAMES, CASES);
  assert.throws(() => compileFilter('ip.src contains 0a'), (e: unknown) => e instanceof FilterError && /'contains' works on .* and MAC addresses; ip\.src is an IPv4 address/.test(e.message));
  assert.throws(() => compileFilter('eth.dst matches "ff"'), (e: unknown) => e instanceof FilterError && /'matches' works on text fields .* and bytes \(frame, data\.data, tcp\.payload, \.\.\.\); eth\.dst is a MAC address/.test(e.message));
});
