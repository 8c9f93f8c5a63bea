// @module cli/read-view/read — the read view's only script. Everything it shows comes from senders,
// so it is put into the page with textContent and attributes it sets itself, never as HTML.
'use strict';

(() => {
  const base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
  const $ = (id) => document.getElementById(id);
  let canReply = false;
  let current = null;

  // Controls that could hide or reorder text (C0 but newline and tab, DEL, C1, bidi embeddings,
  // overrides and isolates, marks) are shown as their code point, so the editor sees what is there.
  const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
  const visible = (text) => String(text).replace(HIDDEN, (c) => `\u27e6U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}\u27e7`);

  function el(tag, options = {}, ...children) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined) node.textContent = options.text;
    if (options.dir) node.dir = options.dir;
    if (options.lang) node.lang = options.lang;
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function size(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  }

  const groups = (fingerprint) => String(fingerprint).toUpperCase().match(/.{1,4}/g).slice(0, 3).join(' ');

  // What `sealdrop decrypt` proved of who wrote a tip (cli/inbox.ts, TipAttribution): only
  // 'signed' is the handle's pinned source; every other tip is labelled, in words.
  function attribution(signature) {
    if (!signature) return { warn: true, text: 'NOT CHECKED — decrypted before sealdrop recorded signatures: which source sent it is only the server\'s word' };
    switch (signature.status) {
      case 'signed':
        if (signature.replayOf) return { warn: true, text: `REPLAY of tip ${signature.replayOf} — the same signed tip filed again by the server, on a day it chose: counted once` };
        return { warn: false, text: `signed by this source's pinned key ${groups(signature.fingerprint)}` };
      case 'unsigned': return { warn: true, text: 'UNSIGNED — which source sent it is only the server\'s word' };
      case 'quarantined': return { warn: true, text: 'QUARANTINED — not signed by this source\'s key: read it as the server\'s words, do not answer it' };
      case 'disputed': return { warn: true, text: `DISPUTED — signed by ${groups(signature.fingerprint)}, not by this source's pinned key: answer it only with "sealdrop reply --tip"` };
      case 'other-handle': return { warn: true, text: `ANOTHER SOURCE'S KEY — signed by the key of ${signature.handle}: the server filed that source's tip here` };
      default: return { warn: true, text: 'NOT CHECKED — unknown signature record: which source sent it is only the server\'s word' };
    }
  }

  async function api(path, init) {
    const response = await fetch(base + path, { ...init, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error(body.message || `the view answered ${response.status}`), { body });
    return body;
  }

  async function loadSources() {
    const { sources, canReply: reply } = await api('api/sources');
    canReply = reply;
    const list = $('sources');
    list.replaceChildren();
    $('sources-status').textContent = sources.length === 0 ? 'The inbox is empty: decrypt a bundle with "sealdrop decrypt".' : `${sources.length} source${sources.length === 1 ? '' : 's'}`;
    for (const s of sources) {
      const link = el('a', { className: s.unread > 0 ? 'unread' : '' });
      link.href = `#${encodeURIComponent(s.handle)}`;
      link.dataset.handle = s.handle;
      link.append(
        el('span', { className: 'name', text: visible(s.handle) }),
        el('br'),
        el('span', { className: 'meta', text: `last ${s.lastDay} · ${s.tips} tip${s.tips === 1 ? '' : 's'}${s.unread > 0 ? `, ${s.unread} unread` : ''} · ${s.replies} repl${s.replies === 1 ? 'y' : 'ies'}` }),
      );
      // verified tips apart from the others: a count the server alone cannot raise
      const verified = typeof s.verified === 'number' ? s.verified : 0;
      const replays = typeof s.replays === 'number' ? s.replays : 0;
      const others = s.tips - verified - replays;
      link.append(el('br'), el('span', { className: verified < s.tips ? 'meta warn' : 'meta', text: `${verified} signed by its key${others > 0 ? `, ${others} NOT` : ''}${replays > 0 ? `, ${replays} REPLAY` : ''}` }));
      if (s.handle === current) link.setAttribute('aria-current', 'true');
      list.append(el('li', {}, link));
    }
  }

  // The source's answers to the instance's questions: the label they saw, then what they typed or
  // chose, each value as its own text; nothing typed or chosen is said in words.
  function answersList(tip) {
    if (!Array.isArray(tip.answers) || tip.answers.length === 0) return null;
    const list = el('dl', { className: 'answers' });
    for (const answer of tip.answers) {
      list.append(el('dt', { text: visible(answer.label), dir: 'auto' }));
      if (answer.value.length === 0) list.append(el('dd', { className: 'meta', text: '(no answer)' }));
      for (const value of answer.value) list.append(el('dd', {}, el('pre', { className: 'answer', text: visible(value), dir: 'auto', lang: tip.language })));
    }
    return list;
  }

  function fileItem(handle, tip, file) {
    const link = el('a', { className: 'name', text: visible(file.name) });
    link.href = `${base}api/sources/${encodeURIComponent(handle)}/files/${tip.id}/${file.file}`;
    link.setAttribute('download', '');
    link.setAttribute('rel', 'noopener noreferrer');
    const cleaning = file.stripped ? 'metadata removed by the source\'s page' : 'metadata NOT removed';
    const item = el('li', {}, link, el('span', { className: 'meta', text: ` ${visible(file.type)}, ${size(file.size)}, ${cleaning}` }));
    if (file.risk) item.append(el('span', { className: 'risk', text: `risky: ${file.risk.reason}` }));
    return item;
  }

  async function showSource(handle) {
    const data = await api(`api/sources/${encodeURIComponent(handle)}`);
    current = handle;
    $('conversation').hidden = false;
    $('conversation-heading').textContent = visible(data.handle);
    const items = [
      ...data.tips.map((tip) => ({ kind: 'tip', day: tip.day, tip })),
      ...data.replies.map((reply) => ({ kind: 'reply', day: reply.day, reply })),
    ];
    // tips keep their inbox order; a reply goes after the tips of its day and before later ones
    items.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.kind === b.kind ? 0 : a.kind === 'tip' ? -1 : 1));
    const list = $('items');
    list.replaceChildren();
    for (const item of items) {
      if (item.kind === 'tip') {
        const { tip } = item;
        const files = tip.files.length > 0 ? el('ul', { className: 'files' }, ...tip.files.map((f) => fileItem(data.handle, tip, f))) : null;
        const who = attribution(tip.signature);
        list.append(el('li', { className: who.warn ? 'item tip unverified' : 'item tip' },
          el('p', { className: 'meta', text: `tip · ${tip.day} · ${tip.language} · ${size(tip.messageBytes)}${tip.files.length > 0 ? ` · ${tip.files.length} file${tip.files.length === 1 ? '' : 's'}` : ''}` }),
          el('p', { className: who.warn ? 'attribution warn' : 'attribution', text: visible(who.text) }),
          el('pre', { className: 'message', text: visible(tip.message), dir: 'auto', lang: tip.language }),
          answersList(tip),
          files));
      } else {
        const { reply } = item;
        list.append(el('li', { className: 'item reply' },
          el('p', { className: 'meta', text: `reply sent · ${reply.day} · outbox ${reply.outboxFile}` }),
          el('pre', { className: 'message', text: visible(reply.text), dir: 'auto' })));
      }
    }
    $('reply-status').textContent = '';
    await loadSources(); // also learns whether this run can reply
    $('reply-box').hidden = !canReply;
  }

  async function sendReply() {
    const text = $('reply-text').value;
    const button = $('reply-send');
    button.disabled = true;
    $('reply-status').textContent = 'Signing and encrypting…';
    try {
      const written = await api(`api/sources/${encodeURIComponent(current)}/replies`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
      });
      $('reply-text').value = '';
      await showSource(current);
      $('reply-status').textContent = `Written to the outbox: ${written.outboxFile}. Carry the outbox to the online machine and run "sealdrop push".`;
    } catch (error) {
      const hint = error.body && error.body.hint ? ` (${error.body.hint})` : '';
      $('reply-status').textContent = `Not written: ${error.message}${hint}`;
    } finally {
      button.disabled = false;
    }
  }

  async function route() {
    const handle = decodeURIComponent(location.hash.slice(1));
    try {
      if (handle) await showSource(handle);
      else await loadSources();
    } catch (error) {
      $('sources-status').textContent = `Could not read the inbox: ${error.message}`;
    }
  }

  $('reply-send').addEventListener('click', () => void sendReply());
  addEventListener('hashchange', () => void route());
  void route();
})();
