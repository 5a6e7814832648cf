// extension/restartPolicy.ts: when a crashed sidecar is restarted, and when we give up.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultRestartPolicy, RestartPolicy } from '../../extension/restartPolicy';

const second = 1000;
const minute = 60 * second;

describe('RestartPolicy (defaults)', () => {
  test('the defaults are 1 s doubling, 5 crashes in 3 minutes', () => {
    assert.deepEqual(defaultRestartPolicy, { initialDelayMs: 1000, maxDelayMs: 30_000, maxCrashes: 5, windowMs: 180_000 });
  });

  test('crashes in a row wait 1, 2, 4, 8 s, and the 5th within 3 minutes gives up', () => {
    const policy = new RestartPolicy();
    const t0 = 1_000_000;
    assert.deepEqual(policy.onCrash(t0), { kind: 'restart', delayMs: 1000, crashesInWindow: 1 });
    assert.deepEqual(policy.onCrash(t0 + 10 * second), { kind: 'restart', delayMs: 2000, crashesInWindow: 2 });
    assert.deepEqual(policy.onCrash(t0 + 20 * second), { kind: 'restart', delayMs: 4000, crashesInWindow: 3 });
    assert.deepEqual(policy.onCrash(t0 + 30 * second), { kind: 'restart', delayMs: 8000, crashesInWindow: 4 });
    assert.deepEqual(policy.onCrash(t0 + 2 * minute), { kind: 'give-up', crashesInWindow: 5 });
  });

  test('crashes older than the window are forgotten', () => {
    const policy = new RestartPolicy();
    const t0 = 5_000_000;
    for (let i = 0; i < 4; i++) policy.onCrash(t0 + i * second);
    // 3 minutes after the first crash, that one has left the window: 4 in the window, not 5.
    assert.deepEqual(policy.onCrash(t0 + 3 * minute), { kind: 'restart', delayMs: 8000, crashesInWindow: 4 });
    // Long after all of them: a fresh start at 1 s.
    assert.deepEqual(policy.onCrash(t0 + 10 * minute), { kind: 'restart', delayMs: 1000, crashesInWindow: 1 });
  });

  test('five crashes spread just wider than the window never give up', () => {
    const policy = new RestartPolicy();
    const spacing = 45 * second + 1; // 4 gaps of just over 45 s span just over 3 minutes
    for (let i = 0; i < 20; i++) {
      const decision = policy.onCrash(i * spacing);
      assert.equal(decision.kind, 'restart', `crash ${i + 1}`);
    }
  });

  test('reset() starts counting afresh', () => {
    const policy = new RestartPolicy();
    for (let i = 0; i < 4; i++) policy.onCrash(i);
    policy.reset();
    assert.deepEqual(policy.onCrash(10), { kind: 'restart', delayMs: 1000, crashesInWindow: 1 });
  });
});

describe('RestartPolicy (custom options)', () => {
  test('the delay is capped at maxDelayMs', () => {
    const policy = new RestartPolicy({ initialDelayMs: 1000, maxDelayMs: 5000, maxCrashes: 100, windowMs: minute });
    const delays = Array.from({ length: 6 }, (_, i) => {
      const decision = policy.onCrash(i);
      return decision.kind === 'restart' ? decision.delayMs : -1;
    });
    assert.deepEqual(delays, [1000, 2000, 4000, 5000, 5000, 5000]);
  });
});
