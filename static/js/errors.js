/**
 * Server error codes (chat/services.py, chat/consumers.py) in plain words.
 * The server's own `message` is the fallback for codes added later.
 */
const WORDS = {
  text_empty: () => 'Write something first.',
  text_too_long: (frame, limits) => `That is too long: comments are at most ${limits?.max_length ?? 100} characters.`,
  invalid_color: () => 'That colour is not available; pick another.',
  invalid_mode: () => 'Pick scroll, top or bottom for the position.',
  invalid_size: () => 'Pick small, normal or large for the size.',
  invalid_media_time: () => 'Your player is ahead of the broadcast. Go back to live or reload the page.',
  auth_required: () => 'Log in or join as a guest to comment.',
  rate_limited: (frame) => {
    const wait = Math.max(1, Math.ceil(Number(frame?.retry_after) || 1));
    return `You are posting too fast. Try again in ${wait} second${wait === 1 ? '' : 's'}.`;
  },
  event_not_live: () => 'Comments open when the event starts.',
  forbidden: () => 'This account cannot post here.',
  banned: () => 'A moderator banned this account from posting.',
  timed_out: (frame) => {
    const until = frame?.until ? new Date(frame.until) : null;
    return until && !Number.isNaN(until.getTime())
      ? `A moderator timed you out until ${until.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}.`
      : 'A moderator timed you out for a while.';
  },
  slow_mode: (frame) => {
    const wait = Math.max(1, Math.ceil(Number(frame?.retry_after) || Number(frame?.seconds) || 1));
    return `Slow mode is on. You can comment again in ${wait} second${wait === 1 ? '' : 's'}.`;
  },
  posting_restricted: (frame) => frame?.message || 'Only some accounts may post in this room right now.',
  comment_rejected: () => 'That comment breaks the room’s rules and was not posted.',
  server_busy: () => 'The server is full right now. Reconnecting shortly…',
  invalid_json: () => 'The app sent something the server could not read. Reload the page.',
  invalid_message: () => 'The app sent something the server could not read. Reload the page.',
  unknown_type: () => 'The app and the server disagree. Reload the page.',
  message_too_large: () => 'That comment is too large to send.',
  binary_not_supported: () => 'The app sent something the server could not read. Reload the page.',
  internal: () => 'Something went wrong on our side. Try again.',
  not_found: () => 'This event no longer exists.',
  invalid_token: () => 'Your sign-in is no longer valid. Log in again.',
  not_connected: () => 'Not connected right now. Wait a moment and try again.',
  no_answer: () => 'No answer from the server. Check your connection and try again.',
};

export function describeError(code, frame = {}, limits = {}) {
  const words = WORDS[code];
  if (words) return words(frame, limits);
  return frame.message || 'Something went wrong. Try again.';
}
