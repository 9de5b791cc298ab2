// The regular expressions of the display filter's `matches` operator, matched in time linear in the text.
//
// tshark compiles the right side of `matches` with PCRE2, caseless and without UTF-8, and matches it against the
// bytes of the field's text. This module reads the same pattern syntax (everything whose answer does not depend on
// backtracking: literals, classes, POSIX classes, escapes, anchors, word boundaries, groups, alternation, greedy and
// lazy quantifiers, the options i m s x) into a small automaton and runs it as a lazily built DFA over those bytes:
// every text is read once, whatever the pattern, so no pattern can hang a filter. Constructs that need
// backtracking (backreferences, lookaround, atomic groups, possessive quantifiers, recursion, conditionals) are
// refused with a RegexError naming their position, as are patterns that PCRE2 would refuse. The DFA's states are
// kept in a bounded cache (started over when full), so memory stays bounded too.

/** A pattern that cannot be compiled; `index` is the offset in the pattern (in bytes of its UTF-8 text). */
export class RegexError extends Error {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/** The largest automaton a pattern may compile to (a{1000}{1000}-like repetition is refused). */
const MAX_PROGRAM = 10_000;
/** DFA states kept before the cache starts over. */
const MAX_STATES = 2_000;
/** Instructions the cached states may hold in all (a large pattern's states are large sets). */
const MAX_HELD = 1_000_000;
/** Deepest nesting of groups (deeper is refused, not a stack overflow). */
const MAX_DEPTH = 250;
/** PCRE2's limit on a {n,m} count. */
const MAX_REPEAT = 65_535;

type Node =
  | { k: 'set'; set: Uint8Array }
  | { k: 'cat'; parts: Node[] }
  | { k: 'alt'; alts: Node[] }
  | { k: 'rep'; node: Node; min: number; max: number }
  | { k: 'assert'; a: Assertion };

/** BOL: ^ or \A; MBOL: ^ under (?m); EOL: $ or \Z; MEOL: $ under (?m); EOT: \z; WB: \b; NWB: \B. */
type Assertion = 'BOL' | 'MBOL' | 'EOL' | 'MEOL' | 'EOT' | 'WB' | 'NWB';

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
}

const isWordByte = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

function makeSet(pred: (c: number) => boolean): Uint8Array {
  const s = new Uint8Array(256);
  for (let c = 0; c < 256; c++) if (pred(c)) s[c] = 1;
  return s;
}

const CLASS_PREDICATES: Record<string, (c: number) => boolean> = {
  d: (c) => c >= 48 && c <= 57,
  w: isWordByte,
  s: (c) => c === 32 || (c >= 9 && c <= 13),
  h: (c) => c === 9 || c === 32 || c === 0xa0,
  v: (c) => (c >= 10 && c <= 13) || c === 0x85,
  N: (c) => c !== 10,
};

const POSIX: Record<string, (c: number) => boolean> = {
  alpha: (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  digit: (c) => c >= 48 && c <= 57,
  alnum: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  upper: (c) => c >= 65 && c <= 90,
  lower: (c) => c >= 97 && c <= 122,
  space: (c) => c === 32 || (c >= 9 && c <= 13),
  blank: (c) => c === 32 || c === 9,
  punct: (c) => (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126),
  print: (c) => c >= 32 && c <= 126,
  graph: (c) => c >= 33 && c <= 126,
  cntrl: (c) => c < 32 || c === 127,
  xdigit: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102),
  word: isWordByte,
  ascii: (c) => c < 128,
};

/** Adds the other ASCII case of every letter in `s` (PCRE2's caseless matching without UTF is ASCII-only here). */
function caseless(s: Uint8Array): Uint8Array {
  const out = s.slice();
  for (let c = 65; c <= 90; c++) if (s[c] || s[c + 32]) out[c] = out[c + 32] = 1;
  return out;
}

const hexVal = (ch: string | undefined) => (ch !== undefined && /^[0-9a-fA-F]$/.test(ch) ? parseInt(ch, 16) : -1);

// ---------------------------------------------------------------------------------------------------------------
// Parser

class Parser {
  private i = 0;
  private depth = 0;
  private flags: Flags = { i: true, m: false, s: false, x: false };

  /** Capturing groups in the whole pattern (what \10 and up mean depends on it). */
  private readonly groups: number;

  constructor(private readonly p: string) {
    this.groups = (p.match(/\((?!\?)|\(\?P?<[A-Za-z_]|\(\?'/g) ?? []).length;
  }

  private err(msg: string, at = this.i): never {
    throw new RegexError(msg, at);
  }

  parse(): Node {
    const n = this.alternation();
    if (this.i < this.p.length) this.err('unmatched closing parenthesis');
    return n;
  }

  private alternation(): Node {
    const alts = [this.sequence()];
    while (this.p[this.i] === '|') {
      this.i++;
      alts.push(this.sequence());
    }
    return alts.length === 1 ? alts[0]! : { k: 'alt', alts };
  }

  private skipExtended(): void {
    if (!this.flags.x) return;
    for (;;) {
      const c = this.p[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') this.i++;
      else if (c === '#') {
        while (this.i < this.p.length && this.p[this.i] !== '\n') this.i++;
      } else return;
    }
  }

  private sequence(): Node {
    const parts: Node[] = [];
    for (;;) {
      this.skipExtended();
      const c = this.p[this.i];
      if (c === undefined || c === '|' || c === ')') break;
      const atom = this.atom();
      if (atom === null) continue; // an option setting or a comment
      this.skipExtended();
      const q = this.quantifier();
      if (q) {
        if (atom.k === 'assert') this.err('quantifier does not follow a repeatable item', q.at);
        parts.push({ k: 'rep', node: atom, min: q.min, max: q.max });
      } else parts.push(atom);
    }
    return parts.length === 1 ? parts[0]! : { k: 'cat', parts };
  }

  /** A quantifier at the cursor, or undefined. */
  private quantifier(): { min: number; max: number; at: number } | undefined {
    const at = this.i;
    const c = this.p[this.i];
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.p.slice(this.i));
      if (!m) return undefined; // a literal '{'
      min = Number(m[1]);
      max = m[2] ? (m[3] ? Number(m[3]) : Infinity) : min;
      if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) this.err('number too big in {} quantifier', at + 1);
      if (max < min) this.err('numbers out of order in {} quantifier', at + m[0].length - 1);
      this.i += m[0].length - 1;
    } else return undefined;
    this.i++;
    if (this.p[this.i] === '?') this.i++; // lazy: the same answer to "is there a match"
    else if (this.p[this.i] === '+') this.err('possessive quantifiers need backtracking control, which xdp-lens does not do (it matches in linear time)', this.i);
    const next = this.p[this.i];
    if (next === '*' || next === '+' || next === '?' || (next === '{' && /^\{\d+(,\d*)?\}/.test(this.p.slice(this.i))))
      this.err('quantifier does not follow a repeatable item', this.i);
    return { min, max, at };
  }

  private atom(): Node | null {
    const at = this.i;
    const c = this.p[this.i++]!;
    switch (c) {
      case '(':
        return this.group(at);
      case '[':
        if (/^\[:\^?[a-z]+:\]/.test(this.p.slice(at))) this.err('POSIX named classes are supported only within a class', at);
        return this.charClass(at);
      case '.':
        return { k: 'set', set: makeSet(this.flags.s ? () => true : (b) => b !== 10) };
      case '^':
        return { k: 'assert', a: this.flags.m ? 'MBOL' : 'BOL' };
      case '$':
        return { k: 'assert', a: this.flags.m ? 'MEOL' : 'EOL' };
      case '\\':
        return this.escape(at);
      case '*':
      case '+':
      case '?':
        return this.err('quantifier does not follow a repeatable item', at);
      default:
        if (c === '{' && /^\{\d+(,\d*)?\}/.test(this.p.slice(at))) this.err('quantifier does not follow a repeatable item', at);
        return this.literal(c.charCodeAt(0));
    }
  }

  private literal(code: number): Node {
    const s = new Uint8Array(256);
    s[code] = 1;
    return { k: 'set', set: this.flags.i ? caseless(s) : s };
  }

  private group(at: number): Node | null {
    const saved = { ...this.flags };
    const rest = this.p.slice(this.i);
    if (++this.depth > MAX_DEPTH) this.err(`groups nested deeper than ${MAX_DEPTH}`, at);
    if (rest.startsWith('*')) this.err('(*VERB) items are not supported', at);
    if (rest.startsWith('?')) {
      if (rest.startsWith('?#')) {
        const end = this.p.indexOf(')', this.i);
        if (end < 0) this.err('missing ) at end of (?# comment', at);
        this.i = end + 1;
        this.depth--;
        return null;
      }
      if (/^\?(=|!|<=|<!|\*|<\*)/.test(rest))
        this.err('lookahead and lookbehind assertions need backtracking, which xdp-lens does not do (it matches in linear time)', at);
      if (rest.startsWith('?>')) this.err('atomic groups need backtracking control, which xdp-lens does not do (it matches in linear time)', at);
      if (/^\?(\(|R|\d|[+-]\d|&|P>|P=)/.test(rest)) this.err('recursion, subroutine calls and conditional groups are not supported (xdp-lens matches in linear time)', at);
      if (rest.startsWith('?C')) this.err('callouts are not supported', at);
      const named = /^\?(?:P?<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')/.exec(rest);
      if (named) {
        this.i += named[0].length;
      } else if (rest.startsWith('?|')) {
        this.i += 2;
      } else {
        // (?flags) or (?flags:...)
        const m = /^\?(\^)?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])/.exec(rest);
        if (!m) this.err('unrecognized character after (? or (?-', at + 2);
        const on = m[2]!;
        const off = m[3] ?? '';
        const next = { ...this.flags };
        if (m[1]) Object.assign(next, { i: false, m: false, s: false, x: false });
        for (const [letters, v] of [[on, true], [off, false]] as const) {
          for (const f of letters) {
            if (f === 'i' || f === 'm' || f === 's' || f === 'x') next[f] = v;
            else if (f === 'n' || f === 'J' || f === 'U') {
              // no capture by number, duplicate names, lazy by default: the same answer to "is there a match".
            } else this.err('unrecognized character after (? or (?-', at + 2);
          }
        }
        this.i += m[0].length;
        if (m[4] === ')') {
          // Applies to the rest of the enclosing group.
          this.flags = next;
          this.depth--;
          return null;
        }
        this.flags = next;
      }
    }
    const n = this.alternation();
    if (this.p[this.i] !== ')') this.err('missing closing parenthesis', at);
    this.i++;
    this.flags = saved;
    this.depth--;
    // (\b)* is a repeatable item, unlike \b* itself.
    return n.k === 'assert' ? { k: 'cat', parts: [n] } : n;
  }

  /** An escape outside a class. */
  private escape(at: number): Node {
    const c = this.p[this.i];
    if (c === undefined) this.err('\\ at end of pattern', at);
    this.i++;
    switch (c) {
      case 'A':
      case 'G':
        return { k: 'assert', a: 'BOL' };
      case 'Z':
        return { k: 'assert', a: 'EOL' };
      case 'z':
        return { k: 'assert', a: 'EOT' };
      case 'b':
        return { k: 'assert', a: 'WB' };
      case 'B':
        return { k: 'assert', a: 'NWB' };
      case 'R': {
        // A newline sequence: \r\n or one of \n \v \f \r \x85.
        const one = (b: number) => ({ k: 'set' as const, set: makeSet((x) => x === b) });
        return { k: 'alt', alts: [{ k: 'cat', parts: [one(13), one(10)] }, { k: 'set', set: makeSet((x) => (x >= 10 && x <= 13) || x === 0x85) }] };
      }
      case 'X':
      case 'C':
        return { k: 'set', set: makeSet(() => true) };
      case 'Q': {
        const end = this.p.indexOf('\\E', this.i);
        const lit = this.p.slice(this.i, end < 0 ? this.p.length : end);
        this.i = end < 0 ? this.p.length : end + 2;
        if (lit.length === 0) return { k: 'cat', parts: [] };
        return { k: 'cat', parts: [...lit].map((ch) => this.literal(ch.charCodeAt(0))) };
      }
      case 'E':
        return { k: 'cat', parts: [] };
      case 'K':
        return { k: 'cat', parts: [] };
      case 'g':
      case 'k':
        return this.err('backreferences need backtracking, which xdp-lens does not do (it matches in linear time)', at);
      case 'p':
      case 'P':
        return this.err('Unicode properties (\\p, \\P) are not supported: tshark matches bytes, not UTF-8', at);
    }
    if (/[1-9]/.test(c)) {
      // PCRE2: \1-\9 are backreferences; \10 and up are backreferences when that many groups exist, else octal.
      const digits = /^\d*/.exec(this.p.slice(this.i))![0];
      const n = Number(c + digits);
      if (digits === '' || n <= this.groups || !/[0-7]/.test(c))
        return this.err('backreferences need backtracking, which xdp-lens does not do (it matches in linear time)', at);
      let v = Number(c);
      let k = 1;
      while (k < 3 && /[0-7]/.test(this.p[this.i] ?? '')) v = v * 8 + Number(this.p[this.i++]), k++;
      if (v > 255) this.err('octal value is greater than \\377 in 8-bit non-UTF mode', at);
      return this.literal(v);
    }
    const cls = this.classEscape(c, at);
    if (cls) return { k: 'set', set: cls };
    return this.literal(this.charEscape(c, at));
  }

  /** \d \w \s \h \v \N and their negations, as a set; undefined for other escapes. */
  private classEscape(c: string, at: number): Uint8Array | undefined {
    const pred = CLASS_PREDICATES[c];
    if (pred) return makeSet(pred);
    const lower = c.toLowerCase();
    if (c !== lower && c !== 'N' && CLASS_PREDICATES[lower]) {
      const p = CLASS_PREDICATES[lower]!;
      return makeSet((b) => !p(b));
    }
    void at;
    return undefined;
  }

  /** The byte an escape stands for (after its first letter `c`, the cursor past it). */
  private charEscape(c: string, at: number): number {
    switch (c) {
      case 'n':
        return 10;
      case 't':
        return 9;
      case 'r':
        return 13;
      case 'f':
        return 12;
      case 'e':
        return 27;
      case 'a':
        return 7;
      case '0': {
        let v = 0;
        let k = 0;
        while (k < 2 && /[0-7]/.test(this.p[this.i] ?? '')) v = v * 8 + Number(this.p[this.i++]), k++;
        return v;
      }
      case 'o': {
        const m = /^\{([0-7]+)\}/.exec(this.p.slice(this.i));
        if (!m) this.err('missing opening brace after \\o', at);
        const v = parseInt(m[1]!, 8);
        if (v > 255) this.err('character code point value in \\x{} or \\o{} is too large', at);
        this.i += m[0].length;
        return v;
      }
      case 'x': {
        if (this.p[this.i] === '{') {
          const m = /^\{([0-9a-fA-F]+)\}/.exec(this.p.slice(this.i));
          if (!m) this.err('non-hex character in \\x{} (closing brace missing?)', at);
          const v = parseInt(m[1]!, 16);
          if (v > 255) this.err('character code point value in \\x{} or \\o{} is too large', at);
          this.i += m[0].length;
          return v;
        }
        let v = 0;
        let k = 0;
        while (k < 2 && hexVal(this.p[this.i]) >= 0) v = v * 16 + hexVal(this.p[this.i++]), k++;
        return v;
      }
      case 'c': {
        const ch = this.p[this.i++];
        if (ch === undefined) this.err('\\c at end of pattern', at);
        const code = ch.toUpperCase().charCodeAt(0);
        if (code < 32 || code > 126) this.err('\\c must be followed by a printable ASCII character', at);
        return code ^ 0x40;
      }
    }
    if (/[A-Za-z0-9]/.test(c)) this.err(`unrecognized character follows \\ (\\${c})`, at);
    return c.charCodeAt(0);
  }

  private charClass(at: number): Node {
    const set = new Uint8Array(256);
    let negate = false;
    if (this.p[this.i] === '^') {
      negate = true;
      this.i++;
    }
    let first = true;
    for (;;) {
      const c = this.p[this.i];
      if (c === undefined) this.err('missing terminating ] for character class', at);
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      // POSIX class
      if (c === '[') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(this.p.slice(this.i));
        if (m) {
          const pred = POSIX[m[2]!];
          if (!pred) this.err('unknown POSIX class name', this.i);
          for (let b = 0; b < 256; b++) if (pred(b) !== !!m[1]) set[b] = 1;
          this.i += m[0].length;
          continue;
        }
        if (/^\[[.=]/.test(this.p.slice(this.i)) && /^\[([.=]).*?\1\]/.test(this.p.slice(this.i))) this.err('POSIX collating elements are not supported', this.i);
      }
      const lo = this.classAtom(at);
      if (lo instanceof Uint8Array) {
        for (let b = 0; b < 256; b++) if (lo[b]) set[b] = 1;
        // [\d-z]: PCRE2 refuses a range starting with a class.
        if (this.p[this.i] === '-' && this.p[this.i + 1] !== ']' && this.p[this.i + 1] !== undefined) this.err('invalid range in character class', this.i);
        continue;
      }
      if (this.p[this.i] === '-' && this.p[this.i + 1] !== ']' && this.p[this.i + 1] !== undefined) {
        const dash = this.i;
        this.i++;
        const hi = this.classAtom(at);
        if (hi instanceof Uint8Array) {
          // [a-\d]: PCRE2 refuses a range ending in a class.
          this.err('invalid range in character class', dash);
        }
        if (hi < lo) this.err('range out of order in character class', dash + 1);
        for (let b = lo; b <= hi; b++) set[b] = 1;
        continue;
      }
      set[lo] = 1;
    }
    let out = this.flags.i ? caseless(set) : set;
    if (negate) out = out.map((b) => 1 - b);
    return { k: 'set', set: out };
  }

  /** One byte or escape inside [...]: a byte value, or a set for \d and the like. */
  private classAtom(at: number): number | Uint8Array {
    const c = this.p[this.i++]!;
    if (c !== '\\') return c.charCodeAt(0);
    const e = this.p[this.i];
    if (e === undefined) this.err('\\ at end of pattern', at);
    this.i++;
    if (e === 'b') return 8;
    if (e === 'N' || e === 'R' || e === 'X') this.err(`escape sequence \\${e} is invalid in a character class`, this.i - 2);
    if (e === 'p' || e === 'P') this.err('Unicode properties (\\p, \\P) are not supported: tshark matches bytes, not UTF-8', this.i - 2);
    const cls = this.classEscape(e, at);
    if (cls) return cls;
    if (e === 'Q' || e === 'E') this.err('\\Q...\\E inside a character class is not supported', this.i - 2);
    if (/[1-7]/.test(e)) {
      // Octal in a class.
      let v = Number(e);
      let k = 1;
      while (k < 3 && /[0-7]/.test(this.p[this.i] ?? '')) v = v * 8 + Number(this.p[this.i++]), k++;
      if (v > 255) this.err('octal value is greater than \\377 in 8-bit non-UTF mode', this.i - 2);
      return v;
    }
    return this.charEscape(e, this.i - 2);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Program: 0 = consume (set), 1 = split (x, y), 2 = jump (x), 3 = assertion, 4 = match

const OP_SET = 0;
const OP_SPLIT = 1;
const OP_JMP = 2;
const OP_ASSERT = 3;
const OP_MATCH = 4;

class Program {
  op: number[] = [];
  x: number[] = [];
  y: number[] = [];
  sets: (Uint8Array | undefined)[] = [];
  asserts: (Assertion | undefined)[] = [];

  emit(op: number, x = 0, y = 0, set?: Uint8Array, a?: Assertion): number {
    if (this.op.length >= MAX_PROGRAM) throw new RegexError(`the regular expression is too large (more than ${MAX_PROGRAM} steps once its repetitions are written out)`, 0);
    this.op.push(op);
    this.x.push(x);
    this.y.push(y);
    this.sets.push(set);
    this.asserts.push(a);
    return this.op.length - 1;
  }

  compile(n: Node): void {
    switch (n.k) {
      case 'set':
        this.emit(OP_SET, 0, 0, n.set);
        return;
      case 'assert':
        this.emit(OP_ASSERT, 0, 0, undefined, n.a);
        return;
      case 'cat':
        for (const p of n.parts) this.compile(p);
        return;
      case 'alt': {
        const jumps: number[] = [];
        for (let k = 0; k < n.alts.length; k++) {
          if (k < n.alts.length - 1) {
            const split = this.emit(OP_SPLIT);
            this.x[split] = split + 1;
            this.compile(n.alts[k]!);
            jumps.push(this.emit(OP_JMP));
            this.y[split] = this.op.length;
          } else this.compile(n.alts[k]!);
        }
        for (const j of jumps) this.x[j] = this.op.length;
        return;
      }
      case 'rep': {
        for (let k = 0; k < n.min; k++) this.compile(n.node);
        if (n.max === Infinity) {
          const split = this.emit(OP_SPLIT);
          this.x[split] = split + 1;
          this.compile(n.node);
          this.emit(OP_JMP, split);
          this.y[split] = this.op.length;
        } else {
          const splits: number[] = [];
          for (let k = n.min; k < n.max; k++) {
            const split = this.emit(OP_SPLIT);
            this.x[split] = split + 1;
            splits.push(split);
            this.compile(n.node);
          }
          for (const s of splits) this.y[s] = this.op.length;
        }
        return;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Lazy DFA. A state is the set of consuming instructions reached after a byte, plus the class of that byte (what
// ^ under (?m) and \b need to know about the byte before). Its transitions are taken by the next byte, or by two
// pseudo-bytes: a newline that ends the text (what $ matches before) and the end of the text.

const PREV_START = 0;
const PREV_WORD = 1;
const PREV_NL = 2;
const PREV_OTHER = 3;
const SLOT_FINAL_NL = 256;
const SLOT_END = 257;
const SLOTS = 258;
const UNKNOWN = -1;
const MATCH = -2;
const DEAD = -3;
const NOT_BYTES = 2;
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

const prevClass = (b: number) => (b === 10 ? PREV_NL : isWordByte(b) ? PREV_WORD : PREV_OTHER);

export interface CompiledRegex {
  /** The pattern as written. */
  source: string;
  test(text: string): boolean;
  /** Whether it matches raw bytes, given one character per byte (a latin1 string): a field of bytes (frame, data.data). */
  testBytes(bytes: string): boolean;
}

/** Compile a PCRE2 pattern as tshark's `matches` does (caseless unless (?-i), bytes not UTF-8). */
export function compileRegex(pattern: string): CompiledRegex {
  const bytes = Buffer.from(pattern, 'utf8').toString('latin1');
  const ast = new Parser(bytes).parse();
  const prog = new Program();
  prog.compile(ast);
  prog.emit(OP_MATCH);
  const anchored = startsAnchored(ast);
  const { op, x, y, sets, asserts } = prog;

  // The states (their instruction sets and the class of the byte before) and one flat transition table.
  let statePcs: number[][] = [];
  let statePrev: number[] = [];
  let byKey = new Map<string, number>();
  let table = new Int32Array(SLOTS * 16).fill(UNKNOWN);
  /** Bumped when the cache starts over (a walk in progress then goes on without the cache). */
  let epoch = 0;
  /** Instructions held in all the states' sets (bounded by MAX_HELD, as the states are by MAX_STATES). */
  let held = 0;
  let startState = 0;
  let startEpoch = -1;
  const intern = (pcs: number[], prev: number): number => {
    const key = `${prev}:${pcs.join(',')}`;
    const had = byKey.get(key);
    if (had !== undefined) return had;
    if (statePcs.length >= MAX_STATES || held + pcs.length > MAX_HELD) {
      held = 0;
      statePcs = [];
      statePrev = [];
      byKey = new Map();
      table.fill(UNKNOWN);
      epoch++;
    }
    const id = statePcs.length;
    held += pcs.length;
    statePcs.push(pcs);
    statePrev.push(prev);
    byKey.set(key, id);
    if ((id + 1) * SLOTS > table.length) {
      const bigger = new Int32Array(Math.min(table.length * 2, MAX_STATES * SLOTS)).fill(UNKNOWN);
      bigger.set(table);
      table = bigger;
    }
    return id;
  };

  const holds = (a: Assertion, prev: number, slot: number): boolean => {
    switch (a) {
      case 'BOL':
        return prev === PREV_START;
      case 'MBOL':
        return prev === PREV_START || (prev === PREV_NL && slot !== SLOT_END);
      case 'EOL':
        return slot === SLOT_END || slot === SLOT_FINAL_NL;
      case 'MEOL':
        return slot === SLOT_END || slot === SLOT_FINAL_NL || slot === 10;
      case 'EOT':
        return slot === SLOT_END;
      case 'WB':
      case 'NWB': {
        const before = prev === PREV_WORD;
        const after = slot < 256 && isWordByte(slot);
        return (before !== after) === (a === 'WB');
      }
    }
  };

  const seen = new Int32Array(op.length).fill(-1);
  let generation = 0;
  /**
   * From the instructions `pcs` after a byte of class `prev`, on `slot`: MATCH when the match instruction is
   * reached, DEAD when no thread is left, else the instructions after the byte.
   */
  const advance = (pcs: number[], prev: number, slot: number): number[] | typeof MATCH | typeof DEAD => {
    generation++;
    const stack: number[] = [];
    for (let k = pcs.length - 1; k >= 0; k--) stack.push(pcs[k]!);
    if (!anchored || prev === PREV_START) stack.push(0);
    const consuming: number[] = [];
    while (stack.length) {
      const pc = stack.pop()!;
      if (seen[pc] === generation) continue;
      seen[pc] = generation;
      switch (op[pc]) {
        case OP_SET:
          consuming.push(pc);
          break;
        case OP_SPLIT:
          stack.push(y[pc]!, x[pc]!);
          break;
        case OP_JMP:
          stack.push(x[pc]!);
          break;
        case OP_ASSERT:
          if (holds(asserts[pc]!, prev, slot)) stack.push(pc + 1);
          break;
        case OP_MATCH:
          return MATCH;
      }
    }
    if (slot === SLOT_END) return DEAD;
    const byte = slot === SLOT_FINAL_NL ? 10 : slot;
    const next: number[] = [];
    for (const pc of consuming) if (sets[pc]![byte]) next.push(pc + 1);
    if (next.length === 0 && anchored) return DEAD;
    return next.sort((a, b) => a - b);
  };

  /**
   * Runs the DFA over `text`: true or false; undefined if the cache started over meanwhile; NOT_BYTES at a code
   * unit above 127 (the text must be read as UTF-8 bytes).
   */
  const run = (text: string): boolean | undefined | typeof NOT_BYTES => {
    if (startEpoch !== epoch) {
      startState = intern([], PREV_START);
      startEpoch = epoch;
    }
    const start = epoch;
    let sid = startState;
    const n = text.length;
    let tab = table;
    for (let i = 0; i <= n; i++) {
      let slot: number;
      if (i === n) slot = SLOT_END;
      else {
        slot = text.charCodeAt(i);
        if (slot >= 128) {
          if (slot > 255) return NOT_BYTES;
        } else if (slot === 10 && i === n - 1) slot = SLOT_FINAL_NL;
      }
      let t = tab[sid * SLOTS + slot]!;
      if (t === UNKNOWN) {
        const r = advance(statePcs[sid]!, statePrev[sid]!, slot);
        t = r === MATCH || r === DEAD ? r : intern(r, prevClass(slot === SLOT_FINAL_NL ? 10 : slot));
        if (epoch !== start) return undefined;
        tab = table;
        tab[sid * SLOTS + slot] = t;
      }
      if (t < 0) return t === MATCH;
      sid = t;
    }
    return false;
  };

  /** The same walk without the cache (after it started over in the middle of a text): time linear, no memory kept. */
  const runUncached = (text: string): boolean => {
    let pcs: number[] = [];
    let prev = PREV_START;
    const n = text.length;
    for (let i = 0; i <= n; i++) {
      let slot = i === n ? SLOT_END : text.charCodeAt(i);
      if (slot === 10 && i === n - 1) slot = SLOT_FINAL_NL;
      const r = advance(pcs, prev, slot);
      if (r === MATCH) return true;
      if (r === DEAD) return false;
      pcs = r;
      prev = prevClass(slot === SLOT_FINAL_NL ? 10 : slot);
    }
    return false;
  };

  return {
    source: pattern,
    test(text: string): boolean {
      // tshark matches the bytes of the UTF-8 text: ASCII text is its own bytes.
      if (!ASCII.test(text)) {
        const bytes = Buffer.from(text, 'utf8').toString('latin1');
        return (run(bytes) as boolean | undefined) ?? runUncached(bytes);
      }
      const r = run(text);
      return r === undefined ? runUncached(text) : r === NOT_BYTES ? false : r;
    },
    testBytes(bytes: string): boolean {
      const r = run(bytes);
      return r === undefined ? runUncached(bytes) : r === NOT_BYTES ? false : r;
    },
  };
}

/** Whether every match must start at offset 0 (the pattern begins with ^ or \A in every branch). */
function startsAnchored(n: Node): boolean {
  switch (n.k) {
    case 'assert':
      return n.a === 'BOL';
    case 'cat':
      return n.parts.length > 0 && startsAnchored(n.parts[0]!);
    case 'alt':
      return n.alts.every(startsAnchored);
    case 'rep':
      return n.min > 0 && startsAnchored(n.node);
    case 'set':
      return false;
  }
}
