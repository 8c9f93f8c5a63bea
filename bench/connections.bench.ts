/**
 * @module bench/connections.bench — honest text tips while an attacker holds idle keep-alive
 * connections to the source listener (issue 9: 20,600 of them once took all 20,000 file
 * descriptors of the process, and honest sources got nothing).
 *
 * The real source app (bench/_source-server.ts: the listener's timeouts and connection budget as
 * server/main.ts sets them, the cap at its default from this machine's fd limit unless
 * SOURCE_MAX_CONNECTIONS is set) over HTTP on PostgreSQL (BENCH_DATABASE_URL), in a fresh database
 * this bench creates and drops; PoW difficulty 0. Two phases:
 *   - alone: HONEST_CLIENTS closed loops of complete text tips (challenge, open with new reply
 *     keys, the one chunk) for PHASE_MS; each tip's latency
 *   - held: bench/_idle-holder.ts (its own process) opens BENCH_IDLE_CONNECTIONS idle keep-alive
 *     connections (default 1.5 times the cap) and opens each again a second after the server
 *     closes it; then the same tips for PHASE_MS
 * Printed: the connections the attacker held and the server's counts (open, the longest-idle
 * closed, refused at the cap, its file descriptors against its limit, its RSS), and honest tips/s, latency
 * p50/p99 and errors in each phase. About a minute with the defaults.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateSourceKeys } from '../protocol/source-keys.ts';
import { readFileDescriptorLimit } from '../server/connection-budget.ts';
import { demoNewsroomKey } from '../server/test-helpers.ts';
import { fmt, freshDatabase, makeTip, sendTip, startChild, type Tip } from './_load.ts';

const SERVER = fileURLToPath(new URL('./_source-server.ts', import.meta.url));
const HOLDER = fileURLToPath(new URL('./_idle-holder.ts', import.meta.url));
const HONEST_CLIENTS = Number(process.env.BENCH_HONEST_CLIENTS ?? 4);
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 15_000);

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

/** Closed loops of complete tips for `ms`: each tip's latency and the failures. */
async function honestTips(base: string, tips: Tip[], sourceKeys: Awaited<ReturnType<typeof generateSourceKeys>>, ms: number) {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const endAt = Date.now() + ms;
  const started = performance.now();
  await Promise.all(
    tips.map(async (tip) => {
      while (Date.now() < endAt) {
        const t0 = performance.now();
        try {
          await sendTip(base, tip, sourceKeys);
          latencies.push(performance.now() - t0);
        } catch (error) {
          const key = (error as Error).message.slice(0, 60) || (error as Error).name;
          errors[key] = (errors[key] ?? 0) + 1;
        }
      }
    }),
  );
  return { perSecond: latencies.length / ((performance.now() - started) / 1000), latencies, errors };
}

const line = (name: string, r: Awaited<ReturnType<typeof honestTips>>) =>
  `${name}: ${fmt(r.perSecond, 1)} tips/s, latency p50 ${fmt(percentile(r.latencies, 50))} ms, p99 ${fmt(percentile(r.latencies, 99))} ms ` +
  `(${r.latencies.length} tips), errors ${JSON.stringify(r.errors)}`;

export async function run(): Promise<void> {
  const database = await freshDatabase('sealdrop_conns');
  const children: Array<{ kill(): void }> = [];
  try {
    const server = await startChild(SERVER, { MODE: 'source', DATABASE_URL: database.url, POW_DIFFICULTY: '0', BENCH_BUDGET_STATS: '1' });
    children.push({ kill: () => server.process.kill('SIGTERM') });
    const base = `http://127.0.0.1:${server.first.port as number}`;
    const pid = server.process.pid!;
    const maxConnections = server.first.maxConnections as number;
    const fdLimit = readFileDescriptorLimit(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    const held = Number(process.env.BENCH_IDLE_CONNECTIONS ?? Math.round(maxConnections * 1.5));
    console.log(
      `server: fd limit ${fdLimit ?? 'unknown'}, connection cap ${maxConnections} (high-water ${server.first.highWater as number}); ` +
        `attacker: ${held} idle keep-alive connections, each opened again 1 s after the server closes it; ${HONEST_CLIENTS} honest clients`,
    );
    const serverStats = async () => {
      server.process.stdin!.write('\n');
      return server.next();
    };
    const fds = () => readdirSync(`/proc/${pid}/fd`).length;
    const rssMiB = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

    const newsroom = (await demoNewsroomKey()).key;
    const sourceKeys = await generateSourceKeys('c'.repeat(64), newsroom);
    const tips = await Promise.all(Array.from({ length: HONEST_CLIENTS }, () => makeTip(newsroom)));
    // warm-up: the key-check workers and the database pool
    await honestTips(base, tips, sourceKeys, 1000);

    console.log(line('alone', await honestTips(base, tips, sourceKeys, PHASE_MS)));
    console.log(`  server: ${JSON.stringify(await serverStats())}, ${fds()} fds open, RSS ${fmt(rssMiB())} MiB`);

    const holder = await startChild(HOLDER, { PORT: String(server.first.port), HOLD: String(held), REOPEN_MS: '1000' });
    children.push({ kill: () => holder.process.stdin!.end() });
    console.log(`  attacker ready: ${JSON.stringify(holder.first)}`);
    const during = await honestTips(base, tips, sourceKeys, PHASE_MS);
    holder.process.stdin!.write('\n');
    const attacker = await holder.next();
    const stats = await serverStats();
    console.log(line(`while ${held} idle connections were held`, during));
    console.log(
      `  attacker: ${attacker.open as number} connections open at the end, ${attacker.opened as number} opened in all, ` +
        `${attacker.closedByServer as number} closed by the server, ${attacker.failed as number} connects failed`,
    );
    console.log(`  server: ${JSON.stringify(stats)}, ${fds()} fds open of ${fdLimit ?? 'unknown'}, RSS ${fmt(rssMiB())} MiB`);
  } finally {
    for (const child of children.reverse()) child.kill();
    await new Promise((r) => setTimeout(r, 500));
    await database.drop();
  }
}
