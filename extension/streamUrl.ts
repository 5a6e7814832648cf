const networkSchemes = /^(rtsps?|rtmps?|srt|udp|https?):\/\//i;

/** Checks a URL typed into the input box; a message that says what to fix, or undefined. */
export function validateStreamUrl(text: string): string | undefined {
  const value = text.trim();
  if (!value) return 'Type a URL, e.g. rtsp://camera.local/stream or https://example.com/live.m3u8';
  if (!networkSchemes.test(value)) return 'Use rtsp://, rtsps://, rtmp://, srt://, udp://, http:// or https:// (HLS, DASH or a media file)';
  try {
    const url = new URL(value);
    if (!url.hostname) return 'The URL needs a host';
  } catch {
    return 'This is not a valid URL';
  }
  return undefined;
}
