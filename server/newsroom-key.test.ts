import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_KEY_FINGERPRINT, loadNewsroomKey, NewsroomKeyError, newsroomKeyHint } from './newsroom-key.ts';
import { DEMO_KEY_PATH } from './test-helpers.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealdrop-key-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function keyFile(name: string, text: string) {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function refusal(path: string, now = new Date()) {
  const error = await loadNewsroomKey(path, now).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NewsroomKeyError);
  return error as NewsroomKeyError;
}

describe('loadNewsroomKey', () => {
  it('reads the demo key and says it is the demo key', async () => {
    const key = await loadNewsroomKey(DEMO_KEY_PATH, new Date());
    expect(key.fingerprint).toBe(DEMO_KEY_FINGERPRINT);
    expect(key.isDemoKey).toBe(true);
    expect(key.encryptionKeyIds.length).toBeGreaterThan(0);
    expect(key.armored).toContain('BEGIN PGP PUBLIC KEY BLOCK');
  });

  it('reads another good key as not the demo key', async () => {
    const { publicKey } = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Newsroom' }] });
    const key = await loadNewsroomKey(await keyFile('good.asc', publicKey), new Date());
    expect(key.isDemoKey).toBe(false);
  });

  it('refuses secret key material', async () => {
    const { privateKey } = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Newsroom' }] });
    expect((await refusal(await keyFile('secret.asc', privateKey))).code).toBe('secret_key_material');
    const demoSecret = join(DEMO_KEY_PATH, '..', 'newsroom.sec.asc');
    expect((await refusal(demoSecret)).code).toBe('secret_key_material');
  });

  it('refuses a key with no encryption subkey', async () => {
    const { publicKey } = await generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'Sign only' }], subkeys: [] });
    expect((await refusal(await keyFile('sign-only.asc', publicKey))).code).toBe('no_encryption_key');
  });

  it('refuses an expired key', async () => {
    const made = new Date('2020-01-01T00:00:00Z');
    const { publicKey } = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Old' }], date: made, keyExpirationTime: 86_400 });
    const error = await refusal(await keyFile('expired.asc', publicKey), new Date('2021-01-01T00:00:00Z'));
    expect(['invalid_key', 'no_encryption_key']).toContain(error.code);
  });

  it('refuses a missing file and a file that is no key', async () => {
    expect((await refusal(join(dir, 'missing.asc'))).code).toBe('unreadable');
    expect((await refusal(await keyFile('junk.asc', 'hello'))).code).toBe('not_a_key');
  });
});

describe('loadNewsroomKey: binary key files', () => {
  it('reads a binary public key (gpg --export without --armor) like the armored one', async () => {
    const { publicKey } = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'n' }], format: 'binary' });
    const path = join(dir, 'binary.pub.gpg');
    await writeFile(path, publicKey);
    const key = await loadNewsroomKey(path, new Date());
    expect(key.fingerprint).toMatch(/^[0-9a-f]{40}$/);
    expect(key.isDemoKey).toBe(false);
    expect(key.armored).toContain('BEGIN PGP PUBLIC KEY BLOCK');
  });

  it('! a binary secret key is refused as secret key material, with the PUBLIC-key hint', async () => {
    const { privateKey } = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'n' }], format: 'binary' });
    const path = join(dir, 'binary.sec.gpg');
    await writeFile(path, privateKey);
    const error = await refusal(path);
    expect(error.code).toBe('secret_key_material');
    expect(error.message).toContain('got secret key material (binary)');
    expect(newsroomKeyHint(error.code)).toMatch(/^NEWSROOM_KEY_FILE must be the newsroom PUBLIC key/);
  });

  it('! bytes that are no key at all: refused as not a key, with a hint naming both forms', async () => {
    const path = join(dir, 'noise.bin');
    await writeFile(path, new Uint8Array(64).fill(0x99));
    const error = await refusal(path);
    expect(error.code).toBe('not_a_key');
    expect(error.message).toMatch(/expected an OpenPGP public key \(armored, or binary as "gpg --export" writes it\), got neither/);
    expect(newsroomKeyHint(error.code)).toContain('armored (NAME.pub.asc from sealdrop keygen) or binary (gpg --export FINGERPRINT)');
    // and a missing file is a path problem, not a "must be public" one
    const missing = await refusal(join(dir, 'absent.asc'));
    expect(newsroomKeyHint(missing.code)).toMatch(/^check the path in NEWSROOM_KEY_FILE/);
  });
});
