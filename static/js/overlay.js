/**
 * The on-air overlay (templates/events/overlay.html): the live poll, and with
 * ?danmaku=1 the flying comments, on a transparent 1920x1080 canvas for an
 * encoder's browser source.
 *
 * It opens the room socket as an anonymous viewer: the `hello` brings the open
 * poll (or the one closed in the past minute), `poll` frames the launch, the
 * tallies and the close. A closed poll shows its final result for a while,
 * then the card slides away; with no poll nothing is drawn at all. Comments
 * go through the same stage module as the room (static/js/stage.js) against
 * the broadcast clock, so they fly exactly as viewers see them.
 */
import { LiveClock } from './clock.js';
import { readConfig, setText } from './dom.js';
import { RoomSocket } from './socket.js';
import { DanmakuStage } from './stage.js';
import { loadDanmaku } from './vendor.js';
import { dispatchFrame } from './panels/bus.js';
import { countdownText, PollBars, pollShares, timeLeftMs, votesText } from './panels/poll-view.js';

const WIDTH = 1920;
const HEIGHT = 1080;
// How long a closed poll's result stays on air.
const FINAL_MS = 15_000;
const TICK_MS = 250;

/** Scale the 1920x1080 canvas down to a smaller window (a preview); never up. */
function fitCanvas(canvas, width, height) {
  const scale = Math.min(1, window.innerWidth / width, window.innerHeight / height) || 1;
  canvas.style.transform = scale < 1 ? `scale(${scale})` : '';
}

export class OverlayPoll {
  constructor(root, { clock, roomUrl }) {
    this.root = root;
    this.clock = clock;
    this.roomUrl = roomUrl;
    this.poll = null;
    const q = (selector) => root.querySelector(selector);
    this.el = {
      state: q('[data-poll-state]'),
      countdown: q('[data-poll-countdown]'),
      question: q('[data-poll-question]'),
      total: q('[data-poll-total]'),
      note: q('[data-poll-note]'),
    };
    this.bars = new PollBars(q('[data-poll-options]'));
  }

  show(poll) {
    if (poll && this.poll && poll.id !== this.poll.id && this.poll.status === 'open' && poll.status !== 'open' && poll.id < this.poll.id) return;
    if (poll?.id !== this.poll?.id) this.bars.clear();
    this.poll = poll;
    this.render();
  }

  /** On air: an open poll, or a closed one for FINAL_MS after its close. */
  onAir() {
    const poll = this.poll;
    if (!poll) return false;
    if (poll.status === 'open') return true;
    return poll.status === 'closed' && Number.isFinite(poll.closes_at_ms) && this.clock.serverNowMs() < poll.closes_at_ms + FINAL_MS;
  }

  render() {
    const poll = this.poll;
    const visible = this.onAir();
    this.root.dataset.visible = String(visible);
    if (!poll) {
      this.root.dataset.state = 'none';
      return;
    }
    this.root.dataset.state = poll.status;
    setText(this.el.question, poll.question);
    const shares = pollShares(poll);
    this.bars.render(poll, { mode: shares.hidden ? 'hidden' : 'results' });
    setText(this.el.total, shares.hidden ? '' : votesText(shares.total));
    let note = '';
    if (poll.status === 'open') note = shares.hidden ? 'Results when the poll closes · vote in the room' : `Vote at ${location.host}${this.roomUrl}`;
    setText(this.el.note, note);
    this.tick();
  }

  tick() {
    const poll = this.poll;
    if (!poll) return;
    if (this.root.dataset.visible !== String(this.onAir())) this.render();
    const left = timeLeftMs(poll, this.clock.serverNowMs());
    setText(this.el.state, poll.status === 'closed' ? 'Final result' : 'Live poll');
    setText(this.el.countdown, poll.status === 'open' ? countdownText(left) : '');
  }
}

async function main() {
  const config = readConfig('overlay-config');
  const canvas = document.querySelector('[data-overlay-canvas]');
  if (!canvas || !config.event) return;
  const flags = config.overlay || {};
  const width = flags.width || WIDTH;
  const height = flags.height || HEIGHT;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  fitCanvas(canvas, width, height);
  window.addEventListener('resize', () => fitCanvas(canvas, width, height));

  const clock = new LiveClock({ startedAtMs: config.event.started_at_ms, endedAtMs: config.event.ended_at_ms });
  const pollRoot = document.querySelector('[data-overlay-poll]');
  const poll = flags.poll !== false && pollRoot ? new OverlayPoll(pollRoot, { clock, roomUrl: config.urls?.room || '' }) : null;
  if (!poll && pollRoot) pollRoot.remove();

  let stage = null;
  if (flags.danmaku) {
    const layer = document.querySelector('[data-danmaku-layer]');
    layer.hidden = false;
    const Danmaku = await loadDanmaku();
    stage = new DanmakuStage({ Danmaku, container: layer, media: clock, log: null });
    // On air: every comment (no density cap beyond the room's default), full opacity, no local blocks.
    stage.applySettings({ enabled: true, opacity: 1, speed: 'normal', cap: 20, area: 'full', blocked: [] });
  }

  let lastId = null;
  const socket = new RoomSocket({ path: config.ws_path, since: () => lastId });
  const handlers = {
    hello(frame) {
      clock.syncServerTime(frame.server_time_ms);
      if (frame.event) clock.setEvent(frame.event);
      poll?.show(frame.poll || null);
    },
    event(frame) {
      if (frame.event) clock.setEvent(frame.event);
    },
    poll(frame) {
      if (frame.poll) poll?.show(frame.poll);
    },
    danmaku(frame) {
      for (const item of frame.items || []) {
        if (Number.isInteger(item.id) && (lastId === null || item.id > lastId)) lastId = item.id;
        stage?.add(item, { live: true });
      }
    },
    'danmaku.retract': (frame) => stage?.retract(frame.ids || []),
  };
  socket.addEventListener('frame', ({ detail: frame }) => {
    handlers[frame.type]?.(frame);
    dispatchFrame(frame);
  });
  socket.start();
  setInterval(() => poll?.tick(), TICK_MS);

  // For the curious and for browser tests.
  window.companionOverlay = { config, clock, socket, poll, stage };
}

main().catch((error) => console.error('overlay failed to start', error));
