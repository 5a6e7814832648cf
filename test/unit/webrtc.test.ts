// The pure parts of WebRTC ingest: containers, bitstream reading, SDP checks and
// candidate rewriting, HTTP routing, receive statistics, REMB encoding, the CLI flags.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCommand, UsageError } from '../../sidecar/cli';
import { annexBNalUnits, h264IsKeyframe, h264PictureSize, h264SpsSize, vp8KeyframeSize } from '../../sidecar/webrtc/bitstream';
import { ivfFrame, ivfHeader, oggCrc, OggOpusWriter, oggPage, opusPacketSamples } from '../../sidecar/webrtc/containers';
import { isSdpContentType, route } from '../../sidecar/webrtc/routes';
import { candidatePorts, checkOffer, chooseVideoCodec, redirectCandidates, rewriteHostCandidates } from '../../sidecar/webrtc/sdp';
import { rembEstimate, rembExponentMantissa, TrackStats } from '../../sidecar/webrtc/stats';
import { MediaClock, TimestampUnwrapper } from '../../sidecar/webrtc/tracks';

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');

describe('containers', () => {
  test('IVF header: DKIF, version 0, 32 bytes, fourcc, size, 1/90000', () => {
    const header = ivfHeader('h264', 640, 480);
    assert.equal(header.length, 32);
    assert.equal(header.toString('ascii', 0, 4), 'DKIF');
    assert.equal(header.readUInt16LE(6), 32);
    assert.equal(header.toString('ascii', 8, 12), 'H264');
    assert.equal(ivfHeader('vp8', 1, 1).toString('ascii', 8, 12), 'VP80');
    assert.deepEqual([header.readUInt16LE(12), header.readUInt16LE(14)], [640, 480]);
    assert.deepEqual([header.readUInt32LE(16), header.readUInt32LE(20)], [90_000, 1]);
  });

  test('IVF frame: size, 64-bit pts (wall-clock 90 kHz values fit), data', () => {
    const pts = Math.round(1_796_118_972_994 * 90);
    const frame = ivfFrame(Buffer.from([1, 2, 3]), pts);
    assert.equal(frame.readUInt32LE(0), 3);
    assert.equal(frame.readBigUInt64LE(4), BigInt(pts));
    assert.deepEqual([...frame.subarray(12)], [1, 2, 3]);
  });

  test("Ogg's CRC-32 (poly 0x04c11db7, init 0, no reflection, no final xor)", () => {
    // CRC-32/CKSUM's check value without its final xor.
    assert.equal(oggCrc(Buffer.from('123456789')), (0x765e7680 ^ 0xffffffff) >>> 0);
  });

  test('an Ogg page: capture pattern, granule, serial, sequence, lacing, a CRC that checks', () => {
    const packet = Buffer.alloc(600, 7);
    const page = oggPage(packet, 12345n, 0xabcd, 9);
    assert.equal(page.toString('ascii', 0, 4), 'OggS');
    assert.equal(page.readBigInt64LE(6), 12345n);
    assert.equal(page.readUInt32LE(14), 0xabcd);
    assert.equal(page.readUInt32LE(18), 9);
    assert.equal(page.readUInt8(26), 3);
    assert.deepEqual([...page.subarray(27, 30)], [255, 255, 90]);
    const crc = page.readUInt32LE(22);
    const zeroed = Buffer.from(page);
    zeroed.writeUInt32LE(0, 22);
    assert.equal(oggCrc(zeroed), crc);
    assert.equal(page.length, 30 + 600);
    // A packet of exactly 255 bytes needs a 0 lacing value after its 255.
    assert.deepEqual([...oggPage(Buffer.alloc(255), 0n, 1, 0).subarray(26, 29)], [2, 255, 0]);
  });

  test('Opus packet durations from the TOC byte', () => {
    assert.equal(opusPacketSamples(Buffer.from([0xfc, 0, 0])), 960); // CELT FB 20 ms, one frame
    assert.equal(opusPacketSamples(Buffer.from([0x78])), 960); // Hybrid FB 20 ms (config 15)
    assert.equal(opusPacketSamples(Buffer.from([0x08])), 960); // SILK NB 20 ms (config 1)
    assert.equal(opusPacketSamples(Buffer.from([0x09])), 1920); // two 20 ms frames
    assert.equal(opusPacketSamples(Buffer.from([0x03 | (3 << 3), 0x03])), 3 * 2880); // code 3: three 60 ms frames
    assert.equal(opusPacketSamples(Buffer.alloc(0)), 0);
  });

  test('an Ogg Opus stream: OpusHead (BOS), OpusTags, then pages whose granule is the end of their packet', () => {
    const writer = new OggOpusWriter(7, 2);
    const headers = writer.headers();
    assert.equal(headers.readUInt8(5), 0x02, 'beginning of stream');
    assert.equal(headers.toString('ascii', 28, 36), 'OpusHead');
    const page = writer.packet(Buffer.from([0xfc, 1, 2]), 48_000);
    assert.equal(page.readBigInt64LE(6), 48_960n);
    assert.equal(page.readUInt32LE(18), 2, 'the third page');
  });
});

describe('bitstream', () => {
  test('VP8 keyframe size; interframes have none', () => {
    assert.deepEqual(vp8KeyframeSize(hex('9080009d012a6001200100')), { width: 352, height: 288 });
    assert.equal(vp8KeyframeSize(hex('9180009d012a6001200100')), undefined);
    assert.equal(vp8KeyframeSize(hex('90')), undefined);
  });

  const spsCases: Array<[string, string, number, number]> = [
    ['baseline 640x480', '6742c01ed900a03db0110000030001000003003c0f162e48', 640, 480],
    ['baseline 1280x720', '6742c01fd9005005bb0110000003001000000303c0f1832480', 1280, 720],
    ['baseline 1920x1080 (cropped from 1088)', '6742c028d900780227e5c044000003000400000300f03c60c920', 1920, 1080],
    ['high 640x480', '6764001eacd940a03db0110000030001000003003c0f162d96', 640, 480],
    ['high 1920x1080', '67640028acd940780227e5c044000003000400000300f03c60c658', 1920, 1080],
  ];
  for (const [name, sps, width, height] of spsCases) {
    test(`H264 SPS: ${name}`, () => assert.deepEqual(h264SpsSize(hex(sps)), { width, height }));
  }

  test('Annex-B: NAL units with 3- and 4-byte start codes; IDR is a keyframe; the SPS gives the size', () => {
    const au = Buffer.concat([hex('00000001'), hex(spsCases[0]![1]), hex('000001'), hex('68ce3880'), hex('00000001'), hex('65888400')]);
    assert.deepEqual(annexBNalUnits(au).map((nal) => nal[0]! & 0x1f), [7, 8, 5]);
    assert.equal(h264IsKeyframe(au), true);
    assert.deepEqual(h264PictureSize(au), { width: 640, height: 480 });
    assert.equal(h264IsKeyframe(Buffer.concat([hex('00000001'), hex('419a0000')])), false);
    assert.equal(h264SpsSize(hex('67')), undefined, 'a truncated SPS');
  });
});

const chromiumLikeOffer = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  'a=fingerprint:sha-256 00:11',
  'a=mid:0',
  'a=sendonly',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 103 104 109 114',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  'a=fingerprint:sha-256 00:11',
  'a=mid:1',
  'a=sendonly',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:103 H264/90000',
  'a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:104 rtx/90000',
  'a=rtpmap:109 H264/90000',
  'a=fmtp:109 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f',
  'a=rtpmap:114 H264/90000',
  'a=fmtp:114 packetization-mode=2',
  '',
].join('\r\n');

describe('SDP', () => {
  test('an offer: media sections, directions and codecs in the offered order', () => {
    const check = checkOffer(chromiumLikeOffer);
    assert.ok(check.ok);
    assert.deepEqual(check.media.map((m) => [m.kind, m.direction]), [['audio', 'sendonly'], ['video', 'sendonly']]);
    assert.deepEqual(check.media[1]!.codecs.map((c) => `${c.payloadType} ${c.name}`), ['96 vp8', '97 rtx', '103 h264', '104 rtx', '109 h264', '114 h264']);
    assert.equal(check.media[0]!.codecs[0]!.channels, 2);
    assert.equal(chooseVideoCodec(check.media[1]), 'vp8');
  });

  test('the first supported video codec wins: H264 modes 0 and 1, never mode 2', () => {
    const check = checkOffer(chromiumLikeOffer);
    assert.ok(check.ok);
    const video = check.media[1]!;
    const h264First = { ...video, codecs: video.codecs.filter((c) => c.name !== 'vp8') };
    assert.equal(chooseVideoCodec(h264First), 'h264');
    const mode2Only = { ...video, codecs: video.codecs.filter((c) => c.payloadType === 114) };
    assert.equal(chooseVideoCodec(mode2Only), undefined);
    const av1 = { ...video, codecs: [{ payloadType: 45, name: 'av1', clockRate: 90000, fmtp: '' }] };
    assert.equal(chooseVideoCodec(av1), undefined);
  });

  test('malformed offers say why', () => {
    const reason = (sdp: string) => {
      const check = checkOffer(sdp);
      return check.ok ? 'ok' : check.reason;
    };
    assert.match(reason(''), /empty/);
    assert.match(reason('hello'), /v=0/);
    assert.match(reason('v=0\r\ns=-\r\n'), /no media section/);
    assert.match(reason('v=0\r\nm=video nine\r\n'), /malformed media line/);
    assert.match(reason('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:x\r\na=ice-pwd:y\r\n'), /fingerprint/);
    assert.match(reason('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nbogus\r\n'), /not an SDP line/);
    assert.match(reason(chromiumLikeOffer.replace(/a=ice-pwd:.*\r\n/g, '')), /ICE credentials/);
  });

  const answer = [
    'v=0',
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'a=candidate:1 1 udp 2130706431 192.0.2.2 40000 typ host',
    'a=candidate:2 1 udp 2130706431 127.0.0.1 40000 typ host',
    'a=candidate:3 1 udp 1694498815 203.0.113.9 40000 typ srflx raddr 0.0.0.0 rport 0',
    'a=end-of-candidates',
    '',
  ].join('\r\n');

  test('host candidates name the address ICE listens on, once per port', () => {
    const rewritten = rewriteHostCandidates(answer, '127.0.0.1');
    const candidates = rewritten.split('\r\n').filter((line) => line.startsWith('a=candidate'));
    assert.deepEqual(candidates, ['a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host', 'a=candidate:3 1 udp 1694498815 203.0.113.9 40000 typ srflx raddr 0.0.0.0 rport 0']);
    assert.ok(rewritten.endsWith('\r\n'));
    assert.deepEqual(candidatePorts(answer), [40000]);
  });

  test('a relay in front: every host candidate points at it', () => {
    const redirected = redirectCandidates(answer, '127.0.0.1', 5555);
    assert.deepEqual(candidatePorts(redirected), [5555]);
    assert.ok(!redirected.includes('192.0.2.2'));
  });
});

describe('WHIP routes', () => {
  test('POST /whip/<name> offers; OPTIONS anywhere under /whip; DELETE and PATCH on a session', () => {
    assert.deepEqual(route('POST', '/whip/phone'), { kind: 'offer', name: 'phone' });
    assert.deepEqual(route('OPTIONS', '/whip/phone'), { kind: 'options', name: 'phone' });
    assert.deepEqual(route('OPTIONS', '/whip'), { kind: 'options', name: '' });
    assert.deepEqual(route('DELETE', '/whip/phone/abc'), { kind: 'delete', name: 'phone', session: 'abc' });
    assert.deepEqual(route('PATCH', '/whip/phone/abc'), { kind: 'patch', name: 'phone', session: 'abc' });
    assert.deepEqual(route('OPTIONS', '/whip/phone/abc'), { kind: 'options', name: 'phone', session: 'abc' });
    assert.deepEqual(route('POST', '/whip/phone?x=1'), { kind: 'offer', name: 'phone' });
  });

  test('wrong methods are 405 with what is allowed; bad names and unknown paths', () => {
    assert.deepEqual(route('GET', '/whip/phone'), { kind: 'method-not-allowed', allow: ['POST', 'OPTIONS'] });
    assert.deepEqual(route('POST', '/whip/phone/abc'), { kind: 'method-not-allowed', allow: ['DELETE', 'OPTIONS'] });
    assert.deepEqual(route('POST', '/publish'), { kind: 'method-not-allowed', allow: ['GET', 'HEAD'] });
    assert.deepEqual(route('POST', '/whip/a%2Fb'), { kind: 'bad-name', name: 'a/b' });
    assert.deepEqual(route('POST', '/whip/%E0%A4%A'), { kind: 'not-found' });
    assert.deepEqual(route('POST', '/whip/a/b/c'), { kind: 'not-found' });
    assert.deepEqual(route('GET', '/whipped'), { kind: 'not-found' });
    assert.deepEqual(route('GET', '/publish'), { kind: 'page' });
    assert.deepEqual(route('GET', '/publish.js'), { kind: 'script' });
  });

  test('content type', () => {
    assert.ok(isSdpContentType('application/sdp'));
    assert.ok(isSdpContentType('Application/SDP; charset=utf-8'));
    assert.ok(!isSdpContentType('text/plain'));
    assert.ok(!isSdpContentType(undefined));
  });
});

describe('receive statistics', () => {
  test('loss is expected minus received; a retransmission fills its gap; sequence numbers wrap', () => {
    const stats = new TrackStats('vp8', 90_000);
    for (const seq of [65533, 65534, 65535, 0, 2, 3]) stats.packet(seq, 0, 100, 0);
    assert.equal(stats.packetsLost, 1);
    stats.packet(1, 0, 100, 0);
    assert.equal(stats.packetsLost, 0);
    assert.equal(stats.figures(0).packetsRetransmitted, 1);
    assert.equal(stats.packetsReceived, 7);
  });

  test('jitter: 0 for packets as regular as their timestamps; grows with irregular arrivals (RFC 3550 A.8)', () => {
    const steady = new TrackStats('vp8', 90_000);
    for (let i = 0; i < 50; i++) steady.packet(i, i * 3000, 100, 1000 + (i * 100) / 3);
    assert.ok(steady.figures(3000).jitterMs < 0.001);
    const shaky = new TrackStats('vp8', 90_000);
    for (let i = 0; i < 200; i++) shaky.packet(i, i * 3000, 100, 1000 + (i * 100) / 3 + (i % 2 ? 10 : 0));
    // |D| is 10 ms on every packet: the estimate converges to 10 ms.
    assert.ok(Math.abs(shaky.figures(9000).jitterMs - 10) < 0.5, String(shaky.figures(9000).jitterMs));
  });

  test('bit rate and frame rate over the window; keyframe interval from the last keyframes', () => {
    const stats = new TrackStats('vp8', 90_000, 1000);
    for (let i = 0; i < 30; i++) {
      stats.packet(i, i * 3000, 1000, i * 33.3);
      stats.frame(i % 10 === 0, i * 33.3);
    }
    const at = 29 * 33.3;
    assert.equal(stats.bitRate(at), 30 * 1000 * 8);
    assert.equal(stats.frameRate(at), 30);
    assert.ok(Math.abs(stats.keyframeIntervalMs - 333) < 1);
    assert.equal(stats.bitRate(at + 2000), 0, 'nothing in the window later');
  });

  test('REMB exponent and mantissa (18 bits)', () => {
    assert.deepEqual(rembExponentMantissa(100_000), { exponent: 0, mantissa: 100_000 });
    const { exponent, mantissa } = rembExponentMantissa(2_500_000);
    assert.ok(mantissa < 2 ** 18);
    assert.ok(Math.abs(mantissa * 2 ** exponent - 2_500_000) <= 2 ** exponent);
    assert.equal(rembEstimate(0), 2_500_000);
    assert.equal(rembEstimate(3_000_000), 6_000_000);
    assert.equal(rembEstimate(1e9), 10_000_000);
  });

  test('RTP timestamps unwrap past 2^32; a media clock starts at its first arrival', () => {
    const unwrapper = new TimestampUnwrapper();
    assert.deepEqual([4294967000, 200, 500, 4294967100].map((t) => unwrapper.unwrap(t)), [4294967000, 4294967496, 4294967796, 4294967100]);
    const clock = new MediaClock(90_000);
    assert.equal(clock.toEpochUnits(4294967000, 1_000_000), 90_000_000);
    assert.equal(clock.toEpochUnits(2704, 1_000_050), 90_000_000 + 3000);
  });
});

describe('WHIP command-line flags', () => {
  const serve = (args: string[]) => {
    const command = parseCommand(args);
    assert.equal(command.kind, 'serve');
    return command.kind === 'serve' ? command.options : undefined!;
  };

  test('defaults: loopback with a free port, 5 s timeout, no TLS', () => {
    assert.deepEqual(serve([]).whip, { listen: '127.0.0.1:0', idleTimeoutMs: 5000, tlsCert: undefined, tlsKey: undefined });
  });

  test('an address, a timeout in seconds, "off", TLS in pairs', () => {
    assert.deepEqual(serve(['--whip-listen', '0.0.0.0:8889', '--whip-timeout', '0.5']).whip, { listen: '0.0.0.0:8889', idleTimeoutMs: 500, tlsCert: undefined, tlsKey: undefined });
    assert.equal(serve(['--whip-listen', 'off']).whip, undefined);
    assert.equal(serve(['--whip-tls-cert', 'c.pem', '--whip-tls-key', 'k.pem']).whip?.tlsKey, 'k.pem');
    assert.throws(() => parseCommand(['--whip-tls-cert', 'c.pem']), UsageError);
    assert.throws(() => parseCommand(['--whip-timeout', '0']), /--whip-timeout/);
    assert.throws(() => parseCommand(['--whip-listen', 'nowhere']), /--whip-listen expects HOST:PORT/);
  });
});
