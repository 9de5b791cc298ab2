// A gzip (RFC 1952) stream decompressed synchronously, block by block, in constant memory: what `openCapture` reads a
// `.pcap.gz` through (tshark and tcpdump read gzip-compressed captures transparently). Deflate (RFC 1951) is decoded
// with one lookup table per Huffman code. A block is decoded whole: when the compressed bytes read so far end inside
// it, more are read and the block is decoded again from its start, so no state is kept half-way through a block.
// Several gzip members one after another (`cat a.gz b.gz`) are one stream, as gzip itself reads them.
import { crc32 } from 'node:zlib';

/** Raised inside a step when the compressed input read so far ends before it does. */
const MORE = Symbol('more compressed input');

export class GzipError extends Error {}

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const WINDOW = 32768;

/** A Huffman code as a table indexed by the next `bits` input bits: entry = symbol << 4 | code length (0: invalid). */
interface Code {
  table: Int32Array;
  bits: number;
}

function buildCode(lengths: ArrayLike<number>, n: number, what: string): Code {
  let max = 0;
  const count = new Array<number>(16).fill(0);
  for (let i = 0; i < n; i++) {
    count[lengths[i]!]!++;
    if (lengths[i]! > max) max = lengths[i]!;
  }
  count[0] = 0;
  // An over-subscribed set of lengths is not a code (an incomplete one is allowed: RFC 1951 uses one for distances).
  let left = 1;
  for (let l = 1; l <= 15; l++) {
    left = left * 2 - count[l]!;
    if (left < 0) throw new GzipError(`invalid ${what} code lengths`);
  }
  const bits = Math.max(max, 1);
  const table = new Int32Array(1 << bits);
  const next = new Array<number>(16).fill(0);
  for (let l = 1, code = 0; l <= 15; l++) {
    code = (code + count[l - 1]!) << 1;
    next[l] = code;
  }
  for (let sym = 0; sym < n; sym++) {
    const len = lengths[sym]!;
    if (!len) continue;
    const code = next[len]!++;
    let rev = 0;
    for (let i = 0; i < len; i++) rev |= ((code >> i) & 1) << (len - 1 - i);
    for (let i = rev; i < table.length; i += 1 << len) table[i] = (sym << 4) | len;
  }
  return { table, bits };
}

const FIXED_LIT = (() => {
  const l = new Array<number>(288);
  for (let i = 0; i < 288; i++) l[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
  return buildCode(l, 288, 'literal/length');
})();
const FIXED_DIST = buildCode(new Array<number>(30).fill(5), 30, 'distance');

type State = 'header' | 'block' | 'trailer' | 'end';

export class GunzipStream {
  private in = Buffer.alloc(1 << 16);
  private inLen = 0;
  private pos = 0;
  private bitBuf = 0;
  private bitCnt = 0;
  private rawEof = false;
  /** Compressed bytes consumed before in[0]. */
  private inBase = 0;

  private out = Buffer.alloc(1 << 17);
  private outLen = 0;
  private outRead = 0;

  private state: State = 'header';
  private lastBlock = false;
  private members = 0;
  private crc = 0;
  private size = 0;
  private crcFrom = 0;
  /**
   * The input ended inside a deflate block after some of it was decoded (a file cut short, as a capture still being
   * written or a copy interrupted): the bytes decoded are handed out first, as zcat and tshark give them, then this.
   */
  private cut: GzipError | undefined;

  constructor(
    /** Reads compressed bytes into `into` at `off`, at most `len`; 0 at the end of the input. */
    private readonly readRaw: (into: Buffer, off: number, len: number) => number,
  ) {}

  /** Up to `len` decompressed bytes into `into` at `off`; 0 at the end. Throws GzipError on bad input. */
  read(into: Buffer, off: number, len: number): number {
    while (this.outRead === this.outLen && this.state !== 'end') {
      if (this.cut) throw this.cut;
      this.step();
    }
    const n = Math.min(len, this.outLen - this.outRead);
    this.out.copy(into, off, this.outRead, this.outRead + n);
    this.outRead += n;
    return n;
  }

  /** Decode one header, block or trailer; on running out of input, read more and decode it again from its start. */
  private step(): void {
    this.compactOut();
    const saved = { pos: this.pos, bitBuf: this.bitBuf, bitCnt: this.bitCnt, outLen: this.outLen };
    for (;;) {
      try {
        if (this.state === 'header') this.header();
        else if (this.state === 'block') this.block();
        else this.trailer();
        return;
      } catch (e) {
        if (e !== MORE) throw e;
        const decoded = this.outLen;
        this.pos = saved.pos;
        this.bitBuf = saved.bitBuf;
        this.bitCnt = saved.bitCnt;
        this.outLen = saved.outLen;
        if (this.rawEof) {
          // The end: after a whole member, with nothing or only zero padding left.
          if (this.state === 'header' && this.members > 0 && this.in.subarray(this.pos, this.inLen).every((x) => x === 0)) return void (this.state = 'end');
          const err = new GzipError(`the compressed file is cut short: its data ends inside ${this.state === 'header' ? 'the gzip header' : this.state === 'block' ? 'a deflate block' : 'the gzip trailer'} (compressed byte ${this.inBase + this.inLen})`);
          if (this.state === 'block' && decoded > this.outLen) {
            this.outLen = decoded;
            this.cut = err;
            return;
          }
          throw err;
        }
        this.fill(); // moves the unread bytes, from the step's start on, to in[0]
        saved.pos = this.pos;
      }
    }
  }

  /** Read more compressed input, dropping what was consumed before `pos` (the current step restarts at `pos`). */
  private fill(): void {
    const keep = this.inLen - this.pos;
    if (keep + 1 > this.in.length / 2) {
      const bigger = Buffer.alloc(this.in.length * 2);
      this.in.copy(bigger, 0, this.pos, this.inLen);
      this.in = bigger;
    } else {
      this.in.copy(this.in, 0, this.pos, this.inLen);
    }
    this.inBase += this.pos;
    this.pos = 0;
    this.inLen = keep;
    const got = this.readRaw(this.in, this.inLen, this.in.length - this.inLen);
    if (got === 0) this.rawEof = true;
    this.inLen += got;
  }

  /** Keep the last 32 KiB of output (the window back-references reach into) once everything was read. */
  private compactOut(): void {
    if (this.outRead < this.outLen || this.outLen < this.out.length / 2) return;
    this.checksum();
    const keep = Math.min(WINDOW, this.outLen);
    this.out.copy(this.out, 0, this.outLen - keep, this.outLen);
    this.outRead = keep;
    this.outLen = keep;
    this.crcFrom = keep;
  }

  private checksum(): void {
    if (this.crcFrom < this.outLen) {
      this.crc = crc32(this.out.subarray(this.crcFrom, this.outLen), this.crc);
      this.size = (this.size + this.outLen - this.crcFrom) >>> 0;
      this.crcFrom = this.outLen;
    }
  }

  private byte(): number {
    if (this.pos >= this.inLen) throw MORE;
    return this.in[this.pos++]!;
  }

  private bits(n: number): number {
    while (this.bitCnt < n) {
      if (this.pos >= this.inLen) throw MORE;
      this.bitBuf |= this.in[this.pos++]! << this.bitCnt;
      this.bitCnt += 8;
    }
    const v = this.bitBuf & ((1 << n) - 1);
    this.bitBuf >>>= n;
    this.bitCnt -= n;
    return v;
  }

  private decode(c: Code): number {
    while (this.bitCnt < c.bits) {
      if (this.pos >= this.inLen) {
        // The last codes of a stream may be shorter than the table's index: decode with what there is.
        if (this.bitCnt > 0) {
          const e = c.table[this.bitBuf & ((1 << c.bits) - 1)]!;
          if (e && (e & 15) <= this.bitCnt) break;
        }
        throw MORE;
      }
      this.bitBuf |= this.in[this.pos++]! << this.bitCnt;
      this.bitCnt += 8;
    }
    const e = c.table[this.bitBuf & ((1 << c.bits) - 1)]!;
    const len = e & 15;
    if (!len) throw new GzipError('invalid Huffman code');
    this.bitBuf >>>= len;
    this.bitCnt -= len;
    return e >> 4;
  }

  private header(): void {
    if (this.members > 0 && this.in[this.pos] === 0) {
      // Zero padding after the last member (tape blocks, some writers): the end, as gzip reads it.
      while (this.byte() === 0);
      throw new GzipError(`data after gzip member ${this.members} is not another gzip member`);
    }
    if (this.byte() !== 0x1f || this.byte() !== 0x8b) {
      throw new GzipError(this.members ? `data after gzip member ${this.members} is not another gzip member` : 'not gzip data');
    }
    if (this.byte() !== 8) throw new GzipError('compression method is not deflate');
    const flags = this.byte();
    for (let i = 0; i < 6; i++) this.byte(); // mtime, xfl, os
    if (flags & 4) {
      const n = this.byte() | (this.byte() << 8);
      for (let i = 0; i < n; i++) this.byte();
    }
    if (flags & 8) while (this.byte() !== 0);
    if (flags & 16) while (this.byte() !== 0);
    if (flags & 2) this.byte(), this.byte();
    this.state = 'block';
    this.lastBlock = false;
    this.members++;
    this.crc = 0;
    this.size = 0;
    this.crcFrom = this.outLen;
  }

  private trailer(): void {
    // Byte-aligned after the last block: give back whole bytes left in the bit buffer.
    this.pos -= this.bitCnt >> 3;
    this.bitBuf = 0;
    this.bitCnt = 0;
    const b = [0, 0, 0, 0, 0, 0, 0, 0].map(() => this.byte());
    const crc = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    const size = (b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24)) >>> 0;
    this.checksum();
    if (crc !== this.crc >>> 0) throw new GzipError(`CRC mismatch in gzip member ${this.members} (the compressed file is corrupt)`);
    if (size !== this.size) throw new GzipError(`length mismatch in gzip member ${this.members} (the compressed file is corrupt)`);
    this.state = 'header';
  }

  private room(n: number): void {
    if (this.outLen + n <= this.out.length) return;
    const bigger = Buffer.alloc(Math.max(this.out.length * 2, this.outLen + n));
    this.out.copy(bigger, 0, 0, this.outLen);
    this.out = bigger;
  }

  private block(): void {
    if (this.lastBlock) return void (this.state = 'trailer');
    const final = this.bits(1);
    const type = this.bits(2);
    if (type === 0) {
      this.pos -= this.bitCnt >> 3;
      this.bitBuf = 0;
      this.bitCnt = 0;
      if (this.pos + 4 > this.inLen) throw MORE;
      const len = this.in.readUInt16LE(this.pos);
      const nlen = this.in.readUInt16LE(this.pos + 2);
      if ((len ^ 0xffff) !== nlen) throw new GzipError('stored block length does not match its complement');
      if (this.pos + 4 + len > this.inLen) {
        if (this.rawEof) {
          // Cut short inside a stored block: what it holds so far is decoded output too.
          const have = this.inLen - this.pos - 4;
          this.room(have);
          this.in.copy(this.out, this.outLen, this.pos + 4, this.inLen);
          this.outLen += have;
        }
        throw MORE;
      }
      this.room(len);
      this.in.copy(this.out, this.outLen, this.pos + 4, this.pos + 4 + len);
      this.outLen += len;
      this.pos += 4 + len;
    } else if (type === 1) {
      this.codes(FIXED_LIT, FIXED_DIST);
    } else if (type === 2) {
      const nlit = this.bits(5) + 257;
      const ndist = this.bits(5) + 1;
      const ncl = this.bits(4) + 4;
      if (nlit > 286 || ndist > 30) throw new GzipError('too many length or distance codes');
      const cl = new Array<number>(19).fill(0);
      for (let i = 0; i < ncl; i++) cl[CL_ORDER[i]!] = this.bits(3);
      const clCode = buildCode(cl, 19, 'code length');
      const lengths = new Array<number>(nlit + ndist).fill(0);
      for (let i = 0; i < nlit + ndist; ) {
        const sym = this.decode(clCode);
        if (sym < 16) lengths[i++] = sym;
        else {
          let rep: number;
          let v = 0;
          if (sym === 16) {
            if (i === 0) throw new GzipError('a repeated code length with none before it');
            v = lengths[i - 1]!;
            rep = 3 + this.bits(2);
          } else rep = sym === 17 ? 3 + this.bits(3) : 11 + this.bits(7);
          if (i + rep > nlit + ndist) throw new GzipError('code lengths run past their count');
          while (rep--) lengths[i++] = v;
        }
      }
      if (!lengths[256]) throw new GzipError('no end-of-block code');
      this.codes(buildCode(lengths, nlit, 'literal/length'), buildCode(lengths.slice(nlit), ndist, 'distance'));
    } else {
      throw new GzipError('invalid deflate block type 3');
    }
    if (final) this.lastBlock = true;
  }

  private codes(lit: Code, dist: Code): void {
    for (;;) {
      const sym = this.decode(lit);
      if (sym < 256) {
        this.room(1);
        this.out[this.outLen++] = sym;
      } else if (sym === 256) {
        return;
      } else {
        const li = sym - 257;
        if (li >= 29) throw new GzipError('invalid length code');
        const len = LEN_BASE[li]! + this.bits(LEN_EXTRA[li]!);
        const di = this.decode(dist);
        if (di >= 30) throw new GzipError('invalid distance code');
        const d = DIST_BASE[di]! + this.bits(DIST_EXTRA[di]!);
        // The last 32 KiB of output are always kept (compactOut): a longer reach is corrupt data.
        if (d > this.outLen) throw new GzipError('a back-reference before the start of the data');
        this.room(len);
        const o = this.out;
        let from = this.outLen - d;
        for (let k = 0; k < len; k++) o[this.outLen++] = o[from++]!;
      }
    }
  }
}
