// Output formats of `xdp-lens check`: text (compiler style), json (the contract: an array of
// {file, line, column, endLine, endColumn, severity, rule, message}, 1-based), and SARIF 2.1.0 for code scanning.
import { pathToFileURL } from 'node:url';
import { relative, isAbsolute } from 'node:path';
import { RULES, type Finding } from './findings.ts';

export type ReportFormat = 'text' | 'json' | 'sarif';
export const REPORT_FORMATS: ReportFormat[] = ['text', 'json', 'sarif'];

export function formatText(findings: Finding[], cwd = process.cwd()): string {
  // Related places (where a value came from, the first of repeated mistakes) follow as notes, as compilers print them.
  // A note's path under the working directory is printed relative to it, as the files given to check are (the
  // include search names a header by its absolute path).
  const shown = (file: string) => {
    if (!isAbsolute(file)) return file;
    const rel = relative(cwd, file);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
  };
  return findings
    .map((f) => [`${f.file}:${f.line}:${f.column}: ${f.severity}: ${f.message} [${f.rule}]`, ...(f.related ?? []).map((r) => `${shown(r.file)}:${r.line}:${r.column}: note: ${r.message}`)].join('\n'))
    .join('\n');
}

/** Exactly the documented keys, in the documented order. */
export function formatJson(findings: Finding[]): string {
  return JSON.stringify(
    findings.map((f) => ({
      file: f.file,
      line: f.line,
      column: f.column,
      endLine: f.endLine,
      endColumn: f.endColumn,
      severity: f.severity,
      rule: f.rule,
      message: f.message,
    })),
    null,
    2,
  );
}

const SARIF_LEVEL = { error: 'error', warning: 'warning', info: 'note' } as const;

/**
 * SARIF 2.1.0. `notes` (a tier that could not run and why, a compilation database not used) become the run's
 * toolExecutionNotifications, so that code scanning shows them instead of a silently short list.
 */
export function formatSarif(findings: Finding[], opts: { version: string; baseDir?: string; notes?: string[] }): string {
  const ruleIds = [...new Set([...Object.keys(RULES), ...findings.map((f) => f.rule)])];
  const uri = (file: string) => {
    if (opts.baseDir && isAbsolute(file)) {
      const rel = relative(opts.baseDir, file);
      if (!rel.startsWith('..') && !isAbsolute(rel)) return { uri: rel.split('\\').join('/'), uriBaseId: '%SRCROOT%' };
    }
    return isAbsolute(file) ? { uri: pathToFileURL(file).href } : { uri: file.split('\\').join('/') };
  };
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'xdp-lens',
            version: opts.version,
            informationUri: 'https://github.com/xdp-lens/xdp-lens',
            rules: ruleIds.map((id) => {
              const r = (RULES as Record<string, { severity: string; summary: string }>)[id];
              return {
                id,
                shortDescription: { text: r?.summary ?? id },
                defaultConfiguration: { level: SARIF_LEVEL[(r?.severity ?? 'error') as keyof typeof SARIF_LEVEL] },
              };
            }),
          },
        },
        ...(opts.baseDir ? { originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(opts.baseDir + '/').href } } } : {}),
        ...(opts.notes?.length
          ? {
              invocations: [
                {
                  executionSuccessful: true,
                  toolExecutionNotifications: opts.notes.map((text) => ({ level: 'warning', message: { text } })),
                },
              ],
            }
          : {}),
        results: findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: ruleIds.indexOf(f.rule),
          level: SARIF_LEVEL[f.severity],
          message: { text: f.message },
          ...(f.related?.length
            ? {
                relatedLocations: f.related.map((r, id) => ({
                  id,
                  message: { text: r.message },
                  physicalLocation: {
                    artifactLocation: uri(r.file),
                    region: { startLine: r.line, startColumn: r.column, endLine: r.endLine, endColumn: r.endColumn },
                  },
                })),
              }
            : {}),
          locations: [
            {
              physicalLocation: {
                artifactLocation: uri(f.file),
                region: {
                  startLine: Math.max(1, f.line),
                  startColumn: Math.max(1, f.column),
                  endLine: Math.max(1, f.endLine),
                  endColumn: Math.max(1, f.endColumn),
                },
              },
            },
          ],
          ...(f.fixes?.length
            ? {
                fixes: f.fixes.map((fix) => ({
                  description: { text: fix.title },
                  artifactChanges: [
                    {
                      artifactLocation: uri(fix.file ?? f.file),
                      replacements: fix.edits.map((e) => ({
                        deletedRegion: { startLine: e.line, startColumn: e.column, endLine: e.endLine, endColumn: e.endColumn },
                        insertedContent: { text: e.newText },
                      })),
                    },
                  ],
                })),
              }
            : {}),
        })),
      },
    ],
  };
  return JSON.stringify(log, null, 2);
}
