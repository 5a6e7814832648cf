// The stream panel's figures in real VS Code (code-server) and Chromium: frames painted
// against frames produced for a 720p30 test source over 30 s, capture → paint latency,
// and the extension host's CPU while four streams are previewed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { openTestPattern, panelFrame, waitForBadges } from '../../test/e2e/helpers/panel';
import { openWorkbench, repoRoot, vsixPath } from '../../test/e2e/helpers/workbench';
import type { BenchSuite } from '../run';
import { percentile, round } from '../stats';

interface TileDiagnostics {
  streamId: string;
  painted: number;
  lastSequence: number;
  latencies: number[];
}

const diagnostics = (page: Page): Promise<TileDiagnostics[]> =>
  panelFrame(page).locator('body').evaluate(() => (globalThis as unknown as { sidestreamPanelDiagnostics(): TileDiagnostics[] }).sidestreamPanelDiagnostics());

/** Opens one more test pattern and waits until the panel shows `tiles` live tiles. */
async function openOneMore(page: Page, tiles: number): Promise<void> {
  await openTestPattern(page);
  await waitForBadges(panelFrame(page), tiles, 'live', 60_000);
}

/** CPU seconds (user + system) of a process. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const previewSuite: BenchSuite = {
  name: 'preview',
  description: 'stream panel in code-server + Chromium: painted/produced fps, capture → paint latency, extension host CPU with 4 streams',
  async run() {
    if (!existsSync(vsixPath)) {
      const run = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'package.mjs')], { cwd: repoRoot, stdio: 'inherit' });
      if (run.status !== 0) throw new Error('npm run package failed');
    }
    const session = await openWorkbench({ name: 'bench-preview' });
    try {
      const { page } = session;
      await openOneMore(page, 1);
      await page.waitForTimeout(3000);
      const seconds = 30;
      const [start] = await diagnostics(page);
      await page.waitForTimeout(seconds * 1000);
      const [end] = await diagnostics(page);
      const painted = end!.painted - start!.painted;
      const produced = end!.lastSequence - start!.lastSequence;
      const latencies = end!.latencies.slice(-painted);

      for (let tiles = 2; tiles <= 4; tiles++) await openOneMore(page, tiles);
      await page.waitForTimeout(3000);
      const discovery = readdirSync(session.runtimeDir).find((name) => /^sidecar-\d+\.json$/.test(name))!;
      const { pid: sidecarPid } = JSON.parse(readFileSync(join(session.runtimeDir, discovery), 'utf8')) as { pid: number };
      const extensionHostPid = Number(readFileSync(`/proc/${sidecarPid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      const cpuWindow = 20;
      const cpuBefore = cpuSeconds(extensionHostPid);
      const fourBefore = await diagnostics(page);
      await page.waitForTimeout(cpuWindow * 1000);
      const cpu = cpuSeconds(extensionHostPid) - cpuBefore;
      const fourAfter = await diagnostics(page);
      const fourPainted = fourAfter.reduce((sum, tile, i) => sum + tile.painted - (fourBefore[i]?.painted ?? 0), 0);

      // The baseline in the same run: the same four streams with the panel hidden behind an
      // editor (it then takes no frames), i.e. what the extension host costs without previews.
      await page.keyboard.press('Control+P');
      await page.locator('.quick-input-widget input.input').fill('README.md');
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'README.md' }).first().waitFor({ timeout: 20_000 });
      await page.keyboard.press('Enter');
      await page.locator('.tabs-container .tab.active', { hasText: 'README.md' }).waitFor({ timeout: 20_000 });
      await page.waitForTimeout(3000);
      const hiddenBefore = cpuSeconds(extensionHostPid);
      await page.waitForTimeout(cpuWindow * 1000);
      const hiddenCpu = cpuSeconds(extensionHostPid) - hiddenBefore;
      return {
        preview_fps_ratio: round(painted / produced, 3),
        painted_fps: round(painted / seconds),
        produced_fps: round(produced / seconds),
        preview_latency_p50_ms: round(percentile(latencies, 50)),
        preview_latency_p99_ms: round(percentile(latencies, 99)),
        extension_host_cpu_pct: round((cpu / cpuWindow) * 100),
        extension_host_cpu_pct_panel_hidden: round((hiddenCpu / cpuWindow) * 100),
        four_streams_painted_fps: round(fourPainted / cpuWindow),
        samples: { source: 'test:video 1280x720@30 with a tone, JPEG sized to the tile', window_seconds: seconds, cpu_window_seconds: cpuWindow, painted },
        targets: { preview_fps_ratio: '>= 0.95', preview_latency_p50_ms: '<= 80', preview_latency_p99_ms: '<= 150', extension_host_cpu_pct: '<= 15' },
      };
    } finally {
      await session.close();
    }
  },
};
