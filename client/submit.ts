/**
 * @module client/submit — the first tip: message and files in, a codename out.
 *
 * While the source writes, the crypto worker makes the codename, its secrets and the locked reply
 * key, and the proof of work is solved; pressing "send" then only encrypts and uploads.
 */
import type { CodenameScheme } from '../protocol/codename.ts';
import { CODENAME_SCHEME_FOR_LANGUAGE } from './i18n/index.ts';
import { ApiError, type ServerConfig } from './lib/api.ts';
import { loadNewsroom } from './lib/newsroom.ts';
import { KeyMismatchError } from './lib/newsroom-key.ts';
import { byId, initPage, show } from './lib/page.ts';
import { sendTip, type Identity } from './lib/send.ts';
import { setupTipForm } from './lib/tip-form.ts';
import { ModuleIntegrityError } from './lib/verified-modules.ts';
import { CryptoWorker, PowSolver } from './lib/workers.ts';

/**
 * What a codename can be made of: digits first (they read the same to everyone), then the curated
 * word lists, each named in its own language. Both Chinese entries draw from one list.
 */
const SCHEMES: [CodenameScheme, string | undefined, string | undefined][] = [
  ['digits', undefined, undefined],
  ['english', 'English', 'en'],
  ['korean', '조선말·한국어', 'ko'],
  ['simplified-chinese', '中文（简体字）', 'zh-Hans'],
  ['traditional-chinese', '中文（繁體字）', 'zh-Hant'],
];

const page = initPage();
const statusLine = byId('status-line');
const schemePicker = byId<HTMLSelectElement>('wordlist');
const done = byId('done');
const form = byId('tip-form');
const codenameOut = byId('codename');
const heading = byId('submit-heading');
const intro = byId('submit-intro');
const wroteItDown = byId<HTMLInputElement>('wrote-it-down');

for (const [value, label, lang] of SCHEMES) {
  const option = document.createElement('option');
  option.value = value;
  if (lang) option.lang = lang;
  if (label) option.textContent = label;
  else page.setText(option, 'codename_digits_option');
  schemePicker.append(option);
}
schemePicker.value = CODENAME_SCHEME_FOR_LANGUAGE[page.language];
let schemeChosen = false;

let context: { config: ServerConfig; crypto: CryptoWorker; pow: PowSolver } | undefined;
let identity: Promise<Identity & { codename: string; boxes: string[] }> | undefined;
let identityScheme: CodenameScheme = 'digits';

function prepareIdentity(): void {
  if (!context) return;
  const { config, crypto } = context;
  identityScheme = schemePicker.value as CodenameScheme;
  identity = crypto.call('new-identity', {
    scheme: identityScheme,
    instanceSalt: config.instanceSalt,
    newsroomKey: config.newsroomKey,
  });
  identity.catch(() => {});
}

schemePicker.addEventListener('change', () => {
  schemeChosen = true;
  prepareIdentity();
});
page.onLanguageChange((language) => {
  if (schemeChosen || schemePicker.value === CODENAME_SCHEME_FOR_LANGUAGE[language]) return;
  schemePicker.value = CODENAME_SCHEME_FOR_LANGUAGE[language];
  prepareIdentity();
});

/**
 * One numbered box per word or group, so the codename is copied onto paper word by word; the
 * boxes are separated by spaces in the text, so a copied selection still reads as the codename.
 */
function showCodename(boxes: string[], scheme: CodenameScheme): void {
  const lang = SCHEMES.find(([v]) => v === scheme)?.[2];
  if (lang) codenameOut.lang = lang;
  else codenameOut.removeAttribute('lang');
  codenameOut.replaceChildren(
    ...boxes.flatMap((box, i) => {
      const li = document.createElement('li');
      li.textContent = box;
      return i === 0 ? [li] : [document.createTextNode(' '), li];
    }),
  );
}

function leaveGuard(event: BeforeUnloadEvent): void {
  event.preventDefault();
  // Older engines show the dialog only when returnValue is set.
  event.returnValue = page.t('codename_leave');
}

/** Identities an upload was opened with: the server may have completed one whose answer was lost. */
const tried = new WeakSet<Promise<unknown>>();

const instanceIntro = byId('instance-intro');

const tipForm = setupTipForm(page, async (tip, signal, events) => {
  if (!context || !identity) throw new Error('expected the page to be ready');
  const chosen = identity;
  const scheme = identityScheme;
  try {
    // the envelope names the reply key this page made (PROTOCOL.md, "Envelope")
    const sourceKey = async () => {
      const { sourceKeys } = await chosen;
      if (!sourceKeys) throw new Error('expected the new identity to carry its reply key');
      return { publicKey: sourceKeys.publicKey };
    };
    await sendTip(context, () => (tried.add(chosen), chosen), sourceKey, tip, signal, events);
  } catch (error) {
    // 88 random bits or more are never taken by someone else: a refused codename after an earlier try
    // means that try was delivered, only its answer never came back. Keep that codename.
    const delivered = error instanceof ApiError && error.code === 'codename_taken' && tried.has(chosen);
    if (!delivered) throw error;
  }
  const { boxes } = await chosen;
  showCodename(boxes, scheme);
  // what is left on the screen is the tip's outcome: no "Send a tip" above "Your tip was sent"
  show(form, false);
  show(heading, false);
  show(intro, false);
  show(instanceIntro, false);
  show(done, true);
  window.addEventListener('beforeunload', leaveGuard);
  done.querySelector('h2')?.setAttribute('tabindex', '-1');
  (done.querySelector('h2') as HTMLElement | null)?.focus();
}, { askQuestions: true });

// No copy button: the page's advice is paper only, and a clipboard is read by whatever runs on
// the device (clipboard managers keep a history, some sync it to other devices and clouds).

wroteItDown.addEventListener('change', () => {
  if (wroteItDown.checked) window.removeEventListener('beforeunload', leaveGuard);
  else window.addEventListener('beforeunload', leaveGuard);
});

try {
  // Before anything else starts: a server that lies about a key gets nothing from this page.
  const { config, crypto, instance, desks } = await loadNewsroom(page);
  context = { config, crypto, pow: new PowSolver(config.pow) };
  prepareIdentity();
  show(statusLine, false);
  tipForm.enable(desks, instance);
} catch (error) {
  page.setText(
    statusLine,
    error instanceof KeyMismatchError ? 'key_mismatch' : error instanceof ModuleIntegrityError ? 'code_altered' : 'load_failed',
  );
  statusLine.classList.add('error');
  statusLine.setAttribute('role', 'alert');
}
