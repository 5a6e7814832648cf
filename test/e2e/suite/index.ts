// The extension-host test suite: mocha inside the real VS Code extension host, with
// the real `vscode` API. The same entry point serves code-server (`npm run test:e2e`,
// via the workbench URL's extensionTestsPath) and desktop VS Code (`npm run
// test:desktop`, via @vscode/test-electron). Besides mocha's own report it writes a
// JSON summary to $SIDESTREAM_E2E_RESULTS, so that a runner never has to scrape logs.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

interface TestOutcome {
  title: string;
  state: 'passed' | 'failed';
  durationMs: number;
  error?: string;
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  const grep = process.env.SIDESTREAM_E2E_GREP;
  if (grep) mocha.grep(grep);
  for (const name of readdirSync(__dirname).filter((file) => file.endsWith('.test.js')).sort()) {
    mocha.addFile(join(__dirname, name));
  }
  const outcomes: TestOutcome[] = [];
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const resultsPath = process.env.SIDESTREAM_E2E_RESULTS;
      if (resultsPath) {
        const passed = outcomes.filter((outcome) => outcome.state === 'passed').length;
        writeFileSync(resultsPath, `${JSON.stringify({ passed, failed: outcomes.length - passed, tests: outcomes }, null, 2)}\n`);
      }
      if (failures > 0) reject(new Error(`${failures} extension-host test(s) failed`));
      else resolve();
    });
    runner.on('pass', (test) => outcomes.push({ title: test.fullTitle(), state: 'passed', durationMs: test.duration ?? 0 }));
    runner.on('fail', (test, error: Error) =>
      outcomes.push({ title: test.fullTitle(), state: 'failed', durationMs: test.duration ?? 0, error: error.stack ?? String(error) }),
    );
  });
}
