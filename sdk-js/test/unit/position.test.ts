import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Position } from '../../src/subscription';

test('recovery bookkeeping: unknown until a subscribe reply; advances; drops duplicates', () => {
  const p = new Position();
  assert.equal(p.recover(), undefined);
  assert.equal(p.advance(3), true); // no epoch yet: offsets taken as they come
  p.reset(10, 'E');
  assert.deepEqual(p.recover(), { recover: true, offset: 10, epoch: 'E' });
  assert.equal(p.advance(10), false);
  assert.equal(p.advance(9), false);
  assert.equal(p.advance(11), true);
  assert.equal(p.advance(undefined), true); // unpositioned publications pass
  assert.deepEqual(p.known, { offset: 11, epoch: 'E' });
});
