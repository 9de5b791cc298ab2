// The parts of the Test Explorer integration that need no editor (unit-tested in test/client/test-files.test.ts): the
// cases of a `*.xdptest.yaml` with the line each starts on, and the `xdp-lens test --format json` report read back
// into per-case results with the position of each failure.
import { LineCounter, parseDocument, isMap, isSeq, isScalar } from 'yaml';

export interface CaseEntry {
  name: string;
  /** 0-based line and column of the case's list item. */
  line: number;
  column: number;
}

/** The cases of a test file (names as `xdp-lens test` names them: "case N" when a case has no name). */
export function listCases(text: string): CaseEntry[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const root = doc.contents;
  if (!isMap(root)) return [];
  const cases = root.get('cases', true);
  if (!isSeq(cases)) return [];
  return cases.items.map((item, i) => {
    const at = lc.linePos((item as { range?: [number, number, number] }).range?.[0] ?? 0);
    const nameNode = isMap(item) ? item.get('name', true) : undefined;
    const name = isScalar(nameNode) && nameNode.value !== null ? String(nameNode.value) : `case ${i + 1}`;
    return { name, line: at.line - 1, column: at.col - 1 };
  });
}

export interface FailureMessage {
  message: string;
  expected: string;
  actual: string;
  /** 0-based. */
  line: number;
  column: number;
}

export interface CaseOutcome {
  name: string;
  passed: boolean;
  failures: FailureMessage[];
}

export interface FileOutcome {
  file: string;
  /** The file could not be run (malformed, program not loading): message and 0-based position when known. */
  error?: { message: string; line?: number; column?: number };
  cases: CaseOutcome[];
}

interface JsonReport {
  files: {
    file: string;
    error?: { message: string; line?: number; column?: number };
    cases: { name: string; status: string; failures: { what: string; expected: string; actual: string; line: number; column: number }[] }[];
  }[];
}

/** `xdp-lens test --format json` output as per-file outcomes; undefined when it is not such a report. */
export function readReport(stdout: string): FileOutcome[] | undefined {
  let j: JsonReport;
  try {
    j = JSON.parse(stdout) as JsonReport;
  } catch {
    return undefined;
  }
  if (!j || !Array.isArray(j.files)) return undefined;
  return j.files.map((f) => ({
    file: f.file,
    ...(f.error
      ? { error: { message: f.error.message, ...(f.error.line ? { line: f.error.line - 1, column: (f.error.column ?? 1) - 1 } : {}) } }
      : {}),
    cases: f.cases.map((c) => ({
      name: c.name,
      passed: c.status === 'pass',
      failures: c.failures.map((x) => ({ message: `${x.what}: expected ${x.expected}, actual ${x.actual}`, expected: x.expected, actual: x.actual, line: x.line - 1, column: x.column - 1 })),
    })),
  }));
}

/** What "Save as Test Case" needs of a packet of the last run (a subset of the server's PacketDetail). */
export interface SavedPacket {
  index: number;
  summary: string;
  action: string;
  outcome?: string;
  line: number;
  fault?: { kind: string };
  printk: string[];
  /** Hex of the frame as received and as it left the program. */
  before: string;
  after: string;
}

const q = (s: string) => JSON.stringify(s);

/** A test file for a program, with no cases yet (`program` relative to the test file). */
export function newTestFile(program: string, driver: string | undefined, mapsFile?: string): string {
  return [
    `# Tests for ${program}: xdp-lens test (README, "Unit tests for XDP programs").`,
    'program:',
    `  file: ${q(program)}`,
    ...(driver ? [`  driver: ${driver}`] : []),
    ...(mapsFile ? [`maps-file: ${q(mapsFile)}`] : []),
    'cases:',
    '',
  ].join('\n');
}

/**
 * `text` (a test file) with a case for `p` appended to its cases: the packet as hex, what the run saw as expectations.
 * `fresh: true`, since the maps the run carried to this packet are not in the file. Returns the new text and the
 * 0-based line of the case; a string when the file has no `cases` list to append to.
 */
export function appendCase(text: string, p: SavedPacket, capture: string): { text: string; line: number } | string {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (doc.errors.length) return `the test file does not parse: ${doc.errors[0]!.message.split('\n')[0]}`;
  const root = doc.contents;
  if (!isMap(root)) return 'the test file is not a mapping with program and cases';
  const last = root.items[root.items.length - 1];
  const lastKey = last && isScalar(last.key) ? String(last.key.value) : undefined;
  if (lastKey !== 'cases') return "the test file's last key is not 'cases' (append cases at its end)";
  const cases = root.get('cases', true);
  if (cases !== null && cases !== undefined && !isSeq(cases) && !(isScalar(cases) && cases.value === null)) return "'cases' is not a list";
  if (isSeq(cases) && cases.flow && cases.items.length) return "'cases' is a flow list ([...]): write it as a block list to append to it";
  const names = new Set(isSeq(cases) ? cases.items.map((i) => (isMap(i) && isScalar(i.get('name', true)) ? String((i.get('name', true) as { value: unknown }).value) : '')) : []);
  let name = `packet ${p.index}: ${p.summary}`;
  for (let n = 2; names.has(name); n++) name = `packet ${p.index}: ${p.summary} (${n})`;
  const lines = [
    `  - name: ${q(name)}`,
    `    # packet ${p.index} of ${capture}; the maps as the run had them at this packet are not carried over`,
    '    fresh: true',
    `    hex: ${q(p.before)}`,
    '    expect:',
    `      action: ${p.action}`,
    ...(p.outcome ? [`      outcome: ${q(p.outcome)}`] : []),
    ...(p.line > 0 ? [`      exit: ${p.line}`] : []),
    `      fault: ${p.fault?.kind ?? 'none'}`,
    ...(p.printk.length ? ['      printk:', ...p.printk.map((l) => `        - ${q(l)}`)] : []),
    ...(p.after !== p.before && !p.fault ? ['      packet:', `        hex: ${q(p.after)}`] : []),
  ];
  let base = text.replace(/\s*$/, '\n');
  // An empty `cases:` or `cases: []` becomes a block list.
  base = base.replace(/^cases:[ \t]*(\[[ \t]*\])?[ \t]*$/m, 'cases:');
  const line = base.split('\n').length - 1;
  return { text: base + lines.join('\n') + '\n', line };
}
