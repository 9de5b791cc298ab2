// The LSP base protocol over a byte stream (`--stdio`), read so that a framing error costs one message, never the
// connection: a header block without a usable Content-Length, or junk between messages, is dropped with a log line
// and reading resumes at the next `Content-Length:` header; a body that is not a JSON object is dropped with a log line;
// a message larger than the limit is skipped without being held in memory. (The stock reader stops at the first bad
// header and leaves every later message unanswered.)
import { AbstractMessageReader, type DataCallback, type Disposable, type Message, type MessageReader } from 'vscode-languageserver/node';

/** Largest message accepted (a didOpen of a 16 MiB source, JSON-escaped, fits). */
export const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
/** A header block longer than this is junk. */
const MAX_HEADER_BYTES = 8192;
const HEADER = Buffer.from('content-length:');
const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Where `Content-Length:` (any case) starts in `buf` at or after `from`, or -1. */
function findHeader(buf: Buffer, from: number): number {
  for (let i = buf.indexOf(':', from); i >= 0; i = buf.indexOf(':', i + 1)) {
    const start = i - (HEADER.length - 1);
    if (start >= from && buf.subarray(start, i + 1).toString('latin1').toLowerCase() === 'content-length:') return start;
  }
  return -1;
}

export class ResyncingMessageReader extends AbstractMessageReader implements MessageReader {
  private buf: Buffer = Buffer.alloc(0);
  /** Body length of the message being read; -1 while reading headers. */
  private bodyLength = -1;
  /** Bytes still to drop of a message too large to accept. */
  private skip = 0;
  /** Dropping bytes until the next Content-Length header. */
  private resync = false;
  private callback: DataCallback | undefined;

  constructor(
    private readonly stream: NodeJS.ReadableStream,
    private readonly log: (message: string) => void,
  ) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (chunk: Buffer | string) => {
      try {
        this.onData(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
      } catch (e) {
        // A bug here must not end the connection: drop what is buffered and start over at the next header.
        this.log(`xdp-lens server: internal error reading a message (${(e as Error).message}); resynchronising`);
        this.buf = Buffer.alloc(0);
        this.bodyLength = -1;
        this.resync = true;
      }
    };
    const onError = (e: Error) => this.fireError(e);
    const onClose = () => this.fireClose();
    this.stream.on('data', onData);
    this.stream.on('error', onError);
    this.stream.on('close', onClose);
    return {
      dispose: () => {
        this.stream.off('data', onData);
        this.stream.off('error', onError);
        this.stream.off('close', onClose);
        this.callback = undefined;
      },
    };
  }

  /** Feed bytes (exposed for tests). */
  onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.buf.length);
        this.skip -= n;
        this.buf = this.buf.subarray(n);
        if (this.skip > 0) return;
        continue;
      }
      if (this.resync) {
        const at = findHeader(this.buf, 0);
        if (at < 0) {
          // Keep a tail that may be the start of a header split across chunks.
          this.buf = this.buf.subarray(Math.max(0, this.buf.length - (HEADER.length - 1)));
          return;
        }
        this.buf = this.buf.subarray(at);
        this.resync = false;
      }
      if (this.bodyLength >= 0) {
        if (this.buf.length < this.bodyLength) return;
        const body = this.buf.subarray(0, this.bodyLength);
        this.buf = this.buf.subarray(this.bodyLength);
        this.bodyLength = -1;
        this.deliver(body);
        continue;
      }
      const end = this.buf.indexOf(CRLFCRLF);
      if (end < 0) {
        if (this.buf.length > MAX_HEADER_BYTES) this.junk(`${this.buf.length} bytes without the end of a header block`);
        else if (!/^[\x20-\x7e\r\n\t]*$/.test(this.buf.toString('latin1'))) this.junk('bytes that are not a header');
        else return;
        continue;
      }
      const block = this.buf.subarray(0, end).toString('latin1');
      const start = findHeader(this.buf.subarray(0, end), 0);
      if (start > 0 && !/^[A-Za-z-]+:/.test(block)) {
        this.log(`xdp-lens server: dropped ${start} bytes of junk before a message header`);
        this.buf = this.buf.subarray(start);
        continue;
      }
      this.buf = this.buf.subarray(end + 4);
      let length: string | undefined;
      for (const line of block.split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'content-length') length = line.slice(colon + 1).trim();
      }
      if (length === undefined || !/^[0-9]{1,12}$/.test(length)) {
        const shown = JSON.stringify(block.length > 200 ? `${block.slice(0, 200)}...` : block);
        this.log(
          `xdp-lens server: dropped a message whose header has ${length === undefined ? 'no Content-Length' : `an invalid Content-Length ${JSON.stringify(length)}`} (header ${shown}); resynchronising at the next Content-Length header`,
        );
        this.resync = true;
        continue;
      }
      const n = Number(length);
      if (n > MAX_MESSAGE_BYTES) {
        this.log(`xdp-lens server: dropped a message of ${n} bytes (the limit is ${MAX_MESSAGE_BYTES})`);
        this.skip = n;
        continue;
      }
      this.bodyLength = n;
    }
  }

  private junk(what: string): void {
    this.log(`xdp-lens server: dropped ${what}; resynchronising at the next Content-Length header`);
    this.buf = this.buf.subarray(1);
    this.resync = true;
  }

  private deliver(body: Buffer): void {
    let message: unknown;
    try {
      message = JSON.parse(body.toString('utf8'));
    } catch (e) {
      this.log(`xdp-lens server: dropped a message whose body is not JSON (${(e as Error).message})`);
      return;
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      this.log(`xdp-lens server: dropped a message that is not a JSON-RPC object (${Array.isArray(message) ? 'a batch' : typeof message})`);
      return;
    }
    try {
      this.callback?.(message as Message);
    } catch (e) {
      this.log(`xdp-lens server: a message could not be handled: ${(e as Error).message}`);
    }
  }
}
