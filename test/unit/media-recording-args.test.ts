// sidecar/media/recordingArgs.ts: what a recording writes (container, copy or encode,
// codecs) and the argument arrays of both ffmpeg halves.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildDecodeArgs } from '../../sidecar/media/ffmpegArgs';
import { containerFromPath, partPath, planRecording, recorderArgs, recordingBaseName } from '../../sidecar/media/recordingArgs';
import { MediaError } from '../../sidecar/media/types';
import { parseSourceUri } from '../../sidecar/media/uri';

const request = { quality: 'balanced' as const, noAudio: false, segmentSeconds: 0 };

describe('planRecording', () => {
  test('copy when the codecs fit the container; audio that does not fit is encoded, video never silently', () => {
    assert.deepEqual(planRecording({ video: 'h264', audio: 'aac', frameRate: 30 }, { ...request, container: 'mp4' }), {
      container: 'mp4', mode: 'copy', quality: 'balanced', video: { codec: 'h264', copy: true }, audio: { codec: 'aac', copy: true }, keyframeSeconds: 2,
    });
    const vorbis = planRecording({ video: 'vp9', audio: 'vorbis', frameRate: 30 }, { ...request, container: 'mp4' });
    assert.deepEqual([vorbis.mode, vorbis.video, vorbis.audio], ['copy', { codec: 'vp9', copy: true }, { codec: 'aac', copy: false }]);
    assert.equal(planRecording({ video: 'h264', frameRate: 30 }, { ...request, container: 'webm' }).mode, 'encode');
    assert.throws(() => planRecording({ video: 'h264', frameRate: 30 }, { ...request, container: 'webm', mode: 'copy' }), (e: MediaError) => e.code === 'invalid-argument' && /webm cannot hold h264 video; use mode encode or container mkv/.test(e.message));
    assert.equal(planRecording({ video: 'hevc', frameRate: 30 }, { ...request, container: 'mkv', mode: 'copy' }).video?.codec, 'hevc');
  });

  test('raw sources are encoded: H264 + AAC in mp4, H264 + Opus in mkv, VP8 + Opus in webm', () => {
    const raw = { video: 'rawvideo', audio: 'pcm_s16le', frameRate: 30 };
    assert.deepEqual([planRecording(raw, { ...request, container: 'mp4' })].map((p) => [p.mode, p.video?.codec, p.audio?.codec]), [['encode', 'h264', 'aac']]);
    assert.deepEqual([planRecording(raw, { ...request, container: 'mkv' })].map((p) => [p.video?.codec, p.audio?.codec]), [['h264', 'opus']]);
    assert.deepEqual([planRecording(raw, { ...request, container: 'webm' })].map((p) => [p.video?.codec, p.audio?.codec]), [['vp8', 'opus']]);
    assert.throws(() => planRecording(raw, { ...request, container: 'mp4', mode: 'copy' }), /raw frames are not copied/);
  });

  test('no_audio, audio-only sources, and segments shorter than the keyframe interval', () => {
    assert.equal(planRecording({ video: 'h264', audio: 'aac', frameRate: 30 }, { ...request, container: 'mp4', noAudio: true }).audio, undefined);
    const mic = planRecording({ audio: 'pcm_s16le', frameRate: 0 }, { ...request, container: 'mp4' });
    assert.deepEqual([mic.mode, mic.video, mic.audio], ['encode', undefined, { codec: 'aac', copy: false }]);
    assert.throws(() => planRecording({ audio: 'aac', frameRate: 0 }, { ...request, container: 'mp4', noAudio: true }), /nothing to record/);
    assert.equal(planRecording({ video: 'rawvideo', frameRate: 30 }, { ...request, container: 'mp4', segmentSeconds: 1 }).keyframeSeconds, 1);
  });
});

describe('the two ffmpeg halves', () => {
  const plan = planRecording({ video: 'rawvideo', audio: 'pcm_s16le', frameRate: 30 }, { ...request, container: 'mp4' });

  test('the decoder encodes from its own split of the pictures and writes NUT on the pipe after the subscribers\'', () => {
    const spec = parseSourceUri('test:video?size=320x240&tone=440', 'linux');
    const args = buildDecodeArgs(spec, [{ format: 'jpeg', width: 160, height: 120, jpegQuality: 5 }], { width: 320, height: 240 }, { platform: 'linux', hwaccel: 'auto' }, [], [plan], 30);
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    assert.match(graph, /^\[0:v:0\]split=2\[s0\]\[s1\];\[s0\]scale=160:120:.*\[o0\];\[s1\]format=yuv420p\[rv0\]$/);
    const tail = args.slice(args.indexOf('[rv0]') - 1);
    assert.deepEqual(tail.slice(0, 4), ['-map', '[rv0]', '-c:v', 'libx264']);
    assert.deepEqual(tail.slice(tail.indexOf('-g'), tail.indexOf('-g') + 4), ['-g', '60', '-force_key_frames', 'expr:gte(t,n_forced*2)']);
    assert.deepEqual(tail.slice(-11), ['-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k', '-fps_mode', 'passthrough', '-flush_packets', '1', '-f', 'nut', 'pipe:4'].slice(-11));
  });

  test('copy needs no filter graph at all', () => {
    const copy = planRecording({ video: 'h264', frameRate: 25 }, { ...request, container: 'mkv' });
    const args = buildDecodeArgs(parseSourceUri('/clips/a.mp4', 'linux'), [], { width: 0, height: 0 }, { platform: 'linux', hwaccel: 'none' }, [], [copy], 25);
    assert.ok(!args.includes('-filter_complex'));
    assert.deepEqual(args.slice(-10), ['-map', '0:v:0', '-c:v', 'copy', '-fps_mode', 'passthrough', '-flush_packets', '1', '-f', 'nut', 'pipe:3'].slice(-10));
  });

  test('the recorder: fragmented MP4, metadata, never overwriting; segments numbered on from where a part left off', () => {
    const single = recorderArgs(plan, { path: '/r/a.mp4', segmentSeconds: 0, firstSegment: 0 }, [['title', 'T'], ['lab', 'x=y']]);
    assert.deepEqual(single.slice(single.indexOf('-f'), single.indexOf('-f') + 4), ['-f', 'nut', '-i', 'pipe:0']);
    assert.ok(single.join(' ').includes('-metadata title=T -metadata lab=x=y'));
    assert.deepEqual(single.slice(-8), ['-movflags', '+frag_keyframe+empty_moov+default_base_moof+use_metadata_tags', '-frag_duration', '1000000', '-f', 'mp4', '-n', '/r/a.mp4']);
    const segments = recorderArgs(plan, { segmentPattern: '/r/a-%05d.mp4', segmentSeconds: 10, firstSegment: 7 }, []);
    assert.deepEqual(segments.slice(segments.indexOf('segment') - 1, segments.indexOf('segment') + 5), ['-f', 'segment', '-segment_format', 'mp4', '-segment_format_options', 'movflags=+frag_keyframe+empty_moov+default_base_moof+use_metadata_tags:frag_duration=1000000']);
    assert.equal(segments[segments.indexOf('-segment_start_number') + 1], '7');
    assert.deepEqual(segments.slice(-2), ['-n', '/r/a-%05d.mp4']);
  });

  test('names: parts, stream names made safe, containers from extensions', () => {
    assert.equal(partPath('/r/clip.mp4', 1), '/r/clip.mp4');
    assert.equal(partPath('/r/clip.mp4', 3), '/r/clip-part3.mp4');
    assert.equal(partPath('/r.d/clip', 2), '/r.d/clip-part2');
    assert.equal(recordingBaseName('Test pattern 1280x720@30', new Date('2026-12-01T07:50:00.123Z')), 'Test-pattern-1280x720-30-20261201T075000Z');
    assert.equal(recordingBaseName('../../etc', new Date('2026-12-01T07:50:00Z')), 'etc-20261201T075000Z', 'no leading dots');
    assert.equal(containerFromPath('/a/b.MKV'), 'mkv');
    assert.equal(containerFromPath('/a/b.avi'), undefined);
  });
});
