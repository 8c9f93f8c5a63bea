/**
 * @module bench/_idle-holder — the attacker of bench/connections.bench.ts, in its own process:
 * HOLD connections to PORT on 127.0.0.1, each sending one `GET /health` and then nothing (an idle
 * keep-alive connection, kept 120 s by the server), opened RAMP at a time; each one the server
 * closes is opened again REOPEN_MS later, so the attacker keeps trying to hold HOLD. Prints
 * `{ "ready": true, ... }` once it has tried to open all of them, then, for each line on stdin,
 * `{ "open": connections open now, "opened": ever, "closedByServer": n, "failed": connects that failed }`.
 * Exits when stdin closes.
 */
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const PORT = Number(process.env.PORT);
const HOLD = Number(process.env.HOLD ?? 1000);
const RAMP = Number(process.env.RAMP ?? 250);
const REOPEN_MS = Number(process.env.REOPEN_MS ?? 1000);

let open = 0;
let opened = 0;
let closedByServer = 0;
let failed = 0;

function hold(): void {
  const socket = connect(PORT, '127.0.0.1');
  let connected = false;
  socket.on('connect', () => {
    connected = true;
    open++;
    opened++;
    socket.write('GET /health HTTP/1.1\r\nHost: sealdrop\r\n\r\n');
  });
  socket.on('data', () => {});
  socket.on('error', () => {});
  socket.on('close', () => {
    if (connected) {
      open--;
      closedByServer++;
    } else failed++;
    setTimeout(hold, REOPEN_MS).unref();
  });
}

for (let i = 0; i < HOLD; i += RAMP) {
  for (let j = i; j < Math.min(HOLD, i + RAMP); j++) hold();
  await new Promise((r) => setTimeout(r, 50));
}
// give the last ones their round trip
await new Promise((r) => setTimeout(r, 1000));
const stats = () => ({ open, opened, closedByServer, failed });
process.stdout.write(`${JSON.stringify({ ready: true, ...stats() })}\n`);
const commands = createInterface({ input: process.stdin });
commands.on('line', () => process.stdout.write(`${JSON.stringify(stats())}\n`));
commands.on('close', () => process.exit(0));
