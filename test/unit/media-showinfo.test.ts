// sidecar/media/showinfo.ts: per-frame timestamps from ffmpeg's showinfo lines, paired with frames.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ShowinfoMatcher, ShowinfoReader, isShowinfoLine } from '../../sidecar/media/showinfo';

describe('ShowinfoReader', () => {
  test('pts in the announced time base, exact for wall-clock microseconds', () => {
    const reader = new ShowinfoReader();
    assert.equal(reader.read('[showinfo@o0 @ 0x55c0] [info] config in time_base: 1/1000000, frame_rate: 30/1'), undefined);
    assert.deepEqual(reader.read('[showinfo@o0 @ 0x55c0] [info] n:   1 pts:1795519702882605 pts_time:1.79552e+09 pos:       -1 fmt:rgb24 sar:1/1 s:640x360 i:P iskey:1 type:I '), {
      label: 'o0', n: 1, ptsUs: 1795519702882605, pos: -1,
    });
    reader.read('[showinfo@o1 @ 0x55c1] [info] config in time_base: 1/30000, frame_rate: 30000/1001');
    assert.deepEqual(reader.read('[showinfo@o1 @ 0x55c1] [info] n:  12 pts:  12012 pts_time:0.4004  pos:   123456 fmt:yuv420p'), { label: 'o1', n: 12, ptsUs: 400400, pos: 123456 });
  });

  test('a frame without a timestamp, and lines that are not frames', () => {
    const reader = new ShowinfoReader();
    reader.read('[showinfo@o0 @ 0x1] config in time_base: 1/25, frame_rate: 25/1');
    assert.ok(Number.isNaN(reader.read('[showinfo@o0 @ 0x1] n:   0 pts:NOPTS pts_time:NOPTS pos: -1 fmt:gray')!.ptsUs));
    assert.equal(reader.read('[showinfo@o0 @ 0x1] [info] color_range:pc color_space:unknown'), undefined);
    assert.equal(reader.read('[info] Stream mapping:'), undefined);
    assert.ok(isShowinfoLine('[showinfo@o0 @ 0x1] [info] color_range:pc'));
    assert.ok(!isShowinfoLine('[h264 @ 0x1] [error] error while decoding MB 1 2'));
  });
});

describe('ShowinfoMatcher', () => {
  test('pairs frames and lines per output in order, whichever comes first', () => {
    const pairs: string[] = [];
    const matcher = new ShowinfoMatcher((info, data) => pairs.push(`${info.label}:${info.n}:${data.toString()}`));
    matcher.addFrame('o0', Buffer.from('a'));
    matcher.addFrame('o0', Buffer.from('b'));
    assert.equal(matcher.pendingFrames(), 2);
    matcher.addLine({ label: 'o1', n: 0, ptsUs: 0, pos: -1 });
    matcher.addLine({ label: 'o0', n: 0, ptsUs: 0, pos: -1 });
    matcher.addFrame('o1', Buffer.from('x'));
    matcher.addLine({ label: 'o0', n: 1, ptsUs: 1, pos: -1 });
    assert.deepEqual(pairs, ['o0:0:a', 'o1:0:x', 'o0:1:b']);
    assert.equal(matcher.pendingFrames(), 0);
  });
});
