// What a run puts in the editor: counts at the lines packets left through, the lines one packet executed, and the
// packets view (virtualised: pages of rows fetched from the server only when expanded).
import * as vscode from 'vscode';
import type { PacketDetail, PacketRow, PacketsResult, RunSummary, XdpAction } from '../server/protocol.ts';
import { PacketsRequest } from '../server/protocol.ts';
import { captureOrdinal, DRIVER_PATHS, exitLabel, exitsByLine, packetLabel, pages, refusalDetails, refusalLensTitle } from './format.ts';

const PAGE = 500;

export class RunDecorations implements vscode.Disposable {
  private readonly exit = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic', margin: '0 0 0 1em' },
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
  private readonly staleExit = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('disabledForeground'), fontStyle: 'italic', textDecoration: 'line-through', margin: '0 0 0 1em' },
  });
  private readonly executed = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('editor.rangeHighlightBackground'),
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.rangeHighlightForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly packetExit = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('editor.wordHighlightStrongBackground'),
    after: { color: new vscode.ThemeColor('editorInfo.foreground'), fontWeight: 'bold', margin: '0 0 0 1em' },
  });
  private run: RunSummary | undefined;
  private stale = false;
  private packet: { detail: PacketDetail; uri: string } | undefined;

  showRun(run: RunSummary | undefined, stale: boolean): void {
    if (run !== this.run) this.packet = undefined;
    this.run = run;
    this.stale = stale;
    for (const editor of vscode.window.visibleTextEditors) this.apply(editor);
  }

  showPacket(editor: vscode.TextEditor, detail: PacketDetail, stale: boolean): void {
    this.packet = { detail, uri: editor.document.uri.toString() };
    this.stale = stale;
    this.apply(editor);
    const line = Math.max(0, detail.line - 1);
    editor.revealRange(new vscode.Range(line, 0, line, 0), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private apply(editor: vscode.TextEditor): void {
    const path = editor.document.uri.fsPath;
    const doc = editor.document;
    const lineRange = (line: number) => {
      const l = Math.min(Math.max(0, line - 1), Math.max(0, doc.lineCount - 1));
      const end = doc.lineAt(l).range.end;
      return new vscode.Range(end, end);
    };
    const exits: vscode.DecorationOptions[] = [];
    const lines = this.run && editor.document.uri.scheme === 'file' ? exitsByLine(this.run.exits).get(path) : undefined;
    for (const [line, list] of lines ?? []) {
      exits.push({ range: lineRange(line), renderOptions: { after: { contentText: exitLabel(list, this.stale) } } });
    }
    editor.setDecorations(this.stale ? this.staleExit : this.exit, exits);
    editor.setDecorations(this.stale ? this.exit : this.staleExit, []);

    const p = this.packet && this.packet.uri === editor.document.uri.toString() ? this.packet.detail : undefined;
    const executed = new Set<number>();
    for (const l of p?.lines ?? []) if (l.file === path) executed.add(l.line);
    if (p) executed.delete(p.line);
    editor.setDecorations(this.executed, [...executed].map((l) => new vscode.Range(l - 1, 0, l - 1, 0)));
    editor.setDecorations(
      this.packetExit,
      p && p.line > 0
        ? [{ range: new vscode.Range(p.line - 1, 0, p.line - 1, 0), renderOptions: { after: { contentText: `  packet #${p.index} → ${p.action}${p.outcome?.includes(':') ? `, ${p.outcome}` : ''}${this.stale ? ' (stale)' : ''}` } } }]
        : [],
    );
  }

  dispose(): void {
    this.exit.dispose();
    this.staleExit.dispose();
    this.executed.dispose();
    this.packetExit.dispose();
  }
}

export type PacketNode =
  | { kind: 'page'; start: number; end: number }
  | { kind: 'packet'; row: PacketRow }
  | { kind: 'message'; text: string }
  /** First, when the kernel would refuse the program: the lens's words; the whole refusal on hover, its line on click. */
  | { kind: 'refusal' };

const ICONS: Record<XdpAction, string> = {
  XDP_PASS: 'pass',
  XDP_DROP: 'circle-slash',
  XDP_TX: 'reply',
  XDP_REDIRECT: 'arrow-right',
  XDP_ABORTED: 'error',
};

/** Why a row was listed and not run, as its tooltip says it. */
const NOT_RUN_WHY: Record<NonNullable<PacketRow['notRun']>, string> = {
  outgoing: 'sent by the capturing host (outgoing): not run, not counted: XDP runs only on received frames',
  'too short': 'shorter than an Ethernet header: not run, not counted: no NIC hands XDP such a frame',
  'too long': 'longer than BPF_PROG_TEST_RUN takes: not run, not counted: no NIC hands XDP such a frame',
};

/** The full story of a row, for its tooltip: the label is cut to the view's width, this is not. */
export function packetTooltip(row: PacketRow): vscode.MarkdownString {
  const t = new vscode.MarkdownString(undefined, true);
  const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
  t.appendMarkdown(`**#${row.index}** (${captureOrdinal(row.index)}) at ${row.time} s, ${row.len} bytes  \n`);
  t.appendMarkdown(`${code(row.summary)}  \n`);
  if (row.capLen !== undefined) t.appendMarkdown(`$(warning) captured ${row.capLen} of ${row.len} bytes (snap length)${row.notRun ? '' : ': ran on those'}  \n`);
  if (row.ethernetHeaderNote) t.appendMarkdown(`$(info) ${row.ethernetHeaderNote} (README "Captures")  \n`);
  if (row.notRun) {
    t.appendMarkdown(NOT_RUN_WHY[row.notRun]);
    return t;
  }
  t.appendMarkdown(`${row.fault ? '$(warning) ' : ''}${code(row.action)} (return value ${row.retval}) at line ${row.line}  \n`);
  if (row.fault) t.appendMarkdown(`fault: ${code(row.fault)}  \n`);
  if (row.outcome) t.appendMarkdown(`outcome: **${row.outcome}**  \n`);
  t.appendMarkdown(`driver path: ${code(row.path)}${DRIVER_PATHS[row.path] ? `: ${DRIVER_PATHS[row.path]}` : ''}`);
  return t;
}

/** A packet's icon: its fault, else what the driver carried out when that differs from the action, else the action. */
export function packetIcon(row: PacketRow): vscode.ThemeIcon {
  if (row.notRun) return new vscode.ThemeIcon('debug-step-out');
  if (row.fault) return new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.errorForeground'));
  const o = row.outcome ?? '';
  if (o.includes(':')) {
    // Dropped or aborted instead of the returned action: its own icon, in the warning colour.
    if (/^(dropped|aborted)/.test(o) && row.action !== 'XDP_DROP' && row.action !== 'XDP_ABORTED') return new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('list.warningForeground'));
    return new vscode.ThemeIcon(ICONS[row.action], new vscode.ThemeColor('list.warningForeground'));
  }
  return new vscode.ThemeIcon(ICONS[row.action]);
}

export class PacketsProvider implements vscode.TreeDataProvider<PacketNode> {
  private readonly changed = new vscode.EventEmitter<PacketNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private run: RunSummary | undefined;
  private filter: XdpAction | undefined;
  /** The display filter (simulator/filter.ts syntax), kept across runs as Wireshark keeps it. */
  display: string | undefined;
  /** Packets the current filter matched, after the tree's last fetch. */
  matched: number | undefined;

  constructor(private readonly request: <R>(method: string, params: unknown) => Promise<R>) {}

  setRun(run: RunSummary): void {
    this.run = run;
    this.filter = undefined;
    this.matched = undefined;
    this.changed.fire(undefined);
  }

  /** The same run, grown (a live run's update): filters and expanded pages stay. */
  updateRun(run: RunSummary): void {
    this.run = run;
    this.changed.fire(undefined);
  }

  setFilter(action: XdpAction | undefined): void {
    this.filter = action;
    this.changed.fire(undefined);
  }

  setDisplayFilter(text: string | undefined): void {
    this.display = text?.trim() || undefined;
    this.matched = undefined;
    this.changed.fire(undefined);
  }

  private async fetch(offset: number, limit: number): Promise<PacketsResult> {
    const r = await this.request<PacketsResult>(PacketsRequest, { runId: this.run!.runId, offset, limit, action: this.filter, ...(this.display ? { filter: this.display } : {}) });
    if (offset === 0 && !r.error) {
      this.matched = r.total;
      this.onCount?.(r.total);
    }
    return r;
  }

  /** Called with the number of packets matching after each first-page fetch (for the view's description). */
  onCount?: (n: number) => void;

  async getChildren(node?: PacketNode): Promise<PacketNode[]> {
    if (!this.run) return [{ kind: 'message', text: 'Run an XDP program on a capture to see its packets here' }];
    if (!node) {
      const refusal: PacketNode[] = this.run.verifierRefuses?.length ? [{ kind: 'refusal' }] : [];
      const first = await this.fetch(0, PAGE);
      if (first.error) return [...refusal, { kind: 'message', text: first.error }];
      if (first.total === 0) return [...refusal, { kind: 'message', text: this.display ? `no packets match ${this.display}` : this.filter ? `no ${this.filter} packets` : 'no packets' }];
      if (first.total <= PAGE) return [...refusal, ...first.rows.map((row): PacketNode => ({ kind: 'packet', row }))];
      return [...refusal, ...pages(first.total, PAGE).map(([start, end]): PacketNode => ({ kind: 'page', start, end }))];
    }
    if (node.kind !== 'page') return [];
    const r = await this.fetch(node.start, node.end - node.start);
    if (r.error) return [{ kind: 'message', text: r.error }];
    return r.rows.map((row) => ({ kind: 'packet', row }));
  }

  getTreeItem(node: PacketNode): vscode.TreeItem {
    if (node.kind === 'message') return new vscode.TreeItem(node.text);
    if (node.kind === 'refusal') {
      const first = this.run?.verifierRefuses?.[0];
      const item = new vscode.TreeItem(refusalLensTitle(this.run ?? {}) ?? 'Refused');
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
      item.tooltip = refusalDetails(this.run ?? {});
      const file = first?.file ?? this.run?.file;
      if (file && first?.line) {
        const at = new vscode.Range(first.line - 1, 0, first.line - 1, 0);
        item.command = { title: 'Open the refused line', command: 'vscode.open', arguments: [vscode.Uri.file(file), { selection: at }] };
      }
      item.contextValue = 'refusal';
      item.id = `${this.run?.runId}:refusal`;
      return item;
    }
    if (node.kind === 'page') {
      const item = new vscode.TreeItem(`${this.filter ?? 'packets'} ${node.start}–${node.end - 1}`, vscode.TreeItemCollapsibleState.Collapsed);
      item.contextValue = 'page';
      return item;
    }
    const { label, description } = packetLabel(node.row, !!this.run?.everyRowEthernetHeader);
    const item = new vscode.TreeItem(label);
    item.description = description;
    item.tooltip = packetTooltip(node.row);
    item.iconPath = packetIcon(node.row);
    item.command = { title: 'Show packet', command: 'xdpLens.showPacket', arguments: [node.row.index] };
    item.contextValue = 'packet';
    item.id = `${this.run?.runId}:${this.filter ?? ''}:${this.display ?? ''}:${node.row.index}`;
    return item;
  }
}
