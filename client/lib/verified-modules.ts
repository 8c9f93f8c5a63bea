/**
 * @module client/lib/verified-modules — the workers' scripts, checked before they run.
 *
 * Browsers check `integrity` on `<script>` and `<link>` only: a worker's script, and the modules it
 * imports, would run whatever the server sends. So the page never starts a worker from a URL of
 * the server. It fetches each worker script and each module that script imports, compares the
 * SHA-256 of the bytes with the table the build wrote into the page's own script (which the HTML
 * names with SRI), and only then makes a blob: URL of them and starts the worker from it. A module's
 * imports of other modules are pointed at their checked blob: URLs the same way, so the whole graph
 * is checked before any of it runs; the crypto worker loads its lazy parts (the metadata cleaners,
 * OpenPGP.js's rarely needed ciphers) through the same table (`client/workers/verified-import.ts`).
 *
 * Why blob: in the CSP (`worker-src blob:`, `script-src 'self' blob:`) gives nothing away: a blob:
 * URL exists only when a script already running on this page made it, and the only script running
 * here passed SRI. What a blob: URL here holds has passed this check.
 *
 * The digest is computed here (WebCrypto) rather than by `fetch(url, { integrity })`: a failed
 * `integrity` check rejects with the same TypeError as a dropped connection, and the source must be
 * told which of the two happened ("reload" against "this page was tampered with, leave").
 */
import { toHex } from '../../protocol/encoding.ts';

/** What the build knows of one module: its SHA-256 and its static imports (specifier as written → path). */
export type ModuleEntry = { sha256: string; imports: Record<string, string> };
/** Every worker module, by path below /assets/ ("crypto.worker.js", "chunks/strip-X.js"). */
export type ModuleTable = Record<string, ModuleEntry>;

/** A module whose bytes are not the build's: the page must not run and must say so. */
export class ModuleIntegrityError extends Error {
  override name = 'ModuleIntegrityError';
  readonly code = 'code_altered';
  constructor(readonly path: string, detail: string) {
    super(`${path}: ${detail}`);
  }
}

export class VerifiedModules {
  private readonly urls = new Map<string, Promise<string>>();

  /**
   * `base`: the absolute URL of /assets/. `known`: blob: URLs already made for some modules (by the
   * page, handed to a worker), so that a module both load is one module, with one state.
   */
  constructor(
    readonly table: ModuleTable,
    readonly base: string,
    known: Record<string, string> = {},
  ) {
    for (const [path, url] of Object.entries(known)) {
      if (table[path] && url.startsWith('blob:')) this.urls.set(path, Promise.resolve(url));
    }
  }

  /** The blob: URL of `path` and its imports, fetched and checked once. */
  url(path: string): Promise<string> {
    let url = this.urls.get(path);
    if (!url) {
      url = this.load(path);
      this.urls.set(path, url);
      // A connection that dropped may come back: the next call fetches again.
      url.catch(() => this.urls.delete(path));
    }
    return url;
  }

  /** Every blob: URL made so far, for a worker this page starts. */
  async loaded(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [path, url] of this.urls) {
      const made = await url.catch(() => undefined);
      if (made) out[path] = made;
    }
    return out;
  }

  private async load(path: string): Promise<string> {
    const entry = Object.hasOwn(this.table, path) ? this.table[path] : undefined;
    if (!entry) throw new ModuleIntegrityError(path, 'not a module of this build');
    // 'same-origin': on the page's own connections (client/lib/api.ts says why)
    const response = await fetch(new URL(path, this.base), { credentials: 'same-origin', redirect: 'error', cache: 'no-store' });
    if (!response.ok) throw new Error(`${path}: the server answered ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const digest = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
    if (digest !== entry.sha256) throw new ModuleIntegrityError(path, `SHA-256 ${digest}, the build made ${entry.sha256}`);
    let text = new TextDecoder().decode(bytes);
    const imports = Object.entries(entry.imports);
    const targets = await Promise.all(imports.map(([, dependency]) => this.url(dependency)));
    // The build checked that each specifier occurs in this module only as the string of an
    // import or export statement, in double quotes (client/build.ts, `checkSpecifiers`).
    imports.forEach(([specifier], i) => {
      text = text.split(JSON.stringify(specifier)).join(JSON.stringify(targets[i]));
    });
    return URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
  }
}
