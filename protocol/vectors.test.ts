/**
 * Runs every vector in testdata/ (one case per file: headers, a blank line, the data). The
 * generator is testdata/generate.ts; PROTOCOL.md, "Test vectors", describes the format.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { decrypt, decryptKey, PublicKeyPacket, readKey, readMessage, readPrivateKey, SignaturePacket } from 'openpgp';
import { describe, expect, it, vi } from 'vitest';
import {
  buildEnvelope, checkCodename, checkReplySignature, openReply, checkPowSolution, checkSourceKeys, checkSourcePublicKey, deriveSourceSecrets, hashLookupId, inspectMessage,
  inspectMessageStream, paddedLength, SOURCE_KEY_DATE, padmeLength, parseEnvelope, parsePowToken, powSizeBits, SCRYPT_PARAMS, CODENAME_WORDS, curatedListText,
  type CuratedLanguage,
} from './index.ts';
import { formatSiteManifest, parseSiteManifest } from './site-manifest.ts';
import { chunkSha256, digestsSha256 } from './upload-digests.ts';
import { codenameHeaders } from './testdata/codename-cases.ts';

const dir = new URL('./testdata/', import.meta.url);
/** The demo newsroom key, whose secret half is published: every reply vector is encrypted to it too. */
const demoNewsroom = readPrivateKey({ armoredKey: readFileSync(new URL('../keys.example/newsroom.sec.asc', import.meta.url), 'utf8') }).then((privateKey) =>
  decryptKey({ privateKey, passphrase: 'demo-never-use' }),
);
const names = readdirSync(dir).filter((f) => !f.includes('.')).sort();

type Vector = { headers: Record<string, string>; data: Uint8Array; text: string };
function readVector(name: string): Vector {
  const file = readFileSync(new URL(name, dir), 'utf8');
  const split = file.indexOf('\n\n');
  if (split < 0) throw new Error(`${name}: expected headers, a blank line, then data`);
  const headers = Object.fromEntries(file.slice(0, split).split('\n').map((l) => {
    const at = l.indexOf(': ');
    return [l.slice(0, at), l.slice(at + 2)];
  }));
  const body = file.slice(split + 2).replace(/\n$/, '');
  const encoding = headers.encoding;
  const data = encoding === 'hex' ? Buffer.from(body, 'hex')
    : encoding === 'base64' ? Buffer.from(body.replace(/\n/g, ''), 'base64')
    : Buffer.from(body, 'utf8');
  return { headers, data: new Uint8Array(data), text: body };
}

/** Runs the case; returns "success" or "<kind> failure: <code>" in the vectors' own words. */
async function run({ headers: h, data, text }: Vector): Promise<string> {
  const failure = (kind: string, e: unknown) => {
    const code = (e as { code?: string }).code;
    if (!code) throw e;
    return `${kind} failure: ${code}`;
  };
  switch (h.kind) {
    case 'kdf': {
      expect(h.scrypt).toBe(`N=${SCRYPT_PARAMS.N} r=${SCRYPT_PARAMS.r} p=${SCRYPT_PARAMS.p} dkLen=${SCRYPT_PARAMS.dkLen}`);
      const s = deriveSourceSecrets(text, h.salt!);
      expect(s).toEqual({ lookupId: h['lookup-id'], keyPassphrase: h['key-passphrase'] });
      expect(hashLookupId(s.lookupId)).toBe(h['lookup-hash']);
      return 'success';
    }
    case 'pow-price': {
      let bits: number;
      try {
        bits = powSizeBits(Number(h.size));
      } catch (e) {
        return failure('pow', e);
      }
      expect(bits).toBe(Number(h.bits));
      return 'success';
    }
    case 'padme':
      expect(padmeLength(Number(h.length))).toBe(Number(h.padme));
      expect(paddedLength(Number(h.length))).toBe(Number(h.padded));
      return 'success';
    case 'codename': {
      const check = checkCodename(text);
      const expected = Object.entries(h).filter(([k]) => !['expect', 'kind', 'encoding'].includes(k));
      expect(Object.fromEntries(Object.entries(codenameHeaders(check)).map(([k, v]) => [k, String(v)]))).toEqual(Object.fromEntries(expected));
      return check.ok ? 'success' : `codename failure: ${check.reason}`;
    }
    case 'wordlist': {
      const list = h.list as CuratedLanguage;
      expect(curatedListText(list)).toBe(text);
      expect(createHash('sha256').update(text).digest('hex')).toBe(h.sha256);
      expect([text.split('\n').length, CODENAME_WORDS]).toEqual([Number(h.words), Number(h['codename-words'])]);
      expect(Number(h['codename-words']) * Math.log2(Number(h.words))).toBeGreaterThanOrEqual(88);
      return 'success';
    }
    case 'pow-token':
      try {
        const t = parsePowToken(text);
        expect([t.id, t.expires, t.difficulty]).toEqual([h.id, Number(h.expires), Number(h.difficulty)]);
        return 'success';
      } catch (e) {
        return failure('pow', e);
      }
    case 'pow-solution':
      return (await checkPowSolution(text, h.nonce!, Number(h.difficulty))) ? 'success' : 'pow failure: rejected';
    case 'envelope':
      try {
        const env = await parseEnvelope(data);
        expect(env.files).toHaveLength(Number(h.files));
        // the source key's fingerprint, in the envelopes of pages that name it (older ones do not)
        expect(env.manifest.sourceKeyFingerprint).toBe(h['source-key']);
        // the answers to the instance's questions, in the envelopes that carry them (PROTOCOL.md, "Answers")
        expect(env.manifest.answers?.length).toBe(h.answers === undefined ? undefined : Number(h.answers));
        // canonical: building again from what was parsed gives the very same bytes
        const again = await buildEnvelope({
          language: env.manifest.language,
          message: env.message,
          files: env.files.map((f) => ({ name: f.name, type: f.type, bytes: f.bytes, stripped: f.stripped })),
          ...(env.manifest.answers === undefined ? {} : { answers: env.manifest.answers }),
          ...(env.manifest.sourceKeyFingerprint === undefined ? {} : { sourceKeyFingerprint: env.manifest.sourceKeyFingerprint }),
        });
        expect(again).toEqual(data);
        return 'success';
      } catch (e) {
        return failure('envelope', e);
      }
    case 'openpgp':
      if (h.encoding !== 'utf8') {
        // the streamed check must agree, however the bytes are cut
        const outcome = async (chunk: number) => {
          try {
            await inspectMessageStream(Array.from({ length: Math.ceil(data.length / chunk) }, (_, k) => data.subarray(k * chunk, k * chunk + chunk)));
            return 'success';
          } catch (e) {
            return failure('openpgp', e);
          }
        };
        expect([await outcome(1), await outcome(5)]).toEqual([h.expect, h.expect]);
      }
      try {
        const info = await inspectMessage(h.encoding === 'utf8' ? text + '\n' : data, { armored: h.armored === 'true' });
        expect(info.recipientKeyIds.join(' ')).toBe(h.recipients);
        expect([info.pkeskVersion, info.seipdVersion]).toEqual([Number(h.pkesk), Number(h.seipd)]);
        return 'success';
      } catch (e) {
        return failure('openpgp', e);
      }
    case 'tip': {
      // the offline machine's check (cli/tip-signature.ts, cli/tip-attribution.ts): signed by the
      // source key's primary, the envelope naming that key; unsigned tips still decrypt
      const source = await readKey({ binaryKey: Buffer.from(h['source-key']!, 'base64') });
      const { data: plain, signatures } = await decrypt({
        message: await readMessage({ binaryMessage: data }), decryptionKeys: await demoNewsroom, verificationKeys: source, format: 'binary',
      });
      const env = await parseEnvelope(plain as Uint8Array);
      if (signatures.length === 0) {
        expect(h.signer).toBe('none');
        return 'success';
      }
      expect(signatures).toHaveLength(1);
      if (signatures[0]!.keyID.toHex() !== source.getKeyID().toHex()) return 'tip failure: wrong_signer';
      try {
        await signatures[0]!.verified;
      } catch {
        return 'tip failure: bad_signature';
      }
      // dated the key's own fixed date: the signature tells nothing of when the tip was written
      expect((await signatures[0]!.signature).packets[0]!.created).toEqual(SOURCE_KEY_DATE);
      if (env.manifest.sourceKeyFingerprint !== source.getFingerprint()) return 'tip failure: names_other_key';
      expect(h.signer).toBe(source.getFingerprint());
      return 'success';
    }
    case 'reply': {
      const newsroom = await demoNewsroom;
      // The newsroom opens its own copy: the binding must name the source (`to`), not the newsroom.
      const opened = await openReply(data, newsroom, newsroom.toPublic(), h.to!);
      if (!opened.ok) return `reply failure: ${opened.problem}`;
      expect(opened.text).toBe(JSON.parse(h.text!));
      if (h.size !== undefined) expect([data.length, paddedLength(data.length)]).toEqual([Number(h.size), Number(h.size)]);
      return 'success';
    }
    case 'reply-signature':
      try {
        await checkReplySignature(data, Buffer.from(h.signature!, 'base64'), (await demoNewsroom).toPublic());
        return 'success';
      } catch (e) {
        return failure('reply-signature', e);
      }
    case 'site-manifest':
      try {
        const text = new TextDecoder().decode(data);
        const manifest = parseSiteManifest(text);
        expect([manifest.files.length, manifest.commit]).toEqual([Number(h.files), h.commit]);
        expect(formatSiteManifest(manifest)).toBe(text);
        return 'success';
      } catch (e) {
        return failure('site-manifest', e);
      }
    case 'source-keys': {
      const keys = JSON.parse(text) as { publicKey: string; lockedPrivateKey: string };
      const now = new Date(h.now!);
      const outcome = (check: () => Promise<unknown>) => check().then(() => 'success', (e: unknown) => failure('source-keys', e));
      // instruments, not mocks: `openpgpjs: untouched` means refused by the shape alone, before
      // OpenPGP.js read a key packet or verified a signature
      const parsed = vi.spyOn(PublicKeyPacket.prototype, 'read');
      const verified = vi.spyOn(SignaturePacket.prototype, 'verify');
      try {
        const pair = await outcome(() => checkSourceKeys(keys, now));
        const calls = [parsed.mock.calls.length, verified.mock.calls.length];
        if (h.openpgpjs === 'untouched') expect(calls).toEqual([0, 0]);
        else if (pair === 'success') expect(Math.min(...calls)).toBeGreaterThan(0);
        expect(await outcome(() => checkSourcePublicKey(keys.publicKey, now))).toBe(h['public-expect']);
        return pair;
      } finally {
        vi.restoreAllMocks();
      }
    }
    case 'upload-digests': {
      // as the page makes them (WebCrypto); the server's own reading is in server/source/message-check.test.ts
      const size = Number(h['chunk-size']);
      const chunks = Array.from({ length: Math.max(1, Math.ceil(data.length / size)) }, (_, k) => data.subarray(k * size, (k + 1) * size));
      const digests = await Promise.all(chunks.map(chunkSha256));
      expect(digests.map((d) => Buffer.from(d).toString('hex')).join(' ')).toBe(h['chunk-sha256']);
      return Buffer.from(await digestsSha256(digests)).toString('hex') === h.digests ? 'success' : 'upload-digests failure: hash_mismatch';
    }
    default:
      throw new Error(`unknown kind ${h.kind}`);
  }
}

describe('test vectors', () => {
  it('exist, and failures outnumber successes', () => {
    const expects = names.map((n) => readVector(n).headers.expect);
    const ok = expects.filter((e) => e === 'success').length;
    expect(names.length).toBeGreaterThan(100);
    expect(expects.length - ok).toBeGreaterThan(ok);
  });
  it.each(names)('%s', async (name) => {
    const vector = readVector(name);
    expect(await run(vector)).toBe(vector.headers.expect);
  });
});
