/**
 * The chunk gate on its own (server/source/chunk-gate.ts), bodies as streams the test feeds:
 * what it counts, the reserve for small bodies, the recent-rate cut and the due that grows with
 * the bytes held (issue 9), and, over real sockets with the gate's clock, the trickling attacker
 * that held the whole budget under the rate floor alone. The slowloris stories over real sockets
 * are in test/load/slowloris.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { lengthOf } from '../db/chunks.ts';
import { MAX_CHUNK_BYTES } from '../../protocol/limits.ts';
import { createChunkGate, DEFAULT_HOLD_SECONDS } from './chunk-gate.ts';
import { body } from './chunk-gate.test-helpers.ts';
import { RefusalError } from './errors.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

const tick = () => new Promise((r) => setTimeout(r, 10));
const codeOf = (error: unknown) => (error instanceof RefusalError ? `${error.status} ${error.code}` : String(error));

describe('the chunk gate', () => {
  it('counts what a body sent, not what it announced, and gives it all back on release', async () => {
    const gate = createChunkGate({ maxBytes: 4 * MiB });
    const a = body(4 * MiB);
    const ticket = gate.enter('u1', 4 * MiB);
    const read = ticket.read(a.request);
    await tick();
    expect(gate.held()).toMatchObject({ bytes: 0, chunks: 1 });
    a.push(MiB);
    await tick();
    expect(gate.held().bytes).toBe(MiB);
    a.push(3 * MiB);
    a.end();
    expect(lengthOf(await read)).toBe(4 * MiB);
    ticket.release();
    expect(gate.held()).toMatchObject({ bytes: 0, chunks: 0 });
    gate.close();
  });

  it('keeps room for small bodies (text tips) when large ones hold the whole budget, and refuses another large one', async () => {
    const gate = createChunkGate({ maxBytes: 2 * MiB, smallReserveBytes: 256 * KiB, graceMs: 60_000 });
    const big = body(4 * MiB);
    const bigTicket = gate.enter('u1', 4 * MiB);
    const bigRead = bigTicket.read(big.request).catch(codeOf);
    big.push(2 * MiB);
    await tick();
    expect(gate.held().bytes).toBe(2 * MiB);
    // a second large body: no room, nobody slow enough to cut (grace of a minute)
    const other = body(4 * MiB);
    const otherRead = gate.enter('u2', 4 * MiB).read(other.request).catch(codeOf);
    other.push(64 * KiB);
    expect(await otherRead).toBe('503 busy');
    // a text tip's body goes through, in the reserve
    const small = body(8 * KiB);
    const smallTicket = gate.enter('u3', 8 * KiB);
    const smallRead = smallTicket.read(small.request);
    small.push(8 * KiB);
    small.end();
    expect(lengthOf(await smallRead)).toBe(8 * KiB);
    smallTicket.release();
    big.push(2 * MiB);
    big.end();
    const bigPieces = await bigRead;
    expect(typeof bigPieces === 'string' ? bigPieces : lengthOf(bigPieces)).toBe(4 * MiB);
    bigTicket.release();
    gate.close();
  });

  it('cuts a body that sent nearly all at once and then a byte at a time, when its room is wanted (its recent rate, not its average)', async () => {
    let clock = 0;
    const gate = createChunkGate({ maxBytes: 4 * MiB, graceMs: 10_000, now: () => clock });
    const hold = body(4 * MiB);
    const holdRead = gate.enter('u1', 4 * MiB).read(hold.request).catch(codeOf);
    hold.push(4 * MiB - 40);
    await tick();
    // 40 s of a byte every 8 s: since its start it averages 100 KiB/s, over its last 10-20 s 0.1 B/s
    for (let i = 0; i < 5; i++) {
      clock += 8000;
      hold.push(1);
      await tick();
    }
    const honest = body(4 * MiB);
    const honestTicket = gate.enter('u2', 4 * MiB);
    const honestRead = honestTicket.read(honest.request);
    honest.push(4 * MiB);
    honest.end();
    expect(lengthOf(await honestRead)).toBe(4 * MiB);
    expect(await holdRead).toBe('503 busy');
    honestTicket.release();
    gate.close();
  });

  it('never cuts a body sending at an honest Tor pace, however long it has taken', async () => {
    let clock = 0;
    // a budget the Tor body alone has passed (one body is always let in), so the next one must
    // find a body to cut, and must not pick this one
    const gate = createChunkGate({ maxBytes: 1.5 * MiB, graceMs: 10_000, now: () => clock });
    const tor = body(4 * MiB);
    const torTicket = gate.enter('u1', 4 * MiB);
    const torRead = torTicket.read(tor.request);
    // 8 kB/s for 4 minutes
    for (let i = 0; i < 240; i++) {
      clock += 1000;
      tor.push(8000);
      if (i % 20 === 0) await tick();
    }
    await tick();
    const other = body(4 * MiB);
    const otherRead = gate.enter('u2', 4 * MiB).read(other.request).catch(codeOf);
    other.push(64 * KiB);
    expect(await otherRead).toBe('503 busy');
    tor.push(4 * MiB - 240 * 8000);
    tor.end();
    expect(lengthOf(await torRead)).toBe(4 * MiB);
    torTicket.release();
    gate.close();
  });

  it('reports each body\'s first 64 KiB at once, then its bytes once a mark, and what a cut body sent; a body of the wrong length counts for nothing more', async () => {
    let clock = 0;
    const gate = createChunkGate({ flowMarkMs: 60_000, idleMs: 60_000, now: () => clock });
    const reports: Record<string, number[]> = { cut: [], stored: [], long: [] };
    const cut = body(4 * MiB);
    const cutRead = gate.enter('u1', 4 * MiB, (n) => reports.cut!.push(n)).read(cut.request).catch(codeOf);
    const stored = body(250_000);
    const storedTicket = gate.enter('u2', 250_000, (n) => reports.stored!.push(n));
    const storedRead = storedTicket.read(stored.request);
    // 2 000 B/s for two minutes: the first 64 KiB at once (at 33 s: 66 000 bytes; nothing before
    // it, so a silent body stays a claim), then a report a minute after it
    for (let i = 0; i < 32; i++) {
      clock += 1000;
      cut.push(2000);
      stored.push(2000);
      await tick();
    }
    expect(reports).toEqual({ cut: [], stored: [], long: [] });
    for (let i = 32; i < 120; i++) {
      clock += 1000;
      cut.push(2000);
      stored.push(2000);
      await tick();
    }
    expect(reports).toEqual({ cut: [66_000, 120_000], stored: [66_000, 120_000], long: [] });
    // the stored body's last 64 000 bytes are not reported: its stored bytes count from now
    stored.push(10_000);
    stored.end();
    expect(lengthOf(await storedRead)).toBe(250_000);
    storedTicket.release();
    // 500 bytes more, then the body is cut: they are reported
    cut.push(500);
    await tick();
    gate.close();
    expect(await cutRead).toBe('503 busy');
    expect(reports).toEqual({ cut: [66_000, 120_000, 54_500], stored: [66_000, 120_000], long: [] });
    // a body complete with its first piece is stored at once: no report on its way
    const whole = body(64 * KiB);
    const wholeTicket = gate.enter('u4', 64 * KiB, (n) => reports.long!.push(n));
    const wholeRead = wholeTicket.read(whole.request);
    whole.push(64 * KiB);
    whole.end();
    expect(lengthOf(await wholeRead)).toBe(64 * KiB);
    wholeTicket.release();
    expect(reports.long).toEqual([]);
    // a body longer than announced: refused, and what it sent is not reported
    const long = body(64 * KiB);
    const longRead = gate.enter('u3', 64 * KiB, (n) => reports.long!.push(n)).read(long.request).catch(codeOf);
    long.push(64 * KiB + 1);
    expect(await longRead).toBe('413 chunk_too_large');
    expect(reports.long).toEqual([]);
  });
});

describe('the chunk gate: the rate a body must keep grows with the bytes it holds (issue 9)', () => {
  /** lets the gate read what was pushed (the bodies' streams answer within a few turns) */
  const flush = async () => {
    for (let i = 0; i < 8; i++) await new Promise((r) => setImmediate(r));
  };
  /**
   * A newcomer's 4 MiB body whose first piece is `bytes` (default: 64 KiB more than the room left
   * of `maxBytes`, so that it must find a body to cut or be refused); answers its refusal, or
   * 'admitted' (its client then goes away).
   */
  const newcomerCode = async (gate: ReturnType<typeof createChunkGate>, id: string, bytes: number | { maxBytes: number }) => {
    if (typeof bytes !== 'number') bytes = Math.min(4 * MiB, bytes.maxBytes - gate.held().bytes + 64 * KiB);
    const other = body(4 * MiB);
    const ticket = gate.enter(id, 4 * MiB);
    const read = ticket.read(other.request).catch(codeOf);
    other.push(bytes);
    await flush();
    const settled = await Promise.race([read, flush().then(() => 'reading' as const)]);
    if (settled === 'reading') {
      other.fail();
      await read;
    }
    ticket.release();
    return settled === 'reading' ? 'admitted' : typeof settled === 'string' ? settled : 'stored';
  };

  it('never cuts an honest body at 8 kB/s for a newcomer, up to its whole chunk', async () => {
    let clock = 0;
    // its own chunk is the whole budget: every newcomer wants its room
    const gate = createChunkGate({ maxBytes: 4 * MiB, smallReserveBytes: 0, idleMs: 600_000, now: () => clock });
    const honest = body(4 * MiB);
    const ticket = gate.enter('u1', 4 * MiB);
    const read = ticket.read(honest.request).catch(codeOf);
    const codes = new Set<string>();
    let sent = 0;
    for (let i = 1; sent < 4 * MiB; i++) {
      clock += 1000;
      const n = Math.min(8000, 4 * MiB - sent);
      honest.push(n);
      sent += n;
      if (sent === 4 * MiB) honest.end();
      await flush();
      // a newcomer wanting more than the room left every 10 s, and after each piece near the end
      if (sent < 4 * MiB && (i % 10 === 0 || sent > 4 * MiB - 80_000)) codes.add(await newcomerCode(gate, `n${i}`, { maxBytes: 4 * MiB }));
    }
    const pieces = await read;
    expect(typeof pieces === 'string' ? pieces : lengthOf(pieces)).toBe(4 * MiB);
    expect(codes).toEqual(new Set(['503 busy']));
    ticket.release();
    gate.close();
  });

  it('never cuts the page\'s two bodies on the slowest link (8 kB/s, 4 kB/s each), up to their whole chunks; a hold of 524 s would', async () => {
    for (const holdSeconds of [undefined, MAX_CHUNK_BYTES / 8000]) {
      let clock = 0;
      const gate = createChunkGate({ maxBytes: 8 * MiB, smallReserveBytes: 0, idleMs: 600_000, holdSeconds, now: () => clock });
      const bodies = [body(4 * MiB), body(4 * MiB)];
      const tickets = bodies.map(() => gate.enter('u1', 4 * MiB));
      const reads = bodies.map((b, i) => tickets[i]!.read(b.request).catch(codeOf));
      const codes = new Set<string>();
      let sent = 0;
      // (a body cut on its way takes no more: its stream is cancelled)
      const feed = (f: () => void) => {
        try {
          f();
        } catch {}
      };
      for (let i = 1; sent < 4 * MiB; i++) {
        clock += 2000;
        const n = Math.min(8000, 4 * MiB - sent);
        for (const b of bodies) feed(() => b.push(n));
        sent += n;
        if (sent === 4 * MiB) for (const b of bodies) feed(() => b.end());
        await flush();
        // once a newcomer can want more than the room left: every 10 s
        if (sent < 4 * MiB && sent > 2 * MiB + 32 * KiB && i % 5 === 0) codes.add(await newcomerCode(gate, `n${i}`, { maxBytes: 8 * MiB }));
      }
      const results = await Promise.all(reads);
      const outcome = results.map((r) => (typeof r === 'string' ? r : lengthOf(r)));
      if (holdSeconds === undefined) {
        expect(outcome).toEqual([4 * MiB, 4 * MiB]);
        expect(codes).toEqual(new Set(['503 busy']));
      } else {
        // past 2 MiB held, 4 kB/s is under 2 MiB / 524 s: a newcomer cuts one
        expect(outcome).toContain('503 busy');
      }
      tickets.forEach((t) => t.release());
      gate.close();
    }
  });

  it('cuts a body sending for longer than holdSeconds that is below its bytes held / holdSeconds, when its room is wanted; the same body younger is kept', async () => {
    let clock = 0;
    const gate = createChunkGate({ maxBytes: 4 * MiB, smallReserveBytes: 0, idleMs: 3_600_000, now: () => clock });
    const old = body(4 * MiB);
    const ticket = gate.enter('u1', 4 * MiB);
    const read = ticket.read(old.request).catch(codeOf);
    // 2 MiB at once, then 1 100 B/s (above the 1 KiB/s floor): ≈ 3.6 MB held at 1 400 s, due ≈ 2.6 kB/s
    old.push(2 * MiB);
    const codes: [number, string][] = [];
    for (let second = 1; second <= Math.ceil(DEFAULT_HOLD_SECONDS) + 20; second++) {
      clock = second * 1000;
      old.push(1100);
      await flush();
      if (second % 100 === 0 || second > DEFAULT_HOLD_SECONDS) {
        const code = await newcomerCode(gate, `n${second}`, { maxBytes: 4 * MiB });
        codes.push([second, code]);
        if (code === 'admitted') break;
      }
    }
    // younger than holdSeconds: only the floor, and it keeps the floor
    const young = codes.filter(([second]) => second <= DEFAULT_HOLD_SECONDS);
    expect(young.length).toBeGreaterThanOrEqual(13);
    expect(new Set(young.map(([, code]) => code))).toEqual(new Set(['503 busy']));
    // the first newcomer once it is older is let in, and the old body is cut for it
    const [second, code] = codes.at(-1)!;
    expect(code).toBe('admitted');
    expect(second).toBe(Math.floor(DEFAULT_HOLD_SECONDS) + 1);
    expect(await read).toBe('503 busy');
    ticket.release();
    gate.close();
  });

  it('lets a 16 kB/s honest body and 7 others at 8 kB/s fill the whole budget without a cut; newcomers wait', async () => {
    let clock = 0;
    const gate = createChunkGate({ idleMs: 600_000, now: () => clock });
    // the 8 kB/s bodies from the start, the 16 kB/s one from 262 s: all near their whole chunk at the end
    const rates = [16_000, 8000, 8000, 8000, 8000, 8000, 8000, 8000];
    const starts = rates.map((rate) => 4 * MiB / 8000 - 4 * MiB / rate);
    const bodies = rates.map(() => body(4 * MiB));
    const tickets: (import('./chunk-gate.ts').ChunkTicket | undefined)[] = rates.map(() => undefined);
    const reads: Promise<Uint8Array[] | string>[] = [];
    const sent = rates.map(() => 0);
    const codes: string[] = [];
    for (let second = 1; sent.some((n) => n < 4 * MiB); second++) {
      clock = second * 1000;
      rates.forEach((rate, i) => {
        if (second <= starts[i]! || sent[i]! >= 4 * MiB) return;
        if (!tickets[i]) {
          tickets[i] = gate.enter(`u${i}`, 4 * MiB);
          reads[i] = tickets[i]!.read(bodies[i]!.request).catch(codeOf);
        }
        const n = Math.min(rate, 4 * MiB - sent[i]!);
        bodies[i]!.push(n);
        sent[i]! += n;
        if (sent[i] === 4 * MiB) bodies[i]!.end();
      });
      await flush();
      if (sent.every((n) => n < 4 * MiB) && second % 10 === 0) codes.push(await newcomerCode(gate, `n${second}`, { maxBytes: 32 * MiB }));
    }
    const results = await Promise.all(reads);
    expect(results.map((r) => (typeof r === 'string' ? r : lengthOf(r)))).toEqual(rates.map(() => 4 * MiB));
    expect(gate.held().peakBytes).toBeGreaterThan(32 * MiB - 200 * KiB);
    // newcomers got in while there was room, and waited once the budget was full
    expect(codes).toContain('admitted');
    expect(codes.at(-1)).toBe('503 busy');
    tickets.forEach((t) => t?.release());
    gate.close();
  });

  it('still asks 1 KiB/s of a body holding little: cut at 800 B/s when its room is wanted, kept at 1 100 B/s', async () => {
    for (const rate of [800, 1100]) {
      let clock = 0;
      const gate = createChunkGate({ maxBytes: 100 * KiB, smallReserveBytes: 0, idleMs: 600_000, now: () => clock });
      const slow = body(MiB);
      const ticket = gate.enter('u1', MiB);
      const read = ticket.read(slow.request).catch(codeOf);
      slow.push(64 * KiB);
      for (let i = 0; i < 40; i++) {
        clock += 1000;
        slow.push(rate);
        await flush();
      }
      // it holds about 100 KB: its due by the hold is under 100 B/s, the floor 1 024 B/s
      const code = await newcomerCode(gate, 'u2', 16 * KiB);
      if (rate === 800) {
        expect(code).toBe('admitted');
        expect(await read).toBe('503 busy');
      } else {
        expect(code).toBe('503 busy');
        slow.push(MiB - 64 * KiB - 40 * rate);
        slow.end();
        const pieces = await read;
        expect(typeof pieces === 'string' ? pieces : lengthOf(pieces)).toBe(MiB);
      }
      ticket.release();
      gate.close();
    }
  });

  it('refuses a hold that is not a positive number of seconds', () => {
    for (const holdSeconds of [0, -1, Number.NaN]) expect(() => createChunkGate({ holdSeconds })).toThrow(/holdSeconds/);
  });
});

describe('the chunk gate on a Node request body (as node-server hands it over)', () => {
  /** One HTTP request to a real Node server whose handler gives the gate the IncomingMessage. */
  async function serveOnce(length: number, send: (request: import('node:http').ClientRequest) => void) {
    const { createServer, request: httpRequest } = await import('node:http');
    const gate = createChunkGate({ maxBytes: 8 * MiB });
    const emitted: Buffer[] = [];
    const result = new Promise<{ pieces: Uint8Array[]; held: number } | string>((resolve) => {
      const server = createServer((incoming) => {
        incoming.on('data', (piece: Buffer) => emitted.push(piece));
        const ticket = gate.enter('u1', length);
        const declared = incoming.headers['content-length'];
        const headers = new Headers(declared === undefined ? {} : { 'Content-Length': declared });
        ticket.read(new Request('http://gate.test/', { method: 'PUT', headers }), incoming).then(
          (pieces) => resolve({ pieces, held: gate.held().bytes }),
          (error: unknown) => resolve(codeOf(error)),
        ).finally(() => {
          ticket.release();
          server.close();
          server.closeAllConnections();
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as import('node:net').AddressInfo;
        const client = httpRequest({ host: '127.0.0.1', port, method: 'PUT', path: '/' });
        client.on('error', () => {});
        send(client);
      });
    });
    return { result: await result, emitted, gate };
  }

  it('answers the very pieces Node read (no copy), counted, and gives them back on release', async () => {
    const bytes = Buffer.alloc(4 * MiB, 7);
    const { result, emitted, gate } = await serveOnce(bytes.length, (client) => {
      client.setHeader('Content-Length', bytes.length);
      client.end(bytes);
    });
    if (typeof result === 'string') throw new Error(result);
    expect(lengthOf(result.pieces)).toBe(4 * MiB);
    expect(result.held).toBe(4 * MiB);
    expect(result.pieces.length).toBeGreaterThan(1);
    expect(result.pieces.length).toBe(emitted.length);
    result.pieces.forEach((piece, i) => expect(piece.buffer).toBe(emitted[i]!.buffer));
    expect(Buffer.concat(result.pieces).equals(bytes)).toBe(true);
    expect(gate.held()).toMatchObject({ bytes: 0, chunks: 0 });
    gate.close();
  });

  it('refuses a body that ends before its length when the client goes away (400 body_aborted)', async () => {
    const { result, gate } = await serveOnce(4 * MiB, (client) => {
      client.setHeader('Content-Length', 4 * MiB);
      client.write(Buffer.alloc(MiB, 1), () => setTimeout(() => client.destroy(), 50));
    });
    expect(result).toBe('400 body_aborted');
    expect(gate.held()).toMatchObject({ bytes: 0, chunks: 0 });
    gate.close();
  });

  it('refuses a body longer than its length (413 chunk_too_large) and stops reading it', async () => {
    const { result, gate } = await serveOnce(MiB, (client) => {
      client.setHeader('Transfer-Encoding', 'chunked');
      client.end(Buffer.alloc(2 * MiB, 1));
    });
    expect(result).toBe('413 chunk_too_large');
    gate.close();
  });

  it('reads the socket only as fast as the pieces are taken (the stream pauses with a piece waiting)', async () => {
    const { PassThrough } = await import('node:stream');
    const { nodeBodyReader } = await import('./chunk-gate.ts');
    const incoming = new PassThrough();
    const reader = nodeBodyReader(incoming);
    const first = Buffer.alloc(10, 1);
    incoming.write(first);
    await tick();
    expect(incoming.isPaused()).toBe(true);
    incoming.write(Buffer.alloc(10, 2));
    await tick();
    expect(await reader.read()).toEqual({ done: false, value: first });
    expect((await reader.read()).value).toEqual(Buffer.alloc(10, 2));
    incoming.end();
    expect(await reader.read()).toEqual({ done: true, value: undefined });
  });
});

describe('discarding the pieces of a Node request body once written', () => {
  it('frees them at once where ArrayBuffer.prototype.transfer exists, and leaves request.body pieces alone', async () => {
    const { PassThrough } = await import('node:stream');
    const gate = createChunkGate();
    const incoming = new PassThrough();
    const ticket = gate.enter('u1', 8);
    const read = ticket.read(new Request('http://gate.test/', { method: 'PUT', headers: { 'Content-Length': '8' } }), incoming);
    const [a, b] = [Buffer.alloc(4, 1), Buffer.alloc(4, 2)];
    incoming.end(Buffer.concat([a, b]));
    const pieces = await read;
    expect(lengthOf(pieces)).toBe(8);
    ticket.release();
    ticket.discard();
    const canFree = typeof (new ArrayBuffer(1) as ArrayBuffer & { transfer?: unknown }).transfer === 'function';
    // a piece that is all of its buffer is emptied (freed); without transfer, nothing changes
    expect(lengthOf(pieces)).toBe(canFree ? 0 : 8);

    const web = body(8);
    const webTicket = gate.enter('u2', 8);
    const webRead = webTicket.read(web.request);
    web.push(8);
    web.end();
    const webPieces = await webRead;
    webTicket.release();
    webTicket.discard();
    expect(lengthOf(webPieces)).toBe(8);
    gate.close();
  });
});

describe('the chunk gate against trickling bodies that hold its memory (issue 9), over real sockets', () => {
  /**
   * A real Node server whose handler gives each request's IncomingMessage to one gate, as the app
   * does; `PUT /UPLOAD/NAME` with a Content-Length. The gate's clock is the test's: each step the
   * test moves it, every body still on its way sends that step's bytes, and the step ends once
   * the server has read every byte sent (or answered the body).
   */
  async function startGateServer(options: import('./chunk-gate.ts').ChunkGateOptions) {
    const { createServer, request: httpRequest } = await import('node:http');
    const clock = { t: 0 };
    const gate = createChunkGate({ ...options, now: () => clock.t });
    const emitted = new Map<string, number>();
    const answered = new Map<string, string>();
    const server = createServer((incoming, response) => {
      const [, upload, name] = (incoming.url ?? '').split('/');
      const length = Number(incoming.headers['content-length']);
      emitted.set(name!, 0);
      incoming.on('data', (piece: Buffer) => emitted.set(name!, emitted.get(name!)! + piece.length));
      let ticket: import('./chunk-gate.ts').ChunkTicket;
      try {
        ticket = gate.enter(upload!, length);
      } catch (error) {
        answered.set(name!, codeOf(error));
        response.writeHead(503).end();
        return;
      }
      ticket.read(new Request('http://gate.test/', { method: 'PUT', headers: { 'Content-Length': String(length) } }), incoming).then(
        () => answered.set(name!, '200'),
        (error: unknown) => answered.set(name!, codeOf(error)),
      ).finally(() => {
        ticket.release();
        response.writeHead(answered.get(name!) === '200' ? 200 : 503).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    const written = new Map<string, number>();
    const clients = new Map<string, import('node:http').ClientRequest>();
    let serial = 0;
    const settle = async () => {
      for (let spins = 0; ; spins++) {
        const pending = [...written].some(([name, n]) => !answered.has(name) && (emitted.get(name) ?? -1) < n);
        if (!pending) break;
        if (spins > 20_000) throw new Error('the server did not read what was sent');
        await new Promise((r) => setTimeout(r, 1));
      }
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    };
    return {
      gate,
      clock,
      answered,
      /** opens a body of `length` bytes for `upload`; answers its name */
      open(upload: string, length: number) {
        const name = `b${serial++}`;
        const client = httpRequest({ host: '127.0.0.1', port, method: 'PUT', path: `/${upload}/${name}`, agent: false, headers: { 'Content-Length': length } });
        client.on('error', () => {});
        client.on('response', (res) => res.resume());
        // (its headers now, not with its first bytes: a body may start with none)
        client.on('socket', (socket) => socket.setNoDelay(true));
        client.flushHeaders();
        clients.set(name, client);
        written.set(name, 0);
        return name;
      },
      send(name: string, bytes: number) {
        if (answered.has(name)) return;
        written.set(name, written.get(name)! + bytes);
        clients.get(name)!.write(Buffer.alloc(bytes, 3));
      },
      settle,
      async close() {
        gate.close();
        for (const client of clients.values()) client.destroy();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  const STEP_MS = 2000;
  const CHUNK = 4 * MiB;
  /** the slowest link the documents plan for: DEFAULT_UPLOAD_PACE × 4 */
  const HONEST_BYTES_PER_SECOND = 8000;

  /**
   * `bodies` attacker bodies (4 per upload) each send `head` bytes at once, then `trickle` bytes
   * a second; a body the gate refuses is opened again at once with its head (renewed). Meanwhile,
   * from `honestAt` ms, an honest 4 MiB chunk comes at 8 kB/s, and is sent again from its start
   * 10 s after each refusal, as the page does. Runs `seconds` of the gate's clock; answers what
   * became of the honest chunk and of the attacker's bodies.
   */
  async function trickleAttack(options: {
    bodies: number; head: number; trickle: number; seconds: number; spend?: number; honestAt?: number; gate?: import('./chunk-gate.ts').ChunkGateOptions;
  }) {
    const s = await startGateServer({ idleMs: 600_000, ...options.gate });
    try {
      const attacker: { name: string; sent: number }[] = [];
      let attackerBytes = 0;
      let renewed = 0;
      const openAttacker = (i: number) => {
        const name = s.open(`attacker${i % Math.ceil(options.bodies / 4)}`, CHUNK);
        s.send(name, options.head);
        attackerBytes += options.head;
        attacker[i] = { name, sent: options.head };
      };
      for (let i = 0; i < options.bodies; i++) openAttacker(i);
      const initial = attackerBytes;
      await s.settle();
      let honest: { name: string; sent: number } | undefined;
      let honestRetryAt = options.honestAt ?? 10_000;
      const honestRefusals: string[] = [];
      let honestStoredAt: number | undefined;
      for (let t = STEP_MS; t <= options.seconds * 1000 && honestStoredAt === undefined; t += STEP_MS) {
        s.clock.t = t;
        if (!honest && t >= honestRetryAt) honest = { name: s.open('honest', CHUNK), sent: 0 };
        if (honest) {
          const n = Math.min(CHUNK - honest.sent, (HONEST_BYTES_PER_SECOND * STEP_MS) / 1000);
          s.send(honest.name, n);
          honest.sent += n;
        }
        for (const body of attacker) {
          if (s.answered.has(body.name)) continue;
          const n = Math.min(CHUNK - 1 - body.sent, (options.trickle * STEP_MS) / 1000);
          s.send(body.name, n);
          body.sent += n;
          attackerBytes += n;
        }
        await s.settle();
        if (honest && s.answered.has(honest.name)) {
          const code = s.answered.get(honest.name)!;
          if (code === '200') honestStoredAt = t;
          else {
            honestRefusals.push(code);
            honest = undefined;
            honestRetryAt = t + 10_000;
          }
        }
        let again = false;
        attacker.forEach((body, i) => {
          // renewed at once, as long as the attacker's bytes stay within what it spends a second
          if (s.answered.has(body.name) && attackerBytes + options.head <= initial + ((options.spend ?? Infinity) * t) / 1000) {
            renewed++;
            again = true;
            openAttacker(i);
          }
        });
        if (again) await s.settle();
      }
      const held = s.gate.held();
      return { honestStoredAt, honestRefusals, renewed, attackerBytes, held };
    } finally {
      await s.close();
    }
  }

  it('stores the chunks of an honest slow link that varies (two bodies alternating 3.6/4.4 and 3/5 kB/s) beside a busy server (gate9\'s due from the first byte stored none)', async () => {
    // the attacker's "slow link cut" (issue 9): 16 other uploads send chunks at 40 kB/s each (far
    // above any due), the next at once, and keep the budget full; her page keeps two bodies in
    // flight in opposite phases (20 s slow, 20 s fast: the link carries 8 kB/s throughout), the
    // next chunk when one is stored, again 5 s after a refusal; 40 minutes of the gate's clock,
    // a second a step. Under gate9's rule each of her bodies was cut at 75-91 % of its chunk.
    const slowLink = async (slow: number, fast: number, gate: import('./chunk-gate.ts').ChunkGateOptions) => {
      const s = await startGateServer({ idleMs: 600_000, ...gate });
      try {
        let serial = 0;
        const others = new Set<{ name: string; sent: number }>();
        const open = (head: number) => {
          const other = { name: s.open(`other${Math.floor(serial++ / 3)}`, CHUNK), sent: 0 };
          others.add(other);
          s.send(other.name, head);
          other.sent = head;
        };
        const hers: { name?: string; sent: number; phase: number; retryAt: number }[] = [
          { sent: 0, phase: 0, retryAt: 0 },
          { sent: 0, phase: 20, retryAt: 0 },
        ];
        for (const h of hers) h.name = s.open('hers', CHUNK);
        for (let i = 0; i < 16; i++) open(Math.floor((CHUNK * i) / 16));
        await s.settle();
        let stored = 0;
        const log: string[] = [];
        for (let second = 1; second <= 40 * 60; second++) {
          s.clock.t = second * 1000;
          for (const other of [...others]) if (s.answered.has(other.name)) others.delete(other);
          for (const h of hers) {
            if (h.name === undefined || !s.answered.has(h.name)) continue;
            const code = s.answered.get(h.name)!;
            log.push(`${second}: ${code} after ${h.sent} B`);
            if (code === '200') stored++;
            else h.retryAt = second + 5;
            h.name = undefined;
          }
          for (const h of hers) {
            if (h.name === undefined && second >= h.retryAt) {
              h.name = s.open('hers', CHUNK);
              h.sent = 0;
            }
          }
          while (others.size < 16) open(0);
          for (const other of others) {
            const n = Math.min(40_000, CHUNK - other.sent);
            s.send(other.name, n);
            other.sent += n;
          }
          for (const h of hers) {
            if (h.name === undefined) continue;
            const n = Math.min((second + h.phase) % 40 < 20 ? slow : fast, CHUNK - h.sent);
            s.send(h.name, n);
            h.sent += n;
          }
          await s.settle();
        }
        return { stored, log };
      } finally {
        await s.close();
      }
    };
    for (const [slow, fast] of [[3600, 4400], [3000, 5000]] as const) {
      const now = await slowLink(slow, fast, {});
      const floorAlone = await slowLink(slow, fast, { holdSeconds: Infinity });
      // her link carries 4.6 chunks in 40 minutes; some of her bodies still meet a full budget
      // (503 busy: no body is below its due, as under the rate floor alone), and the hold rule
      // costs her no chunk the floor alone would have stored
      expect(now.stored, JSON.stringify(now.log)).toBeGreaterThanOrEqual(2);
      expect(now.stored, `${JSON.stringify(now.log)} / floor alone ${JSON.stringify(floorAlone.log)}`).toBeGreaterThanOrEqual(floorAlone.stored);
    }
  }, 300_000);

  // the finding: 16 bodies each send half a chunk at once (together all 32 MiB but 1 MiB), then
  // 1 300 B/s each (20.8 kB/s in all), and renew a refused body at once while their bytes stay
  // within twice that trickle (41.6 kB/s beyond the first heads); 30 minutes of the gate's clock
  const finding = { bodies: 16, head: 2 * MiB - 64 * KiB, trickle: 1300, spend: 41_600, seconds: 1800 };

  it('under the rate floor alone (main\'s rule, holdSeconds Infinity), trickling bodies hold the whole budget and an honest chunk at 8 kB/s is refused busy for as long as they trickle', async () => {
    const result = await trickleAttack({ ...finding, seconds: 900, gate: { holdSeconds: Infinity } });
    expect(result.honestStoredAt).toBeUndefined();
    expect(result.honestRefusals.length).toBeGreaterThanOrEqual(3);
    expect(new Set(result.honestRefusals)).toEqual(new Set(['503 busy']));
  }, 120_000);

  it('cuts trickling bodies that hold the whole budget, so an honest chunk at 8 kB/s is stored within holdSeconds and its own time (the default rule)', async () => {
    const result = await trickleAttack(finding);
    // Under gate9's rule (the hold from the first byte) it got in at once and was stored in its
    // own 524 s, never refused. Now a body younger than holdSeconds (≈ 1 398 s) owes only the
    // floor: the trickling bodies keep their room until they are that old (or are refused at the
    // full budget and renew at once), and the honest chunk meets 503 busy meanwhile, as under the
    // floor alone; once they are older, they must bring their bytes held / holdSeconds (≈ 2.6 kB/s
    // at 3.6 MB) and are cut for it. (At this spend, 41.6 kB/s beyond the heads, the attacker's own
    // renewals at the full budget let it in at 1 430 s under the floor alone too: this run shows
    // the new rule keeps the honest outcome; the hold rule itself is the test above, a body older
    // than holdSeconds.)
    expect(result.honestStoredAt).toBeDefined();
    expect(result.honestStoredAt!).toBeLessThanOrEqual((DEFAULT_HOLD_SECONDS + CHUNK / HONEST_BYTES_PER_SECOND) * 1000);
    expect(new Set(result.honestRefusals)).toEqual(result.honestRefusals.length ? new Set(['503 busy']) : new Set());
    // attacker bodies were cut to make its room (and renewed)
    expect(result.renewed).toBeGreaterThan(0);
  }, 120_000);
});
