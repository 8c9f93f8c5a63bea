/**
 * @module bench/_flood-client — the second client of bench/abuse.bench.ts, in its own process: new
 * source opens with hostile reply keys, each with a fresh proof-of-work token (a token buys one key
 * check per process), FLOOD_CLIENTS loops. Prints `{ "ready": true, "kinds": [...] }` once its keys
 * are built, then obeys JSON lines on stdin: `{ "run": rate }` (0: each loop at its best rate;
 * else at most `rate` opens per second in all), `{ "pause": true }` (the loops finish the open in
 * hand and wait), `{ "snapshot": true }` (prints `{ "opens": n, "statuses": { "400": n, ... } }`).
 * It exits when stdin closes.
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { generateSourceKeys } from '../protocol/source-keys.ts';
import {
  armorPrivate, armorPublic, dsaKey, openpgpKey, packetsOf, rsaKey, TAGS, type KeyPair, type Packet,
} from '../protocol/testdata/hostile-keys.ts';
import { demoNewsroomKey } from '../server/test-helpers.ts';

const BASE = process.env.BASE!;
const CLIENTS = Number(process.env.FLOOD_CLIENTS ?? 50);
let rate = 0;
let paused = true;
let resume: () => void = () => {};
let resumed = new Promise<void>((r) => (resume = r));

const newsroom = (await demoNewsroomKey()).key;
const honest = await generateSourceKeys('f'.repeat(64), newsroom);
const edit = async (change: (pub: Packet[], priv: Packet[]) => void): Promise<KeyPair> => {
  const { pub, priv } = await packetsOf(honest);
  change(pub, priv);
  return { publicKey: armorPublic(pub), lockedPrivateKey: armorPrivate(priv) };
};
const withPublic = (publicKey: string): KeyPair => ({ publicKey, lockedPrivateKey: honest.lockedPrivateKey });
// the key first, then other shapes; the last two are the dearest to refuse: one read to its
// very last packet, one whose shape holds and whose signature is checked in a worker
const kinds: [string, KeyPair][] = [
  ['dsa-16k', withPublic(dsaKey().publicKey)],
  ['rsa-16k', withPublic(rsaKey(16384))],
  ['25-subkeys', await openpgpKey({ type: 'ecc', curve: 'curve25519Legacy', subkeys: Array.from({ length: 25 }, () => ({})) })],
  ['40-certifications', await edit((pub) => void pub.splice(2, 0, ...Array.from({ length: 39 }, () => pub[2]!)))],
  ['ecdsa-p521', await openpgpKey({ type: 'ecc', curve: 'nistP521' })],
  ['v6-ed448', await openpgpKey({ type: 'curve448', config: { v6Keys: true } })],
  ['bad-lock-on-last-packet', await edit((pub, priv) => {
    const sub = priv.findIndex((p) => p.tag === TAGS.secretSubkey);
    priv[sub]!.body[pub[3]!.body.length + 1] = 7;
  })],
  ['tampered-signature', await edit((pub, priv) => {
    for (const b of [pub[2]!.body, priv[2]!.body]) b[b.length - 1]! ^= 1;
  })],
];
// the keys serialised once: this process shares the machine with the server, so its own work is kept small
const keyJson = kinds.map(([, sourceKeys]) => JSON.stringify(sourceKeys));

let opens = 0;
const statuses: Record<string, number> = {};
let next = 0;
let allowance = performance.now();

async function one(): Promise<void> {
  if (rate > 0) {
    // spaced opens: one every 1/rate s, shared by the loops
    const at = Math.max(allowance, performance.now());
    allowance = at + 1000 / rate;
    await new Promise((r) => setTimeout(r, Math.max(0, at - performance.now())));
  }
  const pow = await fetch(`${BASE}/api/v1/pow`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  const { token } = (await pow.json()) as { token: string };
  const res = await fetch(`${BASE}/api/v1/uploads`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: `{"pow":{"token":${JSON.stringify(token)},"nonce":"0"},"lookupId":"${randomBytes(32).toString('hex')}","sourceKeys":${keyJson[next++ % keyJson.length]},"size":5000,"chunkSize":5000,"chunks":1,"sha256":"${'ab'.repeat(32)}"}`,
  });
  await res.arrayBuffer();
  statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  opens++;
}

process.stdout.write(`${JSON.stringify({ ready: true, kinds: kinds.map(([name]) => name) })}\n`);
for (let i = 0; i < CLIENTS; i++) {
  void (async () => {
    for (;;) {
      if (paused) await resumed;
      try {
        await one();
      } catch {
        statuses.error = (statuses.error ?? 0) + 1;
      }
    }
  })();
}
const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  const command = JSON.parse(line) as { run?: number; pause?: boolean; snapshot?: boolean };
  if (command.run !== undefined) {
    rate = command.run;
    allowance = performance.now();
    paused = false;
    resume();
  }
  if (command.pause) {
    paused = true;
    resumed = new Promise<void>((r) => (resume = r));
  }
  if (command.snapshot) process.stdout.write(`${JSON.stringify({ opens, statuses: { ...statuses } })}\n`);
});
commands.on('close', () => process.exit(0));
