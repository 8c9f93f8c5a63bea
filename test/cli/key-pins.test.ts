/**
 * The source keys the offline machine answers (cli/key-pins.ts), as an editor meets them: decrypt
 * pins a key the source's own tip names, reply answers only a pinned key, and a server that swaps a
 * source's key in a bundle is caught at both steps (issue 10).
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinSourceKey, readKeyPin } from '../../cli/key-pins.ts';
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import { generateSourceKeys, inspectMessage, type EnvelopeInput } from '../../protocol/index.ts';
import { makeSubmission, randomId, readDemoPublicKey } from './fixtures.ts';
import { DEMO_PASSPHRASE, DEMO_SECRET_KEY, exists, makeTempDir, runCli, writeBundle } from './helpers.ts';

const env = { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE };
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
type Keys = { publicKey: string; lockedPrivateKey: string; fingerprint: string; encryptionKeyId: string };
let source: Keys;
let attacker: Keys;

async function sourceKeys(passphrase: string): Promise<Keys> {
  const keys = await generateSourceKeys(passphrase, await readDemoPublicKey());
  const key = await openpgp.readKey({ armoredKey: keys.publicKey });
  const encryptionKeyId = (await key.getEncryptionKey()).getKeyID().toHex();
  return { ...keys, fingerprint: key.getFingerprint(), encryptionKeyId };
}

/** A tip as a current page makes it (naming `names`), or as an older page did (names nothing). */
async function tip(handle: string, message: string, names?: string) {
  const input: EnvelopeInput = { language: 'en', message, files: [], ...(names ? { sourceKeyFingerprint: names } : {}) };
  return { id: randomId(), handle, ciphertext: await makeSubmission(input) };
}

const decrypt = (bundle: string, out: string) => runCli(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', bundle, '-o', out], { cwd: tmp.dir, env });
const reply = (to: string, ...more: string[]) =>
  runCli(['reply', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', '--to', to, '--outbox', 'outbox', ...more, '-'], { cwd: tmp.dir, env, input: 'Thank you.' });
const pinFile = (handle: string) => join(tmp.dir, 'inbox', 'keys', `${handle}.json`);

/** The key ids a reply file is encrypted to. */
async function recipientsOf(path: string): Promise<string[]> {
  return (await inspectMessage(new Uint8Array(await readFile(join(tmp.dir, path))))).recipientKeyIds;
}

beforeAll(async () => {
  tmp = await makeTempDir();
  source = await sourceKeys('s'.repeat(64));
  // the attacker's key has every mark of a source's key: the page's shape, the fixed date
  attacker = await sourceKeys('m'.repeat(64));
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('pinned source keys', () => {
  it('decrypt pins the key the tip names and the bundle carries (0600 in 0700); reply answers it with and without --bundle', async () => {
    await writeBundle(join(tmp.dir, 'b1'), [await tip('quiet-otter', 'first', source.fingerprint), await tip('quiet-otter', 'second', source.fingerprint)], [
      { handle: 'quiet-otter', publicKey: source.publicKey },
    ]);
    const r = await decrypt('b1', 'out');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/^sealdrop: pinned the key of quiet-otter: (.*)$/gm)).toEqual([`sealdrop: pinned the key of quiet-otter: ${formatFingerprint(source.fingerprint)}`]);
    expect(r.stderr).not.toMatch(/warning|error/);
    expect((await stat(pinFile('quiet-otter'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(tmp.dir, 'inbox', 'keys'))).mode & 0o777).toBe(0o700);
    const pin = await readKeyPin(join(tmp.dir, 'inbox'), 'quiet-otter');
    expect(pin).toMatchObject({ handle: 'quiet-otter', fingerprint: source.fingerprint, publicKey: source.publicKey });

    const withBundle = await reply('quiet-otter', '--bundle', 'b1');
    expect(withBundle.code, withBundle.stderr).toBe(0);
    expect(await recipientsOf(withBundle.stdout.trim())).toContain(source.encryptionKeyId);
    // the pin is enough: no bundle, or one that does not carry this source (issue 14's friction)
    const withoutBundle = await reply('quiet-otter');
    expect(withoutBundle.code, withoutBundle.stderr).toBe(0);
    expect(await recipientsOf(withoutBundle.stdout.trim())).toContain(source.encryptionKeyId);
    await writeBundle(join(tmp.dir, 'others'), [], [{ handle: 'odd-fox', publicKey: attacker.publicKey }]);
    const otherBundle = await reply('quiet-otter', '--bundle', 'others');
    expect(otherBundle.code, otherBundle.stderr).toBe(0);
  });

  it('a repeated decrypt pins nothing new, warns of nothing, and leaves the pin as it was', async () => {
    const before = await readFile(pinFile('quiet-otter'));
    const again = await decrypt('b1', 'out');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('already there');
    expect(again.stderr).not.toMatch(/pinned|warning|error/);
    // into a fresh folder too: the same key is pinned already
    const fresh = await decrypt('b1', 'out-again');
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stderr).not.toMatch(/pinned|warning|error/);
    expect(await readFile(pinFile('quiet-otter'))).toEqual(before);
    // and pinning the same key again through the module says so
    expect(await pinSourceKey(join(tmp.dir, 'inbox'), 'quiet-otter', { fingerprint: source.fingerprint, armored: source.publicKey })).toBe('already');
  });

  it('! a bundle whose key the tip does not name: decrypt says the server may be tampered with and pins nothing; reply refuses', async () => {
    // the server swapped the new source's key for its own
    await writeBundle(join(tmp.dir, 'swapped'), [await tip('swift-heron', 'hello', source.fingerprint)], [{ handle: 'swift-heron', publicKey: attacker.publicKey }]);
    const r = await decrypt('swapped', 'out-swapped');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "sealdrop: error: swift-heron: the server sent a key that is not the one the source's own tip names — the server may be tampered with; do not reply with this bundle",
    );
    expect(r.stderr).toContain(`names ${formatFingerprint(source.fingerprint)}; the bundle's key for swift-heron is ${formatFingerprint(attacker.fingerprint)}`);
    expect(r.stderr).toContain('sealdrop: error: 1 submission names a source key other than the one the bundle or the pin holds');
    // the tip itself was decrypted and kept
    expect(r.stdout).toMatch(/swift-heron .* OK/);
    expect(await exists(pinFile('swift-heron'))).toBe(false);

    const refused = await reply('swift-heron', '--bundle', 'swapped');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('sealdrop: error: no pinned key for swift-heron');
    expect(refused.stderr).toMatch(/^sealdrop: hint: decrypt a tip of swift-heron first/m);
    expect(await exists(join(tmp.dir, 'outbox', 'swift-heron'))).toBe(false);
  });

  it('! reply refuses a bundle whose key for a pinned source is another, naming both fingerprints grouped', async () => {
    await writeBundle(join(tmp.dir, 'swapped-later'), [], [{ handle: 'quiet-otter', publicKey: attacker.publicKey }]);
    const r = await reply('quiet-otter', '--bundle', 'swapped-later');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `sealdrop: error: the bundle's key for quiet-otter is not the pinned one: the bundle has ${formatFingerprint(attacker.fingerprint)}, the source's own tip named ${formatFingerprint(source.fingerprint)}`,
    );
    expect(r.stderr).toMatch(/^sealdrop: hint: the server may be tampered with; no reply was written/m);
  });

  it('! a tip under a pinned handle that names another key is refused loudly, and the pin stays', async () => {
    const before = await readFile(pinFile('quiet-otter'));
    // the server files the attacker's own tip (naming its own key, truthfully) under the source's handle
    await writeBundle(join(tmp.dir, 'impostor'), [await tip('quiet-otter', 'send your name', attacker.fingerprint)], [{ handle: 'quiet-otter', publicKey: attacker.publicKey }]);
    const r = await decrypt('impostor', 'out-impostor');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`sealdrop: error: quiet-otter: submission `);
    expect(r.stderr).toContain(`names the key ${formatFingerprint(attacker.fingerprint)}, but quiet-otter is pinned to ${formatFingerprint(source.fingerprint)}`);
    expect(await readFile(pinFile('quiet-otter'))).toEqual(before);
  });

  it('an envelope from an older page (no fingerprint) decrypts as before, but its source stays unpinned and is not answered', async () => {
    await writeBundle(join(tmp.dir, 'old'), [await tip('old-moth', 'from an old page')], [{ handle: 'old-moth', publicKey: source.publicKey }]);
    const r = await decrypt('old', 'out-old');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('sealdrop: warning: old-moth: its tip comes from an older page that does not name the source\'s key: the key is unpinned');
    expect(await exists(pinFile('old-moth'))).toBe(false);
    const refused = await reply('old-moth', '--bundle', 'old');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('sealdrop: error: no pinned key for old-moth');
    // an older page's tip from a source pinned already: nothing to warn of
    await writeBundle(join(tmp.dir, 'old-pinned'), [await tip('quiet-otter', 'old page again')], [{ handle: 'quiet-otter', publicKey: source.publicKey }]);
    const pinnedAlready = await decrypt('old-pinned', 'out-old-pinned');
    expect(pinnedAlready.code, pinnedAlready.stderr).toBe(0);
    expect(pinnedAlready.stderr).not.toMatch(/warning/);
  });

  it('! a damaged pin is refused, not trusted', async () => {
    const inbox = join(tmp.dir, 'inbox');
    await pinSourceKey(inbox, 'pale-moth', { fingerprint: source.fingerprint, armored: source.publicKey });
    const pin = JSON.parse(await readFile(pinFile('pale-moth'), 'utf8'));
    await writeFile(pinFile('pale-moth'), JSON.stringify({ ...pin, publicKey: attacker.publicKey }));
    await expect(readKeyPin(inbox, 'pale-moth')).rejects.toThrow(/damaged: its key does not have its fingerprint/);
    const r = await reply('pale-moth');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is damaged');
    await expect(readKeyPin(inbox, '../etc')).rejects.toThrow(/not a source handle/);
  });
});
