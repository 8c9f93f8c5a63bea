/**
 * @module bench/abuse.bench — honest tips while a second client floods hostile source keys.
 *
 * The real source app (bench/_source-server.ts, wired as server/main.ts wires it: the key-check
 * pool sized from the cores) over HTTP on PostgreSQL (BENCH_DATABASE_URL, default the local
 * server), in a fresh database this bench creates and drops; PoW difficulty 0, so neither client
 * pays for tokens and the server's own costs are what is measured. Interleaved over ROUNDS rounds
 * (the machine is shared; the phases' order turns each round), each round measures:
 *   - baseline: a bare Hono app with one trivial POST route on the same node-server, 50 clients
 *   - honest alone: completed text tips per second (challenge + open with new reply keys + the one
 *     chunk), HONEST_CLIENTS closed loops
 *   - the flood alone: bench/_flood-client.ts (its own process, started once) at its best rate, the
 *     server's CPU per hostile open measured directly
 *   - honest while flooded: the same tips, while bench/_flood-client.ts sends new
 *     source opens with hostile keys (the issue's 16,384-bit DSA key, RSA-16384, 25 subkeys, 40
 *     certifications, ECDSA P-521, v6 Ed448, a fault in the last packet, a tampered signature whose
 *     shape holds), each with a fresh token, FLOOD_CLIENTS loops at their best rate
 *   - honest while flooded at a priced rate: the flood limited to what one attacker core could pay
 *     for at difficulty 16 (this machine's native SHA-256 rate / 2^16 tokens per second)
 * The figure: honest tips/s while flooded ÷ alone, the median of the rounds' ratios, goal ≥ 80 %.
 * Then, once, the adaptive difficulty (server/source/pow-load.ts) at work: a second server process
 * on the same database at the real base difficulty (16) and the default flood settings, and
 * bench/_cheap-flood-client.ts opening uploads as a known source with tokens it solves natively at
 * whatever price is asked, for ADAPTIVE_SECONDS; the price is sampled every 2 s, honest tips (solved
 * natively here, so only their open and chunk are timed) go through now and then. The figure: the
 * time an honest source waits during that flood = the proof of work at the price reached, at the
 * hash rate of Firefox with the JIT off (FIREFOX_POW_RATE, measured by bench/pow-rate.bench.ts),
 * plus the open and the chunk.
 * First (alone with BENCH_ABUSE_ONLY=gate): the chunk gate under issue 9's trickling attacker,
 * what holding its whole budget costs the attacker before and after the due that grows with the
 * bytes held (gateHoldCost below).
 * Both clients and the server share this machine's cores, so the flooding client's own work (printed:
 * its CPU per open) also takes CPU from the server and from the honest client; the server's CPU per
 * operation and the cores it kept busy are printed beside each rate, to tell the two apart.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_CHUNK_BYTES, POW_DEFAULT_DIFFICULTY } from '../protocol/limits.ts';
import { generateSourceKeys } from '../protocol/source-keys.ts';
import {
  type ChunkTicket, createChunkGate, DEFAULT_CHUNK_GATE_BYTES, DEFAULT_HOLD_SECONDS, SPILL_CHUNK_REQUESTS,
} from '../server/source/chunk-gate.ts';
import { demoNewsroomKey } from '../server/test-helpers.ts';
import {
  cpuMs, expectStatus, fmt, freshDatabase, load, makeTip, median, postJson, sendTip, startChild, startServer, type Child, type Tip,
} from './_load.ts';
import { solveNatively } from './_native-pow.ts';

const BASELINE_CLIENTS = 50;
const HONEST_CLIENTS = Number(process.env.BENCH_HONEST_CLIENTS ?? 50);
const FLOOD_CLIENTS = Number(process.env.BENCH_FLOOD_CLIENTS ?? 50);
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 4000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PRICED_DIFFICULTY = 16;
const FLOOD = fileURLToPath(new URL('./_flood-client.ts', import.meta.url));
const CHEAP_FLOOD = fileURLToPath(new URL('./_cheap-flood-client.ts', import.meta.url));
const ADAPTIVE_SECONDS = Number(process.env.BENCH_ADAPTIVE_SECONDS ?? 120);
/** SHA-256/s of the page's worker in Firefox ESR, JIT off (bench/pow-rate.bench.ts, 2026-12-01: median of 3) */
const FIREFOX_POW_RATE = Number(process.env.BENCH_FIREFOX_POW_RATE ?? 33_174);

interface Phase {
  /** honest tips per second (0 in the flood-only phase) */
  perSecond: number;
  errors: number;
  /** server CPU over the phase / honest tips in it */
  cpuMsPerOp: number;
  /** server CPU over the phase / its wall time: 1 = one core busy throughout */
  serverCores: number;
  flood?: { perSecond: number; statuses: Record<string, number>; serverCpuMsPerOpen: number; clientCpuMsPerOpen: number };
}

type Kind = 'alone' | 'floodOnly' | 'flooded' | 'priced';

/** Native SHA-256 of short inputs per second on this machine: what one attacker core pays with. */
function sha256PerSecond(): number {
  const input = Buffer.from('v1.AAAAAAAAAAAAAAAAAAAAAA.1767225600.16.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:123456');
  let n = 0;
  const until = performance.now() + 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) createHash('sha256').update(input).digest();
    n += 1000;
  }
  return n;
}

type Flood = Awaited<ReturnType<typeof startChild>>;
type Snapshot = { opens: number; statuses: Record<string, number> };

function tell(flood: Flood, command: Record<string, unknown>): void {
  flood.process.stdin!.write(`${JSON.stringify(command)}\n`);
}

async function snapshot(flood: Flood): Promise<Snapshot> {
  tell(flood, { snapshot: true });
  return (await flood.next()) as Snapshot;
}

/**
 * One phase: the honest loops alone, the flood alone (the server's CPU per hostile open measured
 * directly), or both; the flood at its best rate or at `pricedRate`.
 */
async function runPhase(kind: Kind, server: Child, flood: Flood, once: (client: number) => Promise<void>, pricedRate: number): Promise<Phase> {
  const flooding = kind !== 'alone';
  if (flooding) {
    tell(flood, { run: kind === 'priced' ? pricedRate : 0 });
    // let the flood reach its rate before anything is counted
    await new Promise((r) => setTimeout(r, 1000));
  }
  try {
    const pid = server.process.pid!;
    const floodPid = flood.process.pid!;
    // the honest loops' own warm-up comes first; everything is counted from where they start counting
    const counted = kind === 'floodOnly' ? undefined : load(HONEST_CLIENTS, PHASE_MS, once);
    if (counted) await new Promise((r) => setTimeout(r, Math.min(1000, PHASE_MS / 4)));
    const [first, cpu0, clientCpu0, t0] = [await snapshot(flood), await cpuMs(pid), await cpuMs(floodPid), performance.now()];
    const result = counted ? await counted : (await new Promise((r) => setTimeout(r, PHASE_MS)), { perSecond: 0, done: 0, errors: 0 });
    const [last, cpu1, clientCpu1, t1] = [await snapshot(flood), await cpuMs(pid), await cpuMs(floodPid), performance.now()];
    const opens = last.opens - first.opens;
    const serverCpu = cpu1 - cpu0;
    return {
      perSecond: result.perSecond,
      errors: result.errors,
      cpuMsPerOp: serverCpu / Math.max(1, result.done),
      serverCores: serverCpu / (t1 - t0),
      flood: flooding
        ? {
            perSecond: opens / ((t1 - t0) / 1000),
            statuses: Object.fromEntries(Object.entries(last.statuses).map(([k, v]) => [k, v - (first.statuses[k] ?? 0)])),
            serverCpuMsPerOpen: serverCpu / Math.max(1, opens),
            clientCpuMsPerOpen: (clientCpu1 - clientCpu0) / Math.max(1, opens),
          }
        : undefined,
    };
  } finally {
    if (flooding) tell(flood, { pause: true });
  }
}

export async function run(): Promise<void> {
  await gateHoldCost();
  // BENCH_ABUSE_ONLY=gate: the chunk gate's figures alone (no database, no flood)
  if (process.env.BENCH_ABUSE_ONLY === 'gate') return;
  const database = await freshDatabase('sealdrop_abuse');
  const children: Child[] = [];
  let flood: Flood | undefined;
  try {
    console.log(
      `PostgreSQL: ${new URL(database.url).host}, fresh database ${database.name}; ${HONEST_CLIENTS} honest clients, ` +
        `${FLOOD_CLIENTS} flood loops, ${PHASE_MS / 1000} s per phase, ${ROUNDS} rounds; load average (1 min) ${fmt(loadavg()[0]!, 2)}`,
    );
    const newsroom = (await demoNewsroomKey()).key;
    const sourceKeys = await generateSourceKeys('c'.repeat(64), newsroom);
    const tips: Tip[] = await Promise.all(Array.from({ length: HONEST_CLIENTS }, () => makeTip(newsroom)));
    const baseline = await startServer({ MODE: 'baseline' });
    children.push(baseline);
    const server = await startServer({ MODE: 'source', DATABASE_URL: database.url, POW_DIFFICULTY: '0' });
    children.push(server);
    flood = await startChild(FLOOD, { BASE: server.base, FLOOD_CLIENTS: String(FLOOD_CLIENTS) });

    const hashes = sha256PerSecond();
    const pricedRate = hashes / 2 ** PRICED_DIFFICULTY;
    const baselineOnce = async () => {
      await expectStatus(await postJson(baseline.base, '/echo', { hello: 'world', n: 1 }), 200);
    };
    const tipOnce = (client: number) => sendTip(server.base, tips[client]!, sourceKeys);

    // warm-up, not counted: first requests compile code, fill the server's and PostgreSQL's caches
    await load(BASELINE_CLIENTS, 1000, baselineOnce);
    await runPhase('flooded', server, flood, tipOnce, pricedRate);

    type Round = { baseline: Phase } & Record<Kind, Phase>;
    const rounds: Round[] = [];
    const kinds: Kind[] = ['alone', 'floodOnly', 'flooded', 'priced'];
    for (let round = 0; round < ROUNDS; round++) {
      const pid = baseline.process.pid!;
      const [cpu0, t0] = [await cpuMs(pid), performance.now()];
      const b = await load(BASELINE_CLIENTS, PHASE_MS, baselineOnce);
      const [cpu1, t1] = [await cpuMs(pid), performance.now()];
      const measured: Partial<Round> = {
        baseline: { perSecond: b.perSecond, errors: b.errors, cpuMsPerOp: (cpu1 - cpu0) / Math.max(1, b.done), serverCores: (cpu1 - cpu0) / (t1 - t0) },
      };
      // the order turns each round, so no phase always follows the same one
      for (const kind of [...kinds.slice(round % kinds.length), ...kinds.slice(0, round % kinds.length)]) {
        measured[kind] = await runPhase(kind, server, flood, tipOnce, pricedRate);
      }
      const r = measured as Round;
      rounds.push(r);
      console.log(
        `round ${round + 1}: baseline ${fmt(r.baseline.perSecond)} req/s; tips alone ${fmt(r.alone.perSecond, 1)}/s (server ${fmt(r.alone.serverCores, 2)} cores); ` +
          `flood alone ${fmt(r.floodOnly.flood!.perSecond)} opens/s; flooded ${fmt(r.flooded.perSecond, 1)}/s (${fmt((r.flooded.perSecond / r.alone.perSecond) * 100, 1)} %, ` +
          `flood ${fmt(r.flooded.flood!.perSecond)} opens/s, server ${fmt(r.flooded.serverCores, 2)} cores); priced flood ${fmt(r.priced.perSecond, 1)}/s ` +
          `(${fmt((r.priced.perSecond / r.alone.perSecond) * 100, 1)} %, flood ${fmt(r.priced.flood!.perSecond, 1)} opens/s)`,
      );
    }

    const pick = (f: (r: Round) => number) => median(rounds.map(f));
    const errors = (f: (r: Round) => Phase) => rounds.reduce((n, r) => n + f(r).errors, 0);
    const ratio = pick((r) => r.flooded.perSecond / r.alone.perSecond);
    const pricedRatio = pick((r) => r.priced.perSecond / r.alone.perSecond);
    const statuses: Record<string, number> = {};
    for (const r of rounds) for (const [k, v] of Object.entries(r.flooded.flood!.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    const verdict = (ok: boolean) => (ok ? 'meets goal' : 'BELOW GOAL');
    console.log(`medians of the rounds (load average now ${fmt(loadavg()[0]!, 2)}):`);
    console.log(`baseline (bare Hono, trivial POST):     ${fmt(pick((r) => r.baseline.perSecond))} req/s; server CPU ${fmt(pick((r) => r.baseline.cpuMsPerOp), 3)} ms/req (errors ${errors((r) => r.baseline)})`);
    console.log(
      `honest text tips, alone:                ${fmt(pick((r) => r.alone.perSecond), 1)} tips/s; server CPU ${fmt(pick((r) => r.alone.cpuMsPerOp), 2)} ms/tip, ` +
        `${fmt(pick((r) => r.alone.serverCores), 2)} cores busy (errors ${errors((r) => r.alone)})`,
    );
    console.log(
      `hostile-key flood alone:                ${fmt(pick((r) => r.floodOnly.flood!.perSecond))} opens/s; server CPU ${fmt(pick((r) => r.floodOnly.flood!.serverCpuMsPerOpen), 3)} ms/hostile open ` +
        `(challenge + open), ${fmt(pick((r) => r.floodOnly.serverCores), 2)} cores busy; the flooding client's own CPU ${fmt(pick((r) => r.floodOnly.flood!.clientCpuMsPerOpen), 2)} ms/open`,
    );
    console.log(
      `honest text tips, hostile-key flood:    ${fmt(pick((r) => r.flooded.perSecond), 1)} tips/s = ${fmt(ratio * 100, 1)} % of alone (goal ≥ 80 %: ${verdict(ratio >= 0.8)}); ` +
        `flood ${fmt(pick((r) => r.flooded.flood!.perSecond))} opens/s beside them, server ${fmt(pick((r) => r.flooded.serverCores), 2)} cores busy ` +
        `(answers ${Object.entries(statuses).map(([k, v]) => `${k}: ${v}`).join(', ')}; honest errors ${errors((r) => r.flooded)})`,
    );
    console.log(
      `honest text tips, priced flood:         ${fmt(pick((r) => r.priced.perSecond), 1)} tips/s = ${fmt(pricedRatio * 100, 1)} % of alone (goal ≥ 80 %: ${verdict(pricedRatio >= 0.8)}); ` +
        `flood ${fmt(pick((r) => r.priced.flood!.perSecond), 1)} opens/s = one attacker core at difficulty ${PRICED_DIFFICULTY} ` +
        `(${fmt(hashes)} SHA-256/s here / 2^${PRICED_DIFFICULTY}) (honest errors ${errors((r) => r.priced)})`,
    );
    flood.process.stdin!.end();
    flood = undefined;
    await adaptivePhase(database.url, tips[0]!, sourceKeys, children);
  } finally {
    flood?.process.stdin!.end();
    for (const child of children) await child.stop();
    await database.drop();
  }
}

/** One tip at the price asked, solved natively here; resolves with the ms its open and chunk took. */
async function pricedTip(base: string, tip: Tip, sourceKeys: Parameters<typeof sendTip>[2], lookupId: string, tries = 3): Promise<number> {
  const challenge = JSON.parse(await expectStatus(await postJson(base, '/api/v1/pow', {}), 200)) as { token: string; difficulty: number };
  const nonce = await solveNatively(challenge.token, challenge.difficulty);
  const started = performance.now();
  const opened = await postJson(base, '/api/v1/uploads', {
    pow: { token: challenge.token, nonce },
    lookupId,
    sourceKeys,
    size: tip.bytes.length,
    chunkSize: tip.bytes.length,
    chunks: 1,
    sha256: tip.sha256,
  });
  // the price rose while it was solved: a page asks for a new challenge (client/lib/send.ts)
  if (opened.status === 400 && tries > 1) return pricedTip(base, tip, sourceKeys, lookupId, tries - 1);
  const { uploadId } = JSON.parse(await expectStatus(opened, 201)) as { uploadId: string };
  const done = await fetch(`${base}/api/v1/uploads/${uploadId}/chunks/0`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: tip.bytes as Uint8Array<ArrayBuffer>,
  });
  await expectStatus(done, 200);
  return performance.now() - started;
}

export async function adaptivePhase(databaseUrl: string, tip: Tip, sourceKeys: Parameters<typeof sendTip>[2], children: Child[]): Promise<void> {
  const server = await startServer({ MODE: 'source', DATABASE_URL: databaseUrl, POW_DIFFICULTY: String(POW_DEFAULT_DIFFICULTY) });
  children.push(server);
  const known = createHash('sha256').update(`abuse-bench-known-${Date.now()}`).digest('hex');
  const quietMs = await pricedTip(server.base, tip, sourceKeys, known);
  const cheap = await startChild(CHEAP_FLOOD, { BASE: server.base, LOOKUP_ID: known });
  try {
    const price = async () => (JSON.parse(await expectStatus(await postJson(server.base, '/api/v1/pow', {}), 200)) as { difficulty: number }).difficulty;
    const quietPrice = await price();
    tell(cheap, { run: true });
    const samples: { at: number; difficulty: number }[] = [];
    const honestMs: number[] = [];
    const t0 = performance.now();
    let half: Snapshot | undefined;
    let halfAt = 0;
    let nextHonest = 10_000;
    while (performance.now() - t0 < ADAPTIVE_SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, 2000));
      const at = performance.now() - t0;
      samples.push({ at, difficulty: await price() });
      if (!half && at >= (ADAPTIVE_SECONDS * 1000) / 2) [half, halfAt] = [await snapshot(cheap), at];
      if (at >= nextHonest) {
        nextHonest += 15_000;
        honestMs.push(await pricedTip(server.base, tip, sourceKeys, createHash('sha256').update(`honest-${at}`).digest('hex')));
      }
    }
    const end = await snapshot(cheap);
    const endAt = performance.now() - t0;
    tell(cheap, { pause: true });
    const late = samples.filter((s) => s.at >= (ADAPTIVE_SECONDS * 1000) / 2).map((s) => s.difficulty);
    const reached = median(late);
    const acceptedPerMinute = (((end.statuses['201'] ?? 0) - (half!.statuses['201'] ?? 0)) / (endAt - halfAt)) * 60_000;
    const openMs = median(honestMs);
    const waitSeconds = 2 ** reached / FIREFOX_POW_RATE + openMs / 1000;
    const quietSeconds = 2 ** quietPrice / FIREFOX_POW_RATE + quietMs / 1000;
    console.log(
      `adaptive difficulty, ${ADAPTIVE_SECONDS} s of valid-but-cheap opens (one attacker process, native SHA-256, ` +
        `${process.env.CHEAP_FLOOD_CLIENTS ?? 4} loops): price ${quietPrice} bits before, ${samples.map((s) => s.difficulty).join(' ')} (every 2 s); ` +
        `second half: median ${reached} bits, the flood's opens accepted ${fmt(acceptedPerMinute)}/min (threshold 60/min), ` +
        `answers ${Object.entries(end.statuses).map(([k, v]) => `${k}: ${v}`).join(', ')}`,
    );
    console.log(
      `honest source's wait during that flood:  ${fmt(waitSeconds, 1)} s = 2^${reached} tries at ${fmt(FIREFOX_POW_RATE)} SHA-256/s ` +
        `(Firefox, JIT off) + ${fmt(openMs)} ms open and chunk (median of ${honestMs.length}); without the flood ${fmt(quietSeconds, 1)} s ` +
        `(2^${quietPrice}, ${fmt(quietMs)} ms); load average now ${fmt(loadavg()[0]!, 2)}`,
    );
  } finally {
    cheap.process.stdin!.end();
  }
}

/**
 * The chunk gate's memory under the trickling attacker (issue 9), before and after the due that
 * grows with the bytes held: the real gate (server/source/chunk-gate.ts, default limits) behind a
 * real Node HTTP server on 127.0.0.1, the bodies over real sockets, the gate's clock moved by
 * this bench (GATE_STEP_MS a step: each body sends its bytes for that step, the step ends once
 * the server has read them), so GATE_SECONDS of the gate's time take a few seconds here.
 * The attacker: GATE_BODIES bodies of 4 MiB (4 an upload) send a head of 2 MiB − 64 KiB at once
 * (together all 32 MiB but 1 MiB), then trickle; a body refused or stored is opened again at once
 * with its head, as long as the attacker's renewing heads stay within what it has trickled. "floor": 1 300 B/s a body (the finding); "due": 1.1 × what the rule in force
 * asks of each body for the bytes it holds, max(1 024, bytes held / holdSeconds). An honest 4 MiB
 * chunk at 8 kB/s (the slowest link, one body) comes from 10 s on, sent again 10 s after each refusal.
 */
const GATE_SECONDS = Number(process.env.BENCH_GATE_SECONDS ?? 1800);
const GATE_STEP_MS = 2000;
/** the gate's bytes (CHUNK_MEMORY; BENCH_GATE_MEMORY in MiB, a multiple of 8); the attacker's bodies fill it as 16 bodies fill the default 32 MiB */
const GATE_MEMORY = Number(process.env.BENCH_GATE_MEMORY ?? DEFAULT_CHUNK_GATE_BYTES / 2 ** 20) * 2 ** 20;
const GATE_BODIES = GATE_MEMORY / (2 * 2 ** 20);
if (!Number.isInteger(GATE_BODIES / 4) || GATE_BODIES < 4) throw new Error('BENCH_GATE_MEMORY: a multiple of 8 (MiB)');
/**
 * BENCH_GATE_SPILL=1: bodies arrive on disk (CHUNK_SPILL_DIR, a temporary folder), the budget
 * above being CHUNK_SPILL (its places SPILL_CHUNK_REQUESTS, memory the default CHUNK_MEMORY for
 * the bodies read back): what filling the disk budget costs, e.g. BENCH_GATE_MEMORY=2048, the default 2 GiB
 */
const GATE_SPILL = process.env.BENCH_GATE_SPILL === '1';
const GATE_CHUNK = 4 * 1024 * 1024;
const GATE_HEAD = 2 * 1024 * 1024 - 64 * 1024;

interface GateRun {
  /** of the gate's clock, to the honest chunk stored or GATE_SECONDS */
  seconds: number;
  attackerBytesPerSecond: number;
  beyondHeadsPerSecond: number;
  cut: number;
  honestStoredAt?: number;
  honestRefusals: number;
  /** the most the gate held at once, and this process's peak RSS (client and server both) */
  peakHeld: number;
  maxRss: number;
}

async function trickleOnGate(holdSeconds: number): Promise<GateRun> {
  const { createServer, request: httpRequest } = await import('node:http');
  let clock = 0;
  const spillDir = GATE_SPILL ? await mkdtemp(join(tmpdir(), 'sealdrop-bench-spill-')) : undefined;
  const gate = createChunkGate({
    ...(spillDir ? { spill: { dir: spillDir, maxBytes: GATE_MEMORY }, maxRequests: SPILL_CHUNK_REQUESTS } : { maxBytes: GATE_MEMORY }),
    holdSeconds, idleMs: 3_600_000, now: () => clock,
  });
  const emitted = new Map<string, number>();
  const answered = new Map<string, number>();
  const server = createServer((incoming, response) => {
    const [, upload, name] = (incoming.url ?? '').split('/') as [string, string, string];
    emitted.set(name, 0);
    incoming.on('data', (piece: Buffer) => emitted.set(name, emitted.get(name)! + piece.length));
    let ticket: ChunkTicket;
    try {
      ticket = gate.enter(upload, GATE_CHUNK);
    } catch {
      answered.set(name, 503);
      response.writeHead(503).end();
      return;
    }
    const headers = { 'Content-Length': String(GATE_CHUNK) };
    ticket.read(new Request('http://gate.bench/', { method: 'PUT', headers }), incoming).then(
      () => answered.set(name, 200),
      () => answered.set(name, 503),
    ).finally(() => {
      ticket.release();
      response.writeHead(answered.get(name)!).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  const written = new Map<string, number>();
  const clients = new Map<string, import('node:http').ClientRequest>();
  let serial = 0;
  const open = (upload: string) => {
    const name = `b${serial++}`;
    const client = httpRequest({ host: '127.0.0.1', port, method: 'PUT', path: `/${upload}/${name}`, agent: false, headers: { 'Content-Length': GATE_CHUNK } });
    client.on('error', () => {});
    client.on('response', (res) => res.resume());
    clients.set(name, client);
    written.set(name, 0);
    return name;
  };
  const send = (name: string, bytes: number) => {
    written.set(name, written.get(name)! + bytes);
    clients.get(name)!.write(Buffer.alloc(bytes, 3));
  };
  const settle = async () => {
    while ([...written].some(([name, n]) => !answered.has(name) && (emitted.get(name) ?? -1) < n)) await new Promise((r) => setTimeout(r, 1));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  const trickle = 1300;
  const bodies: { name: string; sent: number; counted?: boolean }[] = [];
  let sent = 0;
  let trickled = 0;
  let renewing = 0;
  let cut = 0;
  const openAttacker = (i: number) => {
    // four bodies an upload (16 MiB each at most)
    const name = open(`attacker${i % (GATE_BODIES / 4)}`);
    send(name, GATE_HEAD);
    sent += GATE_HEAD;
    bodies[i] = { name, sent: GATE_HEAD };
  };
  try {
    for (let i = 0; i < GATE_BODIES; i++) openAttacker(i);
    const heads = sent;
    await settle();
    let honest: { name: string; sent: number } | undefined;
    let honestRetryAt = 10_000;
    let honestStoredAt: number | undefined;
    let honestRefusals = 0;
    let seconds = 0;
    for (let t = GATE_STEP_MS; t <= GATE_SECONDS * 1000; t += GATE_STEP_MS) {
      clock = t;
      // (the run ends once the honest chunk is stored)
      if (honestStoredAt !== undefined) break;
      seconds = t / 1000;
      if (!honest && t >= honestRetryAt) honest = { name: open('honest'), sent: 0 };
      if (honest) {
        const n = Math.min(GATE_CHUNK - honest.sent, (8000 * GATE_STEP_MS) / 1000);
        send(honest.name, n);
        honest.sent += n;
      }
      for (const body of bodies) {
        if (answered.has(body.name)) continue;
        const n = Math.min(GATE_CHUNK - body.sent, Math.ceil((trickle * GATE_STEP_MS) / 1000));
        send(body.name, n);
        body.sent += n;
        sent += n;
        trickled += n;
      }
      await settle();
      if (honest && answered.has(honest.name)) {
        if (answered.get(honest.name) === 200) honestStoredAt ??= t;
        else {
          honestRefusals++;
          honestRetryAt = t + 10_000;
        }
        honest = undefined;
      }
      let again = false;
      bodies.forEach((body, i) => {
        if (!answered.has(body.name)) return;
        if (answered.get(body.name) !== 200 && !body.counted) cut++;
        body.counted = true;
        if (renewing + GATE_HEAD <= trickled) {
          renewing += GATE_HEAD;
          openAttacker(i);
          again = true;
        }
      });
      if (again) await settle();
    }
    return {
      seconds,
      attackerBytesPerSecond: sent / seconds,
      beyondHeadsPerSecond: (sent - heads) / seconds,
      cut,
      honestStoredAt,
      honestRefusals,
      peakHeld: gate.held().peakBytes,
      maxRss: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    gate.close();
    for (const client of clients.values()) client.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (spillDir) await rm(spillDir, { recursive: true, force: true });
  }
}

/**
 * The least rate (bytes a second, to 1 %) at which a body that sent `held` bytes at once and then
 * that rate is not cut for newcomers that want more than the room left, from 22 s to 38 s (its
 * head out of its rate's window by then), with `holdSeconds`; and what it held at the end.
 * `old`: the body sends its head, then nothing until it has been sending for holdSeconds (the
 * hold rule asks only that of a body), then its rate: 22-38 s past holdSeconds.
 */
async function leastHoldRate(holdSeconds: number, held: number, old = false): Promise<{ rate: number; held: number }> {
  const age = old && Number.isFinite(holdSeconds) ? Math.ceil(holdSeconds) : 0;
  const flush = async () => {
    for (let i = 0; i < 8; i++) await new Promise((r) => setImmediate(r));
  };
  const stream = () => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    const request = new Request('http://gate.bench/', { method: 'PUT', body, headers: { 'Content-Length': String(GATE_CHUNK) }, duplex: 'half' } as RequestInit);
    const push = (n: number) => {
      try {
        controller.enqueue(new Uint8Array(n));
      } catch {}
    };
    return { request, push, fail: () => controller.error(new Error('gone')) };
  };
  const holds = async (rate: number): Promise<{ kept: boolean; held: number }> => {
    let clock = 0;
    const gate = createChunkGate({ maxBytes: held, smallReserveBytes: 0, holdSeconds, idleMs: 3_600_000, now: () => clock });
    const body = stream();
    const ticket = gate.enter('holder', GATE_CHUNK);
    let cut = false;
    const read = ticket.read(body.request).catch(() => void (cut = true));
    body.push(held);
    await flush();
    for (let t = 1; t <= 38 && !cut; t++) {
      clock = (age + t) * 1000;
      body.push(Math.round(rate));
      await flush();
      if (t >= 22 && t % 4 === 2) {
        const other = stream();
        const newcomer = gate.enter(`n${t}`, GATE_CHUNK);
        const in_ = newcomer.read(other.request).catch(() => {});
        other.push(Math.min(GATE_CHUNK - 1, 64 * 1024 + held));
        await flush();
        other.fail();
        await in_;
        newcomer.release();
        await flush();
      }
    }
    const end = gate.held().bytes;
    const kept = !cut;
    if (kept) body.fail();
    await read;
    ticket.release();
    gate.close();
    return { kept, held: end };
  };
  let low = 1;
  // (the body must stay within its chunk)
  let high = Math.floor((GATE_CHUNK - 1 - held) / 39);
  let atHigh = await holds(high);
  if (!atHigh.kept) throw new Error(`a body holding ${held} bytes at ${high} B/s was cut`);
  while (high / low > 1.01) {
    const mid = Math.sqrt(low * high);
    const at = await holds(mid);
    if (at.kept) {
      high = mid;
      atHigh = at;
    } else low = mid;
  }
  return { rate: high, held: atHigh.held };
}

/** Prints what holding the chunk gate's whole budget costs the trickling attacker, under each rule. */
async function gateHoldCost(): Promise<void> {
  const MiB = 1024 * 1024;
  const rules: [string, number, boolean][] = [
    ['the floor alone', Infinity, false],
    [`default hold ${fmt(DEFAULT_HOLD_SECONDS, 0)} s, older`, DEFAULT_HOLD_SECONDS, true],
    [`default hold, younger`, DEFAULT_HOLD_SECONDS, false],
    [`hold ${fmt((2 * MAX_CHUNK_BYTES) / 8000, 0)} s (gate9), older`, (2 * MAX_CHUNK_BYTES) / 8000, true],
  ];
  console.log(
    `\nchunk gate: the least rate that keeps a body holding H from being cut for a newcomer (the gate alone, its clock, bisection to 1 %)`,
  );
  for (const [label, holdSeconds, old] of rules) {
    const cells: string[] = [];
    let perByte = 0;
    let floor = 0;
    for (const head of [256 * 1024, MiB, 2 * MiB, 3 * MiB, 3.5 * MiB]) {
      const { rate, held } = await leastHoldRate(holdSeconds, head, old);
      cells.push(`${fmt(held / MiB, 2)} MiB: ${fmt(rate)} B/s`);
      if (head === 2 * MiB) floor = rate;
      if (head === 3.5 * MiB) perByte = rate / held;
    }
    const whole = !old ? GATE_BODIES * floor : perByte * GATE_MEMORY;
    console.log(`  ${label.padEnd(30)} ${cells.join(', ')}`);
    console.log(
      `  ${''.padEnd(30)} ` +
        (!old
          ? `a body holds it at the floor: ${GATE_BODIES} bodies averaging 2 MiB at the 2 MiB rate ${fmt(whole / 1000, 1)} kB/s` +
            (holdSeconds === Infinity ? ' for as long as they last' : ', until they are holdSeconds old (then the line above; or each re-sent: ≈ the budget / holdSeconds)')
          : `holding the whole ${GATE_MEMORY / MiB} MiB past holdSeconds costs at least ${fmt(whole / 1000, 1)} kB/s (the 3.5 MiB rate per byte held, × the budget)`),
    );
  }
  console.log(
    `\nchunk gate, the trickling attacker (issue 9): real gate and sockets, the gate's clock, ${GATE_SECONDS} s of it; ` +
      `${GATE_MEMORY / MiB} MiB budget (BENCH_GATE_MEMORY, ${GATE_SPILL ? `CHUNK_SPILL: on disk, BENCH_GATE_SPILL=1, ${SPILL_CHUNK_REQUESTS} places` : 'CHUNK_MEMORY'}); ${GATE_BODIES} bodies, heads ${fmt(GATE_HEAD / MiB, 2)} MiB, 1 300 B/s each; honest 4 MiB chunk at 8 kB/s from 10 s`,
  );
  for (const [label, holdSeconds] of [rules[0]!, ['default hold (the rule now)', DEFAULT_HOLD_SECONDS] as const]) {
    const r = await trickleOnGate(holdSeconds);
    const honest = r.honestStoredAt === undefined ? `never stored (${r.honestRefusals} × 503 busy)` : `stored at ${fmt(r.honestStoredAt / 1000, 0)} s (${r.honestRefusals} × 503 busy before)`;
    console.log(
      `  ${label.padEnd(26)} the attacker sent ${fmt(r.attackerBytesPerSecond / 1000, 1)} kB/s ` +
        `(${fmt(r.beyondHeadsPerSecond / 1000, 1)} kB/s beyond its first heads) over ${fmt(r.seconds)} s, ${r.cut} of its bodies cut; the honest chunk ${honest}; ` +
        `the gate held at most ${fmt(r.peakHeld / MiB, 1)} MiB, this process's peak RSS ${fmt(r.maxRss / MiB, 0)} MiB`,
    );
  }
}
