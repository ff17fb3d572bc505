/** How stats values and key moments read on every page (room, replay, console, overlay). */

/** A score, result or metric value as shown: numbers in the viewer's locale, null as a dash. */
export function statText(value) {
  if (value === null || value === undefined || value === '') return '–';
  if (typeof value === 'number') return new Intl.NumberFormat().format(value);
  return String(value);
}

/** Moment kinds (events/services.py MOMENT_KINDS) as words. */
export const KIND_LABELS = {
  goal: 'Goal',
  record: 'Record',
  medal: 'Medal',
  performance: 'Performance',
  start: 'Start',
  finish: 'Finish',
  lead: 'New leader',
  crash: 'Crash',
  penalty: 'Penalty',
  card: 'Card',
  other: 'Moment',
};

export function kindLabel(kind) {
  return KIND_LABELS[kind] || String(kind || 'Moment').replace(/[-_]/g, ' ');
}
