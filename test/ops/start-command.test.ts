/**
 * "The container's start command, run directly on this machine against the local PostgreSQL,
 * migrates and serves": the Dockerfile's ENTRYPOINT + CMD (read from the Dockerfile, so the two
 * cannot drift), a fresh database, /health, the tables, the image's HEALTHCHECK, SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, readKey } from 'openpgp';
import postgres from 'postgres';
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import { isInMemory } from '../../server/source/spill-file.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onHost, readImageCommand, ROOT, startImageCommand } from './dockerfile.ts';
import { createEmptyDatabase } from './pg.ts';
import { runProgram } from './process.ts';

const CONTRACT_TABLES = [
  'audit', 'chunks', 'editor_tokens', 'housekeeping', 'instance', 'pow_load', 'replies', 'sources', 'spent_pow', 'submissions', 'swept_unsent', 'upload_progress',
];

let database: Awaited<ReturnType<typeof createEmptyDatabase>>;
beforeAll(async () => {
  database = await createEmptyDatabase('sealdrop_start');
});
afterAll(async () => {
  await database?.drop();
});

function env(extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: database.url,
    HOST: '127.0.0.1',
    PORT: '0',
    EDITOR_HOST: '127.0.0.1',
    EDITOR_PORT: '0',
    // the image has no key: production mounts one; here the demo key stands in
    NEWSROOM_KEY_FILE: join(ROOT, 'keys.example/newsroom.pub.asc'),
    ...extra,
  };
}

async function healthcheck(port: string) {
  const image = readImageCommand();
  const [command, ...args] = onHost(image, image.healthcheck);
  return runProgram(command!, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', PORT: port } });
}

describe('the Dockerfile start command', () => {
  it('runs as the image runs it: node through tsx, not a dev tool', () => {
    const image = readImageCommand();
    expect(image.cmd).toEqual(['node', '--import', 'tsx', 'server/main.ts']);
    expect(image.env.NEWSROOM_KEY_FILE).not.toMatch(/keys\.example/);
  });

  it('migrates a fresh PostgreSQL database, serves /health, passes its HEALTHCHECK, and stops on SIGTERM', async () => {
    const server = await startImageCommand(env());
    try {
      const health = await fetch(new URL('/health', server.sourceUrl));
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ ok: true });
      // the start line names the loaded key as the page and keygen show it, and that it is the demo key
      expect(server.watched.output()).toMatch(/, newsroom key D595 50C5 A489 5EA5 5787 F850 CA96 8B8E C7FC 9799 \(DEMO\) \(PostgreSQL\)$/m);
      // the editor listener is up too (it wants a token)
      expect((await fetch(new URL('/editor/v1/submissions', server.editorUrl))).status).toBe(401);

      const sql = postgres(database.url, { max: 1 });
      try {
        const tables = await sql<{ table_name: string }[]>`
          select table_name from information_schema.tables where table_schema = 'public' order by 1`;
        expect(tables.map((t) => t.table_name)).toEqual(CONTRACT_TABLES);
        const [instance] = await sql<{ n: number }[]>`select count(*)::int as n from instance`;
        expect(instance!.n).toBe(1);
      } finally {
        await sql.end();
      }

      const port = new URL(server.sourceUrl).port;
      const healthy = await healthcheck(port);
      expect(healthy.code).toBe(0);
    } finally {
      server.watched.child.kill('SIGTERM');
    }
    const exit = await server.watched.exited;
    expect(exit, server.watched.output()).toEqual({ code: 0, signal: null });
    // and the HEALTHCHECK notices a server that is gone
    const gone = await healthcheck(new URL(server.sourceUrl).port);
    expect(gone.code).toBe(1);
  });

  it('holds the source listener to SOURCE_MAX_CONNECTIONS (idle connections past three quarters of it closed, counted without addresses), the editor listener apart; and warns of a cap the fds cannot hold', async () => {
    const server = await startImageCommand(env({ SOURCE_MAX_CONNECTIONS: '16' }));
    const sockets: Socket[] = [];
    try {
      const { port } = new URL(server.sourceUrl);
      for (let i = 0; i < 30; i++) {
        const socket = connect(Number(port), '127.0.0.1');
        socket.on('error', () => {});
        sockets.push(socket);
      }
      const line = await server.watched.waitFor(/^connections: .*$/m, 'the connection budget\'s report', 20_000);
      expect(line[0]).toMatch(/^connections: \d+ open \(\d+ busy\) of 16; \d+ idle closed above 12, 0 refused at the cap$/);
      expect((await fetch(new URL('/health', server.sourceUrl))).status).toBe(200);
      expect((await fetch(new URL('/editor/v1/submissions', server.editorUrl))).status).toBe(401);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.watched.child.kill('SIGTERM');
    }
    expect((await server.watched.exited).code).toBe(0);

    const tooMany = await startImageCommand(env({ SOURCE_MAX_CONNECTIONS: '1000000' }));
    try {
      await tooMany.watched.waitFor(/sealdrop: hint: lower it, or raise the limit/, 'the warning about the cap', 20_000);
      expect(tooMany.watched.output()).toMatch(/^sealdrop: warning: SOURCE_MAX_CONNECTIONS \(1000000\) leaves under 256 of the process's \d+ file descriptors$/m);
    } finally {
      tooMany.watched.child.kill('SIGTERM');
    }
    expect(await tooMany.watched.exited, tooMany.watched.output()).toEqual({ code: 0, signal: null });
  });

  it('starts again on the migrated database, and reads the password from PGPASSWORD_FILE', async () => {
    // The entrypoint's password path: a URL without password plus a file. Local PostgreSQL
    // trusts 127.0.0.1, so a wrong password would pass too; an unreadable file must not.
    const missing = await runProgram(join(ROOT, 'deploy/app/entrypoint.sh'), ['true'], {
      env: { PATH: process.env.PATH ?? '', PGPASSWORD_FILE: '/nonexistent/db_password' },
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/PGPASSWORD_FILE: cannot read/);
    const shown = await runProgram(join(ROOT, 'deploy/app/entrypoint.sh'), ['sh', '-c', 'printf %s "$PGPASSWORD"'], {
      env: { PATH: process.env.PATH ?? '', PGPASSWORD_FILE: join(ROOT, 'package.json') },
    });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe((await import('node:fs')).readFileSync(join(ROOT, 'package.json'), 'utf8').trimEnd());

    const server = await startImageCommand(env());
    try {
      expect((await fetch(new URL('/health', server.sourceUrl))).status).toBe(200);
    } finally {
      server.watched.child.kill('SIGTERM');
    }
    expect((await server.watched.exited).code).toBe(0);
  });

  // The image's user is uid 10001 with a read-only root: run as that uid here, in a checkout it
  // cannot write to, with the embedded database (the trial mode, the only one writing to disk).
  it.skipIf(process.getuid?.() !== 0)(
    'runs as an unprivileged user writing nothing but DATA_DIR and /tmp (needs root to switch user)',
    async () => {
      const data = mkdtempSync(join(tmpdir(), 'sealdrop-data-'));
      chownSync(data, 10001, 10001);
      try {
        // the checkout stands for the image's root-owned /app: uid 10001 cannot write there
        const writable = await runProgram('setpriv', ['--reuid=10001', '--regid=10001', '--clear-groups', 'test', '-w', ROOT]);
        expect(writable.code).toBe(1);
        const server = await startImageCommand(
          env({ DATABASE_URL: '', DATA_DIR: join(data, 'db'), HOME: '/nonexistent' }),
          ['setpriv', '--reuid=10001', '--regid=10001', '--clear-groups'],
        );
        try {
          expect(server.watched.output()).toMatch(/embedded database/);
          expect((await fetch(new URL('/health', server.sourceUrl))).status).toBe(200);
          expect(readdirSync(join(data, 'db'))).toContain('PG_VERSION');
          expect(statSync(join(data, 'db')).uid).toBe(10001);
        } finally {
          server.watched.child.kill('SIGTERM');
        }
        expect(await server.watched.exited).toEqual({ code: 0, signal: null });
      } finally {
        rmSync(data, { recursive: true, force: true });
      }
    },
  );

  it('takes a binary key file (gpg --export without --armor) and prints the loaded key\'s fingerprint, grouped, on its start line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdrop-binkey-'));
    try {
      const { publicKey, privateKey } = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'binary newsroom' }], format: 'binary' });
      writeFileSync(join(dir, 'newsroom.pub.gpg'), publicKey);
      writeFileSync(join(dir, 'newsroom.sec.gpg'), privateKey);
      const fingerprint = formatFingerprint((await readKey({ binaryKey: publicKey })).getFingerprint());
      const server = await startImageCommand(env({ NEWSROOM_KEY_FILE: join(dir, 'newsroom.pub.gpg') }));
      try {
        expect(server.watched.output()).toMatch(new RegExp(`^sealdrop: source pages on http://\\S+, editor API on http://\\S+, newsroom key ${fingerprint} \\(PostgreSQL\\)$`, 'm'));
        expect(server.watched.output()).not.toContain('DEMO');
        expect((await fetch(new URL('/health', server.sourceUrl))).status).toBe(200);
      } finally {
        server.watched.child.kill('SIGTERM');
      }
      expect((await server.watched.exited).code).toBe(0);

      // a binary SECRET key is refused as such, and the hint about the PUBLIC key is the true one
      const image = readImageCommand();
      const [command, ...args] = onHost(image, [...image.entrypoint, ...image.cmd]);
      const refused = await runProgram(command!, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env({ NEWSROOM_KEY_FILE: join(dir, 'newsroom.sec.gpg') }) } });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('got secret key material (binary)');
      expect(refused.stderr).toContain('sealdrop: hint: NEWSROOM_KEY_FILE must be the newsroom PUBLIC key');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start with a CHUNK_SPILL_DIR it cannot use, saying why and what to do; with a usable one it serves', async () => {
    const image = readImageCommand();
    const [command, ...args] = onHost(image, [...image.entrypoint, ...image.cmd]);
    const missing = join(tmpdir(), `sealdrop-no-spill-${process.pid}`);
    const result = await runProgram(command!, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...image.env, ...env({ CHUNK_SPILL_DIR: missing }) },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`sealdrop: error: CHUNK_SPILL_DIR ${missing} is not a folder`);
    expect(result.stderr).toMatch(/sealdrop: hint: .*set CHUNK_SPILL_DIR=memory to hold chunk bodies in memory/);
    const dir = mkdtempSync(join(tmpdir(), 'sealdrop-spill-start-'));
    try {
      const server = await startImageCommand(env({ CHUNK_SPILL_DIR: dir }));
      try {
        expect((await fetch(new URL('/health', server.sourceUrl))).status).toBe(200);
        expect(readdirSync(dir)).toEqual([]);
      } finally {
        server.watched.child.kill('SIGTERM');
      }
      expect(await server.watched.exited).toEqual({ code: 0, signal: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with CHUNK_SPILL_DIR unset, uses the temporary folder; where that has no unnamed files or is tmpfs, or with CHUNK_SPILL_DIR=memory, says bodies are held in memory and serves', async () => {
    const notAFolder = join(tmpdir(), `sealdrop-tmp-file-${process.pid}`);
    writeFileSync(notAFolder, '');
    const usable = mkdtempSync(join(tmpdir(), 'sealdrop-tmp-'));
    const mounted = mkdtempSync(join(tmpdir(), 'sealdrop-tmpfs-'));
    const root = process.getuid?.() === 0;
    if (root) execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', mounted]);
    const memory = (why: string) => `sealdrop: warning: arriving chunk bodies are held in memory (${why}): about 25 kB/s trickled into them holds CHUNK_MEMORY and keeps file chunks out`;
    try {
      // TSX_DISABLE_CACHE: tsx keeps its cache in the temporary folder and would stop first
      const cases: [Record<string, string>, string | undefined][] = [
        [{ TMPDIR: notAFolder, TSX_DISABLE_CACHE: '1' }, memory(`CHUNK_SPILL_DIR unset, and the temporary folder ${notAFolder} is not a folder`)],
        [{ CHUNK_SPILL_DIR: 'memory' }, memory('CHUNK_SPILL_DIR=memory')],
        // a usable folder on disk: no word of memory (the half-sent body there: test/ops/shutdown.test.ts)
        [{ TMPDIR: usable }, isInMemory(usable) ? memory(`CHUNK_SPILL_DIR unset, and the temporary folder ${usable} is in memory (tmpfs)`) : undefined],
      ];
      if (root) cases.push([{ TMPDIR: mounted }, memory(`CHUNK_SPILL_DIR unset, and the temporary folder ${mounted} is in memory (tmpfs)`)]);
      for (const [extra, warning] of cases) {
        const server = await startImageCommand(env(extra));
        try {
          expect((await fetch(new URL('/health', server.sourceUrl))).status).toBe(200);
          const output = server.watched.output();
          if (warning === undefined) {
            expect(output).not.toMatch(/held in memory/);
          } else {
            expect(output).toContain(warning);
            expect(output).toMatch(/^sealdrop: hint: name a folder of its own on a local Linux file system in CHUNK_SPILL_DIR/m);
          }
        } finally {
          server.watched.child.kill('SIGTERM');
        }
        expect(await server.watched.exited).toEqual({ code: 0, signal: null });
      }
    } finally {
      if (root) execFileSync('umount', [mounted]);
      rmSync(notAFolder, { force: true });
      rmSync(usable, { recursive: true, force: true });
      rmSync(mounted, { recursive: true, force: true });
    }
  });

  it('refuses to start without a usable newsroom key (the image ships none)', async () => {
    const image = readImageCommand();
    const [command, ...args] = onHost(image, [...image.entrypoint, ...image.cmd]);
    const result = await runProgram(command!, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...image.env, ...env({ NEWSROOM_KEY_FILE: image.env.NEWSROOM_KEY_FILE! }) },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/newsroom key/i);
  });
});
