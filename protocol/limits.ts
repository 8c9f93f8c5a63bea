/** @module protocol/limits — every number the protocol agrees on (see PROTOCOL.md, "Limits"). */

export const PROTOCOL_VERSION = 1;

/** Words in a new codename: 9 from a curated list of ≥ 1 620 words, ≥ 95.9 bits (PROTOCOL.md, "Codename"). */
export const CODENAME_WORDS = 9;
/** Words in a codename made before the curation: 8 × 11 bits from a stock BIP39 list. */
export const LEGACY_CODENAME_WORDS = 8;

/** scrypt cost, chosen for ≤ 1 s in Tor Browser with the JIT off (measured by `npm run bench`). */
export const SCRYPT_PARAMS = { N: 2 ** 11, r: 8, p: 1, dkLen: 32 } as const;

/** UTF-8 bytes of message.txt. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
export const MAX_FILES = 64;
/** A file name fits the ustar name field (100 bytes) with the prefix field holding "files". */
export const MAX_FILE_NAME_BYTES = 100;
/** manifest.json: 64 files with the longest names fit several times over. */
export const MAX_MANIFEST_BYTES = 64 * 1024;

/**
 * Answers to the instance's questions (PROTOCOL.md, "Answers"): at most MAX_ANSWERS, each with a
 * label of at most MAX_ANSWER_LABEL_BYTES and at most MAX_ANSWER_VALUES value elements of at most
 * MAX_ANSWER_VALUE_BYTES each (UTF-8). answers.txt, their rendering, is at most MAX_ANSWERS_BYTES:
 * half of MAX_MANIFEST_BYTES, because the manifest holds the same text again, JSON-escaped (a
 * quote or a line break takes two bytes there), beside the files' names.
 */
export const MAX_ANSWERS = 32;
export const MAX_ANSWER_LABEL_BYTES = 512;
export const MAX_ANSWER_VALUES = 32;
export const MAX_ANSWER_VALUE_BYTES = 16 * 1024;
export const MAX_ANSWERS_BYTES = 32 * 1024;

/** The chunk size clients use, and the largest chunk the server accepts. */
export const CHUNK_BYTES = 4 * 1024 * 1024;
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * The smallest chunk size of an upload of several chunks (one chunk may be any size). Each chunk
 * costs the server a request and a row whatever its size: at 64 KiB, holding an upload at the
 * pace of 2 000 B/s (server/source/stale-uploads.ts) takes a chunk every 33 s, not two a second.
 * The page always sends CHUNK_BYTES.
 */
export const MIN_CHUNK_BYTES = 64 * 1024;
export const MAX_CIPHERTEXT_BYTES = 2 * 1024 ** 3;
export const MAX_CHUNKS = MAX_CIPHERTEXT_BYTES / MAX_CHUNK_BYTES;
/**
 * Chunks of one upload a client keeps in flight at once. The server admits up to twice that per
 * upload (server/source/chunk-gate.ts) and is tested with 8 uploads at this width
 * (test/load/concurrency.test.ts); over one Tor circuit more would add little.
 */
export const PARALLEL_CHUNKS = 2;

/** The smallest padded envelope: a short tip and a long one look alike below this. */
export const MIN_PADDED_BYTES = 4096;
/** Largest padded envelope: leaves room for the OpenPGP framing within MAX_CIPHERTEXT_BYTES. */
export const MAX_ENVELOPE_BYTES = MAX_CIPHERTEXT_BYTES - 64 * 1024;

export const MAX_REPLY_BYTES = 1024 * 1024;
/** A reply of MAX_REPLY_BYTES armored: base64 in 64-character lines, headers and checksum. */
export const MAX_ARMORED_REPLY_CHARS = Math.ceil(MAX_REPLY_BYTES / 3) * 4 * (65 / 64) + 1024;
/** The armored source keys the server accepts (server/app.ts), and so the page takes back. */
export const MAX_ARMORED_KEY_CHARS = 32 * 1024;
/** Statuses and replies the return page takes in one lookup answer; a longer list is refused as the server's error. */
export const MAX_LOOKUP_SUBMISSIONS = 10_000;
export const MAX_LOOKUP_REPLIES = 1_000;
/**
 * A reply's detached signature, binary or armored: an RSA-4096 signature with OpenPGP.js's salt
 * notation is about 600 bytes binary, 900 armored; an Ed25519 one under 200.
 */
export const MAX_REPLY_SIGNATURE_BYTES = 4096;

export const POW_DEFAULT_DIFFICULTY = 16;
export const POW_TTL_SECONDS = 3600;
/**
 * How far a token's expiry may lie beyond now + POW_TTL_SECONDS and still be accepted: the clocks
 * of several server processes sharing one database may differ by this much. Anything further
 * ahead was not issued by a process with a sane clock, and would outlive its spent_pow row
 * (purged by expiry day), so it is refused.
 */
export const POW_CLOCK_SKEW_SECONDS = 300;

/** Source keys carry this creation date and user id so they reveal neither time nor identity. */
export const SOURCE_KEY_DATE = new Date('2020-01-01T00:00:00Z');
export const SOURCE_KEY_USER_ID = { name: 'source' } as const;
