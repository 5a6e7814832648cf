// sidecar/media/analytics.ts: rates and latency percentiles over a sliding window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyWindow, percentile, RateWindow } from '../../sidecar/media/analytics';

test('a rate counts only the last window', () => {
  const rate = new RateWindow(1000);
  for (let i = 0; i < 60; i++) rate.add(1, 1000, i * 33_333);
  assert.equal(rate.perSecond(60 * 33_333), 30);
  assert.equal(rate.bytesPerSecond(60 * 33_333), 30_000);
  assert.equal(rate.perSecond(10_000_000), 0);
});

test('latency percentiles (nearest rank) and an empty window', () => {
  const latency = new LatencyWindow(5000);
  for (let ms = 1; ms <= 100; ms++) latency.add(ms, ms * 1000);
  assert.deepEqual(latency.summary(100_000), { p50Ms: 50, p95Ms: 95, maxMs: 100 });
  assert.deepEqual(latency.summary(100_000_000), { p50Ms: 0, p95Ms: 0, maxMs: 0 });
  assert.equal(percentile([3], 0.99), 3);
});

test('memory stays bounded however many samples arrive', () => {
  const rate = new RateWindow(60_000, 100);
  for (let i = 0; i < 10_000; i++) rate.add(1, 0, i);
  assert.equal(rate.perSecond(10_000), 100 / 60);
});
