"""Fixed-window rate limits in the shared cache (Redis in production)."""
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Hit:
    """One hit on ``key``, allowed ``limit`` times per ``window`` seconds."""

    key: str
    limit: int
    window: int


def hit(key: str, *, limit: int, window: int) -> float | None:
    """
    Count one hit on ``key``; return None while within ``limit`` hits per
    ``window`` seconds, else the seconds until the window resets.

    >>> hit("doctest-a", limit=1, window=60) is None
    True
    >>> hit("doctest-a", limit=1, window=60) > 0
    True
    """
    [retry_after] = hit_many([Hit(key, limit, window)])
    return retry_after


def hit_many(hits: list[Hit]) -> list[float | None]:
    """
    ``hit`` for many keys at once, in order (a key hit twice counts twice): on
    Redis one round trip for all of them (a batch of comments), not two or
    three per hit.
    """
    now = time.time()
    buckets = [int(now // h.window) for h in hits]
    keyed = [(f"rl:{h.key}:{bucket}", h.window + 1) for h, bucket in zip(hits, buckets, strict=True)]
    incr_many = getattr(cache, "incr_many", None)
    counts = incr_many(keyed) if incr_many is not None else [_incr(key, timeout) for key, timeout in keyed]
    return [
        round((bucket + 1) * h.window - now, 3) if count > h.limit else None
        for h, bucket, count in zip(hits, buckets, counts, strict=True)
    ]


def _incr(key: str, timeout: int) -> int:
    """Add-or-increment through Django's cache API (any backend)."""
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1
