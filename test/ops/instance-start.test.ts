/**
 * The instance file at start, through the image's own start command: a refused file stops the
 * server with one line per wrong field and nothing else done; a file without some translations
 * starts, says which fields fall back to English, and serves its name, texts and logo.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackServerEnv, onHost, readImageCommand, ROOT, startImageCommand } from './dockerfile.ts';
import { createEmptyDatabase } from './pg.ts';
import { runProgram } from './process.ts';

let database: Awaited<ReturnType<typeof createEmptyDatabase>>;
let dir: string;
beforeAll(async () => {
  database = await createEmptyDatabase('sealdrop_instance');
  dir = mkdtempSync(join(tmpdir(), 'sealdrop-instance-start-'));
  copyFileSync(join(ROOT, 'deploy/instance.example/logo.png'), join(dir, 'logo.png'));
});
afterAll(async () => {
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function writeInstance(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

async function startOnce(env: Record<string, string>) {
  const image = readImageCommand();
  const [command, ...args] = onHost(image, [...image.entrypoint, ...image.cmd]);
  return runProgram(command!, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...image.env, ...loopbackServerEnv({ DATABASE_URL: database.url }), ...env },
  });
}

describe('the instance file at start', () => {
  it('refuses a wrong file with one line per wrong field and a hint, before the database is touched', async () => {
    const path = writeInstance('bad.json', {
      name: '',
      questions: [{ id: 'q', kind: 'choice', label: { en: 'Which?' }, options: [{ id: 'a', label: { en: 'A', fr: 'A' } }] }],
      intro: { en: 'see [this](javascript:alert(1))' },
    });
    const result = await startOnce({ INSTANCE_FILE: path, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n').filter((l) => l.startsWith('sealdrop: error:'));
    expect(lines).toEqual([
      `sealdrop: error: instance file ${path}: name: expected a string of 1-120 characters`,
      `sealdrop: error: instance file ${path}: intro.en: expected a link to an https: URL or an http: onion URL`,
      `sealdrop: error: instance file ${path}: questions[0].options[0].label.fr: no such field; expected only the languages en, ko, zh, ru, km`,
      `sealdrop: error: instance file ${path}: questions[0].options: expected 2-20 options`,
    ]);
    expect(result.stderr).toContain('sealdrop: hint: every field of the instance file is described in docs/OPERATIONS.md, "The instance file"');
  });

  it('refuses a published fingerprint that is not the newsroom key\'s', async () => {
    const path = writeInstance('fingerprint.json', { name: 'N', fingerprint: 'AAAA '.repeat(10) });
    const result = await startOnce({ INSTANCE_FILE: path, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `sealdrop: error: instance file ${path}: fingerprint: expected the fingerprint of the newsroom key, which is d59550c5a4895ea55787f850ca968b8ec7fc9799; the file says ${'a'.repeat(40)}`,
    );
  });

  it('starts with a file missing some translations, says which, and serves the name, the texts and the logo', async () => {
    const path = writeInstance('partial.json', {
      name: 'The Partial Post',
      logo: 'logo.png',
      fingerprint: 'D595 50C5 A489 5EA5 5787  F850 CA96 8B8E C7FC 9799',
      callForTips: { en: 'Tell us **anything**.', ko: '무엇이든 알려 주십시오.', zh: '请告诉我们。', ru: 'Расскажите нам.' },
      intro: { en: 'We report.' },
    });
    const server = await startImageCommand({ ...loopbackServerEnv({ DATABASE_URL: database.url }), INSTANCE_FILE: path });
    try {
      const output = server.watched.output();
      expect(output).toContain('sealdrop: warning: instance file: callForTips has no km text; the page shows English\n');
      expect(output).toContain('sealdrop: warning: instance file: intro has no ko, zh, ru, km text; the page shows English\n');
      const config = (await (await fetch(new URL('/api/v1/config', server.sourceUrl))).json()) as { instance: Record<string, any> };
      expect(config.instance.name).toBe('The Partial Post');
      expect(config.instance.callForTips.km).toEqual([{ p: [{ text: 'Tell us ' }, { text: 'anything', strong: true }, { text: '.' }] }]);
      expect(config.instance.fallbacks).toEqual([
        { field: 'callForTips', langs: ['km'] },
        { field: 'intro', langs: ['ko', 'zh', 'ru', 'km'] },
      ]);
      const logo = await fetch(new URL('/instance/logo', server.sourceUrl));
      expect(logo.status).toBe(200);
      expect(logo.headers.get('Content-Type')).toBe('image/png');
      expect(logo.headers.get('X-Content-Type-Options')).toBe('nosniff');
    } finally {
      server.watched.child.kill('SIGTERM');
    }
    expect((await server.watched.exited).code).toBe(0);
  });
});
