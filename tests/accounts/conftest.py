import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def clear_rate_limits():
    """Rate-limit counters live in the cache: every test starts from zero (the view tests make many guests)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """Pages render {% static %} without a collectstatic manifest (the default storage when DEBUG is off)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
