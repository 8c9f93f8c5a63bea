import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatSiteManifest, parseSiteManifest } from '../protocol/site-manifest.ts';
import { CONTENT_SECURITY_POLICY } from '../server/policies/security-headers.ts';
import { buildInto, DIST, MANIFEST, manifestOf, PAGES as PAGE_NAMES, pageFile } from './build.ts';
import { CATALOGUES, LANGUAGES, LANGUAGE_TAGS, type Language, type MessageKey } from './i18n/index.ts';
import type { ModuleTable } from './lib/verified-modules.ts';

/** Every page in every language: index.html, index.ko.html, … */
const PAGES = PAGE_NAMES.flatMap((page) => LANGUAGES.map((language) => pageFile(page, language)));
const LANGUAGE_PAGES = PAGE_NAMES.flatMap((page) => LANGUAGES.map((language) => [pageFile(page, language), page, language] as const));
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

  it('writes each of the three pages in each of the five languages', () => {
    expect(PAGES).toHaveLength(15);
    for (const f of PAGES) expect(files[f], f).toBeGreaterThan(0);
    expect(Object.keys(files).filter((f) => f.endsWith('.html')).sort()).toEqual([...PAGES].sort());
  });

  it.each(LANGUAGE_PAGES)('%s is written in its language, with no text left from another catalogue', async (file, _page, language) => {
    const html = await readFile(join(DIST, file), 'utf8');
    const catalogue = CATALOGUES[language];
    expect(html).toContain(`<html lang="${LANGUAGE_TAGS[language]}" dir="${catalogue.dir}">`);
    const elements = [...html.matchAll(/<(\w+)[^>]*\sdata-i18n="(\w+)"[^>]*>([^<]*)<\/\1>/g)];
    expect(elements.length).toBeGreaterThan(5);
    expect(html.match(/\sdata-i18n="/g)).toHaveLength(elements.length); // none left unfilled or nested
    for (const [tag, , key, text] of elements) {
      expect(Object.hasOwn(catalogue, key!), `${language} has ${key}`).toBe(true);
      expect(unescapeHtml(text!), tag).toBe(catalogue[key as MessageKey]);
      expect(text, tag).not.toBe('');
    }
    const labels = [...html.matchAll(/\sdata-i18n-aria-label="(\w+)" aria-label="([^"]*)"/g)];
    expect(labels.length).toBe(html.match(/data-i18n-aria-label=/g)?.length ?? 0);
    for (const [, key, text] of labels) expect(unescapeHtml(text!)).toBe(catalogue[key as MessageKey]);
    if (language !== 'en') {
      // No English sentence where this language has its own: every English text of a key this
      // catalogue translates is absent from the page.
      for (const key of Object.keys(CATALOGUES.en) as MessageKey[]) {
        const english = CATALOGUES.en[key];
        if (english !== catalogue[key] && english.length > 12) expect(unescapeHtml(html), key).not.toContain(english);
      }
    }
  });

  it.each(LANGUAGE_PAGES)('%s explains, without JavaScript and in its language only, how to set "Safer", and links the others', async (file, page, language) => {
    const html = await readFile(join(DIST, file), 'utf8');
    const blocks = [...html.matchAll(/<noscript>([\s\S]*?)<\/noscript>/g)].map((m) => unescapeHtml(m[1]!));
    expect(blocks).toHaveLength(2);
    const [links, notice] = blocks as [string, string];
    const c = CATALOGUES[language];
    expect(notice).toContain(page === 'safety' ? c.noscript_tip_title : c.noscript_title);
    for (const key of ['noscript_why', 'noscript_safer', 'noscript_safest'] as const) expect(notice, key).toContain(c[key]);
    for (const other of LANGUAGES.filter((l) => l !== language)) expect(notice, other).not.toContain(CATALOGUES[other].noscript_safer);
    // the same page in every language, each named in its own, by a plain link
    const path = page === 'index' ? '/' : `/${page}.html`;
    for (const l of LANGUAGES) {
      const href = l === 'en' ? path : `${path}?lang=${l}`;
      expect(links, l).toContain(`<a href="${href}" lang="${LANGUAGE_TAGS[l]}" hreflang="${LANGUAGE_TAGS[l]}"${l === language ? ' aria-current="true"' : ''}>${CATALOGUES[l].lang_name}</a>`);
    }
  });

  it.each(LANGUAGE_PAGES)('%s keeps its language in every link between the pages', async (file, _page, language) => {
    const html = await readFile(join(DIST, file), 'utf8');
    const outside = html.replace(/<noscript>[\s\S]*?<\/noscript>/g, '');
    const hrefs = [...outside.matchAll(/<a\b[^>]*\shref="([^"]*)"/g)].map((m) => m[1]!);
    expect(hrefs.length).toBeGreaterThanOrEqual(4);
    for (const href of hrefs) expect(href).toMatch(language === 'en' ? /^\/(?:return\.html|safety\.html)?$/ : new RegExp(`^/(?:return\\.html|safety\\.html)?\\?lang=${language}$`));
    expect(outside.match(/aria-current="page"/g)).toHaveLength(1);
  });

  it.each(LANGUAGE_PAGES)('%s hides what needs the script (forms, picker, "Loading…") until it runs', async (file, page) => {
    const html = await readFile(join(DIST, file), 'utf8');
    const needsScript = (id: string) => new RegExp(`<\\w+ id="${id}"[^>]*\\shidden data-needs-script>`).test(html);
    expect(needsScript('language'), 'the picker').toBe(false); // its box is hidden instead:
    expect(html).toMatch(/<div class="language" hidden data-needs-script>/);
    for (const form of html.match(/<form\b[^>]*>/g) ?? []) expect(form).toMatch(/\shidden data-needs-script>$/);
    expect(html.match(/<form\b/g)?.length ?? 0).toBe(page === 'safety' ? 0 : page === 'index' ? 1 : 2);
    if (page === 'index') expect(needsScript('status-line')).toBe(true);
  });

  it('lays out with logical properties only, so a right-to-left catalogue needs nothing else', async () => {
    const css = await readFile(join(DIST, 'assets', 'main.css'), 'utf8');
    expect(css).not.toMatch(/(margin|padding|border)-(left|right)|[{;]\s*(left|right)\s*:|float\s*:|text-align\s*:\s*(left|right)/);
  });

  it('keeps typed text out of the browser\'s form history', async () => {
    for (const page of PAGES) {
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

function unescapeHtml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** The worker module table the build wrote into a page script (client/lib/workers.ts reads it). */
async function tableIn(script: string): Promise<ModuleTable> {
  const js = await readFile(join(DIST, 'assets', script), 'utf8');
  // An object literal whose first key is a worker module path (sorted: a chunk, or a worker).
  const start = js.search(/\{"(?:chunks\/[\w.-]+|[\w.-]+\.worker)\.js":\{sha256:/);
  expect(start, `${script} holds the module table`).toBeGreaterThan(0);
  let depth = 0;
  let end = start;
  for (; end < js.length; end++) {
    if (js[end] === '{') depth++;
    if (js[end] === '}' && --depth === 0) break;
  }
  const literal = js.slice(start, end + 1).replace(/([{,])([A-Za-z_$][\w$]*):/g, '$1"$2":');
  return JSON.parse(literal) as ModuleTable;
}

describe('the worker modules, checked by the page before they run', () => {
  it.each(['submit.js', 'return.js'])('%s holds the SHA-256 of every worker module, and every static import of each', async (script) => {
    const table = await tableIn(script);
    const workerFiles = Object.keys(files).filter((f) => f.startsWith('assets/') && (f.endsWith('.worker.js') || f.startsWith('assets/chunks/')));
    expect(Object.keys(table).map((p) => `assets/${p}`).sort()).toEqual(workerFiles.sort());
    for (const [path, entry] of Object.entries(table)) {
      const text = await readFile(join(DIST, 'assets', path), 'utf8');
      expect(entry.sha256, path).toBe(sha256(text));
      const written = [...text.matchAll(/\b(?:from|import)\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]!);
      expect(Object.keys(entry.imports).sort(), path).toEqual([...new Set(written)].sort());
      for (const target of Object.values(entry.imports)) expect(table[target], `${path} → ${target}`).toBeDefined();
    }
  });

  it('leaves no lazy import in the worker code that the checked loader does not handle', async () => {
    const table = await tableIn('submit.js');
    let lazy = 0;
    for (const path of Object.keys(table)) {
      const text = await readFile(join(DIST, 'assets', path), 'utf8');
      expect(text, path).not.toMatch(/\bimport\s*\(\s*["'`]|importScripts/);
      for (const [, target] of text.matchAll(/__sealdropImport\("([^"]+)"\)/g)) {
        expect(table[target!], `${path} → ${target}`).toBeDefined();
        lazy++;
      }
    }
    // the cleaners and OpenPGP.js's rare parts stay lazy
    expect(lazy).toBeGreaterThanOrEqual(2);
  });
});

describe('the site manifest (client/site-manifest.txt)', () => {
  it('lists every file the build serves with its SHA-256, the CSP, the version and the commit', async () => {
    const text = await readFile(MANIFEST, 'utf8');
    const manifest = parseSiteManifest(text);
    expect(manifest.files.map((f) => f.path)).toEqual(Object.keys(files).sort());
    for (const page of PAGES) expect(manifest.files.some((f) => f.path === page), page).toBe(true);
    for (const { path, sha256: hash } of manifest.files) expect(hash, path).toBe(sha256(await readFile(join(DIST, path))));
    expect(manifest.csp).toBe(CONTENT_SECURITY_POLICY);
    expect(manifest.version).toBe(JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')).version);
    expect(manifest.commit).toMatch(/^(?:[0-9a-f]{40}(?:\+modified)?|unknown)$/);
  });

  it('is checked by GNU sha256sum -c in the built folder as it stands', async () => {
    const r = spawnSync('sha256sum', ['--check', '--strict', MANIFEST], { cwd: DIST, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(Object.keys(files).length);
  });

  it('comes out the same from another build of the same tree: the build is deterministic', async () => {
    const again = await mkdtemp(join(tmpdir(), 'sealdrop-build-'));
    try {
      await buildInto(again);
      const rebuilt = formatSiteManifest(await manifestOf(again));
      expect(rebuilt).toBe(formatSiteManifest(await manifestOf(DIST)));
    } finally {
      await rm(again, { recursive: true, force: true });
    }
  }, 120_000);
});
