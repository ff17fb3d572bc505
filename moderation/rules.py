"""
An event's posting rules (room settings and compiled blocked terms), as the
post path reads them: from a per-process copy, not a query per comment.

Every change bumps a version token in the shared cache (Redis in production);
a process that sees a new token reloads, so a new blocked term or slow mode
applies everywhere on the next comment. The copy is also refreshed every
``MODERATION_RULES_CACHE_SECONDS`` in case a version bump was lost.
"""
import re
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from .models import BlockedTerm, RoomSettings
from .patterns import compile_term

VERSION_KEY = "moderation:rules-version"
MAX_CACHED_EVENTS = 1000


@dataclass(frozen=True)
class Term:
    id: int
    pattern: str
    action: str
    regex: re.Pattern


@dataclass(frozen=True)
class Room:
    slow_mode_seconds: int = 0
    who_may_post: str = RoomSettings.WhoMayPost.EVERYONE
    min_account_age_minutes: int = 0
    rate_count: int | None = None
    rate_window: int | None = None


@dataclass(frozen=True)
class Rules:
    room: Room
    terms: tuple[Term, ...]


_cache: dict[int, tuple[str, float, Rules]] = {}


def rules_changed() -> None:
    """Tell every process that terms or room settings changed (call on commit)."""
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def _version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        # A cleared or restarted cache: a fresh token, so no stale copy survives it.
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY)
    return version


def rules_for(event_id: int) -> Rules:
    version = _version()
    now = time.monotonic()
    cached = _cache.get(event_id)
    if cached is not None and cached[0] == version and now - cached[1] < settings.MODERATION_RULES_CACHE_SECONDS:
        return cached[2]
    rules = load_rules(event_id)
    if len(_cache) >= MAX_CACHED_EVENTS:
        _cache.clear()
    _cache[event_id] = (version, now, rules)
    return rules


def load_rules(event_id: int) -> Rules:
    row = RoomSettings.objects.filter(event_id=event_id).first()
    room = (
        Room(
            slow_mode_seconds=row.slow_mode_seconds,
            who_may_post=row.who_may_post,
            min_account_age_minutes=row.min_account_age_minutes,
            rate_count=row.rate_count,
            rate_window=row.rate_window,
        )
        if row
        else Room()
    )
    terms = []
    for term in BlockedTerm.objects.filter(Q(event__isnull=True) | Q(event_id=event_id), is_active=True):
        try:
            regex = compile_term(term.pattern, is_regex=term.is_regex)
        except re.error:  # validated on save; a row written around the services is skipped
            continue
        terms.append(Term(id=term.pk, pattern=term.pattern, action=term.action, regex=regex))
    return Rules(room=room, terms=tuple(terms))
