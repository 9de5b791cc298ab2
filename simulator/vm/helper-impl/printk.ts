// The formatting of bpf_trace_printk / bpf_trace_vprintk (kernel/bpf/helpers.c bpf_bprintf_prepare, then the kernel's
// vsnprintf): only the conversions the kernel admits, each argument truncated to 32 bits unless an `l`/`ll` modifier
// says 64. A format the kernel would refuse gives undefined, which the helper turns into -EINVAL with no output.
//
// Accepted: flags `0 + - space`, a width, then %d %i %u %x %X (with l or ll), %c, %s, %%, and pointers %p %pK %px
// %ps %pS %pB %pi4 %pI4 %pi6 %pI6 %pks %pus. Plain %p, %pK, %ps, %pS and %pB print kernel addresses or symbols that do not
// exist in a simulation; they print the raw value in hex like %px.

export type ReadString = (addr: bigint) => string | undefined;
export type ReadBytes = (addr: bigint, len: number) => Uint8Array | undefined;

function pad(body: string, sign: string, width: number, flags: string, numeric: boolean): string {
  const len = sign.length + body.length;
  if (width <= len) return sign + body;
  if (flags.includes('-')) return sign + body + ' '.repeat(width - len);
  if (numeric && flags.includes('0')) return sign + '0'.repeat(width - len) + body;
  return ' '.repeat(width - len) + sign + body;
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
  const end = fmt.indexOf(0);
  const text = new TextDecoder('latin1').decode(fmt.subarray(0, end < 0 ? fmt.length : end));
  let out = '';
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
        if (long) return undefined;
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
          out += pad(v6 ? ipv6(b, kind === 'I') : ipv4(b, kind === 'i'), '', width, flags, false);
          break;
        }
        if ((kind === 'k' || kind === 'u') && text[i + 2] === 's') {
          // %pks / %pus: a kernel or user string. The simulator has no user memory (every address of its regions is
          // kernel memory, which a user copy refuses): %pus prints nothing, as a failed copy does.
          i += 2;
          out += pad(kind === 'k' ? readStr(v64) ?? '' : '', '', width, flags, false);
          break;
        }
        // bpf_bprintf_prepare: a plain pointer is %p followed by the end, a space or punctuation, or one of K x s S B;
        // any other letter or digit after %p (%pM, %pI5) is -EINVAL (measured on 6.18: bpf_snprintf refused at load).
        if (kind !== undefined && kind !== '\0' && !/^[\s!-\/:-@[-`{-~]$/.test(kind) && !'KxsSB'.includes(kind)) return undefined;
        if (kind === 'K' || kind === 'x' || kind === 's' || kind === 'S' || kind === 'B') i++;
        out += pad(v64.toString(16).padStart(16, '0'), '', width, flags, false);
        break;
      }
      default:
        return undefined;
    }
  }
  return out;
}
