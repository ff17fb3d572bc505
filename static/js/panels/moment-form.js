/**
 * The console's key moment form (`[data-moment-form]`): kind, title, detail
 * and the broadcast time, which follows the live clock until the producer
 * types a time of their own ("Now" follows it again). A moment at the live
 * clock is sent without media_ms, so the server pins it to its own live edge.
 * Below, the moments so far, newest first, from the socket.
 */
import { h, setText } from '../dom.js';
import { formatClock } from '../format.js';
import { api } from './http.js';
import { busy, clearFieldErrors, describeApiError, parseMediaTime, say, showFieldErrors } from './forms.js';
import { kindLabel } from './text.js';

const SHOWN = 30;

export class MomentForm {
  constructor(form, { url, kinds = [], liveMs, list = null }) {
    this.form = form;
    this.url = url;
    this.liveMs = liveMs; // () => the live edge's media time (ms), or null before going live
    this.list = list;
    this.moments = new Map();
    this.following = true;
    const { elements } = form;
    this.kind = elements.kind;
    this.title = elements.title;
    this.detail = elements.detail;
    this.time = elements.media_time;
    this.follow = form.querySelector('[data-follow-live]');
    this.followState = form.querySelector('[data-follow-state]');
    this.status = form.querySelector('[data-form-status]');
    this.kind.replaceChildren(...kinds.map((kind) => h('option', { value: kind, text: kindLabel(kind) })));
    this.time.addEventListener('input', () => this.setFollowing(false));
    this.follow.addEventListener('click', () => {
      this.setFollowing(true);
      this.time.focus();
    });
    for (const [field, counter] of [[this.title, '[data-title-count]'], [this.detail, '[data-detail-count]']]) {
      const out = form.querySelector(counter);
      const update = () => setText(out, `${field.value.length}/${field.maxLength}`);
      field.addEventListener('input', update);
      update();
    }
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit(event.submitter || form.querySelector('[type="submit"]'));
    });
    this.setFollowing(true);
    setInterval(() => this.tick(), 250);
  }

  setFollowing(on) {
    this.following = on;
    this.follow.hidden = on;
    setText(this.followState, on ? 'Following the live clock' : 'Fixed time');
    this.form.dataset.following = String(on);
    this.tick();
  }

  tick() {
    if (!this.following) return;
    const live = this.liveMs();
    const value = live == null ? '' : formatClock(live);
    if (this.time.value !== value) this.time.value = value;
  }

  async submit(button) {
    clearFieldErrors(this.form);
    const body = { kind: this.kind.value, title: this.title.value, detail: this.detail.value };
    if (!this.following) {
      const ms = parseMediaTime(this.time.value);
      if (!Number.isFinite(ms)) {
        showFieldErrors(this.form, [{ field: 'media_ms', message: 'Type a broadcast time such as 12:34 or 1:02:03.' }]);
        say(this.status, 'Check the broadcast time.', 'error');
        this.time.focus();
        return;
      }
      body.media_ms = ms;
    }
    say(this.status, 'Pinning…', 'info');
    await busy(button, async () => {
      try {
        const moment = await api('POST', this.url, body);
        this.accept([moment]);
        say(this.status, `Pinned “${moment.title}” at ${formatClock(moment.media_ms)}.`, 'ok');
        this.title.value = '';
        this.detail.value = '';
        this.title.dispatchEvent(new Event('input'));
        this.detail.dispatchEvent(new Event('input'));
        this.setFollowing(true);
        this.title.focus();
      } catch (error) {
        const first = showFieldErrors(this.form, error.fieldErrors || []);
        say(this.status, describeApiError(error), 'error');
        first?.focus();
      }
    });
  }

  accept(moments) {
    for (const moment of moments) if (moment && Number.isInteger(moment.id)) this.moments.set(moment.id, moment);
    if (!this.list) return;
    const newest = [...this.moments.values()].sort((a, b) => b.media_ms - a.media_ms || b.id - a.id).slice(0, SHOWN);
    this.list.replaceChildren(
      ...newest.map((m) =>
        h(
          'li',
          { class: 'console-moment' },
          h('span', { class: 'moment-time', text: formatClock(m.media_ms) }),
          h('span', { class: 'moment-kind', dataset: { kind: m.kind }, text: kindLabel(m.kind) }),
          h('span', { class: 'moment-title', text: m.title }),
        ),
      ),
    );
    this.list.closest('[data-moments-recent]')?.toggleAttribute('hidden', newest.length === 0);
  }
}
