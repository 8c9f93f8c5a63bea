/**
 * @module client/submit — the first tip: message and files in, a codename out.
 *
 * While the source writes, the crypto worker makes the codename, its secrets and the locked reply
 * key, and the proof of work is solved; pressing "send" then only encrypts and uploads.
 */
import type { CodenameLanguage } from '../protocol/codename.ts';
import { WORDLIST_FOR_LANGUAGE } from './i18n/index.ts';
import { ApiError, getConfigPatiently, type ServerConfig } from './lib/api.ts';
import { byId, initPage, show } from './lib/page.ts';
import { sendTip, type Identity } from './lib/send.ts';
import { setupTipForm } from './lib/tip-form.ts';
import { CryptoWorker, PowSolver } from './lib/workers.ts';

/** The lists a source can pick, each named in its own language. */
const WORDLISTS: [CodenameLanguage, string, string][] = [
  ['english', 'English', 'en'],
  ['korean', '한국어', 'ko'],
  ['simplified-chinese', '简体中文', 'zh-Hans'],
  ['traditional-chinese', '繁體中文', 'zh-Hant'],
  ['japanese', '日本語', 'ja'],
  ['spanish', 'Español', 'es'],
  ['french', 'Français', 'fr'],
  ['italian', 'Italiano', 'it'],
  ['portuguese', 'Português', 'pt'],
  ['czech', 'Čeština', 'cs'],
];

const page = initPage();
const statusLine = byId('status-line');
const wordlist = byId<HTMLSelectElement>('wordlist');
const done = byId('done');
const form = byId('tip-form');
const codenameOut = byId('codename');
const copy = byId<HTMLButtonElement>('copy');
const copied = byId('copied');
const wroteItDown = byId<HTMLInputElement>('wrote-it-down');

for (const [value, label, lang] of WORDLISTS) {
  const option = document.createElement('option');
  option.value = value;
  option.lang = lang;
  option.textContent = label;
  wordlist.append(option);
}
wordlist.value = WORDLIST_FOR_LANGUAGE[page.language];
let wordlistChosen = false;

let context: { config: ServerConfig; crypto: CryptoWorker; pow: PowSolver } | undefined;
let identity: Promise<Identity & { codename: string }> | undefined;

function prepareIdentity(): void {
  if (!context) return;
  const { config, crypto } = context;
  identity = crypto.call('new-identity', {
    wordlist: wordlist.value as CodenameLanguage,
    instanceSalt: config.instanceSalt,
    newsroomKey: config.newsroomKey,
  });
  identity.catch(() => {});
}

wordlist.addEventListener('change', () => {
  wordlistChosen = true;
  prepareIdentity();
});
page.onLanguageChange((language) => {
  if (wordlistChosen || wordlist.value === WORDLIST_FOR_LANGUAGE[language]) return;
  wordlist.value = WORDLIST_FOR_LANGUAGE[language];
  prepareIdentity();
});

function leaveGuard(event: BeforeUnloadEvent): void {
  event.preventDefault();
  // Older engines show the dialog only when returnValue is set.
  event.returnValue = page.t('codename_leave');
}

/** Identities an upload was opened with: the server may have completed one whose answer was lost. */
const tried = new WeakSet<Promise<unknown>>();

const tipForm = setupTipForm(page, async (tip, signal, events) => {
  if (!context || !identity) throw new Error('expected the page to be ready');
  const chosen = identity;
  try {
    await sendTip(context, () => (tried.add(chosen), chosen), tip, signal, events);
  } catch (error) {
    // 88 random bits are never taken by someone else: a refused codename after an earlier try
    // means that try was delivered, only its answer never came back. Keep that codename.
    const delivered = error instanceof ApiError && error.code === 'codename_taken' && tried.has(chosen);
    if (!delivered) throw error;
  }
  const { codename } = await chosen;
  codenameOut.textContent = codename;
  codenameOut.lang = WORDLISTS.find(([v]) => v === wordlist.value)?.[2] ?? 'en';
  show(form, false);
  show(done, true);
  window.addEventListener('beforeunload', leaveGuard);
  done.querySelector('h2')?.setAttribute('tabindex', '-1');
  (done.querySelector('h2') as HTMLElement | null)?.focus();
});

copy.addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(codenameOut.textContent ?? '');
    page.setText(copied, 'codename_copied');
  } catch {
    // No clipboard access (Tor Browser may refuse it): select the words so Ctrl+C works.
    getSelection()?.selectAllChildren(codenameOut);
  }
});

wroteItDown.addEventListener('change', () => {
  if (wroteItDown.checked) window.removeEventListener('beforeunload', leaveGuard);
  else window.addEventListener('beforeunload', leaveGuard);
});

try {
  const [config, crypto] = await Promise.all([getConfigPatiently(), CryptoWorker.start()]);
  context = { config, crypto, pow: new PowSolver(config.pow) };
  prepareIdentity();
  show(statusLine, false);
  tipForm.enable();
} catch {
  page.setText(statusLine, 'load_failed');
  statusLine.classList.add('error');
  statusLine.setAttribute('role', 'alert');
}
