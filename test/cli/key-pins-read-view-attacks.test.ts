/**
 * A tampered server against the read view (issue 10, attacker's chair after the signed-tips merge):
 * `sealdrop decrypt` says on stderr that an unsigned tip is "only the server's word" and
 * quarantines a badly signed one (QUARANTINE.txt), but both are still filed in the pinned
 * source's conversation, and `sealdrop read` shows every tip of a conversation alike: the inbox
 * index (InboxTip) and the view's JSON carry no signature status, read.js prints none. The editor
 * who reads in the view sees the server's "It is me again…" as the pinned source's, and answers it
 * from the reply box (to the source's real key: the reply's secrecy holds, the attribution does not).
 *
 * Fails on main (w4 signed tips merged): the conversation's tips have no `signature` field.
 * Fix: decrypt records the attribution in the inbox index (signed fingerprint / unsigned / bad /
 * quarantined, from the verified result, never bundle data), the view's JSON carries it, read.js
 * marks every tip not signed by the handle's pinned key ("UNSIGNED: only the server's word",
 * "QUARANTINED: not this source's"), and `sealdrop inbox`-style listings count them apart.
 */
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvelopeInput } from '../../protocol/index.ts';
import { startReadServer, type ReadServer } from '../../cli/read-server.ts';
import { makeSourceKeys, makeSubmission, randomId } from './fixtures.ts';
import { DEMO_PASSPHRASE, DEMO_SECRET_KEY, exists, makeTempDir, runCli, writeBundle } from './helpers.ts';

const env = { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE };
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let server: ReadServer | undefined;
const ids = { real: randomId(), forged: randomId(), wrongSigner: randomId() };

async function tip(id: string, handle: string, message: string, names: string, signer?: openpgp.PrivateKey) {
  const input: EnvelopeInput = { language: 'en', message, files: [], sourceKeyFingerprint: names };
  return { id, handle, ciphertext: await makeSubmission(input, undefined, signer) };
}
const decrypt = (bundle: string) => runCli(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', bundle], { cwd: tmp.dir, env });

beforeAll(async () => {
  tmp = await makeTempDir();
  const victim = await makeSourceKeys('v'.repeat(64));
  const attacker = await makeSourceKeys('a'.repeat(64));
  await writeBundle(join(tmp.dir, 'b1'), [await tip(ids.real, 'quiet-otter', 'the real first tip', victim.fingerprint, victim.signingKey)], [
    { handle: 'quiet-otter', publicKey: victim.publicKey },
  ]);
  const r1 = await decrypt('b1');
  expect(r1.code, r1.stderr).toBe(0);
  expect(await exists(join(tmp.dir, 'inbox', 'keys', 'quiet-otter.json'))).toBe(true);
  // the server alone: an unsigned tip naming the victim's public key, and one signed by its own key
  await writeBundle(join(tmp.dir, 'b2'), [
    await tip(ids.forged, 'quiet-otter', 'It is me again. Send the name of the reporter who will meet me.', victim.fingerprint),
    await tip(ids.wrongSigner, 'quiet-otter', 'Me again, new phone.', attacker.fingerprint, attacker.signingKey),
  ], [{ handle: 'quiet-otter', publicKey: victim.publicKey }]);
  await decrypt('b2');
  server = await startReadServer({ inbox: join(tmp.dir, 'inbox'), port: 0 });
});
afterAll(async () => {
  await server?.close();
  await tmp.cleanup();
});

describe('a tampered server against the read view', () => {
  it('! the view tells the pinned source\'s signed tip from the server\'s unsigned and quarantined ones', async () => {
    const conversation = (await (await fetch(`${server!.url}api/sources/quiet-otter`)).json()) as { tips: ({ id: string } & Record<string, unknown>)[] };
    const byId = (id: string) => conversation.tips.find((t) => t.id === id);
    // all three are filed in quiet-otter's conversation
    expect(byId(ids.real) && byId(ids.forged) && byId(ids.wrongSigner)).toBeTruthy();
    const { id: _a, read: _ra, ...real } = byId(ids.real)!;
    const { id: _b, read: _rb, ...forged } = byId(ids.forged)!;
    const { id: _c, read: _rc, ...wrong } = byId(ids.wrongSigner)!;
    // on main: the three differ only by day/size/message; nothing says which one is the source's
    const attribution = (t: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(t).filter(([k]) => !['day', 'messageBytes', 'message', 'language', 'files'].includes(k))));
    expect(attribution(forged)).not.toBe(attribution(real));
    expect(attribution(wrong)).not.toBe(attribution(real));
    // what decrypt proved, from the verified signature; and the list counts the source's own apart
    expect(real.signature).toEqual({ status: 'signed', fingerprint: expect.stringMatching(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/) });
    expect(forged.signature).toEqual({ status: 'unsigned' });
    expect(wrong.signature).toEqual({ status: 'quarantined' });
    const { sources } = (await (await fetch(`${server!.url}api/sources`)).json()) as { sources: { handle: string; tips: number; verified: number }[] };
    expect(sources.find((s) => s.handle === 'quiet-otter')).toMatchObject({ tips: 3, verified: 1 });
  });
});

/**
 * One key, one handle, bypassed when the second handle is already pinned: the server replays the
 * victim's genuine signed tip (same bytes, new id) under the attacker's own pinned handle, with the
 * victim's key as that handle's bundle key. tip-attribution's pinSigned looks at the handle's pin
 * first, so the key index (which names quiet-otter) is never read: decrypt records a "dispute"
 * under bold-crane, its error does not say the key is quiet-otter's, and `reply --tip` on the
 * replayed tip writes a reply under bold-crane to quiet-otter's key (exit 0): one source counted
 * under two handles, and the answer filed in the server's conversation, where the victim never sees it.
 *
 * Fails on main: no mention of quiet-otter, and the reply is written. Fix: in pinSigned read the
 * key index before the pin (a key pinned under another handle is a KeyHandleConflictError, never a
 * dispute), and signerOfTip refuses a key whose index names another handle.
 */
describe('a tampered server against one key, one handle', () => {
  it('! a victim\'s signed tip replayed under the attacker\'s pinned handle is named as the victim\'s, and not answered there', async () => {
    const t = await makeTempDir();
    try {
      const run = (args: string[]) => runCli(args, { cwd: t.dir, env });
      const victim = await makeSourceKeys('v'.repeat(64));
      const attacker = await makeSourceKeys('a'.repeat(64));
      const real = await tip(randomId(), 'quiet-otter', 'the victim\'s tip', victim.fingerprint, victim.signingKey);
      await writeBundle(join(t.dir, 'b1'), [real, await tip(randomId(), 'bold-crane', 'the attacker\'s own tip', attacker.fingerprint, attacker.signingKey)], [
        { handle: 'quiet-otter', publicKey: victim.publicKey },
        { handle: 'bold-crane', publicKey: attacker.publicKey },
      ]);
      const r1 = await run(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', 'b1']);
      expect(r1.code, r1.stderr).toBe(0);
      const replayed = randomId();
      await writeBundle(join(t.dir, 'b2'), [{ id: replayed, handle: 'bold-crane', ciphertext: real.ciphertext }], [{ handle: 'bold-crane', publicKey: victim.publicKey }]);
      const r2 = await run(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', 'b2']);
      expect(r2.code).toBe(1);
      // the editor must be told the key is quiet-otter's: the same source, not a second one
      expect(r2.stderr).toMatch(/quiet-otter/);
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(t.dir, 'reply.txt'), 'hello');
      const r3 = await run(['reply', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', '--tip', join('inbox', 'sources', 'bold-crane', 'tips', replayed), 'reply.txt']);
      expect(r3.code, r3.stdout).not.toBe(0);
    } finally {
      await t.cleanup();
    }
  });
});

/**
 * Replay under the victim's own handle: the server files the victim's genuine signed tip again
 * (same ciphertext, new id, a later day). The signature is dated SOURCE_KEY_DATE and the envelope
 * holds no id or date, so the copy verifies as the victim's: decrypt exits 0, says nothing, and the
 * conversation shows the same words twice, the second as sent on the server's chosen day ("meet
 * me at the station tomorrow", again). Weak (the words are the source's), but a count and a date
 * the editor cannot trust. Fails on main: no word of the earlier copy.
 * Fix: decrypt keeps the SHA-256 of each verified signature packet (or of the signed envelope) per
 * key in the inbox and warns, naming the first tip, when a later tip carries the same one.
 */
describe('a tampered server replaying a signed tip', () => {
  it('! a signed tip filed again under its own handle is named as a copy of the first', async () => {
    const t = await makeTempDir();
    try {
      const run = (args: string[]) => runCli(args, { cwd: t.dir, env });
      const victim = await makeSourceKeys('v'.repeat(64));
      const real = await tip(randomId(), 'quiet-otter', 'meet me at the station tomorrow', victim.fingerprint, victim.signingKey);
      await writeBundle(join(t.dir, 'b1'), [real], [{ handle: 'quiet-otter', publicKey: victim.publicKey }]);
      expect((await run(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', 'b1'])).code).toBe(0);
      const copy = randomId();
      await writeBundle(join(t.dir, 'b2'), [{ id: copy, handle: 'quiet-otter', ciphertext: real.ciphertext }], [{ handle: 'quiet-otter', publicKey: victim.publicKey }]);
      const r = await run(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', 'b2']);
      expect(r.stderr).toContain(real.id.slice(0, 8));
      expect(r.stderr).toMatch(/REPLAY of tip/);
      expect(r.stdout).toMatch(/REPLAY/);
      // the index marks the copy, and the list counts the source's tip once
      const { readFile } = await import('node:fs/promises');
      const index = JSON.parse(await readFile(join(t.dir, 'inbox', 'sources', 'quiet-otter', 'index.json'), 'utf8')) as { tips: { id: string; signature?: { replayOf?: string } }[] };
      expect(index.tips.find((x) => x.id === real.id)!.signature!.replayOf).toBeUndefined();
      expect(index.tips.find((x) => x.id === copy)!.signature!.replayOf).toBe(real.id);
      const list = JSON.parse(await readFile(join(t.dir, 'inbox', 'sources.json'), 'utf8')) as { sources: { tips: number; verified: number; replays: number }[] };
      expect(list.sources[0]).toMatchObject({ tips: 2, verified: 1, replays: 1 });
      // a repeated decrypt of the first bundle (same id) is no replay
      const again = await run(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', 'b1']);
      expect(again.stderr).not.toMatch(/REPLAY/);
    } finally {
      await t.cleanup();
    }
  });
});
