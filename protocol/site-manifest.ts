/**
 * @module protocol/site-manifest — the list of every file the source listener serves, with its
 * SHA-256, as `npm run build` writes it and `sealdrop check-site` reads it (PROTOCOL.md, "Site
 * manifest"). The newsroom publishes it on its own public site beside the key fingerprint, so
 * anyone can check that the onion serves the pages that were built, and nothing else.
 *
 * The text is `sha256sum` output with `#` lines above it (GNU `sha256sum -c` skips them), so an
 * operator can also check a build folder with stock tools. One canonical form: a reader re-writes
 * what it parsed and compares, so two manifests of one build are the same bytes.
 */

export const SITE_MANIFEST_VERSION = 1;

export type SiteManifest = {
  /** The program's version (package.json). */
  version: string;
  /** The git commit built: 40 hex digits, `+modified` when the tree had changes; or `unknown`. */
  commit: string;
  /** The Content-Security-Policy every response must carry. */
  csp: string;
  /** Sorted by path (code unit order), unique. Paths are relative to the site's root, without a leading '/'. */
  files: { path: string; sha256: string }[];
};

export class SiteManifestError extends Error {
  override name = 'SiteManifestError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const FIRST_LINE = `# sealdrop site manifest ${SITE_MANIFEST_VERSION}`;
const VERSION = /^[0-9A-Za-z.+-]{1,64}$/;
const COMMIT = /^(?:[0-9a-f]{40}(?:\+modified)?|unknown)$/;
/** Printable ASCII, no line break: what a header value may hold. */
const HEADER_VALUE = /^[\x20-\x7e]{1,4096}$/;
/** Segments of letters, digits, '.', '_', '-'; none of them '.' or '..'. */
const PATH = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._-]{1,128}(?:\/[A-Za-z0-9._-]{1,128}){0,7}$/;
const FILE_LINE = /^([0-9a-f]{64}) {2}(.+)$/;
const MAX_FILES = 4096;

export function isSitePath(path: string): boolean {
  return PATH.test(path);
}

function fail(code: string, message: string): never {
  throw new SiteManifestError(code, message);
}

function check(manifest: SiteManifest): void {
  if (!VERSION.test(manifest.version)) fail('bad_version', `expected a version such as 0.1.0, got ${JSON.stringify(manifest.version.slice(0, 80))}`);
  if (!COMMIT.test(manifest.commit)) fail('bad_commit', `expected a commit of 40 lower-case hex digits (optionally +modified) or "unknown", got ${JSON.stringify(manifest.commit.slice(0, 80))}`);
  if (!HEADER_VALUE.test(manifest.csp)) fail('bad_csp', 'expected a Content-Security-Policy of printable ASCII on one line');
  if (manifest.files.length === 0) fail('no_files', 'expected at least one file');
  if (manifest.files.length > MAX_FILES) fail('too_many_files', `expected at most ${MAX_FILES} files, got ${manifest.files.length}`);
  manifest.files.forEach(({ path, sha256 }, i) => {
    if (!isSitePath(path)) fail('bad_path', `expected a relative path of letters, digits, ".", "_" and "-", got ${JSON.stringify(path.slice(0, 200))}`);
    if (!/^[0-9a-f]{64}$/.test(sha256)) fail('bad_sha256', `expected 64 lower-case hex digits for ${path}`);
    const previous = manifest.files[i - 1]?.path;
    if (previous !== undefined && !(previous < path)) {
      fail(previous === path ? 'duplicate_path' : 'unsorted', `expected the files sorted by path, each once: ${JSON.stringify(path)} comes after ${JSON.stringify(previous)}`);
    }
  });
}

export function formatSiteManifest(manifest: SiteManifest): string {
  check(manifest);
  return [
    FIRST_LINE,
    `# version ${manifest.version}`,
    `# commit ${manifest.commit}`,
    `# csp ${manifest.csp}`,
    ...manifest.files.map((f) => `${f.sha256}  ${f.path}`),
    '',
  ].join('\n');
}

/** Reads a manifest, refusing anything but the canonical text `formatSiteManifest` writes. */
export function parseSiteManifest(text: string): SiteManifest {
  if (typeof text !== 'string') fail('not_text', `expected the manifest as text, got ${typeof text}`);
  if (text.length > 1024 * 1024) fail('too_large', `expected at most 1 MiB of manifest, got ${text.length} characters`);
  const lines = text.split('\n');
  if (lines[0] !== FIRST_LINE) {
    const version = /^# sealdrop site manifest (\S+)$/.exec(lines[0] ?? '')?.[1];
    if (version !== undefined) fail('unsupported_version', `expected manifest format ${SITE_MANIFEST_VERSION}, got ${JSON.stringify(version.slice(0, 20))}`);
    fail('not_a_manifest', `expected "${FIRST_LINE}" on the first line`);
  }
  if (lines.at(-1) !== '') fail('non_canonical', 'expected the manifest to end with a line break');
  const header = (i: number, name: string): string => {
    const line = lines[i] ?? '';
    if (!line.startsWith(`# ${name} `)) fail('bad_header', `expected "# ${name} …" on line ${i + 1}`);
    return line.slice(name.length + 3);
  };
  const manifest: SiteManifest = { version: header(1, 'version'), commit: header(2, 'commit'), csp: header(3, 'csp'), files: [] };
  for (const [i, line] of lines.slice(4, -1).entries()) {
    const match = FILE_LINE.exec(line);
    if (!match) fail('bad_line', `expected "<sha256>  <path>" on line ${i + 5}`);
    manifest.files.push({ path: match[2]!, sha256: match[1]! });
  }
  if (formatSiteManifest(manifest) !== text) fail('non_canonical', 'expected the canonical form formatSiteManifest writes');
  return manifest;
}
