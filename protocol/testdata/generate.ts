/**
 * Writes the test vectors in this folder, one case per file (format: PROTOCOL.md, "Test vectors").
 * Run: npx tsx protocol/testdata/generate.ts — envelopes, KDF, PADMÉ, codename, word-list and PoW vectors come
 * out the same every run; OpenPGP messages are new each run (random session keys).
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { wordlist as japanese } from '@scure/bip39/wordlists/japanese.js';
import { wordlist as korean } from '@scure/bip39/wordlists/korean.js';
import { wordlist as chinese } from '@scure/bip39/wordlists/simplified-chinese.js';
import { armor, createMessage, encrypt, enums, generateKey, readKey, readPrivateKey, reformatKey, sign } from 'openpgp';
import { BLOCK, checksum, FIELDS, roundUp, writeHeader, type Field } from '../_tar.ts';
import { writeCodenameVectors } from './codename-cases.ts';
import { writeReplyVectors } from './reply-cases.ts';
import { writeSiteManifestVectors } from './site-manifest-cases.ts';
import { writeTipVectors } from './tip-cases.ts';
import { writeUploadDigestVectors } from './upload-digest-cases.ts';
import {
  armorPrivate, armorPublic, dsaKey, openpgpKey, packetsOf, rsaKey, TAGS, v6RsaKey, writePackets, type KeyPair, type Packet,
} from './hostile-keys.ts';
import {
  buildEnvelope, checkCodename, checkSourceKeys, checkSourcePublicKey, generateSourceKeys, SOURCE_KEY_DATE, SOURCE_KEY_USER_ID, checkPowSolution, deriveSourceSecrets, encryptToKeys, hashLookupId,
  MAX_MESSAGE_BYTES, paddedLength, padmeLength, parsePowToken, powSizeBits, SCRYPT_PARAMS, serializeManifest, solvePow,
  toBase64Url, toHex, utf8Encode, type Manifest,
} from '../index.ts';

const dir = new URL('./', import.meta.url);
for (const f of readdirSync(dir)) if (!f.includes('.')) rmSync(new URL(f, dir));

type Headers = Record<string, string | number>;
function vector(name: string, headers: Headers, data: Uint8Array | string, encoding: 'base64' | 'hex' | 'utf8' = 'base64'): void {
  const head = Object.entries({ ...headers, encoding }).map(([k, v]) => `${k}: ${v}`).join('\n');
  let body = '';
  if (encoding === 'utf8') body = data as string;
  else if (encoding === 'hex') body = toHex(data as Uint8Array);
  else body = Buffer.from(data as Uint8Array).toString('base64').replace(/.{1,76}/g, '$&\n').trimEnd();
  writeFileSync(new URL(name, dir), `${head}\n\n${body}\n`);
}

// ---- KDF ----------------------------------------------------------------------------------------
const scryptHeader = `N=${SCRYPT_PARAMS.N} r=${SCRYPT_PARAMS.r} p=${SCRYPT_PARAMS.p} dkLen=${SCRYPT_PARAMS.dkLen}`;
const kdfCases: [string, string, string][] = [
  ['kdf-english', english.slice(0, 8).join(' '), 'M2xQd1lTZk5iQ2Q0T1VtRg'],
  ['kdf-english-messy', `  ${english.slice(0, 8).join('   ').toUpperCase()}\n`, 'M2xQd1lTZk5iQ2Q0T1VtRg'],
  ['kdf-korean', korean.slice(40, 48).join(' '), 'ZXhhbXBsZS1zYWx0LTAwMQ'],
  ['kdf-chinese-no-spaces', chinese.slice(8, 16).join(''), 'ZXhhbXBsZS1zYWx0LTAwMQ'],
  ['kdf-japanese', japanese.slice(100, 108).join('\u3000'), 'ZXhhbXBsZS1zYWx0LTAwMQ'],
  // Codenames in the field hold words the curated lists no longer draw (PROTOCOL.md, "Codename"):
  // these were written before the curation, and must keep giving the same secrets.
  ['kdf-legacy-korean-removed-words', '범인 흑인 설사 여고생 김포공항 경복궁 울산 가격', 'ZXhhbXBsZS1zYWx0LTAwMQ'],
  ['kdf-legacy-english-removed-words', 'police arrest prison gun bomb spy border whale', 'ZXhhbXBsZS1zYWx0LTAwMQ'],
  ['kdf-legacy-simplified-chinese-removed-words', '党军枪毒警韩朝的', 'ZXhhbXBsZS1zYWx0LTAwMQ'],
  ['kdf-legacy-traditional-chinese', '這個國們時來為對', 'ZXhhbXBsZS1zYWx0LTAwMQ'],
  ['kdf-legacy-czech', 'abeceda adresa agrese akce aktovka alej alkohol amputace', 'ZXhhbXBsZS1zYWx0LTAwMQ'],
];
for (const [name, codename, salt] of kdfCases) {
  const s = deriveSourceSecrets(codename, salt);
  vector(name, {
    expect: 'success', kind: 'kdf', scrypt: scryptHeader, salt, 'lookup-id': s.lookupId,
    'key-passphrase': s.keyPassphrase, 'lookup-hash': hashLookupId(s.lookupId),
  }, codename, 'utf8');
}

// ---- PADMÉ --------------------------------------------------------------------------------------
for (const n of [0, 1, 4096, 4097, 5000, 9999, 65537, 1_000_000, 123_456_789, 2 ** 31 - 1]) {
  vector(`padme-${n}`, { expect: 'success', kind: 'padme', length: n, padme: padmeLength(n), padded: paddedLength(n) }, '', 'utf8');
}

// ---- Proof-of-work price (PROTOCOL.md "Pricing"): the bits a size adds --------------------------
const MiB = 1024 * 1024;
for (const size of [0, 4096, MiB, MiB + 1, 2 * MiB, 2 * MiB + 1, 4 * MiB, 5 * MiB, 8 * MiB, 32 * MiB, 64 * MiB, 256 * MiB, 512 * MiB, 1024 * MiB, 2048 * MiB]) {
  vector(`pow-price-${size}`, { expect: 'success', kind: 'pow-price', size, bits: powSizeBits(size) }, '', 'utf8');
}
for (const [name, size] of [['negative', -1], ['fraction', 1.5], ['unsafe', 2 ** 53]] as const) {
  vector(`pow-price-${name}`, { expect: 'pow failure: bad_size', kind: 'pow-price', size }, '', 'utf8');
}

// ---- Codename (codename-cases.ts: codenames, digits, curated lists, their KDF) -----------------
writeCodenameVectors(vector);

// ---- Proof of work ------------------------------------------------------------------------------
const id = toBase64Url(Uint8Array.from({ length: 16 }, (_, i) => i));
const mac = toBase64Url(Uint8Array.from({ length: 32 }, (_, i) => 255 - i));
const token = `v1.${id}.1767225600.8.${mac}`;
for (const [name, t] of [['pow-token', token], ['pow-token-difficulty-0', `v1.${id}.0.0.${mac}`]] as const) {
  const p = parsePowToken(t);
  vector(name, { expect: 'success', kind: 'pow-token', id: p.id, expires: p.expires, difficulty: p.difficulty }, t, 'utf8');
}
const badTokens: [string, string][] = [
  ['pow-token-v2', token.replace(/^v1/, 'v2')],
  ['pow-token-missing-mac', token.slice(0, token.lastIndexOf('.'))],
  ['pow-token-padded-id', `v1.${id}==.1767225600.8.${mac}`],
  ['pow-token-leading-zero', `v1.${id}.01767225600.8.${mac}`],
  ['pow-token-difficulty-65', `v1.${id}.1767225600.65.${mac}`],
  ['pow-token-plus-sign', `v1.${id}.+1767225600.8.${mac}`],
  ['pow-token-std-base64', `v1.${id.replace(/.$/, '+')}.1767225600.8.${mac}`],
  ['pow-token-trailing-newline', `${token}\n`],
  ['pow-token-non-canonical-bits', `v1.${id.replace(/.$/, 'P')}.1767225600.8.${mac}`],
];
for (const [name, t] of badTokens) vector(name, { expect: 'pow failure: malformed_token', kind: 'pow-token' }, t, 'utf8');
const nonce = await solvePow(token, 8);
let wrong = Number(nonce) + 1;
while (await checkPowSolution(token, String(wrong), 8)) wrong++;
vector('pow-solution', { expect: 'success', kind: 'pow-solution', nonce, difficulty: 8 }, token, 'utf8');
vector('pow-solution-insufficient', { expect: 'pow failure: rejected', kind: 'pow-solution', nonce: wrong, difficulty: 8 }, token, 'utf8');
vector('pow-solution-leading-zero', { expect: 'pow failure: rejected', kind: 'pow-solution', nonce: `0${nonce}`, difficulty: 8 }, token, 'utf8');
vector('pow-solution-other-token', { expect: 'pow failure: rejected', kind: 'pow-solution', nonce: wrong, difficulty: 8 }, token.replace('.8.', '.9.'), 'utf8');

// ---- Envelopes ----------------------------------------------------------------------------------
const enc = (s: string) => utf8Encode(s);
const successes: [string, Parameters<typeof buildEnvelope>[0]][] = [
  ['envelope-empty', { language: 'en', message: '', files: [] }],
  ['envelope-message-only', { language: 'ru', message: 'Это важно.\nПроверьте счета.\n', files: [] }],
  ['envelope-two-files', {
    language: 'ko', message: '제보합니다.', files: [
      { name: 'photo.jpg', type: 'image/jpeg', bytes: Uint8Array.from({ length: 6000 }, (_, i) => i % 251), stripped: true },
      { name: '회의록.pdf', type: 'application/pdf', bytes: enc('%PDF-1.7'), stripped: false },
    ],
  }],
  ['envelope-longest-name', { language: 'km', message: 'ឯកសារ', files: [{ name: '가'.repeat(32) + '.pdf', type: 'application/pdf', bytes: enc('x'), stripped: false }] }],
  ['envelope-empty-file', { language: 'zh-Hans', message: '你好', files: [{ name: 'empty', type: '', bytes: new Uint8Array(0), stripped: false }] }],
];
// The source key's fingerprint (PROTOCOL.md, "Envelope"): keys.example's v4 demo key's, and one of v6 length.
const V4_FINGERPRINT = 'd59550c5a4895ea55787f850ca968b8ec7fc9799';
const V6_FINGERPRINT = 'cb186c4f0609a697e4d52dfa6c722b0c1f1e27c18a56708f6525ec27bad9acc9';
successes.push(
  ['envelope-source-key-v4', { language: 'ko', message: '두 번째 제보입니다.', files: [], sourceKeyFingerprint: V4_FINGERPRINT }],
  ['envelope-source-key-v6', {
    language: 'en', message: 'a follow-up', files: [{ name: 'notes.txt', type: 'text/plain', bytes: enc('notes'), stripped: false }],
    sourceKeyFingerprint: V6_FINGERPRINT,
  }],
);
for (const [name, input] of successes) {
  const key: Headers = input.sourceKeyFingerprint === undefined ? {} : { 'source-key': input.sourceKeyFingerprint };
  vector(name, { expect: 'success', kind: 'envelope', files: input.files.length, ...key }, await buildEnvelope(input));
}

type Raw = { name: string; prefix?: string; data: Uint8Array; patch?: Partial<Record<Field, string>>; badChecksum?: boolean };
function setField(h: Uint8Array, f: Field, value: string): void {
  const [offset, length] = FIELDS[f];
  h.fill(0, offset, offset + length);
  h.set(Uint8Array.from(value, (c) => c.charCodeAt(0)).subarray(0, length), offset);
}
/** A tar built entry by entry, headers patched and re-checksummed, padded like an envelope. */
function rawTar(entries: Raw[], options: { pad?: number } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const h = writeHeader('', '', e.data.length);
    h.set(enc(e.name).subarray(0, 100), 0);
    h.fill(0, 345, 500);
    h.set(enc(e.prefix ?? '').subarray(0, 155), 345);
    for (const [f, v] of Object.entries(e.patch ?? {})) setField(h, f as Field, v!);
    setField(h, 'chksum', checksum(h).toString(8).padStart(6, '0') + '\0 ');
    if (e.badChecksum) setField(h, 'chksum', (checksum(h) + 1).toString(8).padStart(6, '0') + '\0 ');
    const block = new Uint8Array(BLOCK + roundUp(e.data.length));
    block.set(h);
    block.set(e.data, BLOCK);
    parts.push(block);
  }
  parts.push(new Uint8Array(2 * BLOCK));
  const tarLength = parts.reduce((n, p) => n + p.length, 0);
  const total = options.pad ?? paddedLength(tarLength);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p.subarray(0, Math.max(0, Math.min(p.length, total - o))), o);
    o += p.length;
  }
  return out;
}
const msg = enc('hello');
const fileA = enc('abc');
const fileB = Uint8Array.of(0, 1, 2, 3, 255);
function manifest(files: { name: string; size: number; path?: string; type?: string }[], messageBytes = msg.length, extra: Partial<Manifest> = {}): Uint8Array {
  return enc(serializeManifest({
    version: 1, language: 'en', message: { bytes: messageBytes },
    files: files.map((f) => ({ name: f.name, path: f.path ?? `files/${f.name}`, type: f.type ?? 'text/plain', size: f.size, stripped: false })),
    ...extra,
  }));
}
const m2 = manifest([{ name: 'a.txt', size: 3 }, { name: 'b.bin', size: 5 }]);
const base = (): Raw[] => [
  { name: 'manifest.json', data: m2 },
  { name: 'message.txt', data: msg },
  { name: 'a.txt', prefix: 'files', data: fileA },
  { name: 'b.bin', prefix: 'files', data: fileB },
];
const withEntry = (i: number, change: Partial<Raw>) => base().map((e, k) => (k === i ? { ...e, ...change } : e));
const withManifest = (data: Uint8Array | string) => withEntry(0, { data: typeof data === 'string' ? enc(data) : data });
const nonZeroBlockPadding = (() => {
  const t = rawTar(base());
  t[512 * 5 + 3] = 0x41; // just after "abc" inside its block
  return t;
})();

const small = await buildEnvelope({ language: 'en', message: 'hello', files: [] });
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
  return out;
};
const failures: [string, string, Uint8Array][] = [
  ['wrong-order-message-first', 'wrong_order', rawTar([base()[1]!, base()[0]!, ...base().slice(2)])],
  ['wrong-order-files-swapped', 'wrong_order', rawTar([...base().slice(0, 2), base()[3]!, base()[2]!])],
  ['extra-entry-after-files', 'unexpected_entry', rawTar([...base(), { name: 'c.txt', prefix: 'files', data: fileA }])],
  ['unknown-entry-instead-of-file', 'unexpected_entry', rawTar(withEntry(2, { name: 'evil.sh', prefix: '' }))],
  ['missing-manifest', 'wrong_order', rawTar(base().slice(1))],
  ['missing-message', 'missing_entry', rawTar([base()[0]!])],
  ['empty-archive', 'missing_entry', new Uint8Array(4096)],
  ['fewer-entries-than-manifest', 'manifest_mismatch', rawTar(base().slice(0, 3))],
  ['manifest-wrong-file-size', 'manifest_mismatch', rawTar(withManifest(manifest([{ name: 'a.txt', size: 4 }, { name: 'b.bin', size: 5 }])))],
  ['manifest-wrong-message-size', 'manifest_mismatch', rawTar(withManifest(manifest([{ name: 'a.txt', size: 3 }, { name: 'b.bin', size: 5 }], 6)))],
  ['manifest-path-not-under-files', 'manifest_mismatch', rawTar(withManifest(manifest([{ name: 'a.txt', size: 3, path: 'a.txt' }, { name: 'b.bin', size: 5 }])))],
  ['manifest-spaces', 'non_canonical_manifest', rawTar(withManifest(JSON.stringify(JSON.parse(new TextDecoder().decode(m2)), null, 1)))],
  ['manifest-key-order', 'non_canonical_manifest', rawTar(withManifest(new TextDecoder().decode(m2).replace('{"version":1,"language":"en"', '{"language":"en","version":1')))],
  ['manifest-extra-key', 'non_canonical_manifest', rawTar(withManifest(new TextDecoder().decode(m2).replace('{"version":1', '{"version":1,"sender":"x"')))],
  ['manifest-escaped-unicode', 'non_canonical_manifest', rawTar(withManifest(new TextDecoder().decode(m2).replace('"en"', '"\\u0065n"')))],
  ['manifest-source-key-upper-case', 'bad_manifest', rawTar(withManifest(manifest([{ name: 'a.txt', size: 3 }, { name: 'b.bin', size: 5 }], msg.length, { sourceKeyFingerprint: V4_FINGERPRINT.toUpperCase() })))],
  ['manifest-source-key-short', 'bad_manifest', rawTar(withManifest(manifest([{ name: 'a.txt', size: 3 }, { name: 'b.bin', size: 5 }], msg.length, { sourceKeyFingerprint: V4_FINGERPRINT.slice(0, 39) })))],
  ['manifest-source-key-key-id', 'bad_manifest', rawTar(withManifest(manifest([{ name: 'a.txt', size: 3 }, { name: 'b.bin', size: 5 }], msg.length, { sourceKeyFingerprint: V4_FINGERPRINT.slice(24) })))],
  ['manifest-source-key-grouped', 'bad_manifest', rawTar(withManifest(manifest([{ name: 'a.txt', size: 3 }, { name: 'b.bin', size: 5 }], msg.length, { sourceKeyFingerprint: V4_FINGERPRINT.match(/.{4}/g)!.join(' ') })))],
  ['manifest-source-key-null', 'bad_manifest', rawTar(withManifest(new TextDecoder().decode(m2).replace(/}$/, ',"sourceKeyFingerprint":null}')))],
  ['manifest-source-key-empty', 'bad_manifest', rawTar(withManifest(new TextDecoder().decode(m2).replace(/}$/, ',"sourceKeyFingerprint":""}')))],
  ['manifest-source-key-first', 'non_canonical_manifest', rawTar(withManifest(new TextDecoder().decode(m2).replace('{"version":1', `{"sourceKeyFingerprint":"${V4_FINGERPRINT}","version":1`)))],
  ['manifest-source-key-twice', 'non_canonical_manifest', rawTar(withManifest(new TextDecoder().decode(m2).replace(/}$/, `,"sourceKeyFingerprint":"${V6_FINGERPRINT}","sourceKeyFingerprint":"${V4_FINGERPRINT}"}`)))],
  ['manifest-not-json', 'bad_manifest', rawTar(withManifest('{"version":1,'))],
  ['manifest-version-2', 'unsupported_version', rawTar(withManifest(new TextDecoder().decode(m2).replace('"version":1', '"version":2')))],
  ['manifest-bad-media-type', 'bad_manifest', rawTar(withManifest(manifest([{ name: 'a.txt', size: 3, type: 'Text/Plain' }, { name: 'b.bin', size: 5 }])))],
  ['manifest-bad-language', 'bad_manifest', rawTar(withManifest(new TextDecoder().decode(m2).replace('"en"', '"English"')))],
  ['manifest-stripped-string', 'bad_manifest', rawTar(withManifest(new TextDecoder().decode(m2).replace('"stripped":false', '"stripped":"no"')))],
  ['manifest-too-many-files', 'too_many_files', rawTar(withManifest(manifest(Array.from({ length: 65 }, (_, i) => ({ name: `${i}.txt`, size: 1 })))))],
  ['manifest-unsafe-name', 'unsafe_name', rawTar(withManifest(manifest([{ name: '.bashrc', size: 3 }, { name: 'b.bin', size: 5 }])))],
  ['manifest-device-name', 'unsafe_name', rawTar(withManifest(manifest([{ name: 'CON.txt', size: 3 }, { name: 'b.bin', size: 5 }])))],
  ['manifest-duplicate-name', 'duplicate_name', rawTar(withManifest(manifest([{ name: 'a.txt', size: 3 }, { name: 'a.txt', size: 5 }])))],
  ['manifest-duplicate-name-case', 'duplicate_name', rawTar(withManifest(manifest([{ name: 'a.txt', size: 3 }, { name: 'A.TXT', size: 5 }])))],
  ['path-traversal', 'unsafe_path', rawTar(withEntry(2, { name: '../../etc/passwd', prefix: 'files' }))],
  ['absolute-path', 'unsafe_path', rawTar(withEntry(2, { name: 'a.txt', prefix: '/files' }))],
  ['name-not-split-at-files', 'non_canonical_header', rawTar(withEntry(2, { name: 'files/a.txt', prefix: '' }))],
  ['name-with-hidden-suffix', 'non_canonical_header', rawTar(withEntry(2, { patch: { name: 'a.txt\0evil' } }))],
  ['name-invalid-utf8', 'bad_name', rawTar(withEntry(2, { patch: { name: 'a\xff.txt' } }))],
  ['mode-0755', 'non_canonical_header', rawTar(withEntry(2, { patch: { mode: '0000755\0' } }))],
  ['mode-without-leading-zeros', 'non_canonical_header', rawTar(withEntry(1, { patch: { mode: '644\0' } }))],
  ['uid-1000', 'non_canonical_header', rawTar(withEntry(2, { patch: { uid: '0001750\0' } }))],
  ['gid-1000', 'non_canonical_header', rawTar(withEntry(2, { patch: { gid: '0001750\0' } }))],
  ['uname-root', 'non_canonical_header', rawTar(withEntry(0, { patch: { uname: 'root' } }))],
  ['gname-staff', 'non_canonical_header', rawTar(withEntry(1, { patch: { gname: 'staff' } }))],
  ['mtime-not-zero', 'non_canonical_header', rawTar(withEntry(1, { patch: { mtime: '14707006400\0' } }))],
  ['size-space-terminated', 'non_canonical_header', rawTar(withEntry(1, { patch: { size: '00000000005 ' } }))],
  ['size-base256', 'non_canonical_header', rawTar(withEntry(1, { patch: { size: '\x80\0\0\0\0\0\0\0\0\0\0\x05' } }))],
  ['gnu-magic', 'non_canonical_header', rawTar(withEntry(2, { patch: { magic: 'ustar ', version: ' \0' } }))],
  ['devmajor-set', 'non_canonical_header', rawTar(withEntry(2, { patch: { devmajor: '0000000\0' } }))],
  ['linkname-set', 'non_canonical_header', rawTar(withEntry(2, { patch: { linkname: 'a' } }))],
  ['pad-field-set', 'non_canonical_header', rawTar(withEntry(2, { patch: { pad: 'x' } }))],
  ['bad-checksum', 'bad_checksum', rawTar(withEntry(2, { badChecksum: true }))],
  ['checksum-seven-digits', 'bad_checksum', (() => {
    const t = rawTar(base());
    const h = t.subarray(1024, 1024 + 512); // message.txt's header
    setField(h, 'chksum', checksum(h).toString(8).padStart(7, '0') + '\0');
    return t;
  })()],
  ['symlink', 'not_regular_file', rawTar(withEntry(2, { data: new Uint8Array(0), patch: { typeflag: '2', linkname: '/etc/passwd' } }))],
  ['hard-link', 'not_regular_file', rawTar(withEntry(2, { data: new Uint8Array(0), patch: { typeflag: '1', linkname: 'message.txt' } }))],
  ['directory', 'not_regular_file', rawTar(withEntry(2, { name: 'a.txt', data: new Uint8Array(0), patch: { typeflag: '5' } }))],
  ['char-device', 'not_regular_file', rawTar(withEntry(2, { data: new Uint8Array(0), patch: { typeflag: '3' } }))],
  ['fifo', 'not_regular_file', rawTar(withEntry(2, { data: new Uint8Array(0), patch: { typeflag: '6' } }))],
  ['pax-header', 'not_regular_file', rawTar([base()[0]!, base()[1]!, { name: 'PaxHeader', data: enc('20 path=files/a.txt\n'), patch: { typeflag: 'x' } }, ...base().slice(2)])],
  ['gnu-long-name', 'not_regular_file', rawTar(withEntry(2, { name: '././@LongLink', patch: { typeflag: 'L' } }))],
  ['v7-typeflag-nul', 'not_regular_file', rawTar(withEntry(2, { patch: { typeflag: '\0' } }))],
  ['message-invalid-utf8', 'bad_message', rawTar(withEntry(1, { data: Uint8Array.of(0x68, 0xff, 0x69, 0x21, 0x21) }))],
  ['message-too-large', 'too_large', rawTar(withEntry(1, { patch: { size: (MAX_MESSAGE_BYTES + 1).toString(8).padStart(11, '0') + '\0' } }))],
  ['manifest-too-large', 'too_large', rawTar(withEntry(0, { patch: { size: (64 * 1024 + 1).toString(8).padStart(11, '0') + '\0' } }))],
  ['non-zero-block-padding', 'non_zero_padding', nonZeroBlockPadding],
  ['hidden-entry-after-end', 'non_zero_padding', (() => {
    const t = small.slice(); // a 3072-byte archive padded to 4096: room for one more entry
    t.set(rawTar([{ name: 'x', data: enc('secret') }], { pad: 1024 }), 3072);
    return t;
  })()],
  ['non-zero-final-padding', 'non_zero_padding', (() => {
    const t = rawTar(base());
    t[t.length - 1] = 1;
    return t;
  })()],
  ['not-padded', 'bad_padded_length', small.subarray(0, 3072)],
  ['padded-too-far', 'bad_padded_length', concat(small, new Uint8Array(512))],
  ['padded-one-byte-short', 'bad_padded_length', small.subarray(0, 4095)],
  ['truncated-in-file', 'truncated', rawTar(base()).subarray(0, 512 * 5 + 2)],
  ['truncated-before-end-marker', 'truncated', rawTar(base()).subarray(0, 512 * 8 + 100)],
  ['garbage', 'bad_checksum', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7 + 3) % 256)],
];
const sanity = await import('../envelope.ts');
await sanity.parseEnvelope(rawTar(base())); // the base archive itself is canonical
for (const [name, code, bytes] of failures) vector(`envelope-${name}`, { expect: `envelope failure: ${code}`, kind: 'envelope' }, bytes);

// ---- OpenPGP messages ---------------------------------------------------------------------------
const demo = await readKey({ armoredKey: readFileSync(new URL('../../keys.example/newsroom.pub.asc', import.meta.url), 'utf8') });
const v6 = await generateKey({ type: 'curve25519', userIDs: [{ name: 'v6 test' }], format: 'object', config: { v6Keys: true, aeadProtect: true } });
const other = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'source' }], format: 'object' });
const ids = async (...keys: (typeof demo)[]) => (await Promise.all(keys.map(async (k) => (await k.getEncryptionKey()).getKeyID().toHex()))).join(' ');
const plaintext = enc('an envelope would be here');
const v4msg = await encryptToKeys(plaintext, [demo]);
const v6msg = await encryptToKeys(plaintext, [v6.publicKey]);
const pkeskEnd = 2 + v4msg[1]!; // one-octet length: a curve25519 v3 PKESK is short
if (v4msg[0] !== 0xc1 || v4msg[1]! >= 192) throw new Error('expected a new-format PKESK with a one-octet length');
const pkesk = v4msg.subarray(0, pkeskEnd);
const seipd = v4msg.subarray(pkeskEnd);
const v6seipd = v6msg.subarray(2 + v6msg[1]!);
const wildcard = pkesk.slice();
wildcard.fill(0, 3, 11); // v3 PKESK: tag, length, version, then the 8-byte key id

vector('openpgp-v4-demo-key', { expect: 'success', kind: 'openpgp', recipients: await ids(demo), pkesk: 3, seipd: 1 }, v4msg);
vector('openpgp-two-recipients', { expect: 'success', kind: 'openpgp', recipients: await ids(demo, other.publicKey), pkesk: 3, seipd: 1 }, await encryptToKeys(plaintext, [demo, other.publicKey]));
vector('openpgp-v6', { expect: 'success', kind: 'openpgp', recipients: await ids(v6.publicKey), pkesk: 6, seipd: 2 }, v6msg);
const armoredReply = (await encrypt({ message: await createMessage({ text: 'reply' }), encryptionKeys: [demo, other.publicKey] })) as string;
vector('openpgp-armored-reply', { expect: 'success', kind: 'openpgp', armored: 'true', recipients: await ids(demo, other.publicKey), pkesk: 3, seipd: 1 }, armoredReply, 'utf8');

const pgpFailures: [string, string, Uint8Array | string, Headers?][] = [
  ['literal-data', 'no_pkesk', (await createMessage({ binary: plaintext })).write()],
  ['signed-only', 'no_pkesk', (await sign({ message: await createMessage({ binary: plaintext }), signingKeys: other.privateKey, format: 'binary' })) as Uint8Array],
  ['password-only', 'no_pkesk', (await encrypt({ message: await createMessage({ binary: plaintext }), passwords: 'pw', format: 'binary' })) as Uint8Array],
  ['compressed', 'no_pkesk', Uint8Array.of(0xc8, 0x03, 0x00, 0xcb, 0x00)],
  ['no-pkesk', 'no_pkesk', seipd],
  ['no-encrypted-data', 'no_encrypted_data', pkesk],
  ['pkesk-then-compressed', 'bad_packet_sequence', concat(pkesk, Uint8Array.of(0xc8, 0x03, 0x00, 0xcb, 0x00))],
  ['pkesk-then-sed-no-mdc', 'bad_packet_sequence', concat(pkesk, Uint8Array.of(0xc9, 0x20), new Uint8Array(0x20))],
  ['pkesk-then-literal', 'bad_packet_sequence', concat(pkesk, (await createMessage({ binary: plaintext })).write())],
  ['trailing-marker', 'trailing_data', concat(v4msg, Uint8Array.of(0xca, 0x03, 0x50, 0x47, 0x50))],
  ['two-seipd', 'trailing_data', concat(v4msg, seipd)],
  ['pkesk-v3-then-seipd-v2', 'version_mismatch', concat(pkesk, v6seipd)],
  ['seipd-version-3', 'bad_seipd', (() => { const m = v4msg.slice(); m[pkeskEnd + 2] = 3; return m; })()],
  ['pkesk-version-5', 'bad_pkesk', (() => { const m = v4msg.slice(); m[2] = 5; return m; })()],
  ['pkesk-partial-length', 'bad_packet', concat(Uint8Array.of(0xc1, 0xe9), new Uint8Array(512))],
  ['anonymous-recipient', 'anonymous_recipient', concat(wildcard, seipd)],
  ['truncated', 'truncated', v4msg.subarray(0, v4msg.length - 1)],
  ['truncated-header', 'truncated', concat(pkesk, Uint8Array.of(0xd2, 0xff, 0x00))],
  ['garbage', 'not_openpgp', enc('Hello, this is not OpenPGP at all.')],
  ['empty', 'empty', new Uint8Array(0)],
  ['armored-where-binary-expected', 'armored', armoredReply],
  ['armor-bad-checksum', 'bad_armor', armoredReply.replace(/\n=(....)\n/, (_, c: string) => `\n=${c === 'AAAA' ? 'BBBB' : 'AAAA'}\n`), { armored: 'true' }],
  ['armor-text-before', 'bad_armor', `Dear source,\n${armoredReply}`, { armored: 'true' }],
];
for (const [name, code, data, extra] of pgpFailures) {
  vector(`openpgp-${name}`, { expect: `openpgp failure: ${code}`, kind: 'openpgp', ...extra }, data, typeof data === 'string' ? 'utf8' : 'base64');
}
// ---- site manifest ------------------------------------------------------------------------------
writeSiteManifestVectors(vector);
writeUploadDigestVectors(vector);
// ---- replies ------------------------------------------------------------------------------------
await writeReplyVectors(vector);
await writeTipVectors(vector);
// ---- Source reply keys --------------------------------------------------------------------------
// Each case: the two armored texts as JSON; what checkSourceKeys answers, and (public-expect) what
// checkSourcePublicKey answers on the public half. `openpgpjs: untouched`: refused by its shape,
// before OpenPGP.js parsed a packet or verified a signature (the runner counts both).
const keyNow = '2026-01-01T00:00:00.000Z';
const keyPassphrase = 'c'.repeat(64);
const v6newsroom = v6.publicKey;
// the non-canonical MPI case below wants the certification's r to be 249-256 bits (32 bytes)
const rBits = async (pair: KeyPair) => {
  const body = (await packetsOf(pair)).pub[2]!.body;
  return (body[143]! << 8) | body[144]!;
};
let v4pair = await generateSourceKeys(keyPassphrase, demo);
while ((await rBits(v4pair)) <= 248) v4pair = await generateSourceKeys(keyPassphrase, demo);
const v6pair = await generateSourceKeys(keyPassphrase, v6newsroom);
const otherPair = await generateSourceKeys(keyPassphrase, demo);
const edited = async (pair: KeyPair, change: (pub: Packet[], priv: Packet[]) => void): Promise<KeyPair> => {
  const { pub, priv } = await packetsOf(pair);
  change(pub, priv);
  return { publicKey: armorPublic(pub), lockedPrivateKey: armorPrivate(priv) };
};
const withPublic = (publicKey: string): KeyPair => ({ publicKey, lockedPrivateKey: v4pair.lockedPrivateKey });
const rawPublic = (bytes: Uint8Array): KeyPair => withPublic(armor(enums.armor.publicKey, bytes));
const v4bytes = writePackets((await packetsOf(v4pair)).pub);
const v4head = v4bytes.subarray(0, 2); // c6 33: the primary key's header
const v4subkey = (await packetsOf(v4pair)).pub[3]!;
const plainKey = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ ...SOURCE_KEY_USER_ID }], date: SOURCE_KEY_DATE, format: 'armored' });
// (reformatKey locks the key object it is given: a copy of its own)
const resigned = await reformatKey({ privateKey: await readPrivateKey({ armoredKey: plainKey.privateKey }), userIDs: [{ ...SOURCE_KEY_USER_ID }], passphrase: keyPassphrase, date: new Date(keyNow), format: 'object' });
const plainV6 = await generateKey({ type: 'curve25519', userIDs: [{ ...SOURCE_KEY_USER_ID }], date: SOURCE_KEY_DATE, format: 'armored', config: { v6Keys: true, aeadProtect: true } });
const lockByte = (index: number, value: number, which = 0) => (pub: Packet[], priv: Packet[]) => {
  const at = pub[which === 0 ? 0 : pub.findIndex((p) => p.tag === TAGS.publicSubkey)]!.body.length + index;
  const target = which === 0 ? priv[0]! : priv.find((p) => p.tag === TAGS.secretSubkey)!;
  target.body[at] = value;
};
const keyCases: [string, string, KeyPair, string?][] = [
  ['v4', 'success', v4pair],
  ['v6', 'success', v6pair],
  ['dsa-16k-many-signatures', 'bad_key_algorithm', withPublic(dsaKey().publicKey)],
  ['rsa-16k', 'bad_key_algorithm', withPublic(rsaKey(16384))],
  ['ecdsa-p256', 'bad_key_algorithm', await openpgpKey({ type: 'ecc', curve: 'nistP256' })],
  ['v4-ed25519-algorithm-27', 'bad_key_algorithm', await openpgpKey({ type: 'curve25519' })],
  ['v5-primary', 'bad_key_algorithm', await edited(v4pair, (pub) => { pub[0]!.body[0] = 5; })],
  ['eddsa-with-p256-oid', 'bad_key_algorithm', await edited(v4pair, (pub) => {
    const body = pub[0]!.body;
    pub[0]!.body = Uint8Array.from([...body.subarray(0, 6), 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, ...body.subarray(16)]);
  })],
  ['v6-ed448', 'bad_key_algorithm', await openpgpKey({ type: 'curve448', config: { v6Keys: true } })],
  ['v6-rsa', 'bad_key_algorithm', withPublic(v6RsaKey(4096))],
  ['v6-primary-v4-subkey', 'bad_key_algorithm', await edited(v6pair, (pub) => void pub.splice(4, 1, v4subkey))],
  ['many-subkeys', 'bad_key_structure', await openpgpKey({ type: 'ecc', curve: 'curve25519Legacy', subkeys: Array.from({ length: 25 }, () => ({})) })],
  ['many-signatures', 'bad_key_structure', await edited(v4pair, (pub) => void pub.splice(2, 0, ...Array.from({ length: 39 }, () => pub[2]!)))],
  ['v6-many-signatures', 'bad_key_structure', await edited(v6pair, (pub) => void pub.splice(1, 0, ...Array.from({ length: 39 }, () => pub[1]!)))],
  ['two-user-ids', 'bad_key_structure', await edited(v4pair, (pub) => void pub.splice(3, 0, pub[1]!, pub[2]!))],
  ['user-attribute', 'bad_key_structure', await edited(v4pair, (pub) => void pub.splice(3, 0, { tag: TAGS.userAttribute, body: new Uint8Array(40) }))],
  ['trust-packet', 'bad_key_structure', await edited(v4pair, (pub) => void pub.splice(3, 0, { tag: TAGS.trust, body: Uint8Array.of(0, 0) }))],
  ['subkey-before-user-id', 'bad_key_structure', await edited(v4pair, (pub) => void pub.splice(1, 0, ...pub.splice(3, 2)))],
  ['v6-no-direct-key-signature', 'bad_key_structure', await edited(v6pair, (pub) => void pub.splice(1, 1))],
  ['unhashed-subpacket', 'bad_key_structure', await edited(v4pair, (pub) => {
    const body = pub[2]!.body;
    // the issuer key id again, unhashed: the hashed area is 133 bytes from offset 6, the key id at 18
    pub[2]!.body = Uint8Array.from([...body.subarray(0, 139), 0, 10, 9, 16, ...body.subarray(18, 26), ...body.subarray(141)]);
  })],
  ['sha256-signature', 'bad_key_structure', await edited(v4pair, (pub) => { pub[2]!.body[3] = 8; })],
  // the issuer fingerprint is the hashed area's last 20 bytes
  ['wrong-issuer-fingerprint', 'bad_key_structure', await edited(v4pair, (pub) => { pub[2]!.body[138]! ^= 1; })],
  // r's bit count (offset 143) claims 256 bits where there are fewer, or 255 where there are 256
  ['non-canonical-mpi', 'bad_key_structure', await edited(v4pair, (pub) => {
    const body = pub[2]!.body;
    const bits = (body[143]! << 8) | body[144]!;
    [body[143], body[144]] = bits === 256 ? [0, 255] : [1, 0];
  })],
  ['old-format-header', 'bad_key_packets', rawPublic(Uint8Array.from([0x98, v4head[1]!, ...v4bytes.subarray(2)]))],
  ['five-octet-length', 'bad_key_packets', rawPublic(Uint8Array.from([0xc6, 0xff, 0, 0, 0, v4head[1]!, ...v4bytes.subarray(2)]))],
  ['partial-length', 'bad_key_packets', rawPublic(Uint8Array.from([0xc6, 0xe5, ...v4bytes.subarray(2)]))],
  ['truncated', 'bad_key_packets', rawPublic(v4bytes.subarray(0, v4bytes.length - 1))],
  ['dated', 'bad_source_key', await (async () => {
    const k = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ ...SOURCE_KEY_USER_ID }], date: new Date(keyNow), passphrase: keyPassphrase, format: 'armored' });
    return { publicKey: k.publicKey, lockedPrivateKey: k.privateKey };
  })()],
  ['named', 'bad_source_key', await (async () => {
    const k = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Jane', email: 'jane@example.org' }], date: SOURCE_KEY_DATE, passphrase: keyPassphrase, format: 'armored' });
    return { publicKey: k.publicKey, lockedPrivateKey: k.privateKey };
  })()],
  ['resigned-later', 'bad_source_key', { publicKey: resigned.publicKey.armor(), lockedPrivateKey: resigned.privateKey.armor() }],
  ['secret-packet-in-public-block', 'secret_key_material', { publicKey: armor(enums.armor.publicKey, writePackets((await packetsOf(v4pair)).priv)), lockedPrivateKey: v4pair.lockedPrivateKey }],
  ['private-block-as-public', 'secret_key_material', { publicKey: v4pair.lockedPrivateKey, lockedPrivateKey: v4pair.lockedPrivateKey }],
  ['two-keys-one-block', 'not_one_key', withPublic(armor(enums.armor.publicKey, concat(v4bytes, writePackets((await packetsOf(otherPair)).pub))))],
  ['two-blocks', 'not_one_key', withPublic(`${v4pair.publicKey}\n${otherPair.publicKey}`)],
  ['bad-armor-checksum', 'not_a_key', withPublic(v4pair.publicKey.replace(/\n=(....)\n/, (_, c: string) => `\n=${c === 'AAAA' ? 'BBBB' : 'AAAA'}\n`))],
  ['text-not-a-key', 'not_a_key', withPublic('hello')],
  // the same changed certification in both halves: only verifying it finds the change
  ['tampered-certification', 'bad_signature', await edited(v4pair, (pub, priv) => {
    for (const b of [pub[2]!.body, priv[2]!.body]) b[b.length - 1]! ^= 1;
  })],
  ['too-large', 'too_large', { publicKey: v4pair.publicKey, lockedPrivateKey: v4pair.lockedPrivateKey.replace('-----\n\n', `-----\nComment: ${'x'.repeat(17000)}\n\n`) }, 'success'],
  ['unlocked', 'unlocked_private_key', { publicKey: plainKey.publicKey, lockedPrivateKey: plainKey.privateKey }, 'success'],
  ['v6-unlocked', 'unlocked_private_key', { publicKey: plainV6.publicKey, lockedPrivateKey: plainV6.privateKey }, 'success'],
  ['gnu-dummy-stub', 'bad_private_key', await edited(v4pair, (pub, priv) => {
    priv[0]!.body = Uint8Array.from([...pub[0]!.body, 0xfe, 0x09, 0x65, 0x00, 0x47, 0x4e, 0x55, 0x01]);
  }), 'success'],
  ['s2k-count-255', 'bad_private_key', await edited(v4pair, lockByte(12, 0xff)), 'success'],
  ['aes128-lock', 'bad_private_key', await edited(v4pair, lockByte(1, 7, 1)), 'success'],
  ['v6-ocb-lock', 'bad_private_key', await edited(v6pair, lockByte(3, 2)), 'success'],
  ['other-private-key', 'key_mismatch', { publicKey: v4pair.publicKey, lockedPrivateKey: otherPair.lockedPrivateKey }, 'success'],
  ['private-extra-subkey', 'key_mismatch', await edited(v4pair, (_, priv) => void priv.push(priv[3]!, priv[4]!)), 'success'],
  ['public-block-as-private', 'not_a_key', { publicKey: v4pair.publicKey, lockedPrivateKey: v4pair.publicKey }, 'success'],
];
for (const [name, code, pair, publicExpect] of keyCases) {
  const outcome = async (check: Promise<unknown>) => check.then(() => 'success', (e: { code?: string }) => {
    if (!e.code) throw e;
    return `source-keys failure: ${e.code}`;
  });
  const expect = code === 'success' ? 'success' : `source-keys failure: ${code}`;
  const pub = publicExpect === 'success' ? 'success' : expect;
  const got = [await outcome(checkSourceKeys(pair, new Date(keyNow))), await outcome(checkSourcePublicKey(pair.publicKey, new Date(keyNow)))];
  if (got.join() !== [expect, pub].join()) throw new Error(`source-keys-${name}: expected ${expect} / ${pub}, got ${got.join(' / ')}`);
  const headers: Headers = { expect, kind: 'source-keys', 'public-expect': pub, now: keyNow };
  if (code !== 'success' && code !== 'bad_signature') headers.openpgpjs = 'untouched';
  vector(`source-keys-${name}`, headers, JSON.stringify(pair), 'utf8');
}

console.log(`wrote ${readdirSync(dir).filter((f) => !f.includes('.')).length} vectors`);
