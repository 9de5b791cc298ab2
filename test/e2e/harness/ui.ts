// Waiting for what a person would see in the VS Code window, and doing what they would do. Every wait is for a
// visible state with a timeout that names what did not appear; none is a fixed sleep.
import { readFileSync } from 'node:fs';
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
    // F1 again while no palette came (a key typed while a webview has the focus can be lost).
    for (let pressed = 1; ; pressed++) {
      await page.keyboard.press('F1');
      if (await input.first().waitFor({ state: 'visible', timeout: left(end, 5_000) }).then(() => true, () => false)) break;
      if (Date.now() >= end) throw new Error(`timed out after ${timeoutMs} ms waiting for the Command Palette (F1 pressed ${pressed} times)`);
    }
    // Something taking the focus late (the Debug Console's input after its view opened) closes the palette again
    // before the title is typed: then it is opened again, like a person would, instead of waiting for it to come back.
    const wait = () => ({ timeout: Math.max(Math.min(end - Date.now(), 5_000), 1000) });
    const typed = await input.fill(`>${title}`, wait()).then(() => true, () => false);
    if (typed && (await row.first().waitFor({ state: 'visible', ...wait() }).then(() => true, () => false))) break;
    if (Date.now() >= end) {
      const seen = (await rows.allInnerTexts().catch(() => [])).join(' | ').replace(/\s+/g, ' ').slice(0, 2000);
      // Closed again, as a person would: a palette left open keeps the command list of the moment it opened and
      // covers the floating debug toolbar, so a caller trying again would meet the same stale list.
      await page.keyboard.press('Escape').catch(() => undefined);
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
  // Picked: the row goes (the pick closes, or the command asks its next question). A click that did not land (the
  // list filtered or re-drawn under it) is made again while the row is still there. The pointer left over another row
  // shows that row's tooltip, which can lie over this one and take the click: before clicking again the pointer is
  // moved off the rows (onto the pick's own corner), as a person moves the mouse away from a tooltip in the way.
  const end = Date.now() + timeoutMs;
  for (let tries = 0; ; tries++) {
    if (tries > 0) {
      const box = await page.locator('.quick-input-widget').first().boundingBox({ timeout: left(end, 3_000) }).catch(() => null);
      if (box) await page.mouse.move(box.x + 3, box.y + 3).catch(() => undefined);
    }
    await row.first().click({ timeout: left(end, 3_000) }).catch(() => undefined);
    if (await row.first().waitFor({ state: 'hidden', timeout: left(end, 3_000) }).then(() => true, () => false)) return;
    if (Date.now() >= end) throw new Error(`timed out after ${timeoutMs} ms picking quick pick item ${describe(label)}: it is still offered`);
  }
}

/**
 * Moves the cursor of the active editor to a 1-based line and character column (Go to Line). When the box closes
 * before it took the position (something took the focus late), it is opened again, as a person would.
 */
export async function goToLine(page: Page, line: number, column = 1, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  // Enter only accepts once the picker has read the text and offers the position.
  const offer = page.locator('.quick-input-widget .monaco-list-row').filter({ hasText: new RegExp(`line ${line}\\b`, 'i') });
  // The status bar counts columns visually (a tab is tab-size wide), Go to Line counts characters: check the line.
  const status = statusBar(page).locator('.statusbar-item').filter({ hasText: new RegExp(`Ln ${line}, Col \\d+`) });
  const end = Date.now() + timeoutMs;
  for (let tries = 1; ; tries++) {
    const step = () => ({ timeout: left(end, 5_000) });
    // Focus the active editor's input (Ctrl+G elsewhere is the browser's, not VS Code's).
    const done = await (async () => {
      await page.locator('.part.editor .editor-group-container.active .monaco-editor textarea.inputarea').first().focus(step());
      await page.keyboard.press('Control+G');
      await input.waitFor({ state: 'visible', ...step() });
      await input.fill(`:${line}:${column}`, step());
      await offer.first().waitFor({ state: 'visible', ...step() });
      await input.press('Enter', step());
      await status.first().waitFor({ state: 'visible', ...step() });
    })().then(() => true, () => false);
    if (done) return;
    if (Date.now() >= end) {
      const seen = (await statusBar(page).locator('.statusbar-item').allInnerTexts().catch(() => [])).join(' | ').replace(/\s+/g, ' ').slice(0, 1000);
      throw new Error(`timed out after ${timeoutMs} ms going to line ${line} (Go to Line opened ${tries} times); status bar: ${seen}`);
    }
    if (await input.isVisible().catch(() => false)) await page.keyboard.press('Escape');
  }
}

/**
 * Shows the hover at the cursor and waits for it to contain `text`; the command again while none came (a tooltip of
 * something under the pointer, or a slow server, can leave the first one unanswered).
 */
export async function showHover(page: Page, text: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Locator> {
  const end = Date.now() + timeoutMs;
  const hover = page.locator('.monaco-hover:not(.hidden)').filter({ hasText: text });
  while (Date.now() < end - 10_000) {
    await runCommand(page, 'Show or Focus Hover', left(end, 30_000));
    if (await hover.first().waitFor({ state: 'visible', timeout: left(end, 10_000) }).then(() => true, () => false)) return faded(hover.first());
  }
  return waitForHover(page, text, Math.max(1000, end - Date.now()));
}

/** A hover whose text matches, drawn whole: after its fade-in (so a picture taken next is not half transparent). */
export async function waitForHover(page: Page, text: Text, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Locator> {
  const hover = page.locator('.monaco-hover:not(.hidden)');
  return faded(await waitVisible(hover.filter({ hasText: text }), `a hover containing ${describe(text)}`, timeoutMs, hover));
}

/** `el` once its finite animations (a hover's 100 ms fade-in) have ended; at most 2 s, then as it is. */
async function faded(el: Locator): Promise<Locator> {
  await el
    .evaluate((e) => {
      const finite = e.getAnimations({ subtree: true }).filter((a) => Number.isFinite(Number(a.effect?.getComputedTiming().endTime)));
      return Promise.race([Promise.all(finite.map((a) => a.finished.catch(() => undefined))), new Promise((r) => setTimeout(r, 2_000))]).then(() => finite.length);
    }, undefined, { timeout: 5_000 })
    .catch(() => undefined);
  return el;
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

/**
 * Whether a notification's message is drawn whole: not cut to one line with an ellipsis (VS Code does that to a
 * notification without a button).
 */
export async function shownWhole(toast: Locator): Promise<boolean> {
  return toast.locator('.notification-list-item-message').first().evaluate((m) => m.scrollWidth <= m.clientWidth + 1 && m.scrollHeight <= m.clientHeight + 1);
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
  const expanded = async () => (await header.first().getAttribute('aria-expanded', { timeout: 3_000 }).catch(() => null)) === 'true';
  await clickUntil(header, page.locator('.part.panel .pane-header:not(.expanded)').filter({ hasText: name }), `the ${describe(name)} view collapsed`, { timeoutMs, again: expanded });
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

/** What is left of a deadline, bounded by `cap` (and at least 1 ms): each step of a retry loop gets a share. */
function left(end: number, cap: number): number {
  return Math.min(cap, Math.max(1, end - Date.now()));
}

/**
 * Does `act` (a click, a key) until `done` is on screen, as a person does it again when nothing happened. Each act
 * is given a bounded time (a notification toast over a click's target would otherwise hold Playwright's click for
 * its whole default 30 s; it is tried again once the toast has gone), and is repeated only while `again()` says the
 * state still asks for it (default: `done` is not there yet), so a toggle is never undone by a second click. A click
 * on a row that a refresh re-renders at that moment can be lost; the next round clicks the new row.
 */
export async function actUntil(
  act: (timeoutMs: number) => Promise<unknown>,
  done: Locator,
  what: string,
  opts: { timeoutMs?: number; again?: () => Promise<boolean>; area?: Locator; waitMs?: number } = {},
): Promise<Locator> {
  const end = Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const again = opts.again ?? (async () => !(await done.first().isVisible().catch(() => false)));
  while (Date.now() < end) {
    if (await again().catch(() => true)) await act(left(end, 3_000)).catch(() => undefined);
    try {
      await done.first().waitFor({ state: 'visible', timeout: left(end, opts.waitMs ?? 3_000) });
      return done.first();
    } catch {
      // not yet: look at the state again
    }
  }
  return waitVisible(done, what, 1, opts.area);
}

/** Clicks `target` until `done` is on screen (see actUntil). */
export function clickUntil(
  target: Locator,
  done: Locator,
  what: string,
  opts: { timeoutMs?: number; again?: () => Promise<boolean>; area?: Locator; waitMs?: number } = {},
): Promise<Locator> {
  return actUntil((timeout) => target.first().click({ timeout }), done, what, opts);
}

/**
 * Expands a tree row until `child` is on screen. A view that refreshes while the click lands (a run still reporting)
 * can re-render the row collapsed; a person clicks again, and so does this, only while the row says it is collapsed.
 */
export function expandTreeRow(row: Locator, child: Locator, what: string, timeoutMs = DEFAULT_TIMEOUT_MS, area?: Locator): Promise<Locator> {
  const collapsed = async () => (await row.first().getAttribute('aria-expanded', { timeout: 3_000 }).catch(() => null)) !== 'true';
  return clickUntil(row, child, what, { timeoutMs, again: collapsed, area });
}

/** Waits until `locator` matches exactly `n` elements (rows still arriving, or old ones still going). */
export async function waitForCount(locator: Locator, n: number, what: string, timeoutMs = DEFAULT_TIMEOUT_MS, area?: Locator): Promise<void> {
  const end = Date.now() + timeoutMs;
  let seen = -1;
  while ((seen = await locator.count()) !== n) {
    if (Date.now() > end) {
      const shown = area ? (await area.allInnerTexts().catch(() => [])).join(' | ').replace(/\s+/g, ' ').slice(0, 2000) : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${n} of ${what} (${seen} there)${area ? `; visible there: ${shown || '(nothing)'}` : ''}`);
    }
    await locator.page().waitForTimeout(100);
  }
}

/**
 * Types `path` into VS Code's own file dialog (Browse..., Install from VSIX...) until the dialog lists `name` and the
 * field still holds the path; returns the dialog. The dialog fills in its start folder once it has read it (replacing
 * what was typed), and under load it has been seen to put it back after listing the typed folder, or to list the typed
 * folder without its files: a person then types the path again, and so does this, each try through the folder alone
 * first so the dialog reads the folder anew.
 */
export async function typeInFileDialog(page: Page, path: string, name: string, timeoutMs = 90_000): Promise<Locator> {
  const dialog = page.locator('.quick-input-widget');
  const input = dialog.locator('input');
  await waitVisible(input, 'the file dialog');
  const end = Date.now() + timeoutMs;
  const value = async () => (await input.inputValue({ timeout: left(end, 3_000) }).catch(() => '')) ?? '';
  // The start folder arrives first.
  await page.waitForFunction(() => ((document.querySelector('.quick-input-widget input') as HTMLInputElement | null)?.value ?? '').length > 0, undefined, {
    timeout: left(end, 30_000),
  });
  const listed = dialog.locator('.monaco-list-row').filter({ hasText: name });
  const folder = path.slice(0, path.lastIndexOf('/') + 1);
  for (let tries = 0; Date.now() < end; tries++) {
    if (tries > 0) {
      await input.fill(folder, { timeout: left(end, 3_000) }).catch(() => undefined);
      await dialog.locator('.monaco-list-row').first().waitFor({ state: 'visible', timeout: left(end, 3_000) }).catch(() => undefined);
    }
    await input.fill(path, { timeout: left(end, 3_000) }).catch(() => undefined);
    const shown = await listed.first().waitFor({ state: 'visible', timeout: left(end, 10_000) }).then(() => true, () => false);
    if (!shown) continue;
    // Room for a late reset to land: the field is read again after the next two frames.
    await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)))).catch(() => undefined);
    if ((await value()) === path && (await listed.first().isVisible().catch(() => false))) return dialog;
  }
  const seen = (await dialog.allInnerTexts().catch(() => [])).join(' | ').replace(/\s+/g, ' ').slice(0, 2000);
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${name} in the file dialog with ${path} typed; the field holds ${JSON.stringify(await value())}; visible there: ${seen || '(nothing)'}`);
}

/**
 * Opens a workspace file by its name through Go to File (Quick Open), as a person would. Quick Open answers with what
 * the file search found when the name was typed: while the search is not ready (an extension host starting again
 * after an install, a loaded machine) that is "No matching results", and it stays so. A person then types the name
 * again, and so does this (Quick Open closed and opened anew), until the file is offered first; then Enter opens it.
 */
export async function openWorkspaceFile(page: Page, name: string, timeoutMs = 60_000): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  // Enter takes the focused row, which is the match only once Quick Open has filtered for the typed name.
  const row = page.locator('.quick-input-widget .monaco-list-row.focused').filter({ hasText: name });
  const end = Date.now() + timeoutMs;
  for (let tries = 1; ; tries++) {
    await runCommand(page, 'Go to File...', Math.max(end - Date.now(), 5_000));
    const offered = await input
      .fill(name, { timeout: left(end, 5_000) })
      .then(() => row.first().waitFor({ state: 'visible', timeout: left(end, 10_000) }))
      .then(() => true, () => false);
    if (offered) {
      await input.press('Enter', { timeout: left(end, 5_000) }).catch(() => undefined);
      if (await waitForActiveEditor(page, name, left(end, 10_000)).then(() => true, () => false)) return;
    }
    if (Date.now() >= end) {
      const seen = (await page.locator('.quick-input-widget .monaco-list-row').allInnerTexts().catch(() => [])).join(' | ').replace(/\s+/g, ' ').slice(0, 2000);
      throw new Error(`timed out after ${timeoutMs} ms opening ${name} through Go to File (typed ${tries} times); Quick Open showed: ${seen || '(nothing)'}`);
    }
    if (await input.isVisible().catch(() => false)) await page.keyboard.press('Escape');
    await input.waitFor({ state: 'hidden', timeout: left(end, 3_000) }).catch(() => undefined);
  }
}

/**
 * Replaces the end of a line of the active editor, from a 1-based character column, with `text`, and saves, as a
 * person would (Go to Line, Shift+End, type, Ctrl+S), until `file` on disk holds the edited line. Keys typed while
 * something else has the focus (a notification, a late view) are lost, or land in part: a person looks, and does it
 * again; so does this. Doing it again is harmless: the same columns are selected and replaced by the same text.
 */
export async function replaceLineEndAndSave(page: Page, file: string, line: number, column: number, text: string, timeoutMs = 90_000): Promise<void> {
  const onDisk = () => readFileSync(file, 'utf8').split('\n')[line - 1] ?? '';
  const before = onDisk();
  const want = before.slice(0, column - 1) + text;
  const end = Date.now() + timeoutMs;
  for (let tries = 1; ; tries++) {
    await goToLine(page, line, column, Math.max(end - Date.now(), 5_000));
    await page.keyboard.press('Shift+End');
    await page.keyboard.type(text);
    await page.keyboard.press('Control+S');
    // The save completes after the keystroke returns: the file is read until it has the edit, a few seconds a try.
    for (const until = Math.min(end, Date.now() + 10_000); onDisk() !== want && Date.now() < until; ) await page.waitForTimeout(100);
    if (onDisk() === want) return;
    if (Date.now() >= end) throw new Error(`timed out after ${timeoutMs} ms saving line ${line} as ${JSON.stringify(want)} (typed ${tries} times): it reads ${JSON.stringify(onDisk())}`);
    if (await page.locator('.quick-input-widget input').isVisible().catch(() => false)) await page.keyboard.press('Escape');
  }
}
