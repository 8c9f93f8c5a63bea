import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { ConfigError, loadConfig } from './config.ts';

const ONION = 'http://' + 'a'.repeat(56) + '.onion';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      databaseUrl: undefined,
      dataDir: './data',
      newsroomKeyFile: 'keys.example/newsroom.pub.asc',
      instanceFile: undefined,
      host: '127.0.0.1',
      port: 8080,
      editorHost: '127.0.0.1',
      editorPort: 8081,
      sourceMaxConnections: undefined,
      powDifficulty: 16,
      powFloodOpensPerMinute: 60,
      powFloodMaxBits: 8,
      quotaSourcePerDay: 4 * 1024 ** 3,
      quotaTotal: 64 * 1024 ** 3,
      storageMaxDatabase: undefined,
      storageFreeFloor: 4 * 1024 ** 3,
      storagePath: './data',
      uploadStaleHours: 6,
      uploadLeaseMinutes: 10,
      uploadPace: 2000,
      claimGraceSeconds: 60,
      reserveSmallMax: 4 * 1024 ** 2,
      reserveSmallShare: 2 * 1024 ** 3,
      reserveUnsentPercent: 50,
      reserveNewSourcePercent: 20,
      reserveProof: 8 * 1024 ** 2,
      chunkMemory: 32 * 1024 ** 2,
      chunkSpillDir: './data',
      chunkSpillChoice: 'default',
      chunkSpill: 2 * 1024 ** 3,
      onionLocation: undefined,
      retentionDays: 30,
      logRequests: true,
    });
  });

  it('reads byte sizes with binary units, and watches the embedded database\'s folder unless told another', () => {
    expect(
      loadConfig({ QUOTA_SOURCE_PER_DAY: '512M', QUOTA_TOTAL: '2T', STORAGE_MAX_DATABASE: '100G', STORAGE_FREE_FLOOR: '1048576' }),
    ).toMatchObject({
      quotaSourcePerDay: 512 * 1024 ** 2,
      quotaTotal: 2 * 1024 ** 4,
      storageMaxDatabase: 100 * 1024 ** 3,
      storageFreeFloor: 1024 ** 2,
      storagePath: './data',
    });
    expect(loadConfig({ CHUNK_MEMORY: '256M' }).chunkMemory).toBe(256 * 1024 ** 2);
    expect(loadConfig({ CHUNK_MEMORY: '8M' }).chunkMemory).toBe(8 * 1024 ** 2);
    expect(loadConfig({ CHUNK_MEMORY: '4G' }).chunkMemory).toBe(4 * 1024 ** 3);
    // arriving chunk bodies on disk unless a folder is named (or memory): the embedded database's
    // folder, with PostgreSQL the system's temporary folder; 2 GiB there by default
    expect(loadConfig({})).toMatchObject({ chunkSpillDir: './data', chunkSpillChoice: 'default', chunkSpill: 2 * 1024 ** 3 });
    expect(loadConfig({ DATA_DIR: '/srv/tips' })).toMatchObject({ chunkSpillDir: '/srv/tips', chunkSpillChoice: 'default' });
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x' })).toMatchObject({ chunkSpillDir: tmpdir(), chunkSpillChoice: 'default', chunkSpill: 2 * 1024 ** 3 });
    expect(loadConfig({ CHUNK_SPILL_DIR: '/var/lib/sealdrop/spill', CHUNK_SPILL: '64M' })).toMatchObject({ chunkSpillDir: '/var/lib/sealdrop/spill', chunkSpillChoice: 'set', chunkSpill: 64 * 1024 ** 2 });
    expect(loadConfig({ CHUNK_SPILL_DIR: 'memory' })).toMatchObject({ chunkSpillDir: undefined, chunkSpillChoice: 'memory' });
    expect(loadConfig({ CHUNK_SPILL_DIR: './memory' })).toMatchObject({ chunkSpillDir: './memory', chunkSpillChoice: 'set' });
    // the default folder's default size keeps within half a watched disk's floor; under 64 MiB
    // there it is not used (bodies in memory, said at start)
    expect(loadConfig({ STORAGE_FREE_FLOOR: '1G' })).toMatchObject({ chunkSpillDir: './data', chunkSpill: 512 * 1024 ** 2 });
    expect(loadConfig({ STORAGE_FREE_FLOOR: '128M' })).toMatchObject({ chunkSpillDir: './data', chunkSpill: 64 * 1024 ** 2 });
    expect(loadConfig({ STORAGE_FREE_FLOOR: '100M' })).toMatchObject({ chunkSpillDir: undefined, chunkSpillChoice: 'floor' });
    expect(loadConfig({ STORAGE_FREE_FLOOR: '0' })).toMatchObject({ chunkSpillDir: undefined, chunkSpillChoice: 'floor' });
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x', STORAGE_FREE_FLOOR: '0' })).toMatchObject({ chunkSpillDir: tmpdir(), chunkSpill: 2 * 1024 ** 3 });
    expect(() => loadConfig({ STORAGE_FREE_FLOOR: '1G', CHUNK_SPILL: '1G' })).toThrow(/^CHUNK_SPILL: expected .*half of STORAGE_FREE_FLOOR/);
    expect(() => loadConfig({ STORAGE_FREE_FLOOR: '1G', CHUNK_SPILL_DIR: '/s' })).toThrow(/^CHUNK_SPILL: expected .*half of STORAGE_FREE_FLOOR/);
    expect(loadConfig({ STORAGE_FREE_FLOOR: '1G', CHUNK_SPILL_DIR: 'memory', CHUNK_SPILL: '1G' }).chunkSpillDir).toBeUndefined();
    // with the disk watched, the floor must keep room for them: at most half of it
    expect(loadConfig({ CHUNK_SPILL_DIR: '/s', STORAGE_FREE_FLOOR: '4G', CHUNK_SPILL: '2G' }).chunkSpill).toBe(2 * 1024 ** 3);
    expect(() => loadConfig({ CHUNK_SPILL_DIR: '/s', STORAGE_FREE_FLOOR: '4G', CHUNK_SPILL: '3G' })).toThrow(/^CHUNK_SPILL: expected .*half of STORAGE_FREE_FLOOR/);
    // not watched (PostgreSQL without STORAGE_PATH): no such bound
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x', CHUNK_SPILL_DIR: '/s', CHUNK_SPILL: '3G' }).chunkSpill).toBe(3 * 1024 ** 3);
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x', CHUNK_SPILL: '1T' }).chunkSpill).toBe(1024 ** 4);
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x' }).storagePath).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x', STORAGE_PATH: '/var/lib/postgresql' }).storagePath).toBe('/var/lib/postgresql');
  });

  it('reads every variable', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/sealdrop',
      DATA_DIR: '/var/lib/sealdrop',
      NEWSROOM_KEY_FILE: '/keys/newsroom.asc',
      INSTANCE_FILE: '/etc/sealdrop/instance.json',
      HOST: '0.0.0.0',
      PORT: '3000',
      EDITOR_HOST: '::1',
      EDITOR_PORT: '3001',
      SOURCE_MAX_CONNECTIONS: '2048',
      POW_DIFFICULTY: '0',
      ONION_LOCATION: ONION,
      RETENTION_DAYS: '7',
      LOG_REQUESTS: '0',
    });
    expect(config).toMatchObject({
      databaseUrl: 'postgres://u:p@db:5432/sealdrop',
      instanceFile: '/etc/sealdrop/instance.json',
      port: 3000,
      editorHost: '::1',
      editorPort: 3001,
      sourceMaxConnections: 2048,
      powDifficulty: 0,
      onionLocation: ONION,
      retentionDays: 7,
      logRequests: false,
    });
  });

  it('reads the reservation bounds, and refuses a lease longer than the stale time or a new sources\' share above the unsent share', () => {
    expect(
      loadConfig({ UPLOAD_STALE_HOURS: '2', UPLOAD_LEASE_MINUTES: '120', UPLOAD_PACE: '500', RESERVE_SMALL_MAX: '8M', RESERVE_SMALL_SHARE: '0', RESERVE_UNSENT_PERCENT: '30', RESERVE_NEW_SOURCE_PERCENT: '30', CLAIM_GRACE_SECONDS: '120', RESERVE_PROOF: '1M' }),
    ).toMatchObject({ uploadLeaseMinutes: 120, uploadPace: 500, claimGraceSeconds: 120, reserveSmallMax: 8 * 1024 ** 2, reserveSmallShare: 0, reserveUnsentPercent: 30, reserveNewSourcePercent: 30, reserveProof: 1024 ** 2 });
    expect(() => loadConfig({ UPLOAD_STALE_HOURS: '2', UPLOAD_LEASE_MINUTES: '121' })).toThrow(/^UPLOAD_LEASE_MINUTES: expected /);
    expect(() => loadConfig({ CLAIM_GRACE_SECONDS: '59' })).toThrow(/^CLAIM_GRACE_SECONDS: expected /);
    expect(() => loadConfig({ RESERVE_UNSENT_PERCENT: '30', RESERVE_NEW_SOURCE_PERCENT: '31' })).toThrow(/^RESERVE_NEW_SOURCE_PERCENT: expected /);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' })).toMatchObject({ databaseUrl: undefined, port: 8080 });
  });

  const refusals: Array<[string, string]> = [
    ['DATABASE_URL', 'mysql://db/x'],
    ['DATABASE_URL', 'not a url'],
    ['PORT', '80a'],
    ['PORT', '70000'],
    ['EDITOR_PORT', '-1'],
    ['HOST', 'bad//hostzz'],
    ['SOURCE_MAX_CONNECTIONS', '15'],
    ['SOURCE_MAX_CONNECTIONS', '4k'],
    ['POW_DIFFICULTY', '1.5'],
    ['POW_FLOOD_OPENS_PER_MINUTE', '-5'],
    ['POW_FLOOD_MAX_BITS', '13'],
    ['QUOTA_SOURCE_PER_DAY', '4GB'],
    ['QUOTA_TOTAL', '-1'],
    ['UPLOAD_PACE', '99'],
    ['UPLOAD_PACE', '2k'],
    ['QUOTA_TOTAL', '09'],
    ['STORAGE_MAX_DATABASE', '1.5G'],
    ['STORAGE_FREE_FLOOR', '999999999999999T'],
    ['UPLOAD_STALE_HOURS', '0'],
    ['UPLOAD_STALE_HOURS', '25'],
    ['UPLOAD_LEASE_MINUTES', '-3'],
    ['UPLOAD_LEASE_MINUTES', '10.5'],
    ['RESERVE_SMALL_MAX', '4MB'],
    ['RESERVE_SMALL_SHARE', '-1'],
    ['RESERVE_UNSENT_PERCENT', '-2'],
    ['RESERVE_UNSENT_PERCENT', '101'],
    ['RESERVE_NEW_SOURCE_PERCENT', '0.5'],
    ['RESERVE_PROOF', '1023K'],
    ['RESERVE_PROOF', '8MB'],
    ['CHUNK_MEMORY', '8191K'],
    ['CHUNK_MEMORY', '4097M'],
    ['CHUNK_MEMORY', '32MB'],
    ['CHUNK_SPILL', '63M'],
    ['CHUNK_SPILL', '1025G'],
    ['CHUNK_SPILL', '2GB'],
    ['POW_DIFFICULTY', '64'],
    ['ONION_LOCATION', 'http://example.com'],
    ['ONION_LOCATION', 'ftp://' + 'a'.repeat(56) + '.onion'],
    ['RETENTION_DAYS', '99999'],
    ['LOG_REQUESTS', 'yes'],
  ];
  for (const [name, value] of refusals) {
    it(`refuses ${name}=${value} with a ConfigError naming the variable, without echoing the value`, () => {
      let caught: unknown;
      try {
        loadConfig({ [name]: value });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      const error = caught as ConfigError;
      expect(error.variable).toBe(name);
      expect(error.message).toMatch(new RegExp(`^${name}: expected `));
      expect(error.message).not.toContain(value);
    });
  }
});
