// Builds the extension-host mocha suite (test/e2e/suite) into out/e2e, where both
// code-server (test/e2e/run.ts) and desktop VS Code (test/e2e/desktop.ts) load it.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

const repoRoot = join(__dirname, '..', '..', '..');
const suiteDir = join(repoRoot, 'test', 'e2e', 'suite');
export const hostSuiteOutDir = join(repoRoot, 'out', 'e2e');
/** The module VS Code's extensionTestsPath points at: it exports run(). */
export const hostSuiteEntry = join(hostSuiteOutDir, 'index.js');

export async function buildHostSuite(): Promise<void> {
  rmSync(hostSuiteOutDir, { recursive: true, force: true });
  await esbuild.build({
    absWorkingDir: repoRoot,
    entryPoints: readdirSync(suiteDir)
      .filter((name) => name === 'index.ts' || name.endsWith('.test.ts'))
      .map((name) => join(suiteDir, name)),
    outdir: hostSuiteOutDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    // mocha is loaded from this repository's node_modules at run time; vscode is the host's.
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
}
