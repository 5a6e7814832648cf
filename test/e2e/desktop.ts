// `npm run test:desktop`: the same extension-host suite as `npm run test:e2e`, in
// desktop VS Code through @vscode/test-electron. It downloads VS Code from
// update.code.visualstudio.com, so it needs a machine with internet access (the
// npm-registry-only machines here use code-server instead). Linux without a display
// needs xvfb-run. The extension under test is this folder (dist/ from `npm run build`).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';
import { buildHostSuite, hostSuiteEntry } from './helpers/hostSuite';

const repoRoot = join(__dirname, '..', '..');

async function main(): Promise<void> {
  const build = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs')], { cwd: repoRoot, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  await buildHostSuite();
  await runTests({
    version: '1.100.3',
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: hostSuiteEntry,
    launchArgs: ['--disable-extensions', '--disable-workspace-trust', join(repoRoot, 'test', 'e2e')],
  });
}

main().catch((error: unknown) => {
  console.error(`desktop extension tests failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
