import { describe, expect, it } from 'vitest';
import { HOSTILE_INSTANCE, LONG_INSTANCE, UNSAFE_LINKS } from '../../test/e2e/instance-fixtures.ts';
import { KeyMismatchError } from './newsroom-key.ts';
import { InstanceConfigError, isFallback, NO_INSTANCE, readInstanceConfig, safeHref, type Instance } from './instance.ts';

const KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n(a key)\n-----END PGP PUBLIC KEY BLOCK-----';
const base = { newsroomKey: KEY, fingerprint: 'aa' };
const desks = [
  { id: 'general', newsroomKey: KEY, fingerprint: 'aa' },
  { id: 'workers', newsroomKey: 'workers key', fingerprint: 'bb' },
  { id: 'sanctions', newsroomKey: 'sanctions key', fingerprint: 'cc' },
];

describe('readInstanceConfig', () => {
  it('reads a server of before instances and desks as today’s page: no name, one desk with no id', () => {
    expect(readInstanceConfig(base)).toEqual({ instance: NO_INSTANCE, desks: [{ id: undefined, newsroomKey: KEY, fingerprint: 'aa' }] });
  });

  it('joins each desk’s key to its words, in the order of the keys', () => {
    const { instance, desks: read } = readInstanceConfig({ ...base, instance: LONG_INSTANCE, desks });
    expect(instance.name).toBe(LONG_INSTANCE.name);
    expect(read.map((d) => [d.id, d.newsroomKey, d.name?.en, d.description?.km ?? null, d.field])).toEqual([
      ['general', KEY, 'General', null, 'desks[2]'],
      ['workers', 'workers key', 'Workers abroad', LONG_INSTANCE.desks[0]!.description!.km, 'desks[0]'],
      ['sanctions', 'sanctions key', 'Sanctions and shipping', null, 'desks[1]'],
    ]);
  });

  const refusals: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown field', { instance: { ...LONG_INSTANCE, script: 'x' } }, /instance/],
    ['a name that is not text', { instance: { ...LONG_INSTANCE, name: { text: 'x' } } }, /name/],
    ['a logo from another origin', { instance: { ...LONG_INSTANCE, logo: 'https://example.org/logo.png' } }, /logo/],
    ['a language missing from the call for tips', { instance: { ...LONG_INSTANCE, callForTips: { ...LONG_INSTANCE.callForTips, km: undefined } } }, /callForTips\.km/],
    ['markup as a block', { instance: { ...LONG_INSTANCE, intro: { ...LONG_INSTANCE.intro, en: [{ html: '<b>x</b>' }] } } }, /intro\.en/],
    ['an inline with an unknown style', { instance: { ...LONG_INSTANCE, intro: { ...LONG_INSTANCE.intro, en: [{ p: [{ text: 'x', style: 'color:red' }] }] } } }, /intro/],
    ['a question id that is not a plain token', { instance: { ...LONG_INSTANCE, questions: [{ ...LONG_INSTANCE.questions[0]!, id: '"><img>' }] } }, /questions\[0\]\.id/],
    ['a choice question without options', { instance: { ...LONG_INSTANCE, questions: [{ ...LONG_INSTANCE.questions[2]!, options: [] }] } }, /options/],
    ['a choice question with one option', { instance: { ...LONG_INSTANCE, questions: [{ ...LONG_INSTANCE.questions[2]!, options: LONG_INSTANCE.questions[2]!.options.slice(0, 1) }] } }, /options/],
    ['a text question with options', { instance: { ...LONG_INSTANCE, questions: [{ ...LONG_INSTANCE.questions[0]!, options: LONG_INSTANCE.questions[2]!.options }] } }, /options/],
    ['words for a desk with no key', { desks: desks.slice(0, 2) }, /sanctions/],
    ['a desk twice', { desks: [...desks, desks[0]] }, /once/],
    ['no desk at all', { desks: [] }, /desks/],
    ['a desk with no key', { desks: [desks[0], { id: 'workers', fingerprint: 'bb' }, desks[2]] }, /desks/],
  ];
  it.each(refusals)('refuses %s, naming where (InstanceConfigError)', (_what, change, where) => {
    const read = () => readInstanceConfig({ ...base, instance: LONG_INSTANCE, desks, ...change });
    expect(read).toThrow(InstanceConfigError);
    expect(read).toThrow(where);
  });

  it('takes the hostile instance’s text as text: the check allows it, rendering makes it harmless', () => {
    expect(readInstanceConfig({ ...base, instance: HOSTILE_INSTANCE, desks: [desks[0]] }).instance.name).toContain('<img');
  });

  it.each(UNSAFE_LINKS)('refuses the whole instance for a link to %s', (href) => {
    const instance = { ...LONG_INSTANCE, intro: { ...LONG_INSTANCE.intro!, ru: [{ p: [{ text: 'x', href }] }] } };
    expect(() => readInstanceConfig({ ...base, instance, desks })).toThrow(/intro\.ru\[0\]\.p\[0\]\.href/);
  });
});

describe('readInstanceConfig, the first desk', () => {
  it.each([
    ['another key first', { desks: [desks[1], desks[0], desks[2]] }],
    ['the top-level key under another fingerprint', { fingerprint: 'bb' }],
  ])('refuses a config whose first desk is not its top-level key (%s): KeyMismatchError', (_what, change) => {
    expect(() => readInstanceConfig({ ...base, instance: LONG_INSTANCE, desks, ...change })).toThrow(KeyMismatchError);
  });
});

describe('safeHref', () => {
  it.each([
    ['https://example.org/methods', 'https://example.org/methods'],
    [`http://${'a'.repeat(56)}.onion/x`, `http://${'a'.repeat(56)}.onion/x`],
    ['http://short.onion/x', undefined],
    ['http://example.org/', undefined],
    ['javascript:alert(1)', undefined],
    ['JAVASCRIPT:alert(1)', undefined],
    ['data:text/html,<script>', undefined],
    ['//example.org/', undefined],
    ['/relative', undefined],
    ['https://user:pass@example.org/', undefined],
    [undefined, undefined],
  ])('%s → %s', (href, expected) => expect(safeHref(href)).toBe(expected));
});

describe('isFallback', () => {
  it('names the English text put in for a missing translation, never English itself', () => {
    const instance: Instance = { ...LONG_INSTANCE, fallbacks: [{ field: 'callForTips', langs: ['km'] }, { field: 'intro', langs: ['ru', 'zh'] }] };
    expect(isFallback(instance, 'callForTips', 'km')).toBe(true);
    expect(isFallback(instance, 'intro', 'ru')).toBe(true);
    expect(isFallback(instance, 'callForTips', 'ru')).toBe(false);
    expect(isFallback(instance, 'callForTips', 'en')).toBe(false);
  });
});
