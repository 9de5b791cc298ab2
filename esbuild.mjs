// One build script: the CLI (and later the language server) as Node bundles, the VS Code client with `vscode`
// external. Type checking is separate (`npm run typecheck`), because esbuild does not type-check.
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  // web-tree-sitter is an ES module that finds itself through import.meta.url, which a CommonJS bundle lacks:
  // give it the bundle's own URL.
  banner: { js: "const __xdp_lens_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  define: { __XDP_LENS_VERSION__: JSON.stringify(version), 'import.meta.url': '__xdp_lens_import_meta_url' },
};
const entries = [
  { entryPoints: ['simulator/cli.ts'], outfile: 'dist/cli.js' },
  { entryPoints: ['server/server.ts'], outfile: 'dist/server.js' },
  // A capture run's worker thread (server/run-worker.ts: return-line twin, summaries), next to the server bundle.
  { entryPoints: ['server/run-worker-main.ts'], outfile: 'dist/run-worker.js' },
  { entryPoints: ['client/extension.ts'], outfile: 'dist/client.js', external: ['vscode'] },
].filter((e) => existsSync(e.entryPoints[0]));

await Promise.all(entries.map((e) => esbuild.build({ ...common, ...e })));
// The webviews' scripts run in the webview (a browser page), not in Node: dist/webview-*.js (packaged with dist/*.js).
const webviews = [{ entryPoints: ['client/webview/packet.ts'], outfile: 'dist/webview-packet.js' }].filter((e) => existsSync(e.entryPoints[0]));
await Promise.all(webviews.map((e) => esbuild.build({ ...e, bundle: true, platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'warning' })));

// The C parser's WebAssembly files sit next to the bundles, so a packaged extension (no node_modules) finds them.
const require = createRequire(import.meta.url);
mkdirSync('dist', { recursive: true });
for (const m of ['web-tree-sitter/tree-sitter.wasm', 'tree-sitter-c/tree-sitter-c.wasm']) {
  const from = require.resolve(m);
  copyFileSync(from, `dist/${m.split('/').pop()}`);
}
