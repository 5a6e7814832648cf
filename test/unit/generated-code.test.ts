// proto/gen/ must be what the .proto files generate today (buf lint + buf generate, compared).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(__dirname, '..', '..');

test('proto/gen is current: `node scripts/gen.mjs --check` exits 0', () => {
  const run = spawnSync(process.execPath, ['scripts/gen.mjs', '--check'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.error, undefined);
  assert.equal(run.status, 0, `gen --check failed; run \`npm run gen\` and commit proto/gen.\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /proto\/gen is current/);
});
