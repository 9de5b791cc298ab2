// ARP's item as tshark 4.0 has it when the frame ends inside the header: the bytes captured, from 2 bytes on (no arp
// at all under 2), for `arp == ...`, `arp != ...`, slices and `len(arp)`. Checked against tshark -Y when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const HEAD = [0x01, 0x00, 0x5e, 0, 0, 5, 2, 0, 0, 0, 0, 2, 0x08, 0x06];
const ARP = [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2];
const FRAMES = [4, 5, 1, 6, 8, 2, 14].map((n) => Uint8Array.from([...HEAD, ...ARP.slice(0, n)]));

test("a cut ARP header's item is the bytes captured, as tshark -Y selects", () => {
  agreeWithTshark(FRAMES, [
    ['arp', [0, 1, 3, 4, 5, 6]],
    ['arp != 40:08', [0, 1, 3, 4, 5, 6]],
    ['arp == 00:01:08:00', [0]],
    ['len(arp) == 4', [0]],
    ['len(arp) == 2', [5]],
    ['arp[0] == 00', [0, 1, 3, 4, 5, 6]],
    ['arp[-1:] == 00', [0]],
    ['arp contains 08', [0, 1, 3, 4, 6]],
  ]);
});
