/** @module test/ops/dockerfile — the Dockerfile's own start command, run on this machine. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { watchProgram, type Watched } from './process.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

/**
 * The environment of a server for the fault tests: both listeners on loopback at ports the system
 * picks, the demo key, no proof of work, no request log; `database` is `{ DATABASE_URL }` or
 * `{ DATA_DIR }`.
 */
export const loopbackServerEnv = (database: { DATABASE_URL: string } | { DATA_DIR: string }): Record<string, string> => ({
  ...database,
  HOST: '127.0.0.1',
  PORT: '0',
  EDITOR_HOST: '127.0.0.1',
  EDITOR_PORT: '0',
  NEWSROOM_KEY_FILE: join(ROOT, 'keys.example/newsroom.pub.asc'),
  POW_DIFFICULTY: '0',
  LOG_REQUESTS: '0',
});

/** The last value of an instruction (JSON exec form for ENTRYPOINT/CMD/HEALTHCHECK CMD). */
function instruction(dockerfile: string, name: string): string {
  // join continuation lines, drop comments
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').filter((l) => !/^\s*#/.test(l));
  const found = lines.filter((l) => new RegExp(`^${name}\\s`, 'i').test(l.trim()));
  if (found.length === 0) throw new Error(`the Dockerfile has no ${name}`);
  return found.at(-1)!.trim().slice(name.length).trim();
}

function execForm(value: string, what: string): string[] {
  const parsed: unknown = JSON.parse(value);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) {
    throw new Error(`expected ${what} in JSON exec form, got ${value}`);
  }
  return parsed as string[];
}

export interface ImageCommand {
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
  env: Record<string, string>;
}

/** ENTRYPOINT, CMD, HEALTHCHECK and ENV of the runtime stage (the last one). */
export function readImageCommand(): ImageCommand {
  const all = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = all.slice(all.lastIndexOf('\nFROM '));
  const workdir = instruction(runtime, 'WORKDIR');
  const health = instruction(runtime, 'HEALTHCHECK');
  const healthCmd = health.slice(health.indexOf('CMD') + 3).trim();
  const env: Record<string, string> = {};
  for (const [, k, v] of instruction(runtime, 'ENV').matchAll(/([A-Z_]+)=(\S+)/g)) env[k!] = v!;
  return {
    workdir,
    entrypoint: execForm(instruction(runtime, 'ENTRYPOINT'), 'ENTRYPOINT'),
    cmd: execForm(instruction(runtime, 'CMD'), 'CMD'),
    healthcheck: execForm(healthCmd, 'HEALTHCHECK CMD'),
    env,
  };
}

/** A path inside the image's WORKDIR is the same path in this checkout. */
export function onHost(image: ImageCommand, argv: string[]): string[] {
  return argv.map((a) => (a.startsWith(`${image.workdir}/`) ? join(ROOT, a.slice(image.workdir.length + 1)) : a));
}

export interface RunningServer {
  watched: Watched;
  sourceUrl: string;
  editorUrl: string;
}

/**
 * ENTRYPOINT + CMD, from the checkout's root (the image's WORKDIR), with the image's ENV under
 * `env`, optionally behind a `wrapper` command (setpriv …). Resolves once the server printed its URLs.
 */
export async function startImageCommand(env: Record<string, string>, wrapper: string[] = []): Promise<RunningServer> {
  const image = readImageCommand();
  const [command, ...args] = [...wrapper, ...onHost(image, [...image.entrypoint, ...image.cmd])];
  const watched = watchProgram(command!, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...image.env, ...env },
  });
  const match = await watched.waitFor(
    /source pages on (http:\/\/\S+?\/)\S*.*editor API on (http:\/\/\S+?\/)/,
    'the start line with both URLs',
    120_000,
  );
  return { watched, sourceUrl: match[1]!, editorUrl: match[2]! };
}
