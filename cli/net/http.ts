/**
 * @module HTTP requests to the editor API, directly or through a SOCKS5 proxy (Tor).
 *
 * Onion services speak plain http (Tor already authenticates and encrypts the circuit), and so
 * does a loopback tunnel; anywhere else the token would cross the network in clear, so plain http
 * is refused there and https is required.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Readable } from 'node:stream';
import { connectSocks5, type Socks5Proxy } from './socks5.ts';
import { printable } from '../errors.ts';

export interface EditorEndpoint {
  /** Base URL of the editor listener, without a trailing slash (e.g. `http://abc….onion`). */
  server: URL;
  socks5?: Socks5Proxy;
  /** `sde_…`, sent as `Authorization: Bearer`. */
  token: string;
}

/** A refusal or failure that the CLI turns into `sealdrop: error:` plus a hint. */
export class EditorRequestError extends Error {
  override name = 'EditorRequestError';
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly hint: string | undefined;
  constructor(message: string, options: { status?: number; code?: string; hint?: string } = {}) {
    super(message);
    this.status = options.status;
    this.code = options.code;
    this.hint = options.hint;
  }
}

const IDLE_TIMEOUT_MS = 5 * 60_000;

function isLoopback(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** Checks the `--server` value. Throws `EditorRequestError` with a hint for the likely mistake. */
export function parseServerUrl(text: string, socks5: Socks5Proxy | undefined): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new EditorRequestError(`'${text}' is not a URL`, {
      hint: 'give the editor listener as --server http://<address>.onion or http://127.0.0.1:8081',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EditorRequestError(`expected an http:// or https:// server URL, got ${url.protocol}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new EditorRequestError('the server URL must not hold credentials, a query or a fragment', {
      hint: 'the token comes from the SEALDROP_TOKEN environment variable',
    });
  }
  const onion = url.hostname.endsWith('.onion');
  if (socks5 && url.protocol !== 'http:') {
    throw new EditorRequestError('--socks5 works with http:// addresses only', {
      hint: 'onion services need no https: give the onion address as http://<address>.onion',
    });
  }
  if (onion && !socks5) {
    throw new EditorRequestError(`${url.hostname} is an onion address and needs Tor`, {
      hint: 'add --socks5 127.0.0.1:9050 (Tor\'s SOCKS port; 9150 for Tor Browser)',
    });
  }
  if (url.protocol === 'http:' && !onion && !isLoopback(url.hostname)) {
    throw new EditorRequestError(`refusing to send the editor token over plain http to ${url.hostname}`, {
      hint: 'use the newsroom\'s onion address with --socks5, an ssh tunnel to 127.0.0.1, or https://',
    });
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

export interface EditorRequestOptions {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path below the base URL, starting with `/editor/v1/`. */
  path: string;
  body?: Uint8Array;
  contentType?: string;
  signal?: AbortSignal;
}

/**
 * Sends one request and resolves with the response as soon as its headers arrive (the body is
 * left to the caller, as a stream). Answers with status ≥ 400 are turned into
 * `EditorRequestError` carrying the server's `{ error, message }`.
 */
export async function editorRequest(endpoint: EditorEndpoint, options: EditorRequestOptions): Promise<http.IncomingMessage> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${endpoint.token}`,
    accept: 'application/json, application/octet-stream, application/x-tar',
  };
  if (options.body) headers['content-type'] = options.contentType ?? 'application/octet-stream';
  const response = await sendRequest(endpoint, { ...options, headers, what: 'the editor API' });
  if ((response.statusCode ?? 0) >= 400) {
    throw await toRequestError(response, endpoint.server);
  }
  return response;
}

export interface SendRequestOptions {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path below the base URL. */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal;
  /** What is being reached, for the error message ("the editor API", "the site"). */
  what: string;
}

/**
 * One request to `server`, through `socks5` when given, answered with the response whatever its
 * status. A network failure becomes an `EditorRequestError` with a hint. Node sends no User-Agent of
 * its own and none is added: nothing about this machine goes out.
 */
export async function sendRequest(endpoint: { server: URL; socks5?: Socks5Proxy }, options: SendRequestOptions): Promise<http.IncomingMessage> {
  const { server, socks5 } = endpoint;
  const secure = server.protocol === 'https:';
  const port = Number(server.port) || (secure ? 443 : 80);
  const headers: Record<string, string | number> = { host: server.host, ...options.headers };
  if (options.body) headers['content-length'] = options.body.byteLength;
  const requestOptions: http.RequestOptions = {
    method: options.method,
    host: server.hostname.replace(/^\[|\]$/g, ''),
    port,
    path: server.pathname.replace(/\/+$/, '') + options.path,
    headers,
    signal: options.signal,
  };
  if (socks5) {
    requestOptions.createConnection = (_opts, callback) => {
      connectSocks5({ proxy: socks5, host: server.hostname, port })
        .then((socket) => {
          callback(null, socket);
          // The request attaches its reader on the next tick; only then let the bytes flow.
          setImmediate(() => socket.resume());
        })
        .catch((error: Error) => callback(error, undefined as unknown as net.Socket));
      return undefined;
    };
  }
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = (secure ? https : http).request(requestOptions, resolve);
    request.setTimeout(IDLE_TIMEOUT_MS, () => request.destroy(new Error(`no answer for ${IDLE_TIMEOUT_MS / 1000} s`)));
    request.on('error', (error: Error) => {
      reject(
        error instanceof EditorRequestError || error.name === 'Socks5Error'
          ? new EditorRequestError(error.message, {
              hint: socks5 ? 'is Tor running, and is the onion address right?' : undefined,
            })
          : new EditorRequestError(`cannot reach ${options.what} at ${server.origin}: ${error.message}`, {
              hint: socks5 ? 'is Tor running, and is the onion address right?' : 'is the server running, and is its address right?',
            }),
      );
    });
    request.end(options.body);
  });
  return response;
}

/** What the server's catch-all answers for a route it does not have (server/policies/errors.ts). */
const NO_SUCH_ROUTE = 'Not found.';

async function toRequestError(response: http.IncomingMessage, server: URL): Promise<EditorRequestError> {
  const status = response.statusCode ?? 0;
  let code: string | undefined;
  let message = `the server answered ${status}`;
  let routeUnknown = status === 404;
  try {
    const body = JSON.parse(new TextDecoder().decode(await readBody(response, 64 * 1024))) as unknown;
    if (body && typeof body === 'object') {
      const { error, message: text } = body as { error?: unknown; message?: unknown };
      if (typeof error === 'string') code = printable(error);
      if (typeof text === 'string') message = `${message}: ${printable(text)}`;
      // the editor API's own 404s say what is missing ("No such submission."); the catch-all's
      // does not: the route itself is unknown there
      if (typeof text === 'string' && text !== NO_SUCH_ROUTE) routeUnknown = false;
    }
  } catch {
    response.destroy();
  }
  if (routeUnknown) {
    // most often --server names the source site's port (PORT, 8080), one below the editor's
    // no status: the callers' "this one item is not there" handling of a 404 must not apply
    return new EditorRequestError(`${printable(server.origin)} is not the editor API: it knows no /editor/v1 route (it answered 404)`, {
      code: 'not_editor_api',
      hint: 'the source pages and the editor API listen on different ports (PORT, 8080 by default, and EDITOR_PORT, 8081; the server\'s start line shows both): give the editor API\'s, e.g. --server http://127.0.0.1:8081',
    });
  }
  const hint =
    status === 401
      ? 'check SEALDROP_TOKEN: the operator makes tokens with `npm run admin -- token add NAME`'
      : status === 429
        ? 'too many failed logins on the server right now; wait a minute and try again'
        : undefined;
  return new EditorRequestError(message, { status, code, hint });
}

/** Reads a whole (small) body, refusing more than `maxBytes`. */
export async function readBody(stream: Readable, maxBytes: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const part of stream as AsyncIterable<Buffer>) {
    total += part.length;
    if (total > maxBytes) {
      stream.destroy();
      throw new EditorRequestError(`the server's answer is larger than ${maxBytes} bytes`);
    }
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/** A request whose answer is JSON (at most 16 MiB). */
export async function editorJson<T>(endpoint: EditorEndpoint, options: EditorRequestOptions): Promise<T> {
  const response = await editorRequest(endpoint, options);
  const type = response.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) {
    response.destroy();
    throw new EditorRequestError(`expected JSON from the server, got '${type}'`, {
      hint: 'is --server the editor listener (not the source listener)?',
    });
  }
  const bytes = await readBody(response, 16 * 1024 * 1024);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as T;
  } catch {
    throw new EditorRequestError('the server sent malformed JSON');
  }
}
