/**
 * @module client/lib/instance-hostile.test — a seized or tampered server writes /api/v1/config:
 * what of it the page's checks (protocol/instance.ts parseInstanceView, client/lib/instance.ts
 * readInstanceConfig) let through, and what the page then encrypts to.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectMessage } from '../../protocol/openpgp-checks.ts';
import { checkAnswers, renderAnswers } from '../../protocol/answers.ts';
import { MAX_LABEL_BYTES, MAX_MARKUP_BYTES, MAX_QUESTIONS, parseInstanceView, type Block } from '../../protocol/instance.ts';
import { MAX_ANSWERS_BYTES } from '../../protocol/limits.ts';
import { encryptTip } from '../../protocol/source-keys.ts';
import { parseMarkup } from '../../server/instance-markup.ts';
import { LONG_INSTANCE, ONION } from '../../test/e2e/instance-fixtures.ts';
import { InstanceConfigError, questionIds, readInstanceConfig, safeHref } from './instance.ts';

const KEY = 'the general desk key';
const base = { newsroomKey: KEY, fingerprint: 'aa' };
const desks = [
  { id: 'general', newsroomKey: KEY, fingerprint: 'aa' },
  { id: 'workers', newsroomKey: 'workers key', fingerprint: 'bb' },
  { id: 'sanctions', newsroomKey: 'sanctions key', fingerprint: 'cc' },
];
const all = (blocks: Block[]) => ({ en: blocks, ko: blocks, zh: blocks, ru: blocks, km: blocks });
/** the config as the page reads it: JSON from the wire, so `__proto__` is an own key as a server writes it */
const wire = (instance: unknown, more: Record<string, unknown> = {}) => JSON.parse(JSON.stringify({ ...base, desks, ...more, instance }));
const read = (config: Parameters<typeof readInstanceConfig>[0]) => readInstanceConfig(config);

describe('a hostile config: sizes', () => {
  it('refuses more text in one language than any instance file can hold (many one-character runs)', () => {
    // 64 paragraphs of 8192 runs each would be 524 288 runs per language (68 MB of JSON checked in 5.9 s before)
    const runs = { p: Array.from({ length: MAX_MARKUP_BYTES / 2 + 1 }, () => ({ text: 'x' })) };
    expect(() => parseInstanceView({ ...LONG_INSTANCE, intro: all([runs, runs]) })).toThrow(/intro\.en\[1\]\.p\[4095\]\.text: expected at most 8192 bytes/);
  });

  it('counts the links with the text, across paragraphs', () => {
    const href = `https://example.org/${'a'.repeat(2000)}`;
    const block = { p: [{ text: 'x', href }] };
    expect(() => parseInstanceView({ ...LONG_INSTANCE, callForTips: all([block, block, block, block, block]) })).toThrow(
      /callForTips\.en\[4\]\.p\[0\]\.href: expected at most 8192 bytes/,
    );
  });

  it('still takes the largest markup an instance file can hold, links and escapes included', () => {
    const link = `[l](https://example.org/${'a'.repeat(200)}) \\* `;
    let source = '';
    while (new TextEncoder().encode(source + link).length <= MAX_MARKUP_BYTES) source += link;
    source = source.trimEnd();
    expect(new TextEncoder().encode(source).length).toBeGreaterThan(MAX_MARKUP_BYTES - link.length);
    const blocks = parseMarkup(source);
    expect(() => parseInstanceView({ ...LONG_INSTANCE, callForTips: all(blocks) })).not.toThrow();
  });
});

describe('a hostile config: keys of objects', () => {
  it.each([
    ['__proto__ in a Localized map', (i: typeof LONG_INSTANCE) => JSON.parse(JSON.stringify(i).replace('"name":{"en":"Workers abroad"', '"name":{"__proto__":{"en":"x"},"en":"Workers abroad"'))],
    ['constructor in a Localized map', (i: typeof LONG_INSTANCE) => ({ ...i, desks: [{ ...i.desks[0], name: { ...i.desks[0]!.name, constructor: 'x' } }, ...i.desks.slice(1)] })],
    ['__proto__ at the top', (i: typeof LONG_INSTANCE) => JSON.parse(JSON.stringify(i).replace('{"name":', '{"__proto__":{"logo":"https://evil.example/x.png"},"name":'))],
    ['__proto__ in a run', (i: typeof LONG_INSTANCE) => JSON.parse(JSON.stringify(i).replace('{"text":"our methods"', '{"__proto__":{"href":"javascript:x"},"text":"our methods"'))],
  ])('refuses %s', (_what, change) => {
    const instance = change(LONG_INSTANCE);
    expect(() => read(wire(instance))).toThrow(InstanceConfigError);
    expect(({} as Record<string, unknown>).logo).toBeUndefined();
  });

  it('refuses __proto__ or constructor in a desk of the keys', () => {
    const hostile = JSON.parse(JSON.stringify(desks).replace('{"id":"workers"', '{"__proto__":{"newsroomKey":"evil"},"id":"workers"'));
    expect(() => read(wire(LONG_INSTANCE, { desks: hostile }))).toThrow(/desks\[1\] without __proto__/);
    expect(() => read(wire(LONG_INSTANCE, { desks: [desks[0], { ...desks[1], constructor: 'x' }, desks[2]] }))).toThrow(/without constructor/);
  });

  it('refuses two desks under one id told apart by case or a lookalike letter', () => {
    expect(() => read(wire(LONG_INSTANCE, { desks: [...desks, { ...desks[1], id: 'Workers' }] }))).toThrow(InstanceConfigError);
    expect(() => read(wire(LONG_INSTANCE, { desks: [...desks, { ...desks[1], id: 'wоrkers' }] }))).toThrow(InstanceConfigError); // Cyrillic о
  });
});

describe('a hostile config: link targets', () => {
  const onion = 'a'.repeat(56);
  it.each([
    'vbscript:msgbox(1)',
    ' javascript:alert(1)',
    'java\tscript:alert(1)',
    'javascript&colon;alert(1)',
    'data:image/svg+xml,<svg onload=alert(1)>',
    'blob:https://example.org/x',
    'file:///etc/passwd',
    '//evil.example/',
    '\\\\evil.example\\x',
    '/api/v1/source/lookup',
    '?lang=en',
    'http://example.org/',
    `http://${onion}.onion.evil.example/`,
    `http://evil.example/${onion}.onion`,
    `http://${'а'.repeat(56)}.onion/`, // Cyrillic а: xn--… is no v3 onion name
    `http://${onion.slice(1)}1.onion/`, // 1 is not base32
    'http://127.0.0.1/',
    'https://user@example.org/',
    'https://:pw@example.org/',
    `http://x@${onion}.onion/`,
    `https://example.org/${'a'.repeat(2048)}`,
  ])('refuses %s', (href) => {
    expect(safeHref(href)).toBeUndefined();
    const instance = { ...LONG_INSTANCE, intro: all([{ p: [{ text: 'x', href }] }]) };
    expect(() => read(wire(instance))).toThrow(/intro\.en\[0\]\.p\[0\]\.href/);
  });

  it('keeps https: and v3 onion links, and a fullwidth onion name only as the plain one it is', () => {
    expect(safeHref(ONION)).toBe(ONION);
    expect(safeHref('https://example.org/x')).toBe('https://example.org/x');
    const fullwidth = `http://${'ａ'.repeat(56)}.onion/`;
    expect(new URL(safeHref(fullwidth)!).hostname).toBe(`${onion}.onion`);
  });
});

describe('a hostile config: the key a tip goes to', () => {
  let desk: openpgp.PrivateKey;
  let foreign: openpgp.PrivateKey;
  beforeAll(async () => {
    ({ privateKey: desk } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Desk' }], format: 'object' }));
    // made later: a newer encryption subkey is the one OpenPGP.js would prefer, were it valid
    ({ privateKey: foreign } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Server' }], format: 'object', date: new Date(Date.now() + 60_000) }));
  });
  const recipients = async (armored: string) => {
    const key = await openpgp.readKey({ armoredKey: armored });
    const message = await encryptTip(new Uint8Array(4096), [key]);
    return { fingerprint: key.getFingerprint(), ids: (await inspectMessage(message)).recipientKeyIds };
  };
  const deskSubkeyId = () => desk.subkeys[0]!.getKeyID().toHex();

  it('a foreign encryption subkey grafted onto the desk key (its own binding signature) is not encrypted to', async () => {
    const packets = desk.toPublic().toPacketList();
    packets.push(...foreign.toPublic().toPacketList().filterByTag(openpgp.enums.packet.publicSubkey, openpgp.enums.packet.signature).slice(-2));
    const grafted = openpgp.armor(openpgp.enums.armor.publicKey, packets.write());
    expect(grafted).toContain('PUBLIC KEY');
    const got = await recipients(grafted);
    expect(got.fingerprint).toBe(desk.getFingerprint());
    expect(got.ids).toEqual([deskSubkeyId()]);
  });

  it('a second key after the desk key in the same armor is not encrypted to', async () => {
    const packets = desk.toPublic().toPacketList();
    packets.push(...foreign.toPublic().toPacketList());
    const got = await recipients(openpgp.armor(openpgp.enums.armor.publicKey, packets.write()));
    expect(got.fingerprint).toBe(desk.getFingerprint());
    expect(got.ids).toEqual([deskSubkeyId()]);
  });
});

describe('a hostile config: question ids', () => {
  // ids a file or a server may give (INSTANCE_ID), chosen to meet what the page makes of others
  const hostile = ['a', 'a-0', 'a-1', 'a-help', 'help', 'list', 'title', '0', 'where'];
  const made = (id: string) => {
    const ids = questionIds(id);
    return [ids.control, ids.help, ...Array.from({ length: 20 }, (_, i) => ids.option(i))];
  };

  it('gives every question its own element ids: no label or help points at another question', () => {
    const everyId = hostile.flatMap(made);
    expect(new Set(everyId).size).toBe(everyId.length);
  });

  it('gives no question an id the page itself uses (the list the questions go in, the message box…)', () => {
    const pageIds = readdirSync('client/pages')
      .filter((f) => f.endsWith('.html'))
      .flatMap((f) => [...readFileSync(join('client/pages', f), 'utf8').matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]!));
    expect(pageIds).toContain('message');
    for (const id of hostile) for (const made1 of made(id)) expect(pageIds).not.toContain(made1);
  });
});

describe('a hostile config: the logo and the questions', () => {
  it.each(['//evil.example/instance/logo', 'https://evil.example/instance/logo', '/instance/logo?u=//evil.example', '/instance/logo/../../x', '/instance/Logo', 'data:image/png;base64,AA==', ''])(
    'refuses the logo %s (it is /instance/logo or none)',
    (logo) => expect(() => read(wire({ ...LONG_INSTANCE, logo }))).toThrow(/instance\.logo/),
  );

  it('cannot ask more than the envelope takes: 20 required choice questions of the longest labels still fit answers.txt', () => {
    const long = (c: string) => c.repeat(170) + 'a'.repeat(MAX_LABEL_BYTES - 510); // 3-byte characters: 512 bytes in 172
    const loc = (c: string) => ({ en: long(c), ko: long(c), zh: long(c), ru: long(c), km: long(c) });
    const questions = Array.from({ length: MAX_QUESTIONS }, (_, i) => ({
      id: `q${i}`, kind: 'choice', label: loc('問'), help: null, required: true,
      options: [{ id: 'a', label: loc('甲') }, { id: 'b', label: loc('乙') }],
    }));
    const view = parseInstanceView({ ...LONG_INSTANCE, questions });
    expect(new TextEncoder().encode(view.questions[0]!.label.en).length).toBe(MAX_LABEL_BYTES);
    // the least a source can answer: one option each, label and value at their longest
    const answers = view.questions.map((q) => ({ id: q.id, label: q.label.en, value: [q.options[0]!.label.en] }));
    expect(new TextEncoder().encode(renderAnswers(answers)).length).toBeLessThanOrEqual(MAX_ANSWERS_BYTES);
    expect(() => checkAnswers(answers)).not.toThrow();
  });
});
