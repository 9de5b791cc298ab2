// XDP: Show Packet as a webview: the packet's layers before and after the program side by side, a hex pane linked
// both ways with the tree, the verdict and outcome, the executed path, printk output and map updates
// (client/packet-html.ts draws it, client/webview/packet.ts runs in it). It follows the selection in the packets view,
// is redrawn from the new run after a re-run, and says it is stale when the file or settings changed since its run.
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PacketRequest, type PacketDetail, type PacketParams, type RunSummary } from '../server/protocol.ts';
import { executedPathText, renderPacketHtml } from './packet-html.ts';
import { executedPathCopied, refusalDetails } from './format.ts';
import { showError } from './notify.ts';

export interface PacketViewHost {
  lastRun(): RunSummary | undefined;
  /** What changed since the last run (`xdp_filter.c`, `the map seed file blocklist.json`); undefined: not stale. */
  stale(): string | undefined;
  request<R>(method: string, params: unknown): Promise<R>;
  log(message: string): void;
}

type Message = { type: 'line'; file: string; line: number } | { type: 'rerun' } | { type: 'copyPath' };

export class PacketView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  /** What is shown: the packet, the run it came from, and whether it was drawn as stale. */
  private shown: { detail: PacketDetail; runId: string; stale: string | boolean } | undefined;
  private refreshing: Promise<void> | undefined;
  private inflight: { key: string; promise: Promise<PacketDetail> } | undefined;

  constructor(
    private readonly host: PacketViewHost,
    private readonly extensionUri: vscode.Uri,
  ) {}

  get isOpen(): boolean {
    return !!this.panel;
  }

  /** The packet shown, if any. */
  get index(): number | undefined {
    return this.shown?.detail.index;
  }

  /** Ask the server for one packet of the last run and show it (opening the panel beside the active editor). */
  async show(index: number, opts: { preserveFocus?: boolean } = {}): Promise<PacketDetail> {
    const { detail, runId } = await this.fetch(index);
    this.present(detail, runId, opts.preserveFocus ?? false);
    return detail;
  }

  /** One packet of the last run (the same request in flight is shared: a click both selects and runs the command). */
  async fetch(index: number): Promise<{ detail: PacketDetail; runId: string }> {
    const run = this.host.lastRun();
    if (!run) throw new Error('no run yet: use "XDP: Run on Capture..." first');
    const key = `${run.runId}:${index}`;
    if (this.shown && `${this.shown.runId}:${this.shown.detail.index}` === key && !this.shown.detail.error) return { detail: this.shown.detail, runId: run.runId };
    if (this.inflight?.key !== key) {
      const t0 = Date.now();
      const promise = this.host.request<PacketDetail>(PacketRequest, { runId: run.runId, index } satisfies PacketParams).then((d) => {
        this.host.log(`packet #${index} detail in ${Date.now() - t0} ms`);
        return d;
      });
      this.inflight = { key, promise };
      void promise.finally(() => {
        if (this.inflight?.key === key) this.inflight = undefined;
      }).catch(() => undefined);
    }
    const detail = await this.inflight!.promise;
    if (detail.error && detail.lines.length === 0 && !detail.before) throw new Error(detail.error);
    return { detail, runId: run.runId };
  }

  /** Show a packet's detail in the panel, opening it beside the active editor when it is closed. */
  present(detail: PacketDetail, runId: string, preserveFocus = false): void {
    this.open(preserveFocus);
    if (!this.shown || this.shown.detail !== detail || this.shown.stale !== (this.host.stale() ?? false)) this.draw(detail, runId);
  }

  /**
   * After a run or an edit: a packet of an older run is fetched again from the new run (same index), or said to be gone;
   * a change of staleness redraws the stale mark. Nothing happens when the panel is closed.
   */
  refresh(): Promise<void> {
    this.refreshing = (this.refreshing ?? Promise.resolve()).then(() => this.doRefresh()).catch((e) => this.host.log(`packet view: ${(e as Error).message}`));
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const shown = this.shown;
    if (!this.panel || !shown) return;
    const run = this.host.lastRun();
    if (run && run.runId !== shown.runId) {
      if (shown.detail.index < run.packets + (run.outgoingNotRun ?? 0) + (run.lengthNotRun ?? 0)) {
        const d = await this.host.request<PacketDetail>(PacketRequest, { runId: run.runId, index: shown.detail.index } satisfies PacketParams);
        if (!this.panel || this.shown !== shown) return;
        // Not run in the new run (outgoing, too short) or not read again: no verdict nor bytes to draw; the previous
        // run's packet stays, marked, with why.
        if (d.error && !d.before && d.lines.length === 0) this.draw({ ...shown.detail, error: `The new run (${run.runId}): ${d.error}. Showing the previous run's.` }, shown.runId, true);
        else this.draw(d, run.runId);
      } else {
        const gone: PacketDetail = { ...shown.detail, error: `The new run (${run.runId}) has ${run.packets} packet${run.packets === 1 ? '' : 's'}: packet #${shown.detail.index} is not in it. Showing the previous run's.` };
        this.draw(gone, shown.runId, true);
      }
      return;
    }
    if ((this.host.stale() ?? false) !== shown.stale) this.draw(shown.detail, shown.runId);
  }

  private open(preserveFocus: boolean): void {
    if (this.panel) {
      if (!this.panel.visible) this.panel.reveal(undefined, preserveFocus);
      return;
    }
    this.panel = vscode.window.createWebviewPanel('xdpLens.packet', 'Packet', { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist')],
    });
    this.panel.onDidDispose(() => {
      this.panel = undefined;
      this.shown = undefined;
    });
    this.panel.webview.onDidReceiveMessage((m: Message) => void this.onMessage(m).catch((e) => showError((e as Error).message, (t) => this.host.log(`packet view: ${t}`))));
  }

  private draw(d: PacketDetail, runId: string, forceStale = false): void {
    const panel = this.panel;
    if (!panel) return;
    const stale: string | boolean = this.host.stale() ?? forceStale;
    const lineText = sourceLines();
    const script = panel.webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview-packet.js')).toString();
    panel.title = `Packet #${d.index}${stale ? ' (stale)' : ''}`;
    const run = this.host.lastRun();
    const refusal = run?.runId === runId ? run.verifierRefuses?.[0] : undefined;
    const refused = refusal ? { file: refusal.file ?? run?.file, line: refusal.line, message: refusalDetails(run ?? {}) } : undefined;
    panel.webview.html = renderPacketHtml({ detail: d, runId, stale, refused, nonce: randomBytes(16).toString('base64'), cspSource: panel.webview.cspSource, scriptUri: script, lineText });
    this.shown = { detail: d, runId, stale };
  }

  private async onMessage(m: Message): Promise<void> {
    if (m.type === 'rerun') {
      await vscode.commands.executeCommand('xdpLens.rerun');
      return;
    }
    if (m.type === 'copyPath' && this.shown) {
      await copyExecutedPath(this.shown.detail);
      return;
    }
    if (m.type === 'line' && typeof m.file === 'string' && m.file && Number.isInteger(m.line) && m.line > 0) {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(m.file));
      const at = new vscode.Position(Math.min(m.line, doc.lineCount) - 1, 0);
      const column = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === doc.uri.toString())?.viewColumn ?? vscode.ViewColumn.One;
      await vscode.window.showTextDocument(doc, { viewColumn: column, selection: new vscode.Range(at, at) });
    }
  }

  dispose(): void {
    this.panel?.dispose();
  }
}

/** A source line's text, read once per file (the open document's text when it is open, else the file on disk). */
export function sourceLines(): (file: string, line: number) => string | undefined {
  const files = new Map<string, string[] | undefined>();
  return (file, line) => {
    if (!files.has(file)) {
      const open = vscode.workspace.textDocuments.find((doc) => doc.uri.scheme === 'file' && doc.uri.fsPath === file);
      let text: string | undefined;
      try {
        text = open?.getText() ?? readFileSync(file, 'utf8');
      } catch {
        text = undefined;
      }
      files.set(file, text?.split('\n'));
    }
    return files.get(file)?.[line - 1];
  };
}

/** XDP: Copy Executed Path: a packet's executed path, as the packet view lists it, on the clipboard. */
export async function copyExecutedPath(d: PacketDetail): Promise<void> {
  if (!d.lines.length) throw new Error(`packet #${d.index} ran no line of the program: there is no path to copy`);
  await vscode.env.clipboard.writeText(executedPathText(d, sourceLines()));
  void vscode.window.showInformationMessage(executedPathCopied(d.index));
}
