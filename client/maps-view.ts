// The XDP Maps view: every map of the last run as it is after the last packet, entries decoded through the maps' BTF
// key and value types by the server (xdpLens/maps), changed-since-the-start marked, structs expandable, large maps a
// page at a time. And the seed commands: pick a `--maps` file for the `xdpLens.maps` setting, save the current maps as
// one (xdpLens/mapsSeed). Like the packet view and the run summary, it is marked stale when the program or the settings
// change after the run, and loaded again after a re-run.
import * as vscode from 'vscode';
import { MapsRequest, MapsSeedRequest, type MapEntryView, type MapsResult, type MapsSeedResult, type MapValueNode, type MapView } from '../server/protocol.ts';
import { entryDescription, entryLabel, entryTooltip, mapDescription, mapsMessage, mapTooltip, moreLabel, settingPath } from './maps-format.ts';
import { showError } from './notify.ts';

const FIRST = 100;
const PAGE = 500;

export type MapsNode =
  | { kind: 'map'; map: MapView; entries: MapEntryView[] }
  | { kind: 'entry'; map: string; entry: MapEntryView }
  | { kind: 'value'; node: MapValueNode; label: string }
  | { kind: 'more'; map: MapView; shown: number }
  | { kind: 'note'; text: string };

export interface MapsHost {
  runId(): string | undefined;
  /** The run as the user knows it: "xdp_filter.c on demo.pcap" (its program and capture). Defaults to the run id. */
  runName?(): string | undefined;
  /**
   * Changes whenever the maps to show do: a live run keeps its id while it grows, so its end is told apart from its
   * first update (the maps are loaded again once it has stopped). Defaults to the run id.
   */
  runVersion?(): string | undefined;
  /**
   * What changed since the run (`xdp_filter.c`, `the map seed file blocklist.json`): the maps shown may no longer be
   * what it leaves. Undefined: not stale.
   */
  stale?(): string | undefined;
  /** The file the run belongs to (for the workspace folder of the setting). */
  runUri(): string | undefined;
  request<T>(method: string, params: unknown): Promise<T>;
  log(message: string): void;
}

export class MapsView implements vscode.TreeDataProvider<MapsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<MapsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private maps: { kind: 'map'; map: MapView; entries: MapEntryView[] }[] = [];
  private error: string | undefined;
  private loadedFor: string | undefined;
  /** What the message was made of, so an edit (which may make the maps stale) rewrites only it. */
  private summary: { run: string; maps: number; changed: number; error?: string } | undefined;
  private shownStale: string | false = false;
  private readonly view: vscode.TreeView<MapsNode>;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly host: MapsHost) {
    this.view = vscode.window.createTreeView('xdpLens.maps', { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(this.view, this.changed);
    const command = (id: string, fn: (...args: never[]) => unknown) =>
      this.disposables.push(vscode.commands.registerCommand(id, async (...args: never[]) => {
        try {
          return await fn(...args);
        } catch (e) {
          const message = (e as Error).message ?? String(e);
          showError(message, (t) => host.log(`${id} failed: ${t}`));
          return undefined;
        }
      }));
    command('xdpLens.refreshMaps', () => this.refresh(true));
    command('xdpLens.showMoreMapEntries', (node?: MapsNode) => this.more(node));
    command('xdpLens.pickMapsSeed', (file?: string) => this.pickSeed(file));
    command('xdpLens.saveMapsAsSeed', (file?: string) => this.saveSeed(file));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  /** After a run: load the maps of the new run (when the view is visible, else on its first expansion). */
  async refresh(force = false): Promise<void> {
    const runId = this.host.runId();
    if (!runId) {
      this.maps = [];
      this.error = undefined;
      this.loadedFor = undefined;
      this.summary = undefined;
      this.markStale();
      this.changed.fire(undefined);
      return;
    }
    const version = this.host.runVersion?.() ?? runId;
    if (!force && version === this.loadedFor) {
      // The same run: an edit or a settings change only marks it stale (or no longer, after an undo).
      this.markStale();
      return;
    }
    this.loadedFor = version;
    const r = await this.host.request<MapsResult>(MapsRequest, { runId, limit: FIRST });
    this.error = r.error;
    this.maps = r.maps.map((map) => ({ kind: 'map', map, entries: map.entries }));
    this.summary = { run: this.host.runName?.() ?? runId, maps: r.maps.length, changed: r.maps.reduce((n, m) => n + m.changed, 0), error: r.error };
    this.markStale(true);
    this.changed.fire(undefined);
  }

  /** Whether the view is marked stale, and its message (for tests in the extension host). */
  get stale(): boolean {
    return this.shownStale !== false;
  }

  /** The run whose maps are shown (its version, see MapsHost.runVersion), for tests in the extension host. */
  get loadedRun(): string | undefined {
    return this.loadedFor;
  }

  get message(): string {
    return this.view.message ?? '';
  }

  /** The stale mark (the view's description and message) as the host says now; `always` rewrites the message. */
  private markStale(always = false): void {
    const stale = (!!this.summary && this.host.stale?.()) || false;
    if (!always && stale === this.shownStale) return;
    this.shownStale = stale;
    // The view's title offers Re-run instead of Refresh Maps while stale: reading the same run again changes nothing.
    void vscode.commands.executeCommand('setContext', 'xdpLens.mapsStale', stale !== false);
    this.view.description = stale ? 'stale' : undefined;
    this.view.message = this.summary ? mapsMessage(this.summary, stale) : undefined;
  }

  /** The maps as the tree shows them (for tests in the extension host). */
  snapshot(): { name: string; description: string; entries: { label: string; description: string }[] }[] {
    return this.maps.map((m) => ({ name: m.map.name, description: mapDescription(m.map), entries: m.entries.map((e) => ({ label: entryLabel(e), description: entryDescription(e) })) }));
  }

  private async more(node?: MapsNode): Promise<void> {
    const runId = this.host.runId();
    if (!runId || node?.kind !== 'more') return;
    const holder = this.maps.find((m) => m.map.name === node.map.name);
    if (!holder) return;
    const r = await this.host.request<MapsResult>(MapsRequest, { runId, map: node.map.name, offset: holder.entries.length, limit: PAGE });
    if (r.error) throw new Error(r.error);
    holder.entries = [...holder.entries, ...(r.maps[0]?.entries ?? [])];
    this.changed.fire(holder);
  }

  private async pickSeed(file?: string): Promise<void> {
    const folder = this.folder();
    let path = file;
    if (!path) {
      const picked = await vscode.window.showOpenDialog({
        title: 'Map seed for runs (xdp-lens run --maps)', canSelectMany: false, filters: { 'Map seed (JSON)': ['json'] },
        ...(folder ? { defaultUri: folder.uri } : {}),
      });
      if (!picked?.[0]) return;
      path = picked[0].fsPath;
    }
    await this.setSeed(path);
  }

  private async setSeed(path: string): Promise<void> {
    const folder = this.folder();
    const value = settingPath(path, folder?.uri.fsPath);
    const config = vscode.workspace.getConfiguration('xdpLens', folder?.uri);
    // Workspace settings when a folder is open (the seed belongs to the project), else the user settings.
    const target = folder ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await config.update('maps', value, target);
    const where = folder ? 'the workspace settings (.vscode/settings.json)' : 'your user settings';
    this.host.log(`xdpLens.maps = ${value} in ${where}`);
    // With a button (the next step), so that VS Code shows it whole: it cuts a notification without one to a line.
    const hasRun = !!this.host.runId();
    const button = hasRun ? 'Re-run' : 'Open Setting';
    const text = `XDP: runs now start from the maps in ${value} (xdpLens.maps, stored in ${where}).${hasRun ? ' Re-run to use it.' : ''}`;
    void vscode.window.showInformationMessage(text, button).then((b) => {
      if (b === 'Re-run') void vscode.commands.executeCommand('xdpLens.rerun');
      else if (b) void vscode.commands.executeCommand(folder ? 'workbench.action.openWorkspaceSettings' : 'workbench.action.openSettings', 'xdpLens.maps');
    });
  }

  private async saveSeed(file?: string): Promise<void> {
    const runId = this.host.runId();
    if (!runId) throw new Error('no run yet: use "XDP: Run on Capture..." first');
    const r = await this.host.request<MapsSeedResult>(MapsSeedRequest, { runId });
    if (r.error || !r.maps) throw new Error(r.error ?? 'the server returned no maps');
    const folder = this.folder();
    let target = file ? vscode.Uri.file(file) : undefined;
    if (!target) {
      target = await vscode.window.showSaveDialog({
        title: 'Save the current maps as a seed (xdp-lens run --maps)', filters: { 'Map seed (JSON)': ['json'] },
        ...(folder ? { defaultUri: vscode.Uri.joinPath(folder.uri, 'maps-seed.json') } : {}),
      });
      if (!target) return;
    }
    await vscode.workspace.fs.writeFile(target, Buffer.from(JSON.stringify(r.maps, null, 2) + '\n', 'utf8'));
    this.host.log(`saved the maps of ${runId} to ${target.fsPath}`);
    if (file) return;
    const use = 'Use as Seed';
    const choice = await vscode.window.showInformationMessage(`XDP: saved the maps after the run of ${this.host.runName?.() ?? runId} to ${target.fsPath} (xdp-lens run --maps reads it).`, use);
    if (choice === use) await this.setSeed(target.fsPath);
  }

  private folder(): vscode.WorkspaceFolder | undefined {
    const uri = this.host.runUri();
    return (uri ? vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(uri)) : undefined) ?? vscode.workspace.workspaceFolders?.[0];
  }

  getTreeItem(n: MapsNode): vscode.TreeItem {
    switch (n.kind) {
      case 'map': {
        const item = new vscode.TreeItem(n.map.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.description = mapDescription(n.map);
        item.tooltip = mapTooltip(n.map);
        item.iconPath = new vscode.ThemeIcon(n.map.changed ? 'database' : 'database', n.map.changed ? new vscode.ThemeColor('charts.orange') : undefined);
        item.contextValue = 'map';
        item.id = `map:${n.map.name}`;
        return item;
      }
      case 'entry': {
        const e = n.entry;
        const expandable = (e.keyTree?.children?.length ?? 0) > 0 || (e.valueTrees?.length ?? 0) > 1 || (e.valueTrees?.[0]?.children?.length ?? 0) > 0;
        const item = new vscode.TreeItem(entryLabel(e), expandable ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        item.description = entryDescription(e);
        item.tooltip = entryTooltip(e);
        const icon = e.change === 'added' ? ['diff-added', 'gitDecoration.addedResourceForeground'] : e.change === 'changed' ? ['diff-modified', 'gitDecoration.modifiedResourceForeground'] : e.change === 'deleted' ? ['diff-removed', 'gitDecoration.deletedResourceForeground'] : undefined;
        item.iconPath = icon ? new vscode.ThemeIcon(icon[0]!, new vscode.ThemeColor(icon[1]!)) : new vscode.ThemeIcon('symbol-field');
        item.contextValue = e.change ? `mapEntry.${e.change}` : 'mapEntry';
        item.id = `entry:${n.map}:${e.key}:${e.change ?? ''}`;
        return item;
      }
      case 'value': {
        const item = new vscode.TreeItem(n.label, n.node.children?.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        item.description = n.node.text;
        item.tooltip = `${n.node.type} ${n.label} = ${n.node.text}`;
        return item;
      }
      case 'more': {
        const item = new vscode.TreeItem(moreLabel(n.map, n.shown, PAGE) ?? '', vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.command = { command: 'xdpLens.showMoreMapEntries', title: 'Show More Entries', arguments: [n] };
        item.contextValue = 'mapMore';
        return item;
      }
      case 'note':
        return new vscode.TreeItem(n.text, vscode.TreeItemCollapsibleState.None);
    }
  }

  getChildren(n?: MapsNode): MapsNode[] {
    if (!n) {
      if (!this.host.runId()) return [{ kind: 'note', text: 'Run the program on a capture to see its maps.' }];
      if (this.loadedFor !== (this.host.runVersion?.() ?? this.host.runId())) void this.refresh().catch((e) => this.host.log(`maps view: ${(e as Error).message}`));
      if (this.error) return [{ kind: 'note', text: this.error }];
      return this.maps;
    }
    if (n.kind === 'map') {
      const rows: MapsNode[] = n.entries.map((entry) => ({ kind: 'entry', map: n.map.name, entry }));
      if (moreLabel(n.map, n.entries.length, PAGE)) rows.push({ kind: 'more', map: n.map, shown: n.entries.length });
      if (rows.length === 0) rows.push({ kind: 'note', text: '(empty)' });
      return rows;
    }
    if (n.kind === 'entry') {
      const out: MapsNode[] = [];
      const e = n.entry;
      if (e.keyTree?.children?.length) out.push({ kind: 'value', node: e.keyTree, label: 'key' });
      const values = e.valueTrees ?? [];
      if (values.length > 1) values.forEach((v, i) => out.push({ kind: 'value', node: v, label: `cpu${i}` }));
      else for (const c of values[0]?.children ?? []) out.push({ kind: 'value', node: c, label: c.name ?? '' });
      return out;
    }
    if (n.kind === 'value') return (n.node.children ?? []).map((c) => ({ kind: 'value', node: c, label: c.name ?? '' }));
    return [];
  }
}
