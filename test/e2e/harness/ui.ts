// Waiting for what a person would see in the VS Code window, and doing what they would do. Every wait is for a
// visible state with a timeout that names what did not appear; none is a fixed sleep.
import type { Locator, Page } from 'playwright-core';

export const DEFAULT_TIMEOUT_MS = 30_000;

type Text = string | RegExp;
const describe = (t: Text) => (typeof t === 'string' ? JSON.stringify(t) : String(t));

/** Waits for `locator` to be visible; the error says what was awaited and what the area showed instead. */
export async function waitVisible(locator: Locator, what: string, timeoutMs = DEFAULT_TIMEOUT_MS, area?: Locator): Promise<Locator> {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: timeoutMs });
    return locator.first();
  } catch (e) {
    let seen = '';
    if (area) seen = (await area.allInnerTexts().catch(() => [])).join(' | ').replace(/\s+/g, ' ').slice(0, 2000);
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${area ? `; visible there: ${seen || '(nothing)'}` : ''}`, {
      cause: e,
    });
  }
}

/** The workbench is laid out: editor area and status bar are on screen. */
export async function waitForWorkbench(page: Page, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  await waitVisible(page.locator('.monaco-workbench .part.statusbar'), 'the VS Code workbench', timeoutMs);
  await waitVisible(page.locator('.monaco-workbench .part.editor'), 'the editor area', timeoutMs);
}

export const statusBar = (page: Page) => page.locator('.part.statusbar');

/** A status bar entry whose text matches. */
export function waitForStatusBarText(page: Page, text: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Locator> {
  const item = statusBar(page).locator('.statusbar-item').filter({ hasText: text });
  return waitVisible(item, `status bar text ${describe(text)}`, timeoutMs, statusBar(page).locator('.statusbar-item'));
}

/** An editor tab with this label (file name) is open and active. */
export function waitForActiveEditor(page: Page, label: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Locator> {
  const tab = page.locator('.part.editor .tabs-container .tab.active').filter({ hasText: label });
  return waitVisible(tab, `active editor tab ${describe(label)}`, timeoutMs, page.locator('.part.editor .tabs-container .tab'));
}

/** Text visible in the active editor's lines (what is rendered, i.e. near the viewport). */
export function waitForEditorText(page: Page, text: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Locator> {
  const editor = page.locator('.part.editor .editor-instance .monaco-editor .view-lines');
  return waitVisible(editor.locator('.view-line').filter({ hasText: text }), `editor text ${describe(text)}`, timeoutMs);
}

/**
 * Runs a command by its title through the Command Palette, as a person would. The palette lists the commands enabled
 * when it opens (a command whose enablement, such as isWorkspaceTrusted, is not yet true is left out, and stays out
 * while it is open): when the command is not offered, the palette is closed and opened again, as a person would
 * look again, until it is or the time is up.
 */
export async function runCommand(page: Page, title: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  const rows = page.locator('.quick-input-widget .monaco-list-row');
  const row = rows.filter({ hasText: title });
  const end = Date.now() + timeoutMs;
  for (let opened = 1; ; opened++) {
    await page.keyboard.press('F1');
    await waitVisible(input, 'the Command Palette', Math.max(end - Date.now(), 1000));
    // Something taking the focus late (the Debug Console's input after its view opened) closes the palette again
    // before the title is typed: then it is opened again, like a person would, instead of waiting for it to come back.
    const wait = () => ({ timeout: Math.max(Math.min(end - Date.now(), 5_000), 1000) });
    const typed = await input.fill(`>${title}`, wait()).then(() => true, () => false);
    if (typed && (await row.first().waitFor({ state: 'visible', ...wait() }).then(() => true, () => false))) break;
    if (Date.now() >= end) {
      const seen = (await rows.allInnerTexts().catch(() => [])).join(' | ').replace(/\s+/g, ' ').slice(0, 2000);
      throw new Error(`timed out after ${timeoutMs} ms waiting for command ${JSON.stringify(title)} in the Command Palette (opened ${opened} times); visible there: ${seen || '(nothing)'}`);
    }
    await page.keyboard.press('Escape');
    await input.waitFor({ state: 'hidden', timeout: Math.max(end - Date.now(), 1000) }).catch(() => undefined);
  }
  await input.press('Enter');
  // The palette closes, or (for a command that asks something) shows the command's own question instead.
  await page.waitForFunction(
    (typed) => {
      const widget = document.querySelector<HTMLElement>('.quick-input-widget');
      const box = widget?.querySelector<HTMLInputElement>('input');
      return !widget || widget.style.display === 'none' || !box || box.value !== typed;
    },
    `>${title}`,
    { timeout: timeoutMs },
  );
}

/** Picks an entry in an open quick pick (a command's choice list) by its label. */
export async function pickQuickItem(page: Page, label: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const row = page.locator('.quick-input-widget .monaco-list-row').filter({ hasText: label });
  await waitVisible(row, `quick pick item ${describe(label)}`, timeoutMs, page.locator('.quick-input-widget .monaco-list-row'));
  await row.first().click();
}

/** Moves the cursor of the active editor to a 1-based line and character column (Go to Line). */
export async function goToLine(page: Page, line: number, column = 1, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  // Focus the active editor's input (Ctrl+G elsewhere is the browser's, not VS Code's).
  await page.locator('.part.editor .editor-group-container.active .monaco-editor textarea.inputarea').first().focus();
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await waitVisible(input, 'the Go to Line box', timeoutMs);
  await input.fill(`:${line}:${column}`);
  // Enter only accepts once the picker has read the text and offers the position.
  const offer = page.locator('.quick-input-widget .monaco-list-row').filter({ hasText: new RegExp(`line ${line}\\b`, 'i') });
  await waitVisible(offer, `the Go to Line offer for line ${line}`, timeoutMs, page.locator('.quick-input-widget'));
  await input.press('Enter');
  // The status bar counts columns visually (a tab is tab-size wide), Go to Line counts characters: check the line.
  await waitForStatusBarText(page, new RegExp(`Ln ${line}, Col \\d+`), timeoutMs);
}

/** Shows the hover at the cursor and waits for it to contain `text`. */
export async function showHover(page: Page, text: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Locator> {
  await runCommand(page, 'Show or Focus Hover', timeoutMs);
  return waitForHover(page, text, timeoutMs);
}

export function waitForHover(page: Page, text: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Locator> {
  const hover = page.locator('.monaco-hover:not(.hidden)');
  return waitVisible(hover.filter({ hasText: text }), `a hover containing ${describe(text)}`, timeoutMs, hover);
}

/** Opens the Problems panel and waits for an entry whose text matches. */
export async function waitForProblem(page: Page, text: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Locator> {
  const panel = page.locator('.markers-panel');
  if (!(await panel.isVisible().catch(() => false))) await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)', timeoutMs);
  const rows = panel.locator('.monaco-list-row');
  return waitVisible(rows.filter({ hasText: text }), `a Problems entry ${describe(text)}`, timeoutMs, rows);
}

/** A notification toast whose text matches. */
export function waitForNotification(page: Page, text: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Locator> {
  const toasts = page.locator('.notifications-toasts .notification-toast');
  return waitVisible(toasts.filter({ hasText: text }), `a notification ${describe(text)}`, timeoutMs, toasts);
}

/** A CodeLens or inline decoration text in the active editor. */
export function waitForCodeLens(page: Page, text: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Locator> {
  const lenses = page.locator('.part.editor .monaco-editor .codelens-decoration');
  return waitVisible(lenses.filter({ hasText: text }), `a CodeLens ${describe(text)}`, timeoutMs, lenses);
}

/**
 * The body of a view in the panel, by its name (e.g. /XDP Packets/i): the panel can hold several views side by side
 * (XDP Packets and XDP Maps share one), so rows are looked for in this view's own body only.
 */
export function panelView(page: Page, name: Text): Locator {
  return page.locator('.part.panel .pane').filter({ has: page.locator('.pane-header', { hasText: name }) }).locator('.pane-body');
}

/**
 * Collapses a view of the panel by a click on its header, as a person makes room for the view beside it, and waits
 * until it is drawn collapsed and `widen` (the view beside it) has taken the room: at least 3/4 of the panel's width.
 */
export async function collapsePanelView(page: Page, name: Text, widen: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const header = page.locator('.part.panel .pane-header').filter({ hasText: name });
  await waitVisible(header, `the ${describe(name)} view header in the panel`, timeoutMs, page.locator('.part.panel'));
  if ((await header.first().getAttribute('aria-expanded')) === 'true') await header.first().click();
  await waitVisible(page.locator('.part.panel .pane-header:not(.expanded)').filter({ hasText: name }), `the ${describe(name)} view collapsed`, timeoutMs);
  const body = panelView(page, widen).first();
  const panel = page.locator('.part.panel').first();
  await page.waitForFunction(
    ([b, p]) => !!b && !!p && b.getBoundingClientRect().width >= 0.75 * p.getBoundingClientRect().width,
    [await body.elementHandle({ timeout: timeoutMs }), await panel.elementHandle({ timeout: timeoutMs })] as const,
    { timeout: timeoutMs },
  );
}

/** Waits until no notification toast whose text matches is on screen (e.g. a finished run's progress, before a screenshot). */
export async function waitForNotificationGone(page: Page, text: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const toasts = page.locator('.notifications-toasts .notification-toast');
  try {
    await toasts.filter({ hasText: text }).first().waitFor({ state: 'hidden', timeout: timeoutMs });
  } catch (e) {
    const seen = (await toasts.allInnerTexts().catch(() => [])).join(' | ').replace(/\s+/g, ' ').slice(0, 2000);
    throw new Error(`timed out after ${timeoutMs} ms waiting for the notification ${describe(text)} to go; visible: ${seen}`, { cause: e });
  }
}
