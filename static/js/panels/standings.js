/**
 * The room's standings table (templates/events/room.html, `[data-standings-panel]`).
 *
 * Each row of the stats document's standings carries `prev_rank`, its rank
 * before the last change of the standings (null: new), so the arrows survive
 * pushes that only touch the scoreboard or metrics. A row that moved in the
 * document just received flashes once; with reduced motion it does not, and
 * the arrows (with words for screen readers) say the same.
 */
import { h, setText } from '../dom.js';
import { onFrame } from './bus.js';
import { statText } from './text.js';

const rowKey = (row) => `${row?.name ?? ''}\u001f${row?.team ?? ''}`;

/** {dir: 'up'|'down'|'new'|'same', by} from a row's rank and prev_rank. */
export function rankChange(row) {
  const { rank, prev_rank: prev } = row || {};
  if (prev === null || prev === undefined) return { dir: 'new', by: 0 };
  if (!Number.isInteger(rank) || !Number.isInteger(prev) || rank === prev) return { dir: 'same', by: 0 };
  return rank < prev ? { dir: 'up', by: prev - rank } : { dir: 'down', by: rank - prev };
}

function changeCell(change) {
  const places = (n) => `${n} place${n === 1 ? '' : 's'}`;
  switch (change.dir) {
    case 'up':
      return h('td', { class: 'st-change st-up' }, h('span', { 'aria-hidden': 'true', text: `▲${change.by}` }), h('span', { class: 'visually-hidden', text: `up ${places(change.by)}` }));
    case 'down':
      return h('td', { class: 'st-change st-down' }, h('span', { 'aria-hidden': 'true', text: `▼${change.by}` }), h('span', { class: 'visually-hidden', text: `down ${places(change.by)}` }));
    case 'new':
      return h('td', { class: 'st-change st-new' }, h('span', { text: 'new' }));
    default:
      return h('td', { class: 'st-change' }, h('span', { 'aria-hidden': 'true', text: '–' }), h('span', { class: 'visually-hidden', text: 'no change' }));
  }
}

export class StandingsPanel {
  constructor(root) {
    this.root = root;
    this.statsId = null;
    this.shown = new Map(); // row key -> "rank|result|gap" last shown
    this.first = true;
    const q = (selector) => root.querySelector(selector);
    this.el = { rows: q('[data-standings-rows]'), summary: q('[data-standings-summary]') };
    onFrame((frame) => {
      if (frame.type === 'hello' || frame.type === 'stats') this.render(frame.stats || null);
    });
  }

  render(stats) {
    if (stats && this.statsId !== null && Number.isInteger(stats.id) && stats.id < this.statsId) return;
    this.statsId = stats?.id ?? null;
    const rows = Array.isArray(stats?.standings) ? stats.standings : [];
    this.root.hidden = rows.length === 0;
    const next = new Map();
    let moved = 0;
    const trs = rows.map((row) => {
      const key = rowKey(row);
      const state = `${row.rank}|${row.result}|${row.gap}`;
      next.set(key, state);
      const change = rankChange(row);
      // Flash what changed since the table last drew (not on the first draw, nor on an unrelated push).
      const flash = !this.first && this.shown.get(key) !== state && (change.dir !== 'same' || !this.shown.has(key));
      if (change.dir === 'up' || change.dir === 'down') moved += 1;
      return h(
        'tr',
        { class: `st-row st-${change.dir}-row${flash ? ' is-flash' : ''}`, dataset: { change: change.dir } },
        h('td', { class: 'st-rank', text: Number.isInteger(row.rank) ? String(row.rank) : '–' }),
        h(
          'th',
          { class: 'st-name', scope: 'row' },
          h('span', { text: String(row.name ?? '') }),
          row.team ? h('span', { class: 'st-team', text: String(row.team) }) : null,
        ),
        h('td', { class: 'st-result', text: statText(row.result) }),
        h('td', { class: 'st-gap', text: row.gap === null || row.gap === undefined || row.gap === '' ? '' : statText(row.gap) }),
        changeCell(change),
      );
    });
    this.el.rows.replaceChildren(...trs);
    this.shown = next;
    this.first = false;
    setText(this.el.summary, rows.length ? `${rows.length} listed${moved ? `, ${moved} moved at the last update` : ''}` : '');
  }
}

function main() {
  const root = document.querySelector('[data-standings-panel]');
  if (!root) return;
  window.companionStandings = new StandingsPanel(root);
}

main();
