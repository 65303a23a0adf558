/** Reading the output viewer's virtual message table in a real webview. */
import { strict as assert } from 'node:assert';
import type { Frame } from 'playwright-core';

/**
 * Waits until the table draws as many rows as its title counts (all in view: up to 15), then returns each row as
 * "<name> <age> <message>" (the streaming DAG's JSON fields, found by their column headers).
 */
export async function outputViewerPeople(frame: Frame, timeoutMs = 30_000): Promise<string[]> {
  const title = await frame.locator('#messages-title').innerText({ timeout: timeoutMs });
  const total = Number(/\(([\d,]+)\)$/.exec(title)?.[1]?.replace(/,/g, '') ?? NaN);
  assert.ok(Number.isFinite(total), `messages title: ${title}`);
  const header = await frame.locator('#messages [role="columnheader"]').allInnerTexts();
  const [nameCol, ageCol, msgCol] = ['name', 'age', 'message'].map((h) => header.indexOf(h));
  assert.ok(nameCol >= 0 && ageCol >= 0 && msgCol >= 0, `columns: ${header.join(', ')}`);
  // rows come as pages from the host: a row with data-seq is drawn, "…" placeholders are not
  const rows = frame.locator('#messages .mt-body [role="row"][data-seq]');
  if (total > 0) await rows.nth(total - 1).waitFor({ timeout: timeoutMs });
  const people: string[] = [];
  for (let i = 0; i < (await rows.count()); i++) {
    const cells = await rows.nth(i).locator('[role="gridcell"]').allInnerTexts();
    people.push(`${cells[nameCol]} ${cells[ageCol]} ${cells[msgCol]}`);
  }
  return people;
}
