/**
 * A tampered server re-labels a genuine tip (issue 10, third attacker after the signed-tips merge).
 * `sealdrop decrypt` attributes again, with the NEW bundle's source keys, every tip it skips as
 * already in the inbox, and setTipAttribution overwrites the recorded attribution. The server
 * re-sends a source's genuine signed tip (same id, same bytes) with another key for its handle in
 * bundle.json: the skipped tip is "quarantined", QUARANTINE.txt is written into the genuine tip's
 * folder, the inbox index now says 'quarantined', and the read view shows the source's own words as
 * "QUARANTINED — read it as the server's words, do not answer it"; the list's verified count drops
 * to 0. (`sealdrop reply --tip` on it still answers, from signature.json: the two disagree.)
 *
 * Fails on main: the index entry becomes { status: 'quarantined' }.
 * Fix: an attribution once recorded from a verified signature is not recomputed from a later
 * bundle's word (attribute a skipped tip from its signature.json and the pins, not from the new
 * bundle's key), or a changed key for an already-decrypted tip is reported as the bundle's
 * tampering without touching the tip's record.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvelopeInput } from '../../protocol/index.ts';
import { makeSourceKeys, makeSubmission, randomId } from './fixtures.ts';
import { DEMO_PASSPHRASE, DEMO_SECRET_KEY, exists, makeTempDir, runCli, writeBundle } from './helpers.ts';

const env = { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE };
let tmp: Awaited<ReturnType<typeof makeTempDir>>;

async function tip(id: string, handle: string, message: string, names: string, signer?: openpgp.PrivateKey) {
  const input: EnvelopeInput = { language: 'en', message, files: [], sourceKeyFingerprint: names };
  return { id, handle, ciphertext: await makeSubmission(input, undefined, signer) };
}

beforeAll(async () => {
  tmp = await makeTempDir();
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('a tampered server re-sending a decrypted tip with a swapped key', () => {
  it('! does not turn the source\'s verified tip into a quarantined one', async () => {
    const run = (args: string[]) => runCli(args, { cwd: tmp.dir, env });
    const victim = await makeSourceKeys('v'.repeat(64));
    const attacker = await makeSourceKeys('a'.repeat(64));
    const real = await tip(randomId(), 'quiet-otter', 'meet me at the station tomorrow', victim.fingerprint, victim.signingKey);
    await writeBundle(join(tmp.dir, 'b1'), [real], [{ handle: 'quiet-otter', publicKey: victim.publicKey }]);
    const r1 = await run(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', 'b1']);
    expect(r1.code, r1.stderr).toBe(0);
    const indexPath = join(tmp.dir, 'inbox', 'sources', 'quiet-otter', 'index.json');
    const entry = async () => (JSON.parse(await readFile(indexPath, 'utf8')) as { tips: { id: string; signature?: { status: string } }[] }).tips.find((t) => t.id === real.id)!;
    expect((await entry()).signature?.status).toBe('signed');

    // the same submission (id and bytes), the bundle now holding another key for quiet-otter
    await writeBundle(join(tmp.dir, 'b2'), [real], [{ handle: 'quiet-otter', publicKey: attacker.publicKey }]);
    await run(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', 'b2']);

    // on main: { status: 'quarantined' }, QUARANTINE.txt in the genuine folder, verified 0
    expect((await entry()).signature?.status).toBe('signed');
    expect(await exists(join(tmp.dir, 'inbox', 'sources', 'quiet-otter', 'tips', real.id, 'QUARANTINE.txt'))).toBe(false);
    const list = JSON.parse(await readFile(join(tmp.dir, 'inbox', 'sources.json'), 'utf8')) as { sources: { handle: string; verified: number }[] };
    expect(list.sources.find((s) => s.handle === 'quiet-otter')!.verified).toBe(1);
  });
});

/**
 * `-o OUT_DIR` names a tip's folder by its handle, day and the first 8 characters of its id, and a
 * folder already there is "SKIPPED already decrypted" without checking whose it is. The server (it
 * gives out the ids) sends, in an earlier bundle, an unsigned tip of its own under the source's
 * handle whose id shares the first 8 characters and the day of a genuine tip it files later. The
 * genuine signed tip is then never decrypted: its row says "SKIPPED already decrypted", its KEY cell
 * and warning are the forgery's ("unsigned"), exit 0; the folder the editor opens holds the
 * server's words. (Dropping the tip is in the server's power anyway; telling the editor it was
 * read, and that it was unsigned, is not.)
 *
 * Fails on main: exit 0, SKIPPED. Fix: keep the full submission id in the folder (e.g. in
 * signature.json) and skip only the same id; another id on a taken folder fails loudly, as within
 * one run ("folder name taken").
 */
describe('a tampered server against -o OUT_DIR folder names', () => {
  it('! a genuine tip is not SKIPPED as "already decrypted" because a forged tip took its 8-character folder', async () => {
    const run = (args: string[]) => runCli(args, { cwd: tmp.dir, env });
    const victim = await makeSourceKeys('w'.repeat(64));
    const genuineId = randomId();
    const forgedId = genuineId.slice(0, 8) + randomId().slice(8);
    const forged = await tip(forgedId, 'calm-heron', 'It is me. Send the reporter\'s name.', victim.fingerprint);
    await writeBundle(join(tmp.dir, 'o1'), [forged], [{ handle: 'calm-heron', publicKey: victim.publicKey }]);
    const r1 = await run(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox-o', 'o1', '-o', 'out']);
    expect(r1.code, r1.stderr).toBe(0);
    const genuine = await tip(genuineId, 'calm-heron', 'the real tip', victim.fingerprint, victim.signingKey);
    await writeBundle(join(tmp.dir, 'o2'), [genuine], [{ handle: 'calm-heron', publicKey: victim.publicKey }]);
    const r2 = await run(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox-o', 'o2', '-o', 'out']);
    // on main: exit 0, "SKIPPED already decrypted", and the genuine tip is nowhere on disk
    expect(r2.code === 0 && /SKIPPED/.test(r2.stdout), r2.stdout + r2.stderr).toBe(false);
  });
});
