/**
 * @module test/e2e/stories — the source's stories of issue 4, run in one browser per test file
 * (source-chromium.test.ts, source-firefox.test.ts) so the two browsers run side by side.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asc, eq } from 'drizzle-orm';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stripJpeg } from '../../client/strip/jpeg.ts';
import { stripPng } from '../../client/strip/png.ts';
import { stripWebp } from '../../client/strip/webp.ts';
import {
  SECRETS,
  ascii,
  baseJpeg,
  containsBytes,
  exifWithGps,
  jpegWithMetadata,
  pngWithMetadata,
  webpWithMetadata,
} from '../../client/strip/test-images.ts';
import { parseEnvelope } from '../../protocol/envelope.ts';
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import { deriveSourceSecrets, hashLookupId } from '../../protocol/kdf.ts';
import { replyRecipientNotation } from '../../protocol/replies.ts';
import { encryptToKeys, generateSourceKeys } from '../../protocol/source-keys.ts';
import { replayReply } from '../../protocol/testdata/reply-cases.ts';
import { addToken } from '../../server/admin.ts';
import { dayOf, systemClock } from '../../server/clock.ts';
import type { Db } from '../../server/db/open.ts';
import { chunks, instance, replies, sources, submissions } from '../../server/db/schema.ts';
import { createEditorApp } from '../../server/editor/app.ts';
import { DEMO_PASSPHRASE, readDemoSecretKey, sealDemoReply } from '../../server/editor/test-fixtures.ts';
import { demoNewsroomKey } from '../../server/test-helpers.ts';
import { runCli, runGpg, writeBundle } from '../cli/helpers.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';
import { startSourceServer, type SourceServer } from './harness.ts';
import { SourceNavigator } from './navigator.ts';

const ROOT = new URL('../../', import.meta.url);
const AXE = readFileSync(new URL('node_modules/axe-core/axe.min.js', ROOT), 'utf8');
const DEMO_SECRET_KEY = readFileSync(new URL('keys.example/newsroom.sec.asc', ROOT), 'utf8');
const DEMO_PUBLIC_KEY = readFileSync(new URL('keys.example/newsroom.pub.asc', ROOT), 'utf8');
const DEMO_SECRET_KEY_PATH = new URL('keys.example/newsroom.sec.asc', ROOT).pathname;
const DEMO_FINGERPRINT = 'd59550c5a4895ea55787f850ca968b8ec7fc9799';
const gpgPresent = spawnSync('gpg', ['--version']).status === 0;
if (!gpgPresent && process.env.CI === 'true') throw new Error('gpg is required in CI: install gnupg (apt-get install gnupg)');

/** The newsroom's side, done here as the CLI would: ciphertext from the database, demo key. */
export async function newsroomOpens(db: Db, submissionId: string) {
  const rows = await db.select().from(chunks).where(eq(chunks.submissionId, submissionId)).orderBy(asc(chunks.idx));
  const ciphertext = Buffer.concat(rows.map((r) => r.data));
  const key = await openpgp.decryptKey({
    privateKey: await openpgp.readPrivateKey({ armoredKey: DEMO_SECRET_KEY }),
    passphrase: DEMO_PASSPHRASE,
  });
  const { data } = await openpgp.decrypt({
    message: await openpgp.readMessage({ binaryMessage: ciphertext }),
    decryptionKeys: key,
    format: 'binary',
  });
  return { ciphertext, chunkCount: rows.length, envelope: await parseEnvelope(data as Uint8Array) };
}

/**
 * The editor's `sealdrop decrypt` of the tips `ids` as one bundle under `handle`, with the source
 * key the server holds: what it says of who signed them (cli/tip-attribution.ts).
 */
export async function editorDecrypts(db: Db, ids: string[], handle: string, publicKey: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sealdrop-e2e-decrypt-'));
  try {
    const tips = await Promise.all(ids.map(async (id) => ({ id, handle, ciphertext: (await newsroomOpens(db, id)).ciphertext })));
    await writeBundle(join(dir, 'bundle'), tips, [{ handle, publicKey }]);
    return await runCli(['decrypt', '-i', DEMO_SECRET_KEY_PATH, '--inbox', join(dir, 'inbox'), join(dir, 'bundle'), '-o', join(dir, 'out')], { env: { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function sourceOf(db: Db, codename: string) {
  const [{ instanceSalt }] = (await db.select().from(instance)) as unknown as [{ instanceSalt: string }];
  const { lookupId } = deriveSourceSecrets(codename, instanceSalt);
  const [source] = await db.select().from(sources).where(eq(sources.lookupHash, hashLookupId(lookupId)));
  return source;
}

/** An editor's reply as `sealdrop reply` makes it (signed by the demo newsroom key, padded), stored as the editor API would. */
export async function newsroomReplies(db: Db, sourceId: string, publicKey: string, text: string): Promise<void> {
  const { message } = await sealDemoReply(text, await openpgp.readKey({ armoredKey: publicKey }));
  await plantReply(db, sourceId, message);
}

/** What anyone who can write the replies table can do: store any message encrypted to the source's public key. */
async function plantReply(db: Db, sourceId: string, message: Uint8Array): Promise<void> {
  await db.insert(replies).values({ sourceId, message, size: message.length, createdDay: dayOf(new Date()) });
}

/** Signed and encrypted as gpg --sign --encrypt makes it, to the source and the newsroom, by `signer`. */
async function signedReply(publicKey: string, text: string, signer: openpgp.PrivateKey): Promise<Uint8Array> {
  return (await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: new TextEncoder().encode(text) }),
    encryptionKeys: [await openpgp.readKey({ armoredKey: publicKey }), await openpgp.readKey({ armoredKey: DEMO_PUBLIC_KEY })],
    signingKeys: signer,
    format: 'binary',
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
  })) as Uint8Array;
}

/**
 * The cross-source replay: a genuine reply to another source (one the attacker is, say), opened
 * with that source's key and its signed data encrypted again to this source and the newsroom.
 */
async function replayedReply(publicKey: string, text: string): Promise<Uint8Array> {
  const other = await generateSourceKeys('m'.repeat(64), await openpgp.readKey({ armoredKey: DEMO_PUBLIC_KEY }));
  const { message } = await sealDemoReply(text, await openpgp.readKey({ armoredKey: other.publicKey }));
  const otherKey = await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: other.lockedPrivateKey }), passphrase: 'm'.repeat(64) });
  return replayReply(message, otherKey, [await openpgp.readKey({ armoredKey: publicKey }), await openpgp.readKey({ armoredKey: DEMO_PUBLIC_KEY })]);
}

/** A compression bomb with a good, bound newsroom signature: 16 MiB of zeros in about 16 KB. */
async function compressedReply(publicKey: string): Promise<Uint8Array> {
  const key = await openpgp.readKey({ armoredKey: publicKey });
  return (await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: new Uint8Array(16 * 1024 * 1024) }),
    encryptionKeys: [key, await openpgp.readKey({ armoredKey: DEMO_PUBLIC_KEY })],
    signingKeys: await readDemoSecretKey(),
    signatureNotations: [replyRecipientNotation(key)],
    format: 'binary',
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib },
  })) as Uint8Array;
}

/** A newsroom signature over other words than the ones sent: sign one text, then swap the literal. */
async function forgedReply(publicKey: string, signed: string, sent: string): Promise<Uint8Array> {
  const message = await openpgp.sign({ message: await openpgp.createMessage({ binary: new TextEncoder().encode(signed) }), signingKeys: await readDemoSecretKey(), format: 'object' });
  const literal = message.packets.findPacket(openpgp.enums.packet.literalData) as unknown as { setBytes(b: Uint8Array, f: openpgp.enums.literal): void };
  literal.setBytes(new TextEncoder().encode(sent), openpgp.enums.literal.binary);
  return (await openpgp.encrypt({
    message,
    encryptionKeys: [await openpgp.readKey({ armoredKey: publicKey })],
    format: 'binary',
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
  })) as Uint8Array;
}

/**
 * gpg's route, as README gives it: `gpg --sig-notation to@sealdrop.org=<source fingerprint>
 * --compress-algo none --sign --encrypt` to the source key (from the editor API) and the newsroom
 * key, `gpg --detach-sign` of that file, then the pair through the editor API.
 */
async function gpgReplies(db: Db, handle: string, text: string): Promise<Response> {
  const home = mkdtempSync(join(tmpdir(), 'sealdrop-e2e-gpg-'));
  try {
    const editor = createEditorApp({ db, newsroomKey: await demoNewsroomKey(), clock: systemClock, config: { logRequests: false }, log: () => {} });
    const token = await addToken(db, `e2e-${randomBytes(4).toString('hex')}`);
    const auth = { authorization: `Bearer ${token}` };
    const sourceKey = await (await editor.request(`/editor/v1/sources/${handle}/key`, { headers: auth })).text();
    const gpg = async (args: string[], input?: string | Uint8Array) => {
      const r = await runGpg(home, args, input);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    await gpg(['--passphrase', DEMO_PASSPHRASE, '--import', DEMO_SECRET_KEY_PATH]);
    await gpg(['--import'], sourceKey);
    const source = (await openpgp.readKey({ armoredKey: sourceKey })).getFingerprint().toUpperCase();
    const newsroom = DEMO_FINGERPRINT.toUpperCase();
    const reply = join(home, 'reply.pgp');
    await gpg([
      '--trust-model', 'always', '--passphrase', DEMO_PASSPHRASE, '--compress-algo', 'none', '--local-user', newsroom,
      '--sig-notation', `to@sealdrop.org=${source.toLowerCase()}`, '--sign', '--encrypt', '--recipient', source, '--recipient', newsroom, '--output', reply,
    ], text);
    await gpg(['--passphrase', DEMO_PASSPHRASE, '--local-user', newsroom, '--detach-sign', reply]);
    return editor.request(`/editor/v1/sources/${handle}/replies`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ message: readFileSync(reply).toString('base64'), signature: readFileSync(`${reply}.sig`).toString('base64') }),
    });
  } finally {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
    rmSync(home, { recursive: true, force: true });
  }
}

export function defineSourceStories(name: BrowserName): void {
  describe.skipIf(!browserAvailable(name))(`a source in ${name}`, () => {
    let server: SourceServer;
    let launched: LaunchedBrowser;
    let files: string;

    beforeAll(async () => {
      [server, launched] = await Promise.all([startSourceServer({ powDifficulty: 8 }), launchBrowser(name)]);
      files = mkdtempSync(join(tmpdir(), 'sealdrop-e2e-'));
    });
    afterAll(async () => {
      await launched?.close();
      await server?.close();
      if (files) rmSync(files, { recursive: true, force: true });
    });

    it('submits a message with a GPS-tagged photo, keeps the codename, reads a reply, deletes it, sends more', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      const csp = await source.sourceVisits('/');
      expect(csp).toContain("default-src 'none'");

      const photo = join(files, 'IMG_2041.jpg');
      writeFileSync(photo, jpegWithMetadata());
      const message = `The ministry moved the files on Tuesday. 자료는 화요일에 옮겨졌다. ${randomBytes(4).toString('hex')}`;
      await source.sourceWaitsForThePageToBeReady();
      await source.sourceWritesMessage(message);
      const notes = await source.sourceAttachesFiles(photo);
      expect(notes).toEqual(['ok: Hidden data (location, camera, dates) will be removed from this image.']);
      const seenBefore = server.requests.length;
      const codename = await source.sourceSubmitsTip({ message });
      expect(codename.split(' ')).toHaveLength(9);
      // Two round trips after the page loaded: the proof of work was solved while she typed.
      const afterSubmit = server.requests.slice(seenBefore).filter((r) => r.includes('/api/'));
      // a tip this small is encrypted whole (client/lib/send.ts WHOLE_TIP_BYTES): its SHA-256 went
      // with the open, the chunk goes alone (a streamed tip's chunks carry ?sha256=, its last ?digests=)
      expect(afterSubmit.map((r) => r.replace(/uploads\/[\w-]+/, 'uploads/ID'))).toEqual([
        'POST /api/v1/uploads',
        'PUT /api/v1/uploads/ID/chunks/0',
      ]);
      expect(await source.accessibilityProblems(AXE), 'codename shown').toEqual([]);
      expect(await source.sourceTriesToLeave('/safety.html')).toBe(true);
      expect(await source.page.$eval('[data-testid=codename]', (e) => e.textContent)).toBe(codename);
      await source.sourceConfirmsSheWroteItDown();

      // The newsroom's view: only ciphertext was stored, and it holds the message and a clean photo.
      const stored = await sourceOf(server.database.db, codename);
      expect(stored, 'a source row for the codename shown').toBeDefined();
      const [submission] = await server.database.db.select().from(submissions).where(eq(submissions.sourceId, stored!.id));
      expect(submission!.status).toBe('received');
      const { ciphertext, envelope } = await newsroomOpens(server.database.db, submission!.id);
      expect(containsBytes(ciphertext, new TextEncoder().encode('ministry'))).toBe(false);
      expect(envelope.message).toBe(message);
      // the envelope names the reply key the page made, the one the server was given (PROTOCOL.md, "Envelope")
      const sourceFingerprint = (await openpgp.readKey({ armoredKey: stored!.publicKey })).getFingerprint();
      expect(envelope.manifest.sourceKeyFingerprint).toBe(sourceFingerprint);
      expect(envelope.files).toHaveLength(1);
      const [arrived] = envelope.files;
      expect(arrived!.name).toBe('file-1.jpg'); // the camera's name is not sent (stories-metadata.ts)
      expect(arrived!.stripped).toBe(true);
      for (const secret of Object.values(SECRETS)) expect(containsBytes(arrived!.bytes, ascii(secret)), secret).toBe(false);
      expect(containsBytes(arrived!.bytes, ascii('Exif'))).toBe(false);
      // The GPS IFD's latitude (37/1 33/1 1234/100) is gone, byte for byte.
      const gpsLatitude = exifWithGps().subarray(-48, -24);
      expect(containsBytes(arrived!.bytes, gpsLatitude)).toBe(false);
      // The picture itself arrived whole: the browser's own tables and scan, unchanged.
      expect(Buffer.from(arrived!.bytes.subarray(20)).equals(Buffer.from(baseJpeg().subarray(494)))).toBe(true);
      expect(Buffer.from(arrived!.bytes).equals(Buffer.from(stripJpeg(jpegWithMetadata())))).toBe(true);

      const replyText = 'Thank you. 감사합니다. Can you tell us who else saw the files?';
      await newsroomReplies(server.database.db, stored!.id, stored!.publicKey, replyText);

      expect(await source.sourceVisits('/return.html')).toContain("default-src 'none'");
      const account = await source.sourceReturnsWithCodename(codename);
      expect(account.replies).toEqual([replyText]);
      expect(account.statuses).toEqual(['received']);
      expect(await source.accessibilityProblems(AXE), 'replies shown').toEqual([]);

      await source.sourceDeletesReply(0);
      expect(await server.database.db.select().from(replies).where(eq(replies.sourceId, stored!.id))).toEqual([]);

      await source.sourceSendsFollowUp('One more thing: three people had access.');
      const all = await server.database.db.select().from(submissions).where(eq(submissions.sourceId, stored!.id));
      expect(all.map((s) => s.status)).toEqual(['received', 'received']);
      const followUp = all.find((s) => s.id !== submission!.id)!;
      const followUpEnvelope = (await newsroomOpens(server.database.db, followUp.id)).envelope;
      expect(followUpEnvelope.message).toBe('One more thing: three people had access.');
      // a follow-up names the key the page unlocked with the codename
      expect(followUpEnvelope.manifest.sourceKeyFingerprint).toBe(sourceFingerprint);
      // and both tips are signed by it: the editor's sealdrop decrypt verifies them against the key
      // the server holds for her, and pins it (PROTOCOL.md, "Signed tips")
      const editor = await editorDecrypts(server.database.db, [submission!.id, followUp.id], 'brave-otter', stored!.publicKey);
      expect(editor.code, editor.stderr).toBe(0);
      expect(editor.stderr).not.toMatch(/warning|error|unsigned/);
      expect(editor.stderr).toContain(`sealdrop: pinned the key of brave-otter: ${formatFingerprint(sourceFingerprint)} (its tip `);
      const keyCell = formatFingerprint(sourceFingerprint).split(' ').slice(0, 3).join(' ');
      expect(editor.stdout.split('\n').filter((l) => l.startsWith('brave-otter '))).toEqual([expect.stringContaining(` ${keyCell} `), expect.stringContaining(` ${keyCell} `)]);

      expect(source.foreignRequests()).toEqual([]);
      expect(await source.cspViolations()).toEqual([]);
      expect(await source.page.cookies()).toEqual([]);
      expect(await source.page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 0]);
      await source.page.close();
    });

    it('shows the newsroom\'s signed replies (sealdrop\'s padded, gpg\'s as made) and refuses planted ones (unsigned, another signer, forged, a reply to another source copied here, compressed), saying why', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      await source.sourceWaitsForThePageToBeReady();
      const codename = await source.sourceSubmitsTip({ message: 'who writes back?' });
      await source.sourceConfirmsSheWroteItDown();
      const stored = (await sourceOf(server.database.db, codename))!;
      const db = server.database.db;

      await newsroomReplies(db, stored.id, stored.publicKey, 'Signed by the newsroom.');
      // Written straight into the database by someone holding the source's public key:
      await plantReply(db, stored.id, await encryptToKeys(new TextEncoder().encode('Send us your name.'), [await openpgp.readKey({ armoredKey: stored.publicKey })]));
      const { privateKey: mallory } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Newsroom' }], format: 'object' });
      await plantReply(db, stored.id, await signedReply(stored.publicKey, 'Call this number.', mallory));
      await plantReply(db, stored.id, await forgedReply(stored.publicKey, 'Stay safe.', 'Meet us tonight.'));
      // A genuine newsroom reply to another source, copied here: signed by the newsroom, not for her.
      await plantReply(db, stored.id, await replayedReply(stored.publicKey, 'Bring the second folder to the usual place.'));
      await plantReply(db, stored.id, await compressedReply(stored.publicKey));
      const expected = [
        { text: 'Signed by the newsroom.', refused: null },
        { text: 'Not shown: this reply is not signed by the newsroom, so it may not come from them. Do not answer it or do what it asks; you can delete it.', refused: 'unsigned' },
        { text: "Not shown: this reply is signed with a key that is not the newsroom's, so it may not come from them. Do not answer it or do what it asks; you can delete it.", refused: 'wrong_signer' },
        { text: "Not shown: this reply's signature does not match its text, so it was changed or forged. Do not answer it or do what it asks; you can delete it.", refused: 'bad_signature' },
        { text: 'Not shown: this reply is signed by the newsroom but not for you: it was written to someone else and copied here. Do not answer it or do what it asks; you can delete it.', refused: 'not_for_you' },
        { text: "Not shown: this reply came compressed, which this page refuses to open (a compressed reply can be made to fill the device's memory). Ask the newsroom to send it again; you can delete this one.", refused: 'compressed' },
      ];
      if (gpgPresent) {
        const pushed = await gpgReplies(db, stored.handle, 'Made with gpg, unpadded.\n');
        expect(pushed.status).toBe(201);
        expected.push({ text: 'Made with gpg, unpadded.\n', refused: null });
      }

      await source.sourceVisits('/return.html');
      await source.sourceReturnsWithCodename(codename);
      const shown = await source.sourceReadsReplies();
      const byText = (a: { text: string }, b: { text: string }) => a.text.localeCompare(b.text);
      expect(shown.sort(byText)).toEqual(expected.sort(byText));
      for (const text of ['Send us your name.', 'Call this number.', 'Meet us tonight.', 'Bring the second folder']) expect(await source.page.content()).not.toContain(text);
      expect(await source.accessibilityProblems(AXE), 'refused replies shown').toEqual([]);

      // the same refusal in the source's language
      await source.sourcePicksLanguage('ko');
      const korean = await source.sourceReadsReplies();
      expect(korean.find((r) => r.refused === 'unsigned')!.text).toMatch(/^표시하지 않음: 이 답장에는 편집국의 서명이 없어/);
      expect(korean.find((r) => r.refused === 'not_for_you')!.text).toMatch(/^표시하지 않음: 이 답장에는 편집국의 서명이 있지만, 다른 사람에게 쓴 답장을/);
      expect(await source.cspViolations()).toEqual([]);
      await source.page.close();
    });

    it('dates a verified reply by its signature, shows a replayed copy once, and refuses a lookup answer with words where a day belongs', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      await source.sourceWaitsForThePageToBeReady();
      const codename = await source.sourceSubmitsTip({ message: 'when did you write?' });
      await source.sourceConfirmsSheWroteItDown();
      const stored = (await sourceOf(server.database.db, codename))!;
      const db = server.database.db;
      const before = dayOf(new Date());
      const { message } = await sealDemoReply('We read it. Stay safe.', await openpgp.readKey({ armoredKey: stored.publicKey }));
      const after = dayOf(new Date());
      // The server re-dates it, and serves the same signed reply again (encrypted anew) under a day to come.
      await db.insert(replies).values({ sourceId: stored.id, message, size: message.length, createdDay: '2020-01-01' });
      const { data, signatures } = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: message }), decryptionKeys: await readDemoSecretKey(), format: 'binary' });
      const packets = new openpgp.PacketList<openpgp.AnyPacket>();
      packets.push(...(await signatures[0]!.signature).packets, ...(await openpgp.createMessage({ binary: data as Uint8Array })).packets);
      const inner = new openpgp.Message(packets);
      const copy = (await openpgp.encrypt({
        message: inner, encryptionKeys: [await openpgp.readKey({ armoredKey: stored.publicKey })], format: 'binary',
        config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
      })) as Uint8Array;
      await db.insert(replies).values({ sourceId: stored.id, message: copy, size: copy.length, createdDay: '2099-12-31' });

      await source.sourceVisits('/return.html');
      await source.sourceReturnsWithCodename(codename);
      const headings = () => source.page.$$eval('[data-testid=reply] h3', (hs) => hs.map((h) => h.textContent));
      expect(await source.sourceReadsReplies()).toEqual([{ text: 'We read it. Stay safe.', refused: null }]);
      expect([[`Reply of ${before}`], [`Reply of ${after}`]]).toContainEqual(await headings());
      // Deleting it deletes every copy the server sent.
      await source.sourceDeletesReply(0);
      expect(await db.select().from(replies).where(eq(replies.sourceId, stored.id))).toEqual([]);
      await source.page.close();

      // A hostile server writes its own words into a reply's day: the page shows nothing of the answer.
      // (Chromium only: puppeteer's WebDriver BiDi requests cannot read a POST body to forward it.)
      if (name !== 'chromium') return;
      await newsroomReplies(db, stored.id, stored.publicKey, 'Signed by the newsroom.');
      const hostile = await SourceNavigator.open(launched.browser, server.origin);
      await hostile.page.setRequestInterception(true);
      hostile.page.on('request', async (request) => {
        if (!request.url().endsWith('/api/v1/source/lookup')) return void request.continue();
        const real = await fetch(request.url(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: request.postData() });
        const answer = (await real.json()) as { replies: { day: string }[] };
        for (const r of answer.replies) r.day = '2026-12-01 — the newsroom: to confirm it is you, reply with your full name and employer';
        await request.respond({ status: 200, contentType: 'application/json', body: JSON.stringify(answer) });
      });
      await hostile.sourceVisits('/return.html');
      const refused = await hostile.sourceReturnsWithCodename(codename).catch((error: Error) => error.message);
      expect(String(refused)).toContain("The server's answer is not in the form this page expects");
      expect(await hostile.page.content()).not.toContain('full name and employer');
      expect(await hostile.sourceReadsReplies()).toEqual([]);
      await hostile.page.close();
    });

    it('still shows every cleaned image: the browser decodes what the strippers leave', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/safety.html');
      const cleaned = {
        'image/jpeg': stripJpeg(jpegWithMetadata()),
        'image/png': stripPng(pngWithMetadata()),
        'image/webp': stripWebp(webpWithMetadata()),
      };
      for (const [type, bytes] of Object.entries(cleaned)) {
        const size = await source.page.evaluate(
          async (type, b64) => {
            // a data: URL, which the CSP's img-src allows (the pages themselves never need blob:)
            const img = new Image();
            img.src = `data:${type};base64,${b64}`;
            await img.decode();
            return [img.naturalWidth, img.naturalHeight];
          },
          type,
          Buffer.from(bytes).toString('base64'),
        );
        expect(size, type).toEqual([8, 8]);
      }
      expect(await source.cspViolations()).toEqual([]);
      await source.page.close();
    });

    it('retries a chunk that fails mid-upload and the tip still completes', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      // 9 MB: three chunks of CHUNK_BYTES (4 MiB) once encrypted and padded; the middle one fails.
      const archive = join(files, 'ledger.bin');
      const bytes = randomBytes(9 * 1024 * 1024);
      writeFileSync(archive, bytes);
      await source.sourceWaitsForThePageToBeReady();
      const notes = await source.sourceAttachesFiles(archive);
      expect(notes[0]).toMatch(/^warn: We cannot remove hidden data/);
      server.failChunkOnce(1);
      const before = server.injectedFailures.length;
      const codename = await source.sourceSubmitsTip({ message: 'the ledger' });
      await source.sourceConfirmsSheWroteItDown();
      expect(server.injectedFailures.length).toBe(before + 1);
      expect(server.injectedFailures.at(-1)).toMatch(/\/chunks\/1$/);

      const stored = await sourceOf(server.database.db, codename);
      const [submission] = await server.database.db.select().from(submissions).where(eq(submissions.sourceId, stored!.id));
      const opened = await newsroomOpens(server.database.db, submission!.id);
      expect(opened.chunkCount).toBe(3);
      expect(Buffer.from(opened.envelope.files[0]!.bytes).equals(bytes)).toBe(true);
      expect(opened.envelope.files[0]!.stripped).toBe(false);
      await source.page.close();
    });

    it('cancels a tip while its first parts are being sent, and it is never delivered', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      await source.sourceWaitsForThePageToBeReady();
      const archive = join(files, 'second-thoughts.bin');
      // three chunks once encrypted: the first two go at once (PARALLEL_CHUNKS), the last waits
      writeFileSync(archive, randomBytes(9 * 1024 * 1024));
      await source.sourceAttachesFiles(archive);
      const stored = async () => (await server.database.db.select().from(submissions)).filter((s) => s.status === 'received').length;
      const receivedBefore = await stored();
      const mark = server.requests.length;
      const release = server.holdChunkPuts();
      try {
        await source.sourceWritesMessage('I changed my mind');
        await source.page.click('[data-testid=submit]');
        await source.page.waitForFunction(() => /^Sending/.test(document.querySelector('#progress-text')!.textContent!));
        // the chunks are encrypted as they are sent: wait until the first two are on their way
        await vi.waitFor(() => expect(server.requests.slice(mark).filter((r) => r.startsWith('PUT ')).length).toBe(2), {
          timeout: 120_000,
          interval: 100,
        });
        expect(await source.page.$eval('#cancel', (e) => (e as HTMLButtonElement).disabled)).toBe(false);
        await source.page.click('#cancel');
        await source.page.waitForSelector('#error:not([hidden])');
        expect(await source.page.$eval('#error', (e) => e.textContent)).toBe('Cancelled. Your tip was not sent.');
        expect(await source.page.$eval('#progress-box', (e) => (e as HTMLElement).hidden)).toBe(true);
      } finally {
        release();
      }
      // Even if the held first part now reaches the app, the last part was never sent.
      await source.page.waitForFunction(() => !(document.querySelector('[data-testid=submit]') as HTMLButtonElement).disabled);
      expect(await stored()).toBe(receivedBefore);
      const sent = server.requests.slice(mark).filter((r) => r.startsWith('PUT '));
      expect(sent.map((r) => r.replace(/uploads\/[\w-]+/, 'uploads/ID')).sort()).toEqual([
        'PUT /api/v1/uploads/ID/chunks/0',
        'PUT /api/v1/uploads/ID/chunks/1',
      ]);
      await source.page.close();
    });

    it('no longer offers to cancel once the last part is on its way', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      await source.sourceWaitsForThePageToBeReady();
      const release = server.holdChunkPuts();
      try {
        await source.sourceWritesMessage('a short tip: one part only');
        await source.page.click('[data-testid=submit]');
        await source.page.waitForFunction(() => /^Sending/.test(document.querySelector('#progress-text')!.textContent!));
        expect(await source.page.$eval('#cancel', (e) => (e as HTMLButtonElement).disabled)).toBe(true);
      } finally {
        release();
      }
      await source.page.waitForFunction(() => document.querySelector('[data-testid=codename]')!.textContent);
      await source.sourceConfirmsSheWroteItDown();
      await source.page.close();
    });

    it('refuses a mistyped codename before any request, and an unknown one politely', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      server.failConfigOnce(); // and the page gets over a failed first load of its config
      await source.sourceVisits('/return.html');
      await source.sourceWaitsForThePageToBeReady('check');
      expect(server.injectedFailures).toContain('GET /api/v1/config');
      expect(server.requests.filter((r) => r === 'GET /api/v1/config').length).toBeGreaterThanOrEqual(2);
      const lookupsBefore = server.requests.filter((r) => r.includes('/source/lookup')).length;

      const typo = await source.sourceTypesCodename('abandon ability able about above absent absorb abstrakt ');
      expect(typo.bad).toEqual(['abstrakt']);
      expect(typo.ok).toHaveLength(7);
      expect(typo.feedback).toBe('Not in our word lists: word 8. Check the spelling.');
      await source.page.click('[data-testid=check]');
      await source.page.waitForFunction(() => document.querySelector('#word-feedback')!.textContent !== '');
      expect(server.requests.filter((r) => r.includes('/source/lookup')).length).toBe(lookupsBefore);

      await source.sourceTypesCodename('abandon ability able about above absent absorb abstract');
      await source.page.click('[data-testid=check]');
      await source.page.waitForSelector('#lookup-error:not([hidden])', { timeout: 120_000 });
      expect(await source.page.$eval('#lookup-error', (e) => e.textContent)).toBe(
        'We could not find this codename. Check each word and try again.',
      );
      expect(await source.page.$eval('#account', (e) => (e as HTMLElement).hidden)).toBe(true);
      expect(server.requests.filter((r) => r.includes('/source/lookup')).length).toBe(lookupsBefore + 1);
      await source.page.close();
    });

    it('serves every page with the CSP, no violation, no foreign request, no serious accessibility problem, in every language', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      for (const path of ['/', '/return.html', '/safety.html']) {
        const csp = await source.sourceVisits(path);
        expect(csp, path).toBe(
          "default-src 'none'; script-src 'self' blob:; style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src blob:; font-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
        );
        if (path !== '/safety.html') await source.sourceWaitsForThePageToBeReady(path === '/' ? 'submit' : 'check');
        expect(await source.cspViolations(), path).toEqual([]);
        expect(await source.accessibilityProblems(AXE), path).toEqual([]);
      }

      await source.sourceVisits('/');
      await source.sourceWaitsForThePageToBeReady();
      for (const [lang, title, htmlLang] of [
        ['ko', '제보하기', 'ko'],
        ['zh', '提供线索', 'zh-Hans'],
        ['ru', 'Отправить сообщение', 'ru'],
        ['km', 'ផ្ញើព័ត៌មាន', 'km'],
      ] as const) {
        await source.sourcePicksLanguage(lang);
        const shown = await source.page.evaluate(() => ({
          title: document.querySelector('h1')!.textContent,
          lang: document.documentElement.lang,
          dir: document.documentElement.dir,
          search: location.search,
          returnLink: document.querySelector('a[data-nav=return]')!.getAttribute('href'),
          wordlist: (document.querySelector('#wordlist') as HTMLSelectElement).value,
        }));
        expect(shown).toEqual({
          title,
          lang: htmlLang,
          dir: 'ltr',
          search: `?lang=${lang}`,
          returnLink: `/return.html?lang=${lang}`,
          wordlist: lang === 'ko' ? 'korean' : lang === 'zh' ? 'simplified-chinese' : 'digits',
        });
        expect(await source.accessibilityProblems(AXE), lang).toEqual([]);
      }
      // A link followed keeps the language; nothing else remembers it.
      await source.page.click('a[data-nav=safety]');
      await source.page.waitForFunction(() => location.pathname === '/safety.html' && document.readyState === 'complete');
      expect(await source.page.$eval('h1', (e) => e.textContent)).toBe('របៀបរក្សាសុវត្ថិភាព');
      expect(await source.page.cookies()).toEqual([]);

      expect(await source.cspViolations()).toEqual([]);
      expect(source.foreignRequests()).toEqual([]);
      expect(source.consoleErrors.filter((e) => !/Permissions-Policy/.test(e))).toEqual([]);

      // The recorders work: they saw the page's own requests, and a planted violation is caught.
      expect(source.requests.some((url) => url === `${server.origin}/api/v1/config`)).toBe(true);
      await source.page.evaluate(() => {
        const img = document.createElement('img');
        img.src = 'http://192.0.2.1/pixel.png';
        img.alt = '';
        document.body.append(img);
      });
      await source.page.waitForFunction(() => window.__cspViolations.length > 0);
      expect((await source.cspViolations())[0]).toMatch(/^img-src/);
      // …and axe does report a planted problem (a text box nobody can name).
      await source.page.evaluate(() => document.querySelector('main')!.append(document.createElement('input')));
      expect((await source.accessibilityProblems(AXE)).join('\n')).toMatch(/critical label/);
      await source.page.close();
    });
  });
}
