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
 * - The HTML is filled with the English text (what a browser without JavaScript shows) and a
 *   `<noscript>` block in all five languages. No inline script or style anywhere: the CSP is
 *   `script-src 'self' blob:; style-src 'self'`.
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
import { CATALOGUES, LANGUAGES, LANGUAGE_TAGS, type Catalogue, type MessageKey } from './i18n/index.ts';
import type { ModuleTable } from './lib/verified-modules.ts';

const CLIENT = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(CLIENT);
export const DIST = join(CLIENT, 'dist');
/** Beside the served folder, not in it: a site cannot vouch for itself. */
export const MANIFEST = join(CLIENT, 'site-manifest.txt');
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
  const { files, manifest } = await buildClient();
  for (const [name, size] of Object.entries(files)) console.log(`${String(size).padStart(9)}  client/dist/${name}`);
  console.log(`wrote ${relative(process.cwd(), MANIFEST)}: ${manifest.files.length} files, commit ${manifest.commit}`);
  console.log(`  its SHA-256 (publish it with the manifest): ${createHash('sha256').update(formatSiteManifest(manifest)).digest('hex')}`);
}
