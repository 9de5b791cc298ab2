// Debug sessions inside the language server. The editor's `xdp` debug adapter is inline in the client
// (client/debug.ts): it forwards every DAP message over LSP (`xdpLens/dap`, both ways) and the server runs the same
// adapter class as `xdp-lens debug-adapter` (simulator/debug/adapter.ts) in-process. A launch whose program, capture,
// program name, driver mode, profile and map seed match a run the server holds (server/run.ts) reuses that run's
// loaded object and the options it built its session and driver with: the debugger replays from the run's start-of-run
// state in sessions of its own, and never touches the run's maps (the maps view keeps showing the run's end state).
// Any other launch (a launch.json on another capture, other settings, no run yet) is built as the standalone adapter
// builds it. A session ends with its `disconnect`, `xdpLens/dapEnd`, or the client going away; at most
// MAX_DEBUG_SESSIONS run at once.
import type { Connection } from 'vscode-languageserver/node';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { XdpDebugSession, type HeldLaunch } from '../simulator/debug/adapter.ts';
import { heldRunForDebug } from './run.ts';
import { DapEndNotification, DapNotification, type DapEndParams, type DapParams } from './protocol.ts';

export const MAX_DEBUG_SESSIONS = 4;

interface Held {
  adapter: XdpDebugSession;
  dispose(): void;
}

export function registerDebugHandlers(connection: Connection, log: (message: string) => void): { dispose(): void } {
  const sessions = new Map<string, Held>();
  const end = (id: string) => {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    s.dispose();
  };
  const send = (session: string, message: unknown) => void connection.sendNotification(DapNotification, { session, message } satisfies DapParams);

  const open = (id: string): Held => {
    const adapter = new XdpDebugSession({
      held: (args): HeldLaunch | undefined => {
        const h = heldRunForDebug({ program: args.program, programName: args.programName, capture: args.capture, maps: args.maps, driver: args.driver, profile: args.profile });
        if (typeof h === 'string') {
          log(`debug ${id}: ${h}: building a session`);
          return undefined;
        }
        log(`debug ${id}: reusing run ${h.runId}`);
        return { object: h.obj, objectPath: h.objectPath, session: h.session, driver: h.driver, note: `xdp-lens: reusing run ${h.runId} of the language server (its program, capture and settings; replayed from its start)` };
      },
    });
    adapter.setRunAsServer(true);
    const sub = adapter.onDidSendMessage((m) => {
      send(id, m);
      const r = m as DebugProtocol.Response;
      if (r.type === 'response' && r.command === 'disconnect') setImmediate(() => end(id));
    });
    return {
      adapter,
      dispose: () => {
        sub.dispose();
        adapter.dispose();
      },
    };
  };

  connection.onNotification(DapNotification, (p: DapParams) => {
    const msg = p?.message as DebugProtocol.ProtocolMessage | undefined;
    if (typeof p?.session !== 'string' || !msg || typeof msg !== 'object') return;
    let s = sessions.get(p.session);
    if (!s) {
      const req = msg as DebugProtocol.Request;
      if (sessions.size >= MAX_DEBUG_SESSIONS) {
        if (req.type === 'request') {
          send(p.session, {
            type: 'response', seq: 0, request_seq: req.seq, command: req.command, success: false,
            message: `xdp-lens: ${MAX_DEBUG_SESSIONS} debug sessions are already running: stop one first`,
          } satisfies DebugProtocol.Response);
        }
        return;
      }
      if (req.type === 'request' && req.command === 'disconnect') {
        send(p.session, { type: 'response', seq: 0, request_seq: req.seq, command: req.command, success: true } satisfies DebugProtocol.Response);
        return;
      }
      s = open(p.session);
      sessions.set(p.session, s);
    }
    s.adapter.handleMessage(msg);
  });
  connection.onNotification(DapEndNotification, (p: DapEndParams) => end(String(p?.session)));
  return {
    dispose: () => {
      for (const id of [...sessions.keys()]) end(id);
    },
  };
}

