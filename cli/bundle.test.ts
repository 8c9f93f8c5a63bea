import { describe, expect, it } from 'vitest';
import { checkBundleJson, isValidHandle } from './bundle.ts';
import { CliError } from './errors.ts';

const id = '3f2b8c1e-9a4d-4c3b-8e2f-0a1b2c3d4e5f';
const good = () => ({
  version: 1,
  submissions: [{ id, handle: 'amber-heron', day: '2026-11-27', size: 4096, sha256: 'a'.repeat(64), path: `submissions/${id}.pgp` }],
  sources: [{ handle: 'amber-heron', path: 'sources/amber-heron.asc' }],
});

function refusal(mutate: (b: ReturnType<typeof good>) => unknown): string {
  const bundle = good();
  const replaced = mutate(bundle);
  try {
    checkBundleJson(replaced ?? bundle);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).hint).toMatch(/pull it again/);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('checkBundleJson', () => {
  it('accepts what the editor API sends, and handles as randomHandle makes them', () => {
    expect(checkBundleJson(good()).submissions[0]!.id).toBe(id);
    for (const h of ['amber-heron', 'quiet-otter-4821', 'a-b']) expect(isValidHandle(h), h).toBe(true);
  });

  it('refuses every value that would become a strange path', () => {
    for (const h of ['../etc', '.hidden', 'a/b', 'A-b', 'a b', '', 'a--b', '-a', 'x'.repeat(65), 'con\u0000']) {
      expect(isValidHandle(h), JSON.stringify(h)).toBe(false);
    }
    expect(refusal((b) => void (b.submissions[0]!.handle = '../../x'))).toBe('submissions[0].handle is not a valid handle');
    expect(refusal((b) => void (b.submissions[0]!.id = id.toUpperCase()))).toBe('submissions[0].id is not a lower-case UUID');
    expect(refusal((b) => void (b.submissions[0]!.path = `submissions/../${id}.pgp`))).toBe(`submissions[0].path must be "submissions/${id}.pgp"`);
    expect(refusal((b) => void (b.submissions[0]!.day = '2026-11-27/..'))).toBe('submissions[0].day is not a YYYY-MM-DD date');
    expect(refusal((b) => void (b.submissions[0]!.size = 1.5))).toBe('submissions[0].size is not a positive integer');
    expect(refusal((b) => void (b.submissions[0]!.sha256 = 'A'.repeat(64)))).toBe('submissions[0].sha256 is not 64 lower-case hex digits');
    expect(refusal((b) => void b.submissions.push({ ...b.submissions[0]! }))).toBe(`submissions[1].id ${id} appears twice`);
    expect(refusal((b) => void (b.sources[0]!.path = 'sources/other.asc'))).toBe('sources[0].path must be "sources/amber-heron.asc"');
    expect(refusal((b) => void b.sources.push({ ...b.sources[0]! }))).toBe('sources[1].handle amber-heron appears twice');
    expect(refusal(() => ({ ...good(), version: 2 }))).toBe('bundle.json has version 2, expected 1');
    expect(refusal(() => [])).toBe('bundle.json is not a JSON object');
  });
});
