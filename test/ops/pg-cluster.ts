/**
 * @module test/ops/pg-cluster — a throwaway PostgreSQL cluster of the test's own: initdb into a
 * temporary folder, its own port and socket folder, as the `postgres` user when the tests run as
 * root (initdb refuses root). For fault tests (kill -9 of the server, restarts) and WAL inspection;
 * the shared server on 127.0.0.1:5432 is never touched.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PG_BIN = (() => {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root} (Debian's postgresql package)`);
  return join(root, versions[0]!, 'bin');
})();

export const pgBin = (name: string) => join(PG_BIN, name);

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL program as the cluster's owner; throws with its output on failure. */
function runAsOwner(program: string, args: string[], timeoutMs = 60_000): string {
  const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', pgBin(program), ...args]] : [pgBin(program), args];
  const result = spawnSync(command, argv, { encoding: 'utf8', timeout: timeoutMs });
  if (result.status !== 0) {
    throw new Error(`${program} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  dataDir: string;
  /** server settings given at every start (`-c name=value`) */
  settings: Record<string, string>;
  start(): void;
  /** SIGKILL to the postmaster and every backend: a crash, recovered from at the next start */
  kill(): void;
  /** SIGSTOP to the postmaster and every backend: a database that accepts connections and never answers */
  freeze(): void;
  /** SIGCONT to them all again */
  thaw(): void;
  /** a clean (fast) shutdown */
  stop(): void;
  /** stop if running and delete everything */
  destroy(): void;
  /** `pg_waldump` over every segment in pg_wal, as the owner; returns its text output */
  waldump(extraArgs?: string[]): string;
}

export async function createPgCluster(settings: Record<string, string> = {}): Promise<PgCluster> {
  const root = mkdtempSync(join(tmpdir(), 'sealdrop-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'sock');
  let ownerIds: { uid: number; gid: number } | undefined;
  if (asRoot) {
    const owner = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (owner.status !== 0) throw new Error('running as root, but there is no postgres user to own a throwaway cluster');
    ownerIds = { uid: Number(owner.stdout.trim()), gid: Number(group.stdout.trim()) };
    chownSync(root, ownerIds.uid, ownerIds.gid);
  }
  runAsOwner('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  mkdirSync(socketDir);
  if (asRoot) chownSync(socketDir, ownerIds!.uid, ownerIds!.gid);
  const port = await freePort();
  const options = () =>
    [`-p ${port}`, `-k ${socketDir}`, `-c listen_addresses=127.0.0.1`, ...Object.entries(cluster.settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  const postmasterPid = (): number | undefined => {
    try {
      return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  };
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    settings: { ...settings },
    start() {
      runAsOwner('pg_ctl', ['-D', dataDir, '-o', options(), '-l', join(root, 'server.log'), '-w', '-t', '60', 'start']);
    },
    kill() {
      const pid = postmasterPid();
      if (!pid) return;
      // the postmaster stopped first, so that it forks no new backend between the list and the
      // kills (a connection arriving then left an orphan holding the port), then its children
      spawnSync('kill', ['-STOP', String(pid)]);
      const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
      for (const child of children) spawnSync('kill', ['-9', child]);
      spawnSync('kill', ['-9', String(pid)]);
      for (let i = 0; i < 100 && spawnSync('kill', ['-0', String(pid)]).status === 0; i++) spawnSync('sleep', ['0.05']);
    },
    freeze() {
      const pid = postmasterPid();
      if (!pid) return;
      spawnSync('kill', ['-STOP', String(pid)]);
      for (const child of spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
        spawnSync('kill', ['-STOP', child]);
      }
    },
    thaw() {
      const pid = postmasterPid();
      if (!pid) return;
      for (const child of spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
        spawnSync('kill', ['-CONT', child]);
      }
      spawnSync('kill', ['-CONT', String(pid)]);
    },
    stop() {
      if (postmasterPid() === undefined) return;
      runAsOwner('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
    },
    destroy() {
      try {
        if (existsSync(join(dataDir, 'postmaster.pid'))) cluster.kill();
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
    waldump(extraArgs = []) {
      const walDir = join(dataDir, 'pg_wal');
      const segments = readdirSync(walDir).filter((n) => /^[0-9A-F]{24}$/.test(n)).sort();
      let out = '';
      for (const segment of segments) {
        // a segment may end in unwritten space: pg_waldump then reports where the records stop
        const result = spawnSync(
          asRoot ? 'runuser' : pgBin('pg_waldump'),
          asRoot ? ['-u', 'postgres', '--', pgBin('pg_waldump'), ...extraArgs, join(walDir, segment)] : [...extraArgs, join(walDir, segment)],
          { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
        );
        out += result.stdout;
      }
      return out;
    },
  };
  cluster.start();
  return cluster;
}
