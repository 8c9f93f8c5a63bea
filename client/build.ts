/**
 * @module client/build — client/ → client/dist/ (git-ignored): what the server serves at `/`.
 *
 * - Page scripts and the stylesheet get `integrity="sha384-…"` in the HTML.
 * - Workers (`/assets/*.worker.js`) and their lazily imported chunks come from 'self' under the
 *   CSP; browsers have no integrity attribute for a worker's script or its imports. (Fetching the
 *   worker with `integrity` and starting it from a blob: URL was tried: a split worker cannot
 *   resolve its chunk imports from a blob: URL, and an unsplit one weighs 214 KB gzipped.)
 * - The HTML is filled with the English text (what a browser without JavaScript shows) and a
 *   `<noscript>` block in all five languages. No inline script or style anywhere: the CSP is
 *   `script-src 'self'; style-src 'self'`.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { CATALOGUES, LANGUAGES, LANGUAGE_TAGS, type Catalogue, type MessageKey } from './i18n/index.ts';

const CLIENT = dirname(fileURLToPath(import.meta.url));
export const DIST = join(CLIENT, 'dist');
const PAGES = ['index', 'return', 'safety'] as const;

/** Tor Browser follows Firefox ESR; 115 is the oldest ESR still met in the field. */
const TARGET = ['firefox115', 'chrome115', 'safari16'];

const common: esbuild.BuildOptions = {
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: TARGET,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  // One OpenPGP.js for protocol/ and the client: the lightweight entry loads its rarely needed
  // parts (legacy ciphers, bzip2, argon2) only when a message calls for them.
  alias: { openpgp: 'openpgp/lightweight' },
};

export function sri(bytes: Uint8Array): string {
  return 'sha384-' + createHash('sha384').update(bytes).digest('base64');
}

export type BuildResult = { files: Record<string, number> };

/**
 * Builds into a fresh folder and swaps it in at the end, so a server (or a parallel test run)
 * reading client/dist never sees a half-written build.
 */
export async function buildClient(): Promise<BuildResult> {
  const staging = `${DIST}.build-${process.pid}-${Date.now()}`;
  try {
    const files = await buildInto(staging);
    const old = `${DIST}.old-${process.pid}-${Date.now()}`;
    await rename(DIST, old).catch(() => {});
    await rename(staging, DIST);
    await rm(old, { recursive: true, force: true });
    return { files };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function buildInto(outDir: string): Promise<Record<string, number>> {
  const ASSETS = join(outDir, 'assets');
  await mkdir(ASSETS, { recursive: true });

  // Workers are split: OpenPGP.js's rarely needed parts (legacy ciphers, bzip2, argon2, curve
  // code that WebCrypto usually covers) stay in chunks fetched only when a message needs them.
  await esbuild.build({
    ...common,
    entryPoints: {
      'crypto.worker': join(CLIENT, 'workers', 'crypto.worker.ts'),
      'pow.worker': join(CLIENT, 'workers', 'pow.worker.ts'),
    },
    outdir: ASSETS,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  });

  await esbuild.build({
    ...common,
    entryPoints: {
      submit: join(CLIENT, 'submit.ts'),
      return: join(CLIENT, 'return.ts'),
      safety: join(CLIENT, 'safety.ts'),
      main: join(CLIENT, 'styles', 'main.css'),
    },
    outdir: ASSETS,
    // Pages are not split: every script a page runs is named in its HTML with SRI.
    splitting: false,
  });

  const partials = {
    header: await readFile(join(CLIENT, 'pages', '_header.html'), 'utf8'),
    tipForm: await readFile(join(CLIENT, 'pages', '_tip-form.html'), 'utf8'),
  };
  for (const page of PAGES) {
    const template = await readFile(join(CLIENT, 'pages', `${page}.html`), 'utf8');
    const html = await renderPage(template, partials, page === 'index', ASSETS);
    await writeFile(join(outDir, `${page}.html`), html);
  }

  const files: Record<string, number> = {};
  for (const f of await listFiles(outDir)) files[f] = (await readFile(join(outDir, f))).length;
  return files;
}

async function renderPage(
  template: string,
  partials: { header: string; tipForm: string },
  withWordlist: boolean,
  assets: string,
): Promise<string> {
  let html = template
    .replace('<!-- header -->', partials.header)
    .replace('<!-- tip-form -->', partials.tipForm)
    .replace('<!-- noscript -->', noscriptBlock())
    .replace('<!-- language-options -->', languageOptions())
    .replace('<!-- wordlist -->', withWordlist ? WORDLIST_FIELD : '');
  html = fillEnglish(html, CATALOGUES.en);
  html = await addIntegrity(html, assets);
  if (/<script(?![^>]*\bsrc=)/i.test(html) || /\sstyle=|<style/i.test(html)) {
    throw new Error('inline script or style in a page: the CSP would block it');
  }
  if (/(src|href)="(https?:)?\/\//i.test(html)) throw new Error('a page names another origin');
  return html;
}

const WORDLIST_FIELD = `<label for="wordlist" data-i18n="codename_kind_label"></label>
  <select id="wordlist"></select>`;

function languageOptions(): string {
  return LANGUAGES.map(
    (l) => `<option value="${l}" lang="${LANGUAGE_TAGS[l]}">${escapeHtml(CATALOGUES[l].lang_name)}</option>`,
  ).join('');
}

/** Why JavaScript, and how to set "Safer", in every language (the URL's choice cannot be read). */
function noscriptBlock(): string {
  const sections = LANGUAGES.map((l) => {
    const c = CATALOGUES[l];
    return `<section lang="${LANGUAGE_TAGS[l]}" dir="${c.dir}"><h2>${escapeHtml(c.noscript_title)}</h2><p>${escapeHtml(
      c.noscript_why,
    )}</p><p>${escapeHtml(c.noscript_safer)}</p><p>${escapeHtml(c.noscript_safest)}</p></section>`;
  }).join('');
  return `<noscript><div class="noscript">${sections}</div></noscript>`;
}

/** `<x data-i18n="key"></x>` gets the English text; the page swaps it when another language is picked. */
function fillEnglish(html: string, en: Catalogue): string {
  return html.replace(/(<(\w+)[^>]*\sdata-i18n="(\w+)"[^>]*>)(<\/\2>)/g, (_whole, open: string, _tag, key: string, close: string) => {
    if (!(key in en)) throw new Error(`unknown catalogue key ${key} in a page`);
    return open + escapeHtml(en[key as MessageKey]) + close;
  });
}

async function addIntegrity(html: string, assets: string): Promise<string> {
  const refs = [...html.matchAll(/<(script|link)\b[^>]*\s(?:src|href)="\/assets\/([\w.-]+)"[^>]*>/g)];
  for (const [tag, , file] of refs) {
    const integrity = sri(await readFile(join(assets, file!)));
    html = html.replace(tag, tag.replace(/>$/, ` integrity="${integrity}">`));
  }
  return html;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { files } = await buildClient();
  for (const [name, size] of Object.entries(files)) console.log(`${String(size).padStart(9)}  client/dist/${name}`);
}
