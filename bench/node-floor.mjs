// What Node itself costs per packet on `xdp-lens run`'s path, with no XDP Lens code at all (issue 12's floor; run by
// bench/whole-path.ts, which times it as it times the CLI: the same command on a one-packet capture subtracted):
//   node bench/node-floor.mjs walk|jsonl CAPTURE.pcap
// - walk: read the classic pcap in 192 KiB blocks with readSync (the CLI's read buffer size), walk its records (a record
//   cut by a block's end is moved to the front and the rest read after it), count packets and bytes;
// - jsonl: the same walk, and per packet a fixed jsonl line of the CLI's shape (~230 bytes) copied into a 256 KiB output
//   block written to stdout with writeSync when full (the CLI's OUT_BLOCK): the least any jsonl writer can do.
// Prints 'packets N bytes B' on stderr.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

const [mode, path] = process.argv.slice(2);
if ((mode !== 'walk' && mode !== 'jsonl') || !path) throw new Error('usage: node bench/node-floor.mjs walk|jsonl CAPTURE.pcap');
const BLOCK = 3 << 16;
const OUT = 1 << 18;
const fd = openSync(path, 'r');
let buf = Buffer.allocUnsafe(BLOCK);
let have = readSync(fd, buf, 0, BLOCK, null);
if (have < 24) throw new Error(`${path}: not a pcap`);
const magic = buf.readUInt32LE(0);
const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
if (!le && magic !== 0xd4c3b2a1 && magic !== 0x4d3cb2a1) throw new Error(`${path}: not a classic pcap`);
const line = Buffer.from(
  '{"packet":123456,"ts":"1700000123.456000000","len":98,"caplen":98,"summary":"IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64","action":"XDP_TX","retval":3,"insn":57}\n',
);
const outBuf = Buffer.allocUnsafe(OUT);
let outUsed = 0;
const flush = () => {
  for (let off = 0; off < outUsed; ) off += writeSync(1, outBuf, off, outUsed - off);
  outUsed = 0;
};
let off = 24;
let packets = 0;
let bytes = 0;
for (;;) {
  if (have - off < 16 || have - off < 16 + (le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8))) {
    // The rest of this block is a record cut short: move it to the front (a larger block for a larger record), read on.
    const rest = have - off;
    const need = rest >= 16 ? 16 + (le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8)) : 16;
    const next = need > BLOCK ? Buffer.allocUnsafe(need) : buf;
    buf.copy(next, 0, off, have);
    buf = next;
    const n = readSync(fd, buf, rest, buf.length - rest, null);
    have = rest + n;
    off = 0;
    if (n === 0) break;
    continue;
  }
  const caplen = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
  packets++;
  bytes += caplen;
  if (mode === 'jsonl') {
    if (outUsed + line.length > OUT) flush();
    line.copy(outBuf, outUsed);
    outUsed += line.length;
  }
  off += 16 + caplen;
}
flush();
closeSync(fd);
process.stderr.write(`packets ${packets} bytes ${bytes}\n`);
