/**
 * The room's poll card (templates/events/room.html, `[data-poll-panel]`).
 *
 * State comes from the room socket through `companion:frame`: the `hello`
 * carries the open poll (or the one closed in the past minute), `poll` frames
 * bring launches, tallies (a few a second at most) and the close. A vote goes
 * over the same socket (`poll.vote`, through `companion:send`), answered by an
 * `ack` or an `error` with the same ref. The option the viewer chose is kept
 * here; after a reload it is asked once from the polls API (`my_vote`).
 *
 * While the poll is open and the viewer has not voted, options are buttons.
 * Then bars, which move as tallies arrive; a poll whose results are shown
 * after closing shows only the viewer's choice until it closes.
 */
import { readConfig, setText } from '../dom.js';
import { onFrame, PANEL_REF_PREFIX, sendFrame, ServerClock } from './bus.js';
import { api } from './http.js';
import { countdownText, describeVoteError, PollBars, pollShares, timeLeftMs, votesText } from './poll-view.js';

const ACK_TIMEOUT_MS = 8000;
// A closed poll's result stays on the card this long, then the card folds away.
const SHOW_CLOSED_MS = 120_000;
const TICK_MS = 500;

export class PollCard {
  constructor(root, { pollsUrl = null, viewer = null } = {}) {
    this.root = root;
    this.pollsUrl = pollsUrl;
    this.viewer = viewer;
    this.clock = new ServerClock();
    this.poll = null;
    this.mine = new Map(); // poll id -> option id
    this.asked = new Set(); // poll ids whose my_vote was fetched
    this.pending = null; // {ref, poll, option, timer}
    this.serial = 0;
    this.closedSeenAt = new Map(); // poll id -> when its close was seen (local ms)
    const q = (selector) => root.querySelector(selector);
    this.el = {
      question: q('[data-poll-question]'),
      state: q('[data-poll-state]'),
      countdown: q('[data-poll-countdown]'),
      total: q('[data-poll-total]'),
      note: q('[data-poll-note]'),
      message: q('[data-poll-message]'),
      announce: q('[data-poll-announce]'),
    };
    this.bars = new PollBars(q('[data-poll-options]'), { onVote: (option) => this.vote(option) });
    onFrame((frame) => this.handle(frame));
    setInterval(() => this.tick(), TICK_MS);
  }

  handle(frame) {
    switch (frame.type) {
      case 'hello':
        this.clock.sync(frame.server_time_ms);
        if (frame.viewer) this.viewer = frame.viewer;
        // The hello is the truth of the moment: a poll that closed while we were away is gone.
        this.show(frame.poll || null, { fromHello: true });
        break;
      case 'poll':
        if (frame.poll) this.show(frame.poll);
        break;
      case 'ack':
        if (this.pending && frame.ref === this.pending.ref) this.voted(this.pending.poll, this.pending.option);
        break;
      case 'error':
        if (this.pending && frame.ref === this.pending.ref) this.refused(frame);
        break;
      default:
    }
  }

  show(poll, { fromHello = false } = {}) {
    const previous = this.poll;
    if (!poll) {
      if (fromHello) this.poll = null;
      this.render();
      return;
    }
    // An older poll's late frame must not replace a newer one.
    if (previous && poll.id !== previous.id && previous.status === 'open' && poll.status !== 'open' && poll.id < previous.id) return;
    if (!previous || previous.id !== poll.id) {
      this.say('');
      if (poll.status === 'open') this.announce(`New poll: ${poll.question}`);
    } else if (previous.status === 'open' && poll.status === 'closed') {
      this.announce('The poll has closed.');
    }
    if (poll.status === 'closed' && !this.closedSeenAt.has(poll.id)) this.closedSeenAt.set(poll.id, Date.now());
    this.poll = poll;
    this.fetchMine(poll);
    this.render();
  }

  /** After a reload, the viewer's own vote is only in the polls API. */
  async fetchMine(poll) {
    if (!this.pollsUrl || !this.viewer?.id || this.mine.has(poll.id) || this.asked.has(poll.id)) return;
    this.asked.add(poll.id);
    try {
      const body = await api('GET', this.pollsUrl);
      for (const each of body?.results || []) {
        if (Number.isInteger(each.my_vote)) this.mine.set(each.id, each.my_vote);
      }
      this.render();
    } catch {
      // Only a nicety: voting again answers already_voted, with the option.
    }
  }

  vote(optionId) {
    const poll = this.poll;
    if (!poll || poll.status !== 'open' || this.pending) return;
    if (!this.viewer?.id) {
      this.say(describeVoteError('auth_required'), 'error');
      return;
    }
    if (timeLeftMs(poll, this.clock.now()) <= 0) {
      this.say(describeVoteError('poll_closed'), 'error');
      return;
    }
    this.serial += 1;
    const ref = `${PANEL_REF_PREFIX}poll-${this.serial}`;
    if (!sendFrame({ type: 'poll.vote', ref, poll: poll.id, option: optionId })) {
      this.say(describeVoteError('not_connected'), 'error');
      return;
    }
    this.pending = {
      ref,
      poll: poll.id,
      option: optionId,
      timer: setTimeout(() => {
        if (this.pending?.ref !== ref) return;
        this.pending = null;
        this.say(describeVoteError('no_answer'), 'error');
        this.render();
      }, ACK_TIMEOUT_MS),
    };
    this.say('Sending your vote…', 'info');
    this.render();
  }

  voted(pollId, optionId) {
    clearTimeout(this.pending?.timer);
    this.pending = null;
    this.mine.set(pollId, optionId);
    this.say('Thanks, your vote is in.', 'ok');
    this.render();
  }

  refused(frame) {
    const { poll, option } = this.pending;
    clearTimeout(this.pending.timer);
    this.pending = null;
    if (frame.code === 'already_voted') this.mine.set(poll, Number.isInteger(frame.option) ? frame.option : option);
    this.say(describeVoteError(frame.code, frame), 'error');
    this.render();
  }

  say(text, kind = 'info') {
    const { message } = this.el;
    setText(message, text);
    message.dataset.kind = kind;
    message.hidden = !text;
  }

  announce(text) {
    setText(this.el.announce, '');
    // A fresh text node, so screen readers announce the same words twice too.
    requestAnimationFrame(() => setText(this.el.announce, text));
  }

  mode() {
    const poll = this.poll;
    const mine = this.mine.get(poll.id);
    const left = timeLeftMs(poll, this.clock.now());
    const open = poll.status === 'open' && !(left <= 0);
    if (open && mine == null) return 'vote';
    return pollShares(poll).hidden ? 'hidden' : 'results';
  }

  render() {
    const poll = this.poll;
    const { root } = this;
    if (!poll || this.expired(poll)) {
      root.hidden = true;
      root.dataset.state = 'none';
      return;
    }
    root.hidden = false;
    root.dataset.state = poll.status;
    const mode = this.mode();
    root.dataset.mode = mode;
    setText(this.el.question, poll.question);
    this.bars.render(poll, { mode, mine: this.mine.get(poll.id) ?? null, disabled: Boolean(this.pending) });
    const shares = pollShares(poll);
    setText(this.el.total, shares.hidden ? '' : votesText(shares.total));
    this.el.total.hidden = shares.hidden;
    let note = '';
    if (mode === 'vote') note = poll.results_visibility === 'after_close' ? 'Results are shown when the poll closes.' : 'Pick one: results show once you vote.';
    else if (mode === 'hidden') note = 'Results are shown when the poll closes.';
    setText(this.el.note, note);
    this.el.note.hidden = !note;
    this.tick();
  }

  /** A closed poll folds away a while after its close. */
  expired(poll) {
    if (poll.status !== 'closed') return false;
    const seen = this.closedSeenAt.get(poll.id) ?? Date.now();
    return Date.now() - seen > SHOW_CLOSED_MS;
  }

  tick() {
    const poll = this.poll;
    if (!poll) return;
    if (this.expired(poll) && !this.root.hidden) {
      this.render();
      return;
    }
    const left = timeLeftMs(poll, this.clock.now());
    const { state, countdown } = this.el;
    if (poll.status === 'closed') {
      setText(state, 'Final result');
      setText(countdown, '');
    } else if (poll.status === 'open') {
      setText(state, left > 0 ? 'Live poll' : 'Poll closing');
      setText(countdown, countdownText(left));
      // The time ran out: no more vote buttons, whatever the close frame's delay.
      if (!(left > 0) && this.root.dataset.mode === 'vote') this.render();
    }
    countdown.hidden = !countdown.textContent;
  }
}

function main() {
  const root = document.querySelector('[data-poll-panel]');
  if (!root) return;
  const config = readConfig();
  const card = new PollCard(root, { pollsUrl: config.urls?.polls || null, viewer: config.viewer || null });
  // For the curious and for browser tests.
  window.companionPoll = card;
}

main();
