import { readFile } from 'node:fs/promises';
import { UsageError } from './cli';

/** At least this many characters, so that a token cannot be guessed over loopback. */
export const minimumTokenLength = 16;

/** The first line of a token file, trimmed; a UsageError naming the file when it cannot be read. */
export async function readTokenFile(tokenFile: string): Promise<string> {
  try {
    return (await readFile(tokenFile, 'utf8')).split(/\r?\n/, 1)[0]!.trim();
  } catch (error) {
    throw new UsageError(`cannot read --token-file ${tokenFile}: ${(error as Error).message}`);
  }
}

export async function loadToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  let token: string;
  let origin: string;
  if (tokenFile !== undefined) {
    token = await readTokenFile(tokenFile);
    origin = `--token-file ${tokenFile}`;
  } else if (env.SIDESTREAM_TOKEN !== undefined) {
    token = env.SIDESTREAM_TOKEN.trim();
    origin = 'SIDESTREAM_TOKEN';
  } else {
    throw new UsageError(
      'no token: set SIDESTREAM_TOKEN or pass --token-file PATH (every call must carry "authorization: Bearer <token>").',
    );
  }
  if (token.length < minimumTokenLength) {
    throw new UsageError(`the token from ${origin} is ${token.length} characters; use at least ${minimumTokenLength}.`);
  }
  return token;
}
