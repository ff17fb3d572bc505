/**
 * Key moments (`[data-moments-panel]`): producers pin them to broadcast time
 * (events/services.py moment_push).
 *
 * In the room the list is newest first, from the `hello` (the newest 200) and
 * `moment` frames. In the replay (`data-mode="replay"`) it is in broadcast
 * order, fetched from the moments API, and the moment the playhead has reached
 * is marked. Either way a moment is a button: the stage seeks there when it
 * can (room.js and replay.js answer `companion:seek`), which in the room
 * means watching from that moment, behind live, until "Back to live".
 */
import { h, readConfig, setText } from '../dom.js';
import { formatClock, spokenDuration } from '../format.js';
import { api } from './http.js';
import { onFrame, onPlayhead, requestSeek } from './bus.js';
import { kindLabel } from './text.js';

/** Media order, then id (the API's and the hello's order). */
const byMedia = (a, b) => a.media_ms - b.media_ms || a.id - b.id;

export class MomentsPanel {
  constructor(root, { mode = 'live', url = null } = {}) {
    this.root = root;
    this.mode = mode;
    this.url = url;
    this.byId = new Map();
    this.items = new Map(); // id -> <li>
    this.currentId = null;
    this.list = root.querySelector('[data-moments-list]');
    this.count = root.querySelector('[data-moments-count]');
    this.status = root.querySelector('[data-moments-status]');
    if (mode === 'replay') {
      onPlayhead(({ media_ms: now }) => this.markCurrent(now));
      this.load();
    } else {
      onFrame((frame) => {
        if (frame.type === 'hello') this.accept(frame.moments || [], { fresh: false });
        else if (frame.type === 'moment' && frame.moment) this.accept([frame.moment], { fresh: true });
      });
    }
    this.render();
  }

  async load() {
    if (!this.url) return;
    try {
      const body = await api('GET', this.url);
      this.accept(body?.results || [], { fresh: false });
    } catch (error) {
      setText(this.status, `Key moments could not be loaded: ${error.message}`);
      this.status.hidden = false;
    }
  }

  accept(moments, { fresh }) {
    const added = [];
    for (const moment of moments) {
      if (!moment || !Number.isInteger(moment.id) || !Number.isFinite(moment.media_ms)) continue;
      if (!this.byId.has(moment.id)) added.push(moment.id);
      this.byId.set(moment.id, moment);
    }
    if (!added.length) return;
    this.render(fresh ? new Set(added) : new Set());
    document.dispatchEvent(new CustomEvent('companion:moments', { detail: this.sorted() }));
  }

  sorted() {
    return [...this.byId.values()].sort(byMedia);
  }

  render(fresh = new Set()) {
    const moments = this.sorted();
    if (this.mode !== 'replay') moments.reverse();
    this.root.hidden = moments.length === 0;
    setText(this.count, moments.length ? String(moments.length) : '');
    const items = moments.map((moment) => {
      let li = this.items.get(moment.id);
      if (!li) {
        li = this.item(moment);
        this.items.set(moment.id, li);
      }
      li.classList.toggle('is-new', fresh.has(moment.id));
      return li;
    });
    this.list.replaceChildren(...items);
  }

  item(moment) {
    const time = formatClock(moment.media_ms);
    const button = h(
      'button',
      {
        type: 'button',
        class: 'moment-button',
        'aria-label': `${kindLabel(moment.kind)} at ${spokenDuration(moment.media_ms)}: ${moment.title}. Watch from here.`,
        title: `Watch from ${time}`,
        on: { click: () => requestSeek(moment.media_ms) },
      },
      h('span', { class: 'moment-time', text: time }),
      h('span', { class: 'moment-kind', dataset: { kind: moment.kind }, text: kindLabel(moment.kind) }),
      h('span', { class: 'moment-title', text: moment.title }),
      moment.detail ? h('span', { class: 'moment-detail', text: moment.detail }) : null,
    );
    return h('li', { class: 'moment', dataset: { id: String(moment.id), kind: moment.kind } }, button);
  }

  /** Replay: the latest moment at or before the playhead. */
  markCurrent(now) {
    let current = null;
    for (const moment of this.byId.values()) {
      if (moment.media_ms <= now && (!current || byMedia(moment, current) > 0)) current = moment;
    }
    const id = current?.id ?? null;
    if (id === this.currentId) return;
    this.items.get(this.currentId)?.removeAttribute('aria-current');
    this.currentId = id;
    this.items.get(id)?.setAttribute('aria-current', 'true');
  }
}

function main() {
  const root = document.querySelector('[data-moments-panel]');
  if (!root) return;
  const config = readConfig();
  const mode = root.dataset.mode === 'replay' ? 'replay' : 'live';
  window.companionMoments = new MomentsPanel(root, { mode, url: config.urls?.moments || null });
}

main();
