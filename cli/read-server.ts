/**
 * @module cli/read-server — the read view of `sealdrop read` (issue 14): the inbox served to the
 * offline machine's own browser, on 127.0.0.1 only, under a random token in the URL path.
 *
 * Everything in the inbox was written by a possibly hostile sender, so the view treats it as data:
 * the page is static (index.html, read.js, read.css from cli/read-view/), the data comes as JSON
 * and is put into the page with textContent only; the CSP allows scripts, styles and fetches from
 * the view itself and nothing else (no inline code, no images, no frames, no forms posting away);
 * files are served only as downloads (application/octet-stream, Content-Disposition: attachment,
 * nosniff, their own `sandbox` CSP). The Host header must name 127.0.0.1:PORT, so a page of
 * another origin that rebinds a DNS name to 127.0.0.1 is refused; the token (compared in constant
 * time) keeps out other users and pages of this machine; a POST must say it is JSON and, when the
 * browser names an Origin, come from the view's own origin. No cookies.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isValidHandle } from './bundle.ts';
import { CliError } from './errors.ts';
import {
  markRead, readInboxList, readReplyText, readSourceIndex, readTipAnswers, readTipMessage, tipFilePath, type SourceIndex,
} from './inbox.ts';

const VIEW_FILES: Record<string, { file: string; type: string }> = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8' },
  'read.js': { file: 'read.js', type: 'text/javascript; charset=utf-8' },
  'read.css': { file: 'read.css', type: 'text/css; charset=utf-8' },
  // the view's own icon: without one, browsers fetch /favicon.ico, which the CSP would refuse
  'icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
};

const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  // 'self' for the view's icon only: the page makes no other image, and a file asked for as an
  // image (Sec-Fetch-Dest) is refused by the file route
  "img-src 'self'",
  "font-src 'none'",
  "media-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), clipboard-read=()',
};

const MAX_BODY_BYTES = 256 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ReadServerOptions {
  inbox: string;
  host?: '127.0.0.1';
  /** 0 for a random free port */
  port: number;
  /** when set, the view offers a reply box; `text` is the reply's UTF-8 bytes */
  reply?: (handle: string, text: Uint8Array) => Promise<{ id: string; outboxFile: string }>;
}

export interface ReadServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startReadServer(options: ReadServerOptions): Promise<ReadServer> {
  const token = randomBytes(24).toString('base64url');
  const tokenDigest = sha256(token);
  const view = new Map<string, Buffer>();
  for (const [name, { file }] of Object.entries(VIEW_FILES)) {
    view.set(name, await readFile(new URL(`./read-view/${file}`, import.meta.url)));
  }
  let port = 0;
  // Writes to the inbox (marking read, a reply) one at a time: the indexes are read-modify-write.
  let queue: Promise<unknown> = Promise.resolve();
  const serialised = <T>(task: () => Promise<T>): Promise<T> => {
    const next = queue.then(task, task);
    queue = next.catch(() => undefined);
    return next;
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: 'internal', message: error instanceof Error ? error.message : String(error) });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // DNS rebinding: a hostile page that points its own name at 127.0.0.1 sends its own Host.
    if (request.headers.host !== `127.0.0.1:${port}`) return sendText(response, 421, 'wrong host\n');
    const url = new URL(request.url ?? '/', `http://127.0.0.1:${port}`);
    const parts = url.pathname.split('/');
    // parts: ['', TOKEN, ...rest]
    if (parts.length < 3 || !tokenMatches(parts[1]!, tokenDigest)) return sendText(response, 404, 'not found\n');
    const rest = parts.slice(2);

    if (request.method === 'GET' && rest.length === 1 && view.has(rest[0]!)) {
      const { type } = VIEW_FILES[rest[0]!]!;
      return send(response, 200, type, view.get(rest[0]!)!);
    }
    if (rest[0] !== 'api') return sendText(response, 404, 'not found\n');

    if (request.method === 'GET' && rest.length === 2 && rest[1] === 'sources') {
      const list = await readInboxList(options.inbox);
      return sendJson(response, 200, { sources: list.sources, canReply: options.reply !== undefined });
    }
    if (rest[1] !== 'sources' || rest.length < 3 || !isValidHandle(rest[2])) return sendJson(response, 404, { error: 'not_found' });
    const handle = rest[2];

    if (request.method === 'GET' && rest.length === 3) {
      const index = await readSourceIndex(options.inbox, handle);
      if (index === undefined) return sendJson(response, 404, { error: 'not_found' });
      const conversation = await readConversation(options.inbox, index);
      await serialised(() => markRead(options.inbox, handle));
      return sendJson(response, 200, conversation);
    }
    if (request.method === 'GET' && rest.length === 6 && rest[3] === 'files' && UUID.test(rest[4]!) && /^[1-9]\d{0,3}$/.test(rest[5]!)) {
      // a download is a navigation (document) or a fetch (empty); never an image, script, frame…
      const dest = request.headers['sec-fetch-dest'];
      if (dest !== undefined && dest !== 'document' && dest !== 'empty') return sendJson(response, 403, { error: 'download_only' });
      return sendFile(response, options.inbox, handle, rest[4]!, Number(rest[5]));
    }
    if (request.method === 'POST' && rest.length === 4 && rest[3] === 'replies') {
      const origin = request.headers.origin;
      if (origin !== undefined && origin !== `http://127.0.0.1:${port}`) return sendJson(response, 403, { error: 'wrong_origin' });
      if (!/^application\/json(;|$)/.test(request.headers['content-type'] ?? '')) return sendJson(response, 415, { error: 'not_json' });
      if (!options.reply) return sendJson(response, 409, { error: 'no_key', message: 'sealdrop read was started without -i KEY.sec.asc: replies are off' });
      let body: unknown;
      try {
        body = JSON.parse((await readBody(request)).toString('utf8'));
      } catch (error) {
        return sendJson(response, error instanceof BodyTooLargeError ? 413 : 400, { error: 'bad_request' });
      }
      const text = (body as { text?: unknown } | null)?.text;
      if (typeof text !== 'string') return sendJson(response, 400, { error: 'bad_request', message: 'expected { "text": "…" }' });
      if ((await readSourceIndex(options.inbox, handle)) === undefined) return sendJson(response, 404, { error: 'not_found' });
      try {
        const written = await serialised(() => options.reply!(handle, new TextEncoder().encode(text)));
        return sendJson(response, 201, written);
      } catch (error) {
        if (error instanceof CliError) return sendJson(response, 422, { error: 'refused', message: error.message, hint: error.hint ?? null });
        throw error;
      }
    }
    return sendJson(response, 404, { error: 'not_found' });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/${token}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The conversation as the page shows it: tips with their text, answers and files, replies with theirs, in order. */
async function readConversation(inbox: string, index: SourceIndex) {
  const tips = await Promise.all(
    index.tips.map(async (tip) => ({
      ...tip,
      message: await readTipMessage(inbox, index.handle, tip.id),
      answers: (await readTipAnswers(inbox, index.handle, tip.id)).map(({ label, value }) => ({ label, value })),
    })),
  );
  const replies = await Promise.all(
    index.replies.map(async (reply) => ({ ...reply, text: await readReplyText(inbox, index.handle, reply.id) })),
  );
  return { handle: index.handle, tips, replies };
}

async function sendFile(response: ServerResponse, inbox: string, handle: string, id: string, file: number): Promise<void> {
  const index = await readSourceIndex(inbox, handle);
  const entry = index?.tips.find((t) => t.id === id)?.files.find((f) => f.file === file);
  if (!entry) return sendJson(response, 404, { error: 'not_found' });
  const path = tipFilePath(inbox, handle, id, file);
  const info = await stat(path);
  response.writeHead(200, {
    ...COMMON_HEADERS,
    // never the sender's type: the browser must not render it, whatever it claims to be
    'content-type': 'application/octet-stream',
    'content-length': String(info.size),
    'content-disposition': contentDisposition(entry.name),
    'content-security-policy': "default-src 'none'; sandbox",
  });
  createReadStream(path).pipe(response);
}

/**
 * RFC 6266: an ASCII fallback (anything outside printable ASCII, quotes and backslashes → `_`) and
 * the real name in RFC 5987 `filename*` (percent-encoded UTF-8: no control can reach the header).
 */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

class BodyTooLargeError extends Error {}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant time: both sides hashed to 32 bytes first, so neither length nor content leaks. */
function tokenMatches(given: string, digest: Buffer): boolean {
  return timingSafeEqual(sha256(given), digest);
}

function send(response: ServerResponse, status: number, type: string, body: Buffer | string): void {
  response.writeHead(status, { ...COMMON_HEADERS, 'content-type': type, 'content-security-policy': PAGE_CSP });
  response.end(body);
}

function sendText(response: ServerResponse, status: number, text: string): void {
  send(response, status, 'text/plain; charset=utf-8', text);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(value));
}
