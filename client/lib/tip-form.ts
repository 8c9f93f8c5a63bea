/**
 * @module client/lib/tip-form — the message box, the files and their metadata notes, the
 * progress and the cancel button; shared by the first tip and follow-ups.
 */
import { MAX_FILES, MAX_MESSAGE_BYTES } from '../../protocol/limits.ts';
import type { MessageKey } from '../i18n/index.ts';
import { detectImageKind } from '../strip/index.ts';
import { ApiError } from './api.ts';
import { byId, show, type Page } from './page.ts';
import type { SendEvents, Stage, Tip } from './send.ts';
import { WorkerError } from './workers.ts';

export type TipForm = { enable(): void; reset(): void };

const STAGE_TEXT: Record<Exclude<Stage, 'uploading'>, MessageKey> = {
  preparing: 'progress_preparing',
  cleaning: 'progress_cleaning',
  encrypting: 'progress_encrypting',
  pow: 'progress_pow',
};

export function setupTipForm(
  page: Page,
  send: (tip: Tip, signal: AbortSignal, events: SendEvents) => Promise<void>,
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
  const encoder = new TextEncoder();
  let files: File[] = [];
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
    const item = document.createElement('li');
    const name = document.createElement('p');
    name.className = 'name';
    name.id = `file-name-${++fileCount}`;
    name.textContent = file.name;
    const note = document.createElement('p');
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'secondary';
    page.setText(remove, 'file_remove');
    // "Remove" alone is ambiguous with several files: the file's name describes which.
    remove.setAttribute('aria-describedby', name.id);
    remove.addEventListener('click', () => {
      files = files.filter((f) => f !== file);
      item.remove();
      input.focus();
    });
    item.append(name, note, remove);
    list.append(item);
    files.push(file);
    const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
    const cleanable = detectImageKind(head) !== undefined;
    note.className = cleanable ? 'ok' : 'warn';
    page.setText(note, cleanable ? 'file_cleaned' : 'file_warning');
  }

  message.addEventListener('input', updateCounter);
  input.addEventListener('change', async () => {
    showError(undefined);
    const chosen = [...(input.files ?? [])];
    input.value = '';
    if (files.length + chosen.length > MAX_FILES) return showError('files_too_many');
    for (const file of chosen) await addFile(file);
  });

  cancel.addEventListener('click', () => busy?.abort(new DOMException('cancelled by the source', 'AbortError')));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy || !ready || !updateCounter()) return;
    showError(undefined);
    if (message.value.trim() === '' && files.length === 0) {
      showError('error_empty');
      message.focus();
      return;
    }
    busy = new AbortController();
    submit.disabled = true;
    show(progressBox, true);
    cancel.disabled = false;
    const events: SendEvents = {
      onStage(stage) {
        if (stage === 'uploading') return events.onUpload(0);
        bar.removeAttribute('value');
        page.setText(progressText, STAGE_TEXT[stage]);
      },
      onUpload(fraction) {
        bar.value = fraction;
        page.setText(progressText, 'progress_uploading', { percent: Math.floor(fraction * 100) });
      },
      onRetry(attempt, tries) {
        page.setText(progressText, 'progress_retrying', { attempt, max: tries });
      },
      onLastChunk() {
        // Once the last part is on its way the server may finish the tip: a cancel would lie.
        cancel.disabled = true;
      },
    };
    try {
      await send({ language: page.language, message: message.value, files: [...files] }, busy.signal, events);
    } catch (error) {
      const [key, values] = describeError(error);
      showError(key, values);
    } finally {
      busy = undefined;
      show(progressBox, false);
      updateCounter();
    }
  });

  updateCounter();
  return {
    enable() {
      ready = true;
      updateCounter();
    },
    reset() {
      message.value = '';
      files = [];
      list.replaceChildren();
      updateCounter();
    },
  };
}

function describeError(error: unknown): [MessageKey, Record<string, string | number>?] {
  const e = error as { name?: string; code?: string };
  if (e?.name === 'AbortError') return ['error_cancelled'];
  if (error instanceof WorkerError && error.code === 'image_not_cleaned') return ['error_image', { name: error.file ?? '' }];
  if (e?.code === 'message_too_large' || e?.code === 'too_many_files' || e?.code === 'too_large') return ['error_too_large'];
  // the server's own 503s: it answered, so the connection is not the problem
  if (error instanceof ApiError && (error.code === 'busy' || error.code === 'key_check_timeout')) return ['error_busy'];
  if (error instanceof ApiError && error.retryable) return ['error_network'];
  return ['error_server', { code: e?.code ?? e?.name ?? 'error' }];
}
