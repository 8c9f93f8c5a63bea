/**
 * @module client/return — a returning source: codename in (each word checked before any
 * request), statuses and decrypted replies out, replies deleted, more sent.
 */
import { CODENAME_WORDS } from '../protocol/limits.ts';
import { ApiError, deleteReply, getConfigPatiently, lookupSource, type LookupAnswer, type ServerConfig } from './lib/api.ts';
import { byId, initPage, show } from './lib/page.ts';
import { sendTip } from './lib/send.ts';
import { setupTipForm } from './lib/tip-form.ts';
import { CryptoWorker, PowSolver } from './lib/workers.ts';
import type { CryptoCalls } from './workers/messages.ts';

const page = initPage();
const codenameForm = byId<HTMLFormElement>('codename-form');
const codenameInput = byId<HTMLInputElement>('codename-input');
const wordsOut = byId('words');
const feedback = byId('word-feedback');
const check = byId<HTMLButtonElement>('check');
const lookupStatus = byId('lookup-status');
const lookupError = byId('lookup-error');
const account = byId('account');
const statuses = byId('statuses');
const replies = byId('replies');
const noReplies = byId('no-replies');
const replyNote = byId('reply-note');
const followupSent = byId('followup-sent');

let context: { config: ServerConfig; crypto: CryptoWorker; pow: PowSolver } | undefined;
let lookupId: string | undefined;
let checking = 0;

type CheckAnswer = CryptoCalls['check-codename']['result'];

function renderCheck({ check: result, words }: CheckAnswer, typing: boolean): void {
  // The word being typed is not judged until a space or "Open" ends it.
  const judged = typing ? words.length - 1 : words.length;
  const bad = new Set(result.ok ? [] : result.badWords);
  wordsOut.replaceChildren(
    ...words.map((word, i) => {
      const li = document.createElement('li');
      li.textContent = word;
      if (i < judged) li.className = bad.has(i) ? 'bad' : 'ok';
      return li;
    }),
  );
  const shownBad = [...bad].filter((i) => i < judged).map((i) => i + 1);
  if (result.ok) page.setText(feedback, 'words_ok');
  else if (shownBad.length > 0 && result.reason === 'mixed_languages') page.setText(feedback, 'words_mixed', { list: shownBad.join(', ') });
  else if (shownBad.length > 0) page.setText(feedback, 'word_unknown', { list: shownBad.join(', ') });
  else if (!typing && result.reason === 'word_count') page.setText(feedback, 'word_count', { expected: CODENAME_WORDS, count: words.length });
  else feedback.textContent = '';
}

async function checkNow(typing: boolean): Promise<CheckAnswer | undefined> {
  if (!context) return undefined;
  const ticket = ++checking;
  const answer = await context.crypto.call('check-codename', { input: codenameInput.value });
  if (ticket !== checking) return undefined; // a later keystroke already has its answer
  renderCheck(answer, typing && !/\s$/u.test(codenameInput.value));
  return answer;
}

codenameInput.addEventListener('input', () => void checkNow(true));

codenameForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!context || check.disabled) return;
  show(lookupError, false);
  const answer = await checkNow(false);
  if (!answer) return;
  if (!answer.check.ok) {
    if (answer.check.reason === 'word_count' && answer.check.badWords.length === 0) {
      page.setText(feedback, 'word_count', { expected: CODENAME_WORDS, count: answer.words.length });
    }
    codenameInput.focus();
    return;
  }
  check.disabled = true;
  page.setText(lookupStatus, 'opening');
  try {
    const { config, crypto } = context;
    const derived = await crypto.call('derive', { codename: answer.check.codename, instanceSalt: config.instanceSalt });
    const found = await lookupSource(derived.lookupId);
    lookupId = derived.lookupId;
    await showAccount(found);
    // The codename leaves the screen once it has served.
    codenameInput.value = '';
    wordsOut.replaceChildren();
    feedback.textContent = '';
    show(codenameForm, false);
  } catch (error) {
    const unknown = error instanceof ApiError && error.code === 'unknown_codename';
    page.setText(lookupError, unknown ? 'unknown_codename' : error instanceof ApiError && error.retryable ? 'error_network' : 'error_server', {
      code: (error as { code?: string }).code ?? 'error',
    });
    show(lookupError, true);
    codenameInput.focus();
  } finally {
    lookupStatus.textContent = '';
    delete lookupStatus.dataset.i18n;
    check.disabled = false;
  }
});

async function showAccount(found: LookupAnswer): Promise<void> {
  statuses.replaceChildren(
    ...found.submissions.map((s) => {
      const li = document.createElement('li');
      li.dataset.testid = 'status';
      li.dataset.status = s.status;
      const key = s.status === 'downloaded' ? 'status_downloaded' : s.status === 'received' ? 'status_received' : 'status_uploading';
      page.setText(li, key, { day: s.day });
      return li;
    }),
  );
  // A key that will not unlock still leaves the statuses and the follow-up form usable.
  const decrypted = await context!.crypto
    .call('decrypt-replies', {
      lockedPrivateKey: found.lockedPrivateKey,
      replies: found.replies.map(({ id, message }) => ({ id, message })),
    })
    .catch(() => []);
  const texts = new Map(decrypted.map((r) => [r.id, r.text]));
  replies.replaceChildren(...found.replies.map((r) => renderReply(r.id, r.day, texts.get(r.id))));
  show(noReplies, found.replies.length === 0);
  show(account, true);
  account.querySelector('h2')?.setAttribute('tabindex', '-1');
  (account.querySelector('h2') as HTMLElement | null)?.focus();
}

function renderReply(id: string, day: string, text: string | undefined): HTMLElement {
  const article = document.createElement('article');
  article.dataset.testid = 'reply';
  const heading = document.createElement('h3');
  page.setText(heading, 'reply_from', { day });
  const body = document.createElement('pre');
  if (text === undefined) page.setText(body, 'reply_unreadable');
  // Replies are text, never markup: textContent only.
  else body.textContent = text;
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'secondary';
  page.setText(remove, 'reply_delete');
  remove.addEventListener('click', async () => {
    remove.disabled = true;
    try {
      await deleteReply(lookupId!, id);
      article.remove();
      page.setText(replyNote, 'reply_deleted');
      show(noReplies, replies.children.length === 0);
    } catch (error) {
      page.setText(replyNote, error instanceof ApiError && error.retryable ? 'error_network' : 'error_server', {
        code: (error as { code?: string }).code ?? 'error',
      });
      remove.disabled = false;
    }
  });
  article.append(heading, body, remove);
  return article;
}

const tipForm = setupTipForm(page, async (tip, signal, events) => {
  if (!context || !lookupId) throw new Error('expected an opened codename');
  show(followupSent, false);
  const id = lookupId;
  await sendTip(context, async () => ({ lookupId: id }), tip, signal, events);
  tipForm.reset();
  show(followupSent, true);
});

try {
  const [config, crypto] = await Promise.all([getConfigPatiently(), CryptoWorker.start()]);
  context = { config, crypto, pow: new PowSolver(config.pow) };
  check.disabled = false;
  tipForm.enable();
  if (codenameInput.value !== '') void checkNow(true);
} catch {
  page.setText(lookupError, 'load_failed');
  show(lookupError, true);
}
