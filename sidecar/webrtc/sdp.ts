/**
 * The few things the WHIP endpoint reads from and changes in SDP (RFC 8866) itself:
 * whether an offer is usable (and why not), which codecs it offers in which order, and
 * the host candidates of the answer.
 */

export interface OfferedCodec {
  payloadType: number;
  /** Lower case, e.g. "vp8", "h264", "opus", "rtx". */
  name: string;
  clockRate: number;
  channels?: number;
  fmtp: string;
}

export interface OfferedMedia {
  kind: string;
  direction: string;
  /** In the offer's order of preference (the m= line's payload list). */
  codecs: OfferedCodec[];
}

export type OfferCheck = { ok: true; media: OfferedMedia[] } | { ok: false; reason: string };

const directions = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

function sectionsOf(sdp: string): string[][] {
  const lines = sdp.split(/\r?\n/).filter((line) => line.length > 0);
  const sections: string[][] = [[]];
  for (const line of lines) {
    if (line.startsWith('m=')) sections.push([]);
    sections[sections.length - 1]!.push(line);
  }
  return sections;
}

/** Parses the media sections of an offer; a reason in words when it is not an offer WHIP can take. */
export function checkOffer(sdp: string): OfferCheck {
  if (sdp.trim().length === 0) return { ok: false, reason: 'the body is empty; POST an SDP offer' };
  if (!/^v=0\r?\n/.test(sdp)) return { ok: false, reason: 'an SDP offer starts with "v=0"' };
  const [session, ...sections] = sectionsOf(sdp);
  for (const line of [...session!, ...sections.flat()]) {
    if (!/^[a-z]=/.test(line)) return { ok: false, reason: `not an SDP line: "${line.slice(0, 60)}"` };
  }
  if (sections.length === 0) return { ok: false, reason: 'the offer has no media section (m=)' };
  const sessionAttributes = session!.filter((line) => line.startsWith('a='));
  const media: OfferedMedia[] = [];
  for (const section of sections) {
    const m = /^m=(\w+) \d+ [A-Z/]+ ([\d ]+)$/.exec(section[0]!);
    if (!m) return { ok: false, reason: `a malformed media line: "${section[0]!.slice(0, 80)}"` };
    const kind = m[1]!;
    const attribute = (name: string) => section.find((line) => line.startsWith(`a=${name}`)) ?? sessionAttributes.find((line) => line.startsWith(`a=${name}`));
    if (!attribute('ice-ufrag:') || !attribute('ice-pwd:')) return { ok: false, reason: `the ${kind} section has no ICE credentials (a=ice-ufrag, a=ice-pwd)` };
    if (!attribute('fingerprint:')) return { ok: false, reason: `the ${kind} section has no DTLS fingerprint (a=fingerprint)` };
    const direction = section.map((line) => line.slice(2)).find((value) => directions.has(value)) ?? 'sendrecv';
    const payloadTypes = m[2]!.trim().split(/\s+/).map(Number);
    const codecs: OfferedCodec[] = [];
    for (const payloadType of payloadTypes) {
      const rtpmap = section.find((line) => line.startsWith(`a=rtpmap:${payloadType} `));
      const map = rtpmap ? /^a=rtpmap:\d+ ([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(rtpmap) : null;
      if (!map) continue;
      const fmtp = section.find((line) => line.startsWith(`a=fmtp:${payloadType} `))?.slice(`a=fmtp:${payloadType} `.length) ?? '';
      codecs.push({ payloadType, name: map[1]!.toLowerCase(), clockRate: Number(map[2]), ...(map[3] ? { channels: Number(map[3]) } : {}), fmtp });
    }
    media.push({ kind, direction, codecs });
  }
  return { ok: true, media };
}

export const fmtpParameters = (fmtp: string): Record<string, string> =>
  Object.fromEntries(
    fmtp
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const at = part.indexOf('=');
        return at < 0 ? [part, ''] : [part.slice(0, at), part.slice(at + 1)];
      }),
  );

export type VideoCodec = 'vp8' | 'h264';
export const supportedVideoCodecs: readonly VideoCodec[] = ['vp8', 'h264'];

/** Whether the sidecar can take this offered video codec (H264 in packetization mode 0 or 1). */
export function isSupportedVideoCodec(codec: OfferedCodec): codec is OfferedCodec & { name: VideoCodec } {
  if (codec.name === 'vp8') return true;
  if (codec.name !== 'h264') return false;
  const mode = fmtpParameters(codec.fmtp)['packetization-mode'] ?? '0';
  return mode === '0' || mode === '1';
}

/** The publisher's first offered video codec the sidecar takes (its order is its preference). */
export function chooseVideoCodec(media: OfferedMedia | undefined): VideoCodec | undefined {
  return media?.codecs.find(isSupportedVideoCodec)?.name as VideoCodec | undefined;
}

/**
 * The answer with every host candidate naming `address` (werift may advertise an
 * address of another interface while it listens on the one it was told to), one
 * candidate per port and component.
 */
export function rewriteHostCandidates(sdp: string, address: string): string {
  const seen = new Set<string>();
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const out: string[] = [];
  for (const line of sdp.split(/\r?\n/)) {
    const c = /^a=candidate:(\S+) (\d+) (udp|tcp) (\d+) (\S+) (\d+) typ host(.*)$/i.exec(line);
    if (!c) {
      out.push(line);
      continue;
    }
    const key = `${c[2]}/${c[3]!.toLowerCase()}/${c[6]}/${out.length > 0 ? sectionIndex(out) : 0}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(`a=candidate:${c[1]} ${c[2]} ${c[3]} ${c[4]} ${address} ${c[6]} typ host${c[7]}`);
  }
  return out.join(eol);
}

function sectionIndex(lines: string[]): number {
  return lines.filter((line) => line.startsWith('m=')).length;
}

/** The UDP ports the host candidates of an SDP name. */
export function candidatePorts(sdp: string): number[] {
  const ports = new Set<number>();
  for (const match of sdp.matchAll(/^a=candidate:\S+ \d+ udp \d+ \S+ (\d+) typ host/gim)) ports.add(Number(match[1]));
  return [...ports];
}

/** The SDP with every candidate's address and port replaced (a relay put in front of the sidecar). */
export function redirectCandidates(sdp: string, address: string, port: number): string {
  return sdp.replace(/^(a=candidate:\S+ \d+ udp \d+ )\S+ \d+( typ host)/gim, `$1${address} ${port}$2`);
}
