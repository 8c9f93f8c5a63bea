/**
 * @module protocol/testdata/site-manifest-cases — the site manifest vectors (PROTOCOL.md, "Site
 * manifest"), written by generate.ts. Each case says what it must give; the generator stops when
 * the code disagrees.
 */
import { formatSiteManifest, parseSiteManifest, SiteManifestError, type SiteManifest } from '../site-manifest.ts';

type Headers = Record<string, string | number>;
type Write = (name: string, headers: Headers, data: Uint8Array | string, encoding: 'utf8' | 'base64') => void;

const CSP = "default-src 'none'; script-src 'self' blob:; style-src 'self'";
const h = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
const GOOD: SiteManifest = {
  version: '0.1.0',
  commit: '65725ec50622010cf57ae1dea7c399cefd7dad71',
  csp: CSP,
  files: [
    { path: 'assets/chunks/chunk-EYWQFTAA.js', sha256: h(1) },
    { path: 'assets/crypto.worker.js', sha256: h(2) },
    { path: 'assets/main.css', sha256: h(3) },
    { path: 'index.html', sha256: h(0xab) },
  ],
};
const good = formatSiteManifest(GOOD);
const lines = good.split('\n');
const withLines = (replace: (l: string[]) => string[]) => replace([...lines]).join('\n');

export function writeSiteManifestVectors(vector: Write): void {
  const success: [string, string, SiteManifest][] = [
    ['good', good, GOOD],
    ['modified-tree', formatSiteManifest({ ...GOOD, commit: `${GOOD.commit}+modified` }), { ...GOOD, commit: `${GOOD.commit}+modified` }],
    ['unknown-commit', formatSiteManifest({ ...GOOD, commit: 'unknown' }), { ...GOOD, commit: 'unknown' }],
  ];
  for (const [name, text, expected] of success) {
    const parsed = parseSiteManifest(text);
    if (JSON.stringify(parsed) !== JSON.stringify(expected)) throw new Error(`site-manifest-${name}: parsed differently`);
    vector(`site-manifest-${name}`, { expect: 'success', kind: 'site-manifest', files: parsed.files.length, commit: parsed.commit }, text, 'utf8');
  }
  const failures: [string, string, string][] = [
    ['unsorted', 'unsorted', withLines((l) => [...l.slice(0, 4), l[5]!, l[4]!, ...l.slice(6)])],
    ['duplicate-path', 'duplicate_path', withLines((l) => l.map((x, i) => (i === 5 ? `${h(9)}  assets/chunks/chunk-EYWQFTAA.js` : x)))],
    ['dot-dot', 'bad_path', withLines((l) => l.map((x) => x.replace('  index.html', '  ../index.html')))],
    ['dot-segment', 'bad_path', withLines((l) => l.map((x) => x.replace('  index.html', '  ./index.html')))],
    ['absolute-path', 'bad_path', withLines((l) => l.map((x) => x.replace('  index.html', '  /index.html')))],
    ['upper-case-hex', 'bad_line', withLines((l) => l.map((x, i) => (i === 7 ? x.replace(/^\w+/, (m) => m.toUpperCase()) : x)))],
    ['one-space', 'bad_line', withLines((l) => l.map((x, i) => (i === 7 ? x.replace('  ', ' ') : x)))],
    ['no-final-newline', 'non_canonical', good.slice(0, -1)],
    ['crlf', 'not_a_manifest', good.replace(/\n/g, '\r\n')],
    ['format-2', 'unsupported_version', good.replace('# sealdrop site manifest 1', '# sealdrop site manifest 2')],
    ['not-a-manifest', 'not_a_manifest', `${h(4)}  index.html\n`],
    ['no-files', 'no_files', lines.slice(0, 4).join('\n') + '\n'],
    ['bad-commit', 'bad_commit', good.replace(GOOD.commit, GOOD.commit.slice(0, 12))],
    ['missing-csp', 'bad_header', withLines((l) => [...l.slice(0, 3), ...l.slice(4)])],
    ['blank-line', 'bad_line', withLines((l) => [...l.slice(0, 4), '', ...l.slice(4)])],
  ];
  for (const [name, code, text] of failures) {
    try {
      parseSiteManifest(text);
      throw new Error(`site-manifest-${name}: expected ${code}, got success`);
    } catch (e) {
      if (!(e instanceof SiteManifestError)) throw e;
      if (e.code !== code) throw new Error(`site-manifest-${name}: expected ${code}, got ${e.code}`);
    }
    const binary = /\r/.test(text);
    vector(`site-manifest-${name}`, { expect: `site-manifest failure: ${code}`, kind: 'site-manifest' }, binary ? new TextEncoder().encode(text) : text, binary ? 'base64' : 'utf8');
  }
}
