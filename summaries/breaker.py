"""
A circuit breaker for summary providers, kept in the shared cache (Redis in
production) so that every worker sees the same state.

Closed: calls go through; failures are counted in a sliding-ish window of
SUMMARY_BREAKER_WINDOW_SECONDS. SUMMARY_BREAKER_FAILURES of them open it.
Open: no calls for SUMMARY_BREAKER_COOLDOWN_SECONDS. Then half-open: one
caller (whoever adds the probe key first) tries; success closes the breaker,
failure opens it for another cooldown. While it is open or half-open the
summaries are stale, and viewers are told so.
"""
import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def _keys(name: str) -> tuple[str, str, str]:
    h = hashlib.sha1(name.encode()).hexdigest()[:16]
    return f"summaries:breaker:{h}:failures", f"summaries:breaker:{h}:open", f"summaries:breaker:{h}:probe"


def state(name: str) -> dict | None:
    """None while closed; else ``{"opened_at": epoch s, "until": epoch s}`` (half-open once past ``until``)."""
    return cache.get(_keys(name)[1])


def is_open(name: str) -> bool:
    """Open or half-open: the provider has not answered well since it failed."""
    return state(name) is not None


def allow(name: str) -> bool:
    """May a call go to the provider now?"""
    failures_key, open_key, probe_key = _keys(name)
    opened = cache.get(open_key)
    if opened is None:
        return True
    if time.time() < opened["until"]:
        return False
    # Half-open: a single probe; its outcome closes or reopens the breaker.
    return cache.add(probe_key, 1, timeout=max(1, int(settings.LLM_TIMEOUT) + 5))


def record_success(name: str) -> None:
    cache.delete_many(list(_keys(name)))


def record_failure(name: str) -> dict | None:
    """Count a failed call; return the breaker's state when this failure opened it, else None."""
    failures_key, open_key, probe_key = _keys(name)
    now = time.time()
    cooldown = settings.SUMMARY_BREAKER_COOLDOWN_SECONDS
    opened = cache.get(open_key)
    if opened is not None:
        # A failed probe (or a call that started before the breaker opened): wait another cooldown.
        cache.set(open_key, {**opened, "until": now + cooldown}, timeout=_open_ttl())
        cache.delete(probe_key)
        return None
    window = settings.SUMMARY_BREAKER_WINDOW_SECONDS
    if cache.add(failures_key, 1, timeout=window):
        failures = 1
    else:
        try:
            failures = cache.incr(failures_key)
        except ValueError:  # expired between add and incr
            cache.add(failures_key, 1, timeout=window)
            failures = 1
    if failures < settings.SUMMARY_BREAKER_FAILURES:
        return None
    new = {"opened_at": now, "until": now + cooldown}
    if cache.add(open_key, new, timeout=_open_ttl()):
        cache.delete(failures_key)
        return new
    return None


def _open_ttl() -> int:
    # Forgotten after a long quiet spell: the next call simply tries again.
    return max(3600, settings.SUMMARY_BREAKER_COOLDOWN_SECONDS * 20)
