// The foundation in real VS Code: lazy activation, the sidecar started and supervised
// by the extension, its info command, the discovery file, the status bar, and
// restarts after a crash and after repeated crashes.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import * as vscode from 'vscode';
import type { SidestreamApi } from '../../../extension/api';
import type { GetInfoResponse } from '../../../proto/gen/sidestream/v1/sidecar';
import { bearer, connect, ServingStatus } from '../../integration/helpers/clients';
import { isAlive, recordStates, sidestreamExtension, waitFor } from './util';

describe('Sidestream sidecar in the extension host', function () {
  let api: SidestreamApi;

  before(function () {
    // Activation is lazy: installing the extension and opening a folder must not start it.
    assert.equal(sidestreamExtension().isActive, false, 'the extension activated before any of its commands ran');
  });

  it('activates on "Sidestream: Show Sidecar Info" and starts a sidecar', async function () {
    const info = (await vscode.commands.executeCommand<GetInfoResponse>('sidestream.showSidecarInfo'))!;
    const extension = sidestreamExtension();
    assert.equal(extension.isActive, true);
    api = extension.exports;
    assert.equal(api.state, 'ready');
    assert.ok(info, 'the command returned no info');
    const { version } = extension.packageJSON as { version: string };
    assert.equal(info.version, version);
    assert.equal(info.pid, api.sidecarPid());
    assert.notEqual(info.pid, process.pid, 'the sidecar must be its own process');
    assert.ok(isAlive(info.pid), `sidecar pid ${info.pid} is not running`);
    assert.match(info.address, /^127\.0\.0\.1:\d+$/);
    assert.ok(info.capabilities.includes('health'), `capabilities: ${info.capabilities.join(', ')}`);
  });

  it('resolves ffmpeg and ffprobe with their versions', async function () {
    const info = await api.getInfo();
    for (const tool of [info.ffmpeg!, info.ffprobe!]) {
      assert.equal(tool.error, '', `${tool.name}: ${tool.error}`);
      assert.match(tool.path, /^\//);
      assert.match(tool.version, /\d/);
    }
  });

  it('shows "ready" in the status bar', function () {
    assert.match(api.statusBarText(), /Sidestream: ready/);
  });

  it('writes a 0600 discovery file that another client can use, and the token is required', async function () {
    const path = api.discoveryFilePath();
    const mode = (await stat(path)).mode & 0o777;
    assert.equal(mode.toString(8), '600');
    const record = JSON.parse(await readFile(path, 'utf8')) as { address: string; token: string; pid: number; ownerPid: number };
    assert.equal(record.pid, api.sidecarPid());
    assert.equal(record.ownerPid, process.pid);

    const withToken = connect(record.address, bearer(record.token));
    const withoutToken = connect(record.address, undefined);
    try {
      assert.equal((await withToken.check()).status, ServingStatus.SERVING);
      await assert.rejects(withoutToken.check(), (error: { code?: number }) => error.code === 16 /* UNAUTHENTICATED */);
    } finally {
      withToken.close();
      withoutToken.close();
    }
  });

  it('restarts a killed sidecar with backoff and rewrites the discovery file', async function () {
    const oldPid = api.sidecarPid()!;
    const recorder = recordStates(api);
    try {
      process.kill(oldPid, 'SIGKILL');
      await waitFor('the status bar to say "restarting"', () => /Sidestream: restarting/.test(api.statusBarText()), 5000);
      const newPid = await waitFor('a new sidecar', () => api.state === 'ready' && api.sidecarPid() !== oldPid && api.sidecarPid(), 15_000);
      assert.deepEqual(recorder.states, ['restarting', 'ready']);
      assert.ok(!isAlive(oldPid), `the killed sidecar ${oldPid} is still there`);
      assert.ok(isAlive(newPid));
      assert.match(api.statusBarText(), /Sidestream: ready/);
      const record = JSON.parse(await readFile(api.discoveryFilePath(), 'utf8')) as { pid: number };
      assert.equal(record.pid, newPid);
    } finally {
      recorder.dispose();
    }
  });

  it('"Sidestream: Restart Sidecar" replaces the sidecar and stops the old one', async function () {
    const oldPid = api.sidecarPid()!;
    await vscode.commands.executeCommand('sidestream.restartSidecar');
    assert.equal(api.state, 'ready');
    const newPid = api.sidecarPid()!;
    assert.notEqual(newPid, oldPid);
    await waitFor(`the old sidecar ${oldPid} to exit`, () => !isAlive(oldPid), 5000);
  });

  it('gives up after 5 crashes within 3 minutes, says so, and recovers when the setting is fixed', async function () {
    this.timeout(90_000);
    const config = vscode.workspace.getConfiguration('sidestream');
    const recorder = recordStates(api);
    try {
      // 192.0.2.1 (TEST-NET-1) is never a local address: the sidecar cannot bind it and exits at once.
      await config.update('sidecar.listenAddress', '192.0.2.1:1', vscode.ConfigurationTarget.Global);
      await waitFor('the error state', () => api.state === 'error', 60_000);
      assert.match(api.statusBarText(), /Sidestream: error/);
      assert.equal(api.sidecarPid(), undefined);
      await assert.rejects(api.whenReady(100), /gave up/);
      await config.update('sidecar.listenAddress', undefined, vscode.ConfigurationTarget.Global);
      await api.whenReady(20_000);
      assert.match(api.statusBarText(), /Sidestream: ready/);
      assert.ok(isAlive(api.sidecarPid()!));
      assert.deepEqual(recorder.states.slice(0, 1), ['restarting']);
      assert.equal(recorder.states.at(-1), 'ready');
      assert.ok(recorder.states.includes('error'));
    } finally {
      recorder.dispose();
      await config.update('sidecar.listenAddress', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
