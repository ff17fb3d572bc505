/**
 * How panels talk to the page that hosts them, without a socket of their own.
 *
 * - `companion:frame` (document): every frame of the room socket, re-dispatched
 *   by room.js (and by the console and the overlay, which open their own).
 * - `companion:send` (document, detail {frame, sent}): a panel asks the page to
 *   send a frame on its socket; the page sets `sent` to whether it could.
 * - `companion:seek` (document, detail {media_ms, handled}): a panel asks the
 *   page's stage to jump to a broadcast time; `handled` says whether it did.
 * - `companion:playhead` (document, detail {media_ms, duration_ms}): the replay
 *   tells panels where its playhead is, a few times a second.
 *
 * Panels' socket refs start with `panel:`, so the page leaves their answers
 * (ack, error) to them.
 */

export const PANEL_REF_PREFIX = 'panel:';

export function onFrame(handler) {
  document.addEventListener('companion:frame', ({ detail }) => {
    if (detail && typeof detail === 'object' && typeof detail.type === 'string') handler(detail);
  });
}

/** Re-dispatch a socket frame for the panels (pages that own a socket call this). */
export function dispatchFrame(frame) {
  document.dispatchEvent(new CustomEvent('companion:frame', { detail: frame }));
}

/** Ask the page to send `frame` on its socket: false when nobody could (no page socket, or not connected). */
export function sendFrame(frame) {
  const detail = { frame, sent: false };
  document.dispatchEvent(new CustomEvent('companion:send', { detail }));
  return detail.sent === true;
}

/** Ask the page's stage to seek to `mediaMs`: false when it cannot. */
export function requestSeek(mediaMs) {
  const detail = { media_ms: Math.max(0, Math.round(Number(mediaMs) || 0)), handled: false };
  document.dispatchEvent(new CustomEvent('companion:seek', { detail }));
  return detail.handled === true;
}

export function onPlayhead(handler) {
  document.addEventListener('companion:playhead', ({ detail }) => {
    if (detail && Number.isFinite(detail.media_ms)) handler(detail);
  });
}

/** The server's clock, as far as the latest `hello` told it. */
export class ServerClock {
  constructor() {
    this.offsetMs = 0;
  }

  sync(serverTimeMs) {
    if (Number.isFinite(serverTimeMs)) this.offsetMs = serverTimeMs - Date.now();
  }

  now() {
    return Date.now() + this.offsetMs;
  }
}

/** Whether the viewer asked for less motion. */
export function reducedMotion() {
  return Boolean(window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches);
}
