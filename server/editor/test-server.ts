/**
 * @module server/editor/test-server (tests only) — both listeners on real sockets (port 0) over a test database,
 * and a source that submits the way the page does, through the protocol code and the source API.
 */
import { MIN_CHUNK_BYTES } from '../../protocol/limits.ts';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { decryptKey, readKey, readPrivateKey, type PrivateKey } from 'openpgp';
import {
  buildEnvelope,
  deriveSourceSecrets,
  encryptTip,
  generateCodename,
  generateSourceKeyPair,
  solvePow,
} from '../../protocol/index.ts';
import { addToken } from '../admin.ts';
import { createApp } from '../app.ts';
import { systemClock } from '../clock.ts';
import type { Database } from '../db/open.ts';
import { createTestDatabase } from '../db/test-db.ts';
import { createEditorApp } from './app.ts';
import { loadInstance } from '../instance.ts';
import { demoNewsroomKey } from '../test-helpers.ts';

export interface RunningServer {
  database: Database;
  sourceUrl: string;
  editorUrl: string;
  token: string;
  logs: string[];
  close(): Promise<void>;
}

async function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<{ server: http.Server; url: string }> {
  const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
  if (!server.listening) await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** The source and editor listeners as `npm start` wires them, each on its own port. */
export async function startServer(): Promise<RunningServer> {
  const database = await createTestDatabase();
  const logs: string[] = [];
  const log = (line: string) => void logs.push(line);
  try {
    const newsroomKey = await demoNewsroomKey();
    const instance = await loadInstance(database.db, systemClock);
    const sourceApp = createApp({
      db: database.db,
      newsroomKey,
      instance,
      clock: systemClock,
      config: { powDifficulty: 4, onionLocation: undefined, logRequests: true },
      log,
    });
    const editorApp = createEditorApp({
      db: database.db,
      newsroomKey,
      clock: systemClock,
      config: { logRequests: true },
      log,
      auth: { failureDelayMs: 50 },
    });
    const source = await listen(sourceApp.fetch);
    const editor = await listen(editorApp.fetch);
    const token = await addToken(database.db, 'loop-editor');
    return {
      database,
      sourceUrl: source.url,
      editorUrl: editor.url,
      token,
      logs,
      async close() {
        for (const server of [source.server, editor.server]) {
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        }
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

async function api<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as T };
}

const postJson = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export interface SubmittedTip {
  codename: string;
  lookupId: string;
  keyPassphrase: string;
  submissionId: string;
  /** The fingerprint the envelope names (PROTOCOL.md, "Envelope"), if it names one. */
  sourceKeyFingerprint?: string;
}

/**
 * What the page does: config → envelope → signed and encrypted to the newsroom key → proof of work →
 * open the upload (with the new source's keys) → every chunk. Chunks of 2 KiB, so a tip spans
 * several. Pass `codename` for a returning source, with the `sourceKeyFingerprint` its first tip
 * returned to name the key as a current page does (the page unlocks the served key for it).
 */
export async function submitTip(
  sourceUrl: string,
  tip: { message: string; files?: { name: string; type: string; bytes: Uint8Array }[]; codename?: string; sourceKeyFingerprint?: string },
): Promise<SubmittedTip> {
  const { body: config } = await api<{ instanceSalt: string; newsroomKey: string; pow: { token: string; difficulty: number } }>(
    `${sourceUrl}/api/v1/config`,
  );
  const codename = tip.codename ?? generateCodename('english');
  const { lookupId, keyPassphrase } = deriveSourceSecrets(codename, config.instanceSalt);
  const newsroom = await readKey({ armoredKey: config.newsroomKey });
  const made = tip.codename ? undefined : await generateSourceKeyPair(keyPassphrase, newsroom);
  const sourceKeys = made ? { publicKey: made.publicKey, lockedPrivateKey: made.lockedPrivateKey } : undefined;
  const sourceKeyFingerprint = made ? made.signingKey.getFingerprint() : tip.sourceKeyFingerprint;
  // The page signs with the key it names (PROTOCOL.md, "Signed tips"): the one it made, or for a
  // returning source the served locked key, unlocked with the codename's passphrase.
  const signingKey: PrivateKey | undefined = made?.signingKey ?? (tip.sourceKeyFingerprint
    ? await decryptKey({ privateKey: await readPrivateKey({ armoredKey: (await lookUp(sourceUrl, lookupId)).lockedPrivateKey }), passphrase: keyPassphrase })
    : undefined);
  const envelope = await buildEnvelope({
    language: 'en',
    message: tip.message,
    files: (tip.files ?? []).map((file) => ({ ...file, stripped: false })),
    ...(sourceKeyFingerprint ? { sourceKeyFingerprint } : {}),
  });
  const ciphertext = await encryptTip(envelope, [newsroom], signingKey);
  const nonce = await solvePow(config.pow.token, config.pow.difficulty);
  // several chunks once the tip is larger than the smallest chunk an upload of several may have
  const chunkSize = MIN_CHUNK_BYTES;
  const chunks = Math.ceil(ciphertext.byteLength / chunkSize);
  const opened = await api<{ uploadId: string }>(
    `${sourceUrl}/api/v1/uploads`,
    postJson({
      pow: { token: config.pow.token, nonce },
      lookupId,
      ...(sourceKeys ? { sourceKeys } : {}),
      size: ciphertext.byteLength,
      chunkSize,
      chunks,
      sha256: createHash('sha256').update(ciphertext).digest('hex'),
    }),
  );
  if (opened.status !== 201) throw new Error(`opening the upload failed: ${opened.status} ${JSON.stringify(opened.body)}`);
  let submissionId: string | undefined;
  for (let index = 0; index < chunks; index++) {
    const put = await api<{ complete: boolean; submissionId?: string }>(`${sourceUrl}/api/v1/uploads/${opened.body.uploadId}/chunks/${index}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(ciphertext.subarray(index * chunkSize, (index + 1) * chunkSize)),
    });
    if (put.status !== 200) throw new Error(`chunk ${index} failed: ${put.status} ${JSON.stringify(put.body)}`);
    if (put.body.complete) submissionId = put.body.submissionId;
  }
  if (!submissionId) throw new Error('the upload never completed');
  return { codename, lookupId, keyPassphrase, submissionId, ...(sourceKeyFingerprint ? { sourceKeyFingerprint } : {}) };
}

export interface LookupAnswer {
  publicKey: string;
  lockedPrivateKey: string;
  submissions: { id: string; day: string; status: string; size: number }[];
  replies: { id: string; day: string; message: string }[];
}

/** A returning source's lookup, by the codename-derived lookup id. */
export async function lookUp(sourceUrl: string, lookupId: string): Promise<LookupAnswer> {
  const { status, body } = await api<LookupAnswer>(`${sourceUrl}/api/v1/source/lookup`, postJson({ lookupId }));
  if (status !== 200) throw new Error(`lookup failed: ${status} ${JSON.stringify(body)}`);
  return body;
}
