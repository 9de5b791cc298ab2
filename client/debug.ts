// The `xdp` debug type in VS Code: the adapter is `xdp-lens debug-adapter` (dist/cli.js) run by VS Code's own Node
// (ELECTRON_RUN_AS_NODE), so nothing else needs to be installed. F5 on an XDP C file without a launch.json debugs that
// file, asking for a capture; "Debug This Packet" in the packets view debugs the packet of the last run.
import * as vscode from 'vscode';
import type { RunParams } from '../server/protocol.ts';

export const DEBUG_TYPE = 'xdp';

/** What the packets view hands a command: a packet row (or its index). */
export type PacketArg = number | { kind?: string; row?: { index: number } } | undefined;

export function registerDebugging(context: vscode.ExtensionContext, lastRun: () => RunParams | undefined): vscode.Disposable[] {
  const factory: vscode.DebugAdapterDescriptorFactory = {
    createDebugAdapterDescriptor: () =>
      new vscode.DebugAdapterExecutable(process.execPath, [context.asAbsolutePath('dist/cli.js'), 'debug-adapter'], { env: { ELECTRON_RUN_AS_NODE: '1' } }),
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
          const picked = await vscode.window.showOpenDialog({ title: 'Capture to debug the program on', filters: { Captures: ['pcap', 'pcapng', 'cap'] }, canSelectMany: false });
          if (!picked?.length) return undefined;
          config.capture = picked[0].fsPath;
        }
      }
      return config;
    },
  };
  return [
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, factory),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, { provideDebugConfigurations: provider.provideDebugConfigurations }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
  ];
}

/** "Debug This Packet": debug the packet of the last run (a row of the packets view, or an index). */
export async function debugPacket(run: RunParams | undefined, arg?: PacketArg): Promise<boolean> {
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
    ...(run.driverMode ? { driver: run.driverMode } : {}),
    ...(run.profile ? { profile: run.profile } : {}),
    ...((run as RunParams & { maps?: string }).maps ? { maps: (run as RunParams & { maps?: string }).maps } : {}),
    stopOnEntry: vscode.debug.breakpoints.length === 0,
  });
}
