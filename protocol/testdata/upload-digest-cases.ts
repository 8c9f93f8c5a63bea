/**
 * @module protocol/testdata/upload-digest-cases — the chunk digest vectors (PROTOCOL.md, "Upload
 * protocol" step 4): a ciphertext cut into chunks of `chunk-size`, each chunk's SHA-256
 * (`chunk-sha256`, in order) and the SHA-256 over those digests (`digests`). A failure case names
 * a value a wrong construction gives, which the server refuses at completion (`hash_mismatch`).
 * Written by generate.ts; `npx tsx protocol/testdata/upload-digest-cases.ts` rewrites only the
 * `upload-digests-*` files. The same every run.
 */
import { createHash } from 'node:crypto';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Headers = Record<string, string | number>;
type Write = (name: string, headers: Headers, data: Uint8Array | string, encoding: 'base64') => void;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest();
/** Bytes any implementation can make again: byte i is (i · 31 + 7) mod 251 (a prime: no two 1024-byte chunks alike). */
const pattern = (length: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + 7) % 251);
const chunksOf = (bytes: Uint8Array, size: number) =>
  Array.from({ length: Math.max(1, Math.ceil(bytes.length / size)) }, (_, k) => bytes.subarray(k * size, (k + 1) * size));

export function writeUploadDigestVectors(vector: Write): void {
  const headers = (bytes: Uint8Array, chunkSize: number) => {
    const digests = chunksOf(bytes, chunkSize).map(sha256);
    return { 'chunk-size': chunkSize, 'chunk-sha256': digests.map((d) => d.toString('hex')).join(' '), digests: sha256(Buffer.concat(digests)).toString('hex') };
  };
  const ok: [string, Uint8Array, number][] = [
    ['one-chunk', pattern(3000), 4 * 1024 * 1024],
    ['three-chunks', pattern(2500), 1024],
    ['exact-chunks', pattern(2048), 1024],
  ];
  for (const [name, bytes, size] of ok) vector(`upload-digests-${name}`, { expect: 'success', kind: 'upload-digests', ...headers(bytes, size) }, bytes, 'base64');

  const bytes = pattern(2500);
  const right = headers(bytes, 1024);
  const parts = chunksOf(bytes, 1024);
  const wrong: [string, string][] = [
    // the chunks' digests in another order: each chunk is what it says, the whole is not
    ['out-of-order', sha256(Buffer.concat([parts[1]!, parts[0]!, parts[2]!].map(sha256))).toString('hex')],
    // the whole ciphertext's SHA-256, as the build before sent with its last chunk
    ['whole-sha256', sha256(bytes).toString('hex')],
    // the digests as hex text, not 32 bytes each
    ['hex-joined', sha256(Buffer.from(right['chunk-sha256'].replaceAll(' ', ''), 'utf8')).toString('hex')],
    // a chunk missing from the list
    ['one-missing', sha256(Buffer.concat(parts.slice(0, 2).map(sha256))).toString('hex')],
  ];
  for (const [name, digests] of wrong) {
    vector(`upload-digests-${name}`, { expect: 'upload-digests failure: hash_mismatch', kind: 'upload-digests', ...right, digests }, bytes, 'base64');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = new URL('./', import.meta.url);
  for (const f of readdirSync(dir)) if (f.startsWith('upload-digests-') && !f.includes('.')) rmSync(new URL(f, dir));
  writeUploadDigestVectors((name, headers, data) => {
    const head = Object.entries({ ...headers, encoding: 'base64' }).map(([k, v]) => `${k}: ${v}`).join('\n');
    writeFileSync(new URL(name, dir), `${head}\n\n${Buffer.from(data).toString('base64').replace(/.{1,76}/g, '$&\n').trimEnd()}\n`);
  });
}
