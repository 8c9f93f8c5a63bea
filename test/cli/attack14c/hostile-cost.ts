/**
 * Figures, not a test: the cost of a hostile tip of SIZE_MIB MiB (made as a stream, never whole in
 * memory; ENVELOPE=1 holds a valid envelope in memory) whose SEIPD and literal packets are cut into the smallest parts the fast path takes
 * (2^PART_BITS bytes, 9 = 512), against the same size in 1 MiB parts. Prints the time, the peak RSS
 * of this process and the outcome; run under /usr/bin/time -v for the kernel's figure:
 *   SIZE_MIB=1024 PART_BITS=9 /usr/bin/time -v npx tsx test/cli/attack14c/hostile-cost.ts
 * BAD_QUICK_CHECK=1 breaks the prefix's quick check (the MDC stays valid): the fast path reads it all,
 * declines at the end, and the usual path decrypts it again.
 * FAST_OFF=1 makes the fast path decline at once (its worker exits), i.e. the usual path alone.
 */

import { closeSync, openSync, writeSync } from 'node:fs';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { decryptSubmission } from '../../../cli/submission.ts';
import { buildEnvelope } from '../../../protocol/index.ts';

const SIZE = Number(process.env.SIZE_MIB ?? 256) * 2 ** 20;
const PART_BITS = Number(process.env.PART_BITS ?? 9);
const PART = 2 ** PART_BITS;
const ROOT = join(import.meta.dirname, '../../..');
const ID = 'b7e4f0c2-5d1a-4e8b-9c3f-2a6d8e0f1b4c';

const pub = (await openpgp.readKey({ armoredKey: await readFile(join(ROOT, 'keys.example/newsroom.pub.asc'), 'utf8') })) as openpgp.PublicKey;
const locked = await openpgp.readPrivateKey({ armoredKey: await readFile(join(ROOT, 'keys.example/newsroom.sec.asc'), 'utf8') });
const sec = await openpgp.decryptKey({ privateKey: locked, passphrase: 'demo-never-use' });
const identity = { path: 'newsroom.sec.asc', fingerprint: sec.getFingerprint(), keyIds: new Set(sec.getKeyIDs().map((id) => id.toHex())), key: sec };

const dir = await mkdtemp(join(tmpdir(), 'attack14c-cost-'));
try {
  await mkdir(join(dir, 'bundle/submissions'), { recursive: true });
  await mkdir(join(dir, 'out'));
  const file = join(dir, 'bundle/submissions', `${ID}.pgp`);
  const fd = openSync(file, 'w');
  const sha256 = createHash('sha256');
  let written = 0;
  const out = (b: Uint8Array): void => {
    writeSync(fd, b);
    sha256.update(b);
    written += b.length;
  };
  const key = randomBytes(32);
  out((await openpgp.encryptSessionKey({ data: key, algorithm: 'aes256', encryptionKeys: pub, format: 'binary' })) as Uint8Array);
  out(Buffer.from([0xd2]));
  const cipher = createCipheriv('aes-256-cfb', key, Buffer.alloc(16));
  const mdc = createHash('sha1');
  // SEIPD body bytes waiting to be framed into parts of PART
  let body: Buffer[] = [Buffer.from([1])];
  let bodyLength = 1;
  const flushParts = (final: boolean): void => {
    if (bodyLength < PART && !final) return;
    const all = Buffer.concat(body);
    const framed: Buffer[] = [];
    let at = 0;
    while (all.length - at >= PART) {
      framed.push(Buffer.from([0xe0 | PART_BITS]), all.subarray(at, at + PART));
      at += PART;
    }
    if (final) {
      const rest = all.length - at;
      const len = Buffer.from([0xff, 0, 0, 0, 0]);
      len.writeUInt32BE(rest, 1);
      framed.push(len, all.subarray(at));
      at = all.length;
    }
    out(Buffer.concat(framed));
    body = [all.subarray(at)];
    bodyLength = all.length - at;
  };
  const plain = (p: Buffer, hashed = true): void => {
    if (hashed) mdc.update(p);
    const c = cipher.update(p);
    body.push(c);
    bodyLength += c.length;
    if (bodyLength >= 4 * 2 ** 20) flushParts(false);
  };
  const r = randomBytes(16);
  const prefix = Buffer.concat([r, r.subarray(14)]);
  if (process.env.BAD_QUICK_CHECK === '1') prefix[17]! ^= 0xff; // the fast path declines at the end; OpenPGP.js never looks
  plain(prefix);
  // the literal: new format, parts of PART; its first part holds the header. Its data: a valid
  // envelope of one file (ENVELOPE=1: every byte is written to disk) or zeros (refused at once)
  plain(Buffer.from([0xcb]));
  if (process.env.ENVELOPE === '1') {
    const data = Buffer.from(await buildEnvelope({
      language: 'en', message: 'the ledger\n',
      files: [{ name: 'ledger.bin', type: 'application/octet-stream', bytes: randomBytes(SIZE - 2 ** 20), stripped: false }],
    }));
    const literal = Buffer.concat([Buffer.from([0x62, 0, 0, 0, 0, 0]), data]);
    let at = 0;
    while (literal.length - at >= PART) {
      const parts: Buffer[] = [];
      for (let i = 0; i < 2048 && literal.length - at >= PART; i++, at += PART) parts.push(Buffer.from([0xe0 | PART_BITS]), literal.subarray(at, at + PART));
      plain(Buffer.concat(parts));
    }
    const rest = literal.length - at;
    const len = Buffer.from([0xff, 0, 0, 0, 0]);
    len.writeUInt32BE(rest, 1);
    plain(Buffer.concat([len, literal.subarray(at)]));
  } else {
    const zeros = Buffer.alloc(PART);
    const litPart = Buffer.concat([Buffer.from([0xe0 | PART_BITS]), zeros]);
    plain(Buffer.concat([Buffer.from([0xe0 | PART_BITS, 0x62, 0, 0, 0, 0, 0]), zeros.subarray(6)]));
    const batch = Buffer.concat(Array.from({ length: Math.max(1, Math.floor(2 ** 20 / (PART + 1))) }, () => litPart));
    while (written + bodyLength < SIZE - 2 ** 20) plain(batch);
    plain(Buffer.from([0])); // the literal's last part: empty
  }
  plain(Buffer.from([0xd3, 0x14]));
  plain(mdc.digest(), false);
  body.push(cipher.final());
  flushParts(true);
  closeSync(fd);
  const digest = sha256.digest('hex');
  if (process.env.FAST_OFF === '1') {
    // the fast path's worker source is recognised by its SHA-1; without a loader hook here the
    // simplest switch is to make its algorithm list refuse: the worker is not started at all
    const seipd = await import('../../../cli/seipd.ts');
    delete (seipd.FAST_CIPHERS as Record<string, unknown>).aes256;
  }
  const rss0 = process.resourceUsage().maxRSS;
  const t0 = performance.now();
  const outcome = await decryptSubmission({
    submission: { id: ID, handle: 'quiet-otter', day: '2026-11-27', size: written, sha256: digest, path: `submissions/${ID}.pgp` },
    bundleDir: join(dir, 'bundle'), outDir: join(dir, 'out'), identities: [identity], sourceKeys: [],
  });
  const ms = performance.now() - t0;
  console.log(JSON.stringify({
    sizeMiB: +(written / 2 ** 20).toFixed(1), partBytes: PART, badQuickCheck: process.env.BAD_QUICK_CHECK === '1', fastOff: process.env.FAST_OFF === '1',
    seconds: +(ms / 1000).toFixed(2), maxRssMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(0), rssBeforeMiB: +(rss0 / 1024).toFixed(0),
    outcome: outcome.status === 'failed' ? `${outcome.reason}: ${outcome.error.slice(0, 120)}` : outcome.status,
  }));
} finally {
  await rm(dir, { recursive: true, force: true });
}
