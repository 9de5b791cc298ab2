// A YAML document as a small tree that remembers where each node is (1-based line and column), so that every problem
// in a test file can be reported as file:line:column. Parsing is the `yaml` package's (YAML 1.2, core schema);
// aliases are resolved, duplicate keys and syntax errors are reported at their position.
import { LineCounter, parseDocument, isMap, isSeq, isScalar, isAlias, type Node as YamlNode, type Document } from 'yaml';

export interface Pos {
  line: number;
  column: number;
}

export type YNode =
  | { kind: 'map'; pos: Pos; entries: { key: string; keyPos: Pos; value: YNode }[] }
  | { kind: 'seq'; pos: Pos; items: YNode[] }
  | { kind: 'scalar'; pos: Pos; value: string | number | boolean | null; /** The text as written (plain scalars). */ source: string };

/** A problem in a test file: the message and where it is. */
export class TestFileError extends Error {
  constructor(
    readonly file: string,
    readonly pos: Pos,
    readonly detail: string,
  ) {
    super(`${file}:${pos.line}:${pos.column}: ${detail}`);
  }
}

export function parseYaml(file: string, text: string): YNode {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Pos => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new TestFileError(file, at(e.pos[0]), /Maximum call stack size exceeded/.test(message) ? 'nested too deeply' : message);
  }
  if (!doc.contents) throw new TestFileError(file, { line: 1, column: 1 }, 'the file is empty: expected a test file (program, cases)');
  return convert(doc, doc.contents as YamlNode, file, at, 0, { left: MAX_NODES });
}

/**
 * Most nodes a test file may expand to, aliases resolved: a few anchors each listing the one before nine times
 * ("billion laughs") would otherwise expand to billions.
 */
const MAX_NODES = 500_000;

const resolved = new WeakMap<object, unknown>();

function convert(doc: Document, node: YamlNode, file: string, at: (o: number) => Pos, depth: number, budget: { left: number }): YNode {
  const pos = at(node.range?.[0] ?? 0);
  if (depth > 64) throw new TestFileError(file, pos, 'nested too deeply');
  if (--budget.left < 0) throw new TestFileError(file, pos, `more than ${MAX_NODES} values once aliases are expanded (aliases of aliases?)`);
  if (isAlias(node)) {
    // Resolving walks the document: once per alias, however often its expansion is converted.
    let target = resolved.get(node);
    if (target === undefined) resolved.set(node, (target = node.resolve(doc) ?? null));
    if (!target) throw new TestFileError(file, pos, `alias *${node.source} names no anchor`);
    return { ...convert(doc, target as YamlNode, file, at, depth + 1, budget), pos };
  }
  if (isMap(node)) {
    const entries: { key: string; keyPos: Pos; value: YNode }[] = [];
    for (const pair of node.items) {
      const k = pair.key as YamlNode | null;
      const keyPos = k?.range ? at(k.range[0]) : pos;
      if (!isScalar(k) || k.value === null || typeof k.value === 'object') throw new TestFileError(file, keyPos, 'a key must be a plain name or number');
      const v = pair.value as YamlNode | null;
      const value: YNode = v ? convert(doc, v, file, at, depth + 1, budget) : { kind: 'scalar', pos: keyPos, value: null, source: '' };
      entries.push({ key: String(k.value), keyPos, value });
    }
    return { kind: 'map', pos, entries };
  }
  if (isSeq(node)) return { kind: 'seq', pos, items: node.items.map((i) => convert(doc, i as YamlNode, file, at, depth + 1, budget)) };
  if (isScalar(node)) {
    const v = node.value;
    const value = v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : typeof v === 'bigint' ? Number(v) : String(v);
    return { kind: 'scalar', pos, value, source: node.source ?? String(v ?? '') };
  }
  throw new TestFileError(file, pos, 'unexpected YAML node');
}

/** Reads a YNode tree, throwing TestFileError at the node that does not fit. */
export class Reader {
  constructor(readonly file: string) {}

  fail(n: { pos: Pos }, detail: string): never {
    throw new TestFileError(this.file, n.pos, detail);
  }

  map(n: YNode, what: string, allowed?: readonly string[]): Map<string, { keyPos: Pos; value: YNode }> {
    if (n.kind !== 'map') this.fail(n, `${what} must be a mapping (key: value lines)`);
    const out = new Map<string, { keyPos: Pos; value: YNode }>();
    for (const e of n.entries) {
      if (allowed && !allowed.includes(e.key)) throw new TestFileError(this.file, e.keyPos, `unknown key '${e.key}' in ${what} (expected one of: ${allowed.join(', ')})`);
      out.set(e.key, { keyPos: e.keyPos, value: e.value });
    }
    return out;
  }

  seq(n: YNode, what: string): YNode[] {
    if (n.kind !== 'seq') this.fail(n, `${what} must be a list`);
    return n.items;
  }

  string(n: YNode, what: string): string {
    if (n.kind !== 'scalar' || n.value === null || typeof n.value === 'boolean') this.fail(n, `${what} must be text`);
    return typeof n.value === 'string' ? n.value : n.source;
  }

  /** Text as written: a plain scalar's source (so 0800 stays "0800"), a quoted one's value. */
  raw(n: YNode, what: string): string {
    if (n.kind !== 'scalar' || n.value === null) this.fail(n, `${what} must be a value`);
    return typeof n.value === 'string' ? n.value : n.source;
  }

  bool(n: YNode, what: string): boolean {
    if (n.kind !== 'scalar' || typeof n.value !== 'boolean') this.fail(n, `${what} must be true or false`);
    return n.value;
  }

  int(n: YNode, what: string, min: number, max: number): number {
    let v: number | undefined;
    if (n.kind === 'scalar') {
      if (typeof n.value === 'number') v = n.value;
      else if (typeof n.value === 'string' && /^(0x[0-9a-f]+|[0-9]+)$/i.test(n.value.trim())) v = Number(n.value.trim());
    }
    if (v === undefined || !Number.isInteger(v)) this.fail(n, `${what} must be a whole number from ${min} to ${max}`);
    if (v < min || v > max) this.fail(n, `${what} is out of range: ${v} (accepted: ${min} to ${max})`);
    return v;
  }

  stringList(n: YNode, what: string): string[] {
    if (n.kind === 'scalar') return [this.string(n, what)];
    return this.seq(n, what).map((i, k) => this.string(i, `${what}[${k}]`));
  }
}

/** Plain JavaScript value of a node (for JSON-shaped parts such as raw --maps entries). */
export function toPlain(n: YNode): unknown {
  if (n.kind === 'scalar') return n.value;
  if (n.kind === 'seq') return n.items.map(toPlain);
  return Object.fromEntries(n.entries.map((e) => [e.key, toPlain(e.value)]));
}
