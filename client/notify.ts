// Error notifications of commands and views. VS Code cuts a notification without a button to one line, so each has
// one: Show Output, where the whole error is logged.
import * as vscode from 'vscode';

/** The command behind Show Output (registered by the extension, not in the command palette). */
export const SHOW_OUTPUT = 'xdpLens.showOutput';

/** `XDP Lens: message` with Show Output; `log` writes it to the output first, so the button shows it there. */
export function showError(message: string, log: (m: string) => void): void {
  log(message);
  void vscode.window.showErrorMessage(`XDP Lens: ${message}`, 'Show Output').then((b) => {
    if (b) void vscode.commands.executeCommand(SHOW_OUTPUT);
  });
}
