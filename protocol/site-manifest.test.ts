import { describe, expect, it } from 'vitest';
import { formatSiteManifest, isSitePath, parseSiteManifest, type SiteManifest } from './site-manifest.ts';

const manifest: SiteManifest = {
  version: '0.1.0',
  commit: 'unknown',
  csp: "default-src 'none'",
  files: [
    { path: 'assets/a.js', sha256: 'a'.repeat(64) },
    { path: 'index.html', sha256: 'b'.repeat(64) },
  ],
};

describe('site manifest', () => {
  it('is sha256sum lines under # headers, and reads back as written', () => {
    const text = formatSiteManifest(manifest);
    expect(text).toBe(
      `# sealdrop site manifest 1\n# version 0.1.0\n# commit unknown\n# csp default-src 'none'\n${'a'.repeat(64)}  assets/a.js\n${'b'.repeat(64)}  index.html\n`,
    );
    expect(parseSiteManifest(text)).toEqual(manifest);
  });

  it('refuses to write what it would refuse to read', () => {
    expect(() => formatSiteManifest({ ...manifest, files: [...manifest.files].reverse() })).toThrow(expect.objectContaining({ code: 'unsorted' }));
    expect(() => formatSiteManifest({ ...manifest, csp: 'a\nb' })).toThrow(expect.objectContaining({ code: 'bad_csp' }));
    expect(() => formatSiteManifest({ ...manifest, files: [] })).toThrow(expect.objectContaining({ code: 'no_files' }));
  });

  it.each([
    ['index.html', true],
    ['assets/chunks/strip-DWKKCFQP.js', true],
    ['.well-known/x', true],
    ['../x', false],
    ['a/../x', false],
    ['./x', false],
    ['/x', false],
    ['a//x', false],
    ['a/', false],
    ['a b', false],
    ['a\\b', false],
    ['é.html', false],
    ['', false],
  ])('a served path %j is %s', (path, ok) => {
    expect(isSitePath(path)).toBe(ok);
  });
});
