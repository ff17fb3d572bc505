/**
 * The live moderation page (admin, moderators only). Comments of one event
 * stream in over /ws/moderate/<slug>/ as they are stored, newest on top, each
 * with one-click actions: hide, time out and ban its author, approve or reject
 * a held one, restore a hidden one. Every action goes to the server, which
 * answers with an `ack` (or an `error`) and tells every moderator's page the
 * new status. User text is only ever set with textContent.
 */

const config = JSON.parse(document.getElementById('moderation-config').textContent);
const root = document.querySelector('[data-mod]');
const q = (selector) => root.querySelector(selector);

const rowsEl = q('[data-rows]');
const emptyEl = q('[data-empty]');
const connEl = q('[data-conn]');
const heldCountEl = q('[data-held-count]');
const feedbackEl = q('[data-feedback]');
const durationEl = q('[data-duration]');
const reasonEl = q('[data-reason]');
const heldOnlyEl = q('[data-held-only]');
const pausedEl = q('[data-paused]');

const MAX_ROWS = Number(config.max_rows) || 500;
const STATUS_LABELS = { visible: 'visible', hidden: 'hidden', held: 'held', rejected: 'rejected' };

const rows = new Map(); // comment id -> { tr, comment }
let paused = [];
let heldElsewhere = 0; // held comments the page was told about but does not list
let socket = null;
let attempt = 0;
let serial = 0;
const pending = new Map(); // ref -> description

// --- small DOM helpers ---------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'className') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function say(message, kind = 'info') {
  feedbackEl.textContent = message;
  feedbackEl.dataset.kind = kind;
}

function clock(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString();
}

// --- rows ----------------------------------------------------------------------------------

function actionsFor(comment) {
  const buttons = [];
  const button = (label, type, extra = {}) =>
    el('button', { type: 'button', className: `button mod-${type}`, dataset: { act: type, ...extra }, text: label });
  if (comment.status === 'visible') buttons.push(button('Hide', 'hide'));
  if (comment.status === 'held') buttons.push(button('Approve', 'approve'), button('Reject', 'reject'));
  if (comment.status === 'hidden') buttons.push(button('Restore', 'restore'));
  if (comment.status === 'rejected') buttons.push(button('Approve', 'approve'));
  buttons.push(button('Time out', 'timeout'), button('Ban', 'ban'));
  return buttons;
}

function render(comment) {
  const author = comment.author || {};
  const authorCell = el(
    'td',
    { className: 'mod-author' },
    el('a', { href: config.urls.author + encodeURIComponent(author.id), text: author.name || '?', title: 'Comments of this author' }),
    author.username && author.username !== author.name ? el('span', { className: 'mod-username', text: ` @${author.username}` }) : null,
    el('span', { className: 'mod-sanction', dataset: { sanctionFor: String(author.id) } }),
  );
  const textCell = el('td', { className: 'mod-text' }, el('span', { text: comment.text }));
  if (comment.term) {
    textCell.append(el('span', { className: 'mod-term', text: ` ${comment.term.action}: ${comment.term.pattern}` }));
  }
  const tr = el(
    'tr',
    { dataset: { id: String(comment.id), status: comment.status, author: String(author.id) } },
    el('td', { className: 'mod-time', text: clock(comment.created_at) }),
    authorCell,
    textCell,
    el('td', {}, el('span', { className: `mod-badge mod-badge-${comment.status}`, text: STATUS_LABELS[comment.status] || comment.status })),
    el('td', { className: 'mod-actions' }, ...actionsFor(comment)),
  );
  return tr;
}

function upsert(comment, { atTop = true } = {}) {
  if (!Number.isInteger(comment.id)) return;
  const known = rows.get(comment.id);
  if (known) {
    // A masked or screened copy from the moderation group adds what the room's copy lacks.
    const merged = { ...known.comment, ...comment, term: comment.term || known.comment.term };
    if (!comment.author?.username && known.comment.author) merged.author = known.comment.author;
    const tr = render(merged);
    known.tr.replaceWith(tr);
    rows.set(comment.id, { tr, comment: merged });
  } else {
    const tr = render(comment);
    rows.set(comment.id, { tr, comment });
    if (atTop) rowsEl.prepend(tr);
    else rowsEl.append(tr);
    trim();
  }
  refresh();
}

function setStatus(ids, status) {
  for (const id of ids) {
    const known = rows.get(id);
    if (known) upsert({ ...known.comment, status });
  }
}

function trim() {
  if (rows.size <= MAX_ROWS) return;
  // Drop the oldest rows that need no decision; held ones stay until decided.
  const ids = [...rows.keys()].sort((a, b) => a - b);
  for (const id of ids) {
    if (rows.size <= MAX_ROWS) break;
    const { tr, comment } = rows.get(id);
    if (comment.status === 'held') continue;
    tr.remove();
    rows.delete(id);
  }
}

function refresh() {
  let held = 0;
  for (const { comment } of rows.values()) if (comment.status === 'held') held += 1;
  heldCountEl.textContent = String(held + heldElsewhere);
  emptyEl.hidden = rows.size > 0;
  root.classList.toggle('mod-held-only', heldOnlyEl.checked);
}

function markSanction(frame) {
  const label = frame.kind === 'ban' ? ' banned' : ` timed out until ${clock(frame.until)}`;
  for (const span of rowsEl.querySelectorAll(`[data-sanction-for="${CSS.escape(String(frame.user.id))}"]`)) {
    span.textContent = label;
  }
}

// --- socket --------------------------------------------------------------------------------

const handlers = {
  'moderation.hello': (frame) => {
    for (const { tr } of rows.values()) tr.remove();
    rows.clear();
    const comments = frame.comments || [];
    for (const comment of comments) upsert(comment);
    const listedHeld = comments.filter((c) => c.status === 'held').length;
    heldElsewhere = Math.max(0, (frame.held || 0) - listedHeld);
    refresh();
  },
  'moderation.comment': (frame) => {
    if (pausedEl.checked) paused.push(frame.comment);
    else upsert(frame.comment);
    if (pausedEl.checked) say(`${paused.length} new while paused.`);
  },
  'moderation.update': (frame) => setStatus(frame.ids || [], frame.status),
  'moderation.sanction': (frame) => markSanction(frame),
  ack: (frame) => {
    const what = pending.get(frame.ref);
    pending.delete(frame.ref);
    if (what) say(frame.changed === 0 ? `${what}: nothing to change (status is ${frame.status}).` : `${what}: done.`, 'ok');
  },
  error: (frame) => {
    const what = pending.get(frame.ref);
    pending.delete(frame.ref);
    say(`${what ? `${what}: ` : ''}${frame.message || frame.code}`, 'error');
  },
};

function setConn(state, label) {
  connEl.dataset.state = state;
  connEl.textContent = label;
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  socket = new WebSocket(`${scheme}://${location.host}${config.ws_path}`);
  setConn('connecting', 'Connecting…');
  socket.addEventListener('open', () => {
    attempt = 0;
    setConn('open', 'Live');
  });
  socket.addEventListener('message', (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    handlers[frame.type]?.(frame);
  });
  socket.addEventListener('close', (event) => {
    if (event.code === 4403 || event.code === 4404 || event.code === 4401) {
      setConn('closed', event.code === 4403 ? 'Not allowed' : 'Closed');
      return;
    }
    // Back off with full jitter, so a server restart does not bring every page back at once.
    attempt += 1;
    const delay = Math.random() * Math.min(30_000, 1000 * 2 ** attempt);
    setConn('closed', 'Reconnecting…');
    setTimeout(connect, delay);
  });
}

function send(type, fields, description) {
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    say('Not connected; try again in a moment.', 'error');
    return;
  }
  serial += 1;
  const ref = `m${serial}`;
  pending.set(ref, description);
  socket.send(JSON.stringify({ type, ref, reason: reasonEl.value.trim(), ...fields }));
}

// --- actions ----------------------------------------------------------------------------------

rowsEl.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-act]');
  if (!button) return;
  const tr = button.closest('tr');
  const known = rows.get(Number(tr.dataset.id));
  if (!known) return;
  const { comment } = known;
  const name = comment.author?.name || 'this author';
  const act = button.dataset.act;
  if (act === 'timeout') {
    const minutes = Number(durationEl.value);
    const label = durationEl.selectedOptions[0]?.textContent || `${minutes} min`;
    send('moderation.timeout', { user: comment.author.id, minutes }, `Time out ${name} for ${label}`);
  } else if (act === 'ban') {
    if (window.confirm(`Ban ${name} from posting until the ban is lifted?`)) {
      send('moderation.ban', { user: comment.author.id }, `Ban ${name}`);
    }
  } else {
    send(`moderation.${act}`, { comment: comment.id }, `${act[0].toUpperCase()}${act.slice(1)} #${comment.id}`);
  }
});

heldOnlyEl.addEventListener('change', refresh);
pausedEl.addEventListener('change', () => {
  if (pausedEl.checked) return;
  const queued = paused;
  paused = [];
  for (const comment of queued) upsert(comment);
  say('');
});

refresh();
connect();
