/**
 * Session keys the fast path must not misuse: other ciphers (CAST5, 3DES, Twofish, Blowfish), AES-128
 * and -192, an AES-128 label on a 32-byte key (and AES-256 on 16), the wildcard recipient, two PKESKs
 * to the demo key carrying different session keys (the right one first or second), 32 and 33 PKESKs,
 * a wrong key. Safe means: the outcome, the file written and what is left in OUT_DIR equal those of
 * the usual path alone (the fast path switched off).
 */

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Identity } from '../../../cli/identities.ts';
import { demoKeys, envelope, literalPacket, packet, runDecrypt } from './_helpers.ts';
import { FAST_OFF } from './_mock-workers.ts';

const workers = vi.hoisted(() => ({ transform: (source: string) => source }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends real.Worker {
    constructor(source: string, options?: import('node:worker_threads').WorkerOptions) {
      super(workers.transform(source), options);
    }
  }
  return { ...real, Worker, default: { ...real, Worker } };
});

let dir: string;
let pub: openpgp.PublicKey;
let identity: Identity;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attack14c-keys-'));
  ({ pub, identity } = await demoKeys());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KEY_SIZE: Record<string, number> = { cast5: 16, tripledes: 24, twofish: 32, blowfish: 16, aes128: 16, aes192: 24 };
const ECB: Record<string, [string, number]> = { aes128: ['aes-128-cfb', 16], aes192: ['aes-192-cfb', 24], aes256: ['aes-256-cfb', 32] };

/** SEIPD v1 over the literal, encrypted with `key` by `cfb` (AES) */
function seipd(inner: Uint8Array, key: Buffer, cfb: string): Uint8Array {
  const r = randomBytes(16);
  const hashed = Buffer.concat([r, r.subarray(14), inner, Buffer.from([0xd3, 0x14])]);
  const plain = Buffer.concat([hashed, createHash('sha1').update(hashed).digest()]);
  const cipher = createCipheriv(cfb, key, Buffer.alloc(16));
  return packet(18, Buffer.concat([Buffer.from([1]), cipher.update(plain), cipher.final()]));
}

const esk = async (data: Uint8Array, algorithm: string, wildcard = false) =>
  (await openpgp.encryptSessionKey({ data, algorithm: algorithm as 'aes256', encryptionKeys: pub, format: 'binary', wildcard })) as Uint8Array;

async function compare(name: string, message: Uint8Array, identities: Identity[] = [identity]) {
  workers.transform = FAST_OFF;
  const usual = await runDecrypt(dir, message, identities[0]!, {});
  workers.transform = (s) => s;
  const quick = await runDecrypt(dir, message, identities[0]!, {});
  expect(quick.outcome, name).toEqual(usual.outcome);
  expect(quick.left, name).toEqual(usual.left);
  expect(quick.files === undefined ? undefined : quick.files.equals(usual.files!), name).toBe(usual.files === undefined ? undefined : true);
  return { usual, quick };
}

it('other ciphers, AES sizes and mislabelled key sizes end as with the usual path alone', async () => {
  const plain = await envelope(200_000);
  for (const algorithm of ['cast5', 'tripledes', 'twofish', 'blowfish', 'aes128', 'aes192']) {
    const message = (await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: plain, format: 'binary' }), encryptionKeys: pub, format: 'binary',
      sessionKey: { data: randomBytes(KEY_SIZE[algorithm]!), algorithm: algorithm as 'aes256' },
      config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
    })) as Uint8Array;
    const { usual } = await compare(algorithm, message);
    // the others end as the usual path says: OpenPGP.js refuses a cipher the key does not prefer (AES-192, 3DES, …)
    if (algorithm === 'aes128') expect(usual.outcome.status, algorithm).toBe('ok');
  }
  // the label and the key disagree: AES-128 on 32 bytes (ciphertext made with AES-256), AES-256 on 16
  const k32 = randomBytes(32);
  const k16 = randomBytes(16);
  const lit = literalPacket(plain);
  const r1 = await compare('aes128 label, 32-byte key', Buffer.concat([await esk(k32, 'aes128'), seipd(lit, k32, ECB.aes256![0])]));
  expect(r1.usual.outcome.status).toBe('failed');
  const r2 = await compare('aes256 label, 16-byte key', Buffer.concat([await esk(k16, 'aes256'), seipd(lit, k16, ECB.aes128![0])]));
  expect(r2.usual.outcome.status).toBe('failed');
});

it('wildcard, two session keys, 32 and 33 PKESKs, a wrong key end as with the usual path alone', async () => {
  const plain = await envelope(200_000);
  const lit = literalPacket(plain, { partial: 12 });
  const good = randomBytes(32);
  const bad = randomBytes(32);
  const body = seipd(lit, good, ECB.aes256![0]);
  await compare('wildcard', Buffer.concat([await esk(good, 'aes256', true), body]));
  await compare('right key first', Buffer.concat([await esk(good, 'aes256'), await esk(bad, 'aes256'), body]));
  await compare('right key second', Buffer.concat([await esk(bad, 'aes256'), await esk(good, 'aes256'), body]));
  const one = await esk(good, 'aes256', true);
  await compare('32 wildcard PKESKs', Buffer.concat([...Array.from({ length: 32 }, () => one), body]));
  await compare('33 wildcard PKESKs', Buffer.concat([...Array.from({ length: 33 }, () => one), body]));
  const other = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'other' }], format: 'object' });
  const otherIdentity: Identity = { path: 'other.sec.asc', fingerprint: other.privateKey.getFingerprint(), keyIds: new Set(other.privateKey.getKeyIDs().map((id) => id.toHex())), key: other.privateKey };
  await compare('a wrong key (named)', Buffer.concat([await esk(good, 'aes256'), body]), [otherIdentity]);
  await compare('a wrong key (wildcard)', Buffer.concat([one, body]), [otherIdentity]);
});
