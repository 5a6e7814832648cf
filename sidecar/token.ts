import { readFile } from 'node:fs/promises';
import { UsageError } from './cli';

/** At least this many characters, so that a token cannot be guessed over loopback. */
export const minimumTokenLength = 16;

export async function loadToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  let token: string;
  let origin: string;
  if (tokenFile !== undefined) {
    try {
      token = (await readFile(tokenFile, 'utf8')).split(/\r?\n/, 1)[0]!.trim();
    } catch (error) {
      throw new UsageError(`cannot read --token-file ${tokenFile}: ${(error as Error).message}`);
    }
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
