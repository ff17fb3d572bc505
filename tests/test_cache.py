"""The Redis cache keeps one connection pool per process: a post's rate-limit check opens no connection."""
import asyncio
import contextvars

import pytest
import redis
from channels.db import database_sync_to_async

from companion import ratelimit


def connections_received(url: str) -> int:
    return redis.Redis.from_url(url).info("stats")["total_connections_received"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_rate_limit_checks_in_the_database_thread_reuse_connections(redis_layer):
    def hit(key):
        # Each batch of posts (companion/batch.py) or socket runs in a context of
        # its own, where Django builds a new cache object.
        coro = database_sync_to_async(ratelimit.hit)(key, limit=100, window=60)
        return asyncio.get_running_loop().create_task(coro, context=contextvars.Context())

    await hit("warm-up")  # the pool's first connection
    before = await database_sync_to_async(connections_received)(redis_layer)
    for n in range(30):
        assert await hit(f"user-{n % 3}") is None
    after = await database_sync_to_async(connections_received)(redis_layer)
    # Our two INFO calls open one connection each; the 30 checks open none.
    assert after - before <= 2, after - before
