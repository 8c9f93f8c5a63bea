/**
 * OpenPGP.js decrypts every PKESK before the data and holds every packet before it whole. The
 * attacker (helper attack-stall) sent 200 000 copies of one PKESK before a valid SEIPD: a 19.2 MB tip
 * held `sealdrop decrypt` 4 min 7 s at 3.9 GB (2 GiB, the upload cap, would be hours, or the heap's
 * end). The usual path now refuses what no page sends before OpenPGP.js parses a packet.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Identity } from '../../cli/identities.ts';
import { demoKeys, envelope, handMade, literalPacket, packet, runDecrypt } from './attack14c/_helpers.ts';
import { FAST_OFF } from './attack14c/_mock-workers.ts';

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
let tip: { pkesk: Uint8Array; seipd: Uint8Array };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outer-bound-'));
  ({ pub, identity } = await demoKeys());
  const { message, pkesk } = await handMade(pub, literalPacket(await envelope(1000)));
  tip = { pkesk, seipd: message.subarray(pkesk.length) };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const copies = (n: number, bytes: Uint8Array) => Buffer.concat(Array.from({ length: n }, () => bytes));

describe('the packets before the encrypted data', () => {
  for (const fast of [true, false]) {
    const path = fast ? 'fast path first' : 'usual path alone';
    it(`${path}: 200 000 copies of the PKESK are refused before any is decrypted`, async () => {
      workers.transform = fast ? (s) => s : FAST_OFF;
      try {
        const run = await runDecrypt(dir, Buffer.concat([copies(200_000, tip.pkesk), tip.seipd]), identity);
        expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile header', error: expect.stringMatching(/has more than 32 packets before its data/) });
        expect(run.left).toEqual([]);
      } finally {
        workers.transform = (s) => s;
      }
    });

    it(`${path}: 32 copies decrypt, 33 are refused`, async () => {
      workers.transform = fast ? (s) => s : FAST_OFF;
      try {
        expect((await runDecrypt(dir, Buffer.concat([copies(32, tip.pkesk), tip.seipd]), identity)).outcome.status).toBe('ok');
        expect((await runDecrypt(dir, Buffer.concat([copies(33, tip.pkesk), tip.seipd]), identity)).outcome).toMatchObject({ status: 'failed', reason: 'hostile header' });
      } finally {
        workers.transform = (s) => s;
      }
    });
  }

  it('a large packet before the data (padding, a PKESK of 5 000 bytes, one of indeterminate length) is refused, not held', async () => {
    workers.transform = FAST_OFF;
    try {
      const cases: [Uint8Array, RegExp][] = [
        [Buffer.concat([packet(21, new Uint8Array(50_000_000)), tip.pkesk, tip.seipd]), /a packet of tag 21 of 50000000 bytes/],
        [Buffer.concat([packet(1, new Uint8Array(5_000)), tip.seipd]), /a packet of tag 1 of 5000 bytes/],
        [Buffer.concat([tip.pkesk, Buffer.from([0x87]), new Uint8Array(300_000), tip.seipd]), /indeterminate length/],
        [Buffer.concat([tip.pkesk, Buffer.from([0xd5, 0xe8]), new Uint8Array(1_000), tip.seipd]), /partial length/],
      ];
      for (const [ciphertext, why] of cases) {
        const run = await runDecrypt(dir, ciphertext, identity);
        expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile header', error: expect.stringMatching(why), hint: expect.stringMatching(/not made by a Sealdrop page/) });
        expect(run.left).toEqual([]);
      }
    } finally {
      workers.transform = (s) => s;
    }
  });

  it('what pages and gpg send passes: one PKESK, a marker packet, a file shorter than the head', async () => {
    workers.transform = FAST_OFF;
    try {
      const marker = packet(10, Buffer.from('PGP'));
      expect((await runDecrypt(dir, Buffer.concat([marker, tip.pkesk, tip.seipd]), identity)).outcome.status).toBe('ok');
      expect((await runDecrypt(dir, Buffer.concat([tip.pkesk, tip.seipd]), identity)).outcome.status).toBe('ok');
    } finally {
      workers.transform = (s) => s;
    }
  });
});

describe('signatures inside the encryption', () => {
  it('more than 4 one-pass signatures are refused before the data is read; 2 still decrypt, as a bad signature', async () => {
    const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'source' }], format: 'object' });
    const signed = async (n: number) => (await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: await envelope(200_000) }),
      encryptionKeys: pub,
      signingKeys: Array.from({ length: n }, () => privateKey),
      format: 'binary',
    })) as Uint8Array;
    const many = await runDecrypt(dir, await signed(200), identity);
    expect(many.outcome).toMatchObject({ status: 'failed', reason: 'too many signatures', error: expect.stringMatching(/carries 200 signatures/) });
    expect(many.left).toEqual([]);
    const two = await runDecrypt(dir, await signed(2), identity);
    expect(two.outcome).toMatchObject({ status: 'ok', signature: { status: 'bad', why: expect.stringMatching(/carries 2 signatures/) } });
  });
});
