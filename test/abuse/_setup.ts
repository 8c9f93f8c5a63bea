/** @module test/abuse/_setup — one test database, the newsroom key, a source key pair and an app factory at the default open limits. */
import { afterAll, beforeAll } from 'vitest';
import { generateSourceKeys } from '../../protocol/source-keys.ts';
import type { Database } from '../../server/db/open.ts';
import { createTestDatabase } from '../../server/db/test-db.ts';
import type { NewsroomKey } from '../../server/newsroom-key.ts';
import { DEFAULT_OPEN_LIMITS, type OpenLimits } from '../../server/source/open-limits.ts';
import { buildTestApp, demoNewsroomKey } from '../../server/test-helpers.ts';

export interface Env {
  database: Database;
  newsroomKey: NewsroomKey;
  sourceKeys: { publicKey: string; lockedPrivateKey: string };
  now: Date;
  app: (limits?: Partial<OpenLimits>, extra?: Parameters<typeof buildTestApp>[3]) => ReturnType<typeof buildTestApp>;
}

export function useEnv(): Env {
  const env = { now: new Date('2026-09-01T09:00:00Z') } as Env;
  beforeAll(async () => {
    env.database = await createTestDatabase();
    env.newsroomKey = await demoNewsroomKey(new Date('2026-01-01T00:00:00Z'));
    env.sourceKeys = await generateSourceKeys('c'.repeat(64), env.newsroomKey.key);
    env.app = (limits = {}, extra = {}) =>
      buildTestApp(env.database.db, env.newsroomKey, () => env.now, { powDifficulty: 1, logRequests: false, openLimits: { ...DEFAULT_OPEN_LIMITS, ...limits }, ...extra });
  });
  afterAll(async () => {
    await env.database?.close();
  });
  return env;
}
