/**
 * @module cli/risk — which files of a tip are risky to open (issue 14): programs, scripts, Office
 * documents that can hold macros, PDFs with JavaScript or launch actions, archives (whose content
 * nothing here has looked at), SVG and HTML (scripts). Judged from the bytes as well as from the
 * name and type the sender chose, since both of those are the sender's to fake. A file with no
 * mark is not "safe": docs/OPERATIONS.md "Opening files" says how every file is opened.
 */

import { open, type FileHandle } from 'node:fs/promises';

export type RiskKind = 'program' | 'macros' | 'pdf-script' | 'archive' | 'script-image' | 'web-page' | 'office';

export interface FileRisk {
  kind: RiskKind;
  /** one line for the editor, in English (the newsroom's working language) */
  reason: string;
}

const PROGRAM_EXT = /\.(exe|com|scr|pif|dll|sys|msi|msix|appx|bat|cmd|ps1|psm1|vbs|vbe|js|jse|wsf|wsh|hta|lnk|jar|apk|app|dmg|pkg|deb|rpm|sh|bash|zsh|command|py|pl|rb|elf|bin|run|cpl|reg|scf|url|desktop|iso|img)$/i;
const MACRO_EXT = /\.(docm|dotm|xlsm|xltm|xlsb|xlam|pptm|potm|ppam|ppsm|sldm)$/i;
const OLD_OFFICE_EXT = /\.(doc|dot|xls|xlt|xla|ppt|pot|pps|rtf)$/i;
const ARCHIVE_EXT = /\.(zip|rar|7z|tar|gz|tgz|bz2|tbz2|xz|txz|zst|lz|lzma|cab|arj|ace)$/i;
const WEB_EXT = /\.(html?|xhtml|mht|mhtml|svgz?|xml|xsl)$/i;

const SCAN_CHUNK = 1024 * 1024;

/** Looks at the file at `path` (named `name`, of media type `type` by the sender's word). */
export async function assessFile(path: string, name: string, type: string): Promise<FileRisk | null> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(512);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const start = head.subarray(0, bytesRead);
    const text = latin1(start).trimStart().toLowerCase();

    if (startsWith(start, [0x4d, 0x5a]) || startsWith(start, [0x7f, 0x45, 0x4c, 0x46]) || isMachO(start) || text.startsWith('#!')) {
      return { kind: 'program', reason: 'a program: it runs code when opened' };
    }
    if (startsWith(start, [0x25, 0x50, 0x44, 0x46]) || /pdf/i.test(type) || /\.pdf$/i.test(name)) {
      const marker = await scanFor(handle, /(\/(?:JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA))(?![A-Za-z0-9])/);
      if (marker) return { kind: 'pdf-script', reason: `a PDF with ${marker}: it can run scripts or start programs` };
      return null;
    }
    if (startsWith(start, [0x50, 0x4b, 0x03, 0x04]) || startsWith(start, [0x50, 0x4b, 0x05, 0x06])) {
      // ZIP: an Office document (OOXML, names in the clear in the central directory) or an archive.
      if ((await scanFor(handle, /vbaProject\.bin/)) || MACRO_EXT.test(name)) {
        return { kind: 'macros', reason: 'an Office document with macros (vbaProject.bin)' };
      }
      if (await scanFor(handle, /\[Content_Types\]\.xml/)) return null;
      return { kind: 'archive', reason: 'a ZIP archive: what it holds has not been looked at' };
    }
    if (startsWith(start, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]) || OLD_OFFICE_EXT.test(name) || text.startsWith('{\\rtf')) {
      return { kind: 'office', reason: 'an old Office or RTF document: it can hold macros or exploits' };
    }
    if (
      startsWith(start, [0x52, 0x61, 0x72, 0x21]) || startsWith(start, [0x37, 0x7a, 0xbc, 0xaf]) || startsWith(start, [0x1f, 0x8b]) ||
      startsWith(start, [0x42, 0x5a, 0x68]) || startsWith(start, [0xfd, 0x37, 0x7a, 0x58, 0x5a]) || startsWith(start, [0x28, 0xb5, 0x2f, 0xfd]) ||
      latin1(head.subarray(257, 262)) === 'ustar' || ARCHIVE_EXT.test(name)
    ) {
      return { kind: 'archive', reason: 'an archive: what it holds has not been looked at' };
    }
    if (/svg/i.test(type) || /\.svgz?$/i.test(name) || /<svg[\s>]/.test(text)) {
      return { kind: 'script-image', reason: 'an SVG image: it can hold scripts and links' };
    }
    if (/html|xml|javascript/i.test(type) || WEB_EXT.test(name) || /^<(!doctype|html|script|\?xml)/.test(text)) {
      return { kind: 'web-page', reason: 'a web page or script: it can run code and load things from the network' };
    }
    if (PROGRAM_EXT.test(name) || MACRO_EXT.test(name)) {
      return MACRO_EXT.test(name)
        ? { kind: 'macros', reason: 'named as an Office document with macros' }
        : { kind: 'program', reason: 'named as a program or script: it may run code when opened' };
    }
    return null;
  } finally {
    await handle.close();
  }
}

/**
 * The first match of `pattern` (over the file read as latin1) in the file, streaming over it with
 * an overlap of `overlap` bytes between chunks so a marker cut in two is still seen.
 */
async function scanFor(handle: FileHandle, pattern: RegExp, overlap = 64): Promise<string | undefined> {
  const buffer = Buffer.alloc(SCAN_CHUNK + overlap);
  let carry = 0;
  let position = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, carry, SCAN_CHUNK, position);
    if (bytesRead === 0) return undefined;
    position += bytesRead;
    const window = buffer.subarray(0, carry + bytesRead);
    const match = pattern.exec(window.toString('latin1'));
    if (match) return match[1] ?? match[0];
    carry = Math.min(overlap, window.length);
    window.copy(buffer, 0, window.length - carry);
  }
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

function isMachO(bytes: Uint8Array): boolean {
  const magic = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  return [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic);
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
