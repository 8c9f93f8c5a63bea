/**
 * @module client/lib/tip-form — the message box, the files with what will happen to their hidden
 * data and the name each is sent under, the fingerprint of the key it will be encrypted to, the
 * progress and the cancel button; shared by the first tip and follow-ups.
 *
 * A file's name can name its source (a person, a passport scan, a date, a phone number, the
 * camera's photo counter), so every file is sent as `file-N` with its extension unless the
 * source types another name; the name typed is what goes into the envelope's manifest.
 */
import { normalizeAnswerText, renderAnswers, type Answer } from '../../protocol/answers.ts';
import {
  MAX_ANSWER_LABEL_BYTES,
  MAX_ANSWER_VALUE_BYTES,
  MAX_ANSWERS_BYTES,
  MAX_ENVELOPE_BYTES,
  MAX_FILES,
  MAX_MANIFEST_BYTES,
  MAX_MESSAGE_BYTES,
} from '../../protocol/limits.ts';
import { paddedLength } from '../../protocol/padme.ts';
import type { Language, MessageKey } from '../i18n/index.ts';
import { detectFileKind, type FileKind } from '../strip/detect.ts';
import { ApiError } from './api.ts';
import { busyWait } from './busy-wait.ts';
import { markInstanceText, NO_INSTANCE, questionIds, type Instance, type Question } from './instance.ts';
import type { CheckedDesk } from './newsroom-key.ts';
import { byId, show, type Page } from './page.ts';
import type { SendEvents, Stage, Tip } from './send.ts';
import { type PowProgress, WorkerError } from './workers.ts';

export type TipForm = {
  /**
   * Ready to send: the desks to choose from (each key checked by client/lib/newsroom-key.ts; the
   * form never sends without the fingerprint of the chosen one shown), and the instance's
   * questions when the form asks them.
   */
  enable(desks: CheckedDesk[], instance?: Instance): void;
  reset(): void;
};

/** The longest answer typed in a short or long field (characters; the bytes are checked too, ANSWER_LIMITS). */
export const MAX_SHORT_ANSWER = 500;
export const MAX_LONG_ANSWER = 8000;
/**
 * What the envelope takes (protocol/limits.ts: an answer's value and label, and answers.txt in all,
 * UTF-8 bytes); checked here so that the source hears it before anything is encrypted.
 */
const ANSWER_LIMITS = { valueBytes: MAX_ANSWER_VALUE_BYTES, labelBytes: MAX_ANSWER_LABEL_BYTES, allBytes: MAX_ANSWERS_BYTES };
const utf8Length = (text: string) => new TextEncoder().encode(text).length;

/** `text` cut to at most `max` UTF-8 bytes, between code points. */
function cutToBytes(text: string, max: number): string {
  if (utf8Length(text) <= max) return text;
  let out = '';
  for (const ch of text) {
    if (utf8Length(out + ch) > max) break;
    out += ch;
  }
  return out;
}

const STAGE_TEXT: Record<Exclude<Stage, 'uploading'>, MessageKey> = {
  preparing: 'progress_preparing',
  cleaning: 'progress_cleaning',
  encrypting: 'progress_encrypting',
  pow: 'progress_pow',
};

/** What the page tells the source about a file of each kind, and whether that is a warning. */
const KIND_NOTE: Record<FileKind, [MessageKey, 'ok' | 'warn']> = {
  jpeg: ['file_cleaned', 'ok'],
  png: ['file_cleaned', 'ok'],
  webp: ['file_cleaned', 'ok'],
  heif: ['file_cleaned', 'ok'],
  ooxml: ['file_cleaned_document', 'ok'],
  text: ['file_text', 'ok'],
  pdf: ['file_pdf', 'warn'],
  video: ['file_video', 'warn'],
  audio: ['file_audio', 'warn'],
  other: ['file_warning', 'warn'],
};
/** Used for the default name when the original has no plain extension of its own. */
const KIND_EXTENSION: Partial<Record<FileKind, string>> = { jpeg: '.jpg', png: '.png', webp: '.webp', heif: '.heic', pdf: '.pdf', text: '.txt' };

type Attached = { file: File; kind?: FileKind; defaultName: string; sendName: HTMLInputElement };

/** `file-N` and the original's extension (lower case) if it is a plain one, else the kind's. */
function safeDefaultName(original: string, n: number, kind?: FileKind): string {
  const extension = /\.[A-Za-z0-9]{1,8}$/.exec(original)?.[0].toLowerCase() ?? (kind && KIND_EXTENSION[kind]) ?? '';
  return `file-${n}${extension}`;
}

/**
 * `askQuestions`: show the instance's questions (the first tip; a follow-up is sent without them).
 */
export function setupTipForm(
  page: Page,
  send: (tip: Tip, signal: AbortSignal, events: SendEvents) => Promise<void>,
  { askQuestions = false }: { askQuestions?: boolean } = {},
): TipForm {
  const form = byId<HTMLFormElement>('tip-form');
  const message = byId<HTMLTextAreaElement>('message');
  const counter = byId('message-counter');
  const input = byId<HTMLInputElement>('files');
  const list = byId('file-list');
  const submit = byId<HTMLButtonElement>('submit');
  const progressBox = byId('progress-box');
  const bar = byId<HTMLProgressElement>('progress');
  const progressText = byId('progress-text');
  const cancel = byId<HTMLButtonElement>('cancel');
  const errorLine = byId('error');
  const keyCheck = byId('key-check');
  const keyFingerprint = byId('key-fingerprint');
  const limitsLine = byId('files-limits');
  const keyLabel = byId('key-label');
  const keyChoose = byId('key-choose');
  const pageLabelKey = keyLabel.dataset.i18n as MessageKey;
  const desksBox = byId<HTMLFieldSetElement>('desks');
  const deskOptions = byId('desk-options');
  const questionsBox = byId('questions');
  const questionList = byId('questions-list');
  let desks: CheckedDesk[] = [];
  let chosenDesk: CheckedDesk | undefined;
  let instance: Instance = NO_INSTANCE;
  let fields: QuestionField[] = [];
  /** Texts of the newsroom's own (desk names, questions) to rewrite when the language changes. */
  const relabels: ((language: Language) => void)[] = [];
  page.onLanguageChange((language) => {
    for (const relabel of relabels) relabel(language);
    if (chosenDesk) showKey(chosenDesk);
  });
  const encoder = new TextEncoder();
  let files: Attached[] = [];
  let fileCount = 0;
  let ready = false;
  let busy: AbortController | undefined;

  const messageBytes = () => encoder.encode(message.value).length;
  const kb = (n: number) => Math.ceil(n / 1024);

  function updateCounter(): boolean {
    const used = messageBytes();
    const tooLong = used > MAX_MESSAGE_BYTES;
    if (tooLong) page.setText(counter, 'message_too_long');
    else page.setText(counter, 'message_counter', { used: kb(used), max: kb(MAX_MESSAGE_BYTES) });
    counter.classList.toggle('error', tooLong);
    submit.disabled = !ready || !!busy || tooLong;
    return !tooLong;
  }

  function showError(key: MessageKey | undefined, values?: Record<string, string | number>): void {
    if (key) page.setText(errorLine, key, values);
    show(errorLine, !!key);
  }

  async function addFile(file: File): Promise<void> {
    const n = ++fileCount;
    const item = document.createElement('li');
    const name = document.createElement('p');
    name.className = 'name';
    name.id = `file-name-${n}`;
    name.textContent = file.name;
    // The second paragraph is what happens to the file's hidden data (the stories read it there).
    const note = document.createElement('p');
    const nameNote = document.createElement('p');
    nameNote.className = 'warn';
    nameNote.id = `file-name-note-${n}`;
    page.setText(nameNote, 'file_name_note');
    const label = document.createElement('label');
    label.htmlFor = `file-send-name-${n}`;
    page.setText(label, 'file_send_name_label');
    const sendName = document.createElement('input');
    sendName.type = 'text';
    sendName.id = label.htmlFor;
    sendName.dataset.testid = 'send-name';
    sendName.autocomplete = 'off';
    sendName.spellcheck = false;
    sendName.setAttribute('aria-describedby', nameNote.id);
    const attached: Attached = { file, defaultName: safeDefaultName(file.name, n), sendName };
    sendName.value = attached.defaultName;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'secondary';
    page.setText(remove, 'file_remove');
    // "Remove" alone is ambiguous with several files: the file's name describes which.
    remove.setAttribute('aria-describedby', name.id);
    remove.addEventListener('click', () => {
      files = files.filter((f) => f !== attached);
      item.remove();
      input.focus();
    });
    item.append(name, note, nameNote, label, sendName, remove);
    list.append(item);
    files.push(attached);
    const kind = await detectFileKind(async (start, end) => new Uint8Array(await file.slice(start, end).arrayBuffer()), file.size);
    attached.kind = kind;
    if (!/\.[A-Za-z0-9]{1,8}$/.test(file.name) && sendName.value === attached.defaultName) {
      attached.defaultName = safeDefaultName(file.name, n, kind);
      sendName.value = attached.defaultName;
    }
    const [key, tone] = KIND_NOTE[kind];
    note.className = tone;
    page.setText(note, key);
  }

  /** The files as they will be sent: each under the name in its box (or its default if left empty). */
  function filesToSend(): File[] {
    return files.map(({ file, defaultName, sendName }) => new File([file], sendName.value.trim() || defaultName, { type: file.type }));
  }

  /** The original name of the file sent as `sent` (an error names what the worker was given). */
  function originalName(sent: string | undefined): string {
    return files.find((f) => (f.sendName.value.trim() || f.defaultName) === sent)?.file.name ?? sent ?? '';
  }

  message.addEventListener('input', updateCounter);
  // the limits are stated before any file is chosen, and a file that cannot fit is refused at once
  page.setText(limitsLine, 'files_limits', { files: MAX_FILES, size: LARGEST_TIP_GB });
  input.addEventListener('change', async () => {
    showError(undefined);
    const chosen = [...(input.files ?? [])];
    input.value = '';
    if (files.length + chosen.length > MAX_FILES) return showError('files_too_many');
    for (const file of chosen) {
      if (!tipFits([...files.map((f) => f.file.size), file.size])) {
        showError(tipFits([file.size]) ? 'files_too_large' : 'file_too_large', { name: file.name, size: LARGEST_TIP_GB });
        continue;
      }
      await addFile(file);
    }
  });

  cancel.addEventListener('click', () => busy?.abort(new DOMException('cancelled by the source', 'AbortError')));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy || !ready || !updateCounter()) return;
    showError(undefined);
    if (!chosenDesk) {
      showError('error_desk_required');
      deskOptions.querySelector('input')?.focus();
      return;
    }
    const desk = chosenDesk;
    const collected = collectAnswers(fields, page.language);
    if ('missing' in collected) {
      const { field, key } = collected.missing;
      showError(key, { label: field.question.label[page.language] });
      field.markInvalid(true);
      field.focus();
      return;
    }
    const { answers } = collected;
    if (message.value.trim() === '' && files.length === 0 && answers.length === 0) {
      showError('error_empty');
      message.focus();
      return;
    }
    busy = new AbortController();
    // the fingerprint shown is the key the tip goes to until it is sent: no other desk meanwhile
    desksBox.disabled = true;
    let shownWait = '';
    let waitShownAt = -Infinity;
    let lastRemainingMs: number | undefined;
    submit.disabled = true;
    show(progressBox, true);
    cancel.disabled = false;
    const events: SendEvents = {
      onStage(stage) {
        if (stage === 'uploading') return events.onUpload(0, undefined);
        bar.removeAttribute('value');
        // Only cleaned files (images, Office files) bring this stage: "from images" unless there is a document.
        const documents = files.some((f) => f.kind === 'ooxml');
        page.setText(progressText, stage === 'cleaning' && documents ? 'progress_cleaning_files' : STAGE_TEXT[stage]);
      },
      onUpload(fraction, remainingMs) {
        bar.value = fraction;
        lastRemainingMs = remainingMs;
        const [key, values] = uploadLine(fraction, remainingMs);
        page.setText(progressText, key, values);
      },
      onRetry({ reason, giveUpInMs }) {
        const minutes = Math.max(1, Math.ceil(giveUpInMs / 60_000));
        page.setText(progressText, reason === 'stalled' ? 'progress_stalled' : 'progress_retrying', { minutes });
      },
      onRecovered() {
        const [key, values] = uploadLine(bar.value || 0, lastRemainingMs);
        page.setText(progressText, key, values);
      },
      onLastChunk() {
        // Once the last part is on its way the server may finish the tip: a cancel would lie.
        cancel.disabled = true;
      },
      onPowProgress(progress) {
        const wait = expectedWait(progress);
        // a live region: change it only when the figure does, and at most every few seconds
        if (!wait || wait.key + wait.value === shownWait || progress.elapsedMs - waitShownAt < WAIT_UPDATE_MS) return;
        shownWait = wait.key + wait.value;
        waitShownAt = progress.elapsedMs;
        page.setText(progressText, wait.key, wait.key === 'progress_pow_minutes' ? { minutes: wait.value } : { seconds: wait.value });
      },
    };
    try {
      await send({ language: page.language, message: message.value, files: filesToSend(), desk, answers }, busy.signal, events);
    } catch (error) {
      const [key, values] = describeError(error, originalName);
      showError(key, values);
    } finally {
      busy = undefined;
      desksBox.disabled = false;
      show(progressBox, false);
      updateCounter();
    }
  });

  /** The chosen desk's key, as the worker read it: the one fingerprint shown is the key the tip goes to. */
  function showKey(desk: CheckedDesk): void {
    keyFingerprint.textContent = desk.shownFingerprint;
    if (desks.length > 1) page.setText(keyLabel, 'key_fingerprint_label_desk', { desk: desk.name?.[page.language] ?? desk.id ?? '' });
    else page.setText(keyLabel, pageLabelKey);
    show(keyChoose, false);
    show(keyCheck, true);
  }

  function showDesks(): void {
    relabels.length = 0;
    if (desks.length === 1) {
      chosenDesk = desks[0];
      show(desksBox, false);
      return showKey(chosenDesk!);
    }
    chosenDesk = undefined;
    show(keyCheck, false);
    show(keyChoose, true);
    deskOptions.replaceChildren(
      ...desks.map((desk, i) => {
        const id = `desk-${i}`;
        const row = document.createElement('div');
        row.className = 'choice';
        const radio = document.createElement('input');
        radio.type = 'radio';
        radio.name = 'desk';
        radio.id = id;
        radio.value = desk.id ?? '';
        radio.dataset.testid = 'desk';
        const label = document.createElement('label');
        label.htmlFor = id;
        const name = document.createElement('span');
        name.className = 'desk-name';
        label.append(name);
        row.append(radio, label);
        let about: HTMLElement | undefined;
        if (desk.description) {
          about = document.createElement('p');
          about.className = 'hint';
          about.id = `${id}-about`;
          radio.setAttribute('aria-describedby', about.id);
          row.append(about);
        }
        const relabel = (language: Language) => {
          name.textContent = desk.name?.[language] ?? desk.id ?? '';
          markInstanceText(name, instance, `${desk.field}.name`, language);
          if (about && desk.description) {
            about.textContent = desk.description[language];
            markInstanceText(about, instance, `${desk.field}.description`, language);
          }
        };
        relabel(page.language);
        relabels.push(relabel);
        radio.addEventListener('change', () => {
          if (!radio.checked) return;
          chosenDesk = desk;
          showKey(desk);
          showError(undefined);
        });
        return row;
      }),
    );
    show(desksBox, true);
  }

  function showQuestions(): void {
    fields = askQuestions ? instance.questions.map((q, i) => questionField(page, instance, q, `questions[${i}]`, relabels)) : [];
    questionList.replaceChildren(...fields.map((f) => f.element));
    show(questionsBox, fields.length > 0);
  }

  updateCounter();
  return {
    enable(checked, given = NO_INSTANCE) {
      if (checked.length === 0) throw new Error('expected at least one desk');
      desks = checked;
      instance = given;
      showDesks();
      showQuestions();
      ready = true;
      updateCounter();
    },
    reset() {
      message.value = '';
      files = [];
      fileCount = 0;
      list.replaceChildren();
      for (const field of fields) field.clear();
      updateCounter();
    },
  };
}

/** One question on the page: its element, what the source answered, and how to point at it. */
type QuestionField = {
  question: Question;
  element: HTMLElement;
  /** The typed text (trimmed) as one element, or the labels of the chosen options in `language`. */
  value(language: Language): string[];
  tooLong(): boolean;
  focus(): void;
  markInvalid(invalid: boolean): void;
  clear(): void;
};

/**
 * The answers to send, in the source's language (label and chosen options as she read them);
 * a question left empty is not sent. The first required question left empty, or an answer too
 * long, stops the tip (`missing`).
 */
function collectAnswers(fields: QuestionField[], language: Language): { answers: Answer[] } | { missing: { field: QuestionField; key: MessageKey } } {
  const answers: Answer[] = [];
  for (const field of fields) {
    const value = field.value(language);
    field.markInvalid(false);
    if (field.tooLong()) return { missing: { field, key: 'answer_too_long' } };
    if (value.length === 0) {
      if (field.question.required) return { missing: { field, key: 'error_question_required' } };
      continue;
    }
    // a label is one line of at most labelBytes in the envelope: a longer one is sent cut, never refused
    const label = normalizeAnswerText(field.question.label[language]).replace(/\n/g, ' ');
    answers.push({ id: field.question.id, label: cutToBytes(label, ANSWER_LIMITS.labelBytes), value: value.map(normalizeAnswerText) });
  }
  // answers.txt as the envelope will hold it (PROTOCOL.md, "Answers")
  if (utf8Length(renderAnswers(answers)) > ANSWER_LIMITS.allBytes) return { missing: { field: fields.find((f) => f.value(language).length > 0)!, key: 'answers_too_long' } };
  return { answers };
}

/**
 * short → a one-line input, long → a text box, choice → radio buttons, choices → check boxes;
 * each with its label, its help (aria-describedby) and, when required, "(required)" in the label
 * and `required` on the control (a group of radio buttons: `aria-required` on its radiogroup).
 */
function questionField(page: Page, instance: Instance, q: Question, field: string, relabels: ((language: Language) => void)[]): QuestionField {
  const ids = questionIds(q.id);
  const base = ids.control;
  const labelText = document.createElement('span');
  labelText.className = 'question-label';
  const required = document.createElement('span');
  required.className = 'required';
  if (q.required) page.setText(required, 'question_required');
  let help: HTMLElement | undefined;
  if (q.help) {
    help = document.createElement('p');
    help.className = 'hint';
    help.id = ids.help;
  }
  const texts: [HTMLElement, () => string, string][] = [[labelText, () => q.label[page.language], `${field}.label`]];
  if (help && q.help) texts.push([help, () => q.help![page.language], `${field}.help`]);
  const heading = (el: HTMLElement) => (q.required ? el.append(labelText, ' ', required) : el.append(labelText));

  if (q.kind === 'short' || q.kind === 'long') {
    const element = document.createElement('div');
    element.className = 'question';
    element.dataset.question = q.id;
    const label = document.createElement('label');
    label.htmlFor = base;
    heading(label);
    const input = q.kind === 'short' ? document.createElement('input') : document.createElement('textarea');
    if (input instanceof HTMLInputElement) input.type = 'text';
    else input.rows = 4;
    input.id = base;
    input.dir = 'auto';
    input.autocomplete = 'off';
    const max = q.kind === 'short' ? MAX_SHORT_ANSWER : MAX_LONG_ANSWER;
    input.maxLength = max;
    input.required = q.required;
    if (help) input.setAttribute('aria-describedby', help.id);
    element.append(label, ...(help ? [help] : []), input);
    addRelabel(instance, texts, relabels, page.language);
    return {
      question: q,
      element,
      // a paste may bring line breaks and controls the envelope refuses: normalised, never refused
      value: () => {
        const typed = normalizeAnswerText(input.value).trim();
        return typed ? [typed] : [];
      },
      tooLong: () => input.value.length > max || utf8Length(normalizeAnswerText(input.value).trim()) > ANSWER_LIMITS.valueBytes,
      focus: () => input.focus(),
      markInvalid: (invalid) => (invalid ? input.setAttribute('aria-invalid', 'true') : input.removeAttribute('aria-invalid')),
      clear: () => void (input.value = ''),
    };
  }

  const element = document.createElement('fieldset');
  element.className = 'question';
  element.dataset.question = q.id;
  if (q.kind === 'choice') element.setAttribute('role', 'radiogroup');
  if (q.kind === 'choice' && q.required) element.setAttribute('aria-required', 'true');
  if (help) element.setAttribute('aria-describedby', help.id);
  const legend = document.createElement('legend');
  heading(legend);
  const boxes = q.options.map((option, i) => {
    const row = document.createElement('div');
    row.className = 'choice';
    const box = document.createElement('input');
    box.type = q.kind === 'choice' ? 'radio' : 'checkbox';
    box.name = base;
    box.id = ids.option(i);
    box.value = option.id;
    const label = document.createElement('label');
    label.htmlFor = box.id;
    const text = document.createElement('span');
    label.append(text);
    row.append(box, label);
    texts.push([text, () => option.label[page.language], `${field}.options[${i}].label`]);
    return { box, row, option };
  });
  element.append(legend, ...(help ? [help] : []), ...boxes.map((b) => b.row));
  addRelabel(instance, texts, relabels, page.language);
  return {
    question: q,
    element,
    value: (language) => boxes.filter((b) => b.box.checked).map((b) => b.option.label[language]),
    tooLong: () => false,
    focus: () => boxes[0]?.box.focus(),
    markInvalid: (invalid) => (invalid ? element.setAttribute('aria-invalid', 'true') : element.removeAttribute('aria-invalid')),
    clear: () => boxes.forEach((b) => (b.box.checked = false)),
  };
}

function addRelabel(instance: Instance, texts: [HTMLElement, () => string, string][], relabels: ((language: Language) => void)[], language: Language): void {
  const relabel = (lang: Language) => {
    for (const [el, text, field] of texts) {
      el.textContent = text();
      markInstanceText(el, instance, field, lang);
    }
  };
  relabel(language);
  relabels.push(relabel);
}

/**
 * The files a tip can carry, whatever its message and names: the padded envelope (PROTOCOL.md
 * "Envelope") with the largest manifest, message and answers, and a tar header per file, within
 * MAX_ENVELOPE_BYTES. A little stricter than the worker's own check, never looser.
 */
export function tipFits(fileSizes: number[]): boolean {
  const BLOCK = 512;
  const roundUp = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
  let tar = BLOCK + roundUp(MAX_MANIFEST_BYTES) + BLOCK + roundUp(MAX_MESSAGE_BYTES) + BLOCK + roundUp(MAX_ANSWERS_BYTES) + 2 * BLOCK;
  for (const size of fileSizes) tar += BLOCK + roundUp(size);
  return tar <= MAX_ENVELOPE_BYTES && paddedLength(tar) <= MAX_ENVELOPE_BYTES;
}

/** The largest single file tipFits takes, in GiB rounded down to a tenth (what the page states). */
function largestTipGb(): number {
  let low = 0;
  let high = MAX_ENVELOPE_BYTES;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (tipFits([mid])) low = mid;
    else high = mid - 1;
  }
  return Math.floor((low / 1024 ** 3) * 10) / 10;
}
const LARGEST_TIP_GB = largestTipGb();

/** "Sending… 42%", with the time left at the acknowledged rate once there is one. */
function uploadLine(fraction: number, remainingMs: number | undefined): [MessageKey, Record<string, number>] {
  const percent = Math.floor(fraction * 100);
  if (remainingMs === undefined || fraction >= 1) return ['progress_uploading', { percent }];
  const minutes = Math.ceil(remainingMs / 60_000);
  if (remainingMs < 60_000) return ['progress_uploading_soon', { percent }];
  if (minutes < 60) return ['progress_uploading_minutes', { percent, minutes }];
  return ['progress_uploading_hours', { percent, hours: Math.floor(minutes / 60), minutes: minutes % 60 }];
}

const WAIT_UPDATE_MS = 3000;
/** Tries before the measured rate is trusted (the first ones include the worker's start). */
const WAIT_MIN_TRIES = 4096;

/**
 * The average time the whole proof of work takes on this device (2^difficulty tries at the rate
 * measured so far), rounded as people say it; nothing when it is a few seconds (the plain line says so).
 */
function expectedWait({ difficulty, tries, elapsedMs }: PowProgress): { key: MessageKey; value: number } | undefined {
  if (tries < WAIT_MIN_TRIES || elapsedMs <= 0) return undefined;
  const seconds = 2 ** difficulty / (tries / (elapsedMs / 1000));
  if (seconds < 5) return undefined;
  if (seconds < 90) return { key: 'progress_pow_seconds', value: Math.ceil(seconds / 5) * 5 };
  return { key: 'progress_pow_minutes', value: Math.ceil(seconds / 60) };
}

/** Each kind of file the worker could not clean has its own advice. */
const NOT_CLEANED: Record<string, MessageKey> = {
  image_not_cleaned: 'error_image',
  heif_not_cleaned: 'error_heif',
  document_not_cleaned: 'error_document',
};

function describeError(error: unknown, originalName: (sent: string | undefined) => string): [MessageKey, Record<string, string | number>?] {
  const e = error as { name?: string; code?: string };
  if (e?.name === 'AbortError') return ['error_cancelled'];
  if (e?.code === 'code_altered') return ['code_altered']; // a worker module failed its check (verified-modules.ts)
  if (error instanceof WorkerError && error.code && NOT_CLEANED[error.code]) return [NOT_CLEANED[error.code]!, { name: originalName(error.file) }];
  if (e?.code === 'message_too_large' || e?.code === 'too_many_files' || e?.code === 'too_large') return ['error_too_large'];
  // the server's own 503s: it answered, so the connection is not the problem
  if (error instanceof ApiError && (error.code === 'busy' || error.code === 'key_check_timeout')) return ['error_busy'];
  // the quotas (server/source/open-limits.ts): one source's bytes of the day, or the server's room
  if (error instanceof ApiError && error.code === 'source_quota') return ['error_source_quota'];
  // this codename's own earlier upload still holds its day (migrations/0021): the sweep frees it, the server says when
  if (error instanceof ApiError && error.code === 'source_busy') return busyWait(error.retryAfterSeconds);
  // large uploads of this codename that stopped unfinished today (migrations/0016): small ones still go
  if (error instanceof ApiError && error.code === 'source_unsent') return ['error_source_unsent'];
  if (error instanceof ApiError && (error.code === 'quota_full' || error.code === 'storage_full')) return ['error_storage_full'];
  // large uploads wait for their bytes and hold the room left for them: minutes, not days
  if (error instanceof ApiError && error.code === 'reservations_full') return ['error_reservations_full'];
  // the upload was deleted on its way: swept for sending too slowly, or its room given to another
  // open while it had shown no byte (OPERATIONS.md "Under attack"); opening it again starts over
  if (error instanceof ApiError && error.code === 'unknown_upload') return ['error_upload_expired'];
  if (error instanceof ApiError && error.retryable) return ['error_network'];
  return ['error_server', { code: e?.code ?? e?.name ?? 'error' }];
}
