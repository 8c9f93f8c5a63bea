/**
 * @module server/db/pg-chunks — chunk bytes in and out of PostgreSQL on node-postgres, neither
 * copied on the way in nor turned into text on the way out.
 *
 * In: node-postgres writes a Bind message into one growing buffer: a 4 MiB bytea parameter was
 * copied into a fresh 4 MiB (and more) Buffer for every insert, garbage as soon as the socket had
 * sent it. Under load that garbage, and V8's habit of collecting ArrayBuffers only after tens of
 * MiB of them have piled up, was a large part of the server's RSS during uploads (`npm run bench
 * -- source-api`, upload sections). Here the Bind message is written in pieces: its header (with
 * the small parameters and the bytea's length), the chunk's own bytes as the pieces its request
 * body came in, and its two-byte tail. The socket is corked meanwhile (node-postgres corks around
 * `prepare`), so the pieces leave together in one writev, and nothing is copied in JavaScript.
 * The bytes must not change until the query settles (the socket may still be sending them).
 *
 * Out: node-postgres decodes every result value as UTF-8 text, so a slice came back base64 (a
 * 1.4 MB string on V8's heap per 1 MiB slice, which piled up to tens of MiB of garbage while
 * uploads were checked at once). COPY ... TO STDOUT in binary format hands over the raw bytes:
 * node-postgres passes each CopyData message to the query as it is.
 *
 * Everything else is node-postgres's own Query: the other messages, and every answer, error,
 * timeout and connection loss is handled as for any query.
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

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * `copy (select <int4>, <bytea> ...) to stdout with (format binary)`: the rows' two values, the
 * bytea as raw bytes. A statement with no parameters (COPY takes none): whatever goes into its
 * text must already be checked.
 */
export class CopyIntAndBytesQuery extends pg.Query {
  #data: Buffer;
  #length = 0;

  /** `expectBytes`: about how many bytes the answer has (it is read into one buffer that size). */
  constructor(text: string, expectBytes: number) {
    super({ text });
    this.#data = Buffer.allocUnsafe(expectBytes);
  }

  /** Each CopyData message's bytes, copied (node-postgres reuses the buffer they are read into). */
  handleCopyData(message: { chunk: Buffer }): void {
    const { chunk } = message;
    if (this.#length + chunk.length > this.#data.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.#data.length, this.#length + chunk.length));
      this.#data.copy(grown, 0, 0, this.#length);
      this.#data = grown;
    }
    this.#length += chunk.copy(this.#data, this.#length);
  }

  /** The rows, once the query has settled (their bytes are views of one buffer; not `rows`, a field of Query). */
  copiedRows(): Array<{ int: number; bytes: Buffer }> {
    return parseCopyIntAndBytes(this.#data.subarray(0, this.#length));
  }
}

/** Rows of (int4, bytea) in PostgreSQL's binary COPY format (header, tuples, trailer). */
export function parseCopyIntAndBytes(data: Buffer): Array<{ int: number; bytes: Buffer }> {
  const bad = (why: string) => new Error(`binary COPY from PostgreSQL: ${why}`);
  if (data.length < 19 || !data.subarray(0, 11).equals(COPY_SIGNATURE)) throw bad('no signature');
  let at = 11 + 4;
  at += 4 + data.readInt32BE(at);
  const rows: Array<{ int: number; bytes: Buffer }> = [];
  for (;;) {
    if (at + 2 > data.length) throw bad('cut short');
    const fields = data.readInt16BE(at);
    at += 2;
    if (fields === -1) break;
    if (fields !== 2) throw bad(`${fields} fields in a row, not 2`);
    if (at + 8 > data.length || data.readInt32BE(at) !== 4) throw bad('the first value is not an int4');
    const int = data.readInt32BE(at + 4);
    at += 8;
    if (at + 4 > data.length) throw bad('cut short');
    const length = data.readInt32BE(at);
    at += 4;
    if (length < 0 || at + length > data.length) throw bad('the second value is missing or cut short');
    rows.push({ int, bytes: data.subarray(at, at + length) });
    at += length;
  }
  if (at !== data.length) throw bad('bytes after the trailer');
  return rows;
}
