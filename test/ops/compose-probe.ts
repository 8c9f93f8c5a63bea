/**
 * @module test/ops/compose-probe — the clients scripts/compose-check.sh runs inside the Compose
 * stack, in a container of the app image (compose.check.yml: `probe` on the onion network, where
 * the tor container reaches the app; `probe-backend` on the database's network).
 *
 * A source sends tips with the real protocol (protocol/: codename, keys, envelope, encryption,
 * proof of work) to the source listener; an editor pulls with the `sealdrop` CLI through the
 * editor listener (SEALDROP_TOKEN) and decrypts with the demo key. Each subcommand is one step of
 * the check; what later steps need is kept in /work/state.json. It prints what it found, one line
 * each, and exits 1 at the first thing that is not as it must be.
 *
 *   send-tips        a text tip (new source) and a 20 MiB tip (the same source, returning)
 *   pull             `sealdrop pull` + `sealdrop decrypt`: exactly the tips not pulled yet, intact
 *   verify           every tip sent so far is on the server (editor list, source lookup)
 *   reach-onion      from the onion network: both listeners answer, the database does not
 *   reach-backend DB_IP  from the database's network: the editor listeners do not answer
 *   two-apps         an upload opened on app completes on app2; a proof of work spent on one is
 *                    refused on the other
 *   drain            a chunk half sent when the check stops the app: it must still be accepted
 *   drain-resume     the rest of that upload, sent to the restarted app
 *   idle             wait for SIGTERM (the probe container's own command; the check runs the
 *                    subcommands above in it with `docker compose exec`)
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { readKey } from 'openpgp';
import { CHUNK_BYTES } from '../../protocol/limits.ts';
import { generateCodename } from '../../protocol/codename.ts';
import { buildEnvelope } from '../../protocol/envelope.ts';
import { deriveSourceSecrets } from '../../protocol/kdf.ts';
import { solvePow } from '../../protocol/pow.ts';
import { encryptToKeys, generateSourceKeys, type SourceKeys } from '../../protocol/source-keys.ts';

const WORK = '/work';
const STATE = join(WORK, 'state.json');
const APP_IP = process.env.SEALDROP_APP_IP ?? '172.31.53.10';
const APP2_IP = process.env.SEALDROP_APP2_IP ?? '172.31.53.11';
const APP = `http://${APP_IP}:8080`;
const APP2 = `http://${APP2_IP}:8080`;
const EDITOR = `http://${APP_IP}:8081`;
const DEMO_PASSPHRASE = 'demo-never-use';
const TIMEOUT_MS = 120_000;

type FileRecord = { name: string; type: string; size: number; sha256: string };
type TipRecord = { submissionId: string; lookupId: string; message: string; files: FileRecord[]; pulled: boolean; via: string };
type SourceRecord = { codename: string; lookupId: string };
type State = {
  sources: SourceRecord[];
  tips: TipRecord[];
  pulls: number;
  drain?: { uploadId: string; lookupId: string; message: string; files: FileRecord[]; chunkSize: number; ciphertextFile: string };
};

class CheckError extends Error {}

function fail(message: string): never {
  throw new CheckError(message);
}

function say(line: string): void {
  process.stdout.write(`probe: ${line}\n`);
}

function readState(): State {
  return existsSync(STATE) ? (JSON.parse(readFileSync(STATE, 'utf8')) as State) : { sources: [], tips: [], pulls: 0 };
}

function writeState(state: State): void {
  writeFileSync(STATE, `${JSON.stringify(state, null, 2)}\n`);
}

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function request(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL(path, base), { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the message
  }
  return { status: res.status, body };
}

async function postJson(base: string, path: string, value: unknown) {
  return request(base, path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) });
}

async function expectStatus(what: string, answer: Promise<{ status: number; body: any }>, status: number) {
  const got = await answer;
  if (got.status !== status) fail(`${what}: expected ${status}, got ${got.status} ${JSON.stringify(got.body)}`);
  return got.body;
}

async function putChunk(base: string, uploadId: string, index: number, bytes: Uint8Array) {
  return expectStatus(
    `chunk ${index} to ${base}`,
    request(base, `/api/v1/uploads/${uploadId}/chunks/${index}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes.slice(),
    }),
    200,
  );
}

/** What the page does before an upload: the key, the secrets, the ciphertext. */
async function prepare(base: string, codename: string, message: string, files: { name: string; type: string; bytes: Uint8Array }[]) {
  const config = await expectStatus(`config from ${base}`, request(base, '/api/v1/config'), 200);
  const newsroomKey = await readKey({ armoredKey: config.newsroomKey as string });
  const secrets = deriveSourceSecrets(codename, config.instanceSalt as string);
  const envelope = await buildEnvelope({ language: 'en', message, files: files.map((f) => ({ ...f, stripped: false })) });
  const ciphertext = await encryptToKeys(envelope, [newsroomKey]);
  return { newsroomKey, secrets, ciphertext };
}

/** A challenge priced for an upload of `size` bytes (protocol/PROTOCOL.md, "Pricing"), solved. */
async function solvedPow(base: string, size: number) {
  const pow = await expectStatus(`proof of work from ${base}`, postJson(base, '/api/v1/pow', { size }), 200);
  return { token: pow.token as string, nonce: await solvePow(pow.token as string, pow.difficulty as number) };
}

async function openUpload(
  base: string,
  pow: { token: string; nonce: string },
  lookupId: string,
  ciphertext: Uint8Array,
  chunkSize: number,
  sourceKeys?: SourceKeys,
) {
  return postJson(base, '/api/v1/uploads', {
    pow,
    lookupId,
    ...(sourceKeys ? { sourceKeys } : {}),
    size: ciphertext.length,
    chunkSize,
    chunks: Math.max(1, Math.ceil(ciphertext.length / chunkSize)),
    sha256: sha256Hex(ciphertext),
  });
}

const pieces = (bytes: Uint8Array, size: number) =>
  Array.from({ length: Math.max(1, Math.ceil(bytes.length / size)) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));

/** One whole tip through one listener, as the page sends it: open, then each chunk in order. */
async function sendTip(base: string, source: SourceRecord, isNew: boolean, message: string, files: { name: string; type: string; bytes: Uint8Array }[]) {
  const { newsroomKey, secrets, ciphertext } = await prepare(base, source.codename, message, files);
  const sourceKeys = isNew ? await generateSourceKeys(secrets.keyPassphrase, newsroomKey) : undefined;
  const opened = await expectStatus('open', openUpload(base, await solvedPow(base, ciphertext.length), secrets.lookupId, ciphertext, CHUNK_BYTES, sourceKeys), 201);
  const parts = pieces(ciphertext, CHUNK_BYTES);
  let answer: any;
  for (const [index, part] of parts.entries()) {
    answer = await putChunk(base, opened.uploadId as string, index, part);
    if (index < parts.length - 1 && answer.complete !== false) fail(`chunk ${index}: complete before the last chunk`);
  }
  if (answer.complete !== true || typeof answer.submissionId !== 'string') fail(`last chunk: not complete: ${JSON.stringify(answer)}`);
  return { submissionId: answer.submissionId as string, ciphertextBytes: ciphertext.length, chunks: parts.length };
}

function newSource(): SourceRecord {
  return { codename: generateCodename('english'), lookupId: '' };
}

function fileRecord(file: { name: string; type: string; bytes: Uint8Array }): FileRecord {
  return { name: file.name, type: file.type, size: file.bytes.length, sha256: sha256Hex(file.bytes) };
}

async function lookupIdOf(base: string, codename: string): Promise<string> {
  const config = await expectStatus('config', request(base, '/api/v1/config'), 200);
  return deriveSourceSecrets(codename, config.instanceSalt as string).lookupId;
}

async function sendTips(): Promise<void> {
  const state = readState();
  const source = newSource();
  source.lookupId = await lookupIdOf(APP, source.codename);
  state.sources.push(source);

  const text = 'A text tip through the Compose stack. 한국어 · 中文 · Русский · ខ្មែរ';
  const first = await sendTip(APP, source, true, text, []);
  state.tips.push({ submissionId: first.submissionId, lookupId: source.lookupId, message: text, files: [], pulled: false, via: 'app' });
  say(`text tip ${first.submissionId}: ${first.ciphertextBytes} bytes of ciphertext in ${first.chunks} chunk (new source)`);

  const big = { name: 'documents.bin', type: 'application/octet-stream', bytes: new Uint8Array(randomBytes(20 * 1024 * 1024)) };
  const message = 'The 20 MiB file, from the same codename.';
  const second = await sendTip(APP, source, false, message, [big]);
  state.tips.push({ submissionId: second.submissionId, lookupId: source.lookupId, message, files: [fileRecord(big)], pulled: false, via: 'app' });
  say(`20 MiB tip ${second.submissionId}: ${second.ciphertextBytes} bytes of ciphertext in ${second.chunks} chunks (returning source)`);
  writeState(state);
}

/** The CLI allows plain http to loopback only: a loopback port forwarded to the editor listener stands in for Tor. */
function forwardLoopback(target: { host: string; port: number }): Promise<{ port: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        port,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      });
    });
  });
}

/** Runs the CLI as an editor would, asynchronously (the loopback forward lives in this process). */
function runCli(args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', ['cli/bin.js', ...args], {
      cwd: '/app',
      env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const line of output.trim().split('\n').filter(Boolean).slice(-12)) say(`  ${line}`);
      if (code === 0) resolve();
      else reject(new CheckError(`sealdrop ${args[0]} exited ${code ?? signal}`));
    });
  });
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

async function pull(): Promise<void> {
  const state = readState();
  const token = process.env.SEALDROP_TOKEN ?? '';
  if (!/^sde_[A-Za-z0-9_-]{43}$/.test(token)) fail('SEALDROP_TOKEN is not an editor token');
  const expected = state.tips.filter((t) => !t.pulled);
  if (expected.length === 0) fail('nothing to pull: no tip was sent since the last pull');
  state.pulls += 1;
  const bundle = join(WORK, `bundle-${state.pulls}`);
  const out = join(WORK, `tips-${state.pulls}`);
  const forward = await forwardLoopback({ host: APP_IP, port: 8081 });
  try {
    await runCli(['pull', '--server', `http://127.0.0.1:${forward.port}`, '-o', bundle], { SEALDROP_TOKEN: token });
  } finally {
    forward.close();
  }
  const manifest = JSON.parse(readFileSync(join(bundle, 'bundle.json'), 'utf8')) as { submissions: { id: string; handle: string; day: string }[] };
  const got = manifest.submissions.map((s) => s.id).sort();
  const want = expected.map((t) => t.submissionId).sort();
  if (JSON.stringify(got) !== JSON.stringify(want)) fail(`the bundle holds ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  say(`pulled ${got.length} submission(s) through the editor listener`);

  await runCli(['decrypt', '-i', '/run/check/newsroom.sec.asc', bundle, '-o', out], { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE });
  const files = walk(out);
  for (const tip of expected) {
    const entry = manifest.submissions.find((s) => s.id === tip.submissionId)!;
    const folder = join(out, entry.handle, `${entry.day}_${tip.submissionId.slice(0, 8)}`);
    const message = readFileSync(join(folder, 'message.txt'), 'utf8');
    if (message !== tip.message) fail(`${tip.submissionId}: message.txt is ${JSON.stringify(message.slice(0, 80))}, expected ${JSON.stringify(tip.message)}`);
    for (const file of tip.files) {
      const path = files.find((p) => p.startsWith(`${folder}/files/`) && p.endsWith(`/${file.name}`));
      if (!path) fail(`${tip.submissionId}: ${file.name} is not in ${folder}/files`);
      const bytes = readFileSync(path);
      if (bytes.length !== file.size || sha256Hex(bytes) !== file.sha256) fail(`${tip.submissionId}: ${file.name} differs from what was sent`);
    }
    tip.pulled = true;
    say(`decrypted ${tip.submissionId} with the demo key: message${tip.files.map((f) => ` + ${f.name} (${f.size} bytes)`).join('')} as sent`);
  }
  writeState(state);
}

async function verify(): Promise<void> {
  const state = readState();
  const token = process.env.SEALDROP_TOKEN ?? '';
  const listed = await expectStatus(
    'editor list',
    request(EDITOR, '/editor/v1/submissions?status=all', { headers: { Authorization: `Bearer ${token}` } }),
    200,
  );
  const onServer = new Set((listed.submissions as { id: string }[]).map((s) => s.id));
  const missing = state.tips.filter((t) => !onServer.has(t.submissionId));
  if (missing.length > 0) fail(`the editor list lacks ${missing.map((t) => t.submissionId).join(', ')}`);
  if (onServer.size !== state.tips.length) fail(`the editor list has ${onServer.size} submissions, ${state.tips.length} were sent`);
  for (const source of state.sources) {
    const found = await expectStatus('source lookup', postJson(APP, '/api/v1/source/lookup', { lookupId: source.lookupId }), 200);
    const ids = new Set((found.submissions as { id: string }[]).map((s) => s.id));
    for (const tip of state.tips.filter((t) => t.lookupId === source.lookupId)) {
      if (!ids.has(tip.submissionId)) fail(`source lookup lacks ${tip.submissionId}`);
    }
  }
  const pulled = state.tips.filter((t) => t.pulled).length;
  say(`all ${state.tips.length} tips on the server (${pulled} downloaded), for ${state.sources.length} source(s)`);
}

/** Resolves true when a TCP connection is accepted, false when refused, unreachable or silent for 3 s. */
function connects(host: string, port: number): Promise<{ ok: boolean; why: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, why: 'connected' });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, why: 'no answer in 3 s' });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, why: error.code ?? error.message }));
  });
}

async function expectReach(targets: [string, number, boolean][]): Promise<void> {
  for (const [host, port, want] of targets) {
    const got = await connects(host, port);
    if (got.ok !== want) fail(`${host}:${port} ${want ? 'must answer' : 'must not answer'}, got: ${got.why}`);
    say(`${host}:${port} ${want ? 'answers' : `does not answer (${got.why})`}`);
  }
}

async function reachOnion(dbIp: string): Promise<void> {
  await expectReach([
    [APP_IP, 8080, true],
    [APP_IP, 8081, true],
    [APP2_IP, 8081, true],
    // by address only: a name the onion network does not know must not send a query anywhere else
    [dbIp, 5432, false],
  ]);
}

async function reachBackend(): Promise<void> {
  await expectReach([
    ['db', 5432, true],
    ['app', 8080, true],
    ['app2', 8080, true],
    ['app', 8081, false],
    ['app2', 8081, false],
    [APP_IP, 8081, false],
    [APP2_IP, 8081, false],
  ]);
}

async function twoApps(): Promise<void> {
  const state = readState();
  const source = newSource();
  source.lookupId = await lookupIdOf(APP, source.codename);

  // An upload opened on app, its first chunk to app, its last to app2, which completes it.
  const message = 'Opened through app, finished through app2.';
  const file = { name: 'across.bin', type: 'application/octet-stream', bytes: new Uint8Array(randomBytes(1536 * 1024)) };
  const { newsroomKey, secrets, ciphertext } = await prepare(APP, source.codename, message, [file]);
  const chunkSize = 1024 * 1024;
  const opened = await expectStatus(
    'open on app',
    openUpload(APP, await solvedPow(APP, ciphertext.length), secrets.lookupId, ciphertext, chunkSize, await generateSourceKeys(secrets.keyPassphrase, newsroomKey)),
    201,
  );
  const parts = pieces(ciphertext, chunkSize);
  if (parts.length !== 2) fail(`expected 2 chunks, made ${parts.length}`);
  const firstAnswer = await putChunk(APP, opened.uploadId, 0, parts[0]!);
  if (firstAnswer.complete !== false) fail('the first chunk completed the upload');
  const status = await expectStatus('upload status on app2', request(APP2, `/api/v1/uploads/${opened.uploadId}`), 200);
  if (JSON.stringify(status.received) !== '[0]') fail(`app2 sees chunks ${JSON.stringify(status.received)}, expected [0]`);
  const last = await putChunk(APP2, opened.uploadId, 1, parts[1]!);
  if (last.complete !== true) fail(`app2 did not complete the upload: ${JSON.stringify(last)}`);
  const seenOnApp = await expectStatus('upload status on app', request(APP, `/api/v1/uploads/${opened.uploadId}`), 200);
  if (seenOnApp.complete !== true || seenOnApp.submissionId !== last.submissionId) fail('app does not see the upload app2 completed');
  state.sources.push(source);
  state.tips.push({ submissionId: last.submissionId, lookupId: source.lookupId, message, files: [fileRecord(file)], pulled: false, via: 'app+app2' });
  say(`upload opened on app, chunk 0 on app, chunk 1 on app2: complete as ${last.submissionId}, and app sees it`);

  // A challenge issued by app2 is good on app (one instance secret); once spent there, app2 refuses it.
  const text = 'A returning source, proof of work from app2, spent on app.';
  const tip = await prepare(APP, source.codename, text, []);
  const pow = await solvedPow(APP2, tip.ciphertext.length);
  const spent = await expectStatus('open on app with a challenge from app2', openUpload(APP, pow, tip.secrets.lookupId, tip.ciphertext, CHUNK_BYTES), 201);
  const refused = await openUpload(APP2, pow, tip.secrets.lookupId, tip.ciphertext, CHUNK_BYTES);
  if (refused.status !== 409 || refused.body?.error !== 'pow_spent') fail(`app2 took a token spent on app: ${refused.status} ${JSON.stringify(refused.body)}`);
  say('a proof of work issued by app2 and spent on app: app2 refuses it (409 pow_spent)');
  const done = await putChunk(APP2, spent.uploadId, 0, tip.ciphertext);
  if (done.complete !== true) fail('the one-chunk upload did not complete');
  state.tips.push({ submissionId: done.submissionId, lookupId: source.lookupId, message: text, files: [], pulled: false, via: 'app2' });

  // And the other way round, a token spent on app2 is refused by app.
  const back = await prepare(APP2, source.codename, 'and back', []);
  const pow2 = await solvedPow(APP, back.ciphertext.length);
  const spent2 = await expectStatus('open on app2', openUpload(APP2, pow2, back.secrets.lookupId, back.ciphertext, CHUNK_BYTES), 201);
  const refused2 = await openUpload(APP, pow2, back.secrets.lookupId, back.ciphertext, CHUNK_BYTES);
  if (refused2.status !== 409 || refused2.body?.error !== 'pow_spent') fail(`app took a token spent on app2: ${refused2.status} ${JSON.stringify(refused2.body)}`);
  say('a proof of work issued by app and spent on app2: app refuses it (409 pow_spent)');
  const done2 = await putChunk(APP, spent2.uploadId, 0, back.ciphertext);
  state.tips.push({ submissionId: done2.submissionId, lookupId: source.lookupId, message: 'and back', files: [], pulled: false, via: 'app2+app' });
  writeState(state);
}

/** A chunk PUT whose body goes in two halves on its own connection. */
function chunkInTwoHalves(base: string, uploadId: string, index: number, bytes: Uint8Array) {
  const req = http.request(new URL(`/api/v1/uploads/${uploadId}/chunks/${index}`, base), {
    method: 'PUT',
    agent: false,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
  });
  const answer = new Promise<{ status: number; body: any }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
  answer.catch(() => {});
  const half = Math.floor(bytes.length / 2);
  const firstHalfSent = new Promise<void>((resolve) => req.write(bytes.subarray(0, half), () => resolve()));
  return { answer, firstHalfSent, finish: () => req.end(bytes.subarray(half)) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function drain(): Promise<void> {
  const state = readState();
  const source = state.sources[0] ?? fail('no source yet: run send-tips first');
  const message = 'Sent while the app was stopping.';
  const file = { name: 'drain.bin', type: 'application/octet-stream', bytes: new Uint8Array(randomBytes(2560 * 1024)) };
  const { secrets, ciphertext } = await prepare(APP, source.codename, message, [file]);
  const chunkSize = 1024 * 1024;
  const parts = pieces(ciphertext, chunkSize);
  if (parts.length !== 3) fail(`expected 3 chunks, made ${parts.length}`);
  const opened = await expectStatus('open', openUpload(APP, await solvedPow(APP, ciphertext.length), secrets.lookupId, ciphertext, chunkSize), 201);
  await putChunk(APP, opened.uploadId, 0, parts[0]!);
  const inFlight = chunkInTwoHalves(APP, opened.uploadId, 1, parts[1]!);
  await inFlight.firstHalfSent;
  // The check's script waits for this line, then stops the app (SIGTERM).
  say('DRAIN: chunk 1 half sent');
  const deadline = Date.now() + 60_000;
  while ((await connects(APP_IP, 8080)).ok) {
    if (Date.now() > deadline) fail('the app kept accepting connections for 60 s: no SIGTERM?');
    await sleep(100);
  }
  say('the app stopped accepting connections (SIGTERM): sending the rest of chunk 1');
  inFlight.finish();
  const answer = await inFlight.answer;
  if (answer.status !== 200 || JSON.stringify(answer.body.received) !== '[0,1]') {
    fail(`the chunk in flight was not accepted: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  say('chunk 1, in flight at SIGTERM, acknowledged: received [0,1]');
  const ciphertextFile = join(WORK, 'drain.pgp');
  writeFileSync(ciphertextFile, ciphertext);
  state.drain = { uploadId: opened.uploadId, lookupId: secrets.lookupId, message, files: [fileRecord(file)], chunkSize, ciphertextFile };
  writeState(state);
}

async function drainResume(): Promise<void> {
  const state = readState();
  const pending = state.drain ?? fail('no drained upload: run drain first');
  const ciphertext = new Uint8Array(readFileSync(pending.ciphertextFile));
  const status = await expectStatus('upload status after the restart', request(APP, `/api/v1/uploads/${pending.uploadId}`), 200);
  if (JSON.stringify(status.received) !== '[0,1]') fail(`after the restart the server has chunks ${JSON.stringify(status.received)}, expected [0,1]`);
  const last = await putChunk(APP, pending.uploadId, 2, pieces(ciphertext, pending.chunkSize)[2]!);
  if (last.complete !== true) fail(`the resumed upload did not complete: ${JSON.stringify(last)}`);
  state.tips.push({ submissionId: last.submissionId, lookupId: pending.lookupId, message: pending.message, files: pending.files, pulled: false, via: 'app, across a restart' });
  delete state.drain;
  writeState(state);
  say(`after the restart the server had chunks [0,1]; chunk 2 completed it as ${last.submissionId}`);
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const [command, ...args] = process.argv.slice(2);
  switch (command) {
    case 'send-tips':
      return sendTips();
    case 'pull':
      return pull();
    case 'verify':
      return verify();
    case 'reach-onion':
      return reachOnion(args[0] ?? fail('reach-onion needs the database address'));
    case 'reach-backend':
      return reachBackend();
    case 'two-apps':
      return twoApps();
    case 'drain':
      return drain();
    case 'drain-resume':
      return drainResume();
    case 'idle':
      process.once('SIGTERM', () => process.exit(0));
      setInterval(() => {}, 1 << 30);
      return;
    default:
      fail(`unknown subcommand ${command ?? '(none)'}`);
  }
}

main().catch((error: unknown) => {
  process.stdout.write(`probe: FAILED: ${error instanceof CheckError ? error.message : String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
