// The stream panel as a person uses it, in real VS Code (code-server) and Chromium:
// open a test pattern from the command palette and watch it move, open four streams
// into a 2×2 grid, record and open the recording, follow a switch to a dark theme,
// and ride out a killed sidecar. Screenshots go to test-results/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { openTestPattern, panelFrame, waitForBadges } from '../helpers/panel';
import { openWorkbench, runCommandFromPalette, screenshotPath, type WorkbenchSession } from '../helpers/workbench';

let session: WorkbenchSession;

before(async () => {
  session = await openWorkbench({ name: 'ui-stream-panel', settings: { 'workbench.colorTheme': 'Default Light Modern' } });
});

after(async () => {
  await session?.close();
});

/** Distinct colours (quantised) in the tile's canvas and a fingerprint of its pixels. */
async function sampleCanvas(frame: FrameLocator, index: number): Promise<{ colours: number; width: number; fingerprint: number }> {
  return frame.locator('.tile canvas.picture').nth(index).evaluate((canvas: HTMLCanvasElement) => {
    const context = canvas.getContext('2d')!;
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const colours = new Set<number>();
    let fingerprint = 0;
    for (let i = 0; i < data.length; i += 4 * 97) {
      colours.add(((data[i]! >> 5) << 6) | ((data[i + 1]! >> 5) << 3) | (data[i + 2]! >> 5));
      fingerprint = (fingerprint * 31 + data[i]! + data[i + 1]! * 3 + data[i + 2]! * 7) % 1_000_000_007;
    }
    return { colours: colours.size, width: canvas.width, fingerprint };
  });
}

describe('stream panel', () => {
  test('a test pattern opened from the command palette shows its colours in the tile and moves', async () => {
    const { page } = session;
    await openTestPattern(page);
    const frame = panelFrame(page);
    await frame.locator('.tile').first().waitFor({ timeout: 60_000 });
    await waitForBadges(frame, 1, 'live', 60_000);
    await page.waitForTimeout(1000);
    await page.screenshot({ path: screenshotPath('stream-panel-first') });
    const first = await sampleCanvas(frame, 0);
    await page.waitForTimeout(700);
    const second = await sampleCanvas(frame, 0);
    assert.ok(first.width >= 160, `the tile shows a picture (width ${first.width})`);
    assert.ok(first.colours >= 8, `testsrc2's colours are there: ${first.colours} distinct`);
    assert.notEqual(first.fingerprint, second.fingerprint, 'the picture changes over time');
    const overlay = await frame.locator('.tile .overlay').first().innerText();
    assert.match(overlay, /1280×720/);
    assert.match(overlay, /fps in/);
    assert.match(overlay, /latency \d+ \/ \d+ ms/);
    await page.screenshot({ path: screenshotPath('stream-panel-light') });
  });

  test('four streams make a 2×2 grid of four live tiles, with analytics plots', async () => {
    const { page } = session;
    for (let i = 0; i < 3; i++) await openTestPattern(page);
    const frame = panelFrame(page);
    await waitForBadges(frame, 4, 'live', 90_000);
    assert.equal(await frame.locator('#grid').getAttribute('data-layout'), '2x2');
    assert.equal(await frame.locator('.analytics .plot').count(), 4);
    await page.waitForTimeout(2500); // a few seconds of analytics in the plots
    for (let i = 0; i < 4; i++) assert.ok((await sampleCanvas(frame, i)).colours >= 8, `tile ${i} shows the pattern`);
    await page.screenshot({ path: screenshotPath('stream-panel-2x2') });
  });

  test('Snapshot on a tile writes the picture as a PNG into the workspace', async () => {
    const { page, workspace } = session;
    const frame = panelFrame(page);
    await frame.locator('.tile').nth(1).getByRole('button', { name: /^Save a PNG snapshot/ }).click();
    // The notification comes once the file is written: a file that merely exists may still be empty.
    await page.locator('.notification-toast', { hasText: /Snapshot saved/ }).first().waitFor({ timeout: 20_000 });
    const folder = join(workspace, 'snapshots');
    const png = existsSync(folder) ? readdirSync(folder).find((name) => name.endsWith('.png')) : undefined;
    assert.ok(png, `a PNG in ${folder}`);
    const bytes = readFileSync(join(folder, png));
    assert.equal(bytes.subarray(1, 4).toString('latin1'), 'PNG');
    const width = bytes.readUInt32BE(16);
    assert.ok(width >= 160, `the tile's picture, ${width} px wide`);
  });

  test('record, wait, stop: a playable file appears in the workspace and its link opens it', async () => {
    const { page, workspace } = session;
    const frame = panelFrame(page);
    const tile = frame.locator('.tile').first();
    await tile.getByRole('button', { name: /^Record / }).click();
    await tile.locator('.record-state', { hasText: /● \d+:\d\d/ }).waitFor({ timeout: 20_000 });
    await page.waitForTimeout(2500);
    await tile.getByRole('button', { name: /^Stop recording/ }).click();
    const link = tile.locator('.recording-link');
    await link.waitFor({ timeout: 30_000 });
    const folder = join(workspace, 'recordings');
    const files = readdirSync(folder).filter((name) => name.endsWith('.mp4'));
    assert.equal(files.length, 1, `one recording in ${folder}: ${files.join(', ')}`);
    const file = join(folder, files[0]!);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', file], { encoding: 'utf8' });
    assert.equal(probe.status, 0, probe.stderr);
    const probed = JSON.parse(probe.stdout) as { format: { duration: string }; streams: Array<{ codec_name: string }> };
    assert.ok(Number(probed.format.duration) > 1.5, `duration ${probed.format.duration}`);
    assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    assert.ok(existsSync(file.replace(/\.mp4$/, '.json')), 'the JSON file beside it');
    assert.equal(JSON.parse(readFileSync(file.replace(/\.mp4$/, '.json'), 'utf8')).state, 'stopped');
    assert.equal(await link.innerText(), files[0]);
    await link.click();
    await page.locator('.tabs-container .tab', { hasText: files[0]! }).waitFor({ timeout: 20_000 });
  });

  test('switching to a dark theme: the panel follows', async () => {
    const { page } = session;
    const frame = panelFrame(page);
    const background = () => frame.locator('body').evaluate((body) => getComputedStyle(body).backgroundColor);
    // Back to the panel (the recording opened in a tab beside it).
    await runCommandFromPalette(page, 'Sidestream: Show Stream Panel');
    await page.locator('iframe.webview.ready[src*="extensionId=sidestream.sidestream"]').waitFor({ state: 'visible', timeout: 30_000 });
    await frame.locator('.tile').first().waitFor({ timeout: 30_000 });
    // Hidden, the panel got no frames; shown again, its tiles paint again.
    await waitForBadges(frame, 4, 'live', 30_000);
    const shown = await sampleCanvas(frame, 0);
    await page.waitForTimeout(700);
    assert.notEqual((await sampleCanvas(frame, 0)).fingerprint, shown.fingerprint, 'the panel paints again after it was hidden');
    const light = await background();
    await runCommandFromPalette(page, 'Preferences: Toggle Between Light/Dark Themes');
    const deadline = Date.now() + 20_000;
    let dark = light;
    while (dark === light && Date.now() < deadline) {
      await page.waitForTimeout(250);
      dark = await background();
    }
    assert.notEqual(dark, light, `the panel's background changed from ${light}`);
    const luminance = (rgb: string) => (rgb.match(/\d+/g) ?? []).slice(0, 3).map(Number).reduce((sum, v) => sum + v, 0);
    assert.ok(luminance(dark) < luminance(light), `darker: ${light} → ${dark}`);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: screenshotPath('stream-panel-dark') });
  });

  test('the sidecar is killed: tiles show "reconnecting" and come back live', async () => {
    const { page, runtimeDir } = session;
    const frame = panelFrame(page);
    const discovery = readdirSync(runtimeDir).find((name) => /^sidecar-\d+\.json$/.test(name))!;
    const { pid } = JSON.parse(readFileSync(join(runtimeDir, discovery), 'utf8')) as { pid: number };
    process.kill(pid, 'SIGKILL');
    await frame.locator('.tile .badge', { hasText: 'reconnecting' }).first().waitFor({ timeout: 20_000 });
    await waitForBadges(frame, 4, 'live', 90_000);
    const { pid: newPid } = JSON.parse(readFileSync(join(runtimeDir, readdirSync(runtimeDir).find((name) => /^sidecar-\d+\.json$/.test(name))!), 'utf8')) as { pid: number };
    assert.notEqual(newPid, pid, 'a new sidecar');
    const before = await sampleCanvas(frame, 0);
    await page.waitForTimeout(700);
    assert.notEqual((await sampleCanvas(frame, 0)).fingerprint, before.fingerprint, 'frames flow again');
  });

  test('after the window reloads, the panel comes back with its streams live', async () => {
    const { page } = session;
    await page.reload();
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    const frame = panelFrame(page);
    await page.locator('iframe.webview.ready[src*="extensionId=sidestream.sidestream"]').waitFor({ state: 'visible', timeout: 60_000 });
    await waitForBadges(frame, 4, 'live', 90_000);
    const before = await sampleCanvas(frame, 3);
    await page.waitForTimeout(700);
    assert.notEqual((await sampleCanvas(frame, 3)).fingerprint, before.fingerprint, 'the restored tiles paint');
    await page.screenshot({ path: screenshotPath('stream-panel-restored') });
  });
});
