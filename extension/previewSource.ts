const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The CSP source that lets the page reach the preview endpoint at `base`: its origin, or
 * for loopback (a local window) the host with any port, so that a sidecar restarted on
 * another port does not need a new page.
 */
export function previewSource(base: string): string {
  const url = new URL(base);
  return loopbackHosts.has(url.hostname) ? `${url.protocol}//${url.hostname}:*` : url.origin;
}
