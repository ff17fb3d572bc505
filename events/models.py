import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone


LANGUAGE_CODE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


def default_summary_languages() -> list[str]:
    return ["en"]


def validate_summary_languages(value) -> None:
    """A short list of distinct language codes such as ["en", "zh", "it"]."""
    if not isinstance(value, list) or not 1 <= len(value) <= 8:
        raise ValidationError("List one to eight language codes, for example [\"en\", \"zh\", \"it\"].")
    if len(set(value)) != len(value) or not all(isinstance(c, str) and LANGUAGE_CODE_RE.fullmatch(c) for c in value):
        raise ValidationError("Language codes are distinct and look like en, zh or pt-BR.")


class Event(models.Model):
    """A broadcast that viewers watch together: a final, a gala, a match."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        LIVE = "live"
        ENDED = "ended"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    scheduled_start = models.DateTimeField(null=True, blank=True)
    # The broadcast clock: media time 0 is the moment the event went live.
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    video_url = models.URLField(
        blank=True, help_text="Optional video or stream shown on the stage; media time follows its playhead."
    )
    # The first one is the default a viewer sees; the page offers the others.
    summary_languages = models.JSONField(
        default=default_summary_languages,
        validators=[validate_summary_languages],
        help_text='Languages of the AI summaries, first is the default, e.g. ["en", "zh", "it"].',
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_start", "-created_at"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("event-room", args=[self.slug])

    @property
    def room_group(self) -> str:
        return f"event-{self.pk}"

    def media_ms_at(self, moment) -> int | None:
        """Broadcast-clock time of ``moment``, or None before the event went live."""
        if self.started_at is None:
            return None
        return max(0, int((moment - self.started_at).total_seconds() * 1000))

    def live_edge_ms(self) -> int | None:
        """Media time of the live edge now (or of the end, once ended)."""
        moment = self.ended_at if self.status == self.Status.ENDED and self.ended_at else timezone.now()
        return self.media_ms_at(moment)


class StatsSnapshot(models.Model):
    """
    The event's stats document after one push (docs/producers.md has the schema).
    The latest row is the current document; the history replays it at media time.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="stats_snapshots")
    # The whole document after this push (pushed sections replace the previous ones).
    document = models.JSONField()
    # Rank each standings row had before the push that last changed the standings,
    # aligned with document["standings"] (None: new row); what viewers highlight.
    previous_ranks = models.JSONField(default=list, blank=True)
    # Broadcast-clock time of the push (None before the event went live).
    media_ms = models.BigIntegerField(null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["event", "-id"], name="stats_event_latest")]
        verbose_name = "stats snapshot"

    def __str__(self):
        return f"{self.event} stats #{self.pk}"


class KeyMoment(models.Model):
    """A moment that matters (a goal, a record, a medal), pinned to broadcast time."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="moments")
    media_ms = models.BigIntegerField()
    # A short word such as goal, record, medal, performance (docs/producers.md).
    kind = models.CharField(max_length=24)
    title = models.CharField(max_length=80)
    detail = models.CharField(max_length=280, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["media_ms", "id"]
        indexes = [models.Index(fields=["event", "media_ms"], name="moment_event_media")]

    def __str__(self):
        return f"{self.kind}: {self.title}"
