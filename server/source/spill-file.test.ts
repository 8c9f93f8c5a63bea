/**
 * Arriving chunk bodies on disk (server/source/spill-file.ts, the chunk gate's `spill`): the bytes
 * come back exactly, in a file that has no name (the folder's listing and times never change, the
 * file is gone once the body is done, however it ends), the disk budget bounds what arrives while
 * memory bounds only what is read back, in turn; and the start check refuses a folder it cannot use.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync, statfsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lengthOf } from '../db/chunks.ts';
import { createChunkGate, SPILL_DISK_READ_MS } from './chunk-gate.ts';
import { body } from './chunk-gate.test-helpers.ts';
import { RefusalError } from './errors.ts';
import { checkSpillDir, isInMemory, openSpillFile, overlayUpperDir, SpillDirError } from './spill-file.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

// a folder of its own for each test: what one leaves open cannot be counted in the next
let root: string;
let dir: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sealdrop-spill-'));
});
beforeEach(async () => {
  dir = await mkdtemp(join(root, 't-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));
/** Waits (at most 10 s) until `check` holds: each piece is written to disk before the next is read, in its own time. */
const until = async (check: () => boolean) => {
  for (const end = Date.now() + 10_000; !check() && Date.now() < end; ) await tick(5);
};
const codeOf = (error: unknown) => (error instanceof RefusalError ? `${error.status} ${error.code}` : String(error));
const lengthOrCode = (answer: Uint8Array[] | string | undefined) => (typeof answer === 'string' ? answer : lengthOf(answer ?? []));

/** This process's open files in `folder` (an unnamed file shows as `folder/#inode (deleted)`). */
function openIn(folder: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${folder}/`)) n++;
    } catch {
      // closed meanwhile (readdir's own descriptor among them)
    }
  }
  return n;
}

describe('the chunk gate, bodies arriving on disk (CHUNK_SPILL_DIR)', () => {
  it('answers exactly the bytes sent from an unnamed file: the folder lists nothing and keeps its times, and the file is gone once read', async () => {
    const gate = createChunkGate({ maxBytes: 8 * MiB, spill: { dir, maxBytes: 64 * MiB } });
    const before = await stat(dir);
    await tick(20);
    const a = body(4 * MiB);
    const ticket = gate.enter('u1', 4 * MiB);
    const read = ticket.read(a.request);
    a.push(MiB);
    a.push(MiB + 3);
    await until(() => gate.held().bytes === 2 * MiB + 3);
    // counted while it arrives, on disk: no memory yet
    expect(gate.held()).toMatchObject({ bytes: 2 * MiB + 3, chunks: 1, memoryBytes: 0 });
    expect(openIn(dir)).toBe(1);
    expect(await readdir(dir)).toEqual([]);
    a.push(2 * MiB - 3);
    a.end();
    const pieces = await read;
    expect(lengthOf(pieces)).toBe(4 * MiB);
    expect(Buffer.concat(pieces).equals(Buffer.concat(a.sent))).toBe(true);
    // read back: its memory counted, its disk bytes given back, its file closed
    expect(gate.held()).toMatchObject({ bytes: 0, chunks: 1, memoryBytes: 4 * MiB });
    expect(openIn(dir)).toBe(0);
    ticket.release();
    expect(gate.held()).toMatchObject({ bytes: 0, chunks: 0, memoryBytes: 0, peakMemoryBytes: 4 * MiB });
    const after = await stat(dir);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.ctimeMs).toBe(before.ctimeMs);
    expect(await readdir(dir)).toEqual([]);
    gate.close();
  });

  it('closes the file of a body cut, lost or of the wrong length', async () => {
    const gate = createChunkGate({ maxBytes: 8 * MiB, idleMs: 2000, spill: { dir, maxBytes: 64 * MiB } });
    const bodies = [body(MiB), body(MiB), body(MiB)];
    const [silent, lost, long] = bodies;
    const tickets = ['u1', 'u2', 'u3'].map((id) => gate.enter(id, MiB));
    const answers = Promise.all(bodies.map((b, i) => tickets[i]!.read(b.request).catch(codeOf)));
    silent!.push(KiB);
    lost!.push(KiB);
    long!.push(MiB);
    await until(() => gate.held().bytes === MiB + 2 * KiB && openIn(dir) === 3);
    expect(openIn(dir)).toBe(3);
    lost!.fail();
    long!.push(1);
    expect(await answers).toEqual(['408 chunk_stalled', '400 body_aborted', '413 chunk_too_large']);
    expect(openIn(dir)).toBe(0);
    for (const ticket of tickets) ticket.release();
    expect(gate.held()).toMatchObject({ bytes: 0, chunks: 0, memoryBytes: 0 });
    gate.close();
  });

  it('bounds arriving bodies by the disk budget, not by memory: four 4 MiB bodies arrive at once beside 1 MiB of memory, a fifth is refused; they are read back one at a time', async () => {
    const gate = createChunkGate({ maxBytes: MiB, smallReserveBytes: 0, graceMs: 60_000, spill: { dir, maxBytes: 16 * MiB } });
    const bodies = Array.from({ length: 5 }, () => body(4 * MiB));
    const tickets = bodies.map((_, i) => gate.enter(`u${i}`, 4 * MiB));
    const reads = bodies.map((b, i) => tickets[i]!.read(b.request).catch(codeOf));
    for (const b of bodies.slice(0, 4)) b.push(4 * MiB - 1);
    await until(() => gate.held().bytes === 16 * MiB - 4);
    expect(gate.held()).toMatchObject({ bytes: 16 * MiB - 4, memoryBytes: 0 });
    bodies[4]!.push(8);
    expect(await reads[4]).toBe('503 busy');
    tickets[4]!.release();
    for (const b of bodies.slice(0, 4)) {
      b.push(1);
      b.end();
    }
    // whichever is read back first holds the memory (one is always let in); each release lets
    // the next one in, never two at once
    const done: number[] = [];
    reads.slice(0, 4).forEach((r, i) => void r.then(() => done.push(i)));
    for (let released = 0; released < 4; released++) {
      for (let t = 0; done.length <= released && t < 1000; t++) await tick();
      await tick(50);
      expect(done.length).toBe(released + 1);
      expect(gate.held().memoryBytes).toBe(4 * MiB);
      const i = done[released]!;
      expect(lengthOrCode(await reads[i])).toBe(4 * MiB);
      tickets[i]!.release();
    }
    expect(gate.held()).toMatchObject({ bytes: 0, chunks: 0, memoryBytes: 0, peakMemoryBytes: 4 * MiB });
    expect(openIn(dir)).toBe(0);
    gate.close();
  });

  it('holds arriving bodies to what the disk has free above the floor: a disk fuller than CHUNK_SPILL makes room by the rules (slow bodies cut), not by refusing everyone', async () => {
    // the disk's free space as the test says (statfs in the server), read at most once a second
    let free = 100 * MiB;
    let clock = 0;
    const run = async (slowPast: boolean) => {
      free = 100 * MiB;
      const gate = createChunkGate({
        maxBytes: 8 * MiB, graceMs: 10_000, idleMs: 3_600_000, now: () => clock,
        spill: { dir, maxBytes: 64 * MiB, floorBytes: MiB, freeBytes: () => free },
      });
      const slow = [body(4 * MiB), body(4 * MiB)];
      const slowTickets = slow.map((_, i) => gate.enter(`a${i}`, 4 * MiB));
      const slowAnswers = slow.map((b, i) => slowTickets[i]!.read(b.request).catch(codeOf));
      for (const b of slow) b.push(3 * MiB);
      await until(() => gate.held().bytes === 6 * MiB);
      expect(gate.held().bytes).toBe(6 * MiB);
      // the disk fills from elsewhere (the database): 1.5 MiB free, 0.5 MiB above the floor
      free = 1.5 * MiB;
      await tick(SPILL_DISK_READ_MS + 100);
      if (slowPast) clock += 20_000;
      const honest = body(4 * MiB);
      const honestTicket = gate.enter('h', 4 * MiB);
      const honestRead = honestTicket.read(honest.request).catch(codeOf);
      honest.push(MiB);
      await tick();
      if (!slowPast) {
        // nobody is slow yet: no room, the newcomer is refused (and sends again later)
        expect(await honestRead).toBe('503 busy');
        expect(gate.held().bytes).toBe(6 * MiB);
      } else {
        // the silent bodies past their grace are cut for it (the disk cannot take what they announce beside it)
        expect(await slowAnswers[0]).toBe('503 busy');
        honest.push(3 * MiB);
        honest.end();
        expect(await slowAnswers[1]).toBe('503 busy');
        expect(lengthOrCode(await honestRead)).toBe(4 * MiB);
      }
      gate.close();
      await Promise.all(slowAnswers);
      for (const ticket of [...slowTickets, honestTicket]) ticket.release();
      expect(openIn(dir)).toBe(0);
    };
    await run(false);
    await run(true);
  });

  it('two gates (two app processes) on one file system never take it past the floor together: each takes half of what it sees above the floor (helper-81: each taking all of it, they took 71 % of the floor)', async () => {
    // one disk for both, as statfs would tell each: its size less what both hold
    const capacity = 112 * MiB;
    const floor = 64 * MiB;
    const gates: ReturnType<typeof createChunkGate>[] = [];
    const free = () => capacity - gates.reduce((n, g) => n + g.held().bytes, 0);
    for (let i = 0; i < 2; i++) {
      gates.push(createChunkGate({ graceMs: 60_000, idleMs: 3_600_000, spill: { dir, maxBytes: 96 * MiB, floorBytes: floor, freeBytes: free } }));
    }
    const tickets: { release(): void }[] = [];
    const reads: Promise<unknown>[] = [];
    let lowest = capacity;
    let refused = 0;
    // rounds of bodies of 3.9 MiB sent at once into both, a reading apart, as fast as they are let in
    for (let round = 0; round < 6; round++) {
      for (const [g, gate] of gates.entries()) {
        for (let k = 0; k < 12; k++) {
          const b = body(4 * MiB);
          const ticket = gate.enter(`g${g}r${round}b${k}`, 4 * MiB);
          tickets.push(ticket);
          const read = ticket.read(b.request).catch((error: unknown) => {
            refused++;
            return codeOf(error);
          });
          reads.push(read);
          b.push(4 * MiB - 100 * KiB);
          await tick(2);
          lowest = Math.min(lowest, free());
        }
      }
      await tick(SPILL_DISK_READ_MS + 50);
    }
    const held = gates.map((g) => g.held().bytes);
    console.log(`[spill] two gates on a 112 MiB disk, floor 64 MiB: held ${held.map((h) => (h / MiB).toFixed(1)).join(' + ')} MiB, lowest free ${(lowest / MiB).toFixed(1)} MiB, ${refused} bodies refused`);
    expect(lowest).toBeGreaterThanOrEqual(floor);
    // and together they still take most of the room above it (48 MiB, less the 4 MiB each keeps
    // for text tips), a few readings in
    expect(held[0]! + held[1]!).toBeGreaterThan(30 * MiB);
    for (const gate of gates) gate.close();
    await Promise.all(reads);
    for (const ticket of tickets) ticket.release();
    expect(openIn(dir)).toBe(0);
  });

  it('small bodies (text tips) never take the disk past the floor: the 4 MiB kept for them comes out of its room (on top of it, re-read each second, they took a disk 31.4 MiB below a 48 MiB floor, helper-82)', async () => {
    const capacity = 64 * MiB;
    const floor = 48 * MiB;
    let gate!: ReturnType<typeof createChunkGate>;
    const free = () => capacity - gate.held().bytes;
    gate = createChunkGate({ graceMs: 60_000, idleMs: 3_600_000, spill: { dir, maxBytes: 48 * MiB, floorBytes: floor, freeBytes: free } });
    const tickets: { release(): void }[] = [];
    const reads: Promise<unknown>[] = [];
    let lowest = capacity;
    // rounds of 64 bodies of 256 KiB sending 160 KiB, a reading apart
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 64; k++) {
        const b = body(256 * KiB);
        const ticket = gate.enter(`r${round}b${k}`, 256 * KiB);
        tickets.push(ticket);
        // a refused body gives its place back at once, as the app's handler does
        reads.push(ticket.read(b.request).catch((error: unknown) => (ticket.release(), codeOf(error))));
        b.push(160 * KiB);
        await tick(1);
        lowest = Math.min(lowest, free());
      }
      await tick(SPILL_DISK_READ_MS + 50);
    }
    console.log(`[spill] small bodies on a 64 MiB disk, floor 48 MiB: held ${(gate.held().bytes / MiB).toFixed(1)} MiB, lowest free ${(lowest / MiB).toFixed(1)} MiB`);
    expect(lowest).toBeGreaterThanOrEqual(floor);
    gate.close();
    await Promise.all(reads);
    for (const ticket of tickets) ticket.release();
    expect(openIn(dir)).toBe(0);
  });

  it("refuses a page's second chunk at its first bytes when the disk can take only one of them, not megabytes later (helper-82: refused after 3.5 MiB, the page on a slow link gave up); the first completes, then the second alone", async () => {
    // 7 MiB free above the floor, nothing else held
    let gate!: ReturnType<typeof createChunkGate>;
    const free = () => 100 * MiB + 7 * MiB - gate.held().bytes;
    gate = createChunkGate({ graceMs: 60_000, idleMs: 3_600_000, spill: { dir, maxBytes: 64 * MiB, floorBytes: 100 * MiB, freeBytes: free } });
    const [a, b] = [body(4 * MiB), body(4 * MiB)];
    const [ta, tb] = [gate.enter('u', 4 * MiB), gate.enter('u', 4 * MiB)];
    const readA = ta.read(a.request).catch(codeOf);
    const readB = tb.read(b.request).catch(codeOf);
    a.push(64 * KiB);
    await until(() => gate.held().bytes === 64 * KiB);
    b.push(64 * KiB);
    expect(await readB).toBe('503 busy');
    tb.release();
    expect(gate.held().bytes).toBe(64 * KiB);
    a.push(4 * MiB - 64 * KiB);
    a.end();
    expect(lengthOrCode(await readA)).toBe(4 * MiB);
    ta.release();
    // sent again once the first is stored: alone, it goes
    const again = body(4 * MiB);
    const tAgain = gate.enter('u', 4 * MiB);
    const readAgain = tAgain.read(again.request).catch(codeOf);
    again.push(4 * MiB);
    again.end();
    expect(lengthOrCode(await readAgain)).toBe(4 * MiB);
    tAgain.release();
    expect(gate.held()).toMatchObject({ bytes: 0, chunks: 0, memoryBytes: 0 });
    gate.close();
    expect(openIn(dir)).toBe(0);
  });

  it('refuses a body it cannot put on disk (503 busy: the page sends it again), holding nothing', async () => {
    const gate = createChunkGate({ spill: { dir: join(dir, 'gone'), maxBytes: 16 * MiB } });
    const a = body(MiB);
    const ticket = gate.enter('u1', MiB);
    const read = ticket.read(a.request).catch(codeOf);
    a.push(MiB);
    a.end();
    expect(await read).toBe('503 busy');
    ticket.release();
    expect(gate.held()).toMatchObject({ bytes: 0, chunks: 0, memoryBytes: 0 });
    gate.close();
  });
});

describe('checkSpillDir: the folder is checked at start', () => {
  it('takes a writable folder on this file system, leaving nothing in it', async () => {
    await checkSpillDir(dir);
    expect(await readdir(dir)).toEqual([]);
    const file = await openSpillFile(dir);
    await file.write(new Uint8Array([1, 2, 3]));
    await file.write(new Uint8Array([4]));
    expect([...(await file.readAll())]).toEqual([1, 2, 3, 4]);
    await file.close();
    await file.close();
    expect(openIn(dir)).toBe(0);
  });

  it('refuses a missing folder, a file and (not as root) a read-only folder, naming the folder', async () => {
    const missing = join(dir, 'missing');
    await expect(checkSpillDir(missing)).rejects.toThrow(new SpillDirError(`CHUNK_SPILL_DIR ${missing} is not a folder`));
    const file = `${dir}-file`;
    await writeFile(file, 'x');
    try {
      await expect(checkSpillDir(file)).rejects.toThrow(SpillDirError);
    } finally {
      await rm(file);
    }
    if (process.getuid?.() !== 0) {
      const locked = await mkdtemp(join(tmpdir(), 'sealdrop-spill-ro-'));
      await chmod(locked, 0o500);
      try {
        await expect(checkSpillDir(locked)).rejects.toThrow(`CHUNK_SPILL_DIR ${locked} is not writable by this process`);
      } finally {
        await rm(locked, { recursive: true });
      }
    }
  });
});

/**
 * Whether a default spill folder is memory (server/main.ts settles the default on it). helper-83:
 * an overlay whose upper layer is a tmpfs (a live system such as Tails) reported overlay's own
 * f_type, so eight half-sent bodies grew the tmpfs by 31.7 MiB unseen.
 */
describe('isInMemory', () => {
  it('finds the overlay mount above a path and its upper layer, unescaping mountinfo', () => {
    const mountinfo = [
      '22 27 0:21 / /proc rw,relatime - proc proc rw',
      '27 1 254:1 / / rw,relatime - ext4 /dev/vda rw',
      '40 27 0:35 / /live/overlay rw - tmpfs tmpfs rw,size=100m',
      '41 27 0:36 / /srv/live rw - overlay overlay rw,lowerdir=/ro,upperdir=/live/overlay/rw,workdir=/live/overlay/work',
      '42 41 0:37 / /srv/live/disk rw - ext4 /dev/vdb rw',
      '43 27 0:38 / /srv/odd\\040name rw - overlay overlay rw,lowerdir=/ro,upperdir=/up\\,per\\040x,workdir=/w',
      '44 27 0:39 / /srv/again rw - overlay overlay rw,lowerdir=/ro,upperdir=/first,workdir=/w',
      '45 27 0:40 / /srv/again rw - overlay overlay rw,lowerdir=/ro,upperdir=/second,workdir=/w',
      '46 27 0:41 / /srv/plain rw - overlay overlay rw,lowerdir=/a:/b',
    ].join('\n');
    expect(overlayUpperDir('/srv/live/tmp', mountinfo)).toBe('/live/overlay/rw');
    expect(overlayUpperDir('/srv/live', mountinfo)).toBe('/live/overlay/rw');
    expect(overlayUpperDir('/srv/live/disk/tmp', mountinfo)).toBeUndefined(); // an ext4 mounted inside it
    expect(overlayUpperDir('/srv/livex', mountinfo)).toBeUndefined(); // a prefix of a name is not a folder above it
    expect(overlayUpperDir('/srv/odd name/tmp', mountinfo)).toBe('/up,per x');
    expect(overlayUpperDir('/srv/again/x', mountinfo)).toBe('/second');
    expect(overlayUpperDir('/srv/plain/x', mountinfo)).toBeUndefined(); // read-only overlay: no upper layer
    expect(overlayUpperDir('/tmp', mountinfo)).toBeUndefined();
  });

  it('on this machine: a folder on disk is not; tmpfs, and an overlay whose upper layer is tmpfs, are (root: mounts them)', async (context) => {
    const here = await mkdtemp(join(tmpdir(), 'sealdrop-in-memory-'));
    try {
      if (Number(statfsSync(here).type) === 0x01021994) expect(isInMemory(here)).toBe(true);
      else expect(isInMemory(here)).not.toBe(true);
      if (process.getuid?.() !== 0) return context.skip();
      const memory = join(here, 'memory');
      const merged = join(here, 'merged');
      await mkdir(memory);
      await mkdir(merged);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', memory]);
      try {
        await mkdir(join(memory, 'upper'));
        await mkdir(join(memory, 'work'));
        await mkdir(join(here, 'lower'));
        execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${join(here, 'lower')},upperdir=${join(memory, 'upper')},workdir=${join(memory, 'work')}`, merged]);
        try {
          expect(Number(statfsSync(merged).type)).toBe(0x794c7630);
          expect(isInMemory(memory)).toBe(true);
          expect(isInMemory(merged)).toBe(true);
          await checkSpillDir(merged); // unnamed files work there: only isInMemory tells
          // an upper layer this process cannot see (a container's root): unknown
          const hidden = join(here, 'mountinfo');
          await writeFile(hidden, `90 1 0:50 / ${merged} rw - overlay overlay rw,lowerdir=/l,upperdir=/var/lib/docker/overlay2/nowhere/diff,workdir=/w\n`);
          expect(isInMemory(merged, hidden)).toBe('unknown');
          // a relative upper path (the mounter's working folder's): unknown, not read from ours
          // (one that from this process's folder leads to the tmpfs: read from ours it would say true)
          await writeFile(hidden, `90 1 0:50 / ${merged} rw - overlay overlay rw,lowerdir=/l,upperdir=${relative(process.cwd(), join(memory, 'upper'))},workdir=/w\n`);
          expect(isInMemory(merged, hidden)).toBe('unknown');
        } finally {
          execFileSync('umount', [merged]);
        }
      } finally {
        execFileSync('umount', [memory]);
      }
    } finally {
      await rm(here, { recursive: true, force: true });
    }
  });
});
