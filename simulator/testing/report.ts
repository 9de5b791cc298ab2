// Reports of `xdp-lens test`: text for people (failures with a diff line per field or map entry, at the
// expectation's file:line:column), TAP 13 and JUnit XML for CI, JSON for tools (the editor's Test Explorer reads it).
// The JSON shape is a contract: extend it compatibly.
import { relative } from 'node:path';
import type { FileResult } from './runner.ts';

export const TEST_FORMATS = ['text', 'tap', 'junit', 'json'] as const;
export type TestFormat = (typeof TEST_FORMATS)[number];

export interface Totals {
  passed: number;
  failed: number;
  /** Files that could not be run (malformed, or the program does not load). */
  errors: number;
}

export function totals(files: FileResult[]): Totals {
  const t = { passed: 0, failed: 0, errors: 0 };
  for (const f of files) {
    if (f.error) t.errors++;
    for (const c of f.cases) c.status === 'pass' ? t.passed++ : t.failed++;
  }
  return t;
}

const name = (file: string) => {
  const r = relative(process.cwd(), file);
  return r && !r.startsWith('..') ? r : file;
};
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

export function formatText(files: FileResult[]): string {
  const out: string[] = [];
  for (const f of files) {
    if (f.error) {
      out.push(`${f.error.message.startsWith(f.file) ? name(f.file) + f.error.message.slice(f.file.length) : f.error.message}`);
      continue;
    }
    out.push(`${name(f.file)} (${f.program})`);
    for (const c of f.cases) {
      const k = c.kernel && 'agrees' in c.kernel ? (c.kernel.agrees ? ' [kernel agrees]' : ' [kernel differs]') : '';
      if (c.status === 'pass') {
        out.push(`  ok    ${c.name}${k}`);
        continue;
      }
      out.push(`  FAIL  ${c.name}${k}`);
      for (const x of c.failures) {
        out.push(`        ${name(f.file)}:${x.pos.line}:${x.pos.column}: ${x.what}`);
        out.push(`          expected: ${x.expected}`);
        out.push(`          actual:   ${x.actual}`);
      }
    }
    for (const n of f.notes) out.push(`  note: ${n}`);
  }
  const t = totals(files);
  out.push('');
  out.push(`${plural(t.passed + t.failed, 'case')}: ${t.passed} passed, ${t.failed} failed${t.errors ? `; ${plural(t.errors, 'file')} could not be run` : ''}`);
  return out.join('\n');
}

const yamlText = (s: string) => JSON.stringify(s);

export function formatTap(files: FileResult[]): string {
  const out = ['TAP version 13'];
  let n = 0;
  const lines: string[] = [];
  for (const f of files) {
    if (f.error) {
      n++;
      lines.push(`not ok ${n} - ${name(f.file)}`, '  ---', `  message: ${yamlText(f.error.message)}`, ...(f.error.pos ? [`  line: ${f.error.pos.line}`, `  column: ${f.error.pos.column}`] : []), '  ...');
      continue;
    }
    for (const c of f.cases) {
      n++;
      const title = `${name(f.file)}: ${c.name}`.replace(/#/g, '\\#');
      if (c.status === 'pass') {
        lines.push(`ok ${n} - ${title}`);
        continue;
      }
      lines.push(`not ok ${n} - ${title}`, '  ---', `  file: ${yamlText(name(f.file))}`, `  line: ${c.pos.line}`, '  failures:');
      for (const x of c.failures) {
        lines.push(`    - what: ${yamlText(x.what)}`, `      expected: ${yamlText(x.expected)}`, `      actual: ${yamlText(x.actual)}`, `      line: ${x.pos.line}`, `      column: ${x.pos.column}`);
      }
      lines.push('  ...');
    }
  }
  out.push(`1..${n}`, ...lines);
  return out.join('\n');
}

const xml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '');

export function formatJunit(files: FileResult[]): string {
  const t = totals(files);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="xdp-lens test" tests="${t.passed + t.failed + t.errors}" failures="${t.failed}" errors="${t.errors}">`];
  for (const f of files) {
    const file = xml(name(f.file));
    if (f.error) {
      out.push(`  <testsuite name="${file}" tests="1" failures="0" errors="1">`, `    <testcase name="(file)" classname="${file}" file="${file}"${f.error.pos ? ` line="${f.error.pos.line}"` : ''}>`, `      <error message="${xml(f.error.message)}"/>`, '    </testcase>', '  </testsuite>');
      continue;
    }
    const failed = f.cases.filter((c) => c.status === 'fail').length;
    out.push(`  <testsuite name="${file}" tests="${f.cases.length}" failures="${failed}" errors="0">`);
    for (const c of f.cases) {
      const head = `    <testcase name="${xml(c.name)}" classname="${file}" file="${file}" line="${c.pos.line}"`;
      if (c.status === 'pass') {
        out.push(`${head}/>`);
        continue;
      }
      const first = c.failures[0]!;
      const body = c.failures.map((x) => `${name(f.file)}:${x.pos.line}:${x.pos.column}: ${x.what}: expected ${x.expected}, actual ${x.actual}`).join('\n');
      out.push(`${head}>`, `      <failure message="${xml(`${first.what}: expected ${first.expected}, actual ${first.actual}`)}">${xml(body)}</failure>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n');
}

export function formatJson(files: FileResult[]): string {
  return JSON.stringify({
    files: files.map((f) => ({
      file: f.file,
      ...(f.program ? { program: f.program } : {}),
      ...(f.error ? { error: { message: f.error.message, ...(f.error.pos ?? {}) } } : {}),
      cases: f.cases.map((c) => ({
        name: c.name,
        line: c.pos.line,
        column: c.pos.column,
        status: c.status,
        failures: c.failures.map((x) => ({ what: x.what, expected: x.expected, actual: x.actual, line: x.pos.line, column: x.pos.column })),
        actual: c.actual,
        ...(c.kernel ? { kernel: c.kernel } : {}),
      })),
      ...(f.notes.length ? { notes: f.notes } : {}),
    })),
    summary: totals(files),
  });
}

export function formatResults(files: FileResult[], format: TestFormat): string {
  switch (format) {
    case 'tap':
      return formatTap(files);
    case 'junit':
      return formatJunit(files);
    case 'json':
      return formatJson(files);
    default:
      return formatText(files);
  }
}
