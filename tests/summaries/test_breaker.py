"""The circuit breaker: shared state in the cache, open, half-open, closed."""
import pytest

from summaries import breaker


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(breaker.time, "time", lambda: now[0])
    return now


@pytest.fixture(autouse=True)
def small_breaker(settings):
    settings.SUMMARY_BREAKER_FAILURES = 3
    settings.SUMMARY_BREAKER_WINDOW_SECONDS = 120
    settings.SUMMARY_BREAKER_COOLDOWN_SECONDS = 60


def test_a_closed_breaker_lets_calls_through():
    assert breaker.allow("p") and not breaker.is_open("p") and breaker.state("p") is None


def test_it_opens_after_the_threshold_and_says_so_once(clock):
    assert breaker.record_failure("p") is None
    assert breaker.record_failure("p") is None
    opened = breaker.record_failure("p")
    assert opened == {"opened_at": clock[0], "until": clock[0] + 60}
    assert breaker.is_open("p") and not breaker.allow("p")
    assert breaker.record_failure("p") is None  # already open: not a new opening


def test_a_success_resets_the_count(clock):
    breaker.record_failure("p")
    breaker.record_failure("p")
    breaker.record_success("p")
    assert breaker.record_failure("p") is None
    assert breaker.allow("p")


def test_after_the_cooldown_one_probe_goes_through(clock):
    for _ in range(3):
        breaker.record_failure("p")
    clock[0] += 59
    assert not breaker.allow("p")
    clock[0] += 2
    assert breaker.allow("p")  # the probe
    assert not breaker.allow("p")  # everyone else keeps waiting
    assert breaker.is_open("p")  # still stale until the probe succeeds


def test_a_successful_probe_closes_it(clock):
    for _ in range(3):
        breaker.record_failure("p")
    clock[0] += 61
    assert breaker.allow("p")
    breaker.record_success("p")
    assert not breaker.is_open("p") and breaker.allow("p") and breaker.allow("p")


def test_a_failed_probe_opens_it_for_another_cooldown(clock):
    for _ in range(3):
        opened = breaker.record_failure("p")
    clock[0] += 61
    assert breaker.allow("p")
    assert breaker.record_failure("p") is None
    assert breaker.state("p") == {"opened_at": opened["opened_at"], "until": clock[0] + 60}
    assert not breaker.allow("p")
    clock[0] += 61
    assert breaker.allow("p")


def test_providers_have_separate_breakers(clock):
    for _ in range(3):
        breaker.record_failure("down")
    assert not breaker.allow("down") and breaker.allow("up")


def test_the_state_lives_in_the_shared_cache(clock):
    """Another worker (another process, same Redis) sees the same open breaker."""
    from django.core.cache import cache

    for _ in range(3):
        breaker.record_failure("p")
    assert any(cache.get(key) for key in breaker._keys("p"))
