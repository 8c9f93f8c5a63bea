/**
 * @module test/e2e/stories-desks — the example newsroom (deploy/instance.example/instance.json,
 * "The Tumen Ledger", desks with keys.example/desk-*.pub.asc) in a real browser: its name and call
 * for tips in each of the five languages, and a tip to the "Workers abroad" desk with answers that
 * arrives encrypted to that desk's key only, which GnuPG opens to show answers.txt in the tar, and
 * which the other desk’s key cannot open; while a tip is on its way its desk stays chosen (the
 * fingerprint shown is the one it goes to). Run in one browser per test file (desks-chromium.test.ts,
 * desks-firefox.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUES, LANGUAGES } from '../../client/i18n/index.ts';
import { renderAnswers, type Answer } from '../../protocol/answers.ts';
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import { sealReply } from '../../protocol/replies.ts';
import { replies } from '../../server/db/schema.ts';
import { dayOf } from '../../server/clock.ts';
import type { InstanceView } from '../../protocol/instance.ts';
import { loadInstanceFile } from '../../server/instance-file.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';
import { startSourceServer, type SourceServer } from './harness.ts';
import { SourceNavigator } from './navigator.ts';
import { storedCiphertextOf, storedSourceKeyOf, storedSourceOf } from './newsroom.ts';

const ROOT = new URL('../../', import.meta.url);
export const EXAMPLE_INSTANCE = new URL('deploy/instance.example/instance.json', ROOT).pathname;
const KEYS = new URL('keys.example/', ROOT).pathname;
/** keys.example/README.md: the demo desks' secret halves are locked with it */
const PASSPHRASE = 'demo-desks-never-use';

const hasGpg = spawnSync('gpg', ['--version']).status === 0;
if (!hasGpg && process.env.CI === 'true') throw new Error('gpg is required in CI: install gnupg (apt-get install gnupg)');

/**
 * `gpg -d` of `ciphertext` in a fresh keyring holding only `secretKeyFile` and the source's public
 * key (the tip is signed with it: without it GnuPG exits 2 for the signature it cannot check):
 * its exit status, the plaintext, what it said.
 */
function gpgDecrypt(ciphertext: Uint8Array, secretKeyFile: string, sourcePublicKey: string): { status: number | null; plaintext: Buffer; stderr: string } {
  const home = mkdtempSync(join(tmpdir(), 'sealdrop-gpg-'));
  try {
    const env = { ...process.env, GNUPGHOME: home };
    const batch = ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', PASSPHRASE];
    const imported = spawnSync('gpg', [...batch, '--import', secretKeyFile], { env, encoding: 'utf8' });
    if (imported.status !== 0) throw new Error(`gpg --import ${secretKeyFile} failed: ${imported.stderr}`);
    const source = spawnSync('gpg', [...batch, '--import'], { env, input: sourcePublicKey, encoding: 'utf8' });
    if (source.status !== 0) throw new Error(`gpg --import of the source's key failed: ${source.stderr}`);
    const r = spawnSync('gpg', [...batch, '--decrypt'], { env, input: ciphertext, maxBuffer: 64 * 1024 * 1024 });
    return { status: r.status, plaintext: r.stdout, stderr: r.stderr.toString() };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** What `tar` makes of a plaintext: the names it lists, and one member's text. */
function tarList(plaintext: Buffer): string[] {
  const r = spawnSync('tar', ['-t', '-f', '-'], { input: plaintext, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -t failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}
function tarMember(plaintext: Buffer, name: string): string {
  const r = spawnSync('tar', ['-x', '-O', '-f', '-', name], { input: plaintext, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -x ${name} failed: ${r.stderr}`);
  return r.stdout;
}

/** The key ids (hex) of a public key file's encryption subkeys. */
async function encryptionKeyIds(file: string): Promise<string[]> {
  const key = await openpgp.readKey({ armoredKey: readFileSync(file, 'utf8') });
  return key.subkeys.map((s) => s.getKeyID().toHex());
}

const textOf = (view: InstanceView, lang: (typeof LANGUAGES)[number]) =>
  (view.callForTips?.[lang] ?? []).map((b) => b.p.map((i) => i.text).join('')).join(' ').replace(/\s+/g, ' ');

export function defineDeskStories(name: BrowserName): void {
  describe.skipIf(!browserAvailable(name) || !hasGpg)(`${name}: the example newsroom, its desks and questions`, () => {
    let launched: LaunchedBrowser;
    let server: SourceServer;
    let view: InstanceView;

    beforeAll(async () => {
      view = (await loadInstanceFile(EXAMPLE_INSTANCE)).view;
      [launched, server] = await Promise.all([launchBrowser(name), startSourceServer({ powDifficulty: 8, instanceFile: EXAMPLE_INSTANCE })]);
    });
    afterAll(async () => {
      await launched?.close();
      await server?.close();
    });

    it('shows the example newsroom’s name, logo and call for tips in each of the five languages', async () => {
      expect(view.name).toBe('The Tumen Ledger');
      const source = await SourceNavigator.open(launched.browser, server.origin);
      for (const lang of LANGUAGES) {
        await source.sourceVisits(`/?lang=${lang}`);
        await source.page.waitForSelector('[data-testid=call-for-tips]:not([hidden])');
        const shown = await source.page.evaluate(() => ({
          name: document.querySelector('[data-testid=newsroom-name]')?.textContent,
          logo: [...document.querySelectorAll<HTMLImageElement>('header img')].map((i) => [i.getAttribute('src'), i.alt, i.complete && i.naturalWidth > 0]),
          call: (document.querySelector('[data-testid=call-for-tips]') as HTMLElement).innerText.replace(/\s+/g, ' ').trim(),
          poweredBy: document.querySelector('[data-testid=powered-by]')?.textContent,
        }));
        expect(shown, lang).toEqual({ name: 'The Tumen Ledger', logo: [['/instance/logo', 'The Tumen Ledger', true]], call: textOf(view, lang), poweredBy: CATALOGUES[lang].powered_by });
      }
      expect(await source.cspViolations()).toEqual([]);
      expect(source.foreignRequests()).toEqual([]);
      await source.page.close();
    });

    it('sends a tip with answers to "Workers abroad": encrypted to that desk’s key only; gpg -d with it shows answers.txt, the other desk’s key cannot', async () => {
      const workers = view.desks.find((d) => d.name.en === 'Workers abroad')!;
      const sanctions = view.desks.find((d) => d.name.en === 'Sanctions and shipping')!;
      expect([workers.id, sanctions.id]).toEqual(['workers', 'sanctions']);
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/?lang=ko');
      await source.sourceWaitsForThePageToBeReady();
      await source.page.click(`[data-testid=desk][value="${workers.id}"]`);

      // every question answered as a source would, in Korean; what she read is what is sent
      const expected: Answer[] = [];
      for (const q of view.questions) {
        if (q.kind === 'short' || q.kind === 'long') {
          const typed = q.kind === 'short' ? '캄보디아 프놈펜' : '건설 현장에서 직접 보았습니다.';
          await source.page.type(`#question-${q.id}`, typed);
          expected.push({ id: q.id, label: q.label.ko, value: [typed] });
        } else {
          const boxes = await source.page.$$(`[name="question-${q.id}"]`);
          await boxes[0]!.click();
          if (q.kind === 'choices') await boxes[1]!.click();
          expected.push({ id: q.id, label: q.label.ko, value: q.options.slice(0, q.kind === 'choices' ? 2 : 1).map((o) => o.label.ko) });
        }
      }
      const message = '해외 노동자 부서에 보내는 제보입니다.';
      const codename = await source.sourceSubmitsTip({ message });

      const ciphertext = await storedCiphertextOf(server.database.db, codename);
      const recipients = (await openpgp.readMessage({ binaryMessage: ciphertext })).getEncryptionKeyIDs().map((id) => id.toHex());
      expect(recipients, 'the workers desk’s key, and no other').toEqual(await encryptionKeyIds(join(KEYS, 'desk-workers.pub.asc')));
      for (const other of ['desk-sanctions.pub.asc', 'newsroom.pub.asc']) {
        for (const id of await encryptionKeyIds(join(KEYS, other))) expect(recipients).not.toContain(id);
      }

      const sourceKey = await storedSourceKeyOf(server.database.db, codename);
      const opened = gpgDecrypt(ciphertext, join(KEYS, 'desk-workers.sec.asc'), sourceKey);
      expect(opened.status, opened.stderr).toBe(0);
      expect(tarList(opened.plaintext).slice(0, 3)).toEqual(['manifest.json', 'message.txt', 'answers.txt']);
      expect(tarMember(opened.plaintext, 'message.txt')).toBe(message);
      // every question of the example, answered as she read it in Korean
      expect(expected.length).toBe(view.questions.length);
      expect(tarMember(opened.plaintext, 'answers.txt')).toBe(renderAnswers(expected));
      expect(JSON.parse(tarMember(opened.plaintext, 'manifest.json')).answers).toEqual(expected);

      const refused = gpgDecrypt(ciphertext, join(KEYS, 'desk-sanctions.sec.asc'), sourceKey);
      expect(refused.status, 'the sanctions desk’s key cannot open it').not.toBe(0);
      expect(refused.plaintext.length).toBe(0);
      expect(refused.stderr).toMatch(/no secret key|decryption failed/i);
      await source.page.close();
    });

    it('shows a desk’s reply under that desk’s name and its key’s fingerprint; a reply naming another desk than the key that signed it is refused', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      await source.sourceWaitsForThePageToBeReady();
      await source.page.click('[data-testid=desk][value="workers"]');
      for (const q of view.questions) {
        if (q.kind === 'short' || q.kind === 'long') await source.page.type(`#question-${q.id}`, 'Phnom Penh');
        else await (await source.page.$$(`[name="question-${q.id}"]`))[0]!.click();
      }
      const codename = await source.sourceSubmitsTip({ message: 'for the workers desk' });
      const db = server.database.db;
      const stored = await storedSourceOf(db, codename);
      const sourceKey = await openpgp.readKey({ armoredKey: stored.publicKey });
      const workersKey = await openpgp.decryptKey({
        privateKey: await openpgp.readPrivateKey({ armoredKey: readFileSync(join(KEYS, 'desk-workers.sec.asc'), 'utf8') }),
        passphrase: PASSPHRASE,
      });
      const plant = async (text: string, desk: string) => {
        const { message } = await sealReply(new TextEncoder().encode(text), sourceKey as openpgp.PublicKey, workersKey);
        await db.insert(replies).values({ sourceId: stored.id, message, size: message.length, createdDay: dayOf(new Date()), desk });
      };
      await plant('The workers desk read it.', 'workers');
      // what a server that lies about a reply's desk can do: its page checks it with that desk's key
      await plant('Signed by workers, said to be from sanctions.', 'sanctions');

      await source.page.close();
      const back = await SourceNavigator.open(launched.browser, server.origin);
      await back.sourceVisits('/return.html');
      await back.sourceReturnsWithCodename(codename);
      const shown = await back.sourceReadsRepliesAndSigners();
      expect(shown).toEqual([
        {
          text: 'The workers desk read it.',
          refused: null,
          signer: { label: CATALOGUES.en.reply_signed_by_desk.replace('{desk}', 'Workers abroad'), fingerprint: formatFingerprint(workersKey.getFingerprint()) },
        },
        { text: expect.any(String), refused: 'wrong_signer', signer: null },
      ]);
      // the line follows the language: Korean, with the desk's Korean name
      await back.page.select('#language', 'ko');
      const korean = view.desks.find((d) => d.id === 'workers')!.name.ko;
      expect((await back.sourceReadsRepliesAndSigners())[0]!.signer!.label).toBe(CATALOGUES.ko.reply_signed_by_desk.replace('{desk}', korean));
      expect(await back.cspViolations()).toEqual([]);
      await back.page.close();
    });

    it('keeps the chosen desk while the tip is on its way: no other desk can be chosen, the fingerprint shown stays the one it is encrypted to', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      await source.sourceWaitsForThePageToBeReady();
      await source.page.click('[data-testid=desk][value="workers"]');
      const fingerprint = () => source.page.$eval('[data-testid=fingerprint]', (e) => e.textContent);
      const workersFingerprint = await fingerprint();
      for (const q of view.questions) {
        if (q.kind === 'short' || q.kind === 'long') await source.page.type(`#question-${q.id}`, 'Phnom Penh');
        else await (await source.page.$$(`[name="question-${q.id}"]`))[0]!.click();
      }
      await source.sourceWritesMessage('to the workers desk');
      const release = server.holdChunkPuts();
      const puts = server.requests.filter((r) => r.startsWith('PUT ')).length;
      try {
        await source.page.click('[data-testid=submit]');
        // the tip is encrypted (to the workers desk) and its chunk is held at the server
        for (let i = 0; server.requests.filter((r) => r.startsWith('PUT ')).length === puts; i++) {
          if (i > 1200) throw new Error('expected the tip’s chunk within 120 s');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await source.page.click('[data-testid=desk][value="sanctions"]');
        const during = await source.page.evaluate(() => (document.querySelector('[data-testid=desk]:checked') as HTMLInputElement | null)?.value);
        expect({ desk: during, fingerprint: await fingerprint() }).toEqual({ desk: 'workers', fingerprint: workersFingerprint });
      } finally {
        release();
      }
      await source.page.waitForFunction(() => document.querySelector('[data-testid=codename]')?.textContent || document.querySelector('#error:not([hidden])'), { timeout: 180_000 });
      const codename = await source.page.$eval('[data-testid=codename]', (e) => e.textContent!);
      const ciphertext = await storedCiphertextOf(server.database.db, codename);
      const recipients = (await openpgp.readMessage({ binaryMessage: ciphertext })).getEncryptionKeyIDs().map((id) => id.toHex());
      expect(recipients).toEqual(await encryptionKeyIds(join(KEYS, 'desk-workers.pub.asc')));
      await source.page.close();
    });
  });
}
