// XDP: Show Run Summary: a webview with the pictures of the last run (client/summary-html.ts draws them from the
// server's xdpLens/runStats). It follows the runs: a new run redraws it, an edit or a settings change marks it stale.
// Clicking a row shows its line and filters the packets view to its packets.
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { RunStatsRequest, type RunStats, type RunStatsParams, type RunStatsResult, type RunSummary } from '../server/protocol.ts';
import { renderSummaryHtml } from './summary-html.ts';
import { showError } from './notify.ts';

export interface SummaryHost {
  lastRun(): RunSummary | undefined;
  /** What changed since the last run (`xdp_filter.c`, `the map seed file blocklist.json`); undefined: not stale. */
  stale(): string | undefined;
  request<R>(method: string, params: unknown): Promise<R>;
  log(message: string): void;
}

type Message = { type: 'exit'; file: string; line: number; filter: string } | { type: 'filter'; filter: string } | { type: 'command'; command: string };

export class SummaryView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private stats: { runId: string; version: string; stats: RunStats } | undefined;
  /** What is drawn (run and staleness), so a keystroke in the source redraws nothing unless staleness changes. */
  private drawn = '';

  constructor(private readonly host: SummaryHost) {}

  /** Open (or bring forward) the summary of the last run. */
  async show(): Promise<void> {
    const run = this.host.lastRun();
    if (!run) throw new Error('no run yet: use "XDP: Run on Capture..." first');
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('xdpLens.runSummary', 'Run Summary', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false }, {
        enableScripts: true,
        localResourceRoots: [],
      });
      this.panel.onDidDispose(() => {
        this.panel = undefined;
        this.drawn = '';
      });
      this.panel.webview.onDidReceiveMessage((m: Message) => void this.onMessage(m).catch((e) => showError((e as Error).message, (t) => this.host.log(`run summary: ${t}`))));
    } else this.panel.reveal(undefined, false);
    await this.refresh();
  }

  /** Redraw when open: after a run, or when the results became stale. */
  async refresh(): Promise<void> {
    const panel = this.panel;
    const run = this.host.lastRun();
    if (!panel || !run) return;
    const stale = this.host.stale() ?? false;
    // A live run keeps its id while it grows: its end is drawn again from the statistics of the whole run.
    const version = `${run.runId}${run.live?.running ? ' (capturing)' : ''}`;
    const key = `${version}:${stale}`;
    if (key === this.drawn) return;
    if (this.stats?.version !== version) {
      const t0 = Date.now();
      const r = await this.host.request<RunStatsResult>(RunStatsRequest, { runId: run.runId } satisfies RunStatsParams);
      if (!r.stats) {
        panel.webview.html = `<!DOCTYPE html><html><body><p>${(r.error ?? 'no statistics').replace(/[&<>]/g, '')}</p></body></html>`;
        this.drawn = '';
        return;
      }
      this.stats = { runId: run.runId, version, stats: r.stats };
      this.host.log(`run summary of ${run.runId} in ${Date.now() - t0} ms`);
    }
    if (this.panel !== panel) return;
    const lines = new Map<string, string[] | undefined>();
    const lineText = (file: string, line: number) => {
      if (!lines.has(file)) {
        const open = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file);
        let text: string | undefined;
        try {
          text = open?.getText() ?? readFileSync(file, 'utf8');
        } catch {
          text = undefined;
        }
        lines.set(file, text?.split('\n'));
      }
      return lines.get(file)?.[line - 1];
    };
    panel.title = `Run Summary: ${basename(run.file)}`;
    panel.webview.html = renderSummaryHtml({ summary: run, stats: this.stats.stats, stale, nonce: randomBytes(16).toString('base64'), cspSource: panel.webview.cspSource, lineText });
    this.drawn = key;
  }

  private async onMessage(m: Message): Promise<void> {
    if (m.type === 'command' && m.command === 'xdpLens.rerun') {
      await vscode.commands.executeCommand('xdpLens.rerun');
      return;
    }
    if (m.type === 'exit' && m.file && m.line > 0) {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(m.file));
      const at = new vscode.Position(m.line - 1, 0);
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(at, at), preserveFocus: true });
    }
    if (m.type === 'exit' || m.type === 'filter') {
      await vscode.commands.executeCommand('xdpLens.filterPackets', m.filter);
      await vscode.commands.executeCommand('xdpLens.showPackets');
    }
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
