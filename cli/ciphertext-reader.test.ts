import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCiphertextReader } from './ciphertext-reader.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealdrop-ciphertext-reader-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('openCiphertextReader', () => {
  it('streams the file in order and hashes exactly the bytes it handed out', async () => {
    const data = randomBytes(2.5 * 4096);
    await writeFile(join(dir, 'c.pgp'), data);
    const handle = await open(join(dir, 'c.pgp'), 'r');
    const counted: number[] = [];
    const reader = openCiphertextReader(handle.fd, { chunkSize: 4096, readAhead: 1, onBytes: (n) => counted.push(n) });
    try {
      const stream = reader.stream.getReader();
      const first = await stream.read();
      expect(first.value).toEqual(new Uint8Array(data.subarray(0, 4096)));
      // mid-way: the digest covers what was handed to the stream (read ahead included), no more
      const partial = await reader.digest();
      expect(partial.bytes % 4096 === 0 || partial.bytes === data.length).toBe(true);
      expect(partial.sha256).toBe(sha256(data.subarray(0, partial.bytes)));
      const parts = [first.value!];
      for (;;) {
        const next = await stream.read();
        if (next.done) break;
        parts.push(next.value);
      }
      expect(Buffer.concat(parts)).toEqual(data);
      expect(counted).toEqual([4096, 4096, 2048]);
      expect(await reader.digest()).toEqual({ bytes: data.length, sha256: sha256(data) });
    } finally {
      await reader.close();
      await handle.close();
    }
  });

  it('an empty file is an empty stream with the empty digest', async () => {
    await writeFile(join(dir, 'e.pgp'), '');
    const handle = await open(join(dir, 'e.pgp'), 'r');
    const reader = openCiphertextReader(handle.fd, { chunkSize: 4096, readAhead: 2 });
    try {
      expect((await reader.stream.getReader().read()).done).toBe(true);
      expect(await reader.digest()).toEqual({ bytes: 0, sha256: sha256(new Uint8Array(0)) });
    } finally {
      await reader.close();
      await handle.close();
    }
  });

  it('a read that fails errors the stream; after close nothing more is read', async () => {
    const handle = await open(dir, 'r'); // a folder: read() fails with EISDIR
    const reader = openCiphertextReader(handle.fd, { chunkSize: 4096, readAhead: 1 });
    try {
      await expect(reader.stream.getReader().read()).rejects.toThrow(/cannot read the ciphertext: .*EISDIR/);
    } finally {
      await reader.close();
      await handle.close();
    }
    await expect(reader.digest()).rejects.toThrow(/closed/);
  });
});
