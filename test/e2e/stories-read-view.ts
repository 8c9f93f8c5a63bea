/**
 * @module test/e2e/stories-read-view — the editor reads hostile tips in `sealdrop read`'s view
 * (issue 14): HTML and script in the message, a file named with an RTL override and C1 controls,
 * a 256 KiB message, an SVG with script, a PDF with JavaScript, text in the five languages, answers
 * to the instance's questions with markup and bidi overrides in their labels and values. Nothing
 * executes (no dialog, no CSP violation, no request but the view's own), the names and text are
 * shown as text, the risky files are marked, and files are downloads only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDemoPublicKey, makeSubmission, randomId } from '../cli/fixtures.ts';
import { DEMO_PASSPHRASE, DEMO_SECRET_KEY, makeTempDir, runCli, writeBundle } from '../cli/helpers.ts';
import { addReply, newReplyId, today } from '../../cli/inbox.ts';
import { startReadServer, type ReadServer } from '../../cli/read-server.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';

const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const enc = new TextEncoder();

const HOSTILE_MESSAGE =
  '<img src=x onerror="alert(1)"><script>alert(2)</script><b>bold?</b>\n' +
  '<iframe src="http://example.org/"></iframe> <a href="javascript:alert(3)">x</a>\n' +
  'order: \u202Etxt.exe\u202C and C1: [\u0085][\u009B] and NUL-free\n' +
  '북한 노동자입니다. 我们在工厂。 Мы на стройке. យើងធ្វើការ។\n';
const LONG_MESSAGE = 'ㄱ'.repeat(87_381); // 3 bytes each: 262,143 bytes, one under 256 KiB
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(4)"><script>alert(5)</script><image href="http://example.org/x.png"/></svg>';
const HOSTILE_ANSWERS = [
  { id: 'where', label: '<b>어디에서?</b> \u202Eereh\u202C', value: ['<script>alert(8)</script>\n\u202Egpj.exe'] },
  { id: 'companies', label: 'Which companies?', value: ['<img src=x onerror="alert(9)">', 'Blue Sea Ltd'] },
  { id: 'how', label: 'Откуда вы знаете?', value: [] },
];
const PDF = '%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction 2 0 R >> endobj\n2 0 obj << /S /JavaScript /JS (app.alert(6)) >> endobj\n%%EOF\n';

export function defineReadViewStories(name: BrowserName): void {
  describe.skipIf(!browserAvailable(name))(`the read view in ${name}`, () => {
    let tmp: Awaited<ReturnType<typeof makeTempDir>>;
    let launched: LaunchedBrowser;
    let view: ReadServer;
    let page: Page;
    const requests: string[] = [];
    const dialogs: string[] = [];
    const ids = { hostile: randomId(), long: randomId(), other: randomId() };

    beforeAll(async () => {
      tmp = await makeTempDir('sealdrop-read-view-');
      const key = await readDemoPublicKey();
      await writeBundle(join(tmp.dir, 'bundle'), [
        {
          id: ids.hostile,
          handle: 'quiet-otter',
          day: '2026-11-20',
          ciphertext: await makeSubmission({
            language: 'ko',
            message: HOSTILE_MESSAGE,
            answers: HOSTILE_ANSWERS,
            files: [
              { name: 'invoice\u202Egpj.exe\u0085\u009B', type: 'image/jpeg', bytes: enc.encode('MZ\x90\x00 not really a program'), stripped: false },
              { name: 'chart.svg', type: 'image/svg+xml', bytes: enc.encode(SVG), stripped: false },
              { name: 'report.pdf', type: 'application/pdf', bytes: enc.encode(PDF), stripped: false },
            ],
          }, key),
        },
        { id: ids.long, handle: 'quiet-otter', day: '2026-11-21', ciphertext: await makeSubmission({ language: 'ko', message: LONG_MESSAGE, files: [] }, key) },
        { id: ids.other, handle: 'brave-lynx', day: '2026-11-19', ciphertext: await makeSubmission({ language: 'km', message: 'សួស្តី', files: [] }, key) },
      ]);
      const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, 'bundle'], {
        cwd: tmp.dir,
        env: { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE, SEALDROP_INBOX: join(tmp.dir, 'inbox') },
      });
      expect(r.code, r.stderr).toBe(0);
      // The reply box's path through the page and the server; what sealdrop read -i does with the
      // text (sign, encrypt, outbox) is test/cli/inbox.test.ts's, against a running server.
      const inbox = join(tmp.dir, 'inbox');
      view = await startReadServer({
        inbox,
        port: 0,
        reply: async (handle, text) => {
          const id = newReplyId();
          const outboxFile = `${handle}/${id}.pgp`;
          await addReply(inbox, handle, { id, day: today(), bytes: text.length, outboxFile }, text);
          return { id, outboxFile };
        },
      });
      launched = await launchBrowser(name);
      page = await launched.browser.newPage();
      page.setDefaultTimeout(90_000);
      page.on('request', (request) => void requests.push(request.url()));
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      await page.evaluateOnNewDocument(() => {
        (window as unknown as { __csp: string[] }).__csp = [];
        document.addEventListener('securitypolicyviolation', (event) => {
          (window as unknown as { __csp: string[] }).__csp.push(`${event.violatedDirective} ${event.blockedURI}`);
        });
      });
    });

    afterAll(async () => {
      await launched?.close();
      await view?.close();
      await tmp?.cleanup();
    });

    it('lists the sources with their last day and unread counts', async () => {
      const response = await page.goto(view.url, { waitUntil: 'load' });
      expect(response?.headers()['content-security-policy']).toMatch(/^default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'/);
      await page.waitForSelector('#sources a');
      const rows = await page.$$eval('#sources a', (links) => links.map((a) => a.textContent));
      expect(rows).toEqual([
        'quiet-otterlast 2026-11-21 · 2 tips, 2 unread · 0 replies0 signed by its key, 2 NOT',
        'brave-lynxlast 2026-11-19 · 1 tip, 1 unread · 0 replies0 signed by its key, 1 NOT',
      ]);
    });

    it('shows a conversation as text only: no markup from the sender, controls made visible, risky files marked', async () => {
      await page.click('#sources a[data-handle="quiet-otter"]');
      await page.waitForFunction(() => document.querySelectorAll('#items .tip').length === 2);
      const shown = await page.evaluate(() => ({
        scripts: [...document.scripts].map((s) => new URL(s.src).pathname.split('/').pop()),
        foreign: document.querySelectorAll('#items img, #items iframe, #items b, #items script, #items svg, #items object, #items embed').length,
        hrefs: [...document.querySelectorAll('#items a')].map((a) => a.getAttribute('href')),
        first: document.querySelector('#items .tip .message')?.textContent ?? '',
        dir: document.querySelector('#items .tip .message')?.getAttribute('dir'),
        lang: document.querySelector('#items .tip .message')?.getAttribute('lang'),
        names: [...document.querySelectorAll('#items .files .name')].map((n) => n.textContent),
        risks: [...document.querySelectorAll('#items .files li')].map((li) => li.querySelector('.risk')?.textContent ?? null),
        cleaning: [...document.querySelectorAll('#items .files .meta')].map((m) => m.textContent),
        longBytes: new TextEncoder().encode(document.querySelectorAll('#items .tip .message')[1]?.textContent ?? '').length,
        attributions: [...document.querySelectorAll('#items .tip .attribution')].map((p) => p.textContent),
        answers: [...document.querySelectorAll('#items .tip .answers > *')].map((n) => `${n.tagName} ${n.textContent}`),
        answerChildren: [...document.querySelectorAll('#items .tip .answers dt, #items .tip .answers pre')].map((n) => n.children.length),
      }));
      // these tips are unsigned (no source key made them): each says so, in words
      expect(shown.attributions).toEqual(Array(2).fill("UNSIGNED — which source sent it is only the server's word"));
      expect(shown.scripts).toEqual(['read.js']);
      expect(shown.foreign).toBe(0);
      // only the view's own download links, never the sender's javascript: link
      for (const href of shown.hrefs) expect(href).toMatch(/^\/[A-Za-z0-9_-]+\/api\/sources\/quiet-otter\/files\/[0-9a-f-]{36}\/[1-3]$/);
      expect(shown.first).toContain('<img src=x onerror="alert(1)"><script>alert(2)</script><b>bold?</b>');
      expect(shown.first).toContain('order: ⟦U+202E⟧txt.exe⟦U+202C⟧ and C1: [⟦U+0085⟧][⟦U+009B⟧]');
      expect(shown.first).toContain('북한 노동자입니다. 我们在工厂。 Мы на стройке. យើងធ្វើការ។');
      expect(shown.dir).toBe('auto');
      expect(shown.lang).toBe('ko');
      // the protocol cleaned the name before it was sent; the view shows what is left as text
      expect(shown.names).toEqual(['invoice_gpj.exe__', 'chart.svg', 'report.pdf']);
      expect(shown.risks).toEqual([
        'risky: a program: it runs code when opened',
        'risky: an SVG image: it can hold scripts and links',
        'risky: a PDF with /JavaScript: it can run scripts or start programs',
      ]);
      expect(shown.cleaning[0]).toBe(' image/jpeg, 26 B, metadata NOT removed');
      expect(shown.longBytes).toBe(LONG_MESSAGE.length * 3);
      // the answers: each label, then each value as text; bidi overrides shown as code points
      expect(shown.answers).toEqual([
        'DT <b>어디에서?</b> ⟦U+202E⟧ereh⟦U+202C⟧',
        'DD <script>alert(8)</script>\n⟦U+202E⟧gpj.exe',
        'DT Which companies?',
        'DD <img src=x onerror="alert(9)">',
        'DD Blue Sea Ltd',
        'DT Откуда вы знаете?',
        'DD (no answer)',
      ]);
      expect(shown.answerChildren.every((n) => n === 0)).toBe(true);
    });

    it('serves files as downloads only, never rendered', async () => {
      const href = await page.$eval('#items .files a', (a) => (a as HTMLAnchorElement).href);
      for (const n of [1, 2, 3]) {
        const response = await fetch(href.replace(/\/1$/, `/${n}`));
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('application/octet-stream');
        expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="/);
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
        await response.arrayBuffer();
      }
    });

    it('marks the conversation read', async () => {
      await page.reload({ waitUntil: 'load' });
      await page.waitForSelector('#sources a');
      expect(await page.$eval('#sources a[data-handle="quiet-otter"]', (a) => a.textContent)).toBe('quiet-otterlast 2026-11-21 · 2 tips · 0 replies0 signed by its key, 2 NOT');
      expect(await page.$eval('#sources a[data-handle="brave-lynx"]', (a) => a.textContent)).toBe('brave-lynxlast 2026-11-19 · 1 tip, 1 unread · 0 replies0 signed by its key, 1 NOT');
    });

    it('writes a reply from the box and shows it in the conversation, as text', async () => {
      await page.click('#sources a[data-handle="quiet-otter"]');
      await page.waitForSelector('#reply-box:not([hidden])');
      await page.$eval('#reply-text', (el) => ((el as HTMLTextAreaElement).value = '<script>alert(7)</script> 고맙습니다\n'));
      await page.click('#reply-send');
      await page.waitForFunction(() => document.querySelector('#reply-status')?.textContent?.startsWith('Written to the outbox'));
      const reply = await page.$eval('#items .reply .message', (m) => ({ text: m.textContent, children: m.children.length, dir: m.getAttribute('dir') }));
      expect(reply).toEqual({ text: '<script>alert(7)</script> 고맙습니다\n', children: 0, dir: 'auto' });
      expect(await page.$eval('#reply-text', (el) => (el as HTMLTextAreaElement).value)).toBe('');
    });

    it('nothing executed: no dialog, no CSP violation, no request but the view\'s own', async () => {
      expect(dialogs).toEqual([]);
      expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
      const origin = new URL(view.url).origin;
      // Firefox reports a data: font of its own (no page asks for one): not a network request
      for (const url of requests.filter((u) => !u.startsWith('data:font/'))) expect(url.startsWith(view.url), url).toBe(true);
      expect(requests.filter((u) => u.startsWith(view.url)).length).toBeGreaterThan(4);
      expect(origin).toBe(`http://127.0.0.1:${view.port}`);
    });

    it('axe finds no serious or critical problem', async () => {
      await page.evaluate(AXE);
      const problems = await page.evaluate(async () => {
        const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
        const { violations } = await axe.run(document, { resultTypes: ['violations'] });
        return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      });
      expect(problems).toEqual([]);
    });
  });
}
