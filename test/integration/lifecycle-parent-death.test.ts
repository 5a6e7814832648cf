// The sidecar exits when the process that started it dies (no orphans), unless
// --no-parent-watch. A real intermediate parent process starts the sidecar and is SIGKILLed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test, type TestContext } from 'node:test';
import { bearer, connect, ServingStatus } from './helpers/clients';
import { childrenOf, isRunning, membersOfGroup, waitUntil } from './helpers/procfs';
import { createSlowTool, type SlowTool } from './helpers/slow-tool';
import { cleanEnv, ensureSidecarBuilt, killGroup, newToken, sidecarScript, sleep, withTimeout } from './helpers/sidecar';

const intermediateParent = join(__dirname, 'helpers', 'intermediate-parent.cjs');

interface Family {
  parentPid: number;
  sidecarPid: number;
  address: string;
  token: string;
  /** The sidecar's stderr (through the parent's), line by line. */
  stderrLines: string[];
  killParent(): Promise<void>;
}

/** Starts intermediate-parent.cjs, which starts the sidecar; cleans both up when the test ends. */
async function startFamily(t: TestContext, mode: 'pipe' | 'ignore' | 'ipc', sidecarArgs: string[]): Promise<Family> {
  ensureSidecarBuilt();
  const token = newToken();
  const parent = spawn(process.execPath, [intermediateParent, mode, sidecarScript, '--log-level', 'debug', ...sidecarArgs], {
    env: cleanEnv({ SIDESTREAM_TOKEN: token }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const parentExited = new Promise<void>((resolve) => parent.once('exit', () => resolve()));
  const stderrLines: string[] = [];
  createInterface({ input: parent.stderr! }).on('line', (line) => stderrLines.push(line));
  let sidecarPid = 0;
  t.after(() => {
    parent.kill('SIGKILL');
    if (sidecarPid) killGroup(sidecarPid);
  });

  const first = await withTimeout(
    new Promise<string>((resolve, reject) => {
      createInterface({ input: parent.stdout! }).once('line', resolve);
      void parentExited.then(() => reject(new Error(`the intermediate parent exited; stderr:\n${stderrLines.join('\n')}`)));
    }),
    10_000,
    () => `no handshake through the intermediate parent; stderr:\n${stderrLines.join('\n')}`,
  );
  const report = JSON.parse(first) as { sidecarPid: number; handshake: { address: string; pid: number } };
  sidecarPid = report.sidecarPid;
  assert.equal(report.handshake.pid, sidecarPid);
  return {
    parentPid: parent.pid!,
    sidecarPid,
    address: report.handshake.address,
    token,
    stderrLines,
    killParent: async () => {
      parent.kill('SIGKILL');
      await parentExited;
    },
  };
}

async function expectSidecarExits(family: Family, reason: RegExp): Promise<void> {
  await waitUntil(
    () => !isRunning(family.sidecarPid),
    5000,
    () => `the sidecar ${family.sidecarPid} outlived its parent by 5 s; stderr:\n${family.stderrLines.join('\n')}`,
  );
  assert.ok(family.stderrLines.some((line) => reason.test(line)), `shutdown reason ${reason}:\n${family.stderrLines.join('\n')}`);
  assert.ok(family.stderrLines.includes('[info] stopped (0 children left)'), family.stderrLines.join('\n'));
  assert.deepEqual(membersOfGroup(family.sidecarPid), [], 'nothing the sidecar started is left');
}

describe('parent death', { timeout: 30_000 }, () => {
  let slow: SlowTool;
  before(async () => {
    slow = await createSlowTool();
  });
  after(async () => {
    await slow?.remove();
  });

  /** The sidecar is running `<slow ffmpeg> -version`, a child that must not be orphaned. */
  async function sidecarWithChild(t: TestContext, mode: 'pipe' | 'ignore' | 'ipc', extraArgs: string[] = []): Promise<Family> {
    const family = await startFamily(t, mode, ['--ffmpeg', slow.path, ...extraArgs]);
    await waitUntil(() => childrenOf(family.sidecarPid).length > 0, 3000, () => 'the sidecar started no child');
    return family;
  }

  test('stdin is a pipe from the parent: the sidecar exits when the pipe closes', async (t) => {
    const family = await sidecarWithChild(t, 'pipe');
    await family.killParent();
    await expectSidecarExits(family, /^\[info\] shutting down: stdin closed$/);
  });

  test('stdin is /dev/null: the parent-pid check alone notices, within a few seconds', async (t) => {
    const family = await sidecarWithChild(t, 'ignore');
    assert.ok(family.stderrLines.some((l) => l.includes('stdin pipe: false, ipc: false')), family.stderrLines.join('\n'));
    await family.killParent();
    await expectSidecarExits(family, new RegExp(`^\\[info\\] shutting down: parent process ${family.parentPid} exited$`));
  });

  test('a node IPC channel (as child_process.fork gives): the sidecar exits when it disconnects', async (t) => {
    const family = await sidecarWithChild(t, 'ipc');
    await family.killParent();
    await expectSidecarExits(family, /^\[info\] shutting down: IPC channel to parent closed$/);
  });

  test('--no-parent-watch: the sidecar keeps serving after its parent dies', async (t) => {
    const family = await startFamily(t, 'pipe', ['--no-parent-watch']);
    await family.killParent();
    await sleep(2500); // more than two rounds of the 1 s parent-pid check
    assert.equal(isRunning(family.sidecarPid), true, `the sidecar exited:\n${family.stderrLines.join('\n')}`);
    const clients = connect(family.address, bearer(family.token));
    t.after(() => clients.close());
    assert.equal((await clients.check()).status, ServingStatus.SERVING);
    assert.ok(!family.stderrLines.some((l) => l.includes('shutting down')), family.stderrLines.join('\n'));
  });
});
