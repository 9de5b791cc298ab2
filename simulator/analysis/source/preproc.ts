// `#if`, `#ifdef`, `#elif` as the compiler decides them, so that the source tier analyses the code clang compiles
// and nothing else. A condition is decided from the macros of the file and its includes (as far as they were read
// before it), the `-D`/`-U` flags and the few macros clang predefines for `-target bpf`. When a name in it is
// unknown and some include could not be read, the condition is undecided (undefined), and the callers keep both
// branches, as before.
import type { Node } from './parser.ts';
import { KERNEL_CONSTANTS } from './known.ts';
import { literalNumber, snippet, type Macro } from './unit.ts';

/** What clang defines by itself for `-O2 -target bpf` (those that XDP programs test). */
export const BPF_PREDEFINED: Record<string, string> = {
  __BPF__: '1',
  __bpf__: '1',
  __clang__: '1',
  __GNUC__: '4',
  __STDC__: '1',
  __OPTIMIZE__: '1',
  __ORDER_LITTLE_ENDIAN__: '1234',
  __ORDER_BIG_ENDIAN__: '4321',
  __BYTE_ORDER__: '__ORDER_LITTLE_ENDIAN__',
  __LITTLE_ENDIAN__: '1',
  __CHAR_BIT__: '8',
  __SIZEOF_POINTER__: '8',
  __SIZEOF_LONG__: '8',
  __LP64__: '1',
};

/** `-DNAME`, `-DNAME=VALUE`, `-D NAME`, `-UNAME` of a compile command, in order. */
export function definesFromFlags(flags: readonly string[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (let i = 0; i < flags.length; i++) {
    let f = flags[i];
    let kind = '';
    if (f === '-D' || f === '-U') {
      kind = f;
      f = flags[++i] ?? '';
    } else if (f.startsWith('-D') || f.startsWith('-U')) {
      kind = f.slice(0, 2);
      f = f.slice(2);
    } else continue;
    const eq = f.indexOf('=');
    const name = eq < 0 ? f : f.slice(0, eq);
    if (!/^[A-Za-z_]\w*$/.test(name)) continue;
    out.set(name, kind === '-U' ? null : eq < 0 ? '1' : f.slice(eq + 1));
  }
  return out;
}

export interface PreprocEnv {
  macros: Map<string, Macro>;
  /** Names #undef'd or -U'd: known not to be defined. */
  undefined: Set<string>;
  /** Every include met so far was read: a name not among the macros is then known to be undefined. */
  complete: boolean;
  /** Called with every macro name the decision looked at (for result caching). */
  use?: (name: string) => void;
}

class Undecided extends Error {}

/**
 * Which branch of a conditional directive the compiler takes: true for its body, false for its alternative,
 * undefined when it cannot be decided here.
 */
export function preprocTaken(node: Node, env: PreprocEnv): boolean | undefined {
  try {
    if (node.type === 'preproc_ifdef' || node.type === 'preproc_elifdef') {
      const name = node.childForFieldName('name')?.text;
      if (!name) return undefined;
      const negated = /^#\s*(?:ifndef|elifndef)/.test(node.text);
      return isDefined(name, env) !== negated;
    }
    if (node.type === 'preproc_if' || node.type === 'preproc_elif') {
      const cond = node.childForFieldName('condition');
      if (!cond) return undefined;
      return evaluate(cond, env, 0) !== 0n;
    }
  } catch (e) {
    if (e instanceof Undecided) return undefined;
    throw e;
  }
  return undefined;
}

function isDefined(name: string, env: PreprocEnv): boolean {
  env.use?.(name);
  if (env.macros.has(name)) return true;
  if (env.undefined.has(name)) return false;
  if (name in BPF_PREDEFINED || KERNEL_CONSTANTS[name]) return true;
  if (!env.complete) throw new Undecided();
  return false;
}

function macroValue(name: string, env: PreprocEnv, depth: number): bigint {
  env.use?.(name);
  const m = env.macros.get(name);
  const k = m ? undefined : KERNEL_CONSTANTS[name];
  if (k) return BigInt(k.value);
  const body = m ? (m.params ? undefined : m.body) : BPF_PREDEFINED[name];
  if (body === undefined) {
    if (m || !isDefined(name, env)) {
      if (m) throw new Undecided();
      return 0n; // an undefined name is 0 in #if
    }
    throw new Undecided();
  }
  if (body.trim() === '') return 0n;
  const lit = literalNumber(body);
  if (lit !== undefined) return BigInt(lit);
  const s = snippet(body);
  if (!s?.expr) throw new Undecided();
  return evaluate(s.expr, env, depth + 1);
}

function evaluate(n: Node, env: PreprocEnv, depth: number): bigint {
  if (depth > 16) throw new Undecided();
  switch (n.type) {
    case 'number_literal': {
      const v = literalNumber(n.text);
      if (v === undefined) throw new Undecided();
      return BigInt(v);
    }
    case 'char_literal': {
      const body = n.text.slice(1, -1);
      if (body.length !== 1) throw new Undecided();
      return BigInt(body.charCodeAt(0));
    }
    case 'true':
      return 1n;
    case 'false':
      return 0n;
    case 'identifier':
      return macroValue(n.text, env, depth);
    case 'preproc_defined': {
      const id = n.namedChildren.find((c) => c?.type === 'identifier');
      if (!id) throw new Undecided();
      return isDefined(id.text, env) ? 1n : 0n;
    }
    case 'parenthesized_expression': {
      const inner = n.namedChild(0);
      if (!inner) throw new Undecided();
      return evaluate(inner, env, depth);
    }
    case 'unary_expression': {
      const op = n.childForFieldName('operator')?.text;
      const arg = n.childForFieldName('argument');
      if (!arg) throw new Undecided();
      const v = evaluate(arg, env, depth);
      if (op === '!') return v === 0n ? 1n : 0n;
      if (op === '-') return -v;
      if (op === '~') return ~v;
      if (op === '+') return v;
      throw new Undecided();
    }
    case 'binary_expression': {
      const op = n.childForFieldName('operator')?.text ?? '';
      const l = n.childForFieldName('left');
      const r = n.childForFieldName('right');
      if (!l || !r) throw new Undecided();
      if (op === '&&') return evaluate(l, env, depth) !== 0n && evaluate(r, env, depth) !== 0n ? 1n : 0n;
      if (op === '||') return evaluate(l, env, depth) !== 0n || evaluate(r, env, depth) !== 0n ? 1n : 0n;
      const a = evaluate(l, env, depth);
      const b = evaluate(r, env, depth);
      switch (op) {
        case '==': return a === b ? 1n : 0n;
        case '!=': return a !== b ? 1n : 0n;
        case '<': return a < b ? 1n : 0n;
        case '<=': return a <= b ? 1n : 0n;
        case '>': return a > b ? 1n : 0n;
        case '>=': return a >= b ? 1n : 0n;
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/': if (b === 0n) throw new Undecided(); return a / b;
        case '%': if (b === 0n) throw new Undecided(); return a % b;
        case '&': return a & b;
        case '|': return a | b;
        case '^': return a ^ b;
        case '<<': return a << b;
        case '>>': return a >> b;
        default: throw new Undecided();
      }
    }
    case 'conditional_expression': {
      const c = n.childForFieldName('condition');
      const t = n.childForFieldName('consequence');
      const f = n.childForFieldName('alternative');
      if (!c || !t || !f) throw new Undecided();
      return evaluate(c, env, depth) !== 0n ? evaluate(t, env, depth) : evaluate(f, env, depth);
    }
    case 'call_expression': {
      // `defined(X)` parsed as a call inside a macro body, or a function-like macro: only the former is decided.
      const fn = n.childForFieldName('function');
      const args = n.childForFieldName('arguments')?.namedChildren ?? [];
      if (fn?.text === 'defined' && args.length === 1 && args[0]?.type === 'identifier') return isDefined(args[0].text, env) ? 1n : 0n;
      throw new Undecided();
    }
    default:
      throw new Undecided();
  }
}
