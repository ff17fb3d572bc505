/**
 * The replay's density graph: comments per media-time bucket drawn on a canvas
 * over the timeline, hot moments in the accent colour, the playhead as a line.
 * Clicking (or tapping) the graph seeks. The keyboard seeks with the timeline
 * slider below it; the graph's label names the hottest moments for screen readers.
 */
import { formatClock, spokenDuration } from './format.js';

export class DensityGraph {
  constructor(canvas, { onSeek } = {}) {
    this.canvas = canvas;
    this.onSeek = onSeek;
    this.bucketMs = 10_000;
    this.durationMs = 0;
    this.counts = [];
    this.peaks = new Set();
    this.playheadMs = 0;
    this.hoverMs = null;
    canvas.addEventListener('click', (event) => this.onSeek?.(this.msAt(event)));
    canvas.addEventListener('pointermove', (event) => {
      this.hoverMs = this.msAt(event);
      canvas.title = `Go to ${formatClock(this.hoverMs)}`;
      this.draw();
    });
    canvas.addEventListener('pointerleave', () => {
      this.hoverMs = null;
      this.draw();
    });
    if (typeof ResizeObserver === 'function') new ResizeObserver(() => this.draw()).observe(canvas);
  }

  msAt(event) {
    const rect = this.canvas.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - rect.left) / Math.max(1, rect.width)));
    return Math.round(fraction * this.durationMs);
  }

  /** A density API body: {bucket_ms, duration_ms, buckets: [{start_ms, count}]}. */
  setData({ bucket_ms: bucketMs, duration_ms: durationMs, buckets = [] }, fallbackDurationMs = 0) {
    this.bucketMs = bucketMs || 10_000;
    const lastBucketEnd = buckets.length ? Math.max(...buckets.map((b) => b.start_ms)) + this.bucketMs : 0;
    this.durationMs = Math.max(durationMs || 0, fallbackDurationMs || 0, lastBucketEnd);
    const size = Math.max(1, Math.ceil(this.durationMs / this.bucketMs));
    this.counts = new Array(size).fill(0);
    for (const { start_ms: start, count } of buckets) {
      const index = Math.floor(start / this.bucketMs);
      if (index >= 0 && index < size) this.counts[index] += count;
    }
    // Hot moments: well above the mean, at most five, at least a bucket apart.
    const values = this.counts;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    const ranked = values
      .map((count, index) => ({ count, index }))
      .filter(({ count }) => count > 0 && count >= mean + 1.5 * sd)
      .sort((a, b) => b.count - a.count);
    this.peaks = new Set();
    for (const { index } of ranked) {
      if (this.peaks.size >= 5) break;
      if (![...this.peaks].some((p) => Math.abs(p - index) <= 1)) this.peaks.add(index);
    }
    const total = values.reduce((a, b) => a + b, 0);
    const hot = [...this.peaks].sort((a, b) => a - b).map((i) => formatClock(i * this.bucketMs));
    this.canvas.setAttribute(
      'aria-label',
      `Comment density over ${spokenDuration(this.durationMs)}: ${total} comments` +
        (hot.length ? `, busiest around ${hot.join(', ')}.` : '.') +
        ' Click to jump there.',
    );
    this.draw();
    return [...this.peaks].sort((a, b) => a - b).map((i) => ({ start_ms: i * this.bucketMs, count: values[i] }));
  }

  setPlayhead(ms) {
    if (Math.abs(ms - this.playheadMs) < 50) return;
    this.playheadMs = ms;
    this.draw();
  }

  draw() {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const style = getComputedStyle(canvas);
    const base = style.getPropertyValue('--graph-fill').trim() || '#5b6b8c';
    const hot = style.getPropertyValue('--graph-hot').trim() || '#ff5d73';
    const line = style.getPropertyValue('--graph-playhead').trim() || '#ffd166';
    const counts = this.counts;
    const max = Math.max(1, ...counts);
    const barWidth = width / Math.max(1, counts.length);
    const gap = barWidth > 4 ? 1 : 0;
    counts.forEach((count, index) => {
      if (!count) return;
      const barHeight = Math.max(2, (count / max) * (height - 4));
      ctx.fillStyle = this.peaks.has(index) ? hot : base;
      ctx.fillRect(index * barWidth, height - barHeight, Math.max(1, barWidth - gap), barHeight);
    });
    if (this.durationMs > 0) {
      if (this.hoverMs !== null) {
        const x = (this.hoverMs / this.durationMs) * width;
        ctx.fillStyle = 'rgba(255,255,255,0.35)';
        ctx.fillRect(x - 0.5, 0, 1, height);
      }
      const x = Math.min(width - 1, (this.playheadMs / this.durationMs) * width);
      ctx.fillStyle = line;
      ctx.fillRect(x - 1, 0, 2, height);
    }
  }
}

/** A bucket size giving about `bars` bars over `durationMs`, in whole seconds. */
export function bucketFor(durationMs, bars = 120) {
  const raw = Math.max(1000, durationMs / bars);
  return Math.min(3_600_000, Math.ceil(raw / 1000) * 1000);
}
