// Reading the user's input files with bounds: only regular files (a device such as /dev/zero never ends, a FIFO may
// never be written), and never more than a stated size, so that no input file can make XDP Lens read without end or
// exhaust memory. Captures are the exception: they may be streams (see net/capture.ts), and are read in constant
// memory. The limits are far above any real input and are stated in README.md ("Limits").
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs';

const MiB = 1024 * 1024;

/** Largest file accepted for each kind of input, in bytes. */
export const INPUT_LIMITS = {
  /** A C source file (the program, or a file given to `check`). */
  source: 16 * MiB,
  /** A BPF object: 1 million instructions are 8 MiB of code; BTF and DWARF come on top. */
  object: 256 * MiB,
  /** A `--maps` seed. */
  maps: 64 * MiB,
  /** A `--routes` table. */
  routes: 16 * MiB,
  /** A compile_commands.json (a full kernel build writes a few tens of MiB). */
  compileCommands: 256 * MiB,
} as const;

/** An input file that cannot be used; the message names the file and why. */
export class InputFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'InputFileError';
  }
}

function describe(bytes: number): string {
  return bytes >= MiB && bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`;
}

/**
 * The bytes of `path`, read only when it is a regular file of at most `limit` bytes. `what` names the input in the
 * error ("--maps file", "program").
 */
export function readInputFile(path: string, what: string, limit: number): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new InputFileError(path, `cannot read ${path} (${what}): ${(e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new InputFileError(path, `${what} ${path} is a directory, not a file`);
    if (!st.isFile()) {
      const kind = st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'not a regular file';
      throw new InputFileError(path, `${what} ${path} is ${kind}; only regular files are read (limit ${describe(limit)})`);
    }
    if (st.size > limit)
      throw new InputFileError(path, `${what} ${path} is ${st.size} bytes, more than the limit of ${describe(limit)}`);
    // Read to the end, but never past the limit (a file can grow while it is read, and /proc files report size 0).
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(st.size - total, 64 * 1024), limit + 1 - total));
      if (buf.length === 0) break;
      let got: number;
      try {
        got = readSync(fd, buf, 0, buf.length, total);
      } catch (e) {
        throw new InputFileError(path, `cannot read ${path} (${what}): ${(e as Error).message}`);
      }
      if (got === 0) break;
      chunks.push(got === buf.length ? buf : buf.subarray(0, got));
      total += got;
      if (total > limit) throw new InputFileError(path, `${what} ${path} is more than the limit of ${describe(limit)}`);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** As readInputFile, decoded as UTF-8. */
export function readInputText(path: string, what: string, limit: number): string {
  return readInputFile(path, what, limit).toString('utf8');
}

/**
 * The first command-line argument that is not valid UTF-8 (a file name in Latin-1, say), described for an error;
 * undefined when all are. Node.js hands such an argument over with U+FFFD in place of the bytes, so a file it names
 * cannot be opened, and "no such file" would mislead. The bytes are read from /proc/self/cmdline, whose last entries
 * are `args` (Linux; elsewhere nothing is found).
 */
export function nonUtf8Argument(args: readonly string[]): string | undefined {
  if (!args.some((a) => a.includes('\uFFFD'))) return undefined;
  let raw: Buffer[];
  try {
    const b = readFileSync('/proc/self/cmdline');
    raw = [];
    for (let i = 0; i < b.length; ) {
      const end = b.indexOf(0, i);
      raw.push(b.subarray(i, end < 0 ? b.length : end));
      i = end < 0 ? b.length : end + 1;
    }
  } catch {
    return undefined;
  }
  const last = raw.slice(raw.length - args.length);
  if (last.length !== args.length) return undefined;
  for (let i = 0; i < args.length; i++) {
    const bytes = last[i]!;
    // The entry is this argument (it decodes to it) and its bytes are not what the text encodes: not UTF-8.
    if (!args[i]!.includes('\uFFFD') || bytes.toString('utf8') !== args[i] || Buffer.from(args[i]!, 'utf8').equals(bytes)) continue;
    let shown = '';
    const text = bytes.toString('latin1');
    // Valid UTF-8 runs as they are, every other byte as \xNN.
    for (let o = 0; o < bytes.length; ) {
      const c = bytes[o]!;
      const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
      if (len > 0 && o + len <= bytes.length) {
        const part = bytes.subarray(o, o + len);
        if (!part.toString('utf8').includes('\uFFFD')) {
          shown += part.toString('utf8');
          o += len;
          continue;
        }
      }
      shown += `\\x${text.charCodeAt(o).toString(16).padStart(2, '0')}`;
      o += 1;
    }
    return `'${shown}'`;
  }
  return undefined;
}
