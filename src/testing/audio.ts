/**
 * Fake speech: audio that carries its own transcript, so a TTS → STT round trip works with no
 * speech model. Every fake TTS (stage and server) produces it; every fake STT reads it back.
 *
 * Raw PCM carries the text in a marked block at the start (`EARSHOT1`, a little-endian uint32
 * length, UTF-8 text), followed by a quiet tone whose length grows with the text, so byte
 * counts and durations look like speech. WAV carries the text in a RIFF chunk named `etxt`
 * beside `fmt ` and `data`, so it stays a valid WAV file that players accept.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';

const MARKER = new TextEncoder().encode('EARSHOT1');
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Options of {@link synthesizeFakeSpeech}. */
export interface FakeSpeechOptions {
  /** `pcm_<rate>` (raw 16-bit mono) or `wav`. Default `pcm_16000`. */
  format?: string;
  /** Sample rate for `wav`. Default 16000. */
  sampleRate?: number;
  /** Spoken duration per character of text, in ms. Default 55 (about 150 words a minute). */
  msPerChar?: number;
}

function sampleRateOf(format: string, fallback: number): number {
  const m = /^(?:pcm|ulaw|alaw|mp3|opus)_(\d+)/.exec(format);
  return m ? Number(m[1]) : fallback;
}

function toneSamples(text: string, sampleRate: number, msPerChar: number): Int16Array {
  const n = Math.max(1, Math.round(((text.length * msPerChar) / 1000) * sampleRate));
  const out = new Int16Array(n);
  // A quiet 220 Hz tone: deterministic, compressible, audible if someone plays it.
  const step = (2 * Math.PI * 220) / sampleRate;
  for (let i = 0; i < n; i++) out[i] = Math.round(Math.sin(i * step) * 2000);
  return out;
}

function markedBlock(text: string): Uint8Array {
  const body = encoder.encode(text);
  const padded = body.length + (body.length % 2); // keep 16-bit sample alignment
  const block = new Uint8Array(MARKER.length + 4 + padded);
  block.set(MARKER, 0);
  new DataView(block.buffer).setUint32(MARKER.length, body.length, true);
  block.set(body, MARKER.length + 4);
  return block;
}

/**
 * Produces audio that carries `text` (see the module doc).
 *
 * @example
 * ```ts
 * const audio = synthesizeFakeSpeech('Where is load 2314?', { format: 'wav' });
 * transcribeFakeSpeech(audio); // 'Where is load 2314?'
 * ```
 */
export function synthesizeFakeSpeech(text: string, options: FakeSpeechOptions = {}): Uint8Array {
  const format = options.format ?? 'pcm_16000';
  const msPerChar = options.msPerChar ?? 55;
  if (!(msPerChar >= 0)) throw new InvalidArgumentError('msPerChar must be a number ≥ 0.');
  if (format === 'wav') {
    const rate = options.sampleRate ?? 16_000;
    const pcm = toneSamples(text, rate, msPerChar);
    const txt = encoder.encode(text);
    const txtPadded = txt.length + (txt.length % 2);
    const size = 12 + (8 + 16) + (8 + txtPadded) + (8 + pcm.byteLength);
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    let o = 0;
    const ascii = (s: string) => {
      for (let i = 0; i < 4; i++) out[o + i] = s.charCodeAt(i);
      o += 4;
    };
    ascii('RIFF');
    v.setUint32(o, size - 8, true);
    o += 4;
    ascii('WAVE');
    ascii('fmt ');
    v.setUint32(o, 16, true);
    v.setUint16(o + 4, 1, true); // PCM
    v.setUint16(o + 6, 1, true); // mono
    v.setUint32(o + 8, rate, true);
    v.setUint32(o + 12, rate * 2, true);
    v.setUint16(o + 16, 2, true);
    v.setUint16(o + 18, 16, true);
    o += 20;
    ascii('etxt');
    v.setUint32(o, txt.length, true);
    o += 4;
    out.set(txt, o);
    o += txtPadded;
    ascii('data');
    v.setUint32(o, pcm.byteLength, true);
    o += 4;
    out.set(new Uint8Array(pcm.buffer), o);
    return out;
  }
  const rate = sampleRateOf(format, 16_000);
  const block = markedBlock(text);
  const pcm = toneSamples(text, rate, msPerChar);
  const out = new Uint8Array(block.length + pcm.byteLength);
  out.set(block, 0);
  out.set(new Uint8Array(pcm.buffer), block.length);
  return out;
}

function readWavText(bytes: Uint8Array): string | undefined {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 12;
  while (o + 8 <= bytes.length) {
    const id = String.fromCharCode(bytes[o]!, bytes[o + 1]!, bytes[o + 2]!, bytes[o + 3]!);
    const len = v.getUint32(o + 4, true);
    if (id === 'etxt') return decoder.decode(bytes.subarray(o + 8, Math.min(bytes.length, o + 8 + len)));
    o += 8 + len + (len % 2);
  }
  return undefined;
}

/**
 * Reads back every text that {@link synthesizeFakeSpeech} put into `audio` (which may be the
 * concatenation of several synthesized pieces), joined by a space. Returns `''` for audio
 * that carries no text (silence, real speech).
 */
export function transcribeFakeSpeech(audio: Uint8Array): string {
  if (
    audio.length >= 12 &&
    audio[0] === 0x52 &&
    audio[1] === 0x49 &&
    audio[2] === 0x46 &&
    audio[3] === 0x46 &&
    audio[8] === 0x57
  ) {
    const t = readWavText(audio);
    if (t !== undefined) return t;
  }
  const texts: string[] = [];
  let from = 0;
  for (;;) {
    const at = indexOf(audio, MARKER, from);
    if (at < 0 || at + MARKER.length + 4 > audio.length) break;
    const len = new DataView(audio.buffer, audio.byteOffset + at + MARKER.length, 4).getUint32(0, true);
    const start = at + MARKER.length + 4;
    if (start + len > audio.length) break;
    texts.push(decoder.decode(audio.subarray(start, start + len)));
    from = start + len;
  }
  return texts.join(' ');
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  outer: for (
    let i = hay.indexOf(first, from);
    i >= 0 && i <= hay.length - needle.length;
    i = hay.indexOf(first, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Duration in ms of raw 16-bit mono PCM bytes at `sampleRate`. */
export function pcmDurationMs(byteLength: number, sampleRate = 16_000): number {
  return (byteLength / 2 / sampleRate) * 1000;
}
