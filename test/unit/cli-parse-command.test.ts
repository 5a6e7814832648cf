// sidecar/cli.ts parseCommand: what the sidecar does with its command line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { helpText, parseCommand, UsageError } from '../../sidecar/cli';

describe('parseCommand', () => {
  test('no arguments: serve on a free loopback port, info logging, watching the parent', () => {
    assert.deepEqual(parseCommand([]), {
      kind: 'serve',
      options: {
        listen: '127.0.0.1:0',
        whip: { listen: '127.0.0.1:0', idleTimeoutMs: 5000, tlsCert: undefined, tlsKey: undefined },
        tokenFile: undefined,
        ffmpegPath: undefined,
        ffprobePath: undefined,
        logLevel: 'info',
        watchParent: true,
        cacheDir: undefined,
        cacheLimit: 0,
      },
    });
  });

  test('every serve option is carried through', () => {
    const command = parseCommand([
      '--listen', '[::1]:50051',
      '--token-file', '/run/token',
      '--ffmpeg', '/opt/ffmpeg',
      '--ffprobe', '/opt/ffprobe',
      '--log-level', 'debug',
      '--no-parent-watch',
      '--cache-dir', '/var/cache/models',
      '--cache-limit', '20Gi',
    ]);
    assert.deepEqual(command, {
      kind: 'serve',
      options: {
        listen: '[::1]:50051',
        whip: { listen: '127.0.0.1:0', idleTimeoutMs: 5000, tlsCert: undefined, tlsKey: undefined },
        tokenFile: '/run/token',
        ffmpegPath: '/opt/ffmpeg',
        ffprobePath: '/opt/ffprobe',
        logLevel: 'debug',
        watchParent: false,
        cacheDir: '/var/cache/models',
        cacheLimit: 20 * 1024 ** 3,
      },
    });
  });

  test('--help and -h return the help text, even next to other options', () => {
    assert.deepEqual(parseCommand(['--help']), { kind: 'help', text: helpText });
    assert.deepEqual(parseCommand(['-h']), { kind: 'help', text: helpText });
    assert.deepEqual(parseCommand(['--listen', '127.0.0.1:1', '--help']), { kind: 'help', text: helpText });
  });

  test('--version', () => {
    assert.deepEqual(parseCommand(['--version']), { kind: 'version' });
  });

  test('every log level is accepted', () => {
    for (const level of ['trace', 'debug', 'info', 'warn', 'error']) {
      const command = parseCommand(['--log-level', level]);
      assert.equal(command.kind === 'serve' && command.options.logLevel, level);
    }
  });

  test('a bad --log-level is a UsageError that lists the valid levels', () => {
    assert.throws(
      () => parseCommand(['--log-level', 'loud']),
      (error: unknown) =>
        error instanceof UsageError &&
        /--log-level/.test(error.message) &&
        /trace, debug, info, warn, error/.test(error.message) &&
        /"loud"/.test(error.message),
    );
  });

  test('an unknown flag is a UsageError naming the flag and pointing to --help', () => {
    assert.throws(
      () => parseCommand(['--port', '80']),
      (error: unknown) => error instanceof UsageError && /--port/.test(error.message) && /--help/.test(error.message),
    );
  });

  test('a positional argument is a UsageError', () => {
    assert.throws(() => parseCommand(['serve']), UsageError);
  });

  test('a string option without its value is a UsageError', () => {
    assert.throws(
      () => parseCommand(['--token-file']),
      (error: unknown) => error instanceof UsageError && /--token-file/.test(error.message),
    );
  });

  test('a bad --listen is rejected while parsing, before anything starts', () => {
    assert.throws(
      () => parseCommand(['--listen', 'localhost']),
      (error: unknown) => error instanceof UsageError && /--listen/.test(error.message) && /"localhost"/.test(error.message),
    );
  });
});
