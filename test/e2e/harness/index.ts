// The real-VS Code test harness: code-server 4.100.3 + Debian chromium through playwright-core.
// See vscode.ts for how a session starts, ui.ts for the waits, environment.ts for skip/require rules.
export { startVSCode, runExtensionTests, extensionHostLog, freePort } from './vscode.ts';
export type { StartOptions, VSCodeSession, ExtensionTestResult } from './vscode.ts';
export * from './ui.ts';
export { e2eSkip, e2eRequired, findE2EEnvironment, ARTIFACTS_DIR, CODE_SERVER_VERSION, VSCODE_VERSION } from './environment.ts';
