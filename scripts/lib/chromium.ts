// Debian's Chromium driven by playwright-core: the browser for code-server in the
// end-to-end tests and the preview benchmark. (`npx playwright install` downloads a
// browser from outside the npm registry, which these machines cannot reach.)
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { ensureDebianPackages } from './debian';

export const chromiumFlags = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIDESTREAM_CHROMIUM) return env.SIDESTREAM_CHROMIUM;
  const path = '/usr/bin/chromium';
  if (!existsSync(path)) ensureDebianPackages(['chromium'], 'the end-to-end tests (a real browser for code-server)');
  return path;
}

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: [...chromiumFlags, ...extraArgs] });
}
