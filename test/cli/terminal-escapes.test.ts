/**
 * Sessions where names on the editor's own disk carry terminal controls: each line that names them
 * reaches the terminal escaped. (Hostile envelopes: decrypt.test.ts; a hostile server's text and
 * bundle entries: online-pull.test.ts.)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSubmission, randomId } from './fixtures.ts';
import { DEMO_PASSPHRASE, DEMO_SECRET_KEY, makeTempDir, runCli, writeBundle } from './helpers.ts';

const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
const EVIL = 'x\u009b2J\u009d0;owned\u009c\u202egpj\u001b[31m';
const EVIL_SHOWN = 'x\\u009b2J\\u009d0;owned\\u009c\\u202egpj\\u001b[31m';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir();
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('names from the editor\'s disk', () => {
  it('push names a hostile outbox folder and file escaped', async () => {
    const outbox = join(tmp.dir, 'outbox');
    await mkdir(join(outbox, EVIL), { recursive: true });
    await mkdir(join(outbox, 'quiet-otter'), { recursive: true });
    await writeFile(join(outbox, 'quiet-otter', `${EVIL}.txt`), 'not a reply');
    const r = await runCli(['push', '--server', 'http://127.0.0.1:9', outbox], {
      env: { SEALDROP_TOKEN: `sde_${'T'.repeat(43)}` },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`sealdrop: ignoring "${EVIL_SHOWN}" in the outbox`);
    expect(r.stderr).toContain(`sealdrop: ignoring "quiet-otter/${EVIL_SHOWN}.txt"`);
    expect(r.stderr).not.toMatch(CONTROLS);
  });

  it('decrypt names a hostile leftover staging folder escaped', async () => {
    const bundle = join(tmp.dir, 'bundle');
    await writeBundle(bundle, [{ id: randomId(), handle: 'calm-heron', ciphertext: await makeSubmission({ language: 'en', message: 'hi', files: [] }) }]);
    const out = join(tmp.dir, 'out');
    await mkdir(join(out, `.staging-${EVIL}`), { recursive: true });
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, bundle, '-o', out], { env: { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`sealdrop: removed .staging-${EVIL_SHOWN}, left unchecked by an interrupted run`);
    expect(r.stderr).not.toMatch(CONTROLS);
    expect(r.stdout).not.toMatch(CONTROLS);
  });
});
