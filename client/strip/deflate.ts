/**
 * @module client/strip/deflate — raw deflate (RFC 1951) through the browser's own
 * DecompressionStream and CompressionStream ('deflate-raw': Firefox 113, Chrome 103, Safari 16.4;
 * native code, so as quick with the JIT off as on), with a hard bound on what inflating may
 * produce, and the CRC-32 that zip entries carry.
 */
import { StripError } from './strip-error.ts';

/** Exactly `expectedLength` bytes inflated from `bytes`; more (a bomb) or fewer is refused. */
export async function inflateRaw(bytes: Uint8Array, expectedLength: number, where: string): Promise<Uint8Array> {
  const out = new Uint8Array(expectedLength);
  let at = 0;
  const reader = streamOf(bytes).pipeThrough(new DecompressionStream('deflate-raw')).getReader();
  try {
    for (;;) {
      const { done, value } = (await reader.read()) as ReadableStreamReadResult<Uint8Array>;
      if (done) break;
      if (at + value.length > expectedLength) {
        throw new StripError(`${where}: inflates to more than the ${expectedLength} bytes its header says`);
      }
      out.set(value, at);
      at += value.length;
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    if (error instanceof StripError) throw error;
    throw new StripError(`${where}: broken deflate data (${(error as Error).message})`);
  }
  if (at !== expectedLength) throw new StripError(`${where}: inflates to ${at} bytes, its header says ${expectedLength}`);
  return out;
}

export async function deflateRaw(bytes: Uint8Array): Promise<Uint8Array> {
  const compressed = await new Response(streamOf(bytes).pipeThrough(new CompressionStream('deflate-raw'))).arrayBuffer();
  return new Uint8Array(compressed);
}

function streamOf(bytes: Uint8Array): ReadableStream<BufferSource> {
  return new ReadableStream<BufferSource>({
    start(controller) {
      controller.enqueue(bytes as Uint8Array<ArrayBuffer>);
      controller.close();
    },
  });
}

let table: Uint32Array | undefined;

/** CRC-32 (ISO 3309, the polynomial zip and PNG use). */
export function crc32(bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
