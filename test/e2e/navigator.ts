/**
 * @module test/e2e/navigator — a source's actions in the browser, named as user stories, and
 * the page's manners recorded as it goes: every request it makes, every CSP violation it reports.
 */
import type { Browser, Page } from 'puppeteer-core';

declare global {
  interface Window {
    __cspViolations: string[];
  }
}

export class SourceNavigator {
  /** Every URL the page (and its frames) asked for, in order. */
  readonly requests: string[] = [];
  readonly consoleErrors: string[] = [];

  private constructor(
    readonly page: Page,
    readonly origin: string,
  ) {
    page.on('request', (request) => {
      this.requests.push(request.url());
    });
    page.on('console', (message) => {
      if (message.type() === 'error') this.consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => this.consoleErrors.push(`pageerror: ${(error as Error).message}`));
  }

  static async open(browser: Browser, origin: string): Promise<SourceNavigator> {
    const page = await browser.newPage();
    // Registered before any page script, in every document the tab loads.
    await page.evaluateOnNewDocument(() => {
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (event) => {
        window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
      });
    });
    page.setDefaultTimeout(90_000);
    return new SourceNavigator(page, origin);
  }

  /** Goes to a page; answers the Content-Security-Policy header it was served with. */
  async sourceVisits(path: string): Promise<string | undefined> {
    const response = await this.page.goto(this.origin + path, { waitUntil: 'load' });
    return response?.headers()['content-security-policy'];
  }

  async sourceWaitsForThePageToBeReady(button: 'submit' | 'check' = 'submit'): Promise<void> {
    await this.page.waitForSelector(`[data-testid=${button}]:not([disabled])`);
  }

  async sourceWritesMessage(text: string): Promise<void> {
    const box = await this.page.$('[data-testid=message]');
    // Typing key by key is slow with the JIT off; the input event is what the page listens to.
    await box!.evaluate((el, value) => {
      (el as HTMLTextAreaElement).value = value;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, text);
  }

  async sourceAttachesFiles(...paths: string[]): Promise<string[]> {
    const input = await this.page.$('[data-testid=files]');
    await (input as unknown as { uploadFile(...p: string[]): Promise<void> }).uploadFile(...paths);
    await this.page.waitForFunction(
      (n) => [...document.querySelectorAll('#file-list li p:nth-child(2)')].filter((p) => p.textContent).length === n,
      {},
      paths.length,
    );
    return this.page.$$eval('#file-list li p:nth-child(2)', (notes) => notes.map((n) => `${n.className}: ${n.textContent}`));
  }

  /** What the page says about each attached file: its hidden data, its name, the name it will be sent under. */
  async sourceReadsFileNotes(): Promise<{ note: string; nameNote: string; sendName: string }[]> {
    return this.page.$$eval('#file-list li', (items) =>
      items.map((li) => ({
        note: `${li.querySelector('p:nth-child(2)')!.className}: ${li.querySelector('p:nth-child(2)')!.textContent}`,
        nameNote: `${li.querySelector('p:nth-child(3)')!.className}: ${li.querySelector('p:nth-child(3)')!.textContent}`,
        sendName: (li.querySelector('[data-testid=send-name]') as HTMLInputElement).value,
      })),
    );
  }

  /** Types another name for the `index`-th file (0-based) in its "name to send" box. */
  async sourceRenamesFile(index: number, name: string): Promise<void> {
    const boxes = await this.page.$$('[data-testid=send-name]');
    await boxes[index]!.evaluate((el, value) => {
      (el as HTMLInputElement).value = value;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, name);
  }

  /** From now on, every text the progress line shows is recorded; read them with progressShown(). */
  async sourceWatchesProgress(): Promise<void> {
    await this.page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __progress: string[] }).__progress = seen;
      const line = document.querySelector('#progress-text')!;
      new MutationObserver(() => {
        const text = line.textContent ?? '';
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(line, { childList: true, characterData: true, subtree: true });
    });
  }

  async progressShown(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { __progress?: string[] }).__progress ?? []);
  }

  /** Writes, attaches, sends; returns the codename shown. `timeoutMs`: for a dear proof of work. */
  async sourceSubmitsTip(tip: { message: string; files?: string[] }, { timeoutMs = 180_000 } = {}): Promise<string> {
    await this.sourceWaitsForThePageToBeReady('submit');
    await this.sourceWritesMessage(tip.message);
    if (tip.files?.length) await this.sourceAttachesFiles(...tip.files);
    await this.page.click('[data-testid=submit]');
    await this.page.waitForFunction(
      () => document.querySelector('[data-testid=codename]')?.textContent || document.querySelector('#error:not([hidden])'),
      { timeout: timeoutMs },
    );
    const error = await this.page.$eval('#error', (e) => ((e as HTMLElement).hidden ? '' : e.textContent));
    if (error) throw new Error(`the page reported: ${error}`);
    return this.page.$eval('[data-testid=codename]', (e) => e.textContent!);
  }

  /** Tries to leave the page; answers whether the browser asked "leave without your codename?" first. */
  async sourceTriesToLeave(path: string): Promise<boolean> {
    const asked = new Promise<boolean>((resolve) => {
      this.page.once('dialog', async (dialog) => {
        resolve(dialog.type() === 'beforeunload');
        await dialog.dismiss();
      });
      setTimeout(() => resolve(false), 5_000);
    });
    await this.page.evaluate((p) => void (location.href = p), path);
    return asked;
  }

  async sourceConfirmsSheWroteItDown(): Promise<void> {
    await this.page.click('#wrote-it-down');
  }

  async sourceTypesCodename(codename: string): Promise<{ ok: string[]; bad: string[]; feedback: string }> {
    const input = await this.page.$('[data-testid=codename-input]');
    await input!.evaluate((el) => ((el as HTMLInputElement).value = ''));
    await input!.type(codename);
    // the answer to the last keystroke: the page marks the feedback busy until that one is shown
    // (an earlier keystroke's answer, shown with as many words, would otherwise pass for it)
    await this.page.waitForFunction(
      (n) =>
        !document.querySelector('#word-feedback')!.hasAttribute('aria-busy') &&
        document.querySelectorAll('#words li').length === n &&
        document.querySelectorAll('#words li:not(.ok):not(.bad)').length <= 1,
      {},
      codename.trim().split(/\s+/).length,
    );
    return this.page.evaluate(() => ({
      ok: [...document.querySelectorAll('#words li.ok')].map((li) => li.textContent!),
      bad: [...document.querySelectorAll('#words li.bad')].map((li) => li.textContent!),
      feedback: document.querySelector('#word-feedback')!.textContent!,
    }));
  }

  /** Types the codename and opens; answers the replies' texts and the statuses shown. */
  async sourceReturnsWithCodename(codename: string): Promise<{ replies: string[]; statuses: string[] }> {
    await this.sourceWaitsForThePageToBeReady('check');
    await this.sourceTypesCodename(codename);
    await this.page.click('[data-testid=check]');
    await this.page.waitForSelector('#account:not([hidden]), #lookup-error:not([hidden])', { timeout: 120_000 });
    const error = await this.page.$eval('#lookup-error', (e) => ((e as HTMLElement).hidden ? '' : e.textContent));
    if (error) throw new Error(`the page reported: ${error}`);
    return this.sourceReadsAccount();
  }

  async sourceReadsAccount(): Promise<{ replies: string[]; statuses: string[] }> {
    return this.page.evaluate(() => ({
      replies: [...document.querySelectorAll('[data-testid=reply] pre')].map((p) => p.textContent!),
      statuses: [...document.querySelectorAll('[data-testid=status]')].map((li) => (li as HTMLElement).dataset.status!),
    }));
  }

  /** Each reply's shown text, and why it was refused (`data-refused`), or null for a reply shown. */
  async sourceReadsReplies(): Promise<{ text: string; refused: string | null }[]> {
    return this.page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[data-testid=reply]')].map((r) => ({ text: r.querySelector('pre')!.textContent!, refused: r.dataset.refused ?? null })),
    );
  }

  /** Each reply's text, and whose key it says signed it (the line and the fingerprint), or null where it says none. */
  async sourceReadsRepliesAndSigners(): Promise<{ text: string; refused: string | null; signer: { label: string; fingerprint: string } | null }[]> {
    return this.page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[data-testid=reply]')].map((r) => {
        const line = r.querySelector('[data-testid=reply-signer]');
        return {
          text: r.querySelector('pre')!.textContent!,
          refused: r.dataset.refused ?? null,
          signer: line ? { label: line.querySelector('p:not(.fingerprint)')!.textContent!, fingerprint: line.querySelector('.fingerprint')!.textContent! } : null,
        };
      }),
    );
  }

  async sourceDeletesReply(index: number): Promise<void> {
    const before = await this.page.$$eval('[data-testid=reply]', (r) => r.length);
    const buttons = await this.page.$$('[data-testid=reply] button');
    await buttons[index]!.click();
    await this.page.waitForFunction((n) => document.querySelectorAll('[data-testid=reply]').length === n - 1, {}, before);
  }

  async sourceSendsFollowUp(message: string): Promise<void> {
    await this.sourceWritesMessage(message);
    await this.page.click('[data-testid=submit]');
    await this.page.waitForSelector('#followup-sent:not([hidden]), #error:not([hidden])', { timeout: 180_000 });
    const error = await this.page.$eval('#error', (e) => ((e as HTMLElement).hidden ? '' : e.textContent));
    if (error) throw new Error(`the page reported: ${error}`);
  }

  /**
   * The key check beside the send button: whether it is shown, its lines as read, the fingerprint,
   * how many lines the fingerprint takes, and how far right the box reaches (CSS pixels).
   */
  async sourceReadsKeyCheck(): Promise<{ shown: boolean; lines: string[]; fingerprint: string; fingerprintRows: number; right: number }> {
    return this.page.evaluate(() => {
      const box = document.querySelector('#key-check') as HTMLElement;
      const fingerprint = document.querySelector('[data-testid=fingerprint]')!;
      const range = document.createRange();
      range.selectNodeContents(fingerprint);
      const rows = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top + r.height / 2)));
      return {
        shown: box.offsetParent !== null,
        lines: [...box.querySelectorAll('p')].map((p) => p.textContent!),
        fingerprint: fingerprint.textContent!,
        fingerprintRows: rows.size,
        right: box.getBoundingClientRect().right,
      };
    });
  }

  async sourcePicksLanguage(language: string): Promise<void> {
    await this.page.select('[data-testid=language]', language);
  }

  async cspViolations(): Promise<string[]> {
    return this.page.evaluate(() => window.__cspViolations ?? ['(listener missing)']);
  }

  /** axe-core's serious and critical findings for the page as it is now. */
  async accessibilityProblems(axeSource: string): Promise<string[]> {
    await this.page.evaluate(axeSource);
    return this.page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
      const { violations } = await axe.run(document, { resultTypes: ['violations'] });
      return violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    });
  }

  /** Puts text in the codename box as a paste or an input method does; answers what the page read. */
  async sourceEntersCodename(text: string): Promise<{ words: string[]; ok: string[]; bad: string[]; feedback: string }> {
    await this.sourceWaitsForThePageToBeReady('check');
    await this.page.$eval(
      '[data-testid=codename-input]',
      (el, value) => {
        (el as HTMLTextAreaElement).value = value;
        el.dispatchEvent(new Event('input', { bubbles: true }));
      },
      text,
    );
    await this.page.waitForSelector('#word-feedback:not([aria-busy])');
    return this.page.evaluate(() => ({
      words: [...document.querySelectorAll('#words li')].map((li) => li.textContent!),
      ok: [...document.querySelectorAll('#words li.ok')].map((li) => li.textContent!),
      bad: [...document.querySelectorAll('#words li.bad')].map((li) => li.textContent!),
      feedback: document.querySelector('#word-feedback')!.textContent!,
    }));
  }

  /** Enters a codename that checks and presses "Open"; answers whether the account opened, or what was said. */
  async sourceOpensCodename(text: string): Promise<{ opened: boolean; error: string; orderHint: string; statuses: string[]; replies: string[] }> {
    await this.sourceEntersCodename(text);
    await this.page.click('[data-testid=check]');
    await this.page.waitForSelector('#account:not([hidden]), #lookup-error:not([hidden])', { timeout: 120_000 });
    const said = await this.page.evaluate(() => ({
      opened: !(document.querySelector('#account') as HTMLElement).hidden,
      error: (document.querySelector('#lookup-error') as HTMLElement).hidden ? '' : document.querySelector('#lookup-error')!.textContent!,
      orderHint: (document.querySelector('#order-hint') as HTMLElement).hidden ? '' : document.querySelector('#order-hint')!.textContent!,
    }));
    return { ...said, ...(await this.sourceReadsAccount()) };
  }

  /** The boxes the new codename is shown in, and how many rows they take. */
  async sourceReadsCodenameBoxes(): Promise<{ boxes: string[]; rows: number }> {
    return this.page.$$eval('[data-testid=codename] li', (lis) => ({
      boxes: lis.map((li) => li.textContent!),
      rows: new Set(lis.map((li) => Math.round(li.getBoundingClientRect().top))).size,
    }));
  }

  /**
   * Words inside `selector`'s visible text whose glyphs lie on more than one line: each word's
   * Range must give client boxes on one line only. A word runs between white space; an opening
   * bracket starts a new one (Korean writes a gloss right after its word: "안전함(Safer)").
   */
  async wordsBrokenAcrossLines(selector: string): Promise<string[]> {
    return this.page.evaluate((sel) => {
      const broken: string[] = [];
      for (const root of document.querySelectorAll(sel)) {
        if ((root as HTMLElement).offsetParent === null && root !== document.body) continue; // hidden
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const text = node.textContent ?? '';
          for (const m of text.matchAll(/[([“‘]?[^\s([“‘]+/gu)) {
            const range = document.createRange();
            range.setStart(node, m.index!);
            range.setEnd(node, m.index! + m[0].length);
            const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top + r.height / 2)));
            if (lines.size > 1) broken.push(m[0]);
          }
        }
      }
      return broken;
    }, selector);
  }

  /** URLs that are neither this origin nor local data (data:, blob:). */
  foreignRequests(): string[] {
    return this.requests.filter((url) => !url.startsWith(this.origin + '/') && !/^(data|blob):/.test(url));
  }
}
