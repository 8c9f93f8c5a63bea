/** @module server/test-helpers — building a source app on a test database, for tests and the bench. */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { fileURLToPath } from 'node:url';
import { createApp } from './app.ts';
import type { Clock } from './clock.ts';
import { rowsOf, type Db } from './db/open.ts';
import { loadInstance } from './instance.ts';
import type { InstanceFile } from './instance-file.ts';
import { parseNewsroomKey, type NewsroomKey } from './newsroom-key.ts';
import type { Desk } from './desks.ts';
import type { ChunkGate } from './source/chunk-gate.ts';
import type { KeyCheck } from './source/key-check-pool.ts';
import type { OpenLimits, StorageWatch } from './source/open-limits.ts';
import type { PowLoad } from './source/pow-load.ts';

export const DEMO_KEY_PATH = fileURLToPath(new URL('../keys.example/newsroom.pub.asc', import.meta.url));

export const TABLES = [
  'instance', 'sources', 'submissions', 'chunks', 'replies', 'spent_pow', 'editor_tokens', 'audit', 'pow_load', 'upload_progress', 'swept_unsent',
] as const;

export async function demoNewsroomKey(now = new Date()): Promise<NewsroomKey> {
  return parseNewsroomKey(await readFile(DEMO_KEY_PATH, 'utf8'), now);
}

/** Row counts of every table. */
export async function countRows(db: Db): Promise<Record<(typeof TABLES)[number], number>> {
  const counts = {} as Record<(typeof TABLES)[number], number>;
  for (const table of TABLES) {
    const [row] = rowsOf<{ n: number }>(await db.execute(sql.raw(`select count(*)::int as n from ${table}`)));
    counts[table] = Number(row!.n);
  }
  return counts;
}

export interface TestApp {
  app: Hono;
  logs: string[];
}

export async function buildTestApp(
  db: Db,
  /** the one newsroom key (the desk `newsroom`), or the desks */
  newsroomKey: NewsroomKey | Desk[],
  clock: Clock,
  config: {
    powDifficulty?: number;
    onionLocation?: string;
    logRequests?: boolean;
    staticRoot?: string;
    instanceFile?: InstanceFile;
    keyCheck?: KeyCheck;
    chunkGate?: ChunkGate;
    onCompletionCheck?: () => void;
    powFloodOpensPerMinute?: number;
    powFloodMaxBits?: number;
    /** CHUNK_MEMORY: the app's own chunk gate's bytes (when no chunkGate is given) */
    chunkMemory?: number;
    /** CHUNK_SPILL_DIR and CHUNK_SPILL: arriving bodies on disk (when no chunkGate is given) */
    chunkSpillDir?: string;
    chunkSpill?: number;
    openLimits?: OpenLimits;
    powLoad?: PowLoad;
    storage?: StorageWatch;
  } = {},
): Promise<TestApp> {
  const logs: string[] = [];
  const instance = await loadInstance(db, clock);
  const app = createApp({
    db,
    ...(Array.isArray(newsroomKey) ? { desks: newsroomKey } : { newsroomKey }),
    instance,
    clock,
    config: {
      powDifficulty: config.powDifficulty ?? 0,
      onionLocation: config.onionLocation,
      logRequests: config.logRequests ?? true,
      ...(config.powFloodOpensPerMinute ? { powFloodOpensPerMinute: config.powFloodOpensPerMinute } : {}),
      ...(config.powFloodMaxBits !== undefined ? { powFloodMaxBits: config.powFloodMaxBits } : {}),
      ...(config.chunkMemory !== undefined ? { chunkMemory: config.chunkMemory } : {}),
      ...(config.chunkSpillDir !== undefined ? { chunkSpillDir: config.chunkSpillDir } : {}),
      ...(config.chunkSpill !== undefined ? { chunkSpill: config.chunkSpill } : {}),
    },
    log: (line) => logs.push(line),
    ...(config.staticRoot ? { staticRoot: config.staticRoot } : {}),
    ...(config.instanceFile ? { instanceFile: config.instanceFile } : {}),
    ...(config.keyCheck ? { keyCheck: config.keyCheck } : {}),
    ...(config.chunkGate ? { chunkGate: config.chunkGate } : {}),
    ...(config.onCompletionCheck ? { onCompletionCheck: config.onCompletionCheck } : {}),
    ...(config.openLimits ? { openLimits: config.openLimits } : {}),
    ...(config.powLoad ? { powLoad: config.powLoad } : {}),
    ...(config.storage ? { storage: config.storage } : {}),
  });
  return { app, logs };
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
