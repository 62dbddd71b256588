import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoff } from '../../src/backoff';

test('full jitter: the delay is uniform in [0, min * 2^attempt) capped at max', () => {
  assert.equal(backoff(0, 500, 20000, () => 0), 0);
  assert.equal(backoff(0, 500, 20000, () => 0.999999), 499);
  assert.equal(backoff(3, 500, 20000, () => 0.5), 2000); // cap 4000
  assert.equal(backoff(10, 500, 20000, () => 0.5), 10000); // capped at 20000
  assert.equal(backoff(1000, 500, 20000, () => 0.999999), 19999); // no overflow
});

test('delays spread over the whole range (no two clients in step)', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const d = backoff(4, 100, 1000);
    assert.ok(d >= 0 && d < 1000, String(d));
    seen.add(Math.floor(d / 100));
  }
  assert.ok(seen.size >= 8, `buckets hit: ${[...seen]}`);
});
