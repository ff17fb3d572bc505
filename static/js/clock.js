/**
 * Stand-ins for a <video> when the stage has none.
 *
 * The danmaku library's media mode reads `currentTime`, `paused` and
 * `playbackRate` from its media element and listens for play, pause, playing,
 * waiting and seeking. These clocks provide exactly that, so the library times,
 * pauses and seeks comments against the broadcast clock the same way it does
 * against a video, and spoiler-free sync needs no second scheduler.
 */

function nowMs() {
  return performance.timeOrigin + performance.now();
}

class VirtualMedia extends EventTarget {
  constructor() {
    super();
    this.paused = true;
    this._rate = 1;
  }

  get playbackRate() {
    return this._rate;
  }

  fire(type) {
    this.dispatchEvent(new Event(type));
  }
}

/**
 * The live room's broadcast clock: media time 0 is when the event went live.
 * Playing at the live edge unless the viewer pauses or seeks back; then it
 * runs behind the edge by a fixed lag until "back to live".
 */
export class LiveClock extends VirtualMedia {
  constructor({ startedAtMs = null, endedAtMs = null } = {}) {
    super();
    this.startedAtMs = startedAtMs;
    this.endedAtMs = endedAtMs;
    this.offsetMs = 0; // server clock minus ours
    this.lagMs = 0;
    this.frozenMs = 0;
    this.paused = false;
  }

  /** From a hello frame: the server's clock when it wrote the frame. */
  syncServerTime(serverTimeMs) {
    if (Number.isFinite(serverTimeMs)) this.offsetMs = serverTimeMs - nowMs();
  }

  setEvent({ started_at_ms = null, ended_at_ms = null } = {}) {
    this.startedAtMs = started_at_ms;
    this.endedAtMs = ended_at_ms;
  }

  serverNowMs() {
    return nowMs() + this.offsetMs;
  }

  /** Media time of the live edge (the end, once the event ended); 0 before it starts. */
  liveEdgeMs() {
    if (this.startedAtMs == null) return 0;
    const end = this.endedAtMs ?? this.serverNowMs();
    return Math.max(0, Math.round(end - this.startedAtMs));
  }

  get currentTimeMs() {
    if (this.paused) return this.frozenMs;
    return Math.max(0, this.liveEdgeMs() - this.lagMs);
  }

  get currentTime() {
    return this.currentTimeMs / 1000;
  }

  /** How far behind the live edge the viewer is, in ms. */
  behindMs() {
    return Math.max(0, this.liveEdgeMs() - this.currentTimeMs);
  }

  play() {
    if (!this.paused) return;
    this.lagMs = Math.max(0, this.liveEdgeMs() - this.frozenMs);
    this.paused = false;
    this.fire('play');
    this.fire('playing');
  }

  pause() {
    if (this.paused) return;
    this.frozenMs = this.currentTimeMs;
    this.paused = true;
    this.fire('pause');
  }

  seek(ms) {
    const target = Math.min(this.liveEdgeMs(), Math.max(0, ms));
    if (this.paused) this.frozenMs = target;
    else this.lagMs = this.liveEdgeMs() - target;
    this.fire('seeking');
    this.fire('seeked');
  }

  backToLive() {
    this.lagMs = 0;
    this.frozenMs = this.liveEdgeMs();
    this.seek(this.liveEdgeMs());
    this.play();
  }
}

/** The replay's clock: play, pause, seek and speed over a known duration. */
export class ReplayClock extends VirtualMedia {
  constructor({ durationMs = 0 } = {}) {
    super();
    this.durationMs = durationMs;
    this.baseMs = 0; // media time at baseAt
    this.baseAt = nowMs();
  }

  get currentTimeMs() {
    const t = this.paused ? this.baseMs : Math.round(this.baseMs + (nowMs() - this.baseAt) * this._rate);
    return Math.min(Math.max(0, t), this.durationMs || Infinity);
  }

  get currentTime() {
    return this.currentTimeMs / 1000;
  }

  get duration() {
    return this.durationMs / 1000;
  }

  get ended() {
    return this.durationMs > 0 && this.currentTimeMs >= this.durationMs;
  }

  get playbackRate() {
    return this._rate;
  }

  set playbackRate(rate) {
    const value = Number(rate);
    if (!(value > 0)) return;
    this.rebase();
    this._rate = value;
    this.fire('ratechange');
  }

  setDuration(ms) {
    if (Number.isFinite(ms) && ms >= 0) this.durationMs = ms;
  }

  rebase() {
    this.baseMs = this.currentTimeMs;
    this.baseAt = nowMs();
  }

  play() {
    if (!this.paused) return;
    if (this.ended) this.seek(0);
    this.baseAt = nowMs();
    this.paused = false;
    this.fire('play');
    this.fire('playing');
  }

  pause() {
    if (this.paused) return;
    this.rebase();
    this.paused = true;
    this.fire('pause');
  }

  seek(ms) {
    this.baseMs = Math.min(Math.max(0, ms), this.durationMs || Infinity);
    this.baseAt = nowMs();
    this.fire('seeking');
    this.fire('seeked');
    this.fire('timeupdate');
  }

  /** Called by the page's tick: stop at the end like a video does. */
  checkEnded() {
    if (!this.paused && this.ended) {
      this.pause();
      this.fire('ended');
    }
  }
}

/** Media time of a <video> or a clock, in ms. */
export function mediaMs(media) {
  return Math.round((Number(media.currentTime) || 0) * 1000);
}
