/**
 * Deepgram's wire format as the fake speaks it: credentials from the request, transcript
 * formatting and word timings, audio durations, model info, error bodies, and fetching the
 * audio of a `{ "url": ... }` request.
 * @module
 */
import type { IncomingMessage } from 'node:http';

export function authKey(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const m = /^(?:token|bearer)\s+(.+)$/i.exec(h.trim());
    if (m?.[1]) return m[1];
  }
  // Browsers and the legacy SDK on runtimes with a global WebSocket send `token, <key>` as subprotocols.
  const proto = req.headers['sec-websocket-protocol'];
  if (typeof proto === 'string') {
    const parts = proto.split(',').map((p) => p.trim());
    const i = parts.findIndex((p) => p.toLowerCase() === 'token' || p.toLowerCase() === 'bearer');
    if (i >= 0 && parts[i + 1]) return parts[i + 1];
  }
  return undefined;
}

export function formatTranscript(text: string, query: Record<string, string>): string {
  const t = text.replace(/\s+/g, ' ').trim();
  if (query.smart_format === 'true' || query.punctuate === 'true') return t;
  return t
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s'-]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export function wordsOf(transcript: string, start: number, duration: number) {
  const words = transcript.split(' ').filter(Boolean);
  const span = Math.max(0, duration - 0.1);
  const each = words.length > 0 ? span / words.length : 0;
  return words.map((w, i) => ({
    word: w.toLowerCase().replace(/[^\p{L}\p{N}'-]/gu, '') || w,
    start: round(start + 0.05 + i * each),
    end: round(start + 0.05 + (i + 1) * each),
    confidence: 0.99,
    punctuated_word: w,
  }));
}

export function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

export function bytesPerSecond(query: Record<string, string>): number {
  const rate = Number(query.sample_rate ?? 16_000) || 16_000;
  const channels = Number(query.channels ?? 1) || 1;
  const enc = query.encoding ?? 'linear16';
  const bytes = enc === 'mulaw' || enc === 'alaw' ? 1 : enc === 'linear32' ? 4 : 2;
  return rate * channels * bytes;
}

export function wavDurationSeconds(audio: Uint8Array): number | undefined {
  if (audio.length < 44 || String.fromCharCode(...audio.subarray(0, 4)) !== 'RIFF') return undefined;
  const v = new DataView(audio.buffer, audio.byteOffset, audio.byteLength);
  let o = 12;
  let byteRate = 0;
  while (o + 8 <= audio.length) {
    const id = String.fromCharCode(...audio.subarray(o, o + 4));
    const len = v.getUint32(o + 4, true);
    if (id === 'fmt ') byteRate = v.getUint32(o + 16, true);
    if (id === 'data' && byteRate > 0) return Math.min(len, audio.length - o - 8) / byteRate;
    o += 8 + len + (len % 2);
  }
  return undefined;
}

export function modelInfo(model: string) {
  return { name: `2-general-${model}`, version: '2026-01-01.fake', arch: model };
}

export function errorBody(status: number, message: string, requestId: string) {
  const code =
    status === 401
      ? 'INVALID_AUTH'
      : status === 429
        ? 'TOO_MANY_REQUESTS'
        : status === 400
          ? 'Bad Request'
          : status >= 500
            ? 'INTERNAL_SERVER_ERROR'
            : 'REQUEST_REJECTED';
  return { err_code: code, err_msg: message, request_id: requestId };
}

/** The audio at a `data:` URL or an http URL on this machine; `undefined` for anything else. */
export async function fetchAudio(url: string): Promise<Uint8Array | undefined> {
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    if (comma < 0) return undefined;
    const meta = url.slice(5, comma);
    const data = url.slice(comma + 1);
    return meta.endsWith(';base64') ? Buffer.from(data, 'base64') : Buffer.from(decodeURIComponent(data));
  }
  try {
    const u = new URL(url);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) return undefined;
    const res = await fetch(u);
    if (!res.ok) return undefined;
    return new Uint8Array(await res.arrayBuffer());
  } catch {
    return undefined;
  }
}

/**
 * A live socket's inactivity timeout, as Deepgram applies it (close 1011 with a `NET-0001`
 * reason when nothing arrives within `ms`): `touch()` restarts it on each message, `clear()`
 * stops it when the socket closes.
 */
export function idleTimeout(ms: number, onIdle: () => void): { touch(): void; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  return {
    touch() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(onIdle, ms);
      timer.unref();
    },
    clear() {
      if (timer) clearTimeout(timer);
    },
  };
}
