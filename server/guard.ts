// Parameter checks at the server's door: every request and notification the server handles is checked against the
// shape it expects before a handler sees it. A request with bad parameters is answered with JSON-RPC InvalidParams; a
// notification with bad parameters is dropped with a log line. No client, however broken, can make a handler throw
// on a field of the wrong type or stall on an absurd position.
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, ResponseError, type Connection } from 'vscode-languageserver/node';

type Kind = 'string' | 'int' | 'uint' | 'number' | 'boolean' | 'object' | 'array' | 'id' | 'position' | 'range' | 'docid';
/** Field -> expected kind; a `?` suffix on the field name marks it optional. */
export interface Shape {
  [field: string]: Kind | Shape;
}

const position: Shape = { line: 'uint', character: 'uint' };
const range: Shape = { start: position, end: position };
const docId: Shape = { uri: 'string' };

/** The parameters of every message the server handles (fields it does not read are not checked). */
export const SHAPES: Record<string, Shape> = {
  'textDocument/didOpen': { textDocument: { uri: 'string', 'languageId?': 'string', version: 'int', text: 'string' } },
  'textDocument/didChange': { textDocument: { uri: 'string', version: 'int' }, contentChanges: 'array' },
  'textDocument/didSave': { textDocument: docId },
  'textDocument/didClose': { textDocument: docId },
  'textDocument/willSave': { textDocument: docId },
  'textDocument/willSaveWaitUntil': { textDocument: docId },
  'textDocument/hover': { textDocument: docId, position },
  'textDocument/codeAction': { textDocument: docId, range, context: { diagnostics: 'array' } },
  'xdpLens/bytecode': { uri: 'string', 'program?': 'string' },
  'xdpLens/run': {
    uri: 'string',
    capture: 'string',
    'program?': 'string',
    'driverMode?': 'string',
    'profile?': 'string',
    'queues?': 'uint',
    'limit?': 'uint',
    'outDir?': 'string',
    'workDoneToken?': 'id',
  },
  'xdpLens/runLive': {
    uri: 'string',
    interface: 'string',
    'filter?': 'string',
    'limit?': 'uint',
    'captureDir?': 'string',
    'program?': 'string',
    'driverMode?': 'string',
    'profile?': 'string',
    'queues?': 'uint',
    'outDir?': 'string',
    'maps?': 'string',
    'workDoneToken?': 'id',
  },
  'xdpLens/packets': { runId: 'string', offset: 'uint', limit: 'uint', 'action?': 'string', 'line?': 'uint', 'faulted?': 'boolean' },
  'xdpLens/packet': { runId: 'string', index: 'uint' },
  'xdpLens/runStats': { runId: 'string' },
  'xdpLens/maps': { runId: 'string', 'map?': 'string', 'offset?': 'uint', 'limit?': 'uint' },
  'xdpLens/mapsSeed': { runId: 'string' },
  'xdpLens/dap': { session: 'string', message: { type: 'string' } },
  'xdpLens/dapEnd': { session: 'string' },
  'xdpLens/compareKernel': { uri: 'string', capture: 'string', 'program?': 'string', 'limit?': 'uint', 'maps?': 'string', 'seed?': 'uint' },
  'xdpLens/diffVerdicts': { uri: 'string', capture: 'string', against: 'object', 'program?': 'string', 'limit?': 'uint' },
  'xdpLens/checkFilter': { filter: 'string' },
};

function kindOk(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'int':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'uint':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'id':
      return typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v));
    default:
      return false;
  }
}

/** What is wrong with `value` against `shape` (the first problem, with its path), or undefined. */
export function checkShape(value: unknown, shape: Shape, path = 'params'): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `${path} must be an object`;
  const obj = value as Record<string, unknown>;
  for (const [rawKey, kind] of Object.entries(shape)) {
    const optional = rawKey.endsWith('?');
    const key = optional ? rawKey.slice(0, -1) : rawKey;
    const v = obj[key];
    const p = `${path}.${key}`;
    if (v === undefined) {
      if (optional) continue;
      return `${p} is missing`;
    }
    if (typeof kind === 'object') {
      const why = checkShape(v, kind, p);
      if (why) return why;
    } else if (!kindOk(kind, v)) {
      return `${p} must be ${kind === 'uint' ? 'a non-negative whole number' : kind === 'int' ? 'a whole number' : kind === 'id' ? 'a string or a number' : `a${/^[aeiou]/.test(kind) ? 'n' : ''} ${kind}`}`;
    }
  }
  return undefined;
}

/** A didChange content change: a full text, or a range and its text. */
function changeProblem(c: unknown, i: number): string | undefined {
  const p = `params.contentChanges[${i}]`;
  if (c === null || typeof c !== 'object') return `${p} must be an object`;
  const o = c as Record<string, unknown>;
  if (typeof o.text !== 'string') return `${p}.text must be a string`;
  if (o.range !== undefined) return checkShape(o.range, range, `${p}.range`);
  return undefined;
}

/** Problems with the parameters of `method`, or undefined when they can be handled. */
export function paramsProblem(method: string, params: unknown): string | undefined {
  const shape = SHAPES[method];
  if (!shape) return undefined;
  const why = checkShape(params, shape);
  if (why) return why;
  if (method === 'xdpLens/run' || method === 'xdpLens/compareKernel' || method === 'xdpLens/diffVerdicts') {
    // The server's standard input is the protocol, and a pipe or device would block it between reads: in the editor
    // a capture is a file (the CLI reads pipes and devices).
    const capture = (params as { capture: string }).capture;
    if (['-', '/dev/stdin', '/proc/self/fd/0', '/dev/fd/0'].includes(capture)) return `params.capture: standard input cannot be a capture in the editor (it carries the protocol)`;
    try {
      const st = statSync(capture);
      if (!st.isFile()) return `params.capture: ${capture} is not a regular file (pipes and devices are read by the CLI: xdp-lens run PROGRAM -)`;
    } catch {
      // a missing file is the handler's to report
    }
  }
  if (method === 'textDocument/didChange') {
    const changes = (params as { contentChanges: unknown[] }).contentChanges;
    for (let i = 0; i < changes.length; i++) {
      const w = changeProblem(changes[i], i);
      if (w) return w;
    }
  }
  return undefined;
}

const NOTIFICATIONS: Record<string, string> = {
  onDidOpenTextDocument: 'textDocument/didOpen',
  onDidChangeTextDocument: 'textDocument/didChange',
  onDidCloseTextDocument: 'textDocument/didClose',
  onDidSaveTextDocument: 'textDocument/didSave',
  onWillSaveTextDocument: 'textDocument/willSave',
};
const REQUESTS: Record<string, string> = {
  onWillSaveTextDocumentWaitUntil: 'textDocument/willSaveWaitUntil',
  onHover: 'textDocument/hover',
  onCodeAction: 'textDocument/codeAction',
};

type AnyHandler = (params: unknown, ...rest: unknown[]) => unknown;

/**
 * The connection as handlers should see it: registering a handler (by the typed helpers such as `onHover`, or by
 * `onRequest`/`onNotification` with a method name) installs it behind the parameter check of that method.
 */
export function guarded(connection: Connection, log: (message: string) => void): Connection {
  const request = (method: string, handler: AnyHandler): AnyHandler => (params, ...rest) => {
    const why = paramsProblem(method, params);
    if (why) {
      log(`xdp-lens server: ${method}: invalid parameters: ${why}`);
      return new ResponseError(ErrorCodes.InvalidParams, `${method}: ${why}`);
    }
    return handler(params, ...rest);
  };
  const notification = (method: string, handler: AnyHandler): AnyHandler => (params, ...rest) => {
    const why = paramsProblem(method, params);
    if (why) {
      log(`xdp-lens server: ${method}: dropped, invalid parameters: ${why}`);
      return undefined;
    }
    return handler(params, ...rest);
  };
  return new Proxy(connection, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop in NOTIFICATIONS) return (h: AnyHandler) => fn.call(target, notification(NOTIFICATIONS[prop]!, h));
      if (prop in REQUESTS) return (h: AnyHandler) => fn.call(target, request(REQUESTS[prop]!, h));
      if (prop === 'onRequest' || prop === 'onNotification')
        return (method: unknown, h: unknown, ...rest: unknown[]) => {
          const name = typeof method === 'string' ? method : (method as { method?: string })?.method;
          if (typeof h !== 'function' || typeof name !== 'string') return fn.call(target, method, h, ...rest);
          // A method registered by name gets its parameters by position when the client sent an array (the
          // language client sends [params, null] for sendRequest(method, params, undefined)); the cancellation token
          // is always the last argument. Handlers read one parameter object, so they get the first and the token.
          const own = h as AnyHandler;
          const byPosition: AnyHandler = (params, ...more) => (more.length > 1 ? own(params, more[more.length - 1]) : own(params, ...more));
          return fn.call(target, method, prop === 'onRequest' ? request(name, byPosition) : notification(name, own), ...rest);
        };
      return fn.bind(target);
    },
  });
}

/**
 * The local path of a `file:` URI, or undefined for any other URI and for one that names no local path: a malformed
 * percent escape (file:///tmp/%zz.c: "URI malformed" was an internal error), another host (file://host/x), an encoded
 * NUL. Callers answer undefined as "only files on disk".
 */
export function localPath(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    const path = fileURLToPath(uri);
    return path.includes('\0') ? undefined : path;
  } catch {
    return undefined;
  }
}
