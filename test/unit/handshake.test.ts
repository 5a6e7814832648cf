// extension/handshake.ts parseHandshake: the one JSON line the sidecar prints on stdout.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHandshake } from '../../extension/handshake';

describe('parseHandshake', () => {
  test('a valid line', () => {
    assert.deepEqual(parseHandshake('{"address":"127.0.0.1:40123","pid":4242,"version":"0.1.0"}'), {
      address: '127.0.0.1:40123',
      pid: 4242,
      version: '0.1.0',
    });
  });

  test('an IPv6 address and extra fields (kept out of the result)', () => {
    assert.deepEqual(parseHandshake('{"address":"[::1]:50051","pid":1,"version":"1.2.3","future":true}'), {
      address: '[::1]:50051',
      pid: 1,
      version: '1.2.3',
    });
  });

  test('a line that is not JSON is reported with the line', () => {
    assert.throws(() => parseHandshake('Debugger listening on ws://127.0.0.1:9229'), /not JSON: Debugger listening/);
    assert.throws(() => parseHandshake(''), /not JSON/);
  });

  test('missing or invalid fields name the field', () => {
    const cases: Array<[string, RegExp]> = [
      ['{"pid":1,"version":"0.1.0"}', /"address"/],
      ['{"address":"127.0.0.1","pid":1,"version":"0.1.0"}', /"address"/],
      ['{"address":42,"pid":1,"version":"0.1.0"}', /"address"/],
      ['{"address":"127.0.0.1:1","version":"0.1.0"}', /"pid"/],
      ['{"address":"127.0.0.1:1","pid":"1","version":"0.1.0"}', /"pid"/],
      ['{"address":"127.0.0.1:1","pid":0,"version":"0.1.0"}', /"pid"/],
      ['{"address":"127.0.0.1:1","pid":1.5,"version":"0.1.0"}', /"pid"/],
      ['{"address":"127.0.0.1:1","pid":1}', /"version"/],
      ['{"address":"127.0.0.1:1","pid":1,"version":""}', /"version"/],
    ];
    for (const [line, field] of cases) assert.throws(() => parseHandshake(line), field, line);
  });

  test('JSON that is not an object', () => {
    for (const line of ['null', '[]', '42', '"text"']) assert.throws(() => parseHandshake(line), /"address"/, line);
  });

  test('a very long line is cut in the message', () => {
    const line = `{"address":"${'x'.repeat(1000)}"}`;
    assert.throws(
      () => parseHandshake(line),
      (error: Error) => error.message.length < 400,
    );
  });
});
