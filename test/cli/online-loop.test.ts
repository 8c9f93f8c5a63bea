/**
 * The editor's whole loop against a running server (both listeners on real sockets): a source
 * submits through the protocol code → `sealdrop pull` → `sealdrop decrypt` → `sealdrop reply` →
 * `sealdrop push` → the source's lookup returns the reply, readable with its codename.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createMessage, decryptKey, generateKey, readKey, readPrivateKey, sign } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSourceSecrets, encryptToKeys, openReply } from '../../protocol/index.ts';
import { startServer, submitTip, lookUp, type RunningServer, type SubmittedTip } from '../../server/editor/test-server.ts';
import { startProxy } from '../../cli/net/test-socks5-proxy.ts';
import { DEMO_PASSPHRASE, DEMO_PUBLIC_KEY, DEMO_SECRET_KEY, exists, listTree, makeTempDir, runCli } from './helpers.ts';

let server: RunningServer;
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let first: SubmittedTip;
let second: SubmittedTip;
let handle: string;

const MESSAGE = 'The ministry moved the tender files on Tuesday.\n화요일에 서류가 옮겨졌습니다.\n';
const MEMO = new TextEncoder().encode('memo: budget line 4.2, see attached\n'.repeat(200));
const REPLY = 'Thank you. Could you tell us who signed the transfer?\n';

beforeAll(async () => {
  server = await startServer();
  tmp = await makeTempDir('sealdrop-online-');
  first = await submitTip(server.sourceUrl, {
    message: MESSAGE,
    files: [{ name: 'memo.txt', type: 'text/plain', bytes: MEMO }],
  });
  // the same source comes back with a second tip
  second = await submitTip(server.sourceUrl, { message: 'One more thing.', codename: first.codename, sourceKeyFingerprint: first.sourceKeyFingerprint! });
});

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

const editorEnv = () => ({ SEALDROP_TOKEN: server.token, SEALDROP_SERVER: server.editorUrl });
/** The source's public key, as the pulled bundle carries it. */
const sourceKey = async () => readKey({ armoredKey: await readFile(join(tmp.dir, 'bundle', 'sources', `${handle}.asc`), 'utf8') });

describe('the editor loop', () => {
  it('pulls the bundle, writes exactly its files, and acknowledges each submission', async () => {
    const r = await runCli(['pull', '-o', 'bundle'], { cwd: tmp.dir, env: editorEnv() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const manifest = JSON.parse(await readFile(join(tmp.dir, 'bundle/bundle.json'), 'utf8')) as {
      submissions: { id: string; handle: string }[];
      sources: { handle: string }[];
    };
    expect(manifest.submissions.map((s) => s.id).sort()).toEqual([first.submissionId, second.submissionId].sort());
    expect(manifest.sources).toHaveLength(1);
    handle = manifest.sources[0]!.handle;
    expect(await listTree(join(tmp.dir, 'bundle'))).toEqual(
      [
        'bundle.json',
        'sources/',
        `sources/${handle}.asc`,
        'submissions/',
        `submissions/${first.submissionId}.pgp`,
        `submissions/${second.submissionId}.pgp`,
      ].sort(),
    );
    expect(r.stdout).toContain(handle);
    expect(r.stdout).toContain(first.submissionId.slice(0, 8));
    expect(r.stdout).toMatch(/2 submissions from 1 source in bundle; 2 marked downloaded on the server/);

    // the source sees both as downloaded
    const seen = await lookUp(server.sourceUrl, first.lookupId);
    expect(seen.submissions.map((s) => s.status)).toEqual(['downloaded', 'downloaded']);
  });

  it('pulls nothing new the second time', async () => {
    const r = await runCli(['pull', '-o', 'bundle-again'], { cwd: tmp.dir, env: editorEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('no new submissions (empty bundle in bundle-again)\n');
  });

  it('decrypts the pulled bundle offline', async () => {
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', 'bundle', '-o', 'tips'], {
      cwd: tmp.dir,
      env: { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE },
    });
    expect(r.code, r.stderr).toBe(0);
    // both tips name the source's key, the one the bundle carries: pinned once
    expect(r.stderr.match(/^sealdrop: pinned the key of /gm)).toHaveLength(1);
    const folders = await readdir(join(tmp.dir, 'tips', handle));
    const firstFolder = folders.find((name) => name.endsWith(`_${first.submissionId.slice(0, 8)}`));
    expect(firstFolder).toMatch(/^\d{4}-\d{2}-\d{2}_[0-9a-f]{8}$/);
    const dir = join(tmp.dir, 'tips', handle, firstFolder!);
    expect(await readFile(join(dir, 'message.txt'), 'utf8')).toBe(MESSAGE);
    expect(new Uint8Array(await readFile(join(dir, 'files', 'memo.txt')))).toEqual(MEMO);
    const secondFolder = folders.find((name) => name.endsWith(`_${second.submissionId.slice(0, 8)}`));
    expect(await readFile(join(tmp.dir, 'tips', handle, secondFolder!, 'message.txt'), 'utf8')).toBe('One more thing.');
  });

  it('writes a reply offline and pushes it; the source reads it with its codename', async () => {
    await writeFile(join(tmp.dir, 'reply.txt'), REPLY);
    const replied = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', '--bundle', 'bundle', '--to', handle, '--outbox', 'outbox', 'reply.txt'], {
      cwd: tmp.dir,
      env: { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE },
    });
    expect(replied.code, replied.stderr).toBe(0);
    const replyFile = replied.stdout.trim();

    const pushed = await runCli(['push', 'outbox'], { cwd: tmp.dir, env: editorEnv() });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toMatch(new RegExp(`^sent ${handle}/[0-9a-f]{32}\\.pgp \\(reply [0-9a-f-]{36}\\)\\n$`));
    expect(await exists(join(tmp.dir, replyFile))).toBe(false);
    expect(await exists(join(tmp.dir, `${replyFile}.sig`))).toBe(false);
    expect((await readdir(join(tmp.dir, 'outbox', 'sent', handle))).sort()).toEqual([basename(replyFile), `${basename(replyFile)}.sig`]);

    // the returning source: codename → lookup id and key passphrase → its replies, decrypted
    const { lookupId, keyPassphrase } = deriveSourceSecrets(first.codename, await instanceSalt());
    const seen = await lookUp(server.sourceUrl, lookupId);
    expect(seen.replies).toHaveLength(1);
    const privateKey = await decryptKey({ privateKey: await readPrivateKey({ armoredKey: seen.lockedPrivateKey }), passphrase: keyPassphrase });
    const newsroom = await readKey({ armoredKey: await readFile(DEMO_PUBLIC_KEY, 'utf8') });
    expect(await openReply(seen.replies[0]!.message, privateKey, newsroom)).toMatchObject({ ok: true, text: REPLY });

    // a second push has nothing left to send
    const again = await runCli(['push', 'outbox'], { cwd: tmp.dir, env: editorEnv() });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(/no replies to send/);
  });

  it('keeps a refused reply in the outbox and says why', async () => {
    // a reply to a source that does not exist on this server
    const sent = join(tmp.dir, 'outbox', 'sent', handle);
    const [name] = (await readdir(sent)).filter((f) => f.endsWith('.pgp'));
    await mkdir(join(tmp.dir, 'outbox', 'gone-source'));
    await writeFile(join(tmp.dir, 'outbox', 'gone-source', name!), await readFile(join(sent, name!)));
    await writeFile(join(tmp.dir, 'outbox', 'gone-source', `${name!}.sig`), await readFile(join(sent, `${name!}.sig`)));
    const r = await runCli(['push', 'outbox'], { cwd: tmp.dir, env: editorEnv() });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`sealdrop: error: gone-source/${name} was refused: the server answered 404`);
    expect(r.stderr).toContain('sealdrop: error: 1 of 1 replies were refused and stay in the outbox');
    expect(await exists(join(tmp.dir, 'outbox', 'gone-source', name!))).toBe(true);
  });

  it('push --desk names the desk that signed: a desk the token lacks is refused and the reply stays, a malformed id is refused before any request', async () => {
    const sent = join(tmp.dir, 'outbox', 'sent', handle);
    const [name] = (await readdir(sent)).filter((f) => f.endsWith('.pgp'));
    await mkdir(join(tmp.dir, 'outbox', handle), { recursive: true });
    const again = join(tmp.dir, 'outbox', handle, `again-${name!}`);
    await writeFile(again, await readFile(join(sent, name!)));
    await writeFile(`${again}.sig`, await readFile(join(sent, `${name!}.sig`)));
    const bad = await runCli(['push', '--desk', 'Workers!', 'outbox'], { cwd: tmp.dir, env: editorEnv() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('sealdrop: error: --desk "Workers!" is not a desk id');
    const other = await runCli(['push', '--desk', 'workers', 'outbox'], { cwd: tmp.dir, env: editorEnv() });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(`sealdrop: error: ${handle}/again-${name!} was refused: the server answered 422: No such desk for this token: newsroom.`);
    expect(await exists(again)).toBe(true);
    // the one desk of an install without desks: the same reply again, answered with the stored one
    // (the reply to a gone source the test before left in the outbox is refused again beside it)
    const mine = await runCli(['push', '--desk', 'newsroom', 'outbox'], { cwd: tmp.dir, env: editorEnv() });
    expect(mine.stdout).toContain(`sent ${handle}/again-${name!}`);
    expect(mine.stderr).not.toContain(`again-${name!}`);
    expect(await exists(again)).toBe(false);
  });

  it('keeps an unsigned reply in the outbox: without its .sig it is not sent, and the server refuses it anyway', async () => {
    await mkdir(join(tmp.dir, 'outbox', handle), { recursive: true });
    const unsigned = join(tmp.dir, 'outbox', handle, 'unsigned.pgp');
    // what `gpg --encrypt` alone makes, or a planted file: encrypted, but not by the newsroom's hand
    await writeFile(unsigned, await encryptToKeys(new TextEncoder().encode('send your name'), [await sourceKey(), await readKey({ armoredKey: await readFile(DEMO_PUBLIC_KEY, 'utf8') })]));
    const r = await runCli(['push', 'outbox'], { cwd: tmp.dir, env: editorEnv() });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`sealdrop: error: ${handle}/unsigned.pgp was not sent: it has no unsigned.pgp.sig beside it`);
    expect(r.stderr).toContain('gpg --detach-sign unsigned.pgp');
    // a .sig by some other key is sent, and refused by the server
    const { privateKey: other } = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'other' }], format: 'object' });
    await writeFile(`${unsigned}.sig`, (await sign({ message: await createMessage({ binary: new Uint8Array(await readFile(unsigned)) }), signingKeys: other, detached: true, format: 'binary' })) as Uint8Array);
    const wrong = await runCli(['push', 'outbox'], { cwd: tmp.dir, env: editorEnv() });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`sealdrop: error: ${handle}/unsigned.pgp was refused: the server answered 422`);
    expect(wrong.stderr).toContain('The signature is not by the newsroom key');
    expect(await exists(unsigned)).toBe(true);
    await rm(unsigned);
    await rm(`${unsigned}.sig`);
  });

  it('never sends a file that is not an encrypted message (a plaintext or signed-only one would carry its text)', async () => {
    await mkdir(join(tmp.dir, 'outbox', handle), { recursive: true });
    const signedOnly = join(tmp.dir, 'outbox', handle, 'signed.pgp');
    // what `gpg --store -a` or a forgotten --encrypt makes: an OpenPGP message whose text is readable
    await writeFile(signedOnly, (await createMessage({ text: 'meet at the usual place' })).armor());
    const r = await runCli(['push', 'outbox'], { cwd: tmp.dir, env: editorEnv() });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`sealdrop: error: ${handle}/signed.pgp was not sent: it is not an encrypted OpenPGP message`);
    expect(r.stderr).toMatch(/sealdrop: hint: encrypt replies with "sealdrop reply"/);
    expect(r.stderr).not.toContain(`${handle}/signed.pgp was refused`);
    expect(await exists(signedOnly)).toBe(true);
    await rm(signedOnly);
  });

  async function instanceSalt(): Promise<string> {
    const response = await fetch(`${server.sourceUrl}/api/v1/config`);
    return ((await response.json()) as { instanceSalt: string }).instanceSalt;
  }
});

describe('through Tor', () => {
  it('pulls and pushes through a SOCKS5 proxy, sending the onion name unresolved', async () => {
    const onion = 'sealdropnewsroomeditorx7q2v4wj3k5m6n7p8r9s2t3u4v5w6x7y8z2ab.onion';
    const editorPort = Number(new URL(server.editorUrl).port);
    const proxy = await startProxy({ route: (host) => (host === onion ? { port: editorPort } : { reply: 0xf0 }) });
    try {
      const third = await submitTip(server.sourceUrl, { message: 'via tor', codename: first.codename, sourceKeyFingerprint: first.sourceKeyFingerprint! });
      const env = { SEALDROP_TOKEN: server.token };
      const socks = ['--server', `http://${onion}`, '--socks5', `127.0.0.1:${proxy.port}`];
      const pulled = await runCli(['pull', ...socks, '-o', 'tor-bundle'], { cwd: tmp.dir, env });
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(await exists(join(tmp.dir, 'tor-bundle', 'submissions', `${third.submissionId}.pgp`))).toBe(true);

      await writeFile(join(tmp.dir, 'tor-reply.txt'), 'over tor');
      const replied = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', '--bundle', 'tor-bundle', '--to', handle, '--outbox', 'tor-outbox', 'tor-reply.txt'], {
        cwd: tmp.dir,
        env: { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE },
      });
      expect(replied.code, replied.stderr).toBe(0);
      const pushed = await runCli(['push', ...socks, 'tor-outbox'], { cwd: tmp.dir, env });
      expect(pushed.code, pushed.stderr).toBe(0);
      expect(pushed.stdout).toMatch(/^sent /);

      // pull (bundle + 1 ack) and push (1 reply): every connection asked for the onion by name
      expect(proxy.seen.length).toBeGreaterThanOrEqual(3);
      for (const request of proxy.seen) expect(request).toMatchObject({ atyp: 0x03, host: onion, port: 80 });

      const unknown = await runCli(['pull', '--server', 'http://unknownunknownunknownunknownunknownunknownunknownunknow.onion', '--socks5', `127.0.0.1:${proxy.port}`, '-o', 'tor-none'], { cwd: tmp.dir, env });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/onion service descriptor can not be found\nsealdrop: hint: is Tor running, and is the onion address right\?/);
    } finally {
      await proxy.close();
    }
  });
});

describe('refusals', () => {
  it('needs SEALDROP_TOKEN and never takes it as a flag', async () => {
    const r = await runCli(['pull', '--server', server.editorUrl, '-o', 'x'], { cwd: tmp.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sealdrop: error: SEALDROP_TOKEN is not set\nsealdrop: hint: ask the server operator/);
    const flag = await runCli(['pull', '--server', server.editorUrl, '--token', server.token, '-o', 'x'], { cwd: tmp.dir });
    expect(flag.code).toBe(2);
    expect(await exists(join(tmp.dir, 'x'))).toBe(false);
  });

  it('reports a wrong or revoked token with a hint, and keeps nothing', async () => {
    const wrong = `sde_${'x'.repeat(43)}`;
    const r = await runCli(['pull', '-o', 'denied'], { cwd: tmp.dir, env: { ...editorEnv(), SEALDROP_TOKEN: wrong } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sealdrop: error: the server answered 401');
    expect(r.stderr).toContain('sealdrop: hint: check SEALDROP_TOKEN');
    expect(r.stderr).not.toContain(wrong);
    expect(await exists(join(tmp.dir, 'denied'))).toBe(false);
    const malformed = await runCli(['pull', '-o', 'denied'], { cwd: tmp.dir, env: { ...editorEnv(), SEALDROP_TOKEN: 'sde_oops' } });
    expect(malformed.stderr).toMatch(/does not look like an editor token/);
    expect(malformed.stderr).not.toContain('sde_oops');
  });

  it('refuses to pull into a folder that is not empty', async () => {
    const r = await runCli(['pull', '-o', 'bundle'], { cwd: tmp.dir, env: editorEnv() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the bundle folder .* is not empty\nsealdrop: hint: pull into a new folder/);
  });

  it('says when nothing listens at --server', async () => {
    const r = await runCli(['push', '--server', 'http://127.0.0.1:1', 'outbox'], { cwd: tmp.dir, env: { SEALDROP_TOKEN: server.token } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sealdrop: error: cannot reach the editor API at http:\/\/127\.0\.0\.1:1/);
    expect(r.stderr).toMatch(/sealdrop: hint: is the server running/);
  });

  it('refuses an onion address without --socks5, and plain http off this machine', async () => {
    const onion = await runCli(['pull', '--server', 'http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion', '-o', 'o'], {
      cwd: tmp.dir,
      env: { SEALDROP_TOKEN: server.token },
    });
    expect(onion.stderr).toMatch(/needs Tor\nsealdrop: hint: add --socks5 127\.0\.0\.1:9050/);
    const clear = await runCli(['pull', '--server', 'http://newsroom.example:8081', '-o', 'o'], { cwd: tmp.dir, env: { SEALDROP_TOKEN: server.token } });
    expect(clear.stderr).toMatch(/refusing to send the editor token over plain http/);
    expect(await exists(join(tmp.dir, 'o'))).toBe(false);
  });
});
