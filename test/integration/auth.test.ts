// Every call needs the bearer token: real gRPC calls against a real sidecar.
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import { bearer, connect, ServingStatus } from './helpers/clients';
import { newToken, type RunningSidecar, startSidecar, withTimeout } from './helpers/sidecar';

describe('bearer token auth over gRPC', { timeout: 30_000 }, () => {
  const token = newToken();
  let sidecar: RunningSidecar;
  before(async () => {
    sidecar = await startSidecar({ token });
  });
  after(() => sidecar?.kill());

  /** Makes the call and returns the details of its UNAUTHENTICATED status; fails if it succeeds or fails otherwise. */
  async function refused(authorization: string | undefined, call: 'check' | 'getInfo'): Promise<string> {
    const clients = connect(sidecar.address, authorization);
    const outcome = await clients[call]().then(
      (response) => ({ ok: true as const, response }),
      (error: { code: number; details: string }) => ({ ok: false as const, error }),
    );
    clients.close();
    const what = `${call} with authorization ${JSON.stringify(authorization)}`;
    if (outcome.ok) assert.fail(`${what} succeeded: ${JSON.stringify(outcome.response)}`);
    assert.equal(outcome.error.code, status.UNAUTHENTICATED, `${what}: ${String(outcome.error)}`);
    return outcome.error.details;
  }

  test('Health.Check with the right token: SERVING', async () => {
    const clients = connect(sidecar.address, bearer(token));
    try {
      assert.deepEqual(await clients.check(), { status: ServingStatus.SERVING });
    } finally {
      clients.close();
    }
  });

  test('Health.Check without a token: UNAUTHENTICATED, saying what metadata to send', async () => {
    const details = await refused(undefined, 'check');
    assert.match(details, /authorization/);
    assert.match(details, /Bearer/);
  });

  test('Health.Check with a wrong token: UNAUTHENTICATED', async () => {
    assert.match(await refused(bearer(newToken()), 'check'), /does not match/);
  });

  test('Health.Check with a malformed header: UNAUTHENTICATED', async () => {
    assert.match(await refused(`Basic ${token}`, 'check'), /Bearer <token>/);
    assert.match(await refused(token, 'check'), /Bearer <token>/);
  });

  test('SidecarService.GetInfo without a token or with a wrong one: UNAUTHENTICATED', async () => {
    assert.match(await refused(undefined, 'getInfo'), /authorization/);
    assert.match(await refused(bearer(`${token}x`), 'getInfo'), /does not match/);
  });

  test('Health.Watch without a token: UNAUTHENTICATED on the stream', async () => {
    const clients = connect(sidecar.address, undefined);
    const call = clients.health.watch({ service: '' }, clients.metadata());
    try {
      let data = 0;
      const outcome = await withTimeout(
        new Promise<{ data: number; code: number }>((resolve) => {
          call.on('data', () => data++);
          call.on('error', (error: { code: number }) => resolve({ data, code: error.code }));
          call.on('end', () => resolve({ data, code: status.OK }));
        }),
        5000,
        () => `the watch stayed open without a token (${data} messages received)`,
      );
      assert.deepEqual(outcome, { data: 0, code: status.UNAUTHENTICATED });
    } finally {
      call.cancel();
      clients.close();
    }
  });

  test('the refusals are not logged as errors, and the token never appears in the log', () => {
    const log = sidecar.stderrLines.join('\n');
    assert.ok(!log.includes(token), 'the token leaked into stderr');
    assert.ok(!sidecar.stderrLines.some((line) => line.startsWith('[error]')), log);
  });
});
