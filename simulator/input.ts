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
    // One buffer, grown by doubling only when full: a file that answers in short reads (sysfs hands
    // /sys/kernel/btf/vmlinux over 4 KiB a read) must not cost a buffer of the whole size per read. Reading the kernel's
    // 5 MB BTF that way allocated 1,300 buffers of 5 MB, and each made V8 run a full garbage collection (7-20 s
    // beside a large --conntrack or --maps seed, ~2 s alone).
    let buf = Buffer.allocUnsafe(Math.min(Math.max(st.size + 1, 64 * 1024), limit + 1));
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        if (total > limit) throw new InputFileError(path, `${what} ${path} is more than the limit of ${describe(limit)}`);
        const bigger = Buffer.allocUnsafe(Math.min(2 * buf.length, limit + 1));
        buf.copy(bigger, 0, 0, total);
        buf = bigger;
      }
      let got: number;
      try {
        got = readSync(fd, buf, total, buf.length - total, total);
      } catch (e) {
        throw new InputFileError(path, `cannot read ${path} (${what}): ${(e as Error).message}`);
      }
      if (got === 0) break;
      total += got;
    }
    if (total > limit) throw new InputFileError(path, `${what} ${path} is more than the limit of ${describe(limit)}`);
    return buf.subarray(0, total);
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

/**
 * The JSON value of the file at `path` (read as readInputText reads it). Text that is not JSON is an InputFileError
 * naming the line and column of the first character that cannot be read: `maps.json:3:12: not valid JSON: expected
 * ',' or '}' after a member, found ']'`.
 */
export function readInputJson(path: string, what: string, limit: number): unknown {
  const text = readInputText(path, what, limit);
  try {
    return JSON.parse(text);
  } catch {
    const { offset, reason } = jsonError(text);
    let line = 1;
    let lineStart = 0;
    for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    throw new InputFileError(path, `${path}:${line}:${offset - lineStart + 1}: not valid JSON: ${reason}`);
  }
}

/**
 * Where and why `text` (which JSON.parse refused) stops being JSON (RFC 8259). A scan with an explicit stack, so a
 * file nested a million deep is read without recursion.
 */
export function jsonError(text: string): { offset: number; reason: string } {
  const n = text.length;
  let i = 0;
  const stack: ('{' | '[')[] = [];
  /** The container on top of the stack was just opened: it may close at once, and has no ',' before its first member. */
  let fresh = false;
  const shown = (at: number): string => (at >= n ? 'the end of the file' : `'${JSON.stringify(text[at]).slice(1, -1)}'`);
  const fail = (reason: string, at = i) => ({ offset: at, reason: `${reason}, found ${shown(at)}` });
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  /** Reads a string at i (text[i] === '"'); undefined when it is well formed. */
  const string = (): { offset: number; reason: string } | undefined => {
    i++;
    for (;;) {
      if (i >= n) return fail('a string is not closed');
      const c = text.charCodeAt(i);
      if (c === 0x22) return void i++;
      if (c < 0x20) return { offset: i, reason: 'a control character (a raw line break or tab?) inside a string; write it as \\n or \\t' };
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else return { offset: i, reason: 'a backslash escape JSON does not have' };
      } else i++;
    }
  };
  /** Reads one scalar value or opens a container at i; undefined when well formed. */
  const value = (): { offset: number; reason: string } | undefined => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      stack.push(c);
      fresh = true;
      i++;
      return undefined;
    }
    if (c === '"') return string();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return undefined;
      }
    }
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (m && m[0].length > 0 && m[0] !== '-') {
      i += m[0].length;
      return undefined;
    }
    return fail('expected a value (an object, list, string, number, true, false or null)');
  };
  // After each value: in a container, ',' or its close; at the top, only white space.
  let bad = value();
  if (bad) return bad;
  for (;;) {
    ws();
    const top = stack[stack.length - 1];
    if (top === undefined) return i < n ? fail('expected the end of the file after the value') : { offset: i, reason: 'not JSON' };
    const close = top === '{' ? '}' : ']';
    if (text[i] === close) {
      stack.pop();
      fresh = false;
      i++;
      continue;
    }
    if (!fresh) {
      if (text[i] !== ',') return fail(top === '{' ? "expected ',' or '}' after a member" : "expected ',' or ']' after an element");
      i++;
      ws();
    }
    fresh = false;
    if (top === '{') {
      if (text[i] !== '"') return fail('expected a member name in double quotes');
      bad = string();
      if (bad) return bad;
      ws();
      if (text[i] !== ':') return fail("expected ':' after a member name");
      i++;
    }
    bad = value();
    if (bad) return bad;
  }
}
