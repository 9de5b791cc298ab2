// Streaming capture reader: classic pcap (µs/ns, either byte order) and pcapng (several sections and interfaces,
// EPB/SPB/PB, if_tsresol/if_tsoffset). Reads fixed-size chunks, so memory stays constant however long the file.
//
// Every frame is delivered as a NIC would hand it to XDP: an Ethernet frame. Captures of other link types get a
// synthesised 14-byte Ethernet header (see `toEthernet`): the rules are documented in README.md ("Captures").
//
// A capture may also be a stream: `-` or `/dev/stdin` (standard input), a FIFO, a socket or a character device. Streams
// are read front to back with no seeks, a read returning whatever has arrived, so packets are delivered as they come.
//
// Those reads block the thread. Where that must not happen (the language server), a `CaptureFeed` is given the bytes
// as they arrive (chunks of a child's stdout) and hands out each packet once its record is complete: the same readers,
// limits and errors, with the bytes of every record parsed passed on to an optional tee.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { GunzipStream, GzipError } from './inflate.ts';

/** Largest captured length accepted for one record (the limit libpcap and tcpdump use). */
export const MAX_CAPLEN = 262144;
/** Most interfaces one pcapng section may describe (each costs memory while the section is read). */
export const MAX_INTERFACES = 100_000;
/** Largest pcapng block accepted; a block claiming more is taken as corrupt. */
const MAX_BLOCK = 16 * 1024 * 1024;
const CHUNK = 1 << 20;

export interface CapturedPacket {
  /** 0-based position in the capture, counting every packet record in every section. */
  index: number;
  tsNs: bigint;
  /** The frame as the NIC delivers it (Ethernet; synthesised header for other link types). */
  frame: Uint8Array;
  /** Bytes captured, as delivered (frame.length). */
  capLen: number;
  /** Length on the wire, as delivered (original length adjusted by the same link-layer change as the frame). */
  wireLen: number;
  /** Captured shorter than on the wire (snap length). */
  truncated: boolean;
  /** Link type the capture recorded for this packet (LINKTYPE_* value). */
  linkType: number;
  /** pcapng interface id within its section; 0 for classic pcap. */
  interfaceId: number;
  /**
   * tsNs as numbers, when the reader has them (classic pcap): whole seconds, and nanoseconds past them (below 10^9
   * for a well-formed record). tsNs = tsSec * 10^9 + tsNanos.
   */
  tsSec?: number;
  tsNanos?: number;
  /**
   * Sent by the capturing host, not received: a Linux cooked record of packet type 4 (PACKET_OUTGOING, what
   * `tcpdump -i any` records of the traffic it sends) or a pcapng packet whose epb_flags say outbound. XDP runs only
   * on received frames, so `xdp-lens run` does not run these (it lists and counts them). Absent otherwise.
   */
  outgoing?: true;
  /**
   * With `OpenCaptureOptions.otherLinks`: a packet of a pcapng interface whose link type XDP is never handed (802.11,
   * USB, ...), named here ("link type 127 (802.11 with radiotap)"); `frame` holds the captured bytes as they are, not
   * an Ethernet frame. `xdp-lens run` lists these without running them. Absent otherwise.
   */
  otherLink?: string;
  /**
   * The Linux cooked header (SLL: 16 bytes, SLL2: 20) a cooked record was captured with, which `frame` no longer
   * holds (display filters' sll.* fields). A view like `frame` with `views`. Absent for other link types.
   */
  linkHeader?: Uint8Array;
  /** A pcapng simple packet block: the record has no timestamp (tsNs is the interface's offset). Absent otherwise. */
  untimed?: true;
  /**
   * The frame's Ethernet header is not the capture's: made up in front of a raw IP, loopback or NFLOG payload ('made
   * up'), or made from a Linux cooked header ('from cooked header'); see `toEthernet`. Absent for a frame as captured
   * (Ethernet, or a cooked record of protocol 0x0003) and for an empty one (nothing after the link-layer header).
   */
  ethernetHeader?: EthernetHeaderOrigin;
}

/** Where a frame's Ethernet header came from when the capture did not hold it (CapturedPacket.ethernetHeader). */
export type EthernetHeaderOrigin = 'made up' | 'from cooked header';

export class CaptureError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    detail: string,
    readonly record?: number,
  ) {
    // A negative offset names no position: the file could not be opened, or is not a file.
    super(`${file}: ${record !== undefined ? `record ${record}, ` : ''}${offset >= 0 ? `byte offset ${offset}: ` : ''}${detail}`);
    this.name = 'CaptureError';
  }
}

export interface CaptureReader {
  readonly format: 'pcap' | 'pcapng';
  /** The next packet, undefined at a clean end of file; throws CaptureError on bad input. */
  next(): CapturedPacket | undefined;
  close(): void;
  /** Byte offset of the record the last `next()` returned (-1 before the first): where `seek` finds it again. */
  readonly recordOffset: number;
  /**
   * What reading a record takes besides its bytes (pcapng: the byte order and interfaces of its section): an object
   * whose identity changes whenever that changes, to give `seek` with the record's offset.
   */
  readonly context: object;
  /**
   * Position the reader at a record `next()` returned before (its recordOffset, index and the context then), for the
   * language server's packets view to read a page of packets again. False where it cannot: a stream, a compressed
   * file.
   */
  seek(offset: number, index: number, context: object): boolean;
  /** Whether `seek` can work: a file read by position (not a stream, not a compressed file). */
  readonly seekable: boolean;
  /** The link types other than Ethernet of the packets read so far (their Ethernet header was made up: `toEthernet`). */
  readonly otherLinkTypes: ReadonlySet<number>;
  /** With OpenCaptureOptions.otherLinks: the link types (as named in `otherLink`) of the packets delivered marked so. */
  readonly notRunLinks: ReadonlySet<string>;
  /**
   * With OpenCaptureOptions.inPlace: where the frame of the packet `next()` last returned starts in `buffer` (its
   * capLen bytes) when `next()` left the packet's `frame` empty (an Ethernet pcap record); -1 when `frame` holds it.
   */
  readonly frameAt: number;
  /** OpenCaptureOptions.inPlace was asked for and applies: an Ethernet pcap file (frameAt >= 0 for each of its records). */
  readonly inPlace: boolean;
  /** The read buffer `frameAt` is an offset in: the same array until a read (see `ready`) or a record larger than it. */
  readonly buffer: Uint8Array;
  /** Whether the next `next()` reads nothing (its record is wholly in `buffer`): bytes in `buffer` stay where they are. */
  ready(): boolean;
  /** The frame at `frameAt` as a view of `buffer` (what `frame` would have been without `inPlace`). */
  frameView(): Uint8Array;
  /**
   * With `inPlace`: the records wholly in `buffer` from here on that `next()` would leave in place, taken straight into
   * `into` (no packet object): at most `max` of them, none longer than `frameMax` bytes nor shorter than XDP_MIN_FRAME, nor with a timestamp of 10^9
   * nanoseconds or more; it stops before any other record, which `next()` then reads (and reports, when bad) as ever.
   * Returns how many it took (0: use `next()`); the reader is then where `next()` would have left it after them.
   */
  takeInPlace(into: InPlaceRecords, max: number, frameMax: number): number;
}

/** Where CaptureReader.takeInPlace puts each record it takes, at index `count` (which it advances). */
export interface InPlaceRecords {
  count: number;
  /** The frame's offset in the reader's `buffer` and its length (captured = delivered: an Ethernet pcap record). */
  readonly offset: Int32Array;
  readonly length: Int32Array;
  /** The timestamp as whole seconds and nanoseconds (below 10^9), as a packet's tsSec and tsNanos. */
  readonly sec: Float64Array;
  readonly nanos: Float64Array;
  /** The packet's index, wire length (wireLen) and whether it was cut short (truncated: 1). */
  readonly index: Float64Array;
  readonly wire: Float64Array;
  readonly truncated: Uint8Array;
}

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW_OPENBSD: 12,
  RAW_BSDOS: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  NFLOG: 239,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const LINKTYPE_NAMES: Record<number, string> = {
  0: 'BSD loopback (NULL)',
  1: 'Ethernet',
  12: 'raw IP',
  14: 'raw IP',
  101: 'raw IP',
  108: 'OpenBSD loopback (LOOP)',
  113: 'Linux cooked capture v1 (SLL)',
  228: 'raw IPv4',
  229: 'raw IPv6',
  239: 'Linux netfilter log (NFLOG)',
  276: 'Linux cooked capture v2 (SLL2)',
};

/** A record's length on the wire as Wireshark takes it: no more than 2^31 - 1 (a signed 32-bit length). */
function wireLength(orig: number): number {
  return orig > 0x7fffffff ? 0x7fffffff : orig;
}

export function linkTypeSupported(lt: number): boolean {
  return lt in LINKTYPE_NAMES;
}

export interface OpenCaptureOptions {
  /**
   * Called before a read of a stream that may wait for data (a pipe, FIFO, socket or terminal), so that a consumer
   * can flush what it has for the packets so far before blocking (live output from `tcpdump -U -w - | xdp-lens ...`).
   */
  beforeWait?: () => void;
  /**
   * Deliver each frame as a view of the reader's buffer instead of a copy: valid until the next `next()`, for a
   * consumer that is done with a packet before it asks for the next (`xdp-lens run`). No allocation per packet.
   */
  views?: boolean;
  /**
   * With `views`: `next()` returns the same CapturedPacket object each time where it can (an Ethernet pcap record),
   * refilled: valid until the next `next()` like its frame, for a consumer that keeps nothing of a packet (`xdp-lens
   * run`). No object per packet.
   */
  reuse?: boolean;
  /**
   * A pcapng interface of a link type that is not supported does not end the read at its first packet: its packets
   * are delivered marked `otherLink`, for a consumer that skips them (a capture of several interfaces, one of them
   * Wi-Fi or USB, still runs its Ethernet packets). Without it such a packet is an error, as a whole pcap of that
   * link type always is.
   */
  otherLinks?: boolean;
  /**
   * With `views` and `reuse`: an Ethernet pcap record's frame is not made into a view; `frame` is left empty and
   * `frameAt` says where it is in `buffer`, for a consumer that hands frames on by offset (`xdp-lens run`'s batches,
   * with the buffer in the engine's memory: no object and no copy per packet). It calls `frameView()` for a frame it
   * needs as an array.
   */
  inPlace?: boolean;
  /** The read buffer to start with (a regular file: e.g. in the engine's memory, see `inPlace`); at least 64 KiB. */
  buffer?: Uint8Array;
}

/** Paths that name standard input. */
const STDIN_NAMES = new Set(['-', '/dev/stdin', '/proc/self/fd/0', '/dev/fd/0']);

/** Sleep without spinning (a non-blocking stream with nothing to read yet). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Bytes at absolute offsets, as the readers see them: a file descriptor (`Source`) or pushed chunks (`FedSource`). */
interface ByteSource {
  /** Absolute offset of the next unread byte. */
  pos: number;
  /**
   * Make `n` bytes at `pos` available; returns how many are (less than n only at the end of the input). A fed source
   * that has fewer than n bytes and has not ended throws `NEED_MORE` instead: the readers consume nothing of a record
   * before all of it is there, so the same `next()` can be called again once more bytes came.
   */
  ensure(n: number): number;
  /** A view of `n` bytes at `pos` (valid until the next ensure or push). */
  view(n: number): Buffer;
  skip(n: number): void;
  /** Move `pos` to an absolute offset seen before; false where the source cannot (see CaptureReader.seek). */
  seek(pos: number): boolean;
  readonly canSeek: boolean;
  /** The buffer holding the bytes at `pos` and the absolute offset of its first byte (valid until the next ensure or push). */
  readonly buf: Buffer;
  readonly start: number;
  /** Bytes from `pos` on that are in `buf` (what ensure returns without reading). */
  readonly buffered: number;
  /** True once the input was found to be gzip-compressed (a stream: on its first read): offsets are in its data. */
  readonly decompressed?: boolean;
}

/** The name errors give an input: a gzip-compressed one's offsets are in its decompressed data, and they say so. */
const inputName = (file: string, src: ByteSource): string => (src.decompressed ? `${file} (gzip-decompressed)` : file);

/** Thrown by a fed source asked for bytes that have not arrived yet (never seen outside this module). */
const NEED_MORE = Symbol('need more bytes');

/** Chunked reader over a file descriptor that tracks absolute offsets. */
class Source implements ByteSource {
  buf: Buffer;
  start = 0; // absolute offset of buf[0]
  private len = 0; // valid bytes in buf
  private eof = false;
  pos = 0; // absolute read position

  constructor(
    private readonly fd: number,
    private readonly file: string,
    /** Read with no position (pipes, sockets, devices), never seeking. */
    private readonly stream: boolean,
    private readonly beforeWait?: () => void,
    /** A gzip-compressed file: the bytes read are its decompressed data (a stream: found on its first read). */
    private gunzip?: GunzipStream,
    /** The buffer to read into (OpenCaptureOptions.buffer); CHUNK bytes of its own otherwise. */
    buffer?: Uint8Array,
  ) {
    this.buf = buffer !== undefined ? Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength) : Buffer.alloc(CHUNK);
  }

  get buffered(): number {
    return this.start + this.len - this.pos;
  }

  get decompressed(): boolean {
    return this.gunzip !== undefined;
  }

  private sniffed = false;

  private read(into: Buffer, off: number, len: number, at: number): number {
    if (this.gunzip) {
      try {
        return this.gunzip.read(into, off, len);
      } catch (e) {
        throw new CaptureError(inputName(this.file, this), at, e instanceof GzipError ? `gzip: ${e.message}` : `cannot read: ${(e as Error).message}`);
      }
    }
    const n = this.rawRead(into, off, len, at);
    if (this.stream && !this.sniffed) {
      // A stream that starts with gzip's magic (`cat capture.pcap.gz | ...`, as tshark reads it): the bytes read so
      // far are the first compressed ones.
      this.sniffed = true;
      if (n >= 2 && into[off] === 0x1f && into[off + 1] === 0x8b) {
        let first: Buffer | undefined = Buffer.from(into.subarray(off, off + n));
        this.gunzip = new GunzipStream((b, o, l) => {
          if (!first) return this.rawRead(b, o, l, at);
          const k = first.copy(b, o, 0, Math.min(l, first.length));
          first = k < first.length ? first.subarray(k) : undefined;
          return k;
        });
        return this.read(into, off, len, at);
      }
    }
    return n;
  }

  private rawRead(into: Buffer, off: number, len: number, at: number): number {
    if (!this.stream) {
      try {
        return readSync(this.fd, into, off, len, at);
      } catch (e) {
        throw new CaptureError(this.file, at, `cannot read: ${(e as Error).message}`);
      }
    }
    this.beforeWait?.();
    for (;;) {
      try {
        return readSync(this.fd, into, off, len, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          pause(5); // standard input left non-blocking by whoever started us: wait for data
          continue;
        }
        if (code === 'EINTR') continue;
        throw new CaptureError(this.file, at, `cannot read: ${(e as Error).message}`);
      }
    }
  }

  /** Make `n` bytes at `pos` available; returns how many are (less than n only at end of file). */
  ensure(n: number): number {
    const have = this.start + this.len - this.pos;
    if (have >= n || this.eof) return Math.min(have, n);
    const keep = this.start + this.len - this.pos;
    if (n > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(n, this.buf.length * 2));
      this.buf.copy(bigger, 0, this.pos - this.start, this.start + this.len - this.start);
      this.buf = bigger;
    } else {
      this.buf.copy(this.buf, 0, this.pos - this.start, this.start + this.len - this.start);
    }
    this.start = this.pos;
    this.len = keep;
    while (this.len < n && !this.eof) {
      const got = this.read(this.buf, this.len, this.buf.length - this.len, this.start + this.len);
      if (got === 0) this.eof = true;
      this.len += got;
    }
    return Math.min(this.len, n);
  }

  /** A view of `n` bytes at `pos` (valid until the next ensure). */
  view(n: number): Buffer {
    const o = this.pos - this.start;
    return this.buf.subarray(o, o + n);
  }

  skip(n: number): void {
    this.pos += n;
  }

  get canSeek(): boolean {
    return !this.stream && !this.gunzip;
  }

  seek(pos: number): boolean {
    if (!this.canSeek) return false;
    if (pos >= this.start && pos <= this.start + this.len) this.pos = pos; // within what was read: no read again
    else {
      this.start = this.pos = pos;
      this.len = 0;
      this.eof = false;
    }
    return true;
  }
}

/** Why a file could not be opened, in words (Node's message less its error code and the repeated path). */
function openErrorText(e: NodeJS.ErrnoException): string {
  const words: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOTDIR: 'a component of the path is not a directory',
    ELOOP: 'too many symbolic links',
    ENAMETOOLONG: 'file name too long',
    EMFILE: 'too many open files',
  };
  return (e.code && words[e.code]) ?? e.message.replace(/^[A-Z0-9]+: /, '').replace(/, open '.*'$/, '');
}

export function openCapture(path: string, opts: OpenCaptureOptions = {}): CaptureReader {
  const stdin = STDIN_NAMES.has(path);
  const file = stdin ? 'standard input' : path;
  let fd: number;
  let stream: boolean;
  try {
    // Standard input is read through fd 0 itself: reopening /dev/stdin fails for a socket and would rewind a file.
    fd = stdin ? 0 : openSync(path, 'r');
    const st = fstatSync(fd);
    if (st.isDirectory()) {
      if (!stdin) closeSync(fd);
      throw new CaptureError(file, -1, 'is a directory, not a capture file');
    }
    stream = st.isFIFO() || st.isSocket() || st.isCharacterDevice();
    if (!stream && !st.isFile() && !st.isBlockDevice()) {
      if (!stdin) closeSync(fd);
      throw new CaptureError(file, -1, 'is neither a file nor a stream (pipe, FIFO, socket or device)');
    }
  } catch (e) {
    if (e instanceof CaptureError) throw e;
    throw new CaptureError(file, -1, `cannot open: ${openErrorText(e as NodeJS.ErrnoException)}`);
  }
  // A regular file read from standard input (`< file.pcap`) is read from where its offset stands, as a stream.
  if (stdin) stream = true;
  // A gzip-compressed file (`.pcap.gz`, as tshark and tcpdump read them) is read through its decompressed data; byte
  // offsets in errors are then offsets in that data.
  let gunzip: GunzipStream | undefined;
  const head = Buffer.alloc(2);
  let headLen = 0;
  try {
    if (!stream) headLen = readSync(fd, head, 0, 2, 0);
  } catch {
    // Unreadable (/proc/self/mem): the reader's first read reports it.
  }
  if (headLen === 2 && head[0] === 0x1f && head[1] === 0x8b) {
    let at = 0;
    gunzip = new GunzipStream((into, off, len) => {
      const n = readSync(fd, into, off, len, at);
      at += n;
      return n;
    });
  }
  const src = new Source(fd, file, stream, opts.beforeWait, gunzip, opts.buffer !== undefined && opts.buffer.length >= 1 << 16 ? opts.buffer : undefined);
  try {
    const reader = readerFor(file, fd, src);
    if (opts.views) reader.views = true;
    if (opts.views && opts.reuse) reader.reuse = true;
    if (opts.views && opts.reuse && opts.inPlace) reader.inPlace = reader.placeable();
    if (opts.otherLinks) reader.otherLinks = true;
    return reader;
  } catch (e) {
    try {
      if (fd !== 0) closeSync(fd); // the reader may already have closed it while failing
    } catch {
      /* already closed */
    }
    throw e;
  }
}

/** The reader for what the first bytes of `src` say the capture is. */
function readerFor(input: string, fd: number, src: ByteSource): PcapReader | PcapngReader {
  const got = src.ensure(4);
  const file = inputName(input, src);
  if (got === 0) throw new CaptureError(file, 0, 'empty file: not a pcap or pcapng capture');
  if (got < 4) throw new CaptureError(file, 0, 'file too short for a capture header');
  const magic = src.view(4).readUInt32LE(0);
  if (magic === 0x0a0d0d0a) return new PcapngReader(input, fd, src);
  if ([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0xa1b2cd34, 0x34cdb2a1].includes(magic)) return new PcapReader(input, fd, src);
  const known = KNOWN_MAGIC.find(([m, mask]) => (magic & mask) >>> 0 === m);
  if (known) throw new CaptureError(file, 0, known[2]);
  throw new CaptureError(
    file,
    0,
    `not a pcap or pcapng capture (magic 0x${magic.toString(16).padStart(8, '0')}; expected a1b2c3d4, a1b23c4d or 0a0d0d0a; editcap -F pcap FILE OUT.pcap converts the other formats Wireshark reads)`,
  );
}

/** First bytes (little-endian, masked) of files that are not pcap/pcapng but are often taken for captures. */
const KNOWN_MAGIC: [number, number, string][] = [
  [0x8b1f, 0xffff, 'gzip-compressed data: decompress it first (gunzip -c FILE.gz)'],
  [0xfd2fb528, 0xffffffff, 'zstd-compressed: decompress it first (zstd -d FILE)'],
  [0x184d2204, 0xffffffff, 'lz4-compressed: decompress it first (lz4 -d FILE)'],
  [0x00685a42, 0x00ffffff, 'bzip2-compressed: decompress it first (bunzip2 FILE)'],
  [0x587a37fd, 0xffffffff, 'xz-compressed: decompress it first (unxz FILE)'],
  [0x6f6f6e73, 0xffffffff, 'a Sun snoop capture, which is not supported: convert it with editcap -F pcap FILE OUT.pcap'],
  [0x55424d47, 0xffffffff, 'a Microsoft Network Monitor 2 capture, which is not supported: convert it with editcap -F pcap FILE OUT.pcap'],
  [0x53535452, 0xffffffff, 'a Microsoft Network Monitor 1 capture, which is not supported: convert it with editcap -F pcap FILE OUT.pcap'],
  [0x4e535254, 0xffffffff, 'a Sniffer capture, which is not supported: convert it with editcap -F pcap FILE OUT.pcap'],
];

/** The frame of a packet delivered in place (OpenCaptureOptions.inPlace): empty, its bytes at the reader's frameAt. */
const NO_FRAME = new Uint8Array(0);

/** Unconsumed bytes a feed holds before it refuses more (a producer that is never drained). */
const MAX_FEED_BUFFER = 64 * 1024 * 1024;

/** Pushed chunks, kept from the first unconsumed byte on. */
class FedSource implements ByteSource {
  buf = Buffer.alloc(1 << 16);
  start = 0; // absolute offset of buf[0]
  private len = 0;
  ended = false;
  pos = 0;

  constructor(
    private readonly file: string,
    private readonly tee?: (bytes: Uint8Array) => void,
  ) {}

  get buffered(): number {
    return this.start + this.len - this.pos;
  }

  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('push after end');
    const keep = this.buffered;
    if (keep + chunk.length > MAX_FEED_BUFFER)
      throw new CaptureError(this.file, this.start + this.len, `more than ${MAX_FEED_BUFFER} bytes arrived that were not read (the reader fell behind)`);
    if (this.len + chunk.length > this.buf.length) {
      // Drop what was consumed; grow only when what is kept does not fit.
      const need = keep + chunk.length;
      const into = need > this.buf.length ? Buffer.alloc(Math.max(need, this.buf.length * 2)) : this.buf;
      this.buf.copy(into, 0, this.pos - this.start, this.len);
      this.buf = into;
      this.start = this.pos;
      this.len = keep;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
  }

  ensure(n: number): number {
    const have = this.buffered;
    if (have >= n) return n;
    if (!this.ended) throw NEED_MORE;
    return have;
  }

  view(n: number): Buffer {
    const o = this.pos - this.start;
    return this.buf.subarray(o, o + n);
  }

  skip(n: number): void {
    this.tee?.(this.view(n));
    this.pos += n;
  }

  readonly canSeek = false;

  seek(): boolean {
    return false;
  }
}

export interface CaptureFeedOptions {
  /**
   * Given the bytes of each header, block and record as the reader consumes it, in order: a copy of the stream cut
   * at record boundaries, so a file written from it is a valid capture of exactly the packets delivered. The view is
   * valid only during the call.
   */
  tee?: (bytes: Uint8Array) => void;
}

/**
 * A capture read from bytes pushed to it (a child process's stdout, a socket), never blocking: `next()` returns a
 * packet once its whole record has arrived, and undefined when none is complete yet (`done` tells the end apart).
 * pcap and pcapng as `openCapture` reads them, with the same limits, and the same errors naming the source, the byte
 * offset and the record.
 */
export class CaptureFeed {
  private readonly src: FedSource;
  private reader: PcapReader | PcapngReader | undefined;
  private finished = false;

  constructor(
    /** What the errors name ('tcpdump -i eth0'). */
    readonly name: string,
    opts: CaptureFeedOptions = {},
  ) {
    this.src = new FedSource(name, opts.tee);
  }

  /** Bytes that arrived and were not consumed yet (a partial record, or records not asked for). */
  get buffered(): number {
    return this.src.buffered;
  }

  /** Bytes consumed: the length of everything teed so far. */
  get offset(): number {
    return this.src.pos;
  }

  get format(): 'pcap' | 'pcapng' | undefined {
    return this.reader?.format;
  }

  /** The stream ended and every packet in it was handed out. */
  get done(): boolean {
    return this.finished;
  }

  push(chunk: Uint8Array): void {
    this.src.push(chunk);
  }

  /** No more bytes will come: a partial record left is then an error, as at the end of a file. */
  end(): void {
    this.src.ended = true;
  }

  /** The next complete packet, or undefined (see `done`); throws CaptureError on bad input. */
  next(): CapturedPacket | undefined {
    if (this.finished) return undefined;
    try {
      this.reader ??= readerFor(this.name, -1, this.src);
      const p = this.reader.next();
      if (!p) this.finished = true;
      return p;
    } catch (e) {
      if (e === NEED_MORE) return undefined;
      this.finished = true;
      throw e;
    }
  }
}

/** How each packetWithTime packet computes its tsNs. */
const packetTimes = new WeakMap<CapturedPacket, (p: CapturedPacket) => bigint>();
/** The one getter of every packetWithTime packet's tsNs. */
function lazyTsNs(this: CapturedPacket): bigint {
  return packetTimes.get(this)!(this);
}

/**
 * A packet object whose `tsNs` is computed when read (`ns` of the packet: from its tsSec and tsNanos), an own
 * enumerable property between `index` and `frame` as in a fresh packet, its other fields `fields` in their order.
 * V8 keeps such a packet's fields fast only when it is not an object literal with a getter (that has dictionary
 * properties) and when every such packet has the same getter function: with a getter of its own, the second packet
 * made so went to dictionary properties too. Every read and write of a dictionary packet's fields (a reused packet's,
 * refilled for each record, read for each) is a generic lookup: in perf of the editor's 1M-packet run such lookups
 * were about a sixth of the server thread's samples (the reader's packet and the server's batch packet).
 */
export function packetWithTime(fields: Omit<CapturedPacket, 'tsNs'>, ns: (p: CapturedPacket) => bigint): CapturedPacket {
  const p = { index: fields.index } as CapturedPacket;
  Object.defineProperty(p, 'tsNs', { get: lazyTsNs, enumerable: true, configurable: true });
  const to = p as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(fields)) if (k !== 'index') to[k] = v;
  packetTimes.set(p, ns);
  return p;
}

abstract class BaseReader {
  readonly otherLinkTypes = new Set<number>();
  /** With `otherLinks`: the link types (as named in `otherLink`) of the packets delivered marked so. */
  readonly notRunLinks = new Set<string>();
  protected index = 0;
  protected closed = false;
  /** OpenCaptureOptions.views */
  views = false;
  /** OpenCaptureOptions.reuse */
  reuse = false;
  /** OpenCaptureOptions.otherLinks */
  otherLinks = false;
  /** OpenCaptureOptions.inPlace */
  inPlace = false;
  frameAt = -1;
  recordOffset = -1;

  /** A plain Uint8Array over the source's buffer (a Buffer's slice() is a view, a Uint8Array's a copy), kept per buffer. */
  get buffer(): Uint8Array {
    const b = this.src.buf;
    if (b !== this.plainOf) {
      this.plainOf = b;
      this.plain = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    }
    return this.plain;
  }

  private plainOf: Buffer | undefined;
  private plain: Uint8Array = new Uint8Array(0);

  /** Whether frames can be left in place (OpenCaptureOptions.inPlace): by the format, see PcapReader. */
  placeable(): boolean {
    return false;
  }

  /** Conservative: false unless a format knows its next record is in the buffer (PcapReader). */
  ready(): boolean {
    return false;
  }

  /** See CaptureReader.takeInPlace: none but where a format can (PcapReader). */
  takeInPlace(_into: InPlaceRecords, _max: number, _frameMax: number): number {
    return 0;
  }

  frameView(): Uint8Array {
    const p = this.reused;
    return this.bytes(this.src.buf, this.frameAt, this.frameAt + (p !== undefined ? p.capLen : 0));
  }

  /** With `reuse`: the packet object every Ethernet pcap record is given. */
  protected reused: CapturedPacket | undefined;
  abstract readonly context: object;

  get seekable(): boolean {
    return this.src.canSeek;
  }

  seek(offset: number, index: number, context: object): boolean {
    if (this.closed || !this.src.seek(offset)) return false;
    this.index = index;
    this.restore(context);
    return true;
  }

  protected restore(_context: object): void {}
  constructor(
    protected readonly file: string,
    private readonly fd: number,
    protected readonly src: ByteSource,
  ) {}

  close(): void {
    if (!this.closed && this.fd > 0) closeSync(this.fd); // standard input stays open; a fed source has no fd (-1)
    this.closed = true;
  }

  /** The bytes of a record as a plain Uint8Array: a copy, or with `views` a view of the read buffer. */
  protected bytes(b: Buffer, from: number, to: number): Uint8Array {
    if (!this.views) return new Uint8Array(b.subarray(from, to));
    // The read buffer's ArrayBuffer and offset, kept while the buffer stays the same (reading `buffer` costs more
    // than making the view).
    if (b !== this.viewOf) {
      this.viewOf = b;
      this.viewBuffer = b.buffer;
      this.viewOffset = b.byteOffset;
    }
    return new Uint8Array(this.viewBuffer!, this.viewOffset + from, to - from);
  }

  private viewOf: Buffer | undefined;
  private viewBuffer: ArrayBufferLike | undefined;
  private viewOffset = 0;

  protected fail(offset: number, detail: string, record?: number): never {
    this.close();
    throw new CaptureError(inputName(this.file, this.src), offset, detail, record);
  }

  protected packet(
    tsNs: bigint,
    raw: Uint8Array,
    origLen: number,
    linkType: number,
    interfaceId: number,
    offset: number,
    fcsLen = 0,
  ): CapturedPacket {
    const index = this.index++;
    if (fcsLen > 0 && linkType === LINKTYPE.ETHERNET) {
      // The capture kept the frame check sequence; a NIC strips it before XDP sees the frame.
      const fcsCaptured = Math.max(0, Math.min(fcsLen, raw.length - (origLen - fcsLen)));
      raw = raw.subarray(0, raw.length - fcsCaptured);
      origLen = Math.max(raw.length, origLen - fcsLen);
    }
    const { frame, delta, header } = toEthernet(raw, linkType, (d) => this.fail(offset, d, index), raw.length < origLen);
    if (linkType !== LINKTYPE.ETHERNET) this.otherLinkTypes.add(linkType);
    const capLen = frame.length;
    const p: CapturedPacket = {
      index,
      tsNs,
      frame,
      capLen,
      wireLen: Math.max(origLen + delta, capLen),
      truncated: raw.length < origLen,
      linkType,
      interfaceId,
    };
    // A cooked record's packet type (SLL: bytes 0-1, SLL2: byte 10) 4 is PACKET_OUTGOING: sent by the capturing host.
    if ((linkType === LINKTYPE.LINUX_SLL && raw[0] === 0 && raw[1] === 4) || (linkType === LINKTYPE.LINUX_SLL2 && raw[10] === 4)) p.outgoing = true;
    // An NFLOG record logged at the LOCAL_OUT hook (3) is a packet the host sent.
    if (linkType === LINKTYPE.NFLOG) {
      const at = nflogPayload(raw);
      if (typeof at !== 'string' && at.hook === 3) p.outgoing = true;
    }
    if (linkType === LINKTYPE.LINUX_SLL || linkType === LINKTYPE.LINUX_SLL2) p.linkHeader = raw.subarray(0, linkType === LINKTYPE.LINUX_SLL ? 16 : 20);
    if (header !== undefined) p.ethernetHeader = header;
    return p;
  }
}

/**
 * Patched libpcaps of around 2000 (Red Hat 6.1, Nokia IPSO) wrote the standard magic with longer record headers:
 * read as standard pcap, their second record header is garbage, so a bad second record may be one of them.
 */
const VARIANT_HINT = '; or a Red Hat 6.1 or Nokia pcap variant, whose longer record headers make record 0 misread: editcap -F pcap FILE OUT.pcap converts it';

class PcapReader extends BaseReader implements CaptureReader {
  readonly format = 'pcap' as const;
  readonly context = {};
  private readonly le: boolean;
  private readonly nano: boolean;
  private readonly linkType: number;
  /** Bytes of frame check sequence at the end of every frame (the FCS bits of the link-type field). */
  private readonly fcsLen: number;
  /**
   * Bytes of a record header: 16, or 24 in the modified pcap of Kuznetsov's patched libpcap (magic a1b2cd34), whose
   * records add the interface index (4 bytes), the protocol (2) and the packet type (1, then a pad byte).
   */
  private readonly hdr: number;

  constructor(file: string, fd: number, src: ByteSource) {
    super(file, fd, src);
    if (src.ensure(24) < 24) this.fail(0, 'truncated pcap file header (needs 24 bytes)');
    const h = src.view(24);
    const m = h.readUInt32LE(0);
    this.hdr = m === 0xa1b2cd34 || m === 0x34cdb2a1 ? 24 : 16;
    this.le = m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xa1b2cd34;
    this.nano = m === 0xa1b23c4d || m === 0x4d3cb2a1;
    const u32 = (o: number) => (this.le ? h.readUInt32LE(o) : h.readUInt32BE(o));
    const major = this.le ? h.readUInt16LE(4) : h.readUInt16BE(4);
    if (major !== 2) this.fail(4, `unsupported pcap version ${major} (expected 2)`);
    // The link-type field: the link type in the low 16 bits; bit 26 says that the top 4 bits give the length of the
    // frame check sequence kept at the end of each frame, in 16-bit words (libpcap's LT_FCS_LENGTH*).
    const lt = u32(20);
    this.linkType = lt & 0xffff;
    this.fcsLen = lt & 0x04000000 ? ((lt >>> 28) & 0xf) * 2 : 0;
    if (!linkTypeSupported(this.linkType))
      this.fail(20, `link type ${linkTypeText(this.linkType)} is not supported; supported: ${supportedList()}${linkTypeHint(this.linkType)}`);
    src.skip(24);
  }

  next(): CapturedPacket | undefined {
    if (this.closed) return undefined;
    const src = this.src;
    const at = src.pos;
    const hdr = this.hdr;
    const got = src.ensure(hdr);
    if (got === 0) {
      this.close();
      return undefined;
    }
    if (got < hdr) this.fail(at, `truncated record header (${got} of ${hdr} bytes)`, this.index);
    // The record header read in place (no view, no closure: this runs once per packet).
    let b = src.buf;
    let o = at - src.start;
    const le = this.le;
    const sec = u32At(b, o, le);
    const frac = u32At(b, o + 4, le);
    const incl = u32At(b, o + 8, le);
    const orig = wireLength(u32At(b, o + 12, le));
    if (incl > MAX_CAPLEN)
      this.fail(at, `captured length ${incl} exceeds the maximum of ${MAX_CAPLEN} bytes (corrupt record?${this.index === 1 ? VARIANT_HINT : ''})`, this.index);
    // The whole record before any of it is consumed (a fed source may not have it yet).
    const have = src.ensure(hdr + incl) - hdr;
    if (have < incl) this.fail(at, `truncated packet data (${have} of ${incl} bytes)`, this.index);
    b = src.buf; // ensure may have moved the bytes
    o = at - src.start;
    const plain = this.linkType === LINKTYPE.ETHERNET && this.fcsLen === 0 && hdr === 16;
    // inPlace (with reuse): the reused packet's frame left empty, its place in the buffer said by frameAt.
    const inPlace = plain && this.inPlace;
    const data = inPlace ? NO_FRAME : this.bytes(b, o + hdr, o + hdr + incl);
    this.frameAt = inPlace ? o + hdr : -1;
    // The modified format's packet type (byte 22): 4 is PACKET_OUTGOING, as in a cooked header.
    const outgoing = hdr === 24 && b[o + 22] === 4;
    src.skip(hdr + incl);
    const nanos = this.nano ? frac : frac * 1000; // frac * 1000 < 2^53: exact
    const origLen = Math.max(orig, incl);
    if (plain) {
      // An Ethernet frame without FCS is delivered as captured: `packet` without its conversions.
      this.recordOffset = at;
      const r = this.reused;
      if (r !== undefined) {
        // The refilled object's tsNs is made from tsSec and tsNanos when read (no BigInt per packet).
        r.index = this.index++;
        r.frame = data;
        r.capLen = incl;
        r.wireLen = origLen;
        r.truncated = incl < origLen;
        r.tsSec = sec;
        r.tsNanos = nanos;
        return r;
      }
      if (this.reuse) {
        const reader = this;
        // The same keys in the same order as a fresh packet's, tsNs an own property computed when read.
        const p = packetWithTime(
          { index: this.index++, frame: data, capLen: incl, wireLen: origLen, truncated: incl < origLen, linkType: LINKTYPE.ETHERNET, interfaceId: 0, tsSec: sec, tsNanos: nanos },
          (q) => reader.secondNs(q.tsSec!) + BigInt(q.tsNanos!),
        );
        this.reused = p;
        return p;
      }
      const tsNs = this.secondNs(sec) + BigInt(nanos);
      return { index: this.index++, tsNs, frame: data, capLen: incl, wireLen: origLen, truncated: incl < origLen, linkType: LINKTYPE.ETHERNET, interfaceId: 0, tsSec: sec, tsNanos: nanos };
    }
    this.recordOffset = at;
    const p = this.packet(this.secondNs(sec) + BigInt(nanos), data, origLen, this.linkType, 0, at, this.fcsLen);
    if (outgoing) p.outgoing = true;
    return p;
  }

  /** BigInt arithmetic allocates: the nanoseconds of the whole second are kept while the second stays the same. */
  private secondNs(sec: number): bigint {
    if (sec !== this.lastSec) {
      this.lastSec = sec;
      this.lastSecNs = BigInt(sec) * 1_000_000_000n;
    }
    return this.lastSecNs;
  }

  private lastSec = -1;
  private lastSecNs = 0n;

  override placeable(): boolean {
    return this.linkType === LINKTYPE.ETHERNET && this.fcsLen === 0 && this.hdr === 16;
  }

  /**
   * next()'s in-place path for every record wholly in the buffer, in a loop: the same checks (a record next() would
   * report as bad, or deliver otherwise than in place, ends the loop before it), the same index, frameAt and
   * recordOffset after it, without the packet object.
   */
  override takeInPlace(into: InPlaceRecords, max: number, frameMax: number): number {
    if (this.closed || !this.inPlace || this.linkType !== LINKTYPE.ETHERNET || this.fcsLen !== 0 || this.hdr !== 16) return 0;
    const src = this.src;
    const b = src.buf;
    const base = src.start;
    const le = this.le;
    const nano = this.nano;
    const { offset, length, sec, nanos, index, wire, truncated } = into;
    let pos = src.pos;
    // Bytes from `pos` on that are in the buffer.
    let have = src.buffered;
    let i = into.count;
    const end = i + max;
    let took = 0;
    // The record headers' numbers read whole (a DataView over the buffer); index, recordOffset and frameAt kept here
    // and stored once.
    const view = new DataView(b.buffer, b.byteOffset, b.length);
    let next = this.index;
    let last = pos;
    while (i < end && have >= 16) {
      const o = pos - base;
      const incl = view.getUint32(o + 8, le);
      if (incl > MAX_CAPLEN || incl > frameMax || incl < XDP_MIN_FRAME || have - 16 < incl) break;
      const frac = view.getUint32(o + 4, le);
      const ns = nano ? frac : frac * 1000;
      if (!(ns < 1_000_000_000)) break;
      const orig = wireLength(view.getUint32(o + 12, le));
      offset[i] = o + 16;
      length[i] = incl;
      sec[i] = view.getUint32(o, le);
      nanos[i] = ns;
      index[i] = next++;
      wire[i] = orig > incl ? orig : incl;
      truncated[i] = incl < orig ? 1 : 0;
      last = pos;
      pos += 16 + incl;
      have -= 16 + incl;
      i++;
      took++;
    }
    if (took !== 0) {
      this.index = next;
      this.recordOffset = last;
      this.frameAt = last - base + 16;
      src.skip(pos - src.pos);
      into.count = i;
    }
    return took;
  }

  override ready(): boolean {
    if (this.closed) return true;
    const src = this.src;
    const have = src.buffered;
    const hdr = this.hdr;
    if (have < hdr) return false;
    const incl = u32At(src.buf, src.pos - src.start + 8, this.le);
    return have - hdr >= incl;
  }
}

/** The unsigned 32-bit value at `o`, little- or big-endian. */
function u32At(b: Uint8Array, o: number, le: boolean): number {
  return le
    ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
    : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

interface Iface {
  linkType: number;
  snapLen: number;
  /** Timestamp units: ticks per second as a power of 10 (pow10) or of 2. */
  resol: { pow10: boolean; exp: number };
  offsetNs: bigint;
  /** if_fcslen: bytes of frame check sequence at the end of each frame. */
  fcsLen: number;
}

class PcapngReader extends BaseReader implements CaptureReader {
  readonly format = 'pcapng' as const;
  private le = true;
  private ifaces: Iface[] = [];
  private section = -1;
  /**
   * The context handed out: the section's interface list itself and how many of them were described then (a section
   * only appends to its list), so that keeping a context costs no copy of a long list.
   */
  private ctx: { le: boolean; ifaces: Iface[]; count: number; section: number } | undefined;

  get context(): object {
    return (this.ctx ??= { le: this.le, ifaces: this.ifaces, count: this.ifaces.length, section: this.section });
  }

  protected override restore(context: object): void {
    const c = context as NonNullable<PcapngReader['ctx']>;
    this.le = c.le;
    this.ifaces = c.ifaces.slice(0, c.count); // a copy: what is read next appends to it
    this.section = c.section;
    this.ctx = c;
  }

  next(): CapturedPacket | undefined {
    const src = this.src;
    for (;;) {
      if (this.closed) return undefined;
      const at = src.pos;
      const got = src.ensure(12);
      if (got === 0) {
        this.close();
        return undefined;
      }
      if (got < 12) this.fail(at, `truncated block header (${got} bytes left)`);
      const h = src.view(12);
      let type = h.readUInt32LE(0);
      // A section header sets the byte order of what follows; it takes effect once the whole block is there.
      let le = this.le;
      const shb = type === 0x0a0d0d0a;
      if (shb) {
        const bom = h.readUInt32LE(8);
        if (bom === 0x1a2b3c4d) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else this.fail(at + 8, `section header block with a bad byte-order magic 0x${bom.toString(16)}`);
      } else if (this.section < 0) {
        this.fail(at, 'pcapng file does not start with a section header block');
      }
      const u32h = (o: number) => (le ? h.readUInt32LE(o) : h.readUInt32BE(o));
      type = u32h(0);
      const total = u32h(4);
      if (total > MAX_BLOCK)
        this.fail(at + 4, `block of type 0x${type.toString(16)} claims a length of ${total} bytes, more than the limit of ${MAX_BLOCK} (a corrupt capture?)`);
      if (total < 12 || total % 4 !== 0) this.fail(at + 4, `block of type 0x${type.toString(16)} claims an invalid length ${total}`);
      const have = src.ensure(total);
      if (have < total) this.fail(at, `truncated block of type 0x${type.toString(16)} (${have} of ${total} bytes)`);
      if (shb) {
        this.le = le;
        this.section++;
        this.ifaces = [];
        this.ctx = undefined;
      }
      const b = src.view(total);
      const u16 = (o: number) => (this.le ? b.readUInt16LE(o) : b.readUInt16BE(o));
      const u32 = (o: number) => (this.le ? b.readUInt32LE(o) : b.readUInt32BE(o));
      if (u32(total - 4) !== total)
        this.fail(at + total - 4, `block length ${total} does not match its trailing length ${u32(total - 4)}`);
      src.skip(total);
      switch (type) {
        case 0x0a0d0d0a: {
          if (total < 28) this.fail(at, `section header block too short (${total} bytes)`);
          const major = u16(12);
          if (major !== 1) this.fail(at + 12, `unsupported pcapng version ${major}`);
          continue;
        }
        case 1: {
          if (total < 20) this.fail(at, `interface description block too short (${total} bytes)`);
          const linkType = u16(8);
          const iface: Iface = { linkType, snapLen: u32(12), resol: { pow10: true, exp: 6 }, offsetNs: 0n, fcsLen: 0 };
          this.options(b, 16, total - 4, at, (code, o, len) => {
            if (code === 9 && len >= 1) {
              const v = b[o]!;
              iface.resol = { pow10: (v & 0x80) === 0, exp: v & 0x7f };
            } else if (code === 13 && len >= 1) {
              iface.fcsLen = b[o]!;
            } else if (code === 14 && len >= 8) {
              const off = this.le ? b.readBigInt64LE(o) : b.readBigInt64BE(o);
              iface.offsetNs = off * 1_000_000_000n;
            }
          });
          if (this.ifaces.length >= MAX_INTERFACES)
            this.fail(at, `section ${this.section} describes more than ${MAX_INTERFACES} interfaces (the limit; a corrupt or hostile capture?)`);
          this.ifaces.push(iface);
          this.ctx = undefined;
          continue;
        }
        case 6:
        case 2: {
          // Enhanced packet block, or the obsolete packet block (a 16-bit interface id and a drops count instead of
          // the 32-bit id); the rest of their layout is the same.
          if (total < 32) this.fail(at, `${type === 6 ? 'enhanced packet' : 'packet'} block too short (${total} bytes)`, this.index);
          const id = type === 6 ? u32(8) : u16(8);
          const iface = this.iface(id, at);
          const ts = (BigInt(u32(12)) << 32n) | BigInt(u32(16));
          const cap = u32(20);
          const orig = wireLength(u32(24));
          if (cap > MAX_CAPLEN)
            this.fail(at + 20, `captured length ${cap} exceeds the maximum of ${MAX_CAPLEN} bytes`, this.index);
          if (28 + cap > total - 4)
            this.fail(at + 20, `captured length ${cap} runs past the end of its ${total}-byte block`, this.index);
          const data = this.bytes(b, 28, 28 + cap);
          this.recordOffset = at;
          // Options after the data: epb_flags (2) bits 0-1 give the direction, 2 = outbound; bits 5-8 the length of
          // the frame check sequence in this packet, in bytes, which (when not 0) overrides the interface's
          // if_fcslen, as tshark reads it. As tshark, an option running past its block, or flags/drop count/packet
          // id/queue/verdict of another length than theirs, makes the file unreadable from this block on (the
          // packets before it are kept); the packet itself is read first, so its own error comes first.
          let flags = -1;
          let bad: [number, string] | undefined;
          for (let o = 28 + ((cap + 3) & ~3); o + 4 <= total - 4; ) {
            const code = u16(o);
            const len = u16(o + 2);
            if (code === 0) break;
            if (o + 4 + len > total - 4) {
              bad = [at + o, `option ${code} of length ${len} runs past the end of its block`];
              break;
            }
            const want = PACKET_OPTION_LENGTHS[code];
            if (want !== undefined && (want > 0 ? len !== want : len < 1)) {
              bad = [at + o, `${PACKET_OPTION_NAMES[code]} option (${code}) has length ${len}, ${want > 0 ? `not ${want}` : 'less than 1'}`];
              break;
            }
            // A TC (1) or XDP (2) verdict is 1 + 8 bytes.
            if (code === 7 && (b[o + 4] === 1 || b[o + 4] === 2) && len !== 9) {
              bad = [at + o, `${b[o + 4] === 1 ? 'TC' : 'XDP'} verdict option (7) has length ${len}, not 9`];
              break;
            }
            // A second epb_flags (the format allows one) is ignored, as tshark takes the first.
            if (code === 2 && flags < 0) flags = u32(o + 4);
            o += 4 + ((len + 3) & ~3);
          }
          const fcsLen = flags >= 0 && ((flags >>> 5) & 0xf) !== 0 ? (flags >>> 5) & 0xf : iface.fcsLen;
          const p = linkTypeSupported(iface.linkType)
            ? this.packet(this.ts(iface, ts), data, Math.max(orig, cap), iface.linkType, id, at, fcsLen)
            : this.other(this.ts(iface, ts), data, Math.max(orig, cap), iface.linkType, id);
          if (bad) this.fail(bad[0], bad[1], this.index - 1);
          if (flags >= 0 && (flags & 3) === 2) p.outgoing = true;
          return p;
        }
        case 3: {
          // Simple packet block: interface 0, no timestamp; captured = min(original, snaplen, what the block holds).
          if (total < 16) this.fail(at, `simple packet block too short (${total} bytes)`, this.index);
          const iface = this.iface(0, at);
          const orig = u32(8);
          let cap = Math.min(orig, total - 16);
          if (iface.snapLen > 0) cap = Math.min(cap, iface.snapLen);
          if (cap > MAX_CAPLEN)
            this.fail(at + 8, `packet length ${cap} exceeds the maximum of ${MAX_CAPLEN} bytes`, this.index);
          const data = this.bytes(b, 12, 12 + cap);
          this.recordOffset = at;
          const p = linkTypeSupported(iface.linkType) ? this.packet(iface.offsetNs, data, wireLength(orig), iface.linkType, 0, at, iface.fcsLen) : this.other(iface.offsetNs, data, Math.max(wireLength(orig), cap), iface.linkType, 0);
          p.untimed = true;
          return p;
        }
        case 10:
          // Decryption secrets block: its secrets (type, length, data) within the block, as Wireshark checks it.
          if (total < 20 || u32(12) > total - 20)
            this.fail(at + 12, `decryption secrets block: ${total < 20 ? `too short (${total} bytes)` : `secrets length ${u32(12)} runs past the end of its ${total}-byte block`}`, this.index);
          continue;
        default:
          continue; // name resolution, statistics, custom and unknown blocks
      }
    }
  }

  private iface(id: number, at: number): Iface {
    const i = this.ifaces[id];
    if (!i)
      this.fail(at + 8, `packet refers to interface ${id}, but section ${this.section} describes ${this.ifaces.length === 0 ? 'no interface' : this.ifaces.length === 1 ? 'one interface (0)' : `${this.ifaces.length} interfaces (0 to ${this.ifaces.length - 1})`}`, this.index);
    if (!linkTypeSupported(i.linkType) && !this.otherLinks)
      this.fail(at, `interface ${id} has link type ${linkTypeText(i.linkType)}, which is not supported; supported: ${supportedList()}${linkTypeHint(i.linkType)}`, this.index);
    return i;
  }

  /** A packet of an interface whose link type is not supported (with `otherLinks`): its bytes as captured. */
  private other(tsNs: bigint, data: Uint8Array, origLen: number, linkType: number, interfaceId: number): CapturedPacket {
    const otherLink = `link type ${linkTypeText(linkType)}`;
    this.notRunLinks.add(otherLink);
    return { index: this.index++, tsNs, frame: data, capLen: data.length, wireLen: origLen, truncated: data.length < origLen, linkType, interfaceId, otherLink };
  }

  private ts(iface: Iface, ticks: bigint): bigint {
    const { pow10, exp } = iface.resol;
    let ns: bigint;
    if (pow10) ns = exp <= 9 ? ticks * 10n ** BigInt(9 - exp) : ticks / 10n ** BigInt(exp - 9);
    else ns = (ticks * 1_000_000_000n) >> BigInt(exp);
    return ns + iface.offsetNs;
  }

  private options(b: Buffer, from: number, end: number, at: number, each: (code: number, off: number, len: number) => void): void {
    let o = from;
    while (o + 4 <= end) {
      const code = this.le ? b.readUInt16LE(o) : b.readUInt16BE(o);
      const len = this.le ? b.readUInt16LE(o + 2) : b.readUInt16BE(o + 2);
      if (code === 0) return;
      if (o + 4 + len > end) this.fail(at + o, `option ${code} of length ${len} runs past the end of its block`);
      each(code, o + 4, len);
      o += 4 + ((len + 3) & ~3);
    }
  }
}

/** The lengths tshark requires of a packet block's options (0: at least 1 byte): flags, drop count, id, queue, verdict. */
const PACKET_OPTION_LENGTHS: Record<number, number> = { 2: 4, 4: 8, 5: 8, 6: 4, 7: 0 };
const PACKET_OPTION_NAMES: Record<number, string> = { 2: 'flags', 4: 'drop count', 5: 'packet id', 6: 'queue', 7: 'verdict' };

/** Link types often met that XDP never sees (it is given Ethernet frames): named in the error that refuses them. */
const OTHER_LINKTYPES: Record<number, string> = {
  6: 'Token Ring', 8: 'SLIP', 9: 'PPP', 107: 'Frame Relay', 123: 'SunATM', 129: 'Linux ARCnet', 178: 'Juniper Ethernet', 258: 'Apple PKTAP', 10: 'FDDI', 50: 'PPP in HDLC framing', 104: 'Cisco HDLC', 105: 'IEEE 802.11 Wi-Fi',
  119: 'Prism 802.11', 127: '802.11 with radiotap', 143: 'DOCSIS', 163: 'AVS 802.11', 189: 'Linux USB', 192: '802.11 with PPI header',
  195: 'IEEE 802.15.4', 201: 'Bluetooth HCI H4 with direction', 215: 'IEEE 802.15.4 without FCS', 220: 'Linux USB, memory-mapped',
  227: 'SocketCAN', 249: 'USB over IP', 252: 'Wireshark upper PDU', 253: 'Linux netlink',
  254: 'Bluetooth Linux monitor', 263: 'Linux vsock', 274: 'Ethernet mPackets with preamble',
};

/** "127 (802.11 with radiotap)", or the number alone. */
function linkTypeText(lt: number): string {
  const name = OTHER_LINKTYPES[lt] ?? (lt >= 147 && lt <= 162 ? 'user-defined' : undefined);
  return name ? `${lt} (${name})` : String(lt);
}

/** What XDP would see of a link type that is refused, and where to capture what it sees instead. */
function linkTypeHint(lt: number): string {
  if ([105, 119, 127, 163, 192].includes(lt))
    return '. XDP on a Wi-Fi interface is handed the Ethernet frames its driver makes of received data frames, never 802.11 frames or radio headers: capture on the interface in managed mode (tcpdump -i wlan0 writes Ethernet frames)';
  if ([8, 9, 50, 104, 107].includes(lt))
    return ". XDP on a PPP, HDLC, Frame Relay or SLIP device runs only in generic mode and is handed the IP packet with no link-layer header, which is not modelled: capture on the Ethernet device under the link where there is one (PPPoE frames run as captured)";
  return '';
}

function supportedList(): string {
  return Object.entries(LINKTYPE_NAMES)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

/** What a packet's Ethernet header is when the capture did not hold it ("captured as raw IP (101): Ethernet header made up"). */
export const madeHeaderText = (linkType: number, origin: EthernetHeaderOrigin): string =>
  `captured as ${linkTypeName(linkType)}: Ethernet header ${origin === 'made up' ? 'made up' : 'made from the cooked header'}`;

/**
 * "raw IP (101)": a supported link type's name and number; a name that ends in its short name takes the number in the
 * same parenthesis ("Linux cooked capture v1 (SLL, 113)"), never a second one.
 */
export function linkTypeName(lt: number): string {
  const name = LINKTYPE_NAMES[lt] ?? 'link type';
  const short = /^(.*) \(([^()]+)\)$/.exec(name);
  return short ? `${short[1]} (${short[2]}, ${lt})` : `${name} (${lt})`;
}

/**
 * The note for a run of whose `packets` some were not captured as Ethernet frames: `madeUp` holds, per link type, how
 * many ran with an Ethernet header made up in front (raw IP, loopback, NFLOG) or made from the cooked header
 * (CapturedPacket.ethernetHeader), as an Ethernet NIC hands XDP a frame; where XDP would be handed no Ethernet header
 * at all, said so. Undefined when none was. `marked`: where each such packet is marked.
 */
export function linkHeaderNote(madeUp: ReadonlyMap<number, number>, packets: number, marked = 'jsonl "ethernetHeader"'): string | undefined {
  if (!madeUp.size) return undefined;
  const types = [...madeUp.keys()].sort((a, b) => a - b);
  let n = 0;
  for (const c of madeUp.values()) n += c;
  const names = types.map((t) => (types.length > 1 && n !== packets ? `${linkTypeName(t)}: ${madeUp.get(t)}` : linkTypeName(t)));
  const raw = types.some((t) => t !== LINKTYPE.LINUX_SLL && t !== LINKTYPE.LINUX_SLL2);
  const cooked = types.some((t) => t === LINKTYPE.LINUX_SLL || t === LINKTYPE.LINUX_SLL2);
  return (
    `${n === packets ? `packets captured as ${names.join(', ')}` : `${n} of ${packets} packets, captured as ${names.join(', ')},`} ran as Ethernet frames, with a 14-byte Ethernet header ` +
    `${raw ? (cooked ? 'made up (made from the cooked header for cooked ones)' : 'made up') : 'made from the cooked header'} in front (addresses as README "Captures" says; ${marked}), as an Ethernet NIC hands them to XDP` +
    (raw ? '; on a tun, WireGuard or other IP-only device XDP (generic mode) is handed the IP packet at offset 0 instead' : '')
  );
}

/**
 * The error for a capture that held packets of which not one could run: all from pcapng interfaces of link types XDP
 * is never handed (`notRun` of them were listed). A capture with some packets that ran is not an error (a note says
 * how many were left out).
 */
export function nothingRanError(file: string, notRun: number, links: ReadonlySet<string>): string {
  const names = [...links].sort();
  return (
    `${STDIN_NAMES.has(file) ? 'standard input' : file}: no packet could run: ${notRun === 1 ? 'its only packet was' : `all ${notRun} packets were`} captured on ` +
    `${names.length === 1 ? `an interface of ${names[0]}` : `interfaces of ${names.join(', ')}`}, which XDP is never handed ` +
    `(XDP Lens runs link types ${supportedList()})`
  );
}

/** Frame lengths XDP runs on, as BPF_PROG_TEST_RUN takes them (6.18, bpf_prog_test_run_xdp): at least an Ethernet
 * header (bpf_test_init: EINVAL below 14 bytes), at most the linear part of a page (4096 - 256 headroom - 320
 * skb_shared_info = 3520) and MAX_SKB_FRAGS (17) pages of fragments (ENOMEM above). Measured against the kernel in
 * test/net/frame-length-not-run. No NIC hands XDP a frame outside them either. */
export const XDP_MIN_FRAME = 14;
export const XDP_MAX_FRAME = 3520 + 17 * 4096;

/** Why a frame of `len` bytes is listed and not run ("notRun" in jsonl): shorter than an Ethernet header, or longer
 * than the kernel takes; undefined when it runs. */
export function frameLengthNotRun(len: number): 'too short' | 'too long' | undefined {
  return len < XDP_MIN_FRAME ? 'too short' : len > XDP_MAX_FRAME ? 'too long' : undefined;
}

/** The note for `n` packets not run for their length (frameLengthNotRun). */
export const FRAME_LENGTH_NOTE = (n: number): string =>
  `${n} ${n === 1 ? 'packet was' : 'packets were'} shorter than an Ethernet header (${XDP_MIN_FRAME} bytes) or longer than ${XDP_MAX_FRAME} bytes ` +
  `(listed as "notRun": "too short" / "too long") and not run, not counted: no NIC hands XDP such a frame and BPF_PROG_TEST_RUN refuses it (EINVAL / ENOMEM)`;

/** The note for `n` packets run that the capture's snap length cut short; `marked`: where the user finds them. */
export const SNAP_LENGTH_NOTE = (n: number, marked: string): string =>
  `${n} ${n === 1 ? 'packet was' : 'packets were'} captured shorter than on the wire (snap length; ${marked}) and ran on the captured bytes only, ` +
  `as BPF_PROG_TEST_RUN runs them: where the program reads past them it takes its short-packet path, so the verdict may not be the whole frame's ` +
  `(tcpdump -s 0 captures whole frames)`;

/** The simulated NIC's own MAC address: the destination of unicast frames that arrive without one. */
export const NIC_MAC = Uint8Array.of(0x02, 0x00, 0x00, 0x00, 0x00, 0x01);
/** The source MAC given to frames whose capture holds no source link-layer address. */
export const PEER_MAC = Uint8Array.of(0x02, 0x00, 0x00, 0x00, 0x00, 0x02);
const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
/** A cooked header's protocol 0x0003: the payload is a whole Ethernet frame, link-layer header included. */
const SLL_P_ETHERNET = 0x0003;

/**
 * Turn a captured frame into the Ethernet frame a NIC would hand the program.
 * Ethernet frames pass unchanged (VLAN tags included). For other link types a 14-byte header is built:
 * - destination: ff:ff:ff:ff:ff:ff for broadcast (cooked pkttype 1), the IP multicast MAC for multicast
 *   (pkttype 2, or an IP multicast destination), else NIC_MAC 02:00:00:00:00:01;
 * - source: the cooked header's link-layer address when it is 6 bytes long, else PEER_MAC 02:00:00:00:00:02;
 * - type: the cooked header's protocol, or 0x0800/0x86dd from the IP version (raw) or address family (loopback).
 * A cooked frame whose protocol is 0x0003 already carries its Ethernet header: it is delivered as that frame.
 * A record with nothing after its link-layer header (a raw IP record of 0 bytes, a cooked header alone) becomes an
 * empty frame, not a bare made-up header: there is no packet to hand on (tshark dissects no IP in it), and an empty
 * frame is "too short" wherever frames are run (frameLengthNotRun).
 * A record shorter than its link-layer header (cut by the snap length, or written short) is an empty frame too: the
 * capture goes on after it, as tshark reads on. An NFLOG record whose packet cannot be found is an error (`fail`)
 * unless the snap length cut it (`cut`).
 * `header` says where a made header came from (CapturedPacket.ethernetHeader); undefined for a frame as captured.
 */
export function toEthernet(
  raw: Uint8Array,
  linkType: number,
  fail: (detail: string) => never,
  cut = false,
): { frame: Uint8Array; delta: number; header?: EthernetHeaderOrigin } {
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      return { frame: raw, delta: 0 };
    case LINKTYPE.LINUX_SLL: {
      if (raw.length < 16) return { frame: raw.subarray(0, 0), delta: -16 };
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const pkttype = dv.getUint16(0);
      const hatype = dv.getUint16(2);
      const alen = dv.getUint16(4);
      const proto = dv.getUint16(14);
      const src = hatype === 1 && alen === 6 ? raw.subarray(6, 12) : undefined;
      if (proto === SLL_P_ETHERNET) return { frame: raw.subarray(16), delta: -16 };
      return synth(raw.subarray(16), proto, pkttype, src, 16, 'from cooked header');
    }
    case LINKTYPE.LINUX_SLL2: {
      if (raw.length < 20) return { frame: raw.subarray(0, 0), delta: -20 };
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const proto = dv.getUint16(0);
      const hatype = dv.getUint16(8);
      const pkttype = raw[10]!;
      const alen = raw[11]!;
      const src = hatype === 1 && alen === 6 ? raw.subarray(12, 18) : undefined;
      if (proto === SLL_P_ETHERNET) return { frame: raw.subarray(20), delta: -20 };
      return synth(raw.subarray(20), proto, pkttype, src, 20, 'from cooked header');
    }
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_OPENBSD:
    case LINKTYPE.RAW_BSDOS: {
      const v = raw.length ? raw[0]! >> 4 : 0;
      return synth(raw, v === 6 ? ETH_P_IPV6 : ETH_P_IP, 0, undefined, 0);
    }
    case LINKTYPE.IPV4:
      return synth(raw, ETH_P_IP, 0, undefined, 0);
    case LINKTYPE.IPV6:
      return synth(raw, ETH_P_IPV6, 0, undefined, 0);
    case LINKTYPE.NFLOG: {
      const at = nflogPayload(raw);
      if (typeof at === 'string') return cut ? { frame: raw.subarray(0, 0), delta: -raw.length } : fail(at);
      const family = raw[0];
      const payload = raw.subarray(at.start, at.end);
      // On the wire (the length the delta turns the record's original length into) the packet is the TLV's value:
      // what the record holds around it is removed, the TLV's padding and any TLV after it too.
      const pad = ((at.wire + 3) & ~3) - at.wire;
      const removed = at.start + at.wire <= raw.length ? raw.length - at.wire : at.start + pad;
      return synth(payload, family === 2 ? ETH_P_IP : family === 10 ? ETH_P_IPV6 : ipTypeOf(payload), 0, undefined, removed);
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (raw.length < 4) return { frame: raw.subarray(0, 0), delta: -4 };
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      // NULL stores the family in the capturing host's byte order: take whichever reading is small.
      let af = dv.getUint32(0, linkType === LINKTYPE.NULL);
      if (linkType === LINKTYPE.NULL && af > 0xffff) af = dv.getUint32(0, false);
      const type = af === 2 ? ETH_P_IP : [10, 24, 28, 30].includes(af) ? ETH_P_IPV6 : ipTypeOf(raw.subarray(4));
      return synth(raw.subarray(4), type, 0, undefined, 4);
    }
    default:
      return fail(`link type ${linkType} is not supported`);
  }
}

/**
 * Where an NFLOG record's packet is (what `tcpdump -i nflog:N` writes): a 4-byte header (address family, version,
 * resource id), then TLVs of a 16-bit length (header included) and a 16-bit type, in the capturing host's byte order
 * (taken from whichever reading of the first length fits), each padded to 4 bytes; type 9 (NFULA_PAYLOAD) holds the
 * IP packet. The packet's bounds in the record and its length uncut (`wire`), or what is wrong.
 */
export function nflogPayload(raw: Uint8Array): { start: number; end: number; wire: number; hook?: number } | string {
  if (raw.length < 4) return `NFLOG header needs 4 bytes, the record has ${raw.length}`;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let le = true;
  if (raw.length >= 8) {
    const fits = (l: number) => l >= 4 && 4 + l <= raw.length;
    le = fits(dv.getUint16(4, true)) || !fits(dv.getUint16(4, false));
  }
  let hook: number | undefined;
  for (let o = 4; o + 4 <= raw.length; ) {
    const len = dv.getUint16(o, le);
    const type = dv.getUint16(o + 2, le) & 0x7fff;
    if (len < 4) return `NFLOG TLV at record byte ${o} has length ${len} (less than its 4-byte header)`;
    // The packet may be cut by the snap length: its TLV then ends at the end of the record.
    if (type === 9) return { start: o + 4, end: Math.min(raw.length, o + len), wire: len - 4, hook };
    if (o + len > raw.length) break;
    if (type === 1 && len >= 7) hook = raw[o + 6];
    o += (len + 3) & ~3;
  }
  return 'NFLOG record holds no packet (no NFULA_PAYLOAD TLV: was it logged with --nflog-size 0?)';
}

function ipTypeOf(p: Uint8Array): number {
  return p.length && p[0]! >> 4 === 6 ? ETH_P_IPV6 : ETH_P_IP;
}

function synth(
  payload: Uint8Array,
  type: number,
  pkttype: number,
  src: Uint8Array | undefined,
  removed: number,
  header: EthernetHeaderOrigin = 'made up',
): { frame: Uint8Array; delta: number; header?: EthernetHeaderOrigin } {
  if (payload.length === 0) return { frame: payload, delta: -removed };
  const f = new Uint8Array(14 + payload.length);
  f.set(destinationMac(payload, type, pkttype), 0);
  f.set(src ?? PEER_MAC, 6);
  // Cooked protocol values below 0x0600 name 802.2/802.3 payloads: an Ethernet frame carries a length there.
  const t = type < 0x0600 ? Math.min(payload.length, 0x5dc) : type;
  f[12] = t >> 8;
  f[13] = t & 0xff;
  f.set(payload, 14);
  return { frame: f, delta: 14 - removed, header };
}

function destinationMac(p: Uint8Array, type: number, pkttype: number): Uint8Array {
  if (pkttype === 1) return BROADCAST;
  if (type === ETH_P_IP && p.length >= 20 && p[16]! >= 224 && p[16]! <= 239)
    return Uint8Array.of(0x01, 0x00, 0x5e, p[17]! & 0x7f, p[18]!, p[19]!);
  if (type === ETH_P_IPV6 && p.length >= 40 && p[24] === 0xff) return Uint8Array.of(0x33, 0x33, p[36]!, p[37]!, p[38]!, p[39]!);
  if (type === ETH_P_IP && p.length >= 20 && p[16] === 255 && p[17] === 255 && p[18] === 255 && p[19] === 255) return BROADCAST;
  return NIC_MAC;
}
