/**
 * @module client/build — client/ → client/dist/ (git-ignored): what the server serves at `/`; and
 * client/site-manifest.txt, the SHA-256 of every file in it (protocol/site-manifest.ts).
 *
 * - Page scripts and the stylesheet get `integrity="sha384-…"` in the HTML.
 * - Workers (`/assets/*.worker.js`) and the chunks they import are never run from the server's URL:
 *   the page fetches each, checks its SHA-256 against a table this build writes into the page's
 *   script, and starts the worker from a blob: URL (client/lib/verified-modules.ts). The build
 *   prepares the worker code for that: each lazy `import("./chunks/x.js")` becomes
 *   `__sealdropImport("chunks/x.js")` (checked the same way inside the worker,
 *   client/workers/verified-import.ts), and each static import's specifier is checked to occur
 *   only where the loader rewrites it. The chunks stay split: the first load fetches only what the
 *   workers import statically.
 * - Every page is written once per language, filled with that catalogue's text: `index.html` (English)
 *   and `index.ko.html`, `index.zh.html`, … The server answers `/?lang=ko` with `index.ko.html`
 *   (server/policies/static-pages.ts), so a browser without JavaScript (Tor Browser "Safest") reads
 *   the page, its `<noscript>` notice and the safety advice in the chosen language, and reaches the
 *   other languages by plain links. What only works with the script (the forms, the language
 *   picker, "Loading…") is `hidden data-needs-script` until the script shows it
 *   (client/lib/page.ts): nothing can be typed into a page that would lose it. No inline script or
 *   style anywhere: the CSP is `script-src 'self' blob:; style-src 'self'`.
 * - Deterministic: the same source and lock file give the same bytes, hence the same manifest, which
 *   also names the version, the commit (when built from git) and the CSP the server must send.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { formatSiteManifest, type SiteManifest } from '../protocol/site-manifest.ts';
import { CONTENT_SECURITY_POLICY } from '../server/policies/security-headers.ts';
import { CATALOGUES, LANGUAGES, LANGUAGE_TAGS, type Catalogue, type Language, type MessageKey } from './i18n/index.ts';
import type { ModuleTable } from './lib/verified-modules.ts';

const CLIENT = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(CLIENT);
export const DIST = join(CLIENT, 'dist');
/** Beside the served folder, not in it: a site cannot vouch for itself. */
export const MANIFEST = join(CLIENT, 'site-manifest.txt');
export const PAGES = ['index', 'return', 'safety'] as const;
export type PageName = (typeof PAGES)[number];

/** English keeps the plain name (`/` and a link without `?lang=` serve it); others get `.xx`. */
export function pageFile(page: PageName, language: Language): string {
  return language === 'en' ? `${page}.html` : `${page}.${language}.html`;
}

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

export type BuildResult = { files: Record<string, number>; manifest: SiteManifest };

/**
 * Builds into a fresh folder and swaps it in at the end, so a server (or a parallel test run)
 * reading client/dist never sees a half-written build; the manifest is swapped in after it.
 */
export async function buildClient(): Promise<BuildResult> {
  const staging = `${DIST}.build-${process.pid}-${Date.now()}`;
  try {
    const files = await buildInto(staging);
    const manifest = await manifestOf(staging);
    const old = `${DIST}.old-${process.pid}-${Date.now()}`;
    await rename(DIST, old).catch(() => {});
    await rename(staging, DIST);
    await rm(old, { recursive: true, force: true });
    const manifestStaging = `${MANIFEST}.${process.pid}-${Date.now()}`;
    await writeFile(manifestStaging, formatSiteManifest(manifest));
    await rename(manifestStaging, MANIFEST);
    return { files, manifest };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Builds the site into `outDir` (made if missing); answers each file's size. */
export async function buildInto(outDir: string): Promise<Record<string, number>> {
  const ASSETS = join(outDir, 'assets');
  await mkdir(ASSETS, { recursive: true });

  // Workers are split: OpenPGP.js's rarely needed parts (legacy ciphers, bzip2, argon2, curve
  // code that WebCrypto usually covers) and the metadata cleaners stay in chunks fetched only when
  // a message needs them.
  const workers = await esbuild.build({
    ...common,
    entryPoints: {
      'crypto.worker': join(CLIENT, 'workers', 'crypto.worker.ts'),
      'pow.worker': join(CLIENT, 'workers', 'pow.worker.ts'),
    },
    outdir: ASSETS,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
  });
  const table = await prepareWorkerModules(workers.metafile, ASSETS);

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
    // The worker modules' SHA-256, inside the SRI-checked page script (client/lib/workers.ts).
    define: { __SEALDROP_WORKER_MODULES__: JSON.stringify(table) },
  });

  const partials = {
    header: await readFile(join(CLIENT, 'pages', '_header.html'), 'utf8'),
    tipForm: await readFile(join(CLIENT, 'pages', '_tip-form.html'), 'utf8'),
    footer: await readFile(join(CLIENT, 'pages', '_footer.html'), 'utf8'),
  };
  for (const page of PAGES) {
    const template = await readFile(join(CLIENT, 'pages', `${page}.html`), 'utf8');
    for (const language of LANGUAGES) {
      const html = await renderPage(template, partials, page, language, ASSETS);
      await writeFile(join(outDir, pageFile(page, language)), html);
    }
  }

  const files: Record<string, number> = {};
  for (const f of await listFiles(outDir)) files[f] = (await readFile(join(outDir, f))).length;
  return files;
}

/**
 * Makes the worker code loadable from checked blob: URLs, and returns the table of every worker
 * module (path below /assets/ → SHA-256 and static imports). A specifier the loader could not
 * rewrite exactly, or an import this code does not know how to check, fails the build.
 */
async function prepareWorkerModules(metafile: esbuild.Metafile, assets: string): Promise<ModuleTable> {
  const table: ModuleTable = {};
  const pathOf = (file: string) => relative(assets, resolve(file)).split('\\').join('/');
  for (const [file, output] of Object.entries(metafile.outputs).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const path = pathOf(file);
    if (!path.endsWith('.js')) throw new Error(`unexpected worker output ${path}`);
    let text = await readFile(resolve(file), 'utf8');
    const imports: Record<string, string> = {};
    for (const kind of ['import-statement', 'dynamic-import'] as const) {
      const targets = [...new Set(output.imports.filter((i) => i.kind === kind && !i.external).map((i) => pathOf(i.path)))].sort();
      for (const target of targets) {
        let specifier = posix.relative(posix.dirname(path), target);
        if (!specifier.startsWith('.')) specifier = `./${specifier}`;
        const quoted = JSON.stringify(specifier);
        const everywhere = text.split(quoted).length - 1;
        if (kind === 'import-statement') {
          // The page's loader swaps every "specifier" for its checked blob: URL, so the string must
          // occur only as the source of an import or export statement.
          checkSpecifiers(path, quoted, everywhere, new RegExp(`\\b(?:from|import)\\s*${escapeRegExp(quoted)}`, 'g'), text);
          imports[specifier] = target;
        } else {
          const call = new RegExp(`\\bimport\\(\\s*${escapeRegExp(quoted)}\\s*\\)`, 'g');
          checkSpecifiers(path, quoted, everywhere, call, text);
          text = text.replace(call, `__sealdropImport(${JSON.stringify(target)})`);
        }
      }
      for (const i of output.imports) if (i.external) throw new Error(`${path} imports ${i.path}, which no table vouches for`);
    }
    // Anything still loading code by itself would load it unchecked.
    if (/\bimport\s*\(\s*["'`]|\bimportScripts\s*\(/.test(text)) throw new Error(`${path} loads code the build did not rewrite`);
    await writeFile(resolve(file), text);
    table[path] = { sha256: createHash('sha256').update(text, 'utf8').digest('hex'), imports };
  }
  return table;
}

function checkSpecifiers(path: string, quoted: string, everywhere: number, where: RegExp, text: string): void {
  const there = [...text.matchAll(where)].length;
  if (there === 0 || there !== everywhere) {
    throw new Error(`${path}: ${quoted} occurs ${everywhere} times, ${there} of them where the loader expects it`);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The manifest of a built folder: every file's SHA-256, and what identifies the build. */
export async function manifestOf(dir: string): Promise<SiteManifest> {
  const files = [];
  for (const path of await listFiles(dir)) {
    files.push({ path, sha256: createHash('sha256').update(await readFile(join(dir, path))).digest('hex') });
  }
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return { version: pkg.version, commit: buildCommit(), csp: CONTENT_SECURITY_POLICY, files };
}

/**
 * The commit being built: SEALDROP_COMMIT when set (a Docker build has no .git: pass
 * `--build-arg SEALDROP_COMMIT=$(git rev-parse HEAD)`), else git's HEAD with `+modified` when the
 * tree differs from it, else `unknown`.
 */
function buildCommit(): string {
  const given = process.env.SEALDROP_COMMIT;
  if (given) {
    if (!/^[0-9a-f]{40}$/.test(given)) throw new Error(`SEALDROP_COMMIT must be 40 lower-case hex digits, got ${JSON.stringify(given.slice(0, 60))}`);
    return given;
  }
  try {
    const git = (...args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const head = git('rev-parse', 'HEAD').trim();
    if (!/^[0-9a-f]{40}$/.test(head)) return 'unknown';
    return git('status', '--porcelain').trim() === '' ? head : `${head}+modified`;
  } catch {
    return 'unknown';
  }
}

async function renderPage(
  template: string,
  partials: { header: string; tipForm: string; footer: string },
  page: PageName,
  language: Language,
  assets: string,
): Promise<string> {
  const catalogue = CATALOGUES[language];
  const opening = '<html lang="en" dir="ltr">';
  if (!template.includes(opening)) throw new Error(`${page}.html does not open with ${opening}`);
  let html = template
    .replace(opening, `<html lang="${LANGUAGE_TAGS[language]}" dir="${catalogue.dir}">`)
    .replace('<!-- header -->', partials.header)
    .replace('<!-- tip-form -->', partials.tipForm)
    .replace('<!-- footer -->', partials.footer)
    .replace('<!-- language-options -->', languageOptions(language))
    .replace('<!-- wordlist -->', page === 'index' ? WORDLIST_FIELD : '')
    // Replies on the return page are checked against the same key: its box says so.
    .replace('data-i18n="key_fingerprint_label"', page === 'return' ? 'data-i18n="key_fingerprint_label_return"' : 'data-i18n="key_fingerprint_label"');
  html = fillCatalogue(html, catalogue, language);
  html = localiseLinks(html, page, language);
  // After the links were localised: these name the other languages' pages as they are.
  html = html
    .replace('<!-- language-links -->', languageLinks(page, language))
    .replace('<!-- noscript -->', noscriptBlock(page, catalogue));
  html = await addIntegrity(html, assets);
  if (/<!--/.test(html)) throw new Error(`${page}.html has a placeholder the build did not fill`);
  if (/<script(?![^>]*\bsrc=)/i.test(html) || /\sstyle=|<style/i.test(html)) {
    throw new Error('inline script or style in a page: the CSP would block it');
  }
  if (/(src|href)="(https?:)?\/\//i.test(html)) throw new Error('a page names another origin');
  return html;
}

const WORDLIST_FIELD = `<label for="wordlist" data-i18n="codename_kind_label"></label>
  <select id="wordlist"></select>`;

function languageOptions(current: Language): string {
  return LANGUAGES.map(
    (l) => `<option value="${l}" lang="${LANGUAGE_TAGS[l]}"${l === current ? ' selected' : ''}>${escapeHtml(CATALOGUES[l].lang_name)}</option>`,
  ).join('');
}

/** The path that serves `page` in `language` (what the script's links say too, client/lib/page.ts). */
function pageUrl(page: PageName, language: Language): string {
  const path = page === 'index' ? '/' : `/${page}.html`;
  return language === 'en' ? path : `${path}?lang=${language}`;
}

/**
 * Without JavaScript the picker cannot work: the same page in every language, each named in its
 * own, as plain links (Tor Browser sends one Accept-Language for everyone, so the URL decides).
 */
function languageLinks(page: PageName, current: Language): string {
  const items = LANGUAGES.map((l) => {
    const name = escapeHtml(CATALOGUES[l].lang_name);
    const attrs = `href="${pageUrl(page, l)}" lang="${LANGUAGE_TAGS[l]}" hreflang="${LANGUAGE_TAGS[l]}"`;
    return `<li><a ${attrs}${l === current ? ' aria-current="true"' : ''}>${name}</a></li>`;
  }).join('');
  return `<noscript><ul class="language-links" aria-label="${escapeHtml(CATALOGUES[current].language_label)}">${items}</ul></noscript>`;
}

/**
 * How to set "Safer", in the page's language only, and why JavaScript behind a `<details>` (it
 * opens without a script): a notice shorter than a phone's screen in every language, the other
 * languages a link away (above). The safety page works without the script, so there it says that
 * sending a tip needs it, below the advice.
 */
function noscriptBlock(page: PageName, c: Catalogue): string {
  const title = page === 'safety' ? c.noscript_tip_title : c.noscript_title;
  const e = escapeHtml;
  return (
    `<noscript><section class="noscript" data-testid="noscript"><h2>${e(title)}</h2><p>${e(c.noscript_safer)}</p>` +
    `<details><summary>${e(c.noscript_why_summary)}</summary><p>${e(c.noscript_why)}</p><p>${e(c.noscript_safest)}</p></details></section></noscript>`
  );
}

/**
 * `<x data-i18n="key"></x>` gets the catalogue's text and `data-i18n-aria-label="key"` its
 * aria-label; the script swaps both when another language is picked. A key the catalogue lacks
 * fails the build (no English left in a translated page).
 */
function fillCatalogue(html: string, catalogue: Catalogue, language: Language): string {
  const text = (key: string): string => {
    const value = Object.hasOwn(catalogue, key) ? catalogue[key as MessageKey] : undefined;
    if (typeof value !== 'string' || value === '') throw new Error(`catalogue ${language} has no text for ${key}, which a page uses`);
    return escapeHtml(value);
  };
  return html
    .replace(/(<(\w+)[^>]*\sdata-i18n="(\w+)"[^>]*>)(<\/\2>)/g, (_whole, open: string, _tag, key: string, close: string) => open + text(key) + close)
    .replace(/\sdata-i18n-aria-label="(\w+)"/g, (whole, key: string) => `${whole} aria-label="${text(key)}"`);
}

/** Links between the pages keep the language, and the nav marks the page it is on. */
function localiseLinks(html: string, page: PageName, language: Language): string {
  const here = page === 'index' ? 'submit' : page;
  return html.replace(/<a\b([^>]*?)\shref="(\/|\/(index|return|safety)\.html)"([^>]*)>/g, (_whole, before: string, _href, named: string | undefined, after: string) => {
    const target = (named ?? 'index') as PageName;
    const current = new RegExp(`\\sdata-nav="${here}"`).test(before + after) ? ' aria-current="page"' : '';
    return `<a${before} href="${pageUrl(target, language)}"${after}${current}>`;
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
  const { files, manifest } = await buildClient();
  for (const [name, size] of Object.entries(files)) console.log(`${String(size).padStart(9)}  client/dist/${name}`);
  console.log(`wrote ${relative(process.cwd(), MANIFEST)}: ${manifest.files.length} files, commit ${manifest.commit}`);
  console.log(`  its SHA-256 (publish it with the manifest): ${createHash('sha256').update(formatSiteManifest(manifest)).digest('hex')}`);
}
