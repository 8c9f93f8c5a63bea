/**
 * Sessions of `sealdrop decrypt` with tips that answer the instance's questions (PROTOCOL.md,
 * "Answers"): answers.txt lands beside message.txt, in OUT_DIR and in the inbox, and the read view
 * hands the answers to its page as data; an answers.txt that is not the manifest's rendering, or
 * that comes without answers in the manifest, keeps nothing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptToKeys, renderAnswers, serializeManifest, type Answer } from '../../protocol/index.ts';
import { tipDir } from '../../cli/inbox.ts';
import { startReadServer } from '../../cli/read-server.ts';
import { makeSubmission, rawEnvelope, randomId, readDemoPublicKey } from './fixtures.ts';
import { DEMO_PASSPHRASE, DEMO_SECRET_KEY, exists, listTree, makeTempDir, runCli, writeBundle } from './helpers.ts';

const answers: Answer[] = [
  { id: 'where', label: '어디에서 일어났습니까?', value: ['프놈펜, 항구 근처\n두 번째 줄'] },
  { id: 'companies', label: 'Which companies? <b>', value: ['<script>alert(1)</script>', 'Blue Sea \u202Edtl'] },
  { id: 'how', label: 'Откуда вы знаете?', value: [] },
];
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
const env = { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE };
const ids = { answered: randomId(), plain: randomId(), mismatch: randomId(), stray: randomId() };
let key: openpgp.PublicKey;

/** A hand-made envelope: manifest.json with these answers (or none), message.txt "x", then answers.txt with `text` if given. */
function envelopeWith(manifestAnswers: Answer[] | undefined, text: string | undefined): Uint8Array {
  const manifest = serializeManifest({ version: 1, language: 'en', message: { bytes: 1 }, files: [], ...(manifestAnswers ? { answers: manifestAnswers } : {}) });
  return rawEnvelope([
    { path: 'manifest.json', data: manifest },
    { path: 'message.txt', data: 'x' },
    ...(text === undefined ? [] : [{ path: 'answers.txt', data: text }]),
  ]);
}

beforeAll(async () => {
  tmp = await makeTempDir('sealdrop-answers-');
  key = await readDemoPublicKey();
  await writeBundle(join(tmp.dir, 'good'), [
    { id: ids.answered, handle: 'quiet-otter', ciphertext: await makeSubmission({ language: 'ko', message: '제보합니다.\n', files: [], answers }, key) },
    { id: ids.plain, handle: 'quiet-otter', ciphertext: await makeSubmission({ language: 'en', message: 'no questions asked', files: [] }, key) },
  ]);
  await writeBundle(join(tmp.dir, 'bad'), [
    { id: ids.mismatch, handle: 'brave-lynx', ciphertext: await encryptToKeys(envelopeWith(answers, renderAnswers(answers).replace('Blue', 'Bleu')), [key]) },
    { id: ids.stray, handle: 'brave-lynx', ciphertext: await encryptToKeys(envelopeWith(undefined, renderAnswers(answers)), [key]) },
  ]);
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('sealdrop decrypt: answers', () => {
  it('writes answers.txt beside message.txt in OUT_DIR, the rendering of the manifest\'s answers; a tip without has none', async () => {
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, 'good', '-o', 'out'], { cwd: tmp.dir, env });
    expect(r.code, r.stderr).toBe(0);
    const dir = join(tmp.dir, 'out', 'quiet-otter', `2026-11-27_${ids.answered.slice(0, 8)}`);
    expect(await listTree(dir)).toEqual(['answers.txt', 'manifest.json', 'message.txt', 'signature.json']);
    expect(await readFile(join(dir, 'answers.txt'), 'utf8')).toBe(
      '어디에서 일어났습니까?\n  - 프놈펜, 항구 근처\n    두 번째 줄\n\n' +
      'Which companies? <b>\n  - <script>alert(1)</script>\n  - Blue Sea \u202Edtl\n\n' +
      'Откуда вы знаете?\n  (no answer)\n',
    );
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')).answers).toEqual(answers);
    const plain = join(tmp.dir, 'out', 'quiet-otter', `2026-11-27_${ids.plain.slice(0, 8)}`);
    expect(await listTree(plain)).toEqual(['manifest.json', 'message.txt', 'signature.json']);
  });

  it('keeps answers.txt in the inbox, and the read view gives the answers to its page as data (label and value only)', async () => {
    const inbox = join(tmp.dir, 'inbox');
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, 'good'], { cwd: tmp.dir, env: { ...env, SEALDROP_INBOX: inbox } });
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(tipDir(inbox, 'quiet-otter', ids.answered), 'answers.txt'), 'utf8')).toBe(renderAnswers(answers));
    expect(await exists(join(tipDir(inbox, 'quiet-otter', ids.plain), 'answers.txt'))).toBe(false);
    const view = await startReadServer({ inbox, port: 0 });
    try {
      const conversation = await (await fetch(`${view.url}api/sources/quiet-otter`)).json() as { tips: { id: string; answers: unknown }[] };
      const byId = new Map(conversation.tips.map((t) => [t.id, t.answers]));
      expect(byId.get(ids.answered)).toEqual(answers.map(({ label, value }) => ({ label, value })));
      expect(byId.get(ids.plain)).toEqual([]);
    } finally {
      await view.close();
    }
  });

  it('! refuses answers.txt that is not the manifest\'s rendering, or comes without answers: nothing kept', async () => {
    const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, 'bad', '-o', 'out-bad'], { cwd: tmp.dir, env });
    expect(r.code).toBe(1);
    const line = (id: string) => r.stdout.split('\n').find((l) => l.includes(` ${id.slice(0, 8)} `)) ?? '';
    expect(line(ids.mismatch)).toMatch(/FAILED invalid envelope \(answers_mismatch\)$/);
    expect(line(ids.stray)).toMatch(/FAILED invalid envelope \(unexpected_entry\)$/);
    expect(r.stderr).toMatch(/expected answers\.txt to be the rendering of the manifest's answers/);
    expect(r.stderr, r.stderr).toMatch(/got "answers\.txt" while the manifest holds no answers/);
    expect(await exists(join(tmp.dir, 'out-bad', 'brave-lynx'))).toBe(false);
  });
});
