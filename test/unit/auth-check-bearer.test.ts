// sidecar/auth.ts: checkBearer (the authorization metadata every call must carry), and the
// bearer token of an HTTP header (the WHIP and preview endpoints) compared in constant time.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { Metadata } from '@grpc/grpc-js';
import { bearerToken, checkBearer, tokenDigest, tokenMatches } from '../../sidecar/auth';

const token = 'correct-horse-battery-staple';
const expected = createHash('sha256').update(token).digest();

function metadataWith(authorization?: string): Metadata {
  const metadata = new Metadata();
  if (authorization !== undefined) metadata.set('authorization', authorization);
  return metadata;
}

function rejection(authorization?: string): string {
  const verdict = checkBearer(metadataWith(authorization), expected);
  assert.equal(verdict.ok, false, `"${authorization}" should be refused`);
  return verdict.ok ? '' : verdict.message;
}

describe('checkBearer', () => {
  test('the right token is accepted', () => {
    assert.deepEqual(checkBearer(metadataWith(`Bearer ${token}`), expected), { ok: true });
  });

  test('the scheme is case-insensitive and surrounding spaces are tolerated', () => {
    for (const value of [`bearer ${token}`, `BEARER ${token}`, `Bearer   ${token}`, `Bearer ${token}  `]) {
      assert.deepEqual(checkBearer(metadataWith(value), expected), { ok: true }, value);
    }
  });

  test('missing metadata says what to send and where the token is', () => {
    const message = rejection(undefined);
    assert.match(message, /authorization: Bearer <token>/);
    assert.match(message, /discovery file/);
  });

  test('malformed values are refused with the expected form', () => {
    for (const value of [token, `Basic ${token}`, 'Bearer', 'Bearer ', `Bearer ${token} extra`, `Bearer${token}`]) {
      assert.match(rejection(value), /Bearer <token>/, value);
    }
  });

  test('a wrong token is refused', () => {
    assert.match(rejection('Bearer not-the-token'), /does not match/);
    assert.match(rejection(`Bearer ${token}x`), /does not match/);
    assert.match(rejection(`Bearer ${token.toUpperCase()}`), /does not match/);
  });
});

describe('bearer tokens of HTTP headers', () => {
  test('the token of "Bearer <token>", any case of the scheme, nothing else', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer abc '), 'abc');
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });

  test('only the very token matches its digest', () => {
    assert.deepEqual(tokenDigest(token), expected);
    assert.ok(tokenMatches(token, expected));
    assert.ok(!tokenMatches(`${token}x`, expected));
    assert.ok(!tokenMatches('', expected));
    assert.ok(!tokenMatches(undefined, expected));
  });
});
