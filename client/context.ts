// The extension's state and lifecycle: the language client (started once a C file with an XDP program is open), the
// status bar, the output channel, the commands, and the results of the last run with the views that show them.
// The simulation itself runs in the server process; this side only asks for summaries and pages.
import * as vscode from 'vscode';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { MapsView } from './maps-view.ts';
import { basename, join } from 'node:path';
import { LanguageClient, TransportKind, State, WorkDoneProgress, DidChangeConfigurationNotification } from 'vscode-languageclient/node';
import {
  BytecodeRequest,
  CheckFilterRequest,
  CompareKernelRequest,
  DiffVerdictsRequest,
  PacketRequest,
  RunRequest,
  RunLiveRequest,
  RunUpdateNotification,
  StatusNotification,
  type BytecodeResult,
  type CheckFilterParams,
  type CheckFilterResult,
  type DiffVerdictsParams,
  type DiffVerdictsResult,
  type CompareKernelParams,
  type CompareKernelResult,
  type PacketDetail,
  type RunParams,
  type RunLiveParams,
  type RunUpdateParams,
  type RunResponse,
  type RunFault,
  type RunOutcomeIssue,
  type RunSummary,
  type StatusParams,
  type XdpAction,
} from '../server/protocol.ts';
import { cancelledNote, cancelledText, captureBrokenNote, count, NO_OUTPUT_PACKETS, PATH_COPIED, runErrorButton, notRerunText, everyRowHeaderNote, debugLenses, faultEvidence, faultMessage, findXdpFunctions, formatDuration, isXdpSource, outcomeMessage, outputCaptureItems, plural, refusalBanner, refusalLensTitle, RUN_CONFIRMS, runErrorText, runEvidence, runLensTitle, statusText } from './format.ts';
import { addRecent, captureChoices, staleWhat, RERUN_ON_SAVE_MS, rerunAfterRun, rerunOnSave, restrictSettings, savedProgram, settingsKey, textHash, type RunStamp } from './state.ts';
import { copyExecutedPath, PacketView } from './packet-view.ts';
import { listInterfaces, liveEndMessage } from './live.ts';
import { RunDecorations, PacketsProvider, type PacketNode } from './views.ts';
import { debugPacket, registerDebugging, type PacketArg } from './debug.ts';
import { registerTesting, saveAsTestCase } from './testing.ts';
import { SummaryView } from './summary-view.ts';
import { SHOW_OUTPUT, showError } from './notify.ts';

const RECENT_KEY = 'xdpLens.recentCaptures';
const PACKET_SCHEME = 'xdp-lens-packet';
const BYTECODE_SCHEME = 'xdp-bytecode';

/** The last run: what was asked, what came back, and what it was computed from. */
export interface LastRun {
  params: RunParams;
  summary: RunSummary;
  stamp: RunStamp;
  /** Wall time of the run as the user waited for it (request to response). */
  ms: number;
}

/** Settings that change what a run computes; results are stale when they differ from the run's. */
function runSettings(uri: vscode.Uri): string {
  const c = vscode.workspace.getConfiguration('xdpLens', uri);
  return settingsKey({ clang: c.get('clang'), includePaths: c.get('includePaths'), compileCommands: c.get('compileCommands'), driver: c.get('driver'), btf: c.get('btf'), maps: c.get('maps'), seed: seedHash(uri) });
}

/** The map seed file's text as a run reads it (on disk), hashed: a saved edit of it makes the last run stale. */
function seedHash(uri: vscode.Uri): string | undefined {
  const seed = mapsSeed(uri);
  if (!seed) return undefined;
  try {
    return textHash(readFileSync(seed, 'utf8'));
  } catch {
    return 'unreadable';
  }
}

/** The `xdpLens.maps` seed file for runs of this document (relative paths from its workspace folder), if set. */
function mapsSeed(uri: vscode.Uri): string | undefined {
  const seed = vscode.workspace.getConfiguration('xdpLens', uri).get<string>('maps', '').trim();
  if (!seed) return undefined;
  const folder = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath;
  return folder && !seed.startsWith('/') ? join(folder, seed) : seed;
}

/** Captures of the workspace the capture pick lists at most (found by name; Browse... reaches the others). */
const MAX_WORKSPACE_CAPTURES = 30;

export class XdpLensContext implements vscode.Disposable {
  readonly output: vscode.OutputChannel;
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient> | undefined;
  private readonly status: vscode.StatusBarItem;
  private serverState: StatusParams['state'] = 'starting';
  private readonly disposables: vscode.Disposable[] = [];
  private readonly faults: vscode.DiagnosticCollection;
  private readonly decorations: RunDecorations;
  private readonly packets: PacketsProvider;
  private readonly packetsView: vscode.TreeView<PacketNode>;
  private readonly lensChanged = new vscode.EventEmitter<void>();
  private readonly virtualDocs = new Map<string, string>();
  private readonly virtualChanged = new vscode.EventEmitter<vscode.Uri>();
  lastRun: LastRun | undefined;
  /** A run is going on (a save does not start another). */
  /** The program (uri) of the run going on. */
  private running: string | undefined;
  /** The last save of the last run's program while a run was going on (re-run when it ends: `rerunAfterRun`). */
  private savedDuringRun: { uri: string; version: number; file: string } | undefined;
  /** A save of the last run's program that did not re-run it (the run took too long): its stale results say why. */
  private notRerun: { runId: string; ms: number } | undefined;
  /** The server's note that clang could not be found (StatusParams.clangMissing), shown in the status item. */
  private clangMissing: string | undefined;
  private readonly packetView: PacketView;
  private readonly summaryView: SummaryView;
  /** The XDP Maps view (client/maps-view.ts). */
  readonly mapsView: MapsView;
  /** The language server's diagnostics as it last sent them, by document URI, and how they are shown (see withRunEvidence). */
  private readonly serverDiagnostics = new Map<string, { uri: vscode.Uri; list: vscode.Diagnostic[] }>();
  private showServerDiagnostics: ((uri: vscode.Uri, list: vscode.Diagnostic[]) => void) | undefined;
  /** Per file, the run's outcome issues its findings confirmed when the run's entries were last published. */
  private readonly confirmedShown = new Map<string, string>();
  /** The last verdict comparison's changes per line, shown after those lines until the file is edited. */
  private verdictDiff: { uri: string; lines: { line: number; text: string }[] } | undefined;
  private readonly verdictDecoration = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic', margin: '0 0 0 2em' },
  });

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('XDP Lens');
    this.status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
    this.status.command = 'xdpLens.chooseDriverMode';
    this.faults = vscode.languages.createDiagnosticCollection('xdp-lens-run');
    this.decorations = new RunDecorations();
    this.packets = new PacketsProvider((method, params) => this.request(method, params));
    this.packets.onCount = () => this.describePackets();
    this.packetsView = vscode.window.createTreeView('xdpLens.packets', { treeDataProvider: this.packets, showCollapseAll: true });
    this.packetView = new PacketView({ lastRun: () => this.lastRun?.summary, stale: () => this.staleWhat(), request: (m, p) => this.request(m, p), log: (m) => this.log(m) }, context.extensionUri);
    // The packet view follows the selection in the packets view (a row's command shows it too; this covers selections
    // made without it), keeping the focus in the list.
    this.packetsView.onDidChangeSelection((e) => {
      const node = e.selection[0];
      if (node?.kind === 'packet' && this.packetView.isOpen && this.packetView.index !== node.row.index) void this.showPacket(node.row.index, true).catch((err) => this.log(`packet view: ${(err as Error).message}`));
    });
    this.disposables.push(this.packetView);
    this.summaryView = new SummaryView({ lastRun: () => this.lastRun?.summary, stale: () => this.staleWhat(), request: (m, p) => this.request(m, p), log: (m) => this.log(m) });
    this.disposables.push(this.summaryView);
    this.mapsView = new MapsView({
      runId: () => this.lastRun?.summary.runId,
      runName: () => this.lastRun && `${basename(this.lastRun.summary.file)} on ${basename(this.lastRun.summary.capture)}`,
      runVersion: () => this.lastRun && `${this.lastRun.summary.runId}${this.lastRun.summary.live?.running ? ' (capturing)' : ''}`,
      stale: () => this.staleWhat(),
      runUri: () => this.lastRun?.params.uri, request: (m, p) => this.request(m, p), log: (m) => this.log(m) });
    this.disposables.push(this.mapsView);
    this.disposables.push(this.output, this.status, this.faults, this.decorations, this.packetsView, this.lensChanged, this.virtualChanged, this.verdictDecoration);
    this.updateStatus();
    this.status.show();

    const command = (id: string, fn: (...args: never[]) => unknown) =>
      this.disposables.push(
        vscode.commands.registerCommand(id, async (...args: never[]) => {
          try {
            return await fn(...args);
          } catch (e) {
            const message = (e as Error).message ?? String(e);
            showError(message, (t) => this.log(`${id} failed: ${t}`));
            return undefined;
          }
        }),
      );
    command('xdpLens.runOnCapture', (uri?: vscode.Uri | string, capture?: string) => this.runOnCapture(uri, capture));
    command('xdpLens.rerun', () => this.rerun());
    command(SHOW_OUTPUT, () => this.output.show(true));
    command('xdpLens.runOnLiveTraffic', (uri?: vscode.Uri | string, iface?: string, filter?: string) => this.runOnLiveTraffic(uri, iface, filter));
    command('xdpLens.stopLiveRun', () => this.liveRun?.cancel());
    command('xdpLens.chooseDriverMode', () => this.chooseDriverMode());
    command('xdpLens.showPacket', (index?: number | PacketNode) => this.showPacket(index));
    command('xdpLens.openOutputCaptures', () => this.openOutputCaptures());
    command('xdpLens.showBytecode', (uri?: vscode.Uri) => this.showBytecode(uri));
    command('xdpLens.compareWithKernel', (uri?: vscode.Uri | string, capture?: string, maps?: string) => this.compareWithKernel(uri, capture, maps));
    command('xdpLens.filterPackets', (text?: string) => this.filterPackets(typeof text === 'string' ? text : undefined));
    command('xdpLens.clearPacketFilter', () => this.filterPackets(''));
    command('xdpLens.compareVerdicts', (uri?: vscode.Uri | string, against?: DiffVerdictsParams['against'], capture?: string) => this.compareVerdicts(uri, against, capture));
    command('xdpLens.showPackets', () => vscode.commands.executeCommand('xdpLens.packets.focus'));
    command('xdpLens.showRunSummary', () => this.summaryView.show());
    this.disposables.push(...registerDebugging(context, () => this.lastRun?.params, () => this.ensureClient()));
    this.disposables.push(...registerTesting(context, (line) => this.log(line)));
    command('xdpLens.saveAsTestCase', async (arg?: PacketNode) => {
      if (!this.lastRun || arg?.kind !== 'packet') throw new Error('choose a packet in the packets view of a run');
      const d = await this.request<PacketDetail>(PacketRequest, { runId: this.lastRun.summary.runId, index: arg.row.index });
      if (d.error && !d.before) throw new Error(d.error);
      const p = this.lastRun.params;
      await saveAsTestCase(vscode.Uri.parse(p.uri), p.capture, p.driverMode, d, p.maps);
    });
    command('xdpLens.copyPacketPath', async (arg?: PacketNode) => {
      if (!this.lastRun || arg?.kind !== 'packet') throw new Error('choose a packet in the packets view of a run');
      const d = await this.request<PacketDetail>(PacketRequest, { runId: this.lastRun.summary.runId, index: arg.row.index });
      if (d.error && !d.lines?.length) throw new Error(d.error);
      await copyExecutedPath(d);
    });
    command('xdpLens.debugPacket', (arg?: PacketArg) => debugPacket(this.lastRun?.params, arg, this.lastRun?.summary.driver));

    const virtual: vscode.TextDocumentContentProvider = {
      onDidChange: this.virtualChanged.event,
      provideTextDocumentContent: (uri) => this.virtualDocs.get(uri.toString()) ?? '',
    };
    this.disposables.push(
      vscode.workspace.registerTextDocumentContentProvider(PACKET_SCHEME, virtual),
      vscode.workspace.registerTextDocumentContentProvider(BYTECODE_SCHEME, virtual),
      vscode.languages.registerCodeLensProvider({ language: 'c' }, { onDidChangeCodeLenses: this.lensChanged.event, provideCodeLenses: (doc) => this.codeLenses(doc) }),
      vscode.workspace.onDidOpenTextDocument((doc) => this.maybeStart(doc)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.lastRun && e.document.uri.toString() === this.lastRun.stamp.uri) this.refreshRunViews();
        // Verdict changes are per line of the file as compared: an edit makes them wrong, so they go.
        if (this.verdictDiff && e.contentChanges.length && e.document.uri.toString() === this.verdictDiff.uri) this.showVerdictDiff(undefined);
      }),
      vscode.workspace.onDidSaveTextDocument((doc) => {
        // The program or the last run's map seed file saved (a seed's save stands for its program's: the run read it).
        const program = savedProgram({ uri: doc.uri.toString(), ...(doc.uri.scheme === 'file' ? { fsPath: doc.uri.fsPath } : {}) }, this.lastRun && { uri: this.lastRun.stamp.uri, maps: this.lastRun.params.maps });
        // A seed saved: the last run's maps and counts are stale (Re-run in the views' titles) until it runs again.
        if (program.seed) this.refreshRunViews();
        // A fast run is repeated on save (xdpLens.rerunOnSave), so its counts follow the edits.
        const enabled = vscode.workspace.getConfiguration('xdpLens', vscode.Uri.parse(program.uri)).get<boolean>('rerunOnSave', true);
        const last = this.lastRun && { uri: this.lastRun.stamp.uri, ms: this.lastRun.ms };
        const when = rerunOnSave({ enabled, trusted: this.trusted, saved: program.uri, last, running: this.running });
        // A seed saved during a run: the run read it before (no version of the program tells), so it runs again after.
        if (when === 'after') this.savedDuringRun = { uri: program.uri, version: program.seed ? -1 : doc.version, file: basename(doc.uri.fsPath) };
        if (when === 'slow') this.saidNotRerun(last!.ms);
        if (when !== 'now') return;
        this.log(`re-run on save of ${basename(doc.uri.fsPath)} (the last run took ${formatDuration(last!.ms)})`);
        this.rerun().catch((e) => this.log(`re-run on save: ${(e as Error).message}`));
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('xdpLens')) return;
        this.updateStatus();
        this.refreshRunViews();
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => {
        this.refreshRunViews();
        this.showVerdictDiff(this.verdictDiff);
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.updateStatus();
        // The server pulls the settings again and, now with analyzeOnSave as configured, compiles the open files.
        void this.client?.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
      }),
    );
    for (const doc of vscode.workspace.textDocuments) this.maybeStart(doc);
  }

  log(message: string): void {
    this.output.appendLine(`[${new Date().toISOString().slice(11, 23)}] ${message}`);
  }

  private get trusted(): boolean {
    return vscode.workspace.isTrusted;
  }

  private updateStatus(): void {
    const mode = vscode.workspace.getConfiguration('xdpLens').get<string>('driver.mode', 'native');
    this.status.text = statusText(this.client ? this.serverState : 'starting', mode, this.trusted, this.clangMissing !== undefined);
    this.status.tooltip = this.trusted
      ? `XDP Lens: ${this.clangMissing ? `${this.clangMissing}\n` : ''}server ${this.client ? this.serverState : 'not started'}; driver mode ${mode} (click to change)`
      : 'XDP Lens: restricted mode; nothing is compiled or run in an untrusted workspace, only the source analysis';
  }

  private maybeStart(doc: vscode.TextDocument): void {
    if (doc.languageId !== 'c' || doc.uri.scheme !== 'file' || this.starting) return;
    if (!isXdpSource(doc.getText())) return;
    void this.ensureClient().catch((e) => this.log(`language server failed to start: ${(e as Error).message}`));
  }

  /** Start the language server once; later calls get the same client. */
  ensureClient(): Promise<LanguageClient> {
    this.starting ??= this.startClient();
    return this.starting;
  }

  private async startClient(): Promise<LanguageClient> {
    const module = this.context.asAbsolutePath(join('dist', 'server.js'));
    const client = new LanguageClient(
      'xdpLens',
      'XDP Lens',
      { run: { module, transport: TransportKind.ipc }, debug: { module, transport: TransportKind.ipc } },
      {
        documentSelector: [{ scheme: 'file', language: 'c' }],
        outputChannel: this.output,
        synchronize: { configurationSection: 'xdpLens' },
        // A missing clang is shown in the status item (one pop-up, the run's, is enough).
        initializationOptions: { clangMissingInStatus: true },
        middleware: {
          // A finding the last run proved (packets dropped where the analysis said they would be) says so itself.
          handleDiagnostics: (uri, list, next) => {
            this.serverDiagnostics.set(uri.toString(), { uri, list });
            this.showServerDiagnostics = next;
            next(uri, this.withRunEvidence(uri, list));
            // The run's own entries change only when what the server's findings confirm does (not at every keystroke).
            if (!this.lastRun || uri.scheme !== 'file') return;
            const key = this.confirmedKey(uri.fsPath);
            if (key === (this.confirmedShown.get(uri.fsPath) ?? '')) return;
            this.confirmedShown.set(uri.fsPath, key);
            this.showFaults(this.lastRun.summary, false);
          },
          workspace: {
            configuration: async (params, token, next) => {
              const r = await next(params, token);
              if (!Array.isArray(r)) return r;
              return r.map((s) => restrictSettings(s as { analyzeOnSave?: boolean }, this.trusted));
            },
          },
        },
      },
    );
    client.onNotification(RunUpdateNotification, (p: RunUpdateParams) => this.liveUpdate(p.summary));
    client.onNotification(StatusNotification, (p: StatusParams) => {
      this.serverState = p.state;
      this.clangMissing = p.clangMissing;
      this.updateStatus();
      if (p.message && p.state === 'error') this.log(`server: ${p.message}`);
    });
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped) this.serverState = 'error';
      this.updateStatus();
    });
    this.client = client;
    const t0 = Date.now();
    this.log(`starting language server ${module}`);
    await client.start();
    this.log(`language server ready in ${formatDuration(Date.now() - t0)}`);
    this.updateStatus();
    return client;
  }

  private async request<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R> {
    const client = await this.ensureClient();
    // No token argument at all when there is none: an undefined one goes on the wire as a second positional parameter.
    return token ? client.sendRequest<R>(method, params, token) : client.sendRequest<R>(method, params);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Running

  private requireTrust(what: string): void {
    if (!this.trusted) throw new Error(`${what} compiles and runs code from this workspace, which is not trusted. Trust the workspace to use it.`);
  }

  private async xdpDocument(uri?: vscode.Uri | string): Promise<vscode.TextDocument> {
    const target = typeof uri === 'string' ? vscode.Uri.parse(uri) : uri;
    const doc = target ? await vscode.workspace.openTextDocument(target) : vscode.window.activeTextEditor?.document;
    if (!doc || doc.languageId !== 'c' || doc.uri.scheme !== 'file') throw new Error('open a C file holding an XDP program first');
    if (!isXdpSource(doc.getText())) throw new Error(`${basename(doc.uri.fsPath)} holds no XDP program (no SEC("xdp") function)`);
    return doc;
  }

  private async pickCapture(doc: vscode.TextDocument): Promise<string | undefined> {
    const dflt = vscode.workspace.getConfiguration('xdpLens', doc.uri).get<string>('defaultCapture', '');
    const folder = vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath;
    const resolved = dflt && folder && !dflt.startsWith('/') ? join(folder, dflt) : dflt;
    const recent = this.context.workspaceState.get<string[]>(RECENT_KEY, []);
    // The workspace's captures too (a few, by name): a new user's first run needs no setting and no file dialog.
    const found = await vscode.workspace.findFiles('**/*.{pcap,pcapng,cap,pcap.gz,pcapng.gz}', '**/node_modules/**', MAX_WORKSPACE_CAPTURES).then((u) => u.map((x) => x.fsPath), () => []);
    const choices = captureChoices(resolved || undefined, recent, found);
    const browse = { label: '$(folder-opened) Browse...', path: '' };
    const items = [
      ...choices.map((c) => ({ label: basename(c.path), description: c.isDefault ? 'default (xdpLens.defaultCapture)' : c.inWorkspace ? 'in the workspace' : 'recent', detail: c.path, path: c.path })),
      browse,
    ];
    const picked = items.length === 1 ? browse : await vscode.window.showQuickPick(items, { title: 'XDP: Run on Capture', placeHolder: 'Capture to run the program on' });
    if (!picked) return undefined;
    if (picked.path) return picked.path;
    const files = await vscode.window.showOpenDialog({
      canSelectMany: false,
      title: 'Capture to run the XDP program on',
      filters: { Captures: ['pcap', 'pcapng', 'cap', 'gz'], 'All files': ['*'] },
      defaultUri: folder ? vscode.Uri.file(folder) : undefined,
    });
    return files?.[0]?.fsPath;
  }

  async runOnCapture(uri?: vscode.Uri | string, capture?: string): Promise<RunSummary | undefined> {
    this.requireTrust('Running on a capture');
    const doc = await this.xdpDocument(uri);
    const path = capture ?? (await this.pickCapture(doc));
    if (!path) return undefined;
    return this.run({ uri: doc.uri.toString(), capture: path }, doc);
  }

  async rerun(): Promise<RunSummary | undefined> {
    this.requireTrust('Re-running');
    if (!this.lastRun) return this.runOnCapture();
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(this.lastRun.params.uri));
    const { uri, capture, program } = this.lastRun.params;
    return this.run({ uri, capture, program }, doc);
  }

  private async run(params: RunParams, doc: vscode.TextDocument): Promise<RunSummary | undefined> {
    this.running = params.uri;
    this.savedDuringRun = undefined;
    try {
      return await this.runNow(params, doc);
    } finally {
      this.running = undefined;
      this.afterRun();
    }
  }

  /** The last run was not re-run on a save of its program: it took `ms`. Its stale results (lens, packets view) say why. */
  private saidNotRerun(ms: number): void {
    if (!this.lastRun) return;
    this.notRerun = { runId: this.lastRun.summary.runId, ms };
    this.log(`not re-run on save: the last run took ${formatDuration(ms)} (re-run on save is for runs under ${formatDuration(RERUN_ON_SAVE_MS)})`);
    this.refreshRunViews();
  }

  /** How long the last run took, when a save did not re-run it because of that. */
  private notRerunMs(): number | undefined {
    return this.notRerun && this.notRerun.runId === this.lastRun?.summary.runId ? this.notRerun.ms : undefined;
  }

  /** A save of the program during the run that just ended: the counts shown may be of the file before it. */
  private afterRun(): void {
    const saved = this.savedDuringRun;
    this.savedDuringRun = undefined;
    if (!saved || !this.lastRun) return;
    const enabled = vscode.workspace.getConfiguration('xdpLens', vscode.Uri.parse(saved.uri)).get<boolean>('rerunOnSave', true);
    const last = { uri: this.lastRun.stamp.uri, ms: this.lastRun.ms, version: this.lastRun.stamp.version };
    if (saved.version !== last.version && rerunOnSave({ enabled, trusted: this.trusted, saved: saved.uri, last }) === 'slow') this.saidNotRerun(last.ms);
    if (!rerunAfterRun({ enabled, trusted: this.trusted, savedDuringRun: saved, last })) return;
    this.log(`re-run: ${saved.file} was saved during the last run`);
    this.rerun().catch((e) => this.log(`re-run on save: ${(e as Error).message}`));
  }

  private async runNow(params: RunParams, doc: vscode.TextDocument): Promise<RunSummary | undefined> {
    if (doc.isDirty) await doc.save(); // the run compiles the file on disk
    const storage = this.context.storageUri ?? this.context.globalStorageUri;
    const seed = params.maps ?? mapsSeed(doc.uri);
    const full: RunParams = { ...params, ...(seed ? { maps: seed } : {}), outDir: join(storage.fsPath, 'output') };
    const stamp: RunStamp = { uri: doc.uri.toString(), version: doc.version, settings: runSettings(doc.uri), text: textHash(doc.getText()) };
    await this.context.workspaceState.update(RECENT_KEY, addRecent(this.context.workspaceState.get<string[]>(RECENT_KEY, []), params.capture));
    const client = await this.ensureClient();
    const t0 = Date.now();
    this.log(`run ${doc.uri.fsPath} on ${params.capture}`);
    const response = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `XDP: running ${basename(doc.uri.fsPath)} on ${basename(params.capture)}`, cancellable: true },
      async (progress, token) => {
        const workDoneToken = `xdp-lens-run-${Date.now()}-${Math.random().toString(36).slice(2)}`;
        let reported = 0;
        const sub = client.onProgress(WorkDoneProgress.type, workDoneToken, (p) => {
          if (p.kind !== 'report' || p.percentage === undefined) return;
          progress.report({ increment: Math.max(0, p.percentage - reported), message: p.message });
          reported = Math.max(reported, p.percentage);
        });
        try {
          return await client.sendRequest<RunResponse>(RunRequest, { ...full, workDoneToken }, token);
        } finally {
          sub.dispose();
        }
      },
    );
    const ms = Date.now() - t0;
    if (response.error || !response.summary) {
      this.log(`run failed after ${formatDuration(ms)}: ${response.error}`);
      const paths = [doc.uri.fsPath, params.capture];
      const button = runErrorButton(response.error ?? '', params.capture);
      void vscode.window.showErrorMessage(`XDP: ${runErrorText(response.error ?? 'the run failed', paths)}`, button).then((b) => {
        if (b === 'Show Problems') void vscode.commands.executeCommand('workbench.actions.view.problems');
        else if (b === 'Run on Another Capture...') void vscode.commands.executeCommand('xdpLens.runOnCapture', doc.uri.toString());
        else if (b) this.output.show(true);
      });
      return undefined;
    }
    const s = response.summary;
    this.log(`${s.runId}: ${plural(s.packets, 'packet')} of ${s.capture} in ${formatDuration(ms)} (compile ${formatDuration(s.compileMs)}, run ${formatDuration(s.durationMs)}): ${runLensTitle(s, false)}`);
    if (s.attributionNote) this.log(s.attributionNote);
    if (s.outgoingNote) this.log(`note: ${s.outgoingNote}`);
    if (s.lengthNote) this.log(`note: ${s.lengthNote}`);
    if (s.truncatedNote) this.log(`note: ${s.truncatedNote}`);
    if (s.linkNote) this.log(`note: ${s.linkNote}`);
    this.adoptRun({ params: full, summary: s, stamp, ms });
    if (s.cancelled) {
      const show = 'Show Packets';
      void (s.packets ? vscode.window.showInformationMessage(cancelledText(s.packets), show) : vscode.window.showInformationMessage(cancelledText(s.packets))).then((b) => {
        if (b === show) void vscode.commands.executeCommand('xdpLens.showPackets');
      });
    }
    if (s.captureError) {
      // With a button, so that VS Code shows it whole (it cuts a notification without one to a line).
      const other = 'Run on Another Capture...';
      void vscode.window.showWarningMessage(`XDP: ${runErrorText(s.captureError, [params.capture])}; ${s.packets === 1 ? 'the packet before it is' : `the ${s.packets} packets before it are`} shown.`, other).then((b) => {
        if (b === other) void vscode.commands.executeCommand('xdpLens.runOnCapture', doc.uri.toString());
      });
    }
    return s;
  }

  /** Show a run's results: CodeLens counts, decorations, fault diagnostics, the packets view. */
  private adoptRun(run: LastRun, growing = false): void {
    this.lastRun = run;
    void vscode.commands.executeCommand('setContext', 'xdpLens.hasRun', true);
    this.showFaults(run.summary);
    if (growing) this.packets.updateRun(run.summary);
    else this.packets.setRun(run.summary);
    this.describePackets();
    this.refreshRunViews();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Live traffic

  /** The live run in progress: its id once the first update named it, and its stop. */
  private liveRun: { runId?: string; params: RunParams; stamp: RunStamp; t0: number; cancel(): void } | undefined;

  /**
   * XDP: Run on Live Traffic: tcpdump captures on an interface the user picks (through an optional capture filter),
   * the server runs each packet as it arrives; counts grow in the progress notification, the CodeLens and the packets
   * view until the user stops it (Cancel on the notification, or the stop button of the packets view) or a limit is
   * reached. Never in an untrusted workspace: it runs tcpdump and code from the workspace.
   */
  async runOnLiveTraffic(uri?: vscode.Uri | string, iface?: string, filter?: string): Promise<RunSummary | undefined> {
    this.requireTrust('Running on live traffic');
    if (this.liveRun) throw new Error('a live run is already going on: stop it first (XDP: Stop Live Run)');
    const doc = await this.xdpDocument(uri);
    const config = vscode.workspace.getConfiguration('xdpLens', doc.uri);
    if (iface === undefined) {
      const items = [
        ...listInterfaces().map((i) => ({ label: i.name, description: [i.state, i.loopback ? 'loopback' : i.mac].filter(Boolean).join(' · '), name: i.name })),
        { label: 'any', description: 'every interface (Linux cooked capture)', name: 'any' },
      ];
      const picked = await vscode.window.showQuickPick(items, { title: 'XDP: Run on Live Traffic', placeHolder: 'Interface to capture on with tcpdump' });
      if (!picked) return undefined;
      iface = picked.name;
    }
    if (filter === undefined) {
      filter = await vscode.window.showInputBox({
        title: `XDP: Run on Live Traffic of ${iface}`,
        prompt: 'Capture filter for tcpdump (empty: every packet)',
        placeHolder: 'e.g. tcp port 80 or icmp',
        value: config.get<string>('live.filter', ''),
      });
      if (filter === undefined) return undefined;
    }
    if (doc.isDirty) await doc.save();
    const storage = this.context.storageUri ?? this.context.globalStorageUri;
    const seed = mapsSeed(doc.uri);
    const params: RunLiveParams = {
      uri: doc.uri.toString(),
      interface: iface,
      filter,
      captureDir: join(storage.fsPath, 'live'),
      outDir: join(storage.fsPath, 'output'),
      ...(seed ? { maps: seed } : {}),
    };
    const stamp: RunStamp = { uri: doc.uri.toString(), version: doc.version, settings: runSettings(doc.uri), text: textHash(doc.getText()) };
    const client = await this.ensureClient();
    const t0 = Date.now();
    this.log(`live run of ${doc.uri.fsPath} on ${iface}${filter ? ` (filter ${filter})` : ''}`);
    const stop = new vscode.CancellationTokenSource();
    this.liveRun = { params: { uri: params.uri, capture: '', ...(seed ? { maps: seed } : {}), outDir: params.outDir }, stamp, t0, cancel: () => stop.cancel() };
    this.running = params.uri;
    void vscode.commands.executeCommand('setContext', 'xdpLens.liveRunning', true);
    let response: RunResponse;
    try {
      response = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `XDP: ${basename(doc.uri.fsPath)} on live traffic of ${iface}`, cancellable: true },
        async (progress, token) => {
          const sub1 = token.onCancellationRequested(() => stop.cancel());
          const workDoneToken = `xdp-lens-live-${Date.now()}-${Math.random().toString(36).slice(2)}`;
          const sub2 = client.onProgress(WorkDoneProgress.type, workDoneToken, (p) => {
            if (p.kind === 'report' && p.message) progress.report({ message: p.message });
          });
          try {
            return await client.sendRequest<RunResponse>(RunLiveRequest, { ...params, workDoneToken }, stop.token);
          } finally {
            sub1.dispose();
            sub2.dispose();
          }
        },
      );
    } finally {
      this.liveRun = undefined;
      this.running = undefined;
      stop.dispose();
      void vscode.commands.executeCommand('setContext', 'xdpLens.liveRunning', false);
    }
    const ms = Date.now() - t0;
    if (response.error || !response.summary) {
      this.log(`live run failed after ${formatDuration(ms)}: ${response.error}`);
      void vscode.window.showErrorMessage(`XDP: ${runErrorText(response.error ?? 'the live run failed', [doc.uri.fsPath])}`, 'Show Output').then((b) => {
        if (b) this.output.show(true);
      });
      return undefined;
    }
    const s = response.summary;
    this.log(`${s.runId}: ${plural(s.packets, 'packet')} of live traffic on ${iface} in ${formatDuration(ms)}, ${s.live?.stopped}: ${runLensTitle(s, false)}; recorded in ${s.capture}`);
    await this.context.workspaceState.update(RECENT_KEY, addRecent(this.context.workspaceState.get<string[]>(RECENT_KEY, []), s.capture));
    this.adoptRun({ params: { uri: params.uri, capture: s.capture, ...(seed ? { maps: seed } : {}), outDir: params.outDir }, summary: s, stamp, ms }, this.lastRun?.summary.runId === s.runId);
    // With a button, so that VS Code shows it whole (it cuts a notification without one to a line).
    const copy = 'Copy Path';
    void vscode.window.showInformationMessage(liveEndMessage(s), copy).then((b) => {
      if (b === copy) void vscode.env.clipboard.writeText(s.capture);
    });
    return s;
  }

  /** A live run's summary so far: the counts, the CodeLens and the packets view follow it. */
  private liveUpdate(s: RunSummary): void {
    const live = this.liveRun;
    if (!live || s.uri !== live.params.uri || !s.live?.running) return;
    if (live.runId !== undefined && live.runId !== s.runId) return;
    const first = live.runId === undefined;
    live.runId = s.runId;
    this.adoptRun({ params: { ...live.params, capture: s.capture }, summary: s, stamp: live.stamp, ms: Date.now() - live.t0 }, !first);
  }

  private stale(): boolean {
    return this.staleWhat() !== undefined;
  }

  /** What changed since the last run (`xdp_filter.c`, `the map seed file blocklist.json`); undefined: not stale. */
  private staleWhat(): string | undefined {
    if (!this.lastRun) return undefined;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.lastRun!.stamp.uri);
    const uri = vscode.Uri.parse(this.lastRun.stamp.uri);
    // Not open (closed since the run, or never opened): the file as it is on disk.
    let text = doc?.getText();
    if (text === undefined && uri.scheme === 'file') {
      try {
        text = readFileSync(uri.fsPath, 'utf8');
      } catch {
        text = undefined;
      }
    }
    return staleWhat(this.lastRun.stamp, { version: doc?.version, settings: runSettings(uri), text });
  }

  private refreshRunViews(): void {
    const what = this.staleWhat();
    const stale = what !== undefined;
    this.decorations.showRun(this.lastRun?.summary, stale);
    const banner = this.lastRun ? refusalBanner(this.lastRun.summary) : undefined;
    const notRerun = stale ? this.notRerunMs() : undefined;
    const staleText = this.lastRun && stale ? (notRerun !== undefined ? `The file changed since this run: results are stale. ${notRerunText(notRerun, RERUN_ON_SAVE_MS)}` : `Results are stale: ${what} changed since this run. Run "XDP: Re-run".`) : undefined;
    const broken = this.lastRun ? captureBrokenNote(this.lastRun.summary) : undefined;
    const header = this.lastRun ? everyRowHeaderNote(this.lastRun.summary) : undefined;
    const cancelled = this.lastRun ? cancelledNote(this.lastRun.summary) : undefined;
    this.packetsView.message = [banner, cancelled, broken, header, staleText, this.filterText()].filter(Boolean).join(' ') || undefined;
    this.lensChanged.fire();
    void this.packetView.refresh();
    void this.summaryView.refresh().catch((e) => this.log(`run summary: ${(e as Error).message}`));
    void this.mapsView.refresh().catch((e) => this.log(`maps view: ${(e as Error).message}`));
  }

  /** The run's outcome issues that a finding of the language server on the same line already names, by that finding. */
  private confirmedIssues(file: string): Map<vscode.Diagnostic, RunOutcomeIssue> {
    const out = new Map<vscode.Diagnostic, RunOutcomeIssue>();
    const s = this.lastRun?.summary;
    const shown = this.serverDiagnostics.get(vscode.Uri.file(file).toString());
    if (!s?.outcomeIssues?.length || !shown || this.stale()) return out;
    for (const d of shown.list) {
      const code = typeof d.code === 'object' ? d.code.value : d.code;
      const o = s.outcomeIssues.find((o) => o.file === file && o.line === d.range.start.line + 1 && RUN_CONFIRMS[o.outcome] === code);
      if (o) out.set(d, o);
    }
    return out;
  }

  /**
   * The run's faults that a finding of the language server on the same line and of the same kind already names (a
   * packet write the analysis said would fault on a read-only page, and did): one Problems entry for the mistake.
   */
  private confirmedFaults(file: string): Map<vscode.Diagnostic, RunFault> {
    const out = new Map<vscode.Diagnostic, RunFault>();
    const s = this.lastRun?.summary;
    const shown = this.serverDiagnostics.get(vscode.Uri.file(file).toString());
    if (!s?.faults.length || !shown || this.stale()) return out;
    for (const d of shown.list) {
      const code = typeof d.code === 'object' ? d.code.value : d.code;
      const f = s.faults.find((f) => f.file === file && f.line === d.range.start.line + 1 && f.kind === code);
      // One entry takes the evidence: the first finding of the line.
      if (f && ![...out.values()].includes(f)) out.set(d, f);
    }
    return out;
  }

  /** What the run confirms of a file's findings, as a key: the entries change only when it does. */
  private confirmedKey(file: string): string {
    return [...[...this.confirmedIssues(file).values()].map((o) => `${o.line}:${o.outcome}`), ...[...this.confirmedFaults(file).values()].map((f) => `${f.line}:${f.kind}`)].join('\n');
  }

  /** The server's diagnostics of a document, those the last run confirmed with the run's evidence added. */
  private withRunEvidence(uri: vscode.Uri, list: vscode.Diagnostic[]): vscode.Diagnostic[] {
    if (uri.scheme !== 'file') return list;
    const confirmed = this.confirmedIssues(uri.fsPath);
    const faulted = this.confirmedFaults(uri.fsPath);
    if (!confirmed.size && !faulted.size) return list;
    return list.map((d) => {
      const o = confirmed.get(d);
      const f = faulted.get(d);
      if (!o && !f) return d;
      const e = new vscode.Diagnostic(d.range, `${d.message} ${o ? runEvidence(o) : faultEvidence(f!)}`, d.severity);
      e.source = d.source;
      e.code = d.code;
      e.tags = d.tags;
      e.relatedInformation = d.relatedInformation;
      return e;
    });
  }

  private showFaults(s: RunSummary, republish = true): void {
    // The server's findings first: those the run confirmed carry its evidence, and the run adds no second entry.
    if (republish && this.showServerDiagnostics) {
      for (const { uri, list } of this.serverDiagnostics.values()) this.showServerDiagnostics(uri, this.withRunEvidence(uri, list));
    }
    this.faults.clear();
    const byFile = new Map<string, vscode.Diagnostic[]>();
    const faultedFiles = new Map<string, Set<RunFault>>();
    const faultConfirmed = (f: RunFault) => {
      if (!faultedFiles.has(f.file)) faultedFiles.set(f.file, new Set(this.confirmedFaults(f.file).values()));
      return faultedFiles.get(f.file)!.has(f);
    };
    for (const f of s.faults) {
      if (!f.file || faultConfirmed(f)) continue;
      const line = Math.max(0, f.line - 1);
      const d = new vscode.Diagnostic(new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER), faultMessage(f), vscode.DiagnosticSeverity.Error);
      d.source = 'xdp-lens run';
      d.code = f.kind;
      const list = byFile.get(f.file) ?? [];
      list.push(d);
      byFile.set(f.file, list);
    }
    // Verdicts the driver did not carry out as returned (or did, with a caveat), on the line the packets left through.
    const confirmed = new Map<string, Set<RunOutcomeIssue>>();
    this.confirmedShown.clear();
    const isConfirmed = (o: RunOutcomeIssue) => {
      if (!confirmed.has(o.file)) {
        confirmed.set(o.file, new Set(this.confirmedIssues(o.file).values()));
      }
      return confirmed.get(o.file)!.has(o);
    };
    for (const o of s.outcomeIssues ?? []) {
      if (!o.file || isConfirmed(o)) continue;
      const line = Math.max(0, o.line - 1);
      const severe = !o.outcome.startsWith(PLAIN_WORD[o.action]);
      const d = new vscode.Diagnostic(new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER), outcomeMessage(o), severe ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information);
      d.source = 'xdp-lens run';
      d.code = o.outcome;
      const list = byFile.get(o.file) ?? [];
      list.push(d);
      byFile.set(o.file, list);
    }
    for (const file of new Set([...s.faults.map((f) => f.file), ...(s.outcomeIssues ?? []).map((o) => o.file)])) if (file) this.confirmedShown.set(file, this.confirmedKey(file));
    for (const [file, list] of byFile) this.faults.set(vscode.Uri.file(file), list);
  }

  private codeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (doc.uri.scheme !== 'file') return [];
    const lenses: vscode.CodeLens[] = [];
    const run = this.lastRun?.stamp.uri === doc.uri.toString() ? this.lastRun : undefined;
    const stale = this.stale();
    for (const fn of findXdpFunctions(doc.getText())) {
      const range = new vscode.Range(fn.line, 0, fn.line, 0);
      lenses.push(new vscode.CodeLens(range, { title: '$(play) Run on capture', command: 'xdpLens.runOnCapture', arguments: [doc.uri.toString()] }));
      if (run && run.summary.program === fn.name) {
        const notRerun = stale ? this.notRerunMs() : undefined;
        lenses.push(new vscode.CodeLens(range, {
          title: runLensTitle(run.summary, stale, notRerun), command: 'xdpLens.showPackets', arguments: [],
          ...(notRerun !== undefined ? { tooltip: notRerunText(notRerun, RERUN_ON_SAVE_MS) } : {}),
        }));
        const first = run.summary.verifierRefuses?.[0];
        const title = refusalLensTitle(run.summary);
        if (first && title) lenses.push(new vscode.CodeLens(range, { title, tooltip: first.message, command: 'revealLine', arguments: [{ lineNumber: Math.max(0, (first.line ?? 1) - 1), at: 'center' }] }));
      }
    }
    // Beside each return's counts: debug the first packet that left there.
    if (this.lastRun) {
      for (const l of debugLenses(this.lastRun.summary.exits, doc.uri.fsPath, stale, this.trusted)) {
        if (l.line > doc.lineCount) continue;
        const range = new vscode.Range(l.line - 1, 0, l.line - 1, 0);
        lenses.push(new vscode.CodeLens(range, { title: l.title, command: 'xdpLens.debugPacket', arguments: [l.packet] }));
      }
    }
    return lenses;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Packets

  /**
   * A display filter for the packets view, as in Wireshark: `ip.src == 10.0.0.1 && tcp.dstport == 80`,
   * `action == XDP_DROP`, `fault`, `exit.line == 127`. The server checks it as the user types; empty clears it.
   */
  async filterPackets(text?: string): Promise<void> {
    if (!this.lastRun) throw new Error('no run yet: use "XDP: Run on Capture..." first');
    if (text === undefined) {
      const typed = await vscode.window.showInputBox({
        title: 'XDP: Filter Packets',
        value: this.packets.display ?? '',
        placeHolder: 'e.g. action == XDP_DROP && tcp.dstport == 80 (empty: all packets)',
        prompt: 'A display filter as in Wireshark: fields of the packet (ip.src, tcp.dstport, vlan.id, ...) and of its result (action, outcome, fault, exit.line); && || ! ( ) == != < > contains in {..}',
        validateInput: async (v) => {
          if (!v.trim()) return undefined;
          const r = await this.request<CheckFilterResult>(CheckFilterRequest, { filter: v } satisfies CheckFilterParams);
          return r.error ? `column ${r.error.position + 1}: ${r.error.message}` : undefined;
        },
      });
      if (typed === undefined) return;
      text = typed;
    } else {
      const r = await this.request<CheckFilterResult>(CheckFilterRequest, { filter: text } satisfies CheckFilterParams);
      if (text.trim() && r.error) throw new Error(`filter: column ${r.error.position + 1}: ${r.error.message}`);
    }
    this.packets.setDisplayFilter(text);
    this.describePackets();
    void vscode.commands.executeCommand('setContext', 'xdpLens.packetFilter', !!this.packets.display);
  }

  /** The packets view's description: how many packets, the filter's count when one is set, and which run it shows. */
  private describePackets(): void {
    const s = this.lastRun?.summary;
    if (!s) return;
    const all = plural(s.packets, 'packet');
    const f = this.packets.display;
    // The count in the view's header (beside XDP Maps in the panel); the filter itself is said once, above the rows
    // (a view alone in its panel shows no description, and a long filter would be cut in the header). The program and
    // capture: the view keeps the last run while another file is edited, or after a run that failed.
    this.packetsView.description = `${f ? `${this.matchedText()} of ${all}` : all}${s.cancelled ? ' (cancelled)' : ''} · ${basename(s.file)} on ${basename(s.capture)}`;
    this.refreshRunViews();
  }

  private filterText(): string | undefined {
    const s = this.lastRun?.summary;
    const f = this.packets.display;
    if (!s || !f) return undefined;
    return `Filter: ${f} (${this.matchedText()} of ${plural(s.packets, 'packet')}).`;
  }

  private matchedText(): string {
    return this.packets.matched === undefined ? '…' : count(this.packets.matched);
  }

  async showPacket(arg?: number | PacketNode, follow = false): Promise<PacketDetail | undefined> {
    if (!this.lastRun) throw new Error('no run yet: use "XDP: Run on Capture..." first');
    let index = typeof arg === 'number' ? arg : arg && arg.kind === 'packet' ? arg.row.index : undefined;
    // Rows: the packets run and those listed as not run (outgoing), by capture number.
    const total = this.lastRun.summary.packets + (this.lastRun.summary.outgoingNotRun ?? 0) + (this.lastRun.summary.lengthNotRun ?? 0);
    if (index === undefined) {
      const text = await vscode.window.showInputBox({
        title: 'XDP: Show Packet',
        prompt: `Packet index (0 to ${total - 1})`,
        validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) < total ? undefined : `a whole number from 0 to ${total - 1}`),
      });
      if (text === undefined) return undefined;
      index = Number(text.trim());
    }
    const { detail: d, runId } = await this.packetView.fetch(index);

    // The source: executed lines highlighted, the action at the exit line; the packet view beside it.
    const file = d.file || vscode.Uri.parse(this.lastRun.stamp.uri).fsPath;
    const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'file' && e.document.uri.fsPath === file);
    const editor = follow && visible ? visible : await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(file)), { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: follow, preview: false });
    this.decorations.showPacket(editor, d, this.stale());
    this.packetView.present(d, runId, true);
    return d;
  }

  /**
   * The output captures of the last run that hold packets, with readable sizes, and what can be done with one in this
   * VS Code: the file manager only in a local desktop window (a browser or remote window has no revealFileInOS), the
   * Explorer when the file is in the workspace, Wireshark when it is installed where the extension runs.
   */
  private async openOutputCaptures(): Promise<void> {
    const outputs = this.lastRun?.summary.outputs;
    if (!outputs?.length) throw new Error('no output captures yet: run the program on a capture first');
    const sizeOf = (p: string) => {
      try {
        return statSync(p).size;
      } catch {
        return undefined;
      }
    };
    const items = outputCaptureItems(outputs.map((p) => ({ path: p, size: sizeOf(p) }))).map((i) => ({ ...i, detail: i.path }));
    if (!items.length) {
      void vscode.window.showInformationMessage(NO_OUTPUT_PACKETS);
      return;
    }
    const picked = await vscode.window.showQuickPick(items, { title: 'XDP: Output Captures (packets as they left the program, one file per action)' });
    if (!picked) return;
    const uri = vscode.Uri.file(picked.path);
    const local = vscode.env.uiKind === vscode.UIKind.Desktop && !vscode.env.remoteName;
    const inWorkspace = !!vscode.workspace.getWorkspaceFolder(uri);
    const wireshark = local && spawnSync('wireshark', ['--version'], { timeout: 5000 }).status === 0;
    const choices = [
      'Run the program on this capture',
      ...(inWorkspace ? ['Show in the Explorer'] : []),
      ...(local ? ['Reveal in file manager'] : []),
      ...(wireshark ? ['Open in Wireshark'] : []),
      'Copy path',
    ];
    const choice = await vscode.window.showQuickPick(choices, { title: `${basename(picked.path)} (${picked.description})` });
    if (choice === 'Run the program on this capture') await this.runOnCapture(this.lastRun!.params.uri, picked.path);
    else if (choice === 'Show in the Explorer') await vscode.commands.executeCommand('revealInExplorer', uri);
    else if (choice === 'Reveal in file manager') await vscode.commands.executeCommand('revealFileInOS', uri);
    else if (choice === 'Open in Wireshark') spawn('wireshark', [picked.path], { detached: true, stdio: 'ignore' }).unref();
    else if (choice === 'Copy path') {
      await vscode.env.clipboard.writeText(picked.path);
      void vscode.window.showInformationMessage(PATH_COPIED);
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Verdicts of two versions

  /**
   * XDP: Compare Verdicts with...: the file against its last committed version or another file, on one capture (the
   * last run's when it was of this file). Each line where counts changed says how ("+1 XDP_DROP, -1 XDP_PASS"); the
   * changed packets open beside the source.
   */
  async compareVerdicts(uri?: vscode.Uri | string, against?: DiffVerdictsParams['against'], capture?: string): Promise<DiffVerdictsResult | undefined> {
    this.requireTrust('Comparing verdicts');
    const doc = await this.xdpDocument(uri);
    if (!against) {
      const pick = await vscode.window.showQuickPick(
        [
          { label: '$(git-commit) Last committed version', description: 'git HEAD', against: { rev: 'HEAD' } as DiffVerdictsParams['against'] },
          { label: '$(history) The previous run', description: 'the file as it was when last run (before the latest edits)', against: { previousRun: true } as DiffVerdictsParams['against'] },
          { label: '$(file) Another file...', description: 'a C file or BPF object', against: undefined },
        ],
        { title: `XDP: Compare Verdicts of ${basename(doc.uri.fsPath)} with...` },
      );
      if (!pick) return undefined;
      against = pick.against;
      if (!against) {
        const files = await vscode.window.showOpenDialog({ canSelectMany: false, title: 'The version to compare with', filters: { 'C or BPF object': ['c', 'o'], 'All files': ['*'] } });
        if (!files?.[0]) return undefined;
        against = { file: files[0].fsPath };
      }
    }
    const sameFile = this.lastRun?.params.uri === doc.uri.toString();
    const path = capture ?? (sameFile ? this.lastRun!.params.capture : await this.pickCapture(doc));
    if (!path) return undefined;
    if (doc.isDirty) await doc.save();
    await this.ensureClient();
    const t0 = Date.now();
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `XDP: comparing verdicts of ${basename(doc.uri.fsPath)} on ${basename(path)}` },
      () => this.request<DiffVerdictsResult>(DiffVerdictsRequest, { uri: doc.uri.toString(), capture: path, against } satisfies DiffVerdictsParams),
    );
    this.log(`compare verdicts ${doc.uri.fsPath} with ${JSON.stringify(against)} on ${path}: ${r.error ?? `${r.changed} of ${r.packets} changed`} in ${formatDuration(Date.now() - t0)}`);
    if (r.error && r.text === undefined) throw new Error(r.error);
    this.showVerdictDiff({ uri: doc.uri.toString(), lines: r.lines ?? [] });
    let shown: vscode.Uri | undefined;
    if (r.text) {
      const vuri = vscode.Uri.from({ scheme: PACKET_SCHEME, path: `/verdicts-${basename(doc.uri.fsPath, '.c')}.txt`, query: String(Date.now()) });
      shown = vuri;
      this.virtualDocs.set(vuri.toString(), r.text);
      this.virtualChanged.fire(vuri);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vuri), { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
    }
    const delta = Object.entries(r.actionDelta ?? {}).map(([a, n]) => `${n > 0 ? '+' : ''}${n} ${a}`).join(', ');
    const text = `XDP: ${plural(r.changed ?? 0, 'packet')} of ${r.packets} changed against ${r.old}${delta ? ` (${delta})` : ''}${r.mapsDiffering ? `; ${plural(r.mapsDiffering, 'map entry', 'map entries')} differ` : ''}.`;
    // With a button when there is a text to go back to, so that VS Code shows it whole (it cuts one without to a line).
    const again = 'Show Changes';
    void (shown ? vscode.window.showInformationMessage(text, again) : vscode.window.showInformationMessage(text)).then((b) => {
      if (b === again && shown) void vscode.window.showTextDocument(shown, { viewColumn: vscode.ViewColumn.Beside, preview: true });
    });
    return r;
  }

  private showVerdictDiff(d: { uri: string; lines: { line: number; text: string }[] } | undefined): void {
    this.verdictDiff = d;
    for (const editor of vscode.window.visibleTextEditors) {
      const mine = d && editor.document.uri.toString() === d.uri;
      editor.setDecorations(
        this.verdictDecoration,
        mine
          ? d.lines
              .filter((l) => l.line >= 1 && l.line <= editor.document.lineCount)
              .map((l) => {
                const end = editor.document.lineAt(l.line - 1).range.end;
                return { range: new vscode.Range(end, end), renderOptions: { after: { contentText: `⇄ ${l.text}` } } };
              })
          : [],
      );
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Other commands

  private async chooseDriverMode(): Promise<void> {
    const config = vscode.workspace.getConfiguration('xdpLens');
    const current = config.get<string>('driver.mode', 'native');
    const modes = [
      { label: 'native', description: 'writable page; XDP_PASS builds the skb around it (mlx5, i40e, veth)' },
      { label: 'readonly-page', description: 'read-only page; XDP_PASS copies headers into a new skb; packet writes fault' },
      { label: 'generic', description: 'skb mode (XDP_FLAGS_SKB_MODE): runs after the skb is built' },
    ].map((m) => ({ ...m, picked: m.label === current, detail: m.label === current ? 'current' : undefined }));
    const picked = await vscode.window.showQuickPick(modes, { title: 'XDP: Choose Driver Mode' });
    if (!picked) return;
    // Where it goes: where the setting already lives, else asked (workspace or user), and said afterwards.
    const where = config.inspect<string>('driver.mode');
    let target: vscode.ConfigurationTarget;
    if (where?.workspaceFolderValue !== undefined) target = vscode.ConfigurationTarget.WorkspaceFolder;
    else if (where?.workspaceValue !== undefined) target = vscode.ConfigurationTarget.Workspace;
    else if (where?.globalValue !== undefined || !vscode.workspace.workspaceFolders?.length) target = vscode.ConfigurationTarget.Global;
    else {
      const scope = await vscode.window.showQuickPick(
        [
          { label: 'User settings', description: 'every workspace', target: vscode.ConfigurationTarget.Global },
          { label: 'Workspace settings', description: 'this workspace only (.vscode/settings.json)', target: vscode.ConfigurationTarget.Workspace },
        ],
        { title: `XDP: Store driver mode ${picked.label} in...` },
      );
      if (!scope) return;
      target = scope.target;
    }
    await config.update('driver.mode', picked.label, target);
    const place = target === vscode.ConfigurationTarget.Global ? 'your user settings' : target === vscode.ConfigurationTarget.Workspace ? 'the workspace settings (.vscode/settings.json)' : 'the folder settings (.vscode/settings.json)';
    this.log(`driver mode set to ${picked.label} in ${place}`);
    this.updateStatus();
    void vscode.window.showInformationMessage(`XDP: driver mode ${picked.label} saved in ${place} (xdpLens.driver.mode).`, 'Open Setting').then((b) => {
      if (b) void vscode.commands.executeCommand(target === vscode.ConfigurationTarget.Global ? 'workbench.action.openSettings' : 'workbench.action.openWorkspaceSettings', 'xdpLens.driver.mode');
    });
  }

  private async showBytecode(uri?: vscode.Uri): Promise<void> {
    this.requireTrust('Showing the bytecode');
    const doc = await this.xdpDocument(uri);
    if (doc.isDirty) await doc.save();
    const t0 = Date.now();
    const r = await this.request<BytecodeResult>(BytecodeRequest, { uri: doc.uri.toString() });
    this.log(`bytecode of ${doc.uri.fsPath} in ${formatDuration(Date.now() - t0)}`);
    if (!r.text) throw new Error(r.error || 'no bytecode');
    const vuri = vscode.Uri.from({ scheme: BYTECODE_SCHEME, path: `/${basename(doc.uri.fsPath, '.c')}.xdp-bytecode`, query: doc.uri.toString() });
    this.virtualDocs.set(vuri.toString(), r.text);
    this.virtualChanged.fire(vuri);
    let bdoc = await vscode.workspace.openTextDocument(vuri);
    if (bdoc.languageId !== 'xdp-bytecode') bdoc = await vscode.languages.setTextDocumentLanguage(bdoc, 'xdp-bytecode');
    await vscode.window.showTextDocument(bdoc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  }

  async compareWithKernel(uri?: vscode.Uri | string, capture?: string, maps?: string): Promise<CompareKernelResult | undefined> {
    this.requireTrust('Comparing with the kernel');
    const doc = await this.xdpDocument(uri);
    // The last run's capture only when the last run was of this file; otherwise ask, as a first run would.
    const sameFile = this.lastRun?.params.uri === doc.uri.toString();
    const path = capture ?? (sameFile ? this.lastRun!.params.capture : await this.pickCapture(doc));
    if (!path) return undefined;
    // The same map seed as the last run of this file, when it had one, so both sides start from the run's maps.
    const run = this.lastRun?.params.uri === doc.uri.toString() ? this.lastRun.params : undefined;
    const seed = maps ?? run?.maps ?? mapsSeed(doc.uri);
    if (doc.isDirty) await doc.save();
    await this.ensureClient();
    const t0 = Date.now();
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `XDP: comparing ${basename(doc.uri.fsPath)} with the kernel on ${basename(path)}` },
      () => this.request<CompareKernelResult>(CompareKernelRequest, { uri: doc.uri.toString(), capture: path, ...(seed ? { maps: seed } : {}) } satisfies CompareKernelParams),
    );
    this.log(`compare with kernel ${doc.uri.fsPath} on ${path}: ${r.available ? `${r.compared} packets, ${r.differing} differing` : r.reason} in ${formatDuration(Date.now() - t0)}`);
    if (!r.available) {
      // The reason may be the program's (clang's error) or the capture's, not the kernel's: said as it is, with a button
      // so that VS Code shows it whole (it cuts a notification without one to a line).
      const button = runErrorButton(r.reason ?? '', '');
      void vscode.window.showWarningMessage(`XDP: cannot compare with the kernel: ${runErrorText(r.reason ?? 'no reason given', [doc.uri.fsPath, path])}`, button).then((b) => {
        if (b === 'Show Problems') void vscode.commands.executeCommand('workbench.actions.view.problems');
        else if (b) this.output.show(true);
      });
      return r;
    }
    const vuri = vscode.Uri.from({ scheme: PACKET_SCHEME, path: `/compare-${basename(doc.uri.fsPath, '.c')}.txt`, query: String(Date.now()) });
    this.virtualDocs.set(vuri.toString(), r.text);
    this.virtualChanged.fire(vuri);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vuri), { viewColumn: vscode.ViewColumn.Beside, preview: true });
    // With a button back to the comparison, so that VS Code shows the text whole (it cuts one without a button to a line).
    const again = 'Show Comparison';
    void vscode.window.showInformationMessage(
      r.differing || r.mapsDiffering
        ? `XDP: ${r.differing} of ${r.compared} packets and ${r.mapsDiffering ?? 0} maps differ between the simulator and the kernel.`
        : `XDP: simulator and kernel agree on all ${r.compared} packets and on the maps${r.clockRandom ? ` (${r.clockRandom} differ only where the clock or random source decides)` : ''}.`,
      again,
    ).then((b) => {
      if (b === again) void vscode.window.showTextDocument(vuri, { viewColumn: vscode.ViewColumn.Beside, preview: true });
    });
    return r;
  }

  async dispose(): Promise<void> {
    for (const d of this.disposables.splice(0)) d.dispose();
    const client = this.client;
    this.client = undefined;
    if (client && client.state === State.Running) await client.stop();
  }
}

/** The first word of the outcome of a verdict carried out as returned ('dropped' for XDP_DROP, ...). */
const PLAIN_WORD: Record<XdpAction, string> = { XDP_ABORTED: 'aborted', XDP_DROP: 'dropped', XDP_PASS: 'passed', XDP_TX: 'transmitted', XDP_REDIRECT: 'redirected' };
