"""
Django's Redis cache with one connection pool per process and server.

Django keeps a cache object per thread and async context, and each
``database_sync_to_async`` call runs in a fresh copy of the context: with the
stock backend every comment's rate-limit check built a new client with a new
connection pool, and opened a new TCP connection to Redis (20 new connections a
second at 20 comments a second, docs/benchmarks.md "Problems seen"). Here the
pools live at module level, so every cache object of the process shares them.
redis-py's pools are thread-safe and reset themselves in a forked child.
"""
import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple, object] = {}
_lock = threading.Lock()


class SharedPoolClient(RedisCacheClient):
    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        key = (self._servers[index], repr(sorted(self._pool_options.items())))
        pool = _pools.get(key)
        if pool is None:
            with _lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = self._pool_class.from_url(self._servers[index], **self._pool_options)
        return pool


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolClient

    def incr_many(self, items: list[tuple[str, int]]) -> list[int]:
        """
        Create-or-increment each ``(key, timeout)`` and return the new counts,
        in one pipelined round trip (``companion.ratelimit.hit_many``). A
        counter is created with its timeout and never has it extended.
        """
        if not items:
            return []
        keys = [self.make_and_validate_key(key) for key, _ in items]
        pipe = self._cache.get_client(keys[0], write=True).pipeline(transaction=False)
        for key, (_, timeout) in zip(keys, items, strict=True):
            pipe.set(key, 0, ex=timeout, nx=True)
            pipe.incr(key)
        return pipe.execute()[1::2]
