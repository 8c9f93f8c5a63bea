/** Which files the inbox marks risky (cli/risk.ts): by their bytes first, the sender's name and type after. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessFile } from './risk.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealdrop-risk-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function kindOf(bytes: Uint8Array | string, name: string, type = 'application/octet-stream'): Promise<string | null> {
  const path = join(dir, `f${Math.random().toString(36).slice(2)}`);
  await writeFile(path, bytes);
  return (await assessFile(path, name, type))?.kind ?? null;
}

const zip = (...names: string[]) => Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(26), ...names.map((n) => Buffer.from(n))]);

describe('assessFile', () => {
  it('marks programs by their bytes, whatever they are called', async () => {
    expect(await kindOf('MZ\x90\x00', 'holiday.jpg', 'image/jpeg')).toBe('program');
    expect(await kindOf('\x7fELF\x02\x01', 'notes.txt', 'text/plain')).toBe('program');
    expect(await kindOf('#!/bin/sh\nrm -rf ~\n', 'readme', 'text/plain')).toBe('program');
    expect(await kindOf(Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 0, 0]), 'a', 'application/octet-stream')).toBe('program');
    expect(await kindOf('just text', 'setup.exe')).toBe('program');
  });

  it('marks a PDF with JavaScript, launch actions or attachments, even one marker cut across a chunk edge', async () => {
    expect(await kindOf('%PDF-1.7\n<< /S /JavaScript /JS (x) >>', 'a.pdf', 'application/pdf')).toBe('pdf-script');
    expect(await kindOf('%PDF-1.7\n<< /Launch << /F (cmd.exe) >> >>', 'a.pdf', 'application/pdf')).toBe('pdf-script');
    expect(await kindOf('%PDF-1.7\n<< /JSON 1 >> /Type /Page', 'a.pdf', 'application/pdf')).toBe(null);
    const padded = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(1024 * 1024 - 9 - 5, 0x20), Buffer.from('/JavaScript')]);
    expect(await kindOf(padded, 'big.pdf', 'application/pdf')).toBe('pdf-script');
  });

  it('tells an Office document with macros from one without, and both from an archive', async () => {
    expect(await kindOf(zip('[Content_Types].xml', 'word/document.xml', 'word/vbaProject.bin'), 'report.docx')).toBe('macros');
    expect(await kindOf(zip('[Content_Types].xml', 'word/document.xml'), 'report.docx')).toBe(null);
    expect(await kindOf(zip('[Content_Types].xml', 'word/document.xml'), 'report.docm')).toBe('macros');
    expect(await kindOf(zip('photos/a.jpg'), 'report.docx')).toBe('archive');
    expect(await kindOf(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), 'old.doc')).toBe('office');
  });

  it('marks archives, SVG and web pages; leaves plain files unmarked', async () => {
    expect(await kindOf(Buffer.from([0x1f, 0x8b, 8, 0]), 'x.bin')).toBe('archive');
    expect(await kindOf(Buffer.from('Rar!\x1a\x07'), 'x')).toBe('archive');
    expect(await kindOf('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 'logo.png', 'image/png')).toBe('script-image');
    expect(await kindOf('<!DOCTYPE html><script>x</script>', 'page.txt', 'text/plain')).toBe('web-page');
    expect(await kindOf('Dear editor, the numbers are below.', 'letter.txt', 'text/plain')).toBe(null);
    expect(await kindOf(Buffer.from([0xff, 0xd8, 0xff, 0xd9]), 'photo.jpg', 'image/jpeg')).toBe(null);
  });
});
