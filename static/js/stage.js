/**
 * The danmaku overlay and the comment log, over one playhead.
 *
 * Rendering, lanes (collision avoidance), modes, pausing and seeking are the
 * `danmaku` library's (weizhenye/Danmaku, DOM engine, media mode): every
 * comment is emitted with its media time and the library shows it when the
 * playhead (a <video> or one of the clocks in clock.js) reaches that time, so
 * a viewer who lags the live edge never sees a comment before its moment.
 *
 * This module decides what is emitted: it drops ids already seen, merges the
 * same text from many viewers within a few seconds into one comment with a live
 * "×N", applies the viewer's density cap and blocked words, and hides what
 * moderators retract. Each comment is drawn by our own `render` callback, which
 * builds DOM nodes with textContent only: user text is never parsed as HTML.
 */
import { h, setText } from './dom.js';
import { formatClock } from './format.js';

const MODES = { scroll: 'rtl', top: 'top', bottom: 'bottom' };
const SIZES = new Set(['small', 'normal', 'large']);
const COLOR_RE = /^#[0-9a-fA-F]{6}$/;
// The same text within this much media time is shown once, with ×N.
export const MERGE_WINDOW_MS = 5000;
// A live comment arriving this late (a catch-up after a long blip) only goes to
// the log: flying it now would put it far from its moment.
const LATE_FLY_MS = 10_000;
// Seconds a scrolling comment takes to cross the stage, by speed setting.
const CROSSING_SECONDS = { slow: 11, normal: 7.5, fast: 5 };
const AREA_HEIGHT = { quarter: '25%', half: '50%', full: '100%' };
// How long after its moment a comment's ×N keeps counting up on screen.
const ACTIVE_MS = 20_000;
const TICK_MS = 200;
const STALE_LOG_MS = 3000;

/**
 * The key under which duplicates merge: case, width, spaces and punctuation
 * folded, long runs shortened ("GO GO GO!" == "go go go", "8888888" == "8888").
 */
export function mergeKey(text) {
  const folded = String(text).normalize('NFKC').toLowerCase();
  const key = folded.replace(/[\s\p{P}]+/gu, '').replace(/(.)\1{3,}/gu, '$1$1$1$1');
  return key || folded.trim();
}

/** Index of the first entry whose time is greater than `time`. */
function upperBound(list, time) {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].time <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first entry whose time is at least `time`. */
function lowerBound(list, time) {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].time < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class DanmakuStage {
  /**
   * @param {object} o
   * @param {Function|null} o.Danmaku  the library's constructor (null: log only)
   * @param {HTMLElement} o.container  the overlay the library draws into
   * @param {object} o.media           a <video> or a clock (clock.js)
   * @param {HTMLElement} o.log        the <ol> of the comment log
   * @param {boolean} o.clearLogOnSeek replay: the log restarts from the new moment
   */
  constructor({ Danmaku, container, media, log, logLimit = 150, clearLogOnSeek = false, onShow = null }) {
    this.container = container;
    this.media = media;
    this.log = log;
    this.logLimit = logLimit;
    this.clearLogOnSeek = clearLogOnSeek;
    this.onShow = onShow;
    this.groups = new Set();
    this.byId = new Map(); // comment id -> group, or a tombstone {time} when dropped
    this.mergeIndex = new Map(); // merge key -> groups
    this.retractedIds = new Set();
    this.capCounts = new Map(); // media second -> comments shown in it
    this.entries = []; // groups by media time, for the log
    this.cursor = 0; // entries before it have reached the playhead
    this.active = new Set(); // groups whose ×N may still change on screen
    this.logGroups = new WeakMap(); // <li> -> group
    this.cap = 20;
    this.blocked = [];
    this.crossingSeconds = CROSSING_SECONDS.normal;
    this.enabled = true;
    this.dm = null;
    if (Danmaku) {
      try {
        this.dm = new Danmaku({ container, media, comments: [], engine: 'dom' });
      } catch (error) {
        console.error('danmaku: renderer failed to start; showing the comment log only', error);
      }
    }
    for (const type of ['seeking', 'seeked']) media.addEventListener(type, () => this.onSeek());
    if (typeof ResizeObserver === 'function') {
      let pending = false;
      new ResizeObserver(() => {
        if (pending) return;
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          this.resize();
        });
      }).observe(container.parentElement || container);
    } else {
      window.addEventListener('resize', () => this.resize());
    }
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  nowMs() {
    return Math.round((Number(this.media.currentTime) || 0) * 1000);
  }

  // --- settings ----------------------------------------------------------------

  applySettings(values) {
    this.cap = Number(values.cap) || 0;
    this.crossingSeconds = CROSSING_SECONDS[values.speed] || CROSSING_SECONDS.normal;
    this.container.style.opacity = String(values.opacity);
    this.container.style.height = AREA_HEIGHT[values.area] || '100%';
    this.setBlocked(values.blocked || []);
    if (values.enabled !== this.enabled) {
      this.enabled = values.enabled;
      if (this.enabled) {
        this.container.hidden = false;
        this.resize();
        this.dm?.show();
      } else {
        // The library's advice: hide() before its container goes display:none.
        this.dm?.hide();
        this.container.hidden = true;
      }
    }
    this.resize();
  }

  resize() {
    if (!this.dm || this.container.hidden) return;
    this.dm.resize();
    const width = this.container.offsetWidth;
    if (width > 0) this.dm.speed = Math.max(30, width / this.crossingSeconds);
  }

  setBlocked(words) {
    const next = words.map((w) => String(w)).filter(Boolean);
    if (next.join('\n') === this.blocked.join('\n')) return;
    this.blocked = next;
    for (const group of this.groups) {
      const blocked = !group.own && this.isBlocked(group.item.text);
      if (blocked !== group.blocked) {
        group.blocked = blocked;
        this.syncVisibility(group);
      }
    }
  }

  isBlocked(text) {
    if (!this.blocked.length) return false;
    const folded = String(text).normalize('NFKC').toLowerCase();
    return this.blocked.some((word) => folded.includes(word));
  }

  // --- comments in -----------------------------------------------------------------

  /**
   * Add a comment payload (chat/wire.py comment_payload).
   * `live`: it arrived on the socket now (its moment is at or behind the playhead
   * for a viewer at the live edge); otherwise it was loaded for a time window.
   * `own`: the viewer's own, acknowledged comment (outlined, never merged or capped).
   * Returns the group shown for it, or null when it is not shown.
   */
  add(item, { live = false, own = false } = {}) {
    const id = item?.id;
    if (own && this.byId.has(id)) {
      const claimed = this.claim(id);
      if (claimed !== undefined) return claimed;
    }
    if (!Number.isInteger(id) || this.byId.has(id) || this.retractedIds.has(id)) return null;
    if (typeof item.text !== 'string') return null;
    const now = this.nowMs();
    let time = Math.max(0, Number(item.media_ms) || 0);
    let fly = true;
    if (live) {
      if (!own && now - time > LATE_FLY_MS) fly = false;
      // A live comment behind the playhead is shown now. The library only shows
      // comments at or after its read position, so emit it at the playhead.
      else time = Math.max(time, now);
    }
    const key = mergeKey(item.text);
    if (!own) {
      const group = this.findGroup(key, time);
      if (group) {
        group.members.push({ id, time });
        this.byId.set(id, group);
        this.updateCount(group, now);
        return group;
      }
      if (!this.allowByCap(time)) {
        this.byId.set(id, { time, dropped: true });
        return null;
      }
    }
    const group = {
      id,
      item,
      key,
      time,
      own,
      live,
      members: [{ id, time }],
      blocked: !own && this.isBlocked(item.text),
      retracted: false,
      shownCount: 1,
      el: null,
      countEl: null,
      listEl: null,
      listCountEl: null,
      render: null,
      emitted: false,
    };
    group.render = () => this.renderGroup(group);
    this.groups.add(group);
    this.byId.set(id, group);
    if (!own) {
      const same = this.mergeIndex.get(key);
      if (same) same.push(group);
      else this.mergeIndex.set(key, [group]);
    }
    if (fly && !group.blocked) this.emit(group, time);
    const index = upperBound(this.entries, time);
    this.entries.splice(index, 0, group);
    if (index < this.cursor) {
      // Behind the log's cursor: a live comment is listed now; one loaded for a
      // window the playhead has passed stays out of the log.
      this.cursor += 1;
      if (live) this.showInLog(group, now);
    }
    return group;
  }

  /**
   * The broadcast of one's own comment can beat its ack: outline the comment
   * already shown rather than show it twice.
   */
  claim(id) {
    const group = this.byId.get(id);
    if (group.dropped) {
      // Sampled out by the density cap: one's own comment is shown anyway.
      this.byId.delete(id);
      return undefined;
    }
    if (group.id !== id) {
      // Merged into someone else's identical comment: take it back out, so
      // one's own shows on its own, outlined.
      group.members = group.members.filter((member) => member.id !== id);
      this.updateCount(group, this.nowMs());
      this.byId.delete(id);
      return undefined;
    }
    if (group.own) return group;
    group.own = true;
    if (group.blocked) {
      group.blocked = false;
      if (!group.emitted) this.emit(group, Math.max(group.time, this.nowMs()));
    }
    group.el?.classList.add('dm-mine');
    group.listEl?.classList.add('log-mine');
    this.syncVisibility(group);
    return group;
  }

  emit(group, time) {
    if (!this.dm) return;
    group.emitted = true;
    this.dm.emit({ mode: MODES[group.item.mode] || 'rtl', time: time / 1000, render: group.render });
  }

  findGroup(key, time) {
    const same = this.mergeIndex.get(key);
    if (!same) return null;
    for (let i = same.length - 1; i >= 0; i -= 1) {
      const group = same[i];
      if (!group.retracted && Math.abs(time - group.time) <= MERGE_WINDOW_MS) return group;
    }
    return null;
  }

  allowByCap(time) {
    if (!this.cap) return true;
    const second = Math.floor(time / 1000);
    const shown = this.capCounts.get(second) || 0;
    if (shown >= this.cap) return false;
    this.capCounts.set(second, shown + 1);
    return true;
  }

  /** Moderators hid these: take them off the screen, the queue and the log. */
  retract(ids) {
    const now = this.nowMs();
    for (const id of ids) {
      if (!Number.isInteger(id)) continue;
      this.retractedIds.add(id);
      const group = this.byId.get(id);
      if (!group || group.dropped) continue;
      group.members = group.members.filter((member) => member.id !== id);
      if (group.members.length === 0) {
        group.retracted = true;
        this.syncVisibility(group);
        // Still queued (a viewer behind live): take it out of the library's
        // list so it never claims a lane.
        if (!group.el && this.dm) dropFromLibrary(this.dm, new Set([group.render]));
      } else {
        this.updateCount(group, now);
      }
    }
  }

  // --- drawing ---------------------------------------------------------------------

  /** The library's render callback: called once, when the comment enters the stage. */
  renderGroup(group) {
    const { item } = group;
    const size = SIZES.has(item.size) ? item.size : 'normal';
    const color = COLOR_RE.test(item.color) ? item.color : '#ffffff';
    group.countEl = h('span', { class: 'dm-count' });
    const el = h(
      'div',
      { class: `dm dm-${size}${group.own ? ' dm-mine' : ''}`, style: { color }, dataset: { id: String(group.id) } },
      item.text,
      group.countEl,
    );
    group.el = el;
    this.updateCount(group, this.nowMs(), true);
    this.syncVisibility(group);
    this.active.add(group);
    return el;
  }

  showInLog(group, now) {
    if (group.listEl || !this.log) return;
    const { item } = group;
    const color = COLOR_RE.test(item.color) ? item.color : '#ffffff';
    group.listCountEl = h('span', { class: 'log-count' });
    const li = h(
      'li',
      { class: `log-item${group.own ? ' log-mine' : ''}`, dataset: { id: String(group.id) } },
      h('span', { class: 'log-time', text: formatClock(group.time) }),
      h('span', { class: 'log-swatch', style: { background: color }, 'aria-hidden': 'true' }),
      h('span', { class: 'log-author', text: item.author?.name || 'Someone' }),
      h('span', { class: 'log-text', text: item.text }),
      group.listCountEl,
    );
    const list = this.log;
    const stick = list.parentElement
      ? list.parentElement.scrollHeight - list.parentElement.scrollTop - list.parentElement.clientHeight < 40
      : true;
    group.listEl = li;
    this.logGroups.set(li, group);
    list.append(li);
    while (list.childElementCount > this.logLimit) {
      const first = list.firstElementChild;
      const old = this.logGroups.get(first);
      if (old) old.listEl = null;
      first.remove();
    }
    if (stick && list.parentElement) list.parentElement.scrollTop = list.parentElement.scrollHeight;
    this.active.add(group);
    this.updateCount(group, now, true);
    this.syncVisibility(group);
    this.onShow?.(group);
  }

  syncVisibility(group) {
    const hidden = group.blocked || group.retracted;
    if (group.el) group.el.hidden = hidden;
    if (group.listEl) {
      if (group.retracted) {
        group.listEl.remove();
        group.listEl = null;
      } else {
        group.listEl.hidden = hidden;
      }
    }
  }

  /** ×N counts the duplicates whose own moment the playhead has reached. */
  updateCount(group, now, force = false) {
    let count = 0;
    for (const member of group.members) if (member.time <= now) count += 1;
    count = Math.max(count, group.el || group.listEl ? 1 : 0);
    if (!force && count === group.shownCount) return;
    group.shownCount = count;
    const text = count > 1 ? `×${count}` : '';
    if (group.countEl) setText(group.countEl, text);
    if (group.listCountEl) setText(group.listCountEl, text);
  }

  // --- the playhead ------------------------------------------------------------------

  tick() {
    const now = this.nowMs();
    while (this.cursor < this.entries.length && this.entries[this.cursor].time <= now) {
      const group = this.entries[this.cursor];
      this.cursor += 1;
      // One loaded after the playhead had passed its moment (a seek outran the
      // loader) is not news any more; live ones always are.
      if (!group.retracted && (group.live || now - group.time <= STALE_LOG_MS)) this.showInLog(group, now);
    }
    for (const group of this.active) {
      if (now - group.time > ACTIVE_MS || group.time > now + 1000) this.active.delete(group);
      else this.updateCount(group, now);
    }
  }

  onSeek() {
    const now = this.nowMs();
    if (this.clearLogOnSeek && this.log) {
      for (const li of this.log.children) {
        const group = this.logGroups.get(li);
        if (group) group.listEl = null;
      }
      this.log.replaceChildren();
    }
    this.active.clear();
    this.cursor = lowerBound(this.entries, now);
  }

  /**
   * Forget comments far from the playhead. The library keeps every comment it
   * was given (and its node, in media mode) so that seeking back can show it
   * again; a room open for hours must not keep them all.
   */
  prune(keepFromMs, keepToMs = Infinity) {
    const drop = new Set();
    for (const group of this.groups) {
      if ((group.time < keepFromMs || group.time > keepToMs) && !this.active.has(group)) drop.add(group);
    }
    for (const [id, entry] of this.byId) {
      const gone = entry.dropped ? entry.time < keepFromMs || entry.time > keepToMs : drop.has(entry);
      if (gone) this.byId.delete(id);
    }
    for (const second of this.capCounts.keys()) {
      if (second * 1000 < keepFromMs - 1000 || second * 1000 > keepToMs) this.capCounts.delete(second);
    }
    if (!drop.size) return 0;
    for (const group of drop) {
      this.groups.delete(group);
      const same = this.mergeIndex.get(group.key);
      if (same) {
        const rest = same.filter((g) => g !== group);
        if (rest.length) this.mergeIndex.set(group.key, rest);
        else this.mergeIndex.delete(group.key);
      }
    }
    const kept = [];
    let cursor = this.cursor;
    this.entries.forEach((group, index) => {
      if (drop.has(group)) {
        if (index < this.cursor) cursor -= 1;
      } else {
        kept.push(group);
      }
    });
    this.entries = kept;
    this.cursor = Math.max(0, cursor);
    if (this.dm) dropFromLibrary(this.dm, new Set([...drop].map((group) => group.render)));
    return drop.size;
  }

  /** Numbers for tests and the curious: what the stage holds now. */
  stats() {
    return {
      groups: this.groups.size,
      known: this.byId.size,
      onStage: this.container.querySelectorAll('.dm').length,
      queued: this.entries.length - this.cursor,
      renderer: this.dm ? 'danmaku' : 'none',
    };
  }
}

/**
 * Remove comments from the library's list. It has no public call for this; its
 * list is `comments` (public, sorted by time) and `_.position` is its read
 * cursor into that list, which must move back by the number removed before it.
 */
function dropFromLibrary(dm, renders) {
  const list = dm.comments;
  const state = dm._;
  if (!Array.isArray(list) || !state) return;
  const running = new Set(state.runningList || []);
  const position = Number.isInteger(state.position) ? state.position : null;
  let removedBefore = 0;
  let write = 0;
  for (let read = 0; read < list.length; read += 1) {
    const cmt = list[read];
    if (renders.has(cmt.render) && !running.has(cmt)) {
      if (position !== null && read < position) removedBefore += 1;
      continue;
    }
    list[write] = cmt;
    write += 1;
  }
  list.length = write;
  if (position !== null) state.position = Math.max(0, position - removedBefore);
}
