/**
 * The README, followed word for word on a fresh clone: "A trial with your own key" (keygen, the
 * trial server started with that key, a token made while it runs, list), then the "For editors"
 * block against that server (list, pull, decrypt, read, reply, push), and the source reads the
 * reply with its codename. The commands are read from the README's ```sh blocks, so a README that
 * changes into something that does not work fails here.
 *
 * What the test changes in the commands, and only this (each must be found, or the test fails):
 * - the ports 8080 and 8081 become free ones (the machine may run something there);
 * - `SEALDROP_TOKEN=…` becomes `SEALDROP_TOKEN=$(cat alice.token)`, the token file the trial's
 *   admin line wrote;
 * - `--server http://editor.onion --socks5 127.0.0.1:9050` becomes `--server http://127.0.0.1:8081`,
 *   as the editor section says for the trial server (no Tor on this machine);
 * - HANDLE becomes the handle the pulled bundle names.
 * `sealdrop` is on the PATH as `npm link` would put it; passphrases come from SEALDROP_PASSPHRASE
 * instead of the terminal; the editor's `reply.txt` is written by the test. The editor block's
 * `keygen` line is the key the trial already made (the test checks that they are the same).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptKey, readKey, readPrivateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSourceSecrets } from '../../protocol/kdf.ts';
import { openReply } from '../../protocol/replies.ts';
import { lookUp, submitTip } from '../../server/editor/test-server.ts';
import { ROOT } from './dockerfile.ts';
import { runProgram, watchProgram, type Watched } from './process.ts';

const PASSPHRASE = 'a trial passphrase of some length';
const MESSAGE = 'The tender files moved on Tuesday.\n화요일에 서류가 옮겨졌습니다.\n';
const REPLY = 'Thank you. Who signed the transfer?\n';

/** The ```sh blocks of the README section whose heading is `heading`, up to the next heading of its level or higher. */
function shBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`README.md has no section "${heading}"`);
  const level = heading.match(/^#+/)![0].length;
  const rest = readme.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  const section = next === -1 ? rest : rest.slice(0, next);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The block's commands, one per line (a line ending in `\` goes on). */
function commands(block: string): string[] {
  return block.replace(/\\\n\s*/g, '').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** `text` with `from` replaced by `to`; fails when `from` is not there (the README changed). */
function substitute(text: string, from: string | RegExp, to: string): string {
  const found = typeof from === 'string' ? text.includes(from) : from.test(text);
  if (!found) throw new Error(`expected the README's command to contain ${String(from)}: ${text}`);
  return typeof from === 'string' ? text.split(from).join(to) : text.replace(new RegExp(from.source, from.flags.includes('g') ? from.flags : `${from.flags}g`), to);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let work: string;
let clone: string;
let env: NodeJS.ProcessEnv;
let sourcePort: number;
let editorPort: number;
let readme: string;
const background: Watched[] = [];

/** One README line, run by bash in the clone as the editor types it. */
async function run(line: string) {
  const r = await runProgram('bash', ['-c', line], { cwd: clone, env });
  if (r.code !== 0) throw new Error(`the README's line failed (exit ${r.code}): ${line}\n${r.stdout}\n${r.stderr}`);
  return r;
}
/** One README line that keeps running (a server): started in its own process group, stopped at the end. */
function start(line: string): Watched {
  const watched = watchProgram('bash', ['-c', line], { cwd: clone, env, detached: true });
  background.push(watched);
  return watched;
}
async function stop(watched: Watched, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (watched.child.exitCode === null && watched.child.signalCode === null) process.kill(-watched.child.pid!, signal);
  return watched.exited;
}
const ports = (line: string) => line.replaceAll('8080', String(sourcePort)).replaceAll('8081', String(editorPort));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sealdrop-readme-editor-'));
  clone = join(work, 'clone');
  execFileSync('git', ['clone', '--quiet', ROOT, clone]);
  // node_modules as `npm ci` would make it, without the network: hard links, else a symbolic link
  if (spawnSync('cp', ['-al', join(ROOT, 'node_modules'), join(clone, 'node_modules')]).status !== 0) {
    rmSync(join(clone, 'node_modules'), { recursive: true, force: true });
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  }
  // `npm link` puts `sealdrop` on the PATH; this is the same program without touching npm's global prefix
  const bin = join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'sealdrop'), `#!/bin/sh\nexec node ${JSON.stringify(join(clone, 'cli/bin.js'))} "$@"\n`);
  chmodSync(join(bin, 'sealdrop'), 0o755);
  const home = join(work, 'home');
  mkdirSync(home, { mode: 0o700 });
  env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: home, SEALDROP_PASSPHRASE: PASSPHRASE, npm_config_update_notifier: 'false' };
  [sourcePort, editorPort] = [await freePort(), await freePort()];
  readme = readFileSync(join(clone, 'README.md'), 'utf8');
});

afterAll(async () => {
  for (const watched of background) await stop(watched, 'SIGTERM').catch(() => undefined);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the README, followed by an editor on a fresh clone', () => {
  it('trial server with a keygen key, a token, then pull, decrypt, read, reply, push: the source reads the reply', { timeout: 240_000 }, async () => {
    // --- "A trial with your own key" ---
    // its first two ```sh blocks: key and server, then token and list (the third runs the tests)
    const [startBlock, tokenBlock] = shBlocks(readme, '### A trial with your own key');
    const [keygen, serve, ...moreStart] = commands(startBlock!);
    expect(moreStart).toEqual([]);
    const made = await run(keygen!);
    const fingerprint = made.stdout.match(/(?:[0-9A-F]{4} ){9}[0-9A-F]{4}/)?.[0];
    expect(fingerprint, made.stdout).toBeDefined();

    const server = start(ports(serve!));
    const startLine = await server.waitFor(/^sealdrop: source pages on (\S+), editor API on (\S+), newsroom key ([0-9A-F ]+?)(?: \(DEMO\))? \((.*)\)$/m, 'the start line', 120_000);
    expect(startLine[3], 'the start line names the key keygen made').toBe(fingerprint);
    expect(startLine[0]).not.toContain('DEMO');
    expect(new URL(startLine[1]!).port).toBe(String(sourcePort));
    expect(new URL(startLine[2]!).port).toBe(String(editorPort));

    const [tokenAdd, trialList, ...moreToken] = commands(tokenBlock!);
    expect(moreToken).toEqual([]);
    const added = await run(ports(tokenAdd!));
    expect(added.stdout, '--out writes the token to the file, nothing to the terminal').toBe('');
    expect(readFileSync(join(clone, 'alice.token'), 'utf8')).toMatch(/\S{20,}/);
    const listed = await run(ports(trialList!));
    expect(listed.stderr).not.toMatch(/error/);

    // a source sends a tip through the source pages (what its browser does)
    const tip = await submitTip(`http://127.0.0.1:${sourcePort}`, { message: MESSAGE });

    // --- "For editors" ---
    const [editorBlock] = shBlocks(readme, '## For editors');
    const lines = commands(editorBlock!).map((line) => {
      let l = line;
      if (l.includes('SEALDROP_TOKEN=')) l = substitute(l, 'SEALDROP_TOKEN=…', 'SEALDROP_TOKEN=$(cat alice.token)');
      if (l.includes('--server')) l = substitute(l, '--server http://editor.onion --socks5 127.0.0.1:9050', '--server http://127.0.0.1:8081');
      return ports(l);
    });
    const verbs = lines.map((l) => l.match(/\bsealdrop (\w+)/)?.[1]);
    expect(verbs).toEqual(['keygen', 'list', 'pull', 'decrypt', 'read', 'reply', 'push']);
    const line = (verb: string) => lines[verbs.indexOf(verb)]!;
    // the editor's key is the one the trial made (the same name, made the same way)
    expect(line('keygen').replace(/\s+#.*$/, '')).toBe(keygen!.replace(/\s+#.*$/, '').replace('node cli/bin.js', 'sealdrop'));

    const waiting = await run(line('list'));
    expect(waiting.stdout).toContain(tip.submissionId.slice(0, 8));
    await run(line('pull'));
    const bundle = JSON.parse(readFileSync(join(clone, 'bundle/bundle.json'), 'utf8')) as { submissions: { id: string; handle: string }[] };
    expect(bundle.submissions.map((s) => s.id)).toEqual([tip.submissionId]);
    const handle = bundle.submissions[0]!.handle;

    const decrypted = await run(line('decrypt'));
    expect(decrypted.stdout).toContain(handle);
    expect(decrypted.stdout).toMatch(/\bOK\b/);
    expect(decrypted.stderr).toMatch(/pinned the key of /);

    // `read` runs until Ctrl-C: its address, the source list, the conversation with the tip's text
    const reading = start(line('read'));
    const address = (await reading.waitFor(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]+\/$/m, 'the read view\'s address'))[0];
    const page = await fetch(address);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const sources = await fetch(`${address}api/sources`);
    expect(sources.status).toBe(200);
    expect(JSON.stringify(await sources.json())).toContain(handle);
    const conversation = await fetch(`${address}api/sources/${handle}`);
    expect(conversation.status).toBe(200);
    expect(JSON.stringify(await conversation.json())).toContain(JSON.stringify(MESSAGE).slice(1, -1));
    expect(await stop(reading, 'SIGINT')).toMatchObject({ code: expect.any(Number) });

    writeFileSync(join(clone, 'reply.txt'), REPLY);
    const replied = await run(substitute(line('reply'), /\bHANDLE\b/, handle));
    expect(replied.stdout).toMatch(new RegExp(`${handle}/[0-9a-f]{32}\\.pgp`));
    const pushed = await run(line('push'));
    expect(pushed.stdout).toMatch(new RegExp(`^sent ${handle}/[0-9a-f]{32}\\.pgp`, 'm'));

    // the source comes back with its codename and reads the reply
    const config = (await (await fetch(`http://127.0.0.1:${sourcePort}/api/v1/config`)).json()) as { instanceSalt: string; newsroomKey: string };
    const { lookupId, keyPassphrase } = deriveSourceSecrets(tip.codename, config.instanceSalt);
    const seen = await lookUp(`http://127.0.0.1:${sourcePort}`, lookupId);
    expect(seen.replies).toHaveLength(1);
    const sourceKey = await decryptKey({ privateKey: await readPrivateKey({ armoredKey: seen.lockedPrivateKey }), passphrase: keyPassphrase });
    const newsroom = await readKey({ armoredKey: readFileSync(join(clone, 'newsroom.pub.asc'), 'utf8') });
    expect(newsroom.getFingerprint().toUpperCase()).toBe(fingerprint!.replaceAll(' ', ''));
    expect(await openReply(seen.replies[0]!.message, sourceKey, newsroom)).toMatchObject({ ok: true, text: REPLY });

    expect(await stop(server, 'SIGTERM')).toBeDefined();
  });
});
