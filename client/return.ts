/**
 * @module client/return — a returning source: codename in (each word checked before any
 * request), statuses and decrypted replies out, replies deleted, more sent.
 */
import type { CodenameCheck } from '../protocol/codename.ts';
import type { ReplyProblem } from '../protocol/replies.ts';
import type { MessageKey } from './i18n/index.ts';
import { ApiError, deleteReply, lookupSource, type LookupAnswer, type ServerConfig } from './lib/api.ts';
import { loadNewsroom } from './lib/newsroom.ts';
import { type CheckedDesk, KeyMismatchError } from './lib/newsroom-key.ts';
import { byId, initPage, show } from './lib/page.ts';
import { sendTip } from './lib/send.ts';
import { setupTipForm } from './lib/tip-form.ts';
import { ModuleIntegrityError } from './lib/verified-modules.ts';
import { CryptoWorker, PowSolver } from './lib/workers.ts';

const page = initPage();
const codenameForm = byId<HTMLFormElement>('codename-form');
const codenameInput = byId<HTMLTextAreaElement>('codename-input');
const wordsOut = byId('words');
const feedback = byId('word-feedback');
const check = byId<HTMLButtonElement>('check');
const lookupStatus = byId('lookup-status');
const lookupError = byId('lookup-error');
const orderHint = byId('order-hint');
const account = byId('account');
const statuses = byId('statuses');
const replies = byId('replies');
const noReplies = byId('no-replies');
const replyNote = byId('reply-note');
const followupSent = byId('followup-sent');

let context: { config: ServerConfig; crypto: CryptoWorker; pow: PowSolver } | undefined;
let lookupId: string | undefined;
/** The opened source's locked key: a follow-up names it once the worker unlocks it (PROTOCOL.md, "Envelope"). */
let lockedPrivateKey: string | undefined;
let checking = 0;
/** The desks as checkDeskKeys checked them: each key's fingerprint computed from the key itself. */
let checkedDesks: CheckedDesk[] = [];
/** The shown replies' "signed with the key of DESK" lines, told again in a newly chosen language. */
let signerRelabels: (() => void)[] = [];
page.onLanguageChange(() => {
  for (const relabel of signerRelabels) relabel();
});

const DIGIT_FAILURES = new Set(['digit_count', 'bad_group', 'group_order', 'not_a_digit']);
const isDigits = (result: CodenameCheck) => (result.ok ? result.format === 'digits' : DIGIT_FAILURES.has(result.reason));
const numbered = (indexes: number[]) => indexes.map((i) => i + 1).join(', ');

/** "4821 0933" for a full group of digits, as the paper shows it; a word as read. */
const shown = (word: string, digits: boolean) => (digits && word.length === 8 ? `${word.slice(0, 4)}\u00a0${word.slice(4)}` : word);

/** The message for a check, or undefined while nothing can be said yet. */
function describeCheck(result: CodenameCheck, judged: number, typing: boolean): [MessageKey, Record<string, string | number>?] | undefined {
  if (result.ok) return [result.format === 'digits' ? 'digits_ok' : 'words_ok'];
  const bad = result.badWords.filter((i) => i < judged);
  switch (result.reason) {
    case 'unknown_words':
      return bad.length > 0 ? ['word_unknown', { list: numbered(bad) }] : undefined;
    case 'mixed_languages':
      return bad.length > 0 ? ['words_mixed', { list: numbered(bad) }] : undefined;
    case 'ambiguous_split':
      if (bad.length === 0) return undefined;
      return ['word_split_unclear', { part: result.split!.part, ways: result.split!.ways.map((w) => w.join(' ')).join(' / ') }];
    case 'word_count':
      if (typing) return undefined;
      return result.expected!.length > 1 ? ['word_count_either', { count: result.count! }] : ['word_count', { expected: result.expected![0]!, count: result.count! }];
    case 'digit_count':
      if (bad.length > 0) return ['digits_group_wrong', { list: numbered(bad) }];
      return typing ? undefined : ['digits_count', { count: result.count! }];
    case 'bad_group':
      return ['digits_group_wrong', { list: numbered(result.badWords) }];
    case 'group_order':
      return ['digits_group_order', { moves: result.moves!.map(([from, to]) => `${from + 1} → ${to + 1}`).join(', ') }];
    case 'not_a_digit':
      return ['digits_not_digit', { characters: result.characters!.join(' ') }];
  }
}

function renderCheck(result: CodenameCheck, typing: boolean): void {
  const digits = isDigits(result);
  // The word or group being typed is not judged until it is complete: a separator after a
  // word, eight digits in a group, or "Open".
  const words = result.words;
  const last = words.at(-1) ?? '';
  const judged = !result.ok && typing && (digits ? last.length < 8 : true) ? words.length - 1 : words.length;
  const bad = new Set(result.ok ? [] : result.badWords);
  wordsOut.replaceChildren(
    ...words.map((word, i) => {
      const li = document.createElement('li');
      li.textContent = shown(word, digits);
      if (i < judged) li.className = bad.has(i) ? 'bad' : 'ok';
      return li;
    }),
  );
  const message = describeCheck(result, judged, typing);
  if (message) page.setText(feedback, ...message);
  else {
    feedback.textContent = '';
    delete feedback.dataset.i18n;
  }
}

async function checkNow(typing: boolean): Promise<CodenameCheck | undefined> {
  if (!context) return undefined;
  const ticket = ++checking;
  feedback.setAttribute('aria-busy', 'true');
  const answer = await context.crypto.call('check-codename', { input: codenameInput.value });
  if (ticket !== checking) return undefined; // a later keystroke already has its answer
  renderCheck(answer, typing && /[\p{L}\p{M}\p{N}]$/u.test(codenameInput.value));
  feedback.removeAttribute('aria-busy');
  return answer;
}

codenameInput.addEventListener('input', () => {
  show(orderHint, false);
  void checkNow(true);
});
// Enter opens, as it did in a one-line field; a pasted list keeps its line breaks.
codenameInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    codenameForm.requestSubmit();
  }
});

codenameForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!context || check.disabled) return;
  show(lookupError, false);
  show(orderHint, false);
  const answer = await checkNow(false);
  if (!answer) return;
  if (!answer.ok) {
    codenameInput.focus();
    return;
  }
  check.disabled = true;
  page.setText(lookupStatus, 'opening');
  try {
    const { config, crypto } = context;
    // A legacy Chinese codename typed in the other script has a second reading: try both.
    let found: LookupAnswer | undefined;
    let lastError: unknown;
    for (const codename of [answer.codename, ...answer.alternatives]) {
      const derived = await crypto.call('derive', { codename, instanceSalt: config.instanceSalt });
      try {
        found = await lookupSource(derived.lookupId);
        lookupId = derived.lookupId;
        lockedPrivateKey = found.lockedPrivateKey;
        break;
      } catch (error) {
        lastError = error;
        if (!(error instanceof ApiError && error.code === 'unknown_codename')) break;
      }
    }
    if (!found) throw lastError;
    await showAccount(found);
    // The codename leaves the screen once it has served.
    codenameInput.value = '';
    wordsOut.replaceChildren();
    feedback.textContent = '';
    show(codenameForm, false);
  } catch (error) {
    const unknown = error instanceof ApiError && error.code === 'unknown_codename';
    const key = unknown ? 'unknown_codename'
      : error instanceof ApiError && error.code === 'bad_answer' ? 'lookup_bad_answer'
      : error instanceof ApiError && error.retryable ? 'error_network' : 'error_server';
    page.setText(lookupError, key, {
      code: (error as { code?: string }).code ?? 'error',
    });
    show(lookupError, true);
    // Every word checked, so only the order (or a missing word) can be wrong: the client cannot
    // see that (the lookup is a hash), so it says so and shows the words back as it read them.
    if (unknown && answer.format !== 'digits') {
      page.setText(orderHint, 'codename_order_matters', { words: answer.words.map((w, i) => `${i + 1}. ${w}`).join('  ') });
      show(orderHint, true);
    }
    codenameInput.focus();
  } finally {
    lookupStatus.textContent = '';
    delete lookupStatus.dataset.i18n;
    check.disabled = false;
  }
});

function showStatuses(found: LookupAnswer): void {
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
}

/**
 * The desk whose key a reply's signature must verify with: its desk's, from the config's desks; a
 * reply of a desk the config does not offer (or of a server before desks) is checked against the
 * first desk's, the config's one key. Its name and the fingerprint the worker computed from that
 * very key are shown with the reply if it verifies, so a desk the server made up is seen as a
 * name and a fingerprint the newsroom never published.
 */
function signerOf(desk: string | undefined): CheckedDesk | undefined {
  return checkedDesks.find((d) => d.id !== undefined && d.id === desk) ?? checkedDesks[0];
}

async function showAccount(found: LookupAnswer): Promise<void> {
  showStatuses(found);
  const signers = new Map(found.replies.map((r) => [r.id, signerOf(r.desk)]));
  // A key that will not unlock still leaves the statuses and the follow-up form usable.
  const decrypted = await context!.crypto
    .call('decrypt-replies', {
      lockedPrivateKey: found.lockedPrivateKey,
      newsroomKey: context!.config.newsroomKey,
      replies: found.replies.map(({ id, message }) => {
        const key = signers.get(id)?.newsroomKey;
        return { id, message, ...(key === undefined ? {} : { newsroomKey: key }) };
      }),
    })
    .catch(() => []);
  signerRelabels = [];
  replies.replaceChildren(...arrangeReplies(found.replies, decrypted).map((r) => renderReply(r.ids, r.day, r.opened, signers.get(r.ids[0]!))));
  show(noReplies, found.replies.length === 0);
  show(account, true);
  account.querySelector('h2')?.setAttribute('tabindex', '-1');
  (account.querySelector('h2') as HTMLElement | null)?.focus();
}

/** Why a reply is not shown, in the source's words: a reply without the newsroom's signature may come from anyone who can write to the server. */
const REFUSED: Record<ReplyProblem, MessageKey> = {
  unreadable: 'reply_unreadable',
  compressed: 'reply_compressed',
  unsigned: 'reply_unsigned',
  wrong_signer: 'reply_wrong_signer',
  bad_signature: 'reply_bad_signature',
  not_for_you: 'reply_not_for_you',
};

type Opened = { text?: string; problem?: ReplyProblem; signedAt?: number; signatureId?: string };

/**
 * What the page shows of the server's replies (PROTOCOL.md, "Replies"): a verified reply under the
 * UTC day its newsroom signature was made (the server's `day` is not shown for it), once however
 * many copies of the same signature the server sends (its delete button deletes every copy), in the
 * order of those signed times; then the refused ones, in the server's order, under the server's
 * (checked) day.
 */
function arrangeReplies(served: LookupAnswer['replies'], decrypted: ({ id: string } & Opened)[]): { ids: string[]; day: string; opened: Opened | undefined }[] {
  const opened = new Map(decrypted.map((r) => [r.id, r]));
  const verified = new Map<string, { ids: string[]; day: string; signedAt: number; opened: Opened }>();
  const refused: { ids: string[]; day: string; opened: Opened | undefined }[] = [];
  for (const r of served) {
    const o = opened.get(r.id);
    if (o?.text === undefined || o.signedAt === undefined || o.signatureId === undefined) {
      refused.push({ ids: [r.id], day: r.day, opened: o });
      continue;
    }
    const seen = verified.get(o.signatureId);
    if (seen) seen.ids.push(r.id);
    else verified.set(o.signatureId, { ids: [r.id], day: new Date(o.signedAt).toISOString().slice(0, 10), signedAt: o.signedAt, opened: o });
  }
  return [...[...verified.values()].sort((a, b) => a.signedAt - b.signedAt), ...refused];
}

function renderReply(ids: string[], day: string, opened: Opened | undefined, signer: CheckedDesk | undefined): HTMLElement {
  const article = document.createElement('article');
  article.dataset.testid = 'reply';
  const heading = document.createElement('h3');
  page.setText(heading, 'reply_from', { day });
  const body = document.createElement('pre');
  if (opened?.text === undefined) {
    const problem = opened?.problem ?? 'unreadable';
    article.dataset.refused = problem;
    article.classList.add('refused');
    page.setText(body, REFUSED[problem]);
  }
  // Replies are text, never markup: textContent only.
  else body.textContent = opened.text;
  const signed = opened?.text !== undefined && signer !== undefined ? signerLine(signer) : undefined;
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'secondary';
  page.setText(remove, 'reply_delete');
  remove.addEventListener('click', async () => {
    remove.disabled = true;
    try {
      for (const id of ids) await deleteReply(lookupId!, id);
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
  article.append(heading, ...(signed ? [signed] : []), body, remove);
  return article;
}

/** "Signed with the key of DESK:" (or "of the newsroom") and the key's fingerprint, grouped, left to right. */
function signerLine(signer: CheckedDesk): HTMLElement {
  const line = document.createElement('div');
  line.className = 'reply-signer';
  line.dataset.testid = 'reply-signer';
  const label = document.createElement('p');
  const relabel = () => {
    const name = signer.name?.[page.language];
    if (name === undefined) page.setText(label, 'reply_signed_by_key');
    else page.setText(label, 'reply_signed_by_desk', { desk: name });
  };
  relabel();
  signerRelabels.push(relabel);
  const fingerprint = document.createElement('p');
  fingerprint.className = 'fingerprint';
  fingerprint.dir = 'ltr';
  fingerprint.translate = false;
  fingerprint.dataset.testid = 'reply-signer-fingerprint';
  fingerprint.textContent = signer.shownFingerprint;
  line.append(label, fingerprint);
  return line;
}

const tipForm = setupTipForm(page, async (tip, signal, events) => {
  if (!context || !lookupId || lockedPrivateKey === undefined) throw new Error('expected an opened codename');
  show(followupSent, false);
  const id = lookupId;
  const locked = lockedPrivateKey;
  await sendTip(context, async () => ({ lookupId: id }), async () => ({ lockedPrivateKey: locked }), tip, signal, events);
  tipForm.reset();
  show(followupSent, true);
  // The list above shows what the server holds, so it is asked again rather than guessed; if the
  // answer does not come, the old list stays and the "sent" line says what happened.
  try {
    showStatuses(await lookupSource(id));
  } catch {
    // kept as it was
  }
});

try {
  // a lying server gets no lookup either
  const { config, crypto, instance, desks } = await loadNewsroom(page);
  checkedDesks = desks;
  context = { config, crypto, pow: new PowSolver(config.pow) };
  check.disabled = false;
  tipForm.enable(desks, instance);
  if (codenameInput.value !== '') void checkNow(true);
} catch (error) {
  page.setText(lookupError, error instanceof KeyMismatchError ? 'key_mismatch' : error instanceof ModuleIntegrityError ? 'code_altered' : 'load_failed');
  show(lookupError, true);
}
