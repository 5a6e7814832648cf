// sidecar/media/queue.ts: the five buffering policies, their bounds and drop counts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type QueueOptions, SubscriberQueue } from '../../sidecar/media/queue';
import type { DecodedFrame } from '../../sidecar/media/types';

let clockUs = 0;
const now = () => clockUs;

function frame(sequence: number, bytes = 10, capturedAtUs = 0, ptsUs = sequence * 33_333): DecodedFrame {
  return { sequence, ptsUs, decodedAtUs: clockUs, capturedAtUs, width: 1, height: 1, format: 'gray', data: Buffer.alloc(bytes) };
}

function queue(options: Partial<QueueOptions>): SubscriberQueue {
  return new SubscriberQueue({ policy: 'wait', maxFrames: 3, maxBytes: 1 << 20, targetLatencyMs: 200, maxFps: 0, ...options }, now);
}

const drain = (q: SubscriberQueue) => {
  const out: Array<[number, number]> = [];
  for (let d = q.shift(); d; d = q.shift()) out.push([d.frame.sequence, d.droppedBefore]);
  return out;
};

describe('buffering policies', () => {
  test('wait: keeps everything and says when it is full', () => {
    const q = queue({ policy: 'wait' });
    for (let i = 0; i < 5; i++) q.push(frame(i));
    assert.equal(q.full, true);
    assert.equal(q.depth, 5);
    assert.deepEqual(drain(q), [[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]]);
    assert.equal(q.totalPolicyDrops, 0);
    assert.equal(q.full, false);
  });

  test('drop_oldest: the newest frames stay; drops are counted and reported on the next delivery', () => {
    const q = queue({ policy: 'drop_oldest' });
    for (let i = 0; i < 7; i++) q.push(frame(i));
    assert.equal(q.depth, 3);
    assert.deepEqual(drain(q), [[4, 4], [5, 0], [6, 0]]);
    assert.deepEqual(q.dropsByReason(), { queue_full: 4, replaced: 0, late: 0, max_fps: 0 });
  });

  test('drop_newest: the oldest frames stay', () => {
    const q = queue({ policy: 'drop_newest' });
    for (let i = 0; i < 7; i++) q.push(frame(i));
    assert.deepEqual(drain(q), [[0, 0], [1, 0], [2, 0]]);
    q.push(frame(7));
    assert.deepEqual(drain(q), [[7, 4]]);
    assert.equal(q.totalPolicyDrops, 4);
  });

  test('latest_only: a queue of one', () => {
    const q = queue({ policy: 'latest_only', maxFrames: 8 });
    for (let i = 0; i < 4; i++) q.push(frame(i));
    assert.equal(q.depth, 1);
    assert.deepEqual(drain(q), [[3, 3]]);
    assert.equal(q.dropsByReason().replaced, 3);
  });

  test('adaptive: frames older than the target go while a newer one waits; the newest always stays', () => {
    const q = queue({ policy: 'adaptive', maxFrames: 10, targetLatencyMs: 100 });
    clockUs = 1_000_000;
    q.push(frame(0, 10, 850_000));
    q.push(frame(1, 10, 900_000));
    q.push(frame(2, 10, 950_000));
    assert.deepEqual(drain(q), [[1, 1], [2, 0]]);
    clockUs = 2_000_000;
    q.push(frame(3, 10, 1_000_000));
    assert.deepEqual(drain(q), [[3, 0]], 'a lone late frame is still delivered');
    assert.equal(q.dropsByReason().late, 1);
  });

  test('the byte bound holds as well as the frame bound', () => {
    const q = queue({ policy: 'drop_oldest', maxFrames: 100, maxBytes: 25 });
    for (let i = 0; i < 5; i++) q.push(frame(i, 10));
    assert.equal(q.depth, 2);
    assert.equal(q.bytes, 20);
    const big = queue({ policy: 'drop_oldest', maxFrames: 100, maxBytes: 25 });
    big.push(frame(0, 100));
    assert.equal(big.depth, 1, 'a frame bigger than the bound is still queued alone');
  });

  test('max_fps skips by the source timeline, not counted as policy drops', () => {
    const q = queue({ policy: 'wait', maxFrames: 100, maxFps: 10 });
    for (let i = 0; i < 12; i++) q.push(frame(i));
    assert.deepEqual(drain(q).map(([sequence]) => sequence), [0, 3, 6, 9]);
    assert.equal(q.totalPolicyDrops, 0);
    assert.equal(q.dropsByReason().max_fps, 8);
    q.push(frame(100, 10, 0, 0));
    assert.equal(q.depth, 1, 'a timeline that starts again is accepted');
  });
});

describe('pooled frames are released by the queue exactly when it lets go of them', () => {
  const tracked = (sequence: number, releases: number[], ptsUs?: number) => ({ ...frame(sequence, 10, 0, ptsUs), release: () => void releases.push(sequence) });

  test('drop_oldest, drop_newest and latest_only release what they drop, once; a shifted frame is the deliverer\'s to release', () => {
    for (const [policy, dropped] of [['drop_oldest', [0, 1]], ['drop_newest', [3, 4]], ['latest_only', [0, 1, 2, 3]]] as const) {
      const releases: number[] = [];
      const q = queue({ policy });
      for (let i = 0; i < 5; i++) q.push(tracked(i, releases));
      assert.deepEqual(releases, [...dropped], policy);
      drain(q);
      assert.deepEqual(releases, [...dropped], `${policy}: delivering does not release`);
    }
  });

  test('adaptive releases the late frames it drops; max_fps releases the frames it skips', () => {
    const releases: number[] = [];
    clockUs = 0;
    const late = queue({ policy: 'adaptive', targetLatencyMs: 100 });
    late.push({ ...tracked(0, releases), capturedAtUs: 1 });
    late.push({ ...tracked(1, releases), capturedAtUs: 1 });
    clockUs = 500_000;
    late.push({ ...tracked(2, releases), capturedAtUs: 499_000 });
    assert.deepEqual(releases, [0, 1]);
    const skipping = queue({ policy: 'wait', maxFps: 10 });
    for (let i = 0; i < 4; i++) skipping.push(tracked(10 + i, releases, i * 33_333));
    assert.deepEqual(releases, [0, 1, 11, 12]);
  });

  test('clear releases every frame still queued', () => {
    const releases: number[] = [];
    const q = queue({ policy: 'wait' });
    for (let i = 0; i < 3; i++) q.push(tracked(i, releases));
    q.shift();
    q.clear();
    assert.deepEqual(releases, [1, 2]);
  });
});
