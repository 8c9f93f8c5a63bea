/**
 * @module server/main — `npm start`: config, database, key, apps, listeners, purge timer.
 * Prints one line with the URL(s); everything else it prints is a request-log line or an error.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { executeAdminRequest } from './admin.ts';
import { listenAdminSocket } from './admin-socket.ts';
import { createApp, spillFloor } from './app.ts';
import { systemClock } from './clock.ts';
import { type Config, ConfigError, loadConfig, MIN_DEFAULT_SPILL } from './config.ts';
import { checkSpillDir, freeBytesOf, isInMemory, SpillDirError } from './source/spill-file.ts';
import { isDatabaseUnavailable } from './db/errors.ts';
import { DatabaseOpenError, openDatabase, type Database } from './db/open.ts';
import { createEditorApp } from './editor/app.ts';
import { applyConnectionBudget, defaultMaxConnections, readFileDescriptorLimit } from './connection-budget.ts';
import { applyHttpTimeouts } from './http-timeouts.ts';
import { loadInstance } from './instance.ts';
import { checkPublishedFingerprint, fallbackLines, InstanceFileError, loadInstanceFile } from './instance-file.ts';
import { startForgetTimer } from './db/forget.ts';
import { startRetentionTimer } from './retention.ts';
import { installGracefulShutdown } from './shutdown.ts';
import { DEMO_KEY_WARNING, NewsroomKeyError, newsroomKeyHint } from './newsroom-key.ts';
import { DeskError, loadDesks } from './desks.ts';
import { formatFingerprint } from '../protocol/fingerprint.ts';
import { createKeyCheckPool } from './source/key-check-pool.ts';
import { createPowLoad } from './source/pow-load.ts';
import { startPurgeTimer } from './source/purge.ts';

const log = (line: string) => process.stdout.write(`${line}\n`);

function listen(fetch: (request: Request) => Response | Promise<Response>, hostname: string, port: number) {
  return new Promise<{ server: ServerType; url: string }>((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, (info: AddressInfo) => {
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({ server, url: `http://${host}:${info.port}/` });
    });
    // a chunk may crawl in for minutes; an idle connection waits for the next request (http-timeouts.ts)
    applyHttpTimeouts(server as import('node:http').Server);
    server.once('error', reject);
  });
}

/**
 * Where arriving chunk bodies wait (server/source/spill-file.ts), checked before anything listens.
 * A folder CHUNK_SPILL_DIR names must take unnamed files (else SpillDirError stops the start); a
 * default one (DATA_DIR for the embedded database, else the system's temporary folder) that cannot,
 * or is memory itself (tmpfs), is said and bodies are held in memory, as with CHUNK_SPILL_DIR=memory:
 * there about 25 kB/s trickled into bodies holds CHUNK_MEMORY (docs/OPERATIONS.md, "Memory, and
 * uploads at once").
 */
async function settleSpill(config: Config): Promise<Config> {
  const inMemory = (why: string): Config => {
    console.error(`sealdrop: warning: arriving chunk bodies are held in memory (${why}): about 25 kB/s trickled into them holds CHUNK_MEMORY and keeps file chunks out`);
    console.error('sealdrop: hint: name a folder of its own on a local Linux file system in CHUNK_SPILL_DIR (docs/OPERATIONS.md, "Memory, and uploads at once")');
    return { ...config, chunkSpillDir: undefined };
  };
  // the default folder (config.ts): the embedded database's, else the system's temporary one
  const name = config.chunkSpillChoice === 'set' ? 'CHUNK_SPILL_DIR' : config.databaseUrl === undefined ? 'DATA_DIR' : 'the temporary folder';
  if (config.chunkSpillChoice === 'memory') return inMemory('CHUNK_SPILL_DIR=memory');
  if (config.chunkSpillChoice === 'floor') return inMemory(`STORAGE_FREE_FLOOR under ${(2 * MIN_DEFAULT_SPILL) / 2 ** 20} MiB leaves ${name} no room`);
  const dir = config.chunkSpillDir!;
  if (config.chunkSpillChoice === 'default') {
    try {
      await checkSpillDir(dir, name);
    } catch (error) {
      if (error instanceof SpillDirError) return inMemory(`CHUNK_SPILL_DIR unset, and ${error.message}`);
      throw error;
    }
    // tmpfs is memory already, outside CHUNK_MEMORY and a container's limit: bodies there would
    // let a trickle take what the memory budget keeps
    const memory = isInMemory(dir);
    if (memory === true) return inMemory(`CHUNK_SPILL_DIR unset, and ${name} ${dir} is in memory (tmpfs)`);
    if (memory === 'unknown') {
      console.error(`sealdrop: warning: CHUNK_SPILL_DIR unset: arriving chunk bodies wait in ${name} ${dir}, an overlay whose upper layer this process cannot see; if that is memory (tmpfs), they take memory beyond CHUNK_MEMORY`);
      console.error('sealdrop: hint: name a folder of its own on a local disk in CHUNK_SPILL_DIR, or set CHUNK_SPILL_DIR=memory (docs/OPERATIONS.md, "Memory, and uploads at once")');
    }
  } else {
    await checkSpillDir(dir);
  }
  const room = freeBytesOf(dir) - spillFloor(config);
  if (room < config.chunkSpill) {
    console.error(
      `sealdrop: warning: ${name} ${dir} has ${Math.max(0, Math.floor(room / 2 ** 20))} MiB free above half of STORAGE_FREE_FLOOR, ` +
        `less than CHUNK_SPILL (${Math.floor(config.chunkSpill / 2 ** 20)} MiB): arriving chunk bodies are held to what is free`,
    );
  }
  return config;
}

async function main(): Promise<void> {
  let config = loadConfig();
  const clock = systemClock;
  // the newsroom's name, texts, questions and desks (server/instance-file.ts); a text without some
  // language shows in English on those pages: said here, once per field, not found by a source
  const instanceFile = await loadInstanceFile(config.instanceFile);
  for (const line of fallbackLines(instanceFile)) console.error(`sealdrop: warning: ${line}`);
  // the desks (server/desks.ts): the instance file's, or without desks the one desk `newsroom` of
  // NEWSROOM_KEY_FILE; each desk's published fingerprint checked against its key file
  const desks = await loadDesks(instanceFile.deskSpecs, config.newsroomKeyFile, clock());
  if (desks.some((desk) => desk.key.isDemoKey)) console.error(DEMO_KEY_WARNING);
  // the fingerprint the newsroom publishes elsewhere must be the first desk's key's (the newsroom
  // key's without desks)
  if (instanceFile.publishedFingerprint !== undefined) {
    checkPublishedFingerprint(instanceFile, desks[0]!.key.fingerprint, config.instanceFile);
  }

  let database: Database;
  if (config.databaseUrl) {
    database = await openDatabase({ url: config.databaseUrl });
  } else {
    // the embedded database holds ciphertext and source keys: not for other local users
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    database = await openDatabase({ dataDir: config.dataDir });
  }
  // arriving chunk bodies on disk: checked before anything listens (server/source/spill-file.ts)
  config = await settleSpill(config);
  const instance = await loadInstance(database.db, clock);
  // new sources' reply keys are checked in worker threads beside the event loop (sized from the
  // cores: server/source/key-check-pool.ts), each check under a deadline; wait for them to load, so
  // that a worker that cannot start stops the server here, not the first source
  const keyChecks = createKeyCheckPool();
  await keyChecks.ready();
  const openLimits = {
    quotaSourcePerDay: config.quotaSourcePerDay,
    quotaTotal: config.quotaTotal,
    storageMaxDatabase: config.storageMaxDatabase,
    storageFreeFloor: config.storageFreeFloor,
    storagePath: config.storagePath,
    reserveSmallMax: config.reserveSmallMax,
    reserveSmallShare: config.reserveSmallShare,
    reserveUnsentShare: config.reserveUnsentPercent / 100,
    reserveNewSourceShare: config.reserveNewSourcePercent / 100,
    reserveProof: config.reserveProof,
    claimGraceSeconds: config.claimGraceSeconds,
    uploadPace: config.uploadPace,
    uploadLeaseMinutes: config.uploadLeaseMinutes,
    uploadStaleHours: config.uploadStaleHours,
  };
  // the adaptive price counts the opens (createApp) and the uploads the sweep deletes (the purge timer)
  const powLoad = createPowLoad({ db: database.db, opensPerMinute: config.powFloodOpensPerMinute, maxBits: config.powFloodMaxBits });
  const app = createApp({ db: database.db, desks, instance, instanceFile, clock, config, log, keyCheck: keyChecks.check, openLimits, powLoad });
  const stopPurge = startPurgeTimer(database.db, clock, {
    staleHours: config.uploadStaleHours,
    leaseMinutes: config.uploadLeaseMinutes,
    pace: config.uploadPace,
    powLoad,
  });
  const stopRetention = startRetentionTimer({ db: database.db, clock, days: config.retentionDays, log });
  // what a seized running server tells about time and deleted rows stays within a bound
  const stopForget = startForgetTimer({ db: database.db, log, ...(database.kind === 'pglite' ? { dataDir: config.dataDir } : {}) });

  const servers: ServerType[] = [];
  const urls: string[] = [];
  const source = await listen(app.fetch, config.host, config.port);
  servers.push(source.server);
  // idle keep-alive connections cost an attacker nothing: past a cap derived from the file
  // descriptors the longest-idle are closed and then new ones refused, so the process keeps
  // descriptors for the editor listener and the database (server/connection-budget.ts)
  const fdLimit = readFileDescriptorLimit();
  const maxConnections = config.sourceMaxConnections ?? defaultMaxConnections(fdLimit);
  if (fdLimit !== undefined && maxConnections > fdLimit - 256) {
    console.error(`sealdrop: warning: SOURCE_MAX_CONNECTIONS (${maxConnections}) leaves under 256 of the process's ${fdLimit} file descriptors`);
    console.error('sealdrop: hint: lower it, or raise the limit (ulimit -n, or the container\'s nofile ulimit)');
  }
  const budget = applyConnectionBudget(source.server as import('node:http').Server, { max: maxConnections, log });
  urls.push(`sealdrop: source pages on ${source.url}`);

  // --- editor listener (server/editor/app.ts): own port, loopback by default ---
  const editorApp = createEditorApp({ db: database.db, desks, clock, config, log });
  const editor = await listen(editorApp.fetch, config.editorHost, config.editorPort);
  servers.push(editor.server);
  urls.push(`editor API on ${editor.url}editor/v1`);
  // --- end of the editor listener ---

  // the fingerprint as the source's page and `sealdrop keygen` show it: the operator compares it
  // with the one the newsroom publishes, before anyone sends
  for (const desk of desks) {
    const name = desks.length === 1 ? 'newsroom key' : `desk ${desk.id} key`;
    urls.push(`${name} ${formatFingerprint(desk.key.fingerprint)}${desk.key.isDemoKey ? ' (DEMO)' : ''}`);
  }
  // `npm run admin` reaches an embedded database through the server (server/admin-socket.ts);
  // PostgreSQL serves the admin command directly
  const stops: Array<() => void | Promise<void>> = [];
  if (database.kind === 'pglite') {
    const socket = await listenAdminSocket({ dataDir: config.dataDir, db: database.db, execute: executeAdminRequest });
    if ('unavailable' in socket) console.error(`sealdrop: warning: no admin socket: ${socket.unavailable}; stop the server to run "npm run admin"`);
    else stops.push(() => socket.close());
  }
  // on SIGTERM/SIGINT: stop listening, finish requests in flight, stop the timers, then close the
  // database (PGlite must be closed to leave its data folder consistent). Before the start line:
  // a supervisor may signal as soon as it reads it, and a signal that came before the handlers
  // ended the process at once (seen in test/ops/start-command.test.ts)
  installGracefulShutdown({ servers, db: database, stops: [...stops, () => budget.stop(), stopPurge, stopRetention, stopForget, () => keyChecks.close()], log });
  log(`${urls.join(', ')} (${database.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL'})`);
}

// The last net under the database drivers: a connection error that escaped as an unhandled
// rejection (the database went away at the wrong moment) is one log line and the server goes on
// (the requests it touched got their 503); anything else is a bug, and the process ends (exit 70)
// rather than run on in a state nobody planned for: the supervisor (Compose's restart) starts it
// again, and no acknowledged chunk is lost by that (PROTOCOL.md, "What an answer guarantees").
process.on('unhandledRejection', (reason: unknown) => {
  if (isDatabaseUnavailable(reason)) {
    log(`database unavailable (unhandled): ${reason instanceof Error ? reason.name : typeof reason}`);
    return;
  }
  // the frames, not the message (a driver's message can hold query parameters)
  const frames = reason instanceof Error ? (reason.stack ?? '').split('\n').slice(1, 8).join('\n') : '';
  console.error(`sealdrop: error: unhandled rejection: ${reason instanceof Error ? reason.name : typeof reason}\n${frames}`);
  process.exit(70);
});

main().catch((error: unknown) => {
  if (error instanceof InstanceFileError) {
    for (const problem of error.problems) console.error(`sealdrop: error: instance file ${error.file}: ${problem}`);
    console.error('sealdrop: hint: every field of the instance file is described in docs/OPERATIONS.md, "The instance file"');
  } else if (error instanceof SpillDirError) {
    console.error(`sealdrop: error: ${error.message}`);
    console.error('sealdrop: hint: give it a folder of its own on a local Linux file system, writable by the server\'s user, or set CHUNK_SPILL_DIR=memory to hold chunk bodies in memory (docs/OPERATIONS.md, "Memory, and uploads at once")');
  } else if (error instanceof ConfigError || error instanceof NewsroomKeyError || error instanceof DeskError || error instanceof DatabaseOpenError) {
    console.error(`sealdrop: error: ${error.message}`);
    const keyError = error instanceof DeskError ? error.cause : error;
    if (keyError instanceof NewsroomKeyError) console.error(`sealdrop: hint: ${newsroomKeyHint(keyError.code)}`);
  } else if (isDatabaseUnavailable(error)) {
    console.error('sealdrop: error: the database went away while the server was starting');
    console.error('sealdrop: hint: check that PostgreSQL is up and DATABASE_URL points at it, then start again');
  } else {
    // the class and the frames, never the message or the fields: a failed query's error carries
    // its parameters (here once: the instance's server secret, printed to the log)
    const frames = error instanceof Error ? (error.stack ?? '').split('\n').slice(1, 8).join('\n') : '';
    console.error(`sealdrop: error: ${error instanceof Error ? error.name : typeof error} while starting\n${frames}`);
  }
  process.exit(1);
});
