/**
 * Editors are not locked in to `sealdrop reply`: a reply encrypted by GnuPG to a source's key (as
 * served by the editor API) is accepted and the source reads it with its codename; a message GnuPG
 * encrypted to any other key is refused (422) and nothing is stored.
 */
import { spawnSync } from 'node:child_process';
import { decrypt, decryptKey, readMessage, readPrivateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSourceSecrets } from '../protocol/index.ts';
import { replies } from '../server/db/schema.ts';
import { lookUp, startServer, submitTip, type RunningServer, type SubmittedTip } from '../server/editor/test-server.ts';
import { makeTempDir, runGpg } from './cli/helpers.ts';

const hasGpg = spawnSync('gpg', ['--version']).status === 0;
if (!hasGpg && process.env.CI === 'true') throw new Error('gpg is required in CI: install gnupg (apt-get install gnupg)');

describe.skipIf(!hasGpg)('replies made with GnuPG', () => {
  let server: RunningServer;
  let home: Awaited<ReturnType<typeof makeTempDir>>;
  let tip: SubmittedTip;
  let handle: string;
  let sourceFingerprint: string;

  const editorFetch = (path: string, init: RequestInit = {}) =>
    fetch(`${server.editorUrl}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${server.token}` } });

  beforeAll(async () => {
    server = await startServer();
    home = await makeTempDir('sealdrop-gpg-reply-');
    tip = await submitTip(server.sourceUrl, { message: 'a tip' });
    const listed = (await (await editorFetch('/editor/v1/submissions')).json()) as { submissions: { handle: string }[] };
    handle = listed.submissions[0]!.handle;
    // the editor fetches the source's key from the editor API and gives it to gpg
    const key = await (await editorFetch(`/editor/v1/sources/${handle}/key`)).text();
    const imported = await runGpg(home.dir, ['--import'], key);
    expect(imported.code, imported.stderr).toBe(0);
    const listing = await runGpg(home.dir, ['--with-colons', '--list-keys', 'source']);
    sourceFingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing.stdout.toString())![1]!;
    // and some other key in the same keyring: the editor's own, say
    const made = await runGpg(home.dir, ['--passphrase', '', '--quick-generate-key', 'Editor <editor@newsroom.example>', 'future-default', 'default', 'never']);
    expect(made.code, made.stderr).toBe(0);
  });

  afterAll(async () => {
    await server?.close();
    await home?.cleanup();
  });

  async function gpgEncrypt(recipient: string, text: string, armor: boolean): Promise<Buffer> {
    const result = await runGpg(
      home.dir,
      ['--trust-model', 'always', '--encrypt', '--recipient', recipient, ...(armor ? ['--armor'] : []), '--output', '-'],
      text,
    );
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  }

  async function postReply(body: Buffer): Promise<Response> {
    return editorFetch(`/editor/v1/sources/${handle}/replies`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(body),
    });
  }

  async function sourceReads(): Promise<string[]> {
    const salt = ((await (await fetch(`${server.sourceUrl}/api/v1/config`)).json()) as { instanceSalt: string }).instanceSalt;
    const { lookupId, keyPassphrase } = deriveSourceSecrets(tip.codename, salt);
    const seen = await lookUp(server.sourceUrl, lookupId);
    const privateKey = await decryptKey({ privateKey: await readPrivateKey({ armoredKey: seen.lockedPrivateKey }), passphrase: keyPassphrase });
    const texts: string[] = [];
    for (const reply of seen.replies) {
      const { data } = await decrypt({ message: await readMessage({ armoredMessage: reply.message }), decryptionKeys: privateKey });
      texts.push(data as string);
    }
    return texts;
  }

  it('accepts binary and armored gpg replies to the source key, and the source reads them with its codename', async () => {
    const binary = await postReply(await gpgEncrypt(sourceFingerprint, 'Reply made with gpg.\n', false));
    expect(binary.status).toBe(201);
    const armored = await postReply(await gpgEncrypt(sourceFingerprint, '답장 — armored.\n', true));
    expect(armored.status).toBe(201);
    expect((await sourceReads()).sort()).toEqual(['Reply made with gpg.\n', '답장 — armored.\n'].sort());
  });

  it('refuses a gpg message to another key with 422 and stores nothing', async () => {
    const before = await server.database.db.select({ id: replies.id }).from(replies);
    const response = await postReply(await gpgEncrypt('editor@newsroom.example', 'meant for someone else', false));
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ error: 'not_addressed_to_source' });
    const signedOnly = await runGpg(home.dir, ['--passphrase', '', '--sign', '--local-user', 'editor@newsroom.example', '--output', '-'], 'plain but signed');
    expect(signedOnly.code, signedOnly.stderr).toBe(0);
    const signed = await postReply(signedOnly.stdout);
    expect(signed.status).toBe(422);
    expect(await signed.json()).toMatchObject({ error: 'not_openpgp' });
    const after = await server.database.db.select({ id: replies.id }).from(replies);
    expect(after).toEqual(before);
    expect(await sourceReads()).toHaveLength(2);
  });

  it('stores what gpg made as binary OpenPGP, armor removed', async () => {
    const rows = await server.database.db.select({ message: replies.message, size: replies.size }).from(replies);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      // a packet header (bit 7 set), never the '-' of "-----BEGIN PGP MESSAGE-----"
      expect(row.message[0]! & 0x80).toBe(0x80);
      expect(row.size).toBe(row.message.byteLength);
    }
  });
});
