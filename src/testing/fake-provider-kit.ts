/**
 * Plumbing shared by the provider fakes: starting a `node:http` server with an optional
 * WebSocket endpoint on 127.0.0.1, charging the cost of a new connection (`connectLatencyMs`),
 * rejecting a WebSocket handshake with a real HTTP status, logging requests without their
 * secrets, and pacing audio.
 * Latency and faults themselves come from `./latency.ts`, shared by every fake.
 * @module
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import { optionalPeerLoader } from '../providers/shared/optional-import.js';
import {
  type FaultDecision,
  FaultInjector,
  type FaultProfile,
  LatencyModel,
  type LatencyProfile,
} from './latency.js';

/** One request a fake received, as kept in its `requests` log (never with credentials). */
export interface FakeRequestRecord {
  /** `http` for plain requests, `ws` for WebSocket upgrades. */
  transport: 'http' | 'ws';
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query parameters (last value wins). */
  query: Record<string, string>;
  /** The fake's name for the route, as used by `faults.routes` and `faults.enqueue({ route })`. */
  route: string;
  /** Status sent (101 for an accepted upgrade), once known. */
  status?: number;
  /** Parsed JSON body of HTTP requests, or a summary for binary bodies. */
  body?: unknown;
  /** `performance.now()` when the request arrived. */
  atMs: number;
  /** True when this was the first request on a new connection (see {@link connectionOf}). */
  newConnection?: boolean;
  /** Connection cost this request waited, in ms (`connectLatencyMs`; 0 on a kept-alive connection). */
  connectMs?: number;
}

/** Bounded request log: the newest `max` entries, plus a total count that never drops. */
export class RequestLog {
  readonly #max: number;
  #entries: FakeRequestRecord[] = [];
  #count = 0;

  constructor(max = 1000) {
    this.#max = max;
  }

  add(entry: FakeRequestRecord): FakeRequestRecord {
    this.#count++;
    this.#entries.push(entry);
    if (this.#entries.length > this.#max) this.#entries.splice(0, this.#entries.length - this.#max);
    return entry;
  }

  /** Every request received since start (or the last `clear()`), including rejected ones. */
  get count(): number {
    return this.#count;
  }

  /** The newest entries, oldest first. */
  get entries(): readonly FakeRequestRecord[] {
    return this.#entries;
  }

  /** Number of requests for one route. */
  countFor(route: string): number {
    return this.#entries.filter((e) => e.route === route).length;
  }

  clear(): void {
    this.#entries = [];
    this.#count = 0;
  }
}

/** Options every provider fake takes: where it listens and how it misbehaves. */
interface FakeServerBaseOptions {
  /** Port to listen on. Default 0 (an ephemeral port). */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  latency?: LatencyProfile;
  faults?: FaultProfile;
  /** Seed of the latency and fault draws. Default 1. */
  seed?: number | string;
  /**
   * Cost of opening a new connection (DNS + TCP + TLS on the real service), in ms: the first
   * request on each new connection (and each WebSocket upgrade) waits this long before it is
   * handled; later requests on a kept-alive connection do not. Default 0.
   */
  connectLatencyMs?: number;
}

/** The seed, latency model, fault injector and request log of a provider fake. */
interface FakeServerParts {
  seed: number | string;
  latency: LatencyModel;
  faults: FaultInjector;
  requests: RequestLog;
}

/**
 * Builds the parts every provider fake starts from, seeded the same way in each (latency from
 * `seed`, faults from `<seed>:faults`) so a seed replays the same draws.
 *
 * @example
 * ```ts
 * const { seed, latency, faults, requests } = fakeServerParts(options);
 * const started = await startServer({ ...listenOptionsOf(options), onRequest });
 * ```
 */
export function fakeServerParts(options: FakeServerBaseOptions): FakeServerParts {
  const seed = options.seed ?? 1;
  return {
    seed,
    latency: new LatencyModel(options.latency ?? { kind: 'none' }, { seed }),
    faults: new FaultInjector(options.faults, { seed: `${seed}:faults` }),
    requests: new RequestLog(),
  };
}

/** The `port` and `host` of a fake's options for {@link startServer}, leaving out those not set. */
export function listenOptionsOf(options: { port?: number; host?: string }): { port?: number; host?: string } {
  return {
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
  };
}

/** Headers of an injected error answer: `base`, plus `retry-after` for a rate limit. */
export function faultHeaders(decision: FaultDecision, base: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { ...base };
  if (decision.kind === 'rateLimit') headers['retry-after'] = String(decision.retryAfterSeconds);
  return headers;
}

/** Parses the query string of `req.url` into a plain object (last value wins). */
export function parseQuery(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) out[k] = v;
  return out;
}

/** Reads a request body into one buffer. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Sends a JSON answer with `content-type: application/json`. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Refuses a WebSocket upgrade with a real HTTP status and body, the way a provider rejects a
 * bad key or a rate-limited client: the client sees `Unexpected server response: <status>`.
 */
export function rejectUpgrade(
  socket: Socket,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(text)}`,
    'connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    '',
    '',
  ];
  socket.end(lines.join('\r\n') + text);
}

/** Handler of an HTTP request; the server answers 404 when it returns `false`. */
type HttpHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;
/**
 * Handler of a WebSocket upgrade. Call `accept` to complete the handshake; return `false` to
 * have the server reject it with 404.
 */
type UpgradeHandler = (
  req: IncomingMessage,
  socket: Socket,
  url: URL,
  accept: () => Promise<WebSocket>,
) => Promise<boolean> | boolean;

/** A started fake server. */
interface StartedServer {
  server: Server;
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** TCP connections accepted since start: a client that keeps connections alive opens few. */
  readonly connections: number;
  /**
   * Closes every kept-alive HTTP connection that serves no request right now (WebSockets and
   * requests in flight are left alone), as a server or client idle timeout does after a pause:
   * the next request pays `connectLatencyMs` again. Returns how many were closed.
   */
  dropIdleConnections(): number;
  /** Closes every connection (HTTP and WebSocket) and the server. */
  close(): Promise<void>;
}

const connectionInfo = new WeakMap<IncomingMessage, { newConnection: boolean; connectMs: number }>();

/**
 * Whether `req` opened its connection and the connection cost it waited, for a fake's request
 * log: `{ newConnection: false, connectMs: 0 }` for a request on a kept-alive connection.
 *
 * @example
 * ```ts
 * requests.add({ ...record, ...connectionOf(req) });
 * ```
 */
export function connectionOf(req: IncomingMessage): { newConnection: boolean; connectMs: number } {
  return connectionInfo.get(req) ?? { newConnection: false, connectMs: 0 };
}

/** Reads a `connectLatencyMs` setting: a fixed number or a live getter; 0 when unset or invalid. */
function connectCostOf(setting: number | (() => number) | undefined): number {
  const ms = typeof setting === 'function' ? setting() : setting;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/**
 * Starts an HTTP server on `host:port` (default 127.0.0.1, an ephemeral port) that routes plain
 * requests to `onRequest` and WebSocket upgrades to `onUpgrade`. Open connections are tracked
 * so `close()` never waits on a client that keeps a socket open.
 *
 * `connectLatencyMs` (a number, or a getter so a fake can expose it as a live setting) models
 * the cost of a new connection: the first request or upgrade on each new socket waits that
 * long before its handler runs; requests on a kept-alive socket do not.
 *
 * @example
 * ```ts
 * const state = { connectLatencyMs: 80 };
 * const started = await startServer({ connectLatencyMs: () => state.connectLatencyMs, onRequest });
 * ```
 */
/**
 * `ws` is loaded only by the fakes that speak WebSocket (Deepgram live, ElevenLabs stream-input),
 * so `earshot/testing` imports without it and a missing `ws` is a `MissingDependencyError`.
 */
const loadWs = optionalPeerLoader('ws', () => import('ws'));

export async function startServer(options: {
  port?: number;
  host?: string;
  connectLatencyMs?: number | (() => number);
  onRequest: HttpHandler;
  onUpgrade?: UpgradeHandler;
}): Promise<StartedServer> {
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  // Sockets whose first request already paid the connection cost.
  const warmSockets = new WeakSet<Socket>();
  // HTTP requests in flight per socket, and sockets upgraded to a WebSocket (never idle).
  const busy = new Map<Socket, number>();
  const upgraded = new WeakSet<Socket>();
  let connections = 0;
  const payConnectCost = async (socket: Socket, req: IncomingMessage): Promise<void> => {
    if (warmSockets.has(socket)) {
      connectionInfo.set(req, { newConnection: false, connectMs: 0 });
      return;
    }
    warmSockets.add(socket);
    const ms = connectCostOf(options.connectLatencyMs);
    connectionInfo.set(req, { newConnection: true, connectMs: ms });
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  };
  const wss: WebSocketServer | undefined = options.onUpgrade
    ? new (await loadWs('earshot/testing (its WebSocket fake servers)')).WebSocketServer({
        noServer: true,
        perMessageDeflate: false,
      })
    : undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) busy.set(socket, left);
      else busy.delete(socket);
    });
    payConnectCost(req.socket, req)
      .then(() => options.onRequest(req, res, url))
      .then((handled) => {
        if (!handled && !res.headersSent)
          sendJson(res, 404, { detail: `No route for ${req.method} ${url.pathname}` });
      })
      .catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { detail: `fake server error: ${String(err)}` });
        else res.destroy();
      });
  });
  server.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    upgraded.add(socket);
    socket.on('error', () => {});
    const accept = () =>
      new Promise<WebSocket>((resolve, reject) => {
        if (!wss) reject(new Error('no WebSocket route'));
        else wss.handleUpgrade(req, socket, head, (ws) => resolve(ws));
      });
    const handler = options.onUpgrade;
    payConnectCost(socket, req)
      .then(() => (handler ? handler(req, socket, url, accept) : false))
      .then((handled) => {
        if (!handled && socket.writable)
          rejectUpgrade(socket, 404, { detail: `No WebSocket route ${url.pathname}` });
      })
      .catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    get connections() {
      return connections;
    },
    dropIdleConnections() {
      let dropped = 0;
      for (const s of sockets) {
        if (upgraded.has(s) || busy.has(s)) continue;
        s.destroy();
        dropped++;
      }
      return dropped;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (wss) {
          for (const ws of wss.clients) ws.terminate();
          wss.close();
        }
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

/**
 * Sleeps `ms`, resolving `false` early once `isAlive()` turns false (checked every 10 ms at most)
 * so streaming fakes stop promptly when the client hangs up.
 */
export async function sleepWhile(ms: number, isAlive: () => boolean): Promise<boolean> {
  let left = ms;
  while (left > 0) {
    if (!isAlive()) return false;
    const step = Math.min(left, 10);
    await new Promise((r) => setTimeout(r, step));
    left -= step;
  }
  return isAlive();
}

/** Byte length of `ms` of audio in `format` (16-bit PCM at the format's rate; 1 byte/sample for ulaw/alaw). */
function audioBytesPerMs(format: string): number {
  const m = /^(pcm|ulaw|alaw|mp3|opus)_(\d+)/.exec(format);
  const rate = m ? Number(m[2]) : 16_000;
  const bytesPerSample = m && (m[1] === 'ulaw' || m[1] === 'alaw') ? 1 : 2;
  return (rate * bytesPerSample) / 1000;
}

/** Splits `audio` into chunks of `chunkMs` of audio (at least 1 byte, even-sized for 16-bit audio). */
export function chunkAudio(audio: Uint8Array, format: string, chunkMs: number): Uint8Array[] {
  const perMs = audioBytesPerMs(format);
  let size = Math.max(1, Math.round(perMs * chunkMs));
  if (perMs >= 2 && size % 2 === 1) size++;
  const out: Uint8Array[] = [];
  for (let i = 0; i < audio.length; i += size) out.push(audio.subarray(i, Math.min(audio.length, i + size)));
  return out;
}

/** Wall-clock ms to wait between two audio chunks of `chunkMs` at `audioRate` × real time. */
export function pacingMs(chunkMs: number, audioRate: number): number {
  return Number.isFinite(audioRate) && audioRate > 0 ? chunkMs / audioRate : 0;
}

/**
 * `handle` with each setting of `state` exposed as a live read/write property: a test can
 * change `fake.tokensPerSecond` mid-run and the server sees it on its next request.
 */
export function withSettings<H extends object, S extends object>(handle: H, state: S): H & S {
  for (const key of Object.keys(state) as (keyof S & string)[]) {
    Object.defineProperty(handle, key, {
      get: () => state[key],
      set: (v: S[typeof key]) => {
        state[key] = v;
      },
      enumerable: true,
    });
  }
  return handle as H & S;
}
