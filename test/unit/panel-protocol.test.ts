// webview/protocol.ts, the webview's frame flow control and the preview stream's
// records: every message between the stream panel and the extension is checked on
// receipt; a tile never has more than two frames decoding or waiting to be drawn, the
// newest waiting frame wins; records are cut exactly however the bytes arrive.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodePreviewHeader, PreviewStreamError, PreviewStreamParser } from '../../proto/codec/previewStream';
import { FramePump } from '../../webview/framePump';
import { previewSource } from '../../extension/previewSource';
import { validateStreamUrl } from '../../extension/streamUrl';
import { layoutFor, parseHostMessage, parsePanelState, parseWebviewMessage } from '../../webview/protocol';

describe('messages from the webview', () => {
  test('well-formed messages come through as they are', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    const painted = [{ streamId: 's1', sequence: 7, latencyMs: 21.5 }, { streamId: 's2', sequence: 3, latencyMs: -1 }];
    assert.deepEqual(parseWebviewMessage({ type: 'painted', frames: painted }), { type: 'painted', frames: painted });
    assert.deepEqual(parseWebviewMessage({ type: 'action', streamId: 'cam-1', action: 'record', extra: 'ignored' }), { type: 'action', streamId: 'cam-1', action: 'record' });
    assert.deepEqual(parseWebviewMessage({ type: 'options', streamId: 's', policy: 'adaptive', maxFps: 15, width: 640 }), { type: 'options', streamId: 's', policy: 'adaptive', maxFps: 15, width: 640 });
    const png = new Uint8Array([137, 80, 78, 71]);
    assert.equal((parseWebviewMessage({ type: 'snapshotData', requestId: 3, streamId: 's', png }) as { png: Uint8Array }).png, png);
  });

  test('anything else is dropped: unknown types, wrong field types, out-of-range values, ids that are not ids', () => {
    const bad: unknown[] = [
      null, 'ready', [], { type: 'nope' },
      { type: 'painted', frames: [{ streamId: 's', sequence: -1, latencyMs: 1 }] },
      { type: 'painted', frames: [{ streamId: 's', sequence: 1.5, latencyMs: 1 }] },
      { type: 'painted', frames: [{ streamId: 's', sequence: 1, latencyMs: Number.NaN }] },
      { type: 'painted', streamId: 's', sequence: 1, latencyMs: 1 },
      { type: 'action', streamId: 's', action: 'rm -rf' },
      { type: 'action', streamId: '../etc', action: 'close' },
      { type: 'tileSize', streamId: 's', width: 1e9, height: 10 },
      { type: 'layout', layout: '4x4' },
      { type: 'options', streamId: 's', policy: 'wait', maxFps: 5, width: 0 },
      { type: 'options', streamId: 's', policy: 'adaptive', maxFps: 5 },
      { type: 'openFile', path: '' },
      { type: 'snapshotData', requestId: 1, streamId: 's', png: [1, 2, 3] },
    ];
    for (const message of bad) assert.equal(parseWebviewMessage(message), undefined, JSON.stringify(message));
  });
});

describe('messages from the extension', () => {
  test('the preview endpoint must be an http(s) URL without query or credentials, its token a token', () => {
    const token = 'abcDEF_-0123456789abcdef0123456789abcdef012';
    assert.deepEqual(parseHostMessage({ type: 'preview', base: 'http://127.0.0.1:4321', token }), { type: 'preview', base: 'http://127.0.0.1:4321', token });
    assert.ok(parseHostMessage({ type: 'preview', base: 'https://cs.example/proxy/4321', token }));
    for (const base of ['javascript:alert(1)', 'file:///etc/passwd', 'http://u:p@127.0.0.1:1', 'http://127.0.0.1:1/?x=1', 'not a url']) {
      assert.equal(parseHostMessage({ type: 'preview', base, token }), undefined, base);
    }
    assert.equal(parseHostMessage({ type: 'preview', base: 'http://127.0.0.1:1', token: 'a b' }), undefined);
  });

  test('a tile\'s feed is a plain query (or empty for none)', () => {
    assert.deepEqual(parseHostMessage({ type: 'feed', streamId: 's', query: 'width=640&policy=latest_only&max_fps=0&quality=8' }), {
      type: 'feed',
      streamId: 's',
      query: 'width=640&policy=latest_only&max_fps=0&quality=8',
    });
    assert.ok(parseHostMessage({ type: 'feed', streamId: 's', query: '' }));
    assert.equal(parseHostMessage({ type: 'feed', streamId: 's', query: 'a=1#frag' }), undefined);
    assert.equal(parseHostMessage({ type: 'feed', streamId: 's', query: '"><script>' }), undefined);
    assert.equal(parseHostMessage({ type: 'feed', streamId: '../x', query: '' }), undefined);
  });

  test('tiles, stats and recordings are checked field by field', () => {
    assert.deepEqual(parseHostMessage({ type: 'tiles', tiles: [{ streamId: 'a', name: 'A', uri: 'test:' }] }), { type: 'tiles', tiles: [{ streamId: 'a', name: 'A', uri: 'test:' }] });
    assert.equal(parseHostMessage({ type: 'tiles', tiles: [{ streamId: 'a', name: 'A' }] }), undefined);
    const stats = { streamId: 'a', state: 'live', reason: '', width: 1, height: 1, inputFps: 30, paintedFps: 29, latencyP50Ms: 20, latencyP95Ms: 40, bitRate: 1, drops: 0, audioLevels: [-20, -21] };
    assert.ok(parseHostMessage({ type: 'stats', stats }));
    assert.equal(parseHostMessage({ type: 'stats', stats: { ...stats, state: 'on fire' } }), undefined);
    assert.equal(parseHostMessage({ type: 'stats', stats: { ...stats, audioLevels: ['-20'] } }), undefined);
    assert.ok(parseHostMessage({ type: 'recording', recording: { streamId: 'a', state: 'stopped', startedAtMs: 0, file: '/r/a.mp4', reason: '' } }));
    assert.equal(parseHostMessage({ type: 'recording', recording: { streamId: 'a', state: 'paused', startedAtMs: 0, file: '', reason: '' } }), undefined);
  });

  test('saved panel state and the grid for a number of tiles', () => {
    const tiles = [{ streamId: 'a', name: 'A', uri: 'test:video' }];
    assert.deepEqual(parsePanelState({ layout: '2x2', tiles }), { layout: '2x2', tiles });
    assert.equal(parsePanelState({ layout: '2x2', tiles: [{ streamId: 'a b', name: 'A', uri: 'test:' }] }), undefined);
    assert.deepEqual(parsePanelState({ layout: 'auto', tiles }), { layout: 'auto', tiles });
    assert.equal(parsePanelState({ layout: '5x5', tiles }), undefined);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 9, 12].map(layoutFor), ['1', '1', '2x1', '2x2', '2x2', '3x3', '3x3', '3x3']);
  });
});

describe('FramePump', () => {
  test('two frames in flight at most; while full the newest frame waits and replaces older waiting ones', () => {
    const posted: number[] = [];
    const pump = new FramePump<{ sequence: number }>((frame) => posted.push(frame.sequence));
    for (let sequence = 1; sequence <= 5; sequence++) pump.offer({ sequence });
    assert.deepEqual(posted, [1, 2]);
    assert.equal(pump.replaced, 2, 'frames 3 and 4 were replaced by 5');
    assert.equal(pump.pendingCount, 3);
    pump.painted(1);
    assert.deepEqual(posted, [1, 2, 5]);
    pump.painted(99); // not in flight: nothing changes
    pump.offer({ sequence: 6 });
    assert.deepEqual(posted, [1, 2, 5]);
    pump.painted(2);
    pump.painted(5);
    assert.deepEqual(posted, [1, 2, 5, 6]);
    pump.offer({ sequence: 7 });
    assert.deepEqual(posted, [1, 2, 5, 6, 7]);
  });

  test('a slow webview never makes a queue: memory stays at three frames whatever arrives', () => {
    const pump = new FramePump<{ sequence: number }>(() => undefined);
    for (let sequence = 0; sequence < 10_000; sequence++) pump.offer({ sequence });
    assert.equal(pump.pendingCount, 3);
    assert.equal(pump.posted, 2);
    pump.reset();
    assert.equal(pump.pendingCount, 0);
    pump.offer({ sequence: 10_001 });
    assert.equal(pump.posted, 3, 'after a reset (a new page) frames flow again');
  });
});

describe('URL input', () => {
  test('network URLs are accepted; anything else says what to type', () => {
    assert.equal(validateStreamUrl('rtsp://camera.local:554/stream'), undefined);
    assert.equal(validateStreamUrl(' https://example.com/live.m3u8 '), undefined);
    assert.match(validateStreamUrl('')!, /Type a URL/);
    assert.match(validateStreamUrl('ftp://x/y')!, /Use rtsp:\/\//);
    assert.match(validateStreamUrl('rtsp://')!, /valid URL|needs a host/);
  });
});

describe('preview stream records', () => {
  const record = (sequence: number, bytes: number[]) => {
    const data = Uint8Array.from(bytes);
    const header = encodePreviewHeader({ sequence, capturedAtMs: 1_700_000_000_123.5, width: 640, height: 360, droppedBefore: sequence % 3 }, data.length);
    const whole = new Uint8Array(header.length + data.length);
    whole.set(header);
    whole.set(data, header.length);
    return whole;
  };
  const stream = Uint8Array.from([...record(1, [0xff, 0xd8, 1, 2, 0xff, 0xd9]), ...record(2, [0xff, 0xd8, 3, 0xff, 0xd9]), ...record(3, [0xff, 0xd8, 0xff, 0xd9])]);

  test('whole records come out with their fields, however the bytes are cut', () => {
    for (const cut of [1, 2, 5, 31, 32, 33, 37, stream.length]) {
      const parser = new PreviewStreamParser();
      const out = [];
      for (let offset = 0; offset < stream.length; offset += cut) out.push(...parser.push(stream.subarray(offset, offset + cut)));
      assert.deepEqual(out.map((r) => r.sequence), [1, 2, 3], `cut every ${cut} bytes`);
      assert.deepEqual([...out[0]!.data], [0xff, 0xd8, 1, 2, 0xff, 0xd9]);
      assert.deepEqual([...out[2]!.data], [0xff, 0xd8, 0xff, 0xd9]);
      assert.deepEqual([out[1]!.width, out[1]!.height, out[1]!.droppedBefore, out[1]!.capturedAtMs], [640, 360, 2, 1_700_000_000_123.5]);
    }
  });

  test('an image within one chunk is a view of it, not a copy', () => {
    const parser = new PreviewStreamParser();
    const [first] = parser.push(stream);
    assert.equal(first!.data.buffer, stream.buffer);
  });

  test('a header that claims no image or an absurd one is an error, not a wait for ever', () => {
    const empty = encodePreviewHeader({ sequence: 1, capturedAtMs: 0, width: 1, height: 1, droppedBefore: 0 }, 0);
    assert.throws(() => new PreviewStreamParser().push(empty), PreviewStreamError);
    const huge = encodePreviewHeader({ sequence: 1, capturedAtMs: 0, width: 1, height: 1, droppedBefore: 0 }, 0xffffffff);
    assert.throws(() => new PreviewStreamParser().push(huge), /4294967295 bytes/);
  });
});

describe('the CSP source of the preview endpoint', () => {
  test('loopback: any port of that host (a restarted sidecar keeps its page); elsewhere: the origin', () => {
    assert.equal(previewSource('http://127.0.0.1:41234'), 'http://127.0.0.1:*');
    assert.equal(previewSource('http://localhost:5000'), 'http://localhost:*');
    assert.equal(previewSource('http://[::1]:5000'), 'http://[::1]:*');
    assert.equal(previewSource('https://cs.example.com/proxy/41234'), 'https://cs.example.com');
    assert.equal(previewSource('http://127.0.0.1:8080/proxy/41234'), 'http://127.0.0.1:*', 'code-server on loopback');
  });
});
