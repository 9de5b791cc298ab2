// `xdp-lens test [FILES|DIRS] [--format text|tap|junit|json] [--kernel] [--engine E] [--case NAME]`.
import { readdirSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { XdpLensError } from '../session.ts';
import { exportCase, findTestFiles, runTestFile, type FileResult } from './runner.ts';
import { TestFileError } from './yaml.ts';
import { TEST_FORMATS, formatResults, totals, type TestFormat } from './report.ts';

export function cmdTest(argv: string[], out: (line: string) => void): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'text' },
      kernel: { type: 'boolean', default: false },
      engine: { type: 'string' },
      case: { type: 'string', multiple: true },
      'export-case': { type: 'string' },
      'out-dir': { type: 'string' },
    },
  });
  if (values['export-case'] !== undefined) {
    // For the editor's Debug button: the files the debugger replays the case from, as one JSON object.
    if (positionals.length !== 1 || !values['out-dir']) throw new XdpLensError('--export-case NAME takes one test file and --out-dir DIR');
    try {
      out(JSON.stringify(exportCase(positionals[0]!, values['export-case'], values['out-dir'])));
    } catch (e) {
      if (e instanceof TestFileError) throw new XdpLensError(e.message);
      throw e;
    }
    return 0;
  }
  const format = values.format as TestFormat;
  if (!TEST_FORMATS.includes(format)) throw new XdpLensError(`--format is one of ${TEST_FORMATS.join(', ')}, not '${values.format}'`);
  if (values.engine !== undefined && values.engine !== 'interp' && values.engine !== 'compiled') throw new XdpLensError(`--engine is interp or compiled, not '${values.engine}'`);
  const list = (dir: string) => {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    return readdirSync(dir, { withFileTypes: true }).map((e) => ({ name: e.name, dir: e.isDirectory() }));
  };
  const paths = positionals.length ? positionals : ['.'];
  const files = findTestFiles(paths, list);
  if (!files.length) throw new XdpLensError(`no *.xdptest.yaml files in ${paths.join(', ')}`);
  const results: FileResult[] = files.map((f) => runTestFile(f, { kernel: values.kernel, engine: values.engine as 'interp' | 'compiled' | undefined, only: values.case }));
  // A --case that names no case (a typo) would run nothing and pass: bad usage, said after the files that could not
  // be run (whose cases are unknown) are reported.
  const missing = (values.case ?? []).filter((n) => !results.some((r) => r.cases.some((c) => c.name === n)));
  if (missing.length && !results.some((r) => r.error)) {
    throw new XdpLensError(`--case ${missing.map((n) => `'${n}'`).join(', ')}: no case of that name in ${files.join(', ')}`);
  }
  out(formatResults(results, format));
  const t = totals(results);
  return t.errors ? 2 : t.failed ? 1 : 0;
}
