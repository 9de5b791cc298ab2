// A TCP header whose header length is under 20 bytes (bogus), as tshark 4.0 shows it: the ports, the sequence number
// (relative: the segment's flags, which tshark does not show, still set the stream's base), tcp.seq_raw, the header
// length and tcp.len (what follows that many header bytes); no flags, acknowledgment number, window, checksum or
// urgent pointer. Filters on those selected such segments before.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const be32 = (v: number) => [...be16(v >>> 16), ...be16(v & 0xffff)];
/** Ethernet, IPv4 (stated length 60), 40 bytes of TCP from `sport` to 80 with this header length (bytes) and flags. */
function segment(sport: number, hlen: number, seq: number, flags: number): Uint8Array {
  const tcp = [...be16(sport), ...be16(80), ...be32(seq), ...be32(2000), (hlen / 4) << 4, flags, ...be16(512), 0xab, 0xcd, 0, 7, ...new Array(20).fill(0)];
  return Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, 0x45, 0, 0, 60, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...tcp]);
}

test('a TCP header length under 20: tshark 4.0\'s fields (no flags, ack, window), relative numbers and tcp.len', () => {
  const frames = [
    segment(1, 0, 1000, 0x10), // 0: bogus, ACK
    segment(1, 20, 1500, 0x10), // 1: whole header, same stream
    segment(1, 0, 1700, 0x10), // 2: bogus again
    segment(2, 16, 1800, 0x02), // 3: bogus SYN opening a stream: its base
    segment(3, 0, 1000, 0x10).slice(0, 34 + 16), // 4: bogus, 16 bytes of TCP in the frame
    segment(2, 20, 1801, 0x10), // 5: whole header after the bogus SYN
  ];
  agreeWithTshark(frames, [
    ['tcp.flags', [1, 5]],
    ['tcp.flags.ack == 1', [1, 5]],
    ['tcp.ack', [1, 5]],
    ['tcp.window_size_value', [1, 5]],
    ['tcp.checksum', [1, 5]],
    ['tcp.urgent_pointer', [1, 5]],
    ['tcp.hdr_len < 20', [0, 2, 3, 4]],
    ['tcp.seq == 1', [0, 4, 5]],
    ['tcp.seq == 501', [1]],
    ['tcp.seq == 701', [2]],
    ['tcp.seq == 0', [3]],
    ['tcp.seq_raw == 1000', [0, 4]],
    ['tcp.len == 40', [0, 2]],
    ['tcp.len == 24', [3]],
    ['tcp.len == 16', [4]],
    ['tcp.len == 20', [1, 5]],
  ]);
});
