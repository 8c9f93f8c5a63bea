/**
 * Sessions of `sealdrop decrypt`: what an editor sees for a good bundle, and for every way a bundle
 * can be wrong. After each failure: nothing outside OUT_DIR, no staging folder, nothing kept from the
 * failed submission.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import { buildEnvelope, encryptToKeys } from '../../protocol/index.ts';
import { makeSubmission, manifestText, randomId, rawEnvelope, readDemoPublicKey, stallingCiphertexts, tarHeader, type RawEntry } from './fixtures.ts';
import {
  DEMO_PASSPHRASE, DEMO_PUBLIC_KEY, DEMO_SECRET_KEY, exists, listTree, makeTempDir, runCli, writeBundle, type BundleEntry,
} from './helpers.ts';

const env = { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE };
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
/** What decrypt says of an unsigned tip that names no key (made as older pages made them; test/cli/key-pins.test.ts has the rest). */
const unpinned = (handle: string, id: string) =>
  `sealdrop: warning: ${handle}: submission ${id.slice(0, 8)} is unsigned (an older page, or a tip over 64 MiB): which source sent it is only the server's word; it pins no key\n`;
let demoKey: openpgp.PublicKey;

beforeAll(async () => {
  tmp = await makeTempDir();
  demoKey = await readDemoPublicKey();
});
afterAll(async () => {
  await tmp.cleanup();
});

/** The summary line of one submission, found by its short id. */
function row(stdout: string, id: string): string {
  const line = stdout.split('\n').find((l) => l.includes(` ${id.slice(0, 8)} `));
  if (!line) throw new Error(`no summary row for ${id} in:\n${stdout}`);
  return line;
}

/** Every summary line for a short id (two submissions may share one). */
function rows(stdout: string, id: string): string[] {
  return stdout.split('\n').filter((l) => l.includes(` ${id.slice(0, 8)} `));
}

/** Everything OUT_DIR holds for one submission. */
async function outputOf(out: string, handle: string, id: string, day = '2026-11-27'): Promise<string[]> {
  const dir = join(out, handle, `${day}_${id.slice(0, 8)}`);
  return (await exists(dir)) ? listTree(dir) : [];
}

describe('sealdrop decrypt: a good bundle', () => {
  const file = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
  const ids = { a: randomId(), b: randomId(), old: randomId() };
  let oldKeyPath: string;

  beforeAll(async () => {
    // The key the newsroom used before a rotation, with the same passphrase.
    const old = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'old newsroom' }], passphrase: DEMO_PASSPHRASE, format: 'armored' });
    oldKeyPath = join(tmp.dir, 'old.sec.asc');
    await writeFile(oldKeyPath, old.privateKey);
    const oldPublic = await openpgp.readKey({ armoredKey: old.publicKey });
    await writeBundle(join(tmp.dir, 'good'), [
      { id: ids.a, handle: 'quiet-otter', ciphertext: await makeSubmission({ language: 'ko', message: '안녕하세요, 제보합니다.\n', files: [{ name: 'ledger.pdf', type: 'application/pdf', bytes: file, stripped: false }, { name: 'photo.jpg', type: 'image/jpeg', bytes: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), stripped: true }] }) },
      { id: ids.b, handle: 'brave-lynx', day: '2026-11-26', ciphertext: await makeSubmission({ language: 'ru', message: 'Здравствуйте', files: [] }) },
      { id: ids.old, handle: 'quiet-otter', day: '2026-10-01', ciphertext: await makeSubmission({ language: 'en', message: 'sent before the rotation', files: [] }, oldPublic) },
    ]);
  });

  it('decrypts every submission into OUT/<handle>/<day>_<id8>/ and prints the summary', async () => {
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, '-i', oldKeyPath, 'good', '-o', 'out'], { cwd: tmp.dir, env });
    expect(r.stderr).toBe(`${unpinned('quiet-otter', ids.a)}${unpinned('brave-lynx', ids.b)}${unpinned('quiet-otter', ids.old)}sealdrop: decrypted 3 submissions into ${join(tmp.dir, 'out')}\n`);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^HANDLE +KEY +DAY +ID +MESSAGE +FILES +STATUS$/);
    expect(row(r.stdout, ids.a)).toMatch(/^quiet-otter +unsigned +2026-11-27 +[0-9a-f]{8} +34 B +2 +OK$/);
    expect(row(r.stdout, ids.b)).toMatch(/^brave-lynx +unsigned +2026-11-26 +[0-9a-f]{8} +24 B +0 +OK$/);
    expect(row(r.stdout, ids.old)).toMatch(/OK$/);

    const out = join(tmp.dir, 'out');
    expect(await listTree(out)).toEqual([
      'brave-lynx/',
      `brave-lynx/2026-11-26_${ids.b.slice(0, 8)}/`,
      `brave-lynx/2026-11-26_${ids.b.slice(0, 8)}/manifest.json`,
      `brave-lynx/2026-11-26_${ids.b.slice(0, 8)}/message.txt`,
      `brave-lynx/2026-11-26_${ids.b.slice(0, 8)}/signature.json`,
      'quiet-otter/',
      `quiet-otter/2026-10-01_${ids.old.slice(0, 8)}/`,
      `quiet-otter/2026-10-01_${ids.old.slice(0, 8)}/manifest.json`,
      `quiet-otter/2026-10-01_${ids.old.slice(0, 8)}/message.txt`,
      `quiet-otter/2026-10-01_${ids.old.slice(0, 8)}/signature.json`,
      `quiet-otter/2026-11-27_${ids.a.slice(0, 8)}/`,
      `quiet-otter/2026-11-27_${ids.a.slice(0, 8)}/files/`,
      `quiet-otter/2026-11-27_${ids.a.slice(0, 8)}/files/ledger.pdf`,
      `quiet-otter/2026-11-27_${ids.a.slice(0, 8)}/files/photo.jpg`,
      `quiet-otter/2026-11-27_${ids.a.slice(0, 8)}/manifest.json`,
      `quiet-otter/2026-11-27_${ids.a.slice(0, 8)}/message.txt`,
      `quiet-otter/2026-11-27_${ids.a.slice(0, 8)}/signature.json`,
    ]);
    const dirA = join(out, 'quiet-otter', `2026-11-27_${ids.a.slice(0, 8)}`);
    expect(await readFile(join(dirA, 'message.txt'), 'utf8')).toBe('안녕하세요, 제보합니다.\n');
    expect(new Uint8Array(await readFile(join(dirA, 'files/ledger.pdf')))).toEqual(file);
    expect(JSON.parse(await readFile(join(dirA, 'manifest.json'), 'utf8'))).toMatchObject({
      language: 'ko',
      files: [{ name: 'ledger.pdf', size: 300_000, stripped: false }, { name: 'photo.jpg', stripped: true }],
    });
  });

  it('leaves what is already decrypted alone on a second run', async () => {
    const before = await listTree(join(tmp.dir, 'out'));
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, '-i', oldKeyPath, 'good', '-o', 'out'], { cwd: tmp.dir, env });
    expect(r.code).toBe(0);
    expect(row(r.stdout, ids.a)).toMatch(/SKIPPED already decrypted$/);
    expect(r.stderr).toContain('(3 already there, left as they were)');
    expect(await listTree(join(tmp.dir, 'out'))).toEqual(before);
  });

  it('deletes the unchecked staging folder an interrupted run left behind', async () => {
    const stale = join(tmp.dir, 'out-stale', '.staging-Ab12Cd');
    await mkdir(join(stale, 'files'), { recursive: true });
    await writeFile(join(stale, 'message.txt'), 'never checked');
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, '-i', oldKeyPath, 'good', '-o', 'out-stale'], { cwd: tmp.dir, env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('sealdrop: removed .staging-Ab12Cd, left unchecked by an interrupted run\n');
    expect((await listTree(join(tmp.dir, 'out-stale'))).filter((p) => p.includes('staging'))).toEqual([]);
  });

  it('! wrong key: a submission made before a key rotation needs the old key too', async () => {
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, 'good', '-o', 'out-new-only'], { cwd: tmp.dir, env });
    expect(r.code).toBe(1);
    expect(row(r.stdout, ids.old)).toMatch(/FAILED wrong key$/);
    expect(row(r.stdout, ids.a)).toMatch(/OK$/);
    // named by the fingerprint keygen prints and the page shows, not by a subkey id shown nowhere
    const oldKey = await openpgp.readPrivateKey({ armoredKey: await readFile(oldKeyPath, 'utf8') });
    const oldSubkey = oldKey.subkeys[0]!.getKeyID().toHex().toUpperCase();
    expect(r.stderr).toContain(
      `sealdrop: error: submission ${ids.old.slice(0, 8)} from quiet-otter: none of the -i keys can decrypt it: it is encrypted to a key whose encryption subkey id is ${oldSubkey}, and -i gave D595 50C5 A489 5EA5 5787 F850 CA96 8B8E C7FC 9799 (newsroom.sec.asc)\n`,
    );
    expect(r.stderr).toMatch(/^sealdrop: hint: give the secret half of the key the server was given \(its start line and the source's page show that key's fingerprint.*after a key rotation add the old key too: -i NEW\.sec\.asc -i OLD\.sec\.asc$/m);
    expect(r.stderr).toMatch(/^sealdrop: error: 1 of 3 submissions could not be decrypted$/m);
    expect(await outputOf(join(tmp.dir, 'out-new-only'), 'quiet-otter', ids.old, '2026-10-01')).toEqual([]);
  });

  it('decrypts one submission file of a bundle (BUNDLE/submissions/ID.pgp) alone, checked against its bundle.json', async () => {
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, join('good', 'submissions', `${ids.b}.pgp`), '-o', 'out-one'], { cwd: tmp.dir, env });
    expect(r.stderr).toBe(`${unpinned('brave-lynx', ids.b)}sealdrop: decrypted 1 submission into ${join(tmp.dir, 'out-one')}\n`);
    expect(r.code).toBe(0);
    expect(row(r.stdout, ids.b)).toMatch(/^brave-lynx +unsigned +2026-11-26 +[0-9a-f]{8} +24 B +0 +OK$/);
    expect(await listTree(join(tmp.dir, 'out-one'))).toEqual(['brave-lynx/', `brave-lynx/2026-11-26_${ids.b.slice(0, 8)}/`, `brave-lynx/2026-11-26_${ids.b.slice(0, 8)}/manifest.json`, `brave-lynx/2026-11-26_${ids.b.slice(0, 8)}/message.txt`, `brave-lynx/2026-11-26_${ids.b.slice(0, 8)}/signature.json`]);
  });

  it('! a lone .pgp file outside a bundle: says what decrypt expects, and how to read it with gpg', async () => {
    await writeFile(join(tmp.dir, 'x.pgp'), await readFile(join(tmp.dir, 'good', 'submissions', `${ids.b}.pgp`)));
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, 'x.pgp', '-o', 'out-lone'], { cwd: tmp.dir, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'sealdrop: error: x.pgp is a file; decrypt takes the BUNDLE_DIR written by "sealdrop pull" (a folder with bundle.json)\n' +
        "sealdrop: hint: a file of a bundle's submissions/ folder is decrypted alone; for a lone .pgp file use GnuPG as the README shows (gpg --output x.tar --decrypt FILE.pgp, then tar into a new folder)\n",
    );
    expect(r.stderr).not.toContain('a part of the path is not a folder');
    expect(await exists(join(tmp.dir, 'out-lone'))).toBe(false);
  });

  it('! wrong key: a submission sent while the server ran with the DEMO key is named as such, with what to change', async () => {
    const r = await runCli(['decrypt', '-i', oldKeyPath, 'good', '-o', 'out-old-only'], { cwd: tmp.dir, env });
    expect(r.code).toBe(1);
    expect(row(r.stdout, ids.a)).toMatch(/FAILED wrong key$/);
    const oldKey = await openpgp.readPrivateKey({ armoredKey: await readFile(oldKeyPath, 'utf8') });
    expect(r.stderr).toContain(
      `from quiet-otter: it is encrypted to the DEMO key D595 50C5 A489 5EA5 5787 F850 CA96 8B8E C7FC 9799 of keys.example/, not to the -i key ${formatFingerprint(oldKey.getFingerprint())} (${basename(oldKeyPath)})\n`,
    );
    expect(r.stderr).toContain('sealdrop: hint: the server was running with the demo key when this was sent: set NEWSROOM_KEY_FILE to your NAME.pub.asc');
  });

  it('! wrong passphrase: stops before writing anything', async () => {
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, 'good', '-o', 'out-wrong-pass'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'demo-never-use ' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `sealdrop: error: wrong passphrase for the secret key ${DEMO_SECRET_KEY}\n` +
        "sealdrop: hint: SEALDROP_PASSPHRASE does not hold this key's passphrase; correct it, or unset it to be asked\n",
    );
    expect(await exists(join(tmp.dir, 'out-wrong-pass'))).toBe(false);
  });

  it('! the public key instead of the secret key', async () => {
    const r = await runCli(['decrypt', '-i', DEMO_PUBLIC_KEY, 'good', '-o', 'out-pub'], { cwd: tmp.dir, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is a public key, not a secret key');
    expect(r.stderr).toContain('sealdrop: hint: use the secret half');
  });

  it('! usage mistakes: no -i, no inbox (no HOME) and no -o, not a bundle folder', async () => {
    const noKey = await runCli(['decrypt', 'good', '-o', 'x'], { cwd: tmp.dir, env });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('sealdrop: error: decrypt: missing -i KEY.sec.asc');
    const noOut = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, 'good'], { cwd: tmp.dir, env });
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toBe('sealdrop: error: no inbox folder: HOME is not set\nsealdrop: hint: give --inbox DIR or set SEALDROP_INBOX\n');
    const notBundle = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, '.', '-o', 'x'], { cwd: tmp.dir, env });
    expect(notBundle.code).toBe(1);
    expect(notBundle.stderr).toContain('is not a bundle folder: it has no bundle.json');
    expect(notBundle.stderr).toContain('sealdrop: hint: give the folder written by "sealdrop pull -o DIR"');
  });
});

describe('sealdrop decrypt: damaged and hostile submissions', () => {
  const cases: { name: string; entry: BundleEntry; status: RegExp; error: RegExp; hint: RegExp }[] = [];
  const good = { id: randomId(), handle: 'calm-heron' };
  let stdout = '';
  let stderr = '';
  let code: number | null = null;
  let treeBefore: string[] = [];

  /** A hostile envelope, encrypted exactly as a page would encrypt it. */
  const hostile = async (entries: RawEntry[]) => encryptToKeys(rawEnvelope(entries), [demoKey]);
  const add = (name: string, ciphertext: Uint8Array, status: RegExp, error: RegExp, hint: RegExp, extra: Partial<BundleEntry> = {}) => {
    cases.push({ name, entry: { id: randomId(), handle: 'sly-fox', ciphertext, ...extra }, status, error, hint });
  };
  const NOT_SEALDROP = /not made by a Sealdrop page/;
  const HOSTILE_NAME = 'a\u009b2J\u009b31m\u009d52;c;cm0gLXJmIH4=\u009c\u202etxt.exe\u001b]0;x\u0007';
  const ESCAPED_NAME = /a\\u009b2J\\u009b31m\\u009d52;c;cm0gLXJmIH4=\\u009c\\u202etxt\.exe\\u001b\]0;x\\u0007/;
  const TAMPERED = /the ciphertext was altered/;

  beforeAll(async () => {
    const big = new Uint8Array(200_000).map((_, i) => (i * 13) & 0xff);
    const intact = await makeSubmission({ language: 'en', message: 'intact', files: [{ name: 'big.bin', type: 'application/octet-stream', bytes: big, stripped: false }] });

    // Tampered: one byte in the middle of the file data; the envelope still parses, only the MDC fails.
    const tampered = intact.slice();
    tampered[Math.floor(tampered.length / 2)]! ^= 0x01;
    add('tampered ciphertext', tampered, /FAILED integrity check failed$/, /the integrity check failed: the ciphertext was modified/, TAMPERED);

    // Tampered where the integrity check itself lives: the last byte (inside the encrypted MDC packet).
    const tamperedEnd = intact.slice();
    tamperedEnd[tamperedEnd.length - 1]! ^= 0x80;
    add('tampered MDC', tamperedEnd, /FAILED integrity check failed$/, /the integrity check failed/, TAMPERED);

    // Truncated: a copy that stopped early, bundle.json still says the full size.
    add('truncated file', intact.subarray(0, intact.length - 5000), /FAILED truncated$/, /the ciphertext is truncated: \d+ of \d+ bytes/, /copy or pull the bundle again/, { size: intact.length });
    // Truncated consistently (bundle.json agrees): only OpenPGP can tell.
    add('truncated message', intact.subarray(0, intact.length - 5000), /FAILED truncated$/, /the ciphertext ends early: it is truncated/, /copy or pull the bundle again/);
    // The bytes are intact but are not the ones bundle.json vouches for.
    add('one byte short', intact.subarray(0, intact.length - 1), /FAILED (truncated|integrity check failed)$/, /truncated|integrity check failed/, /nothing from it was kept/);
    add('checksum mismatch', intact, /FAILED checksum mismatch$/, /does not match the SHA-256 in bundle\.json/, TAMPERED, { sha256: '0'.repeat(64) });
    add('not OpenPGP', new TextEncoder().encode('GIF89a not a message at all'), /FAILED (not OpenPGP|damaged)$/, /not an OpenPGP message|damaged/, /./);

    // Hostile file names (the page's builder would have sanitised them: these are hand-made).
    const named = (name: string, header: string | { name: string; prefix: string } = { name, prefix: 'files' }) => hostile([
      { path: 'manifest.json', data: manifestText('x', [{ name, size: 4 }]) },
      { path: 'message.txt', data: 'x' },
      { path: header, data: 'root' },
    ]);
    add('../../etc/passwd', await named('../../etc/passwd'), /FAILED invalid envelope \(unsafe_name\)$/, /breaks the protocol: expected a safe file name/, NOT_SEALDROP);
    add('path climbing in the tar header only', await named('passwd', { name: '../../../etc/passwd', prefix: 'files' }), /FAILED invalid envelope \(unsafe_path\)$/, /unsafe|relative path/, NOT_SEALDROP);
    add('absolute path', await named('passwd', '/etc/passwd'), /FAILED invalid envelope \(unsafe_path\)$/, /relative path/, NOT_SEALDROP);
    add('CON', await named('CON'), /FAILED invalid envelope \(unsafe_name\)$/, /expected a safe file name, got "CON"/, NOT_SEALDROP);
    add('a 10,000-character name', await named('a'.repeat(10_000), { name: 'a'.repeat(100), prefix: 'files' }), /FAILED invalid envelope \(unsafe_name\)$/, /expected a safe file name, got "a{80}"…$/, NOT_SEALDROP);
    // Terminal controls in names: CSI and OSC as C1 characters (a UTF-8 terminal acts on U+009B as on
    // ESC [), OSC 52 (write the clipboard), a right-to-left override, ESC and BEL.
    add('C1 controls in the manifest\'s name', await named(HOSTILE_NAME), /FAILED invalid envelope \(unsafe_name\)$/, ESCAPED_NAME, NOT_SEALDROP);
    add('C1 controls in the tar header\'s path', await named('ok.txt', { name: HOSTILE_NAME, prefix: 'files' }), /FAILED invalid envelope \((wrong_order|unexpected_entry)\)$/, ESCAPED_NAME, NOT_SEALDROP);
    add('.bashrc', await named('.bashrc'), /FAILED invalid envelope \(unsafe_name\)$/, /expected a safe file name, got "\.bashrc"/, NOT_SEALDROP);
    add('duplicate names', await hostile([
      { path: 'manifest.json', data: manifestText('x', [{ name: 'a.txt', size: 1 }, { name: 'a.txt', size: 1 }]) },
      { path: 'message.txt', data: 'x' },
      { path: { name: 'a.txt', prefix: 'files' }, data: '1' },
      { path: { name: 'a.txt', prefix: 'files' }, data: '2' },
    ]), /FAILED invalid envelope \(duplicate_name\)$/, /unique file names/, NOT_SEALDROP);
    add('names equal but for case', await hostile([
      { path: 'manifest.json', data: manifestText('x', [{ name: 'Report.txt', size: 1 }, { name: 'report.txt', size: 1 }]) },
      { path: 'message.txt', data: 'x' },
      { path: { name: 'Report.txt', prefix: 'files' }, data: '1' },
      { path: { name: 'report.txt', prefix: 'files' }, data: '2' },
    ]), /FAILED invalid envelope \(duplicate_name\)$/, /unique file names/, NOT_SEALDROP);
    add('a symbolic link entry', await hostile([
      { path: 'manifest.json', data: manifestText('x', [{ name: 'link', size: 0 }]) },
      { path: 'message.txt', data: 'x' },
      { path: { name: 'link', prefix: 'files' }, data: '', typeflag: '2' },
    ]), /FAILED invalid envelope \(not_regular_file\)$/, /got a symbolic link/, NOT_SEALDROP);
    add('an entry the manifest does not list', await hostile([
      { path: 'manifest.json', data: manifestText('x', []) },
      { path: 'message.txt', data: 'x' },
      { path: { name: 'extra.sh', prefix: 'files' }, data: 'rm -rf ~' },
    ]), /FAILED invalid envelope \(unexpected_entry\)$/, /expected the end marker/, NOT_SEALDROP);
    const padded = rawEnvelope([
      { path: 'manifest.json', data: manifestText('x', [{ name: 'ok.txt', size: 5000 }]) },
      { path: 'message.txt', data: 'x' },
      { path: { name: 'ok.txt', prefix: 'files' }, data: new Uint8Array(5000).fill(65) },
    ]);
    padded[padded.length - 1] = 1; // a byte hidden in the padding, after a file was already written
    add('data hidden in the padding', await encryptToKeys(padded, [demoKey]), /FAILED invalid envelope \(non_zero_padding\)$/, /only zeros after the last entry/, NOT_SEALDROP);
    add('message.txt not UTF-8', await hostile([
      { path: 'manifest.json', data: manifestText('xx', []) },
      { path: 'message.txt', data: new Uint8Array([0xc3, 0x28]) },
    ]), /FAILED invalid envelope \(bad_message\)$/, /valid UTF-8/, NOT_SEALDROP);

    // Tips OpenPGP.js never finished (test/cli/openpgp-stall.test.ts): a packet inside the
    // encryption it stopped on, and a session key other than the SEIPD's, whose garbage begins with
    // the header of such a packet (a SED). They ended after the watch's 10 s as 'stalled'; now each is
    // refused at that header, as no tip holds one; the tips after them are decrypted as ever.
    const stalling = await stallingCiphertexts(demoKey);
    add('a SEIPD inside the encryption', stalling.innerSeipd, /FAILED hostile packet$/, /a packet of tag 18 \(SEIPD\) inside the encryption, which no tip holds/, NOT_SEALDROP);
    add('a session key that opens garbage', stalling.wrongSessionKey, /FAILED hostile packet$/, /a packet of tag 9 \(SED\) inside the encryption, which no tip holds/, NOT_SEALDROP);

    // A compression bomb: a valid-looking envelope declaring a 256 MiB file of zeros, zlib-compressed
    // by the sender to ~260 KB. The manifest alone would allow it; the ciphertext size does not.
    add('compression bomb', await compressionBomb(256 * 1024 * 1024), /FAILED compression bomb$/, /inflates past|grows past/, /decompression bomb/);

    // Same source, same day, an id starting with the same 8 characters: it must not pass for
    // "already decrypted" when the first one has just been written.
    cases.push({
      name: 'id prefix collision',
      entry: { id: good.id.slice(0, 8) + randomId().slice(8), handle: good.handle, ciphertext: await makeSubmission({ language: 'en', message: 'a second tip', files: [] }) },
      status: /FAILED folder name taken$/,
      error: /was just written for submission/,
      hint: /another OUT_DIR/,
    });

    const entries = [
      { ...good, ciphertext: await makeSubmission({ language: 'en', message: 'the one good tip', files: [] }) },
      ...cases.map((c) => c.entry),
    ];
    await writeBundle(join(tmp.dir, 'bad'), entries);
    await writeFile(join(tmp.dir, 'canary'), 'untouched');
    treeBefore = await listTree(tmp.dir);
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, '../bad', '-o', 'out'], { cwd: join(tmp.dir, 'bad'), env });
    ({ stdout, stderr, code } = r);
  }, 300_000);

  it('decrypts the good submission and fails the command (exit 1)', async () => {
    expect(code).toBe(1);
    expect(rows(stdout, good.id)[0]).toMatch(/OK$/);
    expect(stderr).toMatch(new RegExp(`^sealdrop: error: ${cases.length} of ${cases.length + 1} submissions could not be decrypted$`, 'm'));
    expect(await readFile(join(tmp.dir, 'bad/out', good.handle, `2026-11-27_${good.id.slice(0, 8)}`, 'message.txt'), 'utf8')).toBe('the one good tip');
  });

  it('reports each failure with a reason in the summary, an error and a hint', () => {
    for (const c of cases) {
      const id8 = c.entry.id.slice(0, 8);
      expect(rows(stdout, c.entry.id).some((l) => c.status.test(l)), `${c.name}: ${c.status} in\n${stdout}`).toBe(true);
      const lines = stderr.split('\n');
      const at = lines.findIndex((l) => l.startsWith(`sealdrop: error: submission ${id8} from ${c.entry.handle}: `));
      expect(at, `${c.name}: error line in\n${stderr}`).toBeGreaterThanOrEqual(0);
      expect(lines[at], c.name).toMatch(c.error);
      expect(lines[at + 1], c.name).toMatch(/^sealdrop: hint: /);
      expect(lines[at + 1], c.name).toMatch(c.hint);
    }
  });

  it('prints no terminal control from a hostile name: every line reaches the terminal escaped', () => {
    expect(stderr).toMatch(ESCAPED_NAME);
    const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
    expect(stderr).not.toMatch(CONTROLS);
    expect(stdout).not.toMatch(CONTROLS);
  });

  it('keeps nothing from a failed submission, no staging folder, nothing outside OUT_DIR', async () => {
    const out = join(tmp.dir, 'bad/out');
    expect(await listTree(out)).toEqual([
      `${good.handle}/`,
      `${good.handle}/2026-11-27_${good.id.slice(0, 8)}/`,
      `${good.handle}/2026-11-27_${good.id.slice(0, 8)}/manifest.json`,
      `${good.handle}/2026-11-27_${good.id.slice(0, 8)}/message.txt`,
      `${good.handle}/2026-11-27_${good.id.slice(0, 8)}/signature.json`,
    ]);
    const after = (await listTree(tmp.dir)).filter((p) => !p.startsWith('bad/out/'));
    expect(after).toEqual(treeBefore);
    expect(await readFile(join(tmp.dir, 'canary'), 'utf8')).toBe('untouched');
  });
});

describe('sealdrop decrypt: other key kinds', () => {
  it('decrypts a submission to a v6 key made by "sealdrop keygen --v6" (SEIPDv2, streamed)', async () => {
    const made = await runCli(['keygen', '--v6', '-o', 'v6'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'six sided dice' } });
    expect(made.code).toBe(0);
    const key = await openpgp.readKey({ armoredKey: await readFile(join(tmp.dir, 'v6.pub.asc'), 'utf8') });
    const id = randomId();
    const bytes = new Uint8Array(2_000_000).map((_, i) => i % 251);
    const envelope = await buildEnvelope({ language: 'km', message: 'សួស្តី', files: [{ name: 'data.bin', type: 'application/octet-stream', bytes, stripped: false }] });
    await writeBundle(join(tmp.dir, 'v6bundle'), [{ id, handle: 'swift-owl', ciphertext: await encryptToKeys(envelope, [key]) }]);
    const r = await runCli(['decrypt', '-i', 'v6.sec.asc', 'v6bundle', '-o', 'v6out'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'six sided dice' } });
    expect(r.stderr).toContain('decrypted 1 submission');
    expect(r.code).toBe(0);
    const dir = join(tmp.dir, 'v6out/swift-owl', `2026-11-27_${id.slice(0, 8)}`);
    expect(await readFile(join(dir, 'message.txt'), 'utf8')).toBe('សួស្តី');
    expect(new Uint8Array(await readFile(join(dir, 'files/data.bin')))).toEqual(bytes);

    // Tampered SEIPDv2 (AEAD): a chunk's tag fails; nothing kept.
    const small = await encryptToKeys(await buildEnvelope({ language: 'en', message: 'v6', files: [{ name: 'x.bin', type: 'application/octet-stream', bytes: new Uint8Array(200_000).fill(9), stripped: false }] }), [key]);
    small[Math.floor(small.length / 2)]! ^= 0x01;
    const tamperedId = randomId();
    await writeBundle(join(tmp.dir, 'v6tampered'), [{ id: tamperedId, handle: 'swift-owl', ciphertext: small }]);
    const t = await runCli(['decrypt', '-i', 'v6.sec.asc', 'v6tampered', '-o', 'v6out'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'six sided dice' } });
    expect(t.code).toBe(1);
    expect(row(t.stdout, tamperedId)).toMatch(/FAILED integrity check failed$/);
    expect(t.stderr).toMatch(/^sealdrop: hint: nothing from it was kept/m);
    expect(await listTree(join(tmp.dir, 'v6out'))).toEqual([
      'swift-owl/', `swift-owl/2026-11-27_${id.slice(0, 8)}/`, `swift-owl/2026-11-27_${id.slice(0, 8)}/files/`,
      `swift-owl/2026-11-27_${id.slice(0, 8)}/files/data.bin`, `swift-owl/2026-11-27_${id.slice(0, 8)}/manifest.json`,
      `swift-owl/2026-11-27_${id.slice(0, 8)}/message.txt`, `swift-owl/2026-11-27_${id.slice(0, 8)}/signature.json`,
    ]);
  });
});

/** Zlib-compressed OpenPGP message whose plaintext is a tar declaring `size` bytes of zeros. */
async function compressionBomb(size: number): Promise<Uint8Array> {
  const encoder = new TextEncoder();
  const manifest = encoder.encode(manifestText('boom', [{ name: 'zeros.bin', size }]));
  const headParts = [
    tarHeader('manifest.json', manifest.length), pad(manifest),
    tarHeader('message.txt', 4), pad(encoder.encode('boom')),
    tarHeader({ name: 'zeros.bin', prefix: 'files' }, size),
  ];
  let left = size;
  const zeros = new Uint8Array(1 << 20);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of headParts) controller.enqueue(part);
    },
    pull(controller) {
      if (left === 0) return controller.close();
      const n = Math.min(left, zeros.length);
      left -= n;
      controller.enqueue(zeros.subarray(0, n));
    },
  });
  const encrypted = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: stream, format: 'binary' }),
    encryptionKeys: demoKey,
    format: 'binary',
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib },
  });
  const chunks: Uint8Array[] = [];
  for await (const chunk of encrypted as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function pad(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / 512) * 512);
  out.set(bytes);
  return out;
}
