// The stream panel as a person drives it, for the UI scenarios and the preview benchmark.
import type { FrameLocator, Page } from 'playwright-core';
import { runCommandFromPalette } from './workbench';

/** The panel's document: the inner frame of Sidestream's webview (other webviews may be open). */
export const panelFrame = (page: Page): FrameLocator =>
  page.frameLocator('iframe.webview.ready[src*="extensionId=sidestream.sidestream"]').frameLocator('iframe#active-frame');

/** "Sidestream: Open Stream…" → "Test Pattern", from the command palette. */
export async function openTestPattern(page: Page): Promise<void> {
  await runCommandFromPalette(page, 'Sidestream: Open Stream…');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 20_000 });
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Test Pattern' }).first().waitFor({ timeout: 20_000 });
  await input.fill('Test Pattern');
  await page.keyboard.press('Enter');
}

/** Waits until the panel has `count` tiles, all in `state` (their badges say so). */
export async function waitForBadges(frame: FrameLocator, count: number, state: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await frame.locator('.tile .badge').allInnerTexts().catch(() => [] as string[]);
    if (states.length === count && states.every((s) => s === state)) return;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${count} tiles ${state}; they are: ${states.join(', ') || 'none'}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
