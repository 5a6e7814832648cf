/**
 * The WHIP server's routes (pure: method and path in, what to do out):
 *   POST    /whip/<name>                  a publisher's offer → 201, answer, Location
 *   OPTIONS /whip/<name>[/<session>]      204 with Accept-Post (CORS preflight too)
 *   DELETE  /whip/<name>/<session>        ends the session → 200
 *   PATCH   /whip/<name>/<session>        trickle ICE / ICE restart: 405 (not supported)
 *   GET     /publish, /publish.js         the publisher page
 * <name> is the feed's name: the stream `whip:<name>` decodes it.
 */

export type Route =
  | { kind: 'options'; name: string; session?: string }
  | { kind: 'offer'; name: string }
  | { kind: 'delete'; name: string; session: string }
  | { kind: 'patch'; name: string; session: string }
  | { kind: 'page' }
  | { kind: 'script' }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'bad-name'; name: string }
  | { kind: 'not-found' };

export const whipPathPrefix = '/whip';
export const publishPath = '/publish';
export const namePattern = /^[A-Za-z0-9._-]{1,64}$/;

export function route(method: string, rawPath: string): Route {
  const path = rawPath.split('?')[0]!.split('#')[0]!;
  if (path === publishPath || path === `${publishPath}/`) return method === 'GET' || method === 'HEAD' ? { kind: 'page' } : notAllowed(['GET', 'HEAD']);
  if (path === `${publishPath}.js`) return method === 'GET' || method === 'HEAD' ? { kind: 'script' } : notAllowed(['GET', 'HEAD']);
  if (path !== whipPathPrefix && !path.startsWith(`${whipPathPrefix}/`)) return { kind: 'not-found' };
  const parts = path.slice(whipPathPrefix.length).split('/').filter(Boolean).map(safeDecode);
  if (parts.length === 0) return method === 'OPTIONS' ? { kind: 'options', name: '' } : notAllowed(['OPTIONS']);
  if (parts.length > 2 || parts.some((p) => p === undefined)) return { kind: 'not-found' };
  const [name, session] = parts as [string, string | undefined];
  if (!namePattern.test(name)) return { kind: 'bad-name', name };
  if (session === undefined) {
    if (method === 'POST') return { kind: 'offer', name };
    if (method === 'OPTIONS') return { kind: 'options', name };
    return notAllowed(['POST', 'OPTIONS']);
  }
  switch (method) {
    case 'DELETE':
      return { kind: 'delete', name, session };
    case 'PATCH':
      return { kind: 'patch', name, session };
    case 'OPTIONS':
      return { kind: 'options', name, session };
    default:
      return notAllowed(['DELETE', 'OPTIONS']);
  }
}

const notAllowed = (allow: string[]): Route => ({ kind: 'method-not-allowed', allow });

function safeDecode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** Whether a Content-Type header names application/sdp (parameters allowed). */
export function isSdpContentType(value: string | undefined): boolean {
  return (value ?? '').split(';')[0]!.trim().toLowerCase() === 'application/sdp';
}
