// A person runs "Sidestream: Show Sidecar Info" from the command palette of real
// VS Code (code-server + Chromium) and reads the answer; the status bar says ready.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openWorkbench, runCommandFromPalette, screenshotPath, waitForNotification, type WorkbenchSession } from '../helpers/workbench';

const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };

let session: WorkbenchSession;

before(async () => {
  session = await openWorkbench({ name: 'ui-sidecar-info' });
});

after(async () => {
  await session?.close();
});

test('the command palette runs "Sidestream: Show Sidecar Info" and the notification names the running sidecar', async () => {
  const { page } = session;
  await runCommandFromPalette(page, 'Sidestream: Show Sidecar Info');
  const text = await waitForNotification(page, /Sidestream sidecar/, 60_000);
  await page.screenshot({ path: screenshotPath('sidecar-info') });

  const match = new RegExp(`Sidestream sidecar ${version.replace(/\./g, '\\.')} — pid (\\d+), 127\\.0\\.0\\.1:(\\d+), ffmpeg (\\S+)`).exec(text);
  assert.ok(match, `unexpected notification: ${text}`);
  // The pid shown is the sidecar this window's discovery file names: the text comes from the live process.
  const discovery = readdirSync(session.runtimeDir).find((name) => /^sidecar-\d+\.json$/.test(name));
  assert.ok(discovery, `no discovery file in ${session.runtimeDir}`);
  const record = JSON.parse(readFileSync(join(session.runtimeDir, discovery), 'utf8')) as { pid: number; address: string };
  assert.equal(Number(match[1]), record.pid);
  assert.equal(`127.0.0.1:${match[2]}`, record.address);
  assert.match(text, /Copy Details/);
});

test('the status bar item says the sidecar is ready', async () => {
  const item = session.page.locator('.statusbar-item', { hasText: 'Sidestream: ready' });
  await item.waitFor({ state: 'visible', timeout: 30_000 });
  assert.match(await item.innerText(), /Sidestream: ready/);
});
