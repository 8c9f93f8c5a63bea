/** @module server/config — environment variables to a typed, validated config (docs/INTERNALS.md). */
import { tmpdir } from 'node:os';
import { z } from 'zod';

export interface Config {
  /** PostgreSQL through postgres.js when set; else PGlite in `dataDir` */
  databaseUrl: string | undefined;
  dataDir: string;
  newsroomKeyFile: string;
  /** the newsroom's instance file (server/instance-file.ts); unset: the default pages */
  instanceFile: string | undefined;
  host: string;
  port: number;
  editorHost: string;
  editorPort: number;
  /** the source listener's connection cap (server/connection-budget.ts); unset: half the process's file descriptors, at most 8192 */
  sourceMaxConnections: number | undefined;
  powDifficulty: number;
  /** opens per minute, over every process, above which the difficulty rises (server/source/pow-load.ts) */
  powFloodOpensPerMinute: number;
  /** at most this many bits are added during a flood */
  powFloodMaxBits: number;
  /** bytes one source may open uploads for in one UTC day */
  quotaSourcePerDay: number;
  /** bytes held for editors over all sources: uploads in progress (in full) and received tips not yet downloaded */
  quotaTotal: number;
  /** new opens are refused once the database would pass this size (with the reservations in progress); unset: no limit */
  storageMaxDatabase: number | undefined;
  /** new opens are refused once the free space under `storagePath` would fall below this */
  storageFreeFloor: number;
  /** the folder whose file system's free space is watched: STORAGE_PATH, else DATA_DIR for the embedded database, else none */
  storagePath: string | undefined;
  /** an upload idle this many hours (though it received most of its bytes) is deleted and its reservation freed */
  uploadStaleHours: number;
  /** an upload lives this many minutes from its first sweep, plus the time its bytes pay for at uploadPace (server/source/stale-uploads.ts) */
  uploadLeaseMinutes: number;
  /** bytes a second an upload must send, on average since it was opened, to keep its reservation */
  uploadPace: number;
  /** a reservation that has shown no byte this many seconds after its open is only a claim: a full pool's open may take its room (server/source/open-limits.ts) */
  claimGraceSeconds: number;
  /** opens of at most this many bytes are small (text tips, small files): no bound on reservations applies to them */
  reserveSmallMax: number;
  /** bytes of the free room that opens larger than reserveSmallMax must leave to small opens */
  reserveSmallShare: number;
  /** percent of the free room that unsent reservations (announced minus received bytes) may hold after a large open */
  reserveUnsentPercent: number;
  /** the same for the reservations of new sources (no received submission yet); at most reserveUnsentPercent */
  reserveNewSourcePercent: number;
  /** bytes an upload (any but a text tip) must store, at most its size, before its size counts in the bounds (a probe holding 64 KiB until then: server/source/open-limits.ts) */
  reserveProof: number;
  /**
   * chunk-body bytes one app process holds in memory at once (server/source/chunk-gate.ts); what
   * holding them all costs an attacker grows with it. With chunkSpillDir: only the bodies read
   * back whole to be stored.
   */
  chunkMemory: number;
  /**
   * where arriving chunk bodies wait instead of memory (unnamed files: server/source/spill-file.ts):
   * CHUNK_SPILL_DIR, else the embedded database's DATA_DIR, else the system's temporary folder;
   * undefined: in memory
   */
  chunkSpillDir: string | undefined;
  /**
   * how chunkSpillDir was chosen: `set` (CHUNK_SPILL_DIR names it: refused at start if unusable),
   * `default` (DATA_DIR or the temporary folder: where it has no unnamed files or is memory itself,
   * tmpfs, the server holds bodies in memory and says so at start), `memory`
   * (CHUNK_SPILL_DIR=memory), `floor` (in memory: a watched
   * disk's STORAGE_FREE_FLOOR under twice MIN_DEFAULT_SPILL leaves the default folder no room)
   */
  chunkSpillChoice: 'set' | 'default' | 'memory' | 'floor';
  /** the bytes arriving bodies may hold there at once, per app process (with chunkSpillDir only) */
  chunkSpill: number;
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
/** The most bits a flood may add (with the size curve's 7, a text tip at most 12 bits dearer than a 2 GiB upload at rest). */
export const MAX_POW_FLOOD_BITS = 12;

const UNITS = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 } as const;
/** Bytes as an integer with an optional binary unit: `4G` is 4 GiB. */
const bytes = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,14})([KMGT]?)$/)
  .transform((v) => Number(v.replace(/[KMGT]$/, '')) * UNITS[(/[KMGT]$/.exec(v)?.[0] ?? '') as keyof typeof UNITS])
  .refine((n) => Number.isSafeInteger(n));
const BYTES = 'a byte count, optionally with K, M, G or T (binary units), e.g. 4G';

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
  INSTANCE_FILE: {
    schema: z.string().min(1).optional(),
    expected: 'the path of the instance file (JSON), or unset for the default pages',
  },
  HOST: { schema: host.default('127.0.0.1'), expected: 'a host name or IP address to listen on' },
  PORT: { schema: port.default(8080), expected: 'a port number 0-65535' },
  EDITOR_HOST: { schema: host.default('127.0.0.1'), expected: 'a host name or IP address to listen on' },
  EDITOR_PORT: { schema: port.default(8081), expected: 'a port number 0-65535' },
  SOURCE_MAX_CONNECTIONS: {
    schema: z.coerce.number().int().min(16).max(1_000_000).optional(),
    expected: 'an integer 16-1000000 (connections), or unset for half the file-descriptor limit',
  },
  POW_DIFFICULTY: {
    schema: z.coerce.number().int().min(0).max(MAX_POW_DIFFICULTY).default(16),
    expected: `an integer 0-${MAX_POW_DIFFICULTY} (leading zero bits)`,
  },
  POW_FLOOD_OPENS_PER_MINUTE: {
    schema: z.coerce.number().int().min(1).max(100_000).default(60),
    expected: 'an integer 1-100000 (opens per minute over every process)',
  },
  POW_FLOOD_MAX_BITS: {
    schema: z.coerce.number().int().min(0).max(MAX_POW_FLOOD_BITS).default(8),
    expected: `an integer 0-${MAX_POW_FLOOD_BITS} (bits added at most during a flood)`,
  },
  QUOTA_SOURCE_PER_DAY: { schema: bytes.default(4 * UNITS.G), expected: BYTES },
  QUOTA_TOTAL: { schema: bytes.default(64 * UNITS.G), expected: BYTES },
  STORAGE_MAX_DATABASE: { schema: bytes.optional(), expected: `${BYTES}, or unset for no limit` },
  STORAGE_FREE_FLOOR: { schema: bytes.default(4 * UNITS.G), expected: BYTES },
  STORAGE_PATH: { schema: z.string().min(1).optional(), expected: 'a folder path' },
  UPLOAD_STALE_HOURS: { schema: z.coerce.number().int().min(1).max(24).default(6), expected: 'an integer 1-24' },
  UPLOAD_LEASE_MINUTES: {
    schema: z.coerce.number().int().min(2).max(1440).default(10),
    expected: 'an integer 2-1440 (minutes), at most UPLOAD_STALE_HOURS',
  },
  UPLOAD_PACE: {
    schema: z.coerce.number().int().min(100).max(1_000_000).default(2000),
    expected: 'an integer 100-1000000 (bytes a second)',
  },
  CLAIM_GRACE_SECONDS: {
    schema: z.coerce.number().int().min(60).max(3600).default(60),
    expected: 'an integer 60-3600 (seconds; counted in whole minutes)',
  },
  RESERVE_SMALL_MAX: { schema: bytes.default(4 * UNITS.M), expected: BYTES },
  RESERVE_SMALL_SHARE: { schema: bytes.default(2 * UNITS.G), expected: BYTES },
  RESERVE_UNSENT_PERCENT: { schema: z.coerce.number().int().min(1).max(100).default(50), expected: 'an integer 1-100 (percent)' },
  RESERVE_NEW_SOURCE_PERCENT: {
    schema: z.coerce.number().int().min(0).max(100).default(20),
    expected: 'an integer 0-100 (percent), at most RESERVE_UNSENT_PERCENT',
  },
  RESERVE_PROOF: {
    schema: bytes.default(8 * UNITS.M).refine((n) => n >= UNITS.M),
    expected: 'a byte count of at least 1M, optionally with K, M, G or T (binary units), e.g. 8M',
  },
  CHUNK_MEMORY: {
    schema: bytes.default(32 * UNITS.M).refine((n) => n >= 8 * UNITS.M && n <= 4 * UNITS.G),
    expected: 'a byte count from 8M to 4G, optionally with K, M or G (binary units), e.g. 128M',
  },
  CHUNK_SPILL_DIR: { schema: z.string().min(1).optional(), expected: 'a folder path, or memory' },
  CHUNK_SPILL: {
    schema: bytes.refine((n) => n >= 64 * UNITS.M && n <= UNITS.T).optional(),
    expected: 'a byte count from 64M to 1T, optionally with K, M, G or T (binary units), e.g. 2G; with the disk watched, at most half of STORAGE_FREE_FLOOR',
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
  const databaseUrl = read(env, 'DATABASE_URL');
  const dataDir = read(env, 'DATA_DIR');
  const uploadStaleHours = read(env, 'UPLOAD_STALE_HOURS');
  const uploadLeaseMinutes = read(env, 'UPLOAD_LEASE_MINUTES');
  if (uploadLeaseMinutes > uploadStaleHours * 60) throw new ConfigError('UPLOAD_LEASE_MINUTES', VARIABLES.UPLOAD_LEASE_MINUTES.expected);
  const reserveUnsentPercent = read(env, 'RESERVE_UNSENT_PERCENT');
  const reserveNewSourcePercent = read(env, 'RESERVE_NEW_SOURCE_PERCENT');
  if (reserveNewSourcePercent > reserveUnsentPercent) {
    throw new ConfigError('RESERVE_NEW_SOURCE_PERCENT', VARIABLES.RESERVE_NEW_SOURCE_PERCENT.expected);
  }
  const storagePath = read(env, 'STORAGE_PATH') ?? (databaseUrl ? undefined : dataDir);
  const storageFreeFloor = read(env, 'STORAGE_FREE_FLOOR');
  const spill = chunkSpillOf(
    read(env, 'CHUNK_SPILL_DIR'),
    read(env, 'CHUNK_SPILL'),
    databaseUrl === undefined ? dataDir : tmpdir(),
    storagePath === undefined ? undefined : storageFreeFloor,
  );
  return {
    databaseUrl,
    dataDir,
    newsroomKeyFile: read(env, 'NEWSROOM_KEY_FILE'),
    instanceFile: read(env, 'INSTANCE_FILE'),
    host: read(env, 'HOST'),
    port: read(env, 'PORT'),
    editorHost: read(env, 'EDITOR_HOST'),
    editorPort: read(env, 'EDITOR_PORT'),
    sourceMaxConnections: read(env, 'SOURCE_MAX_CONNECTIONS'),
    powDifficulty: read(env, 'POW_DIFFICULTY'),
    powFloodOpensPerMinute: read(env, 'POW_FLOOD_OPENS_PER_MINUTE'),
    powFloodMaxBits: read(env, 'POW_FLOOD_MAX_BITS'),
    quotaSourcePerDay: read(env, 'QUOTA_SOURCE_PER_DAY'),
    quotaTotal: read(env, 'QUOTA_TOTAL'),
    storageMaxDatabase: read(env, 'STORAGE_MAX_DATABASE'),
    storageFreeFloor,
    storagePath,
    uploadStaleHours,
    uploadLeaseMinutes,
    uploadPace: read(env, 'UPLOAD_PACE'),
    claimGraceSeconds: read(env, 'CLAIM_GRACE_SECONDS'),
    reserveSmallMax: read(env, 'RESERVE_SMALL_MAX'),
    reserveSmallShare: read(env, 'RESERVE_SMALL_SHARE'),
    reserveUnsentPercent,
    reserveNewSourcePercent,
    reserveProof: read(env, 'RESERVE_PROOF'),
    chunkMemory: read(env, 'CHUNK_MEMORY'),
    ...spill,
    onionLocation: read(env, 'ONION_LOCATION'),
    retentionDays: read(env, 'RETENTION_DAYS'),
    logRequests: read(env, 'LOG_REQUESTS'),
  };
}

/** The spill's default size: 2 GiB, or half a watched disk's floor when that is less. */
export const DEFAULT_CHUNK_SPILL = 2 * UNITS.G;
/** Below this the default folder is not used (the least CHUNK_SPILL one may set). */
export const MIN_DEFAULT_SPILL = 64 * UNITS.M;

/**
 * Where arriving chunk bodies wait: the folder named, `memory`, or `byDefault` (the embedded
 * database's folder, whose disk is the one watched; with PostgreSQL the system's temporary folder,
 * TMPDIR or /tmp): unnamed files there leave no name and no time behind
 * (server/source/spill-file.ts). `floor` is STORAGE_FREE_FLOOR when the disk is watched: spilled
 * bodies take disk its check does not see coming, so it must keep room for them, at most half of it.
 */
function chunkSpillOf(
  dir: string | undefined,
  size: number | undefined,
  byDefault: string,
  floor: number | undefined,
): Pick<Config, 'chunkSpillDir' | 'chunkSpillChoice' | 'chunkSpill'> {
  const bound = floor === undefined ? Infinity : floor / 2;
  if (dir === 'memory') return { chunkSpillDir: undefined, chunkSpillChoice: 'memory', chunkSpill: size ?? DEFAULT_CHUNK_SPILL };
  // named, or the size set: as asked, within the bound; the default folder's default size: within it
  const chunkSpill = size ?? (dir !== undefined ? DEFAULT_CHUNK_SPILL : Math.min(DEFAULT_CHUNK_SPILL, Math.floor(bound)));
  if (chunkSpill > bound) throw new ConfigError('CHUNK_SPILL', VARIABLES.CHUNK_SPILL.expected);
  if (dir !== undefined) return { chunkSpillDir: dir, chunkSpillChoice: 'set', chunkSpill };
  if (chunkSpill < MIN_DEFAULT_SPILL) return { chunkSpillDir: undefined, chunkSpillChoice: 'floor', chunkSpill };
  return { chunkSpillDir: byDefault, chunkSpillChoice: 'default', chunkSpill };
}
