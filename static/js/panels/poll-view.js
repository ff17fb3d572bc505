/**
 * A poll's options, drawn the same way everywhere a poll is shown: the room's
 * poll card, the on-air overlay, the producer console and the replay.
 *
 * Options are keyed by id, so a new tally only changes each bar's scale and
 * the CSS transition moves it (static/css/companion.css, "Polls"). In the
 * `vote` mode each option is a button; in `results` each has its bar, share
 * and count; in `hidden` (results shown after closing) only the labels and the
 * viewer's own choice. Labels only ever become textContent.
 */
import { h, setText } from '../dom.js';
import { formatClock, formatCount } from '../format.js';

/** Votes, total and each option's share (0..1) of a poll payload (chat/wire.py poll_payload). */
export function pollShares(poll) {
  const options = Array.isArray(poll?.options) ? poll.options : [];
  const counted = options.map((o) => (Number.isFinite(o.votes) ? o.votes : 0));
  const sum = counted.reduce((a, b) => a + b, 0);
  const total = Number.isFinite(poll?.total) ? Math.max(poll.total, sum) : sum;
  const best = Math.max(0, ...counted);
  return {
    total,
    hidden: Boolean(poll?.results_hidden) || options.some((o) => o.votes === null || o.votes === undefined),
    options: options.map((o, i) => ({
      id: o.id,
      label: String(o.label ?? ''),
      votes: counted[i],
      share: total > 0 ? counted[i] / total : 0,
      percent: total > 0 ? Math.round((100 * counted[i]) / total) : 0,
      leading: best > 0 && counted[i] === best,
    })),
  };
}

export function votesText(n) {
  return `${formatCount(n)} vote${n === 1 ? '' : 's'}`;
}

/** "0:42 left" while the clock runs; "Closing…" once it has run out but the close is not in yet. */
export function countdownText(leftMs) {
  if (!Number.isFinite(leftMs)) return '';
  return leftMs > 0 ? `${formatClock(leftMs + 999)} left` : 'Closing…';
}

/** The poll's time left on the server's clock (`nowMs`), or NaN when it is not counting down. */
export function timeLeftMs(poll, nowMs) {
  if (!poll || poll.status !== 'open' || !Number.isFinite(poll.closes_at_ms)) return NaN;
  return poll.closes_at_ms - nowMs;
}

/** Voting errors (polls/services.py, chat/consumers.py) in plain words. */
const VOTE_WORDS = {
  already_voted: 'You have already voted in this poll.',
  poll_closed: 'This poll has closed: your vote was not counted.',
  invalid_option: 'That option is not part of this poll. Reload the page.',
  auth_required: 'Join as a guest or log in to vote.',
  poll_not_found: 'This poll is no longer available.',
  forbidden: 'This account cannot vote.',
  rate_limited: 'Too many clicks at once. Wait a second and try again.',
  results_hidden: 'The results are shown when the poll closes.',
  not_connected: 'Not connected right now. Wait a moment and try again.',
  no_answer: 'No answer from the server. Check your connection and try again.',
  internal: 'Something went wrong on our side. Try again.',
};

export function describeVoteError(code, frame = {}) {
  return VOTE_WORDS[code] || frame.message || 'Your vote could not be counted. Try again.';
}

export class PollBars {
  /**
   * @param {HTMLElement} list  an <ol> or <ul>
   * @param {object} o
   * @param {(optionId: number) => void} [o.onVote]  called when a vote button is pressed
   */
  constructor(list, { onVote } = {}) {
    this.list = list;
    this.onVote = onVote;
    this.items = new Map(); // option id -> {li, parts}
  }

  clear() {
    this.items.clear();
    this.list.replaceChildren();
  }

  /**
   * @param {object} poll  a poll payload
   * @param {object} o
   * @param {'vote'|'results'|'hidden'} o.mode
   * @param {number|null} [o.mine]  the option the viewer chose
   * @param {boolean} [o.disabled]  vote buttons shown but not pressable (a vote in flight)
   */
  render(poll, { mode = 'results', mine = null, disabled = false } = {}) {
    const { options } = pollShares(poll);
    const wanted = new Set(options.map((o) => o.id));
    for (const [id, item] of this.items) {
      if (!wanted.has(id)) {
        item.li.remove();
        this.items.delete(id);
      }
    }
    options.forEach((option, index) => {
      let item = this.items.get(option.id);
      if (!item) {
        item = this.create(option);
        this.items.set(option.id, item);
      }
      if (this.list.children[index] !== item.li) this.list.insertBefore(item.li, this.list.children[index] || null);
      this.update(item, option, { mode, mine, disabled });
    });
  }

  create(option) {
    const parts = {
      button: h('button', { type: 'button', class: 'poll-vote' }),
      fill: h('span', { class: 'poll-fill', 'aria-hidden': 'true' }),
      label: h('span', { class: 'poll-label' }),
      mine: h('span', { class: 'poll-mine', text: 'Your vote' }),
      share: h('span', { class: 'poll-share' }),
      count: h('span', { class: 'poll-count' }),
    };
    parts.button.addEventListener('click', () => this.onVote?.(option.id));
    parts.row = h('div', { class: 'poll-row' }, parts.fill, parts.label, parts.mine, parts.share, parts.count);
    const li = h('li', { class: 'poll-option', dataset: { optionId: String(option.id) } });
    return { li, parts, fresh: true, mode: null };
  }

  update(item, option, { mode, mine, disabled }) {
    const { li, parts } = item;
    const isMine = mine != null && mine === option.id;
    li.classList.toggle('is-mine', isMine);
    li.classList.toggle('is-leading', mode === 'results' && option.leading);
    li.dataset.mode = mode;
    if (mode === 'vote') {
      setText(parts.button, option.label);
      parts.button.disabled = Boolean(disabled);
      if (item.mode !== 'vote') li.replaceChildren(parts.button);
      item.mode = mode;
      item.fresh = true; // its bar grows from nothing when results show
      return;
    }
    if (item.mode !== mode || li.firstChild !== parts.row) li.replaceChildren(parts.row);
    item.mode = mode;
    setText(parts.label, option.label);
    parts.mine.hidden = !isMine;
    const results = mode === 'results';
    parts.share.hidden = !results;
    parts.count.hidden = !results;
    parts.fill.hidden = !results;
    if (!results) return;
    setText(parts.share, `${option.percent}%`);
    setText(parts.count, votesText(option.votes));
    const scale = `scaleX(${option.share.toFixed(4)})`;
    if (item.fresh) {
      // Grow from zero: the transition needs a first frame at 0.
      item.fresh = false;
      parts.fill.style.transform = 'scaleX(0)';
      void parts.fill.offsetWidth;
    }
    parts.fill.style.transform = scale;
  }
}
