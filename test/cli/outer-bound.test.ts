/**
 * OpenPGP.js decrypts every PKESK before the data and holds every packet before it whole. The
 * attacker (helper attack-stall) sent 200 000 copies of one PKESK before a valid SEIPD: a 19.2 MB tip
 * held `sealdrop decrypt` 4 min 7 s at 3.9 GB (2 GiB, the upload cap, would be hours, or the heap's
 * end). The usual path now refuses what no page sends before OpenPGP.js parses a packet.
 */

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Identity } from '../../cli/identities.ts';
import { demoKeys, envelope, handMade, literalPacket, packet, runDecrypt } from './attack14c/_helpers.ts';
import { FAST_OFF } from './attack14c/_mock-workers.ts';
import { HEAD_BYTES } from '../../cli/seipd.ts';
import { DEMO_FINGERPRINT, DEMO_PUBLIC_KEY, runGpg } from './helpers.ts';

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

/** A new-format packet length at `at` (1, 2 or 5 octets; a partial length: its first part). */
const newLength = (bytes: Uint8Array, at: number): { length: number; octets: number } => {
  const o = bytes[at]!;
  if (o < 192) return { length: o, octets: 1 };
  if (o < 224) return { length: ((o - 192) << 8) + bytes[at + 1]! + 192, octets: 2 };
  if (o < 255) return { length: 2 ** (o & 0x1f), octets: 1 };
  return { length: Buffer.from(bytes.subarray(at + 1, at + 5)).readUInt32BE(), octets: 5 };
};
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

  it('a SEIPD v2 with chunks over 4 MiB (RFC 9580) is refused before OpenPGP.js reads a chunk whole; a v6 tip at the page\'s chunk size decrypts', async () => {
    // (helper-77: chunk size octet 22, 256 MiB chunks: a 210 MB tip held 2 min 25 s at 717 MB)
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'curve25519', config: { v6Keys: true, aeadProtect: true }, userIDs: [{ name: 'newsroom' }], format: 'object' });
    const v6: Identity = { path: 'v6.sec.asc', fingerprint: privateKey.getFingerprint(), keyIds: new Set(privateKey.getKeyIDs().map((id) => id.toHex())), key: privateKey };
    const tip = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: await envelope(100_000) }), encryptionKeys: publicKey, format: 'binary', config: { aeadProtect: true } })) as Uint8Array;
    // the SEIPD's chunk size octet: after the PKESK (new-format packets), the SEIPD's header, then version, cipher, AEAD
    const pkeskLength = newLength(tip, 1);
    const seipdAt = 1 + pkeskLength.octets + pkeskLength.length;
    expect(tip[seipdAt]! & 0x3f).toBe(18);
    const chunkAt = seipdAt + 1 + newLength(tip, seipdAt + 1).octets + 3;
    expect(tip[chunkAt - 3]).toBe(2);
    workers.transform = FAST_OFF;
    try {
      expect((await runDecrypt(dir, tip, v6)).outcome.status).toBe('ok');
      for (const [octet, refused] of [[22, true], [17, true], [16, false]] as const) {
        const changed = Buffer.from(tip);
        changed[chunkAt] = octet;
        const run = await runDecrypt(dir, changed, v6);
        if (refused) expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile header', error: expect.stringMatching(new RegExp(`AEAD chunks of 2\\^${octet + 6} bytes`)) });
        else expect(run.outcome).toMatchObject({ status: 'failed', reason: expect.not.stringMatching(/hostile header/) });
        expect(run.left).toEqual([]);
      }
    } finally {
      workers.transform = (s) => s;
    }
  });

  it("a SEIPD v2 whose header ends past the head is refused ('hostile header'): 32 packets of 4 096 bytes before it put its chunk size octet beyond (helper-78)", async () => {
    const padding = packet(21, new Uint8Array(4096));
    const before = copies(32, padding);
    // version 2, AES-256, OCB, chunk size octet 22, then the salt and the chunks: refused on the header
    const seipd = packet(18, Buffer.concat([Buffer.from([2, 9, 2, 22]), new Uint8Array(32 + 1000)]));
    expect(before.length + 6 + 3).toBeGreaterThanOrEqual(HEAD_BYTES);
    workers.transform = FAST_OFF;
    try {
      const run = await runDecrypt(dir, Buffer.concat([before, seipd]), identity);
      expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile header', error: expect.stringMatching(/data packet's header past its first \d+ bytes/) });
    } finally {
      workers.transform = (s) => s;
    }
  });

  it("nothing passes after the encrypted data: a literal of 20 MB (in 1-byte parts too), a signature of 65 KB ('hostile packet'); no packet of OpenPGP.js's reading whole", async () => {
    const onePassFree = Buffer.concat([tip.pkesk, tip.seipd]);
    const hashed = Buffer.concat([Buffer.from([5, 2, 0, 0, 0, 0]), new Uint8Array(130_000)]);
    const signature = packet(2, Buffer.concat([Buffer.from([4, 0x00, 1, 8, hashed.length >> 8 & 0xff, hashed.length & 0xff]), hashed.subarray(0, 65_000), Buffer.from([0, 0, 0xab, 0xcd, 0, 1, 1])]));
    // (a literal or a signature outside: no tip holds one there, refused for its tag at its header)
    const cases: [Uint8Array, RegExp][] = [
      [literalPacket(new Uint8Array(20_000_000)), /a packet of tag 11 \(literal data\) outside the encryption, which no tip holds/],
      [literalPacket(new Uint8Array(300_000), { partial: 0 }), /a packet of tag 11 \(literal data\) outside the encryption, which no tip holds/],
      [signature, /a packet of tag 2 \(signature\) outside the encryption, which no tip holds/],
      [packet(18, new Uint8Array(300_000), 0), /a second data packet \(tag 18\) outside the encryption/],
    ];
    workers.transform = FAST_OFF;
    try {
      for (const [after, why] of cases) {
        const run = await runDecrypt(dir, Buffer.concat([onePassFree, after]), identity);
        expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile packet', error: expect.stringMatching(why) });
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
    expect(many.outcome).toMatchObject({ status: 'failed', reason: 'too many signatures', error: expect.stringMatching(/carries more than 4 signatures/) });
    expect(many.left).toEqual([]);
    const two = await runDecrypt(dir, await signed(2), identity);
    expect(two.outcome).toMatchObject({ status: 'ok', signature: { status: 'bad', why: expect.stringMatching(/carries 2 signatures/) } });
  });

  // The attacker's chair (helper-76): OpenPGP.js parses a signature's subpackets in one synchronous
  // loop, an object each: one v6 signature with 60 MiB of 2-byte subpackets (a 62.9 MB tip) ran the
  // CLI out of heap, the CPU budget never checked (the loop was held); 800 000 small signatures
  // before the data cost 937 MB before the budget ended them.
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  /** 2-byte subpackets: length 1, type 110 (unknown, not critical). */
  const subpackets = (bytes: number) => Buffer.from(Array.from({ length: bytes - (bytes % 2) }, (_, i) => (i % 2 === 0 ? 1 : 110)));
  const created = Buffer.concat([Buffer.from([5, 2]), u32(Math.floor(Date.now() / 1000))]);
  /** A v4 RSA signature packet (a 1-bit MPI) whose body is `bodyBytes` long (at least 25), hashed area padded with subpackets. */
  const v4Signature = (bodyBytes = 25) => {
    const hashed = Buffer.concat([created, subpackets(bodyBytes - 25)]);
    return packet(2, Buffer.concat([Buffer.from([4, 0x00, 1, 8]), u16(hashed.length), hashed, u16(0), Buffer.from([0xab, 0xcd]), Buffer.from([0, 1, 1])]));
  };
  const literal = async () => literalPacket(await envelope(1000));

  it("a signature packet over 8 192 bytes is refused before OpenPGP.js reads it ('hostile packet'): a v6 one of 12 MiB of subpackets, a v4 one of 130 KB", async () => {
    const hashed = Buffer.concat([created, subpackets(12 * 2 ** 20)]);
    const v6 = packet(2, Buffer.concat([Buffer.from([6, 0x00, 1, 8]), u32(hashed.length), hashed, u32(0), Buffer.from([0xab, 0xcd, 16]), new Uint8Array(16), u16(8), Buffer.from([0x80])]));
    for (const signature of [v6, v4Signature(130_000)]) {
      const { message } = await handMade(pub, Buffer.concat([signature, await literal()]));
      const run = await runDecrypt(dir, message, identity);
      expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile packet', error: expect.stringMatching(/a packet of tag 2 inside the encryption is \d+ bytes/), hint: expect.stringMatching(/not made by a Sealdrop page/) });
      expect(run.left).toEqual([]);
    }
  });

  it('a signature packet of 8 192 bytes is parsed: the tip decrypts, its signature bad', async () => {
    const { message } = await handMade(pub, Buffer.concat([v4Signature(8192), await literal()]));
    const run = await runDecrypt(dir, message, identity);
    expect(run.outcome).toMatchObject({ status: 'ok', signature: { status: 'bad' } });
  });

  it("the fifth signature before the data is refused as it is parsed ('too many signatures'): 5, and 800 000; 4 decrypt", async () => {
    for (const n of [5, 800_000]) {
      const { message } = await handMade(pub, Buffer.concat([...Array.from({ length: n }, () => v4Signature()), await literal()]));
      const run = await runDecrypt(dir, message, identity);
      expect(run.outcome).toMatchObject({ status: 'failed', reason: 'too many signatures', error: expect.stringMatching(/more than 4 signatures/) });
      expect(run.left).toEqual([]);
    }
    const { message } = await handMade(pub, Buffer.concat([...Array.from({ length: 4 }, () => v4Signature()), await literal()]));
    expect((await runDecrypt(dir, message, identity)).outcome).toMatchObject({ status: 'ok', signature: { status: 'bad' } });
  }, 60_000);

  it("after the data too: a one-pass signature's trailing signature of 130 KB is 'hostile packet' (the literal in parts: they are followed); one without a one-pass signature fails OpenPGP.js's grammar ('damaged'); nothing kept", async () => {
    const onePass = packet(4, Buffer.from([3, 0x00, 8, 1, 1, 2, 3, 4, 5, 6, 7, 8, 1]));
    const cases: [Uint8Array, string][] = [
      [Buffer.concat([onePass, await literal(), v4Signature(130_000)]), 'hostile packet'],
      [Buffer.concat([onePass, literalPacket(await envelope(100_000), { partial: 9 }), v4Signature(130_000)]), 'hostile packet'],
      [Buffer.concat([await literal(), v4Signature()]), 'damaged'],
    ];
    for (const [inner, reason] of cases) {
      const { message } = await handMade(pub, inner);
      const run = await runDecrypt(dir, message, identity);
      expect(run.outcome).toMatchObject({ status: 'failed', reason });
      expect(run.left).toEqual([]);
    }
  });

  it("any other packet inside is bounded the same, before OpenPGP.js holds it: 50 MB of padding, a user ID of 20 KB, an old-format packet of indeterminate length, 17 markers ('hostile packet'); 16 markers decrypt", async () => {
    const marker = packet(10, Buffer.from('PGP'));
    const cases: [Uint8Array, RegExp][] = [
      [packet(21, new Uint8Array(50_000_000)), /tag 21 inside the encryption is 50000000 bytes/],
      // (refused for its tag now, before its length is looked at: no tip holds a user ID)
      [packet(13, new Uint8Array(20_000)), /tag 13 \(user ID\) inside the encryption, which no tip holds/],
      [Buffer.concat([Buffer.from([0x8b]), new Uint8Array(100)]), /tag 2 inside the encryption has an indeterminate length/],
      [Buffer.concat(Array.from({ length: 17 }, () => marker)), /more than 16 packets other than data/],
    ];
    for (const [before, why] of cases) {
      const { message } = await handMade(pub, Buffer.concat([before, await literal()]));
      const run = await runDecrypt(dir, message, identity);
      expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile packet', error: expect.stringMatching(why) });
      expect(run.left).toEqual([]);
    }
    const { message } = await handMade(pub, Buffer.concat([...Array.from({ length: 16 }, () => marker), await literal()]));
    expect((await runDecrypt(dir, message, identity)).outcome.status).toBe('ok');
  });

  it("a second data packet in a list is refused before OpenPGP.js reads it whole ('hostile packet'): a literal of 20 MB after the first, in 1-byte parts or not", async () => {
    for (const second of [literalPacket(new Uint8Array(20_000_000)), literalPacket(new Uint8Array(200_000), { partial: 0 })]) {
      const { message } = await handMade(pub, Buffer.concat([await literal(), second]));
      const run = await runDecrypt(dir, message, identity);
      expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile packet', error: expect.stringMatching(/a second data packet \(tag 11\)/) });
      expect(run.left).toEqual([]);
    }
  });

  it("a copy damaged where the packets inside begin is told as damaged ('checksum mismatch'), not as a hostile sender's tip", async () => {
    // a bit flipped in the SEIPD's second block turns the literal packet's tag 11 into 15 (CFB: the
    // same bit of the plaintext), a packet of 20 KB the bound refuses before the end, where the
    // SHA-256 is checked
    const { message, pkesk } = await handMade(pub, literalPacket(await envelope(20_000)));
    const tagAt = pkesk.length + 6 + 1 + 18; // the SEIPD's 5-octet header, its version, the 18-byte prefix
    const damaged = Buffer.from(message);
    damaged[tagAt]! ^= 0x04;
    const run = await runDecrypt(dir, message, identity, { beforeRun: (file) => writeFileSync(file, damaged) });
    expect(run.outcome).toMatchObject({ status: 'failed', reason: 'checksum mismatch', hint: expect.stringMatching(/fresh pull/) });
    expect(run.left).toEqual([]);
    // the same bytes as the bundle says: the sender's
    expect((await runDecrypt(dir, damaged, identity)).outcome).toMatchObject({ status: 'failed', reason: 'hostile packet' });
  });

  it('inside a compressed packet too', async () => {
    const inner = Buffer.concat([v4Signature(130_000), await literal()]);
    // compression algorithm 0: uncompressed, the packets as they are
    const { message } = await handMade(pub, packet(8, Buffer.concat([Buffer.from([0]), inner])));
    const run = await runDecrypt(dir, message, identity);
    expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile packet', error: expect.stringMatching(/tag 2 inside the encryption is \d+ bytes/) });
  });
});

// OpenPGP.js refuses a packet it does not allow inside a SEIPD v1 only after it has read the rest
// of the tip whole (its MDC error would take precedence): a 10-byte packet of tag 30 before a
// 400 MiB literal, a 419 MB tip, held the CLI 2.6 to 7.9 s at 941-949 MB. Now the follower refuses
// every tag a tip never holds at its header.
describe('packets no tip holds', () => {
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  const literal = async () => literalPacket(await envelope(1000));
  /** The bytes the usual path alone read of `ciphertext` before its outcome. */
  const readOf = async (ciphertext: Uint8Array) => {
    let told = 0;
    workers.transform = FAST_OFF;
    try {
      const run = await runDecrypt(dir, ciphertext, identity, { onCiphertextBytes: (n) => (told += n) });
      return { ...run, told };
    } finally {
      workers.transform = (s) => s;
    }
  };

  it("a first packet inside of tag 30, or a PKESK, before a 16 MiB literal: 'hostile packet' at its header, the rest unread", async () => {
    const big = literalPacket(new Uint8Array(16 * 2 ** 20), { partial: 16 });
    for (const [first, why] of [
      [packet(30, new Uint8Array(10)), /^a packet of tag 30 \(unknown\) inside the encryption, which no tip holds/],
      [tip.pkesk, /^a packet of tag 1 \(PKESK\) inside the encryption, which no tip holds/],
    ] as const) {
      const { message } = await handMade(pub, Buffer.concat([first, big]));
      const run = await readOf(message);
      expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile packet', error: expect.stringMatching(why), hint: expect.stringMatching(/not made by a Sealdrop page/) });
      expect(run.left).toEqual([]);
      // OpenPGP.js read all of it before (then 'damaged'); now what the reader had read ahead (5 MiB here)
      expect(run.told, `${run.told} of ${message.length} bytes read`).toBeLessThan(message.length / 2);
    }
  });

  it("every other tag inside, first or after the data, and inside a compressed packet: 'hostile packet', naming it", async () => {
    for (const tag of [0, 1, 3, 5, 6, 7, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 30, 39, 40, 59, 60, 63]) {
      const small = packet(tag, new Uint8Array(10));
      for (const inner of [Buffer.concat([small, await literal()]), Buffer.concat([await literal(), small]), packet(8, Buffer.concat([Buffer.from([0]), small, await literal()]))]) {
        const { message } = await handMade(pub, inner);
        const run = await runDecrypt(dir, message, identity);
        expect(run.outcome, `tag ${tag}`).toMatchObject({ status: 'failed', reason: 'hostile packet', error: expect.stringMatching(new RegExp(`^a packet of tag ${tag} \\([\\w -]+\\) inside the encryption, which no tip holds`)) });
        expect(run.left).toEqual([]);
      }
    }
  }, 60_000);

  it('what a tip holds inside passes: one-pass signature, literal, signature; a compressed packet; padding and a marker', async () => {
    const onePass = packet(4, Buffer.from([3, 0x00, 8, 1, 1, 2, 3, 4, 5, 6, 7, 8, 1]));
    const created = Buffer.concat([Buffer.from([5, 2]), u32(Math.floor(Date.now() / 1000))]);
    const signature = packet(2, Buffer.concat([Buffer.from([4, 0x00, 1, 8, 0, created.length]), created, Buffer.from([0, 0, 0xab, 0xcd, 0, 1, 1])]));
    for (const inner of [
      Buffer.concat([onePass, await literal(), signature]),
      packet(8, Buffer.concat([Buffer.from([0]), await literal()])),
      Buffer.concat([packet(21, new Uint8Array(100)), packet(10, Buffer.from('PGP')), await literal(), packet(21, new Uint8Array(100))]),
    ]) {
      const { message } = await handMade(pub, inner);
      expect((await runDecrypt(dir, message, identity)).outcome.status).toBe('ok');
    }
  });

  it("outside the encryption: a packet of tag 30, a user ID, a literal (not encrypted) are 'hostile packet'; an SKESK and padding before the PKESK pass", async () => {
    for (const [ciphertext, why] of [
      [Buffer.concat([packet(30, new Uint8Array(10)), tip.pkesk, tip.seipd]), /^a packet of tag 30 \(unknown\) outside the encryption/],
      [Buffer.concat([tip.pkesk, packet(13, Buffer.from('source')), tip.seipd]), /^a packet of tag 13 \(user ID\) outside the encryption/],
      [await literal(), /^a packet of tag 11 \(literal data\) outside the encryption/],
    ] as const) {
      const run = await readOf(ciphertext);
      expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile packet', error: expect.stringMatching(why) });
      expect(run.left).toEqual([]);
    }
    const skesk = (await openpgp.encryptSessionKey({ data: randomBytes(32), algorithm: 'aes256', passwords: 'not the key', format: 'binary' })) as Uint8Array;
    for (const before of [skesk, packet(21, new Uint8Array(100))]) {
      expect((await readOf(Buffer.concat([before, tip.pkesk, tip.seipd]))).outcome.status).toBe('ok');
    }
  });

  it('what gpg 2.2 sends passes: --encrypt --sign (compressed, signed inside), --throw-keyids, --symmetric with a key, --compress-algo none', async () => {
    const home = await mkdtemp(join(tmpdir(), 'outer-bound-gpg-'));
    try {
      expect((await runGpg(home, ['--import', DEMO_PUBLIC_KEY])).code).toBe(0);
      expect((await runGpg(home, ['--passphrase', '', '--quick-gen-key', 'Source <s@example.org>', 'future-default', 'sign', 'never'])).code).toBe(0);
      const plain = join(home, 'tip.tar');
      writeFileSync(plain, await envelope(50_000));
      const to = ['--trust-model', 'always', '-r', DEMO_FINGERPRINT];
      for (const args of [
        ['--encrypt', '--sign', '-u', 's@example.org', ...to],
        ['--encrypt', '--throw-keyids', ...to],
        ['--encrypt', '--symmetric', '--passphrase', 'not the key', ...to],
        ['--encrypt', '--compress-algo', 'none', ...to],
      ]) {
        const made = await runGpg(home, [...args, '-o', '-', plain]);
        expect(made.code, `gpg ${args.join(' ')}: ${made.stderr}`).toBe(0);
        const run = await readOf(made.stdout);
        expect(run.outcome.status, `gpg ${args.join(' ')}: ${JSON.stringify(run.outcome)}`).toBe('ok');
      }
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }, 60_000);
});
