/**
 * The publisher page the WHIP server serves at /publish: camera and microphone →
 * RTCPeerConnection → WHIP POST, with a status line. The token is typed in (or given
 * in the URL's fragment, `#token=…`, which the browser never sends to the server), so
 * it is in no request line and no server log. No inline script or handler: the page
 * loads /publish.js under a CSP nonce.
 *
 * URL parameters: `name` (the feed's name, default "browser"), `codec` ("vp8" or
 * "h264": the codec put first; `packetization_mode=0` or `1` picks H264's mode), `width`, `height`, `fps`, `audio=0` (video only),
 * `autostart=1` (start at once when a token is given).
 */

export function publisherPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sidestream publisher</title>
<style nonce="${nonce}">
  body { font: 15px system-ui, sans-serif; margin: 1rem; max-width: 40rem; color: #222; background: #fafafa; }
  label { display: block; margin: .5rem 0 .2rem; }
  input { width: 100%; box-sizing: border-box; padding: .4rem; font: inherit; }
  button { margin: .8rem .5rem 0 0; padding: .5rem 1rem; font: inherit; }
  video { width: 100%; background: #000; margin-top: 1rem; }
  #status { margin-top: .8rem; font-weight: 600; }
  #status[data-state="failed"] { color: #b00020; }
  #status[data-state="live"] { color: #0a7a2f; }
</style>
</head>
<body>
<h1>Sidestream publisher</h1>
<p>Sends this device's camera and microphone to the Sidestream sidecar over WHIP. In VS Code, run
<em>Sidestream: Start WebRTC Ingest</em> to copy the token.</p>
<form id="form">
  <label for="name">Stream name (the stream is <code>whip:&lt;name&gt;</code>)</label>
  <input id="name" name="name" value="browser" pattern="[A-Za-z0-9._\\-]{1,64}" required>
  <label for="token">Token</label>
  <input id="token" name="token" type="password" autocomplete="off" required>
  <button id="start" type="submit">Start</button>
  <button id="stop" type="button" disabled>Stop</button>
</form>
<div id="status" data-state="idle" role="status">Idle</div>
<video id="preview" autoplay muted playsinline></video>
<script nonce="${nonce}" src="/publish.js"></script>
</body>
</html>
`;
}

export const publisherScript = String.raw`'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const fragment = new URLSearchParams(location.hash.slice(1));
  const status = $('status');
  const state = { pc: undefined, stream: undefined, location: undefined, token: '', phase: 'idle', error: '' };
  window.sidestreamPublisher = state;

  if (params.get('name')) $('name').value = params.get('name');
  if (fragment.get('token')) {
    $('token').value = fragment.get('token');
    // The token is not left in the address bar (or its history).
    history.replaceState(null, '', location.pathname + location.search);
  }

  const show = (phase, text) => {
    state.phase = phase;
    status.dataset.state = phase;
    status.textContent = text;
  };

  const waitForIce = (pc) =>
    new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      const done = () => {
        if (pc.iceGatheringState === 'complete') {
          pc.removeEventListener('icegatheringstatechange', done);
          resolve();
        }
      };
      pc.addEventListener('icegatheringstatechange', done);
      setTimeout(resolve, 3000);
    });

  async function start() {
    const name = $('name').value.trim();
    state.token = $('token').value.trim();
    $('start').disabled = true;
    show('starting', 'Opening the camera…');
    try {
      const fps = Number(params.get('fps') || 30);
      const video = { width: { ideal: Number(params.get('width') || 1280) }, height: { ideal: Number(params.get('height') || 720) }, frameRate: { ideal: fps } };
      const stream = await navigator.mediaDevices.getUserMedia({ video, audio: params.get('audio') !== '0' });
      state.stream = stream;
      $('preview').srcObject = stream;
      const pc = new RTCPeerConnection();
      state.pc = pc;
      for (const track of stream.getTracks()) {
        const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
        const wanted = params.get('codec');
        if (track.kind === 'video' && wanted && transceiver.setCodecPreferences && RTCRtpSender.getCapabilities) {
          const codecs = RTCRtpSender.getCapabilities('video').codecs;
          const mode = params.get('packetization_mode');
          const first = codecs.filter((c) => c.mimeType.toLowerCase() === 'video/' + wanted.toLowerCase() && (!mode || (c.sdpFmtpLine || '').includes('packetization-mode=' + mode)));
          if (first.length === 0) throw new Error('this browser cannot send ' + wanted);
          transceiver.setCodecPreferences([...first, ...codecs.filter((c) => !first.includes(c))]);
        }
      }
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'connected') show('live', 'Live: streaming to whip:' + name);
        else if (pc.connectionState === 'failed') show('failed', 'The connection failed');
        else if (pc.connectionState === 'disconnected') show('starting', 'Reconnecting…');
      });
      show('starting', 'Connecting…');
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIce(pc);
      state.postedAt = Date.now();
      const response = await fetch('/whip/' + encodeURIComponent(name), {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + state.token },
        body: pc.localDescription.sdp,
      });
      const text = await response.text();
      if (response.status !== 201) throw new Error('the sidecar said ' + response.status + ': ' + text);
      state.location = response.headers.get('Location');
      await pc.setRemoteDescription({ type: 'answer', sdp: text });
      $('stop').disabled = false;
    } catch (error) {
      state.error = String(error && error.message || error);
      show('failed', 'Failed: ' + state.error);
      cleanup();
      $('start').disabled = false;
    }
  }

  function cleanup() {
    if (state.pc) state.pc.close();
    if (state.stream) for (const track of state.stream.getTracks()) track.stop();
    state.pc = undefined;
    state.stream = undefined;
  }

  async function stop() {
    $('stop').disabled = true;
    const where = state.location;
    state.location = undefined;
    cleanup();
    if (where) await fetch(where, { method: 'DELETE', headers: { Authorization: 'Bearer ' + state.token } }).catch(() => undefined);
    show('idle', 'Stopped');
    $('start').disabled = false;
  }

  /** What the browser sent: for tests and benchmarks (framesSent, frames per second). */
  state.sentVideo = async () => {
    if (!state.pc) return undefined;
    const report = await state.pc.getStats();
    for (const entry of report.values()) {
      if (entry.type === 'outbound-rtp' && entry.kind === 'video') {
        return { framesSent: entry.framesSent, framesEncoded: entry.framesEncoded, width: entry.frameWidth, height: entry.frameHeight, fps: entry.framesPerSecond, codecId: entry.codecId, bytesSent: entry.bytesSent, nackCount: entry.nackCount, pliCount: entry.pliCount, qualityLimitationReason: entry.qualityLimitationReason, timestamp: entry.timestamp };
      }
    }
    return undefined;
  };
  state.start = start;
  state.stop = stop;

  $('form').addEventListener('submit', (event) => {
    event.preventDefault();
    void start();
  });
  $('stop').addEventListener('click', () => void stop());
  if (params.get('autostart') === '1' && $('token').value) void start();
})();
`;
