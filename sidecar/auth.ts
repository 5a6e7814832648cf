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

const digest = (text: string) => createHash('sha256').update(text).digest();

export type AuthVerdict = { ok: true } | { ok: false; message: string };

/** Checks the `authorization` metadata against the expected bearer token, in constant time. */
export function checkBearer(metadata: Metadata, expectedDigest: Buffer): AuthVerdict {
  const values = metadata.get('authorization');
  if (values.length === 0) {
    return {
      ok: false,
      message:
        'missing "authorization: Bearer <token>" metadata; the token is in the sidecar\'s discovery file (see README, "Talking to the sidecar").',
    };
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(String(values[0]));
  if (!match) return { ok: false, message: 'the authorization metadata must be "Bearer <token>".' };
  if (!timingSafeEqual(digest(match[1]!), expectedDigest)) {
    return { ok: false, message: 'the bearer token does not match this sidecar\'s token; re-read the discovery file.' };
  }
  return { ok: true };
}

/** A server interceptor that rejects every call without the right bearer token with UNAUTHENTICATED. */
export function bearerAuthInterceptor(token: string): ServerInterceptor {
  const expected = digest(token);
  return (_method, call: ServerInterceptingCallInterface) =>
    new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withStart((next) => {
          next(
            new ServerListenerBuilder()
              .withOnReceiveMetadata((metadata, nextMetadata) => {
                const verdict = checkBearer(metadata, expected);
                if (verdict.ok) nextMetadata(metadata);
                else call.sendStatus({ code: status.UNAUTHENTICATED, details: verdict.message });
              })
              .build(),
          );
        })
        .build(),
    );
}
