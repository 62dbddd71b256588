import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, encodeFrame } from '../../src/codec';

test('a frame carrying several replies and pushes decodes to each, in order', () => {
  const frame = '{"id":1,"connect":{"client":"c"}}\n{"push":{"channel":"a","pub":{"data":{"x":1},"offset":3}}}\n{}\n{"id":2,"error":{"code":103,"message":"permission denied"}}';
  assert.deepEqual(decodeFrame(frame), [
    { id: 1, connect: { client: 'c' } },
    { push: { channel: 'a', pub: { data: { x: 1 }, offset: 3 } } },
    {},
    { id: 2, error: { code: 103, message: 'permission denied' } },
  ]);
});

test('blank lines and a trailing newline are skipped; a lone ping is one empty object', () => {
  assert.deepEqual(decodeFrame('\n{"id":1}\n\n  \n{"id":2}\n'), [{ id: 1 }, { id: 2 }]);
  assert.deepEqual(decodeFrame('{}'), [{}]);
  assert.deepEqual(decodeFrame(''), []);
});

test('data with escaped newlines stays in its line', () => {
  assert.deepEqual(decodeFrame(encodeFrame([{ push: { pub: { data: 'a\nb' } } }, { id: 3 }])), [{ push: { pub: { data: 'a\nb' } } }, { id: 3 }]);
});

test('a malformed line throws', () => {
  assert.throws(() => decodeFrame('{"id":1}\n{"id":'), SyntaxError);
});

test('commands encode one JSON object a line', () => {
  assert.equal(encodeFrame([{ id: 1, subscribe: { channel: 'a' } }, { send: { data: 1 } }]), '{"id":1,"subscribe":{"channel":"a"}}\n{"send":{"data":1}}');
});
