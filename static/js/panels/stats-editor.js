/**
 * The console's stats editor (templates/events/console.html, `[data-stats-editor]`):
 * structured forms for the scoreboard, the standings and the free metrics of
 * the stats document (events/stats.py), and a raw JSON tab.
 *
 * Each form pushes its own section (POST stats: a section replaces, null
 * removes, absent keeps). The forms follow the current document as it arrives
 * on the socket (a feed or another producer may push too) unless the producer
 * has started editing one: then it says newer stats arrived and offers to load
 * them. The API's typed errors (`errors`: field paths such as
 * "standings[2].rank") are shown next to their fields.
 */
import { h, setText } from '../dom.js';
import { formatClock } from '../format.js';
import { api } from './http.js';
import {
  busy,
  clearFieldErrors,
  confirmAction,
  describeApiError,
  numberOrText,
  say,
  showFieldErrors,
  wholeOrText,
} from './forms.js';

const SECTIONS = ['scoreboard', 'standings', 'metrics'];

const text = (value) => (value === null || value === undefined ? '' : String(value));

/** The editable document: sections only, without the wire's id/updated_at/prev_rank. */
export function editableDocument(stats) {
  const doc = {};
  if (!stats) return doc;
  if (stats.scoreboard) doc.scoreboard = stats.scoreboard;
  if (Array.isArray(stats.standings)) {
    doc.standings = stats.standings.map(({ rank = null, name = '', team = null, result = null, gap = null }) => ({ rank, name, team, result, gap }));
  }
  if (Array.isArray(stats.metrics)) doc.metrics = stats.metrics;
  return doc;
}

/** Tabs with the WAI-ARIA keyboard pattern: arrows, Home and End move and select. */
function bindTabs(root, onSelect) {
  const tabs = [...root.querySelectorAll('[role="tab"]')];
  const select = (tab, focus = false) => {
    for (const each of tabs) {
      const on = each === tab;
      each.setAttribute('aria-selected', String(on));
      each.tabIndex = on ? 0 : -1;
      document.getElementById(each.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
    onSelect?.(tab.dataset.tab);
  };
  for (const tab of tabs) {
    tab.addEventListener('click', () => select(tab));
    tab.addEventListener('keydown', (event) => {
      const index = tabs.indexOf(tab);
      const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      select(tabs[(next + tabs.length) % tabs.length], true);
    });
  }
  select(tabs.find((t) => t.getAttribute('aria-selected') === 'true') || tabs[0]);
  return select;
}

/**
 * A list of rows the producer can add to and remove from (sides, standings,
 * metrics). `fields`: [{key, label, size?, inputmode?}]. Field paths are
 * renumbered after each change, so errors land on the right row.
 */
class RowList {
  constructor({ body, addButton, section, fields, max, rowTag = 'tr', moveable = false, onChange }) {
    this.body = body;
    this.addButton = addButton;
    this.section = section; // "scoreboard.sides", "standings", "metrics"
    this.fields = fields;
    this.max = max;
    this.rowTag = rowTag;
    this.moveable = moveable;
    this.onChange = onChange;
    addButton.addEventListener('click', () => {
      const row = this.add({});
      row?.querySelector('input')?.focus();
      this.onChange?.();
    });
  }

  rows() {
    return [...this.body.children];
  }

  set(values) {
    this.body.replaceChildren();
    for (const value of values) this.add(value, { renumber: false });
    this.renumber();
  }

  add(value, { renumber = true } = {}) {
    if (this.rows().length >= this.max) return null;
    const cell = (child) => (this.rowTag === 'tr' ? h('td', {}, child) : child);
    const inputs = this.fields.map((field) => {
      const input = h('input', {
        type: 'text',
        class: `row-input row-${field.key}`,
        value: text(value[field.key]),
        inputmode: field.inputmode,
        size: field.size,
        placeholder: field.placeholder,
        autocomplete: 'off',
        dataset: { key: field.key },
      });
      input.value = text(value[field.key]);
      return input;
    });
    const remove = h('button', { type: 'button', class: 'btn btn-ghost btn-icon', text: '×' });
    const up = this.moveable ? h('button', { type: 'button', class: 'btn btn-ghost btn-icon', text: '↑' }) : null;
    const down = this.moveable ? h('button', { type: 'button', class: 'btn btn-ghost btn-icon', text: '↓' }) : null;
    const tools = h('span', { class: 'row-tools' }, up, down, remove);
    const row = h(this.rowTag, { class: 'edit-row' }, ...inputs.map(cell), cell(tools));
    remove.addEventListener('click', () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      this.renumber();
      (next?.querySelector('input') || this.addButton).focus();
      this.onChange?.();
    });
    up?.addEventListener('click', () => {
      if (!row.previousElementSibling) return;
      row.previousElementSibling.before(row);
      this.renumber();
      up.focus();
      this.onChange?.();
    });
    down?.addEventListener('click', () => {
      if (!row.nextElementSibling) return;
      row.nextElementSibling.after(row);
      this.renumber();
      down.focus();
      this.onChange?.();
    });
    this.body.append(row);
    if (renumber) this.renumber();
    return row;
  }

  renumber() {
    this.rows().forEach((row, index) => {
      const n = index + 1;
      for (const input of row.querySelectorAll('input')) {
        const field = this.fields.find((f) => f.key === input.dataset.key);
        input.dataset.path = `${this.section}[${index}].${field.key}`;
        input.setAttribute('aria-label', `${field.label}, row ${n}`);
      }
      const [up, down, remove] = this.moveable ? row.querySelectorAll('.row-tools button') : [null, null, row.querySelector('.row-tools button')];
      remove.setAttribute('aria-label', `Remove row ${n}`);
      up?.setAttribute('aria-label', `Move row ${n} up`);
      down?.setAttribute('aria-label', `Move row ${n} down`);
    });
    this.addButton.disabled = this.rows().length >= this.max;
  }

  values(convert) {
    return this.rows().map((row) => {
      const value = {};
      for (const input of row.querySelectorAll('input')) value[input.dataset.key] = convert(input.dataset.key, input.value);
      return value;
    });
  }
}

export class StatsEditor {
  constructor(root, { url, limits = {} }) {
    this.root = root;
    this.url = url;
    this.limits = limits;
    this.current = null; // the latest stats payload known
    this.dirty = new Set(); // sections being edited
    this.stale = new Set(); // sections edited while a newer document arrived
    const q = (selector) => root.querySelector(selector);
    this.forms = Object.fromEntries([...SECTIONS, 'raw'].map((name) => [name, q(`[data-stats-form="${name}"]`)]));
    this.updated = q('[data-stats-updated]');

    this.sides = new RowList({
      body: q('[data-sides]'),
      addButton: q('[data-add-side]'),
      section: 'scoreboard.sides',
      fields: [
        { key: 'name', label: 'Side name', placeholder: 'Name' },
        { key: 'score', label: 'Score', size: 8, placeholder: 'Score' },
      ],
      max: limits.max_sides || 8,
      rowTag: 'li',
      onChange: () => this.touch('scoreboard'),
    });
    this.rows = new RowList({
      body: q('[data-standings-body]'),
      addButton: q('[data-add-row]'),
      section: 'standings',
      fields: [
        { key: 'rank', label: 'Rank', size: 3, inputmode: 'numeric' },
        { key: 'name', label: 'Name' },
        { key: 'team', label: 'Team', size: 5 },
        { key: 'result', label: 'Result', size: 8 },
        { key: 'gap', label: 'Gap', size: 7 },
      ],
      max: limits.max_rows || 100,
      moveable: true,
      onChange: () => this.touch('standings'),
    });
    this.metrics = new RowList({
      body: q('[data-metrics-body]'),
      addButton: q('[data-add-metric]'),
      section: 'metrics',
      fields: [
        { key: 'label', label: 'Label' },
        { key: 'value', label: 'Value' },
      ],
      max: limits.max_metrics || 50,
      rowTag: 'li',
      onChange: () => this.touch('metrics'),
    });

    bindTabs(q('[role="tablist"]'), (tab) => {
      if (tab === 'raw' && !this.dirty.has('raw')) this.fillRaw();
    });

    for (const [name, form] of Object.entries(this.forms)) {
      form.addEventListener('input', () => this.touch(name));
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        this.push(name, event.submitter || form.querySelector('[type="submit"]'));
      });
      for (const button of form.querySelectorAll('[data-load-current]')) button.addEventListener('click', () => this.load(name));
      form.querySelector('[data-clear-section]')?.addEventListener('click', (event) => this.clear(name, event.currentTarget));
    }
    q('[data-sort-rank]')?.addEventListener('click', () => this.sortByRank());
    this.raw = q('[data-raw-json]');
    this.rawSize = q('[data-raw-size]');
    this.raw.addEventListener('input', () => this.measureRaw());
    q('[data-raw-format]')?.addEventListener('click', () => {
      try {
        this.raw.value = JSON.stringify(JSON.parse(this.raw.value), null, 2);
        this.measureRaw();
      } catch (error) {
        say(this.status('raw'), `Not valid JSON: ${error.message}`, 'error');
      }
    });
    this.fillAll();
  }

  status(name) {
    return this.forms[name].querySelector('[data-form-status]');
  }

  touch(name) {
    this.dirty.add(name);
  }

  /** A stats payload arrived (hello or a `stats` frame). */
  accept(stats) {
    if (stats && this.current && Number.isInteger(stats.id) && stats.id < this.current.id) return;
    this.current = stats;
    this.renderUpdated();
    for (const name of [...SECTIONS, 'raw']) {
      if (this.dirty.has(name)) {
        this.stale.add(name);
        this.forms[name].querySelector('[data-newer]')?.removeAttribute('hidden');
      } else {
        this.fill(name);
      }
    }
  }

  renderUpdated() {
    const stats = this.current;
    if (!stats) {
      setText(this.updated, 'Nothing pushed yet: viewers see no stats.');
      return;
    }
    const when = stats.updated_at ? new Date(stats.updated_at).toLocaleTimeString() : '';
    const media = Number.isFinite(stats.media_ms) ? ` (broadcast ${formatClock(stats.media_ms)})` : '';
    setText(this.updated, `On viewers' pages: version ${stats.id}, pushed ${when}${media}.`);
  }

  fillAll() {
    for (const name of [...SECTIONS, 'raw']) this.fill(name);
  }

  /** Reset one form to the current document (and forget its edits). */
  load(name) {
    this.dirty.delete(name);
    this.fill(name);
    clearFieldErrors(this.forms[name]);
    say(this.status(name), 'Loaded what viewers see now.', 'info');
  }

  fill(name) {
    const doc = editableDocument(this.current);
    this.stale.delete(name);
    this.forms[name].querySelector('[data-newer]')?.setAttribute('hidden', '');
    if (name === 'scoreboard') {
      const board = doc.scoreboard || {};
      this.sides.set(board.sides || []);
      this.forms.scoreboard.elements.period.value = text(board.period);
      this.forms.scoreboard.elements.clock.value = text(board.clock);
    } else if (name === 'standings') {
      this.rows.set(doc.standings || []);
    } else if (name === 'metrics') {
      this.metrics.set(doc.metrics || []);
    } else if (name === 'raw') {
      this.fillRaw();
    }
  }

  fillRaw() {
    const doc = editableDocument(this.current);
    this.raw.value = JSON.stringify(Object.keys(doc).length ? doc : { scoreboard: { sides: [], period: null, clock: null } }, null, 2);
    this.measureRaw();
  }

  measureRaw() {
    const bytes = new TextEncoder().encode(this.raw.value).length;
    const max = this.limits.max_bytes || 32768;
    setText(this.rawSize, `${bytes.toLocaleString()} of ${max.toLocaleString()} bytes`);
    this.rawSize.dataset.over = String(bytes > max);
  }

  /** The push body of one form. */
  body(name) {
    if (name === 'scoreboard') {
      const { period, clock } = this.forms.scoreboard.elements;
      return {
        scoreboard: {
          sides: this.sides.values((key, value) => (key === 'score' ? numberOrText(value) : value.trim())),
          period: period.value.trim() || null,
          clock: clock.value.trim() || null,
        },
      };
    }
    if (name === 'standings') {
      return {
        standings: this.rows.values((key, value) => {
          if (key === 'rank') return wholeOrText(value);
          if (key === 'name') return value.trim();
          if (key === 'team') return value.trim() || null;
          return numberOrText(value);
        }),
      };
    }
    if (name === 'metrics') {
      return { metrics: this.metrics.values((key, value) => (key === 'label' ? value.trim() : numberOrText(value))) };
    }
    return JSON.parse(this.raw.value);
  }

  async push(name, button) {
    const form = this.forms[name];
    const status = this.status(name);
    clearFieldErrors(form);
    let body;
    try {
      body = this.body(name);
    } catch (error) {
      say(status, `Not valid JSON: ${error.message}`, 'error');
      this.raw.focus();
      return;
    }
    say(status, 'Pushing…', 'info');
    await busy(button, async () => {
      try {
        const answer = await api('POST', this.url, body);
        this.dirty.delete(name);
        this.accept(answer?.stats || null);
        this.fill(name);
        say(status, `Pushed: viewers see version ${answer?.stats?.id ?? ''} now.`, 'ok');
      } catch (error) {
        const errors = error.fieldErrors || [];
        const first = showFieldErrors(form, errors);
        const count = errors.length;
        const words = count > 1 ? `${count} problems, marked below.` : first ? '1 problem, marked below.' : describeApiError(error);
        say(status, `${words} Nothing was pushed.`, 'error');
        (first || status).focus?.();
      }
    });
  }

  async clear(name, button) {
    const labels = { scoreboard: 'the scoreboard', standings: 'the standings', metrics: 'the metrics' };
    const ok = await confirmAction({
      title: `Remove ${labels[name]}?`,
      message: `Viewers stop seeing ${labels[name]} at once. The other stats stay.`,
      confirm: 'Remove',
      danger: true,
    });
    if (!ok) return;
    const status = this.status(name);
    await busy(button, async () => {
      try {
        const answer = await api('POST', this.url, { [name]: null });
        this.dirty.delete(name);
        this.accept(answer?.stats || null);
        this.fill(name);
        say(status, `Removed ${labels[name]}.`, 'ok');
      } catch (error) {
        say(status, describeApiError(error), 'error');
      }
    });
  }

  sortByRank() {
    const rows = this.rows.rows();
    const rank = (row) => {
      const value = Number(row.querySelector('.row-rank').value);
      return Number.isFinite(value) && value > 0 ? value : Infinity;
    };
    rows.sort((a, b) => rank(a) - rank(b));
    this.rows.body.append(...rows);
    this.rows.renumber();
    this.touch('standings');
  }
}

