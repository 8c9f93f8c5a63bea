import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_INSTANCE_VIEW,
  INSTANCE_LANGUAGES,
  InstanceViewError,
  isSafeHref,
  parseInstanceView,
  type InstanceView,
} from '../protocol/instance.ts';
import type { Database } from './db/open.ts';
import { createTestDatabase } from './db/test-db.ts';
import {
  checkPublishedFingerprint,
  DEFAULT_INSTANCE_FILE,
  fallbackLines,
  fieldPath,
  type InstanceFile,
  InstanceFileError,
  loadInstanceFile,
  logoDimensionsOf,
  logoMetadataOf,
  logoTypeOf,
  MAX_LOGO_BYTES,
  parseInstanceFile,
} from './instance-file.ts';
import { MarkupError, parseMarkup } from './instance-markup.ts';
import { SECURITY_HEADERS } from './policies/security-headers.ts';
import { buildTestApp, demoNewsroomKey } from './test-helpers.ts';

const EXAMPLE = fileURLToPath(new URL('../deploy/instance.example/instance.json', import.meta.url));
const all = (text: string) => ({ en: text, ko: `${text} ko`, zh: `${text} zh`, ru: `${text} ru`, km: `${text} km` });

/** A small file with every field, every language given. */
const base = () => ({
  name: 'The Test Gazette',
  fingerprint: 'D595 50C5 A489 5EA5 5787  F850 CA96 8B8E C7FC 9799',
  callForTips: all('Send us *tips*.'),
  intro: all('We are a newsroom.'),
  questions: [
    { id: 'where', kind: 'short', label: all('Where?'), help: all('A city.'), required: false },
    {
      id: 'how',
      kind: 'choice',
      label: all('How do you know?'),
      required: true,
      options: [
        { id: 'saw', label: all('I saw it') },
        { id: 'told', label: all('I was told') },
      ],
    },
    {
      id: 'kinds',
      kind: 'choices',
      label: all('Which?'),
      options: [
        { id: 'a', label: all('A') },
        { id: 'b', label: all('B') },
        { id: 'c', label: all('C') },
      ],
    },
  ],
  desks: [
    { id: 'workers', name: all('Workers'), description: all('About workers.'), keyFile: 'keys/workers.asc', fingerprint: 'ab'.repeat(20) },
    { id: 'general', name: all('General'), keyFile: '/abs/general.asc' },
  ],
});
type Base = ReturnType<typeof base> & Record<string, unknown>;

let folder: string;
let png: Uint8Array;
beforeAll(async () => {
  png = new Uint8Array(await readFile(join(EXAMPLE, '../logo.png')));
  folder = await mkdtemp(join(tmpdir(), 'sealdrop-instance-'));
  await writeFile(join(folder, 'logo.png'), png);
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function refusal(json: unknown): Promise<InstanceFileError> {
  const error = await parseInstanceFile(json, folder).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InstanceFileError);
  return error as InstanceFileError;
}

describe('the instance file', () => {
  it('reads a file with every field: paths resolved against its folder, fingerprints normalized, every language present', async () => {
    const file = await parseInstanceFile({ ...base(), logo: 'logo.png' }, folder);
    expect(file.publishedFingerprint).toBe('d59550c5a4895ea55787f850ca968b8ec7fc9799');
    expect(file.deskSpecs).toEqual([
      { id: 'workers', keyFile: join(folder, 'keys/workers.asc'), fingerprint: 'ab'.repeat(20) },
      { id: 'general', keyFile: '/abs/general.asc' },
    ]);
    expect(file.logo).toEqual({ bytes: png, type: 'image/png' });
    expect(file.view.logo).toBe('/instance/logo');
    expect(file.view.name).toBe('The Test Gazette');
    expect(file.view.callForTips!.ko).toEqual([{ p: [{ text: 'Send us ' }, { text: 'tips', em: true }, { text: '. ko' }] }]);
    expect(file.view.questions.map((q) => [q.id, q.kind, q.required, q.options.length, q.help === null])).toEqual([
      ['where', 'short', false, 0, false],
      ['how', 'choice', true, 2, true],
      ['kinds', 'choices', false, 3, true],
    ]);
    expect(file.view.desks[1]).toEqual({ id: 'general', name: all('General'), description: null });
    expect(file.view.fallbacks).toEqual([]);
    expect(fallbackLines(file)).toEqual([]);
    // what the page checks is exactly what the server sends
    expect(parseInstanceView(JSON.parse(JSON.stringify(file.view)))).toEqual(file.view);
  });

  it('is optional: without INSTANCE_FILE the view has no newsroom name, only "powered by Sealdrop"', async () => {
    const file = await loadInstanceFile(undefined);
    expect(file).toBe(DEFAULT_INSTANCE_FILE);
    expect(file.view).toEqual({
      name: null, poweredBy: 'Sealdrop', logo: null, callForTips: null, intro: null, questions: [], desks: [], fallbacks: [],
    });
    expect(file.deskSpecs).toBeUndefined();
    expect(parseInstanceView(DEFAULT_INSTANCE_VIEW)).toEqual(DEFAULT_INSTANCE_VIEW);
    // only the name is required
    const minimal = await parseInstanceFile({ name: 'N' }, folder);
    expect(minimal.view).toEqual({ ...DEFAULT_INSTANCE_VIEW, name: 'N' });
    expect(minimal.deskSpecs).toBeUndefined();
  });

  // each mutation of a valid file, and the field its refusal must name (the first line printed)
  const refusals: Array<[string, (f: Base) => void, string]> = [
    ['no name', (f) => delete (f as Partial<Base>).name, 'name: expected a string of 1-120 characters'],
    ['empty name', (f) => (f.name = ''), 'name: expected'],
    ['long name', (f) => (f.name = 'x'.repeat(121)), 'name: expected a string of 1-120 characters'],
    ['name with a direction override', (f) => (f.name = 'a\u202eb'), 'name: expected text without control'],
    ['name on two lines', (f) => (f.name = 'a\nb'), 'name: expected one line'],
    ['unknown top-level field', (f) => (f.colour = 'red'), 'colour: no such field; expected only the fields name, logo,'],
    ['logo not a string', (f) => (f.logo = 3), 'logo: expected the path of a PNG'],
    ['logo missing', (f) => (f.logo = 'nope.png'), 'logo: expected a readable file'],
    ['bad fingerprint', (f) => (f.fingerprint = 'abc'), 'fingerprint: expected a fingerprint of 40 or 64 hex digits'],
    ['callForTips not localized', (f) => ((f as Record<string, unknown>).callForTips = 'hello'), 'callForTips: expected an object of texts by language'],
    ['callForTips without en', (f) => delete (f.callForTips as Partial<ReturnType<typeof all>>).en, 'callForTips.en: expected a string of markup'],
    ['callForTips in an unknown language', (f) => ((f.callForTips as Record<string, string>).fr = 'x'), 'callForTips.fr: no such field; expected only the languages en, ko, zh, ru, km'],
    ['callForTips too long', (f) => (f.callForTips.ru = 'я'.repeat(4097)), 'callForTips.ru: expected at most 8192 bytes of text (UTF-8)'],
    ['callForTips with a javascript: link', (f) => (f.callForTips.zh = '[x](javascript:alert(1))'), 'callForTips.zh: expected a link to an https: URL or an http: onion URL'],
    ['callForTips with a link the page would refuse once percent-encoded', (f) => (f.callForTips.ko = `[x](https://news.example/${'가'.repeat(700)})`), 'callForTips.ko: expected a link of at most 2048 characters once written out'],
    ['intro with unclosed emphasis', (f) => (f.intro.km = 'a *b'), 'intro.km: expected a closing *'],
    ['intro empty', (f) => (f.intro.en = ' \n\n '), 'intro.en: expected some text'],
    ['questions not a list', (f) => ((f as Record<string, unknown>).questions = {}), 'questions: expected a list of questions'],
    ['too many questions', (f) => (f.questions = Array.from({ length: 21 }, (_, i) => ({ ...f.questions[0]!, id: `q${i}` }))), 'questions: expected at most 20 questions'],
    ['question id with capitals', (f) => (f.questions[0]!.id = 'Where'), 'questions[0].id: expected an id'],
    ['question id used twice', (f) => (f.questions[2]!.id = 'where'), 'questions[2].id: expected an id not used before (where is)'],
    ['question kind unknown', (f) => (f.questions[0]!.kind = 'date'), 'questions[0].kind: expected one of short, long, choice, choices'],
    ['question without label', (f) => delete (f.questions[0] as Partial<Base['questions'][0]>).label, 'questions[0].label: expected an object of texts'],
    ['question label too long in one language', (f) => (f.questions[1]!.label.ko = 'x'.repeat(201)), 'questions[1].label.ko: expected a string of 1-200 characters'],
    ['question label over 512 bytes (it travels with the answer)', (f) => (f.questions[1]!.label.km = 'ក'.repeat(171)), 'questions[1].label.km: expected at most 512 bytes (UTF-8): it travels with the answer'],
    ['option label over 512 bytes', (f) => (f.questions[2]!.options![1]!.label.ko = '가'.repeat(171)), 'questions[2].options[1].label.ko: expected at most 512 bytes'],
    ['question label with a tab', (f) => (f.questions[0]!.label.en = 'a\tb'), 'questions[0].label.en: expected one line without tabs'],
    ['question label with a line separator', (f) => (f.questions[0]!.label.ru = 'a\u2028b'), 'questions[0].label.ru: expected text without control characters'],
    ['desk name with a lone surrogate', (f) => (f.desks[0]!.name.en = 'a\ud800b'), 'desks[0].name.en: expected text without control characters'],
    ['intro with a lone surrogate', (f) => (f.intro.zh = 'a\udc00'), 'intro.zh: expected text without control characters'],
    ['question help too long', (f) => (f.questions[0]!.help!.en = 'x'.repeat(1001)), 'questions[0].help.en: expected a string of 1-1000 characters'],
    ['question required not a boolean', (f) => ((f.questions[0] as Record<string, unknown>).required = 'yes'), 'questions[0].required: expected true or false'],
    ['question unknown field', (f) => ((f.questions[0] as Record<string, unknown>).max = 5), 'questions[0].max: no such field; expected only the fields id, kind, label'],
    ['choice without options', (f) => delete (f.questions[1] as Partial<Base['questions'][1]>).options, 'questions[1].options: expected 2-20 options for a choice question'],
    ['choice with one option', (f) => f.questions[1]!.options!.pop(), 'questions[1].options: expected 2-20 options'],
    ['choices with 21 options', (f) => (f.questions[2]!.options = Array.from({ length: 21 }, (_, i) => ({ id: `o${i}`, label: all('o') }))), 'questions[2].options: expected 2-20 options'],
    ['short with options', (f) => ((f.questions[0] as Record<string, unknown>).options = f.questions[1]!.options), 'questions[0].options: expected no options for a short question'],
    ['option id used twice', (f) => (f.questions[2]!.options![2]!.id = 'a'), 'questions[2].options[2].id: expected an id not used before (a is)'],
    ['option id bad', (f) => (f.questions[2]!.options![0]!.id = '-a'), 'questions[2].options[0].id: expected an id'],
    ['option label without en', (f) => delete (f.questions[2]!.options![0]!.label as Partial<ReturnType<typeof all>>).en, 'questions[2].options[0].label.en: expected a string of 1-200 characters'],
    ['desks empty', (f) => (f.desks = []), 'desks: expected 1-20 desks, or no desks field'],
    ['desk id used twice', (f) => (f.desks[1]!.id = 'workers'), 'desks[1].id: expected an id not used before (workers is)'],
    ['desk without keyFile', (f) => delete (f.desks[0] as Partial<Base['desks'][0]>).keyFile, "desks[0].keyFile: expected the path of the desk's public key file"],
    ['desk name too long', (f) => (f.desks[0]!.name.zh = '名'.repeat(81)), 'desks[0].name.zh: expected a string of 1-80 characters'],
    ['desk description too long', (f) => (f.desks[0]!.description!.en = 'x'.repeat(501)), 'desks[0].description.en: expected a string of 1-500 characters'],
    ['desk fingerprint bad', (f) => (f.desks[0]!.fingerprint = 'zz'), 'desks[0].fingerprint: expected a fingerprint of 40 or 64 hex digits'],
    ['desk unknown field', (f) => ((f.desks[0] as Record<string, unknown>).email = 'x'), 'desks[0].email: no such field'],
  ];
  it.each(refusals)('refuses %s, naming the field', async (_, mutate, expected) => {
    const file = base() as Base;
    mutate(file);
    const error = await refusal(file);
    expect(error.problems[0]).toContain(expected);
    expect(error.problems[0]!.startsWith(expected.split(':')[0]! + ':')).toBe(true);
    expect(error.message).toMatch(/^instance file the instance file: /);
  });

  it('lists every problem, not just the first', async () => {
    const file = base() as Base;
    file.name = '';
    file.questions[0]!.kind = 'date';
    file.desks[0]!.name.ru = '';
    const error = await refusal(file);
    expect(error.problems.map((p) => p.split(':')[0])).toEqual(['name', 'questions[0].kind', 'desks[0].name.ru']);
    expect(error.message).toMatch(/\(and 2 more\)$/);
  });

  it('refuses a file that is not an object, not JSON, too large or unreadable, before any field', async () => {
    expect((await refusal([])).problems).toEqual(['(the file): expected an object']);
    // JSON.parse makes "__proto__" an own key: it is an unknown field like any other
    expect((await refusal(JSON.parse('{"name": "N", "__proto__": {"polluted": true}}'))).problems).toEqual([
      '__proto__: no such field; expected only the fields name, logo, fingerprint, callForTips, intro, questions, desks',
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const path = join(folder, 'bad.json');
    await writeFile(path, '{"name": "x",}');
    await expect(loadInstanceFile(path)).rejects.toThrow(/^instance file .*bad\.json: \(the file\): expected JSON: /);
    await writeFile(path, ' '.repeat(1024 * 1024 + 1));
    await expect(loadInstanceFile(path)).rejects.toThrow(/\(the file\): expected at most 1024 KiB/);
    await expect(loadInstanceFile(join(folder, 'absent.json'))).rejects.toThrow(/\(the file\): expected a readable file/);
  });

  it('lists each field without some language, and sends its English under those languages', async () => {
    const file = base() as Base;
    delete (file.intro as Partial<ReturnType<typeof all>>).km;
    delete (file.intro as Partial<ReturnType<typeof all>>).ru;
    delete (file.questions[1]!.options![1]!.label as Partial<ReturnType<typeof all>>).zh;
    file.desks[1]!.name = { en: 'General' } as ReturnType<typeof all>;
    const got = await parseInstanceFile(file, folder);
    expect(got.view.fallbacks).toEqual([
      { field: 'intro', langs: ['ru', 'km'] },
      { field: 'questions[1].options[1].label', langs: ['zh'] },
      { field: 'desks[1].name', langs: ['ko', 'zh', 'ru', 'km'] },
    ]);
    expect(fallbackLines(got)).toEqual([
      'instance file: intro has no ru, km text; the page shows English',
      'instance file: questions[1].options[1].label has no zh text; the page shows English',
      'instance file: desks[1].name has no ko, zh, ru, km text; the page shows English',
    ]);
    expect(got.view.intro!.km).toEqual(got.view.intro!.en);
    expect(got.view.intro!.ko).not.toEqual(got.view.intro!.en);
    expect(got.view.desks[1]!.name).toEqual({ en: 'General', ko: 'General', zh: 'General', ru: 'General', km: 'General' });
    expect(parseInstanceView(JSON.parse(JSON.stringify(got.view))).fallbacks).toEqual(got.view.fallbacks);
  });

  it('names paths as the operator writes them', () => {
    expect(fieldPath(['questions', 2, 'options', 0, 'label', 'en'])).toBe('questions[2].options[0].label.en');
    expect(fieldPath([])).toBe('(the file)');
  });
});

describe('the questions against the envelope', () => {
  it('refuses questions whose answers, every option chosen, would not fit answers.txt: a source choosing what the page offers would be refused', async () => {
    // 20 questions of 20 options, each label 170 Khmer letters (510 bytes): valid one by one
    const long = (n: number) => ({ en: `option ${n}`, km: 'ក'.repeat(170) });
    const questions = Array.from({ length: 20 }, (_, i) => ({
      id: `q${i}`, kind: 'choices', label: { en: `question ${i}` }, required: false,
      options: Array.from({ length: 20 }, (_, j) => ({ id: `o${j}`, label: long(j) })),
    }));
    const refused = await parseInstanceFile({ name: 'N', questions }, folder).then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(InstanceFileError);
    expect((refused as InstanceFileError).problems).toEqual([
      expect.stringMatching(/^questions: expected questions whose answers fit the envelope \(answers\.txt of at most 32768 bytes.*got \d+ bytes in km with every option chosen/),
    ]);
    // the same questions in English fit
    const short = questions.map((q) => ({ ...q, options: q.options.map((o) => ({ ...o, label: { en: o.label.en } })) }));
    expect((await parseInstanceFile({ name: 'N', questions: short }, folder)).view.questions).toHaveLength(20);
  });
});

describe('the published fingerprint', () => {
  it('matches the first desk\'s key regardless of spaces and case, and refuses another', async () => {
    const file = await parseInstanceFile(base(), folder);
    expect(() => checkPublishedFingerprint(file, 'D59550C5A4895EA55787F850CA968B8EC7FC9799')).not.toThrow();
    expect(() => checkPublishedFingerprint(file, 'ab'.repeat(20))).toThrow(
      /fingerprint: expected the fingerprint of the first desk's key \(workers\), which is (ab){20}; the file says d59550c5/,
    );
    const { desks: _, ...noDesks } = base();
    expect(() => checkPublishedFingerprint({ ...file, deskSpecs: undefined }, 'ab'.repeat(20))).toThrow(/of the newsroom key/);
    expect(() => checkPublishedFingerprint(DEFAULT_INSTANCE_FILE, 'ab'.repeat(20))).not.toThrow();
    expect((await parseInstanceFile(noDesks, folder)).deskSpecs).toBeUndefined();
  });
});

describe('the markup', () => {
  it('splits paragraphs on blank lines and joins the lines within one', () => {
    expect(parseMarkup('one\ntwo\r\n\r\n  \nthree\n\n\n')).toEqual([{ p: [{ text: 'one two' }] }, { p: [{ text: 'three' }] }]);
  });

  it('reads emphasis, strong, both, and nesting; escapes write the character', () => {
    expect(parseMarkup('a *b* **c** ***d*** **e *f* g**')).toEqual([
      {
        p: [
          { text: 'a ' },
          { text: 'b', em: true },
          { text: ' ' },
          { text: 'c', strong: true },
          { text: ' ' },
          { text: 'd', em: true, strong: true },
          { text: ' ' },
          { text: 'e ', strong: true },
          { text: 'f', em: true, strong: true },
          { text: ' g', strong: true },
        ],
      },
    ]);
    expect(parseMarkup('5 \\* 3 \\[not a link\\](https://x.org) \\\\')).toEqual([{ p: [{ text: '5 * 3 [not a link](https://x.org) \\' }] }]);
  });

  it('keeps characters beyond the BMP whole (a surrogate pair is no lone half)', () => {
    expect(parseMarkup('news 📰 𠜎')).toEqual([{ p: [{ text: 'news 📰 𠜎' }] }]);
  });

  it('keeps HTML as text', () => {
    expect(parseMarkup('<b onclick="x()">hi</b> <script>alert(1)</script> &amp;')).toEqual([
      { p: [{ text: '<b onclick="x()">hi</b> <script>alert(1)</script> &amp;' }] },
    ]);
  });

  it('reads links to https: and http: onion URLs, with emphasis inside or around them', () => {
    const onion = `http://${'a'.repeat(56)}.onion/x`;
    expect(parseMarkup(`see [our *site*](https://news.example/a?b=c) or *[this](${onion})*`)).toEqual([
      {
        p: [
          { text: 'see ' },
          { text: 'our ', href: 'https://news.example/a?b=c' },
          { text: 'site', em: true, href: 'https://news.example/a?b=c' },
          { text: ' or ' },
          { text: 'this', em: true, href: onion },
        ],
      },
    ]);
    // brackets that are not a link are text
    expect(parseMarkup('[1] and [2](no close')).toEqual([{ p: [{ text: '[1] and [2](no close' }] }]);
    // a link does not nest: the inner brackets are text of the outer link? no: `[` inside makes the outer one text
    expect(parseMarkup('[a [b](https://x.org)](https://y.org)')).toEqual([
      { p: [{ text: '[a ' }, { text: 'b', href: 'https://x.org/' }, { text: '](https://y.org)' }] },
    ]);
  });

  const bad: Array<[string, RegExp]> = [
    ['[x](javascript:alert(1))', /https: URL or an http: onion URL/],
    ['[x](JavaScript:alert(1))', /https: URL/],
    ['[x](data:text/html,hi)', /https: URL/],
    ['[x](/relative)', /https: URL/],
    ['[x](http://clear.example/)', /https: URL/],
    ['[x](https://user:pw@news.example/)', /https: URL/],
    ['[x](vbscript:msgbox)', /https: URL/],
    ['[](https://x.org)', /link text/],
    ['*a', /closing \*/],
    ['**a', /closing \*\*/],
    ['*a **b* c**', /close in the order they opened/],
    ['*a [b* c](https://x.org)', /opened before the link/],
    ['[a *b](https://x.org) c*', /inside a link's text to close inside it/],
    ['a ****b****', /at most three/],
    ['one\n\ntwo *three', /closing \* in paragraph 2/],
    ['a\u0000b', /control characters/],
    ['a\u202eb', /direction overrides/],
    ['** **', /some text/],
    [Array.from({ length: 65 }, () => 'p').join('\n\n'), /at most 64 paragraphs/],
    // 1,025 characters as written, 6,021 once percent-encoded: the page's check would refuse it
    [`[x](https://news.example/${'é'.repeat(1000)})`, /at most 2048 characters once written out \(percent-encoded\), got 6021/],
  ];
  it.each(bad)('refuses %j', (source, expected) => {
    expect(() => parseMarkup(source)).toThrow(MarkupError);
    expect(() => parseMarkup(source)).toThrow(expected);
  });

  it('follows only https: and http: onion links', () => {
    expect(isSafeHref('https://news.example/')).toBe(true);
    expect(isSafeHref(`http://${'b'.repeat(56)}.onion/`)).toBe(true);
    expect(isSafeHref(`http://${'b'.repeat(55)}.onion/`)).toBe(false);
    expect(isSafeHref('http://news.example/')).toBe(false);
    expect(isSafeHref(' https://news.example/')).toBe(false);
    expect(isSafeHref('javascript:alert(1)')).toBe(false);
  });
});

describe('the logo', () => {
  const cases: Array<[string, number[], string | undefined]> = [
    ['PNG', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0], 'image/png'],
    ['JPEG', [0xff, 0xd8, 0xff, 0xe0, 0], 'image/jpeg'],
    ['WebP', [0x52, 0x49, 0x46, 0x46, 1, 0, 0, 0, 0x57, 0x45, 0x42, 0x50, 0x56], 'image/webp'],
    ['RIFF but not WebP (WAV)', [0x52, 0x49, 0x46, 0x46, 1, 0, 0, 0, 0x57, 0x41, 0x56, 0x45], undefined],
    ['SVG', [...new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>')], undefined],
    ['GIF', [...new TextEncoder().encode('GIF89a')], undefined],
    ['PNG cut short', [0x89, 0x50, 0x4e, 0x47], undefined],
    ['empty', [], undefined],
  ];
  it.each(cases)('knows %s by its first bytes', (_, bytes, type) => {
    expect(logoTypeOf(Uint8Array.from(bytes))).toBe(type);
  });

  const ascii = (text: string) => [...new TextEncoder().encode(text)];
  const be32 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  const le32 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
  /** the example logo with a chunk put after IHDR (8 + 25 bytes) */
  const pngWith = (name: string, data: number[]) =>
    Uint8Array.from([...png.subarray(0, 33), ...be32(data.length), ...ascii(name), ...data, 0, 0, 0, 0, ...png.subarray(33)]);
  const segment = (marker: number, data: number[]) => [0xff, marker, (data.length + 2) >> 8, (data.length + 2) & 255, ...data];
  /** a 1 × 1 frame (SOF0) */
  const sof = segment(0xc0, [8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
  /** scan data with a stuffed FF 00 and a restart marker, which are of the scan */
  const scan = [0xff, 0xda, 0, 8, 1, 2, 3, 4, 5, 6, 7, 0xff, 0x00, 8, 0xff, 0xd0, 9];
  const jpeg = (...segments: number[][]) => Uint8Array.from([0xff, 0xd8, ...segments.flat(), ...sof, ...scan, 0xff, 0xd9]);
  /** the example logo with its IHDR's width and height replaced (the CRC is not checked here) */
  const pngSized = (width: number, height: number) => {
    const out = Uint8Array.from(png);
    new DataView(out.buffer).setUint32(16, width);
    new DataView(out.buffer).setUint32(20, height);
    return out;
  };
  const jfif = segment(0xe0, ascii('JFIF\0\x01\x01\0\0\x01\0\x01\0\0'));
  const webp = (...chunks: Array<[string, number[]]>) => {
    const body = chunks.flatMap(([name, data]) => [...ascii(name), ...le32(data.length), ...data, ...(data.length % 2 ? [0] : [])]);
    return Uint8Array.from([...ascii('RIFF'), ...le32(4 + body.length), ...ascii('WEBP'), ...body]);
  };
  const metadata: Array<[string, () => Uint8Array, 'image/png' | 'image/jpeg' | 'image/webp', string | undefined]> = [
    ['the example PNG', () => png, 'image/png', undefined],
    ['a PNG with a tEXt author', () => pngWith('tEXt', ascii('Author\0Kim Reporter')), 'image/png', 'a PNG tEXt chunk'],
    ['a PNG with eXIf', () => pngWith('eXIf', [0x4d, 0x4d, 0, 42]), 'image/png', 'a PNG eXIf chunk'],
    ['a PNG with iTXt (XMP)', () => pngWith('iTXt', ascii('XML:com.adobe.xmp\0')), 'image/png', 'a PNG iTXt chunk'],
    ['a PNG with tIME', () => pngWith('tIME', [7, 234, 1, 2, 3, 4, 5]), 'image/png', 'a PNG tIME chunk'],
    ['a PNG with a harmless gAMA', () => pngWith('gAMA', [0, 0, 0xb1, 0x8f]), 'image/png', undefined],
    ['a PNG cut in a chunk', () => Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]), 'image/png', 'malformed'],
    ['a JPEG with JFIF only', () => jpeg(jfif), 'image/jpeg', undefined],
    ['a JPEG with EXIF', () => jpeg(jfif, segment(0xe1, ascii('Exif\0\0MM'))), 'image/jpeg', 'an EXIF or XMP block (APP1)'],
    ['a JPEG with IPTC', () => jpeg(segment(0xed, ascii('Photoshop 3.0\0'))), 'image/jpeg', 'an IPTC block (APP13)'],
    ['a JPEG with a comment', () => jpeg(jfif, segment(0xfe, ascii('made by Kim'))), 'image/jpeg', 'a comment (COM)'],
    ['a JPEG cut in a segment', () => Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 40, 1]), 'image/jpeg', 'malformed'],
    ['a WebP with VP8X only', () => webp(['VP8X', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], ['VP8L', [1, 2, 3]]), 'image/webp', undefined],
    ['a WebP with EXIF', () => webp(['VP8X', [8, 0, 0, 0, 0, 0, 0, 0, 0, 0]], ['EXIF', [0x4d, 0x4d]]), 'image/webp', 'a WebP EXIF chunk'],
    ['a WebP with XMP', () => webp(['XMP ', ascii('<x:xmpmeta/>')]), 'image/webp', 'a WebP XMP chunk'],
    // what the text-chunk list missed: anything not known to be harmless, and bytes after the end
    ['a PNG with C2PA content credentials (caBX)', () => pngWith('caBX', ascii('jumb c2pa Kim Reporter')), 'image/png', 'a PNG caBX chunk'],
    ['a PNG with a private chunk', () => pngWith('prVt', ascii('Kim')), 'image/png', 'a PNG prVt chunk'],
    ['a PNG with HTML after IEND (a polyglot)', () => Uint8Array.from([...png, ...ascii('<html><script>alert(1)</script>')]), 'image/png', 'bytes after the end of the image (IEND)'],
    ['a PNG whose first chunk is not IHDR', () => Uint8Array.from([...png.subarray(0, 8), 0, 0, 0, 0, ...ascii('gAMA'), 0, 0, 0, 0, ...png.subarray(8)]), 'image/png', 'malformed'],
    ['a JPEG with C2PA (APP11)', () => jpeg(jfif, segment(0xeb, ascii('JP jumb c2pa'))), 'image/jpeg', 'an APP11 block'],
    ['a JPEG with Photoshop\'s Ducky (APP12: comment, copyright)', () => jpeg(jfif, segment(0xec, ascii('Ducky Kim Reporter'))), 'image/jpeg', 'an APP12 block'],
    ['a JPEG with an ICC profile (APP2)', () => jpeg(jfif, segment(0xe2, ascii('ICC_PROFILE\0'))), 'image/jpeg', undefined],
    ['a JPEG with a comment after its scan', () => Uint8Array.from([0xff, 0xd8, ...jfif, ...sof, ...scan, ...segment(0xfe, ascii('Kim')), 0xff, 0xd9]), 'image/jpeg', 'a comment (COM)'],
    ['a JPEG with HTML after EOI', () => Uint8Array.from([...jpeg(jfif), ...ascii('<script>alert(1)</script>')]), 'image/jpeg', 'bytes after the end of the image (EOI)'],
    ['a JPEG without EOI', () => jpeg(jfif).subarray(0, -2), 'image/jpeg', 'malformed'],
    ['a WebP with an unknown chunk', () => webp(['VP8L', [0x2f, 0, 0, 0, 0]], ['XYZW', ascii('Kim')]), 'image/webp', 'a WebP XYZW chunk'],
    ['a WebP with bytes after its RIFF', () => Uint8Array.from([...webp(['VP8L', [0x2f, 0, 0, 0, 0]]), 1, 2]), 'image/webp', 'malformed'],
  ];
  it.each(metadata)('finds the metadata of %s', (_, bytes, type, found) => {
    expect(logoMetadataOf(bytes(), type)).toBe(found);
  });

  it('refuses a logo with metadata or a broken structure, naming the logo field', async () => {
    await writeFile(join(folder, 'authored.png'), pngWith('tEXt', ascii('Author\0Kim Reporter')));
    expect((await refusal({ name: 'N', logo: 'authored.png' })).problems).toEqual([
      'logo: expected an image without metadata, got a PNG tEXt chunk: strip it (exiftool -all= FILE) or export it again without metadata',
    ]);
    await writeFile(join(folder, 'cut.jpg'), Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 40, 1]));
    expect((await refusal({ name: 'N', logo: 'cut.jpg' })).problems).toEqual(['logo: expected a whole JPEG image, got one whose structure is broken']);
    await writeFile(join(folder, 'plain.jpg'), jpeg(jfif));
    expect((await parseInstanceFile({ name: 'N', logo: 'plain.jpg' }, folder)).logo?.type).toBe('image/jpeg');
  });

  it('refuses a logo larger than 2048 pixels a side (a decompression bomb for every source\'s browser), naming the logo field', async () => {
    await writeFile(join(folder, 'wide.png'), pngSized(30000, 30000));
    expect((await refusal({ name: 'N', logo: 'wide.png' })).problems).toEqual([
      'logo: expected an image of at most 2048 × 2048 pixels (every source\'s browser decodes all of it), got 30000 × 30000',
    ]);
    await writeFile(join(folder, 'tall.jpg'), Uint8Array.from([0xff, 0xd8, ...jfif, ...segment(0xc2, [8, 0xea, 0x60, 0, 1, 1, 1, 0x11, 0]), ...scan, 0xff, 0xd9]));
    expect((await refusal({ name: 'N', logo: 'tall.jpg' })).problems[0]).toMatch(/got 1 × 60000$/);
    await writeFile(join(folder, 'canvas.webp'), webp(['VP8X', [0, 0, 0, 0, 0xff, 0x3f, 0, 0xff, 0x3f, 0]], ['VP8L', [0x2f, 0, 0, 0, 0]]));
    expect((await refusal({ name: 'N', logo: 'canvas.webp' })).problems[0]).toMatch(/got 16384 × 16384$/);
    await writeFile(join(folder, 'square.png'), pngSized(2048, 2048));
    expect((await parseInstanceFile({ name: 'N', logo: 'square.png' }, folder)).logo?.type).toBe('image/png');
    expect(logoDimensionsOf(jpeg(jfif), 'image/jpeg')).toEqual({ width: 1, height: 1 });
    expect(logoDimensionsOf(webp(['VP8L', [0x2f, 0x3f, 0x80, 0x0f, 0]]), 'image/webp')).toEqual({ width: 64, height: 63 });
  });

  it('refuses an SVG named .png, and a file over 256 KiB, naming the logo field', async () => {
    await writeFile(join(folder, 'fake.png'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    expect((await refusal({ name: 'N', logo: 'fake.png' })).problems).toEqual([
      'logo: expected a PNG, JPEG or WebP image (by its first bytes; SVG is not allowed)',
    ]);
    const big = new Uint8Array(MAX_LOGO_BYTES + 1);
    big.set(png);
    await writeFile(join(folder, 'big.png'), big);
    expect((await refusal({ name: 'N', logo: 'big.png' })).problems[0]).toMatch(/^logo: expected a file of at most 256 KiB/);
    // exactly the limit: the example logo with a filler IDAT before its own
    const filler = MAX_LOGO_BYTES - png.length - 12;
    const exact = Uint8Array.from([...png.subarray(0, 33), ...be32(filler), ...ascii('IDAT'), ...new Uint8Array(filler), 0, 0, 0, 0, ...png.subarray(33)]);
    await writeFile(join(folder, 'exact.png'), exact);
    expect((await parseInstanceFile({ name: 'N', logo: 'exact.png' }, folder)).logo?.bytes.length).toBe(MAX_LOGO_BYTES);
    expect((await refusal({ name: 'N', logo: '.' })).problems[0]).toMatch(/^logo: expected a readable file/);
  });
});

describe('the example instance file (deploy/instance.example)', () => {
  let example: InstanceFile;
  beforeAll(async () => {
    example = await loadInstanceFile(EXAMPLE);
  });

  it('validates, with its logo, its three desks\' key specs and no missing language', async () => {
    expect(example.view.name).toBe('The Tumen Ledger');
    expect(example.logo?.type).toBe('image/png');
    expect(fallbackLines(example)).toEqual([]);
    const repo = fileURLToPath(new URL('..', import.meta.url));
    expect(example.deskSpecs).toEqual([
      { id: 'workers', keyFile: join(repo, 'keys.example/desk-workers.pub.asc'), fingerprint: '40775fe8df6465e1120ae3f83081484b7dcc05b0' },
      { id: 'sanctions', keyFile: join(repo, 'keys.example/desk-sanctions.pub.asc'), fingerprint: '57724d5ae5cea9051cb7adf0143f01affd872926' },
      { id: 'general', keyFile: join(repo, 'keys.example/newsroom.pub.asc') },
    ]);
    expect(example.view.desks.map((d) => d.name.en)).toEqual(['Workers abroad', 'Sanctions and shipping', 'General']);
    expect(example.view.questions.map((q) => [q.id, q.kind])).toEqual([
      ['where', 'short'], ['company', 'short'], ['how-known', 'choice'], ['work', 'choices'], ['details', 'long'],
    ]);
    expect(example.view.questions[2]!.options.map((o) => o.label.en)).toEqual(['I work there', 'I saw it myself', 'Someone told me', 'I have documents']);
    expect(parseInstanceView(JSON.parse(JSON.stringify(example.view)))).toEqual(example.view);
  });

  it('says it in every language, in that language\'s script', () => {
    const script: Record<(typeof INSTANCE_LANGUAGES)[number], RegExp> = {
      en: /^[\x20-\x7e\u2014\u2019]+$/,
      ko: /[\uac00-\ud7a3]/,
      zh: /[\u4e00-\u9fff]/,
      ru: /[\u0400-\u04ff]/,
      km: /[\u1780-\u17ff]/,
    };
    const texts = (view: InstanceView, lang: (typeof INSTANCE_LANGUAGES)[number]) => [
      ...[view.callForTips!, view.intro!].flatMap((l) => l[lang].flatMap((b) => b.p.map((i) => i.text)).join('')),
      ...view.questions.flatMap((q) => [q.label[lang], q.help?.[lang] ?? '', ...q.options.map((o) => o.label[lang])]),
      ...view.desks.flatMap((d) => [d.name[lang], d.description![lang]]),
    ];
    for (const lang of INSTANCE_LANGUAGES) {
      const mine = texts(example.view, lang);
      for (const text of mine.filter((t) => t !== '' && !/^(IT|The Tumen Ledger)\b/.test(t) && t !== 'IT and online work')) {
        if (lang === 'en') expect(text).toMatch(script.en);
        // every non-English text has its own script (the outlet's name and "IT" stay Latin)
        else expect(text, `${lang}: ${text}`).toMatch(script[lang]);
      }
    }
    const callForTips = example.view.callForTips!.en.flatMap((b) => b.p.map((i) => i.text)).join('');
    expect(callForTips).toContain('If you have any information about evasion of DPRK sanctions');
    expect(callForTips).toContain('North Korean workers in Cambodia, China and Russia');
  });
});

describe('the page\'s check of the view (protocol/instance.ts)', () => {
  const good = (): Record<string, any> => JSON.parse(JSON.stringify({ ...DEFAULT_INSTANCE_VIEW, name: 'N', intro: Object.fromEntries(INSTANCE_LANGUAGES.map((l) => [l, [{ p: [{ text: 'hi' }] }]])) }));
  const hostile: Array<[string, (v: Record<string, any>) => void, string]> = [
    ['a javascript: link', (v) => (v.intro.ko[0].p[0].href = 'javascript:alert(1)'), 'instance.intro.ko[0].p[0].href'],
    ['an html field', (v) => (v.intro.en[0].p[0].html = '<img src=x onerror=alert(1)>'), 'instance.intro.en[0].p[0].html'],
    ['a missing language', (v) => delete v.intro.km, 'instance.intro.km'],
    ['an extra field', (v) => (v.script = 'x'), 'instance.script'],
    ['a foreign logo', (v) => (v.logo = 'https://evil.example/x.png'), 'instance.logo'],
    ['another powered-by', (v) => (v.poweredBy = 'Evil'), 'instance.poweredBy'],
    ['a text with a direction override', (v) => (v.name = 'a\u202eb'), 'instance.name'],
    ['em other than true', (v) => (v.intro.en[0].p[0].em = 'yes'), 'instance.intro.en[0].p[0].em'],
    ['a __proto__ key', (v) => Object.defineProperty(v, '__proto__', { value: {}, enumerable: true }), 'instance.__proto__'],
    ['a fallback in English', (v) => (v.fallbacks = [{ field: 'intro', langs: ['en'] }]), 'instance.fallbacks[0].langs[0]'],
    ['a label over 512 bytes', (v) => (v.questions = [{ id: 'q', kind: 'short', label: { ...all('q'), km: 'ក'.repeat(171) }, help: null, required: false, options: [] }]), 'instance.questions[0].label.km'],
    ['a paragraph separator', (v) => (v.intro.ru[0].p[0].text = 'a\u2029b'), 'instance.intro.ru[0].p[0].text'],
    ['a choice with one option', (v) => (v.questions = [{ id: 'q', kind: 'choice', label: all('q'), help: null, required: false, options: [{ id: 'a', label: all('a') }] }]), 'instance.questions[0].options'],
  ];
  it.each(hostile)('refuses %s, naming the path', (_, mutate, path) => {
    const view = good();
    expect(() => parseInstanceView(view)).not.toThrow();
    mutate(view);
    expect(() => parseInstanceView(view)).toThrow(InstanceViewError);
    expect(() => parseInstanceView(view)).toThrow(new RegExp(`^${path.replace(/[[\].]/g, '\\$&')}: expected`));
  });
});

describe('the source listener', () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('serves the logo at /instance/logo with its type and the security headers, and the view in /api/v1/config', async () => {
    const clock = () => new Date('2026-03-02T12:00:00Z');
    const example = await loadInstanceFile(EXAMPLE);
    const { app } = await buildTestApp(database.db, await demoNewsroomKey(clock()), clock, { instanceFile: example });
    const res = await app.request('/instance/logo');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('image/png');
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name)).toBe(value);
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(await readFile(join(EXAMPLE, '../logo.png'))));

    const config = (await (await app.request('/api/v1/config')).json()) as { instance: unknown };
    expect(config.instance).toEqual(JSON.parse(JSON.stringify(example.view)));
    expect(parseInstanceView(config.instance).name).toBe('The Tumen Ledger');
    // nothing about the keys' files reaches the page
    expect(JSON.stringify(config.instance)).not.toContain('keyFile');
    expect(JSON.stringify(config.instance)).not.toContain('.asc');
  });

  it('without an instance file: no logo route, and the default view', async () => {
    const clock = () => new Date('2026-03-02T12:00:00Z');
    const { app } = await buildTestApp(database.db, await demoNewsroomKey(clock()), clock);
    expect((await app.request('/instance/logo')).status).toBe(404);
    const config = (await (await app.request('/api/v1/config')).json()) as { instance: unknown };
    expect(config.instance).toEqual(DEFAULT_INSTANCE_VIEW);
  });
});
