/**
 * "Catch me up": the latest AI summary of the event in the viewer's language
 * (the panel in templates/events/room.html, docs/summaries.md "For the front end").
 *
 * It opens no socket of its own: room.js re-dispatches every frame as a
 * `companion:frame` event on the document. The `hello` carries the latest
 * summary in the event's first language and the server's clock; `summary`
 * frames bring every language as it is written, and the latest of each is kept
 * here, so switching back to a language is instant. A language not seen yet is
 * fetched once from the summaries API (limit=1), then followed live.
 * Summary text only ever becomes textContent.
 */
import { readConfig, setText } from './dom.js';
import { formatClock } from './format.js';

const STORAGE_KEY = 'companion:summary-lang';
const TICK_MS = 5000;
const RETRY_MS = 5000;

/** 8_000 -> "8 s", 150_000 -> "2 min", 7_800_000 -> "2 h 10 min". */
export function formatAge(ms) {
  const seconds = Math.max(0, Math.floor((Number(ms) || 0) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

/** "covers 12:00–15:30" from a payload's broadcast range ("" when it has none). */
export function formatCovers({ covers_from_ms: from, covers_to_ms: to } = {}) {
  if (!Number.isFinite(to)) return '';
  if (!Number.isFinite(from) || from >= to) return `covers up to ${formatClock(to)}`;
  return `covers ${formatClock(from)}–${formatClock(to)}`;
}

/** A language's own name ("Italiano", "中文"), or its code where the browser has none. */
export function languageName(code) {
  try {
    const name = new Intl.DisplayNames([code], { type: 'language' }).of(code);
    if (name && name !== code) return name.charAt(0).toLocaleUpperCase(code) + name.slice(1);
  } catch {
    // An unknown or malformed code: show it as it is.
  }
  return code;
}

/** The newer of two payloads of one language; the same summary again takes the later word on `stale`. */
function isNewer(next, current) {
  if (!current) return true;
  if (next.created_at_ms !== current.created_at_ms) return (next.created_at_ms ?? 0) > (current.created_at_ms ?? 0);
  return (next.id ?? 0) >= (current.id ?? 0);
}

function storedLanguage() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage blocked: the choice lasts for this page only
  }
}

function storeLanguage(lang) {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Same as above.
  }
}

/** The stored choice, else the browser's first language the event offers, else the event's first. */
function initialLanguage(languages) {
  const stored = storedLanguage();
  if (stored && languages.includes(stored)) return stored;
  for (const tag of navigator.languages || []) {
    const base = String(tag).toLowerCase();
    const match = languages.find((code) => code.toLowerCase() === base) || languages.find((code) => code.toLowerCase() === base.split('-')[0]);
    if (match) return match;
  }
  return languages[0];
}

export class SummaryPanel {
  constructor(root, { languages, url }) {
    this.root = root;
    this.languages = languages.length ? languages : ['en'];
    this.url = url;
    this.byLang = new Map(); // lang -> latest payload known
    this.known = new Set(); // langs whose latest is known (a payload, or "none yet")
    this.loading = new Map(); // lang -> in-flight fetch
    this.failed = new Set();
    this.offsetMs = 0; // server clock minus ours
    this.hellos = 0;
    this.lang = initialLanguage(this.languages);

    const q = (selector) => root.querySelector(selector);
    this.el = {
      select: q('[data-summary-lang]'),
      text: q('[data-summary-text]'),
      stale: q('[data-summary-stale]'),
      meta: q('[data-summary-meta]'),
      updated: q('[data-summary-updated]'),
      covers: q('[data-summary-covers]'),
    };

    this.el.select.replaceChildren(
      ...this.languages.map((code) => {
        const option = document.createElement('option');
        option.value = code;
        option.lang = code;
        option.textContent = languageName(code);
        return option;
      }),
    );
    this.el.select.value = this.lang;
    // One language: nothing to pick.
    this.el.select.closest('[data-summary-picker]').hidden = this.languages.length < 2;
    this.el.select.addEventListener('change', () => this.choose(this.el.select.value));

    document.addEventListener('companion:frame', ({ detail: frame }) => this.handle(frame));
    // The hello only carries the first language.
    if (this.lang !== this.languages[0]) this.fetch(this.lang);
    this.render();
    setInterval(() => this.renderAge(), TICK_MS);
    root.hidden = false;
  }

  get defaultLang() {
    return this.languages[0];
  }

  handle(frame) {
    if (!frame || typeof frame !== 'object') return;
    if (frame.type === 'hello') {
      if (Number.isFinite(frame.server_time_ms)) this.offsetMs = frame.server_time_ms - Date.now();
      this.hellos += 1;
      if (this.hellos > 1) {
        // Back after a drop: frames may have been missed. The hello brings the first
        // language; the one shown is asked again, the others when picked.
        for (const lang of this.languages) if (lang !== this.defaultLang) this.known.delete(lang);
        if (this.lang !== this.defaultLang) this.fetch(this.lang);
      }
      if (frame.summary) this.accept(frame.summary);
      this.known.add(this.defaultLang);
      this.render();
    } else if (frame.type === 'summary' && frame.summary) {
      this.accept(frame.summary);
      if (frame.summary.lang === this.lang) this.render();
    } else if (frame.type === 'notice' && frame.code === 'summary_stale') {
      // The provider is failing: every summary held may be out of date, until
      // a fresh one (stale: false) arrives for its language.
      for (const [lang, payload] of this.byLang) this.byLang.set(lang, { ...payload, stale: true });
      this.render();
    }
  }

  accept(payload) {
    if (!payload || typeof payload.lang !== 'string') return;
    this.known.add(payload.lang);
    if (isNewer(payload, this.byLang.get(payload.lang))) this.byLang.set(payload.lang, payload);
  }

  choose(lang) {
    if (!this.languages.includes(lang)) return;
    this.lang = lang;
    storeLanguage(lang);
    if (!this.known.has(lang)) this.fetch(lang);
    this.render();
  }

  fetch(lang) {
    if (this.loading.has(lang) || !this.url) return;
    this.failed.delete(lang);
    const query = new URLSearchParams({ lang, limit: '1' });
    const request = fetch(`${this.url}?${query}`, { headers: { Accept: 'application/json' } })
      .then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.json();
      })
      .then((body) => {
        const latest = (body.results || [])[0];
        // A frame may have brought a newer one meanwhile: accept() keeps the newer.
        if (latest) this.accept({ ...latest, stale: Boolean(body.stale || latest.stale) });
        this.known.add(lang);
      })
      .catch(() => {
        this.failed.add(lang);
        setTimeout(() => {
          if (this.lang === lang && !this.known.has(lang)) this.fetch(lang);
        }, RETRY_MS);
      })
      .finally(() => {
        this.loading.delete(lang);
        if (lang === this.lang) this.render();
      });
    this.loading.set(lang, request);
  }

  render() {
    const payload = this.byLang.get(this.lang);
    const { text, stale, meta, covers } = this.el;
    this.root.dataset.state = payload ? 'ready' : this.failed.has(this.lang) ? 'error' : this.known.has(this.lang) ? 'empty' : 'loading';
    if (this.el.select.value !== this.lang) this.el.select.value = this.lang;
    if (payload) {
      text.lang = payload.lang;
      setText(text, payload.text);
      setText(covers, formatCovers(payload));
      covers.hidden = !covers.textContent;
      meta.hidden = false;
    } else {
      text.removeAttribute('lang');
      const words = {
        loading: 'Loading the summary…',
        error: 'The summary could not be loaded. Trying again…',
        empty: 'No summary yet. One appears here a minute or so into the broadcast.',
      };
      setText(text, words[this.root.dataset.state]);
      meta.hidden = true;
    }
    stale.hidden = !(payload && payload.stale);
    this.renderAge();
  }

  renderAge() {
    const payload = this.byLang.get(this.lang);
    const { updated } = this.el;
    if (!payload || !Number.isFinite(payload.created_at_ms)) {
      setText(updated, '');
      return;
    }
    const age = Date.now() + this.offsetMs - payload.created_at_ms;
    setText(updated, age < 5000 ? 'Updated just now' : `Updated ${formatAge(age)} ago`);
    if (payload.created_at && updated.getAttribute('datetime') !== payload.created_at) {
      updated.setAttribute('datetime', payload.created_at);
      updated.title = new Date(payload.created_at_ms).toLocaleString();
    }
  }
}

function main() {
  const root = document.querySelector('[data-summary-panel]');
  if (!root) return;
  const config = readConfig();
  const languages = Array.isArray(config.summary_languages) ? config.summary_languages.filter((l) => typeof l === 'string') : [];
  const panel = new SummaryPanel(root, { languages, url: config.urls?.summaries });
  // For the curious and for browser tests.
  window.companionSummary = panel;
}

main();
