/**
 * The room's WebSocket: connects, reconnects with exponential backoff and full
 * jitter (so a server restart does not bring every viewer back at once), and
 * asks for what it missed with `?since=<last danmaku id seen>`.
 *
 * States: connecting (first attempt), live (hello received), reconnecting
 * (waiting to try again), offline (the browser is offline, or the server said
 * the room does not exist or the token is bad: no point retrying).
 */

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
const STABLE_AFTER_MS = 5_000;
// Close codes after which retrying cannot help (chat/consumers.py).
const FATAL_CLOSE_CODES = new Set([4401, 4403, 4404]);

export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

export class RoomSocket extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.path   ws path from the page config (/ws/events/<slug>/)
   * @param {() => number|null} options.since  last danmaku id seen, for catch-up
   */
  constructor({ path, since = () => null }) {
    super();
    this.path = path;
    this.since = since;
    this.ws = null;
    this.state = 'connecting';
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this.fatal = false;
    this.liveSince = null;
    this.retryHintMs = 0;
    window.addEventListener('online', () => this.wake());
    window.addEventListener('offline', () => {
      if (!this.isOpen()) this.setState('offline');
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.wake();
    });
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const since = this.since();
    const query = Number.isInteger(since) && since >= 0 ? `?since=${since}` : '';
    return `${scheme}//${location.host}${this.path}${query}`;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000);
  }

  isOpen() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  isLive() {
    return this.state === 'live' && this.isOpen();
  }

  open() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped || this.fatal) return;
    if (navigator.onLine === false) {
      this.setState('offline');
      return;
    }
    if (this.state !== 'connecting' && this.state !== 'live') this.setState('reconnecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!frame || typeof frame.type !== 'string') return;
      if (frame.type === 'notice' && Number.isFinite(frame.retry_after_ms)) {
        // A full server says how long to stay away (it already added jitter).
        this.retryHintMs = Math.min(MAX_DELAY_MS * 2, Math.max(0, frame.retry_after_ms));
      }
      if (frame.type === 'hello') {
        this.liveSince = Date.now();
        this.setState('live');
      }
      this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
    });
    ws.addEventListener('close', (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      // Only a connection that held for a while resets the backoff: a server
      // that accepts and then drops at once must not be hammered.
      if (this.liveSince && Date.now() - this.liveSince > STABLE_AFTER_MS) this.attempt = 0;
      this.liveSince = null;
      if (FATAL_CLOSE_CODES.has(event.code)) {
        this.fatal = true;
        this.setState('offline');
        return;
      }
      if (this.stopped) return;
      this.scheduleRetry();
    });
  }

  scheduleRetry() {
    if (this.stopped || this.fatal) return;
    if (navigator.onLine === false) {
      this.setState('offline');
      return;
    }
    this.setState('reconnecting');
    const hint = this.retryHintMs;
    this.retryHintMs = 0;
    const delay = hint ? hint + backoffDelay(0) : backoffDelay(this.attempt);
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this.timer = setTimeout(() => this.open(), delay);
  }

  /** Try now (the browser came back online or the tab became visible). */
  wake() {
    if (this.stopped || this.fatal || this.ws) return;
    this.attempt = Math.min(this.attempt, 1);
    this.open();
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: state }));
  }

  /** Send a JSON frame; false when the socket is not open. */
  send(frame) {
    if (!this.isOpen()) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }
}
