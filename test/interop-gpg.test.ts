/**
 * Promise 6 of the design: an editor needs only GnuPG and tar. Envelopes built and encrypted by
 * protocol/ are decrypted by GnuPG 2.2 and unpacked by GNU tar; GnuPG's own messages pass the
 * server's checks.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPackets } from '../protocol/_packets.ts';
import {
  buildEnvelope, encryptTip, encryptToKeys, generateSourceKeyPair, inspectMessage, inspectMessageStream, parseEnvelope, readNewsroomPublicKey, renderAnswers, type Answer,
} from '../protocol/index.ts';

const DEMO_PASSPHRASE = 'demo-never-use';
const keysDir = new URL('../keys.example/', import.meta.url);
const hasGpg = spawnSync('gpg', ['--version']).status === 0;
if (!hasGpg && process.env.CI === 'true') throw new Error('gpg is required in CI: install gnupg (apt-get install gnupg)');

let home = '';
let work = '';

function run(command: string, args: string[], input?: Uint8Array): Buffer {
  const r = spawnSync(command, args, { input, env: { ...process.env, GNUPGHOME: home }, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr?.toString()}`);
  return r.stdout;
}

const gpg = (...args: string[]) => ['--batch', '--no-tty', '--pinentry-mode', 'loopback', ...args];

/**
 * Decrypt to a file (gpg exits 0 only once the MDC checked), then `tar -xf` it into an empty folder,
 * as the README says (test/readme-gpg.test.ts runs the README's own lines).
 */
function decryptAndUntar(file: string, dir: string, passphrase: string): void {
  mkdirSync(dir);
  const tarFile = `${dir}.tar`;
  run('gpg', gpg('--passphrase', passphrase, '--skip-verify', '--output', tarFile, '--decrypt', file));
  run('tar', ['--no-same-owner', '--no-same-permissions', '-xf', tarFile, '-C', dir]);
}

describe.skipIf(!hasGpg)('GnuPG interoperability', () => {
  const message = '제보합니다. Это важно.\nline two\n';
  const photo = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 2654435761) >>> 24);
  const doc = new TextEncoder().encode('%PDF-1.7\n' + 'x'.repeat(5000));
  let envelope: Uint8Array;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'sealdrop-gnupg-'));
    work = mkdtempSync(join(tmpdir(), 'sealdrop-interop-'));
    run('gpg', gpg('--passphrase', DEMO_PASSPHRASE, '--import', new URL('newsroom.sec.asc', keysDir).pathname));
    envelope = await buildEnvelope({
      language: 'ko',
      message,
      files: [
        { name: 'photo.jpg', type: 'image/jpeg', bytes: photo, stripped: true },
        { name: '회의록 2026.pdf', type: 'application/pdf', bytes: doc, stripped: false },
      ],
    });
  });

  afterAll(() => {
    if (home) spawnSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: home } });
    for (const dir of [home, work]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function expectUnpacked(dir: string): void {
    expect(readFileSync(join(dir, 'message.txt'), 'utf8')).toBe(message);
    expect(new Uint8Array(readFileSync(join(dir, 'files', 'photo.jpg')))).toEqual(photo);
    expect(new Uint8Array(readFileSync(join(dir, 'files', '회의록 2026.pdf')))).toEqual(doc);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(['files/photo.jpg', 'files/회의록 2026.pdf']);
  }

  it('gpg --decrypt to a file, then tar -x, recovers an envelope encrypted to the demo newsroom key', async () => {
    const { key } = await readNewsroomPublicKey(readFileSync(new URL('newsroom.pub.asc', keysDir), 'utf8'));
    const file = join(work, 'demo.pgp');
    writeFileSync(file, await encryptToKeys(envelope, [key]));
    decryptAndUntar(file, join(work, 'demo'), DEMO_PASSPHRASE);
    expectUnpacked(join(work, 'demo'));
    // gpg's plaintext is the padded envelope itself, byte for byte.
    const plain = run('gpg', gpg('--passphrase', DEMO_PASSPHRASE, '--decrypt', file));
    expect(new Uint8Array(plain)).toEqual(envelope);
  });

  it('a signed tip: the README\'s gpg --skip-verify --decrypt reads it; with the source\'s key imported, gpg checks the signature (dated the key\'s fixed date)', async () => {
    const { key } = await readNewsroomPublicKey(readFileSync(new URL('newsroom.pub.asc', keysDir), 'utf8'));
    const source = await generateSourceKeyPair('s'.repeat(64), key);
    const file = join(work, 'signed.pgp');
    writeFileSync(file, await encryptTip(envelope, [key], source.signingKey));
    decryptAndUntar(file, join(work, 'signed'), DEMO_PASSPHRASE);
    expectUnpacked(join(work, 'signed'));
    // without the source's key gpg cannot check it, and says so with exit 2: hence --skip-verify
    const unknown = spawnSync('gpg', gpg('--passphrase', DEMO_PASSPHRASE, '--output', join(work, 'signed-unchecked.tar'), '--decrypt', file), { env: { ...process.env, GNUPGHOME: home } });
    expect(unknown.stderr.toString()).toMatch(/No public key/);
    expect(unknown.status).toBe(2);
    const keyFile = join(work, 'source.asc');
    writeFileSync(keyFile, source.publicKey);
    run('gpg', gpg('--import', keyFile));
    const checked = spawnSync('gpg', gpg('--passphrase', DEMO_PASSPHRASE, '--status-fd', '1', '--output', join(work, 'signed-checked.tar'), '--decrypt', file), { env: { ...process.env, GNUPGHOME: home } });
    expect(checked.status, checked.stderr.toString()).toBe(0);
    expect(checked.stdout.toString()).toMatch(new RegExp(`\\[GNUPG:\\] VALIDSIG ${source.signingKey.getFingerprint().toUpperCase()} 2020-01-01 1577836800 `));
    expect(new Uint8Array(readFileSync(join(work, 'signed-checked.tar')))).toEqual(envelope);
  });

  it('answers to the instance\'s questions: gpg + tar alone show answers.txt beside message.txt, and the manifest holds them', async () => {
    const answers: Answer[] = [
      { id: 'where', label: '어디에서 일어났습니까?', value: ['프놈펜, 항구 근처\n두 번째 줄'] },
      { id: 'companies', label: 'Which companies?', value: ['Acme Shipping', 'Blue Sea Ltd'] },
      { id: 'how', label: 'Откуда вы знаете?', value: [] },
    ];
    const { key } = await readNewsroomPublicKey(readFileSync(new URL('newsroom.pub.asc', keysDir), 'utf8'));
    const answered = await buildEnvelope({ language: 'ko', message, answers, files: [{ name: 'photo.jpg', type: 'image/jpeg', bytes: photo, stripped: true }] });
    const file = join(work, 'answers.pgp');
    writeFileSync(file, await encryptToKeys(answered, [key]));
    // the README's way: decrypt to a file, then tar -x into an empty folder
    decryptAndUntar(file, join(work, 'answers'), DEMO_PASSPHRASE);
    const rendered = '어디에서 일어났습니까?\n  - 프놈펜, 항구 근처\n    두 번째 줄\n\nWhich companies?\n  - Acme Shipping\n  - Blue Sea Ltd\n\nОткуда вы знаете?\n  (no answer)\n';
    expect(renderAnswers(answers)).toBe(rendered);
    expect(readFileSync(join(work, 'answers', 'answers.txt'), 'utf8')).toBe(rendered);
    expect(readFileSync(join(work, 'answers', 'message.txt'), 'utf8')).toBe(message);
    expect(JSON.parse(readFileSync(join(work, 'answers', 'manifest.json'), 'utf8')).answers).toEqual(answers);
    // tar lists it right after message.txt
    expect(run('tar', ['-tf', join(work, 'answers.tar')]).toString()).toBe('manifest.json\nmessage.txt\nanswers.txt\nfiles/photo.jpg\n');
    // and the pipe a reader may try, gpg -d | tar -xO answers.txt: it shows them too (a small
    // envelope fits a pipe; the README's way above is still the one that waits for the MDC)
    const piped = spawnSync('sh', ['-c', `gpg --batch --no-tty --pinentry-mode loopback --passphrase ${DEMO_PASSPHRASE} --decrypt "$1" | tar -xO answers.txt`, 'sh', file], { env: { ...process.env, GNUPGHOME: home } });
    expect(piped.status, piped.stderr.toString()).toBe(0);
    expect(piped.stdout.toString('utf8')).toBe(rendered);
  });

  it('works with a key generated by GnuPG (future-default)', async () => {
    const uid = 'Interop Newsroom <interop@example.org>';
    run('gpg', gpg('--passphrase', '', '--quick-gen-key', uid, 'future-default', 'default', 'never'));
    const armored = run('gpg', gpg('--armor', '--export', 'interop@example.org')).toString();
    const newsroom = await readNewsroomPublicKey(armored);
    expect(newsroom.key.keyPacket.version).toBe(4);
    const ciphertext = await encryptToKeys(envelope, [newsroom.key]);
    expect((await inspectMessage(ciphertext)).recipientKeyIds).toEqual(newsroom.encryptionKeyIds);
    const file = join(work, 'gpgkey.pgp');
    writeFileSync(file, ciphertext);
    decryptAndUntar(file, join(work, 'gpgkey'), '');
    expectUnpacked(join(work, 'gpgkey'));
  });

  it("accepts GnuPG's own messages (from a file, and streamed with partial lengths)", async () => {
    const { key, encryptionKeyIds } = await readNewsroomPublicKey(readFileSync(new URL('newsroom.pub.asc', keysDir), 'utf8'));
    const fpr = key.getFingerprint();
    const plainFile = join(work, 'envelope.tar');
    writeFileSync(plainFile, envelope);
    const fromFile = run('gpg', gpg('--trust-model', 'always', '--recipient', fpr, '--output', '-', '--encrypt', plainFile));
    const streamed = run('gpg', gpg('--trust-model', 'always', '--recipient', fpr, '--encrypt'), envelope);
    // gpg writes a legacy-format PKESK header and, when streaming, partial body lengths
    const frames = await readPackets([new Uint8Array(streamed)]);
    expect(streamed[0]! & 0x40).toBe(0);
    expect(frames.at(-1)!.partial).toBe(true);
    for (const ciphertext of [fromFile, streamed]) {
      const info = await inspectMessage(new Uint8Array(ciphertext));
      expect(info).toEqual({ recipientKeyIds: encryptionKeyIds, pkeskVersion: 3, seipdVersion: 1 });
      // in 1000-byte pieces, so part headers fall across chunk boundaries
      const pieces = Array.from({ length: Math.ceil(ciphertext.length / 1000) }, (_, k) => new Uint8Array(ciphertext.subarray(k * 1000, k * 1000 + 1000)));
      expect(await inspectMessageStream(pieces)).toEqual(info);
    }
    // and what gpg decrypts parses as a canonical envelope again
    const file = join(work, 'streamed.pgp');
    writeFileSync(file, streamed);
    const plain = run('gpg', gpg('--passphrase', DEMO_PASSPHRASE, '--decrypt', file));
    expect((await parseEnvelope(new Uint8Array(plain))).message).toBe(message);
  });

  it('refuses what gpg makes that is not a submission: signed-only and symmetric-only', async () => {
    const signed = run('gpg', gpg('--passphrase', DEMO_PASSPHRASE, '--sign'), envelope);
    await expect(inspectMessage(new Uint8Array(signed))).rejects.toMatchObject({ code: 'no_pkesk' });
    const symmetric = run('gpg', gpg('--passphrase', 'pw', '--symmetric'), envelope);
    await expect(inspectMessage(new Uint8Array(symmetric))).rejects.toMatchObject({ code: 'no_pkesk' });
    const demo = await readKey({ armoredKey: readFileSync(new URL('newsroom.pub.asc', keysDir), 'utf8') });
    expect(demo.isPrivate()).toBe(false);
  });
});
