import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  applyConnectionBudget,
  defaultMaxConnections,
  MAX_CONNECTIONS_CEILING,
  MAX_CONNECTIONS_FLOOR,
  MAX_CONNECTIONS_WITHOUT_LIMIT,
  readFileDescriptorLimit,
} from './connection-budget.ts';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             96365                96365                processes
Max open files            20000                40000                files
Max locked memory         8388608              8388608              bytes
`;

describe('the default connection cap', () => {
  it('reads the soft open-files limit from /proc/self/limits text, and nothing from text without one', () => {
    expect(readFileDescriptorLimit(LIMITS)).toBe(20000);
    expect(readFileDescriptorLimit(LIMITS.replace('20000', 'unlimited'))).toBeUndefined();
    expect(readFileDescriptorLimit('')).toBeUndefined();
  });

  it("reads this process's own limit where there is a /proc", () => {
    const limit = readFileDescriptorLimit();
    if (process.platform === 'linux') expect(limit).toBeGreaterThan(0);
    else expect(limit).toBeUndefined();
  });

  it('is half the limit, within its floor and ceiling, and a fixed number when the limit is unknown', () => {
    expect(defaultMaxConnections(20000)).toBe(MAX_CONNECTIONS_CEILING);
    expect(defaultMaxConnections(4096)).toBe(2048);
    expect(defaultMaxConnections(1024)).toBe(512);
    expect(defaultMaxConnections(10)).toBe(MAX_CONNECTIONS_FLOOR);
    expect(defaultMaxConnections(undefined)).toBe(MAX_CONNECTIONS_WITHOUT_LIMIT);
  });
});

describe('applyConnectionBudget', () => {
  it("sets the server's cap and a high-water mark of three quarters of it", () => {
    const server = createServer();
    const budget = applyConnectionBudget(server, { max: 100, log: () => {} });
    expect(server.maxConnections).toBe(100);
    expect(budget.highWater).toBe(75);
    expect(budget.stats()).toEqual({ open: 0, busy: 0, peak: 0, idleClosed: 0, refused: 0 });
    budget.stop();
  });

  it('refuses a cap or a high-water mark that makes no sense, naming what it expected', () => {
    expect(() => applyConnectionBudget(createServer(), { max: 0, log: () => {} })).toThrow('expected a connection cap of at least 1, got 0');
    expect(() => applyConnectionBudget(createServer(), { max: 10, highWater: 11, log: () => {} })).toThrow(
      'expected a high-water mark of 1-10, got 11',
    );
  });
});
