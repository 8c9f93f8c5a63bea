/**
 * @module protocol/testdata/tip-cases — the signed-tip vectors (PROTOCOL.md, "Signed tips"),
 * written by generate.ts, or alone: `npx tsx protocol/testdata/tip-cases.ts` rewrites only the
 * `tip-*` files. Each tip is an envelope encrypted to the demo newsroom key (its secret half is
 * published); `source-key` is the source's public key (base64 of its binary packets) that the
 * signature must be by, as the bundle carries it.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { buildEnvelope } from '../envelope.ts';
import { encryptTip, generateSourceKeyPair } from '../source-keys.ts';

type Headers = Record<string, string | number>;
type Write = (name: string, headers: Headers, data: Uint8Array | string, encoding: 'utf8' | 'base64') => void;

const DEMO_PUBLIC = readFileSync(new URL('../../keys.example/newsroom.pub.asc', import.meta.url), 'utf8');

export async function writeTipVectors(vector: Write): Promise<void> {
  const newsroom = await openpgp.readKey({ armoredKey: DEMO_PUBLIC });
  const source = await generateSourceKeyPair('t'.repeat(64), newsroom);
  const other = await generateSourceKeyPair('u'.repeat(64), newsroom);
  const fingerprint = source.signingKey.getFingerprint();
  const sourceKey = Buffer.from(source.signingKey.toPublic().write()).toString('base64');
  const envelope = (names?: string) =>
    buildEnvelope({ language: 'en', message: 'a signed tip', files: [], ...(names ? { sourceKeyFingerprint: names } : {}) });
  const tip = (name: string, expect: string, signer: string, data: Uint8Array) =>
    vector(`tip-${name}`, { expect, kind: 'tip', 'source-key': sourceKey, signer }, data, 'base64');

  tip('signed', 'success', fingerprint, await encryptTip(await envelope(fingerprint), [newsroom], source.signingKey));
  // older pages, and streamed tips (over 64 MiB): no signature; still read, attributed to nobody
  tip('unsigned-older-page', 'success', 'none', await encryptTip(await envelope(), [newsroom]));
  tip('unsigned-streamed', 'success', 'none', await encryptTip(await envelope(fingerprint), [newsroom]));
  // what a tampered server can write: another source's key signing a tip naming this one's
  tip('signed-by-another-key', 'tip failure: wrong_signer', fingerprint, await encryptTip(await envelope(fingerprint), [newsroom], other.signingKey));
  tip('names-another-key', 'tip failure: names_other_key', fingerprint, await encryptTip(await envelope(other.signingKey.getFingerprint()), [newsroom], source.signingKey));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = new URL('./', import.meta.url);
  for (const f of readdirSync(dir)) if (f.startsWith('tip-') && !f.includes('.')) rmSync(new URL(f, dir));
  await writeTipVectors((name, headers, data, encoding) => {
    const head = Object.entries({ ...headers, encoding }).map(([k, v]) => `${k}: ${v}`).join('\n');
    const body = encoding === 'utf8' ? (data as string) : Buffer.from(data as Uint8Array).toString('base64').replace(/.{1,76}/g, '$&\n').trimEnd();
    writeFileSync(new URL(name, dir), `${head}\n\n${body}\n`);
  });
}
