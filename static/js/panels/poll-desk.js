/**
 * The console's polls (`[data-poll-desk]`): the poll on air with its live
 * tally and countdown (close early), the queue (launch on cue, edit, reorder,
 * delete), the form that prepares a poll, and the past polls with their final
 * results and CSV.
 *
 * The list comes from the polls API (producers get the queue and the past);
 * tallies come from the room socket's `poll` frames as viewers see them. A
 * poll whose results are shown only after closing has no tallies on the
 * socket, so while it is on air its counts are read from the results API
 * every couple of seconds.
 */
import { h, setText } from '../dom.js';
import { formatClock } from '../format.js';
import { api, withId } from './http.js';
import { busy, clearFieldErrors, confirmAction, describeApiError, say, showFieldErrors } from './forms.js';
import { countdownText, PollBars, pollShares, timeLeftMs, votesText } from './poll-view.js';

const HIDDEN_TALLY_MS = 2000;
const RELOAD_DEBOUNCE_MS = 150;
const PAST_SHOWN = 20;

const isQueue = (poll) => poll.status === 'queued' || poll.status === 'draft';

export class PollDesk {
  constructor(root, { urls, limits = {}, clock, eventStatus }) {
    this.root = root;
    this.urls = urls; // the console config's urls.api
    this.limits = { options: [2, 6], duration_s: [5, 3600], question: 200, label: 80, ...limits };
    this.clock = clock; // {now(): server ms}
    this.eventStatus = eventStatus; // () => 'scheduled' | 'live' | 'ended'
    this.polls = [];
    this.live = null; // the poll on air (or just closed), freshest known
    this.reloadTimer = null;
    this.hiddenTimer = null;
    const q = (selector) => root.querySelector(selector);
    this.el = {
      onAir: q('[data-onair]'),
      onAirEmpty: q('[data-onair-empty]'),
      onAirQuestion: q('[data-onair-question]'),
      onAirState: q('[data-onair-state]'),
      onAirCountdown: q('[data-onair-countdown]'),
      onAirTotal: q('[data-onair-total]'),
      onAirVisibility: q('[data-onair-visibility]'),
      close: q('[data-onair-close]'),
      launchNext: q('[data-launch-next]'),
      status: q('[data-desk-status]'),
      queue: q('[data-queue]'),
      queueEmpty: q('[data-queue-empty]'),
      queueHint: q('[data-queue-hint]'),
      past: q('[data-past]'),
      pastEmpty: q('[data-past-empty]'),
      form: q('[data-poll-form]'),
    };
    this.bars = new PollBars(q('[data-onair-options]'));
    this.el.close.addEventListener('click', () => this.close(this.el.close));
    this.el.launchNext.addEventListener('click', () => {
      const next = this.polls.find((p) => p.status === 'queued');
      if (next) this.launch(next, this.el.launchNext);
    });
    this.form = new PollForm(this.el.form, {
      limits: this.limits,
      onSubmit: (data, editing, button) => this.save(data, editing, button),
    });
    setInterval(() => this.tick(), 500);
    this.reload();
  }

  // --- data -----------------------------------------------------------------------------

  async reload() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = null;
    try {
      const body = await api('GET', this.urls.polls);
      this.polls = body?.results || [];
      const open = this.polls.find((p) => p.status === 'open');
      if (open) this.live = this.fresher(open, this.live);
      else if (this.live?.status === 'open') this.live = this.polls.find((p) => p.id === this.live.id) || null;
      this.render();
    } catch (error) {
      say(this.el.status, `The polls could not be loaded: ${describeApiError(error)}`, 'error');
    }
  }

  scheduleReload() {
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => this.reload(), RELOAD_DEBOUNCE_MS);
  }

  /** Of two payloads of one poll, the one with the newer state (closed beats open, more votes beat fewer). */
  fresher(a, b) {
    if (!b || a.id !== b.id) return a;
    if (a.status !== b.status) return a.status === 'closed' ? a : b;
    const total = (p) => (Number.isFinite(p.total) ? p.total : -1);
    return total(a) >= total(b) ? a : b;
  }

  /** A `poll` frame (or the hello's poll) from the room socket. */
  frame(poll) {
    if (!poll) return;
    const known = this.polls.find((p) => p.id === poll.id);
    if (!known || known.status !== poll.status) this.scheduleReload();
    if (poll.results_hidden) {
      // Viewers' frames hide the counts of such a poll; keep the ones read for producers.
      const counts = this.live?.id === poll.id && !this.live.results_hidden ? this.live : known;
      if (counts && !counts.results_hidden) poll = { ...poll, options: counts.options, total: counts.total, results_hidden: false };
    }
    this.live = this.fresher(poll, this.live);
    this.renderOnAir();
  }

  // --- actions --------------------------------------------------------------------------

  async launch(poll, button) {
    say(this.el.status, `Launching “${poll.question}”…`, 'info');
    await busy(button, async () => {
      try {
        const launched = await api('POST', withId(this.urls.poll_launch, poll.id));
        this.live = launched;
        say(this.el.status, `“${launched.question}” is on air for ${launched.duration_s} s.`, 'ok');
        await this.reload();
      } catch (error) {
        say(this.el.status, describeApiError(error), 'error');
        this.scheduleReload();
      }
    });
  }

  async close(button) {
    const poll = this.live;
    if (!poll || poll.status !== 'open') return;
    const ok = await confirmAction({
      title: 'Close the poll now?',
      message: `Voting on “${poll.question}” stops at once and viewers see the final result.`,
      confirm: 'Close poll',
      danger: true,
    });
    if (!ok) return;
    await busy(button, async () => {
      try {
        this.live = await api('POST', withId(this.urls.poll_close, poll.id));
        say(this.el.status, `Closed “${poll.question}”: ${votesText(this.live.total || 0)}.`, 'ok');
        await this.reload();
      } catch (error) {
        say(this.el.status, describeApiError(error), 'error');
      }
    });
  }

  async remove(poll, button) {
    const ok = await confirmAction({
      title: 'Delete this poll?',
      message: `“${poll.question}” leaves the queue for good.`,
      confirm: 'Delete',
      danger: true,
    });
    if (!ok) return;
    await busy(button, async () => {
      try {
        await api('DELETE', withId(this.urls.poll, poll.id));
        if (this.form.editing === poll.id) this.form.reset();
        say(this.el.status, `Deleted “${poll.question}”.`, 'ok');
        await this.reload();
        this.el.queue.querySelector('button')?.focus();
      } catch (error) {
        say(this.el.status, describeApiError(error), 'error');
      }
    });
  }

  /** Move a poll one place up (-1) or down (+1) among the polls of its status. */
  async move(poll, step, button) {
    const group = this.polls.filter((p) => p.status === poll.status);
    const index = group.findIndex((p) => p.id === poll.id);
    const other = group[index + step];
    if (!other) return;
    let [a, b] = [other.position, poll.position];
    if (a === b) b = a + step; // equal positions: separate them
    await busy(button, async () => {
      try {
        await api('PATCH', withId(this.urls.poll, poll.id), { position: a });
        await api('PATCH', withId(this.urls.poll, other.id), { position: b });
        await this.reload();
        const again = this.el.queue.querySelector(`[data-poll-id="${poll.id}"] [data-move="${step < 0 ? 'up' : 'down'}"]`);
        (again && !again.disabled ? again : this.el.queue.querySelector(`[data-poll-id="${poll.id}"] [data-edit]`))?.focus();
      } catch (error) {
        say(this.el.status, describeApiError(error), 'error');
        this.scheduleReload();
      }
    });
  }

  async save(data, editing, button) {
    const form = this.el.form;
    const status = form.querySelector('[data-form-status]');
    clearFieldErrors(form);
    say(status, editing ? 'Saving…' : 'Adding…', 'info');
    await busy(button, async () => {
      try {
        const poll = editing
          ? await api('PATCH', withId(this.urls.poll, editing), data)
          : await api('POST', this.urls.polls, data);
        this.form.reset();
        say(status, editing ? `Saved “${poll.question}”.` : `Added “${poll.question}” to the ${poll.status === 'draft' ? 'drafts' : 'queue'}.`, 'ok');
        await this.reload();
        this.form.focus();
      } catch (error) {
        const first = showFieldErrors(form, error.fieldErrors || []);
        say(status, describeApiError(error), 'error');
        first?.focus();
      }
    });
  }

  // --- drawing -------------------------------------------------------------------------------

  render() {
    this.renderOnAir();
    this.renderQueue();
    this.renderPast();
  }

  onAirPoll() {
    const poll = this.live;
    return poll && poll.status === 'open' ? poll : null;
  }

  renderOnAir() {
    const poll = this.onAirPoll();
    this.el.onAir.hidden = !poll;
    this.el.onAirEmpty.hidden = Boolean(poll);
    this.root.dataset.onAir = String(Boolean(poll));
    const next = this.polls.find((p) => p.status === 'queued');
    this.el.launchNext.hidden = Boolean(poll) || !next;
    if (next) setText(this.el.launchNext, `Launch next: ${next.question}`);
    this.el.launchNext.disabled = this.eventStatus() !== 'live';
    this.watchHidden(poll);
    if (!poll) {
      this.bars.clear();
      return;
    }
    this.el.onAir.dataset.pollId = String(poll.id);
    setText(this.el.onAirQuestion, poll.question);
    const shares = pollShares(poll);
    this.bars.render(poll, { mode: shares.hidden ? 'hidden' : 'results' });
    setText(this.el.onAirTotal, shares.hidden ? 'Counting…' : votesText(shares.total));
    setText(
      this.el.onAirVisibility,
      poll.results_visibility === 'after_close' ? 'Viewers see the results when it closes.' : 'Viewers see the results live.',
    );
    this.tick();
  }

  /** While a results-after-close poll is on air, read its counts for producers. */
  watchHidden(poll) {
    const wanted = poll && poll.results_visibility === 'after_close' ? poll.id : null;
    if (this.hiddenTimer?.id === wanted) return;
    clearInterval(this.hiddenTimer?.timer);
    this.hiddenTimer = null;
    if (wanted === null) return;
    const read = async () => {
      try {
        const results = await api('GET', withId(this.urls.poll_results, wanted));
        if (this.live?.id === wanted && this.live.status === 'open') {
          this.live = { ...this.live, options: results.options, total: results.total, results_hidden: false };
          if (results.status === 'closed') this.scheduleReload();
          this.renderOnAir();
        }
      } catch {
        // The next round tries again.
      }
    };
    this.hiddenTimer = { id: wanted, timer: setInterval(read, HIDDEN_TALLY_MS) };
    read();
  }

  /** Why launching is not possible now ('' when it is). */
  launchBlocked() {
    if (this.eventStatus() !== 'live') return 'Go live to launch polls.';
    const onAir = this.onAirPoll();
    if (onAir && timeLeftMs(onAir, this.clock.now()) > 0) return 'A poll is on air: close it, or let it run out, to launch the next.';
    return '';
  }

  tick() {
    if (this.launchBlocked() !== this.shownBlocked) this.applyBlocked();
    const poll = this.onAirPoll();
    if (!poll) return;
    const left = timeLeftMs(poll, this.clock.now());
    setText(this.el.onAirCountdown, countdownText(left));
    setText(this.el.onAirState, left > 0 ? 'On air' : 'Time is up');
  }

  /** Launch buttons follow the event's status and the poll on air (without redrawing the queue under the keyboard). */
  applyBlocked() {
    const blocked = this.launchBlocked();
    this.shownBlocked = blocked;
    setText(this.el.queueHint, blocked);
    this.el.queueHint.hidden = !blocked;
    for (const button of this.el.queue.querySelectorAll('[data-launch]')) button.disabled = Boolean(blocked);
    this.el.launchNext.disabled = this.eventStatus() !== 'live';
  }

  renderQueue() {
    const queue = this.polls.filter(isQueue);
    const blocked = this.launchBlocked();
    this.el.queueEmpty.hidden = queue.length > 0;
    this.el.queue.replaceChildren(
      ...queue.map((poll, index) => {
        const group = queue.filter((p) => p.status === poll.status);
        const inGroup = group.indexOf(poll);
        const labels = poll.options.map((o) => o.label).join(' · ');
        const action = (text, attrs, handler) =>
          h('button', { type: 'button', class: 'btn btn-small', ...attrs, on: { click: (event) => handler(event.currentTarget) } }, text);
        return h(
          'li',
          { class: 'queue-item', dataset: { pollId: String(poll.id), status: poll.status } },
          h('span', { class: 'queue-pos', 'aria-hidden': 'true', text: String(index + 1) }),
          h(
            'div',
            { class: 'queue-main' },
            h('p', { class: 'queue-question' }, poll.question, poll.status === 'draft' ? h('span', { class: 'badge badge-draft', text: 'Draft' }) : null),
            h(
              'p',
              { class: 'queue-meta' },
              `${labels} · ${poll.duration_s} s · ${poll.results_visibility === 'after_close' ? 'results after close' : 'results live'}`,
            ),
          ),
          h(
            'div',
            { class: 'queue-actions' },
            action('Launch', { class: 'btn btn-small btn-live', disabled: Boolean(blocked), 'aria-label': `Launch “${poll.question}”`, dataset: { launch: '' } }, (b) => this.launch(poll, b)),
            action('Edit', { 'aria-label': `Edit “${poll.question}”`, dataset: { edit: '' } }, () => this.form.edit(poll)),
            action('↑', { class: 'btn btn-small btn-icon', 'aria-label': `Move “${poll.question}” up`, disabled: inGroup === 0, dataset: { move: 'up' } }, (b) => this.move(poll, -1, b)),
            action('↓', { class: 'btn btn-small btn-icon', 'aria-label': `Move “${poll.question}” down`, disabled: inGroup === group.length - 1, dataset: { move: 'down' } }, (b) => this.move(poll, 1, b)),
            action('Delete', { class: 'btn btn-small btn-ghost btn-danger-text', 'aria-label': `Delete “${poll.question}”` }, (b) => this.remove(poll, b)),
          ),
        );
      }),
    );
    this.applyBlocked();
  }

  renderPast() {
    const past = this.polls.filter((p) => p.status === 'closed').slice(0, PAST_SHOWN);
    this.el.pastEmpty.hidden = past.length > 0;
    this.el.past.replaceChildren(
      ...past.map((poll, index) => {
        const shares = pollShares(poll);
        const top = [...shares.options].sort((a, b) => b.votes - a.votes)[0];
        const list = h('ol', { class: 'poll-options poll-options-compact' });
        new PollBars(list).render(poll, { mode: 'results' });
        const details = h(
          'details',
          { class: 'past-poll', open: index === 0 },
          h(
            'summary',
            {},
            h('span', { class: 'past-question', text: poll.question }),
            h('span', { class: 'past-meta', text: `${votesText(shares.total)}${top && top.votes ? ` · ${top.label} ${top.percent}%` : ''}` }),
          ),
          list,
          h(
            'p',
            { class: 'past-links' },
            Number.isFinite(poll.media_ms) ? h('span', { text: `Asked at ${formatClock(poll.media_ms)} · ` }) : null,
            h('a', { href: withId(this.urls.poll_results_csv, poll.id), download: `poll-${poll.id}-results.csv`, text: 'Results CSV' }),
          ),
        );
        return h('li', { dataset: { pollId: String(poll.id) } }, details);
      }),
    );
  }
}

/** The prepare / edit form of a poll. */
class PollForm {
  constructor(form, { limits, onSubmit }) {
    this.form = form;
    this.limits = limits;
    this.onSubmit = onSubmit;
    this.editing = null;
    const q = (selector) => form.querySelector(selector);
    this.options = q('[data-options]');
    this.addOption = q('[data-add-option]');
    this.legend = q('[data-form-legend]');
    this.submitButton = q('[type="submit"]');
    this.cancel = q('[data-cancel-edit]');
    form.elements.question.maxLength = limits.question;
    form.elements.duration_s.min = String(limits.duration_s[0]);
    form.elements.duration_s.max = String(limits.duration_s[1]);
    this.addOption.addEventListener('click', () => {
      this.option('')?.focus();
    });
    this.cancel.addEventListener('click', () => {
      const id = this.editing;
      this.reset();
      document.querySelector(`[data-poll-id="${id}"] [data-edit]`)?.focus();
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.onSubmit(this.data(), this.editing, event.submitter || this.submitButton);
    });
    this.reset();
  }

  option(value) {
    const [, max] = this.limits.options;
    if (this.options.children.length >= max) return null;
    const input = h('input', { type: 'text', class: 'option-input', maxlength: String(this.limits.label), autocomplete: 'off' });
    input.value = value;
    const remove = h('button', { type: 'button', class: 'btn btn-ghost btn-icon', text: '×' });
    const li = h('li', { class: 'option-row' }, input, remove);
    remove.addEventListener('click', () => {
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      this.renumber();
      (next?.querySelector('input') || this.addOption).focus();
    });
    this.options.append(li);
    this.renumber();
    return input;
  }

  renumber() {
    const [min, max] = this.limits.options;
    const rows = [...this.options.children];
    rows.forEach((li, index) => {
      const input = li.querySelector('input');
      input.dataset.path = `options[${index}]`;
      input.setAttribute('aria-label', `Option ${index + 1}`);
      input.placeholder = `Option ${index + 1}`;
      const remove = li.querySelector('button');
      remove.setAttribute('aria-label', `Remove option ${index + 1}`);
      remove.disabled = rows.length <= min;
    });
    this.addOption.disabled = rows.length >= max;
  }

  data() {
    const { elements } = this.form;
    const duration = elements.duration_s.value.trim();
    return {
      question: elements.question.value,
      options: [...this.options.querySelectorAll('input')].map((input) => input.value),
      duration_s: /^\d+$/.test(duration) ? Number(duration) : duration,
      results_visibility: elements.results_visibility.value,
      status: elements.status.value,
    };
  }

  fill({ question = '', options = [], duration_s = 60, results_visibility = 'live', status = 'queued' }) {
    const { elements } = this.form;
    elements.question.value = question;
    this.options.replaceChildren();
    const labels = options.length ? options : ['', ''];
    for (const label of labels) this.option(label);
    while (this.options.children.length < this.limits.options[0]) this.option('');
    elements.duration_s.value = String(duration_s);
    elements.results_visibility.value = results_visibility;
    elements.status.value = status;
  }

  edit(poll) {
    clearFieldErrors(this.form);
    this.editing = poll.id;
    this.form.dataset.editing = String(poll.id);
    this.fill({ ...poll, options: poll.options.map((o) => o.label) });
    setText(this.legend, 'Edit poll');
    setText(this.submitButton, 'Save changes');
    this.cancel.hidden = false;
    say(this.form.querySelector('[data-form-status]'), `Editing “${poll.question}”.`, 'info');
    this.focus();
  }

  reset() {
    this.editing = null;
    delete this.form.dataset.editing;
    clearFieldErrors(this.form);
    this.fill({});
    setText(this.legend, 'Prepare a poll');
    setText(this.submitButton, 'Add to queue');
    this.cancel.hidden = true;
  }

  focus() {
    this.form.elements.question.focus();
  }
}
