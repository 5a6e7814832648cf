// sidecar/token.ts loadToken: where the bearer token comes from and what is refused.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UsageError } from '../../sidecar/cli';
import { loadToken, minimumTokenLength } from '../../sidecar/token';

const goodToken = 'a'.repeat(minimumTokenLength) + '-token';

describe('loadToken', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sidestream-token-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads SIDESTREAM_TOKEN, trimmed', async () => {
    assert.equal(await loadToken(undefined, { SIDESTREAM_TOKEN: `  ${goodToken}\n` }), goodToken);
  });

  test('--token-file: the first line, trimmed, wins over the environment', async () => {
    const file = join(dir, 'token');
    await writeFile(file, `  ${goodToken}  \r\nsecond line is ignored\n`);
    assert.equal(await loadToken(file, { SIDESTREAM_TOKEN: 'b'.repeat(40) }), goodToken);
  });

  test('no token anywhere is a UsageError that says where a token goes', async () => {
    await assert.rejects(
      loadToken(undefined, {}),
      (error: unknown) =>
        error instanceof UsageError && error.message.includes('SIDESTREAM_TOKEN') && error.message.includes('--token-file'),
    );
  });

  test('a missing --token-file is a UsageError naming the file', async () => {
    const file = join(dir, 'does-not-exist');
    await assert.rejects(
      loadToken(file, { SIDESTREAM_TOKEN: goodToken }),
      (error: unknown) => error instanceof UsageError && error.message.includes(file),
    );
  });

  test('a short token is a UsageError giving the minimum length', async () => {
    const short = 'x'.repeat(minimumTokenLength - 1);
    await assert.rejects(
      loadToken(undefined, { SIDESTREAM_TOKEN: short }),
      (error: unknown) =>
        error instanceof UsageError && error.message.includes('SIDESTREAM_TOKEN') && error.message.includes(String(minimumTokenLength)),
    );
    assert.equal(await loadToken(undefined, { SIDESTREAM_TOKEN: short + 'x' }), short + 'x');
  });

  test('an empty or whitespace-only token file is refused as too short', async () => {
    const file = join(dir, 'blank');
    await writeFile(file, '   \n' + goodToken + '\n');
    await assert.rejects(
      loadToken(file, {}),
      (error: unknown) => error instanceof UsageError && error.message.includes(`--token-file ${file}`) && /0 characters/.test(error.message),
    );
  });
});
