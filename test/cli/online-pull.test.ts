/**
 * `sealdrop pull` against a hostile or broken editor API (a tiny HTTP server in the test serving
 * crafted tar streams): nothing is written outside the folder, nothing is kept from a bad bundle,
 * and nothing is acknowledged unless the whole bundle arrived intact.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { run as pullCommand } from '../../cli/commands/pull.ts';
import type { CliIo } from '../../cli/io.ts';
import { exists, listTree, makeTempDir, runCli } from './helpers.ts';

const TOKEN = `sde_${'T'.repeat(43)}`;
const KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEaVW5ABYJKwYBBAHaRw8BAQdA\n-----END PGP PUBLIC KEY BLOCK-----\n';

/** One ustar header, any name and type (the test plays the hostile server). */
function header(name: string, size: number, type = '0'): Uint8Array {
  const block = new Uint8Array(512);
  const put = (offset: number, text: string) => block.set(new TextEncoder().encode(text), offset);
  put(0, name.slice(0, 100));
  put(100, '0000644\0');
  put(108, '0000000\0');
  put(116, '0000000\0');
  put(124, `${size.toString(8).padStart(11, '0')}\0`);
  put(136, '00000000000\0');
  put(156, type);
  put(257, 'ustar\0');
  put(263, '00');
  block.fill(0x20, 148, 156);
  const sum = block.reduce((a, b) => a + b, 0);
  put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

function entry(name: string, body: Uint8Array, type = '0'): Uint8Array[] {
  return [header(name, body.byteLength, type), body, new Uint8Array((512 - (body.byteLength % 512)) % 512)];
}

const END = new Uint8Array(1024);
const utf8 = (text: string) => new TextEncoder().encode(text);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Sub {
  id: string;
  ciphertext: Uint8Array;
}

function manifest(subs: Sub[], overrides: Record<string, unknown> = {}): Uint8Array {
  return utf8(
    JSON.stringify({
      version: 1,
      submissions: subs.map((s) => ({
        id: s.id,
        handle: 'quiet-otter',
        day: '2026-11-27',
        size: s.ciphertext.byteLength,
        sha256: sha256(s.ciphertext),
        path: `submissions/${s.id}.pgp`,
      })),
      sources: [{ handle: 'quiet-otter', path: 'sources/quiet-otter.asc' }],
      ...overrides,
    }),
  );
}

function goodParts(subs: Sub[]): Uint8Array[] {
  return [
    ...entry('bundle.json', manifest(subs)),
    ...entry('sources/quiet-otter.asc', utf8(KEY)),
    ...subs.flatMap((s) => entry(`submissions/${s.id}.pgp`, s.ciphertext)),
    END,
  ];
}

const sub = (size = 3000): Sub => ({ id: randomUUID(), ciphertext: new Uint8Array(size).map((_, i) => (i * 7) & 0xff) });

/** What the fake server sends for the bundle: bytes, and optionally a longer Content-Length then a cut. */
let bundleReply: { bytes: Uint8Array; declaredLength?: number };
/** When set, the bundle route answers 500 with this JSON body instead. */
let bundleFailure: string | undefined;
const acks: string[] = [];
let server: http.Server;
let url: string;
let tmp: Awaited<ReturnType<typeof makeTempDir>>;

beforeAll(async () => {
  tmp = await makeTempDir('sealdrop-pull-');
  server = http.createServer((request, response) => {
    if (request.headers.authorization !== `Bearer ${TOKEN}`) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized","message":"no"}');
      return;
    }
    const ack = /^\/editor\/v1\/submissions\/([0-9a-f-]{36})\/ack$/.exec(request.url ?? '');
    if (request.method === 'POST' && ack) {
      acks.push(ack[1]!);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: ack[1], status: 'downloaded' }));
      return;
    }
    if (request.method === 'GET' && request.url === '/editor/v1/bundle' && bundleFailure !== undefined) {
      response.writeHead(500, { 'content-type': 'application/json' }).end(bundleFailure);
      return;
    }
    if ((request.method === 'GET' || request.method === 'POST') && request.url === '/editor/v1/bundle') {
      const { bytes, declaredLength } = bundleReply;
      response.writeHead(200, { 'content-type': 'application/x-tar', 'content-length': String(declaredLength ?? bytes.byteLength) });
      if (declaredLength !== undefined) {
        response.write(bytes, () => response.socket?.destroy());
      } else {
        response.end(bytes);
      }
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found","message":"no"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await tmp?.cleanup();
});

beforeEach(() => {
  acks.length = 0;
});

let counter = 0;
async function pull(parts: Uint8Array[], declaredLength?: number) {
  bundleReply = { bytes: Buffer.concat(parts), declaredLength };
  const out = `b${++counter}`;
  const result = await runCli(['pull', '--server', url, '-o', join('nested', out)], { cwd: tmp.dir, env: { SEALDROP_TOKEN: TOKEN } });
  return { ...result, dir: join(tmp.dir, 'nested', out) };
}

describe('sealdrop pull against a hostile server', () => {
  beforeAll(async () => {
    await mkdir(join(tmp.dir, 'nested'));
  });

  it('accepts a well-formed bundle and acknowledges every submission after writing it', async () => {
    const subs = [sub(), sub(70_000)];
    const r = await pull(goodParts(subs));
    expect(r.code, r.stderr).toBe(0);
    expect(await listTree(r.dir)).toEqual(
      ['bundle.json', 'sources/', 'sources/quiet-otter.asc', 'submissions/', ...subs.map((s) => `submissions/${s.id}.pgp`)].sort(),
    );
    expect(acks).toEqual(subs.map((s) => s.id));
  });

  it('keeps nothing and acknowledges nothing when a chosen bundle holds other submissions than asked', async () => {
    const asked = sub();
    const other = sub();
    for (const sent of [[other], [asked, other]]) {
      bundleReply = { bytes: Buffer.concat(goodParts(sent)) };
      const out = `chosen${++counter}`;
      const r = await runCli(['pull', '--server', url, '-o', join('nested', out), asked.id], { cwd: tmp.dir, env: { SEALDROP_TOKEN: TOKEN } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^sealdrop: error: the bundle does not hold exactly the submissions asked for\nsealdrop: hint: nothing was kept/);
      expect(await exists(join(tmp.dir, 'nested', out))).toBe(false);
      expect(acks).toEqual([]);
    }
    // a chosen bundle with a source key that was not asked for
    bundleReply = { bytes: Buffer.concat([...entry('bundle.json', manifest([asked], { sources: [{ handle: 'quiet-otter', path: 'sources/quiet-otter.asc' }, { handle: 'amber-heron', path: 'sources/amber-heron.asc' }] })), END]) };
    const r = await runCli(['pull', '--server', url, '-o', join('nested', 'chosen-keys'), asked.id], { cwd: tmp.dir, env: { SEALDROP_TOKEN: TOKEN } });
    expect(r.stderr).toMatch(/the bundle does not hold exactly the source keys asked for/);
    expect(acks).toEqual([]);
  });

  const refusals: [string, () => { parts: Uint8Array[]; declaredLength?: number }, RegExp][] = [
    [
      'a bundle cut short inside a ciphertext',
      () => {
        const bytes = Buffer.concat(goodParts([sub(9000)]));
        return { parts: [bytes.subarray(0, 512 * 3 + 4000)] };
      },
      /the bundle ends in the middle of submissions\/.*: the download was cut short/,
    ],
    [
      'a connection that breaks off before Content-Length is reached',
      () => {
        const bytes = Buffer.concat(goodParts([sub(9000)]));
        return { parts: [bytes.subarray(0, 6000)], declaredLength: bytes.byteLength };
      },
      /the connection broke off during the download/,
    ],
    [
      'a bundle without its end-of-archive marker',
      () => ({ parts: goodParts([sub()]).slice(0, -1) }),
      /no end-of-archive marker/,
    ],
    [
      'an entry climbing out of the folder',
      () => {
        const s = sub();
        return { parts: [...goodParts([s]).slice(0, -1), ...entry('../../escaped.txt', utf8('gotcha')), END] };
      },
      /unexpected entry "\.\.\/\.\.\/escaped\.txt" in the bundle/,
    ],
    [
      'an absolute path',
      () => ({ parts: [...goodParts([sub()]).slice(0, -1), ...entry('/tmp/sealdrop-escaped', utf8('x')), END] }),
      /unexpected entry "\/tmp\/sealdrop-escaped"/,
    ],
    [
      'an entry whose name carries terminal controls (C1 CSI, an override), printed escaped',
      () => ({ parts: [...goodParts([sub()]).slice(0, -1), ...entry('x\u009b2J\u202etxt.exe', utf8('x')), END] }),
      // the reader takes tar names byte by byte (latin1): UTF-8's C2 9B shows as "Â" then an escaped U+009B
      /unexpected entry "xÂ\\u009b2J\S*txt\.exe" in the bundle/,
    ],
    [
      'a file that bundle.json does not name',
      () => ({ parts: [...goodParts([sub()]).slice(0, -1), ...entry(`submissions/${randomUUID()}.pgp`, utf8('extra')), END] }),
      /unexpected entry "submissions\/[0-9a-f-]{36}\.pgp"/,
    ],
    [
      'the same file twice',
      () => {
        const s = sub();
        return { parts: [...goodParts([s]).slice(0, -1), ...entry(`submissions/${s.id}.pgp`, s.ciphertext), END] };
      },
      /unexpected entry/,
    ],
    [
      'a symbolic link',
      () => ({ parts: [...entry('bundle.json', manifest([])), header('sources/quiet-otter.asc', 0, '2'), END] }),
      /expected only regular files in the bundle, got tar entry type "2"/,
    ],
    [
      'a ciphertext whose SHA-256 differs from bundle.json',
      () => {
        const s = sub();
        const tampered = new Uint8Array(s.ciphertext);
        tampered[100]! ^= 1;
        return { parts: [...entry('bundle.json', manifest([s])), ...entry('sources/quiet-otter.asc', utf8(KEY)), ...entry(`submissions/${s.id}.pgp`, tampered), END] };
      },
      /does not match its SHA-256 in bundle\.json/,
    ],
    [
      'a ciphertext of another size than bundle.json says',
      () => {
        const s = sub();
        return { parts: [...entry('bundle.json', manifest([s])), ...entry('sources/quiet-otter.asc', utf8(KEY)), ...entry(`submissions/${s.id}.pgp`, s.ciphertext.subarray(1)), END] };
      },
      /is 2999 bytes but bundle\.json says 3000/,
    ],
    [
      'a bundle.json path pointing elsewhere',
      () => {
        const s = sub();
        return { parts: [...entry('bundle.json', manifest([s], { sources: [{ handle: 'quiet-otter', path: '../../.bashrc' }] })), END] };
      },
      /sources\[0\]\.path must be "sources\/quiet-otter\.asc"/,
    ],
    [
      'a hostile handle in bundle.json',
      () => ({ parts: [...entry('bundle.json', manifest([], { sources: [{ handle: '../..', path: 'sources/../...asc' }] })), END] }),
      /sources\[0\]\.handle is not a valid handle/,
    ],
    [
      'something other than bundle.json first',
      () => ({ parts: [...entry('sources/quiet-otter.asc', utf8(KEY)), END] }),
      /expected bundle\.json first/,
    ],
    [
      'a source key that is not a public key',
      () => ({ parts: [...entry('bundle.json', manifest([])), ...entry('sources/quiet-otter.asc', utf8('-----BEGIN PGP PRIVATE KEY BLOCK-----\n')), END] }),
      /sources\/quiet-otter\.asc is not an armored public key/,
    ],
    [
      'data after the end marker',
      () => ({ parts: [...goodParts([sub()]), utf8('trailing')] }),
      /data after its end-of-archive marker/,
    ],
    [
      'a damaged header checksum',
      () => {
        const parts = goodParts([sub()]);
        const broken = new Uint8Array(parts[3]!);
        broken[0] = 'X'.charCodeAt(0);
        parts[3] = broken;
        return { parts };
      },
      /a tar header checksum does not match/,
    ],
  ];

  it.each(refusals)('refuses %s: nothing kept, nothing acknowledged', async (_what, make, message) => {
    const { parts, declaredLength } = make();
    const before = await listTree(tmp.dir);
    const r = await pull(parts, declaredLength);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/\nsealdrop: hint: /);
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(acks).toEqual([]);
    expect(await exists(r.dir)).toBe(false);
    expect(await listTree(tmp.dir)).toEqual(before);
    expect(await exists('/tmp/sealdrop-escaped')).toBe(false);
  });

  it('prints a hostile server\'s error text with its terminal controls escaped, never raw', async () => {
    bundleFailure = JSON.stringify({
      error: 'x\u001b[31m',
      message: '\u001b[2J\u001b[Hsealdrop: pulled 3 submissions OK\u001b]0;owned\u0007\u009b2J',
    });
    try {
      const r = await pull([]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/sealdrop: error: .*\\u001b\[2J\\u001b\[Hsealdrop: pulled 3 submissions OK/);
      expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      expect(r.stderr.split('\n').filter((line) => line.startsWith('sealdrop: pulled'))).toEqual([]);
    } finally {
      bundleFailure = undefined;
    }
  });

  it('draws a progress bar on a terminal for a large bundle, and clears it before the summary', async () => {
    const big = sub(20 * 1024 * 1024);
    bundleReply = { bytes: Buffer.concat(goodParts([big])) };
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: { write: (chunk) => ((stdout += String(chunk)), true) },
      stderr: { write: (chunk) => ((stderr += String(chunk)), true), isTTY: true, columns: 100 },
      stdin: Readable.from([]),
      env: { SEALDROP_TOKEN: TOKEN, SEALDROP_SERVER: url },
      cwd: tmp.dir,
      readPassphrase: () => Promise.reject(new Error('no passphrase is needed to pull')),
    };
    await pullCommand(['-o', 'big'], io);
    expect(stderr).toMatch(/^\r\u001b\[2Ksealdrop: \[-{24}\] +0% 0 B \/ 20\.0 MiB/);
    expect(stderr.endsWith('\r\u001b[2K')).toBe(true);
    expect(stdout).toMatch(/^HANDLE +DAY +SUBMISSION +SIZE\nquiet-otter +2026-11-27 +[0-9a-f]{8} +20\.0 MiB\n1 submission from 1 source in big; 1 marked downloaded/);
    expect(acks).toEqual([big.id]);
  });
});
