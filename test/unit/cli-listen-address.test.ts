// sidecar/cli.ts parseListenAddress and isLoopbackHost: where the gRPC server may listen.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLoopbackHost, parseListenAddress, UsageError } from '../../sidecar/cli';

describe('parseListenAddress', () => {
  test('IPv4 host and port', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListenAddress('0.0.0.0:50051'), { host: '0.0.0.0', port: 50051 });
  });

  test('a host name', () => {
    assert.deepEqual(parseListenAddress('localhost:8080'), { host: 'localhost', port: 8080 });
  });

  test('bracketed IPv6 loses its brackets', () => {
    assert.deepEqual(parseListenAddress('[::1]:50051'), { host: '::1', port: 50051 });
    assert.deepEqual(parseListenAddress('[::]:0'), { host: '::', port: 0 });
  });

  test('the highest port is 65535', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:65535'), { host: '127.0.0.1', port: 65535 });
    assert.throws(() => parseListenAddress('127.0.0.1:65536'), UsageError);
    assert.throws(() => parseListenAddress('127.0.0.1:99999'), UsageError);
  });

  test('bad inputs are UsageErrors that show an example and the input', () => {
    for (const bad of ['', '127.0.0.1', ':50051', '127.0.0.1:', '::1:50051', '[::1]', '127.0.0.1:-1', '127.0.0.1:123456', 'local host:1', '127.0.0.1:http', '[zz]:1']) {
      assert.throws(
        () => parseListenAddress(bad),
        (error: unknown) =>
          error instanceof UsageError && error.message.includes('HOST:PORT') && error.message.includes(`"${bad}"`),
        `"${bad}" should be rejected`,
      );
    }
  });
});

describe('isLoopbackHost', () => {
  test('loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) assert.equal(isLoopbackHost(host), true, host);
  });

  test('everything else is not loopback', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '128.0.0.1', '127.0.0.1.example.com', 'localhost.example.com']) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});
