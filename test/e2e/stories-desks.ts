/**
 * @module test/e2e/stories-desks — the example newsroom (deploy/instance.example/instance.json,
 * "The Tumen Ledger", desks with keys.example/desk-*.pub.asc) in a real browser: its name and call
 * for tips in each of the five languages, and a tip to the "Workers abroad" desk with answers that
 * arrives encrypted to that desk's key only, which GnuPG opens to show answers.txt in the tar, and
 * which the other desk's key cannot open. Run in one browser per test file (desks-chromium.test.ts,
 * desks-firefox.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUES, LANGUAGES } from '../../client/i18n/index.ts';
import type { InstanceView } from '../../protocol/instance.ts';
import { loadInstanceFile } from '../../server/instance-file.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';
import { startSourceServer, type SourceServer } from './harness.ts';
import { SourceNavigator } from './navigator.ts';
import { storedCiphertextOf } from './newsroom.ts';

const ROOT = new URL('../../', import.meta.url);
export const EXAMPLE_INSTANCE = new URL('deploy/instance.example/instance.json', ROOT).pathname;
const KEYS = new URL('keys.example/', ROOT).pathname;
const PASSPHRASE = 'demo-never-use';

const hasGpg = spawnSync('gpg', ['--version']).status === 0;
if (!hasGpg && process.env.CI === 'true') throw new Error('gpg is required in CI: install gnupg (apt-get install gnupg)');

/** `gpg -d` of `ciphertext` in a fresh keyring holding only `secretKeyFile`: its exit status, the plaintext, what it said. */
function gpgDecrypt(ciphertext: Uint8Array, secretKeyFile: string): { status: number | null; plaintext: Buffer; stderr: string } {
  const home = mkdtempSync(join(tmpdir(), 'sealdrop-gpg-'));
  try {
    const env = { ...process.env, GNUPGHOME: home };
    const batch = ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', PASSPHRASE];
    const imported = spawnSync('gpg', [...batch, '--import', secretKeyFile], { env, encoding: 'utf8' });
    if (imported.status !== 0) throw new Error(`gpg --import ${secretKeyFile} failed: ${imported.stderr}`);
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
  const { readFileSync } = await import('node:fs');
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
  });
}
