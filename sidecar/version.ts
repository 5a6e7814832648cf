declare const SIDESTREAM_VERSION: string | undefined;

/** The product version; esbuild defines it from package.json, unbundled runs (tests) read it from package.json. */
export const version: string =
  typeof SIDESTREAM_VERSION === 'string' ? SIDESTREAM_VERSION : readPackageVersion();

function readPackageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  const { join } = require('node:path') as typeof import('node:path');
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
