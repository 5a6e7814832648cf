// `npm test`: every layer in order — generated code and lint, type check, package
// (production build + .vsix), unit, integration, end to end in code-server.
// Streams each step's output, stops at the first failing step, and ends with one
// line that adds up the tests: `N passed, N failed`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const steps = [
  { name: 'generated code is current', args: ['run', 'gen:check'] },
  { name: 'type check', args: ['run', 'typecheck'] },
  { name: 'package', args: ['run', 'package'] },
  { name: 'unit', args: ['run', 'test:unit'], counts: true },
  { name: 'integration', args: ['run', 'test:integration'], counts: true },
  { name: 'end to end', args: ['run', 'test:e2e'], counts: true },
];

// node's test runner (spec: "ℹ pass 3", tap: "# pass 3") and our e2e runner ("3 passed, 0 failed").
const countPatterns = [
  { pattern: /^(?:ℹ|#) (pass|fail) (\d+)\s*$/, kind: (m) => m[1], value: (m) => Number(m[2]) },
];
const plainPattern = /^(?:\w+: )?(\d+) passed, (\d+) failed/;

function runStep(step) {
  return new Promise((resolve) => {
    const child = spawn(npm, step.args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const counts = { passed: 0, failed: 0 };
    let pending = '';
    const scan = (line) => {
      const plain = plainPattern.exec(line);
      if (plain) {
        counts.passed += Number(plain[1]);
        counts.failed += Number(plain[2]);
        return;
      }
      for (const { pattern, kind, value } of countPatterns) {
        const match = pattern.exec(line);
        if (match) counts[kind(match) === 'pass' ? 'passed' : 'failed'] += value(match);
      }
    };
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop();
      lines.forEach(scan);
    });
    child.on('close', (code, signal) => {
      if (pending) scan(pending);
      resolve({ code: code ?? (signal ? 1 : 0), counts });
    });
  });
}

const total = { passed: 0, failed: 0 };
const began = Date.now();
let failedStep;
for (const step of steps) {
  const stepBegan = Date.now();
  console.log(`\n=== ${step.name} ===`);
  const { code, counts } = await runStep(step);
  if (step.counts) {
    total.passed += counts.passed;
    total.failed += counts.failed;
  }
  console.log(`=== ${step.name}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} in ${((Date.now() - stepBegan) / 1000).toFixed(1)} s ===`);
  if (code !== 0) {
    failedStep = step.name;
    if (step.counts && counts.failed === 0) total.failed += 1;
    break;
  }
}
console.log(`\nnpm test ${failedStep ? `failed at "${failedStep}"` : 'passed'} in ${((Date.now() - began) / 1000).toFixed(0)} s`);
console.log(`${total.passed} passed, ${total.failed} failed`);
process.exit(failedStep ? 1 : 0);
