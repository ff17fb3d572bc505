/**
 * Loads comments for media-time windows from the replay API as the playhead
 * moves: GET <danmaku url>?from_ms=&to_ms=&limit= -> {items, next_from_ms}.
 * Windows are fixed-size chunks, each fetched once (paging through
 * `next_from_ms` when a chunk is hotter than `limit`), and forgotten when the
 * playhead moves far away so they load again if it comes back.
 */
const CHUNK_MS = 30_000;
const PAGE_LIMIT = 1000;
const MAX_PAGES = 5;
const RETRY_AFTER_MS = 5_000;

export class WindowLoader {
  constructor({ url, onItems, chunkMs = CHUNK_MS, limit = PAGE_LIMIT, fetch: fetchFn = window.fetch.bind(window) }) {
    this.url = url;
    this.onItems = onItems;
    this.chunkMs = chunkMs;
    this.limit = limit;
    this.fetch = fetchFn;
    this.chunks = new Map(); // chunk index -> 'loading' | 'loaded' | failure time
    this.inFlight = 0;
  }

  /** Make sure [fromMs, toMs) is loaded or loading; nearest chunks first. */
  ensure(fromMs, toMs, maxMs = Infinity) {
    const first = Math.max(0, Math.floor(fromMs / this.chunkMs));
    const last = Math.floor(Math.max(fromMs, Math.min(toMs, maxMs)) / this.chunkMs);
    for (let index = first; index <= last; index += 1) {
      const state = this.chunks.get(index);
      if (state === 'loading' || state === 'loaded') continue;
      if (typeof state === 'number' && Date.now() - state < RETRY_AFTER_MS) continue;
      this.load(index);
    }
  }

  /**
   * Keep the chunks that overlap [fromMs, toMs) and forget the others. Returns
   * the kept range widened to whole chunks: prune comments outside exactly
   * that, so a chunk still marked loaded never lacks its comments.
   */
  keep(fromMs, toMs = Infinity) {
    const from = Math.max(0, Math.floor(fromMs / this.chunkMs) * this.chunkMs);
    const to = Number.isFinite(toMs) ? (Math.floor(toMs / this.chunkMs) + 1) * this.chunkMs : Infinity;
    for (const [index, state] of this.chunks) {
      const start = index * this.chunkMs;
      if (state !== 'loading' && (start < from || start >= to)) this.chunks.delete(index);
    }
    return [from, to];
  }

  reset() {
    this.chunks.clear();
  }

  async load(index) {
    this.chunks.set(index, 'loading');
    this.inFlight += 1;
    const start = index * this.chunkMs;
    const end = start + this.chunkMs;
    try {
      let from = start;
      for (let page = 0; page < MAX_PAGES && from !== null && from < end; page += 1) {
        const query = new URLSearchParams({ from_ms: String(from), to_ms: String(end), limit: String(this.limit) });
        const response = await this.fetch(`${this.url}?${query}`, {
          headers: { Accept: 'application/json' },
          credentials: 'same-origin',
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const body = await response.json();
        if (this.chunks.get(index) !== 'loading') return; // forgotten meanwhile
        this.onItems(Array.isArray(body.items) ? body.items : []);
        const next = body.next_from_ms;
        // A page that ends on one busy millisecond cannot move on; stop there.
        from = Number.isInteger(next) && next > from ? next : null;
      }
      if (this.chunks.get(index) === 'loading') this.chunks.set(index, 'loaded');
    } catch (error) {
      console.warn('replay: could not load comments', start, end, error);
      this.chunks.set(index, Date.now());
    } finally {
      this.inFlight -= 1;
    }
  }
}
