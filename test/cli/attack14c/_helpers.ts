/** Shared pieces of the attack harnesses: the demo key, hand-made messages, decryptSubmission runs. */

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as openpgp from 'openpgp';
import { buildEnvelope } from '../../../protocol/index.ts';
import type { Identity } from '../../../cli/identities.ts';
import { decryptSubmission, type DecryptSubmissionOptions } from '../../../cli/submission.ts';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const ID = 'b7e4f0c2-5d1a-4e8b-9c3f-2a6d8e0f1b4c';

export async function demoKeys(): Promise<{ pub: openpgp.PublicKey; sec: openpgp.PrivateKey; identity: Identity }> {
  const pub = (await openpgp.readKey({ armoredKey: await readFile(join(ROOT, 'keys.example/newsroom.pub.asc'), 'utf8') })) as openpgp.PublicKey;
  const locked = await openpgp.readPrivateKey({ armoredKey: await readFile(join(ROOT, 'keys.example/newsroom.sec.asc'), 'utf8') });
  const sec = await openpgp.decryptKey({ privateKey: locked, passphrase: 'demo-never-use' });
  return { pub, sec, identity: { path: 'newsroom.sec.asc', fingerprint: sec.getFingerprint(), keyIds: new Set(sec.getKeyIDs().map((id) => id.toHex())), key: sec } };
}

export function randomData(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

export async function envelope(fileBytes: number): Promise<Uint8Array> {
  return buildEnvelope({ language: 'en', message: 'the ledger\n', files: [{ name: 'ledger.bin', type: 'application/octet-stream', bytes: randomData(fileBytes), stripped: false }] });
}

/** A new-format packet: one 5-octet length, or partial parts of 2^partial bytes. */
export function packet(tag: number, body: Uint8Array, partial?: number): Uint8Array {
  if (partial === undefined) {
    const header = Buffer.from([0xc0 | tag, 0xff, 0, 0, 0, 0]);
    header.writeUInt32BE(body.length, 2);
    return Buffer.concat([header, body]);
  }
  const size = 2 ** partial;
  const parts: Uint8Array[] = [Buffer.from([0xc0 | tag])];
  let at = 0;
  while (body.length - at > size) {
    parts.push(Buffer.from([0xe0 | partial]), body.subarray(at, at + size));
    at += size;
  }
  const rest = body.length - at;
  parts.push(rest < 192 ? Buffer.from([rest]) : Buffer.from([0xff, rest >>> 24, (rest >>> 16) & 255, (rest >>> 8) & 255, rest & 255]), body.subarray(at));
  return Buffer.concat(parts);
}

export function literalPacket(data: Uint8Array, options: { partial?: number; name?: Uint8Array } = {}): Uint8Array {
  const name = options.name ?? new Uint8Array(0);
  const body = Buffer.concat([Buffer.from([0x62, name.length]), name, Buffer.from([0, 0, 0, 0]), data]);
  return packet(11, body, options.partial);
}

export interface HandMade {
  partial?: number;
  /** break the quick check (prefix bytes 16..17 not equal to 14..15), the MDC staying valid */
  badQuickCheck?: boolean;
  /** the MDC packet's two header bytes (d3 14 by default), hashed as they are */
  mdcHead?: [number, number];
}

/** PKESK (OpenPGP.js) + SEIPD v1 over `inner` with a valid SHA-1 MDC over exactly what is sent. */
export async function handMade(pub: openpgp.PublicKey, inner: Uint8Array, options: HandMade = {}): Promise<{ message: Uint8Array; sessionKey: Buffer; pkesk: Uint8Array }> {
  const sessionKey = randomBytes(32);
  const pkesk = (await openpgp.encryptSessionKey({ data: sessionKey, algorithm: 'aes256', encryptionKeys: pub, format: 'binary' })) as Uint8Array;
  const random = randomBytes(16);
  const prefix = Buffer.concat([random, random.subarray(14)]);
  if (options.badQuickCheck) prefix[17]! ^= 0xff;
  const hashed = Buffer.concat([prefix, inner, Buffer.from(options.mdcHead ?? [0xd3, 0x14])]);
  const plain = Buffer.concat([hashed, createHash('sha1').update(hashed).digest()]);
  const cipher = createCipheriv('aes-256-cfb', sessionKey, Buffer.alloc(16));
  const body = Buffer.concat([Buffer.from([1]), cipher.update(plain), cipher.final()]);
  return { message: Buffer.concat([pkesk, packet(18, body, options.partial)]), sessionKey, pkesk };
}

/** decryptSubmission over `ciphertext` as a bundle of one; what it left in OUT_DIR and wrote. */
export async function runDecrypt(
  base: string,
  ciphertext: Uint8Array,
  identity: Identity,
  extra: Partial<DecryptSubmissionOptions> & { beforeRun?: (file: string) => void } = {},
) {
  const root = await mkdtemp(join(base, 'run-'));
  await mkdir(join(root, 'bundle/submissions'), { recursive: true });
  const file = join(root, 'bundle/submissions', `${ID}.pgp`);
  await writeFile(file, ciphertext);
  const submission = {
    id: ID, handle: 'quiet-otter', day: '2026-11-27', size: ciphertext.length,
    sha256: createHash('sha256').update(ciphertext).digest('hex'), path: `submissions/${ID}.pgp`,
  };
  const outDir = join(root, 'out');
  await mkdir(outDir);
  extra.beforeRun?.(file);
  const { beforeRun: _, ...rest } = extra;
  const outcome = await decryptSubmission({ submission, bundleDir: join(root, 'bundle'), outDir, identities: [identity], sourceKeys: [], ...rest });
  const left = await readdir(outDir);
  const files = outcome.status === 'ok' ? await readFile(join(outcome.path, 'files', outcome.savedNames[0]!)) : undefined;
  return { outcome: { ...outcome, path: undefined }, left, files, file, root };
}
