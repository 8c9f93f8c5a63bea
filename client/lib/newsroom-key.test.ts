import { readFileSync } from 'node:fs';
import { readKey } from 'openpgp';
import { describe, expect, it } from 'vitest';
import type { ServerConfig } from './api.ts';
import { checkDeskKeys, checkNewsroomKey, KeyMismatchError } from './newsroom-key.ts';
import type { CryptoWorker } from './workers.ts';

const DEMO_KEY = readFileSync(new URL('../../keys.example/newsroom.pub.asc', import.meta.url), 'utf8');
const DEMO_FINGERPRINT = 'd59550c5a4895ea55787f850ca968b8ec7fc9799';

/** The worker's call, done here with the same OpenPGP.js read; records what the page asked. */
function workerStub(asked: string[]): CryptoWorker {
  return {
    async call(op: string, args: { newsroomKey: string }) {
      asked.push(op);
      if (op !== 'newsroom-fingerprint') throw new Error(`unexpected worker call ${op}`);
      return { fingerprint: (await readKey({ armoredKey: args.newsroomKey })).getFingerprint() };
    },
  } as unknown as CryptoWorker;
}

const config = (fields: Partial<Record<keyof ServerConfig, unknown>>) =>
  ({ version: 1, instanceSalt: 'salt', newsroomKey: DEMO_KEY, fingerprint: DEMO_FINGERPRINT, pow: { token: 't', difficulty: 8 }, ...fields }) as ServerConfig;

describe('checkNewsroomKey', () => {
  it('answers the fingerprint computed from the key, grouped for reading aloud, when the server claims that key', async () => {
    const asked: string[] = [];
    expect(await checkNewsroomKey(config({}), workerStub(asked))).toBe('D595 50C5 A489 5EA5 5787 F850 CA96 8B8E C7FC 9799');
    expect(await checkNewsroomKey(config({ fingerprint: DEMO_FINGERPRINT.toUpperCase() }), workerStub(asked))).toBe(
      'D595 50C5 A489 5EA5 5787 F850 CA96 8B8E C7FC 9799',
    );
    expect(asked).toEqual(['newsroom-fingerprint', 'newsroom-fingerprint']);
  });

  it.each([
    ['another key’s fingerprint', { fingerprint: '00d402956e9166be51aa8bb205c27a8801181997' }],
    ['one digit off', { fingerprint: DEMO_FINGERPRINT.replace(/9$/, '8') }],
    ['the fingerprint with spaces', { fingerprint: 'D595 50C5 A489 5EA5 5787 F850 CA96 8B8E C7FC 9799' }],
    ['no fingerprint', { fingerprint: undefined }],
    ['a number for a fingerprint', { fingerprint: 42 }],
    ['an empty fingerprint', { fingerprint: '' }],
    ['a key the page cannot read', { newsroomKey: 'not a key' }],
  ])('refuses a config with %s (KeyMismatchError, code key_mismatch)', async (_what, fields) => {
    const refused = checkNewsroomKey(config(fields), workerStub([]));
    await expect(refused).rejects.toBeInstanceOf(KeyMismatchError);
    await expect(refused).rejects.toMatchObject({ code: 'key_mismatch' });
  });
});

describe('checkDeskKeys', () => {
  const desk = (fields: { fingerprint: unknown; newsroomKey?: string }) =>
    ({ id: 'workers', newsroomKey: fields.newsroomKey ?? DEMO_KEY, fingerprint: fields.fingerprint }) as Parameters<typeof checkDeskKeys>[0][number];

  it('answers every desk with the fingerprint the worker computed from its own key', async () => {
    const asked: string[] = [];
    const checked = await checkDeskKeys([desk({ fingerprint: DEMO_FINGERPRINT }), { ...desk({ fingerprint: DEMO_FINGERPRINT }), id: 'general' }], workerStub(asked));
    expect(checked.map((d) => [d.id, d.shownFingerprint])).toEqual([
      ['workers', 'D595 50C5 A489 5EA5 5787 F850 CA96 8B8E C7FC 9799'],
      ['general', 'D595 50C5 A489 5EA5 5787 F850 CA96 8B8E C7FC 9799'],
    ]);
    expect(asked).toEqual(['newsroom-fingerprint', 'newsroom-fingerprint']);
  });

  it('refuses all of them when one desk claims another key (KeyMismatchError)', async () => {
    const refused = checkDeskKeys([desk({ fingerprint: DEMO_FINGERPRINT }), desk({ fingerprint: '00d402956e9166be51aa8bb205c27a8801181997' })], workerStub([]));
    await expect(refused).rejects.toBeInstanceOf(KeyMismatchError);
  });
});
