// The audio parts of the media engine that need no ffmpeg: ashowinfo lines, cutting PCM
// by sample counts, the PCM outputs of the decode command, and audio levels.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioLevels, toDbfs } from '../../sidecar/media/analytics';
import { buildDecodeArgs, resolveAudioOutput } from '../../sidecar/media/ffmpegArgs';
import { PcmCutter } from '../../sidecar/media/frameSplitter';
import { ShowinfoReader } from '../../sidecar/media/showinfo';
import { lavfiSource } from '../../sidecar/media/sourceArgs';
import type { SourceSpec } from '../../sidecar/media/types';
import { parseSourceUri } from '../../sidecar/media/uri';

describe('ashowinfo lines', () => {
  test('pts in 1/rate and the sample count', () => {
    const reader = new ShowinfoReader();
    const line = '[ashowinfo@a1 @ 0x5643] [info] n:3 pts:960 pts_time:0.06 pos:-1 fmt:s16 channels:1 chlayout:mono rate:16000 nb_samples:320 checksum:32E03DDB plane_checksums: [ 32E03DDB ]';
    assert.deepEqual(reader.read(line), { label: 'a1', n: 3, ptsUs: 60_000, pos: -1, samples: 320 });
  });
});

describe('PcmCutter', () => {
  test('frames cut by the sizes asked, whatever the chunking; views where a chunk holds a frame whole', () => {
    const out: Array<[string, string]> = [];
    const cutter = new PcmCutter<string>((tag, data) => out.push([tag, data.toString()]));
    cutter.push(Buffer.from('aaaab'));
    cutter.want('first', 4);
    cutter.want('second', 4);
    assert.deepEqual(out, [['first', 'aaaa']]);
    cutter.push(Buffer.from('bb'));
    cutter.push(Buffer.from('bcc'));
    assert.deepEqual(out, [['first', 'aaaa'], ['second', 'bbbb']]);
    cutter.want('short last', 2);
    assert.deepEqual(out.at(-1), ['short last', 'cc']);
    assert.equal(cutter.pendingBytes, 0);

    const chunk = Buffer.from('xxxxyyyy');
    const views: Buffer[] = [];
    const viewCutter = new PcmCutter<number>((_, data) => views.push(data));
    viewCutter.push(chunk);
    viewCutter.want(0, 4);
    assert.equal(views[0]!.buffer, chunk.buffer, 'no copy');
  });
});

describe('PCM outputs of the decode command', () => {
  const tone = parseSourceUri('test:audio?tone=440&sample_rate=44100&channels=2', 'linux');

  test('the source rate and channels fill what the request leaves open; frames are whole samples', () => {
    assert.deepEqual(resolveAudioOutput({ sampleFormat: 's16le', sampleRate: 0, channels: 0, frameMs: 20 }, { sampleRate: 44100, channels: 6 }), {
      sampleFormat: 's16le', sampleRate: 44100, channels: 2, frameMs: 20, frameSamples: 882,
    });
    assert.equal(resolveAudioOutput({ sampleFormat: 'f32le', sampleRate: 16000, channels: 1, frameMs: 10 }, { sampleRate: 48000, channels: 2 }).frameSamples, 160);
  });

  test('two PCM outputs share one decoded audio stream (asplit), each on its own pipe after the video pipes', () => {
    const spec = parseSourceUri('test:video?size=320x240&tone=440', 'linux');
    const outputs = [{ format: 'gray' as const, width: 320, height: 240, jpegQuality: 5 }];
    const audio = [
      resolveAudioOutput({ sampleFormat: 's16le', sampleRate: 16000, channels: 1, frameMs: 20 }, { sampleRate: 48000, channels: 2 }),
      resolveAudioOutput({ sampleFormat: 'f32le', sampleRate: 0, channels: 0, frameMs: 50 }, { sampleRate: 48000, channels: 2 }),
    ];
    const args = buildDecodeArgs(spec, outputs, { width: 320, height: 240 }, { platform: 'linux', hwaccel: 'auto' }, audio);
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    assert.match(graph, /^\[0:v:0\]format=gray,showinfo@o0=checksum=0\[o0\];/);
    assert.match(graph, /\[0:a:0\]asplit=2\[as0\]\[as1\];/);
    assert.match(graph, /\[as0\]aresample=16000,aformat=sample_fmts=s16:channel_layouts=mono,asetnsamples=n=320:p=0,ashowinfo@a0\[a0\]/);
    assert.match(graph, /\[as1\]aresample=48000,aformat=sample_fmts=flt:channel_layouts=stereo,asetnsamples=n=2400:p=0,ashowinfo@a1\[a1\]/);
    assert.deepEqual(args.slice(-18), [
      '-map', '[a0]', '-c:a', 'pcm_s16le', '-f', 's16le', '-flush_packets', '1', 'pipe:4',
      '-map', '[a1]', '-c:a', 'pcm_f32le', '-f', 'f32le', '-flush_packets', '1', 'pipe:5',
    ]);
  });

  test('audio alone: no video graph at all', () => {
    const audio = [resolveAudioOutput({ sampleFormat: 's16le', sampleRate: 0, channels: 0, frameMs: 20 }, { sampleRate: 44100, channels: 2 })];
    const args = buildDecodeArgs(tone, [], { width: 0, height: 0 }, { platform: 'linux', hwaccel: 'auto' }, audio);
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    assert.equal(graph, '[0:a:0]aresample=44100,aformat=sample_fmts=s16:channel_layouts=stereo,asetnsamples=n=882:p=0,ashowinfo@a0[a0]');
    assert.ok(args.includes('pipe:3'));
  });

  test('a tone alone is paced by arealtime; beside a picture it is stamped by its sample count', () => {
    assert.match(lavfiSource(tone as Extract<SourceSpec, { kind: 'test' }>), /^sine=f=440:r=44100:samples_per_frame=441,pan=stereo\|c0=c0\|c1=c0,arealtime,asettb=AVTB,asetpts=if\(eq\(N\\,0\)\\,RTCTIME\\,PREV_OUTPTS\+441\/SR\/TB\)$/);
    const av = lavfiSource(parseSourceUri('test:video?tone=440&channels=1', 'linux') as Extract<SourceSpec, { kind: 'test' }>);
    assert.match(av, /,realtime,settb=AVTB,setpts=RTCTIME\[out0\];sine=f=440:r=48000:samples_per_frame=480,aformat=channel_layouts=mono,asettb=AVTB,asetpts=if\(eq\(N\\,0\)\\,RTCTIME\\,PREV_OUTPTS\+480\/SR\/TB\)\[out1\]$/);
  });
});

describe('AudioLevels', () => {
  test('RMS and peak per channel in dBFS over the window; clipped samples counted', () => {
    const levels = new AudioLevels(1000);
    // Left: a square wave at half scale; right: silence, then one full-scale sample.
    const frame = Buffer.alloc(8 * 2 * 2);
    for (let i = 0; i < 8; i++) frame.writeInt16LE(i % 2 ? -16384 : 16384, i * 4);
    frame.writeInt16LE(32767, 7 * 4 + 2);
    levels.add(frame, 's16le', 2, 1_000_000);
    const [left, right] = levels.levels(1_000_000);
    assert.ok(Math.abs(left!.rmsDbfs - toDbfs(0.5)) < 1e-9);
    assert.ok(Math.abs(left!.peakDbfs - toDbfs(0.5)) < 1e-9);
    assert.ok(Math.abs(right!.peakDbfs - toDbfs(32767 / 32768)) < 1e-9);
    assert.equal(levels.clippedSamples, 1);
    assert.deepEqual(levels.levels(3_000_000), [], 'the window moved past it');
    assert.equal(toDbfs(0), -120);
  });

  test('f32le at an odd byte offset (a frame cut mid-chunk) reads the same', () => {
    const levels = new AudioLevels(1000);
    const backing = Buffer.alloc(1 + 4 * 4);
    [0.25, -0.25, 0.25, -0.25].forEach((v, i) => backing.writeFloatLE(v, 1 + i * 4));
    levels.add(backing.subarray(1), 'f32le', 1, 0);
    assert.ok(Math.abs(levels.levels(0)[0]!.rmsDbfs - toDbfs(0.25)) < 1e-6);
  });
});
