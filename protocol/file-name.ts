/**
 * @module protocol/file-name — file names that are safe to write on the editor's machine (Linux,
 * macOS, Windows) and cannot pretend to be something else (directory parts, bidi overrides).
 */
import { utf8Encode } from './encoding.ts';
import { MAX_FILE_NAME_BYTES } from './limits.ts';

// C0, DEL, C1 controls, Windows-reserved characters, bidi controls (the "gpj.exe" trick), lone surrogates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f/\\:*?"<>|\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu;
// Windows also reserves COM¹–³ / LPT¹–³ (superscript digits) and the console names CONIN$ / CONOUT$.
const DEVICE = /^(con|prn|aux|nul|com[1-9¹²³]|lpt[1-9¹²³]|conin\$|conout\$)$/i;
const MAX_EXTENSION_BYTES = 32;

const byteLength = (s: string) => utf8Encode(s).length;

/** Longest prefix of `s` of at most `max` UTF-8 bytes, cut between code points. */
function cutBytes(s: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const c of s) {
    const n = byteLength(c);
    if (bytes + n > max) break;
    out += c;
    bytes += n;
  }
  return out;
}

const trimEnds = (s: string) => s.replace(/^[.\s]+/u, '').replace(/[.\s]+$/u, '');

function splitExtension(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || byteLength(name.slice(dot)) > MAX_EXTENSION_BYTES) return [name, ''];
  return [name.slice(0, dot), name.slice(dot)];
}

/** `base` + `suffix` + `ext` within MAX_FILE_NAME_BYTES, cutting the base first. */
function fit(base: string, suffix: string, ext: string): string {
  const room = MAX_FILE_NAME_BYTES - byteLength(suffix) - byteLength(ext);
  const cut = trimEnds(cutBytes(base, Math.max(0, room)));
  return (cut === '' && ext === '' ? 'file' : cut) + suffix + ext;
}

/** Case-folded key used for duplicates: macOS and Windows file systems ignore case. */
export const fileNameKey = (name: string) => name.normalize('NFC').toLowerCase();

/**
 * NFC; directory parts dropped; unsafe characters → `_`; no leading or trailing dots and spaces;
 * Windows device names prefixed with `_`; at most MAX_FILE_NAME_BYTES UTF-8 bytes keeping the
 * extension; ` (2)`, ` (3)`… when the name's key is already in `taken`; empty → `file`.
 * Adds the chosen name's key to `taken`. Idempotent on its own output.
 */
export function safeFileName(name: string, taken: Set<string>): string {
  let s = String(name).normalize('NFC');
  s = s.split(/[/\\]/).pop() ?? '';
  s = trimEnds(s.replace(UNSAFE, '_'));
  const [rawBase, rawExt] = splitExtension(s);
  let base = rawBase;
  if (DEVICE.test(base.split('.')[0]!.trim())) base = '_' + base;
  const ext = rawExt;
  let candidate = fit(base, '', ext);
  for (let n = 2; taken.has(fileNameKey(candidate)); n++) candidate = fit(base, ` (${n})`, ext);
  taken.add(fileNameKey(candidate));
  return candidate;
}
