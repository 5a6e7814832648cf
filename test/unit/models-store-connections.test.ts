// StoreConnections' bookkeeping: reuse, retirement of a store whose settings changed once
// its work ends, and the bound on open connections. gRPC clients connect lazily, so no store
// runs here; test/integration/models-store-connections.test.ts watches the real sockets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type StoreConnection, StoreConnections } from '../../sidecar/files/storeClients';

const store = (name: string, token = 't') => ({ name, address: '127.0.0.1:9', token });

test('one store, one connection, reused by every call', async () => {
  const connections = new StoreConnections();
  const first = await connections.use(store('team'), async (c) => c);
  const second = await connections.use(store('team'), async (c) => c);
  assert.equal(first, second);
  assert.equal(connections.openCount, 1);
  connections.closeAll();
  assert.equal(connections.openCount, 0);
});

test('a store whose token changes gets a new connection; the old one is kept until its work ends', async () => {
  const connections = new StoreConnections();
  let finishOld!: () => void;
  let old: StoreConnection | undefined;
  const running = connections.use(store('team', 'old'), (c) => {
    old = c;
    return new Promise<void>((resolve) => (finishOld = resolve));
  });
  const renewed = await connections.use(store('team', 'new'), async (c) => c);
  assert.notEqual(renewed, old);
  assert.equal(renewed.store.token, 'new');
  assert.equal(connections.openCount, 2, 'the old connection stays open while it is used');
  finishOld();
  await running;
  assert.equal(connections.openCount, 1, 'and is closed once its work ends');
  assert.equal(await connections.use(store('team', 'new'), async (c) => c), renewed);
  connections.closeAll();
});

test('at most maxOpen connections stay open; the least recently used goes first, unless in use', async () => {
  const connections = new StoreConnections(4);
  let release!: () => void;
  const held = connections.use(store('busy'), () => new Promise<void>((resolve) => (release = resolve)));
  const seen: StoreConnection[] = [];
  for (let i = 0; i < 10; i++) seen.push(await connections.use(store(`s${i}`), async (c) => c));
  assert.equal(connections.openCount, 5, 'four kept, plus the one in use beyond the bound');
  assert.equal(await connections.use(store('s9'), async (c) => c), seen[9], 'the most recent is reused');
  assert.notEqual(await connections.use(store('s0'), async (c) => c), seen[0], 'the oldest was closed and is made again');
  release();
  await held;
  assert.equal(connections.openCount, 4);
  connections.closeAll();
});

test('work that fails still gives its connection back', async () => {
  const connections = new StoreConnections();
  await assert.rejects(connections.use(store('team', 'old'), async () => Promise.reject(new Error('store said no'))), /store said no/);
  await connections.use(store('team', 'new'), async () => undefined);
  assert.equal(connections.openCount, 1, 'the failed work did not keep the old connection');
  connections.closeAll();
});
