/** @module server/config — environment variables to a typed, validated config (docs/INTERNALS.md). */
import { z } from 'zod';

export interface Config {
  /** PostgreSQL through postgres.js when set; else PGlite in `dataDir` */
  databaseUrl: string | undefined;
  dataDir: string;
  newsroomKeyFile: string;
  host: string;
  port: number;
  editorHost: string;
  editorPort: number;
  powDifficulty: number;
  /** the onion service URL for the `Onion-Location` header, if any */
  onionLocation: string | undefined;
  retentionDays: number;
  logRequests: boolean;
}

/** A bad environment variable: which one, and what was expected (its value is never echoed). */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly expected: string,
  ) {
    super(`${variable}: expected ${expected}`);
  }
}

// Difficulty is in leading zero bits of SHA-256; 30 bits would take a JIT-off Tor Browser hours.
export const MAX_POW_DIFFICULTY = 28;

const port = z.coerce.number().int().min(0).max(65535);
const host = z.string().regex(/^[A-Za-z0-9.:[\]-]+$/);
const onionUrl = z.url({ protocol: /^https?$/, hostname: /^([a-z2-7]{56}\.)+onion$|^[a-z2-7]{56}\.onion$/ });

const VARIABLES = {
  DATABASE_URL: {
    schema: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    expected: 'a postgres:// or postgresql:// URL, or unset for the embedded database',
  },
  DATA_DIR: { schema: z.string().min(1).default('./data'), expected: 'a folder path' },
  NEWSROOM_KEY_FILE: {
    schema: z.string().min(1).default('keys.example/newsroom.pub.asc'),
    expected: 'the path of the newsroom public key file',
  },
  HOST: { schema: host.default('127.0.0.1'), expected: 'a host name or IP address to listen on' },
  PORT: { schema: port.default(8080), expected: 'a port number 0-65535' },
  EDITOR_HOST: { schema: host.default('127.0.0.1'), expected: 'a host name or IP address to listen on' },
  EDITOR_PORT: { schema: port.default(8081), expected: 'a port number 0-65535' },
  POW_DIFFICULTY: {
    schema: z.coerce.number().int().min(0).max(MAX_POW_DIFFICULTY).default(16),
    expected: `an integer 0-${MAX_POW_DIFFICULTY} (leading zero bits)`,
  },
  ONION_LOCATION: {
    schema: onionUrl.optional(),
    expected: 'an http:// URL of a v3 onion service (56 base32 characters + .onion)',
  },
  RETENTION_DAYS: { schema: z.coerce.number().int().min(1).max(3650).default(30), expected: 'an integer 1-3650' },
  LOG_REQUESTS: {
    schema: z.enum(['0', '1']).default('1').transform((v) => v === '1'),
    expected: '0 or 1',
  },
} as const;

type Env = Record<string, string | undefined>;

function read<K extends keyof typeof VARIABLES>(env: Env, name: K): z.output<(typeof VARIABLES)[K]['schema']> {
  const { schema, expected } = VARIABLES[name];
  const raw = env[name];
  // an empty variable means unset (docker-compose writes `VAR=` for an absent value)
  const result = schema.safeParse(raw === '' ? undefined : raw);
  if (!result.success) throw new ConfigError(name, expected);
  return result.data as z.output<(typeof VARIABLES)[K]['schema']>;
}

export function loadConfig(env: Env = process.env): Config {
  return {
    databaseUrl: read(env, 'DATABASE_URL'),
    dataDir: read(env, 'DATA_DIR'),
    newsroomKeyFile: read(env, 'NEWSROOM_KEY_FILE'),
    host: read(env, 'HOST'),
    port: read(env, 'PORT'),
    editorHost: read(env, 'EDITOR_HOST'),
    editorPort: read(env, 'EDITOR_PORT'),
    powDifficulty: read(env, 'POW_DIFFICULTY'),
    onionLocation: read(env, 'ONION_LOCATION'),
    retentionDays: read(env, 'RETENTION_DAYS'),
    logRequests: read(env, 'LOG_REQUESTS'),
  };
}
