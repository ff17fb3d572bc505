"""Fixed-window rate limits in the shared cache (Redis in production)."""
import time

from django.core.cache import cache


def hit(key: str, *, limit: int, window: int) -> float | None:
    """
    Count one hit on ``key``; return None while within ``limit`` hits per
    ``window`` seconds, else the seconds until the window resets.

    >>> hit("doctest-a", limit=1, window=60) is None
    True
    >>> hit("doctest-a", limit=1, window=60) > 0
    True
    """
    now = time.time()
    bucket = int(now // window)
    cache_key = f"rl:{key}:{bucket}"
    if cache.add(cache_key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=window + 1)
            count = 1
    if count > limit:
        return round((bucket + 1) * window - now, 3)
    return None
