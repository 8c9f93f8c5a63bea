/**
 * @module bench/_cheap-flood-client — the attacker of bench/abuse.bench.ts's adaptive phase, in its
 * own process: valid-but-cheap opens, each paying the price the server asks at that moment with
 * native SHA-256 on one core (node:crypto, far faster than a browser), as a returning source
 * (LOOKUP_ID, a known codename) announcing a small upload it never sends. CLIENTS loops share the
 * core. Prints `{ "ready": true }`, then obeys JSON lines on stdin: `{ "run": true }`,
 * `{ "pause": true }`, `{ "snapshot": true }` (prints `{ "opens": n, "statuses": {...},
 * "difficulty": last price paid }`). Exits when stdin closes.
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { solveNatively } from './_native-pow.ts';

const BASE = process.env.BASE!;
const LOOKUP_ID = process.env.LOOKUP_ID!;
const CLIENTS = Number(process.env.CHEAP_FLOOD_CLIENTS ?? 4);

let paused = true;
let resume: () => void = () => {};
let resumed = new Promise<void>((r) => (resume = r));
let opens = 0;
let difficulty = 0;
const statuses: Record<string, number> = {};

async function one(): Promise<void> {
  const pow = await fetch(`${BASE}/api/v1/pow`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  const challenge = (await pow.json()) as { token: string; difficulty: number };
  const nonce = await solveNatively(challenge.token, challenge.difficulty);
  const res = await fetch(`${BASE}/api/v1/uploads`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      pow: { token: challenge.token, nonce },
      lookupId: LOOKUP_ID,
      size: 4096,
      chunkSize: 4096,
      chunks: 1,
      sha256: randomBytes(32).toString('hex'),
    }),
  });
  await res.arrayBuffer();
  statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  if (res.status === 201) difficulty = challenge.difficulty;
  opens++;
}

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
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
  const command = JSON.parse(line) as { run?: boolean; pause?: boolean; snapshot?: boolean };
  if (command.run) {
    paused = false;
    resume();
  }
  if (command.pause) {
    paused = true;
    resumed = new Promise<void>((r) => (resume = r));
  }
  if (command.snapshot) process.stdout.write(`${JSON.stringify({ opens, statuses: { ...statuses }, difficulty })}\n`);
});
commands.on('close', () => process.exit(0));
