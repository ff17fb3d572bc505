/**
 * The room's live stats card (templates/events/room.html, `[data-scoreboard-panel]`):
 * the scoreboard (sides and scores, period, clock) and the free metrics of the
 * stats document (events/stats.py). The `hello` carries the current document,
 * each `stats` frame the whole document after a push; a score that changed
 * flashes briefly (no flash for reduced motion). Text only via textContent.
 */
import { h, setText } from '../dom.js';
import { onFrame } from './bus.js';
import { statText } from './text.js';

export class ScoreboardPanel {
  constructor(root) {
    this.root = root;
    this.statsId = null;
    this.scores = new Map(); // side name -> score text last shown
    const q = (selector) => root.querySelector(selector);
    this.el = {
      board: q('[data-score-board]'),
      period: q('[data-score-period]'),
      clock: q('[data-score-clock]'),
      sides: q('[data-score-sides]'),
      metrics: q('[data-score-metrics]'),
    };
    onFrame((frame) => {
      if (frame.type === 'hello') this.render(frame.stats || null);
      else if (frame.type === 'stats') this.render(frame.stats || null);
    });
  }

  render(stats) {
    if (stats && this.statsId !== null && Number.isInteger(stats.id) && stats.id < this.statsId) return; // an older document
    this.statsId = stats?.id ?? null;
    const board = stats?.scoreboard || null;
    const metrics = Array.isArray(stats?.metrics) ? stats.metrics : [];
    const sides = Array.isArray(board?.sides) ? board.sides : [];
    this.root.hidden = !board && metrics.length === 0;
    this.root.dataset.statsId = String(this.statsId ?? '');

    const { el } = this;
    el.board.hidden = !board;
    setText(el.period, board?.period || '');
    setText(el.clock, board?.clock || '');
    el.period.hidden = !board?.period;
    el.clock.hidden = !board?.clock;
    const seen = new Map();
    el.sides.replaceChildren(
      ...sides.map((side, index) => {
        const name = String(side?.name ?? '');
        const score = statText(side?.score);
        const key = `${index}\u001f${name}`;
        seen.set(key, score);
        const changed = this.scores.has(key) && this.scores.get(key) !== score;
        return h(
          'li',
          { class: 'score-side' },
          h('span', { class: 'score-name', text: name }),
          h('span', { class: `score-value${changed ? ' is-flash' : ''}`, text: score }),
        );
      }),
    );
    el.sides.hidden = sides.length === 0;
    this.scores = seen;

    el.metrics.replaceChildren(
      ...metrics.map((metric) =>
        h('div', { class: 'metric' }, h('dt', { text: String(metric?.label ?? '') }), h('dd', { text: statText(metric?.value) })),
      ),
    );
    el.metrics.hidden = metrics.length === 0;
  }
}

function main() {
  const root = document.querySelector('[data-scoreboard-panel]');
  if (!root) return;
  window.companionScoreboard = new ScoreboardPanel(root);
}

main();
