/**
 * Viewer settings, kept in localStorage: danmaku on/off, opacity, speed,
 * density cap, display area and locally blocked words. Shared by the room and
 * the replay; a change in one tab reaches the others through `storage`.
 */
import { h } from './dom.js';

const KEY = 'companion.viewer-settings.v1';
export const AREAS = { quarter: 'Top quarter', half: 'Top half', full: 'Full screen' };
export const SPEEDS = { slow: 'Slow', normal: 'Normal', fast: 'Fast' };
export const CAPS = [5, 10, 20, 40, 0]; // 0: no cap
export const MAX_BLOCKED = 100;

export function prefersReducedMotion() {
  return Boolean(window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches);
}

export function defaults() {
  return {
    // Flying text is motion: viewers who ask for less see the comment list instead.
    enabled: !prefersReducedMotion(),
    opacity: 1,
    speed: 'normal',
    cap: 20,
    area: 'full',
    blocked: [],
  };
}

function sanitise(raw) {
  const base = defaults();
  if (!raw || typeof raw !== 'object') return base;
  const out = { ...base };
  if (typeof raw.enabled === 'boolean') out.enabled = raw.enabled;
  const opacity = Number(raw.opacity);
  if (Number.isFinite(opacity)) out.opacity = Math.min(1, Math.max(0.1, opacity));
  if (raw.speed in SPEEDS) out.speed = raw.speed;
  if (CAPS.includes(Number(raw.cap))) out.cap = Number(raw.cap);
  if (raw.area in AREAS) out.area = raw.area;
  if (Array.isArray(raw.blocked)) {
    out.blocked = [...new Set(raw.blocked.filter((w) => typeof w === 'string').map(normaliseWord).filter(Boolean))]
      .slice(0, MAX_BLOCKED);
  }
  return out;
}

export function normaliseWord(word) {
  return String(word).normalize('NFKC').toLowerCase().trim().slice(0, 40);
}

export class ViewerSettings extends EventTarget {
  constructor(storage = safeStorage()) {
    super();
    this.storage = storage;
    this.values = sanitise(this.read());
    window.addEventListener('storage', (event) => {
      if (event.key !== KEY) return;
      this.values = sanitise(this.read());
      this.dispatchEvent(new CustomEvent('change', { detail: this.values }));
    });
  }

  read() {
    try {
      const text = this.storage?.getItem(KEY);
      return text ? JSON.parse(text) : null;
    } catch {
      return null;
    }
  }

  update(patch) {
    this.values = sanitise({ ...this.values, ...patch });
    try {
      this.storage?.setItem(KEY, JSON.stringify(this.values));
    } catch {
      // Private mode or a full quota: the setting still applies to this page.
    }
    this.dispatchEvent(new CustomEvent('change', { detail: this.values }));
  }
}

function safeStorage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

let panelSerial = 0;

/**
 * Build the viewer-settings panel inside `root` and keep it in step with
 * `settings`. The panel is made here rather than in the templates because it
 * only works with this script, and both pages share it.
 */
export function settingsPanel(root, settings) {
  if (!root) return null;
  panelSerial += 1;
  const id = (name) => `vs${panelSerial}-${name}`;
  const option = (value, label) => h('option', { value }, label);
  const row = (label, control, extra) =>
    h('div', { class: 'setting' }, h('label', { for: control.id, text: label }), control, extra);

  const enabled = h('input', { type: 'checkbox', id: id('enabled'), role: 'switch' });
  const opacity = h('input', { type: 'range', id: id('opacity'), min: '10', max: '100', step: '5' });
  const opacityOut = h('output', { for: id('opacity'), class: 'setting-value' });
  const speed = h('select', { id: id('speed') }, Object.entries(SPEEDS).map(([v, l]) => option(v, l)));
  const cap = h(
    'select',
    { id: id('cap') },
    CAPS.map((n) => option(String(n), n ? `${n} per second` : 'No limit')),
  );
  const area = h('select', { id: id('area') }, Object.entries(AREAS).map(([v, l]) => option(v, l)));
  const blockInput = h('input', {
    type: 'text',
    id: id('block'),
    maxlength: '40',
    autocomplete: 'off',
    placeholder: 'a word or phrase',
  });
  const blockedList = h('ul', { class: 'chips', 'aria-label': 'Blocked words' });
  const blockForm = h(
    'form',
    { class: 'block-form' },
    h('label', { for: blockInput.id, text: 'Hide comments containing' }),
    h('div', { class: 'inline-field' }, blockInput, h('button', { type: 'submit', class: 'btn btn-small', text: 'Block' })),
    blockedList,
  );

  root.replaceChildren(
    h(
      'div',
      { class: 'setting setting-switch' },
      enabled,
      h('label', { for: enabled.id, text: 'Show flying comments' }),
    ),
    row('Opacity', opacity, opacityOut),
    row('Speed', speed),
    row('Density', cap),
    row('Display area', area),
    blockForm,
  );

  function render(values) {
    enabled.checked = values.enabled;
    opacity.value = String(Math.round(values.opacity * 100));
    opacityOut.textContent = `${Math.round(values.opacity * 100)}%`;
    speed.value = values.speed;
    cap.value = String(values.cap);
    area.value = values.area;
    blockedList.replaceChildren(
      ...values.blocked.map((word) =>
        h(
          'li',
          { class: 'chip' },
          h('span', { text: word }),
          h('button', {
            type: 'button',
            class: 'chip-remove',
            'aria-label': `Stop hiding “${word}”`,
            text: '×',
            on: { click: () => settings.update({ blocked: settings.values.blocked.filter((w) => w !== word) }) },
          }),
        ),
      ),
    );
    blockedList.hidden = values.blocked.length === 0;
  }

  enabled.addEventListener('change', () => settings.update({ enabled: enabled.checked }));
  opacity.addEventListener('input', () => settings.update({ opacity: Number(opacity.value) / 100 }));
  speed.addEventListener('change', () => settings.update({ speed: speed.value }));
  cap.addEventListener('change', () => settings.update({ cap: Number(cap.value) }));
  area.addEventListener('change', () => settings.update({ area: area.value }));
  blockForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const word = normaliseWord(blockInput.value);
    if (!word) return;
    if (!settings.values.blocked.includes(word)) settings.update({ blocked: [...settings.values.blocked, word] });
    blockInput.value = '';
    blockInput.focus();
  });
  settings.addEventListener('change', (event) => render(event.detail));
  render(settings.values);
  return { enabled };
}
