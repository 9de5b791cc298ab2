// The VS Code extension's entry points. Everything it owns (the language client, views, commands, status bar) lives
// in one XdpLensContext, created on activation and disposed on deactivation.
import type * as vscode from 'vscode';
import { XdpLensContext } from './context.ts';

let ctx: XdpLensContext | undefined;

export function activate(context: vscode.ExtensionContext): XdpLensContext {
  ctx = new XdpLensContext(context);
  return ctx;
}

export async function deactivate(): Promise<void> {
  await ctx?.dispose();
  ctx = undefined;
}
