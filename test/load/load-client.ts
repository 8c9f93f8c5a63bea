/**
 * @module test/load/load-client — many sources at once against a real listener, over HTTP, with
 * the page's own uploader (client/lib/upload.ts) or with raw requests, counting what the issue's
 * fault tests count: uploads, completed, 5xx, unanswered, acknowledged-but-missing, duplicated.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Key } from 'openpgp';
import { sql } from 'drizzle-orm';
import { ApiError } from '../../client/lib/api.ts';
import { bytesSource, fetchChunkSender, StallError, uploadChunks, type ChunkSender } from '../../client/lib/upload.ts';
import { encryptToKeys, generateSourceKeys } from '../../protocol/source-keys.ts';
import { rowsOf, type Db } from '../../server/db/open.ts';

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export interface Counts {
  uploads: number;
  completed: number;
  /** answers with a 5xx status (the client retried them) */
  http5xx: number;
  /** requests that got no answer within the client's timeouts (goal 0 while the server runs) */
  unanswered: number;
  /** connections cut (the server process was killed under them) */
  cut: number;
  /** chunks answered 200 that the database does not hold afterwards (goal 0) */
  acknowledgedButMissing: number;
  /** tips stored more than once (goal 0) */
  duplicated: number;
}

export const emptyCounts = (): Counts => ({
  uploads: 0,
  completed: 0,
  http5xx: 0,
  unanswered: 0,
  cut: 0,
  acknowledgedButMissing: 0,
  duplicated: 0,
});

export function printCounts(title: string, counts: Counts): void {
  const line = Object.entries(counts)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(`[load] ${title}: ${line}`);
}

/** A ciphertext to the newsroom key of about `size` bytes (random plaintext: unique per call). */
export const makeCiphertext = (key: Key, size: number) => encryptToKeys(new Uint8Array(randomBytes(size)), [key]);

export interface Upload {
  uploadId: string;
  ciphertext: Uint8Array;
  chunkSize: number;
  chunks: number;
  /** indexes the server answered 200 for */
  acknowledged: Set<number>;
  submissionId?: string;
}

export class LoadClient {
  readonly counts = emptyCounts();
  private sourceKeys?: { publicKey: string; lockedPrivateKey: string };

  constructor(
    public base: string,
    private readonly newsroomKey: Key,
    /** how long a raw request may go unanswered before it counts as unanswered */
    private readonly answerMs = 30_000,
  ) {}

  private async keys() {
    this.sourceKeys ??= await generateSourceKeys('l'.repeat(64), this.newsroomKey);
    return this.sourceKeys;
  }

  /** A request with a deadline; classifies the outcome into the counts. Never throws. */
  async request(path: string, init: RequestInit): Promise<{ status: number; body: Record<string, any> } | 'unanswered' | 'cut'> {
    try {
      const res = await fetch(new URL(path, this.base), { ...init, signal: AbortSignal.timeout(this.answerMs) });
      const text = await res.text();
      if (res.status >= 500) this.counts.http5xx++;
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') {
        this.counts.unanswered++;
        return 'unanswered';
      }
      this.counts.cut++;
      return 'cut';
    }
  }

  /**
   * Opens an upload for a new source (difficulty-0 proof of work), trying again through 5xx and
   * cut connections with a fresh token each time, until `deadline`.
   */
  async open(ciphertext: Uint8Array, chunkSize: number, deadline = Date.now() + 120_000): Promise<Upload> {
    const chunks = Math.ceil(ciphertext.length / chunkSize);
    this.counts.uploads++;
    for (;;) {
      const pow = await this.request('/api/v1/pow', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      if (typeof pow === 'object' && pow.status === 200) {
        const body = {
          pow: { token: pow.body.token, nonce: '0' },
          lookupId: randomBytes(32).toString('hex'),
          sourceKeys: await this.keys(),
          size: ciphertext.length,
          chunkSize,
          chunks,
          sha256: sha256Hex(ciphertext),
        };
        const opened = await this.request('/api/v1/uploads', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (typeof opened === 'object' && opened.status === 201) {
          return { uploadId: opened.body.uploadId, ciphertext, chunkSize, chunks, acknowledged: new Set() };
        }
        if (typeof opened === 'object' && opened.status < 500 && opened.status !== 409) {
          throw new Error(`open refused: ${opened.status} ${JSON.stringify(opened.body)}`);
        }
      }
      if (Date.now() > deadline) throw new Error('could not open an upload before the deadline');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  slice(upload: Upload, index: number): Uint8Array {
    return upload.ciphertext.subarray(index * upload.chunkSize, (index + 1) * upload.chunkSize);
  }

  /** One raw chunk request, no retry; records a 200 as acknowledged. */
  async putChunk(upload: Upload, index: number, bytes = this.slice(upload, index)) {
    const answer = await this.request(`/api/v1/uploads/${upload.uploadId}/chunks/${index}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
    });
    if (typeof answer === 'object' && answer.status === 200) {
      upload.acknowledged.add(index);
      if (answer.body.complete) upload.submissionId = answer.body.submissionId;
    }
    return answer;
  }

  /** The page's uploader, with its retries, its stall timeouts and its parallelism; counts as it goes. */
  async upload(upload: Upload, options: { parallel?: number; retryBudgetMs?: number; stallMs?: number; answerMs?: number } = {}) {
    const send = fetchChunkSender(upload.uploadId, this.base.replace(/\/$/, ''));
    const counted: ChunkSender = async (index, bytes, signal, onBytes) => {
      try {
        const answer = await send(index, bytes, signal, onBytes);
        upload.acknowledged.add(index);
        return answer;
      } catch (error) {
        if (error instanceof ApiError && error.status >= 500) this.counts.http5xx++;
        else if (error instanceof ApiError && error.status === 0 && !signal.aborted) this.counts.cut++;
        throw error;
      }
    };
    try {
      const { submissionId } = await uploadChunks({
        source: bytesSource(upload.ciphertext, upload.chunkSize),
        send: counted,
        signal: new AbortController().signal,
        parallel: options.parallel,
        retryBudgetMs: options.retryBudgetMs ?? 120_000,
        stallMs: options.stallMs ?? 30_000,
        answerMs: options.answerMs ?? 30_000,
        baseDelayMs: 100,
        maxDelayMs: 2000,
        onRetry: ({ error }) => {
          if (error instanceof StallError) this.counts.unanswered++;
        },
      });
      upload.submissionId = submissionId;
      this.counts.completed++;
    } catch (error) {
      throw new Error(`upload ${upload.uploadId} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * From the database: every acknowledged chunk still stored with its bytes (else counted as
 * acknowledged-but-missing), and each ciphertext received at most once (else duplicated).
 */
export async function verifyStored(db: Db, uploads: Upload[], counts: Counts): Promise<void> {
  for (const upload of uploads) {
    const id = Buffer.from(upload.uploadId, 'base64url').toString('hex');
    const uuid = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
    const rows = rowsOf<{ idx: number; digest: string }>(
      await db.execute(sql`select idx, encode(sha256(data), 'hex') as digest from chunks where submission_id = ${uuid}::uuid`),
    );
    const stored = new Map(rows.map((r) => [Number(r.idx), r.digest]));
    for (const index of upload.acknowledged) {
      const expected = sha256Hex(upload.ciphertext.subarray(index * upload.chunkSize, (index + 1) * upload.chunkSize));
      if (stored.get(index) !== expected) counts.acknowledgedButMissing++;
    }
  }
  const [dup] = rowsOf<{ n: number }>(
    await db.execute(sql`
      select coalesce(sum(n - 1), 0)::int as n from (
        select count(*) as n from submissions where status <> 'uploading' group by sha256) t`),
  );
  counts.duplicated += Number(dup?.n ?? 0);
}
