/**
 * The replay (templates/events/replay.html): comments at their moments over a
 * video or a replay clock, loaded window by window from the replay API as the
 * playhead moves, with the density graph over a seekable timeline.
 */
import { ReplayClock } from './clock.js';
import { DensityGraph, bucketFor } from './density.js';
import { bindFullscreen } from './fullscreen.js';
import { h, readConfig, setText } from './dom.js';
import { formatClock, spokenDuration } from './format.js';
import { Notices } from './notices.js';
import { ViewerSettings, settingsPanel } from './settings.js';
import { DanmakuStage } from './stage.js';
import { loadDanmaku } from './vendor.js';
import { WindowLoader } from './windows.js';

const LOOK_BEHIND_MS = 1_000;
const LOOK_AHEAD_MS = 60_000;
const KEEP_BEHIND_MS = 90_000;
const KEEP_AHEAD_MS = 150_000;
const UI_TICK_MS = 200;
const PRUNE_EVERY_MS = 10_000;
const DENSITY_REFRESH_MS = 30_000; // while the event is still live

async function main() {
  const config = readConfig();
  const root = document.querySelector('[data-replay]');
  if (!root || !config.event) return;
  const q = (selector) => root.querySelector(selector);
  const event = config.event;

  const video = q('[data-video]');
  const clock = video ? null : new ReplayClock({ durationMs: estimatedDurationMs(event) });
  const media = video || clock;
  const playheadMs = () => Math.round((Number(media.currentTime) || 0) * 1000);

  const notices = new Notices(q('[data-notices]'));
  const settings = new ViewerSettings();
  const logEmpty = q('[data-log-empty]');
  const Danmaku = await loadDanmaku();
  const stage = new DanmakuStage({
    Danmaku,
    container: q('[data-danmaku-layer]'),
    media,
    log: q('[data-log]'),
    clearLogOnSeek: true,
    onShow: () => {
      if (logEmpty) logEmpty.hidden = true;
    },
  });
  stage.applySettings(settings.values);
  settings.addEventListener('change', (e) => stage.applySettings(e.detail));
  settingsPanel(q('[data-settings]'), settings);
  if (!Danmaku) {
    notices.show({ level: 'warning', code: 'renderer', message: 'Flying comments are unavailable; the list shows every comment.' });
  }

  bindFullscreen(q('[data-fullscreen]'), q('[data-stage]'));

  const loader = new WindowLoader({
    url: config.urls.danmaku,
    onItems: (items) => {
      for (const item of items) stage.add(item);
    },
  });

  // --- duration, seeking, playing -----------------------------------------------------------
  let densityDurationMs = 0;
  function durationMs() {
    if (video && Number.isFinite(video.duration) && video.duration > 0) return Math.round(video.duration * 1000);
    return Math.max(densityDurationMs, clock ? clock.durationMs : 0);
  }

  function seek(ms) {
    const target = Math.min(Math.max(0, Math.round(ms)), durationMs() || Infinity);
    if (video) video.currentTime = target / 1000;
    else clock.seek(target);
    loader.ensure(target - LOOK_BEHIND_MS, target + LOOK_AHEAD_MS);
    render();
  }

  const playButton = q('[data-play]');
  playButton.addEventListener('click', () => {
    if (media.paused) {
      const result = media.play();
      if (result && typeof result.catch === 'function') result.catch(() => {});
    } else {
      media.pause();
    }
    render();
  });
  for (const type of ['play', 'pause', 'ended', 'seeked', 'durationchange']) media.addEventListener(type, () => render());

  const rate = q('[data-rate]');
  rate.addEventListener('change', () => {
    media.playbackRate = Number(rate.value);
  });

  const slider = q('[data-seek]');
  slider.addEventListener('input', () => seek(Number(slider.value)));
  slider.addEventListener('keydown', (e) => {
    // Arrow keys move 5 s, Page keys a minute; Home and End keep their meaning.
    const steps = { ArrowLeft: -5000, ArrowDown: -5000, ArrowRight: 5000, ArrowUp: 5000, PageDown: -60000, PageUp: 60000 };
    if (!(e.key in steps)) return;
    e.preventDefault();
    seek(playheadMs() + steps[e.key]);
  });

  const graph = new DensityGraph(q('[data-density]'), { onSeek: (ms) => seek(ms) });
  const peaksWrap = q('[data-peaks-wrap]');
  const peaksList = q('[data-peaks]');

  async function loadDensity() {
    const bucketMs = bucketFor(Math.max(durationMs(), estimatedDurationMs(event)) || 600_000);
    try {
      const response = await fetch(`${config.urls.density}?bucket_ms=${bucketMs}`, { headers: { Accept: 'application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      densityDurationMs = Number(body.duration_ms) || 0;
      if (clock) clock.setDuration(Math.max(densityDurationMs, clock.durationMs));
      const peaks = graph.setData(body, durationMs());
      renderPeaks(peaks);
      render();
    } catch (error) {
      console.warn('replay: density graph unavailable', error);
      notices.show({ level: 'warning', code: 'density', message: 'The comment density graph could not be loaded.' }, { timeoutMs: 8000 });
    }
  }

  function renderPeaks(peaks) {
    peaksWrap.hidden = peaks.length === 0;
    peaksList.replaceChildren(
      h('li', { text: 'Hot moments:' }),
      ...peaks.map((peak) =>
        h(
          'li',
          {},
          h('button', {
            type: 'button',
            class: 'btn btn-ghost btn-small',
            text: formatClock(peak.start_ms),
            'aria-label': `Go to ${spokenDuration(peak.start_ms)} (${peak.count} comments)`,
            on: { click: () => seek(peak.start_ms) },
          }),
        ),
      ),
    );
  }

  // --- drawing ---------------------------------------------------------------------------------------
  const face = { time: q('[data-clock-time]'), kicker: q('[data-clock-kicker]') };
  const current = q('[data-current]');
  const total = q('[data-duration]');

  function render() {
    const now = playheadMs();
    const duration = durationMs();
    slider.max = String(duration);
    if (document.activeElement !== slider || media.paused) slider.value = String(now);
    slider.setAttribute('aria-valuetext', `${spokenDuration(now)} of ${spokenDuration(duration)}`);
    setText(current, formatClock(now));
    setText(total, formatClock(duration));
    const ended = duration > 0 && now >= duration && media.paused;
    setText(playButton, media.paused ? (ended ? 'Play again' : 'Play') : 'Pause');
    if (face.time) {
      setText(face.time, formatClock(now));
      setText(face.kicker, media.paused ? (ended ? 'End of replay' : 'Replay · paused') : `Replay${media.playbackRate !== 1 ? ` · ${media.playbackRate}×` : ''}`);
    }
    graph.setPlayhead(now);
    // Key moments and polls on the timeline follow the playhead (static/js/panels/replay-timeline.js).
    document.dispatchEvent(new CustomEvent('companion:playhead', { detail: { media_ms: now, duration_ms: duration } }));
  }
  document.addEventListener('companion:seek', ({ detail }) => {
    if (!detail || !Number.isFinite(detail.media_ms) || event.started_at_ms == null) return;
    seek(detail.media_ms);
    detail.handled = true;
  });

  let lastPrune = performance.now();
  function tick() {
    clock?.checkEnded();
    const now = playheadMs();
    loader.ensure(now - LOOK_BEHIND_MS, now + LOOK_AHEAD_MS, durationMs() || Infinity);
    if (performance.now() - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = performance.now();
      const [from, to] = loader.keep(now - KEEP_BEHIND_MS, now + KEEP_AHEAD_MS);
      stage.prune(from, to - 1);
    }
    if (clock && event.status === 'live') clock.setDuration(Math.max(clock.durationMs, estimatedDurationMs(event)));
    render();
  }

  if (event.started_at_ms == null) {
    setText(q('[data-clock-sub]'), 'This event has not started yet: its replay begins when it goes live.');
    playButton.disabled = true;
  }

  await loadDensity();
  tick();
  setInterval(tick, UI_TICK_MS);
  if (event.status === 'live') setInterval(loadDensity, DENSITY_REFRESH_MS);
  window.addEventListener('resize', () => graph.draw());

  window.companion = { config, stage, media, clock, graph, loader, settings, seek };
}

/** The broadcast's length as the page config knows it (ms). */
function estimatedDurationMs(event) {
  if (event.started_at_ms == null) return 0;
  const end = event.ended_at_ms ?? Date.now();
  return Math.max(0, end - event.started_at_ms);
}

main().catch((error) => console.error('replay failed to start', error));
