/**
 * @module test/e2e/browsers — the two browsers a source meets: Debian's Chromium, and Firefox ESR
 * set like Tor Browser's "Safer" level (JIT, WebAssembly and the native regexp compiler off).
 * A missing browser skips its stories on a workstation and fails them in CI (CI=true).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export type BrowserName = 'chromium' | 'firefox';

export const EXECUTABLES: Record<BrowserName, string> = {
  chromium: '/usr/bin/chromium',
  firefox: '/usr/bin/firefox-esr',
};

/** What Tor Browser's "Safer" security level switches off. */
export const SAFER_PREFS = {
  'javascript.options.baselinejit': false,
  'javascript.options.ion': false,
  'javascript.options.wasm': false,
  'javascript.options.native_regexp': false,
};

export function browserAvailable(name: BrowserName): boolean {
  const present = existsSync(EXECUTABLES[name]);
  if (!present && process.env.CI === 'true') {
    throw new Error(`CI=true but ${EXECUTABLES[name]} is missing: the browser stories must run in CI`);
  }
  return present;
}

export type LaunchedBrowser = { browser: Browser; close(): Promise<void> };

const LAUNCH_TIMEOUT_MS = 180_000;

/** What Tor Browser's "Safest" level switches off besides: JavaScript itself. */
export const SAFEST_PREFS = { ...SAFER_PREFS, 'javascript.enabled': false };

/**
 * `jitOff` applies to Firefox only (the default there: the stories run as Tor Browser "Safer");
 * `javascript: false` too, as "Safest" (in Chromium, switch it off per page:
 * `page.setJavaScriptEnabled(false)`).
 */
export async function launchBrowser(name: BrowserName, options: { jitOff?: boolean; javascript?: boolean } = {}): Promise<LaunchedBrowser> {
  if (name === 'chromium') {
    const userDataDir = mkdtempSync(join(tmpdir(), 'sealdrop-chromium-'));
    const browser = await puppeteer.launch({
      executablePath: EXECUTABLES.chromium,
      headless: true,
      userDataDir,
      timeout: LAUNCH_TIMEOUT_MS,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    return {
      browser,
      async close() {
        await browser.close();
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  }
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: EXECUTABLES.firefox,
    headless: true,
    extraPrefsFirefox: options.javascript === false ? SAFEST_PREFS : options.jitOff === false ? {} : SAFER_PREFS,
    // Firefox's first start with a fresh profile took over puppeteer's 30 s default on a loaded
    // two-core machine (seen three times in a row); a slow start is not what the stories test
    timeout: LAUNCH_TIMEOUT_MS,
  });
  return { browser, close: () => browser.close() };
}
