"""
Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when
DATABASE_URL says so (scripts/test.sh does). Tests marked ``redis`` use a real
Redis server from TEST_REDIS_URL; under CI a missing Redis fails, never skips.
"""
import os
import uuid

import pytest
from channels.layers import channel_layers
from django.core.cache import cache

from accounts.models import User
from events.models import Event

ORIGIN = (b"origin", b"http://localhost")


@pytest.fixture(autouse=True)
def fresh_layers_and_cache(settings):
    """Each test gets new channel layers and an empty cache (rate-limit counters)."""
    # Pages render without a collectstatic manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    channel_layers.backends.clear()
    cache.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_REDIS_URL is not set; run the suite through scripts/test.sh")
        pytest.skip("TEST_REDIS_URL is not set (scripts/test.sh starts Redis)")
    return url


@pytest.fixture
def redis_layer(settings, redis_url):
    """Switch the channel layer and cache to the real Redis, as in production."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # A prefix of its own, so runs sharing a Redis never hear each other.
                "prefix": f"test{uuid.uuid4().hex[:8]}",
                "hosts": [
                    {
                        "address": redis_url,
                        "socket_timeout": None,
                        "socket_connect_timeout": 5,
                        "max_connections": 1000,
                        "retry_on_timeout": True,
                        "health_check_interval": 30,
                    }
                ]
            },
        }
    }
    settings.CACHES = {
        "default": {"BACKEND": "companion.cache.SharedPoolRedisCache", "LOCATION": redis_url}
    }
    channel_layers.backends.clear()
    yield redis_url
    channel_layers.backends.clear()


@pytest.fixture
def live_event(db):
    from django.utils import timezone
    from datetime import timedelta

    return Event.objects.create(
        title="Downhill final",
        slug="final",
        status=Event.Status.LIVE,
        started_at=timezone.now() - timedelta(minutes=5),
    )


@pytest.fixture
def make_user(db):
    counter = iter(range(10**6))

    def make(name=None, **fields):
        n = next(counter)
        return User.objects.create_user(username=name or f"viewer{n}", password="pw-companion-1", **fields)

    return make


@pytest.fixture
def viewer(make_user):
    return make_user("ana", display_name="Ana")


def other_process_layer(redis_url):
    """A second Redis pub/sub layer on the test's prefix: what another server process holds."""
    from channels_redis.pubsub import RedisPubSubChannelLayer
    from django.conf import settings

    return RedisPubSubChannelLayer(
        hosts=[{"address": redis_url, "socket_timeout": None, "max_connections": 100}],
        prefix=settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
    )


def pytest_collection_modifyitems(config, items):
    """
    Browser tests run last: Playwright's sync API keeps an event loop running in
    the main thread while its session-wide browser lives, and async tests that
    come after it could not start their own.
    """
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
