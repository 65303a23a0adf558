/** The integrated terminal as a user reads it (the DOM renderer: `terminal.integrated.gpuAcceleration: off`). */
import { sleep, type VsCodeSession } from './codeServer';

/**
 * Everything the visible terminal holds, read the way a user would: scroll to the top, then page
 * down through the scrollback (the DOM renderer only renders the rows in view).
 */
export async function readTerminal(s: VsCodeSession, screenshotWhenShown?: { text: string; name: string }): Promise<string> {
  const page = s.page;
  const term = page.locator('.terminal-wrapper.active .xterm:visible, .integrated-terminal .xterm:visible').first();
  await term.waitFor({ state: 'visible', timeout: 15_000 });
  const box = (await term.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const rows = async () => (await term.locator('.xterm-rows').innerText()).replace(/\u00a0/g, ' ');
  let last = '';
  for (let i = 0; i < 100; i++) {
    await page.mouse.wheel(0, -5000);
    await sleep(100); // scroll pace: the terminal renders between wheel steps
    const now = await rows();
    if (now === last) break;
    last = now;
  }
  const seen = [last];
  for (let i = 0; i < 400; i++) {
    await page.mouse.wheel(0, Math.max(40, box.height / 2));
    await sleep(100); // scroll pace: the terminal renders between wheel steps
    const now = await rows();
    if (now === last) break;
    seen.push(now);
    last = now;
    if (screenshotWhenShown && now.includes(screenshotWhenShown.text)) {
      await s.screenshot(screenshotWhenShown.name);
      screenshotWhenShown = undefined;
    }
  }
  return seen.join('\n');
}
