/**
 * The live room (templates/events/room.html): the stage with danmaku, the
 * broadcast clock, the room socket, the composer, viewer settings and the log.
 */
import { LiveClock } from './clock.js';
import { Composer } from './composer.js';
import { bindFullscreen } from './fullscreen.js';
import { h, readConfig, setText } from './dom.js';
import { describeError } from './errors.js';
import { formatClock, formatCount, formatDateTime } from './format.js';
import { Notices } from './notices.js';
import { ViewerSettings, settingsPanel } from './settings.js';
import { RoomSocket } from './socket.js';
import { DanmakuStage } from './stage.js';
import { loadDanmaku } from './vendor.js';
import { PANEL_REF_PREFIX } from './panels/bus.js';
import { WindowLoader } from './windows.js';

// Behind the live edge by more than this, a viewer is "behind live".
const BEHIND_MS = 3000;
// Comments of the last moments fetched on entry, so the room is not empty.
const WARM_START_MS = 30_000;
// Behind by more than this, comments from before joining are loaded by window.
const BACKFILL_AFTER_MS = 15_000;
const UI_TICK_MS = 250;
const PRUNE_EVERY_MS = 30_000;
const KEEP_BEHIND_MS = 10 * 60_000;

const COMPOSER_NOTICES = new Set(['comment_held', 'comment_approved', 'comment_rejected']);

const CONNECTION_LABELS = {
  connecting: 'Connecting…',
  live: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

async function main() {
  const config = readConfig();
  const root = document.querySelector('[data-room]');
  if (!root || !config.event) return;
  const q = (selector) => root.querySelector(selector);

  const video = q('[data-video]');
  // The broadcast clock always runs: it is the playhead without a video, and
  // the live edge (for "back to live") with one.
  const clock = new LiveClock({ startedAtMs: config.event.started_at_ms, endedAtMs: config.event.ended_at_ms });
  const media = video || clock;
  const playheadMs = () => Math.round((Number(media.currentTime) || 0) * 1000);

  const notices = new Notices(q('[data-notices]'));
  const settings = new ViewerSettings();
  const log = q('[data-log]');
  const logEmpty = q('[data-log-empty]');
  const Danmaku = await loadDanmaku();
  const stage = new DanmakuStage({
    Danmaku,
    container: q('[data-danmaku-layer]'),
    media,
    log,
    onShow: () => {
      if (logEmpty) logEmpty.hidden = true;
    },
  });
  stage.applySettings(settings.values);
  settings.addEventListener('change', (event) => stage.applySettings(event.detail));
  settingsPanel(q('[data-settings]'), settings);
  if (!Danmaku) {
    notices.show({ level: 'warning', code: 'renderer', message: 'Flying comments are unavailable; the list shows every comment.' });
  }

  bindFullscreen(q('[data-fullscreen]'), q('[data-stage]'));

  // --- the socket -------------------------------------------------------------------
  let lastId = null;
  let event = config.event;
  let warmed = false;
  const seen = (id) => {
    if (Number.isInteger(id) && (lastId === null || id > lastId)) lastId = id;
  };
  // A reconnect always asks for what it missed: with no comment seen yet,
  // since=0 means "whatever the last minute held".
  const socket = new RoomSocket({ path: config.ws_path, since: () => (warmed ? lastId ?? 0 : null) });

  const composerForm = q('[data-composer]');
  const composer = composerForm
    ? new Composer({
        form: composerForm,
        socket,
        mediaMs: playheadMs,
        limits: config.limits,
        onAck: (item) => stage.add(item, { live: true, own: true }),
      })
    : null;

  const conn = q('[data-conn]');
  socket.addEventListener('state', ({ detail: state }) => {
    conn.dataset.state = state;
    setText(q('[data-conn-label]'), CONNECTION_LABELS[state] || state);
    if (state !== 'live') composer?.connectionLost();
  });

  const handlers = {
    hello(frame) {
      clock.syncServerTime(frame.server_time_ms);
      if (frame.event) applyEvent(frame.event);
      applyViewer(frame.viewer);
      showOnline(frame.online);
      notices.dismiss('server_busy');
      if (!warmed) {
        warmed = true;
        warmStart();
      }
    },
    danmaku(frame) {
      for (const item of frame.items || []) {
        seen(item.id);
        stage.add(item, { live: true });
      }
    },
    'danmaku.retract': (frame) => stage.retract(frame.ids || []),
    presence: (frame) => showOnline(frame.online),
    notice(frame) {
      // About one's own comment: said next to the box, where the comment was written.
      if (composer && COMPOSER_NOTICES.has(frame.code)) {
        composer.say(frame.message || describeError(frame.code, frame), frame.code === 'comment_rejected' ? 'error' : 'info');
        return;
      }
      notices.show(frame, { timeoutMs: frame.level === 'error' ? 0 : 15_000 });
    },
    ack: (frame) => composer?.handleAck(frame),
    error(frame) {
      if (composer?.handleError(frame)) return;
      // Answers to a side panel's message (a poll vote) are the panel's to show.
      if (typeof frame.ref === 'string' && frame.ref.startsWith(PANEL_REF_PREFIX)) return;
      if (frame.code === 'rate_limited') return;
      notices.show({ level: 'error', code: `error-${frame.code}`, message: describeError(frame.code, frame, config.limits) });
    },
  };
  socket.addEventListener('frame', ({ detail: frame }) => {
    const handler = handlers[frame.type];
    // Anything this page does not know is ignored, so the server can add frame
    // types freely.
    if (handler) handler(frame);
    // Other panels of the room (stats, polls, summaries) listen here instead of
    // opening a second socket.
    document.dispatchEvent(new CustomEvent('companion:frame', { detail: frame }));
  });
  socket.start();
  // Side panels send over this socket (a poll vote) and move the stage (a key moment): static/js/panels/bus.js.
  document.addEventListener('companion:send', ({ detail }) => {
    if (detail?.frame) detail.sent = socket.send(detail.frame);
  });
  document.addEventListener('companion:seek', ({ detail }) => {
    if (!detail || !Number.isFinite(detail.media_ms) || event.status === 'scheduled') return;
    if (video) {
      if (!(video.seekable && video.seekable.length)) return;
      video.currentTime = detail.media_ms / 1000;
    } else {
      clock.seek(detail.media_ms);
    }
    detail.handled = true;
    renderTransport();
  });

  function applyEvent(next) {
    event = { ...event, ...next };
    clock.setEvent(event);
    root.dataset.status = event.status;
    const badge = q('[data-status-badge]');
    if (badge) {
      badge.className = `badge badge-${event.status}`;
      setText(badge, event.status.charAt(0).toUpperCase() + event.status.slice(1));
    }
  }

  let sanctionTimer = null;
  function applyViewer(viewer) {
    if (!composer || !viewer) return;
    clearTimeout(sanctionTimer);
    if (viewer.can_post) composer.setDisabledReason(null);
    else if (event.status === 'scheduled') composer.setDisabledReason(describeError('event_not_live'));
    else if (!viewer.id) composer.setDisabledReason(describeError('auth_required'));
    else if (viewer.refusal) {
      // Banned or timed out: say so; a time-out opens the box again when it ends.
      composer.setDisabledReason(describeError(viewer.refusal.code, viewer.refusal));
      const wait = Number(viewer.refusal.retry_after);
      if (wait > 0) {
        sanctionTimer = setTimeout(() => applyViewer({ ...viewer, can_post: true, refusal: null }), wait * 1000 + 250);
      }
    } else composer.setDisabledReason(describeError('forbidden'));
  }

  function showOnline(count) {
    if (!Number.isFinite(count)) return;
    const el = q('[data-online]');
    el.hidden = false;
    setText(q('[data-online-count]'), formatCount(count));
  }

  // --- comments from before joining ------------------------------------------------------
  const loader = new WindowLoader({
    url: config.urls.danmaku,
    onItems: (items) => {
      for (const item of items) stage.add(item);
    },
  });

  async function warmStart() {
    const edge = clock.liveEdgeMs();
    if (!edge) return;
    const query = new URLSearchParams({ from_ms: String(Math.max(0, edge - WARM_START_MS)), to_ms: String(edge + 1), limit: '60' });
    try {
      const response = await fetch(`${config.urls.danmaku}?${query}`, { headers: { Accept: 'application/json' } });
      if (!response.ok) return;
      const body = await response.json();
      const items = (body.items || []).slice(-60);
      for (const item of items) {
        seen(item.id);
        stage.add(item, { live: true });
      }
    } catch {
      // Only a nicety: live comments arrive on the socket anyway.
    }
  }

  // --- transport: pause, skip back, back to live ----------------------------------------------
  const playToggle = q('[data-play-toggle]');
  const skipBack = q('[data-skip-back]');
  const backToLive = q('[data-back-to-live]');
  const lag = q('[data-lag]');

  playToggle?.addEventListener('click', () => {
    if (clock.paused) clock.play();
    else clock.pause();
    renderTransport();
  });
  skipBack?.addEventListener('click', () => {
    clock.seek(clock.currentTimeMs - 10_000);
    renderTransport();
  });
  backToLive.addEventListener('click', () => {
    if (video) {
      const target = videoLiveTarget();
      if (target !== null) video.currentTime = target / 1000;
      video.play().catch(() => {});
    } else {
      clock.backToLive();
    }
    renderTransport();
  });

  function videoLiveTarget() {
    const ranges = video.seekable;
    const end = ranges && ranges.length ? ranges.end(ranges.length - 1) * 1000 : Number(video.duration) * 1000;
    const edge = event.status === 'live' ? clock.liveEdgeMs() : Infinity;
    const target = Math.min(edge, Number.isFinite(end) ? end : edge);
    return Number.isFinite(target) ? target : null;
  }

  function behindMs() {
    if (event.status !== 'live') return 0;
    if (!video) return clock.behindMs();
    const target = videoLiveTarget();
    return target === null ? 0 : Math.max(0, target - playheadMs());
  }

  const liveControls = q('[data-live-controls]');

  function renderTransport() {
    liveControls.hidden = event.status !== 'live';
    const behind = behindMs();
    const isBehind = behind > BEHIND_MS || (!video && clock.paused);
    backToLive.hidden = !(event.status === 'live' && isBehind);
    if (playToggle) {
      setText(playToggle, clock.paused ? 'Play' : 'Pause');
    }
    let text = '';
    if (event.status === 'live') {
      if (!video && clock.paused) text = `Paused · ${formatClock(behind)} behind live`;
      else if (isBehind) text = `${formatClock(behind)} behind live`;
      else text = 'At the live edge';
    }
    setText(lag, text);
    root.classList.toggle('is-behind', isBehind);
  }

  // --- the clock face (no video) -----------------------------------------------------------------
  const face = {
    kicker: q('[data-clock-kicker]'),
    time: q('[data-clock-time]'),
    sub: q('[data-clock-sub]'),
  };

  function renderClockFace() {
    if (!face.time) return;
    if (event.status === 'scheduled' || event.started_at_ms == null) {
      setText(face.kicker, 'Starting soon');
      const start = event.scheduled_start ? Date.parse(event.scheduled_start) : NaN;
      const until = start - clock.serverNowMs();
      setText(face.time, Number.isFinite(until) && until > 0 ? `in ${formatClock(until)}` : 'Soon');
      if (event.scheduled_start) setText(face.sub, `Starts ${formatDateTime(event.scheduled_start)}`);
      return;
    }
    if (event.status === 'ended') {
      setText(face.kicker, 'Ended');
      setText(face.time, formatClock(clock.liveEdgeMs()));
      if (!face.sub.querySelector('a')) {
        face.sub.replaceChildren(
          'It is over, but ',
          h('a', { href: config.urls.replay, text: 'the replay' }),
          ' plays every comment at its moment.',
        );
      }
      return;
    }
    setText(face.kicker, clock.paused ? 'Paused' : clock.behindMs() > BEHIND_MS ? 'Behind live' : 'Live');
    setText(face.time, formatClock(clock.currentTimeMs));
  }

  // --- the page's tick -----------------------------------------------------------------------------
  let lastPrune = performance.now();
  function tick() {
    renderClockFace();
    renderTransport();
    const now = playheadMs();
    if (behindMs() > BACKFILL_AFTER_MS) loader.ensure(now - 2000, now + 60_000, clock.liveEdgeMs());
    if (performance.now() - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = performance.now();
      const [from] = loader.keep(now - KEEP_BEHIND_MS);
      stage.prune(from);
    }
  }
  tick();
  setInterval(tick, UI_TICK_MS);
  video?.addEventListener('play', renderTransport);
  video?.addEventListener('pause', renderTransport);

  // For the curious and for browser tests.
  window.companion = { config, stage, socket, clock, media, settings };
}

main().catch((error) => console.error('room failed to start', error));
