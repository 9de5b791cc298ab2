// IPv6's bytes as a display filter sees them (len(ipv6), ipv6[i:n], ipv6 == ...): the item covers the fixed header and
// the extension headers up to the upper layer, but in a fragment after the first (offset > 0) only the fixed 40
// bytes, as tshark 4.0 with README's settings (no reassembly) gives them. `contains` still searches to the end.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const MACS = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const udp = (body: number[]) => [...be16(40000), ...be16(40001), ...be16(8 + body.length), 0, 0, ...body];
const ip6 = (next: number, p: number[]) => [0x60, 0, 0, 0, ...be16(p.length), next, 64, ...Array(15).fill(0), 1, ...Array(15).fill(0), 2, ...p];
/** A fragment header: next header, offset in 8-byte units, more-fragments flag, identification. */
const frag = (next: number, off: number, more: number, id: number) => [next, 0, ...be16((off << 3) | more), 0, 0, 0, id];
const hopByHop = (next: number) => [next, 0, 1, 4, 0, 0, 0, 0];
const frame = (b: number[]) => Uint8Array.from([...MACS, 0x86, 0xdd, ...b]);

const FRAMES = [
  /* 0 */ frame(ip6(17, udp([9, 9]))),
  /* 1 */ frame(ip6(0, [...hopByHop(17), ...udp([9, 9])])),
  /* 2 */ frame(ip6(44, [...frag(17, 0, 1, 1), ...udp(Array(16).fill(9))])), // first fragment
  /* 3 */ frame(ip6(44, [...frag(17, 3, 0, 2), ...Array(16).fill(5)])), // a later fragment
  /* 4 */ frame(ip6(0, [...hopByHop(44), ...frag(17, 3, 1, 3), ...Array(16).fill(5)])),
  /* 5 */ frame(ip6(44, [...frag(17, 0, 0, 4), ...udp([9, 9])])), // atomic fragment
];
const PREFS = ['-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE'];

test('the bytes of an IPv6 header with extension headers, in fragments too', () => {
  agreeWithTshark(
    FRAMES,
    [
      ['len(ipv6) == 40', [0, 3, 4]],
      ['len(ipv6) == 48', [1, 2, 5]],
      ['ipv6[40:1]', [1, 2, 5]],
      ['ipv6[-1:] == 02', [0, 3, 4]],
      ['ipv6 contains 05:05', [3, 4]],
      ['ipv6 == ipv6', [0, 1, 2, 3, 4, 5]],
      ['ipv6 > udp', [0, 1, 2, 5]],
    ],
    0,
    PREFS,
  );
});
