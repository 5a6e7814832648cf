// sidecar/files/storePaths.ts: the store protocol's path rules, page tokens, ranges and the rate bucket.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseByteRate, parseCommand, storeHelpText, UsageError } from '../../sidecar/cli';
import {
  checkStorePath,
  checkStorePrefix,
  chunkBytesForRate,
  decodePageToken,
  effectiveChunkBytes,
  effectivePageSize,
  encodePageToken,
  isInside,
  readRange,
  TokenBucket,
} from '../../sidecar/files/storePaths';
import { revisionOf } from '../../sidecar/fileRevision';

describe('checkStorePath', () => {
  test('relative "/"-separated paths are accepted', () => {
    for (const path of ['a', 'yolo/v8n.onnx', 'a/b/c.bin', '.hidden', 'a/..b', 'a/b..', '...', 'ünïcode/名前.bin', 'a b/c d']) {
      assert.deepEqual(checkStorePath(path), { ok: true, path }, path);
    }
  });

  test('malformed paths are refused with a message saying what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['/etc/passwd', /starts with "\/"/],
      ['../x', /"\.\." segment/],
      ['a/../../x', /"\.\." segment/],
      ['a/..', /"\.\." segment/],
      ['./a', /"\." segment/],
      ['a/./b', /"\." segment/],
      ['a//b', /empty segment/],
      ['a/', /empty segment/],
      ['a\u0000b', /NUL/],
      ['a\\b', /backslash/],
      ['..\\x', /backslash/],
    ];
    for (const [path, message] of cases) {
      const verdict = checkStorePath(path);
      assert.equal(verdict.ok, false, JSON.stringify(path));
      assert.match(verdict.ok ? '' : verdict.message, message, JSON.stringify(path));
    }
  });

  test('prefixes: "" is everything, a trailing "/" is dropped, the same rules otherwise', () => {
    assert.deepEqual(checkStorePrefix(''), { ok: true, path: '' });
    assert.deepEqual(checkStorePrefix('yolo'), { ok: true, path: 'yolo' });
    assert.deepEqual(checkStorePrefix('yolo/'), { ok: true, path: 'yolo' });
    assert.deepEqual(checkStorePrefix('a/b/'), { ok: true, path: 'a/b' });
    for (const bad of ['/', '//', '../', '/yolo', 'a//', 'a\\b']) assert.equal(checkStorePrefix(bad).ok, false, bad);
  });

  test('isInside: the root and paths below it, nothing beside or above it', () => {
    assert.ok(isInside('/srv/store', '/srv/store'));
    assert.ok(isInside('/srv/store', '/srv/store/a/b'));
    assert.ok(isInside('/srv/store', '/srv/store/..a'));
    assert.ok(!isInside('/srv/store', '/srv/store2/a'));
    assert.ok(!isInside('/srv/store', '/srv'));
    assert.ok(!isInside('/srv/store', '/etc/passwd'));
    assert.ok(isInside('/', '/etc'));
  });
});

describe('page tokens', () => {
  test('round trip for the same prefix; opaque base64url', () => {
    const token = encodePageToken('yolo', 'yolo/v8n.onnx');
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodePageToken(token, 'yolo'), { ok: true, after: 'yolo/v8n.onnx' });
    assert.deepEqual(decodePageToken('', 'anything'), { ok: true, after: '' });
  });

  test('a token of another prefix, or garbage, is refused', () => {
    const token = encodePageToken('yolo', 'yolo/a');
    const other = decodePageToken(token, 'sam');
    assert.equal(other.ok, false);
    assert.match(other.ok ? '' : other.message, /prefix "yolo"/);
    for (const garbage of ['!!!', 'abc', Buffer.from('v2\0\0x').toString('base64url'), Buffer.from('v1\0\0').toString('base64url')]) {
      const verdict = decodePageToken(garbage, '');
      assert.equal(verdict.ok, false, garbage);
      assert.match(verdict.ok ? '' : verdict.message, /next_page_token/);
    }
  });

  test('page size: 0 is 1000, capped at 10000, negative refused', () => {
    assert.equal(effectivePageSize(0), 1000);
    assert.equal(effectivePageSize(1), 1);
    assert.equal(effectivePageSize(10_000), 10_000);
    assert.equal(effectivePageSize(50_000), 10_000);
    assert.equal(typeof effectivePageSize(-1), 'string');
  });
});

describe('ranges and chunks', () => {
  test('readRange: middle, cut at the end, length 0 to the end, offset at the end is empty', () => {
    assert.deepEqual(readRange(10, 20, 100), { ok: true, start: 10, end: 30 });
    assert.deepEqual(readRange(90, 20, 100), { ok: true, start: 90, end: 100 });
    assert.deepEqual(readRange(25, 0, 100), { ok: true, start: 25, end: 100 });
    assert.deepEqual(readRange(0, 0, 0), { ok: true, start: 0, end: 0 });
    assert.deepEqual(readRange(100, 0, 100), { ok: true, start: 100, end: 100 });
  });

  test('readRange: offset beyond the size is out of range; negative numbers are invalid', () => {
    const beyond = readRange(101, 0, 100);
    assert.equal(beyond.ok === false && beyond.code, 'out-of-range');
    assert.match(beyond.ok ? '' : beyond.message, /beyond the end of the file \(100 bytes\)/);
    assert.equal(readRange(-1, 0, 100).ok === false && (readRange(-1, 0, 100) as { code: string }).code, 'invalid');
    assert.equal(readRange(0, -5, 100).ok, false);
  });

  test('chunk size: 0 is 1 MiB, capped at 4 MiB; smaller under a rate cap, never below 16 KiB', () => {
    assert.equal(effectiveChunkBytes(0), 1 << 20);
    assert.equal(effectiveChunkBytes(4096), 4096);
    assert.equal(effectiveChunkBytes(64 << 20), 4 << 20);
    assert.equal(typeof effectiveChunkBytes(-1), 'string');
    assert.equal(chunkBytesForRate(1 << 20, undefined), 1 << 20);
    assert.equal(chunkBytesForRate(1 << 20, 40_000_000), 1 << 20);
    assert.equal(chunkBytesForRate(1 << 20, 800_000), 100_000);
    assert.equal(chunkBytesForRate(1 << 20, 1000), 16 * 1024);
  });

  test('revisions change with size, mtime and inode', () => {
    const base = { size: 10n, mtimeNs: 1_700_000_000_000_000_000n, ino: 42n };
    const revision = revisionOf(base);
    assert.equal(revisionOf({ ...base }), revision);
    assert.notEqual(revisionOf({ ...base, size: 11n }), revision);
    assert.notEqual(revisionOf({ ...base, mtimeNs: base.mtimeNs + 1n }), revision);
    assert.notEqual(revisionOf({ ...base, ino: 43n }), revision);
  });
});

describe('TokenBucket', () => {
  test('a full bucket sends its capacity at once, then waits rate-long for each byte after', () => {
    const bucket = new TokenBucket(1000, 500, 0); // 1000 B/s, 500 B saved up
    assert.equal(bucket.take(500, 0), 0);
    assert.equal(bucket.take(100, 0), 100); // 100 bytes of debt = 100 ms
  });

  test('over a long stream the average rate is the cap', () => {
    const rate = 10_000_000;
    const chunk = 1 << 20;
    const bucket = new TokenBucket(rate, chunk, 0);
    let now = 0;
    let sent = 0;
    while (sent < 20_000_000) {
      now += bucket.take(chunk, now);
      sent += chunk;
    }
    // Everything but the first chunk (the saved-up capacity) at the rate.
    assert.ok(Math.abs(now - ((sent - chunk) / rate) * 1000) < 1, `${now} ms`);
    assert.ok(now >= 1800);
  });

  test('idle time refills the bucket, but never beyond its capacity', () => {
    const bucket = new TokenBucket(1000, 500, 0);
    bucket.take(500, 0);
    assert.equal(bucket.take(500, 10_000), 0);
    assert.equal(bucket.take(1, 10_000), 1);
  });
});

describe('serve-store command line', () => {
  test('DIR and every flag are carried through', () => {
    assert.deepEqual(parseCommand(['serve-store', '/srv/models', '--listen', '127.0.0.1:50051', '--token', 'sekrit', '--rate-limit', '40M', '--log-level', 'debug']), {
      kind: 'serve-store',
      options: { root: '/srv/models', listen: '127.0.0.1:50051', token: 'sekrit', tokenFile: undefined, rateLimit: 40_000_000, logLevel: 'debug' },
    });
    assert.deepEqual(parseCommand(['serve-store', 'models']), {
      kind: 'serve-store',
      options: { root: 'models', listen: '127.0.0.1:0', token: undefined, tokenFile: undefined, rateLimit: undefined, logLevel: 'info' },
    });
  });

  test('--help gives the store help; usage errors are UsageErrors', () => {
    assert.deepEqual(parseCommand(['serve-store', '--help']), { kind: 'help', text: storeHelpText });
    for (const bad of [
      ['serve-store'],
      ['serve-store', 'a', 'b'],
      ['serve-store', 'a', '--token', 'x', '--token-file', 'f'],
      ['serve-store', 'a', '--rate-limit', 'fast'],
      ['serve-store', 'a', '--bogus'],
      ['serve-store', 'a', '--listen', 'nowhere'],
    ]) {
      assert.throws(() => parseCommand(bad), UsageError, bad.join(' '));
    }
  });

  test('parseByteRate', () => {
    assert.equal(parseByteRate('10000000'), 10_000_000);
    assert.equal(parseByteRate('10M'), 10_000_000);
    assert.equal(parseByteRate('1.5k'), 1500);
    assert.equal(parseByteRate('40Mi'), 40 * 1024 * 1024);
    assert.equal(parseByteRate('2GB/s'), 2e9);
    for (const bad of ['', '0', '-1', 'M', '10 MB per s', '1e6']) assert.throws(() => parseByteRate(bad), UsageError, bad);
  });
});
