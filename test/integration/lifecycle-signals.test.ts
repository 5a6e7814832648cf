// SIGTERM and SIGINT shut the sidecar down with exit code 0 and leave no process behind.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { childrenOf, isRunning, membersOfGroup, waitUntil } from './helpers/procfs';
import { createSlowTool, type SlowTool } from './helpers/slow-tool';
import { startSidecar } from './helpers/sidecar';

describe('shutdown on a signal', { timeout: 30_000 }, () => {
  let slow: SlowTool;
  before(async () => {
    slow = await createSlowTool();
  });
  after(async () => {
    await slow?.remove();
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal}: exit 0 promptly, its child process ended, nothing left in its process group`, async (t) => {
      // The sidecar runs `<slow ffmpeg> -version` at start, which does not return: a live child to clean up.
      const sidecar = await startSidecar({ args: ['--ffmpeg', slow.path] });
      t.after(() => sidecar.kill());
      await waitUntil(
        () => childrenOf(sidecar.pid).length > 0,
        3000,
        () => `the sidecar started no child; stderr:\n${sidecar.stderrLines.join('\n')}`,
      );
      const children = childrenOf(sidecar.pid);
      assert.ok(children.some((c) => c.comm === 'sleep'), JSON.stringify(children));

      sidecar.child.kill(signal);
      assert.deepEqual(await sidecar.waitForExit(4000), { code: 0, signal: null });

      assert.equal(isRunning(sidecar.pid), false, 'the sidecar is gone');
      for (const child of children) assert.equal(isRunning(child.pid), false, `its child ${child.pid} (${child.comm}) is gone`);
      assert.deepEqual(childrenOf(sidecar.pid), [], 'no process has the sidecar as parent');
      assert.deepEqual(membersOfGroup(sidecar.pid), [], 'nothing is left in its process group');
      assert.ok(sidecar.stderrLines.includes(`[info] shutting down: ${signal}`), sidecar.stderrLines.join('\n'));
    });
  }
});
