/**
 * Form helpers of the producer console: a status line per form, field errors
 * next to their fields (by the API's field path, e.g. "standings[2].rank"),
 * a confirmation dialog, and the parsing of what producers type.
 */
import { h, setText } from '../dom.js';

let serial = 0;
export function uid(prefix) {
  serial += 1;
  return `${prefix}-${serial}`;
}

/** Producer-facing words for API error codes; the server's own message otherwise (they are written for people). */
const WORDS = {
  auth_required: () => 'Your session has ended. Log in again, then retry.',
  forbidden: () => 'Only producers can do that. Is this account still in the producers group?',
  event_already_live: () => 'The event is live already.',
  poll_already_open: () => 'Another poll is on air. Close it first, then launch this one.',
  poll_launched: () => 'That poll has been launched, so it can no longer be changed or deleted.',
  rate_limited: (error) => {
    const wait = Math.max(1, Math.ceil(Number(error.details?.retry_after) || 1));
    return `${error.message || 'Too many requests.'} Try again in ${wait} s.`;
  },
};

export function describeApiError(error) {
  const words = WORDS[error?.code];
  if (words) return words(error);
  return error?.message || 'Something went wrong. Try again.';
}

/** A form's status line: role=status, with a kind for colour (info, ok, error). */
export function say(el, text, kind = 'info') {
  if (!el) return;
  setText(el, text);
  el.dataset.kind = kind;
  el.hidden = !text;
}

/** Clear the field errors shown inside `root`. */
export function clearFieldErrors(root) {
  for (const field of root.querySelectorAll('[aria-invalid="true"]')) {
    field.removeAttribute('aria-invalid');
    const errorId = field.dataset.errorId;
    if (errorId) {
      document.getElementById(errorId)?.remove();
      const ids = (field.getAttribute('aria-describedby') || '').split(/\s+/).filter((id) => id && id !== errorId);
      if (ids.length) field.setAttribute('aria-describedby', ids.join(' '));
      else field.removeAttribute('aria-describedby');
      delete field.dataset.errorId;
    }
  }
  for (const list of root.querySelectorAll('[data-form-errors]')) {
    list.replaceChildren();
    list.hidden = true;
  }
}

/**
 * Show `errors` ([{field, code, message}]) next to the fields whose
 * `data-path` matches; the rest go to the form's `[data-form-errors]` list.
 * Returns the first invalid field (to move focus there), if any.
 */
export function showFieldErrors(root, errors) {
  let first = null;
  const unplaced = [];
  for (const error of errors) {
    const path = error.field || '';
    const field = path ? root.querySelector(`[data-path="${CSS.escape(path)}"]`) : null;
    if (!field) {
      unplaced.push(error);
      continue;
    }
    if (field.getAttribute('aria-invalid') === 'true') continue; // one message per field
    const id = uid('field-error');
    const message = h('span', { class: 'field-error', id, text: fieldMessage(error) });
    field.setAttribute('aria-invalid', 'true');
    field.dataset.errorId = id;
    field.setAttribute('aria-describedby', [field.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
    (field.closest('[data-error-slot]') || field).after(message);
    first ??= field;
    field.addEventListener('input', () => clearOne(field), { once: true });
  }
  const list = root.querySelector('[data-form-errors]');
  if (list && unplaced.length) {
    list.replaceChildren(
      ...unplaced.map((error) => h('li', {}, error.field ? h('code', { text: error.field }) : null, error.field ? ': ' : '', error.message)),
    );
    list.hidden = false;
  }
  return first;
}

/**
 * An error's words next to its own field: the API's messages name the field
 * ("standings[2].rank is between 1 and 100000."), which the field's place says already.
 */
export function fieldMessage({ field = '', code = '', message = '' }) {
  if (code === 'stats_required') return 'Fill this in.';
  if (field && message.startsWith(`${field} `)) {
    const rest = message.slice(field.length + 1);
    return rest.charAt(0).toUpperCase() + rest.slice(1);
  }
  return message;
}

function clearOne(field) {
  field.removeAttribute('aria-invalid');
  const id = field.dataset.errorId;
  if (!id) return;
  document.getElementById(id)?.remove();
  const ids = (field.getAttribute('aria-describedby') || '').split(/\s+/).filter((each) => each && each !== id);
  if (ids.length) field.setAttribute('aria-describedby', ids.join(' '));
  else field.removeAttribute('aria-describedby');
  delete field.dataset.errorId;
}

/**
 * What a producer typed into a score, result, gap or metric value: empty is
 * null, a plain number ("2", "-1.5") a number, anything else ("1:51.84",
 * "+0.45", "0.50") the text as typed.
 */
export function numberOrText(raw) {
  const text = String(raw ?? '').trim();
  if (!text) return null;
  if (/^-?\d+(\.\d+)?$/.test(text) && String(Number(text)) === text) return Number(text);
  return text;
}

/** A whole number for a rank, null when empty, the text itself otherwise (the server says what is wrong). */
export function wholeOrText(raw) {
  const text = String(raw ?? '').trim();
  if (!text) return null;
  return /^\d+$/.test(text) ? Number(text) : text;
}

/** Broadcast time as typed: "83" (seconds), "1:23", "1:02:03"; NaN when it is none of these. */
export function parseMediaTime(raw) {
  const text = String(raw ?? '').trim();
  if (!/^\d+(:\d{1,2}){0,2}(\.\d+)?$/.test(text)) return NaN;
  const parts = text.split(':').map(Number);
  if (parts.slice(1).some((n) => n >= 60)) return NaN;
  const seconds = parts.reduce((total, n) => total * 60 + n, 0);
  return Math.round(seconds * 1000);
}

/**
 * Ask before doing something that viewers will notice. Resolves true when
 * confirmed. Uses the page's <dialog data-confirm> (modal: focus stays inside,
 * Escape cancels), or window.confirm where there is none.
 */
export function confirmAction({ title, message, confirm = 'Confirm', danger = false }) {
  const dialog = document.querySelector('dialog[data-confirm]');
  if (!dialog || typeof dialog.showModal !== 'function') return Promise.resolve(window.confirm(`${title}\n\n${message}`));
  setText(dialog.querySelector('[data-confirm-title]'), title);
  setText(dialog.querySelector('[data-confirm-message]'), message);
  const ok = dialog.querySelector('[data-confirm-ok]');
  setText(ok, confirm);
  ok.classList.toggle('btn-danger', danger);
  ok.classList.toggle('btn-primary', !danger);
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.returnValue = '';
    dialog.addEventListener(
      'close',
      () => {
        resolve(dialog.returnValue === 'confirm');
        if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      },
      { once: true },
    );
    dialog.showModal();
    ok.focus();
  });
}

/** Run `work` with `button` disabled and marked busy; the button comes back whatever happens. */
export async function busy(button, work) {
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    return await work();
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}
