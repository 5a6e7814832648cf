// `npm run test:e2e`: the end-to-end layer in real VS Code (code-server 4.100.3) and
// Debian's Chromium, with the packaged .vsix.
//   1. the extension-host mocha suite (test/e2e/suite), loaded through the workbench
//      URL's extensionTestsPath, with the real `vscode` API;
//   2. the UI scenarios (test/e2e/ui/*.test.ts, node's test runner + playwright-core):
//      what a person does with the command palette, views and panels.
// Ends with one line a runner can read: `e2e: N passed, N failed`.
// `--suite-only` / `--ui-only` run one half; `--grep TEXT` filters the mocha suite;
// `--ui-file TEXT` runs only the UI scenario files whose names contain TEXT.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { format, parseArgs } from 'node:util';
import { buildHostSuite, hostSuiteEntry } from './helpers/hostSuite';
import { openWorkbench, repoRoot, resultsDir, screenshotPath, vsixPath } from './helpers/workbench';

const hostSuiteTimeoutMs = 10 * 60_000;

interface Counts {
  passed: number;
  failed: number;
}

function ensurePackaged(): void {
  if (existsSync(vsixPath)) return;
  console.log('out/sidestream.vsix is missing; packaging');
  const run = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'package.mjs')], { cwd: repoRoot, stdio: 'inherit' });
  if (run.status !== 0) throw new Error('npm run package failed');
}

async function runHostSuite(grep: string | undefined): Promise<Counts> {
  await buildHostSuite();
  const resultsFile = join(resultsDir, 'extension-host-suite.json');
  rmSync(resultsFile, { force: true });
  let reportExit!: (code: number) => void;
  const exitCode = new Promise<number>((resolve) => (reportExit = resolve));
  console.log('extension-host suite: starting code-server and Chromium');
  const session = await openWorkbench({
    name: 'extension-host-suite',
    env: { SIDESTREAM_E2E_RESULTS: resultsFile, ...(grep ? { SIDESTREAM_E2E_GREP: grep } : {}) },
    payload: ({ extensionDir }) => ({
      // The installed .vsix's own folder: the suite tests exactly what was packaged.
      extensionDevelopmentPath: extensionDir,
      extensionTestsPath: hostSuiteEntry,
    }),
    beforeLoad: async (page) => {
      await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
        // The extension host's console calls arrive as they were made: printf-style format plus values.
        const text = format(...(args as [unknown, ...unknown[]]));
        if (type === 'error') console.error(text);
        else console.log(text);
      });
      await page.exposeFunction('codeAutomationExit', (code: number) => reportExit(code));
    },
    waitForWorkbench: false,
  });
  let timer: NodeJS.Timeout | undefined;
  let code: number;
  try {
    code = await Promise.race([
      exitCode,
      new Promise<number>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the extension-host suite did not finish within ${hostSuiteTimeoutMs / 60_000} minutes`)), hostSuiteTimeoutMs);
      }),
    ]);
    await session.page.screenshot({ path: screenshotPath('extension-host-suite') }).catch(() => undefined);
  } finally {
    clearTimeout(timer);
    await session.close();
  }
  if (!existsSync(resultsFile)) {
    console.error(`extension-host suite: exit code ${code} and no results file; see test-results/extension-host-suite.code-server.log`);
    return { passed: 0, failed: 1 };
  }
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as Counts & { tests: { title: string; state: string; error?: string }[] };
  for (const test of results.tests) {
    console.log(`  ${test.state === 'passed' ? '✔' : '✖'} ${test.title}`);
    if (test.error) console.log(`      ${test.error.split('\n').join('\n      ')}`);
  }
  const failed = results.failed + (code !== 0 && results.failed === 0 ? 1 : 0);
  console.log(`extension-host suite: exit code ${code}, ${results.passed} passing, ${failed} failing`);
  return { passed: results.passed, failed };
}

function runUiScenarios(fileFilter: string | undefined): Promise<Counts> {
  const uiDir = join(repoRoot, 'test', 'e2e', 'ui');
  const files = readdirSync(uiDir)
    .filter((name) => name.endsWith('.test.ts') && (!fileFilter || name.includes(fileFilter)))
    .map((name) => join(uiDir, name));
  if (files.length === 0) throw new Error(`no UI scenario file in ${uiDir} matches --ui-file ${fileFilter}`);
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const counts: Counts = { passed: 0, failed: 0 };
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      output += chunk.toString('utf8');
    });
    child.on('close', (code) => {
      for (const match of output.matchAll(/^ℹ (pass|fail) (\d+)\s*$/gm)) {
        if (match[1] === 'pass') counts.passed += Number(match[2]);
        else counts.failed += Number(match[2]);
      }
      if (code !== 0 && counts.failed === 0) counts.failed = 1;
      resolve(counts);
    });
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'suite-only': { type: 'boolean', default: false },
      'ui-only': { type: 'boolean', default: false },
      grep: { type: 'string' },
      'ui-file': { type: 'string' },
    },
  });
  ensurePackaged();
  const total: Counts = { passed: 0, failed: 0 };
  const add = (counts: Counts) => {
    total.passed += counts.passed;
    total.failed += counts.failed;
  };
  if (!values['ui-only']) add(await runHostSuite(values.grep));
  if (!values['suite-only']) add(await runUiScenarios(values['ui-file']));
  console.log(`e2e: ${total.passed} passed, ${total.failed} failed`);
  return total.failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    console.log('e2e: 0 passed, 1 failed');
    process.exit(1);
  },
);
