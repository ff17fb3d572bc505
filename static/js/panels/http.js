/**
 * JSON calls to Companion's REST API with the page's session: the CSRF token
 * from the `csrftoken` cookie (or the page config), and every failure turned
 * into an ApiError carrying the server's `{code, message, ...}`.
 */

export class ApiError extends Error {
  constructor({ status = 0, code = 'error', message = 'Something went wrong. Try again.', ...details } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Per-field problems: `errors` of a stats push, or the single `field` of most errors. */
  get fieldErrors() {
    if (Array.isArray(this.details.errors) && this.details.errors.length) return this.details.errors;
    if (typeof this.details.field === 'string') return [{ field: this.details.field, code: this.code, message: this.message }];
    return [];
  }
}

let fallbackToken = '';

/** The token to send when the cookie cannot be read (CSRF_COOKIE_HTTPONLY). */
export function setCsrfFallback(token) {
  fallbackToken = typeof token === 'string' ? token : '';
}

export function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'csrftoken') return decodeURIComponent(rest.join('='));
  }
  return fallbackToken;
}

/** Words for what the server's message cannot say (the request never got a JSON answer). */
function transportError(status, text) {
  if (status === 403 && /csrf/i.test(text)) {
    return { status, code: 'csrf_failed', message: 'Your session expired. Reload the page and try again.' };
  }
  if (status === 0) return { status, code: 'network', message: 'No answer from the server. Check your connection and try again.' };
  if (status >= 500) return { status, code: 'internal', message: `The server had a problem (HTTP ${status}). Try again.` };
  return { status, code: 'error', message: `The request failed (HTTP ${status}).` };
}

/**
 * `method` `url` with an optional JSON `body`; resolves to the parsed JSON
 * (null for 204) or rejects with an ApiError.
 */
export async function api(method, url, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRFToken'] = csrfToken();
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(transportError(0, ''));
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (data && typeof data === 'object' && typeof data.code === 'string') {
      if (data.code === 'forbidden' && /csrf/i.test(data.message || '')) throw new ApiError(transportError(403, 'csrf'));
      throw new ApiError({ ...data, status: response.status });
    }
    throw new ApiError(transportError(response.status, text));
  }
  return data;
}

/** A URL template of the console config ("/api/polls/{id}/launch/") with the id filled in. */
export function withId(template, id) {
  return String(template).replace('{id}', encodeURIComponent(String(id)));
}
