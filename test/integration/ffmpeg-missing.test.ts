// A sidecar whose ffmpeg setting is broken still serves, and GetInfo says what is wrong.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bearer, connect, ServingStatus } from './helpers/clients';
import { newToken, startSidecar } from './helpers/sidecar';

describe('a broken ffmpeg', { timeout: 30_000 }, () => {
  test('--ffmpeg /nonexistent: GetInfo reports the problem and the sidecar keeps serving', async (t) => {
    const token = newToken();
    const sidecar = await startSidecar({ token, args: ['--ffmpeg', '/nonexistent/ffmpeg'] });
    t.after(() => sidecar.kill());
    const clients = connect(sidecar.address, bearer(token));
    t.after(() => clients.close());

    const info = await clients.getInfo();
    assert.equal(info.ffmpeg?.path, '/nonexistent/ffmpeg');
    assert.equal(info.ffmpeg?.source, 'setting');
    assert.equal(info.ffmpeg?.version, '');
    assert.match(info.ffmpeg?.error ?? '', /sidestream\.ffmpegPath \(--ffmpeg\) points to \/nonexistent\/ffmpeg, which is not an executable file/);
    // ffprobe is not beside the broken ffmpeg, so PATH's is used.
    assert.equal(info.ffprobe?.error, '');
    assert.equal(info.ffprobe?.path, '/usr/bin/ffprobe');
    assert.equal((await clients.check()).status, ServingStatus.SERVING);
  });

  test('SIDESTREAM_FFMPEG pointing nowhere is reported by name', async (t) => {
    const token = newToken();
    const sidecar = await startSidecar({ token, env: { SIDESTREAM_FFMPEG: '/nonexistent/env-ffmpeg' } });
    t.after(() => sidecar.kill());
    const clients = connect(sidecar.address, bearer(token));
    t.after(() => clients.close());

    const info = await clients.getInfo();
    assert.equal(info.ffmpeg?.source, 'env');
    assert.match(info.ffmpeg?.error ?? '', /SIDESTREAM_FFMPEG points to \/nonexistent\/env-ffmpeg/);
  });
});
