/**
 * The replay's producer layer (templates/events/replay.html): key moments and
 * polls as marks over the density graph (a click jumps there), and each poll
 * shown beside the stage from its broadcast time for as long as it ran, with
 * its final result.
 *
 * Moments come from the moments panel (`companion:moments`), polls from the
 * polls API, which gives anyone the launched polls in broadcast order, with
 * counts once public. The playhead and the duration come from replay.js
 * (`companion:playhead`), and jumps go back to it (`companion:seek`).
 */
import { h, readConfig, setText } from '../dom.js';
import { formatClock, spokenDuration } from '../format.js';
import { onPlayhead, requestSeek } from './bus.js';
import { api } from './http.js';
import { kindLabel } from './text.js';
import { PollBars, pollShares, votesText } from './poll-view.js';

// A poll stays on screen this long after its voting time ended.
const LINGER_MS = 20_000;

/** How long a poll is shown in the replay: its voting time, then a little more for the result. */
export function pollSpanMs(poll) {
  const ran = Number.isFinite(poll.closes_at_ms) && Number.isFinite(poll.opens_at_ms) ? poll.closes_at_ms - poll.opens_at_ms : (poll.duration_s || 60) * 1000;
  return Math.max(5_000, ran) + LINGER_MS;
}

export class ReplayTimeline {
  constructor({ marks, card, pollsUrl, roomUrl }) {
    this.marks = marks;
    this.card = card;
    this.pollsUrl = pollsUrl;
    this.roomUrl = roomUrl;
    this.moments = [];
    this.polls = [];
    this.durationMs = 0;
    this.nowMs = 0;
    this.shownPoll = null;
    this.buttons = new Map(); // mark key -> its button
    if (card) {
      const q = (selector) => card.querySelector(selector);
      this.el = {
        question: q('[data-poll-question]'),
        state: q('[data-poll-state]'),
        total: q('[data-poll-total]'),
        note: q('[data-poll-note]'),
      };
      this.bars = new PollBars(q('[data-poll-options]'));
    }
    document.addEventListener('companion:moments', ({ detail }) => {
      this.moments = Array.isArray(detail) ? detail : [];
      this.drawMarks();
    });
    if (window.companionMoments) this.moments = window.companionMoments.sorted();
    onPlayhead(({ media_ms: now, duration_ms: duration }) => {
      this.nowMs = now;
      // A live event's replay grows every tick: slide the marks a few times a minute, not every frame.
      if (Number.isFinite(duration) && Math.abs(duration - this.durationMs) > Math.max(500, this.durationMs / 500)) {
        this.durationMs = duration;
        this.drawMarks();
      }
      this.showPollAt(now);
    });
    this.loadPolls();
  }

  async loadPolls() {
    if (!this.pollsUrl) return;
    try {
      const body = await api('GET', this.pollsUrl);
      this.polls = (body?.results || []).filter((p) => Number.isFinite(p.media_ms)).sort((a, b) => a.media_ms - b.media_ms);
      this.drawMarks();
      this.showPollAt(this.nowMs);
    } catch (error) {
      console.warn('replay: polls unavailable', error);
    }
  }

  /** One mark's button, made once and kept (a live event's replay grows: marks only slide). */
  mark(key, { at, kind, label, text, className }) {
    let button = this.buttons.get(key);
    if (!button) {
      button = h(
        'button',
        {
          type: 'button',
          class: `timeline-mark ${className}`,
          dataset: { kind, at: String(at) },
          'aria-label': label,
          title: text,
          on: { click: () => requestSeek(at) },
        },
        h('span', { class: 'timeline-mark-pin', 'aria-hidden': 'true' }),
      );
      this.buttons.set(key, button);
    }
    return button;
  }

  drawMarks() {
    if (!this.marks) return;
    const within = (at) => this.durationMs > 0 && at <= this.durationMs;
    const wanted = [
      ...this.moments.filter((m) => within(m.media_ms)).map((m) =>
        this.mark(`m${m.id}`, {
          at: m.media_ms,
          kind: m.kind,
          className: 'timeline-mark-moment',
          label: `Go to ${spokenDuration(m.media_ms)}: ${kindLabel(m.kind)}, ${m.title}`,
          text: `${formatClock(m.media_ms)} · ${kindLabel(m.kind)}: ${m.title}`,
        }),
      ),
      ...this.polls.filter((p) => within(p.media_ms)).map((p) =>
        this.mark(`p${p.id}`, {
          at: p.media_ms,
          kind: 'poll',
          className: 'timeline-mark-poll',
          label: `Go to ${spokenDuration(p.media_ms)}: poll, ${p.question}`,
          text: `${formatClock(p.media_ms)} · Poll: ${p.question}`,
        }),
      ),
    ].sort((a, b) => Number(a.dataset.at) - Number(b.dataset.at));
    for (const button of wanted) {
      const left = Math.min(100, (100 * Number(button.dataset.at)) / this.durationMs);
      button.style.left = `${left.toFixed(3)}%`;
    }
    // Same marks in the same order: leave the DOM (and the keyboard focus) alone.
    const current = [...this.marks.children];
    if (current.length !== wanted.length || current.some((el, i) => el !== wanted[i])) this.marks.replaceChildren(...wanted);
    this.marks.hidden = wanted.length === 0;
  }

  showPollAt(now) {
    if (!this.card) return;
    let poll = null;
    for (const each of this.polls) {
      if (each.media_ms <= now && now < each.media_ms + pollSpanMs(each)) poll = each;
    }
    if (poll?.id !== this.shownPoll?.id) {
      this.shownPoll = poll;
      if (poll) this.bars.clear(); // the bars grow again each time it appears
      this.renderPoll();
    }
  }

  renderPoll() {
    const poll = this.shownPoll;
    this.card.hidden = !poll;
    if (!poll) return;
    const shares = pollShares(poll);
    setText(this.el.question, poll.question);
    const closed = poll.status === 'closed';
    setText(this.el.state, closed ? `Final result · asked at ${formatClock(poll.media_ms)}` : `Still open · asked at ${formatClock(poll.media_ms)}`);
    this.bars.render(poll, { mode: shares.hidden ? 'hidden' : 'results', mine: poll.my_vote ?? null });
    setText(this.el.total, shares.hidden ? '' : votesText(shares.total));
    this.el.total.hidden = shares.hidden;
    this.el.note.replaceChildren();
    if (!closed) {
      this.el.note.append('This poll is still open: ', h('a', { href: this.roomUrl, text: 'vote in the room' }), '.');
    }
    this.el.note.hidden = closed;
  }
}

function main() {
  const marks = document.querySelector('[data-timeline-marks]');
  const card = document.querySelector('[data-replay-poll]');
  if (!marks && !card) return;
  const config = readConfig();
  window.companionTimeline = new ReplayTimeline({ marks, card, pollsUrl: config.urls?.polls || null, roomUrl: config.urls?.room || '/' });
}

main();
