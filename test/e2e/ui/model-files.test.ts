// The Model Files view as a person uses it, in real VS Code (code-server) and Chromium,
// against a real model store (serve-store, rate-limited so the fetch takes seconds):
// open the Explorer, expand the store and a folder, right-click a file → Fetch, watch
// the progress notification, see the file become cached (and check its bytes in the
// cache folder set by the setting), then Evict it. Screenshots go to test-results/.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { type DemoStoreFile, type RunningDemoStore, startDemoStore, writeDemoStoreFiles } from '../../../scripts/lib/demoStore';
import { openWorkbench, repoRoot, runCommandFromPalette, screenshotPath, waitForNotification, type WorkbenchSession } from '../helpers/workbench';

const detectorBytes = 40 * 1024 * 1024;
let session: WorkbenchSession;
let store: RunningDemoStore;
let scratch: string;
let cacheDir: string;
let detector: DemoStoreFile;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'sidestream-e2e-model-files-'));
  const storeDir = join(scratch, 'store');
  cacheDir = join(scratch, 'cache');
  detector = writeDemoStoreFiles(storeDir, detectorBytes).find((file) => file.path === 'yolo/tiny-detector.onnx')!;
  // 8 MB/s per range stream and two streams: the 40 MiB fetch takes about 3 s.
  store = await startDemoStore(join(repoRoot, 'dist', 'sidecar.js'), storeDir, { rateLimit: '8M' });
  session = await openWorkbench({
    name: 'ui-model-files',
    // The cache folder is a machine setting: user settings. The store is the workspace's.
    settings: { 'sidestream.modelCache.folder': cacheDir, 'sidestream.modelFetch.concurrency': 2, 'sidestream.modelFetch.chunkSize': '4MiB' },
    files: {
      'README.md': '# Model files end-to-end workspace\n',
      '.vscode/settings.json': JSON.stringify({ 'sidestream.modelStores': [{ name: 'e2e', address: store.address }] }, null, 2),
    },
  });
});

after(async () => {
  await session?.close();
  await store?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// A failed step leaves a picture of the workbench behind.
let step = 0;
afterEach(async () => {
  step++;
  await session?.page.screenshot({ path: screenshotPath(`model-files-after-step-${step}`) }).catch(() => undefined);
});

/** The Model Files section of the Explorer, expanded. */
async function modelFilesView(page: Page): Promise<Locator> {
  await page.keyboard.press('Control+Shift+E');
  const header = page.locator('.pane-header', { hasText: 'Model Files' });
  await header.waitFor({ state: 'visible', timeout: 60_000 });
  if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
  // Room for the tree in the screenshots: fold the workspace folder's own section.
  const folders = page.locator('.pane-header', { hasText: 'workspace' }).first();
  if ((await folders.getAttribute('aria-expanded').catch(() => null)) === 'true') await folders.click();
  return page.locator('.pane', { has: header });
}

/** Earlier toasts out of the way of the next screenshot. */
const clearNotifications = (page: Page) => runCommandFromPalette(page, 'Notifications: Clear All Notifications');

const row = (view: Locator, name: string) => view.locator('.monaco-list-row', { hasText: name }).first();

async function waitForRowText(page: Page, target: Locator, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = (await target.innerText().catch(() => '')).replace(/\s+/g, ' ');
    if (pattern.test(text)) return text;
    await page.waitForTimeout(150);
  }
  throw new Error(`the row did not match ${pattern} within ${timeoutMs} ms; it says "${text}"`);
}

async function contextMenu(page: Page, target: Locator, item: string): Promise<void> {
  await target.click({ button: 'right' });
  const entry = page.getByRole('menuitem', { name: item, exact: true });
  await entry.waitFor({ state: 'visible', timeout: 10_000 });
  // The menu ignores a click that arrives right after it opened; hovering focuses the item and Enter runs it.
  await entry.hover();
  await page.keyboard.press('Enter');
  await entry.waitFor({ state: 'hidden', timeout: 5000 });
  await page.mouse.move(700, 300); // no tooltip over the tree in the screenshots
}

describe('Model Files view', () => {
  test('the Explorer lists the store, its folders and files with size and state', async () => {
    const { page } = session;
    const view = await modelFilesView(page);
    const storeRow = row(view, 'e2e');
    await waitForRowText(page, storeRow, new RegExp(`e2e\\s*${store.address.replace(/\./g, '\\.')}`), 60_000);
    await storeRow.click();
    await row(view, 'yolo').waitFor({ timeout: 30_000 });
    await waitForRowText(page, row(view, 'labels'), /labels/, 10_000);
    await waitForRowText(page, row(view, 'README.md'), /README\.md.*B · remote/, 10_000);
    await row(view, 'yolo').click();
    const text = await waitForRowText(page, row(view, 'tiny-detector.onnx'), /tiny-detector\.onnx\s*40 MiB · remote/, 30_000);
    assert.match(text, /remote/);
    await page.screenshot({ path: screenshotPath('model-files-tree') });
  });

  test('right-click → Fetch: a progress notification, then the file is cached with the right sha256', async () => {
    const { page } = session;
    await clearNotifications(page);
    const view = await modelFilesView(page);
    const file = row(view, 'tiny-detector.onnx');
    await contextMenu(page, file, 'Fetch');
    const progress = await waitForNotification(page, /Fetching e2e: yolo\/tiny-detector\.onnx/, 15_000);
    assert.match(progress, /Fetching e2e: yolo\/tiny-detector\.onnx/);
    const downloading = await waitForRowText(page, file, /downloading \d+ %|verifying|starting/, 15_000);
    await page.screenshot({ path: screenshotPath('model-files-progress') });
    assert.match(downloading, /40 MiB · (downloading \d+ %|verifying|starting)/);

    await waitForRowText(page, file, /40 MiB · cached/, 60_000);
    await waitForNotification(page, /tiny-detector\.onnx fetched and verified \(sha256\)/, 10_000);
    await page.screenshot({ path: screenshotPath('model-files-cached') });

    const blob = join(cacheDir, 'v1', 'blobs', detector.sha256.slice(0, 2), detector.sha256);
    assert.ok(existsSync(blob), `the blob ${blob} is in the cache folder set by sidestream.modelCache.folder`);
    assert.equal(createHash('sha256').update(readFileSync(blob)).digest('hex'), detector.sha256);
  });

  test('"Sidestream: Show Cache Usage" names the cache folder and its one file', async () => {
    const { page } = session;
    await runCommandFromPalette(page, 'Sidestream: Show Cache Usage');
    const text = await waitForNotification(page, /Model cache/, 20_000);
    assert.ok(text.includes(cacheDir), `the notification names ${cacheDir}: ${text}`);
    assert.match(text, /1 file, 40 MiB/);
    await page.screenshot({ path: screenshotPath('model-files-cache-usage') });
  });

  test('right-click → Evict from Cache: the file is remote again and its blob is gone', async () => {
    const { page } = session;
    await clearNotifications(page);
    const view = await modelFilesView(page);
    const file = row(view, 'tiny-detector.onnx');
    await contextMenu(page, file, 'Evict from Cache');
    await waitForRowText(page, file, /40 MiB · remote/, 20_000);
    await page.screenshot({ path: screenshotPath('model-files-evicted') });
    const blob = join(cacheDir, 'v1', 'blobs', detector.sha256.slice(0, 2), detector.sha256);
    assert.equal(existsSync(blob), false, `${blob} was deleted`);
  });

  test('Cancel in the progress notification keeps the partial file; the next Fetch resumes and completes it', async () => {
    const { page } = session;
    await clearNotifications(page);
    const view = await modelFilesView(page);
    const file = row(view, 'tiny-detector.onnx');
    await contextMenu(page, file, 'Fetch');
    await waitForRowText(page, file, /downloading ([1-9]\d?) %/, 15_000);
    const toast = page.locator('.notification-toast', { hasText: /Fetching e2e: yolo\/tiny-detector\.onnx/ }).first();
    await toast.getByRole('button', { name: 'Cancel' }).click();
    const cancelled = await waitForNotification(page, /cancelled/, 10_000);
    assert.match(cancelled, /fetch of e2e: yolo\/tiny-detector\.onnx cancelled; the [\d.]+ MiB downloaded are kept for resume/);
    const partial = await waitForRowText(page, file, /40 MiB · partial \d+ %/, 15_000);
    await page.screenshot({ path: screenshotPath('model-files-partial') });
    assert.doesNotMatch(partial, /partial 0 %/);

    await contextMenu(page, file, 'Fetch');
    await waitForRowText(page, file, /40 MiB · cached/, 60_000);
    const blob = join(cacheDir, 'v1', 'blobs', detector.sha256.slice(0, 2), detector.sha256);
    assert.equal(createHash('sha256').update(readFileSync(blob)).digest('hex'), detector.sha256);
  });

  test('"Sidestream: Fetch Model File…" offers every file of the store in a quick pick and fetches the one picked', async () => {
    const { page } = session;
    await clearNotifications(page);
    await runCommandFromPalette(page, 'Sidestream: Fetch Model File…');
    const input = page.locator('.quick-input-widget input.input');
    const item = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'labels/coco.txt' }).first();
    await item.waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('.quick-input-widget .monaco-list-row').count(), 3, 'README.md, labels/coco.txt, yolo/tiny-detector.onnx');
    await input.fill('coco');
    await page.waitForTimeout(200);
    await page.keyboard.press('Enter');
    await waitForNotification(page, /coco\.txt fetched and verified/, 20_000);
    const view = await modelFilesView(page);
    await row(view, 'labels').click();
    await waitForRowText(page, row(view, 'coco.txt'), /coco\.txt\s*\d+ B · cached/, 20_000);
  });

  test('with the store removed from the settings, the view explains how to add one', async () => {
    const { page, workspace } = session;
    await clearNotifications(page);
    writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'sidestream.modelStores': [] }, null, 2));
    const view = await modelFilesView(page);
    const welcome = view.locator('.welcome-view-content');
    await welcome.waitFor({ timeout: 20_000 });
    assert.match(await welcome.innerText(), /No model store is configured/);
    await welcome.getByRole('button', { name: 'Add a Model Store' }).waitFor({ timeout: 5000 });
    await page.screenshot({ path: screenshotPath('model-files-welcome') });
  });
});
