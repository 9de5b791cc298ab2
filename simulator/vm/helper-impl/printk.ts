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

/**
 * A piece of formatted text. `pre` marks what bpf_bprintf_prepare formats before the kernel's bstr_printf runs (%pI4
 * %pi4 %pI6 %pi6 as text, the strings of %pks %pus, %pB): bstr_printf copies such a piece without the conversion's
 * width or flags, and only while its output still has room: a piece that starts at or past the end of the buffer is
 * neither written nor counted in the length returned (measured on 6.18: bpf_snprintf(t, 2, "ab%pI4", ...) returns 3).
 */
export interface PrintkPart {
  text: string;
  pre: boolean;
}

/** Format `fmt` (NUL-terminated bytes) with `args`; undefined when the kernel would return -EINVAL. */
export function formatPrintk(fmt: Uint8Array, args: bigint[], readStr: ReadString, readBytes?: ReadBytes): string | undefined {
  return formatPrintkParts(fmt, args, readStr, readBytes)?.map((p) => p.text).join('');
}

/**
 * What bstr_printf makes of `parts` in a buffer of `size` bytes: the text it would write given room (pieces formatted
 * beforehand left out once the output reached the end) and so its length (bpf_snprintf returns length + 1). The buffer
 * holds the first size - 1 bytes of the text and a NUL.
 */
export function printkOutput(parts: PrintkPart[], size: number): string {
  let text = '';
  for (const p of parts) if (!p.pre || text.length < size) text += p.text;
  return text;
}

/** formatPrintk's pieces (see PrintkPart); undefined when the kernel would return -EINVAL. */
export function formatPrintkParts(fmt: Uint8Array, args: bigint[], readStr: ReadString, readBytes?: ReadBytes): PrintkPart[] | undefined {
  const end = fmt.indexOf(0);
  // One character a byte (TextDecoder's 'latin1' is windows-1252, which moves 0x80-0x9f). bpf_bprintf_prepare refuses
  // an ASCII byte that is neither printable nor white space: 0x01-0x08, 0x0e-0x1f, 0x7f (measured on 6.18: "a\x01" and
  // "%d\x7f" are refused at load; bytes 0x80-0xff pass and print as themselves).
  let text = '';
  for (const b of fmt.subarray(0, end < 0 ? fmt.length : end)) {
    if ((b < 0x20 && (b < 9 || b > 13)) || b === 0x7f) return undefined;
    text += String.fromCharCode(b);
  }
  const parts: PrintkPart[] = [];
  let out = '';
  const pre = (t: string): void => {
    if (out) parts.push({ text: out, pre: false });
    out = '';
    parts.push({ text: t, pre: true });
  };
  let argi = 0;
  const nextArg = (): bigint | undefined => (argi < args.length ? args[argi++] : undefined);
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== '%') {
      out += ch;
      continue;
    }
    i++;
    if (text[i] === '%') {
      out += '%';
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
      case 'i': {
        const n = long ? BigInt.asIntN(64, v64) : BigInt.asIntN(32, v64);
        const sign = n < 0n ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
        out += pad((n < 0n ? -n : n).toString(), sign, width, flags, true);
        break;
      }
      case 'u':
        out += pad((long ? v64 : BigInt.asUintN(32, v64)).toString(), '', width, flags, true);
        break;
      case 'x':
      case 'X': {
        const s = (long ? v64 : BigInt.asUintN(32, v64)).toString(16);
        out += pad(conv === 'X' ? s.toUpperCase() : s, '', width, flags, true);
        break;
      }
      case 'c':
        if (long) return undefined;
        out += pad(String.fromCharCode(Number(v64 & 0xffn)), '', width, flags, false);
        break;
      case 's':
        // bpf_bprintf_prepare: %s (and %pks, %pus) must be followed by the end, white space or punctuation.
        if (long || !spaceOrPunct(text[i + 1])) return undefined;
        out += pad(readStr(v64) ?? '', '', width, flags, false);
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
        else if (kind === 's' || kind === 'S') out += pad(`0x${v64.toString(16)}`, '', width, flags, false);
        else out += pad(v64.toString(16).padStart(16, '0'), '', width, flags, false);
        break;
      }
      default:
        return undefined;
    }
  }
  if (out) parts.push({ text: out, pre: false });
  return parts;
}
