"""
AI summaries: when to write one, how, and how viewers get it.

``summaries_enqueue_due`` (beat, every SUMMARY_INTERVAL_SECONDS) and
``summary_request`` (a producer, now) enqueue ``summary_generate`` tasks; the
task calls ``summary_generate``, which skips when nothing is new, asks the
provider behind the circuit breaker, and hands the text to ``summary_store``,
which stores it and broadcasts it on commit. A provider that fails or hangs
only costs a worker: comments, stats and polls never wait for it.
"""
import logging
import time
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from chat import broadcast, wire
from companion import ratelimit
from companion.errors import ServiceError
from events.models import Event

from . import breaker
from .material import Material, gather
from .models import Summary
from .prompt import Prompt, build
from .providers import Provider, ProviderError, get_provider

logger = logging.getLogger(__name__)

NOTICE_KEY = "notice:summary"
STALE_MESSAGE = "The summary service is not answering; the summary shown may be out of date."


@dataclass(frozen=True)
class Outcome:
    """What one run did: created, exists, unchanged, empty, breaker_open, busy or unsupported."""

    status: str
    summary: Summary | None = None


def frame_key(lang: str) -> str:
    return f"summary:{lang}"


# --- reading -----------------------------------------------------------------------


def summary_languages(event: Event) -> list[str]:
    return list(event.summary_languages or ["en"])


def summary_latest(*, event: Event, lang: str) -> Summary | None:
    return Summary.objects.filter(event=event, lang=lang).order_by("-created_at", "-id").first()


def summary_history(*, event: Event, lang: str | None, limit: int) -> list[Summary]:
    """Summaries of ``event`` (in ``lang``, or all), newest first."""
    summaries = Summary.objects.filter(event=event)
    if lang:
        summaries = summaries.filter(lang=lang)
    return list(summaries.order_by("-created_at", "-id")[:limit])


def summaries_stale() -> bool:
    """True while the provider's breaker is open: the latest summaries may be out of date."""
    try:
        return breaker.is_open(get_provider().breaker_key)
    except ImproperlyConfigured:
        return True


def summary_snapshot(*, event: Event, lang: str | None = None) -> dict | None:
    """
    The latest summary payload of ``event`` in ``lang`` (default: its first
    language), for a joining viewer's ``hello``. Not cached here: the room hub
    caches the whole snapshot per room and drops it when a summary is published.
    """
    langs = summary_languages(event)
    lang = lang if lang in langs else langs[0]
    summary = summary_latest(event=event, lang=lang)
    return wire.summary_payload(summary, stale=summaries_stale()) if summary else None


# --- writing -----------------------------------------------------------------------


def summary_material(*, event: Event, lang: str) -> tuple[Material, Summary | None]:
    previous = summary_latest(event=event, lang=lang)
    material = gather(event=event, lang=lang, previous=previous, sample=settings.SUMMARY_COMMENT_SAMPLE)
    return material, previous


def summary_build_prompt(*, material: Material) -> Prompt:
    """The prompt for ``material`` within SUMMARY_PROMPT_TOKENS."""
    return build(material, budget_tokens=settings.SUMMARY_PROMPT_TOKENS, max_words=settings.SUMMARY_MAX_WORDS)


def summary_is_news(*, material: Material, previous: Summary | None) -> bool:
    """Anything new since ``previous``: a visible comment, a moment, a stats change."""
    if previous is None:
        return True
    return material.last_comment_id > previous.last_comment_id or material.facts_digest != previous.facts_digest


def summary_generate(*, event: Event, lang: str, window_key: str, provider: Provider | None = None) -> Outcome:
    """
    Write the summary of ``event`` in ``lang`` for ``window_key``, unless it
    exists or nothing is new. Raises ProviderError when the provider fails
    (the caller decides about retrying); the failure is counted by the breaker.
    """
    if lang not in summary_languages(event):
        return Outcome("unsupported")
    existing = Summary.objects.filter(event=event, lang=lang, window_key=window_key).first()
    if existing is not None:
        return Outcome("exists", existing)
    provider = provider or get_provider()
    material, previous = summary_material(event=event, lang=lang)
    if material.is_empty:
        return Outcome("empty")
    if not summary_is_news(material=material, previous=previous):
        if not breaker.is_open(provider.breaker_key):
            _clear_stale(event)
        return Outcome("unchanged", previous)
    if not breaker.allow(provider.breaker_key):
        _notify_stale(event, breaker.state(provider.breaker_key))
        return Outcome("breaker_open", previous)
    lock = f"summaries:lock:{event.pk}:{lang}:{window_key}"
    if not cache.add(lock, 1, timeout=settings.SUMMARY_TASK_HARD_LIMIT):
        return Outcome("busy")
    try:
        prompt = summary_build_prompt(material=material)
        started = time.monotonic()
        try:
            completion = provider.complete(prompt)
            check_completion(completion.text, prompt)
        except Exception:
            # Any failure counts, a soft time limit included; only then is it re-raised.
            opened = breaker.record_failure(provider.breaker_key)
            if opened is not None:
                logger.warning("summary provider %s failing: breaker open", provider.breaker_key)
                _notify_stale(event, opened)
            raise
        latency_ms = int((time.monotonic() - started) * 1000)
        breaker.record_success(provider.breaker_key)
        summary, created = summary_store(
            event=event,
            lang=lang,
            window_key=window_key,
            text=completion.text,
            provider=provider.name,
            model=completion.model,
            material=material,
            latency_ms=latency_ms,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
        )
    finally:
        cache.delete(lock)
    _clear_stale(event, publish=lang)
    return Outcome("created" if created else "exists", summary)


def check_completion(text: str, prompt: Prompt) -> None:
    """Refuse an answer that echoes the prompt (a confused model, or a leak asked for from the chat)."""
    if (prompt.nonce and prompt.nonce in text) or "<<<DATA" in text or "DATA block" in text:
        raise ProviderError("the answer echoes the prompt", kind="bad_response")


def summary_store(
    *,
    event: Event,
    lang: str,
    window_key: str,
    text: str,
    provider: str,
    model: str,
    material: Material,
    latency_ms: int,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
) -> tuple[Summary, bool]:
    """Store a summary (once per event, language and window) and broadcast it on commit."""
    text = clean_summary(text)
    if not text:
        raise ServiceError("summary_empty", "The summary has no text.")
    try:
        with transaction.atomic():
            summary = Summary.objects.create(
                event=event,
                lang=lang,
                window_key=window_key,
                text=text,
                provider=provider[:40],
                model=(model or "")[:120],
                covers_from_ms=min(material.since_ms, material.now_ms),
                covers_to_ms=material.now_ms,
                latency_ms=max(0, latency_ms),
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                last_comment_id=material.last_comment_id,
                facts_digest=material.facts_digest,
                stats_snapshot=material.stats,
            )
            frame = wire.summary_frame(wire.summary_payload(summary, stale=False))
            transaction.on_commit(partial(broadcast.publish_frame, event.pk, frame_key(lang), frame))
    except IntegrityError:
        # Another run of the same window won the race; its summary stands.
        return Summary.objects.get(event=event, lang=lang, window_key=window_key), False
    return summary, True


def clean_summary(text: str) -> str:
    """
    Plain text of a reasonable length: no control characters, tidy spaces.

    >>> clean_summary("  Score:\\u202e 2–1 \\x00\\n\\n\\n\\nGreat.  ")
    'Score: 2–1\\n\\nGreat.'
    """
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) not in {"Cc", "Cf"})
    lines = [" ".join(line.split()) for line in text.split("\n")]
    text = "\n".join(lines).strip()
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    limit = settings.SUMMARY_MAX_CHARS
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- stale notices -------------------------------------------------------------------


def _stale_marker(event_id: int) -> str:
    return f"summaries:stale:{event_id}"


def _notify_stale(event: Event, opened: dict | None) -> None:
    """Tell the room, once per outage, that its summary may be out of date."""
    opened_at = int((opened or {}).get("opened_at", 0))
    ttl = max(3600, settings.SUMMARY_BREAKER_COOLDOWN_SECONDS * 20)
    if not cache.add(f"{_stale_marker(event.pk)}:{opened_at}", 1, timeout=ttl):
        return
    cache.set(_stale_marker(event.pk), 1, timeout=ttl)
    latest = Summary.objects.filter(event=event).order_by("-created_at").values_list("created_at", flat=True).first()
    frame = wire.notice_frame(
        level="warning", code="summary_stale", message=STALE_MESSAGE, summary_created_at=wire.iso(latest)
    )
    transaction.on_commit(partial(broadcast.publish_frame, event.pk, NOTICE_KEY, frame))


def _clear_stale(event: Event, publish: str | None = None) -> None:
    """After an outage, send the room its latest summaries again, no longer stale."""
    if not cache.get(_stale_marker(event.pk)):
        return
    cache.delete(_stale_marker(event.pk))
    for lang in summary_languages(event):
        if lang == publish:
            continue  # just broadcast with its new summary
        summary = summary_latest(event=event, lang=lang)
        if summary is not None:
            frame = wire.summary_frame(wire.summary_payload(summary, stale=False))
            transaction.on_commit(partial(broadcast.publish_frame, event.pk, frame_key(lang), frame))


# --- scheduling ----------------------------------------------------------------------


def _pending_key(event_id: int, lang: str) -> str:
    return f"summaries:pending:{event_id}:{lang}"


def summaries_due(*, now: datetime | None = None) -> list[tuple[Event, str]]:
    """Live events and languages whose latest summary is an interval old (or missing)."""
    now = now or timezone.now()
    interval = timedelta(seconds=settings.SUMMARY_INTERVAL_SECONDS * 0.9)
    events = list(Event.objects.filter(status=Event.Status.LIVE))
    latest = {
        (row["event"], row["lang"]): row["at"]
        for row in Summary.objects.filter(event__in=[e.pk for e in events])
        .values("event", "lang")
        .annotate(at=Max("created_at"))
    }
    due = []
    for event in events:
        for lang in summary_languages(event):
            at = latest.get((event.pk, lang))
            if at is None or now - at >= interval:
                due.append((event, lang))
    return due


def summaries_enqueue_due(*, now: datetime | None = None) -> list[tuple[int, str, str]]:
    """
    Enqueue a summary task per due event and language, unless one is still
    pending (a slow provider never piles up tasks). Returns what was enqueued.
    """
    now = now or timezone.now()
    slot = int(now.timestamp() // settings.SUMMARY_INTERVAL_SECONDS)
    enqueued = []
    for event, lang in summaries_due(now=now):
        if not cache.add(_pending_key(event.pk, lang), 1, timeout=settings.SUMMARY_PENDING_SECONDS):
            continue
        window_key = f"auto-{slot}"
        try:
            _enqueue(event.pk, lang, window_key)
        except Exception:
            logger.exception("could not enqueue the summary of event %s [%s]", event.pk, lang)
            summary_task_done(event_id=event.pk, lang=lang)
            continue
        enqueued.append((event.pk, lang, window_key))
    return enqueued


def summary_task_done(*, event_id: int, lang: str) -> None:
    """A summary task finished (whatever the outcome): the next beat may enqueue again."""
    cache.delete(_pending_key(event_id, lang))


def can_request(user) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.groups.filter(name="producers").exists())
    )


def summary_request(*, event: Event, user, lang: str | None = None) -> dict:
    """A producer asks for a summary now: one task per language (or the one asked), after commit."""
    if not can_request(user):
        raise ServiceError("forbidden", "Only producers can ask for a summary.")
    if event.status == Event.Status.SCHEDULED:
        raise ServiceError("event_not_live", "The event has not started yet.")
    langs = summary_languages(event)
    if lang is not None:
        if lang not in langs:
            raise ServiceError(
                "invalid_lang", f"This event's summary languages are {', '.join(langs)}.", field="lang"
            )
        langs = [lang]
    retry_after = ratelimit.hit(
        f"summary-request:{event.pk}", limit=settings.SUMMARY_REQUEST_RATE_COUNT, window=settings.SUMMARY_REQUEST_RATE_WINDOW
    )
    if retry_after is not None:
        raise ServiceError("rate_limited", "A summary was asked for moments ago.", retry_after=retry_after)
    window_key = f"req-{uuid.uuid4().hex[:16]}"

    def enqueue():
        for each in langs:
            _enqueue(event.pk, each, window_key)

    transaction.on_commit(enqueue, robust=True)
    return {"langs": langs, "window": window_key}


def _enqueue(event_id: int, lang: str, window_key: str) -> None:
    from . import tasks

    tasks.summary_generate.apply_async(
        args=(event_id, lang, window_key),
        # A task still queued after a few intervals is pointless: a newer one follows.
        expires=settings.SUMMARY_PENDING_SECONDS,
    )
