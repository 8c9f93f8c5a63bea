/**
 * @module server/db/pg-chunk-insert — a chunk's insert on node-postgres with its bytes sent as
 * they are, not copied.
 *
 * node-postgres writes a Bind message into one growing buffer: a 4 MiB bytea parameter is copied
 * into a fresh 4 MiB (and more) Buffer for every insert, garbage as soon as the socket has sent it.
 * Under load that garbage, and V8's habit of collecting ArrayBuffers only after tens of MiB of
 * them have piled up, was a large part of the server's RSS during uploads (`npm run bench --
 * source-api`, upload sections). Here the Bind message is written in pieces: its header (with
 * the small parameters and the bytea's length), the chunk's own bytes as the pieces its request
 * body came in, and its two-byte tail. The socket is corked meanwhile (node-postgres corks around `prepare`), so the pieces
 * leave together in one writev, and nothing is copied in JavaScript.
 *
 * Everything else is node-postgres's own Query: the Parse, Describe, Execute and Sync messages,
 * and every answer, error, timeout and connection loss is handled as for any query. The chunk's
 * bytes must not change until the query settles (the socket may still be sending them).
 */
import pg from 'pg';

interface Connection {
  stream: { write(buffer: Uint8Array): boolean };
  parse(query: { text: string; name?: string; types?: number[] }): void;
  describe(msg: { type: 'P' | 'S'; name?: string }): void;
  execute(config: { portal?: string; rows?: number }): void;
  sync(): void;
}

/** Text parameters, then one binary parameter: `pieces`, joined, each written as it is. */
export class ChunkInsertQuery extends pg.Query {
  readonly #text: string;
  readonly #textParams: string[];
  readonly #pieces: readonly Uint8Array[];

  constructor(text: string, textParams: string[], pieces: readonly Uint8Array[]) {
    super({ text, values: [...textParams, ''] });
    this.#text = text;
    this.#textParams = textParams;
    this.#pieces = pieces;
  }

  /** Replaces node-postgres's Query.prepare (the extended protocol's messages; called corked). */
  prepare(connection: Connection): void {
    connection.parse({ text: this.#text, name: '', types: [] });
    const length = this.#pieces.reduce((n, piece) => n + piece.byteLength, 0);
    const [head, tail] = bindMessage(this.#textParams, length);
    connection.stream.write(head);
    for (const piece of this.#pieces) if (piece.byteLength > 0) connection.stream.write(piece);
    connection.stream.write(tail);
    connection.describe({ type: 'P', name: '' });
    connection.execute({});
    connection.sync();
  }
}

/**
 * The Bind message (unnamed portal and statement) for `text` parameters in text format followed
 * by one binary parameter of `binaryLength` bytes, results in text format: the bytes before the
 * binary parameter's value, and those after it.
 */
export function bindMessage(text: string[], binaryLength: number): [Buffer, Buffer] {
  const encoded = text.map((value) => Buffer.from(value, 'utf8'));
  const count = encoded.length + 1;
  const headLength =
    1 + 4 + 1 + 1 + 2 + 2 * count + 2 + encoded.reduce((n, value) => n + 4 + value.length, 0) + 4;
  const head = Buffer.alloc(headLength);
  let at = 0;
  head[at++] = 0x42; // 'B'
  // the length counts itself and everything after the type byte
  at = head.writeInt32BE(headLength - 1 + binaryLength + 4, at);
  head[at++] = 0; // portal ''
  head[at++] = 0; // statement ''
  at = head.writeInt16BE(count, at);
  for (let i = 0; i < encoded.length; i++) at = head.writeInt16BE(0, at);
  at = head.writeInt16BE(1, at);
  at = head.writeInt16BE(count, at);
  for (const value of encoded) {
    at = head.writeInt32BE(value.length, at);
    at += value.copy(head, at);
  }
  at = head.writeInt32BE(binaryLength, at);
  if (at !== headLength) throw new Error('bind message: wrong length');
  const tail = Buffer.alloc(4);
  tail.writeInt16BE(1, 0); // one result format code...
  tail.writeInt16BE(0, 2); // ...text
  return [head, tail];
}
