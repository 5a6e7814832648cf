// The sidecar's connections to model stores: a store whose settings change gets a new
// connection while a fetch on the old one finishes, and the old one then closes (its
// bound on open connections is in test/unit/models-store-connections.test.ts).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FetchState, type ModelsRig, startModelsSidecar, writeRandomFile } from './helpers/models';
import { connectionsTo, waitUntil } from './helpers/procfs';
import { type RunningStore, startStore } from './helpers/store';

const MiB = 1024 * 1024;
const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

describe('Models: connections to stores', () => {
  let work: string;
  let slowStore: RunningStore;
  let fastStore: RunningStore;
  let rig: ModelsRig;
  let fileSha: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'sidestream-store-connections-'));
    const root = join(work, 'store');
    mkdirSync(root);
    fileSha = await writeRandomFile(join(root, 'weights.bin'), 6 * MiB);
    // Two servers of the same folder: "team" moves from the slow one to the fast one.
    [slowStore, fastStore] = await Promise.all([startStore({ root, token: 'slow-token', rateLimit: 3 * MiB }), startStore({ root, token: 'fast-token' })]);
    rig = await startModelsSidecar(join(work, 'cache'));
  });

  after(async () => {
    rig?.stop();
    await Promise.all([slowStore?.stop(), fastStore?.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  test('a store moved in the settings: the running fetch finishes on the old connection, which then closes', async () => {
    const slowPort = portOf(slowStore.address);
    const fastPort = portOf(fastStore.address);
    await rig.client.setStores([{ name: 'team', address: slowStore.address, token: 'slow-token' }]);
    const fetch = rig.client.startFetch({ store: { name: 'team' }, path: 'weights.bin', concurrency: 1, chunkBytes: 8 * MiB });
    await waitUntil(() => fetch.events.some((e) => e.state === FetchState.FETCH_STATE_DOWNLOADING && e.bytesDone > 0), 10_000, () => 'the fetch never started downloading');

    await rig.client.setStores([{ name: 'team', address: fastStore.address, token: 'fast-token' }]);
    const listing = await rig.client.listStoreFiles({ name: 'team' });
    assert.deepEqual(listing.entries.map((e) => e.path), ['weights.bin'], 'the moved store answers');
    assert.equal(connectionsTo(rig.sidecar.pid, fastPort), 1, 'the new settings have their own connection');
    assert.equal(connectionsTo(rig.sidecar.pid, slowPort), 1, 'the old connection stays while the fetch uses it');

    const { last, error } = await fetch.done;
    assert.equal(error, undefined, error?.details);
    assert.equal(last?.sha256, fileSha);
    await waitUntil(() => connectionsTo(rig.sidecar.pid, slowPort) === 0, 5000, () => `the retired connection is still open: ${connectionsTo(rig.sidecar.pid, slowPort)}`);
    assert.equal(connectionsTo(rig.sidecar.pid, fastPort), 1);
  });
});
