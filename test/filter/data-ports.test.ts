// `data`, `data.data` and `data.len` are tshark's bytes no dissector claims: a TCP or UDP payload on a port tshark
// hands to a dissector of its own (HTTP on 8080, NTP on 123, PPTP on 1723, syslog on 514, Telnet on 23, ...; the
// table of simulator/net/tshark-ports.ts, from `tshark -G decodes`) is not data, on any other port it is; a PPPoE
// discovery frame's tags are PPPoED's, not data. Each expression selects the frames tshark -Y selects.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const MACS = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
const ip4 = (proto: number, p: number[]) => [8, 0, 0x45, 0, ...be16(20 + p.length), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...p];
const ip6 = (proto: number, p: number[]) => [0x86, 0xdd, 0x60, 0, 0, 0, ...be16(p.length), proto, 64, ...new Array(15).fill(0), 1, ...new Array(15).fill(0), 2, ...p];
const udp = (s: number, d: number, body: number[]) => [...be16(s), ...be16(d), ...be16(8 + body.length), 0, 0, ...body];
const tcp = (s: number, d: number, body: number[]) => [...be16(s), ...be16(d), 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0x20, 0, 0, 0, 0, 0, ...body];
const BODY = [0x7f, 0x13, 0x55, 0xa0, 0x01, 0x02, 0x03, 0x04, 0x99, 0x88, 0x77, 0x66];
const frame = (b: number[]) => Uint8Array.from([...MACS, ...b]);

const FRAMES = [
  /* 0 */ frame(ip4(17, udp(40000, 40001, BODY))), // no dissector: data
  /* 1 */ frame(ip4(6, tcp(1234, 40000, BODY))), // data
  /* 2 */ frame(ip4(6, tcp(40000, 8080, BODY))), // HTTP
  /* 3 */ frame(ip4(17, udp(40000, 123, BODY))), // NTP
  /* 4 */ frame(ip4(6, tcp(1723, 40000, BODY))), // PPTP
  /* 5 */ frame(ip6(17, udp(514, 40000, BODY))), // syslog
  /* 6 */ frame(ip6(6, tcp(40001, 40000, BODY.slice(0, 5)))), // data
  /* 7 */ frame(ip4(6, tcp(23, 40000, BODY))), // Telnet
  /* 8 */ frame(ip4(6, tcp(40000, 40001, []))), // no payload
  /* 9 */ frame([0x88, 0x63, 0x11, 0x09, 0, 0, 0, 4, 1, 1, 0, 0, ...new Array(30).fill(0)]), // PPPoE discovery (PADI)
  /* 10 */ frame([0x88, 0x63, 0x11, 0x07, 0, 0x2a, 0, 0]), // PADO, no tags
];

test('data is the payload no dissector of tshark claims by port', () => {
  agreeWithTshark(FRAMES, [
    ['data', [0, 1, 6]],
    ['data.len == 12', [0, 1]],
    ['data.len == 5', [6]],
    ['data.data contains 7f:13', [0, 1, 6]],
    ['!data && (tcp.len > 0 || udp.length > 8)', [2, 3, 4, 5, 7]],
    ['pppoed', [9, 10]],
    ['pppoe.code == 9', [9]],
    ['pppoe.session_id == 42', [10]],
  ]);
});
