// Health and SidecarService.GetInfo with the token, against a real sidecar on the machine's ffmpeg.
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import { bearer, connect, ServingStatus, type TestClients } from './helpers/clients';
import { newToken, packageVersion, type RunningSidecar, startSidecar, withTimeout } from './helpers/sidecar';

describe('Health and GetInfo', { timeout: 30_000 }, () => {
  let sidecar: RunningSidecar;
  let clients: TestClients;
  before(async () => {
    const token = newToken();
    // PATH as the test runner has it: Debian's ffmpeg in /usr/bin.
    sidecar = await startSidecar({ token });
    clients = connect(sidecar.address, bearer(token));
  });
  after(() => {
    clients?.close();
    sidecar?.kill();
  });

  test('GetInfo describes this sidecar: version, pid, uptime, address, tools, capabilities', async () => {
    const info = await clients.getInfo();
    assert.equal(info.version, packageVersion);
    assert.equal(info.pid, sidecar.pid);
    assert.ok(info.uptimeSeconds > 0, `uptime ${info.uptimeSeconds}`);
    assert.equal(info.address, sidecar.address);
    assert.equal(info.runtimeVersion, process.version);
    assert.equal(info.platform, `${process.platform}-${process.arch}`);
    assert.ok(info.capabilities.includes('health'), info.capabilities.join());
    assert.ok(info.capabilities.includes('info'), info.capabilities.join());
    assert.ok(info.capabilities.includes('streams'), info.capabilities.join());
    // Debian's ffmpeg is built with these hardware decoders (no device here, but they are listed).
    assert.ok(info.hwaccels.includes('vaapi') && info.hwaccels.includes('cuda'), `hwaccels: ${info.hwaccels.join(', ')}`);

    assert.ok(info.ffmpeg, 'ffmpeg is described');
    assert.equal(info.ffmpeg.error, '', info.ffmpeg.error);
    assert.equal(info.ffmpeg.name, 'ffmpeg');
    assert.equal(info.ffmpeg.path, '/usr/bin/ffmpeg');
    assert.equal(info.ffmpeg.source, 'path');
    assert.match(info.ffmpeg.version, /^\d+\.\d+/);

    assert.ok(info.ffprobe, 'ffprobe is described');
    assert.equal(info.ffprobe.error, '', info.ffprobe.error);
    assert.equal(info.ffprobe.path, '/usr/bin/ffprobe');
    assert.equal(info.ffprobe.source, 'beside-ffmpeg');
  });

  test('uptime grows between calls', async () => {
    const first = await clients.getInfo();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await clients.getInfo();
    assert.ok(second.uptimeSeconds > first.uptimeSeconds);
  });

  test('Health.Check of the SidecarService by name: SERVING', async () => {
    assert.equal((await clients.check('sidestream.v1.SidecarService')).status, ServingStatus.SERVING);
  });

  test('Health.Check of an unknown service: NOT_FOUND naming it', async () => {
    await assert.rejects(clients.check('no.such.Service'), (error: { code: number; details: string }) => {
      assert.equal(error.code, status.NOT_FOUND);
      assert.match(error.details, /no\.such\.Service/);
      return true;
    });
  });

  test('Health.Watch streams SERVING first and stays open', async () => {
    const call = clients.health.watch({ service: '' }, clients.metadata());
    try {
      const first = await withTimeout(
        new Promise<{ status: number }>((resolve, reject) => {
          call.once('data', resolve);
          call.once('error', reject);
          call.once('end', () => reject(new Error('the watch ended before its first message')));
        }),
        5000,
        () => 'no first message on the watch within 5 s',
      );
      assert.deepEqual(first, { status: ServingStatus.SERVING });
    } finally {
      call.cancel();
    }
  });

  test('Health.Watch of an unknown service: SERVICE_UNKNOWN, not an error', async () => {
    const call = clients.health.watch({ service: 'no.such.Service' }, clients.metadata());
    try {
      const first = await withTimeout(
        new Promise<{ status: number }>((resolve, reject) => {
          call.once('data', resolve);
          call.once('error', reject);
        }),
        5000,
        () => 'no first message on the watch within 5 s',
      );
      assert.deepEqual(first, { status: ServingStatus.SERVICE_UNKNOWN });
    } finally {
      call.cancel();
    }
  });

  test('SIGTERM ends an open Watch stream cleanly, then the sidecar exits 0', async () => {
    const call = clients.health.watch({ service: '' }, clients.metadata());
    const messages: number[] = [];
    const ended = new Promise<string>((resolve) => {
      call.on('data', (m: { status: number }) => {
        messages.push(m.status);
        if (messages.length === 1) sidecar.child.kill('SIGTERM');
      });
      call.on('end', () => resolve('end'));
      call.on('error', (error: { code: number }) => resolve(`error ${error.code}`));
    });
    try {
      assert.equal(await withTimeout(ended, 8000, () => `the watch was not ended by SIGTERM (got ${messages.join()})`), 'end');
    } finally {
      call.cancel();
    }
    assert.deepEqual(messages, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    assert.deepEqual(await sidecar.waitForExit(5000), { code: 0, signal: null });
  });
});
