// sidecar/media/nutSegmenter.ts: segments by size cut from the NUT stream a recording's
// decoder writes — header, syncpoints and keyframes read from real ffmpeg output, every
// byte in exactly one segment whatever the chunking, and each segment readable alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { CUT, NutSegmenter, nutCrc, parseNutHeader, readSyncpoint, readVarlen, syncpointStartcode, writeVarlen } from '../../sidecar/media/nutSegmenter';
import { planRecording } from '../../sidecar/media/recordingArgs';

/** What a recording's decoder writes: H264 (a keyframe every `gop` frames) + AAC, as NUT. */
function ffmpegNut(seconds: number, gop: number): Buffer {
  const run = spawnSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=30:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=f=440:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(gop), '-bf', '2', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k', '-fps_mode', 'passthrough', '-f', 'nut', '-',
  ], { maxBuffer: 1 << 28 });
  assert.equal(run.status, 0, run.stderr.toString());
  return run.stdout;
}

/** ffprobe's packet count per stream type of a NUT stream given on stdin. */
function probePackets(nut: Buffer): { video: number; audio: number; videoKeyframes: number; firstVideoKey: boolean } {
  const run = spawnSync('ffprobe', ['-v', 'error', '-f', 'nut', '-show_entries', 'packet=codec_type,flags', '-of', 'csv=p=0', '-'], { input: nut, maxBuffer: 1 << 26 });
  assert.equal(run.status, 0, run.stderr.toString());
  const lines = run.stdout.toString().trim().split('\n').map((line) => line.split(','));
  const video = lines.filter(([type]) => type === 'video');
  return {
    video: video.length,
    audio: lines.filter(([type]) => type === 'audio').length,
    videoKeyframes: video.filter(([, flags]) => flags!.startsWith('K')).length,
    firstVideoKey: video[0]?.[1]?.startsWith('K') ?? false,
  };
}

/** Feeds `nut` in chunks of the sizes `sizes` gives; returns each segment's bytes. */
function segment(nut: Buffer, policy: { bytes: number; seconds: number; frameRate?: number }, sizes: () => number): Buffer[] {
  const segmenter = new NutSegmenter(policy);
  const segments: Buffer[][] = [[]];
  const take = (pieces: ReturnType<NutSegmenter['push']>) => {
    for (const piece of pieces) {
      if (piece === CUT) segments.push([]);
      else segments.at(-1)!.push(piece);
    }
  };
  for (let at = 0; at < nut.length; ) {
    const size = Math.max(1, sizes());
    take(segmenter.push(nut.subarray(at, at + size)));
    at += size;
  }
  segments.at(-1)!.push(segmenter.end());
  assert.equal(segmenter.segments, segments.length);
  return segments.map((parts) => Buffer.concat(parts));
}

const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

describe('NUT numbers and checksums', () => {
  test('variable-length numbers round-trip, and stop where the bytes run out', () => {
    for (const value of [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 52 + 1]) {
      const bytes = writeVarlen(value);
      assert.deepEqual(readVarlen(bytes, 0), { value, end: bytes.length });
    }
    assert.equal(readVarlen(Buffer.from([0x81, 0x80]), 0), undefined);
    assert.deepEqual(readVarlen(Buffer.from([9, 0x82, 0x01]), 1), { value: 257, end: 3 });
  });

  test('the CRC is NUT\'s (MSB-first 0x04C11DB7 from zero): a checked packet\'s body with its checksum has remainder zero', () => {
    assert.equal(nutCrc(Buffer.from('123456789')), 0x89a1897f); // CRC-32/MPEG-2 without its initial and final inversion
    const body = Buffer.from([1, 2, 3, 0, 0, 0, 0]);
    body.writeUInt32BE(nutCrc(body.subarray(0, 3)), 3);
    assert.equal(nutCrc(body), 0);
  });
});

describe('reading the stream ffmpeg writes', () => {
  const nut = ffmpegNut(4, 15);
  const first = nut.indexOf(syncpointStartcode);
  const header = parseNutHeader(nut.subarray(0, first));

  test('the header: streams (video, audio), the video as the reference, time bases, 256 frame codes', () => {
    assert.deepEqual(header.streamClasses, [0, 1]);
    assert.equal(header.referenceStream, 0);
    assert.equal(header.frameCodes.length, 256);
    assert.ok(header.timeBases.length >= 1 && header.timeBases.every((tb) => tb.num > 0 && tb.den > 0), JSON.stringify(header.timeBases));
  });

  test('every syncpoint checks out; those before a video keyframe are exactly the video keyframes', () => {
    let keyframes = 0;
    let syncpoints = 0;
    let previous = -Infinity;
    for (let pos = first; ; ) {
      const at = nut.indexOf(syncpointStartcode, pos);
      if (at < 0) break;
      const read = readSyncpoint(header, nut, at);
      if (read.kind === 'incomplete') break;
      assert.equal(read.kind, 'syncpoint', `syncpoint at ${at}`);
      if (read.kind !== 'syncpoint') break;
      syncpoints++;
      assert.ok(read.seconds >= previous - 0.2, `timestamps go on: ${previous} → ${read.seconds}`);
      previous = read.seconds;
      if (read.keyframeStream === 0) {
        keyframes++;
        // Its rewrite reads back the same, with the back pointer at zero.
        const again = readSyncpoint(header, Buffer.concat([read.rewritten, nut.subarray(read.end, read.end + 64)]), 0);
        assert.equal(again.kind, 'syncpoint');
        if (again.kind === 'syncpoint') assert.deepEqual([again.seconds, again.keyframeStream, again.end], [read.seconds, 0, read.rewritten.length]);
      }
      pos = read.end;
    }
    const probed = probePackets(nut);
    assert.equal(keyframes, probed.videoKeyframes, `${syncpoints} syncpoints`);
    assert.ok(syncpoints > keyframes, 'and others (every ~32 KB, or before audio): not cut points');
  });

  test('a start code inside packet data that does not check out is no cut point, and passes through', () => {
    const fake = Buffer.concat([syncpointStartcode, Buffer.from([5, 1, 2, 3, 4, 5]), Buffer.alloc(32, 7)]);
    const data = Buffer.concat([nut.subarray(0, first), fake, nut.subarray(first)]);
    assert.equal(readSyncpoint(header, data, first).kind, 'invalid');
    const segments = segment(data, { bytes: 0, seconds: 0 }, () => 4096);
    assert.equal(segments.length, 1);
    assert.ok(segments[0]!.equals(data));
  });
});

describe('NutSegmenter', () => {
  const nut = ffmpegNut(6, 15);
  const header = nut.subarray(0, nut.indexOf(syncpointStartcode));
  const whole = probePackets(nut);
  const limit = 64 * 1024;

  test('no limit: the stream passes through unchanged, whatever the chunking', () => {
    const next = random(7);
    for (const sizes of [() => 1 + Math.floor(next() * 9), () => 65536, () => 1 + Math.floor(next() * 70000)]) {
      const segments = segment(nut, { bytes: 0, seconds: 0 }, sizes);
      assert.equal(segments.length, 1);
      assert.ok(segments[0]!.equals(nut));
    }
  });

  test('by size: the same cuts whatever the chunking; each segment but the last reaches the limit', () => {
    const next = random(42);
    const reference = segment(nut, { bytes: limit, seconds: 0 }, () => 65536);
    assert.ok(reference.length >= 3, `${reference.length} segments of ${nut.length} bytes`);
    for (const sizes of [() => 1 + Math.floor(next() * 40), () => 1 + Math.floor(next() * 100_000), () => 7, () => 8, () => 9]) {
      const segments = segment(nut, { bytes: limit, seconds: 0 }, sizes);
      assert.deepEqual(segments.map((s) => s.length), reference.map((s) => s.length));
      segments.forEach((s, i) => assert.ok(s.equals(reference[i]!), `segment ${i} the same`));
    }
    reference.slice(0, -1).forEach((s, i) => assert.ok(s.length >= limit, `segment ${i}: ${s.length} bytes`));
  });

  test('each segment after the first is the header, a syncpoint and the rest: every packet in exactly one, each segment readable alone from a keyframe', () => {
    const segments = segment(nut, { bytes: limit, seconds: 0 }, () => 30000);
    let video = 0;
    let audio = 0;
    segments.forEach((s, i) => {
      if (i > 0) {
        assert.ok(s.subarray(0, header.length).equals(header), `segment ${i} starts with the header`);
        assert.ok(s.subarray(header.length, header.length + 8).equals(syncpointStartcode), `then a syncpoint`);
      }
      const probed = probePackets(s);
      assert.ok(probed.firstVideoKey, `segment ${i} starts on a keyframe`);
      video += probed.video;
      audio += probed.audio;
    });
    assert.deepEqual([video, audio], [whole.video, whole.audio], 'no packet lost or doubled');
  });

  test('by time: a keyframe each second cuts each second (half a frame early counts); size and time together, whichever comes first', () => {
    const nut1s = ffmpegNut(4, 30);
    const bySeconds = segment(nut1s, { bytes: 0, seconds: 1, frameRate: 30 }, () => 50000);
    assert.equal(bySeconds.length, 4);
    bySeconds.forEach((s) => assert.equal(probePackets(s).video, 30));
    assert.equal(segment(nut1s, { bytes: 0, seconds: 2, frameRate: 30 }, () => 50000).length, 2);
    const bySize = segment(nut1s, { bytes: limit, seconds: 0 }, () => 50000).length;
    assert.equal(segment(nut1s, { bytes: limit, seconds: 60, frameRate: 30 }, () => 50000).length, bySize, 'the size first');
    assert.equal(segment(nut1s, { bytes: 1 << 30, seconds: 1, frameRate: 30 }, () => 50000).length, 4, 'the time first');
  });
});

describe('the keyframe interval an encoding recording gets', () => {
  const raw = { video: 'rawvideo', frameRate: 30 };
  const request = { container: 'mp4' as const, quality: 'balanced' as const, noAudio: false };
  test('2 s; 1 s with segment_bytes (a segment exceeds its size by less than one interval); never longer than segment_seconds', () => {
    assert.equal(planRecording(raw, { ...request, segmentSeconds: 0 }).keyframeSeconds, 2);
    assert.equal(planRecording(raw, { ...request, segmentSeconds: 0, segmentBytes: 1 << 20 }).keyframeSeconds, 1);
    assert.equal(planRecording(raw, { ...request, segmentSeconds: 0.5, segmentBytes: 1 << 20 }).keyframeSeconds, 0.5);
    assert.equal(planRecording(raw, { ...request, segmentSeconds: 10, segmentBytes: 1 << 20 }).keyframeSeconds, 1);
  });
});
