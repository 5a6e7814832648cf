// sidecar/media/probe.ts: ffprobe's JSON to our ProbeResponse, and naming what a non-media file is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeBytes, parseRate, toProbeResponse } from '../../sidecar/media/probe';

test('frame rates as ffprobe writes them', () => {
  assert.equal(parseRate('30/1'), 30);
  assert.ok(Math.abs(parseRate('30000/1001') - 29.97) < 0.01);
  assert.equal(parseRate('0/0'), 0);
  assert.equal(parseRate(undefined), 0);
});

test('ffprobe JSON becomes a ProbeResponse; live sources have no duration', () => {
  const output = {
    format: { format_name: 'matroska,webm', duration: '2.000000', bit_rate: '123456' },
    streams: [
      { index: 0, codec_type: 'video', codec_name: 'vp9', profile: 'Profile 0', width: 640, height: 360, avg_frame_rate: '25/1', pix_fmt: 'yuv420p' },
      { index: 1, codec_type: 'audio', codec_name: 'opus', sample_rate: '48000', channels: 2, bit_rate: '64000' },
    ],
  };
  const probe = toProbeResponse(output, false);
  assert.equal(probe.container, 'matroska,webm');
  assert.equal(probe.durationSeconds, 2);
  assert.equal(probe.bitRate, 123456);
  assert.deepEqual(probe.streams[0], { index: 0, type: 'video', codec: 'vp9', profile: 'Profile 0', width: 640, height: 360, frameRate: 25, pixelFormat: 'yuv420p', sampleRate: 0, channels: 0, bitRate: 0 });
  assert.deepEqual(probe.streams[1], { index: 1, type: 'audio', codec: 'opus', profile: '', width: 0, height: 0, frameRate: 0, pixelFormat: '', sampleRate: 48000, channels: 2, bitRate: 64000 });
  assert.equal(toProbeResponse(output, true).durationSeconds, 0);
});

test('a file that is not media is named by its first bytes', () => {
  assert.equal(describeBytes(Buffer.from('%PDF-1.7')), 'a PDF document');
  assert.equal(describeBytes(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1])), 'an ELF executable');
  assert.equal(describeBytes(Buffer.alloc(0)), 'an empty file');
  assert.equal(describeBytes(Buffer.from('model weights: v1\nmore')), 'text ("model weights: v1")');
  assert.match(describeBytes(Buffer.from([0x00, 0x9f, 0x13, 0xee, 0x01, 0x02, 0x03, 0x04, 0x05])), /binary data of no known media format \(first bytes 00 9f 13 ee 01 02 03 04\)/);
});
