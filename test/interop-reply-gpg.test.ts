/**
 * Editors are not locked in to `sealdrop reply`: a reply made by GnuPG as README says
 * (`gpg --sign --encrypt` to the source key, as served by the editor API, and to the newsroom key,
 * with `--sig-notation to@sealdrop.org=<source fingerprint>` and `--compress-algo none`, then
 * `gpg --detach-sign` of that file) is accepted and the source reads it with its codename, padded
 * (`truncate -s %4096`) or not; without the notation, or compressed, the page refuses it. Without the newsroom's detached signature, or
 * with another key's, or encrypted to the wrong keys, it is refused and nothing is stored.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { decryptKey, readKey, readPrivateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSourceSecrets, openReply } from '../protocol/index.ts';
import { replies } from '../server/db/schema.ts';
import { DEMO_PASSPHRASE, DEMO_PUBLIC_KEY_FILE, DEMO_SECRET_KEY_FILE } from '../server/editor/test-fixtures.ts';
import { lookUp, startServer, submitTip, type RunningServer, type SubmittedTip } from '../server/editor/test-server.ts';
import { makeTempDir, runGpg } from './cli/helpers.ts';

const hasGpg = spawnSync('gpg', ['--version']).status === 0;
if (!hasGpg && process.env.CI === 'true') throw new Error('gpg is required in CI: install gnupg (apt-get install gnupg)');

const NEWSROOM = 'D59550C5A4895EA55787F850CA968B8EC7FC9799';

describe.skipIf(!hasGpg)('replies made with GnuPG', () => {
  let server: RunningServer;
  let home: Awaited<ReturnType<typeof makeTempDir>>;
  let tip: SubmittedTip;
  let handle: string;
  let sourceFingerprint: string;
  let file = 0;

  const editorFetch = (path: string, init: RequestInit = {}) =>
    fetch(`${server.editorUrl}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${server.token}` } });

  const gpg = async (args: string[], input?: string) => {
    const result = await runGpg(home.dir, ['--trust-model', 'always', '--passphrase', DEMO_PASSPHRASE, ...args], input);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };

  beforeAll(async () => {
    server = await startServer();
    home = await makeTempDir('sealdrop-gpg-reply-');
    tip = await submitTip(server.sourceUrl, { message: 'a tip' });
    const listed = (await (await editorFetch('/editor/v1/submissions')).json()) as { submissions: { handle: string }[] };
    handle = listed.submissions[0]!.handle;
    // the offline machine's keyring: the newsroom secret key, and the source's key from the editor API
    await gpg(['--import', DEMO_SECRET_KEY_FILE.pathname]);
    const key = await (await editorFetch(`/editor/v1/sources/${handle}/key`)).text();
    await gpg(['--import'], key);
    const listing = await runGpg(home.dir, ['--with-colons', '--list-keys', 'source']);
    sourceFingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing.stdout.toString())![1]!;
    // and some other key in the same keyring: the editor's own, say
    await gpg(['--quick-generate-key', 'Editor <editor@newsroom.example>', 'future-default', 'default', 'never']);
  });

  afterAll(async () => {
    if (home) spawnSync('gpgconf', ['--homedir', home.dir, '--kill', 'gpg-agent']);
    await server?.close();
    await home?.cleanup();
  });

  /** README's commands: sign and encrypt the text file, then sign the encrypted file. Returns the two files' bytes. */
  async function gpgReply(
    text: string,
    options: { armor?: boolean; pad?: boolean; recipients?: string[]; signer?: string; innerSignature?: boolean; notation?: string | false; compress?: 'zlib' | 'zip' | 'bzip2' } = {},
  ): Promise<{ message: Buffer; signature: Buffer }> {
    const n = ++file;
    const plain = join(home.dir, `reply-${n}.txt`);
    const out = join(home.dir, `reply-${n}.pgp`);
    await writeFile(plain, text);
    // the padding README gives: zeros up to a multiple of 4096 bytes, sent uncompressed
    if (options.pad) expect(spawnSync('truncate', ['-s', '%4096', plain]).status).toBe(0);
    const recipients = (options.recipients ?? [sourceFingerprint, NEWSROOM]).flatMap((r) => ['--recipient', r]);
    // README's binding: the source's fingerprint, lower-case, in the signature's to@sealdrop.org notation
    const notation = options.notation ?? sourceFingerprint.toLowerCase();
    await gpg([
      '--local-user', NEWSROOM, ...(notation === false ? [] : ['--sig-notation', `to@sealdrop.org=${notation}`]),
      ...(options.innerSignature === false ? [] : ['--sign']), '--encrypt', ...recipients,
      '--compress-algo', options.compress ?? 'none', ...(options.armor ? ['--armor'] : []), '--output', out, plain,
    ]);
    await gpg(['--local-user', options.signer ?? NEWSROOM, '--detach-sign', out]);
    return { message: await readFile(out), signature: await readFile(`${out}.sig`) };
  }

  async function postReply(parts: { message: Buffer; signature?: Buffer }): Promise<Response> {
    return editorFetch(`/editor/v1/sources/${handle}/replies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: parts.message.toString('base64'), ...(parts.signature ? { signature: parts.signature.toString('base64') } : {}) }),
    });
  }

  /** What the source's page shows for each reply. */
  async function sourceReads(): Promise<{ text?: string; problem?: string }[]> {
    const salt = ((await (await fetch(`${server.sourceUrl}/api/v1/config`)).json()) as { instanceSalt: string }).instanceSalt;
    const { lookupId, keyPassphrase } = deriveSourceSecrets(tip.codename, salt);
    const seen = await lookUp(server.sourceUrl, lookupId);
    const privateKey = await decryptKey({ privateKey: await readPrivateKey({ armoredKey: seen.lockedPrivateKey }), passphrase: keyPassphrase });
    const newsroom = await readKey({ armoredKey: await readFile(DEMO_PUBLIC_KEY_FILE, 'utf8') });
    const shown: { text?: string; problem?: string }[] = [];
    for (const reply of seen.replies) {
      const opened = await openReply(reply.message, privateKey, newsroom);
      shown.push(opened.ok ? { text: opened.text } : { problem: opened.problem });
    }
    return shown;
  }

  const storedCount = async () => (await server.database.db.select({ id: replies.id }).from(replies)).length;

  it('accepts binary and armored gpg replies with their detached signatures, and the source reads them with its codename', async () => {
    expect((await postReply(await gpgReply('Reply made with gpg.\n'))).status).toBe(201);
    expect((await postReply(await gpgReply('답장 — armored.\n', { armor: true }))).status).toBe(201);
    expect(await sourceReads()).toEqual(expect.arrayContaining([{ text: 'Reply made with gpg.\n' }, { text: '답장 — armored.\n' }]));
  });

  it('pads a gpg reply as README says: the page shows the text without the zeros, and 3 or 4 bytes store alike', async () => {
    const sizes: number[] = [];
    for (const text of ['Yes', 'Yes!']) {
      const response = await postReply(await gpgReply(text, { pad: true }));
      expect(response.status).toBe(201);
      const { id } = (await response.json()) as { id: string };
      const [row] = await server.database.db.select({ size: replies.size }).from(replies).where(eq(replies.id, id));
      sizes.push(row!.size);
    }
    const [three, four] = sizes;
    expect(three).toBeGreaterThan(4096);
    // equal but for the signature's two integers, whose length gpg writes without leading zeros
    expect(Math.abs(three! - four!)).toBeLessThanOrEqual(2);
    expect(await sourceReads()).toEqual(expect.arrayContaining([{ text: 'Yes' }, { text: 'Yes!' }]));
  });

  it('refuses a reply without the detached signature, signed by another key, or encrypted to the wrong keys; nothing stored', async () => {
    const before = await storedCount();
    const good = await gpgReply('meant for the source');
    const refusals: [string, { message: Buffer; signature?: Buffer }, string][] = [
      ['no detached signature', { message: good.message }, 'unsigned_reply'],
      ['signed by the editor\'s own key', await gpgReply('x', { signer: 'editor@newsroom.example' }), 'wrong_signer'],
      ['the signature of another file', { message: good.message, signature: (await gpgReply('other')).signature }, 'bad_signature'],
      ['to another key', await gpgReply('x', { recipients: ['editor@newsroom.example', NEWSROOM] }), 'not_addressed_to_source'],
      ['to the source only', await gpgReply('x', { recipients: [sourceFingerprint] }), 'not_addressed_to_newsroom'],
    ];
    for (const [name, parts, code] of refusals) {
      const response = await postReply(parts);
      expect(response.status, name).toBe(422);
      expect(await response.json(), name).toMatchObject({ error: code });
    }
    const signedOnly = await gpg(['--local-user', NEWSROOM, '--sign', '--output', '-'], 'plain but signed');
    const response = await postReply({ message: signedOnly, signature: good.signature });
    expect(await response.json()).toMatchObject({ error: 'not_openpgp' });
    expect(await storedCount()).toBe(before);
  });

  it('stores a gpg reply without the inner signature (the server cannot see inside), and the page refuses it as unsigned', async () => {
    expect((await postReply(await gpgReply('unsigned inside', { innerSignature: false }))).status).toBe(201);
    expect(await sourceReads()).toContainEqual({ problem: 'unsigned' });
  });

  const countOf = (shown: { text?: string; problem?: string }[], problem: string) => shown.filter((s) => s.problem === problem).length;

  it('stores a gpg reply without --sig-notation, or naming another key, and the page refuses it as not_for_you', async () => {
    const before = countOf(await sourceReads(), 'not_for_you');
    expect((await postReply(await gpgReply('no notation', { notation: false }))).status).toBe(201);
    expect((await postReply(await gpgReply('to the newsroom', { notation: NEWSROOM.toLowerCase() }))).status).toBe(201);
    expect((await postReply(await gpgReply('upper case', { notation: sourceFingerprint.toUpperCase() }))).status).toBe(201);
    const shown = await sourceReads();
    expect(countOf(shown, 'not_for_you')).toBe(before + 3);
    expect(shown.filter((s) => s.text !== undefined && /no notation|to the newsroom|upper case/.test(s.text))).toEqual([]);
  });

  it('stores a reply gpg compressed (--compress-algo zlib, zip or bzip2), and the page refuses it unopened as compressed', async () => {
    const before = countOf(await sourceReads(), 'compressed');
    for (const algorithm of ['zlib', 'zip', 'bzip2'] as const) {
      const compressed = await gpgReply('compressed by gpg\n'.repeat(50), { compress: algorithm });
      // the compressed packet (tag 8) is inside the encryption: gpg, as the newsroom, sees it
      const listed = await runGpg(home.dir, ['--passphrase', DEMO_PASSPHRASE, '--list-packets'], compressed.message);
      expect(listed.stdout.toString()).toMatch(/^:compressed packet: algo=[123]$/m);
      expect((await postReply(compressed)).status).toBe(201);
    }
    expect(countOf(await sourceReads(), 'compressed')).toBe(before + 3);
  });

  it('runs README\'s gpg lines as printed (the passphrase typed, the source key trusted), and the reply is accepted and read', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('--detach-sign'));
    expect(block, 'README.md has a ```sh block with gpg --detach-sign').toBeDefined();
    const dir = join(home.dir, 'readme');
    await mkdir(join(dir, 'bundle', 'sources'), { recursive: true });
    await mkdir(join(dir, 'outbox', handle), { recursive: true });
    await writeFile(join(dir, 'bundle', 'sources', `${handle}.asc`), await (await editorFetch(`/editor/v1/sources/${handle}/key`)).text());
    await writeFile(join(dir, 'reply.txt'), 'Thank you. We will write again.\n');
    // what the editor does at the prompts: types the passphrase, says yes to the source's key
    const answers = `gpg() { command gpg --batch --pinentry-mode loopback --passphrase '${DEMO_PASSPHRASE}' --trust-model always "$@"; }\nset -e\n`;
    const script = block!.replaceAll('NEWSROOM_FPR', NEWSROOM).replaceAll('SOURCE_FPR', sourceFingerprint).replaceAll('source_fpr', sourceFingerprint.toLowerCase()).replaceAll('HANDLE', handle);
    const run = spawnSync('bash', ['-c', answers + script], { cwd: dir, env: { PATH: process.env.PATH, GNUPGHOME: home.dir }, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const message = await readFile(join(dir, 'outbox', handle, 'reply-1.pgp'));
    const signature = await readFile(join(dir, 'outbox', handle, 'reply-1.pgp.sig'));
    const response = await postReply({ message, signature });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    const [row] = await server.database.db.select({ size: replies.size }).from(replies).where(eq(replies.id, id));
    expect(row!.size).toBeGreaterThan(4096); // padded by the truncate line
    expect(await sourceReads()).toContainEqual({ text: 'Thank you. We will write again.\n' });
  });

  it('stores what gpg made as binary OpenPGP, armor removed', async () => {
    const rows = await server.database.db.select({ message: replies.message, size: replies.size }).from(replies);
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const row of rows) {
      // a packet header (bit 7 set), never the '-' of "-----BEGIN PGP MESSAGE-----"
      expect(row.message[0]! & 0x80).toBe(0x80);
      expect(row.size).toBe(row.message.byteLength);
    }
  });
});
