import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type Metadata,
  ResponderBuilder,
  type ServerInterceptingCallInterface,
  ServerInterceptingCall,
  type ServerInterceptor,
  ServerListenerBuilder,
  status,
} from '@grpc/grpc-js';

/** What a token is compared by: its SHA-256, so that the comparison takes the same time for any token. */
export const tokenDigest = (text: string) => createHash('sha256').update(text).digest();

/** The token of an `Authorization: Bearer <token>` value (a gRPC metadata value or an HTTP header), if it is one. */
export function bearerToken(value: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(value ?? '')?.[1];
}

/** Whether `token` is the one whose digest is `expectedDigest`, in constant time. */
export function tokenMatches(token: string | undefined, expectedDigest: Buffer): boolean {
  return token !== undefined && timingSafeEqual(tokenDigest(token), expectedDigest);
}

export type AuthVerdict = { ok: true } | { ok: false; message: string };

/** What to tell a caller without the metadata, or with the wrong token (the sidecar's wording by default). */
export interface AuthHints {
  missing: string;
  mismatch: string;
}

const sidecarHints: AuthHints = {
  missing:
    'missing "authorization: Bearer <token>" metadata; the token is in the sidecar\'s discovery file (see README, "Talking to the sidecar").',
  mismatch: 'the bearer token does not match this sidecar\'s token; re-read the discovery file.',
};

/** Checks the `authorization` metadata against the expected bearer token, in constant time. */
export function checkBearer(metadata: Metadata, expectedDigest: Buffer, hints: AuthHints = sidecarHints): AuthVerdict {
  const values = metadata.get('authorization');
  if (values.length === 0) {
    return { ok: false, message: hints.missing };
  }
  const token = bearerToken(String(values[0]));
  if (token === undefined) return { ok: false, message: 'the authorization metadata must be "Bearer <token>".' };
  if (!tokenMatches(token, expectedDigest)) {
    return { ok: false, message: hints.mismatch };
  }
  return { ok: true };
}

/** A server interceptor that rejects every call without the right bearer token with UNAUTHENTICATED. */
export function bearerAuthInterceptor(token: string, hints?: AuthHints): ServerInterceptor {
  const expected = tokenDigest(token);
  return (_method, call: ServerInterceptingCallInterface) =>
    new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withStart((next) => {
          next(
            new ServerListenerBuilder()
              .withOnReceiveMetadata((metadata, nextMetadata) => {
                const verdict = checkBearer(metadata, expected, hints);
                if (verdict.ok) nextMetadata(metadata);
                else call.sendStatus({ code: status.UNAUTHENTICATED, details: verdict.message });
              })
              .build(),
          );
        })
        .build(),
    );
}
