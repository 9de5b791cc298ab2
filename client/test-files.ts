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
