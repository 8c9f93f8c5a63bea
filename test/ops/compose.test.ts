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
    expect(service('app')).toContain(`:${image.env.NEWSROOM_KEY_FILE}:ro`);
    expect(service('app')).toMatch(/DATABASE_URL: postgres:\/\/sealdrop@db:5432\/sealdrop$/m);
    expect(service('app')).toContain('PGPASSWORD_FILE: /run/secrets/db_password');
    expect(service('db')).toContain('POSTGRES_PASSWORD_FILE: /run/secrets/db_password');
    expect(live).not.toMatch(/PASSWORD:\s/);
  });

  it('gives the server longer to stop than it takes to drain', () => {
    const grace = Number(service('app').match(/stop_grace_period: (\d+)s/)![1]);
    expect(grace * 1000).toBeGreaterThan(DEFAULT_SHUTDOWN_TIMEOUT_MS + 5_000);
  });

  it('writes no per-request log line by default (Docker stamps each with the time)', () => {
    expect(service('app')).toContain('LOG_REQUESTS: ${LOG_REQUESTS:-0}');
    expect(service('db')).toContain('log_error_verbosity=terse');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  it('runs as uid 10001 on the current Node LTS, with production dependencies only', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:22-bookworm-slim$/m);
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
