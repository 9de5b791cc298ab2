// The formatting of bpf_trace_printk / bpf_trace_vprintk (kernel/bpf/helpers.c bpf_bprintf_prepare, then the kernel's
// vsnprintf): only the conversions the kernel admits, each argument truncated to 32 bits unless an `l`/`ll` modifier
// says 64. A format the kernel would refuse gives undefined, which the helper turns into -EINVAL with no output.
//
// Accepted: flags `0 + - space`, a width, then %d %i %u %x %X (with l or ll), %c, %s, %%, and pointers %p %pK %px
// %ps %pS %pB %pi4 %pI4 %pi6 %pI6 %pks %pus. Plain %p, %pK, %ps, %pS and %pB print kernel addresses or symbols that do not
// exist in a simulation: %p, %pK print the raw value in hex like %px (the kernel hashes them unless kptr_restrict
// says otherwise), %ps, %pS and %pB print 0x and the hex digits, as the kernel does for an address in no symbol.

export type ReadString = (addr: bigint) => string | undefined;
export type ReadBytes = (addr: bigint, len: number) => Uint8Array | undefined;

function pad(body: string, sign: string, width: number, flags: string, numeric: boolean): string {
  const len = sign.length + body.length;
  if (width <= len) return sign + body;
  if (flags.includes('-')) return sign + body + ' '.repeat(width - len);
  if (numeric && flags.includes('0')) return sign + '0'.repeat(width - len) + body;
  return ' '.repeat(width - len) + sign + body;
}

/** The kernel's isspace or ispunct on an ASCII character (the end of the format counts too). */
const spaceOrPunct = (c: string | undefined): boolean => c === undefined || c === '\0' || /^[\s!-\/:-@[-`{-~]$/.test(c);
/** bstr_printf skips every letter and digit that follows a %p conversion (%pI4xyz prints the address alone). */
function skipAlnum(text: string, i: number): number {
  while (/^[A-Za-z0-9]$/.test(text[i + 1] ?? '')) i++;
  return i;
}

function ipv4(b: Uint8Array, zeroPad: boolean): string {
  return Array.from(b.subarray(0, 4), (x) => (zeroPad ? String(x).padStart(3, '0') : String(x))).join('.');
}

function ipv6(b: Uint8Array, colons: boolean): string {
  const h = Array.from(b.subarray(0, 16), (x) => x.toString(16).padStart(2, '0'));
  if (!colons) return h.join('');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(h[i] + h[i + 1]);
  return groups.join(':');
}

/** Format `fmt` (NUL-terminated bytes) with `args`; undefined when the kernel would return -EINVAL. */
export function formatPrintk(fmt: Uint8Array, args: bigint[], readStr: ReadString, readBytes?: ReadBytes): string | undefined {
  return formatPrintkSized(fmt, args, readStr, readBytes, Infinity);
}

/** A conversion of the format, as bpf_bprintf_prepare leaves it for bstr_printf. */
type Item =
  | { t: 'lit'; text: string }
  | { t: 'num'; size: 4 | 8; conv: string; flags: string; width: number }
  | { t: 'chr' | 'str'; flags: string; width: number }
  | { t: 'pre' }
  | { t: 'ptr'; sym: boolean; flags: string; width: number };

/**
 * The text the kernel's bstr_printf produces into a buffer of `size` bytes (its length is what it returns; the buffer
 * holds the first size - 1 bytes and a NUL), or undefined for a format bpf_bprintf_prepare refuses.
 *
 * Two steps, as in the kernel. bpf_bprintf_prepare writes each argument into a byte buffer: numbers and plain pointers
 * 4-byte aligned (4 or 8 bytes), %c one byte, %s/%pks/%pus the string and a NUL, and %pI4 %pi4 %pI6 %pi6 %pB already
 * formatted as text and a NUL. bstr_printf then reads them back while it formats. It copies a piece formatted
 * beforehand without the conversion's width or flags, and only while the output has room: once the output has reached
 * the end of the buffer the piece is neither written nor counted, and its bytes are not stepped over either, so the
 * conversions after it read the piece's text as their arguments (measured on 6.18: "ab%pI4" into 2 bytes returns 3;
 * "%llX%pI4%li" into 16 bytes prints the address's text "0.0.0.0" as the long 13563782106918448). Letters and digits
 * right after any %p conversion are swallowed (%pI4xyz prints the address alone).
 */
export function formatPrintkSized(fmt: Uint8Array, args: bigint[], readStr: ReadString, readBytes: ReadBytes | undefined, size: number): string | undefined {
  const end = fmt.indexOf(0);
  // One character a byte (TextDecoder's 'latin1' is windows-1252, which moves 0x80-0x9f). bpf_bprintf_prepare refuses
  // an ASCII byte that is neither printable nor white space: 0x01-0x08, 0x0e-0x1f, 0x7f (measured on 6.18: "a\x01" and
  // "%d\x7f" are refused at load; bytes 0x80-0xff pass and print as themselves).
  let text = '';
  for (const b of fmt.subarray(0, end < 0 ? fmt.length : end)) {
    if ((b < 0x20 && (b < 9 || b > 13)) || b === 0x7f) return undefined;
    text += String.fromCharCode(b);
  }
  const items: Item[] = [];
  const bin: number[] = [];
  const lit = (t: string): void => {
    const last = items[items.length - 1];
    if (last?.t === 'lit') last.text += t;
    else items.push({ t: 'lit', text: t });
  };
  const put = (v: bigint, n: number): void => {
    while (bin.length % 4) bin.push(0);
    for (let k = 0; k < n; k++) bin.push(Number((v >> BigInt(8 * k)) & 0xffn));
  };
  const putString = (t: string): void => {
    for (let k = 0; k < t.length; k++) bin.push(t.charCodeAt(k) & 0xff);
    bin.push(0);
  };
  const pre = (t: string): void => {
    putString(t);
    items.push({ t: 'pre' });
  };
  let argi = 0;
  const nextArg = (): bigint | undefined => (argi < args.length ? args[argi++] : undefined);
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== '%') {
      lit(ch!);
      continue;
    }
    i++;
    if (text[i] === '%') {
      lit('%');
      continue;
    }
    let flags = '';
    while ('0+- '.includes(text[i] ?? 'x') && i < text.length) flags += text[i++];
    let widthText = '';
    while (/[0-9]/.test(text[i] ?? '')) widthText += text[i++];
    const width = widthText ? Number(widthText) : 0;
    let long = false;
    if (text[i] === 'l') {
      long = true;
      i++;
      if (text[i] === 'l') i++;
    }
    const conv = text[i];
    if (conv === undefined) return undefined;
    const raw = nextArg();
    if (raw === undefined) return undefined;
    const v64 = BigInt.asUintN(64, raw);
    switch (conv) {
      case 'd':
      case 'i':
      case 'u':
      case 'x':
      case 'X':
        put(v64, long ? 8 : 4);
        items.push({ t: 'num', size: long ? 8 : 4, conv, flags, width });
        break;
      case 'c':
        if (long) return undefined;
        bin.push(Number(v64 & 0xffn));
        items.push({ t: 'chr', flags, width });
        break;
      case 's':
        // bpf_bprintf_prepare: %s (and %pks, %pus) must be followed by the end, white space or punctuation.
        if (long || !spaceOrPunct(text[i + 1])) return undefined;
        putString(readStr(v64) ?? '');
        items.push({ t: 'str', flags, width });
        break;
      case 'p': {
        if (long) return undefined;
        const kind = text[i + 1];
        if ((kind === 'i' || kind === 'I') && (text[i + 2] === '4' || text[i + 2] === '6')) {
          const v6 = text[i + 2] === '6';
          i += 2;
          if (!readBytes) return undefined;
          // An address the kernel cannot read (copy_from_kernel_nofault fails) prints as zero bytes, not an error.
          const b = readBytes(v64, v6 ? 16 : 4) ?? new Uint8Array(v6 ? 16 : 4);
          pre(v6 ? ipv6(b, kind === 'I') : ipv4(b, kind === 'i'));
          i = skipAlnum(text, i);
          break;
        }
        if ((kind === 'k' || kind === 'u') && text[i + 2] === 's') {
          // %pks / %pus: a kernel or user string. The simulator has no user memory (every address of its regions is
          // kernel memory, which a user copy refuses): %pus prints nothing, as a failed copy does.
          i += 2;
          if (!spaceOrPunct(text[i + 1])) return undefined;
          pre(kind === 'k' ? readStr(v64) ?? '' : '');
          break;
        }
        // bpf_bprintf_prepare: a plain pointer is %p followed by the end, a space or punctuation, or one of K x s S B;
        // any other letter or digit after %p (%pM, %pI5) is -EINVAL (measured on 6.18: bpf_snprintf refused at load).
        if (!spaceOrPunct(kind) && !'KxsSB'.includes(kind!)) return undefined;
        if (kind === 'K' || kind === 'x' || kind === 's' || kind === 'S' || kind === 'B') i = skipAlnum(text, i + 1);
        // %ps %pS %pB: a symbol; no address a program has is in a kernel symbol, and then the kernel prints 0x and
        // the hex digits (measured: %ps of 5 is '0x5'); %pB is formatted beforehand (no width).
        if (kind === 'B') pre(`0x${v64.toString(16)}`);
        else {
          put(v64, 8);
          items.push({ t: 'ptr', sym: kind === 's' || kind === 'S', flags, width: widthText ? width : -1 });
        }
        break;
      }
      default:
        return undefined;
    }
  }
  // bstr_printf: read the arguments back (get_arg: 4-byte aligned numbers, %c a byte, strings up to their NUL).
  let rd = 0;
  let out = '';
  const read = (n: number): bigint => {
    rd = (rd + 3) & ~3;
    let v = 0n;
    for (let k = 0; k < n; k++) v |= BigInt(bin[rd + k] ?? 0) << BigInt(8 * k);
    rd += n;
    return v;
  };
  const cstring = (): string => {
    let t = '';
    while (rd < bin.length && bin[rd] !== 0) t += String.fromCharCode(bin[rd++]!);
    rd++;
    return t;
  };
  for (const it of items) {
    switch (it.t) {
      case 'lit':
        out += it.text;
        break;
      case 'num': {
        const v64 = read(it.size);
        const { conv, flags, width } = it;
        if (conv === 'd' || conv === 'i') {
          const n = it.size === 8 ? BigInt.asIntN(64, v64) : BigInt.asIntN(32, v64);
          const sign = n < 0n ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
          out += pad((n < 0n ? -n : n).toString(), sign, width, flags, true);
        } else if (conv === 'u') out += pad(v64.toString(), '', width, flags, true);
        else out += pad(conv === 'X' ? v64.toString(16).toUpperCase() : v64.toString(16), '', width, flags, true);
        break;
      }
      case 'chr':
        out += pad(String.fromCharCode(bin[rd++] ?? 0), '', it.width, it.flags, false);
        break;
      case 'str':
        out += pad(cstring(), '', it.width, it.flags, false);
        break;
      case 'pre':
        if (out.length < size) out += cstring();
        break;
      case 'ptr': {
        const v64 = read(8);
        // The kernel's pointer_string: with no width given, 16 and zero-padded (unless '-': "%-p" of NULL is 0 and 15
        // spaces), else the number in the width asked for (measured: "%12p" of NULL is 11 spaces and 0, "%05px" of 7
        // is 00007).
        if (it.sym) out += pad(`0x${v64.toString(16)}`, '', it.width, it.flags, false);
        else out += it.width < 0 ? pad(v64.toString(16), '', 16, `${it.flags}0`, true) : pad(v64.toString(16), '', it.width, it.flags, true);
        break;
      }
    }
  }
  return out;
}
