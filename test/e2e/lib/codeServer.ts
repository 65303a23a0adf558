/**
 * Real VS Code for tests: code-server (from npm, Node 24) driven by Debian's Chromium through
 * playwright-core. Used by the e2e tests (test/e2e/*.test.ts), the extension-host driver
 * (test/exthost/run.ts) and the benchmarks. See test/e2e/README.md for the API tour.
 *
 *   const vsc = await VsCodeSession.start({ workspace: someFolder });
 *   await vsc.openContainer();                       // the DataPipeline activity-bar container
 *   await vsc.treeItem('Topics', 'input-topic').click();
 *   await vsc.runCommand('DataPipeline: Refresh Topics');
 *   const frame = await vsc.webviewFrame({ containsSelector: '#messages' });
 *   await vsc.screenshot('my-feature');              // test-results/my-feature.png
 *   await vsc.close();                               // browser, code-server, temp profile
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { freePort } from '../../../src/services/util/ports';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const resultsDir = path.join(repoRoot, 'test-results');
/** The packaged extension (`npm run package`). */
export const datapipelineVsix = path.join(repoRoot, 'datapipeline.vsix');
export const CHROMIUM_PATH = process.env.DATAPIPELINE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** User settings for throwaway profiles: no trust prompt, no welcome page, nothing phoning home. */
export const QUIET_SETTINGS: Record<string, unknown> = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'git.enabled': false,
};

// ---------------------------------------------------------------------------------------------
// Low level: install, ports, code-server process, Chromium

/** Installs (once, cached) and returns the code-server launcher (scripts/setup/code-server.sh). */
export function ensureCodeServer(): string {
  const r = spawnSync('bash', [path.join(repoRoot, 'scripts', 'setup', 'code-server.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const bin = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !fs.existsSync(bin)) {
    throw new Error(`scripts/setup/code-server.sh failed (exit ${r.status}); run it by hand to see why.`);
  }
  return bin;
}

/** A free TCP port on 127.0.0.1 (the services layer's). */
export { freePort };

export interface Profile {
  userDataDir: string;
  extensionsDir: string;
}

/** Creates user-data/extensions dirs under `root` and writes user settings. */
export function createProfile(root: string, settings: Record<string, unknown> = {}): Profile {
  const userDataDir = path.join(root, 'user-data');
  const extensionsDir = path.join(root, 'extensions');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  const settingsFile = path.join(userDataDir, 'User', 'settings.json');
  const existing = fs.existsSync(settingsFile) ? (JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>) : {};
  fs.writeFileSync(settingsFile, JSON.stringify({ ...QUIET_SETTINGS, ...existing, ...settings }, null, 2));
  return { userDataDir, extensionsDir };
}

/** Installs .vsix files offline into the profile (one code-server CLI call; --force reinstalls). */
export function installExtensions(codeServer: string, profile: Profile, vsixFiles: string[]): void {
  for (const f of vsixFiles) {
    if (!fs.existsSync(f)) throw new Error(`${f} does not exist. Build it first (npm run package).`);
  }
  const args = ['--user-data-dir', profile.userDataDir, '--extensions-dir', profile.extensionsDir];
  for (const f of vsixFiles) args.push('--install-extension', f);
  args.push('--force');
  const r = spawnSync(codeServer, args, { encoding: 'utf8' });
  if (r.status !== 0 || /Failed|Error/.test(r.stderr ?? '')) {
    throw new Error(`Installing ${vsixFiles.map((f) => path.basename(f)).join(', ')} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

export interface CodeServerProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  /** code-server's own stdout+stderr. */
  logFile: string;
  stop(): Promise<void>;
}

export interface StartCodeServerOptions {
  codeServer: string;
  profile: Profile;
  /** Folder to open; omitted = no folder. */
  workspace?: string;
  port?: number;
  /** Extra environment for code-server and, through it, the extension host. */
  env?: NodeJS.ProcessEnv;
  logFile: string;
  timeoutMs?: number;
  /** password auth (npm start: any local user of the machine could otherwise open a shell); default none (tests) */
  password?: string;
}

/** Starts code-server on 127.0.0.1 (password auth when given) and resolves once it answers HTTP. */
export async function startCodeServer(o: StartCodeServerOptions): Promise<CodeServerProcess> {
  const port = o.port ?? (await freePort());
  const args = [
    '--auth', o.password ? 'password' : 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--user-data-dir', o.profile.userDataDir,
    '--extensions-dir', o.profile.extensionsDir,
  ];
  if (o.workspace) args.push(o.workspace);
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
  const log = fs.openSync(o.logFile, 'a');
  // Its own process group, so stop() also ends the extension host, pty host and watchers it forks.
  // the password goes by environment (PASSWORD), never on the command line other users can read
  const proc = spawn(o.codeServer, args, { detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...o.env, PASSWORD: o.password } });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    killGroup(proc.pid!, 'SIGTERM');
    const t = setTimeout(() => killGroup(proc.pid!, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    killGroup(proc.pid!, 'SIGKILL'); // stragglers left in the group
  };
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`code-server exited with ${proc.exitCode} before listening; see ${o.logFile}`);
    try {
      const res = await fetch(`${url}healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer on ${url} within ${o.timeoutMs ?? 60_000} ms; see ${o.logFile}`);
    }
    await sleep(250); // poll interval of a bounded wait
  }
  return { url, port, proc, logFile: o.logFile, stop };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Headless Debian Chromium with the flags that work here. */
export function launchChromium(headless = true): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless });
}

/** The URL that opens `folder` in code-server. */
export function folderUrl(baseUrl: string, folder?: string): string {
  return folder ? `${baseUrl}?folder=${encodeURIComponent(folder)}` : baseUrl;
}

/** Concatenated extension-host logs of a profile (activation lines, console output of extensions). */
export function readExthostLog(userDataDir: string): string {
  const logs = path.join(userDataDir, 'logs');
  if (!fs.existsSync(logs)) return '';
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/exthost/i.test(p) && e.name.endsWith('.log')) out.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(logs);
  return out.join('\n');
}

/**
 * Environment overrides for code-server that make the extension run as users get it: no
 * DATAPIPELINE_* or DP_* variable at all, so it finds the cache and state by its own defaults
 * (~/.cache/datapipeline, as `npm run stack` does). When the test run itself uses another cache
 * ($DATAPIPELINE_CACHE, as the fresh check does), HOME points at a temporary home whose
 * .cache/datapipeline is that cache, so the default path is still the one exercised.
 */
export function asInstalledEnv(home: string, testCache: string, testState: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of Object.keys(process.env)) if (/^(DATAPIPELINE|DP)_/.test(k)) env[k] = undefined;
  const defaultCache = path.join(os.homedir(), '.cache', 'datapipeline');
  if (path.resolve(testState) !== path.join(path.resolve(testCache), 'state')) {
    throw new Error(`This test needs the native stack's state inside its cache (${testCache}/state), not ${testState}: unset DATAPIPELINE_STATE.`);
  }
  if (path.resolve(testCache) !== defaultCache) {
    fs.mkdirSync(path.join(home, '.cache'), { recursive: true });
    fs.symlinkSync(path.resolve(testCache), path.join(home, '.cache', 'datapipeline'));
    env.HOME = home;
  }
  return env;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// High level: a session = profile + code-server + Chromium page on the workbench

export interface VsCodeSessionOptions {
  /** Folder to open. Default: a fresh empty folder inside the session's temp dir. */
  workspace?: string;
  /** .vsix files to install. Default: [datapipeline.vsix] from the repo root. */
  extensions?: string[];
  /** User settings merged over QUIET_SETTINGS. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server and its extension host. */
  env?: NodeJS.ProcessEnv;
  port?: number;
  /** Browser viewport (default 1400x900). */
  viewport?: { width: number; height: number };
  /** Keep the temp dir (profile, logs) after close() for debugging. Also: DATAPIPELINE_E2E_KEEP=1. */
  keep?: boolean;
}

export class VsCodeSession {
  private constructor(
    /** Temp dir holding the profile, logs and default workspace. */
    readonly dir: string,
    readonly profile: Profile,
    readonly workspace: string,
    readonly server: CodeServerProcess,
    readonly browser: Browser,
    /** The playwright Page showing the workbench; use it for anything the helpers lack. */
    readonly page: Page,
    private readonly keep: boolean,
  ) {}

  /** Installs the extensions into a fresh profile, starts code-server and opens the workbench. */
  static async start(options: VsCodeSessionOptions = {}): Promise<VsCodeSession> {
    const codeServer = ensureCodeServer();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-vscode-'));
    const keep = options.keep ?? process.env.DATAPIPELINE_E2E_KEEP === '1';
    const cleanupDir = () => keep || fs.rmSync(dir, { recursive: true, force: true });
    const workspace = options.workspace ?? path.join(dir, 'workspace');
    fs.mkdirSync(workspace, { recursive: true });
    const profile = createProfile(dir, options.settings);
    let server: CodeServerProcess | undefined;
    let browser: Browser | undefined;
    try {
      installExtensions(codeServer, profile, options.extensions ?? [datapipelineVsix]);
      server = await startCodeServer({
        codeServer,
        profile,
        workspace,
        port: options.port,
        env: options.env,
        logFile: path.join(dir, 'code-server.log'),
      });
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: options.viewport ?? { width: 1400, height: 900 } });
      const session = new VsCodeSession(dir, profile, workspace, server, browser, page, keep);
      openSessions.add(session);
      await page.goto(folderUrl(server.url, workspace));
      await session.waitForWorkbench();
      // DataPipeline's contributions (its container, its palette commands) register a moment after
      // the workbench renders: wait for them so a test may start with the command palette.
      if ((options.extensions ?? [datapipelineVsix]).includes(datapipelineVsix)) {
        await session.activityBarItem('DataPipeline').waitFor({ state: 'visible', timeout: 60_000 });
      }
      return session;
    } catch (e) {
      await browser?.close().catch(() => undefined);
      await server?.stop();
      cleanupDir();
      throw e;
    }
  }

  get url(): string {
    return this.server.url;
  }

  /** Waits until the workbench (activity bar and status bar) is rendered. */
  async waitForWorkbench(timeoutMs = 60_000): Promise<void> {
    await this.page.locator('.monaco-workbench .part.activitybar').waitFor({ state: 'visible', timeout: timeoutMs });
    await this.page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
  }

  /** The activity-bar entry of a view container, by its title ("DataPipeline", "Explorer"). */
  activityBarItem(title = 'DataPipeline'): Locator {
    return this.page.locator(`.part.activitybar .action-item a.action-label[aria-label^="${cssString(title)}"]`).first();
  }

  /** Opens a view container in the side bar (no-op when it is already open). */
  async openContainer(title = 'DataPipeline'): Promise<void> {
    const shown = this.page.locator('.part.sidebar .composite.title h2', { hasText: new RegExp(`^${escapeRegExp(title)}$`, 'i') });
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await shown.isVisible()) return;
      // clicking the icon of the container already open hides the side bar: check again after each click
      // click the item, not its label: a view badge ("2 services are not healthy") lies over the label
      await this.page.locator('.part.activitybar .action-item', { has: this.page.locator(`a.action-label[aria-label^="${cssString(title)}"]`) }).first().click();
      if (await shown.waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false)) return;
    }
    await shown.waitFor({ state: 'visible', timeout: 10_000 });
  }

  /** Side-bar view pane by its title ("Stack", "DAGs", "Topics", "Spark Applications"). */
  view(title: string): Locator {
    return this.page.locator('.part.sidebar .pane', {
      has: this.page.locator('.pane-header h3.title', { hasText: new RegExp(`^${escapeRegExp(title)}$`, 'i') }),
    });
  }

  /** Titles of the views in the open side-bar container, top to bottom. */
  async viewTitles(): Promise<string[]> {
    return this.page.locator('.part.sidebar .pane-header h3.title').allInnerTexts();
  }

  /** Expands a collapsed view pane. */
  async expandView(title: string): Promise<void> {
    const header = this.view(title).locator('.pane-header');
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  }

  /** Collapses an expanded view pane (to give the others room). */
  async collapseView(title: string): Promise<void> {
    const header = this.view(title).locator('.pane-header');
    // on the title: the header's middle may hold the view's actions or description
    if ((await header.getAttribute('aria-expanded')) === 'true') await header.locator('h3.title').click();
    await this.view(title).locator('.pane-header[aria-expanded="false"]').waitFor({ timeout: 5000 });
  }

  /** A tree item in a view, matched by its label (string = substring, RegExp = pattern). */
  treeItem(viewTitle: string, label: string | RegExp): Locator {
    return this.view(viewTitle).locator('.monaco-list-row[role="treeitem"]', {
      has: this.page.locator('.label-name', { hasText: label }),
    });
  }

  /** Opens the command palette (F1) and types `query`; returns the palette's input. */
  async openPalette(query = ''): Promise<Locator> {
    await this.page.locator('.monaco-workbench').click({ position: { x: 5, y: 5 }, force: true }).catch(() => undefined);
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${query}`);
    return input;
  }

  /** Labels the command palette lists for `query` (the palette is closed afterwards). */
  async paletteItems(query: string): Promise<string[]> {
    await this.openPalette(query);
    const rows = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    await rows.first().waitFor({ state: 'visible', timeout: 10_000 }).catch(() => undefined);
    await sleep(300); // the list filters asynchronously while typing
    const labels = await rows.locator('.label-name').allInnerTexts();
    return labels.map((l) => l.replace(/\s+/g, ' ').trim());
  }

  /** Closes any quick input / notification focus (Escape). */
  async escape(): Promise<void> {
    await this.page.keyboard.press('Escape');
  }

  /**
   * Runs a command through the palette by its full label ("DataPipeline: Start Stack"),
   * exactly as a user would: F1, type, pick the matching row.
   */
  async runCommand(label: string): Promise<void> {
    await this.openPalette(label);
    const row = this.page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) }) })
      .first();
    await row.waitFor({ state: 'visible', timeout: 10_000 });
    await row.click();
  }

  /** Texts of the notification toasts currently shown. */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
  }

  /**
   * The frame of a webview's content (VS Code nests it: outer iframe.webview > #active-frame).
   * Picks the first webview content frame that contains `containsSelector` / `containsText`
   * (or any webview when neither is given), polling until `timeoutMs`.
   */
  async webviewFrame(match: { containsSelector?: string; containsText?: string; timeoutMs?: number } = {}): Promise<Frame> {
    const deadline = Date.now() + (match.timeoutMs ?? 30_000);
    for (;;) {
      for (const frame of this.page.frames()) {
        if (frame === this.page.mainFrame() || frame.name() !== 'active-frame' && !frame.url().includes('fake.html')) continue;
        try {
          if (match.containsSelector && (await frame.locator(match.containsSelector).count()) === 0) continue;
          if (match.containsText && (await frame.getByText(match.containsText).count()) === 0) continue;
          return frame;
        } catch {
          // frame navigated or detached while looking; try the next one
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`No webview frame matching ${JSON.stringify(match)} within ${match.timeoutMs ?? 30_000} ms`);
      }
      await sleep(250); // poll interval of a bounded wait for the frame
    }
  }

  /** Saves a screenshot of the whole page to test-results/<name>.png and returns its path. */
  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** The extension-host log (activation lines, our extension's console output). */
  exthostLog(): string {
    return readExthostLog(this.profile.userDataDir);
  }

  /** Closes the browser, stops code-server (and its children) and removes the temp dir. */
  async close(): Promise<void> {
    openSessions.delete(this);
    await this.browser.close().catch(() => undefined);
    await this.server.stop();
    if (!this.keep) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Sessions not closed yet: a failed test's screen is kept from each (below). */
const openSessions = new Set<VsCodeSession>();

// A root hook, registered once when an e2e file first imports this module: when a test fails, the
// screen of every open session goes to test-results/FAILED-<test>-<n>.png, so a CI failure shows
// what was on screen (a dialog, a notification, a webview that never loaded).
if (typeof afterEach === 'function') {
  afterEach(async function () {
    const t = this.currentTest;
    if (t?.state !== 'failed') return;
    let n = 0;
    for (const s of openSessions) {
      const file = await s.screenshot(`FAILED-${t.fullTitle().slice(0, 120)}-${++n}`).catch(() => undefined);
      if (file) console.log(`      screenshot of the failure: ${path.relative(repoRoot, file)}`);
    }
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function cssString(s: string): string {
  return s.replace(/["\\]/g, '\\$&');
}
