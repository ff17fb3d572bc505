/**
 * The producer console (templates/events/console.html): the event's
 * lifecycle, the stats editor, key moments, the poll desk and "summary now".
 *
 * Every control calls the REST API with the session (panels/http.js sends the
 * CSRF token). The console also opens the room socket, as viewers do, and
 * hands its frames to the parts that follow them: tallies for the poll on air,
 * the stats document and moments as they land (from this console, another
 * producer or the feed player), and the event's own changes.
 */
import { LiveClock } from './clock.js';
import { h, readConfig, setText } from './dom.js';
import { formatClock, formatCount, formatDateTime } from './format.js';
import { Notices } from './notices.js';
import { RoomSocket } from './socket.js';
import { dispatchFrame, ServerClock } from './panels/bus.js';
import { busy, confirmAction, describeApiError, say, showFieldErrors, clearFieldErrors } from './panels/forms.js';
import { api, setCsrfFallback } from './panels/http.js';
import { MomentForm } from './panels/moment-form.js';
import { PollDesk } from './panels/poll-desk.js';
import { StatsEditor } from './panels/stats-editor.js';

const CONNECTION_LABELS = { connecting: 'Connecting…', live: 'Connected', reconnecting: 'Reconnecting…', offline: 'Offline' };
const STATUS_LABELS = { scheduled: 'Scheduled', live: 'Live', ended: 'Ended' };

/** An ISO date as the value of a datetime-local input, in the browser's time zone. */
function localInputValue(iso) {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function main() {
  const config = readConfig('console-config');
  const root = document.querySelector('[data-console]');
  if (!root || !config.event) return;
  setCsrfFallback(config.csrf_token);
  const q = (selector) => root.querySelector(selector);
  const urls = config.urls.api;
  const producer = config.producer || {};

  let event = config.event;
  const clock = new LiveClock({ startedAtMs: event.started_at_ms, endedAtMs: event.ended_at_ms });
  const server = new ServerClock();
  const notices = new Notices(q('[data-notices]'));

  // --- the parts ---------------------------------------------------------------------------
  const stats = new StatsEditor(q('[data-stats-editor]'), { url: urls.stats, limits: producer.stats_limits });
  const moments = new MomentForm(q('[data-moment-form]'), {
    url: urls.moments,
    kinds: producer.moment_kinds || [],
    liveMs: () => (event.started_at_ms == null ? null : clock.liveEdgeMs()),
    list: q('[data-moments-list]'),
  });
  const desk = new PollDesk(q('[data-poll-desk]'), {
    urls,
    limits: producer.poll_limits,
    clock: server,
    eventStatus: () => event.status,
  });

  // --- the event: schedule, go live, end -----------------------------------------------------
  const lifecycle = q('[data-lifecycle]');
  const lifecycleStatus = lifecycle.querySelector('[data-form-status]');
  const scheduleForm = lifecycle.querySelector('[data-schedule-form]');
  const scheduleInput = scheduleForm.elements.scheduled_start;
  const goLive = lifecycle.querySelector('[data-go-live]');
  const end = lifecycle.querySelector('[data-end]');
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  setText(lifecycle.querySelector('[data-timezone]'), zone ? `(your time, ${zone})` : '(your time)');

  function applyEvent(next, { fromServer = true } = {}) {
    const before = event.status;
    event = { ...event, ...next };
    clock.setEvent(event);
    root.dataset.status = event.status;
    const badge = q('[data-status-badge]');
    badge.className = `badge badge-${event.status}`;
    setText(badge, STATUS_LABELS[event.status] || event.status);
    let state = '';
    if (event.status === 'scheduled') {
      state = event.scheduled_start ? `Not started. Planned for ${formatDateTime(event.scheduled_start)}.` : 'Not started, and no start is planned yet.';
    } else if (event.status === 'live') {
      state = `Live since ${formatDateTime(event.started_at)}. Viewers can comment and vote.`;
    } else {
      state = `Ended ${formatDateTime(event.ended_at)}. The room is a replay now.`;
    }
    setText(lifecycle.querySelector('[data-lifecycle-state]'), state);
    const scheduled = event.status === 'scheduled';
    scheduleForm.hidden = !scheduled;
    goLive.hidden = !scheduled;
    end.hidden = event.status !== 'live';
    if (scheduled && document.activeElement !== scheduleInput && !scheduleInput.dataset.touched) {
      scheduleInput.value = localInputValue(event.scheduled_start);
    }
    if (fromServer && before !== event.status) desk.render();
  }
  scheduleInput.addEventListener('input', () => {
    scheduleInput.dataset.touched = '1';
  });

  scheduleForm.addEventListener('submit', async (submit) => {
    submit.preventDefault();
    clearFieldErrors(lifecycle);
    const button = submit.submitter || scheduleForm.querySelector('[type="submit"]');
    const when = scheduleInput.value ? new Date(scheduleInput.value) : null;
    if (!when || Number.isNaN(when.getTime())) {
      showFieldErrors(lifecycle, [{ field: 'scheduled_start', message: 'Pick a date and a time.' }]);
      scheduleInput.focus();
      return;
    }
    const ok = await confirmAction({
      title: 'Set the planned start?',
      message: `Viewers will see the event as starting ${formatDateTime(when.toISOString())}.`,
      confirm: 'Schedule',
    });
    if (!ok) return;
    await lifecycleCall(button, urls.schedule, { scheduled_start: when.toISOString() }, 'Planned start saved.');
    delete scheduleInput.dataset.touched;
  });

  goLive.addEventListener('click', async () => {
    const ok = await confirmAction({
      title: 'Go live now?',
      message: 'The broadcast clock starts at 0:00, viewers can comment, and polls can be launched.',
      confirm: 'Go live',
    });
    if (ok) await lifecycleCall(goLive, urls.go_live, undefined, 'You are live.');
  });

  end.addEventListener('click', async () => {
    const ok = await confirmAction({
      title: 'End the event?',
      message: 'Commenting stops, the open poll closes, and the room becomes a replay. This cannot be undone.',
      confirm: 'End the event',
      danger: true,
    });
    if (ok) await lifecycleCall(end, urls.end, undefined, 'The event has ended.');
  });

  async function lifecycleCall(button, url, body, done) {
    say(lifecycleStatus, 'Working…', 'info');
    await busy(button, async () => {
      try {
        applyEvent(await api('POST', url, body));
        say(lifecycleStatus, done, 'ok');
      } catch (error) {
        const first = showFieldErrors(lifecycle, error.fieldErrors || []);
        say(lifecycleStatus, describeApiError(error), 'error');
        first?.focus();
      }
    });
  }

  // --- summary now ------------------------------------------------------------------------------
  const summaryCard = q('[data-summary-now]');
  const summaryForm = summaryCard.querySelector('[data-summary-form]');
  const summaryStatus = summaryCard.querySelector('[data-form-status]');
  const languages = Array.isArray(config.summary_languages) ? config.summary_languages : [];
  summaryForm.elements.lang.replaceChildren(
    h('option', { value: '', text: languages.length > 1 ? `Every language (${languages.join(', ')})` : 'The event’s language' }),
    ...(languages.length > 1 ? languages.map((lang) => h('option', { value: lang, text: lang })) : []),
  );
  summaryForm.addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const button = submit.submitter || summaryForm.querySelector('[type="submit"]');
    const lang = summaryForm.elements.lang.value;
    say(summaryStatus, 'Asking…', 'info');
    await busy(button, async () => {
      try {
        const answer = await api('POST', config.urls.summaries, lang ? { lang } : {});
        const langs = (answer?.queued || []).join(', ');
        say(summaryStatus, `Asked for a summary${langs ? ` in ${langs}` : ''}. It reaches viewers as soon as it is written.`, 'ok');
      } catch (error) {
        say(summaryStatus, describeApiError(error), 'error');
      }
    });
  });
  const latestSummary = summaryCard.querySelector('[data-summary-latest]');
  function showSummary(summary) {
    if (!summary?.text) return;
    latestSummary.hidden = false;
    latestSummary.replaceChildren(
      h('span', { class: 'summary-latest-meta', text: `Latest (${summary.lang}, ${formatDateTime(summary.created_at)}): ` }),
      summary.text,
    );
  }

  // --- overlay addresses --------------------------------------------------------------------------
  for (const button of root.querySelectorAll('[data-copy]')) {
    button.addEventListener('click', async () => {
      const input = document.getElementById(button.dataset.copy);
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
        setText(button, 'Copied');
      } catch {
        setText(button, 'Press Ctrl+C');
      }
      setTimeout(() => setText(button, 'Copy'), 2000);
    });
  }

  // --- the room socket ---------------------------------------------------------------------------------
  const socket = new RoomSocket({ path: config.ws_path });
  const conn = q('[data-conn]');
  socket.addEventListener('state', ({ detail: state }) => {
    conn.dataset.state = state;
    setText(q('[data-conn-label]'), CONNECTION_LABELS[state] || state);
  });
  const handlers = {
    hello(frame) {
      clock.syncServerTime(frame.server_time_ms);
      server.sync(frame.server_time_ms);
      if (frame.event) applyEvent(frame.event);
      stats.accept(frame.stats || null);
      moments.accept(frame.moments || []);
      if (frame.poll) desk.frame(frame.poll);
      else desk.scheduleReload();
      showSummary(frame.summary);
      showOnline(frame.online);
    },
    event: (frame) => frame.event && applyEvent(frame.event),
    stats: (frame) => stats.accept(frame.stats || null),
    moment: (frame) => frame.moment && moments.accept([frame.moment]),
    poll: (frame) => desk.frame(frame.poll),
    summary: (frame) => showSummary(frame.summary),
    presence: (frame) => showOnline(frame.online),
    notice: (frame) => notices.show(frame, { timeoutMs: frame.level === 'error' ? 0 : 15_000 }),
  };
  socket.addEventListener('frame', ({ detail: frame }) => {
    handlers[frame.type]?.(frame);
    dispatchFrame(frame);
  });
  socket.start();

  function showOnline(count) {
    if (!Number.isFinite(count)) return;
    q('[data-online]').hidden = false;
    setText(q('[data-online-count]'), formatCount(count));
  }

  const mediaClock = q('[data-media-clock]');
  setInterval(() => {
    setText(mediaClock, event.started_at_ms == null ? '–:––' : formatClock(clock.liveEdgeMs()));
  }, 250);

  applyEvent(event, { fromServer: false });
  // For the curious and for browser tests.
  window.companionConsole = { config, socket, stats, moments, desk, clock };
}

main();
