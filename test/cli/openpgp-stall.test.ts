/**
 * OpenPGP.js 6 stops for good (its promises never settle) on some SEIPD plaintexts when it streams:
 * a SEIPD, SED or AEAD packet inside the encryption (any sender can make one, with a valid MDC), or
 * the garbage a wrong session key gives. `sealdrop decrypt` waited there forever, and every tip
 * after it in the bundle with it (found when CI hung in test/cli/attack14d/pkesk-toctou.test.ts).
 * The usual path now ends such a tip as 'stalled' (cli/openpgp-watch.ts); nothing of it is kept.
 * The packets it was seen to stop on are now refused before it reads them (cli/inner-packets.ts:
 * no tip holds a SEIPD, SED or AEAD packet inside, and the garbage of the wrong session key here
 * begins with a SED's header); the watch stays for what nobody has found yet.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OpenPgpStalled, OpenPgpTooCostly, watchOpenPgp } from '../../cli/openpgp-watch.ts';
import type { Identity } from '../../cli/identities.ts';
import { openPgpCpuBudget } from '../../cli/submission.ts';
import { demoKeys, envelope, handMade, literalPacket, runDecrypt } from './attack14c/_helpers.ts';
import { FAST_OFF } from './attack14c/_mock-workers.ts';
import { stallingCiphertexts } from './fixtures.ts';

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
  dir = await mkdtemp(join(tmpdir(), 'openpgp-stall-'));
  ({ pub, identity } = await demoKeys());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a tip OpenPGP.js never finishes', () => {
  // These stopped OpenPGP.js, and the watch ended them as 'stalled' after its idle time. Now the
  // packets inside are refused at their header when their tag is none a tip holds
  // (cli/inner-packets.ts), before OpenPGP.js reads one: with an idle time of a minute, an answer
  // in time says it was no stop the watch ended.
  for (const [name, innerTag, innerBytes] of [
    ['a SEIPD packet inside the encryption (3 MB)', 18, 3_000_000],
    ['a SEIPD packet inside the encryption (600 bytes)', 18, 600],
    ['a SED packet inside the encryption', 9, 3_000_000],
    ['an AEAD packet inside the encryption', 20, 3_000_000],
  ] as const) {
    it(`${name}: refused at its header ('hostile packet'), before OpenPGP.js stops on it; nothing kept`, async () => {
      const { innerSeipd } = await stallingCiphertexts(pub, { innerTag, innerBytes });
      const run = await runDecrypt(dir, innerSeipd, identity, { openPgpIdleMs: 60_000 });
      expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile packet', error: expect.stringMatching(new RegExp(`^a packet of tag ${innerTag} \\(\\w+\\) inside the encryption, which no tip holds`)) });
      expect(run.left, 'nothing in OUT_DIR, no staging folder').toEqual([]);
    }, 20_000);
  }

  it("a PKESK opening to another session key (garbage plaintext OpenPGP.js stopped on, the header of a SED): 'hostile packet', nothing kept", async () => {
    const { wrongSessionKey } = await stallingCiphertexts(pub);
    const run = await runDecrypt(dir, wrongSessionKey, identity, { openPgpIdleMs: 60_000 });
    expect(run.outcome).toMatchObject({ status: 'failed', reason: 'hostile packet', error: expect.stringMatching(/^a packet of tag 9 \(SED\) inside the encryption/) });
    expect(run.left).toEqual([]);
  }, 20_000);

  it('an honest tip through the usual path is not taken for a stop, even at a tenth of the default', async () => {
    workers.transform = FAST_OFF; // the fast path declines at once: OpenPGP.js streams the whole tip
    try {
      const message = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: await envelope(3_000_000) }), encryptionKeys: pub, format: 'binary' })) as Uint8Array;
      const run = await runDecrypt(dir, message, identity, { openPgpIdleMs: 1000 });
      expect(run.outcome.status).toBe('ok');
      expect(run.files?.length).toBe(3_000_000);
    } finally {
      workers.transform = (source) => source;
    }
  });
});

describe('a tip OpenPGP.js finishes only after very long (the attacker, helper attack-stall2)', () => {
  // before: a 2.16 MB tip in 16-byte parts, 36.9 s in `sealdrop decrypt`; 1 MB in 1-byte parts, over 100 s
  it("a SEIPD cut into 16-byte parts: 'too costly' at its CPU budget (10 s + 0.1 s per MiB), nothing kept", async () => {
    const { message } = await handMade(pub, literalPacket(await envelope(2_000_000)), { partial: 4 });
    const start = process.cpuUsage();
    const run = await runDecrypt(dir, message, identity);
    const cpu = process.cpuUsage(start);
    expect(run.outcome).toMatchObject({ status: 'failed', reason: 'too costly', error: expect.stringMatching(/costs more to decrypt than its size allows/) });
    expect(run.left).toEqual([]);
    // ended at the budget (10.2 s of CPU for this size), not long after it
    expect((cpu.user + cpu.system) / 1e6).toBeLessThan(2 * openPgpCpuBudget(message.length) / 1000);
  }, 120_000);

  it("a literal packet cut into 1-byte parts inside the encryption: 'too costly', nothing kept", async () => {
    const { message } = await handMade(pub, literalPacket(await envelope(1_000_000), { partial: 0 }));
    const run = await runDecrypt(dir, message, identity);
    expect(run.outcome).toMatchObject({ status: 'failed', reason: 'too costly' });
    expect(run.left).toEqual([]);
  }, 120_000);
});

describe('watchOpenPgp', () => {
  it('ends a wait on a promise that never settles, with the loop free and nothing in flight', async () => {
    const watch = watchOpenPgp({ idleMs: 200, busy: () => false });
    try {
      await expect(watch.race(new Promise(() => {}))).rejects.toBeInstanceOf(OpenPgpStalled);
    } finally {
      watch.stop();
    }
  });

  it('does not count time while something of ours is in flight (a slow read or write)', async () => {
    let inFlight = true;
    const watch = watchOpenPgp({ idleMs: 200, busy: () => inFlight });
    try {
      // in flight for five times the limit, then it settles
      const slow = new Promise<string>((resolve) => setTimeout(() => {
        inFlight = false;
        resolve('read');
      }, 1000));
      await expect(watch.race(slow)).resolves.toBe('read');
    } finally {
      watch.stop();
    }
  });

  it('does not count time the loop was held by JavaScript (a long computation)', async () => {
    const watch = watchOpenPgp({ idleMs: 200, busy: () => false });
    try {
      const computed = (async () => {
        for (let i = 0; i < 3; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          const until = performance.now() + 400; // the loop held twice the limit, three times
          while (performance.now() < until);
        }
        return 'computed';
      })();
      await expect(watch.race(computed)).resolves.toBe('computed');
    } finally {
      watch.stop();
    }
  });

  it('ends a wait past its CPU budget, though things move', async () => {
    const watch = watchOpenPgp({ idleMs: 10_000, busy: () => false, cpuBudgetMs: 300 });
    try {
      const spin = (async () => {
        for (;;) {
          const until = performance.now() + 60;
          while (performance.now() < until);
          watch.progress();
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      })();
      await expect(watch.race(spin)).rejects.toBeInstanceOf(OpenPgpTooCostly);
    } finally {
      watch.stop();
    }
  });

  it('progress starts the count again', async () => {
    const watch = watchOpenPgp({ idleMs: 300, busy: () => false });
    const ticker = setInterval(() => watch.progress(), 50);
    try {
      await expect(watch.race(new Promise((resolve) => setTimeout(() => resolve('moved'), 1200)))).resolves.toBe('moved');
    } finally {
      clearInterval(ticker);
      watch.stop();
    }
  });
});
