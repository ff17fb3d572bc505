"""Fixed-window rate limits: one hit, many hits at once, on Django's local cache and on Redis."""
import time

import pytest
import redis
from django.core.cache import cache

from companion import ratelimit
from companion.ratelimit import Hit


def clear_of_window_edge(window: int = 60, margin: float = 3.0) -> int:
    """Wait, if need be, until ``margin`` seconds of the current window remain; its number."""
    left = window - time.time() % window
    if left < margin:
        time.sleep(left + 0.05)
    return int(time.time() // window)


def check_hit_many_counts_in_order():
    # A key hit twice in one call counts twice; each key has its own limit.
    results = ratelimit.hit_many([Hit("a", 2, 60), Hit("a", 2, 60), Hit("b", 1, 60), Hit("a", 2, 60), Hit("b", 1, 60)])
    assert results[:3] == [None, None, None]
    assert results[3] > 0 and results[4] > 0
    assert all(0 < r <= 60 for r in results[3:])
    # hit() shares the counters.
    assert ratelimit.hit("a", limit=2, window=60) > 0
    assert ratelimit.hit("c", limit=1, window=60) is None
    assert ratelimit.hit_many([]) == []


def test_hit_many_on_the_local_cache():
    cache.clear()
    clear_of_window_edge()
    check_hit_many_counts_in_order()


@pytest.mark.redis
def test_hit_many_on_redis(redis_layer):
    client = redis.Redis.from_url(redis_layer)
    bucket = clear_of_window_edge()
    check_hit_many_counts_in_order()
    [key] = client.keys(f"*rl:a:{bucket}*")  # Django's key prefix and version around ours
    assert int(client.get(key)) == 4
    # The window's counter expires with the window (plus a second), and a later
    # hit does not push its expiry back.
    ttl = client.ttl(key)
    assert 0 < ttl <= 61
    time.sleep(1.1)
    ratelimit.hit_many([Hit("a", 2, 60)])
    assert client.ttl(key) < ttl
    # The counters are plain integers, as Django's own cache sees them.
    assert cache.get(f"rl:a:{bucket}") == 5
