/**
 * Banners over the page: `notice` frames from the server (slow mode on, server
 * busy…) and the page's own messages. One banner per code; a newer one with the
 * same code replaces it.
 */
import { h } from './dom.js';

const LEVELS = new Set(['info', 'warning', 'error', 'success']);

export class Notices {
  constructor(root) {
    this.root = root;
    this.byCode = new Map();
  }

  /** Show {level, code, message}; `timeoutMs` removes it on its own. */
  show({ level = 'info', code = '', message = '' }, { timeoutMs = 0 } = {}) {
    if (!this.root || !message) return null;
    const key = code || message;
    this.dismiss(key);
    const kind = LEVELS.has(level) ? level : 'info';
    const banner = h(
      'div',
      { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status', dataset: { code: key } },
      h('p', { class: 'notice-text', text: message }),
      h('button', {
        type: 'button',
        class: 'notice-close',
        'aria-label': 'Dismiss',
        text: '×',
        on: { click: () => this.dismiss(key) },
      }),
    );
    this.root.append(banner);
    const entry = { banner, timer: null };
    if (timeoutMs > 0) entry.timer = setTimeout(() => this.dismiss(key), timeoutMs);
    this.byCode.set(key, entry);
    return banner;
  }

  dismiss(code) {
    const entry = this.byCode.get(code);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.banner.remove();
    this.byCode.delete(code);
  }
}
