// Reading the user's input files with bounds: only regular files (a device such as /dev/zero never ends, a FIFO may
// never be written), and never more than a stated size, so that no input file can make XDP Lens read without end or
// exhaust memory. Captures are the exception: they may be streams (see net/capture.ts), and are read in constant
// memory. The limits are far above any real input and are stated in README.md ("Limits").
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

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
