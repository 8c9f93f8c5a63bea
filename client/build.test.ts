import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DIST } from './build.ts';
import { CATALOGUES, LANGUAGES } from './i18n/index.ts';

const PAGES = ['index.html', 'return.html', 'safety.html'];
let files: Record<string, number>;

// test/global-setup.ts built client/dist before any test; rebuilding here would swap the folder
// under the browser stories running beside this file.
beforeAll(async () => {
  files = {};
  for (const f of await readdir(DIST, { recursive: true })) {
    const bytes = await readFile(join(DIST, String(f))).catch(() => undefined);
    if (bytes) files[String(f)] = bytes.length;
  }
});

describe('client build', () => {
  it('writes the three pages, their scripts, the stylesheet and the two workers', () => {
    for (const f of [...PAGES, 'assets/main.css', 'assets/submit.js', 'assets/return.js', 'assets/safety.js', 'assets/crypto.worker.js', 'assets/pow.worker.js']) {
      expect(files[f], f).toBeGreaterThan(0);
    }
  });

  it.each(PAGES)('%s names every script and stylesheet with a correct sha384 integrity', async (page) => {
    const html = await readFile(join(DIST, page), 'utf8');
    const tags = [...html.matchAll(/<(script|link)\b[^>]*>/g)].map((m) => m[0]);
    const assets = tags.filter((t) => /(src|href)="\/assets\//.test(t));
    expect(assets.length).toBe(2);
    for (const tag of assets) {
      const file = /(?:src|href)="\/assets\/([^"]+)"/.exec(tag)![1]!;
      const integrity = /integrity="([^"]+)"/.exec(tag)?.[1];
      const expected = 'sha384-' + createHash('sha384').update(await readFile(join(DIST, 'assets', file))).digest('base64');
      expect(integrity, tag).toBe(expected);
    }
  });

  it.each(PAGES)('%s has no inline script or style and names no other origin', async (page) => {
    const html = await readFile(join(DIST, page), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).not.toMatch(/(src|href|action)="(https?:)?\/\//i);
  });

  it.each(PAGES)('%s explains, without JavaScript and in all five languages, how to set "Safer"', async (page) => {
    const html = await readFile(join(DIST, page), 'utf8');
    const noscript = /<noscript>([\s\S]*?)<\/noscript>/.exec(html)?.[1] ?? '';
    for (const lang of LANGUAGES) {
      const safer = CATALOGUES[lang].noscript_safer.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
      expect(noscript, lang).toContain(safer);
    }
  });

  it('lays out with logical properties only, so a right-to-left catalogue needs nothing else', async () => {
    const css = await readFile(join(DIST, 'assets', 'main.css'), 'utf8');
    expect(css).not.toMatch(/(margin|padding|border)-(left|right)|[{;]\s*(left|right)\s*:|float\s*:|text-align\s*:\s*(left|right)/);
  });

  it('keeps typed text out of the browser\'s form history', async () => {
    for (const page of ['index.html', 'return.html']) {
      const html = await readFile(join(DIST, page), 'utf8');
      for (const form of html.match(/<form\b[^>]*>/g) ?? []) expect(form, page).toContain('autocomplete="off"');
    }
  });

  it('ships no source maps and no file from another origin', async () => {
    const all = await readdir(join(DIST, 'assets'), { recursive: true });
    expect(all.filter((f) => String(f).endsWith('.map'))).toEqual([]);
    for (const f of all.filter((f) => String(f).endsWith('.js'))) {
      const js = await readFile(join(DIST, 'assets', String(f)), 'utf8');
      expect(js, String(f)).not.toMatch(/sourceMappingURL|https?:\/\/(?!www\.w3\.org|openpgpjs\.org|github\.com)[a-z0-9.-]+\/[^"'\s]*\.(js|css|woff2?)/i);
    }
  });
});
