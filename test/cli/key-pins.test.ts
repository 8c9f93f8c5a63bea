/**
 * The source keys the offline machine answers (cli/key-pins.ts, cli/tip-attribution.ts), as an
 * editor meets them: decrypt pins a key only when a tip is signed by it (the bundle's key for its
 * handle, the key its envelope names), reply answers a pinned key or the signer of a tip, and a
 * server that swaps a key, files a tip under another handle or writes a tip itself is caught
 * (issue 10).
 */
import { readdir as readdirOf, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimKeyForHandle, KeyHandleConflictError, pinSourceKey, readKeyIndex, readKeyPin } from '../../cli/key-pins.ts';
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import { inspectMessage, type EnvelopeInput } from '../../protocol/index.ts';
import { makeSourceKeys, makeSubmission, randomId } from './fixtures.ts';
import { DEMO_PASSPHRASE, DEMO_SECRET_KEY, exists, makeTempDir, runCli, writeBundle } from './helpers.ts';

const env = { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE };
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
type Keys = Awaited<ReturnType<typeof makeSourceKeys>>;
let source: Keys;
let attacker: Keys;

/**
 * A tip as a current page makes it (naming `names`, signed by `signer`), as an older page did
 * (names nothing, unsigned), or as the server can forge it (naming any key, unsigned).
 */
async function tip(handle: string, message: string, names?: string, signer?: openpgp.PrivateKey) {
  const input: EnvelopeInput = { language: 'en', message, files: [], ...(names ? { sourceKeyFingerprint: names } : {}) };
  return { id: randomId(), handle, ciphertext: await makeSubmission(input, undefined, signer) };
}
const signedTip = (handle: string, message: string, keys: Keys) => tip(handle, message, keys.fingerprint, keys.signingKey);

const decrypt = (bundle: string, out: string) => runCli(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', bundle, '-o', out], { cwd: tmp.dir, env });
const replyWith = (...how: string[]) =>
  runCli(['reply', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', '--outbox', 'outbox', ...how, '-'], { cwd: tmp.dir, env, input: 'Thank you.' });
const reply = (to: string, ...more: string[]) => replyWith('--to', to, ...more);
const pinFile = (handle: string) => join(tmp.dir, 'inbox', 'keys', `${handle}.json`);
/** The folder decrypt wrote for a tip. */
const tipDir = (out: string, t: { id: string; handle: string }) => join(tmp.dir, out, t.handle, `2026-11-27_${t.id.slice(0, 8)}`);
const short = (fingerprint: string) => formatFingerprint(fingerprint).split(' ').slice(0, 3).join(' ');

/** The key ids a reply file is encrypted to. */
async function recipientsOf(path: string): Promise<string[]> {
  return (await inspectMessage(new Uint8Array(await readFile(join(tmp.dir, path))))).recipientKeyIds;
}

beforeAll(async () => {
  tmp = await makeTempDir();
  source = await makeSourceKeys('s'.repeat(64));
  // the attacker's key has every mark of a source's key: the page's shape, the fixed date
  attacker = await makeSourceKeys('m'.repeat(64));
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('pinned source keys', () => {
  it('decrypt pins the key that signed the tip, the bundle carries and the tip names (0600 in 0700); reply answers it with and without --bundle', async () => {
    const first = await signedTip('quiet-otter', 'first', source);
    await writeBundle(join(tmp.dir, 'b1'), [first, await signedTip('quiet-otter', 'second', source)], [
      { handle: 'quiet-otter', publicKey: source.publicKey },
    ]);
    const r = await decrypt('b1', 'out');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/^sealdrop: pinned the key of quiet-otter: (.*)$/gm)).toEqual([
      `sealdrop: pinned the key of quiet-otter: ${formatFingerprint(source.fingerprint)} (its tip ${first.id.slice(0, 8)} is signed by it)`,
    ]);
    // the KEY column: which key signed each tip
    expect(r.stdout.split('\n').filter((l) => l.startsWith('quiet-otter '))).toEqual([expect.stringContaining(` ${short(source.fingerprint)} `), expect.stringContaining(` ${short(source.fingerprint)} `)]);
    expect(JSON.parse(await readFile(join(tipDir('out', first), 'signature.json'), 'utf8'))).toEqual({ version: 1, handle: 'quiet-otter', submission: first.id, status: 'signed', fingerprint: source.fingerprint, publicKey: source.publicKey, digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
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

  it('! a bundle whose key did not sign the tip (swapped by the server): the tip is kept in quarantine, nothing is pinned; reply refuses', async () => {
    // the server swapped the new source's key for its own
    await writeBundle(join(tmp.dir, 'swapped'), [await signedTip('swift-heron', 'hello', source)], [{ handle: 'swift-heron', publicKey: attacker.publicKey }]);
    const r = await decrypt('swapped', 'out-swapped');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sealdrop: error: swift-heron: submission [0-9a-f]{8} is not signed by the source key it claims: it is signed by the key id [0-9A-F]{16}, which is no source key of this bundle$/m);
    expect(r.stderr).toContain('sealdrop: error: 1 submission is not shown to be from the source it is filed under');
    // the tip itself was decrypted and kept, marked
    expect(r.stdout).toMatch(/swift-heron +BAD SIGNATURE .* OK/);
    const [dir] = (await readdirOf(join(tmp.dir, 'out-swapped', 'swift-heron')));
    expect(await readFile(join(tmp.dir, 'out-swapped', 'swift-heron', dir!, 'QUARANTINE.txt'), 'utf8')).toContain('not shown to be from swift-heron');
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
    expect(r.stderr).not.toMatch(/Leave out --bundle/);
  });

  it('! a tip signed by one source\'s key filed under another source\'s handle: error naming the key\'s owner, kept in quarantine, no pin', async () => {
    const misfiled = await signedTip('lone-wolf', 'filed under the wrong handle', source);
    await writeBundle(join(tmp.dir, 'misfiled'), [misfiled], [
      { handle: 'quiet-otter', publicKey: source.publicKey },
      { handle: 'lone-wolf', publicKey: attacker.publicKey },
    ]);
    const r = await decrypt('misfiled', 'out-misfiled');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `sealdrop: error: lone-wolf: submission ${misfiled.id.slice(0, 8)} is signed by the key ${formatFingerprint(source.fingerprint)} of quiet-otter, not by the key the bundle holds for lone-wolf (${formatFingerprint(attacker.fingerprint)})`,
    );
    expect(await exists(join(tipDir('out-misfiled', misfiled), 'QUARANTINE.txt'))).toBe(true);
    expect(await exists(pinFile('lone-wolf'))).toBe(false);
    expect(r.stdout).toMatch(new RegExp(`lone-wolf +${short(source.fingerprint)} ! `));
  });

  it('! another key\'s signed tip under a pinned handle disputes it: the pin stays, reply --to refuses and names both keys and tips, reply --tip answers each signer', async () => {
    const before = await readFile(pinFile('quiet-otter'));
    // the server files the attacker's own tip (signed by its own key, truthfully) under the source's handle
    const impostor = await signedTip('quiet-otter', 'send your name', attacker);
    await writeBundle(join(tmp.dir, 'impostor'), [impostor], [{ handle: 'quiet-otter', publicKey: attacker.publicKey }]);
    const r = await decrypt('impostor', 'out-impostor');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `sealdrop: error: quiet-otter: submission ${impostor.id.slice(0, 8)} is signed by ${formatFingerprint(attacker.fingerprint)}, but quiet-otter is pinned to ${formatFingerprint(source.fingerprint)}`,
    );
    expect(r.stderr).toContain(`sealdrop reply --tip ${tipDir('out-impostor', impostor)}`);
    expect(await readFile(pinFile('quiet-otter'))).toEqual(before);

    const refused = await reply('quiet-otter');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('sealdrop: error: quiet-otter is disputed: 2 keys signed tips under it');
    expect(refused.stderr).toContain(`${formatFingerprint(source.fingerprint)} signed ${join(tmp.dir, 'out', 'quiet-otter')}`);
    expect(refused.stderr).toContain(`${formatFingerprint(attacker.fingerprint)} signed ${tipDir('out-impostor', impostor)}: sealdrop reply --tip ${tipDir('out-impostor', impostor)}`);
    expect(refused.stderr).not.toMatch(/genuine one|Leave out --bundle/);

    const toImpostor = await replyWith('--tip', tipDir('out-impostor', impostor));
    expect(toImpostor.code, toImpostor.stderr).toBe(0);
    expect(await recipientsOf(toImpostor.stdout.trim())).toContain(attacker.encryptionKeyId);
    expect(await recipientsOf(toImpostor.stdout.trim())).not.toContain(source.encryptionKeyId);
    const firstTip = (await readdirOf(join(tmp.dir, 'out', 'quiet-otter')))[0]!;
    const toSource = await replyWith('--tip', join('out', 'quiet-otter', firstTip));
    expect(toSource.code, toSource.stderr).toBe(0);
    expect(await recipientsOf(toSource.stdout.trim())).toContain(source.encryptionKeyId);
    expect(await recipientsOf(toSource.stdout.trim())).not.toContain(attacker.encryptionKeyId);
  });

  it('unsigned tips (an older page, a streamed tip, a forgery naming a key) decrypt, are marked as the server\'s word, and never pin; reply --tip refuses them', async () => {
    const old = await tip('old-moth', 'from an old page');
    const forged = await tip('new-moth', 'I am new', attacker.fingerprint);
    await writeBundle(join(tmp.dir, 'old'), [old, forged], [{ handle: 'old-moth', publicKey: source.publicKey }, { handle: 'new-moth', publicKey: attacker.publicKey }]);
    const r = await decrypt('old', 'out-old');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`sealdrop: warning: old-moth: submission ${old.id.slice(0, 8)} is unsigned (an older page, or a tip over 64 MiB): which source sent it is only the server's word; it pins no key\n`);
    expect(r.stderr).toContain(`sealdrop: warning: new-moth: submission ${forged.id.slice(0, 8)} is unsigned`);
    expect(r.stderr).toContain(`(it names ${formatFingerprint(attacker.fingerprint)}, which anyone holding the public key can write)`);
    expect(r.stdout).toMatch(/old-moth +unsigned /);
    expect(await exists(pinFile('old-moth'))).toBe(false);
    expect(await exists(pinFile('new-moth'))).toBe(false);
    const refused = await reply('old-moth', '--bundle', 'old');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('sealdrop: error: no pinned key for old-moth');
    const byTip = await replyWith('--tip', tipDir('out-old', forged));
    expect(byTip.code).toBe(1);
    expect(byTip.stderr).toContain('is not a tip signed by its source\'s key (unsigned)');
    // an unsigned tip under a pinned handle: said too (the pin does not vouch for it)
    await writeBundle(join(tmp.dir, 'old-pinned'), [await tip('quiet-otter', 'unsigned again', source.fingerprint)], [{ handle: 'quiet-otter', publicKey: source.publicKey }]);
    const pinnedAlready = await decrypt('old-pinned', 'out-old-pinned');
    expect(pinnedAlready.code, pinnedAlready.stderr).toBe(0);
    expect(pinnedAlready.stderr).toMatch(/warning: quiet-otter: submission [0-9a-f]{8} is unsigned/);
  });

  it('! one key, one handle: two runs claiming one key under two handles at once, one wins and the other is refused naming both', async () => {
    const inbox = join(tmp.dir, 'inbox-race');
    const fingerprint = attacker.fingerprint;
    const results = await Promise.allSettled([claimKeyForHandle(inbox, fingerprint, 'red-fox', '/t/a'), claimKeyForHandle(inbox, fingerprint, 'blue-jay', '/t/b')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(KeyHandleConflictError);
    expect(lost.reason.message).toMatch(/under two handles: (red-fox \(pinned\) and blue-jay|blue-jay \(pinned\) and red-fox)/);
    const index = await readKeyIndex(inbox, fingerprint);
    expect(['red-fox', 'blue-jay']).toContain(index!.handle);
    // a pin made before the index existed counts too
    await pinSourceKey(inbox, 'old-crow', { fingerprint: source.fingerprint, armored: source.publicKey });
    await expect(claimKeyForHandle(inbox, source.fingerprint, 'new-crow', '/t/c')).rejects.toThrow(/old-crow \(pinned\) and new-crow/);
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
