/**
 * The comment box: text with a character counter, colour, position and size,
 * Enter to send over the room socket, and the server's answer in plain words
 * next to the box. The text stays in the box until the server acknowledges it,
 * so nothing typed is lost to a dropped connection.
 */
import { describeError } from './errors.js';
import { setText } from './dom.js';

const ACK_TIMEOUT_MS = 10_000;

export class Composer {
  /**
   * @param {object} o
   * @param {HTMLFormElement} o.form
   * @param {import('./socket.js').RoomSocket} o.socket
   * @param {() => number} o.mediaMs   the playhead the comment belongs to
   * @param {object} o.limits          page config limits (max_length…)
   * @param {(item: object) => void} o.onAck
   */
  constructor({ form, socket, mediaMs, limits = {}, onAck }) {
    this.form = form;
    this.socket = socket;
    this.mediaMs = mediaMs;
    this.limits = limits;
    this.maxLength = Number(limits.max_length) || 100;
    this.onAck = onAck;
    this.pending = new Map(); // ref -> { timer, text }
    this.serial = 0;
    this.blockedUntil = 0;
    this.disabledReason = null;

    this.input = form.querySelector('[data-composer-text]');
    this.counter = form.querySelector('[data-composer-count]');
    this.status = form.querySelector('[data-composer-status]');
    this.button = form.querySelector('[data-composer-send]');
    this.colorInputs = [...form.querySelectorAll('input[name="color"]')];
    this.customColor = form.querySelector('[data-composer-custom-color]');
    this.mode = form.querySelector('[name="mode"]');
    this.size = form.querySelector('[name="size"]');

    this.input.addEventListener('input', () => this.updateCounter());
    this.input.addEventListener('keydown', (event) => {
      // Enter sends; Shift+Enter is not a thing in a one-line comment.
      if (event.key === 'Enter' && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.customColor?.addEventListener('input', () => {
      const custom = this.colorInputs.find((input) => input.value === 'custom');
      if (custom) custom.checked = true;
    });
    this.updateCounter();
  }

  /** The box's text as the server counts it: trimmed, whitespace collapsed. */
  text() {
    return this.input.value.trim().split(/\s+/).join(' ');
  }

  length() {
    return [...this.text()].length;
  }

  updateCounter() {
    const length = this.length();
    setText(this.counter, `${length}/${this.maxLength}`);
    const over = length > this.maxLength;
    this.counter.classList.toggle('over', over);
    this.input.setAttribute('aria-invalid', over ? 'true' : 'false');
    this.refreshButton();
  }

  color() {
    const chosen = this.colorInputs.find((input) => input.checked);
    if (!chosen) return '#ffffff';
    return chosen.value === 'custom' ? this.customColor.value : chosen.value;
  }

  /** Enable or disable posting (e.g. the event has not started); null enables. */
  setDisabledReason(reason) {
    this.disabledReason = reason;
    this.input.disabled = Boolean(reason);
    if (reason) this.say(reason, 'info');
    else if (this.status.dataset.kind === 'info') this.say('');
    this.refreshButton();
  }

  refreshButton() {
    const waiting = Date.now() < this.blockedUntil;
    this.button.disabled = Boolean(this.disabledReason) || waiting || this.length() > this.maxLength;
  }

  say(message, kind = 'error') {
    setText(this.status, message);
    this.status.dataset.kind = message ? kind : '';
  }

  submit() {
    if (this.disabledReason) return;
    const text = this.text();
    if (!text) return this.say(describeError('text_empty'));
    if ([...text].length > this.maxLength) return this.say(describeError('text_too_long', {}, this.limits));
    if (Date.now() < this.blockedUntil) {
      return this.say(describeError('rate_limited', { retry_after: (this.blockedUntil - Date.now()) / 1000 }));
    }
    this.serial += 1;
    const ref = `c${this.serial}`;
    const sent = this.socket.send({
      type: 'danmaku.post',
      ref,
      text,
      color: this.color(),
      mode: this.mode.value,
      size: this.size.value,
      media_ms: Math.max(0, Math.round(this.mediaMs())),
    });
    if (!sent) return this.say(describeError('not_connected'));
    this.say('Sending…', 'info');
    const timer = setTimeout(() => {
      if (this.pending.delete(ref)) this.say(describeError('no_answer'));
    }, ACK_TIMEOUT_MS);
    this.pending.set(ref, { timer, text });
  }

  /** An `ack` frame: true when it answered one of ours. */
  handleAck(frame) {
    const sent = this.pending.get(frame.ref);
    if (sent === undefined) return false;
    clearTimeout(sent.timer);
    this.pending.delete(frame.ref);
    // Empty the box only if it still holds what was sent: a viewer who typed
    // the next comment while this one was in flight keeps what they typed.
    if (this.text() === sent.text) {
      this.input.value = '';
      this.updateCounter();
    }
    if (frame.status === 'held') {
      // Stored, but nobody sees it (its author included) until a moderator approves it.
      this.say('Your comment is waiting for a moderator.', 'info');
      return true;
    }
    this.say('Sent.', 'ok');
    setTimeout(() => {
      if (this.status.dataset.kind === 'ok') this.say('');
    }, 2000);
    if (frame.item) this.onAck?.(frame.item);
    return true;
  }

  /**
   * An `error` frame: shown next to the box when it answers one of ours, or
   * when it is about posting at all (rate limits come without a ref).
   */
  handleError(frame) {
    const ours = frame.ref != null && this.pending.has(frame.ref);
    if (ours) {
      clearTimeout(this.pending.get(frame.ref).timer);
      this.pending.delete(frame.ref);
    } else if (frame.ref != null || frame.code !== 'rate_limited') {
      return false;
    }
    if (Number(frame.retry_after) > 0 || frame.code === 'rate_limited') {
      // rate_limited, slow_mode, timed_out: the box stays shut until then.
      const wait = Math.min(3600, Math.max(1, Number(frame.retry_after) || 1));
      this.blockedUntil = Date.now() + wait * 1000;
      this.refreshButton();
      setTimeout(() => this.refreshButton(), wait * 1000 + 50);
    }
    this.say(describeError(frame.code, frame, this.limits));
    this.input.focus();
    return true;
  }

  /** The socket dropped: what was in flight may or may not have been stored. */
  connectionLost() {
    if (!this.pending.size) return;
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    this.say('The connection dropped before the server answered. Check the comments, then send again if needed.');
  }
}
