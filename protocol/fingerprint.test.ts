import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKey } from 'openpgp';
import { describe, expect, it } from 'vitest';
import { formatFingerprint } from './fingerprint.ts';

const DEMO_KEY = readFileSync(new URL('../keys.example/newsroom.pub.asc', import.meta.url), 'utf8');

describe('formatFingerprint', () => {
  it('groups a v4 fingerprint in 10 groups of 4, upper case', () => {
    expect(formatFingerprint('d59550c5a4895ea55787f850ca968b8ec7fc9799')).toBe(
      'D595 50C5 A489 5EA5 5787 F850 CA96 8B8E C7FC 9799',
    );
  });

  it('groups a v6 fingerprint (32 bytes) in 16 groups', () => {
    const hex = 'cb186c4f0609a697e4d52dfa6c722b0c1f1e27c18a56708f6525ec27bad9acc9';
    const shown = formatFingerprint(hex);
    expect(shown.split(' ')).toHaveLength(16);
    expect(shown).toBe('CB18 6C4F 0609 A697 E4D5 2DFA 6C72 2B0C 1F1E 27C1 8A56 708F 6525 EC27 BAD9 ACC9');
  });

  it('shows the groups gpg shows for the demo key', async () => {
    const key = await readKey({ armoredKey: DEMO_KEY });
    const home = mkdtempSync(join(tmpdir(), 'sealdrop-fpr-'));
    try {
      const listing = execFileSync('gpg', ['--homedir', home, '--batch', '--with-colons', '--show-keys', '--with-fingerprint'], {
        input: DEMO_KEY,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      const gpgHex = /^fpr:+([0-9A-F]+):/m.exec(listing)![1]!;
      const human = execFileSync('gpg', ['--homedir', home, '--batch', '--show-keys', '--with-fingerprint'], {
        input: DEMO_KEY,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      const gpgGroups = /^\s+((?:[0-9A-F]{4}\s+){9}[0-9A-F]{4})$/m.exec(human)![1]!.split(/\s+/);
      expect(formatFingerprint(key.getFingerprint())).toBe(gpgGroups.join(' '));
      expect(formatFingerprint(key.getFingerprint()).replace(/ /g, '')).toBe(gpgHex);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it.each([
    ['too short', 'd59550c5a4895ea55787f850ca968b8ec7fc979'],
    ['a key id, not a fingerprint', 'ca968b8ec7fc9799'],
    ['between v4 and v6 lengths', 'd59550c5a4895ea55787f850ca968b8ec7fc9799aabbccdd'],
    ['not hex', 'd59550c5a4895ea55787f850ca968b8ec7fc979g'],
    ['already grouped', 'D595 50C5 A489 5EA5 5787 F850 CA96 8B8E C7FC 9799'],
    ['a trailing newline', 'd59550c5a4895ea55787f850ca968b8ec7fc9799\n'],
    ['empty', ''],
  ])('refuses %s', (_why, input) => {
    expect(() => formatFingerprint(input)).toThrow(expect.objectContaining({ code: 'bad_fingerprint' }));
  });

  it('refuses what is not a string, naming what came', () => {
    expect(() => formatFingerprint(undefined as unknown as string)).toThrow('got undefined');
  });
});
