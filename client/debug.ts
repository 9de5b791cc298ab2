// The `xdp` debug type in VS Code: the adapter runs inside the language server (server/debug.ts), which reuses the run
// it holds for the same program and capture. The debug adapter here is inline and only forwards: VS Code's DAP
// messages go to the server as `xdpLens/dap` notifications, the server's come back the same way, one VS Code debug
// session id each. F5 on an XDP C file without a launch.json debugs that file, asking for a capture; "Debug This
// Packet" in the packets view debugs the packet of the last run. (Other editors run `xdp-lens debug-adapter`.)
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { DapEndNotification, DapNotification, type DapEndParams, type DapParams, type RunParams } from '../server/protocol.ts';

export const DEBUG_TYPE = 'xdp';

/** What the packets view hands a command: a packet row (or its index). */
export type PacketArg = number | { kind?: string; row?: { index: number } } | undefined;

/** A debug adapter that forwards DAP messages to the language server and back. */
class ServerDebugAdapter implements vscode.DebugAdapter {
  private readonly emitter = new vscode.EventEmitter<vscode.DebugProtocolMessage>();
  readonly onDidSendMessage = this.emitter.event;
  private ended = false;

  constructor(private readonly id: string, private readonly client: Promise<LanguageClient>, private readonly adapters: Map<string, ServerDebugAdapter>) {
    adapters.set(id, this);
  }

  handleMessage(message: vscode.DebugProtocolMessage): void {
    // One promise: the messages reach the server in the order VS Code sent them.
    this.client.then(
      (c) => c.sendNotification(DapNotification, { session: this.id, message } satisfies DapParams),
      (e: Error) => {
        const req = message as { type?: string; seq?: number; command?: string };
        if (req.type === 'request') this.receive({ type: 'response', seq: 0, request_seq: req.seq, command: req.command, success: false, message: `the XDP Lens language server is not running: ${e.message}` });
      },
    );
  }

  receive(message: vscode.DebugProtocolMessage): void {
    if (!this.ended) this.emitter.fire(message);
  }

  dispose(): void {
    if (this.ended) return;
    this.ended = true;
    this.adapters.delete(this.id);
    this.client.then((c) => c.sendNotification(DapEndNotification, { session: this.id } satisfies DapEndParams), () => {});
    this.emitter.dispose();
  }
}

export function registerDebugging(_context: vscode.ExtensionContext, lastRun: () => RunParams | undefined, client: () => Promise<LanguageClient>): vscode.Disposable[] {
  const adapters = new Map<string, ServerDebugAdapter>();
  const listening = new WeakSet<LanguageClient>();
  const ready = async () => {
    const c = await client();
    if (!listening.has(c)) {
      listening.add(c);
      c.onNotification(DapNotification, (p: DapParams) => adapters.get(p.session)?.receive(p.message as vscode.DebugProtocolMessage));
    }
    return c;
  };
  const factory: vscode.DebugAdapterDescriptorFactory = {
    createDebugAdapterDescriptor: (session) => new vscode.DebugAdapterInlineImplementation(new ServerDebugAdapter(session.id, ready(), adapters)),
  };
  const provider: vscode.DebugConfigurationProvider = {
    provideDebugConfigurations: () => [
      { type: DEBUG_TYPE, request: 'launch', name: 'XDP: debug a packet', program: '${file}', capture: '${workspaceFolder}/capture.pcap', packet: 0, stopOnEntry: true },
    ],
    resolveDebugConfiguration: async (_folder, config) => {
      // F5 with no launch.json: debug the active C file.
      if (!config.type && !config.request && !config.name) {
        const doc = vscode.window.activeTextEditor?.document;
        if (!doc || doc.languageId !== 'c') return undefined;
        Object.assign(config, { type: DEBUG_TYPE, request: 'launch', name: 'XDP: debug this file', program: doc.uri.fsPath, stopOnEntry: true });
      }
      if (!config.capture) {
        const run = lastRun();
        if (run && vscode.Uri.parse(run.uri).fsPath === config.program) config.capture = run.capture;
        else {
          const picked = await vscode.window.showOpenDialog({ title: 'Capture to debug the program on', filters: { Captures: ['pcap', 'pcapng', 'cap', 'gz'] }, canSelectMany: false });
          if (!picked?.length) return undefined;
          config.capture = picked[0].fsPath;
        }
      }
      return config;
    },
  };
  return [
    { dispose: () => [...adapters.values()].forEach((a) => a.dispose()) },
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, factory),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, { provideDebugConfigurations: provider.provideDebugConfigurations }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
  ];
}

/** "Debug This Packet": debug the packet of the last run (a row of the packets view, or an index). */
/** `driver`: the mode and profile the run used (its summary), so the server finds that run and reuses it. */
export async function debugPacket(run: RunParams | undefined, arg?: PacketArg, driver?: { mode: string; profile: string }): Promise<boolean> {
  if (!run) throw new Error('no run yet: use "XDP: Run on Capture..." first');
  const index = typeof arg === 'number' ? arg : arg?.row?.index ?? 0;
  return vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(run.uri)), {
    type: DEBUG_TYPE,
    request: 'launch',
    name: `XDP: packet ${index}`,
    program: vscode.Uri.parse(run.uri).fsPath,
    ...(run.program ? { programName: run.program } : {}),
    capture: run.capture,
    packet: index,
    ...(run.driverMode ?? driver?.mode ? { driver: run.driverMode ?? driver?.mode } : {}),
    ...(run.profile ?? driver?.profile ? { profile: run.profile ?? driver?.profile } : {}),
    ...((run as RunParams & { maps?: string }).maps ? { maps: (run as RunParams & { maps?: string }).maps } : {}),
    stopOnEntry: vscode.debug.breakpoints.length === 0,
  });
}
