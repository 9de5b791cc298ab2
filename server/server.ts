// The XDP Lens language server. Serves any LSP client over stdio (`node dist/server.js --stdio`) or node IPC.
//
// As you type: the source tier (tree-sitter) runs on the open buffer, debounced. On save (and on open): the file on
// disk is compiled with clang and the bytecode tier runs on the object; its findings stay on screen while the buffer
// still equals what was analysed, and are dropped as soon as it is edited (their lines may no longer be right).
// Both tiers' findings are merged so that a mistake is reported once. Hover and quick fixes come from the same data.
import { createHash } from 'node:crypto';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createConnection,
  StreamMessageWriter,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  CodeActionKind,
  DiagnosticSeverity,
  type CodeAction,
  type Diagnostic,
  type Hover,
  type InitializeResult,
  ShowMessageNotification,
  MessageType,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  initSourceAnalysis,
  sourceFindings,
  bytecodeFindings,
  mergeFindings,
  sameSpanNames,
  effectiveCompileOptions,
  type AnalyzeOptions,
  type WalkedProgram,
} from '../simulator/analysis/index.ts';
import type { Finding, Fix } from '../simulator/analysis/findings.ts';
import { programListing } from '../simulator/analysis/listing.ts';
import { compileCAsync } from '../simulator/compile.ts';
import { compileShared } from './compiles.ts';
import { INPUT_LIMITS, readInputFile, readInputText } from '../simulator/input.ts';
import { loadObject } from '../simulator/elf/index.ts';
import { RULE_DOCS, docMarkdown, lookupDoc } from './docs.ts';
import { registerRunHandlers, warmRun } from './run.ts';
import { registerCompareHandler } from './compare.ts';
import { registerDebugHandlers } from './debug.ts';
import { ResyncingMessageReader } from './framing.ts';
import { guarded, localPath } from './guard.ts';
import {
  BytecodeRequest,
  DEFAULT_SETTINGS,
  StatusNotification,
  type BytecodeParams,
  type BytecodeResult,
  type StatusParams,
  type XdpLensSettings,
} from './protocol.ts';

/** Log lines that must reach the client's log even before the connection is up (stderr is never the protocol). */
const logError = (message: string) => void process.stderr.write(`${message}\n`);

/**
 * Over stdio the messages are read by a reader that survives framing errors (framing.ts); over node IPC there is no
 * framing. Every handler is registered behind the parameter check of its method (guard.ts).
 */
function connect() {
  if (!process.argv.includes('--stdio')) return createConnection(ProposedFeatures.all);
  // stdout carries the protocol: console output goes to stderr.
  for (const k of ['log', 'info', 'warn', 'error', 'debug'] as const) console[k] = (...args: unknown[]) => logError(args.map(String).join(' '));
  const end = () => process.exit(0);
  process.stdin.on('end', end);
  process.stdin.on('close', end);
  return createConnection(ProposedFeatures.all, new ResyncingMessageReader(process.stdin, logError), new StreamMessageWriter(process.stdout));
}
const connection = guarded(connect(), logError);

// The last line of defence: a bug in a handler or a timer is logged, and the server keeps serving.
process.on('uncaughtException', (e) => logError(`xdp-lens server: internal error (please report): ${e?.stack ?? e}`));
process.on('unhandledRejection', (e) => logError(`xdp-lens server: internal error (please report): ${(e as Error)?.stack ?? e}`));
const documents = new TextDocuments(TextDocument);

let hasConfiguration = false;
let workspaceRoot: string | undefined;
let sourceReady: Promise<void> | undefined;
let sourceFailed: string | undefined;
const notesShown = new Set<string>();
/** The client shows a missing clang in its status item (StatusParams.clangMissing), not as a pop-up. */
let clangMissingInStatus = false;
/** What the last on-save analysis said of a missing clang; cleared when clang is found again. */
let clangMissing: string | undefined;

interface DocState {
  timer?: NodeJS.Timeout;
  /** The on-save compile in flight. */
  compile?: AbortController;
  source: Finding[];
  /** Bytecode findings and the hash of the text they were computed for. */
  bytecode: Finding[];
  bytecodeFor?: string;
  /** The programs the bytecode walk covered (their source lines), for dropping source findings it disproved. */
  walked?: WalkedProgram[];
}
const states = new Map<string, DocState>();
const state = (uri: string): DocState => {
  let s = states.get(uri);
  if (!s) states.set(uri, (s = { source: [], bytecode: [] }));
  return s;
};

const hash = (text: string) => createHash('sha1').update(text).digest('hex');
const isXdpText = (text: string) => /\bSEC\s*\(\s*"xdp|__section\s*\(\s*"xdp|\bxdp_md\b|\bXDP_(PASS|DROP|TX|REDIRECT|ABORTED)\b/.test(text);

function status(params: Omit<StatusParams, 'driverMode'>, settings?: XdpLensSettings): void {
  void connection.sendNotification(StatusNotification, { driverMode: settings?.driver.mode ?? DEFAULT_SETTINGS.driver.mode, ...(clangMissingInStatus && clangMissing ? { clangMissing } : {}), ...params });
}

connection.onInitialize((params): InitializeResult => {
  hasConfiguration = !!params.capabilities.workspace?.configuration;
  clangMissingInStatus = (params.initializationOptions as { clangMissingInStatus?: unknown } | null | undefined)?.clangMissingInStatus === true;
  const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
  workspaceRoot = folder ? localPath(folder) : undefined;
  sourceReady = initSourceAnalysis().catch((e: unknown) => {
    sourceFailed = `the C parser could not start (${(e as Error).message}); only the on-save analysis runs`;
  });
  return {
    capabilities: {
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
      hoverProvider: true,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
    },
    serverInfo: { name: 'xdp-lens', version: typeof __XDP_LENS_VERSION__ === 'string' ? __XDP_LENS_VERSION__ : '0.0.0-dev' },
  };
});
declare const __XDP_LENS_VERSION__: string | undefined;

connection.onInitialized(() => {
  status({ state: 'ready' });
});

const settingsCache = new Map<string, Promise<XdpLensSettings>>();
function settingsFor(uri: string): Promise<XdpLensSettings> {
  if (!hasConfiguration) return Promise.resolve(DEFAULT_SETTINGS);
  let p = settingsCache.get(uri);
  if (!p) {
    p = connection.workspace
      .getConfiguration({ scopeUri: uri, section: 'xdpLens' })
      .then((raw: Partial<XdpLensSettings> | null) => mergeSettings(raw ?? {}))
      .catch(() => DEFAULT_SETTINGS);
    settingsCache.set(uri, p);
  }
  return p;
}

function mergeSettings(raw: Partial<XdpLensSettings>): XdpLensSettings {
  const d = DEFAULT_SETTINGS;
  const strings = (v: unknown, dflt: string[]) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : dflt);
  const mode = raw.driver?.mode;
  return {
    clang: { path: typeof raw.clang?.path === 'string' && raw.clang.path ? raw.clang.path : d.clang.path, flags: strings(raw.clang?.flags, d.clang.flags) },
    includePaths: strings(raw.includePaths, d.includePaths),
    compileCommands: typeof raw.compileCommands === 'string' ? raw.compileCommands : d.compileCommands,
    driver: {
      mode: mode === 'native' || mode === 'readonly-page' || mode === 'generic' ? mode : d.driver.mode,
      profile: typeof raw.driver?.profile === 'string' ? raw.driver.profile : d.driver.profile,
      queues: typeof raw.driver?.queues === 'number' ? raw.driver.queues : d.driver.queues,
    },
    analyzeOnSave: typeof raw.analyzeOnSave === 'boolean' ? raw.analyzeOnSave : d.analyzeOnSave,
    kernelVerifier: typeof raw.kernelVerifier === 'boolean' ? raw.kernelVerifier : d.kernelVerifier,
    btf: typeof raw.btf === 'string' ? raw.btf : d.btf,
    engine: raw.engine === 'interp' || raw.engine === 'compiled' ? raw.engine : d.engine,
    tcpdump: { path: typeof raw.tcpdump?.path === 'string' && raw.tcpdump.path ? raw.tcpdump.path : d.tcpdump.path },
    live: {
      filter: typeof raw.live?.filter === 'string' ? raw.live.filter : d.live.filter,
      maxPackets: Number.isSafeInteger(raw.live?.maxPackets) && raw.live!.maxPackets > 0 ? raw.live!.maxPackets : d.live.maxPackets,
      maxCaptureMB: typeof raw.live?.maxCaptureMB === 'number' && raw.live.maxCaptureMB > 0 ? raw.live.maxCaptureMB : d.live.maxCaptureMB,
    },
  };
}

function analyzeOptions(s: XdpLensSettings): AnalyzeOptions {
  const resolveWs = (p: string) => (isAbsolute(p) || !workspaceRoot ? p : join(workspaceRoot, p));
  return {
    driverMode: s.driver.mode,
    clang: s.clang.path,
    flags: s.clang.flags,
    includeDirs: s.includePaths.map(resolveWs),
    compileCommands: s.compileCommands ? resolveWs(s.compileCommands) : undefined,
    kernel: s.kernelVerifier,
    btf: s.btf ? resolveWs(s.btf) : undefined,
  };
}

connection.onDidChangeConfiguration(() => {
  settingsCache.clear();
  for (const doc of documents.all()) {
    const s = state(doc.uri);
    s.bytecode = [];
    s.bytecodeFor = undefined;
    scheduleSource(doc, 0);
    void runBytecode(doc);
  }
});

function filePath(uri: string): string | undefined {
  return localPath(uri);
}

function scheduleSource(doc: TextDocument, delay = 10): void {
  const s = state(doc.uri);
  if (s.timer) clearTimeout(s.timer);
  s.timer = setTimeout(() => {
    s.timer = undefined;
    void runSource(doc.uri);
  }, delay);
}

async function runSource(uri: string): Promise<void> {
  const doc = documents.get(uri);
  if (!doc) return;
  await sourceReady;
  const settings = await settingsFor(uri);
  const s = state(uri);
  const text = doc.getText();
  if (sourceFailed) note(sourceFailed);
  s.source = sourceFailed ? [] : sourceFindings(filePath(uri) ?? uri, text, analyzeOptions(settings));
  publish(doc);
}

async function runBytecode(doc: TextDocument): Promise<void> {
  const path = filePath(doc.uri);
  if (!path) return;
  const settings = await settingsFor(doc.uri);
  if (!settings.analyzeOnSave) return;
  let disk: string;
  try {
    disk = readInputText(path, 'C source', INPUT_LIMITS.source); // never a device: /dev/zero would never end
  } catch {
    return;
  }
  if (!isXdpText(disk)) return;
  status({ state: 'analysing', message: 'compiling and analysing the object' }, settings);
  const t0 = performance.now();
  // clang runs without blocking the server; a newer save or closing the document kills the compile in flight.
  const s0 = state(doc.uri);
  s0.compile?.abort();
  const abort = (s0.compile = new AbortController());
  const options = analyzeOptions(settings);
  const compiled = await compileShared(path, effectiveCompileOptions(path, options).compile, abort.signal);
  if (abort.signal.aborted) {
    if (!states.get(doc.uri)?.compile) status({ state: 'ready' }, settings);
    return;
  }
  s0.compile = undefined;
  const r = bytecodeFindings(path, options, { result: compiled, ms: performance.now() - t0 });
  if (r.command) connection.console.log(`${r.cached ? 'cached object for' : 'compiled with'}: ${r.command.join(' ')}`);
  connection.console.log(`bytecode analysis of ${path}: clang ${r.compileMs.toFixed(0)} ms, analysis ${r.analyzeMs.toFixed(0)} ms, ${r.findings.length} findings (${(performance.now() - t0).toFixed(0)} ms)`);
  // The file's own compile errors are its Problems entries (compile-error): saying again in a pop-up that the analysis
  // could not compile it would interrupt every save of a half-typed edit; the output keeps the note.
  const compileFailed = `${path}: the bytecode analysis did not run: clang could not compile the file`;
  clangMissing = r.clangMissing;
  // A missing clang: the run says it in a pop-up too; a client showing it in its status item needs no second one here.
  for (const n of r.notes) note(n, path, n.startsWith(compileFailed) || (clangMissingInStatus && n === r.clangMissing));
  const s = state(doc.uri);
  s.bytecode = r.findings;
  s.walked = r.walked && sameSpanNames(path, r.walked);
  s.bytecodeFor = hash(disk);
  status({ state: 'ready' }, settings);
  const current = documents.get(doc.uri);
  if (current) publish(current);
  // What a run of this file will need, made now (the return-line twin, a worker thread): run.ts warmRun.
  if (compiled.objectPath && !compiled.diagnostics.some((d) => d.severity === 'error')) void warmRun(doc.uri, disk, runHost, abort.signal);
}

function note(message: string, file?: string, logOnly = false): void {
  if (notesShown.has(message)) return;
  notesShown.add(message);
  connection.console.warn(message);
  if (logOnly) return;
  // A notification, not window/showMessageRequest (which a minimal LSP client answers with an error): it has no
  // buttons to wait for, and nothing can come back. The file by its name: a pop-up shows its first line only.
  const text = file ? message.split(file).join(basename(file)) : message;
  void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message: `XDP Lens: ${text}` });
}

function publish(doc: TextDocument): void {
  const s = state(doc.uri);
  const path = filePath(doc.uri) ?? doc.uri;
  const bytecode = s.bytecodeFor === hash(doc.getText()) ? s.bytecode : [];
  const merged = mergeFindings(s.source, bytecode, s.bytecodeFor === hash(doc.getText()) ? s.walked : undefined).filter((f) => f.file === path || f.file === doc.uri);
  void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics: merged.map(toDiagnostic) });
}

function toDiagnostic(f: Finding): Diagnostic {
  const line = Math.max(0, f.line - 1);
  const character = Math.max(0, f.column - 1);
  const endLine = Math.max(line, f.endLine - 1);
  const endCharacter = endLine === line ? Math.max(character + 1, f.endColumn - 1) : Math.max(0, f.endColumn - 1);
  return {
    range: { start: { line, character }, end: { line: endLine, character: endCharacter } },
    severity: f.severity === 'error' ? DiagnosticSeverity.Error : f.severity === 'warning' ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information,
    code: String(f.rule),
    source: 'xdp-lens',
    message: f.message,
    // A fix of a mistake in a header's helper edits the header: its edits carry that file's URI.
    data: { fixes: (f.fixes ?? []).map(({ file, ...fix }) => (file ? { ...fix, uri: pathToFileURL(resolve(file)).href } : fix)), tier: f.tier },
    ...(f.related?.length
      ? {
          relatedInformation: f.related.map((r) => ({
            location: {
              uri: isAbsolute(r.file) ? pathToFileURL(r.file).href : r.file,
              range: {
                start: { line: Math.max(0, r.line - 1), character: Math.max(0, r.column - 1) },
                end: { line: Math.max(0, r.endLine - 1), character: Math.max(0, r.endColumn - 1) },
              },
            },
            message: r.message,
          })),
        }
      : {}),
  };
}

documents.onDidOpen((e) => {
  scheduleSource(e.document, 0);
  void runBytecode(e.document);
});
documents.onDidChangeContent((e) => scheduleSource(e.document));
documents.onDidSave((e) => void runBytecode(e.document));
documents.onDidClose((e) => {
  const s = states.get(e.document.uri);
  if (s?.timer) clearTimeout(s.timer);
  s?.compile?.abort();
  states.delete(e.document.uri);
  settingsCache.delete(e.document.uri);
  void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
});

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
function isFix(f: unknown): f is Fix {
  const x = f as Fix | null;
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof x.title === 'string' &&
    Array.isArray(x.edits) &&
    x.edits.every((e) => e !== null && typeof e === 'object' && isNum(e.line) && isNum(e.column) && isNum(e.endLine) && isNum(e.endColumn) && typeof e.newText === 'string') &&
    ((x as { uri?: unknown }).uri === undefined || (typeof (x as { uri?: unknown }).uri === 'string' && String((x as { uri?: unknown }).uri).startsWith('file:')))
  );
}

connection.onCodeAction((params): CodeAction[] => {
  const actions: CodeAction[] = [];
  for (const d of params.context.diagnostics) {
    if (d === null || typeof d !== 'object' || d.source !== 'xdp-lens') continue;
    // The client echoes the diagnostic's data back: use only fixes of the shape we sent.
    const raw = (d.data as { fixes?: unknown } | null | undefined)?.fixes;
    const fixes = (Array.isArray(raw) ? raw : []).filter(isFix);
    for (const fix of fixes) {
      actions.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        isPreferred: fixes.length === 1,
        edit: {
          changes: {
            [(fix as Fix & { uri?: string }).uri ?? params.textDocument.uri]: fix.edits.map((e) => ({
              range: { start: { line: e.line - 1, character: e.column - 1 }, end: { line: e.endLine - 1, character: e.endColumn - 1 } },
              newText: e.newText,
            })),
          },
        },
      });
    }
  }
  return actions;
});

function findingExplanation(doc: TextDocument, line: number, character: number): { markdown: string; start: number; end: number } | null {
  const s = state(doc.uri);
  const path = filePath(doc.uri) ?? doc.uri;
  const bytecode = s.bytecodeFor === hash(doc.getText()) ? s.bytecode : [];
  const here = mergeFindings(s.source, bytecode, s.bytecodeFor === hash(doc.getText()) ? s.walked : undefined).filter(
    (f) => (f.file === path || f.file === doc.uri) && f.line - 1 === line && f.endLine === f.line && character >= f.column - 1 && character < f.endColumn - 1,
  );
  const rules = [...new Set(here.map((f) => String(f.rule)))].filter((r) => RULE_DOCS[r]);
  if (!rules.length) return null;
  const f = here.find((x) => x.rule === rules[0])!;
  return { markdown: rules.map((r) => `**${r}**: ${RULE_DOCS[r]}`).join('\n\n'), start: f.column - 1, end: f.endColumn - 1 };
}

connection.onHover((params): Hover | null => {
  const doc = documents.get(params.textDocument.uri);
  if (!doc) return null;
  // Positions past the end of a line or of the document are clamped to it (LSP says so for characters).
  if (params.position.line >= doc.lineCount) return null;
  const lineText = doc.getText({ start: { line: params.position.line, character: 0 }, end: { line: params.position.line + 1, character: 0 } }).replace(/\r?\n$/, '');
  const at = Math.min(params.position.character, lineText.length);
  // Over a finding: the longer explanation of its rule (the diagnostic itself keeps one or two sentences).
  const rule = findingExplanation(doc, params.position.line, at);
  // Inside SEC("..."): the section name.
  const sec = /\b(?:SEC|__section)\s*\(\s*"([^"]*)"/g;
  for (let m; (m = sec.exec(lineText)); ) {
    const start = m.index + m[0].indexOf('"') + 1;
    if (at >= start && at <= start + m[1]!.length) {
      const d = lookupDoc(m[1]!, { section: true });
      if (d) return hover(docMarkdown(d), params.position.line, start, start + m[1]!.length);
    }
  }
  let s = at;
  let e = at;
  while (s > 0 && /\w/.test(lineText[s - 1]!)) s--;
  while (e < lineText.length && /\w/.test(lineText[e]!)) e++;
  if (s === e) return rule ? hover(rule.markdown, params.position.line, rule.start, rule.end) : null;
  const word = lineText.slice(s, e);
  const before = lineText.slice(0, s).trimEnd();
  const d = lookupDoc(word, { field: before.endsWith('->') || before.endsWith('.') });
  if (rule) return hover(d ? `${rule.markdown}\n\n---\n\n${docMarkdown(d)}` : rule.markdown, params.position.line, d ? s : rule.start, d ? e : rule.end);
  return d ? hover(docMarkdown(d), params.position.line, s, e) : null;
});

function hover(markdown: string, line: number, s: number, e: number): Hover {
  return { contents: { kind: 'markdown', value: markdown }, range: { start: { line, character: s }, end: { line, character: e } } };
}

connection.onRequest(BytecodeRequest, async (params: BytecodeParams, token): Promise<BytecodeResult> => {
  const path = filePath(params.uri);
  if (!path) return { text: '', error: 'only files on disk can be compiled' };
  const settings = await settingsFor(params.uri);
  const { compile } = effectiveCompileOptions(path, analyzeOptions(settings));
  // Compiled without blocking the server; a cancelled request kills clang and everything it started.
  const abort = new AbortController();
  const cancel = token.onCancellationRequested(() => abort.abort());
  const r = await compileCAsync(path, compile, abort.signal).finally(() => cancel.dispose());
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (!r.objectPath || errors.length) {
    return { text: '', error: errors.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('\n') || r.stderr || 'clang failed' };
  }
  const { object, diagnostics } = loadObject(readInputFile(r.objectPath, 'object', INPUT_LIMITS.object), path, { btf: analyzeOptions(settings).btf });
  if (!object) return { text: '', error: diagnostics.map((d) => d.message).join('\n') };
  return { text: programListing(object, params.program) };
});

const runHost = {
  settingsFor,
  compileOptions: (path: string, settings: XdpLensSettings) => ({ ...effectiveCompileOptions(path, analyzeOptions(settings)).compile, btf: analyzeOptions(settings).btf }),
  log: (message: string) => connection.console.log(message),
};
registerRunHandlers(connection, runHost);
registerCompareHandler(connection, runHost);
const debugSessions = registerDebugHandlers(connection, runHost.log);
connection.onShutdown(() => debugSessions.dispose());

documents.listen(connection);
connection.listen();
