// Model files through the extension's commands in the real extension host, against a
// real store (serve-store): the sidestream.modelStores setting reaches the sidecar when it
// changes, Fetch / Show Cache Usage / Evict / Clean Cache called as other extensions would.
// (Named to sort after sidecar.test: that suite checks that nothing activated us earlier.)
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { FetchOutcome } from '../../../extension/modelFetches';
import type { CleanCacheResponse, GetCacheUsageResponse } from '../../../proto/gen/sidestream/v1/models';
import { type DemoStoreFile, type RunningDemoStore, startDemoStore, writeDemoStoreFiles } from '../../../scripts/lib/demoStore';
import { sidestreamExtension } from './util';

describe('Model files in the extension host', function () {
  this.timeout(120_000);
  let folder: string;
  let store: RunningDemoStore;
  let detector: DemoStoreFile;
  const settings = () => vscode.workspace.getConfiguration('sidestream');

  before(async function () {
    const extension = sidestreamExtension();
    const api = await extension.activate();
    await api.whenReady(60_000);
    folder = mkdtempSync(join(tmpdir(), 'sidestream-suite-store-'));
    detector = writeDemoStoreFiles(folder, 3 * 1024 * 1024 + 17).find((file) => file.path.endsWith('.onnx'))!;
    store = await startDemoStore(join(extension.extensionPath, 'dist', 'sidecar.js'), folder);
    await settings().update('modelStores', [{ name: 'suite', address: store.address }], vscode.ConfigurationTarget.Global);
  });

  after(async function () {
    await settings().update('modelStores', undefined, vscode.ConfigurationTarget.Global);
    await store?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('fetches a file of a store set in sidestream.modelStores into the cache, verified', async function () {
    const outcome = (await vscode.commands.executeCommand<FetchOutcome>('sidestream.fetchModelFile', { store: 'suite', path: detector.path }))!;
    assert.equal(outcome.result, 'done', outcome.error);
    assert.equal(outcome.sha256, detector.sha256);
    assert.equal(outcome.fromCache, false);
    assert.ok(outcome.localPath && existsSync(outcome.localPath), `${outcome.localPath} exists`);
    assert.equal(createHash('sha256').update(readFileSync(outcome.localPath)).digest('hex'), detector.sha256);
    // No sidestream.modelCache.folder: the cache is in the extension's global storage.
    assert.ok(outcome.localPath.includes(join('globalStorage', 'sidestream.sidestream', 'models', 'v1', 'blobs')), outcome.localPath);
  });

  it('a second fetch is answered from the cache', async function () {
    const outcome = (await vscode.commands.executeCommand<FetchOutcome>('sidestream.fetchModelFile', { store: 'suite', path: detector.path }))!;
    assert.equal(outcome.result, 'done', outcome.error);
    assert.equal(outcome.fromCache, true);
  });

  it('Show Cache Usage reports the cached file', async function () {
    const usage = (await vscode.commands.executeCommand<GetCacheUsageResponse>('sidestream.showCacheUsage'))!;
    assert.ok(usage.cachedFiles >= 1, `cached files: ${usage.cachedFiles}`);
    assert.ok(usage.cachedBytes >= detector.size);
    assert.ok(usage.freeDiskBytes > 0);
  });

  it('after "Sidestream: Restart Sidecar" the new sidecar knows the stores again', async function () {
    await vscode.commands.executeCommand('sidestream.restartSidecar');
    const outcome = (await vscode.commands.executeCommand<FetchOutcome>('sidestream.fetchModelFile', { store: 'suite', path: detector.path }))!;
    assert.equal(outcome.result, 'done', outcome.error);
    assert.equal(outcome.fromCache, true);
  });

  it('a fetch from an unknown store fails with the sidecar\'s message', async function () {
    const outcome = (await vscode.commands.executeCommand<FetchOutcome>('sidestream.fetchModelFile', { store: 'nope', path: 'x.onnx' }))!;
    assert.equal(outcome.result, 'failed');
    assert.match(outcome.error ?? '', /no model store is named "nope"; known: suite/);
  });

  it('Evict removes the file from the cache', async function () {
    const local = (await vscode.commands.executeCommand<string>('sidestream.modelFiles.copyPath', { store: 'suite', path: detector.path }))!;
    assert.ok(existsSync(local));
    const freed = await vscode.commands.executeCommand<number>('sidestream.modelFiles.evict', { store: 'suite', path: detector.path });
    assert.equal(freed, detector.size);
    assert.equal(existsSync(local), false);
  });

  it('Clean Cache with allUnpinned deletes cached files', async function () {
    const outcome = (await vscode.commands.executeCommand<FetchOutcome>('sidestream.fetchModelFile', { store: 'suite', path: 'labels/coco.txt' }))!;
    assert.equal(outcome.result, 'done', outcome.error);
    const result = (await vscode.commands.executeCommand<CleanCacheResponse>('sidestream.cleanCache', { allUnpinned: true }))!;
    assert.ok(result.removedFiles >= 1, `removed ${result.removedFiles}`);
    assert.equal(existsSync(outcome.localPath!), false);
  });
});
