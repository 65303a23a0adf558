/** Context menus on tree rows in a real VS Code: open one on a row, pick an entry (shared by the e2e suites). */
import type { VsCodeSession } from './codeServer';

/**
 * Clicks a context-menu entry. The workbench's menu sometimes ignores a click that lands right after it
 * opened (the menu stays open with the entry highlighted): then the entry, which has the focus, gets Enter.
 */
export async function pickMenuEntry(vsc: VsCodeSession, menuItem: ReturnType<VsCodeSession['page']['locator']>): Promise<void> {
  await menuItem.click({ timeout: 5000 });
  const menu = vsc.page.locator('.context-view .monaco-menu');
  if (await menu.waitFor({ state: 'hidden', timeout: 1500 }).then(() => true, () => false)) return;
  await menuItem.hover({ timeout: 2000 }).catch(() => undefined);
  await vsc.page.keyboard.press('Enter');
  await menu.waitFor({ state: 'hidden', timeout: 5000 });
}

/**
 * Right-clicks a tree item, waits for the context-menu entry, clicks it (unless `clickEntry` is false) and
 * waits for `opened`. A right-click that lands while the row is being re-rendered (its data changed) can miss,
 * so the click is retried a few times.
 */
export async function contextMenu(
  vsc: VsCodeSession,
  item: ReturnType<VsCodeSession['treeItem']>,
  entry: string | RegExp,
  opened: () => Promise<unknown>,
  { clickEntry = true } = {},
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    // a menu or input left open by an earlier attempt would swallow the click
    for (let i = 0; i < 3 && (await vsc.page.locator('.context-view .monaco-menu, .context-view-block, .quick-input-widget .quick-input-box input').first().isVisible()); i++) await vsc.escape();
    await item.click({ button: 'right', timeout: 10_000 });
    const menuItem = vsc.page.locator('.context-view .monaco-menu .action-label', { hasText: entry });
    const shown = await menuItem.waitFor({ timeout: 5000 }).then(() => true, () => false);
    if (shown) {
      if (clickEntry) await pickMenuEntry(vsc, menuItem);
      try {
        await opened();
      } catch (err) {
        // the command ran on a row a poll was re-rendering and says so ("… try again"): a user
        // would try again, and so does the test (twice at most)
        const notes = await vsc.notifications();
        if (attempt < 2 && notes.some((n) => /row was being refreshed: try again/.test(n))) {
          await vsc.page.locator('.notifications-toasts .codicon-notifications-clear').first().click({ timeout: 2000 }).catch(() => undefined);
          continue;
        }
        const shot = await vsc.screenshot(`context-menu-${String(entry).replace(/[^\w-]+/g, '_')}`);
        const log = vsc.exthostLog().split('\n').filter((l) => /datapipeline|error/i.test(l)).slice(-15).join('\n');
        throw new Error(`${entry}: ${(err as Error).message.split('\n')[0]} (screenshot ${shot}; notifications: ${(await vsc.notifications()).join(' | ')}; log:\n${log})`);
      }
      return;
    }
    if (attempt >= 2) throw new Error(`${entry} did not show in the context menu`);
    await vsc.escape();
  }
}

