// One real VS Code session for an end-to-end test: a fresh code-server profile with
// the packaged .vsix installed, a workspace folder, and Debian's Chromium showing
// the workbench. Everything lives in one temporary folder removed by close().
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../../scripts/lib/chromium';
import {
  type CodeServerProfile,
  codeServerProfile,
  ensureCodeServer,
  installExtension,
  type RunningCodeServer,
  startCodeServer,
  workbenchUrl,
} from '../../../scripts/lib/codeServer';

export const repoRoot = join(__dirname, '..', '..', '..');
export const vsixPath = join(repoRoot, 'out', 'sidestream.vsix');
export const resultsDir = join(repoRoot, 'test-results');

export interface WorkbenchOptions {
  /** Names the temporary folder and the log, e.g. "host-suite". */
  name: string;
  /** extensionDevelopmentPath / extensionTestsPath and the like, as absolute paths on this machine. */
  payload?: (session: { extensionDir: string }) => Record<string, string>;
  /** Extra environment for code-server and so for the extension host and the sidecar. */
  env?: NodeJS.ProcessEnv;
  /** User settings written before VS Code starts. */
  settings?: Record<string, unknown>;
  /** Files to create in the workspace folder, relative path → contents. */
  files?: Record<string, string>;
  /** Runs after the page exists and before the workbench loads (e.g. page.exposeFunction). */
  beforeLoad?: (page: Page) => Promise<void>;
  /** Wait for the workbench to render before returning; default true. */
  waitForWorkbench?: boolean;
}

export interface WorkbenchSession {
  page: Page;
  browser: Browser;
  codeServer: RunningCodeServer;
  profile: CodeServerProfile;
  /** The workspace folder VS Code opened. */
  workspace: string;
  /** SIDESTREAM_RUNTIME_DIR of this session: where the discovery file goes. */
  runtimeDir: string;
  /** The folder the .vsix was installed into. */
  extensionDir: string;
  close(): Promise<void>;
}

const baseSettings = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'security.workspace.trust.enabled': false,
  'update.mode': 'none',
  'window.commandCenter': false,
  'git.openRepositoryInParentFolders': 'never',
};

function installedExtensionDir(profile: CodeServerProfile): string {
  const name = readdirSync(profile.extensionsDir).find((entry) => /^sidestream\.sidestream-/.test(entry));
  if (!name) throw new Error(`the .vsix did not install into ${profile.extensionsDir}`);
  return join(profile.extensionsDir, name);
}

export async function openWorkbench(options: WorkbenchOptions): Promise<WorkbenchSession> {
  if (!existsSync(vsixPath)) throw new Error(`${vsixPath} is missing: run \`npm run package\` first`);
  const bin = ensureCodeServer();
  const root = mkdtempSync(join(tmpdir(), `sidestream-e2e-${options.name}-`));
  const profile = codeServerProfile(join(root, 'code-server'));
  installExtension(bin, profile, vsixPath);
  const extensionDir = installedExtensionDir(profile);

  const settingsDir = join(profile.userDataDir, 'User');
  mkdirSync(settingsDir, { recursive: true });
  writeFileSync(join(settingsDir, 'settings.json'), JSON.stringify({ ...baseSettings, ...options.settings }, null, 2));

  const workspace = join(root, 'workspace');
  mkdirSync(workspace, { recursive: true });
  for (const [relative, contents] of Object.entries(options.files ?? { 'README.md': '# Sidestream end-to-end workspace\n' })) {
    mkdirSync(join(workspace, relative, '..'), { recursive: true });
    writeFileSync(join(workspace, relative), contents);
  }
  const runtimeDir = join(root, 'run');
  mkdirSync(resultsDir, { recursive: true });

  const logLines: string[] = [];
  const codeServer = await startCodeServer(bin, profile, {
    env: { ...process.env, SIDESTREAM_RUNTIME_DIR: runtimeDir, ...options.env },
    onLine: (line) => logLines.push(line),
  });
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    await codeServer.stop();
    writeFileSync(join(resultsDir, `${options.name}.code-server.log`), `${logLines.join('\n')}\n`);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await options.beforeLoad?.(page);
    await page.goto(workbenchUrl(codeServer.url, { folder: workspace, payload: options.payload?.({ extensionDir }) ?? {} }));
    if (options.waitForWorkbench !== false) await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    return { page, browser, codeServer, profile, workspace, runtimeDir, extensionDir, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Runs a command from the command palette as a person would: F1, type its title, Enter. */
export async function runCommandFromPalette(page: Page, title: string, timeoutMs = 60_000): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  const deadline = Date.now() + timeoutMs;
  // Right after the workbench renders, extension contributions may not be registered
  // yet: the palette then finds nothing, so close it and ask again.
  for (;;) {
    // Keys typed while a webview has the focus stay in the webview: give it back to the workbench.
    await page.locator('.part.titlebar .window-title').first().click({ timeout: 2000 }).catch(() => undefined);
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`>${title}`);
    try {
      await row.waitFor({ state: 'visible', timeout: 3000 });
      break;
    } catch (error) {
      await page.keyboard.press('Escape');
      if (Date.now() > deadline) throw error;
    }
  }
  await page.keyboard.press('Enter');
}

/** The text of the first notification toast that matches `pattern`, waiting up to `timeoutMs`. */
export async function waitForNotification(page: Page, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const toast = page.locator('.notification-toast', { hasText: pattern }).first();
  await toast.waitFor({ state: 'visible', timeout: timeoutMs });
  return (await toast.innerText()).trim();
}

export function screenshotPath(name: string): string {
  mkdirSync(resultsDir, { recursive: true });
  return join(resultsDir, `${name}.png`);
}
