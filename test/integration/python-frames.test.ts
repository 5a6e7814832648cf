// The language-agnostic proof for frames: examples/python/watch_frames.py, a real Python gRPC
// client (Debian's python3-grpcio, stubs generated at test time by examples/python/gen_stubs.py
// with protoc + grpc_python_plugin), subscribes to decoded frames of a stream that another client
// opened in the real sidecar, checks them, saves one and prints a JSON summary.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { discoveryRecord, explainRun, generateStubs, pythonTools, type Run, runExample } from './helpers/python';
import { newToken, type RunningSidecar, startSidecar } from './helpers/sidecar';
import { StreamsTestClient } from './helpers/streams';

const streamId = 'py-frames';
const uri = 'test:video?size=640x360&rate=30';

interface Summary {
  frames: number;
  width: number;
  height: number;
  format: string;
  fps: number | null;
  first_sequence: number;
  last_sequence: number;
  dropped: number;
  latency_ms_p50: number | null;
}

/** The one JSON line on stdout. */
function summaryOf(r: Run): Summary {
  const lines = r.stdout.split('\n').filter((line) => line.length > 0);
  assert.equal(lines.length, 1, `stdout is one JSON line: ${explainRun(r)}`);
  return JSON.parse(lines[0]!) as Summary;
}

describe('a Python program reads decoded frames through the sidecar (examples/python/watch_frames.py)', { timeout: 60_000 }, () => {
  let work: string;
  let stubs: string;
  let sidecar: RunningSidecar;
  let client: StreamsTestClient;
  let discovery: string;
  const token = newToken();
  const tools = pythonTools('the Python frames test');

  const record = (overrides: Record<string, unknown> = {}) => discoveryRecord(sidecar, token, overrides);

  /** Runs watch_frames.py with the stubs generated for this test and a clean SIDESTREAM_* environment. */
  function watchFrames(args: string[], env: NodeJS.ProcessEnv = { SIDESTREAM_DISCOVERY_FILE: discovery }): Promise<Run> {
    return runExample('watch_frames.py', stubs, args, env);
  }

  before(async () => {
    if (!tools.check()) return;
    work = mkdtempSync(join(tmpdir(), 'sidestream-python-frames-'));
    stubs = join(work, 'stubs');
    await generateStubs(stubs);

    sidecar = await startSidecar({ token, args: ['--no-parent-watch'] });
    client = new StreamsTestClient(sidecar.address, token);
    // Another client opens the stream (as VS Code would); Python only names it.
    await client.open({ uri, id: streamId });

    discovery = join(work, 'discovery.json');
    writeFileSync(discovery, record(), { mode: 0o600 });
  });

  after(() => {
    client?.shutdown();
    sidecar?.kill();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('rgb24 at width 320: 30 well-formed frames, a JSON summary, the last frame saved as a PPM', async () => {
    tools.require();
    const out = join(work, 'out.ppm');
    const result = await watchFrames([streamId, '--format', 'rgb24', '--width', '320', '--frames', '30', '--save', out]);
    assert.equal(result.code, 0, explainRun(result));
    const summary = summaryOf(result);
    assert.equal(summary.frames, 30, explainRun(result));
    assert.equal(summary.width, 320);
    assert.equal(summary.height, 180, 'the height follows the source\'s aspect ratio');
    assert.equal(summary.format, 'rgb24');
    assert.ok(summary.last_sequence > summary.first_sequence, JSON.stringify(summary));
    assert.ok(summary.last_sequence - summary.first_sequence + 1 >= 30, 'sequences cover at least the frames received');
    assert.ok(typeof summary.fps === 'number' && summary.fps > 0, JSON.stringify(summary));
    assert.ok(typeof summary.dropped === 'number' && summary.dropped >= 0, JSON.stringify(summary));

    const ppm = readFileSync(out);
    const header = Buffer.from('P6\n320 180\n255\n', 'ascii');
    assert.deepEqual(ppm.subarray(0, header.length), header, `PPM header: ${JSON.stringify(ppm.subarray(0, 20).toString('latin1'))}`);
    const pixels = ppm.subarray(header.length);
    assert.equal(pixels.length, 320 * 180 * 3);
    // The test pattern (testsrc2) is not uniform: many distinct colours.
    const colours = new Set<number>();
    for (let i = 0; i < pixels.length; i += 3) colours.add((pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]!);
    assert.ok(colours.size >= 8, `${colours.size} distinct colours`);
  });

  test('jpeg at width 160: the saved file is one JPEG image; progress and capture latency on stderr', async () => {
    tools.require();
    const out = join(work, 'out.jpg');
    // 60 frames at 30 fps last about 2 s: at least one progress line.
    const result = await watchFrames([streamId, '--format', 'jpeg', '--width', '160', '--frames', '60', '--policy', 'latest_only', '--save', out]);
    assert.equal(result.code, 0, explainRun(result));
    const summary = summaryOf(result);
    assert.equal(summary.frames, 60);
    assert.equal(summary.format, 'jpeg');
    assert.equal(summary.width, 160);
    assert.equal(summary.height, 90);
    // Test sources stamp their capture time.
    assert.ok(typeof summary.latency_ms_p50 === 'number' && summary.latency_ms_p50 >= 0, JSON.stringify(summary));
    assert.match(result.stderr, /^\d+ frames\s+[\d.]+ fps\s+latency [\d.-]+ ms \(capture to arrival\)\s+dropped \d+$/m, result.stderr);
    const jpeg = readFileSync(out);
    assert.ok(jpeg.length > 4, `${jpeg.length} bytes`);
    assert.deepEqual([jpeg[0], jpeg[1]], [0xff, 0xd8], 'starts with SOI');
    assert.deepEqual([jpeg[jpeg.length - 2], jpeg[jpeg.length - 1]], [0xff, 0xd9], 'ends with EOI');
  });

  test('gray and i420 frames have the byte lengths their formats imply; gray is saved as a PGM', async () => {
    tools.require();
    const out = join(work, 'out.pgm');
    const gray = await watchFrames([streamId, '--format', 'gray', '--width', '320', '--frames', '5', '--save', out]);
    assert.equal(gray.code, 0, explainRun(gray));
    assert.equal(summaryOf(gray).format, 'gray');
    const pgm = readFileSync(out);
    const header = Buffer.from('P5\n320 180\n255\n', 'ascii');
    assert.deepEqual(pgm.subarray(0, header.length), header);
    assert.equal(pgm.length - header.length, 320 * 180);
    const i420 = await watchFrames([streamId, '--format', 'i420', '--width', '320', '--frames', '5']);
    assert.equal(i420.code, 0, explainRun(i420));
    const summary = summaryOf(i420);
    assert.deepEqual([summary.format, summary.width, summary.height, summary.frames], ['i420', 320, 180, 5]);
  });

  test('--list shows the open stream: id, uri, state', async () => {
    tools.require();
    const result = await watchFrames(['--list']);
    assert.equal(result.code, 0, explainRun(result));
    const line = result.stdout.split('\n').find((l) => l.startsWith(`${streamId}\t`));
    assert.ok(line, explainRun(result));
    const [id, listedUri, state] = line.split('\t');
    assert.equal(id, streamId);
    assert.equal(listedUri, uri);
    assert.match(state ?? '', /^(idle|starting|live|stalled|reconnecting)$/);
  });

  test('an unknown stream id: exit 1, NOT_FOUND', async () => {
    tools.require();
    const result = await watchFrames(['no-such-stream', '--frames', '1']);
    assert.equal(result.code, 1, explainRun(result));
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /watch_frames: NOT_FOUND: /);
  });

  test('a wrong token in the discovery file: exit 1, UNAUTHENTICATED', async () => {
    tools.require();
    const wrong = join(work, 'wrong-token.json');
    writeFileSync(wrong, record({ token: newToken() }), { mode: 0o600 });
    const result = await watchFrames([streamId, '--frames', '1'], { SIDESTREAM_DISCOVERY_FILE: wrong });
    assert.equal(result.code, 1, explainRun(result));
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /watch_frames: UNAUTHENTICATED: /);
  });

  test('usage and setup errors: exit 2', async () => {
    tools.require();
    const noId = await watchFrames([]);
    assert.equal(noId.code, 2, explainRun(noId));
    assert.match(noId.stderr, /STREAM_ID is required/);
    const noDiscovery = await watchFrames([streamId], { SIDESTREAM_DISCOVERY_FILE: join(work, 'nope.json') });
    assert.equal(noDiscovery.code, 2, explainRun(noDiscovery));
    assert.match(noDiscovery.stderr, /cannot use the discovery file/);
  });
});
