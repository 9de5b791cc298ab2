// Classic pcap writer (little-endian, nanosecond magic, Ethernet link type), buffered so that a long run
// issues few write calls. tcpdump and Wireshark read the result.
import { openSync, writeSync, closeSync } from 'node:fs';

const BUFFER = 1 << 16;

export interface PcapWriterOptions {
  /** Snap length written in the file header (default 262144). */
  snapLen?: number;
  /** LINKTYPE_* value (default 1, Ethernet). */
  linkType?: number;
}

export class PcapWriter {
  private readonly fd: number;
  private buf = Buffer.alloc(BUFFER);
  private used = 0;
  private closed = false;
  count = 0;

  constructor(readonly path: string, opts: PcapWriterOptions = {}) {
    this.fd = openSync(path, 'w');
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b23c4d, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(opts.snapLen ?? 262144, 16);
    h.writeUInt32LE(opts.linkType ?? 1, 20);
    this.put(h);
  }

  write(tsNs: bigint, frame: Uint8Array, wireLen = frame.length): void {
    const sec = tsNs < 0n ? 0n : tsNs / 1_000_000_000n;
    const ns = tsNs < 0n ? 0n : tsNs % 1_000_000_000n;
    this.writeAt(Number(sec & 0xffffffffn), Number(ns), frame, wireLen);
  }

  /** write() with the timestamp as whole seconds (0 to 2^32-1) and nanoseconds (0 to 10^9-1): no BigInt division. */
  writeAt(sec: number, ns: number, frame: Uint8Array, wireLen = frame.length): void {
    if (this.closed) throw new Error(`${this.path}: write after close`);
    // The record header goes straight into the buffer (no allocation per packet).
    if (this.used + 16 > this.buf.length) this.flush();
    const h = this.buf;
    h.writeUInt32LE(sec, this.used);
    h.writeUInt32LE(ns, this.used + 4);
    h.writeUInt32LE(frame.length, this.used + 8);
    h.writeUInt32LE(Math.max(wireLen, frame.length), this.used + 12);
    this.used += 16;
    this.put(frame);
    this.count++;
  }

  private put(b: Uint8Array): void {
    if (this.used + b.length > this.buf.length) this.flush();
    if (b.length > this.buf.length) {
      writeSync(this.fd, b);
      return;
    }
    this.buf.set(b, this.used);
    this.used += b.length;
  }

  private flush(): void {
    if (this.used) writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
    }
  }

  /** Close the file without writing what is buffered (after a write failed); never throws. */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.used = 0;
    try {
      closeSync(this.fd);
    } catch {
      // nothing more can be done with it
    }
  }
}
